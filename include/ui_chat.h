/* ui_chat.h: the transcript pane's model, free of curses: the messages of
 * the conversation (and the UI's own notices) laid out as display rows,
 * cached per message, plus the scroll position. */
#ifndef PARLEY_UI_CHAT_H
#define PARLEY_UI_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "ui_text.h"

struct ui_chat;

typedef const struct store_msg *(*ui_chat_get_cb)(void *arg, size_t i);

struct ui_chat *ui_chat_new(void);
void ui_chat_free(struct ui_chat *t);

/* Bring the rows in step with the n messages get() returns at width
 * columns. Only messages that changed are laid out again; a streaming
 * reply's finished blocks are rendered once and only its tail each time. */
void ui_chat_sync(struct ui_chat *t, ui_chat_get_cb get, void *arg, size_t n, int width);
/* Where message i stands among its versions (a retried reply, an edited
 * question): the *pos-th (0-based) of *count; same arg as get. */
typedef void (*ui_chat_versions_cb)(void *arg, size_t i, size_t *pos, size_t *count);
/* Mark messages that have versions "‹2/3›" in their heads. */
void ui_chat_set_versions(struct ui_chat *t, ui_chat_versions_cb cb);
/* Show thinking in full (true) or folded to one row. */
void ui_chat_set_thinking(struct ui_chat *t, bool show);
bool ui_chat_thinking(const struct ui_chat *t);
/* A notice after the messages there are now (role from ui_theme.h). */
void ui_chat_note(struct ui_chat *t, const char *text, int role);
/* Another conversation: forget rows, notices and position. */
void ui_chat_reset(struct ui_chat *t);

/* Scrolling by rows (negative: up) in a pane of height rows. Reaching the
 * end follows the reply again. */
void ui_chat_scroll(struct ui_chat *t, int delta, int height);
void ui_chat_top(struct ui_chat *t);
void ui_chat_follow(struct ui_chat *t);
bool ui_chat_following(const struct ui_chat *t);
/* Rows below the pane when scrolled up. */
size_t ui_chat_below(const struct ui_chat *t, int height);
size_t ui_chat_rows(const struct ui_chat *t);

/* The rows to show in a pane of height rows; empty rows are NULL. */
void ui_chat_view(struct ui_chat *t, int height, const struct ui_line **rows);

/* Code block n (1-based, numbered through the transcript), or NULL. */
const char *ui_chat_code(const struct ui_chat *t, int n);
int ui_chat_ncodes(const struct ui_chat *t);

#endif
