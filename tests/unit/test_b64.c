/*
 * test_b64.c: the base64 encoder against RFC 4648's test vectors, bytes
 * of every value, and appending to a buffer that holds something already.
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "tcase.h"

static void
test_rfc4648(void **state)
{
	static const char *const v[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *s = b64_encode(v[i][0], strlen(v[i][0]));

		assert_string_equal(s, v[i][1]);
		free(s);
	}
}

static void
test_all_bytes(void **state)
{
	unsigned char bytes[3] = { 0xff, 0x00, 0xfe };
	struct buf b = { 0 };
	char *s;

	(void)state;
	s = b64_encode(bytes, 3);
	assert_string_equal(s, "/wD+");
	free(s);
	buf_puts(&b, "\033]52;c;");
	b64_append(&b, "hi", 2);
	assert_string_equal(b.data, "\033]52;c;aGk=");
	buf_free(&b);
}

static void
test_checks(void **state)
{
	(void)state;
	assert_true(b64_valid("aGVsbG8="));
	assert_true(b64_valid("aGVs\r\nbG8="));
	assert_false(b64_valid(""));
	assert_false(b64_valid("not base64!"));
	assert_false(b64_valid("aGVsbG8=\x01"));
	assert_string_equal(b64_image_mime("iVBORw0KGgoAAA=="), "image/png");
	assert_string_equal(b64_image_mime("/9j/4AAQ"), "image/jpeg");
	assert_string_equal(b64_image_mime("R0lGODlh"), "image/gif");
	assert_string_equal(b64_image_mime("UklGRiQAAABXRUJQ"), "image/webp");
	assert_string_equal(b64_image_mime("AAAA"), "image/png");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_all_bytes),
		cmocka_unit_test(test_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
