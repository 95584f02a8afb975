/* Unit tests for db/db_account.c: accounts, bearer tokens, roles, their
 * profile and password hash. */
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

/* A new account has no profile, no password, never signed in. */
static void test_new_account_profile(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1], hash[DB_PASSWORD_HASH_MAX + 1];
	struct db_account a;
	int64_t id = 0;
	assert_int_equal(db_account_create(db, "neuf", DB_ROLE_AUDITOR, NULL, 0, token, &id), 0);
	assert_int_equal(db_account_by_id(db, id, &a), 0);
	assert_string_equal(a.name, "neuf");
	assert_string_equal(a.display_name, "");
	assert_string_equal(a.email, "");
	assert_int_equal(a.password_set, 0);
	assert_int_equal(a.password_at, 0);
	assert_int_equal(a.last_signin_at, 0);
	assert_int_equal(db_account_password(db, id, hash, sizeof(hash)), AP_ENOTFOUND);
	assert_int_equal(db_account_by_id(db, id + 1000, &a), AP_ENOTFOUND);
}

static void test_update(void **state)
{
	struct db *db = *state;
	char token[DB_TOKEN_LEN + 1], long_text[DB_DISPLAY_NAME_MAX + 2];
	const char *one[] = {"0131266F"}, *two[] = {"0131266F", "0132318Z"}, *bad[] = {"013"};
	struct db_account a;
	struct db_account_change c = {.enabled = -1};
	assert_int_equal(db_account_create(db, "ref", DB_ROLE_REFERENT, one, 1, token, NULL), 0);

	c.display_name = "Mme Référente";
	c.email = "ref@ac-aix-marseille.fr";
	assert_int_equal(db_account_update(db, "ref", &c), 0);
	assert_int_equal(db_account_by_name(db, "ref", &a), 0);
	assert_string_equal(a.display_name, "Mme Référente");
	assert_string_equal(a.email, "ref@ac-aix-marseille.fr");
	assert_int_equal(a.n_schools, 1); /* untouched */

	memset(&c, 0, sizeof(c));
	c.enabled = -1;
	c.schools = two;
	c.n_schools = 2;
	c.set_schools = 1;
	assert_int_equal(db_account_update(db, "ref", &c), 0);
	assert_int_equal(db_account_by_name(db, "ref", &a), 0);
	assert_int_equal(a.n_schools, 2);
	assert_string_equal(a.schools[1], "0132318Z");
	assert_string_equal(a.display_name, "Mme Référente"); /* untouched */

	memset(&c, 0, sizeof(c));
	c.enabled = 0;
	c.email = "";
	assert_int_equal(db_account_update(db, "ref", &c), 0);
	assert_int_equal(db_account_by_name(db, "ref", &a), 0);
	assert_int_equal(a.disabled, 1);
	assert_string_equal(a.email, "");
	assert_int_equal(db_account_by_token(db, token, &a), AP_EAUTH);
	c.enabled = 1;
	c.email = NULL;
	assert_int_equal(db_account_update(db, "ref", &c), 0);
	assert_int_equal(db_account_by_token(db, token, &a), 0);
	assert_int_equal(a.disabled, 0);

	/* refused changes change nothing */
	c.schools = bad;
	c.n_schools = 1;
	c.set_schools = 1;
	assert_int_equal(db_account_update(db, "ref", &c), AP_EINVAL);
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	memset(&c, 0, sizeof(c));
	c.enabled = -1;
	c.display_name = long_text;
	assert_int_equal(db_account_update(db, "ref", &c), AP_EINVAL);
	long_text[DB_EMAIL_MAX + 1] = '\0';
	c.display_name = NULL;
	c.email = long_text;
	assert_int_equal(db_account_update(db, "ref", &c), AP_EINVAL);
	assert_int_equal(db_account_update(db, "nobody", &c), AP_EINVAL);
	c.email = NULL;
	assert_int_equal(db_account_update(db, "nobody", &c), AP_ENOTFOUND);
	assert_int_equal(db_account_by_name(db, "ref", &a), 0);
	assert_int_equal(a.n_schools, 2);
	assert_string_equal(a.display_name, "Mme Référente");
}

static void test_password(void **state)
{
	struct db *db = *state;
	static const char h1[] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";
	char token[DB_TOKEN_LEN + 1], hash[DB_PASSWORD_HASH_MAX + 1], small[10],
	    huge[DB_PASSWORD_HASH_MAX + 2];
	struct db_account a;
	int64_t id = 0;
	assert_int_equal(db_account_create(db, "p", DB_ROLE_ATI, NULL, 0, token, &id), 0);
	db_clock_freeze(1800000000);
	assert_int_equal(db_account_set_password(db, id, h1), 0);
	assert_int_equal(db_account_password(db, id, hash, sizeof(hash)), 0);
	assert_string_equal(hash, h1);
	assert_int_equal(db_account_by_name(db, "p", &a), 0);
	assert_int_equal(a.password_set, 1);
	assert_int_equal(a.password_at, 1800000000);
	memset(small, 'z', sizeof(small)); /* too small a buffer: nothing written */
	assert_int_equal(db_account_password(db, id, small, sizeof(small)), AP_ETOOBIG);
	assert_int_equal(small[0], 'z');
	memset(huge, 'h', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(db_account_set_password(db, id, huge), AP_EINVAL);
	assert_int_equal(db_account_set_password(db, id + 99, h1), AP_ENOTFOUND);
	assert_int_equal(db_account_signed_in(db, id), 0);
	assert_int_equal(db_account_signed_in(db, id + 99), AP_ENOTFOUND);
	assert_int_equal(db_account_by_id(db, id, &a), 0);
	assert_int_equal(a.last_signin_at, 1800000000);
	db_clock_freeze(0);
}

static void test_helpers(void **state)
{
	char a[44], b[44], h[65];
	assert_int_equal(db_random_b64u(a, 43), 0);
	assert_int_equal(db_random_b64u(b, 43), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, B64URL), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(db_random_b64u(a, 1000), AP_EINVAL); /* more than it draws at once */
	db_sha256_hex("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
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
	    cmocka_unit_test_setup_teardown(test_new_account_profile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password, setup, teardown),
	    cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
