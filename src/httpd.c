/*
 * httpd.c: the embedded listener's HTTP side: libmicrohttpd on parley's
 * loop, the routing table, authentication, CORS, limits and the response
 * helpers the route files (httpd_chat.c, httpd_sessions.c,
 * httpd_models.c, httpd_ollama.c) answer with. Routes speak one of three
 * dialects, which decides the shape of their errors and streams: OpenAI's
 * (error objects, SSE), the drop-in one ({"detail"}, SSE) and Ollama's
 * ({"error"}, NDJSON).
 *
 * libmicrohttpd runs with epoll and no thread of its own: the loop watches
 * its epoll descriptor and calls MHD_run when it is readable, and a prepare
 * hook caps the loop's sleep at MHD_get_timeout so idle timeouts fire.
 * Every request is a struct httpd_req, kept in a list on the httpd (so
 * httpd_free can end them all) and attached to MHD's request pointer. Its
 * life: the first call of the access handler routes it and checks key,
 * limits and CORS (answering at once when one fails, before any body is
 * read); upload calls append to a capped body buffer; the last call runs
 * the route's handler. A handler that cannot answer at once (it waits for
 * the backend) leaves the request pending and the connection is suspended;
 * the answer is prepared later as r->resp, the connection resumed, and the
 * access handler, called again by MHD, queues it.
 *
 * Streams are chunked responses whose reader drains r->out; when r->out is
 * empty the reader suspends the connection, and the next event resumes it.
 * A suspended connection is invisible to MHD, so to notice a client that
 * hangs up while we wait, its socket is watched on the loop and peeked:
 * end of file there aborts the request, which stops its backend call. A
 * client that goes away while data is being written is caught by MHD
 * (write error -> completed callback -> the same abort).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "wire_openai.h"

#define HTTPD_DEFAULT_ADDR "127.0.0.1"
#define HTTPD_DEFAULT_PORT "8002"
#define HTTPD_BODY_MAX (8u << 20) /* 413 above this */
#define HTTPD_DROP_MAX (64u << 20) /* a chunked body this far over is cut off */
#define HTTPD_DEPTH_MAX 64 /* JSON nesting */
#define HTTPD_HEADER_MEM (32u << 10) /* per-connection pool: request line and headers */
#define HTTPD_OUT_MAX (8u << 20) /* unsent stream bytes before a reader is given up */
#define HTTPD_MAX_CONN 512
#define HTTPD_IDLE_S 60
#define HTTPD_TOTAL_S 600
#define HTTPD_STREAM_BLOCK (16u << 10)

struct httpd_req {
	struct httpd *h;
	struct MHD_Connection *conn;
	struct httpd_req *prev, *next;
	const struct httpd_route *route;
	char *arg;
	struct buf body;
	json_t *json;
	const char *origin; /* allowed CORS origin, or NULL */
	bool ollama; /* answers in Ollama's shapes (an /api/ path) */

	void *state;
	void (*release)(void *state, bool aborted);

	json_t *headers; /* extra response headers, name -> value */
	struct MHD_Response *resp; /* prepared, not yet queued */
	unsigned int status;
	bool queued; /* MHD has a response */
	bool answered; /* the handler gave its answer (or we answered for it) */
	bool finished; /* ... and all of it: the stream ended */
	bool suspended;
	int fd; /* watched while suspended */
	bool aborted;
	bool dispatched;
	size_t dropped; /* body bytes past the cap */

	bool streaming;
	struct buf out; /* stream bytes not yet taken by MHD */
	size_t out_pos;
	struct loop_timer *timer; /* total time */
};

struct httpd {
	struct app *app;
	struct MHD_Daemon *d;
	int lfd;
	int efd;
	char *address;
	char *key;
	struct httpd_req *reqs;
	size_t nconn;
	size_t max_conn;
	int64_t total_ms;
	struct loop_timer *kick;
	void (*change_cb)(const char *session, void *arg);
	void *change_arg;
	httpd_stream_cb stream_cb;
	void *stream_arg;
	struct httpd_models *models;
	struct httpd_tools tools;
};

/* The routing table: one line a route. Paths ending in '*' take the rest
 * as the argument (model ids may contain '/'). */
static const struct httpd_route httpd_table[] = {
	{ "GET", "/", httpd_models_info, HTTPD_NOAUTH | HTTPD_DETAIL, "What this service is and where its routes are described" },
	{ "GET", "/health", httpd_models_health, HTTPD_NOAUTH | HTTPD_DETAIL, "Backend health" },
	{ "GET", "/openapi.json", httpd_models_openapi, 0, "This description" },
	{ "GET", "/v1/models", httpd_models_list, 0, "Models the backend offers" },
	{ "GET", "/v1/models/*", httpd_models_get, 0, "One model" },
	{ "POST", "/v1/chat/completions", httpd_chat_completions, HTTPD_BODY, "OpenAI chat completion, streamed or not" },
	{ "GET", "/v1/sessions", httpd_sessions_list, 0, "Stored sessions, newest first" },
	{ "GET", "/v1/sessions/*", httpd_sessions_get, 0, "One session with the messages of the branch on show (?branches=all: every branch)" },
	{ "PATCH", "/v1/sessions/*", httpd_sessions_patch, HTTPD_BODY, "Rename a session" },
	{ "DELETE", "/v1/sessions/*", httpd_sessions_delete, 0, "Delete a session" },
	{ "POST", "/chat", httpd_chat_plain, HTTPD_BODY | HTTPD_DETAIL, "Send a message, get the whole reply" },
	{ "POST", "/chat/stream", httpd_chat_stream, HTTPD_BODY | HTTPD_DETAIL, "Send a message, stream the reply" },
	{ "POST", "/chat/clear", httpd_sessions_clear, HTTPD_BODY | HTTPD_DETAIL, "Forget a session's messages" },
	{ "GET", "/sessions", httpd_sessions_plain, HTTPD_DETAIL, "Stored sessions" },
	{ "GET", "/api/version", httpd_ollama_version, HTTPD_OLLAMA, "Ollama: the version of Ollama's API served" },
	{ "GET", "/api/tags", httpd_ollama_tags, HTTPD_OLLAMA, "Ollama: models the backend offers" },
	{ "GET", "/api/ps", httpd_ollama_ps, HTTPD_OLLAMA, "Ollama: models the backend has loaded" },
	{ "POST", "/api/show", httpd_ollama_show, HTTPD_OLLAMA | HTTPD_BODY, "Ollama: one model's details" },
	{ "POST", "/api/chat", httpd_chat_ollama, HTTPD_OLLAMA | HTTPD_BODY, "Ollama: chat, streamed (NDJSON) unless stream is false" },
	{ "POST", "/api/generate", httpd_chat_generate, HTTPD_OLLAMA | HTTPD_BODY, "Ollama: one prompt's completion, streamed unless stream is false" },
	{ "POST", "/api/embed", httpd_ollama_embed, HTTPD_OLLAMA | HTTPD_BODY, "Ollama: embeddings of one or more inputs" },
	{ "POST", "/api/embeddings", httpd_ollama_embeddings, HTTPD_OLLAMA | HTTPD_BODY, "Ollama (older API): the embedding of one prompt" },
	{ "POST", "/api/pull", httpd_ollama_pull, HTTPD_OLLAMA | HTTPD_BODY, "Ollama: pull a model, progress streamed unless stream is false" },
};

const struct httpd_route *
httpd_routes(size_t *n)
{
	*n = sizeof httpd_table / sizeof httpd_table[0];
	return httpd_table;
}

/* ---- small helpers ---- */

static long
httpd_env_long(const char *name, long def, long lo, long hi)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < lo || n > hi)
		return def;
	return n;
}

/* Compare in time that depends only on the key's length. */
static bool
httpd_key_ok(const char *given, const char *key)
{
	size_t lg = strlen(given), lk = strlen(key);
	unsigned char diff = lg != lk;

	for (size_t i = 0; i < lk; i++)
		diff |= (unsigned char)((i < lg ? given[i] : 0) ^ key[i]);
	return diff == 0;
}

/* Nesting depth of JSON text, counting brackets outside strings: Jansson
 * has no limit of its own and recurses. */
static bool
httpd_depth_ok(const char *p, size_t len)
{
	size_t depth = 0;
	bool str = false;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"')
			str = true;
		else if (c == '[' || c == '{') {
			if (++depth > HTTPD_DEPTH_MAX)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return true;
}

static void
httpd_kick_cb(void *arg)
{
	struct httpd *h = arg;

	h->kick = NULL;
	MHD_run(h->d);
}

/* Make sure MHD runs soon (a resumed connection waits for MHD_run). */
static void
httpd_kick(struct httpd *h)
{
	if (h->kick == NULL)
		h->kick = loop_timer_add(h->app->loop, 0, httpd_kick_cb, h);
}

static void
httpd_on_epoll(int fd, int events, void *arg)
{
	struct httpd *h = arg;

	(void)fd;
	(void)events;
	MHD_run(h->d);
}

/* Before the loop sleeps: MHD says how long it may. Zero means work is
 * ready without any descriptor becoming readable (data left to write under
 * edge-triggered epoll, a timeout due), so run it now rather than spin. */
static int
httpd_prepare(void *arg)
{
	struct httpd *h = arg;
	MHD_UNSIGNED_LONG_LONG t;

	for (int i = 0; i < 16; i++) {
		if (MHD_get_timeout(h->d, &t) != MHD_YES)
			return -1;
		if (t > 0)
			return t > 60000 ? 60000 : (int)t;
		MHD_run(h->d);
	}
	return 0;
}

/* ---- suspension ---- */

static void httpd_abort(struct httpd_req *r);

static void
httpd_on_peer(int fd, int events, void *arg)
{
	struct httpd_req *r = arg;
	char c;
	ssize_t n;

	(void)events;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0) {
		/* the client sent more (a pipelined request): nothing to
		 * learn from this socket until MHD reads it */
		loop_unwatch(r->h->app->loop, fd);
		r->fd = -1;
		return;
	}
	httpd_abort(r);
}

static void
httpd_suspend(struct httpd_req *r)
{
	const union MHD_ConnectionInfo *ci;

	if (r->suspended)
		return;
	MHD_suspend_connection(r->conn);
	r->suspended = true;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->fd = ci != NULL ? ci->connect_fd : -1;
	if (r->fd >= 0)
		loop_watch(r->h->app->loop, r->fd, LOOP_READ, httpd_on_peer, r);
}

static void
httpd_wake(struct httpd_req *r)
{
	if (!r->suspended)
		return;
	if (r->fd >= 0)
		loop_unwatch(r->h->app->loop, r->fd);
	r->fd = -1;
	r->suspended = false;
	MHD_resume_connection(r->conn);
	httpd_kick(r->h);
}

/* Hand the handler's state back, once. */
static void
httpd_release(struct httpd_req *r, bool aborted)
{
	void *state = r->state;
	void (*release)(void *, bool) = r->release;

	r->state = NULL;
	r->release = NULL;
	if (release != NULL)
		release(state, aborted);
}

/* The client is gone (or the request ran out of time): stop the work,
 * let MHD close the connection. */
static void
httpd_abort(struct httpd_req *r)
{
	if (r->aborted)
		return;
	r->aborted = true;
	loop_timer_cancel(r->h->app->loop, r->timer);
	r->timer = NULL;
	httpd_release(r, true);
	httpd_wake(r);
}

/* ---- responses ---- */

static void
httpd_set_resp(struct httpd_req *r, unsigned int status, struct MHD_Response *resp, const char *ctype)
{
	const char *k;
	json_t *v;

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (r->origin != NULL) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Session-Id");
		MHD_add_response_header(resp, "Vary", "Origin");
	}
	json_object_foreach(r->headers, k, v)
	{
		MHD_add_response_header(resp, k, json_string_value(v));
	}
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	r->answered = true;
	httpd_wake(r);
}

static enum MHD_Result
httpd_queue(struct httpd_req *r)
{
	enum MHD_Result rc = MHD_queue_response(r->conn, r->status, r->resp);

	MHD_destroy_response(r->resp);
	r->resp = NULL;
	r->queued = true;
	return rc;
}

void
httpd_header(struct httpd_req *r, const char *name, const char *value)
{
	if (r->headers == NULL)
		r->headers = json_object();
	json_object_set_new(r->headers, name, json_string(value));
}

static void
httpd_reply_text(struct httpd_req *r, unsigned int status, char *text, const char *ctype)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	httpd_set_resp(r, status, resp, ctype);
}

void
httpd_reply(struct httpd_req *r, unsigned int status, json_t *body)
{
	char *s;

	if (r->answered || r->aborted) {
		json_decref(body);
		return;
	}
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r->finished = true;
	loop_timer_cancel(r->h->app->loop, r->timer);
	r->timer = NULL;
	httpd_reply_text(r, status, s ? s : xstrdup("{}"), r->ollama ? "application/json; charset=utf-8" : "application/json");
}

static json_t *
httpd_error_json(const struct httpd_req *r, const char *msg, const char *type, const char *param,
    const char *code)
{
	if (r->ollama)
		return json_pack("{s:s}", "error", msg);
	if (r->route != NULL && (r->route->flags & HTTPD_DETAIL))
		return json_pack("{s:s}", "detail", msg);
	return wire_openai_error_json(msg, type, param, code);
}

void
httpd_fail(struct httpd_req *r, unsigned int status, const char *type, const char *param,
    const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (r->finished || r->aborted)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (type == NULL)
		type = status >= 500 ? "server_error" : "invalid_request_error";
	if (r->streaming) {
		/* the status line is gone: a final error event */
		if (r->ollama || (r->route != NULL && (r->route->flags & HTTPD_DETAIL)))
			httpd_stream_event(r, json_pack("{s:s}", "error", msg));
		else
			httpd_stream_event(r, wire_openai_error_json(msg, type, param, code));
		httpd_stream_end(r);
		free(msg);
		return;
	}
	if (status < 500 || status == 501)
		httpd_header(r, "x-should-retry", "false");
	httpd_reply(r, status, httpd_error_json(r, msg, type, param, code));
	free(msg);
}

/* ---- streams ---- */

static ssize_t
httpd_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct httpd_req *r = cls;
	size_t n;

	(void)pos;
	if (r->aborted)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (r->out_pos < r->out.len) {
		n = r->out.len - r->out_pos;
		if (n > max)
			n = max;
		memcpy(buf, r->out.data + r->out_pos, n);
		r->out_pos += n;
		if (r->out_pos == r->out.len) {
			buf_reset(&r->out);
			r->out_pos = 0;
		}
		return (ssize_t)n;
	}
	if (r->finished)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* nothing yet: sleep until the next event wakes us */
	httpd_suspend(r);
	return 0;
}

void
httpd_stream_begin(struct httpd_req *r)
{
	struct MHD_Response *resp;

	if (r->answered || r->aborted)
		return;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTPD_STREAM_BLOCK, httpd_reader, r, NULL);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	r->streaming = true;
	httpd_set_resp(r, 200, resp, r->ollama ? "application/x-ndjson" : "text/event-stream");
}

void
httpd_stream_raw(struct httpd_req *r, const char *text)
{
	if (!r->streaming || r->finished || r->aborted)
		return;
	buf_puts(&r->out, text);
	if (r->out.len - r->out_pos > HTTPD_OUT_MAX) {
		/* the client is not reading: give up on it */
		httpd_abort(r);
		return;
	}
	httpd_wake(r);
}

void
httpd_stream_event(struct httpd_req *r, json_t *data)
{
	char *s = json_dumps(data, JSON_COMPACT);

	json_decref(data);
	if (s == NULL)
		return;
	if (r->streaming && !r->finished && !r->aborted) {
		if (!r->ollama)
			buf_puts(&r->out, "data: ");
		buf_puts(&r->out, s);
		httpd_stream_raw(r, r->ollama ? "\n" : "\n\n");
	}
	free(s);
}

void
httpd_stream_end(struct httpd_req *r)
{
	if (!r->streaming || r->finished)
		return;
	r->finished = true;
	loop_timer_cancel(r->h->app->loop, r->timer);
	r->timer = NULL;
	httpd_wake(r);
}

/* ---- accessors ---- */

struct httpd *
httpd_req_httpd(const struct httpd_req *r)
{
	return r->h;
}

struct app *
httpd_req_app(const struct httpd_req *r)
{
	return r->h->app;
}

const char *
httpd_req_arg(const struct httpd_req *r)
{
	return r->arg ? r->arg : "";
}

const char *
httpd_req_header(const struct httpd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
httpd_req_query(const struct httpd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct app *
httpd_app(const struct httpd *h)
{
	return h->app;
}

json_t *
httpd_req_body(const struct httpd_req *r)
{
	return r->json;
}

void
httpd_req_state(struct httpd_req *r, void *state, void (*release)(void *state, bool aborted))
{
	r->state = state;
	r->release = release;
}

bool
httpd_req_answered(const struct httpd_req *r)
{
	return r->answered || r->aborted;
}

void
httpd_on_change(struct httpd *h, void (*cb)(const char *session, void *arg), void *arg)
{
	h->change_cb = cb;
	h->change_arg = arg;
}

void
httpd_changed(struct httpd *h, const char *session)
{
	if (h->change_cb != NULL && session != NULL)
		h->change_cb(session, h->change_arg);
}

void
httpd_on_stream(struct httpd *h, httpd_stream_cb cb, void *arg)
{
	h->stream_cb = cb;
	h->stream_arg = arg;
}

void
httpd_streamed(struct httpd *h, struct chat *c, const struct llm_ev *ev)
{
	if (h->stream_cb != NULL)
		h->stream_cb(c, ev, h->stream_arg);
}

void
httpd_set_tools(struct httpd *h, struct mcp *m, enum tools_policy policy, int rounds)
{
	h->tools.mcp = m;
	h->tools.policy = policy;
	h->tools.rounds = rounds;
}

const struct httpd_tools *
httpd_tools(const struct httpd *h)
{
	return &h->tools;
}

struct httpd_models **
httpd_models_slot(struct httpd *h)
{
	return &h->models;
}

const char *
httpd_address(const struct httpd *h)
{
	return h->address;
}

/* ---- routing, checks, dispatch ---- */

static bool
httpd_path_match(const char *pattern, const char *path, const char **arg)
{
	size_t n = strlen(pattern);

	*arg = NULL;
	if (n > 0 && pattern[n - 1] == '*') {
		if (strncmp(pattern, path, n - 1) != 0 || path[n - 1] == '\0')
			return false;
		*arg = path + n - 1;
		return true;
	}
	return strcmp(pattern, path) == 0;
}

/* The route for method and path; *allow lists the methods the path takes
 * when only the method is wrong. */
static const struct httpd_route *
httpd_route_find(const char *method, const char *path, const char **arg, struct buf *allow)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

	for (size_t i = 0; i < sizeof httpd_table / sizeof httpd_table[0]; i++) {
		const char *a;

		if (!httpd_path_match(httpd_table[i].path, path, &a))
			continue;
		if (strcmp(httpd_table[i].method, m) == 0) {
			*arg = a;
			return &httpd_table[i];
		}
		buf_printf(allow, "%s%s", allow->len ? ", " : "", httpd_table[i].method);
	}
	return NULL;
}

static const char *
httpd_cors_origin(struct httpd *h, const char *origin)
{
	const struct config *cfg = h->app->cfg;

	if (origin == NULL)
		return NULL;
	for (int i = 0; i < cfg->ncors; i++)
		if (strcmp(cfg->cors_origins[i], origin) == 0 || strcmp(cfg->cors_origins[i], "*") == 0)
			return cfg->cors_origins[i][0] == '*' ? "*" : cfg->cors_origins[i];
	return NULL;
}

/* A preflight: allowed only for the named origins. */
static void
httpd_preflight(struct httpd_req *r, const char *path)
{
	const char *arg, *want = httpd_req_header(r, "Access-Control-Request-Headers");
	struct buf allow = { 0 };
	char *hdrs;

	if (httpd_route_find("OPTIONS", path, &arg, &allow) == NULL && allow.len == 0) {
		buf_free(&allow);
		httpd_fail(r, 404, NULL, NULL, "not_found", "no route for %s", path);
		return;
	}
	if (r->origin == NULL) {
		buf_free(&allow);
		httpd_fail(r, 403, "permission_error", NULL, "cors_forbidden",
		    "cross-origin requests are not allowed from this origin (see --cors)");
		return;
	}
	buf_puts(&allow, ", OPTIONS");
	httpd_header(r, "Access-Control-Allow-Methods", allow.data);
	hdrs = xasprintf("Authorization, Content-Type, X-Session-Id%s%s", want ? ", " : "", want ? want : "");
	httpd_header(r, "Access-Control-Allow-Headers", hdrs);
	httpd_header(r, "Access-Control-Max-Age", "600");
	free(hdrs);
	buf_free(&allow);
	r->finished = true;
	httpd_reply_text(r, 204, xstrdup(""), "text/plain");
}

/* First call: route, key, limits. Answers at once when one fails. */
static void
httpd_begin(struct httpd_req *r, const char *method, const char *url)
{
	struct httpd *h = r->h;
	const char *arg = NULL, *auth, *cl;
	struct buf allow = { 0 };

	r->origin = httpd_cors_origin(h, httpd_req_header(r, "Origin"));
	r->route = httpd_route_find(method, url, &arg, &allow);
	if (r->route != NULL)
		r->arg = arg ? xstrdup(arg) : NULL;
	r->ollama = r->route != NULL ? (r->route->flags & HTTPD_OLLAMA) != 0 : strncmp(url, "/api/", 5) == 0;
	if (h->nconn > h->max_conn) {
		httpd_header(r, "Connection", "close");
		httpd_header(r, "Retry-After", "1");
		httpd_fail(r, 503, "server_error", NULL, "too_many_connections",
		    "too many connections (at most %zu); try again shortly", h->max_conn);
		goto out;
	}
	if (strcmp(method, "OPTIONS") == 0) {
		httpd_preflight(r, url);
		goto out;
	}
	if (r->route == NULL) {
		if (allow.len > 0) {
			httpd_header(r, "Allow", allow.data);
			httpd_fail(r, 405, NULL, NULL, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
			    method, url, allow.data);
		} else if (strncmp(url, "/v1/", 4) == 0)
			/* an SDK pointed here for another OpenAI API (the Responses
			 * API, embeddings, ...) learns what is served instead */
			httpd_fail(r, 404, NULL, NULL, "unknown_url",
			    "Invalid URL (%s %s): parley serves the Chat Completions API at POST /v1/chat/completions "
			    "(and GET /v1/models); %s",
			    method, url,
			    strncmp(url, "/v1/responses", 13) == 0 ? "the Responses API is not supported"
			                                           : "no other OpenAI API is served");
		else
			httpd_fail(r, 404, NULL, NULL, "not_found", "no route for %s %s", method, url);
		goto out;
	}
	if (h->key != NULL && !(r->route->flags & HTTPD_NOAUTH)) {
		auth = httpd_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
		if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || !httpd_key_ok(auth + 7, h->key)) {
			httpd_header(r, "WWW-Authenticate", "Bearer");
			/* 401 on every route, in OpenAI's shape (Ollama's on its
			 * routes) */
			r->route = NULL;
			httpd_fail(r, 401, "invalid_request_error", NULL, "invalid_api_key",
			    auth == NULL ? "missing API key: send Authorization: Bearer <key>" : "incorrect API key provided");
			goto out;
		}
	}
	cl = httpd_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > HTTPD_BODY_MAX) {
		httpd_header(r, "Connection", "close");
		httpd_fail(r, 413, NULL, NULL, "request_too_large", "request body is larger than %u MiB",
		    HTTPD_BODY_MAX >> 20);
		goto out;
	}
out:
	buf_free(&allow);
}

static void
httpd_timeout(void *arg)
{
	struct httpd_req *r = arg;

	r->timer = NULL;
	/* stop the backend first, then tell the client */
	httpd_release(r, true);
	httpd_fail(r, 504, "server_error", NULL, "timeout", "the request took longer than %lld s",
	    (long long)(r->h->total_ms / 1000));
}

static void
httpd_dispatch(struct httpd_req *r)
{
	if (r->route->flags & HTTPD_BODY) {
		json_error_t e;

		if (r->body.len == 0) {
			httpd_fail(r, 400, NULL, NULL, NULL, r->ollama ? "missing request body" : "request body is required (JSON)");
			return;
		}
		if (!httpd_depth_ok(r->body.data, r->body.len)) {
			httpd_fail(r, 400, NULL, NULL, NULL, "JSON is nested deeper than %d levels", HTTPD_DEPTH_MAX);
			return;
		}
		r->json = json_loadb(r->body.data, r->body.len, 0, &e);
		if (r->json == NULL) {
			httpd_fail(r, 400, NULL, NULL, NULL, "invalid JSON: %s (line %d, column %d)", e.text, e.line,
			    e.column);
			return;
		}
		if (!json_is_object(r->json)) {
			httpd_fail(r, 400, NULL, NULL, NULL, "request body must be a JSON object");
			return;
		}
	}
	r->route->fn(r);
	if (!r->finished && !r->aborted)
		r->timer = loop_timer_add(r->h->app->loop, r->h->total_ms, httpd_timeout, r);
}

static enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct httpd *h = cls;
	struct httpd_req *r = *req_cls;

	(void)version;
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->h = h;
		r->conn = conn;
		r->fd = -1;
		r->next = h->reqs;
		if (h->reqs != NULL)
			h->reqs->prev = r;
		h->reqs = r;
		*req_cls = r;
		httpd_begin(r, method, url);
		return r->resp != NULL ? httpd_queue(r) : MHD_YES;
	}
	if (r->aborted)
		return MHD_NO;
	if (*upload_size > 0) {
		/* MHD cannot answer in the middle of an upload: a chunked body
		 * over the cap is read and dropped, then refused; one far over
		 * it is cut off */
		if (r->dropped > 0 || r->body.len + *upload_size > HTTPD_BODY_MAX) {
			r->dropped += *upload_size;
			buf_free(&r->body);
			*upload_size = 0;
			return r->dropped > HTTPD_DROP_MAX ? MHD_NO : MHD_YES;
		}
		buf_append(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->dropped > 0 && !r->answered) {
		httpd_header(r, "Connection", "close");
		httpd_fail(r, 413, NULL, NULL, "request_too_large", "request body is larger than %u MiB",
		    HTTPD_BODY_MAX >> 20);
	}
	if (!r->dispatched && !r->answered) {
		r->dispatched = true;
		httpd_dispatch(r);
	}
	if (r->resp != NULL)
		return httpd_queue(r);
	if (!r->queued)
		httpd_suspend(r);
	return MHD_YES;
}

static void
httpd_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct httpd_req *r = *req_cls;

	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	*req_cls = NULL;
	httpd_release(r, !r->finished);
	loop_timer_cancel(h->app->loop, r->timer);
	if (r->fd >= 0)
		loop_unwatch(h->app->loop, r->fd);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	buf_free(&r->body);
	buf_free(&r->out);
	json_decref(r->json);
	json_decref(r->headers);
	free(r->arg);
	free(r);
}

static void
httpd_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx, enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;

	(void)conn;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		h->nconn++;
	else {
		if (h->nconn > 0)
			h->nconn--;
		/* At its connection limit MHD takes the listening socket out of
		 * its epoll set and puts it back only at the start of a later
		 * MHD_run. With no other connection left nothing would wake the
		 * loop for that run, and the listener would never accept again. */
		httpd_kick(h);
	}
}

/* ---- setup ---- */

static bool
httpd_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* [ADDR:]PORT, [v6]:PORT or ADDR into host and port. */
static int
httpd_split(const char *spec, char **host, char **port, char **cause)
{
	const char *colon;

	*host = *port = NULL;
	if (spec == NULL || *spec == '\0')
		spec = HTTPD_DEFAULT_ADDR ":" HTTPD_DEFAULT_PORT;
	if (strspn(spec, "0123456789") == strlen(spec)) {
		*host = xstrdup(HTTPD_DEFAULT_ADDR);
		*port = xstrdup(spec);
	} else if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return util_fail(cause, "bad listen address '%s' (want [ADDR]:PORT)", spec);
		*host = xstrndup(spec + 1, (size_t)(end - spec - 1));
		*port = xstrdup(end[1] == ':' ? end + 2 : HTTPD_DEFAULT_PORT);
	} else if ((colon = strrchr(spec, ':')) != NULL && strchr(spec, ':') == colon) {
		*host = xstrndup(spec, (size_t)(colon - spec));
		*port = xstrdup(colon + 1);
	} else {
		*host = xstrdup(spec);
		*port = xstrdup(HTTPD_DEFAULT_PORT);
	}
	if (**host == '\0') {
		free(*host);
		*host = xstrdup(HTTPD_DEFAULT_ADDR);
	}
	if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port) || strlen(*port) > 5 || atoi(*port) > 65535) {
		util_fail(cause, "bad port in listen address '%s' (want [ADDR:]PORT)", spec);
		free(*host);
		free(*port);
		*host = *port = NULL;
		return -1;
	}
	return 0;
}

/* SPEC resolved to the address to bind, refused if it is not loopback
 * and there is no key. */
static int
httpd_resolve(const char *spec, bool have_key, struct addrinfo **res, char **cause)
{
	struct addrinfo hints = { 0 };
	char *host, *port;
	int rc, ret = -1;

	*res = NULL;
	if (httpd_split(spec, &host, &port, cause) != 0)
		return -1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		util_fail(cause, "cannot listen on %s:%s: %s", host, port, gai_strerror(rc));
		*res = NULL;
	} else if (!httpd_loopback((*res)->ai_addr) && !have_key) {
		util_fail(cause, "refusing to listen on %s (not a loopback address) without a key: set --serve-key or "
		                 "PARLEY_SERVE_KEY, or listen on 127.0.0.1",
		    host);
		freeaddrinfo(*res);
		*res = NULL;
	} else {
		ret = 0;
	}
	free(host);
	free(port);
	return ret;
}

int
httpd_check(const char *listen, const char *key, char **cause)
{
	struct addrinfo *res;

	if (httpd_resolve(listen, key != NULL && key[0] != '\0', &res, cause) != 0)
		return -1;
	freeaddrinfo(res);
	return 0;
}

/* "127.0.0.1:8002" or "[::1]:8002", for messages. */
static void
httpd_name(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Bind the listening socket ourselves: clear errors, and the bound
 * address (port 0) is known. */
static int
httpd_bind(struct httpd *h, const char *spec, bool *v6, char **cause)
{
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char where[INET6_ADDRSTRLEN + 8];
	int one = 1, fd;

	if (httpd_resolve(spec, h->key != NULL, &res, cause) != 0)
		return -1;
	httpd_name(res->ai_addr, res->ai_addrlen, where, sizeof where);
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		util_fail(cause, "cannot listen on %s: %s", where, strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		util_fail(cause, "cannot listen on %s: %s", where, strerror(errno));
		close(fd);
		goto fail;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*v6 = ss.ss_family == AF_INET6;
	httpd_name((struct sockaddr *)&ss, sl, where, sizeof where);
	h->address = xstrdup(where);
	h->lfd = fd;
	freeaddrinfo(res);
	return 0;
fail:
	freeaddrinfo(res);
	return -1;
}

/* Percent-decoding for paths and query arguments, in place, as MHD's own
 * except that %00 stays as it is: a decoded NUL would cut the C string MHD
 * hands us, so "/v1/sessions/a%00b" would name session "a". Left encoded it
 * is just an invalid id. */
static size_t
httpd_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	const char *r = s;

	(void)cls;
	(void)c;
	while (*r != '\0') {
		int hi, lo;

		if (r[0] == '%' && (hi = util_hexval(r[1])) >= 0 && (lo = util_hexval(r[2])) >= 0 &&
		    (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Each connection is a descriptor: make sure the cap, not the default
 * limit of 1024 open files, is what turns clients away. */
static void
httpd_raise_fd_limit(size_t max_conn)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)(max_conn * 2 + 64);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

struct httpd *
httpd_new(struct app *a, const char *listen, char **cause)
{
	struct httpd *h = xcalloc(1, sizeof *h);
	const union MHD_DaemonInfo *di;
	const char *key = a->cfg->serve_key;
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	bool v6 = false;

	h->app = a;
	h->lfd = h->efd = -1;
	h->key = key != NULL && key[0] != '\0' ? xstrdup(key) : NULL;
	h->max_conn = (size_t)httpd_env_long("PARLEY_SERVE_MAX_CONNECTIONS", HTTPD_MAX_CONN, 1, 100000);
	h->total_ms = 1000 * (int64_t)httpd_env_long("PARLEY_SERVE_TIMEOUT", HTTPD_TOTAL_S, 1, 86400 * 7);
	if (httpd_bind(h, listen, &v6, cause) != 0) {
		httpd_free(h);
		return NULL;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	httpd_raise_fd_limit(h->max_conn);
	/* MHD turns connections beyond its own limit away without a word, so
	 * it gets some room above ours and we answer those 503 */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd,
	    MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, httpd_connection, h,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(h->max_conn + 16),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)httpd_env_long("PARLEY_SERVE_IDLE_TIMEOUT", HTTPD_IDLE_S, 1, 86400),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_HEADER_MEM,
	    MHD_OPTION_UNESCAPE_CALLBACK, httpd_unescape, h,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		util_fail(cause, "cannot start the listener on %s", h->address);
		httpd_free(h);
		return NULL;
	}
	h->lfd = -1; /* MHD closes it when it stops */
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->efd = di != NULL ? di->epoll_fd : -1;
	if (h->efd < 0) {
		util_fail(cause, "the listener has no epoll descriptor");
		httpd_free(h);
		return NULL;
	}
	loop_watch(a->loop, h->efd, LOOP_READ, httpd_on_epoll, h);
	loop_prepare_add(a->loop, httpd_prepare, h);
	return h;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	/* stop every handler, then let MHD close what is left: it must not
	 * be stopped with connections suspended */
	for (struct httpd_req *r = h->reqs; r != NULL; r = r->next) {
		r->aborted = true;
		httpd_release(r, true);
		httpd_wake(r);
	}
	if (h->d != NULL) {
		loop_unwatch(h->app->loop, h->efd);
		loop_prepare_remove(h->app->loop, httpd_prepare, h);
		MHD_stop_daemon(h->d);
	}
	if (h->lfd >= 0)
		close(h->lfd);
	loop_timer_cancel(h->app->loop, h->kick);
	httpd_models_free(h);
	free(h->address);
	free(h->key);
	free(h);
}
