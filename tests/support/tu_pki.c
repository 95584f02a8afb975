/* tu_pki.c - the test PKI (see tu_pki.h). */
#include "tu_pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

EVP_PKEY *tu_key(const char *kind)
{
	if (strcmp(kind, "rsa") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* The extensions of spec->kind; iss is the signing certificate. */
static int add_kind_exts(X509 *x, X509 *iss, const struct tu_cert_spec *spec)
{
	if (spec->kind == TU_CERT_CA)
		return add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") ||
		       add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment"))
		return -1;
	if (spec->kind == TU_CERT_CLIENT)
		return add_ext(x, iss, NID_ext_key_usage, "clientAuth");
	return add_ext(x, iss, NID_ext_key_usage, "serverAuth") ||
	       (spec->san && add_ext(x, iss, NID_subject_alt_name, spec->san));
}

static X509_NAME *subject_of(const struct tu_cert_spec *spec)
{
	X509_NAME *name = X509_NAME_new();
	if (name == NULL)
		return NULL;
	if (spec->uid)
		X509_NAME_add_entry_by_NID(name, NID_userId, MBSTRING_UTF8,
					   (const unsigned char *)spec->uid, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn, -1,
				   -1, 0);
	return name;
}

X509 *tu_cert_new(const struct tu_cert_spec *spec)
{
	static long serial = 1;
	int dated = spec->from_s || spec->to_s;
	X509 *x = X509_new();
	X509_NAME *name = subject_of(spec);

	if (x == NULL || name == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), dated ? spec->from_s : -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), dated ? spec->to_s : 86400L * 365);
	X509_set_pubkey(x, spec->key);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, spec->issuer ? X509_get_subject_name(spec->issuer) : name);
	X509 *iss = spec->issuer ? spec->issuer : x;
	if (add_kind_exts(x, iss, spec) || add_ext(x, iss, NID_subject_key_identifier, "hash"))
		goto fail;
	if (X509_sign(x, spec->issuer_key ? spec->issuer_key : spec->key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

X509 *tu_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int is_ca)
{
	struct tu_cert_spec spec = {.cn = cn,
				    .key = key,
				    .issuer = issuer,
				    .issuer_key = issuer_key,
				    .kind = is_ca ? TU_CERT_CA : TU_CERT_CLIENT};
	return tu_cert_new(&spec);
}

X509_REQ *tu_csr(EVP_PKEY *key, const char *cn)
{
	X509_REQ *csr = X509_REQ_new();
	if (csr == NULL || !X509_REQ_set_pubkey(csr, key) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr), "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    X509_REQ_sign(csr, key, EVP_sha256()) <= 0) {
		X509_REQ_free(csr);
		return NULL;
	}
	return csr;
}

int tu_write_pem(const char *path, X509 *cert, EVP_PKEY *key, const char *pass, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int ok;
	if (cert)
		ok = PEM_write_X509(f, cert);
	else if (pass)
		ok = PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(), (const unsigned char *)pass,
					  (int)strlen(pass), NULL, NULL);
	else
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || ok != 1 || chmod(path, mode) != 0)
		return -1;
	return 0;
}

int tu_write_pem_in(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, const char *pass,
		    mode_t mode)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tu_write_pem(path, cert, key, pass, mode);
}
