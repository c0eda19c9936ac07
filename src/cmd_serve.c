/*
 * cmd_serve.c: `parley serve`, the listener alone, in the foreground until
 * SIGINT or SIGTERM (so systemd, tmux or a plain & can run it). The backend
 * is probed once to say what was found, but a backend that is down does not
 * stop the listener: requests answer 503 until it is back.
 */
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "httpd.h"
#include "util.h"

static void
cmd_serve_stop(int sig, void *arg)
{
	bool *done = arg;

	(void)sig;
	*done = true;
}

int
cmd_serve(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct httpd *h;
	bool done = false;
	char *msg = NULL, *note = NULL, *cause = NULL;
	enum llm_err err;

	if (argc > 1) {
		fprintf(stderr, "parley: serve takes no arguments, only options (got '%s'); see --listen, --serve-key, --cors\n",
		    argv[1]);
		return LLM_ERR_USAGE;
	}
	if (httpd_check(cfg->listen, cfg->serve_key, &cause) != 0) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		return LLM_ERR_USAGE;
	}
	app_init(&a, cfg);
	signal(SIGPIPE, SIG_IGN);
	loop_signal(a.loop, SIGINT, cmd_serve_stop, &done);
	loop_signal(a.loop, SIGTERM, cmd_serve_stop, &done);

	err = app_connect(&a, true, &msg, &note);
	if (note != NULL)
		fprintf(stderr, "parley: %s\n", note);
	if (err != LLM_OK)
		fprintf(stderr, "parley: %s; serving anyway (chat requests fail until the backend answers)\n", msg);
	free(note);
	free(msg);
	if (app_open_store(&a) != 0)
		fprintf(stderr, "parley: %s; conversations will not be saved\n", a.store_error);

	h = httpd_new(&a, cfg->listen, &cause);
	if (h == NULL) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		app_free(&a);
		return LLM_ERR_OTHER;
	}
	fprintf(stderr, "parley: listening on http://%s (backend %s at %s)\n", httpd_address(h), a.prov->kind,
	    a.prov->base_url);
	app_run_until(&a, &done);
	httpd_free(h);
	app_free(&a);
	return 0;
}
