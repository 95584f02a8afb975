/*
 * privacy.h - personal data kept no longer than needed: leavers are
 * pseudonymised [privacy] leaver_retention_days after their last day
 * (db_privacy.h says what changes and what is kept).
 *
 * A job (jobs.c) checks every hour, from an hour after start (people
 * become due once a day, when the date changes; the next run catches up
 * after a stop), and a technician's run now (POST
 * /api/v1/privacy/pseudonymise, ardoisectl person pseudonymise) does the
 * same: batches of PRIVACY_BATCH people, each batch one transaction with
 * its audit row ("person.pseudonymise", the count, no name nor id).
 */
#ifndef PRIVACY_H
#define PRIVACY_H

#include <stdint.h>

struct worker;

#define PRIVACY_BATCH	    1000
#define PRIVACY_MAX_BATCHES 200 /* a run's bound; the next run goes on */

struct privacy_stats {
	int64_t left_before; /* people whose last day is before this day */
	int64_t done;	     /* pseudonymised by this run */
	int64_t held_back;   /* due, but a loan of theirs is still in progress */
};

/* Pseudonymises the leavers due, audited as actor ("system" for the
 * job); *ret (may be NULL) says what it did, also when it failed part
 * way (the batches committed stay). */
int privacy_run(struct worker *w, const char *actor, struct privacy_stats *ret);
/* The periodic job (as "system"). */
int privacy_job(struct worker *w);

#endif
