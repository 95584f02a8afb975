/* isodate.c - days and times on the local calendar (the process's TZ). */
#include "isodate.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HALF_DAY 43200

/* What a string names: a calendar day, and a time of day unless day_only;
 * zone: 0 local time, 1 UTC plus off seconds. */
struct when {
	int y, mo, d, h, mi, se;
	int zone;
	long off;
};

int isodate_set_zone(const char *name)
{
	/* safe only single-threaded: see isodate.h; config.c checked name */
	if (setenv("TZ", name, 1) != 0)
		return AP_EINVAL;
	tzset();
	return 0;
}

/* Reads from min to max digits at *p (stops at the first non-digit). */
static int digits(const char **p, int min, int max, int *ret)
{
	int v = 0, n = 0;
	while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
		v = v * 10 + ((*p)[n] - '0');
		n++;
	}
	if (n < min)
		return AP_EPARSE;
	*p += n;
	*ret = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return AP_EPARSE;
	(*p)++;
	return 0;
}

/* "AAAA-MM-JJ" or "JJ/MM/AAAA" (J/M/AAAA too) at *p. */
static int read_day(const char **p, struct when *w)
{
	const char *s = *p;
	if (digits(&s, 4, 4, &w->y) == 0 && expect(&s, '-') == 0 && digits(&s, 2, 2, &w->mo) == 0 &&
	    expect(&s, '-') == 0 && digits(&s, 2, 2, &w->d) == 0) {
		*p = s;
		return 0;
	}
	s = *p;
	if (digits(&s, 1, 2, &w->d) == 0 && expect(&s, '/') == 0 && digits(&s, 1, 2, &w->mo) == 0 &&
	    expect(&s, '/') == 0 && digits(&s, 4, 4, &w->y) == 0) {
		*p = s;
		return 0;
	}
	return AP_EPARSE;
}

/* "HH:MM[:SS[.fff]]" at *p. */
static int read_clock(const char **p, struct when *w)
{
	int frac;
	w->se = 0;
	if (digits(p, 2, 2, &w->h) < 0 || expect(p, ':') < 0 || digits(p, 2, 2, &w->mi) < 0)
		return AP_EPARSE;
	if (**p != ':')
		return 0;
	(*p)++;
	if (digits(p, 2, 2, &w->se) < 0)
		return AP_EPARSE;
	if (**p == '.' || **p == ',') { /* a fraction of a second, dropped */
		(*p)++;
		return digits(p, 1, 9, &frac);
	}
	return 0;
}

/* Nothing (local time), "Z", or "+HH:MM" / "-HHMM" / "+HH", then the end. */
static int read_zone(const char *p, struct when *w)
{
	int oh, om = 0;
	w->zone = 0;
	w->off = 0;
	if (*p == '\0')
		return 0;
	w->zone = 1;
	if (p[0] == 'Z' && p[1] == '\0')
		return 0;
	if (*p != '+' && *p != '-')
		return AP_EPARSE;
	int sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, 2, &oh) < 0)
		return AP_EPARSE;
	if (*p == ':')
		p++;
	if (*p && digits(&p, 2, 2, &om) < 0)
		return AP_EPARSE;
	if (*p != '\0' || oh > 23 || om > 59)
		return AP_EPARSE;
	w->off = sign * (oh * 3600L + om * 60L);
	return 0;
}

/* The fields name a real moment of the calendar (no 31 April, no 24:00). */
static int valid(const struct when *w)
{
	struct tm tm = {0}, back;
	if (w->y < 1970 || w->y > 9999 || w->mo < 1 || w->mo > 12 || w->d < 1 || w->d > 31 ||
	    w->h > 23 || w->mi > 59 || w->se > 59)
		return 0;
	tm.tm_year = w->y - 1900;
	tm.tm_mon = w->mo - 1;
	tm.tm_mday = w->d;
	time_t t = timegm(&tm);
	return gmtime_r(&t, &back) != NULL && back.tm_mday == w->d && back.tm_mon == w->mo - 1;
}

static long day_key(const struct tm *tm)
{
	return (tm->tm_year + 1900L) * 10000L + (tm->tm_mon + 1L) * 100L + tm->tm_mday;
}

/* The first second of day y-mo-d on the local calendar.  mktime() gives
 * 00:00 when that exists once; when the clocks skip midnight or show it
 * twice, the first instant whose local day is that day is searched for
 * within half a day (local days only move forward there). */
static int64_t first_second(int y, int mo, int d)
{
	struct tm tm = {0}, at, before;
	long key = y * 10000L + mo * 100L + d;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm), prev = t - 1;
	if (localtime_r(&t, &at) && localtime_r(&prev, &before) && day_key(&at) == key &&
	    at.tm_hour == 0 && at.tm_min == 0 && at.tm_sec == 0 && day_key(&before) < key)
		return (int64_t)t;
	time_t lo = t - HALF_DAY, hi = t + HALF_DAY; /* lo: before the day; hi: in it or after */
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (localtime_r(&mid, &at) == NULL || day_key(&at) >= key)
			hi = mid;
		else
			lo = mid;
	}
	return (int64_t)hi;
}

int isodate_parse_day(const char *s, int64_t *ret)
{
	struct when w = {0};
	if (s == NULL || read_day(&s, &w) < 0 || *s != '\0' || !valid(&w))
		return AP_EPARSE;
	*ret = first_second(w.y, w.mo, w.d);
	return 0;
}

int isodate_parse_time(const char *s, int64_t *ret)
{
	struct when w = {0};
	struct tm tm = {0};
	const char *p = s;
	if (s == NULL || strlen(s) > 40 || read_day(&p, &w) < 0)
		return AP_EPARSE;
	if (*p == '\0')
		return isodate_parse_day(s, ret);
	if (*p != 'T' && *p != ' ')
		return AP_EPARSE;
	p++;
	if (read_clock(&p, &w) < 0 || read_zone(p, &w) < 0 || !valid(&w))
		return AP_EPARSE;
	tm.tm_year = w.y - 1900;
	tm.tm_mon = w.mo - 1;
	tm.tm_mday = w.d;
	tm.tm_hour = w.h;
	tm.tm_min = w.mi;
	tm.tm_sec = w.se;
	if (w.zone) {
		*ret = (int64_t)timegm(&tm) - w.off;
		return 0;
	}
	/* local: a time the clocks skip is taken with the offset before the
	 * change, one the clocks show twice as mktime() picks */
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return AP_EPARSE;
	*ret = (int64_t)t;
	return 0;
}

void isodate_format_day(int64_t t, char out[ISODATE_DAY_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if ((t % 86400 == 0 ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, ISODATE_DAY_LEN + 1, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

void isodate_format_time(int64_t t, char out[ISODATE_TIME_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL || tm.tm_gmtoff % 60 != 0) {
		/* an offset of odd seconds (local mean time, before 1911) has no
		 * +HH:MM: such a time is written in UTC */
		if (gmtime_r(&tt, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		tm.tm_gmtoff = 0;
	}
	long off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	snprintf(out, ISODATE_TIME_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02u%c%02u:%02u",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
		 tm.tm_gmtoff < 0 ? '-' : '+', (unsigned)(off / 3600) % 100u,
		 (unsigned)(off / 60 % 60));
}

int64_t isodate_day_add(int64_t t, int n)
{
	struct tm tm, cal = {0};
	time_t tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL)
		return t;
	/* the calendar's arithmetic on a UTC date, where every day is 86400 s */
	cal.tm_year = tm.tm_year;
	cal.tm_mon = tm.tm_mon;
	cal.tm_mday = tm.tm_mday + n;
	time_t day = timegm(&cal);
	if (gmtime_r(&day, &cal) == NULL)
		return t;
	return first_second(cal.tm_year + 1900, cal.tm_mon + 1, cal.tm_mday);
}

int64_t isodate_day_start(int64_t t)
{
	return isodate_day_add(t, 0);
}
