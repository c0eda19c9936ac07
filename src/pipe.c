/*
 * pipe.c: pipe mode. The prompt comes from the arguments and/or stdin (both:
 * stdin is appended as a document); tokens go to stdout as they arrive,
 * flushed once per network read (the loop's prepare hook) rather than per
 * token; thinking goes to stderr; --json turns everything into one JSON
 * event per line. The exit status says what went wrong (design.md 1).
 */
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "buf.h"
#include "chat.h"
#include "codeblock.h"
#include "prov_multi.h"
#include "tools.h"
#include "util.h"

#define PIPE_STDIN_CAP (64u << 20)

struct pipe_state {
	struct app *app;
	struct chat *chat;
	bool json;
	bool show_thinking;
	bool thinking_tty;
	bool in_thinking;
	bool done;
	bool out_failed;
	char last; /* last byte written to stdout */
	enum llm_err err;
	char *errmsg;
	struct mcp *mcp; /* --tools */
	struct tools *tools;
	bool mcp_ready;
	int tty; /* --approve=ask asks here */
	struct buf answer;
	struct buf extracted; /* --extract: the reply, kept back from stdout */
};

static void
pipe_json(json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT);

	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
	json_decref(ev);
}

static void
pipe_out(struct pipe_state *ps, const char *p, size_t n)
{
	if (n == 0 || ps->out_failed)
		return;
	if (ps->app->cfg->extract != 0) {
		buf_append(&ps->extracted, p, n);
		ps->last = p[n - 1];
		return;
	}
	if (fwrite(p, 1, n, stdout) != n) {
		/* the reader went away: stop the reply rather than spin */
		ps->out_failed = true;
		chat_stop(ps->chat);
		return;
	}
	ps->last = p[n - 1];
}

char *
pipe_stats_line(const struct llm_stats *s, int64_t ttft_ms, int64_t elapsed_ms)
{
	struct buf b = { 0 };
	double tps = 0;

	if (s->eval_ns > 0 && s->reply_tokens > 0)
		tps = (double)s->reply_tokens * 1e9 / (double)s->eval_ns;
	else if (elapsed_ms > ttft_ms && ttft_ms >= 0 && s->reply_tokens > 0)
		tps = (double)s->reply_tokens * 1000.0 / (double)(elapsed_ms - ttft_ms);
	buf_printf(&b, "prompt %lld tokens, reply %lld tokens%s", (long long)s->prompt_tokens,
	    (long long)s->reply_tokens, s->estimated ? " (estimated)" : "");
	if (tps > 0)
		buf_printf(&b, ", %.1f tok/s", tps);
	if (ttft_ms >= 0)
		buf_printf(&b, ", first token %lld ms", (long long)ttft_ms);
	if (s->load_ns > 0)
		buf_printf(&b, ", load %lld ms", (long long)(s->load_ns / 1000000));
	buf_printf(&b, ", total %lld ms", (long long)(s->total_ns > 0 ? s->total_ns / 1000000 : elapsed_ms));
	if (s->finish[0] != '\0' && strcmp(s->finish, "stop") != 0)
		buf_printf(&b, ", finished: %s", s->finish);
	return buf_steal(&b);
}

static json_t *
pipe_stats_json(struct pipe_state *ps)
{
	const struct llm_stats *s = chat_stats(ps->chat);
	const char *sid = chat_session_id(ps->chat);
	double tps = 0;

	if (s->eval_ns > 0 && s->reply_tokens > 0)
		tps = (double)s->reply_tokens * 1e9 / (double)s->eval_ns;
	return json_pack("{s:s, s:s?, s:s?, s:{s:I, s:I, s:b, s:f, s:I, s:I, s:I, s:I, s:s}}",
	    "type", "done", "session", sid, "model", chat_model(ps->chat),
	    "stats", "prompt_tokens", (json_int_t)s->prompt_tokens, "reply_tokens", (json_int_t)s->reply_tokens,
	    "estimated", s->estimated, "tokens_per_second", tps,
	    "ttft_ms", (json_int_t)chat_ttft_ms(ps->chat), "load_ms", (json_int_t)(s->load_ns / 1000000),
	    "total_ms", (json_int_t)(s->total_ns ? s->total_ns / 1000000 : chat_elapsed_ms(ps->chat)),
	    "context_used", (json_int_t)chat_context_used(ps->chat), "finish", s->finish);
}

/* --extract: the code block asked for goes to stdout, or, when the reply
 * has none such, the reply to stderr and the turn fails (status 1) unless
 * it failed already. */
static void
pipe_extract_finish(struct pipe_state *ps)
{
	int want = ps->app->cfg->extract;
	struct codeblocks cb;
	const struct codeblock *b = NULL;

	if (codeblock_list(ps->extracted.data ? ps->extracted.data : "", ps->extracted.len, &cb) != 0)
		cb.n = 0;
	if (cb.n > 0 && want == -1)
		b = &cb.v[cb.n - 1];
	else if (want > 0 && (size_t)want <= cb.n)
		b = &cb.v[want - 1];
	if (b != NULL) {
		if (fwrite(b->text, 1, b->len, stdout) != b->len || (b->len > 0 && fputc('\n', stdout) == EOF))
			ps->out_failed = true;
	} else {
		/* nothing lost: the reply goes to stderr, above the error */
		fwrite(ps->extracted.data ? ps->extracted.data : "", 1, ps->extracted.len, stderr);
		if (ps->extracted.len > 0 && ps->last != '\n')
			fputc('\n', stderr);
		if (ps->err == LLM_OK) {
			ps->err = LLM_ERR_OTHER;
			free(ps->errmsg);
			ps->errmsg = cb.n == 0 || want == -1
			    ? xstrdup("the reply (above) has no code block to extract")
			    : xasprintf("the reply (above) has no code block %d: it has %zu", want, cb.n);
		}
	}
	codeblocks_free(&cb);
}

static void
pipe_end_thinking(struct pipe_state *ps)
{
	if (!ps->in_thinking)
		return;
	ps->in_thinking = false;
	fputs(ps->thinking_tty ? "\033[0m\n\n" : "\n\n", stderr);
}

static void
pipe_event(struct chat *c, const struct llm_ev *ev, void *arg)
{
	struct pipe_state *ps = arg;
	const struct llm_tool_call *tc;

	(void)c;
	switch (ev->type) {
	case LLM_EV_TOKEN:
		if (ps->json) {
			pipe_json(json_pack("{s:s, s:s%}", "type", "token", "text", ev->text, ev->len));
			break;
		}
		pipe_end_thinking(ps);
		pipe_out(ps, ev->text, ev->len);
		break;
	case LLM_EV_THINKING:
		if (ps->json) {
			pipe_json(json_pack("{s:s, s:s%}", "type", "thinking", "text", ev->text, ev->len));
			break;
		}
		if (!ps->show_thinking)
			break;
		if (!ps->in_thinking) {
			ps->in_thinking = true;
			fputs(ps->thinking_tty ? "\033[2m" : "", stderr);
		}
		fwrite(ev->text, 1, ev->len, stderr);
		break;
	case LLM_EV_TOOL_CALL:
		tc = ev->call;
		if (ps->tools != NULL)
			break; /* shown when it runs, with its server */
		if (ps->json) {
			json_t *args = json_loads(tc->args ? tc->args : "{}", 0, NULL);

			pipe_json(json_pack("{s:s, s:s?, s:s?, s:o}", "type", "tool_call", "id", tc->id,
			    "name", tc->name, "arguments", args ? args : json_string(tc->args ? tc->args : "")));
			break;
		}
		pipe_end_thinking(ps);
		if (ps->last != '\n' && ps->last != 0)
			pipe_out(ps, "\n", 1);
		/* with --extract stdout is the code's alone */
		fprintf(ps->app->cfg->extract != 0 ? stderr : stdout, "[tool call %s] %s(%s)\n", tc->id ? tc->id : "", tc->name ? tc->name : "",
		    tc->args ? tc->args : "");
		ps->last = '\n';
		break;
	case LLM_EV_DONE:
		if (ps->tools != NULL && tools_after_reply(ps->tools))
			break; /* the model is asked again once the calls have results */
		if (ps->json) {
			pipe_json(pipe_stats_json(ps));
		} else {
			pipe_end_thinking(ps);
			if (ps->last != '\n' && ps->last != 0 && ps->app->cfg->extract == 0)
				pipe_out(ps, "\n", 1);
			if (ps->app->cfg->extract != 0)
				pipe_extract_finish(ps);
			if (ps->app->cfg->verbose) {
				char *line = pipe_stats_line(chat_stats(ps->chat), chat_ttft_ms(ps->chat), chat_elapsed_ms(ps->chat));

				fflush(stdout);
				fprintf(stderr, "%s%s%s\n", line, chat_session_id(ps->chat) ? ", session " : "",
				    chat_session_id(ps->chat) ? chat_session_id(ps->chat) : "");
				free(line);
			}
		}
		ps->done = true;
		break;
	case LLM_EV_ERROR:
		ps->err = ev->err;
		free(ps->errmsg);
		ps->errmsg = xstrndup(ev->text ? ev->text : "", ev->len);
		if (ps->json) {
			pipe_json(json_pack("{s:s, s:s, s:s, s:i, s:s?}", "type", "error",
			    "kind", llm_err_name(ev->err), "message", ps->errmsg, "exit", (int)ev->err,
			    "session", chat_session_id(ps->chat)));
		} else {
			pipe_end_thinking(ps);
			if (ps->app->cfg->extract != 0)
				pipe_extract_finish(ps); /* what arrived, as without --extract */
			else if (ps->last != '\n' && ps->last != 0 && !ps->out_failed)
				pipe_out(ps, "\n", 1);
		}
		ps->done = true;
		break;
	}
}

static void
pipe_notice(struct chat *c, const char *msg, void *arg)
{
	struct pipe_state *ps = arg;

	(void)c;
	/* store trouble always shows; trimming only with -v */
	if (ps->app->cfg->verbose || strstr(msg, "trimmed") == NULL)
		fprintf(stderr, "parley: %s\n", msg);
}

static int
pipe_flush(void *arg)
{
	(void)arg;
	fflush(stdout);
	fflush(stderr);
	return -1;
}

static void
pipe_sigint(int sig, void *arg)
{
	struct pipe_state *ps = arg;

	(void)sig;
	ps->app->interrupted = true;
	if (ps->chat != NULL && chat_busy(ps->chat))
		chat_stop(ps->chat);
	else if (ps->tools != NULL && tools_busy(ps->tools))
		tools_stop(ps->tools, "interrupted");
	else
		ps->done = true;
}

struct pipe_pick {
	bool done;
	enum llm_err err;
	char *msg;
	char *model;
};

static void
pipe_pick_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct pipe_pick *pk = arg;

	pk->done = true;
	pk->err = err;
	pk->msg = msg ? xstrdup(msg) : NULL;
	if (l != NULL) {
		for (size_t i = 0; i < l->n && pk->model == NULL; i++)
			if (l->v[i].loaded == 1)
				pk->model = xstrdup(l->v[i].name);
		if (pk->model == NULL && l->n > 0)
			pk->model = xstrdup(l->v[0].name);
	}
	prov_model_list_free(l);
}

char *
pipe_default_model(struct app *a, enum llm_err *err, char **msg)
{
	struct pipe_pick pk = { 0 };

	a->prov->ops->list(a->prov, pipe_pick_cb, &pk);
	app_run_until(a, &pk.done);
	*err = pk.err;
	*msg = pk.msg;
	if (pk.err == LLM_OK && pk.model == NULL) {
		*err = LLM_ERR_NOT_FOUND;
		*msg = prov_can_pull(a->prov)
		    ? xasprintf("Ollama at %s has no models; pull one with `parley pull llama3.2`", a->prov->base_url)
		    : xasprintf("%s offers no models; load one there first", a->prov->base_url);
	}
	return pk.model;
}

static char *
pipe_read_stdin(char **cause)
{
	struct buf b = { 0 };
	char chunk[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			util_fail(cause, "cannot read stdin: %s", strerror(errno));
			buf_free(&b);
			return NULL;
		}
		if (b.len + (size_t)n > PIPE_STDIN_CAP) {
			util_fail(cause, "stdin is larger than %u MiB", PIPE_STDIN_CAP >> 20);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	return buf_steal(&b);
}

/* The prompt: argument words, then stdin as a document. */
static char *
pipe_prompt(const struct config *cfg, char **cause)
{
	struct buf b = { 0 };
	char *in = NULL;

	for (int i = 0; i < cfg->nargs; i++) {
		if (i > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, cfg->args[i]);
	}
	if (!isatty(STDIN_FILENO)) {
		if ((in = pipe_read_stdin(cause)) == NULL) {
			buf_free(&b);
			return NULL;
		}
		if (in[0] != '\0') {
			if (b.len > 0)
				buf_puts(&b, "\n\n");
			buf_puts(&b, in);
		}
		free(in);
	}
	/* a prompt of only white space is no prompt */
	for (size_t i = 0; i < b.len; i++)
		if (!strchr(" \t\r\n", b.data[i]))
			return buf_steal(&b);
	buf_free(&b);
	util_fail(cause, "no prompt: give one as arguments or on stdin (or run parley on a terminal for the chat screen)");
	return NULL;
}

/* ---- tools ---- */

/* Terminal-safe text of a server or the model on fp. */
static void
pipe_show(FILE *fp, const char *s, size_t max)
{
	char *safe = tools_safe(s, max);

	fputs(safe, fp);
	free(safe);
}

static void
pipe_tty_answer(int fd, int events, void *arg)
{
	struct pipe_state *ps = arg;
	char c;
	ssize_t n;

	(void)events;
	while ((n = read(fd, &c, 1)) == 1 && c != '\n')
		buf_putc(&ps->answer, c);
	if (n == 1 || n == 0) {
		const char *a = ps->answer.data ? ps->answer.data : "";
		enum tools_answer ans = TOOLS_NO;

		loop_unwatch(ps->app->loop, fd);
		if (a[0] == 'y' || a[0] == 'Y')
			ans = TOOLS_YES;
		else if (a[0] == 'a' || a[0] == 'A' || a[0] == 't' || a[0] == 'T')
			ans = TOOLS_YES_TOOL;
		else if (a[0] == 's' || a[0] == 'S')
			ans = TOOLS_YES_SERVER;
		else if (a[0] == 'q' || a[0] == 'Q' || n == 0)
			ans = TOOLS_STOP;
		buf_reset(&ps->answer);
		tools_answer(ps->tools, ans);
	}
}

static void
pipe_tool_ask(struct tools *t, const struct tools_call *call, void *arg)
{
	struct pipe_state *ps = arg;
	char hints[64];
	FILE *fp;

	(void)t;
	fflush(stdout);
	fp = fdopen(dup(ps->tty), "w");
	if (fp == NULL) {
		tools_answer(ps->tools, TOOLS_NO);
		return;
	}
	fprintf(fp, "\nparley: the model wants to run %s [%s]%s%s\n  arguments: ", call->name,
	    tools_hints(call->tool, hints, sizeof hints), call->tool->title ? ": " : "",
	    call->tool->title ? call->tool->title : "");
	pipe_show(fp, call->args, 4000);
	fprintf(fp, "\nrun it? [y]es, [n]o, [a]lways this tool, always this [s]erver, [q]uit: ");
	fclose(fp);
	loop_watch(ps->app->loop, ps->tty, LOOP_READ, pipe_tty_answer, ps);
}

static void
pipe_tool_started(struct tools *t, const struct tools_call *call, void *arg)
{
	struct pipe_state *ps = arg;

	(void)t;
	if (ps->json) {
		json_t *args = json_loads(call->args, 0, NULL);

		pipe_json(json_pack("{s:s, s:s, s:s, s:s, s:o, s:i}", "type", "tool_call", "id", call->id, "name", call->name,
		    "server", mcp_server_name(call->tool->server), "arguments", args ? args : json_string(call->args), "round",
		    call->round));
		return;
	}
	if (ps->app->cfg->quiet)
		return;
	if (ps->last != '\n' && ps->last != 0)
		pipe_out(ps, "\n", 1);
	fflush(stdout);
	fprintf(stderr, "[tool %s] ", call->name);
	pipe_show(stderr, call->args, 400);
	fputc('\n', stderr);
}

static void
pipe_tool_finished(struct tools *t, const struct tools_call *call, const char *text, const char *error, int64_t ms,
    void *arg)
{
	struct pipe_state *ps = arg;

	(void)t;
	if (ps->json) {
		pipe_json(json_pack("{s:s, s:s, s:s, s:s?, s:I, s:s}", "type", "tool_result", "id", call->id, "name",
		    call->name, "error", error, "ms", (json_int_t)ms, "content", text));
		return;
	}
	if (ps->app->cfg->quiet)
		return;
	fprintf(stderr, "[tool %s] %s, %zu bytes, %lld ms\n", call->name, error ? error : "ok", strlen(text), (long long)ms);
	if (error != NULL || ps->app->cfg->verbose) {
		fputs("  ", stderr);
		pipe_show(stderr, text, ps->app->cfg->verbose ? 4000 : 300);
		fputc('\n', stderr);
	}
}

static void
pipe_tool_progress(struct tools *t, const struct tools_call *call, double progress, double total, const char *msg,
    void *arg)
{
	struct pipe_state *ps = arg;

	(void)t;
	if (ps->json) {
		pipe_json(json_pack("{s:s, s:s, s:s, s:f, s:f, s:s?}", "type", "tool_progress", "id", call->id, "name", call->name,
		    "progress", progress, "total", total, "message", msg));
		return;
	}
	if (ps->app->cfg->quiet)
		return;
	if (total > 0)
		fprintf(stderr, "[tool %s] %g/%g%s", call->name, progress, total, msg ? " " : "");
	else
		fprintf(stderr, "[tool %s] %g%s", call->name, progress, msg ? " " : "");
	if (msg != NULL)
		pipe_show(stderr, msg, 200);
	fputc('\n', stderr);
}

static void
pipe_tool_ended(struct tools *t, const char *why, void *arg)
{
	struct pipe_state *ps = arg;

	(void)t;
	ps->err = ps->app->interrupted ? LLM_ERR_CANCELLED : LLM_ERR_OTHER;
	free(ps->errmsg);
	ps->errmsg = xstrdup(why);
	if (ps->json)
		pipe_json(json_pack("{s:s, s:s, s:s, s:i, s:s?}", "type", "error", "kind", llm_err_name(ps->err), "message",
		    why, "exit", (int)ps->err, "session", chat_session_id(ps->chat)));
	ps->done = true;
}

static void
pipe_warn(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "parley: %s\n", line);
}

static void
pipe_mcp_ready(void *arg)
{
	((struct pipe_state *)arg)->mcp_ready = true;
}

/* --tools: the servers started, their tools offered. 0, or the exit
 * status after saying what is wrong. */
static int
pipe_tools_start(struct pipe_state *ps)
{
	static const struct tools_hooks hooks = { pipe_tool_ask, pipe_tool_started, pipe_tool_finished, pipe_tool_progress,
		pipe_tool_ended };
	const struct config *cfg = ps->app->cfg;
	enum tools_policy policy = tools_policy_of(cfg->approve);
	char *cause = NULL;
	json_t *offered;

	ps->tty = -1;
	if (policy == TOOLS_ASK && (ps->tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		fprintf(stderr, "parley: --approve=ask needs a terminal to ask on, and there is none; "
		                "say --approve=always to run the model's tool calls, or --approve=never\n");
		return LLM_ERR_USAGE;
	}
	ps->mcp = tools_mcp_open(ps->app, cfg->tools, pipe_mcp_ready, ps, &cause);
	if (ps->mcp == NULL) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		return LLM_ERR_USAGE;
	}
	app_run_until(ps->app, &ps->mcp_ready);
	tools_each_failure(ps->mcp, pipe_warn, NULL);
	ps->tools = tools_new(ps->chat, ps->mcp, policy, cfg->tool_rounds, &hooks, ps);
	tools_offer(ps->tools);
	offered = mcp_tools_json(ps->mcp);
	if (offered == NULL)
		fprintf(stderr, "parley: no MCP tools to offer: %s\n",
		    mcp_server_count(ps->mcp) == 0 ? "no servers are configured (see --mcp)" : "no server is ready");
	else if (cfg->verbose)
		fprintf(stderr, "parley: offering %zu tools\n", json_array_size(offered));
	json_decref(offered);
	return 0;
}

static void
pipe_tools_free(struct pipe_state *ps)
{
	tools_free(ps->tools);
	ps->tools = NULL;
	mcp_free(ps->mcp);
	ps->mcp = NULL;
	if (ps->tty >= 0) {
		loop_unwatch(ps->app->loop, ps->tty);
		close(ps->tty);
	}
	ps->tty = -1;
	buf_free(&ps->answer);
}

static int
pipe_fail(struct pipe_state *ps, enum llm_err err, const char *msg)
{
	if (ps->json) {
		pipe_json(json_pack("{s:s, s:s, s:s, s:i}", "type", "error", "kind", llm_err_name(err),
		    "message", msg, "exit", (int)err));
		fflush(stdout);
	}
	fprintf(stderr, "parley: %s\n", msg);
	return (int)err;
}

int
pipe_main(struct app *a)
{
	static const struct chat_hooks hooks = { pipe_event, pipe_notice };
	struct config *cfg = a->cfg;
	struct pipe_state ps = { 0 };
	struct llm_image *images = NULL;
	size_t nimages = 0;
	char *prompt, *cause = NULL, *msg = NULL, *note = NULL;
	enum llm_err err;
	const char *k;
	json_t *v;
	int rc;

	ps.app = a;
	ps.tty = -1;
	ps.json = cfg->json;
	ps.show_thinking = !cfg->hide_thinking && !cfg->quiet;
	ps.thinking_tty = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
	signal(SIGPIPE, SIG_IGN);

	if (cfg->extract != 0 && cfg->json)
		return pipe_fail(&ps, LLM_ERR_USAGE,
		    "--extract prints a code block as text; with --json the events carry the whole reply");
	if ((prompt = pipe_prompt(cfg, &cause)) == NULL) {
		rc = pipe_fail(&ps, LLM_ERR_USAGE, cause);
		free(cause);
		return rc;
	}
	if (attach_config(cfg, &prompt, &images, &nimages, &cause) != 0) {
		rc = pipe_fail(&ps, LLM_ERR_USAGE, cause);
		free(cause);
		free(prompt);
		return rc;
	}
	loop_signal(a->loop, SIGINT, pipe_sigint, &ps);
	loop_signal(a->loop, SIGTERM, pipe_sigint, &ps);
	loop_prepare_add(a->loop, pipe_flush, NULL);

	err = app_connect(a, cfg->provider == NULL, &msg, &note);
	if (note != NULL && cfg->verbose)
		fprintf(stderr, "parley: %s\n", note);
	free(note);
	if (err != LLM_OK)
		goto fail;

	if (!cfg->no_save && app_open_store(a) != 0)
		fprintf(stderr, "parley: %s; this exchange will not be saved\n", a->store_error);
	ps.chat = chat_new(a, "pipe", !cfg->no_save, &hooks, &ps);
	if (cfg->session != NULL && a->store != NULL) {
		if (chat_open(ps.chat, cfg->session, true, &cause) != 0) {
			err = LLM_ERR_OTHER;
			msg = cause;
			goto fail;
		}
	} else if (cfg->cont && a->store != NULL) {
		rc = chat_open_latest(ps.chat, &cause);
		if (rc < 0) {
			err = LLM_ERR_OTHER;
			msg = cause;
			goto fail;
		}
		if (rc == 1 && cfg->verbose)
			fprintf(stderr, "parley: no earlier session; starting a new one\n");
	}
	if (cfg->model != NULL)
		chat_set_model(ps.chat, cfg->model);
	if (chat_model(ps.chat) == NULL || chat_model(ps.chat)[0] == '\0') {
		char *m = pipe_default_model(a, &err, &msg);

		if (m == NULL)
			goto fail;
		if (cfg->verbose)
			fprintf(stderr, "parley: no model named; using %s\n", m);
		chat_set_model(ps.chat, m);
		free(m);
	}
	if (cfg->system != NULL)
		chat_set_system(ps.chat, cfg->system);
	json_object_foreach(cfg->options, k, v)
	{
		json_object_set(chat_options(ps.chat), k, v);
	}
	chat_set_think(ps.chat, cfg->think);
	chat_set_stream(ps.chat, !cfg->no_stream);
	if (cfg->tools != NULL && (rc = pipe_tools_start(&ps)) != 0) {
		pipe_tools_free(&ps);
		chat_free(ps.chat);
		free(prompt);
		loop_prepare_remove(a->loop, pipe_flush, NULL);
		return rc;
	}

	if (chat_send(ps.chat, prompt, images, nimages, &cause) != 0) {
		images = NULL;
		err = LLM_ERR_OTHER;
		msg = cause;
		goto fail;
	}
	images = NULL;
	nimages = 0;
	free(prompt);
	prompt = NULL;
	app_run_until(a, &ps.done);
	fflush(stdout);
	rc = 0;
	if (ps.err != LLM_OK) {
		rc = (int)ps.err;
		if (!ps.json || ps.err == LLM_ERR_CANCELLED)
			fprintf(stderr, "parley: %s\n", ps.err == LLM_ERR_CANCELLED ? "interrupted" : ps.errmsg);
	}
	if (ps.out_failed && rc == LLM_ERR_CANCELLED)
		rc = LLM_ERR_OTHER;
	pipe_tools_free(&ps);
	chat_free(ps.chat);
	free(ps.errmsg);
	buf_free(&ps.extracted);
	loop_prepare_remove(a->loop, pipe_flush, NULL);
	return rc;

fail:
	for (size_t i = 0; i < nimages; i++) {
		free(images[i].mime);
		free(images[i].b64);
	}
	free(images);
	free(prompt);
	rc = pipe_fail(&ps, err, msg ? msg : "failed");
	free(msg);
	pipe_tools_free(&ps);
	chat_free(ps.chat);
	free(ps.errmsg);
	buf_free(&ps.extracted);
	loop_prepare_remove(a->loop, pipe_flush, NULL);
	return rc;
}
