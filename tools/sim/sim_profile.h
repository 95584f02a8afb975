/*
 * sim_profile.h - reading configuration profiles as an iPad does: the
 * enrolment profile served at /mdm/enroll and the Payload of an
 * InstallProfile command.  No I/O.
 *
 * A profile is either XML plist bytes or a CMS SignedData (DER) with the
 * plist attached; sim_profile_open() accepts both.  Every function returns
 * 0 or a negative AP_E* code and writes its ret* outputs only on success.
 */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <openssl/x509.h>
#include <plist/plist.h>

#include <stddef.h>

#define SIM_PROFILE_MAX_BYTES (4u * 1024 * 1024)

/*
 * Parses profile bytes into the top-level dictionary (*ret, caller frees
 * with plist_free()).  Signed profiles: the signature must verify with the
 * signer certificate carried in the message (AP_EBADSIG otherwise); when
 * trust is not NULL the signer must also chain to it (AP_EBADSIG).  *ret_signed
 * (may be NULL) tells whether the bytes were signed.  Errors: AP_ETOOBIG past
 * SIM_PROFILE_MAX_BYTES, AP_EPARSE for bytes that are neither a plist nor a
 * CMS message, those of ap_plist_parse(), AP_ETYPE when the top level is not
 * a dictionary.
 */
int sim_profile_open(const void *data, size_t len, X509_STORE *trust, plist_t *ret,
		     int *ret_signed);

/* What an installed profile is listed with (ProfileList): PayloadIdentifier
 * and PayloadUUID are required (AP_EMISSING), PayloadDisplayName optional
 * ("" when absent).  PayloadType must be "Configuration" (AP_EINVAL).
 * Strings are malloc'd (caller frees). */
struct sim_profile_id {
	char *identifier, *uuid, *name;
};
int sim_profile_id(plist_t profile, struct sim_profile_id *ret);
void sim_profile_id_clear(struct sim_profile_id *p);

/* What the simulator needs from an enrolment profile.  Strings are
 * NUL-terminated copies, truncated to nothing: a value that does not fit
 * is AP_ETOOBIG. */
struct sim_enroll_info {
	char identifier[256], uuid[64], name[128]; /* the profile itself */
	char scep_url[512];
	char challenge[128];
	char subject_cn[128]; /* CN of the SCEP Subject, "" when none */
	int key_size;	      /* SCEP Keysize (bits) */
	char checkin_url[512];
	char server_url[512];
	char topic[256];
	int sign_message; /* com.apple.mdm SignMessage */
};

/* Reads the com.apple.security.scep and com.apple.mdm payloads of an
 * enrolment profile (AP_EMISSING when either is absent, or a required key
 * of them: URL, Challenge, ServerURL, Topic; CheckInURL defaults to
 * ServerURL). */
int sim_profile_enroll_info(plist_t profile, struct sim_enroll_info *ret);

/* The path of an https URL ("/mdm/checkin" of "https://h:1/mdm/checkin"),
 * "/" when it has none; NULL when url does not start with https://.
 * Points into url. */
const char *sim_url_path(const char *url);

#endif
