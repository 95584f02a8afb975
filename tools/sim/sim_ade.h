/*
 * sim_ade.h - the simulated iPad as a tablet assigned through Automated
 * Device Enrolment (docs/apple-services.md §2.7): its MachineInfo signed
 * with the signer given (the stand-in of Apple's device attestation:
 * tests/integration/ade_standin.py MachineInfoSigner), POSTed to the ADE
 * enrolment URL, and the 403 that asks for an update first.
 *
 * A device that came through ADE carries a struct sim_ade (sim_device.h)
 * saved in the state file: it enrols again through ADE by itself after an
 * erase (ardoise-sim connect).
 */
#ifndef SIM_ADE_H
#define SIM_ADE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stddef.h>

struct sim_device;

/* Where and with what a device enrols through ADE; its last refusal. */
struct sim_ade {
	char url[512];			      /* the enrolment URL, https://host:port/path */
	char cert[512], key[512], chain[512]; /* the signer's PEM files; chain "" when none */
	char refusal[160];		      /* "update required to 17.4", "" when enrolled */
};

/* The signer, loaded once for a run. */
struct sim_ade_signer {
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* NULL when none */
	char path[512];		/* the URL's path, what the device POSTs to */
};

/* Loads the signer of a (files named there); err says what failed. */
int sim_ade_signer_load(const struct sim_ade *a, struct sim_ade_signer **ret, char *err,
			size_t cap);
void sim_ade_signer_free(struct sim_ade_signer *s);

/* The device's MachineInfo (UDID, SERIAL, PRODUCT, VERSION, OS_VERSION,
 * LANGUAGE fr, MDM_CAN_REQUEST_SOFTWARE_UPDATE from iPadOS 17) signed by
 * s: *ret malloc'd DER. */
int sim_ade_machineinfo(const struct sim_device *d, const struct sim_ade_signer *s,
			unsigned char **ret, size_t *ret_len);

/* 1 with Apple's details.OSVersion into out when body (a 403's) is a
 * com.apple.softwareupdate.required error, else 0. */
int sim_ade_update_required(const char *body, size_t len, char *out, size_t cap);

#endif
