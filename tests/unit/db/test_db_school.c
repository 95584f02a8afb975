/* Unit tests for db_school: the UAI check letter, add, put, list. */
#include "fleet_fixture.h"

static void test_uai_letter(void **state)
{
	char u[9];
	assert_int_equal(db_school_uai_letter("0131266"), 'F');
	assert_int_equal(db_school_uai_norm("0131266F", u), 0);
	assert_string_equal(u, "0131266F");
	assert_int_equal(db_school_uai_norm(" 0131266f ", u), 0); /* lower case, blanks */
	assert_string_equal(u, "0131266F");
	assert_int_equal(db_school_uai_norm("0131266G", u), AP_EINVAL); /* wrong letter */
	assert_int_equal(db_school_uai_norm("013126F", u), AP_EPARSE);
	assert_int_equal(db_school_uai_norm("01312661", u), AP_EPARSE);
	assert_int_equal(db_school_uai_norm("A131266F", u), AP_EPARSE);
	assert_int_equal(db_school_uai_norm("", u), AP_EPARSE);
	assert_int_equal(db_school_uai_norm(NULL, u), AP_EPARSE);
	/* 0000000 % 23 = 0 -> A; 22 -> Z */
	assert_int_equal(db_school_uai_letter("0000000"), 'A');
	assert_int_equal(db_school_uai_letter("0000022"), 'Z');
	assert_int_equal(db_school_uai_letter("0000023"), 'A');
}

static int count_school(const struct db_school *s, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_add_put_list(void **state)
{
	struct db *db = *state;
	struct db_school s, got;
	int created = -1, n = 0;
	memset(&s, 0, sizeof(s));
	snprintf(s.uai, sizeof(s.uai), "%s", UAI_A);
	snprintf(s.name, sizeof(s.name), "%s", "Renamed");
	assert_int_equal(db_school_add(db, &s), AP_EEXIST);
	assert_int_equal(db_school_put(db, &s, &created), 0);
	assert_int_equal(created, DB_PUT_UPDATED);
	assert_int_equal(db_school_get(db, UAI_A, &got), 0);
	assert_string_equal(got.name, "Renamed");
	assert_int_equal(db_school_put(db, &s, &created), 0);
	assert_int_equal(created, DB_PUT_UNCHANGED);
	snprintf(s.uai, sizeof(s.uai), "%s", "0132786H");
	assert_int_equal(db_school_put(db, &s, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(db_school_get(db, "0000000A", &got), AP_ENOTFOUND);
	assert_int_equal(db_school_list(db, NULL, 0, count_school, &n), 0);
	assert_int_equal(n, 3);
	const char *only[] = {UAI_B};
	n = 0;
	assert_int_equal(db_school_list(db, only, 1, count_school, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uai_letter),
	    cmocka_unit_test_setup_teardown(test_add_put_list, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
