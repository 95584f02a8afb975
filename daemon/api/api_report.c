/* api_report.c - the fleet report, per collège and in total. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_report.h"
#include "db_report_year.h"
#include "db_school.h"
#include "isodate.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static json_t *row_json(const struct db_report_row *row)
{
	json_t *states = json_object();
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		json_object_set_new(states, db_device_state_name(s),
				    json_integer(row->by_state[s]));
	return json_pack("{s:o,s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uai",
			 row->uai[0] ? json_string(row->uai) : json_null(), "name", row->name,
			 "devices", (json_int_t)row->devices, "by_state", states, "loans_open",
			 (json_int_t)row->loans_open, "loans_returning",
			 (json_int_t)row->loans_returning, "overdue", (json_int_t)row->overdue,
			 "incidents_open", (json_int_t)row->incidents_open, "not_seen_7d",
			 (json_int_t)row->not_seen_7d, "not_seen_30d",
			 (json_int_t)row->not_seen_30d, "never_seen", (json_int_t)row->never_seen);
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

/* ---- the year of one collège ------------------------------------------------------------------- */

static json_t *target(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *year_json(const struct db_school *s, int64_t from, int64_t to,
			 const struct db_report_year *y)
{
#define N(v) ((json_int_t)(v))
	return json_pack(
	    "{s:{s:s,s:s},s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},"
	    "s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},"
	    "s:{s:o,s:o,s:I,s:I,s:I}}",
	    "school", "uai", s->uai, "name", s->name, "from", api_fleet_day(from), "to",
	    api_fleet_day(to), "loans", "started", N(y->loans), "tablets", N(y->tablets), "pupils",
	    N(y->pupils), "teachers", N(y->teachers), "home_use", N(y->home_use), "returns",
	    "total", N(y->returns), "ok", N(y->returns_ok), "damaged", N(y->returns_damaged),
	    "incidents", "total", N(y->incidents), "loss", N(y->loss), "theft", N(y->theft),
	    "damage", N(y->damage), "failure", N(y->failure), "late", N(y->late), "repairs",
	    N(y->repairs), "thefts", "total", N(y->theft), "with_complaint", N(y->theft_complaint),
	    "without_complaint", N(y->theft_no_complaint), "damage", "cost_cents", N(y->cost_cents),
	    "reimbursements_asked", N(y->reimburse), "reimbursements_cents", N(y->reimburse_cents),
	    "equipment", "pupils_target", target(y->pupils_target), "teachers_target",
	    target(y->teachers_target), "tablets", N(y->fleet_tablets), "pupils_equipped",
	    N(y->equipped_pupils), "teachers_equipped", N(y->equipped_teachers));
#undef N
}

/* ?from= and ?to= (days, both required, from <= to) into *ret_from and
 * *ret_end, the start of the day after `to`.  Answers 400 itself. */
static int period(struct req *r, int64_t *ret_from, int64_t *ret_to, int64_t *ret_end)
{
	int64_t from = 0, to = 0;
	if (api_fleet_query_day(r, "from", &from) < 0 || api_fleet_query_day(r, "to", &to) < 0)
		return AP_EINVAL;
	if (from == 0 || to == 0)
		return api_refuse(r, AP_EMISSING, 400,
				  "from and to are required (days YYYY-MM-DD)");
	if (from > to)
		return api_refuse(r, AP_EINVAL, 400, "from is after to: the period is empty");
	*ret_from = from;
	*ret_to = to;
	/* the start of the next day: two hours past `to`'s 24 lands in it
	 * whether a day is stored at midnight UTC or local (23 to 25 hours) */
	*ret_end = isodate_day_start(to + 86400 + 7200);
	return 0;
}

/* GET /api/v1/reports/year?school=UAI&from=DAY&to=DAY - the figures of
 * the convention for one collège: technicians any, ATIs and référents
 * theirs; not the auditor (they carry no personal data, but they are the
 * collège's own account of its year). */
static void year(struct req *r)
{
	char uai[64] = "";
	struct db_school s;
	struct db_report_year y;
	int64_t from = 0, to = 0, end = 0;
	if (api_allow(r, AZ_REPORT_SCHOOL, AUTHZ_OWN_SCOPE) < 0)
		return;
	if (api_query(r, "school", uai, sizeof(uai)) < 0 || uai[0] == '\0')
		return (void)api_refuse(r, AP_EMISSING, 400, "school is required (a UAI)");
	if (strlen(uai) != DB_UAI_LEN ||
	    strspn(uai, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != DB_UAI_LEN)
		return (void)api_refuse(r, AP_EINVAL, 400,
					"school must be a UAI: 7 digits and a letter (0131266F)");
	int rc = db_school_get(r->w->db, uai, &s);
	if (api_allow_object(r, AZ_REPORT_SCHOOL, rc, uai, "collège %s", uai) < 0)
		return;
	if (period(r, &from, &to, &end) < 0)
		return;
	if ((rc = db_report_year(r->w->db, uai, from, end, &y)) < 0) {
		api_dberr(r, rc, "computing the report");
		return;
	}
	api_json(r, 200, year_json(&s, from, to, &y));
}

const struct route api_report_routes[] = {
    {"GET", "/api/v1/reports/fleet", AUTH_STAFF, fleet},
    {"GET", "/api/v1/reports/year", AUTH_STAFF, year},
    {NULL, NULL, AUTH_NONE, NULL},
};
