/* ctl_policy.c - profile, app, policy verbs and `report apps`. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROFILE_FILE (4u * 1024 * 1024)

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "reconciled: 3 tablets, 2 queued, ..." from an answer's reconcile object. */
static void print_reconcile(json_t *rec)
{
	if (rec == NULL || json_is_null(rec))
		return;
	if (json_object_get(rec, "error")) {
		printf(
		    _("reconciliation failed: %s (it runs again at the next change or refresh)\n"),
		    str(rec, "error"));
		return;
	}
	printf(_("reconciled %lld tablets in %lld ms: %lld commands queued, %lld canceled, "
		 "%lld already converged"),
	       num(rec, "devices"), num(rec, "ms"), num(rec, "queued"), num(rec, "canceled"),
	       num(rec, "converged"));
	if (num(rec, "capped"))
		printf(_(", %lld waiting for room in full queues"), num(rec, "capped"));
	if (num(rec, "failed"))
		printf(_(", %lld could not be built"), num(rec, "failed"));
	putchar('\n');
}

/* ---- profiles ----------------------------------------------------------- */

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return ctl_err("cannot open %s", path);
	char *buf = malloc(MAX_PROFILE_FILE + 1);
	size_t n = buf ? fread(buf, 1, MAX_PROFILE_FILE + 1, f) : 0;
	int bad = buf == NULL || ferror(f);
	fclose(f);
	if (bad || n > MAX_PROFILE_FILE) {
		free(buf);
		return bad ? ctl_err("%s: cannot read", path)
			   : ctl_err("%s: larger than 4 MiB", path);
	}
	*ret = buf;
	*ret_len = n;
	return CTL_OK;
}

/* The file name without directory and .mobileconfig. */
static void stem(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		n = (size_t)(dot - base);
	snprintf(out, cap, "%.*s", (int)n, base);
}

static void print_profile(json_t *p, const struct ctl_args *a)
{
	char t[32];
	json_t *types = json_object_get(p, "payload_types"), *v;
	size_t i;
	printf(_("name          %s\nidentifier    %s\ndisplay name  %s\n"), str(p, "name"),
	       str(p, "identifier"), str(p, "display_name"));
	printf(_("payloads     "));
	json_array_foreach(types, i, v) printf(" %s", json_string_value(v));
	printf(_("\ncontent hash  %s\npayload uuid  %s\n"), str(p, "payload_hash"),
	       str(p, "payload_uuid"));
	printf(_("added         %s by %s\n"), ctl_when_of(p, "created_at", t, sizeof(t)),
	       str(p, "created_by"));
	if (json_is_string(json_object_get(p, "updated_at"))) {
		printf(_("updated       %s by %s\n"), ctl_when_of(p, "updated_at", t, sizeof(t)),
		       str(p, "updated_by"));
	}
	json_t *scopes = json_object_get(p, "scopes");
	if (scopes) {
		printf(_("assigned to  "));
		json_array_foreach(scopes, i, v) printf(" %s", json_string_value(v));
		printf("%s\n", json_array_size(scopes) ? "" : _(" (nothing)"));
	}
	print_reconcile(json_object_get(p, "reconcile"));
}

static int send_profile(struct ctl *c, const struct ctl_args *a, const char *method,
			const char *path, const char *file)
{
	char *data = NULL, *answer = NULL;
	size_t len = 0, alen = 0;
	int rc = read_file(file, &data, &len);
	if (rc != CTL_OK)
		return rc;
	rc = ctl_call_raw(c, method, path, data, len, "application/x-apple-aspen-config", &answer,
			  &alen);
	free(data);
	if (rc != CTL_OK)
		return rc;
	json_t *ret = json_loadb(answer, alen, 0, NULL);
	free(answer);
	if (ret == NULL)
		return ctl_err("the server's answer is not JSON");
	if (!c->json)
		ctl_safe_json(ret);
	return ctl_print(c, a, ret, print_profile);
}

static const struct ctl_opt add_opts[] = {
    CTL_OPT_ARG("FILE.mobileconfig", "one FILE is required",
		"the configuration profile (signed or not)"),
    {.name = "--name",
     .arg = "NAME",
     .help = N_("its name in the catalogue (default: the file's)")},
    CTL_OPT_END,
};

static int profile_add(struct ctl *c, const struct ctl_args *a)
{
	const char *file = ctl_opt_get(a, "FILE.mobileconfig"), *given = ctl_opt_get(a, "--name");
	char name[80], path[300];
	if (given)
		snprintf(name, sizeof(name), "%s", given);
	else
		stem(file, name, sizeof(name));
	ctl_path(path, sizeof(path), "/api/v1/policy/profiles?name=", name, "");
	return send_profile(c, a, "POST", path, file);
}

static const struct ctl_opt update_opts[] = {
    CTL_OPT_ARG("NAME", "NAME and FILE are required", "the profile"),
    CTL_OPT_ARG("FILE.mobileconfig", "NAME and FILE are required", "its new content"),
    CTL_OPT_END,
};

static int profile_update(struct ctl *c, const struct ctl_args *a)
{
	char path[300];
	ctl_path(path, sizeof(path), "/api/v1/policy/profiles/", ctl_opt_get(a, "NAME"), "");
	return send_profile(c, a, "PUT", path, ctl_opt_get(a, "FILE.mobileconfig"));
}

static void print_profiles(json_t *all, const struct ctl_args *a)
{
	json_t *p;
	size_t i;
	printf("%-24s %-40s %-8s %s\n", _("NAME"), _("IDENTIFIER"), _("PAYLOADS"),
	       _("DISPLAY NAME"));
	json_array_foreach(all, i, p)
	{
		printf("%-24s %-40s %-8zu %s\n", str(p, "name"), str(p, "identifier"),
		       json_array_size(json_object_get(p, "payload_types")),
		       str(p, "display_name"));
	}
}

static int profile_list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/policy/profiles", print_profiles);
}

/* NOUN VERB NAME verbs: method on prefix + the encoded NAME. */
static int one_arg(struct ctl *c, const struct ctl_args *a, const char *method, const char *prefix,
		   void (*human)(json_t *v, const struct ctl_args *a))
{
	char path[400];
	ctl_path(path, sizeof(path), prefix, ctl_opt_get(a, a->verb->opts[0].name), "");
	return ctl_send_print(c, a, method, path, NULL, human);
}

static const struct ctl_opt name_opts[] = {
    CTL_OPT_ARG("NAME", "one argument is required", "the profile"),
    CTL_OPT_END,
};

static int profile_show(struct ctl *c, const struct ctl_args *a)
{
	return one_arg(c, a, "GET", "/api/v1/policy/profiles/", print_profile);
}

static void print_removed(json_t *o, const struct ctl_args *a)
{
	printf(_("removed %s%s (%lld assignments dropped)\n"), str(o, "name"), str(o, "bundle_id"),
	       num(o, "unassigned"));
	print_reconcile(json_object_get(o, "reconcile"));
}

static int profile_remove(struct ctl *c, const struct ctl_args *a)
{
	return one_arg(c, a, "DELETE", "/api/v1/policy/profiles/", print_removed);
}

/* ---- apps --------------------------------------------------------------- */

#define APP_NEED N_("--bundle-id and --name are required, --store-id is a number")

static const struct ctl_opt app_add_opts[] = {
    CTL_OPT_FIELD("--bundle-id", "ID", "bundle_id", APP_NEED,
		  "the app's bundle identifier (e.g. fr.pronote)"),
    CTL_OPT_FIELD("--name", "NAME", "name", APP_NEED, "its name"),
    {.name = "--store-id",
     .arg = "N",
     .help = N_("its App Store id (the number in its store URL)")},
    CTL_OPT_FIELD("--licence", "L", "licence", NULL, "its licence"),
    CTL_OPT_END,
};

static void print_app(json_t *app, const struct ctl_args *a)
{
	printf(_("added %s (%s), App Store id %lld\n"), str(app, "bundle_id"), str(app, "name"),
	       num(app, "store_id"));
}

static int app_add(struct ctl *c, const struct ctl_args *a)
{
	long long store_id = 0;
	if (ctl_opt_int(a, "--store-id", 0, &store_id) < 0)
		return ctl_opt_usage(a->verb, "%s", _(APP_NEED));
	json_t *body = ctl_opt_body(a);
	json_object_set_new(body, "store_id", json_integer(store_id));
	return ctl_send_print(c, a, "POST", "/api/v1/policy/apps", body, print_app);
}

static void print_apps(json_t *all, const struct ctl_args *a)
{
	json_t *p;
	size_t i;
	printf("%-40s %-12s %s\n", _("BUNDLE ID"), _("STORE ID"), _("NAME"));
	json_array_foreach(all, i, p)
	    printf("%-40s %-12lld %s\n", str(p, "bundle_id"), num(p, "store_id"), str(p, "name"));
}

static int app_list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/policy/apps", print_apps);
}

static const struct ctl_opt bundle_opts[] = {
    CTL_OPT_ARG("BUNDLE_ID", "one argument is required", "the app"),
    CTL_OPT_END,
};

static int app_remove(struct ctl *c, const struct ctl_args *a)
{
	return one_arg(c, a, "DELETE", "/api/v1/policy/apps/", print_removed);
}

/* ---- policy ------------------------------------------------------------- */

static void print_assignment(json_t *o, const struct ctl_args *a)
{
	if (strcmp(a->verb->verb, "assign") == 0)
		printf(_("assigned %s %s\n"), str(o, "item"), str(o, "scope"));
	else
		printf(_("unassigned %s %s\n"), str(o, "item"), str(o, "scope"));
	print_reconcile(json_object_get(o, "reconcile"));
}

static int assignment(struct ctl *c, const struct ctl_args *a, const char *method)
{
	return ctl_send_print(c, a, method, "/api/v1/policy/assignments", ctl_opt_body(a),
			      print_assignment);
}

#define ITEM_NEED N_("ITEM and --scope are required")
#define ITEM_HELP N_("profile:NAME or app:BUNDLE_ID")

/* The item of an assignment (its scope's row differs in word and help). */
#define ITEM_ROW                                                                         \
	{                                                                                \
		.name = "PROFILE|APP", .how = CTL_OPT_POS | CTL_OPT_BODY, .key = "item", \
		.need = ITEM_NEED, .help = ITEM_HELP                                     \
	}

static const struct ctl_opt assign_opts[] = {
    ITEM_ROW,
    CTL_OPT_FIELD("--scope", "fleet|school:UAI|group:UAI/NAME|device:SERIAL", "scope", ITEM_NEED,
		  "the whole fleet (the baseline), a collège, a group of a collège, or a tablet"),
    CTL_OPT_END,
};

static const struct ctl_opt unassign_opts[] = {
    ITEM_ROW,
    CTL_OPT_FIELD("--scope", "SCOPE", "scope", ITEM_NEED, "the scope it was assigned to"),
    CTL_OPT_END,
};

static int policy_assign(struct ctl *c, const struct ctl_args *a)
{
	return assignment(c, a, "POST");
}

static int policy_unassign(struct ctl *c, const struct ctl_args *a)
{
	return assignment(c, a, "DELETE");
}

static void print_assignments(json_t *all, const struct ctl_args *a)
{
	json_t *p;
	size_t i;
	printf("%-40s %-32s %s\n", _("ITEM"), _("SCOPE"), _("BY"));
	json_array_foreach(all, i, p)
	    printf("%-40s %-32s %s\n", str(p, "item"), str(p, "scope"), str(p, "created_by"));
}

static const struct ctl_opt list_opts[] = {
    CTL_OPT_FILTER(
	"--scope", "SCOPE", "scope",
	"only this scope's assignments (fleet, school:UAI, group:UAI/NAME, device:SERIAL)"),
    CTL_OPT_END,
};

static int policy_list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/policy/assignments", print_assignments);
}

static void print_device_policy(json_t *o, const struct ctl_args *a)
{
	json_t *it, *g = json_object_get(o, "groups"), *v;
	size_t i, k;
	printf(_("tablet %s, collège %s, %s"), str(o, "serial"),
	       json_is_string(json_object_get(o, "school")) ? str(o, "school") : _("(none)"),
	       ctl_word(str(o, "enrollment")));
	if (json_array_size(g)) {
		printf(_(", groups:"));
		json_array_foreach(g, i, v) printf(" %s", json_string_value(v));
	}
	printf("\n\n%-8s %-36s %-10s %s\n", _("KIND"), _("ITEM"), _("STATE"), _("FROM"));
	json_array_foreach(json_object_get(o, "items"), i, it)
	{
		printf("%-8s %-36s %-10s", ctl_word(str(it, "kind")), str(it, "name"),
		       ctl_word(str(it, "state")));
		json_array_foreach(json_object_get(it, "scopes"), k, v)
		    printf(" %s", json_string_value(v));
		if (str(it, "error")[0])
			printf(_("  error: %s"), str(it, "error"));
		putchar('\n');
	}
}

static const struct ctl_opt show_opts[] = {
    {.name = "--device",
     .arg = "SERIAL",
     .need = N_("--device SERIAL is required"),
     .help = N_("the tablet")},
    CTL_OPT_END,
};

static int policy_show(struct ctl *c, const struct ctl_args *a)
{
	char path[300];
	ctl_path(path, sizeof(path), "/api/v1/policy/devices/", ctl_opt_get(a, "--device"), "");
	return ctl_get_print(c, a, path, print_device_policy);
}

static void print_status(json_t *o, const struct ctl_args *a)
{
	json_t *f;
	size_t i;
	printf(_("%s: %lld tablets, %lld converged, %lld pending, %lld failing\n"),
	       json_is_string(json_object_get(o, "school")) ? str(o, "school") : _("fleet"),
	       num(o, "devices"), num(o, "converged"), num(o, "pending"), num(o, "failing"));
	if (json_array_size(json_object_get(o, "failures")) == 0)
		return;
	printf("\n%-16s %-20s %-36s %s\n", _("SERIAL"), _("COMMAND"), _("ITEM"), _("ERROR"));
	json_array_foreach(json_object_get(o, "failures"), i, f)
	    printf("%-16s %-20s %-36s %s\n", str(f, "serial"), str(f, "type"), str(f, "identifier"),
		   str(f, "error"));
}

/* policy status, report apps: a collège or the fleet. */
static const struct ctl_opt school_opts[] = {
    CTL_OPT_SCHOOL("only this collège's tablets (default: the fleet)"),
    CTL_OPT_END,
};

static int policy_status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/policy/status", print_status);
}

static void print_reconciled(json_t *o, const struct ctl_args *a)
{
	print_reconcile(o);
}

static const struct ctl_opt reconcile_opts[] = {
    CTL_OPT_FIELD("--school", "UAI", "school", NULL,
		  "only this collège's tablets (default: the fleet)"),
    CTL_OPT_END,
};

static int policy_reconcile(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/policy/reconcile", ctl_opt_body(a),
			      print_reconciled);
}

static void print_unapproved(json_t *o, const struct ctl_args *a)
{
	json_t *app, *s;
	size_t i, k;
	printf("%-40s %-28s %-8s %s\n", _("BUNDLE ID"), _("NAME"), _("TABLETS"), _("SERIALS"));
	json_array_foreach(json_object_get(o, "unapproved"), i, app)
	{
		printf("%-40s %-28s %-8lld", str(app, "identifier"), str(app, "name"),
		       num(app, "devices"));
		json_array_foreach(json_object_get(app, "serials"), k, s)
		    printf(" %s", json_string_value(s));
		putchar('\n');
	}
}

static int report_apps(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/reports/apps", print_unapproved);
}

const struct ctl_verb ctl_policy_verbs[] = {
    {"profile", "add", profile_add, add_opts, 0,
     N_("check a configuration profile and add it to the catalogue (name: the file's)")},
    {"profile", "update", profile_update, update_opts, 0,
     N_("replace a profile's content; tablets get the new version")},
    {"profile", "list", profile_list, NULL, 0, N_("the profile catalogue")},
    {"profile", "show", profile_show, name_opts, 0,
     N_("one profile: payload types, content hash, the scopes it is assigned to")},
    {"profile", "remove", profile_remove, name_opts, 0,
     N_("remove a profile: unassigned everywhere, removed from the tablets")},
    {"app", "add", app_add, app_add_opts, 0, N_("add an App Store app to the catalogue")},
    {"app", "list", app_list, NULL, 0, N_("the app catalogue")},
    {"app", "remove", app_remove, bundle_opts, 0,
     N_("remove an app from the catalogue and from the tablets Ardoise installed it on")},
    {"policy", "assign", policy_assign, assign_opts, 0,
     N_("give a profile or app (profile:NAME, app:BUNDLE_ID) to a scope; fleet = the baseline")},
    {"policy", "unassign", policy_unassign, unassign_opts, 0, N_("take it back")},
    {"policy", "list", policy_list, list_opts, 0, N_("assignments, of one scope or all")},
    {"policy", "show", policy_show, show_opts, 0,
     N_("a tablet's effective policy: each item, its state and the scopes it comes from")},
    {"policy", "status", policy_status, school_opts, 0,
     N_("converged / pending / failing tablets, and the failing commands' errors")},
    {"policy", "reconcile", policy_reconcile, reconcile_opts, 0,
     N_("reconcile now (it also runs by itself on every change and fresh inventory)")},
    {"report", "apps", report_apps, school_opts, 0,
     N_("apps found on tablets that their policy does not include")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
