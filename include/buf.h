/* buf.h: a growable byte buffer, always NUL-terminated. */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stddef.h>

#include "util.h"

struct buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len;
	size_t cap;
};

void buf_append(struct buf *b, const void *p, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_fill(struct buf *b, char c, size_t n); /* n copies of c */
void buf_printf(struct buf *b, const char *fmt, ...) PRINTFLIKE(2, 3);
void buf_consume(struct buf *b, size_t n); /* drop the first n bytes */
void buf_reset(struct buf *b); /* len = 0, keeps memory */
void buf_free(struct buf *b);
char *buf_steal(struct buf *b); /* caller owns; b is emptied */

#endif
