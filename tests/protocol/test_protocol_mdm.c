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
#include "protocol_env.h"
#include "router.h"
#include "worker.h"
#include "sim_cmd.h"
#include "sim_device.h"
#include "sim_profile.h"
#include "store.h"
#include "tu_pki.h"

static void queue(struct env *e, int64_t device_id, enum ap_cmd_type t, char uuid[37])
{
	struct cmd_order o = {
	    .device_id = device_id, .type = t, .origin = "staff", .requested_by = "test"};
	assert_int_equal(cmdq_queue(&e->w, &o, uuid, NULL, 0), 0);
}

/* ---- scenarios ---- */

static void test_enrol_and_inventory(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	int64_t pending = -1;

	pt_enrol(e, &t, NULL);
	struct db_device row = pt_device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "enrolled");
	assert_string_equal(row.serial, t.d->serial);
	assert_true(row.has_unlock_token);
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	/* DeviceInformation, SecurityInfo, ProfileList, apps, bypass code escrow */
	assert_int_equal(pending, 5);

	assert_int_equal(pt_session(e, &t, NULL, NULL), 5);
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 0);
	row = pt_device_row(e, t.d->udid);
	assert_string_equal(row.os_version, "17.5");
	assert_int_equal(
	    pt_count_rows(e, "SELECT count(*) FROM device_app WHERE device_id = ?", row.id), 5);
	assert_int_equal(
	    pt_count_rows(e, "SELECT count(*) FROM device_profile WHERE device_id = ?", row.id), 1);
	assert_int_equal(
	    pt_count_rows(e, "SELECT passcode_present FROM device WHERE id = ?", row.id), 1);
	/* nothing left: the next session is Idle and an empty answer */
	assert_int_equal(pt_session(e, &t, NULL, NULL), 0);
	pt_tablet_free(&t);
}

static void test_notnow_keeps_command(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd c;
	char uuid[37];

	pt_enrol(e, &t, NULL);
	pt_session(e, &t, NULL, NULL);
	struct db_device row = pt_device_row(e, t.d->udid);
	char second[37];
	queue(e, row.id, AP_CMD_PROFILE_LIST, uuid);
	queue(e, row.id, AP_CMD_SECURITY_INFO, second);
	t.d->locked = 1;
	/* NotNow on the first: the session ends there, both stay queued */
	assert_int_equal(pt_session(e, &t, NULL, NULL), 1);
	assert_int_equal(t.d->last_status, AP_STATUS_NOTNOW);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "notnow");
	int64_t pending = 0;
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 2);
	t.d->locked = 0;
	assert_int_equal(pt_session(e, &t, NULL, NULL), 2);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "acknowledged");
	pt_tablet_free(&t);
}

static void test_replayed_report_is_idempotent(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd before, after;
	char uuid[37], *last = NULL;
	size_t last_len = 0;

	pt_enrol(e, &t, NULL);
	pt_session(e, &t, NULL, NULL);
	struct db_device row = pt_device_row(e, t.d->udid);
	queue(e, row.id, AP_CMD_INSTALLED_APPLICATION_LIST, uuid);
	assert_int_equal(pt_session(e, &t, &last, &last_len), 1);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &before), 0);
	assert_string_equal(before.status, "acknowledged");
	int64_t results = pt_count_rows(
	    e, "SELECT count(*) FROM command WHERE device_id = ? AND result IS NOT NULL", row.id);

	struct answer a = pt_put(e, &t, t.d->server_path, last, last_len);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.len, 0);
	free(a.body);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &after), 0);
	assert_string_equal(after.status, "acknowledged");
	assert_int_equal(after.done_at, before.done_at);
	assert_int_equal(
	    pt_count_rows(e,
			  "SELECT count(*) FROM command WHERE device_id = ? AND result IS NOT NULL",
			  row.id),
	    results);
	assert_int_equal(
	    pt_count_rows(e, "SELECT count(*) FROM device_app WHERE device_id = ?", row.id), 5);
	free(last);
	pt_tablet_free(&t);
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

	pt_enrol(e, &a, NULL);
	pt_enrol(e, &b, NULL);
	/* b's certificate speaking for a's UDID */
	assert_int_equal(sim_device_idle(a.d, &xml, &len), 0);
	struct answer r = pt_call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	free(r.body);
	/* ... also through Mdm-Signature */
	char *sig = NULL;
	EVP_PKEY *bkey = b.d->key;
	assert_int_equal(ap_cms_sign_detached_b64(xml, len, b.cert, bkey, &sig), 0);
	r = pt_call(e, "PUT", "/mdm/connect", "mdm-signature", sig, xml, len, NULL, 0);
	assert_int_equal(r.status, 403);
	free(r.body);
	free(sig);
	/* a's own signature without TLS client certificate is accepted */
	assert_int_equal(ap_cms_sign_detached_b64(xml, len, a.cert, a.d->key, &sig), 0);
	r = pt_call(e, "PUT", "/mdm/connect", "mdm-signature", sig, xml, len, NULL, 0);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(sig);
	/* a certificate the device CA did not issue, with a's own key */
	X509 *foreign = NULL;
	assert_int_equal(ap_x509_make_selfsigned(a.d->key, "Ardoise device", 30, &foreign), 0);
	r = pt_call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, foreign, 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "not issued by a trusted device CA"));
	free(r.body);
	/* ... nor may it bind a new UDID */
	struct sim_device *c = NULL;
	char *auth = NULL;
	assert_int_equal(sim_device_new(&c), 0);
	assert_int_equal(sim_device_checkin(c, SIM_AUTHENTICATE, &auth, &len), 0);
	r = pt_call(e, "PUT", "/mdm/checkin", NULL, NULL, auth, len, foreign, 0);
	assert_int_equal(r.status, 403);
	free(r.body);
	/* ... the same through Mdm-Signature (a TLS-terminating proxy): its
	 * chain is checked against the device CA, for a's UDID and a new one */
	char *fsig = NULL;
	assert_int_equal(sim_device_idle(a.d, &xml2, &len), 0);
	assert_int_equal(ap_cms_sign_detached_b64(xml2, len, foreign, a.d->key, &fsig), 0);
	r = pt_call(e, "PUT", "/mdm/connect", "mdm-signature", fsig, xml2, len, NULL, 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "not issued by a trusted device CA"));
	free(r.body);
	free(fsig);
	free(xml2);
	assert_int_equal(sim_device_checkin(c, SIM_AUTHENTICATE, &xml2, &len), 0);
	assert_int_equal(ap_cms_sign_detached_b64(xml2, len, foreign, a.d->key, &fsig), 0);
	r = pt_call(e, "PUT", "/mdm/checkin", "mdm-signature", fsig, xml2, len, NULL, 0);
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
	r = pt_call(e, "PUT", "/mdm/connect", NULL, NULL, xml2, len, expired, 1);
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
	r = pt_call(e, "PUT", "/mdm/connect", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "bound to another tablet"));
	free(r.body);
	free(xml);
	sim_device_free(stranger);
	/* Authenticate for a's UDID with b's certificate while a is enrolled */
	assert_int_equal(sim_device_checkin(a.d, SIM_AUTHENTICATE, &xml, &len), 0);
	r = pt_call(e, "PUT", "/mdm/checkin", NULL, NULL, xml, len, b.cert, 1);
	assert_int_equal(r.status, 403);
	free(r.body);
	free(xml);
	pt_tablet_free(&a);
	pt_tablet_free(&b);
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

	pt_enrol(e, &own, NULL);
	migrated_tablet(e, other, other_key, &own, &migrated);
	/* without the anchor: refused */
	assert_int_equal(pt_checkin(e, &migrated, SIM_AUTHENTICATE), 403);
	/* with it: enrols, and its sessions work */
	reopen_keystore(e, pem_path);
	assert_int_equal(pt_checkin(e, &migrated, SIM_AUTHENTICATE), 200);
	assert_int_equal(pt_checkin(e, &migrated, SIM_TOKEN_UPDATE), 200);
	assert_int_equal(pt_session(e, &migrated, NULL, NULL), 5); /* its inventory */
	assert_int_equal(pt_session(e, &own, NULL, NULL), 5);

	/* the anchor removed: the bound migrated tablet is refused, on every
	 * endpoint; the server's own tablets are not */
	reopen_keystore(e, NULL);
	assert_int_equal(sim_device_idle(migrated.d, &xml, &len), 0);
	struct answer r = pt_put(e, &migrated, migrated.d->server_path, xml, len);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "no longer issued by a trusted device CA"));
	free(r.body);
	free(xml);
	assert_int_equal(pt_checkin(e, &migrated, SIM_TOKEN_UPDATE), 403);
	assert_int_equal(pt_checkin(e, &migrated, SIM_AUTHENTICATE), 403);
	queue(e, pt_device_row(e, own.d->udid).id, AP_CMD_DEVICE_INFORMATION, (char[37]){0});
	assert_int_equal(pt_session(e, &own, NULL, NULL), 1);
	assert_string_equal(pt_device_row(e, own.d->udid).trust_id,
			    keystore_device_trust_id(e->srv.ks));

	/* the anchor back: the migrated tablet is served again */
	reopen_keystore(e, pem_path);
	assert_int_equal(pt_session(e, &migrated, NULL, NULL), 0);
	assert_string_equal(pt_device_row(e, migrated.d->udid).trust_id,
			    keystore_device_trust_id(e->srv.ks));

	X509_free(other);
	EVP_PKEY_free(other_key);
	pt_tablet_free(&own);
	pt_tablet_free(&migrated);
}

static void test_checkout_unenrols(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};

	pt_enrol(e, &t, NULL);
	assert_int_equal(pt_checkin(e, &t, SIM_CHECKOUT), 200);
	struct db_device row = pt_device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "unenrolled");
	pt_tablet_free(&t);
}

static void test_erase_unenrols(void **state)
{
	struct env *e = *state;
	struct tablet t = {0};
	struct db_cmd c;
	char uuid[37];

	pt_enrol(e, &t, NULL);
	pt_session(e, &t, NULL, NULL);
	struct db_device row = pt_device_row(e, t.d->udid);
	queue(e, row.id, AP_CMD_ERASE_DEVICE, uuid);
	assert_int_equal(pt_session(e, &t, NULL, NULL), 1);
	assert_true(t.d->erased && !t.d->enrolled);
	assert_int_equal(db_cmd_get(e->w.db, uuid, &c), 0);
	assert_string_equal(c.status, "acknowledged");
	row = pt_device_row(e, t.d->udid);
	assert_string_equal(row.enrollment, "unenrolled");

	/* the wiped tablet enrols again, same UDID, new identity */
	pt_enrol(e, &t, NULL);
	struct db_device again = pt_device_row(e, t.d->udid);
	assert_int_equal(again.id, row.id);
	assert_string_equal(again.enrollment, "enrolled");
	assert_string_not_equal(again.cert_fp, row.cert_fp);
	assert_int_equal(pt_session(e, &t, NULL, NULL), 5); /* a new inventory */
	pt_tablet_free(&t);
}

/* One PUT of xml signed by cert/key, no TLS client certificate (a proxy's
 * tablet); its status. */
static int signed_put(struct env *e, const char *xml, size_t len, const char *sign_xml, X509 *cert,
		      EVP_PKEY *key)
{
	char *sig = NULL;
	assert_int_equal(ap_cms_sign_detached_b64(sign_xml, len, cert, key, &sig), 0);
	struct answer r =
	    pt_call(e, "PUT", "/mdm/connect", "mdm-signature", sig, xml, len, NULL, 0);
	free(sig);
	free(r.body);
	return r.status;
}

/* A kept-alive connection's Mdm-Signature signer is reused only for the
 * same certificate bytes: a second certificate on the same connection is
 * that certificate, and a tampered body is refused with the cached one. */
static void test_signer_cached_per_connection(void **state)
{
	struct env *e = *state;
	struct tablet a = {0}, b = {0};
	char *xa = NULL, *xb = NULL;
	size_t la = 0, lb = 0;

	pt_enrol(e, &a, NULL);
	pt_enrol(e, &b, NULL);
	e->sig_cache = ap_cms_signer_cache_new();
	assert_non_null(e->sig_cache);
	assert_int_equal(sim_device_idle(a.d, &xa, &la), 0);
	assert_int_equal(sim_device_idle(b.d, &xb, &lb), 0);
	assert_int_equal(signed_put(e, xa, la, xa, a.cert, a.d->key), 200);
	assert_int_equal(signed_put(e, xa, la, xa, a.cert, a.d->key), 200); /* cached */
	/* b's certificate for a's UDID on the same connection: refused as b */
	assert_int_equal(signed_put(e, xa, la, xa, b.cert, b.d->key), 403);
	assert_int_equal(signed_put(e, xb, lb, xb, b.cert, b.d->key), 200);
	assert_int_equal(signed_put(e, xb, lb, xb, b.cert, b.d->key), 200); /* cached */
	/* b cached, a's UDID signed by b again, then a tampered body */
	assert_int_equal(signed_put(e, xa, la, xa, b.cert, b.d->key), 403);
	char *tampered = malloc(lb);
	memcpy(tampered, xb, lb);
	tampered[lb / 2] ^= 0x01;
	assert_int_equal(signed_put(e, tampered, lb, xb, b.cert, b.d->key), 403);
	/* a certificate not issued by the device CA, with b's key, after b's:
	 * its chain is checked, not taken from b's */
	X509 *foreign = NULL;
	assert_int_equal(ap_x509_make_selfsigned(b.d->key, "Ardoise device", 30, &foreign), 0);
	struct sim_device *c = NULL;
	char *auth = NULL, *sig = NULL;
	size_t lc = 0;
	assert_int_equal(sim_device_new(&c), 0);
	assert_int_equal(sim_device_checkin(c, SIM_AUTHENTICATE, &auth, &lc), 0);
	assert_int_equal(signed_put(e, xb, lb, xb, b.cert, b.d->key), 200);
	assert_int_equal(ap_cms_sign_detached_b64(auth, lc, foreign, b.d->key, &sig), 0);
	struct answer r =
	    pt_call(e, "PUT", "/mdm/checkin", "mdm-signature", sig, auth, lc, NULL, 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "not issued by a trusted device CA"));
	free(r.body);
	free(sig);
	free(auth);
	sim_device_free(c);
	X509_free(foreign);
	free(tampered);
	free(xa);
	free(xb);
	ap_cms_signer_cache_free(e->sig_cache);
	e->sig_cache = NULL;
	pt_tablet_free(&a);
	pt_tablet_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enrol_and_inventory, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_notnow_keeps_command, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_replayed_report_is_idempotent, pt_setup,
					    pt_teardown),
	    cmocka_unit_test_setup_teardown(test_identity_refusals, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_signer_cached_per_connection, pt_setup,
					    pt_teardown),
	    cmocka_unit_test_setup_teardown(test_device_ca_anchor_added_and_removed, pt_setup,
					    pt_teardown),
	    cmocka_unit_test_setup_teardown(test_checkout_unenrols, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_erase_unenrols, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
