/* ctl_audit.c - audit list and verify. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "audit list [--since YYYY-MM-DD] [--json]";
	static const char *const head[] = {"ID", "WHEN", "ACTOR", "ACTION", "TARGET", "REASON"};
	const char *since = NULL;
	struct ctl_fleet_opt opts[] = {{"--since", &since}, {NULL}};
	char path[256] = "/api/v1/audit", id[24], when[32];
	json_t *all = NULL, *row;
	size_t i;
	int rc = ctl_fleet_args(usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	ctl_fleet_query(path, sizeof(path), "since", since);
	if (c->json)
		return ctl_fleet_print_all(c, path, "rows");
	if ((rc = ctl_fleet_get_all(c, path, "rows", &all)) != CTL_OK)
		return rc;
	struct ctl_table *t = ctl_fleet_table(6, head);
	json_array_foreach(all, i, row)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(row, "id")));
		const char *cells[] = {id,
				       ctl_fleet_when(row, "ts", when, sizeof(when)),
				       ctl_fleet_str(row, "actor"),
				       ctl_fleet_str(row, "action"),
				       ctl_fleet_str(row, "target"),
				       ctl_fleet_str(row, "reason")};
		ctl_fleet_row(t, cells);
	}
	ctl_fleet_table_print(t, stdout);
	json_decref(all);
	return CTL_OK;
}

static int verify(struct ctl *c, int argc, char **argv)
{
	json_t *v = NULL;
	if (argc > 0)
		return ctl_usage("audit verify [--json]", "unexpected argument '%s'", argv[0]);
	int rc = ctl_call(c, "GET", "/api/v1/audit/verify", NULL, &v);
	if (rc != CTL_OK)
		return rc;
	int intact = json_is_true(json_object_get(v, "intact"));
	long long rows = (long long)json_integer_value(json_object_get(v, "rows"));
	long long bad = (long long)json_integer_value(json_object_get(v, "first_bad_id"));
	if (c->json)
		ctl_print_json(v);
	else if (intact)
		printf("audit log intact: %lld rows, hash chain verified\n", rows);
	json_decref(v);
	if (!intact)
		return ctl_err("audit log broken at row %lld: it was edited or rows were deleted "
			       "(%lld rows before it verify)",
			       bad, rows);
	return CTL_OK;
}

const struct ctl_verb ctl_audit_verbs[] = {
    {"audit", "list", list, "audit list [--since YYYY-MM-DD] [--json]",
     "the audit log: who did what, when, on what, why"},
    {"audit", "verify", verify, "audit verify [--json]",
     "recompute the hash chain; names the first edited or missing row"},
    {NULL, NULL, NULL, NULL, NULL},
};
