/*
 * ap_machineinfo.h - the MachineInfo an iPad assigned through Automated
 * Device Enrolment POSTs to the enrolment URL (docs/apple-services.md
 * §2.7): DER CMS SignedData, content attached, wrapping an XML plist.
 * Pure: memory in, struct out.  Certificates and stores are borrowed.
 */
#ifndef AP_MACHINEINFO_H
#define AP_MACHINEINFO_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stddef.h>

#define AP_MACHINEINFO_MAX (64u * 1024) /* the signed blob, bytes */

/* The keys Ardoise reads; strings NUL-terminated, "" when absent. */
struct ap_machineinfo {
	char udid[65];		/* UDID, required: letters, digits, '-' */
	char serial[65];	/* SERIAL, required: letters, digits */
	char product[33];	/* PRODUCT, required, e.g. "iPad13,18" */
	char version[33];	/* VERSION (the build), required */
	char os_version[33];	/* OS_VERSION (iPadOS 17+), e.g. "17.6.1" */
	char language[17];	/* LANGUAGE */
	int can_request_update; /* MDM_CAN_REQUEST_SOFTWARE_UPDATE; 0 when absent */
};

/*
 * Reads the XML plist MachineInfo (xml need not be NUL-terminated).
 * Errors: AP_ETOOBIG (len > AP_MACHINEINFO_MAX), AP_EPARSE (not a plist),
 * AP_ETYPE (not a dictionary, or a key of the wrong type), AP_EMISSING (a
 * required key absent or empty), AP_EINVAL (a value longer than its
 * field, or a UDID / serial with other characters).  *ret is written only
 * on success.
 */
int ap_machineinfo_parse(const void *xml, size_t len, struct ap_machineinfo *ret);

/*
 * Checks der: a CMS SignedData with its content attached and exactly one
 * signer, whose signature verifies (SHA-1 accepted, as Apple signs) and
 * whose certificate chains to a certificate of anchors through the
 * certificates the message carries, with no time check (Apple's signer
 * is expired: X509_V_FLAG_NO_CHECK_TIME) and security level 0 (SHA-1
 * signed certificates), for this verification only: anchors is not
 * changed.  On success *ret_content is the signed content (malloc'd,
 * NUL-terminated after *ret_len bytes; the caller frees).  Errors:
 * AP_EINVAL (NULL argument), AP_ETOOBIG (len > AP_MACHINEINFO_MAX),
 * AP_EPARSE (not DER CMS SignedData, trailing bytes, detached content),
 * AP_EBADSIG (signer count, signature, chain), AP_ENOMEM.
 */
int ap_machineinfo_verify(const void *der, size_t len, X509_STORE *anchors,
			  unsigned char **ret_content, size_t *ret_len);

/* ap_machineinfo_verify() then ap_machineinfo_parse() of its content. */
int ap_machineinfo_open(const void *der, size_t len, X509_STORE *anchors,
			struct ap_machineinfo *ret);

/* What a tablet sends (the simulator and tests): DER CMS SignedData over
 * xml, content attached, SHA-1 like Apple's, signer certificate and chain
 * (may be NULL) included.  *ret_der is malloc'd (free()).  AP_ECRYPTO. */
int ap_machineinfo_sign(const void *xml, size_t len, X509 *signer, EVP_PKEY *key,
			STACK_OF(X509) * chain, unsigned char **ret_der, size_t *ret_len);

#endif
