/*
 * apns.c - APNs over HTTP/2: a connection state machine (TCP, TLS filter,
 * nghttp2 session) and one stream per push.
 *
 * Ownership: struct apns owns at most one current connection and any old
 * ones still closing; a connection is freed only when both its handles have
 * closed (conn_closed).  Streams belong to their connection's in-flight
 * list (oldest first) and are freed when they end; when a connection goes,
 * its nghttp2 session is deleted first (no callback runs after that) and
 * every stream left is ended with done().
 */
#include "apns.h"
#include "sock_out.h"
#include "ap_buf.h"
#include "ap_err.h"
#include "log.h"
#include "ap_tls.h"

#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK  65536
#define PLAIN_MAX   (4u << 20) /* plaintext received and not yet parsed */
#define WRITE_HIGH  (8u << 20) /* stop producing frames above this much unsent */
#define BODY_MAX    512	       /* an APNs error body is a small JSON object */
#define TICK_MS	    1000
#define PAYLOAD_CAP (APNS_MAX_MAGIC * 6 + 16)

struct stream {
	struct stream *prev, *next;
	uint64_t tag;
	uint64_t t_submit; /* loop time, ms */
	int sent;	   /* HEADERS written to the wire */
	int status;
	size_t body_len;
	char body[BODY_MAX];
	char apns_id[40];
	size_t payload_len, payload_off;
	char payload[PAYLOAD_CAP];
	char token[APNS_MAX_TOKEN_HEX + 1];
};

struct apns_conn {
	struct apns *a;
	uv_tcp_t tcp;
	uv_timer_t timer; /* connect + handshake deadline */
	uv_connect_t connect_req;
	int handles_open;
	int closing;
	int got_settings;
	struct ap_tls *tls;
	nghttp2_session *h2;
	struct ap_buf in;
	size_t write_bytes; /* queued in libuv, not yet written */
	struct stream *head, *tail;
	size_t n_streams;
	int ended;     /* streams ended during the current read: tell room() */
	int throttled; /* h2_flush stopped at WRITE_HIGH: resume from on_write */
	char rbuf[READ_CHUNK];
};

struct apns {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	struct apns_opts o;
	struct apns_handler h;
	enum apns_state state;
	struct apns_conn *conn; /* current connection, or NULL */
	size_t n_conns;		/* current + closing */
	uv_getaddrinfo_t gai;
	int resolving;
	uv_timer_t backoff;
	uv_timer_t tick;
	uv_prepare_t flusher; /* writes what streams produced, once per loop turn */
	int handles_open;
	unsigned fails;
	uint64_t rng;
	int closing;
	void (*closed)(void *arg);
	void *closed_arg;
	char port_str[8];
};

static const char *const state_names[] = {
    "idle", "resolving", "connecting", "handshake", "ready", "goaway", "backoff", "closed",
};

const char *apns_state_name(enum apns_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

/* ---- pure helpers ------------------------------------------------------ */

#define APNS_REASONS(X)                              \
	X("BadCollapseId", APNS_FAIL)                \
	X("BadDeviceToken", APNS_BAD_TOKEN)          \
	X("BadExpirationDate", APNS_FAIL)            \
	X("BadMessageId", APNS_FAIL)                 \
	X("BadPriority", APNS_FAIL)                  \
	X("BadTopic", APNS_CERT)                     \
	X("DeviceTokenNotForTopic", APNS_BAD_TOKEN)  \
	X("DuplicateHeaders", APNS_FAIL)             \
	X("IdleTimeout", APNS_RESEND)                \
	X("InvalidPushType", APNS_FAIL)              \
	X("MissingDeviceToken", APNS_FAIL)           \
	X("MissingTopic", APNS_FAIL)                 \
	X("PayloadEmpty", APNS_FAIL)                 \
	X("TopicDisallowed", APNS_CERT)              \
	X("BadCertificate", APNS_CERT)               \
	X("BadCertificateEnvironment", APNS_CERT)    \
	X("ExpiredProviderToken", APNS_CERT)         \
	X("Forbidden", APNS_CERT)                    \
	X("InvalidProviderToken", APNS_CERT)         \
	X("MissingProviderToken", APNS_CERT)         \
	X("BadPath", APNS_FAIL)                      \
	X("MethodNotAllowed", APNS_FAIL)             \
	X("ExpiredToken", APNS_BAD_TOKEN)            \
	X("Unregistered", APNS_BAD_TOKEN)            \
	X("PayloadTooLarge", APNS_FAIL)              \
	X("TooManyProviderTokenUpdates", APNS_RETRY) \
	X("TooManyRequests", APNS_RETRY)             \
	X("InternalServerError", APNS_RETRY)         \
	X("ServiceUnavailable", APNS_RETRY)          \
	X("Shutdown", APNS_RETRY)                    \
	X("ConnectionLost", APNS_RETRY)              \
	X("Timeout", APNS_RETRY)                     \
	X("StreamReset", APNS_RETRY)                 \
	X("TopicMismatch", APNS_FAIL)                \
	X("Other", APNS_FAIL)

struct reason {
	const char *name;
	enum apns_outcome outcome;
};

static const struct reason reasons[] = {
#define R(name, outcome) {name, outcome},
    APNS_REASONS(R)
#undef R
};

#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

size_t apns_n_reasons(void)
{
	return N_REASONS;
}

const char *apns_reason_name(size_t i)
{
	return i < N_REASONS ? reasons[i].name : "Other";
}

size_t apns_reason_index(const char *reason)
{
	for (size_t i = 0; reason && i < N_REASONS; i++)
		if (strcmp(reasons[i].name, reason) == 0)
			return i;
	return N_REASONS - 1;
}

const char *apns_outcome_name(enum apns_outcome o)
{
	static const char *const names[] = {"ok",	 "retry",	"resend",
					    "bad_token", "certificate", "fail"};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

enum apns_outcome apns_classify(const struct apns_result *r)
{
	if (r->status == 200)
		return APNS_OK;
	if (r->status == 0)
		return r->refused ? APNS_RESEND : APNS_RETRY;
	if (r->status == 410)
		return APNS_BAD_TOKEN;
	if (r->status == 429 || r->status >= 500)
		return APNS_RETRY;
	size_t i = apns_reason_index(r->reason);
	if (i != N_REASONS - 1)
		return reasons[i].outcome;
	return r->status == 403 ? APNS_CERT : APNS_FAIL;
}

int apns_hex(const unsigned char *token, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	if (len == 0)
		return AP_EINVAL;
	if (cap < 2 * len + 1)
		return AP_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[token[i] >> 4];
		out[2 * i + 1] = hex[token[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int apns_payload(const char *magic, char *out, size_t cap, size_t *ret_len)
{
	json_t *o = json_pack("{s:s}", "mdm", magic);
	if (o == NULL)
		return AP_EINVAL;
	size_t n = json_dumpb(o, out, cap, JSON_COMPACT);
	json_decref(o);
	if (n == 0 || n >= cap)
		return n ? AP_ETOOBIG : AP_ENOMEM;
	out[n] = '\0';
	*ret_len = n;
	return 0;
}

int apns_parse_url(const char *url, char *host, size_t cap, int *ret_port)
{
	const char *h, *end;
	long port = 443;
	if (strcmp(url, "production") == 0)
		url = "https://api.push.apple.com:443";
	else if (strcmp(url, "development") == 0)
		url = "https://api.sandbox.push.apple.com:443";
	if (strncmp(url, "https://", 8) != 0)
		return AP_EINVAL;
	h = url + 8;
	if (*h == '[') {
		end = strchr(h, ']');
		if (end == NULL)
			return AP_EINVAL;
		h++;
	} else {
		end = h + strcspn(h, ":/");
	}
	size_t n = (size_t)(end - h);
	if (n == 0 || n >= cap)
		return AP_EINVAL;
	if (*end == ']')
		end++;
	if (*end == ':') {
		char *e;
		port = strtol(end + 1, &e, 10);
		if (e == end + 1 || port < 1 || port > 65535)
			return AP_EINVAL;
		end = e;
	}
	if (*end != '\0' && strcmp(end, "/") != 0)
		return AP_EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*ret_port = (int)port;
	return 0;
}

/* ---- state -------------------------------------------------------------- */

static void set_state(struct apns *a, enum apns_state s, const char *error)
{
	if (a->state == s)
		return;
	log_debug("apns_state", "from=%s to=%s", state_names[a->state], state_names[s]);
	a->state = s;
	if (a->h.state)
		a->h.state(a->h.arg, s, error ? error : "");
}

static uint64_t jitter(struct apns *a, uint64_t d)
{
	/* xorshift64: spreads reconnects, no need for crypto */
	a->rng ^= a->rng << 13;
	a->rng ^= a->rng >> 7;
	a->rng ^= a->rng << 17;
	return d / 4 ? a->rng % (d / 4) : 0;
}

static void on_backoff(uv_timer_t *t);
static void start_connect(struct apns *a);

/* A connection attempt or a connection failed: wait, then try again. */
static void schedule_retry(struct apns *a, const char *error)
{
	unsigned shift = a->fails < 20 ? a->fails : 20;
	uint64_t d = a->o.reconnect_min_ms << shift;
	if (d > a->o.reconnect_max_ms || d < a->o.reconnect_min_ms)
		d = a->o.reconnect_max_ms;
	d += jitter(a, d);
	a->fails++;
	set_state(a, APNS_BACKOFF, error);
	uv_timer_start(&a->backoff, on_backoff, d, 0);
}

static void on_backoff(uv_timer_t *t)
{
	struct apns *a = t->data;
	if (a->state == APNS_BACKOFF && !a->closing)
		start_connect(a);
}

static void maybe_finish_close(struct apns *a)
{
	if (!a->closing || a->handles_open > 0 || a->n_conns > 0 || a->resolving)
		return;
	void (*closed)(void *) = a->closed;
	void *arg = a->closed_arg;
	free(a);
	if (closed)
		closed(arg);
}

/* ---- streams ------------------------------------------------------------ */

static void stream_unlink(struct apns_conn *c, struct stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		c->head = st->next;
	if (st->next)
		st->next->prev = st->prev;
	else
		c->tail = st->prev;
	c->n_streams--;
}

static void stream_append(struct apns_conn *c, struct stream *st)
{
	st->prev = c->tail;
	st->next = NULL;
	if (c->tail)
		c->tail->next = st;
	else
		c->head = st;
	c->tail = st;
	c->n_streams++;
}

/* The "reason" of an APNs error body into out ("" when none). */
static void body_reason(const struct stream *st, char *out, size_t cap)
{
	json_t *v = json_loadb(st->body, st->body_len, 0, NULL);
	const char *r = json_string_value(json_object_get(v, "reason"));
	snprintf(out, cap, "%s", r ? r : "");
	json_decref(v);
}

/* Ends a stream: reports it and frees it. */
static void stream_end(struct apns_conn *c, struct stream *st, const char *lost_reason, int refused)
{
	struct apns *a = c->a;
	char reason[64] = "", apns_id[40], token[APNS_MAX_TOKEN_HEX + 1];
	struct apns_result r = {st->status, reason, 0, apns_id, token};
	memcpy(apns_id, st->apns_id, sizeof(apns_id));
	memcpy(token, st->token, sizeof(token));
	if (st->status > 0 && st->status != 200)
		body_reason(st, reason, sizeof(reason));
	if (st->status == 0) {
		snprintf(reason, sizeof(reason), "%s", lost_reason);
		r.refused = refused || !st->sent;
	}
	stream_unlink(c, st);
	c->ended = 1;
	uint64_t tag = st->tag;
	free(st);
	if (a->h.done)
		a->h.done(a->h.arg, tag, &r);
}

/* ---- nghttp2 callbacks ---------------------------------------------------- */

static ssize_t read_payload(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			    uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct stream *st = src->ptr;
	size_t n = st->payload_len - st->payload_off;
	if (n > len)
		n = len;
	memcpy(buf, st->payload + st->payload_off, n);
	st->payload_off += n;
	if (st->payload_off == st->payload_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_RESPONSE)
		return 0;
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st == NULL)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3) {
		st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
		if (st->status < 100 || st->status > 599)
			st->status = 599;
	} else if (namelen == 7 && memcmp(name, "apns-id", 7) == 0 &&
		   valuelen < sizeof(st->apns_id)) {
		memcpy(st->apns_id, value, valuelen);
		st->apns_id[valuelen] = '\0';
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (st == NULL)
		return 0;
	size_t room = sizeof(st->body) - st->body_len;
	if (len > room)
		len = room; /* anything past BODY_MAX is not an APNs error body */
	memcpy(st->body + st->body_len, data, len);
	st->body_len += len;
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *user)
{
	struct apns_conn *c = user;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (st == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	int refused = error_code == NGHTTP2_REFUSED_STREAM;
	stream_end(c, st, refused ? "ConnectionLost" : "StreamReset", refused);
	return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st)
		st->sent = 1;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct apns_conn *c = user;
	struct apns *a = c->a;
	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) &&
	    !c->got_settings && a->conn == c) {
		c->got_settings = 1;
		a->fails = 0;
		uv_timer_stop(&c->timer);
		set_state(a, APNS_READY, NULL);
	} else if (f->hd.type == NGHTTP2_GOAWAY && a->conn == c) {
		log_debug("apns_goaway", "error_code=%u last_stream=%d", f->goaway.error_code,
			  f->goaway.last_stream_id);
		set_state(a, APNS_GOAWAY, NULL);
	}
	return 0;
}

static int session_new(struct apns_conn *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	int rc;
	if (nghttp2_session_callbacks_new(&cb) != 0)
		return AP_ENOMEM;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		return AP_ENOMEM;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	/* the server never pushes; keep closed streams' state small */
	nghttp2_option_set_no_closed_streams(opt, 1);
	rc = nghttp2_session_client_new2(&c->h2, cb, c, opt) == 0 ? 0 : AP_ENOMEM;
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rc < 0)
		return rc;
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 0},
	};
	return nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) == 0 ? 0 : AP_ENOMEM;
}

/* ---- connection ------------------------------------------------------------ */

static void conn_close(struct apns_conn *c, const char *reason, const char *error);
static void want_flush(struct apns *a);

static void on_write(uv_write_t *req, int status)
{
	struct sock_out *o = (struct sock_out *)req;
	struct apns_conn *c = o->owner;
	c->write_bytes -= o->len;
	sock_out_free(o);
	if (status < 0 && status != UV_ECANCELED && !c->closing) {
		char e[96];
		snprintf(e, sizeof(e), "write failed: %s", uv_strerror(status));
		conn_close(c, "ConnectionLost", e);
		return;
	}
	if (!c->closing && c->throttled && c->write_bytes < WRITE_HIGH / 2) {
		c->throttled = 0;
		want_flush(c->a);
	}
}

/* Writes the ciphertext the TLS filter holds. */
static int send_ciphertext(struct apns_conn *c)
{
	size_t len;
	int rc = sock_out_tls((uv_stream_t *)&c->tcp, c->tls, c, on_write, &len);
	if (rc == 0)
		c->write_bytes += len;
	return rc;
}

/* Serialises what nghttp2 has to send, through TLS, onto the socket. */
static int h2_flush(struct apns_conn *c)
{
	uint8_t buf[16384];
	size_t n = 0;
	int rc = 0;
	for (;;) {
		const uint8_t *data;
		if (rc < 0)
			return rc;
		if (c->write_bytes >= WRITE_HIGH) {
			c->throttled = 1;
			break;
		}
		ssize_t len = nghttp2_session_mem_send(c->h2, &data);
		if (len < 0)
			return AP_EIO;
		if (len == 0)
			break;
		if (n + (size_t)len > sizeof(buf)) {
			rc = ap_tls_write(c->tls, buf, n);
			n = 0;
			if (rc == 0)
				rc = send_ciphertext(c);
		}
		if ((size_t)len > sizeof(buf)) {
			if (rc == 0)
				rc = ap_tls_write(c->tls, data, (size_t)len);
		} else {
			memcpy(buf + n, data, (size_t)len);
			n += (size_t)len;
		}
	}
	if (rc == 0 && n)
		rc = ap_tls_write(c->tls, buf, n);
	if (rc == 0)
		rc = send_ciphertext(c);
	return rc;
}

static void on_conn_closed(uv_handle_t *h)
{
	struct apns_conn *c = h->data;
	struct apns *a = c->a;
	if (--c->handles_open > 0)
		return;
	ap_tls_free(c->tls);
	ap_buf_free(&c->in);
	free(c);
	a->n_conns--;
	maybe_finish_close(a);
}

/*
 * Closes c: the session goes first (no nghttp2 callback after this), then
 * every stream left ends with `reason`.  error: "" for a graceful end (idle
 * again, reconnect on demand), otherwise the failure (backoff).
 */
static void conn_close(struct apns_conn *c, const char *reason, const char *error)
{
	struct apns *a = c->a;
	if (c->closing)
		return;
	c->closing = 1;
	nghttp2_session_del(c->h2);
	c->h2 = NULL;
	int current = a->conn == c;
	if (current)
		a->conn = NULL;
	while (c->head)
		stream_end(c, c->head, reason, 0);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	if (!current || a->closing)
		return;
	if (error && error[0]) {
		schedule_retry(a, error);
	} else {
		set_state(a, APNS_IDLE, NULL);
		if (a->h.room)
			a->h.room(a->h.arg);
	}
}

static void on_conn_timer(uv_timer_t *t)
{
	struct apns_conn *c = t->data;
	char e[96];
	snprintf(e, sizeof(e), "no answer within %llu ms while %s",
		 (unsigned long long)c->a->o.timeout_ms, state_names[c->a->state]);
	conn_close(c, "Timeout", e);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct apns_conn *c = h->data;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

/* After the TLS handshake: HTTP/2 must have been agreed. */
static int handshake_done(struct apns_conn *c)
{
	char alpn[16];
	ap_tls_alpn(c->tls, alpn, sizeof(alpn));
	if (strcmp(alpn, "h2") != 0) {
		conn_close(c, "ConnectionLost", "the server did not agree to HTTP/2 (ALPN h2)");
		return AP_EPARSE;
	}
	log_debug("apns_tls", "version=%s alpn=h2", ap_tls_version(c->tls));
	return 0;
}

/* Feeds the plaintext received to nghttp2; answers what it produced. */
static int h2_input(struct apns_conn *c)
{
	if (c->in.len > 0) {
		ssize_t n = nghttp2_session_mem_recv(c->h2, (const uint8_t *)c->in.data, c->in.len);
		if (n < 0) {
			char e[400];
			snprintf(e, sizeof(e), "HTTP/2 error: %s", nghttp2_strerror((int)n));
			conn_close(c, "ConnectionLost", e);
			return AP_EPARSE;
		}
		ap_buf_reset(&c->in);
	}
	if (h2_flush(c) < 0) {
		conn_close(c, "ConnectionLost", "cannot write to the connection");
		return AP_EIO;
	}
	if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
		conn_close(c, "ConnectionLost", ""); /* GOAWAY exchanged, nothing left */
		return AP_EIO;
	}
	return 0;
}

static void read_error(struct apns_conn *c, ssize_t nread)
{
	char e[400];
	struct apns *a = c->a;
	/* a ready connection with nothing in flight closing is the server's
	 * idle policy, not a failure */
	if (nread == UV_EOF && a->conn == c && a->state == APNS_READY && c->n_streams == 0) {
		conn_close(c, "ConnectionLost", "");
		return;
	}
	if (a->conn == c && a->state == APNS_GOAWAY) {
		conn_close(c, "ConnectionLost", "");
		return;
	}
	snprintf(e, sizeof(e), "connection %s while %s",
		 nread == UV_EOF ? "closed by the server" : uv_strerror((int)nread),
		 state_names[a->state]);
	conn_close(c, "ConnectionLost", e);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct apns_conn *c = s->data;
	struct apns *a = c->a;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		read_error(c, nread);
		return;
	}
	int was_done = ap_tls_handshake_done(c->tls);
	ap_tls_feed(c->tls, buf->base, (size_t)nread);
	int rc = ap_tls_read(c->tls, &c->in);
	if (rc < 0 && rc != AP_EIO) {
		char e[200];
		snprintf(e, sizeof(e), "TLS %s: %s", was_done ? "error" : "handshake failed",
			 ap_tls_last_error(c->tls));
		conn_close(c, "ConnectionLost", e);
		return;
	}
	if (!ap_tls_handshake_done(c->tls)) {
		if (send_ciphertext(c) < 0)
			conn_close(c, "ConnectionLost", "cannot write to the connection");
		return;
	}
	if (!was_done && handshake_done(c) < 0)
		return;
	c->ended = 0;
	if (h2_input(c) < 0)
		return;
	if (rc == AP_EIO) { /* close_notify */
		read_error(c, UV_EOF);
		return;
	}
	if (send_ciphertext(c) < 0) {
		conn_close(c, "ConnectionLost", "cannot write to the connection");
		return;
	}
	if ((c->ended || a->state == APNS_READY) && a->conn == c && a->h.room)
		a->h.room(a->h.arg);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct apns_conn *c = req->data;
	struct apns *a = c->a;
	char e[400];
	if (c->closing)
		return;
	if (status < 0) {
		snprintf(e, sizeof(e), "cannot connect to %s:%d: %s", a->o.host, a->o.port,
			 uv_strerror(status));
		conn_close(c, "ConnectionLost", e);
		return;
	}
	c->tls = ap_tls_client_new(a->ctx, a->o.host);
	if (c->tls == NULL || session_new(c) < 0) {
		conn_close(c, "ConnectionLost", "out of memory for the TLS/HTTP/2 session");
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_tcp_keepalive(&c->tcp, 1, 60);
	set_state(a, APNS_HANDSHAKE, NULL);
	ap_tls_read(c->tls, &c->in); /* produces the ClientHello */
	if (send_ciphertext(c) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_close(c, "ConnectionLost", "cannot start the TLS handshake");
		return;
	}
}

static void conn_open(struct apns *a, const struct sockaddr *addr)
{
	struct apns_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		schedule_retry(a, "out of memory");
		return;
	}
	c->a = a;
	ap_buf_init(&c->in, PLAIN_MAX);
	uv_tcp_init(a->loop, &c->tcp);
	uv_timer_init(a->loop, &c->timer);
	c->tcp.data = c->timer.data = c->connect_req.data = c;
	c->handles_open = 2;
	a->n_conns++;
	a->conn = c;
	set_state(a, APNS_CONNECTING, NULL);
	uv_timer_start(&c->timer, on_conn_timer, a->o.timeout_ms, 0);
	int rc = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connect);
	if (rc < 0) {
		char e[400];
		snprintf(e, sizeof(e), "cannot connect to %s:%d: %s", a->o.host, a->o.port,
			 uv_strerror(rc));
		conn_close(c, "ConnectionLost", e);
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct apns *a = req->data;
	a->resolving = 0;
	if (a->closing) {
		uv_freeaddrinfo(res);
		maybe_finish_close(a);
		return;
	}
	if (status < 0 || res == NULL) {
		char e[300];
		snprintf(e, sizeof(e), "cannot resolve %s: %s", a->o.host, uv_strerror(status));
		uv_freeaddrinfo(res);
		schedule_retry(a, e);
		return;
	}
	conn_open(a, res->ai_addr);
	uv_freeaddrinfo(res);
}

static void start_connect(struct apns *a)
{
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	set_state(a, APNS_RESOLVING, NULL);
	a->resolving = 1;
	int rc = uv_getaddrinfo(a->loop, &a->gai, on_resolved, a->o.host, a->port_str, &hints);
	if (rc < 0) {
		a->resolving = 0;
		schedule_retry(a, uv_strerror(rc));
	}
}

/* ---- timers ------------------------------------------------------------------ */

/* A stream left unanswered past timeout_ms means the connection is stuck. */
static void on_tick(uv_timer_t *t)
{
	struct apns *a = t->data;
	struct apns_conn *c = a->conn;
	if (c && c->head && uv_now(a->loop) - c->head->t_submit > a->o.timeout_ms) {
		char e[96];
		snprintf(e, sizeof(e), "a push went unanswered for %llu ms",
			 (unsigned long long)a->o.timeout_ms);
		conn_close(c, "Timeout", e);
	}
}

static void on_flush(uv_prepare_t *p)
{
	struct apns *a = p->data;
	struct apns_conn *c = a->conn;
	uv_prepare_stop(p);
	if (c == NULL || c->closing || c->h2 == NULL)
		return;
	if (h2_flush(c) < 0)
		conn_close(c, "ConnectionLost", "cannot write to the connection");
	else if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
		conn_close(c, "ConnectionLost", ""); /* we ended the session, nothing left */
}

static void want_flush(struct apns *a)
{
	uv_prepare_start(&a->flusher, on_flush);
}

/* ---- public -------------------------------------------------------------------- */

void apns_set_ctx(struct apns *a, SSL_CTX *ctx)
{
	a->ctx = ctx;
}

int apns_new(uv_loop_t *loop, SSL_CTX *ctx, const struct apns_opts *o, const struct apns_handler *h,
	     struct apns **ret)
{
	struct apns *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return AP_ENOMEM;
	a->loop = loop;
	a->ctx = ctx;
	a->o = *o;
	if (a->o.max_streams == 0)
		a->o.max_streams = 1;
	if (a->o.reconnect_max_ms < a->o.reconnect_min_ms)
		a->o.reconnect_max_ms = a->o.reconnect_min_ms;
	a->h = *h;
	a->rng = uv_hrtime() | 1;
	snprintf(a->port_str, sizeof(a->port_str), "%d", o->port);
	a->gai.data = a;
	uv_timer_init(loop, &a->backoff);
	uv_timer_init(loop, &a->tick);
	uv_prepare_init(loop, &a->flusher);
	a->backoff.data = a->tick.data = a->flusher.data = a;
	a->handles_open = 3;
	uv_timer_start(&a->tick, on_tick, TICK_MS, TICK_MS);
	*ret = a;
	return 0;
}

static void on_own_closed(uv_handle_t *h)
{
	struct apns *a = h->data;
	a->handles_open--;
	maybe_finish_close(a);
}

void apns_close(struct apns *a, void (*closed)(void *arg), void *arg)
{
	if (a->closing)
		return;
	a->closing = 1;
	a->closed = closed;
	a->closed_arg = arg;
	if (a->conn)
		conn_close(a->conn, "ConnectionLost", "");
	set_state(a, APNS_CLOSED, NULL);
	if (a->resolving)
		uv_cancel((uv_req_t *)&a->gai);
	uv_close((uv_handle_t *)&a->backoff, on_own_closed);
	uv_close((uv_handle_t *)&a->tick, on_own_closed);
	uv_close((uv_handle_t *)&a->flusher, on_own_closed);
}

void apns_want(struct apns *a)
{
	if (a->state == APNS_IDLE && !a->closing)
		start_connect(a);
}

size_t apns_room(const struct apns *a)
{
	const struct apns_conn *c = a->conn;
	if (a->state != APNS_READY || c == NULL || c->closing)
		return 0;
	uint32_t remote =
	    nghttp2_session_get_remote_settings(c->h2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	size_t cap = remote < a->o.max_streams ? remote : a->o.max_streams;
	return c->n_streams < cap ? cap - c->n_streams : 0;
}

size_t apns_in_flight(const struct apns *a)
{
	return a->conn ? a->conn->n_streams : 0;
}

enum apns_state apns_get_state(const struct apns *a)
{
	return a->state;
}

static int is_hex(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

#define NV(n, v)                                                          \
	{                                                                 \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
		    NGHTTP2_NV_FLAG_NO_COPY_NAME                          \
	}

int apns_push(struct apns *a, const char *token_hex, const char *topic, const char *magic,
	      uint64_t tag)
{
	struct apns_conn *c = a->conn;
	char path[600];
	if (apns_room(a) == 0)
		return AP_EBUSY;
	if (!is_hex(token_hex) || strlen(token_hex) > APNS_MAX_TOKEN_HEX ||
	    strlen(magic) > APNS_MAX_MAGIC)
		return AP_EINVAL;
	struct stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return AP_ENOMEM;
	if (apns_payload(magic, st->payload, sizeof(st->payload), &st->payload_len) < 0) {
		free(st);
		return AP_EINVAL;
	}
	snprintf(path, sizeof(path), "/3/device/%s", token_hex);
	const nghttp2_nv nv[] = {
	    NV(":method", "POST"), NV(":scheme", "https"),  NV(":authority", a->o.host),
	    NV(":path", path),	   NV("apns-topic", topic), NV("apns-push-type", "mdm"),
	};
	nghttp2_data_provider dp = {.source.ptr = st, .read_callback = read_payload};
	memcpy(st->token, token_hex, strlen(token_hex) + 1);
	st->tag = tag;
	st->t_submit = uv_now(a->loop);
	int32_t id = nghttp2_submit_request(c->h2, NULL, nv, sizeof(nv) / sizeof(nv[0]), &dp, st);
	if (id < 0) {
		free(st);
		if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
			/* 2^30 streams on this connection: leave it gracefully (the
			 * streams in flight finish), a new one follows */
			nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL,
					      0);
			set_state(a, APNS_GOAWAY, NULL);
			want_flush(a);
		}
		return AP_EBUSY;
	}
	stream_append(c, st);
	want_flush(a);
	return 0;
}
