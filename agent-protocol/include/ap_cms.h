/*
 * ap_cms.h - CMS (PKCS #7) helpers: pure crypto on memory, no files.
 *
 * Used to sign profiles (attached content) and to check the Mdm-Signature
 * header devices send with SignMessage (detached content).  Certificates
 * and keys are borrowed; nothing here takes ownership of them.
 */
#ifndef AP_CMS_H
#define AP_CMS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stddef.h>

#define AP_CMS_MAX_HEADER (64u * 1024) /* Mdm-Signature value, base64 characters */

/* CMS SignedData (DER) over data with the content attached, SHA-256,
 * signer certificate included, plus chain (may be NULL).  *ret_der is
 * malloc'd (caller frees with free()).  AP_ECRYPTO if OpenSSL fails (e.g.
 * key and certificate do not match). */
int ap_cms_sign(const void *data, size_t len, X509 *signer, EVP_PKEY *key, STACK_OF(X509) * chain,
		unsigned char **ret_der, size_t *ret_len);

/*
 * Verifies an Mdm-Signature header value: base64 of a DETACHED CMS
 * SignedData over body, with exactly one signer whose certificate is in the
 * message.  Digests accepted: SHA-1 and SHA-2 (SHA-224/256/384/512).  The
 * signature is checked with CMS_NO_SIGNER_CERT_VERIFY, then the signer
 * certificate must chain to `trust` (other certificates in the message may
 * serve as intermediates) for the SSL-client purpose, at the current time.
 * On success *ret_signer is the signer certificate (a new reference: the
 * caller X509_free()s it); ret_signer may be NULL.
 * Errors: AP_EINVAL (NULL header or trust), AP_ETOOBIG (header longer than
 * AP_CMS_MAX_HEADER), AP_EBADSIG (bad base64 or DER, attached content,
 * wrong signer count, unaccepted digest, bad signature, untrusted signer).
 */
int ap_cms_verify_detached(const char *b64_header, const void *body, size_t body_len,
			   X509_STORE *trust, X509 **ret_signer);

/* ap_cms_verify_detached() in two halves, for a caller that can skip the
 * chain when it already knows the signer (a tablet whose certificate was
 * checked when it was bound): the same checks but the chain, giving the
 * signer (*ret_signer, new reference) and every certificate of the message
 * (*ret_certs, a new stack: sk_X509_pop_free(certs, X509_free)), for
 * ap_x509_client_chain_ok() later. */
int ap_cms_verify_signature(const char *b64_header, const void *body, size_t body_len,
			    X509 **ret_signer, STACK_OF(X509) * *ret_certs);

/* A connection's last Mdm-Signature signer, so that a tablet signing every
 * message of a kept-alive session has its certificate parsed once: the
 * certificates field of the last message as received (DER bytes), its
 * certificates parsed, the signer and its SHA-256.  Opaque; one per
 * connection, used from one thread. */
struct ap_cms_signer_cache;

struct ap_cms_signer_cache *ap_cms_signer_cache_new(void);	  /* NULL: out of memory */
void ap_cms_signer_cache_free(struct ap_cms_signer_cache *cache); /* NULL is fine */

/* What ap_cms_verify_signature_cached() gives, all borrowed from the cache
 * (valid until its next call or its free): the signer, every certificate of
 * the message, the signer's SHA-256 in hex, and the cache's chain flag for
 * that signer (-1 until the caller sets it: 1 chains to a device CA, 0 not),
 * reset whenever the signer changes.  reused: 1 when the certificates were
 * not parsed again. */
struct ap_cms_signer {
	X509 *cert;
	STACK_OF(X509) * certs;
	const char *fp;
	int *verified;
	int reused;
};

/* ap_cms_verify_signature() with the connection's cache: when the message's
 * certificates field is byte for byte the one of the cached message, the
 * signature over body is verified with the cached certificates (not parsed
 * again) and must name the cached signer; otherwise the message is
 * verified in full and the cache then holds its certificates.  The
 * signature over body is verified every call.  Same errors as
 * ap_cms_verify_signature(); on failure the cache is left as it was. */
int ap_cms_verify_signature_cached(struct ap_cms_signer_cache *cache, const char *b64_header,
				   const void *body, size_t body_len, struct ap_cms_signer *ret);

/* Builds an Mdm-Signature header value (for the simulator and tests):
 * detached CMS SignedData over body with key/cert, SHA-256, signer
 * certificate included; *ret_b64 is malloc'd, NUL-terminated, one line. */
int ap_cms_sign_detached_b64(const void *body, size_t len, X509 *cert, EVP_PKEY *key,
			     char **ret_b64);

#endif
