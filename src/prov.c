/*
 * prov.c: what every provider shares: picking the implementation for a
 * provider kind, the HTTP exchange that the implementations build on, and
 * the translation of transport failures into messages a user can act on.
 *
 * A struct prov_req wraps one net request. Streamed bytes of a successful
 * response go straight to the provider's on_bytes; an error response is
 * collected (up to a cap) so its JSON error can be decoded.
 *
 * A streamed reply is over at its last event (Ollama's "done" line, SSE's
 * [DONE]), a few bytes before the body ends. Stopping the transfer there
 * would make curl close the connection, and every request would pay for a
 * new one (and the server for a new thread or task); instead the request
 * drains: the rest of the body is read and dropped, within a byte and a
 * time limit, and curl keeps the connection for the next request.
 */
#include "prov.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define PROV_BODY_CAP (64u << 20)
#define PROV_DRAIN_CAP (64u << 10) /* body bytes after the last event */
#define PROV_DRAIN_MS 2000

struct prov_req {
	struct prov *p;
	struct net_req *nr;
	struct prov_http cbs;
	void *arg;
	long status;
	bool collect; /* accumulate the body (error or no on_bytes) */
	bool too_big;
	struct buf body;
	bool draining; /* on_bytes said PROV_DONE */
	size_t drained;
	struct loop_timer *drain_timer;
	bool again; /* on_end sent a follow-up under this handle */
	void (*vcancel)(void *arg); /* a virtual request's (prov_req_virtual) */
};

const char *
prov_default_url(const char *kind)
{
	if (util_streq(kind, "lm-studio"))
		return "http://127.0.0.1:1234";
	if (util_streq(kind, "openai"))
		return "http://127.0.0.1:8080";
	return "http://127.0.0.1:11434";
}

struct prov *
prov_new(const char *kind, const char *base_url, const char *api_key, struct net *net,
    struct loop *loop, char **cause)
{
	struct prov *p;
	const struct prov_ops *ops;

	if (kind == NULL || strcmp(kind, "ollama") == 0)
		ops = &prov_ollama_ops;
	else if (strcmp(kind, "lm-studio") == 0 || strcmp(kind, "openai") == 0)
		ops = &prov_openai_ops;
	else {
		util_fail(cause, "unknown provider '%s'", kind);
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->ops = ops;
	p->kind = xstrdup(kind ? kind : "ollama");
	p->base_url = xstrdup(base_url ? base_url : prov_default_url(p->kind));
	p->api_key = api_key != NULL && api_key[0] != '\0' ? xstrdup(api_key) : NULL;
	p->net = net;
	p->loop = loop;
	return p;
}

void
prov_free(struct prov *p)
{
	if (p == NULL)
		return;
	if (p->destroy != NULL)
		p->destroy(p);
	free(p->kind);
	free(p->base_url);
	free(p->api_key);
	free(p);
}

void
prov_model_clear(struct prov_model *m)
{
	free(m->name);
	free(m->family);
	free(m->params);
	free(m->quant);
	free(m->format);
	free(m->modified);
	free(m->expires);
	json_decref(m->capabilities);
	free(m->backend);
	memset(m, 0, sizeof *m);
}

void
prov_model_list_free(struct prov_model_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		prov_model_clear(&l->v[i]);
	free(l->v);
	free(l);
}

static const char *
prov_display_name(const struct prov *p)
{
	if (strcmp(p->kind, "lm-studio") == 0)
		return "LM Studio";
	if (strcmp(p->kind, "openai") == 0)
		return "the OpenAI-compatible server";
	return "Ollama";
}

static const char *
prov_start_hint(const struct prov *p)
{
	if (strcmp(p->kind, "lm-studio") == 0)
		return "start the server in LM Studio's Developer tab or run 'lms server start'";
	if (strcmp(p->kind, "openai") == 0)
		return "start it (for llama.cpp: 'llama-server -m MODEL.gguf --port 8080') or point --base-url at it";
	return "run 'ollama serve' to start it";
}

enum llm_err
prov_net_error(const struct prov *p, enum net_result res, const char *netmsg, char **msg)
{
	const char *who = prov_display_name(p);

	switch (res) {
	case NET_OK:
		*msg = NULL;
		return LLM_OK;
	case NET_REFUSED:
		*msg = xasprintf("could not connect to %s at %s (%s); %s", who, p->base_url,
		    netmsg ? netmsg : "connection refused", prov_start_hint(p));
		return LLM_ERR_CONNECT;
	case NET_TIMEOUT:
		*msg = xasprintf("%s at %s did not answer in time (%s); raise --read-timeout for slow model loads",
		    who, p->base_url, netmsg ? netmsg : "timeout");
		return LLM_ERR_BACKEND;
	case NET_DROPPED:
		*msg = xasprintf("the connection to %s at %s dropped before the reply was complete (%s)",
		    who, p->base_url, netmsg ? netmsg : "connection closed");
		return LLM_ERR_BACKEND;
	case NET_CANCELLED:
		*msg = xstrdup("interrupted");
		return LLM_ERR_CANCELLED;
	case NET_FAILED:
		break;
	}
	*msg = xasprintf("request to %s at %s failed: %s", who, p->base_url, netmsg ? netmsg : "unknown error");
	return LLM_ERR_BACKEND;
}

char *
prov_not_found_msg(const struct prov *p, const char *model)
{
	if (strcmp(p->kind, "ollama") == 0)
		return xasprintf("model '%s' not found at %s; pull it with `parley pull %s` (or list models with `parley models`)",
		    model, p->base_url, model);
	if (strcmp(p->kind, "lm-studio") == 0)
		return xasprintf("model '%s' is not available in LM Studio at %s; download or load it in LM Studio ('lms get %s', 'lms load %s') and check `parley models`",
		    model, p->base_url, model, model);
	return xasprintf("model '%s' not found at %s; see `parley models` for what the server offers", model, p->base_url);
}

void
prov_sink_event(const struct llm_ev *ev, void *arg)
{
	struct prov_sink *s = arg;

	if (s->finished)
		return;
	if (ev->type == LLM_EV_DONE || ev->type == LLM_EV_ERROR)
		s->finished = true;
	if (ev->type == LLM_EV_DONE)
		s->done = true;
	s->cb(ev, s->arg);
}

int
prov_sink_bytes(const struct prov_sink *s)
{
	if (!s->finished)
		return PROV_MORE;
	/* after an error the stream may be anything: drop the connection */
	return s->done ? PROV_DONE : PROV_STOP;
}

void
prov_sink_error(struct prov_sink *s, enum llm_err err, const char *msg)
{
	llm_emit_error(prov_sink_event, s, err, msg, strlen(msg));
}

char *
prov_body_excerpt(const char *body, size_t len)
{
	size_t n = util_utf8_complete(body, len > 200 ? 200 : len);

	return n > 0 && util_utf8_valid(body, n) ? xstrndup(body, n) : xstrdup("no details");
}

static void
prov_http_status(long status, const char *ctype, void *arg)
{
	struct prov_req *r = arg;

	(void)ctype;
	r->status = status;
	r->collect = status >= 400 || r->cbs.on_bytes == NULL;
}

/* The body did not end soon after the reply: give the connection up. */
static void
prov_drain_timeout(void *arg)
{
	struct prov_req *r = arg;

	r->drain_timer = NULL;
	net_cancel(r->nr); /* prov_http_done runs and frees r */
}

static int
prov_http_data(const char *data, size_t len, void *arg)
{
	struct prov_req *r = arg;
	int rc;

	if (r->draining) {
		r->drained += len;
		return r->drained > PROV_DRAIN_CAP;
	}
	if (!r->collect) {
		rc = r->cbs.on_bytes(r, data, len, r->arg);
		if (rc == PROV_DONE) {
			r->draining = true;
			r->drain_timer = loop_timer_add(r->p->loop, PROV_DRAIN_MS, prov_drain_timeout, r);
			return 0;
		}
		return rc != PROV_MORE;
	}
	if (r->body.len + len > PROV_BODY_CAP) {
		r->too_big = true;
		return 1;
	}
	buf_append(&r->body, data, len);
	return 0;
}

static void
prov_http_done(enum net_result res, long status, const char *netmsg, void *arg)
{
	struct prov_req *r = arg;
	struct buf body = r->body; /* on_end may start a follow-up on r */
	char *msg = NULL;
	enum llm_err err;

	loop_timer_cancel(r->p->loop, r->drain_timer);
	r->drain_timer = NULL;
	if (r->too_big) {
		err = LLM_ERR_BACKEND;
		msg = xasprintf("the response from %s is larger than %u MiB", r->p->base_url, PROV_BODY_CAP >> 20);
	} else if (res == NET_CANCELLED && r->status >= 400) {
		/* we stopped reading an error body early: report the status */
		err = LLM_OK;
	} else if (res == NET_TIMEOUT && r->cbs.read_timeout_ms > 0) {
		/* a ping: a backend that cannot answer it is as good as absent */
		err = LLM_ERR_CONNECT;
		msg = xasprintf("%s at %s accepted the connection but sent nothing for %ld s; is it wedged?",
		    prov_display_name(r->p), r->p->base_url, (r->cbs.read_timeout_ms + 999) / 1000);
	} else
		err = prov_net_error(r->p, res, netmsg, &msg);
	if (r->status == 0)
		r->status = status;
	memset(&r->body, 0, sizeof r->body);
	r->again = false;
	r->cbs.on_end(r, err, msg, r->status, body.data ? body.data : "", body.len, r->arg);
	free(msg);
	buf_free(&body);
	if (!r->again)
		free(r);
}

/* Start the HTTP exchange of r, which holds its callbacks. */
static void
prov_http_send(struct prov_req *r, const char *method, const char *path, json_t *body)
{
	static const struct net_cbs ncbs = { prov_http_status, NULL, prov_http_data, prov_http_done };
	struct net_opts o = { 0 };
	char *url = xasprintf("%s%s", r->p->base_url, path);
	char *text = NULL;

	r->status = 0;
	r->collect = r->cbs.on_bytes == NULL;
	r->too_big = false;
	r->draining = false;
	r->drained = 0;
	o.method = method;
	o.url = url;
	o.bearer = r->p->api_key;
	o.read_timeout_ms = r->cbs.read_timeout_ms;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		o.body = text;
		o.body_len = strlen(text);
		json_decref(body);
	}
	r->nr = net_start(r->p->net, &o, &ncbs, r);
	free(text);
	free(url);
}

struct prov_req *
prov_http(struct prov *p, const char *method, const char *path, json_t *body,
    const struct prov_http *cbs, void *arg)
{
	struct prov_req *r = xcalloc(1, sizeof *r);

	r->p = p;
	r->cbs = *cbs;
	r->arg = arg;
	prov_http_send(r, method, path, body);
	return r;
}

void
prov_http_again(struct prov_req *r, const char *method, const char *path, json_t *body,
    const struct prov_http *cbs)
{
	if (cbs != NULL)
		r->cbs = *cbs;
	r->again = true;
	prov_http_send(r, method, path, body);
}

void
prov_cancel(struct prov_req *r)
{
	if (r == NULL)
		return;
	if (r->vcancel != NULL)
		r->vcancel(r->arg);
	else
		net_cancel(r->nr);
}

struct prov_req *
prov_req_virtual(struct prov *p, void (*cancel)(void *arg), void *arg)
{
	struct prov_req *r = xcalloc(1, sizeof *r);

	r->p = p;
	r->vcancel = cancel;
	r->arg = arg;
	return r;
}

void
prov_req_virtual_free(struct prov_req *r)
{
	free(r);
}
