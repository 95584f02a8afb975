/* Unit tests for db/db_command.c (and the blobs of db_blob.c): the command
 * queue, on an in-memory database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_command.h"
#include "db_mdm.h"
#include "fleet_fixture.h"
#include "store.h"

static void test_fifo_and_report(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_mdm_enrol(db, "UDID-1", "SER1", "fp1");
	struct db_cmd c;
	char *payload = NULL;
	size_t len = 0;
	int dup = -1;
	assert_int_equal(db_cmd_enqueue(db, id, "DeviceLock", "", "U1", "<a/>", 4, "staff", "t",
					db_now() + 100, 10, NULL),
			 0);
	assert_int_equal(db_cmd_enqueue(db, id, "ProfileList", "", "U2", "<b/>", 4, "staff", "t",
					db_now() + 100, 10, NULL),
			 0);
	/* the same command twice while pending is refused */
	assert_int_equal(db_cmd_enqueue(db, id, "DeviceLock", "", "U3", "<a/>", 4, "staff", "t",
					db_now() + 100, 10, NULL),
			 AP_ECONFLICT);
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), 0);
	assert_string_equal(c.uuid, "U1");
	assert_string_equal(payload, "<a/>");
	free(payload);
	/* NotNow keeps it pending and first in line */
	assert_int_equal(db_cmd_report(db, id, "U1", "notnow", NULL, 0, "", &c, &dup), 0);
	assert_int_equal(dup, 0);
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), 0);
	assert_string_equal(c.uuid, "U1");
	free(payload);
	assert_int_equal(db_cmd_report(db, id, "U1", "acknowledged", "<r/>", 4, "", &c, &dup), 0);
	/* a replayed report changes nothing */
	assert_int_equal(db_cmd_report(db, id, "U1", "error", NULL, 0, "x", &c, &dup), 0);
	assert_int_equal(dup, 1);
	assert_string_equal(c.status, "acknowledged");
	/* another device cannot report on it */
	int64_t other = fixture_mdm_enrol(db, "UDID-2", "SER2", "fp2");
	assert_int_equal(db_cmd_report(db, other, "U2", "acknowledged", NULL, 0, "", NULL, NULL),
			 AP_ENOTFOUND);
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), 0);
	assert_string_equal(c.uuid, "U2");
	free(payload);
	assert_int_equal(db_cmd_report(db, id, "U2", "acknowledged", NULL, 0, "", NULL, NULL), 0);
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), AP_ENOTFOUND);
}

static void test_limits_expiry_prune(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_mdm_enrol(db, "UDID-3", "SER3", "fp3"), n = 0;
	char uuid[8], dd[8];
	for (int i = 0; i < 3; i++) {
		snprintf(uuid, sizeof(uuid), "Q%d", i);
		snprintf(dd, sizeof(dd), "%d", i);
		assert_int_equal(db_cmd_enqueue(db, id, "InstallProfile", dd, uuid, "<p/>", 4,
						"policy", "t", db_now() + 10, 3, NULL),
				 0);
	}
	assert_int_equal(db_cmd_enqueue(db, id, "InstallProfile", "9", "Q9", "<p/>", 4, "policy",
					"t", db_now() + 10, 3, NULL),
			 AP_ELIMIT);
	assert_int_equal(db_cmd_cancel(db, "Q0"), 0);
	assert_int_equal(db_cmd_cancel(db, "Q0"), AP_ECONFLICT);
	db_clock_set_offset(20);
	assert_int_equal(db_cmd_expire(db, db_now(), &n), 0);
	assert_int_equal(n, 2);
	struct db_cmd c;
	assert_int_equal(db_cmd_get(db, "Q1", &c), 0);
	assert_string_equal(c.status, "expired");
	db_clock_set_offset(1000);
	assert_int_equal(db_cmd_prune(db, db_now(), 100, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(db_cmd_get(db, "Q1", &c), AP_ENOTFOUND);
}

static void test_blob_reference(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_mdm_enrol(db, "UDID-5", "SER5", "fp5");
	char h1[65], h2[65];
	unsigned char *data = NULL;
	size_t len = 0;
	assert_int_equal(db_blob_put(db, "profile-bytes", 13, h1), 0);
	assert_int_equal(db_blob_put(db, "profile-bytes", 13, h2), 0);
	assert_string_equal(h1, h2); /* stored once */
	assert_int_equal(db_cmd_enqueue_ref(db, id, "InstallProfile", "fr.x", "B1", h1, "policy",
					    "t", db_now() + 60, 10, NULL),
			 0);
	struct db_cmd c;
	char *payload = NULL;
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(c.blob_ref, h1);
	free(payload);
	assert_int_equal(db_blob_get(db, c.blob_ref, &data, &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(data, "profile-bytes", 13);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fifo_and_report, fixture_empty_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_limits_expiry_prune, fixture_empty_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_blob_reference, fixture_empty_setup,
					    fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
