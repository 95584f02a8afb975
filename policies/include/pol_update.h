/*
 * pol_update.h - where a tablet stands against its iPadOS update plan,
 * from what it reports (pure: the caller reads the store and the status
 * items' JSON).
 *
 * One class per tablet, the first that holds, in this order:
 *   without_ddm    DDM is not enabled on it (older iPadOS, or not yet)
 *   unsupported    a plan covers it but its model is not among the
 *                  models the target supports (the plan is not pushed to it)
 *   unknown_model  a plan covers it, its model is not known yet (no
 *                  inventory: it gets the plan once DeviceInformation says)
 *   not_reporting  DDM on, no status report ever received
 *   no_plan        no plan covers it
 *   on_target      its version (the status item, else the inventory's)
 *                  is the target or newer
 *   failed         install state "failed", or a failure counted while
 *                  nothing is in progress
 *   installing, prepared, downloading   its install state
 *   pending        the rest: the plan is known, the update not started
 */
#ifndef POL_UPDATE_H
#define POL_UPDATE_H

enum pol_update_class {
	POL_UPDATE_WITHOUT_DDM,
	POL_UPDATE_UNSUPPORTED,
	POL_UPDATE_UNKNOWN_MODEL,
	POL_UPDATE_NOT_REPORTING,
	POL_UPDATE_NO_PLAN,
	POL_UPDATE_ON_TARGET,
	POL_UPDATE_FAILED,
	POL_UPDATE_INSTALLING,
	POL_UPDATE_PREPARED,
	POL_UPDATE_DOWNLOADING,
	POL_UPDATE_PENDING,
	POL_UPDATE__COUNT
};

/* What is known of one tablet.  Strings may be NULL (unknown). */
struct pol_update_tablet {
	int ddm_enabled;
	int reporting;		   /* it has sent a status report */
	const char *product_name;  /* "iPad13,18"; NULL or "" not known */
	const char *target;	   /* the plan's TargetOSVersion; NULL: no plan covers it */
	int supported;		   /* its model is in the plan's models (or no filter) */
	const char *version;	   /* device.operating-system.version */
	const char *inventory;	   /* the inventory's OSVersion, when version is NULL */
	const char *install_state; /* softwareupdate.install-state */
	long long failures;	   /* softwareupdate.failure-reason's count */
};

enum pol_update_class pol_update_classify(const struct pol_update_tablet *t);
/* "without_ddm", ..., "pending" (the JSON keys); NULL out of range. */
const char *pol_update_class_name(enum pol_update_class c);
/* Compares two versions "X[.Y[.Z[.W]]]" component by component (missing
 * ones are 0: 17.6 == 17.6.0, 18.10 > 18.9) into *ret (<0, 0, >0).
 * AP_EPARSE when one is not such a version. */
int pol_update_version_cmp(const char *a, const char *b, int *ret);

#endif
