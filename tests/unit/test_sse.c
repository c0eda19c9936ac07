/*
 * test_sse.c: the Server-Sent Events parser. Data-driven cases live in
 * tests/data/sse/<case>/ (input, expected, optional cap); each input is fed
 * whole, one byte per feed, and split in two at every position, and all must
 * give the expected dump: one `event <type> id=<json> <data as json>` per
 * event, then `retry=<ms>` if a retry field was seen, then `too_long` if
 * the parser gave up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tcase.h"
#include "util.h"

#define DATA_DIR "tests/data/sse"

struct parser {
	struct sse *s;
	struct buf out;
};

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct buf *out = arg;

	assert_int_equal(ev->data[ev->data_len], '\0');
	assert_true(ev->data_len > 0 || ev->data[0] == '\0');
	buf_printf(out, "event %s id=", ev->type);
	tcase_dump_str(out, ev->id, strlen(ev->id));
	buf_putc(out, ' ');
	tcase_dump_str(out, ev->data, ev->data_len);
	buf_putc(out, '\n');
	return 0;
}

static int
feed(const char *piece, size_t len, void *arg)
{
	struct parser *p = arg;

	return sse_feed(p->s, piece, len, on_event, &p->out);
}

static char *
run_parser(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap, void *ctx)
{
	struct parser p = { .s = sse_new(cap) };
	int rc;

	(void)ctx;
	rc = tcase_feed(in, len, cuts, ncuts, feed, &p);
	if (rc == 0)
		rc = sse_finish(p.s, on_event, &p.out);
	if (sse_retry_ms(p.s) >= 0)
		buf_printf(&p.out, "retry=%lld\n", (long long)sse_retry_ms(p.s));
	if (rc == SSE_TOO_LONG)
		buf_puts(&p.out, "too_long\n");
	else if (rc != 0)
		buf_printf(&p.out, "rc %d\n", rc);
	sse_free(p.s);
	return buf_steal(&p.out);
}

static void
test_case(void **state)
{
	tcase_run(DATA_DIR, *state, run_parser, NULL);
}

static int
count_event(const struct sse_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
	return 0;
}

/* A server that never ends a line must fail at the cap, not grow forever. */
static void
test_cap_without_newline(void **state)
{
	struct sse *s = sse_new(1000);
	char chunk[300];
	int events = 0, rc = 0, feeds = 0;

	(void)state;
	memset(chunk, 'x', sizeof chunk);
	memcpy(chunk, "data: ", 6);
	while (rc == 0 && feeds < 100) {
		rc = sse_feed(s, chunk, sizeof chunk, count_event, &events);
		feeds++;
	}
	assert_int_equal(rc, SSE_TOO_LONG);
	assert_int_equal(feeds, 4);
	assert_int_equal(sse_feed(s, "data: x\n\n", 9, count_event, &events), SSE_TOO_LONG);
	assert_int_equal(sse_finish(s, count_event, &events), SSE_TOO_LONG);
	assert_int_equal(events, 0);
	sse_free(s);
}

/* Many short data lines in one event are capped as a whole too. */
static void
test_cap_on_event_data(void **state)
{
	struct sse *s = sse_new(64);
	int events = 0, rc = 0, feeds = 0;

	(void)state;
	while (rc == 0 && feeds < 100) {
		rc = sse_feed(s, "data: 0123456789\n", 17, count_event, &events);
		feeds++;
	}
	assert_int_equal(rc, SSE_TOO_LONG);
	assert_int_equal(feeds, 6); /* 5 lines of 11 bytes fit in 64 */
	assert_int_equal(events, 0);
	sse_free(s);
}

static int
stop_at_b(const struct sse_event *ev, void *arg)
{
	(*(int *)arg)++;
	return strcmp(ev->data, "b") == 0 ? 7 : 0;
}

static void
test_callback_stops(void **state)
{
	struct sse *s = sse_new(0);
	int seen = 0;
	static const char in[] = "data: a\n\ndata: b\n\ndata: c\n\n";

	(void)state;
	assert_int_equal(sse_feed(s, in, sizeof in - 1, stop_at_b, &seen), 7);
	assert_int_equal(seen, 2);
	sse_free(s);
}

static void
test_retry_unset(void **state)
{
	struct sse *s = sse_new(0);
	int seen = 0;

	(void)state;
	assert_int_equal(sse_retry_ms(s), -1);
	assert_int_equal(sse_feed(s, "retry: 12x\n", 11, count_event, &seen), 0);
	assert_int_equal(sse_retry_ms(s), -1);
	assert_int_equal(sse_feed(s, "retry: 1500\n", 12, count_event, &seen), 0);
	assert_int_equal(sse_retry_ms(s), 1500);
	sse_free(s);
	sse_free(NULL);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_cap_without_newline),
		cmocka_unit_test(test_cap_on_event_data),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_retry_unset),
	};
	struct tcase_tests ts;

	tcase_tests_init(&ts, fixed, sizeof fixed / sizeof fixed[0]);
	tcase_add_cases(&ts, DATA_DIR, test_case);
	return tcase_run_tests("sse", &ts);
}
