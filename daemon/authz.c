/* authz.c - role x action table and scope check. */
#include "authz.h"
#include "ap_err.h"
#include "router.h"

#include <string.h>

/* who may do what: FLEET = anywhere, SCOPE = within the account's collèges */
enum grant { NO = 0, SCOPE = 1, FLEET = 2 };

/* The one table: per action, who may do it, and what it is (for messages). */
static const struct {
	unsigned char grant[4]; /* technician, ati, referent, auditor */
	const char *what;
} actions[] = {
    [AZ_READ] = {{FLEET, SCOPE, SCOPE, FLEET}, "see this collège's records"},
    [AZ_READ_FLEET] = {{FLEET, NO, NO, FLEET}, "see fleet-wide views"},
    [AZ_LOAN] = {{FLEET, SCOPE, NO, NO}, "change loans, returns or people"},
    [AZ_INCIDENT] = {{FLEET, SCOPE, NO, NO}, "declare or close incidents"},
    [AZ_DEVICE_ACTION] = {{FLEET, SCOPE, NO, NO}, "act on tablets"},
    [AZ_SCHOOL_POLICY] = {{FLEET, SCOPE, NO, NO}, "change a collège's apps and profiles"},
    [AZ_ADMIN] = {{FLEET, NO, NO, NO}, "administer (accounts, collèges, inventory, policy)"},
    [AZ_AUDIT] = {{FLEET, NO, NO, FLEET}, "read the audit log and registers"},
    [AZ_LOCATE] = {{FLEET, NO, NO, NO}, "run the geolocation procedure"},
    [AZ_SELF] = {{FLEET, FLEET, FLEET, FLEET}, "manage its own token"},
    [AZ_POLICY_READ] = {{FLEET, FLEET, FLEET, FLEET}, "read the profile and app catalogue"},
    [AZ_APP_CATALOGUE] = {{FLEET, FLEET, NO, NO}, "add apps to the catalogue"},
    [AZ_COMMAND_PLIST] = {{FLEET, NO, NO, NO},
			  "read a command's payload and result (?plist=1): technicians only"},
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

int authz_check(const struct req *r, enum authz_action action, const char *school)
{
	if (!r->has_acct || r->acct.disabled)
		return AP_EAUTH;
	if ((unsigned)action >= NACTIONS || (unsigned)r->acct.role >= 4)
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
