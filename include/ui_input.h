/* ui_input.h: the input editor: a UTF-8 buffer with a cursor, emacs-style
 * editing, history shared with the REPL through libedit's history(3), and
 * layout into rows (free of curses). */
#ifndef PARLEY_UI_INPUT_H
#define PARLEY_UI_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "ui_keys.h"
#include "ui_text.h"

struct ui_input;

/* history_path may be NULL (no history file). */
struct ui_input *ui_input_new(const char *history_path);
void ui_input_free(struct ui_input *in);

const char *ui_input_text(const struct ui_input *in);
size_t ui_input_len(const struct ui_input *in);
void ui_input_set(struct ui_input *in, const char *text); /* cursor at the end */
void ui_input_insert(struct ui_input *in, const char *s, size_t n);
/* Apply an editing or history action; false if it is not one. */
bool ui_input_action(struct ui_input *in, enum ui_action act);
/* Remember a sent line (and write the history file). */
void ui_input_remember(struct ui_input *in, const char *line);

/* Lay the text out at width columns: the rows (at most maxrows, scrolled
 * to keep the cursor in view) go to out, the cursor's row and column to
 * *cy, *cx. Returns the number of rows. */
int ui_input_layout(struct ui_input *in, int width, int maxrows, struct ui_lines *out, int *cy, int *cx);

#endif
