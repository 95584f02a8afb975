/*
 * mdm.c - PUT /mdm/checkin and /mdm/connect: who the device is, what it
 * says, and the next command it gets.
 *
 * Identity: the verified TLS client certificate, or the Mdm-Signature
 * header (detached CMS over the body) when TLS ends at a proxy; when both
 * are present they must name the same certificate.  Authenticate binds the
 * certificate's fingerprint to the UDID, for ever: a certificate serves one
 * tablet (db_mdm.h, enum db_mdm_bind), and every later message for that
 * UDID must come with the same certificate (403 otherwise) until a newer
 * certificate from Ardoise's SCEP replaces it (a tablet wiped without
 * CheckOut enrols again) or staff release it.  Trust is decided before the
 * body is parsed: a certificate Ardoise knows as bound, or one that chains
 * to a device CA.  User channels (Shared iPad, macOS users) are not
 * managed: their messages get 410 and never touch the device record.
 *
 * A report and the next command are handled in one transaction, committed
 * before the answer is written: what the device was told is durable.
 */
#include "mdm.h"
#include "ap_cms.h"
#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "ap_result.h"
#include "ap_x509.h"
#include "api_reply.h"
#include "cmdq.h"
#include "db_audit.h"
#include "db_command.h"
#include "db_mdm.h"
#include "db_mdm_cache.h"
#include "ddm.h"
#include "keystore.h"
#include "log.h"
#include "mdm_ddm.h"
#include "metrics.h"
#include "secret.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What follows a tablet's first TokenUpdate (mdm_on_enrolled()). */
static int (*on_enrolled)(struct worker *w, int64_t device_id);

static void answer_empty(struct req *r)
{
	r->resp->status = 200;
	r->resp->content_type = NULL;
	ap_buf_reset(&r->resp->body);
}

/* 403/401 to a device, with a log line; never the "unrecognized device"
 * body, which would make the device unenrol. */
static void refuse(struct req *r, int status, const char *udid, const char *why)
{
	char u[160], w[300];
	log_warn("device_refused", "id=%s peer=%s udid=%s status=%d reason=%s", r->id, r->peer,
		 log_esc(udid, u, sizeof(u)), status, log_esc(why, w, sizeof(w)));
	api_fail(r, status == 401 ? AP_EAUTH : AP_EFORBIDDEN, status, "%s", why);
}

/* Whether the identity certificate chains to a device CA.  Asked only
 * where it matters: when Authenticate binds a certificate to a UDID, and
 * to word a refusal.  A later session presenting the bound certificate
 * (same fingerprint) needs no chain check: it was checked when bound, and
 * the handshake proved the tablet holds its key. */
static int peer_trusted(struct req *r)
{
	if (r->peer_verified < 0)
		r->peer_verified = ap_x509_client_chain_ok(r->peer_cert, r->peer_chain,
							   keystore_device_trust(r->w->srv->ks));
	return r->peer_verified;
}

/* The identity certificate when it came in an Mdm-Signature: borrowed
 * from the connection's signer cache (r->sig_cache), or from one of the
 * request's own (tmp, freed by mdm_endpoint) when the request has none. */
struct sig_identity {
	struct ap_cms_signer sig; /* sig.cert NULL: no signature */
	struct ap_cms_signer_cache *tmp;
};

/* The device identity of a request: its certificate's SHA-256, and what
 * Ardoise knows of that certificate (known.id 0: never seen). */
struct ident {
	char fp[65];
	struct db_mdm_identity known;
};

/* Fingerprint of the device identity of this request into fp: the TLS
 * client certificate and/or the Mdm-Signature signer (the same one when
 * both), in its validity period.  Its chain is checked by peer_trusted()
 * when the identity is bound or refused; a signer without TLS certificate
 * becomes r->peer_cert for that (its certificates r->peer_chain). */
static int device_identity(struct req *r, struct sig_identity *own, char fp[65], const char **why)
{
	const char *sig = ap_http_header(r->http, "mdm-signature");
	const char *sig_fp = NULL;
	if (sig) {
		struct ap_buf *b = &r->http->body;
		struct ap_cms_signer_cache *cache = r->sig_cache;
		if (cache == NULL && (cache = own->tmp = ap_cms_signer_cache_new()) == NULL) {
			*why = "out of memory";
			return AP_ENOMEM;
		}
		if (ap_cms_verify_signature_cached(cache, sig, b->data ? b->data : "", b->len,
						   &own->sig) < 0) {
			own->sig.cert = NULL;
			*why = "Mdm-Signature does not verify";
			return AP_EBADSIG;
		}
		sig_fp = own->sig.fp;
		if (r->peer_cert == NULL) { /* behind a TLS-terminating proxy */
			r->peer_cert = own->sig.cert;
			r->peer_chain = own->sig.certs;
			r->peer_fp = own->sig.fp;
			r->peer_verified = *own->sig.verified;
		}
	}
	if (r->peer_cert) {
		if (X509_cmp_current_time(X509_get0_notBefore(r->peer_cert)) >= 0 ||
		    X509_cmp_current_time(X509_get0_notAfter(r->peer_cert)) <= 0) {
			*why = "client certificate expired or not yet valid";
			return AP_EBADSIG;
		}
		if (r->peer_fp && r->peer_fp[0])
			memcpy(fp, r->peer_fp, 65);
		else
			ap_x509_fingerprint(r->peer_cert, fp);
		if (sig_fp && strcmp(sig_fp, fp) != 0) {
			*why = "Mdm-Signature and TLS client certificate differ";
			return AP_EBADSIG;
		}
		return 0;
	}
	*why = "no device identity: present the enrolment certificate or Mdm-Signature";
	return AP_EAUTH;
}

void mdm_on_enrolled(int (*fn)(struct worker *w, int64_t device_id))
{
	on_enrolled = fn;
}

void mdm_public_url(struct worker *w, char *out, size_t cap)
{
	const struct config *c = &w->srv->cfg;
	if (c->public_url[0])
		snprintf(out, cap, "%s", c->public_url);
	else
		snprintf(out, cap, "https://%s:%d", c->hostname, w->srv->port);
	size_t n = strlen(out);
	if (n && out[n - 1] == '/')
		out[n - 1] = '\0';
}

static const enum ap_cmd_type initial_inventory[] = {
    AP_CMD_DEVICE_INFORMATION,
    AP_CMD_SECURITY_INFO,
    AP_CMD_PROFILE_LIST,
    AP_CMD_INSTALLED_APPLICATION_LIST,
    /* escrow the Activation Lock bypass code while we can (supervised) */
    AP_CMD_ACTIVATION_LOCK_BYPASS_CODE,
};

static void queue_initial(struct req *r, int64_t id, const char *udid)
{
	char uuid[37];
	for (size_t i = 0; i < sizeof(initial_inventory) / sizeof(initial_inventory[0]); i++) {
		struct cmd_order o = {.device_id = id,
				      .type = initial_inventory[i],
				      .origin = "enrolment",
				      .requested_by = "system"};
		int rc = cmdq_queue(r->w, &o, uuid, NULL, 0);
		if (rc < 0 && rc != AP_ECONFLICT)
			log_warn("queue_failed", "id=%s udid=%s type=%s error=\"%s\"", r->id, udid,
				 ap_cmd_name(initial_inventory[i]), ap_strerror(rc));
	}
}

/* An identity issued with a Return-to-Service code enrols only the tablet
 * the code was made for: 1 when fp is such an identity and the serial
 * matches, 0 when fp is not one, < 0 when refused (answered). */
static int bound_serial_ok(struct req *r, const struct ap_checkin *ci, const char *fp)
{
	char serial[65];
	int rc = db_enroll_cert_serial(r->w->db, fp, serial);
	if (rc == AP_ENOTFOUND)
		return 0;
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot read the identity: %s", ap_strerror(rc));
		return rc;
	}
	if (ci->serial == NULL || strcmp(ci->serial, serial) != 0) {
		refuse(r, 403, ci->udid,
		       "this identity comes from a Return-to-Service code made for another tablet");
		return AP_EFORBIDDEN;
	}
	return 1;
}

/* Why an Authenticate is refused, per enum db_mdm_bind refusal. */
static const char *const bind_refusals[] = {
    [DB_MDM_BIND_CERT_ELSEWHERE] = "this certificate is bound to another tablet"
				   " (one certificate, one tablet)",
    [DB_MDM_BIND_CERT_ENDED] = "this certificate was replaced or released: enrol again",
    [DB_MDM_BIND_UDID_TAKEN] = "this UDID is enrolled with another certificate",
    [DB_MDM_BIND_SERIAL_TAKEN] = "this serial number belongs to another UDID",
    [DB_MDM_BIND_SERIAL_DIFFERS] = "this UDID is recorded with another serial number",
};

/* The audit row of a re-binding, in the Authenticate's transaction. */
static int audit_rebind(struct req *r, const struct ap_checkin *ci, const struct db_mdm_bound *b,
			const char *fp)
{
	struct db_device d;
	char detail[200];
	int rc = db_mdm_by_id(r->w->db, b->id, &d);
	if (rc < 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"old_cert\":\"%s\",\"new_cert\":\"%s\"}", b->old_fp,
		 fp);
	return db_audit_append(r->w->db, "system", "device.rebind",
			       d.serial[0] ? d.serial : ci->udid,
			       "re-enrolled with a newer certificate from Ardoise's SCEP", detail);
}

/* Binds fp to the UDID (db_mdm_authenticate) and audits a re-binding, in
 * one transaction; an identity from a Return-to-Service code (rts) uses
 * the code up there too. */
static int bind_identity(struct req *r, const struct ap_checkin *ci, const char *fp, int rts,
			 struct db_mdm_bound *ret)
{
	struct db_mdm_auth a = {.udid = ci->udid,
				.serial = ci->serial,
				.topic = ci->topic,
				.os_version = ci->os_version,
				.build_version = ci->build_version,
				.product_name = ci->product_name,
				.cert_fp = fp,
				.trust_id = keystore_device_trust_id(r->w->srv->ks)};
	struct db_mdm_bound b;
	int rc = db_begin(r->w->db);
	if (rc < 0)
		return rc;
	rc = db_mdm_authenticate(r->w->db, &a, &b);
	if (rc == 0 && b.how == DB_MDM_BIND_REPLACED)
		rc = audit_rebind(r, ci, &b, fp);
	if (rc == 0 && b.how < DB_MDM_BIND_REFUSED && rts)
		rc = db_enroll_cert_used(r->w->db, fp);
	if (rc < 0) {
		db_rollback(r->w->db);
		return rc;
	}
	if ((rc = db_commit(r->w->db)) == 0)
		*ret = b;
	return rc;
}

static void on_authenticate(struct req *r, const struct ap_checkin *ci, const struct ident *id)
{
	const char *fp = id->fp;
	const struct config *c = &r->w->srv->cfg;
	struct db_mdm_bound b;
	if (r->peer_cert && !peer_trusted(r)) {
		refuse(r, 403, ci->udid, "client certificate not issued by a trusted device CA");
		return;
	}
	if (strcmp(ci->topic, c->topic) != 0) {
		refuse(r, 403, ci->udid, "Topic does not match this server's push topic");
		return;
	}
	int rts = bound_serial_ok(r, ci, fp);
	if (rts < 0)
		return;
	int rc = bind_identity(r, ci, fp, rts, &b);
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot record the device: %s", ap_strerror(rc));
		return;
	}
	if (b.how >= DB_MDM_BIND_REFUSED) {
		refuse(r, 403, ci->udid, bind_refusals[b.how]);
		return;
	}
	if (b.how == DB_MDM_BIND_REPLACED)
		log_warn("device_rebound", "id=%s device=%lld old_cert=%.16s new_cert=%.16s", r->id,
			 (long long)b.id, b.old_fp, fp);
	log_info("device_authenticate", "id=%s device=%lld", r->id, (long long)b.id);
	answer_empty(r);
}

/* The bound identity was checked under another set of trust anchors
 * ([mdm] device_ca changed since): its chain is checked once again, so
 * that removing an anchor shuts out the tablets it vouched for. */
static int trust_rechecked(struct req *r, struct db_device *d)
{
	const char *now = keystore_device_trust_id(r->w->srv->ks);
	if (strcmp(d->trust_id, now) == 0)
		return 0;
	if (!peer_trusted(r)) {
		refuse(r, 403, d->udid,
		       "client certificate no longer issued by a trusted device CA"
		       " ([mdm] device_ca changed)");
		return AP_EBADSIG;
	}
	int rc = db_mdm_set_trust(r->w->db, d->id, now);
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot record the device: %s", ap_strerror(rc));
		return rc;
	}
	snprintf(d->trust_id, sizeof(d->trust_id), "%s", now);
	return 0;
}

/* The device record for udid, checked against the identity fp. */
static int bound_device(struct req *r, const char *udid, const struct ident *id,
			struct db_device *d)
{
	const char *fp = id->fp;
	int rc = db_mdm_session_device(r->w->db, udid, fp, d);
	if (rc == 0 && strcmp(d->cert_fp, fp) == 0)
		return trust_rechecked(r, d);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		api_fail(r, rc, 503, "cannot read the device: %s", ap_strerror(rc));
		return rc;
	}
	if (r->peer_cert && !peer_trusted(r)) {
		refuse(r, 403, udid, "client certificate not issued by a trusted device CA");
		return AP_EBADSIG;
	}
	if (id->known.udid[0] && strcmp(id->known.udid, udid) != 0) {
		refuse(r, 403, udid, bind_refusals[DB_MDM_BIND_CERT_ELSEWHERE]);
		return AP_EBADSIG;
	}
	if (rc == AP_ENOTFOUND) {
		refuse(r, 401, udid, "unknown device: enrol first");
		return rc;
	}
	refuse(r, 403, udid, "certificate is not the one bound to this UDID");
	return AP_EBADSIG;
}

/* Stores the push credentials; the first time, queues the initial
 * inventory and writes the enrolment's audit row, in one transaction. */
static int token_update(struct req *r, const struct ap_checkin *ci, const struct db_device *d,
			const unsigned char *sealed, size_t sealed_len, int *first)
{
	int rc = db_begin(r->w->db);
	if (rc < 0)
		return rc;
	rc = db_mdm_token_update(r->w->db, d->id, ci->token, ci->token_len, ci->push_magic,
				 ci->topic, sealed, sealed_len, ci->awaiting_configuration, first);
	if (rc == 0 && *first) {
		queue_initial(r, d->id, ci->udid);
		rc = db_audit_append(r->w->db, "system", "device.enrolled",
				     d->serial[0] ? d->serial : ci->udid, "", "");
	}
	if (rc < 0) {
		db_rollback(r->w->db);
		return rc;
	}
	return db_commit(r->w->db);
}

static void on_token_update(struct req *r, const struct ap_checkin *ci, const struct ident *id)
{
	struct db_device d;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	int first = 0, rc;
	if (bound_device(r, ci->udid, id, &d) < 0)
		return;
	if (ci->unlock_token &&
	    (rc = keystore_seal(r->w->srv->ks, KEYSTORE_UNLOCK_TOKEN, ci->udid, ci->unlock_token,
				ci->unlock_token_len, &sealed, &sealed_len)) < 0) {
		api_fail(r, rc, 500, "cannot seal the UnlockToken");
		return;
	}
	rc = token_update(r, ci, &d, sealed, sealed_len, &first);
	free(sealed);
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot store the push token: %s", ap_strerror(rc));
		return;
	}
	if (first && on_enrolled) {
		/* the desired policy right after the initial inventory */
		if ((rc = on_enrolled(r->w, d.id)) < 0)
			log_warn("reconcile_failed", "id=%s device=%lld error=\"%s\"", r->id,
				 (long long)d.id, ap_strerror(rc));
	}
	log_info("device_token_update", "id=%s device=%lld first=%d unlock_token=%d", r->id,
		 (long long)d.id, first, ci->unlock_token != NULL);
	answer_empty(r);
}

static void on_checkout(struct req *r, const struct ap_checkin *ci, const struct ident *id)
{
	struct db_device d;
	if (bound_device(r, ci->udid, id, &d) < 0)
		return;
	int rc = db_begin(r->w->db);
	if (rc == 0) { /* the check-out and its row, together */
		if ((rc = db_mdm_unenroll(r->w->db, d.id)) == 0)
			rc = db_audit_append(r->w->db, "system", "device.checkout",
					     d.serial[0] ? d.serial : ci->udid,
					     "MDM profile removed", "");
		rc = rc < 0 ? (db_rollback(r->w->db), rc) : db_commit(r->w->db);
	}
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot record the check-out");
		return;
	}
	answer_empty(r);
}

/* A DeclarativeManagement check-in: an enrolled tablet with its bound
 * identity only (mdm_ddm.c answers). */
static void on_declarative_management(struct req *r, const struct ap_checkin *ci,
				      const struct ident *id)
{
	struct db_device d;
	if (bound_device(r, ci->udid, id, &d) < 0)
		return;
	if (strcmp(d.enrollment, "enrolled") != 0) {
		refuse(r, 403, ci->udid, "not enrolled: enrol before declarative management");
		return;
	}
	mdm_ddm_checkin(r, ci, &d);
}

/* Result handlers: one row per command type whose answer updates the
 * tablet's inventory.  They run inside the report's transaction, before
 * the hooks other modules registered for the type (cmdq_on_result()). */
struct result_handler {
	const char *type;
	int (*apply)(struct req *r, const struct db_device *d, plist_t dict);
};

static int apply_device_info(struct req *r, const struct db_device *d, plist_t dict)
{
	int64_t id = d->id;
	struct ap_device_info *di = NULL;
	int rc = ap_result_device_info(dict, &di);
	if (rc == 0)
		rc = db_mdm_set_device_info(r->w->db, id, di);
	ap_device_info_free(di);
	return rc;
}

static int apply_security(struct req *r, const struct db_device *d, plist_t dict)
{
	int64_t id = d->id;
	struct ap_security_info si;
	int rc = ap_result_security_info(dict, &si);
	return rc == 0 ? db_mdm_set_security(r->w->db, id, &si) : rc;
}

static int apply_apps(struct req *r, const struct db_device *d, plist_t dict)
{
	int64_t id = d->id;
	struct ap_app *apps = NULL;
	size_t n = 0;
	int rc = ap_result_installed_apps(dict, &apps, &n);
	if (rc == 0)
		rc = db_mdm_set_apps(r->w->db, id, apps, n);
	ap_apps_free(apps, n);
	return rc;
}

static int apply_profiles(struct req *r, const struct db_device *d, plist_t dict)
{
	int64_t id = d->id;
	struct ap_profile_info *p = NULL;
	size_t n = 0;
	int rc = ap_result_profile_list(dict, &p, &n);
	if (rc == 0)
		rc = db_mdm_set_profiles(r->w->db, id, p, n);
	ap_profiles_free(p, n);
	return rc;
}

static int apply_erase(struct req *r, const struct db_device *d, plist_t dict)
{
	/* the tablet wipes itself now: it will come back through a new
	 * enrolment, with a new identity */
	return db_mdm_unenroll(r->w->db, d->id);
}

static int apply_bypass(struct req *r, const struct db_device *d, plist_t dict)
{
	int64_t id = d->id;
	char *code = NULL;
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc = ap_result_bypass_code(dict, &code);
	if (rc == AP_EMISSING)
		return 0; /* no code on this device */
	if (rc == 0)
		rc = keystore_seal(r->w->srv->ks, KEYSTORE_BYPASS_CODE, d->udid, code, strlen(code),
				   &sealed, &len);
	if (rc == 0)
		rc = db_mdm_set_bypass(r->w->db, id, sealed, len);
	free(code);
	free(sealed);
	return rc;
}

static const struct result_handler result_handlers[] = {
    {"DeviceInformation", apply_device_info},
    {"SecurityInfo", apply_security},
    {"InstalledApplicationList", apply_apps},
    {"ProfileList", apply_profiles},
    {"EraseDevice", apply_erase},
    {"ActivationLockBypassCode", apply_bypass},
};

/* An acknowledged result: the tablet's own handler, then the hooks. */
static int apply_result(struct req *r, const struct db_device *d, const struct db_cmd *c,
			plist_t dict)
{
	struct cmdq_result res = {d, c, dict};
	for (size_t i = 0; i < sizeof(result_handlers) / sizeof(result_handlers[0]); i++) {
		const struct result_handler *h = &result_handlers[i];
		if (strcmp(h->type, c->type) == 0) {
			int rc = h->apply(r, d, dict);
			if (rc < 0)
				return rc;
			break;
		}
	}
	return cmdq_result(r->w, &res);
}

static int storage_error(int rc)
{
	return rc == AP_ENOMEM || rc == AP_EDB || rc == AP_EIO || rc == AP_EBUSY;
}

static const char *status_word(enum ap_status s)
{
	switch (s) {
	case AP_STATUS_ACKNOWLEDGED:
		return "acknowledged";
	case AP_STATUS_ERROR:
		return "error";
	case AP_STATUS_FORMAT_ERROR:
		return "format_error";
	case AP_STATUS_NOTNOW:
		return "notnow";
	default:
		return "idle";
	}
}

/* "Domain code: description; ..." from the ErrorChain. */
static void error_summary(const struct ap_report *rep, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < rep->n_errors && o + 1 < cap; i++) {
		const struct ap_error_item *e = &rep->errors[i];
		int n = snprintf(out + o, cap - o, "%s%s %lld: %s", i ? "; " : "",
				 e->domain ? e->domain : "?", (long long)e->code,
				 e->description ? e->description : "");
		if (n < 0)
			break;
		o += (size_t)n;
	}
	if (rep->status == AP_STATUS_FORMAT_ERROR && out[0] == '\0')
		snprintf(out, cap, "the device could not read the command (CommandFormatError)");
}

/* Stores the report on its command and applies its result. */
static int record_report(struct req *r, const struct db_device *d, struct ap_report *rep)
{
	struct db_cmd c;
	char err[512];
	int dup = 0;
	error_summary(rep, err, sizeof(err));
	char *xml = NULL;
	size_t len = 0;
	if (rep->status != AP_STATUS_NOTNOW)
		secret_result_xml(rep->dict, &xml, &len); /* never a secret in clear */
	int rc = db_cmd_report(r->w->db, d->id, rep->command_uuid, status_word(rep->status), xml,
			       len, err, &c, &dup);
	free(xml);
	if (rc == AP_ENOTFOUND) {
		char u[80];
		log_warn("report_unknown_command", "id=%s device=%lld command=%s", r->id,
			 (long long)d->id, log_esc(rep->command_uuid, u, sizeof(u)));
		return 0;
	}
	if (rc == 0 && !dup && rep->status != AP_STATUS_NOTNOW)
		metrics_command(rep->status == AP_STATUS_ACKNOWLEDGED ? METRICS_CMD_ACKNOWLEDGED
								      : METRICS_CMD_ERROR,
				c.type);
	if (rc < 0 || dup || rep->status != AP_STATUS_ACKNOWLEDGED)
		return rc;
	int arc = apply_result(r, d, &c, rep->dict);
	if (arc < 0 && !storage_error(arc)) {
		/* a malformed result is kept on the command, not fatal */
		log_warn("result_unusable", "id=%s command=%s type=%s error=\"%s\"", r->id, c.uuid,
			 c.type, ap_strerror(arc));
		return 0;
	}
	return arc;
}

/* Builds the plist of a command queued by reference (InstallProfile whose
 * Payload is a shared blob); replaces *payload. */
static int build_from_blob(struct req *r, const struct db_cmd *c, char **payload, size_t *len)
{
	unsigned char *data = NULL;
	size_t n = 0;
	plist_t params = NULL;
	enum ap_cmd_type t;
	char *xml = NULL;
	int rc = ap_cmd_from_name(c->type, &t);
	if (rc == 0)
		rc = db_blob_get(r->w->db, c->blob_ref, &data, &n);
	if (rc == 0)
		rc = ap_cmd_params_install_profile(data, n, &params);
	if (rc == 0)
		rc = ap_cmd_build(t, c->uuid, params, &xml, len, NULL, 0);
	free(data);
	if (params)
		plist_free(params);
	if (rc < 0)
		return rc;
	free(*payload);
	*payload = xml;
	return 0;
}

/* Puts the sealed secret parameters back into the payload of c (the
 * answer only: the database keeps them sealed).  AP_ECRYPTO / AP_EPARSE
 * when they do not open, or are missing where the stored command says
 * "(sealed)". */
static int with_secrets(struct req *r, const struct db_device *d, const struct db_cmd *c,
			char **payload, size_t *len)
{
	enum ap_cmd_type t;
	char *sealed = NULL;
	size_t n = 0;
	if (ap_cmd_from_name(c->type, &t) < 0 || !ap_cmd_has_secrets(t))
		return 0;
	int rc = db_cmd_blob(r->w->db, c->uuid, DB_CMD_SEALED, &sealed, &n);
	if (rc == 0 && sealed)
		rc = secret_join(r->w->srv->ks, d->id, c->uuid, (unsigned char *)sealed, n, payload,
				 len);
	else if (rc == 0 && memmem(*payload, *len, AP_CMD_SEALED, strlen(AP_CMD_SEALED)))
		rc = AP_EPARSE;
	free(sealed);
	return rc;
}

/* The next command for the device, marked sent, with the payload to send
 * (AP_ENOTFOUND when none).  A command whose sealed secrets do not open
 * is never sent as it is: it ends in error and the next one is taken. */
static int next_command(struct req *r, const struct db_device *d, struct db_cmd *next,
			char **payload, size_t *len)
{
	for (;;) {
		int rc = db_cmd_next(r->w->db, d->id, next, payload, len);
		if (rc < 0)
			return rc;
		if (next->blob_ref[0])
			return build_from_blob(r, next, payload, len);
		rc = with_secrets(r, d, next, payload, len);
		if (rc != AP_ECRYPTO && rc != AP_EPARSE)
			return rc;
		log_warn("command_secret_refused", "id=%s device=%lld command=%s type=%s", r->id,
			 (long long)d->id, next->uuid, next->type);
		free(*payload);
		*payload = NULL;
		rc = db_cmd_report(r->w->db, d->id, next->uuid, "error", NULL, 0,
				   "its sealed secret does not open (altered in the database?): "
				   "not sent",
				   NULL, NULL);
		if (rc < 0)
			return rc;
	}
}

/* What on_report() answered, for the metrics (metrics_connect). */
static void on_report(struct req *r, struct ap_report *rep, const struct ident *id,
		      enum metrics_connect *ret_outcome)
{
	struct db_device d;
	struct db_cmd next;
	char *payload = NULL;
	size_t len = 0;
	int rc;
	if (bound_device(r, rep->udid, id, &d) < 0)
		return;
	if ((rc = db_begin(r->w->db)) < 0)
		goto fail;
	if ((rc = db_mdm_seen_session(r->w->db, &d, rep->status != AP_STATUS_IDLE)) < 0)
		goto rollback;
	if (rep->status != AP_STATUS_IDLE && (rc = record_report(r, &d, rep)) < 0)
		goto rollback;
	if (rep->status == AP_STATUS_NOTNOW) {
		/* the device is busy or locked: nothing more this session */
		if ((rc = db_commit(r->w->db)) < 0)
			goto fail;
		ddm_flush_pushes(r->w);
		answer_empty(r);
		*ret_outcome = METRICS_CONN_NOT_NOW;
		return;
	}
	rc = next_command(r, &d, &next, &payload, &len);
	if (rc < 0 && rc != AP_ENOTFOUND)
		goto rollback;
	if ((rc = db_commit(r->w->db)) < 0)
		goto fail;
	/* tokens a result changed (ddm_on_result): their tablets are told now
	 * that the change is committed */
	ddm_flush_pushes(r->w);
	if (payload == NULL) {
		answer_empty(r);
		*ret_outcome = METRICS_CONN_IDLE;
		return;
	}
	r->resp->status = 200;
	r->resp->content_type = "application/xml";
	ap_buf_reset(&r->resp->body);
	rc = ap_buf_append(&r->resp->body, payload, len);
	free(payload);
	if (rc < 0) {
		api_fail(r, rc, 500, "command too large to send");
	} else {
		*ret_outcome = METRICS_CONN_COMMAND_SENT;
		metrics_command(METRICS_CMD_DELIVERED, next.type);
	}
	log_debug("command_sent", "id=%s device=%lld command=%s type=%s", r->id, (long long)d.id,
		  next.uuid, next.type);
	return;
rollback:
	db_rollback(r->w->db);
fail:
	ddm_drop_pushes();
	free(payload);
	api_fail(r, rc, 503, "cannot record the report: %s", ap_strerror(rc));
}

/* Decided before the body is parsed: a certificate Ardoise knows as bound
 * (the handshake proved the key; the handlers compare its UDID), else one
 * that chains to a device CA.  An ended certificate is refused here. */
static int identity_admitted(struct req *r, struct ident *id)
{
	int rc = db_mdm_identity_known(r->w->db, id->fp, &id->known);
	if (rc == AP_ENOTFOUND)
		memset(&id->known, 0, sizeof(id->known));
	else if (rc < 0) {
		api_fail(r, rc, 503, "cannot read the device identity: %s", ap_strerror(rc));
		return rc;
	}
	if (id->known.ended) {
		refuse(r, 403, id->known.udid, bind_refusals[DB_MDM_BIND_CERT_ENDED]);
		return AP_EBADSIG;
	}
	if (id->known.udid[0] == '\0' && !peer_trusted(r)) {
		refuse(r, 403, NULL,
		       "client certificate not issued by a trusted device CA (body not read)");
		return AP_EBADSIG;
	}
	return 0;
}

/* Messages of a user channel (UserID or UserShortName: Shared iPad, macOS
 * users): Ardoise manages the device channel only.  410 is what Apple's
 * documentation names for a server that does not support a user channel;
 * nothing is recorded. */
static int user_channel(struct req *r, const struct ap_msg *m)
{
	const char *udid = m->kind == AP_MSG_REPORT ? m->u.report.udid : m->u.checkin.udid;
	int user = m->kind == AP_MSG_REPORT ? m->u.report.user_id || m->u.report.user_short_name
					    : m->u.checkin.user_id || m->u.checkin.user_short_name;
	if (!user)
		return 0;
	char u[160];
	log_warn("user_channel_refused", "id=%s peer=%s udid=%s status=410", r->id, r->peer,
		 log_esc(udid, u, sizeof(u)));
	api_fail(r, AP_EUNSUPPORTED, 410,
		 "user channels are not supported: Ardoise manages the device channel only");
	return 1;
}

/* Counts a finished device request: a report by its status and what the
 * command channel answered (outcome, when on_report() answered 200), a
 * check-in by its message type; either by the route when the message was
 * never read. */
static void count_request(const struct req *r, const struct ap_msg *m, int outcome)
{
	static const enum metrics_checkin ci[] = {
	    [AP_CHECKIN_AUTHENTICATE] = METRICS_CI_AUTHENTICATE,
	    [AP_CHECKIN_TOKENUPDATE] = METRICS_CI_TOKEN_UPDATE,
	    [AP_CHECKIN_CHECKOUT] = METRICS_CI_CHECKOUT,
	    [AP_CHECKIN_DECLARATIVE_MANAGEMENT] = METRICS_CI_DECLARATIVE,
	};
	int status = r->resp->status;
	int report =
	    m ? m->kind == AP_MSG_REPORT : r->route && strcmp(r->route, "/mdm/connect") == 0;
	if (!report) {
		unsigned t = m ? (unsigned)m->u.checkin.type : sizeof(ci) / sizeof(ci[0]);
		metrics_checkin(t < sizeof(ci) / sizeof(ci[0]) ? ci[t] : METRICS_CI_OTHER, status);
		return;
	}
	_Static_assert((int)METRICS_REP_NOT_NOW == (int)AP_STATUS_NOTNOW &&
			   (int)METRICS_REP_ACKNOWLEDGED == (int)AP_STATUS_ACKNOWLEDGED,
		       "enum metrics_report follows enum ap_status");
	if (m)
		metrics_report((enum metrics_report)m->u.report.status);
	if (status >= 500)
		metrics_connect(METRICS_CONN_FAILED);
	else if (status >= 400)
		metrics_connect(METRICS_CONN_REFUSED);
	else if (outcome >= 0)
		metrics_connect((enum metrics_connect)outcome);
}

static void mdm_endpoint(struct req *r)
{
	enum metrics_connect outcome = (enum metrics_connect) - 1;
	struct ap_msg *m = NULL;
	struct sig_identity own = {{NULL, NULL, NULL, NULL, 0}, NULL};
	struct ident id;
	char detail[160];
	const char *why = "";
	int rc = device_identity(r, &own, id.fp, &why);
	if (rc < 0) {
		refuse(r, rc == AP_EAUTH ? 401 : 403, NULL, why);
		goto out;
	}
	if (identity_admitted(r, &id) < 0)
		goto out;
	struct ap_buf *b = &r->http->body;
	rc = ap_msg_parse_flags(b->data ? b->data : "", b->len,
				(size_t)r->w->srv->cfg.max_message_bytes, AP_MSG_DDM, &m, detail,
				sizeof(detail));
	if (rc < 0) {
		char d[240];
		log_info("bad_device_message", "id=%s error=%s detail=%s", r->id, ap_errname(rc),
			 log_esc(detail, d, sizeof(d)));
		api_fail(r, rc, rc == AP_ETOOBIG ? 413 : 400, "%s: %s", ap_strerror(rc), detail);
		goto out;
	}
	if (user_channel(r, m)) {
		/* answered */
	} else if (m->kind == AP_MSG_REPORT) {
		on_report(r, &m->u.report, &id, &outcome);
	} else if (m->u.checkin.type == AP_CHECKIN_AUTHENTICATE) {
		on_authenticate(r, &m->u.checkin, &id);
	} else if (m->u.checkin.type == AP_CHECKIN_TOKENUPDATE) {
		on_token_update(r, &m->u.checkin, &id);
	} else if (m->u.checkin.type == AP_CHECKIN_DECLARATIVE_MANAGEMENT) {
		on_declarative_management(r, &m->u.checkin, &id);
	} else if (m->u.checkin.type == AP_CHECKIN_CHECKOUT) {
		on_checkout(r, &m->u.checkin, &id);
	} else { /* a type ap_msg learns later is never taken for a CheckOut */
		api_fail(r, AP_EUNSUPPORTED, 400, "unsupported check-in message");
	}
out:
	count_request(r, m, (int)outcome);
	ap_msg_free(m);
	if (own.sig.cert && r->peer_cert == own.sig.cert) {
		*own.sig.verified = r->peer_verified; /* the signer's chain, for the next request */
		r->peer_cert = NULL;
		r->peer_chain = NULL;
		r->peer_fp = NULL;
	}
	ap_cms_signer_cache_free(own.tmp);
}

void mdm_body_limit(struct req *r, size_t anon_limit, size_t *ret_limit, int *ret_anonymous)
{
	size_t msg = (size_t)r->w->srv->cfg.max_message_bytes;
	*ret_limit = anon_limit;
	*ret_anonymous = 1;
	if (r->peer_cert) {
		/* a certificate proves only that the peer holds its key: more
		 * than the unauthenticated limit for one that chains to a device
		 * CA (rare: inventories of many apps), so the common small
		 * messages cost no chain check */
		*ret_anonymous = 0;
		*ret_limit = msg > anon_limit && peer_trusted(r) == 1 ? msg : anon_limit;
	} else if (ap_http_header(r->http, "mdm-signature")) {
		*ret_limit = msg; /* a proxy's tablet: its signature is checked with the body */
	}
}

const struct route mdm_routes[] = {
    {"PUT", "/mdm/checkin", AUTH_DEVICE, mdm_endpoint, NULL, ROUTE_GROUPED},
    {"PUT", "/mdm/connect", AUTH_DEVICE, mdm_endpoint, NULL, ROUTE_GROUPED},
    {NULL, NULL, AUTH_NONE, NULL},
};
