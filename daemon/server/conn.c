/* conn.c - connection state machine: bytes -> TLS -> HTTP -> router. */
#include "conn.h"
#include "sock_out.h"
#include "ap_buf.h"
#include "ap_cms.h"
#include "ap_err.h"
#include "store.h"
#include "ap_http.h"
#include "log.h"
#include "metrics.h"
#include "quota.h"
#include "router.h"
#include "worker.h"
#include "ap_tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Answers queued in libuv beyond what the kernel took: past this, the
 * connection stops reading (and parsing) until the peer reads. */
#define CONN_MAX_QUEUED (1u << 20)
/* A file answer (req.h's struct req_later): chunks read and queued while
 * less than this waits. */
#define CONN_FILE_AHEAD (256u << 10)
#define CONN_FILE_CHUNK (64u << 10)

struct conn_later {
	struct req_later base; /* first: what the handler holds */
	struct conn *c;	       /* NULL once the connection closed */
	int keep;	       /* keep-alive after the answer */
	int head;	       /* a HEAD: the headers only */
	char rid[40];
	char method[16];
	const char *route;
	char account[80];
	uint64_t t0;
};

/* An answer held until its loop's group committed (conn_group_commit()). */
struct conn_held {
	struct conn *c;	   /* NULL once the connection closed: dropped */
	struct ap_buf out; /* the answer serialised, not yet given to TLS */
	int keep;
	struct conn_held *next;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct worker *w;
	enum conn_state state;
	struct ap_tls *tls;
	struct ap_http_in *http;
	struct ap_buf in; /* plaintext received, not yet parsed */
	char id[24];
	char peer[64];
	int handles_open; /* tcp + timer */
	int pending_writes;
	int close_when_flushed;
	int close_after_answer; /* drain asked while a request was in flight */
	int read_paused;	/* the peer is not reading its answers */
	uint64_t requests;
	struct quota_addr addr; /* counted in the per-address quota when addr_counted */
	int addr_counted;
	size_t body_reserved; /* bytes of the body budget the current request holds */
	int body_anonymous;
	struct db_account acct; /* the staff caller router_admit() authenticated */
	int has_acct;
	/* whether the TLS client certificate chains to a device CA (req.h),
	 * once a request asked: the certificate is the connection's, so its
	 * later requests (a tablet's DDM check-ins, a command and its result)
	 * do not verify the chain again; -1 until asked */
	int peer_verified;
	struct ap_cms_signer_cache *sig_cache; /* req.h; NULL until a request is read */
	struct conn_later *later;	       /* an answer promised, the connection waits */
	struct conn_held *held;		       /* its answer waits for the group commit */
	/* its request waits, unstarted, for the loop's turn of the write lock
	 * (on the worker's deferred list) */
	int deferred;
	struct conn *dnext, *dprev;
	int file_fd; /* a file answer being sent, -1: none */
	uint64_t file_off, file_left;
	int file_keep; /* keep-alive once the file is sent */
	struct conn *next, *prev;
};

static const char *const state_names[] = {"handshake", "idle", "head", "body", "closing"};

static void conn_close(struct conn *c);
static void on_timer(uv_timer_t *t);
static void process_http(struct conn *c);
static void handle_request(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static struct req_later *later_take(struct req *r);

/* Answers are on their way and only the peer's reading moves them on: a
 * kept-alive connection still sending its last answer, one closing once
 * its answer is sent, one whose reading is paused (past CONN_MAX_QUEUED
 * the daemon, not the peer, holds the next request up). */
static int answering(const struct conn *c)
{
	return c->state != CONN_CLOSING && c->pending_writes > 0 &&
	       (c->read_paused || c->close_when_flushed || c->state == CONN_IDLE);
}

/* Arms the deadline of the connection's state, or, while answering(), of
 * the peer's reading: idle_timeout_ms without an answer taken (re-armed
 * by on_write at each one), however long the whole takes. */
static void arm_deadline(struct conn *c)
{
	const struct config *cfg = &c->w->srv->cfg;
	if ((c->later || c->deferred) && c->state != CONN_CLOSING) {
		uv_timer_stop(&c->timer); /* the daemon, not the peer, is slow */
		return;
	}
	if (c->file_fd >= 0 && c->state != CONN_CLOSING) {
		uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->idle_timeout_ms, 0);
		return;
	}
	if (answering(c)) {
		uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->idle_timeout_ms, 0);
		return;
	}
	switch (c->state) {
	case CONN_HANDSHAKE:
	case CONN_HEAD:
		uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->header_timeout_ms, 0);
		break;
	case CONN_BODY:
		uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->body_timeout_ms, 0);
		break;
	case CONN_IDLE:
		uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->idle_timeout_ms, 0);
		break;
	case CONN_CLOSING:
		uv_timer_stop(&c->timer);
		break;
	}
}

static void conn_set_state(struct conn *c, enum conn_state s)
{
	if (c->state == s)
		return;
	log_debug("conn_state", "conn=%s from=%s to=%s", c->id, state_names[c->state],
		  state_names[s]);
	c->state = s;
	/* each state has its own deadline, armed once on entry: a slow peer
	 * cannot extend it by trickling bytes */
	arm_deadline(c);
}

/* Gives the current request's body bytes back to the process's budget. */
static void body_release(struct conn *c)
{
	if (c->body_reserved)
		quota_body_give(c->w->srv->quota, c->body_reserved, c->body_anonymous);
	c->body_reserved = 0;
	c->has_acct = 0;
}

/* Off the worker's deferred list (nothing when not on it). */
static void defer_unlink(struct conn *c)
{
	struct worker *w = c->w;
	if (!c->deferred)
		return;
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else
		w->deferred = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	else
		w->deferred_last = c->dprev;
	c->dnext = c->dprev = NULL;
	c->deferred = 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	metrics_connection(-1);
	body_release(c);
	if (c->addr_counted)
		quota_addr_give(w->srv->quota, &c->addr);
	if (c->later)
		c->later->c = NULL; /* its answer finds the connection gone */
	if (c->held)
		c->held->c = NULL; /* its writes still commit; the tablet sends again */
	if (c->file_fd >= 0)
		close(c->file_fd);
	ap_tls_free(c->tls);
	ap_cms_signer_cache_free(c->sig_cache);
	ap_http_in_free(c->http);
	ap_buf_free(&c->in);
	free(c);
	if (w->draining && w->n_conns == 0)
		uv_async_send(&w->wake); /* lets the worker finish its drain */
}

static void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	defer_unlink(c); /* its request put off is dropped with it */
	conn_set_state(c, CONN_CLOSING);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void pump_file(struct conn *c);

static void on_write(uv_write_t *req, int status)
{
	struct sock_out *o = (struct sock_out *)req;
	struct conn *c = o->owner;
	sock_out_free(o);
	c->pending_writes--;
	if (status < 0 && status != UV_ECANCELED)
		conn_close(c);
	else if (c->file_fd >= 0 && c->state != CONN_CLOSING)
		pump_file(c); /* the peer read: the next chunks */
	else if (c->pending_writes == 0 && c->close_when_flushed)
		conn_close(c);
	else if (c->read_paused && !c->close_when_flushed && c->state != CONN_CLOSING &&
		 uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= CONN_MAX_QUEUED / 2) {
		c->read_paused = 0;
		arm_deadline(c); /* the held request's own deadline, afresh */
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
		process_http(c); /* requests already received */
	} else if (answering(c) || (c->state == CONN_IDLE && c->pending_writes == 0)) {
		arm_deadline(c); /* the peer took an answer, or all: idle from now */
	}
}

/* Sends whatever ciphertext the TLS filter has produced. */
static int flush(struct conn *c)
{
	size_t len;
	if (c->state == CONN_CLOSING)
		return 0;
	int rc = sock_out_tls((uv_stream_t *)&c->tcp, c->tls, c, on_write, &len);
	if (rc == 0 && len > 0)
		c->pending_writes++;
	return rc;
}

/* Closes once everything queued has been written. */
static void close_after_flush(struct conn *c)
{
	uv_read_stop((uv_stream_t *)&c->tcp);
	/* close_notify: the peer knows nothing was cut, and OpenSSL keeps the
	 * session resumable (it drops sessions of connections that end
	 * without one) */
	if (c->state != CONN_CLOSING && ap_tls_handshake_done(c->tls)) {
		ap_tls_shutdown(c->tls);
		flush(c);
	}
	if (c->pending_writes == 0)
		conn_close(c);
	else {
		c->close_when_flushed = 1;
		arm_deadline(c); /* the peer's reading, now */
	}
}

/* On every answer, pages, assets, API and device answers alike, errors
 * and 304s too: the pages' browser defences.  A handler that sets no
 * Cache-Control (every one but the assets') gets no-store. */
#define SECURITY_HEADERS                                                                     \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; "    \
	"frame-ancestors 'none'; base-uri 'none'\r\n"                                        \
	"X-Frame-Options: DENY\r\n"                                                          \
	"X-Content-Type-Options: nosniff\r\n"                                                \
	"Referrer-Policy: no-referrer\r\n"                                                   \
	"Strict-Transport-Security: max-age=31536000\r\n"

/* The one place every answer is serialised: into out (initialised here,
 * the caller frees it). */
static int serialize(struct ap_http_resp *resp, int keep_alive, struct ap_buf *out)
{
	resp->fixed = SECURITY_HEADERS "Cache-Control: no-store\r\n";
	if (strstr(resp->extra, "Cache-Control:"))
		resp->fixed = SECURITY_HEADERS;
	ap_buf_init(out, (size_t)1 << 31);
	return ap_http_resp_serialize(resp, keep_alive, out);
}

/* The one place every answer is written. */
static void send_response(struct conn *c, struct ap_http_resp *resp, int keep_alive)
{
	struct ap_buf out;
	if (serialize(resp, keep_alive, &out) == 0 && ap_tls_write(c->tls, out.data, out.len) == 0)
		flush(c);
	ap_buf_free(&out);
}

static void answer_error(struct conn *c, int status)
{
	struct ap_http_resp resp;
	ap_http_resp_init(&resp, 4096);
	resp.status = status;
	resp.close = 1;
	resp.content_type = "application/json";
	ap_buf_printf(&resp.body, "{\"error\":{\"code\":\"http_%d\",\"message\":\"%s\"}}\n", status,
		      ap_http_reason(status));
	log_info("http_error", "conn=%s peer=%s status=%d", c->id, c->peer, status);
	send_response(c, &resp, 0);
	ap_http_resp_free(&resp);
	close_after_flush(c);
}

/* A handler's view of the request being parsed on c: rid (40 bytes) and
 * resp are the caller's, resp to be freed with ap_http_resp_free(). */
static void req_init(struct conn *c, struct req *r, struct ap_http_resp *resp, char *rid)
{
	memset(r, 0, sizeof(*r));
	snprintf(rid, 40, "%s.%llu", c->id, (unsigned long long)c->requests + 1);
	ap_http_resp_init(resp, (size_t)c->w->srv->cfg.max_body_bytes * 2);
	r->w = c->w;
	r->http = ap_http_in_message(c->http);
	r->resp = resp;
	r->id = rid;
	r->peer = c->peer;
	r->conn = c;
	r->later = later_take;
	r->peer_cert = ap_tls_peer_cert(c->tls);
	r->peer_fp = ap_tls_peer_fingerprint(c->tls);
	r->peer_chain = ap_tls_peer_chain(c->tls);
	r->peer_verified = r->peer_cert ? c->peer_verified : -1;
	if (c->sig_cache == NULL)
		c->sig_cache = ap_cms_signer_cache_new(); /* NULL: mdm.c does without */
	r->sig_cache = c->sig_cache;
}

/* Keeps what the request learnt of the connection's certificate (not of
 * an Mdm-Signature signer the handler put in its place). */
static void req_done(struct conn *c, const struct req *r)
{
	X509 *cert = ap_tls_peer_cert(c->tls);
	if (cert && r->peer_cert == cert)
		c->peer_verified = r->peer_verified;
}

/* The path as the log shows it: the pattern of the route it matched
 * ("/api/v1/people/:id"), never the path itself, whose segments may be a
 * person's id (an INE) or a one-time link's token; the query string is
 * never shown either (it may hold a name or a class). */
static const char *logged_path(const struct req *r)
{
	return r->route ? r->route : "(unmatched)";
}

/* The account by its number, never its name: a name is often a person's
 * ("m.durand"); the audit log says who did what, under its own access. */
static void log_request(const struct req *r, uint64_t t0)
{
	char path[200], acct[32] = "";
	if (r->has_acct)
		snprintf(acct, sizeof(acct), " account=%lld", (long long)r->acct.id);
	log_info("request",
		 "id=%s method=%s path=%s status=%d bytes_in=%zu bytes_out=%zu us=%llu%s", r->id,
		 r->http->method, log_esc(logged_path(r), path, sizeof(path)), r->resp->status,
		 r->http->body.len, r->resp->body.len,
		 (unsigned long long)((uv_hrtime() - t0) / 1000), acct);
}

/* ---- group commit ----
 *
 * The tablets' requests (ROUTE_GROUPED) of one loop turn write in one
 * transaction (store.h's group): each answer is serialised and held on
 * the worker's list, and the worker's check handle, which runs right
 * after the poll phase, commits the group and then sends the held answers
 * in the order they were made, or, when the commit failed, a 503 in their
 * place.  A request of any other route commits the group and sends its
 * answers first.  While answers are held the worker's idle handle is
 * active, so the loop never blocks in poll with a group open (a request
 * handled in the pending phase, a write's callback, holds one too).
 *
 * The group is opened before a tablet's request runs, without waiting
 * (db_group_try_open()): when another writer has the write lock, or
 * queues for it, the request is put off unstarted on the worker's
 * deferred list, the loop goes on with its other connections, and the
 * worker's group_wake, signalled when the loop's turn comes, dispatches
 * the requests put off, in order, into one group.  So neither loop
 * blocks on the other's group while that one handshakes and parses. */

static void send_unavailable(struct conn *c)
{
	struct ap_http_resp resp;
	ap_http_resp_init(&resp, 4096);
	resp.status = 503;
	resp.close = 1;
	resp.content_type = "application/json";
	ap_http_resp_add_header(&resp, "Retry-After", "1");
	ap_buf_printf(&resp.body,
		      "{\"error\":{\"code\":\"%s\",\"message\":\"the change could not be "
		      "stored: send the request again\"}}\n",
		      ap_errname(AP_EIO));
	send_response(c, &resp, 0);
	ap_http_resp_free(&resp);
}

static void answered(struct conn *c, int keep);

/* Sends (ok: rc 0) or replaces with a 503 one held answer, frees it. */
static void release(struct conn_held *h, int rc)
{
	struct conn *c = h->c;
	if (c && c->state != CONN_CLOSING) {
		c->held = NULL;
		if (rc < 0) {
			send_unavailable(c);
			close_after_flush(c);
		} else {
			if (ap_tls_write(c->tls, h->out.data, h->out.len) == 0)
				flush(c);
			answered(c, h->keep);
		}
	} else if (c) {
		c->held = NULL;
	}
	ap_buf_free(&h->out);
	free(h);
}

static void group_commit_once(struct worker *w)
{
	unsigned released = 0, answers = 0;
	struct conn_held *h = w->held;
	w->held = NULL;
	w->held_last = &w->held;
	uv_idle_stop(&w->group_idle);
	int rc = w->db ? db_group_commit(w->db, &released) : 0;
	for (struct conn_held *x = h; x; x = x->next)
		answers += x->c != NULL;
	if (released > 0 || rc < 0)
		metrics_group_commit(answers, rc == 0);
	if (rc < 0)
		log_error("group_commit_failed", "worker=%d transactions=%u answers=%u error=%s",
			  w->id, released, answers, ap_errname(rc));
	while (h) { /* detached first: a release may hold answers anew */
		struct conn_held *next = h->next;
		release(h, rc);
		h = next;
	}
}

void conn_group_commit(struct worker *w)
{
	/* the answers sent let their connections go on with requests already
	 * received, which may hold answers anew: those are committed now too,
	 * so that no group outlives the loop turn */
	do
		group_commit_once(w);
	while (w->held || (w->db && db_group_pending(w->db)));
}

static void on_group_idle(uv_idle_t *i)
{
	(void)i; /* only keeps the poll from blocking while answers are held */
}

/* The requests put off, in order, while the loop's group can be opened
 * without waiting; the rest when the loop's turn comes (group_wake). */
static void deferred_run(struct worker *w)
{
	while (w->deferred && w->db && db_group_try_open(w->db) != AP_EBUSY) {
		struct conn *c = w->deferred;
		defer_unlink(c);
		arm_deadline(c);
		w->dispatching = c;
		handle_request(c);
		w->dispatching = NULL;
		process_http(c); /* requests pipelined behind it */
	}
}

static void on_group_check(uv_check_t *k)
{
	struct worker *w = k->data;
	conn_group_commit(w);
	if (w->deferred)
		deferred_run(w); /* the lock's turn may have come meanwhile */
}

static void on_group_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	deferred_run(w);
	if (w->deferred == NULL && w->db)
		db_group_pass(w->db); /* what waited closed meanwhile: the turn goes on */
}

/* db_group_set_waker()'s waker: any thread, the write lock's mutex held */
static void group_waker(void *arg)
{
	uv_async_send(arg);
}

void conn_group_init(struct worker *w)
{
	w->held = NULL;
	w->held_last = &w->held;
	w->deferred = w->deferred_last = w->dispatching = NULL;
	uv_idle_init(&w->loop, &w->group_idle);
	uv_check_init(&w->loop, &w->group_check);
	uv_async_init(&w->loop, &w->group_wake, on_group_wake);
	w->group_check.data = w->group_idle.data = w->group_wake.data = w;
	uv_check_start(&w->group_check, on_group_check);
	/* none keeps the loop running: a drain ends with conn_group_close() */
	uv_unref((uv_handle_t *)&w->group_check);
	uv_unref((uv_handle_t *)&w->group_idle);
	uv_unref((uv_handle_t *)&w->group_wake);
	if (w->db)
		db_group_set_waker(w->db, group_waker, &w->group_wake);
}

void conn_group_close(struct worker *w)
{
	conn_group_commit(w);
	/* a drain ends with no connection left: a request still put off is
	 * refused (its writes never began) */
	while (w->deferred) {
		struct conn *c = w->deferred;
		defer_unlink(c);
		send_unavailable(c);
		close_after_flush(c);
	}
	if (uv_is_closing((uv_handle_t *)&w->group_check))
		return;
	if (w->db) { /* the turn waited for given back: nobody signals group_wake after */
		db_group_cancel(w->db);
		db_group_set_waker(w->db, NULL, NULL);
	}
	uv_close((uv_handle_t *)&w->group_check, NULL);
	uv_close((uv_handle_t *)&w->group_idle, NULL);
	uv_close((uv_handle_t *)&w->group_wake, NULL);
}

/* Holds the answer until the group commits: 0, or AP_ENOMEM (not held). */
static int hold(struct conn *c, struct ap_http_resp *resp, int keep)
{
	struct conn_held *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return AP_ENOMEM;
	if (serialize(resp, keep, &h->out) != 0) {
		ap_buf_free(&h->out);
		free(h);
		return AP_ENOMEM;
	}
	h->c = c;
	h->keep = keep;
	c->held = h;
	*c->w->held_last = h;
	c->w->held_last = &h->next;
	uv_idle_start(&c->w->group_idle, on_group_idle);
	return 0;
}

/* r->enter: a grouped request joins the group, opened now without
 * waiting, or is put off (AP_EBUSY) behind those put off before it; any
 * other commits the group and sends its answers before it runs. */
static int group_enter(struct req *r, int grouped)
{
	struct worker *w = r->w;
	if (w->db == NULL)
		return 0;
	if (!grouped) {
		if (w->held || db_group_pending(w->db))
			conn_group_commit(w);
		return 0;
	}
	if (w->deferred && w->dispatching != r->conn)
		return AP_EBUSY; /* in order of arrival */
	/* another failure (BEGIN IMMEDIATE's): the request's first write
	 * opens the group as it would have, and meets the error there */
	if (db_group_try_open(w->db) == AP_EBUSY)
		return AP_EBUSY;
	db_group_enter(w->db);
	uv_idle_start(&w->group_idle, on_group_idle); /* no poll blocks with the group open */
	return 0;
}

/* The request read is put off, unstarted, until the loop's turn of the
 * write lock (deferred_run()). */
static void defer(struct conn *c)
{
	struct worker *w = c->w;
	c->deferred = 1;
	c->dnext = NULL;
	c->dprev = w->deferred_last;
	if (w->deferred_last)
		w->deferred_last->dnext = c;
	else
		w->deferred = c;
	w->deferred_last = c;
	metrics_group_deferred();
	arm_deadline(c); /* the daemon, not the peer, is slow */
}

static void handle_request(struct conn *c)
{
	struct ap_http_msg *hr = ap_http_in_message(c->http);
	struct ap_http_resp resp;
	struct req r;
	char rid[40];
	uint64_t t0 = uv_hrtime();

	req_init(c, &r, &resp, rid);
	c->requests++;
	r.acct = c->acct;
	r.has_acct = c->has_acct;
	r.enter = group_enter;
	if (router_dispatch(&r) == AP_EBUSY) {
		c->requests--; /* not handled yet */
		req_done(c, &r);
		ap_http_resp_free(&resp);
		defer(c);
		return;
	}
	int grouped = c->w->db && db_group_pending(c->w->db);
	if (c->w->db)
		db_group_leave(c->w->db);
	req_done(c, &r);

	int keep = hr->keep_alive && !resp.close && !c->close_after_answer && !c->w->draining;
	if (c->later) { /* answered later: nothing sent, nothing more read */
		c->later->keep = keep;
		c->later->head = resp.head;
		c->later->t0 = t0;
		snprintf(c->later->method, sizeof(c->later->method), "%s", hr->method);
		c->later->route = r.route;
		ap_http_resp_free(&resp);
		ap_http_in_next(c->http);
		body_release(c);
		uv_read_stop((uv_stream_t *)&c->tcp);
		arm_deadline(c);
		return;
	}
	log_request(&r, t0);
	metrics_request(metrics_class_of(r.route), uv_hrtime() - t0);
	if (grouped && hold(c, &resp, keep) == 0) {
		ap_http_resp_free(&resp);
		ap_http_in_next(c->http);
		body_release(c);
		return; /* conn_group_commit() sends it, or a 503 */
	}
	if (grouped)
		conn_group_commit(c->w); /* not held (no memory): committed first */
	send_response(c, &resp, keep);
	ap_http_resp_free(&resp);
	ap_http_in_next(c->http);
	body_release(c);
	if (!keep)
		close_after_flush(c);
	else
		conn_set_state(c, CONN_IDLE);
}

static void later_answer(struct req_later *base, struct ap_http_resp *resp, int fd, uint64_t size);

/* r->later: an answer promised (req.h). */
static struct req_later *later_take(struct req *r)
{
	struct conn *c = r->conn;
	struct conn_later *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->base.answer = later_answer;
	l->c = c;
	snprintf(l->rid, sizeof(l->rid), "%s", r->id);
	if (r->has_acct)
		snprintf(l->account, sizeof(l->account), "%s", r->acct.name);
	c->later = l;
	r->resp->status = 102; /* an answer promised: never sent, the router sees one */
	return &l->base;
}

/* After an answer: the next request, or the close. */
static void answered(struct conn *c, int keep)
{
	if (!keep || c->close_after_answer || c->w->draining) {
		close_after_flush(c);
		return;
	}
	conn_set_state(c, CONN_IDLE);
	arm_deadline(c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	process_http(c); /* requests received meanwhile */
}

/* Queues chunks of the file answer while less than CONN_FILE_AHEAD waits;
 * at its end, the next request. */
static void pump_file(struct conn *c)
{
	/* the loop's read buffer: free outside on_read, which never sends a file */
	char *buf = c->w->rbuf;
	size_t cap = sizeof(c->w->rbuf) < CONN_FILE_CHUNK ? sizeof(c->w->rbuf) : CONN_FILE_CHUNK;
	/* writes not yet called back hold their buffers, even those the
	 * kernel took at once (libuv calls back on the next turn): count them */
	while (c->file_left > 0 && (size_t)c->pending_writes < CONN_FILE_AHEAD / CONN_FILE_CHUNK &&
	       uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < CONN_FILE_AHEAD) {
		size_t want = c->file_left < cap ? (size_t)c->file_left : cap;
		ssize_t n = pread(c->file_fd, buf, want, (off_t)c->file_off);
		if (n <= 0 || ap_tls_write(c->tls, buf, (size_t)n) != 0 || flush(c) < 0) {
			log_warn("file_answer_failed", "conn=%s sent=%llu", c->id,
				 (unsigned long long)c->file_off);
			conn_close(c); /* a short body: the peer sees it cut */
			return;
		}
		c->file_off += (uint64_t)n;
		c->file_left -= (uint64_t)n;
	}
	if (c->file_left > 0) {
		arm_deadline(c); /* the peer's reading */
		return;
	}
	close(c->file_fd);
	c->file_fd = -1;
	answered(c, c->file_keep);
}

/* resp serialised with its body replaced by size bytes to come: the
 * Content-Length line ap_http_resp_serialize() wrote for an empty body
 * (the second line) says size instead. */
static int file_head(struct ap_http_resp *resp, uint64_t size, int keep, struct ap_buf *out)
{
	struct ap_buf head;
	ap_buf_init(&head, 1u << 16);
	resp->body.len = 0;
	int rc = ap_http_resp_serialize(resp, keep, &head);
	const char *cl =
	    rc == 0 ? strstr((const char *)head.data, "\r\nContent-Length: 0\r\n") : NULL;
	if (cl == NULL)
		rc = AP_EINTERNAL;
	if (rc == 0) {
		size_t first = (size_t)(cl - (const char *)head.data) + 2;
		size_t skip = first + strlen("Content-Length: 0\r\n");
		rc = ap_buf_append(out, head.data, first);
		if (rc == 0)
			rc = ap_buf_printf(out, "Content-Length: %llu\r\n",
					   (unsigned long long)size);
		if (rc == 0)
			rc = ap_buf_append(out, head.data + skip, head.len - skip);
	}
	ap_buf_free(&head);
	return rc;
}

static void later_answer(struct req_later *base, struct ap_http_resp *resp, int fd, uint64_t size)
{
	struct conn_later *l = (struct conn_later *)base;
	struct conn *c = l->c;
	if (c == NULL || c->state == CONN_CLOSING) {
		if (fd >= 0)
			close(fd);
		free(l);
		return;
	}
	c->later = NULL;
	log_info("request",
		 "id=%s method=%s path=%s status=%d bytes_in=0 bytes_out=%llu us=%llu%s%s", l->rid,
		 l->method, l->route ? l->route : "(unmatched)", resp->status,
		 (unsigned long long)(fd >= 0 ? size : resp->body.len),
		 (unsigned long long)((uv_hrtime() - l->t0) / 1000),
		 l->account[0] ? " account=" : "", l->account);
	int keep = l->keep && !resp->close;
	resp->head = l->head;
	free(l);
	if (fd < 0) {
		send_response(c, resp, keep);
		answered(c, keep);
		return;
	}
	struct ap_buf out;
	ap_buf_init(&out, 1u << 16);
	resp->fixed = SECURITY_HEADERS "Cache-Control: no-store\r\n";
	if (file_head(resp, size, keep, &out) != 0 ||
	    ap_tls_write(c->tls, out.data, out.len) != 0) {
		ap_buf_free(&out);
		close(fd);
		conn_close(c);
		return;
	}
	ap_buf_free(&out);
	flush(c);
	if (resp->head) { /* the length said, no body */
		close(fd);
		answered(c, keep);
		return;
	}
	c->file_fd = fd;
	c->file_off = 0;
	c->file_left = size;
	c->file_keep = keep;
	pump_file(c);
}

/* A client that waits for leave to send its body ("Expect: 100-continue",
 * curl's way with a body over 1 MiB) hears it once the body is admitted;
 * a refused one hears the refusal instead.  (A client that sent its body
 * without waiting reads the interim answer and goes on: RFC 9110 15.2.) */
static void expect_continue(struct conn *c)
{
	static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *v = ap_http_header(ap_http_in_message(c->http), "expect");
	if (v == NULL || strcasecmp(v, "100-continue") != 0)
		return;
	if (ap_tls_write(c->tls, go, sizeof(go) - 1) == 0)
		flush(c);
}

/* The head of a request with a body is in and none of the body is read:
 * the router decides from the head how much body it may send and reserves
 * it in the process's budget, or answers at once (401, 413, 503) and the
 * connection closes unread.  0 when the body may come. */
static int admit_body(struct conn *c)
{
	struct ap_http_resp resp;
	struct req r;
	struct router_admission a;
	char rid[40];
	uint64_t t0 = uv_hrtime();

	req_init(c, &r, &resp, rid);
	int rc = router_admit(&r, ap_http_in_body_length(c->http), &a);
	req_done(c, &r);
	if (rc == 0) {
		c->body_reserved = a.reserved;
		c->body_anonymous = a.anonymous;
		c->acct = r.acct;
		c->has_acct = r.has_acct;
		if (ap_http_in_admit(c->http, a.limit) != 0) {
			answer_error(c, 413);
			rc = AP_ETOOBIG;
		} else {
			expect_continue(c);
		}
	} else {
		c->requests++;
		log_request(&r, t0);
		send_response(c, &resp, 0);
		close_after_flush(c);
	}
	ap_http_resp_free(&resp);
	return rc;
}

/* Parses what plaintext there is; answers every complete request. */
static void process_http(struct conn *c)
{
	while (c->in.len > 0 && c->state != CONN_CLOSING && !c->close_when_flushed && !c->later &&
	       !c->held && !c->deferred && c->file_fd < 0) {
		size_t used = 0;
		if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > CONN_MAX_QUEUED) {
			if (!c->read_paused) {
				log_debug("conn_paused", "conn=%s queued=%zu", c->id,
					  uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp));
				c->read_paused = 1;
				arm_deadline(c);
			}
			uv_read_stop((uv_stream_t *)&c->tcp);
			return;
		}
		int status = ap_http_in_feed(c->http, c->in.data, c->in.len, &used);
		ap_buf_consume(&c->in, used);
		if (status) {
			answer_error(c, status);
			return;
		}
		switch (ap_http_in_state(c->http)) {
		case AP_HTTP_IN_IDLE:
			return;
		case AP_HTTP_IN_HEAD:
			conn_set_state(c, CONN_HEAD);
			return;
		case AP_HTTP_IN_ADMIT:
			if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE)
				conn_set_state(c, CONN_HEAD); /* arms the head deadline */
			if (admit_body(c) < 0)
				return; /* answered, closing */
			conn_set_state(c, CONN_BODY);
			break; /* parse the body received with the head */
		case AP_HTTP_IN_BODY:
			if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE)
				conn_set_state(c, CONN_HEAD); /* arms the head deadline */
			conn_set_state(c, CONN_BODY);
			return;
		case AP_HTTP_IN_DONE:
			/* a whole request in one read still leaves IDLE, so the
			 * next IDLE re-arms the idle deadline */
			conn_set_state(c, CONN_HEAD);
			handle_request(c);
			break;
		}
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = h->data;
	*buf = uv_buf_init(c->w->rbuf, sizeof(c->w->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		log_debug("conn_eof", "conn=%s reason=%s", c->id, uv_err_name((int)nread));
		if (c->state == CONN_IDLE)
			ap_tls_shutdown(c->tls); /* closed between requests: resumable */
		conn_close(c);
		return;
	}
	ap_tls_feed(c->tls, buf->base, (size_t)nread);
	int rc = ap_tls_read(c->tls, &c->in);
	int was_handshake = c->state == CONN_HANDSHAKE;
	flush(c);
	if (rc == AP_EIO) { /* close_notify */
		close_after_flush(c);
		return;
	}
	if (rc < 0) {
		char why[160];
		if (was_handshake)
			metrics_tls(METRICS_TLS_FAILED);
		log_info("tls_error", "conn=%s peer=%s error=%s", c->id, c->peer,
			 log_esc(ap_tls_last_error(c->tls), why, sizeof(why)));
		close_after_flush(c);
		return;
	}
	if (was_handshake && ap_tls_handshake_done(c->tls)) {
		metrics_tls(ap_tls_resumed(c->tls) ? METRICS_TLS_RESUMED : METRICS_TLS_FULL);
		log_debug("tls_ready", "conn=%s version=%s resumed=%d client_cert=%d", c->id,
			  ap_tls_version(c->tls), ap_tls_resumed(c->tls),
			  ap_tls_peer_cert(c->tls) != NULL);
		conn_set_state(c, CONN_IDLE);
	}
	if (c->state != CONN_HANDSHAKE)
		process_http(c);
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	int unread = answering(c);
	log_info("timeout", "conn=%s peer=%s state=%s", c->id, c->peer,
		 unread ? "answers_unread" : state_names[c->state]);
	if (unread) {
		conn_close(c); /* answers it does not read: nothing more to say */
		return;
	}
	if (c->state == CONN_HEAD || c->state == CONN_BODY) {
		answer_error(c, 408);
		return;
	}
	conn_close(c);
}

/* "ip:port" of the peer for logs, and its key in the per-address quota;
 * AP_EINVAL when the peer's address is unknown. */
static int peer_name(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0, rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len);
	if (rc == 0 && ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (rc == 0 && ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
	return rc == 0 ? quota_addr_of((struct sockaddr *)&ss, &c->addr) : AP_EINVAL;
}

/* Why a new connection cannot be served, or NULL (then it is counted in
 * the per-address quota). */
static const char *refusal(struct conn *c)
{
	struct worker *w = c->w;
	if (w->draining)
		return "draining";
	if (w->n_conns > (size_t)w->srv->cfg.max_connections)
		return "max_connections";
	if (peer_name(c) < 0)
		return "no_peer_address";
	if (quota_addr_take(w->srv->quota, &c->addr) < 0)
		return "max_connections_per_ip";
	c->addr_counted = 1;
	return NULL;
}

void conn_accept(struct worker *w, int fd)
{
	const struct config *cfg = &w->srv->cfg;
	struct ap_http_limits lim = {(size_t)cfg->max_header_bytes, (size_t)cfg->max_body_bytes, 1};
	struct conn *c = calloc(1, sizeof(*c));
	uint64_t dropped = 0;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	uv_tcp_init(&w->loop, &c->tcp);
	uv_timer_init(&w->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles_open = 2;
	c->state = CONN_HANDSHAKE;
	c->peer_verified = -1;
	c->file_fd = -1;
	snprintf(c->id, sizeof(c->id), "w%d-%llu", w->id, (unsigned long long)++w->next_id);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	metrics_connection(1);
	if (uv_tcp_open(&c->tcp, fd) < 0) {
		close(fd);
		conn_close(c);
		return;
	}
	const char *why = refusal(c);
	if (why) {
		/* a flood of these must not flood the log */
		if (log_rate_pass(&w->accept_log, uv_now(&w->loop), &dropped))
			log_warn("conn_refused",
				 "conn=%s peer=%s reason=%s open_connections=%zu "
				 "not_logged=%llu",
				 c->id, c->peer, why, w->n_conns, (unsigned long long)dropped);
		conn_close(c);
		return;
	}
	c->tls = ap_tls_new(w->ssl_ctx);
	c->http = ap_http_in_new(AP_HTTP_REQUEST, &lim);
	ap_buf_init(&c->in, lim.max_header_bytes + lim.max_body_bytes + 65536);
	if (c->tls == NULL || c->http == NULL) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	log_debug("conn_open", "conn=%s peer=%s", c->id, c->peer);
	uv_timer_start(&c->timer, on_timer, (uint64_t)cfg->header_timeout_ms, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void conn_drain_all(struct worker *w)
{
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE)
			close_after_flush(c);
		else
			c->close_after_answer = 1;
	}
}

void conn_close_all(struct worker *w)
{
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		conn_close(c);
	}
}
