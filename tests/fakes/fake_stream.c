/*
 * fake_stream.c: paced response bodies for fakellm. A generator hands out
 * units (an NDJSON line, an SSE event) one at a time; the MHD content reader
 * here turns them into writes, and on the way injects what the scenario asks
 * for: delays between units, N-byte writes (paced or not), SSE pings, an
 * error unit, a line of junk bytes, a connection dropped halfway through a
 * unit, or a hang (before the first unit or after the last).
 *
 * Units are made only when MHD has room for them, so a reply of 200000
 * tokens never sits in memory: with no delay and no byte cutting, each call
 * fills MHD's buffer with as many whole units as fit.
 */
#include "fake.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct stream {
	struct MHD_Connection *conn;
	struct fake_pace pace;
	struct fake_gen gen;
	struct buf out; /* made but not yet written */
	long pieces; /* piece units made */
	long units; /* units made, pings excluded */
	long since_ping;
	long writes; /* non-empty writes so far */
	bool garbage_done;
	bool ended; /* nothing more to make */
	bool drop; /* close without ending the body once out is written */
};

/* A body that is one unit: the fixed-size responses. */
struct one {
	char *body;
	bool done;
};

/* The scenario's junk line: hex pairs to bytes (a bad pair ends it). */
static void
put_hex(struct buf *out, const char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const char *hi, *lo;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		hi = strchr(digits, hex[0] | 0x20);
		lo = strchr(digits, hex[1] | 0x20);
		if (hi == NULL || lo == NULL)
			break;
		buf_putc(out, (char)((hi - digits) << 4 | (lo - digits)));
	}
}

static void
make_unit(struct stream *s)
{
	struct fake_pace *p = &s->pace;
	enum fake_unit kind;

	if (s->gen.sse && p->ping_every > 0 && s->since_ping >= p->ping_every) {
		buf_puts(&s->out, ": ping\n\n");
		s->since_ping = 0;
		return;
	}
	if (p->error_after >= 0 && s->pieces >= p->error_after) {
		if (s->gen.error != NULL)
			s->gen.error(s->gen.ctx, p->error != NULL ? p->error : "internal error", &s->out);
		s->ended = true;
		return;
	}
	if (p->garbage_after >= 0 && s->pieces >= p->garbage_after && !s->garbage_done) {
		s->garbage_done = true;
		if (s->gen.sse)
			buf_puts(&s->out, "data: ");
		if (p->garbage_hex != NULL)
			put_hex(&s->out, p->garbage_hex);
		else
			buf_puts(&s->out, "\xff\xfe{garbage\x80");
		buf_puts(&s->out, s->gen.sse ? "\n\n" : "\n");
		return;
	}
	if (p->drop_after >= 0 && s->pieces >= p->drop_after) {
		struct buf unit = { 0 };

		if (s->gen.next(s->gen.ctx, &unit) != FAKE_UNIT_END)
			buf_append(&s->out, unit.data, unit.len / 2);
		buf_free(&unit);
		s->ended = s->drop = true;
		return;
	}
	kind = s->gen.next(s->gen.ctx, &s->out);
	if (kind == FAKE_UNIT_END) {
		s->ended = true;
		return;
	}
	if (kind == FAKE_UNIT_PIECE)
		s->pieces++;
	s->units++;
	s->since_ping++;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct stream *s = cls;
	size_t want, n;

	(void)pos;
	if (s->pace.hang) {
		fake_sleep(s->conn, -1);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (fake_stopping())
		return MHD_CONTENT_READER_END_WITH_ERROR;
	want = max;
	if (s->pace.chunk_bytes > 0 && (size_t)s->pace.chunk_bytes < want)
		want = (size_t)s->pace.chunk_bytes;
	if (s->pace.delay_ms > 0) {
		/* one unit at a time, the pause before each but the first */
		if (s->out.len == 0 && !s->ended) {
			if (s->units > 0 && !fake_sleep(s->conn, s->pace.delay_ms))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			make_unit(s);
		}
	} else {
		while (s->out.len < want && !s->ended)
			make_unit(s);
	}
	if (s->out.len == 0) {
		if (!s->ended)
			return 0;
		if (s->drop)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		/* MHD asks for more only once it has sent what it had: the
		 * client has every unit, but not the end of the body */
		if (s->pace.hang_at_end) {
			fake_sleep(s->conn, -1);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (s->pace.drip_ms > 0 && s->writes > 0 && !fake_sleep(s->conn, s->pace.drip_ms))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	s->writes++;
	n = s->out.len < want ? s->out.len : want;
	memcpy(dst, s->out.data, n);
	buf_consume(&s->out, n);
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	if (s->gen.free != NULL)
		s->gen.free(s->gen.ctx);
	buf_free(&s->out);
	free(s);
}

enum MHD_Result
fake_stream_queue(struct fake_req *req, unsigned status, const char *ctype,
    const struct fake_pace *pace, const struct fake_gen *gen, uint64_t size)
{
	struct stream *s = xcalloc(1, sizeof *s);
	struct MHD_Response *r;
	enum MHD_Result ret;

	s->conn = req->conn;
	s->pace = *pace;
	s->gen = *gen;
	if (pace->first_byte_delay_ms > 0 && !fake_sleep(req->conn, pace->first_byte_delay_ms)) {
		stream_free(s);
		return MHD_NO;
	}
	r = MHD_create_response_from_callback(size, 64 * 1024, stream_read, s, stream_free);
	if (r == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (gen->sse)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ret = MHD_queue_response(req->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum fake_unit
one_next(void *ctx, struct buf *out)
{
	struct one *o = ctx;

	if (o->done)
		return FAKE_UNIT_END;
	o->done = true;
	buf_puts(out, o->body);
	return FAKE_UNIT_OTHER;
}

static void
one_free(void *ctx)
{
	struct one *o = ctx;

	free(o->body);
	free(o);
}

enum MHD_Result
fake_stream_body(struct fake_req *req, unsigned status, const char *ctype,
    const struct fake_pace *pace, const char *body)
{
	struct one *o = xcalloc(1, sizeof *o);
	struct fake_gen gen = { .next = one_next, .free = one_free, .ctx = o };
	struct fake_pace p = *pace;

	o->body = xstrdup(body);
	/* A whole body has no pieces: a drop cuts it in half, the rest of the
	 * mid-stream tricks do not apply. */
	p.drop_after = pace->drop_after >= 0 ? 0 : -1;
	p.error_after = p.garbage_after = -1;
	p.ping_every = 0;
	p.delay_ms = 0;
	return fake_stream_queue(req, status, ctype, &p, &gen, strlen(body));
}
