/*
 * wire_ollama.c: Ollama's native /api wire format (protocols.md 1.9, 1.7).
 *
 * The encoder turns a parley request (llm.h, options under parley's names,
 * history in OpenAI shape) into an /api/chat body: max_tokens becomes
 * options.num_predict, keep_alive moves to the top level, tool calls in the
 * history get object arguments and tool results get tool_name.
 *
 * The decoders are stateless: each NDJSON line is one JSON object parsed
 * with json_loadb (no copy of the line) and turned into events in a fixed
 * order: THINKING, TOKEN, TOOL_CALLs, then DONE with statistics on the final
 * line. Event text points into the parsed JSON and is valid only during the
 * callback. The line that carries one piece of the reply, nearly every line
 * of a stream, is first tried with jscan, which reads it without building
 * a tree; any other line goes to Jansson.
 */
#include "wire_ollama.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "jscan.h"
#include "util.h"

/* ---- request ---- */

/* "300" -> 300, "-1" -> -1, "2.5" -> 2.5; NULL when s is not a number. */
static json_t *
wire_ollama_number(const char *s)
{
	char *end;
	long long ll;
	double d;

	if (*s == '\0')
		return NULL;
	ll = strtoll(s, &end, 10);
	if (*end == '\0')
		return json_integer(ll);
	d = strtod(s, &end);
	if (*end == '\0')
		return json_real(d);
	return NULL;
}

static json_t *
wire_ollama_keep_alive(json_t *v)
{
	json_t *n;

	if (json_is_number(v))
		return json_copy(v);
	if (!json_is_string(v))
		return NULL;
	/* A bare number is seconds; Ollama wants it as a JSON number then. */
	if ((n = wire_ollama_number(json_string_value(v))) != NULL)
		return n;
	return json_copy(v);
}

static json_t *
wire_ollama_stop(json_t *v)
{
	json_t *a;

	if (json_is_string(v)) {
		a = json_array();
		json_array_append(a, v);
		return a;
	}
	if (json_is_array(v) && json_array_size(v) > 0)
		return json_deep_copy(v);
	return NULL;
}

/* Split parley's options into Ollama's options object and top-level keys. */
static void
wire_ollama_options(json_t *root, json_t *opts)
{
	json_t *o = json_object(), *v, *x;
	const char *k;

	json_object_foreach(opts, k, v)
	{
		if (json_is_null(v))
			continue;
		if (strcmp(k, "max_tokens") == 0)
			json_object_set(o, "num_predict", v);
		else if (strcmp(k, "keep_alive") == 0) {
			if ((x = wire_ollama_keep_alive(v)) != NULL)
				json_object_set_new(root, "keep_alive", x);
		} else if (strcmp(k, "stop") == 0) {
			if ((x = wire_ollama_stop(v)) != NULL)
				json_object_set_new(o, "stop", x);
		} else
			json_object_set(o, k, v);
	}
	if (json_object_size(o) > 0)
		json_object_set_new(root, "options", o);
	else
		json_decref(o);
}

/* OpenAI-shaped history tool calls -> Ollama's, arguments as an object. */
static json_t *
wire_ollama_tool_calls(json_t *calls)
{
	json_t *out = json_array(), *c;
	size_t i;

	json_array_foreach(calls, i, c)
	{
		json_t *fn = json_object_get(c, "function");
		json_t *id = json_object_get(c, "id");
		json_t *name = json_object_get(fn, "name");
		json_t *args = json_object_get(fn, "arguments");
		json_t *oc = json_object(), *of = json_object(), *obj = NULL;

		if (json_is_string(args)) {
			obj = json_loads(json_string_value(args), 0, NULL);
			if (!json_is_object(obj)) {
				json_decref(obj);
				obj = NULL;
			}
		} else if (json_is_object(args))
			obj = json_deep_copy(args);
		if (json_is_string(id) && json_string_length(id) > 0)
			json_object_set(oc, "id", id);
		json_object_set_new(of, "name", json_is_string(name) ? json_copy(name) : json_string(""));
		json_object_set_new(of, "arguments", obj ? obj : json_object());
		json_object_set_new(oc, "function", of);
		json_array_append_new(out, oc);
	}
	return out;
}

/* The function name behind a tool result that only names its call id. */
static const char *
wire_ollama_tool_name(const struct llm_req *req, size_t upto, const char *call_id)
{
	for (size_t i = upto; i-- > 0;) {
		json_t *c;
		size_t j;

		json_array_foreach(req->msgs[i].tool_calls, j, c)
		{
			if (util_streq(json_string_value(json_object_get(c, "id")), call_id))
				return json_string_value(json_object_get(json_object_get(c, "function"), "name"));
		}
	}
	return NULL;
}

static json_t *
wire_ollama_message(const struct llm_req *req, size_t i)
{
	const struct llm_msg *m = &req->msgs[i];
	json_t *o = json_object();

	json_object_set_new(o, "role", json_string(m->role ? m->role : "user"));
	json_object_set_new(o, "content", json_string(m->content ? m->content : ""));
	if (m->nimages > 0) {
		json_t *imgs = json_array();

		for (size_t k = 0; k < m->nimages; k++)
			json_array_append_new(imgs, json_string(m->images[k].b64));
		json_object_set_new(o, "images", imgs);
	}
	if (json_is_array(m->tool_calls) && json_array_size(m->tool_calls) > 0)
		json_object_set_new(o, "tool_calls", wire_ollama_tool_calls(m->tool_calls));
	if (util_streq(m->role, "tool")) {
		const char *name = m->tool_name;

		if (name == NULL && m->tool_call_id != NULL)
			name = wire_ollama_tool_name(req, i, m->tool_call_id);
		if (name != NULL)
			json_object_set_new(o, "tool_name", json_string(name));
		if (m->tool_call_id != NULL)
			json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
	}
	return o;
}

/* Ollama has no tool_choice: "none" offers no tools, a named function
 * offers only that one; "auto" and "required" offer them all (a listener
 * refuses "required" before it gets here, since Ollama cannot force it). */
static void
wire_ollama_tools(json_t *root, json_t *tools, json_t *choice)
{
	const char *name = json_string_value(json_object_get(json_object_get(choice, "function"), "name"));
	json_t *t, *one;
	size_t i;

	if (util_streq(json_string_value(choice), "none"))
		return;
	if (name == NULL) {
		json_object_set(root, "tools", tools);
		return;
	}
	one = json_array();
	json_array_foreach(tools, i, t)
	{
		if (util_streq(json_string_value(json_object_get(json_object_get(t, "function"), "name")), name))
			json_array_append(one, t);
	}
	json_object_set_new(root, "tools", one);
}

json_t *
wire_ollama_chat_request(const struct llm_req *req)
{
	json_t *root = json_object(), *msgs = json_array();

	json_object_set_new(root, "model", json_string(req->model ? req->model : ""));
	for (size_t i = 0; i < req->nmsgs; i++)
		json_array_append_new(msgs, wire_ollama_message(req, i));
	json_object_set_new(root, "messages", msgs);
	json_object_set_new(root, "stream", json_boolean(req->stream));
	if (req->options != NULL)
		wire_ollama_options(root, req->options);
	if (req->think != NULL) {
		if (strcmp(req->think, "true") == 0)
			json_object_set_new(root, "think", json_true());
		else if (strcmp(req->think, "false") == 0)
			json_object_set_new(root, "think", json_false());
		else
			json_object_set_new(root, "think", json_string(req->think));
	}
	if (req->tools != NULL && json_array_size(req->tools) > 0)
		wire_ollama_tools(root, req->tools, req->tool_choice);
	if (req->format != NULL)
		json_object_set(root, "format", req->format);
	return root;
}

/* ---- decoders ---- */

/* call_ + 8 of [a-z0-9], as recent Ollama builds name calls. */
static void
wire_ollama_call_id(char out[14])
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static uint64_t x;

	if (x == 0)
		x = (uint64_t)util_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
	memcpy(out, "call_", 5);
	for (int i = 0; i < 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[5 + i] = set[x % 36];
	}
	out[13] = '\0';
}

static void
wire_ollama_fail(llm_ev_cb cb, void *arg, const char *msg, size_t len)
{
	llm_emit_error(cb, arg, LLM_ERR_BACKEND, msg, len);
}

/* Report a line that is not JSON; quote a bounded, UTF-8 clean prefix. */
static void
wire_ollama_malformed(const char *line, size_t len, llm_ev_cb cb, void *arg)
{
	size_t show = len > 120 ? 120 : len;
	char *msg;

	show = util_utf8_complete(line, show);
	if (!util_utf8_valid(line, show))
		msg = xstrdup("malformed line from server: bytes that are not valid UTF-8");
	else
		msg = xasprintf("malformed line from server: %.*s%s", (int)show, line, show < len ? "..." : "");
	wire_ollama_fail(cb, arg, msg, strlen(msg));
	free(msg);
}

/* Emit the error of an {"error":...} object; the text may be any JSON. */
static void
wire_ollama_error_ev(json_t *e, llm_ev_cb cb, void *arg)
{
	if (json_is_string(e)) {
		wire_ollama_fail(cb, arg, json_string_value(e), json_string_length(e));
	} else {
		json_t *m = json_object_get(e, "message");
		char *s;

		if (json_is_string(m)) {
			wire_ollama_fail(cb, arg, json_string_value(m), json_string_length(m));
			return;
		}
		s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
		wire_ollama_fail(cb, arg, s ? s : "unknown error", s ? strlen(s) : 13);
		free(s);
	}
}

static void
wire_ollama_text(json_t *v, enum llm_ev_type type, llm_ev_cb cb, void *arg)
{
	if (json_is_string(v))
		llm_emit_text(cb, arg, type, json_string_value(v), json_string_length(v));
}

static void
wire_ollama_calls(json_t *calls, llm_ev_cb cb, void *arg)
{
	json_t *c;
	size_t i;

	json_array_foreach(calls, i, c)
	{
		json_t *fn = json_object_get(c, "function");
		json_t *id = json_object_get(c, "id");
		json_t *idx = json_object_get(fn, "index");
		json_t *args = json_object_get(fn, "arguments");
		struct llm_tool_call call = { 0 };
		struct llm_ev ev = { 0 };
		char gen[14];

		if (!json_is_object(fn))
			continue;
		if (json_is_string(id) && json_string_length(id) > 0)
			call.id = (char *)json_string_value(id);
		else {
			wire_ollama_call_id(gen);
			call.id = gen;
		}
		call.index = json_is_integer(idx) ? (int)json_integer_value(idx) : (int)i;
		call.name = (char *)json_string_value(json_object_get(fn, "name"));
		if (call.name == NULL)
			call.name = (char *)"";
		if (json_is_string(args))
			call.args = xstrdup(json_string_value(args));
		else if (args == NULL || json_is_null(args))
			call.args = xstrdup("{}");
		else
			call.args = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
		ev.type = LLM_EV_TOOL_CALL;
		ev.call = &call;
		cb(&ev, arg);
		free(call.args);
	}
}

static int64_t
wire_ollama_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	/* Counts and nanoseconds: a real no int64 can hold is junk (and
	 * converting it would be undefined), so it counts as absent. */
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e18)
		return (int64_t)json_real_value(v);
	return 0;
}

static void
wire_ollama_done(json_t *o, llm_ev_cb cb, void *arg)
{
	struct llm_stats st;
	struct llm_ev ev = { 0 };
	json_t *reason = json_object_get(o, "done_reason");

	llm_stats_init(&st);
	if (json_is_integer(json_object_get(o, "prompt_eval_count")))
		st.prompt_tokens = wire_ollama_int(o, "prompt_eval_count");
	if (json_is_integer(json_object_get(o, "eval_count")))
		st.reply_tokens = wire_ollama_int(o, "eval_count");
	st.total_ns = wire_ollama_int(o, "total_duration");
	st.load_ns = wire_ollama_int(o, "load_duration");
	st.prompt_ns = wire_ollama_int(o, "prompt_eval_duration");
	st.eval_ns = wire_ollama_int(o, "eval_duration");
	if (json_is_string(reason))
		snprintf(st.finish, sizeof st.finish, "%s", json_string_value(reason));
	ev.type = LLM_EV_DONE;
	ev.stats = &st;
	cb(&ev, arg);
}

#define WIRE_OLLAMA_FAST_MAX 1024 /* longest piece taken by the fast path */

/* A streamed line that is only a piece of the reply (not done, no error, no
 * tool calls), read with jscan: same events as the Jansson path. false:
 * not such a line, nothing was emitted. */
static bool
wire_ollama_fast(const char *text, size_t len, llm_ev_cb cb, void *arg)
{
	static const char *const top[] = { "message", "done", "error" };
	static const char *const inner[] = { "content", "thinking", "tool_calls" };
	char content[WIRE_OLLAMA_FAST_MAX], thinking[WIRE_OLLAMA_FAST_MAX];
	struct jscan_val t[3], m[3];
	long nc = 0, nt = 0;

	if (!jscan_object(text, len, top, 3, t) || t[1].type == JSCAN_TRUE ||
	    !jscan_unset(&t[2]))
		return false;
	if (t[0].type == JSCAN_ABSENT)
		return true;
	if (t[0].type != JSCAN_OBJECT || !jscan_object(t[0].p, t[0].len, inner, 3, m) ||
	    !jscan_unset(&m[2]))
		return false;
	if (m[0].type == JSCAN_STRING && (nc = jscan_string(&m[0], content, sizeof content)) < 0)
		return false;
	if (m[1].type == JSCAN_STRING && (nt = jscan_string(&m[1], thinking, sizeof thinking)) < 0)
		return false;
	llm_emit_text(cb, arg, LLM_EV_THINKING, thinking, (size_t)nt);
	llm_emit_text(cb, arg, LLM_EV_TOKEN, content, (size_t)nc);
	return true;
}

/* One chat object; body says a missing done flag still ends the reply. */
static int
wire_ollama_chat_obj(const char *text, size_t len, bool body, llm_ev_cb cb, void *arg)
{
	json_t *o, *e, *msg;
	int rc = 0;

	if (!body && wire_ollama_fast(text, len, cb, arg))
		return 0;
	o = json_loadb(text, len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		wire_ollama_malformed(text, len, cb, arg);
		return -1;
	}
	if ((e = json_object_get(o, "error")) != NULL && !json_is_null(e)) {
		wire_ollama_error_ev(e, cb, arg);
		json_decref(o);
		return -1;
	}
	msg = json_object_get(o, "message");
	wire_ollama_text(json_object_get(msg, "thinking"), LLM_EV_THINKING, cb, arg);
	wire_ollama_text(json_object_get(msg, "content"), LLM_EV_TOKEN, cb, arg);
	wire_ollama_calls(json_object_get(msg, "tool_calls"), cb, arg);
	if (body || json_is_true(json_object_get(o, "done"))) {
		wire_ollama_done(o, cb, arg);
		rc = 1;
	}
	json_decref(o);
	return rc;
}

int
wire_ollama_chat_line(const char *line, size_t len, llm_ev_cb cb, void *arg)
{
	return wire_ollama_chat_obj(line, len, false, cb, arg);
}

int
wire_ollama_chat_body(const char *body, size_t len, llm_ev_cb cb, void *arg)
{
	return wire_ollama_chat_obj(body, len, true, cb, arg);
}

int
wire_ollama_pull_line(const char *line, size_t len, wire_pull_cb cb, void *arg)
{
	struct wire_pull_ev ev = { 0 };
	json_t *o, *e;
	char *msg = NULL;

	o = json_loadb(line, len, 0, NULL);
	if (!json_is_object(o)) {
		size_t show = util_utf8_complete(line, len > 120 ? 120 : len);

		if (!util_utf8_valid(line, show))
			msg = xstrdup("malformed line from server: bytes that are not valid UTF-8");
		else
			msg = xasprintf("malformed line from server: %.*s%s", (int)show, line, show < len ? "..." : "");
		ev.error = msg;
		ev.status = "";
		cb(&ev, arg);
		free(msg);
		json_decref(o);
		return -1;
	}
	ev.status = json_string_value(json_object_get(o, "status"));
	if (ev.status == NULL)
		ev.status = "";
	ev.digest = json_string_value(json_object_get(o, "digest"));
	ev.total = wire_ollama_int(o, "total");
	ev.completed = wire_ollama_int(o, "completed");
	if ((e = json_object_get(o, "error")) != NULL && !json_is_null(e)) {
		if (json_is_string(e))
			ev.error = json_string_value(e);
		else
			ev.error = msg = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
		if (ev.error == NULL)
			ev.error = "unknown error";
	}
	cb(&ev, arg);
	free(msg);
	json_decref(o);
	return ev.error != NULL ? -1 : 0;
}

char *
wire_ollama_error(const char *body, size_t len)
{
	json_t *o = json_loadb(body, len, 0, NULL), *e, *m;
	char *s = NULL;

	e = json_object_get(o, "error");
	if (json_is_string(e))
		s = xstrdup(json_string_value(e));
	else if (json_is_string(m = json_object_get(e, "message")))
		s = xstrdup(json_string_value(m));
	json_decref(o);
	return s;
}

/* ---- the listener's side: requests from Ollama clients ---- */

/* Options an Ollama client may send, with the JSON type each takes. */
enum wire_ollama_otype {
	WIRE_OLLAMA_NUM,
	WIRE_OLLAMA_INT,
	WIRE_OLLAMA_BOOL,
};
static const struct {
	const char *name; /* Ollama's */
	const char *as; /* parley's */
	enum wire_ollama_otype type;
} wire_ollama_opts[] = {
	{ "temperature", "temperature", WIRE_OLLAMA_NUM },
	{ "top_p", "top_p", WIRE_OLLAMA_NUM },
	{ "top_k", "top_k", WIRE_OLLAMA_INT },
	{ "min_p", "min_p", WIRE_OLLAMA_NUM },
	{ "seed", "seed", WIRE_OLLAMA_INT },
	{ "num_ctx", "num_ctx", WIRE_OLLAMA_INT },
	{ "num_predict", "max_tokens", WIRE_OLLAMA_INT },
	{ "repeat_penalty", "repeat_penalty", WIRE_OLLAMA_NUM },
	{ "presence_penalty", "presence_penalty", WIRE_OLLAMA_NUM },
	{ "frequency_penalty", "frequency_penalty", WIRE_OLLAMA_NUM },
	/* only an Ollama backend uses these */
	{ "typical_p", "typical_p", WIRE_OLLAMA_NUM },
	{ "repeat_last_n", "repeat_last_n", WIRE_OLLAMA_INT },
	{ "num_keep", "num_keep", WIRE_OLLAMA_INT },
	{ "num_batch", "num_batch", WIRE_OLLAMA_INT },
	{ "num_gpu", "num_gpu", WIRE_OLLAMA_INT },
	{ "main_gpu", "main_gpu", WIRE_OLLAMA_INT },
	{ "num_thread", "num_thread", WIRE_OLLAMA_INT },
	{ "use_mmap", "use_mmap", WIRE_OLLAMA_BOOL },
};

static int
wire_ollama_parse_options(json_t *opts, json_t *out, char **cause)
{
	const char *k;
	json_t *v;

	if (opts == NULL || json_is_null(opts))
		return 0;
	if (!json_is_object(opts))
		return util_fail(cause, "options: must be an object");
	json_object_foreach(opts, k, v)
	{
		size_t i;

		if (json_is_null(v))
			continue;
		if (strcmp(k, "stop") == 0) {
			json_t *s;
			size_t j;

			if (json_is_string(v)) {
				json_object_set_new(out, "stop", json_pack("[O]", v));
				continue;
			}
			if (!json_is_array(v))
				return util_fail(cause, "options.stop: must be an array of strings");
			json_array_foreach(v, j, s)
			{
				if (!json_is_string(s))
					return util_fail(cause, "options.stop[%zu]: must be a string", j);
			}
			if (json_array_size(v) > 0)
				json_object_set_new(out, "stop", json_deep_copy(v));
			continue;
		}
		for (i = 0; i < sizeof wire_ollama_opts / sizeof wire_ollama_opts[0]; i++)
			if (strcmp(k, wire_ollama_opts[i].name) == 0)
				break;
		if (i == sizeof wire_ollama_opts / sizeof wire_ollama_opts[0])
			continue; /* as Ollama: unknown options are ignored */
		switch (wire_ollama_opts[i].type) {
		case WIRE_OLLAMA_BOOL:
			if (!json_is_boolean(v))
				return util_fail(cause, "options.%s: must be true or false", k);
			json_object_set(out, wire_ollama_opts[i].as, v);
			break;
		case WIRE_OLLAMA_INT:
			/* Go reads JSON numbers as float64 and truncates */
			if (!json_is_number(v) || json_number_value(v) < -9e18 || json_number_value(v) > 9e18)
				return util_fail(cause, "options.%s: must be an integer", k);
			/* num_predict -1 (no limit) and -2 (fill the context) are
			 * Ollama's defaults: no max_tokens */
			if (strcmp(k, "num_predict") == 0 && json_number_value(v) < 1)
				break;
			json_object_set_new(out, wire_ollama_opts[i].as, json_integer((json_int_t)json_number_value(v)));
			break;
		case WIRE_OLLAMA_NUM:
			if (!json_is_number(v))
				return util_fail(cause, "options.%s: must be a number", k);
			json_object_set(out, wire_ollama_opts[i].as, v);
			break;
		}
	}
	return 0;
}

/* images: raw base64 strings (a data: URL's prefix is dropped). */
static int
wire_ollama_parse_images(json_t *v, struct llm_msg *m, const char *where, char **cause)
{
	json_t *im;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return util_fail(cause, "%s: must be an array of base64 strings", where);
	m->images = xcalloc(json_array_size(v) ? json_array_size(v) : 1, sizeof *m->images);
	json_array_foreach(v, i, im)
	{
		const char *s = json_string_value(im), *comma;

		if (s != NULL && util_prefix(s, "data:") && (comma = strchr(s, ',')) != NULL)
			s = comma + 1;
		if (s == NULL || !b64_valid(s))
			return util_fail(cause, "%s[%zu]: must be base64 image data", where, i);
		m->images[i].b64 = xstrdup(s);
		m->images[i].mime = xstrdup(b64_image_mime(s));
		m->nimages = i + 1;
	}
	return 0;
}

/* Ollama's tool calls -> OpenAI's, as the store and every codec keep them. */
static int
wire_ollama_parse_calls(json_t *v, struct llm_msg *m, size_t mi, char **cause)
{
	json_t *c, *out;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return util_fail(cause, "messages[%zu].tool_calls: must be an array", mi);
	if (json_array_size(v) == 0)
		return 0;
	out = json_array();
	m->tool_calls = out;
	json_array_foreach(v, i, c)
	{
		json_t *fn = json_object_get(c, "function"), *args = json_object_get(fn, "arguments");
		const char *name = json_string_value(json_object_get(fn, "name"));
		const char *id = json_string_value(json_object_get(c, "id"));
		char gen[14], *text;

		if (!json_is_object(c) || !json_is_object(fn))
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function: must be an object", mi, i);
		if (name == NULL || *name == '\0')
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function.name: must be a non-empty string", mi, i);
		if (args == NULL || json_is_null(args))
			text = xstrdup("{}");
		else if (json_is_string(args))
			text = xstrdup(json_string_value(args));
		else if (json_is_object(args))
			text = json_dumps(args, JSON_COMPACT);
		else
			return util_fail(cause, "messages[%zu].tool_calls[%zu].function.arguments: must be an object", mi, i);
		if (id == NULL || *id == '\0') {
			wire_ollama_call_id(gen);
			id = gen;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function", "name", name, "arguments", text ? text : "{}"));
		free(text);
	}
	return 0;
}

/* The latest call to name before message i: the one a tool result without
 * an id answers. */
static const char *
wire_ollama_call_for(const struct llm_msg *msgs, size_t i, const char *name)
{
	while (i-- > 0) {
		json_t *c;
		size_t j = json_array_size(msgs[i].tool_calls);

		while (j-- > 0) {
			c = json_array_get(msgs[i].tool_calls, j);
			if (name == NULL || util_streq(json_string_value(json_object_get(json_object_get(c, "function"), "name")), name))
				return json_string_value(json_object_get(c, "id"));
		}
	}
	return NULL;
}

static int
wire_ollama_string(json_t *o, const char *key, char **dst, const char *where, char **cause)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return util_fail(cause, "%s%s: must be a string", where, key);
	*dst = xstrdup(json_string_value(v));
	return 0;
}

static int
wire_ollama_parse_message(json_t *jm, struct llm_msg *msgs, size_t mi, char **cause)
{
	static const char *const roles[] = { "system", "user", "assistant", "tool" };
	struct llm_msg *m = &msgs[mi];
	const char *role = json_string_value(json_object_get(jm, "role"));
	char *where;
	int rc;

	if (!json_is_object(jm))
		return util_fail(cause, "messages[%zu]: must be an object", mi);
	if (role == NULL)
		return util_fail(cause, "messages[%zu].role: must be a string", mi);
	m->role = xstrdup(role);
	for (char *p = m->role; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(m->role, roles[i]) == 0)
			goto role_ok;
	return util_fail(cause, "messages[%zu].role: must be one of system, user, assistant, tool", mi);
role_ok:
	where = xasprintf("messages[%zu].", mi);
	rc = wire_ollama_string(jm, "content", &m->content, where, cause);
	if (rc == 0)
		rc = wire_ollama_string(jm, "thinking", &m->thinking, where, cause);
	if (rc == 0)
		rc = wire_ollama_string(jm, "tool_name", &m->tool_name, where, cause);
	if (rc == 0)
		rc = wire_ollama_string(jm, "tool_call_id", &m->tool_call_id, where, cause);
	free(where);
	if (rc != 0)
		return -1;
	if (m->content == NULL)
		m->content = xstrdup("");
	where = xasprintf("messages[%zu].images", mi);
	rc = wire_ollama_parse_images(json_object_get(jm, "images"), m, where, cause);
	free(where);
	if (rc != 0 || wire_ollama_parse_calls(json_object_get(jm, "tool_calls"), m, mi, cause) != 0)
		return -1;
	if (strcmp(m->role, "tool") == 0 && m->tool_call_id == NULL) {
		const char *id = wire_ollama_call_for(msgs, mi, m->tool_name);

		if (id != NULL)
			m->tool_call_id = xstrdup(id);
	}
	if (strcmp(m->role, "tool") == 0 && m->tool_name == NULL && m->tool_call_id != NULL)
		for (size_t i = mi; m->tool_name == NULL && i-- > 0;) {
			json_t *c;
			size_t j;

			json_array_foreach(msgs[i].tool_calls, j, c)
			{
				if (util_streq(json_string_value(json_object_get(c, "id")), m->tool_call_id)) {
					m->tool_name = xstrdup(json_string_value(json_object_get(json_object_get(c, "function"), "name")));
					break;
				}
			}
		}
	return 0;
}

static int
wire_ollama_parse_think(json_t *v, struct llm_req *out, char **cause)
{
	static const char *const levels[] = { "low", "medium", "high", "max" };

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		out->think = xstrdup(json_is_true(v) ? "true" : "false");
		return 0;
	}
	for (size_t i = 0; json_is_string(v) && i < sizeof levels / sizeof levels[0]; i++) {
		if (strcmp(json_string_value(v), levels[i]) == 0) {
			out->think = xstrdup(levels[i]);
			return 0;
		}
	}
	return util_fail(cause, "think: must be true, false, \"low\", \"medium\", \"high\" or \"max\"");
}

static int
wire_ollama_parse_tools(json_t *v, struct llm_req *out, char **cause)
{
	json_t *t;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return util_fail(cause, "tools: must be an array");
	json_array_foreach(v, i, t)
	{
		const char *name = json_string_value(json_object_get(json_object_get(t, "function"), "name"));

		if (!json_is_object(t))
			return util_fail(cause, "tools[%zu]: must be an object", i);
		if (name == NULL || *name == '\0')
			return util_fail(cause, "tools[%zu].function.name: must be a non-empty string", i);
	}
	if (json_array_size(v) > 0)
		out->tools = json_deep_copy(v);
	return 0;
}

/* The fields /api/chat and /api/generate share. */
static int
wire_ollama_parse_common(json_t *body, struct llm_req *out, char **cause)
{
	json_t *v = json_object_get(body, "model"), *opts = json_object();

	out->options = opts;
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		return util_fail(cause, "model: must be a string");
	if (json_string_length(v) == 0)
		return util_fail(cause, "model is required");
	out->model = xstrdup(json_string_value(v));
	v = json_object_get(body, "stream");
	if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
		return util_fail(cause, "stream: must be true or false");
	out->stream = !json_is_false(v);
	if (wire_ollama_parse_options(json_object_get(body, "options"), opts, cause) != 0)
		return -1;
	v = json_object_get(body, "keep_alive");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) && !json_is_number(v))
			return util_fail(cause, "keep_alive: must be a duration (\"5m\") or a number of seconds");
		json_object_set(opts, "keep_alive", v);
	}
	if (wire_ollama_parse_think(json_object_get(body, "think"), out, cause) != 0)
		return -1;
	v = json_object_get(body, "format");
	if (json_is_object(v))
		out->format = json_deep_copy(v);
	else if (json_is_string(v) && strcmp(json_string_value(v), "json") == 0)
		out->format = json_string("json");
	else if (v != NULL && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
		return util_fail(cause, "format: must be \"json\" or a JSON schema object");
	return 0;
}

int
wire_ollama_parse_request(json_t *body, bool generate, struct llm_req *out, char **cause)
{
	struct llm_msg *m = NULL;
	json_t *msgs;
	size_t n = 0;

	memset(out, 0, sizeof *out);
	if (!json_is_object(body)) {
		util_fail(cause, "request body must be a JSON object");
		return -1;
	}
	if (wire_ollama_parse_common(body, out, cause) != 0)
		goto fail;
	if (generate) {
		json_t *prompt = json_object_get(body, "prompt"), *images = json_object_get(body, "images");
		char *system = NULL;

		if (wire_ollama_string(body, "system", &system, "", cause) != 0)
			goto fail;
		if (prompt != NULL && !json_is_null(prompt) && !json_is_string(prompt)) {
			free(system);
			util_fail(cause, "prompt: must be a string");
			goto fail;
		}
		m = xcalloc(2, sizeof *m);
		out->msgs = m;
		if (system != NULL && *system != '\0') {
			m[n].role = xstrdup("system");
			m[n++].content = system;
		} else
			free(system);
		out->nmsgs = n;
		if (json_string_length(prompt) > 0 || json_array_size(images) > 0) {
			m[n].role = xstrdup("user");
			m[n].content = xstrdup(json_is_string(prompt) ? json_string_value(prompt) : "");
			out->nmsgs = ++n;
			if (wire_ollama_parse_images(images, &m[n - 1], "images", cause) != 0)
				goto fail;
		}
		return 0;
	}
	msgs = json_object_get(body, "messages");
	if (msgs != NULL && !json_is_null(msgs) && !json_is_array(msgs)) {
		util_fail(cause, "messages: must be an array");
		goto fail;
	}
	m = xcalloc(json_array_size(msgs) ? json_array_size(msgs) : 1, sizeof *m);
	out->msgs = m;
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		out->nmsgs = i + 1;
		if (wire_ollama_parse_message(json_array_get(msgs, i), m, i, cause) != 0)
			goto fail;
	}
	if (wire_ollama_parse_tools(json_object_get(body, "tools"), out, cause) != 0)
		goto fail;
	return 0;
fail:
	wire_ollama_request_free(out);
	return -1;
}

void
wire_ollama_request_free(struct llm_req *req)
{
	llm_req_clear(req);
}

/* ---- the listener's side: answers ---- */

void
wire_ollama_time(int64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char date[32], digits[16];
	size_t n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	/* Go's RFC3339Nano: trailing zeros of the fraction dropped */
	snprintf(digits, sizeof digits, "%09ld", frac);
	for (n = strlen(digits); n > 0 && digits[n - 1] == '0'; n--)
		;
	digits[n] = '\0';
	snprintf(out, size, "%s%s%s%s", date, n > 0 ? "." : "", digits, "Z");
}

static json_t *
wire_ollama_call_json(const struct llm_tool_call *tc)
{
	json_t *args = tc->args != NULL ? json_loads(tc->args, 0, NULL) : NULL;

	if (!json_is_object(args)) {
		json_decref(args);
		args = json_object();
	}
	return json_pack("{s:s, s:{s:i, s:s, s:o}}", "id", tc->id ? tc->id : "", "function", "index", tc->index, "name",
	    tc->name ? tc->name : "", "arguments", args);
}

static const char *
wire_ollama_reason(const char *finish)
{
	static const char *const kept[] = { "length", "load", "unload" };

	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (util_streq(finish, kept[i]))
			return kept[i];
	return "stop";
}

static void
wire_ollama_stat(json_t *o, const char *key, int64_t v)
{
	if (v > 0)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

json_t *
wire_ollama_chunk_json(const char *model, const char *created_at, bool generate, const struct llm_ev *ev)
{
	json_t *o = json_pack("{s:s, s:s}", "model", model ? model : "", "created_at", created_at ? created_at : "");
	json_t *text = NULL, *msg;

	if (ev->type == LLM_EV_TOKEN || ev->type == LLM_EV_THINKING) {
		if (!util_utf8_valid(ev->text, ev->len) || (text = json_stringn(ev->text, ev->len)) == NULL) {
			json_decref(o);
			return NULL;
		}
	}
	if (ev->type == LLM_EV_ERROR || (generate && ev->type == LLM_EV_TOOL_CALL)) {
		json_decref(text);
		json_decref(o);
		return NULL;
	}
	if (generate) {
		json_object_set_new(o, "response", ev->type == LLM_EV_TOKEN ? text : json_string(""));
		if (ev->type == LLM_EV_THINKING)
			json_object_set_new(o, "thinking", text);
	} else {
		msg = json_pack("{s:s}", "role", "assistant");
		json_object_set_new(msg, "content", ev->type == LLM_EV_TOKEN ? text : json_string(""));
		if (ev->type == LLM_EV_THINKING)
			json_object_set_new(msg, "thinking", text);
		if (ev->type == LLM_EV_TOOL_CALL)
			json_object_set_new(msg, "tool_calls", json_pack("[o]", wire_ollama_call_json(ev->call)));
		json_object_set_new(o, "message", msg);
	}
	json_object_set_new(o, "done", json_boolean(ev->type == LLM_EV_DONE));
	if (ev->type == LLM_EV_DONE) {
		const struct llm_stats *st = ev->stats;

		json_object_set_new(o, "done_reason", json_string(wire_ollama_reason(st ? st->finish : NULL)));
		if (st != NULL) {
			wire_ollama_stat(o, "total_duration", st->total_ns);
			wire_ollama_stat(o, "load_duration", st->load_ns);
			wire_ollama_stat(o, "prompt_eval_count", st->prompt_tokens);
			wire_ollama_stat(o, "prompt_eval_duration", st->prompt_ns);
			wire_ollama_stat(o, "eval_count", st->reply_tokens);
			wire_ollama_stat(o, "eval_duration", st->eval_ns);
		}
	}
	return o;
}

json_t *
wire_ollama_answer_json(const char *model, const char *created_at, bool generate, const char *content,
    const char *thinking, json_t *calls, const struct llm_stats *st)
{
	struct llm_ev ev = { .type = LLM_EV_DONE, .stats = st };
	json_t *o = wire_ollama_chunk_json(model, created_at, generate, &ev);
	json_t *dst = generate ? o : json_object_get(o, "message");
	json_t *c, *out;
	size_t i;

	json_object_set_new(dst, generate ? "response" : "content", json_string(content ? content : ""));
	if (thinking != NULL && *thinking != '\0')
		json_object_set_new(dst, "thinking", json_string(thinking));
	if (generate || json_array_size(calls) == 0)
		return o;
	out = json_array();
	json_array_foreach(calls, i, c)
	{
		json_t *fn = json_object_get(c, "function");
		struct llm_tool_call tc = { 0 };

		tc.index = (int)i;
		tc.id = (char *)json_string_value(json_object_get(c, "id"));
		tc.name = (char *)json_string_value(json_object_get(fn, "name"));
		tc.args = (char *)json_string_value(json_object_get(fn, "arguments"));
		json_array_append_new(out, wire_ollama_call_json(&tc));
	}
	json_object_set_new(dst, "tool_calls", out);
	return o;
}
