/* ctl_report.c - the fleet report, as a table or CSV. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define NCOLS 16

static const char *const head[NCOLS] = {
    "uai",	  "name",    "devices",	       "stock",	      "loaned",
    "returning",  "repair",  "lost",	       "stolen",      "retired",
    "loans_open", "overdue", "incidents_open", "not_seen_7d", "not_seen_30d",
    "never_seen"};

/* The row's cells; numbers written into num. */
static void cells(json_t *row, const char **out, char num[NCOLS][24])
{
	json_t *st = json_object_get(row, "by_state");
	out[0] = json_is_string(json_object_get(row, "uai")) ? ctl_fleet_str(row, "uai") : "";
	out[1] = json_string_value(json_object_get(row, "name")); /* NULL: an empty cell */
	for (int i = 2; i < NCOLS; i++) {
		json_t *v = json_object_get(row, head[i]);
		if (v == NULL)
			v = json_object_get(st, head[i]);
		snprintf(num[i], sizeof(num[i]), "%lld", (long long)json_integer_value(v));
		out[i] = num[i];
	}
}

static const struct ctl_opt fleet_opts[] = {
    CTL_OPT_SCHOOL("only this collège"),
    {.name = "--csv", .help = "CSV on stdout (one line a collège), for a spreadsheet"},
    CTL_OPT_END,
};

static void print_fleet(json_t *rep, const struct ctl_args *a)
{
	static const char *const human[NCOLS] = {
	    "UAI",	 "NAME",      "TABLETS",    "STOCK",	 "LOANED", "RETURNING",
	    "REPAIR",	 "LOST",      "STOLEN",	    "RETIRED",	 "LOANS",  "OVERDUE",
	    "INCIDENTS", "UNSEEN 7D", "UNSEEN 30D", "NEVER SEEN"};
	char num[NCOLS][24];
	const char *row[NCOLS];
	json_t *r;
	size_t i;
	if (ctl_opt_get(a, "--csv")) {
		ctl_fleet_csv_line(stdout, head, NCOLS);
		json_array_foreach(json_object_get(rep, "schools"), i, r)
		{
			cells(r, row, num);
			ctl_fleet_csv_line(stdout, row, NCOLS);
		}
		return;
	}
	struct ctl_table *t = ctl_fleet_table(NCOLS, human);
	json_array_foreach(json_object_get(rep, "schools"), i, r)
	{
		cells(r, row, num);
		ctl_fleet_row(t, row);
	}
	cells(json_object_get(rep, "total"), row, num);
	row[0] = "TOTAL";
	row[1] = "";
	ctl_fleet_row(t, row);
	ctl_fleet_table_print(t, stdout);
}

static int fleet(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/fleet", print_fleet);
}

/* ---- report year ---- */

static const char year_need[] = N_("--school, --from and --to are required");

static const struct ctl_opt year_opts[] = {
    {.name = "--school",
     .arg = "UAI",
     .how = CTL_OPT_QUERY,
     .key = "school",
     .need = year_need,
     .help = N_("the collège")},
    {.name = "--from",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "from",
     .need = year_need,
     .help = N_("the period's first day")},
    {.name = "--to",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "to",
     .need = year_need,
     .help = N_("its last day (included)")},
    {.name = "--csv", .help = N_("CSV on stdout (one line a figure), for a spreadsheet")},
    CTL_OPT_END,
};

/* Each figure: where it is in the answer ("group.key"), what it is. */
static const struct {
	const char *path;
	const char *label;
} figures[] = {
    {"loans.started", N_("loans started")},
    {"loans.tablets", N_("tablets lent")},
    {"loans.pupils", N_("pupils lent a tablet")},
    {"loans.teachers", N_("teachers lent a tablet")},
    {"loans.home_use", N_("loans with home use")},
    {"returns.total", N_("returns")},
    {"returns.ok", N_("returns in good condition")},
    {"returns.damaged", N_("returns damaged")},
    {"incidents.total", N_("incidents")},
    {"incidents.loss", N_("losses")},
    {"incidents.theft", N_("thefts")},
    {"incidents.damage", N_("damages")},
    {"incidents.failure", N_("failures")},
    {"incidents.late", N_("incidents declared late")},
    {"repairs", N_("repairs")},
    {"thefts.with_complaint", N_("thefts with a complaint")},
    {"thefts.without_complaint", N_("thefts without a complaint")},
    {"damage.cost_cents", N_("damage cost (cents)")},
    {"damage.reimbursements_asked", N_("reimbursements asked")},
    {"damage.reimbursements_cents", N_("reimbursements asked (cents)")},
    {"equipment.pupils_target", N_("pupils to equip (target)")},
    {"equipment.teachers_target", N_("teachers to equip (target)")},
    {"equipment.tablets", N_("tablets of the collège now")},
    {"equipment.pupils_equipped", N_("pupils with a tablet now")},
    {"equipment.teachers_equipped", N_("teachers with a tablet now")},
};

#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

/* The figure at path ("group.key" or "key") as text: "" when null. */
static const char *figure(json_t *rep, const char *path, char out[24])
{
	char group[32];
	const char *dot = strchr(path, '.');
	json_t *v = rep;
	if (dot) {
		snprintf(group, sizeof(group), "%.*s", (int)(dot - path), path);
		v = json_object_get(rep, group);
		path = dot + 1;
	}
	v = json_object_get(v, path);
	if (!json_is_integer(v))
		return "";
	snprintf(out, 24, "%lld", (long long)json_integer_value(v));
	return out;
}

static void print_year(json_t *rep, const struct ctl_args *a)
{
	char num[24];
	json_t *school = json_object_get(rep, "school");
	if (ctl_opt_get(a, "--csv")) {
		static const char *const year_head[] = {"uai", "from", "to", "figure", "value"};
		const char *row[5] = {ctl_fleet_str(school, "uai"), ctl_fleet_str(rep, "from"),
				      ctl_fleet_str(rep, "to")};
		ctl_fleet_csv_line(stdout, year_head, 5);
		for (size_t i = 0; i < NFIGURES; i++) {
			row[3] = figures[i].path;
			row[4] = figure(rep, figures[i].path, num);
			ctl_fleet_csv_line(stdout, row, 5);
		}
		return;
	}
	printf(_("%s (%s), from %s to %s\n"), ctl_fleet_str(school, "name"),
	       ctl_fleet_str(school, "uai"), ctl_fleet_str(rep, "from"), ctl_fleet_str(rep, "to"));
	const char *const human[2] = {_("FIGURE"), _("VALUE")};
	struct ctl_table *t = ctl_fleet_table(2, human);
	for (size_t i = 0; i < NFIGURES; i++) {
		const char *v = figure(rep, figures[i].path, num);
		const char *row[2] = {_(figures[i].label), v[0] ? v : "-"};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int year(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/year", print_year);
}

const struct ctl_verb ctl_report_verbs[] = {
    {"report", "fleet", fleet, fleet_opts, 0,
     "per collège: tablets by state, loans, overdue, open incidents, not seen 7/30 days"},
    {"report", "year", year, year_opts, 0,
     N_("one collège's figures for the convention over a period: loans, returns, incidents, "
	"repairs, thefts, damage cost, equipment targets against the fleet")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
