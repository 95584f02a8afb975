/*
 * bench_apns.c - pushes per second through daemon/apple/apns.c over one HTTP/2
 * connection, to the stand-in (tests/push/apns_standin) or any APNs-like
 * server.  Not a test: run by hand or with `meson test --benchmark`.
 *
 *   bench_apns --url https://127.0.0.1:PORT --cert push.pem --key push.key
 *              --ca ca.pem [-n 100000] [--streams 1000]
 *
 * Keeps every stream the connection allows busy with distinct 32-byte
 * tokens, and prints one JSON line: pushes, seconds (first submit to last
 * answer, the connection set-up excluded), pushes_per_s, ok, failed,
 * reconnects.  Exit 1 when any push failed.
 */
#include "ap_err.h"
#include "apns.h"
#include "keystore.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench {
	uv_loop_t loop;
	struct apns *apns;
	char topic[256];
	long n, submitted, ok, failed, resent, answered, connects;
	uint64_t t0, t1;
	int closing;
	long *retry; /* tags to send again (refused streams) */
	long n_retry;
};

static void pump(struct bench *b)
{
	char hex[65];
	size_t room = apns_room(b->apns);
	while (room > 0 && (b->n_retry > 0 || b->submitted < b->n)) {
		long i = b->n_retry > 0 ? b->retry[--b->n_retry] : b->submitted++;
		snprintf(hex, sizeof(hex), "%016lx%048x", (unsigned long)i * 2654435761u, 0xa5);
		if (b->t0 == 0)
			b->t0 = uv_hrtime();
		if (apns_push(b->apns, hex, b->topic, "00000000-1111-2222-3333-444444444444",
			      (uint64_t)i) < 0) {
			b->retry[b->n_retry++] = i;
			break;
		}
		room--;
	}
	if (room == 0 && apns_get_state(b->apns) == APNS_IDLE)
		apns_want(b->apns);
}

static void on_done(void *arg, uint64_t tag, const struct apns_result *r)
{
	struct bench *b = arg;
	enum apns_outcome o = apns_classify(r);
	if (o == APNS_RESEND || o == APNS_RETRY) {
		b->resent++;
		b->retry[b->n_retry++] = (long)tag;
		return;
	}
	if (o == APNS_OK)
		b->ok++;
	else if (b->failed++ == 0)
		fprintf(stderr, "bench_apns: first failure: %d %s\n", r->status, r->reason);
	if (++b->answered == b->n)
		b->t1 = uv_hrtime();
}

/* Runs outside nghttp2's callbacks: may close. */
static void on_room(void *arg)
{
	struct bench *b = arg;
	if (b->answered == b->n) {
		if (!b->closing)
			apns_close(b->apns, NULL, NULL);
		b->closing = 1;
		return;
	}
	pump(b);
}

static void on_state(void *arg, enum apns_state s, const char *error)
{
	struct bench *b = arg;
	if (s == APNS_READY)
		b->connects++;
	if (error[0])
		fprintf(stderr, "bench_apns: %s: %s\n", apns_state_name(s), error);
}

static void on_start(uv_timer_t *t)
{
	struct bench *b = t->data;
	apns_want(b->apns);
	uv_close((uv_handle_t *)t, NULL);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	struct apns_opts o = {.max_streams = 1000,
			      .timeout_ms = 10000,
			      .reconnect_min_ms = 100,
			      .reconnect_max_ms = 2000};
	struct bench b = {.n = 100000};
	struct keystore_push_info info;
	char err[512];
	SSL_CTX *ctx;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--cert") == 0)
			cert = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
		else if (strcmp(argv[i], "--ca") == 0)
			ca = argv[i + 1];
		else if (strcmp(argv[i], "-n") == 0)
			b.n = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--streams") == 0)
			o.max_streams = (uint32_t)strtoul(argv[i + 1], NULL, 10);
	}
	if (!url || !cert || !key || b.n < 1 ||
	    apns_parse_url(url, o.host, sizeof(o.host), &o.port) < 0) {
		fprintf(stderr, "usage: bench_apns --url https://HOST:PORT --cert PEM --key PEM "
				"[--ca PEM] [-n N] [--streams S]\n");
		return 2;
	}
	if (keystore_push_info(cert, NULL, &info, err, sizeof(err)) < 0 ||
	    keystore_push_ctx(cert, key, NULL, ca, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_apns: %s\n", err);
		return 2;
	}
	snprintf(b.topic, sizeof(b.topic), "%s", info.topic);
	signal(SIGPIPE, SIG_IGN);
	b.retry = calloc((size_t)b.n, sizeof(*b.retry));
	uv_loop_init(&b.loop);
	struct apns_handler h = {&b, on_done, on_room, on_state};
	if (b.retry == NULL || apns_new(&b.loop, ctx, &o, &h, &b.apns) < 0)
		return 2;
	uv_timer_t start;
	uv_timer_init(&b.loop, &start);
	start.data = &b;
	uv_timer_start(&start, on_start, 0, 0);
	uv_run(&b.loop, UV_RUN_DEFAULT);
	double s = (double)(b.t1 - b.t0) / 1e9;
	printf("{\"pushes\": %ld, \"seconds\": %.3f, \"pushes_per_s\": %.0f, \"ok\": %ld, "
	       "\"failed\": %ld, \"resent\": %ld, \"connections\": %ld, \"streams\": %u}\n",
	       b.n, s, s > 0 ? (double)b.n / s : 0.0, b.ok, b.failed, b.resent, b.connects,
	       o.max_streams);
	uv_loop_close(&b.loop);
	SSL_CTX_free(ctx);
	free(b.retry);
	return b.failed ? 1 : 0;
}
