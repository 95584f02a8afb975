/*
 * db_report.h - the fleet report: per collège, tablets by state, loans,
 * overdue loans, open incidents, damage and its cost, tablets not seen
 * lately.
 */
#ifndef DB_REPORT_H
#define DB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "db_device.h"
#include "db_school.h"

struct db;

struct db_report_row {
	char uai[9]; /* "" for tablets assigned to no collège */
	char name[DB_SCHOOL_NAME_MAX + 1];
	int64_t devices; /* every state, retired included */
	int64_t by_state[DB_DEV_NSTATES];
	int64_t loans_open;
	int64_t loans_returning; /* handed back, erase pending */
	int64_t loans_pupils;	 /* open loans to pupils, to teachers */
	int64_t loans_teachers;
	int64_t pupils_equipped; /* the collège's targets (db_school), 0: unknown */
	int64_t teachers_equipped;
	int64_t overdue; /* open loans due before `today` */
	int64_t incidents_open;
	/* damage incidents ever recorded (open and closed), the sum of their
	 * costs (euro cents; those without a cost count 0) and how many ask
	 * the family for a reimbursement */
	int64_t damages;
	int64_t damage_cost_cents;
	int64_t reimbursements;
	/* tablets not retired whose last check-in is older than 7 / 30 days,
	 * never-seen ones included (and also counted in never_seen) */
	int64_t not_seen_7d;
	int64_t not_seen_30d;
	int64_t never_seen;
};

/* One row per collège of `only` (NULL: every collège, plus a row "" for
 * tablets of no collège when there are some), ordered by UAI.  `now` is
 * the time the not-seen windows count from; `today` the start of the day
 * (loans due before it are overdue).  *ret is malloc'd, the caller frees
 * it; *ret_n may be 0. */
/* The tablets the collège holds against its targets: every one not
 * retired, lost or stolen. */
int64_t db_report_held(const struct db_report_row *row);

int db_report_fleet(struct db *db, const char *const *only, size_t n_only, int64_t now,
		    int64_t today, struct db_report_row **ret, size_t *ret_n);

#endif
