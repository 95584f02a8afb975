/* ctl_command.c - command, enroll-code and enroll-profile verbs. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_cmd_row(json_t *c)
{
	const char *uuid = "", *type = "", *status = "", *error = "";
	char t1[32], t2[32];
	json_unpack(c, "{s:s,s:s,s:s,s:s}", "uuid", &uuid, "type", &type, "status", &status,
		    "error", &error);
	printf("%-36s  %-26s  %-12s  %-16s  %-16s  %s\n", uuid, type, status,
	       ctl_when_of(c, "created_at", t1, sizeof(t1)),
	       ctl_when_of(c, "done_at", t2, sizeof(t2)), error);
}

static const char send_usage[] = "command send SERIAL TYPE [Key=value...] [--reason TEXT] [--json]";

static int send(struct ctl *c, int argc, char **argv)
{
	char path[256];
	const char *reason = NULL;
	json_t *ret = NULL;
	if (argc < 2)
		return ctl_usage(send_usage, "SERIAL and TYPE are required");
	json_t *params = json_array();
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
			reason = argv[++i];
			continue;
		}
		if (strchr(argv[i], '=') == NULL) {
			json_decref(params);
			return ctl_usage(send_usage, "'%s' is not Key=value", argv[i]);
		}
		json_array_append_new(params, json_string(argv[i]));
	}
	json_t *body =
	    json_pack("{s:s,s:o,s:s?}", "type", argv[1], "params", params, "reason", reason);
	ctl_path(path, sizeof(path), "/api/v1/devices/", argv[0], "/commands");
	int rc = ctl_call(c, "POST", path, body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("queued %s %s for %s\n", json_string_value(json_object_get(ret, "type")),
		       json_string_value(json_object_get(ret, "uuid")), argv[0]);
	json_decref(ret);
	return CTL_OK;
}

static const char bulk_usage[] =
    "command bulk TYPE (--school UAI | --all) [Key=value...] [--reason TEXT] [--json]";

static int bulk(struct ctl *c, int argc, char **argv)
{
	json_t *ret = NULL, *params = json_array(), *body;
	const char *school = NULL, *reason = NULL;
	int all = 0;
	if (argc < 1) {
		json_decref(params);
		return ctl_usage(bulk_usage, "TYPE is required");
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--school") == 0 && i + 1 < argc) {
			school = argv[++i];
		} else if (strcmp(argv[i], "--all") == 0) {
			all = 1;
		} else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
			reason = argv[++i];
		} else if (strchr(argv[i], '=')) {
			json_array_append_new(params, json_string(argv[i]));
		} else {
			json_decref(params);
			return ctl_usage(bulk_usage, "unexpected argument '%s'", argv[i]);
		}
	}
	if (!school == !all) {
		json_decref(params);
		return ctl_usage(bulk_usage, "give exactly one of --school UAI and --all");
	}
	body = json_pack("{s:s,s:o,s:s?}", "type", argv[0], "params", params, "reason", reason);
	json_object_set_new(body, school ? "school" : "all",
			    school ? json_string(school) : json_true());
	int rc = ctl_call(c, "POST", "/api/v1/commands/bulk", body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		json_int_t q = 0, sk = 0, f = 0;
		json_unpack(ret, "{s:I,s:I,s:I}", "queued", &q, "skipped", &sk, "failed", &f);
		printf("%s: queued for %lld tablets, %lld already pending, %lld failed\n", argv[0],
		       (long long)q, (long long)sk, (long long)f);
	}
	json_decref(ret);
	return CTL_OK;
}

static int list(struct ctl *c, int argc, char **argv)
{
	char path[256];
	json_t *ret = NULL, *v;
	size_t i;
	if (argc != 1)
		return ctl_usage("command list SERIAL [--json]", "one SERIAL is required");
	ctl_path(path, sizeof(path), "/api/v1/devices/", argv[0], "/commands");
	int rc = ctl_call(c, "GET", path, NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		printf("%-36s  %-26s  %-12s  %-16s  %-16s  %s\n", "UUID", "TYPE", "STATUS",
		       "QUEUED", "DONE", "ERROR");
		json_array_foreach(ret, i, v) print_cmd_row(v);
	}
	json_decref(ret);
	return CTL_OK;
}

/* One field of a command, made safe (ctl_safe()); a plist (block) on its
 * own lines. */
static void print_field(const char *key, const char *text, int block)
{
	size_t cap = strlen(text) * 6 + 1;
	char *shown = malloc(cap);
	if (shown)
		printf(block ? "%s:\n%s\n" : "%-11s %s\n", key, ctl_safe(text, block, shown, cap));
	free(shown);
}

static int show(struct ctl *c, int argc, char **argv)
{
	char path[256];
	json_t *ret = NULL;
	int plist = 0, k = 0;
	const char *uuid = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--plist") == 0)
			plist = 1;
		else if (k++ == 0)
			uuid = argv[i];
	}
	if (uuid == NULL || k != 1)
		return ctl_usage("command show UUID [--plist] [--json]", "one UUID is required");
	ctl_path(path, sizeof(path), "/api/v1/commands/", uuid, plist ? "?plist=1" : "");
	int json = c->json, rc;
	c->json = 1; /* the answer as sent: print_field() makes it safe */
	rc = ctl_call(c, "GET", path, NULL, &ret);
	c->json = json;
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		const char *key;
		json_t *v;
		json_object_foreach(ret, key, v)
		{
			char t[32];
			if (json_is_string(v) && strstr(key, "_at"))
				printf("%-11s %s\n", key,
				       ctl_when(json_string_value(v), t, sizeof(t)));
			else if (json_is_string(v))
				print_field(key, json_string_value(v),
					    strcmp(key, "payload") == 0 ||
						strcmp(key, "result") == 0);
		}
	}
	json_decref(ret);
	return CTL_OK;
}

static int cancel(struct ctl *c, int argc, char **argv)
{
	char path[256];
	json_t *ret = NULL;
	if (argc != 1)
		return ctl_usage("command cancel UUID [--json]", "one UUID is required");
	ctl_path(path, sizeof(path), "/api/v1/commands/", argv[0], "");
	int rc = ctl_call(c, "DELETE", path, NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("canceled %s\n", argv[0]);
	json_decref(ret);
	return CTL_OK;
}

static int code_new(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "enroll-code new [--uses N] [--json]";
	json_t *ret = NULL, *body = json_object();
	for (int i = 0; i < argc; i++) {
		char *end;
		long long n;
		if (strcmp(argv[i], "--uses") == 0 && i + 1 < argc &&
		    (n = strtoll(argv[i + 1], &end, 10)) > 0 && *end == '\0') {
			json_object_set_new(body, "uses", json_integer(n));
			i++;
			continue;
		}
		json_decref(body);
		return ctl_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	int rc = ctl_call(c, "POST", "/api/v1/enroll-codes", body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("code: %s\n", json_string_value(json_object_get(ret, "code")));
	json_decref(ret);
	return CTL_OK;
}

static int profile(struct ctl *c, int argc, char **argv)
{
	const char *path = "/mdm/enroll";
	char *data = NULL;
	size_t len = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--unsigned") == 0)
			path = "/mdm/enroll?unsigned=1";
		else
			return ctl_usage("enroll-profile [--unsigned] > enroll.mobileconfig",
					 "unexpected argument '%s'", argv[i]);
	}
	int rc = ctl_call_raw(c, "GET", path, NULL, 0, NULL, &data, &len);
	if (rc != CTL_OK)
		return rc;
	if (fwrite(data, 1, len, stdout) != len)
		rc = ctl_err("cannot write the profile to standard output");
	free(data);
	return rc;
}

const struct ctl_verb ctl_command_verbs[] = {
    {"command", "send", send, send_usage,
     "queue an MDM command no procedure owns (DeviceInformation, RestartDevice, DeviceLock "
     "with --reason...) for a tablet"},
    {"command", "bulk", bulk, bulk_usage,
     "technicians: queue one such command for every enrolled tablet of a collège (or the "
     "fleet)"},
    {"command", "list", list, "command list SERIAL [--json]",
     "a tablet's commands, newest first, with status and error"},
    {"command", "show", show, "command show UUID [--plist] [--json]",
     "one command; --plist adds the plist sent and the device's answer"},
    {"command", "cancel", cancel, "command cancel UUID [--json]",
     "cancel a command that is still pending"},
    {"enroll-code", "new", code_new, "enroll-code new [--uses N] [--json]",
     "make an enrolment code (valid 7 days, one tablet unless --uses), printed as 'code: <value>'"},
    {"enroll-profile", NULL, profile, "enroll-profile [--unsigned] > enroll.mobileconfig",
     "download the enrolment profile (signed unless --unsigned); uses a new one-time code"},
    {NULL, NULL, NULL, NULL, NULL},
};
