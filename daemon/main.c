/*
 * main.c - ardoised: command line, --init, start-up checks, run.
 */
#include "ap_err.h"
#include "api_fleet.h"
#include "api_reply.h"
#include "audit_head.h"
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

static const char usage[] =
    "Usage: ardoised --data-dir DIR --init [--hostname NAME]... [--admin NAME]\n"
    "                [--baseline-dir DIR | --no-baseline]\n"
    "       ardoised --data-dir DIR [--config FILE] [--listen ADDR:PORT] [-n]\n"
    "\n"
    "ardoised is the Ardoise fleet-management daemon: it serves the tablets'\n"
    "MDM protocol and the staff API on one TLS port.\n"
    "\n"
    "Options:\n"
    "  -d, --data-dir DIR    where the database, CA and keys live (required)\n"
    "      --init            create DIR's CA, server certificate, secret and audit keys,\n"
    "                        database and a first technician account, print its\n"
    "                        token once as 'token: <value>' (for ardoisectl) and\n"
    "                        the path of its one-time link as 'link: /lien/<value>'\n"
    "                        (open it on the daemon's address within 72 h to\n"
    "                        choose the account's password for the pages), and\n"
    "                        exit; refuses when DIR already holds any of these\n"
    "      --hostname NAME   with --init: extra DNS name or IP address for the\n"
    "                        server certificate (repeatable; localhost and\n"
    "                        127.0.0.1 are always included)\n"
    "      --admin NAME      with --init: name of the first account (default admin)\n"
    "      --baseline-dir DIR  with --init: the security baseline to load and assign\n"
    "                        to the whole fleet, every DIR/*.mobileconfig (default\n"
    "                        " ARDOISE_BASELINE_DIR ")\n"
    "      --no-baseline     with --init: start with no policy at all\n"
    "  -c, --config FILE     INI configuration file (see README, 'Configuration')\n"
    "  -l, --listen A:P      address and port to listen on (default\n"
    "                        127.0.0.1:8443; port 0 picks a free one)\n"
    "  -w, --workers N       event loops (default: one per core)\n"
    "  -n, --check           check the configuration and the data directory,\n"
    "                        print the effective configuration, and exit\n"
    "  -h, --help            this text\n"
    "  -V, --version         print the version\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop accepting, finish requests in flight\n"
    "(bounded by server.drain_timeout_ms), close the database and exit 0.\n"
    "Logs go to standard error as key=value lines.\n";

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
	int check;
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
	static const struct option longopts[] = {
	    {"data-dir", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    {"init", no_argument, NULL, 'I'},
	    {"hostname", required_argument, NULL, 'H'},
	    {"admin", required_argument, NULL, 'A'},
	    {"baseline-dir", required_argument, NULL, 'B'},
	    {"no-baseline", no_argument, NULL, 'N'},
	    {"check", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "d:c:l:w:nhV", longopts, NULL)) != -1) {
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
		case 'H':
			if (o->n_hostnames == MAX_HOSTNAMES)
				return die("at most %d --hostname options", MAX_HOSTNAMES);
			o->hostnames[o->n_hostnames++] = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			puts("ardoised 0.1.0");
			exit(0);
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->data_dir == NULL)
		return die("--data-dir DIR is required (see --help)");
	if (o->baseline_dir && o->no_baseline)
		return die("--baseline-dir and --no-baseline exclude each other");
	return 0;
}

/* Loads the baseline profiles, signed with the new server identity, and
 * assigns them to the fleet. */
static int init_baseline(const struct opts *o, struct keystore *ks, struct db *db, size_t *ret_n)
{
	const char *dir = o->baseline_dir ? o->baseline_dir : ARDOISE_BASELINE_DIR;
	char err[600], detail[64];
	int rc = policy_baseline_load(db, ks, dir, "system", ret_n, err, sizeof(err));
	if (rc < 0)
		return die("baseline: %s (use --baseline-dir DIR or --no-baseline)", err);
	snprintf(detail, sizeof(detail), "{\"profiles\":%zu}", *ret_n);
	if ((rc = db_audit_append(db, "system", "policy.baseline", "fleet", dir, detail)) < 0)
		return die("audit: %s", ap_strerror(rc));
	return 0;
}

static int cmd_init(const struct opts *o)
{
	static const char *const owned[] = {"ca.key",	  "ca.pem",    "server.key", "server.pem",
					    "secret.key", "audit.key", "ardoise.db"};
	const char *names[MAX_HOSTNAMES + 2] = {"localhost", "127.0.0.1"};
	char path[4200], err[512], token[DB_TOKEN_LEN + 1], link[DB_SESSION_ID_LEN + 1];
	struct keystore *ks = NULL;
	int64_t admin_id = 0;
	struct db *db = NULL;
	size_t n = 2;
	int rc;

	if (mkdir(o->data_dir, 0700) < 0 && errno != EEXIST)
		return die("cannot create %s: %s", o->data_dir, strerror(errno));
	if (chmod(o->data_dir, 0700) < 0) /* it may have been made beforehand */
		return die("cannot make %s private: %s", o->data_dir, strerror(errno));
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", o->data_dir, owned[i]);
		if (access(path, F_OK) == 0)
			return die("%s already exists: --init refuses to overwrite an installation",
				   path);
	}
	for (size_t i = 0; i < o->n_hostnames; i++)
		names[n++] = o->hostnames[i];
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
	printf("token: %s\n", token);
	printf("link: /lien/%s\n", link);
	return 0;
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

static int load_config(const struct opts *o, struct config *cfg)
{
	char err[512];
	enum log_level lvl;
	config_defaults(cfg);
	if (o->config && config_load(cfg, o->config, err, sizeof(err)) < 0)
		return die("%s", err);
	if (o->listen && config_set(cfg, "server", "listen", o->listen, err, sizeof(err)) < 0)
		return die("--listen: %s", err);
	if (o->workers && config_set(cfg, "server", "workers", o->workers, err, sizeof(err)) < 0)
		return die("--workers: %s", err);
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
	if (o.init)
		return cmd_init(&o);
	memset(&srv, 0, sizeof(srv));
	if (load_config(&o, &srv.cfg) != 0)
		return 1;
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
	gdmf_sync_start(&srv); /* the catalogue's last good copy */
	rc = server_run(&srv) < 0 ? 1 : 0;
out:
	keystore_free(srv.ks);
	return rc;
}
