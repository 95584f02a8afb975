/*
 * bench_scep.c - time of the SCEP server path per request:
 * ap_scep_req_parse + ap_x509_issue_client + ap_scep_certrep_success, for
 * RSA-2048 device keys against an EC P-256 CA (and an RSA-2048 CA for
 * comparison).  Requests are built beforehand and not timed.
 * Run: meson test -C build --benchmark  (or the binary, optional N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ap_scep.h"
#include "ap_x509.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int bench(const char *label, EVP_PKEY *ca_key, int n)
{
	X509 *ca = NULL;
	EVP_PKEY *dev = NULL;
	if (ap_x509_make_ca(ca_key, "Bench CA", NULL, 365, &ca) != 0 ||
	    ap_x509_new_rsa_key(2048, &dev) != 0)
		return 1;
	unsigned char **reqs = calloc((size_t)n, sizeof(*reqs));
	size_t *lens = calloc((size_t)n, sizeof(*lens));
	double *t = calloc((size_t)n, sizeof(*t));
	if (reqs == NULL || lens == NULL || t == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		X509 *ss = NULL;
		if (ap_scep_client_request(dev, "bench-device", "challenge", ca, AP_SCEP_AES128,
					   &reqs[i], &lens[i], &ss) != 0)
			return 1;
		X509_free(ss);
	}
	double total = 0;
	for (int i = 0; i < n; i++) {
		struct ap_scep_req *r = NULL;
		X509 *issued = NULL;
		unsigned char *rep = NULL;
		size_t rep_len = 0;
		double t0 = now_us();
		if (ap_scep_req_parse(reqs[i], lens[i], ca, ca_key, &r) != 0 ||
		    ap_x509_issue_client(ca, ca_key, ap_scep_req_csr(r), 365, &issued) != 0 ||
		    ap_scep_certrep_success(r, issued, ca, ca_key, &rep, &rep_len) != 0)
			return 1;
		t[i] = now_us() - t0;
		total += t[i];
		free(rep);
		X509_free(issued);
		ap_scep_req_free(r);
		free(reqs[i]);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	printf("%s: %d requests, mean %.0f us, median %.0f us, p95 %.0f us per "
	       "parse+issue+certrep\n",
	       label, n, total / n, t[n / 2], t[(n * 95) / 100]);
	free(t);
	free(lens);
	free(reqs);
	EVP_PKEY_free(dev);
	X509_free(ca);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 200;
	EVP_PKEY *ec = NULL, *rsa = NULL;
	if (n < 1 || n > 100000 || ap_x509_new_ec_key(&ec) != 0 ||
	    ap_x509_new_rsa_key(2048, &rsa) != 0)
		return 1;
	int rc = bench("EC P-256 CA, RSA-2048 device, AES-128", ec, n) ||
		 bench("RSA-2048 CA, RSA-2048 device, AES-128", rsa, n);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	return rc;
}
