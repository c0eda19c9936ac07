/*
 * test_wire_openai.c: the OpenAI chat-completions wire format. Streams are
 * data-driven: tests/data/openai_stream/<case>/ holds a raw SSE body (input)
 * and the events it must give (expected), fed through the real SSE parser
 * whole, one byte per feed and split in two at every position. The dump is
 * one line per event:
 *   token "<json>" | thinking "<json>" | tool_call <index> <id> <name> <args>
 *   done prompt=N reply=N [total=..] [prompt_ns=..] [eval_ns=..] finish=F
 *   error <kind> "<json>"
 * A call id the server did not send is printed as <generated> once checked.
 * tests/data/openai_request/<case>/ holds listener requests: body.json and
 * either expected.json (the parsed request re-encoded as an Ollama /api/chat
 * body, which shows every field) or cause (the exact error text).
 * Encoders are checked against exact JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tcase.h"
#include "util.h"
#include "wire_ollama.h"
#include "wire_openai.h"

#define STREAM_DIR "tests/data/openai_stream"
#define REQUEST_DIR "tests/data/openai_request"

struct run {
	struct tcase_evdump d;
	struct sse *s;
	struct wire_openai *w;
	bool saw_done;
	bool stopped; /* ERROR emitted: the stream is over */
};

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct run *r = arg;
	int rc = wire_openai_chunk(r->w, ev->data, ev->data_len, tcase_on_ev, &r->d);

	if (rc == 1)
		r->saw_done = true;
	else if (rc < 0)
		r->stopped = true;
	return rc;
}

static int
feed(const char *piece, size_t len, void *arg)
{
	struct run *r = arg;

	return sse_feed(r->s, piece, len, on_event, r);
}

/* As a provider drives it: SSE events into the decoder until [DONE] or an
 * error, then finish. */
static char *
run_stream(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap, void *ctx)
{
	struct run r = { .d.input = in, .s = sse_new(0) };
	int rc;

	(void)cap;
	(void)ctx;
	r.w = wire_openai_new();
	rc = tcase_feed(in, len, cuts, ncuts, feed, &r);
	if (rc == 0)
		rc = sse_finish(r.s, on_event, &r);
	if (rc == SSE_TOO_LONG)
		buf_puts(&r.d.out, "too_long\n");
	if (!r.stopped)
		wire_openai_finish(r.w, r.saw_done, tcase_on_ev, &r.d);
	wire_openai_free(r.w);
	sse_free(r.s);
	return buf_steal(&r.d.out);
}

static void
test_stream_case(void **state)
{
	tcase_run(STREAM_DIR, *state, run_stream, NULL);
}

/* A listener request: parse it, then show what parley would send on. */
static void
test_request_case(void **state)
{
	const char *name = *state;
	char *path, *cause = NULL, *want_cause;
	json_t *body, *want;
	struct llm_req req;
	json_error_t err;
	int rc;

	path = xasprintf("%s/%s/body.json", REQUEST_DIR, name);
	body = json_load_file(path, 0, &err);
	if (body == NULL)
		print_error("%s: %s\n", path, err.text);
	assert_non_null(body);
	free(path);
	rc = wire_openai_parse_request(body, &req, &cause);
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
		/* A failed parse leaves nothing to free but must be safe to free. */
		assert_null(req.msgs);
		wire_openai_request_free(&req);
		free(want_cause);
	} else {
		json_t *got;

		if (rc != 0)
			print_error("case %s: %s\n", name, cause);
		assert_int_equal(rc, 0);
		path = xasprintf("%s/%s/expected.json", REQUEST_DIR, name);
		want = json_load_file(path, 0, &err);
		if (want == NULL)
			print_error("%s: %s\n", path, err.text);
		assert_non_null(want);
		free(path);
		got = wire_ollama_chat_request(&req);
		json_object_set_new(got, "include_usage", json_boolean(wire_openai_request_include_usage(body)));
		{
			char *w = json_dumps(want, JSON_COMPACT);

			tcase_assert_json(got, w);
			free(w);
		}
		json_decref(got);
		json_decref(want);
		wire_openai_request_free(&req);
	}
	free(cause);
	json_decref(body);
}

/* ---- request encoder ---- */

static void
test_request_options(void **state)
{
	struct llm_msg m[] = { { .role = (char *)"user", .content = (char *)"hi" } };
	struct llm_req req = { .model = "m", .msgs = m, .nmsgs = 1, .stream = true };
	json_t *body;

	(void)state;
	req.options = tcase_jparse("{\"max_tokens\":128,\"num_ctx\":8192,\"keep_alive\":\"5m\",\"temperature\":0.5,"
	                           "\"top_p\":0.9,\"top_k\":20,\"min_p\":0.05,\"seed\":7,\"stop\":\"###\",\"repeat_penalty\":1.1,"
	                           "\"presence_penalty\":0.1,\"frequency_penalty\":null,\"num_gpu\":1}");
	body = wire_openai_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	                        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	                        "\"max_tokens\":128,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":20,\"min_p\":0.05,\"seed\":7,"
	                        "\"stop\":[\"###\"],\"repeat_penalty\":1.1,\"presence_penalty\":0.1}");
	json_decref(body);
	json_decref(req.options);
	req.options = tcase_jparse("{\"stop\":[\"a\",\"b\"]}");
	req.stream = false;
	body = wire_openai_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	                        "\"stop\":[\"a\",\"b\"]}");
	json_decref(body);
	json_decref(req.options);
}

static void
test_request_think_and_format(void **state)
{
	static const struct {
		const char *think, *effort; /* NULL: no reasoning_effort sent */
	} thinks[] = {
		{ "true", NULL },
		{ "false", "none" },
		{ "low", "low" },
		{ "medium", "medium" },
		{ "high", "high" },
		{ NULL, NULL },
	};
	struct llm_req req = { .model = "m" };
	json_t *body;

	(void)state;
	for (size_t i = 0; i < sizeof thinks / sizeof thinks[0]; i++) {
		req.think = thinks[i].think;
		body = wire_openai_chat_request(&req);
		if (thinks[i].effort == NULL)
			assert_null(json_object_get(body, "reasoning_effort"));
		else
			assert_string_equal(json_string_value(json_object_get(body, "reasoning_effort")), thinks[i].effort);
		json_decref(body);
	}
	req.think = NULL;
	req.format = json_string("json");
	body = wire_openai_chat_request(&req);
	tcase_assert_json(json_object_get(body, "response_format"), "{\"type\":\"json_object\"}");
	json_decref(body);
	json_decref(req.format);
	req.format = tcase_jparse("{\"type\":\"object\",\"required\":[\"a\"]}");
	body = wire_openai_chat_request(&req);
	tcase_assert_json(json_object_get(body, "response_format"), "{\"type\":\"json_schema\",\"json_schema\":"
	                                                            "{\"name\":\"response\",\"schema\":{\"type\":\"object\",\"required\":[\"a\"]}}}");
	json_decref(body);
	json_decref(req.format);
	req.format = NULL;
	/* a client's json_schema goes on as it was sent, strict and all */
	req.schema_spec = tcase_jparse("{\"name\":\"Weather_Report\",\"strict\":true,\"schema\":{\"type\":\"object\"}}");
	body = wire_openai_chat_request(&req);
	tcase_assert_json(json_object_get(body, "response_format"), "{\"type\":\"json_schema\",\"json_schema\":"
	                                                            "{\"name\":\"Weather_Report\",\"strict\":true,\"schema\":{\"type\":\"object\"}}}");
	json_decref(body);
	json_decref(req.schema_spec);
	req.schema_spec = NULL;
	/* tool_choice goes with tools, never without them */
	req.tool_choice = json_string("required");
	body = wire_openai_chat_request(&req);
	assert_null(json_object_get(body, "tool_choice"));
	json_decref(body);
	req.tools = tcase_jparse("[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]");
	body = wire_openai_chat_request(&req);
	assert_string_equal(json_string_value(json_object_get(body, "tool_choice")), "required");
	json_decref(body);
	json_decref(req.tools);
	json_decref(req.tool_choice);
}

static void
test_request_images_and_tools(void **state)
{
	struct llm_image img[] = {
		{ .mime = (char *)"image/jpeg", .b64 = (char *)"/9j/AAAA" },
		{ .mime = (char *)"image/png", .b64 = (char *)"iVBORw0KGgo=" },
	};
	struct llm_msg m[] = {
		{ .role = (char *)"user", .content = (char *)"compare", .images = img, .nimages = 2 },
		{ .role = (char *)"user", .content = (char *)"", .images = img, .nimages = 1 },
		{ .role = (char *)"assistant", .content = NULL },
		{ .role = (char *)"tool", .content = (char *)"11 degrees celsius", .tool_call_id = (char *)"call_abc", .tool_name = (char *)"get_weather" },
	};
	struct llm_req req = { .model = "m", .msgs = m, .nmsgs = 4 };
	json_t *body;

	(void)state;
	/* One stored with string arguments, one (from Ollama) with an object. */
	m[2].tool_calls = tcase_jparse("[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	                               "\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}},"
	                               "{\"id\":\"call_2\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]");
	req.tools = tcase_jparse("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]");
	body = wire_openai_chat_request(&req);
	tcase_assert_json(body, "{\"model\":\"m\",\"stream\":false,"
	                        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}],"
	                        "\"messages\":["
	                        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"compare\"},"
	                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/AAAA\"}},"
	                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]},"
	                        "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/AAAA\"}}]},"
	                        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	                        "{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}},"
	                        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
	                        "{\"role\":\"tool\",\"content\":\"11 degrees celsius\",\"tool_call_id\":\"call_abc\"}]}");
	/* The caller's history is not modified by the conversion. */
	assert_true(json_is_object(json_object_get(json_object_get(json_array_get(m[2].tool_calls, 1), "function"), "arguments")));
	json_decref(body);
	json_decref(m[2].tool_calls);
	json_decref(req.tools);
}

/* ---- whole responses and errors ---- */

static char *
response_dump(const char *body)
{
	struct tcase_evdump d = { .input = body };
	int rc = wire_openai_response(body, strlen(body), tcase_on_ev, &d);

	buf_printf(&d.out, "rc %d\n", rc);
	return buf_steal(&d.out);
}

static void
test_response(void **state)
{
	static const struct {
		const char *body, *dump;
	} cases[] = {
		{ "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1741570283,\"model\":\"m\","
		  "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"refusal\":null},"
		  "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		  "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11},\"system_fingerprint\":\"fp_x\"}",
		    "token \"Hi\"\ndone prompt=9 reply=2 finish=stop\nrc 0\n" },
		{ "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"4\",\"reasoning_content\":\"think\"},"
		  "\"finish_reason\":\"stop\"}],\"timings\":{\"prompt_n\":5,\"prompt_ms\":10.5,\"predicted_n\":3,\"predicted_ms\":20}}",
		    "thinking \"think\"\ntoken \"4\"\ndone prompt=5 reply=3 total=30500000 prompt_ns=10500000 eval_ns=20000000 finish=stop\nrc 0\n" },
		{ "{\"choices\":[{\"message\":{\"content\":\"ok\",\"reasoning\":\"gpt-oss style\"},\"finish_reason\":\"stop\"}]}",
		    "thinking \"gpt-oss style\"\ntoken \"ok\"\ndone prompt=-1 reply=-1 finish=stop\nrc 0\n" },
		{ "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
		  "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\\\": 1}\"}},"
		  "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"b\",\"arguments\":\"{}\"}}]},"
		  "\"finish_reason\":\"tool_calls\"}]}",
		    "tool_call 0 call_1 a {\"x\":1}\ntool_call 1 call_2 b {}\ndone prompt=-1 reply=-1 finish=tool_calls\nrc 0\n" },
		{ "{\"error\":{\"message\":\"The model `gpt-x` does not exist or you do not have access to it.\","
		  "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
		    "error backend \"The model `gpt-x` does not exist or you do not have access to it.\"\nrc -1\n" },
		{ "Internal Server Error", "error backend \"malformed data from server: Internal Server Error\"\nrc -1\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = response_dump(cases[i].body);

		if (strcmp(got, cases[i].dump) != 0)
			print_error("response %zu\n--- expected\n%s--- actual\n%s", i, cases[i].dump, got);
		assert_string_equal(got, cases[i].dump);
		free(got);
	}
}

static void
test_error_body(void **state)
{
	static const struct {
		const char *body, *msg, *code;
	} cases[] = {
		{ "{\"error\":{\"message\":\"The model `gpt-x` does not exist or you do not have access to it.\","
		  "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
		    "The model `gpt-x` does not exist or you do not have access to it.", "model_not_found" },
		{ "{\"error\":{\"message\":\"model 'nope' not found\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}",
		    "model 'nope' not found", NULL },
		{ "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}", "Loading model", "503" },
		{ "{\"error\":\"No models loaded.\"}", "No models loaded.", NULL },
		{ "{\"detail\":\"x\"}", NULL, NULL },
		{ "404 page not found", NULL, NULL },
		{ "", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *code = (char *)"unset", *msg;

		msg = wire_openai_error(cases[i].body, strlen(cases[i].body), &code);
		if (cases[i].msg == NULL)
			assert_null(msg);
		else {
			assert_non_null(msg);
			assert_string_equal(msg, cases[i].msg);
		}
		if (cases[i].code == NULL)
			assert_null(code);
		else {
			assert_non_null(code);
			assert_string_equal(code, cases[i].code);
		}
		free(msg);
		free(code);
	}
	/* code may be NULL when the caller does not want it. */
	{
		static const char body[] = "{\"error\":{\"message\":\"m\",\"code\":\"c\"}}";
		char *msg = wire_openai_error(body, sizeof body - 1, NULL);

		assert_non_null(msg);
		assert_string_equal(msg, "m");
		free(msg);
	}
}

/* Events after a failure are dropped and finish does not emit DONE. */
static void
test_after_error(void **state)
{
	struct tcase_evdump d = { .input = "" };
	struct wire_openai *w;
	char *got;
	static const char err[] = "{\"error\":\"boom\"}", tok[] = "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";

	(void)state;
	w = wire_openai_new();
	assert_int_equal(wire_openai_chunk(w, err, sizeof err - 1, tcase_on_ev, &d), -1);
	assert_int_equal(wire_openai_chunk(w, tok, sizeof tok - 1, tcase_on_ev, &d), -1);
	assert_int_equal(wire_openai_finish(w, true, tcase_on_ev, &d), -1);
	got = buf_steal(&d.out);
	assert_string_equal(got, "error backend \"boom\"\n");
	free(got);
	wire_openai_free(w);
	wire_openai_free(NULL);
}

/* ---- listener encoders ---- */

static void
test_chunk_json(void **state)
{
	struct llm_tool_call call = { .index = 1, .id = (char *)"call_abc", .name = (char *)"get_weather", .args = (char *)"{\"city\":\"Tokyo\"}" };
	struct llm_stats st;
	struct llm_ev ev = { 0 };
	json_t *j;
#define HEAD "\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\","
#define CHOICE(delta, fin) "\"choices\":[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" fin "}]"

	(void)state;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", NULL);
	tcase_assert_json(j, "{" HEAD CHOICE("{\"role\":\"assistant\",\"content\":\"\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_TOKEN;
	ev.text = "Hello world";
	ev.len = 5; /* only "Hello": text need not be NUL-terminated */
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{\"content\":\"Hello\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_THINKING;
	ev.text = "hmm";
	ev.len = 3;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{\"reasoning_content\":\"hmm\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_TOOL_CALL;
	ev.call = &call;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc\",\"type\":\"function\","
	                                     "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}}]}",
	                         "null") "}");
	json_decref(j);

	llm_stats_init(&st);
	ev.type = LLM_EV_DONE;
	ev.stats = &st;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{}", "\"stop\"") "}");
	json_decref(j);
	snprintf(st.finish, sizeof st.finish, "length");
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{}", "\"length\"") "}");
	json_decref(j);

	st.prompt_tokens = 8;
	st.reply_tokens = 1;
	j = wire_openai_usage_chunk_json("chatcmpl-1", 1700000000, "m", &st);
	tcase_assert_json(j, "{" HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":1,\"total_tokens\":9}}");
	json_decref(j);

	ev.type = LLM_EV_ERROR;
	ev.text = "overloaded";
	ev.len = 10;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
	json_decref(j);

	/* Bytes that are not UTF-8 cannot go into JSON: an empty delta, not a crash. */
	ev.type = LLM_EV_TOKEN;
	ev.text = "\xff\xfe";
	ev.len = 2;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	tcase_assert_json(j, "{" HEAD CHOICE("{}", "null") "}");
	json_decref(j);
#undef HEAD
#undef CHOICE
}

static void
test_error_json(void **state)
{
	json_t *j;

	(void)state;
	j = wire_openai_error_json("model 'x' not found", "not_found_error", "model", "model_not_found");
	tcase_assert_json(j, "{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"not_found_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}");
	json_decref(j);
	j = wire_openai_error_json("bad", NULL, NULL, NULL);
	tcase_assert_json(j, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
	json_decref(j);
}

/* Stream events decoded back from the chunks the listener writes. */
static void
test_chunk_round_trip(void **state)
{
	struct llm_tool_call call = { .index = 0, .id = (char *)"call_x", .name = (char *)"f", .args = (char *)"{\"a\":[1,2]}" };
	struct llm_stats st;
	struct llm_ev evs[4] = { { 0 } };
	struct tcase_evdump d = { .input = "call_x" };
	struct wire_openai *w;
	char *got;

	(void)state;
	llm_stats_init(&st);
	evs[0].type = LLM_EV_THINKING;
	evs[0].text = "why";
	evs[0].len = 3;
	evs[1].type = LLM_EV_TOKEN;
	evs[1].text = "because";
	evs[1].len = 7;
	evs[2].type = LLM_EV_TOOL_CALL;
	evs[2].call = &call;
	evs[3].type = LLM_EV_DONE;
	evs[3].stats = &st;
	snprintf(st.finish, sizeof st.finish, "tool_calls");
	w = wire_openai_new();
	for (size_t i = 0; i < 4; i++) {
		json_t *j = wire_openai_chunk_json("id", 1, "m", &evs[i]);
		char *s = json_dumps(j, JSON_COMPACT);

		assert_int_equal(wire_openai_chunk(w, s, strlen(s), tcase_on_ev, &d), 0);
		free(s);
		json_decref(j);
	}
	assert_int_equal(wire_openai_finish(w, false, tcase_on_ev, &d), 0);
	got = buf_steal(&d.out);
	assert_string_equal(got, "thinking \"why\"\ntoken \"because\"\ntool_call 0 call_x f {\"a\":[1,2]}\n"
	                         "done prompt=-1 reply=-1 finish=tool_calls\n");
	free(got);
	wire_openai_free(w);
}

/* A failed parse names the field and leaves out empty and freeable. */
static void
test_request_not_object(void **state)
{
	struct llm_req req;
	char *cause = NULL;
	json_t *j = json_integer(3);

	(void)state;
	assert_int_equal(wire_openai_parse_request(j, &req, &cause), -1);
	assert_string_equal(cause, "request body must be a JSON object");
	assert_null(req.model);
	wire_openai_request_free(&req);
	wire_openai_request_free(NULL);
	free(cause);
	json_decref(j);
	/* cause may be NULL. */
	j = tcase_jparse("{}");
	assert_int_equal(wire_openai_parse_request(j, &req, NULL), -1);
	json_decref(j);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_request_options),
		cmocka_unit_test(test_request_think_and_format),
		cmocka_unit_test(test_request_images_and_tools),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_after_error),
		cmocka_unit_test(test_chunk_json),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_chunk_round_trip),
		cmocka_unit_test(test_request_not_object),
	};
	struct tcase_tests ts;

	tcase_tests_init(&ts, fixed, sizeof fixed / sizeof fixed[0]);
	tcase_add_cases(&ts, STREAM_DIR, test_stream_case);
	tcase_add_cases(&ts, REQUEST_DIR, test_request_case);
	return tcase_run_tests("wire_openai", &ts);
}
