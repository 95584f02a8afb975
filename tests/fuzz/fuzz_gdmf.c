/*
 * fuzz_gdmf.c - libFuzzer target for Apple's update catalogue parser
 * (daemon/apple/gdmf.c).  Checks its promises on what it accepts: every
 * release's version parses again to the same numbers, its build and its
 * devices are product-type text within their sizes, the devices are sorted
 * (the binary search relies on it), each device is offered its release
 * unless it expired, and the questions answer without crashing; on a
 * refusal the reason is written and nothing is returned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "gdmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_release(const struct gdmf *g, const struct gdmf_release *r)
{
	struct gdmf_version v;
	const struct gdmf_release *out[4];
	if (gdmf_version_parse(r->version, &v) < 0 || gdmf_version_cmp(&v, &r->v) != 0)
		abort();
	if (r->build[0] == '\0' || strlen(r->build) > GDMF_BUILD_MAX || r->posted == 0)
		abort();
	for (size_t k = 0; k < r->n_devices; k++) {
		if (!gdmf_model_ok(r->devices[k]))
			abort();
		if (k && strcmp(r->devices[k - 1], r->devices[k]) > 0)
			abort();
		if (!gdmf_release_offers(r, r->devices[k], r->posted))
			if (!r->expires || r->posted < r->expires)
				abort();
		if (gdmf_offered(g, r->set, r->devices[k], r->posted, out, 4) == 0 &&
		    gdmf_release_offers(r, r->devices[k], r->posted))
			abort();
		if (gdmf_is_offered(g, r->set, r->devices[k], r->posted, r->version) < 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdmf *g = NULL;
	char err[300] = "";
	if (gdmf_parse((const char *)data, size, &g, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || g != NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < gdmf_count(g); i++)
		check_release(g, gdmf_release_at(g, i));
	const char **names = NULL;
	size_t n = 0;
	if (gdmf_models(g, GDMF_PUBLIC, "", &names, &n) == 0) {
		for (size_t i = 1; i < n; i++)
			if (gdmf_model_cmp(names[i - 1], names[i]) >= 0)
				abort(); /* sorted, each once */
		free(names);
	}
	gdmf_free(g);
	return 0;
}
