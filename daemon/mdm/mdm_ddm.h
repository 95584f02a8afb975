/*
 * mdm_ddm.h - the DeclarativeManagement check-in (MessageType
 * DeclarativeManagement, Endpoint, Data) of an enrolled tablet whose
 * identity mdm.c checked: tokens, declaration-items,
 * declaration/<kind>/<identifier> and status.
 *
 * Each check-in marks DDM enabled on the tablet (db_ddm_enable, kept
 * when set): a tablet that asks has it on, even if the result of its
 * DeclarativeManagement command was not seen yet.  The tokens and the
 * declaration items are computed from the tablet's set as it is now
 * (db_ddm_sets_device, ddm_device_token), so that they always agree with
 * the declarations it is served; fetching them stamps synced_at.  A
 * declaration is answered only when it is in THAT tablet's set (404
 * otherwise: removed, not assigned to it, or filtered out by its models).
 * A status report is parsed (ap_ddm_status_parse) and applied in one
 * transaction (db_ddm_status_apply): management.declarations goes to the
 * tablet's declarations' state, the other items to its items; a
 * FullReport replaces what was stored, an incremental one upserts (an
 * array item merged with the stored one, ap_ddm_status_array_apply).
 * The answer is 200 with no body.  Bad input: 400 with the reason.
 */
#ifndef MDM_DDM_H
#define MDM_DDM_H

#include "req.h"

struct ap_checkin;
struct db_device;

void mdm_ddm_checkin(struct req *r, const struct ap_checkin *ci, const struct db_device *d);

#endif
