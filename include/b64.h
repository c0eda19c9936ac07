/* b64.h: base64 (RFC 4648, with padding), the one encoder every face uses
 * (image attachments, OSC 52 copies), and the checks the listener makes of
 * the base64 images clients send. */
#ifndef PARLEY_B64_H
#define PARLEY_B64_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Append the base64 of p[0..n) to b. */
void b64_append(struct buf *b, const void *p, size_t n);
/* The base64 of p[0..n), allocated. */
char *b64_encode(const void *p, size_t n);
/* Whether s is base64 text (line breaks allowed), not empty. */
bool b64_valid(const char *s);
/* The image type base64 text starts like (PNG, JPEG, GIF, WebP); PNG when
 * it is none of them, as vision backends assume. */
const char *b64_image_mime(const char *b64);

#endif
