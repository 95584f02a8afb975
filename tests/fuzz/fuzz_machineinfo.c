/*
 * fuzz_machineinfo.c - libFuzzer target for the signed MachineInfo of an
 * ADE enrolment (ap_machineinfo): the input is the POST body, checked
 * against the root of corpus/machineinfo (a stand-in "Apple Inc. Root CA"
 * made by ade_standin.MachineInfoSigner; its key was thrown away), so the
 * corpus's good signatures reach the plist; the input is also parsed as a
 * bare plist.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ap_machineinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char corpus_root[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDnjCCAoagAwIBAgIUWW+wad1uNlK0JmZTaEINTLEFev4wDQYJKoZIhvcNAQEL\n"
    "BQAwZzELMAkGA1UEBhMCVVMxEzARBgNVBAoMCkFwcGxlIEluYy4xJjAkBgNVBAsM\n"
    "HUFwcGxlIENlcnRpZmljYXRpb24gQXV0aG9yaXR5MRswGQYDVQQDDBJBcHBsZSBJ\n"
    "bmMuIFJvb3QgQ0EwHhcNMjYxMjAzMDQzMzAzWhcNNDYxMTI4MDQzMzAzWjBnMQsw\n"
    "CQYDVQQGEwJVUzETMBEGA1UECgwKQXBwbGUgSW5jLjEmMCQGA1UECwwdQXBwbGUg\n"
    "Q2VydGlmaWNhdGlvbiBBdXRob3JpdHkxGzAZBgNVBAMMEkFwcGxlIEluYy4gUm9v\n"
    "dCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKkJgQMJMZdw5MqH\n"
    "eSqMoNk2e8zfy/0JiJhyeYhyJXltHcYttLfWjuBLtCJjX4PCV0lDIficlmksHtdm\n"
    "MqQAYxqtTaHRs4NWvw01rEoo0GV0k9aHkCtOeRUI8nWIZ5qLsWKTdtJ9UpcVQZkv\n"
    "E3Ir1UWvp6T9oACJDyk2S6Cm8WMf6ocs0x3ip9eX+aM8pwi2rtd2KJxSjc/Yn7xx\n"
    "0Khmz7srjZDx0+hmYewfpsq6IKxymz9ZIcdqXx3nf0Bnl9d6GJqJtg5M9gPflWbi\n"
    "JpX3yMBpFXqquBpXF7rL6WxhhJnox4LoTTueyl0OzymF5PN1tRHe2uC3DsPNfz12\n"
    "7vt2ctUCAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw\n"
    "HQYDVR0OBBYEFP/VuINNs7Fz4ZrWHZ2HZQwliobGMA0GCSqGSIb3DQEBCwUAA4IB\n"
    "AQAV22r1B/fO9UFfYaPCzJa+jYO1WOKT8OXZUQ8YiU4hqMlBwny5bELL68q0zSKO\n"
    "eDkGyziON2PNGmimYVtt5BploSfA/r3Lw+vbsfxHnmX98nQwdzR6h44RBpkeGsWH\n"
    "9Dk8WDHKkgdlVqiOUt+GkxQn+bvB4ysD06ZP3OIVSOY0KLX2yedYsv2ZF/mENfWX\n"
    "WClNTvjIQcpOoWROzemx9tMsJ9lP001AVdjSrlx4WDuCiQhwgNcGnsjvoRk/k41Q\n"
    "7aUaEzKIjrB/d6Aftu6ZVOlgYsuD1yGvmO+opXQ1UNli6vm9OS+XMwcSaF2okcFf\n"
    "w/un3Ft9BUZAvX6AWmF2Ng5/\n"
    "-----END CERTIFICATE-----\n";

static X509_STORE *anchors(void)
{
	static X509_STORE *store;

	if (store != NULL)
		return store;
	BIO *bio = BIO_new_mem_buf(corpus_root, (int)sizeof(corpus_root) - 1);
	X509 *root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	store = X509_STORE_new();
	if (root == NULL || store == NULL || X509_STORE_add_cert(store, root) != 1)
		abort(); /* a broken harness, not a finding */
	X509_free(root);
	BIO_free(bio);
	return store;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_machineinfo mi;

	ap_machineinfo_open(data, size, anchors(), &mi);
	ap_machineinfo_parse(data, size, &mi);
	return 0;
}
