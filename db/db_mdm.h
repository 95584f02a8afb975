/*
 * db_mdm.h - the MDM side of a tablet's record: identity binding,
 * check-in state, push credentials, inventory from command results, and
 * one-time enrolment codes.
 */
#ifndef DB_MDM_H
#define DB_MDM_H

#include <stddef.h>
#include <stdint.h>

#include "ap_result.h"

struct db;

struct db_mdm_device {
	int64_t id;
	char udid[65];
	char serial[65];
	char school[9];       /* "" when not assigned */
	char state[16];
	char enrollment[16];  /* none, pending, enrolled, unenrolled */
	char cert_fp[65];     /* "" when unbound */
	char topic[256];
	char push_magic[128];
	unsigned char push_token[256];
	size_t push_token_len;
	char push_state[128];
	char os_version[32];
	int has_unlock_token;
	int supervised; /* -1 unknown */
	int64_t last_seen, last_push;
};

/* Device facts from Authenticate. */
struct db_mdm_auth {
	const char *udid, *serial, *topic, *os_version, *build_version, *product_name, *cert_fp;
};

/* Authenticate: finds the device by UDID, else by serial (an imported
 * tablet gets its UDID), else creates it (stock, no collège); binds
 * cert_fp and marks it pending.  A device currently enrolled with another
 * certificate -> AP_EBADSIG (nothing changed).  *ret_id the device. */
int db_mdm_authenticate(struct db *db, const struct db_mdm_auth *a, int64_t *ret_id);
/* TokenUpdate on a bound device: stores push credentials and the sealed
 * UnlockToken (NULL keeps the old one); enrolled.  *ret_first = 1 when it
 * was not enrolled before. */
int db_mdm_token_update(struct db *db, int64_t id, const unsigned char *token, size_t token_len,
			const char *push_magic, const char *topic, const unsigned char *sealed_unlock,
			size_t sealed_len, int awaiting_config, int *ret_first);
/* CheckOut (or an acknowledged erase): unenrolled, push credentials dropped. */
int db_mdm_unenroll(struct db *db, int64_t id);
int db_mdm_by_udid(struct db *db, const char *udid, struct db_mdm_device *ret);
int db_mdm_by_serial(struct db *db, const char *serial, struct db_mdm_device *ret);
int db_mdm_by_id(struct db *db, int64_t id, struct db_mdm_device *ret);
/* Calls fn for each enrolled device of school (NULL: the whole fleet),
 * in id order; fn returning non-zero stops. */
int db_mdm_each_enrolled(struct db *db, const char *school,
			 int (*fn)(int64_t device_id, void *arg), void *arg);
/* Records that the device talked to us now. */
int db_mdm_seen(struct db *db, int64_t id);
/* The sealed UnlockToken / bypass code (malloc'd); AP_ENOTFOUND when none. */
int db_mdm_secret(struct db *db, int64_t id, int bypass, unsigned char **ret, size_t *ret_len);
int db_mdm_set_bypass(struct db *db, int64_t id, const unsigned char *sealed, size_t len);

/* Inventory updates from command results. */
int db_mdm_set_device_info(struct db *db, int64_t id, const struct ap_device_info *di);
int db_mdm_set_security(struct db *db, int64_t id, const struct ap_security_info *si);
int db_mdm_set_apps(struct db *db, int64_t id, const struct ap_app *apps, size_t n);
int db_mdm_set_profiles(struct db *db, int64_t id, const struct ap_profile_info *p, size_t n);
int db_mdm_set_push_state(struct db *db, int64_t id, const char *state);

/* One-time enrolment codes (stored as SHA-256). */
/* A new code good for max_uses enrolments (1..100000) within ttl. */
int db_enroll_code_new(struct db *db, const char *school, const char *created_by,
		       int64_t ttl_seconds, int64_t max_uses, char ret_code[33]);
/* Uses a code once: AP_EAUTH when unknown, used up or expired. */
int db_enroll_code_use(struct db *db, const char *code, const char *used_by);
/* Checks a code without consuming it. */
int db_enroll_code_check(struct db *db, const char *code);

#endif
