/* Unit tests for ap_x509: keys, CA, server and client certificates, PEM/DER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ap_err.h"
#include "ap_x509.h"
#include "tu_pki.h"

struct fixture {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *rsa;
	EVP_PKEY *ec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || ap_x509_new_ec_key(&f->ca_key) != 0 ||
	    ap_x509_make_ca(f->ca_key, "Ardoise Test CA", "Ardoise", 3650, &f->ca) != 0 ||
	    ap_x509_new_rsa_key(2048, &f->rsa) != 0 || ap_x509_new_ec_key(&f->ec) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY_free(f->ca_key);
	X509_free(f->ca);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->ec);
	free(f);
	return 0;
}

/* Verifies cert against the single trusted CA for an X509_PURPOSE_*. */
static int chain_ok(X509 *ca, X509 *cert, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = store && ctx && X509_STORE_add_cert(store, ca) &&
		 X509_STORE_CTX_init(ctx, store, cert, NULL) &&
		 X509_STORE_CTX_set_purpose(ctx, purpose) && X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void test_ca(void **state)
{
	struct fixture *f = *state;
	X509 *ca = f->ca;
	assert_int_equal(X509_check_ca(ca), 1);
	uint32_t ku = X509_get_key_usage(ca);
	assert_true(ku & KU_KEY_CERT_SIGN);
	assert_true(ku & KU_CRL_SIGN);
	assert_false(ku & KU_DIGITAL_SIGNATURE);
	assert_non_null(X509_get0_subject_key_id(ca));
	assert_int_equal(X509_verify(ca, f->ca_key), 1);
	int crit = -1;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	/* 128-bit random serial: at most 17 DER content bytes, not zero */
	const ASN1_INTEGER *serial = X509_get0_serialNumber(ca);
	assert_true(ASN1_STRING_length(serial) >= 8 && ASN1_STRING_length(serial) <= 17);
	assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);

	char *cn = NULL;
	assert_int_equal(ap_x509_subject_cn(ca, &cn), 0);
	assert_string_equal(cn, "Ardoise Test CA");
	free(cn);
	int idx = X509_NAME_get_index_by_NID(X509_get_subject_name(ca), NID_organizationName, -1);
	assert_true(idx >= 0);

	/* org NULL, RSA CA */
	X509 *ca2 = NULL;
	assert_int_equal(ap_x509_make_ca(f->rsa, "RSA CA", NULL, 1, &ca2), 0);
	assert_int_equal(
	    X509_NAME_get_index_by_NID(X509_get_subject_name(ca2), NID_organizationName, -1), -1);
	assert_int_equal(X509_get_signature_nid(ca2), NID_sha256WithRSAEncryption);
	X509_free(ca2);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	X509 *c = (X509 *)0x1;
	EVP_PKEY *k = (EVP_PKEY *)0x1;
	assert_int_equal(ap_x509_make_ca(f->ca_key, "x", NULL, 0, &c), AP_EINVAL);
	assert_int_equal(ap_x509_make_ca(f->ca_key, "", NULL, 10, &c), AP_EINVAL);
	char longcn[80];
	memset(longcn, 'a', sizeof(longcn) - 1);
	longcn[sizeof(longcn) - 1] = '\0';
	assert_int_equal(ap_x509_make_ca(f->ca_key, longcn, NULL, 10, &c), AP_EINVAL);
	assert_int_equal(ap_x509_new_rsa_key(512, &k), AP_EINVAL);
	assert_ptr_equal(c, (X509 *)0x1); /* outputs untouched on error */
	assert_ptr_equal(k, (EVP_PKEY *)0x1);
	/* CA key that does not match the CA certificate */
	const char *names[] = {"localhost"};
	assert_int_equal(ap_x509_issue_server(f->ca, f->ec, f->ec, names, 1, 10, &c), AP_EINVAL);
	const char *bad[] = {"has space"};
	assert_int_equal(ap_x509_issue_server(f->ca, f->ca_key, f->ec, bad, 1, 10, &c), AP_EINVAL);
	assert_int_equal(ap_x509_issue_server(f->ca, f->ca_key, f->ec, names, 0, 10, &c),
			 AP_EINVAL);
	assert_ptr_equal(c, (X509 *)0x1);
	assert_int_equal(ERR_peek_error(), 0); /* error queue left clean */
}

static void check_server(struct fixture *f, EVP_PKEY *key, int rsa)
{
	const char *names[] = {"localhost", "127.0.0.1", "::1", "mdm.example.org"};
	X509 *cert = NULL;
	assert_int_equal(ap_x509_issue_server(f->ca, f->ca_key, key, names, 4, 397, &cert), 0);
	assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "mdm.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "other.example.org", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.2", 0), 0);
	/* the IP entry is an iPAddress, not a dNSName */
	assert_int_equal(X509_check_host(cert, "127.0.0.1", 0, 0, NULL), 0);
	assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
	uint32_t ku = X509_get_key_usage(cert);
	assert_true(ku & KU_DIGITAL_SIGNATURE);
	assert_int_equal(!!(ku & KU_KEY_ENCIPHERMENT), rsa);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_non_null(X509_get0_authority_key_id(cert));
	assert_non_null(X509_get0_subject_key_id(cert));
	assert_true(chain_ok(f->ca, cert, X509_PURPOSE_SSL_SERVER));
	char *cn = NULL;
	assert_int_equal(ap_x509_subject_cn(cert, &cn), 0);
	assert_string_equal(cn, "localhost");
	free(cn);
	X509_free(cert);
}

static void test_server(void **state)
{
	struct fixture *f = *state;
	check_server(f, f->ec, 0);
	check_server(f, f->rsa, 1);
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *cn)
{
	X509_REQ *csr = tu_csr(key, cn);
	assert_non_null(csr);
	return csr;
}

static void test_client(void **state)
{
	struct fixture *f = *state;
	X509_REQ *csr = make_csr(f->rsa, "iPad-0001 é");
	X509 *cert = NULL;
	assert_int_equal(ap_x509_issue_client(f->ca, f->ca_key, csr, 365, &cert), 0);
	char *cn = NULL;
	assert_int_equal(ap_x509_subject_cn(cert, &cn), 0);
	assert_string_equal(cn, "iPad-0001 é");
	free(cn);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), f->rsa), 1);
	assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
	uint32_t ku = X509_get_key_usage(cert);
	assert_true((ku & (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)) ==
		    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
	assert_int_equal(X509_check_ca(cert), 0);
	assert_true(chain_ok(f->ca, cert, X509_PURPOSE_SSL_CLIENT));
	assert_false(chain_ok(f->ca, cert, X509_PURPOSE_SSL_SERVER));
	X509 *cert2 = NULL;
	assert_int_equal(ap_x509_issue_client(f->ca, f->ca_key, csr, 365, &cert2), 0);
	assert_int_not_equal(
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(cert), X509_get0_serialNumber(cert2)), 0);
	X509_free(cert2);
	X509_free(cert);

	/* the CSR's signature no longer matches its (replaced) public key */
	assert_true(X509_REQ_set_pubkey(csr, f->ec));
	X509 *bad = NULL;
	assert_int_equal(ap_x509_issue_client(f->ca, f->ca_key, csr, 365, &bad), AP_EBADSIG);
	assert_null(bad);
	X509_REQ_free(csr);
}

static void test_pem_der(void **state)
{
	struct fixture *f = *state;
	char *pem = NULL;
	size_t pem_len = 0;
	assert_int_equal(ap_x509_to_pem(f->ca, &pem, &pem_len), 0);
	assert_int_equal(strlen(pem), pem_len);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	X509 *back = NULL;
	assert_int_equal(ap_x509_from_pem(pem, pem_len, &back), 0);
	assert_int_equal(X509_cmp(back, f->ca), 0);
	X509_free(back);
	back = NULL;
	assert_int_equal(ap_x509_from_pem(pem, pem_len / 2, &back), AP_EPARSE);
	assert_int_equal(ap_x509_from_pem("garbage", 7, &back), AP_EPARSE);
	assert_int_equal(ap_x509_from_pem(pem, AP_X509_MAX_PEM + 1, &back), AP_ETOOBIG);
	assert_null(back);
	free(pem);

	unsigned char *der = NULL;
	size_t der_len = 0;
	assert_int_equal(ap_x509_to_der(f->ca, &der, &der_len), 0);
	const unsigned char *p = der;
	X509 *d = d2i_X509(NULL, &p, (long)der_len);
	assert_non_null(d);
	assert_int_equal(X509_cmp(d, f->ca), 0);
	X509_free(d);

	char fp[65];
	ap_x509_fingerprint(f->ca, fp);
	assert_int_equal(strlen(fp), 64);
	unsigned char md[32];
	unsigned int n;
	assert_true(EVP_Digest(der, der_len, md, &n, EVP_sha256(), NULL));
	char want[65];
	for (unsigned int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(fp, want);
	free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_pkey_pem(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *keys[] = {f->ec, f->rsa};
	for (size_t i = 0; i < 2; i++) {
		char *pem = NULL;
		size_t len = 0;
		assert_int_equal(ap_pkey_to_pem(keys[i], &pem, &len), 0);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		EVP_PKEY *back = NULL;
		assert_int_equal(ap_pkey_from_pem(pem, len, &back), 0);
		assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
		EVP_PKEY_free(back);
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	/* an encrypted key is refused without prompting */
	BIO *b = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PKCS8PrivateKey(b, f->ec, EVP_aes_256_cbc(), NULL, 0, NULL,
						  (void *)"passphrase"));
	char *enc = NULL;
	long elen = BIO_get_mem_data(b, &enc);
	EVP_PKEY *k = NULL;
	assert_int_equal(ap_pkey_from_pem(enc, (size_t)elen, &k), AP_EUNSUPPORTED);
	BIO_free(b);
	assert_int_equal(ap_pkey_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n", 33, &k),
			 AP_EPARSE);
	assert_null(k);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_cn_absent(void **state)
{
	struct fixture *f = *state;
	X509 *c = X509_new();
	assert_true(X509_set_pubkey(c, f->ec));
	char *cn = (char *)0x1;
	assert_int_equal(ap_x509_subject_cn(c, &cn), AP_ENOTFOUND);
	assert_ptr_equal(cn, (char *)0x1);
	X509_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca),	      cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_server),    cmocka_unit_test(test_client),
	    cmocka_unit_test(test_pem_der),   cmocka_unit_test(test_pkey_pem),
	    cmocka_unit_test(test_cn_absent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
