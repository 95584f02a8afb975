/* db_audit.c - append-only, hash-chained audit log. */
#include "db_int.h"
#include "db_audit.h"
#include "ap_err.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* hash = SHA-256 over the fields, each length-prefixed so that no two
 * different rows can hash the same text. */
static int row_hash(const char *prev, int64_t id, int64_t ts, const char *actor, const char *action,
		    const char *target, const char *reason, const char *detail, char out[65])
{
	const char *fields[] = {prev, actor, action, target, reason, detail};
	unsigned char md[32];
	unsigned int n = 0;
	char num[64];
	int rc = AP_ECRYPTO;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		goto out;
	snprintf(num, sizeof(num), "%lld:%lld:", (long long)id, (long long)ts);
	EVP_DigestUpdate(c, num, strlen(num));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *f = fields[i] ? fields[i] : "";
		snprintf(num, sizeof(num), "%zu:", strlen(f));
		EVP_DigestUpdate(c, num, strlen(num));
		EVP_DigestUpdate(c, f, strlen(f));
	}
	if (EVP_DigestFinal_ex(c, md, &n) != 1)
		goto out;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

int db_audit_append(struct db *db, const char *actor, const char *action, const char *target,
		    const char *reason, const char *detail)
{
	sqlite3_stmt *st = NULL;
	char prev[65] = GENESIS, hash[65];
	int64_t id = 1, ts = db_now();
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	/* chain from the recorded head, not from the newest row present: a
	 * deleted newest row must stay visible after the next append */
	rc = db_stmt(db,
		     "SELECT coalesce((SELECT max(id) FROM audit), 0),"
		     " coalesce((SELECT last_hash FROM audit_head WHERE one = 1),"
		     " (SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '')",
		     &st);
	if (rc < 0)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0) + 1;
		if (sqlite3_column_bytes(st, 1) > 0)
			db_col_copy(st, 1, prev, sizeof(prev));
	}
	db_done(st);
	rc =
	    row_hash(prev, id, ts, nz(actor), nz(action), nz(target), nz(reason), nz(detail), hash);
	if (rc < 0)
		goto out;
	rc = db_stmt(db,
		     "INSERT INTO audit(id, ts, actor, action, target, reason, detail,"
		     " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	db_bind_text(st, 3, nz(actor));
	db_bind_text(st, 4, nz(action));
	db_bind_text(st, 5, nz(target));
	db_bind_text(st, 6, nz(reason));
	db_bind_text(st, 7, nz(detail));
	db_bind_text(st, 8, prev);
	db_bind_text(st, 9, hash);
	rc = db_step_done(db, st, 0);
	if (rc < 0)
		goto out;
	rc = db_stmt(db,
		     "INSERT OR REPLACE INTO audit_head(one, last_id, last_hash)"
		     " VALUES (1, ?, ?)",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, hash);
	rc = db_step_done(db, st, 0);
out:
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

#define AUDIT_COLS \
	"SELECT id, ts, actor, action, target, reason, detail, prev_hash, hash FROM audit "

static void fill_row(sqlite3_stmt *st, struct db_audit_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->ts = sqlite3_column_int64(st, 1);
	r->actor = nz((const char *)sqlite3_column_text(st, 2));
	r->action = nz((const char *)sqlite3_column_text(st, 3));
	r->target = nz((const char *)sqlite3_column_text(st, 4));
	r->reason = nz((const char *)sqlite3_column_text(st, 5));
	r->detail = nz((const char *)sqlite3_column_text(st, 6));
	r->hash = nz((const char *)sqlite3_column_text(st, 8));
}

int db_audit_list(struct db *db, int64_t since, int64_t limit,
		  int (*fn)(const struct db_audit_row *r, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, AUDIT_COLS "WHERE ts >= ? ORDER BY id LIMIT ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_audit_row r;
		fill_row(st, &r);
		if (fn(&r, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}

/* The head must name the last row seen (or be absent with no rows). */
static int check_head(struct db *db, int64_t last_id, const char *last_hash)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT last_id, last_hash FROM audit_head WHERE one = 1", &st);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *h = nz((const char *)sqlite3_column_text(st, 1));
		rc = (sqlite3_column_int64(st, 0) == last_id && strcmp(h, last_hash) == 0)
			 ? 0
			 : AP_ECONFLICT;
	} else {
		rc = last_id == 0 ? 0 : AP_ECONFLICT;
	}
	db_done(st);
	return rc;
}

int db_audit_verify(struct db *db, int64_t *ret_rows, int64_t *ret_bad_id)
{
	sqlite3_stmt *st;
	char prev[65] = GENESIS, h[65];
	int64_t rows = 0, expect_id = 1, bad = 0;
	int rc = db_stmt(db, AUDIT_COLS "ORDER BY id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_audit_row r;
		const char *stored_prev = nz((const char *)sqlite3_column_text(st, 7));
		fill_row(st, &r);
		if (r.id != expect_id || strcmp(stored_prev, prev) != 0) {
			bad = r.id;
			break;
		}
		if (row_hash(prev, r.id, r.ts, r.actor, r.action, r.target, r.reason, r.detail, h) <
			0 ||
		    strcmp(h, r.hash) != 0) {
			bad = r.id;
			break;
		}
		memcpy(prev, h, sizeof(prev));
		expect_id++;
		rows++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = db_rc(db, rc);
		db_done(st);
		return rc;
	}
	db_done(st);
	if (!bad && (rc = check_head(db, expect_id - 1, prev)) < 0) {
		if (rc != AP_ECONFLICT)
			return rc;
		bad = expect_id; /* rows after the last one present were deleted */
	}
	*ret_rows = rows;
	if (bad) {
		*ret_bad_id = bad;
		return AP_ECONFLICT;
	}
	return 0;
}
