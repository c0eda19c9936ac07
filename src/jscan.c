/*
 * jscan.c: a strict JSON scanner for the token path. A streamed reply is
 * one small JSON object per token; building a Jansson tree for each (a hash
 * table per object, a malloc per member) cost most of a client's CPU. This
 * scanner walks the text once, checks every byte of it against the JSON
 * grammar, and only remembers where the members asked for are: values are
 * spans of the caller's text, nothing is allocated.
 *
 * It is a fast path, not a second parser: whatever it is not sure to read
 * exactly as Jansson would (surrogate or NUL \u escapes, escaped member
 * names, long numbers, deep nesting, bytes that are not UTF-8) makes it
 * answer false, and the caller then parses the text with Jansson, which
 * also reports what is broken.
 */
#include "jscan.h"

#include <string.h>

#include "util.h"

#define JSCAN_MAX_DEPTH 64
#define JSCAN_MAX_NUMBER 15 /* digits and signs; fits a double or int64 */

struct jscan {
	const char *p;
	const char *end;
	int depth;
};

static bool jscan_value(struct jscan *s, struct jscan_val *v);

static void
jscan_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* \uXXXX at p (after the backslash and 'u'); -1 if not four hex digits. */
static long
jscan_u4(const char *p, const char *end)
{
	long cp = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = util_hexval(p[i]);

		if (h < 0)
			return -1;
		cp = cp * 16 + h;
	}
	return cp;
}

/* A string at s->p (on its opening quote); escaped says a '\' was seen. */
static bool
jscan_str(struct jscan *s, bool *escaped)
{
	const char *p = s->p + 1;

	*escaped = false;
	while (p < s->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			s->p = p + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			p++;
			continue;
		}
		*escaped = true;
		if (++p >= s->end)
			return false;
		if (*p == 'u') {
			long cp = jscan_u4(p + 1, s->end);

			/* NUL and surrogates: Jansson's call */
			if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return false;
			p += 5;
		} else if (strchr("\"\\/bfnrt", *p) != NULL && *p != '\0')
			p++;
		else
			return false;
	}
	return false;
}

static bool
jscan_digits(struct jscan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static bool
jscan_number(struct jscan *s)
{
	const char *start = s->p, *exp;

	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!jscan_digits(s))
		return false;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!jscan_digits(s))
			return false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		exp = s->p;
		if (!jscan_digits(s) || s->p - exp > 2)
			return false;
	}
	return s->p - start <= JSCAN_MAX_NUMBER;
}

static bool
jscan_word(struct jscan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* Whether a member name (no escapes, so no NUL in it) is key: one pass,
 * no strlen for every member and key. */
static bool
jscan_name_is(const char *key, const char *name, size_t nlen)
{
	for (size_t i = 0; i < nlen; i++)
		if (key[i] != name[i])
			return false;
	return key[nlen] == '\0';
}

/* An object at s->p; members named in keys are stored in out. */
static bool
jscan_members(struct jscan *s, const char *const *keys, size_t nkeys, struct jscan_val *out)
{
	if (++s->depth > JSCAN_MAX_DEPTH)
		return false;
	s->p++;
	jscan_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		s->depth--;
		return true;
	}
	for (;;) {
		const char *name;
		size_t nlen;
		struct jscan_val v;
		bool escaped;

		jscan_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return false;
		name = s->p + 1;
		if (!jscan_str(s, &escaped) || escaped)
			return false;
		nlen = (size_t)(s->p - 1 - name);
		jscan_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return false;
		s->p++;
		if (!jscan_value(s, &v))
			return false;
		for (size_t i = 0; i < nkeys; i++)
			if (jscan_name_is(keys[i], name, nlen))
				out[i] = v;
		jscan_ws(s);
		if (s->p >= s->end)
			return false;
		if (*s->p == '}')
			break;
		if (*s->p++ != ',')
			return false;
	}
	s->p++;
	s->depth--;
	return true;
}

static bool
jscan_elements(struct jscan *s)
{
	struct jscan_val v;

	if (++s->depth > JSCAN_MAX_DEPTH)
		return false;
	s->p++;
	jscan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		s->depth--;
		return true;
	}
	for (;;) {
		if (!jscan_value(s, &v))
			return false;
		jscan_ws(s);
		if (s->p >= s->end)
			return false;
		if (*s->p == ']')
			break;
		if (*s->p++ != ',')
			return false;
	}
	s->p++;
	s->depth--;
	return true;
}

static bool
jscan_value(struct jscan *s, struct jscan_val *v)
{
	bool ok, escaped;

	jscan_ws(s);
	if (s->p >= s->end)
		return false;
	v->p = s->p;
	switch (*s->p) {
	case '{':
		v->type = JSCAN_OBJECT;
		ok = jscan_members(s, NULL, 0, NULL);
		break;
	case '[':
		v->type = JSCAN_ARRAY;
		ok = jscan_elements(s);
		break;
	case '"':
		v->type = JSCAN_STRING;
		ok = jscan_str(s, &escaped);
		break;
	case 't':
		v->type = JSCAN_TRUE;
		ok = jscan_word(s, "true", 4);
		break;
	case 'f':
		v->type = JSCAN_FALSE;
		ok = jscan_word(s, "false", 5);
		break;
	case 'n':
		v->type = JSCAN_NULL;
		ok = jscan_word(s, "null", 4);
		break;
	default:
		v->type = JSCAN_NUMBER;
		ok = (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && jscan_number(s);
		break;
	}
	v->len = (size_t)(s->p - v->p);
	return ok;
}

bool
jscan_object(const char *text, size_t len, const char *const *keys, size_t nkeys,
    struct jscan_val *out)
{
	struct jscan s = { text, text + len, 0 };

	memset(out, 0, nkeys * sizeof *out);
	if (!util_utf8_valid(text, len))
		return false;
	jscan_ws(&s);
	if (s.p >= s.end || *s.p != '{' || !jscan_members(&s, keys, nkeys, out))
		return false;
	jscan_ws(&s);
	return s.p == s.end;
}

bool
jscan_first(const struct jscan_val *array, struct jscan_val *out)
{
	struct jscan s;

	/* an absent member has no text to point into */
	if (array->type != JSCAN_ARRAY)
		return false;
	s.p = array->p + 1;
	s.end = array->p + array->len;
	s.depth = 0;
	jscan_ws(&s);
	if (s.p >= s.end || *s.p == ']')
		return false;
	return jscan_value(&s, out);
}

long
jscan_string(const struct jscan_val *v, char *out, size_t size)
{
	const char *p, *end;
	size_t n = 0;

	if (v->type != JSCAN_STRING || v->len < 2)
		return -1;
	p = v->p + 1;
	end = v->p + v->len - 1;
	while (p < end) {
		char c = *p++;
		long cp;

		if (c != '\\') {
			if (n + 1 >= size)
				return -1;
			out[n++] = c;
			continue;
		}
		c = *p++;
		switch (c) {
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if ((cp = jscan_u4(p, end)) <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return -1;
			p += 4;
			if (n + 4 >= size)
				return -1;
			if (cp < 0x80)
				out[n++] = (char)cp;
			else if (cp < 0x800) {
				out[n++] = (char)(0xc0 | (cp >> 6));
				out[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[n++] = (char)(0xe0 | (cp >> 12));
				out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[n++] = (char)(0x80 | (cp & 0x3f));
			}
			continue;
		default: /* '"', '\\', '/' stand for themselves */
			break;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (long)n;
}

bool
jscan_unset(const struct jscan_val *v)
{
	return v->type == JSCAN_ABSENT || v->type == JSCAN_NULL;
}
