/* ctl_policy.c - profile, app, policy verbs and `report apps`. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROFILE_FILE (4u * 1024 * 1024)

/* Value of "--flag VALUE" in argv, NULL when absent. */
static const char *opt(int argc, char **argv, const char *flag)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return argv[i + 1];
	return NULL;
}

/* Checks that argv holds only the given flags (each with a value) and at
 * most max_pos positional arguments, collected in pos. */
static int args_ok(int argc, char **argv, const char *const *flags, const char **pos, int max_pos,
		   int *n_pos)
{
	*n_pos = 0;
	for (int i = 0; i < argc; i++) {
		int known = 0;
		for (size_t k = 0; flags && flags[k]; k++)
			known |= strcmp(argv[i], flags[k]) == 0;
		if (known) {
			if (i + 1 >= argc)
				return 0;
			i++;
		} else if (argv[i][0] == '-' || *n_pos == max_pos) {
			return 0;
		} else {
			pos[(*n_pos)++] = argv[i];
		}
	}
	return 1;
}

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
		printf("reconciliation failed: %s (it runs again at the next change or refresh)\n",
		       str(rec, "error"));
		return;
	}
	printf("reconciled %lld tablets in %lld ms: %lld commands queued, %lld canceled, "
	       "%lld already converged",
	       num(rec, "devices"), num(rec, "ms"), num(rec, "queued"), num(rec, "canceled"),
	       num(rec, "converged"));
	if (num(rec, "capped"))
		printf(", %lld waiting for room in full queues", num(rec, "capped"));
	if (num(rec, "failed"))
		printf(", %lld could not be built", num(rec, "failed"));
	putchar('\n');
}

/* Prints JSON or calls human(); frees ret. */
static int output(struct ctl *c, json_t *ret, void (*human)(json_t *v))
{
	if (c->json)
		ctl_print_json(ret);
	else
		human(ret);
	json_decref(ret);
	return CTL_OK;
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
		return ctl_err("%s: %s", path, bad ? "cannot read" : "larger than 4 MiB");
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

static void print_profile(json_t *p)
{
	char t[32];
	json_t *types = json_object_get(p, "payload_types"), *v;
	size_t i;
	printf("name          %s\nidentifier    %s\ndisplay name  %s\n", str(p, "name"),
	       str(p, "identifier"), str(p, "display_name"));
	printf("payloads     ");
	json_array_foreach(types, i, v) printf(" %s", json_string_value(v));
	printf("\ncontent hash  %s\npayload uuid  %s\n", str(p, "payload_hash"),
	       str(p, "payload_uuid"));
	printf("added         %s by %s\n", ctl_when_of(p, "created_at", t, sizeof(t)),
	       str(p, "created_by"));
	if (json_is_string(json_object_get(p, "updated_at"))) {
		printf("updated       %s by %s\n", ctl_when_of(p, "updated_at", t, sizeof(t)),
		       str(p, "updated_by"));
	}
	json_t *scopes = json_object_get(p, "scopes");
	if (scopes) {
		printf("assigned to  ");
		json_array_foreach(scopes, i, v) printf(" %s", json_string_value(v));
		printf("%s\n", json_array_size(scopes) ? "" : " (nothing)");
	}
	print_reconcile(json_object_get(p, "reconcile"));
}

static int send_profile(struct ctl *c, const char *method, const char *path, const char *file)
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
	return output(c, ret, print_profile);
}

static const char add_usage[] = "profile add FILE.mobileconfig [--name NAME] [--json]";

static int profile_add(struct ctl *c, int argc, char **argv)
{
	static const char *const flags[] = {"--name", NULL};
	const char *pos[1];
	char name[80], path[300];
	int n;
	if (!args_ok(argc, argv, flags, pos, 1, &n) || n != 1)
		return ctl_usage(add_usage, "one FILE is required");
	const char *given = opt(argc, argv, "--name");
	if (given)
		snprintf(name, sizeof(name), "%s", given);
	else
		stem(pos[0], name, sizeof(name));
	ctl_path(path, sizeof(path), "/api/v1/policy/profiles?name=", name, "");
	return send_profile(c, "POST", path, pos[0]);
}

static int profile_update(struct ctl *c, int argc, char **argv)
{
	const char *pos[2];
	char path[300];
	int n;
	if (!args_ok(argc, argv, NULL, pos, 2, &n) || n != 2)
		return ctl_usage("profile update NAME FILE.mobileconfig [--json]",
				 "NAME and FILE are required");
	ctl_path(path, sizeof(path), "/api/v1/policy/profiles/", pos[0], "");
	return send_profile(c, "PUT", path, pos[1]);
}

static void print_profiles(json_t *a)
{
	json_t *p;
	size_t i;
	printf("%-24s %-40s %-8s %s\n", "NAME", "IDENTIFIER", "PAYLOADS", "DISPLAY NAME");
	json_array_foreach(a, i, p)
	{
		printf("%-24s %-40s %-8zu %s\n", str(p, "name"), str(p, "identifier"),
		       json_array_size(json_object_get(p, "payload_types")),
		       str(p, "display_name"));
	}
}

static int get_print(struct ctl *c, const char *path, void (*human)(json_t *v))
{
	json_t *ret = NULL;
	int rc = ctl_call(c, "GET", path, NULL, &ret);
	return rc != CTL_OK ? rc : output(c, ret, human);
}

static int profile_list(struct ctl *c, int argc, char **argv)
{
	if (argc)
		return ctl_usage("profile list [--json]", "unexpected argument '%s'", argv[0]);
	return get_print(c, "/api/v1/policy/profiles", print_profiles);
}

/* NOUN VERB ONE-ARG verbs: path = prefix + encoded argument. */
static int one_arg(struct ctl *c, int argc, char **argv, const char *usage, const char *method,
		   const char *prefix, void (*human)(json_t *v))
{
	char path[400];
	json_t *ret = NULL;
	if (argc != 1 || argv[0][0] == '-')
		return ctl_usage(usage, "one argument is required");
	ctl_path(path, sizeof(path), prefix, argv[0], "");
	int rc = ctl_call(c, method, path, NULL, &ret);
	return rc != CTL_OK ? rc : output(c, ret, human);
}

static int profile_show(struct ctl *c, int argc, char **argv)
{
	return one_arg(c, argc, argv, "profile show NAME [--json]", "GET",
		       "/api/v1/policy/profiles/", print_profile);
}

static void print_removed(json_t *o)
{
	printf("removed %s%s (%lld assignments dropped)\n", str(o, "name"), str(o, "bundle_id"),
	       num(o, "unassigned"));
	print_reconcile(json_object_get(o, "reconcile"));
}

static int profile_remove(struct ctl *c, int argc, char **argv)
{
	return one_arg(c, argc, argv, "profile remove NAME [--json]", "DELETE",
		       "/api/v1/policy/profiles/", print_removed);
}

/* ---- apps --------------------------------------------------------------- */

static const char app_add_usage[] =
    "app add --bundle-id ID --name NAME [--store-id N] [--licence L] [--json]";

static void print_app(json_t *a)
{
	printf("added %s (%s), App Store id %lld\n", str(a, "bundle_id"), str(a, "name"),
	       num(a, "store_id"));
}

static int app_add(struct ctl *c, int argc, char **argv)
{
	static const char *const flags[] = {"--bundle-id", "--name", "--store-id", "--licence",
					    NULL};
	const char *pos[1], *store = opt(argc, argv, "--store-id");
	json_t *ret = NULL;
	char *end = NULL;
	int n;
	long long store_id = store ? strtoll(store, &end, 10) : 0;
	if (!args_ok(argc, argv, flags, pos, 0, &n) || !opt(argc, argv, "--bundle-id") ||
	    !opt(argc, argv, "--name") || (store && (*end || store_id < 0)))
		return ctl_usage(app_add_usage, "--bundle-id and --name are required, "
						"--store-id is a number");
	json_t *body =
	    json_pack("{s:s,s:s,s:I}", "bundle_id", opt(argc, argv, "--bundle-id"), "name",
		      opt(argc, argv, "--name"), "store_id", (json_int_t)store_id);
	if (opt(argc, argv, "--licence"))
		json_object_set_new(body, "licence", json_string(opt(argc, argv, "--licence")));
	int rc = ctl_call(c, "POST", "/api/v1/policy/apps", body, &ret);
	json_decref(body);
	return rc != CTL_OK ? rc : output(c, ret, print_app);
}

static void print_apps(json_t *a)
{
	json_t *p;
	size_t i;
	printf("%-40s %-12s %s\n", "BUNDLE ID", "STORE ID", "NAME");
	json_array_foreach(a, i, p)
	    printf("%-40s %-12lld %s\n", str(p, "bundle_id"), num(p, "store_id"), str(p, "name"));
}

static int app_list(struct ctl *c, int argc, char **argv)
{
	if (argc)
		return ctl_usage("app list [--json]", "unexpected argument '%s'", argv[0]);
	return get_print(c, "/api/v1/policy/apps", print_apps);
}

static int app_remove(struct ctl *c, int argc, char **argv)
{
	return one_arg(c, argc, argv, "app remove BUNDLE_ID [--json]", "DELETE",
		       "/api/v1/policy/apps/", print_removed);
}

/* ---- policy ------------------------------------------------------------- */

static void print_assignment(json_t *o)
{
	printf("%s %s\n", str(o, "item"), str(o, "scope"));
	print_reconcile(json_object_get(o, "reconcile"));
}

static int assignment(struct ctl *c, int argc, char **argv, const char *method, const char *usage)
{
	static const char *const flags[] = {"--scope", NULL};
	const char *pos[1];
	json_t *ret = NULL;
	int n;
	if (!args_ok(argc, argv, flags, pos, 1, &n) || n != 1 || !opt(argc, argv, "--scope"))
		return ctl_usage(usage, "ITEM and --scope are required");
	json_t *body = json_pack("{s:s,s:s}", "item", pos[0], "scope", opt(argc, argv, "--scope"));
	int rc = ctl_call(c, method, "/api/v1/policy/assignments", body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (!c->json)
		printf("%s ", method[0] == 'P' ? "assigned" : "unassigned");
	return output(c, ret, print_assignment);
}

static const char assign_usage[] =
    "policy assign PROFILE|APP --scope fleet|school:UAI|group:UAI/NAME|device:SERIAL [--json]";
static const char unassign_usage[] = "policy unassign PROFILE|APP --scope SCOPE [--json]";

static int policy_assign(struct ctl *c, int argc, char **argv)
{
	return assignment(c, argc, argv, "POST", assign_usage);
}

static int policy_unassign(struct ctl *c, int argc, char **argv)
{
	return assignment(c, argc, argv, "DELETE", unassign_usage);
}

static void print_assignments(json_t *a)
{
	json_t *p;
	size_t i;
	printf("%-40s %-32s %s\n", "ITEM", "SCOPE", "BY");
	json_array_foreach(a, i, p)
	    printf("%-40s %-32s %s\n", str(p, "item"), str(p, "scope"), str(p, "created_by"));
}

/* GET prefix with an optional "--flag VALUE" turned into ?key=VALUE. */
static int get_filtered(struct ctl *c, int argc, char **argv, const char *usage, const char *flag,
			const char *key, const char *prefix, void (*human)(json_t *v))
{
	const char *flags[] = {flag, NULL}, *pos[1];
	char enc[300], path[400];
	int n;
	if (!args_ok(argc, argv, flags, pos, 0, &n))
		return ctl_usage(usage, "unexpected arguments");
	const char *v = opt(argc, argv, flag);
	ctl_urlenc(v ? v : "", enc, sizeof(enc));
	snprintf(path, sizeof(path), "%s%s%s%s", prefix, v ? "?" : "", v ? key : "", v ? enc : "");
	return get_print(c, path, human);
}

static int policy_list(struct ctl *c, int argc, char **argv)
{
	return get_filtered(c, argc, argv, "policy list [--scope SCOPE] [--json]", "--scope",
			    "scope=", "/api/v1/policy/assignments", print_assignments);
}

static void print_device_policy(json_t *o)
{
	json_t *it, *g = json_object_get(o, "groups"), *v;
	size_t i, k;
	printf("tablet %s, collège %s, %s", str(o, "serial"),
	       json_is_string(json_object_get(o, "school")) ? str(o, "school") : "(none)",
	       str(o, "enrollment"));
	if (json_array_size(g)) {
		printf(", groups:");
		json_array_foreach(g, i, v) printf(" %s", json_string_value(v));
	}
	printf("\n\n%-8s %-36s %-10s %s\n", "KIND", "ITEM", "STATE", "FROM");
	json_array_foreach(json_object_get(o, "items"), i, it)
	{
		printf("%-8s %-36s %-10s", str(it, "kind"), str(it, "name"), str(it, "state"));
		json_array_foreach(json_object_get(it, "scopes"), k, v)
		    printf(" %s", json_string_value(v));
		if (str(it, "error")[0])
			printf("  error: %s", str(it, "error"));
		putchar('\n');
	}
}

static int policy_show(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "policy show --device SERIAL [--json]";
	const char *flags[] = {"--device", NULL}, *pos[1];
	char path[300];
	int n;
	if (!args_ok(argc, argv, flags, pos, 0, &n) || !opt(argc, argv, "--device"))
		return ctl_usage(usage, "--device SERIAL is required");
	ctl_path(path, sizeof(path), "/api/v1/policy/devices/", opt(argc, argv, "--device"), "");
	return get_print(c, path, print_device_policy);
}

static void print_status(json_t *o)
{
	json_t *f;
	size_t i;
	printf("%s: %lld tablets, %lld converged, %lld pending, %lld failing\n",
	       json_is_string(json_object_get(o, "school")) ? str(o, "school") : "fleet",
	       num(o, "devices"), num(o, "converged"), num(o, "pending"), num(o, "failing"));
	if (json_array_size(json_object_get(o, "failures")) == 0)
		return;
	printf("\n%-16s %-20s %-36s %s\n", "SERIAL", "COMMAND", "ITEM", "ERROR");
	json_array_foreach(json_object_get(o, "failures"), i, f)
	    printf("%-16s %-20s %-36s %s\n", str(f, "serial"), str(f, "type"), str(f, "identifier"),
		   str(f, "error"));
}

static int policy_status(struct ctl *c, int argc, char **argv)
{
	return get_filtered(c, argc, argv, "policy status [--school UAI] [--json]", "--school",
			    "school=", "/api/v1/policy/status", print_status);
}

static void print_reconciled(json_t *o)
{
	print_reconcile(o);
}

static int policy_reconcile(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "policy reconcile [--school UAI] [--json]";
	const char *flags[] = {"--school", NULL}, *pos[1];
	json_t *ret = NULL;
	int n;
	if (!args_ok(argc, argv, flags, pos, 0, &n))
		return ctl_usage(usage, "unexpected arguments");
	json_t *body = json_object();
	if (opt(argc, argv, "--school"))
		json_object_set_new(body, "school", json_string(opt(argc, argv, "--school")));
	int rc = ctl_call(c, "POST", "/api/v1/policy/reconcile", body, &ret);
	json_decref(body);
	return rc != CTL_OK ? rc : output(c, ret, print_reconciled);
}

static void print_unapproved(json_t *o)
{
	json_t *a, *s;
	size_t i, k;
	printf("%-40s %-28s %-8s %s\n", "BUNDLE ID", "NAME", "TABLETS", "SERIALS");
	json_array_foreach(json_object_get(o, "unapproved"), i, a)
	{
		printf("%-40s %-28s %-8lld", str(a, "identifier"), str(a, "name"),
		       num(a, "devices"));
		json_array_foreach(json_object_get(a, "serials"), k, s)
		    printf(" %s", json_string_value(s));
		putchar('\n');
	}
}

static int report_apps(struct ctl *c, int argc, char **argv)
{
	return get_filtered(c, argc, argv, "report apps [--school UAI] [--json]", "--school",
			    "school=", "/api/v1/reports/apps", print_unapproved);
}

const struct ctl_verb ctl_policy_verbs[] = {
    {"profile", "add", profile_add, add_usage,
     "check a configuration profile and add it to the catalogue (name: the file's)"},
    {"profile", "update", profile_update, "profile update NAME FILE.mobileconfig [--json]",
     "replace a profile's content; tablets get the new version"},
    {"profile", "list", profile_list, "profile list [--json]", "the profile catalogue"},
    {"profile", "show", profile_show, "profile show NAME [--json]",
     "one profile: payload types, content hash, the scopes it is assigned to"},
    {"profile", "remove", profile_remove, "profile remove NAME [--json]",
     "remove a profile: unassigned everywhere, removed from the tablets"},
    {"app", "add", app_add, app_add_usage, "add an App Store app to the catalogue"},
    {"app", "list", app_list, "app list [--json]", "the app catalogue"},
    {"app", "remove", app_remove, "app remove BUNDLE_ID [--json]",
     "remove an app from the catalogue and from the tablets Ardoise installed it on"},
    {"policy", "assign", policy_assign, assign_usage,
     "give a profile or app (profile:NAME, app:BUNDLE_ID) to a scope; fleet = the baseline"},
    {"policy", "unassign", policy_unassign, unassign_usage, "take it back"},
    {"policy", "list", policy_list, "policy list [--scope SCOPE] [--json]",
     "assignments, of one scope or all"},
    {"policy", "show", policy_show, "policy show --device SERIAL [--json]",
     "a tablet's effective policy: each item, its state and the scopes it comes from"},
    {"policy", "status", policy_status, "policy status [--school UAI] [--json]",
     "converged / pending / failing tablets, and the failing commands' errors"},
    {"policy", "reconcile", policy_reconcile, "policy reconcile [--school UAI] [--json]",
     "reconcile now (it also runs by itself on every change and fresh inventory)"},
    {"report", "apps", report_apps, "report apps [--school UAI] [--json]",
     "apps found on tablets that their policy does not include"},
    {NULL, NULL, NULL, NULL, NULL},
};
