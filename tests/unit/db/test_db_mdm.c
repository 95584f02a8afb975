/* Unit tests for db/db_mdm.c: the push side (results, the re-push rules,
 * invalid tokens) with the store's clock frozen, then the identity
 * binding and enrolment codes.  On :memory:. */
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
#include "db_command.h"
#include "db_mdm.h"
#include "fleet_fixture.h"
#include "store.h"

#define TOPIC "com.apple.mgmt.External.unit"

static struct db *db;
static int64_t base;

/* Makes db_now() read base + t. */
static void at(int64_t t)
{
	db_clock_freeze(base + t); /* an offset would slip when the second ticks */
}

static const unsigned char token_a[32] = {0xaa, 1, 2, 3};
static const unsigned char token_b[32] = {0xbb, 1, 2, 3};

static int64_t enrolled(const char *serial, const unsigned char *token)
{
	char udid[40], fp[65];
	int64_t id = 0;
	snprintf(udid, sizeof(udid), "udid-%s", serial);
	snprintf(fp, sizeof(fp), "%064d", 0);
	memcpy(fp, serial, strlen(serial));
	struct db_mdm_auth a = {udid, serial, TOPIC, "17.0", "21A", "iPad13,1", fp};
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(db, &a, &b), 0);
	id = b.id;
	assert_int_equal(db_mdm_token_update(db, id, token, 32, "MAGIC", TOPIC, NULL, 0, 0, NULL),
			 0);
	return id;
}

static void queue(int64_t id, const char *uuid, int64_t expires_in)
{
	assert_int_equal(db_cmd_enqueue(db, id, "DeviceInformation", uuid, uuid, "<plist/>", 8,
					"staff", "t", db_now() + expires_in, 100, NULL),
			 0);
}

struct seen {
	int64_t ids[16];
	size_t n;
};

static int collect(int64_t id, void *arg)
{
	struct seen *s = arg;
	if (s->n < 16)
		s->ids[s->n++] = id;
	return 0;
}

/* The devices due at base + t (grace 60, min 100, max 1000). */
static struct seen due(int64_t t)
{
	struct seen s = {{0}, 0};
	struct db_repush p = {base + t, 60, 100, 1000};
	assert_int_equal(db_mdm_push_due(db, &p, 100, collect, &s), 0);
	return s;
}

static int setup(void **state)
{
	base = (int64_t)time(NULL) + 1000;
	at(0);
	return db_open(":memory:", &db);
}

static int teardown(void **state)
{
	db_close(db);
	db_clock_freeze(0);
	db_clock_set_offset(0);
	return 0;
}

static void test_never_pushed_after_grace(void **state)
{
	at(0);
	int64_t a = enrolled("DMPA", token_a);
	queue(a, "c-a-1", 86400);
	assert_int_equal(due(30).n, 0); /* the notification path has it */
	struct seen s = due(61);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], a);
	/* pushed: not due again until the backoff (100 s from the push) */
	assert_int_equal(db_mdm_push_result(db, a, base + 61, NULL, 0, NULL), 0);
	assert_int_equal(due(62).n, 0);
	assert_int_equal(due(160).n, 0);
	assert_int_equal(due(161).n, 1);
	/* the gaps double: last push at 161 -> interval 161 -> due at 322 */
	db_mdm_push_result(db, a, base + 161, NULL, 0, NULL);
	assert_int_equal(due(321).n, 0);
	assert_int_equal(due(322).n, 1);
	/* ... up to max_s (1000) */
	db_mdm_push_result(db, a, base + 5000, NULL, 0, NULL);
	assert_int_equal(due(5999).n, 0);
	assert_int_equal(due(6000).n, 1);
	/* the device answered: nothing more to do while nothing new is queued */
	at(6001);
	struct db_cmd c;
	char *payload = NULL;
	size_t len;
	assert_int_equal(db_cmd_next(db, a, &c, &payload, &len), 0);
	free(payload);
	assert_int_equal(db_cmd_report(db, a, "c-a-1", "acknowledged", NULL, 0, "", NULL, NULL), 0);
	assert_int_equal(due(9000).n, 0);
}

static void test_queued_after_last_push(void **state)
{
	at(0);
	int64_t b = enrolled("DMPB", token_b);
	db_mdm_push_result(db, b, base + 5, NULL, 0, NULL);
	at(10);
	db_mdm_seen(db, b);
	at(20);
	queue(b, "c-b-1", 86400); /* its notification was dropped */
	assert_int_equal(due(70).n, 0);
	assert_int_equal(due(81).n, 1);
}

static void test_seen_but_missed(void **state)
{
	at(0);
	int64_t c = enrolled("DMPC", token_a);
	queue(c, "c-c-1", 86400);
	db_mdm_push_result(db, c, base + 1, NULL, 0, NULL);
	at(100);
	db_mdm_seen(db, c);		 /* came, yet the command stayed queued */
	assert_int_equal(due(105).n, 0); /* maybe still in its session */
	assert_int_equal(due(160).n, 1);
	/* once sent, it is no longer "missed" */
	struct db_cmd cmd;
	char *payload = NULL;
	size_t len;
	assert_int_equal(db_cmd_next(db, c, &cmd, &payload, &len), 0);
	free(payload);
	assert_int_equal(due(160).n, 0);
}

/* A bulk's push woke the tablet before the bulk committed. */
static void test_woken_before_commit(void **state)
{
	at(0);
	int64_t f = enrolled("DMPF", token_a);
	db_mdm_push_result(db, f, base - 100, NULL, 0, NULL);
	assert_int_equal(db_begin(db), 0);
	queue(f, "c-f-1", 86400); /* created_at 0, inside the transaction */
	at(2);
	db_mdm_push_result(db, f, base + 1, NULL, 0, NULL);
	assert_int_equal(db_commit(db), 0);
	db_mdm_seen(db, f); /* the session at 2 found nothing (not committed yet) */
	assert_int_equal(due(61).n, 0);
	assert_int_equal(due(62).n, 1);
}

static void test_not_pushable(void **state)
{
	at(0);
	int64_t d = enrolled("DMPD", token_a);
	queue(d, "c-d-1", 86400);
	/* a result for an older token does not mark the current one */
	assert_int_equal(db_mdm_push_result(db, d, base + 1, token_b, 32, "invalid: Unregistered"),
			 0);
	struct db_device dev;
	assert_int_equal(db_mdm_by_id(db, d, &dev), 0);
	assert_string_equal(dev.push_state, "");
	assert_int_equal(dev.last_push, base + 1);
	assert_int_equal(db_mdm_push_result(db, d, base + 2, token_a, 32, "invalid: Unregistered"),
			 0);
	assert_int_equal(db_mdm_by_id(db, d, &dev), 0);
	assert_string_equal(dev.push_state, "invalid: Unregistered");
	assert_int_equal(due(100000).n, 0);
	int64_t n = -1;
	assert_int_equal(db_mdm_push_invalid(db, 10, NULL, NULL, &n), 0);
	assert_int_equal(n, 1);
	/* a new TokenUpdate makes it pushable again */
	assert_int_equal(db_mdm_token_update(db, d, token_b, 32, "M2", TOPIC, NULL, 0, 0, NULL), 0);
	assert_int_equal(db_mdm_push_invalid(db, 10, NULL, NULL, &n), 0);
	assert_int_equal(n, 0);

	int64_t e = enrolled("DMPE", token_a);
	queue(e, "c-e-1", 10); /* expires before the grace is over */
	assert_int_equal(db_mdm_unenroll(db, d), 0);
	struct seen s = due(100000);
	assert_int_equal(s.n, 0);
}

/* The identity binding and enrolment codes, on the live clock. */

static int setup_live(void **state)
{
	return db_open(":memory:", &db);
}

static enum db_mdm_bind auth(struct db *store, const char *udid, const char *serial, const char *fp)
{
	struct db_mdm_auth a = {udid, serial, "t", NULL, NULL, NULL, fp};
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(store, &a, &b), 0);
	return b.how;
}

static void test_identity_binding(void **state)
{
	int64_t id = fixture_mdm_enrol(db, "UDID-4", "SER4", "fp4");
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
	int64_t a = fixture_mdm_enrol(db, "UDID-A", "SERA", "fpA");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_never_pushed_after_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queued_after_last_push, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seen_but_missed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_pushable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_woken_before_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identity_binding, setup_live, teardown),
	    cmocka_unit_test_setup_teardown(test_one_certificate_one_tablet, setup_live, teardown),
	    cmocka_unit_test_setup_teardown(test_enrol_codes, setup_live, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
