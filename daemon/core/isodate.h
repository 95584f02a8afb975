/*
 * isodate.h - the dates of the API and the CLI <-> epoch seconds, on the
 * calendar and clock of the daemon's time zone ([server] timezone, set once
 * with isodate_set_zone() before any thread starts; TZ rules of the C
 * library: localtime_r() and mktime()).
 *
 * A calendar day is stored as its local midnight (the first second of that
 * day in the zone).  Days written before times were local were stored as
 * their 00:00 UTC: isodate_format_day() still shows such a value as that
 * day.  Times are written "YYYY-MM-DDTHH:MM:SS+01:00" (ISO 8601 with the
 * zone's offset at that instant).  No I/O but the C library's reading of
 * the zone file.
 */
#ifndef ISODATE_H
#define ISODATE_H

#include <stdint.h>

#define ISODATE_DAY_LEN	 10 /* "2025-07-04" */
#define ISODATE_TIME_LEN 25 /* "2025-07-04T10:00:00+02:00" */

/* The zone for every local day and time of the process: TZ=name and
 * tzset().  name is checked by the caller (config.c).  Not thread-safe
 * (setenv): call it once, before any thread starts.  AP_EINVAL when
 * setenv() fails. */
int isodate_set_zone(const char *name);

/* "JJ/MM/AAAA" (J/M/AAAA too) or "AAAA-MM-JJ" (a real date, years
 * 1970-9999) -> local midnight of that day.  AP_EPARSE. */
int isodate_parse_day(const char *s, int64_t *ret);
/* A day as above, or a time: "JJ/MM/AAAA HH:MM[:SS]" or
 * "AAAA-MM-JJTHH:MM[:SS[.fff]]" (a space for the T too), then "Z", an
 * offset "+01:00" / "-0300", or nothing (local time).  AP_EPARSE. */
int isodate_parse_time(const char *s, int64_t *ret);
/* The local day of t, "YYYY-MM-DD"; a t at exactly 00:00:00 UTC is a day
 * stored before days were local and shows as its UTC day. */
void isodate_format_day(int64_t t, char out[ISODATE_DAY_LEN + 1]);
/* t as "YYYY-MM-DDTHH:MM:SS+HH:MM", local time with its offset. */
void isodate_format_time(int64_t t, char out[ISODATE_TIME_LEN + 1]);
/* Local midnight (the first second) of the day holding t. */
int64_t isodate_day_start(int64_t t);
/* Local midnight of the day n days after (n < 0: before) the day holding
 * t: a day later is not always 86400 s later (changes of hour). */
int64_t isodate_day_add(int64_t t, int n);

#endif
