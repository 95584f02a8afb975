/*
 * api_vpp.h - the Apps and Books content tokens' expiry warning, for
 * /healthz (api_core.c) as for GET /api/v1/vpp/status (api_vpp.c).
 */
#ifndef API_VPP_H
#define API_VPP_H

#include <stddef.h>

struct req;

#define VPP_WARN_DAYS 30 /* a token's expiry is warned of this many days ahead */

/* Writes a warning into out (cap bytes) and returns 1 when a content
 * token expires within VPP_WARN_DAYS days, has expired or was stopped by
 * Apple (9621/9625); 0 (out "") otherwise.  The first such token only. */
int api_vpp_warning(struct req *r, char *out, size_t cap);

#endif
