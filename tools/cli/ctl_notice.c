/* ctl_notice.c - the daily notice by e-mail: sent now, tried without
 * sending (--dry-run), the latest run. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS	   200
#define POLL_MAX_S 1800 /* a run of many messages, each up to a minute */

static const struct ctl_opt send_opts[] = {
    CTL_OPT_FLAG("--dry-run", CTL_OPT_QUERY, "dry_run",
		 N_("send nothing: show what would be sent to whom")),
    CTL_OPT_END,
};

/* The dry run for people: each message's body on its own lines (bodies:
 * the server's text, escaped here keeping its line feeds; ret's strings are
 * escaped already). */
static void print_dry(json_t *ret, json_t *bodies)
{
	json_t *m;
	size_t i;
	json_t *all = json_object_get(ret, "messages");
	if (!json_is_true(json_object_get(ret, "mail_on")))
		printf("%s\n",
		       _("mail is off ([mail] smtp_url is not set): nothing would be sent"));
	printf(_("%zu e-mails would be sent\n"), json_array_size(all));
	json_array_foreach(all, i, m)
	{
		printf("\n%s (%s) <%s>\n%s\n", ctl_fleet_str(m, "account"),
		       ctl_word(ctl_fleet_str(m, "role")), ctl_fleet_str(m, "to"),
		       ctl_fleet_str(m, "subject"));
		const char *body = json_string_value(json_array_get(bodies, i));
		char safe[65536];
		printf("%s", ctl_safe(body ? body : "", 1, safe, sizeof(safe)));
	}
}

/* --dry-run: the answer taken raw, so that the bodies keep their lines. */
static int notice_dry(struct ctl *c)
{
	char *raw = NULL;
	size_t len = 0, i;
	json_t *m;
	int rc =
	    ctl_call_raw(c, "POST", "/api/v1/notices/send?dry_run=1", NULL, 0, NULL, &raw, &len);
	if (rc != CTL_OK)
		return rc;
	json_t *ret = json_loadb(raw ? raw : "", len, 0, NULL);
	free(raw);
	if (ret == NULL)
		return ctl_err(_("the server's answer is not JSON"));
	if (c->json) {
		ctl_print_json(ret);
		json_decref(ret);
		return CTL_OK;
	}
	json_t *bodies = json_array();
	json_array_foreach(json_object_get(ret, "messages"), i, m)
	{
		const char *b = json_string_value(json_object_get(m, "body"));
		json_array_append_new(bodies, json_string(b ? b : ""));
	}
	ctl_safe_json(ret);
	print_dry(ret, bodies);
	json_decref(bodies);
	json_decref(ret);
	return CTL_OK;
}

static void print_run(json_t *ret, const struct ctl_args *a)
{
	json_int_t n = 0, sent = 0, failed = 0, no_addr = 0, bad = 0;
	json_unpack(ret, "{s?I,s?I,s?I,s?I,s?I}", "recipients", &n, "sent", &sent, "failed",
		    &failed, "no_address", &no_addr, "bad_address", &bad);
	if (!json_is_integer(json_object_get(ret, "run"))) {
		printf("%s\n", _("no notice run since the daemon started"));
		return;
	}
	printf(_("notice run %lld (%s): %s; %lld e-mails to send, %lld sent, %lld not sent\n"),
	       (long long)json_integer_value(json_object_get(ret, "run")),
	       ctl_word(ctl_fleet_str(ret, "origin")), ctl_word(ctl_fleet_str(ret, "state")),
	       (long long)n,

	       (long long)sent, (long long)failed);
	if (no_addr || bad)
		printf(_("accounts without an e-mail address: %lld; with an unusable one: %lld\n"),
		       (long long)no_addr, (long long)bad);
	if (json_is_string(json_object_get(ret, "error")))
		printf(_("error: %s\n"), ctl_fleet_str(ret, "error"));
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits until the run `id` is done; its figures into *ret. */
static int wait_run(struct ctl *c, json_int_t id, json_t **ret)
{
	for (long waited = 0; waited < POLL_MAX_S * 1000L; waited += POLL_MS) {
		json_t *st = NULL;
		int rc = ctl_call(c, "GET", "/api/v1/notices/last", NULL, &st);
		if (rc != CTL_OK)
			return rc;
		const char *state = json_string_value(json_object_get(st, "state"));
		if (json_integer_value(json_object_get(st, "run")) != id ||
		    (state && strcmp(state, "done") == 0)) {
			*ret = st;
			return CTL_OK;
		}
		json_decref(st);
		pause_ms(POLL_MS);
	}
	return ctl_err(_("the notice run %lld did not end within %d minutes"), (long long)id,
		       POLL_MAX_S / 60);
}

static int notice_send(struct ctl *c, const struct ctl_args *a)
{
	json_t *ret = NULL, *done = NULL;
	if (ctl_opt_get(a, "--dry-run"))
		return notice_dry(c);
	int rc = ctl_call(c, "POST", "/api/v1/notices/send", NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	json_int_t id = json_integer_value(json_object_get(ret, "run"));
	rc = wait_run(c, id, &done);
	json_decref(ret);
	if (rc != CTL_OK)
		return rc;
	json_int_t failed = json_integer_value(json_object_get(done, "failed"));
	json_int_t total = json_integer_value(json_object_get(done, "recipients"));
	char err[600];
	snprintf(err, sizeof(err), "%s", ctl_fleet_str(done, "error"));
	if (json_integer_value(json_object_get(done, "run")) != id)
		snprintf(err, sizeof(err), "%s", _("another run took its place"));
	ctl_print(c, a, done, print_run);
	if (failed > 0)
		return ctl_err(_("%lld of %lld e-mails not sent: %s (they go again with the next "
				 "daily notice)"),
			       (long long)failed, (long long)total, err);
	return CTL_OK;
}

static int notice_last(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/notices/last", print_run);
}

const struct ctl_verb ctl_notice_verbs[] = {
    {"notice", "send", notice_send, send_opts, 0,
     N_("the daily notice by e-mail, now (technicians); --dry-run shows it unsent")},
    {"notice", "last", notice_last, NULL, 0, N_("the latest notice run since the daemon started")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
