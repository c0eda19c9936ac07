/*
 * wire_openai.c: the OpenAI chat-completions wire format as spoken by OpenAI,
 * Ollama's /v1 layer, LM Studio and llama-server (protocols.md 3-5).
 *
 * Client side: wire_openai_chat_request encodes a parley request; a struct
 * wire_openai follows one streamed reply. Each SSE data payload is parsed
 * with json_loadb and its delta turned into events at once (text points into
 * the parsed chunk, valid during the callback). Tool calls arrive as
 * fragments keyed by index, possibly interleaved, so they are gathered in
 * calls[] (one entry per index, arguments concatenated in a struct buf) and
 * emitted whole by wire_openai_finish. Usage may come on any chunk or not at
 * all; llama-server's timings fill the gaps. A chunk that is only a piece
 * of text, nearly every chunk of a stream, is first read with jscan without
 * building a tree; any other goes to Jansson.
 *
 * Listener side: encoders for chunks and error objects, and
 * wire_openai_parse_request, which validates an incoming request the way
 * OpenAI does and builds an llm_req whose every pointer it owns.
 */
#include "wire_openai.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "jscan.h"
#include "util.h"

/* ---- request encoder ---- */

/* Options OpenAI-style servers understand; the rest are Ollama-only. */
static const char *const wire_openai_passed[] = {
	"temperature",
	"top_p",
	"top_k",
	"min_p",
	"seed",
	"max_tokens",
	"repeat_penalty",
	"presence_penalty",
	"frequency_penalty",
};

static void
wire_openai_options(json_t *root, json_t *opts)
{
	json_t *v;
	const char *k;

	json_object_foreach(opts, k, v)
	{
		if (json_is_null(v))
			continue;
		if (strcmp(k, "stop") == 0) {
			if (json_is_string(v)) {
				json_t *a = json_array();

				json_array_append(a, v);
				json_object_set_new(root, "stop", a);
			} else if (json_is_array(v) && json_array_size(v) > 0)
				json_object_set(root, "stop", v);
			continue;
		}
		for (size_t i = 0; i < sizeof wire_openai_passed / sizeof wire_openai_passed[0]; i++)
			if (strcmp(k, wire_openai_passed[i]) == 0)
				json_object_set(root, k, v);
	}
}

/* History tool calls with arguments as JSON text, as OpenAI requires. */
static json_t *
wire_openai_history_calls(json_t *calls)
{
	json_t *out = json_deep_copy(calls), *c;
	size_t i;

	json_array_foreach(out, i, c)
	{
		json_t *fn = json_object_get(c, "function");
		json_t *args = json_object_get(fn, "arguments");

		if (!json_is_object(c))
			continue;
		if (json_object_get(c, "type") == NULL)
			json_object_set_new(c, "type", json_string("function"));
		if (json_is_object(fn) && !json_is_string(args)) {
			char *s = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

			json_object_set_new(fn, "arguments", json_string(s ? s : "{}"));
			free(s);
		}
	}
	return out;
}

static json_t *
wire_openai_message(const struct llm_msg *m)
{
	json_t *o = json_object();
	bool calls = json_is_array(m->tool_calls) && json_array_size(m->tool_calls) > 0;

	json_object_set_new(o, "role", json_string(m->role ? m->role : "user"));
	if (m->nimages > 0) {
		json_t *parts = json_array();

		if (m->content != NULL && m->content[0] != '\0')
			json_array_append_new(parts, json_pack("{s:s,s:s}", "type", "text", "text", m->content));
		for (size_t i = 0; i < m->nimages; i++) {
			char *url = xasprintf("data:%s;base64,%s", m->images[i].mime ? m->images[i].mime : "image/png", m->images[i].b64);

			json_array_append_new(parts, json_pack("{s:s,s:{s:s}}", "type", "image_url", "image_url", "url", url));
			free(url);
		}
		json_object_set_new(o, "content", parts);
	} else if (calls && (m->content == NULL || m->content[0] == '\0'))
		json_object_set_new(o, "content", json_null());
	else
		json_object_set_new(o, "content", json_string(m->content ? m->content : ""));
	if (calls)
		json_object_set_new(o, "tool_calls", wire_openai_history_calls(m->tool_calls));
	if (m->tool_call_id != NULL)
		json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
	return o;
}

json_t *
wire_openai_chat_request(const struct llm_req *req)
{
	json_t *root = json_object(), *msgs = json_array();

	json_object_set_new(root, "model", json_string(req->model ? req->model : ""));
	for (size_t i = 0; i < req->nmsgs; i++)
		json_array_append_new(msgs, wire_openai_message(&req->msgs[i]));
	json_object_set_new(root, "messages", msgs);
	json_object_set_new(root, "stream", json_boolean(req->stream));
	if (req->stream)
		json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
	if (req->options != NULL)
		wire_openai_options(root, req->options);
	/* "true" sends nothing: the server's default effort is the right one. */
	if (req->think != NULL && strcmp(req->think, "true") != 0)
		json_object_set_new(root, "reasoning_effort", json_string(strcmp(req->think, "false") == 0 ? "none" : req->think));
	if (req->tools != NULL && json_array_size(req->tools) > 0) {
		json_object_set(root, "tools", req->tools);
		if (req->tool_choice != NULL)
			json_object_set(root, "tool_choice", req->tool_choice);
	}
	if (json_is_object(req->schema_spec))
		json_object_set_new(root, "response_format", json_pack("{s:s,s:O}", "type", "json_schema", "json_schema", req->schema_spec));
	else if (json_is_string(req->format))
		json_object_set_new(root, "response_format", json_pack("{s:s}", "type", "json_object"));
	else if (json_is_object(req->format))
		json_object_set_new(root, "response_format", json_pack("{s:s,s:{s:s,s:O}}", "type", "json_schema", "json_schema", "name", "response", "schema", req->format));
	return root;
}

/* ---- stream decoder ---- */

struct wire_openai_call {
	int index;
	struct buf id;
	struct buf name;
	struct buf args;
};

struct wire_openai {
	struct wire_openai_call *calls; /* in order of first appearance */
	size_t ncalls;
	struct llm_stats stats;
	bool usage_seen; /* token counts came from usage, not timings */
	bool finished; /* a finish_reason was seen */
	bool failed; /* ERROR was emitted */
};

struct wire_openai *
wire_openai_new(void)
{
	struct wire_openai *w = xcalloc(1, sizeof *w);

	llm_stats_init(&w->stats);
	return w;
}

void
wire_openai_free(struct wire_openai *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->ncalls; i++) {
		buf_free(&w->calls[i].id);
		buf_free(&w->calls[i].name);
		buf_free(&w->calls[i].args);
	}
	free(w->calls);
	free(w);
}

static void
wire_openai_fail(llm_ev_cb cb, void *arg, const char *msg, size_t len)
{
	llm_emit_error(cb, arg, LLM_ERR_BACKEND, msg, len);
}

static void
wire_openai_malformed(const char *data, size_t len, llm_ev_cb cb, void *arg)
{
	size_t show = util_utf8_complete(data, len > 120 ? 120 : len);
	char *msg;

	if (!util_utf8_valid(data, show))
		msg = xstrdup("malformed data from server: bytes that are not valid UTF-8");
	else
		msg = xasprintf("malformed data from server: %.*s%s", (int)show, data, show < len ? "..." : "");
	wire_openai_fail(cb, arg, msg, strlen(msg));
	free(msg);
}

/* The message of an "error" member: a string, or an object's message. */
static char *
wire_openai_error_text(json_t *e)
{
	json_t *m = json_object_get(e, "message");

	if (json_is_string(e))
		return xstrdup(json_string_value(e));
	if (json_is_string(m))
		return xstrdup(json_string_value(m));
	return json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void
wire_openai_text(json_t *v, enum llm_ev_type type, llm_ev_cb cb, void *arg)
{
	if (json_is_string(v))
		llm_emit_text(cb, arg, type, json_string_value(v), json_string_length(v));
}

static struct wire_openai_call *
wire_openai_call_at(struct wire_openai *w, int index)
{
	struct wire_openai_call *c;

	for (size_t i = 0; i < w->ncalls; i++)
		if (w->calls[i].index == index)
			return &w->calls[i];
	w->calls = xreallocarray(w->calls, w->ncalls + 1, sizeof *w->calls);
	c = &w->calls[w->ncalls++];
	memset(c, 0, sizeof *c);
	c->index = index;
	return c;
}

/* Append a fragment; whole=true (a complete message) gives each call its
 * own slot even when the server sent no index. */
static void
wire_openai_fragments(struct wire_openai *w, json_t *calls, bool whole)
{
	json_t *f;
	size_t i;

	json_array_foreach(calls, i, f)
	{
		json_t *idx = json_object_get(f, "index");
		json_t *id = json_object_get(f, "id");
		json_t *fn = json_object_get(f, "function");
		json_t *name = json_object_get(fn, "name");
		json_t *args = json_object_get(fn, "arguments");
		struct wire_openai_call *c;
		int index;

		if (!json_is_object(f))
			continue;
		if (json_is_integer(idx) && json_integer_value(idx) >= 0 && json_integer_value(idx) < 1 << 20)
			index = (int)json_integer_value(idx);
		else if (whole || w->ncalls == 0 || (json_is_string(id) && json_string_length(id) > 0))
			index = (int)w->ncalls;
		else
			index = w->calls[w->ncalls - 1].index;
		c = wire_openai_call_at(w, index);
		/* Some servers repeat id and name on every fragment: keep one. */
		if (json_is_string(id) && json_string_length(id) > 0) {
			buf_reset(&c->id);
			buf_append(&c->id, json_string_value(id), json_string_length(id));
		}
		if (json_is_string(name) && json_string_length(name) > 0) {
			buf_reset(&c->name);
			buf_append(&c->name, json_string_value(name), json_string_length(name));
		}
		if (json_is_string(args))
			buf_append(&c->args, json_string_value(args), json_string_length(args));
		else if (args != NULL && !json_is_null(args)) {
			char *s = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);

			if (s != NULL)
				buf_puts(&c->args, s);
			free(s);
		}
	}
}

/* Milliseconds from llama-server's timings as nanoseconds; a value out of
 * any sane range (over 30 years, negative) is junk and counts as absent,
 * which also keeps the converted values and their sum within int64. */
static int64_t
wire_openai_ms_ns(double ms)
{
	return ms >= 0 && ms < 1e12 ? (int64_t)(ms * 1e6) : 0;
}

static void
wire_openai_usage(struct wire_openai *w, json_t *o)
{
	json_t *u = json_object_get(o, "usage");
	json_t *t = json_object_get(o, "timings");
	json_t *v;

	if (json_is_object(u)) {
		if (json_is_integer(v = json_object_get(u, "prompt_tokens"))) {
			w->stats.prompt_tokens = json_integer_value(v);
			w->usage_seen = true;
		}
		if (json_is_integer(v = json_object_get(u, "completion_tokens"))) {
			w->stats.reply_tokens = json_integer_value(v);
			w->usage_seen = true;
		}
	}
	if (json_is_object(t)) {
		if (!w->usage_seen) {
			if (json_is_integer(v = json_object_get(t, "prompt_n")))
				w->stats.prompt_tokens = json_integer_value(v);
			if (json_is_integer(v = json_object_get(t, "predicted_n")))
				w->stats.reply_tokens = json_integer_value(v);
		}
		if (json_is_number(v = json_object_get(t, "prompt_ms")))
			w->stats.prompt_ns = wire_openai_ms_ns(json_number_value(v));
		if (json_is_number(v = json_object_get(t, "predicted_ms")))
			w->stats.eval_ns = wire_openai_ms_ns(json_number_value(v));
		w->stats.total_ns = w->stats.prompt_ns + w->stats.eval_ns;
	}
}

/* A delta (streamed) or message (whole response) of the first choice. */
static void
wire_openai_delta(struct wire_openai *w, json_t *d, bool whole, llm_ev_cb cb, void *arg)
{
	json_t *rc = json_object_get(d, "reasoning_content");

	/* A server mirroring one into the other must not double the text. */
	if (json_is_string(rc) && json_string_length(rc) > 0)
		wire_openai_text(rc, LLM_EV_THINKING, cb, arg);
	else
		wire_openai_text(json_object_get(d, "reasoning"), LLM_EV_THINKING, cb, arg);
	wire_openai_text(json_object_get(d, "content"), LLM_EV_TOKEN, cb, arg);
	wire_openai_fragments(w, json_object_get(d, "tool_calls"), whole);
}

/* Decode one parsed chunk or response; -1 after an error object. */
static int
wire_openai_object(struct wire_openai *w, json_t *o, bool whole, llm_ev_cb cb, void *arg)
{
	json_t *e = json_object_get(o, "error"), *choices, *ch, *fr;

	if (e != NULL && !json_is_null(e)) {
		char *msg = wire_openai_error_text(e);

		wire_openai_fail(cb, arg, msg ? msg : "unknown error", msg ? strlen(msg) : 13);
		free(msg);
		w->failed = true;
		return -1;
	}
	wire_openai_usage(w, o);
	choices = json_object_get(o, "choices");
	ch = json_array_get(choices, 0);
	if (!json_is_object(ch))
		return 0;
	wire_openai_delta(w, json_object_get(ch, whole ? "message" : "delta"), whole, cb, arg);
	fr = json_object_get(ch, "finish_reason");
	if (json_is_string(fr)) {
		snprintf(w->stats.finish, sizeof w->stats.finish, "%s", json_string_value(fr));
		w->finished = true;
	}
	return 0;
}

#define WIRE_OPENAI_FAST_MAX 1024 /* longest piece taken by the fast path */

/* A chunk that carries only text (no error, usage, timings, tool calls or
 * finish reason), read with jscan: same events as wire_openai_object.
 * false: not such a chunk, nothing was emitted. */
static bool
wire_openai_fast(const char *data, size_t len, llm_ev_cb cb, void *arg)
{
	static const char *const top[] = { "choices", "error", "usage", "timings" };
	static const char *const choice[] = { "delta", "finish_reason" };
	static const char *const delta[] = { "content", "reasoning_content", "reasoning", "tool_calls" };
	char content[WIRE_OPENAI_FAST_MAX], thinking[WIRE_OPENAI_FAST_MAX];
	struct jscan_val t[4], first, c[2], d[4];
	long nc = 0, nt = 0;

	if (!jscan_object(data, len, top, 4, t) ||
	    !jscan_unset(&t[1]) ||
	    t[2].type == JSCAN_OBJECT || t[3].type == JSCAN_OBJECT)
		return false;
	if (!jscan_first(&t[0], &first) || first.type != JSCAN_OBJECT)
		return true; /* no choice to read, as in wire_openai_object */
	if (!jscan_object(first.p, first.len, choice, 2, c) || c[1].type == JSCAN_STRING)
		return false;
	if (c[0].type != JSCAN_OBJECT)
		return true;
	if (!jscan_object(c[0].p, c[0].len, delta, 4, d) ||
	    !jscan_unset(&d[3]))
		return false;
	/* reasoning_content wins when it has text, as in wire_openai_delta */
	if (d[1].type == JSCAN_STRING && d[1].len > 2)
		nt = jscan_string(&d[1], thinking, sizeof thinking);
	else if (d[2].type == JSCAN_STRING)
		nt = jscan_string(&d[2], thinking, sizeof thinking);
	if (nt < 0)
		return false;
	if (d[0].type == JSCAN_STRING && (nc = jscan_string(&d[0], content, sizeof content)) < 0)
		return false;
	llm_emit_text(cb, arg, LLM_EV_THINKING, thinking, (size_t)nt);
	llm_emit_text(cb, arg, LLM_EV_TOKEN, content, (size_t)nc);
	return true;
}

int
wire_openai_chunk(struct wire_openai *w, const char *data, size_t len, llm_ev_cb cb, void *arg)
{
	json_t *o;
	int rc;

	if (w->failed)
		return -1;
	/* The OpenAI SDK stops at any data starting with [DONE]. */
	if (len >= 6 && memcmp(data, "[DONE]", 6) == 0)
		return 1;
	if (wire_openai_fast(data, len, cb, arg))
		return 0;
	o = json_loadb(data, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		wire_openai_malformed(data, len, cb, arg);
		w->failed = true;
		return -1;
	}
	rc = wire_openai_object(w, o, false, cb, arg);
	json_decref(o);
	return rc;
}

/* call_ + 8 of [a-z0-9], for a server that sent a call without an id. */
static void
wire_openai_call_id(struct buf *b)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static uint64_t x;

	if (x == 0)
		x = (uint64_t)util_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x2545f4914f6cdd1du;
	buf_puts(b, "call_");
	for (int i = 0; i < 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf_putc(b, set[x % 36]);
	}
}

static int
wire_openai_call_cmp(const void *a, const void *b)
{
	const struct wire_openai_call *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

static void
wire_openai_emit_calls(struct wire_openai *w, llm_ev_cb cb, void *arg)
{
	if (w->ncalls > 1)
		qsort(w->calls, w->ncalls, sizeof *w->calls, wire_openai_call_cmp);
	for (size_t i = 0; i < w->ncalls; i++) {
		struct wire_openai_call *c = &w->calls[i];
		struct llm_tool_call call = { 0 };
		struct llm_ev ev = { 0 };
		json_t *parsed = NULL;
		char *compact = NULL;

		if (c->id.len == 0)
			wire_openai_call_id(&c->id);
		/* Normalise the reassembled text; keep it as sent if it is not JSON. */
		if (c->args.len > 0 && (parsed = json_loadb(c->args.data, c->args.len, 0, NULL)) != NULL)
			compact = json_dumps(parsed, JSON_COMPACT);
		json_decref(parsed);
		call.index = c->index;
		call.id = c->id.data;
		call.name = c->name.data ? c->name.data : (char *)"";
		call.args = compact ? compact : c->args.len ? c->args.data
		                                            : (char *)"{}";
		ev.type = LLM_EV_TOOL_CALL;
		ev.call = &call;
		cb(&ev, arg);
		free(compact);
	}
}

int
wire_openai_finish(struct wire_openai *w, bool saw_done, llm_ev_cb cb, void *arg)
{
	struct llm_ev ev = { 0 };
	static const char early[] = "stream ended early";

	if (w->failed)
		return -1;
	if (!saw_done && !w->finished) {
		wire_openai_fail(cb, arg, early, sizeof early - 1);
		w->failed = true;
		return -1;
	}
	wire_openai_emit_calls(w, cb, arg);
	ev.type = LLM_EV_DONE;
	ev.stats = &w->stats;
	cb(&ev, arg);
	return 0;
}

int
wire_openai_response(const char *body, size_t len, llm_ev_cb cb, void *arg)
{
	struct wire_openai *w = wire_openai_new();
	json_t *o = json_loadb(body, len, 0, NULL);
	int rc;

	if (!json_is_object(o)) {
		wire_openai_malformed(body, len, cb, arg);
		rc = -1;
	} else if ((rc = wire_openai_object(w, o, true, cb, arg)) == 0)
		rc = wire_openai_finish(w, true, cb, arg);
	json_decref(o);
	wire_openai_free(w);
	return rc;
}

char *
wire_openai_error(const char *body, size_t len, char **code)
{
	json_t *o = json_loadb(body, len, 0, NULL), *e, *c;
	char *msg = NULL;

	if (code != NULL)
		*code = NULL;
	e = json_object_get(o, "error");
	if (json_is_string(e))
		msg = xstrdup(json_string_value(e));
	else if (json_is_object(e)) {
		msg = wire_openai_error_text(e);
		c = json_object_get(e, "code");
		if (code != NULL && json_is_string(c))
			*code = xstrdup(json_string_value(c));
		else if (code != NULL && json_is_integer(c))
			*code = xasprintf("%lld", (long long)json_integer_value(c));
	}
	json_decref(o);
	return msg;
}

/* ---- listener encoders ---- */

static json_t *
wire_openai_chunk_base(const char *id, int64_t created, const char *model)
{
	return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "chat.completion.chunk", "created", (json_int_t)created, "model", model);
}

static json_t *
wire_openai_choice(json_t *delta, const char *finish)
{
	return json_pack("[{s:i,s:o,s:n,s:o}]", "index", 0, "delta", delta, "logprobs", "finish_reason", finish ? json_string(finish) : json_null());
}

json_t *
wire_openai_chunk_json(const char *id, int64_t created, const char *model, const struct llm_ev *ev)
{
	json_t *c, *delta;
	const char *finish = NULL;

	if (ev != NULL && ev->type == LLM_EV_ERROR) {
		char *msg = xstrndup(ev->text ? ev->text : "", ev->text ? ev->len : 0);

		c = wire_openai_error_json(msg, "server_error", NULL, NULL);
		free(msg);
		return c;
	}
	c = wire_openai_chunk_base(id, created, model);
	if (ev == NULL)
		delta = json_pack("{s:s,s:s}", "role", "assistant", "content", "");
	else if (ev->type == LLM_EV_TOKEN)
		delta = json_pack("{s:s%}", "content", ev->text, ev->len);
	else if (ev->type == LLM_EV_THINKING)
		delta = json_pack("{s:s%}", "reasoning_content", ev->text, ev->len);
	else if (ev->type == LLM_EV_TOOL_CALL)
		delta = json_pack("{s:[{s:i,s:s,s:s,s:{s:s,s:s}}]}", "tool_calls", "index", ev->call->index, "id", ev->call->id, "type", "function", "function", "name", ev->call->name, "arguments", ev->call->args);
	else {
		delta = json_object();
		finish = ev->stats && ev->stats->finish[0] ? ev->stats->finish : "stop";
	}
	/* Invalid UTF-8 in text makes json_pack fail; send an empty delta. */
	if (delta == NULL)
		delta = json_object();
	json_object_set_new(c, "choices", wire_openai_choice(delta, finish));
	return c;
}

json_t *
wire_openai_usage_chunk_json(const char *id, int64_t created, const char *model, const struct llm_stats *st)
{
	json_t *c = wire_openai_chunk_base(id, created, model);
	int64_t p = st->prompt_tokens > 0 ? st->prompt_tokens : 0;
	int64_t r = st->reply_tokens > 0 ? st->reply_tokens : 0;

	json_object_set_new(c, "choices", json_array());
	json_object_set_new(c, "usage", json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)p, "completion_tokens", (json_int_t)r, "total_tokens", (json_int_t)(p + r)));
	return c;
}

static json_t *
wire_openai_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
wire_openai_error_json(const char *message, const char *type, const char *param, const char *code)
{
	json_t *e = json_object();

	json_object_set_new(e, "message", json_string(message ? message : ""));
	json_object_set_new(e, "type", json_string(type ? type : "invalid_request_error"));
	json_object_set_new(e, "param", wire_openai_str_or_null(param));
	json_object_set_new(e, "code", wire_openai_str_or_null(code));
	return json_pack("{s:o}", "error", e);
}

/* ---- listener request decoder ---- */

static const char *const wire_openai_efforts[][2] = {
	/* reasoning_effort -> parley's think */
	{ "none", "false" },
	{ "minimal", "low" },
	{ "low", "low" },
	{ "medium", "medium" },
	{ "high", "high" },
	{ "xhigh", "max" },
	{ "max", "max" },
};

/* data:[<mime>][;base64],<data> -> an llm_image; cause names the field. */
static int
wire_openai_image(const char *url, struct llm_image *img, const char *where, char **cause)
{
	const char *comma, *semi;

	if (util_prefix(url, "http://") || util_prefix(url, "https://"))
		return util_fail(cause, "%s: image URLs are not supported, send the image as a base64 data: URL", where);
	if (!util_prefix(url, "data:") || (comma = strchr(url, ',')) == NULL)
		return util_fail(cause, "%s: must be a data: URL", where);
	semi = memchr(url, ';', (size_t)(comma - url));
	if (semi == NULL || (size_t)(comma - semi) != 7 || memcmp(semi, ";base64", 7) != 0)
		return util_fail(cause, "%s: only base64 data: URLs are supported", where);
	if (!b64_valid(comma + 1))
		return util_fail(cause, "%s: image data is not valid base64", where);
	if (semi > url + 5)
		img->mime = xstrndup(url + 5, (size_t)(semi - url - 5));
	else
		img->mime = xstrdup(b64_image_mime(comma + 1));
	if (!util_prefix(img->mime, "image/")) {
		free(img->mime);
		img->mime = NULL;
		return util_fail(cause, "%s: only image data is supported", where);
	}
	img->b64 = xstrdup(comma + 1);
	return 0;
}

static int
wire_openai_parts(json_t *parts, struct llm_msg *m, size_t mi, char **cause)
{
	struct buf text = { 0 };
	json_t *p;
	size_t j;

	json_array_foreach(parts, j, p)
	{
		const char *type = json_string_value(json_object_get(p, "type"));

		if (!json_is_object(p)) {
			buf_free(&text);
			return util_fail(cause, "messages[%zu].content[%zu]: must be an object", mi, j);
		}
		if (util_streq(type, "text")) {
			json_t *t = json_object_get(p, "text");

			if (!json_is_string(t)) {
				buf_free(&text);
				return util_fail(cause, "messages[%zu].content[%zu].text: must be a string", mi, j);
			}
			if (text.len > 0)
				buf_putc(&text, '\n');
			buf_append(&text, json_string_value(t), json_string_length(t));
		} else if (util_streq(type, "image_url")) {
			json_t *iu = json_object_get(p, "image_url");
			const char *url = json_is_string(iu) ? json_string_value(iu) : json_string_value(json_object_get(iu, "url"));
			char *where = xasprintf("messages[%zu].content[%zu].image_url.url", mi, j);
			int rc;

			m->images = xreallocarray(m->images, m->nimages + 1, sizeof *m->images);
			memset(&m->images[m->nimages], 0, sizeof *m->images);
			if (url == NULL)
				rc = util_fail(cause, "%s: must be a string", where);
			else
				rc = wire_openai_image(url, &m->images[m->nimages], where, cause);
			free(where);
			if (rc != 0) {
				buf_free(&text);
				return -1;
			}
			m->nimages++;
		} else {
			buf_free(&text);
			return util_fail(cause, "messages[%zu].content[%zu].type: must be one of text, image_url", mi, j);
		}
	}
	m->content = buf_steal(&text);
	return 0;
}

static int
wire_openai_req_calls(json_t *calls, struct llm_msg *m, size_t mi, char **cause)
{
	json_t *c;
	size_t j;

	if (!json_is_array(calls))
		return util_fail(cause, "messages[%zu].tool_calls: must be an array", mi);
	json_array_foreach(calls, j, c)
	{
		json_t *fn = json_object_get(c, "function");

		if (!json_is_object(c))
			return util_fail(cause, "messages[%zu].tool_calls[%zu]: must be an object", mi, j);
		if (!json_is_string(json_object_get(c, "id")))
			return util_fail(cause, "messages[%zu].tool_calls[%zu].id: must be a string", mi, j);
		if (!json_is_object(fn))
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function: must be an object", mi, j);
		if (!json_is_string(json_object_get(fn, "name")))
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function.name: must be a string", mi, j);
		if (!json_is_string(json_object_get(fn, "arguments")))
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function.arguments: must be a string", mi, j);
	}
	if (json_array_size(calls) > 0)
		m->tool_calls = json_deep_copy(calls);
	return 0;
}

/* The function a tool result answers, from the calls earlier in history. */
static char *
wire_openai_call_name(const struct llm_msg *msgs, size_t n, const char *id)
{
	for (size_t i = n; i-- > 0;) {
		json_t *c;
		size_t j;

		json_array_foreach(msgs[i].tool_calls, j, c)
		{
			if (util_streq(json_string_value(json_object_get(c, "id")), id))
				return xstrdup(json_string_value(json_object_get(json_object_get(c, "function"), "name")));
		}
	}
	return NULL;
}

static int
wire_openai_req_msg(json_t *jm, struct llm_msg *msgs, size_t mi, char **cause)
{
	struct llm_msg *m = &msgs[mi];
	const char *role;
	json_t *content, *v;

	if (!json_is_object(jm))
		return util_fail(cause, "messages[%zu]: must be an object", mi);
	role = json_string_value(json_object_get(jm, "role"));
	if (role == NULL)
		return util_fail(cause, "messages[%zu].role: is required", mi);
	if (strcmp(role, "developer") == 0)
		role = "system";
	if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 && strcmp(role, "tool") != 0)
		return util_fail(cause, "messages[%zu].role: must be one of system, developer, user, assistant, tool", mi);
	m->role = xstrdup(role);
	content = json_object_get(jm, "content");
	if (json_is_string(content))
		m->content = xstrndup(json_string_value(content), json_string_length(content));
	else if (json_is_array(content)) {
		if (wire_openai_parts(content, m, mi, cause) != 0)
			return -1;
	} else if (content == NULL || json_is_null(content)) {
		/* Only an assistant turn that calls tools may have no content. */
		if (strcmp(role, "assistant") != 0)
			return util_fail(cause, "messages[%zu].content: is required", mi);
		m->content = xstrdup("");
	} else
		return util_fail(cause, "messages[%zu].content: must be a string or an array of content parts", mi);
	if ((v = json_object_get(jm, "tool_calls")) != NULL && !json_is_null(v)) {
		if (strcmp(role, "assistant") != 0)
			return util_fail(cause, "messages[%zu].tool_calls: only assistant messages may call tools", mi);
		if (wire_openai_req_calls(v, m, mi, cause) != 0)
			return -1;
	}
	if (strcmp(role, "tool") == 0) {
		v = json_object_get(jm, "tool_call_id");
		if (v != NULL && !json_is_string(v))
			return util_fail(cause, "messages[%zu].tool_call_id: must be a string", mi);
		if (v != NULL)
			m->tool_call_id = xstrdup(json_string_value(v));
		if (json_is_string(v = json_object_get(jm, "name")))
			m->tool_name = xstrdup(json_string_value(v));
		else if (m->tool_call_id != NULL)
			m->tool_name = wire_openai_call_name(msgs, mi, m->tool_call_id);
	}
	return 0;
}

static int
wire_openai_req_number(json_t *body, json_t *opts, const char *key, double lo, double hi, char **cause)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return util_fail(cause, "%s: must be a number", key);
	if (json_number_value(v) < lo || json_number_value(v) > hi)
		return util_fail(cause, "%s: must be between %g and %g", key, lo, hi);
	json_object_set(opts, key, v);
	return 0;
}

static int
wire_openai_req_stop(json_t *v, json_t *opts, char **cause)
{
	json_t *s;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		json_object_set_new(opts, "stop", json_pack("[O]", v));
		return 0;
	}
	if (!json_is_array(v))
		return util_fail(cause, "stop: must be a string, an array of strings or null");
	if (json_array_size(v) > 4)
		return util_fail(cause, "stop: at most 4 sequences are allowed");
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s))
			return util_fail(cause, "stop[%zu]: must be a string", i);
	}
	if (json_array_size(v) > 0)
		json_object_set_new(opts, "stop", json_deep_copy(v));
	return 0;
}

static int
wire_openai_req_format(json_t *v, struct llm_req *out, char **cause)
{
	const char *type;
	json_t *js, *schema;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return util_fail(cause, "response_format: must be an object");
	type = json_string_value(json_object_get(v, "type"));
	if (util_streq(type, "text"))
		return 0;
	if (util_streq(type, "json_object")) {
		out->format = json_string("json");
		return 0;
	}
	if (!util_streq(type, "json_schema"))
		return util_fail(cause, "response_format.type: must be one of text, json_object, json_schema");
	js = json_object_get(v, "json_schema");
	if (!json_is_object(js))
		return util_fail(cause, "response_format.json_schema: must be an object");
	if (!json_is_string(json_object_get(js, "name")))
		return util_fail(cause, "response_format.json_schema.name: is required");
	schema = json_object_get(js, "schema");
	if (schema != NULL && !json_is_object(schema))
		return util_fail(cause, "response_format.json_schema.schema: must be an object");
	out->format = schema ? json_deep_copy(schema) : json_string("json");
	out->schema_spec = json_deep_copy(js);
	return 0;
}

/* tool_choice: a mode, or one function by name that tools must offer. */
static int
wire_openai_req_tool_choice(json_t *v, struct llm_req *out, char **cause)
{
	const char *mode = json_string_value(v), *name;
	json_t *t;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (mode != NULL) {
		if (strcmp(mode, "none") != 0 && strcmp(mode, "auto") != 0 && strcmp(mode, "required") != 0)
			return util_fail(cause, "tool_choice: must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}");
		if (strcmp(mode, "required") == 0 && out->tools == NULL)
			return util_fail(cause, "tool_choice: \"required\" needs tools");
		out->tool_choice = json_incref(v);
		return 0;
	}
	if (!json_is_object(v) || !util_streq(json_string_value(json_object_get(v, "type")), "function"))
		return util_fail(cause, "tool_choice: must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}");
	name = json_string_value(json_object_get(json_object_get(v, "function"), "name"));
	if (name == NULL)
		return util_fail(cause, "tool_choice.function.name: is required");
	json_array_foreach(out->tools, i, t)
	{
		if (util_streq(json_string_value(json_object_get(json_object_get(t, "function"), "name")), name)) {
			out->tool_choice = json_deep_copy(v);
			return 0;
		}
	}
	return util_fail(cause, "tool_choice.function.name: no tool named '%s' is in tools", name);
}

static int
wire_openai_req_tools(json_t *v, struct llm_req *out, char **cause)
{
	json_t *t;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return util_fail(cause, "tools: must be an array");
	json_array_foreach(v, i, t)
	{
		json_t *fn = json_object_get(t, "function");

		if (!util_streq(json_string_value(json_object_get(t, "type")), "function"))
			return util_fail(cause, "tools[%zu].type: must be function", i);
		if (!json_is_object(fn))
			return util_fail(cause, "tools[%zu].function: must be an object", i);
		if (!json_is_string(json_object_get(fn, "name")))
			return util_fail(cause, "tools[%zu].function.name: is required", i);
	}
	if (json_array_size(v) > 0)
		out->tools = json_deep_copy(v);
	return 0;
}

static int
wire_openai_req_options(json_t *body, struct llm_req *out, char **cause)
{
	static const char *const ints[] = { "max_completion_tokens", "max_tokens" };
	json_t *opts = json_object(), *v;

	out->options = opts;
	if (wire_openai_req_number(body, opts, "temperature", 0, 2, cause) != 0 ||
	    wire_openai_req_number(body, opts, "top_p", 0, 1, cause) != 0 ||
	    wire_openai_req_number(body, opts, "presence_penalty", -2, 2, cause) != 0 ||
	    wire_openai_req_number(body, opts, "frequency_penalty", -2, 2, cause) != 0 ||
	    /* Extras that llama-server and LM Studio take. */
	    wire_openai_req_number(body, opts, "top_k", 0, 1e9, cause) != 0 ||
	    wire_openai_req_number(body, opts, "min_p", 0, 1, cause) != 0 ||
	    wire_openai_req_number(body, opts, "repeat_penalty", 0, 1e9, cause) != 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		v = json_object_get(body, ints[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return util_fail(cause, "%s: must be a positive integer", ints[i]);
		if (json_object_get(opts, "max_tokens") == NULL)
			json_object_set(opts, "max_tokens", v);
	}
	v = json_object_get(body, "seed");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v))
			return util_fail(cause, "seed: must be an integer");
		json_object_set(opts, "seed", v);
	}
	if (wire_openai_req_stop(json_object_get(body, "stop"), opts, cause) != 0)
		return -1;
	v = json_object_get(body, "n");
	if (v != NULL && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 1))
		return util_fail(cause, "n: only 1 is supported");
	v = json_object_get(body, "reasoning_effort");
	if (v != NULL && !json_is_null(v)) {
		const char *e = json_string_value(v);
		size_t i;

		for (i = 0; e != NULL && i < sizeof wire_openai_efforts / sizeof wire_openai_efforts[0]; i++)
			if (strcmp(e, wire_openai_efforts[i][0]) == 0)
				break;
		if (e == NULL || i == sizeof wire_openai_efforts / sizeof wire_openai_efforts[0])
			return util_fail(cause, "reasoning_effort: must be one of none, minimal, low, medium, high, xhigh, max");
		out->think = xstrdup(wire_openai_efforts[i][1]);
	}
	return 0;
}

int
wire_openai_parse_request(json_t *body, struct llm_req *out, char **cause)
{
	json_t *v, *msgs, *so;
	struct llm_msg *m;
	size_t i;

	memset(out, 0, sizeof *out);
	if (!json_is_object(body))
		return util_fail(cause, "request body must be a JSON object");
	v = json_object_get(body, "model");
	if (v == NULL)
		return util_fail(cause, "model: is required");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return util_fail(cause, "model: must be a non-empty string");
	msgs = json_object_get(body, "messages");
	if (msgs == NULL)
		return util_fail(cause, "messages: is required");
	if (!json_is_array(msgs))
		return util_fail(cause, "messages: must be an array");
	if (json_array_size(msgs) == 0)
		return util_fail(cause, "messages: must contain at least one message");
	v = json_object_get(body, "stream");
	if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
		return util_fail(cause, "stream: must be a boolean");
	so = json_object_get(body, "stream_options");
	if (so != NULL && !json_is_null(so)) {
		json_t *iu = json_object_get(so, "include_usage");

		if (!json_is_object(so))
			return util_fail(cause, "stream_options: must be an object");
		if (iu != NULL && !json_is_boolean(iu))
			return util_fail(cause, "stream_options.include_usage: must be a boolean");
	}

	out->model = xstrdup(json_string_value(json_object_get(body, "model")));
	out->stream = json_is_true(v);
	m = xcalloc(json_array_size(msgs), sizeof *m);
	out->msgs = m;
	json_array_foreach(msgs, i, v)
	{
		out->nmsgs = i + 1;
		if (wire_openai_req_msg(v, m, i, cause) != 0)
			goto fail;
	}
	if (wire_openai_req_options(body, out, cause) != 0 ||
	    wire_openai_req_format(json_object_get(body, "response_format"), out, cause) != 0 ||
	    wire_openai_req_tools(json_object_get(body, "tools"), out, cause) != 0 ||
	    wire_openai_req_tool_choice(json_object_get(body, "tool_choice"), out, cause) != 0)
		goto fail;
	if (json_object_size(out->options) == 0) {
		json_decref(out->options);
		out->options = NULL;
	}
	return 0;
fail:
	wire_openai_request_free(out);
	return -1;
}

bool
wire_openai_request_include_usage(json_t *body)
{
	return json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
}

void
wire_openai_request_free(struct llm_req *req)
{
	llm_req_clear(req);
}
