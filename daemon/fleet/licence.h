/*
 * licence.h - the policy engine's licence step (Apps and Books, issue 16;
 * docs/apple-services.md §3.5): App Store apps reach a tablet only once
 * the tablet's serial holds a device licence.
 *
 * A run (the periodic job "vpp_sync" every [vpp] sync_minutes, a policy
 * or enrolment reconciliation, `ardoisectl vpp sync`) goes on a libuv
 * work thread with its own database connection, token after token: the
 * sToken unsealed there only (wiped after), the assets and their counts
 * synced, Apple's assignments compared with Ardoise's licences (a licence
 * Apple does not have is dropped, one Ardoise did not know is adopted and
 * then kept or freed by the plan); then pol_lic_plan() over every active
 * tablet (enrolled, not retired) with the App Store apps of its desired
 * state, each in the location of the token that covers it (its collège's
 * token, else the fleet's); disassociations, then associations, posted in
 * Apple's batch sizes and their events polled to COMPLETE or FAILED; the
 * shortages stored per collège (db_vpp_short).  Back on the loop, the
 * tablets that got a licence are reconciled, and only then does
 * reconcile.c queue their InstallApplication, with PurchaseMethod 1
 * (vpp_install_params()).  One run at a time in the process; asked while
 * one runs, another follows it.
 */
#ifndef LICENCE_H
#define LICENCE_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct worker;

/* The periodic job: a run when [vpp] sync_minutes is not 0 and there is a
 * token. */
int licence_job(struct worker *w);
/* A run now, or after the one in flight (reason for the log). */
int licence_sync_now(struct worker *w, const char *reason);
/* Who is told, on the loop that ran it, of the tablets a run licensed
 * (main.c wires reconcile_licensed(): their InstallApplication goes now).
 * Set once before the workers start. */
void licence_on_licensed(int (*fn)(struct worker *w, const int64_t *ids, size_t n));
/* licence_sync_now(w, "asked"): the job's run now. */
int licence_sync_asked(struct worker *w);
/* Drain: the run in flight gives up at its next step. */
void licence_stop(void);
/* 1 when a run is in flight. */
int licence_running(void);

/* 1 when an association for tablet device_id is in flight (the tablet's
 * App Store app awaits its licence: not settled), 0 when not, or an
 * AP_E* error.  An app short of licences is not in flight. */
int licence_waiting(struct worker *w, int64_t device_id);

/* What reconcile.c needs: the tablets covered by a token and the
 * licences they hold. */
struct licence_held;

/* For every enrolled tablet (device_id 0) or one.  AP_ENOMEM, AP_EDB. */
int licence_held_load(struct db *db, int64_t device_id, struct licence_held **ret);
void licence_held_free(struct licence_held *h);

enum licence_gate {
	LICENCE_NONE,	 /* no token covers the tablet: the app goes as before */
	LICENCE_HELD,	 /* licensed: InstallApplication with PurchaseMethod 1 */
	LICENCE_WITHOUT, /* covered, no licence yet: nothing is queued */
};
/* The gate of App Store app store_id for a tablet of collège school
 * (NULL: none). */
enum licence_gate licence_gate(const struct licence_held *h, int64_t device_id, const char *school,
			       int64_t store_id);

/* This installation's mdmInfo.id (stable: hex of the SHA-256 of the
 * device CA certificate, 32 characters) into out (at least 33 bytes). */
int licence_mdm_id(struct worker *w, char *out, size_t cap);
#define LICENCE_MDM_NAME "Ardoise"

#endif
