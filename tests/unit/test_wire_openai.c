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
#include "wire_ollama.h"
#include "wire_openai.h"

#define STREAM_DIR "tests/data/openai_stream"
#define REQUEST_DIR "tests/data/openai_request"

struct run {
	struct buf out;
	const char *input; /* whole input, to tell sent ids from generated ones */
	struct wire_openai *w;
	bool saw_done;
	bool stopped; /* ERROR emitted: the stream is over */
	bool raw_ids; /* print generated ids as they are */
	int last_rc;
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

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct run *r = arg;
	int rc = wire_openai_chunk(r->w, ev->data, ev->data_len, on_ev, r);

	if (rc == 1)
		r->saw_done = true;
	else if (rc < 0)
		r->stopped = true;
	return rc;
}

/* As a provider drives it: SSE events into the decoder until [DONE] or an
 * error, then finish. */
static char *
run_stream(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
	struct sse *s = sse_new(0);
	struct run r = { .input = in };
	size_t at = 0;
	int rc = 0;

	r.w = wire_openai_new();
	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = xmalloc(to - at);

		memcpy(piece, in + at, to - at);
		rc = sse_feed(s, piece, to - at, on_event, &r);
		free(piece);
		at = to;
	}
	if (rc == 0)
		rc = sse_finish(s, on_event, &r);
	if (rc == SSE_TOO_LONG)
		buf_puts(&r.out, "too_long\n");
	if (!r.stopped)
		wire_openai_finish(r.w, r.saw_done, on_ev, &r);
	wire_openai_free(r.w);
	sse_free(s);
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
test_stream_case(void **state)
{
	const char *name = *state;
	char *path, *in, *want, *got;
	size_t len, *cuts;

	path = xasprintf("%s/%s/input", STREAM_DIR, name);
	in = util_read_file(path, &len, 0, NULL);
	assert_non_null(in);
	free(path);
	path = xasprintf("%s/%s/expected", STREAM_DIR, name);
	want = util_read_file(path, NULL, 0, NULL);
	assert_non_null(want);
	free(path);

	got = run_stream(in, len, NULL, 0);
	check_dump(name, "whole", want, got);
	free(got);
	cuts = xcalloc(len + 1, sizeof *cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	got = run_stream(in, len, cuts, len ? len - 1 : 0);
	check_dump(name, "byte by byte", want, got);
	free(got);
	for (size_t i = 1; len < 8192 && i < len; i++) {
		char mode[64];

		got = run_stream(in, len, &i, 1);
		snprintf(mode, sizeof mode, "split at %zu", i);
		check_dump(name, mode, want, got);
		free(got);
	}
	free(cuts);
	free(in);
	free(want);
}

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

			assert_json(got, w);
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
	req.options = jparse("{\"max_tokens\":128,\"num_ctx\":8192,\"keep_alive\":\"5m\",\"temperature\":0.5,"
	                     "\"top_p\":0.9,\"top_k\":20,\"min_p\":0.05,\"seed\":7,\"stop\":\"###\",\"repeat_penalty\":1.1,"
	                     "\"presence_penalty\":0.1,\"frequency_penalty\":null,\"num_gpu\":1}");
	body = wire_openai_chat_request(&req);
	assert_json(body, "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	                  "\"max_tokens\":128,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":20,\"min_p\":0.05,\"seed\":7,"
	                  "\"stop\":[\"###\"],\"repeat_penalty\":1.1,\"presence_penalty\":0.1}");
	json_decref(body);
	json_decref(req.options);
	req.options = jparse("{\"stop\":[\"a\",\"b\"]}");
	req.stream = false;
	body = wire_openai_chat_request(&req);
	assert_json(body, "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
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
	assert_json(json_object_get(body, "response_format"), "{\"type\":\"json_object\"}");
	json_decref(body);
	json_decref(req.format);
	req.format = jparse("{\"type\":\"object\",\"required\":[\"a\"]}");
	body = wire_openai_chat_request(&req);
	assert_json(json_object_get(body, "response_format"), "{\"type\":\"json_schema\",\"json_schema\":"
	                                                      "{\"name\":\"response\",\"schema\":{\"type\":\"object\",\"required\":[\"a\"]}}}");
	json_decref(body);
	json_decref(req.format);
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
	m[2].tool_calls = jparse("[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	                         "\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}},"
	                         "{\"id\":\"call_2\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]");
	req.tools = jparse("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]");
	body = wire_openai_chat_request(&req);
	assert_json(body, "{\"model\":\"m\",\"stream\":false,"
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
	struct run r = { .input = body };

	r.last_rc = wire_openai_response(body, strlen(body), on_ev, &r);
	buf_printf(&r.out, "rc %d\n", r.last_rc);
	return buf_steal(&r.out);
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
	struct run r = { .input = "" };
	char *got;
	static const char err[] = "{\"error\":\"boom\"}", tok[] = "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";

	(void)state;
	r.w = wire_openai_new();
	assert_int_equal(wire_openai_chunk(r.w, err, sizeof err - 1, on_ev, &r), -1);
	assert_int_equal(wire_openai_chunk(r.w, tok, sizeof tok - 1, on_ev, &r), -1);
	assert_int_equal(wire_openai_finish(r.w, true, on_ev, &r), -1);
	got = buf_steal(&r.out);
	assert_string_equal(got, "error backend \"boom\"\n");
	free(got);
	wire_openai_free(r.w);
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
	assert_json(j, "{" HEAD CHOICE("{\"role\":\"assistant\",\"content\":\"\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_TOKEN;
	ev.text = "Hello world";
	ev.len = 5; /* only "Hello": text need not be NUL-terminated */
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{\"content\":\"Hello\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_THINKING;
	ev.text = "hmm";
	ev.len = 3;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{\"reasoning_content\":\"hmm\"}", "null") "}");
	json_decref(j);

	ev.type = LLM_EV_TOOL_CALL;
	ev.call = &call;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc\",\"type\":\"function\","
	                               "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}}]}",
	                   "null") "}");
	json_decref(j);

	llm_stats_init(&st);
	ev.type = LLM_EV_DONE;
	ev.stats = &st;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{}", "\"stop\"") "}");
	json_decref(j);
	snprintf(st.finish, sizeof st.finish, "length");
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{}", "\"length\"") "}");
	json_decref(j);

	st.prompt_tokens = 8;
	st.reply_tokens = 1;
	j = wire_openai_usage_chunk_json("chatcmpl-1", 1700000000, "m", &st);
	assert_json(j, "{" HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":1,\"total_tokens\":9}}");
	json_decref(j);

	ev.type = LLM_EV_ERROR;
	ev.text = "overloaded";
	ev.len = 10;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
	json_decref(j);

	/* Bytes that are not UTF-8 cannot go into JSON: an empty delta, not a crash. */
	ev.type = LLM_EV_TOKEN;
	ev.text = "\xff\xfe";
	ev.len = 2;
	j = wire_openai_chunk_json("chatcmpl-1", 1700000000, "m", &ev);
	assert_json(j, "{" HEAD CHOICE("{}", "null") "}");
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
	assert_json(j, "{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"not_found_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}");
	json_decref(j);
	j = wire_openai_error_json("bad", NULL, NULL, NULL);
	assert_json(j, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
	json_decref(j);
}

/* Stream events decoded back from the chunks the listener writes. */
static void
test_chunk_round_trip(void **state)
{
	struct llm_tool_call call = { .index = 0, .id = (char *)"call_x", .name = (char *)"f", .args = (char *)"{\"a\":[1,2]}" };
	struct llm_stats st;
	struct llm_ev evs[4] = { { 0 } };
	struct run r = { .input = "call_x" };
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
	r.w = wire_openai_new();
	for (size_t i = 0; i < 4; i++) {
		json_t *j = wire_openai_chunk_json("id", 1, "m", &evs[i]);
		char *s = json_dumps(j, JSON_COMPACT);

		assert_int_equal(wire_openai_chunk(r.w, s, strlen(s), on_ev, &r), 0);
		free(s);
		json_decref(j);
	}
	assert_int_equal(wire_openai_finish(r.w, false, on_ev, &r), 0);
	got = buf_steal(&r.out);
	assert_string_equal(got, "thinking \"why\"\ntoken \"because\"\ntool_call 0 call_x f {\"a\":[1,2]}\n"
	                         "done prompt=-1 reply=-1 finish=tool_calls\n");
	free(got);
	wire_openai_free(r.w);
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
	j = jparse("{}");
	assert_int_equal(wire_openai_parse_request(j, &req, NULL), -1);
	json_decref(j);
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
	size_t nfixed = sizeof fixed / sizeof fixed[0], n, nnames = 0;
	struct CMUnitTest *tests = xcalloc(nfixed, sizeof *tests);
	char **names = NULL;
	int rc;

	memcpy(tests, fixed, sizeof fixed);
	n = add_cases(STREAM_DIR, test_stream_case, &tests, nfixed, &names, &nnames);
	n = add_cases(REQUEST_DIR, test_request_case, &tests, n, &names, &nnames);
	rc = _cmocka_run_group_tests("wire_openai", tests, n, NULL, NULL);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
