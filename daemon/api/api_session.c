/*
 * api_session.c - signing in to the pages, and the one-time links that
 * set a password.
 *
 *   POST   /api/v1/session        sign in: {"name","password"} -> cookie + session
 *   GET    /api/v1/session        the session of the cookie
 *   DELETE /api/v1/session        sign out (cookie + X-CSRF-Token)
 *   GET    /api/v1/links/:token   what a link is for
 *   POST   /api/v1/links/:token   {"password"}: sets the password, uses the link up
 *
 * The cookie and the CSRF token are checked by api_authenticate() (api.c)
 * like a bearer token: the session routes ask it again only for the
 * session's own data.  Failed sign-ins slow down guessing, per account
 * name (SIGNIN_ACCOUNT_AFTER consecutive failures) and per client address
 * (SIGNIN_ADDRESS_AFTER failures within SIGNIN_ADDRESS_WINDOW): then every
 * attempt is refused with 429 for a delay that starts at SIGNIN_DELAY and
 * doubles with each further failure, up to SIGNIN_DELAY_MAX, whatever the
 * password.  A refused attempt is neither checked nor counted nor written
 * to the audit log (a flood would fill it); only checked failures are.
 */
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "db_account.h"
#include "db_session.h"
#include "log.h"
#include "password.h"
#include "store.h"
#include "worker.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIGNIN_ACCOUNT_AFTER  5	    /* consecutive failures of one account name */
#define SIGNIN_ADDRESS_AFTER  20    /* failures from one address ... */
#define SIGNIN_ADDRESS_WINDOW 900   /* ... within 15 min */
#define SIGNIN_DELAY	      30    /* seconds, doubled with each further failure */
#define SIGNIN_DELAY_MAX      900   /* 15 min */
#define SIGNIN_FORGET	      86400 /* failures are forgotten after a day */
#define SESSIONS_PER_ACCOUNT  20    /* beyond, an account's oldest sessions end */
#define PASSWORD_MIN_CHARS    12    /* UTF-8 code points */
#define PASSWORD_MAX_BYTES    256

/* One answer for a link that is unknown, used or expired */
#define LINK_GONE "this link is unknown, was already used or has expired: ask for a new one"

/* The bodies of these routes are JSON only: a form of another site cannot
 * send that type without the browser asking first (and being refused). */
static int json_request(struct req *r)
{
	const char *ct = ap_http_header(r->http, "content-type");
	if (ct && strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' '))
		return 0;
	return api_refuse(r, AP_EUNSUPPORTED, 415, "the body must be sent as application/json");
}

/* The client's address without its port (r->peer is "ip:port"); an IPv6
 * address counts by its /64, as one host usually holds the whole /64. */
static void peer_address(const struct req *r, char out[64])
{
	struct in6_addr a6;
	const char *colon = strrchr(r->peer ? r->peer : "", ':');
	int n = colon ? (int)(colon - r->peer) : 0;
	snprintf(out, 64, "%.*s", n, r->peer ? r->peer : "");
	if (strchr(out, ':') && inet_pton(AF_INET6, out, &a6) == 1) {
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, out, 48);
		strncat(out, "/64", 63 - strlen(out));
	}
}

/* The delay n failures impose when the after-th one starts it (0 below). */
static int64_t delay_after(int64_t n, int64_t after)
{
	int64_t d = SIGNIN_DELAY;
	if (n < after)
		return 0;
	for (int64_t k = after; k < n && d < SIGNIN_DELAY_MAX; k++)
		d *= 2;
	return d < SIGNIN_DELAY_MAX ? d : SIGNIN_DELAY_MAX;
}

/* Seconds before name may try again from addr (0: now) into *ret; answers
 * 503 itself when the store cannot say. */
static int signin_wait(struct req *r, const char *name, const char *addr, int64_t *ret)
{
	int64_t now = db_now(), n = 0, last = 0, wait = 0;
	int rc =
	    db_signin_failures(r->w->db, DB_SIGNIN_ACCOUNT, name, now - SIGNIN_FORGET, &n, &last);
	if (rc == 0)
		wait = last + delay_after(n, SIGNIN_ACCOUNT_AFTER) - now;
	if (rc == 0)
		rc = db_signin_failures(r->w->db, DB_SIGNIN_ADDRESS, addr,
					now - SIGNIN_ADDRESS_WINDOW, &n, &last);
	if (rc < 0)
		return api_dberr(r, rc, "reading the failed sign-ins");
	int64_t from_addr = last + delay_after(n, SIGNIN_ADDRESS_AFTER) - now;
	wait = from_addr > wait ? from_addr : wait;
	*ret = wait > 0 ? wait : 0;
	return 0;
}

/* One row of the session's "may": the page shows what authz_check()
 * allows; fleet-only actions are asked with no collège. */
static const struct {
	const char *key;
	enum authz_action action;
	int fleet_only;
} mays[] = {
    {"read", AZ_READ, 0},
    {"read_fleet", AZ_READ_FLEET, 1},
    {"loan", AZ_LOAN, 0},
    {"incident", AZ_INCIDENT, 0},
    {"device_action", AZ_DEVICE_ACTION, 0},
    {"school_policy", AZ_SCHOOL_POLICY, 0},
    {"admin", AZ_ADMIN, 1},
    {"audit", AZ_AUDIT, 1},
    {"locate", AZ_LOCATE, 1},
    {"policy_read", AZ_POLICY_READ, 0},
    {"app_catalogue", AZ_APP_CATALOGUE, 0},
    {"erase", AZ_ERASE, 1},
};

static json_t *text_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* The session object of r's account (r->acct) for session s of id sid. */
static json_t *session_json(struct req *r, const struct db_session *s, const char *sid)
{
	const struct config *cfg = &r->w->srv->cfg;
	char csrf[DB_SESSION_ID_LEN + 1];
	int64_t end = s->created_at + cfg->session_max_s, idle = s->last_seen + cfg->session_idle_s;
	json_t *schools = json_array(), *may = json_object();
	for (size_t i = 0; i < r->acct.n_schools; i++)
		json_array_append_new(schools, json_string(r->acct.schools[i]));
	for (size_t i = 0; i < sizeof(mays) / sizeof(mays[0]); i++)
		json_object_set_new(
		    may, mays[i].key,
		    json_boolean(authz_check(r, mays[i].action,
					     mays[i].fleet_only ? NULL : AUTHZ_OWN_SCOPE) == 0));
	db_session_csrf(sid, csrf);
	json_t *o = json_pack(
	    "{s:s,s:s,s:o,s:o,s:o,s:b,s:s,s:o,s:o,s:o}", "name", r->acct.name, "role",
	    db_role_name(r->acct.role), "display_name", text_or_null(r->acct.display_name), "email",
	    text_or_null(r->acct.email), "schools", schools, "fleet_wide", authz_fleet_wide(r),
	    "csrf", csrf, "expires_at", api_fleet_time(end), "idle_expires_at",
	    api_fleet_time(idle < end ? idle : end), "may", may);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	return o;
}

/* A checked sign-in that failed: counted against the name and the
 * address, written to the audit log (never the password), answered 401
 * with one message whatever went wrong. */
static void signin_failed(struct req *r, const char *name, const char *addr, const char *why)
{
	int rc = api_begin(r);
	if (rc < 0)
		return;
	rc = db_signin_failed(r->w->db, DB_SIGNIN_ACCOUNT, name);
	if (rc == 0)
		rc = db_signin_failed(r->w->db, DB_SIGNIN_ADDRESS, addr);
	if (rc == 0) /* the rows stay bounded even without a sign-in that succeeds */
		rc = db_signin_prune(r->w->db, db_now() - SIGNIN_FORGET);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "counting the failed sign-in");
		return;
	}
	log_info("signin_refused", "id=%s address=%s why=\"%s\"", r->id, addr, why);
	if (api_commit_new(r, "session.refused", name, NULL,
			   json_pack("{s:s,s:s}", "address", addr, "why", why)) == 0)
		api_fail(r, AP_EAUTH, 401, "wrong account name or password");
}

/* The password matched: a new session, its cookie, the audit row. */
static void signin_ok(struct req *r, const struct db_account *a, const char *addr)
{
	const struct config *cfg = &r->w->srv->cfg;
	char sid[DB_SESSION_ID_LEN + 1] = "", csrf[DB_SESSION_ID_LEN + 1] = "";
	struct db_session s;
	int rc = api_begin(r);
	if (rc < 0)
		return;
	rc = db_signin_clear(r->w->db, DB_SIGNIN_ACCOUNT, a->name);
	if (rc == 0) /* housekeeping, in the same transaction */
		rc = db_session_prune(r->w->db, cfg->session_idle_s, cfg->session_max_s);
	if (rc == 0)
		rc = db_signin_prune(r->w->db, db_now() - SIGNIN_FORGET);
	if (rc == 0)
		rc = db_session_new(r->w->db, a->id, addr, SESSIONS_PER_ACCOUNT, sid, csrf);
	if (rc == 0)
		rc = db_account_signed_in(r->w->db, a->id);
	if (rc == 0)
		rc = db_session_get(r->w->db, sid, &s);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "opening the session");
		goto out;
	}
	r->acct = *a;
	r->has_acct = 1;
	if (api_commit_new(r, "session.signin", a->name, NULL,
			   json_pack("{s:s}", "address", addr)) < 0)
		goto out;
	api_session_cookie(r, sid);
	api_json(r, 200, session_json(r, &s, sid));
out:
	OPENSSL_cleanse(sid, sizeof(sid));
	OPENSSL_cleanse(csrf, sizeof(csrf));
}

/* The hash to check a sign-in of account a against (found: the lookup's
 * result) into hash, *ret_why NULL; or why no password can match
 * (*ret_why says, for the audit row).  Answers 503 itself when the store
 * fails. */
static int account_hash(struct req *r, int found, const struct db_account *a, char *hash,
			size_t cap, const char **ret_why)
{
	int rc = found;
	*ret_why = NULL;
	if (rc == 0 && a->disabled) {
		*ret_why = "disabled account";
		return 0;
	}
	if (rc == 0)
		rc = db_account_password(r->w->db, a->id, hash, cap);
	if (rc == AP_ENOTFOUND)
		*ret_why = found == 0 ? "no password set" : "unknown account";
	else if (rc < 0)
		return api_dberr(r, rc, "reading the account");
	return 0;
}

static void signin(struct req *r)
{
	const char *name = NULL, *password = NULL, *why = NULL;
	char addr[64], hash[DB_PASSWORD_HASH_MAX + 1] = "";
	struct db_account a;
	int64_t wait = 0;
	json_t *b = NULL;
	if (json_request(r) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "name", 64, 1, &name) < 0 ||
	    api_field_str(r, b, "password", PASSWORD_MAX_BYTES, 1, &password) < 0)
		goto out;
	peer_address(r, addr);
	if (signin_wait(r, name, addr, &wait) < 0)
		goto out;
	if (wait > 0) {
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld", (long long)wait);
		log_info("signin_throttled", "id=%s address=%s wait=%s", r->id, addr, secs);
		api_fail(r, AP_ELIMIT, 429, "too many failed sign-ins: try again in %s s", secs);
		ap_http_resp_add_header(r->resp, "Retry-After", secs);
		goto out;
	}
	if (account_hash(r, db_account_by_name(r->w->db, name, &a), &a, hash, sizeof(hash), &why) <
	    0)
		goto out;
	/* some 50 ms on this worker's loop, even without a hash (password.h) */
	if (password_verify(why ? NULL : hash, password, strlen(password)) < 0)
		signin_failed(r, name, addr, why ? why : "wrong password");
	else
		signin_ok(r, &a, addr);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	json_decref(b);
}

/* The session of the request's cookie, its account being r->acct (the
 * router authenticated it); answers 401 itself when the request came with
 * a bearer token instead. */
static int own_session(struct req *r, struct db_session *s, char *sid)
{
	int rc = api_session_of(r, s, sid);
	if (rc == 0 && s->account_id == r->acct.id)
		return 0;
	if (rc < 0 && rc != AP_EAUTH)
		return api_dberr(r, rc, "reading the session");
	return api_refuse(r, AP_EAUTH, 401, "no session: sign in (a bearer token has none)");
}

static void session_show(struct req *r)
{
	char sid[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	if (own_session(r, &s, sid) < 0)
		return;
	api_json(r, 200, session_json(r, &s, sid));
	OPENSSL_cleanse(sid, sizeof(sid));
}

static void signout(struct req *r)
{
	char sid[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	int rc;
	if (own_session(r, &s, sid) < 0 || api_begin(r) < 0)
		goto out;
	rc = db_session_end(r->w->db, s.id);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		api_rollback(r);
		api_dberr(r, rc, "ending the session");
		goto out;
	}
	if (api_commit(r, "session.signout", r->acct.name, NULL, NULL) < 0)
		goto out;
	api_session_cookie(r, NULL);
	api_json(r, 200, json_pack("{s:b}", "signed_out", 1));
out:
	OPENSSL_cleanse(sid, sizeof(sid));
}

/* The link of the path's token and its account (enabled); 404 with one
 * message for an unknown, used or expired link. */
static int find_link(struct req *r, struct db_link *l, struct db_account *a)
{
	int rc = db_link_get(r->w->db, api_param(r, 0), l);
	if (rc == 0)
		rc = db_account_by_id(r->w->db, l->account_id, a);
	if (rc == 0 && a->disabled)
		rc = AP_ENOTFOUND;
	if (rc == AP_ENOTFOUND)
		return api_refuse(r, rc, 404, "%s", LINK_GONE);
	if (rc < 0)
		return api_dberr(r, rc, "reading the link");
	return 0;
}

static void link_show(struct req *r)
{
	struct db_link l;
	struct db_account a;
	if (find_link(r, &l, &a) < 0)
		return;
	api_json(r, 200,
		 json_pack("{s:s,s:o,s:s,s:o}", "name", a.name, "display_name",
			   text_or_null(a.display_name), "kind", db_link_kind_name(l.kind),
			   "expires_at", api_fleet_time(l.expires_at)));
}

/* 0 when password may be account name's; answers 400 why otherwise. */
static int password_rules(struct req *r, const char *password, const char *name)
{
	size_t chars = 0;
	for (const char *p = password; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	if (chars < PASSWORD_MIN_CHARS)
		return api_refuse(r, AP_EINVAL, 400, "the password needs at least %d characters",
				  PASSWORD_MIN_CHARS);
	if (strcasecmp(password, name) == 0)
		return api_refuse(r, AP_EINVAL, 400, "the password must not be the account name");
	return 0;
}

/* Uses the link up and stores the password's hash; the account's sessions
 * end (whoever held one no longer needs the old password's). */
static int store_password(struct req *r, const struct db_account *a, const char *hash,
			  int64_t *ret_ended)
{
	int rc = db_link_use(r->w->db, api_param(r, 0));
	if (rc == 0)
		rc = db_account_set_password(r->w->db, a->id, hash);
	if (rc == 0)
		rc = db_session_end_account(r->w->db, a->id, ret_ended);
	if (rc == 0)
		rc = db_signin_clear(r->w->db, DB_SIGNIN_ACCOUNT, a->name);
	if (rc < 0)
		api_rollback(r);
	if (rc == AP_ENOTFOUND) /* used meanwhile by another request */
		return api_refuse(r, rc, 404, "%s", LINK_GONE);
	if (rc < 0)
		return api_dberr(r, rc, "storing the password");
	return 0;
}

static void link_use(struct req *r)
{
	const char *password = NULL;
	char hash[PASSWORD_ENCODED_MAX] = "";
	struct db_link l;
	struct db_account a;
	int64_t ended = 0;
	json_t *b = NULL;
	if (json_request(r) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "password", PASSWORD_MAX_BYTES, 1, &password) < 0 ||
	    find_link(r, &l, &a) < 0 || password_rules(r, password, a.name) < 0)
		goto out;
	/* some 50 ms on this worker's loop, outside any transaction (password.h) */
	int rc = password_hash(password, strlen(password), hash, sizeof(hash));
	if (rc < 0) {
		api_fail(r, rc, 500, "could not hash the password: %s", ap_strerror(rc));
		goto out;
	}
	if (api_begin(r) < 0 || store_password(r, &a, hash, &ended) < 0)
		goto out;
	r->acct = a; /* the person who holds the link sets it */
	r->has_acct = 1;
	if (api_commit_new(r, "account.password_set", a.name, NULL,
			   json_pack("{s:s,s:I}", "link", db_link_kind_name(l.kind),
				     "sessions_ended", (json_int_t)ended)) == 0)
		api_json(r, 200, json_pack("{s:s}", "name", a.name));
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	json_decref(b);
}

const struct route api_session_routes[] = {
    {"POST", "/api/v1/session", AUTH_NONE, signin},
    {"GET", "/api/v1/session", AUTH_STAFF, session_show},
    {"DELETE", "/api/v1/session", AUTH_STAFF, signout},
    {"GET", "/api/v1/links/:token", AUTH_NONE, link_show},
    {"POST", "/api/v1/links/:token", AUTH_NONE, link_use},
    {NULL, NULL, AUTH_NONE, NULL},
};
