/*
 * vpp.h - Apple's Apps and Books API v2 (https://vpp.itunes.apple.com/mdm/v2,
 * docs/apple-services.md §3): the content token read, the request bodies
 * built (split into Apple's batch sizes), the answers parsed, Apple's error
 * numbers mapped to AP_E* codes with a French reason, and the licence-aware
 * InstallApplication parameters (§3.5).  No I/O, no logging: a pure codec
 * like gdmf.h.  Not wired yet: the client (libcurl on a work thread) and
 * the policy engine's licence step (policies/pol_licence.h) come next.
 *
 * Every parser takes len bytes (need not be NUL-terminated), at most
 * VPP_MAX_BYTES; unknown keys are skipped; a key we read with the wrong type
 * is AP_ETYPE, a required one absent AP_EMISSING, a value out of its bounds
 * AP_ETOOBIG or AP_EPARSE, each with the value's path in err.  Apple answers
 * some errors with 200 OK and an ErrorResponse body (§3.3): every parser
 * first looks for errorNumber and then returns vpp_error_of()'s code with
 * its reason in err; the client should call vpp_answer_check() first
 * anyway, for the HTTP status and Retry-After.
 */
#ifndef VPP_H
#define VPP_H

#include <stddef.h>
#include <stdint.h>

#include "ap_cmd.h" /* plist_t: ap_cmd_build()'s parameters */

#define VPP_MAX_BYTES	(8u << 20) /* the largest answer accepted */
#define VPP_MAX_ITEMS	20000	   /* assets, assignments, failures or URLs in one answer */
#define VPP_TOKEN_MAX	8192	   /* the sToken (base64) in bytes */
#define VPP_ADAMID_MAX	19	   /* digits of an adamId (an int64 for iTunesStoreID) */
#define VPP_SERIAL_MAX	31	   /* a serial number: letters and digits */
#define VPP_TEXT_MAX	255	   /* names, messages, ids kept from an answer */
#define VPP_URL_MAX	1023
#define VPP_RETRY_MAX_S 86400 /* Retry-After above this is taken as this */

/* Apple's example limits (§3.3), used until GET /service/config is read. */
#define VPP_DEFAULT_MAX_ASSETS		25
#define VPP_DEFAULT_MAX_SERIALS		1000
#define VPP_DEFAULT_MAX_REVOKE_SERIALS	100
#define VPP_DEFAULT_MAX_CLIENT_USER_IDS 1000
#define VPP_LIMIT_CAP			100000 /* a limit above this is taken as this */

/* ---- content token ---------------------------------------------------------------------- */

/* What the sToken says of itself (the token text is not kept: the caller
 * seals the whole sToken with the keystore). */
struct vpp_token {
	char org[VPP_TEXT_MAX + 1]; /* orgName */
	int64_t expires;	    /* expDate, seconds since the epoch */
};

/* The sToken as downloaded (base64 of {"token", "expDate", "orgName"};
 * blanks and a final newline around it are allowed) into *ret.  AP_EPARSE
 * (not base64, not JSON, a bad date), AP_ETYPE, AP_EMISSING, AP_ETOOBIG. */
int vpp_token_parse(const char *stoken, size_t len, struct vpp_token *ret, char *err, size_t cap);
/* Whole days left before expiry at now (negative once expired). */
int64_t vpp_token_days_left(const struct vpp_token *t, int64_t now);

/* ---- errors ----------------------------------------------------------------------------- */

enum vpp_action {
	VPP_OK,	       /* not an error (9616: the licence is already there) */
	VPP_RETRY,     /* try again later (Retry-After or minutes) */
	VPP_BACKOFF,   /* too many requests: exponential backoff */
	VPP_SPLIT,     /* the batch is too big: split to the limits */
	VPP_NEW_TOKEN, /* expired or revoked: stop, ask ASM for a new token */
	VPP_BUY,       /* not enough licences: buy more in ASM */
	VPP_FIX,       /* our request is wrong: a bug, or data to fix */
	VPP_STOP,      /* the service is gone */
};

struct vpp_error {
	int code;	     /* AP_E* */
	int number;	     /* Apple's errorNumber; 0 when the body had none */
	int http;	     /* the HTTP status given to vpp_answer_check(); 0 unknown */
	int64_t retry_after; /* seconds, 0..VPP_RETRY_MAX_S; 0 when none */
	enum vpp_action action;
	char message[VPP_TEXT_MAX + 1]; /* Apple's errorMessage, as sent (may be "") */
	const char *reason;		/* French, static: "jeton expiré : ..." */
};

/* The code, action and French reason of Apple's errorNumber (an unknown
 * number goes by the HTTP status: 401 AP_EAUTH, 429 AP_ELIMIT, 5xx
 * AP_EBUSY retry, 4xx AP_EINVAL; else AP_EINTERNAL retry). */
void vpp_error_of(int number, int http, struct vpp_error *ret);

/* Reads an HTTP answer: returns 0 when it is a success (2xx with no
 * errorNumber in the body); otherwise the AP_E* code with *ret filled
 * (number, message, retry_after from the Retry-After header text,
 * NULL when absent: delta-seconds only, an HTTP date counts as absent).
 * A body that is not JSON on an error status still gives the status's
 * error. */
int vpp_answer_check(int http, const char *retry_after, const char *body, size_t len,
		     struct vpp_error *ret);

/* ---- requests --------------------------------------------------------------------------- */

struct vpp_batch {
	size_t first, count;
};

/* Splits n items into batches of at most max (max 0 is taken as 1), in
 * order, each but the last full; at most cap into out.  Returns how many
 * batches there are (may be more than cap). */
size_t vpp_batches(size_t n, size_t max, struct vpp_batch *out, size_t cap);

/* 1 when s is an adamId as Apple gives it: 1..VPP_ADAMID_MAX digits, not 0,
 * fitting an int64. */
int vpp_adam_id_ok(const char *s);
/* 1 when s is a serial number: 1..VPP_SERIAL_MAX letters and digits. */
int vpp_serial_ok(const char *s);

/* The body of POST /assets/associate or /assets/disassociate:
 * {"assets":[{"adamId":..,"pricingParam":..}],"serialNumbers":[..]}
 * (pricing may be NULL, or an entry NULL: left out).  *ret malloc'd,
 * NUL-terminated.  AP_EINVAL (no asset, no serial, a bad adamId, serial or
 * pricingParam), AP_ETOOBIG (more than max_assets or max_serials: split
 * with vpp_batches() first), AP_ENOMEM; the reason in err. */
int vpp_body_assets(const char *const *adam_ids, const char *const *pricing, size_t n_assets,
		    const char *const *serials, size_t n_serials, size_t max_assets,
		    size_t max_serials, char **ret, char *err, size_t cap);
/* The body of POST /assets/revoke: {"serialNumbers":[..]} (all revocable
 * assets of those tablets); max is maxRevokeSerialNumbers.  Same errors. */
int vpp_body_revoke(const char *const *serials, size_t n, size_t max, char **ret, char *err,
		    size_t cap);

/* ---- answers ---------------------------------------------------------------------------- */

/* Members most answers carry. */
struct vpp_meta {
	int64_t token_expires;	       /* tokenExpirationDate; 0 absent */
	char uid[VPP_TEXT_MAX + 1];    /* uId; "" absent */
	char mdm_id[VPP_TEXT_MAX + 1]; /* mdmInfo.id; "" absent (check it is ours) */
};

struct vpp_limits {
	int64_t max_assets, max_serials, max_revoke_serials, max_client_user_ids;
};
/* The defaults above. */
void vpp_limits_default(struct vpp_limits *l);

struct vpp_url {
	char name[64];
	char url[VPP_URL_MAX + 1];
};

/* GET /service/config. */
struct vpp_service_config {
	struct vpp_limits limits; /* a limit absent keeps its default; bounds 1..VPP_LIMIT_CAP */
	struct vpp_url *urls;	  /* urls{name: string}, in the answer's order */
	size_t n_urls;
};
int vpp_service_config_parse(const char *text, size_t len, struct vpp_service_config *ret,
			     char *err, size_t cap);
void vpp_service_config_free(struct vpp_service_config *c);
/* The URL named name ("status", ...), NULL when absent. */
const char *vpp_service_url(const struct vpp_service_config *c, const char *name);

/* GET or POST /client/config. */
struct vpp_client_config {
	struct vpp_meta meta;
	char location[VPP_TEXT_MAX + 1];     /* locationName */
	char country[8];		     /* countryISO2ACode */
	char mdm_name[VPP_TEXT_MAX + 1];     /* mdmInfo.name */
	char mdm_metadata[VPP_TEXT_MAX + 1]; /* mdmInfo.metadata */
};
int vpp_client_config_parse(const char *text, size_t len, struct vpp_client_config *ret, char *err,
			    size_t cap);

/* The members of a page (GET /assets, /assignments). */
struct vpp_page {
	struct vpp_meta meta;
	int64_t current, next; /* currentPageIndex; nextPageIndex, -1 on the last page */
	int64_t total_pages, size;
	char version_id[VPP_TEXT_MAX + 1];
};

enum vpp_product { VPP_APP, VPP_BOOK, VPP_OTHER };

struct vpp_asset {
	char adam_id[VPP_ADAMID_MAX + 1];
	char pricing[8]; /* STDQ, PLUS, or what Apple sends (letters, <= 7) */
	enum vpp_product product;
	int64_t assigned, available, retired, total; /* 0..INT32_MAX; 2147483647: unlimited */
	int device_assignable, revocable;	     /* 0/1; absent: 0 */
};

struct vpp_assets_page {
	struct vpp_page page;
	struct vpp_asset *assets;
	size_t n;
};
int vpp_assets_parse(const char *text, size_t len, struct vpp_assets_page *ret, char *err,
		     size_t cap);
void vpp_assets_free(struct vpp_assets_page *p);

struct vpp_assignment {
	char adam_id[VPP_ADAMID_MAX + 1];
	char pricing[8];
	char serial[VPP_SERIAL_MAX + 1]; /* "" for a user assignment */
};

/* Assignments by clientUserId are skipped (Ardoise assigns to devices). */
struct vpp_assignments_page {
	struct vpp_page page;
	struct vpp_assignment *items;
	size_t n;
	size_t n_user; /* skipped user assignments */
};
int vpp_assignments_parse(const char *text, size_t len, struct vpp_assignments_page *ret, char *err,
			  size_t cap);
void vpp_assignments_free(struct vpp_assignments_page *p);

/* EventResponse (associate, disassociate, revoke). */
struct vpp_event {
	struct vpp_meta meta;
	char event_id[VPP_TEXT_MAX + 1];
};
int vpp_event_parse(const char *text, size_t len, struct vpp_event *ret, char *err, size_t cap);

enum vpp_event_state { VPP_PENDING, VPP_COMPLETE, VPP_FAILED };

/* One failure of an event: Apple's error and what it was about. */
struct vpp_failure {
	struct vpp_error error;
	char **serials; /* errorInfo.serialNumbers */
	size_t n_serials;
	char **adam_ids; /* errorInfo.assets[].adamId */
	size_t n_adam_ids;
};

/* StatusResponse (GET /status?eventId=). */
struct vpp_status {
	struct vpp_meta meta;
	enum vpp_event_state state;
	char type[32]; /* eventType: ASSOCIATE, DISASSOCIATE, REVOKE, ... */
	int64_t requested, completed;
	struct vpp_failure *failures;
	size_t n_failures;
};
int vpp_status_parse(const char *text, size_t len, struct vpp_status *ret, char *err, size_t cap);
void vpp_status_free(struct vpp_status *s);

/* ---- installing --------------------------------------------------------------------------- */

/* InstallApplication parameters for a device-assigned licence (§3.5):
 * iTunesStoreID = adam_id as an integer, Options.PurchaseMethod 1,
 * ManagementFlags 1 (removed with the MDM profile); *ret for ap_cmd_build()
 * (plist_free()).  AP_EINVAL when adam_id is not one (vpp_adam_id_ok()),
 * AP_ENOMEM. */
int vpp_install_params(const char *adam_id, plist_t *ret);

#endif
