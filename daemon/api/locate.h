/*
 * locate.h - the exceptional geolocation procedure (Lost Mode).
 *
 * Only for a tablet with an open loss/theft incident or on the written
 * request of the authorities; asked by a technician, approved by a second
 * one (config [geolocation] approval = two-person) or at once (single),
 * time-boxed (expiry_hours), every fix sealed at rest and purged
 * retention_days after the request ends; every request and every read is
 * in the register and the audit log.
 */
#ifndef LOCATE_H
#define LOCATE_H

#include <jansson.h>
#include <plist/plist.h>

struct req;
struct worker;
struct cmdq_result;

struct db_incident;
/* The loss or theft `in` was just closed as found: the geolocation
 * requests tied to it end through their own transitions (pending ->
 * denied, approved or expired -> closed "found", the fixes then purged
 * after [geolocation] retention_days), each with its audit row, and Lost
 * Mode ends (DisableLostMode queued when it is on or its EnableLostMode is
 * pending).  Runs in the caller's transaction (api_begin() done); answers
 * nothing.  Adds to answer "geolocation" (the requests and their new
 * state), "lost_mode" ("off", "ending": DisableLostMode queued or already
 * pending, "on": it could not be queued) and "still_open" (English
 * sentences, what is not over yet).  0 or a storage error. */
int locate_end_for_incident(struct req *r, const struct db_incident *in, json_t *answer);

/* DeviceLocation result (a cmdq_on_result() hook): stored for the
 * tablet's active request, or dropped (and logged) when there is none any
 * more. */
int locate_on_fix(struct worker *w, const struct cmdq_result *res);
/* Periodic jobs: expire approved requests past their time box; purge
 * coordinates past retention. */
int locate_job_expire(struct worker *w);
int locate_job_purge(struct worker *w);

#endif
