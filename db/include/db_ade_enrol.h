/*
 * db_ade_enrol.h - what happens to a tablet Apple School Manager assigned
 * to Ardoise (ade_device, schema step 20) when it enrols through ADE
 * (mdm_ade.c) and while it awaits configuration (ade_configure.c): the
 * enrolment accepted or refused, the DeviceConfigured acknowledged.
 */
#ifndef DB_ADE_ENROL_H
#define DB_ADE_ENROL_H

#include <stdint.h>

struct db;

/* An ADE enrolment of the tablet device_id accepted now: enrolled_at set,
 * configured_at cleared.  AP_ENOTFOUND when it has no ade_device row. */
int db_ade_enrol_accepted(struct db *db, int64_t device_id);
/* Before a new profile for serial: forgets the codes ADE made for it that
 * paid for no identity (enroll_code_cert), so that a MachineInfo replayed
 * (Apple's signature proves the device, not freshness) leaves one live code
 * per tablet, not one per request; the newest request wins. */
int db_ade_enrol_prune_codes(struct db *db, const char *serial);
/* Refused now because of why (cut to 255 bytes): refused_at, refusal.
 * AP_ENOTFOUND when it has no ade_device row. */
int db_ade_enrol_refused(struct db *db, int64_t device_id, const char *why);
/* DeviceConfigured acknowledged (or the tablet released): configured_at
 * set when it has an ade_device row, device.awaiting_config cleared. */
int db_ade_enrol_configured(struct db *db, int64_t device_id);
/* The commands of device_id still to be answered (queued, sent, not now)
 * whose origin is "policy" or "enrolment", into *ret_n. */
int db_ade_enrol_pending(struct db *db, int64_t device_id, int64_t *ret_n);

/* Whether device_id awaits configuration (*ret_awaiting: awaiting_config
 * set and enrolled) and has a DeviceConfigured pending (*ret_configuring).
 * AP_ENOTFOUND when no such tablet. */
int db_ade_enrol_state(struct db *db, int64_t device_id, int *ret_awaiting, int *ret_configuring);

/* A tablet awaiting configuration: awaiting_config set, enrolled. */
struct db_ade_awaiting {
	int64_t device_id;
	int64_t enrolled_at; /* device.enrolled_at */
	int64_t moved_at;    /* its newest command's creation or answer, else enrolled_at */
	int configuring;     /* a DeviceConfigured is pending */
};
/* Calls fn for each enrolled tablet awaiting configuration, at most limit;
 * fn's non-zero return stops the walk and is returned. */
int db_ade_enrol_awaiting(struct db *db, int64_t limit,
			  int (*fn)(const struct db_ade_awaiting *a, void *arg), void *arg);

#endif
