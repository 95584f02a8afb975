/*
 * cmdq.h - queueing a command for a tablet, and what happens when the
 * tablet acknowledges it.
 *
 * Every command the daemon gives a tablet goes through cmdq_queue(): the
 * plist is built (or a template's UUID replaced), its secret parameters
 * are sealed apart (secret.h), it is stored with an expiry ([mdm]
 * command_expiry_days) and a queue bound ([mdm] queue_max), and the tablet
 * is woken through push when enabled.  mdm.c hands the tablet its queue.
 *
 * The modules that act on a command's result (locate, loans, reconcile)
 * register a hook at start-up (cmdq_on_result()); mdm.c runs them with
 * cmdq_result() inside the report's transaction, after it recorded the
 * inventory the result carries.
 */
#ifndef CMDQ_H
#define CMDQ_H

#include <plist/plist.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_cmd.h"

struct worker;
struct db_cmd;
struct db_device;

/* The CommandUUID of a template: a plist built once by ap_cmd_build() for
 * many tablets, whose UUID each queueing replaces by a fresh one (for bulk
 * queueing, reconcile.c: validation and serialisation are paid once). */
#define CMDQ_TEMPLATE_UUID "00000000-0000-4000-8000-000000000000"

/* A template: xml (len bytes) holds CMDQ_TEMPLATE_UUID at byte uuid_at. */
struct cmdq_template {
	char *xml; /* owned by who built it (cmdq_template_build()) */
	size_t len, uuid_at;
};

/* One command to queue for one tablet.  The command comes from exactly
 * one of: blob_hash (InstallProfile whose Payload is the blob of that hash,
 * db_blob_put: its plist is built when the tablet asks, so a profile sent
 * to 100,000 tablets is stored once), tpl (a template of type), or type
 * with params (may be NULL; not consumed).  All strings are borrowed. */
struct cmd_order {
	int64_t device_id;
	enum ap_cmd_type type;
	plist_t params;
	const struct cmdq_template *tpl;
	const char *blob_hash;
	const char *dedupe;	  /* see db_cmd_enqueue; NULL: none */
	const char *origin;	  /* "staff", "bulk", "locate", "policy", ... */
	const char *requested_by; /* the account, or "system" */
};

/* Queues the order; ret_uuid receives the command's UUID.  AP_ECONFLICT
 * (the same command pending, per dedupe) and AP_ELIMIT (queue full) are
 * refusals that wrote nothing and leave an enclosing transaction usable.
 * detail (may be NULL) receives the reason of a refusal. */
int cmdq_queue(struct worker *w, const struct cmd_order *o, char ret_uuid[37], char *detail,
	       size_t detail_cap);

/* Builds the template of command t with params (may be NULL) into *ret;
 * ret->xml is malloc'd, the caller frees it. */
int cmdq_template_build(enum ap_cmd_type t, plist_t params, struct cmdq_template *ret);

/* What a tablet acknowledged: its record, the command as stored (its
 * report recorded) and the report dict.  Valid during the hook call. */
struct cmdq_result {
	const struct db_device *device;
	const struct db_cmd *cmd;
	plist_t dict;
};

/* A hook returns 0 or a negative AP_E* code: a storage error rolls back
 * the report; any other is logged and the result kept on its command. */
typedef int (*cmdq_hook_fn)(struct worker *w, const struct cmdq_result *res);

/* Registers fn for the acknowledged results of type t, at start-up before
 * any worker runs (the table is read without a lock).  Hooks of one type
 * run in registration order; registering the same pair again does
 * nothing.  AP_ELIMIT when the table is full. */
int cmdq_on_result(enum ap_cmd_type t, cmdq_hook_fn fn);

/* Runs the hooks registered for res->cmd's type; stops at the first
 * error, returned. */
int cmdq_result(struct worker *w, const struct cmdq_result *res);

#endif
