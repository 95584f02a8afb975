/*
 * api.h - the one way to write a staff handler: answer, read the body's
 * fields, authorise, and make a change with its audit row.
 *
 * Handlers have the signature void fn(struct req *r) and answer through
 * api_json() / api_fail() (api_reply.h); a handler that writes nothing
 * answers 500.
 * Functions here that take a struct req and return int answer the request
 * themselves when they fail (a 4xx/5xx JSON error): the handler just
 * returns.  A staff action is
 *
 *	api_begin(r); <the change>; api_commit(r, action, target, reason, detail);
 *
 * (api_rollback() and an answer when the change fails): the audit row is
 * written in the change's transaction, and no change stays without it.
 * An action that stores nothing here, or commits in parts on its own (a
 * secret or a register shown, a job run), writes its row with
 * api_record() before it goes on.
 *
 * This module is a leaf of the daemon: it includes no handler module.
 */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api_reply.h"
#include "req.h"

/* Max JSON body accepted from staff (smaller than device bodies). */
#define API_MAX_JSON (1u << 20)

/* The most bytes of a free-text field staff write: a reason, a note, a
 * reference (one line, see api_field_str()). */
#define API_REASON_MAX 512

/* ---- answering ---------------------------------------------------------- */

/* Answers a refusal (api_fail()) and returns err, so that rule checks
 * read `return api_refuse(...)`. */
int api_refuse(struct req *r, int err, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers a storage error met while doing `what` (503 when the store is
 * busy, else 500); returns rc. */
int api_dberr(struct req *r, int rc, const char *what);

/* ---- the body and its fields -------------------------------------------- */

/* Authenticates the caller into r->acct; on failure answers 401 (503
 * when the store cannot say) and returns the error.  Two ways in: the
 * bearer token of scripts (Authorization: Bearer ard_...), or, without an
 * Authorization header, the pages' session cookie (API_SESSION_COOKIE;
 * see api_session_of()), with which any method but GET and HEAD must also
 * carry the session's CSRF token in X-CSRF-Token (403 otherwise).  Routes
 * marked AUTH_STAFF get it done by the router; a route open to anyone
 * calls it when a token comes. */
int api_authenticate(struct req *r);

/* ---- the pages' sessions ------------------------------------------------ */

#define API_SESSION_COOKIE "ardoise_session"

struct db_session;
/* The session named by the request's cookie when the request carries no
 * Authorization header (a page's request, not a script's): 0 with the
 * session in *ret and its id (DB_SESSION_ID_LEN + 1 bytes) in ret_sid;
 * AP_EAUTH when there is none, or it is past its idle or absolute expiry
 * ([web] session_idle_seconds, session_max_seconds: it is then deleted);
 * another negative code when the store fails.  Answers nothing. */
int api_session_of(struct req *r, struct db_session *ret, char *ret_sid);
/* Adds the Set-Cookie header that gives the browser session id sid, or
 * (sid NULL) that clears its cookie. */
void api_session_cookie(struct req *r, const char *sid);

/* Parses the request body as a JSON object; answers 400 itself and
 * returns NULL when it is not one. */
json_t *api_body(struct req *r);
/* String member `key` of body: *ret NULL when absent or null (400 when
 * required, and when required and empty); 400 when not a string, longer
 * than max bytes, not valid UTF-8 or holding control characters (C0 with
 * tab and line breaks, DEL, C1): one line of text (ap_text_ok()).  *ret
 * borrows from body. */
int api_field_str(struct req *r, json_t *body, const char *key, size_t max, int required,
		  const char **ret);
/* The same for text shown on several lines: line feeds are allowed. */
int api_field_lines(struct req *r, json_t *body, const char *key, size_t max, int required,
		    const char **ret);
/* Array member of at most max_n such strings (line feeds allowed when
 * lines): *ret_n 0 when absent or null; 400 when not an array, longer, or
 * an element is not such a string.  ret[] (max_n slots) borrows from
 * body. */
int api_field_strs(struct req *r, json_t *body, const char *key, size_t max_n, size_t max,
		   int lines, const char **ret, size_t *ret_n);
/* Integer member from min to max (INT64_MAX: no bound): *ret untouched
 * when absent or null (400 when required); 400 "KEY must be a whole number
 * from MIN to MAX" otherwise. */
int api_field_int(struct req *r, json_t *body, const char *key, int64_t min, int64_t max,
		  int required, int64_t *ret);
/* Boolean member (absent or null: 0). */
int api_field_bool(struct req *r, json_t *body, const char *key, int *ret);
/* String member that is one of names (NULL-terminated): *ret its index,
 * untouched when absent or null (400 when required); 400 naming the
 * choices otherwise. */
int api_field_enum(struct req *r, json_t *body, const char *key, const char *const *names,
		   int required, int *ret);
/* Day member "YYYY-MM-DD" (*ret 0 when absent and not required). */
int api_field_day(struct req *r, json_t *body, const char *key, int required, int64_t *ret);

/* ---- the path and the query --------------------------------------------- */

/* Path parameter i (0-based), or "" */
const char *api_param(const struct req *r, size_t i);
/* Query parameter into out; 0 when present. */
int api_query(const struct req *r, const char *name, char *out, size_t cap);

/* ---- authorisation ------------------------------------------------------ */

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
struct db_device;
/* The tablet named by the path's first parameter (its serial), authorised
 * for action on its collège (api_allow_object()); answers itself on
 * failure. */
int api_tablet(struct req *r, int action, struct db_device *d);
/* The same for the tablet of serial, or of the asset tag serial names
 * when no tablet has that serial (api_device_resolve()). */
int api_tablet_serial(struct req *r, int action, const char *serial, struct db_device *d);
/* The one place a name that is no serial is tried as an asset tag (what
 * staff read on the tablet's label): among the tablets of the caller's
 * collèges (for action) with that tag, case aside, the serial (or UDID) of
 * the only one into out.  AP_ENOTFOUND when none (not answered);
 * AP_ECONFLICT, answered 409 with the tablets listed, when several. */
int api_device_resolve(struct req *r, int action, const char *name, char *out, size_t cap);

/* ---- a change and its audit row ----------------------------------------- */

/* Opens the write transaction of a change (503 when the store is busy). */
int api_begin(struct req *r);
/* Appends this request's audit row (its account, "system" without one)
 * and commits; on failure rolls back and answers (api_dberr()).  reason
 * and detail may be NULL; detail is not consumed. */
int api_commit(struct req *r, const char *action, const char *target, const char *reason,
	       json_t *detail);
/* The same with detail (may be NULL) stolen, like api_json(). */
int api_commit_new(struct req *r, const char *action, const char *target, const char *reason,
		   json_t *detail);
/* Commits a change whose audit rows the store wrote itself, in the same
 * transaction (db_ddm.h's staff changes): no row is appended here.  On
 * failure answers (api_dberr()), as api_commit(). */
int api_commit_plain(struct req *r);
/* Rolls back the transaction of api_begin(). */
void api_rollback(struct req *r);
struct cmd_order;
/* Queues the command o in the change's transaction (api_begin() done):
 * its UUID into uuid.  On failure rolls back and answers (the queue's
 * reason, after "what: " when what is not NULL), and returns the error. */
int api_queue(struct req *r, const struct cmd_order *o, const char *what, char uuid[37]);
/* api_begin() then api_commit_new(): the row of an action that stores
 * nothing here, written before it goes on (the caller shows nothing and
 * runs nothing when this fails: it has answered). */
int api_record(struct req *r, const char *action, const char *target, const char *reason,
	       json_t *detail);

#endif
