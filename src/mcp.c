/*
 * mcp.c: the MCP client's core (mcp.md 1, 4-8): JSON-RPC over a transport,
 * the lifecycle, the tool lists and tool calls of every configured server.
 *
 * struct mcp holds the servers in the file's order. Each struct
 * mcp_server has its transport, the requests it sent and waits on (a list
 * of struct mcp_rpc, each with a deadline timer; ids are integers counted
 * per server, the server's own ids are echoed back as they came), and its
 * tools. Starting is a chain of callbacks: open the transport, initialize,
 * notifications/initialized, tools/list page after page, ready. A
 * notifications/tools/list_changed lists again (one listing at a time; a
 * notice during one asks for one more after it).
 *
 * The model sees every enabled tool under a unique name (mcp_llm_name,
 * then _2, _3 on a clash); m->tools maps those names back to the server
 * and tool, rebuilt when any list changes. Which tools are enabled is kept
 * by model name in m->off across rebuilds.
 *
 * A server's stderr and what parley notes about it go to
 * $XDG_STATE_HOME/parley/mcp.log, a line each, with the server's name.
 */
#include "mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mcp_transport.h"
#include "util.h"

#define MCP_TIMEOUT_MS 60000 /* a request, unless the entry says "timeout" */
#define MCP_CALL_MAX_MS 600000 /* a call that keeps sending progress */
#define MCP_RESULT_MAX (256u << 10) /* text sent back to the model: some 64k tokens */
#define MCP_LIST_PAGES 100
#define MCP_LOG_LAST 512

static const char *const mcp_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

typedef void (*mcp_rpc_cb)(struct mcp_server *s, json_t *result, const char *err, void *arg);

struct mcp_rpc {
	struct mcp_server *s;
	json_int_t id;
	char *method;
	char *text; /* as sent, to send again in a new session */
	mcp_rpc_cb cb;
	void *arg;
	struct loop_timer *timer;
	struct mcp_rpc *next;
};

struct mcp_call {
	struct mcp_server *s;
	struct mcp_rpc *rpc;
	mcp_call_cb cb;
	void *arg;
	void (*progress)(double progress, double total, const char *msg, void *arg);
	struct loop_timer *late; /* answers a call to a server that is not running */
	int64_t t0;
	int64_t t0_ns;
	struct mcp_call *next;
};

struct mcp_server {
	struct mcp *m;
	char *name;
	json_t *conf;
	const struct mcp_transport_ops *ops;
	struct mcp_transport *t;
	struct mcp_transport *dead; /* hung up, freed from a timer */
	struct loop_timer *reaper;
	enum mcp_state state;
	bool picked;
	json_t *only; /* model tool names picked, NULL = every tool */
	char *error;
	char *version;
	json_t *info;
	int64_t timeout_ms;
	int64_t t_start, ready_ms;
	json_int_t next_id;
	struct mcp_rpc *rpcs;
	struct mcp_call *calls;
	bool tools_changed_cap;
	bool listing, relist, init_retried;
	int resets; /* sessions the server ended */
	json_t *page; /* tools gathered while listing */
	int pages;
	/* each tool stays where it is while the server lives, so a face may
	 * hold one across a list change; those a change removed are kept in
	 * retired until then */
	struct mcp_tool **tools;
	size_t ntools;
	struct mcp_tool **retired;
	size_t nretired;
	char last_log[MCP_LOG_LAST];
};

struct mcp {
	struct app *a;
	json_t *conf;
	struct mcp_server **v;
	size_t n;
	struct mcp_tool **tools;
	size_t ntools;
	json_t *off; /* model tool names turned off */
	size_t starting;
	bool started;
	void (*done)(void *arg);
	void *done_arg;
	struct loop_timer *done_timer;
	struct mcp_watch {
		void (*cb)(void *arg);
		void *arg;
	} * watch;
	size_t nwatch;
	FILE *log;
	bool log_tried;
};

/* ---- names ---- */

char *
mcp_llm_name(const char *server, const char *tool)
{
	char *full = xasprintf("%s__%s", server, tool), *out;
	size_t n = strlen(full);
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)full[i];

		h = (h ^ c) * 16777619u;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			full[i] = '_';
	}
	if (n <= 64)
		return full;
	out = xasprintf("%.55s_%08x", full, h);
	free(full);
	return out;
}

/* ---- log ---- */

static void
mcp_log(struct mcp_server *s, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
mcp_log(struct mcp_server *s, const char *fmt, ...)
{
	struct mcp *m = s->m;
	char *line, stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	snprintf(s->last_log, sizeof s->last_log, "%s", line);
	if (!m->log_tried) {
		char *dir = util_xdg_dir("STATE"), *path = xasprintf("%s/mcp.log", dir);

		m->log_tried = true;
		if (util_mkdirs(dir) == 0)
			m->log = fopen(path, "ae");
		free(path);
		free(dir);
	}
	if (m->log != NULL) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(m->log, "%s [%s] %s\n", stamp, s->name, line);
		fflush(m->log);
	}
	free(line);
}

/* ---- servers ---- */

const char *
mcp_state_name(enum mcp_state st)
{
	static const char *const names[] = { "idle", "starting", "ready", "failed", "disabled" };

	return names[st];
}

static void mcp_tools_rebuild(struct mcp *m);
static void mcp_start_done(struct mcp_server *s);

static void
mcp_changed(struct mcp *m)
{
	/* a callback may unwatch: walk a copy */
	size_t n = m->nwatch;
	struct mcp_watch *w = n ? xcalloc(n, sizeof *w) : NULL;

	if (n)
		memcpy(w, m->watch, n * sizeof *w);
	for (size_t i = 0; i < n; i++) {
		bool still = false;

		for (size_t j = 0; j < m->nwatch; j++)
			still = still || (m->watch[j].cb == w[i].cb && m->watch[j].arg == w[i].arg);
		if (still)
			w[i].cb(w[i].arg);
	}
	free(w);
}

static void
mcp_reap(void *arg)
{
	struct mcp_server *s = arg;

	s->reaper = NULL;
	s->ops->free(s->dead, util_now_ms());
	s->dead = NULL;
}

static void
mcp_server_fail(struct mcp_server *s, const char *fmt, ...) PRINTFLIKE(2, 3);

/* The server cannot be used: say why, answer everything waiting on it. */
static void
mcp_server_fail(struct mcp_server *s, const char *fmt, ...)
{
	struct mcp_rpc *r;
	bool was_ready = s->state == MCP_READY;
	va_list ap;

	if (s->state == MCP_FAILED)
		return;
	free(s->error);
	va_start(ap, fmt);
	s->error = xvasprintf(fmt, ap);
	va_end(ap);
	s->state = MCP_FAILED;
	mcp_log(s, "failed: %s", s->error);
	if (s->t != NULL) {
		/* this may run inside the transport's own callback: it is freed
		 * once that has returned */
		s->ops->hangup(s->t);
		s->dead = s->t;
		s->t = NULL;
		s->reaper = loop_timer_add(s->m->a->loop, 0, mcp_reap, s);
	}
	while ((r = s->rpcs) != NULL) {
		s->rpcs = r->next;
		loop_timer_cancel(s->m->a->loop, r->timer);
		r->cb(s, NULL, s->error, r->arg);
		free(r->method);
		free(r->text);
		free(r);
	}
	if (was_ready) {
		mcp_tools_rebuild(s->m);
		mcp_changed(s->m);
	} else
		mcp_start_done(s);
}

static void
mcp_send_json(struct mcp_server *s, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	json_decref(msg);
	if (s->t != NULL)
		s->ops->send(s->t, text, strlen(text));
	free(text);
}

static void
mcp_rpc_timeout(void *arg)
{
	struct mcp_rpc *r = arg, **pp;
	struct mcp_server *s = r->s;
	char *why;

	r->timer = NULL;
	for (pp = &s->rpcs; *pp != NULL && *pp != r; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;
	*pp = r->next;
	mcp_send_json(s, json_pack("{s:s, s:s, s:{s:I, s:s}}", "jsonrpc", "2.0", "method", "notifications/cancelled", "params", "requestId", r->id, "reason", "timed out"));
	why = xasprintf("%s timed out after %lld s", r->method, (long long)(s->timeout_ms / 1000));
	mcp_log(s, "%s", why);
	r->cb(s, NULL, why, r->arg);
	free(why);
	free(r->method);
	free(r->text);
	free(r);
}

static struct mcp_rpc *
mcp_request(struct mcp_server *s, const char *method, json_t *params, mcp_rpc_cb cb, void *arg)
{
	struct mcp_rpc *r = xcalloc(1, sizeof *r), **pp;
	json_t *msg;

	r->s = s;
	r->id = ++s->next_id;
	r->method = xstrdup(method);
	r->cb = cb;
	r->arg = arg;
	r->timer = loop_timer_add(s->m->a->loop, s->timeout_ms, mcp_rpc_timeout, r);
	for (pp = &s->rpcs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;
	msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", r->id, "method", method);
	if (params != NULL)
		json_object_set_new(msg, "params", params);
	r->text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s->t != NULL)
		s->ops->send(s->t, r->text, strlen(r->text));
	return r;
}

/* Forget a request without answering it (a cancelled call). */
static void
mcp_rpc_drop(struct mcp_server *s, struct mcp_rpc *r)
{
	struct mcp_rpc **pp;

	for (pp = &s->rpcs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			loop_timer_cancel(s->m->a->loop, r->timer);
			free(r->method);
			free(r->text);
			free(r);
			return;
		}
	}
}

/* ---- tools ---- */

static void
mcp_tool_clear(struct mcp_tool *t)
{
	free(t->name);
	free(t->llm_name);
	free(t->title);
	free(t->description);
	json_decref(t->schema);
}

static bool
mcp_hint(json_t *ann, const char *key, bool dflt)
{
	json_t *v = json_object_get(ann, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* The tools of a finished listing replace the server's. */
static void
mcp_tools_take(struct mcp_server *s, json_t *list)
{
	struct mcp_tool **old = s->tools;
	size_t i, n = 0, nold = s->ntools;
	json_t *t;

	s->tools = xcalloc(json_array_size(list) + 1, sizeof *s->tools);
	json_array_foreach(list, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));
		json_t *ann = json_object_get(t, "annotations"), *schema = json_object_get(t, "inputSchema");
		const char *title = json_string_value(json_object_get(t, "title"));
		struct mcp_tool *mt;

		if (name == NULL || name[0] == '\0') {
			mcp_log(s, "a tool without a name was left out");
			continue;
		}
		mt = NULL;
		for (size_t j = 0; j < nold && mt == NULL; j++) {
			if (old[j] != NULL && strcmp(old[j]->name, name) == 0) {
				mt = old[j];
				old[j] = NULL;
				mcp_tool_clear(mt);
				memset(mt, 0, sizeof *mt);
			}
		}
		if (mt == NULL)
			mt = xcalloc(1, sizeof *mt);
		s->tools[n++] = mt;
		mt->server = s;
		mt->name = xstrdup(name);
		if (title == NULL)
			title = json_string_value(json_object_get(ann, "title"));
		mt->title = title ? xstrdup(title) : NULL;
		mt->description = json_is_string(json_object_get(t, "description"))
		    ? xstrdup(json_string_value(json_object_get(t, "description")))
		    : NULL;
		mt->schema = json_is_object(schema) ? json_deep_copy(schema) : json_object();
		json_object_del(mt->schema, "$schema");
		if (json_object_get(mt->schema, "type") == NULL)
			json_object_set_new(mt->schema, "type", json_string("object"));
		if (json_object_get(mt->schema, "properties") == NULL)
			json_object_set_new(mt->schema, "properties", json_object());
		mt->read_only = mcp_hint(ann, "readOnlyHint", false);
		mt->destructive = mcp_hint(ann, "destructiveHint", true) && !mt->read_only;
		mt->idempotent = mcp_hint(ann, "idempotentHint", false);
		mt->open_world = mcp_hint(ann, "openWorldHint", true);
	}
	s->ntools = n;
	for (size_t j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		s->retired = xreallocarray(s->retired, s->nretired + 1, sizeof *s->retired);
		s->retired[s->nretired++] = old[j];
	}
	free(old);
}

static bool
mcp_name_taken(struct mcp *m, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(m->tools[i]->llm_name, name) == 0)
			return true;
	return false;
}

/* Whether t is offered: not turned off, and among those --tools named for
 * its server (if it named any). */
static void
mcp_tool_pick(const struct mcp *m, const struct mcp_server *s, struct mcp_tool *t)
{
	t->enabled = json_object_get(m->off, t->llm_name) == NULL;
	if (s->only != NULL) {
		size_t q;
		json_t *o;
		bool in = false;

		json_array_foreach(s->only, q, o)
		{
			in = in || util_streq(json_string_value(o), t->llm_name) || util_streq(json_string_value(o), t->name);
		}
		t->enabled = t->enabled && in;
	}
}

static void
mcp_tools_rebuild(struct mcp *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->state == MCP_READY)
			n += m->v[i]->ntools;
	free(m->tools);
	m->tools = n ? xcalloc(n, sizeof *m->tools) : NULL;
	m->ntools = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct mcp_server *s = m->v[i];

		if (s->state != MCP_READY)
			continue;
		for (size_t j = 0; j < s->ntools; j++) {
			struct mcp_tool *t = s->tools[j];
			char *name = mcp_llm_name(s->name, t->name);

			for (int k = 2; mcp_name_taken(m, m->ntools, name); k++) {
				char *base = mcp_llm_name(s->name, t->name), *alt;

				if (strlen(base) > 60)
					base[60] = '\0';
				alt = xasprintf("%s_%d", base, k);
				free(base);
				free(name);
				name = alt;
			}
			free(t->llm_name);
			t->llm_name = name;
			mcp_tool_pick(m, s, t);
			m->tools[m->ntools++] = t;
		}
	}
}

static void mcp_list_page(struct mcp_server *s, const char *cursor);

static void
mcp_listed(struct mcp_server *s, json_t *result, const char *err, void *arg)
{
	const char *cursor = json_string_value(json_object_get(result, "nextCursor"));
	json_t *tools = json_object_get(result, "tools");
	bool first = s->state != MCP_READY;

	(void)arg;
	if (err != NULL) {
		s->listing = false;
		json_decref(s->page);
		s->page = NULL;
		if (first)
			mcp_server_fail(s, "tools/list failed: %s", err);
		else
			mcp_log(s, "tools/list failed: %s; keeping the tools it had", err);
		return;
	}
	if (!json_is_array(tools)) {
		s->listing = false;
		json_decref(s->page);
		s->page = NULL;
		if (first)
			mcp_server_fail(s, "tools/list answered without a tools array");
		return;
	}
	json_array_extend(s->page, tools);
	if (cursor != NULL && cursor[0] != '\0') {
		if (++s->pages >= MCP_LIST_PAGES) {
			mcp_log(s, "tools/list: stopped after %d pages", MCP_LIST_PAGES);
		} else {
			mcp_list_page(s, cursor);
			return;
		}
	}
	mcp_tools_take(s, s->page);
	json_decref(s->page);
	s->page = NULL;
	s->listing = false;
	if (first) {
		s->state = MCP_READY;
		s->ready_ms = util_now_ms() - s->t_start;
		mcp_log(s, "ready in %lld ms: %zu tools", (long long)s->ready_ms, s->ntools);
		mcp_tools_rebuild(s->m);
		mcp_start_done(s);
	} else {
		mcp_log(s, "tools changed: %zu tools", s->ntools);
		mcp_tools_rebuild(s->m);
		mcp_changed(s->m);
	}
	if (s->relist && s->state == MCP_READY) {
		s->relist = false;
		mcp_list_page(s, NULL);
	}
}

static void
mcp_list_page(struct mcp_server *s, const char *cursor)
{
	if (cursor == NULL) {
		s->listing = true;
		s->pages = 0;
		json_decref(s->page);
		s->page = json_array();
	}
	mcp_request(s, "tools/list", cursor ? json_pack("{s:s}", "cursor", cursor) : NULL, mcp_listed, NULL);
}

/* ---- lifecycle ---- */

static bool
mcp_version_known(const char *v)
{
	for (size_t i = 0; i < sizeof mcp_versions / sizeof mcp_versions[0]; i++)
		if (util_streq(v, mcp_versions[i]))
			return true;
	return false;
}

static void mcp_initialize(struct mcp_server *s, const char *version);

static void
mcp_initialized(struct mcp_server *s, json_t *result, const char *err, void *arg)
{
	const char *v = json_string_value(json_object_get(result, "protocolVersion"));

	(void)arg;
	if (err != NULL) {
		mcp_server_fail(s, "initialize failed: %s", err);
		return;
	}
	if (!mcp_version_known(v)) {
		mcp_server_fail(s, "the server speaks protocol version %s; parley speaks 2025-11-25, 2025-06-18, "
		                   "2025-03-26 and 2024-11-05",
		    v ? v : "(none)");
		return;
	}
	free(s->version);
	s->version = xstrdup(v);
	s->ops->set_version(s->t, v);
	json_decref(s->info);
	s->info = json_incref(json_object_get(result, "serverInfo"));
	s->tools_changed_cap = json_is_true(json_object_get(json_object_get(json_object_get(result, "capabilities"), "tools"), "listChanged"));
	mcp_log(s, "initialized: protocol %s, server %s %s", v, json_string_value(json_object_get(s->info, "name")),
	    json_string_value(json_object_get(s->info, "version")));
	mcp_send_json(s, json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", "notifications/initialized"));
	if (s->state == MCP_READY) {
		/* a new session: what waited on the old one goes again */
		for (struct mcp_rpc *r = s->rpcs; r != NULL; r = r->next)
			s->ops->send(s->t, r->text, strlen(r->text));
		return;
	}
	if (json_object_get(json_object_get(result, "capabilities"), "tools") == NULL) {
		/* a server of prompts or resources only: ready, with no tools */
		json_t *none = json_pack("{s:[]}", "tools");

		s->page = json_array();
		mcp_listed(s, none, NULL, NULL);
		json_decref(none);
		return;
	}
	mcp_list_page(s, NULL);
}

/* An initialize refused with the versions the server has: try the best
 * of them parley knows, once. */
static void
mcp_init_answer(struct mcp_server *s, json_t *result, const char *err, void *arg)
{
	json_t *supported = arg, *v;
	size_t i;

	if (err != NULL && supported != NULL && !s->init_retried) {
		json_array_foreach(supported, i, v)
		{
			if (mcp_version_known(json_string_value(v))) {
				s->init_retried = true;
				mcp_initialize(s, json_string_value(v));
				json_decref(supported);
				return;
			}
		}
	}
	json_decref(supported);
	mcp_initialized(s, result, err, NULL);
}

static void
mcp_initialize(struct mcp_server *s, const char *version)
{
	json_t *params = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}}", "protocolVersion", version, "capabilities", "roots",
	    "listChanged", 0, "clientInfo", "name", "parley", "title", "parley", "version", PARLEY_VERSION);

	mcp_request(s, "initialize", params, mcp_init_answer, NULL);
}

/* ---- incoming ---- */

static void
mcp_answer(struct mcp_server *s, json_t *id, json_t *result, int code, const char *msg)
{
	json_t *o = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id);

	if (result != NULL)
		json_object_set_new(o, "result", result);
	else
		json_object_set_new(o, "error", json_pack("{s:i, s:s}", "code", code, "message", msg));
	mcp_send_json(s, o);
}

static json_t *
mcp_roots(struct mcp_server *s)
{
	json_t *roots = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(s->conf, "roots"), i, v)
	{
		const char *p = json_string_value(v);
		char *uri, *abs = p ? realpath(p, NULL) : NULL;

		if (abs == NULL)
			continue;
		uri = xasprintf("file://%s", abs);
		json_array_append_new(roots, json_pack("{s:s}", "uri", uri));
		free(uri);
		free(abs);
	}
	return json_pack("{s:o}", "roots", roots);
}

static void
mcp_on_request(struct mcp_server *s, json_t *id, const char *method)
{
	if (strcmp(method, "ping") == 0)
		mcp_answer(s, id, json_object(), 0, NULL);
	else if (strcmp(method, "roots/list") == 0)
		mcp_answer(s, id, mcp_roots(s), 0, NULL);
	else {
		/* sampling/createMessage, elicitation/create and the rest: parley
		 * does not advertise them */
		mcp_log(s, "refused %s: parley does not offer it", method);
		mcp_answer(s, id, NULL, -32601, "Method not found");
	}
}

static struct mcp_call *
mcp_call_of_token(struct mcp_server *s, json_t *token)
{
	for (struct mcp_call *c = s->calls; c != NULL; c = c->next)
		if (json_is_integer(token) && c->rpc != NULL && json_integer_value(token) == c->rpc->id)
			return c;
	return NULL;
}

static void
mcp_on_notification(struct mcp_server *s, const char *method, json_t *params)
{
	if (strcmp(method, "notifications/tools/list_changed") == 0) {
		if (s->state != MCP_READY || s->listing)
			s->relist = s->state == MCP_READY || s->listing;
		else
			mcp_list_page(s, NULL);
	} else if (strcmp(method, "notifications/progress") == 0) {
		struct mcp_call *c = mcp_call_of_token(s, json_object_get(params, "progressToken"));

		if (c == NULL)
			return; /* a cancelled call's, or stray */
		/* progress keeps a call alive, up to MCP_CALL_MAX_MS in all */
		if (util_now_ms() - c->t0 < MCP_CALL_MAX_MS) {
			loop_timer_cancel(s->m->a->loop, c->rpc->timer);
			c->rpc->timer = loop_timer_add(s->m->a->loop, s->timeout_ms, mcp_rpc_timeout, c->rpc);
		}
		if (c->progress != NULL)
			c->progress(json_number_value(json_object_get(params, "progress")),
			    json_number_value(json_object_get(params, "total")),
			    json_string_value(json_object_get(params, "message")), c->arg);
	} else if (strcmp(method, "notifications/message") == 0) {
		json_t *data = json_object_get(params, "data");
		char *text = json_is_string(data) ? xstrdup(json_string_value(data)) : json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);

		mcp_log(s, "%s: %s", json_string_value(json_object_get(params, "level")) ?: "log", text ? text : "");
		free(text);
	}
}

static void
mcp_on_response(struct mcp_server *s, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *error = json_object_get(msg, "error");
	struct mcp_rpc *r, **pp;
	json_t *supported = NULL;
	char *why = NULL;

	if (!json_is_integer(id))
		return;
	for (pp = &s->rpcs; *pp != NULL && (*pp)->id != json_integer_value(id); pp = &(*pp)->next)
		;
	if ((r = *pp) == NULL)
		return; /* late, after a timeout or a cancel */
	*pp = r->next;
	loop_timer_cancel(s->m->a->loop, r->timer);
	if (error != NULL) {
		const char *m = json_string_value(json_object_get(error, "message"));

		why = xasprintf("%s (code %lld)", m ? m : "error", (long long)json_integer_value(json_object_get(error, "code")));
		supported = json_object_get(json_object_get(error, "data"), "supported");
	}
	if (r->cb == mcp_init_answer)
		r->arg = json_is_array(supported) ? json_incref(supported) : NULL;
	r->cb(s, error == NULL ? json_object_get(msg, "result") : NULL, why, r->arg);
	free(why);
	free(r->method);
	free(r->text);
	free(r);
}

static void
mcp_on_one(struct mcp_server *s, json_t *msg)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *id = json_object_get(msg, "id");

	if (!json_is_object(msg)) {
		mcp_log(s, "ignored a message that is not an object");
		return;
	}
	if (method != NULL && id != NULL && !json_is_null(id))
		mcp_on_request(s, id, method);
	else if (method != NULL)
		mcp_on_notification(s, method, json_object_get(msg, "params"));
	else if (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL)
		mcp_on_response(s, msg);
	else
		mcp_log(s, "ignored a message that is neither request, notification nor response");
}

static void
mcp_t_message(const char *data, size_t len, void *arg)
{
	struct mcp_server *s = arg;
	json_error_t e;
	json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e), *one;
	size_t i;

	if (msg == NULL) {
		/* servers that print banners on stdout exist; skip, keep going */
		mcp_log(s, "ignored a line that is not JSON (%s): %.200s", e.text, data);
		return;
	}
	if (json_is_array(msg)) {
		json_array_foreach(msg, i, one)
		{
			mcp_on_one(s, one);
		}
	} else
		mcp_on_one(s, msg);
	json_decref(msg);
}

static void
mcp_t_closed(const char *why, void *arg)
{
	struct mcp_server *s = arg;

	if (s->last_log[0] != '\0')
		mcp_server_fail(s, "the server %s (last said: %s)", why, s->last_log);
	else
		mcp_server_fail(s, "the server %s", why);
}

static void
mcp_t_reset(void *arg)
{
	struct mcp_server *s = arg;

	if (s->state != MCP_READY)
		mcp_server_fail(s, "the server ended the session while it was starting");
	else if (++s->resets > 3)
		mcp_server_fail(s, "the server keeps ending the session");
	else
		mcp_initialize(s, s->version ? s->version : mcp_versions[0]);
}

static void
mcp_t_log(const char *line, void *arg)
{
	mcp_log(arg, "%s", line);
}

static const struct mcp_transport_cbs mcp_cbs = { mcp_t_message, mcp_t_closed, mcp_t_reset, mcp_t_log };

/* ---- the set ---- */

struct mcp *
mcp_new(struct app *a, json_t *servers)
{
	struct mcp *m = xcalloc(1, sizeof *m);
	const char *name;
	json_t *conf;

	m->a = a;
	m->conf = servers ? servers : json_object();
	m->off = json_object();
	m->v = xcalloc(json_object_size(m->conf) + 1, sizeof *m->v);
	json_object_foreach(m->conf, name, conf)
	{
		struct mcp_server *s = xcalloc(1, sizeof *s);
		json_t *to = json_object_get(conf, "timeout");

		s->m = m;
		s->name = xstrdup(name);
		s->conf = conf;
		s->ops = json_object_get(conf, "url") != NULL ? &mcp_http_ops : &mcp_stdio_ops;
		s->state = json_is_true(json_object_get(conf, "disabled")) ? MCP_DISABLED : MCP_IDLE;
		s->picked = s->state != MCP_DISABLED;
		s->timeout_ms = json_is_number(to) && json_number_value(to) > 0 ? (int64_t)(json_number_value(to) * 1000) : MCP_TIMEOUT_MS;
		m->v[m->n++] = s;
	}
	return m;
}

void
mcp_free(struct mcp *m)
{
	int64_t deadline = util_now_ms() + 2000;

	if (m == NULL)
		return;
	loop_timer_cancel(m->a->loop, m->done_timer);
	/* every server is told at once, then each is waited for */
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->t != NULL)
			m->v[i]->ops->hangup(m->v[i]->t);
	for (size_t i = 0; i < m->n; i++) {
		struct mcp_server *s = m->v[i];
		struct mcp_rpc *r;
		struct mcp_call *c;

		if (s->t != NULL)
			s->ops->free(s->t, deadline);
		loop_timer_cancel(m->a->loop, s->reaper);
		if (s->dead != NULL)
			s->ops->free(s->dead, deadline);
		while ((r = s->rpcs) != NULL) {
			s->rpcs = r->next;
			loop_timer_cancel(m->a->loop, r->timer);
			free(r->method);
			free(r->text);
			free(r);
		}
		while ((c = s->calls) != NULL) {
			s->calls = c->next;
			loop_timer_cancel(m->a->loop, c->late);
			free(c);
		}
		for (size_t j = 0; j < s->ntools; j++) {
			mcp_tool_clear(s->tools[j]);
			free(s->tools[j]);
		}
		for (size_t j = 0; j < s->nretired; j++) {
			mcp_tool_clear(s->retired[j]);
			free(s->retired[j]);
		}
		free(s->tools);
		free(s->retired);
		json_decref(s->page);
		json_decref(s->only);
		json_decref(s->info);
		free(s->version);
		free(s->error);
		free(s->name);
		free(s);
	}
	if (m->log != NULL)
		fclose(m->log);
	free(m->v);
	free(m->watch);
	free(m->tools);
	json_decref(m->off);
	json_decref(m->conf);
	free(m);
}

static void
mcp_done_timer(void *arg)
{
	struct mcp *m = arg;

	m->done_timer = NULL;
	if (m->done != NULL)
		m->done(m->done_arg);
}

static void
mcp_start_done(struct mcp_server *s)
{
	struct mcp *m = s->m;

	if (m->starting == 0)
		return;
	if (--m->starting == 0 && m->done_timer == NULL)
		m->done_timer = loop_timer_add(m->a->loop, 0, mcp_done_timer, m);
}

void
mcp_start(struct mcp *m, void (*done)(void *arg), void *arg)
{
	m->done = done;
	m->done_arg = arg;
	m->started = true;
	m->starting = 1; /* held until every server is under way */
	for (size_t i = 0; i < m->n; i++) {
		struct mcp_server *s = m->v[i];
		char *cause = NULL;

		if (!s->picked || s->state != MCP_IDLE)
			continue;
		m->starting++;
		s->state = MCP_STARTING;
		s->t_start = util_now_ms();
		s->ready_ms = -1;
		mcp_log(s, "starting (%s %s)", s->ops->name, mcp_server_target(s));
		s->t = s->ops->open(m->a, s->conf, &mcp_cbs, s, &cause);
		if (s->t == NULL) {
			mcp_server_fail(s, "%s", cause);
			free(cause);
			continue;
		}
		mcp_initialize(s, mcp_versions[0]);
	}
	m->starting--;
	if (m->starting == 0 && m->done_timer == NULL)
		m->done_timer = loop_timer_add(m->a->loop, 0, mcp_done_timer, m);
}

int
mcp_pick(struct mcp *m, const char *list, char **cause)
{
	char *copy, *save = NULL;
	int rc = 0;

	if (list == NULL || strcmp(list, "all") == 0 || list[0] == '\0')
		return 0;
	for (size_t i = 0; i < m->n; i++)
		m->v[i]->picked = false;
	copy = xstrdup(list);
	for (char *item = strtok_r(copy, ",", &save); item != NULL && rc == 0; item = strtok_r(NULL, ",", &save)) {
		struct mcp_server *s;
		char *sep;

		while (*item == ' ')
			item++;
		if ((s = mcp_server_find(m, item)) != NULL) {
			s->picked = true;
			json_decref(s->only);
			s->only = NULL;
			continue;
		}
		sep = strstr(item, "__");
		if (sep != NULL) {
			*sep = '\0';
			s = mcp_server_find(m, item);
			*sep = '_';
		}
		if (s == NULL) {
			rc = util_fail(cause, "--tools: %s is neither a configured MCP server nor SERVER__TOOL (servers: %s%s)", item,
			    m->n ? m->v[0]->name : "none configured", m->n > 1 ? ", ..." : "");
			break;
		}
		if (!s->picked || s->only != NULL) {
			if (s->only == NULL)
				s->only = json_array();
			json_array_append_new(s->only, json_string(item));
		}
		s->picked = true;
	}
	free(copy);
	return rc;
}

bool
mcp_relisting(const struct mcp *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->state == MCP_READY && (m->v[i]->listing || m->v[i]->relist))
			return true;
	return false;
}

void
mcp_watch(struct mcp *m, void (*cb)(void *arg), void *arg)
{
	m->watch = xreallocarray(m->watch, m->nwatch + 1, sizeof *m->watch);
	m->watch[m->nwatch].cb = cb;
	m->watch[m->nwatch].arg = arg;
	m->nwatch++;
}

void
mcp_unwatch(struct mcp *m, void (*cb)(void *arg), void *arg)
{
	for (size_t i = 0; i < m->nwatch; i++) {
		if (m->watch[i].cb == cb && m->watch[i].arg == arg) {
			memmove(&m->watch[i], &m->watch[i + 1], (m->nwatch - i - 1) * sizeof *m->watch);
			m->nwatch--;
			return;
		}
	}
}

size_t
mcp_server_count(const struct mcp *m)
{
	return m->n;
}

struct mcp_server *
mcp_server_at(const struct mcp *m, size_t i)
{
	return i < m->n ? m->v[i] : NULL;
}

struct mcp_server *
mcp_server_find(const struct mcp *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i]->name, name) == 0)
			return m->v[i];
	return NULL;
}

const char *
mcp_server_name(const struct mcp_server *s)
{
	return s->name;
}

enum mcp_state
mcp_server_state(const struct mcp_server *s)
{
	return s->state;
}

const char *
mcp_server_error(const struct mcp_server *s)
{
	return s->state == MCP_FAILED ? s->error : NULL;
}

const char *
mcp_server_transport(const struct mcp_server *s)
{
	return s->ops->name;
}

const char *
mcp_server_target(const struct mcp_server *s)
{
	const char *url = json_string_value(json_object_get(s->conf, "url"));

	return url != NULL ? url : json_string_value(json_object_get(s->conf, "display"));
}

const char *
mcp_server_version(const struct mcp_server *s)
{
	return s->version;
}

json_t *
mcp_server_info(const struct mcp_server *s)
{
	return s->info;
}

int64_t
mcp_server_ready_ms(const struct mcp_server *s)
{
	return s->state == MCP_READY ? s->ready_ms : -1;
}

bool
mcp_server_picked(const struct mcp_server *s)
{
	return s->picked;
}

size_t
mcp_tool_count(const struct mcp *m)
{
	return m->ntools;
}

struct mcp_tool *
mcp_tool_at(const struct mcp *m, size_t i)
{
	return i < m->ntools ? m->tools[i] : NULL;
}

struct mcp_tool *
mcp_tool_find(const struct mcp *m, const char *llm_name)
{
	for (size_t i = 0; llm_name != NULL && i < m->ntools; i++)
		if (strcmp(m->tools[i]->llm_name, llm_name) == 0)
			return m->tools[i];
	return NULL;
}

void
mcp_tool_enable(struct mcp *m, struct mcp_tool *t, bool on)
{
	t->enabled = on;
	if (on)
		json_object_del(m->off, t->llm_name);
	else
		json_object_set_new(m->off, t->llm_name, json_true());
}

void
mcp_set_off(struct mcp *m, const char *names)
{
	json_t *a = names != NULL ? json_loads(names, 0, NULL) : NULL, *v;
	size_t i;

	json_object_clear(m->off);
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v))
			json_object_set_new(m->off, json_string_value(v), json_true());
	}
	json_decref(a);
	for (i = 0; i < m->ntools; i++)
		mcp_tool_pick(m, m->tools[i]->server, m->tools[i]);
}

char *
mcp_off_names(const struct mcp *m)
{
	json_t *a;
	const char *k;
	json_t *v;
	char *s;

	if (json_object_size(m->off) == 0)
		return NULL;
	a = json_array();
	json_object_foreach((json_t *)m->off, k, v)
	{
		json_array_append_new(a, json_string(k));
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

json_t *
mcp_tools_json(const struct mcp *m)
{
	json_t *out = json_array();

	for (size_t i = 0; i < m->ntools; i++) {
		const struct mcp_tool *t = m->tools[i];
		json_t *fn;

		if (!t->enabled || !t->server->picked || t->server->state != MCP_READY)
			continue;
		fn = json_pack("{s:s, s:O}", "name", t->llm_name, "parameters", t->schema);
		if (t->description != NULL || t->title != NULL)
			json_object_set_new(fn, "description", json_string(t->description ? t->description : t->title));
		json_array_append_new(out, json_pack("{s:s, s:o}", "type", "function", "function", fn));
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- calls ---- */

/* A tool's content as the text the model gets back (mcp.md 8.1). */
static char *
mcp_result_text(json_t *result)
{
	json_t *content = json_object_get(result, "content"), *b, *sc = json_object_get(result, "structuredContent");
	struct buf out = { 0 };
	size_t i;

	json_array_foreach(content, i, b)
	{
		const char *type = json_string_value(json_object_get(b, "type"));
		const char *mime = json_string_value(json_object_get(b, "mimeType"));
		json_t *res = json_object_get(b, "resource");

		if (out.len > 0)
			buf_putc(&out, '\n');
		if (util_streq(type, "text"))
			buf_puts(&out, json_string_value(json_object_get(b, "text")) ?: "");
		else if (util_streq(type, "image") || util_streq(type, "audio"))
			buf_printf(&out, "[%s %s, %zu bytes]", type, mime ? mime : "?",
			    json_string_length(json_object_get(b, "data")) / 4 * 3);
		else if (util_streq(type, "resource_link"))
			buf_printf(&out, "[resource link %s: %s]", json_string_value(json_object_get(b, "name")) ?: "",
			    json_string_value(json_object_get(b, "uri")) ?: "");
		else if (util_streq(type, "resource") && json_is_string(json_object_get(res, "text")))
			buf_puts(&out, json_string_value(json_object_get(res, "text")));
		else if (util_streq(type, "resource"))
			buf_printf(&out, "[resource %s, %s]", json_string_value(json_object_get(res, "uri")) ?: "",
			    json_string_value(json_object_get(res, "mimeType")) ?: "binary");
		else
			buf_printf(&out, "[unsupported content %s]", type ? type : "without a type");
	}
	if (out.len == 0 && sc != NULL) {
		char *j = json_dumps(sc, JSON_COMPACT | JSON_ENCODE_ANY);

		buf_puts(&out, j ? j : "");
		free(j);
	}
	if (out.len > MCP_RESULT_MAX) {
		size_t cut = util_utf8_complete(out.data, MCP_RESULT_MAX), all = out.len;

		out.len = cut;
		out.data[cut] = '\0';
		buf_printf(&out, "\n[... cut: the result had %zu bytes, the first %zu are here]", all, cut);
	}
	return out.data ? buf_steal(&out) : xstrdup("");
}

static void
mcp_call_unlink(struct mcp_call *c)
{
	struct mcp_call **pp;

	for (pp = &c->s->calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void
mcp_called(struct mcp_server *s, json_t *result, const char *err, void *arg)
{
	struct mcp_call *c = arg;
	struct mcp_result res = { 0 };

	(void)s;
	c->rpc = NULL;
	mcp_call_unlink(c);
	res.ms = util_now_ms() - c->t0;
	res.us = (util_now_ns() - c->t0_ns) / 1000;
	if (err != NULL) {
		res.rpc_error = true;
		res.text = xasprintf("Error: %s", err);
	} else {
		char *text = mcp_result_text(result);

		res.is_error = json_is_true(json_object_get(result, "isError"));
		res.text = res.is_error && strncmp(text, "Error", 5) != 0 ? xasprintf("Error: %s", text) : xstrdup(text);
		free(text);
	}
	c->cb(&res, c->arg);
	free(res.text);
	free(c);
}

static void
mcp_call_late(void *arg)
{
	struct mcp_call *c = arg;
	struct mcp_result res = { .rpc_error = true };

	c->late = NULL;
	res.text = xasprintf("Error: the MCP server %s is not running: %s", c->s->name,
	    c->s->error ? c->s->error : mcp_state_name(c->s->state));
	mcp_call_unlink(c);
	c->cb(&res, c->arg);
	free(res.text);
	free(c);
}

struct mcp_call *
mcp_call(struct mcp_tool *t, const char *args, mcp_call_cb cb, void *arg)
{
	struct mcp_server *s = t->server;
	struct mcp_call *c = xcalloc(1, sizeof *c);
	json_t *a = args != NULL && args[0] != '\0' ? json_loads(args, 0, NULL) : json_object();
	json_t *params;

	c->s = s;
	c->cb = cb;
	c->arg = arg;
	c->t0 = util_now_ms();
	c->t0_ns = util_now_ns();
	c->next = s->calls;
	s->calls = c;
	if (s->state != MCP_READY) {
		json_decref(a);
		/* answered later, like every call */
		c->late = loop_timer_add(s->m->a->loop, 0, mcp_call_late, c);
		return c;
	}
	if (!json_is_object(a)) {
		json_decref(a);
		a = json_object();
		mcp_log(s, "%s: the model's arguments were not a JSON object; sent {}", t->name);
	}
	/* the request's own id is its progress token, as the SDK does */
	params = json_pack("{s:s, s:o, s:{s:I}}", "name", t->name, "arguments", a, "_meta", "progressToken",
	    (json_int_t)(s->next_id + 1));
	c->rpc = mcp_request(s, "tools/call", params, mcp_called, c);
	return c;
}

void
mcp_call_on_progress(struct mcp_call *c, void (*cb)(double progress, double total, const char *msg, void *arg))
{
	c->progress = cb;
}

void
mcp_call_cancel(struct mcp_call *c, const char *reason)
{
	struct mcp_server *s;

	if (c == NULL)
		return;
	s = c->s;
	if (c->rpc != NULL) {
		mcp_send_json(s, json_pack("{s:s, s:s, s:{s:I, s:s}}", "jsonrpc", "2.0", "method", "notifications/cancelled", "params", "requestId", c->rpc->id, "reason", reason ? reason : "cancelled"));
		mcp_log(s, "cancelled call %lld: %s", (long long)c->rpc->id, reason ? reason : "cancelled");
		mcp_rpc_drop(s, c->rpc);
	}
	loop_timer_cancel(s->m->a->loop, c->late);
	mcp_call_unlink(c);
	free(c);
}
