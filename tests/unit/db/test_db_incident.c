/* Unit tests for db_incident and db_report. */
#include "fleet_fixture.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_report.h"

#include <stdlib.h>

static int first(const struct db_incident *in, void *arg)
{
	*(struct db_incident *)arg = *in;
	return 1;
}

static int64_t isodate_day(int64_t t)
{
	return t / 86400 * 86400;
}

static void test_declare_and_close(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A), id, id2, loan;
	int64_t pid = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t now = db_now();
	struct db_incident in;
	assert_int_equal(db_loan_create(db, dev, pid, UAI_A, 0, 0, "t", &loan), 0);
	assert_int_equal(
	    db_incident_declare(db, dev, DB_INC_LOSS, now - 3600, NULL, "bus", "t", &id), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOST);
	/* one open incident per device */
	assert_int_equal(db_incident_declare(db, dev, DB_INC_DAMAGE, now, NULL, NULL, "t", &id2),
			 AP_ECONFLICT);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_int_equal(in.late, 0);
	assert_int_equal(in.loan_id, loan);
	assert_string_equal(in.holder, "E1");
	assert_string_equal(in.prev_state, "loaned");
	assert_true(in.open);
	/* found: back with its holder, the loan still open */
	assert_int_equal(db_incident_close(db, id, DB_INC_REPAIRED, "", "t"), AP_EINVAL);
	assert_int_equal(db_incident_close(db, id, DB_INC_FOUND, "at home", "t"), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOANED);
	assert_int_equal(db_incident_close(db, id, DB_INC_FOUND, "", "t"), AP_ECONFLICT);
	/* a late theft, written off: device retired, loan ended */
	assert_int_equal(db_incident_declare(db, dev, DB_INC_THEFT, now - 49 * 3600, "PV-13-123",
					     NULL, "t", &id2),
			 0);
	assert_int_equal(db_incident_get(db, id2, &in), 0);
	assert_int_equal(in.late, 1);
	assert_string_equal(in.police_ref, "PV-13-123");
	assert_int_equal(db_incident_close(db, id2, DB_INC_WRITTEN_OFF, "", "t"), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_RETIRED);
	struct db_loan l;
	assert_int_equal(db_loan_get(db, loan, &l), 0);
	assert_int_equal(l.state, DB_LOAN_CLOSED);
	assert_string_equal(l.end_reason, "written_off");
	/* nothing more happens to a retired tablet */
	assert_int_equal(db_incident_declare(db, dev, DB_INC_DAMAGE, now, NULL, NULL, "t", &id),
			 AP_ECONFLICT);
}

/* A theft declared before its complaint; the 48 h rule on the report. */
static void test_complaint_and_report(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000003", UAI_A), id, next;
	int64_t now = db_now(), h = 3600;
	struct db_incident in;
	struct db_incident_decl d = {.device_id = dev,
				     .kind = DB_INC_THEFT,
				     .occurred_at = now - 72 * h,
				     .reported_at = now - 50 * h,
				     .actor = "t"};
	/* told the collège 22 h after: not late, however late it is typed */
	assert_int_equal(db_incident_declare_with(db, &d, &id), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_int_equal(in.late, 0);
	assert_int_equal(in.reported_at, now - 50 * h);
	assert_true(in.declared_at >= now);
	assert_true(in.complaint_missing);
	assert_true(in.complaint_overdue); /* reported 50 h ago */
	struct db_incident_filter f = {.complaint_missing = 1, .limit = 10};
	struct db_incident got = {0};
	assert_int_equal(db_incident_list(db, &f, first, &got, &next), 0);
	assert_int_equal(got.id, id);
	/* the reference alone is not the whole complaint */
	struct db_incident_change c = {.set_police_ref = 1, .police_ref = "PV-13-9"};
	assert_int_equal(db_incident_update(db, id, &c), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_true(in.complaint_missing);
	struct db_incident_change day = {.set_complaint_at = 1, .complaint_at = now - 24 * h};
	assert_int_equal(db_incident_update(db, id, &day), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_false(in.complaint_missing);
	assert_false(in.complaint_overdue);
	got.id = 0;
	assert_int_equal(db_incident_list(db, &f, first, &got, &next), 0);
	assert_int_equal(got.id, 0);
	/* the report corrected to 50 h after the event: late */
	struct db_incident_change rep = {.set_reported_at = 1, .reported_at = now - 22 * h};
	assert_int_equal(db_incident_update(db, id, &rep), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_int_equal(in.late, 1);
	rep.reported_at = now - 73 * h; /* before the event */
	assert_int_equal(db_incident_update(db, id, &rep), AP_EINVAL);
	struct db_incident_change empty = {.set_police_ref = 1, .police_ref = ""};
	assert_int_equal(db_incident_update(db, id, &empty), AP_EINVAL);
	assert_int_equal(db_incident_update(db, 999, &day), AP_ENOTFOUND);
	/* a report before the event is refused at declaration too */
	d.device_id = fixture_device(db, "DMPA00000004", UAI_A);
	d.reported_at = d.occurred_at - 1;
	assert_int_equal(db_incident_declare_with(db, &d, &id), AP_EINVAL);
}

/* Damage: its cost (bounded) and the reimbursement asked, in the report. */
static void test_damage_cost(void **state)
{
	struct db *db = *state;
	int64_t now = db_now(), id;
	struct db_incident in;
	struct db_incident_decl d = {.device_id = fixture_device(db, "DMPA00000005", UAI_A),
				     .kind = DB_INC_DAMAGE,
				     .occurred_at = now - 60,
				     .has_cost = 1,
				     .cost_cents = DB_INCIDENT_COST_MAX + 1,
				     .reimburse = 1,
				     .actor = "t"};
	assert_int_equal(db_incident_declare_with(db, &d, &id), AP_EINVAL);
	d.cost_cents = -1;
	assert_int_equal(db_incident_declare_with(db, &d, &id), AP_EINVAL);
	d.cost_cents = 4550;
	assert_int_equal(db_incident_declare_with(db, &d, &id), 0);
	assert_int_equal(db_incident_get(db, id, &in), 0);
	assert_true(in.has_cost && in.cost_cents == 4550 && in.reimburse);
	d.device_id = fixture_device(db, "DMPA00000006", UAI_A);
	d.cost_cents = 1000;
	d.reimburse = 0;
	assert_int_equal(db_incident_declare_with(db, &d, &id), 0);
	d.device_id = fixture_device(db, "DMPA00000007", UAI_A);
	d.has_cost = 0;
	assert_int_equal(db_incident_declare_with(db, &d, &id), 0);
	struct db_incident_change c = {.set_cost = 1, .has_cost = 0};
	assert_int_equal(db_incident_update(db, id, &c), 0);
	c = (struct db_incident_change){.set_cost = 1, .has_cost = 1, .cost_cents = -5};
	assert_int_equal(db_incident_update(db, id, &c), AP_EINVAL);
	struct db_report_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(db_report_fleet(db, NULL, 0, now, isodate_day(now), &rows, &n), 0);
	assert_string_equal(rows[0].uai, UAI_A);
	assert_int_equal(rows[0].damages, 3);
	assert_int_equal(rows[0].damage_cost_cents, 5550);
	assert_int_equal(rows[0].reimbursements, 1);
	free(rows);
}

static void test_repair_in_stock(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000002", UAI_B), id;
	assert_int_equal(
	    db_incident_declare(db, dev, DB_INC_FAILURE, db_now(), NULL, "screen", "t", &id), 0);
	assert_int_equal(fixture_state(db, "DMPA00000002"), DB_DEV_REPAIR);
	assert_int_equal(db_incident_close(db, id, DB_INC_REPAIRED, "", "t"), 0);
	assert_int_equal(fixture_state(db, "DMPA00000002"), DB_DEV_STOCK);
	assert_true(db_incident_outcome_fits(DB_INC_DAMAGE, DB_INC_REPAIRED));
	assert_false(db_incident_outcome_fits(DB_INC_LOSS, DB_INC_REPAIRED));
	assert_false(db_incident_outcome_fits(DB_INC_FAILURE, DB_INC_FOUND));
}

static void test_report(void **state)
{
	struct db *db = *state;
	int64_t day = 86400, now = db_now(), today = now / day * day, id;
	struct db_report_row *rows = NULL;
	size_t n = 0;
	int64_t d1 = fixture_device(db, "R1", UAI_A), d2 = fixture_device(db, "R2", UAI_A);
	fixture_device(db, "R3", UAI_B);
	int64_t p = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	assert_int_equal(db_loan_create(db, d1, p, UAI_A, 0, today - day, "t", &id), 0);
	assert_int_equal(db_incident_declare(db, d2, DB_INC_DAMAGE, now, NULL, NULL, "t", &id), 0);
	assert_int_equal(db_report_fleet(db, NULL, 0, now, today, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].uai, UAI_A);
	assert_int_equal(rows[0].devices, 2);
	assert_int_equal(rows[0].by_state[DB_DEV_LOANED], 1);
	assert_int_equal(rows[0].by_state[DB_DEV_REPAIR], 1);
	assert_int_equal(rows[0].loans_open, 1);
	assert_int_equal(rows[0].overdue, 1);
	assert_int_equal(rows[0].incidents_open, 1);
	assert_int_equal(rows[0].never_seen, 2);
	assert_int_equal(rows[0].not_seen_30d, 2);
	assert_int_equal(rows[1].devices, 1);
	assert_int_equal(rows[1].loans_open, 0);
	free(rows);
	const char *only[] = {UAI_B};
	assert_int_equal(db_report_fleet(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].uai, UAI_B);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_declare_and_close, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_complaint_and_report, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_damage_cost, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_repair_in_stock, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_report, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
