/* ctl_account.c - whoami, account create/list/disable, token rotate. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static void print_whoami(json_t *v, const struct ctl_args *a)
{
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

static int whoami(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/whoami", print_whoami);
}

static const struct ctl_opt create_opts[] = {
    CTL_OPT_FIELD("--name", "N", "name", "--name and --role are required",
		  "the account's name (a login, e.g. ati.aubagne)"),
    CTL_OPT_FIELD(
	"--role", "technician|ati|referent|auditor", "role", "--name and --role are required",
	"technician (everything), ati (their collèges' codes, loans, incidents, device "
	"actions, apps), referent (read-only, one collège), auditor (read-only: audit log "
	"and registers)"),
    {.name = "--school",
     .arg = "UAI",
     .how = CTL_OPT_BODY | CTL_OPT_MULTI,
     .key = "schools",
     .help = "a collège the account works for (repeat for several)"},
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_created(json_t *ret, const struct ctl_args *a)
{
	printf("account: %s (%s)\n", ctl_fleet_str(ret, "name"), ctl_fleet_str(ret, "role"));
	printf("token: %s\n", ctl_fleet_str(ret, "token"));
	fprintf(stderr, "ardoisectl: the token is shown once; hand it over securely\n");
}

static int create(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/accounts", ctl_opt_body(a), print_created);
}

static void print_accounts(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {"NAME", "ROLE", "COLLÈGES", "STATE", "CREATED"};
	json_t *acc, *s;
	size_t i, k;
	char when[32], schools[64 * 9 + 1];
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(all, i, acc)
	{
		schools[0] = '\0';
		json_array_foreach(json_object_get(acc, "schools"), k, s)
		{
			size_t len = strlen(schools);
			snprintf(schools + len, sizeof(schools) - len, "%s%s", k ? " " : "",
				 json_string_value(s));
		}
		const char *row[] = {ctl_fleet_str(acc, "name"), ctl_fleet_str(acc, "role"),
				     schools[0] ? schools : "(whole fleet)",
				     json_is_true(json_object_get(acc, "disabled")) ? "disabled"
										    : "active",
				     ctl_when_of(acc, "created_at", when, sizeof(when))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_member(c, a, "/api/v1/accounts", "accounts", print_accounts);
}

static const struct ctl_opt disable_opts[] = {
    CTL_OPT_ARG("NAME", "missing argument", "the account"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_disabled(json_t *ret, const struct ctl_args *a)
{
	printf("account %s disabled: its token no longer works\n", ctl_opt_get(a, "NAME"));
}

static int disable(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/accounts/", ctl_opt_get(a, "NAME"), "/disable");
	return ctl_send_print(c, a, "POST", path, ctl_opt_body(a), print_disabled);
}

static const struct ctl_opt rotate_opts[] = {
    CTL_OPT_FIELD("--account", "NAME", "account", NULL,
		  "technicians: the account whose token to replace (default: yours)"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_rotated(json_t *ret, const struct ctl_args *a)
{
	printf("account: %s\n", ctl_fleet_str(ret, "name"));
	printf("token: %s\n", ctl_fleet_str(ret, "token"));
	fprintf(stderr, "ardoisectl: the old token no longer works\n");
}

static int rotate(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/token/rotate", ctl_opt_body(a), print_rotated);
}

const struct ctl_verb ctl_account_verbs[] = {
    {"whoami", NULL, whoami, NULL, 0,
     "show the account the token belongs to: name, role, collèges"},
    {"account", "create", create, create_opts, 0,
     "create a staff account; prints its token once as 'token: <value>'"},
    {"account", "list", list, NULL, 0, "list staff accounts"},
    {"account", "disable", disable, disable_opts, 0,
     "disable an account (its token stops working)"},
    {"token", "rotate", rotate, rotate_opts, 0,
     "replace your token (or, technician, another account's); prints the new one once"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
