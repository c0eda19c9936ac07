/*
 * fuzz_jscan.c: the token path's JSON scanner against Jansson. Whenever
 * jscan_object accepts a text, Jansson must read it as an object, and every
 * member jscan reports must be the same member with the same type (and, for
 * strings, the same unescaped bytes). jscan may decline anything; it may
 * never disagree.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_member(const struct jscan_val *v, json_t *j)
{
	static char buf[1 << 16];
	long n;

	if (v->type == JSCAN_ABSENT) {
		if (j != NULL)
			abort();
		return;
	}
	if (j == NULL)
		abort();
	switch (v->type) {
	case JSCAN_NULL:
		if (!json_is_null(j))
			abort();
		break;
	case JSCAN_FALSE:
		if (!json_is_false(j))
			abort();
		break;
	case JSCAN_TRUE:
		if (!json_is_true(j))
			abort();
		break;
	case JSCAN_NUMBER:
		if (!json_is_number(j))
			abort();
		break;
	case JSCAN_OBJECT:
		if (!json_is_object(j))
			abort();
		break;
	case JSCAN_ARRAY:
		if (!json_is_array(j))
			abort();
		break;
	case JSCAN_STRING:
		if (!json_is_string(j))
			abort();
		n = jscan_string(v, buf, sizeof buf);
		if (n >= 0 && ((size_t)n != json_string_length(j) || memcmp(buf, json_string_value(j), (size_t)n) != 0))
			abort();
		break;
	case JSCAN_ABSENT:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "message", "content", "done", "error", "choices", "delta",
		"thinking", "reasoning_content", "usage", "" };
	struct jscan_val out[sizeof keys / sizeof keys[0]];
	json_t *doc;

	if (!jscan_object((const char *)data, size, keys, sizeof keys / sizeof keys[0], out))
		return 0;
	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(doc))
		abort();
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		check_member(&out[i], json_object_get(doc, keys[i]));
	json_decref(doc);
	return 0;
}
