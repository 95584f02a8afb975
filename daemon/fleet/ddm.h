/*
 * ddm.h - declarative device management, the desired-state side: storing
 * declarations (with Ardoise's refusals), keeping the generated
 * activations in step with the configurations assigned to each scope,
 * the status subscriptions every tablet gets, and recomputing the
 * tablets' DeclarationsTokens (then pushing the tablets whose token
 * changed, so that they check in and synchronise).
 *
 * Generated declarations (never typed by staff; the API refuses to edit,
 * assign or remove them):
 *  - "ardoise.activation.<slug>" (com.apple.activation.simple), one per
 *    scope with at least one configuration assigned that has no models
 *    filter; StandardConfigurations = those configurations' identifiers,
 *    sorted; assigned to that scope; removed when the list is empty.
 *  - "<identifier>.act", one per configuration WITH a models filter (an
 *    update plan), with the same filter, assigned to the same scopes as
 *    it; removed with it.
 *  - "ardoise.status-subscriptions"
 *    (com.apple.configuration.management.status-subscriptions), assigned
 *    to "fleet" (ddm_status_subscriptions_ensure()).
 *
 * Pushes: ddm_recompute() run outside a transaction commits, then pushes
 * the tablets whose token changed (push_notify).  Nested in a caller's
 * transaction, it cannot know when (or whether) that commits: the
 * tablets to push wait in a list of the worker's thread, and the caller
 * calls ddm_flush_pushes(w) after its commit (or ddm_drop_pushes() after
 * a rollback).  Nothing is lost if a caller forgets: the next recompute
 * outside a transaction on that thread sends them too, and a tablet
 * checking in reads its current token anyway.
 */
#ifndef DDM_H
#define DDM_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct worker;
struct cmdq_result;

/* Generated identifiers. */
#define DDM_ACTIVATION_PREFIX "ardoise.activation."
#define DDM_UPDATE_PREFIX     "ardoise.update."
#define DDM_STATUS_SUBS_ID    "ardoise.status-subscriptions"
#define DDM_PLAN_ACT_SUFFIX   ".act"
#define DDM_SLUG_MAX	      64   /* octets of a slug */
#define DDM_MODELS_MAX	      4096 /* octets of a models filter's JSON text */

struct ddm_stats {
	int64_t devices, changed, pushed;
	int64_t cpu_ms, total_ms;
};

/*
 * Recomputes the DeclarationsToken of the DDM-enabled tablets of a collège
 * (school), one tablet (device_id != 0; enabled or not: a tablet whose
 * command is not acknowledged yet still gets its token stored) or the
 * fleet (school NULL, device_id 0); stores the changed ones
 * (db_ddm_token_store) and pushes them (push_notify) after commit.  Nests
 * in a caller's transaction: then the pushes wait until the caller
 * commits and calls ddm_flush_pushes(w) (see above).  Outside
 * one, a run over many tablets commits every 10,000 tablets (db_split), as
 * reconcile does, and pushes after each commit.  reason is logged, one
 * line with devices / changed / cpu_ms.  ret may be NULL.
 */
int ddm_recompute(struct worker *w, const char *school, int64_t device_id, const char *reason,
		  struct ddm_stats *ret);

/*
 * Adds (update 0) or replaces (update 1) a declaration from its Type,
 * Identifier and Payload (JSON object text): computes its ServerToken
 * (ap_ddm_server_token), refuses what Ardoise never stores (Type
 * com.apple.asset.credential.*, any Payload key whose name contains
 * "password", case-insensitive, at any depth: AP_EINVAL with detail),
 * stores it (db_ddm_declaration_add/_update).  models: NULL, or a JSON
 * array of product types ("iPad13,18") -- then only tablets whose
 * product_name is in it get the declaration (the update plans' filter;
 * see db_ddm_declaration_models()).  A configuration with a models
 * filter gets its activation "<identifier>.act" made or replaced too.
 * In one transaction nested in the caller's.  *ret_changed (may be NULL)
 * 1 when the content (or the filter) changed.  The caller then calls
 * ddm_scope_sync() for the scopes it is assigned to when it is new or a
 * configuration, and ddm_recompute().
 */
int ddm_declaration_put(struct db *db, const char *type, const char *identifier,
			const char *payload, size_t len, const char *models, const char *actor,
			int update, int *ret_changed, char *detail, size_t detail_cap);

/*
 * After declarations were assigned to / unassigned from scope (or
 * removed), or added/updated: keeps the scope's generated activation in
 * step with the configurations assigned to it, and the ".act" activation
 * of each filtered configuration assigned to it (assigned to the scope,
 * or unassigned, or removed with its configuration).  In the caller's
 * transaction (one of its own otherwise).
 */
int ddm_scope_sync(struct db *db, const char *scope, const char *actor);

/*
 * Removes a declaration (db_ddm_declaration_remove) and what was
 * generated for it (its ".act" activation), then syncs the scopes it was
 * assigned to (ddm_scope_sync).  In one transaction nested in the
 * caller's.  AP_ENOTFOUND.
 */
int ddm_declaration_remove(struct db *db, const char *identifier, const char *actor);

/* 1 when identifier is one Ardoise generates (DDM_ACTIVATION_PREFIX,
 * DDM_UPDATE_PREFIX, DDM_STATUS_SUBS_ID, or "<x>.act" of a filtered
 * configuration x): staff routes must refuse to edit, assign or remove
 * it.  db may be NULL (then only the prefixes are checked). */
int ddm_generated(struct db *db, const char *identifier);

/* The slug of a scope: ':' and '/' as '-', A-Z lowercased, other octets
 * outside A-Za-z0-9._- as '_'; when that is over DDM_SLUG_MAX octets,
 * the first 16 hex characters of the SHA-256 of the scope text instead.
 * out holds DDM_SLUG_MAX + 1 octets. */
void ddm_scope_slug(const char *scope, char out[DDM_SLUG_MAX + 1]);

/* The Payload of a com.apple.activation.simple listing ids (n, in the
 * order given: the caller sorts): malloc'd JSON text
 * {"StandardConfigurations": [...]}, compact with sorted keys. */
char *ddm_activation_payload(const char *const *ids, size_t n);

/* The Payload of the status subscriptions configuration: the items of
 * the contract that the status schema knows.  malloc'd JSON text. */
char *ddm_status_subscriptions_payload(void);

/* Creates the status subscriptions configuration and its fleet assignment
 * when missing (ardoised --init, and at each start), then syncs the fleet
 * activation.  *ret_created (may be NULL) 1 when it was created. */
int ddm_status_subscriptions_ensure(struct db *db, const char *actor, int *ret_created);

/* Sends the pushes a nested ddm_recompute() deferred (this thread's);
 * call after the caller's commit.  ddm_drop_pushes() forgets them (after a
 * rollback). */
void ddm_flush_pushes(struct worker *w);
void ddm_drop_pushes(void);

/* ---- hooks the device side calls ------------------------------------------ */

/* A first TokenUpdate: forgets the tablet's previous DDM state
 * (db_ddm_forget_device), computes and stores its token and, when
 * os_version is 16 or later, queues the DeclarativeManagement command
 * (Data = the tokens document).  In the caller's transaction. */
int ddm_enrolled(struct worker *w, int64_t device_id, const char *os_version);
/* A cmdq_on_result() hook, inside the report's transaction: an
 * acknowledged DeclarativeManagement enables DDM (db_ddm_enable) and
 * recomputes the tablet; a DeviceInformation result recomputes it when
 * its product_name may have changed. */
int ddm_on_result(struct worker *w, const struct cmdq_result *res);

#endif
