/* ctl_locate.c - the geolocation procedure's verbs. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_request(json_t *o)
{
	char b1[32], b2[32], b3[32];
	const char *t1 = ctl_when_of(o, "requested_at", b1, sizeof(b1));
	const char *t2 = ctl_when_of(o, "expires_at", b2, sizeof(b2));
	const char *t3 = ctl_when_of(o, "purged_at", b3, sizeof(b3));
	json_t *inc = json_object_get(o, "incident");
	printf(_("request %lld  tablet %s  state %s\n"),
	       (long long)json_integer_value(json_object_get(o, "id")),
	       json_string_value(json_object_get(o, "serial")),
	       ctl_word(json_string_value(json_object_get(o, "state"))));
	printf(_("  basis      %s%s\n"),
	       json_is_integer(inc) ? _("incident ") : _("authority request "),
	       json_is_integer(inc) ? "" : json_string_value(json_object_get(o, "authority_ref")));
	if (json_is_integer(inc))
		printf(_("  incident   %lld\n"), (long long)json_integer_value(inc));
	printf(_("  reason     %s\n"), json_string_value(json_object_get(o, "reason")));
	printf(_("  asked      %s by %s\n"), t1,
	       json_string_value(json_object_get(o, "requested_by")));
	printf(_("  decided by %s\n"), json_string_value(json_object_get(o, "decided_by")));
	printf(_("  expires    %s\n"), t2);
	printf(_("  locations  %lld taken, read %lld times, purged %s\n"),
	       (long long)json_integer_value(json_object_get(o, "fixes")),
	       (long long)json_integer_value(json_object_get(o, "reads")), t3);
}

/* A request (with its locations) or the register, for people. */
static void print_answer(json_t *ret, const struct ctl_args *a)
{
	size_t i;
	json_t *v;
	char at[32];
	if (json_is_array(ret)) {
		if (json_array_size(ret) == 0)
			printf(_("the register is empty\n"));
		json_array_foreach(ret, i, v) print_request(v);
		return;
	}
	print_request(ret);
	json_array_foreach(json_object_get(ret, "locations"), i, v)
	    printf(_("  location   %.6f, %.6f (±%.0f m) at %s\n"),
		   json_real_value(json_object_get(v, "latitude")),
		   json_real_value(json_object_get(v, "longitude")),
		   json_real_value(json_object_get(v, "horizontal_accuracy")),
		   ctl_when_of(v, "timestamp", at, sizeof(at)));
}

#define REQUEST_NEED N_("SERIAL and --reason are required")
#define BASIS_NEED   N_("give exactly one of --incident and --authority-ref")

static const struct ctl_opt request_opts[] = {
    {.name = "SERIAL",
     .how = CTL_OPT_POS | CTL_OPT_BODY,
     .key = "serial",
     .need = REQUEST_NEED,
     .help = N_("the tablet")},
    {.name = "--incident",
     .arg = "ID",
     .how = CTL_OPT_ONE_OF,
     .need = BASIS_NEED,
     .help = N_("the loss or theft incident it answers")},
    {.name = "--authority-ref",
     .arg = "REF",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "authority_ref",
     .need = BASIS_NEED,
     .help = N_("or the reference of an authority's request (police, court)")},
    CTL_OPT_FIELD("--reason", "TEXT", "reason", REQUEST_NEED, "why, for the register"),
    CTL_OPT_END,
};

static int request(struct ctl *c, const struct ctl_args *a)
{
	long long incident = 0;
	if (ctl_opt_int(a, "--incident", 1, &incident) < 0)
		return ctl_opt_usage(a->verb, "--incident takes an incident number");
	json_t *body = ctl_opt_body(a);
	if (incident)
		json_object_set_new(body, "incident", json_integer(incident));
	return ctl_send_print(c, a, "POST", "/api/v1/locate", body, print_answer);
}

static const struct ctl_opt id_opts[] = {
    CTL_OPT_ARG("ID", "a request number is required", "the request's number"),
    CTL_OPT_END,
};

/* Verbs on one request: method on /api/v1/locate/ID[/action], with the
 * body of a's options when POST. */
static int by_id(struct ctl *c, const struct ctl_args *a, const char *method, const char *action)
{
	const char *id = ctl_opt_get(a, "ID");
	char path[128];
	if (strspn(id, "0123456789") != strlen(id))
		return ctl_opt_usage(a->verb, "a request number is required");
	snprintf(path, sizeof(path), "/api/v1/locate/%s%s%s", id, action[0] ? "/" : "", action);
	return ctl_send_print(c, a, method, path,
			      strcmp(method, "POST") == 0 ? ctl_opt_body(a) : NULL, print_answer);
}

static const struct ctl_opt approve_opts[] = {
    CTL_OPT_ARG("ID", "a request number is required", "the request's number"),
    CTL_OPT_FIELD("--reason", "TEXT", "reason", NULL, "why, for the audit log"),
    CTL_OPT_END,
};

static int approve(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "POST", "approve");
}

static const struct ctl_opt deny_opts[] = {
    CTL_OPT_ARG("ID", "a request number is required", "the request's number"),
    CTL_OPT_FIELD("--reason", "TEXT", "reason", "--reason is required", "why, for the register"),
    CTL_OPT_END,
};

static int deny(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "POST", "deny");
}

static int refresh(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "POST", "refresh");
}

static int show(struct ctl *c, const struct ctl_args *a)
{
	return by_id(c, a, "GET", "");
}

#define CLOSE_NEED N_("a request number and --found or --not-found are required")

static const struct ctl_opt close_opts[] = {
    CTL_OPT_ARG("ID", CLOSE_NEED, "the request's number"),
    {.name = "--found",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "outcome",
     .set = "found",
     .need = CLOSE_NEED,
     .help = N_("the tablet was found (its Lost Mode ends)")},
    {.name = "--not-found",
     .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,
     .key = "outcome",
     .set = "not_found",
     .need = CLOSE_NEED,
     .help = N_("it was not")},
    CTL_OPT_END,
};

static int close_request(struct ctl *c, const struct ctl_args *a)
{
	if (strspn(ctl_opt_get(a, "ID"), "0123456789") != strlen(ctl_opt_get(a, "ID")))
		return ctl_opt_usage(a->verb, "%s", _(CLOSE_NEED));
	return by_id(c, a, "POST", "close");
}

static const struct ctl_opt register_opts[] = {
    {.name = "--since", .arg = "YYYY-MM-DD", .help = N_("only requests made from that day on")},
    CTL_OPT_END,
};

static int reg(struct ctl *c, const struct ctl_args *a)
{
	const char *since = ctl_opt_get(a, "--since");
	char path[256] = "/api/v1/locate";
	ctl_query_add(path, sizeof(path), "since", since); /* as typed: the server reads it */
	return ctl_get_print(c, a, path, print_answer);
}

const struct ctl_verb ctl_locate_verbs[] = {
    {"locate", "request", request, request_opts, 0,
     N_("ask to locate a lost or stolen tablet (technicians; exceptional, recorded)")},
    {"locate", "approve", approve, approve_opts, 0,
     N_("approve a request (a second technician): Lost Mode, then a location")},
    {"locate", "deny", deny, deny_opts, 0, N_("deny a pending request")},
    {"locate", "refresh", refresh, id_opts, 0,
     N_("ask for a new location while the request is open")},
    {"locate", "close", close_request, close_opts, 0,
     N_("end the procedure; --found also ends Lost Mode")},
    {"locate", "show", show, id_opts, 0,
     N_("a request with its locations (this read is recorded)")},
    {"locate", "register", reg, register_opts, 0,
     N_("every request: who asked, who approved, why, state, locations taken/read, purge")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
