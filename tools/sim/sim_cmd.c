/*
 * sim_cmd.c - what the simulated iPad does for each command: the handler
 * table, the error table, and the handlers that change the tablet (profiles,
 * apps, passcode, lock, lost mode, erase, power, settings).  The inventory
 * queries are in sim_cmd_info.c.
 */
#include "sim_cmd.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "sim_ddm.h"
#include "sim_profile.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ---- */

/* Codes and domains as iPads report them; 12067 (not in lost mode) is
 * Apple's documented value, the others are plausible stand-ins. */
static const struct {
	int64_t code;
	const char *domain, *fr, *en;
} errors[] = {
    [SIM_ERR_NOT_LOST] = {12067, "MCMDMErrorDomain", "L’appareil n’est pas en mode Perdu.",
			  "The device is not in Lost Mode."},
    [SIM_ERR_UNLOCK_TOKEN] = {12010, "MCMDMErrorDomain",
			      "Le jeton de déverrouillage n’est pas valide.",
			      "The unlock token is not valid."},
    [SIM_ERR_PROFILE_MALFORMED] = {1000, "MCProfileErrorDomain", "Le profil est mal formé.",
				   "The profile is malformed."},
    [SIM_ERR_PROFILE_SIGNATURE] = {1009, "MCProfileErrorDomain",
				   "La signature du profil n’est pas valide.",
				   "The profile signature is not valid."},
    [SIM_ERR_PROFILE_ABSENT] = {1003, "MCProfileErrorDomain", "Le profil n’est pas installé.",
				"The profile is not installed."},
    [SIM_ERR_MDM_PROFILE] = {12026, "MCMDMErrorDomain",
			     "Le profil de gestion ne peut pas être remplacé ni supprimé ainsi.",
			     "The MDM profile cannot be replaced or removed this way."},
    [SIM_ERR_APP_ABSENT] = {12024, "MCMDMErrorDomain", "L’app n’est pas gérée.",
			    "The app is not managed."},
    [SIM_ERR_FULL] = {12080, "MCMDMErrorDomain", "Espace insuffisant sur l’appareil.",
		      "Not enough space on the device."},
    [SIM_ERR_UNKNOWN_COMMAND] = {12021, "MCMDMErrorDomain", "Commande inconnue.",
				 "The command is not recognized."},
    [SIM_ERR_BAD_PARAMETERS] = {12001, "MCMDMErrorDomain",
				"Les paramètres de la commande ne sont pas valides.",
				"The command parameters are not valid."},
};

static plist_t error_chain(enum sim_cmd_err e)
{
	plist_t chain = plist_new_array(), item = plist_new_dict();

	sim_plist_set_int(item, "ErrorCode", errors[e].code);
	sim_plist_set_str(item, "ErrorDomain", errors[e].domain);
	sim_plist_set_str(item, "LocalizedDescription", errors[e].fr);
	sim_plist_set_str(item, "USEnglishDescription", errors[e].en);
	plist_array_append_item(chain, item);
	return chain;
}

int sim_cmd_fail(plist_t report, enum sim_cmd_err e)
{
	if ((unsigned)e >= sizeof(errors) / sizeof(errors[0]))
		return AP_EINVAL;
	plist_dict_set_item(report, "ErrorChain", error_chain(e));
	return SIM_ERROR;
}

/* ---- profiles ---- */

static struct sim_profile *find_profile(struct sim_device *d, const char *identifier)
{
	for (size_t i = 0; i < d->n_profiles; i++)
		if (strcmp(d->profiles[i].identifier, identifier) == 0)
			return &d->profiles[i];
	return NULL;
}

static int install_profile(struct sim_device *d, plist_t cmd, plist_t report)
{
	unsigned char *payload = NULL;
	size_t len = 0;
	plist_t profile = NULL;
	struct sim_profile_id id = {0};
	int rc = ap_dict_get_data(cmd, "Payload", &payload, &len);

	if (rc < 0)
		return rc == AP_ENOMEM ? rc : sim_cmd_fail(report, SIM_ERR_PROFILE_MALFORMED);
	rc = sim_profile_open(payload, len, NULL, &profile, NULL);
	free(payload);
	if (rc == AP_EBADSIG)
		return sim_cmd_fail(report, SIM_ERR_PROFILE_SIGNATURE);
	if (rc == 0)
		rc = sim_profile_id(profile, &id);
	plist_free(profile);
	if (rc == AP_ENOMEM)
		return rc;
	if (rc < 0)
		return sim_cmd_fail(report, SIM_ERR_PROFILE_MALFORMED);
	struct sim_profile *old = find_profile(d, id.identifier);
	if (old && !old->managed)
		rc = sim_cmd_fail(report, SIM_ERR_MDM_PROFILE);
	else if ((rc = sim_device_put_profile(d, id.identifier, id.uuid, id.name, 1)) == 0)
		rc = SIM_ACK;
	else if (rc == AP_ELIMIT)
		rc = sim_cmd_fail(report, SIM_ERR_FULL);
	d->dirty |= rc == SIM_ACK;
	sim_profile_id_clear(&id);
	return rc;
}

static int remove_profile(struct sim_device *d, plist_t cmd, plist_t report)
{
	char *identifier = NULL;
	int rc = ap_dict_get_string(cmd, "Identifier", &identifier);

	if (rc < 0)
		return rc;
	struct sim_profile *p = find_profile(d, identifier);
	free(identifier);
	if (p == NULL)
		return sim_cmd_fail(report, SIM_ERR_PROFILE_ABSENT);
	if (!p->managed)
		return sim_cmd_fail(report, SIM_ERR_MDM_PROFILE);
	free(p->identifier);
	free(p->uuid);
	free(p->name);
	size_t i = (size_t)(p - d->profiles);
	memmove(p, p + 1, (d->n_profiles - i - 1) * sizeof(*p));
	d->n_profiles--;
	d->dirty = 1;
	return SIM_ACK;
}

/* ---- apps ---- */

static struct sim_app *find_app(struct sim_device *d, const char *identifier)
{
	for (size_t i = 0; i < d->n_apps; i++)
		if (strcmp(d->apps[i].identifier, identifier) == 0)
			return &d->apps[i];
	return NULL;
}

/* The bundle identifier an InstallApplication names: Identifier, else
 * one made from the store ID or the manifest URL (the simulator has no App
 * Store to ask). */
static int app_identifier(plist_t cmd, char *out, size_t cap)
{
	char *s = NULL;
	int64_t store_id = 0;

	if (ap_dict_get_string(cmd, "Identifier", &s) == 0) {
		snprintf(out, cap, "%s", s);
		free(s);
		return 0;
	}
	if (ap_dict_get_int(cmd, "iTunesStoreID", &store_id) == 0) {
		snprintf(out, cap, "com.apps.store.id%lld", (long long)store_id);
		return 0;
	}
	if (ap_dict_get_string(cmd, "ManifestURL", &s) == 0) {
		const char *base = strrchr(s, '/');
		snprintf(out, cap, "fr.ardoise.inhouse.%.100s", base && base[1] ? base + 1 : "app");
		for (char *p = out; *p; p++)
			if (*p == '?' || *p == '#')
				*p = '\0';
		free(s);
		return 0;
	}
	return AP_EMISSING;
}

/* Name shown under the icon: the last part of the bundle identifier. */
static const char *app_name(const char *identifier)
{
	const char *dot = strrchr(identifier, '.');
	return dot && dot[1] ? dot + 1 : identifier;
}

static int install_application(struct sim_device *d, plist_t cmd, plist_t report)
{
	char id[256], *change = NULL;
	int rc = app_identifier(cmd, id, sizeof(id));

	if (rc < 0)
		return sim_cmd_fail(report, SIM_ERR_BAD_PARAMETERS);
	/* a pupil's iPad has no Apple Account: an App Store app installs only
	 * with its device licence (Options.PurchaseMethod 1) */
	int64_t store_id = 0, method = 0;
	plist_t opts = plist_dict_get_item(cmd, "Options");
	if (ap_dict_get_int(cmd, "iTunesStoreID", &store_id) == 0 &&
	    (opts == NULL || ap_dict_get_int(opts, "PurchaseMethod", &method) < 0 || method != 1))
		return sim_cmd_fail(report, SIM_ERR_BAD_PARAMETERS);
	sim_plist_set_str(report, "Identifier", id);
	struct sim_app *a = find_app(d, id);
	int take_over = ap_dict_get_string(cmd, "ChangeManagementState", &change) == 0;
	free(change);
	if (a && !a->managed && !take_over) {
		sim_plist_set_str(report, "State", "Failed");
		sim_plist_set_str(report, "RejectionReason", "AppAlreadyInstalled");
		return SIM_ACK;
	}
	if (a && !a->managed) {
		a->managed = 1;
		sim_plist_set_str(report, "State", "Managed");
		d->dirty = 1;
		return SIM_ACK;
	}
	rc = sim_device_put_app(d, id, a ? a->name : app_name(id), "1.0", "1.0", 1);
	if (rc == AP_ELIMIT)
		return sim_cmd_fail(report, SIM_ERR_FULL);
	if (rc < 0)
		return rc;
	/* the download happens after the answer, as on a real iPad */
	sim_plist_set_str(report, "State", a ? "Updating" : "Queued");
	d->dirty = 1;
	return SIM_ACK;
}

static int remove_application(struct sim_device *d, plist_t cmd, plist_t report)
{
	char *identifier = NULL;
	int rc = ap_dict_get_string(cmd, "Identifier", &identifier);

	if (rc < 0)
		return rc;
	struct sim_app *a = find_app(d, identifier);
	free(identifier);
	if (a == NULL || !a->managed)
		return sim_cmd_fail(report, SIM_ERR_APP_ABSENT);
	free(a->identifier);
	free(a->name);
	free(a->version);
	free(a->short_version);
	size_t i = (size_t)(a - d->apps);
	memmove(a, a + 1, (d->n_apps - i - 1) * sizeof(*a));
	d->n_apps--;
	d->dirty = 1;
	return SIM_ACK;
}

/* ---- passcode, lock, lost mode ---- */

static int clear_passcode(struct sim_device *d, plist_t cmd, plist_t report)
{
	unsigned char *token = NULL;
	size_t len = 0;
	int rc = ap_dict_get_data(cmd, "UnlockToken", &token, &len);

	if (rc < 0)
		return rc;
	int ok = len == sizeof(d->unlock_token) && CRYPTO_memcmp(token, d->unlock_token, len) == 0;
	OPENSSL_cleanse(token, len);
	free(token);
	if (!ok)
		return sim_cmd_fail(report, SIM_ERR_UNLOCK_TOKEN);
	d->dirty |= d->passcode_present;
	d->passcode_present = 0;
	return SIM_ACK;
}

static int device_lock(struct sim_device *d, plist_t cmd, plist_t report)
{
	int has_text =
	    plist_dict_get_item(cmd, "Message") || plist_dict_get_item(cmd, "PhoneNumber");
	const char *result = "Success";

	if (d->lost_mode)
		result = "DeviceInLostMode";
	else if (has_text && !d->passcode_present)
		result = "NoPasscodeSet"; /* the text is shown only over a passcode prompt */
	sim_plist_set_str(report, "MessageResult", result);
	return SIM_ACK;
}

static int enable_lost_mode(struct sim_device *d, plist_t cmd, plist_t report)
{
	d->dirty |= !d->lost_mode;
	d->lost_mode = 1;
	return SIM_ACK;
}

static int disable_lost_mode(struct sim_device *d, plist_t cmd, plist_t report)
{
	if (!d->lost_mode)
		return sim_cmd_fail(report, SIM_ERR_NOT_LOST);
	d->lost_mode = 0;
	d->dirty = 1;
	return SIM_ACK;
}

static int play_lost_mode_sound(struct sim_device *d, plist_t cmd, plist_t report)
{
	return d->lost_mode ? SIM_ACK : sim_cmd_fail(report, SIM_ERR_NOT_LOST);
}

static int device_location(struct sim_device *d, plist_t cmd, plist_t report)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!d->lost_mode)
		return sim_cmd_fail(report, SIM_ERR_NOT_LOST);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sim_plist_set_real(report, "Latitude", d->latitude);
	sim_plist_set_real(report, "Longitude", d->longitude);
	sim_plist_set_real(report, "HorizontalAccuracy", 5 + 60 * sim_device_hash01(d->udid, ts));
	sim_plist_set_real(report, "VerticalAccuracy", -1);
	sim_plist_set_real(report, "Altitude", -1);
	sim_plist_set_real(report, "Speed", -1);
	sim_plist_set_real(report, "Course", -1);
	sim_plist_set_str(report, "Timestamp", ts);
	return SIM_ACK;
}

/* ---- erase, power ---- */

static int erase_device(struct sim_device *d, plist_t cmd, plist_t report)
{
	/* acknowledged first, then the iPad wipes itself (the session ends) */
	int rc = sim_device_wipe(d);

	d->end_session = 1;
	return rc < 0 ? rc : SIM_ACK;
}

static int power(struct sim_device *d, plist_t cmd, plist_t report)
{
	d->end_session = 1; /* it goes away; it comes back on its own later */
	return SIM_ACK;
}

static int device_configured(struct sim_device *d, plist_t cmd, plist_t report)
{
	d->dirty |= d->awaiting_configuration;
	d->awaiting_configuration = 0;
	return SIM_ACK;
}

/* Supervised iPads without Activation Lock still have a bypass code; this
 * one is stable per device. */
static int bypass_code(struct sim_device *d, plist_t cmd, plist_t report)
{
	static const char alphabet[] = "0123456789ACDEFGHJKLMNPQRTUVWXYZ";
	unsigned char b[25];
	char code[30];
	size_t o = 0;

	sim_device_hash_bytes(d->udid, "bypass", b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i && i % 5 == 0)
			code[o++] = '-';
		code[o++] = alphabet[b[i] & 31];
	}
	code[o] = '\0';
	sim_plist_set_str(report, "ActivationLockBypassCode", code);
	return SIM_ACK;
}

/* ---- settings ---- */

static void copy_setting(plist_t item, const char *key, char *out, size_t cap)
{
	char *s = NULL;

	if (ap_dict_get_string(item, key, &s) == 0) {
		snprintf(out, cap, "%s", s);
		free(s);
	}
}

/* Applies one Settings item; returns its result dictionary. */
static plist_t apply_setting(struct sim_device *d, plist_t item)
{
	plist_t res = plist_new_dict(), org = NULL;
	char *what = NULL, *app = NULL;

	ap_dict_get_string(item, "Item", &what);
	if (ap_dict_get_string(item, "Identifier", &app) == 0)
		sim_plist_set_str(res, "Identifier", app);
	sim_plist_set_str(res, "Status", "Acknowledged");
	if (what && strcmp(what, "DeviceName") == 0) {
		copy_setting(item, "DeviceName", d->device_name, sizeof(d->device_name));
	} else if (what && strcmp(what, "TimeZone") == 0) {
		copy_setting(item, "TimeZone", d->time_zone, sizeof(d->time_zone));
	} else if (what && strcmp(what, "OrganizationInfo") == 0 &&
		   ap_dict_get_node(item, "OrganizationInfo", PLIST_DICT, &org) == 0) {
		copy_setting(org, "OrganizationName", d->organization, sizeof(d->organization));
	} else if (app && !find_app(d, app)) {
		sim_plist_set_str(res, "Status", "Error");
		plist_dict_set_item(res, "ErrorChain", error_chain(SIM_ERR_APP_ABSENT));
	}
	d->dirty = 1;
	free(what);
	free(app);
	return res;
}

/* The response is an array of per-setting results (what iPads send; the
 * schema's single dictionary is accepted by the validator with a warning). */
static int settings(struct sim_device *d, plist_t cmd, plist_t report)
{
	plist_t items = NULL, out = plist_new_array();

	ap_dict_get_node(cmd, "Settings", PLIST_ARRAY, &items);
	for (uint32_t i = 0; items && i < plist_array_get_size(items); i++)
		plist_array_append_item(out, apply_setting(d, plist_array_get_item(items, i)));
	plist_dict_set_item(report, "Settings", out);
	return SIM_ACK;
}

/* ---- declarative device management ---- */

/* DeclarativeManagement (iOS 15+): Data, when given, is the tokens
 * document; DDM turns on and the session ends with a sync (sim_ddm.h).
 * An older iPadOS does not know the command. */
static int declarative_management(struct sim_device *d, plist_t cmd, plist_t report)
{
	unsigned char *data = NULL;
	size_t len = 0;

	if (sim_ddm_version_cmp(d->os_version, "15.0") < 0) {
		int rc = sim_cmd_fail(report, SIM_ERR_UNKNOWN_COMMAND);
		return rc < 0 ? rc : AP_STATUS_FORMAT_ERROR;
	}
	int rc = ap_dict_get_data(cmd, "Data", &data, &len);
	if (rc == AP_ENOMEM)
		return rc;
	rc = sim_ddm_command(d, rc == 0 ? data : NULL, rc == 0 ? len : 0);
	free(data);
	if (rc == AP_ENOMEM)
		return rc;
	return rc < 0 ? sim_cmd_fail(report, SIM_ERR_BAD_PARAMETERS) : SIM_ACK;
}

/* ---- the table ---- */

static const struct sim_cmd cmds[AP_CMD__COUNT] = {
    [AP_CMD_DEVICE_INFORMATION] = {AP_CMD_DEVICE_INFORMATION, 0, sim_cmd_device_information},
    [AP_CMD_SECURITY_INFO] = {AP_CMD_SECURITY_INFO, 0, sim_cmd_security_info},
    [AP_CMD_INSTALLED_APPLICATION_LIST] = {AP_CMD_INSTALLED_APPLICATION_LIST, 0,
					   sim_cmd_installed_apps},
    [AP_CMD_MANAGED_APPLICATION_LIST] = {AP_CMD_MANAGED_APPLICATION_LIST, 0, sim_cmd_managed_apps},
    [AP_CMD_PROFILE_LIST] = {AP_CMD_PROFILE_LIST, 0, sim_cmd_profile_list},
    [AP_CMD_INSTALL_PROFILE] = {AP_CMD_INSTALL_PROFILE, 0, install_profile},
    [AP_CMD_REMOVE_PROFILE] = {AP_CMD_REMOVE_PROFILE, 0, remove_profile},
    [AP_CMD_INSTALL_APPLICATION] = {AP_CMD_INSTALL_APPLICATION, 0, install_application},
    [AP_CMD_REMOVE_APPLICATION] = {AP_CMD_REMOVE_APPLICATION, 0, remove_application},
    [AP_CMD_CLEAR_PASSCODE] = {AP_CMD_CLEAR_PASSCODE, 1, clear_passcode},
    [AP_CMD_DEVICE_LOCK] = {AP_CMD_DEVICE_LOCK, 1, device_lock},
    [AP_CMD_ENABLE_LOST_MODE] = {AP_CMD_ENABLE_LOST_MODE, 1, enable_lost_mode},
    [AP_CMD_DISABLE_LOST_MODE] = {AP_CMD_DISABLE_LOST_MODE, 1, disable_lost_mode},
    [AP_CMD_DEVICE_LOCATION] = {AP_CMD_DEVICE_LOCATION, 1, device_location},
    [AP_CMD_PLAY_LOST_MODE_SOUND] = {AP_CMD_PLAY_LOST_MODE_SOUND, 1, play_lost_mode_sound},
    [AP_CMD_ERASE_DEVICE] = {AP_CMD_ERASE_DEVICE, 1, erase_device},
    [AP_CMD_RESTART_DEVICE] = {AP_CMD_RESTART_DEVICE, 1, power},
    [AP_CMD_SHUT_DOWN_DEVICE] = {AP_CMD_SHUT_DOWN_DEVICE, 1, power},
    [AP_CMD_SETTINGS] = {AP_CMD_SETTINGS, 0, settings},
    [AP_CMD_ACTIVATION_LOCK_BYPASS_CODE] = {AP_CMD_ACTIVATION_LOCK_BYPASS_CODE, 0, bypass_code},
    [AP_CMD_DEVICE_CONFIGURED] = {AP_CMD_DEVICE_CONFIGURED, 0, device_configured},
    [AP_CMD_DECLARATIVE_MANAGEMENT] = {AP_CMD_DECLARATIVE_MANAGEMENT, 0, declarative_management},
};

const struct sim_cmd *sim_cmd_find(enum ap_cmd_type t)
{
	return (unsigned)t < AP_CMD__COUNT && cmds[t].run ? &cmds[t] : NULL;
}

/* ---- dispatch ---- */

/* The command's parameters fit ap_cmd's table (RequestType left out). */
static int params_ok(enum ap_cmd_type t, plist_t cmd)
{
	plist_t params = plist_copy(cmd);

	if (params == NULL)
		return 0;
	plist_dict_remove_item(params, "RequestType");
	int rc = ap_cmd_check_params(t, params, NULL, 0);
	plist_free(params);
	return rc == 0;
}

/* CommandFormatError with an ErrorChain saying why. */
static int format_error(plist_t report, enum sim_cmd_err e)
{
	int rc = sim_cmd_fail(report, e);

	return rc < 0 ? rc : AP_STATUS_FORMAT_ERROR;
}

/* Runs the command of root into report; returns the report status. */
static int run_command(struct sim_device *d, plist_t root, plist_t report)
{
	plist_t cmd = NULL;
	char *rt = NULL;
	enum ap_cmd_type t;

	if (ap_dict_get_node(root, "Command", PLIST_DICT, &cmd) < 0 ||
	    ap_dict_get_string(cmd, "RequestType", &rt) < 0)
		return format_error(report, SIM_ERR_UNKNOWN_COMMAND);
	int known = ap_cmd_from_name(rt, &t) == 0;
	free(rt);
	/* a command the protocol knows and this iPad does not implement is
	 * answered as unknown, as an older iPadOS would */
	if (!known || sim_cmd_find(t) == NULL)
		return format_error(report, SIM_ERR_UNKNOWN_COMMAND);
	d->last_type = t;
	if (!params_ok(t, cmd))
		return format_error(report, SIM_ERR_BAD_PARAMETERS);
	const struct sim_cmd *h = sim_cmd_find(t);
	if (d->locked && !h->while_locked)
		return AP_STATUS_NOTNOW;
	return h->run(d, cmd, report);
}

int sim_cmd_answer(struct sim_device *d, const char *cmd, size_t len, char **ret_xml,
		   size_t *ret_len)
{
	plist_t root = NULL, report = NULL;
	char *uuid = NULL;
	int rc;

	if (d == NULL || ret_xml == NULL)
		return AP_EINVAL;
	if (ap_plist_parse(cmd, len, 0, &root) < 0 || plist_get_node_type(root) != PLIST_DICT ||
	    ap_dict_get_string(root, "CommandUUID", &uuid) < 0) {
		rc = AP_EPARSE;
		goto out;
	}
	if ((report = plist_new_dict()) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	sim_plist_set_str(report, "UDID", d->udid);
	sim_plist_set_str(report, "CommandUUID", uuid);
	d->end_session = 0;
	rc = run_command(d, root, report);
	if (rc < 0)
		goto out;
	d->last_status = (enum ap_status)rc;
	sim_plist_set_str(report, "Status", ap_status_name(d->last_status));
	rc = sim_plist_to_xml(report, ret_xml, ret_len);
	report = NULL;
out:
	free(uuid);
	plist_free(report);
	plist_free(root);
	return rc;
}
