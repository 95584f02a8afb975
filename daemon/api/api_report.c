/* api_report.c - the fleet report, per collège and in total. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_report.h"
#include "isodate.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>

static json_t *row_json(const struct db_report_row *row)
{
	json_t *states = json_object();
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		json_object_set_new(states, db_device_state_name(s),
				    json_integer(row->by_state[s]));
	json_t *o = json_pack(
	    "{s:o,s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uai",
	    row->uai[0] ? json_string(row->uai) : json_null(), "name", row->name, "devices",
	    (json_int_t)row->devices, "by_state", states, "loans_open", (json_int_t)row->loans_open,
	    "loans_returning", (json_int_t)row->loans_returning, "overdue",
	    (json_int_t)row->overdue, "incidents_open", (json_int_t)row->incidents_open,
	    "not_seen_7d", (json_int_t)row->not_seen_7d, "not_seen_30d",
	    (json_int_t)row->not_seen_30d, "never_seen", (json_int_t)row->never_seen);
	json_object_set_new(o, "damages", json_integer(row->damages));
	json_object_set_new(o, "damage_cost_cents", json_integer(row->damage_cost_cents));
	json_object_set_new(o, "reimbursements", json_integer(row->reimbursements));
	return o;
}

static void add_to(struct db_report_row *t, const struct db_report_row *row)
{
	t->devices += row->devices;
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		t->by_state[s] += row->by_state[s];
	t->loans_open += row->loans_open;
	t->loans_returning += row->loans_returning;
	t->overdue += row->overdue;
	t->incidents_open += row->incidents_open;
	t->not_seen_7d += row->not_seen_7d;
	t->not_seen_30d += row->not_seen_30d;
	t->never_seen += row->never_seen;
	t->damages += row->damages;
	t->damage_cost_cents += row->damage_cost_cents;
	t->reimbursements += row->reimbursements;
}

static void fleet(struct req *r)
{
	struct db_report_row *rows = NULL, total = {"", "total"};
	struct api_scope sc;
	size_t n = 0;
	int64_t now = db_now();
	if (api_fleet_scope(r, AZ_READ, &sc) < 0)
		return;
	int rc =
	    db_report_fleet(r->w->db, sc.only, sc.n_only, now, isodate_day_start(now), &rows, &n);
	if (rc < 0) {
		api_dberr(r, rc, "computing the report");
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, row_json(&rows[i]));
		add_to(&total, &rows[i]);
	}
	free(rows);
	api_json(r, 200,
		 json_pack("{s:o,s:o,s:o}", "generated_at", api_fleet_time(now), "schools", a,
			   "total", row_json(&total)));
}

const struct route api_report_routes[] = {
    {"GET", "/api/v1/reports/fleet", AUTH_STAFF, fleet},
    {NULL, NULL, AUTH_NONE, NULL},
};
