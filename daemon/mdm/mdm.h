/*
 * mdm.h - the device side: check-in and command endpoints, the enrolment
 * profile, SCEP.  Queueing a command for a device: cmdq.h.
 */
#ifndef MDM_H
#define MDM_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

struct req;
struct worker;

/* Sets the function called after a tablet's first TokenUpdate, once it
 * is committed (main.c: reconcile_enrolled); at start-up, before any
 * worker runs.  NULL: none. */
void mdm_on_enrolled(int (*fn)(struct worker *w, int64_t device_id));

/* The public base URL devices use, "https://host:port". */
void mdm_public_url(struct worker *w, char *out, size_t cap);

/* The enrolment profile embedding the one-time code `code` (the SCEP
 * challenge), CMS-signed when sign is set; *ret malloc'd, caller frees.
 * Also the MDMProfileData of an EraseDevice with Return to Service. */
int mdm_enroll_profile(struct worker *w, const char *code, int sign, unsigned char **ret,
		       size_t *ret_len);
/* Answers 200 with profile (len bytes) as application/x-apple-aspen-config:
 * 0, or an error already answered. */
int mdm_answer_profile(struct req *r, const unsigned char *profile, size_t len);

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
/* Enrolment (the profile, with a code or a staff token) and SCEP. */
extern const struct route mdm_enroll_routes[];
/* POST (and GET) /mdm/ade/enroll: ADE enrolment (mdm_ade.c). */
extern const struct route mdm_ade_routes[];

#endif
