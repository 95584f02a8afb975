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
 * most once a minute).  A figure the database cannot give is left out of
 * the scrape, which still answers.
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

/* The cached figures; guarded by mu (scrapes only: no session takes it). */
static struct {
	pthread_mutex_t mu;
	uint64_t pending_at, fleet_at; /* uv_hrtime() of the last read; 0 never */
	int64_t pending[3];
	struct db_metrics_tablets tablets;
	int64_t ade, vpp, server, ca;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

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

/* Reads what is older than its TTL; under cache.mu. */
static void refresh(struct req *r, uint64_t now)
{
	struct db *db = r->w->db;
	if (cache.pending_at == 0 || now - cache.pending_at > PENDING_TTL_NS) {
		if (db_metrics_pending(db, cache.pending) == 0)
			cache.pending_at = now;
		else
			cache.pending_at = 0;
	}
	if (cache.fleet_at != 0 && now - cache.fleet_at <= FLEET_TTL_NS)
		return;
	struct db_ade_token ade;
	cache.ade = 0;
	if (db_ade_token_get(db, &ade) == 0) {
		cache.ade = ade.expiry;
		db_ade_token_clear(&ade);
	}
	cache.vpp = vpp_soonest(db);
	cache.server = not_after(keystore_server_cert(r->w->srv->ks));
	cache.ca = not_after(keystore_ca_cert(r->w->srv->ks));
	cache.fleet_at = db_metrics_tablets(db, db_now(), &cache.tablets) == 0 ? now : 0;
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
