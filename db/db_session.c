/* db_session.c - web sessions, one-time links, failed sign-ins: every
 * secret kept as its SHA-256 (db_session.h). */
#include "db_int.h"
#include "db_session.h"
#include "db_account.h"
#include "ap_err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* 1 when s is shaped as an id or a token: DB_SESSION_ID_LEN base64url
 * characters. */
static int well_formed(const char *s)
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	return s && strlen(s) == DB_SESSION_ID_LEN && strspn(s, b64u) == DB_SESSION_ID_LEN;
}

void db_session_csrf(const char *sid, char out[DB_SESSION_ID_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	/* a domain of its own: the token says nothing of the id's hash */
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, "ardoise csrf\n", 13) != 1 ||
	    EVP_DigestUpdate(ctx, sid, strlen(sid)) != 1 || EVP_DigestFinal_ex(ctx, md, &n) != 1)
		RAND_bytes(md, sizeof(md)); /* a token nobody holds: every check fails */
	EVP_MD_CTX_free(ctx);
	db_b64u(md, sizeof(md), out, DB_SESSION_ID_LEN);
	OPENSSL_cleanse(md, sizeof(md));
}

int db_session_csrf_ok(const struct db_session *s, const char *token)
{
	char hash[65];
	if (!well_formed(token))
		return 0;
	db_sha256_hex(token, hash);
	return CRYPTO_memcmp(hash, s->csrf_hash, 64) == 0;
}

/* Ends the account's oldest sessions beyond keep. */
static int keep_newest(struct db *db, int64_t account_id, int keep)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "DELETE FROM web_session WHERE account_id = ?1 AND id NOT IN"
			 " (SELECT id FROM web_session WHERE account_id = ?1"
			 "  ORDER BY id DESC LIMIT ?2)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int(st, 2, keep);
	return db_step_done(db, st, 0);
}

int db_session_new(struct db *db, int64_t account_id, const char *peer, int max_per_account,
		   char ret_id[DB_SESSION_ID_LEN + 1], char ret_csrf[DB_SESSION_ID_LEN + 1])
{
	char sid[DB_SESSION_ID_LEN + 1], csrf[DB_SESSION_ID_LEN + 1], id_hash[65], csrf_hash[65];
	char where[64];
	sqlite3_stmt *st;
	int rc = db_random_b64u(sid, DB_SESSION_ID_LEN);
	if (rc < 0)
		return rc;
	db_session_csrf(sid, csrf);
	db_sha256_hex(sid, id_hash);
	db_sha256_hex(csrf, csrf_hash);
	snprintf(where, sizeof(where), "%s", peer ? peer : "");
	if ((rc = db_begin(db)) < 0)
		goto out;
	rc =
	    db_stmt(db,
		    "INSERT INTO web_session(id_hash, account_id, csrf_hash, created_at, last_seen,"
		    " peer) VALUES (?, ?, ?, ?4, ?4, ?)",
		    &st);
	if (rc == 0) {
		db_bind_text(st, 1, id_hash);
		sqlite3_bind_int64(st, 2, account_id);
		db_bind_text(st, 3, csrf_hash);
		sqlite3_bind_int64(st, 4, db_now());
		db_bind_text(st, 5, where);
		rc = db_step_done(db, st, 0);
	}
	if (rc == 0)
		rc = keep_newest(db, account_id, max_per_account > 0 ? max_per_account : 1);
	if ((rc = db_end(db, rc)) == 0) {
		memcpy(ret_id, sid, sizeof(sid));
		memcpy(ret_csrf, csrf, sizeof(csrf));
	}
out:
	OPENSSL_cleanse(sid, sizeof(sid));
	OPENSSL_cleanse(csrf, sizeof(csrf));
	return rc;
}

int db_session_get(struct db *db, const char *sid, struct db_session *ret)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc;
	if (!well_formed(sid))
		return AP_ENOTFOUND;
	db_sha256_hex(sid, hash);
	rc =
	    db_stmt(db,
		    "SELECT id, account_id, csrf_hash, created_at, last_seen, peer FROM web_session"
		    " WHERE id_hash = ?",
		    &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	rc = db_step_row(db, st);
	if (rc == 0) {
		memset(ret, 0, sizeof(*ret));
		ret->id = sqlite3_column_int64(st, 0);
		ret->account_id = sqlite3_column_int64(st, 1);
		db_col_copy(st, 2, ret->csrf_hash, sizeof(ret->csrf_hash));
		ret->created_at = sqlite3_column_int64(st, 3);
		ret->last_seen = sqlite3_column_int64(st, 4);
		db_col_copy(st, 5, ret->peer, sizeof(ret->peer));
	}
	db_done(st);
	return rc;
}

int db_session_touch(struct db *db, int64_t id)
{
	return db_stamp(db, "UPDATE web_session SET last_seen = ?1 WHERE id = ?2", id);
}

int db_session_end(struct db *db, int64_t id)
{
	return db_run_int64(db, "DELETE FROM web_session WHERE id = ?", id, AP_ENOTFOUND);
}

int db_session_end_account(struct db *db, int64_t account_id, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "DELETE FROM web_session WHERE account_id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	rc = db_step_done(db, st, 0);
	if (rc == 0 && ret_n)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}

int db_session_prune(struct db *db, int64_t idle, int64_t max)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "DELETE FROM web_session WHERE last_seen <= ?1 - ?2 OR created_at <= ?1 - ?3", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, idle);
	sqlite3_bind_int64(st, 3, max);
	return db_step_done(db, st, 0);
}

/* ---- one-time links ------------------------------------------------------ */

static const char *const link_kinds[] = {[DB_LINK_INVITE] = "invite", [DB_LINK_RESET] = "reset"};

const char *db_link_kind_name(enum db_link_kind k)
{
	return (unsigned)k < sizeof(link_kinds) / sizeof(link_kinds[0]) ? link_kinds[k] : "?";
}

/* Forgets the account's earlier links, and every expired one. */
static int void_links(struct db *db, int64_t account_id, int64_t now)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "DELETE FROM account_link WHERE account_id = ? OR expires_at <= ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, now);
	return db_step_done(db, st, 0);
}

int db_link_new(struct db *db, int64_t account_id, enum db_link_kind kind, int64_t ttl,
		char ret_token[DB_SESSION_ID_LEN + 1], int64_t *ret_expires)
{
	char token[DB_SESSION_ID_LEN + 1], hash[65];
	int64_t now = db_now();
	sqlite3_stmt *st;
	int rc = db_random_b64u(token, DB_SESSION_ID_LEN);
	if (rc < 0)
		return rc;
	db_sha256_hex(token, hash);
	if ((rc = db_begin(db)) < 0)
		goto out;
	rc = void_links(db, account_id, now);
	if (rc == 0)
		rc = db_stmt(db,
			     "INSERT INTO account_link(token_hash, account_id, kind, created_at,"
			     " expires_at) VALUES (?, ?, ?, ?, ?)",
			     &st);
	if (rc == 0) {
		db_bind_text(st, 1, hash);
		sqlite3_bind_int64(st, 2, account_id);
		db_bind_text(st, 3, db_link_kind_name(kind));
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_int64(st, 5, now + ttl);
		rc = db_step_done(db, st, 0);
	}
	if ((rc = db_end(db, rc)) == 0) {
		memcpy(ret_token, token, sizeof(token));
		if (ret_expires)
			*ret_expires = now + ttl;
	}
out:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

/* db_stmt() of sql about the link of token: ?1 its hash, ?2 now;
 * AP_ENOTFOUND when token is not shaped as one. */
static int link_stmt(struct db *db, const char *sql, const char *token, sqlite3_stmt **ret)
{
	char hash[65];
	int rc;
	if (!well_formed(token))
		return AP_ENOTFOUND;
	db_sha256_hex(token, hash);
	if ((rc = db_stmt(db, sql, ret)) < 0)
		return rc;
	db_bind_text(*ret, 1, hash);
	sqlite3_bind_int64(*ret, 2, db_now());
	return 0;
}

int db_link_get(struct db *db, const char *token, struct db_link *ret)
{
	char kind[16];
	sqlite3_stmt *st;
	int rc = link_stmt(db,
			   "SELECT account_id, kind, created_at, expires_at FROM account_link"
			   " WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
			   token, &st);
	if (rc < 0)
		return rc;
	rc = db_step_row(db, st);
	if (rc == 0) {
		memset(ret, 0, sizeof(*ret));
		ret->account_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, kind, sizeof(kind));
		ret->kind = strcmp(kind, "reset") == 0 ? DB_LINK_RESET : DB_LINK_INVITE;
		ret->created_at = sqlite3_column_int64(st, 2);
		ret->expires_at = sqlite3_column_int64(st, 3);
	}
	db_done(st);
	return rc;
}

int db_link_use(struct db *db, const char *token)
{
	sqlite3_stmt *st;
	int rc = link_stmt(db,
			   "UPDATE account_link SET used_at = ?2 WHERE token_hash = ?1"
			   " AND used_at IS NULL AND expires_at > ?2",
			   token, &st);
	return rc < 0 ? rc : db_step_done(db, st, AP_ENOTFOUND);
}

/* ---- failed sign-ins ------------------------------------------------------ */

static const char *const signin_kinds[] = {
    [DB_SIGNIN_ACCOUNT] = "account", [DB_SIGNIN_ADDRESS] = "address"};

/* db_stmt() of sql about the failures under key: ?1 its kind, ?2 the key
 * as stored (at most 128 bytes). */
static int signin_stmt(struct db *db, const char *sql, enum db_signin_key kind, const char *key,
		       sqlite3_stmt **ret)
{
	char k[129];
	int rc = db_stmt(db, sql, ret);
	if (rc < 0)
		return rc;
	snprintf(k, sizeof(k), "%s", key ? key : "");
	db_bind_text(*ret, 1, signin_kinds[kind]);
	db_bind_text(*ret, 2, k);
	return 0;
}

int db_signin_failed(struct db *db, enum db_signin_key kind, const char *key)
{
	sqlite3_stmt *st;
	int rc = signin_stmt(db, "INSERT INTO signin_failure(kind, key, at) VALUES (?1, ?2, ?3)",
			     kind, key, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 3, db_now());
	return db_step_done(db, st, 0);
}

int db_signin_failures(struct db *db, enum db_signin_key kind, const char *key, int64_t since,
		       int64_t *ret_n, int64_t *ret_last)
{
	sqlite3_stmt *st;
	int rc = signin_stmt(db,
			     "SELECT count(*), coalesce(max(at), 0) FROM signin_failure"
			     " WHERE kind = ?1 AND key = ?2 AND at >= ?3",
			     kind, key, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 3, since);
	rc = db_step_row(db, st);
	if (rc == 0) {
		*ret_n = sqlite3_column_int64(st, 0);
		*ret_last = sqlite3_column_int64(st, 1);
	}
	db_done(st);
	return rc;
}

int db_signin_clear(struct db *db, enum db_signin_key kind, const char *key)
{
	sqlite3_stmt *st;
	int rc = signin_stmt(db, "DELETE FROM signin_failure WHERE kind = ?1 AND key = ?2", kind,
			     key, &st);
	return rc < 0 ? rc : db_step_done(db, st, 0);
}

int db_signin_prune(struct db *db, int64_t before)
{
	return db_run_int64(db, "DELETE FROM signin_failure WHERE at < ?", before, 0);
}
