/*
 * repl.c: the line-mode face: a prompt on libedit, replies streamed below.
 *
 * How libedit and the loop share the process: el_gets() blocks until a line
 * is done, so libedit is given our own character reader (EL_GETCFN). When it
 * has no byte buffered, the reader runs the loop until stdin is readable,
 * so the network, timers, signals and a --listen listener all keep running
 * while the user types. (The readline-compatible callback interface would
 * do the same, but it hides the EditLine and History objects we need for
 * key bindings, completion and the shared history file.) libedit's own
 * signal handling (EL_SIGNAL) stays off: it re-raises signals to the whole
 * process group; SIGINT, SIGWINCH and SIGCONT go through the loop instead.
 *
 * Keys added to whatever ~/.editrc sets up: Tab (parley-complete), Ctrl-C
 * (parley-interrupt: a SIGINT while editing makes the reader return ^C,
 * which is bound to it) and, with emacs keys, the bracketed-paste opener
 * ESC [ 200 ~ (parley-paste: the pasted text goes into the line, newlines
 * and all, so a multi-line paste is one message). In vi mode that binding
 * would keep ESC from reaching command mode, so pastes arrive as typing.
 *
 * While a reply streams the terminal is in its normal mode with echo off;
 * tokens are written as they arrive and wrapped at the terminal width. The
 * word being written is remembered (bytes and columns) so that when it
 * outgrows the line it is erased and written again on the next one. The
 * last column is never used, which keeps the terminal out of its pending-
 * wrap state and cursor arithmetic exact.
 */
#include "repl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "attach.h"
#include "b64.h"
#include "buf.h"
#include "chat.h"
#include "codeblock.h"
#include "httpd.h"
#include "progress.h"
#include "pipe.h"
#include "prov_multi.h"
#include "reltime.h"
#include "slash.h"
#include "tools.h"
#include "util.h"

#define REPL_HISTORY_SIZE 1000
#define REPL_PASTE_CAP (4u << 20)

struct repl {
	struct app *a;
	struct chat *c;
	EditLine *el;
	History *hist;
	char *hist_path;
	char *last_entry; /* newest history entry, to skip repeats */
	struct slash_face face;

	bool tty; /* stdin and stdout are terminals */
	bool paste; /* bracketed paste is on (emacs keys) */
	bool color; /* escapes for dim and bold (not NO_COLOR) */
	int width; /* columns to wrap at; 0: no wrapping */
	const char *gutter; /* left of thinking lines */

	/* input: bytes read from stdin, not yet handed to libedit */
	unsigned char in[4096];
	size_t inlen, inpos;
	mbstate_t mbs;
	bool stdin_ready;
	bool editing; /* inside el_gets */
	bool sigint; /* Ctrl-C while editing */
	bool cancel_line; /* parley-interrupt ended the line */
	bool in_block; /* inside a """ block */
	bool quit;

	/* the next message's attachments */
	struct llm_image *images;
	size_t nimages;
	char *files; /* text of attached files, or NULL */

	/* the reply being shown */
	bool reply_done;
	bool in_thinking;
	int col; /* display column of the cursor */
	bool line_open; /* something is written on the current line */
	bool soft; /* the current line began at a wrap */
	bool fresh; /* nothing shown yet of this reply or thinking */
	struct buf word; /* the word being written on this line */
	int wordw;
	char pend[8]; /* bytes of an incomplete UTF-8 character */
	size_t npend;
	struct termios saved_tio;
	bool tio_saved;

	/* --tools */
	struct mcp *mcp;
	struct tools *tools;
	bool mcp_ready;
	bool asking; /* a tool call waits for y/n */
	struct buf answer;

	/* /edit N: the next line asks question edit_at again */
	bool edit_pending;
	size_t edit_at;

	/* model names for completion, fetched once */
	char **models;
	size_t nmodels;
	bool models_known;
};

/* --- output helpers --------------------------------------------------------- */

static void
repl_dim(struct repl *r, const char *text)
{
	if (r->color)
		printf("\033[2m%s\033[0m\n", text);
	else
		printf("%s\n", text);
	fflush(stdout);
}

static void
repl_print(void *arg, const char *text)
{
	(void)arg;
	printf("%s\n", text);
	fflush(stdout);
}

static void
repl_error(void *arg, const char *msg)
{
	struct repl *r = arg;

	if (r->color)
		printf("\033[1;31merror:\033[0m %s\n", msg);
	else
		printf("error: %s\n", msg);
	fflush(stdout);
}

static int
repl_flush(void *arg)
{
	(void)arg;
	fflush(stdout);
	return -1;
}

static void
repl_measure(struct repl *r)
{
	struct winsize ws;

	r->width = 0;
	if (r->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		r->width = ws.ws_col > 20 ? ws.ws_col - 1 : 19;
}

/* --- streaming a reply, wrapped ------------------------------------------- */

static void
repl_newline(struct repl *r, bool soft)
{
	fputc('\n', stdout);
	r->col = 0;
	r->line_open = false;
	r->soft = soft;
	buf_reset(&r->word);
	r->wordw = 0;
}

/* Start a line: thinking lines carry a gutter. */
static void
repl_open_line(struct repl *r)
{
	if (r->line_open)
		return;
	r->line_open = true;
	if (r->in_thinking) {
		fputs(r->gutter, stdout);
		r->col = 2;
	}
}

static int
repl_char_width(wchar_t wc)
{
	int w = wcwidth(wc);

	if (w < 0)
		return wc >= 0x80 ? 1 : 0; /* not in this locale's tables */
	return w;
}

/* One character of reply text (s[0..len) is complete). */
static void
repl_put_char(struct repl *r, const char *s, size_t len)
{
	wchar_t wc = (unsigned char)s[0];
	mbstate_t st;
	int w;

	if (len > 1) {
		memset(&st, 0, sizeof st);
		if (mbrtowc(&wc, s, len, &st) > len)
			wc = 0xfffd;
	}
	if (wc == '\n') {
		if (r->fresh)
			return; /* leading blank lines say nothing */
		if (!r->line_open && r->soft)
			r->soft = false; /* the wrap already broke the line here */
		else
			repl_newline(r, false);
		return;
	}
	if (wc == ' ' || wc == '\t') {
		buf_reset(&r->word);
		r->wordw = 0;
		/* a space where a line wrapped is the wrap */
		if (!r->line_open && r->soft)
			return;
		w = wc == '\t' ? 8 - r->col % 8 : 1;
		repl_open_line(r);
		if (r->width > 0 && r->col + w > r->width) {
			repl_newline(r, true);
			return;
		}
		if (wc == '\t')
			printf("%*s", w, "");
		else
			fputc(' ', stdout);
		r->col += w;
		return;
	}
	if (wc < 0x20 || wc == 0x7f)
		return; /* escapes from a model must not drive the terminal */
	w = repl_char_width(wc);
	repl_open_line(r);
	if (r->width > 0 && r->col + w > r->width) {
		int start = r->col - r->wordw; /* where the word began */
		int indent = r->in_thinking ? 2 : 0;

		if (r->wordw > 0 && start > indent && r->wordw + w + indent <= r->width) {
			/* move the word to a new line */
			char *word = xstrndup(r->word.data, r->word.len);
			int ww = r->wordw;

			printf("\033[%dD\033[K", ww);
			repl_newline(r, true);
			repl_open_line(r);
			fputs(word, stdout);
			buf_puts(&r->word, word);
			r->wordw = ww;
			r->col += ww;
			free(word);
		} else {
			repl_newline(r, true);
			repl_open_line(r);
		}
	}
	fwrite(s, 1, len, stdout);
	r->fresh = false;
	buf_append(&r->word, s, len);
	r->wordw += w;
	r->col += w;
	r->soft = false;
}

static void
repl_put(struct repl *r, const char *p, size_t n)
{
	size_t i = 0;

	/* finish a character split across tokens */
	while (r->npend > 0 && i < n) {
		size_t k;

		r->pend[r->npend++] = p[i++];
		k = util_utf8_complete(r->pend, r->npend);
		if (k == r->npend || r->npend == 4) {
			repl_put_char(r, r->pend, r->npend);
			r->npend = 0;
		}
	}
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4
		    : c >= 0xe0                       ? 3
		    : c >= 0xc0                       ? 2
		                                      : 1;

		if (i + len > n) {
			memcpy(r->pend, p + i, n - i);
			r->npend = n - i;
			return;
		}
		repl_put_char(r, p + i, len);
		i += len;
	}
}

static void
repl_end_line(struct repl *r)
{
	if (r->line_open)
		repl_newline(r, false);
}

static void
repl_end_thinking(struct repl *r)
{
	if (!r->in_thinking)
		return;
	repl_end_line(r);
	r->in_thinking = false;
	r->fresh = true;
	if (r->color)
		fputs("\033[0m", stdout);
	fputc('\n', stdout);
}

static void
repl_event(struct chat *c, const struct llm_ev *ev, void *arg)
{
	struct repl *r = arg;
	const struct llm_tool_call *tc;
	char *line;

	switch (ev->type) {
	case LLM_EV_THINKING:
		if (r->a->cfg->hide_thinking)
			break;
		if (!r->in_thinking) {
			repl_end_line(r);
			r->in_thinking = true;
			r->soft = false;
			r->fresh = true;
			if (r->color)
				fputs("\033[2m", stdout);
		}
		repl_put(r, ev->text, ev->len);
		break;
	case LLM_EV_TOKEN:
		repl_end_thinking(r);
		repl_put(r, ev->text, ev->len);
		break;
	case LLM_EV_TOOL_CALL:
		tc = ev->call;
		repl_end_thinking(r);
		repl_end_line(r);
		if (r->tools == NULL)
			printf("[tool call] %s(%s)\n", tc->name ? tc->name : "", tc->args ? tc->args : "");
		break;
	case LLM_EV_DONE:
		repl_end_thinking(r);
		repl_end_line(r);
		if (r->tools != NULL && tools_after_reply(r->tools))
			break; /* the calls run; the model answers again */
		if (r->a->cfg->verbose) {
			line = pipe_stats_line(chat_stats(c), chat_ttft_ms(c), chat_elapsed_ms(c));
			repl_dim(r, line);
			free(line);
		}
		fputc('\n', stdout);
		r->reply_done = true;
		break;
	case LLM_EV_ERROR:
		repl_end_thinking(r);
		repl_end_line(r);
		if (ev->err == LLM_ERR_CANCELLED) {
			repl_dim(r, "[interrupted]");
		} else {
			line = xstrndup(ev->text ? ev->text : "", ev->len);
			repl_error(r, line);
			free(line);
		}
		fputc('\n', stdout);
		r->reply_done = true;
		break;
	}
}

static void
repl_notice(struct chat *c, const char *msg, void *arg)
{
	struct repl *r = arg;
	char *line;

	(void)c;
	/* store trouble always shows; trimming with /set verbose */
	if (strstr(msg, "trimmed") != NULL && !r->a->cfg->verbose)
		return;
	repl_end_line(r);
	line = xasprintf("note: %s", msg);
	repl_dim(r, line);
	free(line);
}

/* Quiet the keyboard while a reply streams: keys typed now wait for the
 * next prompt instead of landing in the middle of the answer. */
static void
repl_echo(struct repl *r, bool on)
{
	struct termios t;

	if (!r->tty)
		return;
	if (!on) {
		if (tcgetattr(STDIN_FILENO, &r->saved_tio) != 0)
			return;
		r->tio_saved = true;
		t = r->saved_tio;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	} else if (r->tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &r->saved_tio);
		r->tio_saved = false;
	}
}

static void repl_version(struct repl *r, size_t i, char *out, size_t len);

/* Show the reply just started until it ends (also /retry's face->send). */
static int
repl_follow(void *arg)
{
	struct repl *r = arg;

	r->reply_done = false;
	r->in_thinking = false;
	r->col = 0;
	r->line_open = false;
	r->soft = false;
	r->fresh = true;
	r->npend = 0;
	buf_reset(&r->word);
	r->wordw = 0;
	repl_measure(r);
	repl_echo(r, false);
	while (!r->reply_done && (chat_busy(r->c) || (r->tools != NULL && tools_busy(r->tools))))
		loop_run_once(r->a->loop, -1);
	repl_echo(r, true);
	if (chat_count(r->c) > 0) {
		char ver[32];

		size_t q = chat_count(r->c) - 1;
		const char *what = "reply";

		/* a retry or an edit: say there are other versions */
		repl_version(r, q, ver, sizeof ver);
		while (ver[0] == '\0' && q > 0 && strcmp(chat_msg(r->c, q)->role, "user") != 0)
			repl_version(r, --q, ver, sizeof ver);
		if (ver[0] != '\0' && strcmp(chat_msg(r->c, q)->role, "user") == 0)
			what = "question";
		if (ver[0] != '\0') {
			char *m = xasprintf("%s%s (/branch lists the branches)", what, ver);

			repl_dim(r, m);
			free(m);
		}
	}
	fflush(stdout);
	return 0;
}

/* --- tools ------------------------------------------------------------------ */

static void repl_ask_input(int fd, int events, void *arg);

/* Take the answer from what was typed (maybe typed ahead): true once a
 * whole line is in. */
static bool
repl_ask_take(struct repl *r)
{
	while (r->inpos < r->inlen) {
		char c = (char)r->in[r->inpos++];

		if (c == '\n')
			return true;
		buf_putc(&r->answer, c);
	}
	return false;
}

static void
repl_ask_done(struct repl *r, bool eof)
{
	const char *a = r->answer.data ? r->answer.data : "";
	enum tools_answer ans = TOOLS_NO;

	while (*a == ' ')
		a++;
	if (eof || *a == 'q' || *a == 'Q')
		ans = TOOLS_STOP;
	else if (*a == 'y' || *a == 'Y')
		ans = TOOLS_YES;
	else if (*a == 'a' || *a == 'A' || *a == 't' || *a == 'T')
		ans = TOOLS_YES_TOOL;
	else if (*a == 's' || *a == 'S')
		ans = TOOLS_YES_SERVER;
	buf_reset(&r->answer);
	r->asking = false;
	loop_unwatch(r->a->loop, STDIN_FILENO);
	repl_echo(r, false);
	tools_answer(r->tools, ans);
}

static void
repl_ask_input(int fd, int events, void *arg)
{
	struct repl *r = arg;
	ssize_t n;

	(void)events;
	n = read(fd, r->in, sizeof r->in);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		repl_ask_done(r, true);
		return;
	}
	r->inpos = 0;
	r->inlen = (size_t)n;
	if (repl_ask_take(r))
		repl_ask_done(r, false);
}

static void
repl_tool_ask(struct tools *t, const struct tools_call *call, void *arg)
{
	struct repl *r = arg;
	char hints[64], *args = tools_safe(call->args, 2000);

	(void)t;
	repl_end_line(r);
	printf("%srun %s%s [%s]%s\n  %s\n", r->color ? "\033[1m" : "", call->name, r->color ? "\033[0m" : "",
	    tools_hints(call->tool, hints, sizeof hints), call->tool->title ? "" : "", args);
	printf("allow? [y]es, [n]o, [a]lways this tool, always this [s]erver, [q]uit: ");
	fflush(stdout);
	free(args);
	r->asking = true;
	repl_echo(r, true);
	if (repl_ask_take(r)) {
		repl_ask_done(r, false);
		return;
	}
	loop_watch(r->a->loop, STDIN_FILENO, LOOP_READ, repl_ask_input, r);
}

static void
repl_tool_started(struct tools *t, const struct tools_call *call, void *arg)
{
	struct repl *r = arg;
	char *args = tools_safe(call->args, 300), *line = xasprintf("[tool %s] %s", call->name, args);

	(void)t;
	repl_end_line(r);
	repl_dim(r, line);
	free(line);
	free(args);
}

static void
repl_tool_finished(struct tools *t, const struct tools_call *call, const char *text, const char *error, int64_t ms,
    void *arg)
{
	struct repl *r = arg;
	char *shown = tools_safe(text, error ? 300 : 120);
	char *line = xasprintf("[tool %s] %s, %zu bytes, %lld ms: %s", call->name, error ? error : "ok", strlen(text),
	    (long long)ms, shown);

	(void)t;
	repl_end_line(r);
	if (error != NULL)
		repl_error(r, line);
	else
		repl_dim(r, line);
	free(line);
	free(shown);
	r->fresh = true;
}

static void
repl_tool_progress(struct tools *t, const struct tools_call *call, double progress, double total, const char *msg,
    void *arg)
{
	struct repl *r = arg;
	char *safe = tools_safe(msg ? msg : "", 200), *line;

	(void)t;
	if (total > 0)
		line = xasprintf("[tool %s] %g/%g %s", call->name, progress, total, safe);
	else
		line = xasprintf("[tool %s] %g %s", call->name, progress, safe);
	repl_end_line(r);
	repl_dim(r, line);
	free(line);
	free(safe);
}

static void
repl_tool_ended(struct tools *t, const char *why, void *arg)
{
	struct repl *r = arg;

	(void)t;
	repl_end_line(r);
	repl_error(r, why);
	r->reply_done = true;
}

static int
repl_tools_cmd(void *arg, const char *args)
{
	struct repl *r = arg;
	char *cause = NULL, *text;

	if ((text = tools_command(r->tools, args, &cause)) == NULL) {
		repl_error(r, cause);
		free(cause);
		return -1;
	}
	repl_print(r, text);
	free(text);
	return 0;
}

static void
repl_mcp_ready(void *arg)
{
	((struct repl *)arg)->mcp_ready = true;
}

static int
repl_tools_start(struct repl *r)
{
	static const struct tools_hooks hooks = { repl_tool_ask, repl_tool_started, repl_tool_finished, repl_tool_progress,
		repl_tool_ended };
	const struct config *cfg = r->a->cfg;
	char *cause = NULL;
	json_t *offered;

	r->mcp = tools_mcp_open(r->a, cfg->tools, repl_mcp_ready, r, &cause);
	if (r->mcp == NULL) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		return LLM_ERR_USAGE;
	}
	app_run_until(r->a, &r->mcp_ready);
	tools_each_failure(r->mcp, repl_error, r);
	r->tools = tools_new(r->c, r->mcp, tools_policy_of(cfg->approve), cfg->tool_rounds, &hooks, r);
	tools_offer(r->tools);
	offered = mcp_tools_json(r->mcp);
	if (!cfg->quiet) {
		char *line = xasprintf("%zu MCP tools offered to the model (/tools to list or switch them)",
		    offered ? json_array_size(offered) : 0);

		repl_dim(r, line);
		free(line);
	}
	json_decref(offered);
	return 0;
}

static void
repl_send(struct repl *r, const char *text)
{
	char *msg, *cause = NULL;

	if (r->files != NULL) {
		msg = xasprintf("%s\n\n%s", text, r->files);
		free(r->files);
		r->files = NULL;
	} else
		msg = xstrdup(text);
	if (r->tools != NULL)
		tools_new_turn(r->tools);
	/* chat_send takes the images, sent or not */
	if (chat_send(r->c, msg, r->images, r->nimages, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
	} else
		repl_follow(r);
	r->images = NULL;
	r->nimages = 0;
	free(msg);
}

/* The line offered by /edit N came back: ask it in place of question i. */
static void
repl_send_edit(struct repl *r, size_t i, const char *text)
{
	char *cause = NULL;

	if (r->tools != NULL)
		tools_new_turn(r->tools);
	if (chat_edit(r->c, i, text, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
	} else
		repl_follow(r);
}

/* " ‹2/3›" when message i has other versions, else "". */
static void
repl_version(struct repl *r, size_t i, char *out, size_t len)
{
	size_t pos, count;

	chat_branch_at(r->c, i, &pos, &count);
	if (count > 1)
		snprintf(out, len, " \xe2\x80\xb9%zu/%zu\xe2\x80\xba", pos + 1, count);
	else
		out[0] = '\0';
}

/* /edit N without text: the question comes back as the next line's text. */
static int
repl_edit(void *arg, size_t i, const char *text)
{
	struct repl *r = arg;
	char *one = xstrdup(text);

	/* a newline would end the line: a long question comes back on one */
	for (char *p = one; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	r->edit_pending = true;
	r->edit_at = i;
	repl_dim(r, "change the question and press Enter (Ctrl-C or an empty line cancels the edit)");
	el_push(r->el, one);
	free(one);
	return 0;
}

/* /branch N: the end of the branch now on show, with its versions. */
static int
repl_shown(void *arg)
{
	struct repl *r = arg;
	size_t n = chat_count(r->c), from = n;
	char ver[32];

	while (from > 0 && strcmp(chat_msg(r->c, from - 1)->role, "user") != 0)
		from--;
	if (from > 0)
		from--;
	for (size_t i = from; i < n; i++) {
		const struct store_msg *m = chat_msg(r->c, i);
		char *head;

		repl_version(r, i, ver, sizeof ver);
		head = xasprintf("%s%s:", strcmp(m->role, "user") == 0 ? "you" : m->role, ver);
		repl_dim(r, head);
		free(head);
		printf("%s\n", m->content);
	}
	fflush(stdout);
	return 0;
}

/* --- input ------------------------------------------------------------------ */

static void
repl_stdin_cb(int fd, int events, void *arg)
{
	struct repl *r = arg;

	(void)fd;
	(void)events;
	r->stdin_ready = true;
}

/* Make a byte available: 1, 0 at end of input or when leaving, -1 on
 * Ctrl-C. Runs the loop while waiting. */
static int
repl_fill(struct repl *r)
{
	ssize_t n;

	while (r->inpos == r->inlen) {
		if (r->quit)
			return 0;
		if (r->sigint)
			return -1;
		if (r->stdin_ready) {
			r->stdin_ready = false;
			n = read(STDIN_FILENO, r->in, sizeof r->in);
			if (n > 0) {
				r->inpos = 0;
				r->inlen = (size_t)n;
				break;
			}
			if (n == 0 || (errno != EINTR && errno != EAGAIN))
				return 0;
			continue;
		}
		loop_watch(r->a->loop, STDIN_FILENO, LOOP_READ, repl_stdin_cb, r);
		loop_run_once(r->a->loop, -1);
		loop_unwatch(r->a->loop, STDIN_FILENO);
	}
	return 1;
}

/* libedit's character reader. */
static int
repl_getc(EditLine *el, wchar_t *out)
{
	struct repl *r = NULL;
	size_t k;
	int rc;
	char b;
	wchar_t wc;

	el_get(el, EL_CLIENTDATA, &r);
	for (;;) {
		if ((rc = repl_fill(r)) == 0)
			return 0;
		if (rc < 0) {
			/* bound to parley-interrupt */
			r->sigint = false;
			memset(&r->mbs, 0, sizeof r->mbs);
			*out = 3;
			return 1;
		}
		b = (char)r->in[r->inpos++];
		k = mbrtowc(&wc, &b, 1, &r->mbs);
		if (k == (size_t)-2)
			continue;
		if (k == (size_t)-1) {
			memset(&r->mbs, 0, sizeof r->mbs);
			wc = (unsigned char)b;
		}
		*out = wc;
		return 1;
	}
}

/* Ctrl-C at the prompt: show ^C, end the line, and drop it. */
static unsigned char
repl_interrupt(EditLine *el, int ch)
{
	struct repl *r = NULL;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &r);
	r->cancel_line = true;
	el_cursor(el, INT_MAX / 2);
	el_insertstr(el, "^C");
	el_push(el, "\n");
	return CC_REFRESH;
}

/* Bracketed paste: everything up to ESC [ 201 ~ goes into the line. */
static unsigned char
repl_paste(EditLine *el, int ch)
{
	static const char end[] = "\033[201~";
	struct repl *r = NULL;
	struct buf b = { 0 };
	size_t matched = 0;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &r);
	while (repl_fill(r) == 1) {
		char c = (char)r->in[r->inpos++];

		if (c == end[matched]) {
			if (++matched == sizeof end - 1)
				break;
			continue;
		}
		if (matched > 0) {
			buf_append(&b, end, matched);
			matched = 0;
			if (c == end[0]) {
				matched = 1;
				continue;
			}
		}
		if (b.len < REPL_PASTE_CAP)
			buf_putc(&b, c == '\r' ? '\n' : c);
	}
	if (b.len > 0) {
		/* a trailing newline would look like an unsent line */
		while (b.len > 0 && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		el_insertstr(el, b.data);
	}
	buf_free(&b);
	return CC_REFRESH;
}

static char *
repl_prompt(EditLine *el)
{
	struct repl *r = NULL;

	el_get(el, EL_CLIENTDATA, &r);
	return (char *)(r->in_block ? "... " : ">>> ");
}

/* --- completion --------------------------------------------------------------- */

static void
repl_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static void
repl_strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
repl_forget_models(struct repl *r)
{
	repl_strings_free(r->models, r->nmodels);
	r->models = NULL;
	r->nmodels = 0;
	r->models_known = false;
}

/* The backend's model list, for /models and completion. The REPL reads
 * one line at a time, so it waits here, running the loop; Ctrl-C
 * (a->interrupted) cancels. NULL with *cause. */
struct repl_list_wait {
	bool done;
	enum llm_err err;
	char *msg;
	struct prov_model_list *list;
};

static void
repl_list_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct repl_list_wait *w = arg;

	w->err = err;
	w->msg = err != LLM_OK ? xstrdup(msg ? msg : "failed") : NULL;
	w->list = l;
	w->done = true;
}

static struct prov_model_list *
repl_list_models(struct repl *r, char **cause)
{
	struct repl_list_wait w = { 0 };
	struct prov_req *req;
	bool cancelled = false;

	if (r->a->prov == NULL) {
		util_fail(cause, "no backend");
		return NULL;
	}
	r->a->interrupted = false;
	req = r->a->prov->ops->list(r->a->prov, repl_list_cb, &w);
	while (!w.done) {
		loop_run_once(r->a->loop, -1);
		if (r->a->interrupted && !w.done && !cancelled) {
			cancelled = true;
			prov_cancel(req);
		}
	}
	r->a->interrupted = false;
	if (w.err != LLM_OK) {
		util_fail(cause, "%s", cancelled && w.err == LLM_ERR_CANCELLED ? "interrupted" : w.msg);
		free(w.msg);
		prov_model_list_free(w.list);
		return NULL;
	}
	return w.list != NULL ? w.list : xcalloc(1, sizeof *w.list);
}

static void
repl_fetch_models(struct repl *r)
{
	struct prov_model_list *l;
	char *cause = NULL;

	if (r->models_known)
		return;
	if ((l = repl_list_models(r, &cause)) == NULL) {
		free(cause); /* nothing to offer; the prompt stays as it was */
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		repl_add(&r->models, &r->nmodels, l->v[i].name);
	prov_model_list_free(l);
	r->models_known = true;
}

/* "~/x" -> "$HOME/x"; allocated. */
static char *
repl_expand(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0') && home != NULL)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}

/* Files whose names complete word (as typed: the directory part is kept). */
static void
repl_files(const char *word, char ***v, size_t *n)
{
	const char *slash = strrchr(word, '/');
	char *dir = slash ? xstrndup(word, (size_t)(slash - word + 1)) : xstrdup("");
	const char *base = slash ? slash + 1 : word;
	char *real = repl_expand(dir[0] ? dir : ".");
	struct dirent *de;
	DIR *d = opendir(real);

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *full, *path;
		bool isdir;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!util_prefix(de->d_name, base) || (de->d_name[0] == '.' && base[0] != '.'))
			continue;
		path = xasprintf("%s/%s", real, de->d_name);
		isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
			DIR *probe = opendir(path);

			isdir = probe != NULL;
			if (probe != NULL)
				closedir(probe);
		}
		full = xasprintf("%s%s%s", dir, de->d_name, isdir ? "/" : "");
		repl_add(v, n, full);
		free(full);
		free(path);
	}
	if (d != NULL)
		closedir(d);
	free(real);
	free(dir);
}

static int
repl_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List candidates under the line, in columns. */
static void
repl_list(struct repl *r, char **v, size_t n)
{
	size_t wmax = 0, cols, width = r->width > 0 ? (size_t)r->width : 80;

	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]) > wmax)
			wmax = strlen(v[i]);
	cols = width / (wmax + 2);
	if (cols == 0)
		cols = 1;
	fputc('\n', stdout);
	for (size_t i = 0; i < n; i++)
		printf("%-*s%s", (int)(wmax + 2), v[i], (i + 1) % cols == 0 || i + 1 == n ? "\n" : "");
	fflush(stdout);
}

static unsigned char
repl_complete(EditLine *el, int ch)
{
	const LineInfo *li = el_line(el);
	struct repl *r = NULL;
	char *before, *word, **cands = NULL;
	size_t ncands = 0, wlen, common;
	const char *sp;
	unsigned char rc = CC_ERROR;
	bool first;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &r);
	before = xstrndup(li->buffer, (size_t)(li->cursor - li->buffer));
	if (before[0] != '/' || strchr(before, '\n') != NULL) {
		free(before);
		return CC_ERROR;
	}
	sp = strrchr(before, ' ');
	first = sp == NULL;
	word = xstrdup(first ? before : sp + 1);
	wlen = strlen(word);
	if (first) {
		for (size_t i = 0; i < slash_count; i++)
			if (util_prefix(slash_table[i].name, word))
				repl_add(&cands, &ncands, slash_table[i].name);
	} else {
		const struct slash_cmd *m[4];
		size_t clen = strcspn(before, " ");
		char *name = xstrndup(before, clen);
		bool first_arg = sp == before + clen + strspn(before + clen, " ") - 1;

		size_t nm = slash_complete(name, m, 4);
		const struct slash_cmd *cmd = nm == 1 ? m[0] : NULL;

		/* an exact name wins over longer ones (/model vs /models) */
		for (size_t i = 0; i < nm && i < 4; i++)
			if (strcmp(m[i]->name, name) == 0)
				cmd = m[i];
		if (cmd != NULL) {
			switch (cmd->complete) {
			case SLASH_ARG_MODEL:
				repl_fetch_models(r);
				for (size_t i = 0; first_arg && i < r->nmodels; i++)
					if (util_prefix(r->models[i], word))
						repl_add(&cands, &ncands, r->models[i]);
				break;
			case SLASH_ARG_FILE:
				repl_files(word, &cands, &ncands);
				break;
			case SLASH_ARG_SETTING:
				for (size_t i = 0; first_arg && i < slash_nsettings; i++)
					if (util_prefix(slash_settings[i].name, word))
						repl_add(&cands, &ncands, slash_settings[i].name);
				break;
			case SLASH_ARG_SESSION:
				if (first_arg && r->a->store != NULL) {
					struct store_session **v = NULL;
					size_t n = 0;

					if (store_session_list(r->a->store, NULL, 50, &v, &n, NULL) == 0)
						for (size_t i = 0; i < n; i++)
							if (util_prefix(v[i]->id, word))
								repl_add(&cands, &ncands, v[i]->id);
					store_sessions_free(v, n);
				}
				break;
			default:
				break;
			}
		}
		free(name);
	}
	if (ncands > 1)
		qsort(cands, ncands, sizeof *cands, repl_cmp);
	if (ncands == 1) {
		const char *c = cands[0];
		bool dir = c[strlen(c) - 1] == '/';

		el_insertstr(el, c + wlen);
		if (!dir)
			el_insertstr(el, " ");
		rc = CC_REFRESH;
	} else if (ncands > 1) {
		/* the longest prefix they share; list them when that adds nothing */
		common = strlen(cands[0]);
		for (size_t i = 1; i < ncands; i++) {
			size_t k = 0;

			while (k < common && cands[i][k] == cands[0][k])
				k++;
			common = k;
		}
		if (common > wlen) {
			char *add = xstrndup(cands[0] + wlen, common - wlen);

			el_insertstr(el, add);
			free(add);
			rc = CC_REFRESH;
		} else {
			repl_list(r, cands, ncands);
			rc = CC_REDISPLAY;
		}
	}
	repl_strings_free(cands, ncands);
	free(word);
	free(before);
	return rc;
}

/* --- history ------------------------------------------------------------------- */

static void
repl_history_load(struct repl *r)
{
	HistEvent ev;
	char **v = NULL, *cause = NULL;
	size_t n = 0, from;

	r->hist = history_init();
	history(r->hist, &ev, H_SETSIZE, REPL_HISTORY_SIZE);
	r->hist_path = slash_history_path();
	if (slash_history_read(r->hist_path, &v, &n, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
		return;
	}
	from = n > REPL_HISTORY_SIZE ? n - REPL_HISTORY_SIZE : 0;
	for (size_t i = from; i < n; i++)
		history(r->hist, &ev, H_ENTER, v[i]);
	if (n > 0)
		r->last_entry = xstrdup(v[n - 1]);
	/* the file only grows by appends: cut it back now and then */
	if (n > 2 * REPL_HISTORY_SIZE) {
		char *tmp = xasprintf("%s.%ld", r->hist_path, (long)getpid());

		unlink(tmp);
		for (size_t i = from; i < n; i++)
			slash_history_append(tmp, v[i], NULL);
		if (rename(tmp, r->hist_path) != 0)
			unlink(tmp);
		free(tmp);
	}
	slash_history_free(v, n);
}

static void
repl_history_add(struct repl *r, const char *line)
{
	HistEvent ev;
	char *cause = NULL;

	if (util_streq(r->last_entry, line))
		return;
	history(r->hist, &ev, H_ENTER, line);
	free(r->last_entry);
	r->last_entry = xstrdup(line);
	if (slash_history_append(r->hist_path, line, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
	}
}

/* --- reading a message ----------------------------------------------------- */

static bool
repl_ends_with_quotes(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n < 3 || strncmp(s + n - 3, "\"\"\"", 3) != 0)
		return false;
	*len = n - 3;
	return true;
}

/* Read one message or command. A line opening with """ starts a block that
 * runs to a line ending with """; the block is one message. NULL at the
 * end (Ctrl-D on an empty line, or leaving). */
static char *
repl_read(struct repl *r)
{
	struct buf block = { 0 }, raw = { 0 };
	const char *line;
	char *l, *t;
	size_t len, nseg = 0;
	int count;

	for (;;) {
		r->cancel_line = false;
		r->sigint = false;
		r->editing = true;
		if (r->paste)
			fputs("\033[?2004h", stdout); /* bracketed paste */
		fflush(stdout);
		line = el_gets(r->el, &count);
		if (r->paste)
			fputs("\033[?2004l", stdout);
		r->editing = false;
		if (line == NULL || count <= 0) {
			if (r->quit || !r->in_block) {
				fputc('\n', stdout);
				r->in_block = false;
				buf_free(&block);
				buf_free(&raw);
				return NULL;
			}
			/* Ctrl-D inside a block drops the block */
			fputc('\n', stdout);
			repl_dim(r, "(block dropped)");
			r->in_block = false;
			buf_reset(&block);
			buf_reset(&raw);
			nseg = 0;
			continue;
		}
		l = xstrdup(line);
		len = strlen(l);
		if (len > 0 && l[len - 1] == '\n')
			l[--len] = '\0';
		if (r->cancel_line) {
			r->edit_pending = false;
			if (r->in_block)
				repl_dim(r, "(block dropped)");
			r->in_block = false;
			buf_reset(&block);
			buf_reset(&raw);
			nseg = 0;
			free(l);
			continue;
		}
		if (!r->in_block) {
			t = l + strspn(l, " \t");
			if (strncmp(t, "\"\"\"", 3) != 0) {
				if (t[strspn(t, " \t\r\n")] == '\0') {
					r->edit_pending = false;
					free(l);
					continue;
				}
				repl_history_add(r, l);
				return l;
			}
			t += 3;
			if (repl_ends_with_quotes(t, &len)) {
				/* a whole block on one line (or recalled from history) */
				char *msg;

				if (t[0] == '\n') {
					t++;
					len--;
				}
				if (len > 0 && t[len - 1] == '\n')
					len--;
				msg = xstrndup(t, len);
				repl_history_add(r, l);
				free(l);
				if (msg[strspn(msg, " \t\n")] == '\0') {
					free(msg);
					continue;
				}
				return msg;
			}
			r->in_block = true;
			buf_puts(&raw, l);
			if (t[0] != '\0') {
				buf_puts(&block, t);
				nseg++;
			}
			free(l);
			continue;
		}
		/* the lines of a block, joined by newlines; the text before
		 * the closing """ is the last one */
		buf_printf(&raw, "\n%s", l);
		if (repl_ends_with_quotes(l, &len)) {
			if (len > 0) {
				if (nseg++ > 0)
					buf_putc(&block, '\n');
				buf_append(&block, l, len);
			}
			free(l);
			r->in_block = false;
			repl_history_add(r, raw.data);
			buf_free(&raw);
			if (block.len == 0) {
				buf_free(&block);
				nseg = 0;
				continue;
			}
			return buf_steal(&block);
		}
		if (nseg++ > 0)
			buf_putc(&block, '\n');
		buf_puts(&block, l);
		free(l);
	}
}

/* --- the face's commands ------------------------------------------------------ */

static int
repl_models(void *arg)
{
	struct repl *r = arg;
	struct prov_model_list *l;
	char *cause = NULL, size[32];
	size_t wn = 4;

	if ((l = repl_list_models(r, &cause)) == NULL) {
		repl_error(r, cause);
		free(cause);
		return -1;
	}
	repl_forget_models(r);
	for (size_t i = 0; i < l->n; i++) {
		repl_add(&r->models, &r->nmodels, l->v[i].name);
		if (strlen(l->v[i].name) > wn)
			wn = strlen(l->v[i].name);
	}
	r->models_known = true;
	if (l->n == 0)
		repl_print(r, prov_can_pull(r->a->prov) ? "no models; /pull one (e.g. /pull llama3.2)" : "no models; load one in the backend");
	else
		printf("  %-*s  %-8s  %-8s  %9s  %s\n", (int)wn, "NAME", "PARAMS", "QUANT", "SIZE", "");
	for (size_t i = 0; i < l->n; i++) {
		const struct prov_model *m = &l->v[i];
		bool cur = util_streq(m->name, chat_model(r->c));

		progress_size(size, sizeof size, m->size);
		printf("%s %-*s  %-8s  %-8s  %9s  %s\n", cur ? "*" : " ", (int)wn, m->name,
		    m->params && m->params[0] ? m->params : "-", m->quant && m->quant[0] ? m->quant : "-", size,
		    m->loaded == 1 ? "loaded" : "");
	}
	fflush(stdout);
	prov_model_list_free(l);
	return 0;
}

struct repl_pull {
	struct repl *r;
	bool done;
	enum llm_err err;
	char *msg;
	char digest[80];
	int64_t last_draw;
	bool bar; /* a bar is on the current line */
};

static void
repl_pull_progress(const struct prov_pull_ev *ev, void *arg)
{
	struct repl_pull *p = arg;
	int64_t now = util_now_ms();
	char done[32], total[32];
	const char *hex;
	int pct, barw = 30, fill;

	if (ev->digest == NULL || ev->digest[0] == '\0') {
		if (p->bar)
			fputc('\n', stdout);
		p->bar = false;
		printf("%s\n", ev->status ? ev->status : "");
		fflush(stdout);
		return;
	}
	if (strcmp(p->digest, ev->digest) != 0) {
		if (p->bar)
			fputc('\n', stdout);
		snprintf(p->digest, sizeof p->digest, "%s", ev->digest);
		p->last_draw = 0;
	} else if (now - p->last_draw < 100 && ev->completed < ev->total)
		return;
	p->last_draw = now;
	pct = ev->total > 0 ? (int)(100.0 * (double)ev->completed / (double)ev->total) : 0;
	pct = pct > 100 ? 100 : pct < 0 ? 0
	                                : pct;
	fill = barw * pct / 100;
	hex = strncmp(ev->digest, "sha256:", 7) == 0 ? ev->digest + 7 : ev->digest;
	progress_size(done, sizeof done, ev->completed);
	progress_size(total, sizeof total, ev->total);
	printf("\r\033[Kpulling %.12s %3d%% [", hex, pct);
	for (int i = 0; i < barw; i++)
		fputc(i < fill ? '#' : ' ', stdout);
	printf("] %s/%s", done, total);
	p->bar = true;
	fflush(stdout);
}

static void
repl_pull_done(enum llm_err err, const char *msg, void *arg)
{
	struct repl_pull *p = arg;

	p->err = err;
	p->msg = err != LLM_OK ? xstrdup(msg ? msg : "failed") : NULL;
	p->done = true;
}

static int
repl_pull(void *arg, const char *model)
{
	struct repl *r = arg;
	struct repl_pull p = { 0 };
	struct prov_req *req;
	bool cancelled = false;

	p.r = r;
	r->a->interrupted = false;
	req = r->a->prov->ops->pull(r->a->prov, model, repl_pull_progress, repl_pull_done, &p);
	while (!p.done) {
		loop_run_once(r->a->loop, -1);
		if (r->a->interrupted && !p.done && !cancelled) {
			cancelled = true;
			prov_cancel(req);
		}
	}
	r->a->interrupted = false;
	if (p.bar)
		fputc('\n', stdout);
	repl_forget_models(r);
	if (p.err != LLM_OK) {
		repl_error(r, p.err == LLM_ERR_CANCELLED ? "pull interrupted" : p.msg);
		free(p.msg);
		return -1;
	}
	printf("pulled %s; /model %s to use it\n", model, model);
	fflush(stdout);
	return 0;
}

static int
repl_sessions(void *arg, const char *filter)
{
	struct repl *r = arg;
	struct store_session **v = NULL, *s = NULL;
	char *cause = NULL, when[32];
	size_t n = 0;

	if (r->a->store == NULL) {
		repl_error(r, r->a->store_error ? r->a->store_error : "sessions are not saved (--no-save)");
		return -1;
	}
	/* an id, id prefix or title switches; anything else filters */
	if (filter != NULL && store_session_find(r->a->store, filter, &s, NULL) == 0) {
		char *id = xstrdup(s->id);

		store_session_free(s);
		if (chat_open(r->c, id, false, &cause) != 0) {
			repl_error(r, cause);
			free(cause);
			free(id);
			return -1;
		}
		printf("session %s '%s': %zu messages, model %s\n", id, chat_title(r->c), chat_count(r->c),
		    chat_model(r->c) ? chat_model(r->c) : "(none)");
		fflush(stdout);
		free(id);
		return 0;
	}
	if (store_session_list(r->a->store, filter, 20, &v, &n, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
		return -1;
	}
	if (n == 0)
		repl_print(r, filter ? "no session matches" : "no sessions yet");
	for (size_t i = 0; i < n; i++) {
		reltime(when, sizeof when, v[i]->updated, util_wall_ms(), RELTIME_SHORT);
		printf("%s %s  %-9s %4lld msgs  %-16s %s\n", util_streq(v[i]->id, chat_session_id(r->c)) ? "*" : " ",
		    v[i]->id, when, (long long)v[i]->nmessages, v[i]->model ? v[i]->model : "",
		    v[i]->title && v[i]->title[0] ? v[i]->title : "(untitled)");
	}
	if (n > 0)
		repl_dim(r, "/sessions ID switches to one");
	fflush(stdout);
	store_sessions_free(v, n);
	return 0;
}

static int
repl_help(void *arg)
{
	struct repl *r = arg;
	char *text = slash_help_text();

	printf("%s\n\n", text);
	free(text);
	repl_dim(r, "\"\"\" opens and closes a multi-line message. Tab completes commands, models and files.\n"
	            "Up/Down recall earlier lines. Ctrl-C stops a reply or clears the line; Ctrl-D leaves.");
	return 0;
}

static int
repl_theme(void *arg, const char *name)
{
	(void)name;
	repl_print(arg, "themes are for the full-screen chat (parley without --repl); the REPL uses the terminal's colours");
	return 0;
}

static int
repl_copy(void *arg, int block)
{
	struct repl *r = arg;
	const struct store_msg *m = NULL;
	struct buf b = { 0 };
	char *text;

	for (size_t i = chat_count(r->c); i > 0 && m == NULL; i--)
		if (strcmp(chat_msg(r->c, i - 1)->role, "assistant") == 0 && chat_msg(r->c, i - 1)->content[0] != '\0')
			m = chat_msg(r->c, i - 1);
	if (m == NULL) {
		repl_error(r, "no reply to copy yet");
		return -1;
	}
	if (block > 0) {
		struct codeblocks cb;

		if (codeblock_list(m->content, strlen(m->content), &cb) != 0 || (size_t)block > cb.n) {
			char *e = cb.n == 0 ? xstrdup("the last reply has no code block")
			                    : xasprintf("the last reply has no code block %d (it has %zu)", block, cb.n);

			codeblocks_free(&cb);
			repl_error(r, e);
			free(e);
			return -1;
		}
		text = xstrdup(cb.v[block - 1].text);
		codeblocks_free(&cb);
	} else
		text = xstrdup(m->content);
	/* OSC 52: the terminal puts it on the clipboard, even over ssh */
	buf_puts(&b, "\033]52;c;");
	b64_append(&b, text, strlen(text));
	buf_puts(&b, "\a");
	fwrite(b.data, 1, b.len, stdout);
	printf("copied %zu bytes%s to the clipboard\n", strlen(text), block > 0 ? " of code" : "");
	fflush(stdout);
	buf_free(&b);
	free(text);
	return 0;
}

static int
repl_attach(void *arg, const char *path)
{
	struct repl *r = arg;
	struct llm_image img = { 0 };
	struct buf b = { 0 };
	char *cause = NULL;
	bool image;

	/* the same reading and format as -i and -f, and as the TUI's */
	buf_puts(&b, r->files ? r->files : "");
	if (attach_file(path, &img, &b, &image, &cause) != 0) {
		repl_error(r, cause);
		free(cause);
		buf_free(&b);
		return -1;
	}
	if (image) {
		r->images = xreallocarray(r->images, r->nimages + 1, sizeof *r->images);
		r->images[r->nimages++] = img;
		buf_free(&b);
		printf("image %s goes with the next message\n", path);
	} else {
		free(r->files);
		r->files = buf_steal(&b);
		printf("%s goes with the next message\n", path);
	}
	fflush(stdout);
	return 0;
}

static int
repl_quit(void *arg)
{
	((struct repl *)arg)->quit = true;
	return 0;
}

/* A y/n question, answered on a plain line (the terminal is in its normal
 * mode between prompts). */
static bool
repl_yes(void *arg, const char *question)
{
	struct repl *r = arg;
	char answer[16];
	size_t n = 0;

	printf("%s [y/N] ", question);
	fflush(stdout);
	r->sigint = false;
	for (;;) {
		char c;

		if (repl_fill(r) != 1) {
			r->sigint = false;
			fputc('\n', stdout);
			return false;
		}
		c = (char)r->in[r->inpos++];
		if (c == '\n' || c == '\r')
			break;
		if (n < sizeof answer - 1)
			answer[n++] = c;
	}
	answer[n] = '\0';
	return answer[0] == 'y' || answer[0] == 'Y';
}

/* A command's question (/rm): answered at once, on the line read. */
static void
repl_ask(void *arg, const char *question, slash_answer_fn answer, void *ctx)
{
	answer(ctx, repl_yes(arg, question));
}

/* A pending command has ended: it printed its own output. */
static void
repl_done(void *arg, int rc)
{
	(void)arg;
	(void)rc;
}

/* A command left pending: the next prompt waits for it, as a reply is
 * waited for; Ctrl-C stops it. */
static void
repl_wait_command(struct repl *r)
{
	r->a->interrupted = false;
	while (slash_busy(r)) {
		loop_run_once(r->a->loop, -1);
		if (r->a->interrupted) {
			r->a->interrupted = false;
			slash_cancel(r);
		}
	}
}

/* --- signals --------------------------------------------------------------------- */

static void
repl_sigint(int sig, void *arg)
{
	struct repl *r = arg;

	(void)sig;
	r->a->interrupted = true;
	if (r->c != NULL && chat_busy(r->c))
		chat_stop(r->c);
	else if (r->tools != NULL && tools_busy(r->tools)) {
		/* Ctrl-C stops a running tool call (the server is told) */
		if (r->asking) {
			r->asking = false;
			loop_unwatch(r->a->loop, STDIN_FILENO);
			buf_reset(&r->answer);
		}
		tools_stop(r->tools, "interrupted");
	} else
		r->sigint = true; /* the prompt (or a question) drops its line */
}

static void
repl_sigterm(int sig, void *arg)
{
	struct repl *r = arg;

	(void)sig;
	r->quit = true;
	r->a->interrupted = true;
	if (r->c != NULL && chat_busy(r->c))
		chat_stop(r->c);
}

static void
repl_sigwinch(int sig, void *arg)
{
	struct repl *r = arg;

	(void)sig;
	repl_measure(r);
	if (r->el != NULL)
		el_resize(r->el);
}

/* Back from Ctrl-Z: the shell may have reset the terminal under us. */
static void
repl_sigcont(int sig, void *arg)
{
	struct repl *r = arg;

	(void)sig;
	if (!r->editing)
		return;
	el_set(r->el, EL_PREP_TERM, 0);
	el_set(r->el, EL_PREP_TERM, 1);
	el_set(r->el, EL_REFRESH);
}

/* --- start and the main loop ------------------------------------------------------- */

static void
repl_setup_editline(struct repl *r)
{
	const char *editor = NULL;

	r->el = el_init("parley", stdin, stdout, stderr);
	el_set(r->el, EL_CLIENTDATA, r);
	el_set(r->el, EL_SIGNAL, 0);
	el_set(r->el, EL_EDITOR, "emacs");
	el_set(r->el, EL_PROMPT, repl_prompt);
	el_set(r->el, EL_HIST, history, r->hist);
	el_set(r->el, EL_GETCFN, repl_getc);
	/* the wide call: the narrow one copies the names and never frees them */
	el_wset(r->el, EL_ADDFN, L"parley-complete", L"complete a command, model, setting or file", repl_complete);
	el_wset(r->el, EL_ADDFN, L"parley-interrupt", L"drop the line", repl_interrupt);
	el_wset(r->el, EL_ADDFN, L"parley-paste", L"insert a bracketed paste", repl_paste);
	/* ~/.editrc (or $EDITRC) may choose vi and rebind keys; ours come after */
	el_source(r->el, NULL);
	el_set(r->el, EL_BIND, "^I", "parley-complete", NULL);
	el_set(r->el, EL_BIND, "^C", "parley-interrupt", NULL);
	if (el_get(r->el, EL_EDITOR, &editor) == 0 && util_streq(editor, "vi")) {
		/* No bracketed paste in vi mode: a key sequence starting with
		 * ESC in the insert map stops ESC from reaching command mode. */
		el_set(r->el, EL_BIND, "-a", "^C", "parley-interrupt", NULL);
	} else {
		el_set(r->el, EL_BIND, "\\e[200~", "parley-paste", NULL);
		r->paste = r->tty;
	}
}

/* Connection, store, session, model: as pipe mode does it. Returns 0, or
 * an exit status after saying why. */
static int
repl_start(struct repl *r)
{
	static const struct chat_hooks hooks = { repl_event, repl_notice };
	struct app *a = r->a;
	struct config *cfg = a->cfg;
	char *msg = NULL, *note = NULL, *cause = NULL;
	enum llm_err err;
	const char *k;
	json_t *v;
	int rc;

	err = app_connect(a, cfg->provider == NULL, &msg, &note);
	if (note != NULL && !cfg->quiet)
		repl_dim(r, note);
	free(note);
	if (err != LLM_OK) {
		fprintf(stderr, "parley: %s\n", msg);
		free(msg);
		return (int)err;
	}
	if (!cfg->no_save && app_open_store(a) != 0)
		fprintf(stderr, "parley: %s; this conversation will not be saved\n", a->store_error);
	r->c = chat_new(a, "repl", !cfg->no_save, &hooks, r);
	if (cfg->session != NULL && a->store != NULL) {
		if (chat_open(r->c, cfg->session, true, &cause) != 0) {
			fprintf(stderr, "parley: %s\n", cause);
			free(cause);
			return 1;
		}
	} else if (cfg->cont && a->store != NULL) {
		rc = chat_open_latest(r->c, &cause);
		if (rc < 0) {
			fprintf(stderr, "parley: %s\n", cause);
			free(cause);
			return 1;
		}
	}
	if (cfg->model != NULL)
		chat_set_model(r->c, cfg->model);
	if (chat_model(r->c) == NULL || chat_model(r->c)[0] == '\0') {
		char *m = pipe_default_model(a, &err, &msg);

		if (m == NULL) {
			/* no model yet: /pull or /model can still fix that */
			repl_error(r, msg);
			free(msg);
		} else {
			chat_set_model(r->c, m);
			free(m);
		}
	}
	if (cfg->system != NULL)
		chat_set_system(r->c, cfg->system);
	json_object_foreach(cfg->options, k, v)
	{
		json_object_set(chat_options(r->c), k, v);
	}
	chat_set_think(r->c, cfg->think);
	chat_set_stream(r->c, !cfg->no_stream);
	r->files = xstrdup("");
	if (attach_config(cfg, &r->files, &r->images, &r->nimages, &cause) != 0) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		return LLM_ERR_USAGE;
	}
	if (r->files[0] == '\0') {
		free(r->files);
		r->files = NULL;
	}
	if (cfg->tools != NULL)
		return repl_tools_start(r);
	return 0;
}

static void
repl_banner(struct repl *r)
{
	struct buf b = { 0 };
	const char *sid = chat_session_id(r->c);

	buf_printf(&b, "parley %s · %s · %s at %s", PARLEY_VERSION,
	    chat_model(r->c) ? chat_model(r->c) : "no model", r->a->prov->kind, r->a->prov->base_url);
	if (sid != NULL)
		buf_printf(&b, " · session %s (%zu messages)", sid, chat_count(r->c));
	else if (r->a->store == NULL)
		buf_puts(&b, " · not saved");
	buf_puts(&b, " · /help for commands");
	repl_dim(r, b.data);
	buf_free(&b);
}

int
repl_main(struct app *a)
{
	struct repl r;
	struct httpd *httpd = NULL;
	char *line;
	int rc;

	memset(&r, 0, sizeof r);
	r.a = a;
	r.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	r.color = r.tty && getenv("NO_COLOR") == NULL;
	r.gutter = MB_CUR_MAX > 1 ? "\xe2\x94\x82 " : "| ";
	r.face = (struct slash_face){
		.print = repl_print,
		.error = repl_error,
		.models = repl_models,
		.pull = repl_pull,
		.sessions = repl_sessions,
		.help = repl_help,
		.theme = repl_theme,
		.copy = repl_copy,
		.attach = repl_attach,
		.quit = repl_quit,
		.send = repl_follow,
		.ask = repl_ask,
		.done = repl_done,
		.tools = repl_tools_cmd,
		.edit = repl_edit,
		.shown = repl_shown,
	};
	repl_measure(&r);
	signal(SIGPIPE, SIG_IGN);
	loop_signal(a->loop, SIGINT, repl_sigint, &r);
	loop_signal(a->loop, SIGTERM, repl_sigterm, &r);
	loop_signal(a->loop, SIGHUP, repl_sigterm, &r);
	loop_signal(a->loop, SIGWINCH, repl_sigwinch, &r);
	loop_signal(a->loop, SIGCONT, repl_sigcont, &r);
	loop_prepare_add(a->loop, repl_flush, NULL);

	if ((rc = repl_start(&r)) != 0)
		goto out;
	if (a->cfg->listen != NULL) {
		char *why = NULL;

		/* the listener runs on the loop the prompt keeps turning */
		httpd = httpd_new(a, a->cfg->listen, &why);
		if (httpd == NULL) {
			repl_error(&r, why);
			free(why);
		}
	}
	repl_history_load(&r);
	repl_setup_editline(&r);
	repl_banner(&r);
	if (httpd != NULL) {
		char *m = xasprintf("listener on http://%s (OpenAI-compatible, /v1)", httpd_address(httpd));

		repl_dim(&r, m);
		free(m);
	}

	while (!r.quit && (line = repl_read(&r)) != NULL) {
		bool edit = r.edit_pending;
		int sr;

		r.edit_pending = false;
		sr = slash_run(a, r.c, &r.face, &r, line);
		if (sr == SLASH_PENDING)
			repl_wait_command(&r);
		if (sr == 1 && edit)
			repl_send_edit(&r, r.edit_at, line);
		else if (sr == 1)
			repl_send(&r, line);
		free(line);
	}
	rc = 0;
out:
	httpd_free(httpd);
	tools_free(r.tools);
	mcp_free(r.mcp);
	buf_free(&r.answer);
	if (r.el != NULL)
		el_end(r.el);
	if (r.hist != NULL)
		history_end(r.hist);
	chat_free(r.c);
	for (size_t i = 0; i < r.nimages; i++) {
		free(r.images[i].mime);
		free(r.images[i].b64);
	}
	free(r.images);
	free(r.files);
	free(r.hist_path);
	free(r.last_entry);
	repl_strings_free(r.models, r.nmodels);
	buf_free(&r.word);
	loop_prepare_remove(a->loop, repl_flush, NULL);
	fflush(stdout);
	return rc;
}
