/*
 * db_person.h - pupils and teachers who borrow tablets.
 *
 * Personal data is kept to what loans need: the collège's own id for the
 * person (external id), name, class, collège, the date the guardians signed
 * the home-use agreement, and the last day at the collège.
 */
#ifndef DB_PERSON_H
#define DB_PERSON_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum db_person_kind { DB_PERSON_PUPIL, DB_PERSON_TEACHER };

#define DB_PERSON_ID_MAX    64
#define DB_PERSON_NAME_MAX  128
#define DB_PERSON_CLASS_MAX 32

struct db_person {
	int64_t id;
	char ext_id[DB_PERSON_ID_MAX + 1];
	enum db_person_kind kind;
	char name[DB_PERSON_NAME_MAX + 1];
	char class_name[DB_PERSON_CLASS_MAX + 1]; /* "" for teachers */
	char school[9];
	int64_t agreement_at; /* guardians' agreement signed (day), 0: none */
	int64_t left_at;      /* last day at the collège, 0: still there */
};

const char *db_person_kind_name(enum db_person_kind k);
int db_person_kind_from_name(const char *name, enum db_person_kind *ret);

/* Adds the person, or updates kind, name, class and collège of the one with
 * this external id (agreement and leaving date are kept; a non-zero
 * p->agreement_at replaces the stored one).  *ret_created: an enum db_put
 * (store.h; DB_PUT_UNCHANGED: nothing would change, nothing is written).
 * AP_ECONFLICT when the collège would change while a loan is in
 * progress. */
int db_person_put(struct db *db, const struct db_person *p, int *ret_created);
/* AP_ENOTFOUND when unknown. */
int db_person_get(struct db *db, const char *ext_id, struct db_person *ret);
/* Persons of the collèges in `only` (NULL: all), optionally of one class
 * (NULL: all), ordered by collège, class, name: up to `limit` of them from
 * position `offset`.  *ret_next is the offset of the next page, 0 when
 * there is none. */
int db_person_list(struct db *db, const char *const *only, size_t n_only, const char *class_name,
		   int64_t offset, size_t limit, int (*fn)(const struct db_person *p, void *arg),
		   void *arg, int64_t *ret_next);
/* The same, only the people whose name or external id holds text, case
 * and accents aside ("helene" finds "Hélène"; db_fold(), ard_has()).
 * AP_EINVAL when text is longer than DB_PERSON_Q_MAX bytes. */
#define DB_PERSON_Q_MAX 128
int db_person_find(struct db *db, const char *const *only, size_t n_only, const char *class_name,
		   const char *text, int64_t offset, size_t limit,
		   int (*fn)(const struct db_person *p, void *arg), void *arg, int64_t *ret_next);
/* Records the last day; the person's open loans become due that day when
 * they had no due date or a later one (*ret_loans: how many changed). */
int db_person_leave(struct db *db, int64_t id, int64_t day, int *ret_loans);
/* Records (day > 0) or withdraws (day 0) the guardians' agreement. */
int db_person_set_agreement(struct db *db, int64_t id, int64_t day);

/* The guardians' home-use agreement of school year `year` (the year it
 * starts: 2026 for 2026-2027), table agreement.  person.agreement_at
 * mirrors the current year's signature (NULL when none, or withdrawn):
 * `current` says whether `year` is the current school year (the caller
 * knows the calendar, db_agreement_refresh() follows it over the years). */
struct db_agreement {
	int64_t signed_at;    /* day */
	int64_t withdrawn_at; /* 0: not withdrawn */
	char recorded_by[65];
	int64_t recorded_at;
};
/* AP_ENOTFOUND when none is recorded for that year. */
int db_agreement_get(struct db *db, int64_t person_id, int year, struct db_agreement *ret);
/* Records the signature of `year` (replacing a withdrawn or earlier one). */
int db_agreement_sign(struct db *db, int64_t person_id, int year, int64_t signed_at,
		      const char *actor, int current);
/* Withdraws the agreement of `year`: AP_ENOTFOUND when none is recorded,
 * AP_ECONFLICT when withdrawn already.  When `current`, the person's open
 * home-use loans become school-only with flag "agreement_withdrawn"
 * (*ret_loans: how many). */
int db_agreement_withdraw(struct db *db, int64_t person_id, int year, int current, int *ret_loans);
/* Sets every person.agreement_at to their signature of `year` (the
 * current school year; NULL when none or withdrawn); *ret_n: people
 * changed. */
int db_agreement_refresh(struct db *db, int year, int64_t *ret_n);

#endif
