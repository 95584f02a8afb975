/* ctl_audit.c - audit list and verify. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_opt list_opts[] = {
    CTL_OPT_FILTER("--since", "YYYY-MM-DD", "since", "only rows from that day on"),
    CTL_OPT_FILTER("--from", "DAY|TIME", "from",
		   "only rows from then on (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ)"),
    CTL_OPT_FILTER("--to", "DAY|TIME", "to", "only rows up to then (a day: to its end)"),
    CTL_OPT_FILTER("--actor", "NAME", "actor", "only this account's rows (or system)"),
    CTL_OPT_FILTER("--action", "A", "action",
		   "only this action (loan.create) or family (loan: loan.create, loan.return...)"),
    CTL_OPT_FILTER("--target", "T", "target", "only rows on this tablet, account, person..."),
    CTL_OPT_SCHOOL("only rows on this collège, its tablets, people and policy scopes"),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static void print_rows(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {"ID",	 N_("WHEN"),   N_("ACTOR"),
					   N_("ACTION"), N_("TARGET"), N_("REASON")};
	char id[24], when[32];
	json_t *row;
	size_t i;
	struct ctl_table *t = ctl_fleet_table(6, head);
	json_array_foreach(all, i, row)
	{
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(row, "id")));
		const char *cells[] = {id,
				       ctl_when_of(row, "ts", when, sizeof(when)),
				       ctl_fleet_str(row, "actor"),
				       ctl_fleet_str(row, "action"),
				       ctl_fleet_str(row, "target"),
				       ctl_fleet_str(row, "reason")};
		ctl_fleet_row(t, cells);
	}
	ctl_fleet_table_print(t, stdout);
}

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_list(c, a, "/api/v1/audit", "rows", print_rows);
}

/* The last "audit_head ..." line of arg: a file (a copy of audit.head,
 * or a log), else arg itself (a pasted line); from "audit_head" to the end
 * of its line, into out.  0, or -1 when there is none. */
static int head_text(const char *arg, char *out, size_t cap)
{
	char *line = NULL;
	size_t n = 0;
	out[0] = '\0';
	FILE *f = fopen(arg, "r");
	if (f == NULL) {
		const char *p = strstr(arg, "audit_head ");
		if (p)
			snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
		return out[0] ? 0 : -1;
	}
	while (getline(&line, &n, f) > 0) {
		const char *p = strstr(line, "audit_head ");
		if (p)
			snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
	}
	free(line);
	fclose(f);
	return out[0] ? 0 : -1;
}

static void print_verified(json_t *v)
{
	json_t *head = json_object_get(v, "head"), *keyed = json_object_get(v, "keyed_from");
	char at[32];
	printf(_("audit log intact: %lld rows, hash chain verified"),
	       (long long)json_integer_value(json_object_get(v, "rows")));
	if (keyed && !json_is_null(keyed))
		printf(_(" (keyed from row %lld)"), (long long)json_integer_value(keyed));
	printf("\n");
	if (head)
		printf(_("saved head present: row %lld (%lld rows, at %s)\n"),
		       (long long)json_integer_value(json_object_get(head, "last_id")),
		       (long long)json_integer_value(json_object_get(head, "count")),
		       ctl_when_of(head, "at", at, sizeof(at)));
}

static const struct ctl_opt verify_opts[] = {
    {.name = "--head",
     .arg = "FILE|LINE",
     .help = N_("a head saved elsewhere: a copy of audit.head, a log with audit_head lines (the "
		"last one counts), or one such line")},
    CTL_OPT_END,
};

static int verify(struct ctl *c, const struct ctl_args *a)
{
	const char *head_arg = ctl_opt_get(a, "--head");
	char path[1400] = "/api/v1/audit/verify", head[400];
	json_t *v = NULL;
	int rc;
	if (head_arg && head_text(head_arg, head, sizeof(head)) < 0)
		return ctl_opt_usage(
		    a->verb, "no 'audit_head count=... last_id=... hash=...' in %s", head_arg);
	ctl_query_add(path, sizeof(path), "head", head_arg ? head : NULL);
	if ((rc = ctl_call(c, "GET", path, NULL, &v)) != CTL_OK)
		return rc;
	int intact = json_is_true(json_object_get(v, "intact"));
	json_t *h = json_object_get(v, "head");
	int head_ok = h == NULL || json_is_true(json_object_get(h, "ok"));
	long long rows = (long long)json_integer_value(json_object_get(v, "rows"));
	long long bad = (long long)json_integer_value(json_object_get(v, "first_bad_id"));
	if (c->json)
		ctl_print_json(v);
	else if (intact && head_ok)
		print_verified(v);
	if (!head_ok)
		ctl_err("%s", ctl_fleet_str(h, "problem"));
	json_decref(v);
	if (!intact)
		return ctl_err("audit log broken at row %lld: it was edited or rows were deleted "
			       "(%lld rows before it verify)",
			       bad, rows);
	return head_ok ? CTL_OK : CTL_EFAIL;
}

const struct ctl_verb ctl_audit_verbs[] = {
    {"audit", "list", list, list_opts, 0, N_("the audit log: who did what, when, on what, why")},
    {"audit", "verify", verify, verify_opts, 0,
     N_("recompute the keyed hash chain; names the first edited or missing row; with --head, "
	"checks the log still holds a head saved elsewhere (a copy of audit.head, a log with "
	"audit_head lines, or one such line): a deleted tail or a wiped log is reported")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
