/*
 * ap_http.h - HTTP/1.1 framing over http-parser, with hard limits: requests
 * (the server side) and responses (the client side) parsed by one module
 * under the same limits, and both serialised.  No I/O: bytes in, messages
 * out; the caller owns the sockets (and TLS, ap_tls.h, underneath).
 */
#ifndef AP_HTTP_H
#define AP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ap_buf.h"

#define AP_HTTP_MAX_HEADERS 64

struct ap_http_field {
	char *name; /* lower-cased */
	char *value;
};

/* What ap_http_in framed: a request (method, path, query; status 0) or a
 * response (status; method, path and query NULL). */
struct ap_http_msg {
	const char *method; /* static string */
	char *path;	    /* decoded? no: raw path, without the query */
	char *query;	    /* raw query without '?', "" when none */
	int status;	    /* a response's status code */
	struct ap_http_field headers[AP_HTTP_MAX_HEADERS];
	size_t n_headers;
	struct ap_buf body;
	int keep_alive;
};

/* Limits chosen at creation; counted on what the peer sends.  At most
 * AP_HTTP_MAX_HEADERS header fields, whichever the direction. */
struct ap_http_limits {
	size_t max_header_bytes; /* request or status line + headers */
	size_t max_body_bytes;	 /* the most any message may carry */
	int admit_bodies;	 /* 1: after the head of a message that has a body,
				  * stop in AP_HTTP_IN_ADMIT until ap_http_in_admit() */
};

/* Which side of the connection ap_http_in parses. */
enum ap_http_kind { AP_HTTP_REQUEST, AP_HTTP_RESPONSE };

/* AP_HTTP_IN_ADMIT: the head is parsed (method, path, headers), the body not
 * yet: the caller decides from the head how much of it to accept. */
enum ap_http_in_state {
	AP_HTTP_IN_IDLE,
	AP_HTTP_IN_HEAD,
	AP_HTTP_IN_ADMIT,
	AP_HTTP_IN_BODY,
	AP_HTTP_IN_DONE
};

/* ap_http_in_body_length() of a chunked body: its length is not announced. */
#define AP_HTTP_LENGTH_CHUNKED UINT64_MAX

struct ap_http_in;

/* A parser of requests (a server's) or of responses (a client's; it must
 * not send HEAD: the answer announces a body it does not carry, and would
 * be framed as if it did).  NULL when out of memory. */
struct ap_http_in *ap_http_in_new(enum ap_http_kind kind, const struct ap_http_limits *lim);
void ap_http_in_free(struct ap_http_in *h);
/* Parses as much of data as makes up the current message.  *consumed
 * says how many bytes were used (the rest belongs to the next message).
 * Returns 0 (need more, or done: see ap_http_in_state()), or an HTTP status
 * (sticky) that says why the stream is unusable, for a server to answer
 * before closing: 400 malformed, 413 body too large, 431 head too large,
 * 503 out of memory. */
int ap_http_in_feed(struct ap_http_in *h, const char *data, size_t len, size_t *consumed);
enum ap_http_in_state ap_http_in_state(const struct ap_http_in *h);
/* The complete message (valid until ap_http_in_next()); in AP_HTTP_IN_ADMIT,
 * its head with an empty body. */
struct ap_http_msg *ap_http_in_message(struct ap_http_in *h);
/* In AP_HTTP_IN_ADMIT: the body length the head announced, or
 * AP_HTTP_LENGTH_CHUNKED. */
uint64_t ap_http_in_body_length(const struct ap_http_in *h);
/* In AP_HTTP_IN_ADMIT: lets parsing go on with a body of at most limit bytes
 * (capped by max_body_bytes).  Returns 0, or 413 when the announced length
 * is over limit (a chunked body over it gets 413 from ap_http_in_feed()). */
int ap_http_in_admit(struct ap_http_in *h, size_t limit);
/* Forgets the current message to parse the next one on the connection. */
void ap_http_in_next(struct ap_http_in *h);

/* Case-insensitive header lookup in a request or a response; NULL when
 * absent. */
const char *ap_http_header(const struct ap_http_msg *r, const char *name);
/* Value of query parameter `name` copied into out (URL-decoded);
 * 0 when present, AP_ENOTFOUND otherwise. */
int ap_http_query(const struct ap_http_msg *r, const char *name, char *out, size_t cap);

struct ap_http_resp {
	int status;
	const char *content_type; /* static string; NULL = no body type */
	struct ap_buf body;
	char extra[512]; /* extra header lines, each ending in \r\n */
	int close;	 /* close the connection after this answer */
	int head;	 /* HEAD: the headers of the GET answer, no body */
	/* borrowed header lines, each ending in \r\n, written before extra
	 * (what a server sends on every answer); NULL: none */
	const char *fixed;
};

void ap_http_resp_init(struct ap_http_resp *r, size_t body_limit);
void ap_http_resp_free(struct ap_http_resp *r);
void ap_http_resp_add_header(struct ap_http_resp *r, const char *name, const char *value);
/* Status line + headers + body into out (a 304 has neither body nor
 * Content-Length: that would be the length of the 200 it stands for). */
int ap_http_resp_serialize(const struct ap_http_resp *r, int keep_alive, struct ap_buf *out);
/* The reason phrase of status ("Not Found"), "Unknown" when not listed. */
const char *ap_http_reason(int status);

/* A request a client sends; all borrowed. */
struct ap_http_out_req {
	const char *method, *path; /* path with its query string */
	const char *host;	   /* Host header value, "name:port" */
	const char *user_agent;
	const char *content_type; /* NULL: no Content-Type */
	const char *headers;	  /* extra header lines, each ending in \r\n; NULL: none */
	const void *body;
	size_t len;
};

/* Request line + headers (Content-Length always) + body appended to out. */
int ap_http_req_serialize(const struct ap_http_out_req *r, struct ap_buf *out);

#endif
