/*
 * ap_result.c - typed views of command results.  Each view is a table of
 * (key, type, member) rows read by one function.
 */
#include "ap_result.h"
#include "ap_err.h"
#include "ap_plist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum vtype { V_STRING, V_REAL, V_BOOL, V_INT, V_I64 };

#define NO_HAS ((size_t)-1)

/* A result key read into the member at `off` (char *, double, int or
 * int64_t); `has` is the offset of an int set to 1 when the key was
 * present, or NO_HAS. */
struct vfield {
	const char *key;
	enum vtype type;
	size_t off;
	size_t has;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int read_int(plist_t dict, const char *key, int *ret)
{
	int64_t v;
	int rc = ap_dict_get_int(dict, key, &v);

	if (rc < 0)
		return rc;
	if (v < INT_MIN || v > INT_MAX)
		return AP_EINVAL;
	*ret = (int)v;
	return 0;
}

static int read_one(plist_t dict, const struct vfield *f, char *base)
{
	void *dst = base + f->off;

	switch (f->type) {
	case V_STRING:
		return ap_dict_get_string(dict, f->key, (char **)dst);
	case V_REAL:
		return ap_dict_get_real(dict, f->key, (double *)dst);
	case V_BOOL:
		return ap_dict_get_bool(dict, f->key, (int *)dst);
	case V_INT:
		return read_int(dict, f->key, (int *)dst);
	case V_I64:
		return ap_dict_get_int(dict, f->key, (int64_t *)dst);
	}
	return AP_EINTERNAL;
}

/* Reads every present key of the table into base; absent keys are left as
 * they are.  On error, strings already read stay in base for the caller's
 * free function. */
static int read_fields(plist_t dict, const struct vfield *f, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		int rc = read_one(dict, &f[i], base);
		if (rc == AP_EMISSING)
			continue;
		if (rc < 0)
			return rc;
		if (f[i].has != NO_HAS)
			*(int *)((char *)base + f[i].has) = 1;
	}
	return 0;
}

static void free_strings(const struct vfield *f, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].type != V_STRING)
			continue;
		char **p = (char **)((char *)base + f[i].off);
		free(*p);
		*p = NULL;
	}
}

static int container(plist_t report, const char *key, plist_type type, plist_t *ret)
{
	if (report == NULL || plist_get_node_type(report) != PLIST_DICT)
		return AP_EINVAL;
	return ap_dict_get_node(report, key, type, ret);
}

/* ---- DeviceInformation ---- */

#define DI(m) offsetof(struct ap_device_info, m)
static const struct vfield device_fields[] = {
    {"UDID", V_STRING, DI(udid), NO_HAS},
    {"SerialNumber", V_STRING, DI(serial), NO_HAS},
    {"DeviceName", V_STRING, DI(device_name), NO_HAS},
    {"Model", V_STRING, DI(model), NO_HAS},
    {"ModelName", V_STRING, DI(model_name), NO_HAS},
    {"ProductName", V_STRING, DI(product_name), NO_HAS},
    {"OSVersion", V_STRING, DI(os_version), NO_HAS},
    {"BuildVersion", V_STRING, DI(build_version), NO_HAS},
    {"WiFiMAC", V_STRING, DI(wifi_mac), NO_HAS},
    {"DeviceCapacity", V_REAL, DI(capacity_gb), DI(has_capacity)},
    {"AvailableDeviceCapacity", V_REAL, DI(available_gb), DI(has_available)},
    {"BatteryLevel", V_REAL, DI(battery_level), DI(has_battery)},
    {"IsSupervised", V_BOOL, DI(supervised), DI(has_supervised)},
    {"IsMDMLostModeEnabled", V_BOOL, DI(lost_mode), DI(has_lost_mode)},
};

int ap_result_device_info(plist_t report_dict, struct ap_device_info **ret)
{
	plist_t q;
	int rc = container(report_dict, "QueryResponses", PLIST_DICT, &q);

	if (rc < 0)
		return rc;
	struct ap_device_info *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return AP_ENOMEM;
	rc = read_fields(q, device_fields, N(device_fields), d);
	if (rc < 0) {
		ap_device_info_free(d);
		return rc;
	}
	*ret = d;
	return 0;
}

void ap_device_info_free(struct ap_device_info *d)
{
	if (d == NULL)
		return;
	free_strings(device_fields, N(device_fields), d);
	free(d);
}

/* ---- SecurityInfo ---- */

#define SI(m) offsetof(struct ap_security_info, m)
static const struct vfield security_fields[] = {
    {"HardwareEncryptionCaps", V_INT, SI(hw_encryption_caps), NO_HAS},
    {"PasscodePresent", V_BOOL, SI(passcode_present), SI(has_passcode_present)},
    {"PasscodeCompliant", V_BOOL, SI(passcode_compliant), NO_HAS},
    {"PasscodeCompliantWithProfiles", V_BOOL, SI(passcode_compliant_with_profiles), NO_HAS},
};

int ap_result_security_info(plist_t report_dict, struct ap_security_info *ret)
{
	struct ap_security_info s = {0};
	plist_t d;
	int rc = container(report_dict, "SecurityInfo", PLIST_DICT, &d);

	if (rc == 0)
		rc = read_fields(d, security_fields, N(security_fields), &s);
	if (rc == 0)
		*ret = s;
	return rc;
}

/* ---- lists ---- */

/* How to read one kind of list: rows per item, item size, free function. */
struct list_kind {
	const struct vfield *fields;
	size_t n_fields;
	size_t size;
	size_t max;
};

static void list_free(const struct list_kind *k, void *items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free_strings(k->fields, k->n_fields, (char *)items + i * k->size);
	free(items);
}

/* Array of dictionaries -> array of structs. */
static int read_array(plist_t report, const char *key, const struct list_kind *k, void **ret,
		      size_t *ret_n)
{
	plist_t arr;
	char *items = NULL;
	int rc = container(report, key, PLIST_ARRAY, &arr);

	if (rc < 0)
		return rc;
	size_t n = plist_array_get_size(arr);
	if (n > k->max)
		return AP_ETOOBIG;
	if (n > 0 && (items = calloc(n, k->size)) == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		plist_t it = plist_array_get_item(arr, (uint32_t)i);
		if (plist_get_node_type(it) != PLIST_DICT)
			rc = AP_ETYPE;
		else
			rc = read_fields(it, k->fields, k->n_fields, items + i * k->size);
	}
	if (rc < 0) {
		list_free(k, items, n);
		return rc;
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

#define AP(m) offsetof(struct ap_app, m)
static const struct vfield app_fields[] = {
    {"Identifier", V_STRING, AP(identifier), NO_HAS},
    {"Name", V_STRING, AP(name), NO_HAS},
    {"ShortVersion", V_STRING, AP(short_version), NO_HAS},
    {"Version", V_STRING, AP(version), NO_HAS},
};
static const struct list_kind app_kind = {app_fields, N(app_fields), sizeof(struct ap_app),
					  AP_RESULT_MAX_APPS};

int ap_result_installed_apps(plist_t report_dict, struct ap_app **ret, size_t *ret_n)
{
	void *items = NULL;
	size_t n = 0;
	int rc = read_array(report_dict, "InstalledApplicationList", &app_kind, &items, &n);

	if (rc < 0)
		return rc;
	*ret = items;
	*ret_n = n;
	return 0;
}

void ap_apps_free(struct ap_app *apps, size_t n)
{
	list_free(&app_kind, apps, n);
}

#define PI(m) offsetof(struct ap_profile_info, m)
static const struct vfield profile_fields[] = {
    {"PayloadIdentifier", V_STRING, PI(identifier), NO_HAS},
    {"PayloadUUID", V_STRING, PI(uuid), NO_HAS},
    {"PayloadDisplayName", V_STRING, PI(display_name), NO_HAS},
    {"IsManaged", V_BOOL, PI(managed), NO_HAS},
};
static const struct list_kind profile_kind = {
    profile_fields, N(profile_fields), sizeof(struct ap_profile_info), AP_RESULT_MAX_PROFILES};

int ap_result_profile_list(plist_t report_dict, struct ap_profile_info **ret, size_t *ret_n)
{
	void *items = NULL;
	size_t n = 0;
	int rc = read_array(report_dict, "ProfileList", &profile_kind, &items, &n);

	if (rc < 0)
		return rc;
	*ret = items;
	*ret_n = n;
	return 0;
}

void ap_profiles_free(struct ap_profile_info *profiles, size_t n)
{
	list_free(&profile_kind, profiles, n);
}

/* ManagedApplicationList: dictionary keyed by bundle identifier. */
#define MA(m) offsetof(struct ap_managed_app, m)
static const struct vfield managed_fields[] = {
    {"Status", V_STRING, MA(status), NO_HAS},
    {"ManagementFlags", V_I64, MA(management_flags), NO_HAS},
};
static const struct vfield managed_all_strings[] = {
    {"", V_STRING, MA(identifier), NO_HAS},
    {"", V_STRING, MA(status), NO_HAS},
};
static const struct list_kind managed_kind = {managed_all_strings, N(managed_all_strings),
					      sizeof(struct ap_managed_app), AP_RESULT_MAX_APPS};

static int read_managed(plist_t d, struct ap_managed_app *items, size_t n)
{
	plist_dict_iter it = NULL;
	int rc = 0;

	plist_dict_new_iter(d, &it);
	if (it == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *key = NULL;
		plist_t val = NULL;
		plist_dict_next_item(d, it, &key, &val);
		if (key == NULL || val == NULL) {
			free(key);
			rc = AP_EINTERNAL;
			break;
		}
		items[i].identifier = key;
		if (plist_get_node_type(val) != PLIST_DICT)
			rc = AP_ETYPE;
		else
			rc = read_fields(val, managed_fields, N(managed_fields), &items[i]);
	}
	free(it);
	return rc;
}

int ap_result_managed_apps(plist_t report_dict, struct ap_managed_app **ret, size_t *ret_n)
{
	plist_t d;
	struct ap_managed_app *items = NULL;
	int rc = container(report_dict, "ManagedApplicationList", PLIST_DICT, &d);

	if (rc < 0)
		return rc;
	size_t n = plist_dict_get_size(d);
	if (n > AP_RESULT_MAX_APPS)
		return AP_ETOOBIG;
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL)
		return AP_ENOMEM;
	rc = read_managed(d, items, n);
	if (rc < 0) {
		ap_managed_apps_free(items, n);
		return rc;
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

void ap_managed_apps_free(struct ap_managed_app *apps, size_t n)
{
	list_free(&managed_kind, apps, n);
}

/* ---- DeviceLocation ---- */

#define LO(m) offsetof(struct ap_location, m)
static const struct vfield location_fields[] = {
    {"Latitude", V_REAL, LO(latitude), NO_HAS},
    {"Longitude", V_REAL, LO(longitude), NO_HAS},
    {"HorizontalAccuracy", V_REAL, LO(horizontal_accuracy), NO_HAS},
    {"VerticalAccuracy", V_REAL, LO(vertical_accuracy), NO_HAS},
    {"Altitude", V_REAL, LO(altitude), NO_HAS},
    {"Speed", V_REAL, LO(speed), NO_HAS},
    {"Course", V_REAL, LO(course), NO_HAS},
    {"Timestamp", V_STRING, LO(timestamp), NO_HAS},
};

int ap_result_location(plist_t report_dict, struct ap_location *ret)
{
	struct ap_location l = {.horizontal_accuracy = -1,
				.vertical_accuracy = -1,
				.altitude = -1,
				.speed = -1,
				.course = -1};
	double tmp;
	int rc;

	if (report_dict == NULL || plist_get_node_type(report_dict) != PLIST_DICT)
		return AP_EINVAL;
	if ((rc = ap_dict_get_real(report_dict, "Latitude", &tmp)) < 0 ||
	    (rc = ap_dict_get_real(report_dict, "Longitude", &tmp)) < 0)
		return rc;
	rc = read_fields(report_dict, location_fields, N(location_fields), &l);
	if (rc == 0 &&
	    (l.latitude < -90 || l.latitude > 90 || l.longitude < -180 || l.longitude > 180))
		rc = AP_EINVAL;
	if (rc < 0) {
		ap_location_clear(&l);
		return rc;
	}
	*ret = l;
	return 0;
}

void ap_location_clear(struct ap_location *l)
{
	if (l == NULL)
		return;
	free(l->timestamp);
	memset(l, 0, sizeof(*l));
}

/* ---- single strings ---- */

static int result_string(plist_t report, const char *key, char **ret)
{
	if (report == NULL || plist_get_node_type(report) != PLIST_DICT)
		return AP_EINVAL;
	return ap_dict_get_string(report, key, ret);
}

int ap_result_bypass_code(plist_t report_dict, char **ret)
{
	return result_string(report_dict, "ActivationLockBypassCode", ret);
}

int ap_result_device_lock(plist_t report_dict, char **ret_message_result)
{
	return result_string(report_dict, "MessageResult", ret_message_result);
}

/* ---- secrets ---- */

static const char *const secret_keys[] = {
    "ActivationLockBypassCode",
    "Latitude",
    "Longitude",
    "HorizontalAccuracy",
    "VerticalAccuracy",
    "Altitude",
    "Speed",
    "Course",
    "Timestamp",
};

static int walk_secrets(plist_t report_dict, int redact)
{
	int n = 0;
	if (report_dict == NULL || plist_get_node_type(report_dict) != PLIST_DICT)
		return 0;
	for (size_t i = 0; i < N(secret_keys); i++) {
		if (plist_dict_get_item(report_dict, secret_keys[i]) == NULL)
			continue;
		n++;
		if (redact)
			plist_dict_set_item(report_dict, secret_keys[i],
					    plist_new_string(AP_RESULT_NOT_STORED));
	}
	return n;
}

int ap_result_has_secrets(plist_t report_dict)
{
	return walk_secrets(report_dict, 0) > 0;
}

int ap_result_redact(plist_t report_dict)
{
	return walk_secrets(report_dict, 1);
}
