/*
 * loop.c: the one event loop every face runs on.
 *
 * Watches are kept in an array indexed in parallel with the pollfd array
 * handed to poll(); removing a watch during dispatch only marks it dead, and
 * dead slots are compacted before the next poll, so callbacks may add and
 * remove watches freely. Timers are a small list kept sorted by deadline
 * (parley never has more than a handful). Signal handlers write the signal
 * number to a non-blocking self-pipe whose read end is an ordinary watch.
 * A callback may run the loop itself (a slash command waiting for the
 * backend); the outer round then ends, since its poll results are stale.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct loop_watch {
	int fd;
	int events;
	loop_fd_cb cb;
	void *arg;
	bool dead;
};

struct loop_timer {
	int64_t due;
	loop_timer_cb cb;
	void *arg;
	struct loop_timer *next;
};

struct loop_prepare {
	loop_prepare_cb cb;
	void *arg;
	bool dead;
};

#define LOOP_NSIG 65

struct loop {
	struct loop_watch *w;
	size_t nw, capw;
	struct pollfd *pfd;
	struct loop_timer *timers;
	struct loop_prepare *prep;
	size_t nprep, capprep;
	int sigpipe[2];
	unsigned runs; /* loop_run_once calls, to notice a nested run */
	loop_signal_cb sigcb[LOOP_NSIG];
	void *sigarg[LOOP_NSIG];
};

/* Signal handlers can only reach the loop through a global. */
static int loop_sigfd = -1;

static void
loop_sighandler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (loop_sigfd != -1)
		(void)!write(loop_sigfd, &c, 1);
	errno = saved;
}

static void
loop_sigread(int fd, int events, void *arg)
{
	struct loop *l = arg;
	unsigned char c[64];
	ssize_t n;

	(void)events;
	while ((n = read(fd, c, sizeof c)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (c[i] < LOOP_NSIG && l->sigcb[c[i]] != NULL)
				l->sigcb[c[i]](c[i], l->sigarg[c[i]]);
	}
}

static void
loop_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof *l);

	if (pipe(l->sigpipe) != 0)
		fatal("pipe: %s", strerror(errno));
	loop_nonblock(l->sigpipe[0]);
	loop_nonblock(l->sigpipe[1]);
	loop_sigfd = l->sigpipe[1];
	loop_watch(l, l->sigpipe[0], LOOP_READ, loop_sigread, l);
	return l;
}

void
loop_free(struct loop *l)
{
	struct loop_timer *t, *next;

	if (l == NULL)
		return;
	for (int s = 0; s < LOOP_NSIG; s++)
		if (l->sigcb[s] != NULL)
			signal(s, SIG_DFL);
	loop_sigfd = -1;
	close(l->sigpipe[0]);
	close(l->sigpipe[1]);
	for (t = l->timers; t != NULL; t = next) {
		next = t->next;
		free(t);
	}
	free(l->w);
	free(l->pfd);
	free(l->prep);
	free(l);
}

void
loop_watch(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg)
{
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd == fd && !l->w[i].dead) {
			l->w[i].events = events;
			l->w[i].cb = cb;
			l->w[i].arg = arg;
			return;
		}
	}
	if (l->nw == l->capw) {
		l->capw = l->capw ? l->capw * 2 : 16;
		l->w = xreallocarray(l->w, l->capw, sizeof *l->w);
		l->pfd = xreallocarray(l->pfd, l->capw, sizeof *l->pfd);
	}
	l->w[l->nw++] = (struct loop_watch){ fd, events, cb, arg, false };
}

void
loop_unwatch(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd)
			l->w[i].dead = true;
}

struct loop_timer *
loop_timer_add(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof *t), **pp;

	t->due = util_now_ms() + (ms < 0 ? 0 : ms);
	t->cb = cb;
	t->arg = arg;
	for (pp = &l->timers; *pp != NULL && (*pp)->due <= t->due; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **pp;

	if (t == NULL)
		return;
	for (pp = &l->timers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

void
loop_signal(struct loop *l, int sig, loop_signal_cb cb, void *arg)
{
	struct sigaction sa;

	if (sig <= 0 || sig >= LOOP_NSIG)
		return;
	l->sigcb[sig] = cb;
	l->sigarg[sig] = arg;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cb != NULL ? loop_sighandler : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

void
loop_prepare_add(struct loop *l, loop_prepare_cb cb, void *arg)
{
	if (l->nprep == l->capprep) {
		l->capprep = l->capprep ? l->capprep * 2 : 4;
		l->prep = xreallocarray(l->prep, l->capprep, sizeof *l->prep);
	}
	l->prep[l->nprep++] = (struct loop_prepare){ cb, arg, false };
}

void
loop_prepare_remove(struct loop *l, loop_prepare_cb cb, void *arg)
{
	for (size_t i = 0; i < l->nprep; i++)
		if (l->prep[i].cb == cb && l->prep[i].arg == arg)
			l->prep[i].dead = true;
}

static void
loop_compact(struct loop *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nw; i++)
		if (!l->w[i].dead)
			l->w[j++] = l->w[i];
	l->nw = j;
	j = 0;
	for (size_t i = 0; i < l->nprep; i++)
		if (!l->prep[i].dead)
			l->prep[j++] = l->prep[i];
	l->nprep = j;
}

/* Run due timers; returns how many ran. A timer callback may add or cancel
 * timers. */
static int
loop_run_timers(struct loop *l)
{
	int64_t now = util_now_ms();
	int ran = 0;

	while (l->timers != NULL && l->timers->due <= now) {
		struct loop_timer *t = l->timers;

		l->timers = t->next;
		t->cb(t->arg);
		free(t);
		ran++;
	}
	return ran;
}

void
loop_run_once(struct loop *l, int max_ms)
{
	int timeout = max_ms;
	size_t n;
	unsigned runs;
	int rc;

	l->runs++;
	/* A timer may finish what the caller waits for: then only look at the
	 * fds, never sleep, so loop_run_until can see it. */
	if (loop_run_timers(l) > 0)
		timeout = 0;
	for (size_t i = 0; i < l->nprep; i++) {
		int want;

		if (l->prep[i].dead)
			continue;
		want = l->prep[i].cb(l->prep[i].arg);
		if (want >= 0 && (timeout < 0 || want < timeout))
			timeout = want;
	}
	if (l->timers != NULL) {
		int64_t wait = l->timers->due - util_now_ms();

		if (wait < 0)
			wait = 0;
		if (timeout < 0 || wait < timeout)
			timeout = (int)wait;
	}
	loop_compact(l);
	n = l->nw;
	for (size_t i = 0; i < n; i++) {
		l->pfd[i].fd = l->w[i].fd;
		l->pfd[i].events = (short)(((l->w[i].events & LOOP_READ) ? POLLIN : 0) |
		    ((l->w[i].events & LOOP_WRITE) ? POLLOUT : 0));
		l->pfd[i].revents = 0;
	}
	rc = poll(l->pfd, n, timeout);
	if (rc < 0) {
		if (errno != EINTR)
			fatal("poll: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n && rc > 0; i++) {
		short re = l->pfd[i].revents;
		int ev = 0;

		if (re == 0)
			continue;
		rc--;
		if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			ev |= LOOP_READ;
		if (re & (POLLOUT | POLLERR))
			ev |= LOOP_WRITE;
		/* The watch may have been removed (or its fd reused) by an
		 * earlier callback in this round. */
		if (l->w[i].dead || l->w[i].fd != l->pfd[i].fd)
			continue;
		if (re & POLLNVAL) {
			l->w[i].dead = true;
			continue;
		}
		runs = l->runs;
		l->w[i].cb(l->w[i].fd, ev, l->w[i].arg);
		/* The callback ran the loop itself (a command waiting for the
		 * backend): that run polled afresh and reused the arrays, so
		 * what this round saw is stale. Poll again instead. */
		if (l->runs != runs)
			return;
	}
	loop_run_timers(l);
}

void
loop_run_until(struct loop *l, const bool *done)
{
	while (!*done)
		loop_run_once(l, -1);
}
