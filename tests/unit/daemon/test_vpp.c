/* Unit tests for daemon/apple/vpp.c: Apple's Apps and Books API v2 codec.
 * Every answer kind in the shape of Apple's documentation, then hostile
 * ones (wrong types, truncated, huge, missing members, unknown error
 * numbers); the InstallApplication it builds passes Apple's schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"
#include "ap_err.h"
#include "isodate.h"
#include "testutil.h"
#include "vpp.h"

static int64_t at(const char *s)
{
	int64_t t = 0;
	assert_int_equal(isodate_parse_time(s, &t), 0);
	return t;
}

static char err[512];

/* base64 of text (static buffer). */
static const char *b64(const char *text)
{
	static unsigned char out[4096];
	EVP_EncodeBlock(out, (const unsigned char *)text, (int)strlen(text));
	return (const char *)out;
}

static int token(const char *s, struct vpp_token *t)
{
	err[0] = '\0';
	int rc = vpp_token_parse(s, strlen(s), t, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	return rc;
}

static void test_token(void **state)
{
	(void)state;
	struct vpp_token t;
	const char *good = "{\"token\":\"VGhpcyBpcyBhIHNhbXBsZSB0ZXh0\",\"expDate\":"
			   "\"2030-11-08T22:33:22+0000\",\"orgName\":\"Collège Jean Moulin\"}";
	assert_int_equal(token(b64(good), &t), 0);
	assert_string_equal(t.org, "Collège Jean Moulin");
	assert_int_equal(t.expires, at("2030-11-08T22:33:22Z"));
	assert_int_equal(vpp_token_days_left(&t, at("2030-11-01T22:33:22Z")), 7);
	assert_int_equal(vpp_token_days_left(&t, at("2030-11-08T22:33:23Z")), -1);
	/* as a file: a final newline, line breaks */
	char with_nl[4200];
	snprintf(with_nl, sizeof(with_nl), "  %.40s\n%s\r\n", b64(good), b64(good) + 40);
	assert_int_equal(token(with_nl, &t), 0);
	assert_int_equal(t.expires, at("2030-11-08T22:33:22Z"));

	static const struct {
		const char *text; /* base64'd unless raw */
		int raw, rc;
		const char *why;
	} bad[] = {
	    {"", 1, AP_EPARSE, "not base64"},
	    {"not base64!", 1, AP_EPARSE, "not base64"},
	    {"QUJD=QUJD", 1, AP_EPARSE, "not base64"},
	    {"QUJDRA", 1, AP_EPARSE, "not base64"},
	    {"plain text", 0, AP_EPARSE, "not a content token"},
	    {"[1,2]", 0, AP_EPARSE, "not a content token"},
	    {"{\"expDate\":\"2030-11-08T22:33:22+0000\",\"orgName\":\"X\"}", 0, AP_EMISSING,
	     "sToken.token"},
	    {"{\"token\":\"\",\"expDate\":\"2030-11-08T22:33:22+0000\",\"orgName\":\"X\"}", 0,
	     AP_EMISSING, "sToken.token"},
	    {"{\"token\":7,\"expDate\":\"2030-11-08T22:33:22+0000\",\"orgName\":\"X\"}", 0,
	     AP_ETYPE, "sToken.token"},
	    {"{\"token\":\"a\",\"orgName\":\"X\"}", 0, AP_EMISSING, "expDate"},
	    {"{\"token\":\"a\",\"expDate\":\"demain\",\"orgName\":\"X\"}", 0, AP_EPARSE, "expDate"},
	    {"{\"token\":\"a\",\"expDate\":\"2030-11-08\",\"orgName\":\"X\"}", 0, AP_EPARSE,
	     "expDate"},
	    {"{\"token\":\"a\",\"expDate\":20301108,\"orgName\":\"X\"}", 0, AP_ETYPE, "expDate"},
	    {"{\"token\":\"a\",\"expDate\":\"2030-11-08T22:33:22+0000\"}", 0, AP_EMISSING,
	     "orgName"},
	    {"{\"token\":\"a\",\"expDate\":\"2030-11-08T22:33:22+0000\",\"orgName\":[]}", 0,
	     AP_ETYPE, "orgName"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = token(bad[i].raw ? bad[i].text : b64(bad[i].text), &t);
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("token %zu: %d %s", i, rc, err);
	}
	/* huge */
	char *big = malloc(VPP_TOKEN_MAX + 8);
	memset(big, 'A', VPP_TOKEN_MAX + 4);
	assert_int_equal(vpp_token_parse(big, VPP_TOKEN_MAX + 4, &t, err, sizeof(err)), AP_ETOOBIG);
	free(big);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		int http;
		const char *retry, *body;
		int rc, number;
		enum vpp_action action;
		int64_t retry_after;
	} cases[] = {
	    {200, NULL, "{\"eventId\":\"e\"}", 0, 0, VPP_OK, 0},
	    {200, NULL, "", 0, 0, VPP_OK, 0},
	    /* a 200 with an ErrorResponse (seen by Fleet for a bad token) */
	    {200, NULL, "{\"errorNumber\":9621,\"errorMessage\":\"Expired token\"}", AP_EAUTH, 9621,
	     VPP_NEW_TOKEN, 0},
	    {401, NULL, "{\"errorNumber\":9625,\"errorMessage\":\"Revoked\"}", AP_EAUTH, 9625,
	     VPP_NEW_TOKEN, 0},
	    {401, NULL, "{\"errorNumber\":9601}", AP_EAUTH, 9601, VPP_FIX, 0},
	    {500, "30", "{\"errorNumber\":9603,\"errorMessage\":\"Internal\"}", AP_EBUSY, 9603,
	     VPP_RETRY, 30},
	    {429, " 5 ", "{\"errorNumber\":9646}", AP_ELIMIT, 9646, VPP_BACKOFF, 5},
	    {410, NULL, "{\"errorNumber\":9634}", AP_EUNSUPPORTED, 9634, VPP_STOP, 0},
	    {400, NULL, "{\"errorNumber\":9702}", AP_ETOOBIG, 9702, VPP_SPLIT, 0},
	    {400, NULL, "{\"errorNumber\":9700}", AP_ETOOBIG, 9700, VPP_SPLIT, 0},
	    {400, NULL, "{\"errorNumber\":9708}", AP_ENOTFOUND, 9708, VPP_FIX, 0},
	    {400, NULL, "{\"errorNumber\":9704}", AP_EINVAL, 9704, VPP_FIX, 0},
	    {400, NULL, "{\"errorNumber\":9719}", AP_EMISSING, 9719, VPP_FIX, 0},
	    {400, NULL, "{\"errorNumber\":9724}", AP_EINVAL, 9724, VPP_FIX, 0},
	    {200, NULL, "{\"errorNumber\":9709}", AP_ELIMIT, 9709, VPP_BUY, 0},
	    {200, NULL, "{\"errorNumber\":9616}", 0, 9616, VPP_OK, 0},
	    /* unknown numbers go by the status */
	    {400, NULL, "{\"errorNumber\":9999}", AP_EINVAL, 9999, VPP_FIX, 0},
	    {401, NULL, "{\"errorNumber\":9998}", AP_EAUTH, 9998, VPP_FIX, 0},
	    {429, "60", "{\"errorNumber\":9997}", AP_ELIMIT, 9997, VPP_BACKOFF, 60},
	    {503, "999999999999", "{\"errorNumber\":9996}", AP_EBUSY, 9996, VPP_RETRY,
	     VPP_RETRY_MAX_S},
	    {200, NULL, "{\"errorNumber\":9995}", AP_EINTERNAL, 9995, VPP_RETRY, 0},
	    /* hostile: a number of the wrong type, a body that is not JSON */
	    {200, NULL, "{\"errorNumber\":\"9621\"}", AP_EINTERNAL, 0, VPP_RETRY, 0},
	    {400, NULL, "{\"errorNumber\":-3}", AP_EINVAL, 0, VPP_FIX, 0},
	    {502, "Wed, 21 Oct 2026 07:28:00 GMT", "<html>Bad gateway</html>", AP_EBUSY, 0,
	     VPP_RETRY, 0},
	    {503, "-5", NULL, AP_EBUSY, 0, VPP_RETRY, 0},
	    {404, NULL, "[1]", AP_EINVAL, 0, VPP_FIX, 0},
	    {301, NULL, "", AP_EINTERNAL, 0, VPP_RETRY, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vpp_error e;
		const char *b = cases[i].body;
		int rc = vpp_answer_check(cases[i].http, cases[i].retry, b, b ? strlen(b) : 0, &e);
		if (rc != cases[i].rc || e.number != cases[i].number ||
		    e.action != cases[i].action || e.retry_after != cases[i].retry_after)
			fail_msg("case %zu: rc %d number %d action %d retry %lld", i, rc, e.number,
				 (int)e.action, (long long)e.retry_after);
		if (rc < 0)
			assert_non_null(e.reason);
	}
	struct vpp_error e;
	const char *expired = "{\"errorNumber\":9621,\"errorMessage\":\"Expired\"}";
	assert_int_equal(vpp_answer_check(200, NULL, expired, strlen(expired), &e), AP_EAUTH);
	assert_string_equal(e.message, "Expired");
	assert_non_null(strstr(e.reason, "jeton de contenu expiré"));
	vpp_error_of(9709, 200, &e);
	assert_non_null(strstr(e.reason, "pas assez de licences"));
}

static void test_batches(void **state)
{
	(void)state;
	struct vpp_batch b[8];
	assert_int_equal(vpp_batches(0, 1000, b, 8), 0);
	assert_int_equal(vpp_batches(1, 1000, b, 8), 1);
	assert_int_equal(b[0].first, 0);
	assert_int_equal(b[0].count, 1);
	assert_int_equal(vpp_batches(1000, 1000, b, 8), 1);
	assert_int_equal(vpp_batches(2500, 1000, b, 8), 3);
	assert_int_equal(b[1].first, 1000);
	assert_int_equal(b[1].count, 1000);
	assert_int_equal(b[2].first, 2000);
	assert_int_equal(b[2].count, 500);
	assert_int_equal(vpp_batches(100000, 100, b, 8), 1000); /* more than cap: counted */
	assert_int_equal(b[7].first, 700);
	assert_int_equal(vpp_batches(3, 0, b, 8), 3); /* max 0 is 1 */
}

static void test_bodies(void **state)
{
	(void)state;
	const char *adam[] = {"361309726", "408709785"}, *pricing[] = {"STDQ", NULL};
	const char *serials[] = {"DMPX1234ABCD", "F9FZ0000Q1GC", "GG7ABCDEF012"};
	char *body = NULL;
	assert_int_equal(
	    vpp_body_assets(adam, pricing, 2, serials, 3, 25, 1000, &body, err, sizeof(err)), 0);
	assert_string_equal(body, "{\"assets\":[{\"adamId\":\"361309726\",\"pricingParam\":"
				  "\"STDQ\"},{\"adamId\":\"408709785\"}],\"serialNumbers\":["
				  "\"DMPX1234ABCD\",\"F9FZ0000Q1GC\",\"GG7ABCDEF012\"]}");
	free(body);
	assert_int_equal(vpp_body_assets(adam, NULL, 1, serials, 3, 25, 2, &body, err, sizeof(err)),
			 AP_ETOOBIG);
	assert_non_null(strstr(err, "split"));
	assert_int_equal(vpp_body_assets(adam, NULL, 2, serials, 1, 1, 10, &body, err, sizeof(err)),
			 AP_ETOOBIG);
	assert_int_equal(vpp_body_assets(adam, NULL, 0, serials, 1, 1, 10, &body, err, sizeof(err)),
			 AP_EINVAL);
	assert_int_equal(vpp_body_assets(adam, NULL, 1, serials, 0, 1, 10, &body, err, sizeof(err)),
			 AP_EINVAL);
	const char *bad_adam[] = {"36130972a"}, *zero[] = {"0123"},
		   *huge[] = {"99999999999999999999"};
	const char *bad_serial[] = {"DMPX\"1234"}, *bad_pricing[] = {"stdq"};
	assert_int_equal(
	    vpp_body_assets(bad_adam, NULL, 1, serials, 1, 25, 10, &body, err, sizeof(err)),
	    AP_EINVAL);
	assert_int_equal(
	    vpp_body_assets(zero, NULL, 1, serials, 1, 25, 10, &body, err, sizeof(err)), AP_EINVAL);
	assert_int_equal(
	    vpp_body_assets(huge, NULL, 1, serials, 1, 25, 10, &body, err, sizeof(err)), AP_EINVAL);
	assert_int_equal(
	    vpp_body_assets(adam, bad_pricing, 1, serials, 1, 25, 10, &body, err, sizeof(err)),
	    AP_EINVAL);
	assert_int_equal(
	    vpp_body_assets(adam, NULL, 1, bad_serial, 1, 25, 10, &body, err, sizeof(err)),
	    AP_EINVAL);
	assert_int_equal(vpp_body_revoke(serials, 2, 100, &body, err, sizeof(err)), 0);
	assert_string_equal(body, "{\"serialNumbers\":[\"DMPX1234ABCD\",\"F9FZ0000Q1GC\"]}");
	free(body);
	assert_int_equal(vpp_body_revoke(serials, 3, 2, &body, err, sizeof(err)), AP_ETOOBIG);
	assert_true(vpp_adam_id_ok("9223372036854775807"));
	assert_false(vpp_adam_id_ok("9223372036854775808"));
	assert_false(vpp_serial_ok(""));
	assert_false(vpp_serial_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"));
}

static const char service_config[] =
    "{\"urls\":{\"clientConfig\":\"https://vpp.itunes.apple.com/mdm/v2/client/config\","
    "\"getAssets\":\"https://vpp.itunes.apple.com/mdm/v2/assets\","
    "\"status\":\"https://vpp.itunes.apple.com/mdm/v2/status\","
    "\"contentMetadataLookup\":\"https://uclient-api.itunes.apple.com/WebObjects/"
    "MZStorePlatform.woa/wa/lookup\"},"
    "\"limits\":{\"maxAssets\":25,\"maxSerialNumbers\":1000,\"maxRevokeSerialNumbers\":100,"
    "\"maxClientUserIds\":1000,\"maxUsers\":100,\"maxNotificationLength\":512,"
    "\"maxMdmIdLength\":100},"
    "\"errorCodes\":[{\"errorNumber\":9601,\"errorMessage\":\"Login required\"}],"
    "\"notificationTypes\":[\"ASSET_MANAGEMENT\",\"ASSET_COUNT\"]}";

static void test_service_config(void **state)
{
	(void)state;
	struct vpp_service_config c;
	assert_int_equal(
	    vpp_service_config_parse(service_config, strlen(service_config), &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.limits.max_assets, 25);
	assert_int_equal(c.limits.max_serials, 1000);
	assert_int_equal(c.limits.max_revoke_serials, 100);
	assert_int_equal(c.n_urls, 4);
	assert_string_equal(vpp_service_url(&c, "status"),
			    "https://vpp.itunes.apple.com/mdm/v2/status");
	assert_null(vpp_service_url(&c, "nothing"));
	vpp_service_config_free(&c);

	const char *own = "{\"urls\":{},\"limits\":{\"maxSerialNumbers\":500,\"maxAssets\":"
			  "99999999999}}";
	assert_int_equal(vpp_service_config_parse(own, strlen(own), &c, err, sizeof(err)), 0);
	assert_int_equal(c.limits.max_serials, 500);
	assert_int_equal(c.limits.max_assets, VPP_LIMIT_CAP);
	assert_int_equal(c.limits.max_revoke_serials, VPP_DEFAULT_MAX_REVOKE_SERIALS);
	vpp_service_config_free(&c);

	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {"{}", AP_EMISSING, "urls: missing"},
	    {"{\"urls\":[]}", AP_ETYPE, "urls: not an object"},
	    {"{\"urls\":{\"a\":1}}", AP_ETYPE, "not a string"},
	    {"{\"urls\":{},\"limits\":[]}", AP_ETYPE, "limits"},
	    {"{\"urls\":{},\"limits\":{\"maxSerialNumbers\":\"1000\"}}", AP_ETYPE,
	     "maxSerialNumbers"},
	    {"{\"urls\":{},\"limits\":{\"maxSerialNumbers\":0}}", AP_EPARSE, "below 1"},
	    {"{\"urls\":{},\"limits\":{\"maxSerialNumbers\":-1000}}", AP_EPARSE, "below 1"},
	    {"{\"errorNumber\":9603,\"errorMessage\":\"x\"}", AP_EBUSY, "Apple error 9603"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = vpp_service_config_parse(bad[i].text, strlen(bad[i].text), &c, err,
						  sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("service config %zu: %d %s", i, rc, err);
	}
}

static const char client_config[] =
    "{\"countryISO2ACode\":\"FR\",\"defaultPlatform\":\"volumestore\","
    "\"locationName\":\"Collège Jean Moulin\",\"mdmInfo\":{\"id\":\"ardoise-7f3e\","
    "\"metadata\":\"departement\",\"name\":\"Ardoise\"},\"subscribedNotificationTypes\":[],"
    "\"tokenExpirationDate\":\"2027-06-30T10:00:00+0000\",\"uId\":\"2049025000431439\","
    "\"websiteURL\":\"https://school.apple.com\"}";

static void test_client_config(void **state)
{
	(void)state;
	struct vpp_client_config c;
	assert_int_equal(
	    vpp_client_config_parse(client_config, strlen(client_config), &c, err, sizeof(err)), 0);
	assert_string_equal(c.location, "Collège Jean Moulin");
	assert_string_equal(c.country, "FR");
	assert_string_equal(c.meta.mdm_id, "ardoise-7f3e");
	assert_string_equal(c.mdm_name, "Ardoise");
	assert_string_equal(c.meta.uid, "2049025000431439");
	assert_int_equal(c.meta.token_expires, at("2027-06-30T10:00:00Z"));
	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {"{\"uId\":\"1\"}", AP_EMISSING, "locationName"},
	    {"{\"locationName\":7}", AP_ETYPE, "locationName"},
	    {"{\"locationName\":\"X\",\"mdmInfo\":\"ardoise\"}", AP_ETYPE, "mdmInfo"},
	    {"{\"locationName\":\"X\",\"mdmInfo\":{\"id\":5}}", AP_ETYPE, "mdmInfo.id"},
	    {"{\"locationName\":\"X\",\"tokenExpirationDate\":\"soon\"}", AP_EPARSE,
	     "tokenExpirationDate"},
	    {"{\"locationName\":\"X\",\"countryISO2ACode\":\"FRANCE-METRO\"}", AP_ETOOBIG,
	     "countryISO2ACode"},
	    {"{\"errorNumber\":9625,\"errorMessage\":\"revoked\"}", AP_EAUTH, "révoqué"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc =
		    vpp_client_config_parse(bad[i].text, strlen(bad[i].text), &c, err, sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("client config %zu: %d %s", i, rc, err);
	}
	/* a name past VPP_TEXT_MAX, a NUL inside a string */
	char big[600];
	int k = snprintf(big, sizeof(big), "{\"locationName\":\"%0300d\"}", 7);
	assert_int_equal(vpp_client_config_parse(big, (size_t)k, &c, err, sizeof(err)), AP_ETOOBIG);
	assert_non_null(strstr(err, "locationName: too long"));
	const char nul[] = "{\"locationName\":\"Coll\\u0000ge\"}";
	assert_int_equal(vpp_client_config_parse(nul, strlen(nul), &c, err, sizeof(err)),
			 AP_EPARSE);
	assert_non_null(strstr(err, "not JSON")); /* jansson refuses \\u0000 */
	/* a URL past VPP_URL_MAX */
	char url[1200];
	k = snprintf(url, sizeof(url), "{\"urls\":{\"status\":\"https://%01100d\"}}", 1);
	struct vpp_service_config sc;
	assert_int_equal(vpp_service_config_parse(url, (size_t)k, &sc, err, sizeof(err)),
			 AP_ETOOBIG);
}

static const char assets_page[] =
    "{\"assets\":[{\"adamId\":\"361309726\",\"assignedCount\":120,\"availableCount\":30,"
    "\"deviceAssignable\":true,\"pricingParam\":\"STDQ\",\"productType\":\"App\","
    "\"retiredCount\":2,\"revocable\":true,\"supportedPlatforms\":[\"iOS\",\"macOS\"],"
    "\"totalCount\":150},"
    "{\"adamId\":\"408709785\",\"assignedCount\":0,\"availableCount\":2147483647,"
    "\"pricingParam\":\"STDQ\",\"productType\":\"App\",\"totalCount\":2147483647,"
    "\"deviceAssignable\":true,\"revocable\":true},"
    "{\"adamId\":\"1234567890\",\"assignedCount\":1,\"availableCount\":0,"
    "\"pricingParam\":\"PLUS\",\"productType\":\"Book\",\"totalCount\":1}],"
    "\"currentPageIndex\":0,\"nextPageIndex\":1,\"size\":3,\"totalPages\":2,"
    "\"tokenExpirationDate\":\"2027-06-30T10:00:00+0000\",\"uId\":\"2049025000431439\","
    "\"versionId\":\"8f2c0e\"}";

static void test_assets(void **state)
{
	(void)state;
	struct vpp_assets_page p;
	assert_int_equal(vpp_assets_parse(assets_page, strlen(assets_page), &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.assets[0].adam_id, "361309726");
	assert_string_equal(p.assets[0].pricing, "STDQ");
	assert_int_equal(p.assets[0].product, VPP_APP);
	assert_int_equal(p.assets[0].assigned, 120);
	assert_int_equal(p.assets[0].available, 30);
	assert_int_equal(p.assets[0].retired, 2);
	assert_int_equal(p.assets[0].total, 150);
	assert_true(p.assets[0].device_assignable);
	assert_int_equal(p.assets[1].available, 2147483647);
	assert_int_equal(p.assets[2].product, VPP_BOOK);
	assert_false(p.assets[2].device_assignable);
	assert_int_equal(p.page.current, 0);
	assert_int_equal(p.page.next, 1);
	assert_int_equal(p.page.total_pages, 2);
	assert_string_equal(p.page.version_id, "8f2c0e");
	vpp_assets_free(&p);
	const char *last = "{\"assets\":[],\"currentPageIndex\":1,\"totalPages\":2}";
	assert_int_equal(vpp_assets_parse(last, strlen(last), &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.page.next, -1);
	vpp_assets_free(&p);

#define PAGE "\"currentPageIndex\":0,\"totalPages\":1,"
#define A(x) "{" PAGE "\"assets\":[" x "]}"
	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {"{\"assets\":[]}", AP_EMISSING, "currentPageIndex"},
	    {"{" PAGE "\"assets\":{}}", AP_ETYPE, "assets: not an array"},
	    {"{" PAGE "\"x\":1}", AP_EMISSING, "assets: missing"},
	    {"{\"currentPageIndex\":\"0\",\"totalPages\":1,\"assets\":[]}", AP_ETYPE,
	     "currentPageIndex"},
	    {"{\"currentPageIndex\":2,\"nextPageIndex\":1,\"totalPages\":3,\"assets\":[]}",
	     AP_EPARSE, "nextPageIndex"},
	    {A("7"), AP_ETYPE, "assets[0]"},
	    {A("{\"adamId\":361309726,\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"availableCount\":1,\"totalCount\":2}"),
	     AP_ETYPE, "assets[0].adamId"},
	    {A("{\"adamId\":\"abc\",\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"availableCount\":1,\"totalCount\":2}"),
	     AP_EPARSE, "assets[0].adamId"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"STDQ\",\"assignedCount\":-1,"
	       "\"availableCount\":1,\"totalCount\":2}"),
	     AP_ETOOBIG, "assets[0].assignedCount"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"availableCount\":1e3,\"totalCount\":2}"),
	     AP_ETYPE, "availableCount"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"availableCount\":9999999999,\"totalCount\":2}"),
	     AP_ETOOBIG, "availableCount"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"totalCount\":2}"),
	     AP_EMISSING, "availableCount"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"STDQ\",\"assignedCount\":1,"
	       "\"availableCount\":1,\"totalCount\":2,\"revocable\":\"yes\"}"),
	     AP_ETYPE, "revocable"},
	    {A("{\"adamId\":\"1\",\"assignedCount\":1,\"availableCount\":1,\"totalCount\":2}"),
	     AP_EMISSING, "pricingParam"},
	    {A("{\"adamId\":\"1\",\"pricingParam\":\"<script>\",\"assignedCount\":1,"
	       "\"availableCount\":1,\"totalCount\":2}"),
	     AP_ETOOBIG, "pricingParam"},
	    {"{\"errorNumber\":9646,\"errorMessage\":\"slow down\"}", AP_ELIMIT, "9646"},
	    {"not json", AP_EPARSE, "not JSON"},
	    {"[]", AP_EPARSE, "not a JSON object"},
	    {"{\"a\":1,\"a\":2}", AP_EPARSE, "not JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = vpp_assets_parse(bad[i].text, strlen(bad[i].text), &p, err, sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("assets %zu: %d %s", i, rc, err);
	}
	/* huge: past the byte cap, and past the item cap */
	size_t n = VPP_MAX_BYTES + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	assert_int_equal(vpp_assets_parse(big, n, &p, err, sizeof(err)), AP_ETOOBIG);
	free(big);
	size_t items = VPP_MAX_ITEMS + 1, cap = 64 + items * 3;
	big = malloc(cap);
	size_t k = (size_t)snprintf(big, cap, "{" PAGE "\"assets\":[");
	for (size_t i = 0; i < items; i++)
		k += (size_t)snprintf(big + k, cap - k, "%s{}", i ? "," : "");
	k += (size_t)snprintf(big + k, cap - k, "]}");
	assert_int_equal(vpp_assets_parse(big, k, &p, err, sizeof(err)), AP_ETOOBIG);
	assert_non_null(strstr(err, "assets: too many"));
	free(big);
}

static const char assignments_page[] =
    "{\"assignments\":[{\"adamId\":\"361309726\",\"pricingParam\":\"STDQ\","
    "\"serialNumber\":\"DMPX1234ABCD\"},{\"adamId\":\"361309726\",\"pricingParam\":\"STDQ\","
    "\"clientUserId\":\"c2a0-user\"},{\"adamId\":\"408709785\",\"serialNumber\":"
    "\"F9FZ0000Q1GC\"}],\"currentPageIndex\":0,\"size\":3,\"totalPages\":1,"
    "\"versionId\":\"v12\"}";

static void test_assignments(void **state)
{
	(void)state;
	struct vpp_assignments_page p;
	assert_int_equal(
	    vpp_assignments_parse(assignments_page, strlen(assignments_page), &p, err, sizeof(err)),
	    0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.n_user, 1);
	assert_string_equal(p.items[0].serial, "DMPX1234ABCD");
	assert_string_equal(p.items[1].adam_id, "408709785");
	assert_string_equal(p.items[1].serial, "F9FZ0000Q1GC");
	assert_string_equal(p.items[1].pricing, "");
	assert_int_equal(p.page.next, -1);
	vpp_assignments_free(&p);
#define S(x) "{" PAGE "\"assignments\":[" x "]}"
	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {S("{\"adamId\":\"1\"}"), AP_EMISSING, "assignments[0].serialNumber"},
	    {S("{\"adamId\":\"1\",\"serialNumber\":12}"), AP_ETYPE, "serialNumber"},
	    {S("{\"adamId\":\"1\",\"serialNumber\":\"DMP X\"}"), AP_EPARSE, "serialNumber"},
	    {S("{\"serialNumber\":\"DMPX\"}"), AP_EMISSING, "adamId"},
	    {S("{\"adamId\":\"1\",\"serialNumber\":\"DMPX\"},null"), AP_ETYPE, "assignments[1]"},
	    {"{" PAGE "\"assignments\":\"all\"}", AP_ETYPE, "assignments"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc =
		    vpp_assignments_parse(bad[i].text, strlen(bad[i].text), &p, err, sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("assignments %zu: %d %s", i, rc, err);
	}
}

static void test_event(void **state)
{
	(void)state;
	struct vpp_event e;
	const char *ok = "{\"eventId\":\"f6b5c3a0-1111-2222-3333-444455556666\","
			 "\"tokenExpirationDate\":\"2027-06-30T10:00:00+0000\",\"uId\":\"1\","
			 "\"mdmInfo\":{\"id\":\"ardoise-7f3e\",\"name\":\"Ardoise\"}}";
	assert_int_equal(vpp_event_parse(ok, strlen(ok), &e, err, sizeof(err)), 0);
	assert_string_equal(e.event_id, "f6b5c3a0-1111-2222-3333-444455556666");
	assert_string_equal(e.meta.mdm_id, "ardoise-7f3e");
	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {"{}", AP_EMISSING, "eventId"},
	    {"{\"eventId\":\"\"}", AP_EMISSING, "eventId: empty"},
	    {"{\"eventId\":42}", AP_ETYPE, "eventId"},
	    {"{\"errorNumber\":9702,\"errorMessage\":\"too many\"}", AP_ETOOBIG, "découper"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = vpp_event_parse(bad[i].text, strlen(bad[i].text), &e, err, sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("event %zu: %d %s", i, rc, err);
	}
}

static const char status_failed[] =
    "{\"eventStatus\":\"FAILED\",\"eventType\":\"ASSOCIATE\",\"numCompleted\":998,"
    "\"numRequested\":1000,\"failures\":[{\"errorNumber\":9709,\"errorMessage\":\"Not enough "
    "licenses\",\"errorInfo\":{\"assets\":[{\"adamId\":\"361309726\",\"pricingParam\":"
    "\"STDQ\"}],\"serialNumbers\":[\"DMPX1234ABCD\",\"F9FZ0000Q1GC\"]}},"
    "{\"errorNumber\":9716,\"errorMessage\":\"?\"}],\"uId\":\"1\"}";

static void test_status(void **state)
{
	(void)state;
	struct vpp_status s;
	assert_int_equal(
	    vpp_status_parse(status_failed, strlen(status_failed), &s, err, sizeof(err)), 0);
	assert_int_equal(s.state, VPP_FAILED);
	assert_string_equal(s.type, "ASSOCIATE");
	assert_int_equal(s.requested, 1000);
	assert_int_equal(s.completed, 998);
	assert_int_equal(s.n_failures, 2);
	assert_int_equal(s.failures[0].error.number, 9709);
	assert_int_equal(s.failures[0].error.code, AP_ELIMIT);
	assert_int_equal(s.failures[0].error.action, VPP_BUY);
	assert_string_equal(s.failures[0].error.message, "Not enough licenses");
	assert_int_equal(s.failures[0].n_serials, 2);
	assert_string_equal(s.failures[0].serials[1], "F9FZ0000Q1GC");
	assert_int_equal(s.failures[0].n_adam_ids, 1);
	assert_string_equal(s.failures[0].adam_ids[0], "361309726");
	assert_int_equal(s.failures[1].error.number, 9716); /* undocumented: retried */
	assert_int_equal(s.failures[1].error.action, VPP_RETRY);
	vpp_status_free(&s);
	const char *pending = "{\"eventStatus\":\"PENDING\",\"eventType\":\"DISASSOCIATE\"}";
	assert_int_equal(vpp_status_parse(pending, strlen(pending), &s, err, sizeof(err)), 0);
	assert_int_equal(s.state, VPP_PENDING);
	assert_int_equal(s.n_failures, 0);
	vpp_status_free(&s);
	const char *done = "{\"eventStatus\":\"COMPLETE\",\"numRequested\":3,\"numCompleted\":3,"
			   "\"failures\":[]}";
	assert_int_equal(vpp_status_parse(done, strlen(done), &s, err, sizeof(err)), 0);
	assert_int_equal(s.state, VPP_COMPLETE);
	vpp_status_free(&s);
	static const struct {
		const char *text;
		int rc;
		const char *why;
	} bad[] = {
	    {"{}", AP_EMISSING, "eventStatus"},
	    {"{\"eventStatus\":\"DONE\"}", AP_EPARSE, "eventStatus"},
	    {"{\"eventStatus\":1}", AP_ETYPE, "eventStatus"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":{}}", AP_ETYPE, "failures"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":[{}]}", AP_EMISSING,
	     "failures[0].errorNumber"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":[{\"errorNumber\":\"9709\"}]}", AP_ETYPE,
	     "errorNumber"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":[{\"errorNumber\":9709,\"errorInfo\":"
	     "{\"serialNumbers\":[\"A\",7]}}]}",
	     AP_ETYPE, "serialNumbers"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":[{\"errorNumber\":9709,\"errorInfo\":"
	     "{\"assets\":[{\"adamId\":\"x\"}]}}]}",
	     AP_EPARSE, "assets"},
	    {"{\"eventStatus\":\"FAILED\",\"failures\":[{\"errorNumber\":9709,\"errorInfo\":[]}]}",
	     AP_ETYPE, "errorInfo"},
	    {"{\"eventStatus\":\"COMPLETE\",\"numRequested\":-1}", AP_ETOOBIG, "numRequested"},
	    {"{\"errorNumber\":9708,\"errorMessage\":\"no such event\"}", AP_ENOTFOUND, "9708"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = vpp_status_parse(bad[i].text, strlen(bad[i].text), &s, err, sizeof(err));
		if (rc != bad[i].rc || strstr(err, bad[i].why) == NULL)
			fail_msg("status %zu: %d %s", i, rc, err);
	}
}

/* Every prefix of every good answer is refused cleanly (or, for the few
 * that stay valid JSON, parsed): no crash, a reason on each refusal. */
static void test_truncated(void **state)
{
	(void)state;
	const char *texts[] = {service_config, client_config, assets_page, assignments_page,
			       status_failed};
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
		for (size_t n = 0; n < strlen(texts[t]); n++) {
			err[0] = '\0';
			int rc;
			struct vpp_service_config c;
			struct vpp_client_config cc;
			struct vpp_assets_page a;
			struct vpp_assignments_page g;
			struct vpp_status s;
			switch (t) {
			case 0:
				rc = vpp_service_config_parse(texts[t], n, &c, err, sizeof(err));
				break;
			case 1:
				rc = vpp_client_config_parse(texts[t], n, &cc, err, sizeof(err));
				break;
			case 2:
				rc = vpp_assets_parse(texts[t], n, &a, err, sizeof(err));
				break;
			case 3:
				rc = vpp_assignments_parse(texts[t], n, &g, err, sizeof(err));
				break;
			default:
				rc = vpp_status_parse(texts[t], n, &s, err, sizeof(err));
				break;
			}
			assert_int_equal(rc, AP_EPARSE);
			assert_true(err[0] != '\0');
		}
}

static void test_install_params(void **state)
{
	(void)state;
	plist_t p = NULL;
	char *xml = NULL, detail[256];
	size_t len = 0;
	assert_int_equal(vpp_install_params("361309726", &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_INSTALL_APPLICATION,
				      "9C1D7F8E-AAAA-4BBB-8CCC-000000000016", p, &xml, &len, detail,
				      sizeof(detail)),
			 0);
	assert_non_null(strstr(xml, "<key>iTunesStoreID</key>\n\t\t<integer>361309726</integer>"));
	assert_non_null(strstr(xml, "<key>PurchaseMethod</key>"));
	assert_non_null(strstr(xml, "<key>ManagementFlags</key>"));
	const char *const args[] = {"--werror", NULL};
	assert_int_equal(tu_schema_check1("InstallApplication-vpp", xml, len, args), 0);
	free(xml);
	plist_free(p);
	assert_int_equal(vpp_install_params("", &p), AP_EINVAL);
	assert_int_equal(vpp_install_params("12a", &p), AP_EINVAL);
	assert_int_equal(vpp_install_params("99999999999999999999", &p), AP_EINVAL);
	assert_int_equal(vpp_install_params(NULL, &p), AP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),	   cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_batches),	   cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_service_config), cmocka_unit_test(test_client_config),
	    cmocka_unit_test(test_assets),	   cmocka_unit_test(test_assignments),
	    cmocka_unit_test(test_event),	   cmocka_unit_test(test_status),
	    cmocka_unit_test(test_truncated),	   cmocka_unit_test(test_install_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
