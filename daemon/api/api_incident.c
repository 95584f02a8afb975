/* api_incident.c - loss, theft, damage, failure: declare, close, list. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_device.h"
#include "db_incident.h"
#include "isodate.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

#define INCIDENT_PAGE_DEFAULT 1000
#define INCIDENT_PAGE_MAX     10000
/* an event time this far in the future is a typing error, not clock skew */
#define FUTURE_SLACK 600

json_t *api_incident_json(const struct db_incident *in)
{
	json_t *o =
	    json_pack("{s:I,s:s,s:o,s:s,s:o,s:o,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "id",
		      (json_int_t)in->id, "device", in->serial, "school",
		      in->school[0] ? json_string(in->school) : json_null(), "kind",
		      db_incident_kind_name(in->kind), "occurred", api_fleet_time(in->occurred_at),
		      "declared", api_fleet_time(in->declared_at), "late", in->late, "police_ref",
		      in->police_ref, "note", in->note, "previous_state", in->prev_state, "status",
		      in->open ? "open" : "closed", "outcome", in->outcome, "close_note",
		      in->close_note, "closed", api_fleet_time(in->closed_at), "declared_by",
		      in->declared_by, "closed_by", in->closed_by);
	json_object_set_new(o, "holder", in->holder[0] ? json_string(in->holder) : json_null());
	return o;
}

static int first_open(const struct db_incident *in, void *arg)
{
	*(struct db_incident *)arg = *in;
	return 1;
}

/* Why no incident can be declared on d now (409), or 0. */
static int declare_rules(struct req *r, const struct db_device *d, enum db_incident_kind k)
{
	struct db_incident_filter f = {NULL, 0, 1, d->id, 0, 1};
	struct db_incident open = {0};
	int64_t next;
	int rc = db_incident_list(r->w->db, &f, first_open, &open, &next);
	if (rc < 0)
		return api_dberr(r, rc, "reading incidents");
	if (open.id)
		return api_refuse(r, AP_ECONFLICT, 409,
				  "tablet %s already has open incident #%lld (%s): close it first",
				  api_device_name(d), (long long)open.id,
				  db_incident_kind_name(open.kind));
	if (!db_device_can(d->state, db_incident_state(k)))
		return api_refuse(r, AP_ECONFLICT, 409,
				  "tablet %s is %s: no incident can be declared",
				  api_device_name(d), db_device_state_name(d->state));
	return 0;
}

/* Reads the body of a declaration into its parts (400 on a bad one). */
static int declare_body(struct req *r, json_t *b, enum db_incident_kind *k, int64_t *occurred,
			const char **police, const char **note)
{
	const char *kind = NULL, *when = NULL;
	if (api_field_str(r, b, "kind", 16, 1, &kind) < 0 ||
	    api_field_str(r, b, "occurred", 32, 1, &when) < 0 ||
	    api_field_str(r, b, "police_ref", DB_INCIDENT_TEXT_MAX, 0, police) < 0 ||
	    api_field_str(r, b, "note", DB_INCIDENT_TEXT_MAX, 0, note) < 0)
		return AP_EINVAL;
	if (db_incident_kind_from_name(kind, k) < 0)
		return api_refuse(r, AP_EINVAL, 400, "kind must be loss, theft, damage or failure");
	if (isodate_parse_time(when, occurred) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "occurred: '%s' is not a date DD/MM/YYYY or YYYY-MM-DD nor a "
				  "time DD/MM/YYYY HH:MM or YYYY-MM-DDTHH:MM (local, or with Z or "
				  "+01:00)",
				  when);
	if (*occurred > db_now() + FUTURE_SLACK)
		return api_refuse(r, AP_EINVAL, 400, "occurred is in the future");
	if (*k == DB_INC_THEFT && (*police == NULL || (*police)[0] == '\0'))
		return api_refuse(r, AP_EMISSING, 400,
				  "a theft needs the police complaint reference (police_ref, "
				  "--police-ref)");
	return 0;
}

static void declare(struct req *r)
{
	const char *dev = NULL, *police = NULL, *note = NULL;
	enum db_incident_kind k;
	struct db_device d;
	struct db_incident in;
	int64_t occurred, id;
	int rc;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (api_field_str(r, b, "device", 64, 1, &dev) < 0 ||
	    api_device_find(r, AZ_INCIDENT, dev, &d) < 0 ||
	    declare_body(r, b, &k, &occurred, &police, &note) < 0 || declare_rules(r, &d, k) < 0 ||
	    api_begin(r) < 0)
		goto out;
	rc = db_incident_declare(r->w->db, d.id, k, occurred, police, note, r->acct.name, &id);
	if (rc == 0)
		rc = db_incident_get(r->w->db, id, &in);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			api_fail(r, rc, 409, "tablet %s changed meanwhile: try again",
				 api_device_name(&d));
		else
			api_dberr(r, rc, "declaring the incident");
		goto out;
	}
	json_t *o = api_incident_json(&in);
	if (api_commit(r, "incident.declare", api_device_name(&d), note, o) < 0) {
		json_decref(o);
		goto out;
	}
	if (in.late)
		json_object_set_new(o, "warning",
				    json_string("declared more than 48 h after the event: "
						"flagged late"));
	api_json(r, 201, o);
out:
	json_decref(b);
}

/* Finds incident :id and checks `action` on its collège. */
static int incident_param(struct req *r, enum authz_action action, struct db_incident *in)
{
	char *end;
	long long id = strtoll(api_param(r, 0), &end, 10);
	int rc = *end || id <= 0 ? AP_ENOTFOUND : db_incident_get(r->w->db, id, in);
	return api_allow_object(r, action, rc, rc == 0 ? in->school : NULL, "incident #%s",
				api_param(r, 0));
}

static void show(struct req *r)
{
	struct db_incident in;
	if (incident_param(r, AZ_READ, &in) == 0)
		api_json(r, 200, api_incident_json(&in));
}

static int close_rules(struct req *r, const struct db_incident *in, const char *outcome,
		       enum db_incident_outcome *o)
{
	if (!in->open)
		return api_refuse(r, AP_ECONFLICT, 409, "incident #%lld is already closed (%s)",
				  (long long)in->id, in->outcome);
	if (db_incident_outcome_from_name(outcome, o) < 0 ||
	    !db_incident_outcome_fits(in->kind, *o))
		return api_refuse(r, AP_EINVAL, 400, "outcome for a %s: %s or written_off",
				  db_incident_kind_name(in->kind),
				  in->kind == DB_INC_LOSS || in->kind == DB_INC_THEFT ? "found"
										      : "repaired");
	return 0;
}

static void close_incident(struct req *r)
{
	const char *outcome = NULL, *note = NULL;
	enum db_incident_outcome o;
	struct db_incident in;
	json_t *b = NULL;
	int rc;
	if (incident_param(r, AZ_INCIDENT, &in) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "outcome", 16, 1, &outcome) < 0 ||
	    api_field_str(r, b, "note", DB_INCIDENT_TEXT_MAX, 0, &note) < 0 ||
	    close_rules(r, &in, outcome, &o) < 0 || api_begin(r) < 0)
		goto out;
	rc = db_incident_close(r->w->db, in.id, o, note, r->acct.name);
	if (rc == 0)
		rc = db_incident_get(r->w->db, in.id, &in);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "closing the incident");
		goto out;
	}
	json_t *j = api_incident_json(&in);
	struct db_device d;
	if (db_device_get_id(r->w->db, in.device_id, &d) == 0)
		json_object_set_new(j, "device_state", json_string(db_device_state_name(d.state)));
	if (api_commit(r, "incident.close", in.serial, note, j) == 0)
		api_json(r, 200, j);
	else
		json_decref(j);
out:
	json_decref(b);
}

static int add_incident(const struct db_incident *in, void *arg)
{
	return json_array_append_new(arg, api_incident_json(in)) < 0;
}

static void list(struct req *r)
{
	struct db_incident_filter f = {NULL, 0, 0, 0, 0, INCIDENT_PAGE_DEFAULT};
	struct api_scope sc;
	char q[80];
	int64_t next = 0;
	json_t *a = json_array();
	if (api_fleet_scope(r, AZ_READ, &sc) < 0 ||
	    api_fleet_page(r, INCIDENT_PAGE_DEFAULT, INCIDENT_PAGE_MAX, &f.after_id, &f.limit) < 0)
		goto fail;
	f.only = sc.only;
	f.n_only = sc.n_only;
	f.open_only = api_fleet_flag(r, "open");
	if (api_query(r, "device", q, sizeof(q)) == 0 && q[0]) {
		struct db_device d;
		if (api_device_find(r, AZ_READ, q, &d) < 0)
			goto fail;
		f.device_id = d.id;
	}
	int rc = db_incident_list(r->w->db, &f, add_incident, a, &next);
	if (rc < 0) {
		api_dberr(r, rc, "listing incidents");
		goto fail;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "incidents", a, "next",
			   next ? json_integer((json_int_t)next) : json_null()));
	return;
fail:
	json_decref(a);
}

const struct route api_incident_routes[] = {
    {"GET", "/api/v1/incidents", AUTH_STAFF, list},
    {"POST", "/api/v1/incidents", AUTH_STAFF, declare},
    {"GET", "/api/v1/incidents/:id", AUTH_STAFF, show},
    {"POST", "/api/v1/incidents/:id/close", AUTH_STAFF, close_incident},
    {NULL, NULL, AUTH_NONE, NULL},
};
