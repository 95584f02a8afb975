/*
 * db_incident.h - loss, theft, damage and failure of tablets.
 *
 * Declaring an incident moves the device to lost, stolen or repair;
 * closing it moves the device back (to loaned or returning when its loan is
 * still in progress, else stock) or, when written off, retires it and ends
 * its loan.  A device has at most one open incident.
 *
 * The convention's 48 h rule compares the event (occurred_at) with the
 * moment the family told the collège (reported_at), not with the moment
 * staff typed it (declared_at): late = reported_at - occurred_at > 48 h.
 * Rows declared before reported_at existed have it 0 and keep the late
 * flag they were given then.
 *
 * A theft may be declared before its police complaint exists: it is
 * "complaint missing" until both the reference (police_ref) and the
 * complaint's day (complaint_at) are recorded, and "complaint overdue"
 * when it is still missing 48 h after the report (reported_at, else
 * declared_at).  A theft declared before reported_at existed carried its
 * reference by rule and counts as complete without a day.
 */
#ifndef DB_INCIDENT_H
#define DB_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include "db_device.h"

struct db;

enum db_incident_kind { DB_INC_LOSS, DB_INC_THEFT, DB_INC_DAMAGE, DB_INC_FAILURE };
enum db_incident_outcome { DB_INC_FOUND, DB_INC_REPAIRED, DB_INC_WRITTEN_OFF };

/* Declarations later than this after the event are flagged late. */
#define DB_INCIDENT_LATE_SECONDS (48 * 3600)
#define DB_INCIDENT_TEXT_MAX	 512

struct db_incident {
	int64_t id;
	int64_t device_id;
	char serial[DB_SERIAL_MAX + 1];
	char school[9];
	int64_t loan_id; /* 0: none in progress when declared */
	char holder[DB_EXT_ID_MAX + 1];
	enum db_incident_kind kind;
	int64_t occurred_at;
	int64_t declared_at;
	int late;
	char police_ref[DB_INCIDENT_TEXT_MAX + 1];
	char note[DB_INCIDENT_TEXT_MAX + 1];
	char prev_state[16];
	int open;
	char outcome[16]; /* "" while open */
	char close_note[DB_INCIDENT_TEXT_MAX + 1];
	int64_t closed_at;
	char declared_by[65];
	char closed_by[65];
	int64_t reported_at;  /* 0: declared before it was recorded */
	int64_t complaint_at; /* the complaint's day; 0: not recorded */
	int has_cost;
	int64_t cost_cents; /* euro cents, when has_cost */
	int reimburse;	    /* a reimbursement is asked of the family */
	int complaint_missing, complaint_overdue;
};

/* The most a cost may be: 100,000 euros (in cents). */
#define DB_INCIDENT_COST_MAX (100000LL * 100)

/* What a declaration records.  Zero-initialise it and set what is known:
 * reported_at 0 means now; police_ref NULL or "" and complaint_at 0 mean
 * not yet (a theft is then "complaint missing"); cost_cents counts only
 * with has_cost.  Strings are borrowed for the call. */
struct db_incident_decl {
	int64_t device_id;
	enum db_incident_kind kind;
	int64_t occurred_at;
	int64_t reported_at;
	const char *police_ref;
	int64_t complaint_at;
	int has_cost;
	int64_t cost_cents;
	int reimburse;
	const char *note;
	const char *actor;
};

/* What an update changes (db_incident_update()): each part only when its
 * set_* flag is non-zero.  Setting reported_at recomputes late. */
struct db_incident_change {
	int set_police_ref, set_complaint_at, set_reported_at, set_cost, set_reimburse;
	const char *police_ref;
	int64_t complaint_at;
	int64_t reported_at;
	int has_cost; /* with set_cost: 0 removes the cost */
	int64_t cost_cents;
	int reimburse;
};

const char *db_incident_kind_name(enum db_incident_kind k);
int db_incident_kind_from_name(const char *name, enum db_incident_kind *ret);
const char *db_incident_outcome_name(enum db_incident_outcome o);
int db_incident_outcome_from_name(const char *name, enum db_incident_outcome *ret);
/* The device state an incident of this kind puts the device in. */
enum db_device_state db_incident_state(enum db_incident_kind k);
/* 1 when outcome can close an incident of kind k (found: loss/theft;
 * repaired: damage/failure; written_off: any). */
int db_incident_outcome_fits(enum db_incident_kind k, enum db_incident_outcome o);

/* Declares the incident of d (its collège and loan in progress are
 * recorded, declared_at is now; late from occurred_at and reported_at).
 * Runs in its own transaction, or in the caller's (db_begin() nests).
 * AP_ECONFLICT when the device already has an open incident or its state
 * cannot go to the kind's state; AP_EINVAL for a kind out of range, a
 * reported_at before occurred_at, a negative cost or one above
 * DB_INCIDENT_COST_MAX.  The rules on dates in the future are the
 * caller's. */
int db_incident_declare_with(struct db *db, const struct db_incident_decl *d, int64_t *ret_id);
/* The same with reported_at now, no complaint day and no cost (the call
 * of before: a theft without police_ref is now accepted, complaint
 * missing). */
int db_incident_declare(struct db *db, int64_t device_id, enum db_incident_kind kind,
			int64_t occurred_at, const char *police_ref, const char *note,
			const char *actor, int64_t *ret_id);
/* Changes incident id (open or closed) as c says.  AP_ENOTFOUND when
 * unknown; AP_EINVAL for a reported_at before the event, an empty
 * police_ref, or a cost out of range. */
int db_incident_update(struct db *db, int64_t id, const struct db_incident_change *c);
/* Closes an open incident (see the top of this file for the device).
 * AP_ECONFLICT when already closed; AP_EINVAL when the outcome does not
 * fit the kind. */
int db_incident_close(struct db *db, int64_t id, enum db_incident_outcome outcome, const char *note,
		      const char *actor);
/* AP_ENOTFOUND when unknown. */
int db_incident_get(struct db *db, int64_t id, struct db_incident *ret);

struct db_incident_filter {
	const char *const *only; /* collèges, NULL = all */
	size_t n_only;
	int open_only;
	int64_t device_id; /* >0: this device only */
	int64_t after_id;
	size_t limit;
	int complaint_missing; /* 1: only thefts whose complaint is missing */
};

int db_incident_list(struct db *db, const struct db_incident_filter *f,
		     int (*fn)(const struct db_incident *in, void *arg), void *arg,
		     int64_t *ret_next);

#endif
