/* Unit tests for daemon/core/config.c: the table of settings and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "config.h"
#include "unit.h"

struct fixture {
	char dir[4096];
	char err[512];
	struct config c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	config_defaults(&f->c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* Loads text as a config file; returns the result, error text in f->err. */
static int load(struct fixture *f, const char *text)
{
	const char *path = unit_write(f->dir, "ardoised.conf", text);
	f->err[0] = '\0';
	return config_load(&f->c, path, f->err, sizeof(f->err));
}

/* The error names the file and the line, then says what is wrong. */
static void expect_error(struct fixture *f, const char *text, int line, const char *what)
{
	char want[4300];
	assert_int_equal(load(f, text), AP_ECONFIG);
	snprintf(want, sizeof(want), "%s/ardoised.conf:%d: ", f->dir, line);
	if (strncmp(f->err, want, strlen(want)) != 0)
		fail_msg("error should start with '%s': '%s'", want, f->err);
	if (strstr(f->err, what) == NULL)
		fail_msg("error should mention '%s': '%s'", what, f->err);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config *c = &f->c;
	assert_string_equal(c->listen, "127.0.0.1:8443");
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->max_header_bytes, 16384);
	assert_int_equal(c->max_body_bytes, 8388608);
	assert_int_equal(c->header_timeout_ms, 10000);
	assert_int_equal(c->body_timeout_ms, 30000);
	assert_int_equal(c->idle_timeout_ms, 30000);
	assert_int_equal(c->drain_timeout_ms, 10000);
	assert_true(c->max_connections > 1000);
	assert_int_equal(c->max_anon_body_bytes, 65536);
	assert_int_equal(c->body_budget_bytes, 33554432);
	assert_int_equal(c->max_connections_per_ip, 4096);
	assert_string_equal(c->db_synchronous, "normal");
	assert_string_equal(c->log_level, "info");
	assert_string_equal(c->geo_approval, "two-person");
	assert_int_equal(c->queue_max, 200);
	assert_string_equal(c->device_ca, "");
	assert_string_equal(c->push_passphrase, "");
	assert_int_equal(c->session_idle_s, 1800); /* 30 min */
	assert_int_equal(c->session_max_s, 36000); /* 10 h */
}

static void test_load_file(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, "; Ardoise\n"
				 "# comment\n"
				 "[server]\n"
				 "listen = 0.0.0.0:443\n"
				 "header_timeout_ms=500\n"
				 "  max_body_bytes  =  4096  \n"
				 "\n"
				 "[log]\n"
				 "level = debug\n"
				 "[geolocation]\n"
				 "approval = single\n"
				 "message = Tablette du Département : merci de la rapporter.\n"
				 "[push]\n"
				 "passphrase = s3cret\n"),
			 0);
	assert_string_equal(f->err, "");
	assert_string_equal(f->c.listen, "0.0.0.0:443");
	assert_int_equal(f->c.header_timeout_ms, 500);
	assert_int_equal(f->c.max_body_bytes, 4096);
	assert_int_equal(f->c.body_timeout_ms, 30000); /* untouched keys keep defaults */
	assert_string_equal(f->c.log_level, "debug");
	assert_string_equal(f->c.geo_approval, "single");
	assert_string_equal(f->c.geo_message, "Tablette du Département : merci de la rapporter.");
	assert_string_equal(f->c.push_passphrase, "s3cret");
}

static void test_empty_file(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(load(f, ""), 0);
	assert_string_equal(f->c.listen, "127.0.0.1:8443");
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char path[4200];
	snprintf(path, sizeof(path), "%s/nope.conf", f->dir);
	assert_int_equal(config_load(&f->c, path, f->err, sizeof(f->err)), AP_ECONFIG);
	assert_non_null(strstr(f->err, path));
}

static void test_unknown_key(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[server]\nlisten = 127.0.0.1:1\nlistne = x\n", 3, "listne");
}

static void test_unknown_section(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[server]\nworkers = 1\n\n[serveur]\nworkers = 2\n", 5, "serveur");
}

static void test_key_outside_section(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "workers = 2\n", 1, "workers");
}

static void test_out_of_range(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[server]\nheader_timeout_ms = 99\n", 2, "100..600000");
	expect_error(f, "[server]\nmax_header_bytes = 1048577\n", 2, "out of range");
	expect_error(f, "[server]\nworkers = -1\n", 2, "out of range");
	expect_error(f, "[mdm]\nqueue_max = 0\n", 2, "queue_max");
	expect_error(f, "[web]\nsession_idle_seconds = 0\n", 2, "session_idle_seconds");
	expect_error(f, "[web]\nsession_max_seconds = 2592001\n", 2, "session_max_seconds");
	/* the bounds themselves are accepted */
	assert_int_equal(load(f, "[server]\nheader_timeout_ms = 100\nworkers = 64\n"), 0);
	assert_int_equal(f->c.header_timeout_ms, 100);
	assert_int_equal(f->c.workers, 64);
}

static void test_bad_enum(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[log]\nlevel = verbose\n", 2, "debug|info|warn|error");
	expect_error(f, "[geolocation]\napproval = none\n", 2, "two-person|single");
	expect_error(f, "[db]\nsynchronous = off\n", 2, "normal|full");
	expect_error(f, "[log]\nlevel = INFO\n", 2, "INFO");
	expect_error(f, "[log]\nlevel = inf\n", 2, "inf");
}

/* [server] timezone: a zone file of the system, else file:line and why. */
static void test_timezone(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(f->c.time_zone, "Europe/Paris");
	assert_int_equal(load(f, "[server]\ntimezone = America/Cayenne\n"), 0);
	assert_string_equal(f->c.time_zone, "America/Cayenne");
	expect_error(f, "[server]\ntimezone = Europe/Pariss\n", 2,
		     "unknown time zone 'Europe/Pariss'");
	expect_error(f, "[server]\ntimezone = Europe\n", 2,
		     "unknown time zone 'Europe'"); /* a folder */
	expect_error(f, "[server]\ntimezone = ../../../etc/passwd\n", 2, "not a time zone name");
	expect_error(f, "[server]\ntimezone = Europe/../Europe/Paris\n", 2, "not a time zone name");
	expect_error(f, "[server]\ntimezone = /usr/share/zoneinfo/UTC\n", 2,
		     "not a time zone name");
	expect_error(f, "[server]\ntimezone = Paris France\n", 2, "not a time zone name");
	expect_error(f, "[server]\ntimezone =\n", 2, "not a time zone name");
	expect_error(f, "[server]\ntimezone = zone.tab\n", 2, "not a time zone name");
	assert_string_equal(f->c.time_zone, "America/Cayenne"); /* unchanged by the errors */
	/* TZDIR is where the C library looks: the check looks there too */
	setenv("TZDIR", f->dir, 1);
	assert_int_equal(config_zone_check("Europe/Paris", f->err, sizeof(f->err)), AP_ECONFIG);
	unit_write(f->dir, "Fake", "TZif2 not really");
	assert_int_equal(config_zone_check("Fake", f->err, sizeof(f->err)), 0);
	unit_write(f->dir, "NotZone", "hello");
	assert_int_equal(config_zone_check("NotZone", f->err, sizeof(f->err)), AP_ECONFIG);
	unsetenv("TZDIR");
	assert_int_equal(config_zone_check("Pacific/Noumea", f->err, sizeof(f->err)), 0);
}

/* [loans] summer: a yearly period MM-DD..MM-DD, checked at load. */
static void test_summer_span(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(f->c.loans_summer, "07-05..08-31");
	assert_int_equal(f->c.loans_teacher_max, 1);
	assert_int_equal(load(f, "[loans]\nsummer = 06-30..08-25\nteacher_max = 0\n"), 0);
	assert_string_equal(f->c.loans_summer, "06-30..08-25");
	assert_int_equal(f->c.loans_teacher_max, 0);
	assert_int_equal(load(f, "[loans]\nsummer =\n"), 0);
	assert_string_equal(f->c.loans_summer, "");
	expect_error(f, "[loans]\nsummer = 13-01..08-31\n", 2, "loans.summer: '13-01..08-31'");
	expect_error(f, "[loans]\nsummer = 07-05\n", 2, "expected MM-DD..MM-DD");
	expect_error(f, "[loans]\n\nsummer = 08-31..07-05\n", 3, "comes after the last");
	expect_error(f, "[loans]\nteacher_max = -1\n", 2, "out of range");
}

/* [updates]: the catalogue's URL (https only), its CA, the refresh, the
 * windows outside class hours, each refused with file:line. */
static void test_updates(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(f->c.updates_catalogue_url, "https://gdmf.apple.com/v2/pmv");
	assert_string_equal(f->c.updates_catalogue_ca, "");
	assert_int_equal(f->c.updates_refresh_hours, 24);
	assert_string_equal(f->c.updates_allowed_windows,
			    "mon-fri 18:00-07:30; mon 00:00-07:30; wed 12:00-24:00; "
			    "sat-sun 00:00-24:00");
	char ca[4200], text2[4400];
	snprintf(ca, sizeof(ca), "%s",
		 unit_write(f->dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n"));
	snprintf(text2, sizeof(text2), "[updates]\ncatalogue_ca = %s\n", ca);
	assert_int_equal(load(f, text2), 0);
	assert_string_equal(f->c.updates_catalogue_ca, ca);
	expect_error(f, "[updates]\ncatalogue_ca = /nonexistent/gdmf.pem\n", 2,
		     "updates.catalogue_ca: '/nonexistent/gdmf.pem': No such file");
	snprintf(text2, sizeof(text2), "[updates]\ncatalogue_ca = %s\n", f->dir);
	expect_error(f, text2, 2, "not a regular file");
	assert_int_equal(load(f, "[updates]\ncatalogue_url = https://127.0.0.1:8444/v2/pmv\n"
				 "catalogue_ca =\ncatalogue_refresh_hours = 0\n"
				 "allowed_windows = sat-sun 00:00-24:00; wed 13:00-18:00\n"),
			 0);
	assert_string_equal(f->c.updates_catalogue_url, "https://127.0.0.1:8444/v2/pmv");
	assert_int_equal(f->c.updates_refresh_hours, 0);
	assert_string_equal(f->c.updates_allowed_windows, "sat-sun 00:00-24:00; wed 13:00-18:00");
	assert_int_equal(load(f, "[updates]\nallowed_windows =\n"), 0);
	assert_string_equal(f->c.updates_allowed_windows, "");
	expect_error(
	    f, "[updates]\ncatalogue_url = http://gdmf.apple.com/v2/pmv\n", 2,
	    "updates.catalogue_url: 'http://gdmf.apple.com/v2/pmv' is not an https:// URL");
	expect_error(f, "[updates]\n\ncatalogue_url = https://\n", 3, "not an https:// URL");
	expect_error(f, "[updates]\ncatalogue_url = https://a b/\n", 2, "not an https:// URL");
	expect_error(f, "[updates]\ncatalogue_url = file:///etc/passwd\n", 2, "not an https://");
	expect_error(f, "[updates]\ncatalogue_refresh_hours = 721\n", 2, "out of range 0..720");
	expect_error(f, "[updates]\ncatalogue_refresh_hours = -1\n", 2, "out of range");
	expect_error(f, "[updates]\ncatalogue_refresh_hours = daily\n", 2, "not a whole number");
	expect_error(f, "[updates]\nallowed_windows = mon-fri 18h-7h30\n", 2,
		     "updates.allowed_windows: 'mon-fri 18h-7h30': the hours are not like");
	expect_error(f, "[updates]\nallowed_windows = lundi 18:00-19:00\n", 2, "the days are");
	/* [vpp] url: Apple's Apps and Books API, https only */
	assert_string_equal(f->c.vpp_url, "https://vpp.itunes.apple.com/mdm/v2");
	assert_int_equal(load(f, "[vpp]\nurl = https://127.0.0.1:8445/mdm/v2\n"), 0);
	assert_string_equal(f->c.vpp_url, "https://127.0.0.1:8445/mdm/v2");
	expect_error(f, "[vpp]\nurl = http://vpp.itunes.apple.com/mdm/v2\n", 2,
		     "vpp.url: 'http://vpp.itunes.apple.com/mdm/v2' is not an https:// URL");
	expect_error(f, "[vpp]\nurl =\n", 2, "not an https:// URL");
	expect_error(f,
		     "[server]\n[updates]\nallowed_windows = mon 18:00-19:00 ; tue 18:00-19:00\n",
		     3, "a blank before ';' starts a comment");
	char text[400] = "[updates]\nallowed_windows = ";
	for (int i = 0; i < 20; i++)
		strncat(text, "sun 01:00-02:00;", sizeof(text) - strlen(text) - 1);
	strncat(text, "\n", sizeof(text) - strlen(text) - 1);
	expect_error(f, text, 2, "longer than");
}

/* [ade]: Apple's host by default, https only, a minimum OS X.Y[.Z], the
 * sync period within 5..1440 minutes. */
static void test_ade(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(f->c.ade_url, "https://mdmenrollment.apple.com");
	assert_string_equal(f->c.ade_min_os, "");
	assert_int_equal(f->c.ade_sync_minutes, 60);
	assert_int_equal(load(f, "[ade]\nurl = https://127.0.0.1:8445\nmin_os = 17.5\n"
				 "sync_minutes = 5\n"),
			 0);
	assert_string_equal(f->c.ade_url, "https://127.0.0.1:8445");
	assert_string_equal(f->c.ade_min_os, "17.5");
	assert_int_equal(f->c.ade_sync_minutes, 5);
	assert_int_equal(load(f, "[ade]\nmin_os = 18.0.1\nsync_minutes = 1440\n"), 0);
	assert_string_equal(f->c.ade_min_os, "18.0.1");
	assert_int_equal(load(f, "[ade]\nmin_os =\n"), 0);
	assert_string_equal(f->c.ade_min_os, "");
	expect_error(f, "[ade]\nurl = http://mdmenrollment.apple.com\n", 2,
		     "ade.url: 'http://mdmenrollment.apple.com' is not an https:// URL");
	static const char *const bad[] = {"17",	    "17.", ".5",	"17.5.1.2", "17,5",
					  "1000.0", "a.b", "17.5 beta", "-17.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[100];
		snprintf(text, sizeof(text), "[ade]\nmin_os = %s\n", bad[i]);
		expect_error(f, text, 2, "is not a version X.Y or X.Y.Z");
	}
	expect_error(f, "[ade]\nsync_minutes = 4\n", 2, "out of range 5..1440");
	expect_error(f, "[ade]\nsync_minutes = 1441\n", 2, "out of range 5..1440");
	expect_error(f, "[ade]\nsync_minutes = hourly\n", 2, "not a whole number");
}

static void test_bad_integer(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"12abc", "",	 "1.5", "0x10", "99999999999999999999",
					  "1 2",   "ten"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[200];
		snprintf(text, sizeof(text), "[server]\n\nworkers = %s\n", bad[i]);
		expect_error(f, text, 3, "workers");
	}
	assert_int_equal(f->c.workers, 0); /* a refused value leaves the old one */
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[server]\nworkers 2\n", 2, "syntax");
	expect_error(f, "[server\nworkers = 2\n", 1, "syntax");
}

/* With several mistakes, the first one is reported, with its own reason. */
static void test_first_error_reported(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[server]\nworkers = 1\nbogus = 1\nworkers = 2\n[log]\nlevel = loud\n", 3,
		     "bogus");
	assert_null(strstr(f->err, "loud"));
	expect_error(f, "[server]\nno equals sign\n[log]\nlevel = loud\n", 2, "syntax");
	assert_null(strstr(f->err, "loud"));
}

static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	char text[1200], value[600];
	/* a line of 198 bytes loads whole */
	memset(value, 'x', 188);
	value[188] = '\0';
	snprintf(text, sizeof(text), "[geolocation]\nmessage = %s\n[server]\nworkers = 3\n", value);
	assert_int_equal(load(f, text), 0);
	assert_string_equal(f->c.geo_message, value);
	assert_int_equal(f->c.workers, 3);
	/* a longer one is an error on its own line, not a split line */
	memset(value, 'x', 300);
	value[300] = '\0';
	snprintf(text, sizeof(text), "[geolocation]\nmessage = %s\n[server]\nworkers = 4\n", value);
	expect_error(f, text, 2, "longer than");
	/* the longest string a setting holds is CONFIG_STR - 1 */
	memset(value, 'x', CONFIG_STR);
	value[CONFIG_STR] = '\0';
	assert_int_equal(config_set(&f->c, "geolocation", "message", value, f->err, 512),
			 AP_ECONFIG);
	assert_non_null(strstr(f->err, "message"));
	value[CONFIG_STR - 1] = '\0';
	assert_int_equal(config_set(&f->c, "geolocation", "message", value, f->err, 512), 0);
	assert_string_equal(f->c.geo_message, value);
}

/* An indented line is not a hidden continuation of the value above. */
static void test_indented_lines(void **state)
{
	struct fixture *f = *state;
	expect_error(f,
		     "[geolocation]\nmessage = Cette tablette appartient au Département.\n"
		     "   Merci de la rapporter.\n",
		     3, "syntax");
	assert_int_equal(load(f, "[server]\n\tworkers = 5\n  max_body_bytes = 4096\n"), 0);
	assert_int_equal(f->c.workers, 5);
	assert_int_equal(f->c.max_body_bytes, 4096);
}

static void test_set(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(config_set(&f->c, "server", "listen", "[::1]:8443", f->err, 512), 0);
	assert_string_equal(f->c.listen, "[::1]:8443");
	assert_int_equal(config_set(&f->c, "server", "workers", "65", f->err, 512), AP_ECONFIG);
	assert_non_null(strstr(f->err, "workers"));
	assert_int_equal(config_set(&f->c, "server", "nope", "1", f->err, 512), AP_ECONFIG);
	assert_non_null(strstr(f->err, "nope"));
}

static void test_dump(void **state)
{
	struct fixture *f = *state;
	char path[4200], text[8192];
	assert_int_equal(config_set(&f->c, "push", "passphrase", "s3cret", f->err, 512), 0);
	assert_int_equal(config_set(&f->c, "server", "workers", "7", f->err, 512), 0);
	snprintf(path, sizeof(path), "%s/dump.conf", f->dir);
	FILE *out = fopen(path, "w");
	config_dump(&f->c, out);
	fclose(out);
	FILE *in = fopen(path, "r");
	size_t n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = '\0';
	assert_null(strstr(text, "s3cret")); /* secrets are never printed */
	assert_non_null(strstr(text, "passphrase = (set)"));
	assert_non_null(strstr(text, "[server]\nlisten = 127.0.0.1:8443\nworkers = 7\n"));
	/* the dump is itself a valid configuration giving the same values */
	struct config again;
	config_defaults(&again);
	assert_int_equal(config_load(&again, path, f->err, sizeof(f->err)), 0);
	assert_int_equal(again.workers, 7);
	assert_string_equal(again.geo_message, f->c.geo_message);
}

static void note_ignored(void *arg, const char *key)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s", n ? "," : "", key);
}

/* A reload: what may change at run time is named in changed and kept in
 * next; any other key changed is passed to ignored() and gets the running
 * value back; keys not changed are named nowhere. */
static void test_reload_merge(void **state)
{
	struct fixture *f = *state;
	struct config next;
	char changed[256], ignored[256] = "";
	assert_int_equal(load(f, "[log]\nlevel = info\n[server]\nidle_timeout_ms = 30000\n"), 0);
	config_defaults(&next);
	const char *path = unit_write(f->dir, "next.conf",
				      "[log]\nlevel = debug\nfile = /var/log/ardoise/ardoised.log\n"
				      "[server]\nidle_timeout_ms = 5000\nlisten = 0.0.0.0:443\n"
				      "[mdm]\ndevice_ca = /etc/ardoise/anchors.pem\n"
				      "[push]\npassphrase = s3cret\n");
	assert_int_equal(config_load(&next, path, f->err, sizeof(f->err)), 0);
	config_reload_merge(&f->c, &next, note_ignored, ignored, changed, sizeof(changed));
	assert_string_equal(changed, "log.level,log.file,mdm.device_ca,push.passphrase");
	assert_string_equal(ignored, "server.listen,server.idle_timeout_ms");
	assert_string_equal(next.log_level, "debug");
	assert_string_equal(next.device_ca, "/etc/ardoise/anchors.pem");
	assert_int_equal(next.idle_timeout_ms, 30000);
	assert_string_equal(next.listen, f->c.listen);
	/* the same again: nothing */
	ignored[0] = '\0';
	struct config same = next;
	config_reload_merge(&next, &same, note_ignored, ignored, changed, sizeof(changed));
	assert_string_equal(changed, "");
	assert_string_equal(ignored, "");
	/* changed is cut at its capacity, never overrun */
	char tiny[8];
	config_reload_merge(&f->c, &same, note_ignored, ignored, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

/* What fn wrote to a FILE, as a string (free it). */
static char *capture(struct fixture *f, const char *name, void (*fn)(FILE *out, void *arg),
		     void *arg)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fn(out, arg);
	assert_int_equal(fclose(out), 0);
	FILE *in = fopen(path, "r");
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, in);
	fclose(in);
	text[n] = '\0';
	return text;
}

static void write_dump(FILE *out, void *arg)
{
	config_dump(arg, out);
}

static void write_sample(FILE *out, void *arg)
{
	config_sample(out, arg);
}

static void write_man(FILE *out, void *arg)
{
	config_man(out, "9.9.9", "/etc/ardoise/ardoised.conf");
}

/* Calls fn(section, key) for each "key = value" line of a dump. */
static void each_key(const char *dump, void (*fn)(const char *sec, const char *key, void *arg),
		     void *arg)
{
	char sec[64] = "", line[1024];
	for (const char *p = dump; *p;) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		if (line[0] == '[')
			snprintf(sec, sizeof(sec), "%.*s", (int)(strcspn(line + 1, "]")), line + 1);
		else if (strstr(line, " = ") || (n > 2 && strcmp(line + n - 2, " =") == 0)) {
			line[strcspn(line, " ")] = '\0';
			fn(sec, line, arg);
		}
	}
}

/* In the sample: under its section, the doc, its type, then the key
 * commented out with its default (listen: set). */
static void key_in_sample(const char *sec, const char *key, void *arg)
{
	const char *sample = arg;
	char head[80], want[200];
	snprintf(head, sizeof(head), "\n[%s]\n", sec);
	const char *at = strstr(sample, head);
	if (at == NULL)
		fail_msg("no [%s] in the sample", sec);
	const char *next = strstr(at + 1, "\n[");
	snprintf(want, sizeof(want), strcmp(key, "listen") ? "\n# %s =" : "\n%s = ", key);
	const char *k = strstr(at, want);
	if (k == NULL || (next && k > next))
		fail_msg("%s.%s is not in its section of the sample", sec, key);
	/* the two lines before: "# <doc>" (some words) and "# (<type>)" */
	const char *type = k - 1;
	while (type > at && type[-1] != '\n')
		type--;
	if (strncmp(type, "# (", 3) != 0)
		fail_msg("%s.%s: no type line before it", sec, key);
	const char *doc = type - 1;
	while (doc > at && doc[-1] != '\n')
		doc--;
	if (strncmp(doc, "# ", 2) != 0 || type - doc < 6)
		fail_msg("%s.%s: no description before it", sec, key);
}

/* In the page: the key as a paragraph tag, then its doc. */
static void key_in_man(const char *sec, const char *key, void *arg)
{
	const char *man = arg;
	char head[80], want[200], esc[100];
	size_t o = 0;
	for (const char *c = key; *c && o + 3 < sizeof(esc); c++) {
		if (*c == '-')
			esc[o++] = '\\';
		esc[o++] = *c;
	}
	esc[o] = '\0';
	snprintf(head, sizeof(head), ".SH \"[%s]\"\n", sec);
	snprintf(want, sizeof(want), ".TP\n\\fB%s\\fR\n", esc);
	const char *at = strstr(man, head), *k = at ? strstr(at, want) : NULL;
	const char *next = at ? strstr(at + 1, ".SH ") : NULL;
	if (k == NULL || (next && k > next))
		fail_msg("%s.%s is not in its section of ardoised.conf(5)", sec, key);
	k += strlen(want);
	if (*k == '.' || strcspn(k, "\n") < 20)
		fail_msg("%s.%s: no description in ardoised.conf(5)", sec, key);
}

static void test_sample(void **state)
{
	struct fixture *f = *state;
	const char *const set[] = {"server.listen", "0.0.0.0:443", NULL};
	char *dump = capture(f, "dump", write_dump, &f->c);
	char *sample = capture(f, "sample.conf", write_sample, (void *)set);
	each_key(dump, key_in_sample, sample);
	/* as installed: the defaults but listen */
	struct config c;
	config_defaults(&c);
	char path[4200];
	snprintf(path, sizeof(path), "%s/sample.conf", f->dir);
	assert_int_equal(config_load(&c, path, f->err, sizeof(f->err)), 0);
	assert_string_equal(c.listen, "0.0.0.0:443");
	assert_int_equal(config_set(&c, "server", "listen", "127.0.0.1:8443", f->err, 512), 0);
	char *again = capture(f, "dump2", write_dump, &c);
	assert_string_equal(again, dump);
	free(again);
	/* every key uncommented is its default: the same configuration */
	char *full = calloc(1, strlen(sample) + 1), *w = full;
	for (const char *p = sample; *p;) {
		size_t n = strcspn(p, "\n");
		int key = strncmp(p, "# ", 2) == 0 && p[2] >= 'a' && p[2] <= 'z' &&
			  memchr(p, '=', n) && strcspn(p + 2, " ") < strcspn(p + 2, "=");
		/* "# name = value": a key line, not a sentence with a '=' */
		if (key && p[2 + strcspn(p + 2, " ") + 1] != '=')
			key = 0;
		memcpy(w, p + (key ? 2 : 0), n + (p[n] == '\n') - (key ? 2 : 0));
		w += n + (p[n] == '\n') - (key ? 2 : 0);
		p += n + (p[n] == '\n');
	}
	unit_write(f->dir, "full.conf", full);
	snprintf(path, sizeof(path), "%s/full.conf", f->dir);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, f->err, sizeof(f->err)), 0);
	assert_int_equal(config_set(&c, "server", "listen", "127.0.0.1:8443", f->err, 512), 0);
	again = capture(f, "dump3", write_dump, &c);
	assert_string_equal(again, dump);
	free(again);
	free(full);
	free(sample);
	free(dump);
}

static void test_man(void **state)
{
	struct fixture *f = *state;
	char *dump = capture(f, "dump", write_dump, &f->c);
	char *man = capture(f, "ardoised.conf.5", write_man, NULL);
	each_key(dump, key_in_man, man);
	assert_non_null(strstr(man, ".TH ARDOISED.CONF 5 \"\" \"Ardoise 9.9.9\""));
	/* the bounds and values are said */
	assert_non_null(strstr(man, "a whole number from 0 to 64"));
	assert_non_null(strstr(man, "one of debug, info, warn, error"));
	/* no line is a request roff does not know: text never starts with a
	 * control character */
	static const char *const requests[] = {".TH ",	".SH ",	 ".TP\n",  ".br\n",
					       ".PP\n", ".nh\n", ".ad l\n"};
	for (const char *p = man; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
		if (*p != '.' && *p != '\'')
			continue;
		int known = 0;
		for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
			known |= strncmp(p, requests[i], strlen(requests[i])) == 0;
		if (!known)
			fail_msg("a line roff would take for a request: %.60s", p);
	}
	free(man);
	free(dump);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_defaults),
	    T(test_load_file),
	    T(test_empty_file),
	    T(test_missing_file),
	    T(test_unknown_key),
	    T(test_unknown_section),
	    T(test_key_outside_section),
	    T(test_out_of_range),
	    T(test_bad_enum),
	    T(test_timezone),
	    T(test_bad_integer),
	    T(test_summer_span),
	    T(test_updates),
	    T(test_ade),
	    T(test_syntax_error),
	    T(test_first_error_reported),
	    T(test_long_lines),
	    T(test_indented_lines),
	    T(test_set),
	    T(test_dump),
	    T(test_reload_merge),
	    T(test_sample),
	    T(test_man),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
