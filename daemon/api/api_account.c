/* api_account.c - staff accounts: create, list, change, disable, token
 * rotation, and the one-time links that set their password. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_account.h"
#include "db_school.h"
#include "db_session.h"
#include "mdm.h"
#include "worker.h"

#include <openssl/crypto.h>
#include <string.h>

#define DISPLAY_NAME_MAX 128 /* characters */

static json_t *text_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *account_json(const struct db_account *a)
{
	json_t *schools = json_array();
	for (size_t i = 0; i < a->n_schools; i++)
		json_array_append_new(schools, json_string(a->schools[i]));
	return json_pack("{s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:b,s:o}", "name", a->name, "role",
			 db_role_name(a->role), "schools", schools, "disabled", a->disabled,
			 "created_at", api_fleet_time(a->created_at), "display_name",
			 text_or_null(a->display_name), "email", text_or_null(a->email),
			 "password_set", a->password_set, "last_signin_at",
			 api_fleet_time(a->last_signin_at));
}

/* The display name and e-mail address of body into *c (NULL when absent):
 * a name of at most DISPLAY_NAME_MAX characters on one line, an address
 * shaped as local@domain.tld ("" clears either).  Answers 400 itself. */
static int profile_fields(struct req *r, json_t *b, struct db_account_change *c)
{
	const char *name = NULL, *email = NULL, *at;
	size_t chars = 0;
	if (api_field_str(r, b, "display_name", DB_DISPLAY_NAME_MAX, 0, &name) < 0 ||
	    api_field_str(r, b, "email", DB_EMAIL_MAX, 0, &email) < 0)
		return AP_EINVAL;
	for (const char *p = name ? name : ""; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	if (chars > DISPLAY_NAME_MAX)
		return api_refuse(r, AP_EINVAL, 400, "display_name: at most %d characters",
				  DISPLAY_NAME_MAX);
	at = email ? strchr(email, '@') : NULL;
	if (email && email[0] &&
	    (at == NULL || at == email || strchr(at + 1, '@') || strchr(email, ' ') ||
	     strchr(at + 1, '.') == NULL || at[1] == '.' || email[strlen(email) - 1] == '.'))
		return api_refuse(r, AP_EINVAL, 400,
				  "email: '%s' is not an e-mail address (name@domain.fr)", email);
	c->display_name = name;
	c->email = email;
	return 0;
}

/* A new one-time link of kind for account a, in the open transaction:
 * its URL (<public_url>/lien/<token>) into url (cap bytes), its end into
 * *ret_expires.  On failure rolls back and answers. */
static int new_link(struct req *r, const struct db_account *a, enum db_link_kind kind, char *url,
		    size_t cap, int64_t *ret_expires)
{
	char token[DB_SESSION_ID_LEN + 1], base[300];
	int rc = db_link_new(r->w->db, a->id, kind, DB_LINK_TTL, token, ret_expires);
	if (rc < 0) {
		api_rollback(r);
		return api_dberr(r, rc, "making the link");
	}
	mdm_public_url(r->w, base, sizeof(base));
	snprintf(url, cap, "%s/lien/%s", base, token);
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}

/* The collèges of an account of role: known UAIs, as many as the role
 * takes (technicians and auditors none, ATIs and référents one or more). */
static int account_schools(struct req *r, json_t *b, enum db_role role, char list[][9], size_t *n)
{
	const char *given[DB_ACCOUNT_MAX_SCHOOLS];
	struct db_school s;
	int rc = api_field_strs(r, b, "schools", DB_ACCOUNT_MAX_SCHOOLS, 64, 0, given, n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < *n; i++) {
		if (api_fleet_uai(r, given[i], list[i]) < 0)
			return AP_EINVAL;
		rc = db_school_get(r->w->db, list[i], &s);
		if (rc == AP_ENOTFOUND)
			return api_refuse(r, rc, 404, "no collège %s", list[i]);
		if (rc < 0)
			return api_dberr(r, rc, "reading the collège");
	}
	if ((role == DB_ROLE_TECHNICIAN || role == DB_ROLE_AUDITOR || role == DB_ROLE_MONITORING) &&
	    *n)
		return api_refuse(r, AP_EINVAL, 400, "a %s sees the whole fleet: give no collège",
				  db_role_name(role));
	if (role == DB_ROLE_ATI && *n == 0)
		return api_refuse(r, AP_EMISSING, 400, "an ati account needs at least one collège");
	if (role == DB_ROLE_REFERENT && *n == 0)
		return api_refuse(r, AP_EMISSING, 400,
				  "a referent account needs at least one collège");
	return 0;
}

static void create_account(struct req *r)
{
	const char *name = NULL, *role_s = NULL, *reason = NULL, *ptrs[DB_ACCOUNT_MAX_SCHOOLS];
	char list[DB_ACCOUNT_MAX_SCHOOLS][9], token[DB_TOKEN_LEN + 1] = "", url[400];
	struct db_account a;
	struct db_account_change c = {.enabled = -1};
	enum db_role role;
	int64_t expires = 0;
	size_t n;
	int rc;
	json_t *b = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "name", 64, 1, &name) < 0 ||
	    api_field_str(r, b, "role", 16, 1, &role_s) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    profile_fields(r, b, &c) < 0)
		goto out;
	if (db_role_from_name(role_s, &role) < 0) {
		api_fail(r, AP_EINVAL, 400,
			 "role must be technician, ati, referent, auditor or monitoring");
		goto out;
	}
	if (account_schools(r, b, role, list, &n) < 0 || api_begin(r) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		ptrs[i] = list[i];
	rc = db_account_create(r->w->db, name, role, ptrs, n, token, NULL);
	if (rc == 0)
		rc = db_account_token_issuer(r->w->db, name, r->acct.name);
	if (rc == 0)
		rc = db_account_update(r->w->db, name, &c);
	if (rc == 0)
		rc = db_account_by_name(r->w->db, name, &a);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_EEXIST)
			api_fail(r, rc, 409, "account %s already exists", name);
		else if (rc == AP_EINVAL)
			api_fail(r, rc, 400, "name: 1 to 64 of A-Z a-z 0-9 . _ @ -");
		else
			api_dberr(r, rc, "creating the account");
		goto out;
	}
	if (new_link(r, &a, DB_LINK_INVITE, url, sizeof(url), &expires) < 0)
		goto out;
	json_t *o = account_json(&a); /* never the token nor the link: they go to the audit log */
	json_object_set_new(o, "link_expires_at", api_fleet_time(expires));
	rc = api_commit(r, "account.create", name, reason, o);
	if (rc == 0) {
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "link", json_string(url));
		api_json(r, 201, o);
	} else {
		json_decref(o);
	}
	OPENSSL_cleanse(url, sizeof(url));
out:
	OPENSSL_cleanse(token, sizeof(token));
	json_decref(b);
}

static int add_account(const struct db_account *a, void *arg)
{
	return json_array_append_new(arg, account_json(a)) < 0;
}

static void list_accounts(struct req *r)
{
	json_t *arr;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	arr = json_array();
	int rc = db_account_list(r->w->db, add_account, arr);
	if (rc < 0) {
		json_decref(arr);
		api_dberr(r, rc, "listing accounts");
		return;
	}
	api_json(r, 200, json_pack("{s:o}", "accounts", arr));
}

/* Ends the sessions of account name (disabled), in the open transaction. */
static int end_sessions(struct req *r, const char *name)
{
	struct db_account a;
	int rc = db_account_by_name(r->w->db, name, &a);
	return rc < 0 ? rc : db_session_end_account(r->w->db, a.id, NULL);
}

static void disable_account(struct req *r)
{
	const char *name = api_param(r, 0), *reason = NULL;
	json_t *b = NULL;
	int rc;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (strcmp(name, r->acct.name) == 0) {
		api_fail(r, AP_ECONFLICT, 409, "you cannot disable your own account");
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	rc = db_account_disable(r->w->db, name);
	if (rc == 0)
		rc = end_sessions(r, name);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "no account %s", name);
		else
			api_dberr(r, rc, "disabling the account");
		goto out;
	}
	if (api_commit(r, "account.disable", name, reason, NULL) == 0)
		api_json(r, 200, json_pack("{s:s,s:b}", "name", name, "disabled", 1));
out:
	json_decref(b);
}

/* Rotates the caller's own token, or (technician) another account's. */
static void rotate_token(struct req *r)
{
	const char *name = NULL, *reason = NULL;
	char token[DB_TOKEN_LEN + 1], who[65];
	json_t *b = api_body(r);
	int rc;
	if (b == NULL)
		return;
	if (api_field_str(r, b, "account", 64, 0, &name) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	snprintf(who, sizeof(who), "%s", name ? name : r->acct.name);
	if (api_allow(r, strcmp(who, r->acct.name) == 0 ? AZ_SELF : AZ_ADMIN, NULL) < 0 ||
	    api_begin(r) < 0)
		goto out;
	rc = db_account_rotate_token(r->w->db, who, token);
	if (rc == 0 && strcmp(who, r->acct.name) != 0)
		rc = db_account_token_issuer(r->w->db, who, r->acct.name);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "no account %s", who);
		else
			api_dberr(r, rc, "rotating the token");
		goto out;
	}
	if (api_commit(r, "token.rotate", who, reason, NULL) == 0)
		api_json(r, 200, json_pack("{s:s,s:s}", "name", who, "token", token));
	OPENSSL_cleanse(token, sizeof(token));
out:
	json_decref(b);
}

/* Account name into *a; answers 404 (or 503) itself. */
static int find_account(struct req *r, const char *name, struct db_account *a)
{
	int rc = db_account_by_name(r->w->db, name, a);
	if (rc == AP_ENOTFOUND)
		return api_refuse(r, rc, 404, "no account %s", name);
	if (rc < 0)
		return api_dberr(r, rc, "reading the account");
	return 0;
}

/* The body of a route whose body is optional: {} when there is none. */
static json_t *optional_body(struct req *r)
{
	return r->http->body.len ? api_body(r) : json_object();
}

/* POST /accounts/:name/invite and /password-reset: a new one-time link
 * (the account's older ones stop working). */
static void link_route(struct req *r, enum db_link_kind kind, const char *action)
{
	const char *name = api_param(r, 0), *reason = NULL;
	char url[400] = "";
	struct db_account a;
	int64_t expires = 0;
	json_t *b = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = optional_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (find_account(r, name, &a) < 0)
		goto out;
	if (a.disabled) {
		api_fail(r, AP_ECONFLICT, 409,
			 "account %s is disabled: enable it first (account update %s --enable)",
			 name, name);
		goto out;
	}
	if (api_begin(r) < 0 || new_link(r, &a, kind, url, sizeof(url), &expires) < 0)
		goto out;
	/* whoever holds the link can set the password: like a token it issued
	 * (the geolocation's two-person rule counts it), unless it is its own */
	int rc =
	    strcmp(name, r->acct.name) ? db_account_token_issuer(r->w->db, name, r->acct.name) : 0;
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "recording who issued the link");
		goto out;
	}
	if (api_commit_new(r, action, name, reason,
			   json_pack("{s:o}", "link_expires_at", api_fleet_time(expires))) == 0)
		api_json(r, 200,
			 json_pack("{s:s,s:s,s:o}", "name", name, "link", url, "link_expires_at",
				   api_fleet_time(expires)));
out:
	OPENSSL_cleanse(url, sizeof(url));
	json_decref(b);
}

static void invite(struct req *r)
{
	link_route(r, DB_LINK_INVITE, "account.invite");
}

static void password_reset(struct req *r)
{
	link_route(r, DB_LINK_RESET, "account.password_reset");
}

/* The changes of an update's body into *c (schools checked against the
 * account's role), and what changed into detail; answers 400 itself. */
static int update_fields(struct req *r, json_t *b, const struct db_account *a,
			 struct db_account_change *c, char list[][9], const char **ptrs,
			 json_t *detail)
{
	static const char *const keys[] = {"schools", "display_name", "email", "enabled"};
	json_t *v = json_object_get(b, "enabled"), *s = json_object_get(b, "schools");
	if (profile_fields(r, b, c) < 0)
		return AP_EINVAL;
	if (s && !json_is_null(s)) {
		if (account_schools(r, b, a->role, list, &c->n_schools) < 0)
			return AP_EINVAL;
		for (size_t i = 0; i < c->n_schools; i++)
			ptrs[i] = list[i];
		c->schools = ptrs;
		c->set_schools = 1;
	}
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return api_refuse(r, AP_ETYPE, 400, "'enabled' must be true or false");
	c->enabled = json_is_boolean(v) ? json_is_true(v) : -1;
	if (c->enabled == 0 && strcmp(a->name, r->acct.name) == 0)
		return api_refuse(r, AP_ECONFLICT, 409, "you cannot disable your own account");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(b, keys[i]) && !json_is_null(json_object_get(b, keys[i])))
			json_object_set(detail, keys[i], json_object_get(b, keys[i]));
	if (json_object_size(detail) == 0)
		return api_refuse(
		    r, AP_EMISSING, 400,
		    "nothing to change: give schools, display_name, email or enabled");
	return 0;
}

/* POST /accounts/:name/update: collèges, display name, e-mail address,
 * enabled; disabling ends the account's sessions. */
static void update_account(struct req *r)
{
	const char *name = api_param(r, 0), *reason = NULL, *ptrs[DB_ACCOUNT_MAX_SCHOOLS];
	char list[DB_ACCOUNT_MAX_SCHOOLS][9];
	struct db_account a;
	struct db_account_change c = {.enabled = -1};
	json_t *b = NULL, *detail = json_object();
	int rc;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = api_body(r)) == NULL)
		goto out;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (find_account(r, name, &a) < 0 || update_fields(r, b, &a, &c, list, ptrs, detail) < 0 ||
	    api_begin(r) < 0)
		goto out;
	rc = db_account_update(r->w->db, name, &c);
	if (rc == 0 && c.enabled == 0)
		rc = db_session_end_account(r->w->db, a.id, NULL);
	if (rc == 0)
		rc = db_account_by_name(r->w->db, name, &a);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "changing the account");
		goto out;
	}
	if (api_commit(r, "account.update", name, reason, detail) == 0)
		api_json(r, 200, account_json(&a));
out:
	json_decref(detail);
	json_decref(b);
}

const struct route api_account_routes[] = {
    {"GET", "/api/v1/accounts", AUTH_STAFF, list_accounts},
    {"POST", "/api/v1/accounts", AUTH_STAFF, create_account},
    {"POST", "/api/v1/accounts/:name/disable", AUTH_STAFF, disable_account},
    {"POST", "/api/v1/accounts/:name/update", AUTH_STAFF, update_account},
    {"POST", "/api/v1/accounts/:name/invite", AUTH_STAFF, invite},
    {"POST", "/api/v1/accounts/:name/password-reset", AUTH_STAFF, password_reset},
    {"POST", "/api/v1/token/rotate", AUTH_STAFF, rotate_token},
    {NULL, NULL, AUTH_NONE, NULL},
};
