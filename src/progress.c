/*
 * progress.c: download progress as the faces show it (parley pull, the
 * TUI's pull view, the REPL's /pull). The speed is taken over a small ring
 * of recent (time, bytes) samples, so it follows the current rate rather
 * than the average since the start.
 */
#include "progress.h"

#include <stdio.h>

#include "util.h"

void
progress_size(char *out, size_t len, int64_t bytes)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;

	if (bytes <= 0) {
		snprintf(out, len, "-");
		return;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

void
progress_sample(struct progress_rate *r, int64_t completed)
{
	if (completed < r->completed)
		r->n = r->head = 0;
	r->completed = completed;
	r->t[r->head] = util_now_ms();
	r->bytes[r->head] = completed;
	r->head = (r->head + 1) % PROGRESS_WINDOW;
	if (r->n < PROGRESS_WINDOW)
		r->n++;
}

double
progress_speed(const struct progress_rate *r)
{
	int newest, oldest;

	if (r->n < 2)
		return 0;
	newest = (r->head + PROGRESS_WINDOW - 1) % PROGRESS_WINDOW;
	oldest = r->n < PROGRESS_WINDOW ? 0 : r->head;
	if (r->t[newest] <= r->t[oldest])
		return 0;
	return (double)(r->bytes[newest] - r->bytes[oldest]) * 1000.0 / (double)(r->t[newest] - r->t[oldest]);
}

void
progress_eta(char *out, size_t len, int64_t left, double speed)
{
	long secs;

	if (speed <= 0 || left <= 0) {
		snprintf(out, len, "%s", "");
		return;
	}
	secs = (long)((double)left / speed);
	if (secs >= 3600)
		snprintf(out, len, "%ldh%02ldm", secs / 3600, secs % 3600 / 60);
	else if (secs >= 60)
		snprintf(out, len, "%ldm%02lds", secs / 60, secs % 60);
	else
		snprintf(out, len, "%lds", secs);
}
