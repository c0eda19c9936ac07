/*
 * test_wire_ollama.c: Ollama's /api wire format. Streams are data-driven:
 * tests/data/ollama_chat/<case>/ and tests/data/ollama_pull/<case>/ hold the
 * raw NDJSON body (input) and the events it must give (expected). Each input
 * goes through the real framer fed whole, one byte per feed and split in two
 * at every position. The chat dump is one line per event:
 *   token "<json>" | thinking "<json>" | tool_call <index> <id> <name> <args>
 *   done prompt=N reply=N [total=..] [load=..] [prompt_ns=..] [eval_ns=..] finish=F
 *   error <kind> "<json>"
 * then `truncated` if the body ended with neither done nor an error. A
 * call id the server did not send is printed as <generated> once it is
 * checked to look like call_ + 8 of [a-z0-9]. The request encoder is
 * checked against exact JSON.
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
#include "wire_ollama.h"

#define CHAT_DIR "tests/data/ollama_chat"
#define PULL_DIR "tests/data/ollama_pull"

struct run {
	struct buf out;
	const char *input; /* whole input, to tell sent ids from generated ones */
	int last; /* last decoder return value */
	bool pull;
	bool raw_ids; /* print generated ids as they are */
};

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

static bool
generated_id_ok(const char *id)
{
	if (strlen(id) != 13 || strncmp(id, "call_", 5) != 0)
		return false;
	return strspn(id + 5, "abcdefghijklmnopqrstuvwxyz0123456789") == 8;
}

static void
on_ev(const struct llm_ev *ev, void *arg)
{
	struct run *r = arg;
	struct buf *out = &r->out;
	const struct llm_stats *st;

	switch (ev->type) {
	case LLM_EV_TOKEN:
	case LLM_EV_THINKING:
		buf_puts(out, ev->type == LLM_EV_TOKEN ? "token " : "thinking ");
		dump_str(out, ev->text, ev->len);
		break;
	case LLM_EV_TOOL_CALL:
		buf_printf(out, "tool_call %d ", ev->call->index);
		if (r->raw_ids || strstr(r->input, ev->call->id) != NULL)
			buf_puts(out, ev->call->id);
		else if (generated_id_ok(ev->call->id))
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
		dump_str(out, ev->text, ev->len);
		break;
	}
	buf_putc(out, '\n');
}

static void
on_pull(const struct wire_pull_ev *ev, void *arg)
{
	struct run *r = arg;

	if (ev->error != NULL) {
		buf_puts(&r->out, "pull_error ");
		dump_str(&r->out, ev->error, strlen(ev->error));
		buf_putc(&r->out, '\n');
		return;
	}
	buf_puts(&r->out, "pull ");
	dump_str(&r->out, ev->status, strlen(ev->status));
	buf_printf(&r->out, " %s %lld/%lld\n", ev->digest ? ev->digest : "-", (long long)ev->total, (long long)ev->completed);
}

/* Decoder returns 1 after DONE and -1 after ERROR: both end the stream. */
static int
on_line(const char *line, size_t len, void *arg)
{
	struct run *r = arg;

	if (r->pull)
		r->last = wire_ollama_pull_line(line, len, on_pull, r);
	else
		r->last = wire_ollama_chat_line(line, len, on_ev, r);
	return r->last != 0 ? r->last : 0;
}

static char *
run_stream(bool pull, const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
	struct ndjson *n = ndjson_new(0);
	struct run r = { .input = in, .pull = pull };
	size_t at = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = xmalloc(to - at);

		memcpy(piece, in + at, to - at);
		rc = ndjson_feed(n, piece, to - at, on_line, &r);
		free(piece);
		at = to;
	}
	if (rc == 0)
		rc = ndjson_finish(n, on_line, &r);
	if (rc == NDJSON_TOO_LONG)
		buf_puts(&r.out, "too_long\n");
	else if (!pull && rc == 0)
		buf_puts(&r.out, "truncated\n");
	ndjson_free(n);
	return buf_steal(&r.out);
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
run_case(const char *dir, bool pull, const char *name)
{
	char *path, *in, *want, *got;
	size_t len, *cuts;

	path = xasprintf("%s/%s/input", dir, name);
	in = util_read_file(path, &len, 0, NULL);
	assert_non_null(in);
	free(path);
	path = xasprintf("%s/%s/expected", dir, name);
	want = util_read_file(path, NULL, 0, NULL);
	assert_non_null(want);
	free(path);

	got = run_stream(pull, in, len, NULL, 0);
	check_dump(name, "whole", want, got);
	free(got);
	cuts = xcalloc(len + 1, sizeof *cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	got = run_stream(pull, in, len, cuts, len ? len - 1 : 0);
	check_dump(name, "byte by byte", want, got);
	free(got);
	for (size_t i = 1; len < 8192 && i < len; i++) {
		char mode[64];

		got = run_stream(pull, in, len, &i, 1);
		snprintf(mode, sizeof mode, "split at %zu", i);
		check_dump(name, mode, want, got);
		free(got);
	}
	free(cuts);
	free(in);
	free(want);
}

static void
test_chat_case(void **state)
{
	run_case(CHAT_DIR, false, *state);
}

static void
test_pull_case(void **state)
{
	run_case(PULL_DIR, true, *state);
}

/* ---- request encoder ---- */

static void
assert_json(json_t *got, const char *want_text)
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

static json_t *
jparse(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	assert_non_null(j);
	return j;
}

static void
test_request_options(void **state)
{
	struct llm_msg m[] = { { .role = (char *)"user", .content = (char *)"hi" } };
	struct llm_req req = { .model = "llama3.2", .msgs = m, .nmsgs = 1, .stream = true };
	json_t *body;

	(void)state;
	req.options = jparse("{\"max_tokens\":128,\"num_ctx\":8192,\"temperature\":0.5,\"top_k\":20,"
	                     "\"min_p\":0.05,\"seed\":7,\"stop\":\"###\",\"repeat_penalty\":1.1,\"keep_alive\":\"300\","
	                     "\"presence_penalty\":null}");
	body = wire_ollama_chat_request(&req);
	assert_json(body, "{\"model\":\"llama3.2\",\"stream\":true,"
	                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	                  "\"keep_alive\":300,"
	                  "\"options\":{\"num_predict\":128,\"num_ctx\":8192,\"temperature\":0.5,\"top_k\":20,"
	                  "\"min_p\":0.05,\"seed\":7,\"stop\":[\"###\"],\"repeat_penalty\":1.1}}");
	/* max_tokens must never turn into a context size. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "options"), "num_ctx")), 8192);
	json_decref(body);
	json_decref(req.options);
}

static void
test_request_keep_alive_forms(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\"5m\"", "\"5m\"" },
		{ "\"0\"", "0" },
		{ "\"-1\"", "-1" },
		{ "600", "600" },
		{ "\"1.5\"", "1.5" },
		{ "\"1h30m\"", "\"1h30m\"" },
	};
	struct llm_req req = { .model = "m" };

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *opts = xasprintf("{\"keep_alive\":%s}", cases[i].in);
		json_t *body, *want = jparse(cases[i].out);

		req.options = jparse(opts);
		body = wire_ollama_chat_request(&req);
		assert_true(json_equal(json_object_get(body, "keep_alive"), want));
		/* Nothing is left for the options object. */
		assert_null(json_object_get(body, "options"));
		json_decref(body);
		json_decref(want);
		json_decref(req.options);
		free(opts);
	}
}

static void
test_request_stop_array_and_think(void **state)
{
	static const struct {
		const char *think, *out;
	} thinks[] = {
		{ "true", "true" },
		{ "false", "false" },
		{ "low", "\"low\"" },
		{ "high", "\"high\"" },
		{ "max", "\"max\"" },
	};
	struct llm_req req = { .model = "qwen3" };
	json_t *body;

	(void)state;
	req.options = jparse("{\"stop\":[\"a\",\"b\"]}");
	for (size_t i = 0; i < sizeof thinks / sizeof thinks[0]; i++) {
		json_t *want = jparse(thinks[i].out);

		req.think = thinks[i].think;
		body = wire_ollama_chat_request(&req);
		assert_true(json_equal(json_object_get(body, "think"), want));
		assert_json(json_object_get(body, "options"), "{\"stop\":[\"a\",\"b\"]}");
		json_decref(want);
		json_decref(body);
	}
	json_decref(req.options);
	req.options = NULL;
	req.think = NULL;
	body = wire_ollama_chat_request(&req);
	assert_json(body, "{\"model\":\"qwen3\",\"messages\":[],\"stream\":false}");
	json_decref(body);
}

static void
test_request_images_format_tools(void **state)
{
	struct llm_image img[] = { { .mime = (char *)"image/png", .b64 = (char *)"iVBORw0KGgo=" } };
	struct llm_msg m[] = {
		{ .role = (char *)"system", .content = (char *)"be brief" },
		{ .role = (char *)"user", .content = (char *)"what is this?", .images = img, .nimages = 1 },
	};
	struct llm_req req = { .model = "llava", .msgs = m, .nmsgs = 2 };
	json_t *body;

	(void)state;
	req.tools = jparse("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]");
	req.format = jparse("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
	body = wire_ollama_chat_request(&req);
	assert_json(body, "{\"model\":\"llava\",\"stream\":false,\"messages\":["
	                  "{\"role\":\"system\",\"content\":\"be brief\"},"
	                  "{\"role\":\"user\",\"content\":\"what is this?\",\"images\":[\"iVBORw0KGgo=\"]}],"
	                  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],"
	                  "\"format\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}");
	json_decref(body);
	json_decref(req.format);
	req.format = json_string("json");
	body = wire_ollama_chat_request(&req);
	assert_string_equal(json_string_value(json_object_get(body, "format")), "json");
	json_decref(body);
	json_decref(req.format);
	json_decref(req.tools);
}

/* protocols.md 7.2: the assistant's call and the tool result, resent. */
static void
test_request_tool_history(void **state)
{
	struct llm_msg m[] = {
		{ .role = (char *)"user", .content = (char *)"weather in Tokyo?" },
		{ .role = (char *)"assistant", .content = (char *)"", .thinking = (char *)"never resent" },
		{ .role = (char *)"tool", .content = (char *)"11 degrees celsius", .tool_call_id = (char *)"call_abc" },
		{ .role = (char *)"tool", .content = (char *)"sunny", .tool_name = (char *)"get_sky" },
	};
	struct llm_req req = { .model = "llama3.2", .msgs = m, .nmsgs = 4, .stream = true };
	json_t *body;

	(void)state;
	m[1].tool_calls = jparse("[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	                         "\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}},"
	                         "{\"type\":\"function\",\"function\":{\"name\":\"get_sky\",\"arguments\":{\"at\":\"noon\"}}}]");
	body = wire_ollama_chat_request(&req);
	assert_json(json_object_get(body, "messages"),
	    "[{\"role\":\"user\",\"content\":\"weather in Tokyo?\"},"
	    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
	    "{\"id\":\"call_abc\",\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Tokyo\"}}},"
	    "{\"function\":{\"name\":\"get_sky\",\"arguments\":{\"at\":\"noon\"}}}]},"
	    "{\"role\":\"tool\",\"content\":\"11 degrees celsius\",\"tool_name\":\"get_weather\",\"tool_call_id\":\"call_abc\"},"
	    "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":\"get_sky\"}]");
	json_decref(body);
	json_decref(m[1].tool_calls);
}

/* ---- whole bodies and errors ---- */

static void
test_chat_body(void **state)
{
	static const char body[] = "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hello there\","
	                           "\"thinking\":\"hmm\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{}}}]},"
	                           "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":3,\"eval_count\":2}";
	struct run r = { .input = body };
	char *got;

	(void)state;
	assert_int_equal(wire_ollama_chat_body(body, sizeof body - 1, on_ev, &r), 1);
	got = buf_steal(&r.out);
	assert_string_equal(got, "thinking \"hmm\"\ntoken \"Hello there\"\n"
	                         "tool_call 0 <generated> f {}\ndone prompt=3 reply=2 finish=stop\n");
	free(got);

	r.input = "";
	assert_int_equal(wire_ollama_chat_body("{\"error\":\"model 'nope' not found\"}", 34, on_ev, &r), -1);
	got = buf_steal(&r.out);
	assert_string_equal(got, "error backend \"model 'nope' not found\"\n");
	free(got);
	assert_int_equal(wire_ollama_chat_body("<html>", 6, on_ev, &r), -1);
	got = buf_steal(&r.out);
	assert_string_equal(got, "error backend \"malformed line from server: <html>\"\n");
	free(got);
}

static char *
error_of(const char *body)
{
	return wire_ollama_error(body, strlen(body));
}

static void
test_error_body(void **state)
{
	char *e;

	(void)state;
	e = error_of("{\"error\":\"model 'x' not found\"}");
	assert_non_null(e);
	assert_string_equal(e, "model 'x' not found");
	free(e);
	assert_null(error_of("{\"status\":\"ok\"}"));
	assert_null(error_of("404 page not found"));
	assert_null(error_of(""));
	e = error_of("{\"error\":{\"message\":\"proxied\"}}");
	assert_string_equal(e, "proxied");
	free(e);
}

static void
test_generated_ids_differ(void **state)
{
	static const char line[] = "{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"a\",\"arguments\":{}}},"
	                           "{\"function\":{\"name\":\"b\",\"arguments\":{}}}]},\"done\":false}";
	struct run r = { .input = line };
	char *got, *a, *b;

	(void)state;
	assert_int_equal(wire_ollama_chat_line(line, sizeof line - 1, on_ev, &r), 0);
	got = buf_steal(&r.out);
	assert_string_equal(got, "tool_call 0 <generated> a {}\ntool_call 1 <generated> b {}\n");
	free(got);
	/* Two generated ids in one reply must not collide. */
	r.raw_ids = true;
	wire_ollama_chat_line(line, sizeof line - 1, on_ev, &r);
	got = buf_steal(&r.out);
	a = strstr(got, "call_");
	assert_non_null(a);
	b = strstr(a + 1, "call_");
	assert_non_null(b);
	assert_memory_not_equal(a, b, 13);
	free(got);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append one test per case folder under dir. */
static size_t
add_cases(const char *dir, CMUnitTestFunction fn, struct CMUnitTest **tests, size_t n, char ***names, size_t *nnames)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = *nnames;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s (run from the repository root)\n", dir);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*names = xreallocarray(*names, *nnames + 1, sizeof **names);
		(*names)[(*nnames)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*nnames > first)
		qsort(*names + first, *nnames - first, sizeof **names, name_cmp);
	*tests = xreallocarray(*tests, n + *nnames - first, sizeof **tests);
	for (size_t i = first; i < *nnames; i++) {
		memset(&(*tests)[n], 0, sizeof **tests);
		(*tests)[n].name = (*names)[i];
		(*tests)[n].test_func = fn;
		(*tests)[n].initial_state = (*names)[i];
		n++;
	}
	return n;
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_request_options),
		cmocka_unit_test(test_request_keep_alive_forms),
		cmocka_unit_test(test_request_stop_array_and_think),
		cmocka_unit_test(test_request_images_format_tools),
		cmocka_unit_test(test_request_tool_history),
		cmocka_unit_test(test_chat_body),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_generated_ids_differ),
	};
	size_t nfixed = sizeof fixed / sizeof fixed[0], n, nnames = 0;
	struct CMUnitTest *tests = xcalloc(nfixed, sizeof *tests);
	char **names = NULL;
	int rc;

	memcpy(tests, fixed, sizeof fixed);
	n = add_cases(CHAT_DIR, test_chat_case, &tests, nfixed, &names, &nnames);
	n = add_cases(PULL_DIR, test_pull_case, &tests, n, &names, &nnames);
	rc = _cmocka_run_group_tests("wire_ollama", tests, n, NULL, NULL);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
