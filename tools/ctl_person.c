/* ctl_person.c - person import, list, show, leave, agreement. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

static const char import_usage[] = "person import FILE.csv [--dry-run] [--reason R] [--json]";

static int import(struct ctl *c, int argc, char **argv)
{
	return ctl_fleet_import(c, import_usage, "/api/v1/people/import", argc, argv);
}

static void print_people(json_t *a)
{
	static const char *const head[] = {"ID",     "KIND",	  "NAME", "CLASS",
					   "SCHOOL", "AGREEMENT", "LEFT"};
	struct ctl_table *t = ctl_fleet_table(7, head);
	json_t *p;
	size_t i;
	json_array_foreach(a, i, p)
	{
		const char *row[] = {ctl_fleet_str(p, "id"),	 ctl_fleet_str(p, "kind"),
				     ctl_fleet_str(p, "name"),	 ctl_fleet_str(p, "class"),
				     ctl_fleet_str(p, "school"), ctl_fleet_str(p, "agreement"),
				     ctl_fleet_str(p, "left")};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int list(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "person list [--school UAI] [--class C] [--json]";
	const char *school = NULL, *cls = NULL;
	struct ctl_fleet_opt opts[] = {{"--school", &school}, {"--class", &cls}, {NULL}};
	char path[512] = "/api/v1/people";
	json_t *all = NULL;
	int rc = ctl_fleet_args(usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	ctl_fleet_query(path, sizeof(path), "school", school);
	ctl_fleet_query(path, sizeof(path), "class", cls);
	if (c->json)
		return ctl_fleet_print_all(c, path, "people");
	if ((rc = ctl_fleet_get_all(c, path, "people", &all)) != CTL_OK)
		return rc;
	print_people(all);
	json_decref(all);
	return CTL_OK;
}

static int show(struct ctl *c, int argc, char **argv)
{
	char path[256], t1[32], t2[32];
	json_t *p = NULL, *l;
	size_t i;
	if (argc != 1)
		return ctl_usage("person show ID [--json]", "one ID is required");
	ctl_path(path, sizeof(path), "/api/v1/people/", argv[0], "");
	int rc = ctl_call(c, "GET", path, NULL, &p);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(p);
	} else {
		static const char *const keys[] = {"id",     "kind",	  "name", "class",
						   "school", "agreement", "left"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			printf("%-10s %s\n", keys[k], ctl_fleet_str(p, keys[k]));
		printf("loans:\n");
		json_array_foreach(json_object_get(p, "loans"), i, l)
		{
			printf("  #%lld %-9s tablet %s from %s, returned %s, due %s\n",
			       (long long)json_integer_value(json_object_get(l, "id")),
			       ctl_fleet_str(l, "state"), ctl_fleet_str(l, "device"),
			       ctl_when_of(l, "started", t1, sizeof(t1)),
			       ctl_when_of(l, "returned", t2, sizeof(t2)), ctl_fleet_str(l, "due"));
		}
	}
	json_decref(p);
	return CTL_OK;
}

static int post_person(struct ctl *c, const char *id, const char *what, json_t *body, json_t **ret)
{
	char path[256], enc[160];
	ctl_urlenc(id, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/people/%s/%s", enc, what);
	return ctl_fleet_post(c, path, body, ret);
}

static int leave(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "person leave ID --date YYYY-MM-DD [--reason R] [--json]";
	const char *id = NULL, *date = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--date", &date}, {"--reason", &reason}, {NULL}};
	json_t *ret = NULL;
	int rc = ctl_fleet_args(usage, argc, argv, opts, &id, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (date == NULL)
		return ctl_usage(usage, "--date is required");
	rc = post_person(c, id, "leave", json_pack("{s:s,s:s?}", "date", date, "reason", reason),
			 &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("%s leaves on %s; %lld open loan(s) now due that day\n", id,
		       ctl_fleet_str(ret, "left"),
		       (long long)json_integer_value(json_object_get(ret, "loans_now_due")));
	json_decref(ret);
	return CTL_OK;
}

static int agreement(struct ctl *c, int argc, char **argv)
{
	static const char usage[] =
	    "person agreement ID (--date YYYY-MM-DD | --withdrawn) [--reason R] [--json]";
	const char *id = NULL, *date = NULL, *reason = NULL;
	int withdrawn = 0;
	struct ctl_fleet_opt opts[] = {
	    {"--date", &date}, {"--withdrawn", NULL, &withdrawn}, {"--reason", &reason}, {NULL}};
	json_t *ret = NULL;
	int rc = ctl_fleet_args(usage, argc, argv, opts, &id, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (!date == !withdrawn)
		return ctl_usage(usage, "give one of --date and --withdrawn");
	rc = post_person(
	    c, id, "agreement",
	    json_pack("{s:s?,s:b,s:s?}", "date", date, "withdrawn", withdrawn, "reason", reason),
	    &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else if (withdrawn)
		printf("%s: guardians' agreement withdrawn\n", id);
	else
		printf("%s: guardians' agreement signed on %s\n", id,
		       ctl_fleet_str(ret, "agreement"));
	json_decref(ret);
	return CTL_OK;
}

const struct ctl_verb ctl_person_verbs[] = {
    {"person", "import", import, import_usage,
     "import pupils and teachers from CSV (external_id, kind, name, class, uai[, agreement])"},
    {"person", "list", list, "person list [--school UAI] [--class C] [--json]",
     "list pupils and teachers"},
    {"person", "show", show, "person show ID [--json]", "one person and their loans"},
    {"person", "leave", leave, "person leave ID --date YYYY-MM-DD [--reason R] [--json]",
     "record the last day; open loans become due that day"},
    {"person", "agreement", agreement,
     "person agreement ID (--date D | --withdrawn) [--reason R] [--json]",
     "record the guardians' home-use agreement of a pupil"},
    {NULL, NULL, NULL, NULL, NULL},
};
