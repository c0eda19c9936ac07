/*
 * mcp_http.c: an MCP server over Streamable HTTP (mcp.md 3). Every message
 * parley sends is a POST of its own (struct mcp_http_post); the answer is
 * 202 for a notification or response, else one JSON object or a stream of
 * server-sent events carrying progress, server requests and at last the
 * response. Once initialised, a GET stream (when the server offers one)
 * brings what is not tied to a request, such as tools/list_changed; it is
 * opened again after a drop, honouring retry: and Last-Event-ID.
 *
 * A request's own event stream may end before its answer (the server
 * closes it to free the connection, or the network drops it). If it gave
 * events an id, the answer is asked for again as the spec says: a GET with
 * Last-Event-ID after the stream's retry: time (struct mcp_http_resume),
 * and so on while the server keeps closing early; with no id to resume
 * from, the request fails at once rather than waiting for its timeout.
 *
 * The server's Mcp-Session-Id is sent back on every request, with
 * MCP-Protocol-Version. A 404 for a request that carried the session (or
 * the 400 "No valid session ID" some servers give instead) means the
 * session is gone: the id is dropped and mcp.c is told, which initialises
 * afresh and sends again what was waiting. An HTTP failure of a request
 * comes up as a JSON-RPC error response to that request's id, so mcp.c
 * sees one kind of failure whatever the transport.
 *
 * Messages wait in an inbox and go up from a zero-delay timer: what mcp.c
 * does with one often sends another, and libcurl refuses a new transfer
 * from inside its own write callback.
 */
#include "mcp_transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "net.h"
#include "sse.h"
#include "util.h"

#define MCP_HTTP_BODY_MAX (64u << 20)
#define MCP_HTTP_GET_RETRIES 5

struct mcp_http_post;
struct mcp_http_resume;

struct mcp_transport {
	struct app *a;
	const struct mcp_transport_cbs *cbs;
	void *arg;
	char *url;
	char **headers; /* from the entry, "Name: value" */
	size_t nheaders;
	char *session;
	char *version;
	struct mcp_http_post *posts;
	struct mcp_http_post *get; /* the server-to-client stream */
	struct loop_timer *get_timer;
	char *last_event;
	int get_tries;
	struct mcp_http_resume *resumes; /* waiting for their retry: time */
	json_t *inbox; /* message texts not yet handed up */
	struct loop_timer *inbox_timer;
	bool gone;
};

struct mcp_http_post {
	struct mcp_transport *t;
	struct net_req *req;
	json_t *id; /* of the request sent, NULL for a notification or response */
	bool is_get, is_delete, sent_session;
	bool is_resume; /* a GET asking again for id's answer */
	bool answered; /* id's answer came on this stream */
	char *last_id; /* the last event id of this request's stream */
	int tries; /* resume: how many GETs so far */
	long status;
	bool sse;
	struct sse *parser;
	struct buf body;
	char *session; /* the Mcp-Session-Id it came back with */
	struct mcp_http_post *next;
};

struct mcp_http_resume {
	struct mcp_transport *t;
	json_t *id;
	char *last_id;
	int tries;
	struct loop_timer *timer;
	struct mcp_http_resume *next;
};

static void mcp_http_open_get(struct mcp_transport *t);
static struct mcp_http_post *mcp_http_request(struct mcp_transport *t, const char *method, const char *body,
    size_t len, const char *last_id);

static void
mcp_http_deliver(void *arg)
{
	struct mcp_transport *t = arg;

	t->inbox_timer = NULL;
	while (!t->gone && json_array_size(t->inbox) > 0) {
		json_t *m = json_incref(json_array_get(t->inbox, 0));

		json_array_remove(t->inbox, 0);
		t->cbs->message(json_string_value(m), json_string_length(m), t->arg);
		json_decref(m);
	}
}

static void
mcp_http_post_up(struct mcp_transport *t, const char *data, size_t len)
{
	json_t *s = json_stringn_nocheck(data, len);

	if (t->gone || s == NULL)
		return;
	json_array_append_new(t->inbox, s);
	if (t->inbox_timer == NULL)
		t->inbox_timer = loop_timer_add(t->a->loop, 0, mcp_http_deliver, t);
}

/* A request's failure, as the JSON-RPC error response the server did not
 * send. */
static void
mcp_http_fail_id(struct mcp_transport *t, json_t *id, const char *fmt, ...) PRINTFLIKE(3, 4);

static void
mcp_http_fail_id(struct mcp_transport *t, json_t *id, const char *fmt, ...)
{
	json_t *o;
	char *msg, *text;
	va_list ap;

	if (id == NULL || t->gone)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", -32000, "message", msg);
	text = json_dumps(o, JSON_COMPACT);
	mcp_http_post_up(t, text, strlen(text));
	free(text);
	json_decref(o);
	free(msg);
}

static void
mcp_http_unlink(struct mcp_http_post *p)
{
	struct mcp_http_post **pp;

	for (pp = &p->t->posts; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->t->get == p)
		p->t->get = NULL;
}

static void
mcp_http_post_free(struct mcp_http_post *p)
{
	json_decref(p->id);
	free(p->last_id);
	sse_free(p->parser);
	buf_free(&p->body);
	free(p->session);
	free(p);
}

static int
mcp_http_event(const struct sse_event *ev, void *arg)
{
	struct mcp_http_post *p = arg;
	struct mcp_transport *t = p->t;

	/* the standing GET stream resumes from t->last_event; a request's
	 * stream (and a GET resuming it) from its own */
	if (ev->id != NULL && ev->id[0] != '\0') {
		char **last = p->is_get && !p->is_resume ? &t->last_event : &p->last_id;

		free(*last);
		*last = xstrdup(ev->id);
	}
	/* a priming event has an id and no data */
	if (ev->data_len == 0 || t->gone)
		return 0;
	if (p->id != NULL && !p->answered) {
		json_t *m = json_loadb(ev->data, ev->data_len, 0, NULL);

		p->answered = json_equal(json_object_get(m, "id"), p->id) &&
		    (json_object_get(m, "result") != NULL || json_object_get(m, "error") != NULL);
		json_decref(m);
	}
	mcp_http_post_up(t, ev->data, ev->data_len);
	return 0;
}

static void
mcp_http_header(const char *name, const char *value, void *arg)
{
	struct mcp_http_post *p = arg;

	if (strcasecmp(name, "Mcp-Session-Id") == 0 && value[0] != '\0') {
		free(p->session);
		p->session = xstrdup(value);
	}
}

static void
mcp_http_status(long status, const char *ctype, void *arg)
{
	struct mcp_http_post *p = arg;

	p->status = status;
	p->sse = strncasecmp(ctype, "text/event-stream", 17) == 0;
	if (p->sse)
		p->parser = sse_new(SSE_DEFAULT_CAP);
	if (p->session != NULL && status / 100 == 2 && !util_streq(p->session, p->t->session)) {
		free(p->t->session);
		p->t->session = xstrdup(p->session);
	}
}

static int
mcp_http_data(const char *data, size_t len, void *arg)
{
	struct mcp_http_post *p = arg;

	if (p->status == 200 && p->sse)
		return sse_feed(p->parser, data, len, mcp_http_event, p) != 0;
	if (p->body.len + len > MCP_HTTP_BODY_MAX)
		return 1;
	buf_append(&p->body, data, len);
	return 0;
}

static bool
mcp_http_session_gone(struct mcp_http_post *p)
{
	if (!p->sent_session)
		return false;
	if (p->status == 404)
		return true;
	/* some servers say 400 "No valid session ID provided" instead */
	return p->status == 400 && p->body.data != NULL && strcasestr(p->body.data, "session") != NULL;
}

static void
mcp_http_get_again(void *arg)
{
	struct mcp_transport *t = arg;

	t->get_timer = NULL;
	mcp_http_open_get(t);
}

static void
mcp_http_get_done(struct mcp_http_post *p, enum net_result res)
{
	struct mcp_transport *t = p->t;
	int64_t wait;

	if (t->gone || res == NET_CANCELLED)
		return;
	/* 405: the server has no such stream; other refusals: do without */
	if (p->status != 200 && res == NET_OK) {
		if (p->status != 405)
			t->cbs->log(p->status == 409 ? "the server refused a second event stream (409)"
			                             : "the server refused its event stream",
			    t->arg);
		return;
	}
	if (++t->get_tries > MCP_HTTP_GET_RETRIES) {
		t->cbs->log("the event stream keeps dropping; going on without it", t->arg);
		return;
	}
	wait = p->parser != NULL && sse_retry_ms(p->parser) >= 0 ? sse_retry_ms(p->parser) : 1000;
	t->get_timer = loop_timer_add(t->a->loop, wait, mcp_http_get_again, t);
}

static void
mcp_http_resume_go(void *arg)
{
	struct mcp_http_resume *r = arg, **pp;
	struct mcp_http_post *p;

	for (pp = &r->t->resumes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	p = mcp_http_request(r->t, "GET", NULL, 0, r->last_id);
	p->is_get = p->is_resume = true;
	p->id = r->id;
	p->tries = r->tries;
	p->last_id = r->last_id;
	free(r);
}

/* The stream of p (a request's, or a GET resuming it) ended before p's
 * answer: ask again from its last event id after its retry: time, or fail
 * the request when there is nothing to resume from. */
static void
mcp_http_resume(struct mcp_http_post *p, const char *why)
{
	struct mcp_transport *t = p->t;
	struct mcp_http_resume *r;
	int64_t wait;

	if (p->last_id == NULL) {
		mcp_http_fail_id(t, p->id, "%s: %s before the answer, with no event id to resume from", t->url, why);
		return;
	}
	if (p->tries >= MCP_HTTP_GET_RETRIES) {
		mcp_http_fail_id(t, p->id, "%s: %s before the answer, %d times", t->url, why, p->tries + 1);
		return;
	}
	wait = p->parser != NULL && sse_retry_ms(p->parser) >= 0 ? sse_retry_ms(p->parser) : 1000;
	r = xcalloc(1, sizeof *r);
	r->t = t;
	r->id = json_incref(p->id);
	r->last_id = p->last_id;
	p->last_id = NULL;
	r->tries = p->tries + 1;
	r->next = t->resumes;
	t->resumes = r;
	r->timer = loop_timer_add(t->a->loop, wait, mcp_http_resume_go, r);
}

static void
mcp_http_done(enum net_result res, long status, const char *msg, void *arg)
{
	struct mcp_http_post *p = arg;
	struct mcp_transport *t = p->t;

	p->req = NULL;
	mcp_http_unlink(p);
	if (p->status == 0)
		p->status = status;
	if (p->is_delete || t->gone || res == NET_CANCELLED) {
		mcp_http_post_free(p);
		return;
	}
	if (p->is_resume) {
		if (p->sse && p->parser != NULL)
			sse_finish(p->parser, mcp_http_event, p);
		if (!p->answered && p->status != 200 && res == NET_OK)
			mcp_http_fail_id(t, p->id, "%s: HTTP %ld when asking again for an answer", t->url, p->status);
		else if (!p->answered)
			mcp_http_resume(p, res == NET_OK ? "the server closed the event stream" : "the event stream dropped");
		mcp_http_post_free(p);
		return;
	}
	if (p->is_get) {
		if (p->sse && p->parser != NULL)
			sse_finish(p->parser, mcp_http_event, p);
		mcp_http_get_done(p, res);
		mcp_http_post_free(p);
		return;
	}
	if (res != NET_OK && p->sse && p->status == 200 && p->id != NULL) {
		/* the answer's stream dropped: what came is up, ask for the rest */
		sse_finish(p->parser, mcp_http_event, p);
		if (!p->answered)
			mcp_http_resume(p, "the event stream dropped");
	} else if (res != NET_OK) {
		mcp_http_fail_id(t, p->id, "%s: %s", t->url, msg ? msg : "request failed");
	} else if (mcp_http_session_gone(p)) {
		free(t->session);
		t->session = NULL;
		t->cbs->log("the server ended the session; initialising again", t->arg);
		/* mcp.c sends initialize afresh, then what was waiting */
		t->cbs->reset(t->arg);
	} else if (p->status == 200 && p->sse) {
		sse_finish(p->parser, mcp_http_event, p);
		if (p->id != NULL && !p->answered)
			mcp_http_resume(p, "the server closed the event stream");
	} else if (p->status == 200) {
		if (p->body.len > 0)
			mcp_http_post_up(t, p->body.data, p->body.len);
	} else if (p->status == 202 || p->status == 204) {
		/* a notification or a response, accepted */
	} else if (p->status == 401 || p->status == 403) {
		mcp_http_fail_id(t, p->id, "HTTP %ld: the server wants authorisation; give it in the entry's \"headers\"",
		    p->status);
	} else {
		json_t *j = p->body.data ? json_loads(p->body.data, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

		mcp_http_fail_id(t, p->id, "HTTP %ld%s%.300s", p->status, m || p->body.len ? ": " : "",
		    m ? m : p->body.data ? p->body.data
		                         : "");
		json_decref(j);
	}
	mcp_http_post_free(p);
}

static const struct net_cbs mcp_http_cbs = { mcp_http_status, mcp_http_header, mcp_http_data, mcp_http_done };

static struct mcp_http_post *
mcp_http_request(struct mcp_transport *t, const char *method, const char *body, size_t len, const char *last_id)
{
	struct mcp_http_post *p = xcalloc(1, sizeof *p);
	const char **hdrs = xcalloc(t->nheaders + 5, sizeof *hdrs);
	char *sess = NULL, *ver = NULL, *last = NULL;
	struct net_opts o = { 0 };
	size_t n = 0;

	p->t = t;
	for (size_t i = 0; i < t->nheaders; i++)
		hdrs[n++] = t->headers[i];
	if (t->session != NULL) {
		hdrs[n++] = sess = xasprintf("Mcp-Session-Id: %s", t->session);
		p->sent_session = true;
	}
	if (t->version != NULL)
		hdrs[n++] = ver = xasprintf("MCP-Protocol-Version: %s", t->version);
	if (last_id != NULL)
		hdrs[n++] = last = xasprintf("Last-Event-ID: %s", last_id);
	o.method = method;
	o.url = t->url;
	o.body = body;
	o.body_len = len;
	o.headers = hdrs;
	p->next = t->posts;
	t->posts = p;
	p->req = net_start(t->a->net, &o, &mcp_http_cbs, p);
	free(sess);
	free(ver);
	free(last);
	free(hdrs);
	return p;
}

static void
mcp_http_open_get(struct mcp_transport *t)
{
	struct mcp_http_post *p;

	if (t->gone || t->get != NULL)
		return;
	p = mcp_http_request(t, "GET", NULL, 0, t->last_event);
	if (p->req != NULL) {
		p->is_get = true;
		t->get = p;
	}
}

static struct mcp_transport *
mcp_http_open(struct app *a, json_t *conf, const struct mcp_transport_cbs *cbs, void *arg, char **cause)
{
	struct mcp_transport *t = xcalloc(1, sizeof *t);
	json_t *h = json_object_get(conf, "headers"), *v;
	const char *k;

	(void)cause;
	t->a = a;
	t->cbs = cbs;
	t->arg = arg;
	t->url = xstrdup(json_string_value(json_object_get(conf, "url")));
	t->inbox = json_array();
	t->headers = xcalloc(json_object_size(h) + 1, sizeof *t->headers);
	json_object_foreach(h, k, v)
	{
		t->headers[t->nheaders++] = xasprintf("%s: %s", k, json_string_value(v));
	}
	return t;
}

static void
mcp_http_send(struct mcp_transport *t, const char *msg, size_t len)
{
	json_t *j = json_loadb(msg, len, 0, NULL);
	json_t *id = json_object_get(j, "id");
	const char *method = json_string_value(json_object_get(j, "method"));
	struct mcp_http_post *p;

	if (t->gone) {
		json_decref(j);
		return;
	}
	/* a fresh initialize starts a new session */
	if (util_streq(method, "initialize")) {
		free(t->session);
		t->session = NULL;
		free(t->version);
		t->version = NULL;
	}
	p = mcp_http_request(t, "POST", msg, len, NULL);
	/* only a request waits on an answer by id */
	if (method != NULL && id != NULL)
		p->id = json_incref(id);
	json_decref(j);
}

static void
mcp_http_set_version(struct mcp_transport *t, const char *version)
{
	free(t->version);
	t->version = xstrdup(version);
	t->get_tries = 0;
	mcp_http_open_get(t);
}

static void
mcp_http_hangup(struct mcp_transport *t)
{
	struct mcp_http_post *p;

	if (t->gone)
		return;
	t->gone = true;
	loop_timer_cancel(t->a->loop, t->get_timer);
	t->get_timer = NULL;
	loop_timer_cancel(t->a->loop, t->inbox_timer);
	t->inbox_timer = NULL;
	while (t->resumes != NULL) {
		struct mcp_http_resume *r = t->resumes;

		t->resumes = r->next;
		loop_timer_cancel(t->a->loop, r->timer);
		json_decref(r->id);
		free(r->last_id);
		free(r);
	}
	while ((p = t->posts) != NULL)
		net_cancel(p->req); /* unlinks and frees it */
	if (t->session != NULL) {
		/* the session is ended for the server's sake; nobody waits on it */
		p = mcp_http_request(t, "DELETE", NULL, 0, NULL);
		p->is_delete = true;
	}
}

static void
mcp_http_free(struct mcp_transport *t, int64_t deadline)
{
	if (t == NULL)
		return;
	mcp_http_hangup(t);
	/* give the DELETE until the deadline, then cut it */
	while (t->posts != NULL && util_now_ms() < deadline)
		loop_run_once(t->a->loop, (int)(deadline - util_now_ms()));
	while (t->posts != NULL)
		net_cancel(t->posts->req);
	for (size_t i = 0; i < t->nheaders; i++)
		free(t->headers[i]);
	free(t->headers);
	free(t->url);
	free(t->session);
	free(t->version);
	free(t->last_event);
	json_decref(t->inbox);
	free(t);
}

const struct mcp_transport_ops mcp_http_ops = {
	"http",
	mcp_http_open,
	mcp_http_send,
	mcp_http_set_version,
	mcp_http_hangup,
	mcp_http_free,
};
