/* tls.c - OpenSSL over memory BIOs. */
#include "tls.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls {
	SSL *ssl;
	BIO *rbio; /* network -> SSL */
	BIO *wbio; /* SSL -> network */
	int done;
	char err[128];
};

/* Accept any chain at the handshake: device routes check the result. */
static int verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

int tls_ctx_new(const char *cert_file, const char *key_file, X509_STORE *trust,
		STACK_OF(X509_NAME) * client_ca_names, SSL_CTX **ret)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return AP_ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
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
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_any);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ardoise", 7);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 20000);
	*ret = ctx;
	return 0;
}

static struct tls *tls_alloc(SSL_CTX *ctx)
{
	struct tls *t = calloc(1, sizeof(*t));
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
	return t;
}

struct tls *tls_new(SSL_CTX *ctx)
{
	struct tls *t = tls_alloc(ctx);
	if (t)
		SSL_set_accept_state(t->ssl);
	return t;
}

struct tls *tls_client_new(SSL_CTX *ctx, const char *host)
{
	unsigned char addr[16];
	struct tls *t = tls_alloc(ctx);
	if (t == NULL)
		return NULL;
	SSL_set_connect_state(t->ssl);
	int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	int ok =
	    is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1
		  : SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1;
	if (!ok) {
		tls_free(t);
		return NULL;
	}
	return t;
}

void tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl); /* frees both BIOs */
	free(t);
}

int tls_feed(struct tls *t, const void *data, size_t len)
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

static int fail(struct tls *t)
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

int tls_read(struct tls *t, struct ap_buf *out)
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

int tls_write(struct tls *t, const void *data, size_t len)
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

void tls_shutdown(struct tls *t)
{
	if (t->done)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

int tls_take(struct tls *t, char **ret, size_t *ret_len)
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

int tls_handshake_done(const struct tls *t)
{
	return t->done;
}

X509 *tls_peer_cert(const struct tls *t)
{
	return SSL_get0_peer_certificate(t->ssl);
}

int tls_peer_verified(const struct tls *t)
{
	return SSL_get0_peer_certificate(t->ssl) != NULL &&
	       SSL_get_verify_result(t->ssl) == X509_V_OK;
}

int tls_resumed(const struct tls *t)
{
	return SSL_session_reused(t->ssl);
}

const char *tls_version(const struct tls *t)
{
	return SSL_get_version(t->ssl);
}

void tls_alpn(const struct tls *t, char *out, size_t cap)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;
	SSL_get0_alpn_selected(t->ssl, &p, &n);
	snprintf(out, cap, "%.*s", (int)n, p ? (const char *)p : "");
}

const char *tls_last_error(const struct tls *t)
{
	return t->err[0] ? t->err : "none";
}
