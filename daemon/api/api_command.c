/*
 * api_command.c - staff routes for a device's command queue and for
 * one-time enrolment codes.
 *
 *   POST   /api/v1/devices/:serial/commands  {"type": T, "params": ["K=V", ...],
 *                                             "reason": T (DeviceLock, ShutDownDevice,
 *                                             Settings)}
 *   GET    /api/v1/devices/:serial/commands
 *   GET    /api/v1/commands/:uuid            (?plist=1: with payload and result,
 *                                             technicians only, secrets masked)
 *   DELETE /api/v1/commands/:uuid
 *   POST   /api/v1/commands/bulk             {"type": T, "params": [...], "reason": T,
 *                                             "school": UAI | "all": true} (technicians)
 *
 * These routes take only the command types no procedure owns
 * (authz_command(): geolocation, lock code, erase, policy catalogue and
 * escrow have their own routes, with their own checks and records).
 *   POST   /api/v1/enroll-codes              {"uses": N}
 */
#include "ap_cmd.h"
#include "ap_err.h"
#include "ap_text.h"
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "authz.h"
#include "db_command.h"
#include "db_mdm.h"
#include "cmdq.h"
#include "secret.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#define ENROLL_CODE_TTL (7 * 86400)
#define MAX_KV		32

static json_t *cmd_json(const struct db_cmd *c)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "uuid", c->uuid, "type",
			 c->type, "status", c->status, "origin", c->origin, "created_by",
			 c->created_by, "created_at", api_fleet_time(c->created_at), "sent_at",
			 api_fleet_time(c->sent_at), "done_at", api_fleet_time(c->done_at),
			 "expires_at", api_fleet_time(c->expires_at), "error", c->error);
}

/* Converts the body's "params" array of "Key=value" strings into a plist
 * for type t; answers on error. */
static int body_params(struct req *r, json_t *body, enum ap_cmd_type t, plist_t *ret)
{
	const char *kv[MAX_KV];
	char detail[256] = "";
	size_t n;
	/* a DeviceLock Message may hold line breaks, nothing else */
	int rc = api_field_strs(r, body, "params", MAX_KV, API_REASON_MAX, 1, kv, &n);
	if (rc < 0)
		return rc;
	rc = ap_cmd_params_from_kv(t, kv, n, ret, detail, sizeof(detail));
	if (rc < 0)
		api_fail(r, rc, 400, "%s: %s", ap_cmd_name(t),
			 detail[0] ? detail : ap_strerror(rc));
	return rc;
}

/* The body of a generic command: its type, allowed to this account
 * through these routes, its parameters as a plist, and the reason when the
 * type needs one.  Answers itself on failure. */
struct generic {
	const char *type, *reason;
	enum ap_cmd_type t;
	plist_t params;
};

/* Refuses t through these routes when authz_command() does (403). */
static int generic_allowed(struct req *r, const struct generic *g, int mdm_options)
{
	const char *why;
	if (authz_command(r, g->t, mdm_options, &why) == 0)
		return 0;
	return api_refuse(r, AP_EFORBIDDEN, 403, "%s is refused here: %s", g->type, why);
}

static int generic_command(struct req *r, json_t *body, struct generic *g)
{
	if (api_field_str(r, body, "type", 64, 1, &g->type) < 0 ||
	    api_field_str(r, body, "reason", API_REASON_MAX, 0, &g->reason) < 0)
		return AP_EINVAL;
	if (ap_cmd_from_name(g->type, &g->t) < 0)
		return api_refuse(r, AP_EINVAL, 400, "unknown command type '%s'", g->type);
	/* the type first: a refused command's parameters are not even read */
	if (generic_allowed(r, g, 0) < 0 || body_params(r, body, g->t, &g->params) < 0)
		return AP_EINVAL;
	if (g->t == AP_CMD_SETTINGS && ap_cmd_settings_has(g->params, "MDMOptions") &&
	    generic_allowed(r, g, 1) < 0)
		return AP_EFORBIDDEN;
	if (authz_command_needs_reason(g->t) && (g->reason == NULL || g->reason[0] == '\0'))
		return api_refuse(r, AP_EMISSING, 400,
				  "%s needs a reason (\"reason\": it goes to the audit log)",
				  g->type);
	return 0;
}

static void command_send(struct req *r)
{
	struct db_device d;
	struct generic g = {NULL, NULL, 0, NULL};
	char uuid[37];
	json_t *body;
	if (api_tablet(r, AZ_DEVICE_ACTION, &d) < 0 || (body = api_body(r)) == NULL)
		return;
	if (generic_command(r, body, &g) < 0 || api_begin(r) < 0)
		goto out;
	struct cmd_order o = {.device_id = d.id,
			      .type = g.t,
			      .params = g.params,
			      .origin = "staff",
			      .requested_by = r->acct.name};
	int rc = api_queue(r, &o, g.type, uuid);
	if (rc < 0)
		goto out;
	json_t *det = json_pack("{s:s,s:s}", "type", g.type, "uuid", uuid);
	rc = api_commit(r, "command.send", d.serial, g.reason, det);
	json_decref(det);
	if (rc == 0)
		api_json(r, 201,
			 json_pack("{s:s,s:s,s:s,s:s}", "uuid", uuid, "type", g.type, "status",
				   "queued", "serial", d.serial));
out:
	if (g.params)
		plist_free(g.params);
	json_decref(body);
}

struct bulk {
	struct req *r;
	enum ap_cmd_type t;
	plist_t params;
	int64_t queued, skipped, failed;
	char last_error[200];
};

static int bulk_one(int64_t device_id, void *arg)
{
	struct bulk *b = arg;
	char uuid[37], detail[160];
	struct cmd_order o = {.device_id = device_id,
			      .type = b->t,
			      .params = b->params,
			      .origin = "bulk",
			      .requested_by = b->r->acct.name};
	int rc = cmdq_queue(b->r->w, &o, uuid, detail, sizeof(detail));
	if (rc == 0)
		b->queued++;
	else if (rc == AP_ECONFLICT)
		b->skipped++;
	else {
		b->failed++;
		snprintf(b->last_error, sizeof(b->last_error), "%s",
			 detail[0] ? detail : ap_strerror(rc));
	}
	return 0;
}

/* The collège of a bulk command into uai, school NULL for "all": true;
 * answers 400 itself. */
static int bulk_scope(struct req *r, json_t *body, char uai[9], const char **school)
{
	const char *given = NULL;
	int all = 0;
	if (api_field_str(r, body, "school", 16, 0, &given) < 0 ||
	    api_field_bool(r, body, "all", &all) < 0)
		return AP_EINVAL;
	if ((given == NULL) == !all)
		return api_refuse(r, AP_EINVAL, 400,
				  "give the tablets: \"school\": UAI or \"all\": true (not both)");
	*school = NULL;
	if (given && api_fleet_uai(r, given, uai) < 0)
		return AP_EINVAL;
	if (given)
		*school = uai;
	return 0;
}

/* One command for every enrolled tablet of a collège, or of the fleet
 * (technicians only).  Tablets that already have the same command pending
 * are skipped.  One transaction, with its audit row. */
static void command_bulk(struct req *r)
{
	const char *school = NULL;
	char uai[9];
	struct generic g = {NULL, NULL, 0, NULL};
	struct bulk b = {r, 0, NULL, 0, 0, 0, ""};
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_allow(r, AZ_BULK, NULL) < 0 || bulk_scope(r, body, uai, &school) < 0 ||
	    generic_command(r, body, &g) < 0 || api_begin(r) < 0)
		goto out;
	b.t = g.t;
	b.params = g.params;
	int rc = db_mdm_each_enrolled(r->w->db, school, bulk_one, &b);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "bulk queueing failed: %s", ap_strerror(rc));
		goto out;
	}
	json_t *det = json_pack("{s:s,s:I,s:I,s:I}", "type", g.type, "queued", (json_int_t)b.queued,
				"skipped", (json_int_t)b.skipped, "failed", (json_int_t)b.failed);
	rc = api_commit(r, "command.bulk", school ? school : "fleet", g.reason, det);
	json_decref(det);
	if (rc == 0)
		api_json(r, 200,
			 json_pack("{s:s,s:I,s:I,s:I,s:s}", "type", g.type, "queued",
				   (json_int_t)b.queued, "skipped", (json_int_t)b.skipped, "failed",
				   (json_int_t)b.failed, "last_error", b.last_error));
out:
	if (g.params)
		plist_free(g.params);
	json_decref(body);
}

static int add_cmd(const struct db_cmd *c, void *arg)
{
	json_array_append_new(arg, cmd_json(c));
	return 0;
}

static void command_list(struct req *r)
{
	struct db_device d;
	if (api_tablet(r, AZ_READ, &d) < 0)
		return;
	json_t *a = json_array();
	int rc = db_cmd_list(r->w->db, d.id, 0, add_cmd, a);
	if (rc < 0) {
		json_decref(a);
		api_fail(r, rc, 503, "cannot list commands");
		return;
	}
	api_json(r, 200, a);
}

/* The command of the path's uuid with its device, authorised. */
static int command_for(struct req *r, int action, struct db_cmd *c)
{
	struct db_device d;
	int rc = db_cmd_get(r->w->db, api_param(r, 0), c);
	if (rc == 0)
		rc = db_mdm_by_id(r->w->db, c->device_id, &d);
	/* one in another collège answers as an unknown one */
	return api_allow_object(r, action, rc, rc == 0 ? d.school : NULL, "command %s",
				api_param(r, 0));
}

/* The stored payload and result of c into o, any secret value still in
 * them masked (the stored ones hold none since migration 8). */
static int show_plists(struct req *r, const struct db_cmd *c, json_t *o)
{
	static const char *const keys[] = {"payload", "result"};
	for (int i = 0; i < 2; i++) {
		char *stored = NULL, *shown = NULL;
		size_t n = 0, m = 0;
		int rc =
		    db_cmd_blob(r->w->db, c->uuid, i ? DB_CMD_RESULT : DB_CMD_PAYLOAD, &stored, &n);
		if (rc == 0 && stored)
			rc = secret_masked(stored, n, i, &shown, &m);
		free(stored);
		if (rc < 0) {
			api_fail(r, rc, 503, "cannot read the command");
			return rc;
		}
		json_object_set_new(o, keys[i], shown ? json_stringn(shown, m) : json_null());
		free(shown);
	}
	return 0;
}

static void command_show(struct req *r)
{
	struct db_cmd c;
	char want[4];
	if (command_for(r, AZ_READ, &c) < 0)
		return;
	int plist = api_query(r, "plist", want, sizeof(want)) == 0 && strcmp(want, "0") != 0;
	if (plist && api_allow(r, AZ_COMMAND_PLIST, NULL) < 0)
		return;
	json_t *o = cmd_json(&c);
	if (plist && show_plists(r, &c, o) < 0) {
		json_decref(o);
		return;
	}
	api_json(r, 200, o);
}

static void command_cancel(struct req *r)
{
	struct db_cmd c;
	if (command_for(r, AZ_DEVICE_ACTION, &c) < 0 || api_begin(r) < 0)
		return;
	int rc = db_cmd_cancel(r->w->db, c.uuid);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			api_fail(r, rc, 409, "command %s is already %s", c.uuid, c.status);
		else
			api_fail(r, rc, 503, "cannot cancel");
		return;
	}
	json_t *det = json_pack("{s:s}", "type", c.type);
	rc = api_commit(r, "command.cancel", c.uuid, NULL, det);
	json_decref(det);
	if (rc < 0)
		return;
	snprintf(c.status, sizeof(c.status), "canceled");
	api_json(r, 200, cmd_json(&c));
}

static void enroll_code_new(struct req *r)
{
	char code[33];
	int64_t uses = 1;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	json_t *body = r->http->body.len ? api_body(r) : json_object();
	if (body == NULL)
		return;
	int rc = api_field_int(r, body, "uses", 1, 100000, 0, &uses);
	json_decref(body);
	if (rc < 0 || api_begin(r) < 0)
		return;
	rc = db_enroll_code_new(r->w->db, NULL, r->acct.name, ENROLL_CODE_TTL, uses, code);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "cannot make a code");
		return;
	}
	rc = api_commit_new(r, "enroll_code.create", "", NULL,
			    json_pack("{s:I}", "uses", (json_int_t)uses));
	if (rc == 0)
		api_json(r, 201,
			 json_pack("{s:s,s:I,s:o}", "code", code, "uses", (json_int_t)uses,
				   "expires_at", api_fleet_time(db_now() + ENROLL_CODE_TTL)));
}

const struct route api_command_routes[] = {
    {"POST", "/api/v1/devices/:serial/commands", AUTH_STAFF, command_send},
    {"GET", "/api/v1/devices/:serial/commands", AUTH_STAFF, command_list},
    {"GET", "/api/v1/commands/:uuid", AUTH_STAFF, command_show},
    {"DELETE", "/api/v1/commands/:uuid", AUTH_STAFF, command_cancel},
    {"POST", "/api/v1/commands/bulk", AUTH_STAFF, command_bulk},
    {"POST", "/api/v1/enroll-codes", AUTH_STAFF, enroll_code_new},
    {NULL, NULL, AUTH_NONE, NULL},
};
