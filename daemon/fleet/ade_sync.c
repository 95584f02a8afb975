/* ade_sync.c - the Automated Device Enrolment run: devices, profiles,
 * assignment (a libuv work thread, its own database connection). */
#include "ade_sync.h"
#include "ade.h"
#include "ade_oauth.h"
#include "ap_err.h"
#include "ap_x509.h"
#include "db_ade.h"
#include "httpsreq.h"
#include "keystore.h"
#include "log.h"
#include "mdm.h"
#include "store.h"
#include "worker.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROTOCOL_VERSION "10" /* THROTTLED (9) and retry_after_seconds (10) understood */
#define CALL_TIMEOUT_S	 120L
#define ENROLL_PATH	 "/mdm/ade/enroll"
#define ANCHOR_MAX	 8192

static struct {
	uv_once_t once;
	uv_mutex_t lock;
	struct ade_sync_run run;
	uint64_t next_id;
	atomic_int stop;
} st = {UV_ONCE_INIT};

static void state_init(void)
{
	uv_mutex_init(&st.lock);
}

/* One run: what the loop gave it, and what it did. */
struct run {
	uv_work_t work;
	struct server *srv;
	char base[CONFIG_STR]; /* [ade] url */
	char ca[CONFIG_STR];   /* [ade] ca */
	char enroll_url[CONFIG_STR + 32];
	char anchor[ANCHOR_MAX]; /* base64 DER of the daemon's CA */
	struct ade_token tok;	 /* secrets: wiped at the end */
	struct httpsreq_conn *conn;
	char session[ADE_SESSION_MAX + 1];
	char header[ADE_SESSION_MAX + 64];
	struct db *db;
	struct ade_sync_run r;
	int64_t next_at;  /* Retry-After that ended the run */
	int profile_gone; /* the last refusal said PROFILE_NOT_FOUND */
};

/* ---- the calls ------------------------------------------------------------------------------- */

static int stopped(void)
{
	return atomic_load(&st.stop);
}

/* Waits s seconds, or less when the daemon stops. */
static void pause_s(int64_t s)
{
	for (int64_t i = 0; i < s * 10 && !stopped(); i++) {
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

static int failed(struct run *x, long status, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the run's failure ("kind: detail"): AP_EIO. */
static int failed(struct run *x, long status, const char *kind, const char *fmt, ...)
{
	va_list ap;
	x->r.status = status;
	snprintf(x->r.error, sizeof(x->r.error), "%s: ", kind);
	size_t n = strlen(x->r.error);
	va_start(ap, fmt);
	vsnprintf(x->r.error + n, sizeof(x->r.error) - n, fmt, ap);
	va_end(ap);
	return AP_EIO;
}

/* Ends a transaction: commits when rc is 0, else rolls back. */
static int tx_end(struct db *db, int rc)
{
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

/* The Authorization header of GET /session: a fresh nonce and the time
 * now (each attempt signed anew). */
static int sign(struct run *x, const char *url, char *out, size_t cap)
{
	char nonce[33];
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return failed(x, 0, "crypto", "%s", "no random nonce");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	snprintf(out, cap, "Authorization: ");
	if (ade_oauth_header(&x->tok, url, db_now(), nonce, out + strlen(out), cap - strlen(out)) <
	    0)
		return failed(x, 0, "token", "%s", "cannot sign GET /session");
	return 0;
}

static int session(struct run *x)
{
	char url[CONFIG_STR + 16], auth[ADE_HEADER_MAX + 32], err[300] = "";
	struct httpsreq_res res;
	snprintf(url, sizeof(url), "%s%s", x->base, ADE_SESSION_PATH);
	const char *hdr[] = {auth, "X-Server-Protocol-Version: " PROTOCOL_VERSION,
			     "Accept: " ADE_CONTENT_TYPE, NULL};
	struct httpsreq_req q = {.url = url,
				 .ca = x->ca,
				 .max_bytes = ADE_SESSION_MAX_BYTES,
				 .timeout_s = CALL_TIMEOUT_S,
				 .user_agent = "ardoise/0.1",
				 .stop = &st.stop,
				 .headers = hdr,
				 .conn = x->conn};
	enum ade_verdict v;
	for (int later = 0;; later++) {
		if (sign(x, url, auth, sizeof(auth)) < 0)
			return AP_EIO;
		if (httpsreq(&q, &res, err, sizeof(err)) < 0)
			return failed(x, 0, "io", "GET /session: %s", err);
		v = ade_classify(res.status, res.body, res.len);
		int64_t wait = res.retry_after > 0 ? res.retry_after : (int64_t)1 << later;
		if (v != ADE_LATER || later >= ADE_SYNC_RETRIES || wait > ADE_SYNC_WAIT_MAX_S ||
		    stopped())
			break;
		free(res.body);
		log_info("ade_wait", "call=\"GET /session\" status=%ld seconds=%lld", res.status,
			 (long long)wait);
		pause_s(wait);
	}
	int rc = 0;
	if (v == ADE_TERMS)
		rc = failed(x, res.status, "terms", "%s", "GET /session: T_C_NOT_SIGNED");
	else if (v == ADE_DENIED)
		rc = failed(x, res.status, "denied", "%s", "GET /session: ACCESS_DENIED");
	else if (v == ADE_LATER)
		rc = failed(x, res.status, "later", "%s", "GET /session: try later");
	else if (v != ADE_OK)
		rc = failed(x, res.status, "token", "%s",
			    "GET /session refused: check the clock and the server token");
	else if (ade_session_parse(res.body, res.len, x->session, sizeof(x->session), err,
				   sizeof(err)) < 0)
		rc = failed(x, res.status, "answer", "GET /session: %s", err);
	if (v == ADE_LATER && res.retry_after > 0)
		x->next_at = db_now() + res.retry_after;
	free(res.body);
	if (rc == 0)
		snprintf(x->header, sizeof(x->header), "%s: %s", ADE_SESSION_HEADER, x->session);
	return rc;
}

/* One call of the API: *ret the answer (2xx, or a cursor verdict) with
 * its verdict in *ret_v; else the run's failure recorded and AP_EIO. */
static int call(struct run *x, const char *method, const char *path, const char *body,
		size_t max_bytes, struct httpsreq_res *ret, enum ade_verdict *ret_v)
{
	char url[CONFIG_STR + 64], err[300] = "", what[64];
	int reauth = 0, later = 0;
	snprintf(url, sizeof(url), "%s%s", x->base, path);
	snprintf(what, sizeof(what), "%s %s", method, path);
	for (;;) {
		if (stopped())
			return failed(x, 0, "stopped", "%s", "the daemon stops");
		if (x->session[0] == '\0' && session(x) < 0)
			return AP_EIO;
		const char *hdr[] = {x->header, "X-Server-Protocol-Version: " PROTOCOL_VERSION,
				     "Content-Type: " ADE_CONTENT_TYPE, "Accept: " ADE_CONTENT_TYPE,
				     NULL};
		struct httpsreq_req q = {.url = url,
					 .ca = x->ca,
					 .max_bytes = max_bytes,
					 .timeout_s = CALL_TIMEOUT_S,
					 .user_agent = "ardoise/0.1",
					 .stop = &st.stop,
					 .method = method,
					 .headers = hdr,
					 .body = body,
					 .body_len = body ? strlen(body) : 0,
					 .want_header = ADE_SESSION_HEADER,
					 .conn = x->conn};
		int rc = httpsreq(&q, ret, err, sizeof(err));
		if (rc < 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), ": %s",
				 rc == AP_ETOOBIG ? "answer too large" : "no answer");
			return failed(x, 0, "io", "%s", what);
		}
		if (ret->header[0] && strlen(ret->header) <= ADE_SESSION_MAX) {
			snprintf(x->session, sizeof(x->session), "%s", ret->header);
			snprintf(x->header, sizeof(x->header), "%s: %s", ADE_SESSION_HEADER,
				 x->session);
		}
		enum ade_verdict v = ade_classify(ret->status, ret->body, ret->len);
		*ret_v = v;
		if (v == ADE_OK || v == ADE_CURSOR_EXHAUSTED || v == ADE_CURSOR_RESET)
			return 0;
		long status = ret->status;
		x->profile_gone = ret->body && strstr(ret->body, "PROFILE_NOT_FOUND") != NULL;
		int64_t wait = ret->retry_after > 0 ? ret->retry_after : (int64_t)1 << later;
		free(ret->body);
		ret->body = NULL;
		if (v == ADE_REAUTH && !reauth) {
			reauth = 1;
			x->session[0] = '\0';
			continue;
		}
		if (v == ADE_LATER && later < ADE_SYNC_RETRIES && wait <= ADE_SYNC_WAIT_MAX_S) {
			later++;
			log_info("ade_wait", "call=\"%s\" status=%ld seconds=%lld", what, status,
				 (long long)wait);
			pause_s(wait);
			continue;
		}
		if (v == ADE_LATER)
			x->next_at = db_now() + (wait > ADE_SYNC_WAIT_MAX_S ? wait : 0);
		static const char *const kinds[] = {
		    [ADE_REAUTH] = "session",	   [ADE_DENIED] = "denied", [ADE_TERMS] = "terms",
		    [ADE_MALFORMED] = "malformed", [ADE_LATER] = "later",   [ADE_FAILED] = "http",
		};
		return failed(x, status, kinds[v] ? kinds[v] : "http", "%s", what);
	}
}

/* ---- devices --------------------------------------------------------------------------------- */

static void device_row(const struct ade_device *a, struct db_ade_device *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->serial, sizeof(d->serial), "%s", a->serial);
	snprintf(d->model, sizeof(d->model), "%s", a->model);
	snprintf(d->description, sizeof(d->description), "%s", a->description);
	snprintf(d->color, sizeof(d->color), "%s", a->color);
	snprintf(d->asset_tag, sizeof(d->asset_tag), "%s", a->asset_tag);
	snprintf(d->os, sizeof(d->os), "%s", a->os);
	snprintf(d->device_family, sizeof(d->device_family), "%s", a->device_family);
	snprintf(d->op_type, sizeof(d->op_type), "%s", a->op_type);
	snprintf(d->assigned_by, sizeof(d->assigned_by), "%s", a->assigned_by);
	snprintf(d->profile_status, sizeof(d->profile_status), "%s", a->profile_status);
	snprintf(d->profile_uuid, sizeof(d->profile_uuid), "%s", a->profile_uuid);
	d->op_date = a->op_date;
	d->assigned_at = a->assigned_at;
}

/* One page stored: its devices, then its cursor, in one transaction. */
static int store_page(struct run *x, const struct ade_page *p, const char *phase)
{
	struct db_ade_device d;
	int64_t now = db_now();
	int rc = db_begin(x->db);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		enum db_ade_put what;
		device_row(&p->devices[i], &d);
		if ((rc = db_ade_device_put(x->db, &d, now, &what)) < 0)
			break;
		x->r.added += what == DB_ADE_NEW;
		x->r.modified += what == DB_ADE_MODIFIED;
		x->r.removed += what == DB_ADE_REMOVED;
	}
	if (rc == 0)
		rc = db_ade_sync_cursor(x->db, p->cursor, phase, now);
	rc = tx_end(x->db, rc);
	if (rc < 0)
		return failed(x, 0, "db", "storing a page: %s", ap_strerror(rc));
	x->r.pages++;
	x->r.seen += (int64_t)p->n;
	return 0;
}

/* Pages of path from cursor ("" for a fetch from scratch) until no more:
 * 0, 1 when the cursor is exhausted (fetch), 2 when it expired or is
 * invalid, or AP_EIO. */
static int pages(struct run *x, const char *path, const char *cursor, int fetch)
{
	char *body = NULL, err[300] = "", cur[ADE_CURSOR_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", cursor);
	for (;;) {
		struct httpsreq_res res;
		enum ade_verdict v;
		struct ade_page p;
		if (ade_cursor_body(cur, ADE_SYNC_LIMIT, &body) < 0)
			return failed(x, 0, "cursor", "%s", "the stored cursor is not usable");
		int rc = call(x, "POST", path, body, ADE_PAGE_MAX_BYTES, &res, &v);
		free(body);
		if (rc < 0)
			return rc;
		if (v != ADE_OK) {
			free(res.body);
			return v == ADE_CURSOR_EXHAUSTED ? 1 : 2;
		}
		rc = ade_page_parse(res.body, res.len, &p, err, sizeof(err));
		free(res.body);
		if (rc < 0)
			return failed(x, res.status, "answer", "a page of devices: %s", err);
		/* a fetch's last page leaves a cursor to sync from */
		rc = store_page(x, &p, fetch && p.more_to_follow ? "fetch" : "sync");
		snprintf(cur, sizeof(cur), "%s", p.cursor);
		int more = p.more_to_follow;
		ade_page_clear(&p);
		if (rc < 0)
			return rc;
		if (!more)
			return 0;
	}
}

static int devices(struct run *x)
{
	struct db_ade_sync s;
	int rc = db_ade_sync_get(x->db, &s);
	if (rc < 0)
		return failed(x, 0, "db", "%s", ap_strerror(rc));
	int fetch = x->r.full || s.cursor[0] == '\0' || strcmp(s.phase, "fetch") == 0;
	snprintf(x->r.phase, sizeof(x->r.phase), "%s", fetch ? "fetch" : "sync");
	if (!fetch) {
		if ((rc = pages(x, "/devices/sync", s.cursor, 0)) <= 0)
			return rc;
		log_info("ade_cursor_reset", "cursor_at=%lld", (long long)s.cursor_at);
		snprintf(x->r.phase, sizeof(x->r.phase), "fetch");
		s.cursor[0] = '\0'; /* expired or invalid: everything again */
	} else if (x->r.full) {
		s.cursor[0] = '\0';
	}
	rc = pages(x, "/server/devices", s.cursor, 1);
	if (rc == 2 && s.cursor[0]) /* a fetch resumed from an expired cursor */
		rc = pages(x, "/server/devices", "", 1);
	if (rc == 2)
		return failed(x, 400, "cursor", "%s", "POST /server/devices: cursor refused");
	if (rc == 1) { /* EXHAUSTED_CURSOR: everything fetched already; the
			* cursor of the last page stored, now synced from */
		if (db_ade_sync_get(x->db, &s) < 0 ||
		    db_ade_sync_cursor(x->db, s.cursor, "sync", db_now()) < 0)
			return failed(x, 0, "db", "%s", "storing the phase");
		return 0;
	}
	return rc;
}

/* ---- profiles and assignment ----------------------------------------------------------------- */

struct prof_list {
	struct db_ade_profile *p;
	size_t n;
};

static int collect(const struct db_ade_profile *p, void *arg)
{
	struct prof_list *l = arg;
	if (p->profile_uuid[0] || l->n >= 64) /* defined already; a few profiles at most */
		return 0;
	l->p[l->n++] = *p;
	return 0;
}

static int define_profiles(struct run *x)
{
	struct prof_list l = {calloc(64, sizeof(struct db_ade_profile)), 0};
	char err[300] = "", uuid[ADE_UUID_MAX + 1];
	const char *anchors[] = {x->anchor};
	int rc = l.p ? db_ade_profile_list(x->db, collect, &l) : AP_ENOMEM;
	if (rc < 0) {
		free(l.p);
		return failed(x, 0, "db", "%s", ap_strerror(rc));
	}
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		char *body = NULL;
		struct httpsreq_res res;
		enum ade_verdict v;
		if (ade_profile_body(l.p[i].settings, strlen(l.p[i].settings), x->enroll_url,
				     anchors, x->anchor[0] ? 1 : 0, &body, err, sizeof(err)) < 0) {
			rc = failed(x, 0, "profile", "%s", err);
			break;
		}
		rc = call(x, "POST", "/profile", body, ADE_ANSWER_MAX, &res, &v);
		free(body);
		if (rc < 0)
			break;
		if (v != ADE_OK) {
			free(res.body);
			rc = failed(x, res.status, "profile", "POST /profile: %s", "refused");
			break;
		}
		rc = ade_define_parse(res.body, res.len, uuid, err, sizeof(err));
		free(res.body);
		if (rc < 0) {
			rc = failed(x, 200, "answer", "POST /profile: %s", err);
			break;
		}
		if ((rc = db_ade_profile_defined(x->db, l.p[i].id, uuid, db_now())) < 0) {
			rc = failed(x, 0, "db", "%s", ap_strerror(rc));
			break;
		}
		x->r.defined++;
		log_info("ade_profile_defined", "profile=%lld uuid=%s", (long long)l.p[i].id, uuid);
	}
	free(l.p);
	return rc;
}

/* One batch's answer stored, serial by serial. */
static int store_assign(struct run *x, const struct db_ade_todo *todo, size_t n,
			const struct ade_assign *a)
{
	int64_t now = db_now();
	int rc = db_begin(x->db);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *state = "failed", *why = "absent from Apple's answer";
		int64_t after = now + ADE_SYNC_ASSIGN_GAP;
		for (size_t k = 0; k < a->n; k++) {
			if (strcmp(a->items[k].serial, todo[i].serial))
				continue;
			switch (a->items[k].status) {
			case ADE_ASSIGN_SUCCESS:
				state = "assigned", why = "", after = 0;
				break;
			case ADE_ASSIGN_THROTTLED:
				state = "throttled", why = "THROTTLED";
				after = now + (a->retry_after > 0 ? a->retry_after : 60);
				break;
			case ADE_ASSIGN_NOT_ACCESSIBLE:
				why = "NOT_ACCESSIBLE: not on this MDM server in Apple School "
				      "Manager";
				break;
			default:
				why = "FAILED";
			}
			break;
		}
		x->r.assigned += strcmp(state, "assigned") == 0;
		x->r.throttled += strcmp(state, "throttled") == 0;
		x->r.failed += strcmp(state, "failed") == 0;
		rc =
		    db_ade_assign_set(x->db, todo[i].serial, todo[i].profile_id, state, why, after);
	}
	rc = tx_end(x->db, rc);
	return rc < 0 ? failed(x, 0, "db", "storing an assignment: %s", ap_strerror(rc)) : 0;
}

struct ids {
	int64_t id[64];
	size_t n;
};

static int defined_id(const struct db_ade_profile *p, void *arg)
{
	struct ids *l = arg;
	if (p->profile_uuid[0] && l->n < 64)
		l->id[l->n++] = p->id;
	return 0;
}

/* One batch of profile's tablets after device id *after: sent, stored;
 * *ret_n the batch's size (0: none left). */
static int assign_batch(struct run *x, int64_t profile, int64_t *after, struct db_ade_todo *todo,
			const char **serials, size_t *ret_n)
{
	size_t n = 0;
	char *body = NULL, err[300] = "";
	struct httpsreq_res res;
	struct ade_assign a;
	enum ade_verdict v;
	int rc = db_ade_assign_todo(x->db, db_now(), profile, *after, todo, ADE_ASSIGN_MAX, &n);
	*ret_n = n;
	if (rc < 0)
		return failed(x, 0, "db", "%s", ap_strerror(rc));
	if (n == 0)
		return 0;
	*after = todo[n - 1].device_id;
	for (size_t i = 0; i < n; i++)
		serials[i] = todo[i].serial;
	if (ade_assign_body(todo[0].profile_uuid, serials, n, &body) < 0)
		return failed(x, 0, "assign", "%s", "cannot build the body");
	rc = call(x, "POST", "/profile/devices", body, ADE_ANSWER_MAX, &res, &v);
	free(body);
	if (rc < 0 && x->profile_gone) {
		/* Apple no longer knows the profile: defined again by the next run */
		if (db_ade_profile_defined(x->db, profile, "", db_now()) < 0)
			return failed(x, 0, "db", "%s", "forgetting the profile's uuid");
		return failed(x, 400, "profile", "%s",
			      "PROFILE_NOT_FOUND: defined again at the next run");
	}
	if (rc < 0)
		return rc;
	if (v != ADE_OK) {
		free(res.body);
		return failed(x, res.status, "assign", "%s", "POST /profile/devices refused");
	}
	rc = ade_assign_parse(res.body, res.len, &a, err, sizeof(err));
	free(res.body);
	if (rc < 0)
		return failed(x, 200, "answer", "POST /profile/devices: %s", err);
	rc = store_assign(x, todo, n, &a);
	ade_assign_clear(&a);
	return rc;
}

static int assign(struct run *x)
{
	struct db_ade_todo *todo = calloc(ADE_ASSIGN_MAX, sizeof(*todo));
	const char **serials = calloc(ADE_ASSIGN_MAX, sizeof(*serials));
	struct ids l = {{0}, 0};
	int rc = todo && serials ? db_ade_profile_list(x->db, defined_id, &l) : AP_ENOMEM;
	if (rc < 0)
		rc = failed(x, 0, "db", "%s", ap_strerror(rc));
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		int64_t after = 0;
		size_t n = 1;
		while (rc == 0 && n > 0)
			rc = assign_batch(x, l.id[i], &after, todo, serials, &n);
	}
	free(todo);
	free(serials);
	return rc;
}

/* ---- the run --------------------------------------------------------------------------------- */

static void run_work(uv_work_t *req)
{
	struct run *x = req->data;
	int rc = worker_db_open(x->srv, &x->db);
	if (rc == 0)
		db_set_busy_timeout(x->db, 10000);
	if (rc < 0)
		failed(x, 0, "db", "%s", ap_strerror(rc));
	else if ((x->conn = httpsreq_conn_new()) == NULL)
		failed(x, 0, "io", "%s", "out of memory");
	else if (devices(x) == 0 && define_profiles(x) == 0)
		assign(x);
	httpsreq_conn_free(x->conn);
	x->conn = NULL;
	ade_token_wipe(&x->tok);
	OPENSSL_cleanse(x->session, sizeof(x->session));
	OPENSSL_cleanse(x->header, sizeof(x->header));
	x->r.ended_at = db_now();
	if (x->db) {
		struct db_ade_sync s;
		memset(&s, 0, sizeof(s));
		s.run_at = x->r.started_at;
		s.ok_at = x->r.error[0] ? 0 : x->r.ended_at;
		s.devices = x->r.seen;
		s.error_at = x->r.error[0] ? x->r.ended_at : 0;
		s.error_status = x->r.status;
		snprintf(s.error, sizeof(s.error), "%s", x->r.error);
		s.next_at = x->next_at;
		if ((rc = db_ade_sync_ran(x->db, &s)) < 0)
			log_warn("ade_sync_unrecorded", "error=\"%s\"", ap_strerror(rc));
		db_close(x->db);
	}
}

static void run_done(uv_work_t *req, int status)
{
	struct run *x = req->data;
	char esc[600];
	(void)status;
	uv_mutex_lock(&st.lock);
	x->r.running = 0;
	st.run = x->r;
	st.run.duration_ms = worker_ms_since((uint64_t)x->r.duration_ms);
	uv_mutex_unlock(&st.lock);
	if (x->r.error[0])
		log_warn("ade_sync_failed", "run=%llu status=%ld pages=%lld error=%s",
			 (unsigned long long)x->r.id, x->r.status, (long long)x->r.pages,
			 log_esc(x->r.error, esc, sizeof(esc)));
	else
		log_info("ade_sync_done",
			 "run=%llu phase=%s pages=%lld seen=%lld new=%lld modified=%lld"
			 " removed=%lld defined=%lld assigned=%lld throttled=%lld failed=%lld",
			 (unsigned long long)x->r.id, x->r.phase, (long long)x->r.pages,
			 (long long)x->r.seen, (long long)x->r.added, (long long)x->r.modified,
			 (long long)x->r.removed, (long long)x->r.defined, (long long)x->r.assigned,
			 (long long)x->r.throttled, (long long)x->r.failed);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

/* The token's secrets, unsealed on the loop (keystore.h). */
static int unseal_token(struct worker *w, struct ade_token *t)
{
	struct db_ade_token row;
	int rc = db_ade_token_get(w->db, &row);
	if (rc < 0)
		return rc == AP_ENOTFOUND ? AP_EMISSING : rc;
	struct {
		const char *what;
		const unsigned char *sealed;
		size_t len;
		char *out;
	} s[] = {
	    {"consumer_secret", row.consumer_secret, row.consumer_secret_len, t->consumer_secret},
	    {"access_secret", row.access_secret, row.access_secret_len, t->access_secret}};
	snprintf(t->consumer_key, sizeof(t->consumer_key), "%s", row.consumer_key);
	snprintf(t->access_token, sizeof(t->access_token), "%s", row.access_token);
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		char owner[DB_ADE_FIELD_MAX + 32];
		unsigned char *plain = NULL;
		size_t len = 0;
		snprintf(owner, sizeof(owner), "%s/%s", row.consumer_key, s[i].what);
		rc = keystore_unseal(w->srv->ks, KEYSTORE_ADE_TOKEN, owner, s[i].sealed, s[i].len,
				     &plain, &len);
		if (rc == 0 && len > ADE_FIELD_MAX)
			rc = AP_ETOOBIG;
		if (rc == 0) {
			memcpy(s[i].out, plain, len);
			s[i].out[len] = '\0';
		}
		if (plain) {
			OPENSSL_cleanse(plain, len);
			free(plain);
		}
	}
	db_ade_token_clear(&row);
	return rc;
}

/* base64 of the daemon's CA (DER) into out: the profile's anchor_certs. */
static void anchor_of(struct worker *w, char *out, size_t cap)
{
	unsigned char *der = NULL;
	size_t len = 0;
	out[0] = '\0';
	X509 *ca = keystore_ca_cert(w->srv->ks);
	if (ca && ap_x509_to_der(ca, &der, &len) == 0 && (len + 2) / 3 * 4 < cap)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	free(der);
}

/* Ends a start that did not happen: the slot is free again. */
static int not_started(struct run *x, int rc, const char *why)
{
	uv_mutex_lock(&st.lock);
	st.run.running = 0;
	st.run.ended_at = db_now();
	snprintf(st.run.error, sizeof(st.run.error), "%s", why);
	uv_mutex_unlock(&st.lock);
	if (x) {
		ade_token_wipe(&x->tok);
		free(x);
	}
	return rc;
}

int ade_sync_start(struct worker *w, int full, uint64_t *ret_id)
{
	char base[CONFIG_STR];
	uv_once(&st.once, state_init);
	if (stopped())
		return AP_EIO;
	/* one run in the process: taken under the lock, or joined */
	uv_mutex_lock(&st.lock);
	if (st.run.running) {
		*ret_id = st.run.id;
		uv_mutex_unlock(&st.lock);
		return 0;
	}
	memset(&st.run, 0, sizeof(st.run));
	st.run.id = ++st.next_id;
	st.run.running = 1;
	st.run.full = full;
	st.run.started_at = db_now();
	uv_mutex_unlock(&st.lock);
	struct run *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return not_started(NULL, AP_ENOMEM, "io: out of memory");
	int rc = unseal_token(w, &x->tok);
	if (rc < 0)
		return not_started(x, rc,
				   rc == AP_EMISSING ? "token: no server token"
						     : "token: cannot unseal the server token");
	x->srv = w->srv;
	snprintf(x->base, sizeof(x->base), "%s", w->srv->cfg.ade_url);
	snprintf(x->ca, sizeof(x->ca), "%s", w->srv->cfg.ade_ca);
	mdm_public_url(w, base, sizeof(base));
	snprintf(x->enroll_url, sizeof(x->enroll_url), "%s%s", base, ENROLL_PATH);
	anchor_of(w, x->anchor, sizeof(x->anchor));
	uv_mutex_lock(&st.lock);
	x->r = st.run;
	uv_mutex_unlock(&st.lock);
	x->r.duration_ms = (int64_t)uv_hrtime(); /* the start, until run_done */
	x->work.data = x;
	if (uv_queue_work(&w->loop, &x->work, run_work, run_done) < 0)
		return not_started(x, AP_EIO, "io: cannot start the run");
	*ret_id = x->r.id;
	return 0;
}

int ade_sync_job(struct worker *w)
{
	struct db_ade_sync s;
	struct db_ade_token row;
	uint64_t id;
	int64_t now = db_now();
	if (stopped() || db_ade_token_get(w->db, &row) < 0)
		return 0; /* no token: nothing to sync */
	db_ade_token_clear(&row);
	int rc = db_ade_sync_get(w->db, &s);
	if (rc < 0)
		return rc;
	if ((s.run_at && now - s.run_at < w->srv->cfg.ade_sync_minutes * 60) ||
	    (s.next_at && now < s.next_at))
		return 0;
	return ade_sync_start(w, 0, &id);
}

int ade_sync_now(struct worker *w)
{
	uint64_t id;
	int rc = ade_sync_start(w, 0, &id);
	return rc == AP_EMISSING ? 0 : rc;
}

void ade_sync_stop(void)
{
	atomic_store(&st.stop, 1);
}

void ade_sync_last(struct ade_sync_run *ret)
{
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	*ret = st.run;
	if (ret->running)
		ret->duration_ms = (db_now() - ret->started_at) * 1000;
	uv_mutex_unlock(&st.lock);
}
