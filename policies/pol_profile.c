/* pol_profile.c - .mobileconfig validation, content hash, bytes to send. */
#include "pol_profile.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "ap_uuid.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <plist/plist.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From the files of spec/apple-device-management/mdm/profiles (payload.payloadtype
 * and supportedOS.iOS.multiple / supervised). */
static const struct pol_payload_type types[] = {
    {"com.apple.airprint", 1, 0, 1, "AirPrint printers"},
    {"com.apple.app.lock", 0, 1, 1, "single-app mode"},
    {"com.apple.applicationaccess", 1, 0, 1, "restrictions"},
    {"com.apple.dnsSettings.managed", 1, 0, 1, "encrypted DNS"},
    {"com.apple.education", 0, 0, 1, "Classroom configuration"},
    {"com.apple.homescreenlayout", 0, 1, 1, "home screen layout"},
    {"com.apple.mdm", 0, 0, 0, "MDM enrolment (only in the enrolment profile)"},
    {"com.apple.mobiledevice.passwordpolicy", 1, 0, 1, "passcode policy"},
    {"com.apple.notificationsettings", 0, 1, 1, "notification settings"},
    {"com.apple.profileRemovalPassword", 0, 1, 1, "profile removal password"},
    {"com.apple.proxy.http.global", 0, 1, 1, "global HTTP proxy"},
    {"com.apple.security.pem", 1, 0, 1, "certificate (PEM)"},
    {"com.apple.security.pkcs1", 1, 0, 1, "certificate (PKCS #1)"},
    {"com.apple.security.pkcs12", 1, 0, 1, "identity (PKCS #12)"},
    {"com.apple.security.root", 1, 0, 1, "root certificate"},
    {"com.apple.security.scep", 1, 0, 1, "SCEP identity"},
    {"com.apple.shareddeviceconfiguration", 0, 1, 1, "lock-screen message"},
    {"com.apple.webClip.managed", 1, 0, 1, "web clip"},
    {"com.apple.webcontent-filter", 1, 0, 1, "web content filter"},
    {"com.apple.wifi.managed", 1, 0, 1, "Wi-Fi network"},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

const struct pol_payload_type *pol_profile_payload_type(const char *type)
{
	for (size_t i = 0; type && i < NTYPES; i++)
		if (strcmp(types[i].type, type) == 0)
			return &types[i];
	return NULL;
}

const struct pol_payload_type *pol_profile_payload_type_at(size_t i)
{
	return i < NTYPES ? &types[i] : NULL;
}

int pol_profile_identifier_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > POL_IDENTIFIER_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int fail(int rc, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *detail, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (detail && cap) {
		va_start(ap, fmt);
		vsnprintf(detail, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The XML inside a CMS SignedData; the signature must verify against the
 * certificate it carries (NOVERIFY: who signed is not judged here). */
static int unwrap(const unsigned char *der, size_t len, char **ret, size_t *ret_len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *out = NULL;
	int rc = AP_EPARSE;
	if (cms == NULL || p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		goto out;
	if ((out = BIO_new(BIO_s_mem())) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, out, CMS_NOVERIFY | CMS_BINARY) != 1) {
		rc = AP_EBADSIG;
		goto out;
	}
	char *data = NULL;
	long n = BIO_get_mem_data(out, &data);
	char *copy = malloc((size_t)n + 1);
	if (copy == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*ret = copy;
	*ret_len = (size_t)n;
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* 1 when the bytes look like DER (a SEQUENCE), not text. */
static int looks_der(const unsigned char *d, size_t len)
{
	return len > 2 && d[0] == 0x30;
}

/* String value of key in dict: borrowed pointer, NULL when absent.
 * AP_ETYPE when present with another type; AP_EINVAL when empty. */
static int str_at(plist_t dict, const char *key, const char **ret)
{
	plist_t v = plist_dict_get_item(dict, key);
	*ret = NULL;
	if (v == NULL)
		return 0;
	if (plist_get_node_type(v) != PLIST_STRING)
		return AP_ETYPE;
	uint64_t n = 0;
	const char *s = plist_get_string_ptr(v, &n);
	if (s == NULL || n == 0)
		return AP_EINVAL;
	*ret = s;
	return 0;
}

/* A required non-empty string; detail names where. */
static int need_str(plist_t dict, const char *key, const char *where, const char **ret,
		    char *detail, size_t cap)
{
	int rc = str_at(dict, key, ret);
	if (rc == AP_ETYPE)
		return fail(rc, detail, cap, "%s: %s must be a string", where, key);
	if (rc == AP_EINVAL)
		return fail(rc, detail, cap, "%s: %s is empty", where, key);
	if (*ret == NULL)
		return fail(AP_EMISSING, detail, cap, "%s: %s is missing", where, key);
	return 0;
}

static int need_version(plist_t dict, const char *where, char *detail, size_t cap)
{
	plist_t v = plist_dict_get_item(dict, "PayloadVersion");
	uint64_t n = 0;
	if (v == NULL)
		return fail(AP_EMISSING, detail, cap, "%s: PayloadVersion is missing", where);
	if (plist_get_node_type(v) != PLIST_UINT)
		return fail(AP_ETYPE, detail, cap, "%s: PayloadVersion must be an integer", where);
	plist_get_uint_val(v, &n);
	if (n != 1)
		return fail(AP_EINVAL, detail, cap, "%s: PayloadVersion must be 1", where);
	return 0;
}

/* Identifiers and UUIDs met so far, to refuse duplicates (borrowed). */
struct seen {
	const char *ids[POL_PROFILE_MAX_PAYLOADS + 1];
	const char *uuids[POL_PROFILE_MAX_PAYLOADS + 1];
	const char *single[POL_PROFILE_MAX_PAYLOADS + 1]; /* one-per-device types */
	size_t n, n_single;
};

static int seen_has(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static int remember(struct seen *s, const char *id, const char *uuid, const char *where,
		    char *detail, size_t cap)
{
	if (seen_has(s->ids, s->n, id))
		return fail(AP_EINVAL, detail, cap, "%s: PayloadIdentifier '%s' is used twice",
			    where, id);
	if (seen_has(s->uuids, s->n, uuid))
		return fail(AP_EINVAL, detail, cap, "%s: PayloadUUID '%s' is used twice", where,
			    uuid);
	s->ids[s->n] = id;
	s->uuids[s->n++] = uuid;
	return 0;
}

/* One payload dictionary of PayloadContent. */
static int check_payload(plist_t pl, size_t i, struct seen *s, struct pol_profile *p, char *detail,
			 size_t cap)
{
	char where[96];
	const char *type, *id, *uuid;
	int rc;
	snprintf(where, sizeof(where), "PayloadContent[%zu]", i);
	if (plist_get_node_type(pl) != PLIST_DICT)
		return fail(AP_ETYPE, detail, cap, "%s must be a dictionary", where);
	if ((rc = need_str(pl, "PayloadType", where, &type, detail, cap)) < 0)
		return rc;
	const struct pol_payload_type *t = pol_profile_payload_type(type);
	if (t == NULL)
		return fail(AP_EUNSUPPORTED, detail, cap, "%s: unknown PayloadType '%.80s'", where,
			    type);
	if (!t->allowed)
		return fail(AP_EUNSUPPORTED, detail, cap, "%s: %s payloads have no place here: %s",
			    where, type, t->what);
	snprintf(where, sizeof(where), "PayloadContent[%zu] (%s)", i, type);
	if ((rc = need_version(pl, where, detail, cap)) < 0 ||
	    (rc = need_str(pl, "PayloadIdentifier", where, &id, detail, cap)) < 0 ||
	    (rc = need_str(pl, "PayloadUUID", where, &uuid, detail, cap)) < 0 ||
	    (rc = remember(s, id, uuid, where, detail, cap)) < 0)
		return rc;
	if (!t->multiple) {
		if (seen_has(s->single, s->n_single, type))
			return fail(AP_EINVAL, detail, cap,
				    "%s: a device holds one %s payload only; this profile has two",
				    where, type);
		s->single[s->n_single++] = t->type;
	}
	if ((p->payload_types[i] = strdup(type)) == NULL)
		return AP_ENOMEM;
	return 0;
}

static int check_payloads(plist_t root, struct seen *s, struct pol_profile *p, char *detail,
			  size_t cap)
{
	plist_t content = plist_dict_get_item(root, "PayloadContent");
	if (content == NULL)
		return fail(AP_EMISSING, detail, cap, "PayloadContent is missing");
	if (plist_get_node_type(content) != PLIST_ARRAY)
		return fail(AP_ETYPE, detail, cap, "PayloadContent must be an array");
	uint32_t n = plist_array_get_size(content);
	if (n == 0)
		return fail(AP_EMISSING, detail, cap, "PayloadContent holds no payload");
	if (n > POL_PROFILE_MAX_PAYLOADS)
		return fail(AP_ETOOBIG, detail, cap, "more than %d payloads",
			    POL_PROFILE_MAX_PAYLOADS);
	if ((p->payload_types = calloc(n, sizeof(char *))) == NULL)
		return AP_ENOMEM;
	p->n_payloads = n;
	for (uint32_t i = 0; i < n; i++) {
		int rc = check_payload(plist_array_get_item(content, i), i, s, p, detail, cap);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int dup_opt(plist_t root, const char *key, char **ret, char *detail, size_t cap)
{
	const char *s = NULL;
	int rc = str_at(root, key, &s);
	if (rc == AP_ETYPE)
		return fail(rc, detail, cap, "%s must be a string", key);
	*ret = strdup(s ? s : "");
	return *ret ? 0 : AP_ENOMEM;
}

static int check_top(plist_t root, struct seen *s, struct pol_profile *p, char *detail, size_t cap)
{
	const char *type, *id, *uuid;
	int rc;
	if (plist_get_node_type(root) != PLIST_DICT)
		return fail(AP_ETYPE, detail, cap, "a profile is a dictionary");
	if ((rc = need_str(root, "PayloadType", "profile", &type, detail, cap)) < 0)
		return rc;
	if (strcmp(type, "Configuration") != 0)
		return fail(AP_EINVAL, detail, cap, "PayloadType must be 'Configuration'");
	if ((rc = need_version(root, "profile", detail, cap)) < 0 ||
	    (rc = need_str(root, "PayloadIdentifier", "profile", &id, detail, cap)) < 0 ||
	    (rc = need_str(root, "PayloadUUID", "profile", &uuid, detail, cap)) < 0)
		return rc;
	if (!pol_profile_identifier_ok(id))
		return fail(
		    AP_EINVAL, detail, cap,
		    "PayloadIdentifier must be reverse-DNS (letters, digits, '.', '-', '_')");
	if (strcmp(id, POL_ENROLL_IDENTIFIER) == 0)
		return fail(AP_EUNSUPPORTED, detail, cap,
			    "%s is the enrolment profile's identifier", POL_ENROLL_IDENTIFIER);
	if (plist_dict_get_item(root, "EncryptedPayloadContent") ||
	    plist_bool_val_is_true(plist_dict_get_item(root, "IsEncrypted")))
		return fail(AP_EUNSUPPORTED, detail, cap,
			    "encrypted profiles cannot be checked: upload the clear profile");
	if ((rc = remember(s, id, uuid, "profile", detail, cap)) < 0)
		return rc;
	if ((p->identifier = strdup(id)) == NULL)
		return AP_ENOMEM;
	if ((rc = dup_opt(root, "PayloadDisplayName", &p->display_name, detail, cap)) < 0 ||
	    (rc = dup_opt(root, "PayloadDescription", &p->description, detail, cap)) < 0 ||
	    (rc = dup_opt(root, "PayloadOrganization", &p->organization, detail, cap)) < 0)
		return rc;
	return 0;
}

static void hex(const unsigned char *md, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Content hash without the top-level PayloadUUID, then the bytes to send
 * with the derived one.  Modifies root. */
static int stamp(plist_t root, struct pol_profile *p)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *xml = NULL;
	size_t len = 0;
	plist_dict_remove_item(root, "PayloadUUID");
	int rc = ap_plist_to_xml(root, &xml, &len);
	if (rc < 0)
		return rc;
	if (EVP_Digest(xml, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		free(xml);
		return AP_ECRYPTO;
	}
	free(xml);
	hex(md, 32, p->hash);
	ap_uuid_from_seed(p->hash, p->identifier, p->uuid);
	plist_dict_set_item(root, "PayloadUUID", plist_new_string(p->uuid));
	return ap_plist_to_xml(root, &p->xml, &p->xml_len);
}

/* The XML bytes of the input, unwrapped when signed; *ret_owned is the
 * allocation to free (NULL when data is used as is). */
static int plain_xml(const void *data, size_t len, struct pol_profile *p, const char **ret,
		     size_t *ret_len, char **ret_owned, char *detail, size_t cap)
{
	char *inner = NULL;
	size_t n = 0;
	*ret_owned = NULL;
	if (!looks_der(data, len)) {
		*ret = data;
		*ret_len = len;
		return 0;
	}
	int rc = unwrap(data, len, &inner, &n);
	if (rc == AP_EBADSIG)
		return fail(rc, detail, cap, "the CMS signature does not verify");
	if (rc < 0)
		return fail(rc, detail, cap, "neither an XML plist nor CMS SignedData");
	p->was_signed = 1;
	*ret = inner;
	*ret_len = n;
	*ret_owned = inner;
	return 0;
}

int pol_profile_parse(const void *data, size_t len, struct pol_profile **ret, char *detail,
		      size_t detail_cap)
{
	struct pol_profile *p = NULL;
	struct seen s;
	plist_t root = NULL;
	const char *xml = NULL;
	char *owned = NULL;
	size_t xml_len = 0;
	int rc;
	if (detail && detail_cap)
		detail[0] = '\0';
	if (data == NULL || ret == NULL)
		return AP_EINVAL;
	if (len > POL_PROFILE_MAX_BYTES)
		return fail(AP_ETOOBIG, detail, detail_cap, "larger than %u bytes",
			    POL_PROFILE_MAX_BYTES);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return AP_ENOMEM;
	memset(&s, 0, sizeof(s));
	if ((rc = plain_xml(data, len, p, &xml, &xml_len, &owned, detail, detail_cap)) < 0)
		goto out;
	rc = ap_plist_parse(xml, xml_len, POL_PROFILE_MAX_BYTES, &root);
	if (rc < 0) {
		fail(rc, detail, detail_cap, "not a readable XML plist: %s", ap_strerror(rc));
		goto out;
	}
	if ((rc = check_top(root, &s, p, detail, detail_cap)) < 0 ||
	    (rc = check_payloads(root, &s, p, detail, detail_cap)) < 0 || (rc = stamp(root, p)) < 0)
		goto out;
	*ret = p;
	p = NULL;
out:
	if (root)
		plist_free(root);
	free(owned);
	pol_profile_free(p);
	return rc;
}

void pol_profile_free(struct pol_profile *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_payloads && p->payload_types; i++)
		free(p->payload_types[i]);
	free(p->payload_types);
	free(p->identifier);
	free(p->display_name);
	free(p->description);
	free(p->organization);
	free(p->xml);
	free(p);
}
