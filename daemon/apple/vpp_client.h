/*
 * vpp_client.h - the client of Apple's Apps and Books API v2
 * (docs/apple-services.md §3) over httpsreq.h: one kept connection per
 * client, the sToken as bearer on every call but GET /service/config.
 *
 * Blocking: call it on a libuv work thread (daemon/fleet/licence.c), or,
 * for the two calls of a token's import, with the short timeout the
 * caller gives.  Every answer goes through vpp_answer_check() (errors in
 * a 200 body too); 9646 (429) and 5xx answers are tried again up to
 * VPP_CLIENT_RETRIES times after Retry-After (or 1, 2, 4... s), each wait
 * capped at wait_cap_s; other errors come back at once with *e filled
 * (e->action says what to do: VPP_NEW_TOKEN for 9621/9625 means stop
 * using the token).  An answer whose mdmInfo.id is not ours (when mdm_id
 * is set) is AP_ECONFLICT: another MDM claimed the location.  Nothing
 * here logs; the bearer lives only in the client's memory and is wiped by
 * vpp_client_close().
 */
#ifndef VPP_CLIENT_H
#define VPP_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vpp.h"

#define VPP_CLIENT_RETRIES    3
#define VPP_CLIENT_SERVICE_S  300 /* GET /service/config re-read at most this often */
#define VPP_CLIENT_POLL_MAX_S 5	  /* the longest pause between two polls of an event */

struct vpp_client;

struct vpp_client_opts {
	const char *url;	/* the API's root ([vpp] url) */
	const char *ca;		/* extra trust anchors, "" none ([vpp] ca) */
	const char *mdm_id;	/* this installation's mdmInfo.id; "" = not checked */
	long timeout_s;		/* each request */
	long wait_cap_s;	/* the longest wait before a retry */
	long poll_timeout_s;	/* an event still PENDING after this is left in flight */
	const atomic_int *stop; /* non-zero: give up at the next step; NULL ok */
};

/* A client for the sToken (len bytes, copied; whitespace around it
 * trimmed).  AP_ENOMEM, AP_EINVAL (empty). */
int vpp_client_open(const struct vpp_client_opts *o, const char *stoken, size_t len,
		    struct vpp_client **ret);
/* Wipes the bearer and frees; NULL ok. */
void vpp_client_close(struct vpp_client *c);
/* Requests sent so far (retries counted). */
uint64_t vpp_client_requests(const struct vpp_client *c);

/* Apple's limits (GET /service/config, read once per VPP_CLIENT_SERVICE_S
 * in the process; the defaults when it fails) into *ret. */
void vpp_client_limits(struct vpp_client *c, struct vpp_limits *ret);

/* GET /client/config. */
int vpp_client_config_get(struct vpp_client *c, struct vpp_client_config *ret, struct vpp_error *e);
/* POST /client/config {mdmInfo{id, name}}: claims the location. */
int vpp_client_claim(struct vpp_client *c, const char *id, const char *name,
		     struct vpp_client_config *ret, struct vpp_error *e);

/* Every asset (GET /assets, pages followed): fn for each, non-zero stops
 * (returned). */
int vpp_client_assets(struct vpp_client *c, int (*fn)(const struct vpp_asset *a, void *arg),
		      void *arg, struct vpp_error *e);
/* Every device assignment (GET /assignments, pages followed). */
int vpp_client_assignments(struct vpp_client *c,
			   int (*fn)(const struct vpp_assignment *a, void *arg), void *arg,
			   struct vpp_error *e);

/* POST /assets/associate (disassociate 0) or /assets/disassociate of one
 * app to serials[0..n), n at most the limits' max_serials: the eventId
 * into event_id (VPP_TEXT_MAX + 1 bytes). */
int vpp_client_post(struct vpp_client *c, int disassociate, const char *adam_id,
		    const char *pricing, const char *const *serials, size_t n, char *event_id,
		    struct vpp_error *e);
/* Polls GET /status?eventId= until COMPLETE or FAILED (pauses from 100 ms
 * doubling to VPP_CLIENT_POLL_MAX_S), *ret filled (vpp_status_free());
 * still PENDING after poll_timeout_s: 0 with ret->state VPP_PENDING. */
int vpp_client_poll(struct vpp_client *c, const char *event_id, struct vpp_status *ret,
		    struct vpp_error *e);

#endif
