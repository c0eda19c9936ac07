/* reltime.h: how long ago something happened, the one way every face says
 * it (session lists, branches, model lists). */
#ifndef PARLEY_RELTIME_H
#define PARLEY_RELTIME_H

#include <stddef.h>
#include <stdint.h>

enum reltime_style {
	/* "just now", "5m ago", "3h ago", "2d ago", then the local date
	 * ("2026-11-28") from a week on: for columns */
	RELTIME_SHORT,
	/* "just now", "5 minutes ago", "3 weeks ago", "in 4 minutes", in whole
	 * units of seconds up to years: for prose */
	RELTIME_LONG,
};

/* Write when (unix ms) relative to now (unix ms) into out; 0 = unknown
 * ("-"). */
void reltime(char *out, size_t len, int64_t when, int64_t now, enum reltime_style style);

#endif
