/*
 * db_ddm_update.h - what the iPadOS update views read (reads only): each
 * enrolled tablet of some collèges with its inventory, its DDM state and
 * the four status items an update is followed by.  The classification
 * (on target, downloading, failed...) is pol_update.h's; the plans are
 * declarations (db_ddm.h).
 */
#ifndef DB_DDM_UPDATE_H
#define DB_DDM_UPDATE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* The status items read (device_ddm_item). */
#define DB_DDM_UPDATE_VERSION_ITEM "device.operating-system.version"
#define DB_DDM_UPDATE_STATE_ITEM   "softwareupdate.install-state"
#define DB_DDM_UPDATE_PENDING_ITEM "softwareupdate.pending-version"
#define DB_DDM_UPDATE_FAILURE_ITEM "softwareupdate.failure-reason"

/* One enrolled tablet; strings valid during the call. */
struct db_ddm_update_tablet {
	int64_t device_id;
	const char *school;	  /* "" when no collège holds it */
	const char *serial;	  /* "" when not known */
	const char *product_name; /* "iPad13,18"; "" when no inventory yet */
	const char *os_version;	  /* the inventory's (DeviceInformation), "" when none */
	int enabled;		  /* DDM enabled on it */
	int64_t status_at;	  /* its last status report, 0: never */
	/* what it reported, NULL when not (values as text, from the items' JSON) */
	const char *version;	     /* device.operating-system.version: "26.1" */
	const char *install_state;   /* softwareupdate.install-state: "downloading" */
	const char *pending_version; /* softwareupdate.pending-version's os-version */
	int64_t failures;	     /* softwareupdate.failure-reason's count (0: none) */
	const char *failure_reason;  /* its reason, NULL when none */
};

/*
 * Calls fn for each enrolled tablet of the collèges only[0..n_only) (NULL:
 * the whole fleet, tablets no collège holds included), by collège then
 * serial.  fn returning non-zero stops the walk (0 is returned).
 * db_scope.h's errors for only.
 */
int db_ddm_update_tablets(struct db *db, const char *const *only, size_t n_only,
			  int (*fn)(const struct db_ddm_update_tablet *t, void *arg), void *arg);

#endif
