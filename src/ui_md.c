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
 *
 * A reply that is still streaming is laid out by a ui_md_stream, so that a
 * frame costs what the new text costs, not what the reply has grown to.
 * Its text falls in three parts. Finished blocks, up to a boundary where
 * laying out the text in two pieces gives the rows of one piece, go
 * through md4c once, into the body. The whole lines after them go through
 * the light renderer once, into the tail: the renderer's state (the open
 * paragraph is a ui_wrap holding only its unfinished row) is kept between
 * frames. The unfinished line is laid out on a copy of that state, into
 * the peek, on every frame. When the reply ends, the text after the last
 * boundary goes through md4c and the rows are those of ui_md_render on the
 * whole.
 */
#include "ui_md.h"

#include <md4c.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codeblock.h"
#include "ui_theme.h"
#include "util.h"

#define UI_MD_MAXLIST 16
#define UI_MD_DRAIN 1024 /* bytes of a paragraph passed to its wrapper at once */

struct ui_md_list {
	bool ordered;
	unsigned next; /* number of the next item */
	char bullet[16]; /* of the current item */
};

struct ui_md {
	struct ui_lines *out;
	int width;
	int code_no;
	struct buf text, style; /* the paragraph's text not yet in para */
	struct ui_wrap *para; /* the paragraph being wrapped, or NULL */
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

	/* the light renderer */
	bool emitted; /* rows came before out's own */
	bool in_fence;
	char fch; /* the open fence's character and length */
	int flen;
	size_t code_lines; /* lines of the open fence so far */
};

struct ui_md_stream {
	int width, code_base;
	size_t stable; /* text[0..stable) is in the body */
	/* looking for boundaries, one whole line at a time */
	size_t scanned;
	bool in_fence, blank, content, table, unsure, refs;
	char fch;
	int flen;
	/* text[stable..lit) is in the tail; light is the renderer after it */
	size_t lit;
	struct ui_md light;
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

static void ui_md_drain(struct ui_md *m);

/* Text for the paragraph. Every piece ends with a whole character (md4c
 * and the light renderer cut text at ASCII marks), so it can go on to the
 * wrapper now and then: a long paragraph is never held whole. */
static void
ui_md_put(struct ui_md *m, const char *p, size_t n, unsigned char st)
{
	buf_append(&m->text, p, n);
	buf_fill(&m->style, (char)st, n);
	if (m->text.len >= UI_MD_DRAIN)
		ui_md_drain(m);
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

/* Pass the text built so far to the paragraph, starting it if need be:
 * the rows that cannot change any more come out. */
static void
ui_md_drain(struct ui_md *m)
{
	if (m->text.len == 0)
		return;
	if (m->para == NULL) {
		struct buf p1 = { 0 }, p2 = { 0 };
		struct ui_para p = { 0 };

		ui_md_blank(m);
		ui_md_prefix(m, &p1, &p2, m->li_first);
		m->li_first = false;
		p.pfx1 = p1.data;
		p.pfx2 = p2.data;
		p.pfx_style = m->nlist ? UI_ROLE_BULLET : UI_ROLE_QUOTE;
		m->para = ui_wrap_new(&p, m->width);
		buf_free(&p1);
		buf_free(&p2);
	}
	ui_wrap_feed(m->para, m->out, m->text.data, (unsigned char *)m->style.data, m->text.len);
	buf_reset(&m->text);
	buf_reset(&m->style);
}

/* End the paragraph: all its rows are out. */
static void
ui_md_flush(struct ui_md *m)
{
	ui_md_drain(m);
	if (m->para == NULL)
		return;
	ui_wrap_end(m->para, m->out);
	ui_wrap_free(m->para);
	m->para = NULL;
}

static bool
ui_md_open(const struct ui_md *m)
{
	return m->para != NULL || m->text.len > 0;
}

/* A code block's rows: the "[N] lang" label, then each line of code. */
static void
ui_md_code_row(struct ui_md *m, const char *s, size_t n, unsigned char role)
{
	struct buf p1 = { 0 }, p2 = { 0 };
	struct ui_para p = { 0 };

	ui_md_prefix(m, &p1, &p2, false);
	p.text = s;
	p.len = n;
	p.pfx1 = p.pfx2 = p2.data;
	p.pfx_style = role;
	p.hard = true;
	p.fill = UI_ROLE_CODEBLOCK;
	ui_text_wrap(m->out, &p, m->width);
	buf_free(&p1);
	buf_free(&p2);
}

static void
ui_md_code_open(struct ui_md *m, const char *lang)
{
	char label[64];

	ui_md_blank(m);
	snprintf(label, sizeof label, "[%d]%s%s", m->code_no++, lang[0] ? " " : "", lang);
	ui_md_code_row(m, label, strlen(label), UI_ROLE_CODELABEL);
}

/* The block is over: its text (without the last newline) is recorded. */
static void
ui_md_code_close(struct ui_md *m, const char *code, size_t len)
{
	ui_lines_add_code(m->out, code, len);
	m->li_first = false;
	m->need_blank = true;
}

/* A finished code block: label row, its lines, its text recorded. */
static void
ui_md_code(struct ui_md *m, const char *code, size_t len, const char *lang)
{
	size_t start = 0;

	ui_md_code_open(m, lang);
	if (len > 0 && code[len - 1] == '\n')
		len--;
	while (start <= len) {
		const char *nl = memchr(code + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - code) : len;

		ui_md_code_row(m, code + start, end - start, UI_ROLE_CODEBLOCK);
		start = end + 1;
		if (nl == NULL)
			break;
	}
	ui_md_code_close(m, code, len);
}

static void
ui_md_attr(const MD_ATTRIBUTE *a, char *dst, size_t cap)
{
	size_t n = a->size < cap - 1 ? a->size : cap - 1;

	if (n > 0)
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
		/* as codeblock_list records it */
		if (type == MD_TEXT_NULLCHAR)
			buf_puts(&m->codebuf, "\xef\xbf\xbd");
		else
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

static void
ui_md_init(struct ui_md *m, struct ui_lines *out, int width, int code_base, bool after)
{
	memset(m, 0, sizeof *m);
	m->out = out;
	m->width = width < 4 ? 4 : width;
	m->code_no = code_base;
	m->need_blank = m->emitted = after;
}

/* after: the text follows blocks already laid out (a blank row first). */
static void
ui_md_render_at(struct ui_lines *out, const char *text, size_t len, int width, int code_base, bool after)
{
	/* the flags every face parses with, so code blocks count alike */
	const MD_PARSER parser = {
		0,
		codeblock_md_flags,
		ui_md_enter_block,
		ui_md_leave_block,
		ui_md_enter_span,
		ui_md_leave_span,
		ui_md_text,
		NULL,
		NULL,
	};
	struct ui_md m;

	ui_md_init(&m, out, width, code_base, after);
	if (md_parse(text, (MD_SIZE)len, &parser, &m) != 0) {
		/* cannot happen short of memory trouble: show the text plain */
		ui_md_done(&m);
		ui_md_light(out, text, len, width, code_base);
		return;
	}
	ui_md_done(&m);
}

void
ui_md_render(struct ui_lines *out, const char *text, size_t len, int width, int code_base)
{
	ui_md_render_at(out, text, len, width, code_base, false);
}

/* --- the light renderer ------------------------------------------------ */

/* Inline markers of one paragraph: `code`, **bold**, *italic*, _italic_. */
static void
ui_md_inline(struct ui_md *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		size_t j = i;

		/* plain text up to the next marker, in one style */
		while (j < n && s[j] != '`' && s[j] != '*' && s[j] != '_')
			j++;
		if (j > i) {
			ui_md_put(m, s + i, j - i, ui_md_cur(m));
			i = j - 1;
			continue;
		}
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

static bool
ui_md_is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
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

/* A line that opens a fence (a backtick fence's info has no backtick). */
static int
ui_md_fence_open(const char *s, size_t n, char *ch)
{
	int k = ui_md_fence(s, n, ch);

	if (k > 0 && *ch == '`' && memchr(s + ui_md_indent(s, n) + k, '`', n - ui_md_indent(s, n) - (size_t)k))
		return 0;
	return k;
}

/* A line that closes the fence opened with len of ch: spaces may follow. */
static bool
ui_md_fence_close(const char *s, size_t n, char ch, int len)
{
	char c;
	int k = ui_md_fence(s, n, &c);
	size_t i = k > 0 ? ui_md_indent(s, n) + (size_t)k : n;

	if (k < len || c != ch)
		return false;
	while (i < n && s[i] == ' ')
		i++;
	return i == n;
}

/* The end of the open fence: its rows are out already. */
static void
ui_md_light_fence_end(struct ui_md *m)
{
	size_t len = m->codebuf.len;

	if (m->code_lines == 0)
		ui_md_code_row(m, "", 0, UI_ROLE_CODEBLOCK);
	if (len > 0)
		len--; /* the last line's newline */
	ui_md_code_close(m, m->codebuf.data ? m->codebuf.data : "", len);
	m->in_fence = false;
}

/* One line of text (without its newline). */
static void
ui_md_light_line(struct ui_md *m, const char *s, size_t n)
{
	size_t ind = ui_md_indent(s, n);
	char ch;
	int k;

	if (m->in_fence) {
		if (ui_md_fence_close(s, n, m->fch, m->flen)) {
			ui_md_light_fence_end(m);
			return;
		}
		ui_md_code_row(m, s, n, UI_ROLE_CODEBLOCK);
		buf_append(&m->codebuf, s, n);
		buf_putc(&m->codebuf, '\n');
		m->code_lines++;
		return;
	}
	if ((k = ui_md_fence_open(s, n, &ch)) > 0) {
		size_t l = ind + (size_t)k, e;

		ui_md_flush(m);
		m->bold = m->italic = m->code = 0;
		m->in_fence = true;
		m->fch = ch;
		m->flen = k;
		m->code_lines = 0;
		while (l < n && s[l] == ' ')
			l++;
		for (e = l; e < n && s[e] != ' '; e++)
			;
		snprintf(m->lang, sizeof m->lang, "%.*s", (int)(e - l), s + l);
		buf_reset(&m->codebuf);
		ui_md_code_open(m, m->lang);
		return;
	}
	if (ind == n) {
		ui_md_flush(m);
		m->bold = m->italic = m->code = 0;
		m->nlist = 0;
		m->quote = 0;
		m->need_blank = m->emitted || m->out->n > 0;
		return;
	}
	if (s[ind] == '#') {
		size_t h = ind;

		while (h < n && s[h] == '#')
			h++;
		if (h - ind <= 6 && (h == n || s[h] == ' ')) {
			ui_md_flush(m);
			m->nlist = 0;
			m->heading = (unsigned)(h - ind);
			while (h < n && s[h] == ' ')
				h++;
			ui_md_inline(m, s + h, n - h);
			ui_md_flush(m);
			m->heading = 0;
			m->bold = m->italic = m->code = 0;
			m->need_blank = true;
			return;
		}
	}
	if (s[ind] == '>') {
		size_t q = ind + 1;

		if (q < n && s[q] == ' ')
			q++;
		if (m->quote == 0)
			ui_md_flush(m);
		m->quote = 1;
		if (ui_md_open(m))
			ui_md_put(m, " ", 1, ui_md_cur(m));
		ui_md_inline(m, s + q, n - q);
		return;
	}
	if (ind + 1 < n && (s[ind] == '-' || s[ind] == '*' || s[ind] == '+') && s[ind + 1] == ' ') {
		ui_md_flush(m);
		m->nlist = (int)(ind / 2) + 1;
		if (m->nlist > UI_MD_MAXLIST)
			m->nlist = UI_MD_MAXLIST;
		for (int i = 0; i < m->nlist; i++)
			snprintf(m->lists[i].bullet, sizeof m->lists[i].bullet, "%s ", (i + 1) % 2 ? "•" : "◦");
		m->li_first = true;
		ui_md_inline(m, s + ind + 2, n - ind - 2);
		return;
	}
	if (ind < n && s[ind] >= '0' && s[ind] <= '9') {
		size_t d = ind;

		while (d < n && s[d] >= '0' && s[d] <= '9')
			d++;
		if (d + 1 < n && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ' && d - ind < 10) {
			ui_md_flush(m);
			m->nlist = (int)(ind / 3) + 1;
			if (m->nlist > UI_MD_MAXLIST)
				m->nlist = UI_MD_MAXLIST;
			for (int i = 0; i < m->nlist - 1; i++)
				snprintf(m->lists[i].bullet, sizeof m->lists[i].bullet, "   ");
			snprintf(m->lists[m->nlist - 1].bullet, sizeof m->lists[0].bullet, "%.*s. ", (int)(d - ind), s + ind);
			m->li_first = true;
			ui_md_inline(m, s + d + 2, n - d - 2);
			return;
		}
	}
	if (ui_md_open(m))
		ui_md_put(m, " ", 1, ui_md_cur(m));
	ui_md_inline(m, s + ind, n - ind);
}

/* Each line of text[0..len); returns the bytes of whole lines. */
static size_t
ui_md_light_lines(struct ui_md *m, const char *text, size_t len, bool partial)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		if (nl == NULL && !partial)
			break;
		ui_md_light_line(m, text + pos, nl ? (size_t)(nl - text) - pos : len - pos);
		pos = nl ? (size_t)(nl - text) + 1 : len;
	}
	return pos;
}

/* The text ends here: an open fence ends with it. */
static void
ui_md_light_end(struct ui_md *m)
{
	if (m->in_fence)
		ui_md_light_fence_end(m);
	ui_md_done(m);
}

void
ui_md_light(struct ui_lines *out, const char *text, size_t len, int width, int code_base)
{
	struct ui_md m;

	ui_md_init(&m, out, width, code_base, false);
	ui_md_light_lines(&m, text, len, true);
	ui_md_light_end(&m);
}

/* --- a streaming reply ------------------------------------------------- */

struct ui_md_stream *
ui_md_stream_new(int width, int code_base)
{
	struct ui_md_stream *s = xcalloc(1, sizeof *s);

	s->width = width;
	s->code_base = code_base;
	ui_md_init(&s->light, NULL, width, code_base, false);
	return s;
}

static void
ui_md_stream_free_light(struct ui_md_stream *s)
{
	ui_wrap_free(s->light.para);
	buf_free(&s->light.text);
	buf_free(&s->light.style);
	buf_free(&s->light.codebuf);
	s->light.para = NULL;
}

void
ui_md_stream_free(struct ui_md_stream *s)
{
	if (s == NULL)
		return;
	ui_md_stream_free_light(s);
	free(s);
}

size_t
ui_md_stream_stable(const struct ui_md_stream *s)
{
	return s->stable;
}

/* A list item's first line: "-", "+" or "*", or 1-9 digits and "." or ")",
 * then a space, a tab or the end of the line. */
static bool
ui_md_is_item(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && (s[0] == '-' || s[0] == '+' || s[0] == '*'))
		i = 1;
	else {
		while (i < n && i < 10 && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == 0 || i > 9 || i == n || (s[i] != '.' && s[i] != ')'))
			return false;
		i++;
	}
	return i == n || s[i] == ' ' || s[i] == '\t';
}

/*
 * Whether a finished block ends before this whole line, which goes into
 * the scan. The text before such a boundary, laid out alone, gives the
 * rows it gets as part of the whole, and the text after it, laid out as
 * following blocks, the rest. That holds when the line comes after a blank
 * line, outside a fence, and starts at the left margin with something
 * other than a list item: no list item, quote or indented code can go on
 * through it, and no paragraph, table, emphasis or code span crosses a
 * blank line (md4c ends them all there).
 *
 * Fences are followed only when they open at the margin and outside a
 * table (md4c reads a fence line in a table as a row). Any other fence
 * line may open or close one in a list item or a quote, which the scan
 * does not follow; after one, or a carriage return (md4c ends lines there
 * too), the scan finds no more boundaries. Reference definitions
 * ("[x]: url") reach back across boundaries, so with one the end lays out
 * everything again.
 */
static bool
ui_md_scan_line(struct ui_md_stream *s, const char *l, size_t n)
{
	bool blank, cut = false;
	char ch;
	int k;

	if (memchr(l, '\r', n) != NULL)
		s->unsure = true;
	/* (a fence the scan follows holds no definitions, unless it is unsure
	 * whether md4c sees that fence) */
	if ((!s->in_fence || s->unsure) && memmem(l, n, "]:", 2) != NULL)
		s->refs = true;
	if (s->in_fence) {
		if (ui_md_fence_close(l, n, s->fch, s->flen))
			s->in_fence = false;
		s->blank = false;
		return false;
	}
	blank = ui_md_is_blank(l, n);
	if (!blank) {
		cut = s->blank && s->content && !s->unsure && l[0] != ' ' && l[0] != '\t' &&
		    !(n >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) && !ui_md_is_item(l, n);
		s->content = true;
	} else
		s->table = false;
	if ((k = ui_md_fence_open(l, n, &ch)) > 0 && l[0] == ch && !s->table) {
		s->in_fence = true;
		s->fch = ch;
		s->flen = k;
	} else if (memmem(l, n, "```", 3) != NULL || memmem(l, n, "~~~", 3) != NULL)
		s->unsure = true;
	/* what may be a table's delimiter row: a table until a blank line */
	if (memchr(l, '|', n) != NULL && memchr(l, '-', n) != NULL)
		s->table = true;
	s->blank = blank;
	return cut;
}

/* Start the light renderer over at the boundary. */
static void
ui_md_stream_restart(struct ui_md_stream *s, struct ui_lines *body, struct ui_lines *tail)
{
	ui_md_stream_free_light(s);
	ui_lines_clear(tail);
	ui_md_init(&s->light, NULL, s->width, s->code_base + (int)body->ncodes, s->stable > 0);
	s->lit = s->stable;
}

void
ui_md_stream_update(struct ui_md_stream *s, const char *text, size_t len, struct ui_lines *body,
    struct ui_lines *tail, struct ui_lines *peek)
{
	size_t cut = s->stable;
	struct ui_md m;

	ui_lines_clear(peek);
	while (s->scanned < len) {
		const char *nl = memchr(text + s->scanned, '\n', len - s->scanned);
		size_t end;

		if (nl == NULL)
			break;
		end = (size_t)(nl - text);
		if (ui_md_scan_line(s, text + s->scanned, end - s->scanned))
			cut = s->scanned;
		s->scanned = end + 1;
	}
	if (cut > s->stable) {
		ui_md_render_at(body, text + s->stable, cut - s->stable, s->width, s->code_base + (int)body->ncodes,
		    s->stable > 0);
		s->stable = cut;
		ui_md_stream_restart(s, body, tail);
	}
	/* whole lines, once */
	s->light.out = tail;
	s->lit += ui_md_light_lines(&s->light, text + s->lit, len - s->lit, false);
	ui_md_drain(&s->light);
	s->light.emitted = s->light.emitted || tail->n > 0;
	/* the unfinished line and the open paragraph, on a copy */
	m = s->light;
	m.out = peek;
	m.para = s->light.para ? ui_wrap_dup(s->light.para) : NULL;
	memset(&m.text, 0, sizeof m.text);
	memset(&m.style, 0, sizeof m.style);
	memset(&m.codebuf, 0, sizeof m.codebuf);
	if (m.in_fence)
		buf_append(&m.codebuf, s->light.codebuf.data, s->light.codebuf.len);
	ui_md_light_lines(&m, text + s->lit, len - s->lit, true);
	ui_md_light_end(&m);
}

void
ui_md_stream_end(struct ui_md_stream *s, const char *text, size_t len, struct ui_lines *body,
    struct ui_lines *tail, struct ui_lines *peek)
{
	ui_lines_clear(tail);
	ui_lines_clear(peek);
	if (s->scanned < len && memmem(text + s->scanned, len - s->scanned, "]:", 2) != NULL)
		s->refs = true;
	if (s->refs) {
		ui_lines_clear(body);
		ui_md_render(body, text, len, s->width, s->code_base);
	} else if (len > s->stable)
		ui_md_render_at(body, text + s->stable, len - s->stable, s->width, s->code_base + (int)body->ncodes,
		    s->stable > 0);
	s->stable = s->scanned = s->lit = len;
}
