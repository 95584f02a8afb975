/*
 * ap_scep.h - SCEP (RFC 8894) message codec, server and client side.
 *
 * No I/O and no logging: the daemon moves the bytes over HTTP and decides
 * policy (challenge check, renewal rules, what to issue).  Every int function
 * returns 0 or a negative AP_E* code (ap_err.h) and writes its ret* outputs
 * only on success (ap_scep_client_response also reports a FAILURE's
 * failInfo, see there).  Arguments are borrowed; objects handed out belong to
 * the caller (free(), X509_free()).  The functions leave the calling thread's
 * OpenSSL error queue as they found it.
 *
 * Messages are CMS (PKCS#7-compatible DER).  The first call of any ap_scep_*
 * function loads OpenSSL's "default" and "legacy" providers into the default
 * library context (once, thread-safely) so that single DES still decrypts;
 * that is visible process-wide, and they stay loaded until OPENSSL_cleanup()
 * (automatic at exit).  If the legacy provider is missing, DES messages fail
 * with AP_ECRYPTO and everything else works.
 *
 * The CA key may be RSA (key transport) or EC (ECDH key agreement).  Apple
 * devices and most SCEP clients only encrypt to RSA certificates.
 */
#ifndef AP_SCEP_H
#define AP_SCEP_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Largest pkiMessage accepted by the parsers (AP_ETOOBIG beyond). */
#define AP_SCEP_MAX_MESSAGE (64u * 1024)

/* GetCACaps answer (text/plain): the capabilities implemented here, one per
 * line, each line ending in "\n".  Static storage. */
const char *ap_scep_cacaps(void);

/* GetCertInitial (CertPoll) is named for completeness; the parser answers it
 * AP_EUNSUPPORTED: we never answer PENDING, so a conforming client never
 * polls. */
enum ap_scep_msgtype {
	AP_SCEP_PKCSREQ = 19,
	AP_SCEP_RENEWALREQ = 17,
	AP_SCEP_CERTREP = 3,
	AP_SCEP_GETCERTINITIAL = 20,
};

enum ap_scep_failinfo {
	AP_SCEP_BADALG = 0,
	AP_SCEP_BADMESSAGECHECK = 1,
	AP_SCEP_BADREQUEST = 2,
	AP_SCEP_BADTIME = 3,
	AP_SCEP_BADCERTID = 4,
};

/* Content-encryption algorithms (CBC mode).  AES192 is accepted from peers
 * but only produced when a client used it. */
enum ap_scep_cipher { AP_SCEP_AES128, AP_SCEP_AES256, AP_SCEP_DES3, AP_SCEP_DES, AP_SCEP_AES192 };

/* ---- server side ---- */

/* A decoded, signature-checked and decrypted client request. */
struct ap_scep_req;

/*
 * Parses a pkiMessage: DER (BER accepted) of a CMS SignedData whose content is
 * an EnvelopedData encrypted to ca_cert.  Checks:
 *  - len <= AP_SCEP_MAX_MESSAGE, else AP_ETOOBIG;
 *  - well-formed SignedData with exactly one signer, id-data content, the
 *    signed attributes transactionID, messageType and senderNonce present
 *    exactly once, else AP_EPARSE;
 *  - the signature verifies with the signer certificate carried in the
 *    message (self-signed or the client's current certificate: whether to
 *    trust that certificate is the caller's policy), else AP_EBADSIG;
 *  - messageType is PKCSReq or RenewalReq, else AP_EUNSUPPORTED;
 *  - the envelope decrypts with ca_key/ca_cert (AES-128/192/256-CBC,
 *    DES-EDE3-CBC, DES-CBC), else AP_ECRYPTO (also when ca_key does not match
 *    ca_cert); other ciphers are AP_EUNSUPPORTED;
 *  - the content is one PKCS#10 request whose self-signature verifies
 *    (AP_EPARSE / AP_EBADSIG).
 * On success *ret is the request; free it with ap_scep_req_free().
 *
 * Answer every failure after the signature check (AP_ECRYPTO, AP_EPARSE,
 * AP_EBADSIG of the CSR) identically to the peer, in content and as far as
 * possible in timing: with an RSA CA key, telling them apart is a padding
 * oracle (OpenSSL 3.0 has no implicit rejection for PKCS#1 v1.5).
 */
int ap_scep_req_parse(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *ca_key,
		      struct ap_scep_req **ret);
/* NULL ok. */
void ap_scep_req_free(struct ap_scep_req *r);
/* enum ap_scep_msgtype value. */
int ap_scep_req_type(const struct ap_scep_req *r);
/* Printable ASCII, NUL-terminated, at most 256 bytes; valid while r lives. */
const char *ap_scep_req_transaction_id(const struct ap_scep_req *r);
/* challengePassword attribute of the CSR as UTF-8 (NULL when absent); valid
 * while r lives.  It is a secret: never log it. */
const char *ap_scep_req_challenge(const struct ap_scep_req *r);
/* Borrowed; valid while r lives. */
X509_REQ *ap_scep_req_csr(const struct ap_scep_req *r);
/* The certificate that signed the request.  Borrowed; valid while r lives. */
X509 *ap_scep_req_signer(const struct ap_scep_req *r);
/* The content-encryption algorithm the client used. */
enum ap_scep_cipher ap_scep_req_cipher(const struct ap_scep_req *r);
/*
 * 0 when the request's signer certificate was issued by ca_cert (its
 * signature verifies with the CA key and the names chain), AP_EBADSIG
 * otherwise.  For RenewalReq: the caller must check this (and whatever else
 * its renewal policy says) before issuing.  Validity dates are not checked.
 */
int ap_scep_req_signer_issued_by(const struct ap_scep_req *r, X509 *ca_cert);

/*
 * CertRep SUCCESS: SignedData signed by ca_key (SHA-256; ca_cert included)
 * with signed attributes transactionID, messageType=3, pkiStatus=0, a fresh
 * senderNonce and recipientNonce = the request's senderNonce; its content is
 * an EnvelopedData encrypted to the request's signer certificate with the
 * client's cipher if that was AES (same key size), DES-EDE3-CBC otherwise,
 * holding a degenerate certs-only PKCS#7 SignedData: `issued` first, then
 * ca_cert.  `issued` must certify the CSR's public key (AP_EINVAL).
 * *ret_der is malloc'd.
 */
int ap_scep_certrep_success(const struct ap_scep_req *r, X509 *issued, X509 *ca_cert,
			    EVP_PKEY *ca_key, unsigned char **ret_der, size_t *ret_len);
/* CertRep FAILURE: as above with pkiStatus=2 and failInfo=fi, and no
 * content (the SignedData's eContent is absent, RFC 8894 3.3.2). */
int ap_scep_certrep_failure(const struct ap_scep_req *r, enum ap_scep_failinfo fi, X509 *ca_cert,
			    EVP_PKEY *ca_key, unsigned char **ret_der, size_t *ret_len);
/* GetCACert answer: the CA certificate alone, DER
 * (application/x-x509-ca-cert).  *ret_der is malloc'd. */
int ap_scep_cacert(X509 *ca_cert, unsigned char **ret_der, size_t *ret_len);

/* ---- client side (the simulator and tests) ---- */

/*
 * Builds a PKCSReq for `key` (RSA or EC): a CSR with subject CN=cn and, when
 * challenge is not NULL, a challengePassword attribute; a self-signed signer
 * certificate for key (as iPads do); the CSR enveloped to ca_cert (RSA or EC)
 * with `cipher` (AES192 included; DES to an EC CA is AP_EUNSUPPORTED, as CMS
 * key agreement cannot wrap an 8-byte key); signed with SHA-256.  The
 * transactionID is the hex SHA-256 of the DER SubjectPublicKeyInfo of key.
 * *ret_der is malloc'd; *ret_selfsigned (X509_free) is needed to read the
 * answer.
 */
int ap_scep_client_request(EVP_PKEY *key, const char *cn, const char *challenge, X509 *ca_cert,
			   enum ap_scep_cipher cipher, unsigned char **ret_der, size_t *ret_len,
			   X509 **ret_selfsigned);

/*
 * Reads a CertRep answering a request made with key/selfsigned.  Its
 * signature must verify with a certificate that is ca_cert or is issued by
 * ca_cert (an RA), else AP_EBADSIG; messageType must be CertRep (AP_EPARSE)
 * and transactionID the one derived from key (AP_ECONFLICT).  The
 * recipientNonce is not checked: this API keeps no request state.
 *  - SUCCESS: the content is decrypted with key/selfsigned (AP_ECRYPTO) and
 *    *ret_cert is the first certificate in it that certifies key (AP_EPARSE
 *    when none does); the caller frees it.
 *  - FAILURE: AP_EFORBIDDEN, and *ret_failinfo (when ret_failinfo is not
 *    NULL) is the failInfo, or -1 if the server sent none.
 *  - PENDING: AP_EBUSY.
 */
int ap_scep_client_response(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *key,
			    X509 *selfsigned, X509 **ret_cert, int *ret_failinfo);

#endif
