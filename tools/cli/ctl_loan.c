/* ctl_loan.c - loan create, return, list, show, campaign. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_opt create_opts[] = {
    CTL_OPT_FIELD("--device", "SERIAL", "device", "--device and --person are required",
		  "the tablet, in stock"),
    CTL_OPT_FIELD("--person", "ID", "person", "--device and --person are required",
		  "the pupil or teacher (external id), of the tablet's collège"),
    CTL_OPT_FLAG("--home-use", CTL_OPT_BODY, "home_use",
		 "the tablet may go home (a pupil needs the guardians' agreement)"),
    CTL_OPT_FIELD("--due", "YYYY-MM-DD", "due", NULL, "when it is due back"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_loan(json_t *l, const struct ctl_args *a)
{
	printf("loan #%lld: tablet %s to %s (%s)%s, due %s\n",
	       (long long)json_integer_value(json_object_get(l, "id")), ctl_fleet_str(l, "device"),
	       ctl_fleet_str(l, "person"), ctl_fleet_str(l, "name"),
	       json_is_true(json_object_get(l, "home_use")) ? ", home use" : ", school only",
	       ctl_fleet_str(l, "due"));
}

static int create(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans", ctl_opt_body(a), print_loan);
}

static const struct ctl_opt return_opts[] = {
    {.name = "SERIAL",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "device",
     .need = "missing argument",
     .help = "the tablet handed back"},
    CTL_OPT_FIELD("--condition", "ok|damaged", "condition", NULL, "the state it comes back in"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_returned(json_t *l, const struct ctl_args *a)
{
	json_t *e = json_object_get(l, "erase");
	printf("tablet %s handed back by %s (%s); EraseDevice %s queued%s; state returning "
	       "until the erase is acknowledged\n",
	       ctl_opt_get(a, "SERIAL"), ctl_fleet_str(l, "person"), ctl_fleet_str(l, "condition"),
	       ctl_fleet_str(e, "command"),
	       json_is_true(json_object_get(e, "return_to_service")) ? " with Return to Service"
								     : "");
	if (strcmp(ctl_fleet_str(e, "enrollment"), "enrolled") != 0)
		printf("note: the tablet is not enrolled: the erase runs when it next enrols; "
		       "erase it by hand if it never does\n");
}

static int ret_loan(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans/return", ctl_opt_body(a),
			      print_returned);
}

static void print_loans(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {"ID",     "DEVICE", "PERSON", "NAME", "CLASS",
					   "SCHOOL", "STATE",  "SINCE",	 "DUE",	 "HOME"};
	struct ctl_table *t = ctl_fleet_table(10, head);
	json_t *l;
	size_t i;
	char id[24], since[32], due[40];
	json_array_foreach(all, i, l)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(l, "id")));
		snprintf(due, sizeof(due), "%s%s", ctl_fleet_str(l, "due"),
			 json_is_true(json_object_get(l, "overdue")) ? " OVERDUE" : "");
		const char *row[] = {id,
				     ctl_fleet_str(l, "device"),
				     ctl_fleet_str(l, "person"),
				     ctl_fleet_str(l, "name"),
				     ctl_fleet_str(l, "class"),
				     ctl_fleet_str(l, "school"),
				     ctl_fleet_str(l, "state"),
				     ctl_when_of(l, "started", since, sizeof(since)),
				     due,
				     json_is_true(json_object_get(l, "home_use")) ? "yes" : "no"};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_SCHOOL("only this collège's loans"),
    CTL_OPT_FLAG("--overdue", CTL_OPT_QUERY, "overdue", "only loans past their due date"),
    CTL_OPT_FILTER("--state", "S", "state",
		   "active (the default: open and returning), open, returning, closed or all"),
    CTL_OPT_FILTER("--person", "ID", "person", "only this person's loans"),
    CTL_OPT_FILTER("--device", "SERIAL", "device", "only this tablet's loans"),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_list(c, a, "/api/v1/loans", "loans", print_loans);
}

static void campaign_csv(json_t *ret)
{
	static const char *const head[] = {"class",	"person",	"name", "device",
					   "asset_tag", "loaned_since", "due",	"home_use"};
	json_t *cls, *l;
	size_t i, k;
	ctl_fleet_csv_line(stdout, head, 8);
	json_array_foreach(json_object_get(ret, "classes"), i, cls)
	{
		json_array_foreach(json_object_get(cls, "loans"), k, l)
		{
			const char *s = json_string_value(json_object_get(l, "started"));
			char day[16];
			snprintf(day, sizeof(day), "%.10s", s ? s : "");
			/* empty cells stay empty: no "-" in a CSV */
			const char *row[] = {json_string_value(json_object_get(cls, "class")),
					     json_string_value(json_object_get(l, "person")),
					     json_string_value(json_object_get(l, "name")),
					     json_string_value(json_object_get(l, "device")),
					     json_string_value(json_object_get(l, "asset_tag")),
					     day,
					     json_string_value(json_object_get(l, "due")),
					     json_is_true(json_object_get(l, "home_use")) ? "yes"
											  : "no"};
			ctl_fleet_csv_line(stdout, row, 8);
		}
	}
}

static void campaign_text(json_t *ret)
{
	json_t *cls, *l;
	size_t i, k;
	printf("collège %s: %lld pupils' tablets not back by %s\n", ctl_fleet_str(ret, "school"),
	       (long long)json_integer_value(json_object_get(ret, "tablets")),
	       ctl_fleet_str(ret, "by"));
	json_array_foreach(json_object_get(ret, "classes"), i, cls)
	{
		printf("\nclass %s (%lld)\n", ctl_fleet_str(cls, "class"),
		       (long long)json_integer_value(json_object_get(cls, "count")));
		json_array_foreach(json_object_get(cls, "loans"), k, l)
		{
			printf("  %-16s %-32s tablet %s %s\n", ctl_fleet_str(l, "person"),
			       ctl_fleet_str(l, "name"), ctl_fleet_str(l, "device"),
			       ctl_fleet_str(l, "asset_tag"));
		}
	}
}

static const struct ctl_opt campaign_opts[] = {
    {.name = "--school",
     .arg = "UAI",
     .how = CTL_OPT_QUERY,
     .key = "school",
     .need = "--school and --by are required",
     .help = "the collège"},
    {.name = "--by",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "by",
     .need = "--school and --by are required",
     .help = "the day pupils' tablets should be back"},
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static void print_campaign(json_t *ret, const struct ctl_args *a)
{
	if (ctl_fleet_csv(a))
		campaign_csv(ret);
	else
		campaign_text(ret);
}

static int campaign(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/loans/campaign", print_campaign);
}

static const struct ctl_opt show_opts[] = {
    CTL_OPT_ARG("ID", "one ID is required", "the loan's number (12 or #12)"),
    CTL_OPT_END,
};

static void print_one(json_t *l, const struct ctl_args *a)
{
	print_loan(l, a);
	printf("collège %s, class %s, %s since %s%s%s\n", ctl_fleet_str(l, "school"),
	       ctl_fleet_str(l, "class"), ctl_fleet_str(l, "state"), ctl_fleet_str(l, "started"),
	       json_is_null(json_object_get(l, "returned")) ? "" : ", handed back ",
	       json_is_null(json_object_get(l, "returned")) ? "" : ctl_fleet_str(l, "returned"));
}

static int show(struct ctl *c, const struct ctl_args *a)
{
	const char *id = ctl_opt_get(a, "ID");
	char path[128];
	ctl_path(path, sizeof(path), "/api/v1/loans/", id[0] == '#' ? id + 1 : id, "");
	return ctl_send_print(c, a, "GET", path, NULL, print_one);
}

const struct ctl_verb ctl_loan_verbs[] = {
    {"loan", "create", create, create_opts, 0,
     "lend a tablet in stock to a pupil or teacher of its collège"},
    {"loan", "return", ret_loan, return_opts, 0,
     "hand a tablet back: queues EraseDevice, state returning until it is acknowledged"},
    {"loan", "list", list, list_opts, 0, "loans in progress (or --state closed|all), --overdue"},
    {"loan", "campaign", campaign, campaign_opts, 0,
     "summer collection: pupils' tablets not back by a date, by class"},
    {"loan", "show", show, show_opts, 0, "one loan"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
