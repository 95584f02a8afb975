/*
 * sim_state.h - the simulator's state file (SQLite): every simulated
 * device with its identity, UDID, serial, installed profiles and apps,
 * passcode, supervision, lost mode, location and "locked" flag, its DDM
 * state and declarations, where a device that came through ADE enrols
 * again (schema version 3; a version 1 or 2 file is migrated when
 * opened), and a pool
 * of private keys shared by the devices' identities, so that runs can be
 * split (enrol today, connect tomorrow) and 100,000 devices do not need
 * 100,000 RSA key generations.
 *
 * The file holds private keys and UnlockTokens of test devices: it is
 * created 0600.  Functions return 0 or a negative AP_E* code and write
 * their ret* outputs only on success; err (may be NULL) receives a
 * one-line reason.  A struct sim_state is used by one thread.
 */
#ifndef SIM_STATE_H
#define SIM_STATE_H

#include "sim_device.h"

#include <openssl/evp.h>

#include <stddef.h>

struct sim_state;

/* Opens or creates the file (WAL, synchronous=NORMAL) and its schema. */
int sim_state_open(const char *path, struct sim_state **ret, char *err, size_t cap);
/* NULL ok. */
void sim_state_close(struct sim_state *st);

int sim_state_begin(struct sim_state *st);
int sim_state_commit(struct sim_state *st);
void sim_state_rollback(struct sim_state *st);

/* Key pools: "rsa" (2048 bits, what the enrolment profile asks for) and
 * "ec" (P-256, cheaper to sign with when the simulator itself is the
 * bottleneck).  The pool owns one reference on each key. */
enum sim_key_kind { SIM_KEY_RSA, SIM_KEY_EC, SIM_KEY__COUNT };
struct sim_pool {
	EVP_PKEY **keys[SIM_KEY__COUNT];
	size_t n[SIM_KEY__COUNT];
};
const char *sim_key_kind_name(enum sim_key_kind k);
int sim_key_kind_from_name(const char *s, enum sim_key_kind *ret);
/* The kind of a key (RSA or not). */
enum sim_key_kind sim_key_kind_of(EVP_PKEY *key);

/* Loads the keys of every kind into pool (zeroed by the caller), then
 * generates (on every core) and stores keys of `kind` until it has at least
 * `want` of them (want 0: load only).  announce (may be NULL) is called
 * once with the number of keys about to be generated, when there are some. */
int sim_state_pool(struct sim_state *st, struct sim_pool *pool, enum sim_key_kind kind, size_t want,
		   void (*announce)(size_t total));
void sim_pool_clear(struct sim_pool *pool);
/* Borrowed; NULL when the slot does not exist. */
EVP_PKEY *sim_pool_key(const struct sim_pool *pool, enum sim_key_kind kind, int slot);

/* Which devices to load. */
enum sim_filter {
	SIM_ALL,
	SIM_ENROLLED,	/* enrolled and not erased: they can run sessions */
	SIM_ERASED,	/* wiped: they must enrol again (with a code) */
	SIM_ERASED_ADE, /* wiped, came through ADE: they enrol again through ADE */
};

/* Loads the devices of filter in id order (limit 0: all) with their lists;
 * identities take a reference on their pool key (a device whose key is not
 * in the pool loads without identity).  *ret is a malloc'd array of *ret_n
 * devices; free with sim_state_free_devices(). */
int sim_state_load(struct sim_state *st, const struct sim_pool *pool, enum sim_filter filter,
		   size_t limit, struct sim_device ***ret, size_t *ret_n);
void sim_state_free_devices(struct sim_device **devs, size_t n);
/* One device by UDID (AP_ENOTFOUND). */
int sim_state_load_one(struct sim_state *st, const struct sim_pool *pool, const char *udid,
		       struct sim_device **ret);

/* Inserts (d->id 0: sets it) or updates the device and replaces its lists;
 * clears d->dirty.  AP_EEXIST when a new device's UDID or serial is taken. */
int sim_state_save(struct sim_state *st, struct sim_device *d);
/* Saves every device of the array that is dirty or new, in one transaction. */
int sim_state_save_all(struct sim_state *st, struct sim_device **devs, size_t n);

/* Sets the NotNow flag of a device; AP_ENOTFOUND for an unknown UDID. */
int sim_state_set_locked(struct sim_state *st, const char *udid, int locked);

/* Sets (reason) or clears (NULL) the update-fail rule of a device: its
 * next software update install fails with that reason.  AP_ENOTFOUND for
 * an unknown UDID. */
int sim_state_set_update_fail(struct sim_state *st, const char *udid, const char *reason);

/* Number of devices in filter. */
int sim_state_count(struct sim_state *st, enum sim_filter filter, size_t *ret);

#endif
