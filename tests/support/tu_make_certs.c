/*
 * tu-make-certs DIR [TOPIC] [DAYS] - the test PKI of tu_pki.c as files, for
 * the APNs stand-in and the push tests: ca.pem/ca.key (test CA),
 * server.pem/server.key (the stand-in, SAN IP:127.0.0.1 and
 * DNS:localhost), push.pem/push.key (an MDM push certificate: RSA 2048,
 * subject UID=TOPIC, clientAuth, valid DAYS).  Keys 0600, certificates
 * 0644.  Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tu_pki.h"

/* The three pairs under dir; returns 0 or -1. */
static int make(const char *dir, const char *topic, long days)
{
	EVP_PKEY *ca_key = tu_key("ec"), *srv_key = tu_key("ec"), *push_key = tu_key("rsa");
	struct tu_cert_spec ca_spec = {.cn = "Ardoise test APNs CA",
				       .key = ca_key,
				       .kind = TU_CERT_CA,
				       .from_s = -3600,
				       .to_s = 86400L * 3650};
	X509 *ca = tu_cert_new(&ca_spec);
	struct tu_cert_spec srv_spec = {.cn = "localhost",
					.key = srv_key,
					.issuer = ca,
					.issuer_key = ca_key,
					.kind = TU_CERT_SERVER,
					.from_s = -3600,
					.to_s = 86400L * 3650,
					.san = "IP:127.0.0.1,DNS:localhost"};
	struct tu_cert_spec push_spec = {.cn = "APSP:ardoise-test",
					 .uid = topic,
					 .key = push_key,
					 .issuer = ca,
					 .issuer_key = ca_key,
					 .kind = TU_CERT_CLIENT,
					 .from_s = -3600,
					 .to_s = 86400L * days};
	X509 *srv = ca ? tu_cert_new(&srv_spec) : NULL;
	X509 *push = ca ? tu_cert_new(&push_spec) : NULL;
	int rc = srv && push && !tu_write_pem_in(dir, "ca.pem", ca, NULL, NULL, 0644) &&
			 !tu_write_pem_in(dir, "ca.key", NULL, ca_key, NULL, 0600) &&
			 !tu_write_pem_in(dir, "server.pem", srv, NULL, NULL, 0644) &&
			 !tu_write_pem_in(dir, "server.key", NULL, srv_key, NULL, 0600) &&
			 !tu_write_pem_in(dir, "push.pem", push, NULL, NULL, 0644) &&
			 !tu_write_pem_in(dir, "push.key", NULL, push_key, NULL, 0600)
		     ? 0
		     : -1;
	X509_free(ca);
	X509_free(srv);
	X509_free(push);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(push_key);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: tu-make-certs DIR [TOPIC] [DAYS]\n");
		return 1;
	}
	const char *topic = argc > 2 ? argv[2] : "com.apple.mgmt.External.ardoise-test";
	long days = argc > 3 ? strtol(argv[3], NULL, 10) : 365;
	if ((mkdir(argv[1], 0755) != 0 && errno != EEXIST) || days < 1 ||
	    make(argv[1], topic, days) != 0) {
		fprintf(stderr, "tu-make-certs: cannot write the test PKI under %s\n", argv[1]);
		return 1;
	}
	return 0;
}
