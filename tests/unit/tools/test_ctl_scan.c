/* Unit tests for the CLI's list scanner (tools/cli/ctl_scan.c): flat rows,
 * members of a member ("holder.id"), and the shapes it must refuse so that
 * the CLI falls back to its JSON parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ctl_scan.h"

static const char *const keys[] = {"serial", "holder.id", "holder.name", "holder", "state"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct rows {
	int n;
	char got[4][NKEYS][64];
};

static void row(const char *const *vals, void *arg)
{
	struct rows *r = arg;
	for (size_t k = 0; r->n < 4 && k < NKEYS; k++)
		snprintf(r->got[r->n][k], sizeof(r->got[0][0]), "%s", vals[k]);
	r->n++;
}

static int scan(const char *text, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	return ctl_scan_rows(text, strlen(text), keys, NKEYS, row, r);
}

static void test_members_of_a_member(void **state)
{
	struct rows r;
	(void)state;
	assert_int_equal(
	    scan("{\"serial\":\"A1\",\"holder\":{\"id\":\"E-1\",\"name\":\"L\\u00e9a\","
		 "\"class\":null},\"state\":\"loaned\"},\n"
		 "{\"serial\":\"A2\",\"holder\":null,\"state\":\"stock\"}",
		 &r),
	    0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.got[0][0], "A1");
	assert_string_equal(r.got[0][1], "E-1");
	assert_string_equal(r.got[0][2], "Léa");
	assert_string_equal(r.got[0][3], ""); /* the object itself is no value */
	assert_string_equal(r.got[0][4], "loaned");
	assert_string_equal(r.got[1][1], ""); /* nothing left from the row before */
	assert_string_equal(r.got[1][2], "");
	assert_string_equal(r.got[1][4], "stock");
	/* a member named like a path is not one */
	assert_int_equal(scan("{\"holder.id\":\"X\",\"holder\":{}}", &r), 0);
	assert_string_equal(r.got[0][1], "X");
}

static void test_refused_shapes(void **state)
{
	struct rows r;
	(void)state;
	/* one level only, arrays never, and nothing cut short: refused whole */
	assert_int_equal(scan("{\"serial\":\"A1\"},{\"holder\":{\"id\":{\"deeper\":1}}}", &r), -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(scan("{\"holder\":[\"E-1\"]}", &r), -1);
	assert_int_equal(scan("{\"holder\":{\"id\":\"E-1\"", &r), -1);
	assert_int_equal(scan("{\"holder\":{\"id\" \"E-1\"}}", &r), -1);
	assert_int_equal(scan("{\"holder\":{,}}", &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_members_of_a_member),
	    cmocka_unit_test(test_refused_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
