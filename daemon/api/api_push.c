/*
 * api_push.c - staff routes for APNs pushes.
 *
 *   POST /api/v1/devices/:serial/push   push one tablet now       (AZ_DEVICE_ACTION)
 *   POST /api/v1/push                   {"school": UAI} | {"all": true}
 *                                       push every enrolled tablet (AZ_DEVICE_ACTION
 *                                       for a collège, AZ_ADMIN for the fleet)
 *   GET  /api/v1/push/status            certificate, connection, counters,
 *                                       invalid tokens            (AZ_READ_FLEET)
 *
 * A push request is a hand-off to the push thread: the answer (202) says it
 * was accepted, not that APNs took it; status and the device's push_state
 * tell the rest.
 */
#include "ap_err.h"
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "apns.h"
#include "authz.h"
#include "db_mdm.h"
#include "push.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define INVALID_SAMPLE 20
#define DAY	       86400

/* UAI: 7 digits and the check letter "ABCDEFGHJKLMNPRSTUVWXYZ"[n % 23]. */
static int uai_valid(const char *s)
{
	long n = 0;
	if (strlen(s) != 8)
		return 0;
	for (int i = 0; i < 7; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	return s[7] == "ABCDEFGHJKLMNPRSTUVWXYZ"[n % 23];
}

/* Answers 503 and returns non-zero when push cannot be used now. */
static int push_unavailable(struct req *r)
{
	struct push_status st;
	push_status_get(r->w->srv, &st);
	if (!st.enabled) {
		api_fail(r, AP_EUNSUPPORTED, 503,
			 "push is off: set [push] cert (and key) in the configuration");
		return 1;
	}
	if (!st.usable) {
		api_fail(r, AP_EUNSUPPORTED, 503, "push certificate problem: %s", st.cert_error);
		return 1;
	}
	return 0;
}

/* 409 when the tablet cannot be pushed, naming why. */
static int device_pushable(struct req *r, const struct db_device *d)
{
	if (strcmp(d->enrollment, "enrolled") != 0 || d->push_token_len == 0)
		return api_refuse(r, AP_ECONFLICT, 409,
				  "tablet %s is not enrolled (%s): it has no push token", d->serial,
				  d->enrollment);
	if (d->push_state[0])
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "APNs refused the push token of tablet %s (%s): it must check in again "
		    "(TokenUpdate) before it can be pushed",
		    d->serial, d->push_state);
	struct push_status st;
	push_status_get(r->w->srv, &st);
	if (strcmp(d->topic, st.topic) != 0)
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "tablet %s was enrolled for topic %s, the push certificate is for %s: it "
		    "must enrol again",
		    d->serial, d->topic, st.topic);
	return 0;
}

static void device_push(struct req *r)
{
	struct db_device d;
	if (api_tablet(r, AZ_DEVICE_ACTION, &d) < 0 || push_unavailable(r) ||
	    device_pushable(r, &d) < 0)
		return;
	/* a push changes nothing stored: its row is written first, and no
	 * push is asked without it */
	if (api_begin(r) < 0)
		return;
	int rc = push_request(r->w->srv, d.id, 1);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "the push queue is full: try again in a moment");
		return;
	}
	if (api_commit(r, "device.push", d.serial, NULL, NULL) < 0)
		return;
	api_json(r, 202,
		 json_pack("{s:s,s:b,s:s,s:o,s:o}", "serial", d.serial, "requested", 1,
			   "push_state", d.push_state, "last_push", api_fleet_time(d.last_push),
			   "last_seen", api_fleet_time(d.last_seen)));
}

struct many {
	struct server *srv;
	json_int_t requested, dropped;
};

static int request_one(int64_t device_id, void *arg)
{
	struct many *m = arg;
	if (push_request(m->srv, device_id, 1) == 0)
		m->requested++;
	else
		m->dropped++;
	return 0;
}

/* Every enrolled tablet of a collège, or of the fleet, pushed now. */
static void push_many(struct req *r)
{
	const char *school = NULL;
	int all = 0;
	struct many m = {r->w->srv, 0, 0};
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "school", 64, 0, &school) < 0 ||
	    api_field_bool(r, body, "all", &all) < 0)
		goto out;
	if (!school == !all) {
		api_fail(r, AP_EINVAL, 400, "expected {\"school\": UAI} or {\"all\": true}");
		goto out;
	}
	if (school && !uai_valid(school)) {
		api_fail(r, AP_EINVAL, 400, "'%s' is not a UAI (7 digits and their check letter)",
			 school);
		goto out;
	}
	if (api_allow(r, all ? AZ_ADMIN : AZ_DEVICE_ACTION, school) < 0 || push_unavailable(r))
		goto out;
	if (api_begin(r) < 0)
		goto out;
	int rc = db_mdm_each_enrolled(r->w->db, school, request_one, &m);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "cannot list the tablets: %s", ap_strerror(rc));
		goto out;
	}
	if (api_commit_new(
		r, school ? "push.school" : "push.fleet", school ? school : "fleet", NULL,
		json_pack("{s:I,s:I}", "requested", m.requested, "dropped", m.dropped)) < 0)
		goto out;
	api_json(r, 202,
		 json_pack("{s:s?,s:I,s:I}", "school", school, "requested", m.requested, "dropped",
			   m.dropped));
out:
	json_decref(body);
}

static int add_invalid(const char *serial, const char *state, int64_t last_push, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:o}", "serial", serial ? serial : "",
					     "push_state", state ? state : "", "last_push",
					     api_fleet_time(last_push)));
	return 0;
}

static json_t *counters_json(const struct push_status *st)
{
	json_t *by = json_object(), *o;
	for (size_t i = 0;
	     i < st->n_reasons && i < sizeof(st->by_reason) / sizeof(st->by_reason[0]); i++)
		if (st->by_reason[i])
			json_object_set_new(by, apns_reason_name(i),
					    json_integer((json_int_t)st->by_reason[i]));
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "notified",
		      (json_int_t)st->notified, "coalesced", (json_int_t)st->coalesced, "dropped",
		      (json_int_t)st->dropped, "skipped", (json_int_t)st->skipped, "sent",
		      (json_int_t)st->sent, "failed", (json_int_t)st->failed, "retried",
		      (json_int_t)st->retried, "invalidated", (json_int_t)st->invalidated,
		      "connects", (json_int_t)st->connects, "failed_by_reason", by);
	json_object_set_new(o, "connect_failures", json_integer((json_int_t)st->connect_failures));
	json_object_set_new(o, "repush_checks", json_integer((json_int_t)st->repush_checks));
	return o;
}

static json_t *certificate_json(const struct push_status *st)
{
	if (st->cert_not_after == 0)
		return json_null();
	int64_t left = st->cert_not_after - db_now();
	return json_pack("{s:s,s:o,s:I}", "subject", st->cert_subject, "not_after",
			 api_fleet_time(st->cert_not_after), "expires_in_days",
			 (json_int_t)(left >= 0 ? left / DAY : -((-left + DAY - 1) / DAY)));
}

static void push_status(struct req *r)
{
	struct push_status st;
	char warning[400];
	int64_t n_invalid = 0;
	if (api_allow(r, AZ_READ_FLEET, NULL) < 0)
		return;
	push_status_get(r->w->srv, &st);
	json_t *sample = json_array();
	int rc = db_mdm_push_invalid(r->w->db, INVALID_SAMPLE, add_invalid, sample, &n_invalid);
	if (rc < 0) {
		json_decref(sample);
		api_fail(r, rc, 503, "cannot count invalid tokens: %s", ap_strerror(rc));
		return;
	}
	json_t *warnings = json_array();
	if (push_warning(r->w->srv, warning, sizeof(warning)))
		json_array_append_new(warnings, json_string(warning));
	json_t *o = json_pack("{s:b,s:b,s:s,s:s,s:i,s:s,s:o,s:o,s:I,s:o,s:I,s:I,s:o}", "enabled",
			      st.enabled, "usable", st.usable, "topic", st.topic, "host", st.host,
			      "port", st.port, "connection", st.enabled ? st.state : "off",
			      "certificate", certificate_json(&st), "counters", counters_json(&st),
			      "invalid_tokens", (json_int_t)n_invalid, "invalid_sample", sample,
			      "waiting", (json_int_t)st.waiting, "in_flight",
			      (json_int_t)st.in_flight, "warnings", warnings);
	json_object_set_new(o, "idle", json_boolean(st.enabled && st.idle));
	json_object_set_new(o, "last_error",
			    st.last_error[0] ? json_pack("{s:s,s:o}", "message", st.last_error,
							 "at", api_fleet_time(st.last_error_at))
					     : json_null());
	api_json(r, 200, o);
}

const struct route api_push_routes[] = {
    {"POST", "/api/v1/devices/:serial/push", AUTH_STAFF, device_push},
    {"POST", "/api/v1/push", AUTH_STAFF, push_many},
    {"GET", "/api/v1/push/status", AUTH_STAFF, push_status},
    {NULL, NULL, AUTH_NONE, NULL},
};
