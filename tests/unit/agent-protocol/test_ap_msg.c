/* Unit tests for ap_msg: check-in messages and command reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "testutil.h"

#define HEAD                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"            \
	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
	"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n"
#define TAIL	"</plist>\n"
#define TOPIC	"com.apple.mgmt.External.2f5e8e0b-6d7e-4a3c-9b1f-0a1b2c3d4e5f"
#define UDID	"00008103-001A2B3C4D5E6F70"
#define CMDUUID "0B6F1A52-3C1E-4D7A-9E0E-1F2A3B4C5D0C"

static const char authenticate[] = HEAD "<dict>\n"
					"<key>MessageType</key><string>Authenticate</string>\n"
					"<key>Topic</key><string>" TOPIC "</string>\n"
					"<key>UDID</key><string>" UDID "</string>\n"
					"<key>OSVersion</key><string>17.5.1</string>\n"
					"<key>BuildVersion</key><string>21F90</string>\n"
					"<key>ProductName</key><string>iPad13,18</string>\n"
					"<key>SerialNumber</key><string>DMPXK0AAQ1GC</string>\n"
					"<key>IMEI</key><string>35 123456 789012 3</string>\n"
					"<key>MEID</key><string>35123456789012</string>\n"
					"</dict>\n" TAIL;

static const char tokenupdate[] =
    HEAD "<dict>\n"
	 "<key>MessageType</key><string>TokenUpdate</string>\n"
	 "<key>Topic</key><string>" TOPIC "</string>\n"
	 "<key>UDID</key><string>" UDID "</string>\n"
	 "<key>Token</key><data>q2Vd7m3Tn8Xg0m8Ew7b3sJ1rQ9tL4y2kP6hA5cZ0uVw=</data>\n"
	 "<key>PushMagic</key><string>9E2C3D4B-5A6F-4E7D-8C9B-0A1B2C3D4E5F</string>\n"
	 "<key>UnlockToken</key><data>YXJkb2lzZSB0ZXN0IHVubG9jayB0b2tlbg==</data>\n"
	 "<key>AwaitingConfiguration</key><true/>\n"
	 "</dict>\n" TAIL;

static const char checkout[] = HEAD "<dict>\n"
				    "<key>MessageType</key><string>CheckOut</string>\n"
				    "<key>Topic</key><string>" TOPIC "</string>\n"
				    "<key>UDID</key><string>" UDID "</string>\n"
				    "</dict>\n" TAIL;

static const char idle[] = HEAD "<dict><key>Status</key><string>Idle</string>"
				"<key>UDID</key><string>" UDID "</string></dict>" TAIL;

static const char acknowledged[] =
    HEAD "<dict><key>Status</key><string>Acknowledged</string>"
	 "<key>UDID</key><string>" UDID "</string>"
	 "<key>CommandUUID</key><string>" CMDUUID "</string>"
	 "<key>MessageResult</key><string>Success</string></dict>" TAIL;

static const char error[] =
    HEAD "<dict><key>Status</key><string>Error</string>"
	 "<key>UDID</key><string>" UDID "</string>"
	 "<key>CommandUUID</key><string>" CMDUUID "</string>"
	 "<key>ErrorChain</key><array>"
	 "<dict><key>ErrorCode</key><integer>12067</integer>"
	 "<key>ErrorDomain</key><string>MCMDMErrorDomain</string>"
	 "<key>LocalizedDescription</key><string>L\xe2\x80\x99"
	 "appareil n\xe2\x80\x99"
	 "est pas en mode perdu.</string>"
	 "<key>USEnglishDescription</key><string>Device is not in Lost Mode.</string></dict>"
	 "<dict><key>ErrorCode</key><integer>-1</integer>"
	 "<key>ErrorDomain</key><string>NSPOSIXErrorDomain</string>"
	 "<key>USEnglishDescription</key><string>inner</string></dict>"
	 "</array></dict>" TAIL;

static const char format_error[] =
    HEAD "<dict><key>Status</key>"
	 "<string>CommandFormatError</string><key>UDID</key><string>" UDID "</string>"
	 "<key>CommandUUID</key><string>" CMDUUID "</string></dict>" TAIL;

static const char notnow[] = HEAD "<dict><key>Status</key><string>NotNow</string>"
				  "<key>UDID</key><string>" UDID "</string>"
				  "<key>CommandUUID</key><string>" CMDUUID "</string></dict>" TAIL;

static int parse(const char *s, struct ap_msg **m, char *detail, size_t cap)
{
	return ap_msg_parse(s, strlen(s), 0, m, detail, cap);
}

/* The fixtures are what devices send: the schema checker agrees. */
static void test_fixtures_are_schema_valid(void **state)
{
	const struct tu_doc checkins[] = {
	    {"authenticate", authenticate, sizeof(authenticate) - 1},
	    {"tokenupdate", tokenupdate, sizeof(tokenupdate) - 1},
	    {"checkout", checkout, sizeof(checkout) - 1},
	    {"idle", idle, sizeof(idle) - 1},
	    {"error", error, sizeof(error) - 1},
	    {"formaterror", format_error, sizeof(format_error) - 1},
	    {"notnow", notnow, sizeof(notnow) - 1},
	};
	const char *const args[] = {"--werror", NULL};
	assert_int_equal(tu_schema_check(checkins, sizeof(checkins) / sizeof(checkins[0]), args),
			 0);
	const char *const ack_args[] = {"--request-type", "DeviceLock", "--werror", NULL};
	assert_int_equal(tu_schema_check1("ack", acknowledged, sizeof(acknowledged) - 1, ack_args),
			 0);
}

static void test_authenticate(void **state)
{
	struct ap_msg *m = NULL;
	char detail[128];

	assert_int_equal(parse(authenticate, &m, detail, sizeof(detail)), 0);
	assert_string_equal(detail, "");
	assert_int_equal(m->kind, AP_MSG_CHECKIN);
	struct ap_checkin *c = &m->u.checkin;
	assert_int_equal(c->type, AP_CHECKIN_AUTHENTICATE);
	assert_string_equal(c->udid, UDID);
	assert_string_equal(c->topic, TOPIC);
	assert_string_equal(c->os_version, "17.5.1");
	assert_string_equal(c->build_version, "21F90");
	assert_string_equal(c->product_name, "iPad13,18");
	assert_string_equal(c->serial, "DMPXK0AAQ1GC");
	assert_string_equal(c->imei, "35 123456 789012 3");
	assert_string_equal(c->meid, "35123456789012");
	assert_null(c->model);
	assert_null(c->device_name);
	assert_null(c->token);
	assert_null(c->push_magic);
	assert_string_equal(ap_checkin_type_name(c->type), "Authenticate");
	ap_msg_free(m);
}

static void test_tokenupdate(void **state)
{
	struct ap_msg *m = NULL;

	assert_int_equal(parse(tokenupdate, &m, NULL, 0), 0);
	struct ap_checkin *c = &m->u.checkin;
	assert_int_equal(c->type, AP_CHECKIN_TOKENUPDATE);
	assert_int_equal(c->token_len, 32);
	assert_int_equal(c->token[0], 0xab);
	assert_string_equal(c->push_magic, "9E2C3D4B-5A6F-4E7D-8C9B-0A1B2C3D4E5F");
	assert_int_equal(c->unlock_token_len, strlen("ardoise test unlock token"));
	assert_memory_equal(c->unlock_token, "ardoise test unlock token", c->unlock_token_len);
	assert_int_equal(c->awaiting_configuration, 1);
	ap_msg_free(m);
}

/* A user channel's messages (Shared iPad, macOS) are told apart. */
static void test_user_channel(void **state)
{
	static const char user_tu[] =
	    HEAD "<dict><key>MessageType</key><string>TokenUpdate</string>"
		 "<key>Topic</key><string>" TOPIC "</string><key>UDID</key><string>" UDID
		 "</string><key>Token</key><data>AAEC</data><key>PushMagic</key><string>m</string>"
		 "<key>UserID</key><string>USER-1</string>"
		 "<key>UserShortName</key><string>eleve</string></dict>" TAIL;
	static const char user_idle[] = HEAD "<dict><key>Status</key><string>Idle</string>"
					     "<key>UDID</key><string>" UDID "</string>"
					     "<key>UserID</key><string>USER-1</string></dict>" TAIL;
	struct ap_msg *m = NULL;
	assert_int_equal(parse(user_tu, &m, NULL, 0), 0);
	assert_string_equal(m->u.checkin.user_id, "USER-1");
	assert_string_equal(m->u.checkin.user_short_name, "eleve");
	ap_msg_free(m);
	assert_int_equal(parse(user_idle, &m, NULL, 0), 0);
	assert_string_equal(m->u.report.user_id, "USER-1");
	assert_null(m->u.report.user_short_name);
	ap_msg_free(m);
	/* the device channel carries neither */
	assert_int_equal(parse(tokenupdate, &m, NULL, 0), 0);
	assert_null(m->u.checkin.user_id);
	assert_null(m->u.checkin.user_short_name);
	ap_msg_free(m);
}

static void test_checkout(void **state)
{
	struct ap_msg *m = NULL;

	assert_int_equal(parse(checkout, &m, NULL, 0), 0);
	assert_int_equal(m->u.checkin.type, AP_CHECKIN_CHECKOUT);
	assert_string_equal(m->u.checkin.udid, UDID);
	ap_msg_free(m);
}

static void test_statuses(void **state)
{
	const struct {
		const char *body;
		enum ap_status status;
		const char *name;
	} cases[] = {
	    {idle, AP_STATUS_IDLE, "Idle"},
	    {acknowledged, AP_STATUS_ACKNOWLEDGED, "Acknowledged"},
	    {error, AP_STATUS_ERROR, "Error"},
	    {format_error, AP_STATUS_FORMAT_ERROR, "CommandFormatError"},
	    {notnow, AP_STATUS_NOTNOW, "NotNow"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ap_msg *m = NULL;
		assert_int_equal(parse(cases[i].body, &m, NULL, 0), 0);
		assert_int_equal(m->kind, AP_MSG_REPORT);
		struct ap_report *r = &m->u.report;
		assert_int_equal(r->status, cases[i].status);
		assert_string_equal(ap_status_name(r->status), cases[i].name);
		enum ap_status back;
		assert_int_equal(ap_status_from_name(cases[i].name, &back), 0);
		assert_int_equal(back, cases[i].status);
		assert_string_equal(r->udid, UDID);
		if (r->status == AP_STATUS_IDLE)
			assert_null(r->command_uuid);
		else
			assert_string_equal(r->command_uuid, CMDUUID);
		assert_non_null(r->dict);
		ap_msg_free(m);
	}
	assert_string_equal(ap_status_name((enum ap_status)42), "?");
	assert_string_equal(ap_checkin_type_name((enum ap_checkin_type)42), "?");
}

static void test_error_chain(void **state)
{
	struct ap_msg *m = NULL;

	assert_int_equal(parse(error, &m, NULL, 0), 0);
	struct ap_report *r = &m->u.report;
	assert_int_equal(r->n_errors, 2);
	assert_int_equal(r->errors[0].code, 12067);
	assert_string_equal(r->errors[0].domain, "MCMDMErrorDomain");
	assert_string_equal(r->errors[0].description, "L\xe2\x80\x99"
						      "appareil n\xe2\x80\x99"
						      "est pas en mode perdu.");
	assert_int_equal(r->errors[1].code, -1);
	assert_string_equal(r->errors[1].description, "inner");
	ap_msg_free(m);

	/* more than AP_MSG_MAX_ERRORS items: the first ones are kept */
	plist_t d = plist_new_dict(), chain = plist_new_array();
	plist_dict_set_item(d, "Status", plist_new_string("Error"));
	plist_dict_set_item(d, "UDID", plist_new_string(UDID));
	plist_dict_set_item(d, "CommandUUID", plist_new_string(CMDUUID));
	for (int i = 0; i < 40; i++) {
		plist_t e = plist_new_dict();
		plist_dict_set_item(e, "ErrorCode", plist_new_uint((uint64_t)i));
		plist_array_append_item(chain, e);
	}
	plist_dict_set_item(d, "ErrorChain", chain);
	char *xml = NULL;
	size_t len;
	assert_int_equal(ap_plist_to_xml(d, &xml, &len), 0);
	assert_int_equal(ap_msg_parse(xml, len, 0, &m, NULL, 0), 0);
	assert_int_equal(m->u.report.n_errors, AP_MSG_MAX_ERRORS);
	assert_int_equal(m->u.report.errors[15].code, 15);
	assert_null(m->u.report.errors[0].domain);
	ap_msg_free(m);
	free(xml);
	plist_free(d);
}

/* ---- mutations of a valid message, one key at a time ---- */

static plist_t base(const char *xml)
{
	plist_t p = NULL;
	assert_int_equal(ap_plist_parse(xml, strlen(xml), 0, &p), 0);
	return p;
}

static int parse_dict(plist_t d, char *detail, size_t cap)
{
	char *xml = NULL;
	size_t len = 0;
	struct ap_msg *m = NULL;

	assert_int_equal(ap_plist_to_xml(d, &xml, &len), 0);
	int rc = ap_msg_parse(xml, len, 0, &m, detail, cap);
	if (rc == 0)
		assert_non_null(m);
	else
		assert_null(m);
	ap_msg_free(m);
	free(xml);
	return rc;
}

enum vt { VT_STRING, VT_DATA, VT_BOOL, VT_INT };

static plist_t wrong_value(enum vt right)
{
	switch (right) {
	case VT_STRING:
		return plist_new_uint(7);
	case VT_DATA: /* the classic mistake: base64 text instead of <data> */
		return plist_new_string("q2Vd7m3Tn8Xg0m8Ew7b3sJ1rQ9tL4y2kP6hA5cZ0uVw=");
	case VT_BOOL:
		return plist_new_string("true");
	case VT_INT:
		return plist_new_string("12");
	}
	return NULL;
}

struct key_case {
	const char *msg;
	const char *key;
	enum vt type;
	int required;
};

static void test_checkin_wrong_types_and_missing(void **state)
{
	const struct key_case cases[] = {
	    {authenticate, "MessageType", VT_STRING, 1},
	    {authenticate, "Topic", VT_STRING, 1},
	    {authenticate, "UDID", VT_STRING, 1},
	    {authenticate, "OSVersion", VT_STRING, 0},
	    {authenticate, "BuildVersion", VT_STRING, 0},
	    {authenticate, "ProductName", VT_STRING, 0},
	    {authenticate, "SerialNumber", VT_STRING, 0},
	    {authenticate, "IMEI", VT_STRING, 0},
	    {authenticate, "MEID", VT_STRING, 0},
	    {tokenupdate, "Topic", VT_STRING, 1},
	    {tokenupdate, "UDID", VT_STRING, 1},
	    {tokenupdate, "Token", VT_DATA, 1},
	    {tokenupdate, "PushMagic", VT_STRING, 1},
	    {tokenupdate, "UnlockToken", VT_DATA, 0},
	    {tokenupdate, "AwaitingConfiguration", VT_BOOL, 0},
	    {checkout, "Topic", VT_STRING, 1},
	    {checkout, "UDID", VT_STRING, 1},
	};
	char detail[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct key_case *c = &cases[i];
		plist_t d = base(c->msg);
		plist_dict_set_item(d, c->key, wrong_value(c->type));
		assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
		assert_non_null(strstr(detail, c->key));
		plist_dict_remove_item(d, c->key);
		assert_int_equal(parse_dict(d, detail, sizeof(detail)),
				 c->required ? AP_EMISSING : 0);
		plist_free(d);
	}
	plist_t d = base(tokenupdate);
	plist_dict_set_item(d, "Token", wrong_value(VT_DATA));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	assert_string_equal(detail, "TokenUpdate: Token must be data");
	plist_dict_remove_item(d, "UDID");
	plist_dict_set_item(d, "Token", plist_new_data("x", 1));
	plist_dict_set_item(d, "EnrollmentID", plist_new_string("user-enrolment-id"));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EMISSING);
	assert_non_null(strstr(detail, "User Enrollment"));
	plist_free(d);
}

static void test_report_wrong_types_and_missing(void **state)
{
	const struct key_case cases[] = {
	    {acknowledged, "Status", VT_STRING, 1},
	    {acknowledged, "UDID", VT_STRING, 1},
	    {acknowledged, "CommandUUID", VT_STRING, 1},
	    {notnow, "CommandUUID", VT_STRING, 1},
	    {idle, "UDID", VT_STRING, 1},
	};
	char detail[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct key_case *c = &cases[i];
		plist_t d = base(c->msg);
		plist_dict_set_item(d, c->key, wrong_value(c->type));
		assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
		assert_non_null(strstr(detail, c->key));
		plist_dict_remove_item(d, c->key);
		assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EMISSING);
		plist_free(d);
	}
	/* CommandUUID is optional with Idle, but typed when present */
	plist_t d = base(idle);
	plist_dict_set_item(d, "CommandUUID", plist_new_bool(1));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	plist_free(d);
	/* ErrorChain shapes */
	d = base(error);
	plist_dict_set_item(d, "ErrorChain", plist_new_dict());
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	plist_t chain = plist_new_array();
	plist_array_append_item(chain, plist_new_string("oops"));
	plist_dict_set_item(d, "ErrorChain", chain);
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	chain = plist_new_array();
	plist_t item = plist_new_dict();
	plist_dict_set_item(item, "ErrorCode", plist_new_string("12067"));
	plist_array_append_item(chain, item);
	plist_dict_set_item(d, "ErrorChain", chain);
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	plist_dict_set_item(item, "ErrorCode", plist_new_uint(1));
	plist_dict_set_item(item, "ErrorDomain", plist_new_uint(1));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	plist_dict_set_item(item, "ErrorDomain", plist_new_string("D"));
	plist_dict_set_item(item, "LocalizedDescription", plist_new_bool(0));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_ETYPE);
	plist_dict_remove_item(item, "LocalizedDescription");
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), 0);
	plist_free(d);
}

static void test_dispatch_errors(void **state)
{
	struct ap_msg *m = NULL;
	char detail[128];
	const char *unsupported[] = {"GetToken",
				     "DeclarativeManagement",
				     "UserAuthenticate",
				     "GetBootstrapToken",
				     "SetBootstrapToken",
				     "authenticate",
				     ""};

	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		plist_t d = base(checkout);
		plist_dict_set_item(d, "MessageType", plist_new_string(unsupported[i]));
		assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EUNSUPPORTED);
		plist_free(d);
	}
	plist_t d = base(idle);
	plist_dict_set_item(d, "Status", plist_new_string("Done"));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EINVAL);
	assert_string_equal(detail, "report: unknown Status \"Done\"");
	plist_dict_set_item(d, "Status", plist_new_string("Idle"));
	plist_dict_set_item(d, "MessageType", plist_new_string("CheckOut"));
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EINVAL);
	plist_dict_remove_item(d, "MessageType");
	plist_dict_remove_item(d, "Status");
	assert_int_equal(parse_dict(d, detail, sizeof(detail)), AP_EMISSING);
	plist_free(d);

	/* wrong root types */
	assert_int_equal(
	    parse(HEAD "<array><string>Idle</string></array>" TAIL, &m, detail, sizeof(detail)),
	    AP_ETYPE);
	assert_int_equal(parse(HEAD "<string>Status</string>" TAIL, &m, detail, sizeof(detail)),
			 AP_ETYPE);
	assert_null(m);
	/* peer text in the detail is bounded and has no control characters */
	d = base(checkout);
	plist_dict_set_item(d, "MessageType",
			    plist_new_string("Evil\nline\ttwo and a very long tail ............"
					     "..............................................."));
	assert_int_equal(parse_dict(d, detail, 64), AP_EUNSUPPORTED);
	assert_null(strchr(detail, '\n'));
	assert_true(strlen(detail) < 64);
	plist_free(d);
	assert_int_equal(ap_msg_parse(idle, strlen(idle), 0, NULL, detail, sizeof(detail)),
			 AP_EINVAL);
	ap_msg_free(NULL);
}

/* Everything hostile that ap_plist refuses comes out of ap_msg_parse too. */
static void test_hostile_bodies(void **state)
{
	struct ap_msg *m = NULL;
	char detail[128];
	const struct {
		const char *body;
		int rc;
	} cases[] = {
	    {"<!DOCTYPE plist [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>"
	     "<plist><dict><key>Status</key><string>&b;</string></dict></plist>",
	     AP_EUNSUPPORTED},
	    {"bplist00\xd1\x01\x02", AP_EUNSUPPORTED},
	    {HEAD "<dict><key>Status</key><string>Idle</str", AP_EPARSE},
	    {HEAD "<dict><key>UDID</key><string>\xc3\x28</string></dict>" TAIL, AP_EPARSE},
	    {"", AP_EPARSE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].body, &m, detail, sizeof(detail)), cases[i].rc);
		assert_null(m);
		assert_true(detail[0] != '\0');
	}
	static const char nul[] = HEAD "<dict><key>Status</key><string>Id\0le</string></dict>" TAIL;
	assert_int_equal(ap_msg_parse(nul, sizeof(nul) - 1, 0, &m, NULL, 0), AP_EPARSE);

	/* deep nesting */
	size_t depth = 100000, len = depth * 7 + 64;
	char *deep = malloc(len), *p = deep;
	p += snprintf(p, len, "<plist><dict><key>UDID</key>");
	for (size_t i = 0; i < depth; i++)
		p += snprintf(p, len - (size_t)(p - deep), "<array>");
	assert_int_equal(ap_msg_parse(deep, (size_t)(p - deep), 0, &m, NULL, 0), AP_ETOODEEP);
	free(deep);

	/* over the cap given by the caller */
	assert_int_equal(ap_msg_parse(idle, strlen(idle), 64, &m, detail, sizeof(detail)),
			 AP_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures_are_schema_valid),
	    cmocka_unit_test(test_authenticate),
	    cmocka_unit_test(test_tokenupdate),
	    cmocka_unit_test(test_checkout),
	    cmocka_unit_test(test_user_channel),
	    cmocka_unit_test(test_statuses),
	    cmocka_unit_test(test_error_chain),
	    cmocka_unit_test(test_checkin_wrong_types_and_missing),
	    cmocka_unit_test(test_report_wrong_types_and_missing),
	    cmocka_unit_test(test_dispatch_errors),
	    cmocka_unit_test(test_hostile_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
