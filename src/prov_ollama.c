/*
 * prov_ollama.c: the Ollama provider, on Ollama's native /api (the only
 * place num_ctx, keep_alive, think and the full options work).
 *
 * Chat and pull responses are NDJSON: bytes go through an ndjson framer into
 * the wire_ollama decoders, which raise parley's events. A chat keeps a
 * small state (struct ollama_chat) from the request until the exchange ends;
 * after it has delivered DONE or ERROR it delivers nothing more.
 */
#include "prov.h"

#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "util.h"
#include "wire_ollama.h"

/* --- errors ----------------------------------------------------------- */

/* An HTTP error response as an llm_err and message. A 404 with an
 * {"error":...} body is "model not found" whatever the text says
 * (protocols.md 1.2); a 404 without one ("404 page not found", text/plain)
 * is a path the server does not have: a wrong base URL. */
static enum llm_err
ollama_http_error(struct prov *p, const char *model, long status, const char *body, size_t len, char **msg)
{
	char *text = wire_ollama_error(body, len);

	if (status == 404 && model != NULL && text != NULL) {
		*msg = prov_not_found_msg(p, model);
		free(text);
		return LLM_ERR_NOT_FOUND;
	}
	if (text == NULL)
		text = prov_body_excerpt(body, len);
	*msg = xasprintf("Ollama at %s answered %ld: %s%s", p->base_url, status, text,
	    status == 404 ? " (is the base URL right?)" : "");
	free(text);
	return LLM_ERR_BACKEND;
}

/* --- model lists ------------------------------------------------------ */

struct ollama_call {
	struct prov *p;
	char *model;
	prov_list_cb list_cb;
	prov_json_cb json_cb;
	prov_done_cb done_cb;
	prov_pull_cb pull_cb;
	void *arg;
	struct ndjson *nd;
	char *pull_error;
	bool pull_success;
	bool ps; /* listing loaded models */
};

static struct ollama_call *
ollama_call_new(struct prov *p, const char *model, void *arg)
{
	struct ollama_call *c = xcalloc(1, sizeof *c);

	c->p = p;
	c->model = model ? xstrdup(model) : NULL;
	c->arg = arg;
	return c;
}

static void
ollama_call_free(struct ollama_call *c)
{
	free(c->model);
	free(c->pull_error);
	ndjson_free(c->nd);
	free(c);
}

static char *
ollama_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return xstrdup(s ? s : "");
}

static void
ollama_parse_model(json_t *e, struct prov_model *m)
{
	json_t *d = json_object_get(e, "details");
	const char *name = json_string_value(json_object_get(e, "name"));

	if (name == NULL)
		name = json_string_value(json_object_get(e, "model"));
	m->name = xstrdup(name ? name : "");
	m->family = ollama_jstr(d, "family");
	m->params = ollama_jstr(d, "parameter_size");
	m->quant = ollama_jstr(d, "quantization_level");
	m->format = ollama_jstr(d, "format");
	m->size = json_integer_value(json_object_get(e, "size"));
	m->modified = ollama_jstr(e, "modified_at");
	m->context_length = json_integer_value(json_object_get(e, "context_length"));
	if (m->context_length == 0)
		m->context_length = json_integer_value(json_object_get(d, "context_length"));
	m->size_vram = json_integer_value(json_object_get(e, "size_vram"));
	m->expires = ollama_jstr(e, "expires_at");
	m->loaded = -1;
	m->capabilities = json_incref(json_object_get(e, "capabilities"));
}

static void
ollama_list_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	struct prov_model_list *l = NULL;
	char *m = NULL;
	json_t *doc = NULL, *models;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = ollama_http_error(c->p, NULL, status, body, len, &m);
	if (err == LLM_OK) {
		doc = json_loadb(body, len, 0, NULL);
		models = json_object_get(doc, "models");
		if (!json_is_array(models) && !json_is_null(models)) {
			err = LLM_ERR_BACKEND;
			m = xasprintf("%s did not answer with a model list; is it Ollama? (try --provider openai)", c->p->base_url);
		} else {
			l = xcalloc(1, sizeof *l);
			l->n = json_array_size(models);
			l->v = xcalloc(l->n ? l->n : 1, sizeof *l->v);
			for (size_t i = 0; i < l->n; i++) {
				ollama_parse_model(json_array_get(models, i), &l->v[i]);
				if (c->ps)
					l->v[i].loaded = 1;
			}
		}
		json_decref(doc);
	}
	c->list_cb(err, m ? m : msg, l, c->arg);
	free(m);
	ollama_call_free(c);
}

static struct prov_req *
ollama_list_common(struct prov *p, const char *path, bool loaded, prov_list_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, ollama_list_end, 0 };
	struct ollama_call *c = ollama_call_new(p, NULL, arg);

	c->list_cb = cb;
	c->ps = loaded;
	return prov_http(p, "GET", path, NULL, &h, c);
}

static struct prov_req *
ollama_list(struct prov *p, prov_list_cb cb, void *arg)
{
	return ollama_list_common(p, "/api/tags", false, cb, arg);
}

static struct prov_req *
ollama_ps(struct prov *p, prov_list_cb cb, void *arg)
{
	return ollama_list_common(p, "/api/ps", true, cb, arg);
}

/* --- show ------------------------------------------------------------- */

static void
ollama_show_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	json_t *doc = NULL, *out = NULL, *info;
	char *m = NULL;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = ollama_http_error(c->p, c->model, status, body, len, &m);
	if (err == LLM_OK && (doc = json_loadb(body, len, 0, NULL)) == NULL) {
		err = LLM_ERR_BACKEND;
		m = xasprintf("Ollama at %s sent a reply to /api/show that is not JSON", c->p->base_url);
	}
	if (err == LLM_OK) {
		const char *key;
		json_t *v;
		int64_t ctx = 0;

		/* <arch>.context_length in the flat GGUF map */
		info = json_object_get(doc, "model_info");
		json_object_foreach(info, key, v)
		{
			const char *dot = strrchr(key, '.');

			if (dot != NULL && strcmp(dot, ".context_length") == 0 && json_is_integer(v))
				ctx = json_integer_value(v);
		}
		out = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:I, s:O}",
		    "name", c->model,
		    "details", json_object_get(doc, "details"),
		    "parameters", json_object_get(doc, "parameters"),
		    "template", json_object_get(doc, "template"),
		    "system", json_object_get(doc, "system"),
		    "capabilities", json_object_get(doc, "capabilities"),
		    "context_length", (json_int_t)ctx,
		    "raw", doc);
		if (out == NULL) {
			err = LLM_ERR_BACKEND;
			m = xstrdup("unexpected /api/show reply");
		}
	}
	c->json_cb(err, m ? m : msg, out, c->arg);
	json_decref(out);
	json_decref(doc);
	free(m);
	ollama_call_free(c);
}

static struct prov_req *
ollama_show(struct prov *p, const char *model, prov_json_cb cb, void *arg)
{
	/* metadata read from the model's file, never waiting for a load: a
	 * server silent this long is wedged, and a chat would not wait twice */
	static const struct prov_http h = { NULL, ollama_show_end, PROV_PING_TIMEOUT_MS };
	struct ollama_call *c = ollama_call_new(p, model, arg);

	c->json_cb = cb;
	return prov_http(p, "POST", "/api/show", json_pack("{s:s}", "model", model), &h, c);
}

/* --- delete, copy, ping ----------------------------------------------- */

static void
ollama_done_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	char *m = NULL;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = ollama_http_error(c->p, c->model, status, body, len, &m);
	c->done_cb(err, m ? m : msg, c->arg);
	free(m);
	ollama_call_free(c);
}

static struct prov_req *
ollama_remove(struct prov *p, const char *model, prov_done_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, ollama_done_end, 0 };
	struct ollama_call *c = ollama_call_new(p, model, arg);

	c->done_cb = cb;
	return prov_http(p, "DELETE", "/api/delete", json_pack("{s:s}", "model", model), &h, c);
}

static struct prov_req *
ollama_copy(struct prov *p, const char *src, const char *dst, prov_done_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, ollama_done_end, 0 };
	struct ollama_call *c = ollama_call_new(p, src, arg);

	c->done_cb = cb;
	return prov_http(p, "POST", "/api/copy",
	    json_pack("{s:s, s:s}", "source", src, "destination", dst), &h, c);
}

static struct prov_req *
ollama_ping(struct prov *p, prov_done_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, ollama_done_end, PROV_PING_TIMEOUT_MS };
	struct ollama_call *c = ollama_call_new(p, NULL, arg);

	c->done_cb = cb;
	return prov_http(p, "GET", "/api/version", NULL, &h, c);
}

/* --- pull ------------------------------------------------------------- */

static void
ollama_pull_event(const struct wire_pull_ev *ev, void *arg)
{
	struct ollama_call *c = arg;
	struct prov_pull_ev pe;

	if (ev->error != NULL) {
		if (c->pull_error == NULL)
			c->pull_error = xstrdup(ev->error);
		return;
	}
	if (util_streq(ev->status, "success"))
		c->pull_success = true;
	pe.status = ev->status ? ev->status : "";
	pe.digest = ev->digest;
	pe.total = ev->total;
	pe.completed = ev->completed;
	if (c->pull_cb != NULL)
		c->pull_cb(&pe, c->arg);
}

static int
ollama_pull_line(const char *line, size_t len, void *arg)
{
	struct ollama_call *c = arg;

	wire_ollama_pull_line(line, len, ollama_pull_event, c);
	return c->pull_error != NULL ? 1 : 0;
}

static int
ollama_pull_bytes(struct prov_req *r, const char *data, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	int rc;

	(void)r;
	rc = ndjson_feed(c->nd, data, len, ollama_pull_line, c);
	if (rc == NDJSON_TOO_LONG && c->pull_error == NULL)
		c->pull_error = xstrdup("the server sent a progress line longer than the limit");
	return rc != 0;
}

static void
ollama_pull_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	char *m = NULL;

	(void)r;
	if (err == LLM_ERR_CANCELLED && c->pull_error != NULL)
		err = LLM_OK; /* we stopped reading after the error line */
	if (err == LLM_OK && status >= 400)
		err = ollama_http_error(c->p, NULL, status, body, len, &m);
	if (err == LLM_OK) {
		ndjson_finish(c->nd, ollama_pull_line, c);
		if (c->pull_error != NULL) {
			err = LLM_ERR_BACKEND;
			m = xasprintf("pulling %s failed: %s", c->model, c->pull_error);
		} else if (!c->pull_success) {
			err = LLM_ERR_BACKEND;
			m = xasprintf("pulling %s ended before the server reported success", c->model);
		}
	}
	c->done_cb(err, m ? m : msg, c->arg);
	free(m);
	ollama_call_free(c);
}

static struct prov_req *
ollama_pull(struct prov *p, const char *model, prov_pull_cb progress, prov_done_cb cb, void *arg)
{
	static const struct prov_http h = { ollama_pull_bytes, ollama_pull_end, 0 };
	struct ollama_call *c = ollama_call_new(p, model, arg);

	c->done_cb = cb;
	c->pull_cb = progress;
	c->nd = ndjson_new(NDJSON_DEFAULT_CAP);
	return prov_http(p, "POST", "/api/pull",
	    json_pack("{s:s, s:b}", "model", model, "stream", 1), &h, c);
}

/* --- chat ------------------------------------------------------------- */

struct ollama_chat {
	struct prov *p;
	char *model;
	struct prov_sink sink;
	struct ndjson *nd;
	bool stream;
};

static int
ollama_chat_line(const char *line, size_t len, void *arg)
{
	struct ollama_chat *c = arg;

	wire_ollama_chat_line(line, len, prov_sink_event, &c->sink);
	return c->sink.finished ? 1 : 0;
}

static int
ollama_chat_bytes(struct prov_req *r, const char *data, size_t len, void *arg)
{
	struct ollama_chat *c = arg;
	int rc;

	(void)r;
	rc = ndjson_feed(c->nd, data, len, ollama_chat_line, c);
	if (rc == NDJSON_TOO_LONG) {
		char *m = xasprintf("Ollama at %s sent a line longer than %u MiB; stopped reading",
		    c->p->base_url, NDJSON_DEFAULT_CAP >> 20);

		prov_sink_error(&c->sink, LLM_ERR_BACKEND, m);
		free(m);
	}
	return prov_sink_bytes(&c->sink);
}

static void
ollama_chat_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_chat *c = arg;
	char *m = NULL;

	(void)r;
	if (!c->sink.finished) {
		if (err == LLM_OK && status >= 400) {
			err = ollama_http_error(c->p, c->model, status, body, len, &m);
			prov_sink_error(&c->sink, err, m);
		} else if (err == LLM_OK && !c->stream) {
			if (wire_ollama_chat_body(body, len, prov_sink_event, &c->sink) == 0 && !c->sink.finished)
				prov_sink_error(&c->sink, LLM_ERR_BACKEND, "the reply ended without its final message");
		} else if (err == LLM_OK) {
			ndjson_finish(c->nd, ollama_chat_line, c);
			if (!c->sink.finished) {
				m = xasprintf("the stream from Ollama at %s ended before the reply was complete", c->p->base_url);
				prov_sink_error(&c->sink, LLM_ERR_BACKEND, m);
			}
		} else
			prov_sink_error(&c->sink, err, msg);
	}
	free(m);
	ndjson_free(c->nd);
	free(c->model);
	free(c);
}

static struct prov_req *
ollama_chat(struct prov *p, const struct llm_req *req, llm_ev_cb cb, void *arg)
{
	static const struct prov_http streamed = { ollama_chat_bytes, ollama_chat_end, 0 };
	/* a whole answer is collected and decoded at the end */
	static const struct prov_http whole = { NULL, ollama_chat_end, 0 };
	struct ollama_chat *c = xcalloc(1, sizeof *c);

	c->p = p;
	c->model = xstrdup(req->model ? req->model : "");
	c->sink.cb = cb;
	c->sink.arg = arg;
	c->stream = req->stream;
	c->nd = ndjson_new(NDJSON_DEFAULT_CAP);
	return prov_http(p, "POST", "/api/chat", wire_ollama_chat_request(req), req->stream ? &streamed : &whole, c);
}

/* --- embed ----------------------------------------------------------- */

static void
ollama_embed_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct ollama_call *c = arg;
	json_t *doc = NULL, *out = NULL, *emb;
	char *m = NULL;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = ollama_http_error(c->p, c->model, status, body, len, &m);
	if (err == LLM_OK) {
		doc = json_loadb(body, len, 0, NULL);
		emb = json_object_get(doc, "embeddings");
		if (!json_is_array(emb)) {
			err = LLM_ERR_BACKEND;
			m = xasprintf("Ollama at %s sent a reply to /api/embed without embeddings", c->p->base_url);
		} else {
			static const char *const keep[] = { "prompt_eval_count", "total_duration", "load_duration" };

			out = json_pack("{s:O}", "embeddings", emb);
			for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
				if (json_is_integer(json_object_get(doc, keep[i])))
					json_object_set(out, keep[i], json_object_get(doc, keep[i]));
		}
	}
	c->json_cb(err, m ? m : msg, out, c->arg);
	json_decref(out);
	json_decref(doc);
	free(m);
	ollama_call_free(c);
}

static struct prov_req *
ollama_embed(struct prov *p, const char *model, json_t *input, json_t *opts, prov_json_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, ollama_embed_end, 0 };
	static const char *const passed[] = { "truncate", "dimensions", "keep_alive", "options" };
	struct ollama_call *c = ollama_call_new(p, model, arg);
	json_t *body = json_pack("{s:s, s:O}", "model", model, "input", input);

	for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
		json_t *v = json_object_get(opts, passed[i]);

		if (v != NULL && !json_is_null(v))
			json_object_set(body, passed[i], v);
	}
	c->json_cb = cb;
	return prov_http(p, "POST", "/api/embed", body, &h, c);
}

const struct prov_ops prov_ollama_ops = {
	.name = "ollama",
	.list = ollama_list,
	.ps = ollama_ps,
	.show = ollama_show,
	.pull = ollama_pull,
	.remove = ollama_remove,
	.copy = ollama_copy,
	.chat = ollama_chat,
	.ping = ollama_ping,
	.embed = ollama_embed,
};
