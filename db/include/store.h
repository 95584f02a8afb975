/*
 * store.h - the one storage API of Ardoise.
 *
 * Everything the daemon keeps goes through these functions; only db/
 * includes sqlite3.h, so another backend can replace this one without
 * touching the handlers.  A `struct db` is one connection: it is used by one
 * thread at a time (each event loop opens its own).  All functions return 0
 * or a negative AP_E* code (ap_err.h).  Strings returned through ret_* are
 * malloc'd and owned by the caller unless said otherwise.
 */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Opens (creating if needed) the database at path, in WAL mode with
 * synchronous=NORMAL and foreign keys on, and applies every pending
 * migration.  path may be ":memory:". */
int db_open(const char *path, struct db **ret);
/* Opens without migrating: for tests that build an older schema. */
int db_open_raw(const char *path, struct db **ret);
/* Applies migrations up to `version` (db_schema_version() for all). */
int db_migrate(struct db *db, int version);
/* Current user_version of the file. */
int db_version(struct db *db, int *ret);
/* The newest schema version this build knows. */
int db_schema_version(void);
/* Checkpoints the WAL and closes.  NULL ok. */
void db_close(struct db *db);

/* How long a statement waits for another connection's write lock before
 * failing with AP_EBUSY (db_open sets 5000 ms). */
int db_set_busy_timeout(struct db *db, int ms);

/* synchronous=FULL (full != 0) or NORMAL (db_open's): with NORMAL in WAL
 * mode a power cut may lose the transactions committed since the last
 * checkpoint's sync, the file staying consistent; FULL syncs the WAL at
 * every commit, so nothing committed is lost. */
int db_set_synchronous(struct db *db, int full);

/* Passive WAL checkpoint (the periodic job). */
int db_checkpoint(struct db *db);

/* Transactions nest by counting: only the outermost begin/commit touch SQLite.
 * db_rollback() aborts the whole outermost transaction. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Called, when set, at the end of every outermost write transaction of
 * every connection (COMMIT or ROLLBACK) with the nanoseconds it held the
 * write lock (monotonic clock), on the thread that ran it: the daemon's
 * metrics.  Set it once before any connection writes (it is read without
 * a lock); NULL stops it. */
void db_set_tx_hook(void (*fn)(uint64_t ns));
/* A read transaction: one snapshot for several SELECTs, without taking
 * the write lock.  Not inside db_begin() (AP_EINVAL), not nested. */
int db_read_begin(struct db *db);
void db_read_end(struct db *db);
/* How deep the transactions of this connection nest (0: none open): a
 * caller that must act after the commit (a push) knows whether the
 * commit is its own. */
int db_tx_depth(const struct db *db);
/* In the outermost transaction: commits the work so far and begins again,
 * so that the other loops' writers get their turn (a long run in parts).
 * Nested in a caller's transaction: does nothing. */
int db_split(struct db *db);
/* 1 when another writer of this process waits for the write lock (a long
 * run in parts then splits sooner), 0 otherwise. */
int db_write_waited(void);

/*
 * Group commit: one write transaction for the requests a loop handles in
 * one turn, answered once it is committed.  Between db_group_enter() and
 * db_group_leave() (a request), the outermost db_begin() is a SAVEPOINT
 * inside the group's transaction (the first one takes the write lock and
 * runs BEGIN IMMEDIATE), db_commit() its RELEASE, and db_rollback() or a
 * failed db_commit() undoes that savepoint alone: one request's failure
 * never undoes another's.  The transaction stays open after
 * db_group_leave(), holding the write lock, until db_group_commit(): the
 * caller commits before its loop polls again.  Outside a request, a
 * db_begin() or db_read_begin() while the group is open commits the group
 * first (its result kept for db_group_commit()).  A read transaction
 * inside a request while the group is open reads the group's own writes.
 * Not nested: enter at depth 0. */
void db_group_enter(struct db *db);
void db_group_leave(struct db *db);
/* 1 while writes of the group wait for db_group_commit(). */
int db_group_pending(const struct db *db);
/* Commits the group (nothing when no request began one), gives the write
 * lock back: 0 when everything the group's requests released is durable
 * (as [db] synchronous makes it), or AP_E* when it was rolled back, also
 * when a group committed earlier by a caller outside it failed.
 * *ret_released: how many savepoints (requests' outermost transactions;
 * a request may have several) were released in the groups this answers
 * for. */
int db_group_commit(struct db *db, unsigned *ret_released);
/* Tests only: the nth group commit of the process counted from now (1:
 * the next) rolls back instead and answers AP_EIO; 0: none. */
void db_group_fail_at(uint64_t nth);
/* Tests only: each group holds the write lock ms more once open (a loop
 * turn's work), so that another loop finds it taken; 0: none. */
void db_group_hold_at_open(unsigned ms);

/*
 * A loop opens its group without waiting for the write lock.  The waker
 * (fn, called from any thread, with the lock's mutex held: it must only
 * signal, e.g. uv_async_send()) is set once, before the first try.
 * db_group_try_open(): 0 when the group is open (already, or now: the
 * lock was free with no writer queued, or the turn this connection waited
 * for came), AP_EBUSY when another writer has the lock or queues before:
 * this connection then holds a ticket in the queue and fn is called when
 * its turn comes (try again then; until then every writer queued after it
 * waits), or when a blocking write of its own used that ticket and ended.
 * Another AP_E* when BEGIN IMMEDIATE failed (the lock given back).  With
 * no waker set it blocks for its turn, as a request's first write would.
 * db_group_pass(): when the turn waited for came and nothing needs it any
 * more (what waited went away), it is given back; nothing otherwise (the
 * waker is called when it comes: pass it then).
 * db_group_cancel(): the turn waited for, if any, is taken (blocking) and
 * given back; before the waker goes away (db_close() does it too).
 */
void db_group_set_waker(struct db *db, void (*fn)(void *arg), void *arg);
int db_group_try_open(struct db *db);
void db_group_pass(struct db *db);
void db_group_cancel(struct db *db);
/* Time writers of the process spent blocked waiting for the write lock:
 * fn(grouped: a request of a group (1) or any other writer (0), ns) after
 * each wait, on the writer's thread.  Set before the threads start. */
void db_set_lock_wait_hook(void (*fn)(int grouped, uint64_t ns));

/* The last SQLite error message of this connection (static, for logs). */
const char *db_errmsg(struct db *db);

/* What an import's put did with its row (*ret_created of
 * db_device_import(), db_person_put(), db_school_put()): 1 and 0 keep
 * meaning created / updated. */
enum db_put { DB_PUT_UPDATED = 0, DB_PUT_CREATED = 1, DB_PUT_UNCHANGED = 2 };

/* Time source for everything stored: seconds since the epoch.  Tests may
 * shift it with db_clock_set_offset() (process-wide). */
int64_t db_now(void);
void db_clock_set_offset(int64_t seconds);
/* Tests: db_now() reads `at` until called again with 0. */
void db_clock_freeze(int64_t at);

#endif
