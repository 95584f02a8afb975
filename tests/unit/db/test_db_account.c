/* Unit tests for db/db_account.c: accounts, bearer tokens, roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>

#include "ap_err.h"
#include "db_account.h"
#include "store.h"
#include "unit.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int setup(void **state)
{
	struct db *db = NULL;
	if (db_open(":memory:", &db) != 0)
		return -1;
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	db_close(*state);
	return 0;
}

static void assert_token_format(const char *t)
{
	assert_int_equal(strlen(t), DB_TOKEN_LEN);
	assert_memory_equal(t, "ard_", 4);
	assert_int_equal(strspn(t + 4, B64URL), DB_TOKEN_LEN - 4);
}

static void test_token_format(void **state)
{
	char t[100][DB_TOKEN_LEN + 1];
	for (int i = 0; i < 100; i++) {
		assert_int_equal(db_token_new(t[i]), 0);
		assert_token_format(t[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(t[i], t[j]);
	}
}

static void test_create_and_lookup(void **state)
{
	struct db *db = *state;
	const char *schools[] = {"0131266F", "0130001C"};
	char token[DB_TOKEN_LEN + 1];
	struct db_account a;
	int64_t id = 0;

	assert_int_equal(
	    db_account_create(db, "ati.marseille", DB_ROLE_ATI, schools, 2, token, &id), 0);
	assert_true(id > 0);
	assert_token_format(token);

	memset(&a, 0xAA, sizeof(a));
	assert_int_equal(db_account_by_token(db, token, &a), 0);
	assert_int_equal(a.id, id);
	assert_string_equal(a.name, "ati.marseille");
	assert_int_equal(a.role, DB_ROLE_ATI);
	assert_int_equal(a.disabled, 0);
	assert_true(a.created_at > 1700000000);
	assert_int_equal(a.n_schools, 2);
	assert_string_equal(a.schools[0], "0131266F");
	assert_string_equal(a.schools[1], "0130001C");

	assert_int_equal(db_account_by_name(db, "ati.marseille", &a), 0);
	assert_int_equal(a.id, id);
	assert_int_equal(db_account_by_name(db, "nobody", &a), AP_ENOTFOUND);
}

static void test_wrong_tokens_refused(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1], other[DB_TOKEN_LEN + 1], s[DB_TOKEN_LEN + 8];
	struct db_account a;
	assert_int_equal(db_account_create(db, "t", DB_ROLE_TECHNICIAN, NULL, 0, token, NULL), 0);

	assert_int_equal(db_token_new(other), 0); /* well-formed, never issued */
	assert_int_equal(db_account_by_token(db, other, &a), AP_EAUTH);
	assert_int_equal(db_account_by_token(db, NULL, &a), AP_EAUTH);
	assert_int_equal(db_account_by_token(db, "", &a), AP_EAUTH);
	snprintf(s, sizeof(s), "%.*s", DB_TOKEN_LEN - 1, token); /* truncated */
	assert_int_equal(db_account_by_token(db, s, &a), AP_EAUTH);
	snprintf(s, sizeof(s), "%sx", token); /* extended */
	assert_int_equal(db_account_by_token(db, s, &a), AP_EAUTH);
	snprintf(s, sizeof(s), "%s", token);
	s[10] = s[10] == 'A' ? 'B' : 'A'; /* one character changed */
	assert_int_equal(db_account_by_token(db, s, &a), AP_EAUTH);
	assert_int_equal(db_account_by_token(db, token, &a), 0);
}

static void test_disable(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1];
	struct db_account a;
	assert_int_equal(db_account_create(db, "leaver", DB_ROLE_REFERENT, NULL, 0, token, NULL),
			 0);
	assert_int_equal(db_account_disable(db, "leaver"), 0);
	assert_int_equal(db_account_by_token(db, token, &a), AP_EAUTH);
	assert_int_equal(db_account_by_name(db, "leaver", &a), 0); /* still listed */
	assert_int_equal(a.disabled, 1);
	assert_int_equal(db_account_disable(db, "nobody"), AP_ENOTFOUND);
}

static void test_rotate(void **state)
{
	struct db *db = *state;
	char old[DB_TOKEN_LEN + 1], fresh[DB_TOKEN_LEN + 1], untouched[DB_TOKEN_LEN + 1];
	struct db_account a;
	assert_int_equal(db_account_create(db, "tech", DB_ROLE_TECHNICIAN, NULL, 0, old, NULL), 0);
	assert_int_equal(db_account_rotate_token(db, "tech", fresh), 0);
	assert_token_format(fresh);
	assert_string_not_equal(old, fresh);
	assert_int_equal(db_account_by_token(db, old, &a), AP_EAUTH);
	assert_int_equal(db_account_by_token(db, fresh, &a), 0);
	assert_string_equal(a.name, "tech");

	memset(untouched, 'z', sizeof(untouched));
	assert_int_equal(db_account_rotate_token(db, "nobody", untouched), AP_ENOTFOUND);
	assert_int_equal(untouched[0], 'z'); /* outputs written only on success */
}

static void test_names(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1], name[80];
	static const char *const good[] = {"a", "jean.dupont@ac-aix-marseille.fr", "ATI_13-nord",
					   "0123456789"};
	static const char *const bad[] = {"",	 "a b",	     "a/b",  "é",   "a\nb", "a'b",
					  "a;b", "<script>", "a\\b", "a:b", "a,b"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (db_account_create(db, good[i], DB_ROLE_AUDITOR, NULL, 0, token, NULL) != 0)
			fail_msg("name '%s' must be accepted", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (db_account_create(db, bad[i], DB_ROLE_AUDITOR, NULL, 0, token, NULL) !=
		    AP_EINVAL)
			fail_msg("name '%s' must be refused", bad[i]);
	assert_int_equal(db_account_create(db, NULL, DB_ROLE_AUDITOR, NULL, 0, token, NULL),
			 AP_EINVAL);
	memset(name, 'n', 64);
	name[64] = '\0';
	assert_int_equal(db_account_create(db, name, DB_ROLE_AUDITOR, NULL, 0, token, NULL), 0);
	name[64] = 'n';
	name[65] = '\0';
	assert_int_equal(db_account_create(db, name, DB_ROLE_AUDITOR, NULL, 0, token, NULL),
			 AP_EINVAL);
}

static void test_duplicate_name(void **state)
{
	struct db *db = *state;
	char first[DB_TOKEN_LEN + 1], second[DB_TOKEN_LEN + 1];
	struct db_account a;
	assert_int_equal(db_account_create(db, "dup", DB_ROLE_ATI, NULL, 0, first, NULL), 0);
	memset(second, 'z', sizeof(second));
	assert_int_equal(db_account_create(db, "dup", DB_ROLE_TECHNICIAN, NULL, 0, second, NULL),
			 AP_EEXIST);
	assert_int_equal(second[0], 'z');
	assert_int_equal(db_account_by_name(db, "dup", &a), 0);
	assert_int_equal(a.role, DB_ROLE_ATI); /* the first one is untouched */
	assert_int_equal(db_account_by_token(db, first, &a), 0);
}

static void test_schools(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1];
	const char *short_uai[] = {"0131266"};
	const char *many[DB_ACCOUNT_MAX_SCHOOLS + 1];
	struct db_account a;
	for (size_t i = 0; i <= DB_ACCOUNT_MAX_SCHOOLS; i++)
		many[i] = "0131266F";
	assert_int_equal(db_account_create(db, "s1", DB_ROLE_ATI, short_uai, 1, token, NULL),
			 AP_EINVAL);
	assert_int_equal(
	    db_account_create(db, "s2", DB_ROLE_ATI, many, DB_ACCOUNT_MAX_SCHOOLS + 1, token, NULL),
	    AP_EINVAL);
	assert_int_equal(
	    db_account_create(db, "s3", DB_ROLE_ATI, many, DB_ACCOUNT_MAX_SCHOOLS, token, NULL), 0);
	assert_int_equal(db_account_by_token(db, token, &a), 0);
	assert_int_equal(a.n_schools, DB_ACCOUNT_MAX_SCHOOLS);
	assert_string_equal(a.schools[DB_ACCOUNT_MAX_SCHOOLS - 1], "0131266F");
}

static void test_roles(void **state)
{
	static const char *const names[] = {"technician", "ati", "referent", "auditor"};
	enum db_role r;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(db_role_from_name(names[i], &r), 0);
		assert_int_equal(r, i);
		assert_string_equal(db_role_name(r), names[i]);
	}
	assert_int_equal(db_role_from_name("admin", &r), AP_EINVAL);
	assert_int_equal(db_role_from_name(NULL, &r), AP_EINVAL);
	assert_int_equal(db_role_from_name("Technician", &r), AP_EINVAL);
	assert_string_equal(db_role_name((enum db_role)42), "?");
}

static int collect(const struct db_account *a, void *arg)
{
	char *out = arg;
	strncat(out, a->name, 200 - strlen(out) - 2);
	strncat(out, ",", 200 - strlen(out) - 1);
	return strcmp(a->name, "m") == 0; /* stop after m */
}

static void test_list_ordered(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1], seen[200] = "";
	const char *names[] = {"z", "m", "b", "a"};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(
		    db_account_create(db, names[i], DB_ROLE_AUDITOR, NULL, 0, token, NULL), 0);
	assert_int_equal(db_account_list(db, collect, seen), 0);
	assert_string_equal(seen, "a,b,m,");
}

/* Only a hash of the token is stored: the file never holds the token. */
static void test_token_not_stored(void **state)
{
	char dir[4096], path[4200], token[DB_TOKEN_LEN + 1];
	struct db *db = NULL;
	sqlite3 *h;
	sqlite3_stmt *st;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/a.db", dir);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_account_create(db, "t", DB_ROLE_TECHNICIAN, NULL, 0, token, NULL), 0);
	db_close(db);

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT token_hash FROM account", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const char *stored = (const char *)sqlite3_column_text(st, 0);
	assert_int_equal(strlen(stored), 64);
	assert_null(strstr(stored, token + 4));
	sqlite3_finalize(st);
	sqlite3_close(h);

	FILE *f = fopen(path, "rb");
	char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_null(memmem(buf, n, token + 4, DB_TOKEN_LEN - 4));
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_format),
	    cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_tokens_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schools, setup, teardown),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test_setup_teardown(test_list_ordered, setup, teardown),
	    cmocka_unit_test(test_token_not_stored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
