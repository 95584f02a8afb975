/* api_account.c - staff accounts: create, list, disable, token rotation. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_account.h"
#include "db_school.h"
#include "worker.h"

#include <openssl/crypto.h>
#include <string.h>

static json_t *account_json(const struct db_account *a)
{
	json_t *schools = json_array();
	for (size_t i = 0; i < a->n_schools; i++)
		json_array_append_new(schools, json_string(a->schools[i]));
	return json_pack("{s:s,s:s,s:o,s:b,s:o}", "name", a->name, "role", db_role_name(a->role),
			 "schools", schools, "disabled", a->disabled, "created_at",
			 api_fleet_time(a->created_at));
}

/* The collèges of a new account: known UAIs, as many as the role takes. */
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
	if ((role == DB_ROLE_TECHNICIAN || role == DB_ROLE_AUDITOR) && *n)
		return api_refuse(r, AP_EINVAL, 400, "a %s sees the whole fleet: give no collège",
				  db_role_name(role));
	if (role == DB_ROLE_ATI && *n == 0)
		return api_refuse(r, AP_EMISSING, 400, "an ati account needs at least one collège");
	if (role == DB_ROLE_REFERENT && *n != 1)
		return api_refuse(r, AP_EINVAL, 400, "a referent account has exactly one collège");
	return 0;
}

static void create_account(struct req *r)
{
	const char *name = NULL, *role_s = NULL, *reason = NULL, *ptrs[DB_ACCOUNT_MAX_SCHOOLS];
	char list[DB_ACCOUNT_MAX_SCHOOLS][9], token[DB_TOKEN_LEN + 1];
	struct db_account a;
	enum db_role role;
	size_t n;
	int rc;
	json_t *b = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "name", 64, 1, &name) < 0 ||
	    api_field_str(r, b, "role", 16, 1, &role_s) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (db_role_from_name(role_s, &role) < 0) {
		api_fail(r, AP_EINVAL, 400, "role must be technician, ati, referent or auditor");
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
	json_t *o = account_json(&a); /* never the token: it goes to the audit log */
	rc = api_commit(r, "account.create", name, reason, o);
	if (rc == 0) {
		json_object_set_new(o, "token", json_string(token));
		api_json(r, 201, o);
	} else {
		json_decref(o);
	}
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

const struct route api_account_routes[] = {
    {"GET", "/api/v1/accounts", AUTH_STAFF, list_accounts},
    {"POST", "/api/v1/accounts", AUTH_STAFF, create_account},
    {"POST", "/api/v1/accounts/:name/disable", AUTH_STAFF, disable_account},
    {"POST", "/api/v1/token/rotate", AUTH_STAFF, rotate_token},
    {NULL, NULL, AUTH_NONE, NULL},
};
