/* Unit tests for daemon/core/password.c: Argon2id hashes and their check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ap_err.h"
#include "password.h"

static const char PW[] = "cheval correct agrafe";

static void test_hash_and_verify(void **state)
{
	char h1[PASSWORD_ENCODED_MAX], h2[PASSWORD_ENCODED_MAX];
	assert_int_equal(password_hash(PW, strlen(PW), h1, sizeof(h1)), 0);
	assert_int_equal(password_hash(PW, strlen(PW), h2, sizeof(h2)), 0);
	/* OWASP's parameters, in the encoded string */
	assert_memory_equal(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
	assert_null(strstr(h1, PW));
	assert_string_not_equal(h1, h2); /* a fresh salt each time */
	assert_int_equal(password_verify(h1, PW, strlen(PW)), 0);
	assert_int_equal(password_verify(h2, PW, strlen(PW)), 0);
	assert_int_equal(password_verify(h1, "cheval correct agrafE", strlen(PW)), AP_EAUTH);
	assert_int_equal(password_verify(h1, PW, strlen(PW) - 1), AP_EAUTH);
	assert_int_equal(password_verify(h1, "", 0), AP_EAUTH);
}

static void test_bad_hashes(void **state)
{
	char h[PASSWORD_ENCODED_MAX], small[40];
	static const char *const bad[] = {"", "$argon2id$", "plain text",
					  "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"};
	/* no hash (a missing account): refused, after the same work */
	assert_int_equal(password_verify(NULL, PW, strlen(PW)), AP_EAUTH);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(password_verify(bad[i], PW, strlen(PW)), AP_EAUTH);
	assert_int_equal(password_hash(PW, strlen(PW), small, sizeof(small)), AP_EINVAL);
	/* a hash made with other parameters (t=1, m=64 KiB) still verifies:
	 * they are read from the encoded string */
	assert_int_equal(password_verify("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
					 "z4vpcTBI2NOodonryYSGlWwKijs4VtXBlC/CFStan5A",
					 PW, strlen(PW)),
			 0);
	assert_int_equal(password_hash(PW, strlen(PW), h, sizeof(h)), 0);
	h[strlen(h) - 2] = h[strlen(h) - 2] == 'A' ? 'B' : 'A'; /* tampered */
	assert_int_equal(password_verify(h, PW, strlen(PW)), AP_EAUTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_and_verify),
	    cmocka_unit_test(test_bad_hashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
