/*
 * httpd_models.c: the listener's model routes (/v1/models, /v1/models/{id}),
 * the info route /, /health and /openapi.json, and the backend's model list
 * they share.
 *
 * The list is fetched from the provider and kept for HTTPD_MODELS_TTL_MS,
 * so clients that ask for it on every request do not each cost a backend
 * call. Callers queue as waiters on struct httpd_models; while a fetch runs
 * new waiters join it; a fresh cache answers them from a zero-delay timer,
 * so a callback never runs inside the call that asked for it. An error is
 * handed to the waiters but not kept.
 */
#include "httpd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "wire_openai.h"

#define HTTPD_MODELS_TTL_MS 3000
#define HTTPD_MODELS_CTX_TTL_MS 60000 /* a model reloaded with another window */
#define HTTPD_MODELS_CTX_MAX 256

struct httpd_models_wait {
	httpd_models_cb cb;
	void *arg;
	struct httpd_models_wait *next;
};

struct httpd_models {
	struct httpd *h;
	struct prov_model_list *list; /* NULL until fetched */
	int64_t fetched; /* ms, monotonic */
	struct prov_req *req; /* fetch in flight */
	struct loop_timer *timer; /* answers from the cache */
	struct httpd_models_wait *waits;
	enum llm_err err; /* of the last fetch */
	char *msg;
	bool closing;
	bool cached; /* the answer being handed out came from the cache */
	json_t *ctx; /* model -> [context length, when learnt (ms)] */
};

static struct httpd_models *
httpd_models_of(struct httpd *h)
{
	struct httpd_models **slot = httpd_models_slot(h);

	if (*slot == NULL) {
		*slot = xcalloc(1, sizeof **slot);
		(*slot)->h = h;
	}
	return *slot;
}

/* Answer every waiter, those that join while we do included. */
static void
httpd_models_deliver(struct httpd_models *m)
{
	struct httpd_models_wait *w;

	while ((w = m->waits) != NULL) {
		m->waits = w->next;
		w->cb(m->err, m->msg, m->err == LLM_OK ? m->list : NULL, w->arg);
		free(w);
	}
}

static void
httpd_models_timer(void *arg)
{
	struct httpd_models *m = arg;

	m->timer = NULL;
	m->cached = true;
	httpd_models_deliver(m);
}

static void
httpd_models_fetched(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct httpd_models *m = arg;

	m->req = NULL;
	m->cached = false;
	if (m->closing) {
		prov_model_list_free(l);
		return;
	}
	m->err = err;
	free(m->msg);
	m->msg = msg != NULL ? xstrdup(msg) : NULL;
	if (err == LLM_OK && l != NULL) {
		prov_model_list_free(m->list);
		m->list = l;
		m->fetched = util_now_ms();
	} else {
		prov_model_list_free(l);
		if (m->err == LLM_OK) {
			m->err = LLM_ERR_BACKEND;
			m->msg = xstrdup("the backend sent no model list");
		}
	}
	httpd_models_deliver(m);
}

struct httpd_models_wait *
httpd_models_get_list(struct httpd *h, httpd_models_cb cb, void *arg)
{
	struct httpd_models *m = httpd_models_of(h);
	struct httpd_models_wait *w = xcalloc(1, sizeof *w), **pp;
	struct app *a = httpd_app(h);

	w->cb = cb;
	w->arg = arg;
	for (pp = &m->waits; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	if (m->req != NULL)
		return w;
	if (m->list != NULL && util_now_ms() - m->fetched < HTTPD_MODELS_TTL_MS) {
		m->err = LLM_OK;
	} else if (a->prov == NULL) {
		m->err = LLM_ERR_CONNECT;
		free(m->msg);
		m->msg = xstrdup("no backend is connected yet");
	} else {
		m->req = a->prov->ops->list(a->prov, httpd_models_fetched, m);
		return w;
	}
	if (m->timer == NULL)
		m->timer = loop_timer_add(a->loop, 0, httpd_models_timer, m);
	return w;
}

void
httpd_models_cancel(struct httpd *h, struct httpd_models_wait *w)
{
	struct httpd_models *m = *httpd_models_slot(h);
	struct httpd_models_wait **pp;

	if (m == NULL || w == NULL)
		return;
	for (pp = &m->waits; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			free(w);
			return;
		}
	}
}

bool
httpd_models_cached(struct httpd *h)
{
	return httpd_models_of(h)->cached;
}

void
httpd_models_forget(struct httpd *h)
{
	struct httpd_models *m = httpd_models_of(h);

	m->fetched = util_now_ms() - HTTPD_MODELS_TTL_MS;
}

void
httpd_models_free(struct httpd *h)
{
	struct httpd_models *m = *httpd_models_slot(h);
	struct httpd_models_wait *w;

	if (m == NULL)
		return;
	m->closing = true;
	if (m->req != NULL)
		prov_cancel(m->req);
	loop_timer_cancel(httpd_app(h)->loop, m->timer);
	while ((w = m->waits) != NULL) {
		m->waits = w->next;
		free(w);
	}
	prov_model_list_free(m->list);
	json_decref(m->ctx);
	free(m->msg);
	free(m);
	*httpd_models_slot(h) = NULL;
}

int64_t
httpd_models_context(struct httpd *h, const char *model)
{
	struct httpd_models *m = httpd_models_of(h);
	json_t *e = json_object_get(m->ctx, model != NULL ? model : "");

	if (e == NULL || util_now_ms() - json_integer_value(json_array_get(e, 1)) > HTTPD_MODELS_CTX_TTL_MS)
		return 0;
	return json_integer_value(json_array_get(e, 0));
}

void
httpd_models_learn_context(struct httpd *h, const char *model, int64_t len)
{
	struct httpd_models *m = httpd_models_of(h);

	if (model == NULL || len == 0)
		return;
	if (m->ctx == NULL || json_object_size(m->ctx) >= HTTPD_MODELS_CTX_MAX) {
		json_decref(m->ctx);
		m->ctx = json_object();
	}
	json_object_set_new(m->ctx, model, json_pack("[I, I]", (json_int_t)len, (json_int_t)util_now_ms()));
}

char *
httpd_models_default(struct httpd *h, const struct prov_model_list *l)
{
	const struct config *cfg = httpd_app(h)->cfg;

	if (cfg->model != NULL && cfg->model[0] != '\0')
		return xstrdup(cfg->model);
	if (l == NULL || l->n == 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].loaded == 1)
			return xstrdup(l->v[i].name);
	return xstrdup(l->v[0].name);
}

/* ---- /v1/models ---- */

static int64_t
httpd_models_time(const char *rfc3339)
{
	struct tm tm = { 0 };

	if (rfc3339 == NULL || strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

static json_t *
httpd_models_entry(const struct prov *p, const struct prov_model *m)
{
	const char *slash = strchr(m->name, '/');
	char *owner = slash != NULL ? xstrndup(m->name, (size_t)(slash - m->name)) : NULL;
	json_t *o;

	o = json_pack("{s:s, s:s, s:I, s:s}", "id", m->name, "object", "model", "created",
	    (json_int_t)httpd_models_time(m->modified), "owned_by",
	    owner != NULL ? owner : (strcmp(p->kind, "ollama") == 0 ? "library" : p->kind));
	free(owner);
	return o;
}

/* A backend failure as an answer: unreachable is 503, the rest 502. */
static void
httpd_models_backend_fail(struct httpd_req *r, enum llm_err err, const char *msg)
{
	httpd_fail(r, err == LLM_ERR_CONNECT ? 503 : 502, "server_error", NULL,
	    err == LLM_ERR_CONNECT ? "backend_unavailable" : "backend_error", "%s", msg ? msg : "backend failed");
}

struct httpd_models_call {
	struct httpd_req *r;
	struct httpd_models_wait *w;
};

static void
httpd_models_release(void *state, bool aborted)
{
	struct httpd_models_call *c = state;

	(void)aborted;
	if (c->w != NULL)
		httpd_models_cancel(httpd_req_httpd(c->r), c->w);
	free(c);
}

/* Start a list fetch for r; cb answers it. */
static void
httpd_models_ask(struct httpd_req *r, httpd_models_cb cb)
{
	struct httpd_models_call *c = xcalloc(1, sizeof *c);

	c->r = r;
	httpd_req_state(r, c, httpd_models_release);
	c->w = httpd_models_get_list(httpd_req_httpd(r), cb, c);
}

static void
httpd_models_list_cb(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_models_call *c = arg;
	const struct prov *p = httpd_req_app(c->r)->prov;
	json_t *data;

	c->w = NULL;
	if (err != LLM_OK) {
		httpd_models_backend_fail(c->r, err, msg);
		return;
	}
	data = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(data, httpd_models_entry(p, &l->v[i]));
	httpd_reply(c->r, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

void
httpd_models_list(struct httpd_req *r)
{
	httpd_models_ask(r, httpd_models_list_cb);
}

bool
httpd_models_same(const char *name, const char *want)
{
	size_t n = strlen(want);

	/* Ollama's rule: "llama3.2" is "llama3.2:latest" */
	return strcmp(name, want) == 0 || (strncmp(name, want, n) == 0 && strcmp(name + n, ":latest") == 0);
}

bool
httpd_models_has(const struct prov_model_list *l, const char *want)
{
	for (size_t i = 0; l != NULL && want != NULL && i < l->n; i++)
		if (httpd_models_same(l->v[i].name, want))
			return true;
	return false;
}

static void
httpd_models_get_cb(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_models_call *c = arg;
	const char *want = httpd_req_arg(c->r);

	c->w = NULL;
	if (err != LLM_OK) {
		httpd_models_backend_fail(c->r, err, msg);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (httpd_models_same(l->v[i].name, want)) {
			json_t *o = httpd_models_entry(httpd_req_app(c->r)->prov, &l->v[i]);

			json_object_set_new(o, "id", json_string(want));
			httpd_reply(c->r, 200, o);
			return;
		}
	}
	httpd_fail(c->r, 404, "invalid_request_error", "model", "model_not_found",
	    "The model `%s` does not exist or you do not have access to it.", want);
}

void
httpd_models_get(struct httpd_req *r)
{
	httpd_models_ask(r, httpd_models_get_cb);
}

/* ---- / ---- */

void
httpd_models_info(struct httpd_req *r)
{
	httpd_reply(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "service", "parley", "version", PARLEY_VERSION, "docs", "/openapi.json", "health", "/health"));
}

/* ---- /health ---- */

static void
httpd_models_health_cb(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg)
{
	struct httpd_models_call *c = arg;
	struct app *a = httpd_req_app(c->r);
	char *model = NULL;
	json_t *backend;

	c->w = NULL;
	backend = json_pack("{s:s?, s:s?}", "provider", a->prov ? a->prov->kind : NULL, "url",
	    a->prov ? a->prov->base_url : NULL);
	json_object_set_new(backend, "session_store", json_boolean(a->store != NULL));
	if (err != LLM_OK) {
		httpd_reply(c->r, 503, json_pack("{s:s, s:b, s:o, s:[s]}", "status", "unhealthy", "model_loaded", 0, "backend", backend, "reasons", msg ? msg : "backend failed"));
		return;
	}
	model = httpd_models_default(httpd_req_httpd(c->r), l);
	json_object_set_new(backend, "models", json_integer((json_int_t)l->n));
	json_object_set_new(backend, "model", model ? json_string(model) : json_null());
	if (model == NULL)
		httpd_reply(c->r, 503, json_pack("{s:s, s:b, s:o, s:[s]}", "status", "unhealthy", "model_loaded", 0, "backend", backend, "reasons", "the backend offers no models"));
	else
		httpd_reply(c->r, 200, json_pack("{s:s, s:b, s:o}", "status", "healthy", "model_loaded", 1, "backend", backend));
	free(model);
}

void
httpd_models_health(struct httpd_req *r)
{
	httpd_models_ask(r, httpd_models_health_cb);
}

/* ---- /openapi.json ---- */

/* Request body schemas by path; the rest is generated from the table. */
static const struct {
	const char *path;
	const char *schema;
} httpd_models_bodies[] = {
	{ "/v1/chat/completions", "{\"type\":\"object\",\"required\":[\"model\",\"messages\"],\"properties\":{"
	                          "\"model\":{\"type\":\"string\"},\"messages\":{\"type\":\"array\",\"minItems\":1,"
	                          "\"items\":{\"type\":\"object\",\"required\":[\"role\"],\"properties\":{"
	                          "\"role\":{\"enum\":[\"system\",\"developer\",\"user\",\"assistant\",\"tool\"]},"
	                          "\"content\":{},\"tool_calls\":{\"type\":\"array\"},\"tool_call_id\":{\"type\":\"string\"}}}},"
	                          "\"stream\":{\"type\":\"boolean\"},\"stream_options\":{\"type\":\"object\",\"properties\":"
	                          "{\"include_usage\":{\"type\":\"boolean\"}}},\"temperature\":{\"type\":\"number\"},"
	                          "\"top_p\":{\"type\":\"number\"},\"max_tokens\":{\"type\":\"integer\"},"
	                          "\"max_completion_tokens\":{\"type\":\"integer\"},\"stop\":{},\"seed\":{\"type\":\"integer\"},"
	                          "\"response_format\":{\"type\":\"object\"},\"tools\":{\"type\":\"array\"},"
	                          "\"tool_choice\":{\"oneOf\":[{\"enum\":[\"none\",\"auto\",\"required\"]},"
	                          "{\"type\":\"object\",\"required\":[\"type\",\"function\"]}]},"
	                          "\"reasoning_effort\":{\"type\":\"string\"},\"session_id\":{\"type\":\"string\"}}}" },
	{ "/v1/sessions/*", "{\"type\":\"object\",\"required\":[\"title\"],\"properties\":{\"title\":{\"type\":\"string\"}}}" },
	{ "/chat", "{\"type\":\"object\",\"required\":[\"message\"],\"properties\":{\"message\":{\"type\":\"string\"},"
	           "\"session_id\":{\"type\":\"string\"},\"temperature\":{\"type\":\"number\"},"
	           "\"max_tokens\":{\"type\":\"integer\"},\"top_p\":{\"type\":\"number\"},\"model\":{\"type\":\"string\"}}}" },
	{ "/chat/stream", "{\"$ref\":\"#/components/schemas/chat\"}" },
	{ "/chat/clear", "{\"type\":\"object\",\"required\":[\"session_id\"],\"properties\":{\"session_id\":{\"type\":\"string\"}}}" },
	{ "/api/show", "{\"type\":\"object\",\"properties\":{\"model\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	               "\"verbose\":{\"type\":\"boolean\"}}}" },
	{ "/api/chat", "{\"type\":\"object\",\"required\":[\"model\"],\"properties\":{\"model\":{\"type\":\"string\"},"
	               "\"messages\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"role\"],\"properties\":{"
	               "\"role\":{\"enum\":[\"system\",\"user\",\"assistant\",\"tool\"]},\"content\":{\"type\":\"string\"},"
	               "\"images\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"thinking\":{\"type\":\"string\"},"
	               "\"tool_calls\":{\"type\":\"array\"},\"tool_name\":{\"type\":\"string\"}}}},"
	               "\"stream\":{\"type\":\"boolean\"},\"format\":{},\"options\":{\"type\":\"object\"},\"keep_alive\":{},"
	               "\"think\":{},\"tools\":{\"type\":\"array\"}}}" },
	{ "/api/generate", "{\"type\":\"object\",\"required\":[\"model\"],\"properties\":{\"model\":{\"type\":\"string\"},"
	                   "\"prompt\":{\"type\":\"string\"},\"system\":{\"type\":\"string\"},"
	                   "\"images\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"stream\":{\"type\":\"boolean\"},"
	                   "\"format\":{},\"options\":{\"type\":\"object\"},\"keep_alive\":{},\"think\":{}}}" },
	{ "/api/embed", "{\"type\":\"object\",\"required\":[\"model\",\"input\"],\"properties\":{\"model\":{\"type\":\"string\"},"
	                "\"input\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"string\"}}]},"
	                "\"truncate\":{\"type\":\"boolean\"},\"dimensions\":{\"type\":\"integer\"},"
	                "\"options\":{\"type\":\"object\"},\"keep_alive\":{}}}" },
	{ "/api/embeddings", "{\"type\":\"object\",\"required\":[\"model\",\"prompt\"],\"properties\":{\"model\":{\"type\":\"string\"},"
	                     "\"prompt\":{\"type\":\"string\"}}}" },
	{ "/api/pull", "{\"type\":\"object\",\"properties\":{\"model\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	               "\"insecure\":{\"type\":\"boolean\"},\"stream\":{\"type\":\"boolean\"}}}" },
};

static json_t *
httpd_models_body_schema(const char *path)
{
	for (size_t i = 0; i < sizeof httpd_models_bodies / sizeof httpd_models_bodies[0]; i++)
		if (strcmp(httpd_models_bodies[i].path, path) == 0)
			return json_loads(httpd_models_bodies[i].schema, 0, NULL);
	return json_object();
}

void
httpd_models_openapi(struct httpd_req *r)
{
	size_t n;
	const struct httpd_route *t = httpd_routes(&n);
	json_t *paths = json_object(), *doc;

	for (size_t i = 0; i < n; i++) {
		struct buf p = { 0 };
		size_t len = strlen(t[i].path);
		bool arg = len > 0 && t[i].path[len - 1] == '*';
		const char *pname = strstr(t[i].path, "models") ? "model" : "id";
		char *method = xstrdup(t[i].method);
		json_t *item, *op, *resp;

		buf_append(&p, t[i].path, arg ? len - 1 : len);
		if (arg)
			buf_printf(&p, "{%s}", pname);
		if ((item = json_object_get(paths, p.data)) == NULL) {
			item = json_object();
			json_object_set_new(paths, p.data, item);
		}
		for (char *m = method; *m != '\0'; m++)
			*m = (char)(*m - 'A' + 'a');
		resp = json_pack("{s:{s:s}}", "200", "description",
		    strcmp(t[i].path, "/chat/stream") == 0 || strcmp(t[i].path, "/v1/chat/completions") == 0
		        ? "JSON, or text/event-stream when streaming"
		        : (t[i].flags & HTTPD_OLLAMA) && (t[i].flags & HTTPD_BODY) && strstr(t[i].path, "embed") == NULL &&
		            strcmp(t[i].path, "/api/show") != 0
		        ? "application/x-ndjson (one JSON object a line), or JSON when stream is false"
		        : "JSON");
		json_object_set_new(resp, "default", json_pack("{s:s}", "description", (t[i].flags & HTTPD_DETAIL) ? "error: {\"detail\": message}" : (t[i].flags & HTTPD_OLLAMA) ? "error: {\"error\": message}"
		                                                                                                                                                                  : "error: OpenAI error object"));
		op = json_pack("{s:s, s:o}", "summary", t[i].summary, "responses", resp);
		if (arg)
			json_object_set_new(op, "parameters", json_pack("[{s:s, s:s, s:b, s:{s:s}}]", "name", pname, "in", "path", "required", 1, "schema", "type", "string"));
		if (t[i].flags & HTTPD_BODY)
			json_object_set_new(op, "requestBody", json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema", httpd_models_body_schema(t[i].path)));
		if (t[i].flags & HTTPD_NOAUTH)
			json_object_set_new(op, "security", json_array());
		json_object_set_new(item, method, op);
		free(method);
		buf_free(&p);
	}
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}}, s:{s:o}}, s:[{s:[]}]}",
	    "openapi", "3.1.0",
	    "info", "title", "parley listener", "version", PARLEY_VERSION, "description",
	    "OpenAI-compatible chat completions, and Ollama's native API, over parley's session store",
	    "paths", paths,
	    "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
	    "schemas", "chat", httpd_models_body_schema("/chat"),
	    "security", "bearer");
	httpd_reply(r, 200, doc);
}
