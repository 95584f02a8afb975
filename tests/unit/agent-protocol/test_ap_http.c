/* Unit tests for agent-protocol/ap_http.c: request framing with limits, responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "ap_http.h"

static const struct ap_http_limits small = {1024, 2048};

static struct ap_http_in *new_in(void)
{
	struct ap_http_in *h = ap_http_in_new(AP_HTTP_REQUEST, &small);
	assert_non_null(h);
	return h;
}

/* Feeds all of s in one call; returns the status, *used the bytes taken. */
static int feed(struct ap_http_in *h, const char *s, size_t len, size_t *used)
{
	size_t u = 0;
	int rc = ap_http_in_feed(h, s, len, &u);
	if (used)
		*used = u;
	return rc;
}

static int feed_str(struct ap_http_in *h, const char *s)
{
	size_t used;
	int rc = feed(h, s, strlen(s), &used);
	if (rc == 0 && ap_http_in_state(h) == AP_HTTP_IN_DONE)
		assert_int_equal(used, strlen(s));
	return rc;
}

static const char get_req[] = "GET /api/v1/devices?school=0131266F&q=a%20b HTTP/1.1\r\n"
			      "Host: mdm.example\r\n"
			      "Authorization: Bearer ard_x\r\n"
			      "X-Multi: one,\r\n"
			      "\r\n";

static void check_get(struct ap_http_in *h)
{
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->path, "/api/v1/devices");
	assert_string_equal(r->query, "school=0131266F&q=a%20b");
	assert_int_equal(r->n_headers, 3);
	assert_string_equal(r->headers[0].name, "host");
	assert_string_equal(r->headers[0].value, "mdm.example");
	assert_string_equal(ap_http_header(r, "authorization"), "Bearer ard_x");
	assert_string_equal(ap_http_header(r, "x-multi"), "one,");
	assert_int_equal(r->body.len, 0);
	assert_true(r->keep_alive);
}

static void test_complete_request(void **state)
{
	struct ap_http_in *h = new_in();
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_IDLE);
	assert_int_equal(feed_str(h, get_req), 0);
	check_get(h);
	ap_http_in_free(h);
	ap_http_in_free(NULL);
}

static void test_byte_at_a_time(void **state)
{
	struct ap_http_in *h = new_in();
	size_t n = strlen(get_req), used;
	int saw_head = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(feed(h, get_req + i, 1, &used), 0);
		assert_int_equal(used, 1);
		if (i + 1 < n)
			assert_int_not_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
		saw_head |= ap_http_in_state(h) == AP_HTTP_IN_HEAD;
	}
	assert_true(saw_head);
	check_get(h);
	ap_http_in_free(h);
}

static void test_post_body_split_everywhere(void **state)
{
	static const char req[] = "POST /mdm/connect HTTP/1.1\r\n"
				  "Content-Type: application/x-apple-aspen-mdm\r\n"
				  "Content-Length: 11\r\n"
				  "\r\n"
				  "hello world";
	size_t n = strlen(req);
	for (size_t cut = 0; cut <= n; cut++) {
		struct ap_http_in *h = new_in();
		size_t u1 = 0, u2 = 0;
		assert_int_equal(feed(h, req, cut, &u1), 0);
		assert_int_equal(u1, cut);
		if (cut < n)
			assert_int_equal(feed(h, req + cut, n - cut, &u2), 0);
		assert_int_equal(u1 + u2, n);
		struct ap_http_msg *r = ap_http_in_message(h);
		assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
		assert_string_equal(r->method, "POST");
		assert_string_equal(ap_http_header(r, "Content-Type"),
				    "application/x-apple-aspen-mdm");
		assert_int_equal(r->body.len, 11);
		assert_memory_equal(r->body.data, "hello world", 11);
		ap_http_in_free(h);
	}
}

static void test_states(void **state)
{
	struct ap_http_in *h = new_in();
	assert_int_equal(feed_str(h, "POST / HTTP/1.1\r\nContent-"), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_HEAD);
	assert_int_equal(feed_str(h, "Length: 4\r\n\r\nab"), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_BODY);
	assert_int_equal(feed_str(h, "cd"), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	ap_http_in_free(h);
}

static void test_pipelined(void **state)
{
	static const char two[] = "GET /first?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"
				  "POST /second HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
				  "GET /third HTTP/1.1\r\n\r\n";
	struct ap_http_in *h = new_in();
	size_t n = strlen(two), off = 0, used = 0;
	const char *paths[] = {"/first", "/second", "/third"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(feed(h, two + off, n - off, &used), 0);
		assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
		assert_string_equal(ap_http_in_message(h)->path, paths[i]);
		off += used;
		if (i < 2)
			assert_true(off < n); /* the rest is left for the next request */
		/* a finished request takes nothing more until ap_http_in_next() */
		assert_int_equal(feed(h, two + off, n - off, &used), 0);
		assert_int_equal(used, 0);
		if (i == 1)
			assert_memory_equal(ap_http_in_message(h)->body.data, "abc", 3);
		ap_http_in_next(h);
		assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_IDLE);
		assert_int_equal(ap_http_in_message(h)->n_headers, 0);
	}
	assert_int_equal(off, n);
	ap_http_in_free(h);
}

static void test_chunked(void **state)
{
	static const char req[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5\r\nhello\r\n"
				  "6;ext=1\r\n world\r\n"
				  "0\r\n"
				  "X-Trailer: t\r\n"
				  "\r\n"
				  "GET /next HTTP/1.1\r\n\r\n";
	struct ap_http_in *h = new_in();
	size_t used;
	assert_int_equal(feed(h, req, strlen(req), &used), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_int_equal(r->body.len, 11);
	assert_memory_equal(r->body.data, "hello world", 11);
	assert_true(r->keep_alive);
	ap_http_in_next(h);
	assert_int_equal(feed(h, req + used, strlen(req) - used, &used), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_string_equal(ap_http_in_message(h)->path, "/next");
	assert_null(ap_http_header(ap_http_in_message(h), "x-trailer"));
	ap_http_in_free(h);
}

static void test_431_huge_header(void **state)
{
	char req[4096];
	struct ap_http_in *h = new_in();
	int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %01100d\r\n\r\n", 7);
	assert_int_equal(feed(h, req, (size_t)n, NULL), 431);
	assert_int_equal(feed(h, "GET / HTTP/1.1\r\n\r\n", 18, NULL), 431); /* sticky */
	ap_http_in_free(h);

	/* the limit counts the whole head, not one header */
	h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.1\r\n"), 0);
	int rc = 0;
	for (int i = 0; i < 40 && rc == 0; i++)
		rc = feed_str(h, "X-Header-Name: some value of forty bytes.\r\n");
	assert_int_equal(rc, 431);
	ap_http_in_free(h);

	/* and a huge URL too */
	h = new_in();
	n = snprintf(req, sizeof(req), "GET /%01100d HTTP/1.1\r\n\r\n", 7);
	assert_int_equal(feed(h, req, (size_t)n, NULL), 431);
	ap_http_in_free(h);
}

static void test_431_too_many_headers(void **state)
{
	struct ap_http_limits big = {1 << 20, 1024};
	struct ap_http_in *h = ap_http_in_new(AP_HTTP_REQUEST, &big);
	int rc = feed_str(h, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < AP_HTTP_MAX_HEADERS + 1 && rc == 0; i++)
		rc = feed_str(h, "A: b\r\n");
	if (rc == 0)
		rc = feed_str(h, "\r\n");
	assert_int_equal(rc, 431);
	ap_http_in_free(h);

	h = ap_http_in_new(AP_HTTP_REQUEST, &big); /* exactly the maximum is fine */
	rc = feed_str(h, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < AP_HTTP_MAX_HEADERS && rc == 0; i++)
		rc = feed_str(h, "A: b\r\n");
	assert_int_equal(feed_str(h, "\r\n"), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_int_equal(ap_http_in_message(h)->n_headers, AP_HTTP_MAX_HEADERS);
	ap_http_in_free(h);
}

static void test_413_content_length(void **state)
{
	struct ap_http_in *h = new_in();
	/* refused on the header alone, before any body byte */
	assert_int_equal(feed_str(h, "POST / HTTP/1.1\r\nContent-Length: 2049\r\n\r\n"), 413);
	ap_http_in_free(h);

	h = new_in();
	assert_int_equal(feed_str(h, "POST / HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n"),
			 413);
	ap_http_in_free(h);

	char req[4096];
	h = new_in(); /* exactly the limit is fine */
	int n =
	    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Length: 2048\r\n\r\n%02048d", 0);
	assert_int_equal(feed(h, req, (size_t)n, NULL), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_int_equal(ap_http_in_message(h)->body.len, 2048);
	ap_http_in_free(h);
}

static void test_413_chunked(void **state)
{
	struct ap_http_in *h = new_in();
	int rc = feed_str(h, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 100 && rc == 0; i++)
		rc = feed_str(h, "40\r\n"
				 "0123456789012345678901234567890123456789012345678901234567890123"
				 "\r\n");
	assert_int_equal(rc, 413);
	assert_true(ap_http_in_message(h)->body.len <= small.max_body_bytes);
	ap_http_in_free(h);

	h = new_in(); /* one chunk announced bigger than the limit */
	rc = feed_str(h, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFF\r\n");
	for (int i = 0; i < 100 && rc == 0; i++)
		rc =
		    feed_str(h, "0123456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(rc, 413);
	ap_http_in_free(h);
}

#define CASE(s)                  \
	{                        \
		s, sizeof(s) - 1 \
	}

static void test_400_garbage(void **state)
{
	static const struct {
		const char *data;
		size_t len;
	} bad[] = {
	    CASE("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), /* a TLS ClientHello */
	    CASE("HELLO\r\n\r\n"),
	    CASE("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"),
	    /* both framings at once: request smuggling */
	    CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    CASE("GET http://evil.example/ HTTP/1.1\r\n\r\n"), /* only origin-form paths */
	    CASE("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
	    CASE("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
	    CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
	    CASE("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
	    /* a body framing the server cannot delimit */
	    CASE("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ap_http_in *h = new_in();
		int rc = feed(h, bad[i].data, bad[i].len, NULL);
		if (rc != 400)
			fail_msg("case %zu: expected 400, got %d", i, rc);
		ap_http_in_free(h);
	}
}

static void test_connection_close(void **state)
{
	struct ap_http_in *h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
	assert_false(ap_http_in_message(h)->keep_alive);
	ap_http_in_free(h);
	h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.0\r\n\r\n"), 0);
	assert_false(ap_http_in_message(h)->keep_alive);
	ap_http_in_free(h);
	h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
	assert_true(ap_http_in_message(h)->keep_alive);
	ap_http_in_free(h);
}

static void test_empty_header_value(void **state)
{
	struct ap_http_in *h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.1\r\nX-Empty:\r\nX-After: v\r\n\r\n"), 0);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_int_equal(r->n_headers, 2);
	assert_string_equal(ap_http_header(r, "x-empty"), "");
	assert_string_equal(ap_http_header(r, "x-after"), "v");
	ap_http_in_free(h);
}

static void test_header_lookup(void **state)
{
	struct ap_http_in *h = new_in();
	assert_int_equal(feed_str(h, "GET / HTTP/1.1\r\nCoNtEnT-TyPe: text/plain\r\n\r\n"), 0);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_string_equal(r->headers[0].name, "content-type"); /* stored lower-case */
	assert_string_equal(ap_http_header(r, "Content-Type"), "text/plain");
	assert_string_equal(ap_http_header(r, "CONTENT-TYPE"), "text/plain");
	assert_null(ap_http_header(r, "content"));
	assert_null(ap_http_header(r, "content-type-x"));
	ap_http_in_free(h);
}

static void test_query(void **state)
{
	struct ap_http_in *h = new_in();
	char v[32];
	assert_int_equal(
	    feed_str(h, "GET /p?name=Jean+Dupont&uai=0131266F&msg=caf%C3%A9%21&flag&empty="
			"&bad=%zz%4&ab=1&a=2&long=0123456789012345678901234567890123456789 "
			"HTTP/1.1\r\n\r\n"),
	    0);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_string_equal(r->path, "/p");
	assert_int_equal(ap_http_query(r, "name", v, sizeof(v)), 0);
	assert_string_equal(v, "Jean Dupont");
	assert_int_equal(ap_http_query(r, "uai", v, sizeof(v)), 0);
	assert_string_equal(v, "0131266F");
	assert_int_equal(ap_http_query(r, "msg", v, sizeof(v)), 0);
	assert_string_equal(v, "caf\xc3\xa9!");
	assert_int_equal(ap_http_query(r, "flag", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(ap_http_query(r, "empty", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(ap_http_query(r, "bad", v, sizeof(v)), 0);
	assert_string_equal(v, "%zz%4"); /* malformed escapes are kept literally */
	assert_int_equal(ap_http_query(r, "a", v, sizeof(v)), 0);
	assert_string_equal(v, "2"); /* "ab" is another parameter */
	assert_int_equal(ap_http_query(r, "long", v, 11), 0);
	assert_string_equal(v, "0123456789"); /* truncated to the buffer */
	v[0] = 'z';
	assert_int_equal(ap_http_query(r, "missing", v, sizeof(v)), AP_ENOTFOUND);
	assert_int_equal(ap_http_query(r, "nam", v, sizeof(v)), AP_ENOTFOUND);
	ap_http_in_free(h);

	h = new_in(); /* no query at all */
	assert_int_equal(feed_str(h, "GET /p HTTP/1.1\r\n\r\n"), 0);
	assert_string_equal(ap_http_in_message(h)->query, "");
	assert_int_equal(ap_http_query(ap_http_in_message(h), "x", v, sizeof(v)), AP_ENOTFOUND);
	ap_http_in_free(h);
}

static void test_methods(void **state)
{
	static const char *const m[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char req[64];
		struct ap_http_in *h = new_in();
		snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\n\r\n", m[i]);
		assert_int_equal(feed_str(h, req), 0);
		assert_string_equal(ap_http_in_message(h)->method, m[i]);
		ap_http_in_free(h);
	}
}

static void test_response(void **state)
{
	struct ap_http_resp r;
	struct ap_buf out;
	ap_buf_init(&out, 1 << 16);

	ap_http_resp_init(&r, 1024);
	assert_int_equal(r.status, 200);
	r.content_type = "application/json";
	ap_buf_appends(&r.body, "{\"ok\":true}\n");
	assert_int_equal(ap_http_resp_serialize(&r, 1, &out), 0);
	assert_string_equal(out.data, "HTTP/1.1 200 OK\r\n"
				      "Content-Length: 12\r\n"
				      "Content-Type: application/json\r\n"
				      "\r\n"
				      "{\"ok\":true}\n");

	ap_buf_reset(&out);
	r.status = 401;
	ap_http_resp_add_header(&r, "WWW-Authenticate", "Bearer realm=\"ardoise\"");
	ap_http_resp_add_header(&r, "X-Two", "2");
	assert_int_equal(ap_http_resp_serialize(&r, 0, &out), 0);
	assert_string_equal(out.data, "HTTP/1.1 401 Unauthorized\r\n"
				      "Content-Length: 12\r\n"
				      "Content-Type: application/json\r\n"
				      "Connection: close\r\n"
				      "WWW-Authenticate: Bearer realm=\"ardoise\"\r\n"
				      "X-Two: 2\r\n"
				      "\r\n"
				      "{\"ok\":true}\n");
	ap_http_resp_free(&r);

	ap_buf_reset(&out);
	ap_http_resp_init(&r, 1024);
	r.status = 204;
	r.close = 1; /* close wins over keep-alive */
	assert_int_equal(ap_http_resp_serialize(&r, 1, &out), 0);
	assert_string_equal(out.data, "HTTP/1.1 204 No Content\r\n"
				      "Content-Length: 0\r\n"
				      "Connection: close\r\n"
				      "\r\n");
	ap_http_resp_free(&r);
	ap_http_resp_free(NULL);

	/* a server's fixed lines before the handler's; a 304 carries no
	 * body and announces none, even when one was left in it */
	ap_buf_reset(&out);
	ap_http_resp_init(&r, 1024);
	r.status = 304;
	r.fixed = "X-Fixed: 1\r\n";
	ap_http_resp_add_header(&r, "ETag", "\"abc\"");
	ap_buf_appends(&r.body, "stray");
	assert_int_equal(ap_http_resp_serialize(&r, 1, &out), 0);
	assert_string_equal(out.data, "HTTP/1.1 304 Not Modified\r\n"
				      "X-Fixed: 1\r\n"
				      "ETag: \"abc\"\r\n"
				      "\r\n");
	ap_http_resp_free(&r);

	assert_string_equal(ap_http_reason(413), "Content Too Large");
	assert_string_equal(ap_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(ap_http_reason(408), "Request Timeout");
	assert_string_equal(ap_http_reason(599), "Unknown");
	ap_buf_free(&out);
}

static struct ap_http_in *new_admitting(void)
{
	static const struct ap_http_limits lim = {1024, 2048, 1};
	struct ap_http_in *h = ap_http_in_new(AP_HTTP_REQUEST, &lim);
	assert_non_null(h);
	return h;
}

static const char put_req[] = "PUT /mdm/checkin HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";

/* The head stops the parser until the caller admits the body: nothing of
 * the body is taken before. */
static void test_admit_content_length(void **state)
{
	(void)state;
	struct ap_http_in *h = new_admitting();
	size_t used = 0, head = strlen(put_req) - 10;
	assert_int_equal(feed(h, put_req, strlen(put_req), &used), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_ADMIT);
	assert_true(used <= head);
	assert_string_equal(ap_http_in_message(h)->path, "/mdm/checkin");
	assert_int_equal(ap_http_in_message(h)->body.len, 0);
	assert_int_equal(ap_http_in_body_length(h), 10);
	size_t more = 0;
	assert_int_equal(feed(h, put_req + used, strlen(put_req) - used, &more), 0);
	assert_int_equal(more, 0); /* still waiting */
	assert_int_equal(ap_http_in_admit(h, 10), 0);
	assert_int_equal(feed(h, put_req + used, strlen(put_req) - used, &more), 0);
	assert_int_equal(used + more, strlen(put_req));
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_memory_equal(ap_http_in_message(h)->body.data, "0123456789", 10);
	/* a request without a body does not stop */
	ap_http_in_next(h);
	assert_int_equal(feed_str(h, get_req), 0);
	check_get(h);
	ap_http_in_free(h);
}

static void test_admit_refused(void **state)
{
	(void)state;
	struct ap_http_in *h = new_admitting();
	size_t used = 0;
	assert_int_equal(feed(h, put_req, strlen(put_req), &used), 0);
	assert_int_equal(ap_http_in_admit(h, 9), 413);
	assert_int_equal(feed(h, put_req + used, strlen(put_req) - used, &used), 413);
	ap_http_in_free(h);
}

static void test_admit_chunked(void **state)
{
	(void)state;
	static const char req[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "8\r\n01234567\r\n0\r\n\r\n";
	struct ap_http_in *h = new_admitting();
	size_t used = 0, more = 0;
	assert_int_equal(feed(h, req, strlen(req), &used), 0);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_ADMIT);
	assert_true(ap_http_in_body_length(h) == AP_HTTP_LENGTH_CHUNKED);
	assert_int_equal(ap_http_in_admit(h, 4), 0); /* the length is not known yet */
	assert_int_equal(feed(h, req + used, strlen(req) - used, &more), 413);
	ap_http_in_free(h);
}

/* ---- the client side: responses, and the requests it writes ---- */

static struct ap_http_in *new_resp_in(void)
{
	struct ap_http_in *h = ap_http_in_new(AP_HTTP_RESPONSE, &small);
	assert_non_null(h);
	return h;
}

static void test_parse_responses_pipelined(void **state)
{
	(void)state;
	static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				  "Content-Type: application/xml\r\n\r\nhello"
				  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";
	struct ap_http_in *h = new_resp_in();
	size_t used;
	assert_int_equal(feed(h, two, strlen(two), &used), 0);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_int_equal(r->status, 200);
	assert_null(r->method);
	assert_null(r->path);
	assert_string_equal(ap_http_header(r, "content-type"), "application/xml");
	assert_int_equal(r->body.len, 5);
	assert_memory_equal(r->body.data, "hello", 5);
	assert_true(r->keep_alive);
	ap_http_in_next(h);
	assert_int_equal(feed_str(h, two + used), 0);
	assert_int_equal(r->status, 404);
	assert_int_equal(r->body.len, 0);
	assert_false(r->keep_alive);
	ap_http_in_free(h);
}

static void test_parse_response_chunked_split(void **state)
{
	(void)state;
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
	for (size_t cut = 0; cut <= strlen(resp); cut++) {
		struct ap_http_in *h = new_resp_in();
		size_t used;
		assert_int_equal(feed(h, resp, cut, &used), 0);
		assert_int_equal(used, cut);
		assert_int_equal(feed_str(h, resp + cut), 0);
		struct ap_http_msg *r = ap_http_in_message(h);
		assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
		assert_int_equal(r->body.len, 5);
		assert_memory_equal(r->body.data, "abcde", 5);
		ap_http_in_free(h);
	}
}

static void test_parse_response_limits(void **state)
{
	(void)state;
	struct ap_http_in *h = new_resp_in();
	assert_int_equal(feed_str(h, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n"), 413);
	ap_http_in_free(h);
	h = new_resp_in();
	char big[2048];
	snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: %01500d\r\n\r\n", 0);
	assert_int_equal(feed_str(h, big), 431);
	ap_http_in_free(h);
	h = new_resp_in();
	assert_int_equal(feed_str(h, "HTTP/1.1 2x0 OK\r\n\r\n"), 400);
	ap_http_in_free(h);
}

static void test_request_serialize_round_trip(void **state)
{
	(void)state;
	struct ap_http_out_req out = {.method = "PUT",
				      .path = "/mdm/connect?x=1",
				      .host = "127.0.0.1:8443",
				      .user_agent = "test",
				      .content_type = "application/x-apple-aspen-mdm",
				      .headers = "Mdm-Signature: c2ln\r\n",
				      .body = "<plist/>",
				      .len = 8};
	struct ap_buf wire;
	ap_buf_init(&wire, 4096);
	assert_int_equal(ap_http_req_serialize(&out, &wire), 0);
	struct ap_http_in *h = new_in();
	size_t used;
	assert_int_equal(feed(h, wire.data, wire.len, &used), 0);
	assert_int_equal(used, wire.len);
	struct ap_http_msg *r = ap_http_in_message(h);
	assert_int_equal(ap_http_in_state(h), AP_HTTP_IN_DONE);
	assert_string_equal(r->method, "PUT");
	assert_string_equal(r->path, "/mdm/connect");
	assert_string_equal(r->query, "x=1");
	assert_string_equal(ap_http_header(r, "host"), "127.0.0.1:8443");
	assert_string_equal(ap_http_header(r, "mdm-signature"), "c2ln");
	assert_string_equal(ap_http_header(r, "content-type"), "application/x-apple-aspen-mdm");
	assert_int_equal(r->body.len, 8);
	ap_http_in_free(h);
	ap_buf_free(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complete_request),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_post_body_split_everywhere),
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_431_huge_header),
	    cmocka_unit_test(test_431_too_many_headers),
	    cmocka_unit_test(test_413_content_length),
	    cmocka_unit_test(test_413_chunked),
	    cmocka_unit_test(test_400_garbage),
	    cmocka_unit_test(test_connection_close),
	    cmocka_unit_test(test_empty_header_value),
	    cmocka_unit_test(test_header_lookup),
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_response),
	    cmocka_unit_test(test_admit_content_length),
	    cmocka_unit_test(test_admit_refused),
	    cmocka_unit_test(test_admit_chunked),
	    cmocka_unit_test(test_parse_responses_pipelined),
	    cmocka_unit_test(test_parse_response_chunked_split),
	    cmocka_unit_test(test_parse_response_limits),
	    cmocka_unit_test(test_request_serialize_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
