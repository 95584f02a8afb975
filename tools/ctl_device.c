/* ctl_device.c - device import, list, show, move, retire, erase, release. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

static const char import_usage[] = "device import FILE.csv [--dry-run] [--reason R] [--json]";
static const char list_usage[] = "device list [--school UAI] [--state S] [--not-seen-days N] "
				 "[--os-below X] [--json]";

static int import(struct ctl *c, int argc, char **argv)
{
	return ctl_fleet_import(c, import_usage, "/api/v1/devices/import", argc, argv);
}

static const char *const row_keys[] = {"serial",     "udid",   "school",    "state",	"model",
				       "os_version", "holder", "last_seen", "asset_tag"};

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

static void add_row(const char *const *v, void *arg)
{
	char when[32];
	const char *row[] = {dash(v[0][0] ? v[0] : v[1]),
			     dash(v[2]),
			     dash(v[3]),
			     dash(v[4]),
			     dash(v[5]),
			     dash(v[6]),
			     ctl_when(v[7], when, sizeof(when)),
			     dash(v[8])};
	ctl_fleet_row(arg, row);
}

static int list(struct ctl *c, int argc, char **argv)
{
	const char *school = NULL, *state = NULL, *days = NULL, *os = NULL;
	struct ctl_fleet_opt opts[] = {{"--school", &school},
				       {"--state", &state},
				       {"--not-seen-days", &days},
				       {"--os-below", &os},
				       {NULL}};
	char path[1024] = "/api/v1/devices";
	int rc = ctl_fleet_args(list_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	ctl_fleet_query(path, sizeof(path), "school", school);
	ctl_fleet_query(path, sizeof(path), "state", state);
	ctl_fleet_query(path, sizeof(path), "not_seen_days", days);
	ctl_fleet_query(path, sizeof(path), "os_below", os);
	if (c->json)
		return ctl_fleet_print_all(c, path, "devices");
	static const char *const head[] = {"SERIAL", "SCHOOL", "STATE",	    "MODEL",
					   "OS",     "HOLDER", "LAST SEEN", "ASSET TAG"};
	struct ctl_table *t = ctl_fleet_table(8, head);
	rc = ctl_fleet_get_rows(c, path, "devices", row_keys, 9, add_row, t);
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
	char t1[32], t2[32];
	printf("\nloans:\n");
	json_array_foreach(json_object_get(d, "loans"), i, v)
	{
		printf("  #%lld %-9s %s (%s) from %s, returned %s, due %s%s\n",
		       (long long)json_integer_value(json_object_get(v, "id")),
		       ctl_fleet_str(v, "state"), ctl_fleet_str(v, "person"),
		       ctl_fleet_str(v, "name"), ctl_when_of(v, "started", t1, sizeof(t1)),
		       ctl_when_of(v, "returned", t2, sizeof(t2)), ctl_fleet_str(v, "due"),
		       json_is_true(json_object_get(v, "home_use")) ? ", home use" : "");
	}
	printf("incidents:\n");
	json_array_foreach(json_object_get(d, "incidents"), i, v)
	{
		printf("  #%lld %-7s %-6s occurred %s, declared %s%s%s%s\n",
		       (long long)json_integer_value(json_object_get(v, "id")),
		       ctl_fleet_str(v, "kind"), ctl_fleet_str(v, "status"),
		       ctl_when_of(v, "occurred", t1, sizeof(t1)),
		       ctl_when_of(v, "declared", t2, sizeof(t2)),
		       json_is_true(json_object_get(v, "late")) ? " (late)" : "",
		       *ctl_fleet_str(v, "outcome") != '-' ? ", outcome " : "",
		       *ctl_fleet_str(v, "outcome") != '-' ? ctl_fleet_str(v, "outcome") : "");
	}
	printf("commands:\n");
	json_array_foreach(json_object_get(d, "commands"), i, v)
	{
		printf("  %s %-24s %-12s %s\n", ctl_when_of(v, "created_at", t1, sizeof(t1)),
		       ctl_fleet_str(v, "type"), ctl_fleet_str(v, "status"),
		       ctl_fleet_str(v, "uuid"));
	}
}

static int show(struct ctl *c, int argc, char **argv)
{
	char path[256], when[32];
	json_t *d = NULL;
	if (argc != 1)
		return ctl_usage("device show SERIAL [--json]", "one SERIAL is required");
	ctl_path(path, sizeof(path), "/api/v1/devices/", argv[0], "");
	int rc = ctl_call(c, "GET", path, NULL, &d);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(d);
	} else {
		static const char *const keys[] = {
		    "serial", "udid",	   "school",	 "state",      "holder",
		    "model",  "asset_tag", "os_version", "enrollment", "device_name"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			printf("%-12s %s\n", keys[i], ctl_fleet_str(d, keys[i]));
		printf("%-12s %s\n", "last_seen", ctl_when_of(d, "last_seen", when, sizeof(when)));
		print_history(d);
	}
	json_decref(d);
	return CTL_OK;
}

/* POST /api/v1/devices/SERIAL/what with body; prints the new state. */
static int change(struct ctl *c, const char *serial, const char *what, json_t *body)
{
	char path[256], enc[160];
	json_t *d = NULL;
	ctl_urlenc(serial, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/devices/%s/%s", enc, what);
	int rc = ctl_fleet_post(c, path, body, &d);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(d);
	else
		printf("%s: %s, collège %s\n", serial, ctl_fleet_str(d, "state"),
		       ctl_fleet_str(d, "school"));
	json_decref(d);
	return CTL_OK;
}

static int move(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "device move SERIAL --school UAI [--reason R] [--json]";
	const char *serial = NULL, *school = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--school", &school}, {"--reason", &reason}, {NULL}};
	int rc = ctl_fleet_args(usage, argc, argv, opts, &serial, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (school == NULL)
		return ctl_usage(usage, "--school is required");
	return change(c, serial, "move",
		      json_pack("{s:s,s:s?}", "school", school, "reason", reason));
}

static int retire(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "device retire SERIAL [--reason R] [--json]";
	const char *serial = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--reason", &reason}, {NULL}};
	int rc = ctl_fleet_args(usage, argc, argv, opts, &serial, 1, 1);
	if (rc != CTL_OK)
		return rc;
	return change(c, serial, "retire", json_pack("{s:s?}", "reason", reason));
}

static const char erase_usage[] = "device erase SERIAL --reason TEXT [--json]";

static int erase(struct ctl *c, int argc, char **argv)
{
	const char *serial = NULL, *reason = NULL;
	char path[256];
	json_t *ret = NULL;
	struct ctl_fleet_opt opts[] = {{"--reason", &reason}, {NULL}};
	int rc = ctl_fleet_args(erase_usage, argc, argv, opts, &serial, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (reason == NULL)
		return ctl_usage(erase_usage, "--reason is required (it goes to the audit log)");
	ctl_path(path, sizeof(path), "/api/v1/devices/", serial, "/erase");
	json_t *body = json_pack("{s:s}", "reason", reason);
	rc = ctl_fleet_post(c, path, body, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("queued EraseDevice %s for %s%s\n", ctl_fleet_str(ret, "uuid"), serial,
		       json_is_true(json_object_get(ret, "return_to_service"))
			   ? " (Return to Service: it comes back enrolled)"
			   : "");
	json_decref(ret);
	return CTL_OK;
}

static const char release_usage[] = "device release SERIAL --reason R [--json]";

/* POST /api/v1/devices/SERIAL/release: the tablet's certificate binding
 * ends; its next enrolment binds a new one. */
static int release(struct ctl *c, int argc, char **argv)
{
	char path[256];
	const char *serial = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--reason", &reason}, {NULL}};
	json_t *d = NULL;
	int rc = ctl_fleet_args(release_usage, argc, argv, opts, &serial, 1, 1);
	if (rc != CTL_OK)
		return rc;
	if (reason == NULL)
		return ctl_usage(release_usage, "--reason is required");
	ctl_path(path, sizeof(path), "/api/v1/devices/", serial, "/release");
	rc = ctl_fleet_post(c, path, json_pack("{s:s}", "reason", reason), &d);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(d);
	else
		printf("%s: certificate released (%s); its next enrolment binds a new one\n",
		       serial, ctl_fleet_str(d, "enrollment"));
	json_decref(d);
	return CTL_OK;
}

const struct ctl_verb ctl_device_verbs[] = {
    {"device", "import", import, import_usage,
     "import tablets from CSV (serial, model, uai, asset_tag); all rows or none"},
    {"device", "list", list, list_usage, "list tablets, filtered"},
    {"device", "show", show, "device show SERIAL [--json]",
     "one tablet with its loans, incidents and commands"},
    {"device", "move", move, "device move SERIAL --school UAI [--reason R] [--json]",
     "assign a tablet (not on loan) to another collège"},
    {"device", "retire", retire, "device retire SERIAL [--reason R] [--json]",
     "retire a tablet in stock"},
    {"device", "erase", erase, erase_usage,
     "technicians: erase a tablet outside a loan return (audited with the reason)"},
    {"device", "release", release, release_usage,
     "technicians: end a tablet's certificate binding, so that it enrols afresh"},
    {NULL, NULL, NULL, NULL, NULL},
};
