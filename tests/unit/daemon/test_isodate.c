/* Unit tests for daemon/core/isodate.c: ISO 8601 days and times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "isodate.h"

static void test_isodate(void **state)
{
	int64_t t;
	char day[ISODATE_DAY_LEN + 1], tm[ISODATE_TIME_LEN + 1];
	assert_int_equal(isodate_parse_day("2025-07-04", &t), 0);
	assert_int_equal(t, 1751587200);
	isodate_format_day(t + 86399, day);
	assert_string_equal(day, "2025-07-04");
	assert_int_equal(isodate_day_start(t + 86399), t);
	assert_int_equal(isodate_parse_day("2024-02-29", &t), 0); /* leap year */
	assert_int_equal(isodate_parse_day("2025-02-29", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-04-31", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-7-4", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-07-04x", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("1969-12-31", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day(NULL, &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10:30", &t), 0);
	assert_int_equal(t, 1751587200 + 10 * 3600 + 30 * 60);
	assert_int_equal(isodate_parse_time("2025-07-04T10:30:15Z", &t), 0);
	isodate_format_time(t, tm);
	assert_string_equal(tm, "2025-07-04T10:30:15Z");
	assert_int_equal(isodate_parse_time("2025-07-04", &t), 0);
	assert_int_equal(isodate_parse_time("2025-07-04T24:00", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10:61", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10", &t), AP_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_isodate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
