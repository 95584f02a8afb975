/*
 * fuzz_kv.c - libFuzzer target for what staff type after `command send`:
 * ap_cmd_params_from_kv() on "Key=value" strings (the first byte picks the
 * command type, the rest is split on line feeds, at most 32 strings, as
 * the route takes them), then, for what converts, ap_cmd_build(), the
 * MDMOptions probe of the generic route, and the sealing split and join of
 * secret parameters.  Replayed from the committed corpus in `meson test`.
 */
#include <plist/plist.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"

#define MAX_KV 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* build, split the secrets out and put them back: the round trip must hold */
static void build_and_seal(enum ap_cmd_type t, plist_t params)
{
	char *xml = NULL, *pub = NULL, *sec = NULL, *joined = NULL;
	size_t len = 0, plen = 0, slen = 0, jlen = 0;
	if (ap_cmd_build(t, "0F9C2D52-6D4B-4C3A-9E0B-3C1E5A7B8D90", params, &xml, &len, NULL, 0) <
	    0)
		return;
	if (ap_cmd_split_secrets(xml, len, &pub, &plen, &sec, &slen) == 0 && sec &&
	    ap_cmd_join_secrets(pub, plen, sec, slen, &joined, &jlen) == 0 &&
	    (jlen != len || memcmp(joined, xml, len) != 0))
		abort(); /* a secret put back differently than it was taken out */
	free(joined);
	free(pub);
	free(sec);
	free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *kv[MAX_KV];
	char detail[256];
	size_t n = 0;
	plist_t params = NULL;
	if (size < 1)
		return 0;
	enum ap_cmd_type t = (enum ap_cmd_type)(data[0] % AP_CMD__COUNT);
	char *text = malloc(size); /* the rest, NUL-terminated */
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (char *p = text; n < MAX_KV;) {
		kv[n++] = p;
		char *nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (ap_cmd_params_from_kv(t, kv, n, &params, detail, sizeof(detail)) == 0) {
		(void)ap_cmd_settings_has(params, "MDMOptions");
		build_and_seal(t, params);
		plist_free(params);
	}
	free(text);
	return 0;
}
