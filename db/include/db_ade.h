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

/* What db_ade_device_put() did. */
enum db_ade_put {
	DB_ADE_UNCHANGED, /* an older event, or a deletion of a serial never seen */
	DB_ADE_NEW,	  /* a serial ASM gave for the first time */
	DB_ADE_MODIFIED,  /* a known one, updated (or back after a removal) */
	DB_ADE_REMOVED,	  /* op_type deleted: removed_at set */
};

/* One device of a fetch or sync page, in one call (the caller holds the
 * page's transaction): ade_device upserted from d (serial, model,
 * description, color, asset_tag, os, device_family, op_type, op_date,
 * assigned_at, assigned_by, profile_status, profile_uuid) with seen_at =
 * now, and the tablet put in the inventory when it is not there (a device
 * row with that serial, state stock, no collège, model_declared and
 * asset_tag from ASM); a tablet already there keeps its collège and state
 * (its empty model_declared and asset_tag take ASM's).  op_type deleted
 * sets removed_at (op_date, else now); added or a fetch (op_type "")
 * clears it.  An event older than the stored op_date changes nothing.
 * The result into *ret.  AP_EDB. */
int db_ade_device_put(struct db *db, const struct db_ade_device *d, int64_t now,
		      enum db_ade_put *ret);

/* The device sync's state (ade_sync; defaults when no run yet). */
struct db_ade_sync {
	char cursor[1001];
	char phase[8]; /* fetch, sync */
	int64_t cursor_at, run_at, ok_at;
	int64_t devices;
	int64_t error_at;
	long error_status;
	char error[512];
	int64_t next_at;
};

int db_ade_sync_get(struct db *db, struct db_ade_sync *ret);
/* Stores the cursor and the phase (cursor_at = now): call it in the
 * transaction of the page whose devices it follows. */
int db_ade_sync_cursor(struct db *db, const char *cursor, const char *phase, int64_t now);
/* Records a run's end: run_at, ok_at (kept when 0), devices, error_at,
 * error_status, error, next_at of s. */
int db_ade_sync_ran(struct db *db, const struct db_ade_sync *s);

/* An enrolment profile (ade_profile); settings is the JSON Ardoise keeps
 * (ade.h: ade_settings_check()). */
#define DB_ADE_SETTINGS_MAX 8191
struct db_ade_profile {
	int64_t id;
	char name[65];
	char school[16]; /* "" for the fleet's */
	char settings[DB_ADE_SETTINGS_MAX + 1];
	char profile_uuid[64]; /* Apple's; "" until defined (again) */
	int64_t defined_at;
	char created_by[65];
	int64_t created_at, updated_at;
	int64_t devices; /* tablets Ardoise assigned it to (db_ade_profile_list, _get) */
};

/* Adds p (id, uuid, times set here); AP_ECONFLICT when the name is taken
 * or the fleet / that collège already has one; AP_ENOTFOUND for an
 * unknown collège.  *ret_id the new id. */
int db_ade_profile_add(struct db *db, const struct db_ade_profile *p, int64_t now, int64_t *ret_id);
/* Replaces the settings and the collège of the profile named p->name; its
 * Apple definition is dropped (defined again by the next run) and its
 * tablets go back to pending.  AP_ENOTFOUND, AP_ECONFLICT. */
int db_ade_profile_update(struct db *db, const struct db_ade_profile *p, int64_t now);
/* Removes the profile name; its tablets lose it (assign state "").
 * AP_ENOTFOUND. */
int db_ade_profile_remove(struct db *db, const char *name);
int db_ade_profile_get(struct db *db, const char *name, struct db_ade_profile *ret);
/* Every profile (fleet's first, then by collège), fn(p, arg) each. */
int db_ade_profile_list(struct db *db, int (*fn)(const struct db_ade_profile *p, void *arg),
			void *arg);
/* Apple's uuid of profile id once defined at. */
int db_ade_profile_defined(struct db *db, int64_t id, const char *uuid, int64_t at);

/* A tablet to (re)assign. */
struct db_ade_todo {
	int64_t device_id;
	char serial[65];
	int64_t profile_id;
	char profile_uuid[64];
};

/* Up to max tablets (not removed) after device id `after` (in device id
 * order) whose profile is profile_id (their collège's, else the fleet's;
 * it must be defined at Apple) and whose assignment is not that profile,
 * or is pending, or failed/throttled and due (assign_after <= now); into
 * ret (max slots), their count into *ret_n.  The caller walks one profile
 * with after = the last device_id it got: each page costs its own rows. */
int db_ade_assign_todo(struct db *db, int64_t now, int64_t profile_id, int64_t after,
		       struct db_ade_todo *ret, size_t max, size_t *ret_n);
/* The assignment of serial: profile_id, state (assigned, failed,
 * throttled, pending), error ("" when none), after (0: none). */
int db_ade_assign_set(struct db *db, const char *serial, int64_t profile_id, const char *state,
		      const char *error, int64_t after);

struct db_ade_counts {
	int64_t known, removed;				    /* rows; removed: removed_at set */
	int64_t assigned, pending, failed, throttled, none; /* of those not removed */
};
int db_ade_counts(struct db *db, struct db_ade_counts *ret);

/* A page of ade_device rows by device_id (after, limit), only those of
 * school when not NULL, only the removed ones when removed, else only the
 * others; fn(d, school, profile name, arg) each. */
int db_ade_device_list(struct db *db, const char *school, int removed, int64_t after, size_t limit,
		       int (*fn)(const struct db_ade_device *d, const char *school,
				 const char *profile, void *arg),
		       void *arg, int64_t *ret_next);

#endif
