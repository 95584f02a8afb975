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
#include "db_device.h"

struct db;

/* Device facts from Authenticate. */
struct db_mdm_auth {
	const char *udid, *serial, *topic, *os_version, *build_version, *product_name, *cert_fp;
	const char *trust_id; /* keystore_device_trust_id() the chain was checked under */
};

/* How an Authenticate's certificate relates to the UDID it names.  A
 * certificate binds to one UDID for ever; a UDID has one live certificate. */
enum db_mdm_bind {
	DB_MDM_BIND_SAME,     /* the certificate already bound to this UDID */
	DB_MDM_BIND_NEW,      /* bound now: a new UDID, or one with no live binding
			       * (never bound, released, checked out, erased) */
	DB_MDM_BIND_REPLACED, /* a certificate from Ardoise's SCEP issued after the
			       * live binding replaced it (the old one is ended) */
	/* refusals, from here on: nothing was changed */
	DB_MDM_BIND_CERT_ELSEWHERE, /* the certificate is bound to another UDID */
	DB_MDM_BIND_CERT_ENDED,	    /* the certificate was replaced or released */
	DB_MDM_BIND_UDID_TAKEN,	    /* the UDID is bound to another certificate, and
				     * this one is not a newer one from Ardoise's SCEP */
	DB_MDM_BIND_SERIAL_TAKEN,   /* the serial belongs to another UDID */
	DB_MDM_BIND_SERIAL_DIFFERS, /* the UDID is recorded with another serial */
};
#define DB_MDM_BIND_REFUSED DB_MDM_BIND_CERT_ELSEWHERE

struct db_mdm_bound {
	enum db_mdm_bind how;
	int64_t id;	 /* the device (0 when refused before one was found) */
	char old_fp[65]; /* the certificate bound before ("" when none) */
};

/* Authenticate: finds the device by UDID, else by serial (an imported
 * tablet gets its UDID), else creates it (stock, no collège); binds
 * cert_fp and marks it pending, unless ret->how is a refusal (then
 * nothing changed).  Storage errors only are negative. */
int db_mdm_authenticate(struct db *db, const struct db_mdm_auth *a, struct db_mdm_bound *ret);

/* A device identity certificate as Ardoise knows it. */
struct db_mdm_identity {
	int64_t id;	  /* a larger id is a newer certificate */
	char udid[65];	  /* the one UDID it is bound to; "" until then */
	int issued;	  /* issued by Ardoise's SCEP (db_mdm_identity_issued) */
	int ended;	  /* replaced or released: refused */
	int64_t bind_seq; /* the newest id when it was bound */
};
/* The row of the certificate whose SHA-256 is fp; AP_ENOTFOUND. */
int db_mdm_identity_get(struct db *db, const char *fp, struct db_mdm_identity *ret);
/* Records a certificate SCEP issued, with the enrolment code (stored as
 * its hash) and the SCEP transactionID that paid for it. */
int db_mdm_identity_issued(struct db *db, const char *fp, const char *code, const char *scep_tx);
/* Staff release: the device's certificate is ended and unbound, the device
 * unenrolled (push credentials dropped): its next enrolment binds afresh.
 * AP_ECONFLICT when no certificate is bound. */
int db_mdm_release(struct db *db, int64_t id);
/* TokenUpdate on a bound device: stores push credentials and the sealed
 * UnlockToken (NULL keeps the old one); enrolled.  *ret_first = 1 when it
 * was not enrolled before. */
int db_mdm_token_update(struct db *db, int64_t id, const unsigned char *token, size_t token_len,
			const char *push_magic, const char *topic,
			const unsigned char *sealed_unlock, size_t sealed_len, int awaiting_config,
			int *ret_first);
/* CheckOut (or an acknowledged erase): unenrolled, push credentials dropped. */
int db_mdm_unenroll(struct db *db, int64_t id);
/* Records that the bound identity chains to the anchors trust_id. */
int db_mdm_set_trust(struct db *db, int64_t id, const char *trust_id);
/* The MDM side of a device: id, udid, serial, school, state, enrollment,
 * cert_fp, topic, push_magic, push_token, push_state, os_version,
 * has_unlock_token, supervised, last_seen, last_push and trust_id (the
 * other fields zero).  AP_ENOTFOUND. */
int db_mdm_by_udid(struct db *db, const char *udid, struct db_device *ret);
int db_mdm_by_serial(struct db *db, const char *serial, struct db_device *ret);
int db_mdm_by_id(struct db *db, int64_t id, struct db_device *ret);
/* Calls fn for each enrolled device of school (NULL: the whole fleet),
 * in id order; fn returning non-zero stops. */
int db_mdm_each_enrolled(struct db *db, const char *school, int (*fn)(int64_t device_id, void *arg),
			 void *arg);
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

/* Push results (written by the push thread).  Records that a push of the
 * device ended at `at` (last_push); state (NULL: unchanged), e.g.
 * "invalid: Unregistered", is set only while the device still has `token`:
 * a TokenUpdate that came in meanwhile wins. */
int db_mdm_push_result(struct db *db, int64_t id, int64_t at, const unsigned char *token,
		       size_t token_len, const char *state);

/* When an enrolled device with a usable push token (push_state '') and
 * pending, unexpired commands needs a push again (all times in seconds):
 *   - no push ended since its newest pending command was queued, and that
 *     was more than grace_s ago (a notification dropped, a restart);
 *   - it has not been seen since the last push, and last_push + interval
 *     has passed, where interval = last_push - max(last_seen, oldest pending
 *     command), at least min_s and at most max_s: the gaps double from
 *     min_s, so a silent device gets a bounded number of pushes a day
 *     (with min 15 min, max 6 h: at most 9 the first day, 4 a day after);
 *   - it was seen since the last push, that contact ended more than grace_s
 *     ago, yet a command queued before it was never sent (it was queued in
 *     a transaction that committed after the device's session, e.g. a long
 *     bulk: the push woke the device before the commit). */
struct db_repush {
	int64_t now, grace_s, min_s, max_s;
};
/* Calls fn with each such device id (lowest first, at most limit); the ids
 * are read first, so fn may use the database.  fn returning non-zero stops. */
int db_mdm_push_due(struct db *db, const struct db_repush *p, int64_t limit,
		    int (*fn)(int64_t device_id, void *arg), void *arg);
/* Devices whose push token APNs refused (push_state "invalid: ..."):
 * *ret_count of them, and fn for the first `limit` by serial. */
int db_mdm_push_invalid(struct db *db, int64_t limit,
			int (*fn)(const char *serial, const char *state, int64_t last_push,
				  void *arg),
			void *arg, int64_t *ret_count);

/* One-time enrolment codes (stored as SHA-256). */
/* A new code good for max_uses enrolments (1..100000) within ttl. */
int db_enroll_code_new(struct db *db, const char *school, const char *created_by,
		       int64_t ttl_seconds, int64_t max_uses, char ret_code[33]);
/* A one-use code bound to the tablet of that serial (Return to Service):
 * identities issued with it enrol only a tablet that Authenticates with
 * that serial (db_enroll_cert_serial). */
int db_enroll_code_for_serial(struct db *db, const char *school, const char *serial,
			      const char *created_by, int64_t ttl_seconds, char ret_code[33]);
/* Uses a code once: AP_EAUTH when unknown, used up or expired.  A code
 * bound to a serial is only checked here: it is used up when its tablet
 * Authenticates (db_enroll_cert_used), so that another device trying it
 * does not burn it. */
int db_enroll_code_use(struct db *db, const char *code, const char *used_by);
/* Records that the identity cert_fp was issued with code, when the code is
 * bound to a serial (nothing otherwise). */
int db_enroll_code_cert(struct db *db, const char *code, const char *cert_fp);
/* The serial the identity cert_fp may enrol (ret_serial); AP_ENOTFOUND
 * when it was not issued with a bound code. */
int db_enroll_cert_serial(struct db *db, const char *cert_fp, char ret_serial[65]);
/* The tablet of the identity cert_fp has enrolled: its bound code is used
 * up (no more identities from it). */
int db_enroll_cert_used(struct db *db, const char *cert_fp);
/* Checks a code without consuming it. */
int db_enroll_code_check(struct db *db, const char *code);

#endif
