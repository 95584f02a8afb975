/*
 * gen_scep_corpus.c - writes the seed corpus of fuzz_scep.c into a directory:
 * valid PKCSReqs to the RSA test CA with AES-128, AES-256, DES3 and DES, to
 * the EC test CA with AES-128, AES-256 and DES3, truncated requests, a
 * FAILURE CertRep, random bytes and an empty file.
 *
 * A tool run by hand, not a test (it writes files).  From the source root:
 *   cc -Iagent-protocol tests/fuzz/gen_scep_corpus.c agent-protocol/ap_scep.c \
 *     agent-protocol/ap_x509.c agent-protocol/ap_err.c -lcrypto -lpthread \
 *     -o /tmp/gen_scep_corpus && /tmp/gen_scep_corpus tests/fuzz/corpus/scep
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ap_scep.h"
#include "ap_x509.h"
#include "scep_test_ca.h"

static const char *dir;

static void put(const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "gen_scep_corpus: %s: %d\n", what, rc);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_scep_corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	X509 *rsa_ca = NULL, *ec_ca = NULL, *ss = NULL;
	EVP_PKEY *rsa_key = NULL, *ec_key = NULL, *dev = NULL;
	must(ap_x509_from_pem(scep_test_rsa_ca_cert, strlen(scep_test_rsa_ca_cert), &rsa_ca), "ca");
	must(ap_pkey_from_pem(scep_test_rsa_ca_key, strlen(scep_test_rsa_ca_key), &rsa_key), "ca");
	must(ap_x509_from_pem(scep_test_ec_ca_cert, strlen(scep_test_ec_ca_cert), &ec_ca), "ca");
	must(ap_pkey_from_pem(scep_test_ec_ca_key, strlen(scep_test_ec_ca_key), &ec_key), "ca");
	must(ap_x509_new_rsa_key(2048, &dev), "device key");

	static const struct {
		const char *name;
		int ec;
		enum ap_scep_cipher c;
	} reqs[] = {
	    {"req-rsa-aes128.der", 0, AP_SCEP_AES128}, {"req-rsa-aes256.der", 0, AP_SCEP_AES256},
	    {"req-rsa-des3.der", 0, AP_SCEP_DES3},     {"req-rsa-des.der", 0, AP_SCEP_DES},
	    {"req-ec-aes128.der", 1, AP_SCEP_AES128},  {"req-ec-aes256.der", 1, AP_SCEP_AES256},
	    {"req-ec-des3.der", 1, AP_SCEP_DES3},
	};
	unsigned char *der = NULL;
	size_t len = 0;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		X509_free(ss);
		free(der);
		must(ap_scep_client_request(dev, "fuzz-device", "fuzz-challenge",
					    reqs[i].ec ? ec_ca : rsa_ca, reqs[i].c, &der, &len,
					    &ss),
		     reqs[i].name);
		put(reqs[i].name, der, len);
	}
	put("truncated-half.der", der, len / 2);
	put("truncated-minus1.der", der, len - 1);

	struct ap_scep_req *r = NULL;
	unsigned char *rep = NULL;
	size_t rep_len = 0;
	must(ap_scep_req_parse(der, len, ec_ca, ec_key, &r), "parse");
	must(ap_scep_certrep_failure(r, AP_SCEP_BADREQUEST, ec_ca, ec_key, &rep, &rep_len), "rep");
	put("certrep-failure.der", rep, rep_len);

	unsigned char junk[512];
	must(RAND_bytes(junk, sizeof(junk)) == 1 ? 0 : -1, "random");
	put("garbage.bin", junk, sizeof(junk));
	put("empty", "", 0);

	free(rep);
	ap_scep_req_free(r);
	free(der);
	X509_free(ss);
	X509_free(rsa_ca);
	X509_free(ec_ca);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(dev);
	return 0;
}
