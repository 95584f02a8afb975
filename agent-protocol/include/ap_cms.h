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

/* Builds an Mdm-Signature header value (for the simulator and tests):
 * detached CMS SignedData over body with key/cert, SHA-256, signer
 * certificate included; *ret_b64 is malloc'd, NUL-terminated, one line. */
int ap_cms_sign_detached_b64(const void *body, size_t len, X509 *cert, EVP_PKEY *key,
			     char **ret_b64);

#endif
