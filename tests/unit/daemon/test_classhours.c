/* Unit tests for daemon/core/classhours.c: the windows outside class
 * hours ([updates] allowed_windows) on Paris's wall clock, across the two
 * changes of hour of 2026 (29 March, 25 October), and bad texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ap_err.h"
#include "classhours.h"
#include "isodate.h"

#define DEFAULT "mon-fri 18:00-07:30; mon 00:00-07:30; wed 12:00-24:00; sat-sun 00:00-24:00"

static int64_t at(const char *s)
{
	int64_t t = 0;
	if (isodate_parse_time(s, &t) != 0)
		fail_msg("bad time in the test: %s", s);
	return t;
}

static struct classhours parsed(const char *text)
{
	struct classhours w;
	char err[200] = "";
	if (classhours_parse(text, &w, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	return w;
}

static void allowed(const struct classhours *w, const char *when, int want)
{
	if (classhours_allowed(w, at(when)) != want)
		fail_msg("%s: expected %s", when, want ? "allowed" : "not allowed");
}

static void next_is(const struct classhours *w, const char *from, const char *want)
{
	int64_t t = 0;
	assert_int_equal(classhours_next(w, at(from), &t), 0);
	if (t != at(want)) {
		char got[ISODATE_TIME_LEN + 1];
		isodate_format_time(t, got);
		fail_msg("next after %s: expected %s, got %s", from, want, got);
	}
}

static void test_default_week(void **state)
{
	struct classhours w = parsed(DEFAULT);
	(void)state;
	/* Wednesday 2 December 2026: class in the morning, free from noon */
	allowed(&w, "2026-12-02T07:29:59", 1); /* Tuesday evening's window */
	allowed(&w, "2026-12-02T07:30:00", 0);
	allowed(&w, "2026-12-02T10:00:00", 0);
	allowed(&w, "2026-12-02T11:59:59", 0);
	allowed(&w, "2026-12-02T12:00:00", 1);
	allowed(&w, "2026-12-02T17:00:00", 1);
	allowed(&w, "2026-12-02T23:59:00", 1);
	next_is(&w, "2026-12-02T10:00:00", "2026-12-02T12:00:00");
	next_is(&w, "2026-12-02T08:15:42", "2026-12-02T12:00:00");
	/* Thursday: class all day until 18:00 */
	allowed(&w, "2026-12-03T00:00:00", 1); /* Wednesday's evening goes on */
	allowed(&w, "2026-12-03T08:00:00", 0);
	allowed(&w, "2026-12-03T17:59:59", 0);
	allowed(&w, "2026-12-03T18:00:00", 1);
	next_is(&w, "2026-12-03T08:00:30", "2026-12-03T18:00:00");
	/* allowed: the time itself, seconds kept */
	next_is(&w, "2026-12-03T19:12:34", "2026-12-03T19:12:34");
	/* Friday evening into the weekend, the weekend into Monday's class */
	allowed(&w, "2026-12-04T18:30:00", 1);
	allowed(&w, "2026-12-05T10:00:00", 1);
	allowed(&w, "2026-12-06T23:59:59", 1);
	allowed(&w, "2026-12-07T06:00:00", 1);
	allowed(&w, "2026-12-07T07:30:00", 0);
	next_is(&w, "2026-12-07T07:30:00", "2026-12-07T18:00:00");
	/* Friday's class */
	next_is(&w, "2026-12-04T09:00:00", "2026-12-04T18:00:00");
}

static void test_syntax(void **state)
{
	struct classhours w;
	(void)state;
	/* case, blanks, empty items, lists and wrapping ranges */
	w = parsed("  MON-Fri   18:00-07:30 ;; ");
	allowed(&w, "2026-12-01T18:00:00", 1);
	w = parsed("mon,wed-thu 10:00-11:00");
	allowed(&w, "2026-12-07T10:30:00", 1); /* Monday */
	allowed(&w, "2026-12-08T10:30:00", 0); /* Tuesday */
	allowed(&w, "2026-12-02T10:30:00", 1); /* Wednesday */
	allowed(&w, "2026-12-03T10:59:00", 1); /* Thursday */
	allowed(&w, "2026-12-03T11:00:00", 0);
	w = parsed("sat-mon 10:00-11:00"); /* Saturday, Sunday, Monday */
	allowed(&w, "2026-12-06T10:30:00", 1);
	allowed(&w, "2026-12-07T10:30:00", 1);
	allowed(&w, "2026-12-08T10:30:00", 0);
	/* equal times: a whole day from then */
	w = parsed("mon 10:00-10:00");
	allowed(&w, "2026-12-07T09:59:00", 0);
	allowed(&w, "2026-12-07T10:00:00", 1);
	allowed(&w, "2026-12-08T09:59:00", 1);
	allowed(&w, "2026-12-08T10:00:00", 0);
	/* Sunday night wraps to Monday */
	w = parsed("sun 23:00-01:00");
	allowed(&w, "2026-12-07T00:59:00", 1);
	allowed(&w, "2026-12-07T01:00:00", 0);
	next_is(&w, "2026-12-07T01:00:00", "2026-12-13T23:00:00");
	/* the empty text: any time */
	w = parsed("");
	assert_true(w.any);
	allowed(&w, "2026-12-02T10:00:00", 1);
	next_is(&w, "2026-12-02T10:00:05", "2026-12-02T10:00:05");
	w = parsed(" ; ");
	assert_true(w.any);
}

static void refused(const char *text, int want, const char *why)
{
	struct classhours w;
	char err[200] = "";
	int rc = classhours_parse(text, &w, err, sizeof(err));
	if (rc != want || strstr(err, why) == NULL)
		fail_msg("'%s': expected %s '%s', got %s '%s'", text, ap_errname(want), why,
			 ap_errname(rc), err);
	assert_int_equal(classhours_check(text, err, sizeof(err)), want);
}

static void test_bad_texts(void **state)
{
	char many[400] = "";
	(void)state;
	refused("mon", AP_EPARSE, "'mon': the hours");
	refused("mon 18:00", AP_EPARSE, "the hours are not like");
	refused("18:00-19:00", AP_EPARSE, "the days are not like");
	refused("xyz 18:00-19:00", AP_EPARSE, "'xyz 18:00-19:00': the days");
	refused("monday 18:00-19:00", AP_EPARSE, "the days");
	refused("mon-fri18:00-19:00", AP_EPARSE, "the days");
	refused("mon,,tue 18:00-19:00", AP_EPARSE, "the days");
	refused("mon, 18:00-19:00", AP_EPARSE, "the days");
	refused(",mon 18:00-19:00", AP_EPARSE, "the days");
	refused("mon- 18:00-19:00", AP_EPARSE, "the days");
	refused("mon 8:00-9:00", AP_EPARSE, "'mon 8:00-9:00': the hours");
	refused("mon 25:00-07:00", AP_EPARSE, "the hours");
	refused("mon 18:60-19:00", AP_EPARSE, "the hours");
	refused("mon 18:00-24:01", AP_EPARSE, "the hours");
	refused("mon 24:00-01:00", AP_EPARSE, "the hours");
	refused("mon 18:00_19:00", AP_EPARSE, "the hours");
	refused("mon 18:00-19:00 extra", AP_EPARSE, "the hours");
	refused("mon 18:00-19:00; tue", AP_EPARSE, "'tue'");
	refused("mon;tue 18:00-19:00", AP_EPARSE, "'mon'");
	refused("mon 18:00-19:00\n", AP_EPARSE, "the hours");
	refused("mon\t18:00-19:00\x01", AP_EPARSE, "the hours");
	for (int i = 0; i < CLASSHOURS_MAX + 1; i++)
		strncat(many, "sun 01:00-02:00;", sizeof(many) - strlen(many) - 1);
	refused(many, AP_ETOOBIG, "longer than 255");
	/* (a window is 15 bytes at least: the length cap comes before the
	 * CLASSHOURS_MAX windows) */
}

/* Spring: 29 March 2026, 02:00 CET becomes 03:00 CEST; 02:00-02:59 does
 * not exist. */
static void test_spring_forward(void **state)
{
	(void)state;
	struct classhours w = parsed("sun 02:30-04:00");
	allowed(&w, "2026-03-29T01:59:00+01:00", 0);
	allowed(&w, "2026-03-29T03:00:00+02:00", 1); /* the first wall-clock minute after 02:30 */
	allowed(&w, "2026-03-29T03:59:00+02:00", 1);
	allowed(&w, "2026-03-29T04:00:00+02:00", 0);
	/* next from 01:00 CET: 03:00 CEST, one real hour later, not 04:00 */
	next_is(&w, "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00");
	next_is(&w, "2026-03-29T01:59:59+01:00", "2026-03-29T03:00:00+02:00");
	/* a window inside the missing hour is empty that night: next week */
	w = parsed("sun 02:10-02:50");
	next_is(&w, "2026-03-29T01:00:00+01:00", "2026-04-05T02:10:00+02:00");
	/* a night across the change is an hour shorter, on the wall clock still */
	w = parsed("sat 22:00-06:00");
	allowed(&w, "2026-03-28T21:59:00+01:00", 0);
	allowed(&w, "2026-03-28T22:00:00+01:00", 1);
	allowed(&w, "2026-03-29T05:59:00+02:00", 1);
	allowed(&w, "2026-03-29T06:00:00+02:00", 0);
	next_is(&w, "2026-03-29T06:00:00+02:00", "2026-04-04T22:00:00+02:00");
	/* the default week across that Sunday into Monday */
	w = parsed(DEFAULT);
	allowed(&w, "2026-03-29T02:30:00+02:00", 1); /* 01:30 CET written with the wrong offset */
	allowed(&w, "2026-03-30T07:29:00+02:00", 1);
	next_is(&w, "2026-03-30T07:30:00+02:00", "2026-03-30T18:00:00+02:00");
}

/* Autumn: 25 October 2026, 03:00 CEST becomes 02:00 CET; 02:00-02:59
 * happens twice. */
static void test_fall_back(void **state)
{
	(void)state;
	struct classhours w = parsed("sun 02:15-02:45");
	allowed(&w, "2026-10-25T02:20:00+02:00", 1); /* the first 02:20 */
	allowed(&w, "2026-10-25T02:50:00+02:00", 0);
	allowed(&w, "2026-10-25T02:20:00+01:00", 1); /* the second */
	allowed(&w, "2026-10-25T02:45:00+01:00", 0);
	/* from between the two: the second 02:15 */
	next_is(&w, "2026-10-25T02:50:00+02:00", "2026-10-25T02:15:00+01:00");
	next_is(&w, "2026-10-25T01:00:00+02:00", "2026-10-25T02:15:00+02:00");
	/* a window from 03:00: one real hour later than the wall clock says */
	w = parsed("sun 03:00-04:00");
	next_is(&w, "2026-10-25T01:30:00+02:00", "2026-10-25T03:00:00+01:00");
	/* the default week: Saturday and Sunday whole, Monday morning */
	w = parsed(DEFAULT);
	allowed(&w, "2026-10-25T02:30:00+02:00", 1);
	allowed(&w, "2026-10-25T02:30:00+01:00", 1);
	allowed(&w, "2026-10-26T07:29:00+01:00", 1);
	allowed(&w, "2026-10-26T07:30:00+01:00", 0);
	next_is(&w, "2026-10-26T07:30:00+01:00", "2026-10-26T18:00:00+01:00");
}

/* The next allowed time is never before `from` and always allowed, from
 * every quarter hour of a year (changes of hour included). */
static void test_next_everywhere(void **state)
{
	(void)state;
	struct classhours w = parsed(DEFAULT);
	struct classhours odd = parsed("tue 02:37-02:38; sun 02:30-02:31");
	int64_t from = at("2026-01-01T00:00:00"), to = at("2027-01-01T00:00:00");
	for (int64_t t = from; t < to; t += 900 + 7) {
		int64_t n = 0, m = 0;
		assert_int_equal(classhours_next(&w, t, &n), 0);
		assert_true(n >= t);
		assert_true(classhours_allowed(&w, n));
		assert_int_equal(classhours_next(&odd, t, &m), 0);
		assert_true(m >= t && m - t <= 8 * 86400);
		assert_true(classhours_allowed(&odd, m));
		/* nothing allowed in between: the minute before is not (unless t) */
		if (m > t)
			assert_false(classhours_allowed(&odd, m - 60) && m - 60 >= t);
	}
}

int main(void)
{
	isodate_set_zone("Europe/Paris");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_week), cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_bad_texts),	 cmocka_unit_test(test_spring_forward),
	    cmocka_unit_test(test_fall_back),	 cmocka_unit_test(test_next_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
