/* ctl_device.c - device import, list, show, move, retire, erase, release. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int import(struct ctl *c, const struct ctl_args *a)
{
	return ctl_fleet_import(c, a, "/api/v1/devices/import");
}

static const char *const row_keys[] = {"serial",    "udid",	     "school",	  "state",
				       "model",	    "os_version",    "holder.id", "last_seen",
				       "asset_tag", "model_declared"};

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

/* The model the tablet reports, the one declared at import when it has
 * reported none, both when they differ. */
static const char *model_shown(const char *model, const char *declared, char *buf, size_t cap)
{
	if (model[0] == '\0' || declared[0] == '\0' || strcmp(model, declared) == 0)
		return model[0] ? model : declared[0] ? declared : "-";
	snprintf(buf, cap, _("%s (declared: %s)"), model, declared);
	return buf;
}

static void add_row(const char *const *v, void *arg)
{
	char when[32], model[160];
	const char *row[] = {dash(v[0][0] ? v[0] : v[1]),
			     dash(v[2]),
			     ctl_word(dash(v[3])),
			     model_shown(v[4], v[9], model, sizeof(model)),
			     dash(v[5]),
			     dash(v[6]),
			     ctl_when(v[7], when, sizeof(when)),
			     dash(v[8])};
	ctl_fleet_row(arg, row);
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_SCHOOL("only this collège's tablets"),
    CTL_OPT_FILTER("--state", "S", "state",
		   N_("only tablets in this state (stock, loaned, returning, repair, lost, stolen, "
		      "retired)")),
    CTL_OPT_FILTER("--not-seen-days", "N", "not_seen_days",
		   "only tablets not seen for N days or more"),
    CTL_OPT_FILTER("--os-below", "X", "os_below",
		   "only tablets whose iPadOS is older than X (e.g. 17.4)"),
    CTL_OPT_FILTER("--class", "C", "class", "only tablets lent to someone of class C"),
    CTL_OPT_FILTER("--find", "TEXT", "q",
		   "only tablets whose serial, asset tag, or holder's name or id holds TEXT "
		   "(case and accents ignored)"),
    CTL_OPT_CSV,
    CTL_OPT_END,
};

static int list(struct ctl *c, const struct ctl_args *a)
{
	char path[1024] = "/api/v1/devices";
	int rc;
	if (!c->json && ctl_fleet_csv(a))
		return ctl_fleet_list(c, a, path, "devices", NULL);
	ctl_opt_query(a, path, sizeof(path));
	if (c->json)
		return ctl_fleet_print_all(c, path, "devices");
	static const char *const head[] = {N_("SERIAL"),    N_("SCHOOL"),   N_("STATE"),
					   N_("MODEL"),	    N_("OS"),	    N_("HOLDER"),
					   N_("LAST SEEN"), N_("ASSET TAG")};
	struct ctl_table *t = ctl_fleet_table(8, head);
	rc = ctl_fleet_get_rows(c, path, "devices", row_keys, 10, add_row, t);
	if (rc == CTL_OK)
		ctl_fleet_table_print(t, stdout);
	else
		ctl_fleet_table_free(t);
	return rc;
}

static void print_history(json_t *d)
{
	json_t *v;
	size_t i;
	char t1[32], t2[32], t3[32];
	printf(_("\nloans:\n"));
	json_array_foreach(json_object_get(d, "loans"), i, v)
	{
		printf(_("  #%lld %-9s %s (%s) from %s, returned %s, due %s%s\n"),
		       (long long)json_integer_value(json_object_get(v, "id")),
		       ctl_word(ctl_fleet_str(v, "state")), ctl_fleet_str(v, "person"),
		       ctl_fleet_str(v, "name"), ctl_when_of(v, "started", t1, sizeof(t1)),
		       ctl_when_of(v, "returned", t2, sizeof(t2)),
		       ctl_when_of(v, "due", t3, sizeof(t3)),
		       json_is_true(json_object_get(v, "home_use")) ? _(", home use") : "");
	}
	printf(_("incidents:\n"));
	json_array_foreach(json_object_get(d, "incidents"), i, v)
	{
		printf(_("  #%lld %-7s %-6s occurred %s, declared %s%s%s%s\n"),
		       (long long)json_integer_value(json_object_get(v, "id")),
		       ctl_word(ctl_fleet_str(v, "kind")), ctl_word(ctl_fleet_str(v, "status")),
		       ctl_when_of(v, "occurred", t1, sizeof(t1)),
		       ctl_when_of(v, "declared", t2, sizeof(t2)),
		       json_is_true(json_object_get(v, "late")) ? _(" (late)") : "",
		       *ctl_fleet_str(v, "outcome") != '-' ? _(", outcome ") : "",
		       *ctl_fleet_str(v, "outcome") != '-' ? ctl_word(ctl_fleet_str(v, "outcome"))
							   : "");
	}
	printf(_("policies:\n"));
	json_array_foreach(json_object_get(d, "policies"), i, v)
	{
		printf("  %-7s %-40s %-10s %s\n", ctl_word(ctl_fleet_str(v, "kind")),
		       ctl_fleet_str(v, "name"), ctl_word(ctl_fleet_str(v, "state")),
		       json_is_string(json_object_get(v, "error")) ? ctl_fleet_str(v, "error")
								   : "");
	}
	printf(_("commands:\n"));
	json_array_foreach(json_object_get(d, "commands"), i, v)
	{
		printf("  %s %-24s %-12s %s\n", ctl_when_of(v, "created_at", t1, sizeof(t1)),
		       ctl_fleet_str(v, "type"), ctl_word(ctl_fleet_str(v, "status")),
		       ctl_fleet_str(v, "uuid"));
	}
}

/* "yes", "no" or "-" (never reported) */
static const char *yes_no(json_t *v)
{
	return json_is_true(v) ? _("yes") : json_is_false(v) ? _("no") : "-";
}

static void print_inventory(json_t *in)
{
	json_t *battery = json_object_get(in, "battery");
	json_t *cap = json_object_get(in, "capacity_gb"),
	       *avail = json_object_get(in, "available_gb");
	if (json_is_number(battery))
		printf("%-12s %.0f %%\n", "battery", json_number_value(battery) * 100);
	else
		printf("%-12s -\n", "battery");
	if (json_is_number(cap) && json_is_number(avail))
		printf(_("%-12s %.1f GB free of %.1f GB\n"), "storage", json_number_value(avail),
		       json_number_value(cap));
	else
		printf("%-12s -\n", "storage");
	printf("%-12s %s\n", "supervised", yes_no(json_object_get(in, "supervised")));
	printf("%-12s %s\n", "lost_mode", yes_no(json_object_get(in, "lost_mode")));
}

/* The DDM part: on or not, its token and times, what the tablet reports
 * (status items, its declarations' state). */
static void print_ddm(json_t *dd)
{
	char t1[32], t2[32];
	json_t *v, *items = json_object_get(dd, "items");
	const char *k;
	size_t i;
	if (!json_is_object(dd))
		return;
	printf(_("\ndeclarative management (DDM):\n"));
	if (!json_is_true(json_object_get(dd, "enabled"))) {
		printf("  %s\n", _("not enabled (iPadOS older than 16, or not acknowledged yet)"));
		return;
	}
	printf(_("  enabled %s, last sync %s, last status %s\n"),
	       ctl_when_of(dd, "enabled_at", t1, sizeof(t1)),
	       ctl_when_of(dd, "synced_at", t2, sizeof(t2)),
	       json_is_string(json_object_get(dd, "status_at"))
		   ? ctl_when_of(dd, "status_at", t1, sizeof(t1))
		   : _("never"));
	printf(_("  token %s\n"), ctl_fleet_str(dd, "token"));
	if (json_object_size(items))
		printf(_("status items:\n"));
	json_object_foreach(items, k, v)
	{
		char *text =
		    json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("  %-40s %s\n", k, text ? text : json_string_value(v));
		free(text);
	}
	printf(_("declarations:\n"));
	json_array_foreach(json_object_get(dd, "declarations"), i, v)
	{
		json_t *reasons = json_object_get(v, "reasons");
		char *why = json_array_size(reasons) ? json_dumps(reasons, JSON_COMPACT) : NULL;
		printf("  %-13s %-40s %-8s %s%s%s\n", ctl_word(ctl_fleet_str(v, "kind")),
		       ctl_fleet_str(v, "identifier"), ctl_word(ctl_fleet_str(v, "valid")),
		       json_is_true(json_object_get(v, "active")) ? _("active") : _("inactive"),
		       why ? "  " : "", why ? why : "");
		free(why);
	}
}

/* What Apple School Manager says of the tablet, when it gave it. */
static void print_ade(json_t *a)
{
	char t1[32], t2[32];
	if (!json_is_object(a))
		return;
	printf("%s", _("\nApple School Manager (ADE):\n"));
	printf(_("  %s, %s, assigned in ASM %s by %s\n"), ctl_fleet_str(a, "model"),
	       ctl_fleet_str(a, "description"), ctl_when_of(a, "assigned_at", t1, sizeof(t1)),
	       ctl_fleet_str(a, "assigned_by"));
	if (!json_is_null(json_object_get(a, "removed_at")))
		printf(_("  removed from ASM on %s\n"),
		       ctl_when_of(a, "removed_at", t1, sizeof(t1)));
	printf(_("  profile %s: %s%s%s (Apple: %s)\n"),
	       json_is_string(json_object_get(a, "profile")) ? ctl_fleet_str(a, "profile") : "-",
	       ctl_word(ctl_fleet_str(a, "assign_state")),
	       ctl_fleet_str(a, "assign_error")[0] ? ", " : "", ctl_fleet_str(a, "assign_error"),
	       ctl_fleet_str(a, "profile_status"));
	if (!json_is_null(json_object_get(a, "enrolled_at")))
		printf(_("  enrolled through ADE %s, configured %s\n"),
		       ctl_when_of(a, "enrolled_at", t1, sizeof(t1)),
		       json_is_null(json_object_get(a, "configured_at"))
			   ? _("not yet")
			   : ctl_when_of(a, "configured_at", t2, sizeof(t2)));
	if (!json_is_null(json_object_get(a, "refused_at")))
		printf(_("  enrolment refused %s: %s\n"),
		       ctl_when_of(a, "refused_at", t1, sizeof(t1)), ctl_fleet_str(a, "refusal"));
}

static const struct ctl_opt show_opts[] = {
    CTL_OPT_SERIAL("one SERIAL is required"),
    CTL_OPT_END,
};

static void print_device(json_t *d, const struct ctl_args *a)
{
	static const char *const keys[] = {"serial",	 "udid",       "school",
					   "state",	 "model",      "asset_tag",
					   "os_version", "enrollment", "device_name"};
	json_t *h = json_object_get(d, "holder");
	char when[32];
	const char *declared = json_string_value(json_object_get(d, "model_declared"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = ctl_fleet_str(d, keys[i]);
		/* the state and the enrolment in words, the rest as it is */
		printf("%-12s %s\n", keys[i], i == 3 || i == 7 ? ctl_word(v) : v);
		/* the model typed at import, when the tablet says otherwise */
		if (i == 4 && declared && declared[0] &&
		    strcmp(declared, ctl_fleet_str(d, "model")) != 0)
			printf("%-12s %s\n", "declared", declared);
	}
	if (json_is_object(h))
		printf(_("%-12s %s (%s, class %s)\n"), "holder", ctl_fleet_str(h, "id"),
		       ctl_fleet_str(h, "name"), ctl_fleet_str(h, "class"));
	else
		printf("%-12s -\n", "holder");
	printf("%-12s %s\n", "last_seen", ctl_when_of(d, "last_seen", when, sizeof(when)));
	print_inventory(json_object_get(d, "inventory"));
	print_ddm(json_object_get(d, "ddm"));
	print_ade(json_object_get(d, "ade"));
	print_history(d);
}

static int show(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/devices/", ctl_opt_get(a, "SERIAL"), "");
	return ctl_get_print(c, a, path, print_device);
}

int ctl_device_post(struct ctl *c, const struct ctl_args *a, const char *what,
		    void (*human)(json_t *ret, const struct ctl_args *a))
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/devices/", ctl_opt_get(a, "SERIAL"), what);
	return ctl_send_print(c, a, "POST", path, ctl_opt_body(a), human);
}

/* The new state after a move or a retirement. */
static void print_state(json_t *d, const struct ctl_args *a)
{
	printf(_("%s: %s, collège %s\n"), ctl_opt_get(a, "SERIAL"),
	       ctl_word(ctl_fleet_str(d, "state")), ctl_fleet_str(d, "school"));
}

static const struct ctl_opt move_opts[] = {
    CTL_OPT_SERIAL("missing argument"),
    CTL_OPT_FIELD("--school", "UAI", "school", "--school is required", "the collège it goes to"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static int move(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/move", print_state);
}

static const struct ctl_opt retire_opts[] = {
    CTL_OPT_SERIAL("missing argument"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static int retire(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/retire", print_state);
}

static const struct ctl_opt erase_opts[] = {
    CTL_OPT_SERIAL("missing argument"),
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, "--reason is required (it goes to the audit log)"),
    CTL_OPT_END,
};

static void print_erase(json_t *ret, const struct ctl_args *a)
{
	printf(_("queued EraseDevice %s for %s%s\n"), ctl_fleet_str(ret, "uuid"),
	       ctl_opt_get(a, "SERIAL"),
	       json_is_true(json_object_get(ret, "return_to_service"))
		   ? _(" (Return to Service: it comes back enrolled)")
		   : "");
}

static int erase(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/erase", print_erase);
}

static const struct ctl_opt release_opts[] = {
    CTL_OPT_SERIAL("missing argument"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, "--reason is required"),
    CTL_OPT_END,
};

static void print_released(json_t *d, const struct ctl_args *a)
{
	printf(_("%s: certificate released (%s); its next enrolment binds a new one\n"),
	       ctl_opt_get(a, "SERIAL"), ctl_word(ctl_fleet_str(d, "enrollment")));
}

/* POST /api/v1/devices/SERIAL/release: the tablet's certificate binding
 * ends; its next enrolment binds a new one. */
static int release(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/release", print_released);
}

static const struct ctl_opt mark_erased_opts[] = {
    CTL_OPT_SERIAL("missing argument"),
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, N_("--reason is required (it goes to the audit log)")),
    CTL_OPT_END,
};

static void print_marked(json_t *d, const struct ctl_args *a)
{
	printf(_("%s: return closed as erased by hand; the tablet is now %s\n"),
	       ctl_opt_get(a, "SERIAL"), ctl_word(ctl_fleet_str(d, "state")));
}

/* POST /api/v1/devices/SERIAL/mark-erased: a return stuck "returning"
 * closed by a technician. */
static int mark_erased(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/mark-erased", print_marked);
}

const struct ctl_verb ctl_device_verbs[] = {
    {"device", "import", import, ctl_fleet_import_opts, 0,
     N_("import tablets from CSV (serial, model, uai, asset_tag); all rows or none")},
    {"device", "list", list, list_opts, 0, N_("list tablets, filtered")},
    {"device", "show", show, show_opts, 0, N_("one tablet with its loans, incidents and commands")},
    {"device", "move", move, move_opts, 0, N_("assign a tablet (not on loan) to another collège")},
    {"device", "retire", retire, retire_opts, 0, N_("retire a tablet in stock")},
    {"device", "erase", erase, erase_opts, 0,
     N_("technicians: erase a tablet outside a loan return (audited with the reason)")},
    {"device", "mark-erased", mark_erased, mark_erased_opts, 0,
     N_("technicians: close a return whose erase is never acknowledged (audited with the "
	"reason); retire or move remain the other way out")},
    {"device", "release", release, release_opts, 0,
     N_("technicians: end a tablet's certificate binding, so that it enrols afresh")},

    {NULL, NULL, NULL, NULL, 0, NULL},
};
