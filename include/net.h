/* net.h: HTTP requests through libcurl's multi interface, driven by the loop.
 * Bodies stream through on_data as they arrive; nothing blocks. */
#ifndef PARLEY_NET_H
#define PARLEY_NET_H

#include <stddef.h>

#include "loop.h"

struct net;
struct net_req;

enum net_result {
	NET_OK, /* transfer complete (any HTTP status) */
	NET_REFUSED, /* could not connect / resolve */
	NET_TIMEOUT, /* connect or read timeout */
	NET_DROPPED, /* connection broken mid-transfer */
	NET_CANCELLED, /* net_cancel() */
	NET_FAILED, /* anything else */
};

struct net_cbs {
	/* Status line and headers are in; called once before any on_data. */
	void (*on_status)(long status, const char *content_type, void *arg);
	/* Each response header as it arrives (may be NULL); value trimmed. */
	void (*on_header)(const char *name, const char *value, void *arg);
	/* Body bytes as they arrive. Return nonzero to abort (result NET_CANCELLED). */
	int (*on_data)(const char *data, size_t len, void *arg);
	/* The request is over; the req is freed after this returns. msg is a
	 * human-readable description when result is not NET_OK. */
	void (*on_done)(enum net_result result, long status, const char *msg, void *arg);
};

struct net_opts {
	const char *method; /* NULL = GET, or POST when body is set */
	const char *url;
	const char *body; /* copied */
	size_t body_len;
	const char *bearer; /* Authorization: Bearer ... when not NULL/"" */
	const char *content_type; /* default application/json when body is set */
	const char *const *headers; /* more "Name: value" lines, NULL-terminated; may be NULL */
	long connect_timeout_ms; /* 0 = net default */
	long read_timeout_ms; /* inactivity; 0 = net default; never longer than it */
};

struct net *net_new(struct loop *l, long connect_timeout_ms, long read_timeout_ms);
void net_free(struct net *n); /* cancels every request still running */

struct net_req *net_start(struct net *n, const struct net_opts *o,
    const struct net_cbs *cbs, void *arg);
/* Cancel: on_done(NET_CANCELLED) is called before this returns. */
void net_cancel(struct net_req *r);

#endif
