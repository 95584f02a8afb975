/* Unit tests for pol_update: version comparison and the classification of
 * a tablet against its update plan (table-driven, every class, the order
 * of the rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_err.h"
#include "pol_update.h"

static void test_version_cmp(void **state)
{
	static const struct {
		const char *a, *b;
		int rc, sign;
	} cases[] = {
	    {"26.1", "26.1", 0, 0},
	    {"26.1", "26.1.0", 0, 0},
	    {"17.6", "17.6.0.0", 0, 0},
	    {"18.10", "18.9", 0, 1},
	    {"18.6.2", "26.1", 0, -1},
	    {"26.1.1", "26.1", 0, 1},
	    {"9", "10", 0, -1},
	    {"999999", "1", 0, 1},
	    {"", "1", AP_EPARSE, 0},
	    {"26.", "26", AP_EPARSE, 0},
	    {".1", "1", AP_EPARSE, 0},
	    {"1..2", "1", AP_EPARSE, 0},
	    {"1.2.3.4.5", "1", AP_EPARSE, 0},
	    {"1000000", "1", AP_EPARSE, 0},
	    {"26.1b", "26", AP_EPARSE, 0},
	    {"-1", "1", AP_EPARSE, 0},
	    {" 1", "1", AP_EPARSE, 0},
	    {NULL, "1", AP_EPARSE, 0},
	    {"1", NULL, AP_EPARSE, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int cmp = 42;
		int rc = pol_update_version_cmp(cases[i].a, cases[i].b, &cmp);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s vs %s: rc %d, expected %d", i, cases[i].a,
				 cases[i].b, rc, cases[i].rc);
		if (rc == 0 && (cmp > 0) - (cmp < 0) != cases[i].sign)
			fail_msg("case %zu: %s vs %s: %d", i, cases[i].a, cases[i].b, cmp);
	}
}

struct class_case {
	struct pol_update_tablet t;
	enum pol_update_class want;
};

#define ON   1
#define OFF  0
#define PLAN "26.1"

static const struct class_case class_cases[] = {
    /* no DDM wins over everything */
    {{OFF, 1, "iPad13,18", PLAN, 1, "26.1", NULL, "none", 0}, POL_UPDATE_WITHOUT_DDM},
    {{OFF, 0, "", NULL, 0, NULL, "15.8", NULL, 0}, POL_UPDATE_WITHOUT_DDM},
    /* covered but filtered out, reporting or not */
    {{ON, 1, "iPad7,5", PLAN, 0, "17.5", NULL, "none", 0}, POL_UPDATE_UNSUPPORTED},
    {{ON, 0, "iPad7,5", PLAN, 0, NULL, NULL, NULL, 0}, POL_UPDATE_UNSUPPORTED},
    /* a model not known yet under a plan */
    {{ON, 1, "", PLAN, 0, "18.6.2", NULL, NULL, 0}, POL_UPDATE_UNKNOWN_MODEL},
    {{ON, 1, NULL, PLAN, 1, "18.6.2", NULL, NULL, 0}, POL_UPDATE_UNKNOWN_MODEL},
    /* no plan: the model does not matter */
    {{ON, 1, "", NULL, 0, "18.6.2", NULL, NULL, 0}, POL_UPDATE_NO_PLAN},
    {{ON, 0, "iPad13,18", NULL, 0, NULL, NULL, NULL, 0}, POL_UPDATE_NOT_REPORTING},
    {{ON, 0, "iPad13,18", PLAN, 1, NULL, "18.6.2", NULL, 0}, POL_UPDATE_NOT_REPORTING},
    /* on target: equal or newer, from the item, else the inventory */
    {{ON, 1, "iPad13,18", PLAN, 1, "26.1", NULL, "none", 0}, POL_UPDATE_ON_TARGET},
    {{ON, 1, "iPad13,18", PLAN, 1, "26.1.0", NULL, NULL, 0}, POL_UPDATE_ON_TARGET},
    {{ON, 1, "iPad13,18", PLAN, 1, "26.2", NULL, "failed", 3}, POL_UPDATE_ON_TARGET},
    {{ON, 1, "iPad13,18", PLAN, 1, NULL, "26.1", NULL, 0}, POL_UPDATE_ON_TARGET},
    {{ON, 1, "iPad13,18", PLAN, 1, "", "26.1", NULL, 0}, POL_UPDATE_ON_TARGET},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", "26.1", "none", 0}, POL_UPDATE_PENDING},
    /* on the way */
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "downloading", 0}, POL_UPDATE_DOWNLOADING},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "prepared", 0}, POL_UPDATE_PREPARED},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "installing", 0}, POL_UPDATE_INSTALLING},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "failed", 1}, POL_UPDATE_FAILED},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "failed", 0}, POL_UPDATE_FAILED},
    /* a failure counted, nothing in progress: failed; in progress again: that */
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "none", 2}, POL_UPDATE_FAILED},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, NULL, 1}, POL_UPDATE_FAILED},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "downloading", 1}, POL_UPDATE_DOWNLOADING},
    /* pending: waiting, none, unknown states, unreadable versions */
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "waiting", 0}, POL_UPDATE_PENDING},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, NULL, 0}, POL_UPDATE_PENDING},
    {{ON, 1, "iPad13,18", PLAN, 1, "18.6.2", NULL, "rebooting", 0}, POL_UPDATE_PENDING},
    {{ON, 1, "iPad13,18", PLAN, 1, "garbage", NULL, "none", 0}, POL_UPDATE_PENDING},
    {{ON, 1, "iPad13,18", PLAN, 1, NULL, NULL, NULL, 0}, POL_UPDATE_PENDING},
};

static void test_classify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++) {
		enum pol_update_class got = pol_update_classify(&class_cases[i].t);
		if (got != class_cases[i].want)
			fail_msg("case %zu: %s, expected %s", i, pol_update_class_name(got),
				 pol_update_class_name(class_cases[i].want));
	}
}

static void test_names(void **state)
{
	(void)state;
	for (int c = 0; c < POL_UPDATE__COUNT; c++) {
		const char *n = pol_update_class_name((enum pol_update_class)c);
		assert_non_null(n);
		for (int d = 0; d < c; d++)
			assert_string_not_equal(n, pol_update_class_name((enum pol_update_class)d));
	}
	assert_string_equal(pol_update_class_name(POL_UPDATE_ON_TARGET), "on_target");
	assert_null(pol_update_class_name(POL_UPDATE__COUNT));
	assert_null(pol_update_class_name((enum pol_update_class) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_cmp),
	    cmocka_unit_test(test_classify_table),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
