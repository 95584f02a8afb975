/* ctl_push.c - APNs push verbs: device push, push --school/--all, push status. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_opt device_opts[] = {
    CTL_OPT_SERIAL("one SERIAL is required"),
    CTL_OPT_END,
};

static void print_pushed(json_t *ret, const struct ctl_args *a)
{
	char t1[32], t2[32];
	printf(_("push requested for %s (previous push: %s, last seen: %s)\n"),
	       ctl_opt_get(a, "SERIAL"), ctl_when_of(ret, "last_push", t1, sizeof(t1)),
	       ctl_when_of(ret, "last_seen", t2, sizeof(t2)));
}

static int device_push(struct ctl *c, const struct ctl_args *a)
{
	return ctl_device_post(c, a, "/push", print_pushed); /* an empty body */
}

static const struct ctl_opt many_opts[] = {
    CTL_OPT_SCHOOL_OR_ALL,
    CTL_OPT_END,
};

static void print_many(json_t *ret, const struct ctl_args *a)
{
	const char *school = ctl_opt_get(a, "--school");
	json_int_t n = 0, dropped = 0;
	json_unpack(ret, "{s:I,s:I}", "requested", &n, "dropped", &dropped);
	printf(_("push requested for %lld enrolled tablets of %s"), (long long)n,
	       school ? school : _("the fleet"));
	if (dropped)
		printf(_(" (%lld dropped: the push queue was full; the re-push job catches up)"),
		       (long long)dropped);
	putchar('\n');
}

static int push_many(struct ctl *c, const struct ctl_args *a)
{
	return ctl_send_print(c, a, "POST", "/api/v1/push", ctl_opt_body(a), print_many);
}

static void print_certificate(json_t *cert)
{
	json_int_t days = 0;
	const char *subject = "";
	char t[32];
	if (!json_is_object(cert)) {
		printf(_("%-15s unreadable\n"), _("certificate:"));
		return;
	}
	json_unpack(cert, "{s:s,s:I}", "subject", &subject, "expires_in_days", &days);
	printf("%-15s %s\n", _("certificate:"), subject);
	ctl_when_of(cert, "not_after", t, sizeof(t));
	if (days < 0)
		printf(ngettext("%-15s %s (%lld day ago)\n", "%-15s %s (%lld days ago)\n",
				(unsigned long)-days),
		       _("expired:"), t, (long long)-days);
	else
		printf(ngettext("%-15s %s (in %lld day)\n", "%-15s %s (in %lld days)\n",
				(unsigned long)days),
		       _("expires:"), t, (long long)days);
}

static void print_counters(json_t *k)
{
	json_int_t v[9] = {0};
	json_t *by = NULL, *n;
	const char *reason;
	json_unpack(k, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "notified", &v[0], "coalesced",
		    &v[1], "dropped", &v[2], "skipped", &v[3], "sent", &v[4], "failed", &v[5],
		    "retried", &v[6], "invalidated", &v[7], "connects", &v[8], "failed_by_reason",
		    &by);
	printf("%-15s %lld\n", _("sent:"), (long long)v[4]);
	printf(_("%-15s %lld (given up)\n"), _("failed:"), (long long)v[5]);
	printf("%-15s", _("by reason:"));
	if (json_object_size(by) == 0)
		printf(_(" none"));
	json_object_foreach(by, reason, n)
	    printf(" %s=%lld", reason, (long long)json_integer_value(n));
	putchar('\n');
	printf(_("%-15s %lld retried, %lld coalesced, %lld dropped (queue full), %lld skipped "
		 "(not pushable)\n"),
	       _("attempts:"), (long long)v[6], (long long)v[1], (long long)v[2], (long long)v[3]);
	printf("%-15s %lld\n", _("connections:"), (long long)v[8]);
}

static void print_push(json_t *s)
{
	const char *topic = "", *host = "", *conn = "";
	json_int_t port = 0, invalid = 0, waiting = 0, in_flight = 0;
	json_t *cert = NULL, *counters = NULL, *last = NULL, *warnings = NULL, *sample = NULL, *v;
	const char *msg = "";
	char t[32];
	size_t i;
	json_unpack(s, "{s:s,s:s,s:I,s:s,s:o,s:o,s:I,s:o,s:I,s:I,s:o,s:o}", "topic", &topic, "host",
		    &host, "port", &port, "connection", &conn, "certificate", &cert, "counters",
		    &counters, "invalid_tokens", &invalid, "invalid_sample", &sample, "waiting",
		    &waiting, "in_flight", &in_flight, "last_error", &last, "warnings", &warnings);
	if (!json_is_true(json_object_get(s, "usable")))
		printf(_("%-15s on, but the certificate is unusable: nothing is pushed\n"),
		       _("push:"));
	else
		printf(_("%-15s on, connection %s, APNs %s:%lld\n"), _("push:"), conn, host,
		       (long long)port);
	printf("%-15s %s\n", _("topic:"), topic);
	print_certificate(cert);
	print_counters(counters);
	printf("%-15s %lld", _("invalid tokens:"), (long long)invalid);
	json_array_foreach(sample, i, v)
	    printf("%s%s (%s)", i ? ", " : "  ", json_string_value(json_object_get(v, "serial")),
		   json_string_value(json_object_get(v, "push_state")));
	putchar('\n');
	printf(_("%-15s %lld waiting, %lld in flight\n"), _("now:"), (long long)waiting,
	       (long long)in_flight);
	if (json_is_object(last)) {
		json_unpack(last, "{s:s}", "message", &msg);
		printf("%-15s %s  %s\n", _("last error:"), ctl_when_of(last, "at", t, sizeof(t)),
		       msg);
	}
	json_array_foreach(warnings, i, v) printf(_("WARNING: %s\n"), json_string_value(v));
}

static void print_status(json_t *ret, const struct ctl_args *a)
{
	if (!json_is_true(json_object_get(ret, "enabled")))
		printf(_("push: off ([push] cert is not set in ardoised's configuration)\n"));
	else
		print_push(ret);
}

static int status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/push/status", print_status);
}

/* "device push" lives here, not in ctl_device.c: one table per file merges cleanly. */
const struct ctl_verb ctl_push_verbs[] = {
    {"device", "push", device_push, device_opts, 0,
     N_("wake a tablet now through APNs, so it fetches its queued commands")},
    {"push", "status", status, NULL, 0,
     N_("APNs push: certificate expiry, connection, pushes sent, failures by reason, invalid "
	"tokens")},
    {"push", NULL, push_many, many_opts, 0,
     N_("wake every enrolled tablet of a collège (or of the fleet) through APNs")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
