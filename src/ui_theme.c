/*
 * ui_theme.c: colour roles and theme files.
 *
 * ui_theme_roles[] names every role the screen paints, with its help text;
 * a theme gives each role a foreground, a background (0-255, a colour name
 * or #rrggbb) and attributes. Parsing is plain C over the file text. On the
 * terminal each role becomes colour pair role + 1: as written on a
 * 256-colour terminal, folded to the nearest of the 8 basic colours on
 * smaller ones, and with NO_COLOR (or no colour at all) only the
 * attributes, plus reverse video for the solid bars so they stay visible.
 */
#include "ui_theme.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ui_curses.h"
#include "ui_text.h"
#include "util.h"

#define UI_THEME_MAX (64u << 10)

const struct ui_role_info ui_theme_roles[UI_ROLE_COUNT] = {
	[UI_ROLE_TEXT] = { "text", "message text" },
	[UI_ROLE_DIM] = { "dim", "secondary text: rules, separators, HTML" },
	[UI_ROLE_USER] = { "user", "label of your messages" },
	[UI_ROLE_ASSISTANT] = { "assistant", "label of the model's messages" },
	[UI_ROLE_SYSTEM] = { "system", "system prompt and notices in the transcript" },
	[UI_ROLE_THINKING] = { "thinking", "a reasoning model's thinking" },
	[UI_ROLE_TOOL] = { "tool", "tool calls and results" },
	[UI_ROLE_ERROR] = { "error", "errors" },
	[UI_ROLE_HEADING] = { "heading", "Markdown headings" },
	[UI_ROLE_CODE] = { "code", "inline code" },
	[UI_ROLE_CODEBLOCK] = { "codeblock", "fenced code blocks (the background fills the row)" },
	[UI_ROLE_CODELABEL] = { "codelabel", "the [N] lang label of a code block" },
	[UI_ROLE_QUOTE] = { "quote", "block quotes" },
	[UI_ROLE_LINK] = { "link", "links" },
	[UI_ROLE_BULLET] = { "bullet", "list bullets and numbers" },
	[UI_ROLE_BAR] = { "bar", "the top bar" },
	[UI_ROLE_STATUS] = { "status", "the status line" },
	[UI_ROLE_BORDER] = { "border", "the rule above the input" },
	[UI_ROLE_INPUT] = { "input", "the text you type" },
	[UI_ROLE_HINT] = { "hint", "completion hints" },
	[UI_ROLE_INFO] = { "info", "messages in the message line" },
	[UI_ROLE_WARN] = { "warn", "questions and warnings in the message line" },
	[UI_ROLE_SELECTED] = { "selected", "the selected row of a list" },
	[UI_ROLE_MATCH] = { "match", "search matches" },
	[UI_ROLE_PROGRESS] = { "progress", "progress bars" },
	[UI_ROLE_OVERLAY] = { "overlay", "overlay windows" },
	[UI_ROLE_TITLE] = { "title", "overlay titles" },
};

/* What default.theme says, so a missing file still looks right. */
static const char ui_theme_builtin[] =
    "text = default default\n"
    "dim = 245 default\n"
    "user = 75 default bold\n"
    "assistant = 114 default bold\n"
    "system = 180 default\n"
    "thinking = 244 default italic\n"
    "tool = 179 default\n"
    "error = 203 default bold\n"
    "heading = 215 default bold\n"
    "code = 222 236\n"
    "codeblock = 252 235\n"
    "codelabel = 244 235\n"
    "quote = 248 default italic\n"
    "link = 81 default underline\n"
    "bullet = 75 default\n"
    "bar = 252 237\n"
    "status = 250 236\n"
    "border = 240 default\n"
    "input = default default\n"
    "hint = 242 default\n"
    "info = 114 default\n"
    "warn = 221 default bold\n"
    "selected = 16 75\n"
    "match = 222 default bold\n"
    "progress = 75 default\n"
    "overlay = 252 235\n"
    "title = 231 24 bold\n";

static const char *const ui_theme_names8[] = {
	"black",
	"red",
	"green",
	"yellow",
	"blue",
	"magenta",
	"cyan",
	"white",
};

static void
ui_theme_reset(struct ui_theme *t)
{
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		t->roles[i] = (struct ui_style){ UI_COLOR_DEFAULT, UI_COLOR_DEFAULT, 0, false };
}

void
ui_theme_defaults(struct ui_theme *t)
{
	char *cause = NULL;
	char *name = t->name;

	t->name = NULL;
	ui_theme_reset(t);
	if (ui_theme_parse(t, ui_theme_builtin, &cause) != 0)
		fatal("built-in theme: %s", cause);
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		t->roles[i].set = false;
	t->name = name ? name : xstrdup("default");
}

void
ui_theme_clear(struct ui_theme *t)
{
	free(t->name);
	t->name = NULL;
}

/* The 256-colour index nearest to an RGB value (the 6x6x6 cube or the
 * grey ramp). */
static short
ui_theme_rgb(unsigned r, unsigned g, unsigned b)
{
	static const unsigned steps[6] = { 0, 95, 135, 175, 215, 255 };
	unsigned idx[3], v[3] = { r, g, b }, best, d;
	long cube, grey;
	unsigned gv, gi;

	for (int k = 0; k < 3; k++) {
		best = 0;
		for (unsigned s = 1; s < 6; s++)
			if ((v[k] > steps[s] ? v[k] - steps[s] : steps[s] - v[k]) <
			    (v[k] > steps[best] ? v[k] - steps[best] : steps[best] - v[k]))
				best = s;
		idx[k] = best;
	}
	cube = 0;
	for (int k = 0; k < 3; k++) {
		d = v[k] > steps[idx[k]] ? v[k] - steps[idx[k]] : steps[idx[k]] - v[k];
		cube += (long)d * d;
	}
	gv = (r + g + b) / 3;
	gi = gv < 8 ? 0 : (gv - 8) / 10;
	if (gi > 23)
		gi = 23;
	grey = 0;
	for (int k = 0; k < 3; k++) {
		unsigned gl = 8 + 10 * gi;

		d = v[k] > gl ? v[k] - gl : gl - v[k];
		grey += (long)d * d;
	}
	if (grey < cube)
		return (short)(232 + gi);
	return (short)(16 + 36 * idx[0] + 6 * idx[1] + idx[2]);
}

static int
ui_theme_color(const char *w, short *out)
{
	char *end;
	long n;

	if (strcasecmp(w, "default") == 0 || strcmp(w, "-") == 0) {
		*out = UI_COLOR_DEFAULT;
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(w, ui_theme_names8[i]) == 0) {
			*out = (short)i;
			return 0;
		}
		if (strncasecmp(w, "bright-", 7) == 0 && strcasecmp(w + 7, ui_theme_names8[i]) == 0) {
			*out = (short)(i + 8);
			return 0;
		}
	}
	if (strcasecmp(w, "grey") == 0 || strcasecmp(w, "gray") == 0) {
		*out = 8;
		return 0;
	}
	if (w[0] == '#' && strlen(w) == 7) {
		unsigned long rgb = strtoul(w + 1, &end, 16);

		if (*end != '\0')
			return -1;
		*out = ui_theme_rgb((unsigned)(rgb >> 16) & 255, (unsigned)(rgb >> 8) & 255, (unsigned)rgb & 255);
		return 0;
	}
	n = strtol(w, &end, 10);
	if (*w == '\0' || *end != '\0' || n < 0 || n > 255)
		return -1;
	*out = (short)n;
	return 0;
}

static int
ui_theme_attrword(const char *w, int *attrs)
{
	static const struct {
		const char *name;
		int bit;
	} tbl[] = {
		{ "bold", UI_ATTR_BOLD },
		{ "dim", UI_ATTR_DIM },
		{ "italic", UI_ATTR_ITALIC },
		{ "underline", UI_ATTR_UNDERLINE },
		{ "reverse", UI_ATTR_REVERSE },
		{ "none", 0 },
		{ "normal", 0 },
	};

	for (size_t i = 0; i < sizeof tbl / sizeof tbl[0]; i++) {
		if (strcasecmp(w, tbl[i].name) == 0) {
			*attrs |= tbl[i].bit;
			return 0;
		}
	}
	return -1;
}

static int
ui_theme_line(struct ui_theme *t, char *line, int lineno, char **cause)
{
	char *eq = strchr(line, '='), *name = line, *rest, *w, *save = NULL;
	struct ui_style st = { UI_COLOR_DEFAULT, UI_COLOR_DEFAULT, 0, true };
	int role = -1, nw = 0;
	size_t l;

	if (eq == NULL)
		return util_fail(cause, "line %d: expected 'role = fg bg attributes'", lineno);
	*eq = '\0';
	rest = eq + 1;
	while (*name == ' ' || *name == '\t')
		name++;
	l = strlen(name);
	while (l > 0 && (name[l - 1] == ' ' || name[l - 1] == '\t'))
		name[--l] = '\0';
	for (int i = 0; i < UI_ROLE_COUNT; i++)
		if (strcmp(ui_theme_roles[i].name, name) == 0)
			role = i;
	if (role < 0)
		return util_fail(cause, "line %d: unknown role '%s'", lineno, name);
	for (w = strtok_r(rest, " \t,", &save); w != NULL; w = strtok_r(NULL, " \t,", &save)) {
		short c;

		if (nw < 2 && ui_theme_color(w, &c) == 0) {
			if (nw == 0)
				st.fg = c;
			else
				st.bg = c;
			nw++;
			continue;
		}
		nw = 2; /* attributes follow the colours */
		if (ui_theme_attrword(w, &st.attrs) != 0)
			return util_fail(cause, "line %d: '%s' is not a colour or an attribute", lineno, w);
	}
	t->roles[role] = st;
	return 0;
}

int
ui_theme_parse(struct ui_theme *t, const char *text, char **cause)
{
	const char *p = text;
	int lineno = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n), *s = line, *hash;
		int rc = 0;

		lineno++;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		/* a comment line, or "# ..." after the value; #rrggbb is a colour */
		for (hash = strchr(s, '#'); hash != NULL; hash = strchr(hash + 1, '#'))
			if (hash == s || hash[1] == ' ' || hash[1] == '\0') {
				*hash = '\0';
				break;
			}
		if (*s != '\0' && *s != '\r') {
			size_t l = strlen(s);

			while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' '))
				s[--l] = '\0';
			rc = ui_theme_line(t, s, lineno, cause);
		}
		free(line);
		if (rc != 0)
			return -1;
		p += n;
		if (*p == '\n')
			p++;
	}
	return 0;
}

short
ui_theme_to8(short c)
{
	static const short ansi16[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7 };
	int r, g, b, mx;

	if (c < 0)
		return c;
	if (c < 16)
		return ansi16[c];
	if (c >= 232)
		return c < 244 ? 0 : 7;
	c = (short)(c - 16);
	r = c / 36;
	g = c / 6 % 6;
	b = c % 6;
	mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
	if (mx < 2)
		return 0;
	/* keep the channels near the brightest one */
	return (short)((r >= mx - 1 ? 1 : 0) | (g >= mx - 1 ? 2 : 0) | (b >= mx - 1 ? 4 : 0));
}

/* The directories themes are looked for in, most personal first. */
static size_t
ui_theme_dirs(char dirs[4][PATH_MAX])
{
	char exe[PATH_MAX], *slash, *cfg = util_xdg_dir("CONFIG");
	ssize_t n;
	size_t k = 0;

	snprintf(dirs[k++], PATH_MAX, "%s/themes", cfg);
	free(cfg);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			snprintf(dirs[k++], PATH_MAX, "%.4000s/themes", exe);
			snprintf(dirs[k++], PATH_MAX, "%.4000s/../../themes", exe);
		}
	}
	snprintf(dirs[k++], PATH_MAX, "%s/themes", PARLEY_DATADIR);
	return k;
}

int
ui_theme_load(struct ui_theme *t, const char *name, char **cause)
{
	char dirs[4][PATH_MAX], path[PATH_MAX + 64];
	size_t nd = ui_theme_dirs(dirs);
	char *text = NULL, *why = NULL;
	struct ui_theme tmp = { 0 };

	if (strchr(name, '/') != NULL) {
		text = util_read_file(name, NULL, UI_THEME_MAX, cause);
		if (text == NULL)
			return -1;
	} else {
		for (size_t i = 0; i < nd && text == NULL; i++) {
			snprintf(path, sizeof path, "%s/%s.theme", dirs[i], name);
			if (access(path, R_OK) == 0)
				text = util_read_file(path, NULL, UI_THEME_MAX, &why);
			free(why);
			why = NULL;
		}
		if (text == NULL)
			return util_fail(cause, "no theme '%s' (looked in %s and %s)", name, dirs[0], dirs[nd - 1]);
	}
	ui_theme_defaults(&tmp);
	if (ui_theme_parse(&tmp, text, &why) != 0) {
		util_fail(cause, "theme %s: %s", name, why);
		free(why);
		free(text);
		ui_theme_clear(&tmp);
		return -1;
	}
	free(text);
	free(tmp.name);
	{
		const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		size_t bl = strlen(base);

		if (bl > 6 && strcmp(base + bl - 6, ".theme") == 0)
			bl -= 6;
		tmp.name = xstrndup(base, bl);
	}
	ui_theme_clear(t);
	*t = tmp;
	return 0;
}

static int
ui_theme_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
ui_theme_names(size_t *n)
{
	char dirs[4][PATH_MAX];
	size_t nd = ui_theme_dirs(dirs), k = 0;
	char **v = NULL;

	for (size_t i = 0; i < nd; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);
			bool dup = false;

			if (l <= 6 || strcmp(e->d_name + l - 6, ".theme") != 0)
				continue;
			for (size_t j = 0; j < k; j++)
				if (strncmp(v[j], e->d_name, l - 6) == 0 && v[j][l - 6] == '\0')
					dup = true;
			if (dup)
				continue;
			v = xreallocarray(v, k + 1, sizeof *v);
			v[k++] = xstrndup(e->d_name, l - 6);
		}
		closedir(d);
	}
	if (k > 1)
		qsort(v, k, sizeof *v, ui_theme_cmp);
	*n = k;
	return v;
}

void
ui_theme_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- the terminal side ------------------------------------------------- */

static attr_t ui_theme_role_attr[UI_ROLE_COUNT];

void
ui_theme_apply(const struct ui_theme *t)
{
	bool colour = has_colors() && getenv("NO_COLOR") == NULL;
	bool big = colour && COLORS >= 256;

	if (colour) {
		start_color();
		use_default_colors();
	}
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		const struct ui_style *s = &t->roles[i];
		attr_t a = 0;

		if (s->attrs & UI_ATTR_BOLD)
			a |= A_BOLD;
		if (s->attrs & UI_ATTR_DIM)
			a |= A_DIM;
		if (s->attrs & UI_ATTR_ITALIC)
			a |= A_ITALIC;
		if (s->attrs & UI_ATTR_UNDERLINE)
			a |= A_UNDERLINE;
		if (s->attrs & UI_ATTR_REVERSE)
			a |= A_REVERSE;
		if (colour) {
			short fg = big ? s->fg : ui_theme_to8(s->fg), bg = big ? s->bg : ui_theme_to8(s->bg);

			if (fg == bg && fg >= 0) {
				/* folded onto one colour: keep it readable */
				fg = UI_COLOR_DEFAULT;
				a |= A_REVERSE;
			}
			init_pair((short)(i + 1), fg, bg);
			a |= COLOR_PAIR(i + 1);
		} else if (s->bg != UI_COLOR_DEFAULT &&
		    (i == UI_ROLE_BAR || i == UI_ROLE_STATUS || i == UI_ROLE_SELECTED || i == UI_ROLE_TITLE)) {
			a |= A_REVERSE;
		} else if (i == UI_ROLE_THINKING || i == UI_ROLE_DIM || i == UI_ROLE_HINT) {
			a |= A_DIM;
		}
		ui_theme_role_attr[i] = a;
	}
}

unsigned long
ui_theme_attr(unsigned char style)
{
	attr_t a = ui_theme_role_attr[UI_ST_ROLE(style) < UI_ROLE_COUNT ? UI_ST_ROLE(style) : 0];

	if (style & UI_ST_BOLD)
		a |= A_BOLD;
	if (style & UI_ST_ITALIC)
		a |= A_ITALIC;
	if (style & UI_ST_UNDER)
		a |= A_UNDERLINE;
	return a;
}
