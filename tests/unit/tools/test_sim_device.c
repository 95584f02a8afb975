/*
 * Unit tests for the simulator's device core (tools/sim/sim_device.h): every
 * command type of ap_cmd's table answered as a supervised iPad would, the
 * state changes that follow, and every message checked by
 * tools/mdm-schema-check (one checker run at the end, over all of them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"
#include "ap_cms.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "ap_result.h"
#include "ap_uuid.h"
#include "sim_cmd.h"
#include "sim_device.h"
#include "sim_profile.h"
#include "testutil.h"

#define MAX_DOCS 64

/* Every message produced, checked at the end.  names/data are owned. */
static struct tu_doc docs[MAX_DOCS];
static size_t n_docs;
static int covered[AP_CMD__COUNT];

static void keep(const char *what, char *xml, size_t len)
{
	char *name = malloc(64);
	assert_non_null(name);
	snprintf(name, 64, "%02zu-%s", n_docs, what);
	assert_true(n_docs < MAX_DOCS);
	docs[n_docs].name = name;
	docs[n_docs].data = xml;
	docs[n_docs].len = len;
	n_docs++;
}

static const char profile_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<plist version=\"1.0\"><dict>\n"
    "<key>PayloadType</key><string>Configuration</string>\n"
    "<key>PayloadVersion</key><integer>1</integer>\n"
    "<key>PayloadIdentifier</key><string>fr.ardoise.baseline.wifi</string>\n"
    "<key>PayloadUUID</key><string>4D7A3E0B-6F21-4B7E-9D1A-2E5C8F0A1B2C</string>\n"
    "<key>PayloadDisplayName</key><string>Wi-Fi coll\xc3\xa8ge</string>\n"
    "<key>PayloadContent</key><array><dict>\n"
    "<key>PayloadType</key><string>com.apple.wifi.managed</string>\n"
    "<key>PayloadVersion</key><integer>1</integer>\n"
    "<key>PayloadIdentifier</key><string>fr.ardoise.baseline.wifi.w</string>\n"
    "<key>PayloadUUID</key><string>4D7A3E0B-6F21-4B7E-9D1A-2E5C8F0A1B2D</string>\n"
    "<key>SSID_STR</key><string>CLG-PEDAGO</string>\n"
    "<key>EncryptionType</key><string>WPA2</string>\n"
    "</dict></array></dict></plist>\n";

static struct sim_device *new_device(void)
{
	struct sim_device *d = NULL;
	assert_int_equal(sim_device_new(&d), 0);
	snprintf(d->topic, sizeof(d->topic), "com.apple.mgmt.External.ardoise");
	assert_int_equal(sim_device_put_profile(d, "fr.ardoise.enroll",
						"8F1C0E2A-0B7D-4C59-A3E2-55D1E0A0C001",
						"Ardoise (inscription)", 0),
			 0);
	d->enrolled = 1;
	return d;
}

/* Builds command t with params (NULL: defaults), answers it, parses the
 * report with the daemon's parser; *ret_msg owned by the caller. */
static struct ap_msg *run(struct sim_device *d, enum ap_cmd_type t, plist_t params,
			  const char *keep_as)
{
	char uuid[37], *cmd = NULL, *rep = NULL, detail[200];
	size_t cmd_len = 0, rep_len = 0;
	struct ap_msg *m = NULL;

	ap_uuid_random(uuid);
	assert_int_equal(ap_cmd_build(t, uuid, params, &cmd, &cmd_len, detail, sizeof(detail)), 0);
	plist_free(params);
	assert_int_equal(sim_cmd_answer(d, cmd, cmd_len, &rep, &rep_len), 0);
	free(cmd);
	assert_int_equal(ap_msg_parse(rep, rep_len, 0, &m, detail, sizeof(detail)), 0);
	assert_int_equal(m->kind, AP_MSG_REPORT);
	assert_string_equal(m->u.report.command_uuid, uuid);
	assert_string_equal(m->u.report.udid, d->udid);
	covered[t] = 1;
	if (keep_as)
		keep(keep_as, rep, rep_len);
	else
		free(rep);
	return m;
}

static enum ap_status status_of(struct sim_device *d, enum ap_cmd_type t, plist_t params,
				const char *keep_as, int64_t *ret_code)
{
	struct ap_msg *m = run(d, t, params, keep_as);
	enum ap_status s = m->u.report.status;
	if (ret_code)
		*ret_code = m->u.report.n_errors ? m->u.report.errors[0].code : 0;
	ap_msg_free(m);
	return s;
}

/* The simulated tablet's app of that identifier, NULL when absent. */
static const struct sim_app *find_app_named(const struct sim_device *d, const char *id)
{
	for (size_t i = 0; i < d->n_apps; i++)
		if (strcmp(d->apps[i].identifier, id) == 0)
			return &d->apps[i];
	return NULL;
}

static plist_t kv1(enum ap_cmd_type t, const char *a, const char *b)
{
	const char *args[2] = {a, b};
	plist_t p = NULL;
	assert_int_equal(ap_cmd_params_from_kv(t, args, b ? 2 : 1, &p, NULL, 0), 0);
	return p;
}

/* ---- check-ins ---- */

static void test_checkins(void **state)
{
	struct sim_device *d = new_device();
	char *xml;
	size_t len;
	struct ap_msg *m = NULL;

	assert_int_equal(sim_device_checkin(d, SIM_AUTHENTICATE, &xml, &len), 0);
	assert_int_equal(ap_msg_parse(xml, len, 0, &m, NULL, 0), 0);
	assert_string_equal(m->u.checkin.serial, d->serial);
	assert_string_equal(m->u.checkin.product_name, "iPad13,18");
	ap_msg_free(m);
	keep("authenticate", xml, len);
	assert_int_equal(sim_device_checkin(d, SIM_TOKEN_UPDATE, &xml, &len), 0);
	assert_int_equal(ap_msg_parse(xml, len, 0, &m, NULL, 0), 0);
	assert_int_equal(m->u.checkin.token_len, SIM_TOKEN_LEN);
	assert_int_equal(m->u.checkin.unlock_token_len, SIM_TOKEN_LEN);
	assert_memory_equal(m->u.checkin.unlock_token, d->unlock_token, SIM_TOKEN_LEN);
	ap_msg_free(m);
	keep("tokenupdate", xml, len);
	assert_int_equal(sim_device_checkin(d, SIM_CHECKOUT, &xml, &len), 0);
	keep("checkout", xml, len);
	assert_int_equal(sim_device_idle(d, &xml, &len), 0);
	keep("idle", xml, len);
	sim_device_free(d);
}

/* ---- inventory ---- */

static void test_inventory(void **state)
{
	struct sim_device *d = new_device();
	struct ap_device_info *di = NULL;
	struct ap_security_info si;
	struct ap_app *apps = NULL;
	struct ap_profile_info *profiles = NULL;
	size_t n = 0;

	struct ap_msg *m = run(d, AP_CMD_DEVICE_INFORMATION, NULL, "device-information");
	assert_int_equal(m->u.report.status, AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(ap_result_device_info(m->u.report.dict, &di), 0);
	assert_string_equal(di->serial, d->serial);
	assert_string_equal(di->product_name, "iPad13,18");
	assert_string_equal(di->os_version, "17.5");
	assert_true(di->has_capacity && di->capacity_gb == 64.0);
	assert_true(di->has_available && di->available_gb > 0 && di->available_gb < 64);
	assert_true(di->has_battery && di->battery_level > 0 && di->battery_level <= 1);
	assert_true(di->has_supervised && di->supervised);
	assert_true(di->has_lost_mode && !di->lost_mode);
	ap_device_info_free(di);
	ap_msg_free(m);

	/* every query the command table knows: those a Wi-Fi iPad can answer */
	plist_t all = kv1(AP_CMD_DEVICE_INFORMATION,
			  "Queries=UDID,OrganizationInfo,MDMOptions,AwaitingConfiguration,"
			  "DeviceName,ModelNumber,IMEI,BatteryLevel,TimeZone,PushToken,"
			  "EASDeviceIdentifier,SoftwareUpdateDeviceID,SoftwareUpdateSettings,"
			  "AccessibilitySettings,BluetoothMAC,IsMultiUser",
			  NULL);
	m = run(d, AP_CMD_DEVICE_INFORMATION, all, "device-information-all");
	plist_t q = plist_dict_get_item(m->u.report.dict, "QueryResponses");
	assert_non_null(plist_dict_get_item(q, "MDMOptions"));
	assert_null(plist_dict_get_item(q, "IMEI"));	     /* Wi-Fi model */
	assert_null(plist_dict_get_item(q, "SerialNumber")); /* not asked */
	ap_msg_free(m);

	m = run(d, AP_CMD_SECURITY_INFO, NULL, "security-info");
	assert_int_equal(ap_result_security_info(m->u.report.dict, &si), 0);
	assert_true(si.has_passcode_present && si.passcode_present);
	assert_int_equal(si.hw_encryption_caps, 3);
	ap_msg_free(m);

	m = run(d, AP_CMD_INSTALLED_APPLICATION_LIST, NULL, "installed-apps");
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 5); /* Keynote, Pages, Numbers, iMovie, GarageBand */
	assert_string_equal(apps[0].identifier, "com.apple.Keynote");
	ap_apps_free(apps, n);
	ap_msg_free(m);

	m = run(d, AP_CMD_INSTALLED_APPLICATION_LIST,
		kv1(AP_CMD_INSTALLED_APPLICATION_LIST, "Identifiers=com.apple.Pages",
		    "Items=Identifier,Name"),
		"installed-apps-items");
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(apps[0].name, "Pages");
	assert_null(apps[0].version);
	ap_apps_free(apps, n);
	ap_msg_free(m);

	m = run(d, AP_CMD_PROFILE_LIST, NULL, "profile-list");
	assert_int_equal(ap_result_profile_list(m->u.report.dict, &profiles, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(profiles[0].identifier, "fr.ardoise.enroll");
	assert_int_equal(profiles[0].managed, 0);
	ap_profiles_free(profiles, n);
	ap_msg_free(m);
	sim_device_free(d);
}

/* ---- profiles ---- */

static size_t profile_count(struct sim_device *d)
{
	struct ap_profile_info *p = NULL;
	size_t n = 0;
	struct ap_msg *m = run(d, AP_CMD_PROFILE_LIST, NULL, NULL);
	assert_int_equal(ap_result_profile_list(m->u.report.dict, &p, &n), 0);
	ap_profiles_free(p, n);
	ap_msg_free(m);
	return n;
}

static plist_t install_params(const void *data, size_t len)
{
	plist_t p = NULL;
	assert_int_equal(ap_cmd_params_install_profile(data, len, &p), 0);
	return p;
}

static void test_profiles(void **state)
{
	struct sim_device *d = new_device();
	unsigned char *der = NULL;
	size_t der_len = 0;
	int64_t code;

	assert_int_equal(status_of(d, AP_CMD_INSTALL_PROFILE,
				   install_params(profile_xml, sizeof(profile_xml) - 1),
				   "install-profile", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(profile_count(d), 2);
	assert_string_equal(d->profiles[1].name, "Wi-Fi coll\xc3\xa8ge");

	/* signed by some CA: the iPad reads it (the chain only decides
	 * "verified" in Settings); same identifier replaces */
	EVP_PKEY *key = tu_key("ec");
	X509 *cert = tu_cert("profile signer", key, NULL, NULL, 0);
	assert_int_equal(
	    ap_cms_sign(profile_xml, sizeof(profile_xml) - 1, cert, key, NULL, &der, &der_len), 0);
	assert_int_equal(
	    status_of(d, AP_CMD_INSTALL_PROFILE, install_params(der, der_len), NULL, NULL),
	    AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(profile_count(d), 2);
	der[der_len - 5] ^= 0x55; /* inside the signature */
	assert_int_equal(status_of(d, AP_CMD_INSTALL_PROFILE, install_params(der, der_len),
				   "install-profile-badsig", &code),
			 AP_STATUS_ERROR);
	free(der);
	X509_free(cert);
	EVP_PKEY_free(key);

	assert_int_equal(
	    status_of(d, AP_CMD_INSTALL_PROFILE, install_params("junk", 4), NULL, &code),
	    AP_STATUS_ERROR);
	assert_int_equal(code, 1000);

	assert_int_equal(
	    status_of(d, AP_CMD_REMOVE_PROFILE,
		      kv1(AP_CMD_REMOVE_PROFILE, "Identifier=fr.ardoise.baseline.wifi", NULL),
		      "remove-profile", NULL),
	    AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(profile_count(d), 1);
	assert_int_equal(
	    status_of(d, AP_CMD_REMOVE_PROFILE,
		      kv1(AP_CMD_REMOVE_PROFILE, "Identifier=fr.ardoise.baseline.wifi", NULL),
		      "remove-profile-absent", NULL),
	    AP_STATUS_ERROR);
	/* the enrolment profile is not removed by RemoveProfile */
	assert_int_equal(status_of(d, AP_CMD_REMOVE_PROFILE,
				   kv1(AP_CMD_REMOVE_PROFILE, "Identifier=fr.ardoise.enroll", NULL),
				   NULL, NULL),
			 AP_STATUS_ERROR);
	assert_int_equal(profile_count(d), 1);
	sim_device_free(d);
}

/* ---- apps ---- */

static void test_apps(void **state)
{
	struct sim_device *d = new_device();
	struct ap_managed_app *ma = NULL;
	size_t n = 0;

	struct ap_msg *m = run(d, AP_CMD_INSTALL_APPLICATION,
			       kv1(AP_CMD_INSTALL_APPLICATION,
				   "Identifier=fr.index-education.pronote", "ManagementFlags=1"),
			       "install-application");
	assert_int_equal(m->u.report.status, AP_STATUS_ACKNOWLEDGED);
	ap_msg_free(m);
	m = run(d, AP_CMD_MANAGED_APPLICATION_LIST, NULL, "managed-apps");
	assert_int_equal(ap_result_managed_apps(m->u.report.dict, &ma, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ma[0].identifier, "fr.index-education.pronote");
	assert_string_equal(ma[0].status, "Managed");
	ap_managed_apps_free(ma, n);
	ap_msg_free(m);
	assert_int_equal(d->n_apps, 6);

	/* a user app stays the user's unless management is taken over */
	m = run(d, AP_CMD_INSTALL_APPLICATION,
		kv1(AP_CMD_INSTALL_APPLICATION, "Identifier=com.apple.Pages", NULL), NULL);
	plist_t state_node = plist_dict_get_item(m->u.report.dict, "State");
	assert_int_equal(plist_string_val_compare(state_node, "Failed"), 0);
	ap_msg_free(m);
	assert_int_equal(status_of(d, AP_CMD_INSTALL_APPLICATION,
				   kv1(AP_CMD_INSTALL_APPLICATION, "Identifier=com.apple.Pages",
				       "ChangeManagementState=Managed"),
				   NULL, NULL),
			 AP_STATUS_ACKNOWLEDGED);
	/* an App Store app without its device licence (PurchaseMethod 1): the
	 * pupil's iPad has no Apple Account to buy it with */
	assert_int_equal(status_of(d, AP_CMD_INSTALL_APPLICATION,
				   kv1(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID=361285480", NULL),
				   NULL, NULL),
			 AP_STATUS_ERROR);
	assert_null(find_app_named(d, "com.apps.store.id361285480"));
	plist_t licensed = NULL;
	assert_int_equal(ap_cmd_params_install_app(361285480, NULL, &licensed), 0);
	assert_int_equal(status_of(d, AP_CMD_INSTALL_APPLICATION, licensed, NULL, NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_non_null(find_app_named(d, "com.apps.store.id361285480"));

	assert_int_equal(
	    status_of(d, AP_CMD_REMOVE_APPLICATION,
		      kv1(AP_CMD_REMOVE_APPLICATION, "Identifier=fr.index-education.pronote", NULL),
		      "remove-application", NULL),
	    AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(d->n_apps, 6);
	assert_int_equal(
	    status_of(d, AP_CMD_REMOVE_APPLICATION,
		      kv1(AP_CMD_REMOVE_APPLICATION, "Identifier=com.apple.Keynote", NULL),
		      "remove-application-unmanaged", NULL),
	    AP_STATUS_ERROR);
	sim_device_free(d);
}

/* ---- passcode, lock, lost mode ---- */

static void test_passcode_and_lock(void **state)
{
	struct sim_device *d = new_device();
	plist_t p = NULL;
	char *mr = NULL;
	static const unsigned char wrong[SIM_TOKEN_LEN] = {1, 2, 3};

	assert_int_equal(ap_cmd_params_clear_passcode(wrong, sizeof(wrong), &p), 0);
	assert_int_equal(status_of(d, AP_CMD_CLEAR_PASSCODE, p, "clear-passcode-wrong", NULL),
			 AP_STATUS_ERROR);
	assert_true(d->passcode_present);
	assert_int_equal(ap_cmd_params_clear_passcode(d->unlock_token, SIM_TOKEN_LEN, &p), 0);
	assert_int_equal(status_of(d, AP_CMD_CLEAR_PASSCODE, p, "clear-passcode", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_false(d->passcode_present);

	struct ap_msg *m =
	    run(d, AP_CMD_DEVICE_LOCK,
		kv1(AP_CMD_DEVICE_LOCK, "Message=Rendez la tablette au CDI", NULL), "device-lock");
	assert_int_equal(ap_result_device_lock(m->u.report.dict, &mr), 0);
	assert_string_equal(mr, "NoPasscodeSet");
	free(mr);
	ap_msg_free(m);
	sim_device_free(d);
}

static void test_lost_mode(void **state)
{
	struct sim_device *d = new_device();
	struct ap_location loc = {0};
	char *mr = NULL;
	int64_t code = 0;

	assert_int_equal(status_of(d, AP_CMD_DEVICE_LOCATION, NULL, "location-not-lost", &code),
			 AP_STATUS_ERROR);
	assert_int_equal(code, 12067);
	assert_int_equal(status_of(d, AP_CMD_DISABLE_LOST_MODE, NULL, NULL, &code),
			 AP_STATUS_ERROR);
	assert_int_equal(code, 12067);
	assert_int_equal(status_of(d, AP_CMD_PLAY_LOST_MODE_SOUND, NULL, NULL, &code),
			 AP_STATUS_ERROR);
	assert_int_equal(status_of(d, AP_CMD_ENABLE_LOST_MODE,
				   kv1(AP_CMD_ENABLE_LOST_MODE, "Message=Tablette du Département",
				       "PhoneNumber=04 13 31 13 13"),
				   "enable-lost-mode", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	struct ap_msg *m = run(d, AP_CMD_DEVICE_LOCATION, NULL, "device-location");
	assert_int_equal(ap_result_location(m->u.report.dict, &loc), 0);
	assert_true(loc.latitude > 42.9 && loc.latitude < 43.7);
	assert_true(loc.longitude > 4.9 && loc.longitude < 5.8);
	assert_true(loc.horizontal_accuracy > 0);
	assert_non_null(loc.timestamp);
	ap_location_clear(&loc);
	ap_msg_free(m);
	assert_int_equal(status_of(d, AP_CMD_PLAY_LOST_MODE_SOUND, NULL, "play-sound", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	m = run(d, AP_CMD_DEVICE_LOCK, NULL, NULL);
	assert_int_equal(ap_result_device_lock(m->u.report.dict, &mr), 0);
	assert_string_equal(mr, "DeviceInLostMode");
	free(mr);
	ap_msg_free(m);
	assert_int_equal(status_of(d, AP_CMD_DISABLE_LOST_MODE, NULL, "disable-lost-mode", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_false(d->lost_mode);
	sim_device_free(d);
}

/* ---- erase, power, settings, the rest ---- */

static void test_erase(void **state)
{
	struct sim_device *d = new_device();

	assert_int_equal(
	    status_of(d, AP_CMD_INSTALL_APPLICATION,
		      kv1(AP_CMD_INSTALL_APPLICATION, "Identifier=fr.ardoise.ent", NULL), NULL,
		      NULL),
	    AP_STATUS_ACKNOWLEDGED);
	assert_int_equal(status_of(d, AP_CMD_INSTALL_PROFILE,
				   install_params(profile_xml, sizeof(profile_xml) - 1), NULL,
				   NULL),
			 AP_STATUS_ACKNOWLEDGED);
	d->lost_mode = 1;
	d->dirty = 0;
	assert_int_equal(status_of(d, AP_CMD_ERASE_DEVICE, NULL, "erase", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_true(d->erased && !d->enrolled && d->end_session && d->dirty);
	assert_int_equal(d->n_profiles, 0);
	assert_int_equal(d->n_apps, 5); /* factory apps only */
	for (size_t i = 0; i < d->n_apps; i++)
		assert_false(d->apps[i].managed);
	assert_false(d->passcode_present || d->lost_mode);
	sim_device_free(d);
}

static void test_power_settings_misc(void **state)
{
	struct sim_device *d = new_device();
	struct ap_device_info *di = NULL;
	char *code = NULL;

	assert_int_equal(status_of(d, AP_CMD_RESTART_DEVICE, NULL, "restart", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_true(d->end_session);
	assert_int_equal(status_of(d, AP_CMD_SHUT_DOWN_DEVICE, NULL, NULL, NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_true(d->end_session);
	assert_int_equal(status_of(d, AP_CMD_SETTINGS,
				   kv1(AP_CMD_SETTINGS, "DeviceName.DeviceName=CLG-0131266F-042",
				       "TimeZone.TimeZone=Europe/Paris"),
				   "settings", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_false(d->end_session);
	struct ap_msg *m = run(d, AP_CMD_DEVICE_INFORMATION, NULL, NULL);
	assert_int_equal(ap_result_device_info(m->u.report.dict, &di), 0);
	assert_string_equal(di->device_name, "CLG-0131266F-042");
	ap_device_info_free(di);
	ap_msg_free(m);

	m = run(d, AP_CMD_ACTIVATION_LOCK_BYPASS_CODE, NULL, "bypass-code");
	assert_int_equal(ap_result_bypass_code(m->u.report.dict, &code), 0);
	assert_int_equal(strlen(code), 29);
	free(code);
	ap_msg_free(m);
	d->awaiting_configuration = 1;
	assert_int_equal(status_of(d, AP_CMD_DEVICE_CONFIGURED, NULL, "device-configured", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_false(d->awaiting_configuration);
	sim_device_free(d);
}

/* ---- locked, malformed, unknown ---- */

static void test_locked_notnow(void **state)
{
	struct sim_device *d = new_device();

	d->locked = 1;
	assert_int_equal(status_of(d, AP_CMD_PROFILE_LIST, NULL, "notnow", NULL), AP_STATUS_NOTNOW);
	assert_int_equal(status_of(d, AP_CMD_DEVICE_INFORMATION, NULL, NULL, NULL),
			 AP_STATUS_NOTNOW);
	assert_int_equal(status_of(d, AP_CMD_DEVICE_LOCK, NULL, NULL, NULL),
			 AP_STATUS_ACKNOWLEDGED);
	d->locked = 0;
	assert_int_equal(status_of(d, AP_CMD_PROFILE_LIST, NULL, NULL, NULL),
			 AP_STATUS_ACKNOWLEDGED);
	sim_device_free(d);
}

static void answer_raw(struct sim_device *d, const char *cmd, enum ap_status want,
		       const char *keep_as)
{
	char *rep = NULL;
	size_t len = 0;
	struct ap_msg *m = NULL;

	assert_int_equal(sim_cmd_answer(d, cmd, strlen(cmd), &rep, &len), 0);
	assert_int_equal(ap_msg_parse(rep, len, 0, &m, NULL, 0), 0);
	assert_int_equal(m->u.report.status, want);
	assert_int_equal(d->last_status, want);
	ap_msg_free(m);
	if (keep_as)
		keep(keep_as, rep, len);
	else
		free(rep);
}

static void test_format_errors(void **state)
{
	struct sim_device *d = new_device();
	char *rep = NULL;
	size_t len = 0;
	static const char unknown[] =
	    "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>X-1</string>"
	    "<key>Command</key><dict><key>RequestType</key><string>FlyToTheMoon</string>"
	    "</dict></dict></plist>";
	static const char bad_params[] =
	    "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>X-2</string>"
	    "<key>Command</key><dict><key>RequestType</key><string>DeviceLock</string>"
	    "<key>Message</key><integer>3</integer></dict></dict></plist>";
	static const char no_command[] =
	    "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>X-3</string>"
	    "</dict></plist>";
	static const char no_uuid[] =
	    "<plist version=\"1.0\"><dict><key>Command</key><dict/></dict></plist>";
	/* a command this iPadOS does not know (DeclarativeManagement before
	 * iPadOS 15): refused as unknown, never a crash */
	static const char not_here[] =
	    "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>X-4</string>"
	    "<key>Command</key><dict><key>RequestType</key><string>DeclarativeManagement</string>"
	    "</dict></dict></plist>";

	answer_raw(d, unknown, AP_STATUS_FORMAT_ERROR, "format-error-unknown");
	answer_raw(d, bad_params, AP_STATUS_FORMAT_ERROR, "format-error-params");
	answer_raw(d, no_command, AP_STATUS_FORMAT_ERROR, NULL);
	struct sim_device *old = new_device();
	assert_int_equal(sim_device_set_os(old, NULL, "14.8"), 0);
	answer_raw(old, not_here, AP_STATUS_FORMAT_ERROR, NULL);
	assert_false(old->ddm.enabled);
	sim_device_free(old);
	/* on 17.5, without Data, it turns DDM on (sim_ddm.h; test_sim_ddm.c) */
	answer_raw(d, not_here, AP_STATUS_ACKNOWLEDGED, NULL);
	assert_true(d->ddm.enabled);
	char *tokens = NULL;
	size_t tlen = 0;
	plist_t params = NULL;
	assert_int_equal(ap_ddm_tokens_build("5f2b", 1790000000, &tokens, &tlen, NULL, 0), 0);
	assert_int_equal(ap_cmd_params_declarative_management(tokens, tlen, &params), 0);
	free(tokens);
	assert_int_equal(status_of(d, AP_CMD_DECLARATIVE_MANAGEMENT, params, "declarative", NULL),
			 AP_STATUS_ACKNOWLEDGED);
	assert_string_equal(d->ddm.hint, "5f2b");
	assert_int_equal(sim_cmd_answer(d, no_uuid, strlen(no_uuid), &rep, &len), AP_EPARSE);
	assert_int_equal(sim_cmd_answer(d, "<plist", 6, &rep, &len), AP_EPARSE);
	assert_null(rep);
	sim_device_free(d);
}

/* ---- profile reading ---- */

static void test_enroll_profile_info(void **state)
{
	static const char enroll[] =
	    "<plist version=\"1.0\"><dict>"
	    "<key>PayloadType</key><string>Configuration</string>"
	    "<key>PayloadVersion</key><integer>1</integer>"
	    "<key>PayloadIdentifier</key><string>fr.ardoise.enroll</string>"
	    "<key>PayloadUUID</key><string>U-1</string>"
	    "<key>PayloadContent</key><array>"
	    "<dict><key>PayloadType</key><string>com.apple.security.scep</string>"
	    "<key>PayloadContent</key><dict><key>URL</key><string>https://h:1/scep</string>"
	    "<key>Challenge</key><string>AAAAA-BBBBB</string><key>Keysize</key>"
	    "<integer>2048</integer><key>Subject</key><array><array><array>"
	    "<string>CN</string><string>Ardoise device</string></array></array></array>"
	    "</dict></dict>"
	    "<dict><key>PayloadType</key><string>com.apple.mdm</string>"
	    "<key>ServerURL</key><string>https://h:1/mdm/connect</string>"
	    "<key>Topic</key><string>com.apple.mgmt.X</string>"
	    "<key>SignMessage</key><true/></dict>"
	    "</array></dict></plist>";
	plist_t p = NULL;
	struct sim_enroll_info e;
	int is_signed = -1;

	assert_int_equal(sim_profile_open(enroll, sizeof(enroll) - 1, NULL, &p, &is_signed), 0);
	assert_int_equal(is_signed, 0);
	assert_int_equal(sim_profile_enroll_info(p, &e), 0);
	assert_string_equal(e.challenge, "AAAAA-BBBBB");
	assert_string_equal(e.subject_cn, "Ardoise device");
	assert_string_equal(e.checkin_url, "https://h:1/mdm/connect"); /* defaults to ServerURL */
	assert_string_equal(sim_url_path(e.scep_url), "/scep");
	assert_int_equal(e.key_size, 2048);
	assert_true(e.sign_message);
	plist_free(p);
	assert_null(sim_url_path("http://h/x"));
	assert_string_equal(sim_url_path("https://h"), "/");
}

/* ---- every command type, every message valid ---- */

static void test_all_covered_and_valid(void **state)
{
	static const char *const args[] = {"--os-version", "17.5", NULL};
	for (int t = 0; t < AP_CMD__COUNT; t++) {
		if (!covered[t])
			fprintf(stderr, "not answered in these tests: %s\n",
				ap_cmd_name((enum ap_cmd_type)t));
		assert_true(covered[t]);
	}
	assert_int_equal(tu_schema_check(docs, n_docs, args), 0);
	for (size_t i = 0; i < n_docs; i++) {
		free((char *)docs[i].name);
		free((char *)docs[i].data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checkins),
	    cmocka_unit_test(test_inventory),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_apps),
	    cmocka_unit_test(test_passcode_and_lock),
	    cmocka_unit_test(test_lost_mode),
	    cmocka_unit_test(test_erase),
	    cmocka_unit_test(test_power_settings_misc),
	    cmocka_unit_test(test_locked_notnow),
	    cmocka_unit_test(test_format_errors),
	    cmocka_unit_test(test_enroll_profile_info),
	    cmocka_unit_test(test_all_covered_and_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
