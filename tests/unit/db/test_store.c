/*
 * Unit tests for db/store.c: opening, migrations from every earlier schema
 * version, refusing newer files, nested transactions and group commit
 * (and its turn of the write lock taken without blocking).
 *
 * Migrations are checked in a loop over every version k < newest: a file is
 * built at version k, rows that exist at k are inserted (the seeds below,
 * written against the schema as it was at their version), and db_open()
 * must migrate it to db_schema_version() keeping every row.  A new
 * migration is covered automatically; a new table deserves a new seed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "ap_err.h"
#include "db_account.h"
#include "db_audit.h"
#include "sql_unit.h"
#include "store.h"
#include "unit.h"

struct seed {
	int since; /* schema version that has the table */
	const char *insert;
	const char *count; /* must return 1 after the migration */
};

static const struct seed seeds[] = {
    {1,
     "INSERT INTO account(name, role, schools, token_hash, created_at)"
     " VALUES ('seed.ati', 'ati', '0131266F', 'seedhash', 1700000000)",
     "SELECT count(*) FROM account WHERE name = 'seed.ati' AND role = 'ati'"
     " AND schools = '0131266F' AND token_hash = 'seedhash'"},
    {1,
     "INSERT INTO audit(id, ts, actor, action, target, reason, detail, prev_hash, hash)"
     " VALUES (1, 1700000000, 'system', 'seed', 't', 'r', '{}', 'p', 'h')",
     "SELECT count(*) FROM audit WHERE id = 1 AND actor = 'system' AND action = 'seed'"},
    {2, "INSERT INTO school(uai, name, created_at) VALUES ('0131266F', 'Collège Seed', 1)",
     "SELECT count(*) FROM school WHERE uai = '0131266F' AND name = 'Collège Seed'"},
    {2,
     "INSERT INTO device(serial, udid, school, state, created_at, updated_at)"
     " VALUES ('SEEDSERIAL1', 'seed-udid', '0131266F', 'loaned', 1, 1)",
     "SELECT count(*) FROM device WHERE serial = 'SEEDSERIAL1' AND udid = 'seed-udid'"
     " AND school = '0131266F' AND state = 'loaned'"},
    {2,
     "INSERT INTO command(uuid, device_id, type, status, payload, created_at, expires_at)"
     " VALUES ('seed-cmd', (SELECT id FROM device WHERE serial = 'SEEDSERIAL1'),"
     " 'DeviceInformation', 'queued', x'00', 1, 2)",
     "SELECT count(*) FROM command WHERE uuid = 'seed-cmd' AND status = 'queued'"},
};

#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

struct fixture {
	char dir[4096];
	char path[4200];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/ardoise.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* Runs sql on path through a separate plain SQLite connection. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *h;
	char *err = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	int rc = sqlite3_exec(h, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	int64_t v = sql_unit_int(h, sql);
	sqlite3_close(h);
	return v;
}

static void test_open_memory(void **state)
{
	struct db *db = NULL;
	int v = -1;
	assert_true(db_schema_version() >= 2);
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_version(db, &v), 0);
	assert_int_equal(v, db_schema_version());
	db_close(db);
	db_close(NULL); /* destructors accept NULL */
}

static void test_open_file_and_reopen(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	char token[DB_TOKEN_LEN + 1];
	struct db_account a;
	int v = -1;

	assert_int_equal(db_open(f->path, &db), 0);
	assert_int_equal(db_account_create(db, "alice", DB_ROLE_TECHNICIAN, NULL, 0, token, NULL),
			 0);
	db_close(db);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), db_schema_version());
	assert_int_equal(db_open(f->path, &db), 0); /* no migration left: a no-op */
	assert_int_equal(db_version(db, &v), 0);
	assert_int_equal(v, db_schema_version());
	assert_int_equal(db_account_by_token(db, token, &a), 0);
	assert_string_equal(a.name, "alice");
	db_close(db);
}

static void test_open_empty_existing_file(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	unit_write(f->dir, "ardoise.db", "");
	assert_int_equal(db_open(f->path, &db), 0);
	db_close(db);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), db_schema_version());
}

static void test_migrate_from_every_version(void **state)
{
	struct fixture *f = *state;
	int newest = db_schema_version();

	for (int k = 0; k < newest; k++) {
		struct db *db = NULL;
		int v = -1;
		unit_rmtree(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);

		assert_int_equal(db_open_raw(f->path, &db), 0);
		assert_int_equal(db_migrate(db, k), 0);
		assert_int_equal(db_version(db, &v), 0);
		assert_int_equal(v, k);
		db_close(db);
		for (size_t i = 0; i < NSEEDS; i++)
			if (seeds[i].since <= k)
				raw_exec(f->path, seeds[i].insert);

		db = NULL;
		if (db_open(f->path, &db) != 0)
			fail_msg("migrating from version %d to %d failed", k, newest);
		assert_int_equal(db_version(db, &v), 0);
		assert_int_equal(v, newest);
		if (k >= 1) { /* the store's own API reads the migrated row */
			struct db_account a;
			assert_int_equal(db_account_by_name(db, "seed.ati", &a), 0);
			assert_int_equal(a.role, DB_ROLE_ATI);
			assert_int_equal(a.n_schools, 1);
			assert_string_equal(a.schools[0], "0131266F");
			assert_string_equal(a.display_name, "");
			assert_int_equal(a.password_set, 0);
			assert_int_equal(a.last_signin_at, 0);
		}
		db_close(db);
		for (size_t i = 0; i < NSEEDS; i++)
			if (seeds[i].since <= k && raw_int(f->path, seeds[i].count) != 1)
				fail_msg("row seeded at version %d lost migrating to %d: %s", k,
					 newest, seeds[i].count);
	}
}

static void test_migrate_bounds(void **state)
{
	struct db *db = NULL;
	int v = -1;
	assert_int_equal(db_open_raw(":memory:", &db), 0);
	assert_int_equal(db_migrate(db, db_schema_version() + 1), AP_EINVAL);
	assert_int_equal(db_version(db, &v), 0);
	assert_int_equal(v, 0);
	db_close(db);
}

/* A file written by a newer Ardoise is refused, and left untouched. */
static void test_newer_file_refused(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", db_schema_version() + 1);
	raw_exec(f->path, sql);
	assert_int_equal(db_open(f->path, &db), AP_EUNSUPPORTED);
	assert_null(db);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), db_schema_version() + 1);
}

/* A step that fails leaves the file at the version before it, whole. */
static void test_failed_migration_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	raw_exec(f->path, "CREATE TABLE audit (x INTEGER)"); /* step 1 creates audit too */
	assert_true(db_open(f->path, &db) < 0);
	assert_null(db);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 0);
	assert_int_equal(
	    raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'account'"), 0);
}

/* Two connections to one file (one per worker) see each other's commits. */
static void test_two_connections(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	char token[DB_TOKEN_LEN + 1];
	struct db_account acct;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);
	assert_int_equal(db_account_create(a, "bob", DB_ROLE_AUDITOR, NULL, 0, token, NULL), 0);
	assert_int_equal(db_account_by_token(b, token, &acct), 0);
	assert_int_equal(acct.role, DB_ROLE_AUDITOR);
	db_close(a);
	db_close(b);
}

static int exists(struct db *db, const char *name)
{
	struct db_account a;
	int rc = db_account_by_name(db, name, &a);
	assert_true(rc == 0 || rc == AP_ENOTFOUND);
	return rc == 0;
}

static void create(struct db *db, const char *name)
{
	char token[DB_TOKEN_LEN + 1];
	assert_int_equal(db_account_create(db, name, DB_ROLE_REFERENT, NULL, 0, token, NULL), 0);
}

static void test_transactions(void **state)
{
	struct db *db = NULL;
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_open(":memory:", &db), 0);

	assert_int_equal(db_commit(db), AP_EINVAL); /* nothing to commit */
	db_rollback(db);			    /* nothing to roll back: harmless */

	assert_int_equal(db_begin(db), 0);
	create(db, "one");
	assert_int_equal(db_commit(db), 0);
	assert_true(exists(db, "one"));

	/* nested: only the outermost commit makes it durable */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_begin(db), 0);
	create(db, "two");
	assert_int_equal(db_commit(db), 0);
	assert_true(exists(db, "two")); /* visible inside the transaction */
	assert_int_equal(db_commit(db), 0);
	assert_true(exists(db, "two"));

	assert_int_equal(db_begin(db), 0);
	create(db, "three");
	db_rollback(db);
	assert_false(exists(db, "three"));

	/* an inner rollback dooms the whole outer transaction */
	assert_int_equal(db_begin(db), 0);
	create(db, "four");
	assert_int_equal(db_begin(db), 0);
	create(db, "five");
	db_rollback(db);
	assert_int_equal(db_commit(db), AP_EDB);
	assert_false(exists(db, "four"));
	assert_false(exists(db, "five"));

	/* and the connection is usable afterwards */
	assert_int_equal(db_begin(db), 0);
	create(db, "six");
	assert_int_equal(db_audit_append(db, "six", "test", "", "", ""), 0); /* nests */
	assert_int_equal(db_commit(db), 0);
	assert_true(exists(db, "six"));

	/* an audit row appended in a transaction rolled back leaves no trace */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_audit_append(db, "x", "rolled.back", "", "", ""), 0);
	db_rollback(db);
	assert_int_equal(db_audit_verify(db, &rows, &bad), 0);
	assert_int_equal(rows, 1);
	db_close(db);
}

/* db_split: a long run in parts, each visible to the other connections
 * once done; nested in a caller's transaction it waits for the caller.
 * db_read_begin: a snapshot without the write lock. */
static void test_split(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);

	assert_int_equal(db_begin(a), 0);
	create(a, "part1");
	assert_false(exists(b, "part1"));
	assert_int_equal(db_split(a), 0);
	assert_true(exists(b, "part1")); /* committed */
	create(a, "part2");
	db_rollback(a); /* undoes the current part only */
	assert_true(exists(b, "part1"));
	assert_false(exists(b, "part2"));
	assert_false(exists(a, "part2"));

	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_begin(a), 0);
	create(a, "nested");
	assert_int_equal(db_split(a), 0);
	assert_false(exists(b, "nested")); /* the caller's transaction decides */
	assert_int_equal(db_commit(a), 0);
	assert_int_equal(db_commit(a), 0);
	assert_true(exists(b, "nested"));

	/* a read transaction: one snapshot, and the others write meanwhile */
	assert_int_equal(db_read_begin(a), 0);
	assert_false(exists(a, "later"));
	create(b, "later"); /* would wait forever if a held the write lock */
	assert_false(exists(a, "later"));
	db_read_end(a);
	assert_true(exists(a, "later"));
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_read_begin(a), AP_EINVAL); /* not inside a write */
	assert_int_equal(db_commit(a), 0);
	db_close(a);
	db_close(b);
}

/* ---- group commit (store.h: db_group_*) ---- */

static int tx_hooked;

static void count_tx(uint64_t ns)
{
	(void)ns;
	tx_hooked++;
}

/* One request of a group on a: begin, name created, end (ok: commit,
 * else rollback); returns db_commit()'s result (0 after a rollback). */
static int grouped_request(struct db *a, const char *name, int ok)
{
	int rc = 0;
	db_group_enter(a);
	assert_int_equal(db_begin(a), 0);
	create(a, name);
	if (ok)
		rc = db_commit(a);
	else
		db_rollback(a);
	db_group_leave(a);
	return rc;
}

/* Each request is a savepoint: one's rollback keeps the others' rows, a
 * nested rollback dooms its own request only, nothing is visible to the
 * other connections before db_group_commit(), which commits once. */
static void test_group_savepoints(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	unsigned n = 99;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);
	tx_hooked = 0;
	db_set_tx_hook(count_tx);

	assert_false(db_group_pending(a));
	assert_int_equal(grouped_request(a, "g1", 1), 0);
	assert_true(db_group_pending(a)); /* open past the request */
	assert_int_equal(grouped_request(a, "g2", 0), 0);
	db_group_enter(a); /* nested begins inside one request */
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_begin(a), 0);
	create(a, "g3");
	assert_int_equal(db_commit(a), 0);
	assert_int_equal(db_tx_depth(a), 1);
	assert_int_equal(db_commit(a), 0);
	db_group_leave(a);
	db_group_enter(a); /* an inner rollback dooms its request */
	assert_int_equal(db_begin(a), 0);
	create(a, "g4");
	assert_int_equal(db_begin(a), 0);
	create(a, "g5");
	db_rollback(a);
	assert_int_equal(db_commit(a), AP_EDB);
	db_group_leave(a);

	assert_true(exists(a, "g1") && exists(a, "g3")); /* the group's own view */
	assert_false(exists(a, "g2") || exists(a, "g4") || exists(a, "g5"));
	assert_false(exists(b, "g1") || exists(b, "g3")); /* not committed yet */
	assert_int_equal(tx_hooked, 0);
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(n, 2);		/* g1 and g3 */
	assert_int_equal(tx_hooked, 1); /* one transaction */
	assert_false(db_group_pending(a));
	assert_true(exists(b, "g1") && exists(b, "g3"));
	assert_false(exists(b, "g2") || exists(b, "g4") || exists(b, "g5"));

	/* nothing open: commits nothing, and b may write (the lock is free) */
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(n, 0);
	create(b, "free");
	db_set_tx_hook(NULL);
	db_close(a);
	db_close(b);
}

/* A group whose requests wrote nothing (or only read) opens nothing; a
 * read inside a request reads the group's writes; a writer or a reader
 * outside a request commits the group first; db_split and long runs
 * outside a group are as before. */
static void test_group_readers_and_outsiders(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	unsigned n = 99;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);

	db_group_enter(a);
	assert_false(exists(a, "none"));
	assert_int_equal(db_read_begin(a), 0); /* no group open: its own snapshot */
	db_read_end(a);
	db_group_leave(a);
	assert_false(db_group_pending(a));
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(grouped_request(a, "r1", 1), 0);
	db_group_enter(a);
	assert_int_equal(db_read_begin(a), 0); /* the group's transaction */
	assert_true(exists(a, "r1"));
	assert_int_equal(db_read_begin(a), AP_EINVAL); /* not nested */
	db_read_end(a);
	db_group_leave(a);
	assert_true(db_group_pending(a));
	assert_int_equal(db_read_begin(a), 0); /* outside: the group commits first */
	assert_true(exists(b, "r1"));
	db_read_end(a);

	assert_int_equal(grouped_request(a, "w1", 1), 0);
	assert_int_equal(db_begin(a), 0); /* a writer outside: the same */
	assert_true(exists(b, "w1"));
	create(a, "o1");
	assert_int_equal(db_split(a), 0);
	assert_true(exists(b, "o1"));
	create(a, "o2");
	assert_int_equal(db_commit(a), 0);
	assert_true(exists(b, "o2"));
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(n, 2); /* r1 and w1, committed before */
	db_close(a);
	db_close(b);
}

/* The test hook: the nth group commit rolls back and says so, also when
 * a writer outside the group committed it; the next group is unaffected. */
static void test_group_failure(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	unsigned n = 99;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);

	db_group_fail_at(1);
	assert_int_equal(grouped_request(a, "f1", 1), 0);
	assert_int_equal(grouped_request(a, "f2", 1), 0);
	assert_int_equal(db_group_commit(a, &n), AP_EIO);
	assert_int_equal(n, 2);
	assert_false(exists(a, "f1") || exists(a, "f2") || exists(b, "f1"));

	assert_int_equal(grouped_request(a, "f3", 1), 0); /* the second: commits */
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_true(exists(b, "f3"));

	db_group_fail_at(1);
	assert_int_equal(grouped_request(a, "f4", 1), 0);
	assert_int_equal(db_begin(a), 0); /* ends the group, which fails */
	create(a, "o3");
	assert_int_equal(db_commit(a), 0);
	assert_int_equal(grouped_request(a, "f5", 1), 0); /* a new group */
	assert_int_equal(db_group_commit(a, &n), AP_EIO); /* the failure is told */
	assert_int_equal(n, 2);
	assert_false(exists(b, "f4"));
	assert_true(exists(b, "o3") && exists(b, "f5"));
	assert_int_equal(db_group_commit(a, &n), 0); /* and told once */
	db_group_fail_at(0);

	/* db_close() ends an open group and gives the lock back */
	assert_int_equal(grouped_request(a, "f6", 1), 0);
	db_close(a);
	create(b, "after");
	assert_true(exists(b, "f6"));
	db_close(b);
}

/* ---- the group's turn of the write lock (db_group_try_open) ---- */

static void count_wake(void *arg)
{
	(*(int *)arg)++;
}

static int waited_grouped = -1;
static uint64_t waited_ns;

static void lock_waited(int grouped, uint64_t ns)
{
	waited_grouped = grouped;
	waited_ns += ns;
}

/* a's group holds the lock: b's try does not block, holds its place and is
 * woken when a commits; a's next try then does not overtake b, although
 * nobody holds the lock; each is woken in turn. */
static void test_group_try_open_turns(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL, *c = NULL;
	int wa = 0, wb = 0;
	unsigned n = 99;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);
	assert_int_equal(db_open(f->path, &c), 0);
	db_group_set_waker(a, count_wake, &wa);
	db_group_set_waker(b, count_wake, &wb);

	assert_int_equal(db_group_try_open(a), 0);
	assert_true(db_group_pending(a));
	assert_int_equal(db_group_try_open(a), 0); /* already open */
	assert_int_equal(grouped_request(a, "t1", 1), 0);
	assert_int_equal(db_group_try_open(b), AP_EBUSY);
	assert_int_equal(db_group_try_open(b), AP_EBUSY); /* the same place, not a second */
	assert_false(db_group_pending(b));
	assert_int_equal(wb, 0);
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(wb, 1);			  /* b's turn came */
	assert_int_equal(db_group_try_open(a), AP_EBUSY); /* free, but b is first */
	assert_int_equal(db_group_try_open(b), 0);
	assert_int_equal(grouped_request(b, "t2", 1), 0);
	assert_int_equal(wa, 0);
	assert_int_equal(db_group_commit(b, &n), 0);
	assert_int_equal(wa, 1);
	assert_int_equal(db_group_try_open(a), 0);
	assert_int_equal(db_group_commit(a, &n), 0); /* an empty group */
	assert_int_equal(n, 0);
	assert_true(exists(c, "t1") && exists(c, "t2"));

	/* a turn come to a loop that no longer needs it is passed on: c (no
	 * waker, so it would block forever otherwise) writes */
	assert_int_equal(db_group_try_open(a), 0);
	assert_int_equal(db_group_try_open(b), AP_EBUSY);
	db_group_pass(b); /* not its turn yet: nothing */
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(wb, 2);
	db_group_pass(b);
	create(c, "t3");

	/* a blocking writer of b's own takes b's place instead of queueing
	 * behind it (single thread: it would wait forever), and wakes b when it
	 * ends, so that what b put off tries again */
	assert_int_equal(db_group_try_open(a), 0);
	assert_int_equal(db_group_try_open(b), AP_EBUSY);
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(wb, 3);
	assert_int_equal(db_begin(b), 0);
	create(b, "t4");
	assert_int_equal(db_commit(b), 0);
	assert_int_equal(wb, 4);
	assert_int_equal(db_group_try_open(b), 0);
	assert_int_equal(db_group_commit(b, &n), 0);

	/* a turn given back at close (db_close() cancels): the lock is free */
	assert_int_equal(db_group_try_open(a), 0);
	assert_int_equal(db_group_try_open(b), AP_EBUSY);
	assert_int_equal(db_group_commit(a, &n), 0);
	db_close(b);
	create(c, "t5");
	db_close(a);
	db_close(c);
}

struct blocked {
	struct db *db;
	int done;
};

static void *blocked_writer(void *arg)
{
	struct blocked *bw = arg;
	assert_int_equal(db_begin(bw->db), 0);
	create(bw->db, "bw");
	assert_int_equal(db_commit(bw->db), 0);
	__atomic_store_n(&bw->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A blocking writer that queues behind a loop's place waits for that
 * loop's group, not just for the holder's (the loop's turn is not
 * overtaken); the time it blocked is reported as not grouped. */
static void test_group_try_open_blocking_writer(void **state)
{
	struct fixture *f = *state;
	struct db *a = NULL, *b = NULL;
	struct blocked bw = {NULL, 0};
	int wa = 0, wb = 0;
	unsigned n;
	pthread_t t;
	assert_int_equal(db_open(f->path, &a), 0);
	assert_int_equal(db_open(f->path, &b), 0);
	assert_int_equal(db_open(f->path, &bw.db), 0);
	db_group_set_waker(a, count_wake, &wa);
	db_group_set_waker(b, count_wake, &wb);
	db_set_lock_wait_hook(lock_waited);
	waited_ns = 0;
	waited_grouped = -1;

	assert_int_equal(db_group_try_open(a), 0);
	assert_int_equal(db_group_try_open(b), AP_EBUSY); /* b's place, then the writer's */
	assert_int_equal(pthread_create(&t, NULL, blocked_writer, &bw), 0);
	struct timespec ms = {0, 20000000};
	nanosleep(&ms, NULL); /* the writer queues (or comes later: it waits all the same) */
	assert_int_equal(db_group_commit(a, &n), 0);
	assert_int_equal(wb, 1);
	nanosleep(&ms, NULL);
	assert_false(__atomic_load_n(&bw.done, __ATOMIC_SEQ_CST)); /* b's turn is b's */
	assert_int_equal(db_group_try_open(b), 0);
	assert_int_equal(grouped_request(b, "g", 1), 0);
	assert_int_equal(db_group_commit(b, &n), 0);
	pthread_join(t, NULL);
	assert_true(bw.done);
	assert_true(exists(a, "bw") && exists(a, "g"));
	assert_true(waited_ns == 0 || waited_grouped == 0);
	assert_int_equal(wa, 0);
	db_set_lock_wait_hook(NULL);
	db_close(a);
	db_close(b);
	db_close(bw.db);
}

static void test_clock_offset(void **state)
{
	int64_t t0 = db_now();
	db_clock_set_offset(86400);
	int64_t t1 = db_now();
	db_clock_set_offset(0);
	assert_true(t1 - t0 >= 86400 && t1 - t0 <= 86402);
	assert_true(db_now() - t0 <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_memory),
	    cmocka_unit_test_setup_teardown(test_open_file_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_empty_existing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_from_every_version, setup, teardown),
	    cmocka_unit_test(test_migrate_bounds),
	    cmocka_unit_test_setup_teardown(test_newer_file_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test_setup_teardown(test_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_savepoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_readers_and_outsiders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_try_open_turns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_try_open_blocking_writer, setup, teardown),
	    cmocka_unit_test(test_clock_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
