/* keystore.c - key files, permissions, TLS contexts, sealing, the push identity. */
#include "keystore.h"
#include "ap_err.h"
#include "ap_cms.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "ap_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CA_DAYS	    3650
#define CA_RSA_BITS 2048
#define SERVER_DAYS 825

/* One set of device trust anchors, shared by reference: the keystore holds
 * one reference to the current set, each thread one to the set it uses. */
struct ks_trust {
	X509_STORE *store;
	char id[17];
	atomic_int refs;
};

struct keystore {
	char dir[4096];
	char ca_path[4200];
	char cert_path[4200];
	char key_path[4200];
	X509 *ca;
	EVP_PKEY *ca_key;
	X509 *server;
	EVP_PKEY *server_key;
	/* the device trust anchors now (under lock): keystore_trust_reload()
	 * replaces them; each thread uses the set it adopted (held, below) */
	pthread_mutex_t lock;
	struct ks_trust *trust;
	uint64_t serial; /* tells this keystore from one freed at the same address */
	unsigned char secret[32];
	unsigned char audit_key[32]; /* valid when has_audit_key */
	int has_audit_key;
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

/* Writes DIR/name: 32 random bytes, 0600 (refuses when it exists). */
static int write_random_key(const char *dir, const char *name, char *err, size_t errcap)
{
	unsigned char key[32];
	if (RAND_bytes(key, sizeof(key)) != 1) {
		snprintf(err, errcap, "no randomness for %s", name);
		return AP_ECRYPTO;
	}
	int rc = write_new(dir, name, key, sizeof(key), 0600, err, errcap);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
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

	/* The CA is RSA: iPads answer GetCACert's certificate by encrypting
	 * their SCEP request to it, and Apple's SCEP client encrypts to RSA
	 * keys only (Security's SecSCEP.c: "We don't support EC recipients
	 * for SCEP").  The TLS server key stays ECDSA P-256 (every session
	 * signs with it); the CA key works at enrolment only. */
	if ((rc = ap_x509_new_rsa_key(CA_RSA_BITS, &ca_key)) < 0 ||
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
	if ((rc = write_random_key(dir, "audit.key", err, errcap)) < 0)
		goto out;
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

int keystore_check_private(const char *path, const char *what, char *err, size_t errcap)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errcap,
			 "%s: %s is readable by group or others (mode %04o); "
			 "run: chmod %s %s",
			 path, what, (unsigned)(st.st_mode & 07777),
			 S_ISDIR(st.st_mode) ? "700" : "600", path);
		return AP_EPERM;
	}
	return 0;
}

static int check_private(const char *path, char *err, size_t errcap)
{
	return keystore_check_private(path, "key file", err, errcap);
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

static int cmp_fp(const void *a, const void *b)
{
	return memcmp(a, b, 65);
}

/* Names the set of anchors in t->store: the first 16 hex digits of the
 * SHA-256 of their sorted fingerprints (the order of device_ca's file
 * does not matter, its content does). */
static int name_trust(struct ks_trust *t)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(t->store);
	int n = sk_X509_OBJECT_num(objs), k = 0;
	char(*fps)[65] = calloc((size_t)(n > 0 ? n : 1), 65);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (fps == NULL)
		return AP_ENOMEM;
	for (int i = 0; i < n; i++) {
		X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		if (c)
			ap_x509_fingerprint(c, fps[k++]);
	}
	qsort(fps, (size_t)k, 65, cmp_fp);
	int ok = EVP_Digest(fps, (size_t)k * 65, md, &mdlen, EVP_sha256(), NULL);
	free(fps);
	if (!ok)
		return AP_ENOMEM;
	for (int i = 0; i < 8; i++)
		snprintf(t->id + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void trust_put(struct ks_trust *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
		X509_STORE_free(t->store);
		free(t);
	}
}

/* The CA and extra_ca's certificates (NULL or "": none), named. */
static int trust_new(X509 *ca, const char *extra_ca, struct ks_trust **ret, char *err,
		     size_t errcap)
{
	struct ks_trust *t = calloc(1, sizeof(*t));
	int rc = AP_ENOMEM;
	if (t == NULL)
		return AP_ENOMEM;
	atomic_init(&t->refs, 1);
	if ((t->store = X509_STORE_new()) == NULL || X509_STORE_add_cert(t->store, ca) != 1)
		goto fail;
	if (extra_ca && extra_ca[0] && (rc = add_anchors(t->store, extra_ca, err, errcap)) < 0)
		goto fail;
	if ((rc = name_trust(t)) < 0)
		goto fail;
	*ret = t;
	return 0;
fail:
	trust_put(t);
	return rc;
}

/* The set this thread uses, and the keystore it came from. */
static _Thread_local struct ks_trust *held;
static _Thread_local uint64_t held_serial;
static atomic_uint_fast64_t serials;

void keystore_trust_adopt(struct keystore *ks)
{
	pthread_mutex_lock(&ks->lock);
	struct ks_trust *t = ks->trust;
	atomic_fetch_add(&t->refs, 1);
	pthread_mutex_unlock(&ks->lock);
	trust_put(held);
	held = t;
	held_serial = ks->serial;
}

void keystore_trust_leave(void)
{
	trust_put(held);
	held = NULL;
	held_serial = 0;
}

/* This thread's set (adopted at its first use). */
static struct ks_trust *mine(struct keystore *ks)
{
	if (held == NULL || held_serial != ks->serial)
		keystore_trust_adopt(ks);
	return held;
}

int keystore_trust_reload(struct keystore *ks, const char *extra_ca, int *ret_changed, char *err,
			  size_t errcap)
{
	struct ks_trust *t = NULL, *old;
	int rc = trust_new(ks->ca, extra_ca, &t, err, errcap);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&ks->lock);
	int changed = strcmp(ks->trust->id, t->id) != 0;
	old = changed ? ks->trust : t;
	if (changed)
		ks->trust = t;
	pthread_mutex_unlock(&ks->lock);
	trust_put(old);
	*ret_changed = changed;
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

/* audit.key when present (a data dir from before has none until
 * keystore_audit_key_ensure() makes it): 0600, 32 bytes. */
static int load_audit_key(struct keystore *ks, char *err, size_t errcap)
{
	char path[4200], *raw = NULL;
	size_t len = 0;
	int rc;
	path_in(path, sizeof(path), ks->dir, "audit.key");
	if (access(path, F_OK) != 0)
		return 0;
	if ((rc = check_private(path, err, errcap)) < 0 ||
	    (rc = read_file(path, &raw, &len, err, errcap)) < 0)
		return rc;
	if (len == sizeof(ks->audit_key)) {
		memcpy(ks->audit_key, raw, len);
		ks->has_audit_key = 1;
	} else {
		snprintf(err, errcap, "%s: must hold exactly 32 bytes", path);
		rc = AP_ECONFIG;
	}
	OPENSSL_cleanse(raw, len);
	free(raw);
	return rc;
}

int keystore_audit_key_ensure(struct keystore *ks, int *ret_created, char *err, size_t errcap)
{
	int rc = 0;
	*ret_created = 0;
	if (ks->has_audit_key)
		return 0;
	if ((rc = write_random_key(ks->dir, "audit.key", err, errcap)) < 0 ||
	    (rc = load_audit_key(ks, err, errcap)) < 0)
		return rc;
	if (!ks->has_audit_key) {
		snprintf(err, errcap, "%s/audit.key: written but not read back", ks->dir);
		return AP_EIO;
	}
	*ret_created = 1;
	return 0;
}

const unsigned char *keystore_audit_key(const struct keystore *ks)
{
	return ks->has_audit_key ? ks->audit_key : NULL;
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
	pthread_mutex_init(&ks->lock, NULL);
	ks->serial = atomic_fetch_add(&serials, 1) + 1;
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
	if ((rc = load_audit_key(ks, err, errcap)) < 0)
		goto fail;
	if ((rc = trust_new(ks->ca, extra_ca, &ks->trust, err, errcap)) < 0)
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
	if (held_serial == ks->serial)
		keystore_trust_leave();
	trust_put(ks->trust);
	pthread_mutex_destroy(&ks->lock);
	OPENSSL_cleanse(ks->secret, sizeof(ks->secret));
	OPENSSL_cleanse(ks->audit_key, sizeof(ks->audit_key));
	free(ks);
}

int keystore_tls_ctx(struct keystore *ks, OSSL_LIB_CTX *libctx, struct ap_tls_sessions *sessions,
		     SSL_CTX **ret)
{
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(ks->ca));
	if (names == NULL || n == NULL || !sk_X509_NAME_push(names, n)) {
		X509_NAME_free(n);
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return AP_ENOMEM;
	}
	int rc = ap_tls_ctx_new(libctx, ks->cert_path, ks->key_path, mine(ks)->store, names,
				sessions, ret);
	if (rc < 0)
		sk_X509_NAME_pop_free(names, X509_NAME_free);
	return rc;
}

X509_STORE *keystore_device_trust(struct keystore *ks)
{
	return mine(ks)->store;
}

const char *keystore_device_trust_id(struct keystore *ks)
{
	return mine(ks)->id;
}

X509 *keystore_ca_cert(struct keystore *ks)
{
	return ks->ca;
}

X509 *keystore_server_cert(struct keystore *ks)
{
	return ks->server;
}

const char *keystore_ca_path(struct keystore *ks)
{
	return ks->ca_path;
}

/* What a sealed blob's tag covers besides the ciphertext: the format
 * version, the purpose's name and the owner ("unlock-token\0<udid>"), so
 * that a blob answers only the question it was sealed for. */
static const char *const purpose_names[] = {
    [KEYSTORE_UNLOCK_TOKEN] = "unlock-token", [KEYSTORE_BYPASS_CODE] = "bypass-code",
    [KEYSTORE_LOCATION] = "location",	      [KEYSTORE_COMMAND] = "command-secret",
    [KEYSTORE_ADE_TOKEN] = "ade-token",	      [KEYSTORE_VPP_TOKEN] = "vpp-token",
};

#define SEAL_V1	     1
#define SEAL_NONCE   12
#define SEAL_TAG     16
#define SEAL_V1_OVER (1 + SEAL_NONCE + SEAL_TAG)

/* Feeds the associated data to c: the version byte, then the purpose and
 * owner for v1; only the owner (may be NULL) for the legacy format. */
static int put_aad(EVP_CIPHER_CTX *c, int enc, int version, enum keystore_purpose p,
		   const char *owner)
{
	int n = 0;
	int (*up)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
	    enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
	if (version == SEAL_V1) {
		unsigned char v = SEAL_V1;
		const char *name = purpose_names[p];
		if (up(c, NULL, &n, &v, 1) != 1 ||
		    up(c, NULL, &n, (const unsigned char *)name, (int)strlen(name) + 1) != 1)
			return -1;
	}
	if (owner && owner[0] &&
	    up(c, NULL, &n, (const unsigned char *)owner, (int)strlen(owner)) != 1)
		return -1;
	return 0;
}

static int purpose_ok(enum keystore_purpose p)
{
	return (unsigned)p < sizeof(purpose_names) / sizeof(purpose_names[0]) &&
	       purpose_names[p] != NULL;
}

int keystore_seal(struct keystore *ks, enum keystore_purpose p, const char *owner,
		  const void *plain, size_t len, unsigned char **ret, size_t *ret_len)
{
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *out = NULL;
	int n = 0, rc = AP_ECRYPTO;
	if (!purpose_ok(p))
		return AP_EINVAL;
	if (len > (1u << 24))
		return AP_ETOOBIG;
	c = EVP_CIPHER_CTX_new();
	out = malloc(SEAL_V1_OVER + len);
	if (c == NULL || out == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	unsigned char *nonce = out + 1, *ct = nonce + SEAL_NONCE;
	out[0] = SEAL_V1;
	if (RAND_bytes(nonce, SEAL_NONCE) != 1 ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, ks->secret, nonce) != 1 ||
	    put_aad(c, 1, SEAL_V1, p, owner) < 0 ||
	    EVP_EncryptUpdate(c, ct, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, ct + len) != 1)
		goto out;
	*ret = out;
	*ret_len = SEAL_V1_OVER + len;
	out = NULL;
	rc = 0;
out:
	free(out);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* Opens nonce | ciphertext | tag (len bytes) under the given AAD. */
static int open_gcm(struct keystore *ks, const unsigned char *nonce, size_t len, int version,
		    enum keystore_purpose p, const char *owner, unsigned char **ret,
		    size_t *ret_len)
{
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *out = NULL;
	int n = 0, rc = AP_ECRYPTO;
	if (len < SEAL_NONCE + SEAL_TAG)
		return AP_EPARSE;
	size_t plen = len - SEAL_NONCE - SEAL_TAG;
	const unsigned char *ct = nonce + SEAL_NONCE;
	c = EVP_CIPHER_CTX_new();
	out = malloc(plen + 1);
	if (c == NULL || out == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, ks->secret, nonce) != 1 ||
	    put_aad(c, 0, version, p, owner) < 0 ||
	    EVP_DecryptUpdate(c, out, &n, ct, (int)plen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, (void *)(ct + plen)) != 1 ||
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

int keystore_unseal(struct keystore *ks, enum keystore_purpose p, const char *owner,
		    const unsigned char *sealed, size_t len, unsigned char **ret, size_t *ret_len)
{
	if (!purpose_ok(p))
		return AP_EINVAL;
	if (len < SEAL_V1_OVER || sealed[0] != SEAL_V1)
		return AP_EPARSE;
	return open_gcm(ks, sealed + 1, len - 1, SEAL_V1, p, owner, ret, ret_len);
}

int keystore_unseal_legacy(struct keystore *ks, const unsigned char *sealed, size_t len,
			   const char *aad, unsigned char **ret, size_t *ret_len)
{
	return open_gcm(ks, sealed, len, 0, KEYSTORE_UNLOCK_TOKEN, aad, ret, ret_len);
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

/* The push identity as read from its files. */
struct push_id {
	X509 *cert;
	EVP_PKEY *key; /* NULL when only the certificate was asked for */
	STACK_OF(X509) * chain;
};

static void push_id_free(struct push_id *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
	sk_X509_pop_free(id->chain, X509_free);
	memset(id, 0, sizeof(*id));
}

/* Never prompts: the passphrase comes from the configuration or is empty. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *p = u ? u : "";
	size_t n = strlen(p);
	(void)rwflag;
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p, n);
	return (int)n;
}

static int is_pem(const char *buf)
{
	return strstr(buf, "-----BEGIN") != NULL;
}

/* Certificate, then chain, from PEM text; the key too when want_key and
 * key_pem is not NULL. */
static int push_from_pem(const char *pem, size_t len, const char *key_pem, size_t key_len,
			 const char *pass, struct push_id *id)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *c;
	int rc = AP_EPARSE;
	if (b == NULL || (id->cert = PEM_read_bio_X509(b, NULL, pass_cb, NULL)) == NULL)
		goto out;
	if ((id->chain = sk_X509_new_null()) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	while ((c = PEM_read_bio_X509(b, NULL, pass_cb, NULL)) != NULL)
		if (!sk_X509_push(id->chain, c)) {
			X509_free(c);
			rc = AP_ENOMEM;
			goto out;
		}
	if (key_pem) {
		BIO_free(b);
		b = BIO_new_mem_buf(key_pem, (int)key_len);
		if (b == NULL ||
		    (id->key = PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)pass)) == NULL)
			goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

static int push_from_p12(const char *der, size_t len, const char *pass, struct push_id *id)
{
	BIO *b = BIO_new_mem_buf(der, (int)len);
	PKCS12 *p12 = b ? d2i_PKCS12_bio(b, NULL) : NULL;
	int rc = AP_EPARSE;
	if (p12 && PKCS12_parse(p12, pass ? pass : "", &id->key, &id->cert, &id->chain) == 1 &&
	    id->cert)
		rc = 0;
	PKCS12_free(p12);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

/* Reads the push identity.  want_key: also the key, from key_path or, when
 * that is empty, from the certificate file (whose mode is then checked). */
static int push_load(const char *cert_path, const char *key_path, const char *pass, int want_key,
		     struct push_id *id, char *err, size_t errcap)
{
	char *buf = NULL, *kbuf = NULL;
	size_t len = 0, klen = 0;
	int rc, has_key_file = key_path && key_path[0];
	memset(id, 0, sizeof(*id));
	if (want_key && (rc = check_private(has_key_file ? key_path : cert_path, err, errcap)) < 0)
		return rc;
	if ((rc = read_file(cert_path, &buf, &len, err, errcap)) < 0)
		return rc;
	if (is_pem(buf)) {
		if (want_key && has_key_file &&
		    (rc = read_file(key_path, &kbuf, &klen, err, errcap)) < 0)
			goto out;
		rc = push_from_pem(buf, len, want_key ? (kbuf ? kbuf : buf) : NULL,
				   kbuf ? klen : len, pass, id);
		if (rc < 0)
			snprintf(err, errcap, "%s: %s", want_key && kbuf ? key_path : cert_path,
				 id->cert ? "no readable private key (wrong passphrase?)"
					  : "no PEM certificate");
	} else {
		rc = push_from_p12(buf, len, pass, id);
		if (rc < 0)
			snprintf(err, errcap,
				 "%s: neither PEM nor a PKCS#12 file this passphrase opens (or its "
				 "encryption is a legacy one: re-export it with openssl pkcs12)",
				 cert_path);
		if (rc == 0 && !want_key) {
			EVP_PKEY_free(id->key);
			id->key = NULL;
		}
	}
out:
	if (rc < 0)
		push_id_free(id);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (kbuf)
		OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	return rc;
}

static int asn1_time_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return AP_EPARSE;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

/* The subject's UID (userId) as UTF-8. */
static int subject_uid(X509 *c, char *out, size_t cap)
{
	X509_NAME *n = X509_get_subject_name(c);
	int i = X509_NAME_get_index_by_NID(n, NID_userId, -1);
	unsigned char *u = NULL;
	if (i < 0)
		return AP_EMISSING;
	int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	int rc = AP_EPARSE;
	if (len > 0 && (size_t)len < cap && memchr(u, 0, (size_t)len) == NULL) {
		memcpy(out, u, (size_t)len);
		out[len] = '\0';
		rc = 0;
	}
	OPENSSL_free(u);
	return rc;
}

static void subject_line(X509 *c, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(c), 0, XN_FLAG_ONELINE) >= 0) {
		int n = BIO_read(b, out, (int)cap - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

static int describe(X509 *c, const char *path, struct keystore_push_info *ret, char *err,
		    size_t errcap)
{
	struct keystore_push_info info;
	memset(&info, 0, sizeof(info));
	subject_line(c, info.subject, sizeof(info.subject));
	int rc = subject_uid(c, info.topic, sizeof(info.topic));
	if (rc < 0) {
		snprintf(err, errcap,
			 "%s: the subject (%s) has no usable UID: not an MDM push certificate",
			 path, info.subject);
		return rc;
	}
	if (asn1_time_epoch(X509_get0_notBefore(c), &info.not_before) < 0 ||
	    asn1_time_epoch(X509_get0_notAfter(c), &info.not_after) < 0) {
		snprintf(err, errcap, "%s: unreadable validity dates", path);
		return AP_EPARSE;
	}
	*ret = info;
	return 0;
}

int keystore_push_info(const char *cert, const char *passphrase, struct keystore_push_info *ret,
		       char *err, size_t errcap)
{
	struct push_id id;
	int rc = push_load(cert, NULL, passphrase, 0, &id, err, errcap);
	if (rc < 0)
		return rc;
	rc = describe(id.cert, cert, ret, err, errcap);
	push_id_free(&id);
	return rc;
}

static int push_ctx_build(struct push_id *id, const char *ca, SSL_CTX **ret, char *err,
			  size_t errcap)
{
	static const unsigned char alpn[] = "\x02h2";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int rc = AP_ECRYPTO;
	if (ctx == NULL)
		return AP_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate(ctx, id->cert) != 1)
		goto out;
	for (int i = 0; i < sk_X509_num(id->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(id->chain, i)) != 1)
			goto out;
	if (SSL_CTX_use_PrivateKey(ctx, id->key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errcap, "the push private key does not match the certificate");
		rc = AP_EBADSIG;
		goto out;
	}
	SSL_CTX_set_default_verify_paths(ctx);
	if (ca && ca[0] && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, errcap, "%s: no PEM certificate to trust", ca);
		rc = AP_EIO;
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		goto out;
	*ret = ctx;
	ctx = NULL;
	rc = 0;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int keystore_push_ctx(const char *cert, const char *key, const char *passphrase, const char *ca,
		      SSL_CTX **ret, char *err, size_t errcap)
{
	struct keystore_push_info info;
	struct push_id id;
	char day[32];
	int rc = push_load(cert, key, passphrase, 1, &id, err, errcap);
	if (rc < 0)
		return rc;
	if ((rc = describe(id.cert, cert, &info, err, errcap)) < 0)
		goto out;
	int64_t now = (int64_t)time(NULL);
	if (now > info.not_after || now < info.not_before) {
		time_t t = (time_t)(now > info.not_after ? info.not_after : info.not_before);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(err, errcap, "%s: the push certificate %s %s", cert,
			 now > info.not_after ? "expired on" : "is not valid before", day);
		rc = AP_EBADSIG;
		goto out;
	}
	rc = push_ctx_build(&id, ca, ret, err, errcap);
out:
	push_id_free(&id);
	return rc;
}

/* ---- Automated Device Enrolment ------------------------------------------------------------- */

#define ADE_RSA_BITS 2048
#define ADE_DAYS     (10 * 365)
#define ADE_MAX_P7M  (1u << 20)

static int ade_make(const char *dir, char *err, size_t errcap)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_EXTENSION *ku = NULL;
	int rc = ap_x509_new_rsa_key(ADE_RSA_BITS, &key);
	if (rc == 0)
		rc = ap_x509_make_selfsigned(key, "Ardoise ADE", ADE_DAYS, &cert);
	/* NanoDEP's certificate: keyEncipherment and digitalSignature */
	if (rc == 0 &&
	    ((ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
				       "critical,digitalSignature,keyEncipherment")) == NULL ||
	     !X509_add_ext(cert, ku, -1) || !X509_sign(cert, key, EVP_sha256())))
		rc = AP_ECRYPTO;
	if (rc < 0)
		snprintf(err, errcap, "creating the ADE key pair: %s", ap_strerror(rc));
	if (rc == 0)
		rc = write_pem_key(dir, "ade.key", key, err, errcap);
	if (rc == 0)
		rc = write_pem_cert(dir, "ade.pem", cert, err, errcap);
	X509_EXTENSION_free(ku);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* Loads ade.pem and ade.key; AP_EMISSING when there is no key pair. */
static int ade_load(struct keystore *ks, X509 **ret_cert, EVP_PKEY **ret_key, char **ret_pem,
		    char *err, size_t errcap)
{
	char kpath[4200], cpath[4200], *pem = NULL, *kpem = NULL;
	size_t len = 0, klen = 0;
	path_in(kpath, sizeof(kpath), ks->dir, "ade.key");
	path_in(cpath, sizeof(cpath), ks->dir, "ade.pem");
	if (access(kpath, F_OK) < 0 || access(cpath, F_OK) < 0) {
		snprintf(err, errcap, "no ADE key pair yet (ardoisectl ade keypair)");
		return AP_EMISSING;
	}
	int rc = check_private(kpath, err, errcap);
	if (rc == 0)
		rc = read_file(cpath, &pem, &len, err, errcap);
	if (rc == 0 && ret_cert && (rc = ap_x509_from_pem(pem, len, ret_cert)) < 0)
		snprintf(err, errcap, "%s: not a certificate", cpath);
	if (rc == 0 && ret_key) {
		rc = read_file(kpath, &kpem, &klen, err, errcap);
		if (rc == 0 && (rc = ap_pkey_from_pem(kpem, klen, ret_key)) < 0)
			snprintf(err, errcap, "%s: not a private key", kpath);
		if (kpem)
			OPENSSL_cleanse(kpem, klen);
		free(kpem);
	}
	if (rc == 0 && ret_pem)
		*ret_pem = pem;
	else
		free(pem);
	return rc;
}

int keystore_ade_keypair(struct keystore *ks, char **ret_pem, int *ret_created, char *err,
			 size_t errcap)
{
	*ret_pem = NULL;
	*ret_created = 0;
	char kpath[4200];
	path_in(kpath, sizeof(kpath), ks->dir, "ade.key");
	if (access(kpath, F_OK) < 0) {
		int rc = ade_make(ks->dir, err, errcap);
		if (rc < 0)
			return rc;
		*ret_created = 1;
	}
	return ade_load(ks, NULL, NULL, ret_pem, err, errcap);
}

int keystore_ade_decrypt(struct keystore *ks, const void *p7m, size_t len, char **ret,
			 size_t *ret_len, char *err, size_t errcap)
{
	*ret = NULL;
	*ret_len = 0;
	if (len > ADE_MAX_P7M) {
		snprintf(err, errcap, "token file larger than %u bytes", ADE_MAX_P7M);
		return AP_ETOOBIG;
	}
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc = ade_load(ks, &cert, &key, NULL, err, errcap);
	if (rc < 0)
		return rc;
	BIO *in = BIO_new_mem_buf(p7m, (int)len), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = NULL;
	const unsigned char *b = p7m;
	if (!in || !out) {
		rc = AP_ENOMEM;
	} else if (len > 0 && b[0] == 0x30) {
		cms = d2i_CMS_bio(in, NULL);
	} else if (len > 10 && memmem(p7m, len, "-----BEGIN", 10)) {
		cms = PEM_read_bio_CMS(in, NULL, NULL, NULL);
	} else {
		cms = SMIME_read_CMS(in, NULL);
	}
	if (rc == 0 && (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped)) {
		rc = AP_EPARSE;
		snprintf(err, errcap, "not an S/MIME or CMS encrypted message");
	}
	if (rc == 0 && CMS_decrypt(cms, key, cert, NULL, out, 0) != 1) {
		rc = AP_ECRYPTO;
		snprintf(err, errcap,
			 "the token is not encrypted to this server's ADE certificate");
	}
	if (rc == 0) {
		char *data = NULL;
		long n = BIO_get_mem_data(out, &data);
		if (n < 0 || (*ret = malloc((size_t)n + 1)) == NULL) {
			rc = AP_ENOMEM;
		} else {
			memcpy(*ret, data, (size_t)n);
			(*ret)[n] = '\0';
			*ret_len = (size_t)n;
			OPENSSL_cleanse(data, (size_t)n);
		}
	}
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
