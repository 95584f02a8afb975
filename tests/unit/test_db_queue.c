/* Unit tests for the command queue, MDM device state and the geolocation
 * register, on an in-memory database. */
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
#include "db_device.h"
#include "db_locate.h"
#include "db_mdm.h"
#include "store.h"

static int setup(void **state)
{
	struct db *db;
	if (db_open(":memory:", &db) < 0)
		return -1;
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	db_clock_set_offset(0);
	db_close(*state);
	return 0;
}

/* An enrolled device bound to fingerprint fp. */
static int64_t enrol(struct db *db, const char *udid, const char *serial, const char *fp)
{
	struct db_mdm_auth a = {udid, serial, "com.apple.mgmt.test", "17.5", "21F79", "iPad", fp};
	int64_t id = 0;
	const unsigned char tok[4] = {1, 2, 3, 4};
	int first = 0;
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(db, &a, &b), 0);
	assert_int_equal(b.how, DB_MDM_BIND_NEW);
	id = b.id;
	assert_int_equal(
	    db_mdm_token_update(db, id, tok, 4, "magic", "com.apple.mgmt.test", NULL, 0, 0, &first),
	    0);
	assert_int_equal(first, 1);
	return id;
}

static void test_fifo_and_report(void **state)
{
	struct db *db = *state;
	int64_t id = enrol(db, "UDID-1", "SER1", "fp1");
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
	int64_t other = enrol(db, "UDID-2", "SER2", "fp2");
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
	int64_t id = enrol(db, "UDID-3", "SER3", "fp3"), n = 0;
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

static enum db_mdm_bind auth(struct db *db, const char *udid, const char *serial, const char *fp)
{
	struct db_mdm_auth a = {udid, serial, "t", NULL, NULL, NULL, fp};
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(db, &a, &b), 0);
	return b.how;
}

static void test_identity_binding(void **state)
{
	struct db *db = *state;
	int64_t id = enrol(db, "UDID-4", "SER4", "fp4");
	/* an enrolled UDID keeps its certificate */
	assert_int_equal(auth(db, "UDID-4", "SER4", "fp-other"), DB_MDM_BIND_UDID_TAKEN);
	assert_int_equal(auth(db, "UDID-4", "SER4", "fp4"), DB_MDM_BIND_SAME);
	/* after CheckOut (or an erase) it may enrol with a new one */
	assert_int_equal(db_mdm_unenroll(db, id), 0);
	assert_int_equal(auth(db, "UDID-4", "SER4", "fp-other"), DB_MDM_BIND_NEW);
	struct db_device d;
	assert_int_equal(db_mdm_by_udid(db, "UDID-4", &d), 0);
	assert_int_equal(d.id, id);
	assert_string_equal(d.cert_fp, "fp-other");
	assert_string_equal(d.enrollment, "pending");
	/* the replaced certificate is refused, even for its own UDID */
	assert_int_equal(auth(db, "UDID-4", "SER4", "fp4"), DB_MDM_BIND_CERT_ENDED);
}

static void test_one_certificate_one_tablet(void **state)
{
	struct db *db = *state;
	int64_t a = enrol(db, "UDID-A", "SERA", "fpA");
	int created = 0;
	assert_int_equal(db_device_import(db, "SERI", "iPad", NULL, "", &created), 0);
	/* a bound certificate names no other UDID: new, imported or erased */
	assert_int_equal(auth(db, "UDID-X", "SERX", "fpA"), DB_MDM_BIND_CERT_ELSEWHERE);
	assert_int_equal(auth(db, "UDID-I", "SERI", "fpA"), DB_MDM_BIND_CERT_ELSEWHERE);
	struct db_device d;
	assert_int_equal(db_mdm_by_udid(db, "UDID-X", &d), AP_ENOTFOUND);
	assert_int_equal(db_mdm_by_serial(db, "SERI", &d), 0);
	assert_string_equal(d.udid, "");
	/* a UDID keeps its serial; a serial keeps its UDID */
	assert_int_equal(auth(db, "UDID-A", "SERI", "fpA"), DB_MDM_BIND_SERIAL_DIFFERS);
	assert_int_equal(auth(db, "UDID-Y", "SERA", "fpY"), DB_MDM_BIND_SERIAL_TAKEN);
	/* a certificate of another CA does not replace a live binding */
	assert_int_equal(auth(db, "UDID-A", "SERA", "fp-ext"), DB_MDM_BIND_UDID_TAKEN);
	/* one from Ardoise's SCEP issued after the binding does, once */
	assert_int_equal(db_mdm_identity_issued(db, "fpA2", "CODE", "tx-1"), 0);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fpA2"), DB_MDM_BIND_REPLACED);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fpA"), DB_MDM_BIND_CERT_ENDED);
	assert_int_equal(db_mdm_identity_issued(db, "fpA3", "CODE", "tx-2"), 0);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fpA3"), DB_MDM_BIND_REPLACED);
	/* issued before the current binding: not newer */
	assert_int_equal(db_mdm_identity_issued(db, "fp-old", "CODE", "tx-3"), 0);
	assert_int_equal(db_mdm_identity_issued(db, "fp-new", "CODE", "tx-4"), 0);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fp-new"), DB_MDM_BIND_REPLACED);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fp-old"), DB_MDM_BIND_UDID_TAKEN);
	/* released: the next enrolment binds afresh, the released one is ended */
	assert_int_equal(db_mdm_release(db, a), 0);
	assert_int_equal(db_mdm_by_id(db, a, &d), 0);
	assert_string_equal(d.cert_fp, "");
	assert_string_equal(d.enrollment, "unenrolled");
	assert_int_equal(db_mdm_release(db, a), AP_ECONFLICT); /* nothing bound any more */
	assert_int_equal(auth(db, "UDID-A", "SERA", "fp-new"), DB_MDM_BIND_CERT_ENDED);
	assert_int_equal(auth(db, "UDID-A", "SERA", "fp-ext"), DB_MDM_BIND_NEW);
	struct db_mdm_identity i;
	assert_int_equal(db_mdm_identity_get(db, "fp-ext", &i), 0);
	assert_string_equal(i.udid, "UDID-A");
	assert_false(i.issued);
	assert_false(i.ended);
}

static void test_enrol_codes(void **state)
{
	struct db *db = *state;
	char code[33];
	assert_int_equal(db_enroll_code_new(db, NULL, "admin", 60, 2, code), 0);
	assert_int_equal(db_enroll_code_check(db, code), 0);
	assert_int_equal(db_enroll_code_use(db, code, "a"), 0);
	assert_int_equal(db_enroll_code_use(db, code, "b"), 0);
	assert_int_equal(db_enroll_code_use(db, code, "c"), AP_EAUTH);
	assert_int_equal(db_enroll_code_check(db, "NOPE"), AP_EAUTH);
	assert_int_equal(db_enroll_code_new(db, NULL, "admin", 60, 1, code), 0);
	db_clock_set_offset(120);
	assert_int_equal(db_enroll_code_use(db, code, "late"), AP_EAUTH);
}

static void test_blob_reference(void **state)
{
	struct db *db = *state;
	int64_t id = enrol(db, "UDID-5", "SER5", "fp5");
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

static int count_fix(int64_t t, const unsigned char *s, size_t n, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_locate_register(void **state)
{
	struct db *db = *state;
	int64_t id = enrol(db, "UDID-6", "SER6", "fp6"), req, n = 0;
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
	    cmocka_unit_test_setup_teardown(test_fifo_and_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits_expiry_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identity_binding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_certificate_one_tablet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enrol_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blob_reference, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locate_register, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
