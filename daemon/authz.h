/*
 * authz.h - the one authorisation function every staff route goes through.
 *
 * Decisions come from one table (role x action); scope (the collèges an ATI
 * or référent account names) is checked here too, against the collège of
 * the object acted on.
 */
#ifndef AUTHZ_H
#define AUTHZ_H

struct req;

enum authz_action {
	AZ_READ,	  /* devices, schools, loans, incidents of a collège */
	AZ_READ_FLEET,	  /* fleet-wide views without a collège (reports, all schools) */
	AZ_LOAN,	  /* loans, returns, people */
	AZ_INCIDENT,	  /* declare / close incidents */
	AZ_DEVICE_ACTION, /* lock, clear passcode, commands, push */
	AZ_SCHOOL_POLICY, /* add apps/profiles to a collège */
	AZ_ADMIN,	  /* accounts, collèges, fleet policy, enrolment, imports */
	AZ_AUDIT,	  /* audit log, registers */
	AZ_LOCATE,	  /* the geolocation procedure */
	AZ_SELF,	  /* the caller's own account: rotate its token */
	AZ_POLICY_READ,	  /* the profile and app catalogue, assignments (no personal data) */
	AZ_APP_CATALOGUE, /* add an App Store app to the catalogue (ATIs push their apps) */
	AZ_COMMAND_PLIST, /* a command's stored payload and result (?plist=1), secrets masked */
	AZ__COUNT	  /* not an action: the size of the table */
};

/* Pass as `school` for a view over every collège the account may see (a
 * list without a collège filter): allowed when the role has the action
 * fleet-wide, or in a scope that names at least one collège.  No UAI can
 * be "*". */
#define AUTHZ_OWN_SCOPE "*"

/* 0 when r's account may do action on an object of collège `school`
 * (NULL: no collège, fleet-wide); AP_EFORBIDDEN otherwise.  On refusal the
 * answer is NOT written: the caller does (api_fail). */
int authz_check(const struct req *r, enum authz_action action, const char *school);
/* What the action is, in words, for refusal messages ("change loans..."). */
const char *authz_action_text(enum authz_action action);
/* 1 when the account's role sees the whole fleet (technician, auditor). */
int authz_fleet_wide(const struct req *r);
/* 1 when school is in the account's scope (always for fleet-wide roles). */
int authz_in_scope(const struct req *r, const char *school);

#endif
