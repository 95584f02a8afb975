/* Unit tests for ap_result: typed views over schema-valid responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "ap_result.h"
#include "testutil.h"

#define HEAD                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"            \
	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
	"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n"
#define TAIL "</plist>\n"
#define ACK                                                           \
	"<key>Status</key><string>Acknowledged</string>\n"            \
	"<key>UDID</key><string>00008103-001A2B3C4D5E6F70</string>\n" \
	"<key>CommandUUID</key><string>5E1C0F4A-9B7D-4C2E-8A61-3F0D2B7C9E11</string>\n"

static const char device_information[] =
    HEAD "<dict>\n" ACK "<key>QueryResponses</key><dict>\n"
	 "<key>UDID</key><string>00008103-001A2B3C4D5E6F70</string>\n"
	 "<key>DeviceName</key><string>iPad-0131266F-042</string>\n"
	 "<key>SerialNumber</key><string>DMPXK0AAQ1GC</string>\n"
	 "<key>Model</key><string>MK2K3NF/A</string>\n"
	 "<key>ModelName</key><string>iPad</string>\n"
	 "<key>ProductName</key><string>iPad12,1</string>\n"
	 "<key>OSVersion</key><string>17.5.1</string>\n"
	 "<key>BuildVersion</key><string>21F90</string>\n"
	 "<key>DeviceCapacity</key><real>64</real>\n"
	 "<key>AvailableDeviceCapacity</key><real>41.73</real>\n"
	 "<key>BatteryLevel</key><real>0.82</real>\n"
	 "<key>IsSupervised</key><true/>\n"
	 "<key>IsMDMLostModeEnabled</key><false/>\n"
	 "<key>WiFiMAC</key><string>a4:83:e7:12:34:56</string>\n"
	 "</dict>\n</dict>\n" TAIL;

static const char security_info[] =
    HEAD "<dict>\n" ACK "<key>SecurityInfo</key><dict>\n"
	 "<key>HardwareEncryptionCaps</key><integer>3</integer>\n"
	 "<key>PasscodePresent</key><true/>\n"
	 "<key>PasscodeCompliant</key><true/>\n"
	 "<key>PasscodeCompliantWithProfiles</key><false/>\n"
	 "<key>PasscodeLockGracePeriodEnforced</key><integer>0</integer>\n"
	 "<key>ManagementStatus</key><dict><key>IsUserEnrollment</key><false/></dict>\n"
	 "</dict>\n</dict>\n" TAIL;

static const char installed_apps[] =
    HEAD "<dict>\n" ACK "<key>InstalledApplicationList</key><array>\n"
	 "<dict><key>Identifier</key><string>com.apple.Pages</string>"
	 "<key>Name</key><string>Pages</string><key>ShortVersion</key><string>14.1</string>"
	 "<key>Version</key><string>6217.0.71</string><key>BundleSize</key>"
	 "<integer>512000000</integer><key>Installing</key><false/>"
	 "<key>IsValidated</key><true/><key>HasUpdateAvailable</key><false/></dict>\n"
	 "<dict><key>Identifier</key><string>fr.education.pronote</string>"
	 "<key>Name</key><string>PRONOTE</string><key>Version</key><string>2024.0.3</string>"
	 "<key>ExternalVersionIdentifier</key><integer>866012345</integer></dict>\n"
	 "<dict><key>Identifier</key><string>com.example.installing</string>"
	 "<key>Installing</key><true/></dict>\n"
	 "</array>\n</dict>\n" TAIL;

static const char managed_apps[] =
    HEAD "<dict>\n" ACK "<key>ManagedApplicationList</key><dict>\n"
	 "<key>com.apple.Pages</key><dict><key>Status</key><string>Managed</string>"
	 "<key>ManagementFlags</key><integer>1</integer>"
	 "<key>UnusedRedemptionCode</key><string></string>"
	 "<key>HasConfiguration</key><false/><key>HasFeedback</key><false/>"
	 "<key>IsValidated</key><true/>"
	 "<key>ExternalVersionIdentifier</key><integer>861234567</integer></dict>\n"
	 "<key>fr.education.pronote</key><dict><key>Status</key><string>Installing</string>"
	 "<key>ManagementFlags</key><integer>5</integer>"
	 "<key>UnusedRedemptionCode</key><string></string>"
	 "<key>HasConfiguration</key><true/><key>HasFeedback</key><false/>"
	 "<key>IsValidated</key><false/>"
	 "<key>ExternalVersionIdentifier</key><integer>0</integer></dict>\n"
	 "</dict>\n</dict>\n" TAIL;

static const char profile_list[] =
    HEAD "<dict>\n" ACK "<key>ProfileList</key><array>\n"
	 "<dict><key>PayloadIdentifier</key><string>fr.ardoise.enroll</string>"
	 "<key>PayloadUUID</key><string>A1B2C3D4-0000-4000-8000-000000000001</string>"
	 "<key>PayloadVersion</key><integer>1</integer>"
	 "<key>PayloadDisplayName</key><string>Ardoise MDM</string>"
	 "<key>PayloadOrganization</key><string>D\xc3\xa9partement</string>"
	 "<key>IsManaged</key><true/><key>PayloadRemovalDisallowed</key><true/>"
	 "<key>IsEncrypted</key><false/><key>HasRemovalPasscode</key><false/>"
	 "<key>PayloadContent</key><array><dict><key>PayloadType</key>"
	 "<string>com.apple.mdm</string><key>PayloadIdentifier</key>"
	 "<string>fr.ardoise.enroll.mdm</string><key>PayloadUUID</key>"
	 "<string>A1B2C3D4-0000-4000-8000-000000000004</string><key>PayloadVersion</key>"
	 "<integer>1</integer></dict></array></dict>\n"
	 "<dict><key>PayloadIdentifier</key><string>com.example.user</string>"
	 "<key>PayloadUUID</key><string>A1B2C3D4-0000-4000-8000-0000000000AA</string>"
	 "<key>IsManaged</key><false/></dict>\n"
	 "</array>\n</dict>\n" TAIL;

static const char device_location[] =
    HEAD "<dict>\n" ACK "<key>Latitude</key><real>43.2965</real>\n"
	 "<key>Longitude</key><real>5.3698</real>\n"
	 "<key>HorizontalAccuracy</key><real>35</real>\n"
	 "<key>VerticalAccuracy</key><real>-1</real>\n"
	 "<key>Altitude</key><real>12.5</real>\n"
	 "<key>Speed</key><real>-1</real>\n"
	 "<key>Course</key><real>-1</real>\n"
	 "<key>Timestamp</key><string>2024-11-05T09:41:00Z</string>\n"
	 "</dict>\n" TAIL;

static const char bypass_code[] =
    HEAD "<dict>\n" ACK
	 "<key>ActivationLockBypassCode</key><string>R7ZKJ-8W3HG-4JRM6-1C2K3-9YXRX</string>\n"
	 "</dict>\n" TAIL;

static const char device_lock[] =
    HEAD "<dict>\n" ACK "<key>MessageResult</key><string>DeviceInLostMode</string>\n"
	 "</dict>\n" TAIL;

#define DOC(n)                       \
	{                            \
#n, n, sizeof(n) - 1 \
	}

/* Each response against its command's schema, missing keys as errors. */
static void test_responses_are_schema_valid(void **state)
{
	const struct {
		struct tu_doc doc;
		const char *request_type;
	} cases[] = {
	    {DOC(device_information), "DeviceInformation"},
	    {DOC(security_info), "SecurityInfo"},
	    {DOC(installed_apps), "InstalledApplicationList"},
	    {DOC(managed_apps), "ManagedApplicationList"},
	    {DOC(profile_list), "ProfileList"},
	    {DOC(device_location), "DeviceLocation"},
	    {DOC(bypass_code), "ActivationLockBypassCode"},
	    {DOC(device_lock), "DeviceLock"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const args[] = {
		    "--kind",	"response", "--request-type", cases[i].request_type, "--strict",
		    "--werror", NULL};
		assert_int_equal(tu_schema_check(&cases[i].doc, 1, args), 0);
	}
}

static struct ap_msg *ack(const char *xml)
{
	struct ap_msg *m = NULL;
	char detail[128];
	assert_int_equal(ap_msg_parse(xml, strlen(xml), 0, &m, detail, sizeof(detail)), 0);
	assert_int_equal(m->kind, AP_MSG_REPORT);
	assert_int_equal(m->u.report.status, AP_STATUS_ACKNOWLEDGED);
	return m;
}

static void test_device_info(void **state)
{
	struct ap_msg *m = ack(device_information);
	struct ap_device_info *d = NULL;

	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), 0);
	assert_string_equal(d->udid, "00008103-001A2B3C4D5E6F70");
	assert_string_equal(d->serial, "DMPXK0AAQ1GC");
	assert_string_equal(d->device_name, "iPad-0131266F-042");
	assert_string_equal(d->model, "MK2K3NF/A");
	assert_string_equal(d->model_name, "iPad");
	assert_string_equal(d->product_name, "iPad12,1");
	assert_string_equal(d->os_version, "17.5.1");
	assert_string_equal(d->build_version, "21F90");
	assert_string_equal(d->wifi_mac, "a4:83:e7:12:34:56");
	assert_true(d->has_capacity && d->capacity_gb == 64.0);
	assert_true(d->has_available && d->available_gb == 41.73);
	assert_true(d->has_battery && d->battery_level == 0.82);
	assert_true(d->has_supervised && d->supervised == 1);
	assert_true(d->has_lost_mode && d->lost_mode == 0);
	ap_device_info_free(d);

	/* lenient: absent keys; an integer where a real is expected */
	plist_t q = plist_dict_get_item(m->u.report.dict, "QueryResponses");
	plist_dict_remove_item(q, "SerialNumber");
	plist_dict_remove_item(q, "IsSupervised");
	plist_dict_set_item(q, "DeviceCapacity", plist_new_uint(128));
	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), 0);
	assert_null(d->serial);
	assert_false(d->has_supervised);
	assert_true(d->capacity_gb == 128.0);
	ap_device_info_free(d);
	/* strict on types of present keys */
	plist_dict_set_item(q, "BatteryLevel", plist_new_string("82%"));
	d = NULL;
	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), AP_ETYPE);
	assert_null(d);
	plist_dict_remove_item(q, "BatteryLevel");
	plist_dict_set_item(q, "OSVersion", plist_new_real(17.5));
	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), AP_ETYPE);
	plist_dict_remove_item(m->u.report.dict, "QueryResponses");
	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), AP_EMISSING);
	plist_dict_set_item(m->u.report.dict, "QueryResponses", plist_new_array());
	assert_int_equal(ap_result_device_info(m->u.report.dict, &d), AP_ETYPE);
	assert_int_equal(ap_result_device_info(NULL, &d), AP_EINVAL);
	ap_device_info_free(NULL);
	ap_msg_free(m);
}

static void test_security_info(void **state)
{
	struct ap_msg *m = ack(security_info);
	struct ap_security_info s;

	memset(&s, 0x55, sizeof(s));
	assert_int_equal(ap_result_security_info(m->u.report.dict, &s), 0);
	assert_int_equal(s.hw_encryption_caps, 3);
	assert_int_equal(s.passcode_present, 1);
	assert_int_equal(s.has_passcode_present, 1);
	assert_int_equal(s.passcode_compliant, 1);
	assert_int_equal(s.passcode_compliant_with_profiles, 0);
	plist_t si = plist_dict_get_item(m->u.report.dict, "SecurityInfo");
	plist_dict_remove_item(si, "PasscodePresent");
	assert_int_equal(ap_result_security_info(m->u.report.dict, &s), 0);
	assert_int_equal(s.has_passcode_present, 0);
	plist_dict_set_item(si, "HardwareEncryptionCaps", plist_new_bool(1));
	s.hw_encryption_caps = 42;
	assert_int_equal(ap_result_security_info(m->u.report.dict, &s), AP_ETYPE);
	assert_int_equal(s.hw_encryption_caps, 42); /* untouched on error */
	plist_dict_remove_item(m->u.report.dict, "SecurityInfo");
	assert_int_equal(ap_result_security_info(m->u.report.dict, &s), AP_EMISSING);
	ap_msg_free(m);
}

static void test_installed_apps(void **state)
{
	struct ap_msg *m = ack(installed_apps);
	struct ap_app *apps = NULL;
	size_t n = 0;

	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(apps[0].identifier, "com.apple.Pages");
	assert_string_equal(apps[0].name, "Pages");
	assert_string_equal(apps[0].short_version, "14.1");
	assert_string_equal(apps[0].version, "6217.0.71");
	assert_null(apps[1].short_version);
	assert_null(apps[2].name);
	ap_apps_free(apps, n);

	plist_t list = plist_dict_get_item(m->u.report.dict, "InstalledApplicationList");
	plist_array_append_item(list, plist_new_string("not a dict"));
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), AP_ETYPE);
	plist_array_remove_item(list, 3);
	plist_t bad = plist_new_dict();
	plist_dict_set_item(bad, "Identifier", plist_new_string("x"));
	plist_dict_set_item(bad, "Name", plist_new_uint(1));
	plist_array_append_item(list, bad);
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), AP_ETYPE);

	/* an empty list is fine; more than the cap is refused */
	plist_t many = plist_new_array();
	plist_dict_set_item(m->u.report.dict, "InstalledApplicationList", many);
	apps = (struct ap_app *)1;
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 0);
	assert_null(apps);
	for (int i = 0; i < AP_RESULT_MAX_APPS; i++) {
		plist_t a = plist_new_dict();
		plist_dict_set_item(a, "Identifier", plist_new_string("com.example.app"));
		plist_array_append_item(many, a);
	}
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, AP_RESULT_MAX_APPS);
	ap_apps_free(apps, n);
	plist_array_append_item(many, plist_new_dict());
	assert_int_equal(ap_result_installed_apps(m->u.report.dict, &apps, &n), AP_ETOOBIG);
	ap_apps_free(NULL, 0);
	ap_msg_free(m);
}

static void test_managed_apps(void **state)
{
	struct ap_msg *m = ack(managed_apps);
	struct ap_managed_app *apps = NULL;
	size_t n = 0;

	assert_int_equal(ap_result_managed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(apps[i].identifier, "com.apple.Pages") == 0) {
			assert_string_equal(apps[i].status, "Managed");
			assert_int_equal(apps[i].management_flags, 1);
		} else {
			assert_string_equal(apps[i].identifier, "fr.education.pronote");
			assert_string_equal(apps[i].status, "Installing");
			assert_int_equal(apps[i].management_flags, 5);
		}
	}
	ap_managed_apps_free(apps, n);
	plist_t list = plist_dict_get_item(m->u.report.dict, "ManagedApplicationList");
	plist_dict_set_item(list, "com.example.bad", plist_new_string("Managed"));
	assert_int_equal(ap_result_managed_apps(m->u.report.dict, &apps, &n), AP_ETYPE);
	plist_t bad = plist_new_dict();
	plist_dict_set_item(bad, "ManagementFlags", plist_new_string("1"));
	plist_dict_set_item(list, "com.example.bad", bad);
	assert_int_equal(ap_result_managed_apps(m->u.report.dict, &apps, &n), AP_ETYPE);
	plist_dict_set_item(list, "com.example.bad", plist_new_dict());
	assert_int_equal(ap_result_managed_apps(m->u.report.dict, &apps, &n), 0);
	assert_int_equal(n, 3);
	ap_managed_apps_free(apps, n);
	ap_msg_free(m);
}

static void test_profile_list(void **state)
{
	struct ap_msg *m = ack(profile_list);
	struct ap_profile_info *p = NULL;
	size_t n = 0;

	assert_int_equal(ap_result_profile_list(m->u.report.dict, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].identifier, "fr.ardoise.enroll");
	assert_string_equal(p[0].uuid, "A1B2C3D4-0000-4000-8000-000000000001");
	assert_string_equal(p[0].display_name, "Ardoise MDM");
	assert_int_equal(p[0].managed, 1);
	assert_null(p[1].display_name);
	assert_int_equal(p[1].managed, 0);
	ap_profiles_free(p, n);

	plist_t many = plist_new_array();
	for (int i = 0; i <= AP_RESULT_MAX_PROFILES; i++)
		plist_array_append_item(many, plist_new_dict());
	plist_dict_set_item(m->u.report.dict, "ProfileList", many);
	assert_int_equal(ap_result_profile_list(m->u.report.dict, &p, &n), AP_ETOOBIG);
	plist_dict_set_item(m->u.report.dict, "ProfileList", plist_new_dict());
	assert_int_equal(ap_result_profile_list(m->u.report.dict, &p, &n), AP_ETYPE);
	ap_msg_free(m);
}

static void test_location(void **state)
{
	struct ap_msg *m = ack(device_location);
	struct ap_location l;

	assert_int_equal(ap_result_location(m->u.report.dict, &l), 0);
	assert_true(l.latitude == 43.2965 && l.longitude == 5.3698);
	assert_true(l.horizontal_accuracy == 35 && l.vertical_accuracy == -1);
	assert_true(l.altitude == 12.5 && l.speed == -1 && l.course == -1);
	assert_string_equal(l.timestamp, "2024-11-05T09:41:00Z");
	ap_location_clear(&l);
	assert_null(l.timestamp);

	/* pre-10.3 devices send only the coordinates */
	plist_t d = m->u.report.dict;
	const char *optional[] = {
	    "HorizontalAccuracy", "VerticalAccuracy", "Altitude", "Speed", "Course", "Timestamp"};
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		plist_dict_remove_item(d, optional[i]);
	assert_int_equal(ap_result_location(d, &l), 0);
	assert_true(l.horizontal_accuracy == -1 && l.altitude == -1);
	assert_null(l.timestamp);
	ap_location_clear(&l);
	plist_dict_set_item(d, "Timestamp", plist_new_uint(1));
	assert_int_equal(ap_result_location(d, &l), AP_ETYPE);
	plist_dict_remove_item(d, "Timestamp");
	plist_dict_set_item(d, "Latitude", plist_new_real(91));
	assert_int_equal(ap_result_location(d, &l), AP_EINVAL);
	plist_dict_set_item(d, "Latitude", plist_new_string("43.2"));
	assert_int_equal(ap_result_location(d, &l), AP_ETYPE);
	plist_dict_remove_item(d, "Latitude");
	assert_int_equal(ap_result_location(d, &l), AP_EMISSING);
	ap_location_clear(NULL);
	ap_msg_free(m);
}

static void test_strings(void **state)
{
	struct ap_msg *m = ack(bypass_code);
	char *s = NULL;

	assert_int_equal(ap_result_bypass_code(m->u.report.dict, &s), 0);
	assert_string_equal(s, "R7ZKJ-8W3HG-4JRM6-1C2K3-9YXRX");
	free(s);
	assert_int_equal(ap_result_device_lock(m->u.report.dict, &s), AP_EMISSING);
	ap_msg_free(m);
	m = ack(device_lock);
	assert_int_equal(ap_result_device_lock(m->u.report.dict, &s), 0);
	assert_string_equal(s, "DeviceInLostMode");
	free(s);
	assert_int_equal(ap_result_bypass_code(m->u.report.dict, &s), AP_EMISSING);
	plist_dict_set_item(m->u.report.dict, "MessageResult", plist_new_bool(1));
	assert_int_equal(ap_result_device_lock(m->u.report.dict, &s), AP_ETYPE);
	ap_msg_free(m);
}

/* The secrets a report carries are replaced, the rest kept. */
static void test_redact(void **state)
{
	struct ap_msg *m = ack(device_location);
	plist_t d = m->u.report.dict;
	assert_true(ap_result_has_secrets(d));
	assert_int_equal(ap_result_redact(d), 8);
	char *xml = NULL;
	assert_int_equal(ap_plist_to_xml(d, &xml, NULL), 0);
	assert_null(strstr(xml, "43.29"));
	assert_null(strstr(xml, "5.369"));
	assert_non_null(strstr(xml, AP_RESULT_NOT_STORED));
	assert_non_null(strstr(xml, "Acknowledged"));
	free(xml);
	ap_msg_free(m);

	m = ack(bypass_code);
	assert_int_equal(ap_result_redact(m->u.report.dict), 1);
	char *code = NULL;
	assert_int_equal(ap_result_bypass_code(m->u.report.dict, &code), 0);
	assert_string_equal(code, AP_RESULT_NOT_STORED);
	free(code);
	ap_msg_free(m);

	m = ack(security_info);
	assert_false(ap_result_has_secrets(m->u.report.dict));
	assert_int_equal(ap_result_redact(m->u.report.dict), 0);
	ap_msg_free(m);
	assert_int_equal(ap_result_redact(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_responses_are_schema_valid),
	    cmocka_unit_test(test_device_info),
	    cmocka_unit_test(test_security_info),
	    cmocka_unit_test(test_installed_apps),
	    cmocka_unit_test(test_managed_apps),
	    cmocka_unit_test(test_profile_list),
	    cmocka_unit_test(test_location),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
