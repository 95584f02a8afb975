/*
 * metrics.h - the process's counters and histograms, and the Prometheus
 * text exposition (format 0.0.4) of them for GET /metrics.
 *
 * One registry for the process: every count is a relaxed atomic, so that
 * a worker, the push thread or a database hook counts without a lock and
 * without waiting (a session costs a few uncontended increments).  The
 * scrape reads each value once; values counted during a scrape may show
 * in the next one.  Gauges that come from the database or from other
 * modules (queue depth, tablets, certificates, push results) are read by
 * the route at scrape time and handed to metrics_write() in a struct
 * metrics_scrape.  No I/O here.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ap_buf.h"
#include "ap_cmd.h"

/* The class of a request's route, for the latency histogram. */
enum metrics_class {
	METRICS_MDM,	 /* /mdm/checkin, /mdm/connect */
	METRICS_SCEP,	 /* /scep */
	METRICS_ENROLL,	 /* /mdm/enroll, /mdm/ade/enroll */
	METRICS_API,	 /* /api/v1/... and /healthz */
	METRICS_WEB,	 /* the pages and their assets */
	METRICS_METRICS, /* /metrics */
	METRICS__CLASSES
};

/* A check-in message (PUT /mdm/checkin). */
enum metrics_checkin {
	METRICS_CI_AUTHENTICATE,
	METRICS_CI_TOKEN_UPDATE,
	METRICS_CI_DECLARATIVE,
	METRICS_CI_CHECKOUT,
	METRICS_CI_OTHER, /* unparsed, refused before reading, or unknown */
	METRICS__CHECKINS
};

/* What a command-channel request (PUT /mdm/connect) ended in. */
enum metrics_connect {
	METRICS_CONN_COMMAND_SENT, /* a command went out with the answer */
	METRICS_CONN_IDLE,	   /* nothing to send: the empty answer */
	METRICS_CONN_NOT_NOW,	   /* the tablet said NotNow: nothing more this session */
	METRICS_CONN_REFUSED,	   /* 4xx: identity, unknown tablet, bad message */
	METRICS_CONN_FAILED,	   /* 5xx: storage */
	METRICS__CONNECTS
};

/* The status a tablet reported on the command channel. */
enum metrics_report {
	METRICS_REP_IDLE,
	METRICS_REP_ACKNOWLEDGED,
	METRICS_REP_ERROR,
	METRICS_REP_FORMAT_ERROR,
	METRICS_REP_NOT_NOW,
	METRICS__REPORTS
};

/* A command's life, by type. */
enum metrics_cmd_event {
	METRICS_CMD_QUEUED,	  /* cmdq_queue() stored it */
	METRICS_CMD_DELIVERED,	  /* sent to the tablet in an answer */
	METRICS_CMD_ACKNOWLEDGED, /* the tablet acknowledged it */
	METRICS_CMD_ERROR,	  /* Error or CommandFormatError */
	METRICS__CMD_EVENTS
};

enum metrics_tls { METRICS_TLS_FULL, METRICS_TLS_RESUMED, METRICS_TLS_FAILED, METRICS__TLS };

/* A reconciliation run's scope. */
enum metrics_reconcile {
	METRICS_REC_FLEET,
	METRICS_REC_SCHOOL,
	METRICS_REC_TABLET,
	METRICS__RECONCILES
};

/* The start time and the version shown as ardoise_build_info. */
void metrics_init(int64_t start_time_s, const char *version);

/* The class of a route pattern (req.h's r->route); NULL (no route
 * matched) is web, where the pages' catch-all would have taken it. */
enum metrics_class metrics_class_of(const char *route);

/* The counting side: any thread, never blocks.  Out-of-range enums are
 * ignored. */
void metrics_request(enum metrics_class c, uint64_t ns);
void metrics_connection(int delta); /* +1 accepted, -1 closed */
void metrics_tls(enum metrics_tls t);
void metrics_checkin(enum metrics_checkin m, int http_status);
void metrics_connect(enum metrics_connect o);
void metrics_report(enum metrics_report s);
/* type: a RequestType name (ap_cmd_name()); unknown names are ignored */
void metrics_command(enum metrics_cmd_event e, const char *type);
void metrics_command_type(enum metrics_cmd_event e, enum ap_cmd_type t);
void metrics_reconcile(enum metrics_reconcile s, int ok, uint64_t ns);
void metrics_db_tx(uint64_t ns); /* a write transaction, BEGIN IMMEDIATE to COMMIT/ROLLBACK */
/* a group commit (conn.c) that wrote ended, ok or rolled back, with
 * requests answers held for it */
void metrics_group_commit(unsigned requests, int ok);
/* a tablet request put off until its loop's turn of the write lock (conn.c) */
void metrics_group_deferred(void);
/* time a thread spent blocked for the write lock (db_set_lock_wait_hook()) */
void metrics_db_lock_wait(int grouped, uint64_t ns);

/* What the route reads at scrape time.  A count < 0 is not shown (not
 * known: the database could not be read); an expiry of 0 is not shown
 * (no such certificate). */
#define METRICS_MAX_REASONS 48
struct metrics_scrape {
	int64_t pending[3]; /* commands queued, sent, notnow */
	int64_t enrolled;
	int64_t not_seen_7d, not_seen_30d;
	int64_t cert_push, cert_server, cert_ca, cert_ade, cert_vpp; /* notAfter, Unix s */
	int push_enabled;
	uint64_t push_sent, push_failed, push_dropped, push_retried;
	const char *const *reason_names; /* n_reasons names, for by_reason */
	const uint64_t *by_reason;
	size_t n_reasons;
};

/* Appends the whole exposition to out.  AP_ENOMEM / AP_ELIMIT when out
 * is full (out then holds a truncated text: do not serve it). */
int metrics_write(struct ap_buf *out, const struct metrics_scrape *s);

/* A label value with \, " and newline escaped as the format wants. */
int metrics_write_label_value(struct ap_buf *out, const char *v);

/* 1 when peer ("ip:port", "[ip]:port" or "ip6:port" as conn.c writes it)
 * is on 127.0.0.0/8 or is ::1 (or ::ffff:127.x.y.z); 0 otherwise, and for
 * anything unparsable. */
int metrics_peer_is_loopback(const char *peer);

#endif
