/*
 * sim_net.c - the client engine: libuv sockets under the protocol
 * library's transport (ap_tls, TLS over memory BIOs; ap_http, responses
 * framed with limits).
 *
 * Connection states: CONNECTING (TCP), HANDSHAKE (TLS), READY (no request
 * in flight), WAITING (request sent, answer not complete), CLOSING (uv_close
 * issued; freed in the close callbacks of its two handles).
 */
#include "sim_net.h"
#include "ap_buf.h"
#include "ap_err.h"
#include "ap_http.h"
#include "ap_tls.h"

#include <netdb.h>
#include <openssl/provider.h>
#include <uv.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK	 65536
#define POOL_MAX_IDLE_MS 20000 /* below the daemon's idle_timeout_ms default (30 s) */
#define MAX_HEAD_BYTES	 65536 /* an answer's status line and headers */

enum conn_state { CS_CONNECTING, CS_HANDSHAKE, CS_READY, CS_WAITING, CS_CLOSING };

struct sim_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	struct sim_loop *loop;
	struct sim_task *task; /* NULL while idle in the pool */
	enum conn_state state;
	int handles;	    /* open libuv handles (tcp, timer) */
	int connect_issued; /* uv_tcp_connect called */
	int writes;	    /* uv_write requests in flight */
	int close_after_writes;
	int pooled; /* no identity: may go back to the pool */
	struct ap_tls *tls;
	struct ap_http_in *http; /* the answers */
	struct ap_buf plain;	 /* decrypted, not yet framed */
	int keep_alive;		 /* the last answer's */
	struct ap_buf pending;	 /* serialized request waiting for the handshake */
	sim_resp_fn cb;
	struct sim_conn *next_idle;
	uint64_t idle_since; /* uv_now() when pooled */
};

struct sim_loop {
	uv_loop_t uv;
	uv_timer_t pace;
	uv_thread_t thread;
	const struct sim_net_cfg *cfg;
	sim_task_fn start;
	void *arg;
	/* this loop's share of the run: indices first, first + step, ... */
	size_t next, n, step;
	unsigned concurrency, active;
	double interval_ns; /* between this loop's starts when paced, else 0 */
	uint64_t t_start;
	size_t started;
	int pumping, pump_again;
	struct sim_conn *idle; /* pooled connections */
	/* loops on threads of their own have their own OpenSSL library and TLS
	 * contexts: OpenSSL 3.0's locks are per library context, and shared
	 * by two cores they cost more than the handshakes */
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *provider;
	SSL_CTX *ctx;
	/* results */
	double *lat;
	size_t n_lat, errors, tasks;
	size_t requests, handshakes, resumed; /* struct sim_stats */
	char first_error[240];
	int rc;
};

/* ---- configuration ---- */

static int parse_url(const char *url, char *host, size_t cap, int *port)
{
	const char *p = url;
	if (strncmp(p, "https://", 8) != 0)
		return AP_EINVAL;
	p += 8;
	const char *end = p + strcspn(p, "/?#");
	const char *colon = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL)
			return AP_EINVAL;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		p++;
		end = colon ? colon - 1 : rb;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
	}
	const char *host_end = colon ? (*(colon - 1) == ']' ? colon - 1 : colon) : end;
	size_t n = (size_t)(host_end - p);
	if (n == 0 || n >= cap)
		return AP_EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	*port = 443;
	if (colon) {
		char *e = NULL;
		long v = strtol(colon + 1, &e, 10);
		if (e == colon + 1 || v < 1 || v > 65535)
			return AP_EINVAL;
		*port = (int)v;
	}
	return 0;
}

static int make_ctx(const struct sim_net_cfg *c, OSSL_LIB_CTX *libctx, const char *ca_file,
		    SSL_CTX **ret, char *err, size_t cap)
{
	int rc = ap_tls_client_ctx_new(libctx, ca_file, c->host, ret);
	if (rc == AP_EIO)
		snprintf(err, cap, "%s: cannot read the CA certificate", ca_file);
	if (rc == 0 && c->groups[0] && SSL_CTX_set1_groups_list(*ret, c->groups) != 1) {
		snprintf(err, cap, "TLS groups '%s' refused", c->groups);
		SSL_CTX_free(*ret);
		*ret = NULL;
		return AP_EINVAL;
	}
	return rc;
}

int sim_net_cfg_init(struct sim_net_cfg *c, const char *url, const char *ca_file, char *err,
		     size_t cap)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[8];

	memset(c, 0, sizeof(*c));
	c->timeout_ms = 30000;
	c->max_body = 16u << 20;
	if (url == NULL || parse_url(url, c->host, sizeof(c->host), &c->port) < 0) {
		snprintf(err, cap, "bad URL '%s' (want https://HOST[:PORT])", url ? url : "");
		return AP_EINVAL;
	}
	snprintf(port, sizeof(port), "%d", c->port);
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(c->host, port, &hints, &res);
	if (g != 0 || res == NULL) {
		snprintf(err, cap, "%s: %s", c->host, gai_strerror(g));
		return AP_EIO;
	}
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	snprintf(c->ca_file, sizeof(c->ca_file), "%s", ca_file ? ca_file : "");
	return make_ctx(c, NULL, ca_file, &c->ctx, err, cap);
}

int sim_net_cfg_client(struct sim_net_cfg *c, const char *groups, const char *user_agent)
{
	c->user_agent = user_agent;
	if (groups == NULL)
		return 0;
	if (strlen(groups) >= sizeof(c->groups) || SSL_CTX_set1_groups_list(c->ctx, groups) != 1)
		return AP_EINVAL;
	snprintf(c->groups, sizeof(c->groups), "%s", groups);
	return 0;
}

void sim_net_cfg_clear(struct sim_net_cfg *c)
{
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
}

/* ---- connection life ---- */

static void pump(struct sim_loop *l);

static void on_handle_closed(uv_handle_t *h)
{
	struct sim_conn *c = h->data;
	if (--c->handles > 0)
		return;
	ap_tls_free(c->tls);
	ap_http_in_free(c->http);
	ap_buf_free(&c->plain);
	ap_buf_free(&c->pending);
	free(c);
}

static void conn_close(struct sim_conn *c)
{
	if (c->state == CS_CLOSING)
		return;
	c->state = CS_CLOSING;
	ap_tls_client_session(c->tls, NULL, 0);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void pool_remove(struct sim_conn *c)
{
	for (struct sim_conn **p = &c->loop->idle; *p; p = &(*p)->next_idle) {
		if (*p == c) {
			*p = c->next_idle;
			c->next_idle = NULL;
			return;
		}
	}
}

/* The connection failed: report to the task waiting on it (if any) and close. */
static void conn_fail(struct sim_conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(struct sim_conn *c, int err, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (c->state == CS_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sim_resp_fn cb = c->state == CS_WAITING || c->pending.len ? c->cb : NULL;
	struct sim_task *t = c->task;
	if (t == NULL)
		pool_remove(c);
	conn_close(c);
	if (cb && t)
		cb(NULL, t, err, NULL, why);
}

static void on_timeout(uv_timer_t *tm)
{
	struct sim_conn *c = tm->data;
	conn_fail(c, AP_ETIMEOUT, "no answer within %u ms", c->loop->cfg->timeout_ms);
}

struct wbuf {
	uv_write_t req;
	struct sim_conn *c;
	char *data; /* from ap_tls_take() */
};

static void on_write(uv_write_t *req, int status)
{
	struct wbuf *w = (struct wbuf *)req;
	struct sim_conn *c = w->c;
	free(w->data);
	free(w);
	c->writes--;
	if (status < 0 && status != UV_ECANCELED)
		conn_fail(c, AP_EIO, "write: %s", uv_strerror(status));
	else if (c->writes == 0 && c->close_after_writes)
		conn_close(c);
}

/* Sends the ciphertext the TLS filter produced: what the socket takes at
 * once, the rest through a write request that owns it. */
static int flush(struct sim_conn *c)
{
	char *data;
	size_t len;
	int rc = ap_tls_take(c->tls, &data, &len);
	if (rc < 0 || len == 0)
		return rc;
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	int done = c->writes ? 0 : uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (done == UV_EAGAIN)
		done = 0;
	struct wbuf *w = done >= 0 && (size_t)done < len ? malloc(sizeof(*w)) : NULL;
	if (w == NULL) {
		free(data);
		return done < 0 ? AP_EIO : (size_t)done == len ? 0 : AP_ENOMEM;
	}
	w->c = c;
	w->data = data;
	b = uv_buf_init(data + done, (unsigned)(len - (size_t)done));
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		free(data);
		free(w);
		return AP_EIO;
	}
	c->writes++;
	return 0;
}

/* ---- HTTP answers ---- */

/* Hands the complete answer to the task. */
static void deliver(struct sim_conn *c)
{
	struct ap_http_msg *m = ap_http_in_message(c->http);
	struct sim_http_resp r = {m->status, m->body.data ? m->body.data : "", m->body.len};
	sim_resp_fn cb = c->cb;

	uv_timer_stop(&c->timer);
	c->state = CS_READY;
	c->cb = NULL;
	c->keep_alive = m->keep_alive;
	c->loop->requests++;
	if (!c->keep_alive)
		c->pooled = 0; /* the server closes it: never reuse */
	cb(c, c->task, 0, &r, NULL);
}

/* Frames the plaintext received; bytes after a complete answer are dropped
 * (one request at a time: the server has nothing more to say). */
static void feed_http(struct sim_conn *c)
{
	size_t used = 0;

	if (c->state != CS_WAITING) {
		conn_fail(c, AP_EIO, "unexpected bytes from the server");
		return;
	}
	if (ap_http_in_state(c->http) == AP_HTTP_IN_DONE)
		ap_http_in_next(c->http); /* the last answer lived until now */
	int status = ap_http_in_feed(c->http, c->plain.data, c->plain.len, &used);
	ap_buf_reset(&c->plain);
	if (status == 413)
		conn_fail(c, AP_ETOOBIG, "answer larger than %zu bytes", c->loop->cfg->max_body);
	else if (status)
		conn_fail(c, AP_EIO, "bad HTTP answer (%d %s)", status, ap_http_reason(status));
	else if (ap_http_in_state(c->http) == AP_HTTP_IN_DONE)
		deliver(c);
}

/* ---- TLS ---- */

static void send_pending(struct sim_conn *c)
{
	if (c->pending.len == 0)
		return;
	if (ap_tls_write(c->tls, c->pending.data, c->pending.len) < 0) {
		conn_fail(c, AP_ECRYPTO, "TLS write: %s", ap_tls_last_error(c->tls));
		return;
	}
	ap_buf_reset(&c->pending);
	c->state = CS_WAITING;
	if (flush(c) < 0)
		conn_fail(c, AP_EIO, "cannot write to the server");
}

/* Runs the filter on what arrived (nothing yet: the ClientHello): sends
 * what it produced, starts the request once the handshake is done, frames
 * the plaintext, then reports the filter's error, if any. */
static void tls_progress(struct sim_conn *c)
{
	int was_handshake = c->state == CS_HANDSHAKE;
	int rc = ap_tls_read(c->tls, &c->plain);

	if (flush(c) < 0) {
		conn_fail(c, AP_EIO, "cannot write to the server");
		return;
	}
	if (rc == 0 && c->state == CS_HANDSHAKE && ap_tls_handshake_done(c->tls)) {
		c->state = CS_READY;
		c->loop->handshakes++;
		c->loop->resumed += ap_tls_resumed(c->tls) ? 1 : 0;
		send_pending(c);
	}
	if (c->plain.len && c->state != CS_CLOSING)
		feed_http(c);
	if (rc == AP_EIO)
		conn_fail(c, AP_EIO, "server closed the connection");
	else if (rc == AP_ETOOBIG)
		conn_fail(c, AP_ETOOBIG, "answer larger than %zu bytes", c->loop->cfg->max_body);
	else if (rc < 0)
		conn_fail(c, AP_ECRYPTO, "%s: %s", was_handshake ? "TLS handshake" : "TLS read",
			  ap_tls_last_error(c->tls));
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static __thread char chunk[READ_CHUNK];
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct sim_conn *c = s->data;

	if (nread == 0 || c->state == CS_CLOSING)
		return;
	if (nread < 0) {
		conn_fail(c, AP_EIO, "server closed the connection (%s)", uv_err_name((int)nread));
		return;
	}
	if (ap_tls_feed(c->tls, buf->base, (size_t)nread) < 0) {
		conn_fail(c, AP_ENOMEM, "out of memory");
		return;
	}
	tls_progress(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct sim_conn *c = req->data;

	if (c->state == CS_CLOSING)
		return;
	if (status < 0) {
		conn_fail(c, AP_EIO, "connect: %s", uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->state = CS_HANDSHAKE;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_fail(c, AP_EIO, "cannot read from the socket");
		return;
	}
	tls_progress(c);
}

static int set_identity(struct sim_conn *c, const struct sim_identity *id)
{
	if (id == NULL)
		return 0;
	if (id->cert && ap_tls_client_identity(c->tls, id->cert, id->key) < 0)
		return AP_ECRYPTO;
	ap_tls_client_session(c->tls, id->session, c->loop->cfg->resume);
	return 0;
}

static struct sim_conn *conn_new(struct sim_task *t, const struct sim_identity *id)
{
	struct sim_loop *l = t->loop;
	struct sim_conn *c = calloc(1, sizeof(*c));
	struct ap_http_limits lim = {MAX_HEAD_BYTES, l->cfg->max_body, 0};

	if (c == NULL)
		return NULL;
	c->loop = l;
	c->task = t;
	c->state = CS_CONNECTING;
	c->pooled = id == NULL || id->cert == NULL;
	ap_buf_init(&c->plain, l->cfg->max_body + MAX_HEAD_BYTES);
	ap_buf_init(&c->pending, l->cfg->max_body + 65536);
	c->tls = ap_tls_client_new(l->ctx, l->cfg->host);
	c->http = ap_http_in_new(AP_HTTP_RESPONSE, &lim);
	if (c->tls == NULL || c->http == NULL) {
		ap_tls_free(c->tls);
		ap_http_in_free(c->http);
		free(c);
		return NULL;
	}
	uv_tcp_init(&l->uv, &c->tcp);
	uv_timer_init(&l->uv, &c->timer);
	c->tcp.data = c->timer.data = c->creq.data = c;
	c->handles = 2;
	if (set_identity(c, id) < 0) {
		conn_close(c); /* freed by the close callbacks */
		return NULL;
	}
	return c;
}

/* A pooled connection young enough not to race the server's idle close. */
static struct sim_conn *pool_take(struct sim_loop *l)
{
	while (l->idle) {
		struct sim_conn *c = l->idle;
		l->idle = c->next_idle;
		c->next_idle = NULL;
		if (uv_now(&l->uv) - c->idle_since < POOL_MAX_IDLE_MS)
			return c;
		c->pooled = 0;
		sim_conn_release(c);
	}
	return NULL;
}

struct sim_conn *sim_conn_open(struct sim_task *t, const struct sim_identity *id)
{
	struct sim_loop *l = t->loop;
	struct sim_conn *c = NULL;

	if (l->cfg->keepalive && (id == NULL || id->cert == NULL) && (c = pool_take(l)) != NULL) {
		c->task = t;
		return c;
	}
	return conn_new(t, id);
}

static int serialize(struct sim_conn *c, const struct sim_http_req *r)
{
	const struct sim_net_cfg *cfg = c->loop->cfg;
	char host[sizeof(cfg->host) + 8];
	snprintf(host, sizeof(host), "%s:%d", cfg->host, cfg->port);
	const char *ua = cfg->user_agent ? cfg->user_agent : "ardoise-sim";
	struct ap_http_out_req out = {r->method,       r->path,	   host,    ua,
				      r->content_type, r->headers, r->body, r->len};
	return ap_http_req_serialize(&out, &c->pending);
}

int sim_conn_request(struct sim_conn *c, const struct sim_http_req *req, sim_resp_fn cb)
{
	if (c == NULL || c->state == CS_CLOSING || c->state == CS_WAITING || c->pending.len)
		return AP_EBUSY;
	if (c->state == CS_READY && !c->keep_alive)
		return AP_EIO; /* the server said Connection: close */
	ap_buf_reset(&c->pending);
	int rc = serialize(c, req);
	if (rc < 0)
		return rc;
	c->cb = cb;
	uv_timer_start(&c->timer, on_timeout, c->loop->cfg->timeout_ms, 0);
	if (c->state == CS_READY) {
		send_pending(c);
	} else if (!c->connect_issued) {
		c->connect_issued = 1;
		if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->loop->cfg->addr,
				   on_connect) < 0)
			conn_fail(c, AP_EIO, "cannot connect");
	}
	return 0;
}

void sim_conn_release(struct sim_conn *c)
{
	if (c == NULL || c->state == CS_CLOSING)
		return;
	ap_tls_client_session(c->tls, NULL, 0);
	c->task = NULL;
	if (c->loop->cfg->keepalive && c->pooled && c->state == CS_READY) {
		c->idle_since = uv_now(&c->loop->uv);
		c->next_idle = c->loop->idle;
		c->loop->idle = c;
		return;
	}
	if (c->state == CS_READY || c->state == CS_WAITING) {
		ap_tls_shutdown(c->tls); /* close_notify */
		flush(c);
	}
	if (c->writes) {
		c->close_after_writes = 1;
		uv_read_stop((uv_stream_t *)&c->tcp);
		uv_timer_stop(&c->timer);
		c->cb = NULL;
		c->state = CS_READY; /* no callback can be delivered any more */
		return;
	}
	conn_close(c);
}

int sim_conn_resumed(const struct sim_conn *c)
{
	return c && c->tls && ap_tls_resumed(c->tls);
}

/* ---- the run ---- */

void sim_task_done(struct sim_task *t, int err, const char *why)
{
	struct sim_loop *l = t->loop;
	double ms = (double)(uv_hrtime() - t->t0) / 1e6;

	l->lat[l->n_lat++] = ms;
	l->tasks++;
	if (err < 0) {
		l->errors++;
		if (l->first_error[0] == '\0')
			snprintf(l->first_error, sizeof(l->first_error), "%s",
				 why ? why : ap_strerror(err));
	}
	l->active--;
	free(t);
	pump(l);
}

static void on_pace(uv_timer_t *tm)
{
	pump(tm->data);
}

static void close_idle(struct sim_loop *l)
{
	while (l->idle) {
		struct sim_conn *c = l->idle;
		l->idle = c->next_idle;
		c->next_idle = NULL;
		c->pooled = 0;
		sim_conn_release(c);
	}
}

/* Starts the next tasks, as concurrency and pacing allow. */
static int start_one(struct sim_loop *l)
{
	uint64_t now = uv_hrtime(), due = now;

	if (l->interval_ns > 0) {
		due = l->t_start + (uint64_t)(l->interval_ns * (double)l->started);
		if (due > now) {
			uv_timer_start(&l->pace, on_pace, (due - now + 999999) / 1000000, 0);
			return 0;
		}
	}
	struct sim_task *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		l->rc = AP_ENOMEM;
		l->next = l->n;
		return 0;
	}
	t->loop = l;
	t->index = l->next;
	t->arg = l->arg;
	t->t0 = due;
	l->next += l->step;
	l->started++;
	l->active++;
	l->start(t);
	return 1;
}

static void pump(struct sim_loop *l)
{
	if (l->pumping) {
		l->pump_again = 1;
		return;
	}
	l->pumping = 1;
	do {
		l->pump_again = 0;
		while (l->next < l->n && l->active < l->concurrency && start_one(l))
			;
	} while (l->pump_again);
	l->pumping = 0;
	if (l->next >= l->n && l->active == 0) {
		close_idle(l);
		if (!uv_is_closing((uv_handle_t *)&l->pace))
			uv_close((uv_handle_t *)&l->pace, NULL);
	}
}

static void loop_main(void *arg)
{
	struct sim_loop *l = arg;
	OSSL_LIB_CTX *before = l->libctx ? OSSL_LIB_CTX_set0_default(l->libctx) : NULL;
	l->t_start = uv_hrtime();
	pump(l);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	if (before)
		OSSL_LIB_CTX_set0_default(before);
}

/* Loop k > 0 runs on a thread of its own: its own contexts. */
static int loop_crypto(struct sim_loop *l, unsigned k)
{
	char err[sizeof(l->cfg->ca_file) + 64]; /* unused: the first loop reported it */
	if (k == 0) {
		l->ctx = l->cfg->ctx;
		return 0;
	}
	if ((l->libctx = OSSL_LIB_CTX_new()) == NULL ||
	    (l->provider = OSSL_PROVIDER_load(l->libctx, "default")) == NULL)
		return AP_ECRYPTO;
	return make_ctx(l->cfg, l->libctx, l->cfg->ca_file, &l->ctx, err, sizeof(err));
}

static void loop_crypto_free(struct sim_loop *l)
{
	if (l->libctx == NULL)
		return;
	SSL_CTX_free(l->ctx);
	if (l->provider)
		OSSL_PROVIDER_unload(l->provider);
	OSSL_LIB_CTX_free(l->libctx);
}

static int loop_init(struct sim_loop *l, const struct sim_net_cfg *cfg,
		     const struct sim_run_opts *o, unsigned k, unsigned threads)
{
	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	l->next = k;
	l->n = o->n;
	l->step = threads;
	unsigned conc = o->concurrency / threads + (k < o->concurrency % threads ? 1 : 0);
	l->concurrency = conc ? conc : 1;
	l->interval_ns = o->rate > 0 ? 1e9 * threads / o->rate : 0;
	size_t share = o->n > k ? (o->n - k + threads - 1) / threads : 0;
	l->lat = malloc((share ? share : 1) * sizeof(double));
	if (l->lat == NULL || uv_loop_init(&l->uv) < 0) {
		free(l->lat);
		return AP_ENOMEM;
	}
	if (loop_crypto(l, k) < 0) {
		loop_crypto_free(l);
		free(l->lat);
		uv_loop_close(&l->uv);
		return AP_ECRYPTO;
	}
	uv_timer_init(&l->uv, &l->pace);
	l->pace.data = l;
	return 0;
}

static void merge(struct sim_loop *loops, unsigned threads, struct sim_stats *s)
{
	size_t n = 0;
	for (unsigned k = 0; k < threads; k++)
		n += loops[k].n_lat;
	s->lat_ms = malloc((n ? n : 1) * sizeof(double));
	for (unsigned k = 0; k < threads; k++) {
		struct sim_loop *l = &loops[k];
		if (s->lat_ms)
			memcpy(s->lat_ms + s->n_lat, l->lat, l->n_lat * sizeof(double));
		s->n_lat += s->lat_ms ? l->n_lat : 0;
		s->tasks += l->tasks;
		s->errors += l->errors;
		s->requests += l->requests;
		s->handshakes += l->handshakes;
		s->resumed += l->resumed;
		if (s->first_error[0] == '\0' && l->first_error[0])
			memcpy(s->first_error, l->first_error, sizeof(s->first_error));
		free(l->lat);
		uv_loop_close(&l->uv);
		loop_crypto_free(l);
	}
}

int sim_net_run(const struct sim_net_cfg *cfg, const struct sim_run_opts *o, sim_task_fn start,
		void *arg, struct sim_stats *ret)
{
	unsigned threads = o->threads ? o->threads : 1;
	struct sim_loop *loops = calloc(threads, sizeof(*loops));
	struct sim_stats s = {0};
	unsigned k;
	int rc = 0;

	if (loops == NULL)
		return AP_ENOMEM;
	if (threads > o->n && o->n > 0)
		threads = (unsigned)o->n;
	for (k = 0; k < threads && rc == 0; k++) {
		rc = loop_init(&loops[k], cfg, o, k, threads);
		loops[k].start = start;
		loops[k].arg = arg;
	}
	if (rc < 0) {
		threads = k - 1;
		goto out;
	}
	uint64_t t0 = uv_hrtime();
	for (k = 1; k < threads; k++)
		uv_thread_create(&loops[k].thread, loop_main, &loops[k]);
	loop_main(&loops[0]);
	for (k = 1; k < threads; k++)
		uv_thread_join(&loops[k].thread);
	s.seconds = (double)(uv_hrtime() - t0) / 1e9;
	for (k = 0; k < threads; k++)
		if (loops[k].rc < 0)
			rc = loops[k].rc;
out:
	merge(loops, threads, &s);
	free(loops);
	*ret = s;
	return rc;
}

void sim_stats_clear(struct sim_stats *s)
{
	free(s->lat_ms);
	memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double sim_stats_percentile(struct sim_stats *s, double p)
{
	if (s->n_lat == 0)
		return 0;
	qsort(s->lat_ms, s->n_lat, sizeof(double), cmp_double);
	size_t i = (size_t)ceil(p / 100.0 * (double)s->n_lat);
	return s->lat_ms[i ? i - 1 : 0];
}
