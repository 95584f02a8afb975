/* ctl_incident.c - incident declare, update, close, list, show. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const char declare_need[] = N_("--device, --kind and --occurred are required");
static const char note_help[] = N_("a note kept with the incident");

/* A cost in cents as people read it, "45,50 €" (the decimal comma of
 * the convention's paperwork); "-" when none. */
static const char *cost_text(json_t *in, char *buf, size_t cap)
{
	json_t *v = json_object_get(in, "cost_cents");
	if (!json_is_integer(v))
		return "-";
	long long c = (long long)json_integer_value(v);
	snprintf(buf, cap, "%lld,%02lld €", c / 100, c % 100);
	return buf;
}

/* The complaint part of an incident: "complaint missing" (overdue: past
 * 48 h), else its reference and day. */
static void print_complaint(json_t *in)
{
	char t[32];
	if (json_is_true(json_object_get(in, "complaint_missing")))
		printf("%s%s\n", _("complaint missing"),
		       json_is_true(json_object_get(in, "complaint_overdue"))
			   ? _(" — OVERDUE (still missing 48 h after the report)")
			   : "");
	if (strcmp(ctl_fleet_str(in, "police_ref"), "-") == 0)
		return;
	if (json_is_string(json_object_get(in, "complaint_date")))
		printf(_("police complaint %s of %s\n"), ctl_fleet_str(in, "police_ref"),
		       ctl_when_of(in, "complaint_date", t, sizeof(t)));
	else
		printf(_("police complaint %s\n"), ctl_fleet_str(in, "police_ref"));
}

static void print_one(json_t *in, const struct ctl_args *a)
{
	char t1[32], t2[32];
	printf(_("incident #%lld: %s of tablet %s (collège %s), %s\n"),
	       (long long)json_integer_value(json_object_get(in, "id")),
	       ctl_word(ctl_fleet_str(in, "kind")), ctl_fleet_str(in, "device"),
	       ctl_fleet_str(in, "school"), ctl_word(ctl_fleet_str(in, "status")));
	printf(_("occurred %s, declared %s by %s%s\n"), ctl_when_of(in, "occurred", t1, sizeof(t1)),
	       ctl_when_of(in, "declared", t2, sizeof(t2)), ctl_fleet_str(in, "declared_by"),
	       json_is_true(json_object_get(in, "late"))
		   ? _(" — LATE (reported more than 48 h after)")
		   : "");
	if (json_is_string(json_object_get(in, "reported")))
		printf(_("reported to the collège %s\n"),
		       ctl_when_of(in, "reported", t1, sizeof(t1)));
	print_complaint(in);
	if (json_is_integer(json_object_get(in, "cost_cents")) ||
	    json_is_true(json_object_get(in, "reimburse")))
		printf(_("cost %s%s\n"), cost_text(in, t1, sizeof(t1)),
		       json_is_true(json_object_get(in, "reimburse"))
			   ? _(", reimbursement asked of the family")
			   : "");
	if (strcmp(ctl_fleet_str(in, "holder"), "-") != 0)
		printf(_("on loan to %s\n"), ctl_fleet_str(in, "holder"));
	if (strcmp(ctl_fleet_str(in, "note"), "-") != 0)
		printf(_("note: %s\n"), ctl_fleet_str(in, "note"));
	if (strcmp(ctl_fleet_str(in, "status"), "closed") == 0)
		printf(_("closed %s by %s: %s\n"), ctl_when_of(in, "closed", t1, sizeof(t1)),
		       ctl_fleet_str(in, "closed_by"), ctl_word(ctl_fleet_str(in, "outcome")));
}

static const char reported_help[] =
    N_("when the family told the collège (default: now); more than 48 h after the event, the "
       "incident is marked late");
static const char police_help[] =
    N_("the police complaint's reference (a theft shows \"complaint missing\" without it)");
static const char complaint_help[] = N_("the day the police complaint was made");
static const char cost_help[] = N_("a damage's cost in euros (45,50 or 45.50)");
static const char reimburse_help[] = N_("a reimbursement of the cost is asked of the family");
static const char no_reimburse_help[] = N_("no reimbursement is asked of the family");

static const struct ctl_opt declare_opts[] = {
    CTL_OPT_FIELD("--device", "SERIAL", "device", declare_need, N_("the tablet")),
    CTL_OPT_FIELD("--kind", "loss|theft|damage|failure", "kind", declare_need, N_("what happened")),
    CTL_OPT_FIELD("--occurred", "YYYY-MM-DD[THH:MM]", "occurred", declare_need,
		  "when it happened (declared more than 48 h later, the incident is marked late)"),
    CTL_OPT_FIELD("--reported", "YYYY-MM-DD[THH:MM]", "reported", NULL, reported_help),
    CTL_OPT_FIELD("--police-ref", "R", "police_ref", NULL, police_help),
    CTL_OPT_FIELD("--complaint-date", "YYYY-MM-DD", "complaint_date", NULL, complaint_help),
    CTL_OPT_FIELD("--cost", "EUROS", "cost", NULL, cost_help),
    {.name = "--reimburse", .help = reimburse_help},
    {.name = "--no-reimburse", .help = no_reimburse_help},
    CTL_OPT_FIELD("--note", "T", "note", NULL, note_help),
    CTL_OPT_END,
};

/* The body of a's options, "reimburse" from --reimburse / --no-reimburse
 * (both: a usage error, *ret_rc CTL_EUSAGE and NULL). */
static json_t *body_of(const struct ctl_args *a, int *ret_rc)
{
	const char *yes = ctl_opt_get(a, "--reimburse"), *no = ctl_opt_get(a, "--no-reimburse");
	if (yes && no) {
		*ret_rc =
		    ctl_opt_usage(a->verb, "%s", _("give --reimburse or --no-reimburse, not both"));
		return NULL;
	}
	json_t *b = ctl_opt_body(a);
	if (b && (yes || no))
		json_object_set_new(b, "reimburse", json_boolean(yes != NULL));
	*ret_rc = CTL_OK;
	return b;
}

static void print_declared(json_t *in, const struct ctl_args *a)
{
	print_one(in, a);
	if (json_is_true(json_object_get(in, "late")))
		fprintf(stderr, _("ardoisectl: warning: %s\n"), ctl_fleet_str(in, "warning"));
}

static int declare(struct ctl *c, const struct ctl_args *a)
{
	int rc;
	json_t *b = body_of(a, &rc);
	return b ? ctl_send_print(c, a, "POST", "/api/v1/incidents", b, print_declared) : rc;
}

static const struct ctl_opt close_opts[] = {
    CTL_OPT_ARG("ID", "missing argument", "the incident's number (12 or #12)"),
    CTL_OPT_FIELD("--outcome", "found|repaired|written_off", "outcome", "--outcome is required",
		  "found or repaired: the tablet goes back; written_off: it is retired"),
    CTL_OPT_FIELD("--note", "T", "note", NULL, note_help),
    CTL_OPT_END,
};

/* method /api/v1/incidents/ID + suffix (ID: 12 or #12), with body; the
 * answer through human(). */
static int by_id(struct ctl *c, const struct ctl_args *a, const char *method, const char *suffix,
		 json_t *body, void (*human)(json_t *in, const struct ctl_args *a))
{
	const char *id = ctl_opt_get(a, "ID");
	char path[128];
	ctl_path(path, sizeof(path), "/api/v1/incidents/", id[0] == '#' ? id + 1 : id, suffix);
	return ctl_send_print(c, a, method, path, body, human);
}

static void print_closed(json_t *in, const struct ctl_args *a)
{
	json_t *v;
	size_t i;
	printf(_("incident #%s closed (%s); tablet %s is now %s\n"), ctl_opt_get(a, "ID"),
	       ctl_word(ctl_fleet_str(in, "outcome")), ctl_fleet_str(in, "device"),
	       ctl_word(ctl_fleet_str(in, "device_state")));
	json_array_foreach(json_object_get(in, "geolocation"), i, v)
	{
		printf(_("geolocation request %lld: %s -> %s\n"),
		       (long long)json_integer_value(json_object_get(v, "id")),
		       ctl_word(ctl_fleet_str(v, "from")), ctl_word(ctl_fleet_str(v, "state")));
	}
	json_array_foreach(json_object_get(in, "still_open"), i, v)
	{
		printf(_("still open: %s\n"), json_string_value(v));
	}
}

static const struct ctl_opt update_opts[] = {
    CTL_OPT_ARG("ID", "missing argument", "the incident's number (12 or #12)"),
    CTL_OPT_FIELD("--police-ref", "R", "police_ref", NULL, police_help),
    CTL_OPT_FIELD("--complaint-date", "YYYY-MM-DD", "complaint_date", NULL, complaint_help),
    CTL_OPT_FIELD("--reported", "YYYY-MM-DD[THH:MM]", "reported", NULL,
		  N_("correct when the family told the collège (needs --reason; late is "
		     "computed again)")),
    CTL_OPT_FIELD("--cost", "EUROS", "cost", NULL,
		  N_("a damage's cost in euros (45,50 or 45.50; \"\" removes it)")),
    {.name = "--reimburse", .help = reimburse_help},
    {.name = "--no-reimburse", .help = no_reimburse_help},
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_updated(json_t *in, const struct ctl_args *a)
{
	const char *k;
	json_t *v;
	printf(_("incident #%s updated:"), ctl_opt_get(a, "ID"));
	json_object_foreach(json_object_get(in, "changes"), k, v)
	{
		printf(" %s", k);
	}
	printf("\n");
	print_one(in, a);
}

static int update(struct ctl *c, const struct ctl_args *a)
{
	int rc;
	json_t *b = body_of(a, &rc);
	return b ? by_id(c, a, "POST", "/update", b, print_updated) : rc;
}

static int close_incident(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "POST", "/close", ctl_opt_body(a), print_closed);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_SCHOOL("only this collège's incidents"),
    CTL_OPT_FLAG("--open", CTL_OPT_QUERY, "open", "only open incidents"),
    CTL_OPT_FILTER("--device", "SERIAL", "device", "only this tablet's incidents"),
    CTL_OPT_FLAG("--complaint-missing", CTL_OPT_QUERY, "complaint_missing",
		 N_("only thefts whose police complaint (reference and day) is missing")),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static void print_incidents(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {
	    N_("ID"),	    N_("DEVICE"), N_("SCHOOL"),	    N_("KIND"), N_("STATUS"),
	    N_("OCCURRED"), N_("LATE"),	  N_("POLICE REF"), N_("COST"), N_("OUTCOME")};
	char id[24], when[32], cost[32];
	json_t *in;
	size_t i;
	struct ctl_table *t = ctl_fleet_table(10, head);
	json_array_foreach(all, i, in)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(in, "id")));
		const char *row[] = {id,
				     ctl_fleet_str(in, "device"),
				     ctl_fleet_str(in, "school"),
				     ctl_word(ctl_fleet_str(in, "kind")),
				     ctl_word(ctl_fleet_str(in, "status")),
				     ctl_when_of(in, "occurred", when, sizeof(when)),
				     json_is_true(json_object_get(in, "late")) ? _("late") : "",
				     json_is_true(json_object_get(in, "complaint_missing"))
					 ? _("complaint missing")
					 : ctl_fleet_str(in, "police_ref"),
				     cost_text(in, cost, sizeof(cost)),
				     ctl_word(ctl_fleet_str(in, "outcome"))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_list(c, a, "/api/v1/incidents", "incidents", print_incidents);
}

static const struct ctl_opt show_opts[] = {
    CTL_OPT_ARG("ID", "one ID is required", "the incident's number (12 or #12)"),
    CTL_OPT_END,
};

static int show(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "GET", "", NULL, print_one);
}

const struct ctl_verb ctl_incident_verbs[] = {
    {"incident", "declare", declare, declare_opts, 0,
     N_("declare a loss, theft (its police complaint may come later), damage or failure")},
    {"incident", "update", update, update_opts, 0,
     N_("add the police complaint, correct the report time, set a damage's cost and "
	"reimbursement")},
    {"incident", "close", close_incident, close_opts, 0,
     N_("close an incident: the tablet goes back, or is retired when written off")},
    {"incident", "list", list, list_opts, 0, N_("list incidents")},
    {"incident", "show", show, show_opts, 0, N_("one incident")},

    {NULL, NULL, NULL, NULL, 0, NULL},
};
