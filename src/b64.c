/*
 * b64.c: base64 encoding (RFC 4648 section 4, padded), three bytes to four
 * characters; a last group of one or two bytes ends in "==" or "=".
 */
#include "b64.h"

#include <stdint.h>
#include <string.h>

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

bool
b64_valid(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n");

	return n > 0 && s[n] == '\0';
}

const char *
b64_image_mime(const char *b64)
{
	/* the base64 of each format's magic bytes */
	if (util_prefix(b64, "iVBORw0KGgo"))
		return "image/png";
	if (util_prefix(b64, "/9j/"))
		return "image/jpeg";
	if (util_prefix(b64, "R0lGOD"))
		return "image/gif";
	if (util_prefix(b64, "UklGR"))
		return "image/webp";
	return "image/png";
}
