/*
 * apns_standin.c - a local stand-in for Apple's push service, for tests and
 * benchmarks: HTTP/2 over TLS (ALPN h2), a client certificate required and
 * checked against --ca, and APNs' answers.
 *
 *   apns_standin --cert server.pem --key server.key --ca ca.pem
 *                [--listen 127.0.0.1] [--port 0] [--topic T] [--log FILE]
 *                [--control FILE] [--rule RULE]... [--max-streams N]
 *
 * Prints "port=N" on stdout once listening.  Each request is checked like
 * APNs does: :method POST (405 MethodNotAllowed), :path /3/device/<hex>
 * (404 BadPath, 400 BadDeviceToken), apns-push-type mdm (400
 * InvalidPushType), apns-topic equal to --topic or else to the client
 * certificate's UID (400 MissingTopic / BadTopic), body a JSON object
 * {"mdm": string} and nothing else (400 PayloadEmpty / BadPayload, 413
 * PayloadTooLarge past 4096 bytes).  A valid request gets 200 with an
 * apns-id, unless a rule says otherwise.
 *
 * Rules, one a line (from --rule or from the control file, which is re-read
 * whenever its modification time changes; a re-read resets the counts):
 *   token HEX|* STATUS REASON [COUNT]   answer STATUS {"reason": REASON} to
 *                                       that token (or any), COUNT times or
 *                                       forever; 410 adds a "timestamp"
 *   drop-after K [COUNT]                on the next COUNT connections (or all),
 *                                       close the socket abruptly when the
 *                                       K-th request arrives, unanswered
 *   goaway-after K [COUNT]              on the next COUNT connections (or all),
 *                                       answer the K-th request, then send
 *                                       GOAWAY {"reason":"Shutdown"} with it as
 *                                       the last stream: later ones are not
 *                                       processed (the client must resend)
 *   # comment
 * With --log, every request is one JSON line: t (seconds), conn, stream,
 * method, path, headers {name: value}, body, status, reason, dropped.
 * SIGTERM/SIGINT: exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   64
#define MAX_RULES   64
#define MAX_HEADERS 16
#define MAX_BODY    4096
#define OUT_MAX	    (4u << 20)

struct rule {
	int drop;   /* drop-after rule */
	int goaway; /* goaway-after rule */
	char token[520];
	int status;
	char reason[64];
	long count; /* -1: forever */
	long k;	    /* drop-after K */
};

struct req {
	struct req *prev, *next; /* the connection's live streams */
	int32_t id;
	char method[16];
	char path[600];
	size_t n_headers;
	char names[MAX_HEADERS][64];
	char values[MAX_HEADERS][520];
	size_t body_len;
	int too_big;
	char body[MAX_BODY];
	char answer[160]; /* error body */
	size_t answer_len, answer_off;
};

struct sconn {
	int fd;
	int id;
	SSL *ssl;
	int handshaken;
	nghttp2_session *h2;
	unsigned char *out;
	size_t out_len, out_off;
	long requests;
	long drop_after;     /* 0: never */
	long goaway_after;   /* 0: never */
	int32_t goaway_last; /* GOAWAY sent: streams past this one are refused */
	int dead;
	struct req *reqs;
	char uid[256];
};

static struct {
	const char *log_path, *control_path, *topic;
	FILE *log;
	struct rule rules[MAX_RULES];
	size_t n_rules, n_base; /* rules[0..n_base) come from --rule */
	time_t control_mtime;
	long control_size;
	uint32_t max_streams;
	int next_conn;
	struct sconn *conns[MAX_CONNS];
	volatile sig_atomic_t stop;
} g = {.max_streams = 1000};

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("apns_standin: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- rules ---------------------------------------------------------------- */

static int parse_rule(const char *line, struct rule *r)
{
	char kind[32] = "";
	memset(r, 0, sizeof(*r));
	r->count = -1;
	if (sscanf(line, "%31s", kind) != 1 || kind[0] == '#')
		return 1; /* blank or comment */
	if (strcmp(kind, "token") == 0) {
		int n = sscanf(line, "token %519s %d %63s %ld", r->token, &r->status, r->reason,
			       &r->count);
		if (n < 3 || r->status < 200 || r->status > 599)
			return -1;
		return 0;
	}
	if (strcmp(kind, "drop-after") == 0 || strcmp(kind, "goaway-after") == 0) {
		r->drop = kind[0] == 'd';
		r->goaway = !r->drop;
		if (sscanf(line + strlen(kind), " %ld %ld", &r->k, &r->count) < 1 || r->k < 1)
			return -1;
		return 0;
	}
	return -1;
}

static void add_rule(const char *line)
{
	struct rule r;
	int rc = parse_rule(line, &r);
	if (rc < 0)
		fprintf(stderr, "apns_standin: ignoring bad rule: %s\n", line);
	else if (rc == 0 && g.n_rules < MAX_RULES)
		g.rules[g.n_rules++] = r;
}

/* Re-reads the control file when it changed (mtime or size). */
static void reload_control(void)
{
	struct stat st;
	char line[1024];
	if (g.control_path == NULL || stat(g.control_path, &st) < 0)
		return;
	if (st.st_mtime == g.control_mtime && st.st_size == g.control_size)
		return;
	FILE *f = fopen(g.control_path, "r");
	if (f == NULL)
		return;
	g.control_mtime = st.st_mtime;
	g.control_size = st.st_size;
	g.n_rules = g.n_base;
	while (fgets(line, sizeof(line), f))
		add_rule(line);
	fclose(f);
}

static struct rule *rule_for_token(const char *token)
{
	for (size_t i = 0; i < g.n_rules; i++) {
		struct rule *r = &g.rules[i];
		if (r->drop || r->goaway || r->count == 0)
			continue;
		if (strcmp(r->token, "*") == 0 || strcmp(r->token, token) == 0)
			return r;
	}
	return NULL;
}

/* The K of the first drop-after (drop) or goaway-after rule that still
 * applies to a new connection, 0 when none. */
static long conn_rule(int drop)
{
	for (size_t i = 0; i < g.n_rules; i++) {
		struct rule *r = &g.rules[i];
		if ((drop ? !r->drop : !r->goaway) || r->count == 0)
			continue;
		if (r->count > 0)
			r->count--;
		return r->k;
	}
	return 0;
}

/* ---- logging -------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void log_request(struct sconn *c, const struct req *q, int status, const char *reason,
			int dropped)
{
	if (g.log == NULL)
		return;
	json_t *h = json_object();
	for (size_t i = 0; i < q->n_headers; i++)
		json_object_set_new(h, q->names[i], json_string(q->values[i]));
	json_t *o =
	    json_pack("{s:f,s:i,s:i,s:s,s:s,s:o,s:s%,s:i,s:s,s:b}", "t", now_s(), "conn", c->id,
		      "stream", q->id, "method", q->method, "path", q->path, "headers", h, "body",
		      q->body, q->body_len, "status", status, "reason", reason, "dropped", dropped);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line) {
		fprintf(g.log, "%s\n", line);
		fflush(g.log);
	}
	free(line);
	json_decref(o);
}

/* ---- checking a request --------------------------------------------------- */

static const char *header(const struct req *q, const char *name)
{
	for (size_t i = 0; i < q->n_headers; i++)
		if (strcmp(q->names[i], name) == 0)
			return q->values[i];
	return NULL;
}

static int is_hex_token(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n % 2 || n > 512)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int body_ok(const struct req *q, const char **reason)
{
	if (q->body_len == 0) {
		*reason = "PayloadEmpty";
		return 0;
	}
	json_t *v = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, NULL);
	int ok = v && json_is_object(v) && json_object_size(v) == 1 &&
		 json_is_string(json_object_get(v, "mdm"));
	json_decref(v);
	if (!ok)
		*reason = "BadPayload";
	return ok;
}

/* The status and reason APNs would give; token gets the path's token. */
static int check(struct sconn *c, const struct req *q, const char **reason, const char **token)
{
	const char *topic = header(q, "apns-topic"), *type = header(q, "apns-push-type");
	const char *want = g.topic ? g.topic : c->uid;
	*token = "";
	if (strcmp(q->method, "POST") != 0)
		return *reason = "MethodNotAllowed", 405;
	if (strncmp(q->path, "/3/device/", 10) != 0)
		return *reason = "BadPath", 404;
	*token = q->path + 10;
	if (!is_hex_token(*token))
		return *reason = "BadDeviceToken", 400;
	if (type == NULL || strcmp(type, "mdm") != 0)
		return *reason = "InvalidPushType", 400;
	if (topic == NULL)
		return *reason = "MissingTopic", 400;
	if (strcmp(topic, want) != 0)
		return *reason = "BadTopic", 400;
	if (q->too_big)
		return *reason = "PayloadTooLarge", 413;
	if (!body_ok(q, reason))
		return 400;
	struct rule *r = rule_for_token(*token);
	if (r) {
		if (r->count > 0)
			r->count--;
		*reason = r->reason;
		return r->status;
	}
	*reason = "";
	return 200;
}

/* ---- answering ------------------------------------------------------------ */

static ssize_t read_answer(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			   uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct req *q = src->ptr;
	size_t n = q->answer_len - q->answer_off;
	if (n > len)
		n = len;
	memcpy(buf, q->answer + q->answer_off, n);
	q->answer_off += n;
	if (q->answer_off == q->answer_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void random_uuid(char out[37])
{
	static uint64_t x = 88172645463325252ull;
	unsigned char b[16];
	for (int i = 0; i < 16; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)x;
	}
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

#define NV(n, v)                                                          \
	{                                                                 \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
		    NGHTTP2_NV_FLAG_NO_COPY_NAME                          \
	}

static void answer(struct sconn *c, struct req *q)
{
	const char *reason, *token;
	char status_s[8], apns_id[40];
	int status = check(c, q, &reason, &token);
	const char *rid = header(q, "apns-id");
	snprintf(status_s, sizeof(status_s), "%d", status);
	if (rid && strlen(rid) < sizeof(apns_id))
		snprintf(apns_id, sizeof(apns_id), "%s", rid);
	else
		random_uuid(apns_id);
	log_request(c, q, status, reason, 0);
	nghttp2_nv nv[] = {NV(":status", status_s), NV("apns-id", apns_id)};
	if (status == 200) {
		nghttp2_submit_response(c->h2, q->id, nv, 2, NULL);
		return;
	}
	int n =
	    status == 410
		? snprintf(q->answer, sizeof(q->answer), "{\"reason\":\"%s\",\"timestamp\":%lld}",
			   reason, (long long)time(NULL) * 1000)
		: snprintf(q->answer, sizeof(q->answer), "{\"reason\":\"%s\"}", reason);
	q->answer_len = n > 0 && (size_t)n < sizeof(q->answer) ? (size_t)n : 0;
	nghttp2_data_provider dp = {.source.ptr = q, .read_callback = read_answer};
	nghttp2_submit_response(c->h2, q->id, nv, 2, &dp);
}

/* ---- nghttp2 callbacks ------------------------------------------------------ */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct req *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	struct sconn *c = user;
	q->id = f->hd.stream_id;
	q->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = q;
	c->reqs = q;
	nghttp2_session_set_stream_user_data(s, q->id, q);
	return 0;
}

static void copy_field(char *out, size_t cap, const uint8_t *v, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct req *q = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (q == NULL)
		return 0;
	if (namelen == 7 && memcmp(name, ":method", 7) == 0)
		copy_field(q->method, sizeof(q->method), value, valuelen);
	else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
		copy_field(q->path, sizeof(q->path), value, valuelen);
	if (name[0] != ':' && q->n_headers < MAX_HEADERS) {
		copy_field(q->names[q->n_headers], sizeof(q->names[0]), name, namelen);
		copy_field(q->values[q->n_headers], sizeof(q->values[0]), value, valuelen);
		q->n_headers++;
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *user)
{
	struct req *q = nghttp2_session_get_stream_user_data(s, id);
	if (q == NULL)
		return 0;
	if (q->body_len + len > sizeof(q->body) - 1) {
		q->too_big = 1;
		return 0;
	}
	memcpy(q->body + q->body_len, data, len);
	q->body_len += len;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct sconn *c = user;
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct req *q = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (q == NULL || c->dead)
		return 0;
	if (c->goaway_last && q->id > c->goaway_last) {
		/* not processed, as GOAWAY told the client */
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, q->id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	c->requests++;
	if (c->drop_after > 0 && c->requests >= c->drop_after) {
		log_request(c, q, 0, "", 1);
		c->dead = 1; /* closed by the loop, unanswered */
		return 0;
	}
	answer(c, q);
	if (c->goaway_after > 0 && c->requests == c->goaway_after) {
		static const char debug[] = "{\"reason\":\"Shutdown\"}";
		nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, q->id, NGHTTP2_NO_ERROR,
				      (const uint8_t *)debug, sizeof(debug) - 1);
		c->goaway_last = q->id;
	}
	return 0;
}

static void req_free(struct sconn *c, struct req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		c->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q);
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct req *q = nghttp2_session_get_stream_user_data(s, id);
	if (q)
		req_free(user, q);
	nghttp2_session_set_stream_user_data(s, id, NULL);
	return 0;
}

/* ---- connections -------------------------------------------------------------- */

static void conn_free(struct sconn *c)
{
	nghttp2_session_del(c->h2); /* runs no callback: free the streams left */
	while (c->reqs)
		req_free(c, c->reqs);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->out);
	free(c);
}

static void client_uid(struct sconn *c)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
	int i = n ? X509_NAME_get_index_by_NID(n, NID_userId, -1) : -1;
	unsigned char *u = NULL;
	if (i < 0)
		return;
	int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	if (len > 0 && (size_t)len < sizeof(c->uid))
		copy_field(c->uid, sizeof(c->uid), u, (size_t)len);
	OPENSSL_free(u);
}

static int session_start(struct sconn *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	int rc = nghttp2_session_server_new(&c->h2, cb, c);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0)
		return -1;
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, g.max_streams}};
	return nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) == 0 ? 0 : -1;
}

/* Collects what nghttp2 wants to send and writes as much as TLS takes. */
static int pump_out(struct sconn *c)
{
	for (;;) {
		while (c->out_len < OUT_MAX / 2) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->h2, &data);
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			if (c->out == NULL && (c->out = malloc(OUT_MAX)) == NULL)
				return -1;
			memcpy(c->out + c->out_len, data, (size_t)n);
			c->out_len += (size_t)n;
		}
		if (c->out_off == c->out_len)
			return 0;
		int w = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
		if (w <= 0) {
			int e = SSL_get_error(c->ssl, w);
			return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -1;
		}
		c->out_off += (size_t)w;
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
	}
}

/* Reads what TLS has; returns -1 when the connection should close. */
static int pump_in(struct sconn *c)
{
	unsigned char buf[65536];
	if (!c->handshaken) {
		int r = SSL_accept(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			unsigned long err = ERR_get_error();
			fprintf(stderr, "apns_standin: conn %d: TLS handshake failed: %s\n", c->id,
				err ? ERR_error_string(err, NULL) : "closed");
			return -1;
		}
		c->handshaken = 1;
		client_uid(c);
		if (session_start(c) < 0)
			return -1;
	}
	for (;;) {
		int n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			return -1;
		}
		if (nghttp2_session_mem_recv(c->h2, buf, (size_t)n) < 0 || c->dead)
			return -1;
	}
}

static void on_readable(struct sconn *c)
{
	reload_control();
	if (pump_in(c) < 0 || c->dead || (c->h2 && pump_out(c) < 0))
		c->dead = 1;
	if (c->h2 && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2) &&
	    c->out_len == 0)
		c->dead = 1;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_one(int lfd, SSL_CTX *ctx)
{
	int fd = accept(lfd, NULL, NULL);
	size_t slot;
	if (fd < 0)
		return;
	for (slot = 0; slot < MAX_CONNS && g.conns[slot]; slot++)
		;
	struct sconn *c = slot < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_nonblock(fd);
	reload_control();
	c->fd = fd;
	c->id = ++g.next_conn;
	c->drop_after = conn_rule(1);
	c->goaway_after = conn_rule(0);
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, fd);
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	g.conns[slot] = c;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	for (unsigned i = 0; i + 1 <= inlen && i + 1 + in[i] <= inlen; i += 1 + in[i])
		if (in[i] == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *make_ctx(const char *cert, const char *key, const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("cannot load %s / %s / %s", cert, key, ca);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		die("bad listen address %s", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
		die("cannot listen on %s:%d: %s", addr, port, strerror(errno));
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	printf("port=%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	set_nonblock(fd);
	return fd;
}

static void on_signal(int sig)
{
	g.stop = 1;
}

static void serve(int lfd, SSL_CTX *ctx)
{
	struct pollfd pf[MAX_CONNS + 1];
	struct sconn *who[MAX_CONNS + 1];
	while (!g.stop) {
		size_t n = 0;
		pf[n].fd = lfd;
		pf[n].events = POLLIN;
		who[n++] = NULL;
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct sconn *c = g.conns[i];
			if (c == NULL)
				continue;
			pf[n].fd = c->fd;
			pf[n].events = POLLIN | (c->out_len > c->out_off ? POLLOUT : 0);
			who[n++] = c;
		}
		if (poll(pf, n, 200) < 0)
			continue;
		if (pf[0].revents & POLLIN)
			accept_one(lfd, ctx);
		for (size_t i = 1; i < n; i++) {
			struct sconn *c = who[i];
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				on_readable(c);
			else if (pf[i].revents & POLLOUT && pump_out(c) < 0)
				c->dead = 1;
		}
		for (size_t i = 0; i < MAX_CONNS; i++)
			if (g.conns[i] && g.conns[i]->dead) {
				conn_free(g.conns[i]);
				g.conns[i] = NULL;
			}
	}
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *addr = "127.0.0.1";
	int port = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die("%s needs a value", a);
		if (strcmp(a, "--cert") == 0)
			cert = v;
		else if (strcmp(a, "--key") == 0)
			key = v;
		else if (strcmp(a, "--ca") == 0)
			ca = v;
		else if (strcmp(a, "--listen") == 0)
			addr = v;
		else if (strcmp(a, "--port") == 0)
			port = (int)strtol(v, NULL, 10);
		else if (strcmp(a, "--topic") == 0)
			g.topic = v;
		else if (strcmp(a, "--log") == 0)
			g.log_path = v;
		else if (strcmp(a, "--control") == 0)
			g.control_path = v;
		else if (strcmp(a, "--rule") == 0)
			add_rule(v), g.n_base = g.n_rules;
		else if (strcmp(a, "--max-streams") == 0)
			g.max_streams = (uint32_t)strtoul(v, NULL, 10);
		else
			die("unknown option %s (see the comment at the top of apns_standin.c)", a);
		i++;
	}
	if (cert == NULL || key == NULL || ca == NULL)
		die("--cert, --key and --ca are required");
	if (g.log_path && (g.log = fopen(g.log_path, "a")) == NULL)
		die("%s: %s", g.log_path, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	SSL_CTX *ctx = make_ctx(cert, key, ca);
	int lfd = listen_on(addr, port);
	serve(lfd, ctx);
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (g.conns[i])
			conn_free(g.conns[i]);
	SSL_CTX_free(ctx);
	if (g.log)
		fclose(g.log);
	return 0;
}
