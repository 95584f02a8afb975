/* config.c - the table of settings and the inih glue. */
#include "config.h"
#include "ap_err.h"
#include "classhours.h"
#include "mail.h"
#include "schoolyear.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum ctype { C_STR, C_INT, C_ENUM, C_ZONE, C_SPAN };

struct ckey {
	const char *section;
	const char *name;
	enum ctype type;
	size_t off;
	const char *def;
	int64_t min, max;  /* C_INT bounds */
	const char *enums; /* C_ENUM: "a|b|c" */
	int secret;
	/* C_STR: a value's own rule, 0 or why not into err (NULL: any text) */
	int (*check)(const char *v, char *err, size_t cap);
	/* what the key does, for ardoised.conf(5) and the installed ardoised.conf */
	const char *doc;
};

#define S(sec, name, field, def, doc)                                                           \
	{                                                                                       \
		sec, name, C_STR, offsetof(struct config, field), def, 0, 0, NULL, 0, NULL, doc \
	}
#define SECRET(sec, name, field, doc)                                                          \
	{                                                                                      \
		sec, name, C_STR, offsetof(struct config, field), "", 0, 0, NULL, 1, NULL, doc \
	}
#define I(sec, name, field, def, lo, hi, doc)                                                     \
	{                                                                                         \
		sec, name, C_INT, offsetof(struct config, field), def, lo, hi, NULL, 0, NULL, doc \
	}
#define Z(sec, name, field, def, doc)                                                            \
	{                                                                                        \
		sec, name, C_ZONE, offsetof(struct config, field), def, 0, 0, NULL, 0, NULL, doc \
	}
/* a yearly period "MM-DD..MM-DD" (schoolyear.h), kept as text */
#define SPAN(sec, name, field, def, doc)                                                         \
	{                                                                                        \
		sec, name, C_SPAN, offsetof(struct config, field), def, 0, 0, NULL, 0, NULL, doc \
	}
#define E(sec, name, field, def, list, doc)                                                      \
	{                                                                                        \
		sec, name, C_ENUM, offsetof(struct config, field), def, 0, 0, list, 0, NULL, doc \
	}

/* A string with its own rule (a value check). */
#define SC(sec, name, field, def, fn, doc)                                                    \
	{                                                                                     \
		sec, name, C_STR, offsetof(struct config, field), def, 0, 0, NULL, 0, fn, doc \
	}

static int check_address(const char *v, char *err, size_t cap)
{
	if (v[0] == '\0' || mail_address_ok(v))
		return 0;
	snprintf(err, cap, "not an e-mail address name@domain (printable ASCII, no spaces)");
	return AP_EINVAL;
}

/* An https:// URL with a host: what libcurl is asked for, nothing else. */
static int check_https(const char *v, char *err, size_t cap)
{
	size_t n = strlen(v);
	int printable = 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			printable = 0;
	if (strncmp(v, "https://", 8) == 0 && n > 8 && v[8] != '/' && printable)
		return 0;
	snprintf(err, cap, "'%.60s' is not an https:// URL (printable ASCII, no blank)", v);
	return AP_EINVAL;
}

/* A minimum iPadOS version "X.Y" or "X.Y.Z" (each 1-3 digits), or "" for none. */
static int check_min_os(const char *v, char *err, size_t cap)
{
	const char *p = v;
	int parts = 0;
	if (v[0] == '\0')
		return 0;
	for (;;) {
		size_t d = strspn(p, "0123456789");
		if (d == 0 || d > 3)
			break;
		parts++;
		p += d;
		if (*p != '.')
			break;
		p++;
	}
	if (*p == '\0' && parts >= 2 && parts <= 3)
		return 0;
	snprintf(err, cap, "'%.60s' is not a version X.Y or X.Y.Z", v);
	return AP_EINVAL;
}

/* A file read later (a PEM bundle): "" for none, else a readable regular
 * file now, so that a wrong path stops the start rather than each use. */
static int check_readable(const char *v, char *err, size_t cap)
{
	struct stat sb;
	if (v[0] == '\0')
		return 0;
	if (stat(v, &sb) < 0 || access(v, R_OK) < 0) {
		snprintf(err, cap, "'%.200s': %s", v, strerror(errno));
		return AP_EINVAL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, cap, "'%.200s': not a regular file", v);
		return AP_EINVAL;
	}
	return 0;
}

static const struct ckey keys[] = {
    S("server", "listen", listen, "127.0.0.1:8443",
      "Address and port the one TLS port listens on, for the tablets and the staff; port 0 picks a "
      "free one. A département's server listens on 0.0.0.0:443."),
    I("server", "workers", workers, "0", 0, 64,
      "Event loops serving connections; 0 starts one per core."),
    S("server", "hostname", hostname, "localhost",
      "The public name of the server, used in the URLs given to the tablets and in the server "
      "certificate."),
    S("server", "public_url", public_url, "",
      "The https://host[:port] the tablets reach when the server sits behind a name or port of its "
      "own; empty derives it from hostname and listen."),
    Z("server", "timezone", time_zone, "Europe/Paris",
      "The collèges' days and times (Europe/Paris, America/Cayenne, Indian/Reunion...): a zone "
      "file of Debian's tzdata or $TZDIR. An unknown zone stops ardoised."),
    I("server", "max_header_bytes", max_header_bytes, "16384", 1024, 1048576,
      "Largest request head accepted, in bytes; a larger one is refused 431."),
    I("server", "max_body_bytes", max_body_bytes, "8388608", 1024, 268435456,
      "Largest request body accepted from an authenticated request, in bytes (spreadsheet imports "
      "are the largest)."),
    I("server", "header_timeout_ms", header_timeout_ms, "10000", 100, 600000,
      "A request's head, and the TLS handshake, must arrive within this many milliseconds."),
    I("server", "body_timeout_ms", body_timeout_ms, "30000", 100, 3600000,
      "A request's body must arrive within this many milliseconds: a peer that trickles bytes "
      "cannot extend it."),
    I("server", "idle_timeout_ms", idle_timeout_ms, "30000", 100, 3600000,
      "A kept-alive connection with no request, or a client taking none of the answers it "
      "pipelined, is closed after this many milliseconds."),
    I("server", "max_anon_body_bytes", max_anon_body_bytes, "65536", 1024, 268435456,
      "Largest body of a request whose head does not authenticate it (SCEP, enrolment, unknown "
      "routes), in bytes."),
    I("server", "body_budget_bytes", body_budget_bytes, "33554432", 65536, 17179869184,
      "Request bodies in flight in the whole process, in bytes; unauthenticated ones get at most "
      "half. Keep it above max_body_bytes."),
    I("server", "max_connections", max_connections, "20000", 1, 1000000,
      "Open connections per worker; lowered at start, with a warning, when the hard RLIMIT_NOFILE "
      "is too low."),
    I("server", "max_connections_per_ip", max_connections_per_ip, "4096", 0, 1000000,
      "Open connections per client address in the whole process (an IPv6 /64 counts as one); 0 "
      "means no cap. A collège's tablets share one NAT address: keep it well above its largest "
      "wave."),
    I("server", "tls_session_cache", tls_session_cache, "4096", 1, 1000000,
      "TLS sessions kept for resumption, shared by the workers (about 6 KB each)."),
    I("server", "drain_timeout_ms", drain_timeout_ms, "10000", 0, 600000,
      "On SIGTERM, the longest wait in milliseconds for the requests in flight before exiting."),
    I("web", "session_idle_seconds", session_idle_s, "1800", 1, 604800,
      "A session of the pages unused this many seconds ends."),
    I("web", "session_max_seconds", session_max_s, "36000", 1, 2592000,
      "Any session of the pages ends this many seconds after its sign-in, whatever its use."),
    E("log", "level", log_level, "info", "debug|info|warn|error",
      "The least severe log lines written: debug, info, warn or error. Changed by a reload "
      "(SIGHUP)."),
    S("log", "file", log_file, "",
      "Where the log lines go: a file, appended to and created 0600, opened again on SIGHUP "
      "(after logrotate moved it); empty for standard error, which journald reads under "
      "systemd."),
    S("audit", "head_file", audit_head_file, "",
      "Where the audit chain's head is kept outside the database, to detect a truncated log; empty "
      "means DATA_DIR/audit.head."),
    SC("backup", "recipient", backup_recipient, "", check_readable,
       "The operator's X.509 certificate (PEM, RSA or EC key) every backup is encrypted to; its "
       "private key is kept off the server. Empty: no backup can be taken."),
    S("backup", "dir", backup_dir, "",
      "Directory of the daily backups, ardoise-AAAAMMJJ-HHMM.cms (0600), written by the daemon. "
      "Empty: no scheduled backup."),
    I("backup", "keep", backup_keep, "14", 1, 10000,
      "How many of the newest daily backups are kept in backup.dir; older ones are removed."),
    I("backup", "hour", backup_hour, "2", 0, 23,
      "Hour of the day (server.timezone) from which the daily backup is taken, once a day."),
    E("db", "synchronous", db_synchronous, "normal", "normal|full",
      "SQLite's synchronous setting: full loses nothing committed on a power loss, at a cost in "
      "write time; normal may lose the last transactions."),
    S("mdm", "topic", topic, "com.apple.mgmt.External.ardoise",
      "The push topic: the UID of the APNs MDM push certificate."),
    S("mdm", "device_ca", device_ca, "",
      "A PEM file of extra trust anchors for tablet identities issued by another CA; empty means "
      "only the data directory's CA."),
    S("mdm", "organization", organization, "Département",
      "The organisation named in the enrolment profile the tablets show."),
    I("mdm", "queue_max", queue_max, "200", 1, 100000,
      "Commands pending per tablet at most; more are refused."),
    I("mdm", "max_message_bytes", max_message_bytes, "2097152", 4096, 67108864,
      "Largest property list a tablet may send, in bytes."),
    I("mdm", "command_expiry_days", command_expiry_days, "30", 1, 3650,
      "A command a tablet has not acknowledged expires after this many days."),
    I("mdm", "command_retention_days", command_retention_days, "90", 1, 3650,
      "Finished commands are pruned this many days after they finished."),
    I("mdm", "device_cert_days", device_cert_days, "825", 1, 7300,
      "Validity in days of the identity certificate a tablet gets at enrolment (SCEP)."),
    E("geolocation", "approval", geo_approval, "two-person", "two-person|single",
      "Who may locate a lost tablet: two-person needs a second staff member's approval, single "
      "does not."),
    I("geolocation", "expiry_hours", geo_expiry_hours, "72", 1, 720,
      "A location request not approved within this many hours expires."),
    I("geolocation", "retention_days", geo_retention_days, "30", 1, 365,
      "A tablet's reported location is deleted after this many days."),
    S("geolocation", "message", geo_message,
      "Cette tablette appartient au Département. Merci de la rapporter au collège.",
      "The message shown on a tablet put in Lost Mode."),
    S("geolocation", "phone", geo_phone, "",
      "The phone number shown on a tablet put in Lost Mode; empty shows none."),
    S("push", "url", push_url, "https://api.push.apple.com:443",
      "The APNs server: https://host[:port], or production or development."),
    S("push", "cert", push_cert, "",
      "The MDM push certificate: PEM (with its chain, maybe its key) or PKCS#12; empty turns push "
      "off."),
    S("push", "key", push_key, "",
      "The push certificate's PEM private key (mode 0600, or ardoised refuses to start); empty "
      "when cert holds it."),
    SECRET("push", "passphrase", push_passphrase,
	   "The passphrase of an encrypted key or PKCS#12 file (secret: ardoised -n shows (set))."),
    S("push", "ca", push_ca, "",
      "An extra trust anchor (PEM) for the APNs server, for a local stand-in only."),
    I("push", "coalesce_ms", push_coalesce_ms, "500", 0, 60000,
      "A queued command is pushed this many milliseconds later: one push per tablet per window."),
    I("push", "max_streams", push_max_streams, "1000", 1, 10000,
      "Concurrent HTTP/2 streams to APNs at most (APNs' own settings may lower it)."),
    I("push", "queue_size", push_queue_size, "200000", 1024, 10000000,
      "Tablets waiting for a push at most; beyond, pushes are dropped and counted, and the re-push "
      "job catches up."),
    I("push", "timeout_ms", push_timeout_ms, "10000", 100, 600000,
      "Connect and TLS handshake time, and the longest wait for an answer, in milliseconds."),
    I("push", "retries", push_retries, "5", 0, 20,
      "Attempts after the first on 429, 5xx or a lost connection."),
    I("push", "retry_base_ms", push_retry_base_ms, "1000", 10, 600000,
      "The first retry waits this many milliseconds, doubled each attempt up to retry_max_ms."),
    I("push", "retry_max_ms", push_retry_max_ms, "60000", 10, 3600000,
      "The longest wait between retries, in milliseconds."),
    I("push", "reconnect_min_ms", push_reconnect_min_ms, "1000", 10, 600000,
      "The wait after a failed connection, in milliseconds, doubled up to reconnect_max_ms."),
    I("push", "reconnect_max_ms", push_reconnect_max_ms, "60000", 10, 3600000,
      "The longest wait before reconnecting, in milliseconds."),
    I("push", "repush_check_s", push_repush_check_s, "60", 1, 86400,
      "Period in seconds of the re-push job, which pushes again tablets with pending commands not "
      "seen since their last push."),
    I("push", "repush_min_s", push_repush_min_s, "900", 1, 86400,
      "A silent tablet is pushed again after this many seconds, then with doubling gaps up to "
      "repush_max_s."),
    I("push", "repush_max_s", push_repush_max_s, "21600", 1, 604800,
      "The longest gap in seconds between re-pushes of a silent tablet."),
    I("push", "repush_batch", push_repush_batch, "5000", 1, 1000000,
      "Tablets re-pushed per run of the job at most."),
    I("push", "expiry_warn_days", push_expiry_warn_days, "30", 1, 365,
      "Status and /healthz warn this many days before the push certificate expires."),
    I("push", "drain_ms", push_drain_ms, "5000", 0, 600000,
      "On SIGTERM, the longest wait in milliseconds for pushes in flight."),
    I("privacy", "leaver_retention_days", leaver_retention_days, "365", 1, 36500,
      "A pupil or teacher who left is pseudonymised this many days after their last day."),
    SC("mail", "smtp_url", mail_smtp_url, "", mail_url_check,
       "The relay of the daily notice: smtp://host[:port] (STARTTLS when offered, required with a "
       "username) or smtps://host[:port]; empty sends no notice."),
    SC("mail", "from", mail_from, "", check_address,
       "The notice's sender address; empty means ardoise@ followed by hostname."),
    S("mail", "username", mail_username, "",
      "The account to sign in to the relay; empty does not sign in."),
    SECRET("mail", "password", mail_password,
	   "The password to sign in to the relay (secret: ardoised -n shows (set))."),
    I("mail", "hour", mail_hour, "7", 0, 23, "The local hour of the daily notice's run."),
    SPAN("loans", "summer", loans_summer, "07-05..08-31",
	 "The summer deposit as MM-DD..MM-DD: no home-use loan starts then; empty means none."),
    I("loans", "teacher_max", loans_teacher_max, "1", 0, 1000,
      "Tablets a teacher may hold at once; 0 means no limit (a pupil holds one)."),
    SC("updates", "catalogue_url", updates_catalogue_url, "https://gdmf.apple.com/v2/pmv",
       check_https, "Apple's software update catalogue (https:// only)."),
    SC("updates", "catalogue_ca", updates_catalogue_ca, "", check_readable,
       "A PEM file of extra trust anchors for the catalogue, added to the system's; empty means "
       "the system's only."),
    I("updates", "catalogue_refresh_hours", updates_refresh_hours, "24", 0, 720,
      "The catalogue is fetched again when the kept copy is this many hours old; 0 fetches it only "
      "when asked."),
    SC("updates", "allowed_windows", updates_allowed_windows,
       "mon-fri 18:00-07:30; mon 00:00-07:30; wed 12:00-24:00; sat-sun 00:00-24:00",
       classhours_check,
       "When tablets may install an update, on the local clock: windows DAYS HH:MM-HH:MM separated "
       "by ';', DAYS mon..sun, a range mon-fri or a list mon,wed; empty means at any time."),
    SC("ade", "url", ade_url, "https://mdmenrollment.apple.com", check_https,
       "Apple's Automated Device Enrolment API (https:// only)."),
    SC("ade", "ca", ade_ca, "", check_readable,
       "A PEM file of extra trust anchors for the ADE API, beside the system's; empty means none."),
    SC("ade", "min_os", ade_min_os, "", check_min_os,
       "X.Y or X.Y.Z: tablets on an older iPadOS are refused at enrolment (told to update when "
       "they can be); empty means none."),
    SC("ade", "machineinfo_anchor", ade_machineinfo_anchor, "", check_readable,
       "A PEM file: the root a tablet's signed MachineInfo must chain to (Apple Inc. Root CA in "
       "production); empty refuses every enrolment through ADE."),
    I("ade", "await_release_minutes", ade_await_release_minutes, "30", 1, 1440,
      "A tablet awaiting configuration with nothing moving this many minutes is released."),
    I("ade", "sync_minutes", ade_sync_minutes, "60", 5, 1440,
      "With a server token, the tablets are synced with Apple School Manager this often, in "
      "minutes."),
    SC("vpp", "url", vpp_url, "https://vpp.itunes.apple.com/mdm/v2", check_https,
       "The root of Apple's Apps and Books API (https:// only)."),
    SC("vpp", "ca", vpp_ca, "", check_readable,
       "A PEM file of extra trust anchors for the Apps and Books API; empty means the system's "
       "only."),
    I("vpp", "sync_minutes", vpp_sync_minutes, "10", 0, 1440,
      "The licence run happens this often, in minutes; 0 runs it only when asked or after a "
      "change."),
    E("metrics", "access", metrics_access, "loopback", "loopback|account|off",
      "Who may read GET /metrics (Prometheus text format): loopback answers peers on "
      "127.0.0.0/8 or ::1 without a token, account asks for the bearer token of a "
      "monitoring account or a technician, off answers 404."),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int enum_has(const char *list, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = list; *p;) {
		size_t m = strcspn(p, "|");
		if (m == n && strncmp(p, v, n) == 0)
			return 1;
		p += m;
		if (*p == '|')
			p++;
	}
	return 0;
}

int config_zone_check(const char *name, char *err, size_t cap)
{
	const char *dir = getenv("TZDIR");
	char path[CONFIG_STR + 512], magic[4];
	struct stat st;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
		strlen(name)) {
		snprintf(err, cap,
			 "server.timezone: '%s' is not a time zone name (like Europe/Paris)", name);
		return AP_ECONFIG;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
	int ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	if (f)
		fclose(f);
	if (!ok) {
		snprintf(err, cap,
			 "server.timezone: unknown time zone '%s' (no zone file %s; names are "
			 "like Europe/Paris or America/Cayenne, from Debian's tzdata)",
			 name, path);
		return AP_ECONFIG;
	}
	return 0;
}

static int apply(struct config *c, const struct ckey *k, const char *v, char *err, size_t cap)
{
	char *field = (char *)c + k->off;
	switch (k->type) {
	case C_STR:
		if (strlen(v) >= CONFIG_STR) {
			snprintf(err, cap, "%s.%s: longer than %d bytes", k->section, k->name,
				 CONFIG_STR - 1);
			return AP_ECONFIG;
		}
		if (k->check) {
			char why[200];
			if (k->check(v, why, sizeof(why)) < 0) {
				snprintf(err, cap, "%s.%s: %s", k->section, k->name, why);
				return AP_ECONFIG;
			}
		}
		snprintf(field, CONFIG_STR, "%s", v);
		return 0;
	case C_ZONE:
		if (strlen(v) >= CONFIG_STR || config_zone_check(v, err, cap) < 0) {
			if (strlen(v) >= CONFIG_STR)
				snprintf(err, cap, "%s.%s: longer than %d bytes", k->section,
					 k->name, CONFIG_STR - 1);
			return AP_ECONFIG;
		}
		snprintf(field, CONFIG_STR, "%s", v);
		return 0;
	case C_SPAN: {
		const char *why = "";
		if (strlen(v) >= CONFIG_STR || schoolyear_span_check(v, &why) < 0) {
			snprintf(err, cap, "%s.%s: '%.40s': %s", k->section, k->name, v, why);
			return AP_ECONFIG;
		}
		snprintf(field, CONFIG_STR, "%s", v);
		return 0;
	}
	case C_ENUM:
		if (!enum_has(k->enums, v)) {
			snprintf(err, cap, "%s.%s: '%s' is not one of %s", k->section, k->name, v,
				 k->enums);
			return AP_ECONFIG;
		}
		snprintf(field, CONFIG_STR, "%s", v);
		return 0;
	case C_INT: {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno || end == v || *end != '\0') {
			snprintf(err, cap, "%s.%s: '%s' is not a whole number", k->section, k->name,
				 v);
			return AP_ECONFIG;
		}
		if (n < k->min || n > k->max) {
			snprintf(err, cap, "%s.%s: %lld is out of range %lld..%lld", k->section,
				 k->name, n, (long long)k->min, (long long)k->max);
			return AP_ECONFIG;
		}
		*(int64_t *)(void *)field = n;
		return 0;
	}
	}
	return AP_EINTERNAL;
}

void config_defaults(struct config *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (apply(c, &keys[i], keys[i].def, err, sizeof(err)) < 0 && keys[i].type == C_ZONE)
			/* kept: config_zone_check() at start says the zone is missing */
			snprintf((char *)c + keys[i].off, CONFIG_STR, "%s", keys[i].def);
}

int config_set(struct config *c, const char *section, const char *key, const char *value, char *err,
	       size_t errcap)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, key) == 0)
			return apply(c, &keys[i], value, err, errcap);
	snprintf(err, errcap, "unknown key '%s' in section [%s]", key, section);
	return AP_ECONFIG;
}

struct load_ctx {
	struct config *c;
	FILE *f;
	int line;     /* lines handed to inih so far: its line numbers */
	int err_line; /* first line rejected here, 0 when none */
	char msg[256];
};

static void note_error(struct load_ctx *lc, const char *msg)
{
	if (lc->err_line == 0) {
		lc->err_line = lc->line;
		snprintf(lc->msg, sizeof(lc->msg), "%s", msg);
	}
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	char msg[256];
	if (config_set(lc->c, section, name, value, msg, sizeof(msg)) == 0)
		return 1;
	note_error(lc, msg);
	return 0;
}

/* fgets() for inih, one call per line.  Leading blanks are dropped, so an
 * indented line is a key of its own (or a syntax error), never a silent
 * continuation of the previous value; a line longer than inih's buffer is
 * an error here rather than two lines there. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	if (fgets(str, num, lc->f) == NULL)
		return NULL;
	lc->line++;
	size_t n = strlen(str);
	if (n > 0 && str[n - 1] != '\n') {
		int ch = fgetc(lc->f);
		if (ch != EOF && ch != '\n') {
			char msg[64];
			while ((ch = fgetc(lc->f)) != EOF && ch != '\n')
				;
			snprintf(msg, sizeof(msg), "line longer than %d bytes", num - 2);
			note_error(lc, msg);
		}
	}
	size_t skip = strspn(str, " \t");
	memmove(str, str + skip, n - skip + 1);
	/* inih cuts a value at a ';' after a blank (an inline comment): in
	 * [updates] allowed_windows that would drop windows in silence */
	if (strncmp(str, "allowed_windows", 15) == 0 && strchr(" \t=", str[15]) &&
	    (strstr(str, " ;") || strstr(str, "\t;")))
		note_error(lc, "updates.allowed_windows: a blank before ';' starts a comment here, "
			       "which would drop the windows after it: write ';' right after the "
			       "hours (mon-fri 18:00-07:30; wed 12:00-24:00)");
	return str;
}

int config_load(struct config *c, const char *path, char *err, size_t errcap)
{
	struct load_ctx lc = {c, NULL, 0, 0, ""};
	lc.f = fopen(path, "r");
	if (lc.f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_ECONFIG;
	}
	int line = ini_parse_stream(read_line, &lc, on_key, &lc);
	fclose(lc.f);
	if (lc.err_line && (line <= 0 || lc.err_line <= line)) {
		snprintf(err, errcap, "%s:%d: %s", path, lc.err_line, lc.msg);
		return AP_ECONFIG;
	}
	if (line != 0) {
		snprintf(err, errcap, "%s:%d: %s", path, line > 0 ? line : 0,
			 line > 0 ? "syntax error (expected [section] or key = value)"
				  : "cannot parse (out of memory)");
		return AP_ECONFIG;
	}
	return 0;
}

/* What a reload applies while the daemon runs (server.c does it). */
static const char *const live_keys[] = {"log.level",	   "log.file", "push.cert",    "push.key",
					"push.passphrase", "push.ca",  "mdm.device_ca"};

static int is_live(const char *key)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (strcmp(live_keys[i], key) == 0)
			return 1;
	return 0;
}

void config_reload_merge(const struct config *cur, struct config *next,
			 void (*ignored)(void *arg, const char *key), void *arg, char *changed,
			 size_t cap)
{
	size_t n = 0;
	changed[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		const char *a = (const char *)cur + k->off;
		char *b = (char *)next + k->off;
		size_t size = k->type == C_INT ? sizeof(int64_t) : CONFIG_STR;
		char key[80];
		if (k->type == C_INT ? memcmp(a, b, size) == 0 : strcmp(a, b) == 0)
			continue;
		snprintf(key, sizeof(key), "%s.%s", k->section, k->name);
		if (!is_live(key)) {
			ignored(arg, key);
			memcpy(b, a, size);
		} else if (n < cap) {
			n += (size_t)snprintf(changed + n, cap - n, "%s%s", n ? "," : "", key);
		}
	}
}

void config_dump(const struct config *c, void *file)
{
	FILE *f = file;
	const char *sec = "";
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		const char *field = (const char *)c + k->off;
		if (strcmp(sec, k->section) != 0) {
			fprintf(f, "%s[%s]\n", i ? "\n" : "", k->section);
			sec = k->section;
		}
		if (k->type == C_INT)
			fprintf(f, "%s = %lld\n", k->name,
				(long long)*(const int64_t *)(const void *)field);
		else if (k->secret)
			fprintf(f, "%s = %s\n", k->name, field[0] ? "(set)" : "");
		else
			fprintf(f, "%s = %s\n", k->name, field);
	}
}

void config_roff(void *file, const char *s)
{
	FILE *f = file;
	for (int line_start = 1; *s; s++) {
		if (line_start && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		line_start = 0;
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n') {
			fputs("\n.br\n", f);
			line_start = 1;
		} else
			fputc(*s, f);
	}
}

/* What the key takes, in words: "a whole number from 0 to 64". */
static void describe_type(const struct ckey *k, char *out, size_t cap)
{
	switch (k->type) {
	case C_INT:
		snprintf(out, cap, "a whole number from %lld to %lld", (long long)k->min,
			 (long long)k->max);
		return;
	case C_ENUM: {
		size_t n = (size_t)snprintf(out, cap, "one of ");
		for (const char *p = k->enums; *p && n < cap;) {
			size_t m = strcspn(p, "|");
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s", p == k->enums ? "" : ", ",
					      (int)m, p);
			p += m + (p[m] == '|');
		}
		return;
	}
	case C_ZONE:
		snprintf(out, cap, "a time zone name");
		return;
	case C_SPAN:
		snprintf(out, cap, "a yearly period MM-DD..MM-DD, or empty");
		return;
	case C_STR:
		snprintf(out, cap, "%s", k->secret ? "text, a secret" : "text");
		return;
	}
}

void config_man(void *file, const char *version, const char *conf_path)
{
	FILE *f = file;
	char type[300];
	const char *sec = "";
	fprintf(f, ".TH ARDOISED.CONF 5 \"\" \"Ardoise %s\" \"File formats\"\n.nh\n.ad l\n",
		version);
	fputs(".SH NAME\nardoised.conf \\- configuration file of ardoised, the Ardoise daemon\n",
	      f);
	fputs(".SH SYNOPSIS\n", f);
	config_roff(f, conf_path);
	fputs("\n.SH DESCRIPTION\n"
	      "\\fBardoised\\fR(8) reads this INI file when started with \\fB\\-\\-config\\fR "
	      "\\fIFILE\\fR.\nLines are \\fBkey = value\\fR under a \\fB[section]\\fR header; "
	      "a line starting with \\fB;\\fR or \\fB#\\fR, and the rest of a line after a blank "
	      "and \\fB;\\fR, are comments.\n"
	      "A key left out keeps its default.\n"
	      "An unknown section or key, or a value out of its bounds, stops ardoised with the "
	      "file and line in the message; \\fBardoised \\-n\\fR checks the file and prints "
	      "the effective configuration.\n"
	      ".PP\nThis page is generated from the table of keys ardoised reads "
	      "(daemon/core/config.c), as is the commented file installed as ",
	      f);
	config_roff(f, conf_path);
	fputs(".\n", f);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		if (strcmp(sec, k->section) != 0) {
			fprintf(f, ".SH \"[%s]\"\n", k->section);
			sec = k->section;
		}
		fputs(".TP\n\\fB", f);
		config_roff(f, k->name);
		fputs("\\fR\n", f);
		config_roff(f, k->doc);
		describe_type(k, type, sizeof(type));
		fputs("\n.br\nValue: ", f);
		config_roff(f, type);
		fputs(". Default: ", f);
		if (k->def[0]) {
			fputs("\\fB", f);
			config_roff(f, k->def);
			fputs("\\fR", f);
		} else {
			fputs("empty", f);
		}
		fputs(".\n", f);
	}
	fputs(".SH \"SEE ALSO\"\n\\fBardoised\\fR(8), \\fBardoisectl\\fR(1)\n", f);
}

/* Words of s, wrapped to 78 columns, each line starting with "# ". */
static void comment_wrapped(FILE *f, const char *s)
{
	size_t col = 0;
	while (*s) {
		size_t n = strcspn(s, " ");
		if (col && col + 1 + n > 78) {
			fputc('\n', f);
			col = 0;
		}
		col += (size_t)fprintf(f, "%s%.*s", col ? " " : "# ", (int)n, s);
		s += n;
		s += strspn(s, " ");
	}
	if (col)
		fputc('\n', f);
}

void config_sample(void *file, const char *const *set)
{
	FILE *f = file;
	char type[300];
	const char *sec = "";
	fputs("# ardoised.conf - the configuration of ardoised (see ardoised.conf(5)).\n"
	      "# Every key is shown commented out with its default and what it does;\n"
	      "# remove the '# ' before a key to change it, then 'systemctl reload ardoised'\n"
	      "# for what can be reloaded, or 'systemctl restart ardoised'.\n"
	      "# 'ardoised -n --config FILE --data-dir DIR' checks this file.\n",
	      f);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		const char *value = NULL;
		for (size_t s = 0; set && set[s]; s += 2)
			if (strncmp(set[s], k->section, strlen(k->section)) == 0 &&
			    set[s][strlen(k->section)] == '.' &&
			    strcmp(set[s] + strlen(k->section) + 1, k->name) == 0)
				value = set[s + 1];
		if (strcmp(sec, k->section) != 0) {
			fprintf(f, "\n[%s]\n", k->section);
			sec = k->section;
		}
		describe_type(k, type, sizeof(type));
		fputc('\n', f);
		comment_wrapped(f, k->doc);
		fprintf(f, "# (%s)\n", type);
		if (value)
			fprintf(f, "%s = %s\n", k->name, value);
		else
			fprintf(f, "# %s =%s%s\n", k->name, k->def[0] ? " " : "", k->def);
	}
}
