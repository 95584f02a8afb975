/*
 * ap_cmd.c - command plists from one table of command types.
 *
 * Each command row names its RequestType, its parameter keys (struct
 * pspec rows: key, plist type, required, allowed values, nested keys), an
 * optional extra rule and optional default parameters.  ap_cmd_build(),
 * ap_cmd_check_params() and ap_cmd_params_from_kv() all read that table.
 */
#include "ap_cmd.h"
#include "ap_codec.h"
#include "ap_ddm.h"
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_plist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
	P_REQ = 1u << 0,    /* the key must be present */
	P_FREE = 1u << 1,   /* PLIST_DICT with any keys (app configuration) */
	P_SECRET = 1u << 2, /* never stored in clear: ap_cmd_split_secrets() */
};

struct variant;

/* One parameter key.  Lists of keys end with a row whose key is NULL. */
struct pspec {
	const char *key;
	plist_type type;
	unsigned flags;
	plist_type item;		/* PLIST_ARRAY: type of the items */
	const struct pspec *sub;	/* PLIST_DICT (or array of them): its keys */
	const struct variant *variants; /* array of dicts told apart by "Item" */
	const int64_t *ints;		/* allowed integer values (n_ints of them) */
	size_t n_ints;
	const char *const *strs; /* allowed strings, or array items (n_strs) */
	size_t n_strs;
};

/* One form of a Settings item: the value of "Item" and the keys it takes. */
struct variant {
	const char *item;
	const struct pspec *keys;
};

#define STR(k, f)                                          \
	{                                                  \
		.key = k, .type = PLIST_STRING, .flags = f \
	}
#define INT(k, f)                                        \
	{                                                \
		.key = k, .type = PLIST_UINT, .flags = f \
	}
#define BOOL(k, f)                                          \
	{                                                   \
		.key = k, .type = PLIST_BOOLEAN, .flags = f \
	}
#define DATA(k, f)                                       \
	{                                                \
		.key = k, .type = PLIST_DATA, .flags = f \
	}
#define STRS(k, f)                                                              \
	{                                                                       \
		.key = k, .type = PLIST_ARRAY, .flags = f, .item = PLIST_STRING \
	}
#define DICT(k, f, s)                                              \
	{                                                          \
		.key = k, .type = PLIST_DICT, .flags = f, .sub = s \
	}
#define FREEDICT(k, f)                                              \
	{                                                           \
		.key = k, .type = PLIST_DICT, .flags = (f) | P_FREE \
	}
#define ONE_OF_INT(...)                         \
	.ints = (const int64_t[]){__VA_ARGS__}, \
	.n_ints = sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)
#define ONE_OF_STR(a) .strs = a, .n_strs = N(a)
#define END          \
	{            \
		NULL \
	}

/* DeviceInformation queries that apply to a one-user iPad (Apple's list in
 * information.device.yaml, less the macOS and Shared-iPad-only ones and
 * IsActivationLockEnabled, deprecated since iOS 16). */
static const char *const query_names[] = {
    "UDID",
    "OrganizationInfo",
    "MDMOptions",
    "LastCloudBackupDate",
    "AwaitingConfiguration",
    "iTunesStoreAccountIsActive",
    "iTunesStoreAccountHash",
    "DeviceName",
    "OSVersion",
    "SupplementalOSVersionExtra",
    "BuildVersion",
    "SupplementalBuildVersion",
    "ModelName",
    "Model",
    "ModelNumber",
    "ProductName",
    "SerialNumber",
    "DeviceCapacity",
    "AvailableDeviceCapacity",
    "IMEI",
    "MEID",
    "ModemFirmwareVersion",
    "CellularTechnology",
    "BatteryLevel",
    "IsSupervised",
    "IsMultiUser",
    "IsDeviceLocatorServiceEnabled",
    "IsDoNotDisturbInEffect",
    "EASDeviceIdentifier",
    "IsCloudBackupEnabled",
    "IsMDMLostModeEnabled",
    "PushToken",
    "DiagnosticSubmissionEnabled",
    "AppAnalyticsEnabled",
    "TimeZone",
    "ICCID",
    "BluetoothMAC",
    "WiFiMAC",
    "CurrentCarrierNetwork",
    "SIMCarrierNetwork",
    "SubscriberCarrierNetwork",
    "CarrierSettingsVersion",
    "PhoneNumber",
    "DataRoamingEnabled",
    "VoiceRoamingEnabled",
    "PersonalHotspotEnabled",
    "IsNetworkTethered",
    "IsRoaming",
    "SubscriberMCC",
    "SubscriberMNC",
    "CurrentMCC",
    "CurrentMNC",
    "ServiceSubscriptions",
    "SoftwareUpdateDeviceID",
    "SoftwareUpdateSettings",
    "AccessibilitySettings",
    "DevicePropertiesAttestation",
};

static const char *const default_queries[] = {
    "UDID",
    "DeviceName",
    "SerialNumber",
    "Model",
    "ModelName",
    "ProductName",
    "OSVersion",
    "BuildVersion",
    "DeviceCapacity",
    "AvailableDeviceCapacity",
    "BatteryLevel",
    "IsSupervised",
    "IsMDMLostModeEnabled",
    "WiFiMAC",
};

static const char *const app_items[] = {
    "AdHocCodeSigned",
    "AppStoreVendable",
    "BetaApp",
    "BundleSize",
    "DeviceBasedVPP",
    "DistributorIdentifier",
    "DynamicSize",
    "ExternalVersionIdentifier",
    "HasUpdateAvailable",
    "Identifier",
    "Installing",
    "IsAppClip",
    "IsValidated",
    "Name",
    "ShortVersion",
    "Version",
};

static const char *const managed_state[] = {"Managed"};

static const struct pspec no_params[] = {END};

static const struct pspec p_device_information[] = {
    {.key = "Queries",
     .type = PLIST_ARRAY,
     .flags = P_REQ,
     .item = PLIST_STRING,
     ONE_OF_STR(query_names)},
    DATA("DeviceAttestationNonce", 0),
    END,
};

static const struct pspec p_installed_apps[] = {
    STRS("Identifiers", 0),
    BOOL("ManagedAppsOnly", 0),
    {.key = "Items", .type = PLIST_ARRAY, .item = PLIST_STRING, ONE_OF_STR(app_items)},
    END,
};

static const struct pspec p_managed_apps[] = {STRS("Identifiers", 0), END};
static const struct pspec p_profile_list[] = {BOOL("ManagedOnly", 0), END};
static const struct pspec p_declarative_management[] = {DATA("Data", 0), END};
static const struct pspec p_install_profile[] = {DATA("Payload", P_REQ), END};
static const struct pspec p_identifier[] = {STR("Identifier", P_REQ), END};
static const struct pspec p_clear_passcode[] = {DATA("UnlockToken", P_REQ | P_SECRET), END};
static const struct pspec p_device_lock[] = {STR("Message", 0), STR("PhoneNumber", 0), END};
static const struct pspec p_lost_mode[] = {
    STR("Message", 0),
    STR("PhoneNumber", 0),
    STR("Footnote", 0),
    END,
};

static const struct pspec p_purchase[] = {
    {.key = "PurchaseMethod", .type = PLIST_UINT, ONE_OF_INT(0, 1)},
    END,
};

static const struct pspec p_app_attributes[] = {
    STR("VPNUUID", 0),
    STR("ContentFilterUUID", 0),
    STR("DNSProxyUUID", 0),
    STR("RelayUUID", 0),
    STRS("AssociatedDomains", 0),
    BOOL("AssociatedDomainsEnableDirectDownloads", 0),
    BOOL("Removable", 0),
    BOOL("TapToPayScreenLock", 0),
    STR("CellularSliceUUID", 0),
    BOOL("Hideable", 0),
    BOOL("Lockable", 0),
    END,
};

static const struct pspec p_install_app[] = {
    INT("iTunesStoreID", 0),
    STR("Identifier", 0),
    STR("ManifestURL", 0),
    DICT("Options", 0, p_purchase),
    {.key = "ManagementFlags", .type = PLIST_UINT, ONE_OF_INT(1, 4, 5)},
    FREEDICT("Configuration", 0),
    DICT("Attributes", 0, p_app_attributes),
    {.key = "ChangeManagementState", .type = PLIST_STRING, ONE_OF_STR(managed_state)},
    END,
};

static const struct pspec p_return_to_service[] = {
    BOOL("Enabled", P_REQ),
    DATA("WiFiProfileData", P_SECRET), /* may hold a Wi-Fi password */
    DATA("MDMProfileData", P_SECRET),  /* holds a one-time enrolment code */
    END,
};

static const struct pspec p_erase[] = {
    BOOL("PreserveDataPlan", 0),
    BOOL("DisallowProximitySetup", 0),
    DICT("ReturnToService", 0, p_return_to_service),
    END,
};

/* Settings items for one-user iPads (those Apple reserves for Shared iPad
 * or macOS, and VoiceRoaming, deprecated since iOS 16, are left out); each
 * list starts with Item. */
#define ITEM STR("Item", P_REQ)
static const struct pspec s_enabled[] = {ITEM, BOOL("Enabled", P_REQ), END};
static const struct pspec s_wallpaper[] = {
    ITEM,
    DATA("Image", P_REQ),
    {.key = "Where", .type = PLIST_UINT, .flags = P_REQ, ONE_OF_INT(1, 2, 3)},
    END,
};
static const struct pspec s_app_config[] = {
    ITEM,
    STR("Identifier", P_REQ),
    FREEDICT("Configuration", 0),
    END,
};
static const struct pspec s_app_attributes[] = {
    ITEM,
    STR("Identifier", P_REQ),
    DICT("Attributes", 0, p_app_attributes),
    END,
};
static const struct pspec s_device_name[] = {ITEM, STR("DeviceName", P_REQ), END};
static const struct pspec s_org_fields[] = {
    STR("OrganizationName", P_REQ),
    STR("OrganizationShortName", 0),
    STR("OrganizationAddress", 0),
    STR("OrganizationPhone", 0),
    STR("OrganizationEmail", 0),
    STR("OrganizationMagic", 0),
    END,
};
static const struct pspec s_org_info[] = {ITEM, DICT("OrganizationInfo", 0, s_org_fields), END};
static const struct pspec s_mdm_fields[] = {BOOL("ActivationLockAllowedWhileSupervised", 0), END};
static const struct pspec s_mdm_options[] = {ITEM, DICT("MDMOptions", P_REQ, s_mdm_fields), END};
static const struct pspec s_time_zone[] = {ITEM, STR("TimeZone", P_REQ), END};
static const struct pspec s_update[] = {
    ITEM,
    {.key = "RecommendationCadence", .type = PLIST_UINT, .flags = P_REQ, ONE_OF_INT(0, 1, 2)},
    END,
};
static const struct pspec s_accessibility[] = {
    ITEM,
    BOOL("BoldTextEnabled", 0),
    BOOL("IncreaseContrastEnabled", 0),
    BOOL("ReduceMotionEnabled", 0),
    BOOL("ReduceTransparencyEnabled", 0),
    {.key = "TextSize", .type = PLIST_UINT, ONE_OF_INT(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
    BOOL("TouchAccommodationsEnabled", 0),
    BOOL("VoiceOverEnabled", 0),
    BOOL("ZoomEnabled", 0),
    END,
};

static const struct variant settings_items[] = {
    {"Wallpaper", s_wallpaper},
    {"DataRoaming", s_enabled},
    {"PersonalHotspot", s_enabled},
    {"Bluetooth", s_enabled},
    {"ApplicationConfiguration", s_app_config},
    {"ApplicationAttributes", s_app_attributes},
    {"DeviceName", s_device_name},
    {"OrganizationInfo", s_org_info},
    {"MDMOptions", s_mdm_options},
    {"TimeZone", s_time_zone},
    {"SoftwareUpdateSettings", s_update},
    {"AccessibilitySettings", s_accessibility},
    {NULL, NULL},
};

static const struct pspec p_settings[] = {
    {.key = "Settings",
     .type = PLIST_ARRAY,
     .flags = P_REQ,
     .item = PLIST_DICT,
     .variants = settings_items},
    END,
};

/* ---- rules and defaults ---- */

static int nonempty_string(plist_t d, const char *key)
{
	uint64_t len = 0;
	plist_t v = plist_dict_get_item(d, key);

	if (v == NULL || plist_get_node_type(v) != PLIST_STRING)
		return 0;
	plist_get_string_ptr(v, &len);
	return len > 0;
}

static int rule_device_information(plist_t p, char *detail, size_t cap)
{
	plist_t q = plist_dict_get_item(p, "Queries");

	if (q != NULL && plist_array_get_size(q) == 0)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "DeviceInformation: Queries must not be empty");
	return 0;
}

static int rule_lost_mode(plist_t p, char *detail, size_t cap)
{
	if (nonempty_string(p, "Message") || nonempty_string(p, "PhoneNumber"))
		return 0;
	return ap_detail_set(detail, cap, AP_EMISSING,
			     "EnableLostMode: needs a Message or a PhoneNumber");
}

static int rule_install_app(plist_t p, char *detail, size_t cap)
{
	uint64_t len = 0;
	plist_t url = plist_dict_get_item(p, "ManifestURL");

	if (url != NULL) {
		const char *s = plist_get_string_ptr(url, &len);
		if (s == NULL || len < 9 || strncmp(s, "https://", 8) != 0)
			return ap_detail_set(detail, cap, AP_EINVAL,
					     "InstallApplication: ManifestURL must be https://");
	}
	if (plist_dict_get_item(p, "iTunesStoreID") || plist_dict_get_item(p, "Identifier") ||
	    url != NULL)
		return 0;
	return ap_detail_set(detail, cap, AP_EMISSING,
			     "InstallApplication: needs iTunesStoreID, Identifier or ManifestURL");
}

/* Data, when given, is the tokens answer (declarativemanagement.yaml: "a
 * TokensResponse"). */
static int rule_declarative_management(plist_t p, char *detail, size_t cap)
{
	char token[AP_DDM_DTOKEN_MAX + 1], why[160];
	uint64_t len = 0;
	plist_t data = plist_dict_get_item(p, "Data");

	if (data == NULL)
		return 0;
	const char *bytes = plist_get_data_ptr(data, &len);
	if (ap_ddm_tokens_parse(bytes, (size_t)len, token, why, sizeof(why)) < 0)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "DeclarativeManagement: Data must be a tokens answer: %s",
				     why);
	return 0;
}

static plist_t string_array(const char *const *v, size_t n)
{
	plist_t a = plist_new_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		plist_t s = plist_new_string(v[i]);
		if (s == NULL) {
			plist_free(a);
			return NULL;
		}
		plist_array_append_item(a, s);
	}
	return a;
}

static int default_device_information(plist_t *ret)
{
	plist_t d = plist_new_dict();
	plist_t q = string_array(default_queries, N(default_queries));

	if (d == NULL || q == NULL) {
		plist_free(d);
		plist_free(q);
		return AP_ENOMEM;
	}
	plist_dict_set_item(d, "Queries", q);
	*ret = d;
	return 0;
}

/* ---- the command table ---- */

struct cmd {
	const char *name;	    /* RequestType */
	const struct pspec *params; /* allowed keys; no_params when none */
	int (*rule)(plist_t params, char *detail, size_t cap); /* may be NULL */
	int (*defaults)(plist_t *ret); /* params used when none given; may be NULL */
};

static const struct cmd cmds[AP_CMD__COUNT] = {
    [AP_CMD_DEVICE_INFORMATION] = {"DeviceInformation", p_device_information,
				   rule_device_information, default_device_information},
    [AP_CMD_SECURITY_INFO] = {"SecurityInfo", no_params, NULL, NULL},
    [AP_CMD_INSTALLED_APPLICATION_LIST] = {"InstalledApplicationList", p_installed_apps, NULL,
					   NULL},
    [AP_CMD_MANAGED_APPLICATION_LIST] = {"ManagedApplicationList", p_managed_apps, NULL, NULL},
    [AP_CMD_PROFILE_LIST] = {"ProfileList", p_profile_list, NULL, NULL},
    [AP_CMD_INSTALL_PROFILE] = {"InstallProfile", p_install_profile, NULL, NULL},
    [AP_CMD_REMOVE_PROFILE] = {"RemoveProfile", p_identifier, NULL, NULL},
    [AP_CMD_INSTALL_APPLICATION] = {"InstallApplication", p_install_app, rule_install_app, NULL},
    [AP_CMD_REMOVE_APPLICATION] = {"RemoveApplication", p_identifier, NULL, NULL},
    [AP_CMD_CLEAR_PASSCODE] = {"ClearPasscode", p_clear_passcode, NULL, NULL},
    [AP_CMD_DEVICE_LOCK] = {"DeviceLock", p_device_lock, NULL, NULL},
    [AP_CMD_ENABLE_LOST_MODE] = {"EnableLostMode", p_lost_mode, rule_lost_mode, NULL},
    [AP_CMD_DISABLE_LOST_MODE] = {"DisableLostMode", no_params, NULL, NULL},
    [AP_CMD_DEVICE_LOCATION] = {"DeviceLocation", no_params, NULL, NULL},
    [AP_CMD_PLAY_LOST_MODE_SOUND] = {"PlayLostModeSound", no_params, NULL, NULL},
    [AP_CMD_ERASE_DEVICE] = {"EraseDevice", p_erase, NULL, NULL},
    [AP_CMD_RESTART_DEVICE] = {"RestartDevice", no_params, NULL, NULL},
    [AP_CMD_SHUT_DOWN_DEVICE] = {"ShutDownDevice", no_params, NULL, NULL},
    [AP_CMD_SETTINGS] = {"Settings", p_settings, NULL, NULL},
    [AP_CMD_ACTIVATION_LOCK_BYPASS_CODE] = {"ActivationLockBypassCode", no_params, NULL, NULL},
    [AP_CMD_DEVICE_CONFIGURED] = {"DeviceConfigured", no_params, NULL, NULL},
    [AP_CMD_DECLARATIVE_MANAGEMENT] = {"DeclarativeManagement", p_declarative_management,
				       rule_declarative_management, NULL},
};

static const struct cmd *lookup(enum ap_cmd_type t)
{
	return (unsigned)t < AP_CMD__COUNT ? &cmds[t] : NULL;
}

const char *ap_cmd_name(enum ap_cmd_type t)
{
	const struct cmd *c = lookup(t);
	return c ? c->name : NULL;
}

int ap_cmd_from_name(const char *name, enum ap_cmd_type *ret)
{
	if (name == NULL || ret == NULL)
		return AP_EINVAL;
	for (size_t i = 0; i < AP_CMD__COUNT; i++) {
		if (strcmp(name, cmds[i].name) == 0) {
			*ret = (enum ap_cmd_type)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

/* ---- validation ---- */

/* Appends s to buf[cap] (NUL-terminated), truncating. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t used = strlen(buf), n = strlen(s);

	if (used + 1 >= cap)
		return;
	if (n > cap - used - 1)
		n = cap - used - 1;
	memcpy(buf + used, s, n);
	buf[used + n] = '\0';
}

static void join_keys(const struct pspec *keys, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (const struct pspec *k = keys; k->key; k++) {
		if (k != keys)
			append(buf, cap, ", ");
		append(buf, cap, k->key);
	}
	if (buf[0] == '\0')
		append(buf, cap, "none");
}

static void join_items(const struct variant *v, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (const struct variant *x = v; x->item; x++) {
		if (x != v)
			append(buf, cap, ", ");
		append(buf, cap, x->item);
	}
}

static const struct pspec *find_key(const struct pspec *keys, const char *k, size_t n)
{
	for (; keys->key; keys++)
		if (strlen(keys->key) == n && memcmp(keys->key, k, n) == 0)
			return keys;
	return NULL;
}

static const struct variant *find_variant(const struct variant *v, const char *k, size_t n)
{
	for (; v && v->item; v++)
		if (strlen(v->item) == n && memcmp(v->item, k, n) == 0)
			return v;
	return NULL;
}

/* Validation context: command name for messages, whether required keys
 * are enforced (not for ap_cmd_params_from_kv()), the detail buffer. */
struct vctx {
	const char *cmd;
	int required;
	char *detail;
	size_t cap;
};

static int check_dict(const struct vctx *c, const struct pspec *keys, plist_t d, const char *path);

static void child_path(char *out, size_t cap, const char *path, const char *key)
{
	out[0] = '\0';
	if (path[0]) {
		append(out, cap, path);
		append(out, cap, ".");
	}
	append(out, cap, key);
}

static int one_of_str(const struct pspec *s, const char *v)
{
	if (s->n_strs == 0)
		return 1;
	for (size_t i = 0; i < s->n_strs; i++)
		if (strcmp(v, s->strs[i]) == 0)
			return 1;
	return 0;
}

static int one_of_int(const struct pspec *s, int64_t v)
{
	if (s->n_ints == 0)
		return 1;
	for (size_t i = 0; i < s->n_ints; i++)
		if (s->ints[i] == v)
			return 1;
	return 0;
}

static int check_string(const struct vctx *c, const struct pspec *s, plist_t v, const char *path)
{
	uint64_t len = 0;
	const char *str = plist_get_string_ptr(v, &len);

	if (str == NULL)
		str = "";
	if (!ap_plist_text_ok(str, len))
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: %s is not valid text (UTF-8, no control characters)",
				     c->cmd, path);
	if ((s->flags & P_REQ) && len == 0)
		return ap_detail_set(c->detail, c->cap, AP_EINVAL, "%s: %s must not be empty",
				     c->cmd, path);
	if (!one_of_str(s, str))
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: %s: \"%.40s\" is not an allowed value", c->cmd, path,
				     str);
	return 0;
}

static int check_variant(const struct vctx *c, const struct variant *vars, plist_t v,
			 const char *path)
{
	char list[512];
	uint64_t len = 0;
	plist_t item = plist_dict_get_item(v, "Item");

	if (item == NULL)
		return ap_detail_set(c->detail, c->cap, AP_EMISSING, "%s: %s.Item missing", c->cmd,
				     path);
	if (plist_get_node_type(item) != PLIST_STRING)
		return ap_detail_set(c->detail, c->cap, AP_ETYPE, "%s: %s.Item must be string",
				     c->cmd, path);
	const char *name = plist_get_string_ptr(item, &len);
	const struct variant *var = find_variant(vars, name ? name : "", len);
	if (var == NULL) {
		join_items(vars, list, sizeof(list));
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: %s: unknown Item \"%.40s\" (allowed: %s)", c->cmd, path,
				     name ? name : "", list);
	}
	return check_dict(c, var->keys, v, path);
}

static int check_value(const struct vctx *c, const struct pspec *s, plist_t v, const char *path);

static int check_array(const struct vctx *c, const struct pspec *s, plist_t v, const char *path)
{
	struct pspec item = {
	    .key = s->key, .type = s->item, .sub = s->sub, .strs = s->strs, .n_strs = s->n_strs};
	char ipath[160];
	uint32_t n = plist_array_get_size(v);
	int rc = 0;

	for (uint32_t i = 0; i < n && rc == 0; i++) {
		plist_t it = plist_array_get_item(v, i);
		ap_detail_set(ipath, sizeof(ipath), 0, "%s[%u]", path, i);
		if (s->variants && plist_get_node_type(it) == PLIST_DICT)
			rc = check_variant(c, s->variants, it, ipath);
		else
			rc = check_value(c, &item, it, ipath);
	}
	return rc;
}

static int check_value(const struct vctx *c, const struct pspec *s, plist_t v, const char *path)
{
	plist_type t = plist_get_node_type(v);
	int64_t i;
	uint64_t u = 0;

	if (t != s->type)
		return ap_detail_set(c->detail, c->cap, AP_ETYPE, "%s: %s must be %s, not %s",
				     c->cmd, path, ap_plist_type_name(s->type),
				     ap_plist_type_name(t));
	switch (t) {
	case PLIST_STRING:
		return check_string(c, s, v, path);
	case PLIST_UINT:
		plist_get_uint_val(v, &u);
		i = (int64_t)u;
		if (!one_of_int(s, i))
			return ap_detail_set(c->detail, c->cap, AP_EINVAL,
					     "%s: %s: %lld is not an allowed value", c->cmd, path,
					     (long long)i);
		return 0;
	case PLIST_DICT:
		if (s->flags & P_FREE) {
			int rc = ap_plist_check_tree(v);
			if (rc < 0)
				ap_detail_set(c->detail, c->cap, rc, "%s: %s: %s", c->cmd, path,
					      ap_strerror(rc));
			return rc;
		}
		return check_dict(c, s->sub, v, path);
	case PLIST_ARRAY:
		return check_array(c, s, v, path);
	default:
		return 0;
	}
}

static int unknown_key(const struct vctx *c, const struct pspec *keys, const char *path,
		       const char *key)
{
	char list[512];

	join_keys(keys, list, sizeof(list));
	return ap_detail_set(c->detail, c->cap, AP_EINVAL,
			     "%s: unknown key \"%.40s\"%s%s (allowed: %s)", c->cmd, key,
			     path[0] ? " in " : "", path, list);
}

static int check_missing(const struct vctx *c, const struct pspec *keys, plist_t d,
			 const char *path)
{
	char kpath[160];

	if (!c->required)
		return 0;
	for (const struct pspec *k = keys; k->key; k++) {
		if ((k->flags & P_REQ) && plist_dict_get_item(d, k->key) == NULL) {
			child_path(kpath, sizeof(kpath), path, k->key);
			return ap_detail_set(c->detail, c->cap, AP_EMISSING, "%s: %s missing",
					     c->cmd, kpath);
		}
	}
	return 0;
}

static int check_dict(const struct vctx *c, const struct pspec *keys, plist_t d, const char *path)
{
	plist_dict_iter it = NULL;
	char kpath[160];
	int rc = 0;

	plist_dict_new_iter(d, &it);
	if (it == NULL)
		return AP_ENOMEM;
	while (rc == 0) {
		char *key = NULL;
		plist_t v = NULL;
		plist_dict_next_item(d, it, &key, &v);
		if (v == NULL) {
			free(key);
			break;
		}
		const struct pspec *s = key ? find_key(keys, key, strlen(key)) : NULL;
		if (s == NULL) {
			rc = unknown_key(c, keys, path, key ? key : "");
		} else {
			child_path(kpath, sizeof(kpath), path, key);
			rc = check_value(c, s, v, kpath);
		}
		free(key);
	}
	free(it);
	return rc < 0 ? rc : check_missing(c, keys, d, path);
}

int ap_cmd_check_params(enum ap_cmd_type t, plist_t params, char *detail, size_t detail_cap)
{
	const struct cmd *c = lookup(t);
	plist_t empty = NULL;
	int rc;

	if (c == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "unknown command type %d",
				     (int)t);
	if (params != NULL && plist_get_node_type(params) != PLIST_DICT)
		return ap_detail_set(detail, detail_cap, AP_ETYPE,
				     "%s: parameters must be a dictionary", c->name);
	if (params == NULL && (params = empty = plist_new_dict()) == NULL)
		return AP_ENOMEM;
	struct vctx v = {c->name, 1, detail, detail_cap};
	rc = check_dict(&v, c->params, params, "");
	if (rc == 0 && c->rule)
		rc = c->rule(params, detail, detail_cap);
	plist_free(empty);
	return rc;
}

/* ---- building ---- */

/* {CommandUUID, Command: {RequestType, params...}}; params may be NULL. */
static int assemble(const char *name, const char *uuid, plist_t params, plist_t *ret)
{
	plist_t root = plist_new_dict(), cmd = plist_new_dict();
	plist_dict_iter it = NULL;
	int rc = AP_ENOMEM;

	if (root == NULL || cmd == NULL)
		goto out;
	plist_dict_set_item(cmd, "RequestType", plist_new_string(name));
	if (params != NULL) {
		plist_dict_new_iter(params, &it);
		if (it == NULL)
			goto out;
		for (;;) {
			char *key = NULL;
			plist_t v = NULL;
			plist_dict_next_item(params, it, &key, &v);
			if (v == NULL || key == NULL) {
				free(key);
				break;
			}
			plist_dict_set_item(cmd, key, plist_copy(v));
			free(key);
		}
	}
	plist_dict_set_item(root, "CommandUUID", plist_new_string(uuid));
	plist_dict_set_item(root, "Command", cmd);
	cmd = NULL;
	*ret = root;
	root = NULL;
	rc = 0;
out:
	free(it);
	plist_free(cmd);
	plist_free(root);
	return rc;
}

/* 1-128 printable ASCII characters, no spaces. */
static int uuid_ok(const char *u)
{
	size_t n = u ? strnlen(u, 129) : 0;

	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (u[i] <= ' ' || u[i] > '~')
			return 0;
	return 1;
}

int ap_cmd_build(enum ap_cmd_type t, const char *command_uuid, plist_t params, char **ret_xml,
		 size_t *ret_len, char *detail, size_t detail_cap)
{
	const struct cmd *c = lookup(t);
	plist_t defaults = NULL, root = NULL;
	int rc;

	ap_detail_clear(detail, detail_cap);
	if (c == NULL || ret_xml == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "unknown command type %d",
				     (int)t);
	if (!uuid_ok(command_uuid))
		return ap_detail_set(detail, detail_cap, AP_EINVAL,
				     "%s: CommandUUID must be 1-128 printable ASCII characters",
				     c->name);
	if (params != NULL && plist_get_node_type(params) != PLIST_DICT)
		return ap_detail_set(detail, detail_cap, AP_ETYPE,
				     "%s: parameters must be a dictionary", c->name);
	if (c->defaults && (params == NULL || plist_dict_get_size(params) == 0)) {
		if ((rc = c->defaults(&defaults)) < 0)
			goto out;
		params = defaults;
	}
	if ((rc = ap_cmd_check_params(t, params, detail, detail_cap)) < 0 ||
	    (rc = assemble(c->name, command_uuid, params, &root)) < 0 ||
	    (rc = ap_plist_to_xml(root, ret_xml, ret_len)) < 0)
		goto out;
out:
	plist_free(defaults);
	plist_free(root);
	return rc;
}

/* ---- Key=value ---- */

static int parse_i64(const char *s, int64_t *ret)
{
	char *end = NULL;

	if (*s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return AP_EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return AP_EINVAL;
	*ret = v;
	return 0;
}

static int parse_real(const char *s, double *ret)
{
	char *end = NULL;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return AP_EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return AP_EINVAL;
	*ret = v;
	return 0;
}

static int parse_data(const char *s, plist_t *ret)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if (strncmp(s, "@hex:", 5) == 0)
		rc = ap_codec_hex_decode(s + 5, strlen(s + 5), &buf, &len);
	else
		rc = ap_codec_b64_decode(s, strlen(s), &buf, &len);
	if (rc < 0)
		return rc == AP_ENOMEM ? rc : AP_EINVAL;
	*ret = plist_new_data((const char *)buf, len);
	free(buf);
	return *ret ? 0 : AP_ENOMEM;
}

/* "a,b,c" -> array of strings; "" -> empty array. */
static int parse_strings(const char *s, plist_t *ret)
{
	plist_t a = plist_new_array();

	if (a == NULL)
		return AP_ENOMEM;
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char *item = strndup(s, n);
		plist_t node = item ? plist_new_string(item) : NULL;
		free(item);
		if (node == NULL) {
			plist_free(a);
			return AP_ENOMEM;
		}
		plist_array_append_item(a, node);
		s += n + (comma ? 1 : 0);
	}
	*ret = a;
	return 0;
}

/* A value of type `type` from its text; AP_EINVAL if it does not convert. */
static int convert(plist_type type, plist_type item, const char *s, plist_t *ret)
{
	int64_t i;
	double d;
	int rc = AP_EINVAL;

	*ret = NULL;
	if (!ap_plist_text_ok(s, strlen(s)))
		return AP_EINVAL;
	switch (type) {
	case PLIST_STRING:
		rc = 0;
		*ret = plist_new_string(s);
		break;
	case PLIST_UINT:
		if ((rc = parse_i64(s, &i)) == 0)
			*ret = plist_new_uint((uint64_t)i);
		break;
	case PLIST_BOOLEAN:
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			rc = 0;
			*ret = plist_new_bool(s[0] == 't');
		}
		break;
	case PLIST_REAL:
		if ((rc = parse_real(s, &d)) == 0)
			*ret = plist_new_real(d);
		break;
	case PLIST_DATA:
		return parse_data(s, ret);
	case PLIST_ARRAY:
		return item == PLIST_STRING ? parse_strings(s, ret) : AP_EINVAL;
	default:
		break;
	}
	if (rc == 0 && *ret == NULL)
		rc = AP_ENOMEM;
	return rc;
}

/* A dotted key path being resolved: the current segment and the rest. */
struct kpath {
	const char *seg;
	size_t seg_len;
	const char *rest; /* NULL when seg is the last segment */
	size_t rest_len;
};

static void kpath_split(const char *p, size_t n, struct kpath *k)
{
	const char *dot = memchr(p, '.', n);

	k->seg = p;
	k->seg_len = dot ? (size_t)(dot - p) : n;
	k->rest = dot ? dot + 1 : NULL;
	k->rest_len = dot ? n - k->seg_len - 1 : 0;
}

struct kvctx {
	const struct cmd *cmd;
	const char *full; /* the whole Key=value, for messages */
	char *detail;
	size_t cap;
};

static int kv_set(const struct kvctx *c, plist_t dict, const struct pspec *s, const struct kpath *k,
		  const char *value);

/* The dictionary at dict[key], created when absent. */
static plist_t sub_dict(plist_t dict, const char *key)
{
	plist_t d = plist_dict_get_item(dict, key);

	if (d == NULL && (d = plist_new_dict()) != NULL)
		plist_dict_set_item(dict, key, d);
	return d;
}

static int kv_leaf(const struct kvctx *c, plist_t dict, const char *key, plist_type type,
		   plist_type item, const char *value)
{
	plist_t node = NULL;
	int rc;

	if (plist_dict_get_item(dict, key) != NULL)
		return ap_detail_set(c->detail, c->cap, AP_EINVAL, "%s: \"%.60s\": %s given twice",
				     c->cmd->name, c->full, key);
	rc = convert(type, item, value, &node);
	if (rc == AP_EINVAL)
		return ap_detail_set(c->detail, c->cap, rc, "%s: \"%.60s\": %s wants %s%s",
				     c->cmd->name, c->full, key,
				     type == PLIST_ARRAY ? "comma-separated " : "",
				     ap_plist_type_name(type == PLIST_ARRAY ? item : type));
	if (rc < 0)
		return rc;
	plist_dict_set_item(dict, key, node);
	return 0;
}

/* Descends into the dictionary parameter s with the rest of the path. */
static int kv_descend(const struct kvctx *c, plist_t dict, const struct pspec *s,
		      const struct kpath *k, const char *value)
{
	struct kpath next;
	char list[512];

	plist_t d = sub_dict(dict, s->key);
	if (d == NULL)
		return AP_ENOMEM;
	if (plist_get_node_type(d) != PLIST_DICT)
		return AP_EINTERNAL;
	kpath_split(k->rest, k->rest_len, &next);
	if (s->flags & P_FREE) {
		char *key = strndup(k->rest, k->rest_len);
		int rc = key ? kv_leaf(c, d, key, PLIST_STRING, PLIST_NONE, value) : AP_ENOMEM;
		free(key);
		return rc;
	}
	const struct pspec *sub = find_key(s->sub, next.seg, next.seg_len);
	if (sub == NULL) {
		join_keys(s->sub, list, sizeof(list));
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: \"%.60s\": unknown key in %s (allowed: %s)", c->cmd->name,
				     c->full, s->key, list);
	}
	return kv_set(c, d, sub, &next, value);
}

static int kv_set(const struct kvctx *c, plist_t dict, const struct pspec *s, const struct kpath *k,
		  const char *value)
{
	if (k->rest != NULL) {
		if (s->type != PLIST_DICT)
			return ap_detail_set(c->detail, c->cap, AP_EINVAL,
					     "%s: \"%.60s\": %s is not a dictionary", c->cmd->name,
					     c->full, s->key);
		return kv_descend(c, dict, s, k, value);
	}
	if (s->type == PLIST_DICT)
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: \"%.60s\": %s is a dictionary: give %s.<key>=value",
				     c->cmd->name, c->full, s->key, s->key);
	if (s->type == PLIST_ARRAY && s->item != PLIST_STRING)
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: \"%.60s\": give %s items as <Item>.<Key>=value",
				     c->cmd->name, c->full, s->key);
	return kv_leaf(c, dict, s->key, s->type, s->item, value);
}

int ap_cmd_settings_has(plist_t params, const char *item)
{
	plist_t arr = params ? plist_dict_get_item(params, "Settings") : NULL;
	uint32_t n = arr && plist_get_node_type(arr) == PLIST_ARRAY ? plist_array_get_size(arr) : 0;
	for (uint32_t i = 0; i < n; i++) {
		plist_t d = plist_array_get_item(arr, i);
		plist_t it =
		    plist_get_node_type(d) == PLIST_DICT ? plist_dict_get_item(d, "Item") : NULL;
		if (it && plist_get_node_type(it) == PLIST_STRING &&
		    plist_string_val_compare(it, item) == 0)
			return 1;
	}
	return 0;
}

/* The Settings-style dictionary for `item` in the array dict[s->key]. */
static plist_t variant_dict(plist_t dict, const struct pspec *s, const char *item)
{
	plist_t arr = plist_dict_get_item(dict, s->key);

	if (arr == NULL) {
		if ((arr = plist_new_array()) == NULL)
			return NULL;
		plist_dict_set_item(dict, s->key, arr);
	}
	uint32_t n = plist_array_get_size(arr);
	for (uint32_t i = 0; i < n; i++) {
		plist_t d = plist_array_get_item(arr, i);
		plist_t it = plist_dict_get_item(d, "Item");
		if (it && plist_string_val_compare(it, item) == 0)
			return d;
	}
	plist_t d = plist_new_dict();
	if (d == NULL)
		return NULL;
	plist_dict_set_item(d, "Item", plist_new_string(item));
	plist_array_append_item(arr, d);
	return d;
}

/* "<Item>.<Key>=value" for a command whose parameter is an array of
 * Item-tagged dictionaries; 1 if handled (rc in *rc), 0 if not such a key. */
static int kv_variant(const struct kvctx *c, plist_t dict, const struct kpath *k, const char *value,
		      int *rc)
{
	for (const struct pspec *s = c->cmd->params; s->key; s++) {
		const struct variant *var = find_variant(s->variants, k->seg, k->seg_len);
		if (var == NULL)
			continue;
		struct kpath next;
		if (k->rest == NULL) {
			*rc = ap_detail_set(c->detail, c->cap, AP_EINVAL,
					    "%s: \"%.60s\": give %s.<key>=value", c->cmd->name,
					    c->full, var->item);
			return 1;
		}
		kpath_split(k->rest, k->rest_len, &next);
		const struct pspec *key = find_key(var->keys + 1, next.seg, next.seg_len);
		if (key == NULL) {
			char list[512];
			join_keys(var->keys + 1, list, sizeof(list));
			*rc = ap_detail_set(c->detail, c->cap, AP_EINVAL,
					    "%s: \"%.60s\": unknown key for Item %s (allowed: %s)",
					    c->cmd->name, c->full, var->item, list);
			return 1;
		}
		plist_t d = variant_dict(dict, s, var->item);
		*rc = d ? kv_set(c, d, key, &next, value) : AP_ENOMEM;
		return 1;
	}
	return 0;
}

static int kv_unknown(const struct kvctx *c, const struct kpath *k)
{
	char list[512];
	const struct pspec *s;

	join_keys(c->cmd->params, list, sizeof(list));
	for (s = c->cmd->params; s->key; s++) {
		if (s->variants) {
			append(list, sizeof(list), "; or <Item>.<Key> with Item one of ");
			size_t used = strlen(list);
			join_items(s->variants, list + used, sizeof(list) - used);
		}
	}
	return ap_detail_set(c->detail, c->cap, AP_EINVAL, "%s: unknown key \"%.*s\" (allowed: %s)",
			     c->cmd->name, (int)(k->seg_len > 40 ? 40 : k->seg_len), k->seg, list);
}

static int kv_one(const struct kvctx *c, plist_t dict, const char *kv)
{
	const char *eq = strchr(kv, '=');
	struct kpath k;
	int rc = 0;

	if (eq == NULL || eq == kv)
		return ap_detail_set(c->detail, c->cap, AP_EINVAL,
				     "%s: \"%.60s\": expected Key=value", c->cmd->name, kv);
	kpath_split(kv, (size_t)(eq - kv), &k);
	if (k.seg_len == 0 || (k.rest != NULL && k.rest_len == 0))
		return ap_detail_set(c->detail, c->cap, AP_EINVAL, "%s: \"%.60s\": empty key",
				     c->cmd->name, kv);
	const struct pspec *s = find_key(c->cmd->params, k.seg, k.seg_len);
	if (s != NULL)
		return kv_set(c, dict, s, &k, eq + 1);
	if (kv_variant(c, dict, &k, eq + 1, &rc))
		return rc;
	return kv_unknown(c, &k);
}

int ap_cmd_params_from_kv(enum ap_cmd_type t, const char *const *kv, size_t n, plist_t *ret,
			  char *detail, size_t detail_cap)
{
	const struct cmd *c = lookup(t);
	plist_t d = NULL;
	int rc = 0;

	ap_detail_clear(detail, detail_cap);
	if (c == NULL || ret == NULL || (kv == NULL && n > 0))
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "bad arguments");
	if ((d = plist_new_dict()) == NULL)
		return AP_ENOMEM;
	struct kvctx kc = {c, NULL, detail, detail_cap};
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (kv[i] == NULL) {
			rc = ap_detail_set(detail, detail_cap, AP_EINVAL, "NULL Key=value");
			break;
		}
		kc.full = kv[i];
		rc = kv_one(&kc, d, kv[i]);
	}
	if (rc == 0) {
		struct vctx v = {c->name, 0, detail, detail_cap};
		rc = check_dict(&v, c->params, d, "");
	}
	if (rc < 0) {
		plist_free(d);
		return rc;
	}
	*ret = d;
	return 0;
}

/* ---- convenience builders ---- */

/* {key: <data>} */
static int data_param(const char *key, const void *data, size_t len, plist_t *ret)
{
	if (data == NULL || len == 0 || ret == NULL)
		return AP_EINVAL;
	plist_t d = plist_new_dict(), v = plist_new_data(data, len);
	if (d == NULL || v == NULL) {
		plist_free(d);
		plist_free(v);
		return AP_ENOMEM;
	}
	plist_dict_set_item(d, key, v);
	*ret = d;
	return 0;
}

int ap_cmd_params_install_profile(const void *mobileconfig, size_t len, plist_t *ret)
{
	return data_param("Payload", mobileconfig, len, ret);
}

int ap_cmd_params_clear_passcode(const unsigned char *unlock_token, size_t len, plist_t *ret)
{
	return data_param("UnlockToken", unlock_token, len, ret);
}

int ap_cmd_params_erase(int return_to_service, const void *mdm_profile, size_t mdm_len,
			plist_t *ret)
{
	if (ret == NULL)
		return AP_EINVAL;
	plist_t d = plist_new_dict();
	plist_t rts = return_to_service ? plist_new_dict() : NULL;
	if (d == NULL || (return_to_service && rts == NULL)) {
		plist_free(d);
		plist_free(rts);
		return AP_ENOMEM;
	}
	if (rts != NULL) {
		plist_dict_set_item(rts, "Enabled", plist_new_bool(1));
		if (mdm_profile != NULL && mdm_len > 0)
			plist_dict_set_item(rts, "MDMProfileData",
					    plist_new_data(mdm_profile, mdm_len));
		plist_dict_set_item(d, "ReturnToService", rts);
	}
	*ret = d;
	return 0;
}

int ap_cmd_params_install_app(int64_t itunes_store_id, const char *bundle_id, plist_t *ret)
{
	if (ret == NULL || (itunes_store_id <= 0 && (bundle_id == NULL || *bundle_id == '\0')))
		return AP_EINVAL;
	if (itunes_store_id <= 0 && !ap_plist_text_ok(bundle_id, strlen(bundle_id)))
		return AP_EINVAL;
	plist_t d = plist_new_dict();
	if (d == NULL)
		return AP_ENOMEM;
	if (itunes_store_id > 0) {
		plist_t opt = plist_new_dict();
		plist_dict_set_item(d, "iTunesStoreID", plist_new_uint((uint64_t)itunes_store_id));
		plist_dict_set_item(opt, "PurchaseMethod", plist_new_uint(1));
		plist_dict_set_item(d, "Options", opt);
	} else {
		plist_dict_set_item(d, "Identifier", plist_new_string(bundle_id));
	}
	plist_dict_set_item(d, "ManagementFlags", plist_new_uint(1));
	*ret = d;
	return 0;
}

int ap_cmd_params_declarative_management(const void *tokens_json, size_t len, plist_t *ret)
{
	if (ret == NULL)
		return AP_EINVAL;
	if (tokens_json == NULL || len == 0)
		return (*ret = plist_new_dict()) ? 0 : AP_ENOMEM;
	return data_param("Data", tokens_json, len, ret);
}

/* ---- secret parameters ---- */

static int has_secret(const struct pspec *keys)
{
	for (const struct pspec *k = keys; k && k->key; k++)
		if ((k->flags & P_SECRET) || (k->type == PLIST_DICT && has_secret(k->sub)))
			return 1;
	return 0;
}

int ap_cmd_has_secrets(enum ap_cmd_type t)
{
	const struct cmd *c = lookup(t);
	return c != NULL && has_secret(c->params);
}

/* Moves the secret values of dict d (keys described by keys) into *sec
 * (made on demand, same nesting), leaving AP_CMD_SEALED in their place. */
static void take_secrets(const struct pspec *keys, plist_t d, plist_t *sec)
{
	for (const struct pspec *k = keys; k && k->key; k++) {
		plist_t v = plist_dict_get_item(d, k->key), inner = NULL;
		if (v == NULL)
			continue;
		if (k->flags & P_SECRET) {
			inner = plist_copy(v);
			plist_dict_set_item(d, k->key, plist_new_string(AP_CMD_SEALED));
		} else if (k->type == PLIST_DICT && plist_get_node_type(v) == PLIST_DICT) {
			take_secrets(k->sub, v, &inner);
		}
		if (inner == NULL)
			continue;
		if (*sec == NULL)
			*sec = plist_new_dict();
		plist_dict_set_item(*sec, k->key, inner);
	}
}

/* The Command dictionary of a command plist and the table row of its
 * RequestType. */
static int command_of(plist_t root, plist_t *ret_cmd, const struct cmd **ret_row)
{
	plist_t cmd = NULL;
	char *name = NULL;
	enum ap_cmd_type t;
	int rc = ap_dict_get_node(root, "Command", PLIST_DICT, &cmd);
	if (rc == 0)
		rc = ap_dict_get_string(cmd, "RequestType", &name);
	if (rc == 0)
		rc = ap_cmd_from_name(name, &t);
	free(name);
	if (rc < 0)
		return AP_EPARSE;
	*ret_cmd = cmd;
	*ret_row = lookup(t);
	return 0;
}

int ap_cmd_split_secrets(const char *xml, size_t len, char **ret_public, size_t *ret_plen,
			 char **ret_secret, size_t *ret_slen)
{
	plist_t root = NULL, cmd = NULL, sec = NULL;
	const struct cmd *row = NULL;
	char *pub = NULL, *sx = NULL;
	size_t plen = 0, slen = 0;
	int rc = ap_plist_parse(xml, len, len, &root);
	if (rc == 0)
		rc = command_of(root, &cmd, &row);
	if (rc < 0)
		goto out;
	take_secrets(row->params, cmd, &sec);
	if ((rc = ap_plist_to_xml(root, &pub, &plen)) < 0 ||
	    (sec && (rc = ap_plist_to_xml(sec, &sx, &slen)) < 0))
		goto out;
	*ret_public = pub;
	*ret_plen = plen;
	*ret_secret = sx;
	*ret_slen = slen;
	pub = sx = NULL;
out:
	free(pub);
	free(sx);
	plist_free(sec);
	plist_free(root);
	return rc;
}

/* Copies every value of src into dst, into nested dictionaries where both
 * have one. */
static void put_back(plist_t dst, plist_t src)
{
	plist_dict_iter it = NULL;
	plist_dict_new_iter(src, &it);
	for (char *key = NULL; it != NULL; key = NULL) {
		plist_t v = NULL;
		plist_dict_next_item(src, it, &key, &v);
		if (key == NULL || v == NULL) {
			free(key);
			break;
		}
		plist_t here = plist_dict_get_item(dst, key);
		if (here && plist_get_node_type(here) == PLIST_DICT &&
		    plist_get_node_type(v) == PLIST_DICT)
			put_back(here, v);
		else
			plist_dict_set_item(dst, key, plist_copy(v));
		free(key);
	}
	free(it);
}

int ap_cmd_join_secrets(const char *public_xml, size_t plen, const char *secret_xml, size_t slen,
			char **ret, size_t *ret_len)
{
	plist_t root = NULL, cmd = NULL, sec = NULL;
	const struct cmd *row = NULL;
	int rc = ap_plist_parse(public_xml, plen, plen, &root);
	if (rc == 0)
		rc = command_of(root, &cmd, &row);
	if (rc == 0 && (rc = ap_plist_parse(secret_xml, slen, slen, &sec)) == 0 &&
	    plist_get_node_type(sec) != PLIST_DICT)
		rc = AP_EPARSE;
	if (rc == 0) {
		put_back(cmd, sec);
		rc = ap_plist_to_xml(root, ret, ret_len);
	}
	plist_free(sec);
	plist_free(root);
	return rc;
}
