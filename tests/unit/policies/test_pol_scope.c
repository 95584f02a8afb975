/* Unit tests for pol_scope: UAI check letters, parsing (table-driven),
 * canonical formatting, and matching against tablets' facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_err.h"
#include "pol_scope.h"

static void test_uai(void **state)
{
	assert_true(pol_scope_uai_valid("0131266F"));
	assert_true(pol_scope_uai_valid("0750001U"));
	assert_false(pol_scope_uai_valid("0750001X"));
	assert_false(pol_scope_uai_valid("0131266G")); /* wrong letter */
	assert_false(pol_scope_uai_valid("0131266f")); /* lower case is not the stored form */
	assert_false(pol_scope_uai_valid("013126F"));
	assert_false(pol_scope_uai_valid("A131266F"));
	assert_false(pol_scope_uai_valid(""));
	assert_false(pol_scope_uai_valid(NULL));
}

struct parse_case {
	const char *in;
	int rc;
	const char *canonical; /* when rc == 0 */
};

static const struct parse_case parse_cases[] = {
    {"fleet", 0, "fleet"},
    {"school:0131266F", 0, "school:0131266F"},
    {"school:0131266f", 0, "school:0131266F"},
    {"group:0131266F/pupils", 0, "group:0131266F/pupils"},
    {"group:0131266F/Teachers", 0, "group:0131266F/teachers"},
    {"group:0131266F/5B", 0, "group:0131266F/5B"},
    {"group:0131266F/6e A", 0, "group:0131266F/6e A"},
    {"device:dmpxk2abcdef", 0, "device:DMPXK2ABCDEF"},
    {"Fleet", AP_EINVAL, NULL},
    {"", AP_EINVAL, NULL},
    {"school:", AP_EINVAL, NULL},
    {"school:0131266G", AP_EINVAL, NULL},
    {"school:0131266F ", AP_EINVAL, NULL},
    {"group:0131266F", AP_EINVAL, NULL},
    {"group:0131266F/", AP_EINVAL, NULL},
    {"group:0131266F/a/b", AP_EINVAL, NULL},
    {"group:0131266F/ 5B", AP_EINVAL, NULL},
    {"group:0131266F/123456789012345678901234567890123", AP_EINVAL, NULL},
    {"group:0131266G/5B", AP_EINVAL, NULL},
    {"device:", AP_EINVAL, NULL},
    {"device:DMP-1", AP_EINVAL, NULL},
    {"collège:0131266F", AP_EINVAL, NULL},
};

static void test_parse_table(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct pol_scope s;
		char out[POL_SCOPE_TEXT];
		memset(&s, 0x5a, sizeof(s));
		int rc = pol_scope_parse(c->in, &s);
		if (rc != c->rc)
			fail_msg("'%s': expected %d, got %d", c->in, c->rc, rc);
		if (rc != 0)
			continue;
		pol_scope_format(&s, out);
		assert_string_equal(out, c->canonical);
		struct pol_scope again;
		assert_int_equal(pol_scope_parse(out, &again), 0); /* canonical form reparses */
		assert_memory_equal(&s, &again, sizeof(s));
	}
	assert_int_equal(pol_scope_parse(NULL, NULL), AP_EINVAL);
}

static void test_parse_leaves_output_on_error(void **state)
{
	struct pol_scope s = {POL_SCOPE_SCHOOL, "0131266F", ""};
	assert_int_equal(pol_scope_parse("group:0131266F/", &s), AP_EINVAL);
	assert_int_equal(s.kind, POL_SCOPE_SCHOOL);
	assert_string_equal(s.school, "0131266F");
}

struct match_case {
	const char *scope;
	const char *serial, *school;
	const char *groups[3];
	int applies;
};

static const struct match_case match_cases[] = {
    {"fleet", "S1", "", {NULL}, 1},
    {"fleet", "S1", "0131266F", {NULL}, 1},
    {"school:0131266F", "S1", "0131266F", {NULL}, 1},
    {"school:0131266F", "S1", "0750001U", {NULL}, 0},
    {"school:0131266F", "S1", "", {NULL}, 0},
    {"group:0131266F/pupils", "S1", "0131266F", {"pupils", "5B"}, 1},
    {"group:0131266F/5b", "S1", "0131266F", {"pupils", "5B"}, 1},
    {"group:0131266F/4A", "S1", "0131266F", {"pupils", "5B"}, 0},
    {"group:0131266F/teachers", "S1", "0131266F", {"pupils", "5B"}, 0},
    {"group:0131266F/teachers", "S1", "0131266F", {"teachers"}, 1},
    /* a group of another collège never covers the tablet */
    {"group:0750001U/pupils", "S1", "0131266F", {"pupils"}, 0},
    /* no loan, no group */
    {"group:0131266F/pupils", "S1", "0131266F", {NULL}, 0},
    {"device:S1", "S1", "0131266F", {NULL}, 1},
    {"device:S1", "s1", "", {NULL}, 1},
    {"device:S2", "S1", "0131266F", {NULL}, 0},
};

static void test_applies_table(void **state)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct pol_scope s;
		size_t n = 0;
		while (n < 3 && c->groups[n])
			n++;
		assert_int_equal(pol_scope_parse(c->scope, &s), 0);
		struct pol_device_facts d = {c->serial, c->school, c->groups, n};
		if (pol_scope_applies(&s, &d) != c->applies)
			fail_msg("case %zu: %s on %s@%s: expected %d", i, c->scope, c->serial,
				 c->school, c->applies);
	}
}

static void test_school_of_scope(void **state)
{
	struct pol_scope s;
	assert_int_equal(pol_scope_parse("fleet", &s), 0);
	assert_null(pol_scope_school(&s));
	assert_int_equal(pol_scope_parse("device:S1", &s), 0);
	assert_null(pol_scope_school(&s));
	assert_int_equal(pol_scope_parse("group:0131266F/5B", &s), 0);
	assert_string_equal(pol_scope_school(&s), "0131266F");
	assert_int_equal(pol_scope_parse("school:0131266F", &s), 0);
	assert_string_equal(pol_scope_school(&s), "0131266F");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uai),
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_parse_leaves_output_on_error),
	    cmocka_unit_test(test_applies_table),
	    cmocka_unit_test(test_school_of_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
