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

#include <plist/plist.h>

struct req;
struct worker;
struct cmdq_result;

/* DeviceLocation result (a cmdq_on_result() hook): stored for the
 * tablet's active request, or dropped (and logged) when there is none any
 * more. */
int locate_on_fix(struct worker *w, const struct cmdq_result *res);
/* Periodic jobs: expire approved requests past their time box; purge
 * coordinates past retention. */
int locate_job_expire(struct worker *w);
int locate_job_purge(struct worker *w);

#endif
