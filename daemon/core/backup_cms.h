/*
 * backup_cms.h - a backup file: the database copy encrypted to the
 * operator's certificate as CMS (RFC 5652) AuthEnvelopedData, AES-256-GCM,
 * DER, written streamed; what `openssl cms -decrypt -inform DER -recip
 * op.pem -inkey op.key` also opens.
 */
#ifndef BACKUP_CMS_H
#define BACKUP_CMS_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* The recipient certificate at path (PEM, an RSA or EC key) into *ret
 * (X509_free() it); why not into err. */
int backup_cms_recipient(const char *path, X509 **ret, char *err, size_t cap);

/* Encrypts the file in_path to cert, streamed into out_fd (not closed);
 * the bytes written into *ret_bytes.  Nothing of the plaintext is held
 * whole in memory. */
int backup_cms_encrypt(X509 *cert, const char *in_path, int out_fd, uint64_t *ret_bytes, char *err,
		       size_t cap);

/* Decrypts the backup file in_path with the operator's private key (PEM
 * at key_path) and, when cert_path is not NULL, its certificate, into
 * out_path (created 0600; AP_EEXIST when it exists).  AP_EPARSE when
 * in_path is no CMS, AP_ECRYPTO when the key does not open it or it was
 * altered or cut (the GCM tag); on failure out_path is removed. */
int backup_cms_decrypt(const char *in_path, const char *key_path, const char *cert_path,
		       const char *out_path, char *err, size_t cap);

#endif
