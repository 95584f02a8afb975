/* authz.c - role x action table and scope check. */
#include "authz.h"
#include "ap_err.h"
#include "req.h"

#include <string.h>

/* who may do what: FLEET = anywhere, SCOPE = within the account's collèges */
enum grant { NO = 0, SCOPE = 1, FLEET = 2 };

/* The one table: per action, who may do it, and what it is (for messages). */
static const struct {
	unsigned char grant[DB_ROLE__COUNT]; /* technician, ati, referent, auditor, monitoring */
	const char *what;
} actions[] = {
    [AZ_READ] = {{FLEET, SCOPE, SCOPE, FLEET, NO}, "see this collège's records"},
    [AZ_READ_FLEET] = {{FLEET, NO, NO, FLEET, NO}, "see fleet-wide views"},
    [AZ_LOAN] = {{FLEET, SCOPE, NO, NO, NO}, "change loans, returns or people"},
    [AZ_INCIDENT] = {{FLEET, SCOPE, NO, NO, NO}, "declare or close incidents"},
    [AZ_DEVICE_ACTION] = {{FLEET, SCOPE, NO, NO, NO}, "act on tablets"},
    [AZ_SCHOOL_POLICY] = {{FLEET, SCOPE, NO, NO, NO}, "change a collège's apps and profiles"},
    [AZ_ADMIN] = {{FLEET, NO, NO, NO, NO}, "administer (accounts, collèges, inventory, policy)"},
    [AZ_AUDIT] = {{FLEET, NO, NO, FLEET, NO}, "read the audit log and registers"},
    [AZ_LOCATE] = {{FLEET, NO, NO, NO, NO}, "run the geolocation procedure"},
    [AZ_SELF] = {{FLEET, FLEET, FLEET, FLEET, NO}, "manage its own token"},
    [AZ_POLICY_READ] = {{FLEET, FLEET, FLEET, FLEET, NO}, "read the profile and app catalogue"},
    [AZ_APP_CATALOGUE] = {{FLEET, FLEET, NO, NO, NO}, "add apps to the catalogue"},
    [AZ_ERASE] = {{FLEET, NO, NO, NO, NO}, "erase a tablet outside a loan return"},
    [AZ_BULK] = {{FLEET, NO, NO, NO, NO}, "send a command to every tablet of a collège"},
    [AZ_COMMAND_PLIST] = {{FLEET, NO, NO, NO, NO},
			  "read a command's payload and result (?plist=1): technicians only"},
    [AZ_REPORT_SCHOOL] = {{FLEET, SCOPE, SCOPE, NO, NO}, "see a collège's annual report"},
    [AZ_UPDATES] = {{FLEET, FLEET, NO, NO, NO}, "see the software update catalogue"},
    [AZ_UPDATE_STATUS] = {{FLEET, SCOPE, SCOPE, NO, NO}, "see a collège's iPadOS update status"},
    [AZ_ADE] = {{FLEET, NO, NO, NO, NO}, "manage the Apple School Manager server token"},
    [AZ_VPP] = {{FLEET, NO, NO, NO, NO}, "manage the Apps and Books content tokens"},
    [AZ_VPP_STATUS] = {{FLEET, SCOPE, SCOPE, NO, NO}, "see a collège's Apps and Books licences"},
    [AZ_METRICS] = {{FLEET, NO, NO, NO, FLEET}, "read the metrics (GET /metrics)"},
};

#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

const char *authz_action_text(enum authz_action action)
{
	return (unsigned)action < NACTIONS && actions[action].what ? actions[action].what
								   : "do this";
}

int authz_fleet_wide(const struct req *r)
{
	return r->has_acct &&
	       (r->acct.role == DB_ROLE_TECHNICIAN || r->acct.role == DB_ROLE_AUDITOR);
}

int authz_in_scope(const struct req *r, const char *school)
{
	if (authz_fleet_wide(r))
		return 1;
	if (school == NULL)
		return 0;
	for (size_t i = 0; i < r->acct.n_schools; i++)
		if (strcmp(r->acct.schools[i], school) == 0)
			return 1;
	return 0;
}

int authz_staff_route(const struct req *r)
{
	return r->has_acct && r->acct.role == DB_ROLE_MONITORING ? AP_EFORBIDDEN : 0;
}

int authz_check(const struct req *r, enum authz_action action, const char *school)
{
	if (!r->has_acct || r->acct.disabled)
		return AP_EAUTH;
	if ((unsigned)action >= NACTIONS || (unsigned)r->acct.role >= DB_ROLE__COUNT)
		return AP_EFORBIDDEN;
	switch (actions[action].grant[r->acct.role]) {
	case FLEET:
		return 0;
	case SCOPE:
		if (school && strcmp(school, AUTHZ_OWN_SCOPE) == 0)
			return r->acct.n_schools > 0 ? 0 : AP_EFORBIDDEN;
		return authz_in_scope(r, school) ? 0 : AP_EFORBIDDEN;
	default:
		return AP_EFORBIDDEN;
	}
}

/* Who may send a command type through the generic routes: STAFF (those
 * who may act on the tablet: technicians, ATIs in their collèges), TECH
 * (technicians), PROC (nobody: a procedure owns it, named by `how`). */
enum cmd_grant { C_NONE = 0, C_STAFF, C_TECH, C_PROC };

#define GEOLOC "the geolocation procedure owns it (ardoisectl locate request)"
#define POLICY "the policy catalogue owns it (ardoisectl policy assign)"

static const struct {
	unsigned char grant;
	unsigned char reason; /* the generic route needs a reason */
	const char *how;
} commands[AP_CMD__COUNT] = {
    [AP_CMD_DEVICE_INFORMATION] = {C_STAFF, 0, NULL},
    [AP_CMD_SECURITY_INFO] = {C_STAFF, 0, NULL},
    [AP_CMD_INSTALLED_APPLICATION_LIST] = {C_STAFF, 0, NULL},
    [AP_CMD_MANAGED_APPLICATION_LIST] = {C_STAFF, 0, NULL},
    [AP_CMD_PROFILE_LIST] = {C_STAFF, 0, NULL},
    [AP_CMD_RESTART_DEVICE] = {C_STAFF, 0, NULL},
    [AP_CMD_SHUT_DOWN_DEVICE] = {C_STAFF, 1, NULL},
    [AP_CMD_DEVICE_LOCK] = {C_STAFF, 1, NULL},
    [AP_CMD_SETTINGS] = {C_TECH, 1, NULL},
    [AP_CMD_DEVICE_CONFIGURED] = {C_PROC, 0,
				  "Ardoise sends it to a tablet enrolled through ADE once its "
				  "configuration is installed (ade_configure.c)"},
    [AP_CMD_INSTALL_PROFILE] = {C_PROC, 0, POLICY},
    [AP_CMD_REMOVE_PROFILE] = {C_PROC, 0, POLICY},
    [AP_CMD_INSTALL_APPLICATION] = {C_PROC, 0, POLICY},
    [AP_CMD_REMOVE_APPLICATION] = {C_PROC, 0, POLICY},
    [AP_CMD_CLEAR_PASSCODE] = {C_PROC, 0,
			       "the lock-code procedure owns it (ardoisectl device clear-passcode "
			       "SERIAL --reason TEXT)"},
    [AP_CMD_ENABLE_LOST_MODE] = {C_PROC, 0, GEOLOC},
    [AP_CMD_DISABLE_LOST_MODE] = {C_PROC, 0, GEOLOC},
    [AP_CMD_DEVICE_LOCATION] = {C_PROC, 0, GEOLOC},
    [AP_CMD_PLAY_LOST_MODE_SOUND] = {C_PROC, 0, GEOLOC},
    [AP_CMD_ERASE_DEVICE] = {C_PROC, 0,
			     "a loan return erases the tablet (ardoisectl loan return), or a "
			     "technician's ardoisectl device erase SERIAL --reason TEXT"},
    [AP_CMD_ACTIVATION_LOCK_BYPASS_CODE] = {C_PROC, 0,
					    "the code is escrowed at enrolment and read with "
					    "ardoisectl device activation-lock SERIAL --reveal"},
};

int authz_command(const struct req *r, enum ap_cmd_type t, int mdm_options, const char **why)
{
	static const char *const techs = "only technicians may send it";
	*why = "this command is not sent through the generic routes";
	if (!r->has_acct || r->acct.disabled)
		return AP_EAUTH;
	if ((unsigned)t >= AP_CMD__COUNT || commands[t].grant == C_NONE)
		return AP_EFORBIDDEN;
	if (commands[t].grant == C_PROC) {
		*why = commands[t].how;
		return AP_EFORBIDDEN;
	}
	if (mdm_options) {
		*why = "MDMOptions changes how the tablet treats its management (Activation Lock, "
		       "…): it is not sent through the generic routes";
		return AP_EFORBIDDEN;
	}
	if (commands[t].grant == C_TECH && r->acct.role != DB_ROLE_TECHNICIAN) {
		*why = techs;
		return AP_EFORBIDDEN;
	}
	*why = NULL;
	return 0;
}

int authz_command_needs_reason(enum ap_cmd_type t)
{
	return (unsigned)t < AP_CMD__COUNT && commands[t].reason;
}
