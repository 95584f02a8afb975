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

/* The DER of an Mdm-Signature value (*ret_der malloc'd), or -1. */
static CMS_ContentInfo *parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms != NULL && p != der + len) { /* trailing bytes */
		CMS_ContentInfo_free(cms);
		cms = NULL;
	}
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

/* The body as CMS_verify() reads it: a memory BIO behind a buffer filter.
 * OpenSSL 3.0's CMS_verify() copies a bare memory BIO into one of its own
 * and loses that copy when the message's digest algorithms are unknown (a
 * peer could leak memory with every such header); any other BIO it reads
 * as given.  NULL: out of memory. */
static BIO *content_bio(const void *body, size_t body_len)
{
	BIO *mem = BIO_new_mem_buf(body_len ? body : "", (int)body_len);
	BIO *buf = mem ? BIO_new(BIO_f_buffer()) : NULL;
	if (buf == NULL) {
		BIO_free(mem);
		return NULL;
	}
	return BIO_push(buf, mem);
}

/* Checks the detached signature of cms over body; certs (may be NULL) are
 * searched for the signer before the message's own.  The one signer,
 * borrowed from cms, in *ret_signer. */
static int verify_cms(CMS_ContentInfo *cms, STACK_OF(X509) * certs, const void *body,
		      size_t body_len, X509 **ret_signer)
{
	STACK_OF(X509) *signers = NULL;
	BIO *content = NULL;
	int rc = AP_EBADSIG;

	if (!shape_ok(cms))
		goto out;
	content = content_bio(body, body_len);
	if (content == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (CMS_verify(cms, certs, NULL, content, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) !=
	    1)
		goto out;
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) != 1)
		goto out;
	*ret_signer = sk_X509_value(signers, 0);
	rc = 0;
out:
	sk_X509_free(signers);
	BIO_free_all(content);
	return rc;
}

/* The arguments checked and the header's base64 decoded: *ret_der is
 * the caller's to free. */
static int header_der(const char *b64_header, const void *body, size_t body_len,
		      unsigned char **ret_der, size_t *ret_len)
{
	unsigned char *der = NULL;
	size_t len = 0;

	if (b64_header == NULL || (body == NULL && body_len > 0))
		return AP_EINVAL;
	if (strnlen(b64_header, AP_CMS_MAX_HEADER + 1) > AP_CMS_MAX_HEADER)
		return AP_ETOOBIG;
	if (body_len > INT_MAX)
		return AP_ETOOBIG;
	if (ap_codec_b64_decode(b64_header, strlen(b64_header), &der, &len) != 0 || len == 0 ||
	    len > INT_MAX) {
		free(der);
		return AP_EBADSIG;
	}
	*ret_der = der;
	*ret_len = len;
	return 0;
}

/* The full check of a decoded message: new references to its signer and
 * certificates. */
static int verify_der(const unsigned char *der, size_t len, const void *body, size_t body_len,
		      X509 **ret_signer, STACK_OF(X509) * *ret_certs)
{
	X509 *signer = NULL;
	CMS_ContentInfo *cms = parse(der, len);
	int rc = cms ? verify_cms(cms, NULL, body, body_len, &signer) : AP_EBADSIG;
	if (rc == 0) {
		STACK_OF(X509) *certs = CMS_get1_certs(cms);
		if (certs == NULL || X509_up_ref(signer) != 1) {
			sk_X509_pop_free(certs, X509_free);
			rc = AP_EBADSIG;
		} else {
			*ret_signer = signer;
			*ret_certs = certs;
		}
	}
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

int ap_cms_verify_signature(const char *b64_header, const void *body, size_t body_len,
			    X509 **ret_signer, STACK_OF(X509) * *ret_certs)
{
	unsigned char *der = NULL;
	size_t len = 0;

	if (ret_signer == NULL || ret_certs == NULL)
		return AP_EINVAL;
	int rc = header_der(b64_header, body, body_len, &der, &len);
	if (rc < 0)
		return rc;
	rc = verify_der(der, len, body, body_len, ret_signer, ret_certs);
	free(der);
	return rc;
}

/* ---- the connection's signer cache ---- */

struct ap_cms_signer_cache {
	unsigned char *certs_der; /* the certificates field (its whole TLV) as received */
	size_t certs_len;	  /* 0: nothing to match (none cached, or no such field) */
	X509 *signer;		  /* NULL: empty */
	STACK_OF(X509) * certs;
	char fp[65];
	int verified;
};

struct ap_cms_signer_cache *ap_cms_signer_cache_new(void)
{
	struct ap_cms_signer_cache *c = calloc(1, sizeof(*c));
	if (c)
		c->verified = -1;
	return c;
}

static void cache_clear(struct ap_cms_signer_cache *c)
{
	free(c->certs_der);
	X509_free(c->signer);
	sk_X509_pop_free(c->certs, X509_free);
	memset(c, 0, sizeof(*c));
	c->verified = -1;
}

void ap_cms_signer_cache_free(struct ap_cms_signer_cache *cache)
{
	if (cache == NULL)
		return;
	cache_clear(cache);
	free(cache);
}

/* One DER element at p (n bytes): low tag number, definite length. */
static int der_tlv(const unsigned char *p, size_t n, unsigned tag, size_t *ret_hdr, size_t *ret_len)
{
	if (n < 2 || p[0] != tag)
		return -1;
	size_t hdr = 2, len = p[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return -1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr += k;
	}
	if (len > n - hdr)
		return -1;
	*ret_hdr = hdr;
	*ret_len = len;
	return 0;
}

/* Where a ContentInfo's parts lie: contentType, SignedData's contents, and
 * in them the certificates field [0] (certs_len 0: none). */
struct cms_layout {
	size_t oid_off, oid_len;
	size_t sd_off, sd_end;
	size_t certs_off, certs_len;
};

/* Fills *ret when der is ContentInfo { OID, [0] { SignedData { version,
 * digestAlgorithms, encapContentInfo, [certificates], ... } } } in DER,
 * each element exactly filling the one around it; -1 otherwise (BER,
 * other shapes: the caller then only verifies in full). */
static int cms_layout(const unsigned char *d, size_t n, struct cms_layout *ret)
{
	static const unsigned skip[] = {0x02, 0x31, 0x30}; /* version, digests, encapContent */
	size_t h, l, pos;

	if (der_tlv(d, n, 0x30, &h, &l) < 0 || h + l != n)
		return -1;
	pos = h;
	if (der_tlv(d + pos, n - pos, 0x06, &h, &l) < 0)
		return -1;
	ret->oid_off = pos;
	ret->oid_len = h + l;
	pos += h + l;
	if (der_tlv(d + pos, n - pos, 0xa0, &h, &l) < 0 || pos + h + l != n)
		return -1;
	pos += h;
	if (der_tlv(d + pos, n - pos, 0x30, &h, &l) < 0 || pos + h + l != n)
		return -1;
	pos += h;
	ret->sd_off = pos;
	ret->sd_end = n;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		if (der_tlv(d + pos, n - pos, skip[i], &h, &l) < 0)
			return -1;
		pos += h + l;
	}
	ret->certs_off = pos;
	ret->certs_len = 0;
	if (der_tlv(d + pos, n - pos, 0xa0, &h, &l) == 0)
		ret->certs_len = h + l;
	return 0;
}

static size_t put_hdr(unsigned char *out, unsigned tag, size_t len)
{
	size_t k = 0;
	out[0] = (unsigned char)tag;
	if (len < 0x80) {
		out[1] = (unsigned char)len;
		return 2;
	}
	for (size_t v = len; v; v >>= 8)
		k++;
	out[1] = (unsigned char)(0x80 | k);
	for (size_t i = 0; i < k; i++)
		out[2 + i] = (unsigned char)(len >> (8 * (k - 1 - i)));
	return 2 + k;
}

static size_t hdr_size(size_t len)
{
	unsigned char scratch[2 + sizeof(size_t)];
	return put_hdr(scratch, 0, len);
}

/* The message without its certificates field (parsing it then parses no
 * certificate), malloc'd into *ret_der; NULL on out of memory. */
static unsigned char *strip_certs(const unsigned char *d, const struct cms_layout *lay,
				  size_t *ret_len)
{
	size_t inner = lay->sd_end - lay->sd_off - lay->certs_len;
	size_t a0 = hdr_size(inner) + inner;
	size_t outer = lay->oid_len + hdr_size(a0) + a0;
	size_t total = hdr_size(outer) + outer, pos = 0;
	unsigned char *out = malloc(total);
	if (out == NULL)
		return NULL;
	pos += put_hdr(out + pos, 0x30, outer);
	memcpy(out + pos, d + lay->oid_off, lay->oid_len);
	pos += lay->oid_len;
	pos += put_hdr(out + pos, 0xa0, a0);
	pos += put_hdr(out + pos, 0x30, inner);
	memcpy(out + pos, d + lay->sd_off, lay->certs_off - lay->sd_off);
	pos += lay->certs_off - lay->sd_off;
	size_t after = lay->certs_off + lay->certs_len;
	memcpy(out + pos, d + after, lay->sd_end - after);
	*ret_len = total;
	return out;
}

/* The message verified with the cached certificates: 0 only when it
 * verifies and names the cached signer. */
static int verify_known(struct ap_cms_signer_cache *c, const unsigned char *der,
			const struct cms_layout *lay, const void *body, size_t body_len)
{
	size_t len = 0;
	X509 *signer = NULL;
	unsigned char *bare = strip_certs(der, lay, &len);
	CMS_ContentInfo *cms = bare ? parse(bare, len) : NULL;
	int rc = cms ? verify_cms(cms, c->certs, body, body_len, &signer) : AP_EBADSIG;
	if (rc == 0 && signer != c->signer)
		rc = AP_EBADSIG;
	CMS_ContentInfo_free(cms);
	free(bare);
	ERR_clear_error();
	return rc;
}

/* Puts a fully verified message's certificates in the cache (taking
 * signer and certs); its certificates field is kept when it has one. */
static void cache_set(struct ap_cms_signer_cache *c, const unsigned char *der,
		      const struct cms_layout *lay, X509 *signer, STACK_OF(X509) * certs)
{
	cache_clear(c);
	if (lay && lay->certs_len && (c->certs_der = malloc(lay->certs_len)) != NULL) {
		memcpy(c->certs_der, der + lay->certs_off, lay->certs_len);
		c->certs_len = lay->certs_len;
	}
	c->signer = signer;
	c->certs = certs;
	ap_x509_fingerprint(signer, c->fp);
}

int ap_cms_verify_signature_cached(struct ap_cms_signer_cache *cache, const char *b64_header,
				   const void *body, size_t body_len, struct ap_cms_signer *ret)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct cms_layout lay;
	X509 *signer = NULL;
	STACK_OF(X509) *certs = NULL;
	int reused = 0;

	if (cache == NULL || ret == NULL)
		return AP_EINVAL;
	int rc = header_der(b64_header, body, body_len, &der, &len);
	if (rc < 0)
		return rc;
	int shaped = cms_layout(der, len, &lay) == 0;
	if (shaped && lay.certs_len && lay.certs_len == cache->certs_len &&
	    memcmp(der + lay.certs_off, cache->certs_der, lay.certs_len) == 0 &&
	    verify_known(cache, der, &lay, body, body_len) == 0) {
		reused = 1; /* any failure above is decided by the full check */
	} else {
		rc = verify_der(der, len, body, body_len, &signer, &certs);
		if (rc < 0)
			goto out;
		cache_set(cache, der, shaped ? &lay : NULL, signer, certs);
	}
	ret->cert = cache->signer;
	ret->certs = cache->certs;
	ret->fp = cache->fp;
	ret->verified = &cache->verified;
	ret->reused = reused;
out:
	free(der);
	return rc;
}
