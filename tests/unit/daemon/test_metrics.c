/*
 * Unit tests for daemon/core/metrics.c: the exposition writer (label
 * escaping, cumulative buckets, +Inf equal to _count, what a scrape leaves
 * out), the counters behind it, the route classes and the loopback check
 * GET /metrics relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_buf.h"
#include "metrics.h"

static char *scrape(const struct metrics_scrape *s)
{
	struct ap_buf b;
	ap_buf_init(&b, 1u << 22);
	assert_int_equal(metrics_write(&b, s), 0);
	assert_int_equal(ap_buf_append(&b, "", 1), 0);
	char *text = strdup(b.data);
	ap_buf_free(&b);
	return text;
}

/* The value of the sample line that starts with `series ` (name and
 * labels as written); fails when there is none. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no sample %s", series);
	return -1;
}

static int has_line(const char *text, const char *start)
{
	size_t n = strlen(start);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, start, n) == 0)
			return 1;
	return 0;
}

static struct metrics_scrape empty_scrape(void)
{
	struct metrics_scrape s;
	memset(&s, 0, sizeof(s));
	s.pending[0] = s.pending[1] = s.pending[2] = -1;
	s.enrolled = -1;
	return s;
}

static void test_label_escaping(void **state)
{
	struct ap_buf b;
	ap_buf_init(&b, 1024);
	assert_int_equal(metrics_write_label_value(&b, "a\\b\"c\nd"), 0);
	assert_int_equal(metrics_write_label_value(&b, ""), 0);
	assert_int_equal(metrics_write_label_value(&b, "plain"), 0);
	assert_int_equal(b.len, strlen("a\\\\b\\\"c\\ndplain"));
	assert_memory_equal(b.data, "a\\\\b\\\"c\\ndplain", b.len);
	ap_buf_free(&b);

	/* through the writer: an APNs reason is a peer's text */
	static const char *const names[] = {"Bad\"Reason\\x\ny"};
	static const uint64_t counts[] = {3};
	struct metrics_scrape s = empty_scrape();
	s.reason_names = names;
	s.by_reason = counts;
	s.n_reasons = 1;
	char *t = scrape(&s);
	assert_int_equal(
	    value_of(t, "ardoise_push_attempt_failures_total{reason=\"Bad\\\"Reason\\\\x\\ny\"}"),
	    3);
	free(t);
}

/* Every _bucket series rises with le, its +Inf equals _count. */
static void check_histograms(const char *text)
{
	char prev_series[200] = "";
	double prev = -1;
	int checked = 0;
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		const char *b = strstr(p, "_bucket{");
		const char *eol = strchr(p, '\n');
		if (p[0] == '#' || b == NULL || b > eol)
			continue;
		const char *le = strstr(p, "le=\"");
		assert_true(le && le < eol);
		char series[200];
		snprintf(series, sizeof(series), "%.*s", (int)(le - p), p);
		double v = strtod(strchr(le, ' ') + 1, NULL);
		if (strcmp(series, prev_series) == 0)
			assert_true(v >= prev);
		snprintf(prev_series, sizeof(prev_series), "%s", series);
		prev = v;
		if (strncmp(le, "le=\"+Inf\"", 9) == 0) {
			/* name{labels,  ->  name_count{labels} */
			char count[240];
			int name_len = (int)(b - p);
			int labels_len = (int)(le - (b + 8));
			if (labels_len > 0)
				snprintf(count, sizeof(count), "%.*s_count{%.*s}", name_len, p,
					 labels_len - 1, b + 8);
			else
				snprintf(count, sizeof(count), "%.*s_count", name_len, p);
			assert_true(value_of(text, count) == v);
			checked++;
		}
	}
	assert_true(checked >= 6 + 3 + 1); /* classes, reconcile scopes, db */
}

static void test_histogram(void **state)
{
	metrics_request(METRICS_API, 500000);	   /* 0.5 ms */
	metrics_request(METRICS_API, 3000000);	   /* 3 ms */
	metrics_request(METRICS_API, 20000000000); /* 20 s: past every bound */
	metrics_request(METRICS_MDM, 1000000);	   /* exactly 1 ms: le="0.001" */
	metrics_request((enum metrics_class)99, 1);
	metrics_db_tx(2000000);
	struct metrics_scrape s = empty_scrape();
	char *t = scrape(&s);
	static const struct {
		const char *series;
		double want;
	} want[] = {
	    {"_bucket{class=\"api\",le=\"0.001\"}", 1}, {"_bucket{class=\"api\",le=\"0.0025\"}", 1},
	    {"_bucket{class=\"api\",le=\"0.005\"}", 2}, {"_bucket{class=\"api\",le=\"10\"}", 2},
	    {"_bucket{class=\"api\",le=\"+Inf\"}", 3},	{"_count{class=\"api\"}", 3},
	    {"_bucket{class=\"mdm\",le=\"0.001\"}", 1},
	};
	char k[200];
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(k, sizeof(k), "ardoise_http_request_duration_seconds%s", want[i].series);
		if (value_of(t, k) != want[i].want)
			fail_msg("%s: %g, expected %g", k, value_of(t, k), want[i].want);
	}
	snprintf(k, sizeof(k), "ardoise_http_request_duration_seconds_sum{class=\"api\"}");
	assert_true(value_of(t, k) > 20.0034 && value_of(t, k) < 20.0036);
	assert_int_equal(value_of(t, "ardoise_db_write_transaction_duration_seconds_count"), 1);
	assert_int_equal(
	    value_of(t, "ardoise_db_write_transaction_duration_seconds_bucket{le=\"0.001\"}"), 0);
	assert_int_equal(
	    value_of(t, "ardoise_db_write_transaction_duration_seconds_bucket{le=\"0.0025\"}"), 1);
	check_histograms(t);
	free(t);
}

static void test_counters(void **state)
{
	metrics_command(METRICS_CMD_QUEUED, "InstallProfile");
	metrics_command_type(METRICS_CMD_QUEUED, AP_CMD_INSTALL_PROFILE);
	metrics_command(METRICS_CMD_QUEUED, "NoSuchCommand");
	metrics_command(METRICS_CMD_QUEUED, NULL);
	metrics_command(METRICS_CMD_ERROR, "DeviceLock");
	metrics_checkin(METRICS_CI_AUTHENTICATE, 200);
	metrics_checkin(METRICS_CI_AUTHENTICATE, 403);
	metrics_checkin(METRICS_CI_TOKEN_UPDATE, 503);
	metrics_connect(METRICS_CONN_COMMAND_SENT);
	metrics_report(METRICS_REP_ACKNOWLEDGED);
	metrics_tls(METRICS_TLS_RESUMED);
	metrics_tls((enum metrics_tls)7);
	metrics_connection(1);
	metrics_connection(1);
	metrics_connection(-1);
	metrics_reconcile(METRICS_REC_FLEET, 1, 2000000000);
	metrics_reconcile(METRICS_REC_TABLET, 0, 1000);
	struct metrics_scrape s = empty_scrape();
	char *t = scrape(&s);
	assert_int_equal(value_of(t, "ardoise_commands_queued_total{type=\"InstallProfile\"}"), 2);
	assert_int_equal(value_of(t, "ardoise_commands_queued_total{type=\"DeviceLock\"}"), 0);
	assert_int_equal(value_of(t, "ardoise_commands_errors_total{type=\"DeviceLock\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_mdm_checkin_requests_total{message=\"Authenticate\","
				     "outcome=\"ok\"}"),
			 1);
	assert_int_equal(value_of(t, "ardoise_mdm_checkin_requests_total{message=\"Authenticate\","
				     "outcome=\"refused\"}"),
			 1);
	assert_int_equal(value_of(t, "ardoise_mdm_checkin_requests_total{message=\"TokenUpdate\","
				     "outcome=\"failed\"}"),
			 1);
	assert_int_equal(
	    value_of(t, "ardoise_mdm_connect_requests_total{outcome=\"command_sent\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_mdm_reports_total{status=\"Acknowledged\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_tls_handshakes_total{result=\"resumed\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_tls_handshakes_total{result=\"full\"}"), 0);
	assert_int_equal(value_of(t, "ardoise_connections_open"), 1);
	assert_int_equal(value_of(t, "ardoise_reconcile_runs_total{scope=\"fleet\",result=\"ok\"}"),
			 1);
	assert_int_equal(
	    value_of(t, "ardoise_reconcile_runs_total{scope=\"tablet\",result=\"failed\"}"), 1);
	assert_int_equal(
	    value_of(t, "ardoise_reconcile_duration_seconds_bucket{scope=\"fleet\",le=\"1\"}"), 0);
	assert_int_equal(
	    value_of(t, "ardoise_reconcile_duration_seconds_bucket{scope=\"fleet\",le=\"5\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_build_info{version=\"9.9-test\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_process_start_time_seconds"), 1700000000);
	/* every metric has its HELP and TYPE */
	assert_true(has_line(t, "# TYPE ardoise_commands_queued_total counter"));
	assert_true(has_line(t, "# HELP ardoise_commands_queued_total "));
	assert_true(has_line(t, "# TYPE ardoise_http_request_duration_seconds histogram"));
	free(t);
}

/* What the database could not give is left out; what it gave is shown. */
static void test_scrape_gauges(void **state)
{
	struct metrics_scrape s = empty_scrape();
	char *t = scrape(&s);
	assert_false(has_line(t, "ardoise_commands_pending"));
	assert_false(has_line(t, "ardoise_tablets_enrolled"));
	assert_false(has_line(t, "ardoise_certificate_expiry_timestamp_seconds{"));
	free(t);
	s.pending[0] = 4;
	s.pending[1] = 2;
	s.pending[2] = 1;
	s.enrolled = 7;
	s.not_seen_7d = 3;
	s.not_seen_30d = 1;
	s.cert_ca = 2000000000;
	s.cert_push = 1900000000;
	t = scrape(&s);
	assert_int_equal(value_of(t, "ardoise_commands_pending{status=\"queued\"}"), 4);
	assert_int_equal(value_of(t, "ardoise_commands_pending{status=\"notnow\"}"), 1);
	assert_int_equal(value_of(t, "ardoise_tablets_enrolled"), 7);
	assert_int_equal(value_of(t, "ardoise_tablets_not_seen{days=\"7\"}"), 3);
	assert_int_equal(value_of(t, "ardoise_tablets_not_seen{days=\"30\"}"), 1);
	assert_true(value_of(t, "ardoise_certificate_expiry_timestamp_seconds{cert=\"ca\"}") ==
		    2000000000.0);
	assert_true(value_of(t, "ardoise_certificate_expiry_timestamp_seconds{cert=\"push\"}") ==
		    1900000000.0);
	assert_false(
	    has_line(t, "ardoise_certificate_expiry_timestamp_seconds{cert=\"ade_token\""));
	free(t);
}

/* A buffer too small is an error, not a truncated answer served. */
static void test_full_buffer(void **state)
{
	struct ap_buf b;
	struct metrics_scrape s = empty_scrape();
	ap_buf_init(&b, 512);
	assert_true(metrics_write(&b, &s) < 0);
	ap_buf_free(&b);
}

static void test_class_of(void **state)
{
	assert_int_equal(metrics_class_of("/mdm/checkin"), METRICS_MDM);
	assert_int_equal(metrics_class_of("/mdm/connect"), METRICS_MDM);
	assert_int_equal(metrics_class_of("/mdm/enroll"), METRICS_ENROLL);
	assert_int_equal(metrics_class_of("/mdm/ade/enroll"), METRICS_ENROLL);
	assert_int_equal(metrics_class_of("/scep"), METRICS_SCEP);
	assert_int_equal(metrics_class_of("/metrics"), METRICS_METRICS);
	assert_int_equal(metrics_class_of("/api/v1/devices/:serial"), METRICS_API);
	assert_int_equal(metrics_class_of("/healthz"), METRICS_API);
	assert_int_equal(metrics_class_of("/static/*"), METRICS_WEB);
	assert_int_equal(metrics_class_of("/*"), METRICS_WEB);
	assert_int_equal(metrics_class_of(NULL), METRICS_WEB);
}

static void test_loopback(void **state)
{
	static const struct {
		const char *peer;
		int loopback;
	} cases[] = {
	    {"127.0.0.1:443", 1},
	    {"127.9.8.7:1", 1},
	    {"::1:5555", 1}, /* conn.c writes inet_ntop's text then :port */
	    {"[::1]:5555", 1},
	    {"::ffff:127.0.0.1:80", 1},
	    {"10.0.0.1:443", 0},
	    {"128.0.0.1:1", 0},
	    {"126.255.255.255:1", 0},
	    {"192.168.1.20:8443", 0},
	    {"::2:1", 0},
	    {"fe80::1:1", 0},
	    {"::ffff:10.0.0.1:1", 0},
	    {"127.0.0.1", 0}, /* no port: "0.1" is not an address */
	    {"1127.0.0.1:5", 0},
	    {"127.0.0.1x:1", 0},
	    {"localhost:1", 0},
	    {"?:0", 0}, /* conn.c's unknown peer */
	    {":1", 0},
	    {"", 0},
	    {"[::1:1", 0},
	    {"::1]:1", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (metrics_peer_is_loopback(cases[i].peer) != cases[i].loopback)
			fail_msg("%s: expected %d", cases[i].peer, cases[i].loopback);
	assert_int_equal(metrics_peer_is_loopback(NULL), 0);
	char longer[200];
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	longer[150] = ':';
	assert_int_equal(metrics_peer_is_loopback(longer), 0);
}

int main(void)
{
	metrics_init(1700000000, "9.9-test");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_escaping), cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_counters),	   cmocka_unit_test(test_scrape_gauges),
	    cmocka_unit_test(test_full_buffer),	   cmocka_unit_test(test_class_of),
	    cmocka_unit_test(test_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
