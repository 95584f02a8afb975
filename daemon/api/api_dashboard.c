/*
 * api_dashboard.c - the collège dashboard (the référent's home page): one
 * row per collège of the caller's scope, sorted by name.
 *
 *   GET /api/v1/dashboard[?school=UAI]
 *
 * AZ_READ in the caller's own scope (every collège for the fleet-wide
 * roles).  ?school= narrows to one collège; one outside the caller's
 * collèges answers as an unknown one (404), a malformed UAI 400.  The
 * figures and their definitions are db_dashboard.h's; "updates" is where
 * the collège's enrolled tablets stand against their iPadOS update plan
 * (api_update_figures(), as GET /api/v1/updates/status; null when it has
 * none enrolled, absent for the auditor, who does not see it).
 */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "authz.h"
#include "db_dashboard.h"
#include "isodate.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static json_t *tablets_json(const struct db_dashboard_row *row)
{
	json_t *states = json_object();
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		json_object_set_new(states, db_device_state_name(s),
				    json_integer(row->by_state[s]));
	return json_pack("{s:I,s:o,s:I,s:I,s:I,s:I}", "total", (json_int_t)row->total, "by_state",
			 states, "enrolled", (json_int_t)row->enrolled, "not_enrolled",
			 (json_int_t)row->not_enrolled, "not_seen_7d", (json_int_t)row->not_seen_7d,
			 "not_seen_30d", (json_int_t)row->not_seen_30d);
}

static json_t *policy_json(const struct db_dashboard_row *row)
{
	json_t *items = json_array();
	for (size_t i = 0; i < row->n_items; i++)
		json_array_append_new(items, json_pack("{s:s,s:I}", "item", row->items[i].item,
						       "count", (json_int_t)row->items[i].count));
	return json_pack("{s:I,s:I,s:I,s:o}", "converged", (json_int_t)row->converged, "pending",
			 (json_int_t)row->pending, "failing", (json_int_t)row->failing,
			 "failing_items", items);
}

static json_t *row_json(const struct db_dashboard_row *row)
{
	return json_pack(
	    "{s:s,s:s,s:s,s:o,s:o,s:{s:I,s:I,s:I},s:{s:I},s:I}", "uai", row->uai, "name", row->name,
	    "commune", row->commune, "tablets", tablets_json(row), "policy", policy_json(row),
	    "loans", "open", (json_int_t)row->loans_open, "overdue", (json_int_t)row->loans_overdue,
	    "home_use", (json_int_t)row->loans_home_use, "incidents", "open",
	    (json_int_t)row->incidents_open, "leavers_soon", (json_int_t)row->leavers_soon);
}

/* The collèges asked for: ?school= (known and in the caller's scope, else
 * 404), or the caller's own view. */
static int dashboard_scope(struct req *r, struct api_scope *sc)
{
	struct db_school s;
	char q[64];
	int rc;
	if (api_query(r, "school", q, sizeof(q)) < 0 || q[0] == '\0') {
		if ((rc = api_allow(r, AZ_READ, AUTHZ_OWN_SCOPE)) < 0)
			return rc;
		api_fleet_view(r, sc);
		return 0;
	}
	memset(sc, 0, sizeof(*sc));
	if ((rc = api_fleet_uai(r, q, sc->uai)) < 0)
		return rc;
	rc = db_school_get(r->w->db, sc->uai, &s);
	if ((rc = api_allow_object(r, AZ_READ, rc, sc->uai, "collège %s", sc->uai)) < 0)
		return rc;
	sc->list[0] = sc->uai;
	sc->only = sc->list;
	sc->n_only = 1;
	return 0;
}

static void dashboard(struct req *r)
{
	struct db_dashboard_row *rows = NULL;
	struct api_scope sc;
	size_t n = 0;
	int64_t now = db_now();
	if (dashboard_scope(r, &sc) < 0)
		return;
	int rc = db_dashboard(r->w->db, sc.only, sc.n_only, now, isodate_day_start(now), &rows, &n);
	if (rc < 0) {
		api_dberr(r, rc, "computing the dashboard");
		return;
	}
	json_t *upd = NULL, *a = json_array();
	if (authz_check(r, AZ_UPDATE_STATUS, AUTHZ_OWN_SCOPE) == 0 &&
	    (upd = api_update_figures(r, sc.only, sc.n_only, &rc)) == NULL) {
		free(rows);
		json_decref(a);
		api_dberr(r, rc, "computing the update status");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *row = row_json(&rows[i]), *fig, *per = json_object_get(upd, "schools");
		size_t k;
		if (upd) {
			json_object_set_new(row, "updates", json_null());
			json_array_foreach(
			    per, k,
			    fig) if (json_is_string(json_object_get(fig, "school")) &&
				     strcmp(json_string_value(json_object_get(fig, "school")),
					    rows[i].uai) == 0) json_object_set(row, "updates", fig);
		}
		json_array_append_new(a, row);
	}
	json_decref(upd);
	free(rows);
	api_json(r, 200, json_pack("{s:o,s:o}", "schools", a, "generated_at", api_fleet_time(now)));
}

const struct route api_dashboard_routes[] = {
    {"GET", "/api/v1/dashboard", AUTH_STAFF, dashboard},
    {NULL, NULL, AUTH_NONE, NULL},
};
