/* sim_ade.c - MachineInfo and the ADE enrolment's answers. */
#include "sim_ade.h"
#include "ap_err.h"
#include "ap_machineinfo.h"
#include "sim_ddm_state.h"
#include "sim_device.h"
#include "sim_plist.h"
#include "sim_profile.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static X509 *read_cert(FILE *f)
{
	return PEM_read_X509(f, NULL, NULL, NULL);
}

/* The first certificate / the private key of a PEM file; NULL. */
static X509 *pem_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? read_cert(f) : NULL;
	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *pem_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return k;
}

void sim_ade_signer_free(struct sim_ade_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	sk_X509_pop_free(s->chain, X509_free);
	free(s);
}

/* The certificates of the chain file into s->chain. */
static int load_chain(const char *path, struct sim_ade_signer *s)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	if (f == NULL || (s->chain = sk_X509_new_null()) == NULL) {
		if (f)
			fclose(f);
		return AP_EIO;
	}
	while ((x = read_cert(f)) != NULL)
		if (sk_X509_push(s->chain, x) <= 0) {
			X509_free(x);
			break;
		}
	fclose(f);
	return sk_X509_num(s->chain) > 0 ? 0 : AP_EPARSE;
}

int sim_ade_signer_load(const struct sim_ade *a, struct sim_ade_signer **ret, char *err, size_t cap)
{
	struct sim_ade_signer *s = calloc(1, sizeof(*s));
	const char *path = sim_url_path(a->url);
	int rc = s ? 0 : AP_ENOMEM;
	if (rc == 0 && (path == NULL || strlen(path) >= sizeof(s->path))) {
		snprintf(err, cap, "--enroll-url wants https://HOST[:PORT]/PATH, not '%.100s'",
			 a->url);
		rc = AP_EINVAL;
	}
	if (rc == 0 && (s->cert = pem_cert(a->cert)) == NULL) {
		snprintf(err, cap, "%.200s: not a PEM certificate", a->cert);
		rc = AP_EPARSE;
	}
	if (rc == 0 && (s->key = pem_key(a->key)) == NULL) {
		snprintf(err, cap, "%.200s: not a PEM private key", a->key);
		rc = AP_EPARSE;
	}
	if (rc == 0 && a->chain[0] && load_chain(a->chain, s) < 0) {
		snprintf(err, cap, "%.200s: not PEM certificates", a->chain);
		rc = AP_EPARSE;
	}
	if (rc < 0) {
		sim_ade_signer_free(s);
		return rc;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	*ret = s;
	return 0;
}

int sim_ade_machineinfo(const struct sim_device *d, const struct sim_ade_signer *s,
			unsigned char **ret, size_t *ret_len)
{
	plist_t p = plist_new_dict();
	char *xml = NULL;
	size_t len = 0;
	sim_plist_set_str(p, "UDID", d->udid);
	sim_plist_set_str(p, "SERIAL", d->serial);
	sim_plist_set_str(p, "PRODUCT", d->model);
	sim_plist_set_str(p, "VERSION", d->build_version);
	sim_plist_set_str(p, "LANGUAGE", "fr");
	if (sim_ddm_version_cmp(d->os_version, "17.0") >= 0) { /* keys of iPadOS 17 */
		sim_plist_set_str(p, "OS_VERSION", d->os_version);
		sim_plist_set_bool(p, "MDM_CAN_REQUEST_SOFTWARE_UPDATE", 1);
	}
	int rc = sim_plist_to_xml(p, &xml, &len);
	if (rc == 0)
		rc = ap_machineinfo_sign(xml, len, s->cert, s->key, s->chain, ret, ret_len);
	free(xml);
	return rc;
}

int sim_ade_update_required(const char *body, size_t len, char *out, size_t cap)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *v =
	    json_string_value(json_object_get(json_object_get(j, "details"), "OSVersion"));
	int yes = code && v && strcmp(code, "com.apple.softwareupdate.required") == 0;
	if (yes)
		snprintf(out, cap, "%s", v);
	json_decref(j);
	return yes;
}
