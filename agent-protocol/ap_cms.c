/* ap_cms.c - CMS SignedData: profile signing, Mdm-Signature check. */
#include "ap_cms.h"
#include "ap_codec.h"
#include "ap_err.h"
#include "ap_x509.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Digests an Mdm-Signature may use. */
static const int accepted_digests[] = {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512};

static int digest_accepted(int nid)
{
	for (size_t i = 0; i < sizeof(accepted_digests) / sizeof(accepted_digests[0]); i++)
		if (accepted_digests[i] == nid)
			return 1;
	return 0;
}

/* Signs with SHA-256; flags add CMS_DETACHED or not. */
static CMS_ContentInfo *sign(const void *data, size_t len, X509 *cert, EVP_PKEY *key,
			     STACK_OF(X509) * chain, unsigned flags)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;

	if (len > INT_MAX || (data == NULL && len > 0))
		return NULL;
	in = BIO_new_mem_buf(len ? data : "", (int)len);
	if (in == NULL)
		goto out;
	flags |= CMS_BINARY | CMS_PARTIAL;
	cms = CMS_sign(NULL, NULL, chain, NULL, flags);
	if (cms == NULL)
		goto out;
	if (CMS_add1_signer(cms, cert, key, EVP_sha256(), flags) == NULL ||
	    CMS_final(cms, in, NULL, flags) != 1) {
		CMS_ContentInfo_free(cms);
		cms = NULL;
	}
out:
	BIO_free(in);
	return cms;
}

static int to_der(CMS_ContentInfo *cms, unsigned char **ret, size_t *ret_len)
{
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);

	if (n <= 0)
		return AP_ECRYPTO;
	unsigned char *out = malloc((size_t)n);
	if (out == NULL) {
		OPENSSL_free(der);
		return AP_ENOMEM;
	}
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

int ap_cms_sign(const void *data, size_t len, X509 *signer, EVP_PKEY *key, STACK_OF(X509) * chain,
		unsigned char **ret_der, size_t *ret_len)
{
	if (signer == NULL || key == NULL || ret_der == NULL || ret_len == NULL)
		return AP_EINVAL;
	CMS_ContentInfo *cms = sign(data, len, signer, key, chain, 0);
	if (cms == NULL) {
		ERR_clear_error();
		return AP_ECRYPTO;
	}
	int rc = to_der(cms, ret_der, ret_len);
	CMS_ContentInfo_free(cms);
	return rc;
}

int ap_cms_sign_detached_b64(const void *body, size_t len, X509 *cert, EVP_PKEY *key,
			     char **ret_b64)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc;

	if (cert == NULL || key == NULL || ret_b64 == NULL)
		return AP_EINVAL;
	CMS_ContentInfo *cms = sign(body, len, cert, key, NULL, CMS_DETACHED);
	if (cms == NULL) {
		ERR_clear_error();
		return AP_ECRYPTO;
	}
	rc = to_der(cms, &der, &der_len);
	if (rc == 0)
		rc = ap_codec_b64_encode(der, der_len, ret_b64, NULL);
	free(der);
	CMS_ContentInfo_free(cms);
	return rc;
}

static CMS_ContentInfo *decode(const char *b64)
{
	unsigned char *der = NULL;
	size_t len = 0;
	CMS_ContentInfo *cms = NULL;

	if (ap_codec_b64_decode(b64, strlen(b64), &der, &len) != 0 || len == 0 || len > INT_MAX)
		goto out;
	const unsigned char *p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms != NULL && p != der + len) { /* trailing bytes */
		CMS_ContentInfo_free(cms);
		cms = NULL;
	}
out:
	free(der);
	return cms;
}

/* Exactly one signer, with an accepted digest; detached content. */
static int shape_ok(CMS_ContentInfo *cms)
{
	X509_ALGOR *dig = NULL;

	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed || CMS_is_detached(cms) != 1)
		return 0;
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1)
		return 0;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, NULL, &dig, NULL);
	return dig != NULL && digest_accepted(OBJ_obj2nid(dig->algorithm));
}

/* The signer certificate chains to trust (message certificates may serve
 * as intermediates). */
int ap_cms_verify_detached(const char *b64_header, const void *body, size_t body_len,
			   X509_STORE *trust, X509 **ret_signer)
{
	X509 *signer = NULL;
	STACK_OF(X509) *certs = NULL;
	if (trust == NULL)
		return AP_EINVAL;
	int rc = ap_cms_verify_signature(b64_header, body, body_len, &signer, &certs);
	if (rc == 0 && !ap_x509_client_chain_ok(signer, certs, trust))
		rc = AP_EBADSIG;
	sk_X509_pop_free(certs, X509_free);
	if (rc == 0 && ret_signer)
		*ret_signer = signer;
	else
		X509_free(signer);
	return rc;
}

int ap_cms_verify_signature(const char *b64_header, const void *body, size_t body_len,
			    X509 **ret_signer, STACK_OF(X509) * *ret_certs)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *signers = NULL;
	BIO *content = NULL;
	int rc = AP_EBADSIG;

	if (b64_header == NULL || ret_signer == NULL || ret_certs == NULL ||
	    (body == NULL && body_len > 0))
		return AP_EINVAL;
	if (strnlen(b64_header, AP_CMS_MAX_HEADER + 1) > AP_CMS_MAX_HEADER)
		return AP_ETOOBIG;
	if (body_len > INT_MAX)
		return AP_ETOOBIG;
	if ((cms = decode(b64_header)) == NULL || !shape_ok(cms))
		goto out;
	content = BIO_new_mem_buf(body_len ? body : "", (int)body_len);
	if (content == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, content, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
		goto out;
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) != 1)
		goto out;
	X509 *signer = sk_X509_value(signers, 0);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	if (certs == NULL || X509_up_ref(signer) != 1) {
		sk_X509_pop_free(certs, X509_free);
		goto out;
	}
	*ret_signer = signer;
	*ret_certs = certs;
	rc = 0;
out:
	sk_X509_free(signers);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}
