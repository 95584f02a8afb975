/*
 * mdm.h - the device side: check-in and command endpoints, the enrolment
 * profile, SCEP, and queueing commands for a device.
 */
#ifndef MDM_H
#define MDM_H

#include <plist/plist.h>
#include <stdint.h>

#include "ap_cmd.h"
#include "router.h"

struct worker;

/* Builds and queues one command for a device (params may be NULL; not
 * consumed).  dedupe: see db_cmd_enqueue.  Expiry from [mdm]
 * command_expiry_days.  Wakes the device through push when enabled.
 * detail (may be NULL) receives the reason of a refusal. */
int mdm_queue(struct worker *w, int64_t device_id, enum ap_cmd_type t, plist_t params,
	      const char *dedupe, const char *origin, const char *actor, char ret_uuid[37],
	      char *detail, size_t detail_cap);

/* The same command for many devices: a plist built once by ap_cmd_build()
 * with the CommandUUID MDM_TEMPLATE_UUID, which each call replaces by a
 * fresh UUID (at byte uuid_at of xml).  For bulk queueing (reconcile.c):
 * validation and serialisation are paid once, not per tablet. */
#define MDM_TEMPLATE_UUID "00000000-0000-4000-8000-000000000000"
int mdm_queue_template(struct worker *w, int64_t device_id, enum ap_cmd_type t, const char *xml,
		       size_t len, size_t uuid_at, const char *dedupe, const char *origin,
		       const char *actor, char ret_uuid[37]);

/* Queues InstallProfile whose Payload is the blob blob_hash (db_blob_put):
 * the plist is built when the device asks for it, so a profile sent to
 * 100,000 tablets is stored once.  dedupe = the profile's identifier. */
int mdm_queue_profile(struct worker *w, int64_t device_id, const char *blob_hash,
		      const char *identifier, const char *origin, const char *actor,
		      char ret_uuid[37]);

/* The public base URL devices use, "https://host:port". */
void mdm_public_url(struct worker *w, char *out, size_t cap);

/* The enrolment profile embedding the one-time code `code` (the SCEP
 * challenge), CMS-signed when sign is set; *ret malloc'd, caller frees.
 * Also the MDMProfileData of an EraseDevice with Return to Service. */
int mdm_enroll_profile(struct worker *w, const char *code, int sign, unsigned char **ret,
		       size_t *ret_len);

/* The largest body a tablet's request may send, decided from its head:
 * [mdm] max_message_bytes with a TLS client certificate that chains to a
 * device CA, or with an Mdm-Signature (behind a TLS-terminating proxy: the
 * signature is checked with the body, so it counts as unauthenticated);
 * anon_limit otherwise.  *ret_anonymous: no client certificate. */
void mdm_body_limit(struct req *r, size_t anon_limit, size_t *ret_limit, int *ret_anonymous);

/* GET /mdm/enroll and GET|POST /scep (mdm_enroll.c). */
void mdm_enroll(struct req *r);
void mdm_scep(struct req *r);

extern const struct route mdm_routes[];

#endif
