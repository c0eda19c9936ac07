/*
 * sse.c: Server-Sent Events parser following the WHATWG event-stream
 * interpretation (protocols.md 6.3): optional BOM, lines ended by CRLF, LF or
 * a lone CR, comments, "field: value" lines, and a blank line dispatching the
 * event built so far.
 *
 * Layout: line holds the unfinished tail of the stream (a line cut by a read
 * boundary); lines wholly inside a fed chunk are parsed in place without a
 * copy. data, type and id accumulate the event being built. cr_pending
 * remembers that the last byte fed was a CR, so an LF at the start of the next
 * feed belongs to the same terminator. Line ends are found with memchr for
 * CR and LF separately; each position is searched once per chunk.
 */
#include "sse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct sse {
	struct buf line; /* unfinished line from earlier feeds */
	struct buf data; /* data lines of the current event, each + '\n' */
	struct buf type; /* event: field of the current event */
	struct buf id; /* last event id */
	size_t max; /* cap on a line and on an event's data */
	int bom; /* BOM bytes matched so far; -1 once past the start */
	bool cr_pending;
	bool broken;
	int64_t retry;
};

static const unsigned char sse_bom[3] = { 0xef, 0xbb, 0xbf };

struct sse *
sse_new(size_t max_line)
{
	struct sse *s = xcalloc(1, sizeof *s);

	s->max = max_line ? max_line : SSE_DEFAULT_CAP;
	s->retry = -1;
	buf_append(&s->id, "", 0);
	return s;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	buf_free(&s->line);
	buf_free(&s->data);
	buf_free(&s->type);
	buf_free(&s->id);
	free(s);
}

int64_t
sse_retry_ms(const struct sse *s)
{
	return s->retry;
}

static int
sse_dispatch(struct sse *s, sse_event_cb cb, void *arg)
{
	struct sse_event ev;
	int rc;

	if (s->data.len == 0) {
		buf_reset(&s->type);
		return 0;
	}
	/* Drop the '\n' the last data line added. */
	s->data.data[--s->data.len] = '\0';
	ev.type = s->type.len ? s->type.data : "message";
	ev.data = s->data.data;
	ev.data_len = s->data.len;
	ev.id = s->id.data;
	rc = cb(&ev, arg);
	buf_reset(&s->data);
	buf_reset(&s->type);
	return rc;
}

static bool
sse_field_is(const char *f, size_t flen, const char *name, size_t nlen)
{
	return flen == nlen && memcmp(f, name, nlen) == 0;
}

/* Interpret one complete line (without its terminator). */
static int
sse_line(struct sse *s, const char *l, size_t len, sse_event_cb cb, void *arg)
{
	const char *colon, *v;
	size_t flen, vlen;

	if (len == 0)
		return sse_dispatch(s, cb, arg);
	if (l[0] == ':')
		return 0;
	colon = memchr(l, ':', len);
	if (colon == NULL) {
		flen = len;
		v = l + len;
		vlen = 0;
	} else {
		flen = (size_t)(colon - l);
		v = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && v[0] == ' ') {
			v++;
			vlen--;
		}
	}
	if (sse_field_is(l, flen, "data", 4)) {
		if (s->data.len + vlen + 1 > s->max) {
			s->broken = true;
			return SSE_TOO_LONG;
		}
		buf_append(&s->data, v, vlen);
		buf_putc(&s->data, '\n');
	} else if (sse_field_is(l, flen, "event", 5)) {
		buf_reset(&s->type);
		buf_append(&s->type, v, vlen);
	} else if (sse_field_is(l, flen, "id", 2)) {
		if (memchr(v, '\0', vlen) == NULL) {
			buf_reset(&s->id);
			buf_append(&s->id, v, vlen);
		}
	} else if (sse_field_is(l, flen, "retry", 5)) {
		int64_t ms = 0;
		size_t i;

		for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
			if (ms < INT64_MAX / 20)
				ms = ms * 10 + (v[i] - '0');
		if (vlen > 0 && i == vlen)
			s->retry = ms;
	}
	return 0;
}

/* Finish the line made of the buffered tail plus p[0..take). */
static int
sse_take_line(struct sse *s, const char *p, size_t take, sse_event_cb cb, void *arg)
{
	int rc;

	if (s->line.len == 0)
		return sse_line(s, p, take, cb, arg);
	buf_append(&s->line, p, take);
	rc = sse_line(s, s->line.data, s->line.len, cb, arg);
	buf_reset(&s->line);
	return rc;
}

/* Consume a leading BOM, which may arrive split over several feeds. Returns
 * how many bytes of data were BOM. */
static size_t
sse_skip_bom(struct sse *s, const char *data, size_t len)
{
	size_t i = 0;

	while (s->bom >= 0 && i < len) {
		if ((unsigned char)data[i] == sse_bom[s->bom]) {
			i++;
			if (++s->bom == 3)
				s->bom = -1;
			continue;
		}
		/* Not a BOM after all: the matched bytes are ordinary text. */
		if (s->bom > 0)
			buf_append(&s->line, sse_bom, (size_t)s->bom);
		s->bom = -1;
	}
	return i;
}

int
sse_feed(struct sse *s, const char *data, size_t len, sse_event_cb cb, void *arg)
{
	const char *p, *end, *cr = NULL, *lf = NULL;
	int rc = 0;

	if (s->broken)
		return SSE_TOO_LONG;
	if (s->bom >= 0) {
		size_t skip = sse_skip_bom(s, data, len);

		data += skip;
		len -= skip;
	}
	p = data;
	end = data + len;
	if (s->cr_pending && p < end) {
		s->cr_pending = false;
		if (*p == '\n')
			p++;
	}
	while (p < end) {
		const char *eol;
		size_t take;

		/* Search again only for a terminator we have moved past. */
		if (cr == NULL || cr < p)
			cr = memchr(p, '\r', (size_t)(end - p));
		if (lf == NULL || lf < p)
			lf = memchr(p, '\n', (size_t)(end - p));
		if (cr == NULL)
			cr = end;
		if (lf == NULL)
			lf = end;
		eol = cr < lf ? cr : lf;
		take = (size_t)(eol - p);
		if (s->line.len + take > s->max) {
			s->broken = true;
			buf_free(&s->line);
			return SSE_TOO_LONG;
		}
		if (eol == end) {
			buf_append(&s->line, p, take);
			break;
		}
		rc = sse_take_line(s, p, take, cb, arg);
		p = eol + 1;
		if (*eol == '\r') {
			if (p == end)
				s->cr_pending = true;
			else if (*p == '\n')
				p++;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
sse_finish(struct sse *s, sse_event_cb cb, void *arg)
{
	int rc;

	if (s->broken)
		return SSE_TOO_LONG;
	/* A stream that is nothing but part of a BOM holds no text. */
	s->bom = -1;
	if (s->line.len > 0) {
		rc = sse_line(s, s->line.data, s->line.len, cb, arg);
		buf_reset(&s->line);
		if (rc != 0)
			return rc;
	}
	return sse_dispatch(s, cb, arg);
}
