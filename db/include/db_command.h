/*
 * db_command.h - the per-device FIFO command queue.
 *
 * Status flow: queued -> sent -> acknowledged | error | format_error;
 * notnow keeps a command pending (it is sent again in a later session);
 * staff may cancel a pending command; the expiry job moves pending commands
 * past expires_at to expired; the prune job deletes finished commands after
 * the retention period so the table stays small.
 */
#ifndef DB_COMMAND_H
#define DB_COMMAND_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* A row of the table command.  Every reader fills the fields below but
 * blob_ref, which only db_cmd_next reads.  Not in it: the plist parts
 * (db_cmd_blob) and dedupe (db_policy_command_ref). */
struct db_cmd {
	int64_t id;
	char uuid[37];
	int64_t device_id;
	char type[48];
	char status[16];
	char origin[16];
	char created_by[65];
	int64_t created_at, sent_at, done_at, expires_at;
	char error[512];
	char blob_ref[65]; /* "" or the blob holding the Payload */
};

/* Queues a command.  dedupe ("" for none) names what makes two commands of
 * one type the same (profile identifier, bundle id): a pending command with
 * the same type and dedupe -> AP_ECONFLICT.  More than queue_max pending
 * -> AP_ELIMIT.  payload: the command plist XML. */
int db_cmd_enqueue(struct db *db, int64_t device_id, const char *type, const char *dedupe,
		   const char *uuid, const char *payload, size_t len, const char *origin,
		   const char *created_by, int64_t expires_at, int64_t queue_max, int64_t *ret_id);
/* Same, for a command whose plist is built when it is sent: its Payload
 * (InstallProfile) is the blob blob_ref (db_blob_put), stored once however
 * many devices get it. */
int db_cmd_enqueue_ref(struct db *db, int64_t device_id, const char *type, const char *dedupe,
		       const char *uuid, const char *blob_ref, const char *origin,
		       const char *created_by, int64_t expires_at, int64_t queue_max,
		       int64_t *ret_id);
/* Content-addressed shared payloads: put returns the SHA-256 hex key. */
int db_blob_put(struct db *db, const void *data, size_t len, char ret_hash[65]);
int db_blob_get(struct db *db, const char *hash, unsigned char **ret, size_t *ret_len);

/* The oldest pending, unexpired command for the device, marked sent.
 * AP_ENOTFOUND when the queue is empty.  *ret_payload is malloc'd; it is
 * empty when ret->blob_ref names the Payload to build the plist from. */
int db_cmd_next(struct db *db, int64_t device_id, struct db_cmd *ret, char **ret_payload,
		size_t *ret_len);
/* Records a device's report on command uuid: status is "acknowledged",
 * "error", "format_error" or "notnow"; result is the report plist (may be
 * NULL), error a summary ("" when none).  Idempotent: a report on a command
 * already finished changes nothing and sets *ret_dup.  AP_ENOTFOUND when
 * the device has no such command.  *ret (may be NULL) gets the command. */
int db_cmd_report(struct db *db, int64_t device_id, const char *uuid, const char *status,
		  const void *result, size_t result_len, const char *error, struct db_cmd *ret,
		  int *ret_dup);
int db_cmd_get(struct db *db, const char *uuid, struct db_cmd *ret);
/* What db_cmd_blob() reads. */
enum db_cmd_part {
	DB_CMD_PAYLOAD, /* the command plist as stored (secrets replaced by "(sealed)") */
	DB_CMD_RESULT,	/* the report plist as stored (redacted) */
	DB_CMD_SEALED,	/* the sealed secret parameters (keystore KEYSTORE_COMMAND) */
};
/* One part of a command (malloc'd, NUL-terminated beyond *ret_len; NULL/0
 * when none). */
int db_cmd_blob(struct db *db, const char *uuid, enum db_cmd_part part, char **ret,
		size_t *ret_len);
/* Stores the sealed secret parameters of a pending command.  They are
 * dropped when the command ends (reported, canceled, expired). */
int db_cmd_set_sealed(struct db *db, const char *uuid, const void *sealed, size_t len);
/* Commands of one device, newest first, at most limit (0: 1000). */
int db_cmd_list(struct db *db, int64_t device_id, int64_t limit,
		int (*fn)(const struct db_cmd *c, void *arg), void *arg);
/* Cancels a pending command; AP_ECONFLICT when it is finished. */
int db_cmd_cancel(struct db *db, const char *uuid);
/* Pending commands past expires_at become expired; *ret_n how many. */
int db_cmd_expire(struct db *db, int64_t now, int64_t *ret_n);
/* Deletes up to batch finished commands done before `before`. */
int db_cmd_prune(struct db *db, int64_t before, int64_t batch, int64_t *ret_n);
/* Number of pending commands of a device. */
int db_cmd_pending(struct db *db, int64_t device_id, int64_t *ret_n);

#endif
