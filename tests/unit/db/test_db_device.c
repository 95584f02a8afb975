/* Unit tests for db_device: transition table, import, filters, moves. */
#include "fleet_fixture.h"
#include "db_loan.h"
#include "db_mdm.h"
#include "ap_result.h"

static void test_transitions(void **state)
{
	assert_true(db_device_can(DB_DEV_STOCK, DB_DEV_LOANED));
	assert_true(db_device_can(DB_DEV_LOANED, DB_DEV_RETURNING));
	assert_true(db_device_can(DB_DEV_RETURNING, DB_DEV_STOCK));
	assert_false(db_device_can(DB_DEV_LOANED, DB_DEV_STOCK)); /* must be erased first */
	assert_false(db_device_can(DB_DEV_LOANED, DB_DEV_LOANED));
	assert_false(db_device_can(DB_DEV_RETIRED, DB_DEV_STOCK));
	assert_false(db_device_can(DB_DEV_LOANED, DB_DEV_RETIRED));
	assert_false(db_device_can(DB_DEV_STOCK, DB_DEV_RETURNING));
	for (int s = 0; s < DB_DEV_NSTATES; s++) {
		enum db_device_state back;
		assert_int_equal(db_device_state_from_name(db_device_state_name(s), &back), 0);
		assert_int_equal(back, s);
		assert_false(db_device_can(DB_DEV_RETIRED, s));
	}
	assert_int_equal(db_device_state_from_name("gone", &(enum db_device_state){0}), AP_EINVAL);
}

static void test_set_state_checked(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_device(db, "DMPA00000001", UAI_A);
	assert_int_equal(db_device_set_state(db, id, DB_DEV_STOCK, DB_DEV_RETURNING), AP_ECONFLICT);
	assert_int_equal(db_device_set_state(db, id, DB_DEV_LOANED, DB_DEV_RETURNING),
			 AP_ECONFLICT);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_STOCK);
	assert_int_equal(db_device_set_state(db, id, DB_DEV_STOCK, DB_DEV_RETIRED), 0);
	assert_int_equal(fixture_state(db, "DMPA00000001"), DB_DEV_RETIRED);
}

static void test_vercmp(void **state)
{
	assert_true(db_device_vercmp("17.4.1", "17.5") < 0);
	assert_true(db_device_vercmp("17.10", "17.9") > 0);
	assert_int_equal(db_device_vercmp("17", "17.0.0"), 0);
	assert_true(db_device_vercmp("9.3.5", "16") < 0);
	assert_true(db_device_vercmp("18.0", "17.7.2") > 0);
}

static void test_import_rules(void **state)
{
	struct db *db = *state;
	struct db_device d;
	int created = -1;
	assert_int_equal(db_device_import(db, "DMPA00000002", "iPad 9", UAI_A, "T-1", &created), 0);
	assert_int_equal(created, 1);
	/* same collège: an update that keeps what the row leaves empty */
	assert_int_equal(db_device_import(db, "DMPA00000002", "", UAI_A, "T-2", &created), 0);
	assert_int_equal(created, 0);
	assert_int_equal(db_device_get(db, "DMPA00000002", &d), 0);
	assert_string_equal(d.model_declared, "iPad 9"); /* as typed */
	assert_string_equal(d.model, "");		 /* the tablet's own: none yet */
	assert_string_equal(d.asset_tag, "T-2");
	assert_int_equal(d.state, DB_DEV_STOCK);
	assert_int_equal(d.last_seen, 0);
	/* the same again, or with fields left empty: nothing to write */
	assert_int_equal(db_device_import(db, "DMPA00000002", "iPad 9", UAI_A, "T-2", &created), 0);
	assert_int_equal(created, DB_PUT_UNCHANGED);
	assert_int_equal(db_device_import(db, "DMPA00000002", "", UAI_A, "", &created), 0);
	assert_int_equal(created, DB_PUT_UNCHANGED);
	/* another collège: refused, nothing changes */
	assert_int_equal(db_device_import(db, "DMPA00000002", "X", UAI_B, "", &created),
			 AP_ECONFLICT);
	assert_int_equal(db_device_get(db, "DMPA00000002", &d), 0);
	assert_string_equal(d.school, UAI_A);
	assert_int_equal(db_device_get(db, "NOPE", &d), AP_ENOTFOUND);
}

/* The model typed at import and the one the tablet reports are kept
 * apart: an inventory does not overwrite the first, an import not the
 * second. */
static void test_model_declared(void **state)
{
	struct db *db = *state;
	struct db_device d;
	int created;
	char model[] = "iPad (10th generation)";
	struct ap_device_info di = {.model_name = model};
	assert_int_equal(db_device_import(db, "DMPA00000002", "iPad 9", UAI_A, "", &created), 0);
	assert_int_equal(db_device_get(db, "DMPA00000002", &d), 0);
	assert_int_equal(db_mdm_set_device_info(db, d.id, &di), 0);
	assert_int_equal(db_device_get(db, "DMPA00000002", &d), 0);
	assert_string_equal(d.model, "iPad (10th generation)");
	assert_string_equal(d.model_declared, "iPad 9");
	/* the same file again: nothing changes */
	assert_int_equal(db_device_import(db, "DMPA00000002", "iPad 9", UAI_A, "", &created), 0);
	assert_int_equal(created, DB_PUT_UNCHANGED);
	assert_int_equal(db_device_import(db, "DMPA00000002", "iPad 8", UAI_A, "", &created), 0);
	assert_int_equal(created, DB_PUT_UPDATED);
	assert_int_equal(db_device_get(db, "DMPA00000002", &d), 0);
	assert_string_equal(d.model, "iPad (10th generation)");
	assert_string_equal(d.model_declared, "iPad 8");
}

struct seen {
	int n;
	char serials[16][65];
};

static int collect(const struct db_device *d, void *arg)
{
	struct seen *s = arg;
	if (s->n < 16)
		snprintf(s->serials[s->n], sizeof(s->serials[0]), "%s", d->serial);
	s->n++;
	return 0;
}

static void test_list_filters_and_pages(void **state)
{
	struct db *db = *state;
	struct db_device_filter f = {NULL, 0, -1, 0, NULL, 0, 100};
	struct seen s = {0};
	int64_t next = -1;
	const char *only[] = {UAI_B};
	char serial[16];
	for (int i = 0; i < 5; i++) {
		snprintf(serial, sizeof(serial), "DMPA0000010%d", i);
		fixture_device(db, serial, i < 3 ? UAI_A : UAI_B);
	}
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(next, 0);
	f.only = only;
	f.n_only = 1;
	s.n = 0;
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.serials[0], "DMPA00000103");
	/* pages of 2 over the 5 */
	f.only = NULL;
	f.limit = 2;
	s.n = 0;
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_true(next > 0);
	f.after_id = next;
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	f.after_id = next;
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(next, 0);
	assert_string_equal(s.serials[4], "DMPA00000104");
	/* state filter */
	struct db_device d;
	assert_int_equal(db_device_get(db, "DMPA00000101", &d), 0);
	assert_int_equal(db_device_set_state(db, d.id, DB_DEV_STOCK, DB_DEV_REPAIR), 0);
	f = (struct db_device_filter){NULL, 0, DB_DEV_REPAIR, 0, NULL, 0, 100};
	s.n = 0;
	assert_int_equal(db_device_list(db, &f, collect, &s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "DMPA00000101");
}

static void test_move(void **state)
{
	struct db *db = *state;
	int64_t id = fixture_device(db, "DMPA00000003", UAI_A);
	int64_t pid = fixture_person(db, "P1", DB_PERSON_TEACHER, "", UAI_A), loan;
	struct db_device d;
	assert_int_equal(db_device_move(db, id, UAI_B), 0);
	assert_int_equal(db_device_get(db, "DMPA00000003", &d), 0);
	assert_string_equal(d.school, UAI_B);
	assert_int_equal(db_device_move(db, id, UAI_A), 0);
	assert_int_equal(db_loan_create(db, id, pid, UAI_A, 0, 0, "t", &loan), 0);
	assert_int_equal(db_device_move(db, id, UAI_B), AP_ECONFLICT); /* on loan */
	assert_int_equal(db_device_get(db, "DMPA00000003", &d), 0);
	assert_string_equal(d.school, UAI_A);
	assert_string_equal(d.holder, "P1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_vercmp),
	    cmocka_unit_test_setup_teardown(test_set_state_checked, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_model_declared, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_import_rules, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_list_filters_and_pages, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_move, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
