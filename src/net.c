/*
 * net.c: HTTP on the event loop through libcurl's multi socket interface.
 *
 * curl tells us which sockets to watch (net_socket_cb) and when to wake it
 * (net_timer_cb); the loop calls back into curl_multi_socket_action and we
 * then collect finished transfers. Each struct net_req owns one easy handle,
 * its header list and its callbacks. Body bytes go straight from curl's
 * buffer to the caller's on_data: nothing is copied or accumulated here.
 *
 * Timeouts: the connect timeout is short (a dead host should fail fast); the
 * read timeout is an inactivity limit (no byte for N seconds), not a total,
 * because a cold model load can hold back the first byte for minutes.
 */
#include "net.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct net {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	long connect_timeout_ms;
	long read_timeout_ms;
	struct net_req *reqs; /* running requests, for net_free */
	bool acting; /* inside curl_multi_socket_action */
};

struct net_req {
	struct net *net;
	CURL *easy;
	struct curl_slist *headers;
	struct net_cbs cbs;
	void *arg;
	bool status_sent;
	bool cancel_pending; /* cancelled from inside a curl callback */
	bool aborted_by_cb;
	long idle_ms; /* longest silence before NET_TIMEOUT */
	int64_t last_rx; /* when the backend last sent a byte */
	struct loop_timer *idle_t;
	char errbuf[CURL_ERROR_SIZE];
	struct net_req *next, *prev;
};

static void net_check_done(struct net *n);
static void net_finish(struct net_req *r, enum net_result res, const char *msg);
static void net_sweep_cancelled(struct net *n);

static void
net_action(struct net *n, curl_socket_t s, int mask)
{
	int running;

	n->acting = true;
	curl_multi_socket_action(n->multi, s, mask, &running);
	n->acting = false;
	net_check_done(n);
	net_sweep_cancelled(n);
}

static void
net_fd_event(int fd, int events, void *arg)
{
	struct net *n = arg;
	int mask = 0;

	if (events & LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	net_action(n, fd, mask);
}

static int
net_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct net *n = userp;

	(void)easy;
	(void)sockp;
	switch (what) {
	case CURL_POLL_REMOVE:
		loop_unwatch(n->loop, s);
		break;
	case CURL_POLL_IN:
		loop_watch(n->loop, s, LOOP_READ, net_fd_event, n);
		break;
	case CURL_POLL_OUT:
		loop_watch(n->loop, s, LOOP_WRITE, net_fd_event, n);
		break;
	case CURL_POLL_INOUT:
		loop_watch(n->loop, s, LOOP_READ | LOOP_WRITE, net_fd_event, n);
		break;
	}
	return 0;
}

static void
net_timer_fire(void *arg)
{
	struct net *n = arg;

	n->timer = NULL; /* the loop frees it after this returns */
	net_action(n, CURL_SOCKET_TIMEOUT, 0);
}

static int
net_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct net *n = userp;

	(void)multi;
	loop_timer_cancel(n->loop, n->timer);
	n->timer = NULL;
	if (timeout_ms >= 0)
		n->timer = loop_timer_add(n->loop, timeout_ms, net_timer_fire, n);
	return 0;
}

struct net *
net_new(struct loop *l, long connect_timeout_ms, long read_timeout_ms)
{
	struct net *n = xcalloc(1, sizeof *n);

	n->loop = l;
	n->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
	n->read_timeout_ms = read_timeout_ms > 0 ? read_timeout_ms : 600000;
	return n;
}

/* libcurl is loaded and set up by the first request (see dl.h), so a face
 * that has not talked to a backend yet has not paid for it. */
static void
net_ready(struct net *n)
{
	static bool initialised;

	if (n->multi != NULL)
		return;
	if (!initialised) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		initialised = true;
	}
	n->multi = curl_multi_init();
	if (n->multi == NULL)
		fatal("cannot initialise libcurl");
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, net_socket_cb);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, net_timer_cb);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
}

static void
net_req_free(struct net_req *r)
{
	struct net *n = r->net;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		n->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	loop_timer_cancel(n->loop, r->idle_t);
	curl_multi_remove_handle(n->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r);
}

void
net_free(struct net *n)
{
	if (n == NULL)
		return;
	while (n->reqs != NULL)
		net_cancel(n->reqs);
	loop_timer_cancel(n->loop, n->timer);
	if (n->multi != NULL)
		curl_multi_cleanup(n->multi);
	free(n);
}

static void
net_send_status(struct net_req *r)
{
	long status = 0;
	char *ctype = NULL;

	if (r->status_sent)
		return;
	r->status_sent = true;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
	if (r->cbs.on_status != NULL)
		r->cbs.on_status(status, ctype != NULL ? ctype : "", r->arg);
}

/* The read timeout is ours, not curl's low-speed check: that one is an
 * average that only trips well after the window (18 s for 3 here) and
 * needs traffic to be re-examined. A timer per request looks at when the
 * backend last sent anything; each read only notes the time. */
static void
net_idle_fire(void *arg)
{
	struct net_req *r = arg;
	int64_t quiet = util_now_ms() - r->last_rx;
	char msg[96];

	r->idle_t = NULL; /* the loop frees it after this returns */
	if (quiet < r->idle_ms) {
		r->idle_t = loop_timer_add(r->net->loop, r->idle_ms - quiet, net_idle_fire, r);
		return;
	}
	snprintf(msg, sizeof msg, "nothing received for %ld s", (r->idle_ms + 999) / 1000);
	net_finish(r, NET_TIMEOUT, msg);
}

static size_t
net_header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct net_req *r = userp;
	size_t len = size * nmemb;
	const char *colon = memchr(data, ':', len);

	r->last_rx = util_now_ms();
	if (r->cbs.on_header != NULL && colon != NULL && len < 8192) {
		char *name = xstrndup(data, (size_t)(colon - data)), *value;
		size_t vl = len - (size_t)(colon - data) - 1;
		const char *v = colon + 1;

		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		value = xstrndup(v, vl);
		r->cbs.on_header(name, value, r->arg);
		free(name);
		free(value);
	}
	return len;
}

static size_t
net_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct net_req *r = userp;
	size_t len = size * nmemb;

	r->last_rx = util_now_ms();
	if (r->cancel_pending)
		return 0;
	net_send_status(r);
	if (r->cancel_pending)
		return 0;
	if (r->cbs.on_data != NULL && r->cbs.on_data(data, len, r->arg) != 0) {
		r->aborted_by_cb = true;
		return 0;
	}
	return r->cancel_pending ? 0 : len;
}

static enum net_result
net_translate(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return NET_OK;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return NET_REFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return NET_TIMEOUT;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2_STREAM:
		return NET_DROPPED;
	case CURLE_WRITE_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		return NET_CANCELLED;
	default:
		return NET_FAILED;
	}
}

static void
net_finish(struct net_req *r, enum net_result res, const char *msg)
{
	long status = 0;
	struct net_cbs cbs = r->cbs;
	void *arg = r->arg;
	char *m = msg != NULL ? xstrdup(msg) : NULL;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res == NET_OK)
		net_send_status(r);
	net_req_free(r);
	if (cbs.on_done != NULL)
		cbs.on_done(res, status, m, arg);
	free(m);
}

static void
net_check_done(struct net *n)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
		struct net_req *r = NULL;
		enum net_result res;
		const char *msg;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		res = net_translate(m->data.result);
		if (r->cancel_pending || r->aborted_by_cb)
			res = NET_CANCELLED;
		msg = r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(m->data.result);
		net_finish(r, res, res == NET_OK ? NULL : msg);
	}
}

/* Finish requests cancelled while curl was running our callbacks. */
static void
net_sweep_cancelled(struct net *n)
{
	struct net_req *r;

	for (;;) {
		for (r = n->reqs; r != NULL && !r->cancel_pending; r = r->next)
			;
		if (r == NULL)
			return;
		net_finish(r, NET_CANCELLED, "cancelled");
	}
}

struct net_req *
net_start(struct net *n, const struct net_opts *o, const struct net_cbs *cbs, void *arg)
{
	struct net_req *r = xcalloc(1, sizeof *r);
	const char *method = o->method;
	long rt = o->read_timeout_ms > 0 && o->read_timeout_ms < n->read_timeout_ms ? o->read_timeout_ms
	                                                                            : n->read_timeout_ms;
	long ct = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : n->connect_timeout_ms;

	net_ready(n);
	r->net = n;
	r->cbs = *cbs;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		fatal("cannot initialise libcurl");
	curl_easy_setopt(r->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, net_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, ct);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, net_header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	r->idle_ms = rt;
	r->last_rx = util_now_ms();
	r->idle_t = loop_timer_add(n->loop, rt, net_idle_fire, r);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "parley/" PARLEY_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	r->headers = curl_slist_append(r->headers, "Accept: application/json, application/x-ndjson, text/event-stream");
	if (o->bearer != NULL && o->bearer[0] != '\0') {
		char *h = xasprintf("Authorization: Bearer %s", o->bearer);

		r->headers = curl_slist_append(r->headers, h);
		free(h);
	}
	if (o->body != NULL) {
		char *h = xasprintf("Content-Type: %s", o->content_type ? o->content_type : "application/json");

		r->headers = curl_slist_append(r->headers, h);
		free(h);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->body);
		if (method == NULL)
			method = "POST";
	}
	for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++)
		r->headers = curl_slist_append(r->headers, o->headers[i]);
	/* No "Expect: 100-continue" round trip for larger bodies. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	if (method != NULL && strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	else if (method != NULL && strcmp(method, "GET") == 0)
		curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);

	r->next = n->reqs;
	if (n->reqs != NULL)
		n->reqs->prev = r;
	n->reqs = r;
	curl_multi_add_handle(n->multi, r->easy);
	return r;
}

void
net_cancel(struct net_req *r)
{
	if (r == NULL)
		return;
	if (r->net->acting) {
		/* Inside a curl callback: removing the handle here is not
		 * allowed; the write callback aborts the transfer instead. */
		r->cancel_pending = true;
		return;
	}
	net_finish(r, NET_CANCELLED, "cancelled");
}
