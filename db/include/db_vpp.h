/*
 * db_vpp.h - Apps and Books (issue 16; docs/apple-services.md §3; schema
 * step 21): the content tokens (one per location: the fleet, or one
 * collège; the sToken stored sealed by the caller with
 * keystore_seal(KEYSTORE_VPP_TOKEN), owner the scope: this module stores
 * and returns the blob only), the assets of each token with Apple's counts,
 * the device licences Ardoise knows (associated, or an event in flight),
 * the events in flight, the apps short of licences per collège, and the
 * runs' state.  Times are Unix seconds, 0 when none.
 */
#ifndef DB_VPP_H
#define DB_VPP_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_VPP_TEXT  255
#define DB_VPP_SCOPE 48 /* "fleet" or "school:" + a UAI */

struct db_vpp_token {
	int64_t id;
	char scope[DB_VPP_SCOPE + 1];
	char school[32];       /* "" for the fleet token */
	unsigned char *stoken; /* sealed, malloc'd (db_vpp_token_clear); NULL in lists */
	size_t stoken_len;
	char org[DB_VPP_TEXT + 1];
	char location[DB_VPP_TEXT + 1];
	char uid[DB_VPP_TEXT + 1];
	int64_t expires;
	char imported_by[65];
	int64_t imported_at, synced_at, error_at;
	char error[DB_VPP_TEXT + 1];
	int stopped; /* 9621/9625: not used until replaced */
};

/* Stores a new token (its blob borrowed; id ignored) and its id into
 * *ret_id.  AP_EEXIST when the scope has one already (or is not one), AP_EDB. */
int db_vpp_token_add(struct db *db, const struct db_vpp_token *t, int64_t *ret_id);
/* Token id with its sealed sToken into *ret (db_vpp_token_clear).
 * AP_ENOTFOUND. */
int db_vpp_token_get(struct db *db, int64_t id, struct db_vpp_token *ret);
/* Every token in id order, without the sToken (stoken NULL): *ret
 * malloc'd (free()), *ret_n of them. */
int db_vpp_token_list(struct db *db, struct db_vpp_token **ret, size_t *ret_n);
/* Frees t's blob. */
void db_vpp_token_clear(struct db_vpp_token *t);
/* Removes token id and everything it holds.  AP_ENOTFOUND. */
int db_vpp_token_remove(struct db *db, int64_t id);
/* What a run learnt of token id: its location and uId ("" keeps them),
 * its last error ("" clears it), stopped (-1 keeps it), synced (0 keeps
 * the time). */
int db_vpp_token_note(struct db *db, int64_t id, const char *location, const char *uid,
		      const char *error, int stopped, int64_t synced);

/* An asset of a token, Apple's counts at synced_at. */
struct db_vpp_asset {
	int64_t token_id;
	char adam_id[20];
	char pricing[8];
	char product[8];
	int64_t total, assigned, available;
	int device_assignable;
	int64_t synced_at;
};

/* Replaces the assets of token_id with a[0..n) (one transaction). */
int db_vpp_assets_replace(struct db *db, int64_t token_id, const struct db_vpp_asset *a, size_t n);
/* Calls fn for each asset of token_id (0: every token), by token then
 * adamId; fn returns non-zero to stop. */
int db_vpp_asset_each(struct db *db, int64_t token_id,
		      int (*fn)(const struct db_vpp_asset *a, void *arg), void *arg);

/* A licence Ardoise knows. */
struct db_vpp_licence {
	int64_t token_id;
	char serial[32];
	char adam_id[20];
	char pricing[8];
	char state[16]; /* associated, associating, disassociating */
	char event_id[DB_VPP_TEXT + 1];
	int64_t since;
};

/* Inserts or replaces l (key: token, serial, adamId). */
int db_vpp_licence_set(struct db *db, const struct db_vpp_licence *l);
/* Forgets a licence (0 when there was none). */
int db_vpp_licence_drop(struct db *db, int64_t token_id, const char *serial, const char *adam_id);
/* Calls fn for each licence of token_id (0: every token), by token,
 * adamId, serial. */
int db_vpp_licence_each(struct db *db, int64_t token_id,
			int (*fn)(const struct db_vpp_licence *l, void *arg), void *arg);
/* Calls fn(device_id, adam_id) for each licence held (associated) by an
 * enrolled tablet, or by tablet device_id only when not 0. */
int db_vpp_held_each(struct db *db, int64_t device_id,
		     int (*fn)(int64_t device_id, const char *adam_id, void *arg), void *arg);
/* 1 when an association for tablet device_id is in flight, else 0; or the
 * error. */
int db_vpp_waiting(struct db *db, int64_t device_id);

/* The token that covers a tablet of collège school (NULL or "": none):
 * the collège's, else the fleet's: its id into *ret_id, 0 when none. */
int db_vpp_token_for(struct db *db, const char *school, int64_t *ret_id);
/* Calls fn for each tablet that may hold a licence: in the inventory with
 * a serial and not retired, enrolled or not (Apple's licences are by
 * serial: a collège's tablets get theirs together); in id order. */
int db_vpp_tablet_each(struct db *db,
		       int (*fn)(int64_t id, const char *serial, const char *school, void *arg),
		       void *arg);

/* An event in flight. */
int db_vpp_event_add(struct db *db, const char *event_id, int64_t token_id, const char *kind,
		     const char *adam_id, int64_t serials);
int db_vpp_event_drop(struct db *db, const char *event_id);

/* An app short of licences in a collège. */
struct db_vpp_short {
	int64_t token_id;
	char school[32]; /* "" for tablets in no collège */
	char adam_id[20];
	int64_t wanted, available, at;
};

/* Replaces every shortage with s[0..n). */
int db_vpp_short_replace(struct db *db, const struct db_vpp_short *s, size_t n);
/* Calls fn for each shortage, of collège school only when not NULL. */
int db_vpp_short_each(struct db *db, const char *school,
		      int (*fn)(const struct db_vpp_short *s, void *arg), void *arg);
/* 1 when tablet device_id's collège is short of adam_id, else 0. */
int db_vpp_short_for(struct db *db, int64_t device_id, const char *adam_id);

/* The runs' state. */
struct db_vpp_run {
	int64_t run_at, ok_at;
	int64_t associated, disassociated, ms;
	int64_t error_at;
	char error[DB_VPP_TEXT + 1];
	int64_t runs; /* read only: how many runs were recorded */
};
/* Records a run that ended (error "" when it went well). */
int db_vpp_run_put(struct db *db, const struct db_vpp_run *r);
/* *ret zeroed when there was no run. */
int db_vpp_run_get(struct db *db, struct db_vpp_run *ret);

#endif
