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
#include "ap_x509.h"
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

/* A detached signature of data by key/cert built here: flags may hold
 * CMS_NOCERTS; extra (may be NULL) is added to the message's certificates. */
static char *sign_b64(X509 *cert, EVP_PKEY *key, X509 *extra, unsigned flags, const char *data)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	BIO *in = BIO_new_mem_buf(data, -1);
	CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, flags | CMS_DETACHED | CMS_BINARY);
	assert_non_null(cms);
	if (extra)
		assert_int_equal(CMS_add1_cert(cms, extra), 1);
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(ap_codec_b64_encode(der, (size_t)n, &b64, NULL), 0);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return b64;
}

static const char body2[] = "<plist version=\"1.0\"><dict><key>Status</key>"
			    "<string>Acknowledged</string></dict></plist>\n";

/* One verification through the cache: its result, and *ret. */
static int cached(struct ap_cms_signer_cache *c, const char *sig, const char *data,
		  struct ap_cms_signer *ret)
{
	return ap_cms_verify_signature_cached(c, sig, data, strlen(data), ret);
}

static void test_cache_same_certificate(void **state)
{
	struct pki *p = *state;
	struct ap_cms_signer_cache *c = ap_cms_signer_cache_new();
	struct ap_cms_signer s;
	char fp[65];
	char *sig1 = sign_b64(p->rsa_cert, p->rsa_key, NULL, 0, body);
	char *sig2 = sign_b64(p->rsa_cert, p->rsa_key, NULL, 0, body2);

	assert_non_null(c);
	assert_int_equal(cached(c, sig1, body, &s), 0);
	assert_int_equal(s.reused, 0);
	assert_int_equal(X509_cmp(s.cert, p->rsa_cert), 0);
	ap_x509_fingerprint(p->rsa_cert, fp);
	assert_string_equal(s.fp, fp);
	assert_int_equal(sk_X509_num(s.certs), 1);
	assert_int_equal(*s.verified, -1);
	*s.verified = 1; /* the caller checked its chain */
	X509 *first = s.cert;
	/* the next message of the connection: not parsed again, still verified */
	assert_int_equal(cached(c, sig2, body2, &s), 0);
	assert_int_equal(s.reused, 1);
	assert_ptr_equal(s.cert, first);
	assert_string_equal(s.fp, fp);
	assert_int_equal(*s.verified, 1);
	/* a tampered body with the cached certificate is refused, the cache kept */
	char *tampered = strdup(body2);
	tampered[30] ^= 0x01;
	assert_int_equal(cached(c, sig2, tampered, &s), AP_EBADSIG);
	assert_int_equal(cached(c, sig1, body2, &s), AP_EBADSIG);
	assert_int_equal(cached(c, sig2, body2, &s), 0);
	assert_int_equal(s.reused, 1);
	assert_int_equal(*s.verified, 1);
	free(tampered);
	free(sig1);
	free(sig2);
	ap_cms_signer_cache_free(c);
	ap_cms_signer_cache_free(NULL);
}

static void test_cache_other_certificate(void **state)
{
	struct pki *p = *state;
	struct ap_cms_signer_cache *c = ap_cms_signer_cache_new();
	struct ap_cms_signer s;
	char fp[65];
	char *rsa = sign_b64(p->rsa_cert, p->rsa_key, NULL, 0, body);
	char *ec = sign_b64(p->ec_cert, p->ec_key, NULL, 0, body2);
	/* the certificates field of rsa's messages, the signature of ec's key */
	char *mixed = sign_b64(p->ec_cert, p->ec_key, p->rsa_cert, CMS_NOCERTS, body);
	/* no certificate at all: the cached one must not stand in */
	char *bare = sign_b64(p->rsa_cert, p->rsa_key, NULL, CMS_NOCERTS, body);

	assert_int_equal(cached(c, rsa, body, &s), 0);
	*s.verified = 1;
	assert_int_equal(cached(c, mixed, body, &s), AP_EBADSIG);
	assert_int_equal(cached(c, bare, body, &s), AP_EBADSIG);
	/* a second certificate on the connection is that certificate */
	assert_int_equal(cached(c, ec, body2, &s), 0);
	assert_int_equal(s.reused, 0);
	assert_int_equal(X509_cmp(s.cert, p->ec_cert), 0);
	ap_x509_fingerprint(p->ec_cert, fp);
	assert_string_equal(s.fp, fp);
	assert_int_equal(*s.verified, -1); /* its chain not checked yet */
	/* and the first again is parsed again */
	assert_int_equal(cached(c, rsa, body, &s), 0);
	assert_int_equal(s.reused, 0);
	assert_int_equal(X509_cmp(s.cert, p->rsa_cert), 0);
	assert_int_equal(*s.verified, -1);
	/* the chain sent with it (signer and CA) is cached as a whole */
	char *chain = sign_b64(p->ec_cert, p->ec_key, p->ca, 0, body);
	assert_int_equal(cached(c, chain, body, &s), 0);
	assert_int_equal(sk_X509_num(s.certs), 2);
	assert_int_equal(cached(c, chain, body, &s), 0);
	assert_int_equal(s.reused, 1);
	assert_int_equal(X509_cmp(s.cert, p->ec_cert), 0);
	/* hostile values */
	assert_int_equal(cached(c, "not base64 !", body, &s), AP_EBADSIG);
	assert_int_equal(cached(c, "MAA=", body, &s), AP_EBADSIG);
	assert_int_equal(ap_cms_verify_signature_cached(NULL, rsa, body, 1, &s), AP_EINVAL);
	assert_int_equal(ap_cms_verify_signature_cached(c, NULL, body, 1, &s), AP_EINVAL);
	assert_int_equal(cached(c, chain, body, &s), 0); /* still cached */
	assert_int_equal(s.reused, 1);
	free(chain);
	free(rsa);
	free(ec);
	free(mixed);
	free(bare);
	ap_cms_signer_cache_free(c);
}

/* Truncations and one-byte changes of a message whose certificates are
 * cached: the same outcome and signer as without the cache (a change in a
 * certificate's own signature still verifies: its chain is checked later). */
static void test_cache_mangled(void **state)
{
	struct pki *p = *state;
	struct ap_cms_signer_cache *c = ap_cms_signer_cache_new();
	struct ap_cms_signer s;
	char *sig = sign_b64(p->ec_cert, p->ec_key, NULL, 0, body);
	unsigned char *der = NULL;
	size_t len = 0;
	char *b64 = NULL;

	assert_int_equal(cached(c, sig, body, &s), 0);
	assert_int_equal(ap_codec_b64_decode(sig, strlen(sig), &der, &len), 0);
	for (size_t i = 0; i < len; i += 7) {
		for (size_t cut = 0; cut < 2; cut++) {
			unsigned char saved = der[i];
			if (cut == 0)
				der[i] ^= 0x5a;
			assert_int_equal(ap_codec_b64_encode(der, cut ? i : len, &b64, NULL), 0);
			int rc = cached(c, b64, body, &s);
			X509 *signer = NULL;
			STACK_OF(X509) *certs = NULL;
			assert_int_equal(
			    ap_cms_verify_signature(b64, body, BODY_LEN, &signer, &certs), rc);
			if (rc == 0) /* what the message says, never the cached certificate */
				assert_int_equal(X509_cmp(s.cert, signer), 0);
			else
				assert_int_equal(rc, AP_EBADSIG);
			X509_free(signer);
			sk_X509_pop_free(certs, X509_free);
			free(b64);
			der[i] = saved;
		}
	}
	free(der);
	free(sig);
	ap_cms_signer_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_ec),
	    cmocka_unit_test(test_round_trip_rsa),
	    cmocka_unit_test(test_foreign_ca),
	    cmocka_unit_test(test_sha1_and_md5),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_sign_attached),
	    cmocka_unit_test(test_cache_same_certificate),
	    cmocka_unit_test(test_cache_other_certificate),
	    cmocka_unit_test(test_cache_mangled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
