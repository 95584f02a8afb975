/*
 * db_audit.h - the append-only, hash-chained audit log.
 *
 * Each row stores prev_hash (the hash of the row before it, 64 zeros for the
 * first) and hash = SHA-256(prev_hash | id | ts | actor | action | target |
 * reason | detail), hex.  Editing or deleting any row breaks the chain, which
 * db_audit_verify() detects.  Rows are never updated or deleted by Ardoise;
 * SQLite triggers refuse UPDATE and DELETE as a second guard.
 */
#ifndef DB_AUDIT_H
#define DB_AUDIT_H

#include <stdint.h>

struct db;

struct db_audit_row {
	int64_t id;
	int64_t ts;
	const char *actor;  /* account name, or "system" / "device:<udid>" */
	const char *action; /* e.g. "account.create", "loan.return" */
	const char *target; /* what it acted on (serial, account name, ...); may be "" */
	const char *reason; /* why, when given; may be "" */
	const char *detail; /* JSON object text or ""; may be "" */
	const char *hash;
};

/* Appends one row (in its own transaction, or the caller's). NULLs are "". */
int db_audit_append(struct db *db, const char *actor, const char *action, const char *target,
		    const char *reason, const char *detail);
/* Calls fn for rows with ts >= since (0 = all) in id order, at most limit
 * rows (0 = no limit); pointers in the row are valid only during the call. */
int db_audit_list(struct db *db, int64_t since, int64_t limit,
		  int (*fn)(const struct db_audit_row *r, void *arg), void *arg);
/* Recomputes the chain.  0 when intact (*ret_rows = rows checked);
 * AP_ECONFLICT when not, with *ret_bad_id = the first bad row's id (or the
 * id after a gap when a row was deleted) and *ret_rows the rows checked. */
int db_audit_verify(struct db *db, int64_t *ret_rows, int64_t *ret_bad_id);

#endif
