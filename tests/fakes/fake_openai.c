/*
 * fake_openai.c: the OpenAI-compatible side of fakellm: the openai,
 * lmstudio and llamaserver flavors, and the /v1 layer of the Ollama flavor
 * (protocols.md §2-§5). One chat handler serves them all; a style picks what
 * differs: error shape, reasoning key, tool calls whole (Ollama) or in
 * fragments, usage null on every chunk or omitted, llama-server's timings.
 *
 * Streamed chunks share one head ("data: {...,\"delta\":") and tail made up
 * front, so a content chunk is the head, a pre-escaped piece and the tail.
 */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

enum style {
	ST_OLLAMA,
	ST_OPENAI,
	ST_LMSTUDIO,
	ST_LLAMA,
};

struct route {
	const char *method;
	const char *path;
	bool prefix;
	bool open; /* no API key needed */
	enum MHD_Result (*fn)(struct fake_req *);
};

/* A streamed chat reply. */
struct ostream {
	enum style st;
	char *head; /* up to and including "delta": */
	char *tail; /* after the delta, to the end of the event */
	json_t *base; /* id, object, created, model, system_fingerprint */
	char **think; /* JSON literals */
	size_t nthink;
	char **tok;
	size_t ntok;
	long repeat;
	json_t *tools; /* borrowed from the scenario */
	bool role_sent;
	bool include_usage;
	bool usage;
	int64_t prompt, reply;
	const char *finish;
	int phase;
	size_t i;
	long rep;
	char *args; /* arguments of the tool call being cut up */
	size_t args_off;
};

static enum style
style(void)
{
	switch (fake_flavor) {
	case FAKE_OLLAMA:
		return ST_OLLAMA;
	case FAKE_LMSTUDIO:
		return ST_LMSTUDIO;
	case FAKE_LLAMASERVER:
		return ST_LLAMA;
	default:
		return ST_OPENAI;
	}
}

static const char *
ct_json(void)
{
	return style() == ST_OPENAI || style() == ST_LMSTUDIO ? "application/json" : "application/json; charset=utf-8";
}

/* Errors. */

static const char *
default_type(unsigned status)
{
	switch (style()) {
	case ST_OLLAMA:
		return status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error"
		                                                               : "api_error";
	case ST_LLAMA:
		switch (status) {
		case 400:
			return "invalid_request_error";
		case 401:
			return "authentication_error";
		case 403:
			return "permission_error";
		case 404:
			return "not_found_error";
		case 501:
			return "not_supported_error";
		case 503:
			return "unavailable_error";
		default:
			return "server_error";
		}
	default:
		return status < 500 ? "invalid_request_error" : "server_error";
	}
}

/* The error object in this flavor's shape. */
static json_t *
error_obj(unsigned status, const char *msg, const char *type, const char *param,
    const char *code)
{
	if (type == NULL)
		type = default_type(status);
	if (style() == ST_LLAMA)
		return json_pack("{s:{s:i, s:s, s:s}}", "error", "code", (int)status,
		    "message", msg, "type", type);
	return json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", msg, "type", type,
	    "param", param != NULL ? json_string(param) : json_null(),
	    "code", code != NULL ? json_string(code) : json_null());
}

static enum MHD_Result
error_full(struct fake_req *req, unsigned status, const char *msg,
    const char *type, const char *param, const char *code)
{
	return fake_respond_json(req, status, ct_json(), error_obj(status, msg, type, param, code));
}

static enum MHD_Result
error_simple(struct fake_req *req, unsigned status, const char *msg)
{
	return error_full(req, status, msg, NULL, NULL, NULL);
}

static bool
loading(void)
{
	int64_t ms = fake_int(fake_scenario(), "loading_ms", 0);

	if (style() != ST_LLAMA || ms == 0)
		return false;
	return ms < 0 || util_now_ms() - fake_started_ms() < ms;
}

static enum MHD_Result
error_loading(struct fake_req *req)
{
	return error_simple(req, 503, "Loading model");
}

/* Models. */

/* Unix time of an RFC 3339 stamp, 0 if it does not parse. */
static int64_t
unix_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t t, off = 0;
	int h, m;

	if (p == NULL)
		return 0;
	t = (int64_t)timegm(&tm);
	while (*p == '.' || (*p >= '0' && *p <= '9'))
		p++;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%d:%d", &h, &m) == 2)
		off = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
	return t - off;
}

static json_t *
model_entry(const struct fake_model *m, enum style st)
{
	char *ns;
	json_t *e;
	double params;

	switch (st) {
	case ST_OLLAMA:
		ns = strchr(m->name, '/') != NULL ? xstrndup(m->name, (size_t)(strchr(m->name, '/') - m->name)) : xstrdup("library");
		e = json_pack("{s:s, s:s, s:I, s:s}", "id", m->name, "object", "model",
		    "created", (json_int_t)unix_time(m->modified_at), "owned_by", ns);
		free(ns);
		return e;
	case ST_LMSTUDIO:
		return json_pack("{s:s, s:s, s:s}", "id", m->name, "object", "model",
		    "owned_by", m->publisher);
	case ST_LLAMA:
		params = strtod(m->parameter_size, NULL) * 1e9;
		return json_pack("{s:s, s:s, s:I, s:s, s:{s:i, s:i, s:I, s:i, s:I, s:I}}",
		    "id", m->name, "object", "model", "created", (json_int_t)time(NULL),
		    "owned_by", "llamacpp", "meta", "vocab_type", 2, "n_vocab", 128256,
		    "n_ctx_train", (json_int_t)m->context_length, "n_embd", 3072,
		    "n_params", (json_int_t)params, "size", (json_int_t)m->size);
	default:
		return json_pack("{s:s, s:s, s:I, s:s}", "id", m->name, "object", "model",
		    "created", (json_int_t)unix_time(m->modified_at),
		    "owned_by", m->owned_by != NULL ? m->owned_by : "organization-owner");
	}
}

/* LM Studio's /api/v0 entry. */
static json_t *
model_entry_v0(const struct fake_model *m)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", m->name,
	    "object", "model", "type", m->type, "publisher", m->publisher,
	    "arch", m->family, "compatibility_type", m->format,
	    "quantization", m->quantization,
	    "state", m->loaded ? "loaded" : "not-loaded",
	    "max_context_length", (json_int_t)m->context_length);

	if (m->capabilities != NULL)
		json_object_set_new(e, "capabilities",
		    fake_model_can(m, "tools") ? json_pack("[s]", "tool_use") : json_array());
	return e;
}

static json_t *
llama_placeholder(const struct fake_model *m)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:s, "
	                 "s:{s:s, s:s, s:s, s:[s], s:s, s:s}}",
	    "name", m->name, "model", m->name, "modified_at", "", "size", "",
	    "digest", "", "type", "model", "description", "", "tags", "",
	    "capabilities", "completion", "parameters", "", "details",
	    "parent_model", "", "format", "gguf", "family", "", "families", "",
	    "parameter_size", "", "quantization_level", "");
}

static bool
listed(const struct fake_model *m)
{
	/* LM Studio lists loaded models only unless JIT loading is on */
	return style() != ST_LMSTUDIO || m->loaded || fake_bool(fake_scenario(), "jit", false);
}

enum MHD_Result
fake_openai_models(struct fake_req *req)
{
	const char *id = NULL;
	json_t *data = json_array(), *out, *one = NULL, *legacy = json_array();
	struct fake_model **ms;
	bool v0 = util_prefix(req->path, "/api/v0/models");
	int64_t delay = fake_int(fake_scenario(), "models_delay_ms", 0);
	size_t i, n;

	if (delay != 0 && !fake_sleep(req->conn, (int)delay)) {
		json_decref(data);
		json_decref(legacy);
		return MHD_NO;
	}
	if (util_prefix(req->path, "/v1/models/"))
		id = req->path + strlen("/v1/models/");
	else if (util_prefix(req->path, "/api/v0/models/"))
		id = req->path + strlen("/api/v0/models/");
	fake_lock();
	ms = fake_models(&n);
	for (i = 0; i < n; i++) {
		json_t *e;

		if (!v0 && !listed(ms[i]))
			continue;
		e = v0 ? model_entry_v0(ms[i]) : model_entry(ms[i], style());
		if (id != NULL && strcmp(ms[i]->name, id) == 0 && one == NULL)
			one = json_incref(e);
		json_array_append_new(data, e);
		json_array_append_new(legacy, llama_placeholder(ms[i]));
	}
	fake_unlock();
	if (id != NULL) {
		json_decref(data);
		json_decref(legacy);
		if (one != NULL)
			return fake_respond_json(req, 200, ct_json(), one);
		if (style() == ST_OLLAMA) {
			char *msg = xasprintf("model '%s' not found", id);
			enum MHD_Result ret = error_simple(req, 404, msg);

			free(msg);
			return ret;
		}
		char *msg = xasprintf("The model `%s` does not exist or you do not have access to it.", id);
		enum MHD_Result ret = error_full(req, 404, msg, NULL, NULL, "model_not_found");

		free(msg);
		return ret;
	}
	if (style() == ST_OLLAMA && json_array_size(data) == 0) {
		json_decref(data);
		data = json_null();
	}
	out = json_pack("{s:s, s:o}", "object", "list", "data", data);
	if (style() == ST_LLAMA)
		json_object_set_new(out, "models", legacy);
	else
		json_decref(legacy);
	return fake_respond_json(req, 200, ct_json(), out);
}

/* Chat. */

static void
quote_list(const json_t *list, char ***out, size_t *n)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		*out = xreallocarray(*out, *n + 1, sizeof **out);
		(*out)[(*n)++] = fake_json_quote(json_is_string(v) ? json_string_value(v) : "");
	}
}

static void
split_words(const char *s, char ***out, size_t *n)
{
	const char *p = s;

	while (*p != '\0') {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) + 1 : strlen(p);
		char *w = xstrndup(p, len);

		*out = xreallocarray(*out, *n + 1, sizeof **out);
		(*out)[(*n)++] = fake_json_quote(w);
		free(w);
		p += len;
	}
}

/* Text of the last user message: a string or the text parts. */
static char *
last_user(const struct fake_req *req)
{
	json_t *msgs = json_object_get(req->json, "messages"), *content, *part;
	size_t i = json_array_size(msgs), k;
	struct buf b = { 0 };

	while (i-- > 0) {
		json_t *m = json_array_get(msgs, i);

		if (!util_streq(fake_str(m, "role", ""), "user"))
			continue;
		content = json_object_get(m, "content");
		if (json_is_string(content))
			return xstrdup(json_string_value(content));
		json_array_foreach(content, k, part)
		{
			buf_puts(&b, fake_str(part, "text", ""));
		}
		break;
	}
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

static const char *
think_key(enum style st)
{
	return st == ST_OLLAMA ? "reasoning" : "reasoning_content";
}

static json_t *
usage_json(const struct ostream *c)
{
	return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)c->prompt,
	    "completion_tokens", (json_int_t)c->reply, "total_tokens",
	    (json_int_t)(c->prompt + c->reply));
}

static json_t *
timings_json(const struct ostream *c)
{
	double pms = (double)c->prompt * 3.5, rms = (double)c->reply * 20.0;

	return json_pack("{s:i, s:I, s:f, s:f, s:f, s:I, s:f, s:f, s:f}", "cache_n", 0,
	    "prompt_n", (json_int_t)c->prompt, "prompt_ms", pms,
	    "prompt_per_token_ms", 3.5, "prompt_per_second", 1000.0 / 3.5,
	    "predicted_n", (json_int_t)c->reply, "predicted_ms", rms,
	    "predicted_per_token_ms", 20.0, "predicted_per_second", 50.0);
}

/* "data: " + J + blank line; J is freed. */
static void
put_event(struct buf *out, json_t *j)
{
	char *s = fake_json_dump(j);

	buf_printf(out, "data: %s\n\n", s);
	free(s);
	json_decref(j);
}

/* A chunk whose delta is made with Jansson (J is freed). */
static void
put_delta(struct ostream *c, struct buf *out, json_t *delta)
{
	char *s = fake_json_dump(delta);

	buf_printf(out, "%s%s%s", c->head, s, c->tail);
	free(s);
	json_decref(delta);
}

/* The opening of a delta: Ollama puts the role on the first one. */
static const char *
delta_open(struct ostream *c, bool content_too)
{
	if (c->st == ST_OLLAMA && !c->role_sent) {
		c->role_sent = true;
		return content_too ? "{\"role\":\"assistant\",\"content\":\"\"," : "{\"role\":\"assistant\",";
	}
	return "{";
}

static json_t *
tool_args(const json_t *call)
{
	json_t *a = json_object_get(call, "arguments");

	return a != NULL ? json_incref(a) : json_object();
}

static char *
tool_args_text(const json_t *call)
{
	json_t *a = tool_args(call);
	char *s;

	if (json_is_string(a))
		s = xstrdup(json_string_value(a));
	else
		s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	return s;
}

static char *
tool_id(const json_t *call, size_t i)
{
	const char *id = fake_str(call, "id", NULL);

	return id != NULL ? xstrdup(id) : xasprintf("call_%08zu", i);
}

static enum fake_unit
ostream_next(void *ctx, struct buf *out)
{
	struct ostream *c = ctx;
	json_t *call, *j, *choice;
	char *id;

	/* phases: 0 role, 1 thinking, 2 content, 3 tool calls, 4 finish,
	 * 5 usage, 6 [DONE], 7 end */
	for (;;) {
		switch (c->phase) {
		case 0:
			c->phase = 1;
			if (c->st == ST_OLLAMA)
				break;
			if (c->nthink == 0 && (c->ntok == 0 || c->repeat <= 0) && json_array_size(c->tools) > 0)
				break; /* the first tool fragment carries the role */
			c->role_sent = true;
			buf_printf(out, "%s{\"role\":\"assistant\",\"content\":\"\"}%s", c->head, c->tail);
			return FAKE_UNIT_OTHER;
		case 1:
			if (c->i < c->nthink) {
				const char *open = delta_open(c, true);

				buf_printf(out, "%s%s\"%s\":%s}%s", c->head, open, think_key(c->st), c->think[c->i], c->tail);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			c->phase = 2;
			c->i = 0;
			break;
		case 2:
			if (c->i >= c->ntok) {
				c->i = 0;
				c->rep++;
			}
			if (c->ntok > 0 && c->rep < c->repeat) {
				const char *open = delta_open(c, false);

				buf_printf(out, "%s%s\"content\":%s}%s", c->head, open, c->tok[c->i], c->tail);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			c->phase = 3;
			c->i = 0;
			break;
		case 3:
			if (c->i >= json_array_size(c->tools)) {
				c->phase = 4;
				break;
			}
			call = json_array_get(c->tools, c->i);
			if (c->st == ST_OLLAMA) {
				/* whole, arguments as one JSON string */
				char *args = tool_args_text(call);

				id = tool_id(call, c->i);
				j = json_pack("{s:[{s:s, s:I, s:s, s:{s:s, s:s}}]}", "tool_calls", "id", id,
				    "index", (json_int_t)c->i, "type", "function", "function",
				    "name", fake_str(call, "name", "tool"), "arguments", args);
				if (!c->role_sent) {
					json_t *d = json_pack("{s:s, s:s}", "role", "assistant", "content", "");

					json_object_update(d, j);
					json_decref(j);
					j = d;
					c->role_sent = true;
				}
				put_delta(c, out, j);
				free(args);
				free(id);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			if (c->args == NULL) {
				/* first fragment: id, type, name */
				c->args = tool_args_text(call);
				c->args_off = 0;
				id = tool_id(call, c->i);
				j = json_pack("{s:[{s:I, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls",
				    "index", (json_int_t)c->i, "id", id, "type", "function",
				    "function", "name", fake_str(call, "name", "tool"), "arguments", "");
				if (!c->role_sent) {
					json_t *d = json_pack("{s:s, s:n}", "role", "assistant", "content");

					json_object_update(d, j);
					json_decref(j);
					j = d;
					c->role_sent = true;
				}
				put_delta(c, out, j);
				free(id);
				return FAKE_UNIT_PIECE;
			}
			if (c->args[c->args_off] != '\0') {
				size_t rest = strlen(c->args + c->args_off);
				size_t n = util_utf8_complete(c->args + c->args_off, rest < 5 ? rest : 5);
				char *piece;

				if (n == 0)
					n = rest < 5 ? rest : 5;
				piece = xstrndup(c->args + c->args_off, n);
				c->args_off += n;
				j = json_pack("{s:[{s:I, s:{s:s}}]}", "tool_calls", "index",
				    (json_int_t)c->i, "function", "arguments", piece);
				put_delta(c, out, j);
				free(piece);
				return FAKE_UNIT_PIECE;
			}
			free(c->args);
			c->args = NULL;
			c->i++;
			break;
		case 4:
			c->phase = 5;
			j = json_deep_copy(c->base);
			choice = json_pack("{s:i, s:{}}", "index", 0, "delta");
			if (c->st != ST_OLLAMA)
				json_object_set_new(choice, "logprobs", json_null());
			json_object_set_new(choice, "finish_reason", json_string(c->finish));
			json_object_set_new(j, "choices", json_pack("[o]", choice));
			if (c->include_usage && c->st != ST_OLLAMA)
				json_object_set_new(j, "usage", json_null());
			if (c->st == ST_LLAMA && !(c->include_usage && c->usage))
				json_object_set_new(j, "timings", timings_json(c));
			put_event(out, j);
			return FAKE_UNIT_OTHER;
		case 5:
			c->phase = 6;
			if (!c->include_usage || !c->usage)
				break;
			j = json_deep_copy(c->base);
			json_object_set_new(j, "choices", json_array());
			json_object_set_new(j, "usage", usage_json(c));
			if (c->st == ST_LLAMA)
				json_object_set_new(j, "timings", timings_json(c));
			put_event(out, j);
			return FAKE_UNIT_OTHER;
		case 6:
			c->phase = 7;
			buf_puts(out, "data: [DONE]\n\n");
			return FAKE_UNIT_OTHER;
		default:
			return FAKE_UNIT_END;
		}
	}
}

static void
ostream_error(void *ctx, const char *msg, struct buf *out)
{
	(void)ctx;
	put_event(out, error_obj(500, msg, NULL, NULL, NULL));
}

static void
ostream_free(void *ctx)
{
	struct ostream *c = ctx;
	size_t i;

	for (i = 0; i < c->nthink; i++)
		free(c->think[i]);
	for (i = 0; i < c->ntok; i++)
		free(c->tok[i]);
	free(c->think);
	free(c->tok);
	free(c->head);
	free(c->tail);
	free(c->args);
	json_decref(c->base);
	free(c);
}

static char *
random_id(const char *prefix, int len, const char *alphabet)
{
	static unsigned long seq;
	unsigned long x;
	struct buf b = { 0 };
	size_t na = strlen(alphabet);
	int i;

	fake_lock();
	x = (unsigned long)util_now_ns() ^ (++seq * 0x9e3779b97f4a7c15ul);
	fake_unlock();
	buf_puts(&b, prefix);
	for (i = 0; i < len; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		buf_putc(&b, alphabet[(x >> 33) % na]);
	}
	return buf_steal(&b);
}

static json_t *
chunk_base(enum style st, const char *model, bool stream)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char *id, *fp;
	json_t *j;

	switch (st) {
	case ST_OLLAMA:
		id = xasprintf("chatcmpl-%d", (int)(util_now_ns() / 1000 % 999));
		fp = xstrdup("fp_ollama");
		break;
	case ST_LLAMA:
		id = random_id("chatcmpl-", 24, alnum);
		fp = xstrdup("b6000-fakellm");
		break;
	case ST_LMSTUDIO:
		id = random_id("chatcmpl-", 22, "abcdefghijklmnopqrstuvwxyz0123456789");
		fp = xstrdup(model);
		break;
	default:
		id = random_id("chatcmpl-", 29, alnum);
		fp = xstrdup("fp_44709d6fcb");
		break;
	}
	j = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", id, "object",
	    stream ? "chat.completion.chunk" : "chat.completion",
	    "created", (json_int_t)time(NULL), "model", model, "system_fingerprint", fp);
	free(id);
	free(fp);
	return j;
}

/* Is MODEL served? Answers the error itself when not. */
static bool
model_ok(struct fake_req *req, const char *model, enum MHD_Result *ret)
{
	struct fake_model *m, **ms;
	size_t n;
	char *msg = NULL;

	if (fake_bool(fake_scenario(), "accept_any_model", false))
		return true;
	fake_lock();
	m = fake_model_find(model);
	ms = fake_models(&n);
	switch (style()) {
	case ST_OLLAMA:
		if (m == NULL) {
			msg = xasprintf("model '%s' not found", model);
			*ret = error_simple(req, 404, msg);
		}
		break;
	case ST_LLAMA:
		/* one model loaded: the name is not looked at */
		if (m == NULL && n != 1) {
			msg = xasprintf("model '%s' not found", model);
			*ret = error_simple(req, 404, msg);
		}
		break;
	case ST_LMSTUDIO:
		if (m == NULL) {
			msg = xasprintf("Invalid model identifier \"%s\". Please specify a valid downloaded model (e.g., %s).",
			    model, n > 0 ? ms[0]->name : "lmstudio-community/qwen2.5-7b-instruct");
			*ret = error_full(req, 400, msg, NULL, "model", "model_not_found");
		} else if (!m->loaded && !fake_bool(fake_scenario(), "jit", false)) {
			*ret = error_full(req, 404,
			    "No models loaded. Please load a model in the developer page or use the 'lms load' command.",
			    NULL, "model", "model_not_found");
			msg = xstrdup("");
		} else {
			m->loaded = true;
		}
		break;
	default:
		if (m == NULL) {
			msg = xasprintf("The model `%s` does not exist or you do not have access to it.", model);
			*ret = error_full(req, 404, msg, NULL, NULL, "model_not_found");
		}
		break;
	}
	fake_unlock();
	free(msg);
	return msg == NULL;
}

static bool
authorized(const struct fake_req *req)
{
	const char *key = fake_str(fake_scenario(), "api_key", NULL);

	if (key == NULL || style() == ST_OLLAMA)
		return true;
	return req->auth != NULL && util_prefix(req->auth, "Bearer ") &&
	    strcmp(req->auth + 7, key) == 0;
}

static enum MHD_Result
error_auth(struct fake_req *req)
{
	char *msg;
	enum MHD_Result ret;
	const char *given = req->auth != NULL && util_prefix(req->auth, "Bearer ") ? req->auth + 7 : "";

	if (style() == ST_LLAMA)
		return error_simple(req, 401, "Invalid API Key");
	if (*given == '\0')
		return error_full(req, 401,
		    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
		    NULL, NULL, "invalid_api_key");
	msg = xasprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", given);
	ret = error_full(req, 401, msg, NULL, NULL, "invalid_api_key");
	free(msg);
	return ret;
}

/* stream:false */
static enum MHD_Result
chat_whole(struct fake_req *req, struct ostream *c, const struct fake_pace *pace)
{
	struct buf content = { 0 }, thinking = { 0 };
	json_t *tmp, *msg, *choice, *calls = json_array(), *out;
	enum MHD_Result ret;
	size_t i;
	long rep;
	char *s;

	for (i = 0; i < c->nthink; i++) {
		tmp = json_loads(c->think[i], JSON_DECODE_ANY, NULL);
		buf_puts(&thinking, json_string_value(tmp));
		json_decref(tmp);
	}
	for (rep = 0; rep < c->repeat; rep++) {
		for (i = 0; i < c->ntok; i++) {
			tmp = json_loads(c->tok[i], JSON_DECODE_ANY, NULL);
			buf_puts(&content, json_string_value(tmp));
			json_decref(tmp);
		}
	}
	for (i = 0; i < json_array_size(c->tools); i++) {
		json_t *call = json_array_get(c->tools, i);
		char *args = tool_args_text(call), *id = tool_id(call, i);

		json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function", "name", fake_str(call, "name", "tool"), "arguments", args));
		free(args);
		free(id);
	}
	msg = json_pack("{s:s}", "role", "assistant");
	if (content.len == 0 && json_array_size(calls) > 0)
		json_object_set_new(msg, "content", json_null());
	else
		json_object_set_new(msg, "content", json_string(content.data != NULL ? content.data : ""));
	if (thinking.len > 0)
		json_object_set_new(msg, think_key(c->st), json_string(thinking.data));
	if (json_array_size(calls) > 0)
		json_object_set(msg, "tool_calls", calls);
	if (c->st == ST_OPENAI)
		json_object_set_new(msg, "refusal", json_null());
	choice = json_pack("{s:i, s:o}", "index", 0, "message", msg);
	if (c->st != ST_OLLAMA)
		json_object_set_new(choice, "logprobs", json_null());
	json_object_set_new(choice, "finish_reason", json_string(c->finish));
	out = json_deep_copy(c->base);
	json_object_set_new(out, "choices", json_pack("[o]", choice));
	if (c->usage)
		json_object_set_new(out, "usage", usage_json(c));
	if (c->st == ST_LLAMA)
		json_object_set_new(out, "timings", timings_json(c));
	json_decref(calls);
	buf_free(&content);
	buf_free(&thinking);
	if (pace->error_after >= 0) {
		json_decref(out);
		return error_simple(req, 500, pace->error != NULL ? pace->error : "internal error");
	}
	s = fake_json_dump(out);
	json_decref(out);
	ret = fake_stream_body(req, 200, ct_json(), pace, s);
	free(s);
	return ret;
}

enum MHD_Result
fake_openai_chat(struct fake_req *req)
{
	enum MHD_Result ret;
	const char *model;
	json_t *r, *msgs, *opts;
	struct fake_pace pace;
	struct fake_gen gen = { .next = ostream_next, .sse = true, .free = ostream_free };
	struct ostream *c;
	int64_t status;
	char *s;
	bool stream;

	if (!authorized(req))
		return error_auth(req);
	if (loading())
		return error_loading(req);
	if (!json_is_object(req->json))
		return error_simple(req, 400, req->body.len == 0 ? "missing request body" : "invalid JSON in request body");
	msgs = json_object_get(req->json, "messages");
	if (json_array_size(msgs) == 0)
		return error_simple(req, 400, "[] is too short - 'messages'");
	model = fake_str(req->json, "model", NULL);
	if ((model == NULL || *model == '\0') && style() != ST_LLAMA)
		return error_simple(req, 400, style() == ST_OLLAMA ? "model is required" : "you must provide a model parameter");
	if (model == NULL)
		model = "";
	if (!model_ok(req, model, &ret))
		return ret;
	/* older llama-server builds refuse tools on a streamed request */
	if (fake_bool(fake_scenario(), "no_stream_tools", false) && fake_bool(req->json, "stream", false) &&
	    json_array_size(json_object_get(req->json, "tools")) > 0)
		return error_full(req, 500, "Cannot use tools with stream", "server_error", NULL, NULL);

	r = fake_next_reply("chat");
	fake_pace_parse(r, &pace);
	status = fake_int(r, "status", 200);
	if (fake_str(r, "error_raw", NULL) != NULL) {
		const char *raw = fake_str(r, "error_raw", "");

		return fake_respond(req, status >= 400 ? (unsigned)status : 500, "text/plain", raw, strlen(raw));
	}
	if (status >= 400) {
		const char *retry = fake_str(r, "retry_after", NULL);
		struct MHD_Response *resp;

		json_t *e = error_obj((unsigned)status, fake_str(r, "error", "internal error"),
		    fake_str(r, "error_type", NULL), NULL, fake_str(r, "error_code", NULL));

		s = fake_json_dump(e);
		json_decref(e);
		resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct_json());
		if (retry != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		ret = MHD_queue_response(req->conn, (unsigned)status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (pace.error != NULL && pace.error_after < 0)
		pace.error_after = 0;
	if (style() == ST_OLLAMA)
		pace.ping_every = 0;

	c = xcalloc(1, sizeof *c);
	c->st = style();
	stream = fake_bool(req->json, "stream", false);
	c->base = chunk_base(c->st, model, stream);
	c->repeat = fake_int(r, "repeat", 1);
	c->tools = json_object_get(r, "tool_calls");
	quote_list(json_object_get(r, "thinking"), &c->think, &c->nthink);
	if (fake_bool(r, "echo", false)) {
		char *last = last_user(req), *text = xasprintf("echo: %s", last);

		split_words(text, &c->tok, &c->ntok);
		free(text);
		free(last);
	} else if (json_object_get(r, "tokens") == NULL && json_object_get(r, "tool_calls") == NULL && json_object_get(r, "thinking") == NULL) {
		json_t *def = json_pack("[s,s]", "Hello", "!");

		quote_list(def, &c->tok, &c->ntok);
		json_decref(def);
	} else {
		quote_list(json_object_get(r, "tokens"), &c->tok, &c->ntok);
	}
	c->usage = fake_bool(r, "usage", true);
	opts = json_object_get(req->json, "stream_options");
	c->include_usage = fake_bool(opts, "include_usage", false);
	c->prompt = fake_int(r, "prompt_tokens", 14);
	c->reply = fake_int(r, "reply_tokens",
	    (int64_t)(c->nthink + c->ntok * (size_t)(c->repeat > 0 ? c->repeat : 0)));
	c->finish = json_array_size(c->tools) > 0 ? "tool_calls" : fake_str(r, "done_reason", "stop");
	if (!stream) {
		ret = chat_whole(req, c, &pace);
		ostream_free(c);
		return ret;
	}
	/* head: the base object without its closing brace, then choices */
	s = fake_json_dump(c->base);
	s[strlen(s) - 1] = '\0';
	c->head = xasprintf("data: %s,\"choices\":[{\"index\":0,\"delta\":", s);
	free(s);
	if (c->st == ST_OLLAMA)
		c->tail = xstrdup(",\"finish_reason\":null}]}\n\n");
	else
		c->tail = xasprintf(",\"logprobs\":null,\"finish_reason\":null}]%s}\n\n",
		    c->include_usage ? ",\"usage\":null" : "");
	if (c->st != ST_OLLAMA)
		gen.error = ostream_error;
	gen.ctx = c;
	return fake_stream_queue(req, 200, "text/event-stream", &pace, &gen, MHD_SIZE_UNKNOWN);
}

/* llama-server extras. */

static enum MHD_Result
h_health(struct fake_req *req)
{
	if (loading())
		return error_loading(req);
	return fake_respond_json(req, 200, ct_json(), json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result
h_props(struct fake_req *req)
{
	struct fake_model **ms;
	size_t n;
	int64_t ctx = 4096;
	char *path;
	json_t *j;

	if (loading())
		return error_loading(req);
	fake_lock();
	ms = fake_models(&n);
	path = xasprintf("/models/%s.gguf", n > 0 ? ms[0]->name : "model");
	if (n > 0)
		ctx = ms[0]->context_length;
	fake_unlock();
	j = json_pack("{s:{s:I, s:{s:f, s:i, s:f, s:i}}, s:i, s:s, s:s, s:{s:b, s:b}, s:s, s:b}",
	    "default_generation_settings", "n_ctx", (json_int_t)ctx, "params",
	    "temperature", 0.8, "top_k", 40, "top_p", 0.95, "n_predict", -1,
	    "total_slots", 1, "model_path", path,
	    "chat_template", "{% for message in messages %}{{ message.content }}{% endfor %}",
	    "modalities", "vision", 0, "audio", 0, "build_info", "b6000-fakellm",
	    "is_sleeping", 0);
	free(path);
	return fake_respond_json(req, 200, ct_json(), j);
}

static enum MHD_Result
h_models(struct fake_req *req)
{
	if (loading())
		return error_loading(req);
	return fake_openai_models(req);
}

/* POST /v1/embeddings: data[] of {object, index, embedding}, usage. */
static enum MHD_Result
h_embeddings(struct fake_req *req)
{
	enum MHD_Result ret;
	const char *model = fake_str(req->json, "model", NULL);
	json_t *input = json_object_get(req->json, "input"), *v, *data = json_array();
	int64_t dims = fake_int(req->json, "dimensions", 0), tokens = 0;
	size_t i;

	if (!json_is_object(req->json) || model == NULL || input == NULL) {
		json_decref(data);
		return error_full(req, 400, "'model' and 'input' are required", NULL, NULL, NULL);
	}
	if (!model_ok(req, model, &ret)) {
		json_decref(data);
		return ret;
	}
	if (json_is_string(input)) {
		json_array_append_new(data, json_pack("{s:s, s:i, s:o}", "object", "embedding", "index", 0, "embedding", fake_embedding(json_string_value(input), dims)));
		tokens = (int64_t)json_string_length(input) / 4 + 1;
	} else {
		/* the entries out of order, as a server may send them */
		json_array_foreach(input, i, v)
		{
			json_array_insert_new(data, 0, json_pack("{s:s, s:i, s:o}", "object", "embedding", "index", (int)i, "embedding", fake_embedding(json_is_string(v) ? json_string_value(v) : "", dims)));
			tokens += (int64_t)json_string_length(v) / 4 + 1;
		}
	}
	return fake_respond_json(req, 200, ct_json(), json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data", data, "model", model, "usage", "prompt_tokens", (json_int_t)tokens, "total_tokens", (json_int_t)tokens));
}

static const struct route routes_openai[] = {
	{ "GET", "/v1/models", false, false, fake_openai_models },
	{ "GET", "/v1/models/", true, false, fake_openai_models },
	{ "POST", "/v1/chat/completions", false, false, fake_openai_chat },
	{ "POST", "/v1/embeddings", false, false, h_embeddings },
	{ NULL, NULL, false, false, NULL },
};

static const struct route routes_lmstudio[] = {
	{ "GET", "/v1/models", false, false, fake_openai_models },
	{ "GET", "/v1/models/", true, false, fake_openai_models },
	{ "POST", "/v1/chat/completions", false, false, fake_openai_chat },
	{ "POST", "/v1/embeddings", false, false, h_embeddings },
	{ "GET", "/api/v0/models", false, false, fake_openai_models },
	{ "GET", "/api/v0/models/", true, false, fake_openai_models },
	{ "POST", "/api/v0/chat/completions", false, false, fake_openai_chat },
	{ NULL, NULL, false, false, NULL },
};

static const struct route routes_llama[] = {
	{ "GET", "/health", false, true, h_health },
	{ "GET", "/v1/health", false, true, h_health },
	{ "GET", "/props", false, false, h_props },
	{ "GET", "/v1/models", false, true, h_models },
	{ "GET", "/models", false, true, h_models },
	{ "POST", "/v1/chat/completions", false, false, fake_openai_chat },
	{ "POST", "/v1/embeddings", false, false, h_embeddings },
	{ "POST", "/chat/completions", false, false, fake_openai_chat },
	{ NULL, NULL, false, false, NULL },
};

static enum MHD_Result
not_found(struct fake_req *req)
{
	char *msg;
	enum MHD_Result ret;

	if (style() == ST_LLAMA)
		return error_simple(req, 404, "File Not Found");
	if (style() == ST_LMSTUDIO)
		msg = xasprintf("Unexpected endpoint or method. (%s %s)", req->method, req->path);
	else
		msg = xasprintf("Invalid URL (%s %s)", req->method, req->path);
	ret = error_simple(req, 404, msg);
	free(msg);
	return ret;
}

enum MHD_Result
fake_openai_route(struct fake_req *req)
{
	const struct route *r;

	switch (style()) {
	case ST_LMSTUDIO:
		r = routes_lmstudio;
		break;
	case ST_LLAMA:
		r = routes_llama;
		break;
	default:
		r = routes_openai;
		break;
	}
	for (; r->path != NULL; r++) {
		if (r->prefix ? !util_prefix(req->path, r->path) || req->path[strlen(r->path)] == '\0'
		              : strcmp(req->path, r->path) != 0)
			continue;
		if (strcmp(req->method, r->method) != 0 && !(strcmp(r->method, "GET") == 0 && strcmp(req->method, "HEAD") == 0))
			continue;
		if (!r->open && !authorized(req))
			return error_auth(req);
		return r->fn(req);
	}
	if (!authorized(req))
		return error_auth(req);
	return not_found(req);
}
