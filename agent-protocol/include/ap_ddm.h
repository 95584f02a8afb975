/*
 * ap_ddm.h - declarative device management (DDM) documents, no I/O: the
 * Endpoint of a DeclarativeManagement check-in, the synchronisation tokens,
 * the JSON answers the server builds (tokens, declaration-items, one
 * declaration) and the status report a tablet sends.
 *
 * The DeclarativeManagement MDM command is built by ap_cmd
 * (AP_CMD_DECLARATIVE_MANAGEMENT, ap_cmd_params_declarative_management());
 * the check-in plist is parsed by ap_msg (ap_msg_parse_flags() with
 * AP_MSG_DDM).  Every document built here passes tools/mdm-schema-check
 * (tests/unit/agent-protocol/test_ap_ddm.c proves it).
 *
 * JSON comes in as bytes of a given length (need not be NUL-terminated);
 * JSON going out is malloc'd, NUL-terminated, freed by the caller with
 * free().  Every function returns 0 or an AP_E* code; detail (may be NULL)
 * receives a short reason on failure and "" on success (ap_detail rules:
 * bounded, no control characters).
 */
#ifndef AP_DDM_H
#define AP_DDM_H

#include <stddef.h>
#include <time.h>

#define AP_DDM_ID_MAX	   64		  /* octets of an Identifier or a ServerToken */
#define AP_DDM_DTOKEN_MAX  256		  /* octets of a DeclarationsToken */
#define AP_DDM_TYPE_MAX	   128		  /* octets of a declaration Type */
#define AP_DDM_TOKEN_LEN   32		  /* hex characters of the tokens Ardoise makes */
#define AP_DDM_MAX_BYTES   (1024u * 1024) /* default cap of a JSON document */
#define AP_DDM_MAX_DEPTH   16		  /* nested JSON objects and arrays */
#define AP_DDM_MAX_ITEMS   256		  /* status items in one report */
#define AP_DDM_MAX_ERRORS  64		  /* Errors entries in one report */
#define AP_DDM_MAX_REASONS 16		  /* Reasons of one Errors entry */
#define AP_DDM_NAME_MAX	   128		  /* octets of a status item name or reason code */
#define AP_DDM_ARRAY_MAX   4096		  /* entries of one array status item */

/* Apple's four declaration kinds; also the order of the groups of a
 * declaration-items answer. */
enum ap_ddm_kind {
	AP_DDM_ACTIVATION,
	AP_DDM_CONFIGURATION,
	AP_DDM_ASSET,
	AP_DDM_MANAGEMENT,
	AP_DDM_KIND__COUNT
};

/* "activation", "configuration", "asset", "management" (as in an Endpoint
 * and in the DeclarationsToken); NULL out of range.  Static storage. */
const char *ap_ddm_kind_name(enum ap_ddm_kind k);
/* Exact, case-sensitive name -> kind; AP_EINVAL for anything else. */
int ap_ddm_kind_from_name(const char *name, enum ap_ddm_kind *ret);
/* The kind of a declaration Type: "com.apple.activation.*",
 * "com.apple.configuration.*", "com.apple.asset.*", "com.apple.management.*"
 * (something after the dot); AP_EINVAL for any other Type. */
int ap_ddm_kind_of_type(const char *type, enum ap_ddm_kind *ret);

/* 1 when s is a declaration Identifier Ardoise accepts and emits: 1 to
 * AP_DDM_ID_MAX octets of UTF-8 text without control characters, no '/',
 * not "." nor "..", so that declaration/<kind>/<Identifier> names it
 * unambiguously.  0 otherwise (NULL too). */
int ap_ddm_identifier_ok(const char *s);

/* ---- the check-in Endpoint ---- */

enum ap_ddm_endpoint_type {
	AP_DDM_EP_TOKENS,	     /* "tokens" */
	AP_DDM_EP_DECLARATION_ITEMS, /* "declaration-items" */
	AP_DDM_EP_DECLARATION,	     /* "declaration/<kind>/<identifier>" */
	AP_DDM_EP_STATUS,	     /* "status" (Data: the status report) */
};

struct ap_ddm_endpoint {
	enum ap_ddm_endpoint_type type;
	enum ap_ddm_kind kind;		    /* AP_DDM_EP_DECLARATION only */
	char identifier[AP_DDM_ID_MAX + 1]; /* AP_DDM_EP_DECLARATION only, else "" */
};

/*
 * Parses an Endpoint value (s[0..len), need not be NUL-terminated).
 * AP_EINVAL with a detail for anything but the four forms: an unknown
 * endpoint, an unknown kind ("declaration/foo/x"), a missing or bad
 * identifier ("declaration/configuration/", one over AP_DDM_ID_MAX octets,
 * with a '/', "." or "..", control characters, invalid UTF-8), a NUL byte,
 * more than AP_DDM_ID_MAX + 32 octets in all.  *ret written only on success.
 */
int ap_ddm_endpoint_parse(const char *s, size_t len, struct ap_ddm_endpoint *ret, char *detail,
			  size_t detail_cap);

/* ---- tokens ---- */

/*
 * The ServerToken of a declaration: the lowercase hex SHA-256, truncated to
 * AP_DDM_TOKEN_LEN characters, of its canonical content, which is the JSON
 * object {"Identifier": identifier, "Payload": payload, "Type": type}
 * written compact with sorted keys: jansson's json_dumps() with
 * JSON_COMPACT | JSON_SORT_KEYS, i.e. no whitespace, object keys in byte
 * order at every level, strings in UTF-8 (only '"', '\' and control
 * characters escaped), integers in decimal, reals as "%.17g".  payload is
 * JSON text that must be an object; its spacing and key order do not
 * change the token, any change of value does.
 * ret receives AP_DDM_TOKEN_LEN characters and a NUL.  AP_EINVAL for a bad
 * type (ap_ddm_kind_of_type()), a bad identifier (ap_ddm_identifier_ok()),
 * or a payload that is not a JSON object (AP_EPARSE for invalid JSON,
 * AP_ETOODEEP, AP_ETOOBIG over AP_DDM_MAX_BYTES).
 */
int ap_ddm_server_token(const char *type, const char *identifier, const char *payload_json,
			size_t payload_len, char ret[AP_DDM_TOKEN_LEN + 1], char *detail,
			size_t detail_cap);

/* One declaration of a device's set (strings borrowed). */
struct ap_ddm_item {
	enum ap_ddm_kind kind;
	const char *identifier;	  /* ap_ddm_identifier_ok() */
	const char *server_token; /* 1..AP_DDM_ID_MAX octets of text */
};

/*
 * A device's DeclarationsToken: the lowercase hex SHA-256, truncated to
 * AP_DDM_TOKEN_LEN characters, of the concatenation, over its declarations
 * sorted by (kind name, identifier) in byte order (strcmp: "activation" <
 * "asset" < "configuration" < "management"), of
 *   kind name NUL identifier NUL server_token NUL
 * (the empty set hashes nothing: "e3b0c44298fc1c149afbf4c8996fb924").  The
 * order of items does not matter.  items may be NULL when n is 0; not
 * modified.  AP_EINVAL for a bad kind, identifier or server token, or an
 * identifier given twice (whatever the kinds).
 */
int ap_ddm_declarations_token(const struct ap_ddm_item *items, size_t n,
			      char ret[AP_DDM_TOKEN_LEN + 1], char *detail, size_t detail_cap);

/* ---- answers to the check-in ---- */

/* The `tokens` answer {"SyncTokens": {"DeclarationsToken": token,
 * "Timestamp": "YYYY-mm-ddTHH:MM:SSZ"}} with now in UTC; the same bytes go
 * in the DeclarativeManagement command's Data.  token: 1..AP_DDM_DTOKEN_MAX
 * octets of text (else AP_EINVAL); now: 0..253402300799 (year 9999). */
int ap_ddm_tokens_build(const char *declarations_token, time_t now, char **ret_json,
			size_t *ret_len, char *detail, size_t detail_cap);

/* Reads a `tokens` answer (what a device does with the command's Data or
 * the answer): ret_token receives the DeclarationsToken (NUL-terminated).
 * AP_EPARSE / AP_ETYPE / AP_EMISSING / AP_EINVAL for anything that is not
 * such a document with a 1..AP_DDM_DTOKEN_MAX octet token and a
 * Timestamp string. */
int ap_ddm_tokens_parse(const void *json, size_t len, char ret_token[AP_DDM_DTOKEN_MAX + 1],
			char *detail, size_t detail_cap);

/* The `declaration-items` answer {"Declarations": {"Activations": [...],
 * "Configurations": [...], "Assets": [...], "Management": [...]},
 * "DeclarationsToken": token}: the four arrays always present, each item
 * {"Identifier", "ServerToken"}, sorted by identifier within its group.
 * items as for ap_ddm_declarations_token() (same refusals); the token as
 * for ap_ddm_tokens_build(). */
int ap_ddm_items_build(const struct ap_ddm_item *items, size_t n, const char *declarations_token,
		       char **ret_json, size_t *ret_len, char *detail, size_t detail_cap);

/* One declaration {"Type", "Identifier", "ServerToken", "Payload"}.  type,
 * identifier and payload as for ap_ddm_server_token(); server_token
 * 1..AP_DDM_ID_MAX octets of text (normally ap_ddm_server_token()'s).  The
 * payload is written back compact with sorted keys. */
int ap_ddm_declaration_build(const char *type, const char *identifier, const char *server_token,
			     const char *payload_json, size_t payload_len, char **ret_json,
			     size_t *ret_len, char *detail, size_t detail_cap);

/* ---- status reports ---- */

struct ap_ddm_status_item {
	char *name;  /* dotted item name, "softwareupdate.install-state" */
	char *value; /* its value as compact JSON text, keys sorted: "\"downloading\"",
		      * "{\"build-version\":\"22A3354\",\"os-version\":\"18.0\"}", "[...]" */
};

struct ap_ddm_status_error {
	char *item;	  /* StatusItem */
	char **reasons;	  /* the Code of each of its Reasons, n_reasons of them */
	size_t n_reasons; /* 0 (reasons NULL) when it has none */
};

struct ap_ddm_status {
	int full_report;		  /* FullReport: 1 = replaces everything stored */
	struct ap_ddm_status_item *items; /* sorted by name, names unique */
	size_t n_items;
	struct ap_ddm_status_error *errors; /* in the report's order */
	size_t n_errors;
};

/*
 * Parses a status report (the Data of a `status` check-in).  StatusItems
 * (an object, required) nests the dotted item names; the walk stops at the
 * names of Apple's status item table (declarative/status/ yaml files, see
 * ap_ddm.c), so an item whose value is an object or an array comes out
 * whole ("softwareupdate.pending-version" = {"os-version", "build-version"};
 * arrays stay arrays, with their "_removed" entries: see
 * ap_ddm_status_array_apply()).  A subtree the table does not know is kept
 * as one item named by its path down to the first unknown key
 * ("softwareupdate.new-thing", or "foo" for an unknown top-level key).
 * A known item with the wrong JSON type, or a non-object where the table
 * expects items below, is refused (AP_ETYPE).  Errors (an array, optional:
 * absent = none) gives (StatusItem, reason codes); FullReport (a boolean,
 * optional: absent = 0).  Unknown top-level keys are ignored.
 * Limits, each refused with a detail saying which: more than max_bytes
 * (0 = AP_DDM_MAX_BYTES) -> AP_ETOOBIG; nesting deeper than
 * AP_DDM_MAX_DEPTH -> AP_ETOODEEP; more than AP_DDM_MAX_ITEMS items,
 * AP_DDM_MAX_ERRORS errors or AP_DDM_MAX_REASONS reasons in one error ->
 * AP_ELIMIT; an empty key, a name or code over AP_DDM_NAME_MAX octets or
 * with control characters, an item given twice (a dotted key beside its
 * nested form) -> AP_EINVAL.  Invalid JSON (truncated, not UTF-8,
 * a NUL, duplicate keys) -> AP_EPARSE.  On success *ret is freed with
 * ap_ddm_status_free().
 */
int ap_ddm_status_parse(const void *json, size_t len, size_t max_bytes, struct ap_ddm_status **ret,
			char *detail, size_t detail_cap);
void ap_ddm_status_free(struct ap_ddm_status *s);
/* The item named name in s, or NULL. */
const struct ap_ddm_status_item *ap_ddm_status_find(const struct ap_ddm_status *s,
						    const char *name);

/*
 * Applies an incremental report of an array status item (report: its value
 * as ap_ddm_status_parse() gives it) to the array stored for it (stored
 * may be NULL or "" for none): entries are matched by their "identifier"
 * string; an entry with "_removed": true deletes the stored one (absent:
 * nothing to do); any other replaces it in place or is appended, without
 * its "_removed" key.  Stored entries keep their order.  *ret_json is the
 * new array, compact with sorted keys.  AP_ETYPE when either is not an
 * array of objects or an entry has no string "identifier" (detail names
 * it), AP_ELIMIT past AP_DDM_ARRAY_MAX entries, AP_EPARSE / AP_ETOODEEP /
 * AP_ETOOBIG as for a report.  A FullReport's arrays are complete: store
 * them as they are instead.
 */
int ap_ddm_status_array_apply(const char *stored, size_t stored_len, const char *report,
			      size_t report_len, char **ret_json, size_t *ret_len, char *detail,
			      size_t detail_cap);

#endif
