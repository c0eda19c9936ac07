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
 *
 * tests/data/ollama_request/<case>/ holds what Ollama clients send the
 * listener: body.json and either expected.json (the parsed request as
 * JSON: model, stream, think, options, format, tools, messages with their
 * images, tool calls and tool names; an id parley made up shows as
 * <generatedN>, numbered by first use) or cause (the exact error). Cases
 * named generate_* are /api/generate bodies. The listener's answer
 * encoders are checked against exact JSON.
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
#define REQUEST_DIR "tests/data/ollama_request"

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

/* ---- the listener's request decoder ---- */

/* An id parley made up (absent from the body) as <generatedN>. */
static json_t *
id_json(const char *id, const char *body, json_t *seen)
{
	json_t *n;
	char *name;

	if (id == NULL)
		return NULL;
	if (strstr(body, id) != NULL)
		return json_string(id);
	assert_true(tcase_generated_id_ok(id));
	if ((n = json_object_get(seen, id)) == NULL) {
		n = json_integer((json_int_t)json_object_size(seen) + 1);
		json_object_set_new(seen, id, n);
	}
	name = xasprintf("<generated%lld>", (long long)json_integer_value(n));
	n = json_string(name);
	free(name);
	return n;
}

static json_t *
request_json(const struct llm_req *req, const char *body)
{
	json_t *o = json_pack("{s:s, s:b}", "model", req->model, "stream", req->stream);
	json_t *msgs = json_array(), *seen = json_object();

	if (req->think != NULL)
		json_object_set_new(o, "think", json_string(req->think));
	if (json_object_size(req->options) > 0)
		json_object_set(o, "options", req->options);
	if (req->format != NULL)
		json_object_set(o, "format", req->format);
	if (req->tools != NULL)
		json_object_set(o, "tools", req->tools);
	assert_null(req->tool_choice);
	for (size_t i = 0; i < req->nmsgs; i++) {
		const struct llm_msg *m = &req->msgs[i];
		json_t *jm = json_pack("{s:s, s:s}", "role", m->role, "content", m->content);

		if (m->thinking != NULL)
			json_object_set_new(jm, "thinking", json_string(m->thinking));
		if (m->nimages > 0) {
			json_t *im = json_array();

			for (size_t k = 0; k < m->nimages; k++)
				json_array_append_new(im, json_pack("{s:s, s:s}", "mime", m->images[k].mime, "b64", m->images[k].b64));
			json_object_set_new(jm, "images", im);
		}
		if (m->tool_calls != NULL) {
			json_t *calls = json_deep_copy(m->tool_calls), *c;
			size_t k;

			json_array_foreach(calls, k, c)
			{
				json_object_set_new(c, "id", id_json(json_string_value(json_object_get(c, "id")), body, seen));
			}
			json_object_set_new(jm, "tool_calls", calls);
		}
		if (m->tool_name != NULL)
			json_object_set_new(jm, "tool_name", json_string(m->tool_name));
		if (m->tool_call_id != NULL)
			json_object_set_new(jm, "tool_call_id", id_json(m->tool_call_id, body, seen));
		json_array_append_new(msgs, jm);
	}
	json_object_set_new(o, "messages", msgs);
	json_decref(seen);
	return o;
}

static void
test_request_case(void **state)
{
	const char *name = *state;
	char *path, *cause = NULL, *want_cause, *text;
	json_t *body, *want;
	struct llm_req req;
	json_error_t err;
	int rc;

	path = xasprintf("%s/%s/body.json", REQUEST_DIR, name);
	text = util_read_file(path, NULL, 0, NULL);
	assert_non_null(text);
	body = json_loads(text, JSON_DECODE_ANY, &err);
	if (body == NULL)
		print_error("%s: %s\n", path, err.text);
	assert_non_null(body);
	free(path);
	rc = wire_ollama_parse_request(body, strncmp(name, "generate_", 9) == 0, &req, &cause);
	path = xasprintf("%s/%s/cause", REQUEST_DIR, name);
	want_cause = util_read_file(path, NULL, 0, NULL);
	free(path);
	if (want_cause != NULL) {
		want_cause[strcspn(want_cause, "\n")] = '\0';
		if (rc == 0)
			print_error("case %s: parsed, expected failure \"%s\"\n", name, want_cause);
		assert_int_equal(rc, -1);
		assert_non_null(cause);
		assert_string_equal(cause, want_cause);
		assert_null(req.msgs);
		wire_ollama_request_free(&req);
		free(want_cause);
	} else {
		json_t *got;
		char *w;

		if (rc != 0)
			print_error("case %s: %s\n", name, cause);
		assert_int_equal(rc, 0);
		path = xasprintf("%s/%s/expected.json", REQUEST_DIR, name);
		want = json_load_file(path, 0, &err);
		if (want == NULL)
			print_error("%s: %s\n", path, err.text);
		assert_non_null(want);
		free(path);
		got = request_json(&req, text);
		w = json_dumps(want, JSON_COMPACT);
		tcase_assert_json(got, w);
		free(w);
		json_decref(got);
		json_decref(want);
		wire_ollama_request_free(&req);
	}
	free(cause);
	free(text);
	json_decref(body);
}

/* ---- the listener's answer encoders ---- */

static void
test_chunk_json(void **state)
{
	struct llm_tool_call tc = { .index = 2, .id = (char *)"call_k3x9a0qe", .name = (char *)"get_weather", .args = (char *)"{\"city\":\"Tokyo\"}" };
	struct llm_stats st;
	struct llm_ev ev = { .type = LLM_EV_TOKEN, .text = "Hel", .len = 3 };
	json_t *o;

	(void)state;
	o = wire_ollama_chunk_json("m", "T", false, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}");
	json_decref(o);
	o = wire_ollama_chunk_json("m", "T", true, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"response\":\"Hel\",\"done\":false}");
	json_decref(o);
	ev.type = LLM_EV_THINKING;
	o = wire_ollama_chunk_json("m", "T", false, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"Hel\"},\"done\":false}");
	json_decref(o);
	o = wire_ollama_chunk_json("m", "T", true, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"response\":\"\",\"thinking\":\"Hel\",\"done\":false}");
	json_decref(o);
	/* bytes that are not UTF-8 make no line */
	ev.text = "\xff";
	ev.len = 1;
	assert_null(wire_ollama_chunk_json("m", "T", false, &ev));
	ev.type = LLM_EV_TOOL_CALL;
	ev.call = &tc;
	o = wire_ollama_chunk_json("m", "T", false, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
	                     "\"tool_calls\":[{\"id\":\"call_k3x9a0qe\",\"function\":{\"index\":2,\"name\":\"get_weather\","
	                     "\"arguments\":{\"city\":\"Tokyo\"}}}]},\"done\":false}");
	json_decref(o);
	assert_null(wire_ollama_chunk_json("m", "T", true, &ev));
	llm_stats_init(&st);
	st.prompt_tokens = 14;
	st.reply_tokens = 22;
	st.total_ns = 812000000;
	st.prompt_ns = 50000000;
	st.eval_ns = 700000000;
	snprintf(st.finish, sizeof st.finish, "tool_calls");
	ev.type = LLM_EV_DONE;
	ev.stats = &st;
	o = wire_ollama_chunk_json("qwen3:8b", "T", false, &ev);
	/* load_duration unknown: left out; tool_calls is no Ollama reason */
	tcase_assert_json(o, "{\"model\":\"qwen3:8b\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
	                     "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":812000000,\"prompt_eval_count\":14,"
	                     "\"prompt_eval_duration\":50000000,\"eval_count\":22,\"eval_duration\":700000000}");
	json_decref(o);
	llm_stats_init(&st);
	snprintf(st.finish, sizeof st.finish, "length");
	o = wire_ollama_chunk_json("m", "T", true, &ev);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"response\":\"\",\"done\":true,\"done_reason\":\"length\"}");
	json_decref(o);
	ev.type = LLM_EV_ERROR;
	assert_null(wire_ollama_chunk_json("m", "T", false, &ev));
}

static void
test_answer_json(void **state)
{
	json_t *calls = tcase_jparse("[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}},"
	                             "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"not json\"}}]");
	struct llm_stats st;
	json_t *o;

	(void)state;
	llm_stats_init(&st);
	st.prompt_tokens = 3;
	st.reply_tokens = 2;
	snprintf(st.finish, sizeof st.finish, "stop");
	o = wire_ollama_answer_json("m", "T", false, "Hi", "hmm", calls, &st);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"thinking\":\"hmm\","
	                     "\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"index\":0,\"name\":\"f\",\"arguments\":{\"x\":1}}},"
	                     "{\"id\":\"call_b\",\"function\":{\"index\":1,\"name\":\"g\",\"arguments\":{}}}]},"
	                     "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":3,\"eval_count\":2}");
	json_decref(o);
	o = wire_ollama_answer_json("m", "T", true, "Hi", NULL, calls, &st);
	tcase_assert_json(o, "{\"model\":\"m\",\"created_at\":\"T\",\"response\":\"Hi\",\"done\":true,\"done_reason\":\"stop\","
	                     "\"prompt_eval_count\":3,\"eval_count\":2}");
	json_decref(o);
	json_decref(calls);
}

static void
test_time(void **state)
{
	char out[48];

	(void)state;
	wire_ollama_time(1754042400123456789LL, out, sizeof out);
	assert_string_equal(out, "2025-08-01T10:00:00.123456789Z");
	wire_ollama_time(1754042400120000000LL, out, sizeof out);
	assert_string_equal(out, "2025-08-01T10:00:00.12Z");
	wire_ollama_time(1754042400000000000LL, out, sizeof out);
	assert_string_equal(out, "2025-08-01T10:00:00Z");
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
		cmocka_unit_test(test_chunk_json),
		cmocka_unit_test(test_answer_json),
		cmocka_unit_test(test_time),
	};
	struct tcase_tests ts;

	tcase_tests_init(&ts, fixed, sizeof fixed / sizeof fixed[0]);
	tcase_add_cases(&ts, CHAT_DIR, test_chat_case);
	tcase_add_cases(&ts, PULL_DIR, test_pull_case);
	tcase_add_cases(&ts, REQUEST_DIR, test_request_case);
	return tcase_run_tests("wire_ollama", &ts);
}
