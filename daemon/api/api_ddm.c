/*
 * api_ddm.c - staff routes for declarative device management: the
 * declaration catalogue and its assignments to scopes.
 *
 *   GET    /api/v1/declarations                   every declaration, without Payload
 *   POST   /api/v1/declarations                   {"Type", "Identifier", "Payload"}
 *   GET    /api/v1/declarations/:id               with Payload, ServerToken, scopes
 *   PUT    /api/v1/declarations/:id               {"Type", "Payload"} (Identifier: the same)
 *   DELETE /api/v1/declarations/:id               unassigned everywhere
 *   POST   /api/v1/declarations/:id/assignments   {"scope": "fleet|school:UAI|group:UAI/NAME|
 *   DELETE /api/v1/declarations/:id/assignments    device:SERIAL"} (or ?scope=)
 *
 * Technicians only (AZ_ADMIN).  What Ardoise generates (the activations,
 * the update plans, the status subscriptions: ddm_generated()) is not
 * edited, assigned or removed here (409): plans go through
 * /api/v1/updates/plans.  The store writes each change's audit row
 * (db_ddm.h) in its transaction; the generated activations follow in the
 * same one (ddm_scope_sync()); after the commit the tablets concerned get
 * their DeclarationsToken recomputed and are pushed (ddm_recompute()),
 * and the answer says what that did.
 */
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "db_ddm.h"
#include "db_device.h"
#include "db_school.h"
#include "ddm.h"
#include "pol_scope.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define SCOPES_MAX  8 /* scopes recomputed one by one; more: the fleet */
#define ENFORCEMENT "com.apple.configuration.softwareupdate.enforcement.specific"

/* ---- shared with the update plans (api_fleet.h) ------------------------- */

json_t *api_ddm_stats_json(int rc, const struct ddm_stats *st)
{
	if (rc < 0)
		return json_pack("{s:s}", "error", ap_strerror(rc));
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "devices", (json_int_t)st->devices, "changed",
			 (json_int_t)st->changed, "pushed", (json_int_t)st->pushed, "ms",
			 (json_int_t)st->total_ms, "cpu_ms", (json_int_t)st->cpu_ms);
}

json_t *api_ddm_recompute(struct req *r, const char *scope, const char *reason)
{
	struct pol_scope s;
	struct ddm_stats st;
	struct db_device d;
	int rc;
	memset(&st, 0, sizeof(st));
	if (scope == NULL || pol_scope_parse(scope, &s) < 0 || s.kind == POL_SCOPE_FLEET)
		rc = ddm_recompute(r->w, NULL, 0, reason, &st);
	else if (s.kind != POL_SCOPE_DEVICE)
		rc = ddm_recompute(r->w, s.school, 0, reason, &st);
	else if ((rc = db_device_get(r->w->db, s.name, &d)) == 0)
		rc = ddm_recompute(r->w, NULL, d.id, reason, &st);
	return api_ddm_stats_json(rc, &st);
}

int api_ddm_scope(struct req *r, const char *text, char *canon)
{
	struct pol_scope s;
	struct db_school sc;
	struct db_device d;
	int rc;
	if (text == NULL || pol_scope_parse(text, &s) < 0)
		return api_refuse(
		    r, AP_EINVAL, 400,
		    "scope must be fleet, school:UAI, group:UAI/NAME or device:SERIAL");
	pol_scope_format(&s, canon);
	if (s.kind == POL_SCOPE_SCHOOL || s.kind == POL_SCOPE_GROUP) {
		rc = db_school_get(r->w->db, s.school, &sc);
		if (rc == AP_ENOTFOUND)
			return api_refuse(r, rc, 404, "no collège %s", s.school);
		if (rc < 0)
			return api_dberr(r, rc, "reading the collège");
	} else if (s.kind == POL_SCOPE_DEVICE) {
		rc = db_device_get(r->w->db, s.name, &d);
		if (rc == AP_ENOTFOUND)
			return api_refuse(r, rc, 404, "no tablet with serial %s", s.name);
		if (rc < 0)
			return api_dberr(r, rc, "reading the tablet");
	}
	return 0;
}

/* ---- JSON of a declaration ----------------------------------------------- */

static int add_scope(const struct db_ddm_assignment *a, void *arg)
{
	json_array_append_new(arg, json_string(a->scope));
	return 0;
}

static json_t *scopes_of(struct req *r, const char *identifier)
{
	json_t *a = json_array();
	db_ddm_assignment_list(r->w->db, NULL, identifier, add_scope, a);
	return a;
}

static json_t *models_json(const char *models)
{
	json_t *m = models && models[0] ? json_loads(models, 0, NULL) : NULL;
	return m ? m : json_null();
}

/* The row's JSON, without what needs the store (decl_decorate()). */
static json_t *decl_base(const struct db_declaration *d)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "Type", d->type, "Identifier",
			 d->identifier, "ServerToken", d->server_token, "kind",
			 db_ddm_kind_name(d->kind), "models", models_json(d->models), "created_by",
			 d->created_by, "created_at", api_fleet_time(d->created_at), "updated_by",
			 d->updated_by[0] ? json_string(d->updated_by) : json_null(), "updated_at",
			 api_fleet_time(d->updated_at));
}

/* Adds "generated" and "scopes" (and "Payload" when with_payload). */
static void decl_decorate(struct req *r, json_t *o, int with_payload)
{
	const char *id = json_string_value(json_object_get(o, "Identifier"));
	json_object_set_new(o, "generated", json_boolean(ddm_generated(r->w->db, id)));
	json_object_set_new(o, "scopes", scopes_of(r, id));
	if (with_payload) {
		char *text = NULL;
		size_t len = 0;
		json_t *p = NULL;
		if (db_ddm_declaration_payload(r->w->db, id, &text, &len) == 0)
			p = json_loadb(text, len, 0, NULL);
		free(text);
		json_object_set_new(o, "Payload", p ? p : json_null());
	}
}

static json_t *decl_json(struct req *r, const struct db_declaration *d, int with_payload)
{
	json_t *o = decl_base(d);
	decl_decorate(r, o, with_payload);
	return o;
}

/* ---- reading the body ---------------------------------------------------- */

struct decl_body {
	json_t *body;
	const char *type, *identifier;
	char *payload; /* compact JSON text of Payload, sorted keys */
	size_t len;
};

static void decl_body_free(struct decl_body *b)
{
	json_decref(b->body);
	free(b->payload);
}

/* {"Type", "Identifier", "Payload"}; identifier_required 0: Identifier may
 * be absent (PUT: the path's).  Answers on failure. */
static int read_decl(struct req *r, struct decl_body *b, int identifier_required)
{
	memset(b, 0, sizeof(*b));
	if ((b->body = api_body(r)) == NULL)
		return AP_EINVAL;
	if (api_field_str(r, b->body, "Type", DB_DDM_TYPE_MAX, 1, &b->type) < 0 ||
	    api_field_str(r, b->body, "Identifier", DB_DDM_IDENTIFIER_MAX, identifier_required,
			  &b->identifier) < 0)
		return AP_EINVAL;
	json_t *p = json_object_get(b->body, "Payload");
	if (!json_is_object(p))
		return api_refuse(r, p ? AP_ETYPE : AP_EMISSING, 400,
				  "Payload must be a JSON object (the declaration's settings)");
	b->payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	if (b->payload == NULL)
		return api_refuse(r, AP_ENOMEM, 503, "out of memory");
	b->len = strlen(b->payload);
	if (b->len > DB_DDM_PAYLOAD_MAX)
		return api_refuse(r, AP_ETOOBIG, 413, "Payload larger than %d bytes",
				  DB_DDM_PAYLOAD_MAX);
	if (strcmp(b->type, ENFORCEMENT) == 0)
		return api_refuse(r, AP_ECONFLICT, 409,
				  "%s: update plans go through /api/v1/updates/plans (ardoisectl "
				  "update plan)",
				  ENFORCEMENT);
	if (strncmp(b->type, "com.apple.activation.", 21) == 0)
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "%s: activations are generated by Ardoise, one per scope, from the "
		    "configurations assigned to it: assign configurations instead",
		    b->type);
	return 0;
}

/* 409 for what Ardoise generates. */
static int refuse_generated(struct req *r, const char *identifier)
{
	if (!ddm_generated(r->w->db, identifier))
		return 0;
	return api_refuse(r, AP_ECONFLICT, 409,
			  "%s is generated by Ardoise and cannot be changed here; update plans "
			  "go through /api/v1/updates/plans (ardoisectl update plan)",
			  identifier);
}

/* Answers the error of ddm_declaration_put() / the store. */
static void put_failed(struct req *r, int rc, const char *identifier, const char *detail)
{
	if (rc == AP_EEXIST)
		api_fail(r, rc, 409, "a declaration with Identifier %s exists: PUT it to change it",
			 identifier);
	else if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no declaration %s", identifier);
	else if (rc == AP_ECONFLICT)
		api_fail(r, rc, 409, "%s: the kind of a declaration cannot change (%s)", identifier,
			 detail[0] ? detail : "remove it and add it again");
	else if (rc == AP_ETOOBIG)
		api_fail(r, rc, 413, "the declaration is too large%s%s", detail[0] ? ": " : "",
			 detail);
	else if (rc == AP_EINVAL || rc == AP_ETYPE || rc == AP_EPARSE)
		api_fail(r, rc, 400, "the declaration is refused: %s",
			 detail[0] ? detail
				   : "Type com.apple.<kind>.<name>, Identifier of 1-64 characters "
				     "A-Z a-z 0-9 . _ -, Payload a JSON object");
	else
		api_fail(r, rc, 0, "%s%s%s", ap_strerror(rc), detail[0] ? ": " : "", detail);
}

/* ---- routes --------------------------------------------------------------- */

/* The walk reads nothing else: scopes and the rest are added after it. */
static int add_decl(const struct db_declaration *d, void *arg)
{
	json_array_append_new(arg, decl_base(d));
	return 0;
}

static void decl_list(struct req *r)
{
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	json_t *a = json_array(), *o;
	size_t i;
	int rc = db_ddm_declaration_list(r->w->db, add_decl, a);
	if (rc < 0) {
		json_decref(a);
		api_dberr(r, rc, "listing the declarations");
		return;
	}
	json_array_foreach(a, i, o) decl_decorate(r, o, 0);
	api_json(r, 200, json_pack("{s:o}", "declarations", a));
}

static void decl_show(struct req *r)
{
	struct db_declaration d;
	const char *id = api_param(r, 0);
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	int rc = db_ddm_declaration_get(r->w->db, NULL, id, &d);
	if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no declaration %s", id);
	else if (rc < 0)
		api_dberr(r, rc, "reading the declaration");
	else
		api_json(r, 200, decl_json(r, &d, 1));
}

static void decl_add(struct req *r)
{
	struct decl_body b;
	struct db_declaration d;
	char detail[300] = "";
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (read_decl(r, &b, 1) < 0 || refuse_generated(r, b.identifier) < 0)
		goto out;
	if (api_begin(r) < 0)
		goto out;
	int rc = ddm_declaration_put(r->w->db, b.type, b.identifier, b.payload, b.len, NULL,
				     r->acct.name, 0, NULL, detail, sizeof(detail));
	if (rc < 0) {
		api_rollback(r);
		put_failed(r, rc, b.identifier, detail);
		goto out;
	}
	if (api_commit_plain(r) < 0)
		goto out;
	if (db_ddm_declaration_get(r->w->db, NULL, b.identifier, &d) < 0)
		api_fail(r, AP_ENOTFOUND, 503, "the declaration was stored but cannot be read");
	else
		api_json(r, 201, decl_json(r, &d, 1));
out:
	decl_body_free(&b);
}

struct scope_list {
	char scope[SCOPES_MAX][DB_DDM_SCOPE_MAX + 1];
	size_t n, all; /* kept, and how many there are */
	int fleet;
};

static int keep_scope(const struct db_ddm_assignment *a, void *arg)
{
	struct scope_list *l = arg;
	if (strcmp(a->scope, "fleet") == 0)
		l->fleet = 1;
	if (l->n < SCOPES_MAX)
		snprintf(l->scope[l->n++], sizeof(l->scope[0]), "%s", a->scope);
	l->all++;
	return 0;
}

/* The recompute of every scope of l: one by one, or the fleet once. */
static json_t *recompute_scopes(struct req *r, const struct scope_list *l, const char *reason)
{
	if (l->fleet || l->all > SCOPES_MAX)
		return api_ddm_recompute(r, NULL, reason);
	json_t *a = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:o}", "scope", l->scope[i], "result",
						   api_ddm_recompute(r, l->scope[i], reason)));
	return a;
}

static int sync_scopes(struct req *r, const struct scope_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int rc = ddm_scope_sync(r->w->db, l->scope[i], r->acct.name);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void decl_update(struct req *r)
{
	struct decl_body b;
	struct db_declaration d;
	struct scope_list l;
	char detail[300] = "";
	int changed = 0;
	const char *id = api_param(r, 0);
	memset(&l, 0, sizeof(l));
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (read_decl(r, &b, 0) < 0 || refuse_generated(r, id) < 0)
		goto out;
	if (b.identifier && strcmp(b.identifier, id) != 0) {
		api_fail(r, AP_EINVAL, 400,
			 "Identifier %s is not the declaration's (%s): an identifier cannot change",
			 b.identifier, id);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	int rc = ddm_declaration_put(r->w->db, b.type, id, b.payload, b.len, NULL, r->acct.name, 1,
				     &changed, detail, sizeof(detail));
	if (rc == 0)
		rc = db_ddm_assignment_list(r->w->db, NULL, id, keep_scope, &l);
	if (rc == 0 && changed)
		rc = sync_scopes(r, &l);
	if (rc < 0) {
		api_rollback(r);
		put_failed(r, rc, id, detail);
		goto out;
	}
	if (api_commit_plain(r) < 0)
		goto out;
	json_t *rec =
	    changed && l.all ? recompute_scopes(r, &l, "declaration.update") : json_null();
	if (db_ddm_declaration_get(r->w->db, NULL, id, &d) < 0) {
		json_decref(rec);
		api_fail(r, AP_ENOTFOUND, 503, "the declaration was stored but cannot be read");
		goto out;
	}
	json_t *o = decl_json(r, &d, 1);
	json_object_set_new(o, "changed", json_boolean(changed));
	json_object_set_new(o, "recompute", rec);
	api_json(r, 200, o);
out:
	decl_body_free(&b);
}

static void decl_remove(struct req *r)
{
	struct scope_list l;
	const char *id = api_param(r, 0);
	memset(&l, 0, sizeof(l));
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || refuse_generated(r, id) < 0)
		return;
	if (api_begin(r) < 0)
		return;
	int rc = db_ddm_assignment_list(r->w->db, NULL, id, keep_scope, &l);
	if (rc == 0)
		rc = ddm_declaration_remove(r->w->db, id, r->acct.name);
	if (rc < 0) {
		api_rollback(r);
		put_failed(r, rc, id, "");
		return;
	}
	if (api_commit_plain(r) < 0)
		return;
	api_json(r, 200,
		 json_pack("{s:s,s:I,s:o}", "Identifier", id, "unassigned", (json_int_t)l.all,
			   "recompute",
			   l.all ? recompute_scopes(r, &l, "declaration.remove") : json_null()));
}

static void assignment_change(struct req *r, int add)
{
	const char *id = api_param(r, 0), *scope = NULL;
	char q[DB_DDM_SCOPE_MAX + 2], canon[POL_SCOPE_TEXT];
	struct db_declaration d;
	json_t *body = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || refuse_generated(r, id) < 0)
		return;
	if (api_ddm_scope_arg(r, q, sizeof(q), &body, &scope) < 0)
		goto out;
	int rc = db_ddm_declaration_get(r->w->db, NULL, id, &d);
	if (rc < 0) {
		put_failed(r, rc, id, "");
		goto out;
	}
	if (api_ddm_scope(r, scope, canon) < 0 || api_begin(r) < 0)
		goto out;
	rc = add ? db_ddm_assign(r->w->db, id, canon, r->acct.name)
		 : db_ddm_unassign(r->w->db, id, canon, r->acct.name);
	if (rc == 0)
		rc = ddm_scope_sync(r->w->db, canon, r->acct.name);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_EEXIST)
			api_fail(r, rc, 409, "%s is already assigned to %s", id, canon);
		else if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "%s is not assigned to %s", id, canon);
		else
			api_fail(r, rc, 0, "%s cannot be changed for %s: %s", id, canon,
				 ap_strerror(rc));
		goto out;
	}
	if (api_commit_plain(r) < 0)
		goto out;
	api_json(r, add ? 201 : 200,
		 json_pack("{s:s,s:s,s:o}", "Identifier", id, "scope", canon, "recompute",
			   api_ddm_recompute(r, canon, add ? "ddm.assign" : "ddm.unassign")));
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

int api_ddm_scope_arg(struct req *r, char *q, size_t cap, json_t **body, const char **scope)
{
	*body = NULL;
	*scope = NULL;
	if (r->http->body.len == 0 && api_query(r, "scope", q, cap) == 0) {
		*scope = q;
		return 0;
	}
	if ((*body = api_body(r)) == NULL ||
	    api_field_str(r, *body, "scope", cap - 2, 1, scope) < 0)
		return -1;
	return 0;
}

const struct route api_ddm_routes[] = {
    {"GET", "/api/v1/declarations", AUTH_STAFF, decl_list},
    {"POST", "/api/v1/declarations", AUTH_STAFF, decl_add},
    {"GET", "/api/v1/declarations/:id", AUTH_STAFF, decl_show},
    {"PUT", "/api/v1/declarations/:id", AUTH_STAFF, decl_update},
    {"DELETE", "/api/v1/declarations/:id", AUTH_STAFF, decl_remove},
    {"POST", "/api/v1/declarations/:id/assignments", AUTH_STAFF, assignment_add},
    {"DELETE", "/api/v1/declarations/:id/assignments", AUTH_STAFF, assignment_remove},
    {NULL, NULL, AUTH_NONE, NULL},
};
