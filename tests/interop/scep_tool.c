/*
 * scep_tool - a command-line face of ap_scep for interoperability tests
 * against an independent SCEP implementation (tests/interop/scep_micromdm.py).
 * Test code: it reads and writes files, the library does not.
 *
 *   scep_tool caps
 *   scep_tool init-ca DIR                     writes DIR/ca.pem, DIR/ca.key (RSA-2048)
 *   scep_tool serve DIR CHALLENGE < req > rep answers one PKIOperation
 *   scep_tool request CA.pem KEY SS CN CHALLENGE CIPHER > req
 *                                             new RSA key -> KEY, self-signed -> SS
 *   scep_tool response CA.pem KEY SS < rep > cert.pem
 *
 * Exit status: 0 success, 1 error (message on stderr), 3 for a FAILURE
 * CertRep read by `response`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "ap_err.h"
#include "ap_scep.h"
#include "ap_x509.h"

static int die(const char *what, int rc)
{
	fprintf(stderr, "scep_tool: %s: %s\n", what, rc ? ap_strerror(rc) : "failed");
	return 1;
}

static unsigned char *slurp(FILE *fp, size_t *len)
{
	size_t cap = 1 << 20, n = 0, k;
	unsigned char *buf = malloc(cap + 1);
	if (buf == NULL)
		return NULL;
	while (n < cap && (k = fread(buf + n, 1, cap - n, fp)) > 0)
		n += k;
	buf[n] = '\0';
	*len = n;
	return buf;
}

static unsigned char *slurp_path(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	unsigned char *b = slurp(fp, len);
	fclose(fp);
	return b;
}

static int spit(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		return -1;
	size_t w = fwrite(data, 1, len, fp);
	return fclose(fp) == 0 && w == len ? 0 : -1;
}

static X509 *load_cert(const char *path)
{
	size_t len;
	X509 *c = NULL;
	char *pem = (char *)slurp_path(path, &len);
	if (pem != NULL && ap_x509_from_pem(pem, len, &c) != 0)
		c = NULL;
	free(pem);
	return c;
}

static EVP_PKEY *load_key(const char *path)
{
	size_t len;
	EVP_PKEY *k = NULL;
	char *pem = (char *)slurp_path(path, &len);
	if (pem != NULL && ap_pkey_from_pem(pem, len, &k) != 0)
		k = NULL;
	if (pem != NULL) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	return k;
}

static int save_cert(const char *path, X509 *c)
{
	char *pem;
	size_t len;
	if (ap_x509_to_pem(c, &pem, &len) != 0)
		return -1;
	int rc = spit(path, pem, len);
	free(pem);
	return rc;
}

static int save_key(const char *path, EVP_PKEY *k)
{
	char *pem;
	size_t len;
	if (ap_pkey_to_pem(k, &pem, &len) != 0)
		return -1;
	int rc = spit(path, pem, len);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

static int cmd_init_ca(const char *dir)
{
	char p[4096];
	EVP_PKEY *key = NULL;
	X509 *ca = NULL;
	int rc;
	if ((rc = ap_x509_new_rsa_key(2048, &key)) != 0)
		return die("key", rc);
	if ((rc = ap_x509_make_ca(key, "Ardoise interop CA", "Ardoise", 30, &ca)) != 0)
		return die("ca", rc);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	if (save_cert(p, ca) != 0)
		return die(p, 0);
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	if (save_key(p, key) != 0)
		return die(p, 0);
	X509_free(ca);
	EVP_PKEY_free(key);
	return 0;
}

static int cmd_serve(const char *dir, const char *challenge)
{
	char p[4096];
	size_t len, out_len;
	unsigned char *out = NULL;
	struct ap_scep_req *r = NULL;
	X509 *issued = NULL;
	int rc;
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	X509 *ca = load_cert(p);
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	EVP_PKEY *key = load_key(p);
	unsigned char *req = slurp(stdin, &len);
	if (ca == NULL || key == NULL || req == NULL)
		return die("load", 0);
	if ((rc = ap_scep_req_parse(req, len, ca, key, &r)) != 0)
		return die("parse", rc);
	const char *got = ap_scep_req_challenge(r);
	fprintf(stderr, "scep_tool: type=%d cipher=%d tid=%s\n", ap_scep_req_type(r),
		(int)ap_scep_req_cipher(r), ap_scep_req_transaction_id(r));
	if (got == NULL || strcmp(got, challenge) != 0) {
		rc = ap_scep_certrep_failure(r, AP_SCEP_BADREQUEST, ca, key, &out, &out_len);
		if (rc != 0)
			return die("certrep failure", rc);
	} else {
		if ((rc = ap_x509_issue_client(ca, key, ap_scep_req_csr(r), 30, &issued)) != 0)
			return die("issue", rc);
		if ((rc = ap_scep_certrep_success(r, issued, ca, key, &out, &out_len)) != 0)
			return die("certrep", rc);
	}
	fwrite(out, 1, out_len, stdout);
	free(out);
	X509_free(issued);
	ap_scep_req_free(r);
	free(req);
	EVP_PKEY_free(key);
	X509_free(ca);
	return 0;
}

static int cipher_by_name(const char *s, enum ap_scep_cipher *c)
{
	static const struct {
		const char *name;
		enum ap_scep_cipher c;
	} tab[] = {{"aes128", AP_SCEP_AES128},
		   {"aes192", AP_SCEP_AES192},
		   {"aes256", AP_SCEP_AES256},
		   {"des3", AP_SCEP_DES3},
		   {"des", AP_SCEP_DES}};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(s, tab[i].name) == 0) {
			*c = tab[i].c;
			return 0;
		}
	}
	return -1;
}

static int cmd_request(char **argv)
{
	enum ap_scep_cipher cipher;
	EVP_PKEY *key = NULL;
	X509 *ss = NULL;
	unsigned char *der = NULL;
	size_t len;
	int rc;
	X509 *ca = load_cert(argv[0]);
	if (ca == NULL || cipher_by_name(argv[5], &cipher) != 0)
		return die("arguments", 0);
	if ((rc = ap_x509_new_rsa_key(2048, &key)) != 0)
		return die("key", rc);
	if ((rc = ap_scep_client_request(key, argv[3], argv[4], ca, cipher, &der, &len, &ss)) != 0)
		return die("request", rc);
	if (save_key(argv[1], key) != 0 || save_cert(argv[2], ss) != 0)
		return die("save", 0);
	fwrite(der, 1, len, stdout);
	free(der);
	X509_free(ss);
	EVP_PKEY_free(key);
	X509_free(ca);
	return 0;
}

static int cmd_response(char **argv)
{
	size_t len = 0;
	X509 *cert = NULL;
	char *pem = NULL;
	size_t pem_len;
	int fi = -1, status = 1;
	X509 *ca = load_cert(argv[0]);
	EVP_PKEY *key = load_key(argv[1]);
	X509 *ss = load_cert(argv[2]);
	unsigned char *rep = slurp(stdin, &len);
	if (ca == NULL || key == NULL || ss == NULL || rep == NULL) {
		die("load", 0);
		goto out;
	}
	int rc = ap_scep_client_response(rep, len, ca, key, ss, &cert, &fi);
	if (rc == AP_EFORBIDDEN) {
		fprintf(stderr, "scep_tool: FAILURE failInfo=%d\n", fi);
		status = 3;
		goto out;
	}
	if (rc != 0) {
		die("response", rc);
		goto out;
	}
	if (ap_x509_to_pem(cert, &pem, &pem_len) != 0) {
		die("pem", 0);
		goto out;
	}
	fwrite(pem, 1, pem_len, stdout);
	status = 0;
out:
	free(pem);
	X509_free(cert);
	free(rep);
	X509_free(ss);
	EVP_PKEY_free(key);
	X509_free(ca);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "caps") == 0) {
		fputs(ap_scep_cacaps(), stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "init-ca") == 0)
		return cmd_init_ca(argv[2]);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argv[2], argv[3]);
	if (argc == 8 && strcmp(argv[1], "request") == 0)
		return cmd_request(argv + 2);
	if (argc == 5 && strcmp(argv[1], "response") == 0)
		return cmd_response(argv + 2);
	fprintf(stderr, "usage: see the comment at the top of scep_tool.c\n");
	return 2;
}
