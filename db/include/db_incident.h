/*
 * db_incident.h - loss, theft, damage and failure of tablets.
 *
 * Declaring an incident moves the device to lost, stolen or repair;
 * closing it moves the device back (to loaned or returning when its loan is
 * still in progress, else stock) or, when written off, retires it and ends
 * its loan.  A device has at most one open incident.  A theft always
 * carries the police complaint reference (a CHECK constraint guards it).
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

/* Declares an incident on device_id (its collège and loan in progress are
 * recorded; late is computed from occurred_at and now).  AP_ECONFLICT when
 * the device already has an open incident or its state cannot go to the
 * kind's state; AP_EMISSING for a theft without police_ref. */
int db_incident_declare(struct db *db, int64_t device_id, enum db_incident_kind kind,
			int64_t occurred_at, const char *police_ref, const char *note,
			const char *actor, int64_t *ret_id);
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
};

int db_incident_list(struct db *db, const struct db_incident_filter *f,
		     int (*fn)(const struct db_incident *in, void *arg), void *arg,
		     int64_t *ret_next);

#endif
