/*
 * router.h - routing a request to its handler (req.h has the request and
 * the route a handler sees).
 *
 * Every route names who may call it (auth kind); router_dispatch() does
 * authentication before calling the handler, so no handler sees an
 * unauthenticated staff request.  Role/scope decisions are made by
 * authz_check() (authz.h), the one authorisation function.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include "req.h"

/* Routes the request, writes the answer into resp.  A staff route whose
 * caller router_admit() authenticated (r->has_acct) is not checked again.
 * 0, or AP_EBUSY when r->enter put the request off: nothing ran, no
 * answer is written, the caller hands it over again later. */
int router_dispatch(struct req *r);

/* What the body of a request may be, decided from its head alone. */
struct router_admission {
	size_t limit;	 /* bytes the body may have */
	size_t reserved; /* bytes taken from the process's body budget */
	int anonymous;	 /* charged to the unauthenticated part of it */
};
/* Decides from the head (route, bearer token, TLS client certificate)
 * before any body byte is read, announced being the Content-Length or
 * AP_HTTP_LENGTH_CHUNKED: staff routes authenticate now (r->acct filled);
 * tablets get their message limit; the rest [server] max_anon_body_bytes.
 * The body's bytes are then reserved (quota_body_give() them back).
 * Returns 0 and fills *ret, or answers into r->resp (401 bad token, 413
 * over the limit, 503 budget spent, with Retry-After) and returns AP_E*. */
int router_admit(struct req *r, uint64_t announced, struct router_admission *ret);

#endif
