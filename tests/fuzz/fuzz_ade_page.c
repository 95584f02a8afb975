/*
 * fuzz_ade_page.c - libFuzzer target for ADE's page, define and assign
 * answer parsers (daemon/apple/ade.c).  Checks their promises: an accepted
 * page has a non-empty printable cursor, at most 1000 devices, each with a
 * serial of letters and digits and an op_type among Apple's three (or
 * none); an accepted assign answer has serials of letters and digits and a
 * retry within its cap; on a refusal the reason is written and nothing is
 * returned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ade.h"
#include "ap_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ade_page p;
	struct ade_assign a;
	char err[300] = "", uuid[ADE_UUID_MAX + 1];
	const char *text = (const char *)data;
	if (ade_page_parse(text, size, &p, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || p.devices || p.n)
			abort();
	} else {
		if (p.cursor[0] == '\0' || p.n > ADE_PAGE_MAX_DEVS)
			abort();
		for (size_t i = 0; i < p.n; i++) {
			const char *op = p.devices[i].op_type;
			if (!ade_serial_ok(p.devices[i].serial) ||
			    (op[0] && strcmp(op, "added") && strcmp(op, "modified") &&
			     strcmp(op, "deleted")))
				abort();
		}
		ade_page_clear(&p);
	}
	err[0] = '\0';
	if (ade_assign_parse(text, size, &a, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || a.items || a.n)
			abort();
	} else {
		if (a.profile_uuid[0] == '\0' || a.retry_after < 0 ||
		    a.retry_after > ADE_RETRY_MAX_S || a.n > ADE_ASSIGN_MAX)
			abort();
		for (size_t i = 0; i < a.n; i++)
			if (!ade_serial_ok(a.items[i].serial))
				abort();
		ade_assign_clear(&a);
	}
	err[0] = '\0';
	if (ade_define_parse(text, size, uuid, err, sizeof(err)) < 0 && (err[0] == '\0' || uuid[0]))
		abort();
	err[0] = '\0';
	if (ade_settings_check(text, size, err, sizeof(err)) < 0 && err[0] == '\0')
		abort();
	return 0;
}
