/*
 * fuzz_msg.c - libFuzzer target for what devices send: ap_msg_parse() on
 * the raw bytes, then every typed result view (ap_result_*) on the parsed
 * dictionary, whatever the message says it is.  Built as a real fuzzer
 * with clang -fsanitize=fuzzer (see meson.build), and always with replay.c
 * so the committed corpus runs in `meson test`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ap_msg.h"
#include "ap_plist.h"
#include "ap_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void views(plist_t dict)
{
	struct ap_device_info *di = NULL;
	struct ap_security_info si;
	struct ap_app *apps = NULL;
	struct ap_managed_app *mapps = NULL;
	struct ap_profile_info *profiles = NULL;
	struct ap_location loc;
	char *s = NULL;
	size_t n = 0;

	if (ap_result_device_info(dict, &di) == 0)
		ap_device_info_free(di);
	(void)ap_result_security_info(dict, &si);
	if (ap_result_installed_apps(dict, &apps, &n) == 0)
		ap_apps_free(apps, n);
	if (ap_result_managed_apps(dict, &mapps, &n) == 0)
		ap_managed_apps_free(mapps, n);
	if (ap_result_profile_list(dict, &profiles, &n) == 0)
		ap_profiles_free(profiles, n);
	if (ap_result_location(dict, &loc) == 0)
		ap_location_clear(&loc);
	if (ap_result_bypass_code(dict, &s) == 0)
		free(s);
	if (ap_result_device_lock(dict, &s) == 0)
		free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_msg *m = NULL;
	plist_t p = NULL;
	char detail[96];

	if (ap_msg_parse((const char *)data, size, 0, &m, detail, sizeof(detail)) == 0) {
		if (m->kind == AP_MSG_REPORT)
			views(m->u.report.dict);
		ap_msg_free(m);
	}
	/* the views must also hold on dictionaries that are not valid reports */
	if (ap_plist_parse((const char *)data, size, 0, &p) == 0) {
		views(p);
		char *xml = NULL;
		if (ap_plist_to_xml(p, &xml, NULL) == 0)
			free(xml);
		plist_free(p);
	}
	return 0;
}
