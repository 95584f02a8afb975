/* ap_enroll.c - the enrolment profile. */
#include "ap_enroll.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "ap_uuid.h"

#include <openssl/x509.h>
#include <plist/plist.h>

#include <stdlib.h>
#include <string.h>

#define ACCESS_RIGHTS_ALL 8191

static int text_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && ap_plist_text_ok(s, strlen(s));
}

static int has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 && s[n] != '\0';
}

static int ca_ok(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;

	if (der == NULL || len == 0 || len > 65536)
		return 0;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int ok = x != NULL && p == der + len;
	X509_free(x);
	return ok;
}

static int params_ok(const struct ap_enroll_params *p)
{
	const char *const required[] = {p->server_url, p->checkin_url,	  p->topic,
					p->scep_url,   p->scep_challenge, p->scep_subject_cn,
					p->identifier, p->uuid_seed};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!text_ok(required[i]))
			return 0;
	if (p->organization != NULL && !text_ok(p->organization))
		return 0;
	return has_prefix(p->server_url, "https://") && has_prefix(p->checkin_url, "https://") &&
	       has_prefix(p->scep_url, "https://") && has_prefix(p->topic, "com.apple.mgmt.") &&
	       ca_ok(p->ca_der, p->ca_der_len);
}

static void set_str(plist_t d, const char *key, const char *val)
{
	plist_dict_set_item(d, key, plist_new_string(val));
}

/* PayloadType/Version/Identifier/UUID (+ organization) of one payload. */
static plist_t payload(const struct ap_enroll_params *p, const char *type, const char *suffix,
		       const char *display, char uuid[37])
{
	size_t n = strlen(p->identifier) + strlen(suffix) + 1;
	char *ident = malloc(n);
	plist_t d = plist_new_dict();

	if (ident == NULL || d == NULL) {
		free(ident);
		plist_free(d);
		return NULL;
	}
	memcpy(ident, p->identifier, strlen(p->identifier));
	memcpy(ident + strlen(p->identifier), suffix, strlen(suffix) + 1);
	ap_uuid_from_seed(p->uuid_seed, type, uuid);
	set_str(d, "PayloadType", type);
	plist_dict_set_item(d, "PayloadVersion", plist_new_uint(1));
	set_str(d, "PayloadIdentifier", ident);
	set_str(d, "PayloadUUID", uuid);
	set_str(d, "PayloadDisplayName", display);
	if (p->organization)
		set_str(d, "PayloadOrganization", p->organization);
	free(ident);
	return d;
}

static plist_t root_payload(const struct ap_enroll_params *p, char uuid[37])
{
	plist_t d = payload(p, "com.apple.security.root", ".ca", "Ardoise root CA", uuid);

	if (d == NULL)
		return NULL;
	set_str(d, "PayloadCertificateFileName", "ardoise-ca.cer");
	plist_dict_set_item(d, "PayloadContent",
			    plist_new_data((const char *)p->ca_der, p->ca_der_len));
	return d;
}

/* Subject [[["CN", cn]]] */
static plist_t subject(const char *cn)
{
	plist_t pair = plist_new_array(), rdn = plist_new_array(), name = plist_new_array();

	plist_array_append_item(pair, plist_new_string("CN"));
	plist_array_append_item(pair, plist_new_string(cn));
	plist_array_append_item(rdn, pair);
	plist_array_append_item(name, rdn);
	return name;
}

static plist_t scep_payload(const struct ap_enroll_params *p, char uuid[37])
{
	plist_t d = payload(p, "com.apple.security.scep", ".scep", "Ardoise device identity", uuid);
	plist_t c = plist_new_dict();

	if (d == NULL || c == NULL) {
		plist_free(d);
		plist_free(c);
		return NULL;
	}
	set_str(c, "URL", p->scep_url);
	set_str(c, "Name", "Ardoise");
	plist_dict_set_item(c, "Subject", subject(p->scep_subject_cn));
	set_str(c, "Challenge", p->scep_challenge);
	plist_dict_set_item(c, "Keysize", plist_new_uint(2048));
	set_str(c, "Key Type", "RSA");
	plist_dict_set_item(c, "Key Usage", plist_new_uint(5));
	plist_dict_set_item(c, "KeyIsExtractable", plist_new_bool(0));
	plist_dict_set_item(d, "PayloadContent", c);
	return d;
}

static plist_t mdm_payload(const struct ap_enroll_params *p, const char *identity_uuid,
			   char uuid[37])
{
	plist_t d = payload(p, "com.apple.mdm", ".mdm", "Ardoise MDM", uuid);

	if (d == NULL)
		return NULL;
	set_str(d, "IdentityCertificateUUID", identity_uuid);
	set_str(d, "Topic", p->topic);
	set_str(d, "ServerURL", p->server_url);
	set_str(d, "CheckInURL", p->checkin_url);
	plist_dict_set_item(d, "SignMessage", plist_new_bool(1));
	plist_dict_set_item(d, "AccessRights", plist_new_uint(ACCESS_RIGHTS_ALL));
	plist_dict_set_item(d, "CheckOutWhenRemoved", plist_new_bool(1));
	return d;
}

static plist_t profile(const struct ap_enroll_params *p)
{
	char top_uuid[37], ca_uuid[37], scep_uuid[37], mdm_uuid[37];
	plist_t top = plist_new_dict(), content = plist_new_array();
	plist_t ca = root_payload(p, ca_uuid);
	plist_t scep = scep_payload(p, scep_uuid);
	plist_t mdm = mdm_payload(p, scep_uuid, mdm_uuid);

	if (top == NULL || content == NULL || ca == NULL || scep == NULL || mdm == NULL) {
		plist_free(top);
		plist_free(content);
		plist_free(ca);
		plist_free(scep);
		plist_free(mdm);
		return NULL;
	}
	ap_uuid_from_seed(p->uuid_seed, "Configuration", top_uuid);
	set_str(top, "PayloadType", "Configuration");
	plist_dict_set_item(top, "PayloadVersion", plist_new_uint(1));
	set_str(top, "PayloadIdentifier", p->identifier);
	set_str(top, "PayloadUUID", top_uuid);
	set_str(top, "PayloadDisplayName", "Ardoise MDM");
	set_str(top, "PayloadDescription", "Inscription de la tablette au MDM Ardoise");
	if (p->organization)
		set_str(top, "PayloadOrganization", p->organization);
	plist_array_append_item(content, ca);
	plist_array_append_item(content, scep);
	plist_array_append_item(content, mdm);
	plist_dict_set_item(top, "PayloadContent", content);
	return top;
}

int ap_enroll_profile_build(const struct ap_enroll_params *p, char **ret_xml, size_t *ret_len)
{
	if (p == NULL || ret_xml == NULL || !params_ok(p))
		return AP_EINVAL;
	plist_t top = profile(p);
	if (top == NULL)
		return AP_ENOMEM;
	int rc = ap_plist_to_xml(top, ret_xml, ret_len);
	plist_free(top);
	return rc;
}
