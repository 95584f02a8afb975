/* ctl_loan.c - loan create, return, deposit, resume, update, list, show,
 * campaign. */
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
    CTL_OPT_FIELD("--override-reason", "TEXT", "override_reason", NULL,
		  N_("technicians: lend an unenrolled tablet for home use anyway (audited)")),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

/* What a loan's flags say: deposited for the summer, overdue, its flag. */
static void print_marks(json_t *l)
{
	char when[32], due[32];
	if (!json_is_null(json_object_get(l, "deposited")) && json_object_get(l, "deposited"))
		printf(_("  deposited at the collège since %s (loan suspended)\n"),
		       ctl_when_of(l, "deposited", when, sizeof(when)));
	if (json_is_true(json_object_get(l, "overdue")))
		printf(_("  OVERDUE since %s\n"), ctl_when_of(l, "due", due, sizeof(due)));
	if (strcmp(ctl_fleet_str(l, "flag"), "agreement_withdrawn") == 0)
		printf(_("  flag: guardians' agreement withdrawn, home use turned school-only\n"));
}

static void print_loan(json_t *l, const struct ctl_args *a)
{
	char due[32];
	printf(_("loan #%lld: tablet %s to %s (%s)%s, due %s\n"),
	       (long long)json_integer_value(json_object_get(l, "id")), ctl_fleet_str(l, "device"),
	       ctl_fleet_str(l, "person"), ctl_fleet_str(l, "name"),
	       json_is_true(json_object_get(l, "home_use")) ? _(", home use") : _(", school only"),
	       ctl_when_of(l, "due", due, sizeof(due)));
	print_marks(l);
}

static int create(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans", ctl_opt_body(a), print_loan);
}

static const struct ctl_opt return_opts[] = {
    {.name = "SERIAL",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "device",
     .need = N_("missing argument"),
     .help = N_("the tablet handed back")},
    CTL_OPT_FIELD("--condition", "ok|damaged", "condition", NULL, "the state it comes back in"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_returned(json_t *l, const struct ctl_args *a)
{
	json_t *e = json_object_get(l, "erase");
	printf(_("tablet %s handed back by %s (%s); EraseDevice %s queued%s; state returning "
		 "until the erase is acknowledged\n"),
	       ctl_opt_get(a, "SERIAL"), ctl_fleet_str(l, "person"),
	       ctl_word(ctl_fleet_str(l, "condition")), ctl_fleet_str(e, "command"),
	       json_is_true(json_object_get(e, "return_to_service")) ? _(" with Return to Service")
								     : "");
	if (json_is_integer(json_object_get(l, "incident")))
		printf(_("damage incident #%lld opened: the tablet goes to repair, not to stock\n"),
		       (long long)json_integer_value(json_object_get(l, "incident")));
	if (strcmp(ctl_fleet_str(e, "enrollment"), "enrolled") != 0)
		printf(_("note: the tablet is not enrolled: the erase runs when it next enrols; if "
			 "it never does, a technician closes the return with device mark-erased "
			 "(or retires or moves the tablet)\n"));
}

static int ret_loan(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans/return", ctl_opt_body(a),
			      print_returned);
}

static const struct ctl_opt deposit_opts[] = {
    {.name = "SERIAL",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "device",
     .need = N_("missing argument"),
     .help = N_("the tablet on loan")},
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_deposit(json_t *l, const struct ctl_args *a)
{
	if (json_is_null(json_object_get(l, "deposited")))
		printf(_("tablet %s: loan to %s resumed\n"), ctl_fleet_str(l, "device"),
		       ctl_fleet_str(l, "person"));
	else
		printf(_("tablet %s: deposited at the collège (loan to %s suspended, nothing "
			 "erased)\n"),
		       ctl_fleet_str(l, "device"), ctl_fleet_str(l, "person"));
}

static int deposit(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans/deposit", ctl_opt_body(a),
			      print_deposit);
}

static int resume(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/loans/resume", ctl_opt_body(a), print_deposit);
}

static const struct ctl_opt update_opts[] = {
    {.name = "SERIAL",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "device",
     .need = N_("missing argument"),
     .help = N_("the tablet on loan")},
    {.name = "--home-use", .help = N_("the tablet may go home (checked as for a new loan)")},
    {.name = "--school-only", .help = N_("the tablet stays at the collège")},
    CTL_OPT_FIELD("--due", "YYYY-MM-DD", "due", NULL, N_("the new due date")),
    CTL_OPT_FIELD("--override-reason", "TEXT", "override_reason", NULL,
		  N_("technicians: home use of an unenrolled tablet anyway (audited)")),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static int update(struct ctl *c, const struct ctl_args *a)
{
	int home = ctl_opt_get(a, "--home-use") != NULL,
	    school = ctl_opt_get(a, "--school-only") != NULL;
	if (home && school)
		return ctl_opt_usage(a->verb, "%s",
				     _("give --home-use or --school-only, not both"));
	if (!home && !school && ctl_opt_get(a, "--due") == NULL)
		return ctl_opt_usage(a->verb, "%s", _("give --home-use, --school-only or --due"));
	json_t *body = ctl_opt_body(a);
	if (home || school)
		json_object_set_new(body, "home_use", json_boolean(home));
	return ctl_send_print(c, a, "POST", "/api/v1/loans/update", body, print_loan);
}

static void print_loans(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("ID"),	N_("DEVICE"), N_("PERSON"), N_("NAME"),
					   N_("CLASS"), N_("SCHOOL"), N_("STATE"),  N_("SINCE"),
					   N_("DUE"),	N_("HOME"),   N_("FLAG")};
	struct ctl_table *t = ctl_fleet_table(11, head);
	json_t *l;
	size_t i;
	char id[24], since[32], due[64], day[32], state[48];
	json_array_foreach(all, i, l)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(l, "id")));
		snprintf(due, sizeof(due), "%s%s", ctl_when_of(l, "due", day, sizeof(day)),
			 json_is_true(json_object_get(l, "overdue")) ? _(" OVERDUE") : "");
		snprintf(state, sizeof(state), "%s%s", ctl_word(ctl_fleet_str(l, "state")),
			 json_is_string(json_object_get(l, "deposited")) ? _(" (deposited)") : "");
		const char *row[] = {id,
				     ctl_fleet_str(l, "device"),
				     ctl_fleet_str(l, "person"),
				     ctl_fleet_str(l, "name"),
				     ctl_fleet_str(l, "class"),
				     ctl_fleet_str(l, "school"),
				     state,
				     ctl_when_of(l, "started", since, sizeof(since)),
				     due,
				     json_is_true(json_object_get(l, "home_use")) ? _("yes")
										  : _("no"),
				     ctl_word(ctl_fleet_str(l, "flag"))};
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
	static const char *const head[] = {"class",  "person",	  "name",
					   "device", "asset_tag", "loaned_since",
					   "due",    "home_use",  "deposited"};
	json_t *cls, *l;
	size_t i, k;
	ctl_fleet_csv_line(stdout, head, 9);
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
											  : "no",
					     json_string_value(json_object_get(l, "deposited"))};
			ctl_fleet_csv_line(stdout, row, 9);
		}
	}
}

static long long count_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* The printable checklist: per class, a box per pupil, ticked (with the
 * time) once the tablet is deposited. */
static void campaign_text(json_t *ret)
{
	char when[32], by[32];
	json_t *cls, *l;
	size_t i, k;
	printf(_("collège %s, summer deposit by %s: %lld pupils' tablets, %lld deposited, %lld to "
		 "collect\n"),
	       ctl_fleet_str(ret, "school"), ctl_when_of(ret, "by", by, sizeof(by)),
	       count_of(ret, "tablets"), count_of(ret, "deposited"), count_of(ret, "to_collect"));
	json_array_foreach(json_object_get(ret, "classes"), i, cls)
	{
		printf(_("\nclass %s (%lld): %lld deposited, %lld to collect\n"),
		       ctl_fleet_str(cls, "class"), count_of(cls, "count"),
		       count_of(cls, "deposited"), count_of(cls, "to_collect"));
		json_array_foreach(json_object_get(cls, "loans"), k, l)
		{
			int dep = json_is_string(json_object_get(l, "deposited"));
			printf("  [%s] %-16s %-32s %s %s %s\n", dep ? "x" : " ",
			       ctl_fleet_str(l, "person"), ctl_fleet_str(l, "name"), _("tablet"),
			       ctl_fleet_str(l, "device"), ctl_fleet_str(l, "asset_tag"));
			if (dep)
				printf(_("       deposited %s\n"),
				       ctl_when_of(l, "deposited", when, sizeof(when)));
		}
	}
}

static const struct ctl_opt campaign_opts[] = {
    {.name = "--school",
     .arg = "UAI",
     .how = CTL_OPT_QUERY,
     .key = "school",
     .need = N_("--school and --by are required"),
     .help = N_("the collège")},
    {.name = "--by",
     .arg = "YYYY-MM-DD",
     .how = CTL_OPT_QUERY,
     .key = "by",
     .need = N_("--school and --by are required"),
     .help = N_("the day pupils' tablets should be back")},
    CTL_OPT_FILTER("--class", "C", "class", N_("only this class (e.g. 3A): its checklist")),
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
	char t1[32], t2[32];
	int back = !json_is_null(json_object_get(l, "returned"));
	print_loan(l, a);
	printf(_("collège %s, class %s, %s since %s%s%s\n"), ctl_fleet_str(l, "school"),
	       ctl_fleet_str(l, "class"), ctl_word(ctl_fleet_str(l, "state")),
	       ctl_when_of(l, "started", t1, sizeof(t1)), back ? _(", handed back ") : "",
	       back ? ctl_when_of(l, "returned", t2, sizeof(t2)) : "");
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
     N_("lend a tablet in stock to a pupil or teacher of its collège")},
    {"loan", "return", ret_loan, return_opts, 0,
     N_("hand a tablet back: queues EraseDevice, state returning until it is acknowledged")},
    {"loan", "list", list, list_opts, 0,
     N_("loans in progress (or --state closed|all), --overdue")},
    {"loan", "deposit", deposit, deposit_opts, 0,
     N_("summer deposit: the tablet is kept at the collège, its loan suspended, nothing "
	"erased")},
    {"loan", "resume", resume, deposit_opts, 0,
     N_("the start of the year: a deposited tablet goes back to its pupil")},
    {"loan", "update", update, update_opts, 0,
     N_("switch a loan between school only and home use, change its due date")},
    {"loan", "campaign", campaign, campaign_opts, 0,
     N_("summer deposit checklist per class (--class): who has deposited, how many to "
	"collect")},
    {"loan", "show", show, show_opts, 0, N_("one loan")},

    {NULL, NULL, NULL, NULL, 0, NULL},
};
