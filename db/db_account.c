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
    [DB_ROLE_TECHNICIAN] = "technician",
    [DB_ROLE_ATI] = "ati",
    [DB_ROLE_REFERENT] = "referent",
    [DB_ROLE_AUDITOR] = "auditor",
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

int db_token_new(char out[DB_TOKEN_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return AP_ECRYPTO;
	memcpy(out, "ard_", 4);
	/* 43 characters of 6 bits each = 258 bits; the last takes 4 bits */
	unsigned acc = 0, bits = 0;
	size_t o = 4, i = 0;
	while (o < DB_TOKEN_LEN) {
		if (bits < 6) {
			acc = (acc << 8) | (i < sizeof(raw) ? raw[i] : 0);
			i++;
			bits += 8;
		}
		out[o++] = b64u[(acc >> (bits - 6)) & 63];
		bits -= 6;
	}
	out[DB_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static void token_hash(const char *token, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
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

int db_account_create(struct db *db, const char *name, enum db_role role,
		      const char *const *schools, size_t n_schools,
		      char ret_token[DB_TOKEN_LEN + 1], int64_t *ret_id)
{
	char token[DB_TOKEN_LEN + 1], hash[65], list[DB_ACCOUNT_MAX_SCHOOLS * 9 + 1] = "";
	sqlite3_stmt *st = NULL;
	int rc;

	if (!valid_name(name) || n_schools > DB_ACCOUNT_MAX_SCHOOLS)
		return AP_EINVAL;
	for (size_t i = 0; i < n_schools; i++) {
		if (strlen(schools[i]) != 8)
			return AP_EINVAL;
		if (i)
			strncat(list, ",", sizeof(list) - strlen(list) - 1);
		strncat(list, schools[i], sizeof(list) - strlen(list) - 1);
	}
	rc = db_token_new(token);
	if (rc < 0)
		return rc;
	token_hash(token, hash);
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
	char list[DB_ACCOUNT_MAX_SCHOOLS * 9 + 1];
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, a->name, sizeof(a->name));
	db_role_from_name((const char *)sqlite3_column_text(st, 2), &a->role);
	db_col_copy(st, 3, list, sizeof(list));
	a->disabled = sqlite3_column_int(st, 4);
	a->created_at = sqlite3_column_int64(st, 5);
	a->token_at = sqlite3_column_int64(st, 6);
	db_col_copy(st, 7, a->token_by, sizeof(a->token_by));
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

#define ACCOUNT_COLS \
	"SELECT id, name, role, schools, disabled, created_at, token_at, token_by FROM account "

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
	token_hash(token, hash);
	return one_account(db, ACCOUNT_COLS "WHERE token_hash = ?", hash, 1, AP_EAUTH, ret);
}

int db_account_by_name(struct db *db, const char *name, struct db_account *ret)
{
	return one_account(db, ACCOUNT_COLS "WHERE name = ?", name, 0, AP_ENOTFOUND, ret);
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
	token_hash(token, hash);
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
