/*
 * sim_cmd.h - what the simulated iPad does with a command: sim_cmd_answer()
 * (its one entry, over sim_device.h) and, for the handlers of sim_cmd.c and
 * sim_cmd_info.c, their table and helpers.
 */
#ifndef SIM_CMD_H
#define SIM_CMD_H

#include "sim_device.h"
#include "sim_plist.h"

#include <plist/plist.h>

/* Report outcomes a handler returns (or a negative AP_E* code). */
#define SIM_ACK	  AP_STATUS_ACKNOWLEDGED
#define SIM_ERROR AP_STATUS_ERROR

/*
 * One command type.  run() executes cmd (the Command dictionary, already
 * checked against ap_cmd's table) on d, adds its result keys (or an
 * ErrorChain through sim_cmd_fail()) to report, and returns SIM_ACK or
 * SIM_ERROR.  while_locked: the iPad runs it even when data-protection
 * locked (others get NotNow).
 */
struct sim_cmd {
	enum ap_cmd_type type;
	int while_locked;
	int (*run)(struct sim_device *d, plist_t cmd, plist_t report);
};

/* The handler of t (every type of ap_cmd.h has one); NULL out of range. */
const struct sim_cmd *sim_cmd_find(enum ap_cmd_type t);

/* Errors the simulated iPad reports, each with its ErrorCode, domain and
 * descriptions (French as LocalizedDescription, English). */
enum sim_cmd_err {
	SIM_ERR_NOT_LOST,
	SIM_ERR_UNLOCK_TOKEN,
	SIM_ERR_PROFILE_MALFORMED,
	SIM_ERR_PROFILE_SIGNATURE,
	SIM_ERR_PROFILE_ABSENT,
	SIM_ERR_MDM_PROFILE,
	SIM_ERR_APP_ABSENT,
	SIM_ERR_FULL,
	SIM_ERR_UNKNOWN_COMMAND,
	SIM_ERR_BAD_PARAMETERS,
};
/* Adds ErrorChain [e] to report; returns SIM_ERROR (or AP_ENOMEM). */
int sim_cmd_fail(plist_t report, enum sim_cmd_err e);

/* Inventory handlers (sim_cmd_info.c). */
int sim_cmd_device_information(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_security_info(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_installed_apps(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_managed_apps(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_profile_list(struct sim_device *d, plist_t cmd, plist_t report);

/*
 * Executes the command plist cmd[0..len) and builds the report the iPad
 * sends back (*ret_xml malloc'd).  Sets d->last_status, d->last_type,
 * d->end_session, and d->dirty when the state changed.
 *   - RequestType unknown, Command missing, or parameters that do not
 *     fit the command table: CommandFormatError;
 *   - d->locked: NotNow, except for what a locked iPad still does
 *     (DeviceLock, ClearPasscode, EraseDevice, the lost-mode commands,
 *     RestartDevice, ShutDownDevice);
 *   - otherwise Acknowledged with the command's result keys, or Error with
 *     an ErrorChain (e.g. 12067 for lost-mode commands outside lost mode).
 * AP_EPARSE when cmd is not a plist dictionary with a CommandUUID string
 * (there is nothing to answer); AP_ENOMEM.
 */
int sim_cmd_answer(struct sim_device *d, const char *cmd, size_t len, char **ret_xml,
		   size_t *ret_len);

#endif
