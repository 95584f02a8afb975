/* Unit tests for db_loan and db_person: loans, returns, the erase
 * acknowledgement, leaving, overdue loans, the summer campaign, the summer
 * deposit, updates, mark-erased, the overdue job, agreements per year. */
#include "fleet_fixture.h"
#include "db_audit.h"
#include "db_loan.h"

struct loans {
	int n;
	struct db_loan v[8];
};

static int collect(const struct db_loan *l, void *arg)
{
	struct loans *s = arg;
	if (s->n < 8)
		s->v[s->n] = *l;
	s->n++;
	return 0;
}

static int count_audit(const struct db_audit_row *r, void *arg)
{
	int *n = arg;
	if (strcmp(r->action, "loan.erased") == 0)
		(*n)++;
	return 0;
}

static void test_loan_lifecycle(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A);
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t p2 = fixture_person(db, "E2", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t id, id2, rows, bad;
	struct db_loan l;
	int audits = 0;

	assert_int_equal(db_loan_create(db, dev, p1, UAI_A, 1, 0, "ati", &id), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOANED);
	/* one loan per device: the state check and the unique index */
	assert_int_equal(db_loan_create(db, dev, p2, UAI_A, 0, 0, "ati", &id2), AP_ECONFLICT);
	assert_int_equal(db_loan_active(db, dev, &l), 0);
	assert_int_equal(l.id, id);
	assert_string_equal(l.person, "E1");
	assert_int_equal(l.home_use, 1);
	/* nothing to acknowledge while the loan is open */
	assert_int_equal(db_loan_erase_acknowledged(db, dev), AP_ENOTFOUND);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOANED);

	assert_int_equal(db_loan_return(db, id, "broken", "ati"), AP_EINVAL);
	assert_int_equal(db_loan_return(db, id, "ok", "ati"), 0);
	assert_int_equal(db_loan_return(db, id, "ok", "ati"), AP_ECONFLICT); /* twice */
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_RETURNING);
	assert_int_equal(db_loan_set_erase_command(db, id, "0C8A5C2E-1111-4222-8333-444455556666"),
			 0);
	/* still "in progress" until the erase is acknowledged: no new loan */
	assert_int_equal(db_loan_create(db, dev, p2, UAI_A, 0, 0, "ati", &id2), AP_ECONFLICT);

	assert_int_equal(db_loan_erase_acknowledged(db, dev), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_STOCK);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.state, DB_LOAN_CLOSED);
	assert_string_equal(l.end_reason, "erased");
	assert_string_equal(l.condition, "ok");
	assert_string_equal(l.erase_command, "0C8A5C2E-1111-4222-8333-444455556666");
	assert_true(l.returned_at > 0 && l.closed_at > 0);
	/* audited, chain intact */
	assert_int_equal(db_audit_list(db, 0, 0, count_audit, &audits), 0);
	assert_int_equal(audits, 1);
	assert_int_equal(db_audit_verify(db, &rows, &bad), 0);
	/* a second acknowledgement (or a staff erase) changes nothing */
	assert_int_equal(db_loan_erase_acknowledged(db, dev), AP_ENOTFOUND);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_STOCK);
	/* the tablet can be lent again */
	assert_int_equal(db_loan_create(db, dev, p2, UAI_A, 0, 0, "ati", &id2), 0);
}

static void test_leave_and_overdue(void **state)
{
	struct db *db = *state;
	int64_t d1 = fixture_device(db, "DMPA00000001", UAI_A);
	int64_t d2 = fixture_device(db, "DMPA00000002", UAI_A);
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t day = 86400, today = db_now() / day * day, l1, l2, next;
	struct db_loan_filter f = {NULL, 0, DB_LOAN_OPEN, 0, 0, 0, 0, 50};
	struct loans s = {0};
	int changed = -1;
	assert_int_equal(db_loan_create(db, d1, p1, UAI_A, 0, 0, "t", &l1), 0);
	assert_int_equal(db_loan_create(db, d2, p1, UAI_A, 0, today - 10 * day, "t", &l2), 0);
	/* leaving 3 days ago: the undated loan becomes due then, the earlier one stays */
	assert_int_equal(db_person_leave(db, p1, today - 3 * day, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(db_loan_get(db, l1, &s.v[0]), 0);
	assert_int_equal(s.v[0].due_at, today - 3 * day);
	assert_int_equal(db_loan_get(db, l2, &s.v[0]), 0);
	assert_int_equal(s.v[0].due_at, today - 10 * day);
	f.overdue_before = today;
	assert_int_equal(db_loan_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 2);
	/* not overdue yet when the day has not passed */
	f.overdue_before = today - 5 * day;
	s.n = 0;
	assert_int_equal(db_loan_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].id, l2);
	assert_int_equal(db_person_leave(db, 999, today, &changed), AP_ENOTFOUND);
}

static void test_person_put(void **state)
{
	struct db *db = *state;
	struct db_person p;
	int created;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A), loan;
	int64_t pid = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	snprintf(p.class_name, sizeof(p.class_name), "%s", "4B");
	assert_int_equal(db_person_put(db, &p, &created), 0);
	assert_int_equal(created, DB_PUT_UPDATED);
	assert_int_equal(db_person_put(db, &p, &created), 0);
	assert_int_equal(created, DB_PUT_UNCHANGED);
	assert_int_equal(db_person_set_agreement(db, pid, 86400 * 20000), 0);
	assert_int_equal(db_loan_create(db, dev, pid, UAI_A, 0, 0, "t", &loan), 0);
	/* changing collège with a tablet in hand is refused */
	snprintf(p.school, sizeof(p.school), "%s", UAI_B);
	assert_int_equal(db_person_put(db, &p, &created), AP_ECONFLICT);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_string_equal(p.school, UAI_A);
	assert_string_equal(p.class_name, "4B");
	assert_int_equal(p.agreement_at, 86400 * 20000); /* kept by the update */
	assert_int_equal(db_person_set_agreement(db, pid, 0), 0);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, 0);
}

static int count_person(const struct db_person *p, void *arg)
{
	struct loans *s = arg;
	snprintf(s->v[s->n % 8].person, sizeof(s->v[0].person), "%s", p->ext_id);
	s->n++;
	return 0;
}

static void test_person_pages(void **state)
{
	struct db *db = *state;
	struct loans s = {0};
	int64_t next = -1;
	const char *only[] = {UAI_A};
	char id[8];
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "P%d", i);
		fixture_person(db, id, DB_PERSON_PUPIL, i < 3 ? "3A" : "3B", i % 2 ? UAI_A : UAI_B);
	}
	assert_int_equal(db_person_list(db, NULL, 0, NULL, 0, 2, count_person, &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(next, 2);
	assert_int_equal(db_person_list(db, NULL, 0, NULL, next, 2, count_person, &s, &next), 0);
	assert_int_equal(db_person_list(db, NULL, 0, NULL, next, 2, count_person, &s, &next), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(next, 0);
	s.n = 0;
	assert_int_equal(db_person_list(db, only, 1, "3A", 0, 100, count_person, &s, &next), 0);
	assert_int_equal(s.n, 1); /* P1: collège A, class 3A */
	assert_string_equal(s.v[0].person, "P1");
}

static void test_campaign(void **state)
{
	struct db *db = *state;
	int64_t day = 86400, by = db_now() / day * day + day, id;
	struct loans s = {0};
	int64_t pa = fixture_person(db, "A", DB_PERSON_PUPIL, "4B", UAI_A);
	int64_t pb = fixture_person(db, "B", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t pc = fixture_person(db, "C", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t pt = fixture_person(db, "T", DB_PERSON_TEACHER, "", UAI_A);
	int64_t pd = fixture_person(db, "D", DB_PERSON_PUPIL, "3A", UAI_B);
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S1", UAI_A), pa, UAI_A, 0, 0, "t", &id), 0);
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S2", UAI_A), pb, UAI_A, 0, 0, "t", &id), 0);
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S3", UAI_A), pc, UAI_A, 0, 0, "t", &id), 0);
	assert_int_equal(db_loan_return(db, id, "ok", "t"), 0); /* C handed back */
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S4", UAI_A), pt, UAI_A, 0, 0, "t", &id), 0);
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S5", UAI_B), pd, UAI_B, 0, 0, "t", &id), 0);
	assert_int_equal(db_loan_campaign(db, UAI_A, NULL, by, collect, &s), 0);
	/* pupils only, this collège only, not handed back, by class */
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].person, "B");
	assert_string_equal(s.v[0].class_name, "3A");
	assert_string_equal(s.v[1].person, "A");
	/* one class's checklist */
	s.n = 0;
	assert_int_equal(db_loan_campaign(db, UAI_A, "4B", by, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].person, "A");
	/* loans made after the date are not part of it */
	s.n = 0;
	assert_int_equal(db_loan_campaign(db, UAI_A, NULL, by - 2 * day, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static int count_action(const struct db_audit_row *r, void *arg)
{
	struct loans *s = arg; /* n: rows whose action is v[0].flag */
	if (strcmp(r->action, s->v[0].flag) == 0)
		s->n++;
	return 0;
}

static int audited(struct db *db, const char *action)
{
	struct loans s = {0};
	snprintf(s.v[0].flag, sizeof(s.v[0].flag), "%s", action);
	assert_int_equal(db_audit_list(db, 0, 0, count_action, &s), 0);
	return s.n;
}

static void test_deposit_update_count(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A), n = -1, id, l2;
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	struct db_loan l;
	assert_int_equal(db_loan_open_count(db, p1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_loan_create(db, dev, p1, UAI_A, 1, 0, "t", &id), 0);
	assert_int_equal(db_loan_open_count(db, p1, &n), 0);
	assert_int_equal(n, 1);
	/* deposit: suspended, still loaned; twice refused; resume clears */
	assert_int_equal(db_loan_deposit(db, id, 0), AP_ECONFLICT);
	assert_int_equal(db_loan_deposit(db, id, 1), 0);
	assert_int_equal(db_loan_deposit(db, id, 1), AP_ECONFLICT);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_true(l.deposited_at > 0);
	assert_int_equal(l.state, DB_LOAN_OPEN);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_LOANED);
	assert_int_equal(db_loan_deposit(db, id, 0), 0);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.deposited_at, 0);
	/* update: keep (-1), change, clear the flag */
	assert_int_equal(db_loan_update(db, id, 0, 86400LL * 30000), 0);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.home_use, 0);
	assert_int_equal(l.due_at, 86400LL * 30000);
	assert_int_equal(db_loan_update(db, id, 1, -1), 0);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.home_use, 1);
	assert_int_equal(l.due_at, 86400LL * 30000);
	assert_int_equal(db_loan_update(db, id, -1, 0), 0);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.due_at, 0);
	/* not open any more: no deposit, no update, no mark-erased of an open one */
	assert_int_equal(db_loan_mark_erased(db, dev, &l), AP_ECONFLICT);
	assert_int_equal(db_loan_return(db, id, "ok", "t"), 0);
	assert_int_equal(db_loan_deposit(db, id, 1), AP_ECONFLICT);
	assert_int_equal(db_loan_update(db, id, 0, -1), AP_ECONFLICT);
	assert_int_equal(db_loan_open_count(db, p1, &n), 0);
	assert_int_equal(n, 0);
	/* mark-erased: closed as erased, the tablet to stock */
	assert_int_equal(db_loan_mark_erased(db, dev, &l), 0);
	assert_int_equal(l.id, id);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_STOCK);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.state, DB_LOAN_CLOSED);
	assert_string_equal(l.end_reason, "erased");
	assert_int_equal(db_loan_mark_erased(db, dev, &l), AP_ENOTFOUND);
	/* a damaged return goes to repair, by the erase or by mark-erased */
	assert_int_equal(db_loan_create(db, dev, p1, UAI_A, 0, 0, "t", &l2), 0);
	assert_int_equal(db_loan_return(db, l2, "damaged", "t"), 0);
	assert_int_equal(db_loan_erase_acknowledged(db, dev), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_REPAIR);
	int64_t d2 = fixture_device(db, "DMPA00000002", UAI_A);
	assert_int_equal(db_loan_create(db, d2, p1, UAI_A, 0, 0, "t", &l2), 0);
	assert_int_equal(db_loan_return(db, l2, "damaged", "t"), 0);
	assert_int_equal(db_loan_mark_erased(db, d2, &l), 0);
	assert_int_equal(fixture_state(db, "DMPA00000002"), DB_DEV_REPAIR);
}

static void test_mark_overdue(void **state)
{
	struct db *db = *state;
	int64_t day = 86400, today = db_now() / day * day, n = -1, l1, l2, l3;
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t p2 = fixture_person(db, "E2", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t p3 = fixture_person(db, "E3", DB_PERSON_PUPIL, "3A", UAI_A);
	struct db_loan l;
	assert_int_equal(db_loan_create(db, fixture_device(db, "S1", UAI_A), p1, UAI_A, 0,
					today - day, "t", &l1),
			 0);
	assert_int_equal(
	    db_loan_create(db, fixture_device(db, "S2", UAI_A), p2, UAI_A, 0, today, "t", &l2), 0);
	assert_int_equal(db_loan_create(db, fixture_device(db, "S3", UAI_A), p3, UAI_A, 0,
					today - 2 * day, "t", &l3),
			 0);
	assert_int_equal(db_loan_deposit(db, l3, 1), 0); /* at the collège: not overdue */
	assert_int_equal(db_loan_mark_overdue(db, today, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_loan_get(db, l1, &l), 0);
	assert_true(l.overdue_at > 0);
	assert_int_equal(db_loan_get(db, l2, &l), 0);
	assert_int_equal(l.overdue_at, 0); /* due today: overdue from tomorrow */
	assert_int_equal(db_loan_get(db, l3, &l), 0);
	assert_int_equal(l.overdue_at, 0);
	/* marked once */
	assert_int_equal(db_loan_mark_overdue(db, today, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(audited(db, "loan.overdue"), 1);
	/* a new due date unmarks it */
	assert_int_equal(db_loan_update(db, l1, -1, today + day), 0);
	assert_int_equal(db_loan_get(db, l1, &l), 0);
	assert_int_equal(l.overdue_at, 0);
}

static void test_agreement(void **state)
{
	struct db *db = *state;
	int64_t dev = fixture_device(db, "DMPA00000001", UAI_A), id, n = -1;
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "3A", UAI_A);
	int64_t signed_at = 86400LL * 20700;
	struct db_agreement ag;
	struct db_person p;
	struct db_loan l;
	int loans = -1;
	assert_int_equal(db_agreement_get(db, p1, 2026, &ag), AP_ENOTFOUND);
	assert_int_equal(db_agreement_withdraw(db, p1, 2026, 1, &loans), AP_ENOTFOUND);
	/* a past year: recorded, person.agreement_at untouched */
	assert_int_equal(db_agreement_sign(db, p1, 2025, signed_at - 86400 * 200, "t", 0), 0);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, 0);
	assert_int_equal(db_agreement_sign(db, p1, 2026, signed_at, "t", 1), 0);
	assert_int_equal(db_agreement_get(db, p1, 2026, &ag), 0);
	assert_int_equal(ag.signed_at, signed_at);
	assert_int_equal(ag.withdrawn_at, 0);
	assert_string_equal(ag.recorded_by, "t");
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, signed_at);
	/* withdrawn: the home-use loan turns school-only, flagged */
	assert_int_equal(db_loan_create(db, dev, p1, UAI_A, 1, 0, "t", &id), 0);
	assert_int_equal(db_agreement_withdraw(db, p1, 2026, 1, &loans), 0);
	assert_int_equal(loans, 1);
	assert_int_equal(db_agreement_withdraw(db, p1, 2026, 1, &loans), AP_ECONFLICT);
	assert_int_equal(db_loan_get(db, id, &l), 0);
	assert_int_equal(l.home_use, 0);
	assert_string_equal(l.flag, "agreement_withdrawn");
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, 0);
	/* signed again, then the years turn: agreement_at follows */
	assert_int_equal(db_agreement_sign(db, p1, 2026, signed_at, "t", 1), 0);
	assert_int_equal(db_agreement_get(db, p1, 2026, &ag), 0);
	assert_int_equal(ag.withdrawn_at, 0);
	assert_int_equal(db_agreement_refresh(db, 2026, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_agreement_refresh(db, 2027, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, 0);
	assert_int_equal(db_agreement_refresh(db, 2025, &n), 0);
	assert_int_equal(db_person_get(db, "E1", &p), 0);
	assert_int_equal(p.agreement_at, signed_at - 86400 * 200);
	assert_int_equal(db_agreement_sign(db, p1, 2026, 0, "t", 1), AP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_loan_lifecycle, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_leave_and_overdue, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_person_put, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_person_pages, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_campaign, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_deposit_update_count, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mark_overdue, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_agreement, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
