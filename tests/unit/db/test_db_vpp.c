/*
 * Unit tests for db_vpp on :memory:: a token stored with its sealed blob
 * byte for byte and listed without it, a second token for the same scope
 * refused, the token that covers a collège (its own, else the fleet's),
 * licences held and waiting per tablet (retired tablets not active),
 * assets replaced, shortages per collège, and a token removed taking its
 * licences with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_int.h"
#include "db_vpp.h"
#include "store.h"

static int64_t add_token(struct db *db, const char *scope, const char *school)
{
	unsigned char blob[] = {7, 0, 9, 0xfe};
	struct db_vpp_token t;
	int64_t id = 0;
	memset(&t, 0, sizeof(t));
	snprintf(t.scope, sizeof(t.scope), "%s", scope);
	snprintf(t.school, sizeof(t.school), "%s", school);
	snprintf(t.imported_by, sizeof(t.imported_by), "tech");
	t.stoken = blob;
	t.stoken_len = sizeof(blob);
	t.expires = 2000000000;
	t.imported_at = 1700000000;
	int rc = db_vpp_token_add(db, &t, &id);
	return rc < 0 ? rc : id;
}

static struct db *open_fixture(void)
{
	struct db *db = NULL;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO school (uai, name, created_at) VALUES"
				     " ('0330001A', 'A', 0), ('0330002B', 'B', 0);"
				     "INSERT INTO device (serial, udid, school, enrollment, state,"
				     " created_at, updated_at) VALUES"
				     " ('SA1', 'U1', '0330001A', 'enrolled', 'stock', 0, 0),"
				     " ('SB1', 'U2', '0330002B', 'enrolled', 'stock', 0, 0),"
				     " ('SR1', 'U3', '0330002B', 'enrolled', 'retired', 0, 0);"),
			 0);
	return db;
}

static void test_tokens(void **state)
{
	(void)state;
	struct db *db = open_fixture();
	struct db_vpp_token got, *list = NULL;
	size_t n = 0;
	int64_t id = 0;
	assert_int_equal(db_vpp_token_for(db, "0330001A", &id), 0);
	assert_int_equal(id, 0);
	int64_t fleet = add_token(db, "fleet", "");
	int64_t a = add_token(db, "school:0330001A", "0330001A");
	assert_true(fleet > 0 && a > fleet);
	assert_int_equal(add_token(db, "fleet", ""), AP_EEXIST);
	assert_int_equal(add_token(db, "everyone", ""), AP_EEXIST); /* CHECK on the scope */
	assert_int_equal(db_vpp_token_get(db, a, &got), 0);
	assert_string_equal(got.scope, "school:0330001A");
	assert_string_equal(got.school, "0330001A");
	assert_int_equal(got.stoken_len, 4);
	assert_int_equal(got.stoken[1], 0);
	assert_int_equal(got.stoken[3], 0xfe);
	db_vpp_token_clear(&got);
	assert_int_equal(db_vpp_token_get(db, 999, &got), AP_ENOTFOUND);
	assert_int_equal(db_vpp_token_list(db, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_null(list[0].stoken);
	assert_string_equal(list[0].scope, "fleet");
	free(list);
	assert_int_equal(db_vpp_token_for(db, "0330001A", &id), 0);
	assert_int_equal(id, a);
	assert_int_equal(db_vpp_token_for(db, "0330002B", &id), 0);
	assert_int_equal(id, fleet);
	assert_int_equal(db_vpp_token_for(db, NULL, &id), 0);
	assert_int_equal(id, fleet);
	assert_int_equal(db_vpp_token_note(db, a, "Collège A", "42", "expired", 1, 0), 0);
	assert_int_equal(db_vpp_token_get(db, a, &got), 0);
	assert_string_equal(got.location, "Collège A");
	assert_string_equal(got.error, "expired");
	assert_int_equal(got.stopped, 1);
	assert_true(got.error_at > 0);
	db_vpp_token_clear(&got);
	assert_int_equal(db_vpp_token_note(db, a, "", "", "", -1, 5), 0);
	assert_int_equal(db_vpp_token_get(db, a, &got), 0);
	assert_string_equal(got.location, "Collège A");
	assert_string_equal(got.error, "");
	assert_int_equal(got.error_at, 0);
	assert_int_equal(got.stopped, 1);
	assert_int_equal(got.synced_at, 5);
	db_vpp_token_clear(&got);
	db_close(db);
}

static int count_held(int64_t device_id, const char *adam_id, void *arg)
{
	(void)device_id;
	(void)adam_id;
	(*(int *)arg)++;
	return 0;
}

static int count_tablet(int64_t id, const char *serial, const char *school, void *arg)
{
	(void)id;
	(void)school;
	assert_string_not_equal(serial, "SR1");
	(*(int *)arg)++;
	return 0;
}

static int count_licence(const struct db_vpp_licence *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
	return 0;
}

static void test_licences(void **state)
{
	(void)state;
	struct db *db = open_fixture();
	int64_t fleet = add_token(db, "fleet", "");
	struct db_vpp_licence l = {fleet, "SA1", "361309726", "STDQ", "associated", "", 1};
	int n = 0;
	int64_t sa1 = 0, sb1 = 0;
	assert_int_equal(db_vpp_licence_set(db, &l), 0);
	snprintf(l.serial, sizeof(l.serial), "SB1");
	snprintf(l.state, sizeof(l.state), "associating");
	snprintf(l.event_id, sizeof(l.event_id), "e1");
	assert_int_equal(db_vpp_licence_set(db, &l), 0);
	sqlite3_stmt *st;
	assert_int_equal(db_stmt(db, "SELECT id FROM device WHERE serial = 'SA1'", &st), 0);
	assert_int_equal(db_step_int64(db, st, &sa1), 0);
	assert_int_equal(db_stmt(db, "SELECT id FROM device WHERE serial = 'SB1'", &st), 0);
	assert_int_equal(db_step_int64(db, st, &sb1), 0);
	assert_int_equal(db_vpp_held_each(db, 0, count_held, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(db_vpp_held_each(db, sb1, count_held, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_vpp_waiting(db, sb1), 1);
	assert_int_equal(db_vpp_waiting(db, sa1), 0);
	n = 0;
	assert_int_equal(db_vpp_tablet_each(db, count_tablet, &n), 0);
	assert_int_equal(n, 2);
	/* the stand-in's bad serial is refused by the table */
	struct db_vpp_licence bad = l;
	snprintf(bad.serial, sizeof(bad.serial), "%s", "");
	assert_true(db_vpp_licence_set(db, &bad) < 0);
	/* shortages per collège */
	struct db_vpp_short s[] = {{fleet, "0330002B", "361309726", 3, 1, 10}};
	assert_int_equal(db_vpp_short_replace(db, s, 1), 0);
	assert_int_equal(db_vpp_short_for(db, sb1, "361309726"), 1);
	assert_int_equal(db_vpp_short_for(db, sa1, "361309726"), 0);
	assert_int_equal(db_vpp_short_replace(db, NULL, 0), 0);
	assert_int_equal(db_vpp_short_for(db, sb1, "361309726"), 0);
	/* assets replaced, not added */
	struct db_vpp_asset a[] = {{fleet, "1", "STDQ", "App", 10, 2, 8, 1, 5},
				   {fleet, "2", "STDQ", "App", 1, 0, 1, 1, 5}};
	assert_int_equal(db_vpp_assets_replace(db, fleet, a, 2), 0);
	assert_int_equal(db_vpp_assets_replace(db, fleet, a + 1, 1), 0);
	int na = 0;
	assert_int_equal(
	    db_vpp_asset_each(db, 0, (int (*)(const struct db_vpp_asset *, void *))count_licence,
			      &na),
	    0);
	assert_int_equal(na, 1);
	/* the token removed takes its licences */
	assert_int_equal(db_vpp_token_remove(db, fleet), 0);
	assert_int_equal(db_vpp_token_remove(db, fleet), AP_ENOTFOUND);
	n = 0;
	assert_int_equal(db_vpp_licence_each(db, 0, count_licence, &n), 0);
	assert_int_equal(n, 0);
	struct db_vpp_run r = {100, 0, 3, 1, 20, 0, "", 0}, got;
	assert_int_equal(db_vpp_run_get(db, &got), 0);
	assert_int_equal(got.run_at, 0);
	assert_int_equal(db_vpp_run_put(db, &r), 0);
	snprintf(r.error, sizeof(r.error), "boom");
	r.run_at = 200;
	assert_int_equal(db_vpp_run_put(db, &r), 0);
	assert_int_equal(db_vpp_run_get(db, &got), 0);
	assert_int_equal(got.run_at, 200);
	assert_int_equal(got.ok_at, 100);
	assert_string_equal(got.error, "boom");
	assert_int_equal(got.runs, 2);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_licences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
