/*
 * httpsget.h - one HTTPS GET through libcurl, its answer capped: what the
 * daemon fetches from a public service (Apple's update catalogue,
 * gdmf_sync.h).
 *
 * Blocks (connection, TLS, the transfer): call it off the event loops (a
 * libuv work thread).  https only, no redirect followed, the system's
 * trust anchors plus an optional PEM file of extra ones.  Nothing here
 * logs; the errors written into err may be logged.
 */
#ifndef HTTPSGET_H
#define HTTPSGET_H

#include <stdatomic.h>
#include <stddef.h>

struct httpsget_req {
	const char *url;	/* https://... */
	const char *ca;		/* extra trust anchors (PEM file); NULL or "" = none */
	size_t max_bytes;	/* the longest answer body accepted */
	long timeout_s;		/* the whole transfer; connecting: at most 10 s of it */
	const char *user_agent; /* NULL: libcurl's none */
	const atomic_int *stop; /* when it becomes non-zero the transfer gives up; NULL ok */
};

/* The answer, whatever its status. */
struct httpsget_res {
	long status;	  /* HTTP status */
	long retry_after; /* Retry-After in seconds (a date: from now), 0 when none */
	char *body;	  /* malloc'd, NUL-terminated (not counted in len); the caller frees */
	size_t len;
};

/* 0 with the answer in *ret (any HTTP status), else AP_EIO (no answer:
 * connection, TLS, a transfer cut, stopped), AP_ETOOBIG (the body passes
 * max_bytes), AP_ECONFIG (ca cannot be read), AP_ENOMEM; why into err (cap
 * bytes). */
int httpsget(const struct httpsget_req *q, struct httpsget_res *ret, char *err, size_t cap);

#endif
