/* ctl_update.c - iPadOS updates: Apple's catalogue as the daemon keeps it,
 * the update plans (DDM software update enforcement) and where the
 * tablets stand. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_opt catalogue_opts[] = {
    CTL_OPT_FILTER("--model", "MODEL", "model",
		   N_("one product type (iPad13,18) instead of every iPad")),
    CTL_OPT_END,
};

/* "18.2 (22C152)" of a release object; "-" for null. */
static const char *release_text(json_t *rel, char *buf, size_t cap)
{
	if (!json_is_object(rel))
		return "-";
	snprintf(buf, cap, "%s (%s)", ctl_fleet_str(rel, "version"), ctl_fleet_str(rel, "build"));
	return buf;
}

/* The versions offered, "18.2, 18.1.1, 17.7.2", each once. */
static const char *offered_text(json_t *offered, char *buf, size_t cap)
{
	json_t *rel;
	size_t i, o = 0;
	const char *prev = NULL;
	buf[0] = '\0';
	json_array_foreach(offered, i, rel)
	{
		const char *v = ctl_fleet_str(rel, "version");
		if (prev && strcmp(prev, v) == 0)
			continue;
		int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", v);
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
		prev = v;
	}
	return o ? buf : "-";
}

/* A label of the state's lines, padded to LABEL_COLS characters (UTF-8:
 * the French labels are longer in bytes than on screen). */
#define LABEL_COLS 26
static void label(const char *s)
{
	size_t cols = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	printf("%s%*s", s, cols < LABEL_COLS ? (int)(LABEL_COLS - cols) : 1, "");
}

static void print_state(json_t *ret)
{
	char t[64];
	json_t *err = json_object_get(ret, "last_error");
	json_t *win = json_object_get(ret, "windows");
	label(_("catalogue:"));
	printf("%s\n", ctl_fleet_str(ret, "url"));
	label(_("fetched:"));
	if (json_is_string(json_object_get(ret, "fetched_at")))
		printf(_("%s (%lld releases)\n"), ctl_when_of(ret, "fetched_at", t, sizeof(t)),
		       (long long)json_integer_value(json_object_get(ret, "releases")));
	else
		printf("%s\n", _("never (no copy kept)"));
	if (json_is_true(json_object_get(ret, "fetching"))) {
		label(_("now:"));
		printf("%s\n", _("fetching"));
	}
	if (json_is_object(err)) {
		json_t *st = json_object_get(err, "status");
		label(_("last attempt failed:"));
		printf("%s: ", ctl_when_of(err, "at", t, sizeof(t)));
		if (json_is_integer(st))
			printf(_("HTTP %lld: "), (long long)json_integer_value(st));
		printf("%s\n", ctl_fleet_str(err, "message"));
	}
	if (json_is_object(win)) {
		label(_("update windows:"));
		printf("%s\n", ctl_fleet_str(win, "allowed_windows"));
		label(_("next allowed:"));
		printf("%s\n", json_is_true(json_object_get(win, "allowed_now"))
				   ? _("now")
				   : ctl_when_of(win, "next_allowed", t, sizeof(t)));
	}
}

static void print_catalogue(json_t *ret, const struct ctl_args *a)
{
	static const char *const head[] = {N_("MODEL"), N_("LATEST"), N_("POSTED"), N_("EXPIRES"),
					   N_("OFFERED")};
	json_t *m, *models = json_object_get(ret, "models");
	size_t i;
	(void)a;
	print_state(ret);
	if (json_array_size(models) == 0) {
		printf("%s\n", _("no model in the catalogue"));
		return;
	}
	putchar('\n');
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(models, i, m)
	{
		char latest[96], offered[1024], posted[32], expires[32];
		json_t *l = json_object_get(m, "latest");
		const char *row[] = {
		    ctl_fleet_str(m, "model"), release_text(l, latest, sizeof(latest)),
		    json_is_object(l) ? ctl_when_of(l, "posted", posted, sizeof(posted)) : "-",
		    json_is_object(l) ? ctl_when_of(l, "expires", expires, sizeof(expires)) : "-",
		    offered_text(json_object_get(m, "offered"), offered, sizeof(offered))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int update_catalogue(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/updates/catalogue", print_catalogue);
}

/* ---- plans ------------------------------------------------------------- */

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_recompute(json_t *rec)
{
	if (!json_is_object(rec))
		return;
	if (json_object_get(rec, "error"))
		printf(_("recomputing the tablets' declarations failed: %s (it runs again at the "
			 "next change)\n"),
		       ctl_fleet_str(rec, "error"));
	else
		printf(_("recomputed %lld tablets in %lld ms: %lld new tokens, %lld pushed\n"),
		       num(rec, "devices"), num(rec, "ms"), num(rec, "changed"),
		       num(rec, "pushed"));
}

/* "iPad13,18, iPad13,19, ..." of a JSON array of strings. */
static const char *join(json_t *a, char *buf, size_t cap)
{
	json_t *v;
	size_t i, o = 0;
	buf[0] = '\0';
	json_array_foreach(a, i, v)
	{
		int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", json_string_value(v));
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return o ? buf : "-";
}

static void print_plan(json_t *p, const struct ctl_args *a)
{
	char t[32], models[2048];
	json_t *u;
	size_t i;
	(void)a;
	if (json_is_true(json_object_get(p, "dry_run")))
		printf("%s\n", _("dry run: nothing was changed"));
	label(_("scope:"));
	printf("%s (%s)\n", ctl_fleet_str(p, "scope"), ctl_fleet_str(p, "identifier"));
	label(_("target:"));
	if (json_is_string(json_object_get(p, "build")))
		printf("iPadOS %s (%s)\n", ctl_fleet_str(p, "version"), ctl_fleet_str(p, "build"));
	else
		printf("iPadOS %s\n", ctl_fleet_str(p, "version"));
	label(_("deadline:"));
	printf("%s", ctl_when_of(p, "deadline", t, sizeof(t)));
	if (json_is_true(json_object_get(p, "outside_windows")))
		printf(" %s", _("(outside the update windows, as asked)"));
	putchar('\n');
	label(_("supported models:"));
	printf("%s\n", join(json_object_get(p, "models"), models, sizeof(models)));
	if (json_object_get(p, "tablets") == NULL)
		return;
	label(_("tablets:"));
	printf(_("%lld in the scope, %lld targeted, %lld without DDM, %lld of unknown model, "
		 "%lld unsupported\n"),
	       num(p, "tablets"), num(p, "targeted"), num(p, "without_ddm"),
	       num(p, "unknown_model"), num(p, "unsupported_tablets"));
	json_array_foreach(json_object_get(p, "unsupported"), i, u)
	{
		char serials[2048];
		printf(_("  not supported by %s (%lld, not sent): %s\n"), ctl_fleet_str(u, "model"),
		       num(u, "count"),
		       join(json_object_get(u, "serials"), serials, sizeof(serials)));
	}
	if (json_object_get(p, "changed") && !json_is_true(json_object_get(p, "dry_run")))
		printf("%s\n", json_is_true(json_object_get(p, "changed"))
				   ? (json_is_true(json_object_get(p, "replaced"))
					  ? _("the scope's previous plan was replaced")
					  : _("plan added"))
				   : _("the same plan was already there: nothing to send"));
	print_recompute(json_object_get(p, "recompute"));
}

#define PLAN_NEED    N_("--scope and --deadline are required")
#define VERSION_NEED N_("give exactly one of --version X.Y[.Z] and --latest")

static const struct ctl_opt plan_opts[] = {
    CTL_OPT_FIELD("--scope", "fleet|school:UAI", "scope", PLAN_NEED,
		  "the whole fleet or one collège (one plan per scope; the fleet's and a "
		  "collège's cannot exist together)"),
    {.name = "--version",
     .arg = "X.Y[.Z]",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "version",
     .need = VERSION_NEED,
     .help = N_("the iPadOS version to reach: one Apple's catalogue offers for iPads")},
    {.name = "--latest",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "latest",
     .need = VERSION_NEED,
     .help = N_("the newest version Apple's catalogue offers for iPads")},
    CTL_OPT_FIELD("--deadline", "'JJ/MM/AAAA HH:MM'", "deadline", PLAN_NEED,
		  "when tablets install at the latest, in local time (YYYY-MM-DDTHH:MM too); "
		  "it must fall outside class hours ([updates] allowed_windows)"),
    CTL_OPT_FLAG("--outside-windows", CTL_OPT_BODY, "outside_windows",
		 "accept a deadline in class hours (tablets cannot be used while they install)"),
    CTL_OPT_FLAG("--dry-run", CTL_OPT_BODY, "dry_run",
		 "show which tablets the plan would reach, change nothing"),
    CTL_OPT_END,
};

static int update_plan(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/updates/plans", ctl_opt_body(a), print_plan);
}

static void print_plans(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("SCOPE"), N_("TARGET"), N_("DEADLINE"), N_("MODELS"),
					   N_("BY")};
	json_t *p;
	size_t i;
	(void)a;
	if (json_array_size(all) == 0) {
		printf("%s\n", _("no update plan"));
		return;
	}
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(all, i, p)
	{
		char when[32], target[64], models[32];
		snprintf(target, sizeof(target), "%s%s%s%s", ctl_fleet_str(p, "version"),
			 json_is_string(json_object_get(p, "build")) ? " (" : "",
			 json_is_string(json_object_get(p, "build")) ? ctl_fleet_str(p, "build")
								     : "",
			 json_is_string(json_object_get(p, "build")) ? ")" : "");
		snprintf(models, sizeof(models), "%zu",
			 json_array_size(json_object_get(p, "models")));
		const char *row[] = {ctl_fleet_str(p, "scope"), target,
				     ctl_when_of(p, "deadline", when, sizeof(when)), models,
				     json_is_string(json_object_get(p, "updated_by"))
					 ? ctl_fleet_str(p, "updated_by")
					 : ctl_fleet_str(p, "created_by")};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int update_plans(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_member(c, a, "/api/v1/updates/plans", "plans", print_plans);
}

static const struct ctl_opt unplan_opts[] = {
    {.name = "--scope",
     .arg = "fleet|school:UAI",
     .how = CTL_OPT_QUERY,
     .key = "scope",
     .need = N_("--scope is required"),
     .help = N_("the scope whose plan ends")},
    CTL_OPT_END,
};

static void print_unplanned(json_t *o, const struct ctl_args *a)
{
	(void)a;
	printf(_("the update plan of %s is removed; the tablets drop it at their next "
		 "synchronisation\n"),
	       ctl_fleet_str(o, "scope"));
	print_recompute(json_object_get(o, "recompute"));
}

static int update_unplan(struct ctl *c, const struct ctl_args *a)
{
	char path[400] = "/api/v1/updates/plans";
	ctl_opt_query(a, path, sizeof(path));
	return ctl_send_print(c, a, "DELETE", path, NULL, print_unplanned);
}

/* ---- status ------------------------------------------------------------ */

static const char *count_text(json_t *o, const char *key, char *buf, size_t cap)
{
	return ctl_fleet_int(json_object_get(o, key), "-", buf, cap);
}

static void print_update_status(json_t *ret, const struct ctl_args *a)
{
	static const char *const head[] = {
	    N_("COLLÈGE"), N_("TARGET"),	N_("TABLETS"),	   N_("ON TARGET"),
	    N_("PENDING"), N_("DOWNLOADING"),	N_("PREPARED"),	   N_("INSTALLING"),
	    N_("FAILED"),  N_("NOT REPORTING"), N_("WITHOUT DDM"), N_("UNSUPPORTED")};
	static const char *const keys[] = {"tablets",	  "on_target",	"pending", "downloading",
					   "prepared",	  "installing", "failed",  "not_reporting",
					   "without_ddm", "unsupported"};
	json_t *s, *f, *schools = json_object_get(ret, "schools");
	size_t i, k;
	(void)a;
	if (json_array_size(schools) == 0) {
		printf("%s\n", _("no enrolled tablet"));
		return;
	}
	struct ctl_table *t = ctl_fleet_table(12, head);
	json_array_foreach(schools, i, s)
	{
		char cells[10][24];
		const char *row[12] = {
		    json_is_string(json_object_get(s, "school")) ? ctl_fleet_str(s, "school")
								 : _("(none)"),
		    json_is_string(json_object_get(s, "target")) ? ctl_fleet_str(s, "target")
								 : _("no plan")};
		for (k = 0; k < 10; k++)
			row[k + 2] = count_text(s, keys[k], cells[k], sizeof(cells[k]));
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
	json_array_foreach(schools, i, s)
	{
		if (json_array_size(json_object_get(s, "failures")) == 0)
			continue;
		printf(_("\nfailures in %s:\n"), json_is_string(json_object_get(s, "school"))
						     ? ctl_fleet_str(s, "school")
						     : _("(none)"));
		json_array_foreach(json_object_get(s, "failures"), k, f)
		    printf("  %lld  %s\n", num(f, "count"), ctl_fleet_str(f, "reason"));
	}
	json_t *fl = json_object_get(ret, "fleet");
	if (json_array_size(schools) > 1 && json_is_object(fl))
		printf(_("\nall: %lld tablets, %lld on target, %lld failed, %lld not reporting, "
			 "%lld without DDM, %lld unsupported\n"),
		       num(fl, "tablets"), num(fl, "on_target"), num(fl, "failed"),
		       num(fl, "not_reporting"), num(fl, "without_ddm"), num(fl, "unsupported"));
}

static const struct ctl_opt status_opts[] = {
    CTL_OPT_SCHOOL("only this collège (default: every collège you may see)"),
    CTL_OPT_END,
};

static int update_status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/updates/status", print_update_status);
}

const struct ctl_verb ctl_update_verbs[] = {
    {"update", "catalogue", update_catalogue, catalogue_opts, 0,
     N_("Apple's software update catalogue as the daemon keeps it: per iPad model the "
	"latest iPadOS and the versions offered (technicians, ATIs)")},
    {"update", "plan", update_plan, plan_opts, 0,
     N_("Plans an iPadOS update for the fleet or a collège: the tablets whose model supports "
	"the version (Apple's catalogue says which) get a software update enforcement "
	"declaration and install it at the latest at the deadline, local time.  The answer "
	"lists the tablets reached, those without DDM (older iPadOS), those whose model is "
	"not known yet and, by model with their serials, those that cannot run the version "
	"(not sent).  A new plan on the same scope replaces the old one.  --dry-run changes "
	"nothing (technicians)")},
    {"update", "plans", update_plans, NULL, 0,
     N_("The update plans: scope, target version, deadline, how many models (technicians)")},
    {"update", "unplan", update_unplan, unplan_opts, 0,
     N_("Removes the update plan of a scope; the tablets drop it at their next "
	"synchronisation, an update already installed stays (technicians)")},
    {"update", "status", update_status, status_opts, 0,
     N_("Where the tablets stand against their update plan, per collège: on target, "
	"pending, downloading, prepared, installing, failed (with the reasons the tablets "
	"give), not reporting, without DDM, unsupported model (technicians: every collège; "
	"ATIs and référents: theirs)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
