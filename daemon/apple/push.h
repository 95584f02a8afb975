/*
 * push.h - waking tablets through APNs.
 *
 * A dedicated thread with its own libuv loop, its own database connection
 * and one APNs client (apns.h).  Workers hand it device ids through a
 * bounded, mutex-protected queue and uv_async_send(): they never block and
 * never wait; when the queue is full the id is dropped and counted (the
 * stale re-push job, push_repush(), catches up from the database).  The
 * thread coalesces and retries (push_sched.h), reads each device's token,
 * PushMagic and Topic when its push is due, and writes results back in
 * batches (last_push; push_state "invalid: <reason>" for refused tokens).
 *
 * Push is off when [push] cert is unset (srv->push stays NULL and every
 * function here is a no-op).  A certificate that cannot be used is one log
 * line and a health warning: the daemon runs, nothing is pushed, status
 * says why.  Tokens, PushMagic and the passphrase are never logged.
 */
#ifndef PUSH_H
#define PUSH_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct server;
struct worker;

/* Counters and state for `ardoisectl push status`. */
struct push_status {
	int enabled;	  /* [push] cert is set */
	int usable;	  /* the certificate loaded: pushes go out */
	int cert_problem; /* the certificate is unusable, or APNs refused it */
	char topic[256];  /* the certificate's UID */
	char host[256];
	int port;
	int64_t cert_not_after; /* seconds since the epoch, 0 when unknown */
	char cert_subject[256];
	char state[16];		   /* connection state (apns_state_name) */
	uint64_t notified;	   /* reasons to push received (queued, manual, re-push) */
	uint64_t coalesced;	   /* ... merged into a push already planned */
	uint64_t dropped;	   /* ... lost because the queue was full */
	uint64_t skipped;	   /* devices not pushable when due (no token, unenrolled) */
	uint64_t sent;		   /* accepted by APNs (200) */
	uint64_t failed;	   /* pushes given up: refused, bad token, out of retries */
	uint64_t retried;	   /* retries planned after 429/5xx/connection loss */
	uint64_t invalidated;	   /* tokens marked invalid by this process */
	uint64_t connects;	   /* connections that got ready */
	uint64_t connect_failures; /* connection attempts that failed */
	uint64_t repush_checks;	   /* runs of the re-push job */
	uint64_t by_reason[48];	   /* failed attempts by APNs reason (apns_reason_name) */
	size_t n_reasons;
	size_t waiting, in_flight;
	size_t unwritten; /* results not yet written to the store */
	int settled;	  /* the push thread's part of idle (push_status_get adds the hand-off) */
	int idle;	  /* nothing handed off, waiting, in flight or unwritten: no push
			   * goes out until something new asks for one */
	char last_error[300]; /* the latest problem of any kind */
	int64_t last_error_at;
	char cert_error[300]; /* the latest certificate problem */
};

/* Starts the push thread when [push] cert is set.  Returns 0 (also when
 * the certificate is unusable: logged, status shows it), AP_ECONFIG for a
 * bad [push] url, AP_EPERM when the key file is readable by others (the
 * daemon refuses to start, as for its own keys), AP_ENOMEM. */
int push_start(struct server *srv);
/* Drain: no new work, pushes due or in flight finish within [push]
 * drain_ms, results are written, the thread exits and everything is freed.
 * Call after the workers have stopped.  No-op when push is off. */
void push_stop(struct server *srv);

/* A reload (SIGHUP, main thread): loads the identity of c's [push] cert,
 * key, passphrase and ca and, when it differs from the one in use (another
 * certificate, or paths_changed: one of those keys changed), hands it to
 * the push thread, whose next APNs connection uses it (the open one keeps
 * the old identity until it ends).  1 when handed over, 0 when nothing
 * changed or push is off in both, AP_EUNSUPPORTED when push would have to
 * be turned on or off (a restart does that: push was off, or its
 * certificate unusable, at start), or the error of an unusable identity
 * (logged; the one in use is kept). */
int push_reload(struct server *srv, const struct config *c, int paths_changed);

/* cmdq_queue() queued a command for device_id: push it (coalesced). */
void push_notify(struct worker *w, int64_t device_id);
/* A push requested by staff (manual: due now) or by the re-push job
 * (coalesced).  0, AP_EUNSUPPORTED when push is off or its certificate is
 * unusable, AP_ELIMIT when the queue is full (dropped, counted). */
int push_request(struct server *srv, int64_t device_id, int manual);

/* A snapshot of the counters (any thread).  Zeroes when push is off. */
void push_status_get(struct server *srv, struct push_status *ret);
/* One line for /healthz and status when something needs an operator
 * (certificate unusable or refused, expiry within expiry_warn_days, topic
 * differing from [mdm] topic); returns 1 then, else 0 and out = "". */
int push_warning(struct server *srv, char *out, size_t cap);
/* ardoised -n: checks [push] (url, certificate, key, topic); one line
 * describing it, or the problem, into out.  0 when push is off or fine. */
int push_check(const struct config *c, char *out, size_t cap);

/* Jobs (worker 0, jobs.c): hands devices due for a re-push to the push
 * thread (db_mdm_push_due, at most [push] repush_batch), and logs a warning
 * when the certificate expires within [push] expiry_warn_days. */
int push_repush(struct worker *w);
int push_cert_check(struct worker *w);

#endif
