/*
 * router.h - the route table and the request context handlers receive.
 *
 * Every route names who may call it (auth kind); router_dispatch() does
 * authentication before calling the handler, so no handler sees an
 * unauthenticated staff request.  Role/scope decisions are made by
 * authz_check() (authz.h), the one authorisation function.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "db_account.h"
#include "ap_http.h"

struct worker;

struct req {
	struct worker *w;
	struct ap_http_msg *http;
	struct ap_http_resp *resp;
	const char *id;	  /* request id for logs */
	const char *peer; /* "ip:port" */
	/* staff routes: the caller */
	struct db_account acct;
	int has_acct;
	/* device routes: the TLS client certificate, if any */
	X509 *peer_cert;	     /* borrowed */
	const char *peer_fp;	     /* its SHA-256 in hex (NULL: compute it) */
	STACK_OF(X509) * peer_chain; /* borrowed: the certificates sent with it */
	int peer_verified;	     /* -1 until mdm asks, then 1 when it chains
				      * to a device CA */
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
};

/* Each API module exports one table, terminated by a {NULL} row, and is
 * listed once in router.c. */
extern const struct route api_core_routes[];
extern const struct route mdm_routes[];
extern const struct route api_command_routes[];
extern const struct route api_school_routes[];
extern const struct route api_device_routes[];
extern const struct route api_person_routes[];
extern const struct route api_loan_routes[];
extern const struct route api_incident_routes[];
extern const struct route api_account_routes[];
extern const struct route api_audit_routes[];
extern const struct route api_report_routes[];
extern const struct route api_lock_routes[];
extern const struct route api_locate_routes[];
extern const struct route api_policy_routes[];
extern const struct route api_push_routes[];

/* Authenticates the bearer token into r->acct; on failure answers 401
 * and returns AP_EAUTH.  Routes marked AUTH_STAFF get it done for them. */
int router_staff_auth(struct req *r);

/* Routes the request, writes the answer into resp.  A staff route whose
 * caller router_admit() authenticated (r->has_acct) is not checked again. */
void router_dispatch(struct req *r);

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
