/* ctl_dashboard.c - the collège dashboard, one line a collège. */
#include "ctl.h"

#include <stdio.h>

static long long num(json_t *o, const char *group, const char *key)
{
	return (long long)json_integer_value(json_object_get(json_object_get(o, group), key));
}

/* "fr.ardoise.wifi 3, com.example.app 1" into buf ("" when none). */
static const char *failing_items(json_t *items, char *buf, size_t cap)
{
	size_t n = 0, i;
	json_t *it;
	buf[0] = '\0';
	json_array_foreach(items, i, it)
	{
		int k = snprintf(buf + n, cap - n, "%s%s %lld", i ? ", " : "",
				 ctl_fleet_str(it, "item"),
				 (long long)json_integer_value(json_object_get(it, "count")));
		if (k < 0 || (size_t)k >= cap - n)
			break;
		n += (size_t)k;
	}
	return buf;
}

static void print_school(json_t *s)
{
	char items[1024];
	failing_items(json_object_get(json_object_get(s, "policy"), "failing_items"), items,
		      sizeof(items));
	printf(_("%s %s (%s): %lld tablets, %lld enrolled, %lld not enrolled, unseen %lld for 7 d "
		 "and %lld for 30 d; policy %lld converged, %lld pending, %lld failing%s%s%s; "
		 "loans %lld open, %lld overdue, %lld home use; %lld open incidents; "
		 "%lld leaving within 30 d\n"),
	       ctl_fleet_str(s, "uai"), ctl_fleet_str(s, "name"), ctl_fleet_str(s, "commune"),
	       num(s, "tablets", "total"), num(s, "tablets", "enrolled"),
	       num(s, "tablets", "not_enrolled"), num(s, "tablets", "not_seen_7d"),
	       num(s, "tablets", "not_seen_30d"), num(s, "policy", "converged"),
	       num(s, "policy", "pending"), num(s, "policy", "failing"), items[0] ? " (" : "",
	       items, items[0] ? ")" : "", num(s, "loans", "open"), num(s, "loans", "overdue"),
	       num(s, "loans", "home_use"), num(s, "incidents", "open"),
	       (long long)json_integer_value(json_object_get(s, "leavers_soon")));
}

static void print_dashboard(json_t *d, const struct ctl_args *a)
{
	json_t *s;
	size_t i;
	(void)a;
	json_array_foreach(json_object_get(d, "schools"), i, s) print_school(s);
	if (json_array_size(json_object_get(d, "schools")) == 0)
		printf(_("no collège\n"));
}

static const struct ctl_opt dashboard_opts[] = {
    CTL_OPT_SCHOOL("only this collège"),
    CTL_OPT_END,
};

static int dashboard(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/dashboard", print_dashboard);
}

const struct ctl_verb ctl_dashboard_verbs[] = {
    {"dashboard", NULL, dashboard, dashboard_opts, 0,
     N_("per collège of your scope: tablets, enrolment, unseen, policy convergence, loans, "
	"incidents, leavers")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
