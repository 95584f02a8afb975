/* authz.c - role x action table and scope check. */
#include "authz.h"
#include "ap_err.h"
#include "router.h"

#include <string.h>

/* who may do what: FLEET = anywhere, SCOPE = within the account's collèges */
enum grant { NO = 0, SCOPE = 1, FLEET = 2 };

static const unsigned char grants[][4] = {
    /*                   technician ati    referent auditor */
    [AZ_READ] = {FLEET, SCOPE, SCOPE, FLEET},
    [AZ_READ_FLEET] = {FLEET, NO, NO, FLEET},
    [AZ_LOAN] = {FLEET, SCOPE, NO, NO},
    [AZ_INCIDENT] = {FLEET, SCOPE, NO, NO},
    [AZ_DEVICE_ACTION] = {FLEET, SCOPE, NO, NO},
    [AZ_SCHOOL_POLICY] = {FLEET, SCOPE, NO, NO},
    [AZ_ADMIN] = {FLEET, NO, NO, NO},
    [AZ_AUDIT] = {FLEET, NO, NO, FLEET},
    [AZ_LOCATE] = {FLEET, NO, NO, NO},
    [AZ_POLICY_READ] = {FLEET, FLEET, FLEET, FLEET},
    [AZ_APP_CATALOGUE] = {FLEET, FLEET, NO, NO},
};

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
	if ((unsigned)action >= sizeof(grants) / sizeof(grants[0]) || (unsigned)r->acct.role >= 4)
		return AP_EFORBIDDEN;
	switch (grants[action][r->acct.role]) {
	case FLEET:
		return 0;
	case SCOPE:
		return authz_in_scope(r, school) ? 0 : AP_EFORBIDDEN;
	default:
		return AP_EFORBIDDEN;
	}
}
