/*
 * main.c - ardoised: command line, --init, start-up checks, run.
 */
#include "ap_err.h"
#include "api_fleet.h"
#include "api_reply.h"
#include "api_routes.h"
#include "audit_head.h"
#include "backup.h"
#include "cmdq.h"
#include "config.h"
#include "isodate.h"
#include "db_account.h"
#include "db_audit.h"
#include "db_session.h"
#include "ddm.h"
#include "ade_configure.h"
#include "gdmf_sync.h"
#include "keystore.h"
#include "licence.h"
#include "locate.h"
#include "secret.h"
#include "log.h"
#include "mdm.h"
#include "metrics.h"
#include "policy.h"
#include "push.h"
#include "reconcile.h"
#include "server.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <getopt.h>
#include <libintl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HOSTNAMES 16

#ifndef ARDOISE_BASELINE_DIR /* set by meson: the source tree's policies/baseline */
#define ARDOISE_BASELINE_DIR "policies/baseline"
#endif

#ifndef ARDOISE_VERSION
#define ARDOISE_VERSION "0.1.0"
#endif
#ifndef ARDOISE_CONFIG_FILE /* set by meson: SYSCONFDIR/ardoise/ardoised.conf */
#define ARDOISE_CONFIG_FILE "/etc/ardoise/ardoised.conf"
#endif

/* What the help and ardoised(8) say before and after the options. */
static const char synopsis[] = "ardoised --data-dir DIR --init [--first-start] [--config FILE]\n"
			       "         [--hostname NAME]... [--admin NAME]\n"
			       "         [--baseline-dir DIR | --no-baseline]\n"
			       "ardoised --data-dir DIR [--config FILE] [--listen ADDR:PORT]\n"
			       "         [--workers N] [-n]\n"
			       "ardoised --data-dir DIR --restore FILE --key OPERATOR.key\n"
			       "         [--cert OPERATOR.pem]\n";
static const char description[] =
    "ardoised is the Ardoise fleet-management daemon: it serves the tablets' MDM protocol "
    "and the staff API on one TLS port.";
static const char signals[] =
    "SIGTERM or SIGINT stop accepting, finish requests in flight (bounded by "
    "server.drain_timeout_ms), close the database and exit 0. SIGHUP reads the configuration "
    "again and applies [log] level and file (the file opened again), the push certificate and "
    "[mdm] device_ca without closing a connection; other keys changed need a restart "
    "(reload_ignored). Under systemd (NOTIFY_SOCKET) readiness, reloads and the stop are "
    "notified. Logs go to standard error, or [log] file, as key=value lines.";

/* The options: getopt's table, --help and ardoised(8) are written from
 * these rows.  A row without help is not shown (build-time outputs). */
static const struct dopt {
	const char *name; /* long option */
	int id;		  /* getopt's value */
	int shrt;	  /* 1: id is also the short option "-x" */
	const char *arg;  /* the value's word; NULL: a flag */
	const char *help; /* one paragraph */
} dopts[] = {
    {"data-dir", 'd', 1, "DIR", "where the database, CA and keys live (required)"},
    {"init", 'I', 0, NULL,
     "create DIR's CA, server certificate, secret and audit keys, database and a first "
     "technician account, print its token once as 'token: <value>' (for ardoisectl) and the "
     "path of its one-time link as 'link: /lien/<value>' (open it on the daemon's address "
     "within 72 h to choose the account's password for the pages), and exit; refuses when DIR "
     "already holds any of these"},
    {"first-start", 'F', 0, NULL,
     "with --init, for a service's first start: exit 0 doing nothing when DIR/ardoise.db "
     "exists; otherwise initialise as --init does but write the token and the link into "
     "DIR/admin.token and DIR/admin.link (mode 0600) and print only their paths, so that no "
     "secret reaches the journal"},
    {"hostname", 'H', 0, "NAME",
     "with --init: extra DNS name or IP address for the server certificate (repeatable; "
     "localhost, 127.0.0.1 and the configuration's server.hostname are always included)"},
    {"admin", 'A', 0, "NAME", "with --init: name of the first account (default admin)"},
    {"baseline-dir", 'B', 0, "DIR",
     "with --init: the security baseline to load and assign to the whole fleet, every "
     "DIR/*.mobileconfig (default $ARDOISED_BASELINE_DIR, else " ARDOISE_BASELINE_DIR ")"},
    {"no-baseline", 'N', 0, NULL, "with --init: start with no policy at all"},
    {"config", 'c', 1, "FILE",
     "INI configuration file (ardoised.conf(5); installed as " ARDOISE_CONFIG_FILE ")"},
    {"restore", 'R', 0, "FILE",
     "install the backup FILE (ardoisectl backup, [backup] dir) as DIR's database: DIR holds "
     "the key files copied back and no database; checks the copy and the keys, writes "
     "audit.head, prints what was restored, and exits"},
    {"key", 'K', 0, "FILE", "with --restore: the operator's private key (PEM)"},
    {"cert", 'C', 0, "FILE", "with --restore: its certificate ([backup] recipient)"},
    {"listen", 'l', 1, "A:P",
     "address and port to listen on (default 127.0.0.1:8443; port 0 picks a free one)"},
    {"workers", 'w', 1, "N", "event loops (default: one per core)"},
    {"check", 'n', 1, NULL,
     "check the configuration and the data directory, print the effective configuration, "
     "and exit"},
    {"help", 'h', 1, NULL, "this text"},
    {"version", 'V', 1, NULL, "print the version"},
    {"man", 'M', 0, "SECTION", NULL},	   /* ardoised(8) or ardoised.conf(5) in roff */
    {"sample-config", 'S', 0, NULL, NULL}, /* the commented ardoised.conf installed */
};

#define NDOPTS (sizeof(dopts) / sizeof(dopts[0]))

/* The default --baseline-dir: $ARDOISED_BASELINE_DIR (the build tree's
 * policies/baseline, set by the tests and tools/ardoise-dev), else the
 * installed one. */
static const char *baseline_default(void)
{
	const char *env = getenv("ARDOISED_BASELINE_DIR");
	return env && *env ? env : ARDOISE_BASELINE_DIR;
}

/* s wrapped to 78 columns on f, lines after the first indented by indent
 * (the first continues at column col). */
static void wrap(FILE *f, const char *s, size_t indent, size_t col)
{
	int first = 1;
	while (*s) {
		size_t n = strcspn(s, " ");
		if (!first && col + 1 + n > 78) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = 1;
		}
		col += (size_t)fprintf(f, "%s%.*s", first ? "" : " ", (int)n, s);
		first = 0;
		s += n;
		s += strspn(s, " ");
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	char word[64];
	fputs("Usage: ", f);
	for (const char *p = synopsis; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "%s%.*s\n", p == synopsis ? "" : "       ", (int)n, p);
		p += n + (p[n] == '\n');
	}
	fputc('\n', f);
	wrap(f, description, 0, 0);
	fputs("\nOptions:\n", f);
	for (size_t i = 0; i < NDOPTS; i++) {
		const struct dopt *o = &dopts[i];
		if (o->help == NULL)
			continue;
		char sh[8] = "    ";
		if (o->shrt)
			snprintf(sh, sizeof(sh), "-%c, ", o->id);
		int len = snprintf(word, sizeof(word), "  %s--%s%s%s", sh, o->name,
				   o->arg ? " " : "", o->arg ? o->arg : "");
		if (len >= 24)
			fprintf(f, "%s\n%24s", word, "");
		else
			fprintf(f, "%-24s", word);
		wrap(f, o->help, 24, 24);
	}
	fputs("\nSignals: ", f);
	wrap(f, signals, 0, 9);
}

/* ardoised(8), written from the same rows as usage(). */
static void man8(FILE *f)
{
	fputs(".TH ARDOISED 8 \"\" \"Ardoise " ARDOISE_VERSION "\" \"System administration\"\n"
	      ".nh\n.ad l\n.SH NAME\nardoised \\- the Ardoise fleet\\-management daemon for iPads\n"
	      ".SH SYNOPSIS\n.nf\n",
	      f);
	config_roff(f, synopsis);
	fputs(".fi\n.SH DESCRIPTION\n", f);
	config_roff(f, description);
	fputs("\n.PP\nUnder systemd the service \\fBardoised.service\\fR runs it as the user "
	      "\\fBardoise\\fR with its data in /var/lib/ardoise; its first start runs "
	      "\\fBardoised \\-\\-init \\-\\-first\\-start\\fR, which leaves the first "
	      "technician's token in /var/lib/ardoise/admin.token and its one\\-time link in "
	      "/var/lib/ardoise/admin.link.\n.SH OPTIONS\n",
	      f);
	for (size_t i = 0; i < NDOPTS; i++) {
		const struct dopt *o = &dopts[i];
		if (o->help == NULL)
			continue;
		fputs(".TP\n", f);
		if (o->shrt)
			fprintf(f, "\\fB\\-%c\\fR, ", o->id);
		fputs("\\fB\\-\\-", f);
		config_roff(f, o->name);
		fputs("\\fR", f);
		if (o->arg) {
			fputs(" \\fI", f);
			config_roff(f, o->arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		config_roff(f, o->help);
		fputc('\n', f);
	}
	fputs(".SH SIGNALS\n", f);
	config_roff(f, signals);
	fputs("\n.SH ENVIRONMENT\n.TP\n.B ARDOISED_BASELINE_DIR\nThe default of "
	      "\\fB\\-\\-baseline\\-dir\\fR (an uninstalled build's policies/baseline).\n"
	      ".TP\n.B ARDOISED_LOCALEDIR\nWhere the French catalogue of the refusals is read "
	      "(an uninstalled build's daemon/po).\n.SH FILES\n.TP\n",
	      f);
	config_roff(f, ARDOISE_CONFIG_FILE);
	fputs("\nThe configuration, see \\fBardoised.conf\\fR(5).\n.TP\n", f);
	config_roff(f, ARDOISE_BASELINE_DIR);
	fputs("\nThe security baseline profiles assigned to the fleet by \\fB\\-\\-init\\fR.\n"
	      ".TP\n/var/lib/ardoise\nThe service's data directory: the database, the CA, the "
	      "keys; ardoise.db holds every tablet, loan, sealed secret and the audit log.\n"
	      ".SH \"SEE ALSO\"\n\\fBardoisectl\\fR(1), \\fBardoised.conf\\fR(5), "
	      "\\fBsystemctl\\fR(1)\n",
	      f);
}

struct opts {
	const char *data_dir;
	const char *config;
	const char *listen;
	const char *workers;
	const char *admin;
	const char *baseline_dir;
	int no_baseline;
	const char *hostnames[MAX_HOSTNAMES];
	size_t n_hostnames;
	int init;
	int first_start;
	int check;
	const char *restore;
	const char *key;
	const char *cert;
	const char *man;   /* --man=8|5 */
	int sample_config; /* --sample-config */
};

/* What the other modules do with a command a tablet acknowledged, after
 * mdm.c recorded the inventory it carries: one row per (type, hook). */
static const struct {
	enum ap_cmd_type type;
	cmdq_hook_fn fn;
} result_hooks[] = {
    {AP_CMD_DEVICE_LOCATION, locate_on_fix},
    {AP_CMD_ERASE_DEVICE, api_loan_on_erase},
    {AP_CMD_INSTALLED_APPLICATION_LIST, reconcile_on_result},
    {AP_CMD_PROFILE_LIST, reconcile_on_result},
    {AP_CMD_INSTALL_PROFILE, reconcile_on_result},
    {AP_CMD_REMOVE_PROFILE, reconcile_on_result},
    {AP_CMD_INSTALL_APPLICATION, reconcile_on_result},
    {AP_CMD_REMOVE_APPLICATION, reconcile_on_result},
    {AP_CMD_DECLARATIVE_MANAGEMENT, ddm_on_result},
    {AP_CMD_DEVICE_INFORMATION, ddm_on_result},
    /* after reconcile's: the plan as the result left it */
    {AP_CMD_INSTALLED_APPLICATION_LIST, ade_configure_on_result},
    {AP_CMD_PROFILE_LIST, ade_configure_on_result},
    {AP_CMD_INSTALL_PROFILE, ade_configure_on_result},
    {AP_CMD_REMOVE_PROFILE, ade_configure_on_result},
    {AP_CMD_INSTALL_APPLICATION, ade_configure_on_result},
    {AP_CMD_REMOVE_APPLICATION, ade_configure_on_result},
    {AP_CMD_DEVICE_INFORMATION, ade_configure_on_result},
    {AP_CMD_SECURITY_INFO, ade_configure_on_result},
    {AP_CMD_ACTIVATION_LOCK_BYPASS_CODE, ade_configure_on_result},
    {AP_CMD_DEVICE_CONFIGURED, ade_configure_on_result},
};

/* A tablet's first TokenUpdate: its DDM state (and DeclarativeManagement
 * command), then its desired policy. */
static int enrolled(struct worker *w, int64_t device_id)
{
	int rc = ddm_enrolled(w, device_id);
	if (rc < 0)
		log_warn("ddm_enrol_failed", "device=%lld error=\"%s\"", (long long)device_id,
			 ap_strerror(rc));
	return reconcile_enrolled(w, device_id);
}

/* Registers the hooks of the tablet's answers, before any worker runs. */
static int wire_hooks(void)
{
	for (size_t i = 0; i < sizeof(result_hooks) / sizeof(result_hooks[0]); i++) {
		int rc = cmdq_on_result(result_hooks[i].type, result_hooks[i].fn);
		if (rc < 0)
			return rc;
	}
	mdm_on_enrolled(enrolled);
	licence_on_licensed(reconcile_licensed); /* licensed tablets get their apps */
	return 0;
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ardoised: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	struct option longopts[NDOPTS + 1];
	char shortopts[2 * NDOPTS + 1];
	size_t ns = 0;
	for (size_t i = 0; i < NDOPTS; i++) {
		const struct dopt *d = &dopts[i];
		/* --man's section is optional only so that "--man=5" is one word */
		longopts[i] = (struct option){d->name,
					      d->arg == NULL	       ? no_argument
					      : strcmp(d->name, "man") ? required_argument
								       : optional_argument,
					      NULL, d->id};
		if (d->shrt) {
			shortopts[ns++] = (char)d->id;
			if (d->arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[NDOPTS] = (struct option){NULL, 0, NULL, 0};
	shortopts[ns] = '\0';
	int ch;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->data_dir = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'w':
			o->workers = optarg;
			break;
		case 'I':
			o->init = 1;
			break;
		case 'F':
			o->first_start = 1;
			break;
		case 'A':
			o->admin = optarg;
			break;
		case 'B':
			o->baseline_dir = optarg;
			break;
		case 'N':
			o->no_baseline = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'R':
			o->restore = optarg;
			break;
		case 'K':
			o->key = optarg;
			break;
		case 'C':
			o->cert = optarg;
			break;
		case 'M':
			o->man = optarg ? optarg : "8";
			break;
		case 'S':
			o->sample_config = 1;
			break;
		case 'H':
			if (o->n_hostnames == MAX_HOSTNAMES)
				return die("at most %d --hostname options", MAX_HOSTNAMES);
			o->hostnames[o->n_hostnames++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			puts("ardoised " ARDOISE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->man || o->sample_config)
		return 0; /* build-time outputs: no data directory */
	if (o->data_dir == NULL)
		return die("--data-dir DIR is required (see --help)");
	if ((o->key || o->cert) && !o->restore)
		return die("--key and --cert go with --restore (see --help)");
	if (o->restore && (o->key == NULL || o->init || o->check))
		return die("--restore FILE needs --key OPERATOR.key, without --init or -n");
	if (o->baseline_dir && o->no_baseline)
		return die("--baseline-dir and --no-baseline exclude each other");
	if (o->first_start && !o->init)
		return die("--first-start goes with --init");
	return 0;
}

/* Loads the baseline profiles, signed with the new server identity, and
 * assigns them to the fleet. */
static int init_baseline(const struct opts *o, struct keystore *ks, struct db *db, size_t *ret_n)
{
	const char *dir = o->baseline_dir ? o->baseline_dir : baseline_default();
	char err[600], detail[64];
	int rc = policy_baseline_load(db, ks, dir, "system", ret_n, err, sizeof(err));
	if (rc < 0)
		return die("baseline: %s (use --baseline-dir DIR or --no-baseline)", err);
	snprintf(detail, sizeof(detail), "{\"profiles\":%zu}", *ret_n);
	if ((rc = db_audit_append(db, "system", "policy.baseline", "fleet", dir, detail)) < 0)
		return die("audit: %s", ap_strerror(rc));
	return 0;
}

/* --man=8, --man=5, --sample-config: the pages and the installed
 * configuration, written at build time from the tables. */
static int build_output(const struct opts *o)
{
	/* the installed file's one change: a server answers on 443 */
	static const char *const set[] = {"server.listen", "0.0.0.0:443", NULL};
	if (o->sample_config)
		config_sample(stdout, set);
	else if (strcmp(o->man, "8") == 0)
		man8(stdout);
	else if (strcmp(o->man, "5") == 0)
		config_man(stdout, ARDOISE_VERSION, ARDOISE_CONFIG_FILE);
	else
		return die("--man takes 8 (ardoised) or 5 (ardoised.conf)");
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : die("cannot write the output");
}

/* The files --init creates in the data directory. */
static const char *const init_owned[] = {"ca.key",     "ca.pem",	 "server.key",
					 "server.pem", "secret.key",	 "audit.key",
					 "ardoise.db", "ardoise.db-wal", "ardoise.db-shm"};

#define N_INIT_OWNED (sizeof(init_owned) / sizeof(init_owned[0]))

/* Writes text and a newline into DIR/name, a new file of mode 0600. */
static int write_secret_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return die("cannot create %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	if (close(fd) < 0 || !ok) {
		unlink(path);
		return die("cannot write %s", path);
	}
	return 0;
}

/* --first-start: the token and link into files, not the journal. */
static int first_start_files(const char *dir, const char *token, const char *link)
{
	char lien[DB_SESSION_ID_LEN + 8];
	snprintf(lien, sizeof(lien), "/lien/%s", link);
	if (write_secret_file(dir, "admin.token", token) != 0 ||
	    write_secret_file(dir, "admin.link", lien) != 0)
		return 1;
	return 0;
}

/* The configuration's server.hostname, for the certificate: "" without
 * --config or when it is the default. */
static int init_hostname(const struct opts *o, char *out, size_t cap)
{
	char err[512];
	struct config *cfg = calloc(1, sizeof(*cfg));
	out[0] = '\0';
	if (cfg == NULL)
		return die("out of memory");
	config_defaults(cfg);
	if (o->config && config_load(cfg, o->config, err, sizeof(err)) < 0) {
		free(cfg);
		return die("%s", err);
	}
	if (strcmp(cfg->hostname, "localhost") != 0 && strcmp(cfg->hostname, "127.0.0.1") != 0)
		snprintf(out, cap, "%s", cfg->hostname);
	free(cfg);
	return 0;
}

static int cmd_init(const struct opts *o)
{
	const char *names[MAX_HOSTNAMES + 3] = {"localhost", "127.0.0.1"};
	char path[4200], err[512], token[DB_TOKEN_LEN + 1], link[DB_SESSION_ID_LEN + 1];
	char conf_host[CONFIG_STR];
	struct keystore *ks = NULL;
	int64_t admin_id = 0;
	struct db *db = NULL;
	size_t n = 2;
	int rc;

	if (init_hostname(o, conf_host, sizeof(conf_host)) != 0)
		return 1;
	if (mkdir(o->data_dir, 0700) < 0 && errno != EEXIST)
		return die("cannot create %s: %s", o->data_dir, strerror(errno));
	if (chmod(o->data_dir, 0700) < 0) /* it may have been made beforehand */
		return die("cannot make %s private: %s", o->data_dir, strerror(errno));
	for (size_t i = 0; i < N_INIT_OWNED; i++) {
		snprintf(path, sizeof(path), "%s/%s", o->data_dir, init_owned[i]);
		if (access(path, F_OK) == 0)
			return die("%s already exists: --init refuses to overwrite an installation",
				   path);
	}
	for (size_t i = 0; i < o->n_hostnames; i++)
		names[n++] = o->hostnames[i];
	if (conf_host[0])
		names[n++] = conf_host;
	if (keystore_create(o->data_dir, names, n, err, sizeof(err)) < 0 ||
	    keystore_open(o->data_dir, NULL, &ks, err, sizeof(err)) < 0)
		return die("%s", err);
	snprintf(path, sizeof(path), "%s/ardoise.db", o->data_dir);
	if ((rc = db_open(path, &db)) < 0) {
		keystore_free(ks);
		return die("%s: %s", path, ap_strerror(rc));
	}
	/* the first row is the keyed chain's anchor */
	db_audit_set_key(db, keystore_audit_key(ks), DB_AUDIT_KEY_LEN);
	const char *admin = o->admin ? o->admin : "admin";
	rc = db_account_create(db, admin, DB_ROLE_TECHNICIAN, NULL, 0, token, &admin_id);
	if (rc == 0)
		rc = db_link_new(db, admin_id, DB_LINK_INVITE, DB_LINK_TTL, link, NULL);
	if (rc == 0)
		rc = db_audit_append(db, "system", "init", admin, "ardoised --init",
				     "{\"role\":\"technician\"}");
	if (rc < 0) {
		db_close(db);
		keystore_free(ks);
		return die("creating account '%s': %s", admin, ap_strerror(rc));
	}
	/* the status every tablet reports (DDM) */
	if ((rc = ddm_status_subscriptions_ensure(db, "system", NULL)) < 0) {
		db_close(db);
		keystore_free(ks);
		return die("status subscriptions: %s", ap_strerror(rc));
	}
	size_t n_baseline = 0;
	rc = !o->no_baseline && init_baseline(o, ks, db, &n_baseline) != 0;
	db_close(db);
	keystore_free(ks);
	if (rc)
		return 1;
	printf("initialised %s\n", o->data_dir);
	printf("ca: %s/ca.pem\n", o->data_dir);
	printf("account: %s (technician)\n", admin);
	if (o->no_baseline)
		printf("baseline: none (--no-baseline)\n");
	else
		printf("baseline: %zu profiles assigned to the fleet\n", n_baseline);
	if (o->first_start) {
		if (first_start_files(o->data_dir, token, link) != 0)
			return 1;
		printf("token file: %s/admin.token\n", o->data_dir);
		printf("link file: %s/admin.link\n", o->data_dir);
		return 0;
	}
	printf("token: %s\n", token);
	printf("link: /lien/%s\n", link);
	return 0;
}

/* --init --first-start: nothing when DIR/ardoise.db exists; a partial
 * installation (some of --init's files, or the token files, without the
 * database) is refused and left as it is; otherwise --init, and when it
 * fails what it made is removed, so that the next start tries again
 * rather than leave a database nobody can sign in to. */
static int cmd_first_start(const struct opts *o)
{
	static const char *const token_files[] = {"admin.token", "admin.link"};
	char path[4200];
	snprintf(path, sizeof(path), "%s/ardoise.db", o->data_dir);
	if (access(path, F_OK) == 0) {
		printf("%s is already initialised: nothing to do\n", o->data_dir);
		return 0;
	}
	for (size_t i = 0; i < N_INIT_OWNED + 2; i++) {
		const char *name = i < N_INIT_OWNED ? init_owned[i] : token_files[i - N_INIT_OWNED];
		snprintf(path, sizeof(path), "%s/%s", o->data_dir, name);
		if (access(path, F_OK) == 0 || errno != ENOENT)
			return die(
			    "%s exists without %s/ardoise.db: a partial installation, left as "
			    "it is (restore the data directory, or empty it to start afresh)",
			    path, o->data_dir);
	}
	if (cmd_init(o) == 0)
		return 0;
	for (size_t i = 0; i < N_INIT_OWNED + 2; i++) {
		const char *name = i < N_INIT_OWNED ? init_owned[i] : token_files[i - N_INIT_OWNED];
		snprintf(path, sizeof(path), "%s/%s", o->data_dir, name);
		unlink(path);
	}
	return 1;
}

/* The database holds every tablet's and person's record and the sealed
 * secrets: like the key files, it (with its WAL and shared memory) and the
 * data directory are the daemon user's alone. */
static int check_data_private(const char *dir)
{
	static const char *const db_files[] = {"ardoise.db", "ardoise.db-wal", "ardoise.db-shm"};
	char path[4200], err[4600];
	if (keystore_check_private(dir, "data directory", err, sizeof(err)) < 0)
		return die("%s", err);
	for (size_t i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, db_files[i]);
		if (access(path, F_OK) == 0 &&
		    keystore_check_private(path, "database", err, sizeof(err)) < 0)
			return die("%s", err);
	}
	return 0;
}

/* The configuration as the command line asks: the file, then --listen and
 * --workers over it.  At start and at each reload (SIGHUP). */
static const struct opts *run_opts;

static int read_config(struct config *cfg, char *err, size_t cap)
{
	const struct opts *o = run_opts;
	char why[400];
	config_defaults(cfg);
	if (o->config && config_load(cfg, o->config, err, cap) < 0)
		return AP_ECONFIG;
	if (o->listen && config_set(cfg, "server", "listen", o->listen, why, sizeof(why)) < 0) {
		snprintf(err, cap, "--listen: %s", why);
		return AP_ECONFIG;
	}
	if (o->workers && config_set(cfg, "server", "workers", o->workers, why, sizeof(why)) < 0) {
		snprintf(err, cap, "--workers: %s", why);
		return AP_ECONFIG;
	}
	return 0;
}

static int load_config(const struct opts *o, struct config *cfg)
{
	char err[512];
	enum log_level lvl;
	run_opts = o;
	if (read_config(cfg, err, sizeof(err)) < 0)
		return die("%s", err);
	/* -n only checks: it creates no log file */
	if (!o->check && log_set_file(cfg->log_file, err, sizeof(err)) < 0)
		return die("log.file: %s", err);
	if (log_level_from_name(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	/* The zone of every day and time the API reads and writes.  Set here,
	 * once, while the process has one thread: setenv() is not safe while
	 * another thread may call getenv() (mktime() and tzset() do), and no
	 * thread (workers, push, libuv's pool) starts before server_run(). */
	if (config_zone_check(cfg->time_zone, err, sizeof(err)) < 0)
		return die("%s", err);
	if (isodate_set_zone(cfg->time_zone) < 0)
		return die("server.timezone: cannot set TZ=%s", cfg->time_zone);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct server srv;
	struct db *db = NULL;
	char err[512];
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	if (o.man || o.sample_config)
		return build_output(&o);
	/* what ardoised creates is its user's alone; SQLite gives the WAL and
	 * shared-memory files the database's mode */
	umask(077);
	/* the refusals' French (api_fail()): the catalogue installed, or the
	 * build tree's (ARDOISED_LOCALEDIR) */
	const char *localedir = getenv("ARDOISED_LOCALEDIR");
	bindtextdomain(API_DOMAIN, localedir && *localedir ? localedir : ARDOISE_LOCALEDIR);
	bind_textdomain_codeset(API_DOMAIN, "UTF-8");
	/* tests only: shift the clock (retention, expiry) without waiting */
	const char *shift = getenv("ARDOISE_CLOCK_OFFSET");
	if (shift && *shift)
		db_clock_set_offset(strtoll(shift, NULL, 10));
	/* tests only: the nth group commit rolls back (its answers are 503s) */
	const char *group_fail = getenv("ARDOISE_TEST_GROUP_FAIL");
	if (group_fail && *group_fail)
		db_group_fail_at(strtoull(group_fail, NULL, 10));
	/* tests only: each group holds the write lock N ms once open */
	const char *group_hold = getenv("ARDOISE_TEST_GROUP_HOLD_MS");
	if (group_hold && *group_hold)
		db_group_hold_at_open((unsigned)strtoul(group_hold, NULL, 10));
	/* tests only: a fleet or collège run pauses after reading its facts */
	const char *rec_slow = getenv("ARDOISE_TEST_RECONCILE_SLOW_MS");
	if (rec_slow && *rec_slow)
		reconcile_test_slow((unsigned)strtoul(rec_slow, NULL, 10));
	/* tests only: a fleet run's tablets in ranges of N */
	const char *rec_range = getenv("ARDOISE_TEST_RECONCILE_RANGE");
	if (rec_range && *rec_range)
		reconcile_test_range((int)strtol(rec_range, NULL, 10));
	if (o.init)
		return o.first_start ? cmd_first_start(&o) : cmd_init(&o);
	memset(&srv, 0, sizeof(srv));
	if (load_config(&o, &srv.cfg) != 0)
		return 1;
	srv.reread = read_config;
	if (o.restore)
		return backup_restore(&srv.cfg, o.data_dir, o.restore, o.key, o.cert);
	snprintf(srv.data_dir, sizeof(srv.data_dir), "%s", o.data_dir);
	snprintf(srv.db_path, sizeof(srv.db_path), "%s/ardoise.db", o.data_dir);
	if (access(srv.db_path, F_OK) != 0)
		return die("%s not found: run 'ardoised --data-dir %s --init' first", srv.db_path,
			   o.data_dir);
	if (check_data_private(o.data_dir) != 0)
		return 1;
	if (keystore_open(o.data_dir, srv.cfg.device_ca, &srv.ks, err, sizeof(err)) < 0)
		return die("%s", err);
	SSL_CTX *probe = NULL; /* each worker makes its own; this one says early what is wrong */
	if (keystore_tls_ctx(srv.ks, NULL, NULL, &probe) < 0) {
		keystore_free(srv.ks);
		return die("%s/server.pem or server.key: cannot load the TLS identity", o.data_dir);
	}
	SSL_CTX_free(probe);
	int key_created = 0;
	if (!o.check && keystore_audit_key_ensure(srv.ks, &key_created, err, sizeof(err)) < 0) {
		rc = die("%s", err);
		goto out;
	}
	/* migrate once here, before any worker opens its own connection */
	if ((rc = worker_db_open(&srv, &db)) < 0) {
		fprintf(stderr, "ardoised: %s: %s\n", srv.db_path, ap_strerror(rc));
		rc = 1;
		goto out;
	}
	int version = 0;
	db_version(db, &version);
	/* what was sealed or stored in clear before: once, before serving */
	rc = secret_upgrade(db, srv.ks);
	/* a backup killed half-way leaves its plaintext copy: not kept */
	if (!o.check)
		backup_remove_leftovers(o.data_dir);
	if (rc == 0 && !o.check && (rc = audit_head_start(&srv, db, key_created)) < 0) {
		db_close(db);
		rc = die("audit log: %s", ap_strerror(rc));
		goto out;
	}
	/* an installation made before DDM (or one whose subscriptions were
	 * removed in the database) gets them back */
	int subs_created = 0;
	if (rc == 0 && !o.check &&
	    (rc = ddm_status_subscriptions_ensure(db, "system", &subs_created)) < 0) {
		rc = die("status subscriptions: %s (%s)", ap_strerror(rc), db_errmsg(db));
		db_close(db);
		goto out;
	}
	if (subs_created)
		log_info("ddm_status_subscriptions", "created=1 identifier=%s", DDM_STATUS_SUBS_ID);
	db_close(db);
	if (rc < 0) {
		fprintf(stderr, "ardoised: %s: re-sealing secrets: %s\n", srv.db_path,
			ap_strerror(rc));
		rc = 1;
		goto out;
	}
	static const char ca_not_rsa[] =
	    "the CA key in ca.key is not RSA: iPads cannot enrol by SCEP (Apple's client encrypts "
	    "its request to RSA keys only); ardoised --init makes an RSA CA";
	int ca_rsa =
	    EVP_PKEY_get_base_id(X509_get0_pubkey(keystore_ca_cert(srv.ks))) == EVP_PKEY_RSA;
	if (o.check) {
		if (!ca_rsa)
			printf("; warning: %s\n", ca_not_rsa);
		char push_line[600];
		config_dump(&srv.cfg, stdout);
		if (push_check(&srv.cfg, push_line, sizeof(push_line)) < 0) {
			rc = die("%s", push_line);
			goto out;
		}
		if (backup_check_config(&srv.cfg, err, sizeof(err)) < 0) {
			rc = die("backup.recipient: %s", err);
			goto out;
		}
		printf("\n; %s\n", push_line);
		printf("; configuration OK; data dir %s OK (schema version %d)\n", o.data_dir,
		       version);
		rc = 0;
		goto out;
	}
	log_info("starting", "version=%s data_dir=%s schema=%d", ARDOISE_VERSION, o.data_dir,
		 version);
	if (!ca_rsa)
		log_warn("ca_not_rsa", "msg=\"%s\"", ca_not_rsa);
	if ((rc = wire_hooks()) < 0) {
		rc = die("result hooks: %s", ap_strerror(rc));
		goto out;
	}
	/* before any thread counts: the registry and the write transactions'
	 * hook (db/ may not include the daemon, so it calls back) */
	metrics_init((int64_t)time(NULL), ARDOISE_VERSION);
	db_set_tx_hook(metrics_db_tx);
	db_set_lock_wait_hook(metrics_db_lock_wait);
	gdmf_sync_start(&srv); /* the catalogue's last good copy */
	rc = server_run(&srv) < 0 ? 1 : 0;
	api_metrics_end();
out:
	keystore_free(srv.ks);
	return rc;
}
