/*
 * fake_ollama.c: the Ollama flavor of fakellm: the native /api routes
 * (protocols.md §1) with NDJSON streams for chat, generate and pull, and the
 * model list kept in step by pull, copy, delete and chat. The /v1 routes
 * are the shared OpenAI layer in fake_openai.c.
 *
 * Chat lines are assembled by hand from pieces escaped once up front, so a
 * long reply costs one small copy per line; the rare lines (tool calls, the
 * final line with its stats) go through Jansson.
 */
#include "fake.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define CT_JSON "application/json; charset=utf-8"
#define CT_NDJSON "application/x-ndjson"
#define CT_TEXT "text/plain; charset=utf-8"

struct route {
	const char *methods; /* space separated */
	const char *path;
	bool prefix;
	enum MHD_Result (*fn)(struct fake_req *);
};

/* A chat or generate reply being streamed. */
struct ochat {
	bool generate; /* "response" instead of "message" */
	char *model_q; /* model name as a JSON literal */
	char **think; /* JSON literals */
	size_t nthink;
	char **tok;
	size_t ntok;
	long repeat;
	json_t *tools; /* the reply's tool_calls (borrowed) */
	char *final; /* the last line, made up front */
	int phase;
	size_t i;
	long rep;
};

/* Helpers. */

/* The scenario's id, or call_ + 8 [a-z0-9] as recent Ollama makes them. */
static char *
call_id(const json_t *call, size_t i)
{
	const char *id = fake_str(call, "id", NULL);
	char *seed, *hex, *out;

	if (id != NULL)
		return xstrdup(id);
	seed = xasprintf("%s#%zu", fake_str(call, "name", ""), i);
	hex = fake_digest(seed);
	out = xasprintf("call_%.8s", hex);
	free(hex);
	free(seed);
	return out;
}

/* A tool call's arguments as Ollama sends them: an object (a string in the
 * scenario is parsed). New reference. */
static json_t *
call_args(const json_t *call)
{
	json_t *a = json_object_get(call, "arguments"), *parsed;

	if (json_is_string(a) && (parsed = json_loads(json_string_value(a), 0, NULL)) != NULL)
		return parsed;
	return a != NULL ? json_deep_copy(a) : json_object();
}

static enum MHD_Result
error_json(struct fake_req *req, unsigned status, const char *msg)
{
	return fake_respond_json(req, status, CT_JSON, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result error_jsonf(struct fake_req *, unsigned, const char *, ...)
    PRINTFLIKE(3, 4);

static enum MHD_Result
error_jsonf(struct fake_req *req, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	enum MHD_Result ret;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	ret = error_json(req, status, msg);
	free(msg);
	return ret;
}

/* The body must be a JSON object; if not, answer as Go's decoder would. */
static bool
need_body(struct fake_req *req, enum MHD_Result *ret)
{
	const char *p;

	if (json_is_object(req->json))
		return true;
	if (req->body.len == 0) {
		*ret = error_json(req, 400, "missing request body");
		return false;
	}
	for (p = req->body.data; *p != '\0' && isspace((unsigned char)*p); p++)
		;
	if (req->json != NULL)
		*ret = error_json(req, 400, "json: cannot unmarshal non-object into Go value");
	else if (*p == '\0' || *p == '{' || *p == '[')
		*ret = error_json(req, 400, "unexpected EOF");
	else
		*ret = error_jsonf(req, 400, "invalid character '%.1s' looking for beginning of value", p);
	return false;
}

/* The model name of a request: "model", or the legacy "name". */
static const char *
req_model(const struct fake_req *req)
{
	const char *m = fake_str(req->json, "model", NULL);

	if (m == NULL || *m == '\0')
		m = fake_str(req->json, "name", NULL);
	return m != NULL && *m != '\0' ? m : NULL;
}

static bool
valid_name(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0')
		return false;
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("._-:/", *p) == NULL)
			return false;
	}
	return true;
}

static char *
full_name(const char *name)
{
	return strchr(name, ':') != NULL ? xstrdup(name) : xasprintf("%s:latest", name);
}

static json_t *
details_json(const struct fake_model *m)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s}", "parent_model", "",
	    "format", m->format, "family", m->family, "families", m->family,
	    "parameter_size", m->parameter_size, "quantization_level", m->quantization);
}

static void
expires_at(char *dst, size_t len)
{
	time_t t = time(NULL) + 300;
	struct tm tm;
	char z[8];

	localtime_r(&t, &tm);
	strftime(dst, len, "%Y-%m-%dT%H:%M:%S.123456789", &tm);
	strftime(z, sizeof z, "%z", &tm);
	/* Go writes +0200 as +02:00, and UTC as Z */
	if (strcmp(z, "+0000") == 0)
		snprintf(dst + strlen(dst), len - strlen(dst), "Z");
	else
		snprintf(dst + strlen(dst), len - strlen(dst), "%.3s:%s", z, z + 3);
}

/* GET / and the small GETs. */

static enum MHD_Result
h_root(struct fake_req *req)
{
	return fake_respond(req, 200, CT_TEXT, "Ollama is running", 17);
}

static enum MHD_Result
h_version(struct fake_req *req)
{
	int64_t delay = fake_int(fake_scenario(), "version_delay_ms", 0);

	if (delay != 0 && !fake_sleep(req->conn, (int)delay))
		return MHD_NO;
	return fake_respond_json(req, 200, CT_JSON,
	    json_pack("{s:s}", "version", fake_str(fake_scenario(), "version", "0.12.3")));
}

static enum MHD_Result
h_tags(struct fake_req *req)
{
	json_t *list = json_array();
	struct fake_model **ms;
	size_t i, n;

	fake_lock();
	ms = fake_models(&n);
	for (i = 0; i < n; i++) {
		json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "name", ms[i]->name,
		    "model", ms[i]->name, "modified_at", ms[i]->modified_at,
		    "size", (json_int_t)ms[i]->size, "digest", ms[i]->digest,
		    "details", details_json(ms[i]));

		if (ms[i]->capabilities != NULL)
			json_object_set_new(e, "capabilities", json_deep_copy(ms[i]->capabilities));
		json_array_append_new(list, e);
	}
	fake_unlock();
	return fake_respond_json(req, 200, CT_JSON, json_pack("{s:o}", "models", list));
}

static enum MHD_Result
h_ps(struct fake_req *req)
{
	json_t *list = json_array();
	struct fake_model **ms;
	char exp[64];
	size_t i, n;

	expires_at(exp, sizeof exp);
	fake_lock();
	ms = fake_models(&n);
	for (i = 0; i < n; i++) {
		if (!ms[i]->loaded)
			continue;
		json_array_append_new(list,
		    json_pack("{s:s, s:s, s:I, s:s, s:o, s:s, s:I, s:I}", "name", ms[i]->name,
		        "model", ms[i]->name, "size", (json_int_t)ms[i]->size,
		        "digest", ms[i]->digest, "details", details_json(ms[i]),
		        "expires_at", exp, "size_vram", (json_int_t)ms[i]->size,
		        "context_length", (json_int_t)4096));
	}
	fake_unlock();
	return fake_respond_json(req, 200, CT_JSON, json_pack("{s:o}", "models", list));
}

static enum MHD_Result
h_show(struct fake_req *req)
{
	enum MHD_Result ret;
	struct fake_model *m;
	const char *name;
	json_t *info, *caps, *out;
	char *key, *mf;
	double params;

	int64_t delay = fake_int(fake_scenario(), "show_delay_ms", 0);

	if (!need_body(req, &ret))
		return ret;
	if (delay != 0 && !fake_sleep(req->conn, (int)delay))
		return MHD_NO;
	if ((name = req_model(req)) == NULL)
		return error_json(req, 400, "model is required");
	fake_lock();
	if ((m = fake_model_find(name)) == NULL) {
		fake_unlock();
		return error_jsonf(req, 404, "model '%s' not found", name);
	}
	params = strtod(m->parameter_size, NULL);
	if (strchr(m->parameter_size, 'B') != NULL)
		params *= 1e9;
	else if (strchr(m->parameter_size, 'M') != NULL)
		params *= 1e6;
	info = json_pack("{s:s, s:I, s:i}", "general.architecture", m->family,
	    "general.parameter_count", (json_int_t)params,
	    "general.quantization_version", 2);
	key = xasprintf("%s.context_length", m->family);
	json_object_set_new(info, key, json_integer(m->context_length));
	free(key);
	key = xasprintf("%s.embedding_length", m->family);
	json_object_set_new(info, key, json_integer(3072));
	free(key);
	caps = m->capabilities != NULL ? json_deep_copy(m->capabilities) : json_pack("[s]", "completion");
	mf = xasprintf("# Modelfile generated by \"ollama show\"\nFROM %s\n"
	               "TEMPLATE \"\"\"{{ .Prompt }}\"\"\"\nPARAMETER stop <|eot_id|>\n",
	    m->name);
	out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:[], s:o, s:s}",
	    "license", "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT", "modelfile", mf,
	    "parameters", "stop                           \"<|eot_id|>\"",
	    "template", "{{ .Prompt }}", "details", details_json(m),
	    "model_info", info, "tensors", "capabilities", caps,
	    "modified_at", m->modified_at);
	free(mf);
	fake_unlock();
	return fake_respond_json(req, 200, CT_JSON, out);
}

static enum MHD_Result
h_delete(struct fake_req *req)
{
	enum MHD_Result ret;
	const char *name;
	bool gone;

	if (!need_body(req, &ret))
		return ret;
	name = req_model(req);
	if (!valid_name(name))
		return error_jsonf(req, 400, "name \"%s\" is invalid", name != NULL ? name : "");
	fake_lock();
	gone = fake_model_remove(name);
	fake_unlock();
	if (!gone)
		return error_jsonf(req, 404, "model '%s' not found", name);
	return fake_respond(req, 200, NULL, "", 0);
}

static enum MHD_Result
h_copy(struct fake_req *req)
{
	enum MHD_Result ret;
	const char *src, *dst;
	struct fake_model *m;
	char *name;

	if (!need_body(req, &ret))
		return ret;
	src = fake_str(req->json, "source", "");
	dst = fake_str(req->json, "destination", "");
	if (!valid_name(src))
		return error_jsonf(req, 400, "source \"%s\" is invalid", src);
	if (!valid_name(dst))
		return error_jsonf(req, 400, "destination \"%s\" is invalid", dst);
	fake_lock();
	if ((m = fake_model_find(src)) == NULL) {
		fake_unlock();
		return error_jsonf(req, 404, "model \"%s\" not found", src);
	}
	name = full_name(dst);
	fake_model_add(fake_model_dup(m, name));
	free(name);
	fake_unlock();
	return fake_respond(req, 200, NULL, "", 0);
}

/* Pull. */

struct pull {
	char *name; /* model to add on success */
	json_t *layers; /* [{digest,total,cached}] (owned) */
	long steps;
	bool orphans;
	char *error;
	size_t layer;
	long step; /* -1: the manifest line not yet sent */
	int phase;
};

static void
pull_progress(struct buf *out, const char *digest, int64_t total, int64_t completed)
{
	json_t *j = json_object();
	char *status = xasprintf("pulling %.12s", digest + (util_prefix(digest, "sha256:") ? 7 : 0));
	char *s;

	json_object_set_new(j, "status", json_string(status));
	json_object_set_new(j, "digest", json_string(digest));
	if (total != 0)
		json_object_set_new(j, "total", json_integer(total));
	if (completed != 0)
		json_object_set_new(j, "completed", json_integer(completed));
	s = fake_json_dump(j);
	buf_printf(out, "%s\n", s);
	free(s);
	free(status);
	json_decref(j);
}

static void
pull_finish(struct pull *p)
{
	struct fake_model *m;
	json_t *l;
	int64_t size = 0;
	size_t i;
	char now[64];

	json_array_foreach(p->layers, i, l)
	{
		size += fake_int(l, "total", 0);
	}
	fake_now_rfc3339(now, sizeof now);
	fake_lock();
	m = fake_model_new(p->name);
	m->size = size;
	m->loaded = false;
	free(m->modified_at);
	m->modified_at = xstrdup(now);
	if (json_array_size(p->layers) > 0) {
		const char *d = fake_str(json_array_get(p->layers, 0), "digest", "");

		if (util_prefix(d, "sha256:") && strlen(d) == 71) {
			free(m->digest);
			m->digest = xstrdup(d + 7);
		}
	}
	fake_model_add(m);
	fake_unlock();
}

static enum fake_unit
pull_next(void *ctx, struct buf *out)
{
	struct pull *p = ctx;
	json_t *l;
	int64_t total;

	switch (p->phase) {
	case 0:
		buf_puts(out, "{\"status\":\"pulling manifest\"}\n");
		p->phase = p->error != NULL ? 10 : 1;
		return FAKE_UNIT_PIECE;
	case 1:
		if (p->layer >= json_array_size(p->layers)) {
			p->phase = 2;
			return pull_next(ctx, out);
		}
		l = json_array_get(p->layers, p->layer);
		total = fake_int(l, "total", 0);
		if (fake_bool(l, "cached", false) || total == 0) {
			pull_progress(out, fake_str(l, "digest", "sha256:"), total, total);
			p->layer++;
			return FAKE_UNIT_PIECE;
		}
		pull_progress(out, fake_str(l, "digest", "sha256:"), total,
		    total * (p->step < 0 ? 0 : p->step + 1) / p->steps);
		if (++p->step >= p->steps) {
			p->step = -1;
			p->layer++;
		}
		return FAKE_UNIT_PIECE;
	case 2:
		buf_puts(out, "{\"status\":\"verifying sha256 digest\"}\n");
		p->phase = 3;
		return FAKE_UNIT_PIECE;
	case 3:
		buf_puts(out, "{\"status\":\"writing manifest\"}\n");
		p->phase = p->orphans ? 4 : 5;
		return FAKE_UNIT_PIECE;
	case 4:
		buf_puts(out, "{\"status\":\"removing unused layers\"}\n");
		p->phase = 5;
		return FAKE_UNIT_PIECE;
	case 5:
		pull_finish(p);
		buf_puts(out, "{\"status\":\"success\"}\n");
		p->phase = 6;
		return FAKE_UNIT_PIECE;
	case 10: {
		char *s;
		json_t *j = json_pack("{s:s}", "error", p->error);

		s = fake_json_dump(j);
		buf_printf(out, "%s\n", s);
		free(s);
		json_decref(j);
		p->phase = 6;
		return FAKE_UNIT_OTHER;
	}
	default:
		return FAKE_UNIT_END;
	}
}

static void
pull_error_unit(void *ctx, const char *msg, struct buf *out)
{
	json_t *j = json_pack("{s:s}", "error", msg);
	char *s = fake_json_dump(j);

	(void)ctx;
	buf_printf(out, "%s\n", s);
	free(s);
	json_decref(j);
}

static void
pull_free(void *ctx)
{
	struct pull *p = ctx;

	free(p->name);
	free(p->error);
	json_decref(p->layers);
	free(p);
}

static json_t *
default_layers(const char *name)
{
	static const int64_t sizes[] = { 2019377376, 1429, 7711, 6016, 96, 561 };
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *key = xasprintf("%s#%zu", name, i);
		char *hex = fake_digest(key);

		json_array_append_new(list, json_pack("{s:s+, s:I}", "digest", "sha256:", hex, "total", (json_int_t)sizes[i]));
		free(hex);
		free(key);
	}
	return list;
}

static enum MHD_Result
h_pull(struct fake_req *req)
{
	enum MHD_Result ret;
	const char *name;
	json_t *sc;
	struct fake_pace pace;
	struct fake_gen gen = { .next = pull_next, .error = pull_error_unit, .free = pull_free };
	struct pull *p;
	json_t *layers;
	int64_t status;

	if (!need_body(req, &ret))
		return ret;
	name = req_model(req);
	if (!valid_name(name))
		return error_json(req, 400, "invalid model name");
	sc = fake_next_reply("pull");
	status = fake_int(sc, "status", 200);
	if (status >= 400)
		return error_json(req, (unsigned)status, fake_str(sc, "error", "pull failed"));
	fake_pace_parse(sc, &pace);
	pace.error = NULL;
	p = xcalloc(1, sizeof *p);
	p->name = full_name(name);
	layers = json_object_get(sc, "layers");
	p->layers = json_is_array(layers) ? json_deep_copy(layers) : default_layers(p->name);
	p->steps = fake_int(sc, "steps", 5);
	if (p->steps < 1)
		p->steps = 1;
	p->orphans = fake_bool(sc, "orphans", false);
	p->step = -1;
	if (fake_str(sc, "error", NULL) != NULL)
		p->error = xstrdup(fake_str(sc, "error", NULL));
	if (!fake_bool(req->json, "stream", true)) {
		if (p->error != NULL)
			ret = error_json(req, 500, p->error);
		else {
			pull_finish(p);
			ret = fake_stream_body(req, 200, CT_JSON, &pace, "{\"status\":\"success\"}");
		}
		pull_free(p);
		return ret;
	}
	gen.ctx = p;
	return fake_stream_queue(req, 200, CT_NDJSON, &pace, &gen, MHD_SIZE_UNKNOWN);
}

/* Chat and generate. */

static char *
line_head(const struct ochat *c)
{
	char now[64];

	fake_now_rfc3339(now, sizeof now);
	return xasprintf("{\"model\":%s,\"created_at\":\"%s\",", c->model_q, now);
}

static enum fake_unit
ochat_next(void *ctx, struct buf *out)
{
	struct ochat *c = ctx;
	char *head;

	/* phases: 0 thinking, 1 content, 2 tool calls, 3 final, 4 end */
	for (;;) {
		switch (c->phase) {
		case 0:
			if (c->i < c->nthink) {
				head = line_head(c);
				if (c->generate)
					buf_printf(out, "%s\"response\":\"\",\"thinking\":%s,\"done\":false}\n", head, c->think[c->i]);
				else
					buf_printf(out, "%s\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":%s},\"done\":false}\n", head, c->think[c->i]);
				free(head);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			c->phase = 1;
			c->i = 0;
			break;
		case 1:
			if (c->i >= c->ntok) {
				c->i = 0;
				c->rep++;
			}
			if (c->ntok > 0 && c->rep < c->repeat) {
				head = line_head(c);
				if (c->generate)
					buf_printf(out, "%s\"response\":%s,\"done\":false}\n", head, c->tok[c->i]);
				else
					buf_printf(out, "%s\"message\":{\"role\":\"assistant\",\"content\":%s},\"done\":false}\n", head, c->tok[c->i]);
				free(head);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			c->phase = 2;
			c->i = 0;
			break;
		case 2:
			if (!c->generate && c->i < json_array_size(c->tools)) {
				json_t *call = json_array_get(c->tools, c->i);
				char *id = call_id(call, c->i);
				json_t *tc = json_pack("[{s:s, s:{s:I, s:s, s:o}}]", "id",
				    id, "function", "index",
				    (json_int_t)c->i, "name", fake_str(call, "name", "tool"),
				    "arguments", call_args(call));
				char *s = fake_json_dump(tc);

				free(id);

				head = line_head(c);
				buf_printf(out, "%s\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":%s},\"done\":false}\n", head, s);
				free(head);
				free(s);
				json_decref(tc);
				c->i++;
				return FAKE_UNIT_PIECE;
			}
			c->phase = 3;
			break;
		case 3:
			head = line_head(c);
			buf_printf(out, "%s%s\n", head, c->final);
			free(head);
			c->phase = 4;
			return FAKE_UNIT_OTHER;
		default:
			return FAKE_UNIT_END;
		}
	}
}

static void
ochat_error(void *ctx, const char *msg, struct buf *out)
{
	pull_error_unit(ctx, msg, out);
}

static void
ochat_free(void *ctx)
{
	struct ochat *c = ctx;
	size_t i;

	for (i = 0; i < c->nthink; i++)
		free(c->think[i]);
	for (i = 0; i < c->ntok; i++)
		free(c->tok[i]);
	free(c->think);
	free(c->tok);
	free(c->model_q);
	free(c->final);
	free(c);
}

/* The text of the last user message, or of the prompt. */
static const char *
last_user(const struct fake_req *req)
{
	json_t *msgs = json_object_get(req->json, "messages");
	size_t i = json_array_size(msgs);

	while (i-- > 0) {
		json_t *m = json_array_get(msgs, i);

		if (util_streq(fake_str(m, "role", ""), "user"))
			return fake_str(m, "content", "");
	}
	return fake_str(req->json, "prompt", "");
}

/* Split at spaces, keeping each space with the word before it. */
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

static bool
is_zero_keep_alive(const json_t *v)
{
	const char *s;

	if (json_is_number(v))
		return json_number_value(v) == 0;
	s = json_string_value(v);
	return s != NULL && (strcmp(s, "0") == 0 || strcmp(s, "0s") == 0 || strcmp(s, "0m") == 0);
}

/* The final line after created_at: body and stats. */
static json_t *
final_json(const struct fake_req *req, const json_t *r, bool generate, long pieces)
{
	json_t *j = json_object();
	int64_t prompt = fake_int(r, "prompt_tokens", 14);
	int64_t reply = fake_int(r, "reply_tokens", pieces);
	int64_t load = 12000000, pe = prompt * 3500000, ev = reply * 20000000;

	(void)req;
	if (generate)
		json_object_set_new(j, "response", json_string(""));
	else
		json_object_set_new(j, "message", json_pack("{s:s, s:s}", "role", "assistant", "content", ""));
	json_object_set_new(j, "done", json_true());
	json_object_set_new(j, "done_reason", json_string(fake_str(r, "done_reason", "stop")));
	if (generate)
		json_object_set_new(j, "context", json_pack("[i,i,i]", 128006, 882, 128007));
	if (!fake_bool(r, "usage", true))
		return j;
	json_object_set_new(j, "total_duration", json_integer(load + pe + ev + 1000000));
	json_object_set_new(j, "load_duration", json_integer(load));
	if (prompt > 0) {
		json_object_set_new(j, "prompt_eval_count", json_integer(prompt));
		json_object_set_new(j, "prompt_eval_duration", json_integer(pe));
	}
	if (reply > 0) {
		json_object_set_new(j, "eval_count", json_integer(reply));
		json_object_set_new(j, "eval_duration", json_integer(ev));
	}
	return j;
}

/* stream:false: everything in one object. */
static enum MHD_Result
chat_whole(struct fake_req *req, const json_t *r, struct ochat *c,
    const struct fake_pace *pace, const char *model)
{
	struct buf content = { 0 }, thinking = { 0 };
	json_t *tmp, *fin, *msg, *out, *calls = json_array();
	char now[64], *s;
	enum MHD_Result ret;
	size_t i;
	long rep;

	/* The pieces are already JSON literals: decode them back. */
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
	fin = final_json(req, r, c->generate, (long)(c->nthink + c->ntok * (size_t)c->repeat));
	fake_now_rfc3339(now, sizeof now);
	out = json_pack("{s:s, s:s}", "model", model, "created_at", now);
	if (c->generate) {
		json_object_set_new(out, "response", json_string(content.data != NULL ? content.data : ""));
		if (thinking.len > 0)
			json_object_set_new(out, "thinking", json_string(thinking.data));
	} else {
		msg = json_pack("{s:s, s:s}", "role", "assistant", "content", content.data != NULL ? content.data : "");
		if (thinking.len > 0)
			json_object_set_new(msg, "thinking", json_string(thinking.data));
		for (i = 0; i < json_array_size(c->tools); i++) {
			json_t *call = json_array_get(c->tools, i);
			char *id = call_id(call, i);

			json_array_append_new(calls, json_pack("{s:s, s:{s:I, s:s, s:o}}", "id", id, "function", "index", (json_int_t)i, "name", fake_str(call, "name", "tool"), "arguments", call_args(call)));
			free(id);
		}
		if (json_array_size(calls) > 0)
			json_object_set(msg, "tool_calls", calls);
		json_object_set_new(out, "message", msg);
	}
	json_object_del(fin, c->generate ? "response" : "message");
	json_object_update(out, fin);
	json_decref(fin);
	json_decref(calls);
	buf_free(&content);
	buf_free(&thinking);
	if (pace->error_after >= 0) {
		json_decref(out);
		return error_json(req, 500, pace->error != NULL ? pace->error : "internal error");
	}
	s = fake_json_dump(out);
	json_decref(out);
	ret = fake_stream_body(req, 200, CT_JSON, pace, s);
	free(s);
	return ret;
}

static enum MHD_Result
chat(struct fake_req *req, bool generate)
{
	enum MHD_Result ret;
	const char *model;
	struct fake_model *m;
	json_t *r, *msgs, *think, *tools, *fin;
	struct fake_pace pace;
	struct fake_gen gen = { .next = ochat_next, .error = ochat_error, .free = ochat_free };
	struct ochat *c;
	int64_t status;
	char *s;

	if (!need_body(req, &ret))
		return ret;
	if ((model = req_model(req)) == NULL)
		return error_json(req, 400, "model is required");
	fake_lock();
	m = fake_model_find(model);
	if (m == NULL && !fake_bool(fake_scenario(), "accept_any_model", false)) {
		fake_unlock();
		return error_jsonf(req, 404, "model '%s' not found", model);
	}
	tools = json_object_get(req->json, "tools");
	think = json_object_get(req->json, "think");
	if (json_array_size(tools) > 0 && !fake_model_can(m, "tools")) {
		char *full = full_name(m->name);

		fake_unlock();
		ret = error_jsonf(req, 400, "registry.ollama.ai/library/%s does not support tools", full);
		free(full);
		return ret;
	}
	if ((json_is_true(think) || json_is_string(think)) && !fake_model_can(m, "thinking")) {
		fake_unlock();
		return error_jsonf(req, 400, "\"%s\" does not support thinking", model);
	}
	if (m != NULL)
		m->loaded = true;
	fake_unlock();

	msgs = json_object_get(req->json, "messages");
	if (!generate && json_array_size(msgs) == 0) {
		char now[64];
		json_t *j;

		fake_now_rfc3339(now, sizeof now);
		j = json_pack("{s:s, s:s, s:{s:s, s:s}, s:b, s:s}", "model", model,
		    "created_at", now, "message", "role", "assistant", "content", "",
		    "done", 1, "done_reason",
		    is_zero_keep_alive(json_object_get(req->json, "keep_alive")) ? "unload" : "load");
		if (fake_bool(req->json, "stream", true)) {
			s = fake_json_dump(j);
			json_decref(j);
			ret = fake_respond(req, 200, CT_NDJSON, s, strlen(s));
			free(s);
			return ret;
		}
		return fake_respond_json(req, 200, CT_JSON, j);
	}

	r = fake_next_reply("chat");
	fake_pace_parse(r, &pace);
	status = fake_int(r, "status", 200);
	if (fake_str(r, "error_raw", NULL) != NULL) {
		const char *raw = fake_str(r, "error_raw", "");

		return fake_respond(req, status >= 400 ? (unsigned)status : 500, CT_TEXT, raw, strlen(raw));
	}
	if (status >= 400)
		return error_json(req, (unsigned)status, fake_str(r, "error", "internal error"));
	if (pace.error != NULL && pace.error_after < 0)
		pace.error_after = 0;

	c = xcalloc(1, sizeof *c);
	c->generate = generate;
	c->model_q = fake_json_quote(model);
	c->repeat = fake_int(r, "repeat", 1);
	c->tools = json_object_get(r, "tool_calls");
	if (!json_is_false(think))
		quote_list(json_object_get(r, "thinking"), &c->think, &c->nthink);
	if (fake_bool(r, "echo", false)) {
		char *text = xasprintf("echo: %s", last_user(req));

		split_words(text, &c->tok, &c->ntok);
		free(text);
	} else if (json_object_get(r, "tokens") == NULL && json_object_get(r, "tool_calls") == NULL && json_object_get(r, "thinking") == NULL) {
		json_t *def = json_pack("[s,s]", "Hello", "!");

		quote_list(def, &c->tok, &c->ntok);
		json_decref(def);
	} else {
		quote_list(json_object_get(r, "tokens"), &c->tok, &c->ntok);
	}
	if (!fake_bool(req->json, "stream", true)) {
		ret = chat_whole(req, r, c, &pace, model);
		ochat_free(c);
		return ret;
	}
	fin = final_json(req, r, generate,
	    (long)(c->nthink + c->ntok * (size_t)(c->repeat > 0 ? c->repeat : 0)));
	s = fake_json_dump(fin);
	json_decref(fin);
	c->final = xstrdup(s + 1); /* after the '{': the head supplies it */
	free(s);
	gen.ctx = c;
	return fake_stream_queue(req, 200, CT_NDJSON, &pace, &gen, MHD_SIZE_UNKNOWN);
}

static enum MHD_Result
h_chat(struct fake_req *req)
{
	return chat(req, false);
}

static enum MHD_Result
h_generate(struct fake_req *req)
{
	return chat(req, true);
}

/* Embeddings: /api/embed (input: a string or strings) and the older
 * /api/embeddings (prompt: one string). */
static enum MHD_Result
embed(struct fake_req *req, bool legacy)
{
	enum MHD_Result ret;
	const char *model;
	json_t *input, *v, *out, *vecs = json_array();
	int64_t dims = fake_int(req->json, "dimensions", 0), tokens = 0;
	size_t i;

	if (!need_body(req, &ret)) {
		json_decref(vecs);
		return ret;
	}
	if ((model = req_model(req)) == NULL) {
		json_decref(vecs);
		return error_json(req, 400, "model is required");
	}
	fake_lock();
	if (fake_model_find(model) == NULL && !fake_bool(fake_scenario(), "accept_any_model", false)) {
		fake_unlock();
		json_decref(vecs);
		return error_jsonf(req, 404, "model '%s' not found", model);
	}
	fake_unlock();
	input = json_object_get(req->json, legacy ? "prompt" : "input");
	if (json_is_string(input)) {
		json_array_append_new(vecs, fake_embedding(json_string_value(input), dims));
		tokens += (int64_t)json_string_length(input) / 4 + 1;
	} else {
		json_array_foreach(input, i, v)
		{
			json_array_append_new(vecs, fake_embedding(json_is_string(v) ? json_string_value(v) : "", dims));
			tokens += (int64_t)json_string_length(v) / 4 + 1;
		}
	}
	if (legacy) {
		out = json_pack("{s:O}", "embedding", json_array_size(vecs) > 0 ? json_array_get(vecs, 0) : vecs);
		json_decref(vecs);
		return fake_respond_json(req, 200, CT_JSON, out);
	}
	out = json_pack("{s:s, s:o, s:I, s:I, s:I}", "model", model, "embeddings", vecs, "total_duration",
	    (json_int_t)14000000, "load_duration", (json_int_t)1000000, "prompt_eval_count", (json_int_t)tokens);
	return fake_respond_json(req, 200, CT_JSON, out);
}

static enum MHD_Result
h_embed(struct fake_req *req)
{
	return embed(req, false);
}

static enum MHD_Result
h_embeddings(struct fake_req *req)
{
	return embed(req, true);
}

static const struct route routes[] = {
	{ "GET HEAD", "/", false, h_root },
	{ "GET HEAD", "/api/version", false, h_version },
	{ "GET HEAD", "/api/tags", false, h_tags },
	{ "GET", "/api/ps", false, h_ps },
	{ "POST", "/api/show", false, h_show },
	{ "POST", "/api/pull", false, h_pull },
	{ "DELETE", "/api/delete", false, h_delete },
	{ "POST", "/api/copy", false, h_copy },
	{ "POST", "/api/chat", false, h_chat },
	{ "POST", "/api/generate", false, h_generate },
	{ "POST", "/api/embed", false, h_embed },
	{ "POST", "/api/embeddings", false, h_embeddings },
	{ "POST", "/v1/chat/completions", false, fake_openai_chat },
	{ "GET", "/v1/models", false, fake_openai_models },
	{ "GET", "/v1/models/", true, fake_openai_models },
};

static bool
method_in(const char *list, const char *method)
{
	size_t n = strlen(method);
	const char *p;

	for (p = list; (p = strstr(p, method)) != NULL; p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

enum MHD_Result
fake_ollama_route(struct fake_req *req)
{
	bool path_known = false;
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *r = &routes[i];

		if (r->prefix ? !util_prefix(req->path, r->path) || req->path[strlen(r->path)] == '\0'
		              : strcmp(req->path, r->path) != 0)
			continue;
		path_known = true;
		if (method_in(r->methods, req->method))
			return r->fn(req);
	}
	if (path_known)
		return fake_respond(req, 405, "text/plain", "405 method not allowed", 22);
	return fake_respond(req, 404, "text/plain", "404 page not found", 18);
}
