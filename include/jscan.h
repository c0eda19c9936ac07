/* jscan.h: a strict JSON scanner that finds members without building a tree. */
#ifndef PARLEY_JSCAN_H
#define PARLEY_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

enum jscan_type {
	JSCAN_ABSENT = 0,
	JSCAN_NULL,
	JSCAN_FALSE,
	JSCAN_TRUE,
	JSCAN_NUMBER,
	JSCAN_STRING,
	JSCAN_OBJECT,
	JSCAN_ARRAY
};

/* A value inside the scanned text: its type and its bytes (a string's
 * with the quotes). */
struct jscan_val {
	enum jscan_type type;
	const char *p;
	size_t len;
};

/*
 * Scan text[0..len), which must be one JSON object and nothing else but
 * white space, checking all of it, and fill out[i] with the member named
 * keys[i] (the last one if a name repeats; JSCAN_ABSENT if none). Returns
 * false when the text is not an object, is not valid JSON, or is JSON that
 * the scanner leaves to a full parser (surrogate or NUL escapes, escaped
 * member names, very long numbers, deep nesting, bytes that are not UTF-8):
 * a false answer means "parse it properly", never "it is broken".
 */
bool jscan_object(const char *text, size_t len, const char *const *keys, size_t nkeys,
    struct jscan_val *out);

/* True if the member was absent or null. */
bool jscan_unset(const struct jscan_val *v);

/* The first element of an array value found by jscan_object. */
bool jscan_first(const struct jscan_val *array, struct jscan_val *out);

/* A string value unescaped into out[0..size) and NUL-terminated; its
 * length, or -1 if it does not fit (or is not a string). */
long jscan_string(const struct jscan_val *v, char *out, size_t size);

#endif
