/* Unit tests for db/db_locate.c: the geolocation register, on an
 * in-memory database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_locate.h"
#include "fleet_fixture.h"
#include "store.h"

static int count_fix(int64_t t, const unsigned char *s, size_t n, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_locate_register(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_mdm_enrol(db, "UDID-6", "SER6", "fp6"), req, n = 0;
	struct db_locate l;
	int fixes = 0;
	assert_int_equal(db_locate_create(db, id, 0, "PV-2026-123", "vol signalé", "tech1", &req),
			 0);
	assert_int_equal(db_locate_active(db, id, &l), AP_ENOTFOUND); /* not approved yet */
	assert_int_equal(db_locate_decide(db, req, 1, "tech2", "", db_now() + 3600), 0);
	assert_int_equal(db_locate_decide(db, req, 1, "tech2", "", db_now() + 3600), AP_ECONFLICT);
	assert_int_equal(db_locate_active(db, id, &l), 0);
	assert_int_equal(db_locate_add_fix(db, req, (const unsigned char *)"sealed", 6), 0);
	assert_int_equal(db_locate_fixes(db, req, count_fix, &fixes), 0);
	assert_int_equal(fixes, 1);
	assert_int_equal(db_locate_get(db, req, &l), 0);
	assert_int_equal(l.fixes, 1);
	assert_int_equal(l.reads, 1);
	/* the time box ends: expired, purge scheduled, no active request */
	db_clock_set_offset(3601);
	assert_int_equal(db_locate_expire(db, db_now(), 86400, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_locate_active(db, id, &l), AP_ENOTFOUND);
	db_clock_set_offset(3601 + 86400);
	assert_int_equal(db_locate_purge(db, db_now(), &n), 0);
	assert_int_equal(n, 1);
	fixes = 0;
	assert_int_equal(db_locate_fixes(db, req, count_fix, &fixes), 0);
	assert_int_equal(fixes, 0);
	assert_int_equal(db_locate_get(db, req, &l), 0);
	assert_true(l.purged_at > 0);
	assert_int_equal(l.fixes, 1); /* the register keeps the count */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_locate_register, fixture_empty_setup,
					    fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
