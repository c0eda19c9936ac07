/* ui_md.h: Markdown to styled rows for the transcript, free of curses.
 * Finished text goes through md4c; the tail of a reply that is still
 * streaming goes through a light line-based renderer, so a new token never
 * re-parses the whole message. */
#ifndef PARLEY_UI_MD_H
#define PARLEY_UI_MD_H

#include <stddef.h>

#include "ui_text.h"

/* Render text at width columns and append the rows to out; fenced code
 * blocks are numbered from code_base and their text kept in out->codes. */
void ui_md_render(struct ui_lines *out, const char *text, size_t len, int width, int code_base);
/* The light renderer: same output shape, one pass over lines. */
void ui_md_light(struct ui_lines *out, const char *text, size_t len, int width, int code_base);
/* How much of a growing text is made of finished blocks: the offset just
 * past the last blank line that is outside a code fence (0 if none). */
size_t ui_md_stable(const char *text, size_t len);

#endif
