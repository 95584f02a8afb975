/* Unit tests for daemon/apple/ade_oauth.c: RFC 5849's own vectors (the
 * percent-encoding of §3.6, the base string of §3.4.1.1, the signed request
 * of §1.2), GET /session signed as docs/apple-services.md §2.2 describes
 * (signature computed independently with Python's hmac), the server token
 * in the forms §2.1 gives (bare JSON, MIME headers, BEGIN/END lines,
 * hard-wrapped) and hostile tokens and session answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ade_oauth.h"
#include "ap_err.h"

static void test_pct_encode(void **state)
{
	char out[128];
	(void)state;
	assert_int_equal(ade_pct_encode("abcABC123-._~", out, sizeof(out)), 0);
	assert_string_equal(out, "abcABC123-._~");
	/* RFC 5849 §3.4.1.3.1's examples */
	assert_int_equal(ade_pct_encode("=%3D", out, sizeof(out)), 0);
	assert_string_equal(out, "%3D%253D");
	assert_int_equal(ade_pct_encode("r b", out, sizeof(out)), 0);
	assert_string_equal(out, "r%20b");
	assert_int_equal(ade_pct_encode("c@", out, sizeof(out)), 0);
	assert_string_equal(out, "c%40");
	assert_int_equal(ade_pct_encode("a+b/c=", out, sizeof(out)), 0);
	assert_string_equal(out, "a%2Bb%2Fc%3D");
	assert_int_equal(ade_pct_encode("é", out, sizeof(out)), 0); /* UTF-8 bytes, upper hex */
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(ade_pct_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ade_pct_encode("abc", out, 4), 0);
	assert_int_equal(ade_pct_encode("abcd", out, 4), AP_ETOOBIG);
	assert_int_equal(ade_pct_encode("a b", out, 5), AP_ETOOBIG);
}

/* RFC 5849 §3.4.1.1: the request's parameters decoded (query, body, OAuth). */
static void test_rfc_base_string(void **state)
{
	(void)state;
	const struct ade_param p[] = {
	    {"b5", "=%3D"},
	    {"a3", "a"},
	    {"c@", ""},
	    {"a2", "r b"},
	    {"oauth_consumer_key", "9djdj82h48djs9d2"},
	    {"oauth_token", "kkk9d7dh3k39sjv7"},
	    {"oauth_signature_method", "HMAC-SHA1"},
	    {"oauth_timestamp", "137131201"},
	    {"oauth_nonce", "7d8f3e4a"},
	    {"c2", ""},
	    {"a3", "2 q"},
	};
	char *base = NULL;
	assert_int_equal(ade_oauth_base_string("POST", "http://example.com/request", p,
					       sizeof(p) / sizeof(p[0]), &base),
			 0);
	assert_string_equal(base,
			    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
			    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
			    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
			    "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9"
			    "d7dh3k39sjv7");
	free(base);
	const struct ade_param bad[] = {{"a", NULL}};
	assert_int_equal(ade_oauth_base_string("GET", "http://x/", bad, 1, &base), AP_EINVAL);
	assert_null(base);
	assert_int_equal(ade_oauth_base_string("GET", "http://x/", NULL, 0, &base), 0);
	assert_string_equal(base, "GET&http%3A%2F%2Fx%2F&");
	free(base);
}

/* RFC 5849 §1.2: the photo request, signature MdpQcU8iPSUjWoN/UDMsK2sui9I=. */
static void test_rfc_signature(void **state)
{
	(void)state;
	const struct ade_param p[] = {
	    {"file", "vacation.jpg"},
	    {"size", "original"},
	    {"oauth_consumer_key", "dpf43f3p2l4k3l03"},
	    {"oauth_token", "nnch734d00sl2jdk"},
	    {"oauth_signature_method", "HMAC-SHA1"},
	    {"oauth_timestamp", "137131202"},
	    {"oauth_nonce", "chapoH"},
	};
	char *base = NULL, sig[64];
	assert_int_equal(ade_oauth_base_string("GET", "http://photos.example.net/photos", p,
					       sizeof(p) / sizeof(p[0]), &base),
			 0);
	assert_string_equal(base,
			    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26"
			    "oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26"
			    "oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26"
			    "oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal");
	assert_int_equal(
	    ade_oauth_hmac_sha1(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", sig, sizeof(sig)), 0);
	assert_string_equal(sig, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
	assert_int_equal(ade_oauth_hmac_sha1(base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", sig, 28),
			 AP_ETOOBIG);
	free(base);
}

#define CK                                                                                         \
	"CK_48dd68d198350f51258e885ce9a5c37ab7f98543c4a697323d75682a6c10a32501cb247e3db08105db868" \
	"f73f2c972bdb6ae77112aea803b9219eb52689d42e6"
#define CS                                                                                         \
	"CS_34c7b2b531a600d99a0e4edcf4a78ded79b86ef318118c2f5bcfee1b011108c32d5302df801adbe29d446" \
	"eb78f02b13144e323eb9aad51c79f01e50cb45c3a68"
#define AT                                                                                         \
	"AT_927696831c59ba510cfe4ec1a69e5267c19881257d4bca2906a99d0785b785a6f6fdeb09774954fdd5e2d" \
	"0ad952e3af52c6d8d2f21c924ba0caf4a031c158b89"
#define AS                                                                                         \
	"AS_4a0a1f3b5e3d6f7e8c9b0a1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2" \
	"d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
#define TOKEN_JSON                                                                           \
	"{\"consumer_key\":\"" CK "\",\"consumer_secret\":\"" CS "\",\"access_token\":\"" AT \
	"\",\"access_secret\":\"" AS "\",\"access_token_expiry\":\"2015-01-14T21:27:41Z\"}"

static void token(struct ade_token *t)
{
	char err[200] = "";
	int rc = ade_token_parse(TOKEN_JSON, strlen(TOKEN_JSON), t, err, sizeof(err));
	if (rc != 0)
		fail_msg("token refused: %s", err);
}

/* GET /session as §2.2 describes; the signature from Python's hmac over the
 * same base string. */
static void test_session_header(void **state)
{
	(void)state;
	struct ade_token t;
	char h[ADE_HEADER_MAX];
	token(&t);
	assert_int_equal(ade_oauth_header(&t, "https://mdmenrollment.apple.com/session", 1406229487,
					  "0f3e2b1a9c8d7e6f", h, sizeof(h)),
			 0);
	assert_string_equal(
	    h, "OAuth realm=\"ADM\", oauth_consumer_key=\"" CK "\", oauth_token=\"" AT
	       "\", oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\"IwNrBDHaG53vIL8ixXlOGC"
	       "OywPQ%3D\", oauth_timestamp=\"1406229487\", oauth_nonce=\"0f3e2b1a9c8d7e6f\", "
	       "oauth_version=\"1.0\"");
	/* another nonce, another signature */
	char h2[ADE_HEADER_MAX];
	assert_int_equal(ade_oauth_header(&t, "https://mdmenrollment.apple.com/session", 1406229487,
					  "0f3e2b1a9c8d7e6e", h2, sizeof(h2)),
			 0);
	assert_string_not_equal(h, h2);
	/* the secrets are not in the header */
	assert_null(strstr(h, "CS_"));
	assert_null(strstr(h, "AS_"));
	/* refusals */
	const char *url = "https://mdmenrollment.apple.com/session";
	assert_int_equal(ade_oauth_header(&t, url, 1, "", h, sizeof(h)), AP_EINVAL);
	assert_int_equal(ade_oauth_header(&t, url, 1, "a\"b", h, sizeof(h)), AP_EINVAL);
	assert_int_equal(ade_oauth_header(&t, url, 1, "a b", h, sizeof(h)), AP_EINVAL);
	char longnonce[ADE_NONCE_MAX + 2];
	memset(longnonce, 'a', sizeof(longnonce) - 1);
	longnonce[sizeof(longnonce) - 1] = '\0';
	assert_int_equal(ade_oauth_header(&t, url, 1, longnonce, h, sizeof(h)), AP_EINVAL);
	assert_int_equal(ade_oauth_header(&t, url, -1, "n", h, sizeof(h)), AP_EINVAL);
	assert_int_equal(ade_oauth_header(&t, url, 1, "n", h, 100), AP_ETOOBIG);
	struct ade_token empty;
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(ade_oauth_header(&empty, url, 1, "n", h, sizeof(h)), AP_EINVAL);
	ade_token_wipe(&t);
	assert_string_equal(t.consumer_secret, "");
	assert_string_equal(t.access_secret, "");
}

static void check_token(const char *text)
{
	struct ade_token t;
	char err[200] = "";
	int rc = ade_token_parse(text, strlen(text), &t, err, sizeof(err));
	if (rc != 0)
		fail_msg("token refused (%s): %s", err, text);
	assert_string_equal(t.consumer_key, CK);
	assert_string_equal(t.consumer_secret, CS);
	assert_string_equal(t.access_token, AT);
	assert_string_equal(t.access_secret, AS);
	assert_string_equal(t.expiry_text, "2015-01-14T21:27:41Z");
	assert_int_equal(t.expiry, 1421270861);
}

/* The token as §2.1 shows it: bare, with its MIME headers, with BEGIN/END
 * lines, hard-wrapped in the middle of values, CRLF or LF. */
static void test_token_forms(void **state)
{
	(void)state;
	check_token(TOKEN_JSON);
	check_token("Content-Type: text/plain;charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n" TOKEN_JSON "\r\n");
	check_token("Content-Type: text/plain;charset=UTF-8\n"
		    "Content-Transfer-Encoding: 7bit\n\n"
		    "-----BEGIN MESSAGE-----\n" TOKEN_JSON "\n-----END MESSAGE-----\n");
	/* wrapped at 78 columns, as Apple does */
	char wrapped[4096];
	const char *j = TOKEN_JSON;
	size_t n = strlen(j), o = 0;
	o += (size_t)snprintf(wrapped, sizeof(wrapped),
			      "Content-Type: text/plain;charset=UTF-8\r\n"
			      "Content-Transfer-Encoding: 7bit\r\n\r\n"
			      "-----BEGIN MESSAGE-----\r\n");
	for (size_t i = 0; i < n; i += 78) {
		size_t k = n - i < 78 ? n - i : 78;
		memcpy(wrapped + o, j + i, k);
		o += k;
		wrapped[o++] = '\r';
		wrapped[o++] = '\n';
	}
	o += (size_t)snprintf(wrapped + o, sizeof(wrapped) - o, "-----END MESSAGE-----\r\n");
	check_token(wrapped);
	/* unknown members skipped; another offset for the expiry */
	struct ade_token t;
	char err[200];
	const char *other = "{\"consumer_key\":\"CK_1\",\"consumer_secret\":\"CS_1\","
			    "\"access_token\":\"AT_1\",\"access_secret\":\"AS_1\",\"x\":[1,{}],"
			    "\"access_token_expiry\":\"2027-01-14T22:27:41+01:00\"}";
	assert_int_equal(ade_token_parse(other, strlen(other), &t, err, sizeof(err)), 0);
	assert_int_equal(t.expiry, 1799962061);
}

static int refuse(const char *text, size_t len, char *err, size_t cap)
{
	struct ade_token t;
	memset(&t, 'x', sizeof(t));
	err[0] = '\0';
	int rc = ade_token_parse(text, len, &t, err, cap);
	assert_true(rc < 0);
	assert_true(err[0] != '\0');
	assert_string_equal(t.consumer_secret, ""); /* zeroed */
	assert_string_equal(t.consumer_key, "");
	return rc;
}

#define R(s) refuse(s, strlen(s), err, sizeof(err))
#define F(k, v)                                                                                   \
	"{\"consumer_key\":" k "\"CK_1\",\"consumer_secret\":\"CS_1\",\"access_token\":\"AT_1\"," \
	"\"access_secret\":\"AS_1\",\"access_token_expiry\":" v "}"

static void test_token_hostile(void **state)
{
	char err[200];
	(void)state;
	assert_int_equal(R(""), AP_EPARSE);
	assert_int_equal(R("garbage"), AP_EPARSE);
	assert_int_equal(R("[1,2]"), AP_EPARSE);
	assert_int_equal(R("\"CK_\""), AP_EPARSE);
	assert_int_equal(R("{\"consumer_key\":\"CK_1\""), AP_EPARSE); /* truncated */
	assert_int_equal(R("{}"), AP_EMISSING);
	assert_string_equal(err, "consumer_key: missing");
	assert_int_equal(
	    R("{\"consumer_key\":\"CK_1\",\"consumer_secret\":\"CS_1\","
	      "\"access_token\":\"AT_1\",\"access_token_expiry\":\"2015-01-14T21:27:41Z\"}"),
	    AP_EMISSING);
	assert_string_equal(err, "access_secret: missing");
	assert_int_equal(R(F("", "1421270861")), AP_ETYPE);
	assert_string_equal(err, "access_token_expiry: not a string");
	assert_int_equal(R(F("", "null")), AP_ETYPE);
	assert_int_equal(R(F("", "\"\"")), AP_EMISSING);
	assert_int_equal(R(F("", "\"2015-01-14\"")), AP_EPARSE);
	assert_int_equal(R(F("", "\"2015-13-14T21:27:41Z\"")), AP_EPARSE);
	assert_int_equal(R(F("", "\"tomorrow\"")), AP_EPARSE);
	assert_int_equal(R("{\"consumer_key\":42,\"consumer_secret\":\"CS_1\"}"), AP_ETYPE);
	assert_string_equal(err, "consumer_key: not a string");
	assert_int_equal(R("{\"consumer_key\":[\"CK\"]}"), AP_ETYPE);
	assert_int_equal(R("{\"consumer_key\":\"CK 1\"}"), AP_EPARSE);
	assert_int_equal(R("{\"consumer_key\":\"CK\\u0001\"}"), AP_EPARSE);
	assert_int_equal(R("{\"consumer_key\":\"CK\\u0000x\"}"), AP_EPARSE);
	assert_int_equal(R("{\"consumer_key\":\"CK_1\",\"consumer_key\":\"CK_2\"}"), AP_EPARSE);
	/* huge: a field, and the whole */
	size_t big = ADE_FIELD_MAX + 40;
	char *s = malloc(big + 100);
	int n = snprintf(s, big + 100, "{\"consumer_key\":\"");
	memset(s + n, 'a', ADE_FIELD_MAX + 1);
	memcpy(s + n + ADE_FIELD_MAX + 1, "\"}", 3);
	assert_int_equal(refuse(s, strlen(s), err, sizeof(err)), AP_ETOOBIG);
	free(s);
	s = malloc(ADE_TOKEN_MAX_BYTES + 2);
	memset(s, ' ', ADE_TOKEN_MAX_BYTES + 1);
	s[0] = '{';
	s[ADE_TOKEN_MAX_BYTES] = '}';
	assert_int_equal(refuse(s, ADE_TOKEN_MAX_BYTES + 1, err, sizeof(err)), AP_ETOOBIG);
	free(s);
	/* deep nesting in an unknown member */
	char deep[5000];
	n = snprintf(deep, sizeof(deep), "{\"x\":");
	for (int i = 0; i < 2000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	assert_true(R(deep) < 0);
	/* a NUL in the middle of the text */
	assert_int_equal(refuse("{\"consumer_key\"\0:1}", 19, err, sizeof(err)), AP_EPARSE);
	/* a short error buffer is fine */
	char tiny[4];
	assert_int_equal(refuse("{}", 2, tiny, sizeof(tiny)), AP_EMISSING);
}

static void test_session_answer(void **state)
{
	char tok[ADE_SESSION_MAX + 1], err[200];
	(void)state;
	const char *ok = "{\"auth_session_token\": \"1413258406431O1O4E5O9C5E3O0D3D6O3C0E9D1C0D3"
			 "A5A3B5E8\"}";
	assert_int_equal(ade_session_parse(ok, strlen(ok), tok, sizeof(tok), err, sizeof(err)), 0);
	assert_string_equal(tok, "1413258406431O1O4E5O9C5E3O0D3D6O3C0E9D1C0D3A5A3B5E8");
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
	    {"", AP_EPARSE},
	    {"<html>", AP_EPARSE},
	    {"\"x\"", AP_EPARSE},
	    {"{}", AP_EMISSING},
	    {"{\"auth_session_token\":\"\"}", AP_EMISSING},
	    {"{\"auth_session_token\":null}", AP_ETYPE},
	    {"{\"auth_session_token\":12}", AP_ETYPE},
	    {"{\"auth_session_token\":\"a b\"}", AP_EPARSE},
	    {"{\"auth_session_token\":\"a\\u0000b\"}", AP_EPARSE},
	    {"{\"auth_session_token\":\"a\"", AP_EPARSE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = ade_session_parse(bad[i].text, strlen(bad[i].text), tok, sizeof(tok), err,
					   sizeof(err));
		if (rc != bad[i].rc)
			fail_msg("'%s': %d, not %d", bad[i].text, rc, bad[i].rc);
		assert_true(err[0] != '\0');
		assert_string_equal(tok, "");
	}
	/* longer than the caller's buffer, or than ADE_SESSION_MAX */
	assert_int_equal(ade_session_parse(ok, strlen(ok), tok, 10, err, sizeof(err)), AP_ETOOBIG);
	char *huge = malloc(ADE_SESSION_MAX + 64);
	int n = snprintf(huge, ADE_SESSION_MAX + 64, "{\"auth_session_token\":\"");
	memset(huge + n, 'a', ADE_SESSION_MAX + 1);
	memcpy(huge + n + ADE_SESSION_MAX + 1, "\"}", 3);
	assert_int_equal(ade_session_parse(huge, strlen(huge), tok, sizeof(tok), err, sizeof(err)),
			 AP_ETOOBIG);
	free(huge);
}

/* §2.6: answers sorted by status and body substring; Retry-After. */
static void test_classify(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *body;
		enum ade_verdict v;
	} cases[] = {
	    {200, "{}", ADE_OK},
	    {204, NULL, ADE_OK},
	    {401, "UNAUTHORIZED", ADE_REAUTH},
	    {403, "\"FORBIDDEN\"", ADE_REAUTH},
	    {403, "ACCESS_DENIED", ADE_DENIED},
	    {403, "T_C_NOT_SIGNED", ADE_TERMS},
	    {403, "", ADE_DENIED},
	    {400, "EXHAUSTED_CURSOR", ADE_CURSOR_EXHAUSTED},
	    {400, "\"EXPIRED_CURSOR\"", ADE_CURSOR_RESET},
	    {400, "INVALID_CURSOR", ADE_CURSOR_RESET},
	    {400, "MALFORMED_REQUEST_BODY", ADE_MALFORMED},
	    {429, "", ADE_LATER},
	    {503, "busy", ADE_LATER},
	    {500, "oops", ADE_FAILED},
	    {0, NULL, ADE_FAILED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum ade_verdict v = ade_classify(cases[i].status, cases[i].body,
						  cases[i].body ? strlen(cases[i].body) : 0);
		if (v != cases[i].v)
			fail_msg("%ld %s: %s, not %s", cases[i].status,
				 cases[i].body ? cases[i].body : "(none)", ade_verdict_name(v),
				 ade_verdict_name(cases[i].v));
	}
	assert_string_equal(ade_verdict_name(ADE_TERMS), "terms_not_signed");
	assert_string_equal(ade_verdict_name((enum ade_verdict)99), "?");
	/* Retry-After: seconds or an HTTP date, capped */
	int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	assert_int_equal(ade_retry_after("120", now, 3600), 120);
	assert_int_equal(ade_retry_after("0", now, 3600), 0);
	assert_int_equal(ade_retry_after("86400", now, 3600), 3600);
	assert_int_equal(ade_retry_after("99999999999999999999", now, 3600), 3600);
	assert_int_equal(ade_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now, 3600), 60);
	assert_int_equal(ade_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now, 3600), 0);
	assert_int_equal(ade_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now, 3600), 3600);
	static const char *const bad[] = {
	    "", "-1", "1.5", "soon", "12 ", "Sun, 06 Nov 1994", "Sun, 06 Nov 1994 08:50:37 GMT+1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ade_retry_after(bad[i], now, 3600) != -1)
			fail_msg("'%s' taken as a Retry-After", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pct_encode),	   cmocka_unit_test(test_rfc_base_string),
	    cmocka_unit_test(test_rfc_signature),  cmocka_unit_test(test_session_header),
	    cmocka_unit_test(test_token_forms),	   cmocka_unit_test(test_token_hostile),
	    cmocka_unit_test(test_session_answer), cmocka_unit_test(test_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
