/*
 * req.h - a request as its handler sees it, and a route: what every
 * handler module includes (router.h is the router's own, for conn.c and
 * the tables' list).
 */
#ifndef REQ_H
#define REQ_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_http.h"
#include "db_account.h"

struct worker;
struct req;
struct ap_cms_signer_cache;

/* An answer promised for later (conn.c): a handler whose work runs on a
 * work thread takes one with r->later(r) (NULL when out of memory: answer
 * now), answers nothing now, and the connection reads no further request
 * until l->answer(l, resp, fd, size), called from the worker's loop (the
 * work's after-callback): resp; with fd >= 0, resp's headers then the
 * first size bytes of fd, sent in chunks as the peer reads them (never
 * read whole), fd closed when sent.  answer frees l; when the connection
 * closed meanwhile it only closes fd. */
struct req_later {
	void (*answer)(struct req_later *l, struct ap_http_resp *resp, int fd, uint64_t size);
};

struct req {
	struct worker *w;
	struct ap_http_msg *http;
	struct ap_http_resp *resp;
	const char *id;				   /* request id for logs */
	const char *peer;			   /* "ip:port" */
	struct req_later *(*later)(struct req *r); /* see struct req_later */
	void *conn;				   /* the connection, for later() */
	/* called by the router once the route is known, before anything of
	 * the request runs: grouped is 1 for a ROUTE_GROUPED route.  AP_EBUSY:
	 * the request is put off (nothing of it ran, router_dispatch() says
	 * so); 0: it runs now */
	int (*enter)(struct req *r, int grouped);
	/* the pattern of the route the path matched ("/api/v1/people/:id"),
	 * NULL when none: what the log shows instead of the path, which may
	 * hold a person's id */
	const char *route;
	/* staff routes: the caller */
	struct db_account acct;
	int has_acct;
	/* device routes: the TLS client certificate, if any */
	X509 *peer_cert;	     /* borrowed */
	const char *peer_fp;	     /* its SHA-256 in hex (NULL: compute it) */
	STACK_OF(X509) * peer_chain; /* borrowed: the certificates sent with it */
	int peer_verified;	     /* -1 until mdm asks, then 1 when it chains
				      * to a device CA */
	/* the connection's last Mdm-Signature signer (ap_cms.h), so a kept-alive
	 * tablet's certificate is parsed once; the connection owns it, NULL:
	 * none (mdm.c then verifies with a cache of the request's own) */
	struct ap_cms_signer_cache *sig_cache;
	/* path parameters: what followed the route's prefix, split on '/' */
	const char *params[4];
	size_t n_params;
	char param_buf[512];
};

enum route_auth {
	AUTH_NONE,  /* anyone (health, SCEP, enrolment with a code) */
	AUTH_STAFF, /* bearer token required; the handler then calls api_allow() */
	AUTH_DEVICE /* device identity checked by the handler (certificate/UDID) */
};

struct route {
	const char *method;
	const char *pattern; /* segments; ":name" matches one, "*" the rest */
	enum route_auth auth;
	void (*fn)(struct req *r);
	/* NULL, or 0 for a path the pattern matches but the route leaves to
	 * the others (the pages' catch-all leaves /api/... to the JSON 404) */
	int (*takes)(const char *path);
	/* ROUTE_GROUPED: the tablets' device routes (conn.c's group commit):
	 * the request's writes join its loop's group and its answer is held
	 * until the group committed */
	unsigned flags;
};
#define ROUTE_GROUPED 1u

#endif
