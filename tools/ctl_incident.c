/* ctl_incident.c - incident declare, close, list, show. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

static const char declare_usage[] =
    "incident declare --device SERIAL --kind loss|theft|damage|failure --occurred "
    "YYYY-MM-DD[THH:MM] [--police-ref R] [--note T] [--json]";
static const char close_usage[] =
    "incident close ID --outcome found|repaired|written_off [--note T] [--json]";

static void print_one(json_t *in)
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

static int declare(struct ctl *c, int argc, char **argv)
{
	const char *dev = NULL, *kind = NULL, *occurred = NULL, *police = NULL, *note = NULL;
	struct ctl_fleet_opt opts[] = {{"--device", &dev},	  {"--kind", &kind},
				       {"--occurred", &occurred}, {"--police-ref", &police},
				       {"--note", &note},	  {NULL}};
	json_t *in = NULL;
	int rc = ctl_fleet_args(declare_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	if (dev == NULL || kind == NULL || occurred == NULL)
		return ctl_usage(declare_usage, "--device, --kind and --occurred are required");
	rc = ctl_fleet_post(c, "/api/v1/incidents",
			    json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "device", dev, "kind", kind,
				      "occurred", occurred, "police_ref", police, "note", note),
			    &in);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(in);
	} else {
		print_one(in);
		if (json_is_true(json_object_get(in, "late")))
			fprintf(stderr, "ardoisectl: warning: %s\n", ctl_fleet_str(in, "warning"));
	}
	json_decref(in);
	return CTL_OK;
}

static int close_incident(struct ctl *c, int argc, char **argv)
{
	const char *id = NULL, *outcome = NULL, *note = NULL;
	struct ctl_fleet_opt opts[] = {{"--outcome", &outcome}, {"--note", &note}, {NULL}};
	char path[128];
	json_t *in = NULL;
	int rc = ctl_fleet_args(close_usage, argc, argv, opts, &id, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (outcome == NULL)
		return ctl_usage(close_usage, "--outcome is required");
	ctl_path(path, sizeof(path), "/api/v1/incidents/", id[0] == '#' ? id + 1 : id, "/close");
	rc =
	    ctl_fleet_post(c, path, json_pack("{s:s,s:s?}", "outcome", outcome, "note", note), &in);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(in);
	else
		printf("incident #%s closed (%s); tablet %s is now %s\n", id,
		       ctl_fleet_str(in, "outcome"), ctl_fleet_str(in, "device"),
		       ctl_fleet_str(in, "device_state"));
	json_decref(in);
	return CTL_OK;
}

static int list(struct ctl *c, int argc, char **argv)
{
	static const char usage[] =
	    "incident list [--school UAI] [--open] [--device SERIAL] [--json]";
	static const char *const head[] = {"ID",       "DEVICE", "SCHOOL",     "KIND",	 "STATUS",
					   "OCCURRED", "LATE",	 "POLICE REF", "OUTCOME"};
	const char *school = NULL, *dev = NULL;
	int open = 0;
	struct ctl_fleet_opt opts[] = {
	    {"--school", &school}, {"--open", NULL, &open}, {"--device", &dev}, {NULL}};
	char path[512] = "/api/v1/incidents", id[24], when[32];
	json_t *all = NULL, *in;
	size_t i;
	int rc = ctl_fleet_args(usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	ctl_fleet_query(path, sizeof(path), "school", school);
	ctl_fleet_query(path, sizeof(path), "open", open ? "1" : NULL);
	ctl_fleet_query(path, sizeof(path), "device", dev);
	if (c->json)
		return ctl_fleet_print_all(c, path, "incidents");
	if ((rc = ctl_fleet_get_all(c, path, "incidents", &all)) != CTL_OK)
		return rc;
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
	json_decref(all);
	return CTL_OK;
}

static int show(struct ctl *c, int argc, char **argv)
{
	char path[128];
	json_t *in = NULL;
	if (argc != 1)
		return ctl_usage("incident show ID [--json]", "one ID is required");
	ctl_path(path, sizeof(path), "/api/v1/incidents/",
		 argv[0][0] == '#' ? argv[0] + 1 : argv[0], "");
	int rc = ctl_call(c, "GET", path, NULL, &in);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(in);
	else
		print_one(in);
	json_decref(in);
	return CTL_OK;
}

const struct ctl_verb ctl_incident_verbs[] = {
    {"incident", "declare", declare, declare_usage,
     "declare a loss, theft (police reference required), damage or failure"},
    {"incident", "close", close_incident, close_usage,
     "close an incident: the tablet goes back, or is retired when written off"},
    {"incident", "list", list, "incident list [--school UAI] [--open] [--device SERIAL] [--json]",
     "list incidents"},
    {"incident", "show", show, "incident show ID [--json]", "one incident"},
    {NULL, NULL, NULL, NULL, NULL},
};
