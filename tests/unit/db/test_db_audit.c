/*
 * Unit tests for db/db_audit.c: the append-only, hash-chained audit log.
 *
 * Tampering is done the way an intruder with file access would: through a
 * second SQLite connection to the same file, dropping the guard triggers
 * first.  Each kind of tampering must be reported with the first bad id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <string.h>

#include "ap_err.h"
#include "db_audit.h"
#include "store.h"
#include "unit.h"

#define NROWS 5

struct fixture {
	char dir[4096];
	char path[4200];
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
	if (db_open(f->path, &f->db) != 0)
		return -1;
	for (int i = 1; i <= NROWS; i++) {
		char target[32];
		snprintf(target, sizeof(target), "DMPXK%04d", i);
		if (db_audit_append(f->db, "tech", "device.lock", target, "lost on the bus",
				    "{\"n\":1}") != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* Runs sql through a second connection; returns the SQLite result code. */
static int tamper(struct fixture *f, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc;
}

static const char drop_guards[] = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;";

static void expect_bad(struct fixture *f, int64_t want_bad)
{
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECONFLICT);
	assert_int_equal(bad, want_bad);
}

static void test_intact_chain_verifies(void **state)
{
	struct fixture *f = *state;
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS);
	assert_int_equal(bad, -1); /* not written on success */
}

static void test_empty_log_verifies(void **state)
{
	struct db *db = NULL;
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_open(":memory:", &db), 0);
	assert_int_equal(db_audit_verify(db, &rows, &bad), 0);
	assert_int_equal(rows, 0);
	db_close(db);
}

struct seen {
	int n;
	int64_t ids[16];
	char last_hash[65];
	char targets[16][32];
};

static int collect(const struct db_audit_row *r, void *arg)
{
	struct seen *s = arg;
	s->ids[s->n] = r->id;
	snprintf(s->targets[s->n], sizeof(s->targets[0]), "%s", r->target);
	snprintf(s->last_hash, sizeof(s->last_hash), "%s", r->hash);
	assert_string_equal(r->actor, "tech");
	assert_string_equal(r->action, "device.lock");
	assert_string_equal(r->reason, "lost on the bus");
	assert_string_equal(r->detail, "{\"n\":1}");
	assert_true(r->ts > 1700000000);
	return ++s->n == 16;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	assert_int_equal(db_audit_list(f->db, 0, 0, collect, &s), 0);
	assert_int_equal(s.n, NROWS);
	for (int i = 0; i < NROWS; i++)
		assert_int_equal(s.ids[i], i + 1);
	assert_string_equal(s.targets[2], "DMPXK0003");
	assert_int_equal(strlen(s.last_hash), 64);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_audit_list(f->db, 0, 2, collect, &s), 0); /* limit */
	assert_int_equal(s.n, 2);

	memset(&s, 0, sizeof(s));
	assert_int_equal(db_audit_list(f->db, db_now() + 3600, 0, collect, &s), 0); /* since */
	assert_int_equal(s.n, 0);
}

static int count_rows(const struct db_audit_row *r, void *arg)
{
	(void)r;
	++*(int *)arg;
	return 0;
}

static void test_since_filters_by_time(void **state)
{
	struct fixture *f = *state;
	int n = 0;
	db_clock_set_offset(7200);
	assert_int_equal(db_audit_append(f->db, "later", "x", NULL, NULL, NULL), 0);
	db_clock_set_offset(0);
	assert_int_equal(db_audit_list(f->db, db_now() + 3600, 0, count_rows, &n), 0);
	assert_int_equal(n, 1);
	int64_t rows = 0, bad = 0;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0); /* NULL fields are "" */
	assert_int_equal(rows, NROWS + 1);
}

struct ids {
	int n;
	int64_t id[32];
};

static int collect_id(const struct db_audit_row *r, void *arg)
{
	struct ids *s = arg;
	s->id[s->n++] = r->id;
	return s->n == 32;
}

/* The ids f selects, as a string "6,7,9" (into out). */
static const char *find_ids(struct db *db, const struct db_audit_filter *f, char out[200])
{
	struct ids s = {0};
	size_t used = 0;
	assert_int_equal(db_audit_find(db, f, collect_id, &s), 0);
	out[0] = '\0';
	for (int i = 0; i < s.n; i++)
		used += (size_t)snprintf(out + used, 200 - used, "%s%lld", i ? "," : "",
					 (long long)s.id[i]);
	return out;
}

static void test_find_filters_and_pages(void **state)
{
	struct fixture *f = *state;
	char got[200];
	/* rows 6..11 after the five device.lock rows of tech */
	assert_int_equal(db_audit_append(f->db, "ati", "loan.create", "DMPXK0002", "", ""), 0);
	assert_int_equal(db_audit_append(f->db, "ati", "loan.return", "DMPXK0002", "", ""), 0);
	assert_int_equal(db_audit_append(f->db, "tech", "loans.other", "x", "", ""), 0);
	assert_int_equal(db_audit_append(f->db, "tech", "loan", "y", "", ""), 0);
	assert_int_equal(db_audit_append(f->db, "tech", "policy.assign", "school:0131266F", "", ""),
			 0);
	assert_int_equal(
	    db_audit_append(f->db, "tech", "policy.assign", "group:0131266F/3A", "", ""), 0);
	struct db_audit_filter all = {0};
	assert_string_equal(find_ids(f->db, &all, got), "1,2,3,4,5,6,7,8,9,10,11");
	struct db_audit_filter family = {.action = "loan"};
	assert_string_equal(find_ids(f->db, &family, got), "6,7,9"); /* not loans.other */
	struct db_audit_filter one = {.action = "loan.return"};
	assert_string_equal(find_ids(f->db, &one, got), "7");
	struct db_audit_filter actor = {.actor = "ati"};
	assert_string_equal(find_ids(f->db, &actor, got), "6,7");
	struct db_audit_filter target = {.target = "DMPXK0002"};
	assert_string_equal(find_ids(f->db, &target, got), "2,6,7");
	struct db_audit_filter both = {.target = "DMPXK0002", .actor = "tech"};
	assert_string_equal(find_ids(f->db, &both, got), "2");
	struct db_audit_filter school = {.school = "0131266F"};
	assert_string_equal(find_ids(f->db, &school, got), "10,11");
	struct db_audit_filter other = {.school = "0131266G"};
	assert_string_equal(find_ids(f->db, &other, got), "");
	/* keyset pages, both orders */
	struct db_audit_filter up = {.after = 3, .limit = 2};
	assert_string_equal(find_ids(f->db, &up, got), "4,5");
	struct db_audit_filter down = {.newest_first = 1, .limit = 3};
	assert_string_equal(find_ids(f->db, &down, got), "11,10,9");
	down.after = 9;
	assert_string_equal(find_ids(f->db, &down, got), "8,7,6");
	struct db_audit_filter down_family = {.newest_first = 1, .after = 9, .action = "loan"};
	assert_string_equal(find_ids(f->db, &down_family, got), "7,6");
	/* time bounds, inclusive */
	struct db_audit_filter later = {.from = db_now() + 3600};
	assert_string_equal(find_ids(f->db, &later, got), "");
	struct db_audit_filter earlier = {.to = db_now() - 3600};
	assert_string_equal(find_ids(f->db, &earlier, got), "");
	struct db_audit_filter now = {
	    .from = db_now() - 3600, .to = db_now() + 3600, .actor = "ati"};
	assert_string_equal(find_ids(f->db, &now, got), "6,7");
}

static void test_triggers_refuse_update_and_delete(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, "UPDATE audit SET actor = 'someone' WHERE id = 2"),
			 SQLITE_CONSTRAINT);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 2"), SQLITE_CONSTRAINT);
	assert_int_equal(tamper(f, "DELETE FROM audit"), SQLITE_CONSTRAINT);
	int64_t rows = 0, bad = 0;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS);
}

static void test_edited_field_detected(void **state)
{
	static const char *const edits[] = {
	    "UPDATE audit SET actor = 'someone' WHERE id = 3",
	    "UPDATE audit SET action = 'device.unlock' WHERE id = 3",
	    "UPDATE audit SET target = 'OTHER' WHERE id = 3",
	    "UPDATE audit SET reason = '' WHERE id = 3",
	    "UPDATE audit SET detail = '{\"n\":2}' WHERE id = 3",
	    "UPDATE audit SET ts = ts - 86400 WHERE id = 3",
	    "UPDATE audit SET hash = (SELECT hash FROM audit WHERE id = 2) WHERE id = 3",
	    "UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE id = 1) WHERE id = 3",
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct fixture *f;
		assert_int_equal(setup((void **)&f), 0);
		assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
		assert_int_equal(tamper(f, edits[i]), SQLITE_OK);
		int64_t rows = -1, bad = -1;
		if (db_audit_verify(f->db, &rows, &bad) != AP_ECONFLICT || bad != 3)
			fail_msg("not detected (bad=%lld): %s", (long long)bad, edits[i]);
		assert_int_equal(rows, 2); /* rows 1 and 2 were checked and good */
		teardown((void **)&f);
	}
}

/* Editing a row and recomputing its own hash still breaks the next link. */
static void test_rehashed_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET actor = 'x', hash = 'f00d' WHERE id = 3"),
			 SQLITE_OK);
	expect_bad(f, 3);
}

static void test_deleted_middle_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 3"), SQLITE_OK);
	expect_bad(f, 4); /* the id after the gap */
}

static void test_deleted_first_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 1"), SQLITE_OK);
	expect_bad(f, 2);
}

static void test_deleted_last_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 5"), SQLITE_OK);
	expect_bad(f, 5);
}

static void test_deleted_all_rows_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit"), SQLITE_OK);
	expect_bad(f, 1);
}

/* Renumbering the rows to hide a gap breaks the hashes. */
static void test_renumbered_rows_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 3;"
				   "UPDATE audit SET id = id - 1 WHERE id > 3;"
				   "UPDATE audit_head SET last_id = 4"),
			 SQLITE_OK);
	expect_bad(f, 3);
}

/* Appending after tampering does not launder the chain. */
static void test_append_after_tamper_still_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET reason = 'found' WHERE id = 2"), SQLITE_OK);
	assert_int_equal(db_audit_append(f->db, "tech", "later", "", "", ""), 0);
	expect_bad(f, 2);
}

/* Deleting the newest row and then letting Ardoise append must not hide
 * the deletion: the chain continues from the recorded head. */
static void test_append_after_deleting_last_row_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "DELETE FROM audit WHERE id = 5"), SQLITE_OK);
	assert_int_equal(db_audit_append(f->db, "tech", "later", "", "", ""), 0);
	int64_t rows = -1, bad = -1;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECONFLICT);
	assert_int_equal(rows, 4);
	assert_int_equal(bad, 5); /* the appended row does not link to row 4 */
}

/* ---- the keyed chain ------------------------------------------------- */

static const unsigned char key[DB_AUDIT_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static int setup_keyed(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
	if (db_open(f->path, &f->db) != 0 || db_audit_set_key(f->db, key, sizeof(key)) != 0)
		return -1;
	for (int i = 1; i <= NROWS; i++)
		if (db_audit_append(f->db, "tech", "device.lock", "DMPXK0001", "lost", "") != 0)
			return -1;
	*state = f;
	return 0;
}

/* A row's hash as an intruder or a checker recomputes it: SHA-256 (key
 * NULL) or HMAC-SHA-256 by OpenSSL's own HMAC, over the row's fields. */
static void hash_row(sqlite3 *h, int64_t id, const char *prev, const unsigned char *k, char out[65])
{
	sqlite3_stmt *st;
	char msg[2048];
	unsigned char md[32];
	size_t n = 0, mdlen = 0;
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT ts, actor, action, target, reason, detail"
					    " FROM audit WHERE id = ?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (size_t)snprintf(msg, sizeof(msg), "%lld:%lld:%zu:%s", (long long)id,
			     (long long)sqlite3_column_int64(st, 0), strlen(prev), prev);
	for (int c = 1; c <= 5; c++) {
		const char *t = (const char *)sqlite3_column_text(st, c);
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%zu:%s", strlen(t), t);
	}
	sqlite3_finalize(st);
	if (k)
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, DB_AUDIT_KEY_LEN,
					  (unsigned char *)msg, n, md, sizeof(md), &mdlen));
	else
		assert_int_equal(EVP_Digest(msg, n, md, NULL, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Re-chains rows from..last with hashes under k (NULL: plain SHA-256),
 * as the unkeyed chain allowed anyone with the database to. */
static void rechain(struct fixture *f, int64_t from, int64_t last, const unsigned char *k)
{
	sqlite3 *h;
	char prev[65], hash[65], sql[300];
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	sqlite3_prepare_v2(h, "SELECT hash FROM audit WHERE id = ?", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, from - 1);
	snprintf(prev, sizeof(prev), "%s",
		 sqlite3_step(st) == SQLITE_ROW
		     ? (const char *)sqlite3_column_text(st, 0)
		     : "0000000000000000000000000000000000000000000000000000000000000000");
	sqlite3_finalize(st);
	for (int64_t id = from; id <= last; id++) {
		hash_row(h, id, prev, k, hash);
		snprintf(sql, sizeof(sql),
			 "UPDATE audit SET prev_hash = '%s', hash = '%s' WHERE id = %lld", prev,
			 hash, (long long)id);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		memcpy(prev, hash, sizeof(prev));
	}
	snprintf(sql, sizeof(sql), "UPDATE audit_head SET last_hash = '%s'", prev);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static int action_of(struct fixture *f, int64_t id, char *out, size_t cap)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	sqlite3_prepare_v2(h, "SELECT action FROM audit WHERE id = ?", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A new log's first row is the anchor; every row is HMAC-SHA-256 under
 * the key, exactly as OpenSSL's HMAC computes it. */
static void test_keyed_chain_is_hmac(void **state)
{
	struct fixture *f = *state;
	int64_t rows = -1, bad = -1;
	char action[64], want[65], got[65];
	assert_int_equal(action_of(f, 1, action, sizeof(action)), 0);
	assert_string_equal(action, DB_AUDIT_REKEY);
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS + 1);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	assert_int_equal(db_audit_row_hash(f->db, 2, got), 0);
	char prev[65];
	assert_int_equal(db_audit_row_hash(f->db, 1, prev), 0);
	hash_row(h, 2, prev, key, want);
	sqlite3_close(h);
	assert_string_equal(got, want);
}

/* An edited row re-chained with plain SHA-256 (all an intruder without
 * the key can do) fails at that row; so does one re-chained under
 * another key. */
static void test_rechained_without_key_detected(void **state)
{
	struct fixture *f = *state;
	static const unsigned char other[DB_AUDIT_KEY_LEN] = "another key, not the daemon's!!";
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET reason = 'found' WHERE id = 4"), SQLITE_OK);
	rechain(f, 4, NROWS + 1, NULL);
	expect_bad(f, 4);
	rechain(f, 4, NROWS + 1, other);
	expect_bad(f, 4);
	rechain(f, 4, NROWS + 1, key); /* with the key itself it would pass */
	int64_t rows, bad;
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
}

/* Without the key a keyed chain can be neither verified nor appended to. */
static void test_keyed_chain_needs_the_key(void **state)
{
	struct fixture *f = *state;
	int64_t rows, bad;
	db_audit_set_key(f->db, NULL, 0);
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECRYPTO);
	assert_int_equal(db_audit_append(f->db, "x", "y", "", "", ""), AP_ECRYPTO);
	assert_int_equal(db_audit_set_key(f->db, key, 5), AP_EINVAL);
}

/* A log from before the key: its rows keep verifying, the anchor comes
 * next and covers the unkeyed head, and a re-chained old row shows at the
 * anchor. */
static void test_old_log_reanchored(void **state)
{
	struct fixture *f = *state; /* setup(): NROWS unkeyed rows */
	int64_t rows, bad, anchor = -1;
	char action[64];
	struct db_audit_head head;
	assert_int_equal(db_audit_set_key(f->db, key, sizeof(key)), 0);
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), AP_ECONFLICT);
	assert_int_equal(bad, 1); /* with the key, an unanchored log is not trusted */
	assert_int_equal(db_audit_anchor(f->db, &anchor), 0);
	assert_int_equal(anchor, NROWS + 1);
	assert_int_equal(db_audit_anchor(f->db, &anchor), 0);
	assert_int_equal(anchor, 0); /* once */
	assert_int_equal(db_audit_append(f->db, "tech", "later", "", "", ""), 0);
	assert_int_equal(db_audit_verify(f->db, &rows, &bad), 0);
	assert_int_equal(rows, NROWS + 2);
	assert_int_equal(action_of(f, NROWS + 1, action, sizeof(action)), 0);
	assert_string_equal(action, DB_AUDIT_REKEY);
	assert_int_equal(db_audit_last(f->db, &head), 0);
	assert_int_equal(head.last_id, NROWS + 2);
	assert_int_equal(head.keyed_from, NROWS + 1);
	assert_int_equal(strlen(head.hash), 64);
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET reason = 'found' WHERE id = 2"), SQLITE_OK);
	rechain(f, 2, NROWS, NULL);
	expect_bad(f, NROWS + 1);
}

/* The anchor stripped and the whole log re-chained unkeyed does not
 * verify with the key. */
static void test_stripped_anchor_detected(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(tamper(f, drop_guards), SQLITE_OK);
	assert_int_equal(tamper(f, "UPDATE audit SET action = 'note' WHERE id = 1;"
				   "UPDATE audit_head SET keyed_from = 0"),
			 SQLITE_OK);
	rechain(f, 1, NROWS + 1, NULL);
	expect_bad(f, 1);
}

static void test_row_hash_and_last(void **state)
{
	struct fixture *f = *state;
	struct db_audit_head head;
	char h[65];
	assert_int_equal(db_audit_row_hash(f->db, NROWS + 2, h), AP_ENOTFOUND);
	assert_int_equal(db_audit_last(f->db, &head), 0);
	assert_int_equal(db_audit_row_hash(f->db, head.last_id, h), 0);
	assert_string_equal(h, head.hash);
	assert_int_equal(head.keyed_from, 1);
	assert_true(head.ts > 1700000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact_chain_verifies, setup, teardown),
	    cmocka_unit_test(test_empty_log_verifies),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_since_filters_by_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_find_filters_and_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_triggers_refuse_update_and_delete, setup,
					    teardown),
	    cmocka_unit_test(test_edited_field_detected),
	    cmocka_unit_test_setup_teardown(test_rehashed_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_middle_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_first_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_last_row_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_all_rows_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renumbered_rows_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_after_tamper_still_detected, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_keyed_chain_is_hmac, setup_keyed, teardown),
	    cmocka_unit_test_setup_teardown(test_rechained_without_key_detected, setup_keyed,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_keyed_chain_needs_the_key, setup_keyed, teardown),
	    cmocka_unit_test_setup_teardown(test_old_log_reanchored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stripped_anchor_detected, setup_keyed, teardown),
	    cmocka_unit_test_setup_teardown(test_row_hash_and_last, setup_keyed, teardown),
	    cmocka_unit_test_setup_teardown(test_append_after_deleting_last_row_detected, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
