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
 *    sorted; assigned to that scope; removed when the list is empty
 *    (ddm_scope_activation(): the slug's hash where the identifier would
 *    pass 64 octets).
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
 * checking in reads its current token anyway.  mdm.c flushes after a
 * report's commit (the result hooks, ddm_on_result()).
 */
#ifndef DDM_H
#define DDM_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct db_ddm_set;
struct worker;
struct cmdq_result;

/* Generated identifiers. */
#define DDM_ACTIVATION_PREFIX "ardoise.activation."
#define DDM_UPDATE_PREFIX     "ardoise.update."
#define DDM_STATUS_SUBS_ID    "ardoise.status-subscriptions"
#define DDM_PLAN_ACT_SUFFIX   ".act"
#define DDM_SLUG_MAX	      64   /* octets of a slug */
#define DDM_MODELS_MAX	      8192 /* octets of a models filter's JSON text (DB_DDM_MODELS_MAX) */
#define DDM_TOKEN_LEN	      32   /* AP_DDM_TOKEN_LEN */

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
 * filter gets its activation "<identifier>.act" made or replaced too (so
 * its identifier is 60 octets at most), removed when an update drops the
 * filter.  When the content changed, the scopes the declaration is
 * assigned to are synced (ddm_scope_sync()) here.  In one transaction
 * nested in the caller's.  *ret_changed (may be NULL) 1 when the content
 * (or the filter) changed: the caller then calls ddm_recompute() (after
 * its commit, or nested and then ddm_flush_pushes()).  Besides the
 * refusals: AP_EEXIST (add of an identifier in use), AP_ENOTFOUND
 * (update of none), AP_ECONFLICT (update to another kind), AP_EPARSE
 * (Payload not JSON), AP_ETOOBIG; each with its detail.  As with the
 * store's own functions, an error once the store was asked (AP_EEXIST,
 * AP_ENOTFOUND, AP_ECONFLICT) has failed a caller's transaction: roll it
 * back (the refusals of content come before, and leave it usable).
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

/* Ardoise's refusals alone (ddm_declaration_put() applies them): 0, or
 * AP_EINVAL / AP_EPARSE with the reason in detail. */
int ddm_refused(const char *type, const char *payload, size_t len, char *detail, size_t detail_cap);

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
/* The identifier of the scope's generated activation:
 * DDM_ACTIVATION_PREFIX + its slug; when that would be over 64 octets
 * (a slug over 45 octets), the prefix + the 16-hex hash of the scope
 * instead, so that the identifier is always a valid one.  out: 65 octets. */
void ddm_scope_activation(const char *scope, char out[65]);

/* The Payload of a com.apple.activation.simple listing ids (n, in the
 * order given: the caller sorts): malloc'd JSON text
 * {"StandardConfigurations": [...]}, compact with sorted keys. */
char *ddm_activation_payload(const char *const *ids, size_t n);

/* The Payload of the status subscriptions configuration: the items of
 * the contract that the status schema knows.  malloc'd JSON text. */
char *ddm_status_subscriptions_payload(void);
/* The items the status subscriptions list (static storage): their count. */
size_t ddm_status_items(const char *const **ret);

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

/* The DeclarationsToken of a set (ap_ddm_declarations_token()). */
int ddm_set_token(const struct db_ddm_set *set, char token[DDM_TOKEN_LEN + 1]);
/* The tablet's current DeclarationsToken, computed from its set and
 * stored when it changed (db_ddm_token_store; no push: the tablet is the
 * one asking).  AP_ENOTFOUND: no such tablet. */
int ddm_device_token(struct db *db, int64_t device_id, char token[DDM_TOKEN_LEN + 1]);
/* A first TokenUpdate (after its commit): forgets the tablet's previous
 * DDM state (db_ddm_forget_device: a new enrolment starts without DDM),
 * computes and stores its token and, when its OSVersion (from its
 * Authenticate) is 16 or later, queues the DeclarativeManagement command
 * (Data = the tokens document, nothing secret; dedupe "ddm"), in one
 * transaction. */
int ddm_enrolled(struct worker *w, int64_t device_id);
/* A cmdq_on_result() hook, inside the report's transaction: an
 * acknowledged DeclarativeManagement enables DDM (db_ddm_enable) and
 * recomputes the tablet; a DeviceInformation result (its inventory stored
 * just before) queues the DeclarativeManagement command for an enrolled
 * tablet now on iPadOS 16+ without DDM (updated from 15, or enrolled
 * before Ardoise served DDM), and recomputes the tablet (a new
 * product_name may take it in or out of a models filter). */
int ddm_on_result(struct worker *w, const struct cmdq_result *res);
/* The tablets on iPadOS 16 or later without DDM and without the command
 * pending (db_ddm_not_enabled: enrolled before Ardoise served DDM, or
 * their command expired or failed) get it queued, at most limit of them,
 * in one transaction; *ret_n (may be NULL) how many.  Run by the hourly
 * ddm_recompute job. */
int ddm_enable_missing(struct worker *w, int64_t limit, int64_t *ret_n);

#endif
