/*
 * ade_sync.h - the Automated Device Enrolment run (docs/apple-services.md
 * §2): the tablets Apple School Manager assigned to Ardoise fetched into
 * the inventory, the enrolment profiles defined at Apple and assigned.
 *
 * A run goes on a libuv work thread (libcurl blocks) with its own
 * database connection and ONE kept HTTPS connection to [ade] url (extra
 * trust anchors: [ade] ca):
 *   1. GET /session signed with OAuth 1.0a (ade_oauth.h; the token's two
 *      secrets unsealed on the loop before the run, wiped after);
 *   2. the devices: a full fetch (POST /server/devices, limit 1000, the
 *      cursor followed while more_to_follow; EXHAUSTED_CURSOR: switch to
 *      sync) when asked (--full), when there is no cursor or the phase is
 *      fetch; else POST /devices/sync from the stored cursor
 *      (EXPIRED_CURSOR / INVALID_CURSOR: dropped, a full fetch).  Each page
 *      in one transaction, its cursor stored in it, after its devices;
 *   3. each profile new or changed (no profile_uuid) defined (POST
 *      /profile: settings + url = public URL + /mdm/ade/enroll +
 *      anchor_certs = the daemon's CA, which signs its TLS certificate);
 *   4. the assignment: every tablet not removed whose profile (its
 *      collège's, else the fleet's) is not the one Ardoise assigned, or
 *      whose assignment is due again, in batches of 1000 (POST
 *      /profile/devices): SUCCESS assigned, THROTTLED throttled until
 *      retry_after_seconds, FAILED failed (again in an hour),
 *      NOT_ACCESSIBLE failed with the reason (again in an hour).
 * Every call carries X-Server-Protocol-Version 10, the session,
 * Content-Type/Accept; an answer carrying X-ADM-Auth-Session replaces the
 * session; 401 (or 403 FORBIDDEN): a new session and the call once more;
 * 429/503: Retry-After (at most ADE_SYNC_WAIT_MAX_S, the daemon's stop
 * interrupts it) up to ADE_SYNC_RETRIES times; 403 ACCESS_DENIED /
 * T_C_NOT_SIGNED, 400 MALFORMED and the rest stop the run with the reason
 * recorded (ade_sync: error_at, error_status, error = "kind: detail").
 * One run at a time in the process: asking while one runs joins it.
 */
#ifndef ADE_SYNC_H
#define ADE_SYNC_H

#include <stdint.h>

struct worker;

#define ADE_SYNC_WAIT_MAX_S 60 /* the longest Retry-After waited */
#define ADE_SYNC_RETRIES    4  /* 429/503 answers waited out in a call */
#define ADE_SYNC_LIMIT	    1000
#define ADE_SYNC_ASSIGN_GAP 3600 /* FAILED / NOT_ACCESSIBLE: tried again after */

/* What the last run did (or the one running). */
struct ade_sync_run {
	uint64_t id; /* 1, 2... since start; 0: none */
	int running, full;
	char phase[8]; /* what it did: fetch or sync */
	int64_t started_at, ended_at, duration_ms;
	int64_t pages, seen, added, modified, removed; /* devices */
	int64_t defined, assigned, throttled, failed;  /* profiles, assignments */
	long status;				       /* HTTP status of the failure, 0: none */
	char error[512];			       /* "kind: detail", "" when it went well */
};

/* Starts a run unless one is running (then joins it): the run's id into
 * *ret_id.  AP_EMISSING without a token, AP_ENOMEM, AP_EIO. */
int ade_sync_start(struct worker *w, int full, uint64_t *ret_id);
/* The periodic job (jobs.c): a run when a token is there, sync_minutes
 * passed since the last one and next_at (Retry-After) is past. */
int ade_sync_job(struct worker *w);
/* A run now (POST /api/v1/jobs/ade_sync/run): started, or the running
 * one joined; nothing without a token. */
int ade_sync_now(struct worker *w);
/* Drain: the run in flight gives up at its next step. */
void ade_sync_stop(void);
/* A copy of the last (or running) run. */
void ade_sync_last(struct ade_sync_run *ret);

#endif
