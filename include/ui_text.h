/* ui_text.h: display text for the TUI, free of curses so it can be tested:
 * UTF-8 cells and their widths, styled display lines, and word wrapping of
 * styled paragraphs with CJK and emoji measured correctly. */
#ifndef PARLEY_UI_TEXT_H
#define PARLEY_UI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A style byte: a colour role (ui_theme.h) in the low bits, markup on top. */
#define UI_ST_ROLE(s) ((s)&0x1f)
#define UI_ST_BOLD 0x20
#define UI_ST_ITALIC 0x40
#define UI_ST_UNDER 0x80

/* One screen row: UTF-8 text (sanitised: no control characters) with one
 * style byte per text byte; fill is the role the rest of the row is
 * painted with (code blocks), 0 for none. */
struct ui_line {
	char *text;
	unsigned char *style;
	size_t len;
	int width; /* columns used */
	unsigned char fill;
};

/* A growing list of lines, with the code blocks met while building it
 * (their raw text, for /copy N). */
struct ui_lines {
	struct ui_line *v;
	size_t n, cap;
	char **codes;
	size_t ncodes;
};

void ui_lines_clear(struct ui_lines *l); /* frees everything, keeps l usable */
/* Append a copy of a ready line (no wrapping; cut at width). */
void ui_lines_add(struct ui_lines *l, const char *text, const unsigned char *style, size_t len, unsigned char fill);
/* Append text in one style, cut at width columns. */
void ui_lines_add_str(struct ui_lines *l, const char *text, unsigned char style, int width);
void ui_lines_add_code(struct ui_lines *l, const char *code, size_t len);

/* Decode one character at s[0..len): its length in bytes (at least 1) and
 * its display width (0 for combining marks; control characters and bad
 * bytes count as one replacement cell). */
/* The UTF-8 bytes of a typed character into out[8]; 0 if it has none. */
size_t ui_text_key(int key, char *out);
size_t ui_text_char(const char *s, size_t len, int *width);
/* Columns of a UTF-8 string. */
int ui_text_width(const char *s, size_t len);
/* Bytes of s that fit in cols columns (never splitting a character). */
size_t ui_text_fit(const char *s, size_t len, int cols);
/* The longest prefix of s[0..len) that does not end inside a UTF-8
 * character (a growing text's whole characters). */
size_t ui_text_whole(const char *s, size_t len);

/* Word-wrap one styled paragraph to width columns and append the rows.
 * '\n' in text is a hard break. The first row starts with pfx1, later
 * rows with pfx2 (both in style pfx_style; may be NULL). hard: break
 * anywhere (code), not at spaces. fill: see struct ui_line. Tabs become
 * spaces; control characters and invalid bytes become U+FFFD. */
struct ui_para {
	const char *text;
	const unsigned char *style; /* NULL: all pfx_style */
	size_t len;
	const char *pfx1, *pfx2;
	unsigned char pfx_style;
	bool hard;
	unsigned char fill;
};
void ui_text_wrap(struct ui_lines *out, const struct ui_para *p, int width);

/* The same wrapping for a paragraph that arrives in pieces: ui_wrap_feed
 * appends to out the rows that no further text can change, ui_wrap_end
 * the last one (after it, only ui_wrap_free). Fed in any pieces that do
 * not split a character, the rows are those of ui_text_wrap on the whole.
 * The wrapper keeps only the unfinished row, so ui_wrap_dup is cheap: lay
 * out a copy to show the paragraph as it stands. */
struct ui_wrap;
struct ui_wrap *ui_wrap_new(const struct ui_para *p, int width); /* p's text unused */
struct ui_wrap *ui_wrap_dup(const struct ui_wrap *w);
void ui_wrap_feed(struct ui_wrap *w, struct ui_lines *out, const char *text, const unsigned char *style, size_t len);
void ui_wrap_end(struct ui_wrap *w, struct ui_lines *out);
void ui_wrap_free(struct ui_wrap *w);

#endif
