/* Unit tests for the APNs client's pure parts: URL, token, payload, answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_err.h"
#include "apns.h"

static void test_parse_url(void **state)
{
	char host[256];
	int port = 0;
	assert_int_equal(apns_parse_url("https://api.push.apple.com", host, sizeof(host), &port),
			 0);
	assert_string_equal(host, "api.push.apple.com");
	assert_int_equal(port, 443);
	assert_int_equal(apns_parse_url("https://127.0.0.1:8443/", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8443);
	assert_int_equal(apns_parse_url("https://[::1]:2197", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 2197);
	assert_int_equal(apns_parse_url("development", host, sizeof(host), &port), 0);
	assert_string_equal(host, "api.sandbox.push.apple.com");
	assert_int_equal(apns_parse_url("production", host, sizeof(host), &port), 0);
	assert_string_equal(host, "api.push.apple.com");
	static const char *const bad[] = {
	    "http://api.push.apple.com", "https://",	 "https://h:0",	       "https://h:70000",
	    "https://h:443/3/device",	 "https://[::1", "api.push.apple.com", "https://h:12x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(apns_parse_url(bad[i], host, sizeof(host), &port), AP_EINVAL);
}

static void test_hex(void **state)
{
	static const unsigned char tok[] = {0x00, 0x1f, 0xa0, 0xff};
	char out[9], small[8];
	assert_int_equal(apns_hex(tok, sizeof(tok), out, sizeof(out)), 0);
	assert_string_equal(out, "001fa0ff"); /* lowercase, as APNs wants */
	assert_int_equal(apns_hex(tok, sizeof(tok), small, sizeof(small)), AP_ETOOBIG);
	assert_int_equal(apns_hex(tok, 0, out, sizeof(out)), AP_EINVAL);
}

static void test_payload(void **state)
{
	char out[256];
	size_t n = 0;
	assert_int_equal(apns_payload("8C8A8E3D-2B34-4A9F", out, sizeof(out), &n), 0);
	assert_string_equal(out, "{\"mdm\":\"8C8A8E3D-2B34-4A9F\"}");
	assert_int_equal(n, strlen(out));
	assert_int_equal(apns_payload("a\"b\\c", out, sizeof(out), &n), 0);
	assert_string_equal(out, "{\"mdm\":\"a\\\"b\\\\c\"}");
	assert_int_equal(apns_payload("0123456789", out, 12, &n), AP_ETOOBIG);
}

static enum apns_outcome classify(int status, const char *reason, int refused)
{
	struct apns_result r = {status, reason, refused, "", ""};
	return apns_classify(&r);
}

static void test_classify(void **state)
{
	assert_int_equal(classify(200, "", 0), APNS_OK);
	assert_int_equal(classify(410, "Unregistered", 0), APNS_BAD_TOKEN);
	assert_int_equal(classify(410, "ExpiredToken", 0), APNS_BAD_TOKEN);
	assert_int_equal(classify(400, "BadDeviceToken", 0), APNS_BAD_TOKEN);
	assert_int_equal(classify(400, "DeviceTokenNotForTopic", 0), APNS_BAD_TOKEN);
	assert_int_equal(classify(429, "TooManyRequests", 0), APNS_RETRY);
	assert_int_equal(classify(500, "InternalServerError", 0), APNS_RETRY);
	assert_int_equal(classify(503, "ServiceUnavailable", 0), APNS_RETRY);
	assert_int_equal(classify(503, "", 0), APNS_RETRY);
	assert_int_equal(classify(403, "BadCertificate", 0), APNS_CERT);
	assert_int_equal(classify(403, "BadCertificateEnvironment", 0), APNS_CERT);
	assert_int_equal(classify(403, "SomethingNew", 0), APNS_CERT);
	assert_int_equal(classify(400, "TopicDisallowed", 0), APNS_CERT);
	assert_int_equal(classify(400, "IdleTimeout", 0), APNS_RESEND);
	assert_int_equal(classify(400, "PayloadEmpty", 0), APNS_FAIL);
	assert_int_equal(classify(404, "BadPath", 0), APNS_FAIL);
	assert_int_equal(classify(418, "", 0), APNS_FAIL);
	assert_int_equal(classify(0, "ConnectionLost", 0), APNS_RETRY);
	assert_int_equal(classify(0, "Timeout", 0), APNS_RETRY);
	assert_int_equal(classify(0, "ConnectionLost", 1), APNS_RESEND);
}

static void test_reasons(void **state)
{
	size_t n = apns_n_reasons();
	assert_true(n > 30 && n < 48); /* push_status.by_reason holds 48 */
	assert_string_equal(apns_reason_name(apns_reason_index("Unregistered")), "Unregistered");
	assert_string_equal(apns_reason_name(apns_reason_index("nonsense")), "Other");
	assert_string_equal(apns_reason_name(apns_reason_index(NULL)), "Other");
	assert_int_equal(apns_reason_index("Other"), n - 1);
	assert_string_equal(apns_state_name(APNS_READY), "ready");
	assert_string_equal(apns_outcome_name(APNS_BAD_TOKEN), "bad_token");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_url), cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_payload),   cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
