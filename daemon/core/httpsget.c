/* httpsget.c - one HTTPS GET through libcurl, capped. */
#include "httpsget.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define CONNECT_TIMEOUT_S 10L

struct get {
	const struct httpsget_req *q;
	struct ap_buf body;
	int too_big; /* the body passed max_bytes */
	int ca_bad;  /* q->ca could not be read */
};

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct get *g = arg;
	if (ap_buf_append(&g->body, data, size * n) < 0) {
		g->too_big = 1;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	return size * n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct get *g = arg;
	return g->q->stop && atomic_load(g->q->stop) ? 1 : 0;
}

/* The extra trust anchors, added to the system's that curl loaded. */
static CURLcode add_ca(CURL *h, void *ssl_ctx, void *arg)
{
	struct get *g = arg;
	if (X509_STORE_load_file(SSL_CTX_get_cert_store(ssl_ctx), g->q->ca) != 1) {
		g->ca_bad = 1;
		return CURLE_SSL_CACERT_BADFILE;
	}
	return CURLE_OK;
}

static void setup(CURL *h, struct get *g, char *errbuf)
{
	const struct httpsget_req *q = g->q;
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, g);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 60L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (q->user_agent)
		curl_easy_setopt(h, CURLOPT_USERAGENT, q->user_agent);
	if (q->ca && q->ca[0]) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, add_ca);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, g);
	}
}

int httpsget(const struct httpsget_req *q, struct httpsget_res *ret, char *err, size_t cap)
{
	static uv_once_t once = UV_ONCE_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct get g = {q, {0}, 0, 0};
	long status = 0;
	curl_off_t after = 0;
	int rc = 0;
	uv_once(&once, global_init);
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(err, cap, "out of memory");
		return AP_ENOMEM;
	}
	ap_buf_init(&g.body, q->max_bytes);
	setup(h, &g, errbuf);
	CURLcode c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after);
	curl_easy_cleanup(h);
	if (c == CURLE_OK && ap_buf_append(&g.body, "", 0) < 0)
		c = CURLE_OUT_OF_MEMORY; /* an empty body: data stays NULL otherwise */
	if (c != CURLE_OK) {
		rc = g.too_big ? AP_ETOOBIG : g.ca_bad ? AP_ECONFIG : AP_EIO;
		if (g.too_big)
			snprintf(err, cap, "the answer passes %zu bytes", q->max_bytes);
		else if (g.ca_bad)
			snprintf(err, cap, "%.200s: no PEM certificate could be read", q->ca);
		else if (q->stop && atomic_load(q->stop))
			snprintf(err, cap, "stopped");
		else
			snprintf(err, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(c));
		ap_buf_free(&g.body);
		return rc;
	}
	ret->status = status;
	ret->retry_after = after > 0 && after < 86400 ? (long)after : 0;
	ret->body = ap_buf_steal(&g.body, &ret->len);
	return 0;
}
