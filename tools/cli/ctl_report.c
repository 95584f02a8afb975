/* ctl_report.c - the fleet report and the académie's indicators, as
 * tables or CSV. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define NCOLS	 21
#define COL_COST 19 /* damage_cost_cents: euros in the table */

static const char *const head[NCOLS] = {
    "uai",	     "name",	"devices",	  "stock",	 "loaned",
    "returning",     "repair",	"lost",		  "stolen",	 "retired",
    "loans_open",    "overdue", "incidents_open", "not_seen_7d", "not_seen_30d",
    "never_seen",    "held",	"target",	  "damages",	 "damage_cost_cents",
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
		num[i][0] = '\0'; /* a target not known: an empty cell */
		if (json_is_integer(v))
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
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static void print_fleet(json_t *rep, const struct ctl_args *a)
{
	static const char *const human[NCOLS] = {
	    N_("UAI"),	      N_("NAME"),    N_("TABLETS"),   N_("STOCK"),     N_("LOANED"),
	    N_("RETURNING"),  N_("REPAIR"),  N_("LOST"),      N_("STOLEN"),    N_("RETIRED"),
	    N_("LOANS"),      N_("OVERDUE"), N_("INCIDENTS"), N_("UNSEEN 7D"), N_("UNSEEN 30D"),
	    N_("NEVER SEEN"), N_("HELD"),    N_("TARGET"),    N_("DAMAGES"),   N_("COST €"),
	    N_("REIMBURSE")};
	char num[NCOLS][24];
	const char *row[NCOLS];
	json_t *r;
	size_t i;
	if (ctl_fleet_csv(a)) {
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
	row[0] = _("TOTAL");
	row[1] = "";
	ctl_fleet_row(t, row);
	ctl_fleet_table_print(t, stdout);
}

static int fleet(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/fleet", print_fleet);
}

/* ---- the académie's indicators ---- */

#define IND_LEVELS 7
#define IND_COLS   (3 + IND_LEVELS + 2)

static const char *const ind_levels[IND_LEVELS] = {"6e",    "5e",      "4e",  "3e",
						   "other", "teacher", "none"};

static const struct ctl_opt indicators_opts[] = {
    {.name = "--from",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "from",
     .need = N_("--from is required"),
     .help = N_("the first day of the period")},
    {.name = "--to",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "to",
     .need = N_("--to is required"),
     .help = N_("the last day of the period")},
    CTL_OPT_CSV,
    CTL_OPT_END,
};

/* The cells of one collège's measure (CSV or table); suppressed cells are
 * "" in CSV, "<5" is not said of them: a complementary one may be more. */
static void ind_cells(json_t *s, const char *measure, json_t *line, const char **out,
		      char num[IND_COLS][24], const char *hidden, char names[64])
{
	json_t *v;
	size_t i, n = 0;
	out[0] = ctl_fleet_str(s, "uai");
	out[1] = ctl_fleet_str(s, "name");
	out[2] = measure;
	for (int l = 0; l < IND_LEVELS; l++) {
		out[3 + l] =
		    ctl_fleet_int(json_object_get(line, ind_levels[l]), "", num[3 + l], 24);
		if (out[3 + l][0] == '\0')
			out[3 + l] = hidden;
	}
	out[3 + IND_LEVELS] =
	    ctl_fleet_int(json_object_get(line, "total"), "", num[3 + IND_LEVELS], 24);
	if (out[3 + IND_LEVELS][0] == '\0')
		out[3 + IND_LEVELS] = hidden;
	names[0] = '\0';
	json_array_foreach(json_object_get(line, "suppressed"), i, v)
	{
		const char *w = json_string_value(v);
		if (w && n + strlen(w) + 2 < 64)
			n += (size_t)snprintf(names + n, 64 - n, "%s%s", n ? " " : "", w);
	}
	out[IND_COLS - 1] = names;
}

static void print_indicators(json_t *rep, const struct ctl_args *a)
{
	static const char *const ind_head[IND_COLS] = {"uai",	  "name", "measure", "6e",
						       "5e",	  "4e",	  "3e",	     "other",
						       "teacher", "none", "total",   "suppressed"};
	static const char *const human[IND_COLS] = {
	    N_("UAI"), N_("NAME"),  N_("MEASURE"),  "6E",	   "5E",	"4E",
	    "3E",      N_("OTHER"), N_("TEACHERS"), N_("NO LOAN"), N_("TOTAL"), N_("SUPPRESSED")};
	const char *hdr[IND_COLS], *row[IND_COLS];
	char num[IND_COLS][24], names[64];
	int csv = ctl_fleet_csv(a);
	json_t *measures = json_object_get(rep, "measures"), *s, *m;
	size_t i, j;
	for (int k = 0; k < IND_COLS; k++)
		hdr[k] = csv ? ind_head[k] : human[k];
	struct ctl_table *t = csv ? NULL : ctl_fleet_table(IND_COLS, hdr);
	if (csv)
		ctl_fleet_csv_line(stdout, hdr, IND_COLS);
	json_array_foreach(json_object_get(rep, "schools"), i, s) json_array_foreach(measures, j, m)
	{
		const char *name = json_string_value(m);
		ind_cells(s, name, json_object_get(s, name), row, num, csv ? "" : "*", names);
		if (csv)
			ctl_fleet_csv_line(stdout, row, IND_COLS);
		else
			ctl_fleet_row(t, row);
	}
	json_array_foreach(measures, j, m)
	{
		const char *name = json_string_value(m);
		json_t *tot = json_object_get(json_object_get(rep, "total"), name);
		for (int k = 0; k < IND_COLS; k++)
			row[k] = "";
		row[1] = csv ? "total" : _("TOTAL");
		row[2] = name;
		row[3 + IND_LEVELS] = ctl_fleet_int(json_object_get(tot, "total"), "", num[0], 24);
		if (row[3 + IND_LEVELS][0] == '\0')
			row[3 + IND_LEVELS] = csv ? "" : "*";
		row[IND_COLS - 1] = json_is_true(json_object_get(tot, "suppressed")) ? "total" : "";
		if (csv)
			ctl_fleet_csv_line(stdout, row, IND_COLS);
		else
			ctl_fleet_row(t, row);
	}
	if (csv)
		return;
	ctl_fleet_table_print(t, stdout);
	printf(_("* suppressed: counts under %lld are not shown, nor the cells and totals that "
		 "would give one back (see \"suppression\" in --json)\n"),
	       (long long)json_integer_value(json_object_get(rep, "threshold")));
}

static int indicators(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/indicators", print_indicators);
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
    CTL_OPT_CSV,
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
	return ctl_fleet_int(json_object_get(v, path), "", out, 24);
}

static void print_year(json_t *rep, const struct ctl_args *a)
{
	char num[24];
	json_t *school = json_object_get(rep, "school");
	if (ctl_fleet_csv(a)) {
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
	static const char *const human[2] = {N_("FIGURE"), N_("VALUE")};

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
     N_("per collège: tablets by state, loans, overdue, open incidents, not seen 7/30 days, "
	"damage and its cost")},
    {"report", "indicators", indicators, indicators_opts, 0,
     N_("for the académie: loans, home use, returns, incidents per collège and class level, "
	"without personal data (counts under 5 suppressed)")},
    {"report", "year", year, year_opts, 0,
     N_("one collège's figures for the convention over a period: loans, returns, incidents, "
	"repairs, thefts, damage cost, equipment targets against the fleet")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
