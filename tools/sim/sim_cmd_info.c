/*
 * sim_cmd_info.c - the inventory answers of the simulated iPad:
 * DeviceInformation (one row per query it can answer), SecurityInfo, the
 * two application lists and ProfileList.
 */
#include "sim_cmd.h"
#include "ap_plist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- DeviceInformation ---- */

#define CAPACITY_GB 64.0 /* the 64 GB model */
#define SYSTEM_GB   11.4 /* iPadOS and its caches */

static plist_t str(const char *s)
{
	return plist_new_string(s);
}

static plist_t boolean(int v)
{
	return plist_new_bool(v ? 1 : 0);
}

/* "xx:xx:xx:xx:xx:xx" from Apple's OUI and the device. */
static plist_t mac(const struct sim_device *d, const char *salt)
{
	unsigned char b[3];
	char out[18];

	sim_device_hash_bytes(d->udid, salt, b, sizeof(b));
	snprintf(out, sizeof(out), "a4:83:e7:%02x:%02x:%02x", b[0], b[1], b[2]);
	return str(out);
}

/* App sizes are stable per app identifier: 20 MB to 1 GB. */
static int64_t bundle_size(const char *identifier)
{
	return 20000000 + (int64_t)(sim_device_hash01(identifier, "size") * 980000000.0);
}

static double available_gb(const struct sim_device *d)
{
	double used = SYSTEM_GB + 6 * sim_device_hash01(d->udid, "photos");

	for (size_t i = 0; i < d->n_apps; i++)
		used += bundle_size(d->apps[i].identifier) / 1e9;
	double free_gb = CAPACITY_GB - used;
	return free_gb > 0.5 ? (int)(free_gb * 100) / 100.0 : 0.5;
}

static plist_t q_udid(const struct sim_device *d)
{
	return str(d->udid);
}
static plist_t q_device_name(const struct sim_device *d)
{
	return str(d->device_name);
}
static plist_t q_os_version(const struct sim_device *d)
{
	return str(d->os_version);
}
static plist_t q_build_version(const struct sim_device *d)
{
	return str(d->build_version);
}
static plist_t q_model_name(const struct sim_device *d)
{
	return str("iPad");
}
static plist_t q_model(const struct sim_device *d)
{
	return str("MPQ03NF");
}
static plist_t q_model_number(const struct sim_device *d)
{
	return str("MPQ03");
}
static plist_t q_product_name(const struct sim_device *d)
{
	return str(d->model);
}
static plist_t q_serial(const struct sim_device *d)
{
	return str(d->serial);
}
static plist_t q_capacity(const struct sim_device *d)
{
	return plist_new_real(CAPACITY_GB);
}
static plist_t q_available(const struct sim_device *d)
{
	return plist_new_real(available_gb(d));
}
static plist_t q_battery(const struct sim_device *d)
{
	return plist_new_real((int)(20 + 80 * sim_device_hash01(d->udid, "battery")) / 100.0);
}
static plist_t q_supervised(const struct sim_device *d)
{
	return boolean(d->supervised);
}
static plist_t q_lost_mode(const struct sim_device *d)
{
	return boolean(d->lost_mode);
}
static plist_t q_awaiting(const struct sim_device *d)
{
	return boolean(d->awaiting_configuration);
}
static plist_t q_false(const struct sim_device *d)
{
	return boolean(0);
}
static plist_t q_wifi_mac(const struct sim_device *d)
{
	return mac(d, "wifi");
}
static plist_t q_bluetooth_mac(const struct sim_device *d)
{
	return mac(d, "bluetooth");
}
static plist_t q_time_zone(const struct sim_device *d)
{
	return str(d->time_zone);
}
static plist_t q_push_token(const struct sim_device *d)
{
	return plist_new_data((const char *)d->push_token, sizeof(d->push_token));
}
static plist_t q_update_device_id(const struct sim_device *d)
{
	return str("J271AP"); /* iPad (10th generation) Wi-Fi board */
}

static plist_t q_eas_id(const struct sim_device *d)
{
	unsigned char b[16];
	char out[33];

	sim_device_hash_bytes(d->udid, "eas", b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
	return str(out);
}

static plist_t q_org_info(const struct sim_device *d)
{
	if (d->organization[0] == '\0')
		return NULL; /* never set: not answered */
	plist_t o = plist_new_dict();
	sim_plist_set_str(o, "OrganizationName", d->organization);
	return o;
}

static plist_t q_mdm_options(const struct sim_device *d)
{
	plist_t o = plist_new_dict();
	sim_plist_set_bool(o, "ActivationLockAllowedWhileSupervised", 0);
	return o;
}

static plist_t q_update_settings(const struct sim_device *d)
{
	plist_t o = plist_new_dict();
	sim_plist_set_int(o, "RecommendationsCadence", 0);
	return o;
}

static plist_t q_accessibility(const struct sim_device *d)
{
	static const char *const flags[] = {
	    "BoldTextEnabled",
	    "IncreaseContrastEnabled",
	    "ReduceMotionEnabled",
	    "ReduceTransparencyEnabled",
	    "TouchAccommodationsEnabled",
	    "VoiceOverEnabled",
	    "ZoomEnabled",
	};
	plist_t o = plist_new_dict();
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		sim_plist_set_bool(o, flags[i], 0);
	sim_plist_set_int(o, "TextSize", 3);
	return o;
}

/* The queries a Wi-Fi iPad answers; the others (cellular, macOS, Shared
 * iPad, attestation) are left out of QueryResponses, as the device does. */
static const struct {
	const char *name;
	plist_t (*value)(const struct sim_device *d); /* NULL result: not answered */
} queries[] = {
    {"UDID", q_udid},
    {"DeviceName", q_device_name},
    {"OSVersion", q_os_version},
    {"BuildVersion", q_build_version},
    {"ModelName", q_model_name},
    {"Model", q_model},
    {"ModelNumber", q_model_number},
    {"ProductName", q_product_name},
    {"SerialNumber", q_serial},
    {"DeviceCapacity", q_capacity},
    {"AvailableDeviceCapacity", q_available},
    {"BatteryLevel", q_battery},
    {"IsSupervised", q_supervised},
    {"IsMDMLostModeEnabled", q_lost_mode},
    {"AwaitingConfiguration", q_awaiting},
    {"IsMultiUser", q_false},
    {"IsDeviceLocatorServiceEnabled", q_false},
    {"IsDoNotDisturbInEffect", q_false},
    {"IsCloudBackupEnabled", q_false},
    {"iTunesStoreAccountIsActive", q_false},
    {"DiagnosticSubmissionEnabled", q_false},
    {"AppAnalyticsEnabled", q_false},
    {"WiFiMAC", q_wifi_mac},
    {"BluetoothMAC", q_bluetooth_mac},
    {"TimeZone", q_time_zone},
    {"PushToken", q_push_token},
    {"EASDeviceIdentifier", q_eas_id},
    {"OrganizationInfo", q_org_info},
    {"MDMOptions", q_mdm_options},
    {"SoftwareUpdateDeviceID", q_update_device_id},
    {"SoftwareUpdateSettings", q_update_settings},
    {"AccessibilitySettings", q_accessibility},
};

static void answer_query(const struct sim_device *d, plist_t out, plist_t name)
{
	if (plist_get_node_type(name) != PLIST_STRING)
		return;
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		if (plist_string_val_compare(name, queries[i].name) != 0)
			continue;
		plist_t v = queries[i].value(d);
		if (v)
			plist_dict_set_item(out, queries[i].name, v);
		return;
	}
}

int sim_cmd_device_information(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t q = NULL, out = plist_new_dict();

	ap_dict_get_node(cmd, "Queries", PLIST_ARRAY, &q);
	for (uint32_t i = 0; q && i < plist_array_get_size(q); i++)
		answer_query(d, out, plist_array_get_item(q, i));
	plist_dict_set_item(report, "QueryResponses", out);
	return SIM_ACK;
}

/* ---- SecurityInfo ---- */

int sim_cmd_security_info(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t s = plist_new_dict(), status = plist_new_dict();

	sim_plist_set_int(s, "HardwareEncryptionCaps", 3);
	sim_plist_set_bool(s, "PasscodePresent", d->passcode_present);
	sim_plist_set_bool(s, "PasscodeCompliant", d->passcode_present);
	sim_plist_set_bool(s, "PasscodeCompliantWithProfiles", d->passcode_present);
	sim_plist_set_int(s, "PasscodeLockGracePeriod", 0);
	sim_plist_set_int(s, "PasscodeLockGracePeriodEnforced", 0);
	sim_plist_set_bool(status, "IsUserEnrollment", 0);
	plist_dict_set_item(s, "ManagementStatus", status);
	plist_dict_set_item(report, "SecurityInfo", s);
	return SIM_ACK;
}

/* ---- application lists ---- */

/* 1 if a (string array, may be NULL) contains s. */
static int in_list(plist_t a, const char *s)
{
	for (uint32_t i = 0; a && i < plist_array_get_size(a); i++) {
		plist_t v = plist_array_get_item(a, i);
		if (plist_get_node_type(v) == PLIST_STRING && plist_string_val_compare(v, s) == 0)
			return 1;
	}
	return 0;
}

static plist_t app_item(const struct sim_app *a)
{
	plist_t it = plist_new_dict();

	sim_plist_set_str(it, "Identifier", a->identifier);
	sim_plist_set_str(it, "Name", a->name);
	sim_plist_set_str(it, "ShortVersion", a->short_version);
	sim_plist_set_str(it, "Version", a->version);
	sim_plist_set_int(it, "BundleSize", bundle_size(a->identifier));
	sim_plist_set_int(it, "DynamicSize", bundle_size(a->identifier) / 20);
	sim_plist_set_int(it, "ExternalVersionIdentifier",
			  860000000 +
			      (int64_t)(sim_device_hash01(a->identifier, a->version) * 1e7));
	sim_plist_set_str(it, "DistributorIdentifier", "com.apple.AppStore");
	sim_plist_set_bool(it, "Installing", 0);
	sim_plist_set_bool(it, "IsValidated", 1);
	sim_plist_set_bool(it, "AppStoreVendable", 1);
	sim_plist_set_bool(it, "DeviceBasedVPP", a->managed);
	sim_plist_set_bool(it, "BetaApp", 0);
	sim_plist_set_bool(it, "AdHocCodeSigned", 0);
	sim_plist_set_bool(it, "HasUpdateAvailable", 0);
	sim_plist_set_bool(it, "IsAppClip", 0);
	return it;
}

/* Keeps only the keys named in Items (iOS 14+), when it is given. */
static void keep_items(plist_t it, plist_t items)
{
	static const char *const all[] = {
	    "Identifier",
	    "Name",
	    "ShortVersion",
	    "Version",
	    "BundleSize",
	    "DynamicSize",
	    "ExternalVersionIdentifier",
	    "DistributorIdentifier",
	    "Installing",
	    "IsValidated",
	    "AppStoreVendable",
	    "DeviceBasedVPP",
	    "BetaApp",
	    "AdHocCodeSigned",
	    "HasUpdateAvailable",
	    "IsAppClip",
	};
	if (items == NULL)
		return;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!in_list(items, all[i]))
			plist_dict_remove_item(it, all[i]);
}

int sim_cmd_installed_apps(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t ids = NULL, items = NULL, out = plist_new_array();
	int managed_only = 0;

	ap_dict_get_node(cmd, "Identifiers", PLIST_ARRAY, &ids);
	ap_dict_get_node(cmd, "Items", PLIST_ARRAY, &items);
	ap_dict_get_bool(cmd, "ManagedAppsOnly", &managed_only);
	for (size_t i = 0; i < d->n_apps; i++) {
		const struct sim_app *a = &d->apps[i];
		if ((managed_only && !a->managed) || (ids && !in_list(ids, a->identifier)))
			continue;
		plist_t it = app_item(a);
		keep_items(it, items);
		plist_array_append_item(out, it);
	}
	plist_dict_set_item(report, "InstalledApplicationList", out);
	return SIM_ACK;
}

int sim_cmd_managed_apps(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t ids = NULL, out = plist_new_dict();

	ap_dict_get_node(cmd, "Identifiers", PLIST_ARRAY, &ids);
	for (size_t i = 0; i < d->n_apps; i++) {
		const struct sim_app *a = &d->apps[i];
		if (!a->managed || (ids && !in_list(ids, a->identifier)))
			continue;
		plist_t it = plist_new_dict();
		sim_plist_set_str(it, "Status", "Managed");
		sim_plist_set_int(it, "ManagementFlags", 1);
		/* device licences have no redemption code; the schema wants the key */
		sim_plist_set_str(it, "UnusedRedemptionCode", "");
		sim_plist_set_bool(it, "HasConfiguration", 0);
		sim_plist_set_bool(it, "HasFeedback", 0);
		sim_plist_set_bool(it, "IsValidated", 1);
		sim_plist_set_int(
		    it, "ExternalVersionIdentifier",
		    860000000 + (int64_t)(sim_device_hash01(a->identifier, a->version) * 1e7));
		plist_dict_set_item(out, a->identifier, it);
	}
	plist_dict_set_item(report, "ManagedApplicationList", out);
	return SIM_ACK;
}

/* ---- ProfileList ---- */

int sim_cmd_profile_list(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t out = plist_new_array();
	int managed_only = 0;

	ap_dict_get_bool(cmd, "ManagedOnly", &managed_only);
	for (size_t i = 0; i < d->n_profiles; i++) {
		const struct sim_profile *p = &d->profiles[i];
		if (managed_only && !p->managed)
			continue;
		plist_t it = plist_new_dict();
		sim_plist_set_str(it, "PayloadIdentifier", p->identifier);
		sim_plist_set_str(it, "PayloadUUID", p->uuid);
		sim_plist_set_int(it, "PayloadVersion", 1);
		if (p->name[0])
			sim_plist_set_str(it, "PayloadDisplayName", p->name);
		sim_plist_set_bool(it, "IsManaged", p->managed);
		sim_plist_set_bool(it, "PayloadRemovalDisallowed", 1); /* supervised, by MDM */
		sim_plist_set_bool(it, "HasRemovalPasscode", 0);
		sim_plist_set_bool(it, "IsEncrypted", 0);
		plist_array_append_item(out, it);
	}
	plist_dict_set_item(report, "ProfileList", out);
	return SIM_ACK;
}
