/* ctl_incident.c - incident declare, close, list, show. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const char declare_need[] = "--device, --kind and --occurred are required";
static const char note_help[] = "a note kept with the incident";

static void print_one(json_t *in, const struct ctl_args *a)
{
	char t1[32], t2[32];
	printf("incident #%lld: %s of tablet %s (collège %s), %s\n",
	       (long long)json_integer_value(json_object_get(in, "id")), ctl_fleet_str(in, "kind"),
	       ctl_fleet_str(in, "device"), ctl_fleet_str(in, "school"),
	       ctl_fleet_str(in, "status"));
	printf("occurred %s, declared %s by %s%s\n", ctl_when_of(in, "occurred", t1, sizeof(t1)),
	       ctl_when_of(in, "declared", t2, sizeof(t2)), ctl_fleet_str(in, "declared_by"),
	       json_is_true(json_object_get(in, "late")) ? " — LATE (more than 48 h after)" : "");
	if (strcmp(ctl_fleet_str(in, "police_ref"), "-") != 0)
		printf("police complaint %s\n", ctl_fleet_str(in, "police_ref"));
	if (strcmp(ctl_fleet_str(in, "holder"), "-") != 0)
		printf("on loan to %s\n", ctl_fleet_str(in, "holder"));
	if (strcmp(ctl_fleet_str(in, "note"), "-") != 0)
		printf("note: %s\n", ctl_fleet_str(in, "note"));
	if (strcmp(ctl_fleet_str(in, "status"), "closed") == 0)
		printf("closed %s by %s: %s\n", ctl_when_of(in, "closed", t1, sizeof(t1)),
		       ctl_fleet_str(in, "closed_by"), ctl_fleet_str(in, "outcome"));
}

static const struct ctl_opt declare_opts[] = {
    CTL_OPT_FIELD("--device", "SERIAL", "device", declare_need, "the tablet"),
    CTL_OPT_FIELD("--kind", "loss|theft|damage|failure", "kind", declare_need, "what happened"),
    CTL_OPT_FIELD("--occurred", "YYYY-MM-DD[THH:MM]", "occurred", declare_need,
		  "when it happened (declared more than 48 h later, the incident is marked late)"),
    CTL_OPT_FIELD("--police-ref", "R", "police_ref", NULL,
		  "the police complaint's reference (required for a theft)"),
    CTL_OPT_FIELD("--note", "T", "note", NULL, note_help),
    CTL_OPT_END,
};

static void print_declared(json_t *in, const struct ctl_args *a)
{
	print_one(in, a);
	if (json_is_true(json_object_get(in, "late")))
		fprintf(stderr, "ardoisectl: warning: %s\n", ctl_fleet_str(in, "warning"));
}

static int declare(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/incidents", ctl_opt_body(a), print_declared);
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
	printf("incident #%s closed (%s); tablet %s is now %s\n", ctl_opt_get(a, "ID"),
	       ctl_fleet_str(in, "outcome"), ctl_fleet_str(in, "device"),
	       ctl_fleet_str(in, "device_state"));
}

static int close_incident(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "POST", "/close", ctl_opt_body(a), print_closed);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_SCHOOL("only this collège's incidents"),
    CTL_OPT_FLAG("--open", CTL_OPT_QUERY, "open", "only open incidents"),
    CTL_OPT_FILTER("--device", "SERIAL", "device", "only this tablet's incidents"),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static void print_incidents(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {"ID",       "DEVICE", "SCHOOL",     "KIND",	 "STATUS",
					   "OCCURRED", "LATE",	 "POLICE REF", "OUTCOME"};
	char id[24], when[32];
	json_t *in;
	size_t i;
	struct ctl_table *t = ctl_fleet_table(9, head);
	json_array_foreach(all, i, in)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(in, "id")));
		const char *row[] = {id,
				     ctl_fleet_str(in, "device"),
				     ctl_fleet_str(in, "school"),
				     ctl_fleet_str(in, "kind"),
				     ctl_fleet_str(in, "status"),
				     ctl_when_of(in, "occurred", when, sizeof(when)),
				     json_is_true(json_object_get(in, "late")) ? "late" : "",
				     ctl_fleet_str(in, "police_ref"),
				     ctl_fleet_str(in, "outcome")};
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
     "declare a loss, theft (police reference required), damage or failure"},
    {"incident", "close", close_incident, close_opts, 0,
     "close an incident: the tablet goes back, or is retired when written off"},
    {"incident", "list", list, list_opts, 0, "list incidents"},
    {"incident", "show", show, show_opts, 0, "one incident"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
