/*
 * ui_md.c: Markdown to styled rows.
 *
 * Both renderers build paragraphs (text with a style byte per byte) and
 * hand each to ui_text_wrap with the prefixes its containers ask for:
 * "│ " per quote level, the bullet or number of a list item on its first
 * row and as many spaces on the rest. Fenced code blocks keep their lines
 * (hard-wrapped), sit on their own background, carry a "[N] lang" label
 * and have their raw text recorded for /copy N.
 *
 * md4c drives the full renderer through callbacks; the light renderer for
 * a streaming tail reads lines and knows fences, headings, bullets,
 * quotes and the inline `code`, **bold** and *italic* markers.
 */
#include "ui_md.h"

#include <md4c.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ui_theme.h"
#include "util.h"

#define UI_MD_MAXLIST 16

struct ui_md_list {
	bool ordered;
	unsigned next; /* number of the next item */
	char bullet[16]; /* of the current item */
};

struct ui_md {
	struct ui_lines *out;
	int width;
	int code_no;
	struct buf text, style; /* the paragraph being built */
	int bold, italic, under, code, link, del;
	unsigned heading;
	int quote;
	struct ui_md_list lists[UI_MD_MAXLIST];
	int nlist;
	bool li_first; /* the current item's bullet is not shown yet */
	bool need_blank;
	bool in_code;
	struct buf codebuf;
	char lang[32];
	int cell; /* table cell index in the row */
};

static unsigned char
ui_md_cur(const struct ui_md *m)
{
	unsigned char s = UI_ROLE_TEXT;

	if (m->code)
		s = UI_ROLE_CODE;
	else if (m->link)
		s = UI_ROLE_LINK;
	else if (m->heading)
		s = UI_ROLE_HEADING;
	else if (m->quote)
		s = UI_ROLE_QUOTE;
	else if (m->del)
		s = UI_ROLE_DIM;
	if (m->bold || m->heading)
		s |= UI_ST_BOLD;
	if (m->italic)
		s |= UI_ST_ITALIC;
	if (m->under || m->link || m->heading == 1)
		s |= UI_ST_UNDER;
	return s;
}

static void
ui_md_put(struct ui_md *m, const char *p, size_t n, unsigned char st)
{
	buf_append(&m->text, p, n);
	for (size_t i = 0; i < n; i++)
		buf_putc(&m->style, (char)st);
}

/* The prefixes of the current container stack. */
static void
ui_md_prefix(const struct ui_md *m, struct buf *p1, struct buf *p2, bool first)
{
	for (int i = 0; i < m->quote; i++) {
		buf_puts(p1, "│ ");
		buf_puts(p2, "│ ");
	}
	for (int i = 0; i < m->nlist; i++) {
		const char *b = m->lists[i].bullet;
		size_t w = (size_t)ui_text_width(b, strlen(b));

		if (i == m->nlist - 1 && first)
			buf_puts(p1, b);
		else
			for (size_t k = 0; k < w; k++)
				buf_putc(p1, ' ');
		for (size_t k = 0; k < w; k++)
			buf_putc(p2, ' ');
	}
	buf_append(p1, "", 0);
	buf_append(p2, "", 0);
}

static void
ui_md_blank(struct ui_md *m)
{
	struct buf p1 = { 0 }, p2 = { 0 };
	struct ui_para p = { 0 };

	if (!m->need_blank)
		return;
	m->need_blank = false;
	for (int i = 0; i < m->quote; i++)
		buf_puts(&p1, "│");
	buf_append(&p1, "", 0);
	p.text = p1.data;
	p.len = p1.len;
	p.pfx_style = UI_ROLE_QUOTE;
	ui_text_wrap(m->out, &p, m->width);
	buf_free(&p1);
	buf_free(&p2);
}

/* Wrap the paragraph built so far. */
static void
ui_md_flush(struct ui_md *m)
{
	struct buf p1 = { 0 }, p2 = { 0 };
	struct ui_para p = { 0 };

	if (m->text.len == 0)
		return;
	ui_md_blank(m);
	ui_md_prefix(m, &p1, &p2, m->li_first);
	m->li_first = false;
	p.text = m->text.data;
	p.style = (unsigned char *)m->style.data;
	p.len = m->text.len;
	p.pfx1 = p1.data;
	p.pfx2 = p2.data;
	p.pfx_style = m->nlist ? UI_ROLE_BULLET : UI_ROLE_QUOTE;
	ui_text_wrap(m->out, &p, m->width);
	buf_reset(&m->text);
	buf_reset(&m->style);
	buf_free(&p1);
	buf_free(&p2);
}

/* A finished code block: label row, its lines, its text recorded. */
static void
ui_md_code(struct ui_md *m, const char *code, size_t len, const char *lang)
{
	struct buf p1 = { 0 }, p2 = { 0 }, label = { 0 };
	struct ui_para p = { 0 };
	size_t start = 0;

	ui_md_blank(m);
	ui_md_prefix(m, &p1, &p2, false);
	buf_printf(&label, "[%d]%s%s", m->code_no++, lang[0] ? " " : "", lang);
	p.text = label.data;
	p.len = label.len;
	p.pfx1 = p.pfx2 = p2.data;
	p.pfx_style = UI_ROLE_CODELABEL;
	p.hard = true;
	p.fill = UI_ROLE_CODEBLOCK;
	ui_text_wrap(m->out, &p, m->width);
	if (len > 0 && code[len - 1] == '\n')
		len--;
	while (start <= len) {
		const char *nl = memchr(code + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - code) : len;

		p.text = code + start;
		p.len = end - start;
		p.pfx_style = UI_ROLE_CODEBLOCK;
		ui_text_wrap(m->out, &p, m->width);
		start = end + 1;
		if (nl == NULL)
			break;
	}
	ui_lines_add_code(m->out, code, len);
	m->li_first = false;
	m->need_blank = true;
	buf_free(&p1);
	buf_free(&p2);
	buf_free(&label);
}

static void
ui_md_attr(const MD_ATTRIBUTE *a, char *dst, size_t cap)
{
	size_t n = a->size < cap - 1 ? a->size : cap - 1;

	memcpy(dst, a->text, n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20)
			dst[i] = ' ';
}

static int
ui_md_enter_block(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct ui_md *m = arg;

	switch (type) {
	case MD_BLOCK_QUOTE:
		ui_md_flush(m);
		m->quote++;
		break;
	case MD_BLOCK_UL:
	case MD_BLOCK_OL:
		ui_md_flush(m);
		if (m->nlist == 0)
			ui_md_blank(m);
		if (m->nlist < UI_MD_MAXLIST) {
			struct ui_md_list *l = &m->lists[m->nlist];

			l->ordered = type == MD_BLOCK_OL;
			l->next = l->ordered ? ((MD_BLOCK_OL_DETAIL *)detail)->start : 0;
			snprintf(l->bullet, sizeof l->bullet, "• ");
		}
		m->nlist++;
		break;
	case MD_BLOCK_LI:
		ui_md_flush(m);
		if (m->nlist > 0 && m->nlist <= UI_MD_MAXLIST) {
			struct ui_md_list *l = &m->lists[m->nlist - 1];
			MD_BLOCK_LI_DETAIL *d = detail;

			if (l->ordered)
				snprintf(l->bullet, sizeof l->bullet, "%u. ", l->next++);
			else if (d->is_task)
				snprintf(l->bullet, sizeof l->bullet, "%s ", d->task_mark == ' ' ? "☐" : "☑");
			else
				snprintf(l->bullet, sizeof l->bullet, "%s ", m->nlist % 2 ? "•" : "◦");
		}
		m->li_first = true;
		break;
	case MD_BLOCK_HR: {
		struct buf b = { 0 };
		struct ui_para p = { 0 };
		int w = m->width < 40 ? m->width : 40;

		ui_md_flush(m);
		ui_md_blank(m);
		for (int i = 0; i < w; i++)
			buf_puts(&b, "─");
		p.text = b.data;
		p.len = b.len;
		p.pfx_style = UI_ROLE_DIM;
		p.hard = true;
		ui_text_wrap(m->out, &p, m->width);
		buf_free(&b);
		m->need_blank = true;
		break;
	}
	case MD_BLOCK_H:
		ui_md_flush(m);
		m->heading = ((MD_BLOCK_H_DETAIL *)detail)->level;
		break;
	case MD_BLOCK_CODE: {
		MD_BLOCK_CODE_DETAIL *d = detail;

		ui_md_flush(m);
		m->in_code = true;
		buf_reset(&m->codebuf);
		ui_md_attr(&d->lang, m->lang, sizeof m->lang);
		break;
	}
	case MD_BLOCK_P:
	case MD_BLOCK_HTML:
		ui_md_flush(m);
		break;
	case MD_BLOCK_TABLE:
		ui_md_flush(m);
		break;
	case MD_BLOCK_TR:
		ui_md_flush(m);
		m->cell = 0;
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		if (m->cell++ > 0)
			ui_md_put(m, " │ ", strlen(" │ "), UI_ROLE_DIM);
		if (type == MD_BLOCK_TH)
			m->bold++;
		break;
	default:
		break;
	}
	return 0;
}

static int
ui_md_leave_block(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct ui_md *m = arg;

	(void)detail;
	switch (type) {
	case MD_BLOCK_QUOTE:
		ui_md_flush(m);
		m->quote--;
		m->need_blank = true;
		break;
	case MD_BLOCK_UL:
	case MD_BLOCK_OL:
		ui_md_flush(m);
		m->nlist--;
		if (m->nlist == 0)
			m->need_blank = true;
		break;
	case MD_BLOCK_LI:
		ui_md_flush(m);
		m->li_first = false;
		break;
	case MD_BLOCK_H:
		ui_md_flush(m);
		m->heading = 0;
		m->need_blank = true;
		break;
	case MD_BLOCK_CODE:
		m->in_code = false;
		ui_md_code(m, m->codebuf.data ? m->codebuf.data : "", m->codebuf.len, m->lang);
		break;
	case MD_BLOCK_P:
	case MD_BLOCK_HTML:
		ui_md_flush(m);
		m->need_blank = true;
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		if (type == MD_BLOCK_TH)
			m->bold--;
		break;
	case MD_BLOCK_TR:
		ui_md_flush(m);
		break;
	case MD_BLOCK_THEAD: {
		struct ui_para p = { 0 };
		struct buf b = { 0 };
		int w = m->width < 40 ? m->width : 40;

		for (int i = 0; i < w; i++)
			buf_puts(&b, "─");
		p.text = b.data;
		p.len = b.len;
		p.pfx_style = UI_ROLE_DIM;
		p.hard = true;
		ui_text_wrap(m->out, &p, m->width);
		buf_free(&b);
		break;
	}
	case MD_BLOCK_TABLE:
		ui_md_flush(m);
		m->need_blank = true;
		break;
	default:
		break;
	}
	return 0;
}

static int
ui_md_span(MD_SPANTYPE type, int delta, struct ui_md *m)
{
	switch (type) {
	case MD_SPAN_EM:
		m->italic += delta;
		break;
	case MD_SPAN_STRONG:
		m->bold += delta;
		break;
	case MD_SPAN_A:
	case MD_SPAN_IMG:
	case MD_SPAN_WIKILINK:
		m->link += delta;
		break;
	case MD_SPAN_CODE:
	case MD_SPAN_LATEXMATH:
	case MD_SPAN_LATEXMATH_DISPLAY:
		m->code += delta;
		break;
	case MD_SPAN_DEL:
		m->del += delta;
		break;
	case MD_SPAN_U:
		m->under += delta;
		break;
	}
	return 0;
}

static int
ui_md_enter_span(MD_SPANTYPE type, void *detail, void *arg)
{
	(void)detail;
	return ui_md_span(type, 1, arg);
}

static int
ui_md_leave_span(MD_SPANTYPE type, void *detail, void *arg)
{
	(void)detail;
	return ui_md_span(type, -1, arg);
}

/* The entities people actually write; others stay as written. */
static void
ui_md_entity(struct ui_md *m, const char *t, size_t n)
{
	static const struct {
		const char *name, *text;
	} ents[] = {
		{ "&amp;", "&" },
		{ "&lt;", "<" },
		{ "&gt;", ">" },
		{ "&quot;", "\"" },
		{ "&apos;", "'" },
		{ "&nbsp;", " " },
		{ "&copy;", "©" },
		{ "&mdash;", "—" },
		{ "&ndash;", "–" },
		{ "&hellip;", "…" },
	};
	unsigned char st = ui_md_cur(m);

	for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
		if (strlen(ents[i].name) == n && memcmp(ents[i].name, t, n) == 0) {
			ui_md_put(m, ents[i].text, strlen(ents[i].text), st);
			return;
		}
	}
	if (n > 3 && t[1] == '#') {
		char num[16];
		unsigned long cp;
		char out[8];
		int k;

		snprintf(num, sizeof num, "%.*s", (int)(n - 3), t + 2);
		cp = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, NULL, 16) : strtoul(num, NULL, 10);
		if (cp > 0 && cp < 0x110000 && !(cp >= 0xd800 && cp < 0xe000)) {
			if (cp < 0x80) {
				out[0] = (char)cp;
				k = 1;
			} else if (cp < 0x800) {
				out[0] = (char)(0xc0 | (cp >> 6));
				out[1] = (char)(0x80 | (cp & 0x3f));
				k = 2;
			} else if (cp < 0x10000) {
				out[0] = (char)(0xe0 | (cp >> 12));
				out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[2] = (char)(0x80 | (cp & 0x3f));
				k = 3;
			} else {
				out[0] = (char)(0xf0 | (cp >> 18));
				out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
				out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[3] = (char)(0x80 | (cp & 0x3f));
				k = 4;
			}
			ui_md_put(m, out, (size_t)k, st);
			return;
		}
	}
	ui_md_put(m, t, n, st);
}

static int
ui_md_text(MD_TEXTTYPE type, const MD_CHAR *t, MD_SIZE n, void *arg)
{
	struct ui_md *m = arg;

	if (m->in_code) {
		buf_append(&m->codebuf, t, n);
		return 0;
	}
	switch (type) {
	case MD_TEXT_NULLCHAR:
		ui_md_put(m, "\xef\xbf\xbd", 3, ui_md_cur(m));
		break;
	case MD_TEXT_BR:
		ui_md_put(m, "\n", 1, ui_md_cur(m));
		break;
	case MD_TEXT_SOFTBR:
		ui_md_put(m, " ", 1, ui_md_cur(m));
		break;
	case MD_TEXT_ENTITY:
		ui_md_entity(m, t, n);
		break;
	case MD_TEXT_HTML:
		ui_md_put(m, t, n, UI_ROLE_DIM);
		break;
	default:
		ui_md_put(m, t, n, ui_md_cur(m));
		break;
	}
	return 0;
}

static void
ui_md_done(struct ui_md *m)
{
	ui_md_flush(m);
	buf_free(&m->text);
	buf_free(&m->style);
	buf_free(&m->codebuf);
}

void
ui_md_render(struct ui_lines *out, const char *text, size_t len, int width, int code_base)
{
	static const MD_PARSER parser = {
		0,
		MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS | MD_FLAG_NOHTML,
		ui_md_enter_block,
		ui_md_leave_block,
		ui_md_enter_span,
		ui_md_leave_span,
		ui_md_text,
		NULL,
		NULL,
	};
	struct ui_md m;

	memset(&m, 0, sizeof m);
	m.out = out;
	m.width = width < 4 ? 4 : width;
	m.code_no = code_base;
	if (md_parse(text, (MD_SIZE)len, &parser, &m) != 0) {
		/* cannot happen short of memory trouble: show the text plain */
		ui_md_done(&m);
		ui_md_light(out, text, len, width, code_base);
		return;
	}
	ui_md_done(&m);
}

/* --- the light renderer ------------------------------------------------ */

/* Inline markers of one paragraph: `code`, **bold**, *italic*, _italic_. */
static void
ui_md_inline(struct ui_md *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '`') {
			m->code = !m->code;
			continue;
		}
		if (!m->code && c == '*' && i + 1 < n && s[i + 1] == '*') {
			m->bold = !m->bold;
			i++;
			continue;
		}
		if (!m->code && (c == '*' || c == '_')) {
			bool open = !m->italic && i + 1 < n && s[i + 1] != ' ' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '(');
			bool close = m->italic && i > 0 && s[i - 1] != ' ';

			if (open || close) {
				m->italic = !m->italic;
				continue;
			}
		}
		ui_md_put(m, &c, 1, ui_md_cur(m));
	}
}

static size_t
ui_md_indent(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* A fence line: its char and length, or 0. */
static int
ui_md_fence(const char *s, size_t n, char *ch)
{
	size_t i = ui_md_indent(s, n), k = 0;

	if (i > 3 || i >= n || (s[i] != '`' && s[i] != '~'))
		return 0;
	while (i + k < n && s[i + k] == s[i])
		k++;
	if (k < 3)
		return 0;
	*ch = s[i];
	return (int)k;
}

void
ui_md_light(struct ui_lines *out, const char *text, size_t len, int width, int code_base)
{
	struct ui_md m;
	size_t pos = 0;
	char fch = 0, ch;
	int flen = 0, k;
	bool in_fence = false;

	memset(&m, 0, sizeof m);
	m.out = out;
	m.width = width < 4 ? 4 : width;
	m.code_no = code_base;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *s = text + pos;
		size_t n = end - pos, ind = ui_md_indent(s, n);

		pos = nl ? end + 1 : len;
		if (in_fence) {
			if ((k = ui_md_fence(s, n, &ch)) >= flen && ch == fch && ui_md_indent(s, n) + (size_t)k == n) {
				in_fence = false;
				ui_md_code(&m, m.codebuf.data ? m.codebuf.data : "", m.codebuf.len, m.lang);
			} else {
				buf_append(&m.codebuf, s, n);
				buf_putc(&m.codebuf, '\n');
			}
			continue;
		}
		if ((k = ui_md_fence(s, n, &ch)) > 0) {
			size_t l = ind + (size_t)k, e;

			ui_md_flush(&m);
			m.bold = m.italic = m.code = 0;
			in_fence = true;
			fch = ch;
			flen = k;
			while (l < n && s[l] == ' ')
				l++;
			for (e = l; e < n && s[e] != ' '; e++)
				;
			snprintf(m.lang, sizeof m.lang, "%.*s", (int)(e - l), s + l);
			buf_reset(&m.codebuf);
			continue;
		}
		if (ind == n) {
			ui_md_flush(&m);
			m.bold = m.italic = m.code = 0;
			m.nlist = 0;
			m.quote = 0;
			m.need_blank = out->n > 0 || m.text.len > 0;
			continue;
		}
		if (s[ind] == '#') {
			size_t h = ind;

			while (h < n && s[h] == '#')
				h++;
			if (h - ind <= 6 && (h == n || s[h] == ' ')) {
				ui_md_flush(&m);
				m.nlist = 0;
				m.heading = (unsigned)(h - ind);
				while (h < n && s[h] == ' ')
					h++;
				ui_md_inline(&m, s + h, n - h);
				ui_md_flush(&m);
				m.heading = 0;
				m.bold = m.italic = m.code = 0;
				m.need_blank = true;
				continue;
			}
		}
		if (s[ind] == '>') {
			size_t q = ind + 1;

			if (q < n && s[q] == ' ')
				q++;
			if (m.quote == 0)
				ui_md_flush(&m);
			m.quote = 1;
			if (m.text.len)
				ui_md_put(&m, " ", 1, ui_md_cur(&m));
			ui_md_inline(&m, s + q, n - q);
			continue;
		}
		if (ind + 1 < n && (s[ind] == '-' || s[ind] == '*' || s[ind] == '+') && s[ind + 1] == ' ') {
			ui_md_flush(&m);
			m.nlist = (int)(ind / 2) + 1;
			if (m.nlist > UI_MD_MAXLIST)
				m.nlist = UI_MD_MAXLIST;
			for (int i = 0; i < m.nlist; i++)
				snprintf(m.lists[i].bullet, sizeof m.lists[i].bullet, "%s ", (i + 1) % 2 ? "•" : "◦");
			m.li_first = true;
			ui_md_inline(&m, s + ind + 2, n - ind - 2);
			continue;
		}
		if (ind < n && s[ind] >= '0' && s[ind] <= '9') {
			size_t d = ind;

			while (d < n && s[d] >= '0' && s[d] <= '9')
				d++;
			if (d + 1 < n && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ' && d - ind < 10) {
				ui_md_flush(&m);
				m.nlist = (int)(ind / 3) + 1;
				if (m.nlist > UI_MD_MAXLIST)
					m.nlist = UI_MD_MAXLIST;
				for (int i = 0; i < m.nlist - 1; i++)
					snprintf(m.lists[i].bullet, sizeof m.lists[i].bullet, "   ");
				snprintf(m.lists[m.nlist - 1].bullet, sizeof m.lists[0].bullet, "%.*s. ", (int)(d - ind), s + ind);
				m.li_first = true;
				ui_md_inline(&m, s + d + 2, n - d - 2);
				continue;
			}
		}
		if (m.text.len)
			ui_md_put(&m, " ", 1, ui_md_cur(&m));
		ui_md_inline(&m, s + ind, n - ind);
	}
	if (in_fence)
		ui_md_code(&m, m.codebuf.data ? m.codebuf.data : "", m.codebuf.len, m.lang);
	ui_md_done(&m);
}

size_t
ui_md_stable(const char *text, size_t len)
{
	size_t pos = 0, stable = 0;
	bool in_fence = false;
	char fch = 0, ch;
	int flen = 0, k;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end, n;

		if (nl == NULL)
			break; /* an unfinished line decides nothing */
		end = (size_t)(nl - text);
		n = end - pos;
		if (in_fence) {
			if ((k = ui_md_fence(text + pos, n, &ch)) >= flen && ch == fch)
				in_fence = false;
		} else if ((k = ui_md_fence(text + pos, n, &ch)) > 0) {
			in_fence = true;
			fch = ch;
			flen = k;
		} else if (ui_md_indent(text + pos, n) == n) {
			stable = end + 1;
		}
		pos = end + 1;
	}
	return stable;
}
