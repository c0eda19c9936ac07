/*
 * prov_openai.c: the provider for OpenAI-compatible servers: llama.cpp's
 * llama-server, LM Studio (kind "lm-studio", which also reads LM Studio's
 * /api/v0/models for loaded state and context length), Ollama's /v1 layer
 * and anything else that speaks /v1/chat/completions.
 *
 * Streams are Server-Sent Events: bytes go through the sse parser, each
 * event's data into the wire_openai decoder, which reassembles tool-call
 * fragments and raises parley's events. Pulling, deleting and copying
 * models are Ollama's alone; here they fail with a message saying so.
 */
#include "prov.h"

#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "util.h"
#include "wire_openai.h"

static bool
openai_is_lmstudio(const struct prov *p)
{
	return strcmp(p->kind, "lm-studio") == 0;
}

static enum llm_err
openai_http_error(struct prov *p, const char *model, long status, const char *body, size_t len, char **msg)
{
	char *code = NULL, *text = wire_openai_error(body, len, &code);
	enum llm_err err = LLM_ERR_BACKEND;

	/* A 404 without a JSON error body is a path the server lacks, not a
	 * missing model. */
	if (model != NULL && ((status == 404 && text != NULL) || util_streq(code, "model_not_found") || (text != NULL && strstr(text, "No models loaded") != NULL))) {
		*msg = prov_not_found_msg(p, model);
		if (text != NULL && status != 404) {
			char *full = xasprintf("%s (server said: %s)", *msg, text);

			free(*msg);
			*msg = full;
		}
		err = LLM_ERR_NOT_FOUND;
	} else {
		if (text == NULL)
			text = prov_body_excerpt(body, len);
		*msg = xasprintf("%s answered %ld: %s%s", p->base_url, status, text,
		    status == 401 ? " (check --api-key)" : status == 404 ? " (is the base URL right?)"
		                                                         : "");
	}
	free(text);
	free(code);
	return err;
}

/* --- models ----------------------------------------------------------- */

struct openai_call {
	struct prov *p;
	char *model;
	prov_list_cb list_cb;
	prov_json_cb json_cb;
	prov_done_cb done_cb;
	void *arg;
	bool loaded_only; /* ps */
	bool tried_v1; /* LM Studio: fell back from /api/v0 */
	enum llm_err err;
	char *msg;
};

static void
openai_call_free(struct openai_call *c)
{
	free(c->model);
	free(c->msg);
	free(c);
}

static char *
openai_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return xstrdup(s ? s : "");
}

/* One model entry of /v1/models (llama-server adds meta) or LM Studio's
 * /api/v0/models. */
static void
openai_parse_model(json_t *e, struct prov_model *m, bool v0)
{
	json_t *meta = json_object_get(e, "meta");

	m->name = openai_jstr(e, "id");
	m->family = openai_jstr(e, v0 ? "arch" : "owned_by");
	m->quant = openai_jstr(e, "quantization");
	m->format = openai_jstr(e, v0 ? "compatibility_type" : "object");
	if (!v0)
		m->format[0] = '\0';
	m->params = xstrdup("");
	m->modified = xstrdup("");
	m->expires = xstrdup("");
	m->loaded = -1;
	if (v0) {
		const char *state = json_string_value(json_object_get(e, "state"));

		m->loaded = util_streq(state, "loaded") ? 1 : 0;
		m->context_length = json_integer_value(json_object_get(e, "max_context_length"));
		m->capabilities = json_incref(json_object_get(e, "capabilities"));
	} else if (json_is_object(meta)) {
		json_int_t n = json_integer_value(json_object_get(meta, "n_params"));

		m->context_length = json_integer_value(json_object_get(meta, "n_ctx_train"));
		m->size = json_integer_value(json_object_get(meta, "size"));
		if (n > 0) {
			free(m->params);
			m->params = n >= 1000000000 ? xasprintf("%.1fB", (double)n / 1e9)
			                            : xasprintf("%.0fM", (double)n / 1e6);
		}
		m->loaded = 1; /* llama-server lists what it has loaded */
	}
}

static struct prov_req *openai_models_get(struct openai_call *c);

static void
openai_models_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct openai_call *c = arg;
	struct prov_model_list *l = NULL;
	json_t *doc = NULL, *data = NULL, *found = NULL;
	bool v0 = openai_is_lmstudio(c->p) && !c->tried_v1;
	char *m = NULL;

	(void)r;
	if (err == LLM_OK && status < 400)
		doc = json_loadb(body, len, 0, NULL);
	if (doc != NULL)
		data = json_object_get(doc, "data");
	if (v0 && (err != LLM_ERR_CONNECT && err != LLM_ERR_CANCELLED) && !json_is_array(data)) {
		/* not LM Studio's REST API (or an old one): use /v1/models */
		json_decref(doc);
		c->tried_v1 = true;
		prov_http_again(r, "GET", "/v1/models", NULL, NULL);
		return;
	}
	if (err == LLM_OK && status >= 400)
		err = openai_http_error(c->p, NULL, status, body, len, &m);
	else if (err == LLM_OK && doc == NULL) {
		err = LLM_ERR_BACKEND;
		m = xasprintf("%s did not answer /v1/models with JSON; is it an OpenAI-compatible server?", c->p->base_url);
	}
	if (err == LLM_OK) {
		size_t n = json_array_size(data); /* "data": null means none */

		l = xcalloc(1, sizeof *l);
		l->v = xcalloc(n ? n : 1, sizeof *l->v);
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(data, i);
			const char *type = json_string_value(json_object_get(e, "type"));

			if (type != NULL && strcmp(type, "embeddings") == 0)
				continue;
			if (c->model != NULL && util_streq(json_string_value(json_object_get(e, "id")), c->model))
				found = e;
			openai_parse_model(e, &l->v[l->n], v0);
			if (c->loaded_only && l->v[l->n].loaded == 0) {
				prov_model_clear(&l->v[l->n]);
				continue;
			}
			l->n++;
		}
	}
	if (c->json_cb != NULL) {
		json_t *out = NULL;

		if (err == LLM_OK && found == NULL) {
			err = LLM_ERR_NOT_FOUND;
			m = prov_not_found_msg(c->p, c->model);
		} else if (err == LLM_OK) {
			struct prov_model pm = { 0 };

			openai_parse_model(found, &pm, v0);
			out = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:O?, s:I, s:O, s:b}",
			    "name", c->model,
			    "details", "family", pm.family, "parameter_size", pm.params,
			    "quantization_level", pm.quant, "format", pm.format,
			    "capabilities", pm.capabilities,
			    "context_length", (json_int_t)pm.context_length,
			    "raw", found, "loaded", pm.loaded == 1);
			prov_model_clear(&pm);
		}
		c->json_cb(err, m ? m : msg, out, c->arg);
		json_decref(out);
		prov_model_list_free(l);
	} else
		c->list_cb(err, m ? m : msg, l, c->arg);
	json_decref(doc);
	free(m);
	openai_call_free(c);
}

static struct prov_req *
openai_models_get(struct openai_call *c)
{
	static const struct prov_http h = { NULL, openai_models_end, 0 };
	bool v0 = openai_is_lmstudio(c->p) && !c->tried_v1;

	return prov_http(c->p, "GET", v0 ? "/api/v0/models" : "/v1/models", NULL, &h, c);
}

static struct openai_call *
openai_call_new(struct prov *p, const char *model, void *arg)
{
	struct openai_call *c = xcalloc(1, sizeof *c);

	c->p = p;
	c->model = model ? xstrdup(model) : NULL;
	c->arg = arg;
	return c;
}

static struct prov_req *
openai_list(struct prov *p, prov_list_cb cb, void *arg)
{
	struct openai_call *c = openai_call_new(p, NULL, arg);

	c->list_cb = cb;
	return openai_models_get(c);
}

static struct prov_req *
openai_ps(struct prov *p, prov_list_cb cb, void *arg)
{
	struct openai_call *c = openai_call_new(p, NULL, arg);

	c->list_cb = cb;
	c->loaded_only = true;
	return openai_models_get(c);
}

static struct prov_req *
openai_show(struct prov *p, const char *model, prov_json_cb cb, void *arg)
{
	struct openai_call *c = openai_call_new(p, model, arg);

	c->json_cb = cb;
	return openai_models_get(c);
}

/* --- what only Ollama does -------------------------------------------- */

static void
openai_unsupported_fire(void *arg)
{
	struct openai_call *c = arg;

	c->done_cb(c->err, c->msg, c->arg);
	openai_call_free(c);
}

static struct prov_req *
openai_unsupported(struct prov *p, const char *what, prov_done_cb cb, void *arg)
{
	struct openai_call *c = openai_call_new(p, NULL, arg);

	c->done_cb = cb;
	c->err = LLM_ERR_OTHER;
	if (openai_is_lmstudio(p))
		c->msg = xasprintf("%s models is Ollama's; with LM Studio use its app or 'lms get' / 'lms rm'", what);
	else
		c->msg = xasprintf("%s models is Ollama's; %s serves the models it was started with", what, p->base_url);
	/* report from the loop, never before the caller has the request */
	loop_timer_add(p->loop, 0, openai_unsupported_fire, c);
	return NULL;
}

static struct prov_req *
openai_pull(struct prov *p, const char *model, prov_pull_cb progress, prov_done_cb cb, void *arg)
{
	(void)model;
	(void)progress;
	return openai_unsupported(p, "pulling", cb, arg);
}

static struct prov_req *
openai_remove(struct prov *p, const char *model, prov_done_cb cb, void *arg)
{
	(void)model;
	return openai_unsupported(p, "deleting", cb, arg);
}

static struct prov_req *
openai_copy(struct prov *p, const char *src, const char *dst, prov_done_cb cb, void *arg)
{
	(void)src;
	(void)dst;
	return openai_unsupported(p, "copying", cb, arg);
}

static void
openai_ping_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct openai_call *c = arg;
	char *m = NULL;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = openai_http_error(c->p, NULL, status, body, len, &m);
	c->done_cb(err, m ? m : msg, c->arg);
	free(m);
	openai_call_free(c);
}

static struct prov_req *
openai_ping(struct prov *p, prov_done_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, openai_ping_end, PROV_PING_TIMEOUT_MS };
	struct openai_call *c = openai_call_new(p, NULL, arg);

	c->done_cb = cb;
	return prov_http(p, "GET", "/v1/models", NULL, &h, c);
}

/* --- embeddings ------------------------------------------------------ */

/* /v1/embeddings: data[] by index into Ollama's plain array of vectors. */
static void
openai_embed_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct openai_call *c = arg;
	json_t *doc = NULL, *out = NULL, *data, *e, *vecs;
	json_int_t tokens;
	char *m = NULL;
	size_t i;

	(void)r;
	if (err == LLM_OK && status >= 400)
		err = openai_http_error(c->p, c->model, status, body, len, &m);
	if (err == LLM_OK) {
		doc = json_loadb(body, len, 0, NULL);
		data = json_object_get(doc, "data");
		if (!json_is_array(data)) {
			err = LLM_ERR_BACKEND;
			m = xasprintf("%s sent a reply to /v1/embeddings without data", c->p->base_url);
		}
	}
	if (err == LLM_OK) {
		vecs = json_array();
		for (i = 0; i < json_array_size(data); i++)
			json_array_append_new(vecs, json_null());
		json_array_foreach(data, i, e)
		{
			json_t *idx = json_object_get(e, "index");
			size_t at = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;

			if (at >= json_array_size(vecs) || !json_is_array(json_object_get(e, "embedding"))) {
				err = LLM_ERR_BACKEND;
				break;
			}
			json_array_set(vecs, at, json_object_get(e, "embedding"));
		}
		if (err == LLM_OK) {
			out = json_pack("{s:o}", "embeddings", vecs);
			tokens = json_integer_value(json_object_get(json_object_get(doc, "usage"), "prompt_tokens"));
			if (tokens > 0)
				json_object_set_new(out, "prompt_eval_count", json_integer(tokens));
		} else {
			json_decref(vecs);
			m = xasprintf("%s sent embeddings that do not match the input", c->p->base_url);
		}
	}
	c->json_cb(err, m ? m : msg, out, c->arg);
	json_decref(out);
	json_decref(doc);
	free(m);
	openai_call_free(c);
}

static struct prov_req *
openai_embed(struct prov *p, const char *model, json_t *input, json_t *opts, prov_json_cb cb, void *arg)
{
	static const struct prov_http h = { NULL, openai_embed_end, 0 };
	struct openai_call *c = openai_call_new(p, model, arg);
	json_t *body = json_pack("{s:s, s:O, s:s}", "model", model, "input", input, "encoding_format", "float");
	json_t *dims = json_object_get(opts, "dimensions");

	if (json_is_integer(dims))
		json_object_set(body, "dimensions", dims);
	c->json_cb = cb;
	return prov_http(p, "POST", "/v1/embeddings", body, &h, c);
}

/* --- chat ------------------------------------------------------------- */

struct openai_chat {
	struct prov *p;
	char *model;
	struct prov_sink sink;
	struct sse *sse;
	struct wire_openai *w;
	bool stream;
	bool saw_done;
	json_t *again; /* a streamed request with tools, to resend unstreamed */
};

static int openai_chat_bytes(struct prov_req *r, const char *data, size_t len, void *arg);
static void openai_chat_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg);
static const struct prov_http openai_streamed = { openai_chat_bytes, openai_chat_end, 0 };
/* a whole answer is collected and decoded at the end */
static const struct prov_http openai_whole = { NULL, openai_chat_end, 0 };

/* Older llama-server builds answer a streamed request with tools with 500
 * "Cannot use tools with stream". */
static bool
openai_refused_stream_tools(long status, const char *body, size_t len)
{
	char *text;
	bool yes;

	if (status != 500)
		return false;
	text = wire_openai_error(body, len, NULL);
	yes = text != NULL && strcasestr(text, "tools with stream") != NULL;
	free(text);
	return yes;
}

static void
openai_unstream(json_t *body)
{
	json_object_set_new(body, "stream", json_false());
	json_object_del(body, "stream_options");
}

static int
openai_chat_event(const struct sse_event *e, void *arg)
{
	struct openai_chat *c = arg;
	int rc;

	if (strcmp(e->type, "message") != 0 && strcmp(e->type, "error") != 0)
		return 0;
	rc = wire_openai_chunk(c->w, e->data, e->data_len, prov_sink_event, &c->sink);
	if (rc == 1) {
		c->saw_done = true;
		wire_openai_finish(c->w, true, prov_sink_event, &c->sink);
		return 1;
	}
	return c->sink.finished ? 1 : 0;
}

static int
openai_chat_bytes(struct prov_req *r, const char *data, size_t len, void *arg)
{
	struct openai_chat *c = arg;
	int rc;

	(void)r;
	rc = sse_feed(c->sse, data, len, openai_chat_event, c);
	if (rc == SSE_TOO_LONG) {
		char *m = xasprintf("%s sent an event line longer than %u MiB; stopped reading",
		    c->p->base_url, SSE_DEFAULT_CAP >> 20);

		prov_sink_error(&c->sink, LLM_ERR_BACKEND, m);
		free(m);
	}
	return prov_sink_bytes(&c->sink);
}

static void
openai_chat_end(struct prov_req *r, enum llm_err err, const char *msg, long status,
    const char *body, size_t len, void *arg)
{
	struct openai_chat *c = arg;
	char *m = NULL;

	if (!c->sink.finished && err == LLM_OK && c->again != NULL && openai_refused_stream_tools(status, body, len)) {
		c->p->no_stream_tools = true;
		c->stream = false;
		openai_unstream(c->again);
		prov_http_again(r, "POST", "/v1/chat/completions", c->again, &openai_whole);
		c->again = NULL;
		return;
	}
	if (!c->sink.finished) {
		if (err == LLM_OK && status >= 400) {
			err = openai_http_error(c->p, c->model, status, body, len, &m);
			prov_sink_error(&c->sink, err, m);
		} else if (err == LLM_OK && !c->stream) {
			wire_openai_response(body, len, prov_sink_event, &c->sink);
			if (!c->sink.finished)
				prov_sink_error(&c->sink, LLM_ERR_BACKEND, "the reply was not a chat completion");
		} else if (err == LLM_OK) {
			sse_finish(c->sse, openai_chat_event, c);
			if (!c->sink.finished && wire_openai_finish(c->w, c->saw_done, prov_sink_event, &c->sink) != 0 && !c->sink.finished)
				prov_sink_error(&c->sink, LLM_ERR_BACKEND, "the stream ended before the reply was complete");
		} else
			prov_sink_error(&c->sink, err, msg);
	}
	free(m);
	json_decref(c->again);
	sse_free(c->sse);
	wire_openai_free(c->w);
	free(c->model);
	free(c);
}

static struct prov_req *
openai_chat(struct prov *p, const struct llm_req *req, llm_ev_cb cb, void *arg)
{
	struct openai_chat *c = xcalloc(1, sizeof *c);
	json_t *body = wire_openai_chat_request(req);

	c->p = p;
	c->model = xstrdup(req->model ? req->model : "");
	c->sink.cb = cb;
	c->sink.arg = arg;
	c->stream = req->stream;
	c->sse = sse_new(SSE_DEFAULT_CAP);
	c->w = wire_openai_new();
	if (c->stream && json_array_size(req->tools) > 0) {
		if (p->no_stream_tools) {
			c->stream = false;
			openai_unstream(body);
		} else
			c->again = json_incref(body); /* prov_http only reads it */
	}
	return prov_http(p, "POST", "/v1/chat/completions", body, c->stream ? &openai_streamed : &openai_whole, c);
}

const struct prov_ops prov_openai_ops = {
	.name = "openai",
	.list = openai_list,
	.ps = openai_ps,
	.show = openai_show,
	.pull = openai_pull,
	.remove = openai_remove,
	.copy = openai_copy,
	.chat = openai_chat,
	.ping = openai_ping,
	.embed = openai_embed,
};
