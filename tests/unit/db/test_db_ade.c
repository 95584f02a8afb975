/*
 * Unit tests for db_ade on :memory:: no token at first, a token stored and
 * read back (its sealed blobs byte for byte, a NUL inside included), a
 * second import replacing the first, and the table's checks refusing an
 * empty consumer key or a second row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ap_err.h"
#include "db_ade.h"
#include "db_int.h"
#include "store.h"

static void test_token(void **state)
{
	struct db *db = NULL;
	struct db_ade_token t, got;
	(void)state;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_ade_token_get(db, &got), AP_ENOTFOUND);
	unsigned char cs[] = {1, 0, 2, 0xff, 3}, as[] = {9, 8, 7};
	memset(&t, 0, sizeof(t));
	snprintf(t.consumer_key, sizeof(t.consumer_key), "%s", "CK_1");
	snprintf(t.access_token, sizeof(t.access_token), "%s", "AT_1");
	t.consumer_secret = cs;
	t.consumer_secret_len = sizeof(cs);
	t.access_secret = as;
	t.access_secret_len = sizeof(as);
	t.expiry = 1421270861;
	t.imported_at = 1700000000;
	snprintf(t.imported_by, sizeof(t.imported_by), "%s", "tech1");
	assert_int_equal(db_ade_token_put(db, &t), 0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_1");
	assert_string_equal(got.access_token, "AT_1");
	assert_int_equal(got.consumer_secret_len, sizeof(cs));
	assert_memory_equal(got.consumer_secret, cs, sizeof(cs));
	assert_int_equal(got.access_secret_len, sizeof(as));
	assert_memory_equal(got.access_secret, as, sizeof(as));
	assert_int_equal(got.expiry, 1421270861);
	assert_int_equal(got.imported_at, 1700000000);
	assert_string_equal(got.imported_by, "tech1");
	db_ade_token_clear(&got);
	assert_null(got.consumer_secret);
	/* a new import replaces the token */
	snprintf(t.consumer_key, sizeof(t.consumer_key), "%s", "CK_2");
	t.expiry = 1800000000;
	assert_int_equal(db_ade_token_put(db, &t), 0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_2");
	assert_int_equal(got.expiry, 1800000000);
	db_ade_token_clear(&got);
	int64_t n = 0;
	sqlite3_stmt *st;
	assert_int_equal(db_stmt(db, "SELECT count(*) FROM ade_token", &st), 0);
	assert_int_equal(db_step_int64(db, st, &n), 0);
	assert_int_equal(n, 1);
	/* the checks */
	t.consumer_key[0] = '\0';
	assert_true(db_ade_token_put(db, &t) < 0);
	assert_true(
	    db_exec(db, "INSERT INTO ade_token VALUES (2, 'CK', 'AT', x'00', x'00', 0, 0, '')") <
	    0);
	assert_int_equal(db_ade_token_get(db, &got), 0);
	assert_string_equal(got.consumer_key, "CK_2"); /* nothing lost */
	db_ade_token_clear(&got);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
