/*
 * test_ndjson.c: the NDJSON framer. Data-driven cases live in
 * tests/data/ndjson/<case>/ (input, expected, optional cap); each input is
 * fed whole, one byte per feed, and split in two at every position, and all
 * must give the expected dump: one `line "<json-escaped>"` per line, then
 * `too_long` if the framer gave up. Hand-written tests below cover the cap
 * and the callback's stop value.
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
#include "ndjson.h"
#include "util.h"

#define DATA_DIR "tests/data/ndjson"

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
on_line(const char *line, size_t len, void *arg)
{
	struct buf *out = arg;

	assert_int_equal(line[len], '\0');
	assert_true(len > 0);
	assert_true(line[len - 1] != '\r');
	assert_null(memchr(line, '\n', len));
	buf_puts(out, "line ");
	dump_str(out, line, len);
	buf_putc(out, '\n');
	return 0;
}

/* Feed in[0..len) cut at cuts[], each piece in its own exact-size copy so
 * the sanitizer sees any read past a piece. */
static char *
run_framer(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap)
{
	struct ndjson *n = ndjson_new(cap);
	struct buf out = { 0 };
	size_t at = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = xmalloc(to - at);

		memcpy(piece, in + at, to - at);
		rc = ndjson_feed(n, piece, to - at, on_line, &out);
		free(piece);
		at = to;
	}
	if (rc == 0)
		rc = ndjson_finish(n, on_line, &out);
	if (rc == NDJSON_TOO_LONG)
		buf_puts(&out, "too_long\n");
	else if (rc != 0)
		buf_printf(&out, "rc %d\n", rc);
	ndjson_free(n);
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
		cmocka_unit_test(test_cap_boundary),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_free_null),
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
	rc = _cmocka_run_group_tests("ndjson", tests, n + nfixed, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
