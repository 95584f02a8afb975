/* ctl_ade.c - Automated Device Enrolment (Apple School Manager): the key
 * pair whose certificate is uploaded there, the token file downloaded from
 * there, the device sync (run now, its state), the tablets ASM gave and
 * the enrolment profiles defined at Apple. */
#include "ctl.h"

#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P7M_MAX (1u << 20)

/* Reads a whole file of at most P7M_MAX bytes, base64-encoded into *ret. */
static int read_b64(const char *name, char **ret)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	FILE *f = fopen(name, "rb");
	if (f == NULL)
		return ctl_err("cannot open %s: %s", name, strerror(errno));
	unsigned char *buf = malloc(P7M_MAX + 1);
	size_t len = buf ? fread(buf, 1, P7M_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL)
		return ctl_err("out of memory reading %s", name);
	if (bad || len > P7M_MAX) {
		free(buf);
		return bad ? ctl_err("cannot read %s", name)
			   : ctl_err("%s is larger than %u MiB", name, P7M_MAX >> 20);
	}
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL) {
		free(buf);
		return ctl_err("out of memory reading %s", name);
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)buf[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)buf[i + 1] << 8;
		if (i + 2 < len)
			v |= buf[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	free(buf);
	*ret = out;
	return CTL_OK;
}

/* The certificate as the server sent it (the answers ctl_call() hands over
 * have their line feeds escaped): PEM text only, checked here. */
static int ade_keypair(struct ctl *c, const struct ctl_args *a)
{
	char *body = NULL;
	size_t len = 0;
	(void)a;
	int rc =
	    ctl_call_raw(c, "POST", "/api/v1/ade/keypair", "", 0, "application/json", &body, &len);
	if (rc != CTL_OK)
		return rc;
	json_t *ret = json_loadb(body, len, 0, NULL);
	free(body);
	const char *pem = json_string_value(json_object_get(ret, "certificate"));
	if (pem == NULL || strspn(pem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/=- \n") != strlen(pem)) {
		json_decref(ret);
		return ctl_err("the server's answer holds no certificate");
	}
	if (c->json) {
		ctl_print_json(ret);
	} else {
		fputs(pem, stdout);
		fprintf(
		    stderr, "%s\n",
		    json_is_true(json_object_get(ret, "created"))
			? _("a new ADE key pair was made: upload this certificate (PEM) in Apple "
			    "School Manager, in the MDM server's settings, then download the "
			    "server token")
			: _("the ADE key pair is kept: upload this certificate (PEM) in Apple "
			    "School Manager if it does not have it yet"));
	}
	json_decref(ret);
	return CTL_OK;
}

static const struct ctl_opt token_opts[] = {
    CTL_OPT_ARG("FILE.p7m", "missing argument",
		N_("the server token file downloaded from Apple School Manager (S/MIME, "
		   "encrypted to the certificate of ade keypair)")),
    CTL_OPT_END,
};

static void print_token(json_t *ret, const struct ctl_args *a)
{
	char t[64];
	(void)a;
	printf(_("server token %s imported, valid until %s\n"), ctl_fleet_str(ret, "consumer_key"),
	       ctl_when_of(ret, "expiry", t, sizeof(t)));
}

static int ade_token(struct ctl *c, const struct ctl_args *a)
{
	char *b64 = NULL;
	int rc = read_b64(ctl_opt_get(a, "FILE.p7m"), &b64);
	if (rc != CTL_OK)
		return rc;
	json_t *body = json_pack("{s:s}", "p7m", b64);
	free(b64);
	return ctl_send_print(c, a, "POST", "/api/v1/ade/token", body, print_token);
}

/* The French (or English) sentence of a failure's kind (ade_sync.h). */
static const char *failure_text(const char *kind)
{
	static const struct {
		const char *kind, *text;
	} kinds[] = {
	    {"terms", N_("an Apple School Manager administrator must accept the new terms and "
			 "conditions (T_C_NOT_SIGNED)")},
	    {"denied", N_("the server token lacks the rights (ACCESS_DENIED): download a new one")},
	    {"token", N_("Apple refuses the server token: check the server's clock, or download "
			 "a new token")},
	    {"session", N_("Apple refused the session twice in a row")},
	    {"later", N_("Apple's service is busy: the next run waits")},
	    {"malformed", N_("Apple refused a request as malformed (a bug: report it)")},
	    {"http", N_("Apple's service answered an error")},
	    {"io", N_("Apple's service could not be reached")},
	    {"answer", N_("Apple's answer could not be read")},
	    {"db", N_("the database refused the change")},
	    {"cursor", N_("the sync's cursor was refused")},
	    {"profile", N_("Apple refused an enrolment profile")},
	    {"assign", N_("Apple refused an assignment")},
	    {"stopped", N_("the daemon was stopping")},
	};
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].kind) == 0)
			return _(kinds[i].text);
	return _("failure");
}

static void print_error(json_t *e, int with_time)
{
	char t[64];
	if (!json_is_object(e))
		return;
	printf(_("last failure:   %s (HTTP %lld: %s)"),
	       failure_text(json_string_value(json_object_get(e, "kind"))),
	       (long long)json_integer_value(json_object_get(e, "status")),
	       ctl_fleet_str(e, "detail"));
	if (with_time)
		printf(_(", %s"), ctl_when_of(e, "at", t, sizeof(t)));
	printf("\n");
}

static void print_run(json_t *run)
{
	printf(_("run %lld: %s, %lld pages, %lld tablets seen (%lld new, %lld modified, %lld "
		 "removed), %lld profiles defined, %lld assigned, %lld throttled, %lld failed, "
		 "%.1f s\n"),
	       (long long)json_integer_value(json_object_get(run, "id")),
	       ctl_word(ctl_fleet_str(run, "phase")),
	       (long long)json_integer_value(json_object_get(run, "pages")),
	       (long long)json_integer_value(json_object_get(run, "devices")),
	       (long long)json_integer_value(json_object_get(run, "new")),
	       (long long)json_integer_value(json_object_get(run, "modified")),
	       (long long)json_integer_value(json_object_get(run, "removed")),
	       (long long)json_integer_value(json_object_get(run, "defined")),
	       (long long)json_integer_value(json_object_get(run, "assigned")),
	       (long long)json_integer_value(json_object_get(run, "throttled")),
	       (long long)json_integer_value(json_object_get(run, "failed")),
	       (double)json_integer_value(json_object_get(run, "duration_ms")) / 1000.0);
}

static void print_status(json_t *ret, const struct ctl_args *a)
{
	char t[64];
	json_t *tok = json_object_get(ret, "token"), *w;
	json_t *sync = json_object_get(ret, "sync"), *as = json_object_get(ret, "assignment");
	size_t i;
	(void)a;
	printf(_("ADE service:    %s\n"), ctl_fleet_str(ret, "url"));
	if (!json_is_object(tok)) {
		printf("%s\n",
		       _("server token:   none (ardoisectl ade keypair, then ardoisectl ade "
			 "token FILE.p7m)"));
	} else {
		printf(_("consumer key:   %s\n"), ctl_fleet_str(tok, "consumer_key"));
		printf(_("expires:        %s (in %lld days)\n"),
		       ctl_when_of(tok, "expiry", t, sizeof(t)),
		       (long long)json_integer_value(json_object_get(tok, "expires_in_days")));
		printf(_("imported:       %s by %s\n"),
		       ctl_when_of(tok, "imported_at", t, sizeof(t)),
		       ctl_fleet_str(tok, "imported_by"));
	}
	if (json_is_object(sync)) {
		printf(_("sync phase:     %s\n"), ctl_word(ctl_fleet_str(sync, "phase")));
		printf(_("last run:       %s\n"), ctl_when_of(sync, "run_at", t, sizeof(t)));
		printf(_("last good run:  %s\n"), ctl_when_of(sync, "ok_at", t, sizeof(t)));
		printf(_("tablets:        %lld known, %lld removed from ASM\n"),
		       (long long)json_integer_value(json_object_get(sync, "devices")),
		       (long long)json_integer_value(json_object_get(sync, "removed")));
		print_error(json_object_get(sync, "error"), 1);
		if (!json_is_null(json_object_get(sync, "next_run_at")))
			printf(_("next run:       %s\n"),
			       ctl_when_of(sync, "next_run_at", t, sizeof(t)));
	}
	json_t *run = json_object_get(ret, "run");
	if (json_is_object(run)) {
		if (json_is_true(json_object_get(run, "running")))
			printf("%s\n", _("a run is in progress"));
		print_run(run);
	}
	json_array_foreach(json_object_get(ret, "profiles"), i, w) printf(
	    _("profile:        %s (%s), %s, %lld tablets\n"), ctl_fleet_str(w, "name"),
	    json_is_string(json_object_get(w, "school")) ? ctl_fleet_str(w, "school") : _("fleet"),
	    json_is_string(json_object_get(w, "profile_uuid")) ? _("defined at Apple")
							       : _("to define at the next run"),
	    (long long)json_integer_value(json_object_get(w, "devices")));
	if (json_is_object(as))
		printf(_("assignment:     %lld assigned, %lld pending, %lld failed, %lld "
			 "throttled\n"),
		       (long long)json_integer_value(json_object_get(as, "assigned")),
		       (long long)json_integer_value(json_object_get(as, "pending")),
		       (long long)json_integer_value(json_object_get(as, "failed")),
		       (long long)json_integer_value(json_object_get(as, "throttled")));
	json_array_foreach(json_object_get(ret, "warnings"), i, w)
	    printf(_("warning: %s\n"), json_string_value(w) ? json_string_value(w) : "");
}

static int ade_status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/ade/status", print_status);
}

static const struct ctl_opt sync_opts[] = {
    CTL_OPT_FLAG("--full", CTL_OPT_BODY, "full",
		 N_("fetch every tablet again from the start instead of the changes since the "
		    "last run")),
    CTL_OPT_END,
};

/* Starts a run (or joins the one running), then polls the status until
 * that run has ended and prints it. */
static int ade_sync(struct ctl *c, const struct ctl_args *a)
{
	json_t *ret = NULL, *body = ctl_opt_body(a);
	int rc = ctl_call(c, "POST", "/api/v1/ade/sync", body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	json_int_t id = json_integer_value(json_object_get(ret, "run"));
	json_decref(ret);
	for (;;) {
		struct timespec ts = {0, 200000000L};
		if ((rc = ctl_call(c, "GET", "/api/v1/ade/status", NULL, &ret)) != CTL_OK)
			return rc;
		json_t *run = json_object_get(ret, "run");
		if (json_is_object(run) && json_integer_value(json_object_get(run, "id")) >= id &&
		    !json_is_true(json_object_get(run, "running")))
			break;
		json_decref(ret);
		nanosleep(&ts, NULL);
	}
	json_t *run = json_incref(json_object_get(ret, "run"));
	json_decref(ret);
	json_t *err = json_object_get(run, "error");
	if (c->json) {
		ctl_print_json(run);
	} else {
		print_run(run);
		if (json_is_object(err)) {
			printf(_("failure:        %s (HTTP %lld: %s)\n"),
			       failure_text(json_string_value(json_object_get(err, "kind"))),
			       (long long)json_integer_value(json_object_get(err, "status")),
			       ctl_fleet_str(err, "detail"));
		}
	}
	rc = json_is_object(err) ? CTL_EFAIL : CTL_OK;
	json_decref(run);
	return rc;
}

static const struct ctl_opt devices_opts[] = {
    CTL_OPT_SCHOOL(N_("only the tablets of this collège")),
    CTL_OPT_FLAG("--removed", CTL_OPT_QUERY, "removed",
		 N_("only the tablets removed from Ardoise's server in Apple School Manager")),
    CTL_OPT_END,
};

static void print_devices(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("serial"),  N_("model"),	 N_("description"),
					   N_("collège"), N_("profile"), N_("assignment"),
					   N_("removed")};
	char t[64];
	size_t i;
	json_t *d;
	(void)a;
	struct ctl_table *tab = ctl_fleet_table(7, head);
	json_array_foreach(all, i, d)
	{
		const char *row[] = {ctl_fleet_str(d, "serial"),
				     ctl_fleet_str(d, "model"),
				     ctl_fleet_str(d, "description"),
				     ctl_fleet_str(d, "school"),
				     ctl_fleet_str(d, "profile"),
				     ctl_word(ctl_fleet_str(d, "assign_state")),
				     json_is_null(json_object_get(d, "removed_at"))
					 ? ""
					 : ctl_when_of(d, "removed_at", t, sizeof(t))};
		ctl_fleet_row(tab, row);
	}
	ctl_fleet_table_print(tab, stdout);
}

static int ade_devices(struct ctl *c, const struct ctl_args *a)
{
	char path[1024] = "/api/v1/ade/devices";
	ctl_opt_query(a, path, sizeof(path));
	return ctl_fleet_list(c, a, path, "devices", print_devices);
}

static const struct ctl_opt profile_opts[] = {
    CTL_OPT_ARG("ACTION", N_("missing action: add, list, show, update or remove"),
		N_("add, list, show, update or remove")),
    {.name = "NAME", .how = CTL_OPT_POS, .help = N_("the profile's name (shown in ASM)")},
    CTL_OPT_FIELD("--school", "UAI", "school", NULL,
		  N_("the collège whose tablets take it (none: the fleet's profile)")),
    CTL_OPT_FIELD("--department", "TEXT", "department", NULL,
		  N_("shown in Setup Assistant (the département's service)")),
    CTL_OPT_FIELD("--support-phone", "TEXT", "support_phone", NULL,
		  N_("the support phone number shown to the user")),
    CTL_OPT_FIELD("--support-email", "TEXT", "support_email", NULL,
		  N_("the support address shown to the user")),
    CTL_OPT_FIELD("--skip", "PANE[,PANE...]", "skip", NULL,
		  N_("the Setup Assistant panes to skip (default: the pupils' list)")),
    CTL_OPT_FLAG("--removable", CTL_OPT_BODY, "removable",
		 N_("the user may remove management (default: not)")),
    {.name = "--no-await",
     .how = CTL_OPT_BODY,
     .key = "await",
     .set = "false",
     .help = N_("do not hold Setup Assistant until the baseline is installed")},
    {.name = "--no-return-to-service",
     .how = CTL_OPT_BODY,
     .key = "return_to_service",
     .set = "false",
     .help = N_("no Return to Service (allowed by default)")},
    CTL_OPT_END,
};

static void print_profile(json_t *p, const struct ctl_args *a)
{
	char t[64];
	json_t *set = json_object_get(p, "settings"), *v;
	size_t i;
	(void)a;
	printf(_("profile:        %s\n"), ctl_fleet_str(p, "name"));
	printf(_("collège:        %s\n"), json_is_string(json_object_get(p, "school"))
					      ? ctl_fleet_str(p, "school")
					      : _("fleet (tablets of no collège profile)"));
	printf(_("at Apple:       %s\n"), json_is_string(json_object_get(p, "profile_uuid"))
					      ? ctl_fleet_str(p, "profile_uuid")
					      : _("to define at the next run"));
	printf(_("tablets:        %lld\n"),
	       (long long)json_integer_value(json_object_get(p, "devices")));
	printf(_("removable:      %s\n"),
	       json_is_true(json_object_get(set, "is_mdm_removable")) ? _("yes") : _("no"));
	printf(_("await config.:  %s\n"),
	       json_is_true(json_object_get(set, "await_device_configured")) ? _("yes") : _("no"));
	printf(_("return to svc.: %s\n"),
	       json_is_true(json_object_get(set, "is_return_to_service")) ? _("yes") : _("no"));
	printf(_("department:     %s\n"), ctl_fleet_str(set, "department"));
	printf(_("support:        %s %s\n"), ctl_fleet_str(set, "support_phone_number"),
	       ctl_fleet_str(set, "support_email_address"));
	printf("%s", _("skipped panes: "));
	json_array_foreach(json_object_get(set, "skip_setup_items"), i, v)
	    printf(" %s", json_string_value(v) ? json_string_value(v) : "");
	printf(_("\nupdated:        %s\n"), ctl_when_of(p, "updated_at", t, sizeof(t)));
}

static void print_profiles(json_t *ret, const struct ctl_args *a)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(ret, "profiles"), i, p)
	{
		print_profile(p, a);
		printf("\n");
	}
}

static void print_removed(json_t *ret, const struct ctl_args *a)
{
	(void)a;
	printf(_("profile %s removed\n"), ctl_fleet_str(ret, "removed"));
}

static int ade_profile(struct ctl *c, const struct ctl_args *a)
{
	const char *act = ctl_opt_get(a, "ACTION"), *name = ctl_opt_get(a, "NAME");
	char path[512];
	if (strcmp(act, "list") == 0)
		return ctl_get_print(c, a, "/api/v1/ade/profiles", print_profiles);
	if (strcmp(act, "add") && strcmp(act, "show") && strcmp(act, "update") &&
	    strcmp(act, "remove"))
		return ctl_opt_usage(a->verb,
				     "unknown action %s: add, list, show, update or remove", act);
	if (name == NULL)
		return ctl_opt_usage(a->verb, "missing NAME");
	ctl_path(path, sizeof(path), "/api/v1/ade/profiles/", name, "");
	if (strcmp(act, "show") == 0)
		return ctl_get_print(c, a, path, print_profile);
	if (strcmp(act, "remove") == 0)
		return ctl_send_print(c, a, "DELETE", path, NULL, print_removed);
	json_t *body = ctl_opt_body(a);
	static const char *const negs[] = {"await", "return_to_service"};
	for (size_t i = 0; i < 2; i++)
		if (json_object_get(body, negs[i])) /* the flags --no-...: false */
			json_object_set_new(body, negs[i], json_false());
	const char *skip = ctl_opt_get(a, "--skip");
	if (skip) {
		json_t *arr = json_array();
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s", skip);
		for (char *p = buf, *end; p && *p; p = end) {
			end = strchr(p, ',');
			if (end)
				*end++ = '\0';
			json_array_append_new(arr, json_string(p));
		}
		json_object_set_new(body, "skip", arr);
	}
	if (strcmp(act, "add") == 0) {
		json_object_set_new(body, "name", json_string(name));
		return ctl_send_print(c, a, "POST", "/api/v1/ade/profiles", body, print_profile);
	}
	return ctl_send_print(c, a, "PUT", path, body, print_profile);
}

const struct ctl_verb ctl_ade_verbs[] = {
    {"ade", "keypair", ade_keypair, NULL, 0,
     N_("Makes the key pair of Automated Device Enrolment once (kept after) and prints its "
	"certificate (PEM) to upload in Apple School Manager (technicians)")},
    {"ade", "token", ade_token, token_opts, 0,
     N_("Imports the server token downloaded from Apple School Manager: decrypted with the "
	"key pair, its secrets kept sealed (technicians)")},
    {"ade", "status", ade_status, NULL, 0,
     N_("The server token (a warning 30 days before it expires), the device sync (last run, "
	"last failure, next run), the enrolment profiles and the assignment counts "
	"(technicians)")},
    {"ade", "sync", ade_sync, sync_opts, 0,
     N_("Syncs the tablets Apple School Manager assigned to Ardoise now, defines the "
	"profiles and assigns them, and prints what the run did (technicians)")},
    {"ade", "devices", ade_devices, devices_opts, 0,
     N_("The tablets Apple School Manager gave: serial, model, collège, profile, "
	"assignment, removal (technicians)")},
    {"ade", "profile", ade_profile, profile_opts, 0,
     N_("The enrolment profiles: add NAME, list, show NAME, update NAME, remove NAME; "
	"defined at Apple and assigned by the next sync (technicians)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
