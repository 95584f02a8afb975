/*
 * fuzz_http.c - libFuzzer target for HTTP/1.1 framing (agent-protocol/ap_http.c),
 * both directions.
 *
 * The first byte chooses the side: even, a server reading requests (as
 * daemon/server/conn.c does); odd, a client reading responses (as tools/sim/sim_net.c
 * does).  The hand-written corpus starts its files with '0' or '1'.  The
 * rest is a byte stream from the peer, fed to ap_http_in with small limits:
 * whatever is offered, then ap_http_in_next() after each complete message
 * and the rest of the stream, until an error status or the end.  The stream
 * is fed three ways: in one piece, in two pieces split at a point chosen
 * from the data, and (short inputs) one byte at a time.
 * Besides the sanitizers, the target checks the contract of ap_http.h:
 *   - never more consumed than offered; an unfinished message takes all;
 *   - an error is one of the statuses ap_http.h lists, and it is sticky;
 *   - a request holds a method, a path starting with '/' and a query; a
 *     response a status and no method; both have lower-case header names,
 *     at most AP_HTTP_MAX_HEADERS headers, a body within the limit;
 *   - what the module writes it reads back: a request framed is written
 *     again with ap_http_req_serialize() and parsed to the same method,
 *     path, query and body; a response's status and body likewise through
 *     ap_http_resp_serialize();
 *   - the three ways frame the same messages and end alike (the error
 *     status may differ between 400 and 431 only: a too-long head is seen
 *     earlier when the stream arrives in pieces).
 * Any violation aborts.
 *
 * Build and run with libFuzzer (clang; see tests/fuzz/meson.build):
 *   ninja -C build-fuzz tests/fuzz/fuzz_http
 *   build-fuzz/tests/fuzz/fuzz_http -max_total_time=90 corpus-work tests/fuzz/corpus/http
 * Normal builds replay tests/fuzz/corpus/http/ through tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_http.h"

#define MAX_REQS 64

static const struct ap_http_limits limits = {512, 1024};

/* What one way of feeding saw: a digest per message and how it ended. */
struct trace {
	size_t n;
	uint64_t req[MAX_REQS];
	int status;
	enum ap_http_in_state end;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_http: %s\n", what);
	abort();
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

/* Parses wire (written by the module) as one whole message of the given
 * kind with roomy limits; aborts unless it frames exactly one. */
static struct ap_http_in *reparse(enum ap_http_kind kind, const struct ap_buf *wire)
{
	static const struct ap_http_limits roomy = {4096, 4096};
	struct ap_http_in *h = ap_http_in_new(kind, &roomy);
	size_t used = 0;
	if (h == NULL)
		fail("ap_http_in_new");
	if (ap_http_in_feed(h, wire->data, wire->len, &used) != 0 || used != wire->len ||
	    ap_http_in_state(h) != AP_HTTP_IN_DONE)
		fail("what the module wrote does not parse back");
	return h;
}

static int same_body(const struct ap_http_msg *a, const struct ap_http_msg *b)
{
	return a->body.len == b->body.len &&
	       (a->body.len == 0 || memcmp(a->body.data, b->body.data, a->body.len) == 0);
}

/* A request written again (CONNECT aside: an upgrade ends the framing)
 * parses to the same method, target and body; an answer to it is written. */
static void round_trip_request(const struct ap_http_msg *r)
{
	char target[600];
	struct ap_buf wire;
	if (strcmp(r->method, "CONNECT") == 0)
		return;
	snprintf(target, sizeof(target), "%s%s%s", r->path, r->query[0] ? "?" : "", r->query);
	struct ap_http_out_req out = {r->method, target,       "h",	     "fuzz",
				      NULL,	 "X-A: b\r\n", r->body.data, r->body.len};
	ap_buf_init(&wire, 1 << 16);
	if (ap_http_req_serialize(&out, &wire) != 0)
		fail("request serialisation");
	struct ap_http_in *h = reparse(AP_HTTP_REQUEST, &wire);
	struct ap_http_msg *b = ap_http_in_message(h);
	if (strcmp(b->method, r->method) != 0 || strcmp(b->path, r->path) != 0 ||
	    strcmp(b->query, r->query) != 0 || !same_body(r, b) ||
	    strcmp(ap_http_header(b, "x-a") ? ap_http_header(b, "x-a") : "", "b") != 0)
		fail("a request written again parses differently");
	ap_http_in_free(h);
	ap_buf_free(&wire);

	struct ap_http_resp resp;
	ap_http_resp_init(&resp, 4096);
	ap_buf_init(&wire, 1 << 16);
	resp.content_type = "text/plain";
	ap_buf_append(&resp.body, r->path, strlen(r->path));
	ap_http_resp_add_header(&resp, "X-Echo", r->method);
	if (ap_http_resp_serialize(&resp, r->keep_alive, &wire) != 0 ||
	    strncmp(wire.data, "HTTP/1.1 200 OK\r\n", 17) != 0)
		fail("response serialisation");
	ap_buf_free(&wire);
	ap_http_resp_free(&resp);
}

/* A response with a body (not 1xx, 204, 304: those have none) written
 * again parses to the same status and body. */
static void round_trip_response(const struct ap_http_msg *r)
{
	struct ap_http_resp resp;
	struct ap_buf wire;
	if (r->status < 200 || r->status > 999 || r->status == 204 || r->status == 304)
		return;
	ap_http_resp_init(&resp, 4096);
	ap_buf_init(&wire, 1 << 16);
	resp.status = r->status;
	if (r->body.len && ap_buf_append(&resp.body, r->body.data, r->body.len) != 0)
		fail("response body");
	if (ap_http_resp_serialize(&resp, 1, &wire) != 0)
		fail("response serialisation");
	struct ap_http_in *h = reparse(AP_HTTP_RESPONSE, &wire);
	struct ap_http_msg *b = ap_http_in_message(h);
	if (b->status != r->status || !same_body(r, b) || !b->keep_alive)
		fail("a response written again parses differently");
	ap_http_in_free(h);
	ap_buf_free(&wire);
	ap_http_resp_free(&resp);
}

/* Checks what the side's role allows in a complete message; returns the
 * digest of its kind-specific part. */
static uint64_t check_kind(enum ap_http_kind kind, const struct ap_http_msg *r, uint64_t h)
{
	char v[16], one[1];
	if (kind == AP_HTTP_RESPONSE) {
		if (r->method != NULL || r->path != NULL || r->query != NULL || r->status < 0 ||
		    r->status > 999)
			fail("a response with a method or target, or no status");
		return fnv(h, &r->status, sizeof(r->status));
	}
	if (r->method == NULL || r->path == NULL || r->query == NULL || r->path[0] != '/' ||
	    r->status != 0)
		fail("request without method, path or query");
	h = fnv_str(h, r->method);
	h = fnv_str(h, r->path);
	h = fnv_str(h, r->query);
	if (ap_http_query(r, "a", v, sizeof(v)) == 0 && strlen(v) >= sizeof(v))
		fail("query value overflows its buffer");
	if (ap_http_query(r, "a", one, sizeof(one)) == 0 && one[0] != '\0')
		fail("query value overflows a one-byte buffer");
	return h;
}

/* Checks a complete message and returns its digest. */
static uint64_t check_message(enum ap_http_kind kind, struct ap_http_msg *r)
{
	uint64_t h = check_kind(kind, r, 14695981039346656037ull);
	if (r->n_headers > AP_HTTP_MAX_HEADERS || r->body.len > limits.max_body_bytes)
		fail("message over its limits");
	for (size_t i = 0; i < r->n_headers; i++) {
		for (const char *c = r->headers[i].name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				fail("header name not lower-cased");
		if (ap_http_header(r, r->headers[i].name) == NULL)
			fail("a stored header is not found");
		h = fnv_str(h, r->headers[i].name);
		h = fnv_str(h, r->headers[i].value);
	}
	h = fnv(h, r->body.data ? r->body.data : "", r->body.len);
	h = fnv(h, &r->keep_alive, sizeof(r->keep_alive));
	if (kind == AP_HTTP_REQUEST)
		round_trip_request(r);
	else
		round_trip_response(r);
	return h;
}

/* Feeds data[0..len) as one arrival; returns 0 or the error status. */
static int arrive(enum ap_http_kind kind, struct ap_http_in *h, struct trace *t, const char *data,
		  size_t len)
{
	while (len > 0) {
		size_t used = (size_t)-1;
		int status = ap_http_in_feed(h, data, len, &used);
		if (used > len)
			fail("consumed more than offered");
		if (status) {
			if (status != 400 && status != 413 && status != 431 && status != 501 &&
			    status != 503)
				fail("unexpected error status");
			if (ap_http_in_feed(h, "x", 1, &used) != status)
				fail("error not sticky");
			return status;
		}
		data += used;
		len -= used;
		if (ap_http_in_state(h) != AP_HTTP_IN_DONE) {
			if (len != 0)
				fail("unfinished message left input unconsumed");
			return 0;
		}
		if (t->n < MAX_REQS)
			t->req[t->n] = check_message(kind, ap_http_in_message(h));
		t->n++;
		ap_http_in_next(h);
		if (ap_http_in_state(h) != AP_HTTP_IN_IDLE)
			fail("ap_http_in_next did not reset");
	}
	return 0;
}

/* Feeds the stream cut at the given points (ascending, within size). */
static void run(enum ap_http_kind kind, const uint8_t *data, size_t size, const size_t *cuts,
		size_t n_cuts, struct trace *t)
{
	struct ap_http_in *h = ap_http_in_new(kind, &limits);
	size_t from = 0;
	memset(t, 0, sizeof(*t));
	if (h == NULL)
		fail("ap_http_in_new");
	for (size_t i = 0; i <= n_cuts && t->status == 0; i++) {
		size_t to = i < n_cuts ? cuts[i] : size;
		t->status = arrive(kind, h, t, (const char *)data + from, to - from);
		from = to;
	}
	t->end = ap_http_in_state(h);
	ap_http_in_free(h);
}

static void compare(const struct trace *a, const struct trace *b)
{
	size_t n = a->n < MAX_REQS ? a->n : MAX_REQS;
	if (a->n != b->n)
		fail("feeding in pieces framed a different number of messages");
	for (size_t i = 0; i < n; i++)
		if (a->req[i] != b->req[i])
			fail("feeding in pieces changed a message");
	if ((a->status == 0) != (b->status == 0))
		fail("feeding in pieces changed whether the stream is an error");
	if (a->status != b->status &&
	    !((a->status == 400 || a->status == 431) && (b->status == 400 || b->status == 431)))
		fail("feeding in pieces changed the error status");
	if (a->status == 0 && a->end != b->end)
		fail("feeding in pieces changed the final state");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole, split, bytes;
	if (size == 0)
		return 0;
	enum ap_http_kind kind = data[0] & 1 ? AP_HTTP_RESPONSE : AP_HTTP_REQUEST;
	data++;
	size--;
	uint64_t seed = fnv(14695981039346656037ull, data, size);
	size_t cut = size ? (size_t)(seed % (size + 1)) : 0;

	run(kind, data, size, NULL, 0, &whole);
	run(kind, data, size, &cut, 1, &split);
	compare(&whole, &split);
	if (size <= 2048) {
		size_t *cuts = malloc(size * sizeof(*cuts) + 1);
		for (size_t i = 0; i < size; i++)
			cuts[i] = i;
		run(kind, data, size, cuts, size, &bytes);
		compare(&whole, &bytes);
		free(cuts);
	}
	return 0;
}
