/*
 * main.c: parse the command line, pick the face, run it.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cmd.h"
#include "config.h"
#include "httpd.h"
#include "pipe.h"
#include "repl.h"
#include "ui.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(struct config *, int, char **);
} main_commands[] = {
	{ "models", cmd_models },
	{ "list", cmd_models },
	{ "ls", cmd_models },
	{ "show", cmd_show },
	{ "ps", cmd_ps },
	{ "pull", cmd_pull },
	{ "rm", cmd_rm },
	{ "cp", cmd_cp },
	{ "sessions", cmd_sessions },
	{ "serve", cmd_serve },
	{ "tools", cmd_tools },
};

/* The faces that run on the app; one line each. */
static const struct {
	enum face face;
	const char *name;
	int (*fn)(struct app *);
} main_faces[] = {
	{ FACE_PIPE, "pipe mode", pipe_main },
	{ FACE_TUI, "full-screen chat", ui_main },
	{ FACE_REPL, "line-mode chat", repl_main },
};

static int
main_face(struct config *cfg)
{
	enum face face = cfg->face;
	char *cause = NULL;
	struct app a;
	int rc;

	/* The chat screen when both ends are a terminal and there is no
	 * prompt; pipe mode otherwise. */
	if (face == FACE_AUTO)
		face = cfg->nargs == 0 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) ? FACE_TUI : FACE_PIPE;
	/* a listener that would be refused is a usage error, said before the
	 * screen takes over */
	if (face != FACE_PIPE && cfg->listen != NULL && httpd_check(cfg->listen, cfg->serve_key, &cause) != 0) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		return 2;
	}
	for (size_t i = 0; i < sizeof main_faces / sizeof main_faces[0]; i++) {
		if (main_faces[i].face != face)
			continue;
		app_init(&a, cfg);
		rc = main_faces[i].fn(&a);
		app_free(&a);
		return rc;
	}
	fprintf(stderr, "parley: this build has no %s; use pipe mode: parley PROMPT\n",
	    face == FACE_TUI ? "full-screen chat" : "line-mode chat");
	return 1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char *cause = NULL;
	int rc;

	setlocale(LC_ALL, "");
	rc = config_load(&cfg, argc, argv, &cause);
	if (rc != 0) {
		if (rc < 0) {
			fprintf(stderr, "parley: %s\n", cause);
			free(cause);
		}
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (cfg.face == FACE_COMMAND) {
		rc = -1;
		for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++)
			if (strcmp(main_commands[i].name, cfg.args[0]) == 0)
				rc = main_commands[i].fn(&cfg, cfg.nargs, cfg.args);
		if (rc == -1) {
			fprintf(stderr, "parley: %s is not available in this build\n", cfg.args[0]);
			rc = 1;
		}
	} else
		rc = main_face(&cfg);
	config_free(&cfg);
	return rc;
}
