/*
 * test_slash.c: the shared slash commands without a backend. A fake face
 * records what the commands print, report and ask; the chat lives in
 * memory. Covers finding commands (exact, alias, unique prefix, ambiguous,
 * unknown with a suggestion), completion, /set and /think on the chat's
 * options, and the history file's format.
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
#include "slash.h"
#include "util.h"

struct fake {
	struct buf out, err;
	int quits, copied, errors;
	char *attached, *filter;
	bool said_yes, asked;
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

static bool
fake_confirm(void *arg, const char *q)
{
	struct fake *f = arg;

	(void)q;
	f->asked = true;
	return f->said_yes;
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
	fx->face.confirm = fake_confirm;
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
