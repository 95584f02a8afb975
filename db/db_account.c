/* db_account.c - staff accounts; tokens stored as SHA-256 only. */
#include "db_int.h"
#include "db_account.h"
#include "ap_err.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
    [DB_ROLE_TECHNICIAN] = "technician", [DB_ROLE_ATI] = "ati",
    [DB_ROLE_REFERENT] = "referent",	 [DB_ROLE_AUDITOR] = "auditor",
    [DB_ROLE_MONITORING] = "monitoring",
};

const char *db_role_name(enum db_role r)
{
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "?";
	return role_names[r];
}

int db_role_from_name(const char *name, enum db_role *ret)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (name && strcmp(name, role_names[i]) == 0) {
			*ret = (enum db_role)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

void db_b64u(const unsigned char *in, size_t in_len, char *out, size_t n)
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0, bits = 0;
	size_t i = 0;
	for (size_t o = 0; o < n; o++) {
		if (bits < 6) {
			acc = (acc << 8) | (i < in_len ? in[i] : 0);
			i++;
			bits += 8;
		}
		out[o] = b64u[(acc >> (bits - 6)) & 63];
		bits -= 6;
	}
	out[n] = '\0';
}

int db_random_b64u(char *out, size_t n)
{
	unsigned char raw[96];
	size_t need = (n * 6 + 7) / 8;
	if (need > sizeof(raw))
		return AP_EINVAL;
	if (RAND_bytes(raw, (int)need) != 1)
		return AP_ECRYPTO;
	db_b64u(raw, need, out, n);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int db_token_new(char out[DB_TOKEN_LEN + 1])
{
	memcpy(out, "ard_", 4);
	return db_random_b64u(out + 4, DB_TOKEN_LEN - 4); /* 258 random bits */
}

void db_sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

#define SCHOOL_LIST_CAP (DB_ACCOUNT_MAX_SCHOOLS * 9 + 1)

/* The account's collèges as stored: UAIs joined by commas. */
static int school_list(const char *const *schools, size_t n, char list[SCHOOL_LIST_CAP])
{
	list[0] = '\0';
	if (n > DB_ACCOUNT_MAX_SCHOOLS)
		return AP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strlen(schools[i]) != 8)
			return AP_EINVAL;
		if (i)
			strncat(list, ",", SCHOOL_LIST_CAP - strlen(list) - 1);
		strncat(list, schools[i], SCHOOL_LIST_CAP - strlen(list) - 1);
	}
	return 0;
}

int db_account_create(struct db *db, const char *name, enum db_role role,
		      const char *const *schools, size_t n_schools,
		      char ret_token[DB_TOKEN_LEN + 1], int64_t *ret_id)
{
	char token[DB_TOKEN_LEN + 1], hash[65], list[SCHOOL_LIST_CAP];
	sqlite3_stmt *st = NULL;
	int rc;

	if (!valid_name(name) || school_list(schools, n_schools, list) < 0)
		return AP_EINVAL;
	rc = db_token_new(token);
	if (rc < 0)
		return rc;
	db_sha256_hex(token, hash);
	rc = db_stmt(db,
		     "INSERT INTO account(name, role, schools, token_hash, created_at, token_at)"
		     " VALUES (?, ?, ?, ?, ?5, ?5)",
		     &st);
	if (rc < 0)
		goto out;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, db_role_name(role));
	db_bind_text(st, 3, list);
	db_bind_text(st, 4, hash);
	sqlite3_bind_int64(st, 5, db_now());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rc = db_rc(db, rc);
		goto out;
	}
	rc = 0;
	memcpy(ret_token, token, sizeof(token));
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(db->h);
out:
	OPENSSL_cleanse(token, sizeof(token));
	db_done(st);
	return rc;
}

static void row_to_account(sqlite3_stmt *st, struct db_account *a)
{
	char list[SCHOOL_LIST_CAP];
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, a->name, sizeof(a->name));
	db_role_from_name((const char *)sqlite3_column_text(st, 2), &a->role);
	db_col_copy(st, 3, list, sizeof(list));
	a->disabled = sqlite3_column_int(st, 4);
	a->created_at = sqlite3_column_int64(st, 5);
	a->token_at = sqlite3_column_int64(st, 6);
	db_col_copy(st, 7, a->token_by, sizeof(a->token_by));
	db_col_copy(st, 8, a->display_name, sizeof(a->display_name));
	db_col_copy(st, 9, a->email, sizeof(a->email));
	a->password_set = sqlite3_column_int(st, 10);
	a->password_at = sqlite3_column_int64(st, 11);
	a->last_signin_at = sqlite3_column_int64(st, 12);
	for (char *p = list; *p && a->n_schools < DB_ACCOUNT_MAX_SCHOOLS;) {
		size_t n = strcspn(p, ",");
		if (n == 8) {
			memcpy(a->schools[a->n_schools], p, 8);
			a->schools[a->n_schools++][8] = '\0';
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

#define ACCOUNT_COLS                                                                              \
	"SELECT id, name, role, schools, disabled, created_at, token_at, token_by, display_name," \
	" email, password_hash IS NOT NULL, password_at, last_signin_at FROM account "

static int one_account(struct db *db, const char *sql, const char *key, int want_enabled,
		       int notfound, struct db_account *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct db_account a;
		row_to_account(st, &a);
		if (want_enabled && a.disabled) {
			rc = notfound;
		} else {
			*ret = a;
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? notfound : db_rc(db, rc);
	}
	db_done(st);
	return rc;
}

int db_account_by_token(struct db *db, const char *token, struct db_account *ret)
{
	char hash[65];
	if (token == NULL || strlen(token) != DB_TOKEN_LEN)
		return AP_EAUTH;
	db_sha256_hex(token, hash);
	return one_account(db, ACCOUNT_COLS "WHERE token_hash = ?", hash, 1, AP_EAUTH, ret);
}

int db_account_by_name(struct db *db, const char *name, struct db_account *ret)
{
	return one_account(db, ACCOUNT_COLS "WHERE name = ?", name, 0, AP_ENOTFOUND, ret);
}

int db_account_by_id(struct db *db, int64_t id, struct db_account *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, ACCOUNT_COLS "WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = db_step_row(db, st);
	if (rc == 0)
		row_to_account(st, ret);
	db_done(st);
	return rc;
}

int db_account_update(struct db *db, const char *name, const struct db_account_change *c)
{
	char list[SCHOOL_LIST_CAP];
	sqlite3_stmt *st;
	int rc;
	if ((c->display_name && strlen(c->display_name) > DB_DISPLAY_NAME_MAX) ||
	    (c->email && strlen(c->email) > DB_EMAIL_MAX) ||
	    (c->set_schools && school_list(c->schools, c->n_schools, list) < 0))
		return AP_EINVAL;
	rc = db_stmt(db,
		     "UPDATE account SET schools = coalesce(?2, schools),"
		     " display_name = coalesce(?3, display_name), email = coalesce(?4, email),"
		     " disabled = CASE ?5 WHEN 0 THEN 1 WHEN 1 THEN 0 ELSE disabled END"
		     " WHERE name = ?1",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, c->set_schools ? list : NULL);
	db_bind_text(st, 3, c->display_name);
	db_bind_text(st, 4, c->email);
	sqlite3_bind_int(st, 5, c->enabled);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_account_password(struct db *db, int64_t id, char *ret_hash, size_t cap)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT password_hash FROM account WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = db_step_row(db, st);
	if (rc == 0 && sqlite3_column_type(st, 0) != SQLITE_TEXT)
		rc = AP_ENOTFOUND;
	else if (rc == 0 && (size_t)sqlite3_column_bytes(st, 0) >= cap)
		rc = AP_ETOOBIG;
	if (rc == 0)
		db_col_copy(st, 0, ret_hash, cap);
	db_done(st);
	return rc;
}

int db_account_set_password(struct db *db, int64_t id, const char *hash)
{
	sqlite3_stmt *st;
	int rc;
	if (strlen(hash) > DB_PASSWORD_HASH_MAX)
		return AP_EINVAL;
	rc = db_stmt(db, "UPDATE account SET password_hash = ?, password_at = ? WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_int64(st, 3, id);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_account_signed_in(struct db *db, int64_t id)
{
	return db_stamp(db, "UPDATE account SET last_signin_at = ?1 WHERE id = ?2", id);
}

int db_account_disable(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "UPDATE account SET disabled = 1 WHERE name = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ENOTFOUND) : db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_account_token_issuer(struct db *db, const char *name, const char *by)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "UPDATE account SET token_by = ?, token_at = ? WHERE name = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, by);
	sqlite3_bind_int64(st, 2, db_now());
	db_bind_text(st, 3, name);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ENOTFOUND) : db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_account_rotate_token(struct db *db, const char *name, char ret_token[DB_TOKEN_LEN + 1])
{
	char token[DB_TOKEN_LEN + 1], hash[65];
	sqlite3_stmt *st;
	int rc = db_token_new(token);
	if (rc < 0)
		return rc;
	db_sha256_hex(token, hash);
	rc = db_stmt(db, "UPDATE account SET token_hash = ? WHERE name = ?", &st);
	if (rc < 0)
		goto out;
	db_bind_text(st, 1, hash);
	db_bind_text(st, 2, name);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ENOTFOUND) : db_rc(db, rc);
	db_done(st);
	if (rc == 0)
		memcpy(ret_token, token, sizeof(token));
out:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

int db_account_list(struct db *db, int (*fn)(const struct db_account *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, ACCOUNT_COLS "ORDER BY name", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_account a;
		row_to_account(st, &a);
		if (fn(&a, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}
