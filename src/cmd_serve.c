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
#include "tools.h"
#include "util.h"

static void
cmd_serve_warn(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "parley: %s\n", line);
}

static void
cmd_serve_ready(void *arg)
{
	*(bool *)arg = true;
}

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
	bool done = false, ready = false;
	struct mcp *mcp = NULL;
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
	if (cfg->tools != NULL && tools_policy_of(cfg->approve) == TOOLS_ASK) {
		fprintf(stderr, "parley: serve --tools runs the model's tool calls with nobody to ask: "
		                "add --approve always (or --approve never)\n");
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

	if (cfg->tools != NULL) {
		json_t *offered;

		if ((mcp = tools_mcp_open(&a, cfg->tools, cmd_serve_ready, &ready, &cause)) == NULL) {
			fprintf(stderr, "parley: %s\n", cause);
			free(cause);
			app_free(&a);
			return LLM_ERR_USAGE;
		}
		app_run_until(&a, &ready);
		tools_each_failure(mcp, cmd_serve_warn, NULL);
		offered = mcp_tools_json(mcp);
		fprintf(stderr, "parley: offering %zu MCP tools to clients that send none (%s)\n",
		    offered ? json_array_size(offered) : 0, cfg->approve);
		json_decref(offered);
	}
	h = httpd_new(&a, cfg->listen, &cause);
	if (h == NULL) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		mcp_free(mcp);
		app_free(&a);
		return LLM_ERR_OTHER;
	}
	if (mcp != NULL)
		httpd_set_tools(h, mcp, tools_policy_of(cfg->approve), cfg->tool_rounds);
	fprintf(stderr, "parley: listening on http://%s (backend %s at %s)\n", httpd_address(h), a.prov->kind,
	    a.prov->base_url);
	app_run_until(&a, &done);
	httpd_free(h);
	mcp_free(mcp);
	app_free(&a);
	return 0;
}
