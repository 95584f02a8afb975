/* ctl_person.c - person import, list, show, leave, agreement. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static int import(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_import(c, a, "/api/v1/people/import");
}

static void print_people(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("ID"),	 N_("KIND"),	  N_("NAME"), N_("CLASS"),
					   N_("SCHOOL"), N_("AGREEMENT"), N_("LEFT")};
	struct ctl_table *t = ctl_fleet_table(7, head);
	char signed_day[32], left_day[32];
	json_t *p;
	size_t i;
	json_array_foreach(all, i, p)
	{
		const char *row[] = {ctl_fleet_str(p, "id"),
				     ctl_word(ctl_fleet_str(p, "kind")),
				     ctl_fleet_str(p, "name"),
				     ctl_fleet_str(p, "class"),
				     ctl_fleet_str(p, "school"),
				     ctl_when_of(p, "agreement", signed_day, sizeof(signed_day)),
				     ctl_when_of(p, "left", left_day, sizeof(left_day))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_SCHOOL("only this collège's people"),
    CTL_OPT_FILTER("--class", "C", "class", "only this class (e.g. 3A)"),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_list(c, a, "/api/v1/people", "people", print_people);
}

static const struct ctl_opt find_opts[] = {
    {.name = "TEXT",
     .how = CTL_OPT_POS | CTL_OPT_QUERY,
     .key = "q",
     .need = N_("what to look for is required (a name, part of one, or an id)"),
     .help = N_("part of the name or id, case and accents aside (\"helene\" finds Hélène)")},
    CTL_OPT_SCHOOL(N_("only this collège's people")),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

/* GET /api/v1/people?q=TEXT: the people of the caller's collèges whose
 * name or id holds TEXT. */
static int find(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_list(c, a, "/api/v1/people", "people", print_people);
}

static const struct ctl_opt show_opts[] = {
    CTL_OPT_ARG("ID", "one ID is required", "the person's external id"),
    CTL_OPT_END,
};

static void print_person(json_t *p, const struct ctl_args *a)
{
	/* the member's name on the left stays as in --json: people and
	 * scripts read the same key */
	static const char *const keys[] = {"id",     "kind",	  "name", "class",
					   "school", "agreement", "left"};
	char t1[32], t2[32], t3[32];
	json_t *l;
	size_t i;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		printf("%-10s %s\n", keys[k],
		       k == 1 ? ctl_word(ctl_fleet_str(p, keys[k])) : ctl_fleet_str(p, keys[k]));
	printf(_("loans:\n"));
	json_array_foreach(json_object_get(p, "loans"), i, l)
	{
		printf(_("  #%lld %-9s tablet %s from %s, returned %s, due %s\n"),
		       (long long)json_integer_value(json_object_get(l, "id")),
		       ctl_word(ctl_fleet_str(l, "state")), ctl_fleet_str(l, "device"),
		       ctl_when_of(l, "started", t1, sizeof(t1)),
		       ctl_when_of(l, "returned", t2, sizeof(t2)),
		       ctl_when_of(l, "due", t3, sizeof(t3)));
	}
}

static int show(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/people/", ctl_opt_get(a, "ID"), "");
	return ctl_get_print(c, a, path, print_person);
}

/* POST /api/v1/people/ID/what with the body of a's options; the answer
 * through human(). */
static int post_person(struct ctl *c, const struct ctl_args *a, const char *what,
		       void (*human)(json_t *ret, const struct ctl_args *a))
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/people/", ctl_opt_get(a, "ID"), what);
	return ctl_send_print(c, a, "POST", path, ctl_opt_body(a), human);
}

static const struct ctl_opt leave_opts[] = {
    CTL_OPT_ARG("ID", "missing argument", "the person's external id"),
    {.name = "--on",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "date",
     .need = N_("--on is required"),
     .help = N_("their last day: their loans end then, overdue from the next day")},
    {.name = "--date",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "date",
     .need = N_("--on is required"),
     .help = N_("the same as --on")},
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_leave(json_t *ret, const struct ctl_args *a)
{
	char day[32];
	json_t *l;
	size_t i;
	printf(_("%s leaves on %s; %lld open loan(s) now due that day\n"), ctl_opt_get(a, "ID"),
	       ctl_when_of(ret, "left", day, sizeof(day)),
	       (long long)json_integer_value(json_object_get(ret, "loans_now_due")));
	json_t *collect = json_object_get(ret, "collect");
	if (json_array_size(collect) == 0)
		return;
	printf(_("tablets the collège must collect:\n"));
	json_array_foreach(collect, i, l)
	{
		printf("  %-16s %-16s%s\n", ctl_fleet_str(l, "device"),
		       ctl_fleet_str(l, "asset_tag"),
		       json_is_string(json_object_get(l, "deposited"))
			   ? _(" (deposited at the collège already)")
			   : "");
	}
}

static int leave(struct ctl *c, const struct ctl_args *a)
{
	return post_person(c, a, "/leave", print_leave);
}

#define AGREEMENT_NEED N_("give one of --signed DATE and --withdraw")

static const struct ctl_opt agreement_opts[] = {
    CTL_OPT_ARG("ID", "missing argument", "the pupil's external id"),
    {.name = "--signed",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "date",
     .need = AGREEMENT_NEED,
     .help = N_("the day the guardians signed it (not in the future)")},
    {.name = "--withdraw",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "withdrawn",
     .need = AGREEMENT_NEED,
     .help = N_("the guardians withdrew it: home-use loans turn school-only, flagged")},
    {.name = "--date",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "date",
     .need = AGREEMENT_NEED,
     .help = N_("the same as --signed")},
    {.name = "--withdrawn",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "withdrawn",
     .need = AGREEMENT_NEED,
     .help = N_("the same as --withdraw")},
    {.name = "--year",
     .arg = "YYYY",
     .help = N_("the school year it covers, by the year it starts (default: the current "
		"one; 2026 for 2026-2027)")},
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_agreement(json_t *ret, const struct ctl_args *a)
{
	const char *id = ctl_opt_get(a, "ID");
	char day[32];
	long long y = (long long)json_integer_value(json_object_get(ret, "year"));
	if (json_is_true(json_object_get(ret, "withdrawn")))
		printf(_("%s: guardians' agreement of %lld-%lld withdrawn; %lld home-use loan(s) "
			 "turned school-only\n"),
		       id, y, y + 1,
		       (long long)json_integer_value(json_object_get(ret, "loans_school_only")));
	else
		printf(_("%s: guardians' agreement of %lld-%lld signed on %s\n"), id, y, y + 1,
		       ctl_when_of(ret, "signed", day, sizeof(day)));
}

static int agreement(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	long long year = 0;
	if (ctl_opt_int(a, "--year", 1970, &year) < 0)
		return ctl_opt_usage(a->verb, "%s", _("--year: a year such as 2026"));
	json_t *body = ctl_opt_body(a);
	if (year)
		json_object_set_new(body, "year", json_integer(year));
	ctl_path(path, sizeof(path), "/api/v1/people/", ctl_opt_get(a, "ID"), "/agreement");
	return ctl_send_print(c, a, "POST", path, body, print_agreement);
}

static const struct ctl_opt export_opts[] = {
    CTL_OPT_ARG("ID", N_("one ID is required"), N_("the person's external id")),
    CTL_OPT_END,
};

/* Always JSON: the record handed to the person who asked for it. */
static void print_export(json_t *ret, const struct ctl_args *a)
{
	ctl_print_json(ret);
}

static int export_person(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/people/", ctl_opt_get(a, "ID"), "/export");
	return ctl_get_print(c, a, path, print_export);
}

static void print_pseudonymised(json_t *ret, const struct ctl_args *a)
{
	printf(_("%lld leaver(s) pseudonymised (last day before %s, %lld days' retention); "
		 "%lld held back by a loan in progress\n"),
	       (long long)json_integer_value(json_object_get(ret, "pseudonymised")),
	       ctl_fleet_str(ret, "left_before"),
	       (long long)json_integer_value(json_object_get(ret, "retention_days")),
	       (long long)json_integer_value(json_object_get(ret, "held_back")));
}

static int pseudonymise(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/privacy/pseudonymise", NULL,
			      print_pseudonymised);
}

const struct ctl_verb ctl_person_verbs[] = {
    {"person", "import", import, ctl_fleet_import_opts, 0,
     N_("import pupils and teachers from CSV (external_id, kind, name, class, uai[, "
	"agreement])")},
    {"person", "list", list, list_opts, 0, N_("list pupils and teachers")},
    {"person", "find", find, find_opts, 0,
     N_("find pupils and teachers of your collèges by name or id (case and accents aside)")},
    {"person", "show", show, show_opts, 0, N_("one person and their loans")},

    {"person", "leave", leave, leave_opts, 0,
     N_("record the last day; open loans end that day; lists the tablets to collect")},
    {"person", "agreement", agreement, agreement_opts, 0,
     N_("record or withdraw the guardians' home-use agreement of a pupil, per school year")},
    {"person", "export", export_person, export_opts, 0,
     N_("everything held on one person, as JSON (right of access)")},
    {"person", "pseudonymise", pseudonymise, NULL, 0,
     N_("pseudonymise now the leavers past [privacy] leaver_retention_days (technicians)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
