/* ctl_account.c - whoami, account create/list/update/disable/invite/
 * password-reset, token rotate. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/* The UAIs of the account's "schools" joined by spaces into out, or
 * whole_fleet when it has none. */
static const char *schools_of(json_t *acc, char *out, size_t cap, const char *whole_fleet)
{
	json_t *s;
	size_t k;
	out[0] = '\0';
	json_array_foreach(json_object_get(acc, "schools"), k, s)
	{
		size_t len = strlen(out);
		snprintf(out + len, cap - len, "%s%s", k ? " " : "", json_string_value(s));
	}
	return out[0] ? out : whole_fleet;
}

static void print_whoami(json_t *v, const struct ctl_args *a)
{
	const char *name = "?", *role = "?";
	json_t *schools = NULL;
	json_unpack(v, "{s:s,s:s,s:o}", "name", &name, "role", &role, "schools", &schools);
	printf("%s (%s)", name, ctl_word(role));
	if (json_array_size(schools)) {
		size_t k;
		json_t *s;
		printf("%s", _(" — collèges:"));
		json_array_foreach(schools, k, s) printf(" %s", json_string_value(s));
	} else {
		printf("%s", _(" — whole fleet"));
	}
	putchar('\n');
}

static int whoami(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/whoami", print_whoami);
}

#define SCHOOL_OPT(help_text)                                                          \
	{                                                                              \
		.name = "--school", .arg = "UAI", .how = CTL_OPT_BODY | CTL_OPT_MULTI, \
		.key = "schools", .help = (help_text)                                  \
	}
#define PROFILE_OPTS                                                                      \
	CTL_OPT_FIELD("--display-name", "TEXT", "display_name", NULL,                     \
		      "the person's name as the pages show it (at most 128 characters)"), \
	    CTL_OPT_FIELD("--email", "ADDRESS", "email", NULL,                            \
			  "the person's e-mail address (for the technicians; nothing is sent)")

static const struct ctl_opt create_opts[] = {
    {.name = "NAME",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "name",
     .help = N_("the account's name (a login, e.g. ati.aubagne); or --name N")},
    CTL_OPT_FIELD("--name", "N", "name", NULL, "the account's name, as NAME"),
    CTL_OPT_FIELD(
	"--role", "technician|ati|referent|auditor|monitoring", "role", "--role is required",
	"technician (everything), ati (their collèges' codes, loans, incidents, device "
	"actions, apps), referent (read-only, their collèges), auditor (read-only: audit log "
	"and registers), monitoring (reads GET /metrics, nothing else)"),
    SCHOOL_OPT("a collège the account works for (repeat for several; ati and referent: at "
	       "least one)"),
    PROFILE_OPTS,
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

/* The one-time link of an answer, and what to do with it. */
static void print_link(json_t *ret)
{
	char when[32];
	printf("link: %s\n", ctl_fleet_str(ret, "link"));
	printf(_("link expires: %s\n"), ctl_when_of(ret, "link_expires_at", when, sizeof(when)));
	fputs(_("ardoisectl: the link sets the account's password once; hand it to its holder "
		"only\n"),
	      stderr);
}

static void print_created(json_t *ret, const struct ctl_args *a)
{
	printf(_("account: %s (%s)\n"), ctl_fleet_str(ret, "name"),
	       ctl_word(ctl_fleet_str(ret, "role")));
	printf("token: %s\n", ctl_fleet_str(ret, "token"));
	print_link(ret);
	fputs(_("ardoisectl: the token is shown once; hand it over securely\n"), stderr);
}

static int create(struct ctl *c, const struct ctl_args *a)
{
	if (ctl_opt_get(a, "NAME") == NULL && ctl_opt_get(a, "--name") == NULL)
		return ctl_opt_usage(a->verb, "the account's NAME (or --name N) is required");
	if (ctl_opt_get(a, "NAME") && ctl_opt_get(a, "--name"))
		return ctl_opt_usage(a->verb, "give the name once: NAME or --name N");
	return ctl_send_print(c, a, "POST", "/api/v1/accounts", ctl_opt_body(a), print_created);
}

static const struct ctl_opt link_opts[] = {
    CTL_OPT_ARG("NAME", "missing argument", "the account"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_new_link(json_t *ret, const struct ctl_args *a)
{
	printf(_("account: %s\n"), ctl_fleet_str(ret, "name"));
	print_link(ret);
}

/* POST /api/v1/accounts/NAME/what: a new one-time link. */
static int new_link(struct ctl *c, const struct ctl_args *a, const char *what)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/accounts/", ctl_opt_get(a, "NAME"), what);
	return ctl_send_print(c, a, "POST", path, ctl_opt_body(a), print_new_link);
}

static int invite(struct ctl *c, const struct ctl_args *a)
{
	return new_link(c, a, "/invite");
}

static int password_reset(struct ctl *c, const struct ctl_args *a)
{
	return new_link(c, a, "/password-reset");
}

static const struct ctl_opt update_opts[] = {
    CTL_OPT_ARG("NAME", "missing argument", "the account"),
    SCHOOL_OPT("its collèges from now on, all of them (repeat for several; replaces the "
	       "list)"),
    PROFILE_OPTS,
    CTL_OPT_FLAG("--enable", 0, NULL, "enable the account again"),
    CTL_OPT_FLAG("--disable", 0, NULL, "disable the account (its token and sessions stop working)"),
    CTL_OPT_REASON("R", CTL_OPT_BODY, NULL),
    CTL_OPT_END,
};

static void print_updated(json_t *ret, const struct ctl_args *a)
{
	char schools[64 * 9 + 1];
	printf(_("account %s (%s), %s — %s\n"), ctl_fleet_str(ret, "name"),
	       ctl_word(ctl_fleet_str(ret, "role")),
	       ctl_word(json_is_true(json_object_get(ret, "disabled")) ? "disabled" : "active"),
	       schools_of(ret, schools, sizeof(schools), _("whole fleet")));
	printf(_("display name: %s\nemail: %s\n"), ctl_fleet_str(ret, "display_name"),
	       ctl_fleet_str(ret, "email"));
}

static int update(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	const char *on = ctl_opt_get(a, "--enable"), *off = ctl_opt_get(a, "--disable");
	json_t *body = ctl_opt_body(a);
	if (on && off) {
		json_decref(body);
		return ctl_opt_usage(a->verb, "give --enable or --disable, not both");
	}
	if (a->n_list == 0) /* no --school: the collèges stay as they are */
		json_object_del(body, "schools");
	if (on || off)
		json_object_set_new(body, "enabled", json_boolean(on != NULL));
	ctl_path(path, sizeof(path), "/api/v1/accounts/", ctl_opt_get(a, "NAME"), "/update");
	return ctl_send_print(c, a, "POST", path, body, print_updated);
}

static void print_accounts(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("NAME"),	       N_("ROLE"),	  N_("COLLÈGES"),
					   N_("STATE"),	       N_("CREATED"),	  N_("PASSWORD"),
					   N_("LAST SIGN-IN"), N_("DISPLAY NAME")};
	json_t *acc;
	size_t i;
	char when[32], signin[32], schools[64 * 9 + 1];
	struct ctl_table *t = ctl_fleet_table(8, head);
	json_array_foreach(all, i, acc)
	{
		const char *row[] = {
		    ctl_fleet_str(acc, "name"),
		    ctl_word(ctl_fleet_str(acc, "role")),
		    schools_of(acc, schools, sizeof(schools), _("(whole fleet)")),
		    ctl_word(json_is_true(json_object_get(acc, "disabled")) ? "disabled"
									    : "active"),
		    ctl_when_of(acc, "created_at", when, sizeof(when)),
		    json_is_true(json_object_get(acc, "password_set")) ? _("set") : "-",
		    ctl_when_of(acc, "last_signin_at", signin, sizeof(signin)),
		    ctl_fleet_str(acc, "display_name")};
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
	printf(_("account %s disabled: its token no longer works\n"), ctl_opt_get(a, "NAME"));
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
	printf(_("account: %s\n"), ctl_fleet_str(ret, "name"));
	printf("token: %s\n", ctl_fleet_str(ret, "token"));
	fputs(_("ardoisectl: the old token no longer works\n"), stderr);
}

static int rotate(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/token/rotate", ctl_opt_body(a), print_rotated);
}

const struct ctl_verb ctl_account_verbs[] = {
    {"whoami", NULL, whoami, NULL, 0,
     N_("show the account the token belongs to: name, role, collèges")},
    {"account", "create", create, create_opts, 0,
     N_("create a staff account; prints its token once as 'token: <value>' and the one-time "
	"link (valid 72 h) where its holder sets a password to sign in to the pages")},
    {"account", "invite", invite, link_opts, 0,
     N_("a new one-time link (valid 72 h) where the account's holder sets a password; the "
	"account's earlier links stop working")},
    {"account", "password-reset", password_reset, link_opts, 0,
     N_("a new one-time link (valid 72 h) to set a new password (the current one works until "
	"then); the account's earlier links stop working")},
    {"account", "update", update, update_opts, 0,
     N_("change an account: its collèges, display name, e-mail address; enable or disable it")},
    {"account", "list", list, NULL, 0, N_("list staff accounts")},
    {"account", "disable", disable, disable_opts, 0,
     N_("disable an account (its token stops working)")},
    {"token", "rotate", rotate, rotate_opts, 0,
     N_("replace your token (or, technician, another account's); prints the new one once")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
