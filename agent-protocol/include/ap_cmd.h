/*
 * ap_cmd.h - command plists sent to devices, from ONE table of command
 * types (RequestType name, parameter keys with their plist types, required
 * keys, allowed values, extra rules, default parameters).
 *
 * Only keys that apply to iOS/iPadOS on the device channel are in the
 * table (macOS-only keys such as PIN are unknown keys here).  The table
 * mirrors Apple's schemas in spec/apple-device-management/mdm/commands;
 * every command built here passes tools/mdm-schema-check (tests prove it).
 */
#ifndef AP_CMD_H
#define AP_CMD_H

#include <plist/plist.h>

#include <stddef.h>
#include <stdint.h>

enum ap_cmd_type {
	AP_CMD_DEVICE_INFORMATION,
	AP_CMD_SECURITY_INFO,
	AP_CMD_INSTALLED_APPLICATION_LIST,
	AP_CMD_MANAGED_APPLICATION_LIST,
	AP_CMD_PROFILE_LIST,
	AP_CMD_INSTALL_PROFILE,
	AP_CMD_REMOVE_PROFILE,
	AP_CMD_INSTALL_APPLICATION,
	AP_CMD_REMOVE_APPLICATION,
	AP_CMD_CLEAR_PASSCODE,
	AP_CMD_DEVICE_LOCK,
	AP_CMD_ENABLE_LOST_MODE,
	AP_CMD_DISABLE_LOST_MODE,
	AP_CMD_DEVICE_LOCATION,
	AP_CMD_PLAY_LOST_MODE_SOUND,
	AP_CMD_ERASE_DEVICE,
	AP_CMD_RESTART_DEVICE,
	AP_CMD_SHUT_DOWN_DEVICE,
	AP_CMD_SETTINGS,
	AP_CMD_ACTIVATION_LOCK_BYPASS_CODE,
	AP_CMD_DEVICE_CONFIGURED,
	AP_CMD_DECLARATIVE_MANAGEMENT,
	AP_CMD__COUNT
};

/* RequestType string of t ("DeviceInformation", ...); NULL if t is out of
 * range.  Static storage. */
const char *ap_cmd_name(enum ap_cmd_type t);
/* Exact, case-sensitive.  AP_EINVAL for NULL or an unknown name. */
int ap_cmd_from_name(const char *name, enum ap_cmd_type *ret);

/*
 * Builds the full command plist {CommandUUID, Command: {RequestType,
 * params...}} as XML; *ret_xml is malloc'd and NUL-terminated (caller
 * frees with free()); ret_len may be NULL.
 *
 * command_uuid: 1-128 printable ASCII characters without spaces
 * (ap_uuid_random() makes one).
 * params: a plist dictionary, or NULL for no parameters; it is NOT consumed
 * nor modified.  NULL or an empty dictionary selects the command's default
 * parameters when it has some: for DeviceInformation, a query list useful
 * for the fleet (UDID, DeviceName, SerialNumber, Model, ModelName,
 * ProductName, OSVersion, BuildVersion, DeviceCapacity,
 * AvailableDeviceCapacity, BatteryLevel, IsSupervised, IsMDMLostModeEnabled,
 * WiFiMAC).
 *
 * params are validated against the table: AP_EINVAL for an unknown key
 * (detail names it and lists the allowed ones), a value outside the
 * allowed set, an empty required string, or text that is not valid for
 * XML; AP_ETYPE for a wrong plist type; AP_EMISSING for a missing required
 * key or an unmet rule (EnableLostMode needs Message or PhoneNumber,
 * InstallApplication needs iTunesStoreID, Identifier or ManifestURL);
 * AP_EINVAL for a DeclarativeManagement Data that is not a tokens answer
 * (ap_ddm_tokens_parse()).
 * AP_EINVAL too for t out of range or a bad command_uuid.
 * detail may be NULL; otherwise it receives a short reason on failure and
 * "" on success.
 */
int ap_cmd_build(enum ap_cmd_type t, const char *command_uuid, plist_t params, char **ret_xml,
		 size_t *ret_len, char *detail, size_t detail_cap);

/* 1 when Settings params (as ap_cmd_params_from_kv() makes them) carry an
 * item named `item` ("MDMOptions"), 0 otherwise or for NULL. */
int ap_cmd_settings_has(plist_t params, const char *item);

/* Validates params for t exactly as ap_cmd_build() does (NULL = none). */
int ap_cmd_check_params(enum ap_cmd_type t, plist_t params, char *detail, size_t detail_cap);

/*
 * Converts CLI-style "Key=value" strings into a new params dictionary
 * (*ret, caller frees with plist_free()), typed by the same table:
 *   string   as given (must be valid UTF-8 text);
 *   integer  decimal ("-12", "42");
 *   boolean  "true" or "false";
 *   real     decimal or exponent form, finite;
 *   data     base64, or "@hex:" followed by hex digits;
 *   array of strings  comma-separated ("a,b,c"; "" is an empty array).
 * Dictionary parameters are given key by key with dots:
 * "Options.PurchaseMethod=1", "ReturnToService.Enabled=true",
 * "Configuration.server=https://..." (free-form dictionaries take string
 * values).  Settings items are given as "<Item>.<Key>=value", one settings
 * dictionary per distinct Item: "TimeZone.TimeZone=Europe/Paris",
 * "Bluetooth.Enabled=false", "OrganizationInfo.OrganizationInfo.
 * OrganizationName=Collège X".
 * Unknown key -> AP_EINVAL with detail naming it and the allowed ones; a
 * value that does not convert -> AP_EINVAL; a key given twice -> AP_EINVAL.
 * Required keys are NOT checked here (ap_cmd_build() does), so n may be 0
 * (an empty dictionary).  kv may be NULL when n is 0.
 */
int ap_cmd_params_from_kv(enum ap_cmd_type t, const char *const *kv, size_t n, plist_t *ret,
			  char *detail, size_t detail_cap);

/* Convenience builders used by the daemon.  Each makes a new params
 * dictionary (*ret, caller frees with plist_free()); inputs are copied.
 * Empty or NULL required inputs -> AP_EINVAL. */
/* InstallProfile {Payload: <data>} from the .mobileconfig bytes (signed or not). */
int ap_cmd_params_install_profile(const void *mobileconfig, size_t len, plist_t *ret);
/* ClearPasscode {UnlockToken: <data>}. */
int ap_cmd_params_clear_passcode(const unsigned char *unlock_token, size_t len, plist_t *ret);
/* EraseDevice: {} when return_to_service is 0; else {ReturnToService:
 * {Enabled: true, MDMProfileData: <data>}} (MDMProfileData left out when
 * mdm_profile is NULL or mdm_len 0, as for automated-enrolment devices). */
int ap_cmd_params_erase(int return_to_service, const void *mdm_profile, size_t mdm_len,
			plist_t *ret);
/* InstallApplication with ManagementFlags 1 (remove the app with the MDM
 * profile).  itunes_store_id > 0: {iTunesStoreID, Options{PurchaseMethod 1}
 * (Volume Purchase licence)} and bundle_id is ignored; otherwise
 * {Identifier: bundle_id}.  Neither -> AP_EINVAL. */
int ap_cmd_params_install_app(int64_t itunes_store_id, const char *bundle_id, plist_t *ret);
/* DeclarativeManagement {Data: <the tokens answer>} (ap_ddm_tokens_build()'s
 * bytes, so the tablet syncs without asking for the tokens first); {} when
 * tokens_json is NULL or len 0 (the tablet then calls the tokens endpoint).
 * The first one turns declarative management on for the tablet. */
int ap_cmd_params_declarative_management(const void *tokens_json, size_t len, plist_t *ret);

/*
 * Secret parameters (UnlockToken; ReturnToService's MDMProfileData, which
 * holds a one-time enrolment code, and WiFiProfileData) are never stored in
 * clear: the daemon stores the command without them and keeps them sealed
 * apart, then puts them back when the command is sent.
 */
#define AP_CMD_SEALED "(sealed)" /* what stands in a stored command for a secret */
/* Whether t has secret parameters. */
int ap_cmd_has_secrets(enum ap_cmd_type t);
/* Splits a command plist (XML, as ap_cmd_build() makes it): *ret_public
 * is the same command with each secret value replaced by the string
 * AP_CMD_SEALED; *ret_secret a dictionary (XML) of the secret values, in
 * the nesting they have under Command, or NULL (*ret_slen 0) when the
 * command holds none.  Both malloc'd.  AP_EPARSE when xml is not a command
 * of a known RequestType. */
int ap_cmd_split_secrets(const char *xml, size_t len, char **ret_public, size_t *ret_plen,
			 char **ret_secret, size_t *ret_slen);
/* The command to send: public_xml with the values of secret_xml (as
 * ap_cmd_split_secrets() made them) put back; *ret malloc'd. */
int ap_cmd_join_secrets(const char *public_xml, size_t plen, const char *secret_xml, size_t slen,
			char **ret, size_t *ret_len);

#endif
