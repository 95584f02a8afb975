/* db_int.h - private to db/: the connection and small statement helpers. */
#ifndef DB_INT_H
#define DB_INT_H

#include <sqlite3.h>

#include "store.h"

#define DB_STMT_CACHE 512

struct db {
	sqlite3 *h;
	int tx_depth;
	int tx_failed;
	uint64_t tx_t0; /* when the outermost write transaction began (ns, db_set_tx_hook) */
	/* group commit (store.h, db_group_*) */
	int grouping;	     /* between db_group_enter() and db_group_leave() */
	int tx_savepoint;    /* the outermost db_begin() open is a group's savepoint */
	int group_open;	     /* the group's BEGIN IMMEDIATE ran: the write lock is held */
	int group_read;	     /* a db_read_begin() answered by the open group */
	int group_ended;     /* a group ended since the last db_group_commit() */
	int group_rc;	     /* the first failure of those groups, 0: none */
	unsigned group_reqs; /* savepoints released in those groups */
	/* the write lock waited for without blocking (db_group_try_open()):
	 * a ticket held in its queue, and who is told when its turn comes */
	int lock_reserved;   /* lock_ticket is this connection's, not yet taken */
	int lock_wake_after; /* a blocking writer used the ticket: wake at its end */
	uint64_t lock_ticket;
	struct db *lock_next; /* the lock's list of reservations */
	void (*lock_wake)(void *arg);
	void *lock_wake_arg;
	/* the session index (db_mdm_cache.c): rows of device and
	 * device_identity this connection's transaction changed, marked
	 * changed in the index once it commits */
	int cache_ok;	   /* WAL on the index's file: the index may be used */
	int cache_quiet;   /* the update hook ignores the statement stepping */
	int pend_all;	   /* too many rows: the commit forgets the whole index */
	uint64_t snap_seq; /* db_cache_seq() before the open transaction began */
	struct db_pend *pend;
	size_t n_pend, cap_pend;
	/* the audit chain's HMAC key (db_audit_set_key), when has_audit_key */
	unsigned char audit_key[32];
	int has_audit_key;
	/* prepared statements keyed by the address of their SQL text, which
	 * must therefore be a string literal (static storage) */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[DB_STMT_CACHE];
};

/* db_watch.c: which rows of device (table 1) and device_identity (0)
 * each transaction changed, for the session index (db_mdm_cache.c).  A
 * row the open transaction changed; seen != 0: only device.last_seen, set
 * to seen (fp: its certificate, raw). */
struct db_pend {
	int64_t rowid, seen;
	int table;
	unsigned char fp[32];
};
/* Hooks a connection just opened (cache_ok when it may use the index:
 * WAL, on the index's file); db_cache_detach() before it closes. */
void db_cache_attach(struct db *db);
void db_cache_detach(struct db *db);
/* The count of commits that changed watched rows (snap_seq, tags). */
uint64_t db_cache_seq(void);
/* The index's lock: db_watch_fresh() and the index's entries under it. */
void db_watch_lock(void);
void db_watch_unlock(void);
/* Under the lock: no commit changed row rowid of table since tag was
 * taken (nor was everything forgotten). */
int db_watch_fresh(int table, int64_t rowid, uint64_t tag);
/* 1 when db's open transaction changed the row (other than last_seen). */
int db_watch_pending(const struct db *db, int table, int64_t rowid);
/* db's transaction set last_seen of device rowid, bound to fp: told to
 * the index once committed. */
void db_watch_seen(struct db *db, int64_t rowid, int64_t seen, const unsigned char fp[32]);
/* Under the lock: everything read before now is stale. */
void db_watch_forget(void);
/* The index's callbacks, called under the lock: a committed last_seen,
 * and the last connection closed (free the entries). */
void db_watch_on(void (*seen)(const struct db_pend *p), void (*gone)(void));

/* A prepared statement for sql, a string literal: cached per connection,
 * reset and with bindings cleared.  Do not finalize it: call db_done(). */
int db_stmt(struct db *db, const char *sql, sqlite3_stmt **ret);
/* Resets a statement from db_stmt() so it can be reused. NULL ok. */
void db_done(sqlite3_stmt *st);
/* An uncached prepared statement (for SQL built at run time); finalize it. */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret);
/* Runs sql with no results; several statements allowed. */
int db_exec(struct db *db, const char *sql);
/* Binds a C string or NULL as text. */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Copies column text into out (truncated to cap-1); NULL column -> "". */
void db_col_copy(sqlite3_stmt *st, int col, char *out, size_t cap);
/* malloc'd copy of column text, or NULL when the column is NULL / no memory. */
char *db_col_dup(sqlite3_stmt *st, int col);
/* Maps an SQLite result code to an AP_E* code. */
int db_rc(struct db *db, int rc);
/* Steps a statement that returns no row, then db_done() it: 0 or the
 * mapped error; with none_rc != 0, none_rc when it changed no row. */
int db_step_done(struct db *db, sqlite3_stmt *st, int none_rc);
/* Ends a loop over st's rows that stopped at step result rc (a row when
 * the caller broke off, the end, or an error): db_done() it, then 0 or
 * the mapped error. */
int db_rows_done(struct db *db, sqlite3_stmt *st, int rc);
/* A keyset page of at most `limit` rows (lists: `after_id` in, the next
 * page's `after_id` out, 0 on the last page).  The statement asks for
 * limit + 1 rows; the loop calls db_page_take() with each row's id, and
 * stops when it says 0 (the extra row: another page exists). */
struct db_page {
	size_t n, limit;
	int64_t last, next;
};
int db_page_take(struct db_page *pg, int64_t id);
/* db_rows_done(), then *ret_next set from the page when it went well. */
int db_page_done(struct db *db, sqlite3_stmt *st, int rc, const struct db_page *pg,
		 int64_t *ret_next);
/* A copy of column col's bytes, NUL-terminated (so text too), its length
 * in *ret_len; NULL when out of memory. */
unsigned char *db_col_blob_dup(sqlite3_stmt *st, int col, size_t *ret_len);
/* Runs sql, a literal UPDATE whose ?1 is now (db_now()) and ?2 the row id
 * `id`: 0, AP_ENOTFOUND when it changed no row, or the mapped error. */
int db_stamp(struct db *db, const char *sql, int64_t id);
/* Runs sql, a literal statement whose one parameter ?1 is v: 0, none_rc
 * when it changed no row (0: that is fine), or the mapped error. */
int db_run_int64(struct db *db, const char *sql, int64_t v, int none_rc);
/* Steps a statement that returns one integer (a count): 0 with it in
 * *ret, else the mapped error; db_done()s the statement. */
int db_step_int64(struct db *db, sqlite3_stmt *st, int64_t *ret);
/* Steps a statement that returns at most one row: 0 with the row to read
 * (then db_done() it), AP_ENOTFOUND without, else the mapped error. */
int db_step_row(struct db *db, sqlite3_stmt *st);
/* db_stmt() for a list statement whose ?1 is the set of collèges it is
 * limited to (json_each(?1)): binds ?1 to only[0..n_only) as a JSON array,
 * or NULL (the whole fleet) when only is NULL; db_scope_json()'s errors. */
int db_stmt_scoped(struct db *db, const char *sql, const char *const *only, size_t n_only,
		   sqlite3_stmt **ret);
/* Text as searches compare it: ASCII letters in lower case, the Latin-1
 * letters without their accent ("É" -> "e", "Æ" -> "ae", and "Œ" -> "oe"),
 * every other byte as it is; into out (cut at cap - 1 bytes, never longer
 * than s).  Every connection has the SQL function ard_has(needle, text,
 * ...): 1 when needle (folded already) is found in one of the texts folded
 * (each one's first DB_FOLD_HAY_MAX bytes; NULL texts are skipped), else
 * 0; no allocation, no pattern characters. */
void db_fold(const char *s, char *out, size_t cap);
#define DB_FOLD_HAY_MAX 511
/* Ends the transaction db_begin() opened: commits when rc >= 0, else
 * rolls back; returns rc's error or the commit's. */
int db_end(struct db *db, int rc);
/* Runs fn(db, arg) between db_begin() and db_commit(), rolling back when
 * it fails; returns its error or the commit's. */
int db_in_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);
/* The first n base64url characters of in (in_len bytes, zeros past it)
 * into out, NUL-terminated (db_account.c). */
void db_b64u(const unsigned char *in, size_t in_len, char *out, size_t n);

#endif
