/* Unit tests for daemon/core/isodate.c: days and times on the local
 * calendar, Europe/Paris unless a test says otherwise. */
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

/* 2025-07-04T00:00:00Z, a UTC midnight in summer (Paris: UTC+2) */
#define JUL4_UTC 1751587200
/* 2026-12-02T00:00:00Z, in winter (Paris: UTC+1) */
#define DEC2_UTC 1796169600

static int paris(void **state)
{
	(void)state;
	return isodate_set_zone("Europe/Paris");
}

static int64_t day(const char *s)
{
	int64_t t = -1;
	assert_int_equal(isodate_parse_day(s, &t), 0);
	return t;
}

static int64_t when(const char *s)
{
	int64_t t = -1;
	assert_int_equal(isodate_parse_time(s, &t), 0);
	return t;
}

static void assert_time(int64_t t, const char *want)
{
	char s[ISODATE_TIME_LEN + 1];
	isodate_format_time(t, s);
	assert_string_equal(s, want);
}

static void assert_day(int64_t t, const char *want)
{
	char s[ISODATE_DAY_LEN + 1];
	isodate_format_day(t, s);
	assert_string_equal(s, want);
}

/* A day typed either way is the same local midnight, in winter and summer. */
static void test_days(void **state)
{
	(void)state;
	assert_int_equal(day("2026-12-02"), DEC2_UTC - 3600);
	assert_int_equal(day("02/12/2026"), DEC2_UTC - 3600);
	assert_int_equal(day("2/12/2026"), DEC2_UTC - 3600);
	assert_int_equal(day("04/07/2025"), JUL4_UTC - 7200);
	assert_int_equal(day("4/7/2025"), JUL4_UTC - 7200);
	assert_int_equal(day("29/02/2024"), day("2024-02-29")); /* leap year */
	assert_day(day("05/07/2027"), "2027-07-05");
	assert_day(day("05/07/2027") + 86399, "2027-07-05");
	assert_day(day("05/07/2027") + 86400, "2027-07-06");
}

static void test_bad_days(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "31/02/2026",  "29/02/2025", "2025-02-29",
	    "2025-04-31",  "31/04/2025", "2025-7-4",
	    "2025-07-04x", "1969-12-31", "31/12/1969",
	    "00/01/2026",  "01/13/2026", "01/00/2026",
	    "001/01/2026", "1/1/26",	 "01-01-2026",
	    "2026/01/01",  "",		 " 2026-01-01",
	    "2026-01-01 ", "aa/bb/cccc", "05/07/2027T10:00",
	};
	int64_t t = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (isodate_parse_day(bad[i], &t) != AP_EPARSE)
			fail_msg("'%s' taken as a day", bad[i]);
		assert_int_equal(t, 7); /* written only on success */
	}
	assert_int_equal(isodate_parse_day(NULL, &t), AP_EPARSE);
}

/* Z, an offset, or no zone (local time); days as times are local midnight. */
static void test_times(void **state)
{
	(void)state;
	int64_t t = DEC2_UTC + 14 * 3600 + 5 * 60; /* 15:05 in Paris */
	assert_int_equal(when("2026-12-02T14:05:00Z"), t);
	assert_int_equal(when("2026-12-02T14:05Z"), t);
	assert_int_equal(when("2026-12-02T15:05:00+01:00"), t);
	assert_int_equal(when("2026-12-02T15:05:00+0100"), t);
	assert_int_equal(when("2026-12-02T15:05:00+01"), t);
	assert_int_equal(when("2026-12-02T11:05:00-03:00"), t); /* Cayenne */
	assert_int_equal(when("2026-12-03T01:05:00+11:00"), t); /* Nouméa */
	assert_int_equal(when("2026-12-02T14:05:00.250Z"), t);
	assert_int_equal(when("2026-12-02T15:05"), t); /* no zone: Paris */
	assert_int_equal(when("2026-12-02T15:05:00"), t);
	assert_int_equal(when("2026-12-02 15:05"), t);
	assert_int_equal(when("02/12/2026 15:05"), t);
	assert_int_equal(when("02/12/2026 15:05:00"), t);
	assert_int_equal(when("2/12/2026 15:05"), t);
	assert_int_equal(when("2025-07-04T10:30"), JUL4_UTC + 8 * 3600 + 30 * 60); /* summer */
	assert_int_equal(when("2025-07-04"), day("2025-07-04"));
	assert_int_equal(when("04/07/2025"), day("2025-07-04"));
	static const char *const bad[] = {
	    "2025-07-04T24:00",	      "2025-07-04T10:61",
	    "2025-07-04T10",	      "2025-07-04T10:00:60",
	    "2025-07-04T10:00Y",      "2025-07-04T10:00+24:00",
	    "2025-07-04T10:00+01:60", "2025-07-04T10:00+1",
	    "2025-07-04T10:00Z ",     "2025-07-04T10:00.5",
	    "31/02/2026 10:00",	      "2025-07-04x10:00",
	    "2025-07-04T10:00:00.Z",  "2025-07-04T10:00:00.1234567890Z",
	};
	int64_t u = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (isodate_parse_time(bad[i], &u) != AP_EPARSE)
			fail_msg("'%s' taken as a time", bad[i]);
		assert_int_equal(u, 7);
	}
	assert_int_equal(isodate_parse_time(NULL, &u), AP_EPARSE);
}

/* One format everywhere: local time with the offset of that instant. */
static void test_format(void **state)
{
	(void)state;
	assert_time(DEC2_UTC + 14 * 3600 + 5 * 60, "2026-12-02T15:05:00+01:00");
	assert_time(JUL4_UTC + 8 * 3600 + 30 * 60 + 15, "2025-07-04T10:30:15+02:00");
	assert_time(day("2026-12-02"), "2026-12-02T00:00:00+01:00");
	char s[ISODATE_TIME_LEN + 1];
	isodate_format_time(JUL4_UTC + 1234, s);
	assert_int_equal(strlen(s), ISODATE_TIME_LEN);
	assert_int_equal(when(s), JUL4_UTC + 1234); /* read back */
}

/* 29 March 2026: 02:00 CET -> 03:00 CEST (a 23 h day); 25 October 2026:
 * 03:00 CEST -> 02:00 CET (a 25 h day). */
static void test_dst(void **state)
{
	(void)state;
	int64_t spring = day("29/03/2026"), fall = day("25/10/2026");
	assert_time(spring, "2026-03-29T00:00:00+01:00");
	assert_int_equal(day("30/03/2026") - spring, 23 * 3600);
	assert_time(day("30/03/2026"), "2026-03-30T00:00:00+02:00");
	assert_time(when("2026-03-29T01:59:59"), "2026-03-29T01:59:59+01:00");
	assert_time(when("2026-03-29T03:00"), "2026-03-29T03:00:00+02:00");
	/* 02:30 does not exist that night: taken with the winter offset */
	assert_time(when("2026-03-29T02:30"), "2026-03-29T03:30:00+02:00");
	assert_time(fall, "2026-10-25T00:00:00+02:00");
	assert_int_equal(day("26/10/2026") - fall, 25 * 3600);
	int64_t twice = when("25/10/2026 02:30"); /* shown twice: either is right */
	assert_true(twice == fall + 2 * 3600 + 1800 || twice == fall + 3 * 3600 + 1800);
	assert_time(fall + 2 * 3600 + 1800, "2026-10-25T02:30:00+02:00");
	assert_time(fall + 3 * 3600 + 1800, "2026-10-25T02:30:00+01:00");
	/* the day holding any instant of those days starts at its midnight */
	assert_int_equal(isodate_day_start(spring + 23 * 3600 - 1), spring);
	assert_int_equal(isodate_day_start(spring), spring);
	assert_int_equal(isodate_day_start(fall + 25 * 3600 - 1), fall);
	assert_int_equal(isodate_day_start(fall + 25 * 3600), day("26/10/2026"));
	assert_int_equal(isodate_day_start(spring - 1), day("28/03/2026"));
	/* a day later is a calendar day, not 86400 s */
	assert_int_equal(isodate_day_add(spring + 3600, 1), day("30/03/2026"));
	assert_int_equal(isodate_day_add(fall, 1), day("26/10/2026"));
	assert_int_equal(isodate_day_add(fall, -210), day("29/03/2026"));
	assert_int_equal(isodate_day_add(day("31/12/2026"), 1), day("01/01/2027"));
	assert_int_equal(isodate_day_add(day("01/03/2024"), -1), day("29/02/2024"));
}

/* Days stored before times were local were their 00:00 UTC: each shows
 * as the same day, and is not overdue before the day after. */
static void test_stored_utc_days(void **state)
{
	(void)state;
	assert_day(JUL4_UTC, "2025-07-04");
	assert_day(DEC2_UTC, "2026-12-02");
	assert_day(DEC2_UTC - 1, "2026-12-02"); /* 23:59:59 UTC: a time, 00:59:59 in Paris */
	assert_day(DEC2_UTC - 3600, "2026-12-02");
	/* today (local midnight) on the due day and the day after */
	assert_false(DEC2_UTC < isodate_day_start(DEC2_UTC + 12 * 3600));
	assert_true(DEC2_UTC < isodate_day_start(DEC2_UTC + 86400 + 3600));
	assert_int_equal(isodate_day_start(DEC2_UTC), day("2026-12-02"));
	/* overseas, west of Greenwich, the UTC midnight is the evening before
	 * locally: such a stored day still shows as its day */
	assert_int_equal(isodate_set_zone("America/Cayenne"), 0);
	assert_day(DEC2_UTC, "2026-12-02");
	assert_day(DEC2_UTC + 3600, "2026-12-01");
	assert_int_equal(day("02/12/2026"), DEC2_UTC + 3 * 3600);
	assert_time(DEC2_UTC, "2026-12-01T21:00:00-03:00");
	assert_int_equal(isodate_set_zone("Pacific/Noumea"), 0);
	assert_int_equal(day("02/12/2026"), DEC2_UTC - 11 * 3600);
	assert_time(DEC2_UTC, "2026-12-02T11:00:00+11:00");
	assert_day(DEC2_UTC, "2026-12-02");
	assert_int_equal(isodate_set_zone("UTC"), 0);
	assert_time(DEC2_UTC, "2026-12-02T00:00:00+00:00");
	assert_int_equal(day("2026-12-02"), DEC2_UTC);
	assert_int_equal(isodate_set_zone("Europe/Paris"), 0);
}

/* Zones whose clocks skip midnight or show it twice: a day starts at its
 * first second all the same. */
static void test_midnight_moves(void **state)
{
	(void)state;
	assert_int_equal(isodate_set_zone("America/Santiago"), 0);
	/* 6 September 2026: 23:59:59 -04 -> 01:00 -03 */
	assert_int_equal(day("06/09/2026"), 1788667200);
	assert_time(day("06/09/2026"), "2026-09-06T01:00:00-03:00");
	assert_int_equal(isodate_day_start(1788667200 + 3600), 1788667200);
	assert_int_equal(isodate_day_add(day("05/09/2026"), 1), 1788667200);
	assert_day(1788667200 - 1, "2026-09-05");
	assert_int_equal(isodate_set_zone("America/Havana"), 0);
	/* 8 March 2026: midnight skipped; 1 November 2026: shown twice */
	assert_int_equal(day("08/03/2026"), 1772946000);
	assert_int_equal(day("01/11/2026"), 1793505600);
	assert_int_equal(isodate_day_start(1793505600 + 5400), 1793505600);
	assert_int_equal(isodate_set_zone("Europe/Paris"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_days, paris),
	    cmocka_unit_test_setup(test_bad_days, paris),
	    cmocka_unit_test_setup(test_times, paris),
	    cmocka_unit_test_setup(test_format, paris),
	    cmocka_unit_test_setup(test_dst, paris),
	    cmocka_unit_test_setup(test_stored_utc_days, paris),
	    cmocka_unit_test_setup(test_midnight_moves, paris),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
