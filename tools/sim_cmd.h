/*
 * sim_cmd.h - private to the device core: the table of command handlers
 * (sim_cmd.c, sim_cmd_info.c) that sim_device_answer() dispatches to.
 */
#ifndef SIM_CMD_H
#define SIM_CMD_H

#include "sim_device.h"

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

/* Small builders: set dict[key] to a new node.  Allocation failures are
 * left to libplist (it aborts), as everywhere in agent-protocol. */
void sim_cmd_set_str(plist_t dict, const char *key, const char *v);
void sim_cmd_set_bool(plist_t dict, const char *key, int v);
void sim_cmd_set_int(plist_t dict, const char *key, int64_t v);
void sim_cmd_set_real(plist_t dict, const char *key, double v);
void sim_cmd_set_data(plist_t dict, const char *key, const void *v, size_t len);

/* Stable pseudo-random value in [0, 1) from the device and a salt (for
 * battery level, sizes, MAC addresses: the same device always says the same). */
double sim_cmd_hash01(const char *seed, const char *salt);
/* Bytes of SHA-256(seed || salt), n <= 32. */
void sim_cmd_hash_bytes(const char *seed, const char *salt, unsigned char *out, size_t n);

/* Inventory handlers (sim_cmd_info.c). */
int sim_cmd_device_information(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_security_info(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_installed_apps(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_managed_apps(struct sim_device *d, plist_t cmd, plist_t report);
int sim_cmd_profile_list(struct sim_device *d, plist_t cmd, plist_t report);

#endif
