/* Unit tests for ap_machineinfo: the ADE MachineInfo, signed as Apple
 * signs it (SHA-1, an expired leaf with a SHA-1 signature, an
 * intermediate in the message), against a stand-in root: good, wrong
 * anchor, tampered, not signed, detached, truncated at every prefix,
 * huge, and the plist's hostile shapes. */
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

#include "ap_err.h"
#include "ap_machineinfo.h"
#include "testutil.h"

#define INFO(extra)                                                                 \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>" \
	"<key>UDID</key><string>00008103-001A2B3C4D5E6F70</string>"                 \
	"<key>SERIAL</key><string>DMPXK0AB1234</string>"                            \
	"<key>PRODUCT</key><string>iPad13,18</string>"                              \
	"<key>VERSION</key><string>21G93</string>" extra "</dict></plist>\n"

static const char info[] = INFO("<key>OS_VERSION</key><string>17.6.1</string>"
				"<key>LANGUAGE</key><string>fr</string>"
				"<key>MDM_CAN_REQUEST_SOFTWARE_UPDATE</key><true/>");

struct pki {
	EVP_PKEY *root_key, *ca_key, *leaf_key, *other_key;
	X509 *root, *ca, *leaf, *other_root;
	STACK_OF(X509) * chain;
	X509_STORE *anchors, *other;
	unsigned char *der;
	size_t der_len;
};

/* Apple's way: the leaf expired in 2020, signed with SHA-1. */
static X509 *expired_sha1_leaf(struct pki *p)
{
	struct tu_cert_spec s = {.cn = "Apple iPhone OS Provisioning Profile Signing",
				 .key = p->leaf_key,
				 .issuer = p->ca,
				 .issuer_key = p->ca_key,
				 .kind = TU_CERT_CLIENT,
				 .from_s = -6L * 365 * 86400,
				 .to_s = -5L * 365 * 86400};
	X509 *x = tu_cert_new(&s);
	if (x && X509_sign(x, p->ca_key, EVP_sha1()) <= 0) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

static int setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	p->root_key = tu_key("rsa");
	p->root = tu_cert("Apple Inc. Root CA", p->root_key, NULL, NULL, 1);
	p->ca_key = tu_key("rsa");
	p->ca = tu_cert("Apple iPhone Device CA", p->ca_key, p->root, p->root_key, 1);
	p->leaf_key = tu_key("rsa");
	p->leaf = expired_sha1_leaf(p);
	p->other_key = tu_key("rsa");
	p->other_root = tu_cert("Apple Inc. Root CA", p->other_key, NULL, NULL, 1);
	p->chain = sk_X509_new_null();
	p->anchors = X509_STORE_new();
	p->other = X509_STORE_new();
	if (!p->leaf || !p->other_root || !p->chain || sk_X509_push(p->chain, p->ca) <= 0 ||
	    X509_STORE_add_cert(p->anchors, p->root) != 1 ||
	    X509_STORE_add_cert(p->other, p->other_root) != 1)
		return -1;
	if (ap_machineinfo_sign(info, sizeof(info) - 1, p->leaf, p->leaf_key, p->chain, &p->der,
				&p->der_len) != 0)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pki *p = *state;
	X509_STORE_free(p->anchors);
	X509_STORE_free(p->other);
	sk_X509_free(p->chain);
	X509_free(p->root);
	X509_free(p->ca);
	X509_free(p->leaf);
	X509_free(p->other_root);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->other_key);
	free(p->der);
	free(p);
	return 0;
}

static void test_good(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	assert_int_equal(ap_machineinfo_open(p->der, p->der_len, p->anchors, &mi), 0);
	assert_string_equal(mi.udid, "00008103-001A2B3C4D5E6F70");
	assert_string_equal(mi.serial, "DMPXK0AB1234");
	assert_string_equal(mi.product, "iPad13,18");
	assert_string_equal(mi.version, "21G93");
	assert_string_equal(mi.os_version, "17.6.1");
	assert_string_equal(mi.language, "fr");
	assert_int_equal(mi.can_request_update, 1);
	/* the anchors keep their own rules: the expired leaf fails there */
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_CTX_init(ctx, p->anchors, p->leaf, p->chain), 1);
	assert_int_not_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

static void test_wrong_anchor(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	assert_int_equal(ap_machineinfo_open(p->der, p->der_len, p->other, &mi), AP_EBADSIG);
	/* the intermediate alone is not an anchor of the right store */
	X509_STORE *only_ca = X509_STORE_new();
	X509_STORE_add_cert(only_ca, p->other_root);
	assert_int_equal(ap_machineinfo_open(p->der, p->der_len, only_ca, &mi), AP_EBADSIG);
	X509_STORE_free(only_ca);
}

static void test_missing_intermediate(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	unsigned char *der = NULL;
	size_t len = 0;
	assert_int_equal(
	    ap_machineinfo_sign(info, sizeof(info) - 1, p->leaf, p->leaf_key, NULL, &der, &len), 0);
	assert_int_equal(ap_machineinfo_open(der, len, p->anchors, &mi), AP_EBADSIG);
	free(der);
}

static void test_tampered(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	unsigned char *der = malloc(p->der_len);
	memcpy(der, p->der, p->der_len);
	unsigned char *at = memmem(der, p->der_len, "DMPXK0AB1234", 12);
	assert_non_null(at);
	at[0] = 'X'; /* another serial, same length */
	assert_int_equal(ap_machineinfo_open(der, p->der_len, p->anchors, &mi), AP_EBADSIG);
	free(der);
}

/* Signed by a key that is not the leaf's (a self-made leaf, same name). */
static void test_forged_signer(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	EVP_PKEY *k = tu_key("rsa");
	X509 *fake = tu_cert("Apple iPhone OS Provisioning Profile Signing", k, NULL, NULL, 0);
	unsigned char *der = NULL;
	size_t len = 0;
	assert_int_equal(ap_machineinfo_sign(info, sizeof(info) - 1, fake, k, p->chain, &der, &len),
			 0);
	assert_int_equal(ap_machineinfo_open(der, len, p->anchors, &mi), AP_EBADSIG);
	free(der);
	X509_free(fake);
	EVP_PKEY_free(k);
}

static void test_not_signed(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	/* the bare plist, and a CMS "data" object */
	assert_int_equal(ap_machineinfo_open(info, sizeof(info) - 1, p->anchors, &mi), AP_EPARSE);
	BIO *in = BIO_new_mem_buf(info, sizeof(info) - 1);
	CMS_ContentInfo *cms = CMS_data_create(in, CMS_BINARY);
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(ap_machineinfo_open(der, (size_t)n, p->anchors, &mi), AP_EPARSE);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	/* detached: the content is not in the message */
	in = BIO_new_mem_buf(info, sizeof(info) - 1);
	cms = CMS_sign(p->leaf, p->leaf_key, p->chain, in, CMS_BINARY | CMS_DETACHED);
	der = NULL;
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(ap_machineinfo_open(der, (size_t)n, p->anchors, &mi), AP_EPARSE);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

static void test_every_prefix(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	for (size_t n = 0; n < p->der_len; n++) {
		unsigned char *cut = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(cut, p->der, n);
		int rc = ap_machineinfo_open(cut, n, p->anchors, &mi);
		assert_true(rc == AP_EPARSE || rc == AP_EBADSIG);
		free(cut);
	}
	unsigned char *more = malloc(p->der_len + 1); /* a trailing byte */
	memcpy(more, p->der, p->der_len);
	more[p->der_len] = 0;
	assert_int_equal(ap_machineinfo_open(more, p->der_len + 1, p->anchors, &mi), AP_EPARSE);
	free(more);
}

static void test_huge(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	size_t n = AP_MACHINEINFO_MAX + 1;
	unsigned char *big = calloc(1, n);
	memcpy(big, p->der, p->der_len);
	assert_int_equal(ap_machineinfo_open(big, n, p->anchors, &mi), AP_ETOOBIG);
	assert_int_equal(ap_machineinfo_parse(big, n, &mi), AP_ETOOBIG);
	free(big);
	assert_int_equal(ap_machineinfo_open(NULL, 1, p->anchors, &mi), AP_EINVAL);
	assert_int_equal(ap_machineinfo_open(p->der, p->der_len, NULL, &mi), AP_EINVAL);
}

/* A valid signature over a hostile plist: the parse still refuses it. */
static int open_signed(struct pki *p, const char *xml, struct ap_machineinfo *mi)
{
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = ap_machineinfo_sign(xml, strlen(xml), p->leaf, p->leaf_key, p->chain, &der, &len);
	assert_int_equal(rc, 0);
	rc = ap_machineinfo_open(der, len, p->anchors, mi);
	free(der);
	return rc;
}

static void test_hostile_plists(void **state)
{
	struct pki *p = *state;
	struct ap_machineinfo mi;
	memset(&mi, 0x5a, sizeof(mi));
	assert_int_equal(open_signed(p, "not a plist", &mi), AP_EPARSE);
	assert_int_equal(mi.udid[0], 0x5a); /* untouched on failure */
	assert_int_equal(open_signed(p, "<plist><array/></plist>", &mi), AP_ETYPE);
	assert_int_equal(open_signed(p,
				     "<plist><dict><key>UDID</key><string>x</string>"
				     "<key>PRODUCT</key><string>p</string><key>VERSION</key>"
				     "<string>v</string></dict></plist>",
				     &mi),
			 AP_EMISSING);
	assert_int_equal(open_signed(p,
				     INFO("<key>MDM_CAN_REQUEST_SOFTWARE_UPDATE</key>"
					  "<string>yes</string>"),
				     &mi),
			 AP_ETYPE);
	assert_int_equal(open_signed(p,
				     "<plist><dict><key>UDID</key><integer>1</integer>"
				     "<key>SERIAL</key><string>S</string><key>PRODUCT</key>"
				     "<string>p</string><key>VERSION</key><string>v</string>"
				     "</dict></plist>",
				     &mi),
			 AP_ETYPE);
	assert_int_equal(open_signed(p,
				     "<plist><dict><key>UDID</key><string>u</string>"
				     "<key>SERIAL</key><string>S N'--</string><key>PRODUCT</key>"
				     "<string>p</string><key>VERSION</key><string>v</string>"
				     "</dict></plist>",
				     &mi),
			 AP_EINVAL);
	char long_os[800];
	snprintf(long_os, sizeof(long_os), INFO("<key>OS_VERSION</key><string>%0100d</string>"), 1);
	assert_int_equal(open_signed(p, long_os, &mi), AP_EINVAL);
	/* absent optional keys: "" and 0 */
	assert_int_equal(open_signed(p, INFO(""), &mi), 0);
	assert_string_equal(mi.os_version, "");
	assert_int_equal(mi.can_request_update, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_wrong_anchor),
	    cmocka_unit_test(test_missing_intermediate),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_forged_signer),
	    cmocka_unit_test(test_not_signed),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_huge),
	    cmocka_unit_test(test_hostile_plists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
