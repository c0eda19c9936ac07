/*
 * tcase.c: the harness of the data-driven unit tests (see tcase.h): run a
 * case folder through a test's parser fed whole, byte by byte and split at
 * every position; dump strings and LLM events; compare JSON; make one
 * cmocka test per case folder.
 */
#include "tcase.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void
check_dump(const char *name, const char *mode, const char *want, const char *got)
{
	if (strcmp(want, got) != 0) {
		print_error("case %s (%s)\n--- expected\n%s--- actual\n%s", name, mode, want, got);
		fail();
	}
}

void
tcase_run(const char *dir, const char *name, tcase_run_fn run, void *ctx)
{
	char *path, *in, *want, *got, *capstr;
	size_t len, cap = 0, *cuts;

	path = xasprintf("%s/%s/input", dir, name);
	in = util_read_file(path, &len, 0, NULL);
	assert_non_null(in);
	free(path);
	path = xasprintf("%s/%s/expected", dir, name);
	want = util_read_file(path, NULL, 0, NULL);
	assert_non_null(want);
	free(path);
	path = xasprintf("%s/%s/cap", dir, name);
	if ((capstr = util_read_file(path, NULL, 0, NULL)) != NULL)
		cap = (size_t)strtoul(capstr, NULL, 10);
	free(capstr);
	free(path);

	got = run(in, len, NULL, 0, cap, ctx);
	check_dump(name, "whole", want, got);
	free(got);

	cuts = xcalloc(len + 1, sizeof *cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	got = run(in, len, cuts, len ? len - 1 : 0, cap, ctx);
	check_dump(name, "byte by byte", want, got);
	free(got);

	for (size_t i = 1; len < 8192 && i < len; i++) {
		char mode[64];

		got = run(in, len, &i, 1, cap, ctx);
		snprintf(mode, sizeof mode, "split at %zu", i);
		check_dump(name, mode, want, got);
		free(got);
	}
	free(cuts);
	free(in);
	free(want);
}

int
tcase_feed(const char *in, size_t len, const size_t *cuts, size_t ncuts, tcase_feed_fn feed, void *ctx)
{
	size_t at = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = xmalloc(to - at);

		memcpy(piece, in + at, to - at);
		rc = feed(piece, to - at, ctx);
		free(piece);
		at = to;
	}
	return rc;
}

void
tcase_dump_str(struct buf *out, const char *s, size_t len)
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

bool
tcase_generated_id_ok(const char *id)
{
	if (strlen(id) != 13 || strncmp(id, "call_", 5) != 0)
		return false;
	return strspn(id + 5, "abcdefghijklmnopqrstuvwxyz0123456789") == 8;
}

void
tcase_on_ev(const struct llm_ev *ev, void *dump)
{
	struct tcase_evdump *d = dump;
	struct buf *out = &d->out;
	const struct llm_stats *st;

	switch (ev->type) {
	case LLM_EV_TOKEN:
	case LLM_EV_THINKING:
		buf_puts(out, ev->type == LLM_EV_TOKEN ? "token " : "thinking ");
		tcase_dump_str(out, ev->text, ev->len);
		break;
	case LLM_EV_TOOL_CALL:
		buf_printf(out, "tool_call %d ", ev->call->index);
		if (d->raw_ids || strstr(d->input, ev->call->id) != NULL)
			buf_puts(out, ev->call->id);
		else if (tcase_generated_id_ok(ev->call->id))
			buf_puts(out, "<generated>");
		else
			buf_printf(out, "<bad id %s>", ev->call->id);
		buf_printf(out, " %s %s", ev->call->name, ev->call->args);
		break;
	case LLM_EV_DONE:
		st = ev->stats;
		buf_printf(out, "done prompt=%lld reply=%lld", (long long)st->prompt_tokens, (long long)st->reply_tokens);
		if (st->total_ns)
			buf_printf(out, " total=%lld", (long long)st->total_ns);
		if (st->load_ns)
			buf_printf(out, " load=%lld", (long long)st->load_ns);
		if (st->prompt_ns)
			buf_printf(out, " prompt_ns=%lld", (long long)st->prompt_ns);
		if (st->eval_ns)
			buf_printf(out, " eval_ns=%lld", (long long)st->eval_ns);
		buf_printf(out, " finish=%s", st->finish);
		break;
	case LLM_EV_ERROR:
		buf_printf(out, "error %s ", llm_err_name(ev->err));
		tcase_dump_str(out, ev->text, ev->len);
		break;
	}
	buf_putc(out, '\n');
}

void
tcase_assert_json(json_t *got, const char *want_text)
{
	json_error_t err;
	json_t *want = json_loads(want_text, 0, &err);

	if (want == NULL) {
		print_error("bad expected JSON: %s\n", err.text);
		fail();
	}
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);

		print_error("--- expected\n%s\n--- actual\n%s\n", w, g);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

json_t *
tcase_jparse(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	assert_non_null(j);
	return j;
}

void
tcase_tests_init(struct tcase_tests *ts, const struct CMUnitTest *fixed, size_t nfixed)
{
	*ts = (struct tcase_tests){ 0 };
	ts->t = xcalloc(nfixed, sizeof *ts->t);
	memcpy(ts->t, fixed, nfixed * sizeof *ts->t);
	ts->n = nfixed;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
tcase_add_cases(struct tcase_tests *ts, const char *dir, CMUnitTestFunction fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = ts->nnames;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s (run from the repository root)\n", dir);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		ts->names = xreallocarray(ts->names, ts->nnames + 1, sizeof *ts->names);
		ts->names[ts->nnames++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (ts->nnames > first)
		qsort(ts->names + first, ts->nnames - first, sizeof *ts->names, name_cmp);
	ts->t = xreallocarray(ts->t, ts->n + ts->nnames - first, sizeof *ts->t);
	for (size_t i = first; i < ts->nnames; i++) {
		memset(&ts->t[ts->n], 0, sizeof *ts->t);
		ts->t[ts->n].name = ts->names[i];
		ts->t[ts->n].test_func = fn;
		ts->t[ts->n].initial_state = ts->names[i];
		ts->n++;
	}
}

int
tcase_run_tests(const char *group, struct tcase_tests *ts)
{
	int rc = _cmocka_run_group_tests(group, ts->t, ts->n, NULL, NULL);

	for (size_t i = 0; i < ts->nnames; i++)
		free(ts->names[i]);
	free(ts->names);
	free(ts->t);
	*ts = (struct tcase_tests){ 0 };
	return rc;
}
