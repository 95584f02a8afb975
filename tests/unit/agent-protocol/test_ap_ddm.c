/* Unit tests for ap_ddm: the DeclarativeManagement check-in and its
 * Endpoint, the two tokens, the answers (schema-checked), the command, the
 * status report parser and its hostile inputs, incremental arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ap_cmd.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "testutil.h"

#define UDID	"00008103-001A2B3C4D5E6F70"
#define SU_TYPE "com.apple.configuration.softwareupdate.enforcement.specific"
#define SU_ID	"ardoise.su.17.6.1"
#define SU_PAYLOAD                                                                            \
	"{\"TargetOSVersion\": \"17.6.1\", \"TargetLocalDateTime\": \"2026-10-15T18:00:00\"," \
	" \"DetailsURL\": \"https://ent.example.fr/maj\"}"

/* 64 octets, the most an Identifier may have, and one more */
#define ID64 "fr.ardoise.declaration.0123456789abcdef0123456789abcdef012345678"
#define ID65 ID64 "9"

static const char *const kind_args[][3] = {
    {"--kind", "declaration", NULL},	   {"--kind", "tokens", NULL},
    {"--kind", "declaration-items", NULL}, {"--kind", "status-report", NULL},
    {"--kind", "command", NULL},	   {"--kind", "checkin", NULL},
};
enum { K_DECL, K_TOKENS, K_ITEMS, K_STATUS, K_COMMAND, K_CHECKIN };

/* mdm-schema-check --werror --kind <kind> on one document */
static int schema_ok(int kind, const char *name, const char *data, size_t len)
{
	const char *args[] = {"--werror", kind_args[kind][0], kind_args[kind][1], NULL};
	return tu_schema_check1(name, data, len, args);
}

/* A realistic full report of a pupil's iPad on iPadOS 17.5.1 with an update
 * to 17.6.1 downloading, written from declarative/status/<item>.yaml. */
static const char full_report[] =
    "{\n"
    "  \"StatusItems\": {\n"
    "    \"device\": {\n"
    "      \"identifier\": {\"serial-number\": \"DMPXK0AAQ1GC\", \"udid\": \"" UDID "\"},\n"
    "      \"model\": {\"family\": \"iPad\", \"identifier\": \"iPad13,18\",\n"
    "                \"marketing-name\": \"iPad (10th generation)\", \"number\": "
    "\"MPQ03NF/A\"},\n"
    "      \"operating-system\": {\"build-version\": \"21F90\", \"family\": \"iPadOS\",\n"
    "                           \"marketing-name\": \"iPadOS 17.5.1\", \"version\": "
    "\"17.5.1\"},\n"
    "      \"power\": {\"battery-health\": \"unsupported\"}\n"
    "    },\n"
    "    \"management\": {\n"
    "      \"client-capabilities\": {\n"
    "        \"supported-versions\": [\"1.0.0\", \"1.1.0\"],\n"
    "        \"supported-features\": {},\n"
    "        \"supported-payloads\": {\n"
    "          \"declarations\": {\n"
    "            \"activations\": [\"com.apple.activation.simple\"],\n"
    "            \"assets\": [\"com.apple.asset.data\"],\n"
    "            \"configurations\": [\"" SU_TYPE "\",\n"
    "                                 "
    "\"com.apple.configuration.management.status-subscriptions\"],\n"
    "            \"management\": [\"com.apple.management.organization-info\"]\n"
    "          },\n"
    "          \"status-items\": [\"softwareupdate.install-state\", "
    "\"device.operating-system.version\"]\n"
    "        }\n"
    "      },\n"
    "      \"declarations\": {\n"
    "        \"activations\": [{\"identifier\": \"ardoise.act\", \"server-token\": "
    "\"3dc25b025a14acbe9f788b7c62408a1e\",\n"
    "                         \"active\": true, \"valid\": \"valid\"}],\n"
    "        \"assets\": [],\n"
    "        \"configurations\": [\n"
    "          {\"identifier\": \"" SU_ID "\", \"server-token\": "
    "\"94be53b48ca4067e638d2cffe4c2259c\",\n"
    "           \"active\": true, \"valid\": \"valid\"},\n"
    "          {\"identifier\": \"ardoise.passcode\", \"server-token\": \"1\", \"active\": "
    "false,\n"
    "           \"valid\": \"invalid\", \"reasons\": [{\"code\": "
    "\"Error.ConfigurationCannotBeApplied\",\n"
    "           \"description\": \"Le code ne peut pas \\u00eatre appliqu\\u00e9.\",\n"
    "           \"details\": {\"Error\": \"MCProfileErrorDomain 1009\"}}]}\n"
    "        ],\n"
    "        \"management\": []\n"
    "      }\n"
    "    },\n"
    "    \"mdm\": {\"app\": [{\"identifier\": \"fr.education.pronote\", \"name\": "
    "\"PRONOTE\",\n"
    "                      \"version\": \"2024.2.5\", \"short-version\": \"2024.2\", "
    "\"state\": \"managed\"}]},\n"
    "    \"passcode\": {\"is-compliant\": true, \"is-present\": true},\n"
    "    \"softwareupdate\": {\n"
    "      \"install-state\": \"downloading\",\n"
    "      \"pending-version\": {\"os-version\": \"17.6.1\", \"build-version\": \"21G93\"},\n"
    "      \"failure-reason\": {\"count\": 0},\n"
    "      \"install-reason\": {\"reason\": [\"declaration\"], \"declaration-id\": \"" SU_ID "\"}\n"
    "    }\n"
    "  },\n"
    "  \"Errors\": [],\n"
    "  \"FullReport\": true\n"
    "}\n";

/* What the same iPad sends when the install fails: two items, one app
 * removed, an error for an item it cannot report. */
static const char incremental_report[] =
    "{\"StatusItems\": {\"softwareupdate\": {\"install-state\": \"failed\",\n"
    "   \"failure-reason\": {\"count\": 2, \"reason\": \"Not enough storage\",\n"
    "                        \"timestamp\": \"2026-10-15T18:04:11Z\"}},\n"
    "  \"mdm\": {\"app\": [{\"identifier\": \"fr.education.pronote\", \"_removed\": true}]}},\n"
    " \"Errors\": [{\"StatusItem\": \"device.power.battery-health\",\n"
    "   \"Reasons\": [{\"Code\": \"Error.StatusItemUnavailable\", \"Description\": \"busy\"},\n"
    "                 {\"Code\": \"Error.Retry\", \"Details\": {\"After\": 60}}]},\n"
    "   {\"StatusItem\": \"passcode.is-compliant\"}]}";

/* ---- names ---- */

static void test_kinds(void **state)
{
	enum ap_ddm_kind k;

	for (int i = 0; i < AP_DDM_KIND__COUNT; i++) {
		assert_int_equal(ap_ddm_kind_from_name(ap_ddm_kind_name((enum ap_ddm_kind)i), &k),
				 0);
		assert_int_equal(k, i);
	}
	assert_null(ap_ddm_kind_name(AP_DDM_KIND__COUNT));
	assert_int_equal(ap_ddm_kind_from_name("Configuration", &k), AP_EINVAL);
	assert_int_equal(ap_ddm_kind_from_name(NULL, &k), AP_EINVAL);
	assert_int_equal(ap_ddm_kind_of_type(SU_TYPE, &k), 0);
	assert_int_equal(k, AP_DDM_CONFIGURATION);
	assert_int_equal(ap_ddm_kind_of_type("com.apple.activation.simple", &k), 0);
	assert_int_equal(k, AP_DDM_ACTIVATION);
	assert_int_equal(ap_ddm_kind_of_type("com.apple.asset.data", &k), 0);
	assert_int_equal(k, AP_DDM_ASSET);
	assert_int_equal(ap_ddm_kind_of_type("com.apple.management.organization-info", &k), 0);
	assert_int_equal(k, AP_DDM_MANAGEMENT);
	const char *bad[] = {"com.apple.configuration.",    "com.apple.configuration",
			     "com.example.configuration.x", "com.apple.configurationx.y",
			     "com.apple.profile.x",	    ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ap_ddm_kind_of_type(bad[i], &k), AP_EINVAL);
	assert_int_equal(ap_ddm_kind_of_type(NULL, &k), AP_EINVAL);

	assert_true(ap_ddm_identifier_ok("ardoise.su.17.6.1"));
	assert_true(ap_ddm_identifier_ok("coll\xc3\xa8ge 0130001A"));
	assert_int_equal(strlen(ID64), 64);
	assert_true(ap_ddm_identifier_ok(ID64));
	assert_false(ap_ddm_identifier_ok(ID65));
	assert_false(ap_ddm_identifier_ok(""));
	assert_false(ap_ddm_identifier_ok(NULL));
	assert_false(ap_ddm_identifier_ok("a/b"));
	assert_false(ap_ddm_identifier_ok(".."));
	assert_false(ap_ddm_identifier_ok("."));
	assert_false(ap_ddm_identifier_ok("tab\there"));
	assert_false(ap_ddm_identifier_ok("bad\xff"));
	assert_true(ap_ddm_identifier_ok("..x"));
}

/* ---- Endpoint ---- */

static void test_endpoint(void **state)
{
	struct ap_ddm_endpoint ep;
	char detail[160];

#define EP(s) ap_ddm_endpoint_parse(s, strlen(s), &ep, detail, sizeof(detail))
	assert_int_equal(EP("tokens"), 0);
	assert_int_equal(ep.type, AP_DDM_EP_TOKENS);
	assert_string_equal(detail, "");
	assert_int_equal(EP("declaration-items"), 0);
	assert_int_equal(ep.type, AP_DDM_EP_DECLARATION_ITEMS);
	assert_int_equal(EP("status"), 0);
	assert_int_equal(ep.type, AP_DDM_EP_STATUS);
	assert_string_equal(ep.identifier, "");
	const char *kinds[] = {"activation", "configuration", "asset", "management"};
	for (int i = 0; i < 4; i++) {
		char s[128];
		snprintf(s, sizeof(s), "declaration/%s/fr.ardoise.%d", kinds[i], i);
		assert_int_equal(EP(s), 0);
		assert_int_equal(ep.type, AP_DDM_EP_DECLARATION);
		assert_int_equal(ep.kind, i);
		assert_string_equal(ep.identifier, s + strlen(kinds[i]) + 13);
	}
	assert_int_equal(EP("declaration/configuration/" SU_ID), 0);
	assert_string_equal(ep.identifier, SU_ID);
	assert_int_equal(EP("declaration/asset/" ID64), 0);
	assert_string_equal(ep.identifier, ID64);

	const struct {
		const char *s;
		const char *why;
	} bad[] = {
	    {"", "unknown Endpoint"},
	    {"token", "unknown Endpoint"},
	    {"Tokens", "unknown Endpoint"},
	    {"status/", "unknown Endpoint"},
	    {"/declaration/asset/x", "unknown Endpoint"},
	    {"declaration", "unknown Endpoint"},
	    {"declaration/", "declaration/<kind>/<identifier> expected"},
	    {"declaration/foo/x", "unknown declaration kind \"foo\""},
	    {"declaration/configurations/x", "unknown declaration kind"},
	    {"declaration/configuration", "declaration/<kind>/<identifier> expected"},
	    {"declaration/configuration/", "without an identifier"},
	    {"declaration/configuration/" ID65, "identifier of 65 octets, more than 64"},
	    {"declaration/configuration/a/b", "refused"},
	    {"declaration/configuration/..", "refused"},
	    {"declaration/configuration/.", "refused"},
	    {"declaration/../x", "unknown declaration kind \"..\""},
	    {"declaration/asset/x\x01y", "control characters"},
	    {"declaration/asset/\xc3", "not UTF-8"},
	    {"declaration/asset/" ID65 ID65, "more than 96"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ep, 0x5a, sizeof(ep));
		struct ap_ddm_endpoint before = ep;
		int rc = EP(bad[i].s);
		if (rc != AP_EINVAL || strstr(detail, bad[i].why) == NULL)
			fail_msg("\"%s\": rc %d, detail \"%s\", want \"%s\"", bad[i].s, rc, detail,
				 bad[i].why);
		assert_memory_equal(&ep, &before, sizeof(ep)); /* not written */
	}
	/* a NUL inside the given length */
	assert_int_equal(ap_ddm_endpoint_parse("tokens\0x", 8, &ep, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, "NUL"));
	/* the detail keeps no control characters from the peer */
	assert_int_equal(EP("evil\nline"), AP_EINVAL);
	assert_null(strchr(detail, '\n'));
	assert_int_equal(ap_ddm_endpoint_parse(NULL, 0, &ep, detail, sizeof(detail)), AP_EINVAL);
#undef EP
}

/* ---- the check-in ---- */

#define HEAD                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"            \
	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
	"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n"
#define TAIL "</plist>\n"

/* A DeclarativeManagement check-in plist: endpoint, Data (raw bytes, may be
 * NULL), more keys (XML) */
static char *dm_checkin(const char *endpoint, const char *data, size_t data_len, const char *more)
{
	plist_t d = plist_new_dict();
	char *xml = NULL;

	plist_dict_set_item(d, "MessageType", plist_new_string("DeclarativeManagement"));
	plist_dict_set_item(d, "UDID", plist_new_string(UDID));
	if (endpoint)
		plist_dict_set_item(d, "Endpoint", plist_new_string(endpoint));
	if (data)
		plist_dict_set_item(d, "Data", plist_new_data(data, data_len));
	assert_int_equal(ap_plist_to_xml(d, &xml, NULL), 0);
	plist_free(d);
	if (more) { /* spliced before the closing </dict> */
		char *end = strstr(xml, "</dict>");
		size_t head = (size_t)(end - xml), n = strlen(xml) + strlen(more) + 1;
		char *out = malloc(n);
		snprintf(out, n, "%.*s%s%s", (int)head, xml, more, end);
		free(xml);
		xml = out;
	}
	return xml;
}

static int parse_dm(const char *xml, struct ap_msg **m, char *detail, size_t cap)
{
	*m = NULL;
	return ap_msg_parse_flags(xml, strlen(xml), 0, AP_MSG_DDM, m, detail, cap);
}

static void test_checkin_endpoints(void **state)
{
	struct ap_msg *m = NULL;
	char detail[160];
	const char *eps[] = {"tokens", "declaration-items", "declaration/configuration/" SU_ID,
			     "declaration/activation/ardoise.act", "status"};
	struct tu_doc docs[5];
	char *xml[5];

	for (int i = 0; i < 5; i++) {
		int status = i == 4;
		xml[i] = dm_checkin(eps[i], status ? incremental_report : NULL,
				    status ? strlen(incremental_report) : 0, NULL);
		static const char *const names[] = {"dm-tokens", "dm-items", "dm-declaration",
						    "dm-activation", "dm-status"};
		docs[i] = (struct tu_doc){names[i], xml[i], strlen(xml[i])};
		assert_int_equal(parse_dm(xml[i], &m, detail, sizeof(detail)), 0);
		assert_string_equal(detail, "");
		assert_int_equal(m->kind, AP_MSG_CHECKIN);
		const struct ap_checkin *c = &m->u.checkin;
		assert_int_equal(c->type, AP_CHECKIN_DECLARATIVE_MANAGEMENT);
		assert_string_equal(ap_checkin_type_name(c->type), "DeclarativeManagement");
		assert_string_equal(c->udid, UDID);
		assert_string_equal(c->endpoint, eps[i]);
		assert_null(c->topic);
		assert_null(c->user_id);
		if (status) {
			assert_int_equal(c->ddm.type, AP_DDM_EP_STATUS);
			assert_int_equal(c->data_len, strlen(incremental_report));
			assert_memory_equal(c->data, incremental_report, c->data_len);
		} else {
			assert_null(c->data);
		}
		if (i == 2) {
			assert_int_equal(c->ddm.type, AP_DDM_EP_DECLARATION);
			assert_int_equal(c->ddm.kind, AP_DDM_CONFIGURATION);
			assert_string_equal(c->ddm.identifier, SU_ID);
		}
		if (i == 3)
			assert_int_equal(c->ddm.kind, AP_DDM_ACTIVATION);
		ap_msg_free(m);
		m = NULL;
		/* a caller that did not ask for DDM: refused as before */
		assert_int_equal(
		    ap_msg_parse(xml[i], strlen(xml[i]), 0, &m, detail, sizeof(detail)),
		    AP_EUNSUPPORTED);
		assert_string_equal(detail, "unsupported MessageType \"DeclarativeManagement\"");
		assert_null(m);
	}
	assert_int_equal(parse_dm(xml[0], &m, detail, sizeof(detail)), 0);
	assert_int_equal(m->u.checkin.ddm.type, AP_DDM_EP_TOKENS);
	ap_msg_free(m);
	assert_int_equal(parse_dm(xml[1], &m, detail, sizeof(detail)), 0);
	assert_int_equal(m->u.checkin.ddm.type, AP_DDM_EP_DECLARATION_ITEMS);
	ap_msg_free(m);
	/* what we parse is what Apple's schema describes (the status report
	 * inside Data included) */
	const char *args[] = {"--werror", "--kind", "checkin", NULL};
	assert_int_equal(tu_schema_check(docs, 5, args), 0);
	for (int i = 0; i < 5; i++)
		free(xml[i]);

	/* a Shared iPad user channel's fields are read, for the caller to refuse */
	char *x =
	    dm_checkin("tokens", NULL, 0,
		       "<key>UserID</key><string>FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF</string>"
		       "<key>UserShortName</key><string>eleve@ac-aix.fr</string>");
	assert_int_equal(parse_dm(x, &m, detail, sizeof(detail)), 0);
	assert_string_equal(m->u.checkin.user_short_name, "eleve@ac-aix.fr");
	assert_non_null(m->u.checkin.user_id);
	ap_msg_free(m);
	free(x);
}

static void test_checkin_bad(void **state)
{
	struct ap_msg *m = NULL;
	char detail[160];
	const struct {
		const char *endpoint; /* NULL: none */
		const char *data;
		const char *more;
		int rc;
		const char *why;
	} bad[] = {
	    {NULL, NULL, NULL, AP_EMISSING, "DeclarativeManagement: Endpoint missing"},
	    {"declaration/foo/x", NULL, NULL, AP_EINVAL, "unknown declaration kind"},
	    {"declaration/configuration/", NULL, NULL, AP_EINVAL, "without an identifier"},
	    {"declaration/configuration/" ID65, NULL, NULL, AP_EINVAL, "65 octets"},
	    {"declaration/configuration/..", NULL, NULL, AP_EINVAL, "refused"},
	    {"profiles", NULL, NULL, AP_EINVAL, "DeclarativeManagement: unknown Endpoint"},
	    {"status", NULL, NULL, AP_EMISSING, "status without Data"},
	    {NULL, NULL, "<key>Endpoint</key><integer>1</integer>", AP_ETYPE,
	     "Endpoint must be a string"},
	    {"status", NULL, "<key>Data</key><string>{}</string>", AP_ETYPE, "Data must be data"},
	    {"tokens", NULL, "<key>UserID</key><true/>", AP_ETYPE, "UserID must be a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *x =
		    dm_checkin(bad[i].endpoint, bad[i].data, bad[i].data ? 1 : 0, bad[i].more);
		int rc = parse_dm(x, &m, detail, sizeof(detail));
		if (rc != bad[i].rc || strstr(detail, bad[i].why) == NULL)
			fail_msg("case %zu: rc %s, detail \"%s\", want %s \"%s\"", i,
				 ap_errname(rc), detail, ap_errname(bad[i].rc), bad[i].why);
		assert_null(m);
		free(x);
	}
	/* no UDID: User Enrollment, refused as for the other check-ins */
	plist_t d = plist_new_dict();
	char *x = NULL;
	plist_dict_set_item(d, "MessageType", plist_new_string("DeclarativeManagement"));
	plist_dict_set_item(d, "Endpoint", plist_new_string("tokens"));
	plist_dict_set_item(d, "EnrollmentID", plist_new_string("E-1"));
	assert_int_equal(ap_plist_to_xml(d, &x, NULL), 0);
	assert_int_equal(parse_dm(x, &m, detail, sizeof(detail)), AP_EMISSING);
	assert_non_null(strstr(detail, "User Enrollment"));
	free(x);
	plist_free(d);
	/* the other check-ins are unchanged with the flag: Topic still required */
	static const char checkout[] = HEAD "<dict>\n"
					    "<key>MessageType</key><string>CheckOut</string>\n"
					    "<key>UDID</key><string>" UDID "</string>\n"
					    "</dict>\n" TAIL;
	assert_int_equal(parse_dm(checkout, &m, detail, sizeof(detail)), AP_EMISSING);
	assert_string_equal(detail, "CheckOut: Topic missing");
}

/* ---- tokens ---- */

static void sha256_32(const void *data, size_t len, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_server_token(void **state)
{
	char t[AP_DDM_TOKEN_LEN + 1], u[AP_DDM_TOKEN_LEN + 1], want[33], detail[160];
	static const char canonical[] =
	    "{\"Identifier\":\"ardoise.su.17.6.1\",\"Payload\":{\"DetailsURL\":\"https://"
	    "ent.example.fr/maj\",\"TargetLocalDateTime\":\"2026-10-15T18:00:00\","
	    "\"TargetOSVersion\":\"17.6.1\"},\"Type\":\"" SU_TYPE "\"}";

	/* the contract: SHA-256 of the compact, key-sorted content, 32 hex */
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, SU_PAYLOAD, strlen(SU_PAYLOAD), t,
					     detail, sizeof(detail)),
			 0);
	sha256_32(canonical, strlen(canonical), want);
	assert_string_equal(t, want);
	assert_int_equal(strlen(t), AP_DDM_TOKEN_LEN);
	/* the value pinned for other implementations (python: json.dumps(...,
	 * sort_keys=True, separators=(",", ":"), ensure_ascii=False)) */
	static const char p2[] = "{\"TargetOSVersion\":\"17.6.1\","
				 "\"TargetLocalDateTime\":\"2026-10-15T18:00:00\"}";
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, p2, strlen(p2), t, NULL, 0), 0);
	assert_string_equal(t, "94be53b48ca4067e638d2cffe4c2259c");
	/* spacing and key order do not count */
	static const char p3[] = "{ \"TargetLocalDateTime\" : \"2026-10-15T18:00:00\",\n"
				 "  \"TargetOSVersion\" : \"17.6.1\" }";
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, p3, strlen(p3), u, NULL, 0), 0);
	assert_string_equal(t, u);
	/* any change of value, identifier or type does */
	static const char p4[] = "{\"TargetOSVersion\":\"17.6.2\","
				 "\"TargetLocalDateTime\":\"2026-10-15T18:00:00\"}";
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, p4, strlen(p4), u, NULL, 0), 0);
	assert_string_not_equal(t, u);
	assert_int_equal(ap_ddm_server_token(SU_TYPE, "ardoise.su.b", p2, strlen(p2), u, NULL, 0),
			 0);
	assert_string_not_equal(t, u);
	/* refusals */
	assert_int_equal(
	    ap_ddm_server_token("com.example.x", SU_ID, p2, strlen(p2), u, detail, sizeof(detail)),
	    AP_EINVAL);
	assert_non_null(strstr(detail, "declaration Type"));
	assert_int_equal(
	    ap_ddm_server_token(SU_TYPE, ID65, p2, strlen(p2), u, detail, sizeof(detail)),
	    AP_EINVAL);
	assert_non_null(strstr(detail, "Identifier"));
	assert_int_equal(ap_ddm_server_token(SU_TYPE, "a/b", p2, strlen(p2), u, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, "[]", 2, u, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_string_equal(detail, "Payload must be a JSON object");
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, p2, 10, u, detail, sizeof(detail)),
			 AP_EPARSE);
	assert_non_null(strstr(detail, "Payload: invalid JSON"));
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, "", 0, u, NULL, 0), AP_EPARSE);
	assert_int_equal(ap_ddm_server_token(SU_TYPE, SU_ID, NULL, 3, u, NULL, 0), AP_EINVAL);
}

static void test_declarations_token(void **state)
{
	char t[33], u[33], want[33], detail[160];
	struct ap_ddm_item set[] = {
	    {AP_DDM_CONFIGURATION, SU_ID, "t3"},
	    {AP_DDM_ACTIVATION, "ardoise.act", "t1"},
	    {AP_DDM_CONFIGURATION, "ardoise.status", "t2"},
	};
	static const char bytes[] = "activation\0ardoise.act\0t1\0"
				    "configuration\0ardoise.status\0t2\0"
				    "configuration\0ardoise.su.17.6.1\0t3\0";

	assert_int_equal(ap_ddm_declarations_token(set, 3, t, detail, sizeof(detail)), 0);
	sha256_32(bytes, sizeof(bytes) - 1, want);
	assert_string_equal(t, want);
	assert_string_equal(t, "3dc25b025a14acbe9f788b7c62408a1e");
	/* every order of the same set gives the same token */
	const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (int p = 0; p < 6; p++) {
		struct ap_ddm_item v[3] = {set[perms[p][0]], set[perms[p][1]], set[perms[p][2]]};
		assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), 0);
		assert_string_equal(t, u);
	}
	/* a changed ServerToken changes it */
	struct ap_ddm_item v[3] = {set[0], set[1], set[2]};
	v[2].server_token = "t2b";
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), 0);
	assert_string_not_equal(t, u);
	/* a removed declaration changes it */
	assert_int_equal(ap_ddm_declarations_token(set, 2, u, NULL, 0), 0);
	assert_string_not_equal(t, u);
	/* so does the same identifier under another kind */
	v[2] = set[2];
	v[2].kind = AP_DDM_ASSET;
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), 0);
	assert_string_not_equal(t, u);
	/* the empty set */
	assert_int_equal(ap_ddm_declarations_token(NULL, 0, u, NULL, 0), 0);
	assert_string_equal(u, "e3b0c44298fc1c149afbf4c8996fb924");
	/* refusals: identifier twice (even under two kinds), bad fields */
	v[2] = set[2];
	v[2].identifier = SU_ID;
	v[2].kind = AP_DDM_ASSET;
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, detail, sizeof(detail)), AP_EINVAL);
	assert_non_null(strstr(detail, "given twice"));
	v[2] = set[2];
	v[2].identifier = ID65;
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), AP_EINVAL);
	v[2].identifier = "ok";
	v[2].server_token = "";
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), AP_EINVAL);
	v[2].server_token = ID65;
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), AP_EINVAL);
	v[2].server_token = "t";
	v[2].kind = AP_DDM_KIND__COUNT;
	assert_int_equal(ap_ddm_declarations_token(v, 3, u, NULL, 0), AP_EINVAL);
	assert_int_equal(ap_ddm_declarations_token(NULL, 2, u, NULL, 0), AP_EINVAL);
}

/* ---- answers ---- */

static void test_tokens_answer(void **state)
{
	char *json = NULL, tok[AP_DDM_DTOKEN_MAX + 1], detail[160];
	size_t len = 0;

	/* 2026-10-15T16:00:00Z */
	assert_int_equal(ap_ddm_tokens_build("3dc25b025a14acbe9f788b7c62408a1e", 1792080000, &json,
					     &len, detail, sizeof(detail)),
			 0);
	assert_string_equal(json, "{\"SyncTokens\":{\"DeclarationsToken\":"
				  "\"3dc25b025a14acbe9f788b7c62408a1e\",\"Timestamp\":"
				  "\"2026-10-15T16:00:00Z\"}}");
	assert_int_equal(len, strlen(json));
	assert_int_equal(schema_ok(K_TOKENS, "tokens.json", json, len), 0);
	assert_int_equal(ap_ddm_tokens_parse(json, len, tok, detail, sizeof(detail)), 0);
	assert_string_equal(tok, "3dc25b025a14acbe9f788b7c62408a1e");
	free(json);
	/* bounds */
	char big[AP_DDM_DTOKEN_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ap_ddm_tokens_build(big, 0, &json, NULL, detail, sizeof(detail)),
			 AP_EINVAL);
	big[AP_DDM_DTOKEN_MAX] = '\0';
	assert_int_equal(ap_ddm_tokens_build(big, 0, &json, NULL, NULL, 0), 0);
	assert_int_equal(ap_ddm_tokens_parse(json, strlen(json), tok, NULL, 0), 0);
	assert_string_equal(tok, big);
	free(json);
	assert_int_equal(ap_ddm_tokens_build("", 0, &json, NULL, NULL, 0), AP_EINVAL);
	assert_int_equal(ap_ddm_tokens_build(NULL, 0, &json, NULL, NULL, 0), AP_EINVAL);
	assert_int_equal(ap_ddm_tokens_build("t", -1, &json, NULL, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, "out of range"));
	assert_int_equal(ap_ddm_tokens_build("t", (time_t)253402300800, &json, NULL, NULL, 0),
			 AP_EINVAL);
	/* tokens documents that are not */
	const struct {
		const char *json;
		int rc;
	} bad[] = {
	    {"{}", AP_EMISSING},
	    {"{\"SyncTokens\":[]}", AP_ETYPE},
	    {"{\"SyncTokens\":{\"Timestamp\":\"x\"}}", AP_EMISSING},
	    {"{\"SyncTokens\":{\"DeclarationsToken\":\"t\"}}", AP_EMISSING},
	    {"{\"SyncTokens\":{\"DeclarationsToken\":1,\"Timestamp\":\"x\"}}", AP_ETYPE},
	    {"{\"SyncTokens\":{\"DeclarationsToken\":\"\",\"Timestamp\":\"x\"}}", AP_EINVAL},
	    {"{\"SyncTokens\":{\"DeclarationsToken\":\"t\",\"Timestamp\":\"x\"}", AP_EPARSE},
	    {"[]", AP_EINVAL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    ap_ddm_tokens_parse(bad[i].json, strlen(bad[i].json), tok, NULL, 0), bad[i].rc);
}

static void test_items_answer(void **state)
{
	char *json = NULL, detail[160];
	size_t len = 0;
	const struct ap_ddm_item set[] = {
	    {AP_DDM_CONFIGURATION, SU_ID, "94be53b48ca4067e638d2cffe4c2259c"},
	    {AP_DDM_ACTIVATION, "ardoise.act", "t1"},
	    {AP_DDM_CONFIGURATION, "ardoise.status", "t2"},
	    {AP_DDM_MANAGEMENT, "ardoise.org", "t4"},
	};

	/* no declarations: the four groups are there all the same */
	assert_int_equal(ap_ddm_items_build(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb924", &json,
					    &len, detail, sizeof(detail)),
			 0);
	assert_string_equal(json, "{\"Declarations\":{\"Activations\":[],\"Assets\":[],"
				  "\"Configurations\":[],\"Management\":[]},\"DeclarationsToken\":"
				  "\"e3b0c44298fc1c149afbf4c8996fb924\"}");
	assert_int_equal(schema_ok(K_ITEMS, "items-empty.json", json, len), 0);
	free(json);
	assert_int_equal(ap_ddm_items_build(set, 4, "tok", &json, &len, detail, sizeof(detail)), 0);
	assert_string_equal(
	    json, "{\"Declarations\":{\"Activations\":[{\"Identifier\":\"ardoise.act\","
		  "\"ServerToken\":\"t1\"}],\"Assets\":[],\"Configurations\":[{\"Identifier\":"
		  "\"ardoise.status\",\"ServerToken\":\"t2\"},{\"Identifier\":\"" SU_ID
		  "\",\"ServerToken\":\"94be53b48ca4067e638d2cffe4c2259c\"}],\"Management\":[{"
		  "\"Identifier\":\"ardoise.org\",\"ServerToken\":\"t4\"}]},\"DeclarationsToken\":"
		  "\"tok\"}");
	assert_int_equal(schema_ok(K_ITEMS, "items.json", json, len), 0);
	free(json);
	/* refusals */
	struct ap_ddm_item dup[] = {set[0], set[1]};
	dup[1].identifier = SU_ID;
	assert_int_equal(ap_ddm_items_build(dup, 2, "tok", &json, &len, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, "given twice"));
	assert_int_equal(ap_ddm_items_build(set, 4, "", &json, &len, NULL, 0), AP_EINVAL);
	dup[1].identifier = ID65;
	assert_int_equal(ap_ddm_items_build(dup, 2, "tok", &json, &len, NULL, 0), AP_EINVAL);
}

static void test_declaration_answer(void **state)
{
	static const struct {
		const char *type, *id, *payload;
	} decls[] = {
	    {SU_TYPE, SU_ID, SU_PAYLOAD},
	    {"com.apple.configuration.management.status-subscriptions", "ardoise.status",
	     "{\"StatusItems\":[{\"Name\":\"softwareupdate.install-state\"},"
	     "{\"Name\":\"softwareupdate.pending-version\"},"
	     "{\"Name\":\"softwareupdate.failure-reason\"},"
	     "{\"Name\":\"device.operating-system.version\"},"
	     "{\"Name\":\"device.operating-system.build-version\"},"
	     "{\"Name\":\"passcode.is-compliant\"},{\"Name\":\"device.power.battery-health\"},"
	     "{\"Name\":\"management.declarations\"}]}"},
	    {"com.apple.activation.simple", "ardoise.act",
	     "{\"StandardConfigurations\":[\"" SU_ID "\",\"ardoise.status\"]}"},
	    {"com.apple.management.organization-info", "ardoise.org",
	     "{\"Name\":\"D\\u00e9partement des Bouches-du-Rh\\u00f4ne\"}"},
	};
	struct tu_doc docs[4];
	char *json[4], tok[33], detail[160];

	for (int i = 0; i < 4; i++) {
		size_t len = 0;
		const char *p = decls[i].payload;
		assert_int_equal(
		    ap_ddm_server_token(decls[i].type, decls[i].id, p, strlen(p), tok, NULL, 0), 0);
		assert_int_equal(ap_ddm_declaration_build(decls[i].type, decls[i].id, tok, p,
							  strlen(p), &json[i], &len, detail,
							  sizeof(detail)),
				 0);
		assert_string_equal(detail, "");
		assert_int_equal(len, strlen(json[i]));
		assert_non_null(strstr(json[i], tok));
		docs[i] = (struct tu_doc){decls[i].id, json[i], len};
	}
	static const char head[] = "{\"Identifier\":\"" SU_ID "\",\"Payload\":{\"DetailsURL\":"
				   "\"https://ent.example.fr/maj\",\"TargetLocalDateTime\":"
				   "\"2026-10-15T18:00:00\",\"TargetOSVersion\":\"17.6.1\"},"
				   "\"ServerToken\":\"";
	assert_int_equal(strncmp(json[0], head, strlen(head)), 0);
	assert_string_equal(json[0] + strlen(head) + AP_DDM_TOKEN_LEN,
			    "\",\"Type\":\"" SU_TYPE "\"}");
	assert_non_null(strstr(json[3], "D\xc3\xa9partement")); /* UTF-8, not escaped */
	const char *args[] = {"--werror", "--kind", "declaration", NULL};
	assert_int_equal(tu_schema_check(docs, 4, args), 0);
	for (int i = 0; i < 4; i++)
		free(json[i]);

	/* refusals, each with its reason */
	char *out = NULL;
	const struct {
		const char *type, *id, *token, *payload;
		int rc;
		const char *why;
	} bad[] = {
	    {"com.example.thing", "x", "t", "{}", AP_EINVAL, "declaration Type"},
	    {"", "x", "t", "{}", AP_EINVAL, "declaration Type"},
	    {SU_TYPE, ID65, "t", "{}", AP_EINVAL, "declaration Identifier"},
	    {SU_TYPE, "", "t", "{}", AP_EINVAL, "declaration Identifier"},
	    {SU_TYPE, "a/b", "t", "{}", AP_EINVAL, "declaration Identifier"},
	    {SU_TYPE, "x", "", "{}", AP_EINVAL, "ServerToken"},
	    {SU_TYPE, "x", ID65, "{}", AP_EINVAL, "ServerToken"},
	    {SU_TYPE, "x", NULL, "{}", AP_EINVAL, "ServerToken"},
	    {SU_TYPE, "x", "t", "[1]", AP_EINVAL, "Payload must be a JSON object"},
	    {SU_TYPE, "x", "t", "{\"a\":", AP_EPARSE, "Payload: invalid JSON"},
	    {SU_TYPE, "x", "t", "{\"a\":1,\"a\":2}", AP_EPARSE, "Payload: invalid JSON"},
	    {SU_TYPE, "x", "t", "{\"a\":\"\xff\"}", AP_EPARSE, "Payload: invalid JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ap_ddm_declaration_build(bad[i].type, bad[i].id, bad[i].token,
						  bad[i].payload, strlen(bad[i].payload), &out,
						  NULL, detail, sizeof(detail));
		if (rc != bad[i].rc || strstr(detail, bad[i].why) == NULL)
			fail_msg("case %zu: %s \"%s\"", i, ap_errname(rc), detail);
	}
	/* a payload nested deeper than the bound: {"a":[[...]]} */
	char deep[2 * AP_DDM_MAX_DEPTH + 8];
	size_t n = 0;
	memcpy(deep, "{\"a\":", 5);
	n = 5;
	for (int i = 0; i < AP_DDM_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < AP_DDM_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	assert_int_equal(ap_ddm_declaration_build(SU_TYPE, "x", "t", deep, n, &out, NULL, detail,
						  sizeof(detail)),
			 AP_ETOODEEP);
	assert_non_null(strstr(detail, "nested more than 16"));
}

static void test_command(void **state)
{
	char *tokens = NULL, *xml = NULL, detail[200];
	size_t tlen = 0, len = 0;
	plist_t p = NULL;

	assert_int_equal(ap_cmd_from_name("DeclarativeManagement", &(enum ap_cmd_type){0}), 0);
	assert_string_equal(ap_cmd_name(AP_CMD_DECLARATIVE_MANAGEMENT), "DeclarativeManagement");
	assert_int_equal(ap_ddm_tokens_build("3dc25b025a14acbe9f788b7c62408a1e", 1792080000,
					     &tokens, &tlen, NULL, 0),
			 0);
	assert_int_equal(ap_cmd_params_declarative_management(tokens, tlen, &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT,
				      "0B6F1A52-3C1E-4D7A-9E0E-1F2A3B4C5D0C", p, &xml, &len, detail,
				      sizeof(detail)),
			 0);
	plist_free(p);
	assert_non_null(strstr(xml, "<string>DeclarativeManagement</string>"));
	assert_non_null(strstr(xml, "<key>Data</key>"));
	/* the checker reads the tokens answer inside Data too */
	assert_int_equal(schema_ok(K_COMMAND, "dm-command.plist", xml, len), 0);
	free(xml);
	/* without Data: the tablet asks for the tokens itself */
	assert_int_equal(ap_cmd_params_declarative_management(NULL, 0, &p), 0);
	assert_int_equal(plist_dict_get_size(p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT, "U-2", p, &xml, &len, NULL, 0),
			 0);
	plist_free(p);
	assert_null(strstr(xml, "<key>Data</key>"));
	assert_int_equal(schema_ok(K_COMMAND, "dm-command-nodata.plist", xml, len), 0);
	free(xml);
	/* Data that is not a tokens answer is refused */
	assert_int_equal(ap_cmd_params_declarative_management("{\"x\":1}", 7, &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT, "U-3", p, &xml, &len, detail,
				      sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, "Data must be a tokens answer"));
	plist_free(p);
	assert_int_equal(ap_cmd_params_declarative_management(tokens, tlen - 1, &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT, "U-4", p, &xml, &len, NULL, 0),
			 AP_EINVAL);
	plist_free(p);
	/* no other key */
	p = plist_new_dict();
	plist_dict_set_item(p, "Tokens", plist_new_string("x"));
	assert_int_equal(ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT, "U-5", p, &xml, &len, NULL, 0),
			 AP_EINVAL);
	plist_free(p);
	assert_int_equal(ap_cmd_params_declarative_management(tokens, tlen, NULL), AP_EINVAL);
	free(tokens);
}

/* ---- status reports ---- */

static const char *item(const struct ap_ddm_status *s, const char *name)
{
	const struct ap_ddm_status_item *it = ap_ddm_status_find(s, name);
	if (it == NULL)
		fail_msg("no status item %s", name);
	return it->value;
}

static void test_status_full(void **state)
{
	struct ap_ddm_status *s = NULL;
	char detail[160];

	assert_int_equal(schema_ok(K_STATUS, "full-report.json", full_report, strlen(full_report)),
			 0);
	assert_int_equal(
	    ap_ddm_status_parse(full_report, strlen(full_report), 0, &s, detail, sizeof(detail)),
	    0);
	assert_string_equal(detail, "");
	assert_int_equal(s->full_report, 1);
	assert_int_equal(s->n_errors, 0);
	static const char *const names[] = {
	    "device.identifier.serial-number",
	    "device.identifier.udid",
	    "device.model.family",
	    "device.model.identifier",
	    "device.model.marketing-name",
	    "device.model.number",
	    "device.operating-system.build-version",
	    "device.operating-system.family",
	    "device.operating-system.marketing-name",
	    "device.operating-system.version",
	    "device.power.battery-health",
	    "management.client-capabilities",
	    "management.declarations",
	    "mdm.app",
	    "passcode.is-compliant",
	    "passcode.is-present",
	    "softwareupdate.failure-reason",
	    "softwareupdate.install-reason",
	    "softwareupdate.install-state",
	    "softwareupdate.pending-version",
	};
	assert_int_equal(s->n_items, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < s->n_items; i++) /* sorted by name */
		assert_string_equal(s->items[i].name, names[i]);
	assert_string_equal(item(s, "device.operating-system.version"), "\"17.5.1\"");
	assert_string_equal(item(s, "device.operating-system.build-version"), "\"21F90\"");
	assert_string_equal(item(s, "softwareupdate.install-state"), "\"downloading\"");
	assert_string_equal(item(s, "softwareupdate.pending-version"),
			    "{\"build-version\":\"21G93\",\"os-version\":\"17.6.1\"}");
	assert_string_equal(item(s, "softwareupdate.failure-reason"), "{\"count\":0}");
	assert_string_equal(item(s, "softwareupdate.install-reason"),
			    "{\"declaration-id\":\"" SU_ID "\",\"reason\":[\"declaration\"]}");
	assert_string_equal(item(s, "passcode.is-compliant"), "true");
	assert_string_equal(item(s, "device.power.battery-health"), "\"unsupported\"");
	assert_string_equal(item(s, "mdm.app"),
			    "[{\"identifier\":\"fr.education.pronote\",\"name\":\"PRONOTE\","
			    "\"short-version\":\"2024.2\",\"state\":\"managed\",\"version\":"
			    "\"2024.2.5\"}]");
	const char *decl = item(s, "management.declarations");
	assert_non_null(strstr(decl, "\"valid\":\"invalid\""));
	assert_non_null(strstr(decl, "\"code\":\"Error.ConfigurationCannotBeApplied\""));
	assert_non_null(strstr(decl, "\xc3\xaatre")); /* \u00ea back as UTF-8 */
	assert_non_null(strstr(item(s, "management.client-capabilities"),
			       "\"supported-versions\":[\"1.0.0\",\"1.1.0\"]"));
	assert_null(ap_ddm_status_find(s, "softwareupdate"));
	assert_null(ap_ddm_status_find(s, "device.operating-system"));
	ap_ddm_status_free(s);
}

static void test_status_incremental(void **state)
{
	struct ap_ddm_status *s = NULL;
	char detail[160];

	assert_int_equal(
	    schema_ok(K_STATUS, "incremental.json", incremental_report, strlen(incremental_report)),
	    0);
	assert_int_equal(ap_ddm_status_parse(incremental_report, strlen(incremental_report), 0, &s,
					     detail, sizeof(detail)),
			 0);
	assert_int_equal(s->full_report, 0);
	assert_int_equal(s->n_items, 3);
	assert_string_equal(item(s, "softwareupdate.install-state"), "\"failed\"");
	assert_string_equal(item(s, "softwareupdate.failure-reason"),
			    "{\"count\":2,\"reason\":\"Not enough storage\",\"timestamp\":"
			    "\"2026-10-15T18:04:11Z\"}");
	assert_string_equal(item(s, "mdm.app"),
			    "[{\"_removed\":true,\"identifier\":\"fr.education.pronote\"}]");
	assert_int_equal(s->n_errors, 2);
	assert_string_equal(s->errors[0].item, "device.power.battery-health");
	assert_int_equal(s->errors[0].n_reasons, 2);
	assert_string_equal(s->errors[0].reasons[0], "Error.StatusItemUnavailable");
	assert_string_equal(s->errors[0].reasons[1], "Error.Retry");
	assert_string_equal(s->errors[1].item, "passcode.is-compliant");
	assert_int_equal(s->errors[1].n_reasons, 0);
	assert_null(s->errors[1].reasons);
	ap_ddm_status_free(s);

	/* the smallest report: an empty StatusItems, Errors and FullReport absent */
	assert_int_equal(ap_ddm_status_parse("{\"StatusItems\":{}}", 18, 0, &s, NULL, 0), 0);
	assert_int_equal(s->n_items, 0);
	assert_int_equal(s->n_errors, 0);
	assert_int_equal(s->full_report, 0);
	assert_null(ap_ddm_status_find(s, "x"));
	ap_ddm_status_free(s);
	ap_ddm_status_free(NULL);
}

/* What the table does not know is kept, whole, under its deepest known
 * prefix or its top-level key. */
static void test_status_unknown_items(void **state)
{
	struct ap_ddm_status *s = NULL;
	static const char r[] =
	    "{\"StatusItems\":{"
	    "\"softwareupdate\":{\"new-thing\":{\"a\":1,\"b\":[1,2]},\"install-state\":\"none\"},"
	    "\"foo\":{\"bar\":{\"baz\":1.5}},"
	    "\"device\":{\"operating-system\":{\"new-leaf\":\"x\",\"supplemental\":"
	    "{\"build-version\":\"21F90a\",\"other\":null}}},"
	    "\"security\":{\"lockdown-mode\":{\"enabled\":false}},"
	    "\"test\":{\"real-value\":3}}, \"Later\": 1}";

	assert_int_equal(ap_ddm_status_parse(r, strlen(r), 0, &s, NULL, 0), 0);
	assert_int_equal(s->n_items, 8);
	assert_string_equal(item(s, "softwareupdate.new-thing"), "{\"a\":1,\"b\":[1,2]}");
	assert_string_equal(item(s, "softwareupdate.install-state"), "\"none\"");
	assert_string_equal(item(s, "foo"), "{\"bar\":{\"baz\":1.5}}");
	assert_string_equal(item(s, "device.operating-system.new-leaf"), "\"x\"");
	assert_string_equal(item(s, "device.operating-system.supplemental.build-version"),
			    "\"21F90a\"");
	assert_string_equal(item(s, "device.operating-system.supplemental.other"), "null");
	assert_string_equal(item(s, "security.lockdown-mode"), "{\"enabled\":false}");
	assert_string_equal(item(s, "test.real-value"), "3"); /* an integer is a number */
	ap_ddm_status_free(s);
}

struct bad_report {
	const char *json;
	int rc;
	const char *why;
};

static void expect_refused(const struct bad_report *b, size_t n)
{
	char detail[200];
	for (size_t i = 0; i < n; i++) {
		struct ap_ddm_status *s = (struct ap_ddm_status *)0x1;
		int rc = ap_ddm_status_parse(b[i].json, strlen(b[i].json), 0, &s, detail,
					     sizeof(detail));
		if (rc != b[i].rc || strstr(detail, b[i].why) == NULL)
			fail_msg("%.60s: %s \"%s\", want %s \"%s\"", b[i].json, ap_errname(rc),
				 detail, ap_errname(b[i].rc), b[i].why);
		assert_ptr_equal(s, (struct ap_ddm_status *)0x1); /* not written */
	}
}

static void test_status_wrong_types(void **state)
{
	static const struct bad_report bad[] = {
	    {"[]", AP_ETYPE, "status report must be a JSON object, not an array"},
	    {"{}", AP_EMISSING, "StatusItems missing"},
	    {"{\"StatusItems\":[]}", AP_ETYPE, "StatusItems must be an object, not an array"},
	    {"{\"StatusItems\":{},\"FullReport\":\"true\"}", AP_ETYPE,
	     "FullReport must be a boolean"},
	    {"{\"StatusItems\":{\"softwareupdate\":{\"install-state\":5}}}", AP_ETYPE,
	     "softwareupdate.install-state must be a string, not an integer"},
	    {"{\"StatusItems\":{\"softwareupdate\":{\"pending-version\":\"18.0\"}}}", AP_ETYPE,
	     "softwareupdate.pending-version must be an object"},
	    {"{\"StatusItems\":{\"passcode\":{\"is-compliant\":\"yes\"}}}", AP_ETYPE,
	     "passcode.is-compliant must be a boolean, not a string"},
	    {"{\"StatusItems\":{\"mdm\":{\"app\":{}}}}", AP_ETYPE, "mdm.app must be an array"},
	    {"{\"StatusItems\":{\"test\":{\"integer-value\":1.5}}}", AP_ETYPE,
	     "must be an integer, not a real"},
	    {"{\"StatusItems\":{\"softwareupdate\":\"none\"}}", AP_ETYPE,
	     "StatusItems.softwareupdate must be an object (the items under softwareupdate)"},
	    {"{\"StatusItems\":{\"device\":{\"operating-system\":[]}}}", AP_ETYPE,
	     "StatusItems.device.operating-system must be an object"},
	    {"{\"StatusItems\":{},\"Errors\":{}}", AP_ETYPE, "Errors must be an array"},
	    {"{\"StatusItems\":{},\"Errors\":[\"x\"]}", AP_ETYPE,
	     "Errors[0] must be an object, not a string"},
	    {"{\"StatusItems\":{},\"Errors\":[{}]}", AP_EMISSING, "Errors[0].StatusItem missing"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":1}]}", AP_ETYPE,
	     "Errors[0].StatusItem must be a string"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"\"}]}", AP_EINVAL,
	     "Errors[0].StatusItem: 1 to 128 octets"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"a\",\"Reasons\":{}}]}", AP_ETYPE,
	     "Errors[0].Reasons must be an array"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"a\",\"Reasons\":[1]}]}", AP_ETYPE,
	     "Errors[0].Reasons[0] must be an object"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"a\",\"Reasons\":[{}]}]}",
	     AP_EMISSING, "Errors.Reasons[0].Code missing"},
	    {"{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"a\",\"Reasons\":[{\"Code\":[]}]}]}",
	     AP_ETYPE, "Code must be a string"},
	    {"{\"StatusItems\":{\"\":1}}", AP_EINVAL, "empty key in StatusItems"},
	    {"{\"StatusItems\":{\"softwareupdate\":{\"\":1}}}", AP_EINVAL,
	     "empty key in StatusItems under softwareupdate"},
	    {"{\"StatusItems\":{\"a\\u0001b\":1}}", AP_EINVAL, "control characters"},
	    {"{\"StatusItems\":{\"softwareupdate.install-state\":\"none\","
	     "\"softwareupdate\":{\"install-state\":\"failed\"}}}",
	     AP_EINVAL, "softwareupdate.install-state given twice"},
	};
	expect_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_status_malformed(void **state)
{
	static const struct bad_report bad[] = {
	    {"", AP_EPARSE, "status report: empty"},
	    {"{\"StatusItems\":{}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":\"\xff\"}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":\"\xc3\"}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":\"\xed\xa0\x80\"}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":\"\\u0000\"}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":\"\\ud800\"}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{},\"StatusItems\":{}}", AP_EPARSE, "duplicate"},
	    {"{\"StatusItems\":{}} trailing", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":NaN}}", AP_EPARSE, "invalid JSON"},
	    {"{\"StatusItems\":{\"x\":99999999999999999999999}}", AP_EPARSE, "invalid JSON"},
	};
	expect_refused(bad, sizeof(bad) / sizeof(bad[0]));

	/* every truncation of a real report is refused, none crashes */
	struct ap_ddm_status *s = NULL;
	size_t len = strlen(full_report);
	for (size_t n = 0; n + 1 < len; n++) { /* the last byte is a newline */
		int rc = ap_ddm_status_parse(full_report, n, 0, &s, NULL, 0);
		if (rc != AP_EPARSE)
			fail_msg("truncated at %zu: %s", n, ap_errname(rc));
	}
	/* a NUL byte in the middle of the buffer */
	char buf[sizeof(full_report)];
	memcpy(buf, full_report, sizeof(buf));
	buf[100] = '\0';
	assert_int_equal(ap_ddm_status_parse(buf, len, 0, &s, NULL, 0), AP_EPARSE);
	assert_int_equal(ap_ddm_status_parse(NULL, 5, 0, &s, NULL, 0), AP_EINVAL);
	assert_int_equal(ap_ddm_status_parse(full_report, len, 0, NULL, NULL, 0), AP_EINVAL);
}

/* Appends s to a growing buffer. */
static void put(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

static void test_status_limits(void **state)
{
	struct ap_ddm_status *s = NULL;
	char detail[200], *r = NULL, key[64];
	size_t len = 0;

	/* size: over max_bytes, the default one too */
	assert_int_equal(
	    ap_ddm_status_parse(full_report, strlen(full_report), 100, &s, detail, sizeof(detail)),
	    AP_ETOOBIG);
	assert_non_null(strstr(detail, "more than 100"));
	char *huge = malloc(AP_DDM_MAX_BYTES + 2);
	memset(huge, ' ', AP_DDM_MAX_BYTES + 1);
	memcpy(huge, "{\"StatusItems\":{}}", 18);
	assert_int_equal(ap_ddm_status_parse(huge, AP_DDM_MAX_BYTES, 0, &s, NULL, 0), 0);
	ap_ddm_status_free(s);
	assert_int_equal(
	    ap_ddm_status_parse(huge, AP_DDM_MAX_BYTES + 1, 0, &s, detail, sizeof(detail)),
	    AP_ETOOBIG);
	assert_non_null(strstr(detail, "more than 1048576"));
	free(huge);

	/* depth: AP_DDM_MAX_DEPTH levels pass, one more is refused */
	for (int extra = 0; extra < 2; extra++) {
		len = 0;
		put(&r, &len, "{\"StatusItems\":{\"foo\":");
		int inner = AP_DDM_MAX_DEPTH - 2 + extra;
		for (int i = 0; i < inner; i++)
			put(&r, &len, "[");
		for (int i = 0; i < inner; i++)
			put(&r, &len, "]");
		put(&r, &len, "}}");
		int rc = ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail));
		if (extra == 0) {
			assert_int_equal(rc, 0);
			ap_ddm_status_free(s);
		} else {
			assert_int_equal(rc, AP_ETOODEEP);
			assert_string_equal(detail, "status report: objects and arrays nested more "
						    "than 16 deep");
		}
	}
	/* brackets in strings do not count */
	len = 0;
	put(&r, &len, "{\"StatusItems\":{\"foo\":\"");
	for (int i = 0; i < 100; i++)
		put(&r, &len, "[{");
	put(&r, &len, "\\\"\"}}");
	assert_int_equal(ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail)), 0);
	ap_ddm_status_free(s);
	/* far deeper than jansson would go */
	len = 0;
	for (int i = 0; i < 100000; i++)
		put(&r, &len, "[");
	assert_int_equal(ap_ddm_status_parse(r, len, 0, &s, NULL, 0), AP_ETOODEEP);

	/* items: AP_DDM_MAX_ITEMS pass, one more is refused */
	for (int extra = 0; extra < 2; extra++) {
		len = 0;
		put(&r, &len, "{\"StatusItems\":{");
		for (int i = 0; i < AP_DDM_MAX_ITEMS + extra; i++) {
			snprintf(key, sizeof(key), "%s\"x%d\":%d", i ? "," : "", i, i);
			put(&r, &len, key);
		}
		put(&r, &len, "}}");
		int rc = ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail));
		if (extra == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(s->n_items, AP_DDM_MAX_ITEMS);
			ap_ddm_status_free(s);
		} else {
			assert_int_equal(rc, AP_ELIMIT);
			assert_non_null(strstr(detail, "more than 256 status items"));
		}
	}
	/* errors and reasons */
	len = 0;
	put(&r, &len, "{\"StatusItems\":{},\"Errors\":[");
	for (int i = 0; i <= AP_DDM_MAX_ERRORS; i++)
		put(&r, &len, i ? ",{\"StatusItem\":\"a\"}" : "{\"StatusItem\":\"a\"}");
	put(&r, &len, "]}");
	assert_int_equal(ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail)), AP_ELIMIT);
	assert_string_equal(detail, "status report: 65 Errors, more than 64");
	len = 0;
	put(&r, &len, "{\"StatusItems\":{},\"Errors\":[{\"StatusItem\":\"a\",\"Reasons\":[");
	for (int i = 0; i <= AP_DDM_MAX_REASONS; i++)
		put(&r, &len, i ? ",{\"Code\":\"c\"}" : "{\"Code\":\"c\"}");
	put(&r, &len, "]}]}");
	assert_int_equal(ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail)), AP_ELIMIT);
	assert_string_equal(detail, "status report: Errors[0] has 17 Reasons, more than 16");
	/* names: 128 octets pass, 129 are refused */
	for (int extra = 0; extra < 2; extra++) {
		len = 0;
		put(&r, &len, "{\"StatusItems\":{\"softwareupdate\":{\"");
		for (int i = 0; i < AP_DDM_NAME_MAX - 15 + extra; i++)
			put(&r, &len, "n");
		put(&r, &len, "\":1}}}");
		int rc = ap_ddm_status_parse(r, len, 0, &s, detail, sizeof(detail));
		if (extra == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(strlen(s->items[0].name), AP_DDM_NAME_MAX);
			ap_ddm_status_free(s);
		} else {
			assert_int_equal(rc, AP_EINVAL);
			assert_non_null(strstr(detail, "longer than 128 octets"));
		}
	}
	free(r);
}

/* ---- incremental arrays ---- */

static void test_array_apply(void **state)
{
	char *out = NULL, detail[160];
	size_t len = 0;
	static const char stored[] = "[{\"identifier\":\"a\",\"state\":\"managed\"},"
				     "{\"identifier\":\"b\",\"state\":\"managed\"},"
				     "{\"identifier\":\"c\",\"state\":\"installing\"}]";
	static const char report[] =
	    "[{\"identifier\":\"b\",\"_removed\":true},"
	    "{\"identifier\":\"c\",\"state\":\"managed\",\"_removed\":false},"
	    "{\"identifier\":\"d\",\"state\":\"queued\"},{\"identifier\":\"zz\",\"_removed\":true}"
	    "]";

	assert_int_equal(ap_ddm_status_array_apply(stored, strlen(stored), report, strlen(report),
						   &out, &len, detail, sizeof(detail)),
			 0);
	assert_string_equal(out, "[{\"identifier\":\"a\",\"state\":\"managed\"},"
				 "{\"identifier\":\"c\",\"state\":\"managed\"},"
				 "{\"identifier\":\"d\",\"state\":\"queued\"}]");
	assert_int_equal(len, strlen(out));
	free(out);
	/* nothing stored yet */
	assert_int_equal(
	    ap_ddm_status_array_apply(NULL, 0, report, strlen(report), &out, &len, NULL, 0), 0);
	assert_string_equal(out, "[{\"identifier\":\"c\",\"state\":\"managed\"},"
				 "{\"identifier\":\"d\",\"state\":\"queued\"}]");
	free(out);
	/* the report's mdm.app value as the parser gives it */
	struct ap_ddm_status *s = NULL;
	assert_int_equal(
	    ap_ddm_status_parse(incremental_report, strlen(incremental_report), 0, &s, NULL, 0), 0);
	const char *apps = item(s, "mdm.app");
	static const char stored_apps[] =
	    "[{\"identifier\":\"fr.education.pronote\",\"name\":\"PRONOTE\"}]";
	assert_int_equal(ap_ddm_status_array_apply(stored_apps, strlen(stored_apps), apps,
						   strlen(apps), &out, &len, NULL, 0),
			 0);
	assert_string_equal(out, "[]");
	free(out);
	ap_ddm_status_free(s);
	/* refusals, saying which entry */
	const struct {
		const char *stored, *report;
		int rc;
		const char *why;
	} bad[] = {
	    {"[]", "{}", AP_ETYPE, "reported array must be an array, not an object"},
	    {"{}", "[]", AP_ETYPE, "stored array must be an array"},
	    {"[]", "[1]", AP_ETYPE, "reported array[0] must be an object"},
	    {"[]", "[{\"identifier\":\"a\"},{\"name\":\"x\"}]", AP_ETYPE,
	     "reported array[1] has no string \"identifier\""},
	    {"[]", "[{\"identifier\":5}]", AP_ETYPE, "has no string \"identifier\""},
	    {"[]", "[{\"identifier\":\"a\",\"_removed\":\"yes\"}]", AP_ETYPE,
	     "_removed must be a boolean"},
	    {"[", "[]", AP_EPARSE, "stored array: invalid JSON"},
	    {"[]", "[{\"identifier\":\"a\"}", AP_EPARSE, "reported array: invalid JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (char *)0x1;
		int rc = ap_ddm_status_array_apply(bad[i].stored, strlen(bad[i].stored),
						   bad[i].report, strlen(bad[i].report), &out, &len,
						   detail, sizeof(detail));
		if (rc != bad[i].rc || strstr(detail, bad[i].why) == NULL)
			fail_msg("case %zu: %s \"%s\"", i, ap_errname(rc), detail);
		assert_ptr_equal(out, (char *)0x1);
	}
	/* the entry bound */
	char *big = NULL;
	size_t blen = 0;
	put(&big, &blen, "[");
	for (int i = 0; i < AP_DDM_ARRAY_MAX; i++) {
		char e[48];
		snprintf(e, sizeof(e), "%s{\"identifier\":\"%d\"}", i ? "," : "", i);
		put(&big, &blen, e);
	}
	put(&big, &blen, "]");
	static const char one_more[] = "[{\"identifier\":\"new\"}]";
	assert_int_equal(ap_ddm_status_array_apply(big, blen, one_more, strlen(one_more), &out,
						   &len, detail, sizeof(detail)),
			 AP_ELIMIT);
	assert_non_null(strstr(detail, "more than 4096 entries"));
	static const char replace[] = "[{\"identifier\":\"7\",\"x\":1}]";
	assert_int_equal(
	    ap_ddm_status_array_apply(big, blen, replace, strlen(replace), &out, &len, NULL, 0), 0);
	assert_non_null(strstr(out, "{\"identifier\":\"7\",\"x\":1}"));
	free(out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_endpoint),
	    cmocka_unit_test(test_checkin_endpoints),
	    cmocka_unit_test(test_checkin_bad),
	    cmocka_unit_test(test_server_token),
	    cmocka_unit_test(test_declarations_token),
	    cmocka_unit_test(test_tokens_answer),
	    cmocka_unit_test(test_items_answer),
	    cmocka_unit_test(test_declaration_answer),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_status_full),
	    cmocka_unit_test(test_status_incremental),
	    cmocka_unit_test(test_status_unknown_items),
	    cmocka_unit_test(test_status_wrong_types),
	    cmocka_unit_test(test_status_malformed),
	    cmocka_unit_test(test_status_limits),
	    cmocka_unit_test(test_array_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
