/*
 * b64.c: base64 encoding (RFC 4648 section 4, padded), three bytes to four
 * characters; a last group of one or two bytes ends in "==" or "=".
 */
#include "b64.h"

#include <stdint.h>

#include "util.h"

void
b64_append(struct buf *b, const void *p, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);

		buf_putc(b, tbl[v >> 18 & 63]);
		buf_putc(b, tbl[v >> 12 & 63]);
		buf_putc(b, i + 1 < n ? tbl[v >> 6 & 63] : '=');
		buf_putc(b, i + 2 < n ? tbl[v & 63] : '=');
	}
}

char *
b64_encode(const void *p, size_t n)
{
	struct buf b = { 0 };

	b64_append(&b, p, n);
	return b.data ? buf_steal(&b) : xstrdup("");
}
