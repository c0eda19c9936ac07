/* progress.h: what every face shows of a download: sizes in decimal units,
 * the speed over recent samples, and the time left. */
#ifndef PARLEY_PROGRESS_H
#define PARLEY_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define PROGRESS_WINDOW 32 /* about 2 s of Ollama's 60 ms updates */

struct progress_rate {
	int64_t completed;
	int64_t t[PROGRESS_WINDOW], bytes[PROGRESS_WINDOW]; /* ring: ms, bytes */
	int n, head;
};

/* "2.0 GB", as Ollama prints sizes; "-" for 0 or less. */
void progress_size(char *out, size_t len, int64_t bytes);
/* Record that completed bytes are done now; progress that goes back (a
 * restarted download) starts the window afresh. */
void progress_sample(struct progress_rate *r, int64_t completed);
/* Bytes per second over the window; 0 until there are two samples. */
double progress_speed(const struct progress_rate *r);
/* "1m20s", "2h05m", "12s" for what is left at speed; "" when unknown. */
void progress_eta(char *out, size_t len, int64_t left, double speed);

struct buf;
/* One layer's row: "dde5aa3fc5ff: 45% █████░░░░░  900.0 MB/2.0 GB  12.0 MB/s  1m20s"
 * with a bar barw cells wide, appended to b. */
void progress_line(struct buf *b, const char *digest, int64_t total, const struct progress_rate *r, int barw);

#endif
