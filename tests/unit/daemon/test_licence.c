/*
 * Unit tests of the licence step's gate (daemon/fleet/licence.c), what
 * reconcile.c asks before it queues an App Store app's InstallApplication:
 * no token covers the tablet (the app goes as before), a covered tablet
 * with its licence (licensed install), without it (nothing queued), a
 * licence still being associated (not held), a collège token covering its
 * collège only, the fleet token the others, one tablet loaded alone, an
 * app with no App Store id.  On a temporary file (the rows written with
 * sqlite3 beside the store's connection).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_err.h"
#include "db_vpp.h"
#include "licence.h"
#include "store.h"

#define APP 361309726

static int64_t add_token(struct db *db, const char *scope, const char *school)
{
	unsigned char blob[] = {1, 2, 3};
	struct db_vpp_token t;
	int64_t id = 0;
	memset(&t, 0, sizeof(t));
	snprintf(t.scope, sizeof(t.scope), "%s", scope);
	snprintf(t.school, sizeof(t.school), "%s", school);
	snprintf(t.imported_by, sizeof(t.imported_by), "tech");
	t.stoken = blob;
	t.stoken_len = sizeof(blob);
	t.expires = 2000000000;
	assert_int_equal(db_vpp_token_add(db, &t, &id), 0);
	return id;
}

static void licence(struct db *db, int64_t token, const char *serial, const char *state)
{
	struct db_vpp_licence l;
	memset(&l, 0, sizeof(l));
	l.token_id = token;
	snprintf(l.serial, sizeof(l.serial), "%s", serial);
	snprintf(l.adam_id, sizeof(l.adam_id), "%d", APP);
	snprintf(l.state, sizeof(l.state), "%s", state);
	assert_int_equal(db_vpp_licence_set(db, &l), 0);
}

static char path[64];

/* Runs sql on the file behind the store's back (the test's own rows). */
static int sql_exec(const char *sql)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open(path, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Tablets 1 (A, licensed), 2 (A, associating), 3 (B), 4 (no collège). */
static struct db *fixture(void)
{
	struct db *db = NULL;
	snprintf(path, sizeof(path), "/tmp/test-licence-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(
	    sql_exec("INSERT INTO school (uai, name, created_at) VALUES ('0330001A', 'A', 0),"
		     " ('0330002B', 'B', 0);"
		     "INSERT INTO device (id, serial, udid, school, enrollment, created_at,"
		     " updated_at) VALUES (1, 'SA1', 'U1', '0330001A', 'enrolled', 0, 0),"
		     " (2, 'SA2', 'U2', '0330001A', 'enrolled', 0, 0),"
		     " (3, 'SB1', 'U3', '0330002B', 'enrolled', 0, 0),"
		     " (4, 'SX1', 'U4', NULL, 'enrolled', 0, 0);"),
	    0);
	return db;
}

static void done(struct db *db)
{
	char p[80];
	db_close(db);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static enum licence_gate gate(struct db *db, int64_t load, int64_t dev, const char *school,
			      int64_t store_id)
{
	struct licence_held *h = NULL;
	assert_int_equal(licence_held_load(db, load, &h), 0);
	enum licence_gate g = licence_gate(h, dev, school, store_id);
	licence_held_free(h);
	return g;
}

static void test_no_token(void **state)
{
	(void)state;
	struct db *db = fixture();
	assert_int_equal(gate(db, 0, 1, "0330001A", APP), LICENCE_NONE);
	assert_int_equal(gate(db, 0, 4, NULL, APP), LICENCE_NONE);
	done(db);
}

static void test_fleet_token(void **state)
{
	(void)state;
	struct db *db = fixture();
	int64_t fleet = add_token(db, "fleet", "");
	licence(db, fleet, "SA1", "associated");
	licence(db, fleet, "SA2", "associating");
	assert_int_equal(gate(db, 0, 1, "0330001A", APP), LICENCE_HELD);
	assert_int_equal(gate(db, 1, 1, "0330001A", APP), LICENCE_HELD);    /* loaded alone */
	assert_int_equal(gate(db, 2, 1, "0330001A", APP), LICENCE_WITHOUT); /* another one's */
	assert_int_equal(gate(db, 0, 2, "0330001A", APP), LICENCE_WITHOUT); /* in flight */
	assert_int_equal(gate(db, 0, 3, "0330002B", APP), LICENCE_WITHOUT);
	assert_int_equal(gate(db, 0, 4, NULL, APP), LICENCE_WITHOUT); /* no collège: fleet */
	assert_int_equal(gate(db, 0, 1, "0330001A", 284882215), LICENCE_WITHOUT); /* other app */
	assert_int_equal(gate(db, 0, 1, "0330001A", 0), LICENCE_NONE); /* not an App Store app */
	/* licence_waiting's query: in flight for 2 only */
	assert_int_equal(db_vpp_waiting(db, 2), 1);
	assert_int_equal(db_vpp_waiting(db, 1), 0);
	/* the tablet unenrolled: its licence no longer counts */
	assert_int_equal(sql_exec("UPDATE device SET enrollment = 'unenrolled' WHERE id = 1"), 0);
	assert_int_equal(gate(db, 0, 1, "0330001A", APP), LICENCE_WITHOUT);
	done(db);
}

static void test_school_token(void **state)
{
	(void)state;
	struct db *db = fixture();
	int64_t b = add_token(db, "school:0330002B", "0330002B");
	licence(db, b, "SB1", "associated");
	assert_int_equal(gate(db, 0, 3, "0330002B", APP), LICENCE_HELD);
	assert_int_equal(gate(db, 0, 1, "0330001A", APP), LICENCE_NONE); /* A: no token covers it */
	assert_int_equal(gate(db, 0, 4, NULL, APP), LICENCE_NONE);
	done(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_token),
	    cmocka_unit_test(test_fleet_token),
	    cmocka_unit_test(test_school_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
