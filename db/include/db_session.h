/*
 * db_session.h - what signing in to the pages keeps: web sessions, the
 * one-time links that set a password, and the failed sign-ins that slow
 * down guessing.
 *
 * No secret is stored in clear: a session id, a session's CSRF token and
 * a link's token are kept as their SHA-256 (hex).  The CSRF token is made
 * from the session id (db_session_csrf()), so that the holder of the
 * cookie can be given it again, and nobody else can make it.  Ids and
 * tokens are DB_SESSION_ID_LEN base64url characters (256 random bits).
 *
 * This module decides no policy: how long a session or a link lives, how
 * many failures slow down whom, are the caller's.
 */
#ifndef DB_SESSION_H
#define DB_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_SESSION_ID_LEN 43 /* base64url characters: ids, CSRF tokens, link tokens */

struct db_session {
	int64_t id;
	int64_t account_id;
	char csrf_hash[65];
	int64_t created_at;
	int64_t last_seen;
	char peer[64]; /* the address it was opened from */
};

/* Opens a session for the account, now, from peer (an address, cut at 63
 * bytes): its id into ret_id and its CSRF token into ret_csrf.  Beyond
 * max_per_account live sessions of the account, the oldest ones end. */
int db_session_new(struct db *db, int64_t account_id, const char *peer, int max_per_account,
		   char ret_id[DB_SESSION_ID_LEN + 1], char ret_csrf[DB_SESSION_ID_LEN + 1]);
/* The session whose id is sid; AP_ENOTFOUND when none (or sid is not
 * shaped as an id). */
int db_session_get(struct db *db, const char *sid, struct db_session *ret);
/* The CSRF token of the session whose id is sid (a pure function). */
void db_session_csrf(const char *sid, char out[DB_SESSION_ID_LEN + 1]);
/* 1 when token (NULL: none given) is the CSRF token of s. */
int db_session_csrf_ok(const struct db_session *s, const char *token);
/* The session was used now. */
int db_session_touch(struct db *db, int64_t id);
/* Ends one session (AP_ENOTFOUND when it is gone already). */
int db_session_end(struct db *db, int64_t id);
/* Ends every session of an account; their number into *ret_n (may be
 * NULL). */
int db_session_end_account(struct db *db, int64_t account_id, int64_t *ret_n);
/* Ends the sessions unused for idle seconds or opened more than max
 * seconds ago. */
int db_session_prune(struct db *db, int64_t idle, int64_t max);

/* ---- one-time links ------------------------------------------------------ */

enum db_link_kind { DB_LINK_INVITE, DB_LINK_RESET };

struct db_link {
	int64_t account_id;
	enum db_link_kind kind;
	int64_t created_at;
	int64_t expires_at;
};

const char *db_link_kind_name(enum db_link_kind k);
/* A new link for the account, valid ttl seconds from now: its token into
 * ret_token, its end into *ret_expires.  The account's older links that
 * were not used stop working. */
int db_link_new(struct db *db, int64_t account_id, enum db_link_kind kind, int64_t ttl,
		char ret_token[DB_SESSION_ID_LEN + 1], int64_t *ret_expires);
/* The link of token, unused and not expired; AP_ENOTFOUND otherwise. */
int db_link_get(struct db *db, const char *token, struct db_link *ret);
/* Uses the link of token up: 0, or AP_ENOTFOUND when it is unknown, used
 * or expired. */
int db_link_use(struct db *db, const char *token);

/* ---- failed sign-ins ------------------------------------------------------ */

enum db_signin_key { DB_SIGNIN_ACCOUNT, DB_SIGNIN_ADDRESS };

/* Records a failed sign-in under key (an account name as given, or a
 * client address; cut at 128 bytes), now. */
int db_signin_failed(struct db *db, enum db_signin_key kind, const char *key);
/* The failures recorded under key since `since` (seconds since the epoch):
 * their number and the time of the last one (0 when none). */
int db_signin_failures(struct db *db, enum db_signin_key kind, const char *key, int64_t since,
		       int64_t *ret_n, int64_t *ret_last);
/* Forgets the failures recorded under key (a sign-in that succeeded). */
int db_signin_clear(struct db *db, enum db_signin_key kind, const char *key);
/* Forgets every failure older than `before`. */
int db_signin_prune(struct db *db, int64_t before);

#endif
