/*
 * Protocol scenarios of declarative device management in one process: the
 * simulator's device core and its DDM synchronisation (tools/sim/
 * sim_ddm_sync.h) against the daemon's router_dispatch(), no sockets; the
 * daemon's DDM hooks wired as main.c wires them.
 *
 * Covered: a tablet on iPadOS 17.5 gets DeclarativeManagement at
 * enrolment, answers it, and its sync (the command's tokens,
 * declaration-items, each declaration, a full status report) leaves the
 * daemon with DDM on, the tablet's token, its status items and its
 * declarations' state; an iPadOS 15.8 tablet gets no such command; a sync
 * with nothing new is the tokens alone; a declaration outside the tablet's
 * set is 404; a declaration the tablet holds that the manifest no longer
 * lists is dropped.
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
#include <time.h>
#include <unistd.h>

#include "ap_err.h"
#include "ap_http.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "cmdq.h"
#include "config.h"
#include "db_command.h"
#include "db_ddm.h"
#include "db_mdm.h"
#include "ddm.h"
#include "keystore.h"
#include "log.h"
#include "mdm.h"
#include "router.h"
#include "sim_cmd.h"
#include "sim_ddm_sync.h"
#include "sim_device.h"
#include "sim_profile.h"
#include "store.h"
#include "tu_pki.h"
#include "worker.h"

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

/* A tablet (new when t->d is NULL, on iPadOS version, else one that was
 * erased) through the real enrolment: profile, SCEP, check-ins. */
static void enrol(struct env *e, struct tablet *t, const char *version)
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
		assert_int_equal(sim_device_set_os(t->d, NULL, version), 0);
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

static struct db_device device_row(struct env *e, const char *udid)
{
	struct db_device d;
	assert_int_equal(db_mdm_by_udid(e->w.db, udid, &d), 0);
	return d;
}

/* ---- DDM ---- */

/* What one sync did. */
struct synced {
	size_t checkins, fetched, reports;
};

/* One DDM synchronisation of t against the router, to the end. */
static struct synced sync_tablet(struct env *e, struct tablet *t)
{
	struct sim_ddm_sync s;
	struct sim_clock now;
	struct synced out = {0};
	char why[240];
	int done = 0;

	sim_clock_at(&now, time(NULL));
	assert_int_equal(sim_ddm_sync_start(&s, t->d, &now, 0, &done), 0);
	while (!done) {
		char *xml = NULL;
		size_t len = 0;
		assert_int_equal(sim_ddm_checkin(t->d, s.endpoint, s.data, s.len, &xml, &len), 0);
		struct answer a = put(e, t, t->d->checkin_path, xml, len);
		free(xml);
		out.checkins++;
		int rc = sim_ddm_sync_answer(&s, t->d, &now, a.status, a.body, a.len, &done, why,
					     sizeof(why));
		free(a.body);
		if (rc < 0)
			fail_msg("sync: %s", why);
	}
	out.fetched = s.fetched;
	out.reports = s.reports;
	sim_ddm_sync_clear(&s);
	t->d->ddm.sync = 0;
	t->d->ddm.hint[0] = '\0';
	return out;
}

/* The status of one check-in to endpoint. */
static int ddm_status(struct env *e, struct tablet *t, const char *endpoint)
{
	char *xml = NULL;
	size_t len = 0;
	assert_int_equal(sim_ddm_checkin(t->d, endpoint, NULL, 0, &xml, &len), 0);
	struct answer a = put(e, t, t->d->checkin_path, xml, len);
	free(xml);
	free(a.body);
	return a.status;
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
	/* what ardoised --init and main.c do for DDM */
	assert_int_equal(ddm_status_subscriptions_ensure(e->w.db, "system", NULL), 0);
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

static void test_enrolment_turns_ddm_on(void **state)
{
	struct env *e = *state;
	struct tablet t = {0}, old = {0};
	struct db_ddm_state st;
	int64_t pending = -1;

	enrol(e, &t, "17.5");
	enrol(e, &old, "15.8");
	struct db_device row = device_row(e, t.d->udid), row15 = device_row(e, old.d->udid);
	/* the inventory, and DeclarativeManagement for iPadOS 16 and later only */
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 6);
	assert_int_equal(db_cmd_pending(e->w.db, row15.id, &pending), 0);
	assert_int_equal(pending, 5);
	assert_int_equal(session(e, &old, NULL, NULL), 5);
	assert_false(old.d->ddm.enabled);
	assert_int_equal(session(e, &t, NULL, NULL), 6);
	assert_true(t.d->ddm.enabled && t.d->ddm.sync);
	assert_int_not_equal(t.d->ddm.hint[0], '\0');

	/* the sync of that session: the command's tokens, the manifest, each
	 * declaration, a full report */
	struct synced s = sync_tablet(e, &t);
	assert_true(s.fetched >= 2); /* status subscriptions and their activation */
	assert_int_equal(s.checkins, 1 + s.fetched + 1);
	assert_int_equal(s.reports, 1);
	assert_int_equal(db_ddm_state_get(e->w.db, row.id, &st), 0);
	assert_true(st.enabled_at > 0);
	assert_string_equal(st.token, t.d->ddm.token);
	assert_true(
	    count_rows(e, "SELECT count(*) FROM device_ddm_item WHERE device_id = ?", row.id) >= 8);
	assert_int_equal(count_rows(e,
				    "SELECT count(*) FROM device_ddm_item WHERE device_id = ?"
				    " AND item = 'device.operating-system.version'"
				    " AND value = '\"17.5\"'",
				    row.id),
			 1);
	assert_int_equal(count_rows(e,
				    "SELECT active FROM device_declaration WHERE device_id = ?"
				    " AND identifier = 'ardoise.status-subscriptions'",
				    row.id),
			 1);
	assert_int_equal(db_ddm_state_get(e->w.db, row15.id, &st), 0);
	assert_int_equal(st.enabled_at, 0);

	/* nothing new: the tokens alone, no report */
	s = sync_tablet(e, &t);
	assert_int_equal(s.checkins, 1);
	assert_int_equal(s.fetched + s.reports, 0);

	/* outside the tablet's set: 404 */
	assert_int_equal(ddm_status(e, &t, "declaration/configuration/not.assigned"), 404);
	assert_int_equal(
	    ddm_status(e, &t, "declaration/configuration/ardoise.status-subscriptions"), 200);

	/* a declaration the tablet holds (and reported) that the manifest does
	 * not list goes away at the next manifest, reported "_removed" */
	assert_int_equal(sim_ddm_store(&t.d->ddm, AP_DDM_CONFIGURATION, "stale.one",
				       "com.apple.configuration.passcode.settings", "t", "{}"),
			 0);
	s = sync_tablet(e, &t); /* same token: applied and reported */
	assert_int_equal(s.checkins, 2);
	assert_int_equal(s.reports, 1);
	const char *stale = "SELECT count(*) FROM device_declaration WHERE device_id = ?"
			    " AND identifier = 'stale.one'";
	assert_int_equal(count_rows(e, stale, row.id), 1);
	t.d->ddm.token[0] = '\0'; /* the tablet asks for the manifest */
	s = sync_tablet(e, &t);
	assert_int_equal(s.fetched, 0);
	assert_int_equal(s.reports, 1);
	assert_null(sim_ddm_find(&t.d->ddm, "stale.one"));
	assert_int_equal(count_rows(e, stale, row.id), 0);
	assert_int_equal(db_ddm_state_get(e->w.db, row.id, &st), 0);
	assert_string_equal(t.d->ddm.token, st.token); /* the set did not change */
	tablet_free(&t);
	tablet_free(&old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enrolment_turns_ddm_on, setup, teardown),
	};
	/* the hooks of main.c's wire_hooks() this scenario needs */
	if (cmdq_on_result(AP_CMD_DECLARATIVE_MANAGEMENT, ddm_on_result) < 0)
		return 1;
	mdm_on_enrolled(ddm_enrolled);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
