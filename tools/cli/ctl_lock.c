/* ctl_lock.c - device clear-passcode, lock and activation-lock verbs. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define REASON_NEED N_("--reason is required (it goes to the audit log)")

static void print_queued(json_t *ret, const struct ctl_args *a)
{
	printf(_("queued %s %s for %s; follow it with 'ardoisectl command show %s'\n"),
	       json_string_value(json_object_get(ret, "type")),
	       json_string_value(json_object_get(ret, "uuid")), ctl_opt_get(a, "SERIAL"),
	       json_string_value(json_object_get(ret, "uuid")));
}

/* POST /api/v1/devices/SERIAL/action with the body of a's options (a
 * reason that is not empty); prints the command queued. */
static int post_action(struct ctl *c, const struct ctl_args *a, const char *action)
{
	if (ctl_opt_get(a, "--reason")[0] == '\0')
		return ctl_opt_usage(a->verb, "%s", _(REASON_NEED));
	return ctl_device_post(c, a, action, print_queued);
}

static const struct ctl_opt clear_opts[] = {
    CTL_OPT_SERIAL("SERIAL is required"),
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, REASON_NEED),
    CTL_OPT_END,
};

static int clear_passcode(struct ctl *c, const struct ctl_args *a)
{
	return post_action(c, a, "/clear-passcode");
}

static const struct ctl_opt lock_opts[] = {
    CTL_OPT_SERIAL("SERIAL is required"),
    CTL_OPT_REASON("TEXT", CTL_OPT_BODY, REASON_NEED),
    CTL_OPT_FIELD("--message", "TEXT", "message", NULL,
		  "shown on the lock screen (may hold line breaks)"),
    CTL_OPT_FIELD("--phone", "NUMBER", "phone", NULL, "a phone number shown on the lock screen"),
    CTL_OPT_END,
};

static int lock(struct ctl *c, const struct ctl_args *a)
{
	return post_action(c, a, "/lock");
}

static const struct ctl_opt al_opts[] = {
    CTL_OPT_SERIAL("SERIAL is required"),
    CTL_OPT_FLAG("--reveal", CTL_OPT_QUERY, "reveal",
		 "technicians: show the bypass code itself (audited)"),
    CTL_OPT_END,
};

static void print_activation_lock(json_t *ret, const struct ctl_args *a)
{
	json_t *sup = json_object_get(ret, "supervised");
	printf(_("tablet %s: supervised %s; bypass code %s\n"), ctl_opt_get(a, "SERIAL"),
	       json_is_null(sup)   ? _("unknown (no inventory yet)")
	       : json_is_true(sup) ? _("yes")
				   : _("no"),
	       json_is_true(json_object_get(ret, "bypass_code_escrowed")) ? _("escrowed")
									  : _("not escrowed"));
	if (json_object_get(ret, "bypass_code"))
		printf(_("bypass code: %s\n"),
		       json_string_value(json_object_get(ret, "bypass_code")));
}

static int activation_lock(struct ctl *c, const struct ctl_args *a)
{
	char path[256];
	ctl_path(path, sizeof(path), "/api/v1/devices/", ctl_opt_get(a, "SERIAL"),
		 "/activation-lock");
	return ctl_get_print(c, a, path, print_activation_lock);
}

const struct ctl_verb ctl_lock_verbs[] = {
    {"device", "clear-passcode", clear_passcode, clear_opts, 0,
     N_("reset (remove) a tablet's lock code with its UnlockToken; the user sets a new one")},
    {"device", "lock", lock, lock_opts, 0,
     N_("lock a tablet now (the reason goes to the audit log), with an optional message and "
	"phone")},
    {"device", "activation-lock", activation_lock, al_opts, 0,
     N_("whether the Activation Lock bypass code is escrowed; --reveal shows it (technicians, "
	"audited)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
