/* sse.h: Server-Sent Events parser (WHATWG event-stream interpretation,
 * protocols.md 6.3). Pure: bytes in, events out, no I/O. */
#ifndef PARLEY_SSE_H
#define PARLEY_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_CAP (8u << 20)

struct sse;

struct sse_event {
	const char *type; /* "message" unless an event: field set it */
	const char *data; /* NUL-terminated; lines joined with '\n' */
	size_t data_len;
	const char *id; /* last event id so far, "" if none */
};

/* Return nonzero to stop (that value is returned by sse_feed). */
typedef int (*sse_event_cb)(const struct sse_event *ev, void *arg);

struct sse *sse_new(size_t max_line);
void sse_free(struct sse *s);

#define SSE_TOO_LONG (-1000)
int sse_feed(struct sse *s, const char *data, size_t len, sse_event_cb cb, void *arg);
/* End of stream: leniently dispatches a pending event (as the OpenAI SDK). */
int sse_finish(struct sse *s, sse_event_cb cb, void *arg);
int64_t sse_retry_ms(const struct sse *s); /* -1 if never set */

#endif
