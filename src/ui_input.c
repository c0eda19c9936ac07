/*
 * ui_input.c: the input editor.
 *
 * The text is one NUL-terminated UTF-8 buffer with the cursor as a byte
 * offset that always sits on a character boundary; '\n' separates lines.
 * History lives in libedit's history(3) (so the file is the one the REPL
 * reads and writes) and is mirrored in an array, oldest first, for
 * walking with Up and Down; the text being typed is kept aside while
 * walking. Layout wraps at the character level: a prompt of "› " on the
 * first row, two spaces on the rest, tabs four columns, control characters
 * shown as '?'.
 */
#include "ui_input.h"

#include <histedit.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ui_theme.h"
#include "slash.h"
#include "util.h"

#define UI_INPUT_HISTORY 1000
#define UI_INPUT_PROMPT "› "

struct ui_input {
	struct buf text;
	size_t cur;
	History *hist;
	char *hist_path;
	char **hv; /* mirror, oldest first */
	size_t hn;
	size_t hpos; /* == hn: not walking */
	char *stash; /* the text typed before walking */
	int top; /* first row shown */
};

static void
ui_input_mirror(struct ui_input *in, const char *s)
{
	size_t l = strlen(s);

	if (in->hn > 0 && strcmp(in->hv[in->hn - 1], s) == 0)
		return;
	in->hv = xreallocarray(in->hv, in->hn + 1, sizeof *in->hv);
	in->hv[in->hn] = xstrdup(s);
	/* lines saved by line editors end in a newline */
	if (l > 0 && in->hv[in->hn][l - 1] == '\n')
		in->hv[in->hn][l - 1] = '\0';
	in->hn++;
}

struct ui_input *
ui_input_new(const char *history_path)
{
	struct ui_input *in = xcalloc(1, sizeof *in);
	HistEvent ev;

	buf_append(&in->text, "", 0);
	in->hist = history_init();
	history(in->hist, &ev, H_SETSIZE, UI_INPUT_HISTORY);
	history(in->hist, &ev, H_SETUNIQUE, 1);
	if (history_path != NULL) {
		in->hist_path = xstrdup(history_path);
		history(in->hist, &ev, H_LOAD, history_path);
	}
	for (int r = history(in->hist, &ev, H_LAST); r == 0; r = history(in->hist, &ev, H_PREV))
		ui_input_mirror(in, ev.str);
	in->hpos = in->hn;
	return in;
}

void
ui_input_free(struct ui_input *in)
{
	if (in == NULL)
		return;
	history_end(in->hist);
	for (size_t i = 0; i < in->hn; i++)
		free(in->hv[i]);
	free(in->hv);
	free(in->hist_path);
	free(in->stash);
	buf_free(&in->text);
	free(in);
}

const char *
ui_input_text(const struct ui_input *in)
{
	return in->text.data;
}

size_t
ui_input_len(const struct ui_input *in)
{
	return in->text.len;
}

void
ui_input_set(struct ui_input *in, const char *text)
{
	buf_reset(&in->text);
	buf_puts(&in->text, text);
	buf_append(&in->text, "", 0);
	in->cur = in->text.len;
	in->top = 0;
}

void
ui_input_insert(struct ui_input *in, const char *s, size_t n)
{
	struct buf b = { 0 };

	buf_append(&b, in->text.data, in->cur);
	buf_append(&b, s, n);
	buf_append(&b, in->text.data + in->cur, in->text.len - in->cur);
	buf_free(&in->text);
	in->text = b;
	in->cur += n;
	in->hpos = in->hn;
}

static void
ui_input_delete(struct ui_input *in, size_t from, size_t to)
{
	if (to <= from)
		return;
	memmove(in->text.data + from, in->text.data + to, in->text.len - to + 1);
	in->text.len -= to - from;
	in->cur = from;
}

static size_t
ui_input_prev(const struct ui_input *in, size_t p)
{
	if (p == 0)
		return 0;
	p--;
	while (p > 0 && ((unsigned char)in->text.data[p] & 0xc0) == 0x80)
		p--;
	return p;
}

static size_t
ui_input_next(const struct ui_input *in, size_t p)
{
	int w;

	if (p >= in->text.len)
		return in->text.len;
	return p + ui_text_char(in->text.data + p, in->text.len - p, &w);
}

static bool
ui_input_wordch(char c)
{
	return c != ' ' && c != '\n' && c != '\t';
}

static size_t
ui_input_word_left(const struct ui_input *in, size_t p)
{
	while (p > 0 && !ui_input_wordch(in->text.data[p - 1]))
		p--;
	while (p > 0 && ui_input_wordch(in->text.data[p - 1]))
		p--;
	return p;
}

static size_t
ui_input_word_right(const struct ui_input *in, size_t p)
{
	while (p < in->text.len && !ui_input_wordch(in->text.data[p]))
		p++;
	while (p < in->text.len && ui_input_wordch(in->text.data[p]))
		p++;
	return p;
}

static size_t
ui_input_bol(const struct ui_input *in, size_t p)
{
	while (p > 0 && in->text.data[p - 1] != '\n')
		p--;
	return p;
}

static size_t
ui_input_eol(const struct ui_input *in, size_t p)
{
	while (p < in->text.len && in->text.data[p] != '\n')
		p++;
	return p;
}

/* Show history entry i (== hn: the stashed text). */
static void
ui_input_hist_show(struct ui_input *in, size_t i)
{
	if (in->hpos == in->hn) {
		free(in->stash);
		in->stash = xstrdup(in->text.data);
	}
	in->hpos = i;
	ui_input_set(in, i == in->hn ? (in->stash ? in->stash : "") : in->hv[i]);
}

/* Up or down a line inside the text, keeping the character column. */
static void
ui_input_vertical(struct ui_input *in, int dir)
{
	size_t bol = ui_input_bol(in, in->cur), col = 0, p, target;

	for (p = bol; p < in->cur; p = ui_input_next(in, p))
		col++;
	if (dir < 0)
		target = ui_input_bol(in, bol - 1);
	else
		target = ui_input_eol(in, in->cur) + 1;
	for (p = target; col > 0 && p < in->text.len && in->text.data[p] != '\n'; col--)
		p = ui_input_next(in, p);
	in->cur = p;
}

bool
ui_input_action(struct ui_input *in, enum ui_action act)
{
	size_t p;

	switch (act) {
	case UI_ACT_BOL:
		in->cur = ui_input_bol(in, in->cur);
		break;
	case UI_ACT_EOL:
		in->cur = ui_input_eol(in, in->cur);
		break;
	case UI_ACT_LEFT:
		in->cur = ui_input_prev(in, in->cur);
		break;
	case UI_ACT_RIGHT:
		in->cur = ui_input_next(in, in->cur);
		break;
	case UI_ACT_WORD_LEFT:
		in->cur = ui_input_word_left(in, in->cur);
		break;
	case UI_ACT_WORD_RIGHT:
		in->cur = ui_input_word_right(in, in->cur);
		break;
	case UI_ACT_BACKSPACE:
		p = ui_input_prev(in, in->cur);
		ui_input_delete(in, p, in->cur);
		break;
	case UI_ACT_DELETE:
	case UI_ACT_EOF:
		ui_input_delete(in, in->cur, ui_input_next(in, in->cur));
		break;
	case UI_ACT_KILL_EOL:
		p = ui_input_eol(in, in->cur);
		ui_input_delete(in, in->cur, p == in->cur && p < in->text.len ? p + 1 : p);
		break;
	case UI_ACT_KILL_BOL:
		ui_input_delete(in, ui_input_bol(in, in->cur), in->cur);
		break;
	case UI_ACT_KILL_WORD:
		ui_input_delete(in, ui_input_word_left(in, in->cur), in->cur);
		break;
	case UI_ACT_KILL_WORD_FWD: {
		size_t from = in->cur;

		ui_input_delete(in, from, ui_input_word_right(in, from));
		break;
	}
	case UI_ACT_NEWLINE:
		ui_input_insert(in, "\n", 1);
		break;
	case UI_ACT_HIST_PREV:
		if (ui_input_bol(in, in->cur) > 0)
			ui_input_vertical(in, -1);
		else if (in->hpos > 0)
			ui_input_hist_show(in, in->hpos - 1);
		break;
	case UI_ACT_HIST_NEXT:
		if (ui_input_eol(in, in->cur) < in->text.len)
			ui_input_vertical(in, 1);
		else if (in->hpos < in->hn)
			ui_input_hist_show(in, in->hpos + 1);
		break;
	default:
		return false;
	}
	return true;
}

void
ui_input_remember(struct ui_input *in, const char *line)
{
	HistEvent ev;

	if (line[0] == '\0')
		return;
	history(in->hist, &ev, H_ENTER, line);
	ui_input_mirror(in, line);
	in->hpos = in->hn;
	free(in->stash);
	in->stash = NULL;
	/* Append, never rewrite: a REPL may be adding to the same file. An
	 * unwritable history file must not stop the chat, so errors are
	 * dropped. */
	if (in->hist_path != NULL)
		(void)slash_history_append(in->hist_path, line, NULL);
}

/* Start a new row of the layout with the continuation indent. */
static void
ui_input_newrow(struct ui_lines *all, struct buf *row, struct buf *st, bool first)
{
	if (!first) {
		ui_lines_add(all, row->data, (unsigned char *)st->data, row->len, 0);
		buf_reset(row);
		buf_reset(st);
	}
	buf_puts(row, first ? UI_INPUT_PROMPT : "  ");
	buf_putc(st, (char)UI_ROLE_HINT);
	buf_putc(st, (char)UI_ROLE_HINT);
	if (first)
		for (size_t k = 2; k < strlen(UI_INPUT_PROMPT); k++)
			buf_putc(st, (char)UI_ROLE_HINT);
}

int
ui_input_layout(struct ui_input *in, int width, int maxrows, struct ui_lines *out, int *cy, int *cx)
{
	struct ui_lines all = { 0 };
	struct buf row = { 0 }, st = { 0 };
	int col = 2, r = 0, avail = width < 4 ? 4 : width;
	const char *t = in->text.data;
	size_t i = 0;

	*cy = *cx = 0;
	ui_input_newrow(&all, &row, &st, true);
	while (i < in->text.len) {
		size_t n;
		int w;

		if (t[i] == '\n') {
			if (i == in->cur) {
				*cy = r;
				*cx = col;
			}
			ui_input_newrow(&all, &row, &st, false);
			r++;
			col = 2;
			i++;
			continue;
		}
		n = ui_text_char(t + i, in->text.len - i, &w);
		if (t[i] == '\t')
			w = 4;
		else if ((unsigned char)t[i] < 0x20 || (n == 1 && (unsigned char)t[i] >= 0x80))
			w = 1; /* shown as '?' */
		if (col + w > avail && col > 2) {
			ui_input_newrow(&all, &row, &st, false);
			r++;
			col = 2;
		}
		if (i == in->cur) {
			*cy = r;
			*cx = col;
		}
		if (t[i] == '\t') {
			buf_puts(&row, "    ");
			for (int k = 0; k < 4; k++)
				buf_putc(&st, (char)UI_ROLE_INPUT);
		} else if (w == 1 && n == 1 && ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x80)) {
			buf_putc(&row, '?');
			buf_putc(&st, (char)UI_ROLE_INPUT);
		} else {
			buf_append(&row, t + i, n);
			for (size_t k = 0; k < n; k++)
				buf_putc(&st, (char)UI_ROLE_INPUT);
		}
		col += w;
		i += n;
	}
	if (in->cur >= in->text.len) {
		if (col >= avail) {
			/* the cursor needs a cell past a full row */
			ui_input_newrow(&all, &row, &st, false);
			r++;
			col = 2;
		}
		*cy = r;
		*cx = col;
	}
	ui_lines_add(&all, row.data, (unsigned char *)st.data, row.len, 0);
	/* scroll to keep the cursor in view */
	if (maxrows < 1)
		maxrows = 1;
	if (*cy < in->top)
		in->top = *cy;
	if (*cy >= in->top + maxrows)
		in->top = *cy - maxrows + 1;
	if (in->top > (int)all.n - maxrows)
		in->top = (int)all.n - maxrows > 0 ? (int)all.n - maxrows : 0;
	for (int k = in->top; k < (int)all.n && k < in->top + maxrows; k++)
		ui_lines_add(out, all.v[k].text, all.v[k].style, all.v[k].len, 0);
	*cy -= in->top;
	buf_free(&row);
	buf_free(&st);
	ui_lines_clear(&all);
	return (int)out->n;
}
