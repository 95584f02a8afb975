/*
 * pol_plan.h - desired state and the commands that reach it, for one
 * tablet at a time.
 *
 * Desired state = the union of the items assigned to every scope that
 * covers the tablet.  Reported state = the tablet's last ProfileList and
 * InstalledApplicationList, plus what Ardoise saw it acknowledge since
 * ("owned": the profiles and apps Ardoise installed, with the time of the
 * acknowledgement).  The plan is the list of actions that takes the
 * reported state to the desired one:
 *
 *   CANCEL          a pending policy command that contradicts the desired
 *                   state (install of an item no longer wanted or of an
 *                   older version of a profile, removal of an item wanted
 *                   again); the rules below then see it as not pending;
 *   REMOVE_PROFILE  a profile Ardoise installed that is no longer desired
 *                   and that the tablet still holds (never the enrolment
 *                   profile POL_ENROLL_IDENTIFIER);
 *   REMOVE_APP      an app Ardoise installed, no longer desired, still
 *                   there;
 *   INSTALL_PROFILE a desired profile the tablet lacks, or holds with
 *                   another PayloadUUID (another content hash);
 *   INSTALL_APP     a desired app the tablet lacks.
 *
 * in that order (removals first, so a one-per-device payload can be
 * replaced).  Never an action whose (type, identifier) is already
 * pending; nothing at all for a converged tablet.
 *
 * Freshness: an item whose install command was acknowledged after the
 * command that brought the last list (owned.acked_cmd > profiles_cmd /
 * apps_cmd: the queue hands commands out in id order) counts as present,
 * since the list predates it; once a newer list arrives, only the list
 * counts (so an app the user removed is installed again).  Command ids,
 * not times: an install and a list can be acknowledged in one second.
 *
 * Pure: no I/O.  Strings are borrowed from the caller for the duration of
 * the call; actions point at the caller's items.
 */
#ifndef POL_PLAN_H
#define POL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "pol_scope.h"

enum pol_kind { POL_PROFILE, POL_APP };

/* A catalogue item. */
struct pol_item {
	enum pol_kind kind;
	const char *identifier; /* PayloadIdentifier or bundle id */
	const char *version;	/* profiles: the PayloadUUID sent; apps: NULL or "" */
	const char *ref;	/* profiles: blob of the bytes to send; apps: NULL */
	int64_t store_id;	/* apps: App Store id, 0 when unknown */
	int64_t id;		/* the caller's key */
	const char *name;	/* for people */
};

struct pol_assignment {
	const struct pol_item *item;
	struct pol_scope scope;
};

/* One profile (identifier, PayloadUUID) or app (identifier, version
 * unused) the tablet reported. */
struct pol_reported {
	const char *identifier;
	const char *version;
};

struct pol_owned {
	enum pol_kind kind;
	const char *identifier;
	const char *version; /* profiles: the PayloadUUID acknowledged */
	int64_t acked_cmd;   /* id of the install command acknowledged */
};

enum pol_action_type {
	POL_CANCEL,
	POL_REMOVE_PROFILE,
	POL_REMOVE_APP,
	POL_INSTALL_PROFILE,
	POL_INSTALL_APP,
};

/* A policy command still pending for the tablet (type is never
 * POL_CANCEL).  Other pending commands only count against room. */
struct pol_pending {
	enum pol_action_type type;
	const char *identifier; /* the command's dedupe */
	const char *ref;	/* InstallProfile: the blob it sends; else NULL */
	int64_t id;		/* the caller's key (command id) */
};

struct pol_device_state {
	struct pol_device_facts facts;
	const struct pol_reported *profiles;
	size_t n_profiles;
	int64_t profiles_cmd; /* id of the last ProfileList answered, 0 never */
	const struct pol_reported *apps;
	size_t n_apps;
	int64_t apps_cmd; /* same for InstalledApplicationList */
	const struct pol_owned *owned;
	size_t n_owned;
	const struct pol_pending *pending;
	size_t n_pending;
	/* how many more commands the tablet's queue accepts; actions past it
	 * are left out (counted in pol_plan.capped) for a later run */
	size_t room;
};

struct pol_action {
	enum pol_action_type type;
	const char *identifier;	     /* the command's dedupe */
	const struct pol_item *item; /* installs: the item; else NULL */
	int64_t pending_id;	     /* CANCEL: the pending command's id */
};

/* Reusable across tablets: each call resets it.  Zero it or
 * pol_plan_init() before first use; pol_plan_free() at the end. */
struct pol_plan {
	struct pol_action *actions;
	size_t n, cap;
	const struct pol_item **desired; /* after pol_plan_device / pol_plan_desired */
	size_t n_desired, cap_desired;
	size_t capped; /* actions left out for lack of room */
};

void pol_plan_init(struct pol_plan *p);
void pol_plan_free(struct pol_plan *p);

/* The desired items of a tablet (each once, in assignment order) into
 * p->desired.  AP_ENOMEM only. */
int pol_plan_desired(const struct pol_assignment *a, size_t n, const struct pol_device_facts *d,
		     struct pol_plan *p);

/* The plan of one tablet into p->actions (and its desired items into
 * p->desired).  AP_ENOMEM only. */
int pol_plan_device(const struct pol_assignment *a, size_t n, const struct pol_device_state *s,
		    struct pol_plan *p);

/* "InstallProfile", ... for a type (the MDM RequestType; "cancel"). */
const char *pol_action_name(enum pol_action_type t);
/* Reverse for the four command types; AP_EINVAL for others. */
int pol_action_from_command(const char *request_type, enum pol_action_type *ret);

#endif
