/* Unit tests for db_notice: which rows each list of the daily notice
 * holds, and which it leaves out (a loan deposited for the summer, a last
 * day past the week, a theft with its complaint or closed, a retired
 * tablet in Lost Mode, a request already decided); and when a run was
 * done since a time. */
#include "fleet_fixture.h"
#include "db_audit.h"
#include "db_incident.h"
#include "db_int.h"
#include "db_loan.h"
#include "db_locate.h"
#include "db_notice.h"

#define DAY 86400

static const int64_t today = 1764633600; /* 2025-12-02 */

static void exec(struct db *db, const char *sql)
{
	assert_int_equal(db_exec(db, sql), 0);
}

static int64_t lend(struct db *db, int64_t dev, int64_t person, const char *uai, int64_t due)
{
	int64_t id;
	assert_int_equal(db_loan_create(db, dev, person, uai, 0, due, "test", &id), 0);
	return id;
}

struct seen {
	struct db_notice_item v[16];
	size_t n;
};

static int keep(const struct db_notice_item *it, void *arg)
{
	struct seen *s = arg;
	assert_true(s->n < 16);
	s->v[s->n++] = *it;
	return 0;
}

static struct seen list(struct db *db, enum db_notice_kind k)
{
	struct seen s = {.n = 0};
	assert_int_equal(db_notice_items(db, k, today, today + 8 * DAY, keep, &s), 0);
	return s;
}

static void test_lists(void **state)
{
	struct db *db = *state;
	int64_t d[8], p[4], inc;
	const char *serials[] = {"DMPA00000001", "DMPA00000002", "DMPA00000003", "DMPA00000004",
				 "DMPA00000005", "DMPA00000006", "DMPB00000001", "DMPB00000002"};
	for (int i = 0; i < 8; i++)
		d[i] = fixture_device(db, serials[i], i < 6 ? UAI_A : UAI_B);
	p[0] = fixture_person(db, "E-A1", DB_PERSON_PUPIL, "3A", UAI_A);
	p[1] = fixture_person(db, "E-A2", DB_PERSON_PUPIL, "3B", UAI_A);
	p[2] = fixture_person(db, "T-A1", DB_PERSON_TEACHER, "", UAI_A);
	p[3] = fixture_person(db, "E-B1", DB_PERSON_PUPIL, "4C", UAI_B);
	/* overdue: d0 (due yesterday); not d1 (due today), not d2 (deposited) */
	lend(db, d[0], p[0], UAI_A, today - DAY);
	lend(db, d[1], p[1], UAI_A, today);
	int64_t deposited = lend(db, d[2], p[2], UAI_A, today - 3 * DAY);
	char sql[200];
	snprintf(sql, sizeof(sql), "UPDATE loan SET deposited_at = %lld WHERE id = %lld",
		 (long long)(today - 2 * DAY), (long long)deposited);
	exec(db, sql);
	lend(db, d[6], p[3], UAI_B, today - 10 * DAY);
	struct seen s = list(db, DB_NOTICE_OVERDUE);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].school, UAI_A); /* ordered by collège */
	assert_string_equal(s.v[0].serial, "DMPA00000001");
	assert_string_equal(s.v[0].name, "E-A1"); /* the fixture names people by their id */
	assert_string_equal(s.v[0].class_name, "3A");
	assert_string_equal(s.v[0].person_kind, "pupil");
	assert_int_equal(s.v[0].at, today - DAY);
	assert_string_equal(s.v[1].school, UAI_B);

	/* leavers: last day within the week (E-A2, in 7 days) or past (E-B1);
	 * T-A1 leaves in 8 days: not yet */
	exec(db, "UPDATE person SET left_at = 1764633600 + 7 * 86400 WHERE ext_id = 'E-A2'");
	exec(db, "UPDATE person SET left_at = 1764633600 - 30 * 86400 WHERE ext_id = 'E-B1'");
	exec(db, "UPDATE person SET left_at = 1764633600 + 8 * 86400 WHERE ext_id = 'T-A1'");
	s = list(db, DB_NOTICE_LEAVER);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].name, "E-A2");
	assert_int_equal(s.v[0].at, today + 7 * DAY);
	assert_int_equal(s.v[0].at2, today);
	assert_string_equal(s.v[1].name, "E-B1");

	/* thefts: d3 without its reference (listed), d4 with one; d5 closed */
	assert_int_equal(
	    db_incident_declare(db, d[3], DB_INC_THEFT, today - DAY, "PV-1", "", "t", &inc), 0);
	snprintf(sql, sizeof(sql),
		 "PRAGMA ignore_check_constraints = ON; UPDATE incident SET police_ref = ''"
		 " WHERE id = %lld; PRAGMA ignore_check_constraints = OFF;",
		 (long long)inc);
	exec(db, sql);
	int64_t other;
	assert_int_equal(
	    db_incident_declare(db, d[4], DB_INC_THEFT, today, "PV-2", "", "t", &other), 0);
	s = list(db, DB_NOTICE_NO_COMPLAINT);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].id, inc);
	assert_string_equal(s.v[0].serial, "DMPA00000004");
	assert_string_equal(s.v[0].name, ""); /* not lent */

	/* Lost Mode: d5 (A) and d7 (B); a retired tablet is not listed */
	exec(db, "UPDATE device SET lost_mode = 1 WHERE serial IN ('DMPA00000006',"
		 " 'DMPB00000002', 'DMPA00000005')");
	exec(db, "UPDATE device SET state = 'retired' WHERE serial = 'DMPA00000005'");
	s = list(db, DB_NOTICE_LOST_MODE);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].serial, "DMPA00000006");
	assert_string_equal(s.v[1].serial, "DMPB00000002");

	/* geolocation: pending only */
	int64_t req;
	assert_int_equal(db_locate_create(db, d[3], inc, "", "vol", "tech1", &req), 0);
	s = list(db, DB_NOTICE_LOCATE_PENDING);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].id, req);
	assert_string_equal(s.v[0].requested_by, "tech1");
	exec(db, "UPDATE locate_request SET state = 'denied'");
	assert_int_equal(list(db, DB_NOTICE_LOCATE_PENDING).n, 0);
	assert_int_equal(db_notice_items(db, DB_NOTICE_NKINDS, today, today, keep, &s), AP_EINVAL);
}

static void test_waiting_and_done(void **state)
{
	struct db *db = *state;
	int64_t n = -1;
	int done = -1;
	assert_int_equal(db_notice_waiting(db, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_notice_done_since(db, "notice.sent", "system", 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(db_audit_append(db, "admin", "notice.sent", "manual", NULL, "{}"), 0);
	assert_int_equal(db_notice_done_since(db, "notice.sent", "system", 0, &done), 0);
	assert_int_equal(done, 0); /* a run asked by someone is not the daily one */
	assert_int_equal(db_audit_append(db, "system", "notice.sent", "daily", NULL, "{}"), 0);
	assert_int_equal(db_notice_done_since(db, "notice.sent", "system", 0, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(db_notice_done_since(db, "notice.sent", "system", db_now() + 10, &done),
			 0);
	assert_int_equal(done, 0); /* not since a later time */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lists, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_waiting_and_done, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
