/*
 * slash.c: the slash commands shared by the TUI and the REPL.
 *
 * slash_table[] is the one list of commands (name, arguments, help, what to
 * complete); slash_fns[] beside it holds their handlers in the same order.
 * A handler gets a struct slash_ctx (app, chat, face) and the text after
 * the command name, trimmed. Commands that only change the conversation
 * (model, system prompt, options, session) run here on struct chat; the
 * ones that show something or need the screen go to the face's callbacks.
 * Provider calls that a command waits for (show, rm, the model list) run
 * the loop until they end, so a listener on the same loop keeps serving.
 *
 * The input history file, shared by both faces, is read and appended here
 * too, so that its format lives in one place.
 */
#include "slash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "pipe.h"
#include "reltime.h"
#include "util.h"

#define SLASH_HISTORY_COOKIE "_HiStOrY_V2_"
#define SLASH_HISTORY_CAP (8u << 20)

struct slash_ctx {
	struct app *a;
	struct chat *c;
	const struct slash_face *face;
	void *arg;
	const struct slash_cmd *cmd;
};

typedef int (*slash_fn)(struct slash_ctx *x, const char *args);

const struct slash_cmd slash_table[] = {
	{ "/model", "[NAME]", "use NAME for this session (no name: show the current one)", SLASH_ARG_MODEL },
	{ "/models", "", "list the backend's models", SLASH_ARG_NONE },
	{ "/pull", "NAME", "download a model (Ollama)", SLASH_ARG_MODEL },
	{ "/rm", "NAME", "delete a model from the backend", SLASH_ARG_MODEL },
	{ "/show", "[NAME]", "details of a model (default: the current one)", SLASH_ARG_MODEL },
	{ "/system", "[TEXT|clear]", "set, clear or show the system prompt", SLASH_ARG_TEXT },
	{ "/set", "[KEY [VALUE|default]]", "set a model option or display setting; alone: list them", SLASH_ARG_SETTING },
	{ "/think", "[on|off|low|medium|high|default]", "ask a reasoning model to think (or not)", SLASH_ARG_TEXT },
	{ "/new", "", "start a new session", SLASH_ARG_NONE },
	{ "/sessions", "[ID|FILTER]", "list sessions, or switch to one", SLASH_ARG_SESSION },
	{ "/rename", "TITLE", "rename this session", SLASH_ARG_TEXT },
	{ "/clear", "", "forget this session's messages", SLASH_ARG_NONE },
	{ "/retry", "", "ask again for the last reply (the old one stays, as another version)", SLASH_ARG_NONE },
	{ "/edit", "N [TEXT]", "ask your Nth question again, changed: a new branch beside the old one", SLASH_ARG_TEXT },
	{ "/branch", "[N]", "list this session's branches, or show branch N", SLASH_ARG_NONE },
	{ "/fork", "", "copy the branch on show into a new session and go on there", SLASH_ARG_NONE },
	{ "/attach", "FILE", "attach an image or a text file to the next message", SLASH_ARG_FILE },
	{ "/copy", "[N]", "copy the last reply (or its Nth code block) to the clipboard", SLASH_ARG_NONE },
	{ "/export", "[md|json] [FILE]", "write this session as Markdown or JSON", SLASH_ARG_FILE },
	{ "/tools", "[on|off NAME|SERVER|all]", "list the MCP tools offered to the model, or switch some on or off", SLASH_ARG_TEXT },
	{ "/theme", "[NAME]", "change the colour theme", SLASH_ARG_THEME },
	{ "/stats", "", "statistics of the last reply and the context", SLASH_ARG_NONE },
	{ "/help", "", "this list", SLASH_ARG_NONE },
	{ "/quit", "", "leave (also Ctrl-D)", SLASH_ARG_NONE },
};
const size_t slash_count = sizeof slash_table / sizeof slash_table[0];

/* Other spellings people type out of habit. */
static const struct {
	const char *alias, *name;
} slash_aliases[] = {
	{ "/exit", "/quit" },
	{ "/bye", "/quit" },
	{ "/?", "/help" },
};

const struct slash_setting slash_settings[] = {
	{ "temperature", "randomness, 0 to 2" },
	{ "top_p", "nucleus sampling, 0 to 1" },
	{ "top_k", "sample from the K likeliest tokens" },
	{ "min_p", "drop tokens below this share of the likeliest" },
	{ "seed", "a fixed seed for repeatable replies" },
	{ "num_ctx", "context window in tokens" },
	{ "max_tokens", "longest reply in tokens" },
	{ "stop", "a stop sequence (repeat to add more)" },
	{ "repeat_penalty", "penalty for repeated tokens" },
	{ "presence_penalty", "penalty for tokens already present" },
	{ "frequency_penalty", "penalty by how often a token appeared" },
	{ "keep_alive", "how long the backend keeps the model loaded" },
	{ "system", "the system prompt (same as /system)" },
	{ "verbose", "print statistics after each reply" },
	{ "quiet", "no statistics after replies" },
	{ "think", "show the model's thinking" },
	{ "nothink", "hide the model's thinking" },
};
const size_t slash_nsettings = sizeof slash_settings / sizeof slash_settings[0];

/* --- output ------------------------------------------------------------- */

static void slash_print(struct slash_ctx *x, const char *fmt, ...) PRINTFLIKE(2, 3);
static int slash_error(struct slash_ctx *x, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
slash_print(struct slash_ctx *x, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (x->face->print == NULL)
		return;
	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	x->face->print(x->arg, m);
	free(m);
}

static int
slash_error(struct slash_ctx *x, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	if (x->face->error != NULL)
		x->face->error(x->arg, m);
	else if (x->face->print != NULL)
		x->face->print(x->arg, m);
	free(m);
	return -1;
}

/* Report a cause allocated by a callee. */
static int
slash_fail(struct slash_ctx *x, char *cause)
{
	slash_error(x, "%s", cause ? cause : "failed");
	free(cause);
	return -1;
}

static int
slash_unavailable(struct slash_ctx *x)
{
	return slash_error(x, "%s is not available here", x->cmd->name);
}

/* The face callback's own result: it reported any error itself. */
static int
slash_face_rc(int rc)
{
	return rc == 0 ? 0 : -1;
}

/* --- commands that wait -------------------------------------------------- */

/* A command waiting on a y/n answer or on the provider. It does not run
 * the loop: slash_run returns SLASH_PENDING, and the command goes on from
 * the answer's or the provider's callback, then tells the face's done. The
 * ops under way are kept in one list so that a face can stop its own
 * (slash_cancel) and ask whether any is left (slash_busy). */
struct slash_op {
	struct slash_ctx x; /* x.c is not used once pending */
	char *model;
	struct prov_req *req;
	bool cancelled;
	struct slash_op *next;
};

static struct slash_op *slash_ops;

static struct slash_op *
slash_op_new(struct slash_ctx *x, const char *model)
{
	struct slash_op *op = xcalloc(1, sizeof *op);

	op->x = *x;
	op->x.c = NULL;
	op->model = xstrdup(model);
	op->next = slash_ops;
	slash_ops = op;
	return op;
}

/* The command ended with rc: unlink, tell the face, free. */
static void
slash_op_end(struct slash_op *op, int rc)
{
	struct slash_ctx x = op->x;

	for (struct slash_op **pp = &slash_ops; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	}
	free(op->model);
	free(op);
	if (x.face != NULL && x.face->done != NULL)
		x.face->done(x.arg, rc);
}

bool
slash_busy(const void *arg)
{
	for (const struct slash_op *op = slash_ops; op != NULL; op = op->next)
		if (op->x.arg == arg)
			return true;
	return false;
}

void
slash_cancel(void *arg)
{
	struct slash_op *op = slash_ops;

	while (op != NULL) {
		if (op->x.arg != arg || op->cancelled) {
			op = op->next;
			continue;
		}
		op->cancelled = true;
		if (op->req == NULL) {
			/* a question out: its answer ends it */
			op = op->next;
			continue;
		}
		/* its callback ends it, now or soon: the list may have changed */
		prov_cancel(op->req);
		op = slash_ops;
	}
}

void
slash_forget(void *arg)
{
	struct slash_op *op = slash_ops;

	while (op != NULL) {
		struct prov_req *req = op->req;

		if (op->x.arg != arg || op->x.face == NULL) {
			op = op->next;
			continue;
		}
		/* no word to the face from now on */
		op->x.face = NULL;
		op->x.arg = NULL;
		op->cancelled = true;
		if (req != NULL)
			prov_cancel(req);
		op = slash_ops;
	}
}

/* The callbacks' start: false when the face has gone (and op is freed). */
static bool
slash_op_back(struct slash_op *op)
{
	op->req = NULL;
	if (op->x.face != NULL)
		return true;
	slash_op_end(op, -1);
	return false;
}

/* The same layout as `parley show`. */
static char *slash_show_text(const char *model, json_t *j);

static void
slash_op_shown(enum llm_err err, const char *msg, json_t *j, void *arg)
{
	struct slash_op *op = arg;
	char *text;

	if (!slash_op_back(op))
		return;
	if (err != LLM_OK) {
		slash_error(&op->x, "%s", op->cancelled && err == LLM_ERR_CANCELLED ? "interrupted" : msg ? msg
		                                                                                          : "failed");
		slash_op_end(op, -1);
		return;
	}
	text = slash_show_text(op->model, j);
	slash_print(&op->x, "%s", text);
	free(text);
	slash_op_end(op, 0);
}

static void
slash_op_removed(enum llm_err err, const char *msg, void *arg)
{
	struct slash_op *op = arg;

	if (!slash_op_back(op))
		return;
	if (err != LLM_OK) {
		slash_error(&op->x, "%s", op->cancelled && err == LLM_ERR_CANCELLED ? "interrupted" : msg ? msg
		                                                                                          : "failed");
		slash_op_end(op, -1);
		return;
	}
	slash_print(&op->x, "deleted '%s'", op->model);
	slash_op_end(op, 0);
}

static void
slash_op_answered(void *ctx, bool yes)
{
	struct slash_op *op = ctx;

	if (!slash_op_back(op))
		return;
	if (!yes || op->cancelled) {
		slash_print(&op->x, "not deleted");
		slash_op_end(op, 0);
		return;
	}
	op->req = op->x.a->prov->ops->remove(op->x.a->prov, op->model, slash_op_removed, op);
}

/* --- the commands --------------------------------------------------------- */

static int
slash_save(struct slash_ctx *x)
{
	char *cause = NULL;

	if (chat_save_settings(x->c, &cause) != 0)
		return slash_fail(x, cause);
	return 0;
}

static int
slash_model(struct slash_ctx *x, const char *args)
{
	if (args[0] == '\0') {
		if (chat_model(x->c) == NULL || chat_model(x->c)[0] == '\0')
			slash_print(x, "no model chosen; /models lists them");
		else
			slash_print(x, "model: %s", chat_model(x->c));
		return 0;
	}
	if (strpbrk(args, " \t") != NULL)
		return slash_error(x, "a model name has no spaces: '%s'", args);
	chat_set_model(x->c, args);
	if (slash_save(x) != 0)
		return -1;
	slash_print(x, "model set to %s", args);
	return 0;
}

static int
slash_models(struct slash_ctx *x, const char *args)
{
	(void)args;
	if (x->face->models == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->models(x->arg));
}

static int
slash_pull(struct slash_ctx *x, const char *args)
{
	if (args[0] == '\0')
		return slash_error(x, "usage: /pull NAME");
	if (x->face->pull == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->pull(x->arg, args));
}

static int
slash_rm(struct slash_ctx *x, const char *args)
{
	struct slash_op *op;
	char *q;

	if (args[0] == '\0')
		return slash_error(x, "usage: /rm NAME");
	if (x->face->ask == NULL || x->face->done == NULL)
		return slash_unavailable(x);
	if (x->a->prov == NULL)
		return slash_error(x, "no backend");
	op = slash_op_new(x, args);
	q = xasprintf("delete the model '%s' from %s?", args, x->a->prov->base_url);
	/* the answer may come before ask returns (a face that reads a line) */
	x->face->ask(x->arg, q, slash_op_answered, op);
	free(q);
	return SLASH_PENDING;
}

static void
slash_show_field(struct buf *b, const char *name, json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0)
		buf_printf(b, "    %-18s %s\n", name, json_string_value(v));
	else if (json_is_integer(v) && json_integer_value(v) > 0)
		buf_printf(b, "    %-18s %lld\n", name, (long long)json_integer_value(v));
}

static void
slash_show_section(struct buf *b, const char *title, const char *text)
{
	const char *p = text, *nl;

	if (text == NULL || text[0] == '\0')
		return;
	buf_printf(b, "\n  %s\n", title);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p)
			buf_printf(b, "    %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

static char *
slash_show_text(const char *model, json_t *j)
{
	json_t *d = json_object_get(j, "details"), *caps, *v;
	struct buf b = { 0 };
	size_t i;

	buf_puts(&b, "  Model\n");
	buf_printf(&b, "    %-18s %s\n", "name", model);
	slash_show_field(&b, "architecture", json_object_get(d, "family"));
	slash_show_field(&b, "parameters", json_object_get(d, "parameter_size"));
	slash_show_field(&b, "context length", json_object_get(j, "context_length"));
	slash_show_field(&b, "quantization", json_object_get(d, "quantization_level"));
	slash_show_field(&b, "format", json_object_get(d, "format"));
	caps = json_object_get(j, "capabilities");
	if (json_array_size(caps) > 0) {
		buf_puts(&b, "\n  Capabilities\n");
		json_array_foreach(caps, i, v)
		{
			buf_printf(&b, "    %s\n", json_string_value(v) ? json_string_value(v) : "?");
		}
	}
	slash_show_section(&b, "Parameters", json_string_value(json_object_get(j, "parameters")));
	slash_show_section(&b, "System", json_string_value(json_object_get(j, "system")));
	/* drop the last newline: print adds one */
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

static int
slash_show(struct slash_ctx *x, const char *args)
{
	const char *model = args[0] != '\0' ? args : chat_model(x->c);
	struct slash_op *op;

	if (model == NULL || model[0] == '\0')
		return slash_error(x, "usage: /show NAME (no model is chosen)");
	if (x->face->done == NULL)
		return slash_unavailable(x);
	if (x->a->prov == NULL)
		return slash_error(x, "no backend");
	op = slash_op_new(x, model);
	op->req = x->a->prov->ops->show(x->a->prov, op->model, slash_op_shown, op);
	return SLASH_PENDING;
}

static int
slash_system(struct slash_ctx *x, const char *args)
{
	if (args[0] == '\0') {
		slash_print(x, "%s", chat_system(x->c) ? chat_system(x->c) : "no system prompt");
		return 0;
	}
	chat_set_system(x->c, strcmp(args, "clear") == 0 ? NULL : args);
	if (slash_save(x) != 0)
		return -1;
	slash_print(x, chat_system(x->c) ? "system prompt set" : "system prompt cleared");
	return 0;
}

/* /set alone: what is in effect. */
static void
slash_list_settings(struct slash_ctx *x)
{
	struct buf b = { 0 };
	json_t *opts = chat_options(x->c), *v;
	const char *k, *think = chat_think(x->c);

	buf_printf(&b, "model      %s\n", chat_model(x->c) ? chat_model(x->c) : "(none)");
	buf_printf(&b, "system     %s\n", chat_system(x->c) ? chat_system(x->c) : "(none)");
	buf_printf(&b, "think      %s\n", think == NULL ? "(model default)" : strcmp(think, "true") == 0 ? "on"
	        : strcmp(think, "false") == 0                                                            ? "off"
	                                                                                                 : think);
	buf_printf(&b, "thinking   %s\n", x->a->cfg->hide_thinking ? "hidden (nothink)" : "shown (think)");
	buf_printf(&b, "stats      %s", x->a->cfg->verbose ? "after each reply (verbose)" : "off (quiet)");
	json_object_foreach(opts, k, v)
	{
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));

		buf_printf(&b, "\n%-10s %s", k, s);
		free(s);
	}
	if (json_object_size(opts) == 0)
		buf_puts(&b, "\noptions    (backend defaults)");
	slash_print(x, "%s", b.data);
	buf_free(&b);
}

static int
slash_set(struct slash_ctx *x, const char *args)
{
	struct config *cfg = x->a->cfg;
	size_t klen = strcspn(args, " \t");
	char *key = xstrndup(args, klen), *kv, *cause = NULL;
	const char *val = args + klen;
	json_t *opts, *cur;
	int rc = 0;

	val += strspn(val, " \t");
	if (key[0] == '\0') {
		slash_list_settings(x);
	} else if (strcmp(key, "verbose") == 0 || strcmp(key, "quiet") == 0) {
		cfg->verbose = key[0] == 'v';
		slash_print(x, cfg->verbose ? "statistics after each reply" : "no statistics after replies");
	} else if (strcmp(key, "think") == 0 || strcmp(key, "nothink") == 0) {
		cfg->hide_thinking = key[0] == 'n';
		slash_print(x, cfg->hide_thinking ? "thinking hidden" : "thinking shown");
	} else if (strcmp(key, "system") == 0) {
		rc = slash_system(x, val);
	} else if (val[0] == '\0') {
		/* a key alone: its value */
		cur = json_object_get(chat_options(x->c), key);
		if (cur == NULL) {
			slash_print(x, "%s: backend default", key);
		} else {
			char *s = json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));

			slash_print(x, "%s = %s", key, s);
			free(s);
		}
	} else if (strcmp(val, "default") == 0) {
		json_object_del(chat_options(x->c), strcmp(key, "num_predict") == 0 ? "max_tokens" : key);
		if ((rc = slash_save(x)) == 0)
			slash_print(x, "%s: backend default", key);
	} else {
		/* into a copy, so a bad value leaves the options as they were */
		opts = json_deep_copy(chat_options(x->c));
		kv = xasprintf("%s=%s", key, val);
		if (config_set_option(opts, kv, &cause) != 0) {
			rc = slash_fail(x, cause);
		} else {
			json_object_update(chat_options(x->c), opts);
			if ((rc = slash_save(x)) == 0)
				slash_print(x, "set %s = %s", key, val);
		}
		free(kv);
		json_decref(opts);
	}
	free(key);
	return rc;
}

static int
slash_think(struct slash_ctx *x, const char *args)
{
	static const struct {
		const char *word, *value;
	} words[] = {
		{ "on", "true" },
		{ "true", "true" },
		{ "yes", "true" },
		{ "off", "false" },
		{ "false", "false" },
		{ "no", "false" },
		{ "low", "low" },
		{ "medium", "medium" },
		{ "high", "high" },
		{ "max", "max" },
		{ "default", NULL },
	};
	const char *t = chat_think(x->c);

	if (args[0] == '\0') {
		slash_print(x, "think: %s", t == NULL ? "model default" : strcmp(t, "true") == 0 ? "on"
		        : strcmp(t, "false") == 0                                                ? "off"
		                                                                                 : t);
		return 0;
	}
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcasecmp(args, words[i].word) != 0)
			continue;
		chat_set_think(x->c, words[i].value);
		slash_print(x, "think: %s", words[i].value == NULL ? "model default" : words[i].word);
		return 0;
	}
	return slash_error(x, "/think takes on, off, low, medium, high or default, not '%s'", args);
}

static int
slash_new(struct slash_ctx *x, const char *args)
{
	(void)args;
	chat_reset(x->c);
	slash_print(x, "new session");
	return 0;
}

static int
slash_sessions(struct slash_ctx *x, const char *args)
{
	if (x->face->sessions == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->sessions(x->arg, args[0] != '\0' ? args : NULL));
}

static int
slash_rename(struct slash_ctx *x, const char *args)
{
	char *cause = NULL;

	if (args[0] == '\0')
		return slash_error(x, "usage: /rename TITLE");
	if (chat_rename(x->c, args, &cause) != 0)
		return slash_fail(x, cause);
	slash_print(x, "session %s is now '%s'", chat_session_id(x->c) ? chat_session_id(x->c) : "(not saved yet)", args);
	return 0;
}

static int
slash_clear(struct slash_ctx *x, const char *args)
{
	char *cause = NULL;

	(void)args;
	if (chat_clear(x->c, &cause) != 0)
		return slash_fail(x, cause);
	slash_print(x, "messages cleared");
	return 0;
}

static int
slash_retry(struct slash_ctx *x, const char *args)
{
	char *cause = NULL;

	(void)args;
	if (x->face->send == NULL)
		return slash_unavailable(x);
	if (chat_retry(x->c, &cause) != 0)
		return slash_fail(x, cause);
	return slash_face_rc(x->face->send(x->arg));
}

/* The transcript index of the user's nth question (from 1), or -1. */
static long
slash_question(struct chat *c, long n, long *count)
{
	long k = 0, at = -1;

	for (size_t i = 0; i < chat_count(c); i++) {
		if (strcmp(chat_msg(c, i)->role, "user") != 0)
			continue;
		if (++k == n)
			at = (long)i;
	}
	*count = k;
	return at;
}

static int
slash_edit(struct slash_ctx *x, const char *args)
{
	char *end, *cause = NULL;
	long n, count, i;

	errno = 0;
	n = strtol(args, &end, 10);
	if (errno != 0 || end == args || n < 1 || (*end != '\0' && *end != ' ' && *end != '\t'))
		return slash_error(x, "usage: /edit N [TEXT] (N: your Nth question on this branch, from 1)");
	end += strspn(end, " \t");
	if ((i = slash_question(x->c, n, &count)) < 0)
		return slash_error(x, "/edit: there is no question %ld (this branch has %ld)", n, count);
	if (chat_busy(x->c))
		return slash_error(x, "a reply is still streaming (stop it first)");
	if (*end == '\0') {
		if (x->face->edit == NULL)
			return slash_error(x, "usage: /edit N TEXT (this face cannot offer the old text to change)");
		return slash_face_rc(x->face->edit(x->arg, (size_t)i, chat_msg(x->c, (size_t)i)->content));
	}
	if (x->face->send == NULL)
		return slash_unavailable(x);
	if (chat_edit(x->c, (size_t)i, end, &cause) != 0)
		return slash_fail(x, cause);
	return slash_face_rc(x->face->send(x->arg));
}

static int
slash_branch(struct slash_ctx *x, const char *args)
{
	struct chat_branch *v = NULL;
	size_t n = chat_branches(x->c, &v);
	char *end, *cause = NULL;
	struct buf b = { 0 };
	long pick;

	if (chat_session_id(x->c) == NULL || n == 0) {
		free(v);
		return slash_error(x, chat_count(x->c) > 0 ? "branches are kept in the session store; this chat is not saved" : "no messages yet");
	}
	if (args[0] != '\0') {
		errno = 0;
		pick = strtol(args, &end, 10);
		if (errno != 0 || *end != '\0' || pick < 1 || (size_t)pick > n) {
			free(v);
			return slash_error(x, "usage: /branch [N] (this session has %zu branch%s)", n, n == 1 ? "" : "es");
		}
		if (chat_goto(x->c, v[pick - 1].leaf, &cause) != 0) {
			free(v);
			return slash_fail(x, cause);
		}
		free(v);
		slash_print(x, "branch %ld of %zu", pick, n);
		return x->face->shown != NULL ? slash_face_rc(x->face->shown(x->arg)) : 0;
	}
	for (size_t i = 0; i < n; i++) {
		char when[32];

		reltime(when, sizeof when, v[i].created, util_wall_ms(), RELTIME_SHORT);
		buf_printf(&b, "%s%c %zu  %zu message%s, %zu shared  %-9s %s", i ? "\n" : "", v[i].current ? '*' : ' ', i + 1,
		    v[i].depth, v[i].depth == 1 ? "" : "s", v[i].shared, when, v[i].question ? v[i].question : "");
	}
	buf_printf(&b, "\n(* the branch on show; /branch N shows another)");
	slash_print(x, "%s", b.data);
	buf_free(&b);
	free(v);
	return 0;
}

static int
slash_fork(struct slash_ctx *x, const char *args)
{
	char *cause = NULL;

	(void)args;
	if (chat_fork(x->c, &cause) != 0)
		return slash_fail(x, cause);
	slash_print(x, "forked into session %s (%s)", chat_session_id(x->c), chat_title(x->c));
	return 0;
}

static int
slash_attach(struct slash_ctx *x, const char *args)
{
	if (args[0] == '\0')
		return slash_error(x, "usage: /attach FILE");
	if (x->face->attach == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->attach(x->arg, args));
}

static int
slash_copy(struct slash_ctx *x, const char *args)
{
	char *end;
	long n = 0;

	if (args[0] != '\0') {
		errno = 0;
		n = strtol(args, &end, 10);
		if (errno != 0 || *end != '\0' || n < 0 || n > INT_MAX)
			return slash_error(x, "usage: /copy [N] (N: the Nth code block of the last reply)");
	}
	if (x->face->copy == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->copy(x->arg, (int)n));
}

static int
slash_tools(struct slash_ctx *x, const char *args)
{
	if (x->face->tools == NULL)
		return slash_error(x, "no MCP tools are offered here: run the REPL or pipe mode with --tools all (or --tools SERVER,...)");
	return slash_face_rc(x->face->tools(x->arg, args));
}

static int
slash_export(struct slash_ctx *x, const char *args)
{
	const char *sid = chat_session_id(x->c), *file;
	char *out = NULL, *cause = NULL;
	bool json = false;
	size_t wlen;
	FILE *fp;
	int rc;

	wlen = strcspn(args, " \t");
	if ((wlen == 2 && strncmp(args, "md", 2) == 0) || (wlen == 4 && strncmp(args, "json", 4) == 0)) {
		json = wlen == 4;
		args += wlen;
		args += strspn(args, " \t");
	} else if (wlen > 5 && strcmp(args + strlen(args) - 5, ".json") == 0)
		json = true;
	file = args;
	if (sid == NULL || x->a->store == NULL)
		return slash_error(x, "nothing to export: this session is not saved%s",
		    x->a->store == NULL ? " (no session store)" : " yet");
	if (json) {
		json_t *doc = NULL;

		rc = store_export_json(x->a->store, sid, &doc, &cause);
		if (rc == 0) {
			out = json_dumps(doc, JSON_INDENT(2));
			json_decref(doc);
		}
	} else
		rc = store_export_md(x->a->store, sid, &out, &cause);
	if (rc != 0)
		return slash_fail(x, cause);
	if (file[0] == '\0') {
		slash_print(x, "%s", out);
		free(out);
		return 0;
	}
	if ((fp = fopen(file, "w")) == NULL) {
		rc = slash_error(x, "cannot write %s: %s", file, strerror(errno));
		free(out);
		return rc;
	}
	fputs(out, fp);
	if (!json && out[0] != '\0' && out[strlen(out) - 1] != '\n')
		fputc('\n', fp);
	if (json)
		fputc('\n', fp);
	rc = fclose(fp);
	free(out);
	if (rc != 0)
		return slash_error(x, "cannot write %s: %s", file, strerror(errno));
	slash_print(x, "session %s written to %s", sid, file);
	return 0;
}

static int
slash_theme(struct slash_ctx *x, const char *args)
{
	if (x->face->theme == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->theme(x->arg, args[0] != '\0' ? args : NULL));
}

static int
slash_stats(struct slash_ctx *x, const char *args)
{
	const struct llm_stats *s = chat_stats(x->c);
	struct buf b = { 0 };
	char *line;

	(void)args;
	if (s->reply_tokens < 0 && s->total_ns == 0)
		buf_puts(&b, "no reply yet in this session");
	else {
		line = pipe_stats_line(s, chat_ttft_ms(x->c), chat_elapsed_ms(x->c));
		buf_puts(&b, line);
		free(line);
	}
	buf_printf(&b, "\ncontext %lld of %lld tokens", (long long)chat_context_used(x->c),
	    (long long)chat_context_size(x->c));
	if (chat_trimmed(x->c) > 0)
		buf_printf(&b, ", %zu older message%s left out", chat_trimmed(x->c), chat_trimmed(x->c) == 1 ? "" : "s");
	buf_printf(&b, "\n%zu message%s", chat_count(x->c), chat_count(x->c) == 1 ? "" : "s");
	if (chat_session_id(x->c) != NULL)
		buf_printf(&b, " in session %s", chat_session_id(x->c));
	slash_print(x, "%s", b.data);
	buf_free(&b);
	return 0;
}

char *
slash_help_text(void)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < slash_count; i++) {
		char *usage = xasprintf("%s %s", slash_table[i].name, slash_table[i].args);

		buf_printf(&b, "%s%-28s %s", i ? "\n" : "", usage, slash_table[i].help);
		free(usage);
	}
	return buf_steal(&b);
}

static int
slash_help(struct slash_ctx *x, const char *args)
{
	char *text;

	(void)args;
	if (x->face->help != NULL)
		return slash_face_rc(x->face->help(x->arg));
	text = slash_help_text();
	slash_print(x, "%s", text);
	free(text);
	return 0;
}

static int
slash_quit(struct slash_ctx *x, const char *args)
{
	(void)args;
	if (x->face->quit == NULL)
		return slash_unavailable(x);
	return slash_face_rc(x->face->quit(x->arg));
}

/* In the order of slash_table. */
static const slash_fn slash_fns[] = {
	slash_model, slash_models, slash_pull, slash_rm, slash_show, slash_system, slash_set,
	slash_think, slash_new, slash_sessions, slash_rename, slash_clear, slash_retry, slash_edit,
	slash_branch, slash_fork, slash_attach, slash_copy, slash_export, slash_tools, slash_theme, slash_stats, slash_help, slash_quit
};
_Static_assert(sizeof slash_fns / sizeof slash_fns[0] == sizeof slash_table / sizeof slash_table[0],
    "one handler per command");

/* --- finding the command ------------------------------------------------ */

/* Edit distance, for "did you mean". Names are short. */
static size_t
slash_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[32], cur[32];

	if (la >= 31 || lb >= 31)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);

			cur[j] = del < ins ? del : ins;
			if (sub < cur[j])
				cur[j] = sub;
		}
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb];
}

size_t
slash_complete(const char *prefix, const struct slash_cmd **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < slash_count; i++) {
		if (!util_prefix(slash_table[i].name, prefix))
			continue;
		if (n < max)
			out[n] = &slash_table[i];
		n++;
	}
	return n;
}

/* Exact name, alias, or a prefix only one command has. */
static int
slash_find(struct slash_ctx *x, const char *name)
{
	const struct slash_cmd *m[32];
	size_t n, best = SIZE_MAX, bi = 0;
	struct buf b = { 0 };

	for (size_t i = 0; i < slash_count; i++)
		if (strcmp(slash_table[i].name, name) == 0)
			return (int)i;
	for (size_t i = 0; i < sizeof slash_aliases / sizeof slash_aliases[0]; i++)
		if (strcmp(slash_aliases[i].alias, name) == 0)
			return slash_find(x, slash_aliases[i].name);
	n = slash_complete(name, m, 32);
	if (n == 1)
		return (int)(m[0] - slash_table);
	if (n > 1) {
		for (size_t i = 0; i < n && i < 32; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", m[i]->name);
		slash_error(x, "%s is ambiguous: %s", name, b.data);
		buf_free(&b);
		return -1;
	}
	for (size_t i = 0; i < slash_count; i++) {
		size_t d = slash_distance(name, slash_table[i].name);

		if (d < best) {
			best = d;
			bi = i;
		}
	}
	if (best <= 3)
		slash_error(x, "unknown command %s; did you mean %s? (/help lists them)", name, slash_table[bi].name);
	else
		slash_error(x, "unknown command %s; /help lists them", name);
	return -1;
}

int
slash_run(struct app *a, struct chat *c, const struct slash_face *face, void *arg, const char *line)
{
	struct slash_ctx x = { a, c, face, arg, NULL };
	const char *p = line + strspn(line, " \t");
	size_t nlen;
	char *name, *args;
	int i, rc;

	if (p[0] != '/' || p[1] == '/' || p[1] == ' ' || p[1] == '\0')
		return 1; /* "//x" and a lone "/" are text, not commands */
	nlen = strcspn(p, " \t\r\n");
	name = xstrndup(p, nlen);
	p += nlen;
	p += strspn(p, " \t\r\n");
	args = xstrdup(p);
	for (size_t len = strlen(args); len > 0 && strchr(" \t\r\n", args[len - 1]); len--)
		args[len - 1] = '\0';
	i = slash_find(&x, name);
	if (i < 0) {
		rc = -1;
	} else {
		x.cmd = &slash_table[i];
		if (x.cmd->args[0] == '\0' && args[0] != '\0')
			rc = slash_error(&x, "%s takes no arguments", x.cmd->name);
		else
			rc = slash_fns[i](&x, args);
	}
	free(name);
	free(args);
	return rc;
}

/* --- input history -------------------------------------------------------- */

char *
slash_history_path(void)
{
	char *dir = util_xdg_dir("DATA"), *p = xasprintf("%s/history", dir);

	free(dir);
	return p;
}

/* Octal escapes, as libedit's strunvis reads them back. */
static void
slash_history_encode(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\\')
			buf_puts(b, "\\\\");
		else if (*p <= ' ' || *p == 0x7f)
			buf_printf(b, "\\%03o", *p);
		else
			buf_putc(b, (char)*p);
	}
	buf_putc(b, '\n');
}

static char *
slash_history_decode(const char *s, size_t len)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			buf_putc(&b, s[i]);
			continue;
		}
		if (s[i + 1] >= '0' && s[i + 1] <= '7') {
			int v = 0, k = 0;

			while (k < 3 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7') {
				v = v * 8 + (s[++i] - '0');
				k++;
			}
			buf_putc(&b, (char)v);
			continue;
		}
		i++;
		/* the \M-x and \^x forms strvis writes for other bytes */
		if (s[i] == 'M' && i + 2 < len && (s[i + 1] == '-' || s[i + 1] == '^')) {
			char c = s[i + 2];

			buf_putc(&b, (char)(s[i + 1] == '-' ? (c | 0x80) : ((c == '?' ? 0x7f : (c & 0x1f)) | 0x80)));
			i += 2;
			continue;
		}
		if (s[i] == '^' && i + 1 < len) {
			i++;
			buf_putc(&b, (char)(s[i] == '?' ? 0x7f : (s[i] & 0x1f)));
			continue;
		}
		switch (s[i]) {
		case 'n':
			buf_putc(&b, '\n');
			break;
		case 't':
			buf_putc(&b, '\t');
			break;
		case 's':
			buf_putc(&b, ' ');
			break;
		default:
			buf_putc(&b, s[i]);
			break;
		}
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return buf_steal(&b);
}

int
slash_history_read(const char *path, char ***lines, size_t *n, char **cause)
{
	size_t len, cookie = strlen(SLASH_HISTORY_COOKIE);
	char *data, *p, *nl, *end, *why = NULL;
	bool encoded;

	*lines = NULL;
	*n = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if ((data = util_read_file(path, &len, SLASH_HISTORY_CAP, &why)) == NULL) {
		util_fail(cause, "cannot read the history %s: %s", path, why);
		free(why);
		return -1;
	}
	end = data + len;
	encoded = len >= cookie && strncmp(data, SLASH_HISTORY_COOKIE, cookie) == 0;
	p = encoded ? data + cookie : data;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p) {
			*lines = xreallocarray(*lines, *n + 1, sizeof **lines);
			(*lines)[(*n)++] = encoded ? slash_history_decode(p, (size_t)(nl - p)) : xstrndup(p, (size_t)(nl - p));
		}
	}
	free(data);
	return 0;
}

int
slash_history_append(const char *path, const char *line, char **cause)
{
	struct buf b = { 0 };
	off_t size;
	int fd, rc = 0;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL) {
		*slash = '\0';
		util_mkdirs(dir);
	}
	free(dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return util_fail(cause, "cannot write the history %s: %s", path, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	if (size == 0)
		buf_puts(&b, SLASH_HISTORY_COOKIE "\n");
	slash_history_encode(&b, line);
	/* one write, so that two faces appending at once do not interleave */
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		rc = util_fail(cause, "cannot write the history %s: %s", path, strerror(errno));
	close(fd);
	buf_free(&b);
	return rc;
}

void
slash_history_free(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}
