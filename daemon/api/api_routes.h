/*
 * api_routes.h - the staff route tables: each api_*.c module exports one,
 * terminated by a {NULL} row, listed once in router.c.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include "req.h"

extern const struct route api_core_routes[];
extern const struct route api_backup_routes[];
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
extern const struct route api_session_routes[];
extern const struct route api_dashboard_routes[];
extern const struct route api_notice_routes[];
extern const struct route api_update_routes[];
extern const struct route api_update_plan_routes[];
extern const struct route api_ddm_routes[];
extern const struct route api_ade_routes[];
extern const struct route api_vpp_routes[];
extern const struct route api_metrics_routes[];

/* Closes the connection GET /metrics refreshes its cache with; once the
 * loops have ended (no refresh runs then). */
void api_metrics_end(void);

#endif
