/*
 * ui_help.c: the help overlay (F1, /help): the key table and the slash
 * commands, both read from their tables so help cannot drift from what
 * the keys and commands do. The text is built once into rows and
 * scrolled.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "slash.h"
#include "ui_curses.h"
#include "ui_keys.h"
#include "ui_theme.h"
#include "ui_view.h"
#include "util.h"

struct ui_help {
	struct ui_view v;
	struct ui_lines rows;
	int width;
	int top;
	int h; /* rows shown at the last draw */
};

static void
ui_help_row(struct ui_lines *l, const char *left, const char *right, int w, unsigned char ls)
{
	struct buf t = { 0 }, s = { 0 };
	int lw = ui_text_width(left, strlen(left));

	buf_printf(&t, "  %s", left);
	for (int i = lw; i < 22; i++)
		buf_putc(&t, ' ');
	for (size_t i = 0; i < t.len; i++)
		buf_putc(&s, (char)ls);
	buf_printf(&t, " %s", right);
	while (s.len < t.len)
		buf_putc(&s, (char)UI_ROLE_OVERLAY);
	{
		struct ui_para p = { 0 };

		p.text = t.data;
		p.style = (unsigned char *)s.data;
		p.len = t.len;
		p.pfx2 = "                         ";
		p.pfx_style = UI_ROLE_OVERLAY;
		ui_text_wrap(l, &p, w);
	}
	buf_free(&t);
	buf_free(&s);
}

static void
ui_help_build(struct ui_help *h, int w)
{
	ui_lines_clear(&h->rows);
	h->width = w;
	ui_lines_add_str(&h->rows, "Keys (change them in the [keys] section of the config file)", UI_ROLE_HEADING | UI_ST_BOLD, w);
	for (size_t i = 0; i < ui_keys_count; i++) {
		char *left = xasprintf("%s", ui_keys_bound(ui_keys_table[i].act));

		ui_help_row(&h->rows, left, ui_keys_table[i].help, w, UI_ROLE_CODE);
		free(left);
	}
	ui_lines_add_str(&h->rows, "", UI_ROLE_OVERLAY, w);
	ui_lines_add_str(&h->rows, "Commands", UI_ROLE_HEADING | UI_ST_BOLD, w);
	for (size_t i = 0; i < slash_count; i++) {
		char *left = xasprintf("%s%s%s", slash_table[i].name, slash_table[i].args[0] ? " " : "", slash_table[i].args);

		ui_help_row(&h->rows, left, slash_table[i].help, w, UI_ROLE_CODE);
		free(left);
	}
	ui_lines_add_str(&h->rows, "", UI_ROLE_OVERLAY, w);
	ui_lines_add_str(&h->rows, "Overlays", UI_ROLE_HEADING | UI_ST_BOLD, w);
	ui_help_row(&h->rows, "models (C-p)", "type to filter; Enter uses the model; Tab details; Delete removes; Enter on a new name pulls it", w, UI_ROLE_CODE);
	ui_help_row(&h->rows, "sessions (C-o)", "type to filter; Tab searches message text; Enter opens; C-r renames; Delete removes; C-n new", w, UI_ROLE_CODE);
	ui_help_row(&h->rows, "pull", "Esc cancels the download", w, UI_ROLE_CODE);
}

static void
ui_help_draw(struct ui_view *v, int y, int x, int h, int w)
{
	struct ui_help *hp = (struct ui_help *)v;
	int inner = h - 2;

	if (hp->width != w - 4)
		ui_help_build(hp, w - 4);
	hp->h = inner;
	if (hp->top > (int)hp->rows.n - inner)
		hp->top = (int)hp->rows.n - inner > 0 ? (int)hp->rows.n - inner : 0;
	ui_draw_box(y, x, h, w, "Help · Esc closes · ↑↓ PgUp PgDn scroll");
	for (int i = 0; i < inner && hp->top + i < (int)hp->rows.n; i++)
		ui_draw_line(y + 1 + i, x + 2, w - 4, &hp->rows.v[hp->top + i]);
}

static bool
ui_help_key(struct ui_view *v, int key)
{
	struct ui_help *h = (struct ui_help *)v;

	switch (key) {
	case 27:
	case 'q':
	case UI_KEY_FN | KEY_F(1):
		ui_pop(v->ui, v);
		return true;
	case UI_KEY_FN | KEY_UP:
	case 'k':
		h->top = h->top > 0 ? h->top - 1 : 0;
		break;
	case UI_KEY_FN | KEY_DOWN:
	case 'j':
		h->top++;
		break;
	case UI_KEY_FN | KEY_PPAGE:
		h->top = h->top > h->h ? h->top - h->h : 0;
		break;
	case UI_KEY_FN | KEY_NPAGE:
	case ' ':
		h->top += h->h;
		break;
	case UI_KEY_FN | KEY_HOME:
		h->top = 0;
		break;
	case UI_KEY_FN | KEY_END:
		h->top = (int)h->rows.n;
		break;
	default:
		return ui_keys_lookup(key) != UI_ACT_INTERRUPT;
	}
	ui_dirty(v->ui);
	return true;
}

static void
ui_help_free(struct ui_view *v)
{
	struct ui_help *h = (struct ui_help *)v;

	ui_lines_clear(&h->rows);
	free(h);
}

static const struct ui_view_ops ui_help_ops = {
	"help",
	ui_help_draw,
	ui_help_key,
	NULL,
	NULL,
	ui_help_free,
};

struct ui_view *
ui_help_new(struct ui *ui)
{
	struct ui_help *h = xcalloc(1, sizeof *h);

	h->v.ops = &ui_help_ops;
	h->v.ui = ui;
	return &h->v;
}
