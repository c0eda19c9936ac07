/*
 * ptyrun.c: runs an interactive command on a pseudo-terminal of a fixed
 * size and times how it comes up, for the start-up and memory benchmarks.
 *
 *   ptyrun [-c COLS] [-r ROWS] [-w TEXT] [-q QUIET_MS] [-k KEYS]
 *          [-t TIMEOUT_MS] CMD [ARG...]
 *
 * Everything the command writes is read at once (so it never blocks on a
 * full terminal) and thrown away. "Ready" is the moment TEXT has appeared
 * in the output (-w), or, without -w, the end of the first burst: the last
 * byte before QUIET_MS (default 100) without output, i.e. the first screen
 * painted. Once the command is then quiet for QUIET_MS, its resident
 * memory and CPU time are read from /proc. Then KEYS are typed (e.g. Ctrl-D to leave) and the
 * command gets TIMEOUT_MS (default 10000) to exit before SIGTERM. One JSON
 * object goes to stdout:
 *
 *   {"first_ms":..,"ready_ms":..,"rss_kb":..,"hwm_kb":..,"cpu_s":..,
 *    "bytes":..,"status":..}
 *
 * Times are from just before fork. ready_ms is -1 if the command never got
 * ready; the exit status is then 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct run {
	pid_t pid;
	int fd;
	double t0;
	double first; /* ms; -1 until the first byte */
	double last; /* ms of the latest read */
	double ready;
	const char *want;
	size_t want_len;
	char *tail; /* the last want_len - 1 bytes, to match across reads */
	size_t tail_len;
	long long bytes;
	bool eof;
};

static double
now_ms(const struct run *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6 - (r ? r->t0 : 0);
}

/* One line of /proc/PID/status, in kB; -1 if absent. */
static long
proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* utime + stime of PID in seconds; -1 if it is gone. */
static double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces; fields resume after its ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
run_match(struct run *r, const char *buf, size_t n)
{
	size_t keep;
	char *cat;

	if (r->want == NULL || r->ready >= 0)
		return;
	cat = malloc(r->tail_len + n + 1);
	if (cat == NULL)
		abort();
	memcpy(cat, r->tail, r->tail_len);
	memcpy(cat + r->tail_len, buf, n);
	if (memmem(cat, r->tail_len + n, r->want, r->want_len) != NULL)
		r->ready = r->last;
	keep = r->tail_len + n < r->want_len - 1 ? r->tail_len + n : r->want_len - 1;
	memcpy(r->tail, cat + r->tail_len + n - keep, keep);
	r->tail_len = keep;
	free(cat);
}

/* Read what is there, waiting at most wait_ms; false once the pty is done. */
static bool
run_read(struct run *r, int wait_ms)
{
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	char buf[65536];
	ssize_t n;

	if (r->eof)
		return false;
	if (poll(&pfd, 1, wait_ms) <= 0)
		return true;
	n = read(r->fd, buf, sizeof buf);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0) {
		r->eof = true; /* EIO: the command closed the terminal */
		return false;
	}
	r->last = now_ms(r);
	if (r->first < 0)
		r->first = r->last;
	r->bytes += n;
	run_match(r, buf, (size_t)n);
	return true;
}

/* Decode \xHH, \n, \r, \t and \\ in KEYS. */
static size_t
unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == 'x' && s[2] != '\0' && s[3] != '\0') {
			char hex[3] = { s[2], s[3], '\0' };

			out[n++] = (char)strtol(hex, NULL, 16);
			s += 4;
		} else if (s[0] == '\\' && s[1] != '\0') {
			out[n++] = s[1] == 'n' ? '\n' : s[1] == 'r' ? '\r'
			    : s[1] == 't'                           ? '\t'
			                                            : s[1];
			s += 2;
		} else
			out[n++] = *s++;
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct winsize ws = { 40, 120, 0, 0 };
	struct run r = { 0 };
	const char *keys = NULL;
	int opt, status = -1, quiet = 100, timeout = 10000;
	long rss = -1, hwm = -1;
	double cpu = -1, end;
	pid_t w;

	while ((opt = getopt(argc, argv, "+c:r:w:q:k:t:")) != -1) {
		switch (opt) {
		case 'c':
			ws.ws_col = (unsigned short)atoi(optarg);
			break;
		case 'r':
			ws.ws_row = (unsigned short)atoi(optarg);
			break;
		case 'w':
			r.want = optarg;
			break;
		case 'q':
			quiet = atoi(optarg);
			break;
		case 'k':
			keys = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			fputs("usage: ptyrun [-c COLS] [-r ROWS] [-w TEXT] [-q QUIET_MS] [-k KEYS] [-t TIMEOUT_MS] CMD [ARG...]\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("ptyrun: no command\n", stderr);
		return 2;
	}
	if (r.want != NULL && *r.want == '\0')
		r.want = NULL;
	r.want_len = r.want ? strlen(r.want) : 0;
	r.tail = malloc(r.want_len + 1);
	r.first = r.ready = -1;
	r.t0 = now_ms(NULL);
	r.pid = forkpty(&r.fd, NULL, NULL, &ws);
	if (r.pid < 0) {
		perror("ptyrun: forkpty");
		return 1;
	}
	if (r.pid == 0) {
		setenv("TERM", getenv("PTYRUN_TERM") ? getenv("PTYRUN_TERM") : "xterm-256color", 1);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "ptyrun: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}

	/* until ready, or the deadline */
	while (r.ready < 0 && now_ms(&r) < timeout) {
		if (!run_read(&r, 10))
			break;
		if (r.want == NULL && r.first >= 0 && now_ms(&r) - r.last >= quiet)
			r.ready = r.last;
	}
	/* let it settle: sample once it has been quiet for QUIET_MS */
	while (r.ready >= 0 && now_ms(&r) - r.last < quiet && run_read(&r, 10))
		;
	if (r.ready >= 0) {
		rss = proc_status_kb(r.pid, "VmRSS");
		hwm = proc_status_kb(r.pid, "VmHWM");
		cpu = proc_cpu_s(r.pid);
	}
	if (keys != NULL && r.ready >= 0) {
		char *k = malloc(strlen(keys) + 1);
		size_t n = unescape(keys, k);

		if (write(r.fd, k, n) != (ssize_t)n)
			perror("ptyrun: write");
		free(k);
	}

	/* drain until it exits; then stop it if it will not */
	end = now_ms(&r) + (keys != NULL ? timeout : 0);
	while ((w = waitpid(r.pid, &status, WNOHANG)) == 0 && now_ms(&r) < end)
		run_read(&r, 10);
	if (w == 0) {
		kill(r.pid, SIGTERM);
		for (int i = 0; i < 100 && (w = waitpid(r.pid, &status, WNOHANG)) == 0; i++)
			run_read(&r, 10);
		if (w == 0) {
			kill(r.pid, SIGKILL);
			waitpid(r.pid, &status, 0);
		}
	}
	close(r.fd);
	printf("{\"first_ms\":%.3f,\"ready_ms\":%.3f,\"rss_kb\":%ld,\"hwm_kb\":%ld,\"cpu_s\":%.3f,"
	       "\"bytes\":%lld,\"status\":%d}\n",
	    r.first, r.ready, rss, hwm, cpu, r.bytes,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	free(r.tail);
	return r.ready >= 0 ? 0 : 1;
}
