/* api_report.c - the fleet report, per collège and in total; the
 * académie's indicators (counts without personal data). */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "db_privacy.h"
#include "db_report.h"
#include "db_report_year.h"
#include "db_school.h"
#include "isodate.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* An equipment target: null when unknown. */
static json_t *target(int64_t n)
{
	return n > 0 ? json_integer((json_int_t)n) : json_null();
}

/* The fleet against the collège's targets: the tablets it holds, those
 * lent to pupils and teachers, and the targets (null when unknown). */
static void add_targets(json_t *o, const struct db_report_row *row)
{
	json_object_set_new(o, "held", json_integer((json_int_t)db_report_held(row)));
	json_object_set_new(o, "loaned_pupils", json_integer((json_int_t)row->loans_pupils));
	json_object_set_new(o, "loaned_teachers", json_integer((json_int_t)row->loans_teachers));
	json_object_set_new(o, "pupils_equipped", target(row->pupils_equipped));
	json_object_set_new(o, "teachers_equipped", target(row->teachers_equipped));
	json_object_set_new(o, "target", target(row->pupils_equipped + row->teachers_equipped));
}

static json_t *row_json(const struct db_report_row *row)
{
	json_t *o, *states = json_object();
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		json_object_set_new(states, db_device_state_name(s),
				    json_integer(row->by_state[s]));
	o = json_pack("{s:o,s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uai",
		      row->uai[0] ? json_string(row->uai) : json_null(), "name", row->name,
		      "devices", (json_int_t)row->devices, "by_state", states, "loans_open",
		      (json_int_t)row->loans_open, "loans_returning",
		      (json_int_t)row->loans_returning, "overdue", (json_int_t)row->overdue,
		      "incidents_open", (json_int_t)row->incidents_open, "not_seen_7d",
		      (json_int_t)row->not_seen_7d, "not_seen_30d", (json_int_t)row->not_seen_30d,
		      "never_seen", (json_int_t)row->never_seen);
	if (o == NULL)
		return NULL;
	add_targets(o, row);
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
	t->loans_pupils += row->loans_pupils;
	t->loans_teachers += row->loans_teachers;
	t->pupils_equipped += row->pupils_equipped;
	t->teachers_equipped += row->teachers_equipped;
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

/* ---- the académie's indicators ----------------------------------------- */

/* A count under this is never shown: it could single a pupil out. */
#define IND_THRESHOLD 5

static const char ind_rule[] =
    "counts under 5 (0 included) are null and named in \"suppressed\"; in each line further "
    "cells, the smallest first, are suppressed until at least 2 are and they add up to 5 or "
    "more, so that the line's total gives none of them back; a total under 5 is suppressed; "
    "the académie's total of a measure is given only when no collège's total is suppressed, "
    "and there is no total per level";

/* Suppresses the cells of one line v[0..n) into sup[] (primary: under
 * the threshold; complementary: the smallest others, until the suppressed
 * are 2 or more and add up to the threshold at least); returns 1 when the
 * line's total is suppressed too (under the threshold: then every cell
 * is). */
static int suppress_line(const int64_t *v, size_t n, int *sup)
{
	int64_t hidden = 0, total = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		total += v[i];
		sup[i] = v[i] < IND_THRESHOLD;
		k += (size_t)sup[i];
		hidden += sup[i] ? v[i] : 0;
	}
	while (k > 0 && k < n && (k < 2 || hidden < IND_THRESHOLD)) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (!sup[i] && (best == n || v[i] < v[best]))
				best = i;
		sup[best] = 1;
		k++;
		hidden += v[best];
	}
	return total < IND_THRESHOLD;
}

/* One measure of one collège: {"6e":N|null,...,"total":N|null,
 * "suppressed":[levels, and "total"]}; *ret_total_hidden says whether its
 * total is suppressed. */
static json_t *ind_line(const int64_t *v, int64_t *ret_total, int *ret_total_hidden)
{
	int sup[DB_IND_NLEVELS];
	int64_t total = 0;
	int hide_total = suppress_line(v, DB_IND_NLEVELS, sup);
	json_t *o = json_object(), *which = json_array();
	for (int l = 0; l < DB_IND_NLEVELS; l++) {
		total += v[l];
		json_object_set_new(o, db_ind_level_name(l),
				    sup[l] ? json_null() : json_integer((json_int_t)v[l]));
		if (sup[l])
			json_array_append_new(which, json_string(db_ind_level_name(l)));
	}
	json_object_set_new(o, "total", hide_total ? json_null() : json_integer((json_int_t)total));
	if (hide_total)
		json_array_append_new(which, json_string("total"));
	json_object_set_new(o, "suppressed", which);
	*ret_total = total;
	*ret_total_hidden = hide_total;
	return o;
}

/* The lines of every collège, and the académie's totals, into schools and
 * totals. */
static void ind_tables(const struct db_ind_row *rows, size_t n, json_t *schools, json_t *totals)
{
	int64_t sum[DB_IND__COUNT] = {0};
	int hidden[DB_IND__COUNT] = {0};
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_pack("{s:s,s:s}", "uai", rows[i].uai, "name", rows[i].name);
		for (int m = 0; m < DB_IND__COUNT; m++) {
			int64_t t;
			int h;
			json_object_set_new(s, db_ind_measure_name(m),
					    ind_line(rows[i].n[m], &t, &h));
			sum[m] += t;
			hidden[m] |= h;
		}
		json_array_append_new(schools, s);
	}
	for (int m = 0; m < DB_IND__COUNT; m++) {
		int hide = hidden[m] || sum[m] < IND_THRESHOLD;
		json_object_set_new(totals, db_ind_measure_name(m),
				    json_pack("{s:o,s:b}", "total",
					      hide ? json_null() : json_integer((json_int_t)sum[m]),
					      "suppressed", hide));
	}
}

/* ?from= and ?to= (days, both required, from <= to) into *ret_from and
 * *ret_to, and *ret_end the start of the day after `to`: [from, end).
 * Answers 400 itself (the year's and the indicators' one period). */
static int period(struct req *r, int64_t *ret_from, int64_t *ret_to, int64_t *ret_end)
{
	int64_t from = 0, to = 0;
	if (api_fleet_query_day(r, "from", &from) < 0 || api_fleet_query_day(r, "to", &to) < 0)
		return AP_EINVAL;
	if (from == 0 || to == 0)
		return api_refuse(r, AP_EMISSING, 400,
				  "from and to are required (days YYYY-MM-DD)");
	if (from > to)
		return api_refuse(r, AP_EINVAL, 400,
				  "from is after to: the period ends before it starts");
	*ret_from = from;
	*ret_to = to;
	*ret_end = isodate_day_add(to, 1);
	return 0;
}

/* GET /api/v1/reports/indicators?from=DAY&to=DAY - per collège and class
 * level, the loans started, with home use, the returns and the incidents
 * by kind over the period: counts only, small ones suppressed (ind_rule).
 * Technicians and the auditor. */
static void indicators(struct req *r)
{
	struct db_ind_row *rows = NULL;
	size_t n = 0;
	int64_t from = 0, to = 0, end = 0;
	if (api_allow(r, AZ_READ_FLEET, NULL) < 0 || period(r, &from, &to, &end) < 0)
		return;
	int rc = db_privacy_indicators(r->w->db, from, end, &rows, &n);
	if (rc < 0) {
		api_dberr(r, rc, "counting the indicators");
		return;
	}
	json_t *levels = json_array(), *measures = json_array(), *schools = json_array(),
	       *totals = json_object();
	for (int l = 0; l < DB_IND_NLEVELS; l++)
		json_array_append_new(levels, json_string(db_ind_level_name(l)));
	for (int m = 0; m < DB_IND__COUNT; m++)
		json_array_append_new(measures, json_string(db_ind_measure_name(m)));
	ind_tables(rows, n, schools, totals);
	free(rows);
	api_json(r, 200,
		 json_pack("{s:o,s:o,s:o,s:i,s:s,s:o,s:o,s:o,s:o}", "from", api_fleet_day(from),
			   "to", api_fleet_day(to), "generated_at", api_fleet_time(db_now()),
			   "threshold", IND_THRESHOLD, "suppression", ind_rule, "levels", levels,
			   "measures", measures, "schools", schools, "total", totals));
}

/* ---- the year of one collège ------------------------------------------------------------------- */

/* A target of the year: null when unknown (negative). */
static json_t *year_target(int64_t v)
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
	    "equipment", "pupils_target", year_target(y->pupils_target), "teachers_target",
	    year_target(y->teachers_target), "tablets", N(y->fleet_tablets), "pupils_equipped",
	    N(y->equipped_pupils), "teachers_equipped", N(y->equipped_teachers));
#undef N
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
    {"GET", "/api/v1/reports/indicators", AUTH_STAFF, indicators},
    {"GET", "/api/v1/reports/year", AUTH_STAFF, year},
    {NULL, NULL, AUTH_NONE, NULL},
};
