/*
 * tools.c: the tool loop (tools.h). A struct tools watches one chat. On
 * its DONE the last reply's tool_calls (OpenAI shape, as chat.c stores
 * them) are taken in order: each is looked up by the name the model used,
 * approved by the policy, by an earlier "always", or by asking the face,
 * then run; its result becomes a tool message (tool_call_id and the
 * name, the time it took, and how it failed if it did). When the last has
 * its result, the chat is continued, and its next DONE comes back here.
 *
 * Every step runs from the loop (a zero-delay timer or an MCP answer),
 * never inside the chat's own event callback. A call that is not run
 * (declined, no such tool, round limit, stopped) still gets a result, so
 * the transcript never holds a call without an answer, which models and
 * OpenAI-compatible servers refuse.
 */
#include "tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct tools {
	struct chat *chat;
	struct mcp *mcp;
	enum tools_policy policy;
	int max_rounds, round;
	const struct tools_hooks *hooks;
	void *arg;
	json_t *calls; /* of the reply being handled */
	size_t next;
	struct tools_call cur;
	struct mcp_call *running;
	bool busy, asking;
	bool settling; /* results are in; waiting for a tool list to be fetched again */
	json_t *always; /* model tool names and "server:NAME" allowed for the session */
	struct loop_timer *timer;
	struct app *app;
};

static void tools_step(struct tools *t);

/* A server's tools changed: the model gets the new list with its next
 * request, which may have waited for it. */
static void
tools_changed(void *arg)
{
	struct tools *t = arg;

	tools_offer(t);
	if (t->settling && !mcp_relisting(t->mcp)) {
		t->settling = false;
		tools_step(t);
	}
}

struct mcp *
tools_mcp_open(struct app *a, const char *list, void (*done)(void *arg), void *arg, char **cause)
{
	json_t *servers;
	struct mcp *m;

	if (mcp_config_load(a->cfg->mcp_path, &servers, cause) != 0)
		return NULL;
	m = mcp_new(a, servers);
	if (mcp_pick(m, list, cause) != 0) {
		mcp_free(m);
		return NULL;
	}
	mcp_start(m, done, arg);
	return m;
}

void
tools_each_failure(const struct mcp *m, void (*cb)(void *arg, const char *line), void *arg)
{
	for (size_t i = 0; i < mcp_server_count(m); i++) {
		struct mcp_server *s = mcp_server_at(m, i);
		char *line;

		if (mcp_server_state(s) != MCP_FAILED)
			continue;
		line = xasprintf("MCP server %s: %s (its tools are left out)", mcp_server_name(s), mcp_server_error(s));
		cb(arg, line);
		free(line);
	}
}

enum tools_policy
tools_policy_of(const char *approve)
{
	if (util_streq(approve, "always"))
		return TOOLS_ALWAYS;
	if (util_streq(approve, "never"))
		return TOOLS_NEVER;
	return TOOLS_ASK;
}

struct tools *
tools_new(struct chat *c, struct mcp *m, enum tools_policy policy, int rounds, const struct tools_hooks *hooks,
    void *arg)
{
	struct tools *t = xcalloc(1, sizeof *t);

	t->chat = c;
	t->mcp = m;
	t->policy = policy;
	t->max_rounds = rounds > 0 ? rounds : TOOLS_ROUNDS;
	t->hooks = hooks;
	t->arg = arg;
	t->always = json_object();
	t->app = chat_app(c);
	mcp_watch(m, tools_changed, t);
	return t;
}

void
tools_free(struct tools *t)
{
	if (t == NULL)
		return;
	mcp_call_cancel(t->running, "parley is closing");
	mcp_unwatch(t->mcp, tools_changed, t);
	loop_timer_cancel(t->app->loop, t->timer);
	json_decref(t->calls);
	json_decref(t->always);
	free(t);
}

void
tools_offer(struct tools *t)
{
	/* the session's own /tools choices: another session may be on show
	 * since the last turn */
	mcp_set_off(t->mcp, chat_tools_off(t->chat));
	chat_set_tools(t->chat, mcp_tools_json(t->mcp), NULL);
}

void
tools_new_turn(struct tools *t)
{
	t->round = 0;
	tools_offer(t);
}

bool
tools_busy(const struct tools *t)
{
	return t->busy;
}

char *
tools_safe(const char *s, size_t max)
{
	struct buf b = { 0 };
	size_t n = strlen(s);

	for (size_t i = 0; i < n && i < max; i++)
		buf_putc(&b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (n > max)
		buf_printf(&b, "... (%zu bytes)", n);
	return b.data ? buf_steal(&b) : xstrdup("");
}

char *
tools_command(struct tools *t, const char *args, char **cause)
{
	struct buf b = { 0 };
	char hints[64];
	size_t n = 0, on = 0;
	bool enable;
	const char *what;

	if (t == NULL) {
		util_fail(cause, "no MCP tools are offered here: start parley with --tools all (or --tools SERVER,...)");
		return NULL;
	}
	while (*args == ' ')
		args++;
	mcp_set_off(t->mcp, chat_tools_off(t->chat));
	if (*args == '\0') {
		for (size_t i = 0; i < mcp_tool_count(t->mcp); i++) {
			struct mcp_tool *tool = mcp_tool_at(t->mcp, i);

			on += tool->enabled;
			buf_printf(&b, "%s %s [%s]\n", tool->enabled ? "on " : "off", tool->llm_name,
			    tools_hints(tool, hints, sizeof hints));
		}
		for (size_t i = 0; i < mcp_server_count(t->mcp); i++) {
			struct mcp_server *s = mcp_server_at(t->mcp, i);

			if (mcp_server_state(s) == MCP_FAILED)
				buf_printf(&b, "server %s failed: %s\n", mcp_server_name(s), mcp_server_error(s));
		}
		buf_printf(&b, "%zu of %zu tools offered (/tools off NAME|SERVER|all, /tools on ...)", on,
		    mcp_tool_count(t->mcp));
		return buf_steal(&b);
	}
	if (strncmp(args, "on ", 3) == 0)
		enable = true;
	else if (strncmp(args, "off ", 4) == 0)
		enable = false;
	else {
		util_fail(cause, "usage: /tools [on|off NAME|SERVER|all]");
		return NULL;
	}
	what = args + (enable ? 3 : 4);
	while (*what == ' ')
		what++;
	for (size_t i = 0; i < mcp_tool_count(t->mcp); i++) {
		struct mcp_tool *tool = mcp_tool_at(t->mcp, i);

		if (strcmp(what, "all") == 0 || strcmp(what, tool->llm_name) == 0 ||
		    strcmp(what, mcp_server_name(tool->server)) == 0) {
			mcp_tool_enable(t->mcp, tool, enable);
			n++;
		}
	}
	if (n == 0) {
		util_fail(cause, "no tool or server is called %s (see /tools)", what);
		return NULL;
	}
	{
		/* kept with the session, for the next time it is opened */
		char *off = mcp_off_names(t->mcp), *why = NULL, *text;

		chat_set_tools_off(t->chat, off);
		free(off);
		tools_offer(t);
		if (chat_save_settings(t->chat, &why) != 0) {
			text = xasprintf("%zu tool%s %s (not saved with the session: %s)", n, n == 1 ? "" : "s",
			    enable ? "on" : "off", why);
			free(why);
			return text;
		}
	}
	return xasprintf("%zu tool%s %s", n, n == 1 ? "" : "s", enable ? "on" : "off");
}

const char *
tools_hints(const struct mcp_tool *tool, char *buf, size_t len)
{
	if (tool == NULL)
		snprintf(buf, len, "unknown tool");
	else
		snprintf(buf, len, "%s%s%s", tool->read_only ? "read-only" : tool->destructive ? "destructive"
		                                                                               : "writes",
		    tool->idempotent ? ", idempotent" : "", tool->open_world ? ", open world" : "");
	return buf;
}

static void
tools_end(struct tools *t, const char *why)
{
	t->busy = false;
	t->asking = false;
	json_decref(t->calls);
	t->calls = NULL;
	if (t->hooks->ended != NULL)
		t->hooks->ended(t, why, t->arg);
}

/* The current call's result goes into the transcript. false if the chat
 * would not take it (the run has then ended). */
static bool
tools_record(struct tools *t, const char *text, const char *error, int64_t ms)
{
	char *cause = NULL;

	if (chat_append_tool(t->chat, t->cur.id, t->cur.name, text, error, ms, &cause) != 0) {
		char *why = xasprintf("cannot record the result of %s: %s", t->cur.name, cause);

		free(cause);
		tools_end(t, why);
		free(why);
		return false;
	}
	if (t->hooks->finished != NULL)
		t->hooks->finished(t, &t->cur, text, error, ms, t->arg);
	return true;
}

static void
tools_fill(struct tools *t, size_t i)
{
	json_t *c = json_array_get(t->calls, i), *fn = json_object_get(c, "function");

	t->cur.id = json_string_value(json_object_get(c, "id"));
	if (t->cur.id == NULL)
		t->cur.id = "";
	t->cur.name = json_string_value(json_object_get(fn, "name"));
	if (t->cur.name == NULL)
		t->cur.name = "";
	t->cur.args = json_string_value(json_object_get(fn, "arguments"));
	if (t->cur.args == NULL)
		t->cur.args = "{}";
	t->cur.tool = mcp_tool_find(t->mcp, t->cur.name);
	t->cur.round = t->round;
	t->cur.index = i;
	t->cur.count = json_array_size(t->calls);
}

static void
tools_timer(void *arg)
{
	struct tools *t = arg;

	t->timer = NULL;
	tools_step(t);
}

static void
tools_later(struct tools *t)
{
	if (t->timer == NULL)
		t->timer = loop_timer_add(t->app->loop, 0, tools_timer, t);
}

static void
tools_result(const struct mcp_result *res, void *arg)
{
	struct tools *t = arg;
	const char *error = NULL;

	t->running = NULL;
	if (res->rpc_error)
		error = strncmp(res->text, "Error: ", 7) == 0 ? res->text + 7 : res->text;
	else if (res->is_error)
		error = "tool error";
	if (!tools_record(t, res->text, error, res->ms))
		return;
	t->next++;
	tools_later(t);
}

static void
tools_progress(double progress, double total, const char *msg, void *arg)
{
	struct tools *t = arg;

	if (t->hooks->progress != NULL)
		t->hooks->progress(t, &t->cur, progress, total, msg, t->arg);
}

static void
tools_run(struct tools *t)
{
	if (t->hooks->started != NULL)
		t->hooks->started(t, &t->cur, t->arg);
	t->running = mcp_call(t->cur.tool, t->cur.args, tools_result, t);
	mcp_call_on_progress(t->running, tools_progress);
}

/* The server a model tool name belongs to by its prefix, if any. */
static struct mcp_server *
tools_server_of(struct tools *t, const char *name)
{
	for (size_t i = 0; i < mcp_server_count(t->mcp); i++) {
		struct mcp_server *s = mcp_server_at(t->mcp, i);
		char *p = mcp_llm_name(mcp_server_name(s), "");
		bool match = strncmp(name, p, strlen(p)) == 0;

		free(p);
		if (match)
			return s;
	}
	return NULL;
}

static bool
tools_allowed(struct tools *t)
{
	char key[256];

	snprintf(key, sizeof key, "server:%s", mcp_server_name(t->cur.tool->server));
	return t->policy == TOOLS_ALWAYS || json_object_get(t->always, t->cur.name) != NULL ||
	    json_object_get(t->always, key) != NULL;
}

static void
tools_step(struct tools *t)
{
	char *text;

	if (!t->busy)
		return;
	if (t->next >= json_array_size(t->calls)) {
		char *cause = NULL;

		/* a call that changed its server's tools (list_changed) is
		 * answered before the new list is in: wait for it */
		if (mcp_relisting(t->mcp)) {
			t->settling = true;
			return;
		}
		t->busy = false;
		json_decref(t->calls);
		t->calls = NULL;
		if (chat_continue(t->chat, &cause) != 0) {
			char *why = xasprintf("cannot ask the model again: %s", cause);

			free(cause);
			tools_end(t, why);
			free(why);
		}
		return;
	}
	tools_fill(t, t->next);
	/* on or off by this chat's session (the listener's chats share one
	 * set of servers) */
	mcp_set_off(t->mcp, chat_tools_off(t->chat));
	if (t->cur.tool == NULL || !t->cur.tool->enabled) {
		struct mcp_server *s = tools_server_of(t, t->cur.name);

		if (s != NULL && mcp_server_state(s) == MCP_FAILED)
			text = xasprintf("Error: the MCP server %s is not running: %s", mcp_server_name(s), mcp_server_error(s));
		else
			text = xasprintf("Error: there is no tool named \"%s\"", t->cur.name);
		if (tools_record(t, text, "no such tool", 0)) {
			t->next++;
			tools_later(t);
		}
		free(text);
		return;
	}
	if (tools_allowed(t)) {
		tools_run(t);
		return;
	}
	if (t->policy == TOOLS_NEVER || t->hooks->ask == NULL) {
		if (tools_record(t, "Error: the user does not allow tools to run here", "not allowed", 0)) {
			t->next++;
			tools_later(t);
		}
		return;
	}
	t->asking = true;
	t->hooks->ask(t, &t->cur, t->arg);
}

bool
tools_after_reply(struct tools *t)
{
	size_t n = chat_count(t->chat);
	const struct store_msg *m = n > 0 ? chat_msg(t->chat, n - 1) : NULL;
	json_t *calls;

	if (t->busy || m == NULL || strcmp(m->role, "assistant") != 0 || m->tool_calls == NULL ||
	    m->state != STORE_COMPLETE)
		return false;
	calls = json_loads(m->tool_calls, 0, NULL);
	if (!json_is_array(calls) || json_array_size(calls) == 0) {
		json_decref(calls);
		return false;
	}
	json_decref(t->calls);
	t->calls = calls;
	t->next = 0;
	t->busy = true;
	if (++t->round > t->max_rounds) {
		char *why = xasprintf("stopped: this turn reached its limit of %d tool rounds (--tool-rounds)", t->max_rounds);
		char *text = xasprintf("Error: not run: %s", why);

		for (size_t i = 0; i < json_array_size(calls); i++) {
			tools_fill(t, i);
			if (!tools_record(t, text, "round limit", 0))
				break;
		}
		free(text);
		if (t->busy)
			tools_end(t, why);
		free(why);
		return true;
	}
	tools_later(t);
	return true;
}

void
tools_answer(struct tools *t, enum tools_answer a)
{
	char key[256];

	if (!t->asking)
		return;
	t->asking = false;
	switch (a) {
	case TOOLS_NO:
		if (tools_record(t, "Error: the user declined to run this tool call", "declined", 0)) {
			t->next++;
			tools_later(t);
		}
		return;
	case TOOLS_STOP:
		tools_stop(t, "stopped by the user");
		return;
	case TOOLS_YES_TOOL:
		json_object_set_new(t->always, t->cur.name, json_true());
		break;
	case TOOLS_YES_SERVER:
		snprintf(key, sizeof key, "server:%s", mcp_server_name(t->cur.tool->server));
		json_object_set_new(t->always, key, json_true());
		break;
	case TOOLS_YES:
		break;
	}
	tools_run(t);
}

void
tools_stop(struct tools *t, const char *why)
{
	char *text;

	if (!t->busy)
		return;
	loop_timer_cancel(t->app->loop, t->timer);
	t->timer = NULL;
	text = xasprintf("Error: not run: %s", why);
	if (t->running != NULL) {
		mcp_call_cancel(t->running, why);
		t->running = NULL;
		if (!tools_record(t, "Error: cancelled by the user while it ran", "cancelled", 0)) {
			free(text);
			return;
		}
		t->next++;
	}
	for (; t->next < json_array_size(t->calls); t->next++) {
		tools_fill(t, t->next);
		if (!tools_record(t, text, "stopped", 0)) {
			free(text);
			return;
		}
	}
	free(text);
	tools_end(t, why);
}
