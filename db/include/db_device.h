/*
 * db_device.h - the tablets as the fleet sees them: inventory import,
 * lists with filters, moves, and the one table of state transitions; the
 * record of a `device` row (struct db_device).
 *
 * The MDM side of a device (identity, push, command queue) is db_mdm.h /
 * db_command.h; both work on the same `device` rows.
 */
#ifndef DB_DEVICE_H
#define DB_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum db_device_state {
	DB_DEV_STOCK,
	DB_DEV_LOANED,
	DB_DEV_RETURNING, /* handed back, EraseDevice not yet acknowledged */
	DB_DEV_REPAIR,
	DB_DEV_LOST,
	DB_DEV_STOLEN,
	DB_DEV_RETIRED,
	DB_DEV_NSTATES
};

#define DB_SERIAL_MAX	 32
#define DB_UDID_MAX	 64
#define DB_MODEL_MAX	 64
#define DB_ASSET_TAG_MAX 64
#define DB_EXT_ID_MAX	 64 /* person external id */

/* A row of the table device: the fleet's view (db_device_get, _list) and
 * the MDM side (db_mdm_by_*) read it with two column sets, named at each
 * reader; a field its reader does not name is zero ("" for text).  Not in
 * it: the sealed secrets (db_mdm_secret), and the columns written from
 * check-ins and command results that nothing reads back yet
 * (build_version, wifi_mac, battery, capacity_gb, available_gb,
 * lost_mode, passcode_present, awaiting_config, enrolled_at, inventory_at,
 * updated_at). */
struct db_device {
	int64_t id;
	char serial[65];	    /* "" when not known yet; an import takes up to
				       DB_SERIAL_MAX, a check-in may bring more */
	char udid[DB_UDID_MAX + 1]; /* "" until enrolled */
	char school[9];		    /* "" when not assigned */
	enum db_device_state state;
	char model[DB_MODEL_MAX + 1];	       /* as the tablet reports it */
	char model_declared[DB_MODEL_MAX + 1]; /* as typed at import ("" when none) */
	char asset_tag[DB_ASSET_TAG_MAX + 1];
	char os_version[33];
	char product_name[65];
	char device_name[129];
	char enrollment[16]; /* none, pending, enrolled, unenrolled */
	char cert_fp[65];    /* "" when unbound */
	char topic[256];
	char push_magic[128];
	unsigned char push_token[256];
	size_t push_token_len;
	char push_state[128]; /* "", "invalid: <reason>" */
	int has_unlock_token; /* unlock_token IS NOT NULL */
	int supervised;	      /* -1 unknown */
	int64_t last_seen;    /* 0: never */
	int64_t last_push;    /* 0: never */
	int64_t created_at;
	char trust_id[17]; /* trust anchors the identity was last checked under */
	/* not columns: joined from the loan in progress (open or returning);
	 * "" when none */
	char holder[DB_EXT_ID_MAX + 1]; /* the person's external id */
	char holder_name[129];		/* their name (DB_PERSON_NAME_MAX) */
	char holder_class[33];		/* their class (DB_PERSON_CLASS_MAX), "" for none */
};

const char *db_device_state_name(enum db_device_state s);
int db_device_state_from_name(const char *name, enum db_device_state *ret);
/* 1 when the transition table allows from -> to. */
int db_device_can(enum db_device_state from, enum db_device_state to);
/* Changes the state of device id from `from` to `to`: AP_ECONFLICT when the
 * table forbids it or the device is not in `from` any more. */
int db_device_set_state(struct db *db, int64_t id, enum db_device_state from,
			enum db_device_state to);

/* Orders OS versions numerically by dotted component ("17.4.1" < "17.10");
 * missing components count as 0.  <0, 0, >0 like strcmp. */
int db_device_vercmp(const char *a, const char *b);

/* One inventory row.  A new serial is added in stock (*ret_created =
 * DB_PUT_CREATED); a known serial with no collège or the same collège gets
 * the collège, and the model (as typed: model_declared, never the
 * tablet's own `model`) and asset tag when they are not empty
 * (DB_PUT_UPDATED, or DB_PUT_UNCHANGED when that changes nothing: the row
 * is not written).  AP_ECONFLICT when the serial is already assigned to
 * another collège (moves are explicit). */
int db_device_import(struct db *db, const char *serial, const char *model, const char *school,
		     const char *asset_tag, int *ret_created);

/* The fleet's view of a device: id, serial, udid, school, state, model,
 * model_declared, asset_tag, os_version, product_name, device_name, enrollment, last_seen,
 * created_at and holder, holder_name, holder_class (the other fields
 * zero).  By serial, or by UDID;
 * AP_ENOTFOUND when neither matches. */
int db_device_get(struct db *db, const char *serial_or_udid, struct db_device *ret);
int db_device_get_id(struct db *db, int64_t id, struct db_device *ret);
/* Calls fn with the serial (or UDID when it has none) and collège of each
 * tablet whose asset tag is tag (case aside), in id order, at most max of
 * them; fn returning non-zero stops. */
int db_device_by_tag(struct db *db, const char *tag, size_t max,
		     int (*fn)(const char *name, const char *school, void *arg), void *arg);

/* What a tablet last reported of itself (DeviceInformation, SecurityInfo),
 * for its page: the columns struct db_device leaves out. */
struct db_device_inventory {
	double battery;				     /* 0 to 1; < 0: never reported */
	double capacity_gb, available_gb;	     /* < 0: never reported */
	int supervised, lost_mode, passcode_present; /* 1 / 0; -1: never reported */
	char build_version[33];			     /* "" when unknown */
	int64_t enrolled_at, inventory_at;	     /* 0: never */
};
/* AP_ENOTFOUND when no device has that id. */
int db_device_inventory(struct db *db, int64_t id, struct db_device_inventory *ret);

struct db_device_filter {
	const char *const *only; /* collèges (normalised UAIs), NULL = all */
	size_t n_only;
	int state;		/* an enum db_device_state, or -1 for any */
	int64_t not_seen_since; /* >0: never seen or last seen before this time */
	const char *os_below;	/* non-NULL: known OS version below this one */
	int64_t after_id;	/* page: devices with a larger id */
	size_t limit;		/* page size, >= 1 */
	/* NULL for none: the holder's class (ASCII letters in any case), and
	 * a text found anywhere in the serial, the asset tag, or the holder's
	 * name or external id, at most DB_DEVICE_Q_MAX bytes, compared with
	 * case and the accents of Latin letters ignored (every character is
	 * plain: no wildcard) */
	const char *class_name;
	const char *q;
};

#define DB_DEVICE_Q_MAX 128

/* Calls fn for up to f->limit matching devices (the fields of
 * db_device_get) in id order (pointers valid during the call only); fn
 * returning non-zero stops.  *ret_next is the id to pass as after_id for
 * the next page, 0 when there is none.  AP_EINVAL when f->q is longer
 * than DB_DEVICE_Q_MAX. */
int db_device_list(struct db *db, const struct db_device_filter *f,
		   int (*fn)(const struct db_device *d, void *arg), void *arg, int64_t *ret_next);

/* Reassigns an unloaned device to another collège: AP_ECONFLICT when a
 * loan is in progress or the device is retired. */
int db_device_move(struct db *db, int64_t id, const char *school);

#endif
