/*
 * db_audit.h - the append-only, hash-chained audit log.
 *
 * Each row stores prev_hash (the hash of the row before it, 64 zeros for the
 * first) and hash = MAC(prev_hash | id | ts | actor | action | target |
 * reason | detail), hex, each field length-prefixed.  Editing or deleting
 * any row breaks the chain, which db_audit_verify() detects.  Rows are never
 * updated or deleted by Ardoise; SQLite triggers refuse UPDATE and DELETE as
 * a second guard.
 *
 * The MAC is HMAC-SHA-256 under a key kept outside the database (the daemon
 * passes it with db_audit_set_key(); db/ reads no key file), so that someone
 * who can only write the database cannot re-chain an edited row.  Chains
 * begun before the key existed keep plain SHA-256 links up to the anchor: a
 * row with action "audit.rekey" (DB_AUDIT_REKEY) by "system", the first row
 * appended with the key, whose keyed hash covers the previous (unkeyed)
 * head through its prev_hash.  The anchor and every row after it are keyed;
 * rows before it verify as before.  A new installation's first row is its
 * anchor.  A connection without the key may not append to a keyed chain.
 *
 * Truncation (the newest rows deleted, or all) cannot be seen from inside
 * the database: db_audit_last() gives the head that the daemon keeps
 * elsewhere, and db_audit_row_hash() checks a saved head against the rows.
 */
#ifndef DB_AUDIT_H
#define DB_AUDIT_H

#include <stdint.h>

struct db;

#define DB_AUDIT_KEY_LEN 32
#define DB_AUDIT_REKEY	 "audit.rekey"

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

/* Sets (copies) the chain's key, len DB_AUDIT_KEY_LEN bytes; NULL clears
 * it.  Per connection: set it on every connection that appends or
 * verifies. */
int db_audit_set_key(struct db *db, const unsigned char *key, size_t len);
/* With a key: appends the anchor when the chain is not keyed yet, and sets
 * *ret_anchor to its id (0 when the chain was keyed already).  Appending
 * does the same on its own; this lets the daemon do it at start and say
 * so.  AP_EINVAL without a key. */
int db_audit_anchor(struct db *db, int64_t *ret_anchor);

/* Appends one row (in its own transaction, or the caller's: it is then
 * committed or rolled back with the caller's change). NULLs are "".
 * AP_ECRYPTO when the chain is keyed and this connection has no key. */
int db_audit_append(struct db *db, const char *actor, const char *action, const char *target,
		    const char *reason, const char *detail);
/* Calls fn for rows with ts >= since (0 = all) in id order, at most limit
 * rows (0 = no limit); pointers in the row are valid only during the call. */
int db_audit_list(struct db *db, int64_t since, int64_t limit,
		  int (*fn)(const struct db_audit_row *r, void *arg), void *arg);
/* What db_audit_find() lists: a keyset page in either order, narrowed by
 * any of the fields (NULL or "": any).  action matches the action itself
 * or its family ("loan" matches "loan.create" and "loan.return"); school
 * (a normalised UAI) matches rows whose target is the collège, one of its
 * policy scopes (school:UAI, group:UAI/...), one of its tablets or one of
 * its people, as they are recorded now (a tablet moved since counts for
 * its new collège). */
struct db_audit_filter {
	int64_t after;	  /* rows after this id in the listing order; 0: from the start */
	int newest_first; /* order by id descending (after: rows with a smaller id) */
	int64_t from, to; /* ts bounds, both inclusive; 0: none */
	const char *actor, *action, *target, *school;
	int64_t limit; /* at most this many rows; 0: no limit */
};
/* Calls fn for the rows f selects, in its order, until fn returns non-zero;
 * pointers in the row are valid only during the call. */
int db_audit_find(struct db *db, const struct db_audit_filter *f,
		  int (*fn)(const struct db_audit_row *r, void *arg), void *arg);
/* Recomputes the chain.  0 when intact (*ret_rows = rows checked);
 * AP_ECONFLICT when not, with *ret_bad_id = the first bad row's id (or the
 * id after a gap when a row was deleted) and *ret_rows the rows checked.
 * With a key, a chain that holds rows but no anchor is not intact either
 * (*ret_bad_id = 1: its links are only unkeyed hashes).  AP_ECRYPTO when
 * the chain is keyed and this connection has no key. */
int db_audit_verify(struct db *db, int64_t *ret_rows, int64_t *ret_bad_id);

/* The newest row: its id (ids run from 1 without gaps, so also the count
 * of a chain that verifies), hash and time, and the anchor's id (0: not
 * keyed).  All 0 / "" for an empty log. */
struct db_audit_head {
	int64_t last_id;
	int64_t ts;
	int64_t keyed_from;
	char hash[65];
};
int db_audit_last(struct db *db, struct db_audit_head *ret);
/* The stored hash of row id into ret (AP_ENOTFOUND when absent). */
int db_audit_row_hash(struct db *db, int64_t id, char ret[65]);

#endif
