/*
 * fuzz_scep.c - libFuzzer target for the SCEP server-side parser.
 *
 * Each input is offered to ap_scep_req_parse() as a pkiMessage for two fixed
 * test CAs (RSA: key transport, EC: key agreement; scep_test_ca.h), so the
 * corpus' valid requests reach decryption and CSR parsing.  A request that
 * parses is answered with a FAILURE CertRep, and the input is also read as
 * a CertRep by ap_scep_client_response() with the RSA CA as the "device".
 * The CAs are loaded once, on the first call.
 *
 * Build for real fuzzing (clang, libFuzzer), from the source root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iagent-protocol \
 *     tests/fuzz/fuzz_scep.c agent-protocol/ap_scep.c agent-protocol/ap_x509.c \
 *     agent-protocol/ap_err.c -lcrypto -lpthread -o fuzz_scep
 *   ./fuzz_scep -max_len=65536 tests/fuzz/corpus/scep
 * or link it with the corpus replay driver (tests/fuzz/replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_scep.h"
#include "ap_x509.h"
#include "scep_test_ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct test_ca {
	X509 *cert;
	EVP_PKEY *key;
};

static struct test_ca cas[2];

static void load(struct test_ca *ca, const char *cert, const char *key)
{
	if (ap_x509_from_pem(cert, strlen(cert), &ca->cert) != 0 ||
	    ap_pkey_from_pem(key, strlen(key), &ca->key) != 0)
		abort(); /* the embedded test CA is broken: not an input problem */
}

static void as_request(const uint8_t *data, size_t size, const struct test_ca *ca)
{
	struct ap_scep_req *r = NULL;
	if (ap_scep_req_parse(data, size, ca->cert, ca->key, &r) != 0)
		return;
	/* touch everything a parsed request promises */
	size_t n = strlen(ap_scep_req_transaction_id(r));
	const char *challenge = ap_scep_req_challenge(r);
	if (challenge != NULL)
		n += strlen(challenge);
	if (ap_scep_req_csr(r) == NULL || ap_scep_req_signer(r) == NULL || n == 0)
		abort();
	(void)ap_scep_req_signer_issued_by(r, ca->cert);
	unsigned char *out = NULL;
	size_t out_len = 0;
	if (ap_scep_certrep_failure(r, AP_SCEP_BADREQUEST, ca->cert, ca->key, &out, &out_len) == 0)
		free(out);
	ap_scep_req_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int loaded;
	if (!loaded) {
		load(&cas[0], scep_test_rsa_ca_cert, scep_test_rsa_ca_key);
		load(&cas[1], scep_test_ec_ca_cert, scep_test_ec_ca_key);
		loaded = 1;
	}
	for (size_t i = 0; i < sizeof(cas) / sizeof(cas[0]); i++)
		as_request(data, size, &cas[i]);
	X509 *cert = NULL;
	int fi;
	int rc =
	    ap_scep_client_response(data, size, cas[1].cert, cas[0].key, cas[0].cert, &cert, &fi);
	if (rc == 0)
		X509_free(cert);
	return 0;
}
