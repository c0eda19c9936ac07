/* config.h: settings from the command line, the environment and the INI file
 * (precedence: flags > env > file > defaults), and OLLAMA_HOST parsing. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum face {
	FACE_AUTO,
	FACE_TUI,
	FACE_PIPE,
	FACE_REPL,
	FACE_SERVE,
	FACE_COMMAND
};

/* A [backend NAME] section: one of several backends used together. */
struct config_backend {
	char *name; /* [A-Za-z0-9._-], unique */
	char *provider; /* ollama (default), lm-studio, openai */
	char *base_url; /* normalised; NULL = the provider's default */
	char *api_key;
	int priority; /* higher is tried first among backends with the model; 0 */
};

struct config {
	/* backend */
	char *provider; /* "ollama", "lm-studio", "openai"; NULL = auto */
	char *base_url; /* normalised, no trailing '/' and no /v1; NULL = default */
	bool base_url_named; /* named by flag, env or file: no auto-discovery */
	bool base_url_flag; /* named by --base-url: outranks the environment */
	char *api_key;
	char *model; /* flag, PARLEY_MODEL or provider env var */
	char *model_file; /* model= from the config file (below env) */
	long connect_timeout_ms;
	long read_timeout_ms;
	/* [backend NAME] sections, in file order; with any, and no provider
	 * or address named, parley routes across them */
	struct config_backend *backends;
	int nbackends;
	bool no_discover; /* do not add the local backends that answer */

	/* chat */
	char *system;
	json_t *options; /* parley option names -> values */
	char *think; /* NULL, "true", "false", "low", "medium", "high", "max" */
	bool hide_thinking;
	char **images;
	int nimages;
	char **files;
	int nfiles;
	bool json;
	bool no_stream;
	bool no_save;

	/* sessions */
	char *session; /* -s ID|TITLE */
	bool cont; /* -c */
	bool new_session; /* --new */
	char *db_path;

	/* tools */
	char *mcp_path; /* --mcp; NULL = the default file */
	char *tools; /* --tools: "all" or a list; NULL = off */
	char *approve; /* "ask" (NULL), "always", "never" */
	int tool_rounds; /* 0 = the default */
	int extract; /* pipe --extract: code block N (1-based), -1 the last, 0 off */

	/* faces */
	enum face face;
	char *listen; /* [ADDR:]PORT */
	char *serve_key;
	char **cors_origins;
	int ncors;
	char *theme;
	char *config_path;
	int verbose;
	bool quiet;

	/* [keys] section: name=value pairs kept for the TUI */
	json_t *keys;

	/* positional arguments left after options (prompt words or a command) */
	char **args;
	int nargs;
};

/* Fill cfg from defaults, file, env and argv. Returns 0, 1 when the program
 * should exit 0 at once (--help, --version printed), or -1 with *cause
 * (usage error: exit 2). */
int config_load(struct config *cfg, int argc, char **argv, char **cause);
void config_free(struct config *cfg);

/* Parse an OLLAMA_HOST value exactly as Ollama does (protocols.md 1.1) and
 * return the URL to dial (scheme://host:port[/path]); 0.0.0.0, :: and an
 * empty host become loopback. Allocated. */
char *config_ollama_host(const char *value);

/* Strip trailing '/' and one trailing "/v1", add http:// when there is no
 * scheme; allocated. NULL when no scheme or no host is left (e.g. "", "/",
 * "/v1", "http://"). */
char *config_base_url(const char *url);

/* Set one option from "key=value" (the -o syntax) into an options object;
 * numbers and booleans typed, stop appended to an array. -1 with cause for
 * an unknown key or bad value. */
int config_set_option(json_t *options, const char *kv, char **cause);

/* The help text for the command line, generated from the option table. */
void config_usage(FILE *fp);

#endif
