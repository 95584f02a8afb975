/*
 * keystore.h - every private key of Ardoise lives behind this module.
 *
 * Files in the data directory:
 *   ca.pem / ca.key          device and server CA (RSA-2048: iPads encrypt
 *                            their SCEP requests to it, to RSA only)
 *   server.pem / server.key  TLS server identity, signed by the CA
 *   secret.key               32 random bytes: AES-256-GCM key for secrets
 *                            kept in the database (UnlockTokens, bypass codes,
 *                            coordinates, commands' secret parameters), each
 *                            sealed for one purpose (keystore_seal)
 *   audit.key                32 random bytes: HMAC-SHA-256 key of the audit
 *                            chain (db_audit.h), handed to each database
 *                            connection; made at the first start of a data
 *                            dir from before it existed
 *   ade.key / ade.pem        the Automated Device Enrolment key pair (RSA-2048),
 *                            made by keystore_ade_keypair() when first asked
 * Key files must be 0600 (no group/other bits): keystore_open() refuses
 * otherwise, naming the file.  No key material is ever logged.
 *
 * The APNs push identity lives outside the data directory, where the
 * operator put the files Apple's portal gave them ([push] cert/key).
 */
#ifndef KEYSTORE_H
#define KEYSTORE_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct ap_tls_sessions;

struct keystore;

/* Creates the files above in dir (which must not hold any of them).
 * names: host names / IPs for the server certificate's SAN. */
int keystore_create(const char *dir, const char *const *names, size_t n_names, char *err,
		    size_t errcap);
/* Loads the files; extra_ca (may be NULL or "") is a PEM file of more
 * trust anchors for device identities. */
int keystore_open(const char *dir, const char *extra_ca, struct keystore **ret, char *err,
		  size_t errcap);
void keystore_free(struct keystore *ks);
/* Makes audit.key (0600) when the data dir has none yet; *ret_created 1
 * when it did.  keystore_open() loads it when present. */
int keystore_audit_key_ensure(struct keystore *ks, int *ret_created, char *err, size_t errcap);
/* The audit chain's key (32 bytes, borrowed), or NULL when none yet. */
const unsigned char *keystore_audit_key(const struct keystore *ks);

/*
 * The device trust anchors ([mdm] device_ca) can be replaced while the
 * daemon runs (SIGHUP).  Each thread uses the set it adopted: the first
 * call below on a thread adopts the current set, and the set stays that
 * thread's (pointers returned stay valid) until it calls
 * keystore_trust_adopt() again, or keystore_trust_leave(), between
 * requests.  No lock is taken on the session path; adopting takes one.
 */
/* Reads ca.pem and extra_ca (NULL or "": none) into a new set; when it
 * differs from the current one (keystore_device_trust_id()), it becomes
 * current and *ret_changed is 1.  On failure (AP_EIO, AP_ECONFIG: no PEM
 * certificate in the file; err says which) the current set stays. */
int keystore_trust_reload(struct keystore *ks, const char *extra_ca, int *ret_changed, char *err,
			  size_t errcap);
/* The calling thread uses the current set from now. */
void keystore_trust_adopt(struct keystore *ks);
/* The calling thread gives its set back (at its end). */
void keystore_trust_leave(void);

/* TLS server context with the server identity and the calling thread's
 * device trust. */
int keystore_tls_ctx(struct keystore *ks, OSSL_LIB_CTX *libctx, struct ap_tls_sessions *sessions,
		     SSL_CTX **ret);
/* Trust store for device identities (borrowed: the calling thread's set). */
X509_STORE *keystore_device_trust(struct keystore *ks);
/* Names the set of device trust anchors (16 hex digits): a device bound
 * under another set has its chain checked again (daemon/mdm/mdm.c). */
const char *keystore_device_trust_id(struct keystore *ks);
/* The CA certificate (borrowed) and its DER/PEM paths. */
X509 *keystore_ca_cert(struct keystore *ks);
/* The TLS server certificate (borrowed). */
X509 *keystore_server_cert(struct keystore *ks);
const char *keystore_ca_path(struct keystore *ks);

/* CMS SignedData (DER, content attached) over data, signed with the
 * server identity: used for enrolment and policy profiles. */
int keystore_sign(struct keystore *ks, const void *data, size_t len, unsigned char **ret_der,
		  size_t *ret_len);

struct ap_scep_req;
/* Decrypts and checks a SCEP PKIOperation message with the CA key. */
int keystore_scep_open(struct keystore *ks, const unsigned char *der, size_t len,
		       struct ap_scep_req **ret);
/* Issues the device identity for the request's CSR (valid `days`) and
 * builds the SUCCESS CertRep.  *ret_fp: SHA-256 of the new certificate. */
int keystore_scep_issue(struct keystore *ks, struct ap_scep_req *req, int days, char ret_fp[65],
			unsigned char **ret_der, size_t *ret_len);
/* FAILURE CertRep with failInfo fi (enum ap_scep_failinfo). */
int keystore_scep_reject(struct keystore *ks, struct ap_scep_req *req, int fi,
			 unsigned char **ret_der, size_t *ret_len);
/* GetCACert answer (DER). */
int keystore_scep_cacert(struct keystore *ks, unsigned char **ret_der, size_t *ret_len);

/* What a sealed secret is for.  The purpose is in the blob's associated
 * data: a blob sealed for one purpose never opens for another, so an
 * UnlockToken and a bypass code swapped in the database are refused
 * instead of being sent or shown as each other. */
enum keystore_purpose {
	KEYSTORE_UNLOCK_TOKEN, /* owner: the device's UDID */
	KEYSTORE_BYPASS_CODE,  /* owner: the device's UDID */
	KEYSTORE_LOCATION,     /* owner: "locate:<request id>" */
	KEYSTORE_COMMAND,      /* a command's secret fields; owner: "<udid>/<command uuid>" */
	KEYSTORE_ADE_TOKEN,    /* the ADE server token's consumer_secret and access_secret;
				* owner: "<consumer key>/consumer_secret" or "/access_secret" */
	KEYSTORE_VPP_TOKEN,    /* an Apps and Books content token (sToken); owner: its scope
				* ("fleet", "school:<UAI>") */
};

/* Seals plaintext with AES-256-GCM: out = version(1) | nonce(12) |
 * ciphertext | tag(16), malloc'd.  The tag covers the version, the
 * purpose's name and owner (the thing the secret belongs to; NULL = "").
 * AP_EINVAL for an unknown purpose, AP_ETOOBIG past 16 MiB. */
int keystore_seal(struct keystore *ks, enum keystore_purpose p, const char *owner,
		  const void *plain, size_t len, unsigned char **ret, size_t *ret_len);
/* Opens what keystore_seal() made for the same purpose and owner.
 * AP_EPARSE when it is not a version-1 blob, AP_ECRYPTO when it does not
 * open (other purpose or owner, tampered, another key).  *ret is malloc'd
 * (NUL-terminated beyond *ret_len); outputs untouched on failure. */
int keystore_unseal(struct keystore *ks, enum keystore_purpose p, const char *owner,
		    const unsigned char *sealed, size_t len, unsigned char **ret, size_t *ret_len);
/* The format before version 1 (nonce | ciphertext | tag, aad = owner
 * only): used once, by the re-sealing at start (daemon/core/secret.c), never to
 * hand a secret out. */
int keystore_unseal_legacy(struct keystore *ks, const unsigned char *sealed, size_t len,
			   const char *aad, unsigned char **ret, size_t *ret_len);

/* The Automated Device Enrolment key pair (docs/apple-services.md §2.1):
 * ade.key (RSA-2048, 0600) and ade.pem (self-signed, keyEncipherment and
 * digitalSignature, 0644) in the data directory, made at the first call and
 * kept after it, so that an administrator can download the token again
 * without re-keying.  *ret_pem: the certificate (PEM, malloc'd) to upload in
 * Apple School Manager; *ret_created 1 when made by this call.  AP_EIO,
 * AP_EPERM (ade.key readable by others), AP_ECRYPTO. */
int keystore_ade_keypair(struct keystore *ks, char **ret_pem, int *ret_created, char *err,
			 size_t errcap);
/* Decrypts an ADE server token file (.p7m) with ade.key: an S/MIME message
 * (MIME headers, then base64 CMS EnvelopedData, as Apple gives it), or the
 * CMS alone as PEM or DER.  *ret: the content (malloc'd, NUL-terminated
 * beyond *ret_len; the caller wipes it).  AP_EMISSING (no key pair yet),
 * AP_ETOOBIG (past 1 MiB), AP_EPARSE (not CMS EnvelopedData), AP_ECRYPTO
 * (not encrypted to our certificate); err says which. */
int keystore_ade_decrypt(struct keystore *ks, const void *p7m, size_t len, char **ret,
			 size_t *ret_len, char *err, size_t errcap);

/* What the push certificate says about itself. */
struct keystore_push_info {
	char topic[256];    /* subject UID (0.9.2342.19200300.100.1.1): the APNs topic */
	char subject[256];  /* one-line subject, for messages */
	int64_t not_before; /* seconds since the epoch */
	int64_t not_after;
};

/* Reads the push certificate (PEM, or PKCS#12 opened with passphrase) and
 * describes it; succeeds for an expired certificate too (callers show the
 * date).  AP_EIO, AP_EPARSE, AP_EMISSING (no UID in the subject); err gets
 * one line for the operator. */
int keystore_push_info(const char *cert, const char *passphrase, struct keystore_push_info *ret,
		       char *err, size_t errcap);

/*
 * Client TLS context for APNs from the MDM push certificate.
 *   cert: PEM (certificate, then its chain; may hold the key too) or a
 *         PKCS#12 file (DER) holding certificate, key and chain;
 *   key:  PEM private key file, or NULL/"" when cert holds it;
 *   passphrase: for an encrypted PEM key or the PKCS#12 ("" or NULL: none);
 *   ca:   extra PEM trust anchors for the server (a local stand-in), added
 *         to the system store; NULL/"" for none.
 * The context has the identity, TLS >= 1.2, ALPN "h2", and verifies the
 * server (callers set the expected name per connection: ap_tls_client_new).
 * The file holding the private key must be 0600: AP_EPERM otherwise.
 * Other failures: AP_EIO (unreadable), AP_EPARSE (not a certificate or key,
 * or a wrong passphrase), AP_EMISSING (no UID in the subject), AP_EBADSIG
 * (key does not match, or the certificate is expired or not yet valid).
 * err gets one line for the operator, never key material.
 */
int keystore_push_ctx(const char *cert, const char *key, const char *passphrase, const char *ca,
		      SSL_CTX **ret, char *err, size_t errcap);

/* Refuses a file or directory that group or others may read, write or
 * enter (what names it in the message: "key file", "database"): AP_EPERM,
 * AP_EIO when it cannot be examined; err says which and the chmod to run.
 * Key files are checked by keystore_open(); main.c checks the database and
 * the data directory with it. */
int keystore_check_private(const char *path, const char *what, char *err, size_t errcap);

#endif
