/*
 * ap_tls.h - TLS as a filter over memory BIOs (h2o style).
 *
 * Ciphertext goes in with ap_tls_feed() and comes out with ap_tls_take(); the
 * plaintext side is ap_tls_read()/ap_tls_write().  No socket is touched here, so
 * the HTTP code above never branches on TLS and tests can drive a session
 * in memory.
 */
#ifndef AP_TLS_H
#define AP_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct ap_buf;
struct ap_tls;

/* The TLS session cache the server contexts share (one per process, so a
 * client resumes whichever worker its next connection lands on), holding
 * at most max sessions, the oldest evicted first. */
struct ap_tls_sessions;
int ap_tls_sessions_new(size_t max, struct ap_tls_sessions **ret);
void ap_tls_sessions_free(struct ap_tls_sessions *c);
size_t ap_tls_sessions_count(struct ap_tls_sessions *c);

/* Server context in libctx (NULL: the default one; each worker has its
 * own, so OpenSSL's internal locks are not shared between cores):
 * cert/key in PEM files, TLS 1.2 (ECDHE with AEAD ciphers only, Extended
 * Master Secret required) and 1.3, client certificates requested
 * but optional and not checked during the handshake (ap_tls_peer_verified()
 * checks them against trust, ref taken, when asked).  Resumption through
 * sessions (NULL: none). */
int ap_tls_ctx_new(OSSL_LIB_CTX *libctx, const char *cert_file, const char *key_file,
		   X509_STORE *trust, STACK_OF(X509_NAME) * client_ca_names,
		   struct ap_tls_sessions *sessions, SSL_CTX **ret);

/* Client context in libctx (NULL: the default one), for a client that
 * checks the server against the CA certificates of ca_file (PEM) and the
 * name host (a DNS name or an IP literal): TLS 1.2 and 1.3, the client's
 * certificate sent alone (no chain built), sessions kept where
 * ap_tls_client_session() says.  AP_EIO when ca_file cannot be read. */
int ap_tls_client_ctx_new(OSSL_LIB_CTX *libctx, const char *ca_file, const char *host,
			  SSL_CTX **ret);

struct ap_tls *ap_tls_new(SSL_CTX *ctx);
/* Client side of the filter (APNs): the handshake starts at the first
 * ap_tls_read(); the server's certificate must name host (a DNS name, sent as
 * SNI, or an IP literal).  NULL when out of memory. */
struct ap_tls *ap_tls_client_new(SSL_CTX *ctx, const char *host);
void ap_tls_free(struct ap_tls *t);
/* Client side, before the handshake: presents cert with key (both
 * borrowed; the SSL takes its own references).  AP_ECRYPTO when refused. */
int ap_tls_client_identity(struct ap_tls *t, X509 *cert, EVP_PKEY *key);
/* Client side, on a context from ap_tls_client_ctx_new(): each session the
 * server issues is stored in *slot (the previous one freed with
 * SSL_SESSION_free); with resume, *slot (when not NULL) is offered first.
 * slot NULL: sessions are no longer stored (call it before *slot's owner
 * goes away). */
void ap_tls_client_session(struct ap_tls *t, SSL_SESSION **slot, int resume);

/* Hands ciphertext received from the peer to the filter. */
int ap_tls_feed(struct ap_tls *t, const void *data, size_t len);
/* Runs the handshake and decrypts what it can, appending plaintext to out.
 * Returns 0 (maybe nothing new: want more input), AP_EIO when the peer sent
 * close_notify, AP_EPARSE on a protocol error (garbage, bad handshake),
 * AP_ETOOBIG when out is full. */
int ap_tls_read(struct ap_tls *t, struct ap_buf *out);
/* Encrypts plaintext; the ciphertext is then available from ap_tls_take(). */
int ap_tls_write(struct ap_tls *t, const void *data, size_t len);
/* Queues close_notify (then take it with ap_tls_take()); the session stays
 * resumable, which OpenSSL only allows for connections ended this way. */
void ap_tls_shutdown(struct ap_tls *t);
/* Takes all pending ciphertext as a malloc'd buffer; *ret NULL when none. */
int ap_tls_take(struct ap_tls *t, char **ret, size_t *ret_len);

int ap_tls_handshake_done(const struct ap_tls *t);
/* The peer's certificate (borrowed, valid while t lives) or NULL. */
X509 *ap_tls_peer_cert(const struct ap_tls *t);
/* SHA-256 of the peer's certificate in hex ("" when none), computed once. */
const char *ap_tls_peer_fingerprint(struct ap_tls *t);
/* The certificates the peer sent after its own (borrowed), or NULL. */
STACK_OF(X509) * ap_tls_peer_chain(const struct ap_tls *t);
/* 1 when the peer sent a certificate that chains to the trust store. */
int ap_tls_peer_verified(const struct ap_tls *t);
/* 1 when this session was resumed. */
int ap_tls_resumed(const struct ap_tls *t);
/* Negotiated protocol name ("TLSv1.3") for logs. */
const char *ap_tls_version(const struct ap_tls *t);
/* The ALPN protocol the handshake settled on ("h2"), or "" when none. */
void ap_tls_alpn(const struct ap_tls *t, char *out, size_t cap);
/* A short reason for the last protocol error, for logs. */
const char *ap_tls_last_error(const struct ap_tls *t);

#endif
