/* b64.h: base64 (RFC 4648, with padding), the one encoder every face uses:
 * image attachments, OSC 52 copies. */
#ifndef PARLEY_B64_H
#define PARLEY_B64_H

#include <stddef.h>

#include "buf.h"

/* Append the base64 of p[0..n) to b. */
void b64_append(struct buf *b, const void *p, size_t n);
/* The base64 of p[0..n), allocated. */
char *b64_encode(const void *p, size_t n);

#endif
