/* ap_x509.c - keys and certificates (see ap_x509.h for the contracts). */
#include "ap_x509.h"
#include "ap_err.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define DAYS_MAX	 36500
#define BACKDATE_SECONDS 300
#define SERIAL_BITS	 128
#define DNS_NAME_MAX	 253

static int days_ok(int days)
{
	return days >= 1 && days <= DAYS_MAX;
}

/* RSA and EC are the key types we sign with (SHA-256 digest). */
static int signing_key_ok(EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key);
	return id == EVP_PKEY_RSA || id == EVP_PKEY_EC;
}

/* The end of a key generation: key (NULL when it failed) into *ret, the
 * OpenSSL error queue left as it was. */
static int keygen_done(EVP_PKEY *key, EVP_PKEY **ret)
{
	ERR_pop_to_mark();
	if (key == NULL)
		return AP_ECRYPTO;
	*ret = key;
	return 0;
}

int ap_x509_new_ec_key(EVP_PKEY **ret)
{
	if (ret == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	return keygen_done(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), ret);
}

int ap_x509_new_rsa_key(int bits, EVP_PKEY **ret)
{
	if (ret == NULL || bits < 1024 || bits > 8192)
		return AP_EINVAL;
	ERR_set_mark();
	return keygen_done(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits), ret);
}

static int set_random_serial(X509 *cert)
{
	int rc = AP_ECRYPTO;
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = BN_new();
	if (bn == NULL)
		goto out;
	do {
		if (!BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
			goto out;
	} while (BN_is_zero(bn));
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai == NULL || !X509_set_serialNumber(cert, ai))
		goto out;
	rc = 0;
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/* A v3 certificate with serial, validity and public key set. */
static int new_cert(EVP_PKEY *pub, int days, X509 **ret)
{
	int rc = AP_ECRYPTO;
	X509 *cert = X509_new();
	if (cert == NULL)
		goto out;
	if (!X509_set_version(cert, X509_VERSION_3))
		goto out;
	if ((rc = set_random_serial(cert)) < 0)
		goto out;
	rc = AP_ECRYPTO;
	if (X509_gmtime_adj(X509_getm_notBefore(cert), -BACKDATE_SECONDS) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) == NULL)
		goto out;
	if (!X509_set_pubkey(cert, pub))
		goto out;
	*ret = cert;
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	return rc;
}

/* Adds one extension written in openssl.cnf syntax ("critical,CA:TRUE"). */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return AP_ECRYPTO;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : AP_ECRYPTO;
}

static int name_add(X509_NAME *name, const char *field, const char *value)
{
	if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value,
					-1, -1, 0))
		return AP_EINVAL;
	return 0;
}

/* Subject (and issuer, for a self-signed certificate) "O=org, CN=cn". */
static int set_self_name(X509 *cert, const char *cn, const char *org)
{
	int rc = AP_ENOMEM;
	X509_NAME *name = X509_NAME_new();
	if (name == NULL)
		goto out;
	if (org != NULL && (rc = name_add(name, "O", org)) < 0)
		goto out;
	if ((rc = name_add(name, "CN", cn)) < 0)
		goto out;
	rc = AP_ECRYPTO;
	if (!X509_set_subject_name(cert, name) || !X509_set_issuer_name(cert, name))
		goto out;
	rc = 0;
out:
	X509_NAME_free(name);
	return rc;
}

static int sign(X509 *cert, EVP_PKEY *key)
{
	return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : AP_ECRYPTO;
}

/* The extensions of a self-signed CA, or of a plain self-signed cert. */
static int add_self_exts(X509 *cert, EVP_PKEY *key, int ca)
{
	int rc;
	if (!ca)
		return add_ext(cert, cert, NID_basic_constraints, "critical,CA:FALSE");
	const char *ku = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
			     ? "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign"
			     : "critical,keyCertSign,cRLSign";
	if ((rc = add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
	    (rc = add_ext(cert, cert, NID_key_usage, ku)) < 0)
		return rc;
	return add_ext(cert, cert, NID_subject_key_identifier, "hash");
}

/* The end of a certificate build: on success (rc >= 0) cert into *ret,
 * else cert freed; the OpenSSL error queue left as at ERR_set_mark(): rc. */
static int cert_done(X509 *cert, int rc, X509 **ret)
{
	if (rc >= 0)
		*ret = cert;
	else
		X509_free(cert);
	ERR_pop_to_mark();
	return rc;
}

static int make_self(EVP_PKEY *key, const char *cn, const char *org, int days, int ca, X509 **ret)
{
	int rc;
	X509 *cert = NULL;
	if (key == NULL || cn == NULL || *cn == '\0' || ret == NULL || !days_ok(days))
		return AP_EINVAL;
	if (!signing_key_ok(key))
		return AP_EUNSUPPORTED;
	ERR_set_mark();
	if ((rc = new_cert(key, days, &cert)) >= 0 && (rc = set_self_name(cert, cn, org)) >= 0 &&
	    (rc = add_self_exts(cert, key, ca)) >= 0)
		rc = sign(cert, key);
	return cert_done(cert, rc, ret);
}

int ap_x509_make_ca(EVP_PKEY *key, const char *cn, const char *org, int days, X509 **ret)
{
	return make_self(key, cn, org, days, 1, ret);
}

int ap_x509_make_selfsigned(EVP_PKEY *key, const char *cn, int days, X509 **ret)
{
	return make_self(key, cn, NULL, days, 0, ret);
}

/*
 * An end-entity certificate for `pub` named `subject`, issued by ca: serial,
 * validity, names, basicConstraints CA:FALSE, SKI and AKI.  The caller adds
 * the usage extensions and signs.  Called inside an error mark.
 */
static int new_leaf(X509 *ca, EVP_PKEY *pub, const X509_NAME *subject, int days, X509 **ret)
{
	int rc;
	X509 *cert = NULL;
	if ((rc = new_cert(pub, days, &cert)) < 0)
		goto out;
	rc = AP_ECRYPTO;
	if (!X509_set_subject_name(cert, subject) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(ca)))
		goto out;
	if ((rc = add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (rc = add_ext(cert, ca, NID_subject_key_identifier, "hash")) < 0 ||
	    (rc = add_ext(cert, ca, NID_authority_key_identifier, "keyid")) < 0)
		goto out;
	*ret = cert;
	cert = NULL;
out:
	X509_free(cert);
	return rc;
}

static int ca_ok(X509 *ca, EVP_PKEY *ca_key)
{
	return signing_key_ok(ca_key) && X509_check_private_key(ca, ca_key) == 1;
}

/* One subjectAltName entry: iPAddress when `s` parses as an address. */
static int push_general_name(GENERAL_NAMES *gens, const char *s)
{
	int rc = AP_ECRYPTO;
	size_t len = strlen(s);
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);
	ASN1_IA5STRING *dns = NULL;
	if (gn == NULL)
		goto out;
	if (ip != NULL) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		ip = NULL;
	} else {
		rc = AP_EINVAL;
		if (len == 0 || len > DNS_NAME_MAX)
			goto out;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
				goto out;
		rc = AP_ECRYPTO;
		dns = ASN1_IA5STRING_new();
		if (dns == NULL || !ASN1_STRING_set(dns, s, (int)len))
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
		dns = NULL;
	}
	rc = AP_ECRYPTO;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto out;
	gn = NULL;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ip);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(gn);
	return rc;
}

static int add_san(X509 *cert, const char *const *names, size_t n_names)
{
	int rc = AP_ECRYPTO;
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	if (gens == NULL)
		goto out;
	for (size_t i = 0; i < n_names; i++) {
		if (names[i] == NULL) {
			rc = AP_EINVAL;
			goto out;
		}
		if ((rc = push_general_name(gens, names[i])) < 0)
			goto out;
	}
	rc = AP_ECRYPTO;
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

int ap_x509_issue_server(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *const *names,
			 size_t n_names, int days, X509 **ret)
{
	int rc = AP_EINVAL;
	X509 *cert = NULL;
	X509_NAME *subject = NULL;
	if (ca == NULL || ca_key == NULL || key == NULL || names == NULL || n_names == 0 ||
	    names[0] == NULL || ret == NULL || !days_ok(days))
		return AP_EINVAL;
	ERR_set_mark();
	if (!ca_ok(ca, ca_key))
		goto out;
	rc = AP_ENOMEM;
	if ((subject = X509_NAME_new()) == NULL)
		goto out;
	if ((rc = name_add(subject, "CN", names[0])) < 0)
		goto out;
	if ((rc = new_leaf(ca, key, subject, days, &cert)) < 0)
		goto out;
	const char *ku = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
			     ? "critical,digitalSignature,keyEncipherment"
			     : "critical,digitalSignature";
	if ((rc = add_ext(cert, ca, NID_key_usage, ku)) < 0 ||
	    (rc = add_ext(cert, ca, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (rc = add_san(cert, names, n_names)) < 0)
		goto out;
	rc = sign(cert, ca_key);
out:
	X509_NAME_free(subject);
	return cert_done(cert, rc, ret);
}

int ap_x509_issue_client(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, int days, X509 **ret)
{
	int rc = AP_EINVAL;
	X509 *cert = NULL;
	if (ca == NULL || ca_key == NULL || csr == NULL || ret == NULL || !days_ok(days))
		return AP_EINVAL;
	ERR_set_mark();
	if (!ca_ok(ca, ca_key))
		goto out;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	rc = AP_EBADSIG;
	if (pub == NULL || X509_REQ_verify(csr, pub) != 1)
		goto out;
	const X509_NAME *subject = X509_REQ_get_subject_name(csr);
	rc = AP_EINVAL;
	if (subject == NULL || X509_NAME_entry_count(subject) == 0)
		goto out;
	if ((rc = new_leaf(ca, pub, subject, days, &cert)) < 0)
		goto out;
	const char *ku = "critical,digitalSignature,keyEncipherment";
	if ((rc = add_ext(cert, ca, NID_key_usage, ku)) < 0 ||
	    (rc = add_ext(cert, ca, NID_ext_key_usage, "clientAuth")) < 0)
		goto out;
	rc = sign(cert, ca_key);
out:
	return cert_done(cert, rc, ret);
}

int ap_x509_subject_cn(X509 *cert, char **ret)
{
	int rc = AP_ENOTFOUND;
	unsigned char *utf8 = NULL;
	if (cert == NULL || ret == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	const X509_NAME *name = X509_get_subject_name(cert);
	int idx = -1;
	for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;)
		idx = i;
	if (idx < 0)
		goto out;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	int len = ASN1_STRING_to_UTF8(&utf8, s);
	rc = AP_EPARSE;
	if (len < 0 || memchr(utf8, '\0', (size_t)len) != NULL)
		goto out;
	rc = AP_ENOMEM;
	char *copy = malloc((size_t)len + 1);
	if (copy == NULL)
		goto out;
	memcpy(copy, utf8, (size_t)len);
	copy[len] = '\0';
	*ret = copy;
	rc = 0;
out:
	OPENSSL_free(utf8);
	ERR_pop_to_mark();
	return rc;
}

void ap_x509_fingerprint(X509 *cert, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = '\0';
	if (cert == NULL)
		return;
	ERR_set_mark();
	if (X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32) {
		for (unsigned int i = 0; i < n; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 15];
		}
		out[64] = '\0';
	}
	ERR_pop_to_mark();
}

int ap_x509_client_chain_ok(X509 *cert, STACK_OF(X509) * untrusted, X509_STORE *trust)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	if (cert == NULL || trust == NULL || ctx == NULL ||
	    X509_STORE_CTX_init(ctx, trust, cert, untrusted) != 1)
		goto out;
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
		goto out;
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* Copies the memory BIO's contents into a malloc'd NUL-terminated buffer. */
static int bio_to_string(BIO *b, char **ret, size_t *ret_len)
{
	BUF_MEM *bm = NULL;
	BIO_get_mem_ptr(b, &bm);
	if (bm == NULL)
		return AP_ECRYPTO;
	char *s = malloc(bm->length + 1);
	if (s == NULL)
		return AP_ENOMEM;
	memcpy(s, bm->data, bm->length);
	s[bm->length] = '\0';
	*ret = s;
	if (ret_len != NULL)
		*ret_len = bm->length;
	return 0;
}

/* Frees b and drops what OpenSSL queued since ERR_set_mark(): rc. */
static int bio_done(BIO *b, int rc)
{
	BIO_free(b);
	ERR_pop_to_mark();
	return rc;
}

/* What was written into b (when written) as a string: the end of the
 * *_to_pem functions. */
static int pem_out(BIO *b, int written, char **ret, size_t *ret_len)
{
	return bio_done(b, written ? bio_to_string(b, ret, ret_len) : AP_ECRYPTO);
}

int ap_x509_to_pem(X509 *cert, char **ret, size_t *ret_len)
{
	if (cert == NULL || ret == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	BIO *b = BIO_new(BIO_s_mem());
	return pem_out(b, b != NULL && PEM_write_bio_X509(b, cert), ret, ret_len);
}

int ap_x509_to_der(X509 *cert, unsigned char **ret, size_t *ret_len)
{
	int rc = AP_ECRYPTO;
	if (cert == NULL || ret == NULL || ret_len == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	int n = i2d_X509(cert, NULL);
	if (n <= 0)
		goto out;
	rc = AP_ENOMEM;
	unsigned char *der = malloc((size_t)n);
	if (der == NULL)
		goto out;
	unsigned char *p = der;
	if (i2d_X509(cert, &p) != n) {
		free(der);
		rc = AP_ECRYPTO;
		goto out;
	}
	*ret = der;
	*ret_len = (size_t)n;
	rc = 0;
out:
	ERR_pop_to_mark();
	return rc;
}

/* Refuses to prompt for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* 1 when the n bytes of `needle` occur in hay[0..len). */
static int contains(const char *hay, size_t len, const char *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Reads one object from `len` bytes of PEM with `read`: AP_EPARSE when
 * there is none, the OpenSSL error queue left as it was. */
static int pem_read(const char *pem, size_t len, void *(*read)(BIO *), void **ret)
{
	int rc = AP_ENOMEM;
	if (pem == NULL)
		return AP_EINVAL;
	if (len > AP_X509_MAX_PEM)
		return AP_ETOOBIG;
	ERR_set_mark();
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL) {
		*ret = read(b);
		rc = *ret != NULL ? 0 : AP_EPARSE;
	}
	return bio_done(b, rc);
}

static void *read_x509(BIO *b)
{
	return PEM_read_bio_X509(b, NULL, NULL, NULL);
}

int ap_x509_from_pem(const char *pem, size_t len, X509 **ret)
{
	void *cert = NULL;
	int rc = ret != NULL ? pem_read(pem, len, read_x509, &cert) : AP_EINVAL;
	if (rc == 0)
		*ret = cert;
	return rc;
}

int ap_pkey_to_pem(EVP_PKEY *key, char **ret, size_t *ret_len)
{
	if (key == NULL || ret == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	/* secure-heap memory BIO: cleansed when freed */
	BIO *b = BIO_new(BIO_s_secmem());
	return pem_out(
	    b, b != NULL && PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), ret,
	    ret_len);
}

static void *read_pkey(BIO *b)
{
	return PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
}

int ap_pkey_from_pem(const char *pem, size_t len, EVP_PKEY **ret)
{
	void *key = NULL;
	/* an encrypted key is refused: nothing may prompt for a passphrase */
	if (pem != NULL && ret != NULL && len <= AP_X509_MAX_PEM &&
	    contains(pem, len, "ENCRYPTED", 9))
		return AP_EUNSUPPORTED;
	int rc = ret != NULL ? pem_read(pem, len, read_pkey, &key) : AP_EINVAL;
	if (rc == 0)
		*ret = key;
	return rc;
}
