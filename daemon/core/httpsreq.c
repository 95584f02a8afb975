/* httpsreq.c - one HTTPS request through libcurl, capped. */
#include "httpsreq.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define CONNECT_TIMEOUT_S 10L

struct httpsreq_conn {
	CURL *h;
};

struct call {
	const struct httpsreq_req *q;
	struct httpsreq_res *res;
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
	struct call *g = arg;
	if (ap_buf_append(&g->body, data, size * n) < 0) {
		g->too_big = 1;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* Keeps want_header's value (the last one when it comes twice). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct call *g = arg;
	size_t len = size * n, name = strlen(g->q->want_header);
	if (len > name && data[name] == ':' && strncasecmp(data, g->q->want_header, name) == 0) {
		const char *v = data + name + 1, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		size_t vlen = (size_t)(end - v);
		if (vlen < sizeof(g->res->header)) {
			memcpy(g->res->header, v, vlen);
			g->res->header[vlen] = '\0';
		}
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct call *g = arg;
	return g->q->stop && atomic_load(g->q->stop) ? 1 : 0;
}

/* The extra trust anchors, added to the system's that curl loaded. */
static CURLcode add_ca(CURL *h, void *ssl_ctx, void *arg)
{
	struct call *g = arg;
	if (X509_STORE_load_file(SSL_CTX_get_cert_store(ssl_ctx), g->q->ca) != 1) {
		g->ca_bad = 1;
		return CURLE_SSL_CACERT_BADFILE;
	}
	return CURLE_OK;
}

static int setup(CURL *h, struct call *g, char *errbuf, struct curl_slist **hdrs)
{
	const struct httpsreq_req *q = g->q;
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
	if (q->want_header) {
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, g);
	}
	if (q->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)q->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	if (q->method) /* with a body too: DELETE /profile/devices carries one */
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	for (const char *const *l = q->headers; l && *l; l++) {
		struct curl_slist *n = curl_slist_append(*hdrs, *l);
		if (n == NULL)
			return AP_ENOMEM;
		*hdrs = n;
	}
	if (*hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

struct httpsreq_conn *httpsreq_conn_new(void)
{
	static uv_once_t once = UV_ONCE_INIT;
	uv_once(&once, global_init);
	struct httpsreq_conn *c = calloc(1, sizeof(*c));
	if (c && (c->h = curl_easy_init()) == NULL) {
		free(c);
		c = NULL;
	}
	return c;
}

void httpsreq_conn_free(struct httpsreq_conn *c)
{
	if (c) {
		curl_easy_cleanup(c->h);
		free(c);
	}
}

int httpsreq(const struct httpsreq_req *q, struct httpsreq_res *ret, char *err, size_t cap)
{
	static uv_once_t once = UV_ONCE_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct call g = {q, ret, {0}, 0, 0};
	struct curl_slist *hdrs = NULL;
	long status = 0;
	curl_off_t after = 0;
	int rc = 0;
	uv_once(&once, global_init);
	memset(ret, 0, sizeof(*ret));
	CURL *h = q->conn ? q->conn->h : curl_easy_init();
	if (h == NULL) {
		snprintf(err, cap, "out of memory");
		return AP_ENOMEM;
	}
	if (q->conn)
		curl_easy_reset(h); /* options forgotten, the connection kept */
	ap_buf_init(&g.body, q->max_bytes);
	CURLcode c = setup(h, &g, errbuf, &hdrs) < 0 ? CURLE_OUT_OF_MEMORY : curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after);
	if (q->conn == NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
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
		else if (c == CURLE_OUT_OF_MEMORY)
			snprintf(err, cap, "out of memory"), rc = AP_ENOMEM;
		else
			snprintf(err, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(c));
		ap_buf_free(&g.body);
		ret->header[0] = '\0';
		return rc;
	}
	ret->status = status;
	ret->retry_after = after > 0 && after < 86400 ? (long)after : 0;
	ret->body = ap_buf_steal(&g.body, &ret->len);
	return 0;
}
