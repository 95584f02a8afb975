/* Unit tests for db/db_mdm_cache.c, the session index: served from memory
 * once read, read again after any commit that changed the rows (from
 * another connection, also outside a transaction), never trusting what a
 * rolled-back or uncommitted transaction wrote, nor what a reader loaded
 * from a snapshot older than a commit (the race tag); the last_seen
 * interval.  Two connections to one file in a temporary directory (the
 * index serves WAL files only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ap_err.h"
#include "db_mdm.h"
#include "db_mdm_cache.h"
#include "fleet_fixture.h"
#include "store.h"
#include "unit.h"

#define FP  "aa11223344556677889900aabbccddeeff00112233445566778899aabbccddee"
#define FP2 "bb11223344556677889900aabbccddeeff00112233445566778899aabbccddee"

static struct db *a, *b; /* two loops' connections */
static char dir[4096];
static int64_t dev;
static int64_t base;

static int setup(void **state)
{
	char path[4200];
	(void)state;
	base = (int64_t)time(NULL);
	db_clock_freeze(base);
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ardoise.db", dir);
	if (db_open(path, &a) < 0 || db_open(path, &b) < 0)
		return -1;
	dev = fixture_mdm_enrol(a, "UDID-1", "SER1", FP);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(a);
	db_close(b);
	unit_rmtree(dir);
	db_clock_freeze(0);
	return 0;
}

static uint64_t hits(void)
{
	struct db_mdm_cache_stats s;
	db_mdm_cache_stats(&s);
	return s.hits;
}

/* A session's two reads on connection db; *ret the device. */
static void session(struct db *db, const char *fp, struct db_device *ret)
{
	struct db_mdm_identity i;
	assert_int_equal(db_mdm_identity_known(db, fp, &i), 0);
	assert_int_equal(db_mdm_session_device(db, "UDID-1", fp, ret), 0);
}

static void test_served_then_changed_elsewhere(void **state)
{
	struct db_device d;
	struct db_mdm_identity i;
	session(a, FP, &d); /* loads */
	uint64_t h = hits();
	session(b, FP, &d); /* the other loop: from memory */
	assert_int_equal(hits(), h + 2);
	assert_int_equal(d.id, dev);
	assert_string_equal(d.enrollment, "enrolled");
	assert_string_equal(d.serial, "SER1");
	assert_string_equal(d.cert_fp, FP);
	/* a write of the other connection in a transaction: read again */
	assert_int_equal(db_begin(b), 0);
	assert_int_equal(db_mdm_unenroll(b, dev), 0);
	assert_int_equal(db_commit(b), 0);
	h = hits();
	session(a, FP, &d);
	assert_string_equal(d.enrollment, "unenrolled");
	assert_int_equal(hits(), h + 1); /* the identity row did not change */
	/* a write outside any transaction (autocommit) */
	assert_int_equal(db_mdm_release(b, dev), 0);
	assert_int_equal(db_mdm_identity_known(a, FP, &i), 0);
	assert_true(i.ended);
	assert_int_equal(db_mdm_session_device(a, "UDID-1", FP, &d), 0);
	assert_string_equal(d.cert_fp, ""); /* unbound: from the database */
}

static void test_rollback_and_own_writes(void **state)
{
	struct db_device d;
	session(a, FP, &d);
	session(a, FP, &d);
	assert_int_equal(db_begin(b), 0);
	assert_int_equal(db_mdm_unenroll(b, dev), 0);
	/* b sees its own change, a the committed row */
	assert_int_equal(db_mdm_session_device(b, "UDID-1", FP, &d), 0);
	assert_string_equal(d.enrollment, "unenrolled");
	uint64_t h = hits();
	assert_int_equal(db_mdm_session_device(a, "UDID-1", FP, &d), 0);
	assert_string_equal(d.enrollment, "enrolled");
	assert_int_equal(hits(), h + 1);
	db_rollback(b);
	session(b, FP, &d);
	assert_string_equal(d.enrollment, "enrolled");
	session(a, FP, &d);
	assert_string_equal(d.enrollment, "enrolled");
}

static void test_race_tag(void **state)
{
	struct db_device d;
	struct db_mdm_identity i;
	/* a's snapshot is taken before b's commit; a loads after it */
	assert_int_equal(db_read_begin(a), 0);
	assert_int_equal(db_mdm_identity_get(a, FP2, &i), AP_ENOTFOUND); /* the snapshot */
	assert_int_equal(db_begin(b), 0);
	assert_int_equal(db_mdm_unenroll(b, dev), 0);
	assert_int_equal(db_commit(b), 0);
	session(a, FP, &d);
	assert_string_equal(d.enrollment, "enrolled"); /* what the snapshot says */
	db_read_end(a);
	/* the entry loaded from the old snapshot is not trusted */
	session(a, FP, &d);
	assert_string_equal(d.enrollment, "unenrolled");
	session(b, FP, &d);
	assert_string_equal(d.enrollment, "unenrolled");
}

static int64_t last_seen(void)
{
	struct db_device d;
	assert_int_equal(db_mdm_by_id(b, dev, &d), 0);
	return d.last_seen;
}

static void seen_at(int64_t t, int result)
{
	struct db_device d;
	db_clock_freeze(base + t);
	session(a, FP, &d);
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_mdm_seen_session(a, &d, result), 0);
	assert_int_equal(db_commit(a), 0);
}

static void test_seen_interval(void **state)
{
	struct db_device d;
	seen_at(100, 0);
	assert_int_equal(last_seen(), base + 100);
	seen_at(100 + DB_MDM_SEEN_INTERVAL - 1, 0); /* idle, soon after: nothing */
	assert_int_equal(last_seen(), base + 100);
	seen_at(100 + DB_MDM_SEEN_INTERVAL - 1, 1); /* a result: written */
	assert_int_equal(last_seen(), base + 100 + DB_MDM_SEEN_INTERVAL - 1);
	/* the index remembers the value written (no read again) */
	uint64_t h = hits();
	session(a, FP, &d);
	assert_int_equal(hits(), h + 2);
	assert_int_equal(d.last_seen, base + 100 + DB_MDM_SEEN_INTERVAL - 1);
	/* a push since: the next idle session is written */
	db_clock_freeze(base + 170);
	assert_int_equal(db_mdm_push_result(b, dev, base + 170, NULL, 0, NULL), 0);
	seen_at(175, 0);
	assert_int_equal(last_seen(), base + 175);
	seen_at(175 + DB_MDM_SEEN_INTERVAL, 0);
	assert_int_equal(last_seen(), base + 175 + DB_MDM_SEEN_INTERVAL);
	/* a seen write rolled back leaves the index as the database */
	db_clock_freeze(base + 400);
	session(a, FP, &d);
	assert_int_equal(db_begin(a), 0);
	assert_int_equal(db_mdm_seen_session(a, &d, 1), 0);
	db_rollback(a);
	session(a, FP, &d);
	assert_int_equal(d.last_seen, base + 175 + DB_MDM_SEEN_INTERVAL);
}

static void test_hostile_keys(void **state)
{
	struct db_device d;
	struct db_mdm_identity i;
	session(a, FP, &d);
	/* another udid with this certificate: the database answers */
	assert_int_equal(db_mdm_session_device(a, "UDID-2", FP, &d), AP_ENOTFOUND);
	/* upper case, short, long, not hex: never the index, same answers */
	const char *bad[] = {"AA11223344556677889900AABBCCDDEEFF00112233445566778899AABBCCDDEE",
			     "aa11", FP "00",
			     "zz11223344556677889900aabbccddeeff001122334455667788"
			     "99aabbccddee",
			     ""};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint64_t h = hits();
		assert_int_equal(db_mdm_identity_known(a, bad[k], &i), AP_ENOTFOUND);
		assert_int_equal(db_mdm_session_device(a, "UDID-1", bad[k], &d), 0);
		assert_string_equal(d.cert_fp, FP); /* the caller compares and refuses */
		assert_int_equal(hits(), h);
	}
	/* a certificate the database does not know is not remembered */
	assert_int_equal(db_mdm_identity_known(a, FP2, &i), AP_ENOTFOUND);
	assert_int_equal(db_mdm_identity_issued(b, FP2, "CODE", "tx"), 0);
	assert_int_equal(db_mdm_identity_known(a, FP2, &i), 0);
	assert_true(i.issued);
}

static void test_other_file_not_served(void **state)
{
	char path[4200];
	struct db *o;
	struct db_device d;
	snprintf(path, sizeof(path), "%s/other.db", dir);
	assert_int_equal(db_open(path, &o), 0);
	fixture_mdm_enrol(o, "UDID-1", "SER-O", FP);
	session(a, FP, &d);
	uint64_t h = hits();
	assert_int_equal(db_mdm_session_device(o, "UDID-1", FP, &d), 0);
	assert_string_equal(d.serial, "SER-O");
	assert_int_equal(hits(), h);
	db_close(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_served_then_changed_elsewhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_and_own_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_race_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seen_interval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_file_not_served, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
