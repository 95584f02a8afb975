/* classhours.c - weekly windows on the local wall clock. */
#include "classhours.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY_MIN 1440

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static void set_bit(struct classhours *w, int m)
{
	w->minute[m / 8] |= (unsigned char)(1u << (m % 8));
}

static int bit(const struct classhours *w, int m)
{
	return (w->minute[m / 8] >> (m % 8)) & 1;
}

/* "mon".."sun" at s (3 letters, any case): 0..6, else -1. */
static int day_at(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "HH:MM" (HH 00..24, 24 only as 24:00) at s, exactly 5 bytes: minutes. */
static int clock_at(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* The days of "mon,wed-fri" (len bytes at s) as bits 0..6 into *ret. */
static int parse_days(const char *s, size_t len, unsigned *ret)
{
	unsigned days = 0;
	size_t i = 0;
	while (i < len) {
		size_t n = i;
		while (n < len && s[n] != ',')
			n++;
		int a = -1, b = -1;
		if (n - i == 3)
			a = b = day_at(s + i);
		else if (n - i == 7 && s[i + 3] == '-') {
			a = day_at(s + i);
			b = day_at(s + i + 4);
		}
		if (a < 0 || b < 0)
			return AP_EPARSE;
		for (int d = a;; d = (d + 1) % 7) {
			days |= 1u << d;
			if (d == b)
				break;
		}
		i = n + 1;
		if (n < len && i == len)
			return AP_EPARSE; /* a trailing ',' */
	}
	if (days == 0)
		return AP_EPARSE;
	*ret = days;
	return 0;
}

/* One window "DAYS HH:MM-HH:MM" (len bytes at s, trimmed) into w. */
static int parse_window(const char *s, size_t len, struct classhours *w, char *err, size_t cap)
{
	unsigned days;
	size_t dl = strcspn(s, " \t");
	size_t rest = dl;
	while (rest < len && (s[rest] == ' ' || s[rest] == '\t'))
		rest++;
	int from = -1, to = -1;
	if (dl > len || parse_days(s, dl, &days) < 0) {
		snprintf(err, cap,
			 "'%.*s': the days are not like mon, mon-fri or mon,wed (mon tue wed thu "
			 "fri sat sun)",
			 (int)(len > 60 ? 60 : len), s);
		return AP_EPARSE;
	}
	if (len - rest != 11 || s[rest + 5] != '-' || (from = clock_at(s + rest)) < 0 ||
	    (to = clock_at(s + rest + 6)) < 0 || from == DAY_MIN) {
		snprintf(err, cap, "'%.*s': the hours are not like 18:00-07:30 (00:00 to 24:00)",
			 (int)(len > 60 ? 60 : len), s);
		return AP_EPARSE;
	}
	int span = to > from ? to - from : to + DAY_MIN - from;
	for (int d = 0; d < 7; d++)
		for (int k = 0; (days >> d & 1) && k < span; k++)
			set_bit(w, (d * DAY_MIN + from + k) % CLASSHOURS_WEEK);
	return 0;
}

int classhours_parse(const char *text, struct classhours *ret, char *err, size_t cap)
{
	static struct classhours zero;
	struct classhours w = zero;
	size_t n_windows = 0;
	if (strlen(text) > CLASSHOURS_TEXT_MAX) {
		snprintf(err, cap, "longer than %d bytes", CLASSHOURS_TEXT_MAX);
		return AP_ETOOBIG;
	}
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ";");
		const char *s = p;
		p += len;
		if (*p == ';')
			p++;
		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (++n_windows > CLASSHOURS_MAX) {
			snprintf(err, cap, "more than %d windows", CLASSHOURS_MAX);
			return AP_ETOOBIG;
		}
		int rc = parse_window(s, len, &w, err, cap);
		if (rc < 0)
			return rc;
	}
	w.any = n_windows == 0;
	*ret = w;
	return 0;
}

int classhours_check(const char *text, char *err, size_t cap)
{
	struct classhours w;
	return classhours_parse(text, &w, err, cap);
}

/* The minute of the week (Monday 00:00 = 0) of t on the local clock, and
 * the zone's offset then into *ret_off (seconds east of UTC). */
static int week_minute(int64_t t, long *ret_off)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	if (ret_off)
		*ret_off = tm.tm_gmtoff;
	return ((tm.tm_wday + 6) % 7) * DAY_MIN + tm.tm_hour * 60 + tm.tm_min;
}

int classhours_allowed(const struct classhours *w, int64_t t)
{
	return w->any || bit(w, week_minute(t, NULL));
}

/* The first minute after lo (exclusive) up to hi whose offset is not
 * off_lo's: a change of hour known to lie in (lo, hi]. */
static int64_t change_in(int64_t lo, int64_t hi, long off_lo)
{
	long off;
	while (hi - lo > 60) {
		int64_t mid = lo + (hi - lo) / 120 * 60;
		week_minute(mid, &off);
		if (off == off_lo)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

int classhours_next(const struct classhours *w, int64_t t, int64_t *ret)
{
	if (classhours_allowed(w, t)) {
		*ret = t;
		return 0;
	}
	int64_t at = t - ((t % 60) + 60) % 60;
	/* Between two changes of hour the wall clock and real time go
	 * together: jump by the wall-clock distance to the next allowed
	 * minute, unless the zone's offset differs there, then to the change
	 * itself and look again from it (the wall clock may have gone back,
	 * to an allowed minute, or forward past one).  A few jumps. */
	for (int i = 0; i < 64; i++) {
		long off, off2;
		int m = week_minute(at, &off), d = 1;
		if (bit(w, m) && at >= t) {
			*ret = at;
			return 0;
		}
		while (d <= CLASSHOURS_WEEK && !bit(w, (m + d) % CLASSHOURS_WEEK))
			d++;
		if (d > CLASSHOURS_WEEK)
			return AP_ENOTFOUND;
		int64_t cand = at + (int64_t)d * 60;
		week_minute(cand, &off2);
		at = off2 == off ? cand : change_in(at, cand, off);
	}
	return AP_ENOTFOUND;
}
