/*
 * api_metrics.c - GET /metrics: the process's counters (core/metrics.h)
 * and the fleet's figures in Prometheus text format 0.0.4, for the
 * monitoring a département already runs.
 *
 *   GET /metrics    [metrics] access decides who:
 *                   loopback  peers on 127.0.0.0/8 or ::1, no token (403
 *                             to others, token or not)
 *                   account   a bearer token of a monitoring account or
 *                             a technician (AZ_METRICS)
 *                   off       404, as if there were no such route
 *
 * The figures read from the database are cached for the whole process:
 * commands pending 15 s, tablets enrolled and not seen 60 s, certificates
 * and tokens 60 s, so that scrapes over a large fleet stay cheap whatever
 * their rate (one grouped query each, a scan of the enrolled tablets at
 * most once a minute).  The first scrape reads them on its loop; later
 * ones answer at once from the cache and, when it is older than its TTL,
 * have it read again on a work thread with a connection of its own (one
 * refresh at a time): the scrape after that shows the new figures.  A
 * figure the database cannot give is left out of the scrape, which still
 * answers.
 */
#include "ap_err.h"
#include "api.h"
#include "api_routes.h"
#include "apns.h"
#include "authz.h"
#include "db_ade.h"
#include "db_metrics.h"
#include "db_vpp.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "push.h"
#include "store.h"
#include "worker.h"

#include <openssl/asn1.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define PENDING_TTL_NS (15 * (uint64_t)1000000000)
#define FLEET_TTL_NS   (60 * (uint64_t)1000000000)

/* The cached figures; guarded by mu (scrapes and the refresh's
 * after-callback only: no session takes it). */
static struct {
	pthread_mutex_t mu;
	uint64_t pending_at, fleet_at; /* uv_hrtime() of the last read; 0 never */
	int64_t pending[3];
	struct db_metrics_tablets tablets;
	int64_t ade, vpp, server, ca;
	int refreshing; /* a refresh is on a work thread */
	/* the refresh's own connection, opened by the first refresh and used
	 * by one work thread at a time (refreshing); closed by
	 * api_metrics_end() */
	struct db *db;
	/* test hooks (ARDOISE_TEST_METRICS_TTL_MS, ..._DELAY_MS), read once;
	 * inert unless set: both TTLs, and a sleep before each refresh */
	int hooks_read;
	int64_t test_ttl_ms, test_delay_ms;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER, .test_ttl_ms = -1};

/* A refresh on a work thread: what it was asked to read, what it read. */
struct refresh {
	uv_work_t work;
	struct server *srv;
	uint64_t started; /* uv_hrtime() */
	int fleet;	  /* the fleet's figures too, not only the pending */
	int pending_rc, fleet_rc;
	int64_t pending[3];
	struct db_metrics_tablets tablets;
	int64_t ade, vpp;
	int64_t delay_ms;
};

/* notAfter of cert as Unix seconds; 0 when unknown. */
static int64_t not_after(X509 *cert)
{
	struct tm tm;
	const ASN1_TIME *t = cert ? X509_get0_notAfter(cert) : NULL;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The soonest expiry of the Apps and Books tokens; 0 when none. */
static int64_t vpp_soonest(struct db *db)
{
	struct db_vpp_token *list = NULL;
	size_t n = 0;
	int64_t soonest = 0;
	if (db_vpp_token_list(db, &list, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (list[i].expires > 0 && (soonest == 0 || list[i].expires < soonest))
			soonest = list[i].expires;
	free(list);
	return soonest;
}

static int64_t env_ms(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long long n = v ? strtoll(v, &end, 10) : -1;
	return v && *v && *end == '\0' && n >= 0 ? (int64_t)n : -1;
}

static uint64_t ttl(uint64_t ns)
{
	return cache.test_ttl_ms >= 0 ? (uint64_t)cache.test_ttl_ms * 1000000 : ns;
}

/* The figures x asks for read from db into x (any thread: db is the
 * caller's). */
static void read_all(struct db *db, struct refresh *x)
{
	struct db_ade_token ade;
	x->pending_rc = db_metrics_pending(db, x->pending);
	if (!x->fleet)
		return;
	x->ade = 0;
	if (db_ade_token_get(db, &ade) == 0) {
		x->ade = ade.expiry;
		db_ade_token_clear(&ade);
	}
	x->vpp = vpp_soonest(db);
	x->fleet_rc = db_metrics_tablets(db, db_now(), &x->tablets);
}

/* Stores what x read; under cache.mu, on a loop thread (the certificates
 * of the keystore are read there, as every loop reads them). */
static void store(struct server *srv, const struct refresh *x, uint64_t at)
{
	memcpy(cache.pending, x->pending, sizeof(cache.pending));
	cache.pending_at = x->pending_rc == 0 ? at : 0;
	if (!x->fleet)
		return;
	cache.tablets = x->tablets;
	cache.ade = x->ade;
	cache.vpp = x->vpp;
	cache.server = not_after(keystore_server_cert(srv->ks));
	cache.ca = not_after(keystore_ca_cert(srv->ks));
	cache.fleet_at = x->fleet_rc == 0 ? at : 0;
}

/* On a work thread, with the refresh's own connection: a scan of the
 * enrolled tablets may take most of a second at a million of them, and
 * no loop waits for it. */
static void refresh_work(uv_work_t *q)
{
	struct refresh *x = q->data;
	if (x->delay_ms > 0)
		uv_sleep((unsigned int)x->delay_ms); /* test hook only */
	if (cache.db == NULL && worker_db_open(x->srv, &cache.db) < 0) {
		x->pending_rc = x->fleet_rc = AP_EIO;
		return;
	}
	read_all(cache.db, x);
}

static void refresh_done(uv_work_t *q, int status)
{
	struct refresh *x = q->data;
	if (status < 0)
		x->pending_rc = x->fleet_rc = AP_EIO;
	if (x->pending_rc < 0 || (x->fleet && x->fleet_rc < 0))
		log_warn("metrics_refresh_failed", "pending=%s fleet=%s",
			 ap_strerror(x->pending_rc), ap_strerror(x->fleet_rc));
	pthread_mutex_lock(&cache.mu);
	store(x->srv, x, x->started);
	cache.refreshing = 0;
	pthread_mutex_unlock(&cache.mu);
	free(x);
}

/* Under cache.mu.  The first scrape (nothing read yet, or the last read
 * failed) reads on the loop's own connection and answers with it: the
 * figures are never shown before they were read once.  Later, a figure
 * older than its TTL is refreshed on a work thread, and this scrape
 * answers with the cache as it is. */
static void refresh(struct req *r, uint64_t now)
{
	if (!cache.hooks_read) {
		cache.test_ttl_ms = env_ms("ARDOISE_TEST_METRICS_TTL_MS");
		cache.test_delay_ms = env_ms("ARDOISE_TEST_METRICS_DELAY_MS");
		cache.hooks_read = 1;
	}
	if (cache.refreshing)
		return;
	if (cache.pending_at == 0 || cache.fleet_at == 0) {
		struct refresh x;
		memset(&x, 0, sizeof(x));
		x.fleet = 1;
		read_all(r->w->db, &x);
		store(r->w->srv, &x, now);
		return;
	}
	int fleet = now - cache.fleet_at > ttl(FLEET_TTL_NS);
	if (!fleet && now - cache.pending_at <= ttl(PENDING_TTL_NS))
		return;
	struct refresh *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return; /* the next scrape tries again */
	x->work.data = x;
	x->fleet = fleet;
	x->srv = r->w->srv;
	x->started = now;
	x->delay_ms = cache.test_delay_ms;
	if (uv_queue_work(&r->w->loop, &x->work, refresh_work, refresh_done) < 0) {
		free(x);
		return;
	}
	cache.refreshing = 1;
}

void api_metrics_end(void)
{
	db_close(cache.db);
	cache.db = NULL;
}

/* The scrape's figures from the cache (refreshed as needed) and push. */
static void gather(struct req *r, struct metrics_scrape *s, struct push_status *ps,
		   const char **reasons)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&cache.mu);
	refresh(r, uv_hrtime());
	for (size_t i = 0; i < 3; i++)
		s->pending[i] = cache.pending_at ? cache.pending[i] : -1;
	s->enrolled = cache.fleet_at ? cache.tablets.enrolled : -1;
	s->not_seen_7d = cache.tablets.not_seen_7d;
	s->not_seen_30d = cache.tablets.not_seen_30d;
	s->cert_ade = cache.ade;
	s->cert_vpp = cache.vpp;
	s->cert_server = cache.server;
	s->cert_ca = cache.ca;
	pthread_mutex_unlock(&cache.mu);

	push_status_get(r->w->srv, ps);
	s->push_enabled = ps->enabled;
	s->cert_push = ps->cert_not_after;
	s->push_sent = ps->sent;
	s->push_failed = ps->failed;
	s->push_dropped = ps->dropped;
	s->push_retried = ps->retried;
	s->n_reasons = ps->n_reasons < METRICS_MAX_REASONS ? ps->n_reasons : METRICS_MAX_REASONS;
	for (size_t i = 0; i < s->n_reasons; i++)
		reasons[i] = apns_reason_name(i);
	s->reason_names = reasons;
	s->by_reason = ps->by_reason;
}

/* 0 when the caller may read the metrics; otherwise answered. */
static int admitted(struct req *r)
{
	const char *access = r->w->srv->cfg.metrics_access;
	if (strcmp(access, "loopback") == 0) {
		if (metrics_peer_is_loopback(r->peer))
			return 0;
		return api_refuse(r, AP_EFORBIDDEN, 403,
				  "metrics are served to loopback peers only ([metrics] access)");
	}
	if (strcmp(access, "account") == 0) {
		if (!r->has_acct && api_authenticate(r) < 0)
			return AP_EAUTH;
		return api_allow(r, AZ_METRICS, NULL);
	}
	/* off: as the router answers a path no route takes */
	return api_refuse(r, AP_ENOTFOUND, 404, "no such route: %s", r->http->path);
}

static void metrics_get(struct req *r)
{
	struct metrics_scrape s;
	struct push_status ps;
	const char *reasons[METRICS_MAX_REASONS];
	if (admitted(r) < 0)
		return;
	gather(r, &s, &ps, reasons);
	ap_buf_reset(&r->resp->body);
	int rc = metrics_write(&r->resp->body, &s);
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot write the metrics: %s", ap_strerror(rc));
		return;
	}
	r->resp->status = 200;
	r->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

const struct route api_metrics_routes[] = {
    {"GET", "/metrics", AUTH_NONE, metrics_get},
    {NULL, NULL, AUTH_NONE, NULL},
};
