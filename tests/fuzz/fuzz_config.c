/*
 * fuzz_config.c: the config file and the -o option syntax. The input is
 * written to a scratch file that config_load reads through --config, the
 * way a user's file is read; then every line of it goes through
 * config_set_option as if typed after -o. A file that loads must leave the
 * settings in a state the rest of parley can rely on; a failure must say
 * why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];
static int fuzz_ready;

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

static void
fuzz_setup(void)
{
	static const char *const vars[] = {
		"OLLAMA_HOST", "OLLAMA_BASE_URL", "OLLAMA_MODEL", "LM_STUDIO_BASE_URL",
		"LM_STUDIO_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "LOCAL_LLM_MODEL",
		"PARLEY_PROVIDER", "PARLEY_MODEL", "PARLEY_DB", "PARLEY_CONFIG",
		"PARLEY_THEME", "PARLEY_SERVE_KEY"
	};
	int fd;

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	/* memory-backed when there is one: the file is rewritten every run */
	snprintf(fuzz_path, sizeof fuzz_path, "%s/parley-fuzz-config.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	fd = mkstemp(fuzz_path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(fuzz_cleanup);
	fuzz_ready = 1;
}

static int
fuzz_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* What a loaded configuration promises its users. */
static void
fuzz_check_config(const struct config *cfg)
{
	static const char *const providers[] = { "ollama", "lm-studio", "openai", NULL };
	static const char *const thinks[] = { "true", "false", "low", "medium", "high", "max", NULL };
	const char *key;
	json_t *v;
	size_t len;

	if (cfg->provider != NULL && !fuzz_one_of(cfg->provider, providers))
		abort();
	if (cfg->think != NULL && !fuzz_one_of(cfg->think, thinks))
		abort();
	if (cfg->connect_timeout_ms <= 0 || cfg->read_timeout_ms <= 0)
		abort();
	if (cfg->base_url != NULL) {
		len = strlen(cfg->base_url);
		if (strstr(cfg->base_url, "://") == NULL || len == 0 || cfg->base_url[len - 1] == '/')
			abort();
	}
	if (!json_is_object(cfg->options) || !json_is_object(cfg->keys))
		abort();
	json_object_foreach(cfg->options, key, v)
	{
		if (v == NULL || json_is_null(v))
			abort();
		if (strcmp(key, "stop") == 0 && !json_is_array(v))
			abort();
	}
	if (cfg->nargs != 0)
		abort(); /* a file cannot add prompt words */
}

/* Every line as an -o argument: accepted means exactly that option is set. */
static void
fuzz_options(const char *text, size_t size)
{
	const char *p = text, *end = text + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = strndup(p, len), *cause = NULL;
		json_t *options = json_object();

		if (line == NULL)
			abort();
		if (config_set_option(options, line, &cause) == 0) {
			if (cause != NULL || json_object_size(options) != 1)
				abort();
		} else if (cause == NULL || json_object_size(options) != 0)
			abort();
		free(cause);
		free(line);
		json_decref(options);
		p += len + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { (char *)"parley", (char *)"--config", fuzz_path, NULL };
	struct config cfg;
	char *cause = NULL, *text;
	FILE *fp;
	int rc;

	if (!fuzz_ready)
		fuzz_setup();
	fp = fopen(fuzz_path, "w");
	if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
	rc = config_load(&cfg, 3, argv, &cause);
	if (rc == 0)
		fuzz_check_config(&cfg);
	else if (rc != -1 || cause == NULL)
		abort(); /* the file alone cannot ask for --help; a failure says why */
	free(cause);
	config_free(&cfg);

	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_options(text, strlen(text));
	free(text);
	return 0;
}
