/* Unit tests for daemon/core/schoolyear.c: the school year of a day, the
 * summer deposit period.  Days come from isodate_parse_day(), so the tests
 * hold whatever zone isodate counts days in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ap_err.h"
#include "isodate.h"
#include "schoolyear.h"

static int64_t day(const char *s)
{
	int64_t t = 0;
	assert_int_equal(isodate_parse_day(s, &t), 0);
	return t;
}

static void test_school_year(void **state)
{
	assert_int_equal(schoolyear_of(day("2026-09-01")), 2026);
	assert_int_equal(schoolyear_of(day("2026-09-01") + 60), 2026);
	assert_int_equal(schoolyear_of(day("2026-09-01") - 60), 2025); /* Aug 31st, late */
	assert_int_equal(schoolyear_of(day("2026-08-31")), 2025);
	assert_int_equal(schoolyear_of(day("2026-12-31") + 86399), 2026);
	assert_int_equal(schoolyear_of(day("2027-01-01")), 2026);
	assert_int_equal(schoolyear_of(day("2027-06-30")), 2026);
	assert_true(schoolyear_holds(2026, day("2027-03-01")));
	assert_false(schoolyear_holds(2026, day("2027-09-02")));
}

static void test_span(void **state)
{
	const char *why = NULL;
	assert_int_equal(schoolyear_span_check("07-05..08-31", &why), 0);
	assert_int_equal(schoolyear_span_check("", &why), 0);
	assert_int_equal(schoolyear_span_check("02-29..03-01", &why), 0);
	assert_int_equal(schoolyear_span_check("13-01..08-31", &why), AP_EPARSE);
	assert_non_null(why);
	assert_int_equal(schoolyear_span_check("02-30..03-01", &why), AP_EPARSE);
	assert_int_equal(schoolyear_span_check("08-31..07-05", &why), AP_EPARSE);
	assert_int_equal(schoolyear_span_check("7-05..08-31", &why), AP_EPARSE);
	assert_int_equal(schoolyear_span_check("07-05..08-31x", &why), AP_EPARSE);
	assert_int_equal(schoolyear_span_check("07-05--08-31", &why), AP_EPARSE);
	assert_int_equal(schoolyear_span_check("+7-05..08-31", &why), AP_EPARSE);

	const char *summer = "07-05..08-31";
	assert_false(schoolyear_in_span(summer, day("2027-07-04") + 86399));
	assert_true(schoolyear_in_span(summer, day("2027-07-05")));
	assert_true(schoolyear_in_span(summer, day("2027-08-31") + 86399));
	assert_false(schoolyear_in_span(summer, day("2027-09-01")));
	assert_false(schoolyear_in_span(summer, day("2026-12-02")));
	assert_false(schoolyear_in_span("", day("2027-07-10")));
	/* 02-29 exists only in leap years */
	assert_true(schoolyear_in_span("02-29..02-29", day("2028-02-29")));
	assert_false(schoolyear_in_span("02-29..02-29", day("2027-03-01")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_school_year),
	    cmocka_unit_test(test_span),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
