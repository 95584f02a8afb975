/*
 * Protocol scenarios in one process: the simulator's device core
 * (tools/sim/sim_device.h) talks to the daemon's router_dispatch() directly,
 * with requests built as daemon/server/conn.c builds them, and no sockets.  A
 * struct server and a struct worker are put together by hand on a keystore
 * and a database in a temporary directory.
 *
 * Covered: enrolment through /mdm/enroll, /scep, Authenticate and
 * TokenUpdate (queues the four inventory commands); the command loop drains
 * them and the inventory is stored; NotNow keeps a command queued and ends
 * the session; a replayed report is idempotent; another certificate for a
 * bound UDID gets 403, an unknown UDID 401, a foreign certificate 403;
 * CheckOut and an acknowledged EraseDevice unenrol.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_cms.h"
#include "ap_err.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "cmdq.h"
#include "config.h"
#include "db_command.h"
#include "db_mdm.h"
#include "ap_http.h"
#include "keystore.h"
#include "log.h"
#include "mdm.h"
#include "router.h"
#include "worker.h"
#include "sim_cmd.h"
#include "sim_device.h"
#include "sim_profile.h"
#include "store.h"
#include "tu_pki.h"

#define BODY_LIMIT (8u << 20)

struct env {
	char dir[64];
	char db_path[128];
	struct server srv;
	struct worker w;
	char code[33]; /* enrolment code good for 10 devices */
};

/* One answer from the router: status and a copy of the body. */
struct answer {
	int status;
	char *body;
	size_t len;
};

/* ---- the request path of daemon/server/conn.c, without the socket ---- */

static struct answer call(struct env *e, const char *method, const char *target, const char *header,
			  const char *value, const void *body, size_t len, X509 *peer, int verified)
{
	struct ap_http_msg hr;
	struct ap_http_resp resp;
	struct req r;
	struct answer a = {0};
	const char *q = strchr(target, '?');

	memset(&hr, 0, sizeof(hr));
	memset(&r, 0, sizeof(r));
	hr.method = method;
	hr.path = q ? strndup(target, (size_t)(q - target)) : strdup(target);
	hr.query = strdup(q ? q + 1 : "");
	hr.keep_alive = 1;
	if (header) {
		hr.headers[0].name = strdup(header);
		hr.headers[0].value = strdup(value);
		hr.n_headers = 1;
	}
	ap_buf_init(&hr.body, BODY_LIMIT);
	if (len)
		assert_int_equal(ap_buf_append(&hr.body, body, len), 0);
	ap_http_resp_init(&resp, BODY_LIMIT);
	r.w = &e->w;
	r.http = &hr;
	r.resp = &resp;
	r.id = "test.1";
	r.peer = "127.0.0.1:1";
	r.peer_cert = peer;
	r.peer_verified = verified;
	router_dispatch(&r);
	a.status = resp.status;
	a.len = resp.body.len;
	a.body = malloc(a.len + 1);
	assert_non_null(a.body);
	if (a.len)
		memcpy(a.body, resp.body.data, a.len);
	a.body[a.len] = '\0';
	ap_http_resp_free(&resp);
	ap_buf_free(&hr.body);
	free(hr.path);
	free(hr.query);
	free(hr.headers[0].name);
	free(hr.headers[0].value);
	return a;
}

/* A tablet of the test: the device core and its certificate. */
struct tablet {
	struct sim_device *d;
	X509 *cert;
};

/* PUT a message of the device to path; returns the answer.  The chain of
 * its certificate is checked when the server asks, as on a connection. */
static struct answer put(struct env *e, struct tablet *t, const char *path, const char *xml,
			 size_t len)
{
	return call(e, "PUT", path, NULL, NULL, xml, len, t->cert, -1);
}

static int checkin(struct env *e, struct tablet *t, enum sim_checkin type)
{
	char *xml = NULL;
	size_t len = 0;
	assert_int_equal(sim_device_checkin(t->d, type, &xml, &len), 0);
	struct answer a = put(e, t, t->d->checkin_path, xml, len);
	free(xml);
	free(a.body);
	return a.status;
}

/* A tablet (new when t->d is NULL, else one that was erased) through the
 * real enrolment: profile, SCEP, check-ins. */
static void enrol(struct env *e, struct tablet *t)
{
	char target[128];
	plist_t profile = NULL;
	struct sim_enroll_info info;
	EVP_PKEY *key = NULL;
	X509 *selfsigned = NULL, *cert = NULL;
	unsigned char *req = NULL, *der = NULL;
	size_t req_len = 0, der_len = 0;

	if (t->d == NULL) {
		assert_int_equal(sim_device_new(&t->d), 0);
	} else {
		X509_free(t->cert);
		t->cert = NULL;
		t->d->erased = 0;
		sim_device_new_tokens(t->d);
	}
	snprintf(target, sizeof(target), "/mdm/enroll?code=%s&unsigned=1", e->code);
	struct answer a = call(e, "GET", target, NULL, NULL, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 200);
	assert_int_equal(sim_profile_open(a.body, a.len, NULL, &profile, NULL), 0);
	free(a.body);
	assert_int_equal(sim_profile_enroll_info(profile, &info), 0);
	plist_free(profile);

	assert_int_equal(ap_x509_new_ec_key(&key), 0); /* RSA works too, EC is faster */
	assert_int_equal(ap_scep_client_request(key, info.subject_cn, info.challenge,
						keystore_ca_cert(e->srv.ks), AP_SCEP_AES256, &req,
						&req_len, &selfsigned),
			 0);
	snprintf(target, sizeof(target), "%s?operation=PKIOperation", sim_url_path(info.scep_url));
	a = call(e, "POST", target, "content-type", "application/x-pki-message", req, req_len, NULL,
		 0);
	free(req);
	assert_int_equal(a.status, 200);
	assert_int_equal(ap_scep_client_response((unsigned char *)a.body, a.len,
						 keystore_ca_cert(e->srv.ks), key, selfsigned,
						 &cert, NULL),
			 0);
	free(a.body);
	assert_int_equal(ap_x509_to_der(cert, &der, &der_len), 0);
	assert_int_equal(sim_device_set_identity(t->d, key, 0, der, der_len), 0);
	free(der);
	EVP_PKEY_free(key);
	X509_free(selfsigned);
	t->cert = cert;
	snprintf(t->d->topic, sizeof(t->d->topic), "%s", info.topic);
	snprintf(t->d->checkin_path, sizeof(t->d->checkin_path), "%s",
		 sim_url_path(info.checkin_url));
	snprintf(t->d->server_path, sizeof(t->d->server_path), "%s", sim_url_path(info.server_url));
	assert_int_equal(sim_device_put_profile(t->d, info.identifier, info.uuid, info.name, 0), 0);

	assert_int_equal(checkin(e, t, SIM_AUTHENTICATE), 200);
	assert_int_equal(checkin(e, t, SIM_TOKEN_UPDATE), 200);
	t->d->enrolled = 1;
}

static void tablet_free(struct tablet *t)
{
	sim_device_free(t->d);
	X509_free(t->cert);
}

/* One session: Idle, then answer every command until the server sends an
 * empty body.  Returns the number of commands answered; *ret_last (may be
 * NULL) gets the last report sent (malloc'd). */
static int session(struct env *e, struct tablet *t, char **ret_last, size_t *ret_last_len)
{
	char *xml = NULL;
	size_t len = 0;
	int n = 0;

	assert_int_equal(sim_device_idle(t->d, &xml, &len), 0);
	struct answer a = put(e, t, t->d->server_path, xml, len);
	for (;;) {
		free(xml);
		xml = NULL;
		assert_int_equal(a.status, 200);
		if (a.len == 0 || (n > 0 && t->d->end_session))
			break;
		assert_int_equal(sim_cmd_answer(t->d, a.body, a.len, &xml, &len), 0);
		free(a.body);
		n++;
		if (ret_last) {
			free(*ret_last);
			*ret_last = strndup(xml, len);
			*ret_last_len = len;
		}
		a = put(e, t, t->d->server_path, xml, len);
	}
	free(a.body);
	return n;
}

static int64_t count_rows(struct env *e, const char *sql, int64_t id)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	assert_int_equal(sqlite3_open_v2(e->db_path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void queue(struct env *e, int64_t device_id, enum ap_cmd_type t, char uuid[37])
{
	struct cmd_order o = {
	    .device_id = device_id, .type = t, .origin = "staff", .requested_by = "test"};
	assert_int_equal(cmdq_queue(&e->w, &o, uuid, NULL, 0), 0);
}

static struct db_device device_row(struct env *e, const char *udid)
{
	struct db_device d;
	assert_int_equal(db_mdm_by_udid(e->w.db, udid, &d), 0);
	return d;
}

/* ---- setup ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	static const char *const names[] = {"localhost", "127.0.0.1"};
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/ardoise-proto-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(keystore_create(e->dir, names, 2, err, sizeof(err)), 0);
	assert_int_equal(keystore_open(e->dir, NULL, &e->srv.ks, err, sizeof(err)), 0);
	snprintf(e->db_path, sizeof(e->db_path), "%s/ardoise.db", e->dir);
	config_defaults(&e->srv.cfg);
	e->srv.port = 8443;
	e->w.srv = &e->srv;
	assert_int_equal(db_open(e->db_path, &e->w.db), 0);
	assert_int_equal(db_enroll_code_new(e->w.db, NULL, "test", 3600, 10, e->code), 0);
	log_set_level(LOG_ERROR);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	db_close(e->w.db);
	keystore_free(e->srv.ks);
	nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* ---- scenarios ---- */

static void test_enrol_and_inventory(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	int64_t pending = -1;

	enrol(e, &t);
	struct db_device row = device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "enrolled");
	assert_string_equal(row.serial, t.d->serial);
	assert_true(row.has_unlock_token);
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	/* DeviceInformation, SecurityInfo, ProfileList, apps, bypass code escrow */
	assert_int_equal(pending, 5);

	assert_int_equal(session(e, &t, NULL, NULL), 5);
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 0);
	row = device_row(e, t.d->udid);
	assert_string_equal(row.os_version, "17.5");
	assert_int_equal(
	    count_rows(e, "SELECT count(*) FROM device_app WHERE device_id = ?", row.id), 5);
	assert_int_equal(
	    count_rows(e, "SELECT count(*) FROM device_profile WHERE device_id = ?", row.id), 1);
	assert_int_equal(count_rows(e, "SELECT passcode_present FROM device WHERE id = ?", row.id),
			 1);
	/* nothing left: the next session is Idle and an empty answer */
	assert_int_equal(session(e, &t, NULL, NULL), 0);
	tablet_free(&t);
}

static void test_notnow_keeps_command(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd c;
	char uuid[37];

	enrol(e, &t);
	session(e, &t, NULL, NULL);
	struct db_device row = device_row(e, t.d->udid);
	char second[37];
	queue(e, row.id, AP_CMD_PROFILE_LIST, uuid);
	queue(e, row.id, AP_CMD_SECURITY_INFO, second);
	t.d->locked = 1;
	/* NotNow on the first: the session ends there, both stay queued */
	assert_int_equal(session(e, &t, NULL, NULL), 1);
	assert_int_equal(t.d->last_status, AP_STATUS_NOTNOW);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "notnow");
	int64_t pending = 0;
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 2);
	t.d->locked = 0;
	assert_int_equal(session(e, &t, NULL, NULL), 2);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "acknowledged");
	tablet_free(&t);
}

static void test_replayed_report_is_idempotent(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd before, after;
	char uuid[37], *last = NULL;
	size_t last_len = 0;

	enrol(e, &t);
	session(e, &t, NULL, NULL);
	struct db_device row = device_row(e, t.d->udid);
	queue(e, row.id, AP_CMD_INSTALLED_APPLICATION_LIST, uuid);
	assert_int_equal(session(e, &t, &last, &last_len), 1);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &before), 0);
	assert_string_equal(before.status, "acknowledged");
	int64_t results = count_rows(
	    e, "SELECT count(*) FROM command WHERE device_id = ? AND result IS NOT NULL", row.id);

	struct answer a = put(e, &t, t.d->server_path, last, last_len);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.len, 0);
	free(a.body);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &after), 0);
	assert_string_equal(after.status, "acknowledged");
	assert_int_equal(after.done_at, before.done_at);
	assert_int_equal(
	    count_rows(e, "SELECT count(*) FROM command WHERE device_id = ? AND result IS NOT NULL",
		       row.id),
	    results);
	assert_int_equal(
	    count_rows(e, "SELECT count(*) FROM device_app WHERE device_id = ?", row.id), 5);
	free(last);
	tablet_free(&t);
}

/* The CA's private key, from the data directory. */
static EVP_PKEY *test_ca_key(struct env *e)
{
	char path[200], pem[8192];
	EVP_PKEY *key = NULL;
	snprintf(path, sizeof(path), "%s/ca.key", e->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	pem[n] = '\0';
	assert_int_equal(ap_pkey_from_pem(pem, n, &key), 0);
	return key;
}

static void test_identity_refusals(void **state)
{
	struct env *e = *state;
	struct tablet a = {0}, b = {0};
	char *xml = NULL, *xml2 = NULL;
	size_t len = 0;

	enrol(e, &a);
	enrol(e, &b);
	/* b's certificate speaking for a's UDID */
	assert_int_equal(sim_device_idle(a.d, &xml, &len), 0);
	struct answer r = call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	free(r.body);
	/* ... also through Mdm-Signature */
	char *sig = NULL;
	EVP_PKEY *bkey = b.d->key;
	assert_int_equal(ap_cms_sign_detached_b64(xml, len, b.cert, bkey, &sig), 0);
	r = call(e, "PUT", "/mdm/connect", "mdm-signature", sig, xml, len, NULL, 0);
	assert_int_equal(r.status, 403);
	free(r.body);
	free(sig);
	/* a's own signature without TLS client certificate is accepted */
	assert_int_equal(ap_cms_sign_detached_b64(xml, len, a.cert, a.d->key, &sig), 0);
	r = call(e, "PUT", "/mdm/connect", "mdm-signature", sig, xml, len, NULL, 0);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(sig);
	/* a certificate the device CA did not issue, with a's own key */
	X509 *foreign = NULL;
	assert_int_equal(ap_x509_make_selfsigned(a.d->key, "Ardoise device", 30, &foreign), 0);
	r = call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, foreign, 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "not issued by a trusted device CA"));
	free(r.body);
	/* ... nor may it bind a new UDID */
	struct sim_device *c = NULL;
	char *auth = NULL;
	assert_int_equal(sim_device_new(&c), 0);
	assert_int_equal(sim_device_checkin(c, SIM_AUTHENTICATE, &auth, &len), 0);
	r = call(e, "PUT", "/mdm/checkin", NULL, NULL, auth, len, foreign, 0);
	assert_int_equal(r.status, 403);
	free(r.body);
	/* ... the same through Mdm-Signature (a TLS-terminating proxy): its
	 * chain is checked against the device CA, for a's UDID and a new one */
	char *fsig = NULL;
	assert_int_equal(sim_device_idle(a.d, &xml2, &len), 0);
	assert_int_equal(ap_cms_sign_detached_b64(xml2, len, foreign, a.d->key, &fsig), 0);
	r = call(e, "PUT", "/mdm/connect", "mdm-signature", fsig, xml2, len, NULL, 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "not issued by a trusted device CA"));
	free(r.body);
	free(fsig);
	free(xml2);
	assert_int_equal(sim_device_checkin(c, SIM_AUTHENTICATE, &xml2, &len), 0);
	assert_int_equal(ap_cms_sign_detached_b64(xml2, len, foreign, a.d->key, &fsig), 0);
	r = call(e, "PUT", "/mdm/checkin", "mdm-signature", fsig, xml2, len, NULL, 0);
	assert_int_equal(r.status, 403);
	free(r.body);
	free(fsig);
	free(xml2);
	free(auth);
	sim_device_free(c);
	X509_free(foreign);
	/* a's own certificate, bound, once expired */
	X509 *expired = X509_dup(a.cert);
	EVP_PKEY *ca_key = test_ca_key(e);
	X509_gmtime_adj(X509_getm_notBefore(expired), -7200);
	X509_gmtime_adj(X509_getm_notAfter(expired), -60);
	assert_true(X509_sign(expired, ca_key, EVP_sha256()) > 0);
	assert_int_equal(sim_device_idle(a.d, &xml2, &len), 0);
	r = call(e, "PUT", "/mdm/connect", NULL, NULL, xml2, len, expired, 1);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "expired"));
	free(r.body);
	free(xml2);
	X509_free(expired);
	EVP_PKEY_free(ca_key);
	free(xml);

	/* an unknown UDID on /mdm/connect, with b's certificate: it serves b
	 * only (one certificate, one tablet) */
	struct sim_device *stranger = NULL;
	assert_int_equal(sim_device_new(&stranger), 0);
	assert_int_equal(sim_device_idle(stranger, &xml, &len), 0);
	r = call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "bound to another tablet"));
	free(r.body);
	free(xml);
	sim_device_free(stranger);
	/* Authenticate for a's UDID with b's certificate while a is enrolled */
	assert_int_equal(sim_device_checkin(a.d, SIM_AUTHENTICATE, &xml, &len), 0);
	r = call(e, "PUT", "/mdm/checkin", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	free(r.body);
	free(xml);
	tablet_free(&a);
	tablet_free(&b);
}

/* Reopens the keystore with extra_ca as [mdm] device_ca (NULL: none), as
 * a restart with another configuration does. */
static void reopen_keystore(struct env *e, const char *extra_ca)
{
	char err[256];
	keystore_free(e->srv.ks);
	e->srv.ks = NULL;
	assert_int_equal(keystore_open(e->dir, extra_ca, &e->srv.ks, err, sizeof(err)), 0);
}

/* A tablet whose identity another MDM's CA issued (ca, ca_key), with the
 * server paths and topic of `like`. */
static void migrated_tablet(struct env *e, X509 *ca, EVP_PKEY *ca_key, const struct tablet *like,
			    struct tablet *t)
{
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	assert_int_equal(sim_device_new(&t->d), 0);
	assert_int_equal(ap_x509_new_ec_key(&key), 0);
	assert_non_null(csr = tu_csr(key, "Other MDM device"));
	assert_int_equal(ap_x509_issue_client(ca, ca_key, csr, 30, &t->cert), 0);
	X509_REQ_free(csr);
	assert_int_equal(ap_x509_to_der(t->cert, &der, &der_len), 0);
	assert_int_equal(sim_device_set_identity(t->d, key, 0, der, der_len), 0);
	free(der);
	EVP_PKEY_free(key);
	memcpy(t->d->topic, like->d->topic, sizeof(t->d->topic));
	memcpy(t->d->checkin_path, like->d->checkin_path, sizeof(t->d->checkin_path));
	memcpy(t->d->server_path, like->d->server_path, sizeof(t->d->server_path));
}

/* [mdm] device_ca: identities issued by another MDM's CA enrol while it is
 * an anchor; once it is removed, the tablets it vouched for are refused
 * although their certificates are bound, and come back with the anchor. */
static void test_device_ca_anchor_added_and_removed(void **state)
{
	struct env *e = *state;
	struct tablet own = {0}, migrated = {0};
	EVP_PKEY *other_key = NULL;
	X509 *other = NULL;
	char pem_path[200], *pem = NULL, *xml = NULL;
	size_t pem_len = 0, len = 0;

	assert_int_equal(ap_x509_new_ec_key(&other_key), 0);
	assert_int_equal(ap_x509_make_ca(other_key, "Other MDM CA", "Other", 365, &other), 0);
	assert_int_equal(ap_x509_to_pem(other, &pem, &pem_len), 0);
	snprintf(pem_path, sizeof(pem_path), "%s/other-ca.pem", e->dir);
	FILE *f = fopen(pem_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(pem, 1, pem_len, f), pem_len);
	fclose(f);
	free(pem);

	enrol(e, &own);
	migrated_tablet(e, other, other_key, &own, &migrated);
	/* without the anchor: refused */
	assert_int_equal(checkin(e, &migrated, SIM_AUTHENTICATE), 403);
	/* with it: enrols, and its sessions work */
	reopen_keystore(e, pem_path);
	assert_int_equal(checkin(e, &migrated, SIM_AUTHENTICATE), 200);
	assert_int_equal(checkin(e, &migrated, SIM_TOKEN_UPDATE), 200);
	assert_int_equal(session(e, &migrated, NULL, NULL), 5); /* its inventory */
	assert_int_equal(session(e, &own, NULL, NULL), 5);

	/* the anchor removed: the bound migrated tablet is refused, on every
	 * endpoint; the server's own tablets are not */
	reopen_keystore(e, NULL);
	assert_int_equal(sim_device_idle(migrated.d, &xml, &len), 0);
	struct answer r = put(e, &migrated, migrated.d->server_path, xml, len);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "no longer issued by a trusted device CA"));
	free(r.body);
	free(xml);
	assert_int_equal(checkin(e, &migrated, SIM_TOKEN_UPDATE), 403);
	assert_int_equal(checkin(e, &migrated, SIM_AUTHENTICATE), 403);
	queue(e, device_row(e, own.d->udid).id, AP_CMD_DEVICE_INFORMATION, (char[37]){0});
	assert_int_equal(session(e, &own, NULL, NULL), 1);
	assert_string_equal(device_row(e, own.d->udid).trust_id,
			    keystore_device_trust_id(e->srv.ks));

	/* the anchor back: the migrated tablet is served again */
	reopen_keystore(e, pem_path);
	assert_int_equal(session(e, &migrated, NULL, NULL), 0);
	assert_string_equal(device_row(e, migrated.d->udid).trust_id,
			    keystore_device_trust_id(e->srv.ks));

	X509_free(other);
	EVP_PKEY_free(other_key);
	tablet_free(&own);
	tablet_free(&migrated);
}

static void test_checkout_unenrols(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};

	enrol(e, &t);
	assert_int_equal(checkin(e, &t, SIM_CHECKOUT), 200);
	struct db_device row = device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "unenrolled");
	tablet_free(&t);
}

static void test_erase_unenrols(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd c;
	char uuid[37];

	enrol(e, &t);
	session(e, &t, NULL, NULL);
	struct db_device row = device_row(e, t.d->udid);
	queue(e, row.id, AP_CMD_ERASE_DEVICE, uuid);
	assert_int_equal(session(e, &t, NULL, NULL), 1);
	assert_true(t.d->erased && !t.d->enrolled);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "acknowledged");
	row = device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "unenrolled");

	/* the wiped tablet enrols again, same UDID, new identity */
	enrol(e, &t);
	struct db_device again = device_row(e, t.d->udid);
	assert_int_equal(again.id, row.id);
	assert_string_equal(again.enrollment, "enrolled");
	assert_string_not_equal(again.cert_fp, row.cert_fp);
	assert_int_equal(session(e, &t, NULL, NULL), 5); /* a new inventory */
	tablet_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enrol_and_inventory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notnow_keeps_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replayed_report_is_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identity_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_ca_anchor_added_and_removed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_checkout_unenrols, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_erase_unenrols, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
