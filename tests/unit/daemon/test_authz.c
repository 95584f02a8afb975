/*
 * Unit tests for daemon/api/authz.c: every role x action, in and out of scope.
 *
 * The expected table is written here from DESIGN.md §1 (who uses it, for
 * what), independently of the table in authz.c, so a change to either
 * shows up as a failure to be looked at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_err.h"
#include "authz.h"
#include "router.h"

#define MINE  "0131266F" /* a collège on the account */
#define OTHER "0060001B" /* a collège not on it */

enum expect { NO, SCOPE, FLEET };

static const char *const action_names[] = {
    "READ",  "READ_FLEET", "LOAN",	    "INCIDENT",	     "DEVICE_ACTION", "SCHOOL_POLICY",
    "ADMIN", "AUDIT",	   "LOCATE",	    "SELF",	     "POLICY_READ",   "APP_CATALOGUE",
    "ERASE", "BULK",	   "COMMAND_PLIST", "REPORT_SCHOOL", "UPDATES",	      "UPDATE_STATUS",
    "ADE",   "VPP",	   "VPP_STATUS",    "METRICS",
};

/* rows: actions in enum order; columns: technician, ati, referent,
 * auditor, monitoring (issue 17: GET /metrics and nothing else) */
static const enum expect table[][5] = {
    [AZ_READ] = {FLEET, SCOPE, SCOPE, FLEET, NO},
    [AZ_READ_FLEET] = {FLEET, NO, NO, FLEET, NO},
    [AZ_LOAN] = {FLEET, SCOPE, NO, NO, NO},
    [AZ_INCIDENT] = {FLEET, SCOPE, NO, NO, NO},
    [AZ_DEVICE_ACTION] = {FLEET, SCOPE, NO, NO, NO},
    [AZ_SCHOOL_POLICY] = {FLEET, SCOPE, NO, NO, NO},
    [AZ_ADMIN] = {FLEET, NO, NO, NO, NO},
    [AZ_AUDIT] = {FLEET, NO, NO, FLEET, NO},
    [AZ_LOCATE] = {FLEET, NO, NO, NO, NO},
    [AZ_SELF] = {FLEET, FLEET, FLEET, FLEET, NO}, /* one's own token */
    [AZ_POLICY_READ] = {FLEET, FLEET, FLEET, FLEET, NO},
    [AZ_APP_CATALOGUE] = {FLEET, FLEET, NO, NO, NO},
    [AZ_ERASE] = {FLEET, NO, NO, NO, NO}, /* outside a loan return */
    [AZ_BULK] = {FLEET, NO, NO, NO, NO},
    [AZ_COMMAND_PLIST] = {FLEET, NO, NO, NO, NO},	/* stored plists, secrets masked */
    [AZ_REPORT_SCHOOL] = {FLEET, SCOPE, SCOPE, NO, NO}, /* a collège's year: its staff */
    [AZ_UPDATES] = {FLEET, FLEET, NO, NO, NO},		/* the update catalogue */
    [AZ_UPDATE_STATUS] = {FLEET, SCOPE, SCOPE, NO, NO}, /* where a collège's tablets stand */
    [AZ_ADE] = {FLEET, NO, NO, NO, NO},			/* the ADE key pair and token */
    [AZ_VPP] = {FLEET, NO, NO, NO, NO},			/* the content tokens, a licence run */
    [AZ_VPP_STATUS] = {FLEET, SCOPE, SCOPE, NO, NO},	/* a collège's licences */
    [AZ_METRICS] = {FLEET, NO, NO, NO, FLEET}, /* GET /metrics ([metrics] access = account) */
};

static void make_req(struct req *r, enum db_role role, int n_schools)
{
	memset(r, 0, sizeof(*r));
	r->has_acct = 1;
	r->acct.role = role;
	snprintf(r->acct.name, sizeof(r->acct.name), "%s", db_role_name(role));
	r->acct.n_schools = (size_t)n_schools;
	if (n_schools > 0)
		memcpy(r->acct.schools[0], "0130001C", 9);
	if (n_schools > 1)
		memcpy(r->acct.schools[1], MINE, 9);
}

static void check(const struct req *r, enum authz_action a, const char *school, int want)
{
	int got = authz_check(r, a, school);
	if (got != want)
		fail_msg("%s may%s %s on %s: expected %s, got %s", db_role_name(r->acct.role),
			 want ? " not" : "", action_names[a], school ? school : "(fleet)",
			 ap_errname(want), ap_errname(got));
}

static void test_table(void **state)
{
	assert_int_equal(sizeof(table) / sizeof(table[0]), AZ__COUNT);
	assert_int_equal(sizeof(table[0]) / sizeof(table[0][0]), DB_ROLE__COUNT);
	for (int role = 0; role < DB_ROLE__COUNT; role++) {
		struct req r;
		make_req(&r, (enum db_role)role, 2);
		for (int a = 0; a < AZ__COUNT; a++) {
			enum expect e = table[a][role];
			check(&r, (enum authz_action)a, MINE, e == NO ? AP_EFORBIDDEN : 0);
			check(&r, (enum authz_action)a, OTHER, e == FLEET ? 0 : AP_EFORBIDDEN);
			check(&r, (enum authz_action)a, NULL, e == FLEET ? 0 : AP_EFORBIDDEN);
		}
	}
}

/* An ATI of one collège cannot touch another's tablets (DESIGN.md §6). */
static void test_ati_of_one_college(void **state)
{
	struct req r;
	make_req(&r, DB_ROLE_ATI, 2);
	check(&r, AZ_DEVICE_ACTION, MINE, 0);
	check(&r, AZ_DEVICE_ACTION, OTHER, AP_EFORBIDDEN);
	check(&r, AZ_LOAN, OTHER, AP_EFORBIDDEN);
	check(&r, AZ_READ, OTHER, AP_EFORBIDDEN);
	check(&r, AZ_DEVICE_ACTION, "", AP_EFORBIDDEN);
	check(&r, AZ_DEVICE_ACTION, "0131266", AP_EFORBIDDEN);	 /* prefix */
	check(&r, AZ_DEVICE_ACTION, "0131266FX", AP_EFORBIDDEN); /* extension */
	check(&r, AZ_DEVICE_ACTION, "0131266f", AP_EFORBIDDEN);	 /* case */
}

static void test_no_schools(void **state)
{
	struct req r;
	make_req(&r, DB_ROLE_REFERENT, 0);
	check(&r, AZ_READ, MINE, AP_EFORBIDDEN);
	assert_int_equal(authz_in_scope(&r, MINE), 0);
}

static void test_unauthenticated_and_disabled(void **state)
{
	struct req r;
	make_req(&r, DB_ROLE_TECHNICIAN, 0);
	r.has_acct = 0;
	for (int a = 0; a < AZ__COUNT; a++)
		check(&r, (enum authz_action)a, NULL, AP_EAUTH);
	assert_int_equal(authz_fleet_wide(&r), 0);
	assert_int_equal(authz_in_scope(&r, MINE), 0);

	make_req(&r, DB_ROLE_TECHNICIAN, 0);
	r.acct.disabled = 1;
	check(&r, AZ_READ, NULL, AP_EAUTH);
	check(&r, AZ_ADMIN, NULL, AP_EAUTH);
}

static void test_out_of_table_values(void **state)
{
	struct req r;
	make_req(&r, DB_ROLE_TECHNICIAN, 0);
	assert_int_equal(authz_check(&r, (enum authz_action)AZ__COUNT, NULL), AP_EFORBIDDEN);
	assert_int_equal(authz_check(&r, (enum authz_action) - 1, NULL), AP_EFORBIDDEN);
	r.acct.role = DB_ROLE__COUNT;
	assert_int_equal(authz_check(&r, AZ_READ, NULL), AP_EFORBIDDEN);
	r.acct.role = (enum db_role) - 1;
	assert_int_equal(authz_check(&r, AZ_READ, NULL), AP_EFORBIDDEN);
}

/* Lists without a collège: "*" means every collège the account sees. */
static void test_own_scope(void **state)
{
	struct req r;
	make_req(&r, DB_ROLE_ATI, 2);
	check(&r, AZ_READ, AUTHZ_OWN_SCOPE, 0);
	check(&r, AZ_LOAN, AUTHZ_OWN_SCOPE, 0);
	check(&r, AZ_ADMIN, AUTHZ_OWN_SCOPE, AP_EFORBIDDEN);
	make_req(&r, DB_ROLE_REFERENT, 1);
	check(&r, AZ_READ, AUTHZ_OWN_SCOPE, 0);
	check(&r, AZ_LOAN, AUTHZ_OWN_SCOPE, AP_EFORBIDDEN);
	make_req(&r, DB_ROLE_REFERENT, 0); /* a scope naming no collège sees nothing */
	check(&r, AZ_READ, AUTHZ_OWN_SCOPE, AP_EFORBIDDEN);
	make_req(&r, DB_ROLE_AUDITOR, 0);
	check(&r, AZ_READ, AUTHZ_OWN_SCOPE, 0);
	check(&r, AZ_LOAN, AUTHZ_OWN_SCOPE, AP_EFORBIDDEN);
	assert_int_equal(authz_in_scope(&r, AUTHZ_OWN_SCOPE), 1); /* fleet-wide */
	assert_string_equal(authz_action_text(AZ_LOAN), "change loans, returns or people");
	assert_string_equal(authz_action_text((enum authz_action)99), "do this");
}

/* A monitoring account may use no staff route (the router asks
 * authz_staff_route() of each); every other role may. */
static void test_staff_route(void **state)
{
	struct req r;
	for (int role = 0; role < DB_ROLE__COUNT; role++) {
		make_req(&r, (enum db_role)role, 0);
		assert_int_equal(authz_staff_route(&r),
				 role == DB_ROLE_MONITORING ? AP_EFORBIDDEN : 0);
	}
	make_req(&r, DB_ROLE_MONITORING, 0);
	check(&r, AZ_METRICS, NULL, 0);
	check(&r, AZ_SELF, NULL, AP_EFORBIDDEN);
	check(&r, AZ_POLICY_READ, NULL, AP_EFORBIDDEN);
	assert_int_equal(authz_fleet_wide(&r), 0);
}

static void test_fleet_wide_and_scope(void **state)
{
	static const int fleet[] = {1, 0, 0, 1};
	for (int role = 0; role < 4; role++) {
		struct req r;
		make_req(&r, (enum db_role)role, 2);
		assert_int_equal(authz_fleet_wide(&r), fleet[role]);
		assert_int_equal(authz_in_scope(&r, MINE), 1);
		assert_int_equal(authz_in_scope(&r, OTHER), fleet[role]);
		assert_int_equal(authz_in_scope(&r, NULL), fleet[role]);
	}
}

/* The generic command routes, written from issue 11: what a procedure
 * owns is refused to everyone; technicians alone for Settings
 * (DeviceConfigured was theirs too until issue 16: Ardoise sends it to an
 * ADE tablet once configured, nobody by hand); ATIs keep the harmless
 * ones. */
enum cmd_expect { C_ALL, C_TECHNICIAN, C_NOBODY };

static const enum cmd_expect commands[AP_CMD__COUNT] = {
    [AP_CMD_DEVICE_INFORMATION] = C_ALL,
    [AP_CMD_SECURITY_INFO] = C_ALL,
    [AP_CMD_INSTALLED_APPLICATION_LIST] = C_ALL,
    [AP_CMD_MANAGED_APPLICATION_LIST] = C_ALL,
    [AP_CMD_PROFILE_LIST] = C_ALL,
    [AP_CMD_RESTART_DEVICE] = C_ALL,
    [AP_CMD_SHUT_DOWN_DEVICE] = C_ALL,
    [AP_CMD_DEVICE_LOCK] = C_ALL,
    [AP_CMD_SETTINGS] = C_TECHNICIAN,
    [AP_CMD_DEVICE_CONFIGURED] = C_NOBODY,
    [AP_CMD_INSTALL_PROFILE] = C_NOBODY,
    [AP_CMD_REMOVE_PROFILE] = C_NOBODY,
    [AP_CMD_INSTALL_APPLICATION] = C_NOBODY,
    [AP_CMD_REMOVE_APPLICATION] = C_NOBODY,
    [AP_CMD_CLEAR_PASSCODE] = C_NOBODY,
    [AP_CMD_ENABLE_LOST_MODE] = C_NOBODY,
    [AP_CMD_DISABLE_LOST_MODE] = C_NOBODY,
    [AP_CMD_DEVICE_LOCATION] = C_NOBODY,
    [AP_CMD_PLAY_LOST_MODE_SOUND] = C_NOBODY,
    [AP_CMD_ERASE_DEVICE] = C_NOBODY,
    [AP_CMD_ACTIVATION_LOCK_BYPASS_CODE] = C_NOBODY,
    [AP_CMD_DECLARATIVE_MANAGEMENT] = C_NOBODY, /* declarative management's own */
};

static void test_generic_commands(void **state)
{
	const char *why;
	for (int role = 0; role < 2; role++) { /* technician, ati */
		struct req r;
		make_req(&r, (enum db_role)role, 2);
		for (int t = 0; t < AP_CMD__COUNT; t++) {
			int want =
			    commands[t] == C_ALL || (commands[t] == C_TECHNICIAN && role == 0)
				? 0
				: AP_EFORBIDDEN;
			int got = authz_command(&r, (enum ap_cmd_type)t, 0, &why);
			if (got != want)
				fail_msg("%s may%s send %s: got %s", db_role_name(r.acct.role),
					 want ? " not" : "", ap_cmd_name((enum ap_cmd_type)t),
					 ap_errname(got));
			if (got < 0 && (why == NULL || why[0] == '\0'))
				fail_msg("refusing %s says why", ap_cmd_name((enum ap_cmd_type)t));
		}
		/* Settings with MDMOptions: nobody */
		assert_int_equal(authz_command(&r, AP_CMD_SETTINGS, 1, &why), AP_EFORBIDDEN);
	}
	struct req r;
	make_req(&r, DB_ROLE_TECHNICIAN, 0);
	assert_int_equal(authz_command(&r, AP_CMD_DEVICE_LOCATION, 0, &why), AP_EFORBIDDEN);
	assert_non_null(strstr(why, "locate request"));
	assert_int_equal(authz_command(&r, AP_CMD_ERASE_DEVICE, 0, &why), AP_EFORBIDDEN);
	assert_non_null(strstr(why, "device erase"));
	assert_int_equal(authz_command(&r, AP_CMD_DEVICE_CONFIGURED, 0, &why), AP_EFORBIDDEN);
	assert_non_null(strstr(why, "ADE"));
	assert_int_equal(authz_command(&r, (enum ap_cmd_type)AP_CMD__COUNT, 0, &why),
			 AP_EFORBIDDEN);
	r.has_acct = 0;
	assert_int_equal(authz_command(&r, AP_CMD_DEVICE_INFORMATION, 0, &why), AP_EAUTH);
	assert_int_equal(authz_command_needs_reason(AP_CMD_DEVICE_LOCK), 1);
	assert_int_equal(authz_command_needs_reason(AP_CMD_DEVICE_INFORMATION), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_ati_of_one_college),
	    cmocka_unit_test(test_no_schools),
	    cmocka_unit_test(test_unauthenticated_and_disabled),
	    cmocka_unit_test(test_out_of_table_values),
	    cmocka_unit_test(test_own_scope),
	    cmocka_unit_test(test_fleet_wide_and_scope),
	    cmocka_unit_test(test_staff_route),
	    cmocka_unit_test(test_generic_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
