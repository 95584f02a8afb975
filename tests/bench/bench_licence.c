/*
 * bench_licence.c - the Apps and Books licence plan (pol_lic_plan()) at
 * the département's size: T tablets (default 100,000) in 140 collèges,
 * each wanting A apps (default 10) among 40; half the wanted licences
 * already held, 5 % of tablets retired (their licences freed), one app
 * short in every collège.  CPU time of this thread for the plan alone
 * (inputs built beforehand), best of 5.
 * Run: meson test -C build --benchmark --verbose licence_plan (or the
 * binary, optional T A).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pol_licence.h"

#define COLLEGES 140
#define APPS	 40

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	size_t nt = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t na = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	if (nt == 0 || na == 0 || na > APPS) {
		fprintf(stderr, "usage: bench_licence [TABLETS [APPS (1..40)]]\n");
		return 2;
	}
	static char adam[APPS][16];
	const char **apps = malloc(APPS * 2 * sizeof(*apps));
	for (int i = 0; i < APPS; i++) {
		snprintf(adam[i], sizeof(adam[i]), "%d", 361309726 + i * 7919);
		apps[i] = apps[i + APPS] = adam[i];
	}
	char(*serial)[16] = malloc(nt * sizeof(*serial));
	struct pol_lic_tablet *t = malloc(nt * sizeof(*t));
	struct pol_lic_held *h = malloc(nt * na * sizeof(*h));
	struct pol_lic_stock *s = malloc(COLLEGES * APPS * sizeof(*s));
	size_t nh = 0, ns = 0;
	if (!serial || !t || !h || !s)
		return 1;
	srand(16);
	for (size_t i = 0; i < nt; i++) {
		snprintf(serial[i], sizeof(serial[i]), "DMP%09zu", (i * 2654435761u) % 1000000000u);
		int64_t college = (int64_t)(i % COLLEGES);
		/* a window of na apps, starting by the collège */
		t[i] = (struct pol_lic_tablet){
		    serial[i], college, NULL, rand() % 20 != 0, apps + (size_t)college % APPS, na};
		for (size_t k = 0; k < na; k++)
			if (rand() % 2)
				h[nh++] = (struct pol_lic_held){serial[i], t[i].apps[k], college};
	}
	for (int c = 0; c < COLLEGES; c++)
		for (int a = 0; a < APPS; a++)
			s[ns++] = (struct pol_lic_stock){c, adam[a], a == c % APPS ? 10 : 100000};
	double best = 1e18;
	struct pol_lic_plan p;
	for (int run = 0; run < 5; run++) {
		double t0 = cpu_ms();
		if (pol_lic_plan(t, nt, h, nh, s, ns, 1000, &p) != 0)
			return 1;
		double ms = cpu_ms() - t0;
		if (ms < best)
			best = ms;
		if (run < 4)
			pol_lic_plan_free(&p);
	}
	printf("licence plan: %zu tablets x %zu apps, %zu licences held, %d collèges: %.0f ms "
	       "(best of 5, CPU); %zu requests, %zu to associate, %zu to free, %zu kept, %zu "
	       "shortages\n",
	       nt, na, nh, COLLEGES, best, p.n_ops, p.n_associate, p.n_disassociate, p.n_kept,
	       p.n_shorts);
	pol_lic_plan_free(&p);
	free(apps);
	free(serial);
	free(t);
	free(h);
	free(s);
	return 0;
}
