/*
 * classhours.h - the weekly windows outside class hours when tablets may
 * install an update ([updates] allowed_windows), on the local clock of the
 * daemon's zone ([server] timezone, isodate_set_zone()).
 *
 * Syntax: windows separated by ';', each "DAYS HH:MM-HH:MM" where DAYS is
 * a day (mon tue wed thu fri sat sun), a range of days "mon-fri" (may wrap:
 * "sat-mon"), or such items separated by ',' ("mon,wed-thu").  A window
 * starts on each of its days at the first time and ends at the second, the
 * next day when the second is not later than the first ("mon-fri
 * 18:00-07:30": Monday 18:00 to Tuesday 07:30, ..., Friday 18:00 to
 * Saturday 07:30).  "24:00" ends a day.  Minutes are whole; a window
 * "HH:MM-HH:MM" with equal times is a whole day (24 hours).  Blanks around
 * items are ignored; case matters not.  The empty text means at any time.
 *
 * A local time that does not exist (the hour skipped when summer time
 * begins) is never in a window's middle: windows follow the wall clock,
 * so a window "02:00-03:00" is empty on that night, and a wall-clock
 * minute that happens twice (autumn) is in or out both times.
 * No I/O but the C library's reading of the zone file.
 */
#ifndef CLASSHOURS_H
#define CLASSHOURS_H

#include <stddef.h>
#include <stdint.h>

#define CLASSHOURS_WEEK	    (7 * 24 * 60) /* minutes of a week, from Monday 00:00 */
#define CLASSHOURS_MAX	    32		  /* windows in one text */
#define CLASSHOURS_TEXT_MAX 255

struct classhours {
	int any;				   /* the empty text: every minute */
	unsigned char minute[CLASSHOURS_WEEK / 8]; /* bit m: minute m of the week is allowed */
};

/* Parses text into *ret.  AP_EPARSE with the reason (naming the item) into
 * err (cap bytes); AP_ETOOBIG past CLASSHOURS_TEXT_MAX bytes or
 * CLASSHOURS_MAX windows. */
int classhours_parse(const char *text, struct classhours *ret, char *err, size_t cap);
/* config.c's value check: classhours_parse() into a scratch value. */
int classhours_check(const char *text, char *err, size_t cap);
/* 1 when the local wall-clock minute holding t is in a window. */
int classhours_allowed(const struct classhours *w, int64_t t);
/* The first instant at or after t in a window (t itself when allowed,
 * else the start of a minute) into *ret.  AP_ENOTFOUND when no minute of
 * the week is in a window. */
int classhours_next(const struct classhours *w, int64_t t, int64_t *ret);

#endif
