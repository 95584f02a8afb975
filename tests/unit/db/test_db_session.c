/* Unit tests for db/db_session.c: web sessions and their CSRF tokens,
 * one-time links, failed sign-ins; no secret stored in clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>

#include "ap_err.h"
#include "db_account.h"
#include "db_session.h"
#include "store.h"
#include "unit.h"

#define T0 1800000000

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct fixture {
	struct db *db;
	int64_t alice, bob; /* account ids */
};

static int setup(void **state)
{
	static struct fixture f;
	char token[DB_TOKEN_LEN + 1];
	memset(&f, 0, sizeof(f));
	db_clock_freeze(T0);
	if (db_open(":memory:", &f.db) != 0 ||
	    db_account_create(f.db, "alice", DB_ROLE_TECHNICIAN, NULL, 0, token, &f.alice) != 0 ||
	    db_account_create(f.db, "bob", DB_ROLE_AUDITOR, NULL, 0, token, &f.bob) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	db_clock_freeze(0);
	return 0;
}

static void assert_id(const char *s)
{
	assert_int_equal(strlen(s), DB_SESSION_ID_LEN);
	assert_int_equal(strspn(s, B64URL), DB_SESSION_ID_LEN);
}

static void test_session_roundtrip(void **state)
{
	struct fixture *f = *state;
	char sid[DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1], again[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	assert_int_equal(db_session_new(f->db, f->alice, "192.0.2.7", 5, sid, csrf), 0);
	assert_id(sid);
	assert_id(csrf);
	assert_string_not_equal(sid, csrf);
	db_session_csrf(sid, again); /* the token is given again from the id */
	assert_string_equal(again, csrf);

	memset(&s, 0xAA, sizeof(s));
	assert_int_equal(db_session_get(f->db, sid, &s), 0);
	assert_int_equal(s.account_id, f->alice);
	assert_int_equal(s.created_at, T0);
	assert_int_equal(s.last_seen, T0);
	assert_string_equal(s.peer, "192.0.2.7");
	assert_true(db_session_csrf_ok(&s, csrf));

	db_clock_freeze(T0 + 30);
	assert_int_equal(db_session_touch(f->db, s.id), 0);
	assert_int_equal(db_session_get(f->db, sid, &s), 0);
	assert_int_equal(s.last_seen, T0 + 30);
	assert_int_equal(s.created_at, T0);

	assert_int_equal(db_session_end(f->db, s.id), 0);
	assert_int_equal(db_session_get(f->db, sid, &s), AP_ENOTFOUND);
	assert_int_equal(db_session_end(f->db, s.id), AP_ENOTFOUND);
	assert_int_equal(db_session_touch(f->db, s.id), AP_ENOTFOUND);
}

static void test_csrf_checks(void **state)
{
	struct fixture *f = *state;
	char sid[DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1], other[DB_SESSION_ID_LEN + 1],
	    ocsrf[DB_SESSION_ID_LEN + 1], s2[DB_SESSION_ID_LEN + 8];
	struct db_session s;
	assert_int_equal(db_session_new(f->db, f->alice, "", 5, sid, csrf), 0);
	assert_int_equal(db_session_new(f->db, f->alice, "", 5, other, ocsrf), 0);
	assert_int_equal(db_session_get(f->db, sid, &s), 0);
	assert_true(db_session_csrf_ok(&s, csrf));
	assert_false(db_session_csrf_ok(&s, ocsrf)); /* another session's token */
	assert_false(db_session_csrf_ok(&s, sid));   /* the id is not the token */
	assert_false(db_session_csrf_ok(&s, NULL));
	assert_false(db_session_csrf_ok(&s, ""));
	snprintf(s2, sizeof(s2), "%sA", csrf); /* longer */
	assert_false(db_session_csrf_ok(&s, s2));
	snprintf(s2, sizeof(s2), "%.*s", DB_SESSION_ID_LEN - 1, csrf); /* shorter */
	assert_false(db_session_csrf_ok(&s, s2));
	snprintf(s2, sizeof(s2), "%s", csrf);
	s2[5] = s2[5] == 'A' ? 'B' : 'A'; /* one character off */
	assert_false(db_session_csrf_ok(&s, s2));
}

static void test_bad_ids(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"",
					  "short",
					  "../../../../etc/passwd",
					  NULL,
					  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
					  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	char sid[DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	struct db_link l;
	assert_int_equal(db_session_new(f->db, f->alice, "", 5, sid, csrf), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(db_session_get(f->db, bad[i], &s), AP_ENOTFOUND);
		assert_int_equal(db_link_get(f->db, bad[i], &l), AP_ENOTFOUND);
		assert_int_equal(db_link_use(f->db, bad[i]), AP_ENOTFOUND);
	}
	assert_int_equal(db_session_get(f->db, csrf, &s), AP_ENOTFOUND); /* a token is no id */
}

static void test_sessions_per_account(void **state)
{
	struct fixture *f = *state;
	char sid[8][DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1],
	    bobs[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	int64_t n = 0;
	assert_int_equal(db_session_new(f->db, f->bob, "", 3, bobs, csrf), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(db_session_new(f->db, f->alice, "", 3, sid[i], csrf), 0);
	/* the three newest live on, the oldest end, bob's is untouched */
	assert_int_equal(db_session_get(f->db, sid[0], &s), AP_ENOTFOUND);
	assert_int_equal(db_session_get(f->db, sid[1], &s), AP_ENOTFOUND);
	for (int i = 2; i < 5; i++)
		assert_int_equal(db_session_get(f->db, sid[i], &s), 0);
	assert_int_equal(db_session_get(f->db, bobs, &s), 0);

	assert_int_equal(db_session_end_account(f->db, f->alice, &n), 0);
	assert_int_equal(n, 3);
	for (int i = 2; i < 5; i++)
		assert_int_equal(db_session_get(f->db, sid[i], &s), AP_ENOTFOUND);
	assert_int_equal(db_session_get(f->db, bobs, &s), 0);
	assert_int_equal(db_session_end_account(f->db, f->alice, &n), 0);
	assert_int_equal(n, 0);
}

static void test_session_prune(void **state)
{
	struct fixture *f = *state;
	char old[DB_SESSION_ID_LEN + 1], idle[DB_SESSION_ID_LEN + 1], fresh[DB_SESSION_ID_LEN + 1],
	    csrf[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	assert_int_equal(db_session_new(f->db, f->alice, "", 9, old, csrf), 0);	 /* opened at T0 */
	assert_int_equal(db_session_new(f->db, f->alice, "", 9, idle, csrf), 0); /* unused */
	db_clock_freeze(T0 + 500);
	assert_int_equal(db_session_get(f->db, old, &s), 0);
	assert_int_equal(db_session_touch(f->db, s.id), 0);
	assert_int_equal(db_session_new(f->db, f->alice, "", 9, fresh, csrf), 0);
	db_clock_freeze(T0 + 1000);
	/* idle 600 s: `idle` (last used at T0) ends; max 1000 s: `old` ends */
	assert_int_equal(db_session_prune(f->db, 600, 1000), 0);
	assert_int_equal(db_session_get(f->db, idle, &s), AP_ENOTFOUND);
	assert_int_equal(db_session_get(f->db, old, &s), AP_ENOTFOUND);
	assert_int_equal(db_session_get(f->db, fresh, &s), 0);
}

static void test_links(void **state)
{
	struct fixture *f = *state;
	char t1[DB_SESSION_ID_LEN + 1], t2[DB_SESSION_ID_LEN + 1], tb[DB_SESSION_ID_LEN + 1];
	struct db_link l;
	int64_t exp = 0;
	assert_int_equal(db_link_new(f->db, f->alice, DB_LINK_INVITE, 3600, t1, &exp), 0);
	assert_id(t1);
	assert_int_equal(exp, T0 + 3600);
	memset(&l, 0xAA, sizeof(l));
	assert_int_equal(db_link_get(f->db, t1, &l), 0);
	assert_int_equal(l.account_id, f->alice);
	assert_int_equal(l.kind, DB_LINK_INVITE);
	assert_int_equal(l.created_at, T0);
	assert_int_equal(l.expires_at, T0 + 3600);
	assert_string_equal(db_link_kind_name(l.kind), "invite");
	assert_string_equal(db_link_kind_name(DB_LINK_RESET), "reset");

	/* a new link of the same account voids the older one; bob's lives on */
	assert_int_equal(db_link_new(f->db, f->bob, DB_LINK_INVITE, 3600, tb, &exp), 0);
	assert_int_equal(db_link_new(f->db, f->alice, DB_LINK_RESET, 3600, t2, &exp), 0);
	assert_int_equal(db_link_get(f->db, t1, &l), AP_ENOTFOUND);
	assert_int_equal(db_link_use(f->db, t1), AP_ENOTFOUND);
	assert_int_equal(db_link_get(f->db, t2, &l), 0);
	assert_int_equal(l.kind, DB_LINK_RESET);
	assert_int_equal(db_link_get(f->db, tb, &l), 0);

	/* one use */
	assert_int_equal(db_link_use(f->db, t2), 0);
	assert_int_equal(db_link_get(f->db, t2, &l), AP_ENOTFOUND);
	assert_int_equal(db_link_use(f->db, t2), AP_ENOTFOUND);

	/* expiry: valid up to its last second, not at it */
	db_clock_freeze(T0 + 3599);
	assert_int_equal(db_link_get(f->db, tb, &l), 0);
	db_clock_freeze(T0 + 3600);
	assert_int_equal(db_link_get(f->db, tb, &l), AP_ENOTFOUND);
	assert_int_equal(db_link_use(f->db, tb), AP_ENOTFOUND);
}

static void test_signin_failures(void **state)
{
	struct fixture *f = *state;
	int64_t n = -1, last = -1;
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "alice", 0, &n, &last), 0);
	assert_int_equal(n, 0);
	assert_int_equal(last, 0);
	for (int i = 0; i < 3; i++) {
		db_clock_freeze(T0 + 100 * i);
		assert_int_equal(db_signin_failed(f->db, DB_SIGNIN_ACCOUNT, "alice"), 0);
	}
	assert_int_equal(db_signin_failed(f->db, DB_SIGNIN_ADDRESS, "alice"), 0); /* another kind */
	assert_int_equal(db_signin_failed(f->db, DB_SIGNIN_ACCOUNT, "bob"), 0);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "alice", 0, &n, &last), 0);
	assert_int_equal(n, 3);
	assert_int_equal(last, T0 + 200);
	/* a window counts only what is in it */
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "alice", T0 + 100, &n, &last),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ADDRESS, "alice", 0, &n, &last), 0);
	assert_int_equal(n, 1);

	assert_int_equal(db_signin_clear(f->db, DB_SIGNIN_ACCOUNT, "alice"), 0);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "alice", 0, &n, &last), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "bob", 0, &n, &last), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ADDRESS, "alice", 0, &n, &last), 0);
	assert_int_equal(n, 1);

	/* pruned by age */
	assert_int_equal(db_signin_prune(f->db, T0 + 201), 0);
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, "bob", 0, &n, &last), 0);
	assert_int_equal(n, 0);

	/* a long key is cut, not refused, and counts as its first 128 bytes */
	char key[300];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(db_signin_failed(f->db, DB_SIGNIN_ACCOUNT, key), 0);
	key[200] = '\0';
	assert_int_equal(db_signin_failures(f->db, DB_SIGNIN_ACCOUNT, key, 0, &n, &last), 0);
	assert_int_equal(n, 1);
}

/* Ids, CSRF tokens and link tokens are kept as their SHA-256 only. */
static void test_nothing_in_clear(void **state)
{
	char dir[4096], path[4200], sid[DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1],
	    link[DB_SESSION_ID_LEN + 1], hash[65], token[DB_TOKEN_LEN + 1];
	struct db *db = NULL;
	int64_t id = 0, exp = 0;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/s.db", dir);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_account_create(db, "t", DB_ROLE_TECHNICIAN, NULL, 0, token, &id), 0);
	assert_int_equal(db_session_new(db, id, "", 5, sid, csrf), 0);
	assert_int_equal(db_link_new(db, id, DB_LINK_INVITE, 60, link, &exp), 0);
	db_close(db);

	FILE *fp = fopen(path, "rb");
	static char buf[1 << 22];
	size_t n = fread(buf, 1, sizeof(buf), fp);
	assert_true(feof(fp)); /* the whole file */
	fclose(fp);
	assert_null(memmem(buf, n, sid, DB_SESSION_ID_LEN));
	assert_null(memmem(buf, n, csrf, DB_SESSION_ID_LEN));
	assert_null(memmem(buf, n, link, DB_SESSION_ID_LEN));
	db_sha256_hex(sid, hash); /* what is there instead */
	assert_non_null(memmem(buf, n, hash, 64));
	db_sha256_hex(link, hash);
	assert_non_null(memmem(buf, n, hash, 64));
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_session_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csrf_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_per_account, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signin_failures, setup, teardown),
	    cmocka_unit_test(test_nothing_in_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
