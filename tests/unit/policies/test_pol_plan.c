/* Unit tests for pol_plan: table-driven cases of desired vs reported
 * state, the pending-command rules, the queue room, and a check that a
 * converged tablet gets nothing over many random states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "pol_plan.h"

#define UAI_X "0131266F"
#define UAI_Y "0750001U"

/* The catalogue and its assignments, shared by every case. */
static const struct pol_item items[] = {
    {POL_PROFILE, "fr.b.p1", "U1", "B1", 0, 1, "p1"},
    {POL_PROFILE, "fr.b.p2", "U2", "B2", 0, 2, "p2"},
    {POL_APP, "org.a1", NULL, NULL, 11, 3, "a1"},
    {POL_APP, "org.ax", NULL, NULL, 12, 4, "ax"},
    {POL_APP, "org.ay", NULL, NULL, 13, 5, "ay"},
    {POL_APP, "org.ag", NULL, NULL, 14, 6, "ag"},
    {POL_APP, "org.ad", NULL, NULL, 15, 7, "ad"},
    {POL_PROFILE, "fr.x.px", "UX", "BX", 0, 8, "px"},
};
static const char *const scopes[] = {
    "fleet",	      "fleet",	       "fleet",
    "school:" UAI_X,  "school:" UAI_Y, "group:" UAI_X "/5B",
    "device:SPECIAL", "school:" UAI_X,
};
#define NA (sizeof(items) / sizeof(items[0]))
static struct pol_assignment assignments[NA + 1];
static size_t n_assignments;

static int setup(void **state)
{
	for (size_t i = 0; i < NA; i++) {
		assignments[i].item = &items[i];
		if (pol_scope_parse(scopes[i], &assignments[i].scope) != 0)
			return -1;
	}
	/* the same item reached through two scopes is desired once */
	assignments[NA] = assignments[2];
	if (pol_scope_parse("school:" UAI_X, &assignments[NA].scope) != 0)
		return -1;
	n_assignments = NA + 1;
	return 0;
}

struct plan_case {
	const char *name;
	const char *serial, *school, *groups; /* groups: "a,b" */
	const char *profiles;		      /* "id=uuid;..." */
	int64_t profiles_cmd;
	const char *apps; /* "id;..." */
	int64_t apps_cmd;
	const char *owned;   /* "p:id=version@cmd;a:id@cmd" */
	const char *pending; /* "IP:id@ref;IA:id;RP:id;RA:id", ids 101, 102, ... */
	size_t room;	     /* 0: plenty */
	const char *expect;  /* "IP:id,RA:id,C:101" in order */
	size_t capped;
};

#define CONVERGED_FLEET "fr.b.p1=U1;fr.b.p2=U2;fr.ardoise.enroll=E"

static const struct plan_case cases[] = {
    {"new tablet, nothing known", "S1", "", "", "", 0, "", 0, "", "", 0,
     "IP:fr.b.p1,IP:fr.b.p2,IA:org.a1", 0},
    {"converged tablet: nothing", "S1", "", "", CONVERGED_FLEET, 100, "org.a1;com.x.game", 100,
     "p:fr.b.p1=U1@50;p:fr.b.p2=U2@50;a:org.a1@50", "", 0, "", 0},
    {"collège items", "S1", UAI_X, "", CONVERGED_FLEET, 100, "org.a1", 100, "", "", 0,
     "IP:fr.x.px,IA:org.ax", 0},
    {"group and device scopes", "SPECIAL", UAI_X, "pupils,5b", CONVERGED_FLEET ";fr.x.px=UX", 100,
     "org.a1;org.ax", 100, "", "", 0, "IA:org.ag,IA:org.ad", 0},
    {"outdated profile is installed again", "S1", "", "", "fr.b.p1=OLD;fr.b.p2=U2", 100, "org.a1",
     100, "p:fr.b.p1=OLD@50", "", 0, "IP:fr.b.p1", 0},
    {"no duplicate of a pending install", "S1", "", "", "", 0, "", 0, "", "IP:fr.b.p1@B1;IA:org.a1",
     0, "IP:fr.b.p2", 0},
    {"pending install of an older version: cancel, send the new one", "S1", "", "", "fr.b.p2=U2",
     100, "org.a1", 100, "", "IP:fr.b.p1@B0", 0, "C:101,IP:fr.b.p1", 0},
    {"acknowledged after the last list: not sent again", "S1", "", "", "fr.b.p2=U2", 100, "", 100,
     "p:fr.b.p1=U1@101;a:org.a1@150", "", 0, "", 0},
    {"acknowledged before the list, by one command: the list is right", "S1", "", "", "fr.b.p2=U2",
     101, "org.a1", 100, "p:fr.b.p1=U1@100", "", 0, "IP:fr.b.p1", 0},
    {"acknowledged before the last list, absent from it: sent again", "S1", "", "",
     "fr.b.p1=U1;fr.b.p2=U2", 100, "", 200, "a:org.a1@150", "", 0, "IA:org.a1", 0},
    {"acknowledged old version after the list: new version sent", "S1", "", "", "fr.b.p2=U2", 100,
     "org.a1", 100, "p:fr.b.p1=U0@120", "", 0, "IP:fr.b.p1", 0},
    {"owned and no longer desired: removed", "S1", "", "", CONVERGED_FLEET ";fr.x.px=UX", 100,
     "org.a1;org.ax", 100, "p:fr.x.px=UX@50;a:org.ax@50;a:org.a1@50", "", 0, "RP:fr.x.px,RA:org.ax",
     0},
    {"not owned: never removed", "S1", "", "", CONVERGED_FLEET ";fr.x.px=UX;fr.other=Z", 100,
     "org.a1;org.ax", 100, "", "", 0, "", 0},
    {"owned, gone from a fresh list: nothing to remove", "S1", "", "", CONVERGED_FLEET, 100,
     "org.a1", 100, "p:fr.x.px=UX@50;a:org.ax@50", "", 0, "", 0},
    {"owned, acknowledged after the list: removed", "S1", "", "", CONVERGED_FLEET, 100, "org.a1",
     100, "p:fr.x.px=UX@150;a:org.ax@150", "", 0, "RP:fr.x.px,RA:org.ax", 0},
    {"the enrolment profile is never removed", "S1", "", "", CONVERGED_FLEET, 100, "org.a1", 100,
     "p:fr.ardoise.enroll=E@50", "", 0, "", 0},
    {"no duplicate of a pending removal", "S1", "", "", CONVERGED_FLEET ";fr.x.px=UX", 100,
     "org.a1;org.ax", 100, "p:fr.x.px=UX@50;a:org.ax@50", "RP:fr.x.px", 0, "RA:org.ax", 0},
    {"desired again while its removal is pending: cancel the removal", "S1", UAI_X, "",
     CONVERGED_FLEET ";fr.x.px=UX", 100, "org.a1;org.ax", 100, "p:fr.x.px=UX@50;a:org.ax@50",
     "RP:fr.x.px;RA:org.ax", 0, "C:101,C:102", 0},
    {"no longer desired while its install is pending: cancel it", "S1", "", "", CONVERGED_FLEET,
     100, "org.a1", 100, "", "IA:org.ax;IP:fr.x.px@BX", 0, "C:101,C:102", 0},
    {"moved to another collège", "S1", UAI_Y, "", CONVERGED_FLEET ";fr.x.px=UX", 100,
     "org.a1;org.ax", 100, "p:fr.x.px=UX@50;a:org.ax@50", "", 0, "RP:fr.x.px,RA:org.ax,IA:org.ay",
     0},
    {"removals come before installs", "S1", UAI_Y, "", "fr.x.px=UX", 100, "", 100,
     "p:fr.x.px=UX@50", "", 0, "RP:fr.x.px,IP:fr.b.p1,IP:fr.b.p2,IA:org.a1,IA:org.ay", 0},
    {"queue room: the rest waits", "S1", "", "", "", 0, "", 0, "", "", 2, "IP:fr.b.p1,IP:fr.b.p2",
     1},
    {"a cancel frees room", "S1", "", "", "", 100, "org.a1", 100, "", "IP:fr.b.p1@B0", 1,
     "C:101,IP:fr.b.p1,IP:fr.b.p2", 0},
};

/* Splits s on sep into parts (copied into buf); returns the count. */
static size_t split(const char *s, char sep, char *buf, size_t cap, char **parts, size_t max)
{
	size_t n = 0;
	snprintf(buf, cap, "%s", s ? s : "");
	if (buf[0] == '\0')
		return 0;
	for (char *p = buf; p && n < max;) {
		parts[n++] = p;
		char *e = strchr(p, sep);
		if (e)
			*e++ = '\0';
		p = e;
	}
	return n;
}

static enum pol_action_type type_of(const char *code)
{
	if (strcmp(code, "IP") == 0)
		return POL_INSTALL_PROFILE;
	if (strcmp(code, "IA") == 0)
		return POL_INSTALL_APP;
	if (strcmp(code, "RP") == 0)
		return POL_REMOVE_PROFILE;
	if (strcmp(code, "RA") == 0)
		return POL_REMOVE_APP;
	return POL_CANCEL;
}

static const char *code_of(enum pol_action_type t)
{
	static const char *const codes[] = {"C", "RP", "RA", "IP", "IA"};
	return codes[t];
}

struct built {
	char b1[512], b2[512], b3[512], b4[512], b5[512];
	char *groups[8];
	struct pol_reported profiles[16], apps[16];
	struct pol_owned owned[16];
	struct pol_pending pending[16];
	struct pol_device_state s;
};

static void build(const struct plan_case *c, struct built *b)
{
	char *parts[16];
	size_t n;
	memset(b, 0, sizeof(*b));
	b->s.facts.serial = c->serial;
	b->s.facts.school = c->school;
	b->s.facts.n_groups = split(c->groups, ',', b->b1, sizeof(b->b1), b->groups, 8);
	b->s.facts.groups = (const char *const *)b->groups;
	n = split(c->profiles, ';', b->b2, sizeof(b->b2), parts, 16);
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(parts[i], '=');
		*eq = '\0';
		b->profiles[i] = (struct pol_reported){parts[i], eq + 1};
	}
	b->s.profiles = b->profiles;
	b->s.n_profiles = n;
	b->s.profiles_cmd = c->profiles_cmd;
	n = split(c->apps, ';', b->b3, sizeof(b->b3), parts, 16);
	for (size_t i = 0; i < n; i++)
		b->apps[i] = (struct pol_reported){parts[i], NULL};
	b->s.apps = b->apps;
	b->s.n_apps = n;
	b->s.apps_cmd = c->apps_cmd;
	n = split(c->owned, ';', b->b4, sizeof(b->b4), parts, 16);
	for (size_t i = 0; i < n; i++) {
		char *at = strchr(parts[i], '@'), *eq;
		*at = '\0';
		struct pol_owned *o = &b->owned[i];
		o->kind = parts[i][0] == 'p' ? POL_PROFILE : POL_APP;
		o->identifier = parts[i] + 2;
		o->acked_cmd = strtoll(at + 1, NULL, 10);
		if ((eq = strchr(parts[i], '=')) != NULL) {
			*eq = '\0';
			o->version = eq + 1;
		}
	}
	b->s.owned = b->owned;
	b->s.n_owned = n;
	n = split(c->pending, ';', b->b5, sizeof(b->b5), parts, 16);
	for (size_t i = 0; i < n; i++) {
		char *at = strchr(parts[i], '@');
		if (at)
			*at = '\0';
		parts[i][2] = '\0';
		b->pending[i] = (struct pol_pending){type_of(parts[i]), parts[i] + 3,
						     at ? at + 1 : NULL, (int64_t)(101 + i)};
	}
	b->s.pending = b->pending;
	b->s.n_pending = n;
	b->s.room = c->room ? c->room : 1000;
}

static void format_plan(const struct pol_plan *p, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->n && o < cap; i++) {
		const struct pol_action *a = &p->actions[i];
		if (a->type == POL_CANCEL)
			o += (size_t)snprintf(out + o, cap - o, "%sC:%lld", i ? "," : "",
					      (long long)a->pending_id);
		else
			o += (size_t)snprintf(out + o, cap - o, "%s%s:%s", i ? "," : "",
					      code_of(a->type), a->identifier);
	}
}

static void test_cases(void **state)
{
	struct pol_plan p;
	pol_plan_init(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plan_case *c = &cases[i];
		struct built b;
		char got[512];
		build(c, &b);
		assert_int_equal(pol_plan_device(assignments, n_assignments, &b.s, &p), 0);
		format_plan(&p, got, sizeof(got));
		if (strcmp(got, c->expect) != 0 || p.capped != c->capped)
			fail_msg("%s:\n  expected '%s' (capped %zu)\n  got      '%s' (capped %zu)",
				 c->name, c->expect, c->capped, got, p.capped);
		/* installs point at the catalogue item they install */
		for (size_t k = 0; k < p.n; k++)
			if (p.actions[k].type == POL_INSTALL_PROFILE ||
			    p.actions[k].type == POL_INSTALL_APP)
				assert_string_equal(p.actions[k].item->identifier,
						    p.actions[k].identifier);
	}
	pol_plan_free(&p);
}

static void test_desired_once(void **state)
{
	struct pol_plan p;
	const char *groups[] = {"5B"};
	struct pol_device_facts d = {"S1", UAI_X, groups, 1};
	pol_plan_init(&p);
	assert_int_equal(pol_plan_desired(assignments, n_assignments, &d, &p), 0);
	/* p1, p2, a1 (also through school:X), ax, ag, px */
	assert_int_equal(p.n_desired, 6);
	assert_ptr_equal(p.desired[2], &items[2]);
	pol_plan_free(&p);
}

/* Applying a plan as a device would (installs appear, removals vanish,
 * cancels drop the command) always reaches a state whose plan is empty. */
static void test_plan_converges(void **state)
{
	static const char *const schools[] = {"", UAI_X, UAI_Y};
	struct pol_plan p;
	pol_plan_init(&p);
	srand(7);
	for (int round = 0; round < 500; round++) {
		struct pol_reported prof[16], apps[16];
		struct pol_owned owned[16];
		size_t np = 0, na = 0, no = 0;
		for (size_t i = 0; i < NA; i++) {
			int r = rand() % 4;
			if (r == 0)
				continue;
			if (items[i].kind == POL_PROFILE)
				prof[np++] = (struct pol_reported){
				    items[i].identifier, r == 3 ? "OLD" : items[i].version};
			else
				apps[na++] = (struct pol_reported){items[i].identifier, NULL};
			if (rand() % 2)
				owned[no++] =
				    (struct pol_owned){items[i].kind, items[i].identifier,
						       r == 3 ? "OLD" : items[i].version, 50};
		}
		struct pol_device_state s = {{"SPECIAL", schools[rand() % 3], NULL, 0},
					     prof,
					     np,
					     100,
					     apps,
					     na,
					     100,
					     owned,
					     no,
					     NULL,
					     0,
					     1000};
		assert_int_equal(pol_plan_device(assignments, n_assignments, &s, &p), 0);
		/* the device does everything, then reports fresh lists */
		for (size_t k = 0; k < p.n; k++) {
			const struct pol_action *a = &p.actions[k];
			struct pol_reported *list =
			    a->type == POL_INSTALL_PROFILE || a->type == POL_REMOVE_PROFILE ? prof
											    : apps;
			size_t *n = list == prof ? &np : &na;
			size_t j = 0;
			while (j < *n && strcmp(list[j].identifier, a->identifier) != 0)
				j++;
			if (a->type == POL_REMOVE_PROFILE || a->type == POL_REMOVE_APP) {
				assert_true(j < *n);
				list[j] = list[--*n];
			} else if (j < *n) {
				list[j].version = a->item->version;
			} else {
				list[(*n)++] =
				    (struct pol_reported){a->identifier, a->item->version};
			}
		}
		s.n_profiles = np;
		s.n_apps = na;
		s.profiles_cmd = s.apps_cmd = 200;
		assert_int_equal(pol_plan_device(assignments, n_assignments, &s, &p), 0);
		assert_int_equal(p.n, 0);
	}
	pol_plan_free(&p);
}

static void test_names(void **state)
{
	enum pol_action_type t;
	assert_string_equal(pol_action_name(POL_INSTALL_APP), "InstallApplication");
	assert_int_equal(pol_action_from_command("RemoveProfile", &t), 0);
	assert_int_equal(t, POL_REMOVE_PROFILE);
	assert_int_equal(pol_action_from_command("cancel", &t), AP_EINVAL);
	assert_int_equal(pol_action_from_command("DeviceLock", &t), AP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_desired_once),
	    cmocka_unit_test(test_plan_converges),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
