/* schoolyear.c - school years and the summer deposit period. */
#include "schoolyear.h"
#include "ap_err.h"
#include "isodate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The first day of year y's month-day md (m * 100 + d), or -1 when that
 * day does not exist in y (02-29). */
static int64_t day_of(int y, int md)
{
	char s[40];
	int64_t t;
	snprintf(s, sizeof(s), "%04d-%02d-%02d", y, md / 100, md % 100);
	return isodate_parse_day(s, &t) == 0 ? t : -1;
}

/* The calendar year of t, give or take the hours between UTC and the
 * days isodate counts: callers compare with day_of() around it. */
static int rough_year(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		return 1970;
	return tm.tm_year + 1900;
}

int schoolyear_of(int64_t t)
{
	int y = rough_year(t);
	for (int c = y + 1; c >= y - 1; c--) {
		int64_t start = day_of(c, 901);
		if (start >= 0 && t >= start)
			return c;
	}
	return y - 2; /* unreachable for years isodate knows */
}

int schoolyear_holds(int year, int64_t t)
{
	return schoolyear_of(t) == year;
}

/* "MM-DD" at s (5 bytes) into *ret (m * 100 + d), checked against a leap
 * year so that 02-29 is accepted. */
static int month_day(const char *s, int *ret)
{
	char day[16];
	int64_t t;
	if (strspn(s, "0123456789") != 2 || s[2] != '-' || strspn(s + 3, "0123456789") != 2)
		return AP_EPARSE;
	snprintf(day, sizeof(day), "2000-%.5s", s);
	if (isodate_parse_day(day, &t) < 0)
		return AP_EPARSE;
	*ret = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[3] - '0') * 10 + (s[4] - '0');
	return 0;
}

static int span_parse(const char *span, int *from, int *to, const char **why)
{
	if (strlen(span) != 12 || strncmp(span + 5, "..", 2) != 0) {
		*why = "expected MM-DD..MM-DD, e.g. 07-05..08-31";
		return AP_EPARSE;
	}
	if (month_day(span, from) < 0 || month_day(span + 7, to) < 0) {
		*why = "not a real day of the year (MM-DD..MM-DD, e.g. 07-05..08-31)";
		return AP_EPARSE;
	}
	if (*from > *to) {
		*why = "the first day comes after the last (MM-DD..MM-DD within one year)";
		return AP_EPARSE;
	}
	return 0;
}

int schoolyear_span_check(const char *span, const char **why)
{
	int from, to;
	if (span[0] == '\0')
		return 0;
	return span_parse(span, &from, &to, why);
}

int schoolyear_in_span(const char *span, int64_t t)
{
	const char *why;
	int from, to;
	if (span[0] == '\0' || span_parse(span, &from, &to, &why) < 0)
		return 0;
	int y = rough_year(t);
	for (int c = y - 1; c <= y + 1; c++) {
		int64_t a = day_of(c, from), b = day_of(c, to);
		if (a < 0 || b < 0)
			continue; /* 02-29 of a common year */
		/* the end of the last day: the start of the day after it */
		int64_t end = isodate_day_start(b + 36 * 3600);
		if (t >= a && t < end)
			return 1;
	}
	return 0;
}
