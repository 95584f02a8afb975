/* ctl_lock.c - device clear-passcode, lock and activation-lock verbs. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/* Reads --name VALUE options from argv into the slots of opts; the one
 * positional argument (the serial) into *ret_serial.  Returns 0, or prints
 * the usage error. */
struct opt {
	const char *name;
	const char **value;
};

static int parse(int argc, char **argv, const struct opt *opts, size_t n, const char *usage,
		 const char **ret_serial)
{
	const char *serial = NULL;
	for (int i = 0; i < argc; i++) {
		size_t k = 0;
		for (; k < n; k++)
			if (strcmp(argv[i], opts[k].name) == 0)
				break;
		if (k < n) {
			if (i + 1 >= argc)
				return ctl_usage(usage, "%s needs a value", argv[i]);
			*opts[k].value = argv[++i];
		} else if (argv[i][0] != '-' && serial == NULL) {
			serial = argv[i];
		} else {
			return ctl_usage(usage, "unexpected argument '%s'", argv[i]);
		}
	}
	if (serial == NULL)
		return ctl_usage(usage, "SERIAL is required");
	*ret_serial = serial;
	return 0;
}

static int post_action(struct ctl *c, const char *serial, const char *action, json_t *body)
{
	char path[256], enc[160];
	json_t *ret = NULL;
	ctl_urlenc(serial, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/devices/%s/%s", enc, action);
	int rc = ctl_call(c, "POST", path, body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("queued %s %s for %s; follow it with 'ardoisectl command show %s'\n",
		       json_string_value(json_object_get(ret, "type")),
		       json_string_value(json_object_get(ret, "uuid")), serial,
		       json_string_value(json_object_get(ret, "uuid")));
	json_decref(ret);
	return CTL_OK;
}

static const char clear_usage[] = "device clear-passcode SERIAL --reason TEXT [--json]";

static int clear_passcode(struct ctl *c, int argc, char **argv)
{
	const char *serial, *reason = NULL;
	const struct opt opts[] = {{"--reason", &reason}};
	int rc = parse(argc, argv, opts, 1, clear_usage, &serial);
	if (rc)
		return rc;
	if (reason == NULL || reason[0] == '\0')
		return ctl_usage(clear_usage, "--reason is required (it goes to the audit log)");
	return post_action(c, serial, "clear-passcode", json_pack("{s:s}", "reason", reason));
}

static const char lock_usage[] =
    "device lock SERIAL --reason TEXT [--message TEXT] [--phone NUMBER] [--json]";

static int lock(struct ctl *c, int argc, char **argv)
{
	const char *serial, *msg = NULL, *phone = NULL, *reason = NULL;
	const struct opt opts[] = {{"--message", &msg}, {"--phone", &phone}, {"--reason", &reason}};
	int rc = parse(argc, argv, opts, 3, lock_usage, &serial);
	if (rc)
		return rc;
	if (reason == NULL || reason[0] == '\0')
		return ctl_usage(lock_usage, "--reason is required (it goes to the audit log)");
	json_t *body = json_object();
	if (msg)
		json_object_set_new(body, "message", json_string(msg));
	if (phone)
		json_object_set_new(body, "phone", json_string(phone));
	json_object_set_new(body, "reason", json_string(reason));
	return post_action(c, serial, "lock", body);
}

static const char al_usage[] = "device activation-lock SERIAL [--reveal] [--json]";

static int activation_lock(struct ctl *c, int argc, char **argv)
{
	const char *serial = NULL;
	int reveal = 0;
	char path[256];
	json_t *ret = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--reveal") == 0)
			reveal = 1;
		else if (serial == NULL && argv[i][0] != '-')
			serial = argv[i];
		else
			return ctl_usage(al_usage, "unexpected argument '%s'", argv[i]);
	}
	if (serial == NULL)
		return ctl_usage(al_usage, "SERIAL is required");
	ctl_path(path, sizeof(path), "/api/v1/devices/", serial,
		 reveal ? "/activation-lock?reveal=1" : "/activation-lock");
	int rc = ctl_call(c, "GET", path, NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		json_t *sup = json_object_get(ret, "supervised");
		printf("tablet %s: supervised %s; bypass code %s\n", serial,
		       json_is_null(sup)   ? "unknown (no inventory yet)"
		       : json_is_true(sup) ? "yes"
					   : "no",
		       json_is_true(json_object_get(ret, "bypass_code_escrowed")) ? "escrowed"
										  : "not escrowed");
		if (json_object_get(ret, "bypass_code"))
			printf("bypass code: %s\n",
			       json_string_value(json_object_get(ret, "bypass_code")));
	}
	json_decref(ret);
	return CTL_OK;
}

const struct ctl_verb ctl_lock_verbs[] = {
    {"device", "clear-passcode", clear_passcode, clear_usage,
     "reset (remove) a tablet's lock code with its UnlockToken; the user sets a new one"},
    {"device", "lock", lock, lock_usage,
     "lock a tablet now (the reason goes to the audit log), with an optional message and phone"},
    {"device", "activation-lock", activation_lock, al_usage,
     "whether the Activation Lock bypass code is escrowed; --reveal shows it (technicians, "
     "audited)"},
    {NULL, NULL, NULL, NULL, NULL},
};
