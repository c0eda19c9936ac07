/*
 * cmd_sessions.c: `parley sessions`, the session store from the command
 * line: list, show, rename, rm, export, import and search. Each subcommand
 * is one function in cmd_sessions_table; they share one option parser
 * (--json, --format, -o, -n, wherever they appear after the subcommand) and
 * one open store. Output for people is an aligned table or a plain
 * transcript; --json gives the same data to scripts (show and export use the
 * store's export format).
 */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "reltime.h"
#include "store.h"
#include "tree.h"
#include "util.h"

#define CMD_SESSIONS_TITLE_COLS 48
#define CMD_SESSIONS_IMPORT_MAX (256 * 1024 * 1024)

struct cmd_sessions_args {
	bool json;
	bool tree; /* show: every branch */
	const char *format; /* export: md or json */
	const char *output; /* export: -o FILE */
	long limit; /* -n N; 0 = the command's default */
	char **words; /* positional words after the subcommand */
	int nwords;
};

struct cmd_sessions_cmd {
	const char *name;
	const char *alias;
	const char *usage;
	int min, max; /* positional words; -1 = no limit */
	int (*fn)(struct store *, struct cmd_sessions_args *);
};

static int cmd_sessions_list(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_show(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_rename(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_rm(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_export(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_import(struct store *, struct cmd_sessions_args *);
static int cmd_sessions_search(struct store *, struct cmd_sessions_args *);

static const struct cmd_sessions_cmd cmd_sessions_table[] = {
	{ "list", "ls", "list [--json] [-n N] [FILTER]", 0, -1, cmd_sessions_list },
	{ "show", NULL, "show ID [--tree] [--json]", 1, 1, cmd_sessions_show },
	{ "rename", NULL, "rename ID TITLE...", 2, -1, cmd_sessions_rename },
	{ "rm", "delete", "rm ID", 1, 1, cmd_sessions_rm },
	{ "export", NULL, "export ID [--format md|json] [-o FILE]", 1, 1, cmd_sessions_export },
	{ "import", NULL, "import FILE|-", 1, 1, cmd_sessions_import },
	{ "search", NULL, "search TEXT... [--json] [-n N]", 1, -1, cmd_sessions_search },
};

static void
cmd_sessions_usage(const struct cmd_sessions_cmd *c)
{
	fputs("usage: parley sessions ", stderr);
	if (c != NULL) {
		fprintf(stderr, "%s\n", c->usage);
		return;
	}
	fputc('[', stderr);
	for (size_t i = 0; i < sizeof cmd_sessions_table / sizeof cmd_sessions_table[0]; i++)
		fprintf(stderr, "%s%s", i ? " | " : "", cmd_sessions_table[i].usage);
	fputs("]\n", stderr);
}

static int
cmd_sessions_error(const char *fmt, ...) PRINTFLIKE(1, 2);

static int
cmd_sessions_error(const char *fmt, ...)
{
	va_list ap;

	fputs("parley: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Print a cause from the store and free it. */
static int
cmd_sessions_cause(char *cause)
{
	cmd_sessions_error("%s", cause ? cause : "session store error");
	free(cause);
	return 1;
}

/* Options may come anywhere after the subcommand; "--" ends them. */
static int
cmd_sessions_parse(int argc, char **argv, struct cmd_sessions_args *a)
{
	bool opts = true;

	a->words = xcalloc((size_t)argc + 1, sizeof *a->words);
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i], *val = NULL;

		if (!opts || s[0] != '-' || s[1] == '\0') {
			a->words[a->nwords++] = argv[i];
			continue;
		}
		if (strcmp(s, "--") == 0) {
			opts = false;
			continue;
		}
		if (strcmp(s, "--json") == 0) {
			a->json = true;
			continue;
		}
		if (strcmp(s, "--tree") == 0) {
			a->tree = true;
			continue;
		}
		if (strcmp(s, "--format") == 0 || strcmp(s, "-o") == 0 ||
		    strcmp(s, "--output") == 0 || strcmp(s, "-n") == 0 ||
		    strcmp(s, "--limit") == 0) {
			if (i + 1 >= argc) {
				cmd_sessions_error("%s needs a value", s);
				return -1;
			}
			val = argv[++i];
		} else if (util_prefix(s, "--format=") || util_prefix(s, "--output=") ||
		    util_prefix(s, "--limit=")) {
			val = strchr(s, '=') + 1;
		} else {
			cmd_sessions_error("unknown option %s", s);
			return -1;
		}
		if (util_prefix(s, "--format"))
			a->format = val;
		else if (s[1] == 'o' || util_prefix(s, "--output"))
			a->output = val;
		else {
			char *end;

			errno = 0;
			a->limit = strtol(val, &end, 10);
			if (errno != 0 || *end != '\0' || end == val || a->limit <= 0) {
				cmd_sessions_error("%s wants a positive number, not '%s'", s, val);
				return -1;
			}
		}
	}
	return 0;
}

/* The words from i on, joined by single spaces. */
static char *
cmd_sessions_join(struct cmd_sessions_args *a, int i)
{
	struct buf b = { 0 };

	for (; i < a->nwords; i++) {
		if (b.len > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, a->words[i]);
	}
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

/* Resolve what a person typed to one session; prints the error. */
static struct store_session *
cmd_sessions_find(struct store *st, const char *key)
{
	struct store_session *s = NULL;
	char *cause = NULL;

	switch (store_session_find(st, key, &s, &cause)) {
	case 0:
		return s;
	case 1:
		cmd_sessions_error("no session matches '%s'", key);
		return NULL;
	default:
		cmd_sessions_cause(cause);
		return NULL;
	}
}

static int
cmd_sessions_print_json(json_t *v)
{
	int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	fputc('\n', stdout);
	return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */
/* Text layout */

/* Columns a code point takes on a terminal: wide East Asian and emoji are
 * two, combining marks none. Enough for aligning titles. */
static int
cmd_sessions_cp_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ||
	    (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* Decode one UTF-8 sequence at s (a stray byte counts as one column). */
static size_t
cmd_sessions_cp(const char *s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 1;

	if (*p >= 0xf0 && p[1] && p[2] && p[3]) {
		*cp = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		n = 4;
	} else if (*p >= 0xe0 && p[1] && p[2]) {
		*cp = (uint32_t)(*p & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
		    (p[2] & 0x3f);
		n = 3;
	} else if (*p >= 0xc0 && p[1]) {
		*cp = (uint32_t)(*p & 0x1f) << 6 | (p[1] & 0x3f);
		n = 2;
	} else
		*cp = *p;
	return n;
}

/* s cut to at most cols columns (with "…" when cut) on one line; *width
 * gets the columns used. */
static char *
cmd_sessions_fit(const char *s, int cols, int *width)
{
	struct buf b = { 0 };
	int w = 0, total = 0;
	const char *p;
	uint32_t cp;

	for (p = s; *p != '\0';)
		p += cmd_sessions_cp(p, &cp), total += cmd_sessions_cp_width(cp);
	for (p = s; *p != '\0';) {
		size_t n = cmd_sessions_cp(p, &cp);
		int cw = cmd_sessions_cp_width(cp);

		if (total > cols && w + cw > cols - 1) {
			buf_puts(&b, "…");
			w++;
			break;
		}
		if (cp < 0x20 || cp == 0x7f)
			buf_putc(&b, ' ');
		else
			buf_append(&b, p, n);
		w += cw;
		p += n;
	}
	*width = w;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

static void
cmd_sessions_pad(const char *s, int width, int cols)
{
	fputs(s, stdout);
	for (; width < cols; width++)
		fputc(' ', stdout);
}

/* "just now", "5m ago", ... for the last week, then a local date. */
static void
cmd_sessions_when(int64_t ms, char *out, size_t len)
{
	reltime(out, len, ms, util_wall_ms(), RELTIME_SHORT);
}

static void
cmd_sessions_local_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, len, "?");
}

static bool
cmd_sessions_styled(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');
}

/* ---------------------------------------------------------------------- */
/* Subcommands */

static int
cmd_sessions_list(struct store *st, struct cmd_sessions_args *a)
{
	struct store_session **v;
	size_t n;
	char *cause = NULL, *filter;
	int wtitle = 5, wmodel = 5;

	/* FILTER may be several words: they are matched as one phrase. */
	filter = a->nwords > 0 ? cmd_sessions_join(a, 0) : NULL;
	if (store_session_list(st, filter, (size_t)a->limit, &v, &n, &cause) != 0) {
		free(filter);
		return cmd_sessions_cause(cause);
	}
	free(filter);
	if (a->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", v[i]->id, "title", v[i]->title, "provider", v[i]->provider, "model", v[i]->model, "origin", v[i]->origin, "messages", (json_int_t)v[i]->nmessages, "created", (json_int_t)v[i]->created, "updated", (json_int_t)v[i]->updated));
		cmd_sessions_print_json(arr);
		json_decref(arr);
		store_sessions_free(v, n);
		return 0;
	}
	if (n == 0) {
		if (isatty(STDOUT_FILENO))
			fputs(a->nwords > 0 ? "no sessions match\n" : "no sessions yet\n", stderr);
		store_sessions_free(v, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		int w;
		char *t;

		t = cmd_sessions_fit(*v[i]->title ? v[i]->title : "(untitled)",
		    CMD_SESSIONS_TITLE_COLS, &w);
		wtitle = w > wtitle ? w : wtitle;
		free(t);
		t = cmd_sessions_fit(v[i]->model, 24, &w);
		wmodel = w > wmodel ? w : wmodel;
		free(t);
	}
	printf("%-8s  ", "ID");
	cmd_sessions_pad("TITLE", 5, wtitle);
	fputs("  ", stdout);
	cmd_sessions_pad("MODEL", 5, wmodel);
	printf("  %5s  %s\n", "MSGS", "UPDATED");
	for (size_t i = 0; i < n; i++) {
		char when[32], *t;
		int w;

		printf("%-8s  ", v[i]->id);
		t = cmd_sessions_fit(*v[i]->title ? v[i]->title : "(untitled)",
		    CMD_SESSIONS_TITLE_COLS, &w);
		cmd_sessions_pad(t, w, wtitle);
		free(t);
		fputs("  ", stdout);
		t = cmd_sessions_fit(v[i]->model, 24, &w);
		cmd_sessions_pad(t, w, wmodel);
		free(t);
		cmd_sessions_when(v[i]->updated, when, sizeof when);
		printf("  %5lld  %s\n", (long long)v[i]->nmessages, when);
	}
	store_sessions_free(v, n);
	return 0;
}

/* Stats of a reply on one line, or nothing when none are known. */
static void
cmd_sessions_stats(const struct store_msg *m, struct buf *b)
{
	const char *est = m->estimated ? "~" : "";

	if (m->prompt_tokens >= 0 || m->reply_tokens >= 0) {
		buf_printf(b, "%s%lld prompt + %s%lld reply tokens", est,
		    (long long)(m->prompt_tokens > 0 ? m->prompt_tokens : 0), est,
		    (long long)(m->reply_tokens > 0 ? m->reply_tokens : 0));
	}
	if (m->eval_ns > 0 && m->reply_tokens > 0)
		buf_printf(b, "%s%.1f tok/s", b->len ? " · " : "",
		    (double)m->reply_tokens * 1e9 / (double)m->eval_ns);
	if (m->ttft_ms >= 0)
		buf_printf(b, "%sfirst token %lld ms", b->len ? " · " : "",
		    (long long)m->ttft_ms);
}

static void
cmd_sessions_indent(const char *prefix, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		printf("%s%.*s\n", prefix, (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* " ‹2/3›" when message id has siblings in the tree, else "". */
static void
cmd_sessions_version(const struct store_node *t, size_t nt, int64_t id, char *out, size_t len)
{
	size_t pos, count = tree_siblings(t, nt, id, &pos);

	if (count > 1)
		snprintf(out, len, " \xe2\x80\xb9%zu/%zu\xe2\x80\xba", pos + 1, count);
	else
		out[0] = '\0';
}

/* Every branch: one line a message, children indented under their
 * parent, the branch on show marked with '*'. */
static void
cmd_sessions_tree(const struct store_node *t, size_t nt, int64_t head, struct store_msg *const *all, size_t nall,
    const char *dim, const char *red, const char *off)
{
	size_t *depth = xcalloc(nt ? nt : 1, sizeof *depth), *order = xcalloc(nt ? nt : 1, sizeof *order), k = 0;
	size_t *stack = xcalloc(nt ? nt : 1, sizeof *stack), top = 0;

	/* depth-first, children oldest first: push the roots, newest last */
	for (size_t i = nt; i-- > 0;)
		if (t[i].parent <= 0 || tree_find(t, nt, t[i].parent) == nt)
			stack[top++] = i;
	while (top > 0) {
		size_t i = stack[--top];

		order[k++] = i;
		for (size_t c = nt; c-- > i + 1;)
			if (t[c].parent == t[i].id) {
				depth[c] = depth[i] + 1;
				stack[top++] = c;
			}
	}
	for (size_t j = 0; j < k; j++) {
		const struct store_node *nd = &t[order[j]];
		const struct store_msg *m = nall == nt ? all[order[j]] : NULL;
		bool on = tree_on_path(t, nt, head, nd->id);
		char ver[32];

		cmd_sessions_version(t, nt, nd->id, ver, sizeof ver);
		printf("%c %*s%s%s%s%s: %s", on ? '*' : ' ', (int)(2 * depth[order[j]]), "", on ? "" : dim, nd->role, ver,
		    on ? "" : off, nd->preview[0] ? nd->preview : "(empty)");
		if (m != NULL && m->state == STORE_INTERRUPTED)
			printf(" %s[interrupted]%s", red, off);
		else if (m != NULL && m->state == STORE_ERROR)
			printf(" %s[error: %s]%s", red, m->error ? m->error : "unknown", off);
		putchar('\n');
	}
	free(depth);
	free(order);
	free(stack);
}

static int
cmd_sessions_show(struct store *st, struct cmd_sessions_args *a)
{
	struct store_session *s;
	struct store_msg **v = NULL;
	struct store_node *t = NULL;
	char *cause = NULL, when[32];
	bool styled = cmd_sessions_styled();
	const char *bold = styled ? "\033[1m" : "", *dim = styled ? "\033[2m" : "",
	           *red = styled ? "\033[1;31m" : "", *off = styled ? "\033[0m" : "";
	size_t n = 0, nt = 0;

	if ((s = cmd_sessions_find(st, a->words[0])) == NULL)
		return 1;
	if (a->json) {
		json_t *doc;

		if (store_export_json(st, s->id, &doc, &cause) != 0) {
			store_session_free(s);
			return cmd_sessions_cause(cause);
		}
		cmd_sessions_print_json(doc);
		json_decref(doc);
		store_session_free(s);
		return 0;
	}
	if (store_messages(st, s->id, &v, &n, &cause) != 0 || store_tree(st, s->id, &t, &nt, &cause) != 0) {
		store_msgs_free(v, n);
		store_session_free(s);
		return cmd_sessions_cause(cause);
	}
	if (a->tree) {
		struct store_msg **all = NULL;
		size_t nall = 0;

		if (store_messages_all(st, s->id, &all, &nall, &cause) != 0) {
			store_msgs_free(v, n);
			store_tree_free(t, nt);
			store_session_free(s);
			return cmd_sessions_cause(cause);
		}
		printf("%s%s%s\n", bold, *s->title ? s->title : "(untitled)", off);
		printf("%ssession %s · %zu message%s on the branch on show (*), %zu in all%s\n", dim, s->id, n,
		    n == 1 ? "" : "s", nt, off);
		cmd_sessions_tree(t, nt, n > 0 ? v[n - 1]->id : 0, all, nall, dim, red, off);
		store_msgs_free(all, nall);
		store_msgs_free(v, n);
		store_tree_free(t, nt);
		store_session_free(s);
		return 0;
	}
	cmd_sessions_local_time(s->created, when, sizeof when);
	printf("%s%s%s\n", bold, *s->title ? s->title : "(untitled)", off);
	printf("%ssession %s", dim, s->id);
	if (*s->model)
		printf(" · %s", s->model);
	if (*s->provider)
		printf(" · %s", s->provider);
	printf(" · %s · %zu message%s%s\n", when, n, n == 1 ? "" : "s", off);
	if (s->system != NULL && *s->system) {
		printf("\n%s── system ──%s\n", bold, off);
		cmd_sessions_indent("", s->system);
	}
	for (size_t i = 0; i < n; i++) {
		struct store_msg *m = v[i];
		struct buf stats = { 0 };
		char ver[32];

		cmd_sessions_version(t, nt, m->id, ver, sizeof ver);
		printf("\n%s── %s%s", bold, m->role, ver);
		if (strcmp(m->role, "assistant") == 0 && m->model != NULL && *m->model)
			printf(" · %s", m->model);
		if (strcmp(m->role, "tool") == 0 && m->tool_name != NULL)
			printf(" · %s", m->tool_name);
		printf(" ──%s\n", off);
		if (m->thinking != NULL && *m->thinking) {
			fputs(dim, stdout);
			cmd_sessions_indent("│ ", m->thinking);
			fputs(off, stdout);
		}
		if (*m->content)
			cmd_sessions_indent("", m->content);
		if (m->tool_calls != NULL)
			printf("%stool calls: %s%s\n", dim, m->tool_calls, off);
		if (m->attachments != NULL) {
			json_t *att = json_loads(m->attachments, 0, NULL), *it;
			size_t k;

			json_array_foreach(att, k, it)
			{
				const char *name = json_string_value(json_object_get(it, "name"));

				printf("%s[attached: %s]%s\n", dim, name ? name : "(unnamed)", off);
			}
			json_decref(att);
		}
		if (m->state == STORE_INTERRUPTED)
			printf("%s[interrupted]%s\n", red, off);
		else if (m->state == STORE_STREAMING)
			printf("%s[still streaming]%s\n", dim, off);
		else if (m->state == STORE_ERROR)
			printf("%s[error: %s]%s\n", red, m->error ? m->error : "unknown", off);
		if (strcmp(m->role, "assistant") == 0) {
			cmd_sessions_stats(m, &stats);
			if (stats.len > 0)
				printf("%s(%s)%s\n", dim, stats.data, off);
			buf_free(&stats);
		}
	}
	if (nt > n)
		printf("\n%s(%zu message%s on other branches: sessions show %s --tree)%s\n", dim, nt - n, nt - n == 1 ? "" : "s", s->id, off);
	store_msgs_free(v, n);
	store_tree_free(t, nt);
	store_session_free(s);
	return 0;
}

static int
cmd_sessions_rename(struct store *st, struct cmd_sessions_args *a)
{
	struct store_session *s;
	char *title, *cause = NULL;
	int rc = 0;

	title = cmd_sessions_join(a, 1);
	if ((s = cmd_sessions_find(st, a->words[0])) == NULL) {
		free(title);
		return 1;
	}
	if (store_session_rename(st, s->id, title, &cause) != 0)
		rc = cmd_sessions_cause(cause);
	free(title);
	store_session_free(s);
	return rc;
}

static int
cmd_sessions_rm(struct store *st, struct cmd_sessions_args *a)
{
	struct store_session *s;
	char *cause = NULL;
	int rc = 0;

	if ((s = cmd_sessions_find(st, a->words[0])) == NULL)
		return 1;
	if (store_session_delete(st, s->id, &cause) != 0)
		rc = cmd_sessions_cause(cause);
	store_session_free(s);
	return rc;
}

static int
cmd_sessions_export(struct store *st, struct cmd_sessions_args *a)
{
	struct store_session *s;
	const char *format = a->format;
	char *cause = NULL, *text = NULL;
	FILE *fp = stdout;
	int rc = 0;

	if (format == NULL && a->json)
		format = "json";
	if (format == NULL && a->output != NULL) {
		size_t len = strlen(a->output);

		format = len > 5 && strcmp(a->output + len - 5, ".json") == 0 ? "json" : "md";
	}
	if (format == NULL)
		format = "md";
	if (strcmp(format, "md") != 0 && strcmp(format, "markdown") != 0 &&
	    strcmp(format, "json") != 0) {
		cmd_sessions_error("unknown export format '%s' (md or json)", format);
		return -1;
	}
	if ((s = cmd_sessions_find(st, a->words[0])) == NULL)
		return 1;
	if (strcmp(format, "json") == 0) {
		json_t *doc;

		if (store_export_json(st, s->id, &doc, &cause) == 0) {
			text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			json_decref(doc);
		}
	} else
		store_export_md(st, s->id, &text, &cause);
	store_session_free(s);
	if (text == NULL)
		return cmd_sessions_cause(cause);
	if (a->output != NULL && strcmp(a->output, "-") != 0 &&
	    (fp = fopen(a->output, "w")) == NULL) {
		rc = cmd_sessions_error("cannot write %s: %s", a->output, strerror(errno));
		free(text);
		return rc;
	}
	fputs(text, fp);
	if (*text == '\0' || text[strlen(text) - 1] != '\n')
		fputc('\n', fp);
	if (fp != stdout) {
		if (ferror(fp) | (fclose(fp) != 0))
			rc = cmd_sessions_error("cannot write %s: %s", a->output, strerror(errno));
	} else if (fflush(stdout) != 0)
		rc = cmd_sessions_error("cannot write the export: %s", strerror(errno));
	free(text);
	return rc;
}

static char *
cmd_sessions_read_stdin(size_t *len)
{
	struct buf b = { 0 };
	char chunk[65536];
	size_t got;

	while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		buf_append(&b, chunk, got);
		if (b.len > CMD_SESSIONS_IMPORT_MAX)
			break;
	}
	*len = b.len;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

static int
cmd_sessions_import(struct store *st, struct cmd_sessions_args *a)
{
	const char *file;
	char *data, *cause = NULL, *id = NULL;
	json_error_t jerr;
	json_t *doc;
	size_t len;

	file = a->words[0];
	if (strcmp(file, "-") == 0) {
		data = cmd_sessions_read_stdin(&len);
		file = "standard input";
	} else if ((data = util_read_file(file, &len, CMD_SESSIONS_IMPORT_MAX, &cause)) == NULL)
		return cmd_sessions_cause(cause);
	if (len > CMD_SESSIONS_IMPORT_MAX) {
		free(data);
		return cmd_sessions_error("%s is larger than %d bytes", file,
		    CMD_SESSIONS_IMPORT_MAX);
	}
	doc = json_loadb(data, len, 0, &jerr);
	free(data);
	if (doc == NULL)
		return cmd_sessions_error("%s is not valid JSON: %s (line %d, column %d)",
		    file, jerr.text, jerr.line, jerr.column);
	if (store_import_json(st, doc, &id, &cause) != 0) {
		json_decref(doc);
		cmd_sessions_error("cannot import %s: %s", file, cause);
		free(cause);
		return 1;
	}
	json_decref(doc);
	printf("%s\n", id);
	free(id);
	return 0;
}

static int
cmd_sessions_search(struct store *st, struct cmd_sessions_args *a)
{
	struct store_hit **h;
	bool styled = !a->json && cmd_sessions_styled();
	char *query, *cause = NULL;
	size_t n;

	query = cmd_sessions_join(a, 0);
	if (store_search(st, query, styled ? "\033[1m" : "[", styled ? "\033[0m" : "]",
	        a->limit > 0 ? (size_t)a->limit : 50, &h, &n, &cause) != 0) {
		free(query);
		return cmd_sessions_cause(cause);
	}
	free(query);
	if (a->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "session", h[i]->session, "title", h[i]->title, "message", (json_int_t)h[i]->msg, "role", h[i]->role, "snippet", h[i]->snippet, "created", (json_int_t)h[i]->created));
		cmd_sessions_print_json(arr);
		json_decref(arr);
	} else {
		for (size_t i = 0; i < n; i++) {
			int w;
			char *title = cmd_sessions_fit(*h[i]->title ? h[i]->title : "(untitled)", 40, &w);

			/* The snippet on one line; the marks survive (they are
			 * not control characters but for ESC, kept on purpose). */
			for (char *p = h[i]->snippet; *p != '\0'; p++)
				if (*p == '\n' || *p == '\r' || *p == '\t')
					*p = ' ';
			printf("%s  %s  %s: %s\n", h[i]->session, title, h[i]->role, h[i]->snippet);
			free(title);
		}
		if (n == 0 && isatty(STDOUT_FILENO))
			fputs("no matches\n", stderr);
	}
	store_hits_free(h, n);
	return 0;
}

int
cmd_sessions(struct config *cfg, int argc, char **argv)
{
	const struct cmd_sessions_cmd *c = NULL;
	struct cmd_sessions_args a = { 0 };
	struct store *st;
	char *path, *cause = NULL;
	int first = 1, rc;

	if (argc >= 2 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof cmd_sessions_table / sizeof cmd_sessions_table[0]; i++) {
			if (strcmp(argv[1], cmd_sessions_table[i].name) == 0 ||
			    util_streq(argv[1], cmd_sessions_table[i].alias))
				c = &cmd_sessions_table[i];
		}
		if (c == NULL) {
			cmd_sessions_error("unknown sessions command '%s'", argv[1]);
			cmd_sessions_usage(NULL);
			return 2;
		}
		first = 2;
	} else
		c = &cmd_sessions_table[0]; /* bare "parley sessions" lists */
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		cmd_sessions_usage(NULL);
		return 0;
	}
	if (cmd_sessions_parse(argc - first, argv + first, &a) != 0) {
		cmd_sessions_usage(c);
		free(a.words);
		return 2;
	}
	a.json = a.json || cfg->json;
	if (a.nwords < c->min || (c->max >= 0 && a.nwords > c->max)) {
		cmd_sessions_error("%s: %s", c->name,
		    a.nwords < c->min ? "missing arguments" : "too many arguments");
		cmd_sessions_usage(c);
		free(a.words);
		return 2;
	}

	path = cfg->db_path != NULL ? xstrdup(cfg->db_path) : store_default_path();
	st = store_open(path, &cause);
	free(path);
	if (st == NULL) {
		free(a.words);
		return cmd_sessions_cause(cause);
	}
	rc = c->fn(st, &a);
	if (rc < 0) {
		cmd_sessions_usage(c);
		rc = 2;
	}
	store_close(st);
	free(a.words);
	return rc;
}
