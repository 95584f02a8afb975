/* Unit tests for daemon/apple/gdmf.c: Apple's software update catalogue
 * parsed from a fixture in the shape of Apple's answer
 * (tests/apple/gdmf_fixture.json), the questions asked of it, and hostile
 * answers.  Days are Europe/Paris's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "gdmf.h"
#include "isodate.h"

static char *fixture;
static size_t fixture_len;

static int64_t at(const char *s)
{
	int64_t t = 0;
	assert_int_equal(isodate_parse_time(s, &t), 0);
	return t;
}

#define NOW at("2026-12-02T12:00:00")

static struct gdmf *load(void)
{
	struct gdmf *g = NULL;
	char err[300] = "";
	int rc = gdmf_parse(fixture, fixture_len, &g, err, sizeof(err));
	if (rc != 0)
		fail_msg("fixture refused: %s", err);
	return g;
}

/* The error of parsing text, its message into err. */
static int refuse(const char *text, char *err, size_t cap)
{
	struct gdmf *g = NULL;
	int rc = gdmf_parse(text, strlen(text), &g, err, cap);
	assert_null(g);
	return rc;
}

static void test_versions(void **state)
{
	struct gdmf_version a, b;
	(void)state;
	assert_int_equal(gdmf_version_parse("18.10", &a), 0);
	assert_int_equal(gdmf_version_parse("18.9", &b), 0);
	assert_true(gdmf_version_cmp(&a, &b) > 0);
	assert_true(gdmf_version_cmp(&b, &a) < 0);
	assert_int_equal(gdmf_version_parse("17.6", &a), 0);
	assert_int_equal(gdmf_version_parse("17.6.0", &b), 0);
	assert_int_equal(gdmf_version_cmp(&a, &b), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(gdmf_version_parse("17.6.1", &b), 0);
	assert_true(gdmf_version_cmp(&a, &b) < 0);
	assert_int_equal(gdmf_version_parse("9", &a), 0);
	assert_int_equal(gdmf_version_parse("10.0", &b), 0);
	assert_true(gdmf_version_cmp(&a, &b) < 0);
	assert_int_equal(gdmf_version_parse("1.2.3.4", &a), 0);
	assert_int_equal(gdmf_version_parse("999999.0", &a), 0);
	static const char *const bad[] = {"",	".",	     "1.",   ".1",	"1..2",
					  "-1", "1 ",	     " 1",   "1234567", "18.a",
					  "+1", "1.2.3.4.5", "18,1", "0x12",	"１８"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (gdmf_version_parse(bad[i], &a) != AP_EPARSE)
			fail_msg("'%s' taken as a version", bad[i]);
}

static void test_model_names(void **state)
{
	(void)state;
	assert_true(gdmf_model_cmp("iPad7,5", "iPad13,18") < 0);
	assert_true(gdmf_model_cmp("iPad13,18", "iPad13,2") > 0);
	assert_true(gdmf_model_cmp("iPad13,18", "iPad13,18") == 0);
	assert_true(gdmf_model_cmp("iPad13", "iPad13,1") < 0);
	assert_true(gdmf_model_cmp("iPad", "iPhone") < 0);
	assert_true(gdmf_model_ok("iPad13,18"));
	assert_true(gdmf_model_ok("VMM-x86_64"));
	assert_false(gdmf_model_ok(""));
	assert_false(gdmf_model_ok("iPad 13,18"));
	assert_false(gdmf_model_ok("iPad13,18\n"));
	char long_name[GDMF_MODEL_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(gdmf_model_ok(long_name));
	long_name[GDMF_MODEL_MAX] = '\0';
	assert_true(gdmf_model_ok(long_name));
}

static void test_fixture_parsed(void **state)
{
	struct gdmf *g = load();
	size_t per_set[GDMF__SETS] = {0};
	int vision = 0;
	(void)state;
	assert_int_equal(gdmf_count(g), 13);
	for (size_t i = 0; i < gdmf_count(g); i++) {
		const struct gdmf_release *r = gdmf_release_at(g, i);
		per_set[r->set]++;
		if (strcmp(r->platform, "visionOS") == 0)
			vision++;
		assert_string_not_equal(r->platform, "xrOS"); /* the older name, renamed */
	}
	assert_int_equal(per_set[GDMF_PUBLIC], 9);
	assert_int_equal(per_set[GDMF_MDM], 3);
	assert_int_equal(per_set[GDMF_BSI], 1);
	assert_int_equal(vision, 2);
	const struct gdmf_release *r = gdmf_release_at(g, 2);
	assert_string_equal(r->version, "26.0.1");
	assert_string_equal(r->build, "23A355");
	assert_int_equal(r->posted, at("2026-09-29T00:00:00"));
	assert_int_equal(r->expires, at("2026-11-30T00:00:00"));
	assert_int_equal(r->n_devices, 3);
	assert_int_equal(gdmf_release_at(g, 0)->expires, 0);
	assert_null(gdmf_release_at(g, 13));
	gdmf_free(g);
}

static void test_offered_to_a_model(void **state)
{
	struct gdmf *g = load();
	const struct gdmf_release *out[8];
	(void)state;
	/* 26.0.1 expired on 30 November: dropped */
	size_t n = gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0]->version, "26.1");
	assert_string_equal(out[1]->version, "18.7.2");
	assert_string_equal(out[2]->version, "18.6.2");
	/* a fortnight earlier it was offered */
	n = gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", at("2026-11-15T12:00:00"), out, 8);
	assert_int_equal(n, 4);
	assert_string_equal(out[1]->version, "26.0.1");
	/* expired from the first second of its ExpirationDate */
	assert_int_equal(
	    gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", at("2026-11-29T23:59:59"), out, 8), 4);
	assert_int_equal(
	    gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", at("2026-11-30T00:00:00"), out, 8), 3);
	/* cap smaller than the count: the highest kept, the count whole */
	n = gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, out, 1);
	assert_int_equal(n, 3);
	assert_string_equal(out[0]->version, "26.1");
	assert_int_equal(gdmf_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, NULL, 0), 3);
	/* unknown model, and an iPhone-only release */
	assert_int_equal(gdmf_offered(g, GDMF_PUBLIC, "iPad99,1", NOW, out, 8), 0);
	assert_int_equal(gdmf_offered(g, GDMF_PUBLIC, "iPhone10,3", NOW, out, 8), 1);
	assert_string_equal(out[0]->version, "16.7.12");
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "16.7.12"), 0);
	/* a prefix of a model is not the model */
	assert_int_equal(gdmf_offered(g, GDMF_PUBLIC, "iPad13,1", NOW, out, 8), 0);
	gdmf_free(g);
}

static void test_same_version_two_builds(void **state)
{
	struct gdmf *g = load();
	const struct gdmf_release *out[8];
	(void)state;
	size_t n = gdmf_offered(g, GDMF_PUBLIC, "iPad16,3", NOW, out, 8);
	assert_int_equal(n, 2);
	assert_string_equal(out[0]->build, "23B86"); /* the later posting first */
	assert_string_equal(out[1]->build, "23B85");
	assert_string_equal(gdmf_latest(g, GDMF_PUBLIC, "iPad16,3", NOW, 0)->build, "23B86");
	assert_string_equal(gdmf_latest(g, GDMF_PUBLIC, "iPad16,4", NOW, 0)->build, "23B86");
	assert_string_equal(gdmf_latest(g, GDMF_PUBLIC, "iPad13,19", NOW, 0)->build, "23B85");
	gdmf_free(g);
}

static void test_latest(void **state)
{
	struct gdmf *g = load();
	(void)state;
	const struct gdmf_release *r = gdmf_latest(g, GDMF_PUBLIC, "iPad13,18", NOW, 0);
	assert_non_null(r);
	assert_string_equal(r->version, "26.1");
	assert_string_equal(r->build, "23B85");
	r = gdmf_latest(g, GDMF_PUBLIC, "iPad13,18", NOW, 18); /* one major behind */
	assert_string_equal(r->version, "18.7.2");
	assert_null(gdmf_latest(g, GDMF_PUBLIC, "iPad13,18", NOW, 17));
	assert_null(gdmf_latest(g, GDMF_PUBLIC, "iPad13,18", NOW, 1));
	r = gdmf_latest(g, GDMF_PUBLIC, "iPad7,5", NOW, 0); /* an older train for old models */
	assert_string_equal(r->version, "17.7.10");
	assert_null(gdmf_latest(g, GDMF_PUBLIC, "iPad7,5", NOW, 26));
	/* after 17.7.10's expiry nothing is left for that model */
	assert_null(gdmf_latest(g, GDMF_PUBLIC, "iPad7,5", at("2027-01-28T08:00:00"), 0));
	assert_null(gdmf_latest(g, GDMF_PUBLIC, "iPad99,1", NOW, 0));
	/* the other sets */
	assert_string_equal(gdmf_latest(g, GDMF_MDM, "iPad7,11", NOW, 0)->version, "18.7.2");
	assert_null(gdmf_latest(g, GDMF_MDM, "iPad16,4", NOW, 0));
	assert_string_equal(gdmf_latest(g, GDMF_BSI, "iPad13,18", NOW, 0)->build, "23B85a");
	assert_string_equal(gdmf_latest(g, GDMF_MDM, "RealityDevice14,1", NOW, 0)->platform,
			    "visionOS");
	assert_string_equal(gdmf_latest(g, GDMF_PUBLIC, "Mac16,1", NOW, 0)->platform, "macOS");
	gdmf_free(g);
}

static void test_is_offered(void **state)
{
	struct gdmf *g = load();
	(void)state;
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "18.7.2"), 1);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "18.7.2.0"), 1);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "26.1.0"), 1);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "18.7"), 0);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "26.0.1"), 0);
	assert_int_equal(
	    gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", at("2026-10-01T10:00:00"), "26.0.1"), 1);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad7,5", NOW, "26.1"), 0);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad16,4", NOW, "26.1"), 1);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "26"), 0);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, "latest"), AP_EPARSE);
	assert_int_equal(gdmf_is_offered(g, GDMF_PUBLIC, "iPad13,18", NOW, ""), AP_EPARSE);
	gdmf_free(g);
}

static void test_models(void **state)
{
	struct gdmf *g = load();
	const char **names = NULL;
	size_t n = 0;
	(void)state;
	static const char *const want[] = {"iPad7,5",  "iPad7,6",   "iPad7,11",
					   "iPad7,12", "iPad13,18", "iPad13,19",
					   "iPad14,1", "iPad16,3",  "iPad16,4"};
	assert_int_equal(gdmf_models(g, GDMF_PUBLIC, "iPad", &names, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
	free(names);
	assert_int_equal(gdmf_models(g, GDMF_PUBLIC, "", &names, &n), 0);
	assert_int_equal(n, 9 + 5 + 2 + 2 + 1); /* iPads, iPhones, TV and Watch, Macs, Vision */
	free(names);
	assert_int_equal(gdmf_models(g, GDMF_PUBLIC, "Nothing", &names, &n), 0);
	assert_int_equal(n, 0);
	free(names);
	gdmf_free(g);
}

/* Older names, unknown keys and platforms, nulls where optional. */
static void test_tolerant(void **state)
{
	char err[300];
	struct gdmf *g = NULL;
	(void)state;
	const char *old = "{\"PublicRapidSecurityResponses\": {\"iOS\": [{\"ProductVersion\": "
			  "\"16.5.1\", \"Build\": \"20F75c\", \"PostingDate\": \"2023-07-10\", "
			  "\"ExpirationDate\": null, \"Extra\": {\"x\": [1]}, "
			  "\"SupportedDevices\": []}]},"
			  "\"PublicAssetSets\": {\"tvOS\": [], \"FutureOS\": [{\"anything\": 1, "
			  "\"ProductVersion\": \"1.0\", \"Build\": \"1A1\", \"PostingDate\": "
			  "\"2030-01-01\", \"SupportedDevices\": [\"Future1,1\"]}]}, \"Other\": 1}";
	assert_int_equal(gdmf_parse(old, strlen(old), &g, err, sizeof(err)), 0);
	assert_int_equal(gdmf_count(g), 2);
	const struct gdmf_release *r = gdmf_release_at(g, 0);
	assert_int_equal(r->set, GDMF_PUBLIC);
	assert_string_equal(r->platform, "FutureOS");
	r = gdmf_release_at(g, 1);
	assert_int_equal(r->set, GDMF_BSI);
	assert_int_equal(r->expires, 0);
	assert_int_equal(r->n_devices, 0);
	gdmf_free(g);
	/* nothing in the sets: a catalogue with no release */
	assert_int_equal(gdmf_parse("{\"AssetSets\": {}}", 17, &g, err, sizeof(err)), 0);
	assert_int_equal(gdmf_count(g), 0);
	assert_null(gdmf_latest(g, GDMF_MDM, "iPad13,18", NOW, 0));
	gdmf_free(g);
}

/* The release JSON with one member replaced (NULL: left out). */
static char *with(const char *key, const char *value)
{
	static const char *const keys[] = {"ProductVersion", "Build", "PostingDate",
					   "ExpirationDate", "SupportedDevices"};
	static const char *const vals[] = {"\"18.2\"", "\"22C152\"", "\"2024-12-11\"",
					   "\"2025-06-09\"", "[\"iPad13,18\", \"iPad7,5\"]"};
	char *out = malloc(2048);
	size_t o = (size_t)snprintf(out, 2048, "{\"PublicAssetSets\": {\"iOS\": [{}, {");
	int first = 1;
	for (size_t i = 0; i < 5; i++) {
		const char *v = strcmp(keys[i], key) == 0 ? value : vals[i];
		if (v == NULL)
			continue;
		o += (size_t)snprintf(out + o, 2048 - o, "%s\"%s\": %s", first ? "" : ", ", keys[i],
				      v);
		first = 0;
	}
	snprintf(out + o, 2048 - o, "}]}}");
	return out;
}

/* The second release is the one tested: the first ({}) is removed here so
 * that paths say [0]. */
static void expect_refused(const char *key, const char *value, int want, const char *path_why)
{
	char err[300] = "";
	char *text = with(key, value);
	char *empty = strstr(text, "{}, ");
	memmove(empty, empty + 4, strlen(empty + 4) + 1);
	int rc = refuse(text, err, sizeof(err));
	if (rc != want || strstr(err, path_why) == NULL)
		fail_msg("%s = %s: expected %s '%s', got %s '%s'", key, value ? value : "(absent)",
			 ap_errname(want), path_why, ap_errname(rc), err);
	free(text);
}

static void test_strict_types(void **state)
{
	(void)state;
	expect_refused("ProductVersion", "18.2", AP_ETYPE,
		       "PublicAssetSets.iOS[0].ProductVersion: not a string");
	expect_refused("ProductVersion", NULL, AP_EMISSING,
		       "PublicAssetSets.iOS[0].ProductVersion: missing");
	expect_refused("ProductVersion", "null", AP_ETYPE, "ProductVersion: not a string");
	expect_refused("ProductVersion", "\"18.x\"", AP_EPARSE, "ProductVersion: not a version");
	expect_refused("ProductVersion", "\"\"", AP_EPARSE, "ProductVersion: not a version");
	expect_refused("ProductVersion",
		       "\"18.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1\"",
		       AP_ETOOBIG, "ProductVersion: too long");
	expect_refused("Build", "[]", AP_ETYPE, "PublicAssetSets.iOS[0].Build: not a string");
	expect_refused("Build", NULL, AP_EMISSING, "Build: missing");
	expect_refused("Build", "\"22C 152\"", AP_EPARSE, "Build: not a build");
	expect_refused("Build", "\"\"", AP_EPARSE, "Build: not a build");
	expect_refused("PostingDate", NULL, AP_EMISSING, "PostingDate: missing");
	expect_refused("PostingDate", "20241211", AP_ETYPE, "PostingDate: not a string");
	expect_refused("PostingDate", "\"2024-13-01\"", AP_EPARSE, "PostingDate: not a day");
	expect_refused("PostingDate", "\"11/12/2024\"", AP_EPARSE, "PostingDate: not a day");
	expect_refused("PostingDate", "\"2024-12-11T10:00:00Z\"", AP_ETOOBIG,
		       "PostingDate: too long");
	expect_refused("ExpirationDate", "true", AP_ETYPE, "ExpirationDate: not a string");
	expect_refused("ExpirationDate", "\"2025-02-30\"", AP_EPARSE, "ExpirationDate: not a day");
	expect_refused("SupportedDevices", NULL, AP_EMISSING, "SupportedDevices: missing");
	expect_refused("SupportedDevices", "\"iPad13,18\"", AP_ETYPE,
		       "PublicAssetSets.iOS[0].SupportedDevices: not an array");
	expect_refused("SupportedDevices", "[\"iPad13,18\", 5]", AP_ETYPE,
		       "PublicAssetSets.iOS[0].SupportedDevices[1]: not a string");
	expect_refused("SupportedDevices", "[\"iPad 13,18\"]", AP_EPARSE,
		       "SupportedDevices[0]: not a product type");
	expect_refused("SupportedDevices", "[\"\"]", AP_EPARSE,
		       "SupportedDevices[0]: not a product type");
}

static void test_hostile_shapes(void **state)
{
	char err[300];
	(void)state;
	assert_int_equal(refuse("", err, sizeof(err)), AP_EPARSE);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(refuse("[]", err, sizeof(err)), AP_ETYPE);
	/* a bare value: not a JSON text for jansson */
	assert_int_equal(refuse("\"PublicAssetSets\"", err, sizeof(err)), AP_EPARSE);
	assert_int_equal(refuse("{}", err, sizeof(err)), AP_EMISSING);
	assert_int_equal(refuse("{\"Foo\": {}}", err, sizeof(err)), AP_EMISSING);
	assert_int_equal(refuse("{\"PublicAssetSets\": []}", err, sizeof(err)), AP_ETYPE);
	assert_string_equal(err, "PublicAssetSets: not an object");
	assert_int_equal(refuse("{\"AssetSets\": {\"iOS\": {}}}", err, sizeof(err)), AP_ETYPE);
	assert_string_equal(err, "AssetSets.iOS: not an array");
	assert_int_equal(refuse("{\"AssetSets\": {\"iOS\": [7]}}", err, sizeof(err)), AP_ETYPE);
	assert_string_equal(err, "AssetSets.iOS[0]: not an object");
	assert_int_equal(
	    refuse("{\"PublicAssetSets\": {}, \"PublicAssetSets\": {}}", err, sizeof(err)),
	    AP_EPARSE);
	/* NUL inside a string, invalid UTF-8 */
	assert_int_equal(refuse("{\"PublicAssetSets\": {\"iOS\\u0000\": []}}", err, sizeof(err)),
			 AP_EPARSE);
	assert_int_equal(refuse("{\"PublicAssetSets\": {\"i\xff\": []}}", err, sizeof(err)),
			 AP_EPARSE);
	/* deep nesting under an unknown key: jansson's depth limit, no crash */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 64);
	size_t o = (size_t)snprintf(deep, 64, "{\"AssetSets\": {}, \"x\": ");
	memset(deep + o, '[', depth);
	memset(deep + o + depth, ']', depth);
	memcpy(deep + o + 2 * depth, "}", 2);
	assert_int_equal(refuse(deep, err, sizeof(err)), AP_EPARSE);
	free(deep);
}

static void test_truncated(void **state)
{
	char err[300];
	struct gdmf *g = NULL;
	(void)state;
	/* every cut of the fixture is refused (a cut at a value's end is still
	 * unfinished JSON) and leaks nothing (ASan) */
	for (size_t cut = 0; cut < fixture_len - 2; cut += 7) {
		g = NULL;
		int rc = gdmf_parse(fixture, cut, &g, err, sizeof(err));
		if (rc != AP_EPARSE)
			fail_msg("fixture cut at %zu: %s", cut, ap_errname(rc));
		assert_null(g);
	}
}

static void test_size_cap(void **state)
{
	char err[300];
	struct gdmf *g = NULL;
	(void)state;
	size_t big = GDMF_MAX_BYTES + 1;
	char *text = malloc(big);
	memset(text, ' ', big);
	text[0] = '{';
	text[big - 1] = '}';
	assert_int_equal(gdmf_parse(text, big, &g, err, sizeof(err)), AP_ETOOBIG);
	assert_null(g);
	assert_non_null(strstr(err, "larger than"));
	/* too many devices in one release */
	size_t n = GDMF_MAX_DEVICES + 1, o = 0;
	char *many = malloc(n * 16 + 256);
	o += (size_t)snprintf(many, 256,
			      "{\"AssetSets\": {\"iOS\": [{\"ProductVersion\": \"1.0\", "
			      "\"Build\": \"1A\", \"PostingDate\": \"2026-01-01\", "
			      "\"SupportedDevices\": [");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(many + o, 16, "%s\"iPad%zu,1\"", i ? "," : "", i);
	memcpy(many + o, "]}]}}", 6);
	assert_int_equal(gdmf_parse(many, strlen(many), &g, err, sizeof(err)), AP_ETOOBIG);
	assert_non_null(strstr(err, "AssetSets.iOS[0].SupportedDevices: too many devices"));
	free(many);
	free(text);
}

static int setup(void **state)
{
	(void)state;
	FILE *f = fopen(GDMF_FIXTURE, "rb");
	if (f == NULL)
		return -1;
	fixture = malloc(1 << 20);
	fixture_len = fread(fixture, 1, 1 << 20, f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(fixture);
	return 0;
}

int main(void)
{
	isodate_set_zone("Europe/Paris");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_model_names),
	    cmocka_unit_test(test_fixture_parsed),
	    cmocka_unit_test(test_offered_to_a_model),
	    cmocka_unit_test(test_same_version_two_builds),
	    cmocka_unit_test(test_latest),
	    cmocka_unit_test(test_is_offered),
	    cmocka_unit_test(test_models),
	    cmocka_unit_test(test_tolerant),
	    cmocka_unit_test(test_strict_types),
	    cmocka_unit_test(test_hostile_shapes),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_size_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
