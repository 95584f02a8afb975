/* keystore.c - key files, permissions, TLS context, sealing. */
#include "keystore.h"
#include "ap_err.h"
#include "ap_cms.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_DAYS	    3650
#define SERVER_DAYS 825

struct keystore {
	char dir[4096];
	char ca_path[4200];
	char cert_path[4200];
	char key_path[4200];
	X509 *ca;
	EVP_PKEY *ca_key;
	X509 *server;
	EVP_PKEY *server_key;
	X509_STORE *trust;
	unsigned char secret[32];
};

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Writes data to dir/name with mode, failing if the file exists. */
static int write_new(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
		     char *err, size_t errcap)
{
	char path[4200];
	path_in(path, sizeof(path), dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	fchmod(fd, mode); /* umask must not widen or narrow it */
	ssize_t w = write(fd, data, len);
	if (w != (ssize_t)len || fsync(fd) < 0) {
		snprintf(err, errcap, "%s: write failed: %s", path, strerror(errno));
		close(fd);
		return AP_EIO;
	}
	close(fd);
	return 0;
}

static int write_pem_cert(const char *dir, const char *name, X509 *c, char *err, size_t cap)
{
	char *pem;
	size_t len;
	int rc = ap_x509_to_pem(c, &pem, &len);
	if (rc < 0)
		return rc;
	rc = write_new(dir, name, pem, len, 0644, err, cap);
	free(pem);
	return rc;
}

static int write_pem_key(const char *dir, const char *name, EVP_PKEY *k, char *err, size_t cap)
{
	char *pem;
	size_t len;
	int rc = ap_pkey_to_pem(k, &pem, &len);
	if (rc < 0)
		return rc;
	rc = write_new(dir, name, pem, len, 0600, err, cap);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

int keystore_create(const char *dir, const char *const *names, size_t n_names, char *err,
		    size_t errcap)
{
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca = NULL, *srv = NULL;
	unsigned char secret[32];
	int rc;

	if ((rc = ap_x509_new_ec_key(&ca_key)) < 0 ||
	    (rc = ap_x509_make_ca(ca_key, "Ardoise CA", "Ardoise", CA_DAYS, &ca)) < 0 ||
	    (rc = ap_x509_new_ec_key(&srv_key)) < 0 ||
	    (rc = ap_x509_issue_server(ca, ca_key, srv_key, names, n_names, SERVER_DAYS, &srv)) <
		0) {
		snprintf(err, errcap, "creating keys: %s", ap_strerror(rc));
		goto out;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		rc = AP_ECRYPTO;
		snprintf(err, errcap, "no randomness for secret.key");
		goto out;
	}
	if ((rc = write_pem_key(dir, "ca.key", ca_key, err, errcap)) < 0 ||
	    (rc = write_pem_cert(dir, "ca.pem", ca, err, errcap)) < 0 ||
	    (rc = write_pem_key(dir, "server.key", srv_key, err, errcap)) < 0 ||
	    (rc = write_pem_cert(dir, "server.pem", srv, err, errcap)) < 0 ||
	    (rc = write_new(dir, "secret.key", secret, sizeof(secret), 0600, err, errcap)) < 0)
		goto out;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	X509_free(ca);
	X509_free(srv);
	return rc;
}

/* Refuses key files that group or others can read or write. */
static int check_private(const char *path, char *err, size_t errcap)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errcap,
			 "%s: key file is readable by group or others (mode %04o); "
			 "run: chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		return AP_EPERM;
	}
	return 0;
}

static int read_file(const char *path, char **ret, size_t *ret_len, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	if (n < 0 || n > (1 << 20) || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errcap, "%s: cannot read", path);
		free(buf);
		fclose(f);
		return AP_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

static int add_anchors(X509_STORE *store, const char *path, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	X509 *c;
	int n = 0;
	if (f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_cert(store, c);
		X509_free(c);
		n++;
	}
	fclose(f);
	if (n == 0) {
		snprintf(err, errcap, "%s: no PEM certificate found", path);
		return AP_ECONFIG;
	}
	return 0;
}

/* Loads a certificate (ret_cert may be NULL to skip) and its private key. */
static int load_pair(const char *dir, const char *cert_name, const char *key_name, X509 **ret_cert,
		     EVP_PKEY **ret_key, char *err, size_t errcap)
{
	char path[4200], *pem = NULL;
	size_t len = 0;
	int rc;
	if (ret_cert) {
		path_in(path, sizeof(path), dir, cert_name);
		if ((rc = read_file(path, &pem, &len, err, errcap)) < 0)
			return rc;
		rc = ap_x509_from_pem(pem, len, ret_cert);
		free(pem);
		if (rc < 0) {
			snprintf(err, errcap, "%s: not a PEM certificate", path);
			return rc;
		}
	}
	path_in(path, sizeof(path), dir, key_name);
	if ((rc = read_file(path, &pem, &len, err, errcap)) < 0)
		return rc;
	rc = ap_pkey_from_pem(pem, len, ret_key);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (rc < 0)
		snprintf(err, errcap, "%s: not a PEM private key", path);
	return rc;
}

int keystore_open(const char *dir, const char *extra_ca, struct keystore **ret, char *err,
		  size_t errcap)
{
	struct keystore *ks = calloc(1, sizeof(*ks));
	char path[4200], *pem = NULL;
	size_t len;
	int rc;

	if (ks == NULL)
		return AP_ENOMEM;
	snprintf(ks->dir, sizeof(ks->dir), "%s", dir);
	path_in(ks->ca_path, sizeof(ks->ca_path), dir, "ca.pem");
	path_in(ks->cert_path, sizeof(ks->cert_path), dir, "server.pem");
	path_in(ks->key_path, sizeof(ks->key_path), dir, "server.key");
	static const char *const private_files[] = {"ca.key", "server.key", "secret.key"};
	for (size_t i = 0; i < 3; i++) {
		path_in(path, sizeof(path), dir, private_files[i]);
		if ((rc = check_private(path, err, errcap)) < 0)
			goto fail;
	}
	if ((rc = read_file(ks->ca_path, &pem, &len, err, errcap)) < 0)
		goto fail;
	rc = ap_x509_from_pem(pem, len, &ks->ca);
	free(pem);
	if (rc < 0) {
		snprintf(err, errcap, "%s: not a PEM certificate", ks->ca_path);
		goto fail;
	}
	if ((rc = load_pair(dir, "ca.pem", "ca.key", NULL, &ks->ca_key, err, errcap)) < 0 ||
	    (rc = load_pair(dir, "server.pem", "server.key", &ks->server, &ks->server_key, err,
			    errcap)) < 0)
		goto fail;
	path_in(path, sizeof(path), dir, "secret.key");
	if ((rc = read_file(path, &pem, &len, err, errcap)) < 0)
		goto fail;
	if (len != sizeof(ks->secret)) {
		OPENSSL_cleanse(pem, len);
		free(pem);
		snprintf(err, errcap, "%s: must hold exactly 32 bytes", path);
		rc = AP_ECONFIG;
		goto fail;
	}
	memcpy(ks->secret, pem, len);
	OPENSSL_cleanse(pem, len);
	free(pem);
	ks->trust = X509_STORE_new();
	if (ks->trust == NULL || X509_STORE_add_cert(ks->trust, ks->ca) != 1) {
		rc = AP_ENOMEM;
		goto fail;
	}
	if (extra_ca && extra_ca[0] && (rc = add_anchors(ks->trust, extra_ca, err, errcap)) < 0)
		goto fail;
	*ret = ks;
	return 0;
fail:
	keystore_free(ks);
	return rc;
}

void keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	X509_free(ks->ca);
	EVP_PKEY_free(ks->ca_key);
	X509_free(ks->server);
	EVP_PKEY_free(ks->server_key);
	X509_STORE_free(ks->trust);
	OPENSSL_cleanse(ks->secret, sizeof(ks->secret));
	free(ks);
}

int keystore_tls_ctx(struct keystore *ks, SSL_CTX **ret)
{
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(ks->ca));
	if (names == NULL || n == NULL || !sk_X509_NAME_push(names, n)) {
		X509_NAME_free(n);
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return AP_ENOMEM;
	}
	int rc = tls_ctx_new(ks->cert_path, ks->key_path, ks->trust, names, ret);
	if (rc < 0)
		sk_X509_NAME_pop_free(names, X509_NAME_free);
	return rc;
}

X509_STORE *keystore_device_trust(struct keystore *ks)
{
	return ks->trust;
}

X509 *keystore_ca_cert(struct keystore *ks)
{
	return ks->ca;
}

const char *keystore_ca_path(struct keystore *ks)
{
	return ks->ca_path;
}

int keystore_seal(struct keystore *ks, const void *plain, size_t len, const char *aad,
		  unsigned char **ret, size_t *ret_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unsigned char *out = malloc(12 + len + 16);
	int n = 0, rc = AP_ECRYPTO;
	if (c == NULL || out == NULL || len > (1u << 24)) {
		rc = c && out ? AP_ETOOBIG : AP_ENOMEM;
		goto out;
	}
	if (RAND_bytes(out, 12) != 1 ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, ks->secret, out) != 1 ||
	    (aad &&
	     EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1) ||
	    EVP_EncryptUpdate(c, out + 12, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, out + 12 + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) != 1)
		goto out;
	*ret = out;
	*ret_len = 12 + len + 16;
	out = NULL;
	rc = 0;
out:
	free(out);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int keystore_unseal(struct keystore *ks, const unsigned char *sealed, size_t len, const char *aad,
		    unsigned char **ret, size_t *ret_len)
{
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *out = NULL;
	int n = 0, rc = AP_ECRYPTO;
	if (len < 28)
		return AP_EPARSE;
	size_t plen = len - 28;
	c = EVP_CIPHER_CTX_new();
	out = malloc(plen + 1);
	if (c == NULL || out == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, ks->secret, sealed) != 1 ||
	    (aad &&
	     EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1) ||
	    EVP_DecryptUpdate(c, out, &n, sealed + 12, (int)plen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(sealed + 12 + plen)) != 1 ||
	    EVP_DecryptFinal_ex(c, out + n, &n) != 1)
		goto out;
	*ret = out;
	*ret_len = plen;
	out = NULL;
	rc = 0;
out:
	if (out)
		OPENSSL_cleanse(out, plen);
	free(out);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int keystore_sign(struct keystore *ks, const void *data, size_t len, unsigned char **ret_der,
		  size_t *ret_len)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	if (chain == NULL || !sk_X509_push(chain, ks->ca)) {
		sk_X509_free(chain);
		return AP_ENOMEM;
	}
	int rc = ap_cms_sign(data, len, ks->server, ks->server_key, chain, ret_der, ret_len);
	sk_X509_free(chain);
	return rc;
}

int keystore_scep_open(struct keystore *ks, const unsigned char *der, size_t len,
		       struct ap_scep_req **ret)
{
	return ap_scep_req_parse(der, len, ks->ca, ks->ca_key, ret);
}

int keystore_scep_issue(struct keystore *ks, struct ap_scep_req *req, int days, char ret_fp[65],
			unsigned char **ret_der, size_t *ret_len)
{
	X509 *cert = NULL;
	int rc = ap_x509_issue_client(ks->ca, ks->ca_key, ap_scep_req_csr(req), days, &cert);
	if (rc < 0)
		return rc;
	rc = ap_scep_certrep_success(req, cert, ks->ca, ks->ca_key, ret_der, ret_len);
	if (rc == 0)
		ap_x509_fingerprint(cert, ret_fp);
	X509_free(cert);
	return rc;
}

int keystore_scep_reject(struct keystore *ks, struct ap_scep_req *req, int fi,
			 unsigned char **ret_der, size_t *ret_len)
{
	return ap_scep_certrep_failure(req, (enum ap_scep_failinfo)fi, ks->ca, ks->ca_key, ret_der,
				       ret_len);
}

int keystore_scep_cacert(struct keystore *ks, unsigned char **ret_der, size_t *ret_len)
{
	return ap_scep_cacert(ks->ca, ret_der, ret_len);
}
