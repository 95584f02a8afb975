/*
 * isodate.h - the dates of the API and the CLI (ISO 8601) <-> epoch seconds.
 *
 * A calendar day "YYYY-MM-DD" is stored as its 00:00 UTC.  Times are
 * "YYYY-MM-DDTHH:MM[:SS][Z]", always UTC.  Pure functions, no I/O.
 */
#ifndef ISODATE_H
#define ISODATE_H

#include <stdint.h>

#define ISODATE_DAY_LEN	 10 /* "2025-07-04" */
#define ISODATE_TIME_LEN 20 /* "2025-07-04T10:00:00Z" */

/* "YYYY-MM-DD" (a real date, years 1970-9999) -> 00:00 UTC.  AP_EPARSE. */
int isodate_parse_day(const char *s, int64_t *ret);
/* A day as above, or a time "YYYY-MM-DDTHH:MM[:SS][Z]".  AP_EPARSE. */
int isodate_parse_time(const char *s, int64_t *ret);
/* The day of t, "YYYY-MM-DD". */
void isodate_format_day(int64_t t, char out[ISODATE_DAY_LEN + 1]);
/* t as "YYYY-MM-DDTHH:MM:SSZ". */
void isodate_format_time(int64_t t, char out[ISODATE_TIME_LEN + 1]);
/* 00:00 UTC of the day holding t. */
int64_t isodate_day_start(int64_t t);

#endif
