/*
 * fuzz_cms.c - libFuzzer target for the Mdm-Signature header check.  The
 * input is "<header>\n<body>": everything before the first newline is the
 * header value, the rest the signed body.  The trust store holds the CA of
 * the corpus, so its valid signatures go all the way through.  The same
 * input then goes through the connection's signer cache (one cache for the
 * whole run, as a long connection seeing every input), twice: the outcome
 * and the signer must be those of the check without the cache.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ap_cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The CA that signed the device certificates of corpus/cms (its key was
 * thrown away after making the corpus; valid until 2126). */
static const char corpus_ca[] = "-----BEGIN CERTIFICATE-----\n"
				"MIIBqTCCAU+gAwIBAgIUNp6sN+kVPWxD3Ad5zi+r5x0Ii+MwCgYIKoZIzj0EAwIw\n"
				"ITEfMB0GA1UEAwwWQXJkb2lzZSBmdXp6IGNvcnB1cyBDQTAgFw0yNjExMjQwMzMw\n"
				"MTdaGA8yMTI2MTAzMTAzMzAxN1owITEfMB0GA1UEAwwWQXJkb2lzZSBmdXp6IGNv\n"
				"cnB1cyBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDjAz4wWILPzJVGqQv03\n"
				"mH8TslvHQebPJyD/amN8TK3+27mGpvNE6r5rj2y6Bq0dSv7gL2Kf2tVxZHcEgCBi\n"
				"pCOjYzBhMB0GA1UdDgQWBBSmtK57T7w1c219ao2AQFOu9+Yl5zAfBgNVHSMEGDAW\n"
				"gBSmtK57T7w1c219ao2AQFOu9+Yl5zAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n"
				"/wQEAwICBDAKBggqhkjOPQQDAgNIADBFAiAw4EP6aU2Y62NVekaoHte2b035fgdQ\n"
				"o7Pzvo6iWG+X7gIhAKNecDqEi/xv17YAzZzJ1AHRgZQdBEWK5YbRvrf/f2FJ\n"
				"-----END CERTIFICATE-----\n";

static X509_STORE *trust(void)
{
	static X509_STORE *store;

	if (store != NULL)
		return store;
	BIO *bio = BIO_new_mem_buf(corpus_ca, (int)sizeof(corpus_ca) - 1);
	X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	store = X509_STORE_new();
	if (ca == NULL || store == NULL || X509_STORE_add_cert(store, ca) != 1)
		abort(); /* a broken harness, not a finding */
	X509_free(ca);
	BIO_free(bio);
	return store;
}

/* Aborts (a finding) when the cache changes what the message proves. */
static void cached_as_plain(const char *header, const uint8_t *body, size_t blen)
{
	static struct ap_cms_signer_cache *cache;
	X509 *signer = NULL;
	STACK_OF(X509) *certs = NULL;
	struct ap_cms_signer s;

	if (cache == NULL && (cache = ap_cms_signer_cache_new()) == NULL)
		abort();
	int rc = ap_cms_verify_signature(header, body, blen, &signer, &certs);
	for (int i = 0; i < 2; i++) {
		if (ap_cms_verify_signature_cached(cache, header, body, blen, &s) != rc ||
		    (rc == 0 && X509_cmp(s.cert, signer) != 0))
			abort();
	}
	X509_free(signer);
	sk_X509_pop_free(certs, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *header = malloc(hlen + 1);
	X509 *signer = NULL;

	if (header == NULL)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = nl ? size - hlen - 1 : 0;
	if (ap_cms_verify_detached(header, body, blen, trust(), &signer) == 0)
		X509_free(signer);
	cached_as_plain(header, body, blen);
	free(header);
	return 0;
}
