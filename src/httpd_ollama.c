/*
 * httpd_ollama.c: the listener's routes of Ollama's native API (but chat
 * and generate, which are httpd_chat.c's): /api/version, /api/tags,
 * /api/ps, /api/show, /api/embed (and the older /api/embeddings) and
 * /api/pull, so that tools which speak Ollama reach whatever backend parley
 * uses. Shapes follow protocols.md 1; errors are {"error": "..."} with
 * Ollama's statuses (httpd.c makes every error on these routes so).
 *
 * Models come from the provider's normalised lists (struct prov_model), so
 * an OpenAI-compatible backend answers in Ollama's shape with what it
 * knows. The digest of a model is not in those lists: a stable hash of its
 * name stands in for it. /api/show passes an Ollama backend's own answer
 * through whole.
 *
 * A route that waits on the provider holds a struct httpd_ollama. The
 * provider's callback always comes (on cancellation too), so when the
 * client goes first the state stays until that callback, which frees it.
 */
#include "httpd.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The Ollama API level these routes follow (protocols.md 1.3): what a
 * client checking for features (tools, think, embed) needs to see. */
#define HTTPD_OLLAMA_API_VERSION "0.12.3"
/* Go's zero time: when a backend does not say */
#define HTTPD_OLLAMA_NO_TIME "0001-01-01T00:00:00Z"

struct httpd_ollama {
	struct httpd_req *r;
	struct httpd *h;
	struct httpd_models_wait *w;
	struct prov_req *req;
	bool busy; /* a provider call is out: its callback comes */
	bool gone; /* the request ended first: that callback frees */
	char *model;
	bool stream;
	bool success; /* pull: the success line went out */
	bool legacy; /* /api/embeddings */
	int64_t started; /* ns */
};

static void
httpd_ollama_free(struct httpd_ollama *o)
{
	free(o->model);
	free(o);
}

static void
httpd_ollama_release(void *state, bool aborted)
{
	struct httpd_ollama *o = state;

	(void)aborted;
	if (o->w != NULL)
		httpd_models_cancel(o->h, o->w);
	if (!o->busy) {
		httpd_ollama_free(o);
		return;
	}
	o->gone = true;
	/* may run the callback, which frees o, before it returns */
	prov_cancel(o->req);
}

static struct httpd_ollama *
httpd_ollama_new(struct httpd_req *r)
{
	struct httpd_ollama *o = xcalloc(1, sizeof *o);

	o->r = r;
	o->h = httpd_req_httpd(r);
	o->started = util_now_ns();
	httpd_req_state(r, o, httpd_ollama_release);
	return o;
}

/* The start of a provider's callback: false when o is gone (and freed). */
static bool
httpd_ollama_back(struct httpd_ollama *o)
{
	o->busy = false;
	o->req = NULL;
	if (o->gone) {
		httpd_ollama_free(o);
		return false;
	}
	return true;
}

/* The model a request names: "model", or the legacy "name". NULL after
 * answering 400. */
static const char *
httpd_ollama_model(struct httpd_req *r)
{
	json_t *body = httpd_req_body(r);
	const char *m = json_string_value(json_object_get(body, "model"));

	if (m == NULL || *m == '\0')
		m = json_string_value(json_object_get(body, "name"));
	if (m == NULL || *m == '\0') {
		httpd_fail(r, 400, NULL, NULL, NULL, "model is required");
		return NULL;
	}
	return m;
}

/* A backend failure in Ollama's statuses: 404 for a model it lacks, 501
 * for what it cannot do (pulling, elsewhere than Ollama), else 500. */
static void
httpd_ollama_fail(struct httpd_req *r, enum llm_err err, const char *msg, const char *model, bool scheduler)
{
	if (err == LLM_ERR_NOT_FOUND && scheduler)
		httpd_fail(r, 404, NULL, NULL, NULL, "model \"%s\" not found, try pulling it first", model);
	else if (err == LLM_ERR_NOT_FOUND)
		httpd_fail(r, 404, NULL, NULL, NULL, "model '%s' not found", model);
	else if (err == LLM_ERR_OTHER)
		httpd_fail(r, 501, NULL, NULL, NULL, "%s", msg ? msg : "the backend cannot do this");
	else
		httpd_fail(r, 500, NULL, NULL, NULL, "%s", msg ? msg : "the backend failed");
}

/* ---- models in Ollama's shape ---- */

/* 64 hex digits that are always the same for the same name. */
static void
httpd_ollama_digest(const char *name, char out[65])
{
	for (int k = 0; k < 4; k++) {
		uint64_t x = 0xcbf29ce484222325u ^ (uint64_t)(k + 1) * 0x9e3779b97f4a7c15u;

		for (const char *p = name; *p != '\0'; p++) {
			x ^= (unsigned char)*p;
			x *= 0x100000001b3u;
		}
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdu;
		x ^= x >> 33;
		snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)x);
	}
}

static const char *
httpd_ollama_str(const char *s)
{
	return s != NULL ? s : "";
}

static json_t *
httpd_ollama_details(const char *format, const char *family, const char *params, const char *quant)
{
	family = httpd_ollama_str(family);
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "parent_model", "", "format", httpd_ollama_str(format),
	    "family", family, "families", *family != '\0' ? json_pack("[s]", family) : json_null(), "parameter_size",
	    httpd_ollama_str(params), "quantization_level", httpd_ollama_str(quant));
}

/* Ollama's capability names for another backend's. */
static json_t *
httpd_ollama_caps(json_t *caps)
{
	json_t *out = json_array(), *c;
	size_t i;

	json_array_foreach(caps, i, c)
	{
		const char *s = json_string_value(c);

		if (s != NULL)
			json_array_append_new(out, json_string(strcmp(s, "tool_use") == 0 ? "tools" : s));
	}
	return out;
}

static json_t *
httpd_ollama_model_json(const struct prov_model *m, bool ps)
{
	char digest[65];
	json_t *o;

	httpd_ollama_digest(m->name, digest);
	o = json_pack("{s:s, s:s}", "name", m->name, "model", m->name);
	if (!ps)
		json_object_set_new(o, "modified_at", json_string(m->modified != NULL && *m->modified != '\0' ? m->modified : HTTPD_OLLAMA_NO_TIME));
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, "details", httpd_ollama_details(m->format, m->family, m->params, m->quant));
	if (ps) {
		json_object_set_new(o, "expires_at", json_string(m->expires != NULL && *m->expires != '\0' ? m->expires : HTTPD_OLLAMA_NO_TIME));
		json_object_set_new(o, "size_vram", json_integer((json_int_t)m->size_vram));
		json_object_set_new(o, "context_length", json_integer((json_int_t)m->context_length));
	} else if (m->context_length > 0)
		json_object_set_new(json_object_get(o, "details"), "context_length", json_integer((json_int_t)m->context_length));
	if (json_is_array(m->capabilities))
		json_object_set_new(o, "capabilities", httpd_ollama_caps(m->capabilities));
	return o;
}

static json_t *
httpd_ollama_models_json(const struct prov_model_list *l, bool ps)
{
	json_t *a = json_array();

	for (size_t i = 0; l != NULL && i < l->n; i++)
		json_array_append_new(a, httpd_ollama_model_json(&l->v[i], ps));
	return json_pack("{s:o}", "models", a);
}

/* ---- /api/version ---- */

void
httpd_ollama_version(struct httpd_req *r)
{
	/* at once, never asking the backend: clients use it to see the
	 * server is up before anything else */
	httpd_reply(r, 200, json_pack("{s:s, s:s}", "version", HTTPD_OLLAMA_API_VERSION, "parley", PARLEY_VERSION));
}

/* ---- /api/tags, /api/ps ---- */

static void
httpd_ollama_tags_cb(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_ollama *o = arg;

	o->w = NULL;
	if (err != LLM_OK)
		httpd_ollama_fail(o->r, err, msg, "", false);
	else
		httpd_reply(o->r, 200, httpd_ollama_models_json(l, false));
}

void
httpd_ollama_tags(struct httpd_req *r)
{
	struct httpd_ollama *o = httpd_ollama_new(r);

	o->w = httpd_models_get_list(o->h, httpd_ollama_tags_cb, o);
}

static void
httpd_ollama_ps_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct httpd_ollama *o = arg;

	if (httpd_ollama_back(o)) {
		if (err != LLM_OK)
			httpd_ollama_fail(o->r, err, msg, "", false);
		else
			httpd_reply(o->r, 200, httpd_ollama_models_json(l, true));
	}
	prov_model_list_free(l);
}

static struct prov *
httpd_ollama_prov(struct httpd_req *r)
{
	struct prov *p = httpd_req_app(r)->prov;

	if (p == NULL)
		httpd_fail(r, 500, NULL, NULL, NULL, "no backend is connected yet");
	return p;
}

void
httpd_ollama_ps(struct httpd_req *r)
{
	struct prov *p = httpd_ollama_prov(r);
	struct httpd_ollama *o;

	if (p == NULL)
		return;
	o = httpd_ollama_new(r);
	o->busy = true;
	o->req = p->ops->ps(p, httpd_ollama_ps_cb, o);
}

/* ---- /api/show ---- */

/* The provider's normalised details (prov.h) in /api/show's shape. */
static json_t *
httpd_ollama_show_json(const char *model, json_t *n)
{
	json_t *d = json_object_get(n, "details"), *info = json_object(), *caps = json_array();
	const char *family = json_string_value(json_object_get(d, "family"));
	json_int_t ctx = json_integer_value(json_object_get(n, "context_length"));
	json_t *o;

	(void)model;
	if (family != NULL && *family != '\0') {
		char *key = xasprintf("%s.context_length", family);

		json_object_set_new(info, "general.architecture", json_string(family));
		if (ctx > 0)
			json_object_set_new(info, key, json_integer(ctx));
		free(key);
	}
	json_array_append_new(caps, json_string("completion"));
	if (json_is_array(json_object_get(n, "capabilities"))) {
		json_t *mapped = httpd_ollama_caps(json_object_get(n, "capabilities")), *c;
		size_t i;

		json_array_foreach(mapped, i, c)
		{
			if (!util_streq(json_string_value(c), "completion"))
				json_array_append(caps, c);
		}
		json_decref(mapped);
	}
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "modelfile", "", "parameters",
	    httpd_ollama_str(json_string_value(json_object_get(n, "parameters"))), "template",
	    httpd_ollama_str(json_string_value(json_object_get(n, "template"))), "details",
	    httpd_ollama_details(json_string_value(json_object_get(d, "format")), family,
	        json_string_value(json_object_get(d, "parameter_size")),
	        json_string_value(json_object_get(d, "quantization_level"))),
	    "model_info", info, "capabilities", caps, "modified_at", HTTPD_OLLAMA_NO_TIME);
	return o;
}

static void
httpd_ollama_show_cb(enum llm_err err, const char *msg, json_t *result, void *arg)
{
	struct httpd_ollama *o = arg;
	json_t *raw = json_object_get(result, "raw");

	if (!httpd_ollama_back(o))
		return;
	if (err != LLM_OK)
		httpd_ollama_fail(o->r, err, msg, o->model, false);
	else if (json_object_get(raw, "model_info") != NULL || json_object_get(raw, "modelfile") != NULL)
		/* an Ollama backend's own answer */
		httpd_reply(o->r, 200, json_deep_copy(raw));
	else
		httpd_reply(o->r, 200, httpd_ollama_show_json(o->model, result));
}

void
httpd_ollama_show(struct httpd_req *r)
{
	const char *model = httpd_ollama_model(r);
	struct prov *p;
	struct httpd_ollama *o;

	if (model == NULL || (p = httpd_ollama_prov(r)) == NULL)
		return;
	o = httpd_ollama_new(r);
	o->model = xstrdup(model);
	o->busy = true;
	o->req = p->ops->show(p, model, httpd_ollama_show_cb, o);
}

/* ---- /api/embed, /api/embeddings ---- */

static void
httpd_ollama_embed_cb(enum llm_err err, const char *msg, json_t *result, void *arg)
{
	struct httpd_ollama *o = arg;
	json_t *out, *v;

	if (!httpd_ollama_back(o))
		return;
	if (err != LLM_OK) {
		httpd_ollama_fail(o->r, err, msg, o->model, true);
		return;
	}
	if (o->legacy) {
		v = json_array_get(json_object_get(result, "embeddings"), 0);
		httpd_reply(o->r, 200, json_pack("{s:O}", "embedding", json_is_array(v) ? v : json_array()));
		return;
	}
	out = json_pack("{s:s, s:O}", "model", o->model, "embeddings", json_object_get(result, "embeddings"));
	if (!json_is_integer(v = json_object_get(result, "total_duration")))
		json_object_set_new(out, "total_duration", json_integer((json_int_t)(util_now_ns() - o->started)));
	else
		json_object_set(out, "total_duration", v);
	if (json_integer_value(v = json_object_get(result, "load_duration")) > 0)
		json_object_set(out, "load_duration", v);
	if (json_integer_value(v = json_object_get(result, "prompt_eval_count")) > 0)
		json_object_set(out, "prompt_eval_count", v);
	httpd_reply(o->r, 200, out);
}

static void
httpd_ollama_embed_start(struct httpd_req *r, bool legacy)
{
	json_t *body = httpd_req_body(r), *input = json_object_get(body, legacy ? "prompt" : "input"), *v;
	const char *model = httpd_ollama_model(r);
	struct httpd_ollama *o;
	struct prov *p;
	size_t i;

	if (model == NULL)
		return;
	if (legacy && input != NULL && !json_is_null(input) && !json_is_string(input)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "prompt: must be a string");
		return;
	}
	if (!legacy && input != NULL && !json_is_null(input) && !json_is_string(input)) {
		bool ok = json_is_array(input);

		json_array_foreach(input, i, v)
		{
			ok = ok && json_is_string(v);
		}
		if (!ok) {
			httpd_fail(r, 400, NULL, NULL, NULL, "input: must be a string or an array of strings");
			return;
		}
	}
	if ((v = json_object_get(body, "dimensions")) != NULL && !json_is_null(v) && !json_is_integer(v)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "dimensions: must be an integer");
		return;
	}
	/* nothing to embed: as Ollama, an empty answer (it loads the model) */
	if (input == NULL || json_is_null(input) || (json_is_array(input) && json_array_size(input) == 0) ||
	    (legacy && json_string_length(input) == 0)) {
		httpd_reply(r, 200, legacy ? json_pack("{s:[]}", "embedding") : json_pack("{s:s, s:[]}", "model", model, "embeddings"));
		return;
	}
	if ((p = httpd_ollama_prov(r)) == NULL)
		return;
	if (p->ops->embed == NULL) {
		httpd_fail(r, 501, NULL, NULL, NULL, "embeddings are not supported by this backend (%s)", p->kind);
		return;
	}
	o = httpd_ollama_new(r);
	o->model = xstrdup(model);
	o->legacy = legacy;
	o->busy = true;
	o->req = p->ops->embed(p, model, input, body, httpd_ollama_embed_cb, o);
}

void
httpd_ollama_embed(struct httpd_req *r)
{
	httpd_ollama_embed_start(r, false);
}

void
httpd_ollama_embeddings(struct httpd_req *r)
{
	httpd_ollama_embed_start(r, true);
}

/* ---- /api/pull ---- */

static void
httpd_ollama_pull_progress(const struct prov_pull_ev *ev, void *arg)
{
	struct httpd_ollama *o = arg;
	json_t *line;

	if (o->gone || !o->stream)
		return;
	line = json_pack("{s:s}", "status", httpd_ollama_str(ev->status));
	if (ev->digest != NULL)
		json_object_set_new(line, "digest", json_string(ev->digest));
	/* Ollama leaves them out when 0 */
	if (ev->total != 0)
		json_object_set_new(line, "total", json_integer((json_int_t)ev->total));
	if (ev->completed != 0)
		json_object_set_new(line, "completed", json_integer((json_int_t)ev->completed));
	if (util_streq(ev->status, "success"))
		o->success = true;
	if (!httpd_req_answered(o->r))
		httpd_stream_begin(o->r);
	httpd_stream_event(o->r, line);
}

static void
httpd_ollama_pull_done(enum llm_err err, const char *msg, void *arg)
{
	struct httpd_ollama *o = arg;
	char *prefix;

	if (!httpd_ollama_back(o))
		return;
	httpd_models_forget(o->h); /* tags must show what came */
	if (err == LLM_OK) {
		if (!o->stream)
			httpd_reply(o->r, 200, json_pack("{s:s}", "status", "success"));
		else {
			if (!o->success)
				httpd_ollama_pull_progress(&(struct prov_pull_ev){ .status = "success" }, o);
			httpd_stream_end(o->r);
		}
		return;
	}
	/* the server's own words, as Ollama's stream gives them */
	prefix = xasprintf("pulling %s failed: ", o->model);
	if (msg != NULL && strncmp(msg, prefix, strlen(prefix)) == 0)
		msg += strlen(prefix);
	if (!o->stream && err != LLM_ERR_OTHER)
		httpd_fail(o->r, 500, NULL, NULL, NULL, "%s", msg ? msg : "pull failed");
	else
		/* mid-stream: a last {"error"} line */
		httpd_ollama_fail(o->r, err, msg, o->model, false);
	free(prefix);
}

void
httpd_ollama_pull(struct httpd_req *r)
{
	json_t *stream = json_object_get(httpd_req_body(r), "stream");
	const char *model = httpd_ollama_model(r);
	struct httpd_ollama *o;
	struct prov *p;

	if (model == NULL || (p = httpd_ollama_prov(r)) == NULL)
		return;
	if (stream != NULL && !json_is_null(stream) && !json_is_boolean(stream)) {
		httpd_fail(r, 400, NULL, NULL, NULL, "stream: must be true or false");
		return;
	}
	o = httpd_ollama_new(r);
	o->model = xstrdup(model);
	o->stream = !json_is_false(stream);
	o->busy = true;
	o->req = p->ops->pull(p, model, httpd_ollama_pull_progress, httpd_ollama_pull_done, o);
}
