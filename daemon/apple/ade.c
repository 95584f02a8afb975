/* ade.c - Automated Device Enrolment's bodies and answers (a pure codec). */
#include "ade.h"
#include "ap_err.h"
#include "isodate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ade_skip_panes[] = {
    "AccessibilityAppearance",
    "Android",
    "Appearance",
    "AppleID",
    "AppStore",
    "Biometric",
    "DeviceFeaturesTour",
    "DeviceToDeviceMigration",
    "Diagnostics",
    "EnableLockdownMode",
    "iMessageAndFaceTime",
    "Intelligence",
    "Keyboard",
    "LiquidGlass",
    "Location",
    "MessagingActivationUsingPhoneNumber",
    "Multitasking",
    "OSShowcase",
    "Passcode",
    "Payment",
    "Privacy",
    "Restore",
    "RestoreCompleted",
    "Safety",
    "SafetyAndHandling",
    "ScreenTime",
    "SIMSetup",
    "Siri",
    "SoftwareUpdate",
    "SpokenLanguage",
    "TermsOfAddress",
    "TOS",
    "UpdateCompleted",
    "Welcome",
    NULL,
};

const char *const ade_skip_default[] = {
    "AppleID",	"Android", "AppStore",	   "Biometric",	     "Diagnostics", "iMessageAndFaceTime",
    "Location", "Payment", "Privacy",	   "Restore",	     "ScreenTime",  "Siri",
    "TOS",	"Welcome", "Intelligence", "SoftwareUpdate", "Passcode",    NULL,
};

static int fail(char *err, size_t cap, int rc, const char *path, const char *why)
{
	if (err && cap)
		snprintf(err, cap, "%s: %s", path, why);
	return rc;
}

static int faili(char *err, size_t cap, int rc, const char *arr, size_t i, const char *key,
		 const char *why)
{
	if (err && cap)
		snprintf(err, cap, "%s[%zu]%s%s: %s", arr, i, key ? "." : "", key ? key : "", why);
	return rc;
}

int ade_serial_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= ADE_SERIAL_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int load(const char *text, size_t len, size_t max, json_t **ret, char *err, size_t cap)
{
	json_error_t je;
	if (text == NULL || len > max)
		return fail(err, cap, AP_ETOOBIG, "answer", "too large");
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return fail(err, cap, AP_EPARSE, "answer", "not JSON");
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(err, cap, AP_EPARSE, "answer", "not a JSON object");
	}
	*ret = j;
	return 0;
}

/* Copies a string member into out (cap bytes): cut at a UTF-8 boundary
 * when cut, else refused when too long.  0, 1 when absent or null, or the
 * error (the reason only: the caller names the path). */
static int str_of(json_t *o, const char *key, char *out, size_t outcap, int cut, const char **why)
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_string(v)) {
		*why = "not a string";
		return AP_ETYPE;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n) {
		*why = "holds a NUL";
		return AP_EPARSE;
	}
	if (n >= outcap) {
		if (!cut) {
			*why = "too long";
			return AP_ETOOBIG;
		}
		n = outcap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--; /* s[n] would be a continuation byte: cut before its lead */
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int time_of(json_t *o, const char *key, int64_t *out, const char **why)
{
	char s[64];
	int rc = str_of(o, key, s, sizeof(s), 0, why);
	*out = 0;
	if (rc == 1 || (rc == 0 && s[0] == '\0'))
		return 1;
	if (rc < 0)
		return rc;
	if (strlen(s) <= ISODATE_DAY_LEN || isodate_parse_time(s, out) < 0) {
		*why = "not an ISO 8601 time";
		return AP_EPARSE;
	}
	return 0;
}

/* ---- pages ----------------------------------------------------------------------------------- */

static int device_of(json_t *o, size_t i, struct ade_device *d, char *err, size_t cap)
{
	const char *why = "";
	struct {
		const char *key;
		char *out;
		size_t len;
		int cut;
	} strs[] = {
	    {"serial_number", d->serial, sizeof(d->serial), 0},
	    {"model", d->model, sizeof(d->model), 1},
	    {"description", d->description, sizeof(d->description), 1},
	    {"color", d->color, sizeof(d->color), 1},
	    {"asset_tag", d->asset_tag, sizeof(d->asset_tag), 1},
	    {"os", d->os, sizeof(d->os), 1},
	    {"device_family", d->device_family, sizeof(d->device_family), 1},
	    {"device_assigned_by", d->assigned_by, sizeof(d->assigned_by), 1},
	    {"profile_status", d->profile_status, sizeof(d->profile_status), 0},
	    {"profile_uuid", d->profile_uuid, sizeof(d->profile_uuid), 0},
	    {"op_type", d->op_type, sizeof(d->op_type), 0},
	};
	struct {
		const char *key;
		int64_t *out;
	} times[] = {
	    {"op_date", &d->op_date},
	    {"device_assigned_date", &d->assigned_at},
	    {"profile_assign_time", &d->profile_assign_time},
	    {"profile_push_time", &d->profile_push_time},
	};
	if (!json_is_object(o))
		return faili(err, cap, AP_ETYPE, "devices", i, NULL, "not an object");
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		int rc = str_of(o, strs[k].key, strs[k].out, strs[k].len, strs[k].cut, &why);
		if (rc < 0)
			return faili(err, cap, rc, "devices", i, strs[k].key, why);
	}
	if (d->serial[0] == '\0')
		return faili(err, cap, AP_EMISSING, "devices", i, "serial_number", "missing");
	if (!ade_serial_ok(d->serial))
		return faili(err, cap, AP_EPARSE, "devices", i, "serial_number",
			     "not letters and digits");
	if (d->op_type[0] && strcmp(d->op_type, "added") && strcmp(d->op_type, "modified") &&
	    strcmp(d->op_type, "deleted"))
		return faili(err, cap, AP_EPARSE, "devices", i, "op_type",
			     "not added, modified or deleted");
	if (!printable(d->profile_uuid) || !printable(d->profile_status))
		return faili(err, cap, AP_EPARSE, "devices", i, "profile_uuid",
			     "not printable ASCII");
	for (size_t k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
		int rc = time_of(o, times[k].key, times[k].out, &why);
		if (rc < 0)
			return faili(err, cap, rc, "devices", i, times[k].key, why);
	}
	return 0;
}

int ade_page_parse(const char *text, size_t len, struct ade_page *ret, char *err, size_t cap)
{
	json_t *j = NULL;
	const char *why = "";
	memset(ret, 0, sizeof(*ret));
	int rc = load(text, len, ADE_PAGE_MAX_BYTES, &j, err, cap);
	if (rc < 0)
		return rc;
	rc = str_of(j, "cursor", ret->cursor, sizeof(ret->cursor), 0, &why);
	if (rc < 0 || (rc == 0 && !printable(ret->cursor))) {
		rc = fail(err, cap, rc < 0 ? rc : AP_EPARSE, "cursor",
			  rc < 0 ? why : "not printable ASCII");
		goto out;
	}
	if (rc == 1 || ret->cursor[0] == '\0') {
		rc = fail(err, cap, AP_EMISSING, "cursor", "missing");
		goto out;
	}
	if ((rc = time_of(j, "fetched_until", &ret->fetched_until, &why)) < 0) {
		fail(err, cap, rc, "fetched_until", why);
		goto out;
	}
	json_t *more = json_object_get(j, "more_to_follow");
	if (more && !json_is_null(more) && !json_is_boolean(more)) {
		rc = fail(err, cap, AP_ETYPE, "more_to_follow", "not a boolean");
		goto out;
	}
	ret->more_to_follow = json_is_true(more);
	json_t *devs = json_object_get(j, "devices");
	if (devs == NULL || json_is_null(devs)) {
		rc = 0; /* a page with no device (the last of a sync) */
		goto out;
	}
	if (!json_is_array(devs)) {
		rc = fail(err, cap, AP_ETYPE, "devices", "not an array");
		goto out;
	}
	if (json_array_size(devs) > ADE_PAGE_MAX_DEVS) {
		rc = fail(err, cap, AP_ETOOBIG, "devices", "more than 1000");
		goto out;
	}
	if (json_array_size(devs) > 0) {
		ret->devices = calloc(json_array_size(devs), sizeof(*ret->devices));
		if (ret->devices == NULL) {
			rc = fail(err, cap, AP_ENOMEM, "devices", "out of memory");
			goto out;
		}
	}
	size_t i;
	json_t *d;
	rc = 0;
	json_array_foreach(devs, i, d)
	{
		if ((rc = device_of(d, i, &ret->devices[i], err, cap)) < 0)
			goto out;
		ret->n = i + 1;
	}
out:
	json_decref(j);
	if (rc < 0)
		ade_page_clear(ret);
	return rc < 0 ? rc : 0;
}

void ade_page_clear(struct ade_page *p)
{
	free(p->devices);
	memset(p, 0, sizeof(*p));
}

static int dump(json_t *o, char **ret)
{
	if (o == NULL)
		return AP_ENOMEM;
	*ret = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *ret ? 0 : AP_ENOMEM;
}

int ade_cursor_body(const char *cursor, int limit, char **ret)
{
	*ret = NULL;
	if (limit < 1 || limit > ADE_PAGE_MAX_DEVS ||
	    (cursor && (strlen(cursor) > ADE_CURSOR_MAX || !printable(cursor))))
		return AP_EINVAL;
	json_t *o = json_pack("{s:i}", "limit", limit);
	if (o && cursor && cursor[0] && json_object_set_new(o, "cursor", json_string(cursor)) < 0) {
		json_decref(o);
		return AP_ENOMEM;
	}
	return dump(o, ret);
}

/* ---- profiles -------------------------------------------------------------------------------- */

int ade_skip_ok(const char *pane)
{
	for (size_t i = 0; pane && ade_skip_panes[i]; i++)
		if (strcmp(pane, ade_skip_panes[i]) == 0)
			return 1;
	return 0;
}

static int settings_check(json_t *j, char *err, size_t cap)
{
	static const char *const strs[] = {
	    "profile_name",	     "department", "support_phone_number",
	    "support_email_address", "language",   "region"};
	static const char *const bools[] = {"is_mdm_removable", "await_device_configured",
					    "is_return_to_service"};
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		int known = strcmp(key, "skip_setup_items") == 0;
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			if (strcmp(key, strs[i]) == 0) {
				if (!json_is_string(v))
					return fail(err, cap, AP_ETYPE, key, "not a string");
				if (json_string_length(v) > 255 ||
				    strlen(json_string_value(v)) != json_string_length(v))
					return fail(err, cap, AP_ETOOBIG, key,
						    "longer than 255 bytes");
				known = 1;
			}
		for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
			if (strcmp(key, bools[i]) == 0) {
				if (!json_is_boolean(v))
					return fail(err, cap, AP_ETYPE, key, "not a boolean");
				known = 1;
			}
		if (!known)
			return fail(err, cap, AP_EPARSE, key, "not a profile setting Ardoise sets");
	}
	json_t *name = json_object_get(j, "profile_name");
	if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 64)
		return fail(err, cap, AP_EMISSING, "profile_name", "missing or longer than 64");
	const char *mail = json_string_value(json_object_get(j, "support_email_address"));
	if (mail && mail[0] && strchr(mail, '@') == NULL)
		return fail(err, cap, AP_EPARSE, "support_email_address", "not an address");
	json_t *skip = json_object_get(j, "skip_setup_items");
	if (skip == NULL)
		return 0;
	if (!json_is_array(skip))
		return fail(err, cap, AP_ETYPE, "skip_setup_items", "not an array");
	size_t i;
	json_array_foreach(skip, i, v)
	{
		if (!json_is_string(v))
			return faili(err, cap, AP_ETYPE, "skip_setup_items", i, NULL,
				     "not a string");
		if (!ade_skip_ok(json_string_value(v)))
			return faili(err, cap, AP_EPARSE, "skip_setup_items", i, NULL,
				     "not a pane of Setup Assistant");
	}
	return 0;
}

int ade_settings_check(const char *text, size_t len, char *err, size_t cap)
{
	json_t *j = NULL;
	int rc = load(text, len, ADE_ANSWER_MAX, &j, err, cap);
	if (rc == 0)
		rc = settings_check(j, err, cap);
	json_decref(j);
	return rc;
}

int ade_profile_body(const char *settings, size_t len, const char *url, const char *const *anchors,
		     size_t n, char **ret, char *err, size_t cap)
{
	json_t *j = NULL;
	*ret = NULL;
	if (url == NULL || strncmp(url, "https://", 8) != 0 || url[8] == '\0')
		return fail(err, cap, AP_EINVAL, "url", "not https://...");
	int rc = load(settings, len, ADE_ANSWER_MAX, &j, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = settings_check(j, err, cap)) < 0) {
		json_decref(j);
		return rc;
	}
	json_object_set_new(j, "url", json_string(url));
	if (n > 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(anchors[i]));
		json_object_set_new(j, "anchor_certs", a);
	}
	rc = dump(j, ret);
	return rc < 0 ? fail(err, cap, rc, "profile", "out of memory") : 0;
}

static int uuid_of(json_t *j, char uuid[ADE_UUID_MAX + 1], char *err, size_t cap)
{
	const char *why = "";
	int rc = str_of(j, "profile_uuid", uuid, ADE_UUID_MAX + 1, 0, &why);
	if (rc < 0)
		return fail(err, cap, rc, "profile_uuid", why);
	if (rc == 1 || uuid[0] == '\0')
		return fail(err, cap, AP_EMISSING, "profile_uuid", "missing");
	if (!printable(uuid))
		return fail(err, cap, AP_EPARSE, "profile_uuid", "not printable ASCII");
	return 0;
}

int ade_define_parse(const char *text, size_t len, char uuid[ADE_UUID_MAX + 1], char *err,
		     size_t cap)
{
	json_t *j = NULL;
	uuid[0] = '\0';
	int rc = load(text, len, ADE_ANSWER_MAX, &j, err, cap);
	if (rc == 0 && (rc = uuid_of(j, uuid, err, cap)) < 0)
		uuid[0] = '\0';
	json_decref(j);
	return rc;
}

int ade_assign_body(const char *uuid, const char *const *serials, size_t n, char **ret)
{
	*ret = NULL;
	if (uuid == NULL || uuid[0] == '\0' || strlen(uuid) > ADE_UUID_MAX || n == 0 ||
	    n > ADE_ASSIGN_MAX)
		return AP_EINVAL;
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (!ade_serial_ok(serials[i])) {
			json_decref(a);
			return AP_EINVAL;
		}
		json_array_append_new(a, json_string(serials[i]));
	}
	return dump(json_pack("{s:s,s:o}", "profile_uuid", uuid, "devices", a), ret);
}

static const char *const assign_names[] = {"SUCCESS", "NOT_ACCESSIBLE", "FAILED", "THROTTLED",
					   "UNKNOWN"};

const char *ade_assign_status_name(enum ade_assign_status s)
{
	return (unsigned)s <= ADE_ASSIGN_UNKNOWN ? assign_names[s] : "UNKNOWN";
}

int ade_assign_parse(const char *text, size_t len, struct ade_assign *ret, char *err, size_t cap)
{
	json_t *j = NULL;
	memset(ret, 0, sizeof(*ret));
	int rc = load(text, len, ADE_ANSWER_MAX, &j, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = uuid_of(j, ret->profile_uuid, err, cap)) < 0)
		goto out;
	json_t *ra = json_object_get(j, "retry_after_seconds");
	if (ra && !json_is_null(ra)) {
		if (!json_is_integer(ra) || json_integer_value(ra) < 0) {
			rc = fail(err, cap, AP_ETYPE, "retry_after_seconds",
				  "not a positive integer");
			goto out;
		}
		ret->retry_after = json_integer_value(ra) > ADE_RETRY_MAX_S
				       ? ADE_RETRY_MAX_S
				       : (int64_t)json_integer_value(ra);
	}
	json_t *devs = json_object_get(j, "devices");
	if (!json_is_object(devs)) {
		rc = fail(err, cap, devs ? AP_ETYPE : AP_EMISSING, "devices", "not an object");
		goto out;
	}
	if (json_object_size(devs) > ADE_ASSIGN_MAX) {
		rc = fail(err, cap, AP_ETOOBIG, "devices", "more than 1000");
		goto out;
	}
	ret->items = calloc(json_object_size(devs) + 1, sizeof(*ret->items));
	if (ret->items == NULL) {
		rc = fail(err, cap, AP_ENOMEM, "devices", "out of memory");
		goto out;
	}
	const char *serial;
	json_t *v;
	json_object_foreach(devs, serial, v)
	{
		struct ade_assign_item *it = &ret->items[ret->n];
		if (!ade_serial_ok(serial)) {
			rc =
			    fail(err, cap, AP_EPARSE, "devices", "a serial not letters and digits");
			goto out;
		}
		if (!json_is_string(v)) {
			rc = fail(err, cap, AP_ETYPE, serial, "status not a string");
			goto out;
		}
		snprintf(it->serial, sizeof(it->serial), "%s", serial);
		it->status = ADE_ASSIGN_UNKNOWN;
		for (int s = ADE_ASSIGN_SUCCESS; s < ADE_ASSIGN_UNKNOWN; s++)
			if (strcmp(json_string_value(v), assign_names[s]) == 0)
				it->status = (enum ade_assign_status)s;
		ret->n++;
	}
	rc = 0;
out:
	json_decref(j);
	if (rc < 0)
		ade_assign_clear(ret);
	return rc;
}

void ade_assign_clear(struct ade_assign *a)
{
	free(a->items);
	memset(a, 0, sizeof(*a));
}
