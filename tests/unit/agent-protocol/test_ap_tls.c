/*
 * Unit tests for agent-protocol/ap_tls.c: the TLS filter over memory BIOs, driven by
 * an OpenSSL client that also lives in memory.  No socket anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <string.h>

#include "ap_buf.h"
#include "ap_err.h"
#include "ap_x509.h"
#include "ap_tls.h"
#include "tu_pki.h"
#include "unit.h"

struct world {
	char dir[4096];
	EVP_PKEY *ca_key, *foreign_key, *client_key;
	X509 *ca, *foreign, *client_cert, *foreign_client_cert;
	SSL_CTX *srv_ctx; /* ap_tls_ctx_new: our server */
	/* a second worker: its own library context, the same session cache */
	OSSL_LIB_CTX *libctx2;
	OSSL_PROVIDER *provider2;
	SSL_CTX *srv_ctx2;
	struct ap_tls_sessions *sessions;
	SSL_CTX *cli_ctx; /* an ordinary client trusting our CA */
};

/* One connection: our server filter and a client SSL, wired in memory. */
struct pair {
	struct ap_tls *srv;
	SSL *cli;
	BIO *cli_rbio, *cli_wbio;
	struct ap_buf plain; /* what the server decrypted */
	int srv_rc;	     /* last ap_tls_read() result */
};

static X509 *issue_client(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *cn)
{
	X509_REQ *req = tu_csr(key, cn);
	X509 *cert = NULL;
	assert_non_null(req);
	assert_int_equal(ap_x509_issue_client(ca, ca_key, req, 30, &cert), 0);
	X509_REQ_free(req);
	return cert;
}

static int group_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	const char *names[] = {"localhost", "127.0.0.1"};
	EVP_PKEY *srv_key = NULL;
	X509 *srv = NULL;
	char cert_path[4200], key_path[4200];

	unit_tmpdir(w->dir);
	assert_int_equal(ap_x509_new_ec_key(&w->ca_key), 0);
	assert_int_equal(ap_x509_make_ca(w->ca_key, "Test CA", "Ardoise", 30, &w->ca), 0);
	assert_int_equal(ap_x509_new_ec_key(&srv_key), 0);
	assert_int_equal(ap_x509_issue_server(w->ca, w->ca_key, srv_key, names, 2, 30, &srv), 0);
	assert_int_equal(tu_write_pem_in(w->dir, "server.pem", srv, NULL, NULL, 0644), 0);
	assert_int_equal(tu_write_pem_in(w->dir, "server.key", NULL, srv_key, NULL, 0600), 0);
	assert_int_equal(tu_write_pem_in(w->dir, "other.key", NULL, w->ca_key, NULL, 0600), 0);

	assert_int_equal(ap_x509_new_ec_key(&w->client_key), 0);
	w->client_cert = issue_client(w->ca, w->ca_key, w->client_key, "device-1");
	assert_int_equal(ap_x509_new_ec_key(&w->foreign_key), 0);
	assert_int_equal(ap_x509_make_ca(w->foreign_key, "Foreign CA", NULL, 30, &w->foreign), 0);
	w->foreign_client_cert =
	    issue_client(w->foreign, w->foreign_key, w->client_key, "device-1");

	X509_STORE *trust = X509_STORE_new();
	X509_STORE_add_cert(trust, w->ca);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", w->dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", w->dir);
	assert_int_equal(ap_tls_sessions_new(4, &w->sessions), 0);
	assert_int_equal(
	    ap_tls_ctx_new(NULL, cert_path, key_path, trust, NULL, w->sessions, &w->srv_ctx), 0);
	w->libctx2 = OSSL_LIB_CTX_new();
	assert_non_null(w->provider2 = OSSL_PROVIDER_load(w->libctx2, "default"));
	assert_int_equal(
	    ap_tls_ctx_new(w->libctx2, cert_path, key_path, trust, NULL, w->sessions, &w->srv_ctx2),
	    0);
	X509_STORE_free(trust); /* the contexts took their own reference */

	w->cli_ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE_add_cert(SSL_CTX_get_cert_store(w->cli_ctx), w->ca);
	SSL_CTX_set_verify(w->cli_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(w->cli_ctx, SSL_SESS_CACHE_CLIENT);
	EVP_PKEY_free(srv_key);
	X509_free(srv);
	*state = w;
	return 0;
}

static int group_teardown(void **state)
{
	struct world *w = *state;
	SSL_CTX_free(w->srv_ctx);
	SSL_CTX_free(w->srv_ctx2);
	ap_tls_sessions_free(w->sessions);
	OSSL_PROVIDER_unload(w->provider2);
	OSSL_LIB_CTX_free(w->libctx2);
	SSL_CTX_free(w->cli_ctx);
	EVP_PKEY_free(w->ca_key);
	EVP_PKEY_free(w->foreign_key);
	EVP_PKEY_free(w->client_key);
	X509_free(w->ca);
	X509_free(w->foreign);
	X509_free(w->client_cert);
	X509_free(w->foreign_client_cert);
	unit_rmtree(w->dir);
	free(w);
	return 0;
}

static void pair_init_ctx(struct world *w, SSL_CTX *ctx, struct pair *p, X509 *cert, EVP_PKEY *key)
{
	memset(p, 0, sizeof(*p));
	p->srv = ap_tls_new(ctx);
	assert_non_null(p->srv);
	p->cli = SSL_new(w->cli_ctx);
	p->cli_rbio = BIO_new(BIO_s_mem());
	p->cli_wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(p->cli_rbio, -1);
	SSL_set_bio(p->cli, p->cli_rbio, p->cli_wbio);
	SSL_set_connect_state(p->cli);
	SSL_set1_host(p->cli, "localhost");
	if (cert) {
		assert_int_equal(SSL_use_certificate(p->cli, cert), 1);
		assert_int_equal(SSL_use_PrivateKey(p->cli, key), 1);
	}
	ap_buf_init(&p->plain, 1 << 20);
}

static void pair_init(struct world *w, struct pair *p, X509 *cert, EVP_PKEY *key)
{
	pair_init_ctx(w, w->srv_ctx, p, cert, key);
}

static void pair_free(struct pair *p)
{
	ap_tls_free(p->srv);
	SSL_free(p->cli);
	ap_buf_free(&p->plain);
}

/* Client ciphertext -> server filter.  Returns the bytes moved. */
static size_t to_server(struct pair *p)
{
	char buf[65536];
	size_t moved = 0;
	int n;
	while ((n = BIO_read(p->cli_wbio, buf, sizeof(buf))) > 0) {
		assert_int_equal(ap_tls_feed(p->srv, buf, (size_t)n), 0);
		moved += (size_t)n;
	}
	p->srv_rc = ap_tls_read(p->srv, &p->plain);
	return moved;
}

/* Server filter ciphertext -> client.  Returns the bytes moved. */
static size_t to_client(struct pair *p)
{
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(ap_tls_take(p->srv, &data, &len), 0);
	if (data == NULL)
		return 0;
	assert_int_equal(BIO_write(p->cli_rbio, data, (int)len), (int)len);
	free(data);
	return len;
}

/* Runs the handshake to completion (or failure); returns ap_tls_read()'s
 * last result. */
static int handshake(struct pair *p)
{
	for (int i = 0; i < 20; i++) {
		if (!SSL_is_init_finished(p->cli)) {
			int r = SSL_do_handshake(p->cli);
			int e = SSL_get_error(p->cli, r);
			if (r != 1 && e != SSL_ERROR_WANT_READ)
				break; /* the client gave up */
		}
		size_t moved = to_server(p);
		if (p->srv_rc < 0)
			return p->srv_rc;
		moved += to_client(p);
		if (moved == 0 && SSL_is_init_finished(p->cli))
			break;
	}
	ERR_clear_error();
	return p->srv_rc;
}

/* Lets the client read what the server sent; returns the bytes read. */
static int client_read(struct pair *p, char *buf, int cap)
{
	int total = 0, n;
	to_client(p);
	while (total < cap && (n = SSL_read(p->cli, buf + total, cap - total)) > 0)
		total += n;
	ERR_clear_error();
	return total;
}

static void test_handshake_and_data(void **state)
{
	struct world *w = *state;
	struct pair p;
	char buf[256];
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(ap_tls_handshake_done(p.srv), 0);
	assert_int_equal(handshake(&p), 0);
	assert_int_equal(ap_tls_handshake_done(p.srv), 1);
	assert_true(SSL_is_init_finished(p.cli));
	assert_int_equal(SSL_get_verify_result(p.cli), X509_V_OK); /* server cert for localhost */
	assert_string_equal(ap_tls_version(p.srv), "TLSv1.3");
	assert_string_equal(ap_tls_last_error(p.srv), "none");

	static const char req[] = "GET /healthz HTTP/1.1\r\n\r\n";
	assert_int_equal(SSL_write(p.cli, req, (int)strlen(req)), (int)strlen(req));
	to_server(&p);
	assert_int_equal(p.srv_rc, 0);
	assert_int_equal(p.plain.len, strlen(req));
	assert_memory_equal(p.plain.data, req, strlen(req));

	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(ap_tls_write(p.srv, resp, strlen(resp)), 0);
	assert_int_equal(client_read(&p, buf, sizeof(buf)), (int)strlen(resp));
	assert_memory_equal(buf, resp, strlen(resp));
	pair_free(&p);
}

static void test_large_data_both_ways(void **state)
{
	struct world *w = *state;
	struct pair p;
	size_t n = 300000;
	char *big = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7 + i / 251);
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(handshake(&p), 0);

	size_t sent = 0;
	while (sent < n) { /* the client's BIO takes it in records */
		int k = SSL_write(p.cli, big + sent, (int)(n - sent > 50000 ? 50000 : n - sent));
		assert_true(k > 0);
		sent += (size_t)k;
		to_server(&p);
		assert_int_equal(p.srv_rc, 0);
	}
	assert_int_equal(p.plain.len, n);
	assert_memory_equal(p.plain.data, big, n);

	assert_int_equal(ap_tls_write(p.srv, big, n), 0);
	assert_int_equal(client_read(&p, back, (int)n), (int)n);
	assert_memory_equal(back, big, n);
	pair_free(&p);
	free(big);
	free(back);
}

static void test_byte_at_a_time(void **state)
{
	struct world *w = *state;
	struct pair p;
	char buf[65536];
	pair_init(w, &p, NULL, NULL);
	for (int round = 0; round < 10 && !ap_tls_handshake_done(p.srv); round++) {
		SSL_do_handshake(p.cli);
		int n = BIO_read(p.cli_wbio, buf, sizeof(buf));
		for (int i = 0; i < n; i++) {
			assert_int_equal(ap_tls_feed(p.srv, buf + i, 1), 0);
			assert_int_equal(ap_tls_read(p.srv, &p.plain), 0);
		}
		to_client(&p);
	}
	assert_int_equal(ap_tls_handshake_done(p.srv), 1);
	pair_free(&p);
	ERR_clear_error();
}

static void test_no_client_cert(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(handshake(&p), 0); /* client certificates are optional */
	assert_null(ap_tls_peer_cert(p.srv));
	assert_int_equal(ap_tls_peer_verified(p.srv), 0);
	pair_free(&p);
}

static void test_client_cert_verified(void **state)
{
	struct world *w = *state;
	struct pair p;
	char *cn = NULL;
	pair_init(w, &p, w->client_cert, w->client_key);
	assert_int_equal(handshake(&p), 0);
	assert_int_equal(ap_tls_handshake_done(p.srv), 1);
	assert_non_null(ap_tls_peer_cert(p.srv));
	assert_int_equal(ap_x509_subject_cn(ap_tls_peer_cert(p.srv), &cn), 0);
	assert_string_equal(cn, "device-1");
	free(cn);
	assert_int_equal(ap_tls_peer_verified(p.srv), 1);
	pair_free(&p);
}

/* A certificate from another CA does not stop the handshake (staff routes
 * do not need one) but is never reported as verified. */
static void test_foreign_client_cert_unverified(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, w->foreign_client_cert, w->client_key);
	assert_int_equal(handshake(&p), 0);
	assert_int_equal(ap_tls_handshake_done(p.srv), 1);
	assert_non_null(ap_tls_peer_cert(p.srv));
	assert_int_equal(ap_tls_peer_verified(p.srv), 0);
	/* and the connection carries data */
	assert_int_equal(SSL_write(p.cli, "ping", 4), 4);
	to_server(&p);
	assert_int_equal(p.srv_rc, 0);
	assert_int_equal(p.plain.len, 4);
	pair_free(&p);
}

/* A self-signed client certificate is also unverified. */
static void test_self_signed_client_cert_unverified(void **state)
{
	struct world *w = *state;
	struct pair p;
	X509 *self = NULL;
	assert_int_equal(ap_x509_make_selfsigned(w->client_key, "device-1", 30, &self), 0);
	pair_init(w, &p, self, w->client_key);
	assert_int_equal(handshake(&p), 0);
	assert_non_null(ap_tls_peer_cert(p.srv));
	assert_int_equal(ap_tls_peer_verified(p.srv), 0);
	pair_free(&p);
	X509_free(self);
}

static void expect_garbage_refused(struct world *w, const void *data, size_t len)
{
	struct ap_tls *t = ap_tls_new(w->srv_ctx);
	struct ap_buf out;
	ap_buf_init(&out, 1 << 16);
	assert_int_equal(ap_tls_feed(t, data, len), 0);
	assert_int_equal(ap_tls_read(t, &out), AP_EPARSE);
	assert_int_equal(out.len, 0);
	assert_string_not_equal(ap_tls_last_error(t), "none");
	assert_int_equal(ap_tls_handshake_done(t), 0);
	ap_tls_free(t);
	ap_buf_free(&out);
}

static void test_garbage(void **state)
{
	struct world *w = *state;
	unsigned char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 17);
	expect_garbage_refused(w, junk, sizeof(junk));
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_garbage_refused(w, http, strlen(http));
	/* a handshake record header announcing a ClientHello full of zeros */
	static const unsigned char fake[] = {0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x00,
					     0x0c, 0,	 0,    0,    0,	   0,	 0,    0,
					     0,	   0,	 0,    0,    0,	   0,	 0};
	expect_garbage_refused(w, fake, sizeof(fake));
}

static void test_garbage_after_handshake(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(handshake(&p), 0);
	static const unsigned char bad_record[] = {
	    0x17, 0x03, 0x03, 0x00, 0x20, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
	    15,	  16,	17,   18,   19,	  20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	assert_int_equal(ap_tls_feed(p.srv, bad_record, sizeof(bad_record)), 0);
	assert_int_equal(ap_tls_read(p.srv, &p.plain), AP_EPARSE);
	pair_free(&p);
}

static void test_close_notify(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(handshake(&p), 0);
	SSL_shutdown(p.cli);
	to_server(&p);
	assert_int_equal(p.srv_rc, AP_EIO);
	ap_tls_shutdown(p.srv); /* answers with its own close_notify */
	char buf[16];
	assert_int_equal(client_read(&p, buf, sizeof(buf)), 0);
	assert_int_equal(SSL_get_shutdown(p.cli) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
	pair_free(&p);
}

static void test_old_protocol_refused(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, NULL, NULL);
	SSL_set_security_level(p.cli, 0);
	SSL_set_min_proto_version(p.cli, TLS1_VERSION);
	SSL_set_max_proto_version(p.cli, TLS1_1_VERSION);
	assert_int_equal(handshake(&p), AP_EPARSE);
	assert_int_equal(ap_tls_handshake_done(p.srv), 0);
	pair_free(&p);
}

static void test_tls12_accepted(void **state)
{
	struct world *w = *state;
	struct pair p;
	pair_init(w, &p, w->client_cert, w->client_key);
	SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
	assert_int_equal(handshake(&p), 0);
	assert_string_equal(ap_tls_version(p.srv), "TLSv1.2");
	assert_int_equal(ap_tls_peer_verified(p.srv), 1);
	pair_free(&p);
}

/* TLS 1.2 only with ECDHE and an AEAD cipher, and with Extended Master
 * Secret; TLS 1.3 needs no EMS. */
static void test_tls12_policy(void **state)
{
	struct world *w = *state;
	static const char *const refused[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256",
					      "ECDHE-ECDSA-AES256-SHA384"};
	struct pair p;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		pair_init(w, &p, NULL, NULL);
		SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
		assert_int_equal(SSL_set_cipher_list(p.cli, refused[i]), 1);
		assert_int_equal(handshake(&p), AP_EPARSE);
		pair_free(&p);
	}
	pair_init(w, &p, NULL, NULL);
	SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
	SSL_set_options(p.cli, SSL_OP_NO_EXTENDED_MASTER_SECRET);
	assert_int_equal(handshake(&p), AP_EPARSE);
	pair_free(&p);
	pair_init(w, &p, NULL, NULL);
	SSL_set_options(p.cli, SSL_OP_NO_EXTENDED_MASTER_SECRET);
	assert_int_equal(handshake(&p), 0);
	assert_string_equal(ap_tls_version(p.srv), "TLSv1.3");
	pair_free(&p);
}

static void test_plaintext_over_cap(void **state)
{
	struct world *w = *state;
	struct pair p;
	char big[3000];
	memset(big, 'a', sizeof(big));
	pair_init(w, &p, NULL, NULL);
	assert_int_equal(handshake(&p), 0);
	ap_buf_free(&p.plain);
	ap_buf_init(&p.plain, 1000);
	assert_int_equal(SSL_write(p.cli, big, sizeof(big)), (int)sizeof(big));
	to_server(&p);
	assert_int_equal(p.srv_rc, AP_ETOOBIG);
	assert_true(p.plain.len <= 1000);
	pair_free(&p);
}

/* A full handshake on ctx with the client certificate; returns the session
 * the client got (TLS 1.3 ticket, or TLS 1.2 session ID when tls12). */
static SSL_SESSION *first_session(struct world *w, SSL_CTX *ctx, int tls12)
{
	struct pair p;
	char buf[16];
	pair_init_ctx(w, ctx, &p, w->client_cert, w->client_key);
	if (tls12)
		SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
	assert_int_equal(handshake(&p), 0);
	client_read(&p, buf, sizeof(buf)); /* takes the TLS 1.3 session ticket */
	SSL_SESSION *sess = SSL_get1_session(p.cli);
	assert_non_null(sess);
	assert_int_equal(ap_tls_resumed(p.srv), 0);
	/* both ends close properly: OpenSSL drops sessions cut short */
	SSL_shutdown(p.cli);
	ap_tls_shutdown(p.srv); /* as conn.c does */
	pair_free(&p);
	return sess;
}

/* Resumes sess on ctx; returns whether the server resumed, and checks the
 * resumed connection still knows the client's certificate. */
static int resume(struct world *w, SSL_CTX *ctx, SSL_SESSION *sess, int tls12)
{
	struct pair p;
	char fp[65];
	pair_init_ctx(w, ctx, &p, NULL, NULL);
	if (tls12)
		SSL_set_max_proto_version(p.cli, TLS1_2_VERSION);
	SSL_set_session(p.cli, sess);
	assert_int_equal(handshake(&p), 0);
	int resumed = ap_tls_resumed(p.srv);
	if (resumed) {
		ap_x509_fingerprint(w->client_cert, fp);
		assert_string_equal(ap_tls_peer_fingerprint(p.srv), fp);
		assert_int_equal(ap_tls_peer_verified(p.srv), 1);
	}
	pair_free(&p);
	return resumed;
}

static void test_session_resumption(void **state)
{
	struct world *w = *state;
	for (int tls12 = 0; tls12 <= 1; tls12++) {
		/* same worker, then another worker: the cache is shared */
		SSL_SESSION *sess = first_session(w, w->srv_ctx, tls12);
		assert_int_equal(resume(w, w->srv_ctx, sess, tls12), 1);
		SSL_SESSION_free(sess);
		sess = first_session(w, w->srv_ctx, tls12);
		assert_int_equal(resume(w, w->srv_ctx2, sess, tls12), 1);
		SSL_SESSION_free(sess);
	}
}

static void test_session_cache_bounded(void **state)
{
	struct world *w = *state;
	SSL_SESSION *sess[6];
	for (int i = 0; i < 6; i++)
		sess[i] = first_session(w, i % 2 ? w->srv_ctx2 : w->srv_ctx, 0);
	assert_true(ap_tls_sessions_count(w->sessions) <= 4); /* the cache holds 4 */
	/* the oldest went first; the newest are still there */
	assert_int_equal(resume(w, w->srv_ctx, sess[0], 0), 0);
	assert_int_equal(resume(w, w->srv_ctx2, sess[5], 0), 1);
	for (int i = 0; i < 6; i++)
		SSL_SESSION_free(sess[i]);
}

static void test_ctx_errors(void **state)
{
	struct world *w = *state;
	char cert[4200], key[4200], other[4200], missing[4200];
	SSL_CTX *ctx = (SSL_CTX *)0x1;
	snprintf(cert, sizeof(cert), "%s/server.pem", w->dir);
	snprintf(key, sizeof(key), "%s/server.key", w->dir);
	snprintf(other, sizeof(other), "%s/other.key", w->dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", w->dir);
	assert_int_equal(ap_tls_ctx_new(NULL, cert, other, NULL, NULL, NULL, &ctx),
			 AP_ECRYPTO); /* key mismatch */
	assert_int_equal(ap_tls_ctx_new(NULL, missing, key, NULL, NULL, NULL, &ctx), AP_ECRYPTO);
	assert_int_equal(ap_tls_ctx_new(NULL, cert, missing, NULL, NULL, NULL, &ctx), AP_ECRYPTO);
	assert_ptr_equal(ctx, (SSL_CTX *)0x1); /* untouched on failure */
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_and_data),
	    cmocka_unit_test(test_large_data_both_ways),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_no_client_cert),
	    cmocka_unit_test(test_client_cert_verified),
	    cmocka_unit_test(test_foreign_client_cert_unverified),
	    cmocka_unit_test(test_self_signed_client_cert_unverified),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_garbage_after_handshake),
	    cmocka_unit_test(test_close_notify),
	    cmocka_unit_test(test_old_protocol_refused),
	    cmocka_unit_test(test_tls12_accepted),
	    cmocka_unit_test(test_tls12_policy),
	    cmocka_unit_test(test_plaintext_over_cap),
	    cmocka_unit_test(test_session_resumption),
	    cmocka_unit_test(test_session_cache_bounded),
	    cmocka_unit_test(test_ctx_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
