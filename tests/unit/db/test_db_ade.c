/*
 * Unit tests for db_ade on :memory:: no token at first, a token stored and
 * read back (its sealed blobs byte for byte, a NUL inside included), a
 * second import replacing the first, and the table's checks refusing an
 * empty consumer key or a second row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ap_err.h"
#include "db_ade.h"
#include "db_int.h"
#include "store.h"

static void test_token(void **state)
{
	struct db *db = NULL;
	struct db_ade_token t, got;
	(void)state;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_ade_token_get(db, &got), AP_ENOTFOUND);
	unsigned char cs[] = {1, 0, 2, 0xff, 3}, as[] = {9, 8, 7};
	memset(&t, 0, sizeof(t));
	snprintf(t.consumer_key, sizeof(t.consumer_key), "%s", "CK_1");
	snprintf(t.access_token, sizeof(t.access_token), "%s", "AT_1");
	t.consumer_secret = cs;
	t.consumer_secret_len = sizeof(cs);
	t.access_secret = as;
	t.access_secret_len = sizeof(as);
	t.expiry = 1421270861;
	t.imported_at = 1700000000;
	snprintf(t.imported_by, sizeof(t.imported_by), "%s", "tech1");
	assert_int_equal(db_ade_token_put(db, &t), 0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_1");
	assert_string_equal(got.access_token, "AT_1");
	assert_int_equal(got.consumer_secret_len, sizeof(cs));
	assert_memory_equal(got.consumer_secret, cs, sizeof(cs));
	assert_int_equal(got.access_secret_len, sizeof(as));
	assert_memory_equal(got.access_secret, as, sizeof(as));
	assert_int_equal(got.expiry, 1421270861);
	assert_int_equal(got.imported_at, 1700000000);
	assert_string_equal(got.imported_by, "tech1");
	db_ade_token_clear(&got);
	assert_null(got.consumer_secret);
	/* a new import replaces the token */
	snprintf(t.consumer_key, sizeof(t.consumer_key), "%s", "CK_2");
	t.expiry = 1800000000;
	assert_int_equal(db_ade_token_put(db, &t), 0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_2");
	assert_int_equal(got.expiry, 1800000000);
	db_ade_token_clear(&got);
	int64_t n = 0;
	sqlite3_stmt *st;
	assert_int_equal(db_stmt(db, "SELECT count(*) FROM ade_token", &st), 0);
	assert_int_equal(db_step_int64(db, st, &n), 0);
	assert_int_equal(n, 1);
	/* the checks */
	t.consumer_key[0] = '\0';
	assert_true(db_ade_token_put(db, &t) < 0);
	assert_true(
	    db_exec(db, "INSERT INTO ade_token VALUES (2, 'CK', 'AT', x'00', x'00', 0, 0, '')") <
	    0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_2"); /* nothing lost */
	db_ade_token_clear(&got);
	db_close(db);
}

static struct db_ade_device dev(const char *serial, const char *op, int64_t op_date)
{
	struct db_ade_device d;
	memset(&d, 0, sizeof(d));
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	snprintf(d.model, sizeof(d.model), "%s", "iPad (10th generation)");
	snprintf(d.color, sizeof(d.color), "%s", "SILVER");
	snprintf(d.op_type, sizeof(d.op_type), "%s", op);
	d.op_date = op_date;
	return d;
}

static int count(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	assert_int_equal(db_stmt(db, sql, &st), 0);
	assert_int_equal(db_step_int64(db, st, &n), 0);
	return (int)n;
}

static void test_devices(void **state)
{
	struct db *db = NULL;
	struct db_ade_device d, got;
	enum db_ade_put what;
	(void)state;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(
	    db_exec(db, "INSERT INTO school(uai, name, created_at) VALUES ('0750001A', 'A', 1),"
			" ('0750002B', 'B', 1);"
			"INSERT INTO device(serial, school, state, model_declared,"
			" created_at, updated_at) VALUES ('KNOWN1', '0750001A',"
			" 'loaned', '', 1, 1)"),
	    0);
	/* a new serial: in the inventory, stock, no collège */
	d = dev("NEW1", "", 0);
	assert_int_equal(db_ade_device_put(db, &d, 1000, &what), 0);
	assert_int_equal(what, DB_ADE_NEW);
	assert_int_equal(count(db, "SELECT count(*) FROM device WHERE serial = 'NEW1' AND"
				   " state = 'stock' AND school IS NULL AND"
				   " model_declared = 'iPad (10th generation)'"),
			 1);
	assert_int_equal(db_ade_device_get(db, "NEW1", &got), 0);
	assert_string_equal(got.color, "SILVER");
	assert_int_equal(got.seen_at, 1000);
	/* a tablet already there keeps its collège and state */
	d = dev("KNOWN1", "added", 500);
	assert_int_equal(db_ade_device_put(db, &d, 1001, &what), 0);
	assert_int_equal(what, DB_ADE_NEW);
	assert_int_equal(count(db, "SELECT count(*) FROM device WHERE serial = 'KNOWN1' AND"
				   " state = 'loaned' AND school = '0750001A'"),
			 1);
	assert_int_equal(count(db, "SELECT count(*) FROM device"), 2);
	/* deleted: removed_at, kept; an older event changes nothing; added clears */
	d = dev("KNOWN1", "deleted", 600);
	assert_int_equal(db_ade_device_put(db, &d, 1002, &what), 0);
	assert_int_equal(what, DB_ADE_REMOVED);
	assert_int_equal(db_ade_device_get(db, "KNOWN1", &got), 0);
	assert_int_equal(got.removed_at, 600);
	d = dev("KNOWN1", "modified", 550);
	assert_int_equal(db_ade_device_put(db, &d, 1003, &what), 0);
	assert_int_equal(what, DB_ADE_UNCHANGED);
	d = dev("KNOWN1", "added", 700);
	assert_int_equal(db_ade_device_put(db, &d, 1004, &what), 0);
	assert_int_equal(what, DB_ADE_MODIFIED);
	assert_int_equal(db_ade_device_get(db, "KNOWN1", &got), 0);
	assert_int_equal(got.removed_at, 0);
	/* a deletion of a serial never seen is not kept */
	d = dev("GHOST1", "deleted", 800);
	assert_int_equal(db_ade_device_put(db, &d, 1005, &what), 0);
	assert_int_equal(what, DB_ADE_UNCHANGED);
	assert_int_equal(db_ade_device_get(db, "GHOST1", &got), AP_ENOTFOUND);
	assert_int_equal(count(db, "SELECT count(*) FROM device WHERE serial = 'GHOST1'"), 0);

	/* the sync state */
	struct db_ade_sync s;
	assert_int_equal(db_ade_sync_get(db, &s), 0);
	assert_string_equal(s.phase, "fetch");
	assert_int_equal(db_ade_sync_cursor(db, "abc", "sync", 2000), 0);
	memset(&s, 0, sizeof(s));
	s.run_at = 2000;
	s.devices = 2;
	s.error_at = 2001;
	s.error_status = 403;
	snprintf(s.error, sizeof(s.error), "%s", "T_C_NOT_SIGNED");
	assert_int_equal(db_ade_sync_ran(db, &s), 0);
	assert_int_equal(db_ade_sync_get(db, &s), 0);
	assert_string_equal(s.cursor, "abc");
	assert_string_equal(s.phase, "sync");
	assert_int_equal(s.error_status, 403);
	assert_int_equal(s.ok_at, 0);

	/* profiles: one for the fleet, one per collège */
	struct db_ade_profile p;
	int64_t fleet = 0, coll = 0, x = 0;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", "Flotte");
	snprintf(p.settings, sizeof(p.settings), "%s", "{\"profile_name\":\"Flotte\"}");
	snprintf(p.created_by, sizeof(p.created_by), "%s", "tech");
	assert_int_equal(db_ade_profile_add(db, &p, 3000, &fleet), 0);
	snprintf(p.name, sizeof(p.name), "%s", "Autre");
	assert_true(db_ade_profile_add(db, &p, 3000, &x) < 0); /* a second fleet one */
	snprintf(p.school, sizeof(p.school), "%s", "9999999Z");
	assert_int_equal(db_ade_profile_add(db, &p, 3000, &x), AP_ENOTFOUND);
	snprintf(p.name, sizeof(p.name), "%s", "Collège A");
	snprintf(p.school, sizeof(p.school), "%s", "0750001A");
	assert_int_equal(db_ade_profile_add(db, &p, 3000, &coll), 0);
	/* nothing to assign before the profiles are defined at Apple */
	struct db_ade_todo todo[4];
	size_t n = 9;
	assert_int_equal(db_ade_assign_todo(db, 4000, fleet, 0, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ade_profile_defined(db, fleet, "UF", 3500), 0);
	assert_int_equal(db_ade_profile_defined(db, coll, "UC", 3500), 0);
	/* each tablet gets its collège's profile, else the fleet's */
	assert_int_equal(db_ade_assign_todo(db, 4000, fleet, 0, todo, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(todo[0].profile_id, fleet);
	assert_string_equal(todo[0].serial, "NEW1");
	assert_string_equal(todo[0].profile_uuid, "UF");
	/* a page after that tablet: none */
	assert_int_equal(db_ade_assign_todo(db, 4000, fleet, todo[0].device_id, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ade_assign_set(db, "NEW1", fleet, "assigned", "", 0), 0);
	assert_int_equal(db_ade_assign_todo(db, 4000, fleet, 0, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ade_assign_todo(db, 4000, coll, 0, todo, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(todo[0].serial, "KNOWN1");
	assert_int_equal(todo[0].profile_id, coll);
	assert_string_equal(todo[0].profile_uuid, "UC");
	assert_int_equal(db_ade_assign_set(db, "KNOWN1", coll, "throttled", "", 5000), 0);
	assert_int_equal(db_ade_assign_todo(db, 4000, coll, 0, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ade_assign_todo(db, 5000, coll, 0, todo, 4, &n), 0); /* due */
	assert_int_equal(n, 1);
	assert_int_equal(db_ade_assign_set(db, "KNOWN1", coll, "assigned", "", 0), 0);
	/* moved to another collège: the fleet's profile again */
	assert_int_equal(
	    db_exec(db, "UPDATE device SET school = '0750002B' WHERE serial = 'KNOWN1'"), 0);
	assert_int_equal(db_ade_assign_todo(db, 5000, coll, 0, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ade_assign_todo(db, 5000, fleet, 0, todo, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(todo[0].profile_id, fleet);
	/* removed tablets are not assigned */
	d = dev("KNOWN1", "deleted", 900);
	assert_int_equal(db_ade_device_put(db, &d, 1006, &what), 0);
	assert_int_equal(db_ade_assign_todo(db, 5000, fleet, 0, todo, 4, &n), 0);
	assert_int_equal(n, 0);
	struct db_ade_counts c;
	assert_int_equal(db_ade_counts(db, &c), 0);
	assert_int_equal(c.known, 2);
	assert_int_equal(c.removed, 1);
	assert_int_equal(c.assigned, 1);
	/* an update drops Apple's definition and sends its tablets back to pending */
	snprintf(p.name, sizeof(p.name), "%s", "Flotte");
	p.school[0] = '\0';
	assert_int_equal(db_ade_profile_update(db, &p, 6000), 0);
	assert_int_equal(db_ade_profile_get(db, "Flotte", &p), 0);
	assert_string_equal(p.profile_uuid, "");
	assert_int_equal(db_ade_device_get(db, "NEW1", &got), 0);
	assert_string_equal(got.assign_state, "pending");
	assert_int_equal(db_ade_profile_remove(db, "Flotte"), 0);
	assert_int_equal(db_ade_profile_remove(db, "Flotte"), AP_ENOTFOUND);
	assert_int_equal(db_ade_device_get(db, "NEW1", &got), 0);
	assert_int_equal(got.profile_id, 0);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
