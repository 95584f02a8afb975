/* ctl_school.c - school import, add, list, show. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static int import(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_import(c, a, "/api/v1/schools/import");
}

static const struct ctl_opt add_opts[] = {
    {.name = "UAI",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "uai",
     .need = N_("missing argument"),
     .help = N_("the collège's UAI (e.g. 0131266F)")},
    CTL_OPT_FIELD("--name", "NAME", "name", "--name is required", "its name"),
    CTL_OPT_FIELD("--commune", "C", "commune", NULL, "its commune"),
    CTL_OPT_FIELD("--address", "A", "address", NULL, "its postal address"),
    CTL_OPT_FIELD("--sector", "S", "sector", NULL, "its sector"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_added(json_t *ret, const struct ctl_args *a)
{
	printf(_("added collège %s %s\n"), ctl_fleet_str(ret, "uai"), ctl_fleet_str(ret, "name"));
}

static int add(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/schools", ctl_opt_body(a), print_added);
}

static void print_schools(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("UAI"), N_("NAME"), N_("COMMUNE"), N_("SECTOR")};
	json_t *s;
	size_t i;
	if (ctl_fleet_csv(a)) { /* it imports back as it is */
		ctl_fleet_csv_json(all, stdout);
		return;
	}
	struct ctl_table *t = ctl_fleet_table(4, head);
	json_array_foreach(all, i, s)
	{
		const char *row[] = {ctl_fleet_str(s, "uai"), ctl_fleet_str(s, "name"),
				     ctl_fleet_str(s, "commune"), ctl_fleet_str(s, "sector")};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_member(c, a, "/api/v1/schools", "schools", print_schools);
}

static const struct ctl_opt show_opts[] = {
    CTL_OPT_ARG("UAI", "one UAI is required", "the collège"),
    CTL_OPT_END,
};

/* The equipment targets against the fleet: tablets held (not retired,
 * lost or stolen) and lent. */
static void print_targets(json_t *ret)
{
	char p[24], t[24];
	printf(_("targets   %s pupils, %s teachers to equip\n"),
	       ctl_fleet_int(json_object_get(ret, "pupils_equipped"), "-", p, sizeof(p)),
	       ctl_fleet_int(json_object_get(ret, "teachers_equipped"), "-", t, sizeof(t)));
	printf(_("equipped  %lld tablets held; lent to %lld pupils, %lld teachers\n"),
	       (long long)json_integer_value(json_object_get(ret, "held")),
	       (long long)json_integer_value(json_object_get(ret, "loaned_pupils")),
	       (long long)json_integer_value(json_object_get(ret, "loaned_teachers")));
}

static void print_school(json_t *ret, const struct ctl_args *a)
{
	json_t *st = json_object_get(ret, "by_state"), *v;
	const char *k;
	printf("%s  %s\n", ctl_fleet_str(ret, "uai"), ctl_fleet_str(ret, "name"));
	printf(_("address   %s, %s\n"), ctl_fleet_str(ret, "address"),
	       ctl_fleet_str(ret, "commune"));
	printf(_("sector    %s\n"), ctl_fleet_str(ret, "sector"));
	printf(_("tablets   %lld:"),
	       (long long)json_integer_value(json_object_get(ret, "devices")));
	/* "stock 3, loaned 0, ...": a state may be several words ("en stock") */
	int first = 1;
	json_object_foreach(st, k, v)
	{
		printf("%s %s %lld", first ? "" : ",", ctl_word(k),
		       (long long)json_integer_value(v));
		first = 0;
	}
	printf("\n");
	print_targets(ret);
	printf(_("loans     %lld open, %lld overdue\n"),
	       (long long)json_integer_value(json_object_get(ret, "loans_open")),
	       (long long)json_integer_value(json_object_get(ret, "overdue")));
	printf(_("incidents %lld open\n"),
	       (long long)json_integer_value(json_object_get(ret, "incidents_open")));
}

static int show(struct ctl *c, const struct ctl_args *a)
{
	char path[128];
	ctl_path(path, sizeof(path), "/api/v1/schools/", ctl_opt_get(a, "UAI"), "");
	return ctl_get_print(c, a, path, print_school);
}

const struct ctl_verb ctl_school_verbs[] = {
    {"school", "import", import, ctl_fleet_import_opts, 0,
     N_("import collèges from CSV (uai, name[, address, commune, sector, pupils_equipped, "
	"teachers_equipped]; French headers too); all rows or none")},
    {"school", "add", add, add_opts, 0, N_("add one collège")},
    {"school", "list", list, list_opts, 0, N_("list the collèges you can see")},
    {"school", "show", show, show_opts, 0, N_("one collège and its counts")},

    {NULL, NULL, NULL, NULL, 0, NULL},
};
