/*
 * api.h - helpers every handler uses to answer, and the handler tables.
 *
 * Handlers have the signature void fn(struct req *r) and answer through
 * api_json() / api_fail() (api_reply.h); a handler that writes nothing
 * answers 500.
 */
#ifndef API_H
#define API_H

#include <jansson.h>

#include "api_reply.h"
#include "router.h"

/* Max JSON body accepted from staff (smaller than device bodies). */
#define API_MAX_JSON (1u << 20)

/* Parses the request body as a JSON object; answers 400 itself and
 * returns NULL when it is not one. */
json_t *api_body(struct req *r);
/* Authorises, answering 401/403 itself; returns 0 when allowed.  The
 * refusal does not name the collège. */
int api_allow(struct req *r, int action, const char *school);
/* Authorises action on an object a lookup found (found 0; school its
 * collège, NULL or "" for none) or not (found AP_ENOTFOUND; another
 * negative found answers 503).  The object is described by fmt, e.g.
 * "tablet with serial %s".  A role that may not do the action at all gets
 * 403 (401 without an account); otherwise an unknown object and one of a
 * collège outside the caller's scope answer alike, 404 "no <what> in your
 * collèges" (just "no <what>" for fleet-wide roles): a scoped account
 * learns neither whether it exists nor where.  0 when allowed. */
int api_allow_object(struct req *r, int action, int found, const char *school, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends an audit row for this request's account, in the caller's
 * transaction when one is open (else its own).  detail (may be NULL):
 * reference stolen, like api_json().  For rows that record no stored
 * change (a secret shown, a push asked): the caller checks the result and
 * does not go on without the row.  A change writes its row with
 * api_fleet_commit() (api_fleet.h), in the change's transaction. */
int api_audit(struct req *r, const char *action, const char *target, const char *reason,
	      json_t *detail);
struct db_mdm_device;
/* The tablet named by the path's first parameter (its serial), authorised
 * for action on its collège (api_allow_object()); answers itself on
 * failure. */
int api_tablet(struct req *r, int action, struct db_mdm_device *d);
/* The same for the tablet of serial. */
int api_tablet_serial(struct req *r, int action, const char *serial, struct db_mdm_device *d);
/* Path parameter i (0-based), or "" */
const char *api_param(const struct req *r, size_t i);
/* Query parameter into out; 0 when present. */
int api_query(const struct req *r, const char *name, char *out, size_t cap);

/* Route handlers of the foundation. */
void api_healthz(struct req *r);
void api_whoami(struct req *r);

#endif
