/*
 * sim_net.c - libuv + OpenSSL (memory BIOs) + http-parser client engine.
 *
 * Connection states: CONNECTING (TCP), HANDSHAKE (TLS), READY (no request
 * in flight), WAITING (request sent, answer not complete), CLOSING (uv_close
 * issued; freed in the close callbacks of its two handles).
 */
#include "sim_net.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK	 65536
#define POOL_MAX_IDLE_MS 20000 /* below the daemon's idle_timeout_ms default (30 s) */

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
	SSL *ssl;
	BIO *rbio, *wbio;
	SSL_SESSION **session; /* where new TLS sessions go (borrowed), may be NULL */
	http_parser parser;
	struct ap_buf body;
	int complete, keep_alive;
	struct ap_buf pending; /* serialized request waiting for the handshake */
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

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct sim_conn *c = SSL_get_app_data(ssl);
	if (c == NULL || c->session == NULL)
		return 0;
	SSL_SESSION_free(*c->session);
	*c->session = sess;
	return 1; /* we keep the reference */
}

static int make_ctx(const struct sim_net_cfg *c, OSSL_LIB_CTX *libctx, const char *ca_file,
		    SSL_CTX **ret, char *err, size_t cap)
{
	struct in6_addr a6;
	SSL_CTX *ctx = SSL_CTX_new_ex(libctx, NULL, TLS_client_method());

	if (ctx == NULL)
		return AP_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* an iPad presents its identity certificate alone, no chain */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, cap, "%s: cannot read the CA certificate", ca_file);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return AP_EIO;
	}
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
	int is_ip = inet_pton(AF_INET, c->host, &a6) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1;
	if (is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(vp, c->host);
	else
		X509_VERIFY_PARAM_set1_host(vp, c->host, 0);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	*ret = ctx;
	return 0;
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
	SSL_free(c->ssl); /* frees both BIOs */
	ap_buf_free(&c->body);
	ap_buf_free(&c->pending);
	free(c);
}

static void conn_close(struct sim_conn *c)
{
	if (c->state == CS_CLOSING)
		return;
	c->state = CS_CLOSING;
	c->session = NULL;
	SSL_set_app_data(c->ssl, NULL);
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
	ERR_clear_error();
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
	char data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct wbuf *w = (struct wbuf *)req;
	struct sim_conn *c = w->c;
	free(w);
	c->writes--;
	if (status < 0 && status != UV_ECANCELED)
		conn_fail(c, AP_EIO, "write: %s", uv_strerror(status));
	else if (c->writes == 0 && c->close_after_writes)
		conn_close(c);
}

/* Sends the ciphertext OpenSSL produced. */
static int flush(struct sim_conn *c)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0) {
		uv_buf_t b = uv_buf_init(buf, (unsigned)n);
		int done = c->writes ? 0 : uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (done == UV_EAGAIN)
			done = 0;
		if (done < 0)
			return AP_EIO;
		if (done == n)
			continue;
		struct wbuf *w = malloc(sizeof(*w) + (size_t)(n - done));
		if (w == NULL)
			return AP_ENOMEM;
		memcpy(w->data, buf + done, (size_t)(n - done));
		w->c = c;
		b = uv_buf_init(w->data, (unsigned)(n - done));
		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
			free(w);
			return AP_EIO;
		}
		c->writes++;
	}
	return 0;
}

/* ---- HTTP response parsing ---- */

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct sim_conn *c = p->data;
	return ap_buf_append(&c->body, at, len) < 0 ? -1 : 0;
}

static int on_complete(http_parser *p)
{
	struct sim_conn *c = p->data;
	c->complete = 1;
	c->keep_alive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* Hands the complete answer to the task. */
static void deliver(struct sim_conn *c)
{
	struct sim_http_resp r = {(int)c->parser.status_code, c->body.data ? c->body.data : "",
				  c->body.len};
	sim_resp_fn cb = c->cb;

	uv_timer_stop(&c->timer);
	c->state = CS_READY;
	c->cb = NULL;
	if (!c->keep_alive)
		c->pooled = 0; /* the server closes it: never reuse */
	cb(c, c->task, 0, &r, NULL);
}

static void feed_http(struct sim_conn *c, const char *data, size_t len)
{
	if (c->state != CS_WAITING) {
		conn_fail(c, AP_EIO, "unexpected bytes from the server");
		return;
	}
	size_t used = http_parser_execute(&c->parser, &parser_settings, data, len);
	if (c->complete) {
		deliver(c);
		return;
	}
	if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || used != len) {
		if (c->body.len >= c->body.limit)
			conn_fail(c, AP_ETOOBIG, "answer larger than %zu bytes", c->body.limit);
		else
			conn_fail(c, AP_EIO, "bad HTTP answer: %s",
				  http_errno_description(HTTP_PARSER_ERRNO(&c->parser)));
	}
}

/* ---- TLS ---- */

static int tls_error(struct sim_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN) {
		conn_fail(c, AP_EIO, "server closed the connection");
		return AP_EIO;
	}
	char buf[160] = "connection closed";
	unsigned long code = ERR_peek_last_error();
	long vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		snprintf(buf, sizeof(buf), "server certificate: %s",
			 X509_verify_cert_error_string(vr));
	else if (code)
		ERR_error_string_n(code, buf, sizeof(buf));
	conn_fail(c, AP_ECRYPTO, "%s: %s", what, buf);
	return AP_ECRYPTO;
}

static void send_pending(struct sim_conn *c)
{
	if (c->pending.len == 0)
		return;
	int r = SSL_write(c->ssl, c->pending.data, (int)c->pending.len);
	if (r <= 0) {
		tls_error(c, r, "TLS write");
		return;
	}
	ap_buf_reset(&c->pending);
	c->state = CS_WAITING;
	if (flush(c) < 0)
		conn_fail(c, AP_EIO, "cannot write to the server");
}

static void handshake(struct sim_conn *c)
{
	int r = SSL_do_handshake(c->ssl);
	if (flush(c) < 0) {
		conn_fail(c, AP_EIO, "cannot write to the server");
		return;
	}
	if (r != 1) {
		tls_error(c, r, "TLS handshake");
		return;
	}
	c->state = CS_READY;
	send_pending(c);
}

/* Decrypts what arrived and parses it. */
static void read_plain(struct sim_conn *c)
{
	char buf[16384];

	while (c->state != CS_CLOSING) {
		int r = SSL_read(c->ssl, buf, sizeof(buf));
		if (r <= 0) {
			if (tls_error(c, r, "TLS read") == 0 && c->state != CS_CLOSING)
				flush(c); /* e.g. key update answers */
			return;
		}
		feed_http(c, buf, (size_t)r);
	}
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
	if (BIO_write(c->rbio, buf->base, (int)nread) != nread) {
		conn_fail(c, AP_ENOMEM, "out of memory");
		return;
	}
	if (c->state == CS_HANDSHAKE)
		handshake(c);
	if (c->state == CS_READY || c->state == CS_WAITING)
		read_plain(c);
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
	handshake(c);
}

static int set_identity(struct sim_conn *c, const struct sim_identity *id)
{
	if (id == NULL)
		return 0;
	if (id->cert && (SSL_use_certificate(c->ssl, id->cert) != 1 ||
			 SSL_use_PrivateKey(c->ssl, id->key) != 1))
		return AP_ECRYPTO;
	c->session = id->session;
	if (c->loop->cfg->resume && id->session && *id->session)
		SSL_set_session(c->ssl, *id->session);
	return 0;
}

static struct sim_conn *conn_new(struct sim_task *t, const struct sim_identity *id)
{
	struct sim_loop *l = t->loop;
	struct sim_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->loop = l;
	c->task = t;
	c->state = CS_CONNECTING;
	c->pooled = id == NULL || id->cert == NULL;
	ap_buf_init(&c->body, l->cfg->max_body);
	ap_buf_init(&c->pending, l->cfg->max_body + 65536);
	c->ssl = SSL_new(l->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		SSL_free(c->ssl);
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		free(c);
		return NULL;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	SSL_set_app_data(c->ssl, c);
	if (!isdigit((unsigned char)l->cfg->host[0]) && strchr(l->cfg->host, ':') == NULL)
		SSL_set_tlsext_host_name(c->ssl, l->cfg->host);
	uv_tcp_init(&l->uv, &c->tcp);
	uv_timer_init(&l->uv, &c->timer);
	c->tcp.data = c->timer.data = c->creq.data = c;
	c->handles = 2;
	if (set_identity(c, id) < 0) {
		ERR_clear_error();
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
	int rc = ap_buf_printf(&c->pending,
			       "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: ardoise-sim\r\n"
			       "Accept: */*\r\nContent-Length: %zu\r\n",
			       r->method, r->path, cfg->host, cfg->port, r->len);
	if (rc == 0 && r->content_type)
		rc = ap_buf_printf(&c->pending, "Content-Type: %s\r\n", r->content_type);
	if (rc == 0 && r->headers)
		rc = ap_buf_appends(&c->pending, r->headers);
	if (rc == 0)
		rc = ap_buf_append(&c->pending, "\r\n", 2);
	if (rc == 0 && r->len)
		rc = ap_buf_append(&c->pending, r->body, r->len);
	return rc;
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
	c->complete = 0;
	ap_buf_reset(&c->body);
	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
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
	c->session = NULL;
	c->task = NULL;
	if (c->loop->cfg->keepalive && c->pooled && c->state == CS_READY) {
		c->idle_since = uv_now(&c->loop->uv);
		c->next_idle = c->loop->idle;
		c->loop->idle = c;
		return;
	}
	if (c->state == CS_READY || c->state == CS_WAITING) {
		SSL_shutdown(c->ssl); /* close_notify */
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
	return c && c->ssl && SSL_session_reused(c->ssl);
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
	char err[512];
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
