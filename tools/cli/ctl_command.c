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
	printf("%-36s  %-26s  %-12s  %-16s  %-16s  %s\n", uuid, type, ctl_word(status),
	       ctl_when_of(c, "created_at", t1, sizeof(t1)),
	       ctl_when_of(c, "done_at", t2, sizeof(t2)), error);
}

/* The rows of send and bulk: the command, its parameters. */
#define TYPE_ROW(need_text)                                                       \
	{                                                                         \
		.name = "TYPE", .how = CTL_OPT_POS | CTL_OPT_BODY, .key = "type", \
		.need = (need_text), .help = N_("the MDM command (RequestType)")  \
	}
#define PARAMS_ROW                                                                         \
	{                                                                                  \
		.name = "Key=value...", .how = CTL_OPT_POS | CTL_OPT_MULTI | CTL_OPT_BODY, \
		.key = "params",                                                           \
		.help = N_("the command's parameters (e.g. Message=... for DeviceLock)")   \
	}

/* The Key=value words of a send or bulk, checked. */
static int params_ok(const struct ctl_args *a)
{
	for (size_t i = 0; i < a->n_list; i++)
		if (strchr(a->list[i], '=') == NULL)
			return ctl_opt_usage(a->verb, "'%s' is not Key=value", a->list[i]);
	return CTL_OK;
}

static const struct ctl_opt send_opts[] = {
    CTL_OPT_SERIAL("SERIAL and TYPE are required"),
    TYPE_ROW("SERIAL and TYPE are required"),
    PARAMS_ROW,
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_sent(json_t *ret, const struct ctl_args *a)
{
	printf(_("queued %s %s for %s\n"), json_string_value(json_object_get(ret, "type")),
	       json_string_value(json_object_get(ret, "uuid")), ctl_opt_get(a, "SERIAL"));
}

static int send(struct ctl *c, const struct ctl_args *a)
{
	if (params_ok(a) != CTL_OK)
		return CTL_EUSAGE;
	return ctl_device_post(c, a, "/commands", print_sent);
}

static const struct ctl_opt bulk_opts[] = {
    TYPE_ROW("TYPE is required"),
    CTL_OPT_SCHOOL_OR_ALL,
    PARAMS_ROW,
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_bulk(json_t *ret, const struct ctl_args *a)
{
	json_int_t q = 0, sk = 0, f = 0;
	json_unpack(ret, "{s:I,s:I,s:I}", "queued", &q, "skipped", &sk, "failed", &f);
	printf(_("%s: queued for %lld tablets, %lld already pending, %lld failed\n"),
	       ctl_opt_get(a, "TYPE"), (long long)q, (long long)sk, (long long)f);
}

static int bulk(struct ctl *c, const struct ctl_args *a)
{
	if (params_ok(a) != CTL_OK)
		return CTL_EUSAGE;
	return ctl_send_print(c, a, "POST", "/api/v1/commands/bulk", ctl_opt_body(a), print_bulk);
}

static const struct ctl_opt serial_opts[] = {
    CTL_OPT_SERIAL("one SERIAL is required"),
    CTL_OPT_END,
};

static void print_list(json_t *ret, const struct ctl_args *a)
{
	json_t *v;
	size_t i;
	printf("%-36s  %-26s  %-12s  %-16s  %-16s  %s\n", "UUID", _("TYPE"), _("STATUS"),
	       _("QUEUED"), _("DONE"), _("ERROR"));
	json_array_foreach(ret, i, v) print_cmd_row(v);
}

static int list(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/devices/", ctl_opt_get(a, "SERIAL"), "/commands");
	return ctl_get_print(c, a, path, print_list);
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

static void print_command(json_t *ret, const struct ctl_args *a)
{
	const char *key;
	json_t *v;
	json_object_foreach(ret, key, v)
	{
		char t[32];
		if (json_is_string(v) && strstr(key, "_at"))
			printf("%-11s %s\n", key, ctl_when(json_string_value(v), t, sizeof(t)));
		else if (json_is_string(v))
			print_field(key, json_string_value(v),
				    strcmp(key, "payload") == 0 || strcmp(key, "result") == 0);
	}
}

#define UUID_ROW CTL_OPT_ARG("UUID", "one UUID is required", "the command")

static const struct ctl_opt show_opts[] = {
    UUID_ROW,
    CTL_OPT_FLAG("--plist", CTL_OPT_QUERY, "plist", "also the plist sent and the device's answer"),
    CTL_OPT_END,
};

static int show(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	json_t *ret = NULL;
	ctl_path(path, sizeof(path), "/api/v1/commands/", ctl_opt_get(a, "UUID"), "");
	ctl_opt_query(a, path, sizeof(path));
	int json = c->json, rc;
	c->json = 1; /* the answer as sent: print_field() makes it safe */
	rc = ctl_call(c, "GET", path, NULL, &ret);
	c->json = json;
	return rc != CTL_OK ? rc : ctl_print(c, a, ret, print_command);
}

static const struct ctl_opt cancel_opts[] = {
    UUID_ROW,
    CTL_OPT_END,
};

static void print_canceled(json_t *ret, const struct ctl_args *a)
{
	printf(_("canceled %s\n"), ctl_opt_get(a, "UUID"));
}

static int cancel(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/commands/", ctl_opt_get(a, "UUID"), "");
	return ctl_send_print(c, a, "DELETE", path, NULL, print_canceled);
}

static const struct ctl_opt code_opts[] = {
    {.name = "--uses", .arg = "N", .help = N_("how many tablets may enrol with it (default 1)")},
    CTL_OPT_END,
};

static void print_code(json_t *ret, const struct ctl_args *a)
{
	printf("code: %s\n", json_string_value(json_object_get(ret, "code")));
}

static int code_new(struct ctl *c, const struct ctl_args *a)
{
	long long uses = 0;
	if (ctl_opt_int(a, "--uses", 1, &uses) < 0)
		return ctl_opt_usage(a->verb, "unexpected argument '--uses'");
	json_t *body = json_object();
	if (uses)
		json_object_set_new(body, "uses", json_integer(uses));
	return ctl_send_print(c, a, "POST", "/api/v1/enroll-codes", body, print_code);
}

static const struct ctl_opt profile_opts[] = {
    CTL_OPT_FLAG("--unsigned", CTL_OPT_QUERY, "unsigned",
		 "the profile as it is, without Ardoise's signature"),
    {.name = "> enroll.mobileconfig", .how = CTL_OPT_SHOWN},
    CTL_OPT_END,
};

static int profile(struct ctl *c, const struct ctl_args *a)
{
	char path[64] = "/mdm/enroll", *data = NULL;
	size_t len = 0;
	ctl_opt_query(a, path, sizeof(path));
	int rc = ctl_call_raw(c, "GET", path, NULL, 0, NULL, &data, &len);
	if (rc != CTL_OK)
		return rc;
	if (fwrite(data, 1, len, stdout) != len)
		rc = ctl_err("cannot write the profile to standard output");
	free(data);
	return rc;
}

const struct ctl_verb ctl_command_verbs[] = {
    {"command", "send", send, send_opts, 0,
     N_("queue an MDM command no procedure owns (DeviceInformation, RestartDevice, DeviceLock "
	"with --reason...) for a tablet")},
    {"command", "bulk", bulk, bulk_opts, 0,
     N_("technicians: queue one such command for every enrolled tablet of a collège (or the "
	"fleet)")},
    {"command", "list", list, serial_opts, 0,
     N_("a tablet's commands, newest first, with status and error")},
    {"command", "show", show, show_opts, 0,
     N_("one command; --plist adds the plist sent and the device's answer")},
    {"command", "cancel", cancel, cancel_opts, 0, N_("cancel a command that is still pending")},
    {"enroll-code", "new", code_new, code_opts, 0,
     N_("make an enrolment code (valid 7 days, one tablet unless --uses), printed as 'code: "
	"<value>'")},
    {"enroll-profile", NULL, profile, profile_opts, 1,
     N_("download the enrolment profile (signed unless --unsigned); uses a new one-time code")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
