/*
 * test_config.c: where settings come from. OLLAMA_HOST is parsed exactly as
 * Ollama parses it (the examples of protocols.md 1.1 are the cases), base
 * URLs lose a trailing /v1, -o options get their types, and the layers
 * stack as flags > environment > config file > defaults.
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

#include "config.h"
#include "util.h"

static void
test_ollama_host(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "http://127.0.0.1:11434" },
		{ "   ", "http://127.0.0.1:11434" },
		{ "1.2.3.4", "http://1.2.3.4:11434" },
		{ "1.2.3.4:5678", "http://1.2.3.4:5678" },
		{ ":1234", "http://127.0.0.1:1234" },
		{ "0.0.0.0", "http://127.0.0.1:11434" },
		{ "0.0.0.0:8080", "http://127.0.0.1:8080" },
		{ "::1", "http://[::1]:11434" },
		{ "[::1]", "http://[::1]:11434" },
		{ "[::1]:1337", "http://[::1]:1337" },
		{ "::", "http://[::1]:11434" },
		{ "example.com", "http://example.com:11434" },
		{ "example.com:1234", "http://example.com:1234" },
		{ "http://example.com", "http://example.com:80" },
		{ "https://example.com", "https://example.com:443" },
		{ "http://example.com:56789", "http://example.com:56789" },
		{ "https://example.com/ollama", "https://example.com:443/ollama" },
		{ "example.com/path", "http://example.com:11434/path" },
		{ "example.com:abc", "http://example.com:11434" },
		{ "example.com:99999", "http://example.com:11434" },
		{ "\"1.2.3.4\"", "http://1.2.3.4:11434" },
		{ "'1.2.3.4'", "http://1.2.3.4:11434" },
		{ "http://0.0.0.0:1234", "http://127.0.0.1:1234" },
		/* only decimal digits make a port (found by fuzzing) */
		{ "h: 80", "http://h:11434" },
		{ "h:+80", "http://h:11434" },
		{ "h:-0", "http://h:11434" },
		{ "h:0080", "http://h:80" },
		{ "h:0000000000000000", "http://h:0" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = config_ollama_host(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("OLLAMA_HOST=\"%s\": want %s, got %s", cases[i].in, cases[i].want, got);
		free(got);
	}
}

static void
test_base_url(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "http://127.0.0.1:1234/v1", "http://127.0.0.1:1234" },
		{ "http://127.0.0.1:1234/v1/", "http://127.0.0.1:1234" },
		{ "http://127.0.0.1:1234/", "http://127.0.0.1:1234" },
		{ "http://h:8080/api/v1", "http://h:8080/api" },
		{ "localhost:8080", "http://localhost:8080" },
		{ "https://h/x/v1", "https://h/x" },
		{ "http://v1", "http://v1" },
		{ "h//", "http://h" },
	};
	/* nothing to dial: no host or no scheme (found by fuzzing) */
	static const char *const none[] = { "", "  ", "/", "/v1", "//", "http://", "https:///", "https:///x", "://h" };

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = config_base_url(cases[i].in);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		char *got = config_base_url(none[i]);

		if (got != NULL)
			fail_msg("base URL \"%s\": want none, got %s", none[i], got);
	}
}

static void
test_options(void **state)
{
	json_t *o = json_object();
	char *cause = NULL;

	(void)state;
	assert_int_equal(config_set_option(o, "temperature=0.25", &cause), 0);
	assert_int_equal(config_set_option(o, "num_ctx=8192", &cause), 0);
	assert_int_equal(config_set_option(o, "max_tokens=100", &cause), 0);
	assert_int_equal(config_set_option(o, "num_predict=50", &cause), 0);
	assert_int_equal(config_set_option(o, "stop=</s>", &cause), 0);
	assert_int_equal(config_set_option(o, "stop=User:", &cause), 0);
	assert_int_equal(config_set_option(o, "keep_alive=10m", &cause), 0);
	assert_true(json_is_real(json_object_get(o, "temperature")));
	assert_int_equal(json_integer_value(json_object_get(o, "num_ctx")), 8192);
	/* num_predict is parley's max_tokens: never a second, conflicting key */
	assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")), 50);
	assert_null(json_object_get(o, "num_predict"));
	assert_int_equal(json_array_size(json_object_get(o, "stop")), 2);
	assert_string_equal(json_string_value(json_object_get(o, "keep_alive")), "10m");

	assert_int_equal(config_set_option(o, "temperature=hot", &cause), -1);
	assert_non_null(strstr(cause, "temperature"));
	free(cause);
	assert_int_equal(config_set_option(o, "num_ctx=1.5", &cause), -1);
	free(cause);
	assert_int_equal(config_set_option(o, "bogus=1", &cause), -1);
	assert_non_null(strstr(cause, "unknown option 'bogus'"));
	free(cause);
	assert_int_equal(config_set_option(o, "temperature", &cause), -1);
	free(cause);
	/* values JSON cannot hold are refused, not dropped (found by fuzzing) */
	json_object_clear(o);
	assert_int_equal(config_set_option(o, "temperature=nan", &cause), -1);
	free(cause);
	assert_int_equal(config_set_option(o, "top_p=inf", &cause), -1);
	free(cause);
	assert_int_equal(config_set_option(o, "keep_alive=-\x8a"
	                                      "1",
	                     &cause),
	    -1);
	assert_non_null(strstr(cause, "UTF-8"));
	free(cause);
	assert_int_equal(config_set_option(o, "stop=\xff", &cause), -1);
	free(cause);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

static char tmpdir[64];

static void
clear_env(void)
{
	static const char *vars[] = { "OLLAMA_HOST", "OLLAMA_BASE_URL", "OLLAMA_MODEL", "LM_STUDIO_BASE_URL",
		"LM_STUDIO_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "LOCAL_LLM_MODEL", "PARLEY_PROVIDER",
		"PARLEY_MODEL", "PARLEY_DB", "PARLEY_CONFIG", "PARLEY_THEME", "PARLEY_SERVE_KEY" };

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/parley-cfg.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	clear_env();
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", tmpdir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static void
write_config(const char *text)
{
	char *dir = xasprintf("%s/parley", tmpdir), *path = xasprintf("%s/config", dir);
	FILE *fp;

	assert_int_equal(util_mkdirs(dir), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	free(dir);
	free(path);
}

/* argv must be writable for getopt */
static int
load(struct config *cfg, char **cause, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = xstrdup("parley");
	va_start(ap, first);
	for (a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = xstrdup(a);
	va_end(ap);
	argv[argc] = NULL;
	int rc = config_load(cfg, argc, argv, cause);

	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

static void
test_precedence(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	write_config("model = from-file\nprovider = ollama\nbase_url = http://file:1/v1\n"
	             "[options]\ntemperature = 0.5\n[keys]\nsend = Enter\n");
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_string_equal(cfg.model, "from-file");
	assert_string_equal(cfg.base_url, "http://file:1");
	assert_true(json_real_value(json_object_get(cfg.options, "temperature")) == 0.5);
	assert_string_equal(json_string_value(json_object_get(cfg.keys, "send")), "Enter");
	config_free(&cfg);

	setenv("OLLAMA_MODEL", "from-env", 1);
	setenv("OLLAMA_HOST", "10.0.0.5", 1);
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_string_equal(cfg.model, "from-env");
	/* the environment outranks the file, address included */
	assert_string_equal(cfg.base_url, "http://10.0.0.5:11434");
	config_free(&cfg);

	assert_int_equal(load(&cfg, &cause, "-m", "from-flag", "--base-url", "http://flag:2", NULL), 0);
	assert_string_equal(cfg.model, "from-flag");
	assert_string_equal(cfg.base_url, "http://flag:2");
	config_free(&cfg);

	setenv("PARLEY_MODEL", "parley-env", 1);
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_string_equal(cfg.model, "parley-env");
	config_free(&cfg);
	clear_env();
}

static void
test_seed_variables(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	setenv("LM_STUDIO_BASE_URL", "http://127.0.0.1:1234/v1", 1);
	setenv("LM_STUDIO_MODEL", "qwen2.5-7b-instruct", 1);
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_string_equal(cfg.provider, "lm-studio");
	assert_string_equal(cfg.base_url, "http://127.0.0.1:1234");
	assert_true(cfg.base_url_named);
	assert_string_equal(cfg.model, "qwen2.5-7b-instruct");
	config_free(&cfg);
	clear_env();

	setenv("OLLAMA_BASE_URL", "http://gpu-box:11434", 1);
	setenv("LOCAL_LLM_MODEL", "llama3.2", 1);
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_string_equal(cfg.provider, "ollama");
	assert_string_equal(cfg.base_url, "http://gpu-box:11434");
	assert_string_equal(cfg.model, "llama3.2");
	config_free(&cfg);
	clear_env();

	/* nothing named: auto-discovery */
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_null(cfg.provider);
	assert_false(cfg.base_url_named);
	config_free(&cfg);
}

static void
test_arguments(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	/* options may follow prompt words */
	assert_int_equal(load(&cfg, &cause, "why", "is", "-m", "x", "the", "sky", "--json", NULL), 0);
	assert_int_equal(cfg.nargs, 4);
	assert_string_equal(cfg.args[3], "sky");
	assert_true(cfg.json);
	assert_int_equal(cfg.face, FACE_AUTO);
	config_free(&cfg);

	/* a command word keeps its own words; sessions parses its own -o */
	assert_int_equal(load(&cfg, &cause, "sessions", "export", "abc", "-o", "f.md", NULL), 0);
	assert_int_equal(cfg.face, FACE_COMMAND);
	assert_int_equal(cfg.nargs, 5);
	assert_string_equal(cfg.args[3], "-o");
	config_free(&cfg);

	assert_int_equal(load(&cfg, &cause, "pull", "llama3.2", "--json", NULL), 0);
	assert_int_equal(cfg.nargs, 2);
	assert_true(cfg.json);
	config_free(&cfg);

	assert_int_equal(load(&cfg, &cause, "--think=high", "-o", "num_ctx=4096", "--", "-v", NULL), 0);
	assert_string_equal(cfg.think, "high");
	assert_int_equal(cfg.nargs, 1);
	assert_string_equal(cfg.args[0], "-v");
	config_free(&cfg);

	/* an address with no host is a usage error, not a request to "http://" */
	assert_int_equal(load(&cfg, &cause, "--base-url", "", NULL), -1);
	assert_non_null(strstr(cause, "no host"));
	free(cause);
	config_free(&cfg);
	setenv("OPENAI_BASE_URL", "/", 1);
	assert_int_equal(load(&cfg, &cause, "--provider", "openai", NULL), 0);
	assert_null(cfg.base_url);
	config_free(&cfg);
	clear_env();

	assert_int_equal(load(&cfg, &cause, "--bogus", NULL), -1);
	assert_non_null(strstr(cause, "--bogus"));
	free(cause);
	config_free(&cfg);
	assert_int_equal(load(&cfg, &cause, "-c", "--new", NULL), -1);
	free(cause);
	config_free(&cfg);
	assert_int_equal(load(&cfg, &cause, "--provider", "gemini", NULL), -1);
	assert_non_null(strstr(cause, "gemini"));
	free(cause);
	config_free(&cfg);
}

static void
test_bad_file(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	write_config("model = x\nnonsense line\n");
	assert_int_equal(load(&cfg, &cause, NULL), -1);
	assert_non_null(strstr(cause, "config:2"));
	free(cause);
	config_free(&cfg);
	write_config("colour = red\n");
	assert_int_equal(load(&cfg, &cause, NULL), -1);
	assert_non_null(strstr(cause, "unknown setting 'colour'"));
	free(cause);
	config_free(&cfg);
	/* A command-line-only flag set to false in the file applies nothing
	 * (it used to crash the loader). */
	write_config("new = no\npipe = off\ncontinue = false\n");
	assert_int_equal(load(&cfg, &cause, NULL), 0);
	assert_false(cfg.new_session);
	assert_false(cfg.cont);
	assert_int_equal(cfg.face, FACE_AUTO);
	config_free(&cfg);
	write_config("read_timeout = nan\n");
	assert_int_equal(load(&cfg, &cause, NULL), -1);
	assert_non_null(strstr(cause, "read-timeout takes seconds"));
	free(cause);
	config_free(&cfg);
	assert_int_equal(load(&cfg, &cause, "--connect-timeout", "-nan", NULL), -1);
	free(cause);
	config_free(&cfg);
	write_config("[options]\ntemperature = warm\n");
	assert_int_equal(load(&cfg, &cause, NULL), -1);
	assert_non_null(strstr(cause, "temperature"));
	free(cause);
	config_free(&cfg);
	write_config("");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ollama_host),
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_options),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed_variables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
