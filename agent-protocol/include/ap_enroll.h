/*
 * ap_enroll.h - the enrolment profile (.mobileconfig) served at
 * /mdm/enroll: our root CA, a SCEP device identity, and the com.apple.mdm
 * payload.  Unsigned XML; the caller may sign it (ap_cms_sign()).
 */
#ifndef AP_ENROLL_H
#define AP_ENROLL_H

#include <stddef.h>

/* All pointers are borrowed for the duration of the call.  Every string
 * is required (non-NULL, non-empty, valid UTF-8 text) except organization,
 * which may be NULL. */
struct ap_enroll_params {
	const char *server_url;	     /* https://host:port/mdm/connect */
	const char *checkin_url;     /* https://host:port/mdm/checkin */
	const char *topic;	     /* com.apple.mgmt.... (push certificate UID) */
	const char *scep_url;	     /* https://host:port/scep */
	const char *scep_challenge;  /* one-time code */
	const char *scep_subject_cn; /* e.g. "Ardoise device" */
	const unsigned char *ca_der; /* root CA certificate, DER */
	size_t ca_der_len;
	const char *organization; /* PayloadOrganization, e.g. "Département des Bouches-du-Rhône" */
	const char *identifier;	  /* top PayloadIdentifier, e.g. "fr.ardoise.enroll"; the
				   * payloads use identifier + ".ca", ".scep", ".mdm" */
	const char *uuid_seed;	  /* payload UUIDs are derived from this seed
				   * (ap_uuid_from_seed()), so re-downloads are stable */
};

/*
 * Builds the profile: com.apple.security.root (the CA), com.apple.security.scep
 * (RSA, Keysize 2048, Key Usage 5, KeyIsExtractable false, Challenge, URL,
 * Subject [[["CN", cn]]]), com.apple.mdm (IdentityCertificateUUID = the SCEP
 * payload's UUID, Topic, ServerURL, CheckInURL, SignMessage true,
 * AccessRights 8191, CheckOutWhenRemoved true).
 * *ret_xml is malloc'd, NUL-terminated (caller frees with free()); ret_len
 * may be NULL.  AP_EINVAL for a missing or bad parameter: URLs must start
 * with "https://", topic with "com.apple.mgmt.", ca_der must be one DER
 * X.509 certificate.
 */
int ap_enroll_profile_build(const struct ap_enroll_params *p, char **ret_xml, size_t *ret_len);

#endif
