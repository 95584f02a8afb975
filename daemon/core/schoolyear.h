/*
 * schoolyear.h - the calendar of the loan convention: the school year a
 * day belongs to, and the summer deposit period ([loans] summer).
 *
 * Days are the ones isodate.h counts (its local midnight): every boundary
 * here is computed through isodate_parse_day(), never by hand.  Pure
 * functions, no I/O.
 */
#ifndef SCHOOLYEAR_H
#define SCHOOLYEAR_H

#include <stdint.h>

/* The school year holding t, named by the year it starts: 2026 for
 * 2026-2027 (it starts on September 1st). */
int schoolyear_of(int64_t t);
/* Day t of school year y: 1 when t is from its September 1st up to the
 * next one excluded. */
int schoolyear_holds(int year, int64_t t);

/* A yearly period "MM-DD..MM-DD" (both days included, the first not after
 * the second; "" is no period).  0, or AP_EPARSE with *why set (static
 * text) for the configuration's error. */
int schoolyear_span_check(const char *span, const char **why);
/* 1 when the day of t is inside span (checked already), 0 otherwise or
 * when span is "". */
int schoolyear_in_span(const char *span, int64_t t);

#endif
