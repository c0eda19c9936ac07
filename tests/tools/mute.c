/* mute: a server that never answers, for the tests of a backend that hangs.
 *
 *   mute PORT_FILE    listens on 127.0.0.1 (a free port, written to
 *                     PORT_FILE), accepts every connection and reads what
 *                     it is sent, and never writes a byte; runs until killed
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MUTE_MAX 64

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct pollfd fds[MUTE_MAX + 1];
	int n = 1, one = 1;
	FILE *f;
	char junk[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: mute PORT_FILE\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0].fd = socket(AF_INET, SOCK_STREAM, 0);
	fds[0].events = POLLIN;
	setsockopt(fds[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fds[0].fd < 0 || bind(fds[0].fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fds[0].fd, 16) != 0 ||
	    getsockname(fds[0].fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("mute");
		return 1;
	}
	f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		for (int i = n - 1; i > 0; i--) {
			if (fds[i].revents == 0)
				continue;
			if (read(fds[i].fd, junk, sizeof junk) <= 0) {
				close(fds[i].fd);
				fds[i] = fds[--n];
			}
		}
		if ((fds[0].revents & POLLIN) && n <= MUTE_MAX) {
			int c = accept(fds[0].fd, NULL, NULL);

			if (c >= 0) {
				fds[n].fd = c;
				fds[n].events = POLLIN;
				fds[n].revents = 0;
				n++;
			}
		}
	}
}
