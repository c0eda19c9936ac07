/*
 * ui_keys.c: the key table.
 *
 * ui_keys_table[] is the single source for the bindings, the help overlay
 * and the documentation: action, name in the [keys] section, default keys,
 * help. At start the defaults are bound, then each [keys] entry replaces
 * its action's keys. Bindings are a small array searched linearly: there
 * are a few dozen and a key press is rare.
 */
#include "ui_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "ui_curses.h"
#include "util.h"

const struct ui_key_def ui_keys_table[] = {
	{ UI_ACT_SEND, "send", "Enter", "send the message (or run the /command)" },
	{ UI_ACT_NEWLINE, "newline", "C-j M-Enter", "insert a newline" },
	{ UI_ACT_STOP, "stop", "Esc", "stop the reply (keeps the partial text); close an overlay; dismiss a message" },
	{ UI_ACT_INTERRUPT, "interrupt", "C-c", "stop the reply; when idle, press twice within 2 s to quit" },
	{ UI_ACT_EOF, "eof", "C-d", "quit on empty input, else delete the next character" },
	{ UI_ACT_RETRY, "retry", "C-r", "regenerate the last reply (/retry); the old one stays as another version" },
	{ UI_ACT_VERSION_PREV, "version-prev", "M-<", "show the previous version (‹2/3›) of the newest message that has several" },
	{ UI_ACT_VERSION_NEXT, "version-next", "M->", "show its next version" },
	{ UI_ACT_COPY, "copy", "C-y", "copy the last reply to the clipboard (OSC 52)" },
	{ UI_ACT_THINKING, "thinking", "C-t", "show or hide thinking" },
	{ UI_ACT_MODELS, "models", "C-p F2", "model picker" },
	{ UI_ACT_SESSIONS, "sessions", "C-o F3", "sessions" },
	{ UI_ACT_NEW, "new", "C-n", "new session" },
	{ UI_ACT_HELP, "help", "F1", "keys and commands" },
	{ UI_ACT_EDITOR, "editor", "C-g", "edit the input in $EDITOR" },
	{ UI_ACT_PAGE_UP, "page-up", "PgUp", "scroll the transcript up" },
	{ UI_ACT_PAGE_DOWN, "page-down", "PgDn", "scroll the transcript down" },
	{ UI_ACT_TOP, "top", "Home", "go to the start of the transcript" },
	{ UI_ACT_BOTTOM, "bottom", "End", "go to the end and follow the reply" },
	{ UI_ACT_REDRAW, "redraw", "C-l", "redraw the screen" },
	{ UI_ACT_COMPLETE, "complete", "Tab", "complete a /command" },
	{ UI_ACT_HIST_PREV, "history-prev", "Up", "previous input (on the first line), else line up" },
	{ UI_ACT_HIST_NEXT, "history-next", "Down", "next input (on the last line), else line down" },
	{ UI_ACT_BOL, "line-start", "C-a", "start of the line" },
	{ UI_ACT_EOL, "line-end", "C-e", "end of the line" },
	{ UI_ACT_LEFT, "left", "Left C-b", "character left" },
	{ UI_ACT_RIGHT, "right", "Right C-f", "character right" },
	{ UI_ACT_WORD_LEFT, "word-left", "M-b", "word left" },
	{ UI_ACT_WORD_RIGHT, "word-right", "M-f", "word right" },
	{ UI_ACT_BACKSPACE, "backspace", "Backspace C-h", "delete the previous character" },
	{ UI_ACT_DELETE, "delete", "Delete", "delete the next character" },
	{ UI_ACT_KILL_EOL, "kill-line", "C-k", "delete to the end of the line" },
	{ UI_ACT_KILL_BOL, "kill-line-start", "C-u", "delete to the start of the line" },
	{ UI_ACT_KILL_WORD, "kill-word-back", "C-w M-Backspace", "delete the previous word" },
	{ UI_ACT_KILL_WORD_FWD, "kill-word", "M-d", "delete the next word" },
};
const size_t ui_keys_count = sizeof ui_keys_table / sizeof ui_keys_table[0];

#define UI_KEYS_MAX 128

static struct {
	int key;
	enum ui_action act;
} ui_keys_bind[UI_KEYS_MAX];
static size_t ui_keys_nbind;
static char *ui_keys_text[UI_ACT_COUNT];

static const struct {
	const char *name;
	int key;
} ui_keys_names[] = {
	{ "Enter", 13 },
	{ "Return", 13 },
	{ "Esc", 27 },
	{ "Escape", 27 },
	{ "Tab", 9 },
	{ "Space", ' ' },
	{ "Backspace", UI_KEY_FN | KEY_BACKSPACE },
	{ "BS", UI_KEY_FN | KEY_BACKSPACE },
	{ "Delete", UI_KEY_FN | KEY_DC },
	{ "Del", UI_KEY_FN | KEY_DC },
	{ "Insert", UI_KEY_FN | KEY_IC },
	{ "Up", UI_KEY_FN | KEY_UP },
	{ "Down", UI_KEY_FN | KEY_DOWN },
	{ "Left", UI_KEY_FN | KEY_LEFT },
	{ "Right", UI_KEY_FN | KEY_RIGHT },
	{ "Home", UI_KEY_FN | KEY_HOME },
	{ "End", UI_KEY_FN | KEY_END },
	{ "PgUp", UI_KEY_FN | KEY_PPAGE },
	{ "PageUp", UI_KEY_FN | KEY_PPAGE },
	{ "PgDn", UI_KEY_FN | KEY_NPAGE },
	{ "PageDown", UI_KEY_FN | KEY_NPAGE },
	{ "BTab", UI_KEY_FN | KEY_BTAB },
};

int
ui_keys_parse(const char *spec, int *key, char **cause)
{
	const char *s = spec;
	int mods = 0, k = -1;
	bool ctrl = false;

	for (;;) {
		if (strncasecmp(s, "C-", 2) == 0 && s[2] != '\0') {
			ctrl = true;
			s += 2;
		} else if (strncasecmp(s, "M-", 2) == 0 && s[2] != '\0') {
			mods |= UI_KEY_ALT;
			s += 2;
		} else
			break;
	}
	for (size_t i = 0; i < sizeof ui_keys_names / sizeof ui_keys_names[0]; i++)
		if (strcasecmp(s, ui_keys_names[i].name) == 0)
			k = ui_keys_names[i].key;
	if (k < 0 && (s[0] == 'F' || s[0] == 'f') && s[1] >= '1' && s[1] <= '9') {
		int n = atoi(s + 1);

		if (n >= 1 && n <= 12)
			k = UI_KEY_FN | KEY_F(n);
	}
	if (k < 0 && s[0] != '\0' && s[1] == '\0' && (unsigned char)s[0] > ' ' && (unsigned char)s[0] < 0x7f)
		k = (unsigned char)s[0];
	if (k < 0)
		return util_fail(cause, "'%s' is not a key (try C-x, M-x, F1, Enter, PgUp)", spec);
	if (ctrl) {
		if (k >= 'a' && k <= 'z')
			k = UI_KEY_CTRL(k);
		else if ((k >= '@' && k <= '_') || k == ' ')
			k = k == ' ' ? 0 : UI_KEY_CTRL(k);
		else
			return util_fail(cause, "'%s': Control works with letters only", spec);
	}
	*key = k | mods;
	return 0;
}

static void
ui_keys_set(enum ui_action act, const char *spec, struct buf *warn)
{
	char *copy = xstrdup(spec), *w, *save = NULL, *cause = NULL;
	struct buf text = { 0 };

	/* drop the action's old keys */
	for (size_t i = 0; i < ui_keys_nbind;) {
		if (ui_keys_bind[i].act == act)
			ui_keys_bind[i] = ui_keys_bind[--ui_keys_nbind];
		else
			i++;
	}
	for (w = strtok_r(copy, " ,", &save); w != NULL; w = strtok_r(NULL, " ,", &save)) {
		int key;

		if (ui_keys_parse(w, &key, &cause) != 0) {
			buf_printf(warn, "%s[keys] %s", warn->len ? "; " : "", cause);
			free(cause);
			cause = NULL;
			continue;
		}
		/* a key moved to this action leaves its old one */
		for (size_t i = 0; i < ui_keys_nbind; i++)
			if (ui_keys_bind[i].key == key)
				ui_keys_bind[i] = ui_keys_bind[--ui_keys_nbind];
		if (ui_keys_nbind < UI_KEYS_MAX) {
			ui_keys_bind[ui_keys_nbind].key = key;
			ui_keys_bind[ui_keys_nbind++].act = act;
		}
		buf_printf(&text, "%s%s", text.len ? " " : "", w);
	}
	free(ui_keys_text[act]);
	ui_keys_text[act] = buf_steal(&text);
	if (ui_keys_text[act] == NULL)
		ui_keys_text[act] = xstrdup("");
	free(copy);
}

void
ui_keys_init(json_t *overrides, char **warn)
{
	struct buf w = { 0 };
	const char *k;
	json_t *v;

	ui_keys_nbind = 0;
	for (size_t i = 0; i < ui_keys_count; i++)
		ui_keys_set(ui_keys_table[i].act, ui_keys_table[i].keys, &w);
	json_object_foreach(overrides, k, v)
	{
		size_t i;

		for (i = 0; i < ui_keys_count; i++)
			if (strcmp(ui_keys_table[i].name, k) == 0)
				break;
		if (i == ui_keys_count || !json_is_string(v)) {
			buf_printf(&w, "%s[keys] unknown action '%s'", w.len ? "; " : "", k);
			continue;
		}
		ui_keys_set(ui_keys_table[i].act, json_string_value(v), &w);
	}
	*warn = buf_steal(&w);
}

enum ui_action
ui_keys_lookup(int key)
{
	for (size_t i = 0; i < ui_keys_nbind; i++)
		if (ui_keys_bind[i].key == key)
			return ui_keys_bind[i].act;
	return UI_ACT_NONE;
}

const char *
ui_keys_bound(enum ui_action act)
{
	return act < UI_ACT_COUNT && ui_keys_text[act] ? ui_keys_text[act] : "";
}
