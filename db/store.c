/* store.c - opening, migrating and closing the SQLite store. */
#include "db_int.h"
#include "db_scope.h"
#include "migrations.h"
#include "ap_err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t clock_offset;

static _Atomic int64_t clock_frozen;

int64_t db_now(void)
{
	int64_t f = atomic_load(&clock_frozen);
	return f ? f : (int64_t)time(NULL) + atomic_load(&clock_offset);
}

void db_clock_freeze(int64_t at)
{
	atomic_store(&clock_frozen, at);
}

void db_clock_set_offset(int64_t seconds)
{
	atomic_store(&clock_offset, seconds);
}

int db_rc(struct db *db, int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return AP_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return AP_EBUSY;
	case SQLITE_CONSTRAINT:
		return AP_EEXIST;
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return AP_EIO;
	default:
		return AP_EDB;
	}
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v3(db->h, sql, -1, 0, ret, NULL);
	return rc == SQLITE_OK ? 0 : db_rc(db, rc);
}

int db_stmt(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	size_t h = ((uintptr_t)sql >> 3) % DB_STMT_CACHE;
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		size_t k = (h + i) % DB_STMT_CACHE;
		if (db->cache[k].sql == sql) {
			*ret = db->cache[k].st;
			return 0;
		}
		if (db->cache[k].sql == NULL) {
			int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
						    &db->cache[k].st, NULL);
			if (rc != SQLITE_OK)
				return db_rc(db, rc);
			db->cache[k].sql = sql;
			*ret = db->cache[k].st;
			return 0;
		}
	}
	return AP_ELIMIT; /* more distinct statements than DB_STMT_CACHE: raise it */
}

int db_step_done(struct db *db, sqlite3_stmt *st, int none_rc)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = none_rc && sqlite3_changes(db->h) == 0 ? none_rc : 0;
	else
		rc = db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_rows_done(struct db *db, sqlite3_stmt *st, int rc)
{
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_page_take(struct db_page *pg, int64_t id)
{
	if (pg->n == pg->limit) {
		pg->next = pg->last; /* one more match exists: another page */
		return 0;
	}
	pg->n++;
	pg->last = id;
	return 1;
}

int db_page_done(struct db *db, sqlite3_stmt *st, int rc, const struct db_page *pg,
		 int64_t *ret_next)
{
	rc = db_rows_done(db, st, rc);
	if (rc == 0)
		*ret_next = pg->next;
	return rc;
}

unsigned char *db_col_blob_dup(sqlite3_stmt *st, int col, size_t *ret_len)
{
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	unsigned char *p = malloc(n + 1);
	if (p) {
		if (n)
			memcpy(p, sqlite3_column_blob(st, col), n);
		p[n] = '\0';
		*ret_len = n;
	}
	return p;
}

int db_step_int64(struct db *db, sqlite3_stmt *st, int64_t *ret)
{
	int rc = db_step_row(db, st);
	if (rc == 0)
		*ret = sqlite3_column_int64(st, 0);
	db_done(st);
	return rc;
}

int db_stamp(struct db *db, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_run_int64(struct db *db, const char *sql, int64_t v, int none_rc)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v);
	return db_step_done(db, st, none_rc);
}

int db_step_row(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? AP_ENOTFOUND : db_rc(db, rc);
}

int db_stmt_scoped(struct db *db, const char *sql, const char *const *only, size_t n_only,
		   sqlite3_stmt **ret)
{
	char scope[DB_SCOPE_JSON_CAP];
	int rc = only ? db_scope_json(only, n_only, scope) : 0;
	if (rc < 0 || (rc = db_stmt(db, sql, ret)) < 0)
		return rc;
	db_bind_text(*ret, 1, only ? scope : NULL);
	return 0;
}

int db_end(struct db *db, int rc)
{
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

int db_in_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	int rc = db_begin(db);
	return rc < 0 ? rc : db_end(db, fn(db, arg));
}

void db_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int db_exec(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_rc(db, rc);
}

int db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

void db_col_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

char *db_col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? strdup((const char *)t) : NULL;
}

const char *db_errmsg(struct db *db)
{
	return db && db->h ? sqlite3_errmsg(db->h) : "no database";
}

int db_schema_version(void)
{
	return migrations_count();
}

int db_version(struct db *db, int *ret)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "PRAGMA user_version", &st);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return AP_EDB;
	}
	*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* The letter of U+00C0 + i without its accent, lower case ('\0': none,
 * '^': "ae"). */
static const char latin1_base[64] = "aaaaaa^ceeeeiiiidnooooo\0ouuuuyts"
				    "aaaaaa^ceeeeiiiidnooooo\0ouuuuyty";

/* The folded form of the non-ASCII character at p into out (room: room
 * bytes): how many bytes of p it took (0: no room for it), *n_out how many
 * it wrote. */
static size_t fold_wide(const unsigned char *p, char *out, size_t room, size_t *n_out)
{
	char one = 0;
	if (p[0] == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf)
		one = latin1_base[p[1] - 0x80];
	const char *two = one == '^'					   ? "ae"
			  : p[0] == 0xc5 && (p[1] == 0x92 || p[1] == 0x93) ? "oe"
									   : NULL;
	if (two) {
		if (room < 2)
			return 0;
		memcpy(out, two, 2);
		*n_out = 2;
		return 2;
	}
	*n_out = 1;
	out[0] = one ? one : (char)p[0];
	return one ? 2 : 1;
}

void db_fold(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;
	while (*p && o + 1 < cap) {
		if (*p < 0x80) { /* most of it: one comparison a byte */
			out[o++] = (char)((unsigned)(*p - 'A') < 26u ? *p + ('a' - 'A') : *p);
			p++;
			continue;
		}
		size_t took = fold_wide(p, out + o, cap - 1 - o, &n);
		if (took == 0)
			break; /* no room for both letters */
		p += took;
		o += n;
	}
	out[o] = '\0';
}

static void sql_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char hay[DB_FOLD_HAY_MAX + 1];
	const unsigned char *needle = sqlite3_value_text(argv[0]);
	int found = 0;
	for (int i = 1; needle && !found && i < argc; i++) {
		const unsigned char *t = sqlite3_value_text(argv[i]);
		if (t == NULL)
			continue;
		db_fold((const char *)t, hay, sizeof(hay));
		found = strstr(hay, (const char *)needle) != NULL;
	}
	sqlite3_result_int(ctx, found);
}

/* The functions db_int.h promises on every connection. */
static int add_functions(sqlite3 *h)
{
	const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
	if (sqlite3_create_function(h, "ard_has", -1, flags, NULL, sql_has, NULL, NULL) !=
	    SQLITE_OK)
		return AP_ENOMEM;
	return 0;
}

int db_open_raw(const char *path, struct db **ret)
{
	struct db *db = calloc(1, sizeof(*db));
	int rc;
	if (db == NULL)
		return AP_ENOMEM;
	if (sqlite3_open_v2(path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = AP_EIO;
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if ((rc = add_functions(db->h)) < 0)
		goto fail;
	rc = db_exec(db, "PRAGMA journal_mode=WAL;"
			 "PRAGMA synchronous=NORMAL;"
			 "PRAGMA foreign_keys=ON;"
			 "PRAGMA temp_store=MEMORY;");
	if (rc < 0)
		goto fail;
	db_cache_attach(db);
	*ret = db;
	return 0;
fail:
	db_close(db);
	return rc;
}

/* The one integer a pragma answers (schema_version), into *ret. */
static int pragma_int(struct db *db, const char *sql, int *ret)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, sql, &st);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : AP_EDB;
	if (rc == 0)
		*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* 0 when PRAGMA quick_check finds the file sound (its one row "ok"). */
static int quick_check(struct db *db)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "PRAGMA quick_check", &st);
	if (rc < 0)
		return rc;
	const unsigned char *t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	rc = t && strcmp((const char *)t, "ok") == 0 ? 0 : AP_EDB;
	sqlite3_finalize(st);
	return rc;
}

/* A step that edits sqlite_schema (migrations.h), inside the step's
 * transaction: SQLite's documented procedure (lang_altertable.html, 7):
 * writable_schema on, the edit, schema_version one more, writable_schema
 * off, then the check.  Defensive mode, which forbids the edit, is lifted
 * for the step and put back as it was. */
static int edit_schema(struct db *db, const char *sql)
{
	int cookie, defensive = 0, rc = pragma_int(db, "PRAGMA schema_version", &cookie);
	char bump[48];
	if (rc < 0)
		return rc;
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, -1, &defensive);
	if (defensive)
		sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
	rc = db_exec(db, "PRAGMA writable_schema=ON");
	if (rc == 0)
		rc = db_exec(db, sql);
	if (rc == 0 && sqlite3_changes(db->h) < 1)
		rc = AP_EDB; /* the text to edit is not there: not the schema expected */
	snprintf(bump, sizeof(bump), "PRAGMA schema_version=%d", cookie + 1);
	if (rc == 0)
		rc = db_exec(db, bump);
	int off = db_exec(db, "PRAGMA writable_schema=OFF");
	if (defensive)
		sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (rc == 0)
		rc = off;
	return rc == 0 ? quick_check(db) : rc;
}

int db_migrate(struct db *db, int version)
{
	int cur, rc;
	if (version > migrations_count())
		return AP_EINVAL;
	rc = db_version(db, &cur);
	if (rc < 0)
		return rc;
	if (cur > migrations_count())
		return AP_EUNSUPPORTED; /* made by a newer Ardoise */
	for (int v = cur + 1; v <= version; v++) {
		char pragma[48];
		rc = db_exec(db, "BEGIN IMMEDIATE");
		if (rc < 0)
			return rc;
		rc = migrations_edits_schema(v) ? edit_schema(db, migrations_step(v))
						: db_exec(db, migrations_step(v));
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v);
		if (rc == 0)
			rc = db_exec(db, pragma);
		if (rc == 0)
			rc = db_exec(db, "COMMIT");
		if (rc < 0) {
			db_exec(db, "ROLLBACK");
			return rc;
		}
	}
	return 0;
}

int db_open(const char *path, struct db **ret)
{
	struct db *db;
	int rc = db_open_raw(path, &db);
	if (rc < 0)
		return rc;
	rc = db_migrate(db, migrations_count());
	if (rc < 0) {
		db_close(db);
		return rc;
	}
	*ret = db;
	return 0;
}

static int group_end(struct db *db);

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->h && db->group_open)
		group_end(db); /* gives the write lock back */
	db_group_cancel(db);   /* a turn it waited for, given back */
	if (db->h) {
		for (size_t i = 0; i < DB_STMT_CACHE; i++)
			sqlite3_finalize(db->cache[i].st);
		sqlite3_exec(db->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		db_cache_detach(db);
		sqlite3_close_v2(db->h);
	}
	free(db);
}

int db_set_busy_timeout(struct db *db, int ms)
{
	return sqlite3_busy_timeout(db->h, ms) == SQLITE_OK ? 0 : AP_EINVAL;
}

int db_set_synchronous(struct db *db, int full)
{
	return db_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

int db_checkpoint(struct db *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_rc(db, rc);
}

/*
 * Writers of one process take turns on this lock before BEGIN IMMEDIATE,
 * so the event loops never meet SQLite's busy handler (which sleeps in
 * milliseconds) on each other: they queue here instead.  Writes from
 * other processes still go through busy_timeout.  The turns are FIFO (a
 * ticket lock): a long run committing in parts (db_split) would otherwise
 * take the lock back before a waiting loop wakes up.
 *
 * A loop's group (db_group_try_open()) never blocks: it takes the lock
 * when it is free and nobody queues, else it holds a ticket in the queue
 * (a reservation, on the list below) and its waker is called when that
 * ticket's turn comes; the turn is then the loop's until it opens its
 * group, or gives the turn back (db_group_cancel()).
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t turn;
	uint64_t next, serving;
	struct db *reserved; /* connections holding a ticket without blocking */
} write_lock = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL};

static void (*lock_wait_hook)(int grouped, uint64_t ns);

void db_set_lock_wait_hook(void (*fn)(int grouped, uint64_t ns))
{
	lock_wait_hook = fn;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* write_lock.mu held: db's reservation leaves the list. */
static void unreserve(struct db *db)
{
	for (struct db **p = &write_lock.reserved; *p; p = &(*p)->lock_next)
		if (*p == db) {
			*p = db->lock_next;
			break;
		}
	db->lock_next = NULL;
	db->lock_reserved = 0;
}

/* Blocks until db's turn: its reservation's ticket when it holds one (the
 * loop's own blocking writer must not queue behind its own ticket), else
 * the next.  The time blocked goes to the hook, grouped saying who. */
static void write_lock_take(struct db *db, int grouped)
{
	uint64_t t0 = 0, mine;
	pthread_mutex_lock(&write_lock.mu);
	if (db->lock_reserved) {
		mine = db->lock_ticket;
		unreserve(db);
		db->lock_wake_after = 1; /* what it deferred tries again after this */
	} else {
		mine = write_lock.next++;
	}
	if (write_lock.serving != mine)
		t0 = mono_ns();
	while (write_lock.serving != mine)
		pthread_cond_wait(&write_lock.turn, &write_lock.mu);
	pthread_mutex_unlock(&write_lock.mu);
	if (t0 && lock_wait_hook)
		lock_wait_hook(grouped, mono_ns() - t0);
}

static void write_lock_give(struct db *db)
{
	pthread_mutex_lock(&write_lock.mu);
	write_lock.serving++;
	for (struct db *d = write_lock.reserved; d; d = d->lock_next)
		if (d->lock_ticket == write_lock.serving) {
			if (d->lock_wake)
				d->lock_wake(d->lock_wake_arg); /* a reservation: its turn came */
			break;
		}
	pthread_cond_broadcast(&write_lock.turn);
	pthread_mutex_unlock(&write_lock.mu);
	if (db->lock_wake_after) {
		db->lock_wake_after = 0;
		if (db->lock_wake)
			db->lock_wake(db->lock_wake_arg);
	}
}

/* 1 when db holds the lock now without blocking: free with nobody queued,
 * or its reservation's turn came; else 0 and db holds a ticket (taken now
 * or before) whose turn calls its waker. */
static int write_lock_try(struct db *db)
{
	int got = 0;
	pthread_mutex_lock(&write_lock.mu);
	if (db->lock_reserved) {
		got = write_lock.serving == db->lock_ticket;
		if (got)
			unreserve(db);
	} else if (write_lock.serving == write_lock.next) {
		write_lock.next++;
		got = 1;
	} else {
		db->lock_ticket = write_lock.next++;
		db->lock_reserved = 1;
		db->lock_next = write_lock.reserved;
		write_lock.reserved = db;
	}
	pthread_mutex_unlock(&write_lock.mu);
	return got;
}

static void (*tx_hook)(uint64_t ns);

void db_set_tx_hook(void (*fn)(uint64_t ns))
{
	tx_hook = fn;
}

/* The outermost write transaction ended: the lock is given back next. */
static void tx_ended(struct db *db)
{
	if (tx_hook && db->tx_t0)
		tx_hook(mono_ns() - db->tx_t0);
}

/* ---- group commit (store.h) ---- */

static _Atomic uint64_t group_fail_nth, groups_ended;

void db_group_fail_at(uint64_t nth)
{
	atomic_store(&groups_ended, 0);
	atomic_store(&group_fail_nth, nth);
}

static unsigned group_hold_ms;

void db_group_hold_at_open(unsigned ms)
{
	group_hold_ms = ms;
}

/* The write lock held: opens the group's transaction, or gives the lock
 * back. */
static int group_begin(struct db *db)
{
	db->snap_seq = db_cache_seq();
	int rc = db_exec(db, "BEGIN IMMEDIATE");
	if (rc < 0) {
		write_lock_give(db);
		return rc;
	}
	db->group_open = 1;
	db->tx_t0 = tx_hook ? mono_ns() : 0;
	if (group_hold_ms) { /* tests only: a loop turn's work, the lock held */
		struct timespec ts = {group_hold_ms / 1000, (long)(group_hold_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Takes the write lock, blocking, and opens the group's transaction. */
static int group_open(struct db *db)
{
	write_lock_take(db, 1);
	return group_begin(db);
}

/* Ends the open group: COMMIT, or ROLLBACK when the test hook says so or
 * SQLite already rolled the transaction back (an I/O error, a full disk:
 * its savepoints then all went with it).  The lock is given back. */
static int group_end(struct db *db)
{
	uint64_t nth = atomic_fetch_add(&groups_ended, 1) + 1;
	int rc = sqlite3_get_autocommit(db->h) ? AP_EIO : 0;
	if (rc == 0 && nth == atomic_load(&group_fail_nth))
		rc = AP_EIO;
	if (rc == 0)
		rc = db_exec(db, "COMMIT");
	if (rc < 0 && !sqlite3_get_autocommit(db->h))
		db_exec(db, "ROLLBACK");
	db->group_open = 0;
	db->group_ended = 1;
	if (db->group_rc == 0)
		db->group_rc = rc;
	tx_ended(db);
	write_lock_give(db);
	return rc;
}

/* A request's outermost begin inside a group (tx_depth already 1). */
static int group_savepoint(struct db *db)
{
	int rc = db->group_open ? 0 : group_open(db);
	if (rc == 0 && sqlite3_get_autocommit(db->h))
		rc = AP_EIO; /* the group's transaction is gone: group_end() says so */
	if (rc == 0)
		rc = db_exec(db, "SAVEPOINT grp");
	if (rc < 0) {
		db->tx_depth = 0;
		return rc;
	}
	db->tx_savepoint = 1;
	return 0;
}

/* A request's outermost end inside a group: RELEASE when ok (rc 0), else
 * its savepoint rolled back and released.  Returns rc, or RELEASE's. */
static int group_release(struct db *db, int rc)
{
	db->tx_savepoint = 0;
	if (rc == 0 && (rc = db_exec(db, "RELEASE grp")) == 0) {
		db->group_reqs++;
		return 0;
	}
	if (!sqlite3_get_autocommit(db->h)) {
		db_exec(db, "ROLLBACK TO grp");
		db_exec(db, "RELEASE grp");
	}
	return rc;
}

void db_group_set_waker(struct db *db, void (*fn)(void *arg), void *arg)
{
	db->lock_wake = fn;
	db->lock_wake_arg = arg;
}

int db_group_try_open(struct db *db)
{
	if (db->group_open)
		return 0;
	if (db->lock_wake == NULL)
		return group_open(db); /* nobody to tell: waits its turn */
	return write_lock_try(db) ? group_begin(db) : AP_EBUSY;
}

void db_group_pass(struct db *db)
{
	int mine = 0;
	pthread_mutex_lock(&write_lock.mu);
	if (db->lock_reserved && write_lock.serving == db->lock_ticket) {
		unreserve(db);
		mine = 1;
	}
	pthread_mutex_unlock(&write_lock.mu);
	if (mine)
		write_lock_give(db);
}

void db_group_cancel(struct db *db)
{
	if (!db->lock_reserved)
		return;
	write_lock_take(db, 0);
	db->lock_wake_after = 0;
	write_lock_give(db);
}

void db_group_enter(struct db *db)
{
	db->grouping = 1;
}

void db_group_leave(struct db *db)
{
	db->grouping = 0;
}

int db_group_pending(const struct db *db)
{
	return db->group_open;
}

int db_group_commit(struct db *db, unsigned *ret_released)
{
	if (db->group_open)
		group_end(db);
	int rc = db->group_ended ? db->group_rc : 0;
	*ret_released = db->group_ended ? db->group_reqs : 0;
	db->group_ended = 0;
	db->group_rc = 0;
	db->group_reqs = 0;
	return rc;
}

int db_begin(struct db *db)
{
	if (db->tx_depth++ > 0)
		return 0;
	db->tx_failed = 0;
	if (db->grouping)
		return group_savepoint(db);
	if (db->group_open)
		group_end(db); /* a writer outside the group: the group first */
	write_lock_take(db, 0);
	db->snap_seq = db_cache_seq();
	int rc = db_exec(db, "BEGIN IMMEDIATE");
	if (rc < 0) {
		db->tx_depth = 0;
		write_lock_give(db);
	}
	db->tx_t0 = tx_hook ? mono_ns() : 0;
	return rc;
}

int db_commit(struct db *db)
{
	if (db->tx_depth == 0)
		return AP_EINVAL;
	if (--db->tx_depth > 0)
		return 0;
	if (db->tx_savepoint)
		return group_release(db, db->tx_failed ? AP_EDB : 0);
	if (db->tx_failed) {
		db_exec(db, "ROLLBACK");
		tx_ended(db);
		write_lock_give(db);
		return AP_EDB;
	}
	int rc = db_exec(db, "COMMIT");
	if (rc < 0)
		db_exec(db, "ROLLBACK");
	tx_ended(db);
	write_lock_give(db);
	return rc;
}

int db_read_begin(struct db *db)
{
	if (db->tx_depth != 0 || db->group_read)
		return AP_EINVAL;
	if (db->grouping && db->group_open) {
		db->group_read = 1; /* the group's transaction is the snapshot */
		return 0;
	}
	if (db->group_open)
		group_end(db);
	db->snap_seq = db_cache_seq();
	return db_exec(db, "BEGIN DEFERRED");
}

void db_read_end(struct db *db)
{
	if (db->group_read)
		db->group_read = 0;
	else if (db->tx_depth == 0)
		db_exec(db, "COMMIT");
}

int db_tx_depth(const struct db *db)
{
	return db->tx_depth;
}

int db_write_waited(void)
{
	pthread_mutex_lock(&write_lock.mu);
	int waited = write_lock.next - write_lock.serving > 1; /* the holder has one ticket */
	pthread_mutex_unlock(&write_lock.mu);
	return waited;
}

int db_split(struct db *db)
{
	if (db->tx_depth != 1)
		return 0;
	int rc = db_commit(db);
	return rc < 0 ? rc : db_begin(db);
}

void db_rollback(struct db *db)
{
	if (db->tx_depth == 0)
		return;
	if (--db->tx_depth > 0) {
		db->tx_failed = 1;
		return;
	}
	if (db->tx_savepoint) {
		group_release(db, AP_EDB);
		return;
	}
	db_exec(db, "ROLLBACK");
	tx_ended(db);
	write_lock_give(db);
}
