/*
 * sim_session.c - the simulated iPad on the wire: enrolment, the command
 * loop, CheckOut, and staff API calls.  Each task is a chain of response
 * callbacks; every failure ends the task with a one-line reason.
 */
#include "sim_session.h"
#include "sim_cmd.h"
#include "ap_cms.h"
#include "ap_err.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "sim_ddm_sync.h"
#include "sim_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNIPPET 120 /* bytes of an error answer quoted in messages */

/* "what: 403 {body...}" for an unexpected HTTP status. */
static void bad_status(char *out, size_t cap, const char *what, const struct sim_http_resp *r)
{
	char body[SNIPPET + 1];
	size_t n = r->len < SNIPPET ? r->len : SNIPPET;

	for (size_t i = 0; i < n; i++)
		body[i] = (r->body[i] >= ' ' && r->body[i] < 127) ? r->body[i] : ' ';
	body[n] = '\0';
	snprintf(out, cap, "%s: HTTP %d %s", what, r->status, body);
}

/* ---- enrolment ---- */

struct enrol {
	struct sim_ctx *x;
	struct sim_device *d;
	struct sim_conn *c;
	struct sim_enroll_info info;
	EVP_PKEY *key; /* borrowed from the pool */
	int slot;
	X509 *selfsigned;
	enum ap_scep_cipher cipher;
	char path[800], headers[300];
};

static void enrol_end(struct sim_task *t, int err, const char *why)
{
	struct enrol *e = t->user;
	sim_conn_release(e->c);
	X509_free(e->selfsigned);
	OPENSSL_cleanse(e->info.challenge, sizeof(e->info.challenge));
	OPENSSL_cleanse(e->headers, sizeof(e->headers));
	free(e);
	t->user = NULL;
	sim_task_done(t, err, why);
}

/* Common checks of an answer; 0 when it is a 200 to go on with. */
static int enrol_answer_ok(struct sim_task *t, int err, const struct sim_http_resp *r,
			   const char *why, const char *what)
{
	struct enrol *e = t->user;
	char msg[240];

	if (err < 0) {
		e->c = NULL; /* gone */
		snprintf(msg, sizeof(msg), "%s: %s", what, why);
		enrol_end(t, err, msg);
		return err;
	}
	if (r->status != 200) {
		bad_status(msg, sizeof(msg), what, r);
		enrol_end(t, r->status == 401 || r->status == 403 ? AP_EAUTH : AP_EIO, msg);
		return AP_EIO;
	}
	return 0;
}

static void enrol_send(struct sim_task *t, const char *method, const char *path, const char *ctype,
		       const void *body, size_t len, sim_resp_fn cb)
{
	struct enrol *e = t->user;
	struct sim_http_req rq = {method, path, ctype, NULL, body, len};

	int rc = sim_conn_request(e->c, &rq, cb);
	if (rc < 0)
		enrol_end(t, rc, "cannot send the request");
}

static void on_token_update(struct sim_conn *c, struct sim_task *t, int err,
			    const struct sim_http_resp *r, const char *why)
{
	struct enrol *e = t->user;
	if (enrol_answer_ok(t, err, r, why, "TokenUpdate") < 0)
		return;
	e->d->enrolled = 1;
	e->d->erased = 0;
	e->d->dirty = 1;
	enrol_end(t, 0, NULL);
}

static void send_checkin(struct sim_task *t, enum sim_checkin type, sim_resp_fn cb)
{
	struct enrol *e = t->user;
	char *xml = NULL;
	size_t len = 0;
	int rc = sim_device_checkin(e->d, type, &xml, &len);

	if (rc < 0) {
		enrol_end(t, rc, "cannot build the check-in message");
		return;
	}
	enrol_send(t, "PUT", e->d->checkin_path, "application/x-apple-aspen-mdm-checkin", xml, len,
		   cb);
	free(xml);
}

static void on_authenticate(struct sim_conn *c, struct sim_task *t, int err,
			    const struct sim_http_resp *r, const char *why)
{
	if (enrol_answer_ok(t, err, r, why, "Authenticate") == 0)
		send_checkin(t, SIM_TOKEN_UPDATE, on_token_update);
}

/* The device has its certificate: a new connection presents it. */
static void start_checkins(struct sim_task *t)
{
	struct enrol *e = t->user;
	struct sim_device *d = e->d;
	struct sim_identity id = {sim_device_cert(d), d->key, NULL};

	sim_conn_release(e->c);
	snprintf(d->topic, sizeof(d->topic), "%s", e->info.topic);
	snprintf(d->checkin_path, sizeof(d->checkin_path), "%s", sim_url_path(e->info.checkin_url));
	snprintf(d->server_path, sizeof(d->server_path), "%s", sim_url_path(e->info.server_url));
	sim_device_new_tokens(d);
	if (d->ade) { /* Setup Assistant waits for DeviceConfigured */
		d->supervised = 1;
		d->awaiting_configuration = 1;
	}
	if (sim_device_put_profile(d, e->info.identifier, e->info.uuid, e->info.name, 0) < 0 ||
	    (e->c = sim_conn_open(t, &id)) == NULL) {
		e->c = NULL;
		enrol_end(t, AP_ENOMEM, "out of memory");
		return;
	}
	send_checkin(t, SIM_AUTHENTICATE, on_authenticate);
}

static void on_pki(struct sim_conn *c, struct sim_task *t, int err, const struct sim_http_resp *r,
		   const char *why)
{
	struct enrol *e = t->user;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	int fi = -1;
	char msg[200];

	if (enrol_answer_ok(t, err, r, why, "SCEP PKIOperation") < 0)
		return;
	int rc = ap_scep_client_response((const unsigned char *)r->body, r->len, e->x->ca, e->key,
					 e->selfsigned, &cert, &fi);
	if (rc == 0)
		rc = ap_x509_to_der(cert, &der, &len);
	if (rc == 0)
		rc = sim_device_set_identity(e->d, e->key, e->slot, der, len);
	X509_free(cert);
	free(der);
	if (rc == AP_EFORBIDDEN) {
		snprintf(
		    msg, sizeof(msg),
		    "SCEP: refused by the server (failInfo %d: code unknown, expired or used up?)",
		    fi);
		enrol_end(t, rc, msg);
		return;
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "SCEP answer: %s", ap_strerror(rc));
		enrol_end(t, rc, msg);
		return;
	}
	start_checkins(t);
}

static void send_pki(struct sim_task *t)
{
	struct enrol *e = t->user;
	unsigned char *req = NULL;
	size_t len = 0;
	const char *cn = e->info.subject_cn[0] ? e->info.subject_cn : "Ardoise device";
	int rc = ap_scep_client_request(e->key, cn, e->info.challenge, e->x->ca, e->cipher, &req,
					&len, &e->selfsigned);

	if (rc < 0) {
		enrol_end(t, rc, "cannot build the SCEP request");
		return;
	}
	snprintf(e->path, sizeof(e->path), "%s?operation=PKIOperation",
		 sim_url_path(e->info.scep_url));
	enrol_send(t, "POST", e->path, "application/x-pki-message", req, len, on_pki);
	free(req);
}

static void on_cacert(struct sim_conn *c, struct sim_task *t, int err,
		      const struct sim_http_resp *r, const char *why)
{
	struct enrol *e = t->user;
	unsigned char *der = NULL;
	size_t len = 0;

	if (enrol_answer_ok(t, err, r, why, "SCEP GetCACert") < 0)
		return;
	/* the CA the profile points at must be the one we trust (--ca) */
	int same = ap_x509_to_der(e->x->ca, &der, &len) == 0 && len == r->len &&
		   memcmp(der, r->body, len) == 0;
	free(der);
	if (!same) {
		enrol_end(t, AP_EBADSIG, "SCEP GetCACert: not the CA given with --ca");
		return;
	}
	send_pki(t);
}

static void on_cacaps(struct sim_conn *c, struct sim_task *t, int err,
		      const struct sim_http_resp *r, const char *why)
{
	struct enrol *e = t->user;

	if (enrol_answer_ok(t, err, r, why, "SCEP GetCACaps") < 0)
		return;
	e->cipher = strstr(r->body, "AES") ? AP_SCEP_AES256 : AP_SCEP_DES3;
	snprintf(e->path, sizeof(e->path), "%s?operation=GetCACert",
		 sim_url_path(e->info.scep_url));
	enrol_send(t, "GET", e->path, NULL, NULL, 0, on_cacert);
}

/* The enrolment profile received: on to SCEP. */
static void profile_received(struct sim_task *t, const struct sim_http_resp *r)
{
	struct enrol *e = t->user;
	plist_t p = NULL;
	char msg[200];
	int rc =
	    sim_profile_open(r->body, r->len, e->x->signed_profile ? e->x->trust : NULL, &p, NULL);
	if (rc == 0)
		rc = sim_profile_enroll_info(p, &e->info);
	plist_free(p);
	if (rc == 0 && (!sim_url_path(e->info.scep_url) || !sim_url_path(e->info.checkin_url) ||
			!sim_url_path(e->info.server_url)))
		rc = AP_EINVAL;
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "enrolment profile: %s", ap_strerror(rc));
		enrol_end(t, rc, msg);
		return;
	}
	snprintf(e->path, sizeof(e->path), "%s?operation=GetCACaps",
		 sim_url_path(e->info.scep_url));
	enrol_send(t, "GET", e->path, NULL, NULL, 0, on_cacaps);
}

static void on_profile(struct sim_conn *c, struct sim_task *t, int err,
		       const struct sim_http_resp *r, const char *why)
{
	if (enrol_answer_ok(t, err, r, why, "GET /mdm/enroll") == 0)
		profile_received(t, r);
}

/* The answer to the MachineInfo: the profile, or a refusal recorded. */
static void on_ade_answer(struct sim_conn *c, struct sim_task *t, int err,
			  const struct sim_http_resp *r, const char *why)
{
	struct enrol *e = t->user;
	struct sim_ade *a = e->d->ade;
	char version[64], msg[240];
	if (err >= 0 && r->status == 200) {
		a->refusal[0] = '\0';
		profile_received(t, r);
		return;
	}
	if (err >= 0 && r->status == 403 &&
	    sim_ade_update_required(r->body, r->len, version, sizeof(version))) {
		snprintf(a->refusal, sizeof(a->refusal), "update required to %s", version);
		atomic_fetch_add(&e->x->counts.ade_update_required, 1);
		e->d->dirty = 1;
		enrol_end(t, 0, NULL);
		return;
	}
	if (err >= 0) {
		bad_status(msg, sizeof(msg), "POST MachineInfo", r);
		snprintf(a->refusal, sizeof(a->refusal), "%.150s", msg);
		atomic_fetch_add(&e->x->counts.ade_refused, 1);
		e->d->dirty = 1;
	}
	enrol_answer_ok(t, err, r, why, "POST MachineInfo"); /* ends the task */
}

/* An ADE tablet in Setup Assistant: its signed MachineInfo. */
static void ade_start(struct sim_task *t)
{
	struct enrol *e = t->user;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = sim_ade_machineinfo(e->d, e->x->ade, &der, &len);
	if (rc < 0) {
		enrol_end(t, rc, "cannot sign the MachineInfo");
		return;
	}
	enrol_send(t, "POST", e->x->ade->path, "application/pkcs7-signature", der, len,
		   on_ade_answer);
	free(der);
}

void sim_session_enrol(struct sim_task *t)
{
	struct sim_ctx *x = t->arg;
	struct enrol *e = calloc(1, sizeof(*e));
	size_t n_keys = x->pool->n[x->key_kind];

	if (e == NULL || n_keys == 0) {
		free(e);
		sim_task_done(t, AP_ENOMEM, "no key in the pool");
		return;
	}
	t->user = e;
	e->x = x;
	e->d = x->devs[t->index];
	e->slot = (int)((x->index_base + t->index) % n_keys);
	e->key = x->pool->keys[x->key_kind][e->slot];
	if ((e->c = sim_conn_open(t, NULL)) == NULL) {
		enrol_end(t, AP_ENOMEM, "out of memory");
		return;
	}
	if (x->ade && e->d->ade) {
		ade_start(t);
		return;
	}
	struct sim_http_req rq = {"GET", e->path, NULL, NULL, NULL, 0};
	if (x->enroll_token) {
		snprintf(e->path, sizeof(e->path), "/mdm/enroll%s",
			 x->signed_profile ? "" : "?unsigned=1");
		snprintf(e->headers, sizeof(e->headers), "Authorization: Bearer %s\r\n",
			 x->enroll_token);
		rq.headers = e->headers;
	} else {
		snprintf(e->path, sizeof(e->path), "/mdm/enroll?code=%s%s", x->code,
			 x->signed_profile ? "" : "&unsigned=1");
	}
	int rc = sim_conn_request(e->c, &rq, on_profile);
	if (rc < 0)
		enrol_end(t, rc, "cannot send the request");
}

/* ---- the command loop ---- */

struct sess {
	struct sim_ctx *x;
	struct sim_device *d;
	struct sim_conn *c;
	X509 *cert; /* for Mdm-Signature; borrowed from the device */
	size_t n;   /* commands answered */
	char *headers;
	/* the DDM synchronisation, when syncing */
	struct sim_ddm_sync sync;
	int syncing;
};

static void sess_end(struct sim_task *t, int err, const char *why)
{
	struct sess *s = t->user;
	sim_conn_release(s->c);
	free(s->headers);
	if (s->syncing) {
		atomic_fetch_add(&s->x->counts.ddm_fetched, s->sync.fetched);
		atomic_fetch_add(&s->x->counts.ddm_reports, s->sync.reports);
		sim_ddm_sync_clear(&s->sync);
	}
	s->d->ddm.sync = 0;
	s->d->ddm.hint[0] = '\0';
	free(s);
	t->user = NULL;
	sim_task_done(t, err, why);
}

static void on_server_answer(struct sim_conn *c, struct sim_task *t, int err,
			     const struct sim_http_resp *r, const char *why);
static void ddm_start(struct sim_task *t);

/* PUTs a message, signed when asked, to the server URL (on_server_answer)
 * or, for DDM, to the check-in URL (cb). */
static void sess_put_to(struct sim_task *t, const char *path, const char *ctype, const char *xml,
			size_t len, sim_resp_fn cb)
{
	struct sess *s = t->user;
	struct sim_http_req rq = {"PUT", path, ctype, NULL, xml, len};
	char *sig = NULL;

	free(s->headers);
	s->headers = NULL;
	if (s->x->sign) {
		if (ap_cms_sign_detached_b64(xml, len, s->cert, s->d->key, &sig) < 0 ||
		    asprintf(&s->headers, "Mdm-Signature: %s\r\n", sig) < 0) {
			free(sig);
			s->headers = NULL;
			sess_end(t, AP_ECRYPTO, "cannot sign the message");
			return;
		}
		free(sig);
		rq.headers = s->headers;
	}
	int rc = sim_conn_request(s->c, &rq, cb);
	if (rc < 0)
		sess_end(t, rc, "cannot send the request");
}

static void sess_put(struct sim_task *t, const char *xml, size_t len)
{
	struct sess *s = t->user;
	sess_put_to(t, s->d->server_path, "application/x-apple-aspen-mdm", xml, len,
		    on_server_answer);
}

/* ---- the DDM synchronisation (sim_ddm_sync.h) ---- */

static void on_ddm(struct sim_conn *c, struct sim_task *t, int err, const struct sim_http_resp *r,
		   const char *why);

/* The sync's next DeclarativeManagement check-in. */
static void ddm_send(struct sim_task *t)
{
	struct sess *s = t->user;
	char *xml = NULL;
	size_t n = 0;

	if (sim_ddm_checkin(s->d, s->sync.endpoint, s->sync.data, s->sync.len, &xml, &n) < 0) {
		sess_end(t, AP_ENOMEM, "cannot build the DeclarativeManagement check-in");
		return;
	}
	sess_put_to(t, s->d->checkin_path, "application/x-apple-aspen-mdm-checkin", xml, n, on_ddm);
	free(xml);
}

static void on_ddm(struct sim_conn *c, struct sim_task *t, int err, const struct sim_http_resp *r,
		   const char *why)
{
	struct sess *s = t->user;
	char msg[240];
	int done = 0;

	if (err < 0) {
		s->c = NULL;
		snprintf(msg, sizeof(msg), "DDM %.100s: %s", s->sync.endpoint, why);
		sess_end(t, err, msg);
		return;
	}
	int rc = sim_ddm_sync_answer(&s->sync, s->d, s->x->clock, r->status, r->body, r->len, &done,
				     msg, sizeof(msg));
	if (rc < 0)
		sess_end(t, rc, msg);
	else if (done)
		sess_end(t, 0, NULL);
	else
		ddm_send(t);
}

static void ddm_start(struct sim_task *t)
{
	struct sess *s = t->user;
	int done = 0;

	atomic_fetch_add(&s->x->counts.ddm_syncs, 1);
	s->syncing = 1;
	int rc = sim_ddm_sync_start(&s->sync, s->d, s->x->clock, s->x->ddm_full, &done);
	if (rc < 0)
		sess_end(t, rc, "cannot start the DDM sync");
	else if (done)
		sess_end(t, 0, NULL);
	else
		ddm_send(t);
}

static void count(struct sim_ctx *x, enum ap_status st)
{
	atomic_fetch_add(&x->counts.commands, 1);
	if (st == AP_STATUS_ACKNOWLEDGED)
		atomic_fetch_add(&x->counts.acknowledged, 1);
	else if (st == AP_STATUS_ERROR)
		atomic_fetch_add(&x->counts.errors, 1);
	else if (st == AP_STATUS_FORMAT_ERROR)
		atomic_fetch_add(&x->counts.format_errors, 1);
	else if (st == AP_STATUS_NOTNOW)
		atomic_fetch_add(&x->counts.notnow, 1);
}

static void on_server_answer(struct sim_conn *c, struct sim_task *t, int err,
			     const struct sim_http_resp *r, const char *why)
{
	struct sess *s = t->user;
	size_t max = s->x->max_commands ? s->x->max_commands : 10000;
	char msg[240], *xml = NULL;
	size_t len = 0;

	if (err < 0) {
		s->c = NULL;
		snprintf(msg, sizeof(msg), "PUT %.60s: %s", s->d->server_path, why);
		sess_end(t, err, msg);
		return;
	}
	if (s->n == 0 && sim_conn_resumed(c))
		atomic_fetch_add(&s->x->counts.resumed, 1);
	if (r->status != 200) {
		bad_status(msg, sizeof(msg), "PUT /mdm/connect", r);
		sess_end(t, r->status == 401 || r->status == 403 ? AP_EAUTH : AP_EIO, msg);
		return;
	}
	/* after erase/restart the device is gone */
	if (s->n > 0 && s->d->end_session) {
		sess_end(t, 0, NULL);
		return;
	}
	/* empty: nothing more for us; a DDM tablet (it was pushed) syncs */
	if (r->len == 0) {
		if ((s->d->ddm.enabled || s->d->ddm.sync) && !s->x->no_ddm)
			ddm_start(t);
		else
			sess_end(t, 0, NULL);
		return;
	}
	if (s->n == max) {
		sess_end(t, AP_ELIMIT, "more commands than --max-commands in one session");
		return;
	}
	int rc = sim_cmd_answer(s->d, r->body, r->len, &xml, &len);
	if (rc < 0) {
		sess_end(t, rc, "the server sent something that is not a command");
		return;
	}
	s->n++;
	count(s->x, s->d->last_status);
	sess_put(t, xml, len);
	free(xml);
}

/* The session of task t on its device; NULL (the task ended) when out of
 * memory. */
static struct sess *sess_new(struct sim_task *t)
{
	struct sim_ctx *x = t->arg;
	struct sess *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sim_task_done(t, AP_ENOMEM, "out of memory");
		return NULL;
	}
	t->user = s;
	s->x = x;
	s->d = x->devs[t->index];
	return s;
}

/* The session's connection with the device's identity; 0, or the task
 * has ended. */
static int sess_open(struct sim_task *t)
{
	struct sess *s = t->user;
	struct sim_ctx *x = t->arg;

	s->d->end_session = 0;
	atomic_fetch_add(&x->counts.sessions, 1);
	if (s->d->key == NULL) {
		sess_end(t, AP_EMISSING, "device has no identity (enrol it first)");
		return AP_EMISSING;
	}
	X509 *cert = sim_device_cert(s->d);
	if (x->sign)
		s->cert = cert;
	struct sim_identity id = {x->sig_only ? NULL : cert, s->d->key, &s->d->tls_session};
	if (cert == NULL || (s->c = sim_conn_open(t, &id)) == NULL) {
		sess_end(t, AP_ENOMEM, "cannot start the session");
		return AP_ENOMEM;
	}
	return 0;
}

void sim_session_connect(struct sim_task *t)
{
	struct sess *s = sess_new(t);
	char *xml = NULL;
	size_t len = 0;

	if (s == NULL || sess_open(t) < 0)
		return;
	if (sim_device_idle(s->d, &xml, &len) < 0) {
		sess_end(t, AP_ENOMEM, "cannot start the session");
		return;
	}
	sess_put(t, xml, len);
	free(xml);
}

void sim_session_ddm(struct sim_task *t)
{
	struct sess *s = sess_new(t);

	if (s == NULL || sess_open(t) < 0)
		return;
	ddm_start(t);
}

/* ---- CheckOut ---- */

static void on_checkout(struct sim_conn *c, struct sim_task *t, int err,
			const struct sim_http_resp *r, const char *why)
{
	struct sess *s = t->user;
	char msg[240];

	if (err < 0) {
		s->c = NULL;
		snprintf(msg, sizeof(msg), "CheckOut: %s", why);
		sess_end(t, err, msg);
		return;
	}
	if (r->status != 200) {
		bad_status(msg, sizeof(msg), "CheckOut", r);
		sess_end(t, AP_EIO, msg);
		return;
	}
	s->d->enrolled = 0;
	s->d->dirty = 1;
	sim_ddm_clear(&s->d->ddm); /* unenrolment wipes the DDM state */
	sess_end(t, 0, NULL);
}

void sim_session_checkout(struct sim_task *t)
{
	struct sess *s = sess_new(t);
	char *xml = NULL;
	size_t len = 0;

	if (s == NULL)
		return;
	struct sim_identity id = {sim_device_cert(s->d), s->d->key, NULL};
	if (s->d->key == NULL || (s->c = sim_conn_open(t, &id)) == NULL ||
	    sim_device_checkin(s->d, SIM_CHECKOUT, &xml, &len) < 0) {
		sess_end(t, AP_EMISSING, "device has no identity");
		return;
	}
	struct sim_http_req rq = {
	    "PUT", s->d->checkin_path, "application/x-apple-aspen-mdm-checkin", NULL, xml, len};
	int rc = sim_conn_request(s->c, &rq, on_checkout);
	free(xml);
	if (rc < 0)
		sess_end(t, rc, "cannot send the request");
}

/* ---- staff API ---- */

struct call {
	const char *method, *path, *json;
	char headers[400];
	struct sim_conn *c;
	int status;
	char *body;
};

static void on_call(struct sim_conn *c, struct sim_task *t, int err, const struct sim_http_resp *r,
		    const char *why)
{
	struct call *k = t->arg;

	if (err == 0) {
		k->status = r->status;
		k->body = strndup(r->body, r->len);
		sim_conn_release(c);
	}
	k->c = NULL;
	sim_task_done(t, err == 0 && k->body == NULL ? AP_ENOMEM : err, why);
}

static void call_start(struct sim_task *t)
{
	struct call *k = t->arg;
	struct sim_http_req rq = {k->method,  k->path, k->json ? "application/json" : NULL,
				  k->headers, k->json, k->json ? strlen(k->json) : 0};

	if ((k->c = sim_conn_open(t, NULL)) == NULL) {
		sim_task_done(t, AP_ENOMEM, "out of memory");
		return;
	}
	int rc = sim_conn_request(k->c, &rq, on_call);
	if (rc < 0) {
		sim_conn_release(k->c);
		sim_task_done(t, rc, "cannot send the request");
	}
}

int sim_session_call(const struct sim_net_cfg *cfg, const char *method, const char *path,
		     const char *token, const char *json, int *ret_status, char **ret_body,
		     char *err, size_t cap)
{
	struct sim_net_cfg one = *cfg;
	struct sim_run_opts o = {1, 1, 1, 0};
	struct call k = {method, path, json, "", NULL, 0, NULL};
	struct sim_stats st;

	one.keepalive = 0;
	one.resume = 0;
	/* a bulk queueing for 100,000 tablets takes a while */
	if (one.timeout_ms < 600000)
		one.timeout_ms = 600000;
	if (token)
		snprintf(k.headers, sizeof(k.headers), "Authorization: Bearer %s\r\n", token);
	int rc = sim_net_run(&one, &o, call_start, &k, &st);
	if (rc == 0 && st.errors) {
		snprintf(err, cap, "%s %s: %s", method, path, st.first_error);
		rc = AP_EIO;
	}
	sim_stats_clear(&st);
	OPENSSL_cleanse(k.headers, sizeof(k.headers));
	if (rc < 0) {
		free(k.body);
		return rc;
	}
	*ret_status = k.status;
	if (ret_body)
		*ret_body = k.body;
	else
		free(k.body);
	return 0;
}
