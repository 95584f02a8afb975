/*
 * test_ddm.c - daemon/fleet/ddm.c without a loop: scope slugs and the
 * generated activations' identifiers, the activation and status
 * subscriptions payloads (through mdm-schema-check, each subscribed item
 * in Apple's status schema), Ardoise's refusals, and the generated
 * declarations kept in step with the assignments (an in-memory store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ap_ddm.h"
#include "ap_err.h"
#include "db_ddm.h"
#include "ddm.h"
#include "store.h"
#include "testutil.h"

#define CFG "com.apple.configuration.passcode.settings"

/* The 16 hex characters of the SHA-256 of s. */
static void hash16(const char *s, char out[17])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_slugs(void **state)
{
	char slug[DDM_SLUG_MAX + 1], id[65], h[17];
	ddm_scope_slug("fleet", slug);
	assert_string_equal(slug, "fleet");
	ddm_scope_slug("school:0131266F", slug);
	assert_string_equal(slug, "school-0131266f");
	ddm_scope_slug("group:0131266F/6e A", slug);
	assert_string_equal(slug, "group-0131266f-6e_a");
	ddm_scope_slug("group:0131266F/5\xc3\xa8me", slug); /* "5ème": é is two octets */
	assert_string_equal(slug, "group-0131266f-5__me");
	ddm_scope_slug("device:DMP.x_y-Z", slug);
	assert_string_equal(slug, "device-dmp.x_y-z");
	/* 64 octets: kept; 65: the hash */
	char s64[65], s65[66];
	memset(s64, 'a', 64);
	s64[64] = '\0';
	memset(s65, 'A', 65);
	s65[65] = '\0';
	ddm_scope_slug(s64, slug);
	assert_string_equal(slug, s64);
	ddm_scope_slug(s65, slug);
	hash16(s65, h);
	assert_string_equal(slug, h);
	/* the activation's identifier stays a valid one (64 octets at most) */
	ddm_scope_activation("school:0131266F", id);
	assert_string_equal(id, "ardoise.activation.school-0131266f");
	ddm_scope_activation(s64, id); /* a 64-octet slug has no room: the hash */
	hash16(s64, h);
	assert_string_equal(id + strlen(DDM_ACTIVATION_PREFIX), h);
	assert_true(ap_ddm_identifier_ok(id));
	char s45[46];
	memset(s45, 'b', 45);
	s45[45] = '\0';
	ddm_scope_activation(s45, id); /* 19 + 45 = 64: the slug itself */
	assert_string_equal(id + strlen(DDM_ACTIVATION_PREFIX), s45);
	assert_int_equal(strlen(id), 64);
}

/* The declaration built from a payload passes mdm-schema-check. */
static void declaration_valid(const char *type, const char *id, const char *payload)
{
	char token[AP_DDM_TOKEN_LEN + 1], *json = NULL;
	size_t len = 0;
	const char *args[] = {"--werror", "--kind", "declaration", NULL};
	assert_int_equal(ap_ddm_server_token(type, id, payload, strlen(payload), token, NULL, 0),
			 0);
	assert_int_equal(ap_ddm_declaration_build(type, id, token, payload, strlen(payload), &json,
						  &len, NULL, 0),
			 0);
	assert_int_equal(tu_schema_check1(id, json, len, args), 0);
	free(json);
}

static void test_payloads(void **state)
{
	const char *ids[] = {"a.first", "b.second"};
	char *p = ddm_activation_payload(ids, 2);
	assert_string_equal(p, "{\"StandardConfigurations\":[\"a.first\",\"b.second\"]}");
	declaration_valid("com.apple.activation.simple", "ardoise.activation.fleet", p);
	free(p);
	p = ddm_status_subscriptions_payload();
	declaration_valid("com.apple.configuration.management.status-subscriptions",
			  DDM_STATUS_SUBS_ID, p);
	/* every item of the contract, each one in Apple's status schema */
	const char *const *items;
	size_t n = ddm_status_items(&items);
	assert_int_equal(n, 10);
	json_t *o = json_loads(p, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(o, "StatusItems")), n);
	char tool[4096], path[4600];
	snprintf(tool, sizeof(tool), "%s", getenv("AP_SCHEMA_CHECK"));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path),
			 "%s/../spec/apple-device-management/declarative/status/%s.yaml",
			 dirname(tool), items[i]);
		snprintf(tool, sizeof(tool), "%s", getenv("AP_SCHEMA_CHECK"));
		if (access(path, R_OK) != 0)
			fail_msg("%s: not in Apple's status schema (%s)", items[i], path);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_array_get(json_object_get(o, "StatusItems"), i), "Name")),
		    items[i]);
	}
	json_decref(o);
	free(p);
}

static void test_refusals(void **state)
{
	char detail[200];
	const char *ok = "{\"MinimumLength\": 6, \"Nested\": [{\"Name\": \"x\"}]}";
	assert_int_equal(ddm_refused(CFG, ok, strlen(ok), detail, sizeof(detail)), 0);
	assert_int_equal(ddm_refused("com.apple.asset.credential.userpassword", ok, strlen(ok),
				     detail, sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, "credential"));
	const char *bad[] = {
	    "{\"Password\": \"x\"}",
	    "{\"a\": {\"userPASSWORDhash\": 1}}",
	    "{\"a\": [1, {\"b\": [{\"WiFiPassword\": \"x\"}]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ddm_refused(CFG, bad[i], strlen(bad[i]), detail, sizeof(detail)),
				 AP_EINVAL);
		assert_non_null(strstr(detail, "password"));
	}
	/* a value that says password is not a key */
	const char *value = "{\"Hint\": \"password\"}";
	assert_int_equal(ddm_refused(CFG, value, strlen(value), detail, sizeof(detail)), 0);
	assert_int_equal(ddm_refused(CFG, "{\"a\":", 5, detail, sizeof(detail)), AP_EPARSE);
	assert_int_equal(ddm_refused(CFG, "{\"a\":1,\"a\":2}", 13, detail, sizeof(detail)),
			 AP_EPARSE);
}

/* ---- the generated declarations, on a store ---------------------------------------- */

static struct db *db;

static int setup(void **state)
{
	return db_open(":memory:", &db) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	db_close(db);
	return 0;
}

static int put(const char *type, const char *id, const char *payload, const char *models,
	       int update)
{
	char detail[200];
	int changed = -1;
	int rc = ddm_declaration_put(db, type, id, payload, strlen(payload), models, "tech", update,
				     &changed, detail, sizeof(detail));
	if (rc < 0)
		return rc;
	return changed;
}

/* "identifier:models" of each declaration, and "identifier@scope" of each
 * assignment, in order. */
static int on_decl(const struct db_declaration *d, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s%s%s;", d->identifier, d->models[0] ? ":" : "", d->models);
	return 0;
}

static int on_assign(const struct db_ddm_assignment *a, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s@%s;", a->identifier, a->scope);
	return 0;
}

static const char *catalogue(char out[1024])
{
	out[0] = '\0';
	assert_int_equal(db_ddm_declaration_list(db, on_decl, out), 0);
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "|");
	assert_int_equal(db_ddm_assignment_list(db, NULL, NULL, on_assign, out), 0);
	return out;
}

static const char *payload_of(const char *id, char out[256])
{
	char *p = NULL;
	size_t len = 0;
	assert_int_equal(db_ddm_declaration_payload(db, id, &p, &len), 0);
	snprintf(out, 256, "%s", p);
	free(p);
	return out;
}

#define SCHOOL	   "school:0131266F"
#define SCHOOL_ACT "ardoise.activation.school-0131266f"

static void test_generated(void **state)
{
	char buf[1024], p[256];
	int created = -1;
	/* the status subscriptions: created once, assigned to the fleet, activated */
	assert_int_equal(ddm_status_subscriptions_ensure(db, "system", &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(ddm_status_subscriptions_ensure(db, "system", &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(catalogue(buf), "ardoise.activation.fleet;"
					    "ardoise.status-subscriptions;|"
					    "ardoise.activation.fleet@fleet;"
					    "ardoise.status-subscriptions@fleet;");

	/* two configurations on a collège: one activation listing both, sorted */
	assert_int_equal(put(CFG, "fr.b", "{\"MinimumLength\":6}", NULL, 0), 1);
	assert_int_equal(put(CFG, "fr.a", "{\"MinimumLength\":4}", NULL, 0), 1);
	assert_int_equal(db_ddm_assign(db, "fr.b", SCHOOL, "tech"), 0);
	assert_int_equal(ddm_scope_sync(db, SCHOOL, "tech"), 0);
	assert_string_equal(payload_of(SCHOOL_ACT, p), "{\"StandardConfigurations\":[\"fr.b\"]}");
	assert_int_equal(db_ddm_assign(db, "fr.a", SCHOOL, "tech"), 0);
	assert_int_equal(ddm_scope_sync(db, SCHOOL, "tech"), 0);
	assert_string_equal(payload_of(SCHOOL_ACT, p),
			    "{\"StandardConfigurations\":[\"fr.a\",\"fr.b\"]}");
	assert_int_equal(ddm_generated(db, SCHOOL_ACT), 1);
	assert_int_equal(ddm_generated(db, "fr.a"), 0);
	/* the same content again: nothing changed */
	assert_int_equal(put(CFG, "fr.a", "{ \"MinimumLength\" : 4 }", NULL, 1), 0);
	/* an asset is no configuration: not listed */
	assert_int_equal(put("com.apple.asset.data", "fr.asset",
			     "{\"Reference\":{\"DataURL\":\"https://x.example/a\"}}", NULL, 0),
			 1);
	assert_int_equal(db_ddm_assign(db, "fr.asset", SCHOOL, "tech"), 0);
	assert_int_equal(ddm_scope_sync(db, SCHOOL, "tech"), 0);
	assert_string_equal(payload_of(SCHOOL_ACT, p),
			    "{\"StandardConfigurations\":[\"fr.a\",\"fr.b\"]}");

	/* a filtered configuration (a plan): its own ".act", same filter, same scope */
	const char *models = "[\"iPad13,18\"]";
	assert_int_equal(put("com.apple.configuration.softwareupdate.enforcement.specific",
			     "ardoise.update.school-0131266f",
			     "{\"TargetOSVersion\":\"18.1\","
			     "\"TargetLocalDateTime\":\"2026-12-16T18:00:00\"}",
			     models, 0),
			 1);
	assert_int_equal(ddm_generated(db, "ardoise.update.school-0131266f.act"), 1);
	assert_int_equal(db_ddm_assign(db, "ardoise.update.school-0131266f", SCHOOL, "tech"), 0);
	assert_int_equal(ddm_scope_sync(db, SCHOOL, "tech"), 0);
	assert_string_equal(catalogue(buf), "ardoise.activation.fleet;"
					    "ardoise.activation.school-0131266f;"
					    "ardoise.update.school-0131266f.act:[\"iPad13,18\"];"
					    "fr.asset;"
					    "ardoise.status-subscriptions;"
					    "ardoise.update.school-0131266f:[\"iPad13,18\"];"
					    "fr.a;"
					    "fr.b;|"
					    "ardoise.activation.fleet@fleet;"
					    "ardoise.activation.school-0131266f@school:0131266F;"
					    "ardoise.status-subscriptions@fleet;"
					    "ardoise.update.school-0131266f@school:0131266F;"
					    "ardoise.update.school-0131266f.act@school:0131266F;"
					    "fr.a@school:0131266F;"
					    "fr.asset@school:0131266F;"
					    "fr.b@school:0131266F;");
	assert_string_equal(payload_of("ardoise.update.school-0131266f.act", p),
			    "{\"StandardConfigurations\":[\"ardoise.update.school-0131266f\"]}");
	/* the scope's activation does not list it */
	assert_string_equal(payload_of(SCHOOL_ACT, p),
			    "{\"StandardConfigurations\":[\"fr.a\",\"fr.b\"]}");
	/* a new filter goes to its activation too */
	assert_int_equal(put("com.apple.configuration.softwareupdate.enforcement.specific",
			     "ardoise.update.school-0131266f",
			     "{\"TargetOSVersion\":\"18.1\","
			     "\"TargetLocalDateTime\":\"2026-12-16T18:00:00\"}",
			     "[\"iPad13,18\",\"iPad8,1\"]", 1),
			 1);
	struct db_declaration d;
	assert_int_equal(db_ddm_declaration_get(db, NULL, "ardoise.update.school-0131266f.act", &d),
			 0);
	assert_string_equal(d.models, "[\"iPad13,18\",\"iPad8,1\"]");
	/* the plan removed: its activation goes with it */
	assert_int_equal(ddm_declaration_remove(db, "ardoise.update.school-0131266f", "tech"), 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "ardoise.update.school-0131266f.act", &d),
			 AP_ENOTFOUND);

	/* unassigned one by one: the list shrinks, then the activation goes */
	assert_int_equal(db_ddm_unassign(db, "fr.a", SCHOOL, "tech"), 0);
	assert_int_equal(ddm_scope_sync(db, SCHOOL, "tech"), 0);
	assert_string_equal(payload_of(SCHOOL_ACT, p), "{\"StandardConfigurations\":[\"fr.b\"]}");
	assert_int_equal(ddm_declaration_remove(db, "fr.b", "tech"), 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, SCHOOL_ACT, &d), AP_ENOTFOUND);
	assert_string_equal(catalogue(buf), "ardoise.activation.fleet;"
					    "fr.asset;"
					    "ardoise.status-subscriptions;"
					    "fr.a;|"
					    "ardoise.activation.fleet@fleet;"
					    "ardoise.status-subscriptions@fleet;"
					    "fr.asset@school:0131266F;");
}

static void test_put_refusals(void **state)
{
	char detail[200], id61[62];
	int changed = -1;
	const char *ok = "{\"MinimumLength\":4}";
	/* refused content: nothing stored */
	assert_int_equal(ddm_declaration_put(db, CFG, "fr.p", "{\"Password\":\"x\"}", 16, NULL,
					     "tech", 0, &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_int_equal(ddm_declaration_put(db, "com.apple.asset.credential.scep", "fr.c", "{}", 2,
					     NULL, "tech", 0, &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_int_equal(ddm_declaration_put(db, "com.example.x", "fr.x", ok, strlen(ok), NULL,
					     "tech", 0, &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_int_equal(ddm_declaration_put(db, CFG, "a/b", ok, strlen(ok), NULL, "tech", 0,
					     &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_int_equal(ddm_declaration_put(db, CFG, "fr.m", ok, strlen(ok), "{\"x\":1}", "tech",
					     0, &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	/* with a models filter, room for ".act" */
	memset(id61, 'i', 61);
	id61[61] = '\0';
	assert_int_equal(ddm_declaration_put(db, CFG, id61, ok, strlen(ok), "[\"iPad8,1\"]", "tech",
					     0, &changed, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_non_null(strstr(detail, ".act"));
	/* add twice, update of none */
	assert_int_equal(put(CFG, "fr.ok", ok, NULL, 0), 1);
	assert_int_equal(ddm_declaration_put(db, CFG, "fr.ok", ok, strlen(ok), NULL, "tech", 0,
					     &changed, detail, sizeof(detail)),
			 AP_EEXIST);
	assert_int_equal(ddm_declaration_put(db, CFG, "fr.none", ok, strlen(ok), NULL, "tech", 1,
					     &changed, detail, sizeof(detail)),
			 AP_ENOTFOUND);
	struct db_declaration d;
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.p", &d), AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.m", &d), AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ok", &d), 0);
	/* a refusal inside a caller's transaction fails the caller's (store.h) */
	assert_int_equal(db_tx_depth(db), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slugs),
	    cmocka_unit_test(test_payloads),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test_setup_teardown(test_generated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
