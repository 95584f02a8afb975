/*
 * locate.c - the geolocation procedure: API, Lost Mode commands, fixes.
 *
 *   POST /api/v1/locate                 {"serial", "incident"|"authority_ref", "reason"}
 *   POST /api/v1/locate/:id/approve     [{"reason"}]
 *   POST /api/v1/locate/:id/deny        {"reason"}
 *   POST /api/v1/locate/:id/refresh
 *   POST /api/v1/locate/:id/close       {"outcome": "found"|"not_found"}
 *   GET  /api/v1/locate/:id             the request and its fixes (a recorded read)
 *   GET  /api/v1/locate?since=EPOCH     the register (technician, auditor)
 */
#include "locate.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "ap_result.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "db_audit.h"
#include "db_device.h"
#include "db_incident.h"
#include "db_locate.h"
#include "db_mdm.h"
#include "isodate.h"
#include "keystore.h"
#include "log.h"
#include "cmdq.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600
#define DAY  86400

static json_t *request_json(const struct db_locate *l)
{
	json_t *o = json_pack(
	    "{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:s,s:I,s:I}", "id", (json_int_t)l->id,
	    "serial", l->serial, "school", l->school, "reason", l->reason, "state", l->state,
	    "requested_by", l->requested_by, "requested_at", api_fleet_time(l->requested_at),
	    "decided_by", l->decided_by, "decided_at", api_fleet_time(l->decided_at), "expires_at",
	    api_fleet_time(l->expires_at), "closed_at", api_fleet_time(l->closed_at), "outcome",
	    l->outcome, "fixes", (json_int_t)l->fixes, "reads", (json_int_t)l->reads);
	json_object_set_new(o, "incident",
			    l->incident_id ? json_integer(l->incident_id) : json_null());
	json_object_set_new(o, "authority_ref", json_string(l->authority_ref));
	json_object_set_new(o, "deny_reason", json_string(l->deny_reason));
	json_object_set_new(o, "purge_after", api_fleet_time(l->purge_after));
	json_object_set_new(o, "purged_at", api_fleet_time(l->purged_at));
	return o;
}

/* The request of the path's id; answers 404 itself. */
static int request_for(struct req *r, struct db_locate *l)
{
	char *end;
	long long id = strtoll(api_param(r, 0), &end, 10);
	int rc = (*end || id <= 0) ? AP_ENOTFOUND : db_locate_get(r->w->db, id, l);
	if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no geolocation request %s", api_param(r, 0));
	else if (rc < 0)
		api_fail(r, rc, 503, "cannot read the register");
	return rc;
}

static int queue(struct req *r, int64_t device_id, enum ap_cmd_type t, plist_t params)
{
	char uuid[37], detail[160];
	struct cmd_order o = {.device_id = device_id,
			      .type = t,
			      .params = params,
			      .origin = "locate",
			      .requested_by = r->acct.name};
	int rc = cmdq_queue(r->w, &o, uuid, detail, sizeof(detail));
	if (rc < 0 && rc != AP_ECONFLICT)
		log_warn("locate_queue_failed", "id=%s type=%s error=\"%s\"", r->id, ap_cmd_name(t),
			 ap_strerror(rc));
	return rc == AP_ECONFLICT ? 0 : rc;
}

/* Approval done: Lost Mode with the collège's name, then a first fix. */
static int start_lost_mode(struct req *r, const struct db_locate *l)
{
	const struct config *c = &r->w->srv->cfg;
	char school[200] = "", msg[600];
	if (l->school[0])
		db_locate_school_name(r->w->db, l->school, school, sizeof(school));
	snprintf(msg, sizeof(msg), "%s%s%s", c->geo_message, school[0] ? " " : "", school);
	plist_t p = plist_new_dict();
	plist_dict_set_item(p, "Message", plist_new_string(msg));
	if (c->geo_phone[0])
		plist_dict_set_item(p, "PhoneNumber", plist_new_string(c->geo_phone));
	int rc = queue(r, l->device_id, AP_CMD_ENABLE_LOST_MODE, p);
	plist_free(p);
	if (rc == 0)
		rc = queue(r, l->device_id, AP_CMD_DEVICE_LOCATION, NULL);
	return rc;
}

/* api_commit() with the request's audit row. */
static int commit_request(struct req *r, const char *action, const struct db_locate *l,
			  const char *reason)
{
	return api_commit_new(r, action, l->serial, reason,
			      json_pack("{s:I}", "request", (json_int_t)l->id));
}

/* Decides l (approve: Lost Mode and a first fix queued) with its audit row
 * (action, reason) in one transaction; answers itself on failure (409
 * when l is no longer pending). */
static int decide(struct req *r, const struct db_locate *l, int approve, const char *why,
		  const char *action, const char *reason)
{
	int64_t expires = db_now() + r->w->srv->cfg.geo_expiry_hours * HOUR;
	int rc = api_begin(r);
	if (rc < 0)
		return rc;
	rc = db_locate_decide(r->w->db, l->id, approve, r->acct.name, why, expires);
	if (rc == 0 && approve) {
		struct db_locate now;
		rc = db_locate_get(r->w->db, l->id, &now);
		if (rc == 0)
			rc = start_lost_mode(r, &now);
	}
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			return api_refuse(r, rc, 409, "request %lld is %s, not pending",
					  (long long)l->id, l->state);
		return api_refuse(r, rc, 503, "cannot %s: %s", approve ? "approve" : "deny",
				  ap_strerror(rc));
	}
	return commit_request(r, action, l, reason);
}

static void answer_request(struct req *r, int status, int64_t id)
{
	struct db_locate l;
	if (db_locate_get(r->w->db, id, &l) < 0) {
		api_fail(r, AP_EDB, 503, "cannot read the register");
		return;
	}
	api_json(r, status, request_json(&l));
}

static void locate_request(struct req *r)
{
	const char *serial = NULL, *authority = NULL, *reason = NULL;
	int64_t incident = 0;
	struct db_device d;
	int64_t id;
	if (api_allow(r, AZ_LOCATE, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "serial", 64, 1, &serial) < 0 ||
	    api_field_str(r, body, "authority_ref", API_REASON_MAX, 0, &authority) < 0 ||
	    api_field_str(r, body, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    api_field_int(r, body, "incident", 0, INT64_MAX, 0, &incident) < 0)
		goto out;
	if (reason == NULL || reason[0] == '\0') {
		api_fail(r, AP_EMISSING, 400, "a reason is required: geolocation is exceptional");
		goto out;
	}
	/* by serial, or by the asset tag on its label (answers itself) */
	if (api_tablet_serial(r, AZ_LOCATE, serial, &d) < 0)
		goto out;
	serial = d.serial;
	int rc;
	if (incident > 0 && db_locate_incident_ok(r->w->db, d.id, incident) < 0) {
		api_fail(
		    r, AP_ECONFLICT, 409,
		    "incident %lld is not an open loss or theft of tablet %s: geolocation refused",
		    (long long)incident, serial);
		goto out;
	}
	if (incident <= 0 && (authority == NULL || authority[0] == '\0')) {
		api_fail(
		    r, AP_ECONFLICT, 409,
		    "geolocation needs an open loss/theft incident (--incident) or the reference "
		    "of a written request from the authorities (--authority-ref)");
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	if ((rc = db_locate_create(r->w->db, d.id, incident, incident > 0 ? "" : authority, reason,
				   r->acct.name, &id)) < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "cannot record the request");
		goto out;
	}
	json_t *det = json_pack("{s:I,s:I,s:s}", "request", (json_int_t)id, "incident",
				(json_int_t)incident, "authority_ref", authority ? authority : "");
	rc = api_commit(r, "locate.request", serial, reason, det);
	json_decref(det);
	if (rc < 0)
		goto out;
	if (strcmp(r->w->srv->cfg.geo_approval, "single") == 0) {
		struct db_locate l;
		/* when it fails the request stays pending, answered as it is */
		if (db_locate_get(r->w->db, id, &l) == 0)
			decide(r, &l, 1, "", "locate.approve", "single approval configured");
	}
	answer_request(r, 201, id);
out:
	json_decref(body);
}

/* The two-person rule needs two people, not two tokens in one hand.  The
 * approver is not the requester; its token was not issued by the
 * requester (account create, token rotation: the issuer saw the token, and
 * rotating it oneself needs the old one), until a third technician rotates
 * it; and a token another account issued cannot approve for a day (the
 * audit log's account.create / token.rotate rows stay in view first). */
static int second_person(struct req *r, const struct db_locate *l)
{
	const char *why = NULL;
	if (strcmp(l->requested_by, r->acct.name) == 0)
		why = "the requester cannot approve their own geolocation request: a second "
		      "technician must";
	else if (strcmp(r->acct.token_by, l->requested_by) == 0)
		why = "this account's token was issued by the requester: another technician must "
		      "rotate it before it approves the requester's requests";
	else if (r->acct.token_by[0] && r->acct.token_at > db_now() - DAY)
		why = "this account's token was issued by another account less than 24 h ago: it "
		      "cannot approve a geolocation request yet";
	if (why)
		api_fail(r, AP_EFORBIDDEN, 403, "%s", why);
	return why ? AP_EFORBIDDEN : 0;
}

/* Body optional: {"reason"}, the approver's own, in the audit row. */
static void locate_approve(struct req *r)
{
	struct db_locate l;
	const char *why = NULL;
	json_t *body;
	if (api_allow(r, AZ_LOCATE, NULL) < 0 || request_for(r, &l) < 0 || second_person(r, &l) < 0)
		return;
	if ((body = r->http->body.len ? api_body(r) : json_object()) == NULL)
		return;
	if (api_field_str(r, body, "reason", API_REASON_MAX, 0, &why) == 0 &&
	    decide(r, &l, 1, "", "locate.approve", why) == 0)
		answer_request(r, 200, l.id);
	json_decref(body);
}

static void locate_deny(struct req *r)
{
	struct db_locate l;
	const char *why = NULL;
	json_t *body;
	if (api_allow(r, AZ_LOCATE, NULL) < 0 || request_for(r, &l) < 0 ||
	    (body = api_body(r)) == NULL)
		return;
	if (api_field_str(r, body, "reason", API_REASON_MAX, 1, &why) == 0 &&
	    decide(r, &l, 0, why, "locate.deny", why) == 0)
		answer_request(r, 200, l.id);
	json_decref(body);
}

static void locate_refresh(struct req *r)
{
	struct db_locate l;
	if (api_allow(r, AZ_LOCATE, NULL) < 0 || request_for(r, &l) < 0)
		return;
	if (strcmp(l.state, "approved") != 0 || l.expires_at <= db_now()) {
		api_fail(r, AP_ECONFLICT, 409, "request %lld is %s: no new location may be asked",
			 (long long)l.id,
			 l.expires_at <= db_now() && !strcmp(l.state, "approved")
			     ? "past its time box"
			     : l.state);
		return;
	}
	char uuid[37];
	if (api_begin(r) < 0)
		return;
	struct cmd_order o = {.device_id = l.device_id,
			      .type = AP_CMD_DEVICE_LOCATION,
			      .origin = "locate",
			      .requested_by = r->acct.name};
	int rc = api_queue(r, &o, NULL, uuid);
	if (rc < 0)
		return;
	if (commit_request(r, "locate.refresh", &l, NULL) == 0)
		answer_request(r, 200, l.id);
}

static void locate_close(struct req *r)
{
	struct db_locate l;
	static const char *const outcomes[] = {"found", "not_found", NULL};
	int found = -1;
	json_t *body;
	if (api_allow(r, AZ_LOCATE, NULL) < 0 || request_for(r, &l) < 0 ||
	    (body = api_body(r)) == NULL)
		return;
	if (api_field_enum(r, body, "outcome", outcomes, 1, &found) < 0)
		goto out;
	const char *outcome = outcomes[found];
	int64_t purge = db_now() + r->w->srv->cfg.geo_retention_days * DAY;
	if (api_begin(r) < 0)
		goto out;
	int rc = db_locate_close(r->w->db, l.id, outcome, purge);
	if (rc == 0 && found == 0)
		rc = queue(r, l.device_id, AP_CMD_DISABLE_LOST_MODE, NULL);
	if (rc < 0)
		api_rollback(r);
	if (rc == AP_ECONFLICT) {
		api_fail(r, rc, 409,
			 "request %lld is %s: only an approved or expired request closes",
			 (long long)l.id, l.state);
		goto out;
	}
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot close: %s", ap_strerror(rc));
		goto out;
	}
	if (commit_request(r, "locate.close", &l, outcome) == 0)
		answer_request(r, 200, l.id);
out:
	json_decref(body);
}

struct ended {
	struct req *r;
	const struct db_incident *in;
	json_t *list;
	int rc;
};

/* One request of a found tablet's incident, ended by its own transition. */
static int end_request(const struct db_locate *l, void *arg)
{
	struct ended *e = arg;
	struct req *r = e->r;
	char why[96];
	const char *action = NULL, *to = NULL;
	snprintf(why, sizeof(why), "incident #%lld closed: tablet found", (long long)e->in->id);
	if (strcmp(l->state, "pending") == 0) {
		e->rc = db_locate_decide(r->w->db, l->id, 0, r->acct.name, why, 0);
		action = "locate.deny";
		to = "denied";
	} else if (strcmp(l->state, "approved") == 0 || strcmp(l->state, "expired") == 0) {
		int64_t purge = db_now() + r->w->srv->cfg.geo_retention_days * DAY;
		e->rc = db_locate_close(r->w->db, l->id, "found", purge);
		action = "locate.close";
		to = "closed";
	}
	if (action == NULL || e->rc < 0)
		return e->rc < 0;
	json_t *det =
	    json_pack("{s:I,s:I}", "request", (json_int_t)l->id, "incident", (json_int_t)e->in->id);
	char *text = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(det);
	e->rc = text ? db_audit_append(r->w->db, r->acct.name, action, l->serial, why, text)
		     : AP_ENOMEM;
	free(text);
	json_array_append_new(e->list, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)l->id, "from",
						 l->state, "state", to));
	return e->rc < 0;
}

/* Lost Mode of the found tablet: "off", "ending" or "on" (cannot end it
 * from here), with what remains said in still. */
static int end_lost_mode(struct req *r, const struct db_incident *in, const char **ret,
			 json_t *still)
{
	enum db_lost_mode lm;
	struct db_device d;
	int rc = db_locate_lost_mode(r->w->db, in->device_id, &lm);
	if (rc == 0)
		rc = db_device_get_id(r->w->db, in->device_id, &d);
	if (rc < 0)
		return rc;
	if (lm == DB_LOST_MODE_ON && strcmp(d.enrollment, "enrolled") != 0) {
		*ret = "on";
		json_array_append_new(still,
				      json_string("Lost Mode stays on: the tablet is no longer "
						  "enrolled, end it on the tablet itself"));
		return 0;
	}
	if (lm == DB_LOST_MODE_ON)
		rc = queue(r, in->device_id, AP_CMD_DISABLE_LOST_MODE, NULL);
	if (rc == AP_ELIMIT) { /* a refusal that wrote nothing */
		*ret = "on";
		json_array_append_new(still,
				      json_string("Lost Mode stays on: the tablet's command "
						  "queue is full, end it once it has emptied"));
		return 0;
	}
	if (rc < 0)
		return rc;
	*ret = lm == DB_LOST_MODE_OFF ? "off" : "ending";
	if (lm != DB_LOST_MODE_OFF)
		json_array_append_new(still, json_string("Lost Mode will end when the tablet next "
							 "checks in (DisableLostMode queued)"));
	return 0;
}

int locate_end_for_incident(struct req *r, const struct db_incident *in, json_t *answer)
{
	struct ended e = {r, in, json_array(), 0};
	json_t *still = json_array();
	const char *lm = "off";
	int rc = db_locate_of_incident(r->w->db, in->id, end_request, &e);
	if (rc == 0)
		rc = e.rc;
	if (rc == 0)
		rc = end_lost_mode(r, in, &lm, still);
	if (rc < 0) {
		json_decref(e.list);
		json_decref(still);
		return rc;
	}
	json_object_set_new(answer, "geolocation", e.list);
	json_object_set_new(answer, "lost_mode", json_string(lm));
	json_object_set_new(answer, "still_open", still);
	return 0;
}

struct fixes {
	struct req *r;
	const struct db_locate *l;
	json_t *arr;
	int failed;
};

static int add_fix(int64_t taken_at, const unsigned char *sealed, size_t len, void *arg)
{
	struct fixes *f = arg;
	unsigned char *plain = NULL;
	size_t n = 0;
	char aad[48];
	snprintf(aad, sizeof(aad), "locate:%lld", (long long)f->l->id);
	if (keystore_unseal(f->r->w->srv->ks, KEYSTORE_LOCATION, aad, sealed, len, &plain, &n) <
	    0) {
		f->failed++;
		return 0;
	}
	json_t *fix = json_loadb((const char *)plain, n, 0, NULL);
	free(plain);
	if (fix == NULL) {
		f->failed++;
		return 0;
	}
	json_object_set_new(fix, "received_at", api_fleet_time(taken_at));
	json_array_append_new(f->arr, fix);
	return 0;
}

static void locate_show(struct req *r)
{
	struct db_locate l;
	if (api_allow(r, AZ_LOCATE, NULL) < 0 || request_for(r, &l) < 0)
		return;
	struct fixes f = {r, &l, json_array(), 0};
	if (api_begin(r) < 0) {
		json_decref(f.arr);
		return;
	}
	int rc = db_locate_fixes(r->w->db, l.id, add_fix, &f);
	if (rc < 0) {
		api_rollback(r);
		json_decref(f.arr);
		api_fail(r, rc, 503, "cannot read the fixes");
		return;
	}
	/* every read of a location is itself recorded, or not shown */
	json_t *det = json_pack("{s:I,s:I}", "request", (json_int_t)l.id, "fixes",
				(json_int_t)json_array_size(f.arr));
	rc = api_commit(r, "locate.read", l.serial, NULL, det);
	json_decref(det);
	if (rc < 0) {
		json_decref(f.arr);
		return;
	}
	db_locate_get(r->w->db, l.id, &l);
	json_t *o = request_json(&l);
	json_object_set_new(o, "locations", f.arr);
	api_json(r, 200, o);
}

static int add_row(const struct db_locate *l, void *arg)
{
	json_array_append_new(arg, request_json(l));
	return 0;
}

static void locate_register(struct req *r)
{
	char since[48];
	int64_t s = 0;
	if (api_allow(r, AZ_AUDIT, NULL) < 0)
		return;
	if (api_query(r, "since", since, sizeof(since)) == 0) {
		/* a day or a time as typed (isodate), or epoch seconds (the pages) */
		char *end;
		long long n = strtoll(since, &end, 10);
		if (since[0] && !*end && n >= 0)
			s = n;
		else if (isodate_parse_time(since, &s) < 0) {
			api_fail(r, AP_EINVAL, 400,
				 "since must be a day DD/MM/YYYY or YYYY-MM-DD, a time, or epoch "
				 "seconds");
			return;
		}
	}
	json_t *a = json_array();
	int rc = db_locate_list(r->w->db, s, add_row, a);
	if (rc < 0) {
		json_decref(a);
		api_fail(r, rc, 503, "cannot read the register");
		return;
	}
	if (api_record(r, "locate.register_read", "", NULL, NULL) < 0) {
		json_decref(a);
		return;
	}
	api_json(r, 200, a);
}

int locate_on_fix(struct worker *w, const struct cmdq_result *res)
{
	const struct db_device *d = res->device;
	struct db_locate l;
	struct ap_location loc;
	unsigned char *sealed = NULL;
	size_t len = 0;
	char aad[48];
	int rc = db_locate_active(w->db, d->id, &l);
	if (rc == AP_ENOTFOUND) {
		log_warn("locate_fix_dropped", "device=%lld reason=no_active_request",
			 (long long)d->id);
		return 0; /* not kept: no request covers it */
	}
	if (rc < 0)
		return rc;
	if ((rc = ap_result_location(res->dict, &loc)) < 0)
		return rc;
	json_t *o = json_pack("{s:f,s:f,s:f,s:s}", "latitude", loc.latitude, "longitude",
			      loc.longitude, "horizontal_accuracy", loc.horizontal_accuracy,
			      "timestamp", loc.timestamp ? loc.timestamp : "");
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ap_location_clear(&loc);
	if (text == NULL)
		return AP_ENOMEM;
	snprintf(aad, sizeof(aad), "locate:%lld", (long long)l.id);
	rc = keystore_seal(w->srv->ks, KEYSTORE_LOCATION, aad, text, strlen(text), &sealed, &len);
	free(text);
	if (rc == 0)
		rc = db_locate_add_fix(w->db, l.id, sealed, len);
	free(sealed);
	if (rc == 0)
		log_info("locate_fix", "request=%lld device=%lld", (long long)l.id,
			 (long long)d->id);
	return rc;
}

int locate_job_expire(struct worker *w)
{
	int64_t n = 0;
	int rc = db_begin(w->db);
	if (rc < 0)
		return rc;
	rc = db_locate_expire(w->db, db_now(), w->srv->cfg.geo_retention_days * DAY, &n);
	if (rc == 0 && n > 0)
		rc = db_audit_append(w->db, "system", "locate.expire", "", "time box over", "");
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	if ((rc = db_commit(w->db)) == 0 && n > 0)
		log_info("locate_expired", "count=%lld", (long long)n);
	return rc;
}

int locate_job_purge(struct worker *w)
{
	int64_t n = 0;
	int rc = db_begin(w->db);
	if (rc < 0)
		return rc;
	rc = db_locate_purge(w->db, db_now(), &n);
	if (rc == 0 && n > 0) /* the purge and its row, together */
		rc = db_audit_append(w->db, "system", "locate.purge", "", "retention period over",
				     "");
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	if ((rc = db_commit(w->db)) == 0 && n > 0)
		log_info("locate_purged", "requests=%lld", (long long)n);
	return rc;
}

const struct route api_locate_routes[] = {
    {"POST", "/api/v1/locate", AUTH_STAFF, locate_request},
    {"GET", "/api/v1/locate", AUTH_STAFF, locate_register},
    {"POST", "/api/v1/locate/:id/approve", AUTH_STAFF, locate_approve},
    {"POST", "/api/v1/locate/:id/deny", AUTH_STAFF, locate_deny},
    {"POST", "/api/v1/locate/:id/refresh", AUTH_STAFF, locate_refresh},
    {"POST", "/api/v1/locate/:id/close", AUTH_STAFF, locate_close},
    {"GET", "/api/v1/locate/:id", AUTH_STAFF, locate_show},
    {NULL, NULL, AUTH_NONE, NULL},
};
