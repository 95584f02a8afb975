/*
 * db_account.h - staff accounts and their bearer tokens.
 *
 * Tokens are never stored: only the SHA-256 of the token, in hex.  A token
 * is "ard_" followed by 43 base64url characters (256 random bits).
 */
#ifndef DB_ACCOUNT_H
#define DB_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum db_role { DB_ROLE_TECHNICIAN, DB_ROLE_ATI, DB_ROLE_REFERENT, DB_ROLE_AUDITOR };

#define DB_ACCOUNT_MAX_SCHOOLS 64
#define DB_TOKEN_LEN	       47 /* "ard_" + 43 */

struct db_account {
	int64_t id;
	char name[65];
	enum db_role role;
	int disabled;
	int64_t created_at;
	int64_t token_at;  /* when another account last issued its token */
	char token_by[65]; /* that account ("": none since this was kept) */
	size_t n_schools;
	char schools[DB_ACCOUNT_MAX_SCHOOLS][9]; /* UAIs, "0131266F" */
};

const char *db_role_name(enum db_role r);
int db_role_from_name(const char *name, enum db_role *ret);

/* Makes a fresh random token into out (NUL-terminated). */
int db_token_new(char out[DB_TOKEN_LEN + 1]);

/* Creates an account and its first token (written to ret_token).
 * Name: 1-64 chars of [A-Za-z0-9._@-]; AP_EEXIST if taken. */
int db_account_create(struct db *db, const char *name, enum db_role role,
		      const char *const *schools, size_t n_schools,
		      char ret_token[DB_TOKEN_LEN + 1], int64_t *ret_id);
/* Finds the enabled account owning token.  AP_EAUTH when none. */
int db_account_by_token(struct db *db, const char *token, struct db_account *ret);
int db_account_by_name(struct db *db, const char *name, struct db_account *ret);
int db_account_disable(struct db *db, const char *name);
/* Replaces the account's token with a new one. */
int db_account_rotate_token(struct db *db, const char *name, char ret_token[DB_TOKEN_LEN + 1]);
/* Records that another account (by) issued name's token, now (account
 * creation, rotation by a technician).  The account rotating its own token
 * keeps both: whoever held the old token may hold the new one. */
int db_account_token_issuer(struct db *db, const char *name, const char *by);
/* Calls fn for each account, ordered by name; fn returning non-zero stops. */
int db_account_list(struct db *db, int (*fn)(const struct db_account *a, void *arg), void *arg);

#endif
