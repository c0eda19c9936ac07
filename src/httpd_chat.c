/*
 * httpd_chat.c: the routes that chat: POST /v1/chat/completions (OpenAI's
 * shapes, streamed or not), Ollama's POST /api/chat and /api/generate
 * (NDJSON, streamed unless "stream": false) and the drop-in POST /chat and
 * /chat/stream. Every kind goes through the same binding and feeding; only
 * the request decoder (wire_openai or wire_ollama) and the answer differ.
 *
 * Each request is a struct httpd_chat holding its own struct chat (origin
 * "api"), bound to a stored session, so every exchange lands in the store
 * the faces show. The backend is always asked to stream: a non-streamed
 * answer is assembled here, and the reply grows in the store either way.
 *
 * Binding (design.md 3): an X-Session-Id header or "session_id" field
 * names the session (created under that id when new). Without one, the
 * conversation is looked up by its opening: sessions whose title holds the
 * start of the first user message are candidates, and the newest whose
 * stored transcript (and system prompt) the request begins with wins; a
 * client that resends its whole history so stays in one session. When the
 * request begins with the stored transcript only the rest is new; otherwise
 * everything the client sent is new and follows the stored transcript.
 *
 * A streamed answer starts (200 and the role chunk) with the first event
 * from the backend, so a failure before any output (model not found,
 * backend down) still gets a real status; after that a failure is a final
 * error event. Tool calls go out as OpenAI fragments: the call's id, type
 * and name with empty arguments, then its arguments; to Ollama clients
 * whole, one line each. An Ollama request with no message to answer (an
 * empty messages array, an empty prompt) is Ollama's way to load a model:
 * it is answered done_reason "load" once the model is known to exist.
 */
#include "httpd.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "chat.h"
#include "wire_ollama.h"
#include "wire_openai.h"

#define HTTPD_CHAT_CANDIDATES 16
#define HTTPD_CHAT_FILTER 16 /* bytes of the opening used to find candidates */

enum httpd_chat_kind {
	HTTPD_CHAT_V1,
	HTTPD_CHAT_PLAIN,
	HTTPD_CHAT_STREAM,
	HTTPD_CHAT_OLLAMA, /* /api/chat */
	HTTPD_CHAT_GENERATE, /* /api/generate */
};

struct httpd_chat {
	struct httpd_req *r;
	struct httpd *h;
	enum httpd_chat_kind kind;
	struct chat *chat;
	struct llm_req req; /* the parsed /v1 or /api request */
	bool stream;
	bool usage; /* stream_options.include_usage */
	bool began; /* stream answer started */
	char id[40];
	int64_t created;
	int ncalls;
	json_t *calls; /* non-streamed: the tool calls, OpenAI shape */
	struct httpd_models_wait *wait; /* finding a default model, or checking one */
	bool relisted; /* the model list was fetched again for a model not in it */
	char *text; /* drop-in: the message */
	bool released; /* the request is gone; the chat is being freed */
	struct tools *tools; /* serve --tools, for a client that sent none */
	bool empty; /* Ollama: nothing to answer, only a model to load */
};

/* Ollama's native API rather than OpenAI's or the drop-in one. */
static bool
httpd_chat_native(const struct httpd_chat *c)
{
	return c->kind == HTTPD_CHAT_OLLAMA || c->kind == HTTPD_CHAT_GENERATE;
}

static void
httpd_chat_release(void *state, bool aborted)
{
	struct httpd_chat *c = state;

	(void)aborted;
	if (c->wait != NULL)
		httpd_models_cancel(c->h, c->wait);
	httpd_streamed(c->h, c->chat, NULL);
	c->released = true;
	tools_free(c->tools);
	/* stops a reply still running: the store keeps it, interrupted */
	chat_free(c->chat);
	if (httpd_chat_native(c))
		wire_ollama_request_free(&c->req);
	else
		wire_openai_request_free(&c->req);
	json_decref(c->calls);
	free(c->text);
	free(c);
}

static void
httpd_chat_random(char *out, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[64];

	if (n > sizeof rnd)
		n = sizeof rnd;
	if (getrandom(rnd, n, 0) != (ssize_t)n)
		memset(rnd, 0, sizeof rnd);
	for (size_t i = 0; i < n; i++)
		out[i] = abc[rnd[i] % (sizeof abc - 1)];
	out[n] = '\0';
}

/* A model the backend does not have, in the kind's words. */
static void
httpd_chat_not_found(struct httpd_chat *c, const char *model)
{
	if (httpd_chat_native(c))
		/* Ollama's scheduler says so, whatever the route */
		httpd_fail(c->r, 404, NULL, NULL, NULL, "model \"%s\" not found, try pulling it first", model ? model : "");
	else
		httpd_fail(c->r, 404, "invalid_request_error", "model", "model_not_found",
		    "The model `%s` does not exist or you do not have access to it.", model ? model : "");
}

/* The error of a backend failure, with the status a client can act on. */
static void
httpd_chat_backend_fail(struct httpd_chat *c, enum llm_err err, const char *msg)
{
	const char *model = chat_model(c->chat);

	if (httpd_chat_native(c)) {
		/* Ollama's statuses: 404 for a model it lacks, 500 for the rest */
		if (err == LLM_ERR_NOT_FOUND)
			httpd_chat_not_found(c, c->req.model);
		else
			httpd_fail(c->r, 500, NULL, NULL, NULL, "%s", msg);
		return;
	}
	switch (err) {
	case LLM_ERR_NOT_FOUND:
		if (c->kind == HTTPD_CHAT_V1)
			httpd_chat_not_found(c, model);
		else
			httpd_fail(c->r, 404, NULL, NULL, NULL, "%s", msg);
		break;
	case LLM_ERR_CONNECT:
		httpd_fail(c->r, 503, "server_error", NULL, "backend_unavailable", "%s", msg);
		break;
	case LLM_ERR_BACKEND:
		httpd_fail(c->r, 502, "server_error", NULL, "backend_error", "%s", msg);
		break;
	default:
		httpd_fail(c->r, 500, "server_error", NULL, NULL, "%s", msg);
		break;
	}
}

static void
httpd_chat_session_header(struct httpd_chat *c)
{
	const char *sid = chat_session_id(c->chat);

	if (sid != NULL) {
		httpd_header(c->r, "X-Session-Id", sid);
		httpd_changed(c->h, sid);
	}
}

/* ---- /v1/chat/completions answers ---- */

static json_t *
httpd_chat_chunk(struct httpd_chat *c, const struct llm_ev *ev)
{
	json_t *o = wire_openai_chunk_json(c->id, c->created, c->req.model, ev);

	json_object_set_new(o, "system_fingerprint", json_string("fp_parley"));
	if (c->usage)
		json_object_set_new(o, "usage", json_null());
	return o;
}

static void
httpd_chat_begin(struct httpd_chat *c)
{
	if (c->began)
		return;
	c->began = true;
	httpd_stream_begin(c->r);
	if (c->kind == HTTPD_CHAT_V1)
		httpd_stream_event(c->r, httpd_chat_chunk(c, NULL));
}

/* A call as two fragments: who is called, then the arguments. */
static void
httpd_chat_stream_call(struct httpd_chat *c, const struct llm_tool_call *tc)
{
	struct llm_tool_call head = *tc;
	struct llm_ev ev = { 0 };
	json_t *o, *delta;

	ev.type = LLM_EV_TOOL_CALL;
	ev.call = &head;
	head.args = (char *)"";
	httpd_stream_event(c->r, httpd_chat_chunk(c, &ev));
	o = httpd_chat_chunk(c, &ev);
	delta = json_pack("{s:[{s:i, s:{s:s}}]}", "tool_calls", "index", tc->index, "function", "arguments",
	    tc->args ? tc->args : "{}");
	json_object_set_new(json_array_get(json_object_get(o, "choices"), 0), "delta", delta ? delta : json_object());
	httpd_stream_event(c->r, o);
}

static void
httpd_chat_v1_done(struct httpd_chat *c, const struct llm_stats *raw)
{
	const struct llm_stats *st = chat_stats(c->chat);
	const struct store_msg *m = chat_msg(c->chat, chat_count(c->chat) - 1);
	struct llm_stats fin = *raw;
	struct llm_ev ev = { 0 };
	json_t *msg, *o;

	if (c->ncalls > 0)
		snprintf(fin.finish, sizeof fin.finish, "tool_calls");
	else if (fin.finish[0] == '\0')
		snprintf(fin.finish, sizeof fin.finish, "stop");
	if (c->stream) {
		httpd_chat_begin(c);
		ev.type = LLM_EV_DONE;
		ev.stats = &fin;
		httpd_stream_event(c->r, httpd_chat_chunk(c, &ev));
		if (c->usage) {
			o = wire_openai_usage_chunk_json(c->id, c->created, c->req.model, st);
			json_object_set_new(o, "system_fingerprint", json_string("fp_parley"));
			httpd_stream_event(c->r, o);
		}
		httpd_stream_raw(c->r, "data: [DONE]\n\n");
		httpd_stream_end(c->r);
		return;
	}
	msg = json_pack("{s:s, s:n}", "role", "assistant", "refusal");
	if (c->ncalls > 0 && (m == NULL || m->content[0] == '\0'))
		json_object_set_new(msg, "content", json_null());
	else
		json_object_set_new(msg, "content", json_string(m ? m->content : ""));
	if (json_object_get(msg, "content") == NULL)
		json_object_set_new(msg, "content", json_string(""));
	if (m != NULL && m->thinking != NULL)
		json_object_set_new(msg, "reasoning_content", json_string(m->thinking));
	if (c->ncalls > 0)
		json_object_set(msg, "tool_calls", c->calls);
	o = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:{s:I, s:I, s:I}, s:s}",
	    "id", c->id, "object", "chat.completion", "created", (json_int_t)c->created, "model", c->req.model,
	    "choices", "index", 0, "message", msg, "logprobs", "finish_reason", fin.finish,
	    "usage", "prompt_tokens", (json_int_t)(st->prompt_tokens > 0 ? st->prompt_tokens : 0),
	    "completion_tokens", (json_int_t)(st->reply_tokens > 0 ? st->reply_tokens : 0),
	    "total_tokens", (json_int_t)((st->prompt_tokens > 0 ? st->prompt_tokens : 0) + (st->reply_tokens > 0 ? st->reply_tokens : 0)),
	    "system_fingerprint", "fp_parley");
	httpd_reply(c->r, 200, o);
}

static void
httpd_chat_v1_event(struct httpd_chat *c, const struct llm_ev *ev)
{
	struct llm_tool_call tc;
	char id[32];

	switch (ev->type) {
	case LLM_EV_TOKEN:
	case LLM_EV_THINKING:
		if (c->stream) {
			httpd_chat_begin(c);
			httpd_stream_event(c->r, httpd_chat_chunk(c, ev));
		}
		break;
	case LLM_EV_TOOL_CALL:
		/* our own numbering: Ollama's index is per message part */
		tc = *ev->call;
		tc.index = c->ncalls++;
		if (tc.id == NULL || tc.id[0] == '\0') {
			memcpy(id, "call_", 5);
			httpd_chat_random(id + 5, 24);
			tc.id = id;
		}
		if (tc.name == NULL)
			tc.name = (char *)"";
		if (c->stream) {
			httpd_chat_begin(c);
			httpd_chat_stream_call(c, &tc);
		} else {
			if (c->calls == NULL)
				c->calls = json_array();
			json_array_append_new(c->calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", tc.id, "type", "function", "function", "name", tc.name, "arguments", tc.args ? tc.args : "{}"));
		}
		break;
	case LLM_EV_DONE:
		httpd_chat_v1_done(c, ev->stats);
		break;
	case LLM_EV_ERROR:
		break;
	}
}

/* ---- Ollama's answers ---- */

static void
httpd_chat_now(char *out, size_t size)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	wire_ollama_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, out, size);
}

/* One NDJSON line of the answer, if ev makes one. */
static void
httpd_chat_ollama_line(struct httpd_chat *c, const struct llm_ev *ev)
{
	char when[48];
	json_t *o;

	httpd_chat_now(when, sizeof when);
	if ((o = wire_ollama_chunk_json(c->req.model, when, c->kind == HTTPD_CHAT_GENERATE, ev)) == NULL)
		return;
	httpd_chat_begin(c);
	httpd_stream_event(c->r, o);
}

/* The final line, or the whole answer: the backend's durations, the
 * chat's counts (estimated when the backend gave none), and parley's own
 * clock when the backend did not time the reply. */
static void
httpd_chat_ollama_done(struct httpd_chat *c, const struct llm_stats *raw)
{
	const struct llm_stats *cs = chat_stats(c->chat);
	const struct store_msg *m = chat_msg(c->chat, chat_count(c->chat) - 1);
	struct llm_stats st = *raw;
	struct llm_ev ev = { .type = LLM_EV_DONE, .stats = &st };
	char when[48];

	st.prompt_tokens = cs->prompt_tokens;
	st.reply_tokens = cs->reply_tokens;
	if (st.total_ns <= 0)
		st.total_ns = chat_elapsed_ms(c->chat) * 1000000;
	if (c->stream) {
		httpd_chat_ollama_line(c, &ev);
		httpd_stream_end(c->r);
		return;
	}
	httpd_chat_now(when, sizeof when);
	httpd_reply(c->r, 200, wire_ollama_answer_json(c->req.model, when, c->kind == HTTPD_CHAT_GENERATE, m ? m->content : "", m ? m->thinking : NULL, c->calls, &st));
}

static void
httpd_chat_ollama_event(struct httpd_chat *c, const struct llm_ev *ev)
{
	struct llm_tool_call tc;
	struct llm_ev cev;
	char id[32];

	switch (ev->type) {
	case LLM_EV_TOKEN:
	case LLM_EV_THINKING:
		if (c->stream)
			httpd_chat_ollama_line(c, ev);
		break;
	case LLM_EV_TOOL_CALL:
		tc = *ev->call;
		tc.index = c->ncalls++;
		if (tc.id == NULL || tc.id[0] == '\0') {
			memcpy(id, "call_", 5);
			httpd_chat_random(id + 5, 24);
			tc.id = id;
		}
		if (c->stream) {
			cev = *ev;
			cev.call = &tc;
			httpd_chat_ollama_line(c, &cev);
		} else {
			if (c->calls == NULL)
				c->calls = json_array();
			json_array_append_new(c->calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", tc.id, "type", "function", "function", "name", tc.name ? tc.name : "", "arguments", tc.args ? tc.args : "{}"));
		}
		break;
	case LLM_EV_DONE:
		httpd_chat_ollama_done(c, ev->stats);
		break;
	case LLM_EV_ERROR:
		break;
	}
}

/* Nothing to answer: the model is there, so it counts as loaded (an
 * Ollama backend loads it with the next request anyway). */
static void
httpd_chat_ollama_load(struct httpd_chat *c)
{
	json_t *ka = json_object_get(c->req.options, "keep_alive");
	struct llm_stats st;
	struct llm_ev ev = { .type = LLM_EV_DONE, .stats = &st };
	char when[48];

	llm_stats_init(&st);
	st.prompt_tokens = st.reply_tokens = 0;
	snprintf(st.finish, sizeof st.finish, "%s",
	    (json_is_number(ka) && json_number_value(ka) == 0) || util_streq(json_string_value(ka), "0") ? "unload" : "load");
	if (c->stream) {
		httpd_chat_ollama_line(c, &ev);
		httpd_stream_end(c->r);
		return;
	}
	httpd_chat_now(when, sizeof when);
	httpd_reply(c->r, 200, wire_ollama_chunk_json(c->req.model, when, c->kind == HTTPD_CHAT_GENERATE, &ev));
}

/* ---- drop-in answers ---- */

static void
httpd_chat_plain_event(struct httpd_chat *c, const struct llm_ev *ev)
{
	const struct llm_stats *st;
	const struct store_msg *m;
	const char *sid = chat_session_id(c->chat);

	switch (ev->type) {
	case LLM_EV_TOKEN:
		if (c->kind == HTTPD_CHAT_STREAM) {
			json_t *o = json_pack("{s:s%}", "token", ev->text, ev->len);

			httpd_chat_begin(c);
			if (o != NULL)
				httpd_stream_event(c->r, o);
		}
		break;
	case LLM_EV_THINKING:
	case LLM_EV_TOOL_CALL:
	case LLM_EV_ERROR:
		break;
	case LLM_EV_DONE:
		if (c->kind == HTTPD_CHAT_STREAM) {
			httpd_chat_begin(c);
			httpd_stream_event(c->r, json_pack("{s:b, s:s?}", "done", 1, "session_id", sid));
			httpd_stream_end(c->r);
			break;
		}
		st = chat_stats(c->chat);
		m = chat_msg(c->chat, chat_count(c->chat) - 1);
		httpd_reply(c->r, 200, json_pack("{s:s, s:s?, s:I}", "response", m ? m->content : "", "session_id", sid, "tokens_used", (json_int_t)((st->prompt_tokens > 0 ? st->prompt_tokens : 0) + (st->reply_tokens > 0 ? st->reply_tokens : 0))));
		break;
	}
}

static void
httpd_chat_event(struct chat *ch, const struct llm_ev *ev, void *arg)
{
	struct httpd_chat *c = arg;
	const char *model = NULL;
	int64_t len;

	(void)ch;
	if (ev->type == LLM_EV_DONE && (len = chat_model_context(c->chat, &model)) != 0)
		httpd_models_learn_context(c->h, model, len);
	if (!c->released)
		httpd_streamed(c->h, c->chat, ev);
	/* the listener's own tools: their calls are not the client's, and a
	 * reply that made some is not the answer yet */
	if (c->tools != NULL && ev->type == LLM_EV_TOOL_CALL)
		return;
	if (c->tools != NULL && ev->type == LLM_EV_DONE && tools_after_reply(c->tools)) {
		httpd_changed(c->h, chat_session_id(c->chat));
		return;
	}
	if (ev->type == LLM_EV_DONE || ev->type == LLM_EV_ERROR)
		httpd_changed(c->h, chat_session_id(c->chat));
	if (ev->type == LLM_EV_ERROR) {
		char *msg;

		if (ev->err == LLM_ERR_CANCELLED)
			return; /* we stopped it: the request is going away */
		msg = xstrndup(ev->text ? ev->text : "", ev->len);
		httpd_chat_backend_fail(c, ev->err, msg);
		free(msg);
		return;
	}
	if (c->kind == HTTPD_CHAT_V1)
		httpd_chat_v1_event(c, ev);
	else if (httpd_chat_native(c))
		httpd_chat_ollama_event(c, ev);
	else
		httpd_chat_plain_event(c, ev);
}

static const struct chat_hooks httpd_chat_hooks = { httpd_chat_event, NULL };

static struct httpd_chat *
httpd_chat_new(struct httpd_req *r, enum httpd_chat_kind kind)
{
	struct httpd_chat *c = xcalloc(1, sizeof *c);
	struct app *a = httpd_req_app(r);

	c->r = r;
	c->h = httpd_req_httpd(r);
	c->kind = kind;
	c->created = (int64_t)time(NULL);
	memcpy(c->id, "chatcmpl-", 9);
	httpd_chat_random(c->id + 9, 24);
	httpd_req_state(r, c, httpd_chat_release);
	c->chat = chat_new(a, "api", a->store != NULL, &httpd_chat_hooks, c);
	chat_set_stream(c->chat, true);
	return c;
}

/* ---- binding ---- */

/* A stored message the model would see (as chat.c decides). */
static bool
httpd_chat_sendable(const struct store_msg *m)
{
	if (m->state == STORE_ERROR || strcmp(m->role, "system") == 0)
		return false;
	return !(strcmp(m->role, "assistant") == 0 && m->content[0] == '\0' && m->tool_calls == NULL);
}

/* Same turn? Role and text, and for a tool-calling turn the functions
 * called (ids may be ours or the client's). */
static bool
httpd_chat_same(const struct store_msg *s, const struct llm_msg *m)
{
	json_t *calls;
	size_t n;
	bool same = true;

	if (strcmp(s->role, m->role) != 0 || strcmp(s->content, m->content ? m->content : "") != 0)
		return false;
	if ((s->tool_calls != NULL) != (json_array_size(m->tool_calls) > 0))
		return false;
	if (s->tool_calls == NULL)
		return true;
	calls = json_loads(s->tool_calls, 0, NULL);
	n = json_array_size(calls);
	if (n != json_array_size(m->tool_calls))
		same = false;
	for (size_t i = 0; same && i < n; i++) {
		const char *a = json_string_value(json_object_get(json_object_get(json_array_get(calls, i), "function"), "name"));
		const char *b = json_string_value(json_object_get(json_object_get(json_array_get(m->tool_calls, i), "function"), "name"));

		same = util_streq(a, b);
	}
	json_decref(calls);
	return same;
}

/* The newest message among the children of parent (0: the roots) that is
 * conv's m, looking through the ones the model never saw (a failed reply,
 * which the next question follows); 0 if none is. */
static int64_t
httpd_chat_child(struct store_msg *const *v, size_t nv, int64_t parent, const struct llm_msg *m)
{
	int64_t best = 0, d;

	for (size_t i = 0; i < nv; i++) {
		if (v[i]->parent != parent)
			continue;
		if (!httpd_chat_sendable(v[i]))
			d = httpd_chat_child(v, nv, v[i]->id, m);
		else
			d = httpd_chat_same(v[i], m) ? v[i]->id : 0;
		if (d > best)
			best = d;
	}
	return best;
}

/* How far conv follows one of the stored branches (v: every message of a
 * session, oldest first): how many of its messages match, *at the last
 * of them. */
static size_t
httpd_chat_follow(struct store_msg *const *v, size_t nv, const struct llm_msg *const *conv, size_t n, int64_t *at)
{
	int64_t cur = 0, next;
	size_t k;

	for (k = 0; k < n; k++) {
		if ((next = httpd_chat_child(v, nv, cur, conv[k])) == 0)
			break;
		cur = next;
	}
	*at = cur;
	return k;
}

/* The start of a message as the store's titles show it: white space
 * collapsed, a few bytes, cut at a character boundary. */
static char *
httpd_chat_opening(const char *text)
{
	struct buf b = { 0 };
	bool space = false;

	for (const char *p = text; *p != '\0' && b.len < HTTPD_CHAT_FILTER; p++) {
		if (strchr(" \t\r\n\f\v", *p) != NULL) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_putc(&b, ' ');
		space = false;
		buf_putc(&b, *p);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	b.len = util_utf8_complete(b.data, b.len);
	b.data[b.len] = '\0';
	return buf_steal(&b);
}

/* The session this conversation continues, or NULL: the one with a
 * branch it follows furthest, at least one exchange (or all there is),
 * the newest of equals. */
static char *
httpd_chat_lookup(struct store *st, const char *system, const struct llm_msg *const *conv, size_t n)
{
	struct store_session **v = NULL;
	size_t nv = 0, best = 0;
	char *filter, *found = NULL;

	/* a lone first message has no history to continue */
	if (n < 2 || strcmp(conv[0]->role, "user") != 0 || (filter = httpd_chat_opening(conv[0]->content)) == NULL)
		return NULL;
	if (store_session_list(st, filter, HTTPD_CHAT_CANDIDATES, &v, &nv, NULL) != 0)
		nv = 0;
	free(filter);
	for (size_t i = 0; i < nv; i++) {
		struct store_msg **m = NULL;
		size_t nm = 0, k, sendable = 0;
		int64_t at;

		if (!util_streq(v[i]->system, system) || v[i]->nmessages == 0)
			continue;
		if (store_messages_all(st, v[i]->id, &m, &nm, NULL) != 0)
			continue;
		k = httpd_chat_follow(m, nm, conv, n, &at);
		for (size_t j = 0; j < nm; j++)
			sendable += httpd_chat_sendable(m[j]);
		if (k > best && (k >= 2 || k == sendable)) {
			best = k;
			free(found);
			found = xstrdup(v[i]->id);
		}
		store_msgs_free(m, nm);
	}
	store_sessions_free(v, nv);
	return found;
}

/* Bind c->chat for conv; *first gets the index of the first new message.
 * A conversation that follows a stored branch continues it from where it
 * stops following: the end of that branch, or a new branch beside the
 * rest (a client that edited or regenerated). One that follows none (a
 * client that sends only its new message) goes on after the branch on
 * show. 0, or -1 after answering. */
static int
httpd_chat_bind(struct httpd_chat *c, const char *sid, const char *system, const struct llm_msg *const *conv,
    size_t n, size_t *first)
{
	struct store *st = httpd_req_app(c->r)->store;
	char *cause = NULL, *found = NULL;
	struct store_msg **v = NULL;
	size_t nv = 0, k;
	int64_t at;
	int rc;

	*first = 0;
	if (st == NULL)
		return 0;
	if (sid == NULL)
		sid = found = httpd_chat_lookup(st, system, conv, n);
	if (sid == NULL)
		return 0;
	rc = chat_open_id(c->chat, sid, true, &cause);
	free(found);
	if (rc == 0 && store_messages_all(st, chat_session_id(c->chat), &v, &nv, &cause) != 0)
		rc = -1;
	if (rc == 0 && (k = httpd_chat_follow(v, nv, conv, n, &at)) > 0) {
		size_t last = chat_count(c->chat);

		if ((last == 0 || chat_msg(c->chat, last - 1)->id != at) && chat_rewind(c->chat, at, &cause) != 0)
			rc = -1;
		*first = k;
	}
	store_msgs_free(v, nv);
	if (rc < 0) {
		httpd_fail(c->r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static struct llm_image *
httpd_chat_images(const struct llm_msg *m)
{
	struct llm_image *im = m->nimages ? xcalloc(m->nimages, sizeof *im) : NULL;

	for (size_t i = 0; i < m->nimages; i++) {
		im[i].mime = xstrdup(m->images[i].mime);
		im[i].b64 = xstrdup(m->images[i].b64);
	}
	return im;
}

static void
httpd_chat_tools_ended(struct tools *t, const char *why, void *arg)
{
	struct httpd_chat *c = arg;

	(void)t;
	httpd_fail(c->r, 500, "server_error", NULL, "tools_failed", "%s", why);
}

/* serve --tools: a client that sends no tools of its own gets the
 * listener's, which the listener runs. */
static void
httpd_chat_own_tools(struct httpd_chat *c)
{
	static const struct tools_hooks hooks = { NULL, NULL, NULL, NULL, httpd_chat_tools_ended };
	const struct httpd_tools *ht = httpd_tools(c->h);

	if (ht->mcp == NULL || c->req.tools != NULL || c->tools != NULL)
		return;
	c->tools = tools_new(c->chat, ht->mcp, ht->policy, ht->rounds, &hooks, c);
	tools_offer(c->tools);
}

/* Record conv[first..n) and ask for the reply. 0, or -1 after answering. */
static int
httpd_chat_feed(struct httpd_chat *c, const struct llm_msg *const *conv, size_t n, size_t first)
{
	char *cause = NULL;

	httpd_chat_own_tools(c);
	int64_t len = httpd_models_context(c->h, chat_model(c->chat));
	int rc = 0;

	if (len != 0)
		chat_set_model_context(c->chat, chat_model(c->chat), len);
	for (size_t i = first; rc == 0 && i + 1 < n; i++)
		rc = chat_append_msg(c->chat, conv[i], &cause);
	if (rc == 0) {
		if (first >= n)
			rc = chat_continue(c->chat, &cause);
		else if (strcmp(conv[n - 1]->role, "user") == 0)
			rc = chat_send(c->chat, conv[n - 1]->content, httpd_chat_images(conv[n - 1]), conv[n - 1]->nimages, &cause);
		else if ((rc = chat_append_msg(c->chat, conv[n - 1], &cause)) == 0)
			rc = chat_continue(c->chat, &cause);
	}
	if (rc != 0) {
		httpd_fail(c->r, 500, "server_error", NULL, NULL, "%s", cause ? cause : "cannot start the reply");
		free(cause);
		return -1;
	}
	httpd_chat_session_header(c);
	return 0;
}

/* "messages[1].role: must be ..." names the field "messages[1].role". */
static char *
httpd_chat_param(const char *cause)
{
	const char *colon = strstr(cause, ": ");

	if (colon == NULL || strchr(cause, ' ') < colon)
		return NULL;
	return xstrndup(cause, (size_t)(colon - cause));
}

/* The session id a request names, NULL if none; -1 after answering. */
static int
httpd_chat_sid(struct httpd_req *r, json_t *body, const char **sid)
{
	json_t *v = json_object_get(body, "session_id");

	*sid = httpd_req_header(r, "X-Session-Id");
	if (*sid == NULL && v != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			httpd_fail(r, 400, NULL, "session_id", NULL, "session_id: must be a string");
			return -1;
		}
		*sid = json_string_value(v);
	}
	if (*sid != NULL && !store_session_id_valid(*sid)) {
		httpd_fail(r, 400, NULL, "session_id", NULL,
		    "session_id: must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
		return -1;
	}
	return 0;
}

/* Bind the parsed request to its session and ask for the reply. */
static void
httpd_chat_v1_start(struct httpd_chat *c)
{
	const struct llm_msg **conv;
	struct buf system = { 0 };
	const char *sid;
	size_t n = 0, first;

	if (httpd_chat_sid(c->r, httpd_req_body(c->r), &sid) != 0)
		return;
	conv = xcalloc(c->req.nmsgs, sizeof *conv);
	for (size_t i = 0; i < c->req.nmsgs; i++) {
		const struct llm_msg *m = &c->req.msgs[i];

		if (strcmp(m->role, "system") == 0)
			buf_printf(&system, "%s%s", system.len ? "\n\n" : "", m->content);
		else
			conv[n++] = m;
	}
	if (httpd_chat_bind(c, sid, system.data, conv, n, &first) == 0) {
		chat_set_model(c->chat, c->req.model);
		if (system.data != NULL)
			chat_set_system(c->chat, system.data);
		json_object_clear(chat_options(c->chat));
		if (c->req.options != NULL)
			json_object_update(chat_options(c->chat), c->req.options);
		chat_set_think(c->chat, c->req.think);
		chat_set_tools(c->chat, json_incref(c->req.tools), json_incref(c->req.tool_choice));
		chat_set_format(c->chat, json_incref(c->req.format), json_incref(c->req.schema_spec));
		httpd_chat_feed(c, conv, n, first);
	}
	buf_free(&system);
	free(conv);
}

/* The backend's model list came: a model it does not have is a 404. A
 * model missing from a cached list sends for the list once more, since it
 * may have been loaded since; one missing from a list just fetched is not
 * there. A list that cannot be had decides nothing:
 * the chat itself then meets the backend's error. */
static void
httpd_chat_model_listed(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_chat *c = arg;

	c->wait = NULL;
	if (err == LLM_OK && !httpd_models_has(l, c->req.model)) {
		if (!c->relisted && httpd_models_cached(c->h)) {
			c->relisted = true;
			httpd_models_forget(c->h);
			c->wait = httpd_models_get_list(c->h, httpd_chat_model_listed, c);
			return;
		}
		httpd_chat_not_found(c, c->req.model);
		return;
	}
	if (c->empty) {
		/* without a list there is no telling the model is there */
		if (err != LLM_OK)
			httpd_chat_backend_fail(c, err, msg);
		else
			httpd_chat_ollama_load(c);
		return;
	}
	httpd_chat_v1_start(c);
}

void
httpd_chat_completions(struct httpd_req *r)
{
	struct httpd_chat *c = httpd_chat_new(r, HTTPD_CHAT_V1);
	const struct prov *p = httpd_req_app(r)->prov;
	char *cause = NULL, *param;
	const char *sid;

	if (wire_openai_parse_request(httpd_req_body(r), &c->req, &cause) != 0) {
		param = httpd_chat_param(cause);
		httpd_fail(r, 400, NULL, param, NULL, "%s", cause);
		free(param);
		free(cause);
		return;
	}
	if (httpd_chat_sid(r, httpd_req_body(r), &sid) != 0)
		return;
	c->stream = c->req.stream;
	c->usage = c->stream && wire_openai_request_include_usage(httpd_req_body(r));
	if (p != NULL && strcmp(p->kind, "ollama") == 0 && util_streq(json_string_value(c->req.tool_choice), "required")) {
		httpd_fail(r, 400, NULL, "tool_choice", NULL,
		    "tool_choice: \"required\" cannot be honoured by an Ollama backend, which has no way to force a "
		    "tool call; send \"auto\" or name one function");
		return;
	}
	/* llama-server answers any model name with the model it has loaded */
	if (p != NULL && strcmp(p->kind, "openai") == 0) {
		c->wait = httpd_models_get_list(c->h, httpd_chat_model_listed, c);
		return;
	}
	httpd_chat_v1_start(c);
}

/* ---- Ollama's /api/chat, /api/generate ---- */

static void
httpd_chat_native_start(struct httpd_req *r, enum httpd_chat_kind kind)
{
	struct httpd_chat *c = httpd_chat_new(r, kind);
	const struct prov *p = httpd_req_app(r)->prov;
	char *cause = NULL;
	const char *sid;

	if (wire_ollama_parse_request(httpd_req_body(r), kind == HTTPD_CHAT_GENERATE, &c->req, &cause) != 0) {
		httpd_fail(r, 400, NULL, NULL, NULL, "%s", cause);
		free(cause);
		return;
	}
	if (httpd_chat_sid(r, httpd_req_body(r), &sid) != 0)
		return;
	c->stream = c->req.stream;
	c->empty = true;
	for (size_t i = 0; i < c->req.nmsgs; i++)
		if (strcmp(c->req.msgs[i].role, "system") != 0)
			c->empty = false;
	/* llama-server answers any model name with the model it has loaded;
	 * a load must know the model is there */
	if (c->empty || (p != NULL && strcmp(p->kind, "openai") == 0)) {
		c->wait = httpd_models_get_list(c->h, httpd_chat_model_listed, c);
		return;
	}
	httpd_chat_v1_start(c);
}

void
httpd_chat_ollama(struct httpd_req *r)
{
	httpd_chat_native_start(r, HTTPD_CHAT_OLLAMA);
}

void
httpd_chat_generate(struct httpd_req *r)
{
	httpd_chat_native_start(r, HTTPD_CHAT_GENERATE);
}

/* ---- drop-in /chat, /chat/stream ---- */

static void
httpd_chat_plain_send(struct httpd_chat *c)
{
	struct llm_msg m = { 0 };
	const struct llm_msg *conv[1] = { &m };

	m.role = (char *)"user";
	m.content = c->text;
	httpd_chat_feed(c, conv, 1, 0);
}

static void
httpd_chat_plain_model(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_chat *c = arg;
	char *model;

	c->wait = NULL;
	if (err != LLM_OK) {
		httpd_chat_backend_fail(c, err, msg);
		return;
	}
	if ((model = httpd_models_default(c->h, l)) == NULL) {
		httpd_fail(c->r, 503, NULL, NULL, NULL, "the backend offers no models");
		return;
	}
	chat_set_model(c->chat, model);
	free(model);
	httpd_chat_plain_send(c);
}

static bool
httpd_chat_number(struct httpd_req *r, json_t *body, const char *key, bool integer, json_t *opts)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return true;
	if (integer ? !json_is_integer(v) || json_integer_value(v) < 1 : !json_is_number(v)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "%s must be a %s", key, integer ? "positive integer" : "number");
		return false;
	}
	json_object_set(opts, key, v);
	return true;
}

static void
httpd_chat_plain_start(struct httpd_req *r, enum httpd_chat_kind kind)
{
	json_t *body = httpd_req_body(r), *msg = json_object_get(body, "message"), *model = json_object_get(body, "model");
	struct httpd_chat *c;
	const char *sid = NULL;
	json_t *opts;
	char *cause = NULL;
	size_t i;

	if (!json_is_string(msg)) {
		httpd_fail(r, 400, NULL, NULL, NULL, msg == NULL ? "message is required" : "message must be a string");
		return;
	}
	for (i = 0; i < json_string_length(msg) && strchr(" \t\r\n", json_string_value(msg)[i]) != NULL; i++)
		;
	if (i == json_string_length(msg)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "message must not be empty");
		return;
	}
	if (model != NULL && !json_is_null(model) && (!json_is_string(model) || json_string_length(model) == 0)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "model must be a non-empty string");
		return;
	}
	if (httpd_chat_sid(r, body, &sid) != 0)
		return;
	c = httpd_chat_new(r, kind);
	c->text = xstrdup(json_string_value(msg));
	opts = chat_options(c->chat);
	if (sid != NULL && httpd_req_app(r)->store != NULL && chat_open_id(c->chat, sid, true, &cause) < 0) {
		httpd_fail(r, 500, NULL, NULL, NULL, "%s", cause);
		free(cause);
		return;
	}
	opts = chat_options(c->chat);
	json_object_clear(opts);
	if (!httpd_chat_number(r, body, "temperature", false, opts) || !httpd_chat_number(r, body, "top_p", false, opts) ||
	    !httpd_chat_number(r, body, "max_tokens", true, opts))
		return;
	if (json_is_string(model))
		chat_set_model(c->chat, json_string_value(model));
	else if (chat_model(c->chat) == NULL || chat_model(c->chat)[0] == '\0') {
		if (httpd_req_app(r)->cfg->model != NULL)
			chat_set_model(c->chat, httpd_req_app(r)->cfg->model);
		else {
			c->wait = httpd_models_get_list(c->h, httpd_chat_plain_model, c);
			return;
		}
	}
	httpd_chat_plain_send(c);
}

void
httpd_chat_plain(struct httpd_req *r)
{
	httpd_chat_plain_start(r, HTTPD_CHAT_PLAIN);
}

void
httpd_chat_stream(struct httpd_req *r)
{
	httpd_chat_plain_start(r, HTTPD_CHAT_STREAM);
}
