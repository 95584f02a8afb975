/*
 * push_sched.h - which device to push, and when: per-device coalescing,
 * retry backoff, and a hard bound on the devices tracked.  A pure data
 * structure: no I/O, no clock (callers pass `now` in milliseconds of any
 * monotonic clock), no locking (one thread uses it).
 *
 * A device known to the schedule is in one of three states:
 *   waiting  a push is planned at `due`;
 *   flight   push_sched_next() handed it out; push_sched_done() ends it;
 *   quiet    it was pushed less than coalesce_ms ago: a new notification
 *            waits for the end of that window.
 * Unknown devices cost nothing.  Coalescing: the first notification plans
 * the push coalesce_ms later (so a burst of queued commands gives one push);
 * further notifications before it goes out are merged; a notification while
 * a push is in flight plans one more after it.  A manual push is due now.
 * Retries: attempt n (1-based) waits retry_base_ms * 2^(n-1), at most
 * retry_max_ms, plus a jitter of up to a quarter derived from the device id
 * (so equal inputs give equal plans); after `retries` retries the device is
 * forgotten (the caller's re-push job takes over).
 */
#ifndef PUSH_SCHED_H
#define PUSH_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct push_sched;

enum push_kind {
	PUSH_QUEUED, /* a command was queued: coalesce */
	PUSH_MANUAL, /* staff asked: now */
	PUSH_REPUSH, /* the stale re-push job: coalesce like queued */
};

enum push_end {
	PUSH_END_OK,	 /* accepted: quiet for the window */
	PUSH_END_RETRY,	 /* try again after a backoff */
	PUSH_END_RESEND, /* never processed: again now, no attempt counted */
	PUSH_END_DROP,	 /* give up on this device (bad token, refused) */
};

struct push_sched_opts {
	uint64_t coalesce_ms;
	uint64_t retry_base_ms;
	uint64_t retry_max_ms;
	unsigned retries;
	size_t max_devices; /* devices tracked at once, in any state (>= 1) */
};

int push_sched_new(const struct push_sched_opts *o, struct push_sched **ret);
void push_sched_free(struct push_sched *s); /* NULL ok */

/* A reason to push device id.  Returns 0 when a push is now planned, 1 when
 * merged into one already planned or in flight, AP_ELIMIT when max_devices
 * are tracked already (nothing planned), AP_EINVAL for an id <= 0. */
int push_sched_notify(struct push_sched *s, int64_t id, enum push_kind k, uint64_t now);

/* The next device due at now, moved to flight: returns 1 and writes
 * *ret_id and *ret_kind; 0 when none is due.  Quiet devices whose window
 * ended are dropped on the way. */
int push_sched_next(struct push_sched *s, uint64_t now, int64_t *ret_id, enum push_kind *ret_kind);

/* Drops quiet devices whose window ended; 1 when a waiting device is due
 * at now (what push_sched_next() would hand out), else 0. */
int push_sched_due(struct push_sched *s, uint64_t now);

/* When the earliest waiting or quiet device is due; UINT64_MAX when none. */
uint64_t push_sched_next_due(const struct push_sched *s);

/* Ends the flight of id.  Returns 0, 1 when retries are exhausted (the
 * device is forgotten), AP_ENOTFOUND when id is not in flight.  *ret_attempt
 * (may be NULL) gets the number of failed attempts so far. */
int push_sched_done(struct push_sched *s, int64_t id, enum push_end e, uint64_t now,
		    unsigned *ret_attempt);

/* Forgets id whatever its state (not pushable). */
void push_sched_forget(struct push_sched *s, int64_t id);

/* Drain: every waiting device becomes due now; quiet ones are dropped. */
void push_sched_flush(struct push_sched *s, uint64_t now);

/* Devices tracked: total, and waiting / in flight. */
size_t push_sched_count(const struct push_sched *s);
size_t push_sched_waiting(const struct push_sched *s);
size_t push_sched_in_flight(const struct push_sched *s);

/* Delay before retry `attempt` (>= 1) of device id, in ms. */
uint64_t push_sched_backoff(const struct push_sched_opts *o, int64_t id, unsigned attempt);

#endif
