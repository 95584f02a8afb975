/*
 * db_report_year.h - the annual figures the convention asks of each
 * collège over a period: loans made (tablets, pupils, teachers, home use),
 * returns, incidents by kind, repairs, thefts with and without their
 * complaint, the damage's cost and the reimbursements asked, and the
 * equipment targets against the fleet.
 */
#ifndef DB_REPORT_YEAR_H
#define DB_REPORT_YEAR_H

#include <stdint.h>

struct db;

struct db_report_year {
	/* loans started in the period */
	int64_t loans, tablets, pupils, teachers, home_use;
	/* loans handed back in the period */
	int64_t returns, returns_ok, returns_damaged;
	/* incidents that occurred in the period */
	int64_t incidents, loss, theft, damage, failure, late;
	int64_t theft_complaint, theft_no_complaint;
	int64_t cost_cents;	 /* damage cost recorded, total */
	int64_t reimburse;	 /* incidents whose cost is asked back of the family */
	int64_t reimburse_cents; /* their cost */
	/* incidents closed as repaired in the period */
	int64_t repairs;
	/* the collège's targets (-1: not known) and its fleet now */
	int64_t pupils_target, teachers_target;
	int64_t fleet_tablets;			    /* not retired */
	int64_t equipped_pupils, equipped_teachers; /* with a loan open now */
};

/* The figures of collège uai for [from, to) (seconds).  AP_ENOTFOUND when
 * there is no such collège. */
int db_report_year(struct db *db, const char *uai, int64_t from, int64_t to,
		   struct db_report_year *ret);

#endif
