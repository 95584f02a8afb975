/*
 * fuzz_scan.c - libFuzzer target for the CLI's JSON scanner (tools/
 * ctl_scan.c), which reads long lists from the server's answer text
 * without a JSON parser: ctl_scan_page() on the raw bytes, then
 * ctl_scan_rows() on what it finds (or on the whole input), with the keys
 * `device list` asks for (the holder's, members of a member, too).  Every value handed out must be a string within
 * its room.  Replayed from the committed corpus in `meson test`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {"serial",	"udid",	      "school",	    "state",
				   "model",	"asset_tag",  "enrollment", "last_seen",
				   "holder.id", "holder.name"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void row(const char *const *vals, void *arg)
{
	size_t *n = arg;
	for (size_t k = 0; k < NKEYS; k++)
		if (strnlen(vals[k], CTL_SCAN_VAL) >= CTL_SCAN_VAL)
			abort(); /* a value past its room */
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), next[32];
	const char *items = NULL;
	size_t n_items = 0, rows = 0;
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* as ctl_call_raw() hands bodies over */
	if (ctl_scan_page(text, size, "devices", &items, &n_items, next, sizeof(next))) {
		if (items < text || items + n_items > text + size || strlen(next) >= sizeof(next))
			abort();
		(void)ctl_scan_rows(items, n_items, keys, NKEYS, row, &rows);
	} else {
		(void)ctl_scan_rows(text, size, keys, NKEYS, row, &rows);
	}
	free(text);
	return 0;
}
