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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ndjson.h"
#include "tcase.h"
#include "util.h"
#include "wire_ollama.h"

#define CHAT_DIR "tests/data/ollama_chat"
#define PULL_DIR "tests/data/ollama_pull"

struct run {
	struct tcase_evdump d;
	struct ndjson *n;
	int last; /* last decoder return value */
	bool pull;
};

static void
on_pull(const struct wire_pull_ev *ev, void *arg)
{
	struct run *r = arg;

	if (ev->error != NULL) {
		buf_puts(&r->d.out, "pull_error ");
		tcase_dump_str(&r->d.out, ev->error, strlen(ev->error));
		buf_putc(&r->d.out, '\n');
		return;
	}
	buf_puts(&r->d.out, "pull ");
	tcase_dump_str(&r->d.out, ev->status, strlen(ev->status));
	buf_printf(&r->d.out, " %s %lld/%lld\n", ev->digest ? ev->digest : "-", (long long)ev->total, (long long)ev->completed);
}

/* Decoder returns 1 after DONE and -1 after ERROR: both end the stream. */
static int
on_line(const char *line, size_t len, void *arg)
{
	struct run *r = arg;

	if (r->pull)
		r->last = wire_ollama_pull_line(line, len, on_pull, r);
	else
		r->last = wire_ollama_chat_line(line, len, tcase_on_ev, &r->d);
	return r->last != 0 ? r->last : 0;
}

static int
feed(const char *piece, size_t len, void *arg)
{
	struct run *r = arg;

	return ndjson_feed(r->n, piece, len, on_line, r);
}

/* ctx points to the pull flag: pull progress rather than chat. */
static char *
run_stream(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap, void *ctx)
{
	struct run r = { .d.input = in, .n = ndjson_new(0), .pull = *(bool *)ctx };
	int rc;

	(void)cap;
	rc = tcase_feed(in, len, cuts, ncuts, feed, &r);
	if (rc == 0)
		rc = ndjson_finish(r.n, on_line, &r);
	if (rc == NDJSON_TOO_LONG)
		buf_puts(&r.d.out, "too_long\n");
	else if (!r.pull && rc == 0)
		buf_puts(&r.d.out, "truncated\n");
	ndjson_free(r.n);
	return buf_steal(&r.d.out);
}

static void
test_chat_case(void **state)
{
	bool pull = false;

	tcase_run(CHAT_DIR, *state, run_stream, &pull);
}

static void
test_pull_case(void **state)
{
	bool pull = true;

	tcase_run(PULL_DIR, *state, run_stream, &pull);
}

/* ---- request encoder ---- */

static void
test_request_options(void **state)
{
	struct llm_msg m[] = { { .role = (char *)"user", .content = (char *)"hi" } };
	struct llm_req req = { .model = "llama3.2", .msgs = m, .nmsgs = 1, .stream = true };
	json_t *body;

	(void)state;
	req.options = tcase_jparse("{\"max_tokens\":128,\"num_ctx\":8192,\"temperature\":0.5,\"top_k\":20,"
	                           "\"min_p\":0.05,\"seed\":7,\"stop\":\"###\",\"repeat_penalty\":1.1,\"keep_alive\":\"300\","
	                           "\"presence_penalty\":null}");
	body = wire_ollama_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"llama3.2\",\"stream\":true,"
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
		json_t *body, *want = tcase_jparse(cases[i].out);

		req.options = tcase_jparse(opts);
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
	req.options = tcase_jparse("{\"stop\":[\"a\",\"b\"]}");
	for (size_t i = 0; i < sizeof thinks / sizeof thinks[0]; i++) {
		json_t *want = tcase_jparse(thinks[i].out);

		req.think = thinks[i].think;
		body = wire_ollama_chat_request(&req);
		assert_true(json_equal(json_object_get(body, "think"), want));
		tcase_assert_json(json_object_get(body, "options"), "{\"stop\":[\"a\",\"b\"]}");
		json_decref(want);
		json_decref(body);
	}
	json_decref(req.options);
	req.options = NULL;
	req.think = NULL;
	body = wire_ollama_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"qwen3\",\"messages\":[],\"stream\":false}");
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
	req.tools = tcase_jparse("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]");
	req.format = tcase_jparse("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
	body = wire_ollama_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"llava\",\"stream\":false,\"messages\":["
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
	m[1].tool_calls = tcase_jparse("[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	                               "\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}},"
	                               "{\"type\":\"function\",\"function\":{\"name\":\"get_sky\",\"arguments\":{\"at\":\"noon\"}}}]");
	body = wire_ollama_chat_request(&req);
	tcase_assert_json(json_object_get(body, "messages"),
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
	struct tcase_evdump d = { .input = body };
	char *got;

	(void)state;
	assert_int_equal(wire_ollama_chat_body(body, sizeof body - 1, tcase_on_ev, &d), 1);
	got = buf_steal(&d.out);
	assert_string_equal(got, "thinking \"hmm\"\ntoken \"Hello there\"\n"
	                         "tool_call 0 <generated> f {}\ndone prompt=3 reply=2 finish=stop\n");
	free(got);

	d.input = "";
	assert_int_equal(wire_ollama_chat_body("{\"error\":\"model 'nope' not found\"}", 34, tcase_on_ev, &d), -1);
	got = buf_steal(&d.out);
	assert_string_equal(got, "error backend \"model 'nope' not found\"\n");
	free(got);
	assert_int_equal(wire_ollama_chat_body("<html>", 6, tcase_on_ev, &d), -1);
	got = buf_steal(&d.out);
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
	struct tcase_evdump d = { .input = line };
	char *got, *a, *b;

	(void)state;
	assert_int_equal(wire_ollama_chat_line(line, sizeof line - 1, tcase_on_ev, &d), 0);
	got = buf_steal(&d.out);
	assert_string_equal(got, "tool_call 0 <generated> a {}\ntool_call 1 <generated> b {}\n");
	free(got);
	/* Two generated ids in one reply must not collide. */
	d.raw_ids = true;
	wire_ollama_chat_line(line, sizeof line - 1, tcase_on_ev, &d);
	got = buf_steal(&d.out);
	a = strstr(got, "call_");
	assert_non_null(a);
	b = strstr(a + 1, "call_");
	assert_non_null(b);
	assert_memory_not_equal(a, b, 13);
	free(got);
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
	struct tcase_tests ts;

	tcase_tests_init(&ts, fixed, sizeof fixed / sizeof fixed[0]);
	tcase_add_cases(&ts, CHAT_DIR, test_chat_case);
	tcase_add_cases(&ts, PULL_DIR, test_pull_case);
	return tcase_run_tests("wire_ollama", &ts);
}
