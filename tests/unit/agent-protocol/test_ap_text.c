/* Unit tests for ap_text: the one rule for staff text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_text.h"

static void test_one_line(void **state)
{
	assert_int_equal(ap_text_ok("code oublié, élève de 5B €", 64, 0), 1);
	assert_int_equal(ap_text_ok("", 0, 0), 1);
	assert_int_equal(ap_text_ok("toolong", 3, 0), 0);
	assert_int_equal(ap_text_ok("é", 1, 0), 0); /* two bytes */
	assert_int_equal(ap_text_ok("tab\there", 20, 0), 0);
	assert_int_equal(ap_text_ok("cr\rhere", 20, 0), 0);
	assert_int_equal(ap_text_ok("two\nlines", 20, 0), 0);
	assert_int_equal(ap_text_ok("esc\x1b[31m", 20, 0), 0);
	assert_int_equal(ap_text_ok("del\x7f", 20, 0), 0);
	assert_int_equal(ap_text_ok("csi\xc2\x9b", 20, 0), 0);	/* C1 U+009B */
	assert_int_equal(ap_text_ok("nbsp\xc2\xa0", 20, 0), 1); /* U+00A0 is text */
}

static void test_bad_utf8(void **state)
{
	assert_int_equal(ap_text_ok("latin1 \xe9t\xe9", 20, 0), 0);
	assert_int_equal(ap_text_ok("\xc0\xaf", 20, 0), 0);	    /* overlong '/' */
	assert_int_equal(ap_text_ok("\xed\xa0\x80", 20, 0), 0);	    /* surrogate */
	assert_int_equal(ap_text_ok("\xf4\x90\x80\x80", 20, 0), 0); /* past U+10FFFF */
	assert_int_equal(ap_text_ok("cut \xe2\x82", 20, 0), 0);
	assert_int_equal(ap_text_ok("\xf0\x9f\x93\xb1", 20, 0), 1); /* U+1F4F1 */
}

static void test_lines(void **state)
{
	assert_int_equal(ap_text_ok("Tablette du collège\nAppelez le 04 42 00 00 00", 64, 1), 1);
	assert_int_equal(ap_text_ok("crlf\r\n", 64, 1), 0);
	assert_int_equal(ap_text_ok("esc\n\x1b", 64, 1), 0);
}

static void test_utf8_char(void **state)
{
	unsigned cp = 0;
	assert_int_equal(ap_utf8_char("A", &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(ap_utf8_char("é", &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(ap_utf8_char("\xc2\x9b", &cp), 2);
	assert_int_equal(ap_text_control(cp), 1);
	assert_int_equal(ap_utf8_char("", &cp), 0);
	assert_int_equal(ap_utf8_char("\x80", &cp), 0);
	assert_int_equal(ap_text_control(0xa0), 0);
	assert_int_equal(ap_text_control(0x7f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_line),
	    cmocka_unit_test(test_bad_utf8),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_utf8_char),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
