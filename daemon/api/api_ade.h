/*
 * api_ade.h - the ADE server token's expiry warning, for /healthz
 * (api_core.c) as for GET /api/v1/ade/status (api_ade.c).
 */
#ifndef API_ADE_H
#define API_ADE_H

#include <stddef.h>

struct req;

#define ADE_WARN_DAYS 30 /* the token's expiry is warned of this many days ahead */

/* Writes a warning into out (cap bytes) and returns 1 when the stored ADE
 * server token expires within ADE_WARN_DAYS days or has expired; 0 (out
 * "") when there is none, it is further, or it cannot be read. */
int api_ade_warning(struct req *r, char *out, size_t cap);

#endif
