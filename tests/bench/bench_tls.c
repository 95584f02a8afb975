/*
 * bench_tls.c - the server's CPU time for the TLS part of a tablet session,
 * in memory (no socket, no HTTP, no SQLite): agent-protocol/ap_tls.c configured as a
 * worker configures it (its own OpenSSL library context, the shared session
 * cache) against an OpenSSL client presenting an RSA-2048 certificate issued
 * by an EC P-256 CA, as ardoise-sim and iPads do.  Only the server's calls
 * are timed (thread CPU clock).  Also times the pieces that make the floor:
 * the handshake's public-key operations, and one certificate parse.
 * Run: meson test -C build --benchmark  (or the binary, optional N).
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ap_buf.h"
#include "ap_x509.h"
#include "tu_pki.h"
#include "ap_tls.h"

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

struct world {
	SSL_CTX *srv, *cli;
	X509 *cert;
	EVP_PKEY *key;
	double srv_us; /* accumulated server time */
};

/* One connection: handshake, one ticket, close_notify both ways.  Returns
 * 1 when the server resumed, 0 when not, -1 on failure. */
static int session(struct world *w, SSL_SESSION **sess)
{
	char buf[16384];
	struct ap_buf plain;
	struct ap_tls *s;
	double t0 = cpu_us();
	s = ap_tls_new(w->srv);
	w->srv_us += cpu_us() - t0;
	SSL *c = SSL_new(w->cli);
	BIO *crb = BIO_new(BIO_s_mem()), *cwb = BIO_new(BIO_s_mem());
	if (s == NULL || c == NULL || crb == NULL || cwb == NULL)
		return -1;
	SSL_set_bio(c, crb, cwb);
	SSL_set_connect_state(c);
	if (*sess)
		SSL_set_session(c, *sess);
	SSL_use_certificate(c, w->cert);
	SSL_use_PrivateKey(c, w->key);
	ap_buf_init(&plain, 1 << 20);
	for (int i = 0; i < 20; i++) {
		int moved = 0, n;
		if (!SSL_is_init_finished(c))
			SSL_do_handshake(c);
		while ((n = BIO_read(cwb, buf, sizeof(buf))) > 0) {
			t0 = cpu_us();
			ap_tls_feed(s, buf, (size_t)n);
			int rc = ap_tls_read(s, &plain);
			w->srv_us += cpu_us() - t0;
			if (rc < 0)
				return -1;
			moved += n;
		}
		char *out = NULL;
		size_t len = 0;
		t0 = cpu_us();
		ap_tls_take(s, &out, &len);
		w->srv_us += cpu_us() - t0;
		if (out) {
			BIO_write(crb, out, (int)len);
			free(out);
			moved += (int)len;
		}
		if (moved == 0 && SSL_is_init_finished(c))
			break;
	}
	SSL_read(c, buf, sizeof(buf)); /* takes the ticket */
	t0 = cpu_us();
	int ok = ap_tls_handshake_done(s) && ap_tls_peer_fingerprint(s)[0] != '\0';
	int resumed = ap_tls_resumed(s);
	ap_tls_shutdown(s);
	ap_tls_free(s);
	w->srv_us += cpu_us() - t0;
	SSL_SESSION_free(*sess);
	*sess = SSL_get1_session(c);
	SSL_shutdown(c);
	SSL_free(c);
	ap_buf_free(&plain);
	ERR_clear_error();
	return ok ? resumed : -1;
}

static int run(struct world *w, int n, int resume, const char *label)
{
	SSL_SESSION *sess = NULL;
	int resumed = 0;
	w->srv_us = 0;
	for (int i = 0; i < n; i++) {
		if (!resume) {
			SSL_SESSION_free(sess);
			sess = NULL;
		}
		int r = session(w, &sess);
		if (r < 0) {
			fprintf(stderr, "bench_tls: handshake %d failed\n", i);
			return 1;
		}
		resumed += r;
	}
	SSL_SESSION_free(sess);
	printf("%s: %d handshakes (%d resumed), server CPU %.0f us each\n", label, n, resumed,
	       w->srv_us / n);
	return 0;
}

/* Mean time of op over n runs, in microseconds. */
#define TIME_OP(n, op)                             \
	({                                         \
		double t0_ = cpu_us();             \
		for (int i_ = 0; i_ < (n); i_++) { \
			op;                        \
		}                                  \
		(cpu_us() - t0_) / (n);            \
	})

static void floor_ops(EVP_PKEY *srv_key, X509 *cert, EVP_PKEY *cli_key, int n)
{
	unsigned char md[32] = {1}, sig[512], rsa_sig[512], der_buf[4096], *der = der_buf;
	size_t sig_len = sizeof(sig), rsa_len = sizeof(rsa_sig);
	int der_len = i2d_X509(cert, &der);
	EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new(cli_key, NULL);
	EVP_PKEY_sign_init(kctx);
	EVP_PKEY_sign(kctx, rsa_sig, &rsa_len, md, sizeof(md));
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(srv_key, NULL);
	EVP_PKEY_sign_init(sctx);
	double ecdsa_sign =
	    TIME_OP(n, sig_len = sizeof(sig); EVP_PKEY_sign(sctx, sig, &sig_len, md, sizeof(md)));
	EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(srv_key, NULL);
	EVP_PKEY_verify_init(vctx);
	double ecdsa_verify = TIME_OP(n, EVP_PKEY_verify(vctx, sig, sig_len, md, sizeof(md)));
	double x25519 = TIME_OP(n, EVP_PKEY_free(EVP_PKEY_Q_keygen(NULL, NULL, "X25519")));
	EVP_PKEY_CTX *rctx = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), NULL);
	EVP_PKEY_verify_init(rctx);
	double rsa_verify = TIME_OP(n, EVP_PKEY_verify(rctx, rsa_sig, rsa_len, md, sizeof(md)));
	double parse =
	    TIME_OP(n, const unsigned char *p = der_buf; X509_free(d2i_X509(NULL, &p, der_len)));
	printf("floor pieces: ECDSA P-256 sign %.0f us, verify %.0f us, X25519 key %.0f us, "
	       "RSA-2048 verify %.0f us; one certificate parse (d2i_X509) %.0f us\n",
	       ecdsa_sign, ecdsa_verify, x25519, rsa_verify, parse);
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(rctx);
	ERR_clear_error();
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 500;
	const char *names[] = {"localhost"};
	char dir[] = "/tmp/bench_tls.XXXXXX", cert_path[64], key_path[64];
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca = NULL, *srv = NULL;
	X509_REQ *req = NULL;
	struct world w = {0};
	struct ap_tls_sessions *cache = NULL;

	if (n < 1 || n > 100000 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", dir);
	if (ap_x509_new_ec_key(&ca_key) || ap_x509_make_ca(ca_key, "Bench CA", NULL, 30, &ca) ||
	    ap_x509_new_ec_key(&srv_key) ||
	    ap_x509_issue_server(ca, ca_key, srv_key, names, 1, 30, &srv) ||
	    tu_write_pem(cert_path, srv, NULL, NULL, 0644) ||
	    tu_write_pem(key_path, NULL, srv_key, NULL, 0600) || ap_x509_new_rsa_key(2048, &w.key))
		return 1;
	req = tu_csr(w.key, "Ardoise device");
	if (req == NULL || ap_x509_issue_client(ca, ca_key, req, 30, &w.cert))
		return 1;

	/* as a worker: its own library context is the thread's default */
	OSSL_LIB_CTX *libctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *prov = libctx ? OSSL_PROVIDER_load(libctx, "default") : NULL;
	X509_STORE *trust = X509_STORE_new();
	if (prov == NULL || trust == NULL || X509_STORE_add_cert(trust, ca) != 1 ||
	    ap_tls_sessions_new(4096, &cache) ||
	    ap_tls_ctx_new(libctx, cert_path, key_path, trust, NULL, cache, &w.srv))
		return 1;
	OSSL_LIB_CTX *global = OSSL_LIB_CTX_set0_default(libctx);
	w.cli = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_mode(w.cli, SSL_MODE_NO_AUTO_CHAIN); /* the leaf alone, as an iPad */
	SSL_CTX_set_session_cache_mode(w.cli, SSL_SESS_CACHE_CLIENT);

	int rc = run(&w, n, 0, "full TLS 1.3 handshake, RSA-2048 client certificate") ||
		 run(&w, n, 1, "resumed TLS 1.3 handshake (stateful ticket)");
	floor_ops(srv_key, w.cert, w.key, n);

	OSSL_LIB_CTX_set0_default(global);
	SSL_CTX_free(w.cli);
	SSL_CTX_free(w.srv);
	ap_tls_sessions_free(cache);
	X509_STORE_free(trust);
	OSSL_PROVIDER_unload(prov);
	OSSL_LIB_CTX_free(libctx);
	X509_REQ_free(req);
	X509_free(w.cert);
	EVP_PKEY_free(w.key);
	X509_free(srv);
	X509_free(ca);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(ca_key);
	unlink(cert_path);
	unlink(key_path);
	rmdir(dir);
	return rc;
}
