/* Unit tests for pol_profile: the shipped baseline, structure errors
 * (table-driven), signed input, the content hash and the stable bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cms.h"
#include "ap_err.h"
#include "pol_profile.h"
#include "testutil.h"

#define HEAD                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"            \
	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
	"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n"
#define TAIL "</plist>\n"

#define TOP(id, uuid)                                          \
	"<key>PayloadType</key><string>Configuration</string>" \
	"<key>PayloadVersion</key><integer>1</integer>"        \
	"<key>PayloadIdentifier</key><string>" id "</string>"  \
	"<key>PayloadUUID</key><string>" uuid "</string>"      \
	"<key>PayloadDisplayName</key><string>Test</string>"

#define PAYLOAD(type, id, uuid, extra)                          \
	"<dict><key>PayloadType</key><string>" type "</string>" \
	"<key>PayloadVersion</key><integer>1</integer>"         \
	"<key>PayloadIdentifier</key><string>" id "</string>"   \
	"<key>PayloadUUID</key><string>" uuid "</string>" extra "</dict>"

#define RESTR(id, uuid) \
	PAYLOAD("com.apple.applicationaccess", id, uuid, "<key>allowCamera</key><true/>")
#define NOTIF(id, uuid)                                                                          \
	PAYLOAD("com.apple.notificationsettings", id, uuid,                                      \
		"<key>NotificationSettings</key><array><dict><key>BundleIdentifier</key>"        \
		"<string>com.apple.MobileSMS</string><key>ShowInLockScreen</key><false/></dict>" \
		"</array>")

#define PROFILE(top, payloads) \
	HEAD "<dict>" top "<key>PayloadContent</key><array>" payloads "</array></dict>" TAIL

static const char good[] =
    PROFILE(TOP("fr.test.p", "11111111-1111-4111-8111-111111111111"),
	    RESTR("fr.test.p.r", "22222222-2222-4222-8222-222222222222")
		NOTIF("fr.test.p.n", "33333333-3333-4333-8333-333333333333"));

static int parse(const char *s, struct pol_profile **ret, char *detail)
{
	return pol_profile_parse(s, strlen(s), ret, detail, 200);
}

static void test_good(void **state)
{
	struct pol_profile *p = NULL;
	char detail[200];
	assert_int_equal(parse(good, &p, detail), 0);
	assert_string_equal(detail, "");
	assert_string_equal(p->identifier, "fr.test.p");
	assert_string_equal(p->display_name, "Test");
	assert_string_equal(p->description, "");
	assert_int_equal(p->n_payloads, 2);
	assert_string_equal(p->payload_types[0], "com.apple.applicationaccess");
	assert_string_equal(p->payload_types[1], "com.apple.notificationsettings");
	assert_int_equal(strlen(p->hash), 64);
	assert_int_equal(p->was_signed, 0);
	/* the bytes to send carry the derived UUID, not the file's */
	assert_non_null(strstr(p->xml, p->uuid));
	assert_null(strstr(p->xml, "11111111-1111-4111-8111-111111111111"));
	assert_int_equal(strlen(p->xml), p->xml_len);
	assert_int_equal(tu_schema_check1("good", p->xml, p->xml_len, NULL), 0);
	pol_profile_free(p);
}

struct bad_case {
	const char *name;
	const char *text;
	int rc;
	const char *detail_has;
};

static const struct bad_case bad_cases[] = {
    {"array", HEAD "<array/>" TAIL, AP_ETYPE, "dictionary"},
    {"wrong type", HEAD "<dict><key>PayloadType</key><string>Payload</string></dict>" TAIL,
     AP_EINVAL, "Configuration"},
    {"no identifier",
     HEAD "<dict><key>PayloadType</key><string>Configuration</string>"
	  "<key>PayloadVersion</key><integer>1</integer></dict>" TAIL,
     AP_EMISSING, "PayloadIdentifier"},
    {"version 2",
     HEAD "<dict><key>PayloadType</key><string>Configuration</string>"
	  "<key>PayloadVersion</key><integer>2</integer></dict>" TAIL,
     AP_EINVAL, "PayloadVersion"},
    {"identifier not a string",
     HEAD "<dict><key>PayloadType</key><string>Configuration</string>"
	  "<key>PayloadVersion</key><integer>1</integer>"
	  "<key>PayloadIdentifier</key><integer>3</integer></dict>" TAIL,
     AP_ETYPE, "PayloadIdentifier"},
    {"bad identifier", PROFILE(TOP("fr test", "U0"), RESTR("a", "U1")), AP_EINVAL, "reverse-DNS"},
    {"enrolment identifier", PROFILE(TOP("fr.ardoise.enroll", "U0"), RESTR("a", "U1")),
     AP_EUNSUPPORTED, "enrolment"},
    {"no content", HEAD "<dict>" TOP("fr.t", "U0") "</dict>" TAIL, AP_EMISSING, "PayloadContent"},
    {"empty content", PROFILE(TOP("fr.t", "U0"), ""), AP_EMISSING, "no payload"},
    {"content not array",
     HEAD "<dict>" TOP("fr.t", "U0") "<key>PayloadContent</key><dict/></dict>" TAIL, AP_ETYPE,
     "array"},
    {"payload not dict", PROFILE(TOP("fr.t", "U0"), "<string>x</string>"), AP_ETYPE,
     "PayloadContent[0]"},
    {"unknown type", PROFILE(TOP("fr.t", "U0"), PAYLOAD("com.example.thing", "a", "U1", "")),
     AP_EUNSUPPORTED, "com.example.thing"},
    {"mdm payload", PROFILE(TOP("fr.t", "U0"), PAYLOAD("com.apple.mdm", "a", "U1", "")),
     AP_EUNSUPPORTED, "com.apple.mdm"},
    {"payload without uuid",
     PROFILE(TOP("fr.t", "U0"),
	     "<dict><key>PayloadType</key><string>com.apple.applicationaccess</string>"
	     "<key>PayloadVersion</key><integer>1</integer>"
	     "<key>PayloadIdentifier</key><string>a</string></dict>"),
     AP_EMISSING, "PayloadUUID"},
    {"duplicate identifier", PROFILE(TOP("fr.t", "U0"), RESTR("a", "U1") RESTR("a", "U2")),
     AP_EINVAL, "PayloadIdentifier 'a' is used twice"},
    {"payload identifier = top", PROFILE(TOP("fr.t", "U0"), RESTR("fr.t", "U1")), AP_EINVAL,
     "used twice"},
    {"duplicate uuid", PROFILE(TOP("fr.t", "U0"), RESTR("a", "U1") RESTR("b", "U1")), AP_EINVAL,
     "PayloadUUID 'U1' is used twice"},
    {"uuid = top uuid", PROFILE(TOP("fr.t", "U0"), RESTR("a", "U0")), AP_EINVAL, "used twice"},
    {"two one-per-device payloads", PROFILE(TOP("fr.t", "U0"), NOTIF("a", "U1") NOTIF("b", "U2")),
     AP_EINVAL, "one com.apple.notificationsettings"},
    {"encrypted",
     HEAD
     "<dict>" TOP("fr.t", "U0") "<key>IsEncrypted</key><true/>"
				"<key>EncryptedPayloadContent</key><data>AAAA</data></dict>" TAIL,
     AP_EUNSUPPORTED, "encrypted"},
    {"binary plist", "bplist00\xd0\x08\x00\x00\x00\x00\x00\x00\x01\x01", AP_EUNSUPPORTED,
     "XML plist"},
    {"garbage", "hello", AP_EPARSE, "XML plist"},
    {"bad DER", "\x30\x82\x01\x00garbage", AP_EPARSE, "CMS"},
};

static void test_bad_table(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct pol_profile *p = (struct pol_profile *)0x1;
		char detail[200] = "";
		int rc = parse(c->text, &p, detail);
		if (rc != c->rc || strstr(detail, c->detail_has) == NULL)
			fail_msg("%s: expected %d '%s', got %d '%s'", c->name, c->rc, c->detail_has,
				 rc, detail);
		assert_ptr_equal(p, (struct pol_profile *)0x1); /* untouched on error */
	}
}

static void test_too_many_payloads(void **state)
{
	size_t cap = 200000, o = 0;
	char *s = malloc(cap);
	o += (size_t)snprintf(s, cap, "%s<dict>%s<key>PayloadContent</key><array>", HEAD,
			      TOP("fr.t", "U0"));
	for (int i = 0; i <= POL_PROFILE_MAX_PAYLOADS; i++)
		o += (size_t)snprintf(s + o, cap - o, RESTR("a%d", "U%d"), i, i + 1);
	snprintf(s + o, cap - o, "</array></dict>%s", TAIL);
	struct pol_profile *p = NULL;
	assert_int_equal(parse(s, &p, NULL), AP_ETOOBIG);
	free(s);
	assert_int_equal(pol_profile_parse(good, POL_PROFILE_MAX_BYTES + 1, &p, NULL, 0),
			 AP_ETOOBIG);
	assert_int_equal(pol_profile_parse(NULL, 0, &p, NULL, 0), AP_EINVAL);
}

/* Same settings, other top-level UUID, other whitespace: same hash; one
 * setting changed: another hash and another UUID. */
static void test_hash(void **state)
{
	static const char same[] = HEAD "<dict>\n  " TOP(
	    "fr.test.p",
	    "99999999-9999-4999-8999-999999999999") "\n<key>PayloadContent</"
						    "key>\n<array>" RESTR("fr.test.p.r",
									  "22222222-2222-4222-"
									  "8222-222222222222")
							NOTIF("fr.test.p.n",
							      "33333333-3333-4333-8333-"
							      "333333333333") "</array></"
									      "dict>" TAIL;
	static const char edited[] = PROFILE(
	    TOP("fr.test.p", "11111111-1111-4111-8111-111111111111"),
	    PAYLOAD("com.apple.applicationaccess", "fr.test.p.r",
		    "22222222-2222-4222-8222-222222222222", "<key>allowCamera</key><false/>")
		NOTIF("fr.test.p.n", "33333333-3333-4333-8333-333333333333"));
	struct pol_profile *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(parse(good, &a, NULL), 0);
	assert_int_equal(parse(same, &b, NULL), 0);
	assert_int_equal(parse(edited, &c, NULL), 0);
	assert_string_equal(a->hash, b->hash);
	assert_string_equal(a->uuid, b->uuid);
	assert_int_equal(a->xml_len, b->xml_len);
	assert_memory_equal(a->xml, b->xml, a->xml_len);
	assert_string_not_equal(a->hash, c->hash);
	assert_string_not_equal(a->uuid, c->uuid);
	pol_profile_free(a);
	pol_profile_free(b);
	pol_profile_free(c);
}

/* A signed profile unwraps to the same content; a broken signature is
 * refused. */
static void test_signed(void **state)
{
	EVP_PKEY *key = tu_key("ec");
	X509 *cert = tu_cert("Some signer", key, NULL, NULL, 1);
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct pol_profile *plain = NULL, *sig = NULL;
	assert_int_equal(ap_cms_sign(good, strlen(good), cert, key, NULL, &der, &der_len), 0);
	assert_int_equal(parse(good, &plain, NULL), 0);
	assert_int_equal(pol_profile_parse(der, der_len, &sig, NULL, 0), 0);
	assert_int_equal(sig->was_signed, 1);
	assert_string_equal(plain->hash, sig->hash);
	assert_memory_equal(plain->xml, sig->xml, plain->xml_len);
	/* flip one byte of the content inside the signature */
	unsigned char *at = memmem(der, der_len, "allowCamera", 11);
	assert_non_null(at);
	at[0] = 'b';
	char detail[200];
	struct pol_profile *bad = NULL;
	assert_int_equal(pol_profile_parse(der, der_len, &bad, detail, sizeof(detail)), AP_EBADSIG);
	assert_non_null(strstr(detail, "signature"));
	pol_profile_free(plain);
	pol_profile_free(sig);
	free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* Every shipped baseline profile passes, and what would be sent passes
 * the schema checker too. */
static void test_baseline(void **state)
{
	static const char *const names[] = {"passcode", "restrictions", "webfilter", "lockscreen",
					    "notifications"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[1024], detail[200], want[80];
		size_t len = 0;
		struct pol_profile *p = NULL;
		snprintf(path, sizeof(path), "%s/%s.mobileconfig", BASELINE_DIR, names[i]);
		char *data = tu_read_file(path, &len);
		assert_non_null(data);
		if (pol_profile_parse(data, len, &p, detail, sizeof(detail)) != 0)
			fail_msg("%s: %s", path, detail);
		snprintf(want, sizeof(want), "fr.ardoise.baseline.%s", names[i]);
		assert_string_equal(p->identifier, want);
		assert_string_equal(p->organization, "Département");
		assert_int_equal(tu_schema_check1(names[i], p->xml, p->xml_len, NULL), 0);
		pol_profile_free(p);
		free(data);
	}
}

static void test_tables(void **state)
{
	assert_non_null(pol_profile_payload_type("com.apple.webcontent-filter"));
	assert_int_equal(pol_profile_payload_type("com.apple.mdm")->allowed, 0);
	assert_int_equal(pol_profile_payload_type("com.apple.app.lock")->multiple, 0);
	assert_null(pol_profile_payload_type("com.apple.nope"));
	assert_null(pol_profile_payload_type(NULL));
	size_t n = 0;
	while (pol_profile_payload_type_at(n))
		n++;
	assert_int_equal(n, 20); /* the 22 schema files less TopLevel and CommonPayloadKeys */
	assert_true(pol_profile_identifier_ok("com.example.app-1_b"));
	assert_false(pol_profile_identifier_ok(".com"));
	assert_false(pol_profile_identifier_ok("a b"));
	assert_false(pol_profile_identifier_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad_table),
	    cmocka_unit_test(test_too_many_payloads),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_signed),
	    cmocka_unit_test(test_baseline),
	    cmocka_unit_test(test_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
