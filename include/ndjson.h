/* ndjson.h: splits a byte stream into lines (Ollama's NDJSON framing,
 * protocols.md 6.2). Pure: bytes in, lines out, no I/O. */
#ifndef PARLEY_NDJSON_H
#define PARLEY_NDJSON_H

#include <stddef.h>

#define NDJSON_DEFAULT_CAP (8u << 20) /* 8 MiB, as the official client */

struct ndjson;

/* line is NUL-terminated at line[len], has no '\n' and no trailing '\r', and
 * is never empty. Return nonzero to stop feeding (that value is returned). */
typedef int (*ndjson_line_cb)(const char *line, size_t len, void *arg);

struct ndjson *ndjson_new(size_t max_line);
void ndjson_free(struct ndjson *n);

/* 0, the callback's nonzero value, or NDJSON_TOO_LONG when a line exceeds
 * the cap (the stream is then unusable). */
#define NDJSON_TOO_LONG (-1000)
int ndjson_feed(struct ndjson *n, const char *data, size_t len, ndjson_line_cb cb, void *arg);
/* End of stream: delivers a non-empty unterminated last line. */
int ndjson_finish(struct ndjson *n, ndjson_line_cb cb, void *arg);

#endif
