/* ctl_loan.c - loan create, return, list, campaign. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

static const char create_usage[] = "loan create --device SERIAL --person ID [--home-use] "
				   "[--due YYYY-MM-DD] [--reason R] [--json]";
static const char return_usage[] =
    "loan return SERIAL [--condition ok|damaged] [--reason R] [--json]";
static const char list_usage[] = "loan list [--school UAI] [--overdue] [--state S] "
				 "[--person ID] [--device SERIAL] [--json]";
static const char campaign_usage[] = "loan campaign --school UAI --by YYYY-MM-DD [--csv] [--json]";

static int create(struct ctl *c, int argc, char **argv)
{
	const char *dev = NULL, *person = NULL, *due = NULL, *reason = NULL;
	int home = 0;
	struct ctl_fleet_opt opts[] = {{"--device", &dev},	    {"--person", &person},
				       {"--home-use", NULL, &home}, {"--due", &due},
				       {"--reason", &reason},	    {NULL}};
	json_t *l = NULL;
	int rc = ctl_fleet_args(create_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	if (dev == NULL || person == NULL)
		return ctl_usage(create_usage, "--device and --person are required");
	rc = ctl_fleet_post(c, "/api/v1/loans",
			    json_pack("{s:s,s:s,s:b,s:s?,s:s?}", "device", dev, "person", person,
				      "home_use", home, "due", due, "reason", reason),
			    &l);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(l);
	else
		printf("loan #%lld: tablet %s to %s (%s)%s, due %s\n",
		       (long long)json_integer_value(json_object_get(l, "id")),
		       ctl_fleet_str(l, "device"), ctl_fleet_str(l, "person"),
		       ctl_fleet_str(l, "name"),
		       json_is_true(json_object_get(l, "home_use")) ? ", home use"
								    : ", school only",
		       ctl_fleet_str(l, "due"));
	json_decref(l);
	return CTL_OK;
}

static int ret_loan(struct ctl *c, int argc, char **argv)
{
	const char *dev = NULL, *cond = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--condition", &cond}, {"--reason", &reason}, {NULL}};
	json_t *l = NULL;
	int rc = ctl_fleet_args(return_usage, argc, argv, opts, &dev, 1, 1);
	if (rc != CTL_OK)
		return rc;
	rc = ctl_fleet_post(
	    c, "/api/v1/loans/return",
	    json_pack("{s:s,s:s?,s:s?}", "device", dev, "condition", cond, "reason", reason), &l);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(l);
	} else {
		json_t *e = json_object_get(l, "erase");
		printf("tablet %s handed back by %s (%s); EraseDevice %s queued%s; state returning "
		       "until the erase is acknowledged\n",
		       dev, ctl_fleet_str(l, "person"), ctl_fleet_str(l, "condition"),
		       ctl_fleet_str(e, "command"),
		       json_is_true(json_object_get(e, "return_to_service"))
			   ? " with Return to Service"
			   : "");
		if (strcmp(ctl_fleet_str(e, "enrollment"), "enrolled") != 0)
			printf(
			    "note: the tablet is not enrolled: the erase runs when it next enrols; "
			    "erase it by hand if it never does\n");
	}
	json_decref(l);
	return CTL_OK;
}

static void print_loans(json_t *a)
{
	static const char *const head[] = {"ID",     "DEVICE", "PERSON", "NAME", "CLASS",
					   "SCHOOL", "STATE",  "SINCE",	 "DUE",	 "HOME"};
	struct ctl_table *t = ctl_fleet_table(10, head);
	json_t *l;
	size_t i;
	char id[24], since[32], due[40];
	json_array_foreach(a, i, l)
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

static int list(struct ctl *c, int argc, char **argv)
{
	const char *school = NULL, *state = NULL, *person = NULL, *dev = NULL;
	int overdue = 0;
	struct ctl_fleet_opt opts[] = {{"--school", &school}, {"--overdue", NULL, &overdue},
				       {"--state", &state},   {"--person", &person},
				       {"--device", &dev},    {NULL}};
	char path[1024] = "/api/v1/loans";
	json_t *all = NULL;
	int rc = ctl_fleet_args(list_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	ctl_fleet_query(path, sizeof(path), "school", school);
	ctl_fleet_query(path, sizeof(path), "state", state);
	ctl_fleet_query(path, sizeof(path), "overdue", overdue ? "1" : NULL);
	ctl_fleet_query(path, sizeof(path), "person", person);
	ctl_fleet_query(path, sizeof(path), "device", dev);
	if (c->json)
		return ctl_fleet_print_all(c, path, "loans");
	if ((rc = ctl_fleet_get_all(c, path, "loans", &all)) != CTL_OK)
		return rc;
	print_loans(all);
	json_decref(all);
	return CTL_OK;
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

static int campaign(struct ctl *c, int argc, char **argv)
{
	const char *school = NULL, *by = NULL;
	int csv = 0;
	struct ctl_fleet_opt opts[] = {
	    {"--school", &school}, {"--by", &by}, {"--csv", NULL, &csv}, {NULL}};
	char path[512] = "/api/v1/loans/campaign";
	json_t *ret = NULL;
	int rc = ctl_fleet_args(campaign_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	if (school == NULL || by == NULL)
		return ctl_usage(campaign_usage, "--school and --by are required");
	ctl_fleet_query(path, sizeof(path), "school", school);
	ctl_fleet_query(path, sizeof(path), "by", by);
	if ((rc = ctl_call(c, "GET", path, NULL, &ret)) != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else if (csv)
		campaign_csv(ret);
	else
		campaign_text(ret);
	json_decref(ret);
	return CTL_OK;
}

const struct ctl_verb ctl_loan_verbs[] = {
    {"loan", "create", create, create_usage,
     "lend a tablet in stock to a pupil or teacher of its collège"},
    {"loan", "return", ret_loan, return_usage,
     "hand a tablet back: queues EraseDevice, state returning until it is acknowledged"},
    {"loan", "list", list, list_usage, "loans in progress (or --state closed|all), --overdue"},
    {"loan", "campaign", campaign, campaign_usage,
     "summer collection: pupils' tablets not back by a date, by class"},
    {NULL, NULL, NULL, NULL, NULL},
};
