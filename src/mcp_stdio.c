/*
 * mcp_stdio.c: an MCP server as a child process (mcp.md 2). parley writes
 * one JSON-RPC message a line to its stdin and reads one a line from its
 * stdout; its stderr is its log. All three pipes are non-blocking and
 * watched by the loop: output waits in wbuf until stdin can take it, and
 * stdout is cut into lines as bytes come (a line may be megabytes, up to
 * MCP_STDIO_LINE_MAX).
 *
 * The child runs in its own process group, so a Ctrl-C meant for parley
 * does not kill it, with parley's environment plus the entry's "env".
 * Whether exec worked is learnt at once through a close-on-exec pipe, so
 * "no such command" is an error of the start, not a mysterious hang-up.
 * Going away follows the spec: stdin closed, then SIGTERM, then SIGKILL.
 */
#include "mcp_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define MCP_STDIO_LINE_MAX (64u << 20)
#define MCP_STDIO_LOG_LINE 4096
#define MCP_STDIO_GRACE_MS 2000

struct mcp_transport {
	struct app *a;
	const struct mcp_transport_cbs *cbs;
	void *arg;
	pid_t pid;
	int status; /* once reaped */
	bool reaped;
	int in, out, err; /* -1 when closed */
	struct buf wbuf;
	size_t wpos;
	struct buf rbuf;
	struct buf ebuf;
	bool gone; /* closed was reported, or hangup */
};

static void
mcp_stdio_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
mcp_stdio_close_fd(struct mcp_transport *t, int *fd)
{
	if (*fd < 0)
		return;
	loop_unwatch(t->a->loop, *fd);
	close(*fd);
	*fd = -1;
}

static bool
mcp_stdio_reap(struct mcp_transport *t, bool block)
{
	pid_t r;

	if (t->reaped || t->pid <= 0)
		return true;
	do
		r = waitpid(t->pid, &t->status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == t->pid || (r < 0 && errno == ECHILD))
		t->reaped = true;
	return t->reaped;
}

/* Why the server is gone, as a user reads it. */
static char *
mcp_stdio_why(struct mcp_transport *t, const char *what)
{
	/* stdout closed usually means the process is exiting: give it a moment
	 * to say how */
	for (int i = 0; i < 50 && !mcp_stdio_reap(t, false); i++)
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	if (!t->reaped)
		return xstrdup(what);
	if (WIFEXITED(t->status))
		return xasprintf("exited with status %d", WEXITSTATUS(t->status));
	if (WIFSIGNALED(t->status))
		return xasprintf("was killed by signal %d (%s)", WTERMSIG(t->status), strsignal(WTERMSIG(t->status)));
	return xstrdup(what);
}

static void
mcp_stdio_lost(struct mcp_transport *t, const char *what)
{
	char *why;

	if (t->gone)
		return;
	t->gone = true;
	mcp_stdio_close_fd(t, &t->in);
	mcp_stdio_close_fd(t, &t->out);
	why = mcp_stdio_why(t, what);
	t->cbs->closed(why, t->arg);
	free(why);
}

static void mcp_stdio_writable(int fd, int events, void *arg);

static void
mcp_stdio_flush(struct mcp_transport *t)
{
	while (t->in >= 0 && t->wpos < t->wbuf.len) {
		ssize_t n = write(t->in, t->wbuf.data + t->wpos, t->wbuf.len - t->wpos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_watch(t->a->loop, t->in, LOOP_WRITE, mcp_stdio_writable, t);
			return;
		}
		if (n < 0) {
			mcp_stdio_lost(t, "stopped reading its input");
			return;
		}
		t->wpos += (size_t)n;
	}
	if (t->in >= 0)
		loop_unwatch(t->a->loop, t->in);
	buf_reset(&t->wbuf);
	t->wpos = 0;
}

static void
mcp_stdio_writable(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	mcp_stdio_flush(arg);
}

/* Hand up every whole line in rbuf. */
static void
mcp_stdio_lines(struct mcp_transport *t)
{
	size_t start = 0;

	while (!t->gone && start < t->rbuf.len) {
		char *nl = memchr(t->rbuf.data + start, '\n', t->rbuf.len - start);
		size_t len;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (t->rbuf.data + start));
		if (len > 0 && t->rbuf.data[start + len - 1] == '\r')
			len--;
		if (len > 0)
			t->cbs->message(t->rbuf.data + start, len, t->arg);
		start = (size_t)(nl - t->rbuf.data) + 1;
	}
	if (!t->gone)
		buf_consume(&t->rbuf, start);
}

/* Read what fd has into b: 1 when it would block, 0 at its end or on an
 * error. Stops early (1) once b holds more than max. */
static int
mcp_stdio_read(int fd, struct buf *b, size_t max)
{
	char chunk[65536];
	ssize_t n;

	while (b->len <= max) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n <= 0)
			return 0;
		buf_append(b, chunk, (size_t)n);
	}
	return 1;
}

static void
mcp_stdio_readable(int fd, int events, void *arg)
{
	struct mcp_transport *t = arg;
	int more;

	(void)events;
	more = mcp_stdio_read(fd, &t->rbuf, MCP_STDIO_LINE_MAX);
	mcp_stdio_lines(t);
	if (t->gone)
		return;
	if (t->rbuf.len > MCP_STDIO_LINE_MAX)
		mcp_stdio_lost(t, "sent a line longer than 64 MiB");
	else if (!more)
		mcp_stdio_lost(t, "closed its output");
}

/* Hand every whole stderr line to the log (all: the rest too); a line
 * longer than MCP_STDIO_LOG_LINE is cut there. */
static void
mcp_stdio_log_lines(struct mcp_transport *t, bool all)
{
	size_t start = 0;

	while (start < t->ebuf.len) {
		const char *p = t->ebuf.data + start;
		size_t left = t->ebuf.len - start, len, next;
		const char *nl = memchr(p, '\n', left);
		char *line;

		if (nl != NULL) {
			len = (size_t)(nl - p);
			next = start + len + 1;
		} else if (all || left >= MCP_STDIO_LOG_LINE) {
			len = left;
			next = t->ebuf.len;
		} else
			break;
		if (len > MCP_STDIO_LOG_LINE)
			len = MCP_STDIO_LOG_LINE;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		line = xstrndup(p, len);
		if (len > 0 && !t->gone)
			t->cbs->log(line, t->arg);
		free(line);
		start = next;
	}
	buf_consume(&t->ebuf, start);
}

static void
mcp_stdio_stderr(int fd, int events, void *arg)
{
	struct mcp_transport *t = arg;
	int more;

	(void)events;
	more = mcp_stdio_read(fd, &t->ebuf, MCP_STDIO_LOG_LINE * 16);
	mcp_stdio_log_lines(t, !more);
	if (!more)
		mcp_stdio_close_fd(t, &t->err);
}

/* In the child: never returns. */
static void
mcp_stdio_child(json_t *conf, int in[2], int out[2], int err[2], int status)
{
	json_t *args = json_object_get(conf, "args"), *env = json_object_get(conf, "env"), *v;
	const char *cwd = json_string_value(json_object_get(conf, "cwd")), *k;
	char **argv = xcalloc(json_array_size(args) + 2, sizeof *argv);
	size_t i;
	int e;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
		_exit(127);
	/* the status pipe becomes fd 3, closed by a successful exec; nothing
	 * else of parley's (sockets, the store) leaks into the server */
	if (status != 3 && dup2(status, 3) < 0)
		_exit(127);
	status = 3;
	(void)fcntl(status, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	json_object_foreach(env, k, v)
	{
		setenv(k, json_string_value(v), 1);
	}
	argv[0] = (char *)json_string_value(json_object_get(conf, "command"));
	json_array_foreach(args, i, v)
	{
		argv[i + 1] = (char *)json_string_value(v);
	}
	if (cwd != NULL && chdir(cwd) != 0) {
		e = errno;
		(void)!write(status, &e, sizeof e);
		_exit(127);
	}
	execvp(argv[0], argv);
	e = -errno;
	(void)!write(status, &e, sizeof e);
	_exit(127);
}

static struct mcp_transport *
mcp_stdio_open(struct app *a, json_t *conf, const struct mcp_transport_cbs *cbs, void *arg, char **cause)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, st[2] = { -1, -1 }, e = 0;
	const char *cmd = json_string_value(json_object_get(conf, "command"));
	struct mcp_transport *t;
	pid_t pid;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(st, O_CLOEXEC) != 0) {
		util_fail(cause, "cannot make pipes: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		util_fail(cause, "cannot start %s: %s", cmd, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(st[0]);
		mcp_stdio_child(conf, in, out, err, st[1]);
	}
	close(st[1]);
	st[1] = -1;
	do
		n = read(st[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(st[0]);
	st[0] = -1;
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		if (e < 0)
			util_fail(cause, "cannot run %s: %s", cmd, strerror(-e));
		else
			util_fail(cause, "cannot enter %s: %s", json_string_value(json_object_get(conf, "cwd")), strerror(e));
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	t = xcalloc(1, sizeof *t);
	t->a = a;
	t->cbs = cbs;
	t->arg = arg;
	t->pid = pid;
	t->in = in[1];
	t->out = out[0];
	t->err = err[0];
	mcp_stdio_nonblock(t->in);
	mcp_stdio_nonblock(t->out);
	mcp_stdio_nonblock(t->err);
	loop_watch(a->loop, t->out, LOOP_READ, mcp_stdio_readable, t);
	loop_watch(a->loop, t->err, LOOP_READ, mcp_stdio_stderr, t);
	return t;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	return NULL;
}

static void
mcp_stdio_send(struct mcp_transport *t, const char *msg, size_t len)
{
	if (t->gone || t->in < 0)
		return;
	buf_append(&t->wbuf, msg, len);
	buf_putc(&t->wbuf, '\n');
	mcp_stdio_flush(t);
}

static void
mcp_stdio_set_version(struct mcp_transport *t, const char *version)
{
	(void)t;
	(void)version;
}

static void
mcp_stdio_hangup(struct mcp_transport *t)
{
	t->gone = true;
	/* what is still queued goes first, as far as the pipe takes it now */
	if (t->in >= 0 && t->wpos < t->wbuf.len) {
		ssize_t n = write(t->in, t->wbuf.data + t->wpos, t->wbuf.len - t->wpos);

		(void)n;
	}
	mcp_stdio_close_fd(t, &t->in);
	mcp_stdio_close_fd(t, &t->out);
	mcp_stdio_close_fd(t, &t->err);
}

static void
mcp_stdio_wait(struct mcp_transport *t, int64_t deadline)
{
	while (!mcp_stdio_reap(t, false) && util_now_ms() < deadline)
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
}

static void
mcp_stdio_free(struct mcp_transport *t, int64_t deadline)
{
	if (t == NULL)
		return;
	mcp_stdio_hangup(t);
	mcp_stdio_wait(t, deadline);
	if (!t->reaped) {
		kill(t->pid, SIGTERM);
		mcp_stdio_wait(t, util_now_ms() + MCP_STDIO_GRACE_MS);
	}
	if (!t->reaped) {
		kill(t->pid, SIGKILL);
		mcp_stdio_reap(t, true);
	}
	buf_free(&t->wbuf);
	buf_free(&t->rbuf);
	buf_free(&t->ebuf);
	free(t);
}

const struct mcp_transport_ops mcp_stdio_ops = {
	"stdio",
	mcp_stdio_open,
	mcp_stdio_send,
	mcp_stdio_set_version,
	mcp_stdio_hangup,
	mcp_stdio_free,
};
