/*
 * api_update_plan.c - iPadOS update plans and where the tablets stand.
 *
 *   GET    /api/v1/updates/plans
 *   POST   /api/v1/updates/plans   {"scope": "fleet" | "school:UAI", "version": "X.Y[.Z]" |
 *                                  "latest": true, "deadline": "YYYY-MM-DDTHH:MM" (local
 *                                  time; JJ/MM/AAAA HH:MM too), "outside_windows": false,
 *                                  "dry_run": false}
 *   DELETE /api/v1/updates/plans?scope=S   (or {"scope"})
 *	technicians only (AZ_ADMIN)
 *   GET    /api/v1/updates/status[?school=UAI]
 *	per collège, where its enrolled tablets stand against their plan
 *	(pol_update.h), and the fleet's totals; technicians (every
 *	collège), ATIs and référents (theirs: AZ_UPDATE_STATUS)
 *
 * A plan is the configuration
 * com.apple.configuration.softwareupdate.enforcement.specific with
 * Identifier "ardoise.update.<slug of the scope>" (ddm_scope_slug()),
 * Payload {"TargetOSVersion", "TargetLocalDateTime" (+ "TargetBuildVersion"
 * when every release of that version in Apple's catalogue has the same
 * build)}, a models filter = the iPads the catalogue says the version
 * supports (the others never get it: they are reported), assigned to its
 * scope; ddm.c makes its activation.  One plan per scope, on the fleet or
 * on a collège, never both at once (409): a tablet follows one plan.  A
 * new plan on a scope that has one replaces it.
 *
 * The version must be offered for at least one iPad by Apple's catalogue
 * (gdmf_sync.h's copy: the public set, iOS, not expired); "latest" is the
 * highest such version.  The deadline is local time ([server] timezone),
 * in the future, within a year, and inside [updates] allowed_windows
 * unless outside_windows (a tablet cannot be used while it installs).
 */
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "classhours.h"
#include "db_ddm.h"
#include "db_ddm_update.h"
#include "ddm.h"
#include "gdmf_sync.h"
#include "isodate.h"
#include "pol_scope.h"
#include "pol_update.h"
#include "store.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ENFORCEMENT   "com.apple.configuration.softwareupdate.enforcement.specific"
#define SERIALS_MAX   200	       /* serials listed per unsupported model */
#define MODELS_MAX    GDMF_MAX_DEVICES /* iPads in one filter */
#define OFFERED_SHOWN 8		       /* versions named when one is refused */
#define AHEAD_MAX     (366 * 86400)    /* a deadline at most a year away */

/* ---- Apple's catalogue ------------------------------------------------------ */

struct resolve {
	const char *want; /* the version asked; NULL: the latest */
	int64_t now;
	int loaded;			    /* a catalogue is loaded */
	int found;			    /* the version is offered for an iPad */
	char version[GDMF_VERSION_MAX + 1]; /* as the catalogue writes it */
	char build[GDMF_BUILD_MAX + 1];	    /* "" when its releases differ */
	json_t *models;			    /* the iPads it supports, in natural order */
	char offered[200];		    /* the versions offered, for a refusal */
};

static int is_ipad(const char *model)
{
	return strncmp(model, "iPad", 4) == 0;
}

/* A release of iPadOS offered now: public set, iOS, not expired, an iPad
 * among its devices. */
static int ipad_release(const struct gdmf_release *rel, int64_t now)
{
	if (rel->set != GDMF_PUBLIC || strcmp(rel->platform, "iOS") != 0 ||
	    (rel->expires && now >= rel->expires))
		return 0;
	for (size_t i = 0; i < rel->n_devices; i++)
		if (is_ipad(rel->devices[i]))
			return 1;
	return 0;
}

static int model_order(const void *a, const void *b)
{
	return gdmf_model_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The versions offered for iPads, highest first, each once, into x->offered. */
static void list_offered(const struct gdmf *g, struct resolve *x)
{
	struct gdmf_version shown[OFFERED_SHOWN];
	size_t n_shown = 0, o = 0;
	x->offered[0] = '\0';
	while (n_shown < OFFERED_SHOWN) {
		const struct gdmf_release *best = NULL;
		for (size_t i = 0; i < gdmf_count(g); i++) {
			const struct gdmf_release *rel = gdmf_release_at(g, i);
			if (!ipad_release(rel, x->now) ||
			    (n_shown && gdmf_version_cmp(&rel->v, &shown[n_shown - 1]) >= 0))
				continue;
			if (best == NULL || gdmf_version_cmp(&rel->v, &best->v) > 0)
				best = rel;
		}
		if (best == NULL)
			break;
		shown[n_shown++] = best->v;
		int n = snprintf(x->offered + o, sizeof(x->offered) - o, "%s%s", o ? ", " : "",
				 best->version);
		if (n < 0 || (size_t)n >= sizeof(x->offered) - o)
			break;
		o += (size_t)n;
	}
}

static void resolve_read(const struct gdmf_sync_view *v, void *arg)
{
	struct resolve *x = arg;
	const struct gdmf *g = v->cat;
	struct gdmf_version want;
	const struct gdmf_release *best = NULL;
	if (g == NULL)
		return;
	x->loaded = 1;
	if (x->want && gdmf_version_parse(x->want, &want) < 0)
		return;
	for (size_t i = 0; i < gdmf_count(g); i++) {
		const struct gdmf_release *rel = gdmf_release_at(g, i);
		if (!ipad_release(rel, x->now))
			continue;
		if (x->want) {
			if (best == NULL && gdmf_version_cmp(&rel->v, &want) == 0)
				best = rel;
		} else if (best == NULL || gdmf_version_cmp(&rel->v, &best->v) > 0)
			best = rel;
	}
	if (best == NULL) {
		list_offered(g, x); /* for the refusal */
		return;
	}
	const char **models = calloc(MODELS_MAX, sizeof(*models));
	size_t n = 0;
	if (models == NULL)
		return;
	x->found = 1;
	snprintf(x->version, sizeof(x->version), "%s", best->version);
	snprintf(x->build, sizeof(x->build), "%s", best->build);
	for (size_t i = 0; i < gdmf_count(g); i++) {
		const struct gdmf_release *rel = gdmf_release_at(g, i);
		if (!ipad_release(rel, x->now) || gdmf_version_cmp(&rel->v, &best->v) != 0)
			continue;
		if (strcmp(rel->build, x->build) != 0)
			x->build[0] = '\0';
		for (size_t k = 0; k < rel->n_devices && n < MODELS_MAX; k++)
			if (is_ipad(rel->devices[k]))
				models[n++] = rel->devices[k];
	}
	qsort(models, n, sizeof(*models), model_order);
	x->models = json_array();
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(models[i], models[i - 1]) != 0)
			json_array_append_new(x->models, json_string(models[i]));
	free(models);
}

/* ---- the plans ------------------------------------------------------------ */

/* Room for a plan's identifier: a plan's scope (fleet, school:UAI) has a
 * short slug, so the identifier stays within DB_DDM_IDENTIFIER_MAX. */
#define PLAN_ID_CAP (sizeof(DDM_UPDATE_PREFIX) + DDM_SLUG_MAX)

/* Identifier of scope's plan into out (PLAN_ID_CAP). */
static void plan_id(const char *scope, char *out)
{
	char slug[DDM_SLUG_MAX + 1];
	ddm_scope_slug(scope, slug);
	snprintf(out, PLAN_ID_CAP, "%s%s", DDM_UPDATE_PREFIX, slug);
}

static int is_plan(const char *identifier)
{
	size_t n = strlen(identifier), s = strlen(DDM_PLAN_ACT_SUFFIX);
	return strncmp(identifier, DDM_UPDATE_PREFIX, strlen(DDM_UPDATE_PREFIX)) == 0 &&
	       !(n > s && strcmp(identifier + n - s, DDM_PLAN_ACT_SUFFIX) == 0);
}

static int add_plan_ref(const struct db_ddm_assignment *a, void *arg)
{
	if (a->kind == DB_DDM_CONFIGURATION && is_plan(a->identifier))
		json_array_append_new(
		    arg, json_pack("{s:s,s:s}", "scope", a->scope, "identifier", a->identifier));
	return 0;
}

/* The deadline of a TargetLocalDateTime as the API writes times. */
static json_t *deadline_json(const char *local)
{
	int64_t t;
	return local && isodate_parse_time(local, &t) == 0 ? api_fleet_time(t) : json_null();
}

/* Fills a plan's JSON from its declaration. */
static int plan_fill(struct req *r, json_t *p)
{
	struct db_declaration d;
	const char *id = json_string_value(json_object_get(p, "identifier"));
	char *text = NULL;
	size_t len = 0;
	int rc = db_ddm_declaration_get(r->w->db, NULL, id, &d);
	if (rc == 0)
		rc = db_ddm_declaration_payload(r->w->db, id, &text, &len);
	if (rc < 0)
		return rc;
	json_t *pl = json_loadb(text, len, 0, NULL), *m = NULL;
	free(text);
	const char *local = json_string_value(json_object_get(pl, "TargetLocalDateTime"));
	const char *build = json_string_value(json_object_get(pl, "TargetBuildVersion"));
	if (d.models[0])
		m = json_loads(d.models, 0, NULL);
	const char *version = json_string_value(json_object_get(pl, "TargetOSVersion"));
	json_object_set_new(p, "version", version ? json_string(version) : json_null());
	json_object_set_new(p, "build", build ? json_string(build) : json_null());
	json_object_set_new(p, "deadline", deadline_json(local));
	json_object_set_new(p, "deadline_local", local ? json_string(local) : json_null());
	json_object_set_new(p, "models", m ? m : json_array());
	json_object_set_new(p, "server_token", json_string(d.server_token));
	json_object_set_new(p, "created_by", json_string(d.created_by));
	json_object_set_new(p, "created_at", api_fleet_time(d.created_at));
	json_object_set_new(p, "updated_by",
			    d.updated_by[0] ? json_string(d.updated_by) : json_null());
	json_object_set_new(p, "updated_at", api_fleet_time(d.updated_at));
	json_decref(pl);
	return 0;
}

/* Every plan (scope, identifier, version...), by identifier then scope. */
static int plans_load(struct req *r, json_t **ret)
{
	json_t *a = json_array(), *p;
	size_t i;
	int rc = db_ddm_assignment_list(r->w->db, NULL, NULL, add_plan_ref, a);
	json_array_foreach(a, i, p) if (rc == 0) rc = plan_fill(r, p);
	if (rc < 0) {
		json_decref(a);
		return rc;
	}
	*ret = a;
	return 0;
}

/* The plan of scope among plans, NULL when none. */
static json_t *plan_of(json_t *plans, const char *scope)
{
	json_t *p;
	size_t i;
	json_array_foreach(plans, i, p) if (strcmp(json_string_value(json_object_get(p, "scope")),
						   scope) == 0) return p;
	return NULL;
}

/* ---- the tablets a plan reaches ------------------------------------------- */

static int in_models(json_t *models, const char *model)
{
	json_t *m;
	size_t i;
	json_array_foreach(models, i, m) if (strcasecmp(json_string_value(m), model) == 0) return 1;
	return 0;
}

struct reach {
	json_t *models;
	json_int_t tablets, targeted, unknown_model, without_ddm, unsupported_n;
	json_t *unsupported; /* {model: {"model", "count", "serials"}} */
};

static int reach_tablet(const struct db_ddm_update_tablet *t, void *arg)
{
	struct reach *x = arg;
	x->tablets++;
	if (!t->enabled)
		x->without_ddm++;
	else if (t->product_name[0] == '\0')
		x->unknown_model++;
	else if (in_models(x->models, t->product_name))
		x->targeted++;
	else {
		json_t *e = json_object_get(x->unsupported, t->product_name);
		if (e == NULL) {
			e = json_pack("{s:s,s:I,s:[]}", "model", t->product_name, "count",
				      (json_int_t)0, "serials");
			json_object_set_new(x->unsupported, t->product_name, e);
		}
		json_object_set_new(
		    e, "count", json_integer(json_integer_value(json_object_get(e, "count")) + 1));
		if (json_array_size(json_object_get(e, "serials")) < SERIALS_MAX)
			json_array_append_new(json_object_get(e, "serials"),
					      json_string(t->serial));
		x->unsupported_n++;
	}
	return 0;
}

static int by_model(const void *a, const void *b)
{
	return gdmf_model_cmp(json_string_value(json_object_get(*(json_t *const *)a, "model")),
			      json_string_value(json_object_get(*(json_t *const *)b, "model")));
}

/* The unsupported models as an array, in natural order. */
static json_t *unsupported_array(json_t *by)
{
	size_t n = json_object_size(by), i = 0;
	json_t **v = calloc(n + 1, sizeof(*v)), *out = json_array(), *e;
	const char *k;
	json_object_foreach(by, k, e) v[i++] = e;
	qsort(v, n, sizeof(*v), by_model);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

/* ---- POST /api/v1/updates/plans -------------------------------------------------- */

/* "YYYY-MM-DD HH:MM" of t, local, for messages. */
static const char *local_text(int64_t t, char out[ISODATE_TIME_LEN + 1])
{
	isodate_format_time(t, out);
	out[10] = ' ';
	out[16] = '\0';
	return out;
}

/* The plan's scope: fleet or school:UAI of a known collège.  Answers. */
static int plan_scope(struct req *r, const char *text, char *canon)
{
	struct pol_scope s;
	if (text && pol_scope_parse(text, &s) == 0 && s.kind != POL_SCOPE_FLEET &&
	    s.kind != POL_SCOPE_SCHOOL)
		return api_refuse(r, AP_EINVAL, 400,
				  "a plan's scope is fleet or school:UAI (not %s)", text);
	if (text == NULL || pol_scope_parse(text, &s) < 0)
		return api_refuse(r, AP_EINVAL, 400, "a plan's scope is fleet or school:UAI");
	return api_ddm_scope(r, text, canon);
}

/* The deadline: parsed, in the future, within a year, in a window unless
 * outside.  Answers. */
static int plan_deadline(struct req *r, const char *text, int outside, int64_t now, int64_t *ret)
{
	char a[ISODATE_TIME_LEN + 1], b[ISODATE_TIME_LEN + 1], why[200];
	struct classhours w;
	int64_t next;
	const char *windows = r->w->srv->cfg.updates_allowed_windows;
	if (isodate_parse_time(text, ret) < 0)
		return api_refuse(r, AP_EPARSE, 400,
				  "deadline: '%s' is not a date and time (JJ/MM/AAAA HH:MM or "
				  "YYYY-MM-DDTHH:MM, local time)",
				  text);
	if (*ret <= now)
		return api_refuse(r, AP_EINVAL, 422, "the deadline %s is past (it is now %s)",
				  local_text(*ret, a), local_text(now, b));
	if (*ret - now > AHEAD_MAX)
		return api_refuse(r, AP_EINVAL, 422,
				  "the deadline %s is more than a year away: plan a nearer one",
				  local_text(*ret, a));
	if (outside || classhours_parse(windows, &w, why, sizeof(why)) < 0 ||
	    classhours_allowed(&w, *ret))
		return 0;
	if (classhours_next(&w, *ret, &next) < 0)
		return api_refuse(r, AP_EINVAL, 422,
				  "the deadline %s is outside the update windows and none is open "
				  "([updates] allowed_windows = %s): set outside_windows",
				  local_text(*ret, a), windows);
	return api_refuse(r, AP_EINVAL, 422,
			  "the deadline %s falls in class hours: tablets cannot be used while "
			  "they install; the next allowed time is %s ([updates] allowed_windows "
			  "= %s), or set outside_windows",
			  local_text(*ret, a), local_text(next, b), windows);
}

/* The catalogue's answer for version (NULL: the latest).  Answers. */
static int plan_version(struct req *r, const char *version, struct resolve *x)
{
	struct gdmf_version v;
	if (version && gdmf_version_parse(version, &v) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "version: '%s' is not an iPadOS version (X.Y or X.Y.Z)", version);
	gdmf_sync_read(resolve_read, x);
	if (!x->loaded)
		return api_refuse(
		    r, AP_ENOTFOUND, 409,
		    "no copy of Apple's update catalogue is loaded: set [updates] "
		    "catalogue_url (now '%s') and fetch it (ardoisectl update catalogue "
		    "shows the last attempt)",
		    r->w->srv->cfg.updates_catalogue_url);
	if (x->found && x->models)
		return 0;
	if (version)
		return api_refuse(
		    r, AP_ENOTFOUND, 422,
		    "iPadOS %s is not in Apple's catalogue for any iPad (offered now: "
		    "%s)",
		    version, x->offered[0] ? x->offered : "none");
	return api_refuse(r, AP_ENOTFOUND, 422,
			  "Apple's catalogue offers no iPadOS version for iPads now");
}

/* 409 when another plan's scope overlaps scope (fleet against any
 * collège). */
static int plan_overlap(struct req *r, json_t *plans, const char *scope)
{
	json_t *p;
	size_t i;
	json_array_foreach(plans, i, p)
	{
		const char *other = json_string_value(json_object_get(p, "scope"));
		if (strcmp(other, scope) == 0 ||
		    (strcmp(other, "fleet") != 0 && strcmp(scope, "fleet") != 0))
			continue;
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "%s has an update plan (%s, iPadOS %s) that covers tablets of %s: "
		    "a tablet follows one plan; remove it first (ardoisectl update "
		    "unplan --scope %s)",
		    other, json_string_value(json_object_get(p, "identifier")),
		    json_is_string(json_object_get(p, "version"))
			? json_string_value(json_object_get(p, "version"))
			: "?",
		    scope, other);
	}
	return 0;
}

static char *plan_payload(const struct resolve *x, const char *local)
{
	json_t *p =
	    json_pack("{s:s,s:s}", "TargetOSVersion", x->version, "TargetLocalDateTime", local);
	if (x->build[0])
		json_object_set_new(p, "TargetBuildVersion", json_string(x->build));
	char *s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(p);
	return s;
}

/* Stores the plan: the declaration added or replaced, assigned to its
 * scope, the scope's activations synced; then commits.  Answers on
 * failure.  *ret_changed: the tablets' sets may have changed. */
static int plan_store(struct req *r, const char *id, const char *scope, const char *payload,
		      const char *models, int exists, int *ret_changed)
{
	char detail[300] = "";
	int rc = api_begin(r);
	if (rc < 0)
		return rc;
	rc = ddm_declaration_put(r->w->db, ENFORCEMENT, id, payload, strlen(payload), models,
				 r->acct.name, exists, ret_changed, detail, sizeof(detail));
	if (rc == 0 && !exists)
		rc = db_ddm_assign(r->w->db, id, scope, r->acct.name);
	if (rc == 0)
		rc = ddm_scope_sync(r->w->db, scope, r->acct.name);
	if (rc < 0) {
		api_rollback(r);
		return api_refuse(r, rc, 0, "the plan cannot be stored: %s%s%s", ap_strerror(rc),
				  detail[0] ? ": " : "", detail);
	}
	if (!exists)
		*ret_changed = 1;
	return api_commit_plain(r);
}

static void plan_add(struct req *r)
{
	const char *scope = NULL, *version = NULL, *deadline = NULL;
	char canon[POL_SCOPE_TEXT], id[PLAN_ID_CAP], tl[ISODATE_TIME_LEN + 1];
	int latest = 0, outside = 0, dry = 0, changed = 0;
	int64_t when, now = db_now();
	struct resolve x;
	json_t *plans = NULL, *old;
	char *payload = NULL, *models = NULL;
	memset(&x, 0, sizeof(x));
	x.now = now;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "scope", DB_DDM_SCOPE_MAX, 1, &scope) < 0 ||
	    api_field_str(r, body, "version", GDMF_VERSION_MAX, 0, &version) < 0 ||
	    api_field_bool(r, body, "latest", &latest) < 0 ||
	    api_field_str(r, body, "deadline", 64, 1, &deadline) < 0 ||
	    api_field_bool(r, body, "outside_windows", &outside) < 0 ||
	    api_field_bool(r, body, "dry_run", &dry) < 0)
		goto out;
	if ((version != NULL) == (latest != 0)) {
		api_fail(r, AP_EINVAL, 400, "give exactly one of version and latest: true");
		goto out;
	}
	x.want = version;
	if (plan_scope(r, scope, canon) < 0 ||
	    plan_deadline(r, deadline, outside, now, &when) < 0 || plan_version(r, version, &x) < 0)
		goto out;
	int rc = plans_load(r, &plans);
	if (rc < 0) {
		api_dberr(r, rc, "reading the plans");
		goto out;
	}
	if (plan_overlap(r, plans, canon) < 0)
		goto out;
	plan_id(canon, id);
	old = plan_of(plans, canon);
	isodate_format_time(when, tl);
	tl[19] = '\0'; /* YYYY-MM-DDTHH:MM:SS, the tablet's local time */

	struct reach reach = {.models = x.models, .unsupported = json_object()};
	const char *only[1] = {canon + 7};
	rc = db_ddm_update_tablets(r->w->db, strcmp(canon, "fleet") ? only : NULL,
				   strcmp(canon, "fleet") ? 1 : 0, reach_tablet, &reach);
	if (rc < 0) {
		json_decref(reach.unsupported);
		api_dberr(r, rc, "reading the tablets");
		goto out;
	}
	json_t *unsupported = unsupported_array(reach.unsupported);
	json_decref(reach.unsupported);
	payload = plan_payload(&x, tl);
	models = json_dumps(x.models, JSON_COMPACT);
	if (payload == NULL || models == NULL) {
		json_decref(unsupported);
		api_fail(r, AP_ENOMEM, 503, "out of memory");
		goto out;
	}
	json_t *recompute = json_null();
	if (!dry) {
		if (plan_store(r, id, canon, payload, models, old != NULL, &changed) < 0) {
			json_decref(unsupported);
			goto out;
		}
		if (changed)
			recompute = api_ddm_recompute(r, canon, old ? "plan.replace" : "plan.add");
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:O,s:o}", "scope", canon, "identifier", id,
			      "version", x.version, "build",
			      x.build[0] ? json_string(x.build) : json_null(), "deadline",
			      api_fleet_time(when), "deadline_local", tl, "models", x.models,
			      "payload", json_loads(payload, 0, NULL));
	json_object_set_new(o, "tablets", json_integer(reach.tablets));
	json_object_set_new(o, "targeted", json_integer(reach.targeted));
	json_object_set_new(o, "unsupported", unsupported);
	json_object_set_new(o, "unsupported_tablets", json_integer(reach.unsupported_n));
	json_object_set_new(o, "unknown_model", json_integer(reach.unknown_model));
	json_object_set_new(o, "without_ddm", json_integer(reach.without_ddm));
	json_object_set_new(o, "outside_windows", json_boolean(outside));
	json_object_set_new(o, "dry_run", json_boolean(dry));
	json_object_set_new(o, "replaced", json_boolean(old != NULL));
	json_object_set_new(o, "changed", json_boolean(changed));
	json_object_set_new(o, "recompute", recompute);
	api_json(r, dry || old ? 200 : 201, o);
out:
	json_decref(x.models);
	json_decref(plans);
	free(payload);
	free(models);
	json_decref(body);
}

static void plan_list(struct req *r)
{
	json_t *plans;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	int rc = plans_load(r, &plans);
	if (rc < 0) {
		api_dberr(r, rc, "reading the plans");
		return;
	}
	api_json(r, 200, json_pack("{s:o}", "plans", plans));
}

static void plan_remove(struct req *r)
{
	const char *scope = NULL;
	char q[DB_DDM_SCOPE_MAX + 2], canon[POL_SCOPE_TEXT], id[PLAN_ID_CAP];
	struct db_declaration d;
	json_t *body = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (api_ddm_scope_arg(r, q, sizeof(q), &body, &scope) < 0)
		goto out;
	if (plan_scope(r, scope, canon) < 0)
		goto out;
	plan_id(canon, id);
	int rc = db_ddm_declaration_get(r->w->db, NULL, id, &d);
	if (rc == AP_ENOTFOUND) {
		api_fail(r, rc, 404, "no update plan on %s", canon);
		goto out;
	}
	if (rc < 0) {
		api_dberr(r, rc, "reading the plan");
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	rc = ddm_declaration_remove(r->w->db, id, r->acct.name);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "removing the plan");
		goto out;
	}
	if (api_commit_plain(r) < 0)
		goto out;
	api_json(r, 200,
		 json_pack("{s:s,s:s,s:o}", "scope", canon, "identifier", id, "recompute",
			   api_ddm_recompute(r, canon, "plan.remove")));
out:
	json_decref(body);
}

/* ---- GET /api/v1/updates/status ------------------------------------------------ */

/* One collège's figures (or the fleet's), counted in C: the tablets come
 * by collège, so the current one is the last. */
struct figures {
	char school[9];
	json_t *plan; /* borrowed from the plans; NULL: none covers it */
	int64_t tablets, n[POL_UPDATE__COUNT];
	json_t *failures; /* reason -> count */
};

struct status {
	json_t *plans;
	struct figures *figs, fleet;
	size_t n, cap;
	int oom; /* the walk stopped: out of memory */
};

/* The plan a tablet of collège school follows: its collège's, else the
 * fleet's (plans never overlap). */
static json_t *plan_for(json_t *plans, const char *school)
{
	char scope[32];
	json_t *p = NULL;
	if (school[0]) {
		snprintf(scope, sizeof(scope), "school:%s", school);
		p = plan_of(plans, scope);
	}
	return p ? p : plan_of(plans, "fleet");
}

static struct figures *figures_of(struct status *s, const char *school)
{
	if (s->n && strcmp(s->figs[s->n - 1].school, school) == 0)
		return &s->figs[s->n - 1];
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->figs[i].school, school) == 0)
			return &s->figs[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct figures *f = realloc(s->figs, cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		s->figs = f;
		s->cap = cap;
	}
	struct figures *f = &s->figs[s->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->school, sizeof(f->school), "%s", school);
	f->plan = plan_for(s->plans, school);
	f->failures = json_object();
	return f;
}

static void count_in(struct figures *f, enum pol_update_class c, const char *why)
{
	f->tablets++;
	f->n[c]++;
	if (c != POL_UPDATE_FAILED)
		return;
	why = why && why[0] ? why : "unknown";
	json_object_set_new(
	    f->failures, why,
	    json_integer(json_integer_value(json_object_get(f->failures, why)) + 1));
}

static int status_tablet(const struct db_ddm_update_tablet *t, void *arg)
{
	struct status *s = arg;
	struct figures *f = figures_of(s, t->school);
	if (f == NULL) {
		s->oom = 1; /* the walk stops, the caller says so */
		return 1;
	}
	json_t *models = f->plan ? json_object_get(f->plan, "models") : NULL;
	struct pol_update_tablet in = {
	    .ddm_enabled = t->enabled,
	    .reporting = t->status_at != 0,
	    .product_name = t->product_name,
	    .target = f->plan ? json_string_value(json_object_get(f->plan, "version")) : NULL,
	    .supported = !json_array_size(models) || in_models(models, t->product_name),
	    .version = t->version,
	    .inventory = t->os_version,
	    .install_state = t->install_state,
	    .failures = t->failures,
	};
	enum pol_update_class c = pol_update_classify(&in);
	count_in(f, c, t->failure_reason);
	count_in(&s->fleet, c, t->failure_reason);
	return 0;
}

static int by_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "reason")),
		      json_string_value(json_object_get(*(json_t *const *)b, "reason")));
}

/* {reason: n} -> [{"reason", "count"}], most first. */
static json_t *failures_array(json_t *by)
{
	json_t *a = json_array(), *v;
	const char *k;
	json_object_foreach(by, k, v)
	    json_array_append_new(a, json_pack("{s:s,s:O}", "reason", k, "count", v));
	size_t n = json_array_size(a);
	json_t **e = calloc(n + 1, sizeof(*e));
	if (e == NULL)
		return a;
	for (size_t i = 0; i < n; i++)
		e[i] = json_incref(json_array_get(a, i));
	qsort(e, n, sizeof(*e), by_count);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, e[i]);
	free(e);
	return a;
}

static const enum pol_update_class shown[] = {
    POL_UPDATE_ON_TARGET,     POL_UPDATE_PENDING,     POL_UPDATE_DOWNLOADING,
    POL_UPDATE_PREPARED,      POL_UPDATE_INSTALLING,  POL_UPDATE_FAILED,
    POL_UPDATE_NOT_REPORTING, POL_UPDATE_WITHOUT_DDM, POL_UPDATE_UNSUPPORTED,
    POL_UPDATE_UNKNOWN_MODEL, POL_UPDATE_NO_PLAN,
};

static json_t *figures_json(const struct figures *f, int school)
{
	json_t *o = json_object();
	if (school) {
		json_t *p = f->plan;
		json_object_set_new(o, "school",
				    f->school[0] ? json_string(f->school) : json_null());
		json_object_set_new(o, "target",
				    json_copy(p ? json_object_get(p, "version") : json_null()));
		json_object_set_new(o, "plan",
				    json_copy(p ? json_object_get(p, "identifier") : json_null()));
		json_object_set_new(o, "deadline",
				    json_copy(p ? json_object_get(p, "deadline") : json_null()));
	}
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		json_object_set_new(o, pol_update_class_name(shown[i]),
				    json_integer(f->n[shown[i]]));
	json_object_set_new(o, "failures", failures_array(f->failures));
	json_object_set_new(o, "tablets", json_integer(f->tablets));
	return o;
}

json_t *api_update_figures(struct req *r, const char *const *only, size_t n_only, int *ret_rc)
{
	struct status s;
	json_t *out = NULL;
	memset(&s, 0, sizeof(s));
	s.fleet.failures = json_object();
	int rc = plans_load(r, &s.plans);
	if (rc == 0)
		rc = db_ddm_update_tablets(r->w->db, only, n_only, status_tablet, &s);
	if (rc == 0 && s.oom)
		rc = AP_ENOMEM;
	if (rc == 0) {
		json_t *schools = json_array();
		for (size_t i = 0; i < s.n; i++)
			json_array_append_new(schools, figures_json(&s.figs[i], 1));
		out = json_pack("{s:o,s:o,s:O}", "schools", schools, "fleet",
				figures_json(&s.fleet, 0), "plans", s.plans);
	}
	for (size_t i = 0; i < s.n; i++)
		json_decref(s.figs[i].failures);
	free(s.figs);
	json_decref(s.fleet.failures);
	json_decref(s.plans);
	*ret_rc = rc;
	return out;
}

static void update_status(struct req *r)
{
	struct api_scope sc;
	int rc;
	if (api_fleet_scope(r, AZ_UPDATE_STATUS, &sc) < 0)
		return;
	json_t *o = api_update_figures(r, sc.only, sc.n_only, &rc);
	if (o == NULL) {
		api_dberr(r, rc, "computing the update status");
		return;
	}
	json_object_set_new(o, "generated_at", api_fleet_time(db_now()));
	api_json(r, 200, o);
}

const struct route api_update_plan_routes[] = {
    {"GET", "/api/v1/updates/plans", AUTH_STAFF, plan_list},
    {"POST", "/api/v1/updates/plans", AUTH_STAFF, plan_add},
    {"DELETE", "/api/v1/updates/plans", AUTH_STAFF, plan_remove},
    {"GET", "/api/v1/updates/status", AUTH_STAFF, update_status},
    {NULL, NULL, AUTH_NONE, NULL},
};
