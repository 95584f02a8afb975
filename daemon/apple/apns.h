/*
 * apns.h - an HTTP/2 client for Apple's push service (APNs) on a libuv
 * loop: one long-lived connection (TCP -> TLS filter -> nghttp2), many
 * concurrent streams, reconnect with exponential backoff.
 *
 * Not thread-safe: every call is made on the loop's thread.  The client
 * never logs above debug and never decides policy: it reports answers
 * (done), room for more streams (room) and connection states (state) to its
 * handler, which decides what to retry.  Device tokens and PushMagic values
 * pass through but are never logged.
 *
 * Connection states (apns_state_name() gives the names used in logs):
 *
 *   idle --want--> resolving -> connecting -> handshake -> ready
 *     ^                |            |            |          |  GOAWAY
 *     |                +------------+------------+--> backoff  -> goaway
 *     |                          (error)             (timer: resolving)
 *     +------ graceful close (GOAWAY drained, idle EOF) ------+
 *
 * "ready" means: TLS done, ALPN "h2" agreed, and the server's SETTINGS
 * received (so the server accepted our certificate and its stream limit is
 * known).  The backoff delay doubles from reconnect_min_ms up to
 * reconnect_max_ms (plus up to a quarter of jitter) and goes back to the
 * minimum once a connection gets ready.
 */
#ifndef APNS_H
#define APNS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct apns;

enum apns_state {
	APNS_IDLE,
	APNS_RESOLVING,
	APNS_CONNECTING,
	APNS_HANDSHAKE,
	APNS_READY,
	APNS_GOAWAY,
	APNS_BACKOFF,
	APNS_CLOSED,
};

struct apns_opts {
	char host[256];
	int port;
	uint32_t max_streams; /* our cap; the server's SETTINGS may lower it */
	uint64_t timeout_ms;  /* connect + handshake, and the oldest unanswered stream */
	uint64_t reconnect_min_ms;
	uint64_t reconnect_max_ms;
};

/* How one push ended.  Strings are borrowed for the duration of done(). */
struct apns_result {
	int status;	     /* HTTP status; 0 when no answer came */
	const char *reason;  /* APNs "reason" (peer text: escape before logging), "" on 200;
				for status 0 ours: ConnectionLost, Timeout, StreamReset */
	int refused;	     /* 1: the server never processed it (not sent, GOAWAY,
				REFUSED_STREAM): send it again, it was no attempt */
	const char *apns_id; /* "" when none */
	const char *token;   /* the token_hex given to apns_push() */
};

struct apns_handler {
	void *arg;
	/* A push submitted with apns_push() ended; called exactly once per
	 * push, also when the connection is lost or apns_close() runs.  Must
	 * not call apns_push() or apns_close(). */
	void (*done)(void *arg, uint64_t tag, const struct apns_result *r);
	/* More streams may be opened now (ready, a stream ended, or idle
	 * again): call apns_room(). */
	void (*room)(void *arg);
	/* The connection changed state; error is "" or why it failed. */
	void (*state)(void *arg, enum apns_state s, const char *error);
};

/* "https://host[:port][/]" (port 443 by default; IPv6 as [addr]), or the
 * shorthands "production" and "development" for Apple's two hosts. */
int apns_parse_url(const char *url, char *host, size_t cap, int *ret_port);

/* ctx: a client context from keystore_push_ctx() (borrowed, must outlive
 * the client).  Nothing is connected until apns_want(). */
int apns_new(uv_loop_t *loop, SSL_CTX *ctx, const struct apns_opts *o, const struct apns_handler *h,
	     struct apns **ret);
/* The next connection uses ctx (borrowed, as for apns_new()); the open one,
 * if any, keeps its own (its SSL holds a reference to the context it was
 * made with, so the caller may free the previous ctx now). */
void apns_set_ctx(struct apns *a, SSL_CTX *ctx);
/* Closes the connection (pushes in flight end with ConnectionLost), stops
 * the timers and frees a from the loop's close callbacks; closed(arg) runs
 * after a is gone.  The loop must keep running until then. */
void apns_close(struct apns *a, void (*closed)(void *arg), void *arg);

/* There is work: connect now when idle (no-op in any other state). */
void apns_want(struct apns *a);
/* How many pushes apns_push() accepts now (0 unless ready). */
size_t apns_room(const struct apns *a);
size_t apns_in_flight(const struct apns *a);
enum apns_state apns_get_state(const struct apns *a);
const char *apns_state_name(enum apns_state s);

/* Opens one stream: POST /3/device/<token_hex> with apns-topic, apns-push-type
 * mdm and the body {"mdm":"<magic>"}.  AP_EBUSY when there is no room,
 * AP_EINVAL for a token that is not lowercase hex or a magic longer than
 * APNS_MAX_MAGIC.  tag comes back in done(). */
#define APNS_MAX_MAGIC	   128
#define APNS_MAX_TOKEN_HEX 512
int apns_push(struct apns *a, const char *token_hex, const char *topic, const char *magic,
	      uint64_t tag);

/* Pure helpers (no I/O), exposed for tests and the stand-in. */

/* Lowercase hex of token into out (2*len+1 bytes); AP_ETOOBIG when it does
 * not fit, AP_EINVAL for an empty token. */
int apns_hex(const unsigned char *token, size_t len, char *out, size_t cap);
/* The MDM body {"mdm":"<magic>"} (JSON-escaped) into out. */
int apns_payload(const char *magic, char *out, size_t cap, size_t *ret_len);

enum apns_outcome {
	APNS_OK,	/* accepted by APNs */
	APNS_RETRY,	/* 429, 5xx, lost connection, timeout: try again later */
	APNS_RESEND,	/* not processed (refused stream, idle timeout): again now */
	APNS_BAD_TOKEN, /* 410, 400 BadDeviceToken/DeviceTokenNotForTopic: stop */
	APNS_CERT,	/* 403 certificate problems, topic refused: nothing works */
	APNS_FAIL,	/* any other refusal: give up on this push */
};
enum apns_outcome apns_classify(const struct apns_result *r);
const char *apns_outcome_name(enum apns_outcome o);

/* The reasons APNs documents, plus ours; counters are indexed by these.
 * apns_reason_index() maps unknown text to the index of "Other". */
size_t apns_n_reasons(void);
const char *apns_reason_name(size_t i);
size_t apns_reason_index(const char *reason);

#endif
