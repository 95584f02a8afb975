/*
 * pol_profile.h - configuration profiles (.mobileconfig) as policy items:
 * validation, content hash, and the bytes to send.
 *
 * A profile arrives as an XML plist or as a CMS SignedData (DER) wrapping
 * one; a signature is unwrapped without judging the signer (the daemon
 * re-signs with its own identity).  Checked: the top level (PayloadType
 * "Configuration", PayloadVersion 1, PayloadIdentifier, PayloadUUID,
 * PayloadContent), every payload's common keys, that PayloadIdentifier and
 * PayloadUUID values are unique within the profile, that every PayloadType
 * is one of the types Apple's schemas describe for iOS
 * (spec/apple-device-management/mdm/profiles) and that a type a device
 * may hold only once appears once.  Per-key checks are the job of
 * tools/mdm-schema-check.
 *
 * Stable bytes: the content hash is the SHA-256 of the profile serialised
 * to XML without its top-level PayloadUUID, so the same settings give the
 * same hash whatever UUID or signature the file carried.  The bytes to
 * send carry a PayloadUUID derived from that hash (ap_uuid_from_seed), so
 * a re-send is byte-for-byte the same profile and an edit changes the
 * UUID devices report in ProfileList.
 *
 * Pure: no I/O, no logging.  Signing is the daemon's job (keystore).
 */
#ifndef POL_PROFILE_H
#define POL_PROFILE_H

#include <stddef.h>

#define POL_PROFILE_MAX_BYTES	 (4u * 1024 * 1024) /* input, signed or not */
#define POL_PROFILE_MAX_PAYLOADS 64
#define POL_IDENTIFIER_MAX	 255 /* bytes of a PayloadIdentifier or bundle id */
/* The enrolment profile's identifier: never installed nor removed as policy. */
#define POL_ENROLL_IDENTIFIER "fr.ardoise.enroll"

struct pol_profile {
	char *identifier;     /* top-level PayloadIdentifier */
	char *display_name;   /* PayloadDisplayName, "" when absent */
	char *description;    /* PayloadDescription, "" when absent */
	char *organization;   /* PayloadOrganization, "" when absent */
	char hash[65];	      /* content hash, SHA-256 hex */
	char uuid[37];	      /* the PayloadUUID of the bytes to send */
	int was_signed;	      /* the input was CMS SignedData */
	char **payload_types; /* n_payloads strings, in PayloadContent order */
	size_t n_payloads;
	char *xml; /* the bytes to send: XML plist, unsigned, NUL-terminated */
	size_t xml_len;
};

/*
 * Validates a profile given as bytes and prepares it.  On success *ret is
 * a new profile the caller frees with pol_profile_free().  Errors:
 *   AP_EINVAL        data or ret NULL;
 *   AP_ETOOBIG       more than POL_PROFILE_MAX_BYTES, or more than
 *                    POL_PROFILE_MAX_PAYLOADS payloads;
 *   AP_EBADSIG       CMS SignedData whose signature does not verify;
 *   AP_EPARSE        neither an XML plist nor CMS SignedData wrapping one;
 *   AP_EUNSUPPORTED  binary plist, encrypted profile, unknown PayloadType,
 *                    a payload that has no place in a policy profile
 *                    (com.apple.mdm), the enrolment profile's identifier;
 *   AP_ETYPE / AP_EMISSING / AP_EINVAL  structure errors (wrong plist type,
 *                    missing key, bad value, duplicate identifier or UUID,
 *                    a one-per-device payload type given twice).
 * detail (may be NULL) receives a one-line reason naming the key or
 * payload on failure, "" on success.
 */
int pol_profile_parse(const void *data, size_t len, struct pol_profile **ret, char *detail,
		      size_t detail_cap);
/* NULL ok. */
void pol_profile_free(struct pol_profile *p);

/* The payload types a policy profile may hold, from Apple's schemas. */
struct pol_payload_type {
	const char *type;
	int multiple;	/* several allowed on one device */
	int supervised; /* honoured on supervised devices only */
	int allowed;	/* 0: known but refused in policy profiles */
	const char *what;
};
/* The row for type, or NULL when unknown. */
const struct pol_payload_type *pol_profile_payload_type(const char *type);
/* The i-th row (0-based), NULL past the end: for listings. */
const struct pol_payload_type *pol_profile_payload_type_at(size_t i);

/* 1 if s is a well-formed PayloadIdentifier or bundle identifier:
 * 1-POL_IDENTIFIER_MAX bytes of A-Z a-z 0-9 . - _ not starting with '.'. */
int pol_profile_identifier_ok(const char *s);

#endif
