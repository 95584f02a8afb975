/* Unit tests for daemon/apple/ade.c: Automated Device Enrolment's pages,
 * profile bodies and assign answers, in the shape of
 * docs/apple-services.md §2.4-2.5, then hostile ones (every prefix of a
 * good page, wrong types, a device without serial, too many devices, huge
 * fields, unknown skip panes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ade.h"
#include "ap_err.h"
#include "isodate.h"

static char err[512];

static int64_t at(const char *s)
{
	int64_t t = 0;
	assert_int_equal(isodate_parse_time(s, &t), 0);
	return t;
}

static const char sync_page[] =
    "{\"cursor\":\"MTUzNjI0NzY2ODg5Ng\",\"fetched_until\":\"2026-09-01T08:00:00Z\","
    "\"more_to_follow\":true,\"future_member\":{\"x\":[1,2]},\"devices\":["
    "{\"serial_number\":\"DMQ000000001\",\"model\":\"iPad (10th generation)\","
    "\"description\":\"IPAD WI-FI 64GB SILVER\",\"color\":\"SILVER\",\"asset_tag\":\"\","
    "\"device_family\":\"iPad\",\"os\":\"iPadOS\",\"device_assigned_date\":"
    "\"2026-08-30T10:00:00Z\",\"device_assigned_by\":\"achats@ac-exemple.fr\","
    "\"profile_status\":\"assigned\",\"profile_uuid\":\"ABC123\",\"op_type\":\"added\","
    "\"op_date\":\"2026-08-31T12:00:00+02:00\",\"unknown\":7},"
    "{\"serial_number\":\"DMQ000000002\",\"op_type\":\"deleted\","
    "\"op_date\":\"2026-08-31T13:00:00Z\"}]}";

static int page(const char *s, struct ade_page *p)
{
	err[0] = '\0';
	int rc = ade_page_parse(s, strlen(s), p, err, sizeof(err));
	if (rc < 0) {
		assert_true(err[0] != '\0');
		assert_null(p->devices);
		assert_int_equal(p->n, 0);
	}
	return rc;
}

static void test_page_good(void **state)
{
	(void)state;
	struct ade_page p;
	assert_int_equal(page(sync_page, &p), 0);
	assert_string_equal(p.cursor, "MTUzNjI0NzY2ODg5Ng");
	assert_true(p.more_to_follow);
	assert_int_equal(p.fetched_until, at("2026-09-01T08:00:00Z"));
	assert_int_equal(p.n, 2);
	assert_string_equal(p.devices[0].serial, "DMQ000000001");
	assert_string_equal(p.devices[0].model, "iPad (10th generation)");
	assert_string_equal(p.devices[0].color, "SILVER");
	assert_string_equal(p.devices[0].os, "iPadOS");
	assert_string_equal(p.devices[0].device_family, "iPad");
	assert_string_equal(p.devices[0].assigned_by, "achats@ac-exemple.fr");
	assert_string_equal(p.devices[0].profile_status, "assigned");
	assert_string_equal(p.devices[0].profile_uuid, "ABC123");
	assert_string_equal(p.devices[0].op_type, "added");
	assert_int_equal(p.devices[0].op_date, at("2026-08-31T10:00:00Z"));
	assert_int_equal(p.devices[0].assigned_at, at("2026-08-30T10:00:00Z"));
	assert_string_equal(p.devices[1].op_type, "deleted");
	assert_string_equal(p.devices[1].model, "");
	ade_page_clear(&p);
	/* a fetch page: no op_type, no devices member at all, no more */
	assert_int_equal(page("{\"cursor\":\"ab\",\"more_to_follow\":false}", &p), 0);
	assert_int_equal(p.n, 0);
	assert_false(p.more_to_follow);
	ade_page_clear(&p);
}

/* every byte prefix of a good page fails cleanly (no crash, no leak, the
 * reason written) */
static void test_page_prefixes(void **state)
{
	(void)state;
	struct ade_page p;
	size_t n = strlen(sync_page);
	for (size_t i = 0; i < n; i++) {
		err[0] = '\0';
		assert_true(ade_page_parse(sync_page, i, &p, err, sizeof(err)) < 0);
		assert_true(err[0] != '\0');
		assert_null(p.devices);
	}
}

static void test_page_hostile(void **state)
{
	(void)state;
	struct ade_page p;
	assert_int_equal(page("[]", &p), AP_EPARSE);
	assert_int_equal(page("{\"devices\":[]}", &p), AP_EMISSING); /* no cursor */
	assert_int_equal(page("{\"cursor\":5}", &p), AP_ETYPE);
	assert_int_equal(page("{\"cursor\":\"a\",\"devices\":{}}", &p), AP_ETYPE);
	assert_int_equal(page("{\"cursor\":\"a\",\"more_to_follow\":\"yes\"}", &p), AP_ETYPE);
	assert_int_equal(page("{\"cursor\":\"a\",\"fetched_until\":\"hier\"}", &p), AP_EPARSE);
	/* a device without serial: refused with its index */
	assert_int_equal(
	    page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A1\"},{\"model\":\"x\"}]}",
		 &p),
	    AP_EMISSING);
	assert_non_null(strstr(err, "devices[1].serial_number"));
	assert_int_equal(page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A 1\"}]}", &p),
			 AP_EPARSE);
	assert_int_equal(page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":7}]}", &p),
			 AP_ETYPE);
	assert_int_equal(page("{\"cursor\":\"a\",\"devices\":[7]}", &p), AP_ETYPE);
	assert_int_equal(
	    page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A\",\"op_type\":\"moved\"}]}",
		 &p),
	    AP_EPARSE);
	assert_int_equal(
	    page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A\",\"op_date\":\"x\"}]}",
		 &p),
	    AP_EPARSE);
	assert_int_equal(
	    page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A\",\"model\":[]}]}", &p),
	    AP_ETYPE);
	assert_int_equal(
	    page("{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A\\u0000B\"}]}", &p),
	    AP_EPARSE);
	/* duplicated member */
	assert_int_equal(page("{\"cursor\":\"a\",\"cursor\":\"b\"}", &p), AP_EPARSE);
	/* a huge serial is refused, a huge description cut at a UTF-8 boundary */
	char big[1200];
	memset(big, 0, sizeof(big));
	char serial[100];
	memset(serial, 'A', 80);
	serial[80] = '\0';
	snprintf(big, sizeof(big), "{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"%s\"}]}",
		 serial);
	assert_int_equal(page(big, &p), AP_ETOOBIG);
	char desc[400];
	for (int i = 0; i < 100; i++)
		memcpy(desc + 2 * i, "é", 2); /* 2 bytes each */
	desc[200] = '\0';
	snprintf(
	    big, sizeof(big),
	    "{\"cursor\":\"a\",\"devices\":[{\"serial_number\":\"A1\",\"description\":\"%s\"}]}",
	    desc);
	assert_int_equal(page(big, &p), 0);
	assert_int_equal(strlen(p.devices[0].description), 126);
	ade_page_clear(&p);
	/* a cursor past 1000 characters */
	char *c = malloc(1100);
	memset(c, 'f', 1099);
	c[1099] = '\0';
	char *b = malloc(1200);
	snprintf(b, 1200, "{\"cursor\":\"%s\"}", c);
	assert_int_equal(page(b, &p), AP_ETOOBIG);
	free(b);
	free(c);
	/* 1001 devices */
	json_t *devs = json_array();
	for (int i = 0; i < 1001; i++)
		json_array_append_new(devs, json_pack("{s:s}", "serial_number", "A1"));
	json_t *whole = json_pack("{s:s,s:o}", "cursor", "a", "devices", devs);
	char *many = json_dumps(whole, 0);
	json_decref(whole);
	assert_int_equal(page(many, &p), AP_ETOOBIG);
	free(many);
	/* past the size cap */
	assert_int_equal(ade_page_parse("{}", ADE_PAGE_MAX_BYTES + 1, &p, err, sizeof(err)),
			 AP_ETOOBIG);
}

static void test_cursor_body(void **state)
{
	(void)state;
	char *b = NULL;
	assert_int_equal(ade_cursor_body(NULL, 1000, &b), 0);
	assert_string_equal(b, "{\"limit\":1000}");
	free(b);
	assert_int_equal(ade_cursor_body("abc", 100, &b), 0);
	assert_string_equal(b, "{\"cursor\":\"abc\",\"limit\":100}");
	free(b);
	assert_int_equal(ade_cursor_body("abc", 1001, &b), AP_EINVAL);
	assert_int_equal(ade_cursor_body("a\nb", 10, &b), AP_EINVAL);
}

static void test_profile(void **state)
{
	(void)state;
	const char *set =
	    "{\"profile_name\":\"Ardoise collèges\",\"is_mdm_removable\":false,"
	    "\"await_device_configured\":true,\"language\":\"fr\",\"region\":\"FR\","
	    "\"department\":\"Département\",\"support_email_address\":\"a@b.fr\","
	    "\"skip_setup_items\":[\"AppleID\",\"Siri\"],\"is_return_to_service\":true}";
	const char *anchors[] = {"MIIBAAAA"};
	char *b = NULL;
	assert_int_equal(ade_profile_body(set, strlen(set), "https://mdm.example.fr/mdm/ade/enroll",
					  anchors, 1, &b, err, sizeof(err)),
			 0);
	json_t *j = json_loads(b, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "url")),
			    "https://mdm.example.fr/mdm/ade/enroll");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(j, "anchor_certs"), 0)), "MIIBAAAA");
	assert_true(json_is_false(json_object_get(j, "is_mdm_removable")));
	assert_string_equal(json_string_value(json_object_get(j, "profile_name")),
			    "Ardoise collèges");
	json_decref(j);
	free(b);
	/* no anchors: no member */
	assert_int_equal(
	    ade_profile_body(set, strlen(set), "https://x.fr/e", NULL, 0, &b, err, sizeof(err)), 0);
	assert_null(strstr(b, "anchor_certs"));
	free(b);
	assert_int_equal(
	    ade_profile_body(set, strlen(set), "http://x.fr/e", NULL, 0, &b, err, sizeof(err)),
	    AP_EINVAL);
	assert_null(b);
	/* settings refused */
	static const char *const bad[] = {
	    "{}",
	    "{\"profile_name\":\"\"}",
	    "{\"profile_name\":5}",
	    "{\"profile_name\":\"a\",\"skip_setup_items\":[\"NoSuchPane\"]}",
	    "{\"profile_name\":\"a\",\"skip_setup_items\":\"Siri\"}",
	    "{\"profile_name\":\"a\",\"skip_setup_items\":[1]}",
	    "{\"profile_name\":\"a\",\"is_mdm_removable\":\"no\"}",
	    "{\"profile_name\":\"a\",\"url\":\"https://evil\"}",
	    "{\"profile_name\":\"a\",\"support_email_address\":\"nobody\"}",
	    "[1]",
	    "{\"profile_name\":\"a\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_true(ade_settings_check(bad[i], strlen(bad[i]), err, sizeof(err)) < 0);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(ade_settings_check(set, strlen(set), err, sizeof(err)), 0);
	for (size_t i = 0; ade_skip_default[i]; i++)
		assert_true(ade_skip_ok(ade_skip_default[i]));
	assert_false(ade_skip_ok("siri"));
	char uuid[ADE_UUID_MAX + 1];
	const char *ans = "{\"profile_uuid\":\"88E3A3A1B\",\"devices\":{}}";
	assert_int_equal(ade_define_parse(ans, strlen(ans), uuid, err, sizeof(err)), 0);
	assert_string_equal(uuid, "88E3A3A1B");
	assert_int_equal(ade_define_parse("{\"devices\":{}}", 14, uuid, err, sizeof(err)),
			 AP_EMISSING);
	assert_int_equal(ade_define_parse("{\"profile_uuid\":[]}", 19, uuid, err, sizeof(err)),
			 AP_ETYPE);
}

static void test_assign(void **state)
{
	(void)state;
	const char *serials[] = {"A1", "B2"};
	char *b = NULL;
	assert_int_equal(ade_assign_body("U1", serials, 2, &b), 0);
	assert_string_equal(b, "{\"devices\":[\"A1\",\"B2\"],\"profile_uuid\":\"U1\"}");
	free(b);
	assert_int_equal(ade_assign_body("U1", serials, 0, &b), AP_EINVAL);
	const char *bads[] = {"A 1"};
	assert_int_equal(ade_assign_body("U1", bads, 1, &b), AP_EINVAL);
	struct ade_assign a;
	const char *ans = "{\"profile_uuid\":\"U1\",\"retry_after_seconds\":60,\"devices\":{"
			  "\"A1\":\"SUCCESS\",\"B2\":\"THROTTLED\",\"C3\":\"NOT_ACCESSIBLE\","
			  "\"D4\":\"FAILED\",\"E5\":\"NEW_STATUS\"}}";
	assert_int_equal(ade_assign_parse(ans, strlen(ans), &a, err, sizeof(err)), 0);
	assert_string_equal(a.profile_uuid, "U1");
	assert_int_equal(a.retry_after, 60);
	assert_int_equal(a.n, 5);
	int seen[5] = {0};
	for (size_t i = 0; i < a.n; i++)
		seen[a.items[i].status]++;
	assert_int_equal(seen[ADE_ASSIGN_SUCCESS], 1);
	assert_int_equal(seen[ADE_ASSIGN_THROTTLED], 1);
	assert_int_equal(seen[ADE_ASSIGN_NOT_ACCESSIBLE], 1);
	assert_int_equal(seen[ADE_ASSIGN_FAILED], 1);
	assert_int_equal(seen[ADE_ASSIGN_UNKNOWN], 1);
	ade_assign_clear(&a);
	static const char *const bad[] = {
	    "{\"profile_uuid\":\"U1\"}",
	    "{\"profile_uuid\":\"U1\",\"devices\":[]}",
	    "{\"profile_uuid\":\"U1\",\"devices\":{\"A1\":1}}",
	    "{\"profile_uuid\":\"U1\",\"devices\":{\"A 1\":\"SUCCESS\"}}",
	    "{\"profile_uuid\":\"U1\",\"devices\":{},\"retry_after_seconds\":-1}",
	    "{\"profile_uuid\":\"U1\",\"devices\":{},\"retry_after_seconds\":\"60\"}",
	    "{\"devices\":{}}",
	    "\"THROTTLED\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_true(ade_assign_parse(bad[i], strlen(bad[i]), &a, err, sizeof(err)) < 0);
		assert_true(err[0] != '\0');
		assert_null(a.items);
	}
	/* every prefix of the good answer */
	for (size_t i = 0; i < strlen(ans); i++) {
		assert_true(ade_assign_parse(ans, i, &a, err, sizeof(err)) < 0);
		assert_null(a.items);
	}
	/* a huge retry is capped */
	const char *big =
	    "{\"profile_uuid\":\"U1\",\"devices\":{},\"retry_after_seconds\":999999999}";
	assert_int_equal(ade_assign_parse(big, strlen(big), &a, err, sizeof(err)), 0);
	assert_int_equal(a.retry_after, ADE_RETRY_MAX_S);
	ade_assign_clear(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_good),	 cmocka_unit_test(test_page_prefixes),
	    cmocka_unit_test(test_page_hostile), cmocka_unit_test(test_cursor_body),
	    cmocka_unit_test(test_profile),	 cmocka_unit_test(test_assign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
