/* Unit tests for ap_cms: detached Mdm-Signature round trips with a test CA,
 * tampering, foreign CAs, SHA-1, attached signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "ap_cms.h"
#include "ap_codec.h"
#include "ap_err.h"
#include "testutil.h"

static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">"
			   "<dict><key>Status</key><string>Idle</string><key>UDID</key>"
			   "<string>00008103-001A2B3C4D5E6F70</string></dict></plist>\n";
#define BODY_LEN (sizeof(body) - 1)

struct pki {
	EVP_PKEY *ca_key, *other_ca_key, *ec_key, *rsa_key, *foreign_key;
	X509 *ca, *other_ca, *ec_cert, *rsa_cert, *foreign_cert;
	X509_STORE *trust;
};

static int setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	p->ca_key = tu_key("ec");
	p->ca = tu_cert("Ardoise Test Root CA", p->ca_key, NULL, NULL, 1);
	p->other_ca_key = tu_key("ec");
	p->other_ca = tu_cert("Some Other CA", p->other_ca_key, NULL, NULL, 1);
	p->ec_key = tu_key("ec");
	p->ec_cert = tu_cert("device-ec", p->ec_key, p->ca, p->ca_key, 0);
	p->rsa_key = tu_key("rsa");
	p->rsa_cert = tu_cert("device-rsa", p->rsa_key, p->ca, p->ca_key, 0);
	p->foreign_key = tu_key("ec");
	p->foreign_cert =
	    tu_cert("device-foreign", p->foreign_key, p->other_ca, p->other_ca_key, 0);
	p->trust = X509_STORE_new();
	if (!p->ca || !p->other_ca || !p->ec_cert || !p->rsa_cert || !p->foreign_cert ||
	    !p->trust || X509_STORE_add_cert(p->trust, p->ca) != 1)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pki *p = *state;
	X509_STORE_free(p->trust);
	X509_free(p->ca);
	X509_free(p->other_ca);
	X509_free(p->ec_cert);
	X509_free(p->rsa_cert);
	X509_free(p->foreign_cert);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->other_ca_key);
	EVP_PKEY_free(p->ec_key);
	EVP_PKEY_free(p->rsa_key);
	EVP_PKEY_free(p->foreign_key);
	free(p);
	return 0;
}

static void round_trip(struct pki *p, X509 *cert, EVP_PKEY *key)
{
	char *sig = NULL;
	X509 *signer = NULL;

	assert_int_equal(ap_cms_sign_detached_b64(body, BODY_LEN, cert, key, &sig), 0);
	assert_null(strchr(sig, '\n'));
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, &signer), 0);
	assert_non_null(signer);
	assert_int_equal(X509_cmp(signer, cert), 0);
	X509_free(signer);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), 0);

	/* one byte changed, one byte less, one more */
	char *tampered = malloc(BODY_LEN + 1);
	memcpy(tampered, body, BODY_LEN + 1);
	tampered[60] ^= 0x01;
	signer = (X509 *)0x1;
	assert_int_equal(ap_cms_verify_detached(sig, tampered, BODY_LEN, p->trust, &signer),
			 AP_EBADSIG);
	assert_ptr_equal(signer, (X509 *)0x1);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN - 1, p->trust, NULL),
			 AP_EBADSIG);
	assert_int_equal(ap_cms_verify_detached(sig, "", 0, p->trust, NULL), AP_EBADSIG);
	free(tampered);
	free(sig);
}

static void test_round_trip_ec(void **state)
{
	struct pki *p = *state;
	round_trip(p, p->ec_cert, p->ec_key);
}

static void test_round_trip_rsa(void **state)
{
	struct pki *p = *state;
	round_trip(p, p->rsa_cert, p->rsa_key);
}

static void test_foreign_ca(void **state)
{
	struct pki *p = *state;
	char *sig = NULL;

	assert_int_equal(
	    ap_cms_sign_detached_b64(body, BODY_LEN, p->foreign_cert, p->foreign_key, &sig), 0);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	free(sig);
	/* a self-signed leaf is not trusted either */
	EVP_PKEY *k = tu_key("ec");
	X509 *self = tu_cert("self", k, NULL, NULL, 0);
	assert_int_equal(ap_cms_sign_detached_b64(body, BODY_LEN, self, k, &sig), 0);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	free(sig);
	X509_free(self);
	EVP_PKEY_free(k);
	/* mismatched key and certificate cannot sign */
	assert_int_equal(ap_cms_sign_detached_b64(body, BODY_LEN, p->ec_cert, p->rsa_key, &sig),
			 AP_ECRYPTO);
}

/* What older devices send: SHA-1, built with OpenSSL directly. */
static char *sign_with(struct pki *p, const EVP_MD *md, unsigned flags)
{
	BIO *in = BIO_new_mem_buf(body, (int)BODY_LEN);
	flags |= CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	assert_non_null(cms);
	assert_non_null(CMS_add1_signer(cms, p->rsa_cert, p->rsa_key, md, flags));
	assert_int_equal(CMS_final(cms, in, NULL, flags), 1);
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	char *b64 = NULL;
	assert_int_equal(ap_codec_b64_encode(der, (size_t)n, &b64, NULL), 0);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return b64;
}

static void test_sha1_and_md5(void **state)
{
	struct pki *p = *state;
	char *sig = sign_with(p, EVP_sha1(), CMS_DETACHED);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), 0);
	free(sig);
	sig = sign_with(p, EVP_sha384(), CMS_DETACHED);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), 0);
	free(sig);
	const EVP_MD *md5 = EVP_md5();
	if (md5 != NULL) {
		sig = sign_with(p, md5, CMS_DETACHED);
		assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL),
				 AP_EBADSIG);
		free(sig);
	}
	ERR_clear_error();
	/* attached content is not an Mdm-Signature */
	sig = sign_with(p, EVP_sha256(), 0);
	assert_int_equal(ap_cms_verify_detached(sig, body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	free(sig);
}

static void test_garbage(void **state)
{
	struct pki *p = *state;
	char *sig = NULL;

	assert_int_equal(ap_cms_verify_detached("", body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	assert_int_equal(
	    ap_cms_verify_detached("not base64 at all!", body, BODY_LEN, p->trust, NULL),
	    AP_EBADSIG);
	assert_int_equal(ap_cms_verify_detached("aGVsbG8gd29ybGQ=", body, BODY_LEN, p->trust, NULL),
			 AP_EBADSIG);
	assert_int_equal(ap_cms_sign_detached_b64(body, BODY_LEN, p->ec_cert, p->ec_key, &sig), 0);
	size_t n = strlen(sig);
	/* truncated, trailing garbage, whitespace tolerated */
	char *cut = strndup(sig, n - 8);
	assert_int_equal(ap_cms_verify_detached(cut, body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	free(cut);
	unsigned char *der = NULL;
	size_t der_len = 0;
	assert_int_equal(ap_codec_b64_decode(sig, n, &der, &der_len), 0);
	unsigned char *longer = malloc(der_len + 3);
	memcpy(longer, der, der_len);
	memcpy(longer + der_len, "\0\0\0", 3);
	char *b64 = NULL;
	assert_int_equal(ap_codec_b64_encode(longer, der_len + 3, &b64, NULL), 0);
	assert_int_equal(ap_cms_verify_detached(b64, body, BODY_LEN, p->trust, NULL), AP_EBADSIG);
	free(b64);
	free(longer);
	free(der);
	char *spaced = malloc(n + 3);
	memcpy(spaced, " ", 1);
	memcpy(spaced + 1, sig, n);
	memcpy(spaced + 1 + n, " ", 2);
	assert_int_equal(ap_cms_verify_detached(spaced, body, BODY_LEN, p->trust, NULL), 0);
	free(spaced);
	free(sig);

	/* header length cap */
	char *huge = malloc(AP_CMS_MAX_HEADER + 2);
	memset(huge, 'A', AP_CMS_MAX_HEADER + 1);
	huge[AP_CMS_MAX_HEADER + 1] = '\0';
	assert_int_equal(ap_cms_verify_detached(huge, body, BODY_LEN, p->trust, NULL), AP_ETOOBIG);
	free(huge);
	assert_int_equal(ap_cms_verify_detached(NULL, body, BODY_LEN, p->trust, NULL), AP_EINVAL);
	assert_int_equal(ap_cms_verify_detached("x", body, BODY_LEN, NULL, NULL), AP_EINVAL);
}

/* Attached signature for profiles: OpenSSL verifies it and gives the content back. */
static void test_sign_attached(void **state)
{
	struct pki *p = *state;
	unsigned char *der = NULL;
	size_t len = 0;
	STACK_OF(X509) *chain = sk_X509_new_null();

	sk_X509_push(chain, p->ca);
	assert_int_equal(ap_cms_sign(body, BODY_LEN, p->rsa_cert, p->rsa_key, chain, &der, &len),
			 0);
	sk_X509_free(chain);
	const unsigned char *q = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)len);
	assert_non_null(cms);
	assert_int_equal(CMS_is_detached(cms), 0);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 2);
	sk_X509_pop_free(certs, X509_free);
	BIO *out = BIO_new(BIO_s_mem());
	/* the leaf's clientAuth EKU does not suit S/MIME purpose checks: chain
	 * checks are ap_cms_verify_detached()'s business, this is about content */
	assert_int_equal(
	    CMS_verify(cms, NULL, NULL, NULL, out, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	char *content = NULL;
	long clen = BIO_get_mem_data(out, &content);
	assert_int_equal(clen, BODY_LEN);
	assert_memory_equal(content, body, BODY_LEN);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	free(der);

	/* the signed profile still passes the schema checker, which unwraps it */
	static const char profile[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
	    "<key>PayloadType</key><string>Configuration</string>"
	    "<key>PayloadVersion</key><integer>1</integer>"
	    "<key>PayloadIdentifier</key><string>fr.ardoise.test</string>"
	    "<key>PayloadUUID</key><string>3C7A3E0B-6F21-4B7E-9D1A-2E5C8F0A1B2C</string>"
	    "<key>PayloadContent</key><array/></dict></plist>\n";
	assert_int_equal(
	    ap_cms_sign(profile, sizeof(profile) - 1, p->ec_cert, p->ec_key, NULL, &der, &len), 0);
	const char *const args[] = {"--werror", NULL};
	assert_int_equal(tu_schema_check1("signed", (const char *)der, len, args), 0);
	free(der);
	assert_int_equal(ap_cms_sign(body, BODY_LEN, NULL, p->ec_key, NULL, &der, &len), AP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_ec), cmocka_unit_test(test_round_trip_rsa),
	    cmocka_unit_test(test_foreign_ca),	  cmocka_unit_test(test_sha1_and_md5),
	    cmocka_unit_test(test_garbage),	  cmocka_unit_test(test_sign_attached),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
