/* isodate.c - ISO 8601 days and UTC times. */
#include "isodate.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits at s. */
static int digits(const char *s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return AP_EPARSE;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* Builds the time and checks the fields named a real moment (no 31 April). */
static int make_time(int y, int mo, int d, int h, int mi, int se, int64_t *ret)
{
	struct tm tm = {0}, back;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return AP_EPARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
	    back.tm_mon != mo - 1)
		return AP_EPARSE;
	*ret = (int64_t)t;
	return 0;
}

static int parse_ymd(const char *s, int *y, int *mo, int *d)
{
	if (digits(s, 4, y) < 0 || s[4] != '-' || digits(s + 5, 2, mo) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, d) < 0)
		return AP_EPARSE;
	return 0;
}

int isodate_parse_day(const char *s, int64_t *ret)
{
	int y, mo, d;
	if (s == NULL || strlen(s) != ISODATE_DAY_LEN || parse_ymd(s, &y, &mo, &d) < 0)
		return AP_EPARSE;
	return make_time(y, mo, d, 0, 0, 0, ret);
}

int isodate_parse_time(const char *s, int64_t *ret)
{
	int y, mo, d, h, mi, se = 0;
	size_t n = s ? strlen(s) : 0;
	if (n == ISODATE_DAY_LEN)
		return isodate_parse_day(s, ret);
	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if ((n != 16 && n != 19) || parse_ymd(s, &y, &mo, &d) < 0 ||
	    (s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0)
		return AP_EPARSE;
	if (n == 19 && (s[16] != ':' || digits(s + 17, 2, &se) < 0))
		return AP_EPARSE;
	return make_time(y, mo, d, h, mi, se, ret);
}

void isodate_format_day(int64_t t, char out[ISODATE_DAY_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, ISODATE_DAY_LEN + 1, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

void isodate_format_time(int64_t t, char out[ISODATE_TIME_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, ISODATE_TIME_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

int64_t isodate_day_start(int64_t t)
{
	int64_t r = t % 86400;
	return t - (r < 0 ? r + 86400 : r);
}
