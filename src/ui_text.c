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
 *
 * A struct ui_wrap wraps a paragraph that arrives in pieces (a reply as it
 * streams): each row goes out as soon as the character that does not fit
 * on it arrives, since nothing after that can change it, and the wrapper
 * keeps only the clean text of the row it is filling. ui_text_wrap is the
 * same wrapper fed once.
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

	/* ASCII is one cell, control characters too (a replacement cell) */
	if ((unsigned char)s[0] < 0x80) {
		*width = 1;
		return 1;
	}
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

size_t
ui_text_whole(const char *s, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	/* back over continuation bytes to the last lead byte */
	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return len;
	c = (unsigned char)s[i - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3
	    : c >= 0xc0                  ? 2
	                                 : 1;
	return len - (i - 1) < need ? i - 1 : len;
}

/* --- wrapping ----------------------------------------------------------- */

struct ui_wrap {
	char *pfx1, *pfx2;
	int avail1, avail2; /* columns left of a row after its prefix */
	unsigned char pfx_style, fill;
	bool hard;
	struct buf t, s; /* clean text and its styles, from the current row on */
	size_t row, brk, i; /* offsets in t: the row, its last break, next char */
	int col; /* columns of t[row..i) */
	bool rest; /* past the first row: rows start with pfx2 */
	bool any; /* a row was emitted */
	bool skip; /* after a soft cut: the spaces that would start a row go */
};

/* Copy text into clean (text, style) buffers: tabs become spaces, control
 * characters and bad bytes U+FFFD, '\r' goes; '\n' stays as a break. */
static void
ui_text_clean(const char *text, const unsigned char *style, size_t len, unsigned char dflt, struct buf *t,
    struct buf *s)
{
	for (size_t i = 0; i < len;) {
		unsigned char st = style ? style[i] : dflt;
		unsigned char c = (unsigned char)text[i];
		mbstate_t mb;
		wchar_t wc;
		size_t n;

		if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
			size_t j = i + 1;

			while (j < len && (text[j] == '\n' || (text[j] >= 0x20 && text[j] < 0x7f)))
				j++;
			buf_append(t, text + i, j - i);
			if (style)
				buf_append(s, style + i, j - i);
			else
				buf_fill(s, (char)st, j - i);
			i = j;
			continue;
		}
		if (c == '\t') {
			buf_append(t, "    ", UI_TEXT_TAB);
			buf_fill(s, (char)st, UI_TEXT_TAB);
			i++;
			continue;
		}
		if (c == '\r') {
			i++;
			continue;
		}
		memset(&mb, 0, sizeof mb);
		n = mbrtowc(&wc, text + i, len - i, &mb);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || wcwidth(wc) < 0) {
			buf_puts(t, UI_TEXT_REPL);
			buf_fill(s, (char)st, 3);
			i += (n == (size_t)-1 || n == (size_t)-2 || n == 0) ? 1 : n;
			continue;
		}
		buf_append(t, text + i, n);
		buf_fill(s, (char)st, n);
		i += n;
	}
}

static int
ui_wrap_avail(int width, const char *pfx)
{
	int a = width - ui_text_width(pfx, strlen(pfx));

	return a < 1 ? 1 : a;
}

struct ui_wrap *
ui_wrap_new(const struct ui_para *p, int width)
{
	struct ui_wrap *w = xcalloc(1, sizeof *w);

	w->pfx1 = xstrdup(p->pfx1 ? p->pfx1 : "");
	w->pfx2 = xstrdup(p->pfx2 ? p->pfx2 : "");
	w->avail1 = ui_wrap_avail(width, w->pfx1);
	w->avail2 = ui_wrap_avail(width, w->pfx2);
	w->pfx_style = p->pfx_style;
	w->fill = p->fill;
	w->hard = p->hard;
	buf_append(&w->t, "", 0);
	buf_append(&w->s, "", 0);
	return w;
}

struct ui_wrap *
ui_wrap_dup(const struct ui_wrap *w)
{
	struct ui_wrap *d = xmalloc(sizeof *d);

	*d = *w;
	d->pfx1 = xstrdup(w->pfx1);
	d->pfx2 = xstrdup(w->pfx2);
	memset(&d->t, 0, sizeof d->t);
	memset(&d->s, 0, sizeof d->s);
	buf_append(&d->t, w->t.data, w->t.len);
	buf_append(&d->s, w->s.data, w->s.len);
	return d;
}

void
ui_wrap_free(struct ui_wrap *w)
{
	if (w == NULL)
		return;
	free(w->pfx1);
	free(w->pfx2);
	buf_free(&w->t);
	buf_free(&w->s);
	free(w);
}

/* Emit one row: prefix, then t[from..to) without trailing spaces. */
static void
ui_wrap_row(struct ui_wrap *w, struct ui_lines *out, size_t from, size_t to)
{
	const char *pfx = w->rest ? w->pfx2 : w->pfx1;
	size_t plen = strlen(pfx), n;
	struct ui_line *ln;

	if (!w->hard)
		while (to > from && w->t.data[to - 1] == ' ')
			to--;
	n = to - from;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->v = xreallocarray(out->v, out->cap, sizeof *out->v);
	}
	ln = &out->v[out->n++];
	ln->text = xmalloc(plen + n + 1);
	memcpy(ln->text, pfx, plen);
	memcpy(ln->text + plen, w->t.data + from, n);
	ln->text[plen + n] = '\0';
	ln->style = xmalloc(plen + n + 1);
	memset(ln->style, w->pfx_style, plen);
	memcpy(ln->style + plen, w->s.data + from, n);
	ln->style[plen + n] = '\0';
	ln->len = plen + n;
	ln->width = ui_text_width(ln->text, ln->len);
	ln->fill = w->fill;
	w->any = true;
	w->rest = true;
}

/* Lay out what was fed: every row that more text cannot change. A row is
 * cut when the next character does not fit, after its last space (or
 * around a wide character), or at that character when there is none. */
static void
ui_wrap_run(struct ui_wrap *w, struct ui_lines *out)
{
	const char *t = w->t.data;
	size_t len = w->t.len;

	if (w->skip) {
		while (w->row < len && t[w->row] == ' ')
			w->row++;
		if (w->row == len)
			return;
		w->skip = false;
		w->brk = w->i = w->row;
		w->col = 0;
	}
	while (w->i < len) {
		size_t i = w->i, n;
		int cw, avail = w->rest ? w->avail2 : w->avail1;

		if (t[i] == '\n') {
			ui_wrap_row(w, out, w->row, i);
			w->row = w->brk = w->i = i + 1;
			w->col = 0;
			continue;
		}
		if ((unsigned char)t[i] < 0x80) {
			n = 1;
			cw = 1;
		} else
			n = ui_text_char(t + i, len - i, &cw);
		if (w->col + cw > avail && w->col > 0) {
			size_t cut = (!w->hard && w->brk > w->row) ? w->brk : i;

			ui_wrap_row(w, out, w->row, cut);
			w->row = cut;
			if (!w->hard) {
				while (w->row < len && t[w->row] == ' ')
					w->row++;
				if (w->row == len) {
					/* the spaces may go on in the next piece */
					w->skip = true;
					w->brk = w->i = w->row;
					w->col = 0;
					return;
				}
			}
			w->brk = w->row;
			if (w->row > i) {
				w->i = w->row;
				w->col = 0;
			} else
				w->col = ui_text_width(t + w->row, i - w->row);
			continue;
		}
		/* break opportunities: after a space, around wide characters */
		if (cw == 2 && i > w->row)
			w->brk = i;
		w->col += cw;
		w->i = i + n;
		if (t[i + n - 1] == ' ' || cw == 2)
			w->brk = w->i;
	}
}

void
ui_wrap_feed(struct ui_wrap *w, struct ui_lines *out, const char *text, const unsigned char *style, size_t len)
{
	size_t drop;

	ui_text_clean(text, style, len, w->pfx_style, &w->t, &w->s);
	ui_wrap_run(w, out);
	/* keep only the unfinished row */
	drop = w->row;
	if (drop > 0) {
		buf_consume(&w->t, drop);
		buf_consume(&w->s, drop);
		w->row -= drop;
		w->brk -= drop;
		w->i -= drop;
	}
}

void
ui_wrap_end(struct ui_wrap *w, struct ui_lines *out)
{
	if (w->row < w->t.len || !w->any)
		ui_wrap_row(w, out, w->row, w->t.len);
}

void
ui_text_wrap(struct ui_lines *out, const struct ui_para *p, int width)
{
	struct ui_wrap *w = ui_wrap_new(p, width);

	ui_wrap_feed(w, out, p->text, p->style, p->len);
	ui_wrap_end(w, out);
	ui_wrap_free(w);
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
