/* ui_theme.h: colour roles and theme files. A theme is a plain file of
 * "role = fg bg attrs" lines (the themes directory); parsing is free of curses
 * and tested alone, applying it to the terminal lives in ui_theme.c too. */
#ifndef PARLEY_UI_THEME_H
#define PARLEY_UI_THEME_H

#include <stdbool.h>
#include <stddef.h>

/* Every colour role the screen uses. Order matches ui_theme_roles[]. */
enum ui_role {
	UI_ROLE_TEXT,
	UI_ROLE_DIM,
	UI_ROLE_USER,
	UI_ROLE_ASSISTANT,
	UI_ROLE_SYSTEM,
	UI_ROLE_THINKING,
	UI_ROLE_TOOL,
	UI_ROLE_ERROR,
	UI_ROLE_HEADING,
	UI_ROLE_CODE,
	UI_ROLE_CODEBLOCK,
	UI_ROLE_CODELABEL,
	UI_ROLE_QUOTE,
	UI_ROLE_LINK,
	UI_ROLE_BULLET,
	UI_ROLE_BAR,
	UI_ROLE_STATUS,
	UI_ROLE_BORDER,
	UI_ROLE_INPUT,
	UI_ROLE_HINT,
	UI_ROLE_INFO,
	UI_ROLE_WARN,
	UI_ROLE_SELECTED,
	UI_ROLE_MATCH,
	UI_ROLE_PROGRESS,
	UI_ROLE_OVERLAY,
	UI_ROLE_TITLE,
	UI_ROLE_COUNT
};

struct ui_role_info {
	const char *name;
	const char *help;
};
extern const struct ui_role_info ui_theme_roles[UI_ROLE_COUNT];

#define UI_COLOR_DEFAULT (-1)

#define UI_ATTR_BOLD 1
#define UI_ATTR_DIM 2
#define UI_ATTR_ITALIC 4
#define UI_ATTR_UNDERLINE 8
#define UI_ATTR_REVERSE 16

struct ui_style {
	short fg, bg; /* 0-255, or UI_COLOR_DEFAULT */
	int attrs; /* UI_ATTR_* */
	bool set; /* named in the theme */
};

struct ui_theme {
	char *name;
	struct ui_style roles[UI_ROLE_COUNT];
};

/* Parse theme text (roles not named keep the built-in defaults). Unknown
 * roles, colours or attributes are errors naming the line. */
int ui_theme_parse(struct ui_theme *t, const char *text, char **cause);
/* The built-in defaults (what default.theme also says). */
void ui_theme_defaults(struct ui_theme *t);
/* The nearest of the 8 basic colours for a 256-colour index. */
short ui_theme_to8(short c);
/* Find NAME: a path, or NAME.theme in the user's theme directory, beside
 * the binary (a source tree), then the installed data directory. Loads it
 * into t (defaults first). */
int ui_theme_load(struct ui_theme *t, const char *name, char **cause);
/* Theme names found in every directory, sorted, without duplicates;
 * free with ui_theme_names_free. */
char **ui_theme_names(size_t *n);
void ui_theme_names_free(char **v, size_t n);
void ui_theme_clear(struct ui_theme *t);

/* Curses side: make the colour pairs for t on this terminal (256, 8 or no
 * colours; NO_COLOR forces none), and the attribute of each role. */
void ui_theme_apply(const struct ui_theme *t);
/* Attributes (curses attr_t with the pair) for a style byte. */
unsigned long ui_theme_attr(unsigned char style);

#endif
