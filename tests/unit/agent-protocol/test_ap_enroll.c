/* Unit tests for ap_enroll: the enrolment profile, checked by the schema tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ap_enroll.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "ap_uuid.h"
#include "testutil.h"

struct fixture {
	unsigned char *der;
	size_t der_len;
	struct ap_enroll_params p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	EVP_PKEY *key = tu_key("ec");
	X509 *ca = tu_cert("Ardoise Test Root CA", key, NULL, NULL, 1);
	unsigned char *der = NULL;
	int n = i2d_X509(ca, &der);

	if (f == NULL || n <= 0)
		return -1;
	f->der = malloc((size_t)n);
	memcpy(f->der, der, (size_t)n);
	f->der_len = (size_t)n;
	OPENSSL_free(der);
	X509_free(ca);
	EVP_PKEY_free(key);
	f->p = (struct ap_enroll_params){
	    .server_url = "https://ardoise.departement13.fr:8443/mdm/connect",
	    .checkin_url = "https://ardoise.departement13.fr:8443/mdm/checkin",
	    .topic = "com.apple.mgmt.External.2f5e8e0b-6d7e-4a3c-9b1f-0a1b2c3d4e5f",
	    .scep_url = "https://ardoise.departement13.fr:8443/scep",
	    .scep_challenge = "7Q2M-XK4P-9RTA",
	    .scep_subject_cn = "Ardoise device",
	    .ca_der = f->der,
	    .ca_der_len = f->der_len,
	    .organization = "D\xc3\xa9partement des Bouches-du-Rh\xc3\xb4ne",
	    .identifier = "fr.ardoise.enroll",
	    .uuid_seed = "enrolment-code-7Q2M-XK4P-9RTA",
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->der);
	free(f);
	return 0;
}

static void test_schema_valid(void **state)
{
	struct fixture *f = *state;
	char *xml = NULL;
	size_t len = 0;

	assert_int_equal(ap_enroll_profile_build(&f->p, &xml, &len), 0);
	assert_int_equal(strlen(xml), len);
	const char *const args[] = {"--werror", NULL};
	assert_int_equal(tu_schema_check1("enroll", xml, len, args), 0);
	const char *const old[] = {"--werror", "--os-version", "9.0", NULL};
	assert_int_equal(tu_schema_check1("enroll-ios9", xml, len, old), 0);
	free(xml);
}

static const char *str(plist_t d, const char *key)
{
	plist_t v = plist_dict_get_item(d, key);
	assert_non_null(v);
	assert_int_equal(plist_get_node_type(v), PLIST_STRING);
	return plist_get_string_ptr(v, NULL);
}

static void test_structure(void **state)
{
	struct fixture *f = *state;
	char *xml = NULL;
	size_t len = 0;
	plist_t top = NULL;

	assert_int_equal(ap_enroll_profile_build(&f->p, &xml, &len), 0);
	assert_int_equal(ap_plist_parse(xml, len, 0, &top), 0);
	assert_string_equal(str(top, "PayloadType"), "Configuration");
	assert_string_equal(str(top, "PayloadIdentifier"), "fr.ardoise.enroll");
	assert_string_equal(str(top, "PayloadOrganization"), f->p.organization);
	plist_t content = plist_dict_get_item(top, "PayloadContent");
	assert_int_equal(plist_array_get_size(content), 3);
	plist_t ca = plist_array_get_item(content, 0);
	plist_t scep = plist_array_get_item(content, 1);
	plist_t mdm = plist_array_get_item(content, 2);
	assert_string_equal(str(ca, "PayloadType"), "com.apple.security.root");
	assert_string_equal(str(scep, "PayloadType"), "com.apple.security.scep");
	assert_string_equal(str(mdm, "PayloadType"), "com.apple.mdm");

	const char *uuids[] = {str(top, "PayloadUUID"), str(ca, "PayloadUUID"),
			       str(scep, "PayloadUUID"), str(mdm, "PayloadUUID")};
	for (int i = 0; i < 4; i++) {
		assert_true(ap_uuid_is_valid(uuids[i]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(uuids[i], uuids[j]);
	}
	assert_string_equal(str(mdm, "IdentityCertificateUUID"), uuids[2]);
	assert_string_equal(str(mdm, "Topic"), f->p.topic);
	assert_string_equal(str(mdm, "ServerURL"), f->p.server_url);
	assert_string_equal(str(mdm, "CheckInURL"), f->p.checkin_url);
	uint64_t rights = 0;
	plist_get_uint_val(plist_dict_get_item(mdm, "AccessRights"), &rights);
	assert_int_equal(rights, 8191);
	assert_true(plist_bool_val_is_true(plist_dict_get_item(mdm, "SignMessage")));
	assert_true(plist_bool_val_is_true(plist_dict_get_item(mdm, "CheckOutWhenRemoved")));

	uint64_t dlen = 0;
	const char *der = plist_get_data_ptr(plist_dict_get_item(ca, "PayloadContent"), &dlen);
	assert_int_equal(dlen, f->der_len);
	assert_memory_equal(der, f->der, dlen);

	plist_t sc = plist_dict_get_item(scep, "PayloadContent");
	assert_string_equal(str(sc, "URL"), f->p.scep_url);
	assert_string_equal(str(sc, "Challenge"), f->p.scep_challenge);
	assert_string_equal(str(sc, "Key Type"), "RSA");
	uint64_t v = 0;
	plist_get_uint_val(plist_dict_get_item(sc, "Keysize"), &v);
	assert_int_equal(v, 2048);
	plist_get_uint_val(plist_dict_get_item(sc, "Key Usage"), &v);
	assert_int_equal(v, 5);
	plist_t subject = plist_dict_get_item(sc, "Subject");
	plist_t pair = plist_array_get_item(plist_array_get_item(subject, 0), 0);
	assert_string_equal(plist_get_string_ptr(plist_array_get_item(pair, 0), NULL), "CN");
	assert_string_equal(plist_get_string_ptr(plist_array_get_item(pair, 1), NULL),
			    "Ardoise device");
	plist_free(top);
	free(xml);
}

static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	char *a = NULL, *b = NULL, *c = NULL;
	size_t alen, blen, clen;

	assert_int_equal(ap_enroll_profile_build(&f->p, &a, &alen), 0);
	assert_int_equal(ap_enroll_profile_build(&f->p, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	struct ap_enroll_params other = f->p;
	other.uuid_seed = "another-code";
	assert_int_equal(ap_enroll_profile_build(&other, &c, &clen), 0);
	assert_true(alen != clen || memcmp(a, c, alen) != 0);
	char u1[37], u2[37];
	ap_uuid_from_seed(f->p.uuid_seed, "com.apple.mdm", u1);
	ap_uuid_from_seed(other.uuid_seed, "com.apple.mdm", u2);
	assert_non_null(strstr(a, u1));
	assert_null(strstr(a, u2));
	assert_non_null(strstr(c, u2));
	free(a);
	free(b);
	free(c);
}

static void test_bad_params(void **state)
{
	struct fixture *f = *state;
	char *xml = NULL;
	size_t len;
	struct ap_enroll_params p;

	p = f->p;
	p.server_url = "http://ardoise.example.fr/mdm/connect";
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.checkin_url = NULL;
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.topic = "com.example.topic";
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.scep_challenge = "";
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.scep_subject_cn = "bad\x01name";
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.ca_der_len = f->der_len - 1;
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.ca_der = (const unsigned char *)"not a certificate";
	p.ca_der_len = 17;
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	p = f->p;
	p.uuid_seed = NULL;
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), AP_EINVAL);
	assert_int_equal(ap_enroll_profile_build(NULL, &xml, &len), AP_EINVAL);
	/* organization is optional */
	p = f->p;
	p.organization = NULL;
	assert_int_equal(ap_enroll_profile_build(&p, &xml, &len), 0);
	assert_null(strstr(xml, "PayloadOrganization"));
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schema_valid),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
