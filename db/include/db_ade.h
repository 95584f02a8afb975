/*
 * db_ade.h - Automated Device Enrolment (issue 16; docs/apple-services.md
 * §2): the server token (one row, replaced by each import; the consumer
 * secret and the access secret are stored sealed
 * (keystore_seal(KEYSTORE_ADE_TOKEN)), never in clear: this module only
 * stores and returns the blobs), the tablets Apple School Manager assigned
 * to Ardoise (ade_device, schema step 20), the enrolment profiles
 * (ade_profile) and the device sync's state (ade_sync).
 */
#ifndef DB_ADE_H
#define DB_ADE_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_ADE_FIELD_MAX 255

struct db_ade_token {
	char consumer_key[DB_ADE_FIELD_MAX + 1];
	char access_token[DB_ADE_FIELD_MAX + 1];
	unsigned char *consumer_secret; /* sealed, malloc'd (db_ade_token_clear) */
	size_t consumer_secret_len;
	unsigned char *access_secret; /* sealed, malloc'd */
	size_t access_secret_len;
	int64_t expiry;	     /* access_token_expiry, Unix seconds */
	int64_t imported_at; /* when it was imported */
	char imported_by[65];
};

/* Stores t (its blobs borrowed) in place of the token before.  AP_EDB. */
int db_ade_token_put(struct db *db, const struct db_ade_token *t);
/* The stored token into *ret (db_ade_token_clear); AP_ENOTFOUND when none. */
int db_ade_token_get(struct db *db, struct db_ade_token *ret);
/* Frees the blobs of t. */
void db_ade_token_clear(struct db_ade_token *t);

/* A tablet ASM assigned to Ardoise (ade_device); the texts as ASM gave
 * them, cut to their buffers.  Times are Unix seconds, 0 when none. */
struct db_ade_device {
	int64_t device_id;
	char serial[65];
	char model[128], description[128], color[64], asset_tag[64];
	char os[32], device_family[32], order_number[64];
	char op_type[16]; /* "", added, modified, deleted */
	int64_t op_date;
	int64_t assigned_at; /* device_assigned_date */
	char assigned_by[128];
	char profile_status[16]; /* Apple's: empty, assigned, pushed, removed */
	char profile_uuid[64];	 /* Apple's */
	int64_t profile_id;	 /* the ade_profile Ardoise assigned, 0: none */
	char assign_state[16];	 /* "", pending, assigned, failed, throttled */
	char assign_error[256];
	int64_t assign_after;
	int64_t removed_at; /* no longer assigned to Ardoise in ASM */
	int64_t seen_at, created_at;
	int64_t enrolled_at; /* last ADE enrolment accepted */
	int64_t refused_at;  /* last ADE enrolment refused, and why */
	char refusal[256];
	int64_t configured_at; /* DeviceConfigured acknowledged since enrolled_at */
};

/* The ASM row of serial into *ret (removed ones too: check removed_at);
 * AP_ENOTFOUND when ASM never gave that serial.  AP_EDB. */
int db_ade_device_get(struct db *db, const char *serial, struct db_ade_device *ret);

#endif
