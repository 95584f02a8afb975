/* backup_cms.c - CMS AuthEnvelopedData (AES-256-GCM) in and out of files. */
#include "backup_cms.h"
#include "ap_err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* OpenSSL's last error, after what, into err. */
static void ossl_err(char *err, size_t cap, const char *what)
{
	char e[256] = "";
	unsigned long code = ERR_peek_last_error();
	if (code)
		ERR_error_string_n(code, e, sizeof(e));
	ERR_clear_error();
	snprintf(err, cap, "%s%s%s", what, e[0] ? ": " : "", e);
}

int backup_cms_recipient(const char *path, X509 **ret, char *err, size_t cap)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (x == NULL) {
		ERR_clear_error();
		snprintf(err, cap, "%s: %s", path, b ? "not a PEM certificate" : "cannot be read");
		return AP_ECONFIG;
	}
	int type = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
		X509_free(x);
		snprintf(err, cap, "%s: the certificate's key is neither RSA nor EC", path);
		return AP_ECONFIG;
	}
	*ret = x;
	return 0;
}

int backup_cms_encrypt(X509 *cert, const char *in_path, int out_fd, uint64_t *ret_bytes, char *err,
		       size_t cap)
{
	const int flags = CMS_BINARY | CMS_STREAM;
	STACK_OF(X509) *to = sk_X509_new_null();
	BIO *in = BIO_new_file(in_path, "rb");
	BIO *out = BIO_new_fd(out_fd, BIO_NOCLOSE);
	CMS_ContentInfo *cms = NULL;
	int rc = AP_ECRYPTO;
	if (to == NULL || in == NULL || out == NULL || !sk_X509_push(to, cert)) {
		ossl_err(err, cap, "cannot start the encryption");
		goto out;
	}
	cms = CMS_encrypt(to, in, EVP_aes_256_gcm(), flags);
	if (cms == NULL) {
		ossl_err(err, cap, "CMS encryption refused");
		goto out;
	}
	if (!i2d_CMS_bio_stream(out, cms, in, flags) || BIO_flush(out) != 1) {
		ossl_err(err, cap, "writing the encrypted backup");
		rc = AP_EIO;
		goto out;
	}
	off_t end = lseek(out_fd, 0, SEEK_CUR);
	*ret_bytes = end > 0 ? (uint64_t)end : 0;
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(out);
	BIO_free(in);
	sk_X509_free(to); /* cert stays the caller's */
	return rc;
}

/* The operator's key (and certificate, when given) into *ret_key and
 * *ret_cert. */
static int load_operator(const char *key_path, const char *cert_path, EVP_PKEY **ret_key,
			 X509 **ret_cert, char *err, size_t cap)
{
	BIO *b = BIO_new_file(key_path, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (k == NULL) {
		ERR_clear_error();
		snprintf(err, cap, "%s: not a PEM private key (or it cannot be read)", key_path);
		return AP_EINVAL;
	}
	X509 *x = NULL;
	if (cert_path && backup_cms_recipient(cert_path, &x, err, cap) < 0) {
		EVP_PKEY_free(k);
		return AP_EINVAL;
	}
	if (x && X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(err, cap, "%s is not the certificate of %s", cert_path, key_path);
		EVP_PKEY_free(k);
		X509_free(x);
		return AP_EINVAL;
	}
	*ret_key = k;
	*ret_cert = x;
	return 0;
}

int backup_cms_decrypt(const char *in_path, const char *key_path, const char *cert_path,
		       const char *out_path, char *err, size_t cap)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *out = NULL;
	int fd = -1, rc = load_operator(key_path, cert_path, &key, &cert, err, cap);
	if (rc < 0)
		return rc;
	if ((in = BIO_new_file(in_path, "rb")) == NULL) {
		snprintf(err, cap, "%s: cannot be read", in_path);
		rc = AP_EIO;
		goto out;
	}
	cms = d2i_CMS_bio(in, NULL);
	int type = cms ? OBJ_obj2nid(CMS_get0_type(cms)) : NID_undef;
	if (type != NID_id_smime_ct_authEnvelopedData && type != NID_pkcs7_enveloped) {
		ERR_clear_error();
		snprintf(err, cap,
			 "%s is not a whole Ardoise backup (no complete CMS enveloped data: "
			 "another file, or one cut short)",
			 in_path);
		rc = AP_EPARSE;
		goto out;
	}
	fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, cap, "%s: %s", out_path, strerror(errno));
		rc = errno == EEXIST ? AP_EEXIST : AP_EIO;
		goto out;
	}
	out = BIO_new_fd(fd, BIO_NOCLOSE);
	if (out == NULL || !CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) ||
	    BIO_flush(out) != 1) {
		ossl_err(err, cap,
			 "the key does not open this backup, or the file was altered or cut");
		rc = AP_ECRYPTO;
		goto out;
	}
	if (fsync(fd) < 0) {
		snprintf(err, cap, "%s: %s", out_path, strerror(errno));
		rc = AP_EIO;
	}
out:
	BIO_free(out);
	if (fd >= 0) {
		close(fd);
		if (rc < 0)
			unlink(out_path);
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}
