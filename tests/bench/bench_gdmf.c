/*
 * bench_gdmf.c - Apple's update catalogue at a size above Apple's own
 * answer (its 2024-2025 answers: about 0.3-0.6 MB, a few hundred releases):
 * a generated catalogue of R releases (default 400) each naming D product
 * types (default 150, among 600, iPads a third) parsed by gdmf_parse(), then
 * what GET /api/v1/updates/catalogue does under the catalogue's lock: the
 * iPad models (gdmf_models()) and for each its releases offered
 * (gdmf_offered()).  CPU time of this thread, best of 5.
 * Run: meson test -C build --benchmark --verbose gdmf_catalogue (or the
 * binary, optional R D).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ap_buf.h"
#include "gdmf.h"
#include "isodate.h"

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *model_name(unsigned i, char out[32])
{
	static const char *const kinds[] = {"iPad", "iPhone", "AppleTV"};
	snprintf(out, 32, "%s%u,%u", kinds[i % 3], 5 + i / 30, 1 + i % 30);
	return out;
}

/* The catalogue's JSON into b: r releases under PublicAssetSets.iOS, a
 * tenth of them in AssetSets too. */
static int generate(struct ap_buf *b, unsigned r, unsigned d)
{
	char name[32];
	int rc = ap_buf_appends(b, "{\"PublicAssetSets\": {\"iOS\": [");
	for (unsigned i = 0; rc == 0 && i < r; i++) {
		rc = ap_buf_printf(b,
				   "%s{\"ProductVersion\": \"%u.%u.%u\", \"Build\": \"%uA%u\", "
				   "\"PostingDate\": \"2026-%02u-%02u\", %s\"SupportedDevices\": [",
				   i ? ", " : "", 15 + i % 12, i % 10, i % 4, 19 + i % 12, 100 + i,
				   1 + i % 12, 1 + i % 28,
				   i % 3 ? "\"ExpirationDate\": \"2027-06-01\", " : "");
		for (unsigned k = 0; rc == 0 && k < d; k++)
			rc = ap_buf_printf(b, "%s\"%s\"", k ? ", " : "",
					   model_name((i * 7 + k * 13) % 600, name));
		if (rc == 0)
			rc = ap_buf_appends(b, "]}");
	}
	return rc ? rc : ap_buf_appends(b, "]}, \"AssetSets\": {}}");
}

int main(int argc, char **argv)
{
	unsigned r = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 400;
	unsigned d = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 150;
	struct ap_buf b;
	char err[300];
	double best_parse = 1e9, best_answer = 1e9;
	size_t n_models = 0, n_offered = 0;
	isodate_set_zone("Europe/Paris");
	ap_buf_init(&b, GDMF_MAX_BYTES);
	if (generate(&b, r, d) < 0) {
		fprintf(stderr, "bench_gdmf: the catalogue passes %u bytes\n", GDMF_MAX_BYTES);
		return 1;
	}
	int64_t now = 0;
	isodate_parse_time("2026-12-02T12:00:00", &now);
	for (int round = 0; round < 5; round++) {
		struct gdmf *g = NULL;
		double t0 = cpu_ms();
		if (gdmf_parse(b.data, b.len, &g, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_gdmf: %s\n", err);
			return 1;
		}
		double t1 = cpu_ms();
		const char **names = NULL;
		const struct gdmf_release *out[64];
		gdmf_models(g, GDMF_PUBLIC, "iPad", &names, &n_models);
		n_offered = 0;
		for (size_t i = 0; i < n_models; i++)
			n_offered += gdmf_offered(g, GDMF_PUBLIC, names[i], now, out, 64);
		double t2 = cpu_ms();
		free(names);
		gdmf_free(g);
		best_parse = t1 - t0 < best_parse ? t1 - t0 : best_parse;
		best_answer = t2 - t1 < best_answer ? t2 - t1 : best_answer;
	}
	printf("catalogue: %u releases x %u devices, %zu bytes\n", r, d, b.len);
	printf("gdmf_parse: %.1f ms (best of 5)\n", best_parse);
	printf("every iPad model's offered releases (%zu models, %zu offers): %.1f ms\n", n_models,
	       n_offered, best_answer);
	ap_buf_free(&b);
	return 0;
}
