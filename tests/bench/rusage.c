/*
 * rusage.c: runs a command and appends what it cost to a file, one line:
 *
 *   cpu_s user_s sys_s wall_s maxrss_kb status
 *
 * cpu is user + sys of the command (and of any children it waited for),
 * from wait4(), so a server running beside it is never counted. wall is
 * from just before fork to the child's exit, on the monotonic clock. The
 * command's stdin, stdout and stderr are this program's; the caller
 * redirects them.
 *
 *   rusage RESULT_FILE CMD [ARG...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	double t0, wall;
	int status, code;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fputs("usage: rusage RESULT_FILE CMD [ARG...]\n", stderr);
		return 2;
	}
	t0 = now_s();
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: cannot run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 1;
		}
	}
	wall = now_s() - t0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if ((f = fopen(argv[1], "a")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "%.6f %.6f %.6f %.6f %ld %d\n", tv_s(ru.ru_utime) + tv_s(ru.ru_stime),
	    tv_s(ru.ru_utime), tv_s(ru.ru_stime), wall, ru.ru_maxrss, code);
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	return code;
}
