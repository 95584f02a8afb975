/* sim_profile.c - profiles as an iPad reads them (plist or CMS-signed). */
#include "sim_profile.h"
#include "ap_err.h"
#include "ap_plist.h"

#include <openssl/cms.h>
#include <openssl/err.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A DER SEQUENCE (CMS ContentInfo) starts with 0x30; XML with '<' or a BOM. */
static int looks_der(const unsigned char *p, size_t len)
{
	return len > 2 && p[0] == 0x30;
}

/* The attached content of a signed profile, signature checked. */
static int unwrap_cms(const void *data, size_t len, X509_STORE *trust, unsigned char **ret,
		      size_t *ret_len)
{
	BIO *in = BIO_new_mem_buf(data, (int)len), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = NULL;
	int rc = AP_ENOMEM;

	if (in == NULL || out == NULL)
		goto out;
	rc = AP_EPARSE;
	if ((cms = d2i_CMS_bio(in, NULL)) == NULL)
		goto out;
	rc = AP_EBADSIG;
	unsigned flags = CMS_BINARY | (trust ? 0 : CMS_NO_SIGNER_CERT_VERIFY);
	if (CMS_verify(cms, NULL, trust, NULL, out, flags) != 1)
		goto out;
	char *p = NULL;
	long n = BIO_get_mem_data(out, &p);
	unsigned char *copy = malloc(n > 0 ? (size_t)n : 1);
	rc = AP_ENOMEM;
	if (copy == NULL)
		goto out;
	if (n > 0)
		memcpy(copy, p, (size_t)n);
	*ret = copy;
	*ret_len = n > 0 ? (size_t)n : 0;
	rc = 0;
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return rc;
}

int sim_profile_open(const void *data, size_t len, X509_STORE *trust, plist_t *ret, int *ret_signed)
{
	unsigned char *inner = NULL;
	size_t inner_len = 0;
	plist_t p = NULL;
	int rc, is_signed = 0;

	if (data == NULL || ret == NULL)
		return AP_EINVAL;
	if (len > SIM_PROFILE_MAX_BYTES || len > INT_MAX)
		return AP_ETOOBIG;
	if (looks_der(data, len)) {
		if ((rc = unwrap_cms(data, len, trust, &inner, &inner_len)) < 0)
			return rc;
		data = inner;
		len = inner_len;
		is_signed = 1;
	}
	rc = ap_plist_parse(data, len, SIM_PROFILE_MAX_BYTES, &p);
	free(inner);
	if (rc < 0)
		return rc;
	if (plist_get_node_type(p) != PLIST_DICT) {
		plist_free(p);
		return AP_ETYPE;
	}
	*ret = p;
	if (ret_signed)
		*ret_signed = is_signed;
	return 0;
}

void sim_profile_id_clear(struct sim_profile_id *p)
{
	if (p == NULL)
		return;
	free(p->identifier);
	free(p->uuid);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

int sim_profile_id(plist_t profile, struct sim_profile_id *ret)
{
	struct sim_profile_id id = {0};
	char *type = NULL;
	int rc;

	if ((rc = ap_dict_get_string(profile, "PayloadType", &type)) < 0)
		return rc;
	rc = strcmp(type, "Configuration") == 0 ? 0 : AP_EINVAL;
	free(type);
	if (rc < 0)
		return rc;
	if ((rc = ap_dict_get_string(profile, "PayloadIdentifier", &id.identifier)) < 0 ||
	    (rc = ap_dict_get_string(profile, "PayloadUUID", &id.uuid)) < 0)
		goto fail;
	rc = ap_dict_get_string(profile, "PayloadDisplayName", &id.name);
	if (rc == AP_EMISSING)
		rc = (id.name = strdup("")) ? 0 : AP_ENOMEM;
	if (rc < 0)
		goto fail;
	*ret = id;
	return 0;
fail:
	sim_profile_id_clear(&id);
	return rc;
}

/* Copies dict[key] (a string) into out[cap]. */
static int copy_str(plist_t dict, const char *key, char *out, size_t cap)
{
	char *s = NULL;
	int rc = ap_dict_get_string(dict, key, &s);

	if (rc < 0)
		return rc;
	size_t n = strlen(s);
	if (n >= cap) {
		free(s);
		return AP_ETOOBIG;
	}
	memcpy(out, s, n + 1);
	free(s);
	return 0;
}

/* The first payload of PayloadContent whose PayloadType is type. */
static plist_t find_payload(plist_t profile, const char *type)
{
	plist_t content = NULL;

	if (ap_dict_get_node(profile, "PayloadContent", PLIST_ARRAY, &content) < 0)
		return NULL;
	for (uint32_t i = 0; i < plist_array_get_size(content); i++) {
		plist_t p = plist_array_get_item(content, i);
		plist_t t = plist_get_node_type(p) == PLIST_DICT
				? plist_dict_get_item(p, "PayloadType")
				: NULL;
		if (t && plist_get_node_type(t) == PLIST_STRING &&
		    plist_string_val_compare(t, type) == 0)
			return p;
	}
	return NULL;
}

/* Subject [[["CN", value]], ...]: the value of the first CN pair. */
static void subject_cn(plist_t scep, char *out, size_t cap)
{
	plist_t subject = NULL;

	out[0] = '\0';
	if (ap_dict_get_node(scep, "Subject", PLIST_ARRAY, &subject) < 0)
		return;
	for (uint32_t i = 0; i < plist_array_get_size(subject); i++) {
		plist_t rdn = plist_array_get_item(subject, i);
		for (uint32_t j = 0; j < plist_array_get_size(rdn); j++) {
			plist_t pair = plist_array_get_item(rdn, j);
			plist_t k = plist_array_get_item(pair, 0),
				v = plist_array_get_item(pair, 1);
			if (k == NULL || v == NULL || plist_get_node_type(k) != PLIST_STRING ||
			    plist_get_node_type(v) != PLIST_STRING ||
			    plist_string_val_compare(k, "CN") != 0)
				continue;
			uint64_t n = 0;
			const char *s = plist_get_string_ptr(v, &n);
			if (s && n < cap) {
				memcpy(out, s, n);
				out[n] = '\0';
			}
			return;
		}
	}
}

static int scep_info(plist_t profile, struct sim_enroll_info *e)
{
	plist_t scep = find_payload(profile, "com.apple.security.scep"), pc = NULL;
	int64_t bits = 2048;
	int rc;

	if (scep == NULL || ap_dict_get_node(scep, "PayloadContent", PLIST_DICT, &pc) < 0)
		return AP_EMISSING;
	if ((rc = copy_str(pc, "URL", e->scep_url, sizeof(e->scep_url))) < 0 ||
	    (rc = copy_str(pc, "Challenge", e->challenge, sizeof(e->challenge))) < 0)
		return rc;
	rc = ap_dict_get_int(pc, "Keysize", &bits);
	if (rc < 0 && rc != AP_EMISSING)
		return rc;
	e->key_size = (int)bits;
	subject_cn(pc, e->subject_cn, sizeof(e->subject_cn));
	return 0;
}

static int mdm_info(plist_t profile, struct sim_enroll_info *e)
{
	plist_t mdm = find_payload(profile, "com.apple.mdm");
	int rc;

	if (mdm == NULL)
		return AP_EMISSING;
	if ((rc = copy_str(mdm, "ServerURL", e->server_url, sizeof(e->server_url))) < 0 ||
	    (rc = copy_str(mdm, "Topic", e->topic, sizeof(e->topic))) < 0)
		return rc;
	rc = copy_str(mdm, "CheckInURL", e->checkin_url, sizeof(e->checkin_url));
	if (rc == AP_EMISSING)
		memcpy(e->checkin_url, e->server_url, sizeof(e->checkin_url));
	else if (rc < 0)
		return rc;
	rc = ap_dict_get_bool(mdm, "SignMessage", &e->sign_message);
	return rc == AP_EMISSING ? 0 : rc;
}

int sim_profile_enroll_info(plist_t profile, struct sim_enroll_info *ret)
{
	struct sim_enroll_info *e = calloc(1, sizeof(*e));
	struct sim_profile_id id = {0};
	int rc = AP_ENOMEM;

	if (e == NULL)
		return rc;
	if ((rc = sim_profile_id(profile, &id)) < 0)
		goto out;
	if (strlen(id.identifier) >= sizeof(e->identifier) || strlen(id.uuid) >= sizeof(e->uuid) ||
	    strlen(id.name) >= sizeof(e->name)) {
		rc = AP_ETOOBIG;
		goto out;
	}
	memcpy(e->identifier, id.identifier, strlen(id.identifier) + 1);
	memcpy(e->uuid, id.uuid, strlen(id.uuid) + 1);
	memcpy(e->name, id.name, strlen(id.name) + 1);
	if ((rc = scep_info(profile, e)) < 0 || (rc = mdm_info(profile, e)) < 0)
		goto out;
	*ret = *e;
out:
	sim_profile_id_clear(&id);
	free(e);
	return rc;
}

const char *sim_url_path(const char *url)
{
	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return NULL;
	const char *slash = strchr(url + 8, '/');
	return slash ? slash : "/";
}
