/* Unit tests for ap_cmd: every command type built and schema-checked,
 * parameter validation, Key=value conversion, convenience builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "ap_uuid.h"
#include "testutil.h"

/* A small baseline profile, used as InstallProfile / ReturnToService data
 * (the checker validates embedded profiles too). */
static const char restrictions_profile[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
    "<plist version=\"1.0\"><dict>\n"
    "<key>PayloadType</key><string>Configuration</string>\n"
    "<key>PayloadVersion</key><integer>1</integer>\n"
    "<key>PayloadIdentifier</key><string>fr.ardoise.baseline.restrictions</string>\n"
    "<key>PayloadUUID</key><string>3C7A3E0B-6F21-4B7E-9D1A-2E5C8F0A1B2C</string>\n"
    "<key>PayloadDisplayName</key><string>Restrictions coll\xc3\xa8ge</string>\n"
    "<key>PayloadContent</key><array><dict>\n"
    "<key>PayloadType</key><string>com.apple.applicationaccess</string>\n"
    "<key>PayloadVersion</key><integer>1</integer>\n"
    "<key>PayloadIdentifier</key><string>fr.ardoise.baseline.restrictions.r</string>\n"
    "<key>PayloadUUID</key><string>3C7A3E0B-6F21-4B7E-9D1A-2E5C8F0A1B2D</string>\n"
    "<key>allowCamera</key><true/>\n"
    "<key>allowAirDrop</key><false/>\n"
    "<key>safariAcceptCookies</key><real>1.5</real>\n"
    "</dict></array></dict></plist>\n";

static const unsigned char unlock_token[] = "ardoise test unlock token, not real";

/* ---- every command type ---- */

static plist_t kv(enum ap_cmd_type t, const char *const *args, size_t n)
{
	plist_t p = NULL;
	char detail[256];
	int rc = ap_cmd_params_from_kv(t, args, n, &p, detail, sizeof(detail));
	if (rc != 0)
		fprintf(stderr, "kv: %s\n", detail);
	assert_int_equal(rc, 0);
	return p;
}

#define KV(t, ...)                                \
	kv(t, (const char *const[]){__VA_ARGS__}, \
	   sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static plist_t params_for(enum ap_cmd_type t)
{
	plist_t p = NULL;

	switch (t) {
	case AP_CMD_INSTALLED_APPLICATION_LIST:
		return KV(t, "Identifiers=com.apple.Pages,fr.education.pronote",
			  "ManagedAppsOnly=true", "Items=Identifier,Name,ShortVersion,Version");
	case AP_CMD_MANAGED_APPLICATION_LIST:
		return KV(t, "Identifiers=com.apple.Pages");
	case AP_CMD_PROFILE_LIST:
		return KV(t, "ManagedOnly=true");
	case AP_CMD_INSTALL_PROFILE:
		assert_int_equal(ap_cmd_params_install_profile(
				     restrictions_profile, sizeof(restrictions_profile) - 1, &p),
				 0);
		return p;
	case AP_CMD_REMOVE_PROFILE:
		return KV(t, "Identifier=fr.ardoise.baseline.restrictions");
	case AP_CMD_INSTALL_APPLICATION:
		assert_int_equal(ap_cmd_params_install_app(361309726, NULL, &p), 0);
		return p;
	case AP_CMD_REMOVE_APPLICATION:
		return KV(t, "Identifier=fr.education.pronote");
	case AP_CMD_CLEAR_PASSCODE:
		assert_int_equal(
		    ap_cmd_params_clear_passcode(unlock_token, sizeof(unlock_token), &p), 0);
		return p;
	case AP_CMD_DEVICE_LOCK:
		return KV(t,
			  "Message=Tablette verrouill\xc3\xa9"
			  "e par le coll\xc3\xa8ge",
			  "PhoneNumber=04 91 00 00 00");
	case AP_CMD_ENABLE_LOST_MODE:
		return KV(t, "Message=Tablette perdue. Merci de la rapporter au coll\xc3\xa8ge.",
			  "PhoneNumber=04 91 00 00 00", "Footnote=D\xc3\xa9partement 13");
	case AP_CMD_ERASE_DEVICE:
		assert_int_equal(ap_cmd_params_erase(1, restrictions_profile,
						     sizeof(restrictions_profile) - 1, &p),
				 0);
		plist_dict_set_item(p, "DisallowProximitySetup", plist_new_bool(1));
		return p;
	case AP_CMD_SETTINGS:
		return KV(
		    t, "DeviceName.DeviceName=iPad-0131266F-042", "TimeZone.TimeZone=Europe/Paris",
		    "Bluetooth.Enabled=false",
		    "OrganizationInfo.OrganizationInfo.OrganizationName=Coll\xc3\xa8ge Longchamp",
		    "OrganizationInfo.OrganizationInfo.OrganizationPhone=04 91 00 00 00",
		    "MDMOptions.MDMOptions.ActivationLockAllowedWhileSupervised=false",
		    "Wallpaper.Image=@hex:89504e470d0a1a0a", "Wallpaper.Where=3",
		    "SoftwareUpdateSettings.RecommendationCadence=1",
		    "AccessibilitySettings.TextSize=5",
		    "AccessibilitySettings.BoldTextEnabled=true",
		    "ApplicationConfiguration.Identifier=fr.education.pronote",
		    "ApplicationConfiguration.Configuration.serverURL=https://ent.example.fr",
		    "ApplicationAttributes.Identifier=fr.education.pronote",
		    "ApplicationAttributes.Attributes.Removable=false", "DataRoaming.Enabled=false",
		    "PersonalHotspot.Enabled=false");
	case AP_CMD_DECLARATIVE_MANAGEMENT: {
		char *tokens = NULL;
		size_t len = 0;
		assert_int_equal(ap_ddm_tokens_build("3dc25b025a14acbe9f788b7c62408a1e", 1792080000,
						     &tokens, &len, NULL, 0),
				 0);
		assert_int_equal(ap_cmd_params_declarative_management(tokens, len, &p), 0);
		free(tokens);
		return p;
	}
	default:
		return NULL; /* no parameters, or defaults (DeviceInformation) */
	}
}

static void test_names(void **state)
{
	for (int t = 0; t < AP_CMD__COUNT; t++) {
		const char *name = ap_cmd_name((enum ap_cmd_type)t);
		enum ap_cmd_type back;
		assert_non_null(name);
		assert_int_equal(ap_cmd_from_name(name, &back), 0);
		assert_int_equal(back, t);
	}
	enum ap_cmd_type x;
	assert_null(ap_cmd_name(AP_CMD__COUNT));
	assert_null(ap_cmd_name((enum ap_cmd_type) - 1));
	assert_int_equal(ap_cmd_from_name("devicelock", &x), AP_EINVAL);
	assert_int_equal(ap_cmd_from_name("DeviceLock ", &x), AP_EINVAL);
	assert_int_equal(ap_cmd_from_name(NULL, &x), AP_EINVAL);
	assert_int_equal(ap_cmd_from_name("DeviceLock", &x), 0);
	assert_int_equal(x, AP_CMD_DEVICE_LOCK);
}

/* Builds every command type and runs the real checker on all of them. */
static void test_every_command_is_schema_valid(void **state)
{
	struct tu_doc docs[AP_CMD__COUNT + 2];
	char *xml[AP_CMD__COUNT + 2];
	char detail[256];
	size_t n = 0;

	for (int t = 0; t < AP_CMD__COUNT; t++) {
		char uuid[37];
		size_t len = 0;
		plist_t p = params_for((enum ap_cmd_type)t);
		ap_uuid_random(uuid);
		int rc = ap_cmd_build((enum ap_cmd_type)t, uuid, p, &xml[n], &len, detail,
				      sizeof(detail));
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", ap_cmd_name((enum ap_cmd_type)t), detail);
		assert_int_equal(rc, 0);
		assert_string_equal(detail, "");
		assert_non_null(strstr(xml[n], uuid));
		docs[n] = (struct tu_doc){ap_cmd_name((enum ap_cmd_type)t), xml[n], len};
		n++;
		plist_free(p);
	}
	/* InstallApplication by bundle identifier, with configuration and attributes */
	plist_t p =
	    KV(AP_CMD_INSTALL_APPLICATION, "Identifier=fr.education.pronote", "ManagementFlags=5",
	       "Options.PurchaseMethod=1", "Configuration.server=https://ent.example.fr",
	       "Attributes.Removable=false", "ChangeManagementState=Managed");
	size_t len;
	assert_int_equal(ap_cmd_build(AP_CMD_INSTALL_APPLICATION,
				      "9C1D7F8E-AAAA-4BBB-8CCC-000000000001", p, &xml[n], &len,
				      NULL, 0),
			 0);
	docs[n] = (struct tu_doc){"InstallApplication-bundle", xml[n], len};
	n++;
	plist_free(p);
	/* DeviceInformation with explicit queries and a nonce */
	p = KV(AP_CMD_DEVICE_INFORMATION, "Queries=UDID,TimeZone,OrganizationInfo,MDMOptions",
	       "DeviceAttestationNonce=YXJkb2lzZQ==");
	assert_int_equal(ap_cmd_build(AP_CMD_DEVICE_INFORMATION,
				      "9C1D7F8E-AAAA-4BBB-8CCC-000000000002", p, &xml[n], &len,
				      NULL, 0),
			 0);
	docs[n] = (struct tu_doc){"DeviceInformation-queries", xml[n], len};
	n++;
	plist_free(p);

	const char *const args[] = {"--werror", NULL};
	assert_int_equal(tu_schema_check(docs, n, args), 0);
	for (size_t i = 0; i < n; i++)
		free(xml[i]);
}

static void test_default_queries(void **state)
{
	char *xml = NULL;
	plist_t root = NULL, empty = plist_new_dict();
	size_t len;
	const char *expected[] = {"UDID",
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
				  "WiFiMAC"};

	assert_int_equal(ap_cmd_build(AP_CMD_DEVICE_INFORMATION, "U-1", empty, &xml, &len, NULL, 0),
			 0);
	assert_int_equal(plist_dict_get_size(empty), 0); /* not modified */
	assert_int_equal(ap_plist_parse(xml, len, 0, &root), 0);
	plist_t cmd = plist_dict_get_item(root, "Command");
	assert_string_equal(plist_get_string_ptr(plist_dict_get_item(cmd, "RequestType"), NULL),
			    "DeviceInformation");
	plist_t q = plist_dict_get_item(cmd, "Queries");
	assert_int_equal(plist_array_get_size(q), sizeof(expected) / sizeof(expected[0]));
	for (uint32_t i = 0; i < plist_array_get_size(q); i++)
		assert_string_equal(plist_get_string_ptr(plist_array_get_item(q, i), NULL),
				    expected[i]);
	assert_string_equal(plist_get_string_ptr(plist_dict_get_item(root, "CommandUUID"), NULL),
			    "U-1");
	plist_free(root);
	plist_free(empty);
	free(xml);
}

/* ---- validation ---- */

static int build_rc(enum ap_cmd_type t, plist_t p, char *detail, size_t cap)
{
	char *xml = (char *)0x1;
	size_t len = 0;
	int rc =
	    ap_cmd_build(t, "9C1D7F8E-AAAA-4BBB-8CCC-000000000003", p, &xml, &len, detail, cap);
	if (rc == 0)
		free(xml);
	else
		assert_ptr_equal(xml, (char *)0x1); /* untouched on error */
	return rc;
}

static plist_t dict1(const char *key, plist_t v)
{
	plist_t d = plist_new_dict();
	plist_dict_set_item(d, key, v);
	return d;
}

static void expect_build(enum ap_cmd_type t, plist_t p, int rc, const char *in_detail)
{
	char detail[512];
	assert_int_equal(build_rc(t, p, detail, sizeof(detail)), rc);
	if (in_detail != NULL && strstr(detail, in_detail) == NULL) {
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", detail, in_detail);
		fail();
	}
	plist_free(p);
}

static void test_validation(void **state)
{
	/* unknown keys name themselves and the allowed ones */
	expect_build(AP_CMD_REMOVE_PROFILE, dict1("Identifer", plist_new_string("x")), AP_EINVAL,
		     "unknown key \"Identifer\"");
	expect_build(AP_CMD_INSTALL_APPLICATION, dict1("Bogus", plist_new_bool(1)), AP_EINVAL,
		     "allowed: iTunesStoreID, Identifier, ManifestURL");
	expect_build(AP_CMD_DEVICE_LOCK, dict1("PIN", plist_new_string("123456")), AP_EINVAL,
		     "PIN"); /* macOS only */
	expect_build(AP_CMD_SECURITY_INFO, dict1("X", plist_new_bool(1)), AP_EINVAL,
		     "allowed: none");
	expect_build(AP_CMD_DEVICE_LOCK, dict1("RequestType", plist_new_string("EraseDevice")),
		     AP_EINVAL, NULL);
	/* types */
	expect_build(AP_CMD_REMOVE_PROFILE, dict1("Identifier", plist_new_uint(1)), AP_ETYPE,
		     "Identifier must be string, not integer");
	expect_build(AP_CMD_CLEAR_PASSCODE, dict1("UnlockToken", plist_new_string("dG9rZW4=")),
		     AP_ETYPE, "UnlockToken must be data");
	expect_build(AP_CMD_INSTALL_PROFILE, dict1("Payload", plist_new_string("<plist/>")),
		     AP_ETYPE, NULL);
	expect_build(AP_CMD_ERASE_DEVICE, dict1("PreserveDataPlan", plist_new_string("true")),
		     AP_ETYPE, NULL);
	expect_build(AP_CMD_DEVICE_INFORMATION, dict1("Queries", plist_new_string("UDID")),
		     AP_ETYPE, NULL);
	plist_t q = plist_new_array();
	plist_array_append_item(q, plist_new_uint(1));
	expect_build(AP_CMD_DEVICE_INFORMATION, dict1("Queries", q), AP_ETYPE, "Queries[0]");
	q = plist_new_array();
	plist_array_append_item(q, plist_new_string("SerialNumer"));
	expect_build(AP_CMD_DEVICE_INFORMATION, dict1("Queries", q), AP_EINVAL, "SerialNumer");
	expect_build(AP_CMD_DEVICE_INFORMATION, dict1("Queries", plist_new_array()), AP_EINVAL,
		     "empty");
	/* required keys and rules */
	expect_build(AP_CMD_REMOVE_PROFILE, NULL, AP_EMISSING, "Identifier missing");
	expect_build(AP_CMD_REMOVE_APPLICATION, plist_new_dict(), AP_EMISSING, NULL);
	expect_build(AP_CMD_INSTALL_PROFILE, NULL, AP_EMISSING, "Payload");
	expect_build(AP_CMD_CLEAR_PASSCODE, NULL, AP_EMISSING, "UnlockToken");
	expect_build(AP_CMD_SETTINGS, NULL, AP_EMISSING, "Settings");
	expect_build(AP_CMD_REMOVE_PROFILE, dict1("Identifier", plist_new_string("")), AP_EINVAL,
		     "empty");
	expect_build(AP_CMD_ENABLE_LOST_MODE, dict1("Footnote", plist_new_string("x")), AP_EMISSING,
		     "Message or a PhoneNumber");
	expect_build(AP_CMD_ENABLE_LOST_MODE, dict1("Message", plist_new_string("")), AP_EMISSING,
		     NULL);
	expect_build(AP_CMD_ENABLE_LOST_MODE, dict1("PhoneNumber", plist_new_string("112")), 0,
		     NULL);
	expect_build(AP_CMD_INSTALL_APPLICATION, NULL, AP_EMISSING, "iTunesStoreID");
	expect_build(AP_CMD_INSTALL_APPLICATION,
		     dict1("ManifestURL", plist_new_string("http://apps.example.fr/m.plist")),
		     AP_EINVAL, "https");
	expect_build(AP_CMD_INSTALL_APPLICATION,
		     dict1("ManifestURL", plist_new_string("https://apps.example.fr/m.plist")), 0,
		     NULL);
	/* allowed values, nested keys */
	plist_t p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "ManagementFlags", plist_new_uint(2));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_EINVAL, "ManagementFlags: 2");
	p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "Options", dict1("PurchaseMethod", plist_new_uint(3)));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_EINVAL, "Options.PurchaseMethod");
	p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "Options", dict1("Foo", plist_new_uint(3)));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_EINVAL,
		     "in Options (allowed: PurchaseMethod)");
	p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "ChangeManagementState", plist_new_string("Unmanaged"));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_EINVAL, "Unmanaged");
	expect_build(AP_CMD_ERASE_DEVICE, dict1("ReturnToService", plist_new_dict()), AP_EMISSING,
		     "ReturnToService.Enabled missing");
	/* free-form configuration: any keys, but valid text and bounded depth */
	p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "Configuration", dict1("k", plist_new_string("bad\x01")));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_EINVAL, "Configuration");
	plist_t deep = plist_new_array(), cur = deep;
	for (int i = 0; i < 40; i++) {
		plist_t a = plist_new_array();
		plist_array_append_item(cur, a);
		cur = a;
	}
	p = dict1("iTunesStoreID", plist_new_uint(1));
	plist_dict_set_item(p, "Configuration", dict1("deep", deep));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, AP_ETOODEEP, NULL);
	/* text */
	expect_build(AP_CMD_DEVICE_LOCK, dict1("Message", plist_new_string("\xc3(")), AP_EINVAL,
		     "text");
}

static plist_t settings_with(plist_t item)
{
	plist_t arr = plist_new_array();
	plist_array_append_item(arr, item);
	return dict1("Settings", arr);
}

static void test_settings_validation(void **state)
{
	expect_build(AP_CMD_SETTINGS, settings_with(dict1("Item", plist_new_string("HostName"))),
		     AP_EINVAL, "unknown Item \"HostName\"");
	expect_build(AP_CMD_SETTINGS, /* Shared iPad only */
		     settings_with(dict1("Item", plist_new_string("AppAnalytics"))), AP_EINVAL,
		     "AppAnalytics");
	expect_build(AP_CMD_SETTINGS, settings_with(dict1("Enabled", plist_new_bool(1))),
		     AP_EMISSING, "Settings[0].Item missing");
	expect_build(AP_CMD_SETTINGS, settings_with(plist_new_string("Bluetooth")), AP_ETYPE,
		     "Settings[0]");
	plist_t w = dict1("Item", plist_new_string("Wallpaper"));
	plist_dict_set_item(w, "Image", plist_new_data("\x89PNG", 4));
	expect_build(AP_CMD_SETTINGS, settings_with(w), AP_EMISSING, "Settings[0].Where missing");
	w = dict1("Item", plist_new_string("Wallpaper"));
	plist_dict_set_item(w, "Image", plist_new_data("\x89PNG", 4));
	plist_dict_set_item(w, "Where", plist_new_uint(4));
	expect_build(AP_CMD_SETTINGS, settings_with(w), AP_EINVAL, "Where: 4");
	plist_t b = dict1("Item", plist_new_string("Bluetooth"));
	plist_dict_set_item(b, "Enabled", plist_new_bool(1));
	plist_dict_set_item(b, "DeviceName", plist_new_string("x"));
	expect_build(AP_CMD_SETTINGS, settings_with(b), AP_EINVAL,
		     "unknown key \"DeviceName\" in Settings[0]");
	expect_build(AP_CMD_SETTINGS, dict1("Settings", plist_new_array()), 0, NULL);
}

static void test_build_arguments(void **state)
{
	char *xml = NULL;
	size_t len;
	char detail[128];
	plist_t arr = plist_new_array();

	assert_int_equal(ap_cmd_build(AP_CMD__COUNT, "u", NULL, &xml, &len, detail, sizeof(detail)),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_build((enum ap_cmd_type) - 3, "u", NULL, &xml, &len, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_build(AP_CMD_SECURITY_INFO, "", NULL, &xml, &len, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_build(AP_CMD_SECURITY_INFO, NULL, NULL, &xml, &len, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_build(AP_CMD_SECURITY_INFO, "a\nb", NULL, &xml, &len, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(
	    ap_cmd_build(AP_CMD_SECURITY_INFO, "u", arr, &xml, &len, detail, sizeof(detail)),
	    AP_ETYPE);
	assert_int_equal(ap_cmd_build(AP_CMD_SECURITY_INFO, "u", NULL, NULL, &len, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_build(AP_CMD_SECURITY_INFO, "u", NULL, &xml, NULL, NULL, 0), 0);
	free(xml);
	assert_int_equal(ap_cmd_check_params(AP_CMD_SECURITY_INFO, arr, NULL, 0), AP_ETYPE);
	assert_int_equal(ap_cmd_check_params(AP_CMD_REMOVE_PROFILE, NULL, NULL, 0), AP_EMISSING);
	plist_free(arr);

	/* params are not consumed nor changed */
	plist_t p = dict1("Identifier", plist_new_string("fr.x"));
	char *before = NULL, *after = NULL;
	assert_int_equal(ap_plist_to_xml(p, &before, NULL), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_REMOVE_PROFILE, "u", p, &xml, &len, NULL, 0), 0);
	assert_int_equal(ap_plist_to_xml(p, &after, NULL), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(xml);
	plist_free(p);
}

/* ---- Key=value ---- */

static int kv_rc(enum ap_cmd_type t, const char *arg, char *detail, size_t cap)
{
	plist_t p = (plist_t)0x1;
	const char *args[] = {arg};
	int rc = ap_cmd_params_from_kv(t, args, 1, &p, detail, cap);
	if (rc == 0)
		plist_free(p);
	else
		assert_ptr_equal(p, (plist_t)0x1);
	return rc;
}

static void expect_kv(enum ap_cmd_type t, const char *arg, int rc, const char *in_detail)
{
	char detail[512];
	assert_int_equal(kv_rc(t, arg, detail, sizeof(detail)), rc);
	if (in_detail != NULL && strstr(detail, in_detail) == NULL) {
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", detail, in_detail);
		fail();
	}
}

static void test_kv_types(void **state)
{
	plist_t p =
	    KV(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID=361309726", "Options.PurchaseMethod=0",
	       "Attributes.AssociatedDomains=a.fr,b.fr", "Attributes.Removable=false");
	int64_t i = 0;
	assert_int_equal(ap_dict_get_int(p, "iTunesStoreID", &i), 0);
	assert_int_equal(i, 361309726);
	plist_t attr = plist_dict_get_item(p, "Attributes");
	int b = 1;
	assert_int_equal(ap_dict_get_bool(attr, "Removable", &b), 0);
	assert_int_equal(b, 0);
	plist_t dom = plist_dict_get_item(attr, "AssociatedDomains");
	assert_int_equal(plist_array_get_size(dom), 2);
	assert_string_equal(plist_get_string_ptr(plist_array_get_item(dom, 1), NULL), "b.fr");
	plist_free(p);

	p = KV(AP_CMD_CLEAR_PASSCODE, "UnlockToken=YXJkb2lzZQ==");
	unsigned char *data = NULL;
	size_t len = 0;
	assert_int_equal(ap_dict_get_data(p, "UnlockToken", &data, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "ardoise", 7);
	free(data);
	plist_free(p);
	p = KV(AP_CMD_CLEAR_PASSCODE, "UnlockToken=@hex:00FFa0");
	assert_int_equal(ap_dict_get_data(p, "UnlockToken", &data, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "\x00\xff\xa0", 3);
	free(data);
	plist_free(p);

	p = KV(AP_CMD_INSTALLED_APPLICATION_LIST, "Identifiers=");
	assert_int_equal(plist_array_get_size(plist_dict_get_item(p, "Identifiers")), 0);
	plist_free(p);
	/* no arguments: an empty dictionary */
	plist_t e = NULL;
	assert_int_equal(ap_cmd_params_from_kv(AP_CMD_DEVICE_LOCATION, NULL, 0, &e, NULL, 0), 0);
	assert_int_equal(plist_dict_get_size(e), 0);
	plist_free(e);
	/* required keys are left to ap_cmd_build() */
	assert_int_equal(ap_cmd_params_from_kv(AP_CMD_REMOVE_PROFILE, NULL, 0, &e, NULL, 0), 0);
	plist_free(e);
}

static void test_kv_errors(void **state)
{
	expect_kv(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID=12x", AP_EINVAL, "wants integer");
	expect_kv(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID=", AP_EINVAL, NULL);
	expect_kv(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID= 12", AP_EINVAL, NULL);
	expect_kv(AP_CMD_INSTALL_APPLICATION, "iTunesStoreID=99999999999999999999", AP_EINVAL,
		  NULL);
	expect_kv(AP_CMD_PROFILE_LIST, "ManagedOnly=yes", AP_EINVAL, "wants boolean");
	expect_kv(AP_CMD_CLEAR_PASSCODE, "UnlockToken=not base64!", AP_EINVAL, "wants data");
	expect_kv(AP_CMD_CLEAR_PASSCODE, "UnlockToken=@hex:abc", AP_EINVAL, NULL);
	expect_kv(AP_CMD_CLEAR_PASSCODE, "UnlockToken=@hex:zz", AP_EINVAL, NULL);
	expect_kv(AP_CMD_REMOVE_PROFILE, "Identifer=x", AP_EINVAL,
		  "unknown key \"Identifer\" (allowed: Identifier)");
	expect_kv(AP_CMD_REMOVE_PROFILE, "Identifier", AP_EINVAL, "expected Key=value");
	expect_kv(AP_CMD_REMOVE_PROFILE, "=x", AP_EINVAL, NULL);
	expect_kv(AP_CMD_REMOVE_PROFILE, "Identifier.x=y", AP_EINVAL, "not a dictionary");
	expect_kv(AP_CMD_REMOVE_PROFILE, "Identifier=a\x01", AP_EINVAL, NULL);
	expect_kv(AP_CMD_INSTALL_APPLICATION, "Options=1", AP_EINVAL, "Options.<key>=value");
	expect_kv(AP_CMD_INSTALL_APPLICATION, "Options.Foo=1", AP_EINVAL,
		  "allowed: PurchaseMethod");
	expect_kv(AP_CMD_INSTALL_APPLICATION, "Options.=1", AP_EINVAL, "empty key");
	expect_kv(AP_CMD_INSTALL_APPLICATION, "ManagementFlags=3", AP_EINVAL, "not an allowed");
	expect_kv(AP_CMD_INSTALLED_APPLICATION_LIST, "Items=Name,Bogus", AP_EINVAL, "Bogus");
	expect_kv(AP_CMD_SECURITY_INFO, "X=1", AP_EINVAL, "allowed: none");
	expect_kv(AP_CMD_SETTINGS, "Settings=x", AP_EINVAL, "<Item>.<Key>=value");
	expect_kv(AP_CMD_SETTINGS, "Bogus.Enabled=true", AP_EINVAL, "Item one of Wallpaper");
	expect_kv(AP_CMD_SETTINGS, "Bluetooth=true", AP_EINVAL, "Bluetooth.<key>=value");
	expect_kv(AP_CMD_SETTINGS, "Bluetooth.Item=Wallpaper", AP_EINVAL, "allowed: Enabled");
	expect_kv(AP_CMD_SETTINGS, "Wallpaper.Where=7", AP_EINVAL, "Where: 7");

	const char *dup[] = {"Identifier=a", "Identifier=b"};
	plist_t p = NULL;
	char detail[256];
	assert_int_equal(
	    ap_cmd_params_from_kv(AP_CMD_REMOVE_PROFILE, dup, 2, &p, detail, sizeof(detail)),
	    AP_EINVAL);
	assert_non_null(strstr(detail, "twice"));
	assert_int_equal(ap_cmd_params_from_kv(AP_CMD_REMOVE_PROFILE, NULL, 1, &p, NULL, 0),
			 AP_EINVAL);
	const char *null_item[] = {NULL};
	assert_int_equal(ap_cmd_params_from_kv(AP_CMD_REMOVE_PROFILE, null_item, 1, &p, NULL, 0),
			 AP_EINVAL);
	assert_int_equal(ap_cmd_params_from_kv(AP_CMD__COUNT, NULL, 0, &p, NULL, 0), AP_EINVAL);
}

/* Same Item twice goes into one settings dictionary. */
static void test_kv_settings_grouping(void **state)
{
	plist_t p = KV(AP_CMD_SETTINGS, "Wallpaper.Where=1", "Bluetooth.Enabled=true",
		       "Wallpaper.Image=iVBORw0KGgo=");
	plist_t arr = plist_dict_get_item(p, "Settings");
	assert_int_equal(plist_array_get_size(arr), 2);
	plist_t w = plist_array_get_item(arr, 0);
	assert_string_equal(plist_get_string_ptr(plist_dict_get_item(w, "Item"), NULL),
			    "Wallpaper");
	assert_int_equal(plist_dict_get_size(w), 3);
	plist_free(p);
	/* incomplete items are caught when building */
	p = KV(AP_CMD_SETTINGS, "Wallpaper.Where=1");
	expect_build(AP_CMD_SETTINGS, p, AP_EMISSING, "Image missing");
}

static void test_convenience(void **state)
{
	plist_t p = NULL;
	int64_t i;
	char *s;

	assert_int_equal(ap_cmd_params_install_app(0, NULL, &p), AP_EINVAL);
	assert_int_equal(ap_cmd_params_install_app(-5, "", &p), AP_EINVAL);
	assert_int_equal(ap_cmd_params_install_app(0, "bad\x02", &p), AP_EINVAL);
	assert_int_equal(ap_cmd_params_install_app(42, "fr.ignored", &p), 0);
	assert_int_equal(ap_dict_get_int(p, "iTunesStoreID", &i), 0);
	assert_int_equal(i, 42);
	assert_null(plist_dict_get_item(p, "Identifier"));
	assert_int_equal(ap_dict_get_int(plist_dict_get_item(p, "Options"), "PurchaseMethod", &i),
			 0);
	assert_int_equal(i, 1);
	assert_int_equal(ap_dict_get_int(p, "ManagementFlags", &i), 0);
	assert_int_equal(i, 1);
	plist_free(p);
	assert_int_equal(ap_cmd_params_install_app(0, "fr.education.pronote", &p), 0);
	assert_int_equal(ap_dict_get_string(p, "Identifier", &s), 0);
	assert_string_equal(s, "fr.education.pronote");
	free(s);
	assert_null(plist_dict_get_item(p, "Options"));
	expect_build(AP_CMD_INSTALL_APPLICATION, p, 0, NULL);

	assert_int_equal(ap_cmd_params_erase(0, NULL, 0, &p), 0);
	assert_int_equal(plist_dict_get_size(p), 0);
	expect_build(AP_CMD_ERASE_DEVICE, p, 0, NULL);
	assert_int_equal(ap_cmd_params_erase(1, NULL, 0, &p), 0);
	plist_t rts = plist_dict_get_item(p, "ReturnToService");
	assert_non_null(rts);
	assert_null(plist_dict_get_item(rts, "MDMProfileData"));
	expect_build(AP_CMD_ERASE_DEVICE, p, 0, NULL);

	assert_int_equal(ap_cmd_params_install_profile(NULL, 3, &p), AP_EINVAL);
	assert_int_equal(ap_cmd_params_install_profile("x", 0, &p), AP_EINVAL);
	assert_int_equal(ap_cmd_params_clear_passcode(NULL, 0, &p), AP_EINVAL);
}

/* Secret parameters come out of what is stored ("(sealed)" in their
 * place, nested ones too) and go back into what is sent. */
static void test_secrets_split_and_join(void **state)
{
	plist_t p = NULL;
	char *xml = NULL, *pub = NULL, *sec = NULL, *full = NULL;
	size_t len = 0, plen = 0, slen = 0, flen = 0;
	assert_true(ap_cmd_has_secrets(AP_CMD_CLEAR_PASSCODE));
	assert_true(ap_cmd_has_secrets(AP_CMD_ERASE_DEVICE));
	assert_false(ap_cmd_has_secrets(AP_CMD_DEVICE_LOCK));
	assert_false(ap_cmd_has_secrets(AP_CMD_DEVICE_LOCATION));

	assert_int_equal(ap_cmd_params_erase(1, "PROFILE-WITH-CODE", 17, &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_ERASE_DEVICE, "U-1", p, &xml, &len, NULL, 0), 0);
	plist_free(p);
	assert_int_equal(ap_cmd_split_secrets(xml, len, &pub, &plen, &sec, &slen), 0);
	assert_non_null(strstr(xml, "UFJPRklMRS1XSVRILUNPREU=")); /* base64 of the profile */
	assert_null(strstr(pub, "UFJPRklMRS1XSVRILUNPREU="));
	assert_non_null(strstr(pub, "<key>MDMProfileData</key>"));
	assert_non_null(strstr(pub, AP_CMD_SEALED));
	assert_non_null(strstr(pub, "<key>Enabled</key>"));
	assert_non_null(strstr(sec, "UFJPRklMRS1XSVRILUNPREU="));
	assert_null(strstr(sec, "Enabled"));
	assert_int_equal(ap_cmd_join_secrets(pub, plen, sec, slen, &full, &flen), 0);
	assert_non_null(strstr(full, "UFJPRklMRS1XSVRILUNPREU="));
	assert_null(strstr(full, AP_CMD_SEALED));
	free(full);
	free(pub);
	free(sec);
	free(xml);

	/* a command without secret values: nothing sealed */
	assert_int_equal(ap_cmd_params_erase(0, NULL, 0, &p), 0);
	assert_int_equal(ap_cmd_build(AP_CMD_ERASE_DEVICE, "U-2", p, &xml, &len, NULL, 0), 0);
	plist_free(p);
	assert_int_equal(ap_cmd_split_secrets(xml, len, &pub, &plen, &sec, &slen), 0);
	assert_null(sec);
	assert_int_equal(slen, 0);
	free(pub);
	free(xml);
	/* not a command */
	assert_int_equal(
	    ap_cmd_split_secrets("<plist><dict/></plist>", 22, &pub, &plen, &sec, &slen),
	    AP_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_every_command_is_schema_valid),
	    cmocka_unit_test(test_default_queries),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_settings_validation),
	    cmocka_unit_test(test_build_arguments),
	    cmocka_unit_test(test_kv_types),
	    cmocka_unit_test(test_kv_errors),
	    cmocka_unit_test(test_kv_settings_grouping),
	    cmocka_unit_test(test_convenience),
	    cmocka_unit_test(test_secrets_split_and_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
