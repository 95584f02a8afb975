/*
 * fuzz_http.c - libFuzzer target for HTTP request framing (daemon/http.c).
 *
 * The input is a byte stream from a client.  It is fed to http_in with small
 * limits the way conn.c does: whatever is offered, then ap_http_in_next() after
 * each complete request and the rest of the stream, until an error status or
 * the end.  The stream is fed three ways: in one piece, in two pieces split
 * at a point chosen from the data, and (short inputs) one byte at a time.
 * Besides the sanitizers, the target checks the contract of http.h:
 *   - never more consumed than offered; an unfinished request takes all;
 *   - an error is one of the statuses http.h lists, and it is sticky;
 *   - a request holds a method, a path starting with '/', lower-case header
 *     names, at most AP_HTTP_MAX_HEADERS headers, a body within the limit;
 *   - the three ways frame the same requests and end alike (the error
 *     status may differ between 400 and 431 only: a too-long head is seen
 *     earlier when the stream arrives in pieces).
 * Any violation aborts.
 *
 * Build and run with libFuzzer (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Idaemon -Iagent-protocol \
 *     tests/fuzz/fuzz_http.c daemon/http.c agent-protocol/ap_buf.c \
 *     agent-protocol/ap_err.c -lhttp_parser -o fuzz_http
 *   ./fuzz_http -max_total_time=180 corpus-work tests/fuzz/corpus/http
 * Normal builds replay tests/fuzz/corpus/http/ through tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_http.h"

#define MAX_REQS 64

static const struct ap_http_limits limits = {512, 1024};

/* What one way of feeding saw: a digest per request and how it ended. */
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

/* Checks a complete request and returns its digest. */
static uint64_t check_request(struct ap_http_msg *r)
{
	char v[16], one[1];
	uint64_t h = 14695981039346656037ull;
	if (r->method == NULL || r->path == NULL || r->query == NULL || r->path[0] != '/')
		fail("request without method, path or query");
	if (r->n_headers > AP_HTTP_MAX_HEADERS || r->body.len > limits.max_body_bytes)
		fail("request over its limits");
	h = fnv_str(h, r->method);
	h = fnv_str(h, r->path);
	h = fnv_str(h, r->query);
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
	ap_http_header(r, "host");
	if (ap_http_query(r, "a", v, sizeof(v)) == 0 && strlen(v) >= sizeof(v))
		fail("query value overflows its buffer");
	if (ap_http_query(r, "a", one, sizeof(one)) == 0 && one[0] != '\0')
		fail("query value overflows a one-byte buffer");

	struct ap_http_resp resp;
	struct ap_buf out;
	ap_http_resp_init(&resp, 4096);
	ap_buf_init(&out, 1 << 16);
	resp.content_type = "text/plain";
	ap_buf_append(&resp.body, r->path, strlen(r->path));
	ap_http_resp_add_header(&resp, "X-Echo", r->method);
	if (ap_http_resp_serialize(&resp, r->keep_alive, &out) != 0 ||
	    strncmp(out.data, "HTTP/1.1 200 OK\r\n", 17) != 0)
		fail("response serialisation");
	ap_buf_free(&out);
	ap_http_resp_free(&resp);
	return h;
}

/* Feeds data[0..len) as one arrival; returns 0 or the error status. */
static int arrive(struct ap_http_in *h, struct trace *t, const char *data, size_t len)
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
				fail("unfinished request left input unconsumed");
			return 0;
		}
		if (t->n < MAX_REQS)
			t->req[t->n] = check_request(ap_http_in_message(h));
		t->n++;
		ap_http_in_next(h);
		if (ap_http_in_state(h) != AP_HTTP_IN_IDLE)
			fail("ap_http_in_next did not reset");
	}
	return 0;
}

/* Feeds the stream cut at the given points (ascending, within size). */
static void run(const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts,
		struct trace *t)
{
	struct ap_http_in *h = ap_http_in_new(AP_HTTP_REQUEST, &limits);
	size_t from = 0;
	memset(t, 0, sizeof(*t));
	if (h == NULL)
		fail("ap_http_in_new");
	for (size_t i = 0; i <= n_cuts && t->status == 0; i++) {
		size_t to = i < n_cuts ? cuts[i] : size;
		t->status = arrive(h, t, (const char *)data + from, to - from);
		from = to;
	}
	t->end = ap_http_in_state(h);
	ap_http_in_free(h);
}

static void compare(const struct trace *a, const struct trace *b)
{
	size_t n = a->n < MAX_REQS ? a->n : MAX_REQS;
	if (a->n != b->n)
		fail("feeding in pieces framed a different number of requests");
	for (size_t i = 0; i < n; i++)
		if (a->req[i] != b->req[i])
			fail("feeding in pieces changed a request");
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
	uint64_t seed = fnv(14695981039346656037ull, data, size);
	size_t cut = size ? (size_t)(seed % (size + 1)) : 0;

	run(data, size, NULL, 0, &whole);
	run(data, size, &cut, 1, &split);
	compare(&whole, &split);
	if (size <= 2048) {
		size_t *cuts = malloc(size * sizeof(*cuts) + 1);
		for (size_t i = 0; i < size; i++)
			cuts[i] = i;
		run(data, size, cuts, size, &bytes);
		compare(&whole, &bytes);
		free(cuts);
	}
	return 0;
}
