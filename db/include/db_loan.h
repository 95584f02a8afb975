/*
 * db_loan.h - loans of tablets to pupils and teachers, and their return.
 *
 * A loan is open while the person holds the tablet, returning once it has
 * been handed back and until the EraseDevice that wipes the user's data is
 * acknowledged, then closed.  The device follows: loaned, returning, stock
 * (db_device.h's transition table).  At most one loan per device is open or
 * returning (a unique index guards it).
 *
 * The rules that need a message for staff (same collège, guardians'
 * agreement, person still at the collège) are checked by the API; these
 * functions keep the invariants: state transitions and one loan in progress.
 */
#ifndef DB_LOAN_H
#define DB_LOAN_H

#include <stddef.h>
#include <stdint.h>

#include "db_device.h"
#include "db_person.h"

struct db;

enum db_loan_state { DB_LOAN_OPEN, DB_LOAN_RETURNING, DB_LOAN_CLOSED };

struct db_loan {
	int64_t id;
	int64_t device_id;
	char serial[DB_SERIAL_MAX + 1];
	char asset_tag[DB_ASSET_TAG_MAX + 1];
	int64_t person_id;
	char person[DB_PERSON_ID_MAX + 1]; /* external id */
	char person_name[DB_PERSON_NAME_MAX + 1];
	enum db_person_kind kind;
	char class_name[DB_PERSON_CLASS_MAX + 1];
	char school[9];
	enum db_loan_state state;
	int home_use;
	int64_t started_at;
	int64_t due_at;	     /* day; 0: none */
	int64_t returned_at; /* 0: not handed back */
	int64_t closed_at;   /* 0: not closed */
	char condition[8];   /* "", "ok", "damaged" */
	char end_reason[12]; /* "", "erased", "written_off" */
	char erase_command[37];
	char created_by[65];
	char returned_by[65];
	int64_t deposited_at; /* kept at the collège for the summer since; 0: with the person */
	int64_t overdue_at;   /* first found overdue by the daily job; 0: not (yet) */
	char flag[24];	      /* "", "agreement_withdrawn" (home use turned school-only) */
};

const char *db_loan_state_name(enum db_loan_state s);

/* Opens a loan of device (in stock, moved to loaned) to person, for the
 * collège `school`; due_at 0 for none.  AP_ECONFLICT when the device is not
 * in stock or already has a loan in progress. */
int db_loan_create(struct db *db, int64_t device_id, int64_t person_id, const char *school,
		   int home_use, int64_t due_at, const char *actor, int64_t *ret_id);
/* The device's loan in progress (open or returning); AP_ENOTFOUND if none. */
int db_loan_active(struct db *db, int64_t device_id, struct db_loan *ret);
int db_loan_get(struct db *db, int64_t id, struct db_loan *ret);
/* Hands an open loan back: loan returning, device loaned -> returning.
 * condition is "ok" or "damaged".  AP_ECONFLICT when the loan is not open
 * or the device not loaned. */
int db_loan_return(struct db *db, int64_t loan_id, const char *condition, const char *actor);
/* Records the UUID of the EraseDevice queued for a returning loan. */
int db_loan_set_erase_command(struct db *db, int64_t loan_id, const char *uuid);
/* Called by the MDM side when a device acknowledges EraseDevice: its
 * returning loan is closed (end_reason "erased") and the device goes from
 * returning to stock (it stays where it is if an incident moved it to
 * repair/lost/stolen meanwhile).  Appends the audit row (actor "system",
 * action "loan.erased").  AP_ENOTFOUND when the device has no loan waiting
 * for its erase: nothing is changed (a staff erase outside a return). */
int db_loan_erase_acknowledged(struct db *db, int64_t device_id);
/* A stuck return closed by a technician (device mark-erased): the
 * returning loan of device_id is closed as erased and the device goes from
 * returning to stock, or to repair when it came back damaged (it stays
 * where it is if an incident moved it).  No audit row: the caller's, with
 * the reason.  AP_ENOTFOUND when the device has no loan in progress,
 * AP_ECONFLICT when its loan is open (not handed back); *ret_loan: the
 * loan as it was. */
int db_loan_mark_erased(struct db *db, int64_t device_id, struct db_loan *ret_loan);
/* Summer deposit: an open loan is suspended (deposit 1: deposited_at set,
 * the tablet kept at the collège, nothing erased) or resumed (deposit 0:
 * cleared).  AP_ECONFLICT when the loan is not open, or already
 * deposited (resp. not deposited). */
int db_loan_deposit(struct db *db, int64_t loan_id, int deposit);
/* Changes an open loan: home_use (-1 keeps it), due_at (-1 keeps it, 0
 * none); its flag is cleared.  AP_ECONFLICT when not open. */
int db_loan_update(struct db *db, int64_t loan_id, int home_use, int64_t due_at);
/* How many open loans person_id holds. */
int db_loan_open_count(struct db *db, int64_t person_id, int64_t *ret);
/* The daily job: open loans, not deposited, due before `today` and not
 * marked yet get overdue_at = now, one audit row each (actor "system",
 * action "loan.overdue").  *ret_n: how many. */
int db_loan_mark_overdue(struct db *db, int64_t today, int64_t *ret_n);
/* Closes a loan whose device is written off (end_reason "written_off"). */
int db_loan_close_written_off(struct db *db, int64_t loan_id);

struct db_loan_filter {
	const char *const *only; /* collèges, NULL = all */
	size_t n_only;
	int state;		/* enum db_loan_state, -1 = open or returning, -2 = any */
	int64_t overdue_before; /* >0: open loans due before this time only */
	int64_t device_id;	/* >0: this device's loans only */
	int64_t person_id;	/* >0: this person's loans only */
	int64_t after_id;	/* page: loans with a larger id */
	size_t limit;
};

/* Calls fn for up to f->limit loans in id order; *ret_next as in
 * db_device_list(). */
int db_loan_list(struct db *db, const struct db_loan_filter *f,
		 int (*fn)(const struct db_loan *l, void *arg), void *arg, int64_t *ret_next);

/* Summer collection: pupils' loans of collège `school` (of one class,
 * class_name not NULL) started before `by` whose tablet is still theirs
 * (loan open, device loaned: not handed back, not in repair, lost or
 * stolen), deposited already or not, ordered by class, name. */
int db_loan_campaign(struct db *db, const char *school, const char *class_name, int64_t by,
		     int (*fn)(const struct db_loan *l, void *arg), void *arg);

#endif
