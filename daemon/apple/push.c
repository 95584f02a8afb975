/*
 * push.c - the push thread: hand-off from the workers, schedule, APNs
 * client, results written back to the database.
 *
 * Threads: workers call push_notify()/push_request()/push_status_get()/
 * push_warning(); everything else runs on the push thread.  What workers
 * touch is either read-only after push_start() (certificate facts, config)
 * or behind `lock` (the hand-off) or `stat_lock` (the counters).
 *
 * Results are batched: an APNs answer adds a row to `results`, written in
 * one transaction every FLUSH_MS (or when RESULTS_BATCH rows wait).  The
 * thread's connection waits at most BUSY_MS for the write lock, so a long
 * transaction elsewhere (a bulk of 100,000 commands) does not stall pushing:
 * the rows wait for a later flush.  While they wait, new pushes are held
 * (at most HOLD_MS): a long write elsewhere is typically a bulk whose
 * commands are not committed yet, so a tablet woken now would find nothing,
 * and the CPU is better left to the bulk.  The buffer grows up to queue_size rows;
 * past that, plain last_push rows are dropped first (the re-push job may
 * then push a device once more), invalid-token rows are kept.
 */
#include "push.h"
#include "ap_err.h"
#include "apns.h"
#include "db_mdm.h"
#include "isodate.h"
#include "keystore.h"
#include "log.h"
#include "push_sched.h"
#include "worker.h"
#include "store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_MS      100
#define HOLD_MS	      10000 /* longest hold of new pushes while results cannot be written */
#define BUSY_MS	      20    /* ms: never stall the loop on another connection's write lock */
#define RESULTS_BATCH 2048
#define REPUSH_GRACE  60 /* s: a notification normally gets pushed well within this */
#define DAY	      86400

struct handoff {
	int64_t id;
	int kind; /* enum push_kind */
};

struct result {
	int64_t id;
	int64_t at;
	char state[48];	      /* "" or "invalid: <reason>" */
	unsigned char *token; /* malloc'd, only with a state */
	size_t token_len;
};

struct push {
	struct server *srv;
	const struct config *cfg;
	/* fixed at start */
	int usable;
	struct keystore_push_info info;
	SSL_CTX *ctx;
	struct apns_opts ao;
	char start_error[300];
	/* the main thread's copy of the identity last loaded (push_reload()) */
	struct keystore_push_info loaded;
	/* hand-off, under lock: workers append to `in`, the thread swaps */
	uv_mutex_t lock;
	SSL_CTX *next_ctx; /* a reloaded identity for the thread's next connection */
	struct keystore_push_info next_info;
	struct handoff *in, *out;
	size_t in_len, cap;
	uint64_t accepted; /* hand-offs taken by enqueue(); st.notified counts those planned */
	int stopping;
	_Atomic uint64_t dropped;
	/* the thread's own */
	uv_thread_t thread;
	int started;
	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t due_timer, flush_timer, drain_timer;
	int handles_open;
	struct db *db;
	struct apns *apns;
	struct push_sched *sched;
	struct result *results;
	size_t n_results, results_cap;
	int draining, finished, mismatch_logged;
	unsigned flush_fails; /* consecutive failed result flushes (busy) */
	uint64_t held_since;  /* loop time of the first of them */
	char logged_error[300];
	/* counters, under stat_lock */
	uv_mutex_t stat_lock;
	struct push_status st;
};

/* ---- counters --------------------------------------------------------------- */

/* The thread's state for status; call under stat_lock (with the counters a
 * change goes with, so a snapshot never sees one without the other). */
static void state_locked(struct push *p)
{
	p->st.waiting = push_sched_waiting(p->sched);
	p->st.in_flight = p->apns ? apns_in_flight(p->apns) : 0;
	p->st.unwritten = p->n_results;
	p->st.settled =
	    p->st.waiting == 0 && push_sched_in_flight(p->sched) == 0 && p->n_results == 0;
}

#define STAT(p, stmt)                             \
	do {                                      \
		uv_mutex_lock(&(p)->stat_lock);   \
		stmt;                             \
		uv_mutex_unlock(&(p)->stat_lock); \
	} while (0)

static void count_reason(struct push *p, const char *reason)
{
	size_t i = apns_reason_index(reason);
	if (i < sizeof(p->st.by_reason) / sizeof(p->st.by_reason[0]))
		STAT(p, p->st.by_reason[i]++);
}

/* Records an error for status; logs it when it differs from the last one
 * logged (one line per problem, not one per reconnect). */
static void note_error(struct push *p, const char *event, const char *error, int cert)
{
	char e[360];
	STAT(p, {
		snprintf(p->st.last_error, sizeof(p->st.last_error), "%s", error);
		p->st.last_error_at = db_now();
		if (cert) {
			p->st.cert_problem = 1;
			snprintf(p->st.cert_error, sizeof(p->st.cert_error), "%s", error);
		}
	});
	if (strcmp(p->logged_error, error) == 0)
		return;
	snprintf(p->logged_error, sizeof(p->logged_error), "%s", error);
	log_warn(event, "error=%s certificate_problem=%d", log_esc(error, e, sizeof(e)), cert);
}

/* A connection failure that is the certificate's fault (TLS alerts about
 * it, or our trust of the server). */
static int is_cert_error(const char *error)
{
	return strstr(error, "certificate") != NULL || strstr(error, "alert") != NULL;
}

/* ---- results -------------------------------------------------------------------- */

static void on_flush_timer(uv_timer_t *t);

static void flush_results(struct push *p)
{
	size_t n = p->n_results;
	if (n == 0)
		return;
	int rc = db_begin(p->db);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct result *r = &p->results[i];
		rc = db_mdm_push_result(p->db, r->id, r->at, r->token, r->token_len,
					r->state[0] ? r->state : NULL);
	}
	if (rc == 0)
		rc = db_commit(p->db);
	else
		db_rollback(p->db);
	if (rc < 0) {
		/* busy: another connection writes; the rows wait for the timer */
		if (p->flush_fails++ == 0)
			p->held_since = uv_now(&p->loop);
		if (p->flush_fails == 50)
			log_warn("push_results_delayed", "rows=%zu error=\"%s\" attempts=50", n,
				 ap_strerror(rc));
		uv_timer_start(&p->flush_timer, on_flush_timer, FLUSH_MS, 0);
		return;
	}
	if (p->flush_fails) {
		uint64_t held = uv_now(&p->loop) - p->held_since;
		p->flush_fails = 0;
		if (held > 1000)
			log_info("push_resumed", "held_ms=%llu reason=database_busy",
				 (unsigned long long)held);
	}
	for (size_t i = 0; i < n; i++)
		free(p->results[i].token);
	p->n_results = 0;
	STAT(p, state_locked(p));
}

/* Keeps only the rows that matter most when the buffer is full. */
static void shed_results(struct push *p)
{
	size_t k = 0, shed = 0;
	for (size_t i = 0; i < p->n_results; i++) {
		if (p->results[i].state[0])
			p->results[k++] = p->results[i];
		else
			shed++;
	}
	p->n_results = k;
	log_warn("push_results_shed", "rows=%zu", shed);
}

static void pump(struct push *p);

static void on_flush_timer(uv_timer_t *t)
{
	struct push *p = t->data;
	int held = p->flush_fails > 0;
	flush_results(p);
	if (held)
		pump(p); /* resumes the pushes held (written, or held long enough) */
}

/* Room for one more row: grows the buffer up to queue_size rows. */
static int results_room(struct push *p)
{
	if (p->n_results < p->results_cap)
		return 1;
	size_t cap = p->results_cap * 2;
	if (cap > (size_t)p->cfg->push_queue_size)
		cap = (size_t)p->cfg->push_queue_size;
	struct result *r = cap > p->results_cap ? realloc(p->results, cap * sizeof(*r)) : NULL;
	if (r == NULL)
		return 0;
	p->results = r;
	p->results_cap = cap;
	return 1;
}

static void add_result(struct push *p, int64_t id, const char *state, const char *token_hex)
{
	if (!results_room(p)) {
		flush_results(p);
		if (p->n_results == p->results_cap)
			shed_results(p);
		if (p->n_results == p->results_cap)
			return; /* all invalid-token rows: the newest waits for APNs to say it again */
	}
	struct result *r = &p->results[p->n_results];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->at = db_now();
	if (state) {
		size_t n = strlen(token_hex) / 2;
		snprintf(r->state, sizeof(r->state), "%s", state);
		r->token = malloc(n ? n : 1);
		if (r->token == NULL)
			return;
		for (size_t i = 0; i < n; i++) {
			unsigned v = 0;
			sscanf(token_hex + 2 * i, "%2x", &v);
			r->token[i] = (unsigned char)v;
		}
		r->token_len = n;
	}
	p->n_results++;
	if (p->n_results % RESULTS_BATCH == 0 && p->flush_fails == 0)
		flush_results(p);
	else if (!uv_is_active((uv_handle_t *)&p->flush_timer))
		uv_timer_start(&p->flush_timer, on_flush_timer, FLUSH_MS, 0);
}

/* ---- sending -------------------------------------------------------------------- */

static void check_drained(struct push *p);

/* The device's push credentials; forgets it when it cannot be pushed. */
static int device_for_push(struct push *p, int64_t id, struct db_device *d)
{
	int rc = db_mdm_by_id(p->db, id, d);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	if (rc == AP_ENOTFOUND || strcmp(d->enrollment, "enrolled") != 0 ||
	    d->push_token_len == 0 || d->push_magic[0] == '\0' || d->push_state[0]) {
		push_sched_forget(p->sched, id);
		STAT(p, p->st.skipped++);
		log_debug("push_skipped", "device=%lld reason=not_pushable", (long long)id);
		return AP_ENOTFOUND;
	}
	if (strcmp(d->topic, p->info.topic) != 0) {
		push_sched_forget(p->sched, id);
		count_reason(p, "TopicMismatch");
		STAT(p, p->st.failed++);
		add_result(p, id, NULL, "");
		if (!p->mismatch_logged++)
			log_warn("push_topic_mismatch",
				 "device=%lld device_topic=%s certificate_topic=%s (logged once)",
				 (long long)id, d->topic, p->info.topic);
		return AP_ECONFLICT;
	}
	return 0;
}

/* Hands one due device to APNs; AP_EBUSY when the connection took nothing
 * (the device is due again at once: stop for now). */
static int submit(struct push *p, int64_t id)
{
	struct db_device d;
	char hex[2 * sizeof(d.push_token) + 1];
	uint64_t now = uv_now(&p->loop);
	int rc = device_for_push(p, id, &d);
	if (rc == AP_ENOTFOUND || rc == AP_ECONFLICT)
		return 0;
	if (rc < 0) { /* database busy: try again later */
		push_sched_done(p->sched, id, PUSH_END_RETRY, now, NULL);
		return 0;
	}
	if (apns_hex(d.push_token, d.push_token_len, hex, sizeof(hex)) < 0 ||
	    (rc = apns_push(p->apns, hex, d.topic, d.push_magic, (uint64_t)id)) == AP_EINVAL) {
		push_sched_done(p->sched, id, PUSH_END_DROP, now, NULL);
		count_reason(p, "Other");
		STAT(p, p->st.failed++);
		return 0;
	}
	if (rc < 0)
		push_sched_done(p->sched, id, PUSH_END_RESEND, now, NULL);
	return rc < 0 ? AP_EBUSY : 0;
}

static void on_due(uv_timer_t *t);

/* Sends what is due while the connection has room; connects when needed;
 * arms the timer for the next due push. */
static void pump(struct push *p)
{
	int64_t id;
	enum push_kind kind;
	if (p->finished)
		return;
	uv_update_time(&p->loop);
	uint64_t now = uv_now(&p->loop);
	if (p->flush_fails && !p->draining && now - p->held_since < HOLD_MS)
		return; /* the flush timer pumps once the results are written */
	size_t room = apns_room(p->apns);
	while (room > 0 && push_sched_next(p->sched, now, &id, &kind)) {
		if (submit(p, id) == AP_EBUSY)
			break;
		room = apns_room(p->apns);
	}
	if (room == 0 && push_sched_due(p->sched, now))
		apns_want(p->apns);
	uint64_t due = push_sched_next_due(p->sched);
	if (due != UINT64_MAX && due > now)
		uv_timer_start(&p->due_timer, on_due, due - now, 0);
	STAT(p, state_locked(p));
	if (p->draining)
		check_drained(p);
}

static void on_due(uv_timer_t *t)
{
	pump(t->data);
}

/* ---- APNs handler ------------------------------------------------------------------ */

static void answer_failed(struct push *p, int64_t id, const struct apns_result *r,
			  enum apns_outcome o, uint64_t now)
{
	char reason[80], e[300];
	log_esc(r->reason, reason, sizeof(reason));
	if (o == APNS_BAD_TOKEN) {
		char state[48];
		snprintf(state, sizeof(state), "invalid: %.30s", r->reason[0] ? r->reason : "410");
		push_sched_done(p->sched, id, PUSH_END_DROP, now, NULL);
		add_result(p, id, state, r->token);
		STAT(p, p->st.failed++; p->st.invalidated++);
		log_info("push_token_invalid", "device=%lld status=%d reason=%s", (long long)id,
			 r->status, reason);
		return;
	}
	push_sched_done(p->sched, id, PUSH_END_DROP, now, NULL);
	add_result(p, id, NULL, "");
	STAT(p, p->st.failed++);
	if (o == APNS_CERT) {
		snprintf(e, sizeof(e), "APNs refused the certificate or topic: %d %s", r->status,
			 r->reason);
		note_error(p, "push_certificate_refused", e, 1);
	} else {
		log_info("push_refused", "device=%lld status=%d reason=%s", (long long)id,
			 r->status, reason);
	}
}

static void answer_retry(struct push *p, int64_t id, const struct apns_result *r, uint64_t now)
{
	unsigned attempt = 0;
	char reason[80];
	if (p->draining) {
		push_sched_done(p->sched, id, PUSH_END_DROP, now, NULL);
		return;
	}
	if (push_sched_done(p->sched, id, PUSH_END_RETRY, now, &attempt) == 1) {
		add_result(p, id, NULL, "");
		STAT(p, p->st.failed++);
		log_info("push_gave_up", "device=%lld attempts=%u last_status=%d reason=%s",
			 (long long)id, attempt, r->status,
			 log_esc(r->reason, reason, sizeof(reason)));
		return;
	}
	STAT(p, p->st.retried++);
	log_debug("push_retry", "device=%lld attempt=%u status=%d", (long long)id, attempt,
		  r->status);
}

static void on_done(void *arg, uint64_t tag, const struct apns_result *r)
{
	struct push *p = arg;
	int64_t id = (int64_t)tag;
	uint64_t now = uv_now(&p->loop);
	enum apns_outcome o = apns_classify(r);
	if (p->finished)
		return;
	if (o != APNS_OK && o != APNS_RESEND)
		count_reason(p, r->reason);
	switch (o) {
	case APNS_OK:
		push_sched_done(p->sched, id, PUSH_END_OK, now, NULL);
		add_result(p, id, NULL, "");
		STAT(p, p->st.sent++);
		break;
	case APNS_RESEND:
		push_sched_done(p->sched, id, p->draining ? PUSH_END_DROP : PUSH_END_RESEND, now,
				NULL);
		break;
	case APNS_RETRY:
		answer_retry(p, id, r, now);
		break;
	default:
		answer_failed(p, id, r, o, now);
		break;
	}
	STAT(p, state_locked(p));
}

static void on_room(void *arg)
{
	pump(arg);
}

static void on_state(void *arg, enum apns_state s, const char *error)
{
	struct push *p = arg;
	STAT(p, snprintf(p->st.state, sizeof(p->st.state), "%s", apns_state_name(s));
	     p->st.connect_failures += error[0] != '\0');
	if (error[0])
		note_error(p, "push_connection_failed", error, is_cert_error(error));
	if (s == APNS_READY) {
		STAT(p, p->st.connects++; p->st.cert_problem = 0);
		p->logged_error[0] = '\0';
		log_info("push_connected", "host=%s port=%d", p->ao.host, p->ao.port);
	}
	if (p->draining && (s == APNS_BACKOFF || s == APNS_IDLE))
		check_drained(p);
}

/* ---- hand-off ------------------------------------------------------------------------ */

static int enqueue(struct push *p, int64_t id, enum push_kind k)
{
	int was_empty, rc = 0;
	uv_mutex_lock(&p->lock);
	if (p->stopping || p->in_len == p->cap) {
		rc = p->stopping ? AP_EUNSUPPORTED : AP_ELIMIT;
	} else {
		was_empty = p->in_len == 0;
		p->in[p->in_len++] = (struct handoff){id, k};
		p->accepted++;
	}
	uv_mutex_unlock(&p->lock);
	if (rc == AP_ELIMIT)
		atomic_fetch_add(&p->dropped, 1);
	else if (rc == 0 && was_empty)
		uv_async_send(&p->wake);
	return rc;
}

static void begin_drain(struct push *p);

/* On the thread: a reloaded identity (taken under lock) becomes the one
 * the next APNs connection uses; the open connection keeps its own. */
static void adopt_identity(struct push *p, SSL_CTX *ctx, const struct keystore_push_info *info)
{
	apns_set_ctx(p->apns, ctx);
	SSL_CTX_free(p->ctx);
	p->ctx = ctx;
	p->info = *info;
	STAT(p, snprintf(p->st.topic, sizeof(p->st.topic), "%s", info->topic);
	     snprintf(p->st.cert_subject, sizeof(p->st.cert_subject), "%s", info->subject);
	     p->st.cert_not_after = info->not_after; p->st.cert_problem = 0;
	     p->st.cert_error[0] = '\0');
	p->mismatch_logged = 0;
	log_info("push_identity_reloaded", "topic=%s certificate_expires=%lld", info->topic,
		 (long long)info->not_after);
}

static void on_wake(uv_async_t *a)
{
	struct push *p = a->data;
	size_t n;
	int stopping;
	uv_mutex_lock(&p->lock);
	SSL_CTX *next_ctx = p->next_ctx;
	struct keystore_push_info next_info = p->next_info;
	p->next_ctx = NULL;
	struct handoff *batch = p->in;
	n = p->in_len;
	p->in = p->out;
	p->out = batch;
	p->in_len = 0;
	stopping = p->stopping;
	uv_mutex_unlock(&p->lock);
	if (next_ctx)
		adopt_identity(p, next_ctx, &next_info);
	uv_update_time(&p->loop);
	uint64_t now = uv_now(&p->loop), merged = 0, full = 0;
	for (size_t i = 0; i < n && !p->finished; i++) {
		int rc =
		    push_sched_notify(p->sched, batch[i].id, (enum push_kind)batch[i].kind, now);
		merged += rc == 1;
		full += rc < 0;
	}
	STAT(p, p->st.notified += n; p->st.coalesced += merged; state_locked(p));
	atomic_fetch_add(&p->dropped, full);
	if (stopping && !p->draining)
		begin_drain(p);
	else
		pump(p);
}

/* ---- drain and stop ---------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	struct push *p = h->data;
	p->handles_open--;
}

static void on_apns_closed(void *arg)
{
	struct push *p = arg;
	p->apns = NULL;
}

static void finish(struct push *p)
{
	if (p->finished)
		return;
	p->finished = 1;
	flush_results(p);
	STAT(p, {
		p->st.waiting = push_sched_waiting(p->sched);
		p->st.in_flight = 0;
	});
	log_info("push_stopped", "unsent=%zu", push_sched_waiting(p->sched));
	apns_close(p->apns, on_apns_closed, p);
	uv_close((uv_handle_t *)&p->wake, on_handle_closed);
	uv_close((uv_handle_t *)&p->due_timer, on_handle_closed);
	uv_close((uv_handle_t *)&p->flush_timer, on_handle_closed);
	uv_close((uv_handle_t *)&p->drain_timer, on_handle_closed);
}

static void on_drained(uv_timer_t *t)
{
	finish(t->data);
}

/* Done when nothing is in flight and nothing more can go out soon.  May run
 * inside the APNs client's callbacks: finishes from the next loop turn. */
static void check_drained(struct push *p)
{
	enum apns_state s = apns_get_state(p->apns);
	int can_send = s != APNS_BACKOFF && s != APNS_CLOSED;
	if (!p->finished && apns_in_flight(p->apns) == 0 &&
	    (push_sched_waiting(p->sched) == 0 || !can_send))
		uv_timer_start(&p->drain_timer, on_drained, 0, 0);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct push *p = t->data;
	log_warn("push_drain_timeout", "in_flight=%zu waiting=%zu", apns_in_flight(p->apns),
		 push_sched_waiting(p->sched));
	finish(p);
}

static void begin_drain(struct push *p)
{
	p->draining = 1;
	uv_update_time(&p->loop);
	push_sched_flush(p->sched, uv_now(&p->loop));
	uv_timer_start(&p->drain_timer, on_drain_timeout, (uint64_t)p->cfg->push_drain_ms, 0);
	pump(p);
}

static void thread_main(void *arg)
{
	struct push *p = arg;
	uv_run(&p->loop, UV_RUN_DEFAULT);
	uv_loop_close(&p->loop);
	db_close(p->db);
	p->db = NULL;
}

/* ---- start --------------------------------------------------------------------------------- */

/* A certificate whose UID is not [mdm] topic pushes none of the tablets. */
static void topic_check(const struct keystore_push_info *info, const struct config *c)
{
	if (strcmp(info->topic, c->topic) != 0)
		log_error("push_topic_mismatch",
			  "certificate_topic=%s mdm_topic=%s: devices enrolled with [mdm] topic "
			  "cannot be pushed with this certificate",
			  info->topic, c->topic);
}

/* Loads the certificate; on failure push stays on but unusable. */
static int load_identity(struct push *p)
{
	const struct config *c = p->cfg;
	char err[300] = "", esc[340];
	int rc = keystore_push_info(c->push_cert, c->push_passphrase, &p->info, err, sizeof(err));
	if (rc == 0)
		rc = keystore_push_ctx(c->push_cert, c->push_key, c->push_passphrase, c->push_ca,
				       &p->ctx, err, sizeof(err));
	if (rc == AP_EPERM || rc == AP_ENOMEM) {
		log_error("push_refused_to_start", "error=%s", log_esc(err, esc, sizeof(esc)));
		return rc;
	}
	if (rc < 0) {
		snprintf(p->start_error, sizeof(p->start_error), "%s", err);
		snprintf(p->st.last_error, sizeof(p->st.last_error), "%s", err);
		snprintf(p->st.cert_error, sizeof(p->st.cert_error), "%s", err);
		p->st.last_error_at = db_now();
		p->st.cert_problem = 1;
		log_error("push_certificate_unusable", "error=%s; nothing will be pushed",
			  log_esc(err, esc, sizeof(esc)));
		return 0;
	}
	p->usable = 1;
	topic_check(&p->info, c);
	return 0;
}

static int init_state(struct push *p)
{
	const struct config *c = p->cfg;
	struct push_sched_opts so = {(uint64_t)c->push_coalesce_ms, (uint64_t)c->push_retry_base_ms,
				     (uint64_t)c->push_retry_max_ms, (unsigned)c->push_retries,
				     (size_t)c->push_queue_size};
	p->cap = (size_t)c->push_queue_size;
	p->in = calloc(p->cap, sizeof(*p->in));
	p->out = calloc(p->cap, sizeof(*p->out));
	p->results_cap = RESULTS_BATCH * 4;
	p->results = calloc(p->results_cap, sizeof(*p->results));
	if (p->in == NULL || p->out == NULL || p->results == NULL)
		return AP_ENOMEM;
	p->st.settled = 1; /* nothing planned yet (the thread has not started) */
	return push_sched_new(&so, &p->sched);
}

static int start_thread(struct push *p)
{
	struct apns_handler h = {p, on_done, on_room, on_state};
	int rc;
	if ((rc = worker_db_open(p->srv, &p->db)) < 0)
		return rc;
	db_set_busy_timeout(p->db, BUSY_MS);
	uv_loop_init(&p->loop);
	if ((rc = apns_new(&p->loop, p->ctx, &p->ao, &h, &p->apns)) < 0) {
		uv_loop_close(&p->loop);
		db_close(p->db);
		return rc;
	}
	uv_async_init(&p->loop, &p->wake, on_wake);
	uv_timer_init(&p->loop, &p->due_timer);
	uv_timer_init(&p->loop, &p->flush_timer);
	uv_timer_init(&p->loop, &p->drain_timer);
	p->wake.data = p->due_timer.data = p->flush_timer.data = p->drain_timer.data = p;
	p->handles_open = 4;
	snprintf(p->st.state, sizeof(p->st.state), "%s", apns_state_name(APNS_IDLE));
	if (uv_thread_create(&p->thread, thread_main, p) != 0)
		return AP_ENOMEM;
	p->started = 1;
	return 0;
}

static void push_free(struct push *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_results; i++)
		free(p->results[i].token);
	free(p->results);
	free(p->in);
	free(p->out);
	push_sched_free(p->sched);
	SSL_CTX_free(p->ctx);
	SSL_CTX_free(p->next_ctx);
	uv_mutex_destroy(&p->lock);
	uv_mutex_destroy(&p->stat_lock);
	free(p);
}

static void set_opts(struct push *p)
{
	const struct config *c = p->cfg;
	p->ao.max_streams = (uint32_t)c->push_max_streams;
	p->ao.timeout_ms = (uint64_t)c->push_timeout_ms;
	p->ao.reconnect_min_ms = (uint64_t)c->push_reconnect_min_ms;
	p->ao.reconnect_max_ms = (uint64_t)c->push_reconnect_max_ms;
	p->st.enabled = 1;
	p->st.n_reasons = apns_n_reasons();
	snprintf(p->st.host, sizeof(p->st.host), "%s", p->ao.host);
	p->st.port = p->ao.port;
}

int push_start(struct server *srv)
{
	const struct config *c = &srv->cfg;
	struct push *p;
	int rc;
	if (c->push_cert[0] == '\0')
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return AP_ENOMEM;
	p->srv = srv;
	p->cfg = c;
	uv_mutex_init(&p->lock);
	uv_mutex_init(&p->stat_lock);
	if (apns_parse_url(c->push_url, p->ao.host, sizeof(p->ao.host), &p->ao.port) < 0) {
		log_error("push_bad_url",
			  "url=%s: expected https://host[:port], production or "
			  "development",
			  c->push_url);
		push_free(p);
		return AP_ECONFIG;
	}
	set_opts(p);
	if ((rc = load_identity(p)) < 0 || (rc = init_state(p)) < 0 ||
	    (p->usable && (rc = start_thread(p)) < 0)) {
		push_free(p);
		return rc;
	}
	p->st.usable = p->usable;
	snprintf(p->st.topic, sizeof(p->st.topic), "%s", p->info.topic);
	snprintf(p->st.cert_subject, sizeof(p->st.cert_subject), "%s", p->info.subject);
	p->st.cert_not_after = p->info.not_after;
	p->loaded = p->info;
	srv->push = p;
	if (p->usable)
		log_info("push_started",
			 "topic=%s host=%s port=%d certificate_expires=%lld coalesce_ms=%lld",
			 p->info.topic, p->ao.host, p->ao.port, (long long)p->info.not_after,
			 (long long)c->push_coalesce_ms);
	return 0;
}

void push_stop(struct server *srv)
{
	struct push *p = srv->push;
	if (p == NULL)
		return;
	if (p->started) {
		uv_mutex_lock(&p->lock);
		p->stopping = 1;
		uv_mutex_unlock(&p->lock);
		uv_async_send(&p->wake);
		uv_thread_join(&p->thread);
	}
	srv->push = NULL;
	push_free(p);
}

/* ---- worker side ------------------------------------------------------------------------------- */

void push_notify(struct worker *w, int64_t device_id)
{
	push_request(w->srv, device_id, 0);
}

int push_request(struct server *srv, int64_t device_id, int manual)
{
	struct push *p = srv->push;
	if (p == NULL || !p->usable)
		return AP_EUNSUPPORTED;
	return enqueue(p, device_id, manual ? PUSH_MANUAL : PUSH_QUEUED);
}

static int repush_one(int64_t id, void *arg)
{
	struct push *p = arg;
	return enqueue(p, id, PUSH_REPUSH) == AP_ELIMIT; /* full: stop for this run */
}

int push_repush(struct worker *w)
{
	struct push *p = w->srv->push;
	const struct config *c = &w->srv->cfg;
	if (p == NULL || !p->usable)
		return 0;
	struct db_repush rp = {db_now(), REPUSH_GRACE + c->push_coalesce_ms / 1000,
			       c->push_repush_min_s, c->push_repush_max_s};
	int rc = db_mdm_push_due(w->db, &rp, c->push_repush_batch, repush_one, p);
	STAT(p, p->st.repush_checks++);
	return rc;
}

void push_status_get(struct server *srv, struct push_status *ret)
{
	struct push *p = srv->push;
	memset(ret, 0, sizeof(*ret));
	if (p == NULL)
		return;
	uv_mutex_lock(&p->lock); /* first: what the thread has planned since only adds to it */
	uint64_t accepted = p->accepted;
	uv_mutex_unlock(&p->lock);
	uv_mutex_lock(&p->stat_lock);
	*ret = p->st;
	uv_mutex_unlock(&p->stat_lock);
	ret->dropped = atomic_load(&p->dropped);
	ret->idle = ret->settled && ret->notified == accepted;
}

/* The local day of t, as the API writes days. */
static void day_of(int64_t t, char *out, size_t cap)
{
	char day[ISODATE_DAY_LEN + 1];
	isodate_format_day(t, day);
	snprintf(out, cap, "%s", day);
}

int push_warning(struct server *srv, char *out, size_t cap)
{
	struct push_status st;
	char day[16];
	out[0] = '\0';
	push_status_get(srv, &st);
	if (!st.enabled)
		return 0;
	int64_t left = st.cert_not_after - (int64_t)time(NULL);
	day_of(st.cert_not_after, day, sizeof(day));
	if (!st.usable || st.cert_problem)
		snprintf(out, cap, "push: certificate problem: %s", st.cert_error);
	else if (left < srv->cfg.push_expiry_warn_days * DAY)
		snprintf(out, cap,
			 "push: certificate expires in %lld days (%s): renew it with the "
			 "same Apple account to keep the topic",
			 (long long)(left > 0 ? left / DAY : 0), day);
	else if (strcmp(st.topic, srv->cfg.topic) != 0)
		snprintf(out, cap, "push: certificate topic %s differs from [mdm] topic %s",
			 st.topic, srv->cfg.topic);
	return out[0] != '\0';
}

/* Expiry only: an unusable or refused certificate was logged when seen. */
int push_cert_check(struct worker *w)
{
	struct push *p = w->srv->push;
	struct push_status st;
	char day[16];
	if (p == NULL || !p->usable)
		return 0;
	push_status_get(w->srv, &st); /* the identity may be reloaded meanwhile */
	int64_t left = st.cert_not_after - (int64_t)time(NULL);
	if (left >= w->srv->cfg.push_expiry_warn_days * DAY)
		return 0;
	day_of(st.cert_not_after, day, sizeof(day));
	log_warn("push_certificate_expiring",
		 "days=%lld not_after=%s topic=%s: renew it with the same Apple account",
		 (long long)(left > 0 ? left / DAY : 0), day, st.topic);
	return 0;
}

int push_check(const struct config *c, char *out, size_t cap)
{
	struct keystore_push_info info;
	char host[256], err[300] = "", day[16];
	SSL_CTX *ctx = NULL;
	int port, rc;
	if (c->push_cert[0] == '\0') {
		snprintf(out, cap, "push: off ([push] cert is not set)");
		return 0;
	}
	if (apns_parse_url(c->push_url, host, sizeof(host), &port) < 0) {
		snprintf(out, cap, "push: [push] url '%s' is not https://host[:port]", c->push_url);
		return AP_ECONFIG;
	}
	rc = keystore_push_info(c->push_cert, c->push_passphrase, &info, err, sizeof(err));
	if (rc == 0)
		rc = keystore_push_ctx(c->push_cert, c->push_key, c->push_passphrase, c->push_ca,
				       &ctx, err, sizeof(err));
	SSL_CTX_free(ctx);
	if (rc < 0) {
		snprintf(out, cap, "push: %s", err);
		return rc;
	}
	day_of(info.not_after, day, sizeof(day));
	if (strcmp(info.topic, c->topic) != 0) {
		snprintf(out, cap, "push: certificate topic %s differs from [mdm] topic %s",
			 info.topic, c->topic);
		return AP_ECONFIG;
	}
	snprintf(out, cap, "push: topic %s, certificate valid until %s, APNs at %s:%d", info.topic,
		 day, host, port);
	return 0;
}

int push_reload(struct server *srv, const struct config *c, int paths_changed)
{
	struct push *p = srv->push;
	struct keystore_push_info info;
	SSL_CTX *ctx = NULL;
	char err[300] = "", esc[340];
	if (p == NULL || !p->usable || c->push_cert[0] == '\0')
		return (p && p->usable) || c->push_cert[0] ? AP_EUNSUPPORTED : 0;
	int rc = keystore_push_info(c->push_cert, c->push_passphrase, &info, err, sizeof(err));
	if (rc == 0)
		rc = keystore_push_ctx(c->push_cert, c->push_key, c->push_passphrase, c->push_ca,
				       &ctx, err, sizeof(err));
	if (rc < 0) {
		log_error("push_reload_failed", "error=%s kept=identity_in_use",
			  log_esc(err, esc, sizeof(esc)));
		return rc;
	}
	if (!paths_changed && strcmp(info.subject, p->loaded.subject) == 0 &&
	    info.not_before == p->loaded.not_before && info.not_after == p->loaded.not_after) {
		SSL_CTX_free(ctx);
		return 0;
	}
	topic_check(&info, c);
	p->loaded = info;
	uv_mutex_lock(&p->lock);
	SSL_CTX_free(p->next_ctx); /* a reload the thread has not taken yet */
	p->next_ctx = ctx;
	p->next_info = info;
	uv_mutex_unlock(&p->lock);
	uv_async_send(&p->wake);
	return 1;
}
