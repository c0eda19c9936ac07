/*
 * test_sse.c: the Server-Sent Events parser. Data-driven cases live in
 * tests/data/sse/<case>/ (input, expected, optional cap); each input is fed
 * whole, one byte per feed, and split in two at every position, and all must
 * give the expected dump: one `event <type> id=<json> <data as json>` per
 * event, then `retry=<ms>` if a retry field was seen, then `too_long` if
 * the parser gave up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "util.h"

#define DATA_DIR "tests/data/sse"

static void
dump_str(struct buf *out, const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	if (t != NULL)
		buf_puts(out, t);
	else
		for (size_t i = 0; i < len; i++)
			buf_printf(out, "\\x%02x", (unsigned char)s[i]);
	free(t);
	json_decref(j);
}

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct buf *out = arg;

	assert_int_equal(ev->data[ev->data_len], '\0');
	assert_true(ev->data_len > 0 || ev->data[0] == '\0');
	buf_printf(out, "event %s id=", ev->type);
	dump_str(out, ev->id, strlen(ev->id));
	buf_putc(out, ' ');
	dump_str(out, ev->data, ev->data_len);
	buf_putc(out, '\n');
	return 0;
}

/* Feed in[0..len) cut at cuts[], each piece in its own exact-size copy so
 * the sanitizer sees any read past a piece. */
static char *
run_framer(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap)
{
	struct sse *s = sse_new(cap);
	struct buf out = { 0 };
	size_t at = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = xmalloc(to - at);

		memcpy(piece, in + at, to - at);
		rc = sse_feed(s, piece, to - at, on_event, &out);
		free(piece);
		at = to;
	}
	if (rc == 0)
		rc = sse_finish(s, on_event, &out);
	if (sse_retry_ms(s) >= 0)
		buf_printf(&out, "retry=%lld\n", (long long)sse_retry_ms(s));
	if (rc == SSE_TOO_LONG)
		buf_puts(&out, "too_long\n");
	else if (rc != 0)
		buf_printf(&out, "rc %d\n", rc);
	sse_free(s);
	return buf_steal(&out);
}

static void
check_dump(const char *name, const char *mode, const char *want, const char *got)
{
	if (strcmp(want, got) != 0) {
		print_error("case %s (%s)\n--- expected\n%s--- actual\n%s", name, mode, want, got);
		fail();
	}
}

static void
test_case(void **state)
{
	const char *name = *state;
	char *path, *in, *want, *got, *capstr;
	size_t len, cap = 0, *cuts;

	path = xasprintf("%s/%s/input", DATA_DIR, name);
	in = util_read_file(path, &len, 0, NULL);
	assert_non_null(in);
	free(path);
	path = xasprintf("%s/%s/expected", DATA_DIR, name);
	want = util_read_file(path, NULL, 0, NULL);
	assert_non_null(want);
	free(path);
	path = xasprintf("%s/%s/cap", DATA_DIR, name);
	if ((capstr = util_read_file(path, NULL, 0, NULL)) != NULL)
		cap = (size_t)strtoul(capstr, NULL, 10);
	free(capstr);
	free(path);

	got = run_framer(in, len, NULL, 0, cap);
	check_dump(name, "whole", want, got);
	free(got);

	cuts = xcalloc(len + 1, sizeof *cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	got = run_framer(in, len, cuts, len ? len - 1 : 0, cap);
	check_dump(name, "byte by byte", want, got);
	free(got);

	for (size_t i = 1; len < 8192 && i < len; i++) {
		char mode[64];

		got = run_framer(in, len, &i, 1, cap);
		snprintf(mode, sizeof mode, "split at %zu", i);
		check_dump(name, mode, want, got);
		free(got);
	}
	free(cuts);
	free(in);
	free(want);
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

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	struct CMUnitTest *tests;
	char **names = NULL;
	size_t n = 0, nfixed = sizeof fixed / sizeof fixed[0];
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	int rc;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s (run from the repository root)\n", DATA_DIR);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	tests = xcalloc(n + nfixed, sizeof *tests);
	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < n; i++) {
		tests[nfixed + i].name = names[i];
		tests[nfixed + i].test_func = test_case;
		tests[nfixed + i].initial_state = names[i];
	}
	rc = _cmocka_run_group_tests("sse", tests, n + nfixed, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
