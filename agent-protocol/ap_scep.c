/*
 * ap_scep.c - SCEP (RFC 8894) codec (see ap_scep.h for the contracts).
 *
 * A pkiMessage is a CMS SignedData carrying SCEP signed attributes; its
 * content (pkcsPKIEnvelope) is an EnvelopedData.  Requests carry a PKCS#10
 * CSR; a successful CertRep carries a degenerate certs-only SignedData.  The
 * signing and enveloping use OpenSSL's CMS API; the certs-only structure uses
 * the PKCS#7 API because CMS encodes its certificate SET in DER order, and
 * SCEP clients expect the issued certificate first.
 */
#include "ap_scep.h"
#include "ap_err.h"
#include "ap_x509.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define NONCE_LEN	   16  /* senderNonce we produce (RFC 8894: 16 bytes) */
#define NONCE_MAX	   64  /* longest peer nonce we keep and echo */
#define TRANSACTION_ID_MAX 256 /* longest peer transactionID */
#define CHALLENGE_MAX	   255 /* ub-challengePassword (RFC 2985) */
#define SELFSIGNED_DAYS	   30  /* validity of the client's throw-away cert */
#define PKI_STATUS_SUCCESS 0
#define PKI_STATUS_FAILURE 2
#define PKI_STATUS_PENDING 3

/* ---- one-time initialisation: providers and attribute OIDs ---- */

enum scep_attr {
	ATTR_MESSAGE_TYPE,
	ATTR_PKI_STATUS,
	ATTR_FAIL_INFO,
	ATTR_SENDER_NONCE,
	ATTR_RECIPIENT_NONCE,
	ATTR_TRANSACTION_ID,
	ATTR_COUNT
};

static const struct {
	const char *oid;
	const char *name;
} attr_oids[ATTR_COUNT] = {
    [ATTR_MESSAGE_TYPE] = {"2.16.840.1.113733.1.9.2", "messageType"},
    [ATTR_PKI_STATUS] = {"2.16.840.1.113733.1.9.3", "pkiStatus"},
    [ATTR_FAIL_INFO] = {"2.16.840.1.113733.1.9.4", "failInfo"},
    [ATTR_SENDER_NONCE] = {"2.16.840.1.113733.1.9.5", "senderNonce"},
    [ATTR_RECIPIENT_NONCE] = {"2.16.840.1.113733.1.9.6", "recipientNonce"},
    [ATTR_TRANSACTION_ID] = {"2.16.840.1.113733.1.9.7", "transactionID"},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = AP_EINTERNAL;
static const ASN1_OBJECT *attr_obj[ATTR_COUNT]; /* owned by OpenSSL's table */
static OSSL_PROVIDER *prov_default, *prov_legacy;

/*
 * Run by OPENSSL_cleanup() (at exit, or when called explicitly) before it
 * frees the library context: a provider still loaded then leaves its
 * allocations behind, which leak checkers report.
 */
static void unload_providers(void)
{
	if (prov_legacy != NULL)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default != NULL)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}

static void init(void)
{
	ERR_set_mark();
	init_rc = AP_ECRYPTO;
	/* Loading any provider explicitly stops the implicit load of "default".
	 * Into the global context by name: NULL would mean the calling thread's
	 * default, which a daemon worker sets to its own context (that one
	 * loads its providers itself, and is gone before the atexit unload). */
	OSSL_LIB_CTX *global = OSSL_LIB_CTX_get0_global_default();
	if ((prov_default = OSSL_PROVIDER_load(global, "default")) == NULL)
		goto out;
	prov_legacy = OSSL_PROVIDER_load(global, "legacy"); /* optional: single DES only */
	if (!OPENSSL_atexit(unload_providers))
		goto out;
	for (int i = 0; i < ATTR_COUNT; i++) {
		int nid = OBJ_txt2nid(attr_oids[i].oid);
		if (nid == NID_undef)
			nid = OBJ_create(attr_oids[i].oid, attr_oids[i].name, attr_oids[i].name);
		if (nid == NID_undef || (attr_obj[i] = OBJ_nid2obj(nid)) == NULL)
			goto out;
	}
	init_rc = 0;
out:
	ERR_pop_to_mark();
}

static int scep_init(void)
{
	if (pthread_once(&init_once, init) != 0)
		return AP_EINTERNAL;
	return init_rc;
}

/* ---- tables ---- */

static const struct {
	enum ap_scep_cipher id;
	int nid;
} cipher_tab[] = {
    {AP_SCEP_AES128, NID_aes_128_cbc}, {AP_SCEP_AES192, NID_aes_192_cbc},
    {AP_SCEP_AES256, NID_aes_256_cbc}, {AP_SCEP_DES3, NID_des_ede3_cbc},
    {AP_SCEP_DES, NID_des_cbc},
};

static int cipher_by_nid(int nid, enum ap_scep_cipher *ret)
{
	for (size_t i = 0; i < sizeof(cipher_tab) / sizeof(cipher_tab[0]); i++) {
		if (cipher_tab[i].nid == nid) {
			*ret = cipher_tab[i].id;
			return 0;
		}
	}
	return AP_EUNSUPPORTED;
}

static const EVP_CIPHER *cipher_evp(enum ap_scep_cipher c)
{
	for (size_t i = 0; i < sizeof(cipher_tab) / sizeof(cipher_tab[0]); i++)
		if (cipher_tab[i].id == c)
			return EVP_get_cipherbynid(cipher_tab[i].nid);
	return NULL;
}

/* What a CertRep is encrypted with: the client's AES, else DES-EDE3. */
static enum ap_scep_cipher reply_cipher(enum ap_scep_cipher c)
{
	switch (c) {
	case AP_SCEP_AES128:
	case AP_SCEP_AES192:
	case AP_SCEP_AES256:
		return c;
	default:
		return AP_SCEP_DES3;
	}
}

/* ---- small helpers ---- */

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* DER of an ASN.1 value into a malloc'd buffer. */
static int item_to_der(const void *val, const ASN1_ITEM *it, unsigned char **ret, size_t *ret_len)
{
	unsigned char *tmp = NULL;
	int n = ASN1_item_i2d((const ASN1_VALUE *)val, &tmp, it);
	if (n <= 0)
		return AP_ECRYPTO;
	unsigned char *der = malloc((size_t)n);
	if (der == NULL) {
		OPENSSL_free(tmp);
		return AP_ENOMEM;
	}
	memcpy(der, tmp, (size_t)n);
	OPENSSL_free(tmp);
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

/* The transactionID we use for key: hex SHA-256 of its SubjectPublicKeyInfo. */
static int key_transaction_id(EVP_PKEY *key, char out[65])
{
	unsigned char *spki = NULL;
	unsigned char md[32];
	int n = i2d_PUBKEY(key, &spki);
	if (n <= 0)
		return AP_ECRYPTO;
	int ok = EVP_Digest(spki, (size_t)n, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(spki);
	if (!ok)
		return AP_ECRYPTO;
	hex_encode(md, sizeof(md), out);
	return 0;
}

/* 1 when cert was issued by ca: names/key identifiers chain and the
 * signature verifies with ca's key. */
static int issued_by(X509 *cert, X509 *ca)
{
	return X509_check_issued(ca, cert) == X509_V_OK &&
	       X509_verify(cert, X509_get0_pubkey(ca)) == 1;
}

/* ---- SCEP signed attributes ---- */

static int attr_type_ok(enum scep_attr a, int type)
{
	if (a == ATTR_SENDER_NONCE || a == ATTR_RECIPIENT_NONCE)
		return type == V_ASN1_OCTET_STRING;
	/* RFC 8894 says PrintableString; tolerate the other ASCII types. */
	return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_IA5STRING ||
	       type == V_ASN1_UTF8STRING;
}

/* The single value of signed attribute `a`: AP_EMISSING when absent,
 * AP_EPARSE when repeated, multi-valued or of the wrong type. */
static int attr_get(CMS_SignerInfo *si, enum scep_attr a, const ASN1_STRING **ret)
{
	int idx = CMS_signed_get_attr_by_OBJ(si, attr_obj[a], -1);
	if (idx < 0)
		return AP_EMISSING;
	if (CMS_signed_get_attr_by_OBJ(si, attr_obj[a], idx) >= 0)
		return AP_EPARSE;
	X509_ATTRIBUTE *at = CMS_signed_get_attr(si, idx);
	if (at == NULL || X509_ATTRIBUTE_count(at) != 1)
		return AP_EPARSE;
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(at, 0);
	if (t == NULL || !attr_type_ok(a, t->type))
		return AP_EPARSE;
	*ret = t->value.asn1_string;
	return 0;
}

/* Printable-ASCII attribute as a C string in buf[0..cap). */
static int attr_text(CMS_SignerInfo *si, enum scep_attr a, char *buf, size_t cap)
{
	const ASN1_STRING *s;
	int rc = attr_get(si, a, &s);
	if (rc < 0)
		return rc;
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	if (n <= 0 || (size_t)n >= cap)
		return AP_EPARSE;
	for (int i = 0; i < n; i++)
		if (d[i] < 0x20 || d[i] > 0x7e)
			return AP_EPARSE;
	memcpy(buf, d, (size_t)n);
	buf[n] = '\0';
	return 0;
}

/* Decimal attribute (messageType, pkiStatus, failInfo), 0..999. */
static int attr_number(CMS_SignerInfo *si, enum scep_attr a, int *ret)
{
	char buf[4];
	int rc = attr_text(si, a, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	int v = 0;
	for (const char *p = buf; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return AP_EPARSE;
		v = v * 10 + (*p - '0');
	}
	*ret = v;
	return 0;
}

static int attr_octets(CMS_SignerInfo *si, enum scep_attr a, unsigned char *buf, size_t cap,
		       size_t *ret_len)
{
	const ASN1_STRING *s;
	int rc = attr_get(si, a, &s);
	if (rc < 0)
		return rc;
	int n = ASN1_STRING_length(s);
	if (n <= 0 || (size_t)n > cap)
		return AP_EPARSE;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)n);
	*ret_len = (size_t)n;
	return 0;
}

static int attr_add_text(CMS_SignerInfo *si, enum scep_attr a, const char *s)
{
	if (!CMS_signed_add1_attr_by_OBJ(si, attr_obj[a], V_ASN1_PRINTABLESTRING, s,
					 (int)strlen(s)))
		return AP_ECRYPTO;
	return 0;
}

static int attr_add_number(CMS_SignerInfo *si, enum scep_attr a, int v)
{
	char buf[4];
	if (v < 0 || v > 999)
		return AP_EINVAL;
	int n = 0;
	if (v >= 100)
		buf[n++] = (char)('0' + v / 100);
	if (v >= 10)
		buf[n++] = (char)('0' + v / 10 % 10);
	buf[n++] = (char)('0' + v % 10);
	buf[n] = '\0';
	return attr_add_text(si, a, buf);
}

static int attr_add_octets(CMS_SignerInfo *si, enum scep_attr a, const unsigned char *d, size_t n)
{
	if (!CMS_signed_add1_attr_by_OBJ(si, attr_obj[a], V_ASN1_OCTET_STRING, d, (int)n))
		return AP_ECRYPTO;
	return 0;
}

/* What goes into a pkiMessage's signed attributes; -1 leaves a number out,
 * NULL leaves the recipientNonce out.  A fresh senderNonce is always added. */
struct pki_attrs {
	int message_type;
	const char *transaction_id;
	int pki_status;
	int fail_info;
	const unsigned char *recipient_nonce;
	size_t recipient_nonce_len;
};

static int add_pki_attrs(CMS_SignerInfo *si, const struct pki_attrs *pa)
{
	unsigned char nonce[NONCE_LEN];
	int rc;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return AP_ECRYPTO;
	if ((rc = attr_add_text(si, ATTR_TRANSACTION_ID, pa->transaction_id)) < 0 ||
	    (rc = attr_add_number(si, ATTR_MESSAGE_TYPE, pa->message_type)) < 0 ||
	    (rc = attr_add_octets(si, ATTR_SENDER_NONCE, nonce, sizeof(nonce))) < 0)
		return rc;
	if (pa->pki_status >= 0 && (rc = attr_add_number(si, ATTR_PKI_STATUS, pa->pki_status)) < 0)
		return rc;
	if (pa->fail_info >= 0 && (rc = attr_add_number(si, ATTR_FAIL_INFO, pa->fail_info)) < 0)
		return rc;
	if (pa->recipient_nonce != NULL &&
	    (rc = attr_add_octets(si, ATTR_RECIPIENT_NONCE, pa->recipient_nonce,
				  pa->recipient_nonce_len)) < 0)
		return rc;
	return 0;
}

/* ---- building blocks: sign, envelope, certs-only ---- */

/*
 * pkiMessage: SignedData over content[0..len) (eContent absent when content
 * is NULL) by signer/key with SHA-256, signer certificate included, the SCEP
 * attributes `pa` signed.  Writes *ret_der (malloc'd) only on success.
 */
static int sign_pkimessage(const unsigned char *content, size_t len, X509 *signer, EVP_PKEY *key,
			   const struct pki_attrs *pa, unsigned char **ret_der, size_t *ret_len)
{
	int rc = AP_ECRYPTO;
	unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	BIO *in = NULL;
	if (content == NULL)
		flags |= CMS_DETACHED;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (cms == NULL)
		goto out;
	CMS_SignerInfo *si = CMS_add1_signer(cms, signer, key, EVP_sha256(), flags);
	if (si == NULL)
		goto out;
	if ((rc = add_pki_attrs(si, pa)) < 0)
		goto out;
	rc = AP_ECRYPTO;
	in = BIO_new_mem_buf(content != NULL ? (const void *)content : "", (int)len);
	if (in == NULL || CMS_final(cms, in, NULL, flags) != 1)
		goto out;
	rc = item_to_der(cms, ASN1_ITEM_rptr(CMS_ContentInfo), ret_der, ret_len);
out:
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* EnvelopedData of data[0..len) for recip (RSA: key transport, EC: key
 * agreement) with cipher c; *ret malloc'd. */
static int envelope(const unsigned char *data, size_t len, X509 *recip, enum ap_scep_cipher c,
		    unsigned char **ret, size_t *ret_len)
{
	int rc = AP_ECRYPTO;
	CMS_ContentInfo *env = NULL;
	BIO *in = NULL;
	const EVP_CIPHER *cipher = cipher_evp(c);
	STACK_OF(X509) *certs = sk_X509_new_null();
	if (cipher == NULL || certs == NULL || !sk_X509_push(certs, recip))
		goto out;
	/* Key agreement wraps the content key with AES key wrap, which needs
	 * at least 16 bytes: single DES cannot go to an EC recipient. */
	EVP_PKEY *pub = X509_get0_pubkey(recip);
	if (pub == NULL)
		goto out;
	rc = AP_EUNSUPPORTED;
	if (c == AP_SCEP_DES && EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
		goto out;
	rc = AP_ECRYPTO;
	if ((in = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto out;
	if ((env = CMS_encrypt(certs, in, cipher, CMS_BINARY)) == NULL)
		goto out;
	rc = item_to_der(env, ASN1_ITEM_rptr(CMS_ContentInfo), ret, ret_len);
out:
	CMS_ContentInfo_free(env);
	BIO_free(in);
	sk_X509_free(certs);
	return rc;
}

/* Reads the cipher BIO chain to its end into buf[0..cap); the padding must
 * check out. */
static int read_plaintext(BIO *cont, unsigned char *buf, size_t cap, size_t *ret_len)
{
	size_t n = 0;
	int k;
	while (n < cap && (k = BIO_read(cont, buf + n, (int)(cap - n))) > 0)
		n += (size_t)k;
	if (n == cap)
		return AP_EPARSE; /* plaintext cannot be as long as its envelope */
	if (BIO_get_cipher_status(cont) <= 0)
		return AP_ECRYPTO;
	*ret_len = n;
	return 0;
}

/*
 * Decrypts the EnvelopedData der[0..len) as recipient cert/key.  *ret is the
 * malloc'd plaintext, *ret_cipher the content cipher the sender used.
 */
static int decrypt_envelope(const unsigned char *der, size_t len, X509 *cert, EVP_PKEY *key,
			    unsigned char **ret, size_t *ret_len, enum ap_scep_cipher *ret_cipher)
{
	int rc = AP_EPARSE;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	BIO *cont = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	enum ap_scep_cipher cipher;
	const unsigned char *p = der;
	CMS_ContentInfo *env = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (env == NULL || p != der + len || OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped)
		goto out;
	rc = AP_ECRYPTO;
	/* What CMS_decrypt() does, but keeping the cipher BIO to learn the
	 * algorithm: unwrap the content key, then stream the content. */
	if (CMS_decrypt_set1_pkey(env, key, cert) != 1)
		goto out;
	if ((cont = CMS_dataInit(env, NULL)) == NULL || BIO_method_type(cont) != BIO_TYPE_CIPHER)
		goto out;
	if (BIO_get_cipher_ctx(cont, &ctx) != 1 || ctx == NULL)
		goto out;
	if ((rc = cipher_by_nid(EVP_CIPHER_CTX_get_nid(ctx), &cipher)) < 0)
		goto out;
	rc = AP_ENOMEM;
	if ((plain = malloc(len)) == NULL)
		goto out;
	if ((rc = read_plaintext(cont, plain, len, &plain_len)) < 0)
		goto out;
	*ret = plain;
	plain = NULL;
	*ret_len = plain_len;
	*ret_cipher = cipher;
out:
	free(plain);
	BIO_free_all(cont);
	CMS_ContentInfo_free(env);
	return rc;
}

/* Degenerate certs-only PKCS#7 SignedData holding first, then second. */
static int certs_only(X509 *first, X509 *second, unsigned char **ret, size_t *ret_len)
{
	int rc = AP_ECRYPTO;
	PKCS7 *p7 = PKCS7_new();
	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed))
		goto out;
	/* content type id-data, content absent */
	p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	if (!PKCS7_add_certificate(p7, first) || !PKCS7_add_certificate(p7, second))
		goto out;
	rc = item_to_der(p7, ASN1_ITEM_rptr(PKCS7), ret, ret_len);
out:
	PKCS7_free(p7);
	return rc;
}

/* ---- reading a pkiMessage ---- */

/* A whole CMS SignedData with id-data content and exactly one signer. */
static int decode_signed(const unsigned char *der, size_t len, CMS_ContentInfo **ret)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL)
		return AP_EPARSE;
	if (p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data ||
	    sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 1) {
		CMS_ContentInfo_free(cms);
		return AP_EPARSE;
	}
	*ret = cms;
	return 0;
}

static int has_content(CMS_ContentInfo *cms)
{
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
	return pos != NULL && *pos != NULL;
}

/*
 * Verifies the one signature (and the messageDigest over the content; absent
 * content counts as empty) with the signer certificate found among the
 * message's certificates or `extra` (may be NULL).  The certificate itself is
 * not judged here.  *ret_content is a memory BIO with the content,
 * *ret_signer a new reference to the signer certificate.
 */
static int verify_signed(CMS_ContentInfo *cms, STACK_OF(X509) * extra, BIO **ret_content,
			 X509 **ret_signer)
{
	int rc = AP_ENOMEM;
	BIO *dcont = NULL;
	STACK_OF(X509) *signers = NULL;
	BIO *out = BIO_new(BIO_s_mem());
	if (out == NULL)
		goto out;
	if (!has_content(cms) && (dcont = BIO_new_mem_buf("", 0)) == NULL)
		goto out;
	rc = AP_EBADSIG;
	if (CMS_verify(cms, extra, NULL, dcont, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
		goto out;
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) != 1)
		goto out;
	X509 *signer = sk_X509_value(signers, 0);
	if (!X509_up_ref(signer))
		goto out;
	*ret_signer = signer;
	*ret_content = out;
	out = NULL;
	rc = 0;
out:
	sk_X509_free(signers);
	BIO_free(dcont);
	BIO_free(out);
	return rc;
}

static CMS_SignerInfo *the_signer_info(CMS_ContentInfo *cms)
{
	return sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
}

/* ---- server side ---- */

struct ap_scep_req {
	int type;		    /* enum ap_scep_msgtype */
	enum ap_scep_cipher cipher; /* the client's content cipher */
	char transaction_id[TRANSACTION_ID_MAX + 1];
	unsigned char sender_nonce[NONCE_MAX];
	size_t sender_nonce_len;
	char *challenge; /* malloc'd UTF-8 or NULL */
	X509_REQ *csr;	 /* owned */
	X509 *signer;	 /* owned reference */
};

const char *ap_scep_cacaps(void)
{
	return "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\nRenewal\n";
}

void ap_scep_req_free(struct ap_scep_req *r)
{
	if (r == NULL)
		return;
	if (r->challenge != NULL) {
		OPENSSL_cleanse(r->challenge, strlen(r->challenge));
		free(r->challenge);
	}
	X509_REQ_free(r->csr);
	X509_free(r->signer);
	free(r);
}

int ap_scep_req_type(const struct ap_scep_req *r)
{
	return r->type;
}

const char *ap_scep_req_transaction_id(const struct ap_scep_req *r)
{
	return r->transaction_id;
}

const char *ap_scep_req_challenge(const struct ap_scep_req *r)
{
	return r->challenge;
}

X509_REQ *ap_scep_req_csr(const struct ap_scep_req *r)
{
	return r->csr;
}

X509 *ap_scep_req_signer(const struct ap_scep_req *r)
{
	return r->signer;
}

enum ap_scep_cipher ap_scep_req_cipher(const struct ap_scep_req *r)
{
	return r->cipher;
}

int ap_scep_req_signer_issued_by(const struct ap_scep_req *r, X509 *ca_cert)
{
	if (r == NULL || ca_cert == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	int ok = issued_by(r->signer, ca_cert);
	ERR_pop_to_mark();
	return ok ? 0 : AP_EBADSIG;
}

/* The CSR's challengePassword as malloc'd UTF-8; *ret = NULL when absent. */
static int csr_challenge(X509_REQ *csr, char **ret)
{
	unsigned char *utf8 = NULL;
	int n = 0;
	int idx = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
	if (idx < 0) {
		*ret = NULL;
		return 0;
	}
	int rc = AP_EPARSE;
	X509_ATTRIBUTE *at = X509_REQ_get_attr(csr, idx);
	if (X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, idx) >= 0 || at == NULL ||
	    X509_ATTRIBUTE_count(at) != 1)
		goto out;
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(at, 0);
	if (t == NULL || !(ASN1_tag2bit(t->type) & (B_ASN1_DIRECTORYSTRING)))
		goto out;
	n = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
	if (n < 0 || n > CHALLENGE_MAX || memchr(utf8, '\0', (size_t)n) != NULL)
		goto out;
	rc = AP_ENOMEM;
	char *s = malloc((size_t)n + 1);
	if (s == NULL)
		goto out;
	memcpy(s, utf8, (size_t)n);
	s[n] = '\0';
	*ret = s;
	rc = 0;
out:
	if (utf8 != NULL) {
		OPENSSL_cleanse(utf8, (size_t)n);
		OPENSSL_free(utf8);
	}
	return rc;
}

/* The decrypted messageData of PKCSReq/RenewalReq: one self-signed CSR. */
static int parse_csr(struct ap_scep_req *r, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)len);
	int rc = AP_EPARSE;
	if (csr == NULL || p != der + len)
		goto out;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	rc = AP_EBADSIG;
	if (pub == NULL || X509_REQ_verify(csr, pub) != 1)
		goto out;
	if ((rc = csr_challenge(csr, &r->challenge)) < 0)
		goto out;
	r->csr = csr;
	csr = NULL;
out:
	X509_REQ_free(csr);
	return rc;
}

/* transactionID, messageType and senderNonce of a request. */
static int read_req_attrs(struct ap_scep_req *r, CMS_SignerInfo *si)
{
	int rc;
	if ((rc = attr_text(si, ATTR_TRANSACTION_ID, r->transaction_id,
			    sizeof(r->transaction_id))) < 0 ||
	    (rc = attr_number(si, ATTR_MESSAGE_TYPE, &r->type)) < 0 ||
	    (rc = attr_octets(si, ATTR_SENDER_NONCE, r->sender_nonce, sizeof(r->sender_nonce),
			      &r->sender_nonce_len)) < 0)
		return rc == AP_EMISSING ? AP_EPARSE : rc;
	if (r->type != AP_SCEP_PKCSREQ && r->type != AP_SCEP_RENEWALREQ)
		return AP_EUNSUPPORTED;
	return 0;
}

/* Makes the global library context the calling thread's default for one
 * SCEP operation; returns the one to restore. */
static OSSL_LIB_CTX *enter_global(void)
{
	return OSSL_LIB_CTX_set0_default(OSSL_LIB_CTX_get0_global_default());
}

/* The size of a message to read (request or CertRep); also runs the init. */
static int message_len_ok(size_t len)
{
	if (len > AP_SCEP_MAX_MESSAGE)
		return AP_ETOOBIG;
	return scep_init();
}

static int scep_req_parse(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *ca_key,
			  struct ap_scep_req **ret)
{
	int rc;
	CMS_ContentInfo *cms = NULL;
	BIO *content = NULL;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	struct ap_scep_req *r = NULL;
	if (der == NULL || ca_cert == NULL || ca_key == NULL || ret == NULL)
		return AP_EINVAL;
	if ((rc = message_len_ok(len)) < 0)
		return rc;
	ERR_set_mark();
	rc = AP_ENOMEM;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	if ((rc = decode_signed(der, len, &cms)) < 0)
		goto out;
	rc = AP_EPARSE;
	if (!has_content(cms))
		goto out;
	if ((rc = verify_signed(cms, NULL, &content, &r->signer)) < 0)
		goto out;
	if ((rc = read_req_attrs(r, the_signer_info(cms))) < 0)
		goto out;
	rc = AP_ECRYPTO;
	if (X509_check_private_key(ca_cert, ca_key) != 1)
		goto out;
	char *env = NULL;
	long env_len = BIO_get_mem_data(content, &env);
	rc = AP_EPARSE;
	if (env == NULL || env_len <= 0)
		goto out;
	if ((rc = decrypt_envelope((unsigned char *)env, (size_t)env_len, ca_cert, ca_key, &plain,
				   &plain_len, &r->cipher)) < 0)
		goto out;
	if ((rc = parse_csr(r, plain, plain_len)) < 0)
		goto out;
	*ret = r;
	r = NULL;
out:
	free(plain);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	ap_scep_req_free(r);
	ERR_pop_to_mark();
	return rc;
}

/* Arguments common to both CertRep builders; also runs the init. */
static int certrep_args_ok(const struct ap_scep_req *r, X509 *ca_cert, EVP_PKEY *ca_key,
			   unsigned char **ret_der, size_t *ret_len)
{
	if (r == NULL || ca_cert == NULL || ca_key == NULL || ret_der == NULL || ret_len == NULL)
		return AP_EINVAL;
	return scep_init();
}

static int scep_certrep_success(const struct ap_scep_req *r, X509 *issued, X509 *ca_cert,
				EVP_PKEY *ca_key, unsigned char **ret_der, size_t *ret_len)
{
	int rc;
	unsigned char *inner = NULL, *env = NULL;
	size_t inner_len = 0, env_len = 0;
	if ((rc = certrep_args_ok(r, ca_cert, ca_key, ret_der, ret_len)) < 0)
		return rc;
	if (issued == NULL)
		return AP_EINVAL;
	ERR_set_mark();
	rc = AP_EINVAL;
	if (X509_check_private_key(ca_cert, ca_key) != 1)
		goto out;
	if (r->csr != NULL &&
	    EVP_PKEY_eq(X509_get0_pubkey(issued), X509_REQ_get0_pubkey(r->csr)) != 1)
		goto out;
	if ((rc = certs_only(issued, ca_cert, &inner, &inner_len)) < 0)
		goto out;
	enum ap_scep_cipher cipher = reply_cipher(r->cipher);
	if ((rc = envelope(inner, inner_len, r->signer, cipher, &env, &env_len)) < 0)
		goto out;
	const struct pki_attrs pa = {
	    .message_type = AP_SCEP_CERTREP,
	    .transaction_id = r->transaction_id,
	    .pki_status = PKI_STATUS_SUCCESS,
	    .fail_info = -1,
	    .recipient_nonce = r->sender_nonce,
	    .recipient_nonce_len = r->sender_nonce_len,
	};
	rc = sign_pkimessage(env, env_len, ca_cert, ca_key, &pa, ret_der, ret_len);
out:
	free(inner);
	free(env);
	ERR_pop_to_mark();
	return rc;
}

static int scep_certrep_failure(const struct ap_scep_req *r, enum ap_scep_failinfo fi,
				X509 *ca_cert, EVP_PKEY *ca_key, unsigned char **ret_der,
				size_t *ret_len)
{
	int rc;
	if ((rc = certrep_args_ok(r, ca_cert, ca_key, ret_der, ret_len)) < 0)
		return rc;
	if ((int)fi < AP_SCEP_BADALG || (int)fi > AP_SCEP_BADCERTID)
		return AP_EINVAL;
	ERR_set_mark();
	rc = AP_EINVAL;
	if (X509_check_private_key(ca_cert, ca_key) != 1)
		goto out;
	const struct pki_attrs pa = {
	    .message_type = AP_SCEP_CERTREP,
	    .transaction_id = r->transaction_id,
	    .pki_status = PKI_STATUS_FAILURE,
	    .fail_info = (int)fi,
	    .recipient_nonce = r->sender_nonce,
	    .recipient_nonce_len = r->sender_nonce_len,
	};
	rc = sign_pkimessage(NULL, 0, ca_cert, ca_key, &pa, ret_der, ret_len);
out:
	ERR_pop_to_mark();
	return rc;
}

int ap_scep_cacert(X509 *ca_cert, unsigned char **ret_der, size_t *ret_len)
{
	return ap_x509_to_der(ca_cert, ret_der, ret_len);
}

/* ---- client side ---- */

/* PKCS#10 request for key: CN=cn, challengePassword when not NULL. */
static int build_csr(EVP_PKEY *key, const char *cn, const char *challenge, unsigned char **ret,
		     size_t *ret_len)
{
	int rc = AP_ECRYPTO;
	X509_REQ *csr = X509_REQ_new();
	if (csr == NULL || !X509_REQ_set_version(csr, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_pubkey(csr, key))
		goto out;
	rc = AP_EINVAL;
	if (!X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr), "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		goto out;
	if (challenge != NULL &&
	    !X509_REQ_add1_attr_by_NID(csr, NID_pkcs9_challengePassword, MBSTRING_UTF8,
				       (const unsigned char *)challenge, -1))
		goto out;
	rc = AP_ECRYPTO;
	if (X509_REQ_sign(csr, key, EVP_sha256()) <= 0)
		goto out;
	rc = item_to_der(csr, ASN1_ITEM_rptr(X509_REQ), ret, ret_len);
out:
	X509_REQ_free(csr);
	return rc;
}

static int scep_client_request(EVP_PKEY *key, const char *cn, const char *challenge, X509 *ca_cert,
			       enum ap_scep_cipher cipher, unsigned char **ret_der, size_t *ret_len,
			       X509 **ret_selfsigned)
{
	int rc;
	unsigned char *csr = NULL, *env = NULL;
	size_t csr_len = 0, env_len = 0;
	X509 *self = NULL;
	char tid[65];
	if (key == NULL || cn == NULL || ca_cert == NULL || ret_der == NULL || ret_len == NULL ||
	    ret_selfsigned == NULL || cipher_evp(cipher) == NULL)
		return AP_EINVAL;
	if ((rc = scep_init()) < 0)
		return rc;
	ERR_set_mark();
	if ((rc = build_csr(key, cn, challenge, &csr, &csr_len)) < 0)
		goto out;
	if ((rc = ap_x509_make_selfsigned(key, cn, SELFSIGNED_DAYS, &self)) < 0)
		goto out;
	if ((rc = envelope(csr, csr_len, ca_cert, cipher, &env, &env_len)) < 0)
		goto out;
	if ((rc = key_transaction_id(key, tid)) < 0)
		goto out;
	const struct pki_attrs pa = {
	    .message_type = AP_SCEP_PKCSREQ,
	    .transaction_id = tid,
	    .pki_status = -1,
	    .fail_info = -1,
	};
	if ((rc = sign_pkimessage(env, env_len, self, key, &pa, ret_der, ret_len)) < 0)
		goto out;
	*ret_selfsigned = self;
	self = NULL;
out:
	free(csr);
	free(env);
	X509_free(self);
	ERR_pop_to_mark();
	return rc;
}

/* The first certificate of the certs-only SignedData der[0..len) whose
 * public key is key's. */
static int find_issued(const unsigned char *der, size_t len, EVP_PKEY *key, X509 **ret)
{
	int rc = AP_EPARSE;
	STACK_OF(X509) *certs = NULL;
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL || p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		goto out;
	if ((certs = CMS_get1_certs(cms)) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (EVP_PKEY_eq(X509_get0_pubkey(c), key) == 1 && X509_up_ref(c)) {
			*ret = c;
			rc = 0;
			break;
		}
	}
out:
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* The signer is the CA itself or a certificate (an RA) the CA issued. */
static int signer_ok(X509 *signer, X509 *ca_cert)
{
	return X509_cmp(signer, ca_cert) == 0 || issued_by(signer, ca_cert);
}

/* CertRep attributes: messageType 3, our transactionID, a senderNonce. */
static int check_certrep_attrs(CMS_SignerInfo *si, EVP_PKEY *key)
{
	char want[65], got[TRANSACTION_ID_MAX + 1];
	unsigned char nonce[NONCE_MAX];
	size_t nonce_len;
	int type, rc;
	if ((rc = attr_number(si, ATTR_MESSAGE_TYPE, &type)) < 0 ||
	    (rc = attr_text(si, ATTR_TRANSACTION_ID, got, sizeof(got))) < 0 ||
	    (rc = attr_octets(si, ATTR_SENDER_NONCE, nonce, sizeof(nonce), &nonce_len)) < 0)
		return rc == AP_EMISSING ? AP_EPARSE : rc;
	if (type != AP_SCEP_CERTREP)
		return AP_EPARSE;
	if ((rc = key_transaction_id(key, want)) < 0)
		return rc;
	return strcmp(want, got) == 0 ? 0 : AP_ECONFLICT;
}

/* SUCCESS content: decrypt, then pick our certificate. */
static int certrep_cert(BIO *content, EVP_PKEY *key, X509 *selfsigned, X509 **ret)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	enum ap_scep_cipher cipher;
	char *env = NULL;
	long env_len = BIO_get_mem_data(content, &env);
	if (env == NULL || env_len <= 0)
		return AP_EPARSE;
	int rc = decrypt_envelope((unsigned char *)env, (size_t)env_len, selfsigned, key, &plain,
				  &plain_len, &cipher);
	if (rc < 0)
		return rc;
	rc = find_issued(plain, plain_len, key, ret);
	free(plain);
	return rc;
}

static int scep_client_response(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *key,
				X509 *selfsigned, X509 **ret_cert, int *ret_failinfo)
{
	int rc, status, fail_info = -1;
	CMS_ContentInfo *cms = NULL;
	BIO *content = NULL;
	X509 *signer = NULL;
	STACK_OF(X509) *extra = NULL;
	if (der == NULL || ca_cert == NULL || key == NULL || selfsigned == NULL || ret_cert == NULL)
		return AP_EINVAL;
	if ((rc = message_len_ok(len)) < 0)
		return rc;
	ERR_set_mark();
	if ((rc = decode_signed(der, len, &cms)) < 0)
		goto out;
	rc = AP_ENOMEM;
	if ((extra = sk_X509_new_null()) == NULL || !sk_X509_push(extra, ca_cert))
		goto out;
	if ((rc = verify_signed(cms, extra, &content, &signer)) < 0)
		goto out;
	rc = AP_EBADSIG;
	if (!signer_ok(signer, ca_cert))
		goto out;
	CMS_SignerInfo *si = the_signer_info(cms);
	if ((rc = check_certrep_attrs(si, key)) < 0)
		goto out;
	if ((rc = attr_number(si, ATTR_PKI_STATUS, &status)) < 0) {
		rc = AP_EPARSE;
		goto out;
	}
	switch (status) {
	case PKI_STATUS_SUCCESS:
		rc = certrep_cert(content, key, selfsigned, ret_cert);
		break;
	case PKI_STATUS_FAILURE:
		rc = attr_number(si, ATTR_FAIL_INFO, &fail_info);
		if (rc < 0 && rc != AP_EMISSING)
			break;
		if (ret_failinfo != NULL)
			*ret_failinfo = fail_info;
		rc = AP_EFORBIDDEN;
		break;
	case PKI_STATUS_PENDING:
		rc = AP_EBUSY;
		break;
	default:
		rc = AP_EPARSE;
	}
out:
	X509_free(signer);
	sk_X509_free(extra);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	ERR_pop_to_mark();
	return rc;
}

/* The public entry points run in the global library context, where init()
 * loaded the legacy provider (single DES): a daemon worker makes its own
 * context its thread's default, and loads only "default" there (every
 * provider more slows each certificate parse of its handshakes). */
int ap_scep_req_parse(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *ca_key,
		      struct ap_scep_req **ret)
{
	OSSL_LIB_CTX *prev = enter_global();
	int rc = scep_req_parse(der, len, ca_cert, ca_key, ret);
	OSSL_LIB_CTX_set0_default(prev);
	return rc;
}

int ap_scep_certrep_success(const struct ap_scep_req *r, X509 *issued, X509 *ca_cert,
			    EVP_PKEY *ca_key, unsigned char **ret_der, size_t *ret_len)
{
	OSSL_LIB_CTX *prev = enter_global();
	int rc = scep_certrep_success(r, issued, ca_cert, ca_key, ret_der, ret_len);
	OSSL_LIB_CTX_set0_default(prev);
	return rc;
}

int ap_scep_certrep_failure(const struct ap_scep_req *r, enum ap_scep_failinfo fi, X509 *ca_cert,
			    EVP_PKEY *ca_key, unsigned char **ret_der, size_t *ret_len)
{
	OSSL_LIB_CTX *prev = enter_global();
	int rc = scep_certrep_failure(r, fi, ca_cert, ca_key, ret_der, ret_len);
	OSSL_LIB_CTX_set0_default(prev);
	return rc;
}

int ap_scep_client_request(EVP_PKEY *key, const char *cn, const char *challenge, X509 *ca_cert,
			   enum ap_scep_cipher cipher, unsigned char **ret_der, size_t *ret_len,
			   X509 **ret_selfsigned)
{
	OSSL_LIB_CTX *prev = enter_global();
	int rc = scep_client_request(key, cn, challenge, ca_cert, cipher, ret_der, ret_len,
				     ret_selfsigned);
	OSSL_LIB_CTX_set0_default(prev);
	return rc;
}

int ap_scep_client_response(const unsigned char *der, size_t len, X509 *ca_cert, EVP_PKEY *key,
			    X509 *selfsigned, X509 **ret_cert, int *ret_failinfo)
{
	OSSL_LIB_CTX *prev = enter_global();
	int rc = scep_client_response(der, len, ca_cert, key, selfsigned, ret_cert, ret_failinfo);
	OSSL_LIB_CTX_set0_default(prev);
	return rc;
}
