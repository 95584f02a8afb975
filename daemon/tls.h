/*
 * tls.h - TLS as a filter over memory BIOs (h2o style).
 *
 * Ciphertext goes in with tls_feed() and comes out with tls_take(); the
 * plaintext side is tls_read()/tls_write().  No socket is touched here, so
 * the HTTP code above never branches on TLS and tests can drive a session
 * in memory.
 */
#ifndef TLS_H
#define TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct ap_buf;
struct tls;

/* Server context: cert/key in PEM files, TLS 1.2 and 1.3, client
 * certificates requested but optional (verified later against trust by
 * tls_peer_verified()).  trust is the device CA store (ref taken). */
int tls_ctx_new(const char *cert_file, const char *key_file, X509_STORE *trust,
		STACK_OF(X509_NAME) * client_ca_names, SSL_CTX **ret);

struct tls *tls_new(SSL_CTX *ctx);
/* Client side of the filter (APNs): the handshake starts at the first
 * tls_read(); the server's certificate must name host (a DNS name, sent as
 * SNI, or an IP literal).  NULL when out of memory. */
struct tls *tls_client_new(SSL_CTX *ctx, const char *host);
void tls_free(struct tls *t);

/* Hands ciphertext received from the peer to the filter. */
int tls_feed(struct tls *t, const void *data, size_t len);
/* Runs the handshake and decrypts what it can, appending plaintext to out.
 * Returns 0 (maybe nothing new: want more input), AP_EIO when the peer sent
 * close_notify, AP_EPARSE on a protocol error (garbage, bad handshake),
 * AP_ETOOBIG when out is full. */
int tls_read(struct tls *t, struct ap_buf *out);
/* Encrypts plaintext; the ciphertext is then available from tls_take(). */
int tls_write(struct tls *t, const void *data, size_t len);
/* Sends close_notify (best effort). */
void tls_shutdown(struct tls *t);
/* Takes all pending ciphertext as a malloc'd buffer; *ret NULL when none. */
int tls_take(struct tls *t, char **ret, size_t *ret_len);

int tls_handshake_done(const struct tls *t);
/* The peer's certificate (borrowed, valid while t lives) or NULL. */
X509 *tls_peer_cert(const struct tls *t);
/* 1 when the peer sent a certificate that chains to the trust store. */
int tls_peer_verified(const struct tls *t);
/* 1 when this session was resumed. */
int tls_resumed(const struct tls *t);
/* Negotiated protocol name ("TLSv1.3") for logs. */
const char *tls_version(const struct tls *t);
/* The ALPN protocol the handshake settled on ("h2"), or "" when none. */
void tls_alpn(const struct tls *t, char *out, size_t cap);
/* A short reason for the last protocol error, for logs. */
const char *tls_last_error(const struct tls *t);

#endif
