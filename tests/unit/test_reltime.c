/* test_reltime.c: both styles at their unit boundaries, the future, and
 * unknown times. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reltime.h"
#include "tcase.h"

#define NOW INT64_C(1800000000000)
#define SEC INT64_C(1000)

static const char *
rt(int64_t ago_s, enum reltime_style style)
{
	static char out[64];

	reltime(out, sizeof out, NOW - ago_s * SEC, NOW, style);
	return out;
}

static void
test_short(void **state)
{
	char want[32];
	time_t t = (time_t)(NOW / 1000 - 8 * 86400);
	struct tm tm;

	(void)state;
	assert_string_equal(rt(0, RELTIME_SHORT), "just now");
	assert_string_equal(rt(59, RELTIME_SHORT), "just now");
	assert_string_equal(rt(60, RELTIME_SHORT), "1m ago");
	assert_string_equal(rt(3599, RELTIME_SHORT), "59m ago");
	assert_string_equal(rt(3600, RELTIME_SHORT), "1h ago");
	assert_string_equal(rt(86399, RELTIME_SHORT), "23h ago");
	assert_string_equal(rt(86400, RELTIME_SHORT), "1d ago");
	assert_string_equal(rt(6 * 86400, RELTIME_SHORT), "6d ago");
	localtime_r(&t, &tm);
	strftime(want, sizeof want, "%Y-%m-%d", &tm);
	assert_string_equal(rt(8 * 86400, RELTIME_SHORT), want);
	assert_string_equal(rt(-300, RELTIME_SHORT), "just now");
}

static void
test_long(void **state)
{
	char out[8];

	(void)state;
	assert_string_equal(rt(2, RELTIME_LONG), "just now");
	assert_string_equal(rt(-2, RELTIME_LONG), "now");
	assert_string_equal(rt(45, RELTIME_LONG), "45 seconds ago");
	assert_string_equal(rt(60, RELTIME_LONG), "1 minute ago");
	assert_string_equal(rt(-240, RELTIME_LONG), "in 4 minutes");
	assert_string_equal(rt(3 * 86400, RELTIME_LONG), "3 days ago");
	assert_string_equal(rt(14 * 86400, RELTIME_LONG), "2 weeks ago");
	assert_string_equal(rt(400 * 86400, RELTIME_LONG), "1 year ago");
	reltime(out, sizeof out, 0, NOW, RELTIME_LONG);
	assert_string_equal(out, "-");
	/* cut to the buffer, never past it */
	reltime(out, sizeof out, NOW - 3 * 86400 * SEC, NOW, RELTIME_LONG);
	assert_string_equal(out, "3 days ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
