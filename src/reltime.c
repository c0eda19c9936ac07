/*
 * reltime.c: "5m ago" and "3 days ago". A time in the future (a model that
 * unloads later, a clock that jumped) reads "in ..." in the long style and
 * "just now" in the short one, where only the past makes sense.
 */
#include "reltime.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static void
reltime_short(char *out, size_t len, int64_t when, int64_t ago)
{
	time_t t = (time_t)(when / 1000);
	struct tm tm;

	if (ago < 60)
		snprintf(out, len, "just now");
	else if (ago < 3600)
		snprintf(out, len, "%lldm ago", (long long)(ago / 60));
	else if (ago < 86400)
		snprintf(out, len, "%lldh ago", (long long)(ago / 3600));
	else if (ago < 7 * 86400)
		snprintf(out, len, "%lldd ago", (long long)(ago / 86400));
	else if (localtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d", &tm) == 0)
		snprintf(out, len, "?");
}

static void
reltime_long(char *out, size_t len, int64_t d, bool future)
{
	static const struct {
		int64_t secs;
		const char *unit;
	} steps[] = { { 86400 * 365, "year" }, { 86400 * 30, "month" }, { 86400 * 7, "week" }, { 86400, "day" },
		{ 3600, "hour" }, { 60, "minute" }, { 1, "second" } };

	if (d < 5) {
		snprintf(out, len, future ? "now" : "just now");
		return;
	}
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		long long n = (long long)(d / steps[i].secs);

		if (n == 0)
			continue;
		snprintf(out, len, future ? "in %lld %s%s" : "%lld %s%s ago", n, steps[i].unit, n == 1 ? "" : "s");
		return;
	}
}

void
reltime(char *out, size_t len, int64_t when, int64_t now, enum reltime_style style)
{
	int64_t ago = (now - when) / 1000;

	if (len == 0)
		return;
	if (when == 0) {
		snprintf(out, len, "-");
		return;
	}
	if (style == RELTIME_LONG)
		reltime_long(out, len, ago < 0 ? -ago : ago, ago < 0);
	else
		reltime_short(out, len, when, ago < 0 ? 0 : ago);
}
