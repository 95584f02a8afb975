/* ap_machineinfo.c - the signed MachineInfo of an ADE enrolment. */
#include "ap_machineinfo.h"
#include "ap_err.h"
#include "ap_plist.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509_vfy.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct ap_machineinfo, f)
#define LEN(f) sizeof(((struct ap_machineinfo *)0)->f)

enum charset { ANY, IDENT };

/* One row per string key read. */
static const struct key {
	const char *name;
	size_t off, cap;
	int required;
	enum charset set;
} keys[] = {
    {"UDID", OFF(udid), LEN(udid), 1, IDENT},
    {"SERIAL", OFF(serial), LEN(serial), 1, IDENT},
    {"PRODUCT", OFF(product), LEN(product), 1, ANY},
    {"VERSION", OFF(version), LEN(version), 1, ANY},
    {"OS_VERSION", OFF(os_version), LEN(os_version), 0, ANY},
    {"LANGUAGE", OFF(language), LEN(language), 0, ANY},
};

static int ident_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static int read_key(plist_t dict, const struct key *k, struct ap_machineinfo *mi)
{
	char *s = NULL;
	int rc = ap_dict_get_string(dict, k->name, &s);
	if (rc == AP_EMISSING || (rc == 0 && s[0] == '\0'))
		rc = k->required ? AP_EMISSING : 0;
	else if (rc == 0 && (strlen(s) >= k->cap || (k->set == IDENT && !ident_ok(s))))
		rc = AP_EINVAL;
	else if (rc == 0)
		memcpy((char *)mi + k->off, s, strlen(s) + 1);
	free(s);
	return rc;
}

int ap_machineinfo_parse(const void *xml, size_t len, struct ap_machineinfo *ret)
{
	struct ap_machineinfo mi;
	plist_t p = NULL;
	int rc;

	if (ret == NULL || (xml == NULL && len > 0))
		return AP_EINVAL;
	if (len > AP_MACHINEINFO_MAX)
		return AP_ETOOBIG;
	if ((rc = ap_plist_parse(xml, len, AP_MACHINEINFO_MAX, &p)) < 0)
		return rc == AP_EINVAL ? AP_EPARSE : rc;
	memset(&mi, 0, sizeof(mi));
	if (plist_get_node_type(p) != PLIST_DICT)
		rc = AP_ETYPE;
	for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
		rc = read_key(p, &keys[i], &mi);
	if (rc == 0) {
		rc = ap_dict_get_bool(p, "MDM_CAN_REQUEST_SOFTWARE_UPDATE", &mi.can_request_update);
		if (rc == AP_EMISSING) {
			mi.can_request_update = 0;
			rc = 0;
		}
	}
	plist_free(p);
	if (rc == 0)
		*ret = mi;
	return rc;
}

static CMS_ContentInfo *decode(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms != NULL && (p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
			    CMS_is_detached(cms) != 0)) {
		CMS_ContentInfo_free(cms);
		cms = NULL;
	}
	return cms;
}

/* The signer chains to anchors through certs: no time check, security
 * level 0, for this context only. */
static int chain_ok(X509 *signer, STACK_OF(X509) * certs, X509_STORE *anchors)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;
	if (ctx == NULL || X509_STORE_CTX_init(ctx, anchors, signer, certs) != 1)
		goto out;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_NO_CHECK_TIME);
	X509_VERIFY_PARAM_set_auth_level(vp, 0);
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	return ok;
}

/* The content of a verified cms (signature and chain) into *ret. */
static int verified_content(CMS_ContentInfo *cms, X509_STORE *anchors, unsigned char **ret,
			    size_t *ret_len)
{
	STACK_OF(X509) *signers = NULL, *certs = NULL;
	BIO *out = BIO_new(BIO_s_mem());
	BUF_MEM *bm = NULL;
	int rc = AP_EBADSIG;

	if (out == NULL)
		return AP_ENOMEM;
	if (CMS_verify(cms, NULL, NULL, NULL, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
		goto out;
	signers = CMS_get0_signers(cms);
	certs = CMS_get1_certs(cms);
	if (signers == NULL || sk_X509_num(signers) != 1 ||
	    !chain_ok(sk_X509_value(signers, 0), certs, anchors))
		goto out;
	BIO_get_mem_ptr(out, &bm);
	unsigned char *c = bm ? malloc(bm->length + 1) : NULL;
	if (c == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	memcpy(c, bm->data, bm->length);
	c[bm->length] = '\0';
	*ret = c;
	*ret_len = bm->length;
	rc = 0;
out:
	sk_X509_free(signers);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(out);
	return rc;
}

int ap_machineinfo_verify(const void *der, size_t len, X509_STORE *anchors,
			  unsigned char **ret_content, size_t *ret_len)
{
	if (der == NULL || anchors == NULL || ret_content == NULL || ret_len == NULL)
		return AP_EINVAL;
	if (len > AP_MACHINEINFO_MAX)
		return AP_ETOOBIG;
	if (len == 0)
		return AP_EPARSE;
	CMS_ContentInfo *cms = decode(der, len);
	int rc = cms ? verified_content(cms, anchors, ret_content, ret_len) : AP_EPARSE;
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

int ap_machineinfo_open(const void *der, size_t len, X509_STORE *anchors,
			struct ap_machineinfo *ret)
{
	unsigned char *xml = NULL;
	size_t xml_len = 0;
	int rc = ap_machineinfo_verify(der, len, anchors, &xml, &xml_len);
	if (rc == 0)
		rc = ap_machineinfo_parse(xml, xml_len, ret);
	free(xml);
	return rc;
}

int ap_machineinfo_sign(const void *xml, size_t len, X509 *signer, EVP_PKEY *key,
			STACK_OF(X509) * chain, unsigned char **ret_der, size_t *ret_len)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	int n = 0, rc = AP_ECRYPTO;

	if (signer == NULL || key == NULL || ret_der == NULL || ret_len == NULL ||
	    (xml == NULL && len > 0) || len > INT_MAX)
		return AP_EINVAL;
	BIO *in = BIO_new_mem_buf(len ? xml : "", (int)len);
	if (in == NULL || (cms = CMS_sign(NULL, NULL, chain, NULL, flags)) == NULL ||
	    CMS_add1_signer(cms, signer, key, EVP_sha1(), flags) == NULL ||
	    CMS_final(cms, in, NULL, flags) != 1 || (n = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		goto out;
	unsigned char *out = malloc((size_t)n);
	if (out == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	memcpy(out, der, (size_t)n);
	*ret_der = out;
	*ret_len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	ERR_clear_error();
	return rc;
}
