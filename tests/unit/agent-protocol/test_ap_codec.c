/* Unit tests for ap_codec (base64, hex), ap_uuid and ap_detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ap_codec.h"
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_uuid.h"

static void test_b64(void **state)
{
	const char *vectors[][2] = {{"", ""},
				    {"f", "Zg=="},
				    {"fo", "Zm8="},
				    {"foo", "Zm9v"},
				    {"foob", "Zm9vYg=="},
				    {"fooba", "Zm9vYmE="},
				    {"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *enc = NULL;
		unsigned char *dec = NULL;
		size_t n = 99;
		assert_int_equal(
		    ap_codec_b64_encode(vectors[i][0], strlen(vectors[i][0]), &enc, &n), 0);
		assert_string_equal(enc, vectors[i][1]);
		assert_int_equal(n, strlen(vectors[i][1]));
		assert_int_equal(ap_codec_b64_decode(enc, n, &dec, &n), 0);
		assert_int_equal(n, strlen(vectors[i][0]));
		assert_memory_equal(dec, vectors[i][0], n);
		assert_int_equal(dec[n], 0);
		free(enc);
		free(dec);
	}
	unsigned char *dec = NULL;
	size_t n;
	assert_int_equal(ap_codec_b64_decode(" Zm9v\r\nYmFy\n", 12, &dec, &n), 0);
	assert_int_equal(n, 6);
	free(dec);
	const char *bad[] = {"Zm9", "Zm9v=", "Zg=a", "Zg===", "====", "Zm9v!", "Z=g=", "Zm\x01v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ap_codec_b64_decode(bad[i], strlen(bad[i]), &dec, &n), AP_EPARSE);
	assert_int_equal(ap_codec_b64_decode(NULL, 1, &dec, &n), AP_EINVAL);
}

static void test_hex(void **state)
{
	char *hex = NULL;
	unsigned char *dec = NULL;
	size_t n = 0;

	assert_int_equal(ap_codec_hex_encode("\x00\xab\xff", 3, &hex), 0);
	assert_string_equal(hex, "00abff");
	assert_int_equal(ap_codec_hex_decode("00ABff", 6, &dec, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(dec, "\x00\xab\xff", 3);
	free(hex);
	free(dec);
	assert_int_equal(ap_codec_hex_decode("abc", 3, &dec, &n), AP_EPARSE);
	assert_int_equal(ap_codec_hex_decode("zz", 2, &dec, &n), AP_EPARSE);
	assert_int_equal(ap_codec_hex_decode("", 0, &dec, &n), 0);
	assert_int_equal(n, 0);
	free(dec);
}

static void test_uuid(void **state)
{
	char a[37], b[37];

	ap_uuid_random(a);
	ap_uuid_random(b);
	assert_true(ap_uuid_is_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89AB", a[19]));
	for (int i = 0; i < 36; i++)
		assert_false(a[i] >= 'a' && a[i] <= 'f');
	ap_uuid_from_seed("seed", "salt", a);
	ap_uuid_from_seed("seed", "salt", b);
	assert_string_equal(a, b);
	assert_true(ap_uuid_is_valid(a));
	ap_uuid_from_seed("seed", "other", b);
	assert_string_not_equal(a, b);
	/* seed and salt are separated: ("ab","c") differs from ("a","bc") */
	ap_uuid_from_seed("ab", "c", a);
	ap_uuid_from_seed("a", "bc", b);
	assert_string_not_equal(a, b);
	ap_uuid_from_seed(NULL, NULL, a);
	assert_true(ap_uuid_is_valid(a));
	assert_true(ap_uuid_is_valid("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
	assert_false(ap_uuid_is_valid("1B4E28BA-2FA1-41D2-883F-0016D3CCA42"));
	assert_false(ap_uuid_is_valid("1B4E28BA-2FA1-41D2-883F-0016D3CCA4277"));
	assert_false(ap_uuid_is_valid("1B4E28BA_2FA1-41D2-883F-0016D3CCA427"));
	assert_false(ap_uuid_is_valid(NULL));
}

static void test_detail(void **state)
{
	char buf[16];

	assert_int_equal(ap_detail_set(buf, sizeof(buf), AP_EINVAL, "a\nb\x1b%s", "c"), AP_EINVAL);
	assert_string_equal(buf, "a?b?c");
	/* truncation does not cut a UTF-8 sequence: 14 bytes + "é" would not fit */
	ap_detail_set(buf, sizeof(buf), 0, "%s", "12345678901234\xc3\xa9");
	assert_string_equal(buf, "12345678901234");
	ap_detail_set(buf, sizeof(buf), 0, "%s", "1234567890123\xc3\xa9xyz");
	assert_string_equal(buf, "1234567890123\xc3\xa9");
	assert_int_equal(ap_detail_set(NULL, 0, AP_EPARSE, "x"), AP_EPARSE);
	ap_detail_clear(buf, sizeof(buf));
	assert_string_equal(buf, "");
	ap_detail_clear(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_detail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
