/* Unit tests for keystore_push_info/keystore_push_ctx: PEM, encrypted PEM,
 * PKCS#12, the topic from the subject UID, expiry, permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ap_err.h"
#include "keystore.h"
#include "testutil.h"

#define TOPIC "com.apple.mgmt.External.3b1c5d6e-unit"

static char dir[64];
static EVP_PKEY *key, *other_key;

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* A push-like certificate: subject UID (if uid) and CN, valid from
 * now+from_s to now+to_s, self-signed with k. */
static X509 *make_cert(EVP_PKEY *k, const char *uid, long from_s, long to_s)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	X509_set_pubkey(x, k);
	if (uid)
		X509_NAME_add_entry_by_NID(n, NID_userId, MBSTRING_UTF8, (const unsigned char *)uid,
					   -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"APSP:unit", -1,
				   -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_sign(x, k, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static void write_cert(const char *name, X509 *x)
{
	char p[128];
	path(p, sizeof(p), name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	chmod(p, 0644);
}

static void write_key(const char *name, EVP_PKEY *k, const char *pass, mode_t mode)
{
	char p[128];
	path(p, sizeof(p), name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	if (pass)
		PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), (unsigned char *)pass,
				     (int)strlen(pass), NULL, NULL);
	else
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(p, mode);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ardoise-ks-push-XXXXXX");
	assert_non_null(mkdtemp(dir));
	key = tu_key("rsa");
	other_key = tu_key("ec");
	X509 *good = make_cert(key, TOPIC, -3600, 86400L * 30);
	write_cert("push.pem", good);
	write_key("push.key", key, NULL, 0600);
	write_key("enc.key", key, "s3cret", 0600);
	write_key("open.key", key, NULL, 0644);
	write_key("other.key", other_key, NULL, 0600);
	X509 *x = make_cert(key, TOPIC, -86400L * 40, -86400L * 5);
	write_cert("expired.pem", x);
	X509_free(x);
	x = make_cert(key, NULL, -3600, 86400L * 30);
	write_cert("nouid.pem", x);
	X509_free(x);
	PKCS12 *p12 = PKCS12_create("p12pass", "push", key, good, NULL, 0, 0, 0, 0, 0);
	char p[128];
	path(p, sizeof(p), "push.p12");
	FILE *f = fopen(p, "wb");
	i2d_PKCS12_fp(f, p12);
	fclose(f);
	chmod(p, 0600);
	PKCS12_free(p12);
	X509_free(good);
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"push.pem",	 "push.key",	"enc.key",   "open.key",
					    "other.key", "expired.pem", "nouid.pem", "push.p12"};
	char p[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(dir);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* keystore_push_ctx on files of dir; frees the context. */
static int ctx_for(const char *cert, const char *k, const char *pass, char *err, size_t cap)
{
	char c[128], kp[128];
	SSL_CTX *ctx = NULL;
	path(c, sizeof(c), cert);
	path(kp, sizeof(kp), k ? k : "");
	int rc = keystore_push_ctx(c, k ? kp : NULL, pass, NULL, &ctx, err, cap);
	if (rc == 0)
		assert_non_null(ctx);
	SSL_CTX_free(ctx);
	return rc;
}

static void test_pem_topic_and_dates(void **state)
{
	struct keystore_push_info info;
	char c[128], err[300] = "";
	path(c, sizeof(c), "push.pem");
	assert_int_equal(keystore_push_info(c, NULL, &info, err, sizeof(err)), 0);
	assert_string_equal(info.topic, TOPIC);
	assert_non_null(strstr(info.subject, "APSP:unit"));
	long left = (long)(info.not_after - time(NULL));
	assert_true(left > 86400L * 29 && left <= 86400L * 30);
	assert_int_equal(ctx_for("push.pem", "push.key", NULL, err, sizeof(err)), 0);
}

static void test_encrypted_key(void **state)
{
	char err[300] = "";
	assert_int_equal(ctx_for("push.pem", "enc.key", "s3cret", err, sizeof(err)), 0);
	assert_int_equal(ctx_for("push.pem", "enc.key", "wrong", err, sizeof(err)), AP_EPARSE);
	assert_non_null(strstr(err, "passphrase"));
	/* no passphrase: refused, never a prompt on the terminal */
	assert_int_equal(ctx_for("push.pem", "enc.key", NULL, err, sizeof(err)), AP_EPARSE);
	assert_null(strstr(err, "s3cret"));
}

static void test_pkcs12(void **state)
{
	struct keystore_push_info info;
	char c[128], err[300] = "";
	path(c, sizeof(c), "push.p12");
	assert_int_equal(keystore_push_info(c, "p12pass", &info, err, sizeof(err)), 0);
	assert_string_equal(info.topic, TOPIC);
	assert_int_equal(ctx_for("push.p12", NULL, "p12pass", err, sizeof(err)), 0);
	assert_int_equal(ctx_for("push.p12", NULL, "nope", err, sizeof(err)), AP_EPARSE);
	assert_non_null(strstr(err, "PKCS#12"));
}

static void test_refusals(void **state)
{
	char err[300] = "";
	assert_int_equal(ctx_for("push.pem", "open.key", NULL, err, sizeof(err)), AP_EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(ctx_for("push.pem", "other.key", NULL, err, sizeof(err)), AP_EBADSIG);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(ctx_for("expired.pem", "push.key", NULL, err, sizeof(err)), AP_EBADSIG);
	assert_non_null(strstr(err, "expired on"));
	assert_int_equal(ctx_for("nouid.pem", "push.key", NULL, err, sizeof(err)), AP_EMISSING);
	assert_non_null(strstr(err, "UID"));
	assert_int_equal(ctx_for("missing.pem", "push.key", NULL, err, sizeof(err)), AP_EIO);
	assert_int_equal(ctx_for("push.key", "push.key", NULL, err, sizeof(err)), AP_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pem_topic_and_dates),
	    cmocka_unit_test(test_encrypted_key),
	    cmocka_unit_test(test_pkcs12),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
