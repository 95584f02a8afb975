/* ctl_vpp.c - Apps and Books: the content tokens (one per location: the
 * fleet, or a collège), a licence run now, and where the licences stand. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOKEN_MAX 8192

/* The content token file (base64 text as Apple School Manager gives it). */
static int read_stoken(const char *name, char **ret)
{
	FILE *f = fopen(name, "rb");
	if (f == NULL)
		return ctl_err("cannot open %s: %s", name, strerror(errno));
	char *buf = malloc(STOKEN_MAX + 2);
	size_t len = buf ? fread(buf, 1, STOKEN_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL)
		return ctl_err("out of memory reading %s", name);
	if (bad || len > STOKEN_MAX) {
		free(buf);
		return bad ? ctl_err("cannot read %s", name)
			   : ctl_err("%s is not a content token: larger than 8 KiB", name);
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	*ret = buf;
	return CTL_OK;
}

static const struct ctl_opt token_opts[] = {
    CTL_OPT_ARG("ACTION", N_("give add FILE, list or remove ID"),
		N_("add (a content token file), list, or remove (a token by its id)")),
    CTL_OPT_ARG("FILE|ID", NULL,
		N_("add: the .vpptoken file downloaded from Apple School Manager; remove: the "
		   "token's id")),
    {.name = "--scope",
     .arg = "fleet|school:UAI",
     .help = N_("add: what the token covers: every tablet (fleet) or one collège's")},
    {.name = "--take-over",
     .help = N_("add: claim the location even if another MDM manages it (only when that MDM "
		"is no longer used)")},
    CTL_OPT_END,
};

static void print_days(json_t *t)
{
	char when[64];
	long long left = (long long)json_integer_value(json_object_get(t, "expires_in_days"));
	ctl_when_of(t, "expiry", when, sizeof(when));
	if (left < 0)
		printf(_("expired on %s"), when);
	else
		printf(ngettext("valid until %s (in %lld day)", "valid until %s (in %lld days)",
				(unsigned long)left),
		       when, left);
}

static void print_token_line(json_t *t)
{
	printf(_("token %lld  %-16s  %s  "),
	       (long long)json_integer_value(json_object_get(t, "id")), ctl_fleet_str(t, "scope"),
	       ctl_fleet_str(t, json_string_length(json_object_get(t, "location")) ? "location"
										   : "org"));
	print_days(t);
	putchar('\n');
	if (json_string_length(json_object_get(t, "error")))
		printf(_("  last error: %s\n"), ctl_fleet_str(t, "error"));
}

static void print_warnings(json_t *ret)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(ret, "warnings"), i, w)
	    printf(_("warning: %s\n"), json_string_value(w) ? json_string_value(w) : "");
}

static void print_added(json_t *ret, const struct ctl_args *a)
{
	(void)a;
	printf(_("content token %lld added for %s (%s): the licences follow in the background\n"),
	       (long long)json_integer_value(json_object_get(ret, "id")),
	       ctl_fleet_str(ret, "scope"), ctl_fleet_str(ret, "location"));
}

static void print_list(json_t *ret, const struct ctl_args *a)
{
	size_t i;
	json_t *t;
	(void)a;
	if (json_array_size(json_object_get(ret, "tokens")) == 0)
		printf("%s\n", _("no content token (ardoisectl vpp token add FILE --scope ...)"));
	json_array_foreach(json_object_get(ret, "tokens"), i, t) print_token_line(t);
	print_warnings(ret);
}

static void print_removed(json_t *ret, const struct ctl_args *a)
{
	(void)a;
	printf(_("content token %lld (%s) removed\n"),
	       (long long)json_integer_value(json_object_get(ret, "removed")),
	       ctl_fleet_str(ret, "scope"));
}

static int token_add(struct ctl *c, const struct ctl_args *a)
{
	const char *file = ctl_opt_get(a, "FILE|ID"), *scope = ctl_opt_get(a, "--scope");
	char *stoken = NULL;
	if (file == NULL || scope == NULL)
		return ctl_opt_usage(a->verb,
				     "vpp token add needs FILE and --scope fleet|school:UAI");
	int rc = read_stoken(file, &stoken);
	if (rc != CTL_OK)
		return rc;
	json_t *body = json_pack("{s:s,s:s,s:b}", "stoken", stoken, "scope", scope, "take_over",
				 ctl_opt_get(a, "--take-over") != NULL);
	memset(stoken, 0, strlen(stoken));
	free(stoken);
	return ctl_send_print(c, a, "POST", "/api/v1/vpp/tokens", body, print_added);
}

static int vpp_token(struct ctl *c, const struct ctl_args *a)
{
	const char *action = ctl_opt_get(a, "ACTION"), *arg = ctl_opt_get(a, "FILE|ID");
	char path[128];
	if (strcmp(action, "add") == 0)
		return token_add(c, a);
	if (strcmp(action, "list") == 0)
		return ctl_send_print(c, a, "GET", "/api/v1/vpp/tokens", NULL, print_list);
	if (strcmp(action, "remove") == 0 && arg) {
		ctl_path(path, sizeof(path), "/api/v1/vpp/tokens/", arg, "");
		return ctl_send_print(c, a, "DELETE", path, NULL, print_removed);
	}
	return ctl_opt_usage(a->verb, "give add FILE, list or remove ID");
}

static void print_sync(json_t *ret, const struct ctl_args *a)
{
	(void)ret;
	(void)a;
	printf("%s\n", _("licence run started: see ardoisectl vpp status"));
}

static int vpp_sync(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/vpp/sync", NULL, print_sync);
}

static void print_app(json_t *p)
{
	printf(_("app %s (token %lld): owned %lld, used %lld, free %lld; Ardoise: %lld held, %lld "
		 "being associated\n"),
	       ctl_fleet_str(p, "adam_id"),
	       (long long)json_integer_value(json_object_get(p, "token")),
	       (long long)json_integer_value(json_object_get(p, "owned")),
	       (long long)json_integer_value(json_object_get(p, "used")),
	       (long long)json_integer_value(json_object_get(p, "free")),
	       (long long)json_integer_value(json_object_get(p, "held")),
	       (long long)json_integer_value(json_object_get(p, "associating")));
}

static void print_waiting(json_t *w)
{
	long long missing = (long long)json_integer_value(json_object_get(w, "missing"));
	printf(_("  %s, app %s: %lld tablets want it, %lld licences free: "),
	       json_is_string(json_object_get(w, "school")) ? ctl_fleet_str(w, "school")
							    : _("no collège"),
	       ctl_fleet_str(w, "adam_id"),
	       (long long)json_integer_value(json_object_get(w, "wanted")),
	       (long long)json_integer_value(json_object_get(w, "available")));
	printf(ngettext("%lld licence missing (buy it in Apple School Manager)\n",
			"%lld licences missing (buy them in Apple School Manager)\n",
			(unsigned long)missing),
	       missing);
}

static void print_status(json_t *ret, const struct ctl_args *a)
{
	size_t i;
	json_t *t, *run = json_object_get(ret, "last_run");
	char when[64];
	(void)a;
	json_array_foreach(json_object_get(ret, "tokens"), i, t) print_token_line(t);
	json_array_foreach(json_object_get(ret, "apps"), i, t) print_app(t);
	if (json_array_size(json_object_get(ret, "waiting")))
		printf("%s\n", _("waiting for licences (no tablet of the collège gets the app):"));
	json_array_foreach(json_object_get(ret, "waiting"), i, t) print_waiting(t);
	if (json_is_string(json_object_get(run, "at")))
		printf(_("last run: %s, %lld associated, %lld disassociated, %lld ms\n"),
		       ctl_when_of(run, "at", when, sizeof(when)),
		       (long long)json_integer_value(json_object_get(run, "associated")),
		       (long long)json_integer_value(json_object_get(run, "disassociated")),
		       (long long)json_integer_value(json_object_get(run, "ms")));
	else
		printf("%s\n", _("last run: none yet"));
	if (json_string_length(json_object_get(run, "error")))
		printf(_("last run's error: %s\n"), ctl_fleet_str(run, "error"));
	if (json_is_true(json_object_get(ret, "running")))
		printf("%s\n", _("a run is in progress"));
	print_warnings(ret);
}

static const struct ctl_opt status_opts[] = {
    CTL_OPT_SCHOOL(N_("only this collège (and the fleet's token)")),
    CTL_OPT_END,
};

static int vpp_status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/vpp/status", print_status);
}

const struct ctl_verb ctl_vpp_verbs[] = {
    {"vpp", "token", vpp_token, token_opts, 0,
     N_("Apps and Books content tokens: add FILE --scope fleet|school:UAI (read and claimed "
	"at Apple, kept sealed), list (expiry warned 30 days ahead), remove ID (technicians)")},
    {"vpp", "sync", vpp_sync, NULL, 0,
     N_("Runs the licence step now: counts and assignments read from Apple, licences "
	"associated and freed, then the apps queued (technicians)")},
    {"vpp", "status", vpp_status, status_opts, 0,
     N_("Licences per token and app (owned, used, free, held by Ardoise) and what waits for "
	"licences per collège")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
