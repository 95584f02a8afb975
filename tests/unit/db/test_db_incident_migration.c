/*
 * The migration that lets a theft be declared before its police
 * complaint: a file made at schema 14 holding incidents (and a
 * geolocation request pointing at one) is migrated to the newest schema
 * through SQLite's writable_schema procedure.  Every row stays as it was,
 * the CHECK is gone, foreign keys and the file are sound, and a second
 * connection opened before the migration sees the new schema (the
 * schema_version cookie was bumped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_incident.h"
#include "sql_unit.h"
#include "store.h"
#include "unit.h"

/* The schema this test starts from: the last one with the CHECK. */
#define BEFORE 14

static const char seed[] =
    "INSERT INTO school(uai, name, created_at) VALUES ('0131266F', 'Clg Seed', 1);"
    "INSERT INTO device(id, serial, school, state, created_at, updated_at)"
    " VALUES (1, 'MIG00000001', '0131266F', 'stolen', 1, 1),"
    "        (2, 'MIG00000002', '0131266F', 'stock', 1, 1);"
    "INSERT INTO incident(id, device_id, school, kind, occurred_at, declared_at, late,"
    " police_ref, note, prev_state, declared_by, status)"
    " VALUES (7, 1, '0131266F', 'theft', 1700000000, 1700300000, 1, 'PV-13-77', 'bus',"
    "         'loaned', 'ati1', 'open'),"
    "        (8, 2, '0131266F', 'damage', 1700000000, 1700001000, 0, '', 'écran',"
    "         'stock', 'ati1', 'closed');"
    "INSERT INTO locate_request(device_id, incident_id, reason, requested_by, requested_at)"
    " VALUES (1, 7, 'vol', 'tech', 1700300100);";

static const char *one_text(sqlite3 *h, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void exec_ok(sqlite3 *h, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void test_theft_check_dropped(void **state)
{
	(void)state;
	char dir[4096], path[4200], sql[4096];
	struct db *db;
	sqlite3 *other;
	struct db_incident in;
	int v;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ardoise.db", dir);
	assert_int_equal(db_open_raw(path, &db), 0);
	assert_int_equal(db_migrate(db, BEFORE), 0);
	db_close(db);

	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	exec_ok(other, "PRAGMA foreign_keys=ON");
	exec_ok(other, seed);
	/* at 14 the CHECK holds: a theft without its reference is refused */
	assert_int_not_equal(
	    sqlite3_exec(other,
			 "INSERT INTO incident(device_id, kind, occurred_at,"
			 " declared_at, prev_state, declared_by) VALUES (2, 'theft',"
			 " 1, 1, 'stock', 'x')",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	int64_t cookie = sql_unit_int(other, "PRAGMA schema_version");

	/* the daemon migrates while `other` stays open with the old schema */
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_version(db, &v), 0);
	assert_int_equal(v, db_schema_version());

	one_text(other, "SELECT sql FROM sqlite_schema WHERE name = 'incident'", sql, sizeof(sql));
	assert_null(strstr(sql, "police_ref != ''"));
	assert_non_null(strstr(sql, "CHECK (kind IN ('loss','theft','damage','failure'))"));
	assert_non_null(strstr(sql, "cost_cents INTEGER CHECK (cost_cents >= 0)"));
	assert_true(sql_unit_int(other, "PRAGMA schema_version") > cookie);
	assert_int_equal(sql_unit_int(other, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	assert_int_equal(sql_unit_int(other, "SELECT count(*) FROM pragma_integrity_check"
					     " WHERE integrity_check != 'ok'"),
			 0);
	/* every row as it was */
	assert_int_equal(sql_unit_int(other, "SELECT count(*) FROM incident"), 2);
	assert_int_equal(sql_unit_int(other,
				      "SELECT count(*) FROM incident WHERE id = 7 AND"
				      " kind = 'theft' AND police_ref = 'PV-13-77' AND late = 1"
				      " AND declared_at = 1700300000 AND status = 'open'"
				      " AND reported_at IS NULL"),
			 1);
	assert_int_equal(
	    sql_unit_int(other, "SELECT count(*) FROM locate_request WHERE incident_id = 7"), 1);
	/* the old connection sees the new schema: no CHECK on its next insert */
	exec_ok(other, "INSERT INTO incident(device_id, kind, occurred_at, declared_at,"
		       " prev_state, declared_by, status) VALUES (2, 'theft', 1, 1, 'stock', 'x',"
		       " 'closed')");
	/* the other CHECKs are still there */
	assert_int_not_equal(
	    sqlite3_exec(other,
			 "INSERT INTO incident(device_id, kind, occurred_at,"
			 " declared_at, prev_state, declared_by) VALUES (2, 'fire',"
			 " 1, 1, 'stock', 'x')",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(other, "UPDATE incident SET cost_cents = -1 WHERE id = 8",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(other);

	/* through the store: the theft of before has its complaint (by the
	 * rule of then); a theft declared now without it is accepted */
	assert_int_equal(db_incident_get(db, 7, &in), 0);
	assert_string_equal(in.police_ref, "PV-13-77");
	assert_int_equal(in.late, 1);
	assert_int_equal(in.reported_at, 0);
	assert_false(in.complaint_missing);
	assert_int_equal(db_incident_get(db, 8, &in), 0);
	assert_false(in.has_cost);
	int64_t id;
	assert_int_equal(
	    db_incident_declare(db, 2, DB_INC_THEFT, db_now() - 60, NULL, "", "t", &id), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_true(in.complaint_missing);
	db_close(db);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_theft_check_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
