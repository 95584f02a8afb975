/*
 * authz.h - the one authorisation function every staff route goes through.
 *
 * Decisions come from one table (role x action); scope (the collèges an ATI
 * or référent account names) is checked here too, against the collège of
 * the object acted on.
 */
#ifndef AUTHZ_H
#define AUTHZ_H

#include "ap_cmd.h"

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
	AZ_ERASE,	  /* erase a tablet outside a loan return (device erase --reason) */
	AZ_BULK,	  /* one command for every tablet of a collège or of the fleet */
	AZ_COMMAND_PLIST, /* a command's stored payload and result (?plist=1), secrets masked */
	AZ_REPORT_SCHOOL, /* a collège's annual figures (report year): its staff, not the auditor */
	AZ_UPDATES,	  /* the software update catalogue (no personal data) */
	AZ_UPDATE_STATUS, /* where a collège's tablets stand against their update plan */
	AZ_ADE,	       /* the ADE key pair and server token (Apple School Manager): technicians */
	AZ_VPP,	       /* the Apps and Books content tokens and licence runs: technicians */
	AZ_VPP_STATUS, /* a collège's Apps and Books licences and shortages */
	AZ_METRICS,    /* GET /metrics when [metrics] access = account */
	AZ__COUNT      /* not an action: the size of the table */
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
/*
 * The generic command routes (POST /api/v1/devices/:serial/commands and
 * /api/v1/commands/bulk) are a way around every procedure, so they take
 * only the command types no procedure owns.  0 when r's account may send
 * t through them (the tablet's collège is checked apart, with
 * AZ_DEVICE_ACTION); otherwise AP_EFORBIDDEN with why (a sentence naming
 * the procedure's own command, for the 403).  mdm_options: the Settings
 * command carries an MDMOptions item.
 */
int authz_command(const struct req *r, enum ap_cmd_type t, int mdm_options, const char **why);
/* 1 when the generic routes need a reason for t (it goes to the audit log). */
int authz_command_needs_reason(enum ap_cmd_type t);

/* 0 when r's account may use the staff routes (AUTH_STAFF) at all;
 * AP_EFORBIDDEN for a monitoring account, which reads GET /metrics
 * (AZ_METRICS) and nothing else.  The router asks it of every staff
 * route once the caller is known. */
int authz_staff_route(const struct req *r);

/* 1 when the account's role sees the whole fleet (technician, auditor). */
int authz_fleet_wide(const struct req *r);
/* 1 when school is in the account's scope (always for fleet-wide roles). */
int authz_in_scope(const struct req *r, const char *school);

#endif
