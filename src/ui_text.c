/*
 * ui_text.c: display text for the TUI, with no curses in it.
 *
 * Everything the screen shows is first turned into struct ui_line rows:
 * sanitised UTF-8 (no control characters, no invalid bytes, so nothing a
 * model sends can move the cursor or garble the terminal) with one style
 * byte per text byte. Widths come from wcwidth() on the decoded character,
 * so CJK and emoji take two columns and combining marks none. Wrapping
 * breaks after spaces, or around wide characters (CJK text has no spaces),
 * or anywhere when a word is longer than the row.
 */
#include "ui_text.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "buf.h"
#include "util.h"

#define UI_TEXT_REPL "\xef\xbf\xbd" /* U+FFFD */
#define UI_TEXT_TAB 4

void
ui_lines_clear(struct ui_lines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].text);
		free(l->v[i].style);
	}
	free(l->v);
	for (size_t i = 0; i < l->ncodes; i++)
		free(l->codes[i]);
	free(l->codes);
	memset(l, 0, sizeof *l);
}

void
ui_lines_add(struct ui_lines *l, const char *text, const unsigned char *style, size_t len, unsigned char fill)
{
	struct ui_line *ln;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	ln = &l->v[l->n++];
	ln->text = xmalloc(len + 1);
	memcpy(ln->text, text, len);
	ln->text[len] = '\0';
	ln->style = xmalloc(len + 1);
	memcpy(ln->style, style, len);
	ln->len = len;
	ln->width = ui_text_width(text, len);
	ln->fill = fill;
}

void
ui_lines_add_str(struct ui_lines *l, const char *text, unsigned char style, int width)
{
	struct ui_para p = { 0 };

	/* one row, cut rather than wrapped: wrap it and keep the first */
	struct ui_lines tmp = { 0 };

	p.text = text;
	p.len = strlen(text);
	p.pfx_style = style;
	p.hard = true;
	ui_text_wrap(&tmp, &p, width > 0 ? width : 1);
	if (tmp.n == 0)
		ui_lines_add(l, "", (const unsigned char *)"", 0, 0);
	else
		ui_lines_add(l, tmp.v[0].text, tmp.v[0].style, tmp.v[0].len, 0);
	ui_lines_clear(&tmp);
}

void
ui_lines_add_code(struct ui_lines *l, const char *code, size_t len)
{
	l->codes = xreallocarray(l->codes, l->ncodes + 1, sizeof *l->codes);
	l->codes[l->ncodes++] = xstrndup(code, len);
}

size_t
ui_text_char(const char *s, size_t len, int *width)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int w;

	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, len, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*width = 1;
		return 1;
	}
	w = wcwidth(wc);
	if (w < 0)
		w = 1; /* shown as a replacement cell */
	*width = w;
	return n;
}

int
ui_text_width(const char *s, size_t len)
{
	int total = 0, w;

	for (size_t i = 0; i < len;) {
		i += ui_text_char(s + i, len - i, &w);
		total += w;
	}
	return total;
}

size_t
ui_text_fit(const char *s, size_t len, int cols)
{
	size_t i = 0;
	int used = 0, w;

	while (i < len) {
		size_t n = ui_text_char(s + i, len - i, &w);

		if (used + w > cols)
			break;
		used += w;
		i += n;
	}
	/* keep combining marks with their base */
	while (i < len) {
		size_t n = ui_text_char(s + i, len - i, &w);

		if (w != 0)
			break;
		i += n;
	}
	return i;
}

/* Copy text into clean (text, style) buffers: tabs become spaces, control
 * characters and bad bytes U+FFFD, '\r' goes; '\n' stays as a break. */
static void
ui_text_clean(const struct ui_para *p, struct buf *t, struct buf *s)
{
	for (size_t i = 0; i < p->len;) {
		unsigned char st = p->style ? p->style[i] : p->pfx_style;
		unsigned char c = (unsigned char)p->text[i];
		mbstate_t mb;
		wchar_t wc;
		size_t n;

		if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
			buf_putc(t, (char)c);
			buf_putc(s, (char)st);
			i++;
			continue;
		}
		if (c == '\t') {
			for (int k = 0; k < UI_TEXT_TAB; k++) {
				buf_putc(t, ' ');
				buf_putc(s, (char)st);
			}
			i++;
			continue;
		}
		if (c == '\r') {
			i++;
			continue;
		}
		memset(&mb, 0, sizeof mb);
		n = mbrtowc(&wc, p->text + i, p->len - i, &mb);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || wcwidth(wc) < 0) {
			buf_puts(t, UI_TEXT_REPL);
			for (int k = 0; k < 3; k++)
				buf_putc(s, (char)st);
			i += (n == (size_t)-1 || n == (size_t)-2 || n == 0) ? 1 : n;
			continue;
		}
		buf_append(t, p->text + i, n);
		for (size_t k = 0; k < n; k++)
			buf_putc(s, (char)st);
		i += n;
	}
}

/* Emit one row: prefix, then t[from..to) without trailing spaces. */
static void
ui_text_row(struct ui_lines *out, const struct ui_para *p, const char *pfx, const struct buf *t,
    const struct buf *s, size_t from, size_t to)
{
	struct buf rt = { 0 }, rs = { 0 };
	size_t plen = pfx ? strlen(pfx) : 0;

	if (!p->hard)
		while (to > from && t->data[to - 1] == ' ')
			to--;
	buf_append(&rt, pfx ? pfx : "", plen);
	for (size_t k = 0; k < plen; k++)
		buf_putc(&rs, (char)p->pfx_style);
	buf_append(&rt, t->data + from, to - from);
	buf_append(&rs, s->data + from, to - from);
	ui_lines_add(out, rt.data ? rt.data : "", (unsigned char *)(rs.data ? rs.data : ""), rt.len, p->fill);
	buf_free(&rt);
	buf_free(&rs);
}

void
ui_text_wrap(struct ui_lines *out, const struct ui_para *p, int width)
{
	struct buf t = { 0 }, s = { 0 };
	const char *pfx = p->pfx1;
	size_t row = 0, brk = 0, i = 0;
	int col = 0, avail;
	bool any = false;

	ui_text_clean(p, &t, &s);
	buf_append(&t, "", 0);
	buf_append(&s, "", 0);
#define UI_AVAIL() (width - (pfx ? ui_text_width(pfx, strlen(pfx)) : 0))
	avail = UI_AVAIL();
	if (avail < 1)
		avail = 1;
	while (i < t.len) {
		int w;
		size_t n;

		if (t.data[i] == '\n') {
			ui_text_row(out, p, pfx, &t, &s, row, i);
			any = true;
			pfx = p->pfx2;
			avail = UI_AVAIL() < 1 ? 1 : UI_AVAIL();
			row = brk = ++i;
			col = 0;
			continue;
		}
		n = ui_text_char(t.data + i, t.len - i, &w);
		if (col + w > avail && col > 0) {
			size_t cut = (!p->hard && brk > row) ? brk : i;

			ui_text_row(out, p, pfx, &t, &s, row, cut);
			any = true;
			pfx = p->pfx2;
			avail = UI_AVAIL() < 1 ? 1 : UI_AVAIL();
			row = cut;
			if (!p->hard)
				while (row < t.len && t.data[row] == ' ')
					row++;
			brk = row;
			col = ui_text_width(t.data + row, i - row);
			if (row > i) {
				i = row;
				col = 0;
			}
			continue;
		}
		/* break opportunities: after a space, around wide characters */
		if (w == 2 && i > row)
			brk = i;
		col += w;
		i += n;
		if (t.data[i - 1] == ' ' || w == 2)
			brk = i;
	}
#undef UI_AVAIL
	if (row < t.len || !any)
		ui_text_row(out, p, pfx, &t, &s, row, t.len);
	buf_free(&t);
	buf_free(&s);
}

size_t
ui_text_key(int key, char *out)
{
	mbstate_t st;
	size_t n;

	if (key < 0 || key >= 0x110000)
		return 0;
	memset(&st, 0, sizeof st);
	n = wcrtomb(out, (wchar_t)key, &st);
	return n == (size_t)-1 ? 0 : n;
}
