/* ctl_report.c - the fleet report, as a table or CSV. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define NCOLS	 19
#define COL_COST 17 /* damage_cost_cents: euros in the table */

static const char *const head[NCOLS] = {"uai",
					"name",
					"devices",
					"stock",
					"loaned",
					"returning",
					"repair",
					"lost",
					"stolen",
					"retired",
					"loans_open",
					"overdue",
					"incidents_open",
					"not_seen_7d",
					"not_seen_30d",
					"never_seen",
					"damages",
					"damage_cost_cents",
					"reimbursements"};

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

/* The damage cost of a row as people read it, "45,50". */
static void euros(json_t *row, char out[24])
{
	long long c = (long long)json_integer_value(json_object_get(row, "damage_cost_cents"));
	snprintf(out, 24, "%lld,%02lld", c / 100, c % 100);
}

static const struct ctl_opt fleet_opts[] = {
    CTL_OPT_SCHOOL("only this collège"),
    {.name = "--csv", .help = "CSV on stdout (one line a collège), for a spreadsheet"},
    CTL_OPT_END,
};

static void print_fleet(json_t *rep, const struct ctl_args *a)
{
	static const char *const human[NCOLS] = {
	    "UAI",	  "NAME",	 "TABLETS",    "STOCK",	       "LOANED",
	    "RETURNING",  "REPAIR",	 "LOST",       "STOLEN",       "RETIRED",
	    "LOANS",	  "OVERDUE",	 "INCIDENTS",  "UNSEEN 7D",    "UNSEEN 30D",
	    "NEVER SEEN", N_("DAMAGES"), N_("COST €"), N_("REIMBURSE")};
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
		euros(r, num[COL_COST]);
		ctl_fleet_row(t, row);
	}
	cells(json_object_get(rep, "total"), row, num);
	euros(json_object_get(rep, "total"), num[COL_COST]);
	row[0] = "TOTAL";
	row[1] = "";
	ctl_fleet_row(t, row);
	ctl_fleet_table_print(t, stdout);
}

static int fleet(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/fleet", print_fleet);
}

const struct ctl_verb ctl_report_verbs[] = {
    {"report", "fleet", fleet, fleet_opts, 0,
     N_("per collège: tablets by state, loans, overdue, open incidents, not seen 7/30 days, "
	"damage and its cost")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
