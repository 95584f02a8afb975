/*
 * ap_msg.h - what a device sends: check-in messages (Authenticate,
 * TokenUpdate, CheckOut, and DeclarativeManagement for a caller that asks
 * for it) and command reports (Status ...).
 *
 * ap_msg_parse() turns a request body into a struct ap_msg the caller owns.
 * A check-in is told from a report by its keys (MessageType vs Status),
 * not by the HTTP content type, so one endpoint can serve both.
 */
#ifndef AP_MSG_H
#define AP_MSG_H

#include "ap_ddm.h"

#include <plist/plist.h>

#include <stddef.h>
#include <stdint.h>

#define AP_MSG_MAX_ERRORS 16 /* ErrorChain items kept; the rest are dropped */

enum ap_msg_kind { AP_MSG_CHECKIN, AP_MSG_REPORT };
enum ap_checkin_type {
	AP_CHECKIN_AUTHENTICATE,
	AP_CHECKIN_TOKENUPDATE,
	AP_CHECKIN_CHECKOUT,
	AP_CHECKIN_DECLARATIVE_MANAGEMENT, /* only with AP_MSG_DDM */
};
enum ap_status {
	AP_STATUS_IDLE,
	AP_STATUS_ACKNOWLEDGED,
	AP_STATUS_ERROR,
	AP_STATUS_FORMAT_ERROR, /* "CommandFormatError" */
	AP_STATUS_NOTNOW,
};

struct ap_checkin { /* all strings malloc'd, NULL when absent */
	enum ap_checkin_type type;
	char *udid, *topic; /* both required; no UDID (User Enrollment) -> AP_EMISSING */
	char *serial, *os_version, *build_version, *product_name, *imei, *meid, *model,
	    *device_name;
	unsigned char *token; /* TokenUpdate: required (any length, may be 0) */
	size_t token_len;
	char *push_magic;	     /* TokenUpdate: required */
	unsigned char *unlock_token; /* TokenUpdate, optional; NULL when absent */
	size_t unlock_token_len;
	int awaiting_configuration;	 /* TokenUpdate, optional; 0 when absent */
	char *user_id, *user_short_name; /* a user channel's message (Shared iPad, macOS) */
	/* DeclarativeManagement: UDID required, Topic and the device keys above
	 * not read (the check-in does not carry them) */
	char *endpoint;		    /* Endpoint as sent; required */
	struct ap_ddm_endpoint ddm; /* Endpoint parsed (ap_ddm_endpoint_parse()) */
	unsigned char *data;	    /* Data: the status report JSON, data_len bytes (plus a
				     * NUL); required for status, optional (NULL) otherwise */
	size_t data_len;
};

struct ap_error_item {
	int64_t code;	   /* ErrorCode; 0 when absent */
	char *domain;	   /* ErrorDomain; NULL when absent */
	char *description; /* LocalizedDescription, else USEnglishDescription; NULL if neither */
};

struct ap_report {
	enum ap_status status;
	char *udid;			 /* required */
	char *user_id, *user_short_name; /* UserID / UserShortName: a user channel; NULL
					  * when absent (the device channel) */
	char *command_uuid;		 /* required unless Idle; NULL when absent with Idle */
	struct ap_error_item *errors;	 /* from ErrorChain, first AP_MSG_MAX_ERRORS kept; */
	size_t n_errors;		 /* NULL / 0 when absent */
	plist_t dict; /* the whole parsed dictionary, owned by the report: result keys
		       * are read from it (ap_result_*); freed by ap_msg_free() */
};

struct ap_msg {
	enum ap_msg_kind kind;
	union {
		struct ap_checkin checkin;
		struct ap_report report;
	} u;
};

/*
 * Parses a request body from a device (XML plist, checked by
 * ap_plist_parse() with max_bytes, 0 = AP_PLIST_MAX_BYTES).  On success *ret
 * is a new message the caller frees with ap_msg_free().  Errors: those of
 * ap_plist_parse(); AP_ETYPE when the top level is not a dictionary or a key
 * has the wrong plist type (optional keys included); AP_EMISSING when a
 * required key is absent (or neither MessageType nor Status is present);
 * AP_EUNSUPPORTED for a MessageType other than Authenticate, TokenUpdate and
 * CheckOut (GetToken, DeclarativeManagement, UserAuthenticate, ...);
 * AP_EINVAL for an unknown Status value, a message carrying both
 * MessageType and Status, or a string with a NUL byte.
 * detail may be NULL; otherwise detail[detail_cap] receives a short reason
 * on failure (e.g. "TokenUpdate: Token must be data") and "" on success.
 */
int ap_msg_parse(const char *body, size_t len, size_t max_bytes, struct ap_msg **ret, char *detail,
		 size_t detail_cap);

#define AP_MSG_DDM 0x1u /* accept DeclarativeManagement check-ins */
/*
 * ap_msg_parse() with flags.  AP_MSG_DDM: a DeclarativeManagement check-in
 * is parsed (type AP_CHECKIN_DECLARATIVE_MANAGEMENT) instead of refused as
 * AP_EUNSUPPORTED; a caller that dispatches on the check-in type sets it
 * only once it handles that type.  Besides the errors above: Endpoint
 * missing (AP_EMISSING) or not a string (AP_ETYPE); an Endpoint that
 * ap_ddm_endpoint_parse() refuses (AP_EINVAL, its reason in detail);
 * Endpoint status without Data (AP_EMISSING); Data not data (AP_ETYPE).
 * The Data itself is not parsed here: ap_ddm_status_parse() does.
 */
int ap_msg_parse_flags(const char *body, size_t len, size_t max_bytes, unsigned flags,
		       struct ap_msg **ret, char *detail, size_t detail_cap);
/* Frees m and everything it owns (report dict included).  NULL ok. */
void ap_msg_free(struct ap_msg *m);

/* Protocol spelling ("Idle", "CommandFormatError", ...; "TokenUpdate", ...);
 * never NULL, "?" for values out of range.  Static storage. */
const char *ap_status_name(enum ap_status s);
const char *ap_checkin_type_name(enum ap_checkin_type t);
/* Reverse of ap_status_name(): exact, case-sensitive.  AP_EINVAL if unknown. */
int ap_status_from_name(const char *name, enum ap_status *ret);

#endif
