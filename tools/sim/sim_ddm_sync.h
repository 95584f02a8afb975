/*
 * sim_ddm_sync.h - one DDM synchronisation of a simulated iPad as a state
 * machine without I/O (the steps of sim_ddm.h): it says which
 * DeclarativeManagement check-in to send next and takes the server's
 * answer to it.  sim_session.c drives it over the network; the protocol
 * tests drive it against the daemon's router in one process.
 *
 *   sim_ddm_sync_start(&s, d, now, 0, &done);
 *   while (!done) {
 *           send the check-in sim_ddm_checkin(d, s.endpoint, s.data, s.len);
 *           sim_ddm_sync_answer(&s, d, now, status, body, len, &done, why, cap);
 *   }
 *   sim_ddm_sync_clear(&s);
 *
 * Steps: tokens (skipped when a DeclarativeManagement command gave them),
 * declaration-items and each new or changed declaration when the token
 * moved (a 404 for one drops it), then status when there is something to
 * report; an install started by the sync is reported (`installing`), done
 * (sim_ddm_install()) and reported again.  Any other answer than 200 (or
 * 404 for a declaration), or a document the tablet cannot read, ends the
 * sync with an error; what was applied so far stays.
 */
#ifndef SIM_DDM_SYNC_H
#define SIM_DDM_SYNC_H

#include "sim_ddm.h"

#include <stddef.h>

enum sim_ddm_step {
	SIM_SYNC_TOKENS,
	SIM_SYNC_ITEMS,
	SIM_SYNC_DECLARATION,
	SIM_SYNC_STATUS,
	SIM_SYNC_DONE,
};

struct sim_ddm_sync {
	enum sim_ddm_step step;
	char endpoint[AP_DDM_ID_MAX + 32]; /* the check-in to send */
	char *data;			   /* its Data (the status report), NULL: none */
	size_t len;
	int full; /* every report is a full one */
	/* progress */
	char token[AP_DDM_DTOKEN_MAX + 1];
	struct sim_ddm_fetch *fetch;
	size_t n_fetch, i_fetch;
	int installing;
	size_t fetched, reports; /* declarations received, reports taken */
};

/* Starts a sync of d (s is zeroed first).  *ret_done 1 when there is
 * nothing to send (cannot happen today: tokens or a report at least). */
int sim_ddm_sync_start(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now,
		       int full, int *ret_done);
/* The server answered the check-in in s: status, body[0..len).  Sets the
 * next check-in, or *ret_done.  A negative AP_E* code ends the sync, why
 * (cap bytes) saying what went wrong. */
int sim_ddm_sync_answer(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now,
			int status, const char *body, size_t len, int *ret_done, char *why,
			size_t cap);
/* Frees what s holds; s can be started again. */
void sim_ddm_sync_clear(struct sim_ddm_sync *s);

#endif
