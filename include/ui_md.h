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

/* A reply that is still streaming, laid out as it grows at a cost that
 * follows the new text, not the whole: the rows go in three lists the
 * caller keeps. body: finished blocks, through md4c, appended to. tail:
 * the whole lines after them, through the light renderer, appended to
 * (and emptied when their blocks move to the body). peek: the unfinished
 * line, laid out again on each update. Each call takes the whole text so
 * far, of which what an earlier call saw must be unchanged. */
struct ui_md_stream;
struct ui_md_stream *ui_md_stream_new(int width, int code_base);
void ui_md_stream_update(struct ui_md_stream *s, const char *text, size_t len, struct ui_lines *body,
    struct ui_lines *tail, struct ui_lines *peek);
/* The text is complete: body gets what ui_md_render gives for all of it,
 * tail and peek are emptied. Then only ui_md_stream_free. */
void ui_md_stream_end(struct ui_md_stream *s, const char *text, size_t len, struct ui_lines *body,
    struct ui_lines *tail, struct ui_lines *peek);
/* The bytes of text laid out in the body so far. */
size_t ui_md_stream_stable(const struct ui_md_stream *s);
void ui_md_stream_free(struct ui_md_stream *s);

#endif
