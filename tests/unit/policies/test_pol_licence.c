/* Unit tests for policies/pol_licence.c: the Apps and Books licence plan.
 * Table-driven: each case gives tablets, licences held and counts, and
 * the plan as text: "D c app serial,serial; A c app serial; S c app
 * wanted/available" in the plan's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "pol_licence.h"

#define MAXT 8

struct tcase {
	const char *name;
	struct {
		const char *serial;
		int64_t location;
		int active;
		const char *apps[4];
		const char *group; /* NULL: none */
	} t[MAXT];
	struct pol_lic_held h[MAXT];
	struct pol_lic_stock s[MAXT];
	size_t max;
	const char *plan;
	size_t kept;
};

static const struct tcase cases[] = {
    {"nothing", {{NULL, 0, 0, {NULL}}}, {{NULL, NULL, 0}}, {{0, NULL, 0}}, 10, "", 0},
    {"associate all, in serial order, batches of 2",
     {{"C3", 1, 1, {"100"}}, {"A1", 1, 1, {"100"}}, {"B2", 1, 1, {"100", "100"}}},
     {{NULL, NULL, 0}},
     {{1, "100", 3}},
     2,
     "A 1 100 A1,B2; A 1 100 C3; ",
     0},
    {"all or nothing: 3 wanted, 2 available: none, reported",
     {{"A1", 1, 1, {"100", "200"}}, {"B2", 1, 1, {"100", "200"}}, {"C3", 1, 1, {"100"}}},
     {{NULL, NULL, 0}},
     {{1, "100", 2}, {1, "200", 5}},
     10,
     "S 1 100 3/2; A 1 200 A1,B2; ",
     0},
    {"held licences kept; only the missing ones count against the stock",
     {{"A1", 1, 1, {"100"}}, {"B2", 1, 1, {"100"}}, {"C3", 1, 1, {"100"}}},
     {{"A1", "100", 1}, {"B2", "100", 1}},
     {{1, "100", 1}},
     10,
     "A 1 100 C3; ",
     2},
    {"no count given: 0 available",
     {{"A1", 1, 1, {"100"}}},
     {{NULL, NULL, 0}},
     {{2, "100", 50}},
     10,
     "S 1 100 1/0; ",
     0},
    {"retired, left the scope, unknown, app withdrawn: freed",
     {{"A1", 1, 0, {"100"}}, {"B2", 1, 1, {"200"}}, {"C3", 1, 1, {"100"}}},
     {{"A1", "100", 1}, {"B2", "100", 1}, {"ZZ9", "100", 1}, {"C3", "100", 1}},
     {{1, "200", 0}},
     10,
     "D 1 100 A1,B2,ZZ9; S 1 200 1/0; ",
     1},
    {"moved to another collège: freed in the old, asked in the new",
     {{"A1", 2, 1, {"100"}}},
     {{"A1", "100", 1}},
     {{2, "100", 1}},
     10,
     "D 1 100 A1; A 2 100 A1; ",
     0},
    {"per collège: one short, the other served; freed licences not counted",
     {{"A1", 1, 1, {"100"}}, {"B2", 1, 1, {"100"}}, {"C3", 2, 1, {"100"}}, {"D4", 1, 0, {NULL}}},
     {{"D4", "100", 1}},
     {{1, "100", 1}, {2, "100", 1}},
     10,
     "D 1 100 D4; S 1 100 2/1; A 2 100 C3; ",
     0},
    {"the same licence held twice: freed once",
     {{NULL, 0, 0, {NULL}}},
     {{"A1", "100", 1}, {"A1", "100", 1}},
     {{0, NULL, 0}},
     10,
     "D 1 100 A1; ",
     0},
    {"one location, three collèges: a short one does not hold back one the rest covers",
     {{"A1", 1, 1, {"100"}, "0131266F"},
      {"A2", 1, 1, {"100"}, "0131266F"},
      {"A3", 1, 1, {"100"}, "0131266F"},
      {"B1", 1, 1, {"100"}, "0750001U"},
      {"B2", 1, 1, {"100"}, "0750001U"},
      {"C1", 1, 1, {"100"}, "0930001X"}},
     {{NULL, NULL, 0}},
     {{1, "100", 2}},
     10,
     "A 1 100 B1,B2; S 1/0131266F 100 3/2; S 1/0930001X 100 1/0; ",
     0},
    {"one location, two collèges: the first served, the second short by what is left",
     {{"A1", 1, 1, {"100"}, "0131266F"},
      {"B1", 1, 1, {"100"}, "0750001U"},
      {"B2", 1, 1, {"100"}, "0750001U"}},
     {{NULL, NULL, 0}},
     {{1, "100", 2}},
     10,
     "A 1 100 A1; S 1/0750001U 100 2/1; ",
     0},
    {"negative count is 0",
     {{"A1", 1, 1, {"100"}}},
     {{NULL, NULL, 0}},
     {{1, "100", -5}},
     10,
     "S 1 100 1/0; ",
     0},
};

static void run(const struct tcase *c)
{
	struct pol_lic_tablet t[MAXT];
	size_t nt = 0, nh = 0, ns = 0;
	for (; nt < MAXT && c->t[nt].serial; nt++) {
		size_t na = 0;
		while (na < 4 && c->t[nt].apps[na])
			na++;
		t[nt] = (struct pol_lic_tablet){c->t[nt].serial, c->t[nt].location, c->t[nt].group,
						c->t[nt].active, c->t[nt].apps,	    na};
	}
	while (nh < MAXT && c->h[nh].serial)
		nh++;
	while (ns < MAXT && c->s[ns].adam_id)
		ns++;
	struct pol_lic_plan p;
	assert_int_equal(pol_lic_plan(t, nt, c->h, nh, c->s, ns, c->max, &p), 0);
	char out[1024] = "";
	size_t k = 0;
	for (size_t i = 0; i < p.n_ops; i++) {
		const struct pol_lic_op *o = &p.ops[i];
		/* shortages come at their collège and app's place in the plan */
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s %lld %s ",
				      o->kind == POL_LIC_ASSOCIATE ? "A" : "D",
				      (long long)o->location, o->adam_id);
		for (size_t j = 0; j < o->n; j++)
			k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s", j ? "," : "",
					      o->serials[j]);
		k += (size_t)snprintf(out + k, sizeof(out) - k, "; ");
		assert_true(o->n >= 1 && o->n <= c->max);
	}
	/* shortages, merged into the text in (collège, app) order */
	char merged[1024] = "";
	size_t m = 0, si = 0;
	const char *q = out;
	while (*q || si < p.n_shorts) {
		long long col = 0;
		char app[32] = "";
		if (*q)
			sscanf(q + 2, "%lld %31s", &col, app);
		if (si < p.n_shorts &&
		    (!*q || p.shorts[si].location < col ||
		     (p.shorts[si].location == col && strcmp(p.shorts[si].adam_id, app) < 0))) {
			m += (size_t)snprintf(
			    merged + m, sizeof(merged) - m, "S %lld%s%s %s %zu/%lld; ",
			    (long long)p.shorts[si].location, p.shorts[si].group[0] ? "/" : "",
			    p.shorts[si].group, p.shorts[si].adam_id, p.shorts[si].wanted,
			    (long long)p.shorts[si].available);
			si++;
			continue;
		}
		const char *e = strstr(q, "; ") + 2;
		m += (size_t)snprintf(merged + m, sizeof(merged) - m, "%.*s", (int)(e - q), q);
		q = e;
	}
	if (strcmp(merged, c->plan) != 0)
		fail_msg("%s:\n  got      '%s'\n  expected '%s'", c->name, merged, c->plan);
	assert_int_equal(p.n_kept, c->kept);
	pol_lic_plan_free(&p);
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
}

static void test_counts(void **state)
{
	(void)state;
	const char *apps[] = {"100"};
	struct pol_lic_tablet t[2500];
	char serial[2500][16];
	for (int i = 0; i < 2500; i++) {
		snprintf(serial[i], sizeof(serial[i]), "S%05d", i);
		t[i] = (struct pol_lic_tablet){serial[i], 7, NULL, 1, apps, 1};
	}
	struct pol_lic_stock s = {7, "100", 2500};
	struct pol_lic_plan p;
	assert_int_equal(pol_lic_plan(t, 2500, NULL, 0, &s, 1, 1000, &p), 0);
	assert_int_equal(p.n_ops, 3);
	assert_int_equal(p.ops[0].n, 1000);
	assert_int_equal(p.ops[2].n, 500);
	assert_string_equal(p.ops[2].serials[499], "S02499");
	assert_int_equal(p.n_associate, 2500);
	assert_int_equal(p.n_shorts, 0);
	pol_lic_plan_free(&p);
	s.available = 2499;
	assert_int_equal(pol_lic_plan(t, 2500, NULL, 0, &s, 1, 1000, &p), 0);
	assert_int_equal(p.n_ops, 0);
	assert_int_equal(p.n_associate, 0);
	assert_int_equal(p.n_shorts, 1);
	assert_int_equal(p.shorts[0].wanted, 2500);
	pol_lic_plan_free(&p);
}

static void test_refused(void **state)
{
	(void)state;
	const char *apps[] = {"100"}, *empty_app[] = {""};
	struct pol_lic_tablet two[2] = {{"A1", 1, NULL, 1, apps, 1}, {"A1", 2, NULL, 1, apps, 1}};
	struct pol_lic_tablet nul[1] = {{NULL, 1, NULL, 1, apps, 1}};
	struct pol_lic_tablet bad_app[1] = {{"A1", 1, NULL, 1, empty_app, 1}};
	struct pol_lic_tablet no_apps[1] = {{"A1", 1, NULL, 1, NULL, 3}};
	struct pol_lic_held h[1] = {{"A1", NULL, 1}};
	struct pol_lic_stock s[1] = {{1, NULL, 3}};
	struct pol_lic_plan p;
	assert_int_equal(pol_lic_plan(two, 2, NULL, 0, NULL, 0, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(nul, 1, NULL, 0, NULL, 0, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(bad_app, 1, NULL, 0, NULL, 0, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(no_apps, 1, NULL, 0, NULL, 0, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(NULL, 0, h, 1, NULL, 0, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(NULL, 0, NULL, 0, s, 1, 10, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(NULL, 0, NULL, 0, NULL, 0, 0, &p), AP_EINVAL);
	assert_int_equal(pol_lic_plan(NULL, 0, NULL, 0, NULL, 0, 10, NULL), AP_EINVAL);
	pol_lic_plan_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
