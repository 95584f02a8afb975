/*
 * ap_result.h - typed views of command results, read from the dictionary
 * of an Acknowledged report (struct ap_report.dict).
 *
 * Lenient as devices are (protocol brief §11): keys the result may lack are
 * optional here; but a key that is present with the wrong plist type gives
 * AP_ETYPE, and the container key of a result (QueryResponses, SecurityInfo,
 * InstalledApplicationList, ...) must be present (AP_EMISSING) with its
 * type (AP_ETYPE).  report_dict NULL or not a dictionary -> AP_EINVAL.
 *
 * Outputs are written only on success.  Strings are malloc'd copies owned
 * by the result; free results with the matching function (NULL ok).
 */
#ifndef AP_RESULT_H
#define AP_RESULT_H

#include <plist/plist.h>

#include <stddef.h>
#include <stdint.h>

#define AP_RESULT_MAX_APPS     10000 /* more items in a list -> AP_ETOOBIG */
#define AP_RESULT_MAX_PROFILES 1000  /* idem for ProfileList */

/* DeviceInformation: QueryResponses.  Strings NULL when absent; the
 * numbers and flags are meaningful only when their has_* is 1. */
struct ap_device_info {
	char *udid, *serial, *device_name, *model, *model_name, *product_name, *os_version,
	    *build_version, *wifi_mac;
	double capacity_gb, available_gb; /* base-10 GB */
	double battery_level;		  /* 0..1, -1 when the device does not know */
	int supervised;
	int lost_mode; /* IsMDMLostModeEnabled */
	int has_capacity, has_available, has_battery, has_supervised, has_lost_mode;
};
int ap_result_device_info(plist_t report_dict, struct ap_device_info **ret);
void ap_device_info_free(struct ap_device_info *d);

/* SecurityInfo.  Absent values are 0; has_passcode_present tells whether
 * PasscodePresent was reported. */
struct ap_security_info {
	int hw_encryption_caps; /* 1 block, 2 file, 3 both */
	int passcode_present, passcode_compliant, passcode_compliant_with_profiles;
	int has_passcode_present;
};
int ap_result_security_info(plist_t report_dict, struct ap_security_info *ret);

/* InstalledApplicationList: *ret is an array of *ret_n apps (NULL when 0);
 * strings NULL when absent.  Free with ap_apps_free(). */
struct ap_app {
	char *identifier, *name, *short_version, *version;
};
int ap_result_installed_apps(plist_t report_dict, struct ap_app **ret, size_t *ret_n);
void ap_apps_free(struct ap_app *apps, size_t n);

/* ManagedApplicationList (a dictionary keyed by bundle identifier): one
 * item per key, identifier always set, status NULL and management_flags 0
 * when absent. */
struct ap_managed_app {
	char *identifier, *status;
	int64_t management_flags;
};
int ap_result_managed_apps(plist_t report_dict, struct ap_managed_app **ret, size_t *ret_n);
void ap_managed_apps_free(struct ap_managed_app *apps, size_t n);

/* ProfileList.  managed = IsManaged (0 when absent). */
struct ap_profile_info {
	char *identifier, *uuid, *display_name;
	int managed;
};
int ap_result_profile_list(plist_t report_dict, struct ap_profile_info **ret, size_t *ret_n);
void ap_profiles_free(struct ap_profile_info *profiles, size_t n);

/* DeviceLocation.  Latitude and Longitude are required (AP_EMISSING) and
 * range-checked (AP_EINVAL outside [-90, 90] / [-180, 180]); the other
 * numbers are -1 ("unknown", as the device says) when absent; timestamp
 * (RFC 3339 text as sent) is malloc'd or NULL.  Release with
 * ap_location_clear(), which also zeroes the struct. */
struct ap_location {
	double latitude, longitude, horizontal_accuracy, vertical_accuracy, altitude, speed, course;
	char *timestamp;
};
int ap_result_location(plist_t report_dict, struct ap_location *ret);
void ap_location_clear(struct ap_location *l);

/* ActivationLockBypassCode: *ret malloc'd (a secret: do not log it).
 * AP_EMISSING when the device has none. */
int ap_result_bypass_code(plist_t report_dict, char **ret);
/* DeviceLock: MessageResult ("Success", "DeviceInLostMode", ...), malloc'd;
 * AP_EMISSING when the device did not send one. */
int ap_result_device_lock(plist_t report_dict, char **ret_message_result);

/* Secrets a report may carry (the bypass code; a location fix: Latitude,
 * Longitude, the accuracies, Altitude, Speed, Course, Timestamp) are
 * never stored with the report: the daemon keeps them sealed in their own
 * place (escrow, geolocation register) and stores the report redacted. */
#define AP_RESULT_NOT_STORED "(not stored)" /* what stands for a redacted value */
/* Whether report_dict (a dictionary) holds any of them. */
int ap_result_has_secrets(plist_t report_dict);
/* Replaces each of them in report_dict by the string AP_RESULT_NOT_STORED;
 * returns how many (0 when none, or report_dict is not a dictionary). */
int ap_result_redact(plist_t report_dict);

#endif
