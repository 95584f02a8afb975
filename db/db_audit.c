/* db_audit.c - append-only, hash-chained audit log, keyed (HMAC-SHA-256). */
#include "db_int.h"
#include "db_audit.h"
#include "ap_err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define GENESIS	     "0000000000000000000000000000000000000000000000000000000000000000"
#define SHA256_BLOCK 64

/* SHA-256, or HMAC-SHA-256 (RFC 2104) when key is not NULL: the inner
 * hash starts with key ^ ipad, the outer one hashes key ^ opad and it. */
struct mac {
	EVP_MD_CTX *c;
	const unsigned char *key;
};

static void pad_key(const unsigned char *key, unsigned char x, unsigned char out[SHA256_BLOCK])
{
	memset(out, x, SHA256_BLOCK);
	for (size_t i = 0; i < DB_AUDIT_KEY_LEN; i++)
		out[i] ^= key[i];
}

static int mac_init(struct mac *m, const unsigned char *key)
{
	unsigned char pad[SHA256_BLOCK];
	m->key = key;
	m->c = EVP_MD_CTX_new();
	if (m->c == NULL || EVP_DigestInit_ex(m->c, EVP_sha256(), NULL) != 1)
		return AP_ECRYPTO;
	if (key == NULL)
		return 0;
	pad_key(key, 0x36, pad);
	int ok = EVP_DigestUpdate(m->c, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok == 1 ? 0 : AP_ECRYPTO;
}

static int mac_final(struct mac *m, unsigned char md[32])
{
	unsigned char pad[SHA256_BLOCK];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(m->c, md, &n) != 1)
		return AP_ECRYPTO;
	if (m->key == NULL)
		return 0;
	pad_key(m->key, 0x5c, pad);
	int ok = EVP_DigestInit_ex(m->c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(m->c, pad, sizeof(pad)) == 1 &&
		 EVP_DigestUpdate(m->c, md, n) == 1 && EVP_DigestFinal_ex(m->c, md, &n) == 1;
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok ? 0 : AP_ECRYPTO;
}

/* hash = MAC over the fields, each length-prefixed so that no two
 * different rows can hash the same text; key NULL: plain SHA-256 (rows
 * before the anchor). */
static int row_hash(const unsigned char *key, const char *prev, int64_t id, int64_t ts,
		    const char *actor, const char *action, const char *target, const char *reason,
		    const char *detail, char out[65])
{
	const char *fields[] = {prev, actor, action, target, reason, detail};
	unsigned char md[32];
	char num[64];
	struct mac m;
	int rc = mac_init(&m, key);
	if (rc < 0)
		goto out;
	snprintf(num, sizeof(num), "%lld:%lld:", (long long)id, (long long)ts);
	EVP_DigestUpdate(m.c, num, strlen(num));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *f = fields[i] ? fields[i] : "";
		snprintf(num, sizeof(num), "%zu:", strlen(f));
		EVP_DigestUpdate(m.c, num, strlen(num));
		EVP_DigestUpdate(m.c, f, strlen(f));
	}
	if ((rc = mac_final(&m, md)) < 0)
		goto out;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(m.c);
	return rc;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

int db_audit_set_key(struct db *db, const unsigned char *key, size_t len)
{
	if (key == NULL) {
		OPENSSL_cleanse(db->audit_key, sizeof(db->audit_key));
		db->has_audit_key = 0;
		return 0;
	}
	if (len != DB_AUDIT_KEY_LEN)
		return AP_EINVAL;
	memcpy(db->audit_key, key, len);
	db->has_audit_key = 1;
	return 0;
}

/* Where the next row goes: its id, the hash it links to, the anchor. */
struct chain_end {
	int64_t next_id;
	int64_t keyed_from;
	char prev[65];
};

static int chain_end(struct db *db, struct chain_end *e)
{
	sqlite3_stmt *st = NULL;
	/* chain from the recorded head, not from the newest row present: a
	 * deleted newest row must stay visible after the next append */
	int rc = db_stmt(db,
			 "SELECT coalesce((SELECT max(id) FROM audit), 0),"
			 " coalesce((SELECT last_hash FROM audit_head WHERE one = 1),"
			 " (SELECT hash FROM audit ORDER BY id DESC LIMIT 1), ''),"
			 " coalesce((SELECT keyed_from FROM audit_head WHERE one = 1), 0)",
			 &st);
	if (rc < 0)
		return rc;
	snprintf(e->prev, sizeof(e->prev), GENESIS);
	e->next_id = 1;
	e->keyed_from = 0;
	if ((rc = db_step_row(db, st)) == 0) {
		e->next_id = sqlite3_column_int64(st, 0) + 1;
		if (sqlite3_column_bytes(st, 1) > 0)
			db_col_copy(st, 1, e->prev, sizeof(e->prev));
		e->keyed_from = sqlite3_column_int64(st, 2);
	}
	db_done(st);
	return rc;
}

/* Inserts the row at the chain's end (keyed from the anchor on) and moves
 * the end past it. */
static int insert_row(struct db *db, struct chain_end *e, const char *actor, const char *action,
		      const char *target, const char *reason, const char *detail)
{
	sqlite3_stmt *st = NULL;
	char hash[65];
	int64_t ts = db_now();
	const unsigned char *key = e->keyed_from ? db->audit_key : NULL;
	int rc =
	    row_hash(key, e->prev, e->next_id, ts, actor, action, target, reason, detail, hash);
	if (rc < 0 ||
	    (rc = db_stmt(db,
			  "INSERT INTO audit(id, ts, actor, action, target, reason, detail,"
			  " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
			  &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, e->next_id);
	sqlite3_bind_int64(st, 2, ts);
	db_bind_text(st, 3, actor);
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, target);
	db_bind_text(st, 6, reason);
	db_bind_text(st, 7, detail);
	db_bind_text(st, 8, e->prev);
	db_bind_text(st, 9, hash);
	if ((rc = db_step_done(db, st, 0)) < 0)
		return rc;
	e->next_id++;
	memcpy(e->prev, hash, sizeof(e->prev));
	return 0;
}

static int write_head(struct db *db, const struct chain_end *e)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO audit_head(one, last_id, last_hash, keyed_from)"
			 " VALUES (1, ?, ?, ?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, e->next_id - 1);
	db_bind_text(st, 2, e->prev);
	sqlite3_bind_int64(st, 3, e->keyed_from);
	return db_step_done(db, st, 0);
}

/* The anchor: the first keyed row; its hash covers the unkeyed head. */
static int insert_anchor(struct db *db, struct chain_end *e)
{
	char detail[160];
	snprintf(detail, sizeof(detail), "{\"unkeyed_rows\":%lld,\"unkeyed_head\":\"%s\"}",
		 (long long)(e->next_id - 1), e->next_id > 1 ? e->prev : "");
	e->keyed_from = e->next_id;
	return insert_row(db, e, "system", DB_AUDIT_REKEY, "", "audit chain keyed (HMAC-SHA-256)",
			  detail);
}

/* Opens the write transaction and finds the chain's end, anchoring it
 * first when this connection has the key and the chain is not keyed. */
static int chain_open(struct db *db, struct chain_end *e, int64_t *ret_anchor)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	*ret_anchor = 0;
	if ((rc = chain_end(db, e)) < 0)
		goto fail;
	if (e->keyed_from && !db->has_audit_key) {
		rc = AP_ECRYPTO; /* a keyed chain: no unkeyed row may follow */
		goto fail;
	}
	if (e->keyed_from == 0 && db->has_audit_key) {
		if ((rc = insert_anchor(db, e)) < 0)
			goto fail;
		*ret_anchor = e->keyed_from;
	}
	return 0;
fail:
	db_rollback(db);
	return rc;
}

static int chain_close(struct db *db, const struct chain_end *e, int rc)
{
	if (rc == 0)
		rc = write_head(db, e);
	return db_end(db, rc);
}

int db_audit_anchor(struct db *db, int64_t *ret_anchor)
{
	struct chain_end e;
	int64_t anchor = 0;
	if (!db->has_audit_key)
		return AP_EINVAL;
	int rc = chain_open(db, &e, &anchor);
	if (rc < 0)
		return rc;
	if ((rc = chain_close(db, &e, 0)) == 0)
		*ret_anchor = anchor;
	return rc;
}

int db_audit_append(struct db *db, const char *actor, const char *action, const char *target,
		    const char *reason, const char *detail)
{
	struct chain_end e;
	int64_t anchor;
	int rc = chain_open(db, &e, &anchor);
	if (rc < 0)
		return rc;
	rc = insert_row(db, &e, nz(actor), nz(action), nz(target), nz(reason), nz(detail));
	return chain_close(db, &e, rc);
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

/* db_audit_find()'s selection: ?1 < id < ?2, ?3 <= ts <= ?4, then each
 * text filter (NULL: any). */
#define AUDIT_FIND                                                       \
	AUDIT_COLS "WHERE id > ?1 AND id < ?2 AND ts >= ?3 AND ts <= ?4" \
		   " AND (?5 IS NULL OR actor = ?5)"                     \
		   " AND (?6 IS NULL OR action = ?6"                     \
		   "  OR substr(action, 1, length(?6) + 1) = ?6 || '.')" \
		   " AND (?7 IS NULL OR target = ?7)"                    \
		   " AND (?8 IS NULL OR target IN (?8, 'school:' || ?8)" \
		   "  OR substr(target, 1, 15) = 'group:' || ?8 || '/'"  \
		   "  OR target IN (SELECT serial FROM device"           \
		   "   WHERE school = ?8 AND serial IS NOT NULL)"        \
		   "  OR target IN (SELECT ext_id FROM person WHERE school = ?8))"

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

int db_audit_find(struct db *db, const struct db_audit_filter *f,
		  int (*fn)(const struct db_audit_row *r, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 f->newest_first ? AUDIT_FIND " ORDER BY id DESC LIMIT ?9"
					 : AUDIT_FIND " ORDER BY id LIMIT ?9",
			 &st);
	if (rc < 0)
		return rc;
	int down = f->newest_first && f->after > 0;
	sqlite3_bind_int64(st, 1, down ? 0 : f->after);
	sqlite3_bind_int64(st, 2, down ? f->after : INT64_MAX);
	sqlite3_bind_int64(st, 3, f->from);
	sqlite3_bind_int64(st, 4, f->to > 0 ? f->to : INT64_MAX);
	db_bind_text(st, 5, or_null(f->actor));
	db_bind_text(st, 6, or_null(f->action));
	db_bind_text(st, 7, or_null(f->target));
	db_bind_text(st, 8, or_null(f->school));
	sqlite3_bind_int64(st, 9, f->limit > 0 ? f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_audit_row r;
		fill_row(st, &r);
		if (fn(&r, arg))
			break;
	}
	return db_rows_done(db, st, rc);
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

/* The walk of db_audit_verify(): the hash the next row links to, whether
 * the anchor was passed, and the first bad row. */
struct walk {
	char prev[65];
	int64_t expect_id, rows, bad;
	int keyed;
};

/* 0 when the row links and hashes right; 1 when it is the first bad one;
 * AP_ECRYPTO when it is keyed and there is no key. */
static int walk_row(struct db *db, struct walk *w, sqlite3_stmt *st)
{
	struct db_audit_row r;
	char h[65];
	const char *stored_prev = nz((const char *)sqlite3_column_text(st, 7));
	fill_row(st, &r);
	if (!w->keyed && strcmp(r.action, DB_AUDIT_REKEY) == 0 && strcmp(r.actor, "system") == 0)
		w->keyed = 1;
	if (w->keyed && !db->has_audit_key)
		return AP_ECRYPTO;
	if (r.id != w->expect_id || strcmp(stored_prev, w->prev) != 0 ||
	    row_hash(w->keyed ? db->audit_key : NULL, w->prev, r.id, r.ts, r.actor, r.action,
		     r.target, r.reason, r.detail, h) < 0 ||
	    strcmp(h, r.hash) != 0) {
		w->bad = r.id;
		return 1;
	}
	memcpy(w->prev, h, sizeof(w->prev));
	w->expect_id++;
	w->rows++;
	return 0;
}

int db_audit_verify(struct db *db, int64_t *ret_rows, int64_t *ret_bad_id)
{
	sqlite3_stmt *st;
	struct walk w = {GENESIS, 1, 0, 0, 0};
	int rc = db_stmt(db, AUDIT_COLS "ORDER BY id", &st), step;
	if (rc < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW && (rc = walk_row(db, &w, st)) == 0)
		;
	if (rc < 0) {
		db_done(st);
		return rc;
	}
	if ((rc = db_rows_done(db, st, step)) < 0)
		return rc;
	/* with the key, a log that holds rows but no anchor was rewritten
	 * with unkeyed hashes (the daemon anchors it at start) */
	if (!w.bad && db->has_audit_key && w.rows > 0 && !w.keyed)
		w.bad = 1;
	if (!w.bad && (rc = check_head(db, w.expect_id - 1, w.prev)) < 0) {
		if (rc != AP_ECONFLICT)
			return rc;
		w.bad = w.expect_id; /* rows after the last one present were deleted */
	}
	*ret_rows = w.rows;
	if (w.bad) {
		*ret_bad_id = w.bad;
		return AP_ECONFLICT;
	}
	return 0;
}

int db_audit_last(struct db *db, struct db_audit_head *ret)
{
	sqlite3_stmt *st;
	struct db_audit_head h = {0, 0, 0, ""};
	int rc = db_stmt(db,
			 "SELECT a.id, a.ts, a.hash,"
			 " coalesce((SELECT keyed_from FROM audit_head WHERE one = 1), 0)"
			 " FROM audit a ORDER BY a.id DESC LIMIT 1",
			 &st);
	if (rc < 0)
		return rc;
	if ((rc = db_step_row(db, st)) == 0) {
		h.last_id = sqlite3_column_int64(st, 0);
		h.ts = sqlite3_column_int64(st, 1);
		db_col_copy(st, 2, h.hash, sizeof(h.hash));
		h.keyed_from = sqlite3_column_int64(st, 3);
	}
	db_done(st);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	*ret = h;
	return 0;
}

int db_audit_row_hash(struct db *db, int64_t id, char ret[65])
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT hash FROM audit WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0)
		db_col_copy(st, 0, ret, 65);
	db_done(st);
	return rc;
}
