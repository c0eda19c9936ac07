/*
 * ui_sessions.c: the sessions overlay (Ctrl-O, F3, /sessions).
 *
 * Two modes over the store: a list filtered by title or id as you type,
 * and (Tab) full-text search over message text, one row per hit with its
 * snippet. The list is read again whenever the store changes under us
 * (ui.c polls its data version while this is open), so sessions that pipe
 * runs and the listener write show up live. Rename edits a line inside
 * the overlay; delete asks y/n first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "reltime.h"
#include "ui_curses.h"
#include "ui_keys.h"
#include "ui_text.h"
#include "ui_theme.h"
#include "ui_view.h"
#include "util.h"

#define UI_SESSIONS_MAX 1000

struct ui_sessions {
	struct ui_view v;
	struct buf filter;
	bool search;
	struct store_session **list;
	size_t n;
	struct store_hit **hits;
	size_t nhits;
	char *err;
	int sel, top, h;
	bool renaming;
	struct buf rename;
	char *rm_id;
};

static size_t
ui_sessions_count(const struct ui_sessions *s)
{
	return s->search ? s->nhits : s->n;
}

static const char *
ui_sessions_id(const struct ui_sessions *s, int i)
{
	if (i < 0 || (size_t)i >= ui_sessions_count(s))
		return NULL;
	return s->search ? s->hits[i]->session : s->list[i]->id;
}

static void
ui_sessions_load(struct ui_sessions *s)
{
	struct store *st = ui_app(s->v.ui)->store;
	const char *keep = ui_sessions_id(s, s->sel);
	char *keep_id = keep ? xstrdup(keep) : NULL;
	const char *f = s->filter.len ? s->filter.data : NULL;

	store_sessions_free(s->list, s->n);
	store_hits_free(s->hits, s->nhits);
	s->list = NULL;
	s->hits = NULL;
	s->n = s->nhits = 0;
	free(s->err);
	s->err = NULL;
	if (st == NULL)
		s->err = xstrdup(ui_app(s->v.ui)->store_error ? ui_app(s->v.ui)->store_error : "sessions are not saved (--no-save)");
	else if (s->search && f != NULL) {
		if (store_search(st, f, "", "", UI_SESSIONS_MAX, &s->hits, &s->nhits, &s->err) != 0)
			s->nhits = 0;
	} else if (!s->search) {
		if (store_session_list(st, f, UI_SESSIONS_MAX, &s->list, &s->n, &s->err) != 0)
			s->n = 0;
	}
	/* keep the selection on the same session */
	s->sel = 0;
	for (size_t i = 0; keep_id != NULL && i < ui_sessions_count(s); i++)
		if (strcmp(ui_sessions_id(s, (int)i), keep_id) == 0) {
			s->sel = (int)i;
			break;
		}
	free(keep_id);
	ui_dirty(s->v.ui);
}

static void
ui_sessions_age(char *dst, size_t n, int64_t ms)
{
	reltime(dst, n, ms, util_wall_ms(), RELTIME_SHORT);
}

static void
ui_sessions_draw(struct ui_view *v, int y, int x, int h, int w)
{
	struct ui_sessions *s = (struct ui_sessions *)v;
	const char *cur = chat_session_id(ui_conv(v->ui));
	int list_y = y + 3, list_h = h - 5;
	struct buf b = { 0 };
	size_t cnt = ui_sessions_count(s);

	ui_draw_box(y, x, h, w, s->search ? "Sessions · search message text" : "Sessions");
	if (s->renaming)
		buf_printf(&b, "rename to: %s", s->rename.data ? s->rename.data : "");
	else
		buf_printf(&b, "%s: %s", s->search ? "search" : "filter", s->filter.data ? s->filter.data : "");
	ui_draw_text(y + 1, x + 2, w - 4, b.data, UI_ROLE_INPUT | UI_ST_BOLD);
	buf_reset(&b);
	if (s->search)
		buf_printf(&b, "%-8s  %-30s  %s", "ID", "TITLE", "MATCH");
	else
		buf_printf(&b, "%-8s  %-40s  %-18s %5s  %-10s %s", "ID", "TITLE", "MODEL", "MSGS", "UPDATED", "FROM");
	ui_draw_text(y + 2, x + 2, w - 4, b.data, UI_ROLE_DIM | UI_ST_BOLD);
	s->h = list_h;
	if (s->err != NULL)
		ui_draw_text(list_y, x + 2, w - 4, s->err, UI_ROLE_ERROR);
	else if (cnt == 0)
		ui_draw_text(list_y, x + 2, w - 4, s->search && s->filter.len == 0 ? "type words to search every message" : "no sessions", UI_ROLE_HINT);
	if (s->sel >= (int)cnt)
		s->sel = cnt ? (int)cnt - 1 : 0;
	if (s->sel < s->top)
		s->top = s->sel;
	if (s->sel >= s->top + list_h)
		s->top = s->sel - list_h + 1;
	for (int i = 0; i < list_h && s->top + i < (int)cnt; i++) {
		int k = s->top + i;
		bool sel = k == s->sel;
		unsigned char role = sel ? UI_ROLE_SELECTED : UI_ROLE_OVERLAY;

		buf_reset(&b);
		if (s->search) {
			const struct store_hit *hh = s->hits[k];
			char *snip = xstrdup(hh->snippet ? hh->snippet : "");

			for (char *c = snip; *c; c++)
				if (*c == '\n' || *c == '\r' || *c == '\t')
					*c = ' ';
			buf_printf(&b, "%-8s  %-30.30s  %s", hh->session, hh->title && hh->title[0] ? hh->title : "(untitled)", snip);
			free(snip);
		} else {
			const struct store_session *ss = s->list[k];
			char age[32];

			ui_sessions_age(age, sizeof age, ss->updated);
			buf_printf(&b, "%-8s  %-40.40s  %-18.18s %5lld  %-10s %s", ss->id, ss->title && ss->title[0] ? ss->title : "(untitled)",
			    ss->model ? ss->model : "", (long long)ss->nmessages, age, ss->origin ? ss->origin : "");
		}
		if (sel)
			ui_draw_fill(list_y + i, x + 1, w - 2, UI_ROLE_SELECTED);
		if (!sel && util_streq(ui_sessions_id(s, k), cur))
			role |= UI_ST_BOLD;
		ui_draw_text(list_y + i, x + 2, w - 4, b.data, role);
	}
	ui_draw_text(y + h - 2, x + 2, w - 4,
	    s->renaming ? "Enter renames · Esc cancels"
	                : "Enter open · Tab title/text search · C-r rename · Delete remove · C-n new · Esc close",
	    UI_ROLE_HINT);
	buf_free(&b);
}

static void
ui_sessions_rm_answer(struct ui *ui, bool yes, void *arg)
{
	struct ui_sessions *s = arg;
	struct chat *c = ui_conv(ui);
	char *cause = NULL;

	if (!yes || s->rm_id == NULL)
		return;
	if (store_session_delete(ui_app(ui)->store, s->rm_id, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
		return;
	}
	if (util_streq(chat_session_id(c), s->rm_id)) {
		chat_reset(c);
		ui_session_changed(ui);
	}
	ui_info(ui, "deleted session %s", s->rm_id);
	ui_sessions_load(s);
}

static void
ui_sessions_open(struct ui_sessions *s)
{
	const char *id = ui_sessions_id(s, s->sel);
	struct chat *c = ui_conv(s->v.ui);
	char *cause = NULL, *idc;

	if (id == NULL)
		return;
	idc = xstrdup(id);
	if (chat_busy(c))
		chat_stop(c);
	if (chat_open(c, idc, false, &cause) != 0) {
		ui_error(s->v.ui, "%s", cause);
		free(cause);
		free(idc);
		return;
	}
	/* a hit on another branch: show the branch it is on */
	if (s->search && chat_goto(c, s->hits[s->sel]->msg, &cause) != 0) {
		ui_error(s->v.ui, "%s", cause);
		free(cause);
	}
	ui_session_changed(s->v.ui);
	ui_info(s->v.ui, "session %s: %s", idc, chat_title(c)[0] ? chat_title(c) : "(untitled)");
	free(idc);
	ui_pop(s->v.ui, &s->v);
}

static void
ui_sessions_rename(struct ui_sessions *s)
{
	const char *id = ui_sessions_id(s, s->sel);
	struct chat *c = ui_conv(s->v.ui);
	char *cause = NULL;
	int rc;

	s->renaming = false;
	if (id == NULL || s->rename.len == 0)
		return;
	if (util_streq(chat_session_id(c), id))
		rc = chat_rename(c, s->rename.data, &cause);
	else
		rc = store_session_rename(ui_app(s->v.ui)->store, id, s->rename.data, &cause);
	if (rc != 0) {
		ui_error(s->v.ui, "%s", cause);
		free(cause);
	}
	ui_sessions_load(s);
}

/* Typing into the filter or the rename line. */
static bool
ui_sessions_edit(struct buf *b, int key)
{
	if (key == (UI_KEY_FN | KEY_BACKSPACE)) {
		if (b->len > 0) {
			size_t l = b->len - 1;

			while (l > 0 && ((unsigned char)b->data[l] & 0xc0) == 0x80)
				l--;
			b->len = l;
			b->data[l] = '\0';
		}
		return true;
	}
	if (key == UI_KEY_CTRL('u')) {
		buf_reset(b);
		buf_append(b, "", 0);
		return true;
	}
	if (key >= ' ' && key < 0x110000 && key != 127 && b->len < 200) {
		char mb[8];
		size_t n = ui_text_key(key, mb);

		if (n > 0)
			buf_append(b, mb, n);
		return true;
	}
	return false;
}

static bool
ui_sessions_key(struct ui_view *v, int key)
{
	struct ui_sessions *s = (struct ui_sessions *)v;
	int cnt = (int)ui_sessions_count(s);

	ui_dirty(v->ui);
	if (s->renaming) {
		if (key == 27)
			s->renaming = false;
		else if (key == 13)
			ui_sessions_rename(s);
		else
			ui_sessions_edit(&s->rename, key);
		return true;
	}
	switch (key) {
	case 27:
		ui_pop(v->ui, v);
		return true;
	case 13:
		ui_sessions_open(s);
		return true;
	case 9:
		s->search = !s->search;
		ui_sessions_load(s);
		return true;
	case UI_KEY_FN | KEY_UP:
		s->sel = s->sel > 0 ? s->sel - 1 : 0;
		return true;
	case UI_KEY_FN | KEY_DOWN:
		s->sel = s->sel + 1 < cnt ? s->sel + 1 : s->sel;
		return true;
	case UI_KEY_FN | KEY_PPAGE:
		s->sel = s->sel > s->h ? s->sel - s->h : 0;
		return true;
	case UI_KEY_FN | KEY_NPAGE:
		s->sel = s->sel + s->h < cnt ? s->sel + s->h : (cnt ? cnt - 1 : 0);
		return true;
	case UI_KEY_CTRL('r'): {
		const char *id = ui_sessions_id(s, s->sel);

		if (id == NULL || s->search)
			return true;
		s->renaming = true;
		buf_reset(&s->rename);
		buf_puts(&s->rename, s->list[s->sel]->title ? s->list[s->sel]->title : "");
		buf_append(&s->rename, "", 0);
		return true;
	}
	case UI_KEY_FN | KEY_DC: {
		const char *id = ui_sessions_id(s, s->sel);
		char *q;

		if (id == NULL)
			return true;
		free(s->rm_id);
		s->rm_id = xstrdup(id);
		q = xasprintf("delete session %s and its messages?", id);
		ui_ask(v->ui, q, ui_sessions_rm_answer, s);
		free(q);
		return true;
	}
	case UI_KEY_CTRL('n'): {
		struct chat *c = ui_conv(v->ui);

		if (chat_busy(c))
			chat_stop(c);
		chat_reset(c);
		ui_session_changed(v->ui);
		ui_info(v->ui, "new session");
		ui_pop(v->ui, v);
		return true;
	}
	default:
		if (ui_sessions_edit(&s->filter, key)) {
			ui_sessions_load(s);
			return true;
		}
		if (ui_keys_lookup(key) == UI_ACT_SESSIONS) {
			ui_pop(v->ui, v);
			return true;
		}
		return false;
	}
}

static void
ui_sessions_changed(struct ui_view *v)
{
	ui_sessions_load((struct ui_sessions *)v);
}

static void
ui_sessions_free(struct ui_view *v)
{
	struct ui_sessions *s = (struct ui_sessions *)v;

	ui_watch_store(v->ui, false);
	store_sessions_free(s->list, s->n);
	store_hits_free(s->hits, s->nhits);
	buf_free(&s->filter);
	buf_free(&s->rename);
	free(s->err);
	free(s->rm_id);
	free(s);
}

static const struct ui_view_ops ui_sessions_ops = {
	"sessions",
	ui_sessions_draw,
	ui_sessions_key,
	NULL,
	ui_sessions_changed,
	ui_sessions_free,
};

struct ui_view *
ui_sessions_new(struct ui *ui, const char *filter)
{
	struct ui_sessions *s = xcalloc(1, sizeof *s);

	s->v.ops = &ui_sessions_ops;
	s->v.ui = ui;
	buf_append(&s->filter, "", 0);
	if (filter != NULL)
		buf_puts(&s->filter, filter);
	buf_append(&s->rename, "", 0);
	ui_watch_store(ui, true);
	ui_sessions_load(s);
	return &s->v;
}
