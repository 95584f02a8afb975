/*
 * api_vpp.c - Apps and Books (issue 16; docs/apple-services.md §3): the
 * content tokens (technicians, AZ_VPP), a licence run on demand, and the
 * licences' status (AZ_VPP_STATUS: technicians everywhere, ATIs and
 * référents in their collèges).
 *
 *   POST   /api/v1/vpp/tokens      {"stoken", "scope": "fleet"|"school:UAI",
 *                                  "take_over": bool}: parsed (vpp.h), the
 *                                  location read and claimed (mdmInfo) at
 *                                  Apple, stored sealed (vpp-token)
 *   GET    /api/v1/vpp/tokens      the tokens, expiry, warnings
 *   DELETE /api/v1/vpp/tokens/:id  forgets a token and its licences
 *   POST   /api/v1/vpp/sync        a licence run now (licence.h)
 *   GET    /api/v1/vpp/status      ?school=UAI: per token and app, Apple's
 *                                  counts and Ardoise's licences; what waits
 *                                  for licences per collège; the last run
 *
 * Adding a token asks Apple twice (GET then POST /client/config) on the
 * request's loop, each call at most TOKEN_TIMEOUT_S (a 429 or 5xx waited
 * out at most TOKEN_WAIT_S, 3 times): the one request of the daemon that
 * waits on Apple, done by a technician once a year; the other loop serves
 * meanwhile.
 */
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "api_vpp.h"
#include "authz.h"
#include "db_school.h"
#include "db_vpp.h"
#include "isodate.h"
#include "keystore.h"
#include "licence.h"
#include "store.h"
#include "vpp.h"
#include "vpp_client.h"
#include "worker.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY		86400
#define TOKEN_TIMEOUT_S 15L
#define TOKEN_WAIT_S	2L /* the longest wait before a retry (429, 5xx) on the loop */

static int64_t days_left(int64_t expires)
{
	int64_t left = expires - db_now();
	return left >= 0 ? left / DAY : -((-left + DAY - 1) / DAY);
}

/* "fleet" or "school:UAI" (the collège known) into scope and school. */
static int read_scope(struct req *r, const char *in, char *scope, size_t cap, char *school,
		      size_t school_cap)
{
	struct db_school s;
	if (strcmp(in, "fleet") == 0) {
		snprintf(scope, cap, "fleet");
		school[0] = '\0';
		return 0;
	}
	if (strncmp(in, "school:", 7) != 0 || strlen(in + 7) == 0 || strlen(in + 7) >= school_cap)
		return api_refuse(r, AP_EINVAL, 400,
				  "scope: fleet or school:UAI (a collège's own token)");
	size_t i = 0;
	for (const char *p = in + 7; *p && i + 1 < school_cap; p++)
		school[i++] = (char)toupper((unsigned char)*p);
	school[i] = '\0';
	int rc = db_school_get(r->w->db, school, &s);
	if (rc == AP_ENOTFOUND)
		return api_refuse(r, AP_ENOTFOUND, 404, "no collège %s", school);
	if (rc < 0) {
		api_dberr(r, rc, "reading the collège");
		return rc;
	}
	snprintf(scope, cap, "school:%s", school);
	return 0;
}

/* Apple's answer to a token's first calls, refused. */
static int apple_refused(struct req *r, const struct vpp_error *e)
{
	if (e->action == VPP_NEW_TOKEN)
		return api_refuse(r, AP_EAUTH, 400,
				  "Apple refuses this content token (error %d): download a new "
				  "one in Apple School Manager",
				  e->number);
	if (e->number == 0 && e->http == 0)
		return api_refuse(r, e->code < 0 ? e->code : AP_EIO, 502,
				  "the Apps and Books service did not answer: %s", e->message);
	return api_refuse(r, e->code < 0 ? e->code : AP_EIO, 502,
			  "the Apps and Books service refused the call (error %d, HTTP %d): %s",
			  e->number, e->http, e->message);
}

/* GET /client/config, then the location claimed unless another MDM has
 * it (take_over: claimed anyway).  0, or answered. */
static int claim(struct req *r, const char *stoken, int take_over, struct vpp_client_config *ret)
{
	const struct config *cfg = &r->w->srv->cfg;
	char mdm_id[40];
	struct vpp_client *c = NULL;
	struct vpp_client_config cc;
	struct vpp_error e;
	int rc = licence_mdm_id(r->w, mdm_id, sizeof(mdm_id));
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot read the installation's id: %s", ap_strerror(rc));
		return rc;
	}
	struct vpp_client_opts o = {.url = cfg->vpp_url,
				    .ca = cfg->vpp_ca,
				    .mdm_id = "",
				    .timeout_s = TOKEN_TIMEOUT_S,
				    .wait_cap_s = TOKEN_WAIT_S};
	if ((rc = vpp_client_open(&o, stoken, strlen(stoken), &c)) < 0)
		return api_refuse(r, rc, 400, "stoken: empty or too long");
	rc = vpp_client_config_get(c, &cc, &e);
	if (rc == 0 && cc.meta.mdm_id[0] && strcmp(cc.meta.mdm_id, mdm_id) != 0 && !take_over) {
		vpp_client_close(c);
		return api_refuse(r, AP_ECONFLICT, 409,
				  "the location %s is managed by another MDM (%s): take it over "
				  "only if that MDM is no longer used (--take-over)",
				  cc.location, cc.mdm_name[0] ? cc.mdm_name : cc.meta.mdm_id);
	}
	if (rc == 0)
		rc = vpp_client_claim(c, mdm_id, LICENCE_MDM_NAME, &cc, &e);
	vpp_client_close(c);
	if (rc < 0)
		return apple_refused(r, &e);
	if (cc.meta.mdm_id[0] && strcmp(cc.meta.mdm_id, mdm_id) != 0)
		return api_refuse(r, AP_ECONFLICT, 502,
				  "Apple did not record the claim of the location %s", cc.location);
	*ret = cc;
	return 0;
}

static json_t *token_json(const struct db_vpp_token *t)
{
	return json_pack("{s:I,s:s,s:s?,s:s,s:s,s:o,s:I,s:s,s:o,s:o,s:s,s:b}", "id",
			 (json_int_t)t->id, "scope", t->scope, "school",
			 t->school[0] ? t->school : NULL, "org", t->org, "location", t->location,
			 "expiry", api_fleet_time(t->expires), "expires_in_days",
			 (json_int_t)days_left(t->expires), "imported_by", t->imported_by,
			 "imported_at", api_fleet_time(t->imported_at), "synced_at",
			 api_fleet_time(t->synced_at), "error", t->error, "stopped", t->stopped);
}

static int store(struct req *r, const char *stoken, const struct vpp_token *vt,
		 const struct vpp_client_config *cc, const char *scope, const char *school)
{
	struct db_vpp_token row;
	int64_t id = 0;
	memset(&row, 0, sizeof(row));
	snprintf(row.scope, sizeof(row.scope), "%s", scope);
	snprintf(row.school, sizeof(row.school), "%s", school);
	snprintf(row.org, sizeof(row.org), "%s", vt->org);
	snprintf(row.location, sizeof(row.location), "%s", cc->location);
	snprintf(row.uid, sizeof(row.uid), "%s", cc->meta.uid);
	snprintf(row.imported_by, sizeof(row.imported_by), "%s", r->acct.name);
	row.expires = vt->expires;
	row.imported_at = db_now();
	int rc = keystore_seal(r->w->srv->ks, KEYSTORE_VPP_TOKEN, scope, stoken, strlen(stoken),
			       &row.stoken, &row.stoken_len);
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot seal the content token: %s", ap_strerror(rc));
		return rc;
	}
	if ((rc = api_begin(r)) < 0)
		goto out;
	if ((rc = db_vpp_token_add(r->w->db, &row, &id)) < 0) {
		api_rollback(r);
		if (rc == AP_EEXIST)
			api_fail(r, AP_ECONFLICT, 409,
				 "%s has a content token already: remove it first (vpp token "
				 "remove)",
				 scope);
		else
			api_dberr(r, rc, "storing the content token");
		goto out;
	}
	row.id = id;
	if ((rc = api_commit_new(r, "vpp.token.add", scope, NULL,
				 json_pack("{s:s,s:s,s:I}", "location", cc->location, "org",
					   vt->org, "id", (json_int_t)id))) < 0)
		goto out;
	api_json(r, 201, token_json(&row));
out:
	free(row.stoken);
	return rc;
}

static void token_add(struct req *r)
{
	const char *stoken = NULL, *scope_in = NULL;
	char scope[DB_VPP_SCOPE + 1], school[32], err[300], day[ISODATE_DAY_LEN + 1];
	int take_over = 0;
	struct vpp_token vt;
	struct vpp_client_config cc;
	if (api_allow(r, AZ_VPP, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "stoken", VPP_TOKEN_MAX, 1, &stoken) < 0 ||
	    api_field_str(r, body, "scope", DB_VPP_SCOPE, 1, &scope_in) < 0 ||
	    api_field_bool(r, body, "take_over", &take_over) < 0 ||
	    read_scope(r, scope_in, scope, sizeof(scope), school, sizeof(school)) < 0)
		goto out;
	if (vpp_token_parse(stoken, strlen(stoken), &vt, err, sizeof(err)) < 0) {
		api_refuse(r, AP_EPARSE, 400, "not an Apps and Books content token: %s", err);
		goto out;
	}
	if (vt.expires <= db_now()) {
		isodate_format_day(vt.expires, day);
		api_refuse(r, AP_EINVAL, 400,
			   "this content token expired on %s: download a new one in Apple School "
			   "Manager",
			   day);
		goto out;
	}
	if (claim(r, stoken, take_over, &cc) == 0 && store(r, stoken, &vt, &cc, scope, school) == 0)
		licence_sync_now(r->w, "token");
out:
	json_decref(body);
}

static void token_list(struct req *r)
{
	struct db_vpp_token *v = NULL;
	size_t n = 0;
	char warning[400];
	if (api_allow(r, AZ_VPP, NULL) < 0)
		return;
	int rc = db_vpp_token_list(r->w->db, &v, &n);
	if (rc < 0) {
		api_dberr(r, rc, "reading the content tokens");
		return;
	}
	json_t *arr = json_array(), *warnings = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, token_json(&v[i]));
	free(v);
	if (api_vpp_warning(r, warning, sizeof(warning)))
		json_array_append_new(warnings, json_string(warning));
	api_json(r, 200, json_pack("{s:o,s:o}", "tokens", arr, "warnings", warnings));
}

static void token_remove(struct req *r)
{
	char *end = NULL;
	const char *p = api_param(r, 0);
	long long id = strtoll(p, &end, 10);
	struct db_vpp_token t;
	if (api_allow(r, AZ_VPP, NULL) < 0)
		return;
	if (*p == '\0' || *end != '\0' || id <= 0) {
		api_fail(r, AP_EINVAL, 400, "a token id is a whole number");
		return;
	}
	int rc = db_vpp_token_get(r->w->db, id, &t);
	if (rc == AP_ENOTFOUND) {
		api_fail(r, rc, 404, "no content token %lld", id);
		return;
	}
	if (rc < 0) {
		api_dberr(r, rc, "reading the content token");
		return;
	}
	db_vpp_token_clear(&t);
	if (api_begin(r) < 0)
		return;
	if ((rc = db_vpp_token_remove(r->w->db, id)) < 0) {
		api_rollback(r);
		api_dberr(r, rc, "removing the content token");
		return;
	}
	if (api_commit_new(r, "vpp.token.remove", t.scope, NULL,
			   json_pack("{s:I,s:s}", "id", (json_int_t)id, "location", t.location)) <
	    0)
		return;
	api_json(r, 200, json_pack("{s:I,s:s}", "removed", (json_int_t)id, "scope", t.scope));
}

static void sync_now(struct req *r)
{
	if (api_allow(r, AZ_VPP, NULL) < 0)
		return;
	if (api_record(r, "vpp.sync", "vpp", NULL, NULL) < 0)
		return;
	int rc = licence_sync_now(r->w, "asked");
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot start the licence run: %s", ap_strerror(rc));
		return;
	}
	api_json(r, 202, json_pack("{s:b}", "started", 1));
}

int api_vpp_warning(struct req *r, char *out, size_t cap)
{
	struct db_vpp_token *v = NULL;
	size_t n = 0;
	char day[ISODATE_DAY_LEN + 1];
	out[0] = '\0';
	if (db_vpp_token_list(r->w->db, &v, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && out[0] == '\0'; i++) {
		int64_t left = days_left(v[i].expires);
		isodate_format_day(v[i].expires, day);
		if (v[i].stopped)
			snprintf(out, cap,
				 "vpp: Apple refuses the content token of %s (%s): download a new "
				 "one (ardoisectl vpp token add)",
				 v[i].scope, v[i].error);
		else if (v[i].expires <= db_now())
			snprintf(out, cap,
				 "vpp: the content token of %s expired on %s: download a new one "
				 "(ardoisectl vpp token add)",
				 v[i].scope, day);
		else if (left < VPP_WARN_DAYS)
			snprintf(
			    out, cap,
			    "vpp: the content token of %s expires in %lld days (%s): download a "
			    "new one (ardoisectl vpp token add)",
			    v[i].scope, (long long)left, day);
	}
	free(v);
	return out[0] != '\0';
}

/* ---- status ------------------------------------------------------------------------------ */

struct status_ctx {
	struct req *r;
	const char *school; /* the filter, NULL none */
	json_t *apps;	    /* per token and app */
	json_t *waiting;    /* per collège and app */
	json_t *counts;	    /* "token/adam" -> [held, associating, disassociating] */
};

static int on_count(const struct db_vpp_licence *l, void *arg)
{
	struct status_ctx *x = arg;
	char key[64];
	snprintf(key, sizeof(key), "%lld/%s", (long long)l->token_id, l->adam_id);
	json_t *c = json_object_get(x->counts, key);
	if (c == NULL) {
		c = json_pack("[i,i,i]", 0, 0, 0);
		json_object_set_new(x->counts, key, c);
	}
	size_t k = strcmp(l->state, "associated") == 0	  ? 0
		   : strcmp(l->state, "associating") == 0 ? 1
							  : 2;
	json_array_set_new(c, k, json_integer(json_integer_value(json_array_get(c, k)) + 1));
	return 0;
}

static int on_asset_row(const struct db_vpp_asset *a, void *arg)
{
	struct status_ctx *x = arg;
	char key[64];
	snprintf(key, sizeof(key), "%lld/%s", (long long)a->token_id, a->adam_id);
	json_t *c = json_object_get(x->counts, key);
	json_array_append_new(
	    x->apps,
	    json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:o}", "token", (json_int_t)a->token_id,
		      "adam_id", a->adam_id, "pricing", a->pricing, "owned", (json_int_t)a->total,
		      "used", (json_int_t)a->assigned, "free", (json_int_t)a->available,
		      "device_assignable", a->device_assignable, "held",
		      (json_int_t)(c ? json_integer_value(json_array_get(c, 0)) : 0), "associating",
		      (json_int_t)(c ? json_integer_value(json_array_get(c, 1)) : 0), "synced_at",
		      api_fleet_time(a->synced_at)));
	return 0;
}

static int on_short(const struct db_vpp_short *s, void *arg)
{
	struct status_ctx *x = arg;
	if (!authz_in_scope(x->r, s->school[0] ? s->school : NULL) && !authz_fleet_wide(x->r))
		return 0;
	json_array_append_new(
	    x->waiting,
	    json_pack("{s:s?,s:s,s:I,s:I,s:I,s:I,s:o}", "school", s->school[0] ? s->school : NULL,
		      "adam_id", s->adam_id, "token", (json_int_t)s->token_id, "wanted",
		      (json_int_t)s->wanted, "available", (json_int_t)s->available, "missing",
		      (json_int_t)(s->wanted - (s->available > 0 ? s->available : 0)), "at",
		      api_fleet_time(s->at)));
	return 0;
}

/* The tokens the caller sees: every one fleet-wide, else the fleet's and
 * those of the caller's collèges (of school when given). */
static int token_visible(struct req *r, const struct db_vpp_token *t, const char *school)
{
	if (t->school[0] == '\0')
		return 1;
	if (school)
		return strcmp(t->school, school) == 0;
	return authz_in_scope(r, t->school);
}

static void status(struct req *r)
{
	char school[32] = "", warning[400];
	struct db_vpp_token *v = NULL;
	struct db_vpp_run run;
	size_t n = 0;
	int has_school = api_query(r, "school", school, sizeof(school)) == 0 && school[0];
	for (char *p = school; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (api_allow(r, AZ_VPP_STATUS, has_school ? school : AUTHZ_OWN_SCOPE) < 0)
		return;
	struct status_ctx x = {r, has_school ? school : NULL, json_array(), json_array(),
			       json_object()};
	int rc = db_vpp_token_list(r->w->db, &v, &n);
	if (rc == 0)
		rc = db_vpp_licence_each(r->w->db, 0, on_count, &x);
	json_t *tokens = json_array();
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!token_visible(r, &v[i], x.school))
			continue;
		json_array_append_new(tokens, token_json(&v[i]));
		rc = db_vpp_asset_each(r->w->db, v[i].id, on_asset_row, &x);
	}
	free(v);
	if (rc == 0)
		rc = db_vpp_short_each(r->w->db, x.school, on_short, &x);
	if (rc == 0)
		rc = db_vpp_run_get(r->w->db, &run);
	json_decref(x.counts);
	if (rc < 0) {
		json_decref(x.apps);
		json_decref(x.waiting);
		json_decref(tokens);
		api_dberr(r, rc, "reading the licences");
		return;
	}
	json_t *warnings = json_array();
	if (api_vpp_warning(r, warning, sizeof(warning)))
		json_array_append_new(warnings, json_string(warning));
	api_json(r, 200,
		 json_pack("{s:o,s:o,s:o,s:{s:I,s:o,s:o,s:I,s:I,s:I,s:s,s:o,s:b},s:o}", "tokens",
			   tokens, "apps", x.apps, "waiting", x.waiting, "last_run", "runs",
			   (json_int_t)run.runs, "at", api_fleet_time(run.run_at), "ok_at",
			   api_fleet_time(run.ok_at), "associated", (json_int_t)run.associated,
			   "disassociated", (json_int_t)run.disassociated, "ms", (json_int_t)run.ms,
			   "error", run.error, "error_at", api_fleet_time(run.error_at), "running",
			   licence_running(), "warnings", warnings));
}

const struct route api_vpp_routes[] = {
    {"POST", "/api/v1/vpp/tokens", AUTH_STAFF, token_add},
    {"GET", "/api/v1/vpp/tokens", AUTH_STAFF, token_list},
    {"DELETE", "/api/v1/vpp/tokens/:id", AUTH_STAFF, token_remove},
    {"POST", "/api/v1/vpp/sync", AUTH_STAFF, sync_now},
    {"GET", "/api/v1/vpp/status", AUTH_STAFF, status},
    {NULL, NULL, AUTH_NONE, NULL},
};
