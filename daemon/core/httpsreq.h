/*
 * httpsreq.h - one HTTPS request through libcurl, its answer capped: what
 * the daemon asks of Apple's services (the update catalogue, gdmf_sync.h;
 * Automated Device Enrolment; Apps and Books).
 *
 * Blocks (connection, TLS, the transfer): call it off the event loops (a
 * libuv work thread).  https only, no redirect followed, the system's
 * trust anchors plus an optional PEM file of extra ones.  A connection
 * (struct httpsreq_conn) may be kept between calls of one thread, so that
 * a fetch of many pages pays one TLS handshake.  Nothing here logs; the
 * errors written into err may be logged.
 */
#ifndef HTTPSREQ_H
#define HTTPSREQ_H

#include <stdatomic.h>
#include <stddef.h>

/* A kept connection: one thread at a time. */
struct httpsreq_conn;

struct httpsreq_req {
	const char *url;	/* https://... */
	const char *ca;		/* extra trust anchors (PEM file); NULL or "" = none */
	size_t max_bytes;	/* the longest answer body accepted */
	long timeout_s;		/* the whole transfer; connecting: at most 10 s of it */
	const char *user_agent; /* NULL: libcurl's none */
	const atomic_int *stop; /* when it becomes non-zero the transfer gives up; NULL ok */
	/* the rest may be left zero: a GET */
	const char *method;	    /* NULL: GET (POST when body is set); "PUT", "DELETE"... */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; NULL: none */
	const void *body;	    /* sent as is (Content-Length), NULL: none */
	size_t body_len;
	const char *want_header;    /* an answer header to keep ("X-ADM-Auth-Session"), or NULL */
	struct httpsreq_conn *conn; /* NULL: a connection for this call only */
};

#define HTTPSREQ_HEADER_MAX 4096

/* The answer, whatever its status. */
struct httpsreq_res {
	long status;	  /* HTTP status */
	long retry_after; /* Retry-After in seconds (a date: from now), 0 when none */
	char *body;	  /* malloc'd, NUL-terminated (not counted in len); the caller frees */
	size_t len;
	char header[HTTPSREQ_HEADER_MAX]; /* want_header's value, trimmed; "" when absent */
};

/* 0 with the answer in *ret (any HTTP status), else AP_EIO (no answer:
 * connection, TLS, a transfer cut, stopped), AP_ETOOBIG (the body passes
 * max_bytes), AP_ECONFIG (ca cannot be read), AP_ENOMEM; why into err (cap
 * bytes). */
int httpsreq(const struct httpsreq_req *q, struct httpsreq_res *ret, char *err, size_t cap);

/* A connection to keep between calls (NULL: out of memory); freed with
 * httpsreq_conn_free (NULL ok). */
struct httpsreq_conn *httpsreq_conn_new(void);
void httpsreq_conn_free(struct httpsreq_conn *c);

#endif
