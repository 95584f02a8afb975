/*
 * web.h - the pages: the files of daemon/web/ embedded in ardoised at
 * build time (tools/web-embed writes the table), and the routes that serve
 * them: GET /static/<path> an asset, any other page path index.html (the
 * pages route on the client, with the History API).
 */
#ifndef WEB_H
#define WEB_H

#include <stddef.h>

#include "req.h"

/* One embedded file; everything static, nothing to free. */
struct web_asset {
	const char *path;	  /* relative to daemon/web/: "js/main.js" */
	const char *content_type; /* from the extension */
	const unsigned char *data;
	size_t len;
	const char *etag; /* first 16 hex digits of the SHA-256 of data, unquoted */
};

/* The generated table, sorted by path (strcmp order); web_n_assets rows. */
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

/* The asset at path (relative to daemon/web/, as in a /static/ URL, no
 * leading '/'); NULL when none is embedded under exactly that name (so
 * "../x", "/etc/passwd" or "js//main.js" are never found).  path may be
 * NULL. */
const struct web_asset *web_asset_find(const char *path);

/* 1 when GET path is a page (answered with index.html): any path not
 * under /api/, /mdm/, /scep, /healthz or /static/. */
int web_is_page(const char *path);

/* GET /static/ *, GET / and GET of any page path; registered last in
 * router.c (the page route takes what no other route does). */
extern const struct route web_routes[];

#endif
