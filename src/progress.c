/*
 * progress.c: download progress as the faces show it (parley pull, the
 * TUI's pull view, the REPL's /pull). The speed is taken over a small ring
 * of recent (time, bytes) samples, so it follows the current rate rather
 * than the average since the start.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
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

void
progress_line(struct buf *b, const char *digest, int64_t total, const struct progress_rate *r, int barw)
{
	char done[32], whole[32], speed[40] = "", eta[32] = "";
	double sp = progress_speed(r);
	int64_t completed = r->completed;
	int pct = total > 0 ? (int)(100.0 * (double)completed / (double)total) : 0;
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
	int fill;

	if (pct > 100)
		pct = 100;
	if (pct < 0)
		pct = 0;
	fill = barw * pct / 100;
	progress_size(done, sizeof done, completed);
	progress_size(whole, sizeof whole, total);
	if (sp > 0 && completed < total) {
		progress_size(speed, sizeof speed - 2, (int64_t)sp);
		strcat(speed, "/s");
		progress_eta(eta, sizeof eta, total - completed, sp);
	}
	buf_printf(b, "%.12s: %3d%% ", hex, pct);
	for (int i = 0; i < barw; i++)
		buf_puts(b, i < fill ? "\xe2\x96\x88" : "\xe2\x96\x91");
	buf_printf(b, " %9s/%-9s %10s %7s", done, whole, speed, eta);
}
