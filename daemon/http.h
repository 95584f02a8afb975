/*
 * http.h - HTTP/1.1 request framing over http-parser, with hard limits,
 * and response serialisation.  No I/O: bytes in, requests out.
 */
#ifndef HTTP_H
#define HTTP_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_buf.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
	char *name; /* lower-cased */
	char *value;
};

struct http_req {
	const char *method; /* static string */
	char *path;	    /* decoded? no: raw path, without the query */
	char *query;	    /* raw query without '?', "" when none */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	struct ap_buf body;
	int keep_alive;
};

/* Limits chosen at creation; counted on what the peer sends. */
struct http_limits {
	size_t max_header_bytes; /* request line + headers */
	size_t max_body_bytes;	 /* the most any request may send */
	int admit_bodies;	 /* 1: after the head of a request that has a body,
				  * stop in HTTP_IN_ADMIT until http_in_admit() */
};

/* HTTP_IN_ADMIT: the head is parsed (method, path, headers), the body not
 * yet: the caller decides from the head how much of it to accept. */
enum http_in_state { HTTP_IN_IDLE, HTTP_IN_HEAD, HTTP_IN_ADMIT, HTTP_IN_BODY, HTTP_IN_DONE };

/* http_in_body_length() of a chunked body: its length is not announced. */
#define HTTP_LENGTH_CHUNKED UINT64_MAX

struct http_in;

struct http_in *http_in_new(const struct http_limits *lim);
void http_in_free(struct http_in *h);
/* Parses as much of data as makes up the current request.  *consumed
 * says how many bytes were used (the rest belongs to the next request).
 * Returns 0 (need more, or done: see http_in_state()), or an HTTP status
 * to answer before closing: 400 malformed, 413 body too large, 431 head
 * too large, 501 unsupported transfer coding. */
int http_in_feed(struct http_in *h, const char *data, size_t len, size_t *consumed);
enum http_in_state http_in_state(const struct http_in *h);
/* The complete request (valid until http_in_next()); in HTTP_IN_ADMIT, its
 * head with an empty body. */
struct http_req *http_in_request(struct http_in *h);
/* In HTTP_IN_ADMIT: the body length the head announced, or
 * HTTP_LENGTH_CHUNKED. */
uint64_t http_in_body_length(const struct http_in *h);
/* In HTTP_IN_ADMIT: lets parsing go on with a body of at most limit bytes
 * (capped by max_body_bytes).  Returns 0, or 413 when the announced length
 * is over limit (a chunked body over it gets 413 from http_in_feed()). */
int http_in_admit(struct http_in *h, size_t limit);
/* Forgets the current request to parse the next one on the connection. */
void http_in_next(struct http_in *h);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);
/* Value of query parameter `name` copied into out (URL-decoded);
 * 0 when present, AP_ENOTFOUND otherwise. */
int http_req_query(const struct http_req *r, const char *name, char *out, size_t cap);

struct http_resp {
	int status;
	const char *content_type; /* static string; NULL = no body type */
	struct ap_buf body;
	char extra[512]; /* extra header lines, each ending in \r\n */
	int close;	 /* close the connection after this answer */
	int head;	 /* HEAD: the headers of the GET answer, no body */
};

void http_resp_init(struct http_resp *r, size_t body_limit);
void http_resp_free(struct http_resp *r);
void http_resp_add_header(struct http_resp *r, const char *name, const char *value);
/* Status line + headers + body into out. */
int http_resp_serialize(const struct http_resp *r, int keep_alive, struct ap_buf *out);
const char *http_reason(int status);

#endif
