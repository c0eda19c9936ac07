/* ui_keys.h: the TUI's key table: each action with its default keys and
 * help, overridable from the config file's [keys] section. Keys are ints:
 * a Unicode character, a curses KEY_* code with UI_KEY_FN, either with
 * UI_KEY_ALT. */
#ifndef PARLEY_UI_KEYS_H
#define PARLEY_UI_KEYS_H

#include <jansson.h>
#include <stddef.h>

#define UI_KEY_FN 0x200000
#define UI_KEY_ALT 0x400000
#define UI_KEY_CTRL(c) ((c)&0x1f)

enum ui_action {
	UI_ACT_NONE,
	UI_ACT_SEND,
	UI_ACT_NEWLINE,
	UI_ACT_STOP,
	UI_ACT_INTERRUPT,
	UI_ACT_EOF,
	UI_ACT_RETRY,
	UI_ACT_VERSION_PREV,
	UI_ACT_VERSION_NEXT,
	UI_ACT_COPY,
	UI_ACT_THINKING,
	UI_ACT_MODELS,
	UI_ACT_SESSIONS,
	UI_ACT_NEW,
	UI_ACT_HELP,
	UI_ACT_EDITOR,
	UI_ACT_PAGE_UP,
	UI_ACT_PAGE_DOWN,
	UI_ACT_TOP,
	UI_ACT_BOTTOM,
	UI_ACT_REDRAW,
	UI_ACT_COMPLETE,
	UI_ACT_HIST_PREV,
	UI_ACT_HIST_NEXT,
	UI_ACT_BOL,
	UI_ACT_EOL,
	UI_ACT_LEFT,
	UI_ACT_RIGHT,
	UI_ACT_WORD_LEFT,
	UI_ACT_WORD_RIGHT,
	UI_ACT_BACKSPACE,
	UI_ACT_DELETE,
	UI_ACT_KILL_EOL,
	UI_ACT_KILL_BOL,
	UI_ACT_KILL_WORD,
	UI_ACT_KILL_WORD_FWD,
	UI_ACT_COUNT
};

struct ui_key_def {
	enum ui_action act;
	const char *name; /* in [keys]: name = C-x M-y F5 */
	const char *keys; /* defaults */
	const char *help;
};
extern const struct ui_key_def ui_keys_table[];
extern const size_t ui_keys_count;

/* Bind the defaults, then the [keys] overrides (object of name -> "keys",
 * may be NULL). Bad entries are skipped and described in *warn (NULL
 * when there were none). */
void ui_keys_init(json_t *overrides, char **warn);
enum ui_action ui_keys_lookup(int key);
/* "C-x", "M-Enter", "F2", "PgUp"... to a key. -1 with *cause. */
int ui_keys_parse(const char *spec, int *key, char **cause);
/* The keys bound to an action now, as written in [keys]. */
const char *ui_keys_bound(enum ui_action act);

#endif
