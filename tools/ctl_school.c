/* ctl_school.c - school import, add, list, show. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

static const char import_usage[] = "school import FILE.csv [--dry-run] [--reason R] [--json]";
static const char add_usage[] =
    "school add UAI --name NAME [--commune C] [--address A] [--sector S] [--reason R] [--json]";

static int import(struct ctl *c, int argc, char **argv)
{
	return ctl_fleet_import(c, import_usage, "/api/v1/schools/import", argc, argv);
}

static int add(struct ctl *c, int argc, char **argv)
{
	const char *uai = NULL, *name = NULL, *commune = NULL, *address = NULL, *sector = NULL,
		   *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--name", &name},	{"--commune", &commune},
				       {"--address", &address}, {"--sector", &sector},
				       {"--reason", &reason},	{NULL}};
	json_t *ret = NULL;
	int rc = ctl_fleet_args(add_usage, argc, argv, opts, &uai, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (name == NULL)
		return ctl_usage(add_usage, "--name is required");
	rc = ctl_fleet_post(c, "/api/v1/schools",
			    json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?}", "uai", uai, "name", name,
				      "commune", commune, "address", address, "sector", sector,
				      "reason", reason),
			    &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("added collège %s %s\n", ctl_fleet_str(ret, "uai"),
		       ctl_fleet_str(ret, "name"));
	json_decref(ret);
	return CTL_OK;
}

static int list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = {"UAI", "NAME", "COMMUNE", "SECTOR"};
	json_t *ret = NULL, *s;
	size_t i;
	if (argc > 0)
		return ctl_usage("school list [--json]", "unexpected argument '%s'", argv[0]);
	int rc = ctl_call(c, "GET", "/api/v1/schools", NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	json_t *a = json_object_get(ret, "schools");
	if (c->json) {
		ctl_print_json(a);
	} else {
		struct ctl_table *t = ctl_fleet_table(4, head);
		json_array_foreach(a, i, s)
		{
			const char *row[] = {ctl_fleet_str(s, "uai"), ctl_fleet_str(s, "name"),
					     ctl_fleet_str(s, "commune"),
					     ctl_fleet_str(s, "sector")};
			ctl_fleet_row(t, row);
		}
		ctl_fleet_table_print(t, stdout);
	}
	json_decref(ret);
	return CTL_OK;
}

static int show(struct ctl *c, int argc, char **argv)
{
	char path[128];
	json_t *ret = NULL;
	if (argc != 1)
		return ctl_usage("school show UAI [--json]", "one UAI is required");
	ctl_path(path, sizeof(path), "/api/v1/schools/", argv[0], "");
	int rc = ctl_call(c, "GET", path, NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		json_t *st = json_object_get(ret, "by_state"), *v;
		const char *k;
		printf("%s  %s\n", ctl_fleet_str(ret, "uai"), ctl_fleet_str(ret, "name"));
		printf("address   %s, %s\n", ctl_fleet_str(ret, "address"),
		       ctl_fleet_str(ret, "commune"));
		printf("sector    %s\n", ctl_fleet_str(ret, "sector"));
		printf("tablets   %lld:",
		       (long long)json_integer_value(json_object_get(ret, "devices")));
		json_object_foreach(st, k, v)
		    printf(" %s %lld", k, (long long)json_integer_value(v));
		printf("\nloans     %lld open, %lld overdue\n",
		       (long long)json_integer_value(json_object_get(ret, "loans_open")),
		       (long long)json_integer_value(json_object_get(ret, "overdue")));
		printf("incidents %lld open\n",
		       (long long)json_integer_value(json_object_get(ret, "incidents_open")));
	}
	json_decref(ret);
	return CTL_OK;
}

const struct ctl_verb ctl_school_verbs[] = {
    {"school", "import", import, import_usage,
     "import collèges from CSV (uai, name[, address, commune, sector]); all rows or none"},
    {"school", "add", add, add_usage, "add one collège"},
    {"school", "list", list, "school list [--json]", "list the collèges you can see"},
    {"school", "show", show, "school show UAI [--json]", "one collège and its counts"},
    {NULL, NULL, NULL, NULL, NULL},
};
