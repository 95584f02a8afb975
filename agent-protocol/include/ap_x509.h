/*
 * ap_x509.h - keys and certificates for the Ardoise CA, in memory.
 *
 * No I/O and no logging.  Every int function returns 0 or a negative AP_E*
 * code (ap_err.h) and writes its ret* outputs only on success.  Objects handed
 * out belong to the caller: EVP_PKEY_free(), X509_free(), free().  Arguments
 * are borrowed, never consumed.  The functions leave the calling thread's
 * OpenSSL error queue as they found it, so a later SSL_get_error() on the
 * same thread is not confused by stale entries.
 *
 * Certificates are signed with SHA-256 and the key types supported for
 * signing are RSA and EC.  `days` is 1..36500; notBefore is backdated five
 * minutes to absorb clock skew, notAfter is now + days.
 */
#ifndef AP_X509_H
#define AP_X509_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Upper bound of the PEM text accepted by the *_from_pem functions. */
#define AP_X509_MAX_PEM (1024u * 1024)

/* New ECDSA P-256 key. */
int ap_x509_new_ec_key(EVP_PKEY **ret);
/* New RSA key of `bits` (1024..8192; AP_EINVAL otherwise). */
int ap_x509_new_rsa_key(int bits, EVP_PKEY **ret);

/*
 * Self-signed CA certificate for `key`: basicConstraints CA:TRUE (critical),
 * keyUsage keyCertSign+cRLSign (critical; an RSA key also gets
 * digitalSignature+keyEncipherment: a SCEP CA without RA decrypts the
 * requests and signs the replies with it), subjectKeyIdentifier, subject and
 * issuer O=org (omitted when org is NULL), CN=cn, random 128-bit serial.
 * cn must be 1..64 characters (AP_EINVAL otherwise).
 */
int ap_x509_make_ca(EVP_PKEY *key, const char *cn, const char *org, int days, X509 **ret);

/*
 * TLS server certificate for `key`, signed by ca/ca_key (which must match:
 * AP_EINVAL otherwise).  names[0..n_names) become subjectAltName entries: an
 * entry that parses as an IPv4 or IPv6 address is an iPAddress, any other a
 * dNSName (printable ASCII without spaces, at most 253 bytes).  CN = names[0].
 * EKU serverAuth; keyUsage digitalSignature (+keyEncipherment for RSA keys);
 * basicConstraints CA:FALSE; authority and subject key identifiers.
 */
int ap_x509_issue_server(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *const *names,
			 size_t n_names, int days, X509 **ret);

/*
 * Device identity certificate from a PKCS#10 request: subject and public key
 * from the CSR (whose self-signature must verify: AP_EBADSIG otherwise; an
 * empty subject is AP_EINVAL), EKU clientAuth, keyUsage
 * digitalSignature+keyEncipherment (critical), basicConstraints CA:FALSE,
 * authority and subject key identifiers, random serial.  Extensions requested
 * inside the CSR are ignored on purpose: the CA decides what it certifies.
 */
int ap_x509_issue_client(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, int days, X509 **ret);

/*
 * Self-signed end-entity certificate (CN=cn, no extensions but
 * basicConstraints CA:FALSE), as SCEP clients make to sign their first
 * request.
 */
int ap_x509_make_selfsigned(EVP_PKEY *key, const char *cn, int days, X509 **ret);

/*
 * The subject's commonName as a malloc'd NUL-terminated UTF-8 string.  With
 * several CNs the last (most specific) one is returned.  AP_ENOTFOUND when
 * there is none, AP_EPARSE when it cannot be converted or holds a NUL.
 */
int ap_x509_subject_cn(X509 *cert, char **ret);
/* SHA-256 of the DER certificate as 64 lowercase hex digits and a NUL; out is
 * the empty string if the digest cannot be computed. */
void ap_x509_fingerprint(X509 *cert, char out[65]);
/* 1 when a device identity cert chains to trust (untrusted: intermediates
 * it came with, may be NULL), for the SSL-client purpose, now; else 0. */
int ap_x509_client_chain_ok(X509 *cert, STACK_OF(X509) * untrusted, X509_STORE *trust);

/* PEM/DER conversions.  Outputs are malloc'd; PEM text is NUL-terminated
 * (the NUL is not counted in *ret_len). */
int ap_x509_to_pem(X509 *cert, char **ret, size_t *ret_len);
int ap_x509_to_der(X509 *cert, unsigned char **ret, size_t *ret_len);
/* First certificate of the PEM text pem[0..len).  AP_ETOOBIG past
 * AP_X509_MAX_PEM, AP_EPARSE when there is no readable certificate. */
int ap_x509_from_pem(const char *pem, size_t len, X509 **ret);
/* Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").  The text is a secret: wipe
 * it (OPENSSL_cleanse/explicit_bzero) before free(). */
int ap_pkey_to_pem(EVP_PKEY *key, char **ret, size_t *ret_len);
/* Private key from unencrypted PEM (PKCS#8 or traditional).  Encrypted PEM is
 * AP_EUNSUPPORTED (no passphrase prompt is ever attempted). */
int ap_pkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret);

#endif
