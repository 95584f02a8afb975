/* web.c - serving the embedded pages: assets under /static/, index.html for
 * every page path. */
#include "web.h"
#include "ap_err.h"
#include "api_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The paths that are not pages: their unknown routes answer JSON 404. */
static const char *const not_pages[] = {"/api/", "/mdm/", "/scep", "/healthz", "/static/"};

static int by_path(const void *key, const void *row)
{
	return strcmp(key, ((const struct web_asset *)row)->path);
}

const struct web_asset *web_asset_find(const char *path)
{
	if (path == NULL || web_n_assets == 0)
		return NULL;
	return bsearch(path, web_assets, web_n_assets, sizeof(web_assets[0]), by_path);
}

int web_is_page(const char *path)
{
	for (size_t i = 0; i < sizeof(not_pages) / sizeof(not_pages[0]); i++)
		if (strncmp(path, not_pages[i], strlen(not_pages[i])) == 0)
			return 0;
	return 1;
}

/* 1 when the If-None-Match header (a list of entity tags, weak or strong,
 * or "*") names the asset's tag. */
static int not_modified(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	while (inm && *inm) {
		inm += strspn(inm, " \t,");
		if (*inm == '*')
			return 1;
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		if (*inm == '"' && strncmp(inm + 1, etag, n) == 0 && inm[n + 1] == '"')
			return 1;
		inm += strcspn(inm, ",");
	}
	return 0;
}

/* Answers the asset's bytes; cache is the Cache-Control value, and an
 * asset that may be cached (no-cache: revalidated) also gets its ETag and
 * a 304 without body when the client already holds it. */
static void answer(struct req *r, const struct web_asset *a, const char *cache)
{
	char tag[24];
	ap_http_resp_add_header(r->resp, "Cache-Control", cache);
	ap_buf_reset(&r->resp->body);
	if (strcmp(cache, "no-store") != 0) {
		snprintf(tag, sizeof(tag), "\"%s\"", a->etag);
		ap_http_resp_add_header(r->resp, "ETag", tag);
		if (not_modified(ap_http_header(r->http, "if-none-match"), a->etag)) {
			r->resp->status = 304;
			return;
		}
	}
	r->resp->status = 200;
	r->resp->content_type = a->content_type;
	/* the answer's cap ([server] max_body_bytes) bounds what handlers
	 * build from requests; an asset's size is fixed at build time */
	if (r->resp->body.limit < a->len)
		r->resp->body.limit = a->len;
	if (ap_buf_append(&r->resp->body, a->data, a->len) < 0)
		api_fail(r, AP_ENOMEM, 0, "no memory for a %zu-byte file", a->len);
}

static void web_static(struct req *r)
{
	const struct web_asset *a = web_asset_find(r->params[0]);
	if (a == NULL) {
		api_fail(r, AP_ENOTFOUND, 404, "no such file under /static/");
		return;
	}
	answer(r, a, "no-cache");
}

static void web_page(struct req *r)
{
	const struct web_asset *a = web_asset_find("index.html");
	if (a == NULL) {
		api_fail(r, AP_ENOTFOUND, 404, "this ardoised was built without its pages");
		return;
	}
	answer(r, a, "no-store");
}

const struct route web_routes[] = {
    {"GET", "/static/*", AUTH_NONE, web_static},
    {"GET", "/", AUTH_NONE, web_page},
    {"GET", "/*", AUTH_NONE, web_page, web_is_page},
    {NULL, NULL, AUTH_NONE, NULL},
};
