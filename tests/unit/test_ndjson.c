/*
 * test_ndjson.c: the NDJSON framer. Data-driven cases live in
 * tests/data/ndjson/<case>/ (input, expected, optional cap); each input is
 * fed whole, one byte per feed, and split in two at every position, and all
 * must give the expected dump: one `line "<json-escaped>"` per line, then
 * `too_long` if the framer gave up. Hand-written tests below cover the cap
 * and the callback's stop value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ndjson.h"
#include "tcase.h"
#include "util.h"

#define DATA_DIR "tests/data/ndjson"

struct framer {
	struct ndjson *n;
	struct buf out;
};

static int
on_line(const char *line, size_t len, void *arg)
{
	struct buf *out = arg;

	assert_int_equal(line[len], '\0');
	assert_true(len > 0);
	assert_true(line[len - 1] != '\r');
	assert_null(memchr(line, '\n', len));
	buf_puts(out, "line ");
	tcase_dump_str(out, line, len);
	buf_putc(out, '\n');
	return 0;
}

static int
feed(const char *piece, size_t len, void *arg)
{
	struct framer *f = arg;

	return ndjson_feed(f->n, piece, len, on_line, &f->out);
}

static char *
run_framer(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap, void *ctx)
{
	struct framer f = { .n = ndjson_new(cap) };
	int rc;

	(void)ctx;
	rc = tcase_feed(in, len, cuts, ncuts, feed, &f);
	if (rc == 0)
		rc = ndjson_finish(f.n, on_line, &f.out);
	if (rc == NDJSON_TOO_LONG)
		buf_puts(&f.out, "too_long\n");
	else if (rc != 0)
		buf_printf(&f.out, "rc %d\n", rc);
	ndjson_free(f.n);
	return buf_steal(&f.out);
}

static void
test_case(void **state)
{
	tcase_run(DATA_DIR, *state, run_framer, NULL);
}

static int
count_line(const char *line, size_t len, void *arg)
{
	(void)line;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* A stream that never ends a line must fail at the cap, not grow forever. */
static void
test_cap_without_newline(void **state)
{
	struct ndjson *n = ndjson_new(1000);
	char chunk[300];
	int lines = 0, rc = 0, feeds = 0;

	(void)state;
	memset(chunk, 'x', sizeof chunk);
	while (rc == 0 && feeds < 100) {
		rc = ndjson_feed(n, chunk, sizeof chunk, count_line, &lines);
		feeds++;
	}
	assert_int_equal(rc, NDJSON_TOO_LONG);
	assert_int_equal(feeds, 4); /* 900 bytes fit, 1200 do not */
	/* The stream stays unusable, even for a well-formed line. */
	assert_int_equal(ndjson_feed(n, "{}\n", 3, count_line, &lines), NDJSON_TOO_LONG);
	assert_int_equal(ndjson_finish(n, count_line, &lines), NDJSON_TOO_LONG);
	assert_int_equal(lines, 0);
	ndjson_free(n);
}

/* Exactly max bytes is allowed, with or without a trailing CR; one more is not. */
static void
test_cap_boundary(void **state)
{
	struct ndjson *n;
	int lines = 0;

	(void)state;
	n = ndjson_new(4);
	assert_int_equal(ndjson_feed(n, "abcd\n", 5, count_line, &lines), 0);
	assert_int_equal(ndjson_feed(n, "ab", 2, count_line, &lines), 0);
	assert_int_equal(ndjson_feed(n, "cd\r\n", 4, count_line, &lines), 0);
	assert_int_equal(lines, 2);
	assert_int_equal(ndjson_feed(n, "abcde\n", 6, count_line, &lines), NDJSON_TOO_LONG);
	ndjson_free(n);
	n = ndjson_new(4);
	assert_int_equal(ndjson_feed(n, "abcd", 4, count_line, &lines), 0);
	assert_int_equal(ndjson_feed(n, "e", 1, count_line, &lines), NDJSON_TOO_LONG);
	ndjson_free(n);
}

static int
stop_at_second(const char *line, size_t len, void *arg)
{
	int *seen = arg;

	(void)len;
	(*seen)++;
	return strcmp(line, "b") == 0 ? 42 : 0;
}

static void
test_callback_stops(void **state)
{
	struct ndjson *n = ndjson_new(0);
	int seen = 0;

	(void)state;
	assert_int_equal(ndjson_feed(n, "a\nb\nc\n", 6, stop_at_second, &seen), 42);
	assert_int_equal(seen, 2);
	ndjson_free(n);
}

static void
test_free_null(void **state)
{
	(void)state;
	ndjson_free(NULL);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_cap_without_newline),
		cmocka_unit_test(test_cap_boundary),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_free_null),
	};
	struct tcase_tests ts;

	tcase_tests_init(&ts, fixed, sizeof fixed / sizeof fixed[0]);
	tcase_add_cases(&ts, DATA_DIR, test_case);
	return tcase_run_tests("ndjson", &ts);
}
