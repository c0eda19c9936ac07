/*
 * config.c: where parley's settings come from. One table, config_table[],
 * names every option once: its long and short flag, its config-file key, its
 * environment variable and its help text, so --help, the file parser and the
 * man page cannot drift apart. Settings are read in layers, lowest first
 * (defaults, file, environment, flags); each layer overwrites what it names.
 *
 * The backend address has the most sources: --base-url, the provider's own
 * variable (OLLAMA_HOST / OLLAMA_BASE_URL, LM_STUDIO_BASE_URL,
 * OPENAI_BASE_URL) and base_url= in the file. A named address turns off
 * auto-discovery.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

enum config_key {
	K_PROVIDER = 256,
	K_BASE_URL,
	K_API_KEY,
	K_SYSTEM,
	K_THINK,
	K_HIDE_THINKING,
	K_JSON,
	K_NO_STREAM,
	K_NO_SAVE,
	K_NEW,
	K_PIPE,
	K_REPL,
	K_LISTEN,
	K_SERVE_KEY,
	K_CORS,
	K_THEME,
	K_CONFIG,
	K_DB,
	K_VERSION,
	K_CONNECT_TIMEOUT,
	K_READ_TIMEOUT,
	K_MCP,
	K_TOOLS,
	K_APPROVE,
	K_TOOL_ROUNDS,
	K_NO_DISCOVER,
	K_EXTRACT,
};

struct config_opt {
	const char *name; /* long flag and config-file key */
	int has_arg;
	int key; /* short flag or K_* */
	const char *arg; /* argument name for help */
	const char *env; /* environment variable, or NULL */
	const char *help;
};

static const struct config_opt config_table[] = {
	{ "provider", required_argument, K_PROVIDER, "P", "PARLEY_PROVIDER", "backend: ollama (default), lm-studio, openai (any OpenAI-compatible server)" },
	{ "auth", required_argument, K_PROVIDER, "P", NULL, "same as --provider" },
	{ "base-url", required_argument, K_BASE_URL, "URL", NULL, "backend address (with or without /v1)" },
	{ "api-key", required_argument, K_API_KEY, "KEY", "OPENAI_API_KEY", "bearer key for servers that need one" },
	{ "model", required_argument, 'm', "NAME", "PARLEY_MODEL", "model to chat with" },
	{ "session", required_argument, 's', "ID", NULL, "resume a session by id, id prefix or title (a new title starts one)" },
	{ "continue", no_argument, 'c', NULL, NULL, "resume the most recent session" },
	{ "new", no_argument, K_NEW, NULL, NULL, "start a new session" },
	{ "system", required_argument, K_SYSTEM, "TEXT", NULL, "system prompt" },
	{ "option", required_argument, 'o', "KEY=VALUE", NULL, "model option: temperature, top_p, top_k, min_p, seed, num_ctx, max_tokens, stop, repeat_penalty, presence_penalty, frequency_penalty, keep_alive" },
	{ "think", optional_argument, K_THINK, "on|off|low|medium|high", NULL, "reasoning for thinking models" },
	{ "hide-thinking", no_argument, K_HIDE_THINKING, NULL, NULL, "do not show reasoning text" },
	{ "image", required_argument, 'i', "FILE", NULL, "attach an image (vision models)" },
	{ "file", required_argument, 'f', "FILE", NULL, "attach a text file" },
	{ "json", no_argument, K_JSON, NULL, NULL, "machine output: NDJSON events in pipe mode, JSON for commands" },
	{ "no-stream", no_argument, K_NO_STREAM, NULL, NULL, "print the answer in one piece" },
	{ "extract", optional_argument, K_EXTRACT, "N|last", NULL, "pipe mode: print only the reply's first (Nth, last) code block" },
	{ "no-save", no_argument, K_NO_SAVE, NULL, NULL, "do not record the exchange" },
	{ "pipe", no_argument, K_PIPE, NULL, NULL, "pipe mode even on a terminal" },
	{ "repl", no_argument, K_REPL, NULL, NULL, "line-mode chat" },
	{ "tools", required_argument, K_TOOLS, "all|SERVER,SERVER__TOOL", NULL, "offer these MCP servers' tools to the model and run its calls" },
	{ "approve", required_argument, K_APPROVE, "ask|always|never", NULL, "may tool calls run: ask first (default), always, never" },
	{ "tool-rounds", required_argument, K_TOOL_ROUNDS, "N", NULL, "at most N rounds of tool calls a turn (default 10)" },
	{ "mcp", required_argument, K_MCP, "FILE", "PARLEY_MCP", "MCP servers file (default $XDG_CONFIG_HOME/parley/mcp.json)" },
	{ "listen", required_argument, K_LISTEN, "[ADDR:]PORT", NULL, "also run the OpenAI-compatible listener" },
	{ "serve-key", required_argument, K_SERVE_KEY, "KEY", "PARLEY_SERVE_KEY", "bearer key the listener requires" },
	{ "cors", required_argument, K_CORS, "ORIGIN", NULL, "allow this browser origin on the listener (repeatable)" },
	{ "theme", required_argument, K_THEME, "NAME", "PARLEY_THEME", "colour theme" },
	{ "config", required_argument, K_CONFIG, "FILE", "PARLEY_CONFIG", "configuration file" },
	{ "db", required_argument, K_DB, "FILE", "PARLEY_DB", "session store" },
	{ "no-discover", no_argument, K_NO_DISCOVER, NULL, "PARLEY_NO_DISCOVER", "with [backend] sections in the config file: use only those, not also the local backends that answer" },
	{ "connect-timeout", required_argument, K_CONNECT_TIMEOUT, "SEC", NULL, "connect timeout (default 5)" },
	{ "read-timeout", required_argument, K_READ_TIMEOUT, "SEC", NULL, "longest silence from the backend (default 600)" },
	{ "verbose", no_argument, 'v', NULL, NULL, "print statistics and what parley is doing" },
	{ "quiet", no_argument, 'q', NULL, NULL, "print only the answer" },
	{ "version", no_argument, K_VERSION, NULL, NULL, "print the version" },
	{ "help", no_argument, 'h', NULL, NULL, "this help" },
};
#define CONFIG_NOPTS (sizeof config_table / sizeof config_table[0])

/* Words that start a subcommand rather than a prompt. */
static const char *const config_commands[] = {
	"models", "list", "ls", "show", "ps", "pull", "rm", "cp", "sessions", "serve", "tools", NULL
};

/* Option names accepted by -o and the [options] section, with their types. */
static const struct {
	const char *name;
	char type; /* f float, i integer, s string, a string array, k keep_alive */
} config_option_names[] = {
	{ "temperature", 'f' },
	{ "top_p", 'f' },
	{ "top_k", 'i' },
	{ "min_p", 'f' },
	{ "seed", 'i' },
	{ "num_ctx", 'i' },
	{ "max_tokens", 'i' },
	{ "stop", 'a' },
	{ "repeat_penalty", 'f' },
	{ "presence_penalty", 'f' },
	{ "frequency_penalty", 'f' },
	{ "keep_alive", 'k' },
	{ "repeat_last_n", 'i' },
	{ "typical_p", 'f' },
	{ "num_predict", 'i' },
};

static void
config_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? xstrdup(v) : NULL;
}

static char *
config_trim(const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '"' || *s == '\'')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '"' || s[len - 1] == '\''))
		len--;
	return xstrndup(s, len);
}

char *
config_ollama_host(const char *value)
{
	char *v = config_trim(value != NULL ? value : "");
	const char *scheme = "http", *rest = v, *slash;
	char *hostport, *host, *path, *out;
	const char *port = "11434", *defport;
	char *colon;
	long portnum;

	if (strstr(v, "://") != NULL) {
		char *sep = strstr(v, "://");

		*sep = '\0';
		scheme = v;
		rest = sep + 3;
		if (strcmp(scheme, "http") == 0)
			port = "80";
		else if (strcmp(scheme, "https") == 0)
			port = "443";
	}
	defport = port;
	slash = strchr(rest, '/');
	hostport = slash != NULL ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	path = slash != NULL ? xstrdup(slash) : xstrdup("");
	/* Split host and port; an IPv6 literal is bracketed or has many colons. */
	if (hostport[0] == '[') {
		char *end = strchr(hostport, ']');

		if (end != NULL) {
			*end = '\0';
			host = xstrdup(hostport + 1);
			if (end[1] == ':' && end[2] != '\0')
				port = end + 2;
		} else
			host = xstrdup(hostport + 1);
	} else if ((colon = strrchr(hostport, ':')) != NULL && strchr(hostport, ':') == colon) {
		*colon = '\0';
		host = xstrdup(hostport);
		if (colon[1] != '\0')
			port = colon + 1;
	} else
		host = xstrdup(hostport);

	/* A port that is not decimal digits in range falls back to the
	 * default (strtol alone would let " 80", "+80" and "-0" through into
	 * the URL); it is written back as a plain number ("0080" is 80). */
	{
		char *end;

		errno = 0;
		portnum = strtol(port, &end, 10);
		if (errno != 0 || *end != '\0' || portnum < 0 || portnum > 65535 || port[0] == '\0' ||
		    strspn(port, "0123456789") != strlen(port))
			portnum = strtol(defport, NULL, 10);
	}
	/* Listening on every address means dialling loopback. */
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0) {
		free(host);
		host = xstrdup("127.0.0.1");
	} else if (strcmp(host, "::") == 0) {
		free(host);
		host = xstrdup("::1");
	}
	while (path[0] != '\0' && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if (strchr(host, ':') != NULL)
		out = xasprintf("%s://[%s]:%ld%s", scheme, host, portnum, path);
	else
		out = xasprintf("%s://%s:%ld%s", scheme, host, portnum, path);
	free(host);
	free(path);
	free(hostport);
	free(v);
	return out;
}

char *
config_base_url(const char *url)
{
	char *u = config_trim(url), *with;
	const char *sep = strstr(u, "://");
	size_t len, min;

	if (sep == NULL) {
		with = xasprintf("http://%s", u);
		free(u);
		u = with;
		sep = u + 4;
	}
	/* Trailing slashes and /v1 come off the path, never off the "//". */
	min = (size_t)(sep - u) + 3;
	len = strlen(u);
	while (len > min && u[len - 1] == '/')
		u[--len] = '\0';
	if (len >= min + 3 && strcmp(u + len - 3, "/v1") == 0) {
		len -= 3;
		u[len] = '\0';
	}
	while (len > min && u[len - 1] == '/')
		u[--len] = '\0';
	if (sep == u || len == min || u[min] == '/') {
		free(u); /* no scheme or no host: nothing to dial */
		return NULL;
	}
	return u;
}

int
config_set_option(json_t *options, const char *kv, char **cause)
{
	const char *eq = strchr(kv, '=');
	char *key, *val, *end;
	size_t i;
	int rc = 0;

	if (eq == NULL)
		return util_fail(cause, "option '%s' is not KEY=VALUE", kv);
	val = xstrndup(kv, (size_t)(eq - kv));
	key = config_trim(val);
	free(val);
	val = config_trim(eq + 1);
	for (i = 0; i < sizeof config_option_names / sizeof config_option_names[0]; i++)
		if (strcmp(config_option_names[i].name, key) == 0)
			break;
	if (i == sizeof config_option_names / sizeof config_option_names[0]) {
		rc = util_fail(cause, "unknown option '%s' (known: temperature, top_p, top_k, min_p, seed, num_ctx, max_tokens, stop, repeat_penalty, presence_penalty, frequency_penalty, keep_alive)", key);
		goto out;
	}
	if (strcmp(key, "num_predict") == 0) {
		free(key);
		key = xstrdup("max_tokens");
	}
	if (!util_utf8_valid(val, strlen(val))) {
		/* JSON cannot carry it: it would be dropped without a word */
		rc = util_fail(cause, "option %s: the value is not valid UTF-8", key);
		goto out;
	}
	errno = 0;
	switch (config_option_names[i].type) {
	case 'f': {
		double d = strtod(val, &end);

		if (errno != 0 || end == val || *end != '\0' || !isfinite(d)) {
			rc = util_fail(cause, "option %s needs a number, not '%s'", key, val);
			goto out;
		}
		json_object_set_new(options, key, json_real(d));
		break;
	}
	case 'i': {
		long long n = strtoll(val, &end, 10);

		if (errno != 0 || end == val || *end != '\0') {
			rc = util_fail(cause, "option %s needs a whole number, not '%s'", key, val);
			goto out;
		}
		json_object_set_new(options, key, json_integer(n));
		break;
	}
	case 'a': {
		json_t *arr = json_object_get(options, key);

		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(options, key, arr);
		}
		json_array_append_new(arr, json_string(val));
		break;
	}
	case 'k': {
		long long n = strtoll(val, &end, 10);

		if (end != val && *end == '\0')
			json_object_set_new(options, key, json_integer(n));
		else
			json_object_set_new(options, key, json_string(val));
		break;
	}
	default:
		json_object_set_new(options, key, json_string(val));
	}
out:
	free(key);
	free(val);
	return rc;
}

static int
config_set_think(struct config *cfg, const char *v, char **cause)
{
	static const struct {
		const char *in, *out;
	} map[] = {
		{ "", "true" },
		{ "on", "true" },
		{ "true", "true" },
		{ "yes", "true" },
		{ "1", "true" },
		{ "off", "false" },
		{ "false", "false" },
		{ "no", "false" },
		{ "0", "false" },
		{ "low", "low" },
		{ "medium", "medium" },
		{ "high", "high" },
		{ "max", "max" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(map[i].in, v != NULL ? v : "") == 0) {
			config_set_str(&cfg->think, map[i].out);
			return 0;
		}
	}
	return util_fail(cause, "--think takes on, off, low, medium, high or max, not '%s'", v);
}

static bool
config_bool(const char *v)
{
	return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

static long
config_seconds_ms(const char *v, char **cause, const char *what)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	/* written so that NaN, which compares false, fails it too */
	if (errno != 0 || end == v || *end != '\0' || !(d > 0 && d <= 86400 * 7)) {
		util_fail(cause, "%s takes seconds, not '%s'", what, v);
		return -1;
	}
	return (long)(d * 1000);
}

static void
config_append(char ***v, int *n, const char *s)
{
	*v = xreallocarray(*v, (size_t)*n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

/* Apply one setting by option key. from_file: values come from the config
 * file (model goes to model_file so the environment can outrank it). */
static int
config_apply(struct config *cfg, int key, const char *v, bool from_file, char **cause)
{
	long ms;

	switch (key) {
	case K_PROVIDER:
		if (strcmp(v, "ollama") != 0 && strcmp(v, "lm-studio") != 0 && strcmp(v, "lmstudio") != 0 &&
		    strcmp(v, "openai") != 0 && strcmp(v, "llama-server") != 0 && strcmp(v, "llama.cpp") != 0)
			return util_fail(cause, "unknown provider '%s' (ollama, lm-studio or openai)", v);
		if (strcmp(v, "lmstudio") == 0)
			v = "lm-studio";
		else if (strcmp(v, "llama-server") == 0 || strcmp(v, "llama.cpp") == 0)
			v = "openai";
		config_set_str(&cfg->provider, v);
		break;
	case K_BASE_URL: {
		char *url = config_base_url(v);

		if (url == NULL)
			return util_fail(cause, "base URL '%s' names no host (e.g. http://127.0.0.1:8080)", v);
		free(cfg->base_url);
		cfg->base_url = url;
		cfg->base_url_named = true;
		cfg->base_url_flag = !from_file;
		break;
	}
	case K_API_KEY:
		config_set_str(&cfg->api_key, v);
		break;
	case K_NO_DISCOVER:
		cfg->no_discover = v == NULL || config_bool(v);
		break;
	case 'm':
		config_set_str(from_file ? &cfg->model_file : &cfg->model, v);
		break;
	case 's':
		config_set_str(&cfg->session, v);
		break;
	case 'c':
		cfg->cont = true;
		break;
	case K_NEW:
		cfg->new_session = true;
		break;
	case K_SYSTEM:
		config_set_str(&cfg->system, v);
		break;
	case 'o':
		return config_set_option(cfg->options, v, cause);
	case K_THINK:
		return config_set_think(cfg, v, cause);
	case K_HIDE_THINKING:
		cfg->hide_thinking = v == NULL || config_bool(v);
		break;
	case 'i':
		config_append(&cfg->images, &cfg->nimages, v);
		break;
	case 'f':
		config_append(&cfg->files, &cfg->nfiles, v);
		break;
	case K_JSON:
		cfg->json = v == NULL || config_bool(v);
		break;
	case K_NO_STREAM:
		cfg->no_stream = v == NULL || config_bool(v);
		break;
	case K_NO_SAVE:
		cfg->no_save = v == NULL || config_bool(v);
		break;
	case K_PIPE:
		cfg->face = FACE_PIPE;
		break;
	case K_REPL:
		cfg->face = FACE_REPL;
		break;
	case K_LISTEN:
		config_set_str(&cfg->listen, v);
		break;
	case K_MCP:
		config_set_str(&cfg->mcp_path, v);
		break;
	case K_TOOLS:
		config_set_str(&cfg->tools, v != NULL && v[0] != '\0' ? v : "all");
		break;
	case K_APPROVE:
		if (strcmp(v, "ask") != 0 && strcmp(v, "always") != 0 && strcmp(v, "never") != 0)
			return util_fail(cause, "--approve must be ask, always or never, not '%s'", v);
		config_set_str(&cfg->approve, v);
		break;
	case K_EXTRACT: {
		char *end;
		long n;

		if (from_file)
			return util_fail(cause, "extract is for one run (--extract), not for the configuration file");
		if (v == NULL || *v == '\0') {
			cfg->extract = 1;
			break;
		}
		if (strcmp(v, "last") == 0) {
			cfg->extract = -1;
			break;
		}
		n = strtol(v, &end, 10);
		if (*end != '\0' || n < 1 || n > 10000)
			return util_fail(cause, "--extract takes a block number from 1 or 'last', not '%s'", v);
		cfg->extract = (int)n;
		break;
	}
	case K_TOOL_ROUNDS: {
		char *end;
		long n = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || n < 1 || n > 1000)
			return util_fail(cause, "--tool-rounds must be a number from 1 to 1000, not '%s'", v);
		cfg->tool_rounds = (int)n;
		break;
	}
	case K_SERVE_KEY:
		config_set_str(&cfg->serve_key, v);
		break;
	case K_CORS:
		config_append(&cfg->cors_origins, &cfg->ncors, v);
		break;
	case K_THEME:
		config_set_str(&cfg->theme, v);
		break;
	case K_CONFIG:
		config_set_str(&cfg->config_path, v);
		break;
	case K_DB:
		config_set_str(&cfg->db_path, v);
		break;
	case K_CONNECT_TIMEOUT:
		if ((ms = config_seconds_ms(v, cause, "connect-timeout")) < 0)
			return -1;
		cfg->connect_timeout_ms = ms;
		break;
	case K_READ_TIMEOUT:
		if ((ms = config_seconds_ms(v, cause, "read-timeout")) < 0)
			return -1;
		cfg->read_timeout_ms = ms;
		break;
	case 'v':
		cfg->verbose = v == NULL ? cfg->verbose + 1 : (config_bool(v) ? 1 : 0);
		break;
	case 'q':
		cfg->quiet = v == NULL || config_bool(v);
		break;
	default:
		return util_fail(cause, "unhandled option");
	}
	return 0;
}

struct config_file_ctx {
	struct config *cfg;
	const char *path;
	char *cause;
};

/* The [backend NAME] section being read, made on its first key. */
static struct config_backend *
config_backend_of(struct config *cfg, const char *name, char **cause)
{
	struct config_backend *b;

	for (int i = 0; i < cfg->nbackends; i++)
		if (strcmp(cfg->backends[i].name, name) == 0)
			return &cfg->backends[i];
	if (name[0] == '\0' || strlen(name) > 64 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(name)) {
		util_fail(cause, "[backend %s]: a backend's name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
		    name);
		return NULL;
	}
	cfg->backends = xreallocarray(cfg->backends, (size_t)cfg->nbackends + 1, sizeof *cfg->backends);
	b = &cfg->backends[cfg->nbackends++];
	memset(b, 0, sizeof *b);
	b->name = xstrdup(name);
	b->provider = xstrdup("ollama");
	return b;
}

static int
config_backend_set(struct config *cfg, const char *section, const char *key, const char *value, char **cause)
{
	struct config_backend *b = config_backend_of(cfg, section, cause);
	char *end;
	long n;

	if (b == NULL)
		return -1;
	if (strcmp(key, "provider") == 0) {
		if (strcmp(value, "ollama") == 0 || strcmp(value, "lm-studio") == 0 || strcmp(value, "openai") == 0)
			config_set_str(&b->provider, value);
		else if (strcmp(value, "lmstudio") == 0)
			config_set_str(&b->provider, "lm-studio");
		else if (strcmp(value, "llama-server") == 0 || strcmp(value, "llama.cpp") == 0)
			config_set_str(&b->provider, "openai");
		else
			return util_fail(cause, "[backend %s]: unknown provider '%s' (ollama, lm-studio or openai)", section,
			    value);
	} else if (strcmp(key, "base-url") == 0) {
		char *url = config_base_url(value);

		if (url == NULL)
			return util_fail(cause, "[backend %s]: base URL '%s' names no host (e.g. http://192.168.1.20:11434)",
			    section, value);
		free(b->base_url);
		b->base_url = url;
	} else if (strcmp(key, "api-key") == 0) {
		config_set_str(&b->api_key, value);
	} else if (strcmp(key, "priority") == 0) {
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < -1000000 || n > 1000000)
			return util_fail(cause, "[backend %s]: priority must be a whole number, not '%s'", section, value);
		b->priority = (int)n;
	} else
		return util_fail(cause, "[backend %s]: unknown setting '%s' (provider, base-url, api-key, priority)",
		    section, key);
	return 0;
}

static int
config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_file_ctx *ctx = user;
	char *key = xstrdup(name), *kv;
	int rc = 1;

	if (ctx->cause != NULL) {
		free(key);
		return 0;
	}
	for (char *p = key; *p; p++)
		if (*p == '_')
			*p = '-';
	if (strcmp(section, "options") == 0) {
		char *opt = NULL;

		kv = xasprintf("%s=%s", name, value);
		if (config_set_option(ctx->cfg->options, kv, &opt) != 0) {
			ctx->cause = xstrdup(opt);
			free(opt);
		}
		free(kv);
	} else if (strcmp(section, "keys") == 0) {
		json_object_set_new(ctx->cfg->keys, name, json_string(value));
	} else if (strncmp(section, "backend", 7) == 0 && (section[7] == ' ' || section[7] == '\t')) {
		const char *bname = section + 7 + strspn(section + 7, " \t");

		config_backend_set(ctx->cfg, bname, key, value, &ctx->cause);
	} else if (section[0] == '\0' || strcmp(section, "parley") == 0) {
		size_t i;

		for (i = 0; i < CONFIG_NOPTS; i++)
			if (strcmp(config_table[i].name, key) == 0)
				break;
		if (i == CONFIG_NOPTS || strcmp(key, "config") == 0 || strcmp(key, "help") == 0 || strcmp(key, "version") == 0) {
			ctx->cause = xasprintf("unknown setting '%s'", name);
		} else {
			char *why = NULL;
			const char *v = value;

			rc = 0; /* a flag set to false applies nothing */
			if (config_table[i].has_arg == no_argument && !config_bool(value))
				v = "false";
			if (config_table[i].has_arg == no_argument && config_table[i].key != K_HIDE_THINKING &&
			    config_table[i].key != K_JSON && config_table[i].key != K_NO_STREAM &&
			    config_table[i].key != K_NO_SAVE && config_table[i].key != 'v' && config_table[i].key != 'q') {
				/* flags like --new or --pipe make no sense in a file */
				if (config_bool(value))
					rc = config_apply(ctx->cfg, config_table[i].key, NULL, true, &why);
			} else
				rc = config_apply(ctx->cfg, config_table[i].key, v, true, &why);
			if (rc != 0) {
				ctx->cause = xstrdup(why);
				free(why);
			}
			rc = 1;
		}
	} else {
		ctx->cause = xasprintf("unknown section [%s]", section);
	}
	free(key);
	/* inih reports the line of the first handler failure */
	return ctx->cause != NULL ? 0 : rc;
}

static int
config_read_file(struct config *cfg, const char *path, bool must_exist, char **cause)
{
	struct config_file_ctx ctx = { cfg, path, NULL };
	FILE *fp = fopen(path, "r");
	int rc;

	if (fp == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return util_fail(cause, "cannot read config file %s: %s", path, strerror(errno));
	}
	rc = ini_parse_file(fp, config_ini_handler, &ctx);
	fclose(fp);
	if (ctx.cause != NULL) {
		util_fail(cause, "%s:%d: %s", path, rc, ctx.cause);
		free(ctx.cause);
		return -1;
	}
	if (rc > 0)
		return util_fail(cause, "%s:%d: not a valid line (expected key = value or [section])", path, rc);
	return 0;
}

static bool
config_is_command(const char *w)
{
	for (int i = 0; config_commands[i] != NULL; i++)
		if (strcmp(config_commands[i], w) == 0)
			return true;
	return false;
}

static void
config_env(struct config *cfg)
{
	const char *v;
	char *why = NULL;

	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		if (config_table[i].env == NULL || config_table[i].key == K_CONFIG)
			continue;
		v = getenv(config_table[i].env);
		if (v == NULL || v[0] == '\0')
			continue;
		if (config_apply(cfg, config_table[i].key, v, false, &why) != 0) {
			fprintf(stderr, "parley: ignoring %s: %s\n", config_table[i].env, why);
			free(why);
			why = NULL;
		}
	}
}

/* A base URL from the environment; one that names no host is ignored. */
static char *
config_env_url(const char *var, const char *value)
{
	char *url = config_base_url(value);

	if (url == NULL)
		fprintf(stderr, "parley: ignoring %s: '%s' names no host\n", var, value);
	return url;
}

/* The backend address and model from the provider-specific variables. The
 * provider decides which apply; with none named, the variables that are set
 * pick it (OLLAMA_* first). */
static void
config_env_backend(struct config *cfg)
{
	const char *oh = getenv("OLLAMA_HOST"), *ob = getenv("OLLAMA_BASE_URL");
	const char *lb = getenv("LM_STUDIO_BASE_URL"), *pb = getenv("OPENAI_BASE_URL");
	const char *p = cfg->provider;
	char *url = NULL;

	if (oh != NULL && oh[0] == '\0')
		oh = NULL;
	if (ob != NULL && ob[0] == '\0')
		ob = NULL;
	if (lb != NULL && lb[0] == '\0')
		lb = NULL;
	if (pb != NULL && pb[0] == '\0')
		pb = NULL;
	if (p == NULL) {
		if (ob != NULL || oh != NULL)
			p = "ollama";
		else if (lb != NULL)
			p = "lm-studio";
		else if (pb != NULL)
			p = "openai";
	}
	if (p == NULL)
		return;
	if (strcmp(p, "ollama") == 0) {
		if (ob != NULL)
			url = config_env_url("OLLAMA_BASE_URL", ob);
		else if (oh != NULL)
			url = config_ollama_host(oh);
	} else if (strcmp(p, "lm-studio") == 0 && lb != NULL)
		url = config_env_url("LM_STUDIO_BASE_URL", lb);
	else if (strcmp(p, "openai") == 0 && pb != NULL)
		url = config_env_url("OPENAI_BASE_URL", pb);
	if (url != NULL) {
		free(cfg->base_url);
		cfg->base_url = url;
		cfg->base_url_named = true;
		if (cfg->provider == NULL)
			config_set_str(&cfg->provider, p);
	}
}

/* The model when no flag named one: PARLEY_MODEL (applied with the other
 * variables), the provider's own variable, LOCAL_LLM_MODEL, the file. */
static void
config_env_model(struct config *cfg)
{
	const char *v = NULL;

	if (cfg->model != NULL)
		return;
	if (cfg->provider == NULL || strcmp(cfg->provider, "ollama") == 0)
		v = getenv("OLLAMA_MODEL");
	if ((v == NULL || v[0] == '\0') && (cfg->provider == NULL || strcmp(cfg->provider, "lm-studio") == 0))
		v = getenv("LM_STUDIO_MODEL");
	if (v == NULL || v[0] == '\0')
		v = getenv("LOCAL_LLM_MODEL");
	if (v != NULL && v[0] != '\0')
		config_set_str(&cfg->model, v);
	else if (cfg->model_file != NULL)
		config_set_str(&cfg->model, cfg->model_file);
}

static struct option *
config_longopts(char *shortopts, size_t shortlen)
{
	struct option *lo = xcalloc(CONFIG_NOPTS + 1, sizeof *lo);
	size_t s = 0;

	shortopts[s++] = '+';
	shortopts[s++] = ':';
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		lo[i].name = config_table[i].name;
		lo[i].has_arg = config_table[i].has_arg;
		lo[i].val = config_table[i].key;
		if (config_table[i].key < 256 && s + 3 < shortlen) {
			shortopts[s++] = (char)config_table[i].key;
			if (config_table[i].has_arg == required_argument)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	return lo;
}

int
config_load(struct config *cfg, int argc, char **argv, char **cause)
{
	char shortopts[64], *path = NULL;
	struct option *lo;
	const char *v;
	bool help = false, version = false, command = false;
	int c, rc = 0, idx;

	memset(cfg, 0, sizeof *cfg);
	cfg->options = json_object();
	cfg->keys = json_object();
	cfg->connect_timeout_ms = 5000;
	cfg->read_timeout_ms = 600000;

	/* First pass over argv only for --config, so the file can be read
	 * before the flags that override it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = xstrdup(argv[i + 1]);
		else if (util_prefix(argv[i], "--config="))
			path = xstrdup(argv[i] + 9);
	}
	if (path == NULL && (v = getenv("PARLEY_CONFIG")) != NULL && v[0] != '\0')
		path = xstrdup(v);
	if (path != NULL) {
		rc = config_read_file(cfg, path, true, cause);
		cfg->config_path = path;
	} else {
		char *dir = util_xdg_dir("CONFIG");

		cfg->config_path = xasprintf("%s/config", dir);
		free(dir);
		rc = config_read_file(cfg, cfg->config_path, false, cause);
	}
	if (rc != 0)
		return -1;

	config_env(cfg);

	lo = config_longopts(shortopts, sizeof shortopts);
	optind = 1;
	opterr = 0;
	while (optind < argc) {
		char *why = NULL;

		c = getopt_long(argc, argv, shortopts, lo, &idx);
		if (c == -1) {
			if (optind >= argc)
				break;
			if (strcmp(argv[optind - 1], "--") == 0 && optind > 1) {
				/* everything after -- is prompt */
				while (optind < argc)
					config_append(&cfg->args, &cfg->nargs, argv[optind++]);
				break;
			}
			if (cfg->nargs == 0 && config_is_command(argv[optind])) {
				command = true;
				config_append(&cfg->args, &cfg->nargs, argv[optind++]);
				/* sessions and tools parse their own options (-o FILE,
				 * --call NAME) */
				if (strcmp(cfg->args[0], "sessions") == 0 || strcmp(cfg->args[0], "tools") == 0) {
					while (optind < argc)
						config_append(&cfg->args, &cfg->nargs, argv[optind++]);
					break;
				}
				continue;
			}
			config_append(&cfg->args, &cfg->nargs, argv[optind++]);
			continue;
		}
		if (c == '?') {
			rc = util_fail(cause, "unknown option '%s' (try --help)", argv[optind - 1]);
			break;
		}
		if (c == ':') {
			rc = util_fail(cause, "option '%s' needs a value", argv[optind - 1]);
			break;
		}
		if (c == 'h') {
			help = true;
			continue;
		}
		if (c == K_VERSION) {
			version = true;
			continue;
		}
		if (config_apply(cfg, c, optarg, false, &why) != 0) {
			rc = -1;
			*cause = why;
			break;
		}
	}
	free(lo);
	if (rc != 0)
		return -1;
	if (help) {
		config_usage(stdout);
		return 1;
	}
	if (version) {
		printf("parley %s\n", PARLEY_VERSION);
		return 1;
	}
	if (!cfg->base_url_flag)
		config_env_backend(cfg);
	config_env_model(cfg);
	if (cfg->cont && cfg->new_session)
		return util_fail(cause, "--continue and --new cannot be used together");
	if (cfg->session != NULL && cfg->new_session)
		return util_fail(cause, "--session and --new cannot be used together");
	if (cfg->session != NULL && cfg->cont)
		return util_fail(cause, "--session and --continue cannot be used together");
	if (command)
		cfg->face = FACE_COMMAND;
	return 0;
}

void
config_free(struct config *cfg)
{
	free(cfg->provider);
	free(cfg->base_url);
	free(cfg->api_key);
	for (int i = 0; i < cfg->nbackends; i++) {
		free(cfg->backends[i].name);
		free(cfg->backends[i].provider);
		free(cfg->backends[i].base_url);
		free(cfg->backends[i].api_key);
	}
	free(cfg->backends);
	free(cfg->model);
	free(cfg->model_file);
	free(cfg->system);
	json_decref(cfg->options);
	free(cfg->think);
	for (int i = 0; i < cfg->nimages; i++)
		free(cfg->images[i]);
	free(cfg->images);
	for (int i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->session);
	free(cfg->db_path);
	free(cfg->listen);
	free(cfg->mcp_path);
	free(cfg->tools);
	free(cfg->approve);
	free(cfg->serve_key);
	for (int i = 0; i < cfg->ncors; i++)
		free(cfg->cors_origins[i]);
	free(cfg->cors_origins);
	free(cfg->theme);
	free(cfg->config_path);
	json_decref(cfg->keys);
	for (int i = 0; i < cfg->nargs; i++)
		free(cfg->args[i]);
	free(cfg->args);
	memset(cfg, 0, sizeof *cfg);
}

void
config_usage(FILE *fp)
{
	fputs("usage: parley [OPTIONS]                  full-screen chat (on a terminal)\n"
	      "       parley [OPTIONS] PROMPT...        answer on stdout (pipe mode)\n"
	      "       parley --repl [OPTIONS]           line-mode chat\n"
	      "       parley serve [OPTIONS]            OpenAI-compatible listener\n"
	      "       parley models | show M | ps | pull M | rm M | cp SRC DST\n"
	      "       parley sessions [list | show ID | rename ID TITLE | rm ID |\n"
	      "                        export ID | import FILE | search TEXT]\n\noptions:\n",
	    fp);
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_table[i];
		char flag[64];

		if (o->key < 256)
			snprintf(flag, sizeof flag, "-%c, --%s%s%s", o->key, o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(flag, sizeof flag, "    --%s%s%s%s", o->name,
			    o->has_arg == optional_argument ? "[=" : (o->arg ? " " : ""),
			    o->arg ? o->arg : "", o->has_arg == optional_argument ? "]" : "");
		fprintf(fp, "  %-34s %s%s%s%s\n", flag, o->help, o->env ? " [" : "",
		    o->env ? o->env : "", o->env ? "]" : "");
	}
	fputs("\nenvironment: OLLAMA_HOST, OLLAMA_BASE_URL, OLLAMA_MODEL, LM_STUDIO_BASE_URL,\n"
	      "LM_STUDIO_MODEL, OPENAI_BASE_URL, LOCAL_LLM_MODEL, NO_COLOR, XDG_CONFIG_HOME,\n"
	      "XDG_DATA_HOME. Flags beat the environment, which beats the config file.\n"
	      "exit status: 0 ok, 1 error, 2 usage, 3 backend unreachable, 4 model not found,\n"
	      "5 backend failed, 130 interrupted. See parley(1).\n",
	    fp);
}
