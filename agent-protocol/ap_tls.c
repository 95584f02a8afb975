/* ap_tls.c - OpenSSL over memory BIOs. */
#include "ap_tls.h"
#include "ap_buf.h"
#include "ap_err.h"
#include "ap_x509.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ap_tls {
	SSL *ssl;
	BIO *rbio; /* network -> SSL */
	BIO *wbio; /* SSL -> network */
	int done;
	SSL_SESSION **session_slot; /* client: where new sessions go, or NULL */
	char fp[65];		    /* the peer certificate's SHA-256, computed once */
	char err[128];
};

/* The session cache every worker's context shares: a chained hash on the
 * session ID and a list from oldest to newest for eviction.  OpenSSL's own
 * cache is per SSL_CTX, so with a context per worker a tablet whose next
 * connection lands on another worker could not resume. */
struct sess {
	unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];
	unsigned int id_len;
	SSL_SESSION *s;
	struct sess *hnext, *older, *newer;
};

struct ap_tls_sessions {
	pthread_mutex_t mu;
	size_t n, max, n_buckets;
	struct sess **buckets;
	struct sess *oldest, *newest;
};

static size_t sess_hash(const unsigned char *id, unsigned int len, size_t n_buckets)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (unsigned int i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ull;
	return (size_t)(h % n_buckets);
}

static struct sess **sess_slot(struct ap_tls_sessions *c, const unsigned char *id, unsigned int len)
{
	struct sess **p = &c->buckets[sess_hash(id, len, c->n_buckets)];
	while (*p && ((*p)->id_len != len || memcmp((*p)->id, id, len) != 0))
		p = &(*p)->hnext;
	return p;
}

/* Unlinks *slot from both structures; returns the session to free (the
 * caller frees it outside the lock). */
static SSL_SESSION *sess_unlink(struct ap_tls_sessions *c, struct sess **slot)
{
	struct sess *e = *slot;
	SSL_SESSION *s = e->s;
	*slot = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->n--;
	free(e);
	return s;
}

int ap_tls_sessions_new(size_t max, struct ap_tls_sessions **ret)
{
	struct ap_tls_sessions *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return AP_ENOMEM;
	c->max = max;
	c->n_buckets = max / 2 + 1;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return AP_ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	*ret = c;
	return 0;
}

void ap_tls_sessions_free(struct ap_tls_sessions *c)
{
	if (c == NULL)
		return;
	while (c->oldest) {
		struct sess *e = c->oldest;
		SSL_SESSION_free(sess_unlink(c, sess_slot(c, e->id, e->id_len)));
	}
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c);
}

size_t ap_tls_sessions_count(struct ap_tls_sessions *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int sess_new_cb(SSL *ssl, SSL_SESSION *s)
{
	struct ap_tls_sessions *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	unsigned int len = 0;
	const unsigned char *id = SSL_SESSION_get_id(s, &len);
	SSL_SESSION *evicted = NULL, *replaced = NULL;
	struct sess *e = calloc(1, sizeof(*e));
	if (c == NULL || e == NULL || len == 0 || len > sizeof(e->id)) {
		free(e);
		return 0; /* not kept: OpenSSL keeps its reference */
	}
	memcpy(e->id, id, len);
	e->id_len = len;
	e->s = s; /* returning 1 hands us OpenSSL's reference */
	pthread_mutex_lock(&c->mu);
	struct sess **slot = sess_slot(c, id, len);
	if (*slot)
		replaced = sess_unlink(c, slot);
	if (c->n >= c->max && c->oldest)
		evicted = sess_unlink(c, sess_slot(c, c->oldest->id, c->oldest->id_len));
	slot = sess_slot(c, id, len);
	*slot = e;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->n++;
	pthread_mutex_unlock(&c->mu);
	SSL_SESSION_free(replaced);
	SSL_SESSION_free(evicted);
	return 1;
}

static SSL_SESSION *sess_get_cb(SSL *ssl, const unsigned char *id, int len, int *copy)
{
	struct ap_tls_sessions *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	SSL_SESSION *s = NULL;
	*copy = 0; /* the reference taken under the lock is the caller's */
	if (c == NULL || len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH)
		return NULL;
	pthread_mutex_lock(&c->mu);
	struct sess **slot = sess_slot(c, id, (unsigned int)len);
	if (*slot) {
		s = (*slot)->s;
		SSL_SESSION_up_ref(s);
	}
	pthread_mutex_unlock(&c->mu);
	return s;
}

static void sess_remove_cb(SSL_CTX *ctx, SSL_SESSION *s)
{
	struct ap_tls_sessions *c = SSL_CTX_get_app_data(ctx);
	unsigned int len = 0;
	const unsigned char *id = SSL_SESSION_get_id(s, &len);
	SSL_SESSION *gone = NULL;
	if (c == NULL || len == 0)
		return;
	pthread_mutex_lock(&c->mu);
	struct sess **slot = sess_slot(c, id, len);
	if (*slot && (*slot)->s == s) /* not a newer session under the same ID */
		gone = sess_unlink(c, slot);
	pthread_mutex_unlock(&c->mu);
	SSL_SESSION_free(gone);
}

/* The chain is not checked during the handshake: a tablet's certificate
 * was checked once, when Authenticate bound it to its UDID, and each later
 * session only compares fingerprints.  ap_tls_peer_verified() checks it when
 * a handler asks.  (libssl still checks the CertificateVerify signature:
 * the peer holds the certificate's key.) */
static int verify_later(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 1;
}

/* TLS 1.2: forward secrecy and AEAD only, as Apple asks of MDM servers
 * (ECDHE; AES-GCM or ChaCha20-Poly1305); the RSA suites serve a server.pem
 * with an RSA key.  TLS 1.3's suites are all of that kind already. */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";

/* 1 when the ClientHello offers TLS 1.3 (supported_versions), which this
 * server then picks. */
static int offers_tls13(SSL *ssl)
{
	const unsigned char *p;
	size_t len;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len) != 1 ||
	    len < 1 || (size_t)p[0] != len - 1)
		return 0;
	for (size_t i = 1; i + 1 < len; i += 2)
		if (p[i] == 0x03 && p[i + 1] == 0x04)
			return 1;
	return 0;
}

/* Extended Master Secret (RFC 7627) is required of TLS 1.2 clients.
 * OpenSSL 3.0 has no option to require it of a client (only to turn it
 * off), so a ClientHello that would settle on TLS 1.2 without it is
 * refused here with handshake_failure.  TLS 1.3 always binds its secrets
 * to the handshake. */
static int require_ems(SSL *ssl, int *al, void *arg)
{
	const unsigned char *p;
	size_t len;
	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_extended_master_secret, &p, &len) == 1 ||
	    offers_tls13(ssl))
		return SSL_CLIENT_HELLO_SUCCESS;
	*al = SSL_AD_HANDSHAKE_FAILURE;
	return SSL_CLIENT_HELLO_ERROR;
}

int ap_tls_ctx_new(OSSL_LIB_CTX *libctx, const char *cert_file, const char *key_file,
		   X509_STORE *trust, STACK_OF(X509_NAME) * client_ca_names,
		   struct ap_tls_sessions *sessions, SSL_CTX **ret)
{
	SSL_CTX *ctx = SSL_CTX_new_ex(libctx, NULL, TLS_server_method());
	if (ctx == NULL)
		return AP_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* NO_TICKET: TLS 1.3 tickets are then references into the session
	 * cache; a self-contained ticket costs a serialisation round trip of
	 * the session, peer certificate included, on every handshake */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_client_hello_cb(ctx, require_ems, NULL);
	/* NO_AUTO_CHAIN: server.pem holds what we send; building the chain
	 * from the store would verify our own certificate at every handshake */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
	if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return AP_ECRYPTO;
	}
	if (trust) {
		X509_STORE_up_ref(trust);
		SSL_CTX_set_cert_store(ctx, trust);
	}
	if (client_ca_names)
		SSL_CTX_set_client_CA_list(ctx, client_ca_names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, verify_later, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ardoise", 7);
	if (sessions) {
		SSL_CTX_set_app_data(ctx, sessions);
		SSL_CTX_set_session_cache_mode(ctx,
					       SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
		SSL_CTX_sess_set_new_cb(ctx, sess_new_cb);
		SSL_CTX_sess_set_get_cb(ctx, sess_get_cb);
		SSL_CTX_sess_set_remove_cb(ctx, sess_remove_cb);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	*ret = ctx;
	return 0;
}

/* A client context's new-session callback: the session goes to the slot
 * of the connection it belongs to. */
static int client_new_session(SSL *ssl, SSL_SESSION *s)
{
	struct ap_tls *t = SSL_get_app_data(ssl);
	if (t == NULL || t->session_slot == NULL)
		return 0; /* not kept: OpenSSL keeps its reference */
	SSL_SESSION_free(*t->session_slot);
	*t->session_slot = s;
	return 1; /* the reference is the slot's */
}

int ap_tls_client_ctx_new(OSSL_LIB_CTX *libctx, const char *ca_file, const char *host,
			  SSL_CTX **ret)
{
	unsigned char addr[16];
	SSL_CTX *ctx = SSL_CTX_new_ex(libctx, NULL, TLS_client_method());
	if (ctx == NULL)
		return AP_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* an iPad presents its identity certificate alone, no chain */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return AP_EIO;
	}
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	else
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, client_new_session);
	*ret = ctx;
	return 0;
}

static struct ap_tls *tls_alloc(SSL_CTX *ctx)
{
	struct ap_tls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->ssl = SSL_new(ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_app_data(t->ssl, t);
	return t;
}

struct ap_tls *ap_tls_new(SSL_CTX *ctx)
{
	struct ap_tls *t = tls_alloc(ctx);
	if (t)
		SSL_set_accept_state(t->ssl);
	return t;
}

struct ap_tls *ap_tls_client_new(SSL_CTX *ctx, const char *host)
{
	unsigned char addr[16];
	struct ap_tls *t = tls_alloc(ctx);
	if (t == NULL)
		return NULL;
	SSL_set_connect_state(t->ssl);
	int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	int ok =
	    is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1
		  : SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1;
	if (!ok) {
		ap_tls_free(t);
		return NULL;
	}
	return t;
}

void ap_tls_free(struct ap_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl); /* frees both BIOs */
	free(t);
}

int ap_tls_client_identity(struct ap_tls *t, X509 *cert, EVP_PKEY *key)
{
	if (SSL_use_certificate(t->ssl, cert) != 1 || SSL_use_PrivateKey(t->ssl, key) != 1) {
		ERR_clear_error();
		return AP_ECRYPTO;
	}
	return 0;
}

void ap_tls_client_session(struct ap_tls *t, SSL_SESSION **slot, int resume)
{
	t->session_slot = slot;
	if (slot && resume && *slot)
		SSL_set_session(t->ssl, *slot);
}

int ap_tls_feed(struct ap_tls *t, const void *data, size_t len)
{
	while (len > 0) {
		int n = BIO_write(t->rbio, data, len > 65536 ? 65536 : (int)len);
		if (n <= 0)
			return AP_ENOMEM;
		data = (const char *)data + n;
		len -= (size_t)n;
	}
	return 0;
}

static int fail(struct ap_tls *t)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(t->ssl);
	if (!SSL_is_server(t->ssl) && v != X509_V_OK)
		snprintf(t->err, sizeof(t->err), "server certificate not accepted: %s",
			 X509_verify_cert_error_string(v));
	else if (e)
		ERR_error_string_n(e, t->err, sizeof(t->err));
	else
		snprintf(t->err, sizeof(t->err), "protocol error");
	ERR_clear_error();
	return AP_EPARSE;
}

int ap_tls_read(struct ap_tls *t, struct ap_buf *out)
{
	char chunk[16384];
	if (!t->done) {
		int r = SSL_do_handshake(t->ssl);
		if (r != 1) {
			int e = SSL_get_error(t->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			return fail(t);
		}
		t->done = 1;
	}
	for (;;) {
		int n = SSL_read(t->ssl, chunk, sizeof(chunk));
		if (n > 0) {
			int rc = ap_buf_append(out, chunk, (size_t)n);
			if (rc < 0)
				return rc;
			continue;
		}
		int e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return AP_EIO;
		return fail(t);
	}
}

int ap_tls_write(struct ap_tls *t, const void *data, size_t len)
{
	while (len > 0) {
		int n = SSL_write(t->ssl, data, len > 1u << 30 ? 1 << 30 : (int)len);
		if (n <= 0)
			return fail(t);
		data = (const char *)data + n;
		len -= (size_t)n;
	}
	return 0;
}

void ap_tls_shutdown(struct ap_tls *t)
{
	if (t->done)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

int ap_tls_take(struct ap_tls *t, char **ret, size_t *ret_len)
{
	size_t n = BIO_ctrl_pending(t->wbio);
	if (n == 0) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	char *p = malloc(n);
	if (p == NULL)
		return AP_ENOMEM;
	int got = BIO_read(t->wbio, p, (int)n);
	if (got <= 0) {
		free(p);
		return AP_EIO;
	}
	*ret = p;
	*ret_len = (size_t)got;
	return 0;
}

int ap_tls_handshake_done(const struct ap_tls *t)
{
	return t->done;
}

X509 *ap_tls_peer_cert(const struct ap_tls *t)
{
	return SSL_get0_peer_certificate(t->ssl);
}

const char *ap_tls_peer_fingerprint(struct ap_tls *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	if (cert == NULL)
		return "";
	if (t->fp[0] == '\0')
		ap_x509_fingerprint(cert, t->fp);
	return t->fp;
}

STACK_OF(X509) * ap_tls_peer_chain(const struct ap_tls *t)
{
	return SSL_get_peer_cert_chain(t->ssl);
}

int ap_tls_peer_verified(const struct ap_tls *t)
{
	return ap_x509_client_chain_ok(SSL_get0_peer_certificate(t->ssl), ap_tls_peer_chain(t),
				       SSL_CTX_get_cert_store(SSL_get_SSL_CTX(t->ssl)));
}

int ap_tls_resumed(const struct ap_tls *t)
{
	return SSL_session_reused(t->ssl);
}

const char *ap_tls_version(const struct ap_tls *t)
{
	return SSL_get_version(t->ssl);
}

void ap_tls_alpn(const struct ap_tls *t, char *out, size_t cap)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;
	SSL_get0_alpn_selected(t->ssl, &p, &n);
	snprintf(out, cap, "%.*s", (int)n, p ? (const char *)p : "");
}

const char *ap_tls_last_error(const struct ap_tls *t)
{
	return t->err[0] ? t->err : "none";
}
