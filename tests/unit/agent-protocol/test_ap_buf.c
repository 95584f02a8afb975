/* Unit tests for ap_buf and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>

#include "ap_buf.h"
#include "ap_err.h"

static void test_cap_is_hard(void **state)
{
	struct ap_buf b;
	ap_buf_init(&b, 8);
	assert_int_equal(ap_buf_appends(&b, "12345678"), 0);
	assert_int_equal(ap_buf_appends(&b, "9"), AP_ETOOBIG);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	ap_buf_free(&b);
}

static void test_printf_and_consume(void **state)
{
	struct ap_buf b;
	ap_buf_init(&b, 1024);
	assert_int_equal(ap_buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_string_equal(b.data, "n=42");
	ap_buf_consume(&b, 2);
	assert_string_equal(b.data, "42");
	assert_int_equal(ap_buf_printf(&b, "%0900d", 1), 0);
	assert_int_equal(ap_buf_printf(&b, "%0200d", 1), AP_ETOOBIG);
	assert_int_equal(b.len, 902);
	size_t n;
	char *p = ap_buf_steal(&b, &n);
	assert_int_equal(n, 902);
	assert_null(b.data);
	free(p);
}

static void test_errors(void **state)
{
	assert_string_equal(ap_errname(AP_ENOTFOUND), "not_found");
	assert_int_equal(ap_errstatus(AP_EFORBIDDEN), 403);
	assert_string_equal(ap_strerror(12345), "unknown error");
	assert_int_equal(ap_errstatus(12345), 500);
}

/* ap_grow: doubles only when full, keeps what is there, refuses an
 * impossible size without touching the array. */
static void test_grow(void **state)
{
	(void)state;
	int *v = NULL;
	size_t cap = 0, n = 0;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(ap_grow(&v, &cap, n, sizeof(*v), 8), 0);
		v[n++] = i;
	}
	assert_int_equal(cap, 1024); /* 8, 16, ... 1024 */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v[i], i);
	assert_int_equal(ap_grow(&v, &cap, 10, sizeof(*v), 8), 0);
	assert_int_equal(cap, 1024); /* not full: unchanged */
	int *keep = v;
	size_t huge = cap;
	assert_int_equal(ap_grow(&v, &huge, huge, SIZE_MAX / 4, 8), AP_ENOMEM);
	assert_ptr_equal(v, keep);
	assert_int_equal(huge, cap);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_is_hard),
	    cmocka_unit_test(test_printf_and_consume),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
