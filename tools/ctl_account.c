/* ctl_account.c - whoami, account create/list/disable, token rotate. */
#include "ctl_fleet.h"

#include <stdio.h>
#include <string.h>

#define MAX_SCHOOLS 64

static int whoami(struct ctl *c, int argc, char **argv)
{
	json_t *v = NULL;
	if (argc > 0)
		return ctl_usage("whoami [--json]", "unexpected argument '%s'", argv[0]);
	int rc = ctl_call(c, "GET", "/api/v1/whoami", NULL, &v);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(v);
	} else {
		const char *name = "?", *role = "?";
		json_t *schools = NULL;
		json_unpack(v, "{s:s,s:s,s:o}", "name", &name, "role", &role, "schools", &schools);
		printf("%s (%s)", name, role);
		if (json_array_size(schools)) {
			size_t k;
			json_t *s;
			printf(" — collèges:");
			json_array_foreach(schools, k, s) printf(" %s", json_string_value(s));
		} else {
			printf(" — whole fleet");
		}
		putchar('\n');
	}
	json_decref(v);
	return CTL_OK;
}

static const char create_usage[] = "account create --name N --role technician|ati|referent|auditor "
				   "[--school UAI ...] [--reason R] [--json]";

static int create(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *role = NULL, *reason = NULL, *schools[MAX_SCHOOLS];
	size_t n = 0;
	struct ctl_fleet_opt opts[] = {{"--name", &name},
				       {"--role", &role},
				       {"--school", NULL, NULL, schools, &n, MAX_SCHOOLS},
				       {"--reason", &reason},
				       {NULL}};
	json_t *ret = NULL, *list;
	int rc = ctl_fleet_args(create_usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	if (name == NULL || role == NULL)
		return ctl_usage(create_usage, "--name and --role are required");
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(schools[i]));
	rc = ctl_fleet_post(c, "/api/v1/accounts",
			    json_pack("{s:s,s:s,s:o,s:s?}", "name", name, "role", role, "schools",
				      list, "reason", reason),
			    &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		printf("account: %s (%s)\n", ctl_fleet_str(ret, "name"),
		       ctl_fleet_str(ret, "role"));
		printf("token: %s\n", ctl_fleet_str(ret, "token"));
		fprintf(stderr, "ardoisectl: the token is shown once; hand it over securely\n");
	}
	json_decref(ret);
	return CTL_OK;
}

static int list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = {"NAME", "ROLE", "COLLÈGES", "STATE", "CREATED"};
	json_t *ret = NULL, *a, *s;
	size_t i, k;
	char when[32], schools[64 * 9 + 1];
	if (argc > 0)
		return ctl_usage("account list [--json]", "unexpected argument '%s'", argv[0]);
	int rc = ctl_call(c, "GET", "/api/v1/accounts", NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(json_object_get(ret, "accounts"));
		json_decref(ret);
		return CTL_OK;
	}
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(json_object_get(ret, "accounts"), i, a)
	{
		schools[0] = '\0';
		json_array_foreach(json_object_get(a, "schools"), k, s)
		{
			size_t len = strlen(schools);
			snprintf(schools + len, sizeof(schools) - len, "%s%s", k ? " " : "",
				 json_string_value(s));
		}
		const char *row[] = {ctl_fleet_str(a, "name"), ctl_fleet_str(a, "role"),
				     schools[0] ? schools : "(whole fleet)",
				     json_is_true(json_object_get(a, "disabled")) ? "disabled"
										  : "active",
				     ctl_when_of(a, "created_at", when, sizeof(when))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
	json_decref(ret);
	return CTL_OK;
}

static int disable(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "account disable NAME [--reason R] [--json]";
	const char *name = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--reason", &reason}, {NULL}};
	char path[256];
	json_t *ret = NULL;
	int rc = ctl_fleet_args(usage, argc, argv, opts, &name, 1, 1);
	if (rc != CTL_OK)
		return rc;
	ctl_path(path, sizeof(path), "/api/v1/accounts/", name, "/disable");
	rc = ctl_fleet_post(c, path, json_pack("{s:s?}", "reason", reason), &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json)
		ctl_print_json(ret);
	else
		printf("account %s disabled: its token no longer works\n", name);
	json_decref(ret);
	return CTL_OK;
}

static int rotate(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "token rotate [--account NAME] [--reason R] [--json]";
	const char *name = NULL, *reason = NULL;
	struct ctl_fleet_opt opts[] = {{"--account", &name}, {"--reason", &reason}, {NULL}};
	json_t *ret = NULL;
	int rc = ctl_fleet_args(usage, argc, argv, opts, NULL, 0, 0);
	if (rc != CTL_OK)
		return rc;
	rc = ctl_fleet_post(c, "/api/v1/token/rotate",
			    json_pack("{s:s?,s:s?}", "account", name, "reason", reason), &ret);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else {
		printf("account: %s\n", ctl_fleet_str(ret, "name"));
		printf("token: %s\n", ctl_fleet_str(ret, "token"));
		fprintf(stderr, "ardoisectl: the old token no longer works\n");
	}
	json_decref(ret);
	return CTL_OK;
}

const struct ctl_verb ctl_account_verbs[] = {
    {"whoami", NULL, whoami, "whoami [--json]",
     "show the account the token belongs to: name, role, collèges"},
    {"account", "create", create, create_usage,
     "create a staff account; prints its token once as 'token: <value>'"},
    {"account", "list", list, "account list [--json]", "list staff accounts"},
    {"account", "disable", disable, "account disable NAME [--reason R] [--json]",
     "disable an account (its token stops working)"},
    {"token", "rotate", rotate, "token rotate [--account NAME] [--reason R] [--json]",
     "replace your token (or, technician, another account's); prints the new one once"},
    {NULL, NULL, NULL, NULL, NULL},
};
