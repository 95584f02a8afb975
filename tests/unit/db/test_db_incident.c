/* Unit tests for db_incident and db_report. */
#include "fleet_fixture.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_report.h"

#include <stdlib.h>

static void test_declare_and_close(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A), id, id2, loan;
	int64_t pid = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t now = db_now();
	struct db_incident in;
	assert_int_equal(db_loan_create(db, dev, pid, UAI_A, 0, 0, "t", &loan), 0);
	/* theft needs the police reference */
	assert_int_equal(db_incident_declare(db, dev, DB_INC_THEFT, now, "", "", "t", &id),
			 AP_EMISSING);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOANED);
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
	    cmocka_unit_test_setup_teardown(test_repair_in_stock, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_report, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
