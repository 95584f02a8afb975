/*
 * db_privacy.h - personal data: leavers' pseudonymisation, what is held on
 * one person (the right of access), and the académie's indicators (counts
 * without personal data).
 *
 * Pseudonymising a person keeps their row and everything tied to it (loans,
 * incidents, agreements: the fleet's history) but takes out what names
 * them: the name becomes DB_PRIVACY_PUPIL_LABEL or DB_PRIVACY_TEACHER_LABEL
 * and the row's number ("Élève parti n° 42"), the class is emptied, the
 * external id becomes "anon-" and 16 hexadecimal digits from the OS random
 * source, pseudonymised_at is set; the free-text notes of the incidents
 * declared during their loans (note, close_note: staff may have written a
 * name there) are emptied.  The audit log is append-only and keeps its
 * rows as they were written.
 */
#ifndef DB_PRIVACY_H
#define DB_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_PRIVACY_PUPIL_LABEL	 "Élève parti"
#define DB_PRIVACY_TEACHER_LABEL "Enseignant parti"
#define DB_PRIVACY_ANON_PREFIX	 "anon-"

/* Pseudonymises at most `limit` people whose last day is before
 * left_before (left_at < left_before), not pseudonymised yet and with no
 * loan in progress (open or returning: the collège still has a tablet to
 * get back), oldest row first, in the caller's transaction or its own.
 * *ret_count: how many.  Writes no audit row: the caller appends it in the
 * same transaction. */
int db_privacy_pseudonymise(struct db *db, int64_t left_before, size_t limit, int64_t *ret_count);
/* How many people left before left_before, are not pseudonymised and are
 * held back by a loan in progress. */
int db_privacy_held_back(struct db *db, int64_t left_before, int64_t *ret);
/* When the person of external id ext_id was pseudonymised (0: not);
 * AP_ENOTFOUND when nobody has this id. */
int db_privacy_pseudonymised_at(struct db *db, const char *ext_id, int64_t *ret);

/* One person's row as kept, for the right of access. */
struct db_privacy_person {
	int64_t id;
	int64_t created_at, updated_at, pseudonymised_at; /* 0: none */
};
/* AP_ENOTFOUND when nobody has this external id. */
int db_privacy_person(struct db *db, const char *ext_id, struct db_privacy_person *ret);

/* A guardians' agreement of one school year (table agreement). */
struct db_privacy_agreement {
	int64_t school_year;			      /* the year it starts: 2026 for 2026-2027 */
	int64_t signed_at, withdrawn_at, recorded_at; /* 0: none */
	char recorded_by[65];
};
/* Calls fn for the person's agreements, by school year, until it returns
 * non-zero. */
int db_privacy_agreements(struct db *db, int64_t person_id,
			  int (*fn)(const struct db_privacy_agreement *a, void *arg), void *arg);
/* Calls fn with the id of each incident declared during one of the
 * person's loans of the collèges in only (NULL: all), by id. */
int db_privacy_incident_ids(struct db *db, int64_t person_id, const char *const *only,
			    size_t n_only, int (*fn)(int64_t id, void *arg), void *arg);
/* Calls fn for the audit rows about the person: those whose target is
 * ext_id, and those whose detail names them ("person": ext_id), oldest
 * first, at most limit (0: all).  The row's pointers are valid during the
 * call only. */
struct db_audit_row;
int db_privacy_audit(struct db *db, const char *ext_id, int64_t limit,
		     int (*fn)(const struct db_audit_row *r, void *arg), void *arg);

/* ---- the académie's indicators -------------------------------------- */

/* What is counted, per collège and class level, over a period. */
enum db_ind_measure {
	DB_IND_LOANS,	 /* loans started */
	DB_IND_HOME_USE, /* of which with home use */
	DB_IND_RETURNS,	 /* tablets handed back */
	DB_IND_INC_LOSS, /* incidents declared, by kind */
	DB_IND_INC_THEFT,
	DB_IND_INC_DAMAGE,
	DB_IND_INC_FAILURE,
	DB_IND__COUNT
};
/* The class levels: a pupil's from their class as recorded now (6, 5, 4,
 * 3 first digit; ULIS, SEGPA, other or no class: OTHER), teachers apart,
 * NONE for an incident on a tablet that was on loan to nobody. */
enum db_ind_level {
	DB_IND_6E,
	DB_IND_5E,
	DB_IND_4E,
	DB_IND_3E,
	DB_IND_OTHER,
	DB_IND_TEACHER,
	DB_IND_NONE,
	DB_IND_NLEVELS
};
const char *db_ind_measure_name(enum db_ind_measure m);
const char *db_ind_level_name(enum db_ind_level l);
/* The level of a person (kind "pupil" or "teacher", class as stored);
 * kind NULL: no person (DB_IND_NONE). */
enum db_ind_level db_ind_level_of(const char *kind, const char *class_name);

/* One collège's counts. */
struct db_ind_row {
	char uai[9];
	char name[129];
	int64_t n[DB_IND__COUNT][DB_IND_NLEVELS];
};
/* The counts of events in [from, to) (epoch seconds), for the collèges
 * that had any, by UAI: *ret an array of *ret_n rows the caller frees. */
int db_privacy_indicators(struct db *db, int64_t from, int64_t to, struct db_ind_row **ret,
			  size_t *ret_n);

#endif
