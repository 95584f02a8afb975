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
    S("server", "listen", listen, "127.0.0.1:8443", ""),
    I("server", "workers", workers, "0", 0, 64, ""),
    S("server", "hostname", hostname, "localhost", ""),
    S("server", "public_url", public_url, "", ""),
    Z("server", "timezone", time_zone, "Europe/Paris", ""),
    I("server", "max_header_bytes", max_header_bytes, "16384", 1024, 1048576, ""),
    I("server", "max_body_bytes", max_body_bytes, "8388608", 1024, 268435456, ""),
    I("server", "header_timeout_ms", header_timeout_ms, "10000", 100, 600000, ""),
    I("server", "body_timeout_ms", body_timeout_ms, "30000", 100, 3600000, ""),
    I("server", "idle_timeout_ms", idle_timeout_ms, "30000", 100, 3600000, ""),
    I("server", "max_anon_body_bytes", max_anon_body_bytes, "65536", 1024, 268435456, ""),
    I("server", "body_budget_bytes", body_budget_bytes, "33554432", 65536, 17179869184, ""),
    I("server", "max_connections", max_connections, "20000", 1, 1000000, ""),
    I("server", "max_connections_per_ip", max_connections_per_ip, "4096", 0, 1000000, ""),
    I("server", "tls_session_cache", tls_session_cache, "4096", 1, 1000000, ""),
    I("server", "drain_timeout_ms", drain_timeout_ms, "10000", 0, 600000, ""),
    I("web", "session_idle_seconds", session_idle_s, "1800", 1, 604800, ""),
    I("web", "session_max_seconds", session_max_s, "36000", 1, 2592000, ""),
    E("log", "level", log_level, "info", "debug|info|warn|error", ""),
    S("audit", "head_file", audit_head_file, "", ""),
    E("db", "synchronous", db_synchronous, "normal", "normal|full", ""),
    S("mdm", "topic", topic, "com.apple.mgmt.External.ardoise", ""),
    S("mdm", "device_ca", device_ca, "", ""),
    S("mdm", "organization", organization, "Département", ""),
    I("mdm", "queue_max", queue_max, "200", 1, 100000, ""),
    I("mdm", "max_message_bytes", max_message_bytes, "2097152", 4096, 67108864, ""),
    I("mdm", "command_expiry_days", command_expiry_days, "30", 1, 3650, ""),
    I("mdm", "command_retention_days", command_retention_days, "90", 1, 3650, ""),
    I("mdm", "device_cert_days", device_cert_days, "825", 1, 7300, ""),
    E("geolocation", "approval", geo_approval, "two-person", "two-person|single", ""),
    I("geolocation", "expiry_hours", geo_expiry_hours, "72", 1, 720, ""),
    I("geolocation", "retention_days", geo_retention_days, "30", 1, 365, ""),
    S("geolocation", "message", geo_message,
      "Cette tablette appartient au Département. Merci de la rapporter au collège.", ""),
    S("geolocation", "phone", geo_phone, "", ""),
    S("push", "url", push_url, "https://api.push.apple.com:443", ""),
    S("push", "cert", push_cert, "", ""),
    S("push", "key", push_key, "", ""),
    SECRET("push", "passphrase", push_passphrase, ""),
    S("push", "ca", push_ca, "", ""),
    I("push", "coalesce_ms", push_coalesce_ms, "500", 0, 60000, ""),
    I("push", "max_streams", push_max_streams, "1000", 1, 10000, ""),
    I("push", "queue_size", push_queue_size, "200000", 1024, 10000000, ""),
    I("push", "timeout_ms", push_timeout_ms, "10000", 100, 600000, ""),
    I("push", "retries", push_retries, "5", 0, 20, ""),
    I("push", "retry_base_ms", push_retry_base_ms, "1000", 10, 600000, ""),
    I("push", "retry_max_ms", push_retry_max_ms, "60000", 10, 3600000, ""),
    I("push", "reconnect_min_ms", push_reconnect_min_ms, "1000", 10, 600000, ""),
    I("push", "reconnect_max_ms", push_reconnect_max_ms, "60000", 10, 3600000, ""),
    I("push", "repush_check_s", push_repush_check_s, "60", 1, 86400, ""),
    I("push", "repush_min_s", push_repush_min_s, "900", 1, 86400, ""),
    I("push", "repush_max_s", push_repush_max_s, "21600", 1, 604800, ""),
    I("push", "repush_batch", push_repush_batch, "5000", 1, 1000000, ""),
    I("push", "expiry_warn_days", push_expiry_warn_days, "30", 1, 365, ""),
    I("push", "drain_ms", push_drain_ms, "5000", 0, 600000, ""),
    I("privacy", "leaver_retention_days", leaver_retention_days, "365", 1, 36500, ""),
    SC("mail", "smtp_url", mail_smtp_url, "", mail_url_check, ""),
    SC("mail", "from", mail_from, "", check_address, ""),
    S("mail", "username", mail_username, "", ""),
    SECRET("mail", "password", mail_password, ""),
    I("mail", "hour", mail_hour, "7", 0, 23, ""),
    SPAN("loans", "summer", loans_summer, "07-05..08-31", ""),
    I("loans", "teacher_max", loans_teacher_max, "1", 0, 1000, ""),
    SC("updates", "catalogue_url", updates_catalogue_url, "https://gdmf.apple.com/v2/pmv",
       check_https, ""),
    SC("updates", "catalogue_ca", updates_catalogue_ca, "", check_readable, ""),
    I("updates", "catalogue_refresh_hours", updates_refresh_hours, "24", 0, 720, ""),
    SC("updates", "allowed_windows", updates_allowed_windows,
       "mon-fri 18:00-07:30; mon 00:00-07:30; wed 12:00-24:00; sat-sun 00:00-24:00",
       classhours_check, ""),
    SC("ade", "url", ade_url, "https://mdmenrollment.apple.com", check_https, ""),
    SC("ade", "ca", ade_ca, "", check_readable, ""),
    SC("ade", "min_os", ade_min_os, "", check_min_os, ""),
    SC("ade", "machineinfo_anchor", ade_machineinfo_anchor, "", check_readable, ""),
    I("ade", "await_release_minutes", ade_await_release_minutes, "30", 1, 1440, ""),
    I("ade", "sync_minutes", ade_sync_minutes, "60", 5, 1440, ""),
    SC("vpp", "url", vpp_url, "https://vpp.itunes.apple.com/mdm/v2", check_https, ""),
    SC("vpp", "ca", vpp_ca, "", check_readable, ""),
    I("vpp", "sync_minutes", vpp_sync_minutes, "10", 0, 1440, ""),
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
