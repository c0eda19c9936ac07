/* slowconn: many connections to 127.0.0.1:PORT, for the listener abuse test.
 *
 *   slowconn drip PORT N SECS MS   N connections that each send a request's
 *                                  headers one byte every MS ms, never ending
 *                                  them; after SECS prints
 *                                  "open=A closed=B answered=C" and exits
 *   slowconn full PORT N SECS      N connections that each send a complete
 *                                  GET /health at once and read the answer;
 *                                  prints "200=A 503=B other=C hung=D failed=E"
 *                                  (hung: no complete answer within SECS)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	size_t sent; /* drip: bytes of the header sent */
	int state; /* 0 connecting/working, 1 closed by the peer, 2 answered, 3 failed */
	int status; /* HTTP status seen */
	char in[512]; /* start of the answer */
	size_t got;
};

static const char drip_hdr[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ";

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
open_conn(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what is there; 1 when the peer closed or failed. */
static int
read_some(struct conn *c)
{
	char tmp[4096];
	ssize_t n;

	for (;;) {
		n = read(c->fd, tmp, sizeof tmp);
		if (n > 0) {
			size_t room = sizeof c->in - 1 - c->got;
			size_t k = (size_t)n < room ? (size_t)n : room;

			memcpy(c->in + c->got, tmp, k);
			c->got += k;
			c->in[c->got] = '\0';
			if (c->status == 0 && strncmp(c->in, "HTTP/1.", 7) == 0 && c->got >= 12)
				c->status = atoi(c->in + 9);
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		return 1;
	}
}

static int
drip(int port, int n, int secs, int ms)
{
	struct conn *c = calloc((size_t)n, sizeof *c);
	long long end = now_ms() + (long long)secs * 1000, next = 0;
	int i, open_n = 0, closed = 0, answered = 0;

	if (c == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		c[i].fd = open_conn(port);
		if (c[i].fd < 0)
			c[i].state = 3;
	}
	while (now_ms() < end) {
		if (now_ms() >= next) {
			for (i = 0; i < n; i++) {
				char b;
				size_t hl = sizeof drip_hdr - 1;

				if (c[i].state != 0)
					continue;
				b = c[i].sent < hl ? drip_hdr[c[i].sent] : 'a';
				if (write(c[i].fd, &b, 1) == 1)
					c[i].sent++;
				else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
					c[i].state = 1;
			}
			next = now_ms() + ms;
		}
		for (i = 0; i < n; i++) {
			if (c[i].state == 0 && read_some(&c[i])) {
				c[i].state = 1;
				close(c[i].fd);
			}
		}
		poll(NULL, 0, 10);
	}
	for (i = 0; i < n; i++) {
		if (c[i].state == 0) {
			open_n++;
			close(c[i].fd);
		} else if (c[i].state == 1) {
			closed++;
			if (c[i].status)
				answered++;
		}
	}
	printf("open=%d closed=%d answered=%d\n", open_n, closed, answered);
	free(c);
	return 0;
}

static int
full(int port, int n, int secs)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct conn *c = calloc((size_t)n, sizeof *c);
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	long long end = now_ms() + (long long)secs * 1000;
	int i, left = 0, ok200 = 0, s503 = 0, other = 0, hung = 0, failed = 0;

	if (c == NULL || p == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		c[i].fd = open_conn(port);
		if (c[i].fd < 0)
			c[i].state = 3;
		else
			left++;
	}
	while (left > 0 && now_ms() < end) {
		for (i = 0; i < n; i++) {
			p[i].fd = c[i].state == 0 ? c[i].fd : -1;
			p[i].events = c[i].sent < sizeof req - 1 ? POLLOUT : POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (c[i].state != 0 || p[i].revents == 0)
				continue;
			if (c[i].sent < sizeof req - 1 && (p[i].revents & POLLOUT)) {
				ssize_t w = write(c[i].fd, req + c[i].sent, sizeof req - 1 - c[i].sent);

				if (w > 0)
					c[i].sent += (size_t)w;
				else if (errno != EAGAIN && errno != EWOULDBLOCK) {
					c[i].state = 3;
					left--;
				}
				continue;
			}
			if (read_some(&c[i])) {
				c[i].state = 2;
				left--;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (c[i].state == 0)
			hung++;
		else if (c[i].state == 2 && c[i].status == 200)
			ok200++;
		else if (c[i].state == 2 && c[i].status == 503)
			s503++;
		else if (c[i].state == 2)
			other++;
		else
			failed++;
		if (c[i].fd >= 0)
			close(c[i].fd);
	}
	printf("200=%d 503=%d other=%d hung=%d failed=%d\n", ok200, s503, other, hung, failed);
	free(c);
	free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "drip") == 0)
		return drip(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "full") == 0)
		return full(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: slowconn drip PORT N SECS MS | slowconn full PORT N SECS\n");
	return 2;
}
