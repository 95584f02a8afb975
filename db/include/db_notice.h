/*
 * db_notice.h - what the daily notice by e-mail lists (daemon/api/notice.c):
 * for the collèges' staff, loans overdue, leavers still holding a tablet,
 * thefts without their complaint reference, tablets still in Lost Mode; for
 * technicians, geolocation requests awaiting their second approval and the
 * tablets whose commands wait.
 */
#ifndef DB_NOTICE_H
#define DB_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "db_device.h"
#include "db_person.h"

struct db;

enum db_notice_kind {
	DB_NOTICE_OVERDUE,	  /* open loans due before `today`, not deposited for the summer */
	DB_NOTICE_LEAVER,	  /* open loans of people whose last day is before `soon` */
	DB_NOTICE_NO_COMPLAINT,	  /* open thefts without a police reference */
	DB_NOTICE_LOST_MODE,	  /* tablets (not retired) that report Lost Mode on */
	DB_NOTICE_LOCATE_PENDING, /* geolocation requests awaiting approval (every collège) */
	DB_NOTICE_NKINDS
};

/* One row of a list.  What a kind does not fill is "" or 0. */
struct db_notice_item {
	enum db_notice_kind kind;
	int64_t id;	/* the loan, incident, tablet or request */
	char school[9]; /* the collège it is listed under, "" for none */
	char serial[DB_SERIAL_MAX + 1];
	char asset_tag[DB_ASSET_TAG_MAX + 1];
	char device_state[16];
	/* the holder (loans, the theft's loan): no external id, ever */
	char name[DB_PERSON_NAME_MAX + 1];
	char class_name[DB_PERSON_CLASS_MAX + 1];
	char person_kind[8];   /* "pupil", "teacher" */
	char requested_by[65]; /* a geolocation request's requester */
	/* due_at (overdue), left_at (leaver), occurred_at (theft),
	 * requested_at (geolocation); 0 for Lost Mode */
	int64_t at;
	int64_t at2; /* a theft's declared_at; a leaver's loan due_at (0: none) */
};

/* Calls fn for each row of kind, ordered by collège then date, until fn
 * returns non-zero.  today: the start of the local day (loans due before
 * it are overdue); soon: people whose last day is before it are leavers
 * (today + 8 days: their last day passed or within the week). */
int db_notice_items(struct db *db, enum db_notice_kind kind, int64_t today, int64_t soon,
		    int (*fn)(const struct db_notice_item *it, void *arg), void *arg);
/* The number of tablets with a command waiting (queued, sent, not now). */
int db_notice_waiting(struct db *db, int64_t *ret);
/* 1 into *ret when an audit row `action` by `actor` was written at or
 * after since (the daily run's row since the start of the day), else 0. */
int db_notice_done_since(struct db *db, const char *action, const char *actor, int64_t since,
			 int *ret);

#endif
