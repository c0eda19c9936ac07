/*
 * test_slash.c: the shared slash commands without a backend. A fake face
 * records what the commands print, report and ask; the chat lives in
 * memory. Covers finding commands (exact, alias, unique prefix, ambiguous,
 * unknown with a suggestion), completion, /set and /think on the chat's
 * options, the history file's format, and the commands that wait (/show,
 * /rm) going on from their callbacks against a provider whose answers the
 * test gives when it chooses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "chat.h"
#include "prov.h"
#include "slash.h"
#include "util.h"

struct fake {
	struct buf out, err;
	int quits, copied, errors;
	char *attached, *filter;
	bool said_yes, asked;
	int ndone, done_rc;
};

struct fixture {
	struct config cfg;
	struct app a;
	struct chat *c;
	struct fake f;
	struct slash_face face;
};

static void
fake_print(void *arg, const char *text)
{
	struct fake *f = arg;

	buf_printf(&f->out, "%s\n", text);
}

static void
fake_error(void *arg, const char *msg)
{
	struct fake *f = arg;

	f->errors++;
	buf_printf(&f->err, "%s\n", msg);
}

static int
fake_quit(void *arg)
{
	((struct fake *)arg)->quits++;
	return 0;
}

static int
fake_copy(void *arg, int block)
{
	((struct fake *)arg)->copied = block;
	return 0;
}

static int
fake_attach(void *arg, const char *path)
{
	struct fake *f = arg;

	free(f->attached);
	f->attached = xstrdup(path);
	return 0;
}

static int
fake_sessions(void *arg, const char *filter)
{
	struct fake *f = arg;

	free(f->filter);
	f->filter = xstrdup(filter ? filter : "(all)");
	return 0;
}

static void
fake_ask(void *arg, const char *q, slash_answer_fn answer, void *ctx)
{
	struct fake *f = arg;

	(void)q;
	f->asked = true;
	answer(ctx, f->said_yes);
}

static void
fake_done(void *arg, int rc)
{
	struct fake *f = arg;

	f->ndone++;
	f->done_rc = rc;
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);

	fx->cfg.options = json_object();
	app_init(&fx->a, &fx->cfg);
	fx->c = chat_new(&fx->a, "repl", false, NULL, NULL);
	fx->face.print = fake_print;
	fx->face.error = fake_error;
	fx->face.quit = fake_quit;
	fx->face.copy = fake_copy;
	fx->face.attach = fake_attach;
	fx->face.sessions = fake_sessions;
	fx->face.ask = fake_ask;
	fx->face.done = fake_done;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	chat_free(fx->c);
	app_free(&fx->a);
	config_free(&fx->cfg);
	buf_free(&fx->f.out);
	buf_free(&fx->f.err);
	free(fx->f.attached);
	free(fx->f.filter);
	free(fx);
	return 0;
}

/* Run a line; forget what earlier lines printed. */
static int
run(struct fixture *fx, const char *line)
{
	buf_reset(&fx->f.out);
	buf_reset(&fx->f.err);
	buf_append(&fx->f.out, "", 0);
	buf_append(&fx->f.err, "", 0);
	return slash_run(&fx->a, fx->c, &fx->face, &fx->f, line);
}

static void
test_not_commands(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "hello"), 1);
	assert_int_equal(run(fx, "//etc/passwd is a path"), 1);
	assert_int_equal(run(fx, "/"), 1);
	assert_int_equal(run(fx, "/ spaced"), 1);
	assert_int_equal(fx->f.errors, 0);
}

static void
test_find(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "/quit"), 0);
	assert_int_equal(run(fx, "  /exit"), 0);
	assert_int_equal(run(fx, "/bye"), 0);
	assert_int_equal(run(fx, "/q"), 0); /* a unique prefix */
	assert_int_equal(fx->f.quits, 4);

	assert_int_equal(run(fx, "/mo"), -1);
	assert_string_equal(fx->f.err.data, "/mo is ambiguous: /model, /models\n");

	assert_int_equal(run(fx, "/modle x"), -1);
	assert_string_equal(fx->f.err.data, "unknown command /modle; did you mean /model? (/help lists them)\n");
	assert_int_equal(run(fx, "/zzzzzzzzzzzz"), -1);
	assert_string_equal(fx->f.err.data, "unknown command /zzzzzzzzzzzz; /help lists them\n");

	assert_int_equal(run(fx, "/new please"), -1);
	assert_string_equal(fx->f.err.data, "/new takes no arguments\n");
	/* the face has no theme callback */
	assert_int_equal(run(fx, "/theme dark"), -1);
	assert_string_equal(fx->f.err.data, "/theme is not available here\n");
}

static void
test_complete(void **state)
{
	const struct slash_cmd *m[64];

	(void)state;
	assert_int_equal(slash_complete("/mo", m, 64), 2);
	assert_string_equal(m[0]->name, "/model");
	assert_string_equal(m[1]->name, "/models");
	assert_int_equal(m[0]->complete, SLASH_ARG_MODEL);
	assert_int_equal(slash_complete("/at", m, 64), 1);
	assert_int_equal(m[0]->complete, SLASH_ARG_FILE);
	assert_int_equal(slash_complete("/", m, 64), slash_count);
	assert_int_equal(slash_complete("/x", m, 64), 0);
	/* more matches than room: the count is still right */
	assert_int_equal(slash_complete("/", m, 2), slash_count);
	assert_int_equal(slash_count, 24);
	assert_int_equal(slash_complete("/to", m, 64), 1);
	assert_string_equal(m[0]->name, "/tools");
}

static void
test_model_and_system(void **state)
{
	struct fixture *fx = *state;

	/* a face without MCP tools says how to get them */
	assert_int_equal(run(fx, "/tools"), -1);
	assert_non_null(strstr(fx->f.err.data, "no MCP tools are offered here"));
	assert_int_equal(run(fx, "/model"), 0);
	assert_string_equal(fx->f.out.data, "no model chosen; /models lists them\n");
	assert_int_equal(run(fx, "/model qwen3:8b  "), 0);
	assert_string_equal(chat_model(fx->c), "qwen3:8b");
	assert_int_equal(run(fx, "/model"), 0);
	assert_string_equal(fx->f.out.data, "model: qwen3:8b\n");
	assert_int_equal(run(fx, "/model two words"), -1);
	assert_string_equal(chat_model(fx->c), "qwen3:8b");

	assert_int_equal(run(fx, "/system Be terse.  Really."), 0);
	assert_string_equal(chat_system(fx->c), "Be terse.  Really.");
	assert_int_equal(run(fx, "/set system talk like a pirate"), 0);
	assert_string_equal(chat_system(fx->c), "talk like a pirate");
	assert_int_equal(run(fx, "/system clear"), 0);
	assert_null(chat_system(fx->c));
	assert_int_equal(run(fx, "/system"), 0);
	assert_string_equal(fx->f.out.data, "no system prompt\n");
}

static void
test_set(void **state)
{
	struct fixture *fx = *state;
	json_t *o = chat_options(fx->c);

	assert_int_equal(run(fx, "/set temperature 0.2"), 0);
	assert_true(json_is_real(json_object_get(o, "temperature")));
	assert_true(json_real_value(json_object_get(o, "temperature")) == 0.2);
	assert_int_equal(run(fx, "/set temperature hot"), -1);
	assert_string_equal(fx->f.err.data, "option temperature needs a number, not 'hot'\n");
	assert_true(json_real_value(json_object_get(o, "temperature")) == 0.2);
	assert_int_equal(run(fx, "/set bogus 1"), -1);
	assert_non_null(strstr(fx->f.err.data, "unknown option 'bogus'"));
	assert_int_equal(run(fx, "/set num_predict 64"), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")), 64);
	assert_int_equal(run(fx, "/set stop END"), 0);
	assert_int_equal(run(fx, "/set stop ###"), 0);
	assert_int_equal(json_array_size(json_object_get(o, "stop")), 2);
	assert_int_equal(run(fx, "/set temperature"), 0);
	assert_string_equal(fx->f.out.data, "temperature = 0.2\n");
	assert_int_equal(run(fx, "/set stop default"), 0);
	assert_null(json_object_get(o, "stop"));
	assert_int_equal(run(fx, "/set top_k"), 0);
	assert_string_equal(fx->f.out.data, "top_k: backend default\n");

	assert_int_equal(run(fx, "/set verbose"), 0);
	assert_int_equal(fx->cfg.verbose, 1);
	assert_int_equal(run(fx, "/set quiet"), 0);
	assert_int_equal(fx->cfg.verbose, 0);
	assert_int_equal(run(fx, "/set nothink"), 0);
	assert_true(fx->cfg.hide_thinking);
	assert_int_equal(run(fx, "/set think"), 0);
	assert_false(fx->cfg.hide_thinking);

	assert_int_equal(run(fx, "/set"), 0);
	assert_non_null(strstr(fx->f.out.data, "temperature 0.2"));
	assert_non_null(strstr(fx->f.out.data, "max_tokens 64"));
	assert_non_null(strstr(fx->f.out.data, "thinking   shown"));
}

static void
test_think(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "/think high"), 0);
	assert_string_equal(chat_think(fx->c), "high");
	assert_int_equal(run(fx, "/think off"), 0);
	assert_string_equal(chat_think(fx->c), "false");
	assert_int_equal(run(fx, "/think ON"), 0);
	assert_string_equal(chat_think(fx->c), "true");
	assert_int_equal(run(fx, "/think"), 0);
	assert_string_equal(fx->f.out.data, "think: on\n");
	assert_int_equal(run(fx, "/think maybe"), -1);
	assert_string_equal(chat_think(fx->c), "true");
	assert_int_equal(run(fx, "/think default"), 0);
	assert_null(chat_think(fx->c));
}

static void
test_face_commands(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "/copy"), 0);
	assert_int_equal(fx->f.copied, 0);
	assert_int_equal(run(fx, "/copy 2"), 0);
	assert_int_equal(fx->f.copied, 2);
	assert_int_equal(run(fx, "/copy two"), -1);
	assert_int_equal(run(fx, "/attach /tmp/a picture.png"), 0);
	assert_string_equal(fx->f.attached, "/tmp/a picture.png");
	assert_int_equal(run(fx, "/attach"), -1);
	assert_string_equal(fx->f.err.data, "usage: /attach FILE\n");
	assert_int_equal(run(fx, "/sessions"), 0);
	assert_string_equal(fx->f.filter, "(all)");
	assert_int_equal(run(fx, "/sessions abc"), 0);
	assert_string_equal(fx->f.filter, "abc");
	/* no /retry without a face that follows the reply */
	assert_int_equal(run(fx, "/retry"), -1);
	assert_string_equal(fx->f.err.data, "/retry is not available here\n");
	/* the default /help is the table */
	assert_int_equal(run(fx, "/help"), 0);
	assert_non_null(strstr(fx->f.out.data, "/model [NAME]"));
	assert_non_null(strstr(fx->f.out.data, "/quit"));
}

static void
test_session_commands(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "/rename My notes"), 0);
	assert_string_equal(chat_title(fx->c), "My notes");
	assert_int_equal(run(fx, "/export md"), -1);
	assert_non_null(strstr(fx->f.err.data, "nothing to export"));
	assert_int_equal(run(fx, "/stats"), 0);
	assert_non_null(strstr(fx->f.out.data, "no reply yet"));
	assert_non_null(strstr(fx->f.out.data, "context 0 of 8192 tokens"));
	assert_int_equal(run(fx, "/new"), 0);
	assert_string_equal(chat_title(fx->c), "");
	assert_int_equal(run(fx, "/clear"), 0);
	assert_int_equal(chat_count(fx->c), 0);
}

static void
test_history(void **state)
{
	static const char *entries[] = {
		"hello world",
		"back\\slash",
		"\"\"\"line one\nline two\"\"\"",
		"tab\there",
		"ünïcödé",
		"x",
	};
	char dir[] = "/tmp/parley-slash-XXXXXX", *path, **got;
	size_t n;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/sub/history", dir);
	assert_int_equal(slash_history_read(path, &got, &n, NULL), 0);
	assert_int_equal(n, 0);
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		assert_int_equal(slash_history_append(path, entries[i], NULL), 0);
	assert_int_equal(slash_history_read(path, &got, &n, NULL), 0);
	assert_int_equal(n, sizeof entries / sizeof entries[0]);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], entries[i]);
	slash_history_free(got, n);

	/* libedit's format: the header once, one line per entry */
	{
		size_t len;
		char *data = util_read_file(path, &len, 1 << 20, NULL);
		const char *want = "_HiStOrY_V2_\nhello\\040world\nback\\\\slash\n";

		assert_non_null(data);
		assert_true(strncmp(data, want, strlen(want)) == 0);
		free(data);
	}
	/* strvis's other escapes read back too */
	fp = fopen(path, "w");
	fputs("_HiStOrY_V2_\n\\M-C\\M-)t\\^A\n", fp);
	fclose(fp);
	assert_int_equal(slash_history_read(path, &got, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "\xc3\xa9t\x01");
	slash_history_free(got, n);
	/* a plain file is plain lines */
	fp = fopen(path, "w");
	fputs("first\n\nsecond line\n", fp);
	fclose(fp);
	assert_int_equal(slash_history_read(path, &got, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[1], "second line");
	slash_history_free(got, n);

	unlink(path);
	free(path);
	path = xasprintf("%s/sub", dir);
	rmdir(path);
	free(path);
	rmdir(dir);
}

/* --- commands that wait ----------------------------------------------- */

/* A provider that holds on to each request until the test answers it. */
struct held {
	struct prov_req *req;
	prov_json_cb jcb;
	prov_done_cb dcb;
	void *arg;
	char *model;
	int cancels;
	int calls;
};

static struct held held;

static void
held_cancel(void *arg)
{
	(void)arg;
	held.cancels++;
}

static struct prov_req *
held_show(struct prov *p, const char *model, prov_json_cb cb, void *arg)
{
	held.calls++;
	held.jcb = cb;
	held.arg = arg;
	free(held.model);
	held.model = xstrdup(model);
	return held.req = prov_req_virtual(p, held_cancel, NULL);
}

static struct prov_req *
held_remove(struct prov *p, const char *model, prov_done_cb cb, void *arg)
{
	held.calls++;
	held.dcb = cb;
	held.arg = arg;
	free(held.model);
	held.model = xstrdup(model);
	return held.req = prov_req_virtual(p, held_cancel, NULL);
}

static const struct prov_ops held_ops = { .name = "held", .show = held_show, .remove = held_remove };

static struct prov held_prov = { .ops = &held_ops, .kind = (char *)"ollama", .base_url = (char *)"http://127.0.0.1:11434" };

/* The held request ends: its callback, then the request goes. */
static void
held_answer_show(enum llm_err err, const char *msg, json_t *j)
{
	struct prov_req *r = held.req;

	held.req = NULL;
	held.jcb(err, msg, j, held.arg);
	prov_req_virtual_free(r);
}

static void
held_answer_done(enum llm_err err, const char *msg)
{
	struct prov_req *r = held.req;

	held.req = NULL;
	held.dcb(err, msg, held.arg);
	prov_req_virtual_free(r);
}

static int
setup_held(void **state)
{
	struct fixture *fx;

	setup(state);
	fx = *state;
	memset(&held, 0, sizeof held);
	fx->a.prov = &held_prov;
	chat_set_model(fx->c, "llama3.2");
	return 0;
}

static int
teardown_held(void **state)
{
	struct fixture *fx = *state;

	assert_false(slash_busy(&fx->f));
	free(held.model);
	fx->a.prov = NULL;
	return teardown(state);
}

static void
test_show_waits_in_a_callback(void **state)
{
	struct fixture *fx = *state;
	json_t *j = json_pack("{s:{s:s, s:s}, s:I}", "details", "family", "llama", "parameter_size", "3.2B",
	    "context_length", (json_int_t)131072);

	/* the command returns at once, pending, having printed nothing */
	assert_int_equal(run(fx, "/show"), SLASH_PENDING);
	assert_true(slash_busy(&fx->f));
	assert_int_equal(held.calls, 1);
	assert_string_equal(held.model, "llama3.2");
	assert_string_equal(fx->f.out.data, "");
	assert_int_equal(fx->f.ndone, 0);
	/* the answer finishes it */
	held_answer_show(LLM_OK, NULL, j);
	assert_false(slash_busy(&fx->f));
	assert_int_equal(fx->f.ndone, 1);
	assert_int_equal(fx->f.done_rc, 0);
	assert_non_null(strstr(fx->f.out.data, "architecture       llama"));
	assert_non_null(strstr(fx->f.out.data, "context length     131072"));
	json_decref(j);

	/* a failure is reported, and done says so */
	assert_int_equal(run(fx, "/show qwen3:8b"), SLASH_PENDING);
	assert_string_equal(held.model, "qwen3:8b");
	held_answer_show(LLM_ERR_NOT_FOUND, "model 'qwen3:8b' not found", NULL);
	assert_int_equal(fx->f.ndone, 2);
	assert_int_equal(fx->f.done_rc, -1);
	assert_string_equal(fx->f.err.data, "model 'qwen3:8b' not found\n");

	/* the face stops it: the provider is told, the end says interrupted */
	assert_int_equal(run(fx, "/show"), SLASH_PENDING);
	slash_cancel(&fx->f);
	assert_int_equal(held.cancels, 1);
	assert_true(slash_busy(&fx->f)); /* until the callback comes */
	slash_cancel(&fx->f); /* once is enough */
	assert_int_equal(held.cancels, 1);
	held_answer_show(LLM_ERR_CANCELLED, "cancelled", NULL);
	assert_int_equal(fx->f.ndone, 3);
	assert_string_equal(fx->f.err.data, "interrupted\n");
}

static void
test_rm_asks_then_waits(void **state)
{
	struct fixture *fx = *state;

	/* no: nothing reaches the provider */
	fx->f.said_yes = false;
	assert_int_equal(run(fx, "/rm phi3"), SLASH_PENDING);
	assert_true(fx->f.asked);
	assert_int_equal(held.calls, 0);
	assert_false(slash_busy(&fx->f));
	assert_int_equal(fx->f.ndone, 1);
	assert_string_equal(fx->f.out.data, "not deleted\n");

	/* yes: the delete goes out, and its end is printed */
	fx->f.said_yes = true;
	assert_int_equal(run(fx, "/rm phi3"), SLASH_PENDING);
	assert_int_equal(held.calls, 1);
	assert_string_equal(held.model, "phi3");
	assert_true(slash_busy(&fx->f));
	held_answer_done(LLM_OK, NULL);
	assert_int_equal(fx->f.ndone, 2);
	assert_int_equal(fx->f.done_rc, 0);
	assert_string_equal(fx->f.out.data, "deleted 'phi3'\n");

	assert_int_equal(run(fx, "/rm"), -1);
	assert_string_equal(fx->f.err.data, "usage: /rm NAME\n");
}

static void
test_forgotten_face(void **state)
{
	struct fixture *fx = *state;

	/* a face that goes hears no more of its commands */
	assert_int_equal(run(fx, "/show"), SLASH_PENDING);
	slash_forget(&fx->f);
	assert_int_equal(held.cancels, 1);
	assert_false(slash_busy(&fx->f));
	held_answer_show(LLM_ERR_CANCELLED, "cancelled", NULL);
	assert_int_equal(fx->f.ndone, 0);
	assert_string_equal(fx->f.err.data, "");
	assert_string_equal(fx->f.out.data, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test(test_complete),
		cmocka_unit_test_setup_teardown(test_model_and_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_think, setup, teardown),
		cmocka_unit_test_setup_teardown(test_face_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_commands, setup, teardown),
		cmocka_unit_test(test_history),
		cmocka_unit_test_setup_teardown(test_show_waits_in_a_callback, setup_held, teardown_held),
		cmocka_unit_test_setup_teardown(test_rm_asks_then_waits, setup_held, teardown_held),
		cmocka_unit_test_setup_teardown(test_forgotten_face, setup_held, teardown_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
