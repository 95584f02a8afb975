/*
 * api_policy.c - staff routes for policies: the profile and app
 * catalogue, assignments to scopes, each tablet's effective policy,
 * convergence, and the unapproved-apps report.
 *
 *   POST   /api/v1/policy/profiles?name=N    body: .mobileconfig (XML or signed)
 *   GET    /api/v1/policy/profiles
 *   GET    /api/v1/policy/profiles/:name     with payload types and scopes
 *   PUT    /api/v1/policy/profiles/:name     body: the new .mobileconfig
 *   DELETE /api/v1/policy/profiles/:name     unassigns; devices get RemoveProfile
 *   POST   /api/v1/policy/apps               {"bundle_id", "store_id", "name", "licence"}
 *   GET    /api/v1/policy/apps
 *   DELETE /api/v1/policy/apps/:bundle_id
 *   POST   /api/v1/policy/assignments        {"item": "profile:NAME"|"app:BUNDLE", "scope"}
 *   DELETE /api/v1/policy/assignments        same body (or ?item=&scope=)
 *   GET    /api/v1/policy/assignments?scope=
 *   POST   /api/v1/policy/reconcile          {"school": UAI} or {} for the fleet
 *   GET    /api/v1/policy/devices/:serial
 *   GET    /api/v1/policy/status?school=
 *   GET    /api/v1/reports/apps?school=
 *
 * Authorisation (authz.c): changing the catalogue of profiles and
 * anything of the fleet scope (the baseline) is AZ_ADMIN (technicians);
 * collège, group and device scopes are AZ_SCHOOL_POLICY for that collège
 * (ATIs in theirs); adding an app to the catalogue is AZ_APP_CATALOGUE.
 * Every change is audited, then reconciled after its commit; answers say
 * what the reconciliation queued and how long it took (a change of the
 * fleet or a collège is answered once its run on a work thread is done:
 * reconcile.h).
 */
#include "ap_err.h"
#include "ap_text.h"
#include "ap_plist.h"
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "authz.h"
#include "db_mdm.h"
#include "db_policy.h"
#include "log.h"
#include "pol_profile.h"
#include "pol_scope.h"
#include "policy.h"
#include "reconcile.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FAILURES 1000 /* failing items listed by status */
#define MAX_SERIALS  50	  /* tablets named per app in the report */

/* ---- shared pieces ------------------------------------------------------ */

static json_t *stats_json(int rc, const struct reconcile_stats *st)
{
	if (rc < 0)
		return json_pack("{s:s}", "error", ap_strerror(rc));
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "devices",
			 (json_int_t)st->devices, "converged", (json_int_t)st->converged, "queued",
			 (json_int_t)st->queued, "canceled", (json_int_t)st->canceled, "capped",
			 (json_int_t)st->capped, "failed", (json_int_t)st->failed, "load_ms",
			 (json_int_t)st->load_ms, "ms", (json_int_t)st->total_ms, "cpu_ms",
			 (json_int_t)st->cpu_ms);
}

/* An answer waiting for a run of many tablets (reconcile_start()). */
struct after {
	struct req_later *later; /* NULL: answered already */
	struct worker *w;
	json_t *o; /* the answer, its "reconcile" to come; NULL: the stats are it */
	int status;
};

/* On the request's loop once the run is done: the answer. */
static void after_done(int rc, const struct reconcile_stats *st, void *arg)
{
	struct after *a = arg;
	struct ap_http_resp resp;
	struct req r;
	if (a->later == NULL) {
		json_decref(a->o);
		free(a);
		return;
	}
	memset(&r, 0, sizeof(r));
	ap_http_resp_init(&resp, 1u << 16);
	r.w = a->w;
	r.resp = &resp;
	json_t *stats = stats_json(rc, st);
	if (a->o) {
		json_object_set_new(a->o, "reconcile", stats);
		api_json(&r, a->status, a->o);
	} else {
		api_json(&r, rc < 0 ? 503 : 200, stats);
	}
	a->later->answer(a->later, &resp, -1, 0);
	ap_http_resp_free(&resp);
	free(a);
}

/* Answers o (status) with "reconcile": the outcome of reconciling what the
 * change touched (o NULL: the outcome is the answer, 503 on failure).  One
 * tablet is reconciled here; the fleet or a collège on a work thread
 * (reconcile.h), the answer sent when it is done, this loop serving its
 * tablets meanwhile. */
static void answer_reconciled(struct req *r, int status, json_t *o, const char *school,
			      int64_t device_id, const char *reason)
{
	struct reconcile_stats st;
	struct after *a = NULL;
	int rc = 0;
	memset(&st, 0, sizeof(st));
	if (device_id == 0 && (a = calloc(1, sizeof(*a))) == NULL)
		rc = AP_ENOMEM;
	if (a) {
		a->w = r->w;
		a->o = o;
		a->status = status;
		if ((rc = reconcile_start(r->w, school, reason, after_done, a)) == 0) {
			/* after_done runs on a later turn of this loop */
			if ((a->later = r->later(r)) == NULL)
				api_fail(r, AP_ENOMEM, 503, "out of memory");
			return;
		}
		free(a);
	}
	if (rc == 0)
		rc = reconcile_run(r->w, school, device_id, reason, &st);
	json_t *stats = stats_json(rc, &st);
	if (o == NULL) {
		api_json(r, rc < 0 ? 503 : 200, stats);
		return;
	}
	json_object_set_new(o, "reconcile", stats);
	api_json(r, status, o);
}

static json_t *split_types(const char *csv)
{
	json_t *a = json_array();
	for (const char *p = csv; p && *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

static json_t *profile_json(const struct db_profile *p)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:s,s:o}", "name", p->name, "identifier",
			 p->identifier, "display_name", p->display_name, "payload_types",
			 split_types(p->payload_types), "payload_hash", p->payload_hash,
			 "payload_uuid", p->payload_uuid, "created_by", p->created_by, "created_at",
			 api_fleet_time(p->created_at), "updated_by", p->updated_by, "updated_at",
			 api_fleet_time(p->updated_at));
}

static json_t *app_json(const struct db_app *a)
{
	return json_pack("{s:s,s:I,s:s,s:s,s:s,s:o}", "bundle_id", a->bundle_id, "store_id",
			 (json_int_t)a->store_id, "name", a->name, "licence", a->licence,
			 "created_by", a->created_by, "created_at", api_fleet_time(a->created_at));
}

/* ?school= checked: 0 and out "" when absent, answers 400 when bad. */
static int school_query(struct req *r, char out[9])
{
	char q[32];
	out[0] = '\0';
	if (api_query(r, "school", q, sizeof(q)) < 0 || q[0] == '\0')
		return 0;
	struct pol_scope s;
	char text[48];
	snprintf(text, sizeof(text), "school:%s", q);
	if (pol_scope_parse(text, &s) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "'%s' is not a UAI (7 digits and the check letter)", q);
	memcpy(out, s.school, 9);
	return 0;
}

/* Reads authorisation for a collège view, or the fleet when school is "". */
static int allow_view(struct req *r, const char *school)
{
	return school[0] ? api_allow(r, AZ_READ, school) : api_allow(r, AZ_READ_FLEET, NULL);
}

/* ---- profiles ----------------------------------------------------------- */

/* Stores the request body as profile name (update 0: new); answers
 * errors; *ret the row. */
static int store_body(struct req *r, const char *name, int update, struct db_profile *ret)
{
	char detail[240] = "";
	struct ap_buf *b = &r->http->body;
	if (b->len == 0)
		return api_refuse(r, AP_EMISSING, 400,
				  "send the .mobileconfig as the body (Content-Type: "
				  "application/x-apple-aspen-config)");
	int rc = policy_profile_store(r->w->db, r->w->srv->ks, name, b->data, b->len, r->acct.name,
				      update, ret, detail, sizeof(detail));
	if (rc == AP_EEXIST)
		api_fail(r, rc, 409, "a profile named '%s' exists: PUT it to change it", name);
	else if (rc == AP_ECONFLICT)
		api_fail(r, rc, 409, "another profile has this PayloadIdentifier");
	else if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no profile named '%s'", name);
	else if (rc < 0)
		api_fail(r, rc, 0, "%s%s%s", ap_strerror(rc), detail[0] ? ": " : "", detail);
	return rc;
}

static void profile_add(struct req *r)
{
	char name[POLICY_NAME_MAX + 1] = "";
	struct db_profile p;
	struct pol_profile *pp = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (api_query(r, "name", name, sizeof(name)) < 0 || name[0] == '\0') {
		/* default name: the PayloadIdentifier ("-" lets a bad body be
		 * reported by store_body) */
		struct ap_buf *b = &r->http->body;
		if (pol_profile_parse(b->data ? b->data : "", b->len, &pp, NULL, 0) < 0)
			snprintf(name, sizeof(name), "-");
		else if (strlen(pp->identifier) <= POLICY_NAME_MAX)
			snprintf(name, sizeof(name), "%s", pp->identifier);
		pol_profile_free(pp);
	}
	if (!policy_name_ok(name)) {
		api_fail(r, AP_EINVAL, 400,
			 "profile names are 1-%d characters of A-Z a-z 0-9 . _ - (give ?name=)",
			 POLICY_NAME_MAX);
		return;
	}
	if (api_begin(r) < 0)
		return;
	if (store_body(r, name, 0, &p) < 0) {
		api_rollback(r);
		return;
	}
	if (api_commit_new(
		r, "policy.profile.add", p.name, NULL,
		json_pack("{s:s,s:s}", "identifier", p.identifier, "hash", p.payload_hash)) < 0)
		return;
	api_json(r, 201, profile_json(&p));
}

static void profile_update(struct req *r)
{
	struct db_profile old, p;
	const char *name = api_param(r, 0);
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (db_policy_profile_get(r->w->db, name, &old) < 0) {
		api_fail(r, AP_ENOTFOUND, 404, "no profile named '%s'", name);
		return;
	}
	if (api_begin(r) < 0)
		return;
	if (store_body(r, name, 1, &p) < 0) {
		api_rollback(r);
		return;
	}
	int same = strcmp(old.payload_hash, p.payload_hash) == 0 &&
		   strcmp(old.identifier, p.identifier) == 0;
	if (api_commit_new(r, "policy.profile.update", p.name, NULL,
			   json_pack("{s:s,s:s,s:s}", "identifier", p.identifier, "old_hash",
				     old.payload_hash, "hash", p.payload_hash)) < 0)
		return;
	json_t *o = profile_json(&p);
	json_object_set_new(o, "changed", json_boolean(!same));
	if (same) {
		json_object_set_new(o, "reconcile", json_null());
		api_json(r, 200, o);
		return;
	}
	answer_reconciled(r, 200, o, NULL, 0, "profile.update");
}

static int add_profile(const struct db_profile *p, void *arg)
{
	json_array_append_new(arg, profile_json(p));
	return 0;
}

static void profile_list(struct req *r)
{
	if (api_allow(r, AZ_POLICY_READ, NULL) < 0)
		return;
	json_t *a = json_array();
	int rc = db_policy_profile_list(r->w->db, add_profile, a);
	if (rc < 0) {
		json_decref(a);
		api_fail(r, rc, 503, "cannot list profiles");
		return;
	}
	api_json(r, 200, a);
}

static int add_scope(const struct db_assignment *a, void *arg)
{
	json_array_append_new(arg, json_string(a->scope));
	return 0;
}

static json_t *payloads_json(const char *csv)
{
	json_t *types = split_types(csv), *out = json_array(), *v;
	size_t i;
	json_array_foreach(types, i, v)
	{
		const struct pol_payload_type *t = pol_profile_payload_type(json_string_value(v));
		json_array_append_new(out,
				      json_pack("{s:O,s:s,s:b,s:b}", "type", v, "what",
						t ? t->what : "?", "multiple", t ? t->multiple : 1,
						"supervised", t ? t->supervised : 0));
	}
	json_decref(types);
	return out;
}

static void profile_show(struct req *r)
{
	struct db_profile p;
	if (api_allow(r, AZ_POLICY_READ, NULL) < 0)
		return;
	int rc = db_policy_profile_get(r->w->db, api_param(r, 0), &p);
	if (rc < 0) {
		api_fail(r, rc, rc == AP_ENOTFOUND ? 404 : 503, "no profile named '%s'",
			 api_param(r, 0));
		return;
	}
	json_t *o = profile_json(&p), *scopes = json_array();
	db_policy_assignment_list(r->w->db, NULL, "profile", p.id, add_scope, scopes);
	json_object_set_new(o, "scopes", scopes);
	json_object_set_new(o, "payloads", payloads_json(p.payload_types));
	api_json(r, 200, o);
}

static void profile_remove(struct req *r)
{
	int64_t n = 0;
	const char *name = api_param(r, 0);
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (api_begin(r) < 0)
		return;
	int rc = db_policy_profile_remove(r->w->db, name, &n);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, rc == AP_ENOTFOUND ? 404 : 503, "no profile named '%s'", name);
		return;
	}
	if (api_commit_new(r, "policy.profile.remove", name, NULL,
			   json_pack("{s:I}", "unassigned", n)) < 0)
		return;
	answer_reconciled(r, 200, json_pack("{s:s,s:I}", "name", name, "unassigned", (json_int_t)n),
			  NULL, 0, "profile.remove");
}

/* ---- apps --------------------------------------------------------------- */

static int text_ok(const char *s, size_t max)
{
	return s && s[0] && ap_text_ok(s, max, 0) && ap_plist_text_ok(s, strlen(s));
}

static void app_add(struct req *r)
{
	const char *bundle = NULL, *name = NULL, *licence = NULL;
	int64_t store_id = 0;
	struct db_app a;
	int64_t id;
	if (api_allow(r, AZ_APP_CATALOGUE, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "bundle_id", sizeof(a.bundle_id) - 1, 1, &bundle) < 0 ||
	    api_field_str(r, body, "name", 255, 1, &name) < 0 ||
	    api_field_int(r, body, "store_id", 0, INT64_MAX, 0, &store_id) < 0 ||
	    api_field_str(r, body, "licence", 255, 0, &licence) < 0)
		goto out;
	if (licence == NULL)
		licence = "";
	if (!pol_profile_identifier_ok(bundle) || !text_ok(name, 255) ||
	    (licence[0] && !text_ok(licence, 255))) {
		api_fail(r, AP_EINVAL, 400,
			 "expected {\"bundle_id\": reverse-DNS, \"name\": text, \"store_id\": App "
			 "Store id (0 or more), \"licence\": text}");
		goto out;
	}
	memset(&a, 0, sizeof(a));
	snprintf(a.bundle_id, sizeof(a.bundle_id), "%s", bundle);
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.licence, sizeof(a.licence), "%s", licence);
	snprintf(a.created_by, sizeof(a.created_by), "%s", r->acct.name);
	a.store_id = store_id;
	if (api_begin(r) < 0)
		goto out;
	int rc = db_policy_app_add(r->w->db, &a, &id);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, rc == AP_EEXIST ? 409 : 503, "%s is %s", bundle,
			 rc == AP_EEXIST ? "already in the catalogue" : "not stored");
		goto out;
	}
	if (api_commit_new(r, "policy.app.add", bundle, NULL,
			   json_pack("{s:s,s:I}", "name", name, "store_id", (json_int_t)store_id)) <
	    0)
		goto out;
	db_policy_app_get(r->w->db, bundle, &a);
	api_json(r, 201, app_json(&a));
out:
	json_decref(body);
}

static int add_app(const struct db_app *a, void *arg)
{
	json_array_append_new(arg, app_json(a));
	return 0;
}

static void app_list(struct req *r)
{
	if (api_allow(r, AZ_POLICY_READ, NULL) < 0)
		return;
	json_t *a = json_array();
	int rc = db_policy_app_list(r->w->db, add_app, a);
	if (rc < 0) {
		json_decref(a);
		api_fail(r, rc, 503, "cannot list apps");
		return;
	}
	api_json(r, 200, a);
}

static void app_remove(struct req *r)
{
	int64_t n = 0;
	const char *bundle = api_param(r, 0);
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (api_begin(r) < 0)
		return;
	int rc = db_policy_app_remove(r->w->db, bundle, &n);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, rc == AP_ENOTFOUND ? 404 : 503, "%s is not in the catalogue",
			 bundle);
		return;
	}
	if (api_commit_new(r, "policy.app.remove", bundle, NULL,
			   json_pack("{s:I}", "unassigned", n)) < 0)
		return;
	answer_reconciled(r, 200,
			  json_pack("{s:s,s:I}", "bundle_id", bundle, "unassigned", (json_int_t)n),
			  NULL, 0, "app.remove");
}

/* ---- assignments -------------------------------------------------------- */

struct item_ref {
	const char *kind;
	int64_t id;
	char name[300];
};

static int find_profile(struct req *r, const char *name, struct item_ref *ret)
{
	struct db_profile p;
	int rc = db_policy_profile_get(r->w->db, name, &p);
	if (rc == 0) {
		ret->kind = "profile";
		ret->id = p.id;
		snprintf(ret->name, sizeof(ret->name), "profile:%s", p.name);
	}
	return rc;
}

static int find_app(struct req *r, const char *bundle, struct item_ref *ret)
{
	struct db_app a;
	int rc = db_policy_app_get(r->w->db, bundle, &a);
	if (rc == 0) {
		ret->kind = "app";
		ret->id = a.id;
		snprintf(ret->name, sizeof(ret->name), "app:%s", a.bundle_id);
	}
	return rc;
}

/* "profile:NAME", "app:BUNDLE", or a bare profile name or bundle id
 * (ambiguous when both exist).  Answers on failure. */
static int resolve_item(struct req *r, const char *text, struct item_ref *ret)
{
	struct item_ref p, a;
	int rc, rp, ra;
	if (strncmp(text, "profile:", 8) == 0)
		rc = find_profile(r, text + 8, ret);
	else if (strncmp(text, "app:", 4) == 0)
		rc = find_app(r, text + 4, ret);
	else {
		rp = find_profile(r, text, &p);
		ra = find_app(r, text, &a);
		if (rp == 0 && ra == 0)
			return api_refuse(
			    r, AP_ECONFLICT, 409,
			    "'%s' names a profile and an app: say profile:%s or app:%s", text, text,
			    text);
		rc = rp == 0 ? 0 : ra;
		if (rc == 0)
			*ret = rp == 0 ? p : a;
	}
	if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no profile or app '%s' in the catalogue", text);
	else if (rc < 0)
		api_fail(r, rc, 503, "cannot read the catalogue");
	return rc;
}

/* Parses and authorises a scope; *ret_device the tablet of a device
 * scope (0 otherwise).  Answers on failure. */
static int allow_scope(struct req *r, const char *text, struct pol_scope *s, int64_t *ret_device)
{
	struct db_device d;
	*ret_device = 0;
	if (text == NULL || pol_scope_parse(text, s) < 0)
		return api_refuse(
		    r, AP_EINVAL, 400,
		    "scope must be fleet, school:UAI, group:UAI/NAME (pupils, teachers or a "
		    "class) or device:SERIAL");
	if (s->kind == POL_SCOPE_FLEET)
		return api_allow(r, AZ_ADMIN, NULL); /* the baseline: technicians only */
	if (s->kind != POL_SCOPE_DEVICE)
		return api_allow(r, AZ_SCHOOL_POLICY, pol_scope_school(s));
	int rc = api_tablet_serial(r, AZ_SCHOOL_POLICY, s->name, &d);
	if (rc == 0)
		*ret_device = d.id;
	return rc;
}

/* item and scope from the JSON body, or from ?item=&scope=. */
static json_t *assignment_args(struct req *r, const char **item, const char **scope, char *qi,
			       char *qs, size_t cap)
{
	json_t *body;
	if (r->http->body.len == 0 && api_query(r, "item", qi, cap) == 0 &&
	    api_query(r, "scope", qs, cap) == 0) {
		*item = qi;
		*scope = qs;
		return json_object();
	}
	if ((body = api_body(r)) == NULL)
		return NULL;
	if (api_field_str(r, body, "item", cap - 1, 1, item) < 0 ||
	    api_field_str(r, body, "scope", cap - 1, 1, scope) < 0) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static void assignment_change(struct req *r, int add)
{
	const char *item = NULL, *scope = NULL;
	char qi[320], qs[160], canon[POL_SCOPE_TEXT];
	struct pol_scope s;
	struct item_ref it;
	int64_t device = 0;
	json_t *body = assignment_args(r, &item, &scope, qi, qs, sizeof(qi));
	if (body == NULL)
		return;
	if (allow_scope(r, scope, &s, &device) < 0 || resolve_item(r, item, &it) < 0)
		goto out;
	pol_scope_format(&s, canon);
	if (api_begin(r) < 0)
		goto out;
	int rc = add ? db_policy_assign(r->w->db, it.kind, it.id, canon, r->acct.name)
		     : db_policy_unassign(r->w->db, it.kind, it.id, canon);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc,
			 rc == AP_EEXIST      ? 409
			 : rc == AP_ENOTFOUND ? 404
					      : 503,
			 "%s %s %s", it.name,
			 rc == AP_EEXIST      ? "is already assigned to"
			 : rc == AP_ENOTFOUND ? "is not assigned to"
					      : "cannot be changed for",
			 canon);
		goto out;
	}
	if (api_commit_new(r, add ? "policy.assign" : "policy.unassign", canon, NULL,
			   json_pack("{s:s}", "item", it.name)) < 0)
		goto out;
	answer_reconciled(r, add ? 201 : 200,
			  json_pack("{s:s,s:s}", "item", it.name, "scope", canon),
			  pol_scope_school(&s), device, add ? "assign" : "unassign");
out:
	json_decref(body);
}

static void assignment_add(struct req *r)
{
	assignment_change(r, 1);
}

static void assignment_remove(struct req *r)
{
	assignment_change(r, 0);
}

static int add_assignment(const struct db_assignment *a, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "item", a->item, "kind",
					     a->kind, "identifier", a->identifier, "scope",
					     a->scope, "created_by", a->created_by, "created_at",
					     api_fleet_time(a->created_at)));
	return 0;
}

static void assignment_list(struct req *r)
{
	char q[160], canon[POL_SCOPE_TEXT];
	struct pol_scope s;
	const char *scope = NULL;
	if (api_allow(r, AZ_POLICY_READ, NULL) < 0)
		return;
	if (api_query(r, "scope", q, sizeof(q)) == 0 && q[0]) {
		if (pol_scope_parse(q, &s) < 0) {
			api_fail(r, AP_EINVAL, 400, "'%s' is not a scope", q);
			return;
		}
		pol_scope_format(&s, canon);
		scope = canon;
	}
	json_t *a = json_array();
	int rc = db_policy_assignment_list(r->w->db, scope, NULL, 0, add_assignment, a);
	if (rc < 0) {
		json_decref(a);
		api_fail(r, rc, 503, "cannot list assignments");
		return;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(o, "item"));
		json_object_set_new(o, "item", json_sprintf("%s:%s", kind, name));
	}
	api_json(r, 200, a);
}

static void reconcile_now(struct req *r)
{
	const char *school = NULL;
	char uai[9] = "";
	json_t *body = r->http->body.len ? api_body(r) : json_object();
	if (body == NULL)
		return;
	if (api_field_str(r, body, "school", 64, 0, &school) < 0)
		goto out;
	if (school) {
		char text[48];
		struct pol_scope s;
		snprintf(text, sizeof(text), "school:%s", school);
		if (pol_scope_parse(text, &s) < 0) {
			api_fail(r, AP_EINVAL, 400, "'%s' is not a UAI", school);
			goto out;
		}
		memcpy(uai, s.school, 9);
	}
	if (api_allow(r, uai[0] ? AZ_SCHOOL_POLICY : AZ_ADMIN, uai[0] ? uai : NULL) < 0)
		goto out;
	/* the run commits in parts: its row is written first, and no run
	 * happens without it */
	if (api_record(r, "policy.reconcile", uai[0] ? uai : "fleet", NULL, NULL) < 0)
		goto out;
	answer_reconciled(r, 200, NULL, uai[0] ? uai : NULL, 0, "staff");
out:
	json_decref(body);
}

/* ---- views -------------------------------------------------------------- */

static void on_device_view(const struct reconcile_device_view *d, void *arg)
{
	json_t *o = arg, *g = json_array();
	for (size_t i = 0; i < d->n_groups; i++)
		json_array_append_new(g, json_string(d->groups[i]));
	json_object_set_new(o, "serial", json_string(d->serial));
	json_object_set_new(o, "school", d->school[0] ? json_string(d->school) : json_null());
	json_object_set_new(o, "groups", g);
}

static void on_item_view(const struct reconcile_item_view *it, void *arg)
{
	json_t *o = arg, *scopes = json_array();
	for (size_t i = 0; i < it->n_scopes; i++)
		json_array_append_new(scopes, json_string(it->scopes[i]));
	json_array_append_new(json_object_get(o, "items"),
			      json_pack("{s:s,s:s,s:s,s:o,s:s,s:s}", "kind", it->kind, "name",
					it->name, "identifier", it->identifier, "scopes", scopes,
					"state", it->state, "error", it->error));
}

static void device_policy(struct req *r)
{
	struct db_device d;
	if (api_tablet(r, AZ_READ, &d) < 0)
		return;
	json_t *o = json_pack("{s:o,s:s}", "items", json_array(), "enrollment", d.enrollment);
	int rc = reconcile_explain(r->w, d.id, on_device_view, on_item_view, o);
	if (rc < 0) {
		json_decref(o);
		api_fail(r, rc, 503, "cannot compute the policy: %s", ap_strerror(rc));
		return;
	}
	api_json(r, 200, o);
}

static int on_failing(const char *serial, const char *type, const char *identifier,
		      const char *error, void *arg)
{
	if (json_array_size(arg) < MAX_FAILURES)
		json_array_append_new(arg,
				      json_pack("{s:s,s:s,s:s,s:s}", "serial", serial, "type", type,
						"identifier", identifier, "error", error));
	return 0;
}

static void policy_status(struct req *r)
{
	char uai[9];
	struct reconcile_status st;
	if (school_query(r, uai) < 0 || allow_view(r, uai) < 0)
		return;
	json_t *failures = json_array();
	int rc = reconcile_status(r->w, uai[0] ? uai : NULL, &st, on_failing, failures);
	if (rc < 0) {
		json_decref(failures);
		api_fail(r, rc, 503, "cannot compute the status: %s", ap_strerror(rc));
		return;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:I,s:I,s:I,s:I,s:o}", "school",
			   uai[0] ? json_string(uai) : json_null(), "devices",
			   (json_int_t)st.devices, "converged", (json_int_t)st.converged, "pending",
			   (json_int_t)st.pending, "failing", (json_int_t)st.failing, "failures",
			   failures));
}

static int on_unapproved(const char *serial, const char *school, const char *identifier,
			 const char *name, const char *version, void *arg)
{
	json_t *by_app = arg, *e = json_object_get(by_app, identifier);
	if (e == NULL) {
		e = json_pack("{s:s,s:s,s:I,s:[]}", "identifier", identifier, "name", name,
			      "devices", (json_int_t)0, "serials");
		json_object_set_new(by_app, identifier, e);
	}
	json_object_set_new(e, "devices",
			    json_integer(json_integer_value(json_object_get(e, "devices")) + 1));
	json_t *serials = json_object_get(e, "serials");
	if (json_array_size(serials) < MAX_SERIALS)
		json_array_append_new(serials, json_string(serial));
	return 0;
}

static int by_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "devices"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "devices"));
	return x < y ? 1 : x > y ? -1 : 0;
}

static void report_apps(struct req *r)
{
	char uai[9];
	if (school_query(r, uai) < 0 || allow_view(r, uai) < 0)
		return;
	json_t *by_app = json_object();
	int rc = reconcile_unapproved(r->w, uai[0] ? uai : NULL, on_unapproved, by_app);
	if (rc < 0) {
		json_decref(by_app);
		api_fail(r, rc, 503, "cannot build the report: %s", ap_strerror(rc));
		return;
	}
	size_t n = json_object_size(by_app), i = 0;
	json_t **v = calloc(n + 1, sizeof(*v)), *apps = json_array(), *e;
	const char *k;
	json_object_foreach(by_app, k, e) v[i++] = e;
	qsort(v, n, sizeof(*v), by_count);
	for (i = 0; i < n; i++)
		json_array_append(apps, v[i]);
	free(v);
	json_decref(by_app);
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "school", uai[0] ? json_string(uai) : json_null(),
			   "unapproved", apps));
}

const struct route api_policy_routes[] = {
    {"POST", "/api/v1/policy/profiles", AUTH_STAFF, profile_add},
    {"GET", "/api/v1/policy/profiles", AUTH_STAFF, profile_list},
    {"GET", "/api/v1/policy/profiles/:name", AUTH_STAFF, profile_show},
    {"PUT", "/api/v1/policy/profiles/:name", AUTH_STAFF, profile_update},
    {"DELETE", "/api/v1/policy/profiles/:name", AUTH_STAFF, profile_remove},
    {"POST", "/api/v1/policy/apps", AUTH_STAFF, app_add},
    {"GET", "/api/v1/policy/apps", AUTH_STAFF, app_list},
    {"DELETE", "/api/v1/policy/apps/:bundle", AUTH_STAFF, app_remove},
    {"POST", "/api/v1/policy/assignments", AUTH_STAFF, assignment_add},
    {"DELETE", "/api/v1/policy/assignments", AUTH_STAFF, assignment_remove},
    {"GET", "/api/v1/policy/assignments", AUTH_STAFF, assignment_list},
    {"POST", "/api/v1/policy/reconcile", AUTH_STAFF, reconcile_now},
    {"GET", "/api/v1/policy/devices/:serial", AUTH_STAFF, device_policy},
    {"GET", "/api/v1/policy/status", AUTH_STAFF, policy_status},
    {"GET", "/api/v1/reports/apps", AUTH_STAFF, report_apps},
    {NULL, NULL, AUTH_NONE, NULL},
};
