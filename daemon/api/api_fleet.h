/*
 * api_fleet.h - what the fleet handlers (api_school.c ... api_report.c)
 * share: collège parameters and list scopes, pages, long lists written
 * straight into the answer, dates in JSON, CSV imports (on top of api.h,
 * the helpers every staff handler uses).
 *
 * Functions that take a struct req and return int answer the request
 * themselves when they fail (a 4xx/5xx JSON error): the handler just
 * returns.
 */
#ifndef API_FLEET_H
#define API_FLEET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_buf.h"
#include "api.h"
#include "authz.h"
#include "db_account.h"
#include "import.h"
#include "req.h"

/* The collèges a list covers: one named by ?school=, or the account's
 * whole view (only NULL: the whole fleet). */
struct api_scope {
	char uai[9];
	const char *list[DB_ACCOUNT_MAX_SCHOOLS];
	const char *const *only;
	size_t n_only;
};

/* Normalises a UAI given by staff; 400 with the reason when it is bad. */
int api_fleet_uai(struct req *r, const char *in, char out[9]);
/* Why `in` is not a UAI (rc from db_school_uai_norm) into buf. */
void api_fleet_uai_why(const char *in, int rc, char *buf, size_t cap);
/* Resolves and authorises (action) the scope of a list from ?school=. */
int api_fleet_scope(struct req *r, enum authz_action action, struct api_scope *sc);
/* The account's whole view, without ?school= nor authorisation: what a
 * record's history is narrowed to (the loans and incidents of a tablet or
 * a person recorded in the caller's collèges). */
void api_fleet_view(const struct req *r, struct api_scope *sc);
/* ?after=ID and ?limit=N (default def, at most max). */
int api_fleet_page(struct req *r, size_t def, size_t max, int64_t *ret_after, size_t *ret_limit);
/* 1 when query parameter name is "1", "true" or "yes". */
int api_fleet_flag(const struct req *r, const char *name);
/* ?name=YYYY-MM-DD into *ret (0 when absent); 400 when malformed. */
int api_fleet_query_day(struct req *r, const char *name, int64_t *ret);

/* Writing JSON straight into a buffer, for long lists (building jansson
 * objects costs more than the query).  Each returns 0 or AP_ETOOBIG. */
/* s as a JSON string: quoted, escaped (control characters, DEL and C1
 * included, as \u00XX), invalid UTF-8 bytes as U+FFFD; NULL or "" (when
 * empty_null) as null. */
int api_fleet_jstr(struct ap_buf *b, const char *s, int empty_null);
/* t in the server's zone with its offset, "YYYY-MM-DDTHH:MM:SS+01:00"
 * (isodate_format_time()), or null when t is 0. */
int api_fleet_jtime(struct ap_buf *b, int64_t t);
/* A long list written straight into the answer: begin writes
 * {"next":<room>,"KEY":[\n, the caller appends the elements to
 * r->resp->body separated by ",\n", end closes with \n]}\n and writes the
 * cursor (or null) into the room, blank-padded, and answers 200.  The CLI
 * relies on this shape to join pages without parsing them. */
int api_fleet_list_begin(struct req *r, const char *key);
void api_fleet_list_end(struct req *r, int64_t next);

/* The one way the API writes a day ("YYYY-MM-DD", the local day of t) and
 * a time (as api_fleet_jtime()): a JSON string, null when t is 0. */
json_t *api_fleet_day(int64_t t);
json_t *api_fleet_time(int64_t t);

/* A CSV import: the handler's row function validates one row and writes it
 * (inside the import's transaction), reporting problems with
 * import_error(); it returns 0, or a negative code for a storage failure
 * that aborts the import. */
struct api_import {
	const char *action; /* audit action, e.g. "device.import" */
	const struct import_col *cols;
	size_t n_cols;
	int (*row)(struct req *r, struct import *im, const char **vals, size_t line, void *ctx);
	void *ctx;
	size_t added, updated, unchanged; /* counted by row() */
};

/* What a row() returns after putting its record: rc when it failed, else
 * 0 with the record counted by `what`, an enum db_put (store.h): added
 * (created), updated, or unchanged. */
int api_import_counted(struct api_import *spec, int rc, int what);

/* Runs an import of the text/csv body: all rows or none.  Answers 200
 * with the report, or 422 with it when a row is bad.  ?dry_run=1 is the
 * preview: the same checks and writes in a transaction rolled back, so
 * nothing is written (no audit row either), answered 200 with the report
 * and "would_create", "would_update", "unchanged", every bad line in
 * "errors" (422 only when the file cannot be read at all). */
void api_fleet_import(struct req *r, struct api_import *spec);

/* JSON of the fleet records, shared by the handlers that show them
 * (each defined in the module of its noun: api_device.c shows a tablet's
 * loans and incidents, so api_loan.c and api_incident.c use nothing of
 * api_device.c).  New references. */
struct db_device;
struct db_loan;
struct db_incident;
json_t *api_device_json(const struct db_device *d);
json_t *api_loan_json(const struct db_loan *l);
json_t *api_incident_json(const struct db_incident *in);
/* The name staff know a device by: its serial, else its UDID
 * (api_fleet.c, like api_device_find()). */
const char *api_device_name(const struct db_device *d);
/* Queues d's EraseDevice (api_loan.c), with Return to Service (and the
 * enrolment profile, with a fresh one-use code bound to this tablet's
 * serial, as MDMProfileData, sealed until sent) when
 * the tablet runs iPadOS 17 or later so it comes back enrolled; *ret_rts
 * says which.  Runs in the caller's transaction; detail says why not. */
int api_queue_erase(struct req *r, const struct db_device *d, const char *origin, char uuid[37],
		    int *ret_rts, char *detail, size_t cap);
/* EraseDevice acknowledged (a cmdq_on_result() hook, api_loan.c): a
 * returned tablet's loan ends and the tablet goes back to stock
 * (db_loan_erase_acknowledged()). */
struct worker;
struct cmdq_result;
int api_loan_on_erase(struct worker *w, const struct cmdq_result *res);
/* Finds the device named by serial or UDID, else by its asset tag
 * (api_device_resolve()), (api_fleet.c: the loan and incident handlers use
 * it too) and authorises action on its collège: an unknown tablet and one
 * outside the caller's collèges answer alike (api_allow_object()). */
int api_device_find(struct req *r, int action, const char *name, struct db_device *ret);

/* Declarative device management, shared by api_ddm.c (declarations) and
 * api_update_plan.c (update plans); in api_ddm.c. */
struct ddm_stats;
/* ddm_recompute()'s outcome as JSON ({"error"} when rc < 0). */
json_t *api_ddm_stats_json(int rc, const struct ddm_stats *st);
/* After the change's commit: recomputes the tablets a scope's change may
 * touch (fleet, the collège of a school or group scope, the tablet of a
 * device scope) and pushes the changed ones; the outcome as JSON. */
json_t *api_ddm_recompute(struct req *r, const char *scope, const char *reason);
/* Parses a scope given by staff into its canonical text (canon:
 * POL_SCOPE_TEXT octets); 400 when it is not one, 404 for a collège or a
 * tablet that does not exist (a group is not checked: any name may be
 * one). */
int api_ddm_scope(struct req *r, const char *text, char *canon);
/* The scope a POST or DELETE names: ?scope= when there is no body, else
 * the body's "scope" (at most cap - 2 octets); *body is the parsed body
 * (json_decref() it; NULL when none).  -1 when answered (400). */
int api_ddm_scope_arg(struct req *r, char *q, size_t cap, json_t **body, const char **scope);
/* Where the enrolled tablets of the collèges only[0..n_only) (NULL: the
 * fleet) stand against their update plans (api_update_plan.c):
 * {"schools": [per collège], "fleet": totals, "plans": [...]}; NULL with
 * the store's error in *ret_rc (nothing answered). */
json_t *api_update_figures(struct req *r, const char *const *only, size_t n_only, int *ret_rc);

#endif
