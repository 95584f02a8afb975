/*
 * Unit tests for ap_scep: client request -> server parse -> issue -> CertRep
 * -> client response for every cipher and both CA key types, failures,
 * tampering, hostile input, hand-built messages, and a check of our CertRep
 * with the openssl command line (skipped, visibly, when openssl is absent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ap_err.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "tu_pki.h"
#include "../../fuzz/scep_test_ca.h"

extern char **environ;

struct fixture {
	EVP_PKEY *ec_ca_key, *rsa_ca_key, *dev_key, *other_key;
	X509 *ec_ca, *rsa_ca, *other_ca;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || ap_x509_new_ec_key(&f->ec_ca_key) != 0 ||
	    ap_x509_make_ca(f->ec_ca_key, "EC CA", "Ardoise", 3650, &f->ec_ca) != 0 ||
	    ap_x509_new_rsa_key(2048, &f->rsa_ca_key) != 0 ||
	    ap_x509_make_ca(f->rsa_ca_key, "RSA CA", NULL, 3650, &f->rsa_ca) != 0 ||
	    ap_x509_new_rsa_key(2048, &f->dev_key) != 0 || ap_x509_new_ec_key(&f->other_key) != 0 ||
	    ap_x509_make_ca(f->other_key, "Other CA", NULL, 3650, &f->other_ca) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY_free(f->ec_ca_key);
	EVP_PKEY_free(f->rsa_ca_key);
	EVP_PKEY_free(f->dev_key);
	EVP_PKEY_free(f->other_key);
	X509_free(f->ec_ca);
	X509_free(f->rsa_ca);
	X509_free(f->other_ca);
	free(f);
	return 0;
}

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

/* A request for dev_key to ca (and its self-signed signer). */
static unsigned char *request(struct fixture *f, X509 *ca, enum ap_scep_cipher c, size_t *len,
			      X509 **ss)
{
	unsigned char *der = NULL;
	assert_int_equal(
	    ap_scep_client_request(f->dev_key, "iPad-42", "s3cret", ca, c, &der, len, ss), 0);
	return der;
}

static void roundtrip(struct fixture *f, X509 *ca, EVP_PKEY *ca_key, enum ap_scep_cipher c,
		      enum ap_scep_cipher want_reply)
{
	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, ca, c, &len, &ss);
	assert_true(len < AP_SCEP_MAX_MESSAGE);

	struct ap_scep_req *r = NULL;
	assert_int_equal(ap_scep_req_parse(der, len, ca, ca_key, &r), 0);
	assert_int_equal(ap_scep_req_type(r), AP_SCEP_PKCSREQ);
	assert_int_equal(strlen(ap_scep_req_transaction_id(r)), 64);
	assert_string_equal(ap_scep_req_challenge(r), "s3cret");
	assert_int_equal(ap_scep_req_cipher(r), c);
	assert_int_equal(X509_cmp(ap_scep_req_signer(r), ss), 0);
	assert_int_equal(ap_scep_req_signer_issued_by(r, ca), AP_EBADSIG);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(ap_scep_req_csr(r)), f->dev_key), 1);

	X509 *issued = NULL;
	assert_int_equal(ap_x509_issue_client(ca, ca_key, ap_scep_req_csr(r), 365, &issued), 0);
	char *cn = NULL;
	assert_int_equal(ap_x509_subject_cn(issued, &cn), 0);
	assert_string_equal(cn, "iPad-42");
	free(cn);
	assert_true(X509_get_extended_key_usage(issued) & XKU_SSL_CLIENT);
	assert_true(chain_ok(ca, issued, X509_PURPOSE_SSL_CLIENT));

	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(ap_scep_certrep_success(r, issued, ca, ca_key, &rep, &rep_len), 0);

	/* the reply is encrypted with the client's AES, or DES3 */
	const unsigned char *p = rep;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)rep_len);
	assert_non_null(cms);
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
	assert_non_null(pos);
	assert_non_null(*pos);
	p = ASN1_STRING_get0_data(*pos);
	PKCS7 *env = d2i_PKCS7(NULL, &p, ASN1_STRING_length(*pos));
	if (env != NULL) { /* PKCS#7 can read it: RSA key transport to the device */
		int nid = OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm);
		static const int nids[] = {[AP_SCEP_AES128] = NID_aes_128_cbc,
					   [AP_SCEP_AES256] = NID_aes_256_cbc,
					   [AP_SCEP_DES3] = NID_des_ede3_cbc,
					   [AP_SCEP_DES] = NID_des_cbc,
					   [AP_SCEP_AES192] = NID_aes_192_cbc};
		assert_int_equal(nid, nids[want_reply]);
		PKCS7_free(env);
	} else {
		fail_msg("reply envelope is not readable as PKCS#7");
	}
	CMS_ContentInfo_free(cms);

	X509 *got = NULL;
	int fi = 99;
	assert_int_equal(ap_scep_client_response(rep, rep_len, ca, f->dev_key, ss, &got, &fi), 0);
	assert_int_equal(fi, 99);
	assert_int_equal(X509_cmp(got, issued), 0);

	/* the same CertRep read against another CA is refused */
	X509 *none = NULL;
	assert_int_equal(
	    ap_scep_client_response(rep, rep_len, f->other_ca, f->dev_key, ss, &none, NULL),
	    AP_EBADSIG);
	assert_null(none);

	X509_free(got);
	free(rep);
	X509_free(issued);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Runs first: several threads race through the one-time initialisation
 * (providers, OIDs) and then each do full round trips. */
static void *thread_roundtrip(void *arg)
{
	struct fixture *f = arg;
	for (int i = 0; i < 3; i++) {
		unsigned char *der = NULL, *rep = NULL;
		size_t len = 0, rep_len = 0;
		X509 *ss = NULL, *issued = NULL, *got = NULL;
		struct ap_scep_req *r = NULL;
		enum ap_scep_cipher c = i == 0 ? AP_SCEP_DES : AP_SCEP_AES128;
		int ok = ap_scep_client_request(f->dev_key, "thread", "pw", f->rsa_ca, c, &der,
						&len, &ss) == 0 &&
			 ap_scep_req_parse(der, len, f->rsa_ca, f->rsa_ca_key, &r) == 0 &&
			 ap_x509_issue_client(f->rsa_ca, f->rsa_ca_key, ap_scep_req_csr(r), 1,
					      &issued) == 0 &&
			 ap_scep_certrep_success(r, issued, f->rsa_ca, f->rsa_ca_key, &rep,
						 &rep_len) == 0 &&
			 ap_scep_client_response(rep, rep_len, f->rsa_ca, f->dev_key, ss, &got,
						 NULL) == 0 &&
			 X509_cmp(got, issued) == 0;
		X509_free(got);
		free(rep);
		X509_free(issued);
		ap_scep_req_free(r);
		X509_free(ss);
		free(der);
		if (!ok)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[6];
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_roundtrip, *state), 0);
	for (size_t i = 0; i < 6; i++) {
		void *res = (void *)1;
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
}

static void test_roundtrip_ec_ca(void **state)
{
	struct fixture *f = *state;
	roundtrip(f, f->ec_ca, f->ec_ca_key, AP_SCEP_AES128, AP_SCEP_AES128);
	roundtrip(f, f->ec_ca, f->ec_ca_key, AP_SCEP_AES256, AP_SCEP_AES256);
	roundtrip(f, f->ec_ca, f->ec_ca_key, AP_SCEP_DES3, AP_SCEP_DES3);
	roundtrip(f, f->ec_ca, f->ec_ca_key, AP_SCEP_AES192, AP_SCEP_AES192);
	/* single DES cannot be sent to an EC recipient: its 8-byte content key
	 * does not fit the AES key wrap of CMS key agreement */
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *ss = NULL;
	assert_int_equal(
	    ap_scep_client_request(f->dev_key, "x", NULL, f->ec_ca, AP_SCEP_DES, &der, &len, &ss),
	    AP_EUNSUPPORTED);
	assert_null(der);
}

static void test_roundtrip_rsa_ca(void **state)
{
	struct fixture *f = *state;
	roundtrip(f, f->rsa_ca, f->rsa_ca_key, AP_SCEP_AES128, AP_SCEP_AES128);
	roundtrip(f, f->rsa_ca, f->rsa_ca_key, AP_SCEP_AES256, AP_SCEP_AES256);
	roundtrip(f, f->rsa_ca, f->rsa_ca_key, AP_SCEP_DES3, AP_SCEP_DES3);
	roundtrip(f, f->rsa_ca, f->rsa_ca_key, AP_SCEP_DES, AP_SCEP_DES3);
}

static void test_ec_device_key(void **state)
{
	struct fixture *f = *state;
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *ss = NULL;
	assert_int_equal(ap_scep_client_request(f->other_key, "ec-device", NULL, f->rsa_ca,
						AP_SCEP_AES256, &der, &len, &ss),
			 0);
	struct ap_scep_req *r = NULL;
	assert_int_equal(ap_scep_req_parse(der, len, f->rsa_ca, f->rsa_ca_key, &r), 0);
	assert_null(ap_scep_req_challenge(r));
	X509 *issued = NULL;
	assert_int_equal(
	    ap_x509_issue_client(f->rsa_ca, f->rsa_ca_key, ap_scep_req_csr(r), 30, &issued), 0);
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(
	    ap_scep_certrep_success(r, issued, f->rsa_ca, f->rsa_ca_key, &rep, &rep_len), 0);
	X509 *got = NULL;
	assert_int_equal(
	    ap_scep_client_response(rep, rep_len, f->rsa_ca, f->other_key, ss, &got, NULL), 0);
	assert_int_equal(X509_cmp(got, issued), 0);
	X509_free(got);
	free(rep);
	X509_free(issued);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
}

static void test_failure(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, f->ec_ca, AP_SCEP_AES128, &len, &ss);
	struct ap_scep_req *r = NULL;
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), 0);
	for (int fi = AP_SCEP_BADALG; fi <= AP_SCEP_BADCERTID; fi++) {
		unsigned char *rep = NULL;
		size_t rep_len = 0;
		assert_int_equal(ap_scep_certrep_failure(r, (enum ap_scep_failinfo)fi, f->ec_ca,
							 f->ec_ca_key, &rep, &rep_len),
				 0);
		/* no pkcsPKIEnvelope at all */
		const unsigned char *p = rep;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)rep_len);
		assert_non_null(cms);
		ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
		assert_true(pos == NULL || *pos == NULL);
		CMS_ContentInfo_free(cms);

		X509 *got = NULL;
		int got_fi = -5;
		assert_int_equal(
		    ap_scep_client_response(rep, rep_len, f->ec_ca, f->dev_key, ss, &got, &got_fi),
		    AP_EFORBIDDEN);
		assert_int_equal(got_fi, fi);
		assert_null(got);
		free(rep);
	}
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(ap_scep_certrep_failure(r, (enum ap_scep_failinfo)7, f->ec_ca,
						 f->ec_ca_key, &rep, &rep_len),
			 AP_EINVAL);
	/* CertRep for a different key: transactionID mismatch */
	assert_int_equal(
	    ap_scep_certrep_failure(r, AP_SCEP_BADREQUEST, f->ec_ca, f->ec_ca_key, &rep, &rep_len),
	    0);
	X509 *got = NULL;
	assert_int_equal(
	    ap_scep_client_response(rep, rep_len, f->ec_ca, f->other_key, ss, &got, NULL),
	    AP_ECONFLICT);
	free(rep);
	/* issued certificate that does not certify the CSR key */
	assert_int_equal(
	    ap_scep_certrep_success(r, f->other_ca, f->ec_ca, f->ec_ca_key, &rep, &rep_len),
	    AP_EINVAL);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
}

static void test_wrong_ca(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, f->ec_ca, AP_SCEP_AES256, &len, &ss);
	struct ap_scep_req *r = (struct ap_scep_req *)0x1;
	/* encrypted to ec_ca, read by another CA */
	assert_int_equal(ap_scep_req_parse(der, len, f->other_ca, f->other_key, &r), AP_ECRYPTO);
	assert_int_equal(ap_scep_req_parse(der, len, f->rsa_ca, f->rsa_ca_key, &r), AP_ECRYPTO);
	/* right certificate, wrong key */
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->other_key, &r), AP_ECRYPTO);
	assert_ptr_equal(r, (struct ap_scep_req *)0x1);
	X509_free(ss);
	free(der);

	der = request(f, f->rsa_ca, AP_SCEP_DES3, &len, &ss);
	assert_int_equal(ap_scep_req_parse(der, len, f->rsa_ca, f->ec_ca_key, &r), AP_ECRYPTO);
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), AP_ECRYPTO);
	X509_free(ss);
	free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Index of needle in hay, or fails the test. */
static size_t find(const unsigned char *hay, size_t n, const unsigned char *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return i;
	fail_msg("pattern not found");
	return 0;
}

static const unsigned char oid_enveloped[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					      0xf7, 0x0d, 0x01, 0x07, 0x03};

static void test_tampered(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, f->ec_ca, AP_SCEP_AES128, &len, &ss);
	struct ap_scep_req *r = NULL;

	/* the signature is the last element of the message */
	der[len - 1] ^= 0x01;
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), AP_EBADSIG);
	der[len - 1] ^= 0x01;
	/* a byte of the signed content (inside the envelope) */
	size_t at = find(der, len, oid_enveloped, sizeof(oid_enveloped)) + 40;
	der[at] ^= 0x80;
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), AP_EBADSIG);
	der[at] ^= 0x80;
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), 0);

	X509 *issued = NULL;
	assert_int_equal(
	    ap_x509_issue_client(f->ec_ca, f->ec_ca_key, ap_scep_req_csr(r), 365, &issued), 0);
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(ap_scep_certrep_success(r, issued, f->ec_ca, f->ec_ca_key, &rep, &rep_len),
			 0);
	X509 *got = NULL;
	at = find(rep, rep_len, oid_enveloped, sizeof(oid_enveloped)) + 40;
	rep[at] ^= 0x01;
	assert_int_equal(
	    ap_scep_client_response(rep, rep_len, f->ec_ca, f->dev_key, ss, &got, NULL),
	    AP_EBADSIG);
	rep[at] ^= 0x01;
	/* a CertRep signed by a CA we do not trust */
	unsigned char *rep2 = NULL;
	size_t rep2_len = 0;
	assert_int_equal(
	    ap_scep_certrep_success(r, issued, f->other_ca, f->other_key, &rep2, &rep2_len), 0);
	assert_int_equal(
	    ap_scep_client_response(rep2, rep2_len, f->ec_ca, f->dev_key, ss, &got, NULL),
	    AP_EBADSIG);
	assert_null(got);
	/* the device cannot decrypt a CertRep with someone else's key */
	assert_int_equal(
	    ap_scep_client_response(rep, rep_len, f->ec_ca, f->dev_key, f->other_ca, &got, NULL),
	    AP_ECRYPTO);
	free(rep2);
	free(rep);
	X509_free(issued);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
}

static void test_hostile_input(void **state)
{
	struct fixture *f = *state;
	struct ap_scep_req *r = NULL;
	unsigned char junk[4096];
	assert_int_equal(RAND_bytes(junk, sizeof(junk)), 1);
	assert_int_equal(ap_scep_req_parse(junk, sizeof(junk), f->ec_ca, f->ec_ca_key, &r),
			 AP_EPARSE);
	assert_int_equal(ap_scep_req_parse(junk, 0, f->ec_ca, f->ec_ca_key, &r), AP_EPARSE);
	assert_int_equal(
	    ap_scep_req_parse(junk, AP_SCEP_MAX_MESSAGE + 1, f->ec_ca, f->ec_ca_key, &r),
	    AP_ETOOBIG);
	assert_int_equal(ap_scep_req_parse(NULL, 10, f->ec_ca, f->ec_ca_key, &r), AP_EINVAL);
	/* a SEQUENCE claiming a huge length */
	static const unsigned char huge[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09};
	assert_int_equal(ap_scep_req_parse(huge, sizeof(huge), f->ec_ca, f->ec_ca_key, &r),
			 AP_EPARSE);
	/* deep nesting of indefinite-length constructed items */
	unsigned char deep[2000];
	for (size_t i = 0; i < sizeof(deep); i += 2) {
		deep[i] = 0x30;
		deep[i + 1] = 0x80;
	}
	assert_int_equal(ap_scep_req_parse(deep, sizeof(deep), f->ec_ca, f->ec_ca_key, &r),
			 AP_EPARSE);
	assert_null(r);

	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, f->ec_ca, AP_SCEP_AES128, &len, &ss);
	/* every truncation of a valid message fails cleanly */
	for (size_t n = 0; n < len; n++) {
		int rc = ap_scep_req_parse(der, n, f->ec_ca, f->ec_ca_key, &r);
		assert_true(rc == AP_EPARSE);
	}
	/* trailing garbage */
	unsigned char *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(ap_scep_req_parse(longer, len + 1, f->ec_ca, f->ec_ca_key, &r), AP_EPARSE);
	free(longer);
	/* random single-byte corruption: any defined answer, no crash, no leak */
	unsigned int seed = 12345;
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t at = (seed >> 8) % len;
		unsigned char old = der[at];
		der[at] ^= (unsigned char)(1u << ((seed >> 4) & 7));
		int rc = ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r);
		assert_true(rc == 0 || rc == AP_EPARSE || rc == AP_EBADSIG || rc == AP_ECRYPTO ||
			    rc == AP_EUNSUPPORTED);
		if (rc == 0) {
			ap_scep_req_free(r);
			r = NULL;
		}
		der[at] = old;
	}
	/* the same for random truncations of a CertRep on the client side */
	assert_int_equal(ap_scep_req_parse(der, len, f->ec_ca, f->ec_ca_key, &r), 0);
	X509 *issued = NULL;
	assert_int_equal(
	    ap_x509_issue_client(f->ec_ca, f->ec_ca_key, ap_scep_req_csr(r), 365, &issued), 0);
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(ap_scep_certrep_success(r, issued, f->ec_ca, f->ec_ca_key, &rep, &rep_len),
			 0);
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 8) % rep_len;
		X509 *got = NULL;
		assert_int_equal(
		    ap_scep_client_response(rep, n, f->ec_ca, f->dev_key, ss, &got, NULL),
		    AP_EPARSE);
	}
	free(rep);
	X509_free(issued);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- hand-built messages, to reach what our client never sends ---- */

static unsigned char *to_der(CMS_ContentInfo *cms, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	return der; /* OPENSSL_free */
}

static unsigned char *hand_envelope(const unsigned char *data, size_t len, X509 *ca, size_t *out)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, ca);
	BIO *in = BIO_new_mem_buf(data, (int)len);
	CMS_ContentInfo *env = CMS_encrypt(certs, in, EVP_aes_128_cbc(), CMS_BINARY);
	assert_non_null(env);
	unsigned char *der = to_der(env, out);
	CMS_ContentInfo_free(env);
	BIO_free(in);
	sk_X509_free(certs);
	return der;
}

static void add_str(CMS_SignerInfo *si, const char *oid, int type, const void *v, int len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	assert_true(CMS_signed_add1_attr_by_OBJ(si, o, type, v, len));
	ASN1_OBJECT_free(o);
}

/* pkiMessage over content with the given messageType (NULL: none) and
 * transactionID (NULL: none). */
static unsigned char *hand_sign(const unsigned char *content, size_t clen, X509 *signer,
				EVP_PKEY *key, const char *msgtype, const char *tid, size_t *out)
{
	unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si = CMS_add1_signer(cms, signer, key, EVP_sha256(), flags);
	assert_non_null(si);
	if (msgtype != NULL)
		add_str(si, "2.16.840.1.113733.1.9.2", V_ASN1_PRINTABLESTRING, msgtype,
			(int)strlen(msgtype));
	if (tid != NULL)
		add_str(si, "2.16.840.1.113733.1.9.7", V_ASN1_PRINTABLESTRING, tid,
			(int)strlen(tid));
	add_str(si, "2.16.840.1.113733.1.9.5", V_ASN1_OCTET_STRING, "0123456789abcdef", 16);
	BIO *in = BIO_new_mem_buf(content, (int)clen);
	assert_true(CMS_final(cms, in, NULL, flags));
	unsigned char *der = to_der(cms, out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return der;
}

static unsigned char *csr_der(EVP_PKEY *key, const char *cn, size_t *len)
{
	X509_REQ *csr = tu_csr(key, cn);
	assert_non_null(csr);
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(csr, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_REQ_free(csr);
	return der;
}

static int parse_hand(struct fixture *f, const char *msgtype, const char *tid, X509 *signer,
		      struct ap_scep_req **r)
{
	size_t clen, elen, mlen;
	unsigned char *csr = csr_der(f->dev_key, "hand", &clen);
	unsigned char *env = hand_envelope(csr, clen, f->ec_ca, &elen);
	unsigned char *msg = hand_sign(env, elen, signer, f->dev_key, msgtype, tid, &mlen);
	int rc = ap_scep_req_parse(msg, mlen, f->ec_ca, f->ec_ca_key, r);
	OPENSSL_free(msg);
	OPENSSL_free(env);
	OPENSSL_free(csr);
	return rc;
}

static void test_hand_built(void **state)
{
	struct fixture *f = *state;
	X509 *ss = NULL;
	assert_int_equal(ap_x509_make_selfsigned(f->dev_key, "hand", 1, &ss), 0);
	struct ap_scep_req *r = NULL;
	assert_int_equal(parse_hand(f, "19", "tid-1", ss, &r), 0);
	assert_string_equal(ap_scep_req_transaction_id(r), "tid-1");
	assert_null(ap_scep_req_challenge(r));
	ap_scep_req_free(r);
	r = NULL;
	assert_int_equal(parse_hand(f, "21", "tid-1", ss, &r), AP_EUNSUPPORTED); /* GetCert */
	assert_int_equal(parse_hand(f, "22", "tid-1", ss, &r), AP_EUNSUPPORTED); /* GetCRL */
	assert_int_equal(parse_hand(f, "3", "tid-1", ss, &r), AP_EUNSUPPORTED);	 /* CertRep */
	assert_int_equal(parse_hand(f, "x9", "tid-1", ss, &r), AP_EPARSE);
	assert_int_equal(parse_hand(f, "1900", "tid-1", ss, &r), AP_EPARSE);
	assert_int_equal(parse_hand(f, NULL, "tid-1", ss, &r), AP_EPARSE);
	assert_int_equal(parse_hand(f, "19", NULL, ss, &r), AP_EPARSE);
	assert_null(r);

	/* RenewalReq signed with a certificate the CA issued earlier */
	X509_REQ *csr = tu_csr(f->dev_key, "old");
	X509 *old = NULL;
	assert_int_equal(ap_x509_issue_client(f->ec_ca, f->ec_ca_key, csr, 10, &old), 0);
	X509_REQ_free(csr);
	assert_int_equal(parse_hand(f, "17", "renew-1", old, &r), 0);
	assert_int_equal(ap_scep_req_type(r), AP_SCEP_RENEWALREQ);
	assert_int_equal(ap_scep_req_signer_issued_by(r, f->ec_ca), 0);
	assert_int_equal(ap_scep_req_signer_issued_by(r, f->other_ca), AP_EBADSIG);
	ap_scep_req_free(r);
	X509_free(old);

	/* an envelope that holds no CSR */
	size_t elen, mlen;
	unsigned char *env = hand_envelope((const unsigned char *)"not a csr", 9, f->ec_ca, &elen);
	unsigned char *msg = hand_sign(env, elen, ss, f->dev_key, "19", "t", &mlen);
	r = NULL;
	assert_int_equal(ap_scep_req_parse(msg, mlen, f->ec_ca, f->ec_ca_key, &r), AP_EPARSE);
	OPENSSL_free(msg);
	OPENSSL_free(env);
	/* content that is not an envelope */
	msg = hand_sign((const unsigned char *)"plain", 5, ss, f->dev_key, "19", "t", &mlen);
	assert_int_equal(ap_scep_req_parse(msg, mlen, f->ec_ca, f->ec_ca_key, &r), AP_EPARSE);
	OPENSSL_free(msg);
	X509_free(ss);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_cacaps_cacert(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(ap_scep_cacaps(), "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\n"
					      "Renewal\n");
	unsigned char *der = NULL;
	size_t len = 0;
	assert_int_equal(ap_scep_cacert(f->ec_ca, &der, &len), 0);
	const unsigned char *p = der;
	X509 *c = d2i_X509(NULL, &p, (long)len);
	assert_int_equal(X509_cmp(c, f->ec_ca), 0);
	assert_ptr_equal(p, der + len);
	X509_free(c);
	free(der);
}

/* ---- the openssl command line reads our CertRep ---- */

static int run(char *const argv[])
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static unsigned char buf[256 * 1024];
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	unsigned char *out = malloc(*len + 1);
	memcpy(out, buf, *len);
	out[*len] = '\0';
	return out;
}

static void write_pem_cert(const char *path, X509 *c)
{
	char *pem = NULL;
	size_t n = 0;
	assert_int_equal(ap_x509_to_pem(c, &pem, &n), 0);
	write_file(path, pem, n);
	free(pem);
}

static void write_pem_key(const char *path, EVP_PKEY *k)
{
	char *pem = NULL;
	size_t n = 0;
	assert_int_equal(ap_pkey_to_pem(k, &pem, &n), 0);
	write_file(path, pem, n);
	OPENSSL_cleanse(pem, n);
	free(pem);
}

static int have_openssl(void)
{
	char *argv[] = {"openssl", "version", NULL};
	return run(argv) == 0;
}

static void openssl_reads_certrep(struct fixture *f, X509 *ca, EVP_PKEY *ca_key, const char *dir)
{
	char p_rep[512], p_env[512], p_certs[512], p_pem[512], p_ss[512], p_key[512], p_ca[512];
	snprintf(p_rep, sizeof(p_rep), "%s/certrep.der", dir);
	snprintf(p_env, sizeof(p_env), "%s/env.der", dir);
	snprintf(p_certs, sizeof(p_certs), "%s/certs.der", dir);
	snprintf(p_pem, sizeof(p_pem), "%s/certs.pem", dir);
	snprintf(p_ss, sizeof(p_ss), "%s/ss.pem", dir);
	snprintf(p_key, sizeof(p_key), "%s/dev.key", dir);
	snprintf(p_ca, sizeof(p_ca), "%s/ca.pem", dir);

	size_t len = 0;
	X509 *ss = NULL;
	unsigned char *der = request(f, ca, AP_SCEP_AES256, &len, &ss);
	struct ap_scep_req *r = NULL;
	assert_int_equal(ap_scep_req_parse(der, len, ca, ca_key, &r), 0);
	X509 *issued = NULL;
	assert_int_equal(ap_x509_issue_client(ca, ca_key, ap_scep_req_csr(r), 365, &issued), 0);
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	assert_int_equal(ap_scep_certrep_success(r, issued, ca, ca_key, &rep, &rep_len), 0);
	write_file(p_rep, rep, rep_len);
	write_pem_cert(p_ss, ss);
	write_pem_cert(p_ca, ca);
	write_pem_key(p_key, f->dev_key);

	char *verify_noverify[] = {"openssl", "cms", "-verify", "-noverify", "-inform", "DER",
				   "-binary", "-in", p_rep,	"-out",	     p_env,	NULL};
	assert_int_equal(run(verify_noverify), 0);
	/* and with the signer chained to the CA */
	char *verify_chain[] = {"openssl",  "cms", "-verify", "-CAfile",   p_ca,
				"-purpose", "any", "-inform", "DER",	   "-binary",
				"-in",	    p_rep, "-out",    "/dev/null", NULL};
	assert_int_equal(run(verify_chain), 0);
	char *decrypt[] = {"openssl", "cms", "-decrypt", "-inform", "DER",  "-binary", "-in", p_env,
			   "-recip",  p_ss,  "-inkey",	 p_key,	    "-out", p_certs,   NULL};
	assert_int_equal(run(decrypt), 0);
	char *print[] = {"openssl", "pkcs7",	    "-inform", "DER", "-in",
			 p_certs,   "-print_certs", "-out",    p_pem, NULL};
	assert_int_equal(run(print), 0);

	/* issued certificate first, then the CA */
	size_t pem_len = 0;
	char *pem = read_file(p_pem, &pem_len);
	X509 *first = NULL;
	assert_int_equal(ap_x509_from_pem(pem, pem_len, &first), 0);
	assert_int_equal(X509_cmp(first, issued), 0);
	char *second_at = strstr(pem + 1, "subject=");
	assert_non_null(second_at);
	X509 *second = NULL;
	assert_int_equal(ap_x509_from_pem(second_at, strlen(second_at), &second), 0);
	assert_int_equal(X509_cmp(second, ca), 0);

	X509_free(second);
	X509_free(first);
	free(pem);
	free(rep);
	X509_free(issued);
	ap_scep_req_free(r);
	X509_free(ss);
	free(der);
}

/* A request whose CSR (with challengePassword) and envelope are made by the
 * openssl command line; only the outer SCEP signature is ours, because
 * `openssl cms -sign` cannot add SCEP attributes. */
static void openssl_builds_request(struct fixture *f, const char *dir)
{
	char p_cnf[512], p_csr[512], p_env[512], p_key[512], p_ca[512];
	snprintf(p_cnf, sizeof(p_cnf), "%s/req.cnf", dir);
	snprintf(p_csr, sizeof(p_csr), "%s/csr.der", dir);
	snprintf(p_env, sizeof(p_env), "%s/req-env.der", dir);
	snprintf(p_key, sizeof(p_key), "%s/dev.key", dir);
	snprintf(p_ca, sizeof(p_ca), "%s/ca.pem", dir);
	static const char cnf[] = "[req]\nprompt = no\ndistinguished_name = dn\n"
				  "attributes = attrs\n[dn]\nCN = cli-device\n"
				  "[attrs]\nchallengePassword = cli-s3cret\n";
	write_file(p_cnf, cnf, sizeof(cnf) - 1);
	write_pem_key(p_key, f->dev_key);
	write_pem_cert(p_ca, f->rsa_ca);
	char *req[] = {"openssl", "req",      "-new", "-config", p_cnf, "-key", p_key,
		       "-sha256", "-outform", "DER",  "-out",	 p_csr, NULL};
	assert_int_equal(run(req), 0);
	const char *ciphers[] = {"-aes128", "-aes256", "-des3"};
	const enum ap_scep_cipher want[] = {AP_SCEP_AES128, AP_SCEP_AES256, AP_SCEP_DES3};
	for (size_t i = 0; i < 3; i++) {
		char *enc[] = {"openssl", "cms", "-encrypt", "-binary", (char *)ciphers[i],
			       "-in",	  p_csr, "-outform", "DER",	"-out",
			       p_env,	  p_ca,	 NULL};
		assert_int_equal(run(enc), 0);
		size_t elen = 0, mlen = 0;
		unsigned char *env = read_file(p_env, &elen);
		X509 *ss = NULL;
		assert_int_equal(ap_x509_make_selfsigned(f->dev_key, "cli-device", 1, &ss), 0);
		unsigned char *msg = hand_sign(env, elen, ss, f->dev_key, "19", "cli-tid", &mlen);
		struct ap_scep_req *r = NULL;
		assert_int_equal(ap_scep_req_parse(msg, mlen, f->rsa_ca, f->rsa_ca_key, &r), 0);
		assert_string_equal(ap_scep_req_challenge(r), "cli-s3cret");
		assert_int_equal(ap_scep_req_cipher(r), want[i]);
		ap_scep_req_free(r);
		OPENSSL_free(msg);
		X509_free(ss);
		free(env);
	}
}

static void test_openssl_cli(void **state)
{
	struct fixture *f = *state;
	if (!have_openssl()) {
		print_message("SKIP: the openssl command is not installed\n");
		skip();
	}
	char dir[] = "/tmp/ardoise-scep-XXXXXX";
	assert_non_null(mkdtemp(dir));
	openssl_reads_certrep(f, f->rsa_ca, f->rsa_ca_key, dir);
	openssl_reads_certrep(f, f->ec_ca, f->ec_ca_key, dir);
	openssl_builds_request(f, dir);
	char *rm[] = {"rm", "-rf", dir, NULL};
	run(rm);
}

/* The fuzzer's seed requests still decrypt with the fixed test CAs. */
static void test_fuzz_corpus(void **state)
{
	static const struct {
		const char *file;
		int ec;
		enum ap_scep_cipher c;
	} seeds[] = {
	    {"req-rsa-aes128.der", 0, AP_SCEP_AES128}, {"req-rsa-aes256.der", 0, AP_SCEP_AES256},
	    {"req-rsa-des3.der", 0, AP_SCEP_DES3},     {"req-rsa-des.der", 0, AP_SCEP_DES},
	    {"req-ec-aes128.der", 1, AP_SCEP_AES128},  {"req-ec-aes256.der", 1, AP_SCEP_AES256},
	    {"req-ec-des3.der", 1, AP_SCEP_DES3},
	};
	X509 *ca[2] = {NULL, NULL};
	EVP_PKEY *key[2] = {NULL, NULL};
	assert_int_equal(
	    ap_x509_from_pem(scep_test_rsa_ca_cert, strlen(scep_test_rsa_ca_cert), &ca[0]), 0);
	assert_int_equal(
	    ap_pkey_from_pem(scep_test_rsa_ca_key, strlen(scep_test_rsa_ca_key), &key[0]), 0);
	assert_int_equal(
	    ap_x509_from_pem(scep_test_ec_ca_cert, strlen(scep_test_ec_ca_cert), &ca[1]), 0);
	assert_int_equal(
	    ap_pkey_from_pem(scep_test_ec_ca_key, strlen(scep_test_ec_ca_key), &key[1]), 0);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", SCEP_CORPUS_DIR, seeds[i].file);
		size_t len = 0;
		unsigned char *der = read_file(path, &len);
		struct ap_scep_req *r = NULL;
		assert_int_equal(ap_scep_req_parse(der, len, ca[seeds[i].ec], key[seeds[i].ec], &r),
				 0);
		assert_int_equal(ap_scep_req_cipher(r), seeds[i].c);
		assert_string_equal(ap_scep_req_challenge(r), "fuzz-challenge");
		ap_scep_req_free(r);
		free(der);
	}
	for (int i = 0; i < 2; i++) {
		X509_free(ca[i]);
		EVP_PKEY_free(key[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads),	     cmocka_unit_test(test_roundtrip_ec_ca),
	    cmocka_unit_test(test_roundtrip_rsa_ca), cmocka_unit_test(test_ec_device_key),
	    cmocka_unit_test(test_failure),	     cmocka_unit_test(test_wrong_ca),
	    cmocka_unit_test(test_tampered),	     cmocka_unit_test(test_hostile_input),
	    cmocka_unit_test(test_hand_built),	     cmocka_unit_test(test_cacaps_cacert),
	    cmocka_unit_test(test_openssl_cli),	     cmocka_unit_test(test_fuzz_corpus),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
