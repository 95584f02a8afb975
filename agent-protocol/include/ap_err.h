/*
 * ap_err.h - the one error table of Ardoise.
 *
 * Every function that can fail returns int: 0 on success, or one of the
 * negative AP_E* codes below.  ap_strerror() gives the message text for any
 * code (unknown codes yield "unknown error"); ap_errname() gives the symbolic
 * name, used as the "code" of JSON API errors and in log lines.
 *
 * The table is shared by every layer (agent-protocol, db, policies, daemon,
 * tools) so a code can travel upwards unchanged.
 */
#ifndef AP_ERR_H
#define AP_ERR_H

/* X(name, value, api_code, http_status, message) */
#define AP_ERRORS(X)                                                                      \
	X(AP_OK, 0, "ok", 200, "success")                                                 \
	X(AP_ENOMEM, -1, "no_memory", 503, "out of memory")                               \
	X(AP_EINVAL, -2, "invalid", 400, "invalid argument")                              \
	X(AP_EPARSE, -3, "malformed", 400, "malformed input")                             \
	X(AP_ETOOBIG, -4, "too_large", 413, "input too large")                            \
	X(AP_ETOODEEP, -5, "too_deep", 400, "input nested too deeply")                    \
	X(AP_ETYPE, -6, "wrong_type", 400, "value has the wrong type")                    \
	X(AP_EMISSING, -7, "missing", 400, "required value missing")                      \
	X(AP_EUNSUPPORTED, -8, "unsupported", 400, "not supported")                       \
	X(AP_ENOTFOUND, -9, "not_found", 404, "not found")                                \
	X(AP_EEXIST, -10, "exists", 409, "already exists")                                \
	X(AP_ECONFLICT, -11, "conflict", 409, "conflicts with the current state")         \
	X(AP_EIO, -12, "io", 500, "input/output error")                                   \
	X(AP_EDB, -13, "storage", 500, "storage error")                                   \
	X(AP_ECRYPTO, -14, "crypto", 500, "cryptographic operation failed")               \
	X(AP_EAUTH, -15, "unauthorized", 401, "authentication required or failed")        \
	X(AP_EFORBIDDEN, -16, "forbidden", 403, "not allowed for this account")           \
	X(AP_ELIMIT, -17, "limit", 429, "limit reached")                                  \
	X(AP_EBADSIG, -18, "bad_signature", 403, "signature or certificate not accepted") \
	X(AP_EPERM, -19, "permissions", 500, "file permissions are unsafe")               \
	X(AP_ECONFIG, -20, "config", 500, "configuration error")                          \
	X(AP_ETIMEOUT, -21, "timeout", 504, "timed out")                                  \
	X(AP_EBUSY, -22, "busy", 503, "busy, try again")                                  \
	X(AP_EINTERNAL, -23, "internal", 500, "internal error")

enum ap_err {
#define AP_ERR_ENUM(name, value, code, status, msg) name = value,
	AP_ERRORS(AP_ERR_ENUM)
#undef AP_ERR_ENUM
};

/* Message text for an error code; never NULL, static storage. */
const char *ap_strerror(int err);
/* Short machine name ("not_found", ...) for an error code; never NULL. */
const char *ap_errname(int err);
/* HTTP status that answers an error code by default (500 for unknown). */
int ap_errstatus(int err);

#endif
