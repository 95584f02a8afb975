/*
 * tu_pki.h - the one test PKI of the C tests (unit, protocol, bench, fuzz)
 * and of tu-make-certs, which writes the files the Python and shell tests
 * use.  Keys, certificates, CSRs, PEM files.  Test code: errors are NULL
 * or -1, never an abort.
 */
#ifndef TU_PKI_H
#define TU_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <sys/types.h>

/* Keys: "ec" (P-256) or "rsa" (2048 bits).  Caller frees. */
EVP_PKEY *tu_key(const char *kind);

enum tu_cert_kind {
	TU_CERT_CLIENT, /* CA:FALSE, digitalSignature keyEncipherment, clientAuth */
	TU_CERT_CA,	/* CA:TRUE, keyCertSign cRLSign */
	TU_CERT_SERVER, /* CA:FALSE, digitalSignature keyEncipherment, serverAuth, san */
};

/* What tu_cert_new makes.  Pointers are borrowed. */
struct tu_cert_spec {
	const char *cn;	      /* subject CN */
	const char *uid;      /* subject UID before the CN (an APNs topic), or NULL */
	EVP_PKEY *key;	      /* the subject's key */
	X509 *issuer;	      /* NULL: self-signed */
	EVP_PKEY *issuer_key; /* with issuer */
	enum tu_cert_kind kind;
	long from_s, to_s; /* validity, seconds from now; both 0: an hour ago to a year on */
	const char *san;   /* subjectAltName value for TU_CERT_SERVER, e.g. "DNS:localhost" */
};

/* A certificate as spec says, signed with SHA-256, a fresh serial each
 * call.  Caller frees; NULL on error. */
X509 *tu_cert_new(const struct tu_cert_spec *spec);

/* Shorthand: CN=cn, issuer/issuer_key NULL make it self-signed, is_ca a
 * CA, otherwise a client leaf; valid from an hour ago for a year. */
X509 *tu_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int is_ca);

/* A CSR for key with subject CN=cn, self-signed.  Caller frees. */
X509_REQ *tu_csr(EVP_PKEY *key, const char *cn);

/* Writes cert (when not NULL) or else key as PEM to path, the key
 * encrypted with AES-256-CBC under pass when pass is not NULL, then
 * chmod mode.  Returns 0 or -1. */
int tu_write_pem(const char *path, X509 *cert, EVP_PKEY *key, const char *pass, mode_t mode);

/* The same in dir/name. */
int tu_write_pem_in(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, const char *pass,
		    mode_t mode);

#endif
