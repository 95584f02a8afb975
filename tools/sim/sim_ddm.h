/*
 * sim_ddm.h - the simulated iPad's side of declarative device management
 * (DDM), without I/O: what it keeps (declarations, tokens, the software
 * update it is installing, the status it last reported), what it does with
 * each answer of a synchronisation, and the status reports it sends.
 *
 * A synchronisation (Apple's "Integrating declarative management"), driven
 * by sim_session.c over the network:
 *   1. `tokens` (or the Data of a DeclarativeManagement command): the
 *      DeclarationsToken; when it is the one of the last synchronisation,
 *      go to 4;
 *   2. `declaration-items`: sim_ddm_manifest() drops the declarations no
 *      longer listed and says which to fetch (new identifier or changed
 *      ServerToken);
 *   3. `declaration/<kind>/<identifier>` for each: sim_ddm_put() on 200,
 *      sim_ddm_drop() on 404; then sim_ddm_synced() keeps the token;
 *   4. sim_ddm_apply(): which declarations are valid and active, and one
 *      step of the software update (below);
 *   5. `status`: sim_ddm_report() (nothing to send when nothing changed),
 *      sim_ddm_report_taken() once the server answered 200.  When step 4
 *      started an install, the tablet reports `installing`, then
 *      sim_ddm_install() "reboots" it (or fails, by the update-fail rule)
 *      and it reports again.
 *
 * Software update (com.apple.configuration.softwareupdate.enforcement.
 * specific, active): the target is the earliest TargetLocalDateTime among
 * the active ones whose TargetOSVersion is newer than the running version
 * (one the tablet already runs, or older: nothing to do).  One step per
 * synchronisation:
 *   - a new target: install-state `downloading`, pending-version set,
 *     install-reason `declaration` (and nothing more in that session);
 *   - `downloading` at the next synchronisation: `prepared`;
 *   - `prepared` (or `failed`) in a synchronisation at or after
 *     TargetLocalDateTime (the tablet's local time, sim_clock): `installing`;
 *     sim_ddm_install() then either fails (install-state `failed`,
 *     failure-reason {count + 1, reason, timestamp}; retried at the next
 *     synchronisation) or boots the new version (OS and build version
 *     updated, install-state `none`, pending-version empty, failure-reason
 *     count 0);
 *   - no target any more (declaration removed, deactivated): back to
 *     `none`.
 *
 * Status reports carry the items the active status-subscriptions
 * configurations subscribe to that this tablet knows (its OS version
 * included), and always management.declarations.  The first report, one
 * after sim_ddm_reset(), and one 24 hours (sim clock) after the last full
 * one are FullReport; the others carry only the items whose value changed
 * since the report the server last took, and for management.declarations
 * only the declarations whose state changed, removed ones with
 * "_removed": true.
 *
 * Ownership: struct sim_ddm is part of struct sim_device and owns its
 * strings; sim_ddm_clear() frees them.  Functions return 0 or a negative
 * AP_E* code and write ret* outputs only on success.
 */
#ifndef SIM_DDM_H
#define SIM_DDM_H

#include "sim_ddm_state.h"

#include <stddef.h>

struct sim_device;

/* The DeclarativeManagement command: Data (may be NULL / 0: none) must be
 * a tokens document (ap_ddm_tokens_parse(), AP_EPARSE etc. otherwise);
 * turns DDM on and asks for a sync in this session. */
int sim_ddm_command(struct sim_device *d, const void *data, size_t len);

/* The DeclarativeManagement check-in for endpoint (Data: data, may be
 * NULL), as XML; *ret_xml malloc'd. */
int sim_ddm_checkin(const struct sim_device *d, const char *endpoint, const void *data, size_t len,
		    char **ret_xml, size_t *ret_len);

/* One declaration to fetch: its endpoint "declaration/<kind>/<identifier>". */
struct sim_ddm_fetch {
	enum ap_ddm_kind kind; /* as the manifest lists it */
	char endpoint[AP_DDM_ID_MAX + 32];
	char identifier[AP_DDM_ID_MAX + 1];
};

/* A declaration-items answer: drops the declarations it no longer lists,
 * *ret the ones to fetch (malloc'd, *ret_n of them, NULL when none),
 * ret_token its DeclarationsToken.  AP_EPARSE / AP_ETYPE / AP_EMISSING /
 * AP_EINVAL (bad identifier or token) / AP_ELIMIT (over SIM_DDM_MAX_DECLS)
 * with d unchanged. */
int sim_ddm_manifest(struct sim_device *d, const char *json, size_t len, struct sim_ddm_fetch **ret,
		     size_t *ret_n, char ret_token[AP_DDM_DTOKEN_MAX + 1]);
/* A fetched declaration {Type, Identifier, ServerToken, Payload}: added or
 * replaced when its Type is of kind's family and its Identifier the one
 * asked for (AP_EINVAL otherwise); AP_EPARSE / AP_ETYPE / AP_EMISSING /
 * AP_ETOOBIG (over AP_DDM_MAX_BYTES) / AP_ELIMIT for the rest. */
int sim_ddm_put(struct sim_device *d, enum ap_ddm_kind kind, const char *identifier,
		const char *json, size_t len);
/* Removes a declaration (404 for it); no-op when absent. */
void sim_ddm_drop(struct sim_device *d, const char *identifier);
/* The synchronisation is complete at token. */
void sim_ddm_synced(struct sim_device *d, const char *token);

/* Validity and activation of every declaration (what a device loaded
 * from the state file shows before its next sync). */
void sim_ddm_evaluate(struct sim_device *d);
/* Validity and activation of every declaration, and one step of the
 * software update.  *ret_install 1 when an install starts (install-state
 * `installing`: report it, then sim_ddm_install()). */
int sim_ddm_apply(struct sim_device *d, const struct sim_clock *now, int *ret_install);
/* Ends an install: fails when d->update_fail is set, else reboots into
 * the pending version. */
int sim_ddm_install(struct sim_device *d, const struct sim_clock *now);

/* The status report to send now (full when force_full, none taken yet,
 * after sim_ddm_reset(), or 24 h after the last full one): *ret_json
 * malloc'd, or NULL (0 returned) when an incremental report would be
 * empty.  Its snapshot waits in d->ddm.next until sim_ddm_report_taken(). */
int sim_ddm_report(struct sim_device *d, const struct sim_clock *now, int force_full,
		   char **ret_json, size_t *ret_len);
/* The server took the report of sim_ddm_report(): it becomes the base of
 * the next incremental one. */
void sim_ddm_report_taken(struct sim_device *d, const struct sim_clock *now);

#endif
