/* api_incident.c - loss, theft, damage, failure: declare, update, close, list. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_device.h"
#include "db_incident.h"
#include "isodate.h"
#include "locate.h"
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
	json_object_set_new(o, "reported", api_fleet_time(in->reported_at));
	json_object_set_new(o, "complaint_date", api_fleet_day(in->complaint_at));
	json_object_set_new(o, "complaint_missing", json_boolean(in->complaint_missing));
	json_object_set_new(o, "complaint_overdue", json_boolean(in->complaint_overdue));
	json_object_set_new(o, "cost_cents",
			    in->has_cost ? json_integer((json_int_t)in->cost_cents) : json_null());
	json_object_set_new(o, "reimburse", json_boolean(in->reimburse));
	return o;
}

/* An amount in euros as staff type it: "45", "45,5", "45,50" or "45.50"
 * (a comma or a dot, at most two decimals), a trailing " €" allowed, at
 * most DB_INCIDENT_COST_MAX cents; into *ret cents.  AP_EINVAL when it is
 * anything else (a sign, a letter, three decimals, too much). */
static int parse_cost(const char *s, int64_t *ret)
{
	int64_t euros = 0, cents = 0;
	size_t i = 0, ndec = 0, nint = 0;
	for (; s[i] >= '0' && s[i] <= '9' && nint < 9; i++, nint++)
		euros = euros * 10 + (s[i] - '0');
	if (nint == 0)
		return AP_EINVAL;
	if (s[i] == ',' || s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9' && ndec < 3; i++, ndec++)
			cents = cents * 10 + (s[i] - '0');
	if ((s[nint] == ',' || s[nint] == '.') && (ndec == 0 || ndec > 2))
		return AP_EINVAL;
	if (ndec == 1)
		cents *= 10;
	if (s[i] == ' ')
		i++;
	if (strcmp(s + i, "€") == 0)
		i += strlen("€");
	if (s[i] != '\0' || euros * 100 + cents > DB_INCIDENT_COST_MAX)
		return AP_EINVAL;
	*ret = euros * 100 + cents;
	return 0;
}

/* "cost" of body into *has / *cents ("" or null: none); 400 when it is
 * not an amount. */
static int cost_field(struct req *r, json_t *b, int *has, int64_t *cents)
{
	const char *text = NULL;
	if (api_field_str(r, b, "cost", 32, 0, &text) < 0)
		return AP_EINVAL;
	*has = text && text[0];
	if (*has && parse_cost(text, cents) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "cost: '%s' is not an amount in euros from 0 to 100000 with at "
				  "most two decimals (45,50 or 45.50)",
				  text);
	return 0;
}

/* When the family told the collège, from the text of "reported" (a time
 * as typed; a day alone is that day's start, but the event's time on the
 * event's own day and now today), checked against the event and now. */
static int reported_field(struct req *r, const char *text, int64_t occurred, int64_t *ret)
{
	int64_t t, now = db_now();
	if (isodate_parse_time(text, &t) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "reported: '%s' is not a date YYYY-MM-DD or a time "
				  "YYYY-MM-DDTHH:MM",
				  text);
	if (isodate_parse_day(text, &t) == 0) {
		if (t == isodate_day_start(now))
			t = now;
		else if (t == isodate_day_start(occurred))
			t = occurred;
	}
	if (t > now + FUTURE_SLACK)
		return api_refuse(r, AP_EINVAL, 400, "reported is in the future");
	if (t < occurred)
		return api_refuse(r, AP_EINVAL, 400,
				  "reported is before the event (occurred): the family cannot "
				  "have told the collège before it happened");
	*ret = t;
	return 0;
}

/* The day of the police complaint, checked against the event and now. */
static int complaint_field(struct req *r, const char *text, int64_t occurred, int64_t *ret)
{
	int64_t t;
	if (isodate_parse_day(text, &t) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "complaint_date: '%s' is not a date YYYY-MM-DD", text);
	if (t > db_now())
		return api_refuse(r, AP_EINVAL, 400, "complaint_date is in the future");
	if (t < isodate_day_start(occurred))
		return api_refuse(r, AP_EINVAL, 400,
				  "complaint_date is before the event (occurred)");
	*ret = t;
	return 0;
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

/* Cost and reimbursement are a damage's (declare and update). */
static int damage_only(struct req *r, enum db_incident_kind k, int has_cost, int reimburse)
{
	if ((has_cost || reimburse) && k != DB_INC_DAMAGE)
		return api_refuse(r, AP_EINVAL, 400,
				  "cost and reimburse are for a damage, not a %s",
				  db_incident_kind_name(k));
	return 0;
}

/* Reads the body of a declaration into *d (400 on a bad one). */
static int declare_body(struct req *r, json_t *b, struct db_incident_decl *d)
{
	const char *kind = NULL, *when = NULL, *reported = NULL, *complaint = NULL;
	if (api_field_str(r, b, "kind", 16, 1, &kind) < 0 ||
	    api_field_str(r, b, "occurred", 32, 1, &when) < 0 ||
	    api_field_str(r, b, "reported", 32, 0, &reported) < 0 ||
	    api_field_str(r, b, "police_ref", DB_INCIDENT_TEXT_MAX, 0, &d->police_ref) < 0 ||
	    api_field_str(r, b, "complaint_date", 32, 0, &complaint) < 0 ||
	    api_field_str(r, b, "note", DB_INCIDENT_TEXT_MAX, 0, &d->note) < 0 ||
	    cost_field(r, b, &d->has_cost, &d->cost_cents) < 0 ||
	    api_field_bool(r, b, "reimburse", &d->reimburse) < 0)
		return AP_EINVAL;
	if (db_incident_kind_from_name(kind, &d->kind) < 0)
		return api_refuse(r, AP_EINVAL, 400, "kind must be loss, theft, damage or failure");
	if (isodate_parse_time(when, &d->occurred_at) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "occurred: '%s' is not a date DD/MM/YYYY or YYYY-MM-DD nor a "
				  "time DD/MM/YYYY HH:MM or YYYY-MM-DDTHH:MM (local, or with Z or "
				  "+01:00)",
				  when);
	if (d->occurred_at > db_now() + FUTURE_SLACK)
		return api_refuse(r, AP_EINVAL, 400, "occurred is in the future");
	d->reported_at = db_now() > d->occurred_at ? db_now() : d->occurred_at;
	if (reported && reported[0] &&
	    reported_field(r, reported, d->occurred_at, &d->reported_at) < 0)
		return AP_EINVAL;
	if (complaint && complaint[0] &&
	    complaint_field(r, complaint, d->occurred_at, &d->complaint_at) < 0)
		return AP_EINVAL;
	return damage_only(r, d->kind, d->has_cost, d->reimburse);
}

static void declare(struct req *r)
{
	const char *dev = NULL;
	struct db_incident_decl decl = {.actor = r->acct.name};
	struct db_device d;
	struct db_incident in;
	int64_t id;
	int rc;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (api_field_str(r, b, "device", 64, 1, &dev) < 0 ||
	    api_device_find(r, AZ_INCIDENT, dev, &d) < 0 || declare_body(r, b, &decl) < 0 ||
	    declare_rules(r, &d, decl.kind) < 0 || api_begin(r) < 0)
		goto out;
	decl.device_id = d.id;
	rc = db_incident_declare_with(r->w->db, &decl, &id);
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
	if (api_commit(r, "incident.declare", api_device_name(&d), decl.note, o) < 0) {
		json_decref(o);
		goto out;
	}
	if (in.late)
		json_object_set_new(o, "warning",
				    json_string("reported to the collège more than 48 h after the "
						"event: flagged late"));
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
	if (o == DB_INC_FOUND && (rc = locate_end_for_incident(r, &in, j)) < 0) {
		api_rollback(r);
		json_decref(j);
		api_dberr(r, rc, "ending Lost Mode and the geolocation request");
		goto out;
	}
	if (api_commit(r, "incident.close", in.serial, note, j) == 0)
		api_json(r, 200, j);
	else
		json_decref(j);
out:
	json_decref(b);
}

/* The change a body asks of incident in, read and checked into *c; what
 * changes, before and after, into changes (for the audit row and the
 * answer). */
static int update_body(struct req *r, json_t *b, const struct db_incident *in,
		       struct db_incident_change *c, json_t *changes)
{
	const char *police = NULL, *complaint = NULL, *reported = NULL;
	if (api_field_str(r, b, "police_ref", DB_INCIDENT_TEXT_MAX, 0, &police) < 0 ||
	    api_field_str(r, b, "complaint_date", 32, 0, &complaint) < 0 ||
	    api_field_str(r, b, "reported", 32, 0, &reported) < 0 ||
	    cost_field(r, b, &c->has_cost, &c->cost_cents) < 0 ||
	    api_field_bool(r, b, "reimburse", &c->reimburse) < 0)
		return AP_EINVAL;
	if (police && police[0] == '\0')
		return api_refuse(r, AP_EINVAL, 400, "police_ref cannot be emptied");
	if ((c->set_police_ref = police != NULL))
		c->police_ref = police;
	if ((c->set_complaint_at = complaint != NULL) &&
	    complaint_field(r, complaint, in->occurred_at, &c->complaint_at) < 0)
		return AP_EINVAL;
	if ((c->set_reported_at = reported != NULL) &&
	    reported_field(r, reported, in->occurred_at, &c->reported_at) < 0)
		return AP_EINVAL;
	c->set_cost = json_object_get(b, "cost") != NULL;
	c->set_reimburse = json_is_boolean(json_object_get(b, "reimburse"));
	if (damage_only(r, in->kind, c->set_cost && c->has_cost, c->set_reimburse && c->reimburse) <
	    0)
		return AP_EINVAL;
	if (c->set_police_ref)
		json_object_set_new(changes, "police_ref",
				    json_pack("{s:s,s:s}", "from", in->police_ref, "to", police));
	if (c->set_complaint_at)
		json_object_set_new(changes, "complaint_date",
				    json_pack("{s:o,s:o}", "from", api_fleet_day(in->complaint_at),
					      "to", api_fleet_day(c->complaint_at)));
	if (c->set_reported_at)
		json_object_set_new(changes, "reported",
				    json_pack("{s:o,s:o}", "from", api_fleet_time(in->reported_at),
					      "to", api_fleet_time(c->reported_at)));
	if (c->set_cost)
		json_object_set_new(
		    changes, "cost_cents",
		    json_pack("{s:o,s:o}", "from",
			      in->has_cost ? json_integer(in->cost_cents) : json_null(), "to",
			      c->has_cost ? json_integer(c->cost_cents) : json_null()));
	if (c->set_reimburse)
		json_object_set_new(
		    changes, "reimburse",
		    json_pack("{s:b,s:b}", "from", in->reimburse, "to", c->reimburse));
	return 0;
}

/* A reason is asked when the report's time changes (the late flag
 * follows it), and something must change. */
static int update_rules(struct req *r, const struct db_incident_change *c, json_t *changes,
			const char *reason)
{
	if (json_object_size(changes) == 0)
		return api_refuse(r, AP_EMISSING, 400,
				  "nothing to change: give police_ref, complaint_date, reported, "
				  "cost or reimburse");
	if (c->set_reported_at && (reason == NULL || reason[0] == '\0'))
		return api_refuse(r, AP_EMISSING, 400,
				  "correcting reported needs a reason (--reason): it decides "
				  "whether the incident is late");
	return 0;
}

/* POST /api/v1/incidents/:id/update {"police_ref", "complaint_date",
 * "reported", "cost", "reimburse", "reason"}: what a declaration could not
 * say yet, or said wrong; open or closed incidents alike. */
static void update(struct req *r)
{
	const char *reason = NULL;
	struct db_incident_change c = {0};
	struct db_incident in;
	json_t *b = NULL, *changes = json_object();
	int was_late;
	if (incident_param(r, AZ_INCIDENT, &in) < 0 || (b = api_body(r)) == NULL)
		goto out;
	was_late = in.late;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    update_body(r, b, &in, &c, changes) < 0 || update_rules(r, &c, changes, reason) < 0 ||
	    api_begin(r) < 0)
		goto out;
	int rc = db_incident_update(r->w->db, in.id, &c);
	if (rc == 0)
		rc = db_incident_get(r->w->db, in.id, &in);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "updating the incident");
		goto out;
	}
	if (in.late != was_late)
		json_object_set_new(changes, "late",
				    json_pack("{s:b,s:b}", "from", was_late, "to", in.late));
	json_t *det = json_pack("{s:I,s:O}", "incident", (json_int_t)in.id, "changes", changes);
	rc = api_commit_new(r, "incident.update", in.serial, reason, det);
	if (rc == 0) {
		json_t *j = api_incident_json(&in);
		json_object_set(j, "changes", changes);
		api_json(r, 200, j);
	}
out:
	json_decref(changes);
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
	f.complaint_missing = api_fleet_flag(r, "complaint_missing");
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
    {"POST", "/api/v1/incidents/:id/update", AUTH_STAFF, update},
    {NULL, NULL, AUTH_NONE, NULL},
};
