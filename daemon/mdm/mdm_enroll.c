/*
 * mdm_enroll.c - GET /mdm/enroll (the enrolment profile) and /scep
 * (RFC 8894: the device gets its identity certificate).
 *
 * The profile is given to a staff account (bearer token: a fresh one-time
 * code is made and embedded) or to whoever holds a one-time enrolment code
 * (?code=...).  The code is the SCEP challenge: /scep consumes it, so one
 * code yields one device identity, and the certificate is recorded with
 * the code and the SCEP transaction that paid for it (the same
 * transaction, the code's use and the audit row): the first Authenticate
 * binds it to one UDID for ever (db_mdm.h).
 */
#include "ap_enroll.h"
#include "ap_err.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "api.h"
#include "authz.h"
#include "db_audit.h"
#include "db_mdm.h"
#include "keystore.h"
#include "log.h"
#include "mdm.h"
#include "worker.h"
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENROLL_CODE_TTL (7 * 86400)

/* The code to embed: ?code=... checked, or a new one for a staff account.
 * On success the download's transaction is open (api_begin(); the new
 * code is written in it); answers itself on failure. */
static int enrolment_code(struct req *r, char code[65])
{
	if (api_query(r, "code", code, 65) == 0) {
		int rc = db_enroll_code_check(r->w->db, code);
		if (rc < 0)
			return api_refuse(r, AP_EAUTH, 403,
					  "enrolment code unknown, used or expired");
		return api_begin(r);
	}
	if (ap_http_header(r->http, "authorization") == NULL)
		return api_refuse(r, AP_EAUTH, 401,
				  "an enrolment code (?code=) or a staff token is required");
	if (api_authenticate(r) < 0)
		return AP_EAUTH;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return AP_EFORBIDDEN;
	int rc = api_begin(r);
	if (rc < 0)
		return rc;
	rc = db_enroll_code_new(r->w->db, NULL, r->acct.name, ENROLL_CODE_TTL, 1, code);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 503, "cannot make an enrolment code");
	}
	return rc;
}

int mdm_enroll_profile(struct worker *w, const char *code, int sign, unsigned char **ret,
		       size_t *ret_len)
{
	const struct config *c = &w->srv->cfg;
	char base[300], server_url[340], checkin_url[340], scep_url[340], seed[80];
	unsigned char *ca_der = NULL, *signed_der = NULL;
	size_t ca_len = 0, signed_len = 0, xml_len = 0;
	char *xml = NULL;
	int rc;

	mdm_public_url(w, base, sizeof(base));
	snprintf(server_url, sizeof(server_url), "%s/mdm/connect", base);
	snprintf(checkin_url, sizeof(checkin_url), "%s/mdm/checkin", base);
	snprintf(scep_url, sizeof(scep_url), "%s/scep", base);
	X509 *ca = keystore_ca_cert(w->srv->ks);
	ap_x509_fingerprint(ca, seed);
	if ((rc = ap_x509_to_der(ca, &ca_der, &ca_len)) < 0)
		goto out;
	struct ap_enroll_params p = {
	    .server_url = server_url,
	    .checkin_url = checkin_url,
	    .topic = c->topic,
	    .scep_url = scep_url,
	    .scep_challenge = code,
	    .scep_subject_cn = "Ardoise device",
	    .ca_der = ca_der,
	    .ca_der_len = ca_len,
	    .organization = c->organization,
	    .identifier = "fr.ardoise.enroll",
	    .uuid_seed = seed,
	};
	if ((rc = ap_enroll_profile_build(&p, &xml, &xml_len)) < 0)
		goto out;
	if (!sign) {
		*ret = (unsigned char *)xml;
		*ret_len = xml_len;
		xml = NULL;
		goto out;
	}
	if ((rc = keystore_sign(w->srv->ks, xml, xml_len, &signed_der, &signed_len)) < 0)
		goto out;
	*ret = signed_der;
	*ret_len = signed_len;
out:
	free(ca_der);
	free(xml);
	return rc;
}

/* The profile for code, answered with its audit row written in the
 * download's transaction (enrolment_code()): no new code and no profile
 * without the row. */
static void enroll_answer(struct req *r, const char *code)
{
	char unsigned_q[8];
	unsigned char *profile = NULL;
	size_t len = 0;
	int want_unsigned = api_query(r, "unsigned", unsigned_q, sizeof(unsigned_q)) == 0 &&
			    strcmp(unsigned_q, "0") != 0;
	int rc = mdm_enroll_profile(r->w, code, !want_unsigned, &profile, &len);
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 500, "cannot build the enrolment profile: %s", ap_strerror(rc));
		return;
	}
	if (api_commit(r, "enroll.profile", "",
		       r->has_acct ? "downloaded by staff" : "downloaded with code", NULL) == 0) {
		if (mdm_answer_profile(r, profile, len) == 0)
			ap_http_resp_add_header(
			    r->resp, "Content-Disposition",
			    "attachment; filename=\"ardoise-enroll.mobileconfig\"");
	}
	free(profile);
}

int mdm_answer_profile(struct req *r, const unsigned char *profile, size_t len)
{
	r->resp->status = 200;
	r->resp->content_type = "application/x-apple-aspen-config";
	ap_buf_reset(&r->resp->body);
	if (ap_buf_append(&r->resp->body, profile, len) < 0) {
		api_fail(r, AP_ETOOBIG, 500, "cannot build the enrolment profile: %s",
			 ap_strerror(AP_ETOOBIG));
		return AP_ETOOBIG;
	}
	return 0;
}

void mdm_enroll(struct req *r)
{
	char code[65];
	if (enrolment_code(r, code) == 0)
		enroll_answer(r, code);
}

static void answer_bytes(struct req *r, const char *ctype, const void *data, size_t len)
{
	r->resp->status = 200;
	r->resp->content_type = ctype;
	ap_buf_reset(&r->resp->body);
	if (ap_buf_append(&r->resp->body, data, len) < 0)
		api_fail(r, AP_ETOOBIG, 500, "answer too large");
}

/* The PKIOperation message: the POST body, or ?message= (base64) on GET. */
static int pki_message(struct req *r, unsigned char **ret, size_t *ret_len)
{
	if (strcmp(r->http->method, "POST") == 0) {
		struct ap_buf *b = &r->http->body;
		if (b->len == 0 || b->len > AP_SCEP_MAX_MESSAGE)
			return AP_ETOOBIG;
		unsigned char *p = malloc(b->len);
		if (p == NULL)
			return AP_ENOMEM;
		memcpy(p, b->data, b->len);
		*ret = p;
		*ret_len = b->len;
		return 0;
	}
	size_t cap = AP_SCEP_MAX_MESSAGE * 4 / 3 + 8;
	char *b64 = malloc(cap);
	unsigned char *out = malloc(cap);
	int n;
	if (b64 == NULL || out == NULL || api_query(r, "message", b64, cap) < 0 ||
	    (n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64))) <= 0) {
		free(b64);
		free(out);
		return AP_EPARSE;
	}
	size_t l = strlen(b64); /* EVP_DecodeBlock counts padding as zero bytes */
	while (l > 0 && b64[l - 1] == '=') {
		n--;
		l--;
	}
	free(b64);
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

/* Consumes the code and records the certificate it paid for, with the
 * audit row, in one transaction; AP_EAUTH when the code is no longer good
 * (used up meanwhile): the certificate is then never handed out. */
static int record_issued(struct req *r, const char *code, const char *tx, const char *fp)
{
	struct db *db = r->w->db;
	char used_by[120];
	snprintf(used_by, sizeof(used_by), "scep:%.100s", tx ? tx : "");
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_enroll_code_use(db, code, used_by)) == 0 &&
	    (rc = db_mdm_identity_issued(db, fp, code, tx)) == 0 &&
	    (rc = db_enroll_code_cert(db, code, fp)) == 0) /* a code bound to a tablet */
		rc = db_audit_append(db, "system", "device.identity_issued", fp, "SCEP", "");
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

static void scep_pki_operation(struct req *r)
{
	struct keystore *ks = r->w->srv->ks;
	struct ap_scep_req *req = NULL;
	unsigned char *msg = NULL, *der = NULL;
	size_t len = 0, der_len = 0;
	char fp[65];
	int rc = pki_message(r, &msg, &len);
	if (rc < 0) {
		api_fail(r, rc, rc == AP_ETOOBIG ? 413 : 400,
			 "PKIOperation needs a PKCS#7 message");
		return;
	}
	rc = keystore_scep_open(ks, msg, len, &req);
	free(msg);
	if (rc < 0) {
		api_fail(r, rc, 400, "cannot read the SCEP message: %s", ap_strerror(rc));
		return;
	}
	const char *challenge = ap_scep_req_challenge(req);
	rc = challenge ? db_enroll_code_check(r->w->db, challenge) : AP_EAUTH;
	if (rc == 0)
		rc = keystore_scep_issue(ks, req, (int)r->w->srv->cfg.device_cert_days, fp, &der,
					 &der_len);
	if (rc == 0 &&
	    (rc = record_issued(r, challenge, ap_scep_req_transaction_id(req), fp)) < 0) {
		free(der); /* never handed out */
		der = NULL;
	}
	if (rc == AP_EAUTH) {
		log_warn("scep_refused", "id=%s peer=%s reason=bad_challenge", r->id, r->peer);
		rc = keystore_scep_reject(ks, req, AP_SCEP_BADREQUEST, &der, &der_len);
	} else if (rc == 0) {
		log_info("scep_issued", "id=%s cert=%s", r->id, fp);
	}
	if (rc < 0)
		api_fail(r, rc, 500, "cannot answer the SCEP request: %s", ap_strerror(rc));
	else
		answer_bytes(r, "application/x-pki-message", der, der_len);
	free(der);
	ap_scep_req_free(req);
}

void mdm_scep(struct req *r)
{
	char op[40];
	if (api_query(r, "operation", op, sizeof(op)) < 0) {
		api_fail(r, AP_EMISSING, 400,
			 "missing ?operation= (GetCACaps, GetCACert, PKIOperation)");
		return;
	}
	if (strcmp(op, "GetCACaps") == 0) {
		const char *caps = ap_scep_cacaps();
		answer_bytes(r, "text/plain", caps, strlen(caps));
	} else if (strcmp(op, "GetCACert") == 0) {
		unsigned char *der = NULL;
		size_t len = 0;
		if (keystore_scep_cacert(r->w->srv->ks, &der, &len) < 0)
			api_fail(r, AP_ECRYPTO, 500, "cannot encode the CA certificate");
		else
			answer_bytes(r, "application/x-x509-ca-cert", der, len);
		free(der);
	} else if (strcmp(op, "PKIOperation") == 0) {
		scep_pki_operation(r);
	} else {
		api_fail(r, AP_EUNSUPPORTED, 400, "unknown SCEP operation '%s'", op);
	}
}

const struct route mdm_enroll_routes[] = {
    {"GET", "/mdm/enroll", AUTH_NONE, mdm_enroll},
    {"GET", "/scep", AUTH_NONE, mdm_scep},
    {"POST", "/scep", AUTH_NONE, mdm_scep},
    {NULL, NULL, AUTH_NONE, NULL},
};
