/* Unit tests for daemon/core/keystore.c: key files, permissions, sealing, the
 * APNs push credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ap_err.h"
#include "ap_x509.h"
#include "keystore.h"
#include "testutil.h"
#include "unit.h"

static const char *const private_files[] = {"ca.key", "server.key", "secret.key"};

struct fixture {
	char dir[4096];
	char err[512];
	struct keystore *ks;
};

static void path_of(const struct fixture *f, const char *name, char out[4200])
{
	snprintf(out, 4200, "%s/%s", f->dir, name);
}

static int mode_of(const struct fixture *f, const char *name)
{
	char p[4200];
	struct stat st;
	path_of(f, name, p);
	assert_int_equal(stat(p, &st), 0);
	return (int)(st.st_mode & 07777);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *names[] = {"localhost", "127.0.0.1", "mdm.college.example"};
	unit_tmpdir(f->dir);
	mode_t old = umask(0); /* the modes must not depend on the umask */
	int rc = keystore_create(f->dir, names, 3, f->err, sizeof(f->err));
	umask(old);
	if (rc != 0) {
		fprintf(stderr, "keystore_create: %s\n", f->err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	keystore_free(f->ks);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* The CA is RSA with the key usages of a SCEP CA without RA (iPads
 * encrypt their requests to it; it signs the replies); the TLS server
 * key is ECDSA P-256, signed by it. */
static void test_ca_is_rsa_for_ipads(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	X509 *ca = keystore_ca_cert(f->ks);
	EVP_PKEY *pub = X509_get0_pubkey(ca);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
	uint32_t ku = X509_get_key_usage(ca);
	assert_true(ku & KU_KEY_ENCIPHERMENT);
	assert_true(ku & KU_DIGITAL_SIGNATURE);
	assert_true(ku & KU_KEY_CERT_SIGN);
	char p[4200], pem[8192];
	path_of(f, "server.pem", p);
	FILE *in = fopen(p, "r");
	assert_non_null(in);
	size_t n = fread(pem, 1, sizeof(pem), in);
	fclose(in);
	X509 *srv = NULL;
	assert_int_equal(ap_x509_from_pem(pem, n, &srv), 0);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(srv)), EVP_PKEY_EC);
	assert_int_equal(X509_verify(srv, pub), 1);
	X509_free(srv);
}

static void test_create_modes(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(mode_of(f, private_files[i]), 0600);
	assert_int_equal(mode_of(f, "ca.pem"), 0644);
	assert_int_equal(mode_of(f, "server.pem"), 0644);
}

static void test_open(void **state)
{
	struct fixture *f = *state;
	SSL_CTX *ctx = NULL;
	char *cn = NULL, ca_path[4200];
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	assert_non_null(keystore_ca_cert(f->ks));
	assert_int_equal(ap_x509_subject_cn(keystore_ca_cert(f->ks), &cn), 0);
	assert_string_equal(cn, "Ardoise CA");
	free(cn);
	path_of(f, "ca.pem", ca_path);
	assert_string_equal(keystore_ca_path(f->ks), ca_path);
	assert_non_null(keystore_device_trust(f->ks));
	assert_int_equal(keystore_tls_ctx(f->ks, NULL, NULL, &ctx), 0);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
}

/* keystore_create never overwrites an installation. */
static void test_create_refuses_existing(void **state)
{
	struct fixture *f = *state;
	const char *names[] = {"localhost"};
	char p[4200], before[64], after[64];
	path_of(f, "ca.key", p);
	FILE *in = fopen(p, "r");
	size_t n = fread(before, 1, sizeof(before), in);
	fclose(in);
	assert_true(keystore_create(f->dir, names, 1, f->err, sizeof(f->err)) < 0);
	assert_non_null(strstr(f->err, f->dir));
	in = fopen(p, "r");
	assert_int_equal(fread(after, 1, sizeof(after), in), n);
	fclose(in);
	assert_memory_equal(before, after, n);
}

static void test_unsafe_modes_refused(void **state)
{
	static const mode_t unsafe[] = {0644, 0640, 0604, 0660, 0606, 0700 | 0004, 0620};
	struct fixture *f = *state;
	for (size_t i = 0; i < 3; i++) {
		char p[4200];
		path_of(f, private_files[i], p);
		for (size_t m = 0; m < sizeof(unsafe) / sizeof(unsafe[0]); m++) {
			struct keystore *ks = (struct keystore *)0x1;
			assert_int_equal(chmod(p, unsafe[m]), 0);
			f->err[0] = '\0';
			assert_int_equal(keystore_open(f->dir, NULL, &ks, f->err, sizeof(f->err)),
					 AP_EPERM);
			assert_ptr_equal(ks, (struct keystore *)0x1);
			if (strstr(f->err, p) == NULL)
				fail_msg("mode %o of %s: the message must name the file: %s",
					 (unsigned)unsafe[m], p, f->err);
		}
		assert_int_equal(chmod(p, 0600), 0);
	}
	/* owner-only modes are fine, read-only included */
	char p[4200];
	path_of(f, "ca.key", p);
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
}

static void test_missing_and_bad_files(void **state)
{
	struct fixture *f = *state;
	struct keystore *ks = NULL;
	char p[4200];

	path_of(f, "secret.key", p);
	unit_write(f->dir, "secret.key", "too short");
	assert_int_equal(keystore_open(f->dir, NULL, &ks, f->err, sizeof(f->err)), AP_ECONFIG);
	assert_non_null(strstr(f->err, p));

	assert_int_equal(unlink(p), 0);
	assert_true(keystore_open(f->dir, NULL, &ks, f->err, sizeof(f->err)) < 0);
	assert_non_null(strstr(f->err, p));
	assert_null(ks);
}

static void test_extra_device_ca(void **state)
{
	struct fixture *f = *state;
	char p[4200];
	path_of(f, "nope.pem", p);
	assert_true(keystore_open(f->dir, p, &f->ks, f->err, sizeof(f->err)) < 0);
	assert_non_null(strstr(f->err, p));
	const char *junk = unit_write(f->dir, "junk.pem", "not a certificate\n");
	assert_int_equal(keystore_open(f->dir, junk, &f->ks, f->err, sizeof(f->err)), AP_ECONFIG);
	assert_non_null(strstr(f->err, "junk.pem"));
	path_of(f, "server.pem", p); /* any PEM certificate is a valid anchor */
	assert_int_equal(keystore_open(f->dir, p, &f->ks, f->err, sizeof(f->err)), 0);
	/* the set of anchors has a name: the same files, the same name; an
	 * anchor more or less, another (daemon/mdm/mdm.c checks chains again) */
	struct keystore *same = NULL, *fewer = NULL;
	assert_int_equal(keystore_open(f->dir, p, &same, f->err, sizeof(f->err)), 0);
	assert_int_equal(keystore_open(f->dir, NULL, &fewer, f->err, sizeof(f->err)), 0);
	assert_int_equal(strlen(keystore_device_trust_id(f->ks)), 16);
	assert_string_equal(keystore_device_trust_id(f->ks), keystore_device_trust_id(same));
	assert_string_not_equal(keystore_device_trust_id(f->ks), keystore_device_trust_id(fewer));
	keystore_free(same);
	keystore_free(fewer);
	ERR_clear_error();
}

/* [mdm] device_ca read again (SIGHUP): a new set becomes current; the
 * calling thread keeps the set it holds until it adopts the new one; the
 * same anchors change nothing; a file with no certificate keeps the set. */
static void test_trust_reload(void **state)
{
	struct fixture *f = *state;
	char p[4200], before[17], with_server[17];
	int changed = -1;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	snprintf(before, sizeof(before), "%s", keystore_device_trust_id(f->ks));
	path_of(f, "server.pem", p);
	X509 *server = NULL;
	size_t len = 0;
	char *pem = tu_read_file(p, &len);
	assert_non_null(pem);
	assert_int_equal(ap_x509_from_pem(pem, len, &server), 0);
	free(pem);

	assert_int_equal(keystore_trust_reload(f->ks, p, &changed, f->err, sizeof(f->err)), 0);
	assert_int_equal(changed, 1);
	/* this thread still holds the set it adopted */
	assert_string_equal(keystore_device_trust_id(f->ks), before);
	keystore_trust_adopt(f->ks);
	snprintf(with_server, sizeof(with_server), "%s", keystore_device_trust_id(f->ks));
	assert_string_not_equal(with_server, before);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_CTX_init(ctx, keystore_device_trust(f->ks), server, NULL), 1);
	assert_int_equal(X509_verify_cert(ctx), 1); /* the new anchor is in the store */
	X509_STORE_CTX_free(ctx);

	/* the same anchors: no change */
	assert_int_equal(keystore_trust_reload(f->ks, p, &changed, f->err, sizeof(f->err)), 0);
	assert_int_equal(changed, 0);
	/* a file without a certificate: refused, the set kept */
	const char *junk = unit_write(f->dir, "junk.pem", "not a certificate\n");
	changed = -1;
	assert_int_equal(keystore_trust_reload(f->ks, junk, &changed, f->err, sizeof(f->err)),
			 AP_ECONFIG);
	assert_int_equal(changed, -1);
	assert_non_null(strstr(f->err, "junk.pem"));
	keystore_trust_adopt(f->ks);
	assert_string_equal(keystore_device_trust_id(f->ks), with_server);
	/* the anchor removed: back to the CA alone */
	assert_int_equal(keystore_trust_reload(f->ks, "", &changed, f->err, sizeof(f->err)), 0);
	assert_int_equal(changed, 1);
	keystore_trust_adopt(f->ks);
	assert_string_equal(keystore_device_trust_id(f->ks), before);
	/* a TLS context made now carries the current set */
	SSL_CTX *tls = NULL;
	assert_int_equal(keystore_tls_ctx(f->ks, NULL, NULL, &tls), 0);
	assert_ptr_equal(SSL_CTX_get_cert_store(tls), keystore_device_trust(f->ks));
	SSL_CTX_free(tls);
	X509_free(server);
	ERR_clear_error();
}

static void test_seal_round_trip(void **state)
{
	struct fixture *f = *state;
	static const char secret[] = "UnlockToken \x00\x01\x02 bytes";
	unsigned char *sealed = NULL, *sealed2 = NULL, *plain = NULL;
	size_t slen = 0, slen2 = 0, plen = 0;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);

	assert_int_equal(keystore_seal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", secret,
				       sizeof(secret), &sealed, &slen),
			 0);
	assert_int_equal(slen, 1 + 12 + sizeof(secret) + 16);
	assert_int_equal(sealed[0], 1);			      /* the format version */
	assert_null(memmem(sealed, slen, "UnlockToken", 11)); /* not in clear */
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", sealed, slen, &plain, &plen),
	    0);
	assert_int_equal(plen, sizeof(secret));
	assert_memory_equal(plain, secret, sizeof(secret));
	free(plain);

	/* a fresh nonce each time */
	assert_int_equal(keystore_seal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", secret,
				       sizeof(secret), &sealed2, &slen2),
			 0);
	assert_int_equal(slen2, slen);
	assert_memory_not_equal(sealed, sealed2, slen);
	free(sealed2);

	/* an empty secret works too */
	assert_int_equal(
	    keystore_seal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", "", 0, &sealed2, &slen2), 0);
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", sealed2, slen2, &plain, &plen),
	    0);
	assert_int_equal(plen, 0);
	free(plain);
	free(sealed2);

	/* the same key survives a reopen (it is the file, not memory) */
	keystore_free(f->ks);
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", sealed, slen, &plain, &plen),
	    0);
	free(plain);
	free(sealed);
}

static void test_unseal_refuses_tampering(void **state)
{
	struct fixture *f = *state;
	unsigned char *sealed = NULL, *plain = (unsigned char *)0x1;
	size_t slen = 0, plen = 77;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	assert_int_equal(
	    keystore_seal(f->ks, KEYSTORE_BYPASS_CODE, "udid-1", "bypass-code", 11, &sealed, &slen),
	    0);

	/* wrong owner */
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "udid-2", sealed, slen, &plain, &plen),
	    AP_ECRYPTO);
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "", sealed, slen, &plain, &plen),
	    AP_ECRYPTO);
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, NULL, sealed, slen, &plain, &plen),
	    AP_ECRYPTO);
	/* any flipped bit: nonce, ciphertext or tag */
	for (size_t i = 0; i < slen; i++) {
		sealed[i] ^= 0x40;
		int want = i == 0 ? AP_EPARSE : AP_ECRYPTO; /* byte 0: the version */
		if (keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "udid-1", sealed, slen, &plain,
				    &plen) != want)
			fail_msg("a flipped byte at %zu was not detected", i);
		sealed[i] ^= 0x40;
	}
	/* truncated */
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "udid-1", sealed, slen - 1, &plain, &plen),
	    AP_ECRYPTO);
	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "udid-1", sealed, 27, &plain, &plen),
	    AP_EPARSE);
	assert_ptr_equal(plain, (unsigned char *)0x1); /* outputs untouched on failure */
	assert_int_equal(plen, 77);

	/* another installation's key cannot open it */
	struct fixture *other;
	assert_int_equal(setup((void **)&other), 0);
	assert_int_equal(keystore_open(other->dir, NULL, &other->ks, other->err, 512), 0);
	assert_int_equal(
	    keystore_unseal(other->ks, KEYSTORE_BYPASS_CODE, "udid-1", sealed, slen, &plain, &plen),
	    AP_ECRYPTO);
	teardown((void **)&other);

	assert_int_equal(
	    keystore_unseal(f->ks, KEYSTORE_BYPASS_CODE, "udid-1", sealed, slen, &plain, &plen), 0);
	assert_memory_equal(plain, "bypass-code", 11);
	free(plain);
	free(sealed);
}

/* A blob sealed for one purpose opens for no other, whatever the owner:
 * an UnlockToken moved into the bypass code's column (or a location fix
 * into a command) is refused, not used as the other secret. */
static void test_seal_purpose_bound(void **state)
{
	struct fixture *f = *state;
	static const enum keystore_purpose all[] = {KEYSTORE_UNLOCK_TOKEN, KEYSTORE_BYPASS_CODE,
						    KEYSTORE_LOCATION,	   KEYSTORE_COMMAND,
						    KEYSTORE_ADE_TOKEN,	   KEYSTORE_VPP_TOKEN};
	unsigned char *sealed = NULL, *plain = NULL;
	size_t slen = 0, plen = 0;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(
		    keystore_seal(f->ks, all[i], "udid-1", "s3cret", 6, &sealed, &slen), 0);
		for (size_t j = 0; j < 6; j++) {
			int rc =
			    keystore_unseal(f->ks, all[j], "udid-1", sealed, slen, &plain, &plen);
			assert_int_equal(rc, i == j ? 0 : AP_ECRYPTO);
			if (rc == 0) {
				assert_memory_equal(plain, "s3cret", 6);
				free(plain);
			}
		}
		free(sealed);
	}
	assert_int_equal(
	    keystore_seal(f->ks, (enum keystore_purpose)99, "u", "x", 1, &sealed, &slen),
	    AP_EINVAL);
}

/* Blobs sealed before the version byte (nonce | ciphertext | tag, the
 * owner alone as associated data), made here by hand with the key file:
 * only keystore_unseal_legacy opens them (the re-sealing at start does),
 * never keystore_unseal, for any purpose; and a version-1 blob is not
 * taken for a legacy one. */
static void test_legacy_blobs(void **state)
{
	struct fixture *f = *state;
	unsigned char *old = NULL, *plain = NULL, *sealed = NULL;
	size_t old_len = 0, plen = 0, slen = 0;
	assert_int_equal(tu_legacy_seal(f->dir, "udid-1", "legacy", 6, &old, &old_len), 0);
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);

	assert_int_equal(keystore_unseal_legacy(f->ks, old, old_len, "udid-1", &plain, &plen), 0);
	assert_int_equal(plen, 6);
	assert_memory_equal(plain, "legacy", 6);
	free(plain);
	assert_int_equal(keystore_unseal_legacy(f->ks, old, old_len, "udid-2", &plain, &plen),
			 AP_ECRYPTO);
	old[0] = 1; /* even when its first byte looks like the version */
	for (int k = KEYSTORE_UNLOCK_TOKEN; k <= KEYSTORE_VPP_TOKEN; k++)
		assert_true(keystore_unseal(f->ks, (enum keystore_purpose)k, "udid-1", old, old_len,
					    &plain, &plen) < 0);
	assert_int_equal(
	    keystore_seal(f->ks, KEYSTORE_UNLOCK_TOKEN, "udid-1", "legacy", 6, &sealed, &slen), 0);
	assert_int_equal(keystore_unseal_legacy(f->ks, sealed, slen, "udid-1", &plain, &plen),
			 AP_ECRYPTO);
	free(sealed);
	free(old);
}

/* keystore_push_info/keystore_push_ctx: PEM, encrypted PEM, PKCS#12, the
 * topic from the subject UID, expiry, permissions (one group, its files
 * made once). */

#define TOPIC "com.apple.mgmt.External.3b1c5d6e-unit"

static char push_dir[64];
static EVP_PKEY *push_key, *push_other_key;

static void push_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", push_dir, name);
}

/* A push-like certificate: subject UID (if uid) and CN, valid from
 * now+from_s to now+to_s, self-signed with k. */
static X509 *make_cert(EVP_PKEY *k, const char *uid, long from_s, long to_s)
{
	struct tu_cert_spec spec = {
	    .cn = "APSP:unit", .uid = uid, .key = k, .from_s = from_s, .to_s = to_s};
	X509 *x = tu_cert_new(&spec);
	assert_non_null(x);
	return x;
}

static void write_cert(const char *name, X509 *x)
{
	assert_int_equal(tu_write_pem_in(push_dir, name, x, NULL, NULL, 0644), 0);
}

static void write_key(const char *name, EVP_PKEY *k, const char *pass, mode_t mode)
{
	assert_int_equal(tu_write_pem_in(push_dir, name, NULL, k, pass, mode), 0);
}

static int push_setup(void **state)
{
	snprintf(push_dir, sizeof(push_dir), "/tmp/ardoise-ks-push-XXXXXX");
	assert_non_null(mkdtemp(push_dir));
	push_key = tu_key("rsa");
	push_other_key = tu_key("ec");
	X509 *good = make_cert(push_key, TOPIC, -3600, 86400L * 30);
	write_cert("push.pem", good);
	write_key("push.key", push_key, NULL, 0600);
	write_key("enc.key", push_key, "s3cret", 0600);
	write_key("open.key", push_key, NULL, 0644);
	write_key("other.key", push_other_key, NULL, 0600);
	X509 *x = make_cert(push_key, TOPIC, -86400L * 40, -86400L * 5);
	write_cert("expired.pem", x);
	X509_free(x);
	x = make_cert(push_key, NULL, -3600, 86400L * 30);
	write_cert("nouid.pem", x);
	X509_free(x);
	PKCS12 *p12 = PKCS12_create("p12pass", "push", push_key, good, NULL, 0, 0, 0, 0, 0);
	char p[128];
	push_path(p, sizeof(p), "push.p12");
	FILE *f = fopen(p, "wb");
	i2d_PKCS12_fp(f, p12);
	fclose(f);
	chmod(p, 0600);
	PKCS12_free(p12);
	X509_free(good);
	return 0;
}

static int push_teardown(void **state)
{
	static const char *const names[] = {"push.pem",	 "push.key",	"enc.key",   "open.key",
					    "other.key", "expired.pem", "nouid.pem", "push.p12"};
	char p[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		push_path(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(push_dir);
	EVP_PKEY_free(push_key);
	EVP_PKEY_free(push_other_key);
	return 0;
}

/* keystore_push_ctx on files of push_dir; frees the context. */
static int ctx_for(const char *cert, const char *k, const char *pass, char *err, size_t cap)
{
	char c[128], kp[128];
	SSL_CTX *ctx = NULL;
	push_path(c, sizeof(c), cert);
	push_path(kp, sizeof(kp), k ? k : "");
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
	push_path(c, sizeof(c), "push.pem");
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
	push_path(c, sizeof(c), "push.p12");
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

/* cert's PEM to an X509. */
static X509 *pem_cert(const char *pem)
{
	X509 *x = NULL;
	assert_int_equal(ap_x509_from_pem(pem, strlen(pem), &x), 0);
	return x;
}

/* content encrypted to cert as CMS EnvelopedData: S/MIME (form 0), PEM
 * (1) or DER (2); malloc'd into *ret. */
static size_t encrypt_to(X509 *cert, const char *content, int form, char **ret)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, cert);
	BIO *in = BIO_new_mem_buf(content, (int)strlen(content)), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_BINARY);
	assert_non_null(cms);
	if (form == 0)
		assert_int_equal(SMIME_write_CMS(out, cms, NULL, 0), 1);
	else if (form == 1)
		assert_int_equal(PEM_write_bio_CMS_stream(out, cms, NULL, 0), 1);
	else
		assert_int_equal(i2d_CMS_bio(out, cms), 1);
	char *data;
	long n = BIO_get_mem_data(out, &data);
	*ret = malloc((size_t)n + 1);
	memcpy(*ret, data, (size_t)n);
	(*ret)[n] = '\0';
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	sk_X509_free(certs);
	return (size_t)n;
}

/* The ADE key pair: none before the first call (decrypt says so), made
 * 0600 / 0644 and kept (the same certificate again), an RSA-2048
 * certificate for key encipherment; a token encrypted to it opens in the
 * three forms, one encrypted to another key or garbage does not. */
static void test_ade_keypair(void **state)
{
	struct fixture *f = *state;
	char *pem = NULL, *pem2 = NULL, *out = NULL, *p7m = NULL;
	size_t n = 0;
	int created = -1;
	assert_int_equal(keystore_open(f->dir, NULL, &f->ks, f->err, sizeof(f->err)), 0);
	assert_int_equal(keystore_ade_decrypt(f->ks, "x", 1, &out, &n, f->err, sizeof(f->err)),
			 AP_EMISSING);
	assert_non_null(strstr(f->err, "ade keypair"));
	assert_int_equal(keystore_ade_keypair(f->ks, &pem, &created, f->err, sizeof(f->err)), 0);
	assert_int_equal(created, 1);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	assert_int_equal(mode_of(f, "ade.key"), 0600);
	assert_int_equal(mode_of(f, "ade.pem"), 0644);
	assert_int_equal(keystore_ade_keypair(f->ks, &pem2, &created, f->err, sizeof(f->err)), 0);
	assert_int_equal(created, 0);
	assert_string_equal(pem, pem2);
	free(pem2);
	X509 *cert = pem_cert(pem);
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
	assert_true(X509_get_key_usage(cert) & KU_KEY_ENCIPHERMENT);

	const char *token =
	    "Content-Type: text/plain;charset=UTF-8\r\n\r\n{\"consumer_key\":\"CK_1\"}";
	for (int form = 0; form < 3; form++) {
		size_t len = encrypt_to(cert, token, form, &p7m);
		assert_int_equal(
		    keystore_ade_decrypt(f->ks, p7m, len, &out, &n, f->err, sizeof(f->err)), 0);
		assert_string_equal(out, token);
		assert_int_equal(n, strlen(token));
		free(out);
		free(p7m);
	}
	/* encrypted to another key */
	EVP_PKEY *other = NULL;
	X509 *ocert = NULL;
	assert_int_equal(ap_x509_new_rsa_key(2048, &other), 0);
	assert_int_equal(ap_x509_make_selfsigned(other, "Other", 30, &ocert), 0);
	size_t len = encrypt_to(ocert, token, 0, &p7m);
	assert_int_equal(keystore_ade_decrypt(f->ks, p7m, len, &out, &n, f->err, sizeof(f->err)),
			 AP_ECRYPTO);
	assert_null(out);
	free(p7m);
	static const char *const junk[] = {"", "garbage", "0\x82\x01", "-----BEGIN CMS-----\nxx\n",
					   "Content-Type: application/pkcs7-mime\r\n\r\n@@@"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		assert_int_equal(keystore_ade_decrypt(f->ks, junk[i], strlen(junk[i]), &out, &n,
						      f->err, sizeof(f->err)),
				 AP_EPARSE);
		assert_null(out);
	}
	/* a key readable by others is refused */
	char kp[4200];
	path_of(f, "ade.key", kp);
	assert_int_equal(chmod(kp, 0644), 0);
	assert_int_equal(keystore_ade_keypair(f->ks, &pem2, &created, f->err, sizeof(f->err)),
			 AP_EPERM);
	X509_free(cert);
	X509_free(ocert);
	EVP_PKEY_free(other);
	free(pem);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_ca_is_rsa_for_ipads),
	    T(test_create_modes),
	    T(test_open),
	    T(test_create_refuses_existing),
	    T(test_unsafe_modes_refused),
	    T(test_missing_and_bad_files),
	    T(test_extra_device_ca),
	    T(test_trust_reload),
	    T(test_seal_round_trip),
	    T(test_unseal_refuses_tampering),
	    T(test_seal_purpose_bound),
	    T(test_legacy_blobs),
	    T(test_ade_keypair),
	};
	const struct CMUnitTest push_tests[] = {
	    cmocka_unit_test(test_pem_topic_and_dates),
	    cmocka_unit_test(test_encrypted_key),
	    cmocka_unit_test(test_pkcs12),
	    cmocka_unit_test(test_refusals),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return failed + cmocka_run_group_tests(push_tests, push_setup, push_teardown);
}
