/*
 * ade_oauth.h - Automated Device Enrolment's server token and session
 * (docs/apple-services.md §2.1-2.2): the decrypted token parsed, GET
 * /session signed with OAuth 1.0a (RFC 5849, HMAC-SHA1 only), and the
 * session answer parsed.  No I/O, no logging, no clock, no randomness: the
 * caller gives the timestamp and the nonce; the decryption of the .p7m and
 * the fetching are the client's.
 *
 * The token, once decrypted, is MIME headers, a blank line, then the JSON,
 * possibly between -----BEGIN MESSAGE----- / -----END MESSAGE----- lines and
 * hard-wrapped: the lines are joined without separators before parsing.
 *
 *	{"consumer_key": "CK_...", "consumer_secret": "CS_...",
 *	 "access_token": "AT_...", "access_secret": "AS_...",
 *	 "access_token_expiry": "2015-01-14T21:27:41Z"}
 *
 * The base string and header follow RFC 5849 §3.4.1 and §3.5.1; the
 * signature key is enc(consumer_secret) "&" enc(access_secret).
 */
#ifndef ADE_OAUTH_H
#define ADE_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#define ADE_TOKEN_MAX_BYTES   (64u * 1024) /* a decrypted token (Apple's: < 1 KB) */
#define ADE_FIELD_MAX	      255	   /* each of the four OAuth strings */
#define ADE_SESSION_MAX	      4095	   /* auth_session_token */
#define ADE_SESSION_MAX_BYTES (64u * 1024) /* a /session answer */
#define ADE_HEADER_MAX	      2048	   /* an Authorization header value */
#define ADE_NONCE_MAX	      64

/* The server token; consumer_secret and access_secret are secrets. */
struct ade_token {
	char consumer_key[ADE_FIELD_MAX + 1];
	char consumer_secret[ADE_FIELD_MAX + 1];
	char access_token[ADE_FIELD_MAX + 1];
	char access_secret[ADE_FIELD_MAX + 1];
	char expiry_text[32]; /* access_token_expiry as written */
	int64_t expiry;	      /* the same, Unix seconds */
};

/* Parses a decrypted token (len bytes, need not be NUL-terminated: with or
 * without its MIME headers and BEGIN/END lines) into *ret.  AP_ETOOBIG past
 * ADE_TOKEN_MAX_BYTES or a field past ADE_FIELD_MAX, AP_EPARSE (not JSON,
 * not an object, an expiry that is not a time "YYYY-MM-DDTHH:MM[:SS]" with
 * "Z" or an offset, a field with a byte outside printable ASCII), AP_ETYPE, AP_EMISSING (a field
 * absent or empty); each with the reason and the member's name into err (cap
 * bytes).  Unknown members are skipped.  On error *ret is zeroed. */
int ade_token_parse(const char *text, size_t len, struct ade_token *ret, char *err, size_t cap);

/* Wipes the secrets of *t (OPENSSL_cleanse). */
void ade_token_wipe(struct ade_token *t);

/* RFC 5849 §3.6: unreserved characters (ALPHA, DIGIT, "-", ".", "_", "~")
 * kept, every other byte %XX with upper-case hex.  Writes into out (cap
 * bytes, NUL-terminated); AP_ETOOBIG when it does not fit. */
int ade_pct_encode(const char *in, char *out, size_t cap);

struct ade_param {
	const char *name, *value; /* decoded */
};

/* RFC 5849 §3.4.1: METHOD "&" enc(url) "&" enc(normalised parameters), the
 * parameters encoded, sorted by name then value, joined by "=" and "&".
 * url is the base string URI (scheme, host, path, no query).  *ret is
 * malloc'd.  AP_EINVAL on a NULL name or value, AP_ENOMEM. */
int ade_oauth_base_string(const char *method, const char *url, const struct ade_param *params,
			  size_t n, char **ret);

/* RFC 5849 §3.4.2: base64 of HMAC-SHA1(enc(consumer_secret) "&"
 * enc(token_secret), base) into out (cap bytes, >= 29).  AP_ETOOBIG,
 * AP_ECRYPTO. */
int ade_oauth_hmac_sha1(const char *base, const char *consumer_secret, const char *token_secret,
			char *out, size_t cap);

/* The Authorization header value of GET url (Apple's:
 * "https://mdmenrollment.apple.com/session") signed with t at timestamp
 * (Unix seconds) with nonce (1..ADE_NONCE_MAX unreserved characters):
 *	OAuth realm="ADM", oauth_consumer_key="...", oauth_token="...",
 *	oauth_signature_method="HMAC-SHA1", oauth_signature="...",
 *	oauth_timestamp="...", oauth_nonce="...", oauth_version="1.0"
 * on one line, into out (cap bytes).  AP_EINVAL (bad nonce, negative
 * timestamp, empty key or token), AP_ETOOBIG, AP_ECRYPTO, AP_ENOMEM. */
int ade_oauth_header(const struct ade_token *t, const char *url, int64_t timestamp,
		     const char *nonce, char *out, size_t cap);

/* §2.3: what every call carries (the session header not on /session). */
#define ADE_PROTOCOL_VERSION "7" /* X-Server-Protocol-Version: NanoDEP's */
#define ADE_CONTENT_TYPE     "application/json;charset=UTF8"
#define ADE_SESSION_HEADER   "X-ADM-Auth-Session"
#define ADE_SESSION_PATH     "/session"

/* §2.6: what to do with an answer of the ADE API, from its status and body
 * (error bodies are short strings, sometimes quoted: matched by substring). */
enum ade_verdict {
	ADE_OK,		      /* 2xx */
	ADE_REAUTH,	      /* 401, or 403 with FORBIDDEN: a new session, the call once more */
	ADE_DENIED,	      /* 403 ACCESS_DENIED: the token lacks rights; alert, no loop */
	ADE_TERMS,	      /* 403 T_C_NOT_SIGNED: an ASM administrator must accept the terms */
	ADE_CURSOR_EXHAUSTED, /* 400 EXHAUSTED_CURSOR: everything fetched, switch to sync */
	ADE_CURSOR_RESET,     /* 400 EXPIRED_CURSOR or INVALID_CURSOR: fetch again from scratch */
	ADE_MALFORMED,	      /* 400 MALFORMED_REQUEST_BODY or another 400: a bug, no retry */
	ADE_LATER,	      /* 429 or 503: later (Retry-After, else capped backoff) */
	ADE_FAILED,	      /* anything else */
};

/* The verdict on an answer (body len bytes, may be NULL). */
enum ade_verdict ade_classify(long status, const char *body, size_t len);
/* The verdict's name ("reauth"), for logs. */
const char *ade_verdict_name(enum ade_verdict v);
/* A Retry-After value, delta-seconds or an HTTP date (IMF-fixdate), as
 * seconds to wait from now (0 for a date past), capped at cap_s; day and
 * month names read in the C locale (the daemon never sets LC_TIME).  -1 when it
 * is neither. */
int64_t ade_retry_after(const char *value, int64_t now, int64_t cap_s);

/* Parses the /session answer {"auth_session_token": "..."} into out (cap
 * bytes).  AP_EPARSE, AP_ETYPE, AP_EMISSING (absent or empty: NanoDEP's
 * rule), AP_ETOOBIG (answer past ADE_SESSION_MAX_BYTES, token past
 * ADE_SESSION_MAX or cap); the reason into err. */
int ade_session_parse(const char *text, size_t len, char *out, size_t cap, char *err,
		      size_t errcap);

#endif
