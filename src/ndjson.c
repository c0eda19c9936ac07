/*
 * ndjson.c: splits Ollama's newline-delimited JSON stream into lines
 * (protocols.md 6.2). Network reads are cut anywhere, so a line may arrive in
 * pieces; the framer keeps only the unfinished tail of the stream in one
 * growable buffer (pend) and hands out every complete line.
 *
 * A line that lies wholly inside the fed chunk is still copied once into the
 * same scratch buffer, because callers are promised a NUL-terminated line and
 * the chunk is const; the buffer is reused, so steady state allocates nothing.
 * Lines are found with memchr, never byte by byte. The cap is checked before
 * bytes are buffered, so a server that never sends '\n' cannot make us grow
 * past max_line.
 */
#include "ndjson.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct ndjson {
	char *pend; /* pending bytes of an unfinished line, then scratch */
	size_t len; /* bytes of the unfinished line held in pend */
	size_t cap; /* allocated size of pend */
	size_t max; /* longest line accepted, excluding the '\n' */
	bool broken; /* a line went over the cap: stream unusable */
};

struct ndjson *
ndjson_new(size_t max_line)
{
	struct ndjson *n = xcalloc(1, sizeof *n);

	n->max = max_line ? max_line : NDJSON_DEFAULT_CAP;
	return n;
}

void
ndjson_free(struct ndjson *n)
{
	if (n == NULL)
		return;
	free(n->pend);
	free(n);
}

/* Make room for need bytes plus a NUL; need never exceeds max + 1. */
static void
ndjson_reserve(struct ndjson *n, size_t need)
{
	size_t cap;

	if (need + 1 <= n->cap)
		return;
	cap = n->cap ? n->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	n->pend = xrealloc(n->pend, cap);
	n->cap = cap;
}

/* Would adding p[0..take) to the pending line pass the cap? One byte over
 * is allowed while it is a '\r', which the line end will strip. */
static bool
ndjson_over(const struct ndjson *n, const char *p, size_t take)
{
	size_t total = n->len + take;
	char last;

	if (total <= n->max)
		return false;
	if (total > n->max + 1)
		return true;
	last = take > 0 ? p[take - 1] : n->pend[n->len - 1];
	return last != '\r';
}

/* Deliver pend[0..len) as a line: drop trailing '\r's, skip empties. */
static int
ndjson_emit(struct ndjson *n, size_t len, ndjson_line_cb cb, void *arg)
{
	while (len > 0 && n->pend[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	n->pend[len] = '\0';
	return cb(n->pend, len, arg);
}

int
ndjson_feed(struct ndjson *n, const char *data, size_t len, ndjson_line_cb cb, void *arg)
{
	const char *p = data, *end = data + len;
	int rc;

	if (n->broken)
		return NDJSON_TOO_LONG;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (ndjson_over(n, p, take)) {
			n->broken = true;
			n->len = 0;
			return NDJSON_TOO_LONG;
		}
		ndjson_reserve(n, n->len + take);
		memcpy(n->pend + n->len, p, take);
		if (nl == NULL) {
			n->len += take;
			break;
		}
		take += n->len;
		n->len = 0;
		p = nl + 1;
		if ((rc = ndjson_emit(n, take, cb, arg)) != 0)
			return rc;
	}
	return 0;
}

int
ndjson_finish(struct ndjson *n, ndjson_line_cb cb, void *arg)
{
	size_t len = n->len;

	if (n->broken)
		return NDJSON_TOO_LONG;
	n->len = 0;
	if (len == 0)
		return 0;
	return ndjson_emit(n, len, cb, arg);
}
