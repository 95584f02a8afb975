/*
 * db_locate.h - the geolocation register: exceptional, justified,
 * approved, time-boxed requests and the fixes they produced.
 *
 * Coordinates are stored sealed (the daemon's keystore) and deleted by the
 * purge job after the retention period; the request row stays for the
 * register, with how many fixes were taken and read and when they were
 * purged.
 */
#ifndef DB_LOCATE_H
#define DB_LOCATE_H

#include <stddef.h>
#include <stdint.h>

struct db;

struct db_locate {
	int64_t id;
	int64_t device_id;
	char serial[65];
	char school[9];
	int64_t incident_id; /* 0 when on an authority's request */
	char authority_ref[128];
	char reason[512];
	char state[16]; /* pending, approved, denied, expired, closed */
	char requested_by[65];
	int64_t requested_at;
	char decided_by[65]; /* approver or denier */
	int64_t decided_at;
	char deny_reason[256];
	int64_t expires_at;
	int64_t closed_at;
	char outcome[16]; /* found, not_found, "" */
	int64_t purge_after, purged_at;
	int64_t fixes, reads;
};

/* Open loss/theft incident of the device? 0 yes, AP_ENOTFOUND no. */
int db_locate_incident_ok(struct db *db, int64_t device_id, int64_t incident_id);
int db_locate_create(struct db *db, int64_t device_id, int64_t incident_id,
		     const char *authority_ref, const char *reason, const char *by,
		     int64_t *ret_id);
int db_locate_get(struct db *db, int64_t id, struct db_locate *ret);
/* The approved, unexpired request of a device (AP_ENOTFOUND when none). */
int db_locate_active(struct db *db, int64_t device_id, struct db_locate *ret);
/* pending -> approved (expires_at set) or denied. */
int db_locate_decide(struct db *db, int64_t id, int approve, const char *by, const char *why,
		     int64_t expires_at);
/* approved or expired -> closed, outcome found/not_found; coordinates
 * kept until purge_after; the device's pending DeviceLocation commands
 * canceled. */
int db_locate_close(struct db *db, int64_t id, const char *outcome, int64_t purge_after);
/* Approved requests past expires_at -> expired (purge_after set from
 * retention_s), their pending DeviceLocation commands canceled; *ret_n
 * how many requests. */
int db_locate_expire(struct db *db, int64_t now, int64_t retention_s, int64_t *ret_n);
/* Deletes the fixes of requests past purge_after; *ret_n requests purged. */
int db_locate_purge(struct db *db, int64_t now, int64_t *ret_n);
int db_locate_add_fix(struct db *db, int64_t request_id, const unsigned char *sealed, size_t len);
/* Calls fn for each fix (sealed) and counts one read of the request. */
int db_locate_fixes(struct db *db, int64_t request_id,
		    int (*fn)(int64_t taken_at, const unsigned char *sealed, size_t len, void *arg),
		    void *arg);
/* Register rows requested since `since`, newest first. */
int db_locate_list(struct db *db, int64_t since, int (*fn)(const struct db_locate *l, void *arg),
		   void *arg);

/* Requests tied to incident_id, oldest first. */
int db_locate_of_incident(struct db *db, int64_t incident_id,
			  int (*fn)(const struct db_locate *l, void *arg), void *arg);

/* Where a tablet's Lost Mode stands, from what it reported and the
 * commands queued or acknowledged. */
enum db_lost_mode {
	DB_LOST_MODE_OFF,    /* never asked, or ended */
	DB_LOST_MODE_ON,     /* reported on, acknowledged or pending, no end asked */
	DB_LOST_MODE_ENDING, /* a DisableLostMode is pending */
};
int db_locate_lost_mode(struct db *db, int64_t device_id, enum db_lost_mode *ret);

/* The collège's name (for the Lost Mode message). */
int db_locate_school_name(struct db *db, const char *uai, char *out, size_t cap);

#endif
