/*
 * gdmf_sync.h - Apple's software update catalogue fetched and kept
 * ([updates] catalogue_url, catalogue_ca, catalogue_refresh_hours).
 *
 * One catalogue for the process.  The last good copy is the file
 * DATA_DIR/gdmf.json (Apple's answer as received, written atomically; its
 * modification time is when it was fetched), loaded at start.  A fetch
 * runs on a libuv work thread (libcurl blocks): GET catalogue_url over
 * HTTPS only, no redirect, the answer capped at GDMF_MAX_BYTES; a 429
 * with Retry-After of at most 10 s is tried again after that wait, up to
 * 3 times; any other failure (HTTP status, curl error, an answer gdmf.h
 * refuses) keeps the last good copy and is recorded (time, status, why)
 * and logged.  Back on the loop that started it, the new copy replaces
 * the old for every reader.  One fetch at a time in the process.
 *
 * Readers on any thread go through gdmf_sync_read(), which holds the lock
 * while the caller's function runs: keep it short.
 */
#ifndef GDMF_SYNC_H
#define GDMF_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "gdmf.h"

struct server;
struct worker;

#define GDMF_SYNC_FILE	     "gdmf.json"
#define GDMF_SYNC_RETRIES    3	/* after a 429 */
#define GDMF_SYNC_WAIT_MAX_S 10 /* the longest Retry-After honoured */

/* What a reader sees (borrowed for the time of the call). */
struct gdmf_sync_view {
	const struct gdmf *cat; /* the last good copy; NULL when there is none */
	int64_t fetched_at;	/* when it was fetched; 0 when none */
	size_t bytes;		/* its size */
	int fetching;		/* a fetch is in flight */
	int64_t checked_at;	/* the end of the latest attempt (0: none since start) */
	uint64_t attempts;	/* requests sent since start (each retry counts) */
	/* the latest attempt's failure; error[0] == '\0' when it succeeded or
	 * there was none */
	int64_t error_at;
	long error_status; /* its HTTP status, 0 when none came (a curl error) */
	char error[300];
};

/* At start, before the workers: loads DATA_DIR/gdmf.json when there is
 * one (a copy that no longer parses is logged and left aside).  Never
 * fails the start. */
void gdmf_sync_start(const struct server *srv);
/* The periodic job (jobs.c): a fetch when catalogue_refresh_hours is not
 * 0 and the copy is that old (or missing) and no attempt was made in the
 * last hour. */
int gdmf_sync_job(struct worker *w);
/* A fetch now (POST /api/v1/jobs/updates_catalogue/run): 0 when it
 * started or one is in flight. */
int gdmf_sync_now(struct worker *w);
/* Drain: the fetch in flight gives up at its next step. */
void gdmf_sync_stop(void);
/* Calls fn with the current state, under the lock. */
void gdmf_sync_read(void (*fn)(const struct gdmf_sync_view *v, void *arg), void *arg);

#endif
