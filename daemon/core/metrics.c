/* metrics.c - the process's counters (relaxed atomics) and their
 * Prometheus text exposition. */
#include "metrics.h"
#include "ap_err.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef _Atomic uint64_t counter;

/* Latencies: 1 ms ... 10 s.  Long runs (reconciliation of a fleet): 10 ms
 * ... 10 min. */
static const double short_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				      0.25,  0.5,    1,	    2.5,  5,	 10};
static const double long_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600};
#define SHORT_N	    (sizeof(short_bounds) / sizeof(short_bounds[0]))
#define LONG_N	    (sizeof(long_bounds) / sizeof(long_bounds[0]))
#define MAX_BUCKETS (SHORT_N > LONG_N ? SHORT_N : LONG_N)

/* Per bucket counts (not cumulative; the last one past every bound) and
 * the sum in nanoseconds. */
struct metrics_hist {
	const double *bounds;
	size_t n;
	counter bucket[MAX_BUCKETS + 1];
	counter sum_ns;
};

static struct {
	int64_t start_time_s;
	char version[64];
	_Atomic int64_t connections;
	counter tls[METRICS__TLS];
	counter checkin[METRICS__CHECKINS][3]; /* ok, refused, failed */
	counter connect[METRICS__CONNECTS];
	counter report[METRICS__REPORTS];
	counter cmd[METRICS__CMD_EVENTS][AP_CMD__COUNT];
	counter reconcile_runs[METRICS__RECONCILES][2]; /* failed, ok */
	struct metrics_hist request[METRICS__CLASSES];
	struct metrics_hist reconcile[METRICS__RECONCILES];
	struct metrics_hist db_tx;
	counter group_commits[2]; /* failed, ok */
	counter group_requests;
	counter group_deferred;
	counter lock_wait_ns[2]; /* other, grouped */
} reg;

static const char *const class_names[METRICS__CLASSES] = {"mdm", "scep", "enroll",
							  "api", "web",	 "metrics"};
static const char *const checkin_names[METRICS__CHECKINS] = {
    "Authenticate", "TokenUpdate", "DeclarativeManagement", "CheckOut", "other"};
static const char *const checkin_outcomes[3] = {"ok", "refused", "failed"};
static const char *const connect_names[METRICS__CONNECTS] = {"command_sent", "idle", "not_now",
							     "refused", "failed"};
static const char *const report_names[METRICS__REPORTS] = {"Idle", "Acknowledged", "Error",
							   "CommandFormatError", "NotNow"};
static const char *const tls_names[METRICS__TLS] = {"full", "resumed", "failed"};
static const char *const reconcile_names[METRICS__RECONCILES] = {"fleet", "school", "tablet"};

static void hist_init(struct metrics_hist *h, const double *bounds, size_t n)
{
	h->bounds = bounds;
	h->n = n;
}

void metrics_init(int64_t start_time_s, const char *version)
{
	reg.start_time_s = start_time_s;
	snprintf(reg.version, sizeof(reg.version), "%s", version ? version : "");
	for (size_t i = 0; i < METRICS__CLASSES; i++)
		hist_init(&reg.request[i], short_bounds, SHORT_N);
	for (size_t i = 0; i < METRICS__RECONCILES; i++)
		hist_init(&reg.reconcile[i], long_bounds, LONG_N);
	hist_init(&reg.db_tx, short_bounds, SHORT_N);
}

static void add(counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void observe(struct metrics_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;
	if (h->bounds == NULL)
		return; /* metrics_init() not called: counting is off */
	while (i < h->n && s > h->bounds[i])
		i++;
	add(&h->bucket[i]);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

enum metrics_class metrics_class_of(const char *route)
{
	static const struct {
		const char *prefix;
		enum metrics_class c;
	} classes[] = {
	    {"/mdm/checkin", METRICS_MDM}, {"/mdm/connect", METRICS_MDM}, {"/mdm/", METRICS_ENROLL},
	    {"/scep", METRICS_SCEP},	   {"/metrics", METRICS_METRICS}, {"/api/", METRICS_API},
	    {"/healthz", METRICS_API},
	};
	for (size_t i = 0; route && i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strncmp(route, classes[i].prefix, strlen(classes[i].prefix)) == 0)
			return classes[i].c;
	return METRICS_WEB;
}

void metrics_request(enum metrics_class c, uint64_t ns)
{
	if ((unsigned)c < METRICS__CLASSES)
		observe(&reg.request[c], ns);
}

void metrics_connection(int delta)
{
	atomic_fetch_add_explicit(&reg.connections, delta, memory_order_relaxed);
}

void metrics_tls(enum metrics_tls t)
{
	if ((unsigned)t < METRICS__TLS)
		add(&reg.tls[t]);
}

void metrics_checkin(enum metrics_checkin m, int http_status)
{
	if ((unsigned)m < METRICS__CHECKINS)
		add(&reg.checkin[m][http_status >= 500 ? 2 : http_status >= 400 ? 1 : 0]);
}

void metrics_connect(enum metrics_connect o)
{
	if ((unsigned)o < METRICS__CONNECTS)
		add(&reg.connect[o]);
}

void metrics_report(enum metrics_report s)
{
	if ((unsigned)s < METRICS__REPORTS)
		add(&reg.report[s]);
}

void metrics_command_type(enum metrics_cmd_event e, enum ap_cmd_type t)
{
	if ((unsigned)e < METRICS__CMD_EVENTS && (unsigned)t < AP_CMD__COUNT)
		add(&reg.cmd[e][t]);
}

void metrics_command(enum metrics_cmd_event e, const char *type)
{
	enum ap_cmd_type t;
	if (type && ap_cmd_from_name(type, &t) == 0)
		metrics_command_type(e, t);
}

void metrics_reconcile(enum metrics_reconcile s, int ok, uint64_t ns)
{
	if ((unsigned)s >= METRICS__RECONCILES)
		return;
	add(&reg.reconcile_runs[s][ok ? 1 : 0]);
	observe(&reg.reconcile[s], ns);
}

void metrics_db_tx(uint64_t ns)
{
	observe(&reg.db_tx, ns);
}

void metrics_group_commit(unsigned requests, int ok)
{
	add(&reg.group_commits[ok ? 1 : 0]);
	atomic_fetch_add_explicit(&reg.group_requests, requests, memory_order_relaxed);
}

/* --- the exposition --- */

static uint64_t get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

int metrics_write_label_value(struct ap_buf *out, const char *v)
{
	int rc = 0;
	for (const char *p = v; *p && rc == 0; p++) {
		size_t run = strcspn(p, "\\\"\n");
		if (run) {
			rc = ap_buf_append(out, p, run);
			p += run - 1;
			continue;
		}
		rc = ap_buf_append(out, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
	}
	return rc;
}

static int head(struct ap_buf *out, const char *name, const char *type, const char *help)
{
	return ap_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n, or name n when label is NULL. */
static int sample(struct ap_buf *out, const char *name, const char *label, const char *value,
		  uint64_t n)
{
	if (label == NULL)
		return ap_buf_printf(out, "%s %llu\n", name, (unsigned long long)n);
	int rc = ap_buf_printf(out, "%s{%s=\"", name, label);
	if (rc == 0)
		rc = metrics_write_label_value(out, value);
	if (rc == 0)
		rc = ap_buf_printf(out, "\"} %llu\n", (unsigned long long)n);
	return rc;
}

/* A counter family of one label: its HELP and TYPE, then n samples, the
 * label's values[i] with c[i]. */
static int family(struct ap_buf *out, const char *name, const char *help, const char *label,
		  const char *const *values, counter *c, size_t n)
{
	int rc = head(out, name, "counter", help);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = sample(out, name, label, values[i], get(&c[i]));
	return rc;
}

/* A counter family of two labels: c is [n1][n2], c[i * n2 + j] under
 * l1=v1[i], l2=v2[j] (values of the source, no escaping needed). */
static int family2(struct ap_buf *out, const char *name, const char *help, const char *l1,
		   const char *const *v1, size_t n1, const char *l2, const char *const *v2,
		   size_t n2, counter *c)
{
	int rc = head(out, name, "counter", help);
	for (size_t i = 0; i < n1 && rc == 0; i++)
		for (size_t j = 0; j < n2 && rc == 0; j++)
			rc = ap_buf_printf(out, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", name, l1, v1[i],
					   l2, v2[j], (unsigned long long)get(&c[i * n2 + j]));
	return rc;
}

static int gauge_i(struct ap_buf *out, const char *name, const char *labels, int64_t v)
{
	return ap_buf_printf(out, "%s%s%s%s %lld\n", name, labels[0] ? "{" : "", labels,
			     labels[0] ? "}" : "", (long long)v);
}

/* labels: "" or `k="v"` (escaped by the caller) */
static int histogram(struct ap_buf *out, const char *name, const char *labels,
		     struct metrics_hist *h)
{
	uint64_t cum = 0;
	int rc = 0;
	const char *sep = labels[0] ? "," : "";
	for (size_t i = 0; i <= h->n && rc == 0; i++) {
		cum += get(&h->bucket[i]);
		if (i < h->n)
			rc = ap_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
					   sep, h->bounds[i], (unsigned long long)cum);
		else
			rc = ap_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
					   sep, (unsigned long long)cum);
	}
	if (rc == 0)
		rc = ap_buf_printf(out, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels,
				   labels[0] ? "}" : "", (double)get(&h->sum_ns) / 1e9);
	if (rc == 0)
		rc = ap_buf_printf(out, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
				   labels[0] ? "}" : "", (unsigned long long)cum);
	return rc;
}

/* A histogram family of one label: HELP and TYPE, then h[i] under the
 * label's values[i]. */
static int hist_family(struct ap_buf *out, const char *name, const char *help, const char *label,
		       const char *const *values, struct metrics_hist *h, size_t n)
{
	int rc = head(out, name, "histogram", help);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char l[64];
		snprintf(l, sizeof(l), "%s=\"%s\"", label, values[i]);
		rc = histogram(out, name, l, &h[i]);
	}
	return rc;
}

static int write_process(struct ap_buf *out)
{
	int rc = head(out, "ardoise_build_info", "gauge",
		      "Always 1; the version of ardoised in the version label.");
	if (rc == 0) {
		rc = ap_buf_printf(out, "ardoise_build_info{version=\"");
		if (rc == 0)
			rc = metrics_write_label_value(out, reg.version);
		if (rc == 0)
			rc = ap_buf_printf(out, "\"} 1\n");
	}
	if (rc == 0)
		rc = head(out, "ardoise_process_start_time_seconds", "gauge",
			  "Start time of the process since the Unix epoch in seconds.");
	if (rc == 0)
		rc = gauge_i(out, "ardoise_process_start_time_seconds", "", reg.start_time_s);
	if (rc == 0)
		rc = head(out, "ardoise_connections_open", "gauge",
			  "Client connections open (devices, staff, pages).");
	if (rc == 0)
		rc = gauge_i(out, "ardoise_connections_open", "",
			     atomic_load_explicit(&reg.connections, memory_order_relaxed));
	if (rc == 0)
		rc = family(
		    out, "ardoise_tls_handshakes_total",
		    "TLS handshakes by result: full, resumed (session resumption) or failed.",
		    "result", tls_names, reg.tls, METRICS__TLS);
	if (rc == 0)
		rc = hist_family(out, "ardoise_http_request_duration_seconds",
				 "Time from a request's last byte to its answer, by route class.",
				 "class", class_names, reg.request, METRICS__CLASSES);
	return rc;
}

static int write_mdm(struct ap_buf *out)
{
	int rc = family2(out, "ardoise_mdm_checkin_requests_total",
			 "Check-in requests (PUT /mdm/checkin) by message type and outcome.",
			 "message", checkin_names, METRICS__CHECKINS, "outcome", checkin_outcomes,
			 3, &reg.checkin[0][0]);
	if (rc == 0)
		rc = family(out, "ardoise_mdm_connect_requests_total",
			    "Command-channel requests (PUT /mdm/connect) by outcome.", "outcome",
			    connect_names, reg.connect, METRICS__CONNECTS);
	if (rc == 0)
		rc = family(out, "ardoise_mdm_reports_total",
			    "Statuses tablets reported on the command channel.", "status",
			    report_names, reg.report, METRICS__REPORTS);
	return rc;
}

static int write_commands(struct ap_buf *out)
{
	static const char *const names[METRICS__CMD_EVENTS][2] = {
	    {"ardoise_commands_queued_total", "Commands queued, by RequestType."},
	    {"ardoise_commands_delivered_total", "Commands sent to a tablet, by RequestType."},
	    {"ardoise_commands_acknowledged_total",
	     "Commands a tablet acknowledged, by RequestType."},
	    {"ardoise_commands_errors_total",
	     "Commands a tablet answered with Error or CommandFormatError, by RequestType."},
	};
	int rc = 0;
	for (size_t e = 0; e < METRICS__CMD_EVENTS && rc == 0; e++) {
		rc = head(out, names[e][0], "counter", names[e][1]);
		for (size_t t = 0; t < AP_CMD__COUNT && rc == 0; t++)
			rc = sample(out, names[e][0], "type", ap_cmd_name((enum ap_cmd_type)t),
				    get(&reg.cmd[e][t]));
	}
	return rc;
}

void metrics_group_deferred(void)
{
	add(&reg.group_deferred);
}

void metrics_db_lock_wait(int grouped, uint64_t ns)
{
	atomic_fetch_add_explicit(&reg.lock_wait_ns[grouped ? 1 : 0], ns, memory_order_relaxed);
}

static int write_lock_wait(struct ap_buf *out)
{
	static const char *const callers[2] = {"other", "grouped"};
	static const char name[] = "ardoise_db_write_lock_wait_seconds_total";
	int rc = head(out, "ardoise_db_group_deferred_total", "counter",
		      "Tablet requests that found the write lock taken and waited, "
		      "unstarted, for their loop's turn (instead of blocking the loop).");
	if (rc == 0)
		rc = sample(out, "ardoise_db_group_deferred_total", NULL, NULL,
			    get(&reg.group_deferred));
	if (rc == 0)
		rc = head(out, name, "counter",
			  "Time threads spent blocked waiting for the database write lock, by "
			  "caller: grouped (a tablet request's group) or other.");
	for (size_t i = 0; i < 2 && rc == 0; i++)
		rc = ap_buf_printf(out, "%s{caller=\"%s\"} %.9f\n", name, callers[i],
				   (double)get(&reg.lock_wait_ns[i]) / 1e9);
	return rc;
}

static int write_groups(struct ap_buf *out)
{
	static const char *const results[2] = {"failed", "ok"};
	int rc = family(out, "ardoise_db_group_commits_total",
			"Group commits (one write transaction for the tablet requests of a "
			"loop turn), by result.",
			"result", results, reg.group_commits, 2);
	if (rc == 0)
		rc = head(out, "ardoise_db_group_requests_total", "counter",
			  "Tablet requests answered after a group commit (or replaced by a "
			  "503 when it failed): over ardoise_db_group_commits_total, the "
			  "requests per group.");
	if (rc == 0)
		rc = sample(out, "ardoise_db_group_requests_total", NULL, NULL,
			    get(&reg.group_requests));
	return rc == 0 ? write_lock_wait(out) : rc;
}

static int write_runs(struct ap_buf *out)
{
	static const char *const results[2] = {"failed", "ok"};
	int rc = family2(out, "ardoise_reconcile_runs_total",
			 "Reconciliation runs by scope (fleet, school, tablet) and result.",
			 "scope", reconcile_names, METRICS__RECONCILES, "result", results, 2,
			 &reg.reconcile_runs[0][0]);
	if (rc == 0)
		rc = hist_family(out, "ardoise_reconcile_duration_seconds",
				 "Wall-clock time of reconciliation runs, by scope.", "scope",
				 reconcile_names, reg.reconcile, METRICS__RECONCILES);
	if (rc == 0)
		rc = head(out, "ardoise_db_write_transaction_duration_seconds", "histogram",
			  "Time database write transactions hold the write lock, BEGIN to "
			  "COMMIT or ROLLBACK.");
	if (rc == 0)
		rc =
		    histogram(out, "ardoise_db_write_transaction_duration_seconds", "", &reg.db_tx);
	return rc == 0 ? write_groups(out) : rc;
}

static int write_fleet(struct ap_buf *out, const struct metrics_scrape *s)
{
	static const char *const st[3] = {"queued", "sent", "notnow"};
	int rc = 0;
	if (s->pending[0] >= 0) {
		rc = head(out, "ardoise_commands_pending", "gauge",
			  "Commands waiting for a tablet, by status (read at most 15 s ago).");
		for (size_t i = 0; i < 3 && rc == 0; i++)
			rc = ap_buf_printf(out, "ardoise_commands_pending{status=\"%s\"} %lld\n",
					   st[i], (long long)s->pending[i]);
	}
	if (rc == 0 && s->enrolled >= 0) {
		rc = head(out, "ardoise_tablets_enrolled", "gauge",
			  "Tablets enrolled (read at most 60 s ago).");
		if (rc == 0)
			rc = gauge_i(out, "ardoise_tablets_enrolled", "", s->enrolled);
		if (rc == 0)
			rc = head(out, "ardoise_tablets_not_seen", "gauge",
				  "Enrolled tablets not seen for the days of the label, or never "
				  "(read at most 60 s ago).");
		if (rc == 0)
			rc = gauge_i(out, "ardoise_tablets_not_seen", "days=\"7\"", s->not_seen_7d);
		if (rc == 0)
			rc = gauge_i(out, "ardoise_tablets_not_seen", "days=\"30\"",
				     s->not_seen_30d);
	}
	return rc;
}

static int write_certs(struct ap_buf *out, const struct metrics_scrape *s)
{
	const struct {
		const char *name;
		int64_t at;
	} certs[] = {{"push", s->cert_push},
		     {"server", s->cert_server},
		     {"ca", s->cert_ca},
		     {"ade_token", s->cert_ade},
		     {"vpp_token", s->cert_vpp}};
	int rc =
	    head(out, "ardoise_certificate_expiry_timestamp_seconds", "gauge",
		 "When a certificate or Apple token expires, since the Unix epoch in seconds.");
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]) && rc == 0; i++) {
		char l[40];
		if (certs[i].at == 0)
			continue;
		snprintf(l, sizeof(l), "cert=\"%s\"", certs[i].name);
		rc = gauge_i(out, "ardoise_certificate_expiry_timestamp_seconds", l, certs[i].at);
	}
	return rc;
}

static int write_push(struct ap_buf *out, const struct metrics_scrape *s)
{
	const struct {
		const char *name, *help;
		uint64_t n;
	} c[] = {
	    {"ardoise_push_sent_total", "Pushes APNs accepted.", s->push_sent},
	    {"ardoise_push_failed_total", "Pushes given up: refused, bad token, or out of retries.",
	     s->push_failed},
	    {"ardoise_push_dropped_total", "Reasons to push lost because the queue was full.",
	     s->push_dropped},
	    {"ardoise_push_retries_total", "Push retries after 429, 5xx or a lost connection.",
	     s->push_retried},
	};
	int rc =
	    head(out, "ardoise_push_enabled", "gauge", "1 when a push certificate is configured.");
	if (rc == 0)
		rc = gauge_i(out, "ardoise_push_enabled", "", s->push_enabled);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]) && rc == 0; i++) {
		rc = head(out, c[i].name, "counter", c[i].help);
		if (rc == 0)
			rc = sample(out, c[i].name, NULL, NULL, c[i].n);
	}
	if (rc == 0)
		rc = head(out, "ardoise_push_attempt_failures_total", "counter",
			  "Push attempts APNs refused or that failed, by APNs reason.");
	for (size_t i = 0; i < s->n_reasons && rc == 0; i++)
		rc = sample(out, "ardoise_push_attempt_failures_total", "reason",
			    s->reason_names[i], s->by_reason[i]);
	return rc;
}

int metrics_write(struct ap_buf *out, const struct metrics_scrape *s)
{
	int rc = write_process(out);
	if (rc == 0)
		rc = write_mdm(out);
	if (rc == 0)
		rc = write_commands(out);
	if (rc == 0)
		rc = write_runs(out);
	if (rc == 0)
		rc = write_fleet(out, s);
	if (rc == 0)
		rc = write_certs(out, s);
	if (rc == 0)
		rc = write_push(out, s);
	return rc;
}

int metrics_peer_is_loopback(const char *peer)
{
	char ip[64];
	struct in_addr a4;
	struct in6_addr a6;
	const char *colon = peer ? strrchr(peer, ':') : NULL;
	if (colon == NULL || (size_t)(colon - peer) >= sizeof(ip) || colon == peer)
		return 0;
	const char *start = peer;
	size_t len = (size_t)(colon - peer);
	if (peer[0] == '[' && len >= 2 && peer[len - 1] == ']') {
		start++;
		len -= 2;
	}
	memcpy(ip, start, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}
