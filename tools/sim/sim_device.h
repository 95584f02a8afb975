/*
 * sim_device.h - one simulated iPad, without I/O: its identity and state
 * and the check-in messages it sends; how it answers each MDM command is
 * sim_cmd.h, above it.
 *
 * The model is a supervised iPad (10th generation, Wi-Fi, "iPad13,18") on
 * iPadOS 17.5 in a collège fleet; the product type and the version can be
 * set (sim_device_set_os()).  sim_cmd_answer() executes every
 * command type of agent-protocol's table (ap_cmd.h) and changes the state
 * the way the tablet would: installed profiles and apps, passcode, lost
 * mode, erase.  Every message produced passes tools/mdm-schema-check.
 *
 * Ownership: a struct sim_device owns everything it points to (strings,
 * lists, the certificate bytes) and one reference on its key; free it with
 * sim_device_free().  Functions return 0 or a negative AP_E* code and write
 * their ret* outputs only on success.  A device is used by one thread at a
 * time.
 */
#ifndef SIM_DEVICE_H
#define SIM_DEVICE_H

#include "ap_cmd.h"
#include "ap_msg.h"
#include "sim_ddm_state.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_PROFILES 64  /* InstallProfile beyond this: Error */
#define SIM_MAX_APPS	 256 /* InstallApplication beyond this: Error */
#define SIM_TOKEN_LEN	 32  /* push token and UnlockToken, bytes */

#define SIM_MODEL	  "iPad13,18"
#define SIM_OS_VERSION	  "17.5"
#define SIM_BUILD_VERSION "21F79"

struct sim_profile {
	char *identifier, *uuid, *name; /* malloc'd, never NULL */
	int managed;			/* installed by MDM (0: the enrolment profile) */
};

struct sim_ade;

struct sim_app {
	char *identifier, *name, *version, *short_version; /* malloc'd, never NULL */
	int managed;
};

struct sim_device {
	int64_t id; /* row in the state file, 0 until saved */
	char udid[41];
	char serial[16];
	char model[24];
	char os_version[16];
	char build_version[16];
	char device_name[64];
	char time_zone[64];
	char organization[128]; /* from Settings OrganizationInfo, "" when none */

	/* identity (SCEP): NULL/0 until enrolled and after an erase */
	EVP_PKEY *key; /* one reference, shared with the key pool */
	int key_slot;  /* its slot in the state file's key pool */
	unsigned char *cert_der;
	size_t cert_len;
	X509 *cert; /* parsed from cert_der on first use (sim_device_cert()) */

	/* MDM enrolment, from the profile */
	char topic[256];
	char checkin_path[256]; /* "/mdm/checkin" */
	char server_path[256];	/* "/mdm/connect" */
	unsigned char push_token[SIM_TOKEN_LEN];
	char push_magic[37];
	unsigned char unlock_token[SIM_TOKEN_LEN];
	int enrolled;	     /* TokenUpdate accepted, not checked out nor erased */
	struct sim_ade *ade; /* came through ADE (sim_ade.h; owned), NULL otherwise */
	int erased;	     /* wiped by EraseDevice: must enrol again */

	/* what MDM can see and change */
	struct sim_profile *profiles;
	size_t n_profiles;
	struct sim_app *apps;
	size_t n_apps;
	int passcode_present;
	int supervised;
	int lost_mode;
	int awaiting_configuration;
	int locked; /* data-protection locked: NotNow for most commands */
	double latitude, longitude;

	/* declarative device management (sim_ddm.h); the update-fail rule:
	 * the next install fails with this reason */
	struct sim_ddm ddm;
	int update_fail_on;
	char update_fail[200];

	/* not saved: TLS session for resumption (owned), per-command outcome */
	SSL_SESSION *tls_session;
	int dirty;	 /* state changed since load or save */
	int end_session; /* the last command ends the session (restart, shutdown, erase) */
	enum ap_status last_status;
	enum ap_cmd_type last_type; /* valid unless last_status is CommandFormatError */
};

/* A factory-fresh tablet: random UDID, serial and location near Marseille,
 * stock apps (Keynote, Pages, Numbers, iMovie, GarageBand), a passcode,
 * supervised, not enrolled. */
int sim_device_new(struct sim_device **ret);
/* NULL ok. */
void sim_device_free(struct sim_device *d);

/* Sets the product type (NULL: keep) and the OS version (NULL: keep; its
 * build version follows, sim_ddm_build_of()).  AP_EINVAL for a product
 * that is not "iPadN,M" (N, M of 1 or 2 digits) or a version that is not
 * sim_ddm_version_ok(). */
int sim_device_set_os(struct sim_device *d, const char *product, const char *version);
/* 1 when s is such a product type. */
int sim_device_product_ok(const char *s);

/* Takes a new reference on key and a copy of the DER certificate. */
int sim_device_set_identity(struct sim_device *d, EVP_PKEY *key, int key_slot,
			    const unsigned char *cert_der, size_t cert_len);
/* The identity certificate, parsed once and kept (OpenSSL 3.0 makes each
 * parse cost a public-key decode); borrowed.  NULL without identity. */
X509 *sim_device_cert(struct sim_device *d);
/* Forgets the identity (key reference, certificate, TLS session). */
void sim_device_drop_identity(struct sim_device *d);
/* Fresh push token, PushMagic and UnlockToken, as at each enrolment. */
void sim_device_new_tokens(struct sim_device *d);

/* Adds or replaces (same identifier) a profile / an app.  AP_ELIMIT past
 * SIM_MAX_PROFILES / SIM_MAX_APPS. */
int sim_device_put_profile(struct sim_device *d, const char *identifier, const char *uuid,
			   const char *name, int managed);
int sim_device_put_app(struct sim_device *d, const char *identifier, const char *name,
		       const char *version, const char *short_version, int managed);
/* What EraseDevice leaves: factory apps only, no profiles, no passcode,
 * out of lost mode, unenrolled and marked erased (the identity stays until
 * a new enrolment replaces it: the device no longer uses it). */
int sim_device_wipe(struct sim_device *d);
/* Empties both lists. */
void sim_device_clear_lists(struct sim_device *d);

enum sim_checkin { SIM_AUTHENTICATE, SIM_TOKEN_UPDATE, SIM_CHECKOUT };

/* Check-in message of type t (Topic = d->topic) as XML; *ret_xml is
 * malloc'd, NUL-terminated.  TokenUpdate carries Token, PushMagic and
 * UnlockToken. */
int sim_device_checkin(const struct sim_device *d, enum sim_checkin t, char **ret_xml,
		       size_t *ret_len);
/* {Status: Idle, UDID}. */
int sim_device_idle(const struct sim_device *d, char **ret_xml, size_t *ret_len);

/* Stable pseudo-random value in [0, 1) from a seed (the device's UDID) and
 * a salt, for battery level, sizes, MAC addresses, location: the same
 * device always says the same. */
double sim_device_hash01(const char *seed, const char *salt);
/* Bytes of SHA-256(seed || salt), n <= 32. */
void sim_device_hash_bytes(const char *seed, const char *salt, unsigned char *out, size_t n);

#endif
