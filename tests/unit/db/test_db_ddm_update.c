/*
 * Unit tests for db_ddm_update on :memory:: the enrolled tablets of some
 * collèges (or the fleet) with their inventory, DDM state and the update
 * status items read as text (a string's content, the failure's count and
 * reason, the pending version), in collège then serial order; tablets not
 * enrolled left out; a value of an unexpected shape read as its JSON text
 * (which no state matches) or as nothing (a member it lacks).  Over some
 * collèges the tablets are found through their collège, not by reading
 * every enrolled tablet of the fleet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ap_err.h"
#include "db_ddm_update.h"
#include "db_int.h"
#include "store.h"

#define UAI_A "0131266F"
#define UAI_B "0750001U"

static struct db *db;

static void exec(const char *sql)
{
	int rc = db_exec(db, sql);
	if (rc != 0)
		fail_msg("%s: %s", sql, db_errmsg(db));
}

/* 1 A (DDM, every item), 2 A (DDM, odd values), 3 B (DDM, no report),
 * 4 no collège (no DDM), 5 A (not enrolled), 6 A (no DDM, serial before S1). */
static int setup(void **state)
{
	(void)state;
	if (db_open(":memory:", &db) < 0)
		return -1;
	exec("INSERT INTO school(uai, name, created_at) VALUES ('" UAI_A "', 'A', 0),"
	     " ('" UAI_B "', 'B', 0);"
	     "INSERT INTO device(id, serial, school, enrollment, product_name, os_version,"
	     " created_at, updated_at) VALUES"
	     " (1, 'S1', '" UAI_A "', 'enrolled', 'iPad13,18', '18.6.2', 0, 0),"
	     " (2, 'S2', '" UAI_A "', 'enrolled', 'iPad7,5', '17.5', 0, 0),"
	     " (3, 'S3', '" UAI_B "', 'enrolled', 'iPad13,18', '18.6.2', 0, 0),"
	     " (4, 'S4', NULL, 'enrolled', '', '', 0, 0),"
	     " (5, 'S5', '" UAI_A "', 'pending', 'iPad13,18', '', 0, 0),"
	     " (6, 'S0', '" UAI_A "', 'enrolled', 'iPad13,18', '15.8', 0, 0);"
	     "INSERT INTO device_ddm(device_id, enabled_at, status_at) VALUES (1, 10, 20),"
	     " (2, 10, 21), (3, 10, NULL), (5, 10, 22);"
	     "INSERT INTO device_ddm_item(device_id, item, value, reported_at) VALUES"
	     " (1, 'device.operating-system.version', '\"18.6.2\"', 20),"
	     " (1, 'softwareupdate.install-state', '\"failed\"', 20),"
	     " (1, 'softwareupdate.pending-version', '{\"os-version\": \"26.1\", "
	     "\"build-version\": \"\"}', 20),"
	     " (1, 'softwareupdate.failure-reason', '{\"count\": 2, \"reason\": \"Espace "
	     "insuffisant\"}', 20),"
	     " (1, 'passcode.is-compliant', 'true', 20),"
	     " (2, 'device.operating-system.version', '17.5', 21),"
	     " (2, 'softwareupdate.install-state', '[\"downloading\"]', 21),"
	     " (2, 'softwareupdate.failure-reason', '{\"count\": 0}', 21),"
	     " (5, 'softwareupdate.install-state', '\"installing\"', 22);");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	db = NULL;
	return 0;
}

#define ROWS_MAX 8

struct rows {
	size_t n;
	char line[ROWS_MAX][200];
};

static const char *or_null(const char *s)
{
	return s ? s : "NULL";
}

static int take(const struct db_ddm_update_tablet *t, void *arg)
{
	struct rows *r = arg;
	if (r->n == ROWS_MAX)
		return 1;
	snprintf(r->line[r->n++], sizeof(r->line[0]), "%lld %s %s %s %s %d %lld %s %s %s %lld %s",
		 (long long)t->device_id, t->school[0] ? t->school : "-", t->serial,
		 t->product_name[0] ? t->product_name : "-", t->os_version[0] ? t->os_version : "-",
		 t->enabled, (long long)t->status_at, or_null(t->version),
		 or_null(t->install_state), or_null(t->pending_version), (long long)t->failures,
		 or_null(t->failure_reason));
	return 0;
}

static void expect(const struct rows *r, const char *const *want, size_t n)
{
	if (r->n != n)
		fail_msg("%zu rows, expected %zu (first: %s)", r->n, n, r->n ? r->line[0] : "-");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(r->line[i], want[i]);
}

static void test_fleet(void **state)
{
	static const char *const want[] = {
	    "4 - S4 - - 0 0 NULL NULL NULL 0 NULL",
	    "6 " UAI_A " S0 iPad13,18 15.8 0 0 NULL NULL NULL 0 NULL",
	    "1 " UAI_A " S1 iPad13,18 18.6.2 1 20 18.6.2 failed 26.1 2 Espace insuffisant",
	    /* a number for the version is read as its text; an array has no text */
	    "2 " UAI_A " S2 iPad7,5 17.5 1 21 17.5 [\"downloading\"] NULL 0 NULL",
	    "3 " UAI_B " S3 iPad13,18 18.6.2 1 0 NULL NULL NULL 0 NULL",
	};
	struct rows r = {0};
	(void)state;
	assert_int_equal(db_ddm_update_tablets(db, NULL, 0, take, &r), 0);
	expect(&r, want, sizeof(want) / sizeof(want[0]));
}

static void test_some_colleges(void **state)
{
	const char *only_b[] = {UAI_B};
	const char *both[] = {UAI_B, UAI_A};
	const char *none[] = {"0130001C"};
	struct rows r = {0};
	(void)state;
	assert_int_equal(db_ddm_update_tablets(db, only_b, 1, take, &r), 0);
	assert_int_equal(r.n, 1);
	assert_true(strncmp(r.line[0], "3 " UAI_B, 10) == 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(db_ddm_update_tablets(db, both, 2, take, &r), 0);
	assert_int_equal(r.n, 4); /* no tablet without a collège, none not enrolled */
	assert_true(strncmp(r.line[3], "3 ", 2) == 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(db_ddm_update_tablets(db, none, 1, take, &r), 0);
	assert_int_equal(r.n, 0);
	const char *bad[] = {"'); DROP TABLE device; --"};
	assert_true(db_ddm_update_tablets(db, bad, 1, take, &r) < 0);
}

/* The statement's virtual machine steps: what reading one collège cost. */
static int vm_steps_of(const char *needle)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db->h, NULL); st;
	     st = sqlite3_next_stmt(db->h, st))
		if (strstr(sqlite3_sql(st), needle))
			return sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	fail_msg("no statement with %s", needle);
	return -1;
}

static void test_one_college_of_many(void **state)
{
	const char *only_a[] = {UAI_A};
	struct rows r = {0};
	(void)state;
	/* 2,000 enrolled tablets in B: collège A's read must not visit them */
	exec("WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 2099)"
	     " INSERT INTO device(id, serial, school, enrollment, created_at, updated_at)"
	     " SELECT i, 'B' || i, '" UAI_B "', 'enrolled', 0, 0 FROM n");
	assert_int_equal(db_ddm_update_tablets(db, only_a, 1, take, &r), 0);
	assert_int_equal(r.n, 3);
	int steps = vm_steps_of("json_each");
	if (steps > 1000)
		fail_msg("%d VM steps for 3 tablets: the fleet was read", steps);
}

static int stop_at_first(const struct db_ddm_update_tablet *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 1;
}

static void test_stop(void **state)
{
	int calls = 0;
	(void)state;
	assert_int_equal(db_ddm_update_tablets(db, NULL, 0, stop_at_first, &calls), 0);
	assert_int_equal(calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fleet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_some_colleges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_college_of_many, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
