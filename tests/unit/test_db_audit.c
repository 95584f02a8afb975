/*
 * Unit tests for db/db_audit.c: the append-only, hash-chained audit log.
 *
 * Tampering is done the way an intruder with file access would: through a
 * second SQLite connection to the same file, dropping the guard triggers
 * first.  Each kind of tampering must be reported with the first bad id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>

#include "ap_err.h"
#include "db_audit.h"
#include "store.h"
#include "unit.h"

#define NROWS 5

struct fixture {
	char dir[4096];
	char path[4200];
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
	if (db_open(f->path, &f->db) != 0)
		return -1;
	for (int i = 1; i <= NROWS; i++) {
		char target[32];
		snprintf(target, sizeof(target), "DMPXK%04d", i);
		if (db_audit_append(f->db, "tech", "device.lock", target, "lost on the bus",
				    "{\"n\":1}") != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* Runs sql through a second connection; returns the SQLite result code. */
static int tamper(struct fixture *f, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc;
}

static const char drop_guards[] = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;";

static void expect_bad(struct fixture *f, int64_t want_bad)
{
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECONFLICT);
	assert_int_equal(bad, want_bad);
}

static void test_intact_chain_verifies(void **state)
{
	struct fixture *f = *state;
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS);
	assert_int_equal(bad, -1); /* not written on success */
}

static void test_empty_log_verifies(void **state)
{
	struct db *db = NULL;
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_audit_verify(db, &rows, &bad), 0);
	assert_int_equal(rows, 0);
	db_close(db);
}

struct seen {
	int n;
	int64_t ids[16];
	char last_hash[65];
	char targets[16][32];
};

static int collect(const struct db_audit_row *r, void *arg)
{
	struct seen *s = arg;
	s->ids[s->n] = r->id;
	snprintf(s->targets[s->n], sizeof(s->targets[0]), "%s", r->target);
	snprintf(s->last_hash, sizeof(s->last_hash), "%s", r->hash);
	assert_string_equal(r->actor, "tech");
	assert_string_equal(r->action, "device.lock");
	assert_string_equal(r->reason, "lost on the bus");
	assert_string_equal(r->detail, "{\"n\":1}");
	assert_true(r->ts > 1700000000);
	return ++s->n == 16;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	assert_int_equal(db_audit_list(f->db, 0, 0, collect, &s), 0);
	assert_int_equal(s.n, NROWS);
	for (int i = 0; i < NROWS; i++)
		assert_int_equal(s.ids[i], i + 1);
	assert_string_equal(s.targets[2], "DMPXK0003");
	assert_int_equal(strlen(s.last_hash), 64);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_audit_list(f->db, 0, 2, collect, &s), 0); /* limit */
	assert_int_equal(s.n, 2);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_audit_list(f->db, db_now() + 3600, 0, collect, &s), 0); /* since */
	assert_int_equal(s.n, 0);
}

static int count_rows(const struct db_audit_row *r, void *arg)
{
	(void)r;
	++*(int *)arg;
	return 0;
}

static void test_since_filters_by_time(void **state)
{
	struct fixture *f = *state;
	int n = 0;
	db_clock_set_offset(7200);
	assert_int_equal(db_audit_append(f->db, "later", "x", NULL, NULL, NULL), 0);
	db_clock_set_offset(0);
	assert_int_equal(db_audit_list(f->db, db_now() + 3600, 0, count_rows, &n), 0);
	assert_int_equal(n, 1);
	int64_t rows = 0, bad = 0;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0); /* NULL fields are "" */
	assert_int_equal(rows, NROWS + 1);
}

static void test_triggers_refuse_update_and_delete(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, "UPDATE audit SET actor = 'someone' WHERE id = 2"),
			 SQLITE_CONSTRAINT);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 2"), SQLITE_CONSTRAINT);
	assert_int_equal(tamper(f, "DELETE FROM audit"), SQLITE_CONSTRAINT);
	int64_t rows = 0, bad = 0;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS);
}

static void test_edited_field_detected(void **state)
{
	static const char *const edits[] = {
	    "UPDATE audit SET actor = 'someone' WHERE id = 3",
	    "UPDATE audit SET action = 'device.unlock' WHERE id = 3",
	    "UPDATE audit SET target = 'OTHER' WHERE id = 3",
	    "UPDATE audit SET reason = '' WHERE id = 3",
	    "UPDATE audit SET detail = '{\"n\":2}' WHERE id = 3",
	    "UPDATE audit SET ts = ts - 86400 WHERE id = 3",
	    "UPDATE audit SET hash = (SELECT hash FROM audit WHERE id = 2) WHERE id = 3",
	    "UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE id = 1) WHERE id = 3",
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct fixture *f;
		assert_int_equal(setup((void **)&f), 0);
		assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
		assert_int_equal(tamper(f, edits[i]), SQLITE_OK);
		int64_t rows = -1, bad = -1;
		if (db_audit_verify(f->db, &rows, &bad) != AP_ECONFLICT || bad != 3)
			fail_msg("not detected (bad=%lld): %s", (long long)bad, edits[i]);
		assert_int_equal(rows, 2); /* rows 1 and 2 were checked and good */
		teardown((void **)&f);
	}
}

/* Editing a row and recomputing its own hash still breaks the next link. */
static void test_rehashed_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET actor = 'x', hash = 'f00d' WHERE id = 3"),
			 SQLITE_OK);
	expect_bad(f, 3);
}

static void test_deleted_middle_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 3"), SQLITE_OK);
	expect_bad(f, 4); /* the id after the gap */
}

static void test_deleted_first_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 1"), SQLITE_OK);
	expect_bad(f, 2);
}

static void test_deleted_last_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 5"), SQLITE_OK);
	expect_bad(f, 5);
}

static void test_deleted_all_rows_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit"), SQLITE_OK);
	expect_bad(f, 1);
}

/* Renumbering the rows to hide a gap breaks the hashes. */
static void test_renumbered_rows_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 3;"
				   "UPDATE audit SET id = id - 1 WHERE id > 3;"
				   "UPDATE audit_head SET last_id = 4"),
			 SQLITE_OK);
	expect_bad(f, 3);
}

/* Appending after tampering does not launder the chain. */
static void test_append_after_tamper_still_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET reason = 'found' WHERE id = 2"), SQLITE_OK);
	assert_int_equal(db_audit_append(f->db, "tech", "later", "", "", ""), 0);
	expect_bad(f, 2);
}

/* Deleting the newest row and then letting Ardoise append must not hide
 * the deletion: the chain continues from the recorded head. */
static void test_append_after_deleting_last_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 5"), SQLITE_OK);
	assert_int_equal(db_audit_append(f->db, "tech", "later", "", "", ""), 0);
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECONFLICT);
	assert_int_equal(rows, 4);
	assert_int_equal(bad, 5); /* the appended row does not link to row 4 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact_chain_verifies, setup, teardown),
	    cmocka_unit_test(test_empty_log_verifies),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_since_filters_by_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_triggers_refuse_update_and_delete, setup,
					    teardown),
	    cmocka_unit_test(test_edited_field_detected),
	    cmocka_unit_test_setup_teardown(test_rehashed_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_middle_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_first_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_last_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_all_rows_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renumbered_rows_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_after_tamper_still_detected, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_append_after_deleting_last_row_detected, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
