/* ui_view.h: what the TUI's parts share: the overlay views (small vtables
 * in the tmux window-mode manner), the services ui.c offers them (marking
 * the screen dirty, the message line, y/n questions, opening views), and
 * drawing helpers over curses. Only ui_*.c include this. */
#ifndef PARLEY_UI_VIEW_H
#define PARLEY_UI_VIEW_H

#include <stdbool.h>

#include "app.h"
#include "chat.h"
#include "ui_text.h"

struct ui;
struct ui_view;

struct ui_view_ops {
	const char *name;
	/* Paint into the rectangle (rows y..y+h, columns x..x+w). */
	void (*draw)(struct ui_view *v, int y, int x, int h, int w);
	/* A key; false lets the screen handle it (global keys). */
	bool (*key)(struct ui_view *v, int key);
	/* The terminal changed size (may be NULL). */
	void (*resize)(struct ui_view *v);
	/* The store changed under us (may be NULL). */
	void (*changed)(struct ui_view *v);
	void (*free)(struct ui_view *v);
};

struct ui_view {
	const struct ui_view_ops *ops;
	struct ui *ui;
};

/* --- services of ui.c -------------------------------------------------- */

struct app *ui_app(struct ui *ui);
struct chat *ui_conv(struct ui *ui);
void ui_dirty(struct ui *ui);
/* The message line: info (fades after a few seconds) or error (stays
 * until dismissed). */
void ui_info(struct ui *ui, const char *fmt, ...) PRINTFLIKE(2, 3);
void ui_error(struct ui *ui, const char *fmt, ...) PRINTFLIKE(2, 3);
/* Ask a y/n question on the message line; cb runs with the answer. */
typedef void (*ui_ask_cb)(struct ui *ui, bool yes, void *arg);
void ui_ask(struct ui *ui, const char *question, ui_ask_cb cb, void *arg);
/* Open an overlay on top (takes v), close one (frees it). */
void ui_push(struct ui *ui, struct ui_view *v);
void ui_pop(struct ui *ui, struct ui_view *v);
/* The current session changed (opened, new, deleted): show it. */
void ui_session_changed(struct ui *ui);
/* The backend answered (true) or could not be reached (false). */
void ui_set_online(struct ui *ui, bool online, const char *why);
/* Pick a model for this session. */
void ui_use_model(struct ui *ui, const char *model);
/* The model list changed (pull, delete): the picker refreshes. */
void ui_models_changed(struct ui *ui);
/* Keep polling the store for other processes' writes while on. */
void ui_watch_store(struct ui *ui, bool on);

/* Overlays. */
struct ui_view *ui_picker_new(struct ui *ui);
struct ui_view *ui_pull_new(struct ui *ui, const char *model);
struct ui_view *ui_sessions_new(struct ui *ui, const char *filter);
struct ui_view *ui_help_new(struct ui *ui);

/* --- drawing ----------------------------------------------------------- */

/* Text in one style at (y, x), cut to w columns; returns columns used. */
int ui_draw_text(int y, int x, int w, const char *s, unsigned char style);
/* w blank cells in style. */
void ui_draw_fill(int y, int x, int w, unsigned char style);
/* A styled row, cut to w, the rest filled with its fill role. */
void ui_draw_line(int y, int x, int w, const struct ui_line *l);
/* A framed box with a title; the inside is cleared. */
void ui_draw_box(int y, int x, int h, int w, const char *title);

/* Sizes for lists: "2.0 GB". */

#endif
