/*
 * db_account.h - staff accounts, their bearer tokens and their passwords.
 *
 * Tokens are never stored: only the SHA-256 of the token, in hex.  A token
 * is "ard_" followed by 43 base64url characters (256 random bits).  A
 * password is stored as the encoded hash the daemon made of it (Argon2id);
 * this module never sees the password itself.
 */
#ifndef DB_ACCOUNT_H
#define DB_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* monitoring: reads GET /metrics and nothing else (daemon/api/authz.c) */
enum db_role {
	DB_ROLE_TECHNICIAN,
	DB_ROLE_ATI,
	DB_ROLE_REFERENT,
	DB_ROLE_AUDITOR,
	DB_ROLE_MONITORING,
	DB_ROLE__COUNT /* not a role: how many there are */
};

#define DB_ACCOUNT_MAX_SCHOOLS 64
#define DB_TOKEN_LEN	       47  /* "ard_" + 43 */
#define DB_DISPLAY_NAME_MAX    512 /* bytes (128 characters of UTF-8 at most) */
#define DB_EMAIL_MAX	       254 /* bytes (RFC 5321's path limit) */
#define DB_PASSWORD_HASH_MAX   255 /* an encoded hash, bytes */

struct db_account {
	int64_t id;
	char name[65];
	enum db_role role;
	int disabled;
	int64_t created_at;
	int64_t token_at;  /* when another account last issued its token */
	char token_by[65]; /* that account ("": none since this was kept) */
	size_t n_schools;
	char schools[DB_ACCOUNT_MAX_SCHOOLS][9];    /* UAIs, "0131266F" */
	char display_name[DB_DISPLAY_NAME_MAX + 1]; /* "": none */
	char email[DB_EMAIL_MAX + 1];		    /* "": none */
	int password_set;			    /* a password hash is stored */
	int64_t password_at;			    /* when it was set, 0: never */
	int64_t last_signin_at;			    /* 0: never signed in */
};

/* What db_account_update() changes; NULL pointers and -1 leave a field as
 * it is. */
struct db_account_change {
	const char *const *schools; /* UAIs, with set_schools */
	size_t n_schools;
	int set_schools;
	const char *display_name; /* "" clears it */
	const char *email;	  /* "" clears it */
	int enabled;		  /* 1 enable, 0 disable, -1 unchanged */
};

const char *db_role_name(enum db_role r);
int db_role_from_name(const char *name, enum db_role *ret);

/* Makes a fresh random token into out (NUL-terminated). */
int db_token_new(char out[DB_TOKEN_LEN + 1]);
/* n random base64url characters (6 bits each) into out, NUL-terminated
 * (out holds n + 1 bytes). */
int db_random_b64u(char *out, size_t n);
/* The SHA-256 of s in lower-case hex: how every secret is kept. */
void db_sha256_hex(const char *s, char out[65]);

/* Creates an account and its first token (written to ret_token).
 * Name: 1-64 chars of [A-Za-z0-9._@-]; AP_EEXIST if taken. */
int db_account_create(struct db *db, const char *name, enum db_role role,
		      const char *const *schools, size_t n_schools,
		      char ret_token[DB_TOKEN_LEN + 1], int64_t *ret_id);
/* Finds the enabled account owning token.  AP_EAUTH when none. */
int db_account_by_token(struct db *db, const char *token, struct db_account *ret);
int db_account_by_name(struct db *db, const char *name, struct db_account *ret);
int db_account_by_id(struct db *db, int64_t id, struct db_account *ret);
int db_account_disable(struct db *db, const char *name);
/* Changes what c says of account name: AP_ENOTFOUND when there is none,
 * AP_EINVAL when a value is too long or a UAI is not 8 characters. */
int db_account_update(struct db *db, const char *name, const struct db_account_change *c);
/* The account's password hash into ret_hash (cap bytes): AP_ENOTFOUND
 * when there is no such account or it has no password, AP_ETOOBIG when
 * it does not fit (DB_PASSWORD_HASH_MAX + 1 bytes always do). */
int db_account_password(struct db *db, int64_t id, char *ret_hash, size_t cap);
/* Stores the encoded hash of a new password (AP_EINVAL when longer than
 * DB_PASSWORD_HASH_MAX), now as its date. */
int db_account_set_password(struct db *db, int64_t id, const char *hash);
/* Records a sign-in now. */
int db_account_signed_in(struct db *db, int64_t id);
/* Replaces the account's token with a new one. */
int db_account_rotate_token(struct db *db, const char *name, char ret_token[DB_TOKEN_LEN + 1]);
/* Records that another account (by) issued name's token, now (account
 * creation, rotation by a technician).  The account rotating its own token
 * keeps both: whoever held the old token may hold the new one. */
int db_account_token_issuer(struct db *db, const char *name, const char *by);
/* Calls fn for each account, ordered by name; fn returning non-zero stops. */
int db_account_list(struct db *db, int (*fn)(const struct db_account *a, void *arg), void *arg);

#endif
