/* protocol_env.c - the protocol scenarios' server, worker, requests and
 * tablets (protocol_env.h). */
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

#include "ap_http.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "config.h"
#include "db_command.h"
#include "keystore.h"
#include "log.h"
#include "protocol_env.h"
#include "router.h"
#include "sim_cmd.h"
#include "sim_profile.h"
#include "store.h"

#define BODY_LIMIT (8u << 20)

/* ---- the request path of daemon/server/conn.c, without the socket ---- */

struct answer pt_call(struct env *e, const char *method, const char *target, const char *header,
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
	r.sig_cache = e->sig_cache;
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

/* PUT a message of the device to path; returns the answer.  The chain of
 * its certificate is checked when the server asks, as on a connection. */
struct answer pt_put(struct env *e, struct tablet *t, const char *path, const char *xml, size_t len)
{
	return pt_call(e, "PUT", path, NULL, NULL, xml, len, t->cert, -1);
}

int pt_checkin(struct env *e, struct tablet *t, enum sim_checkin type)
{
	char *xml = NULL;
	size_t len = 0;
	assert_int_equal(sim_device_checkin(t->d, type, &xml, &len), 0);
	struct answer a = pt_put(e, t, t->d->checkin_path, xml, len);
	free(xml);
	free(a.body);
	return a.status;
}

/* A tablet (new when t->d is NULL, on iPadOS version (NULL: the simulator's default), else one that was
 * erased) through the real enrolment: profile, SCEP, check-ins. */
void pt_enrol(struct env *e, struct tablet *t, const char *version)
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
		if (version)
			assert_int_equal(sim_device_set_os(t->d, NULL, version), 0);
	} else {
		X509_free(t->cert);
		t->cert = NULL;
		t->d->erased = 0;
		sim_device_new_tokens(t->d);
	}
	snprintf(target, sizeof(target), "/mdm/enroll?code=%s&unsigned=1", e->code);
	struct answer a = pt_call(e, "GET", target, NULL, NULL, NULL, 0, NULL, 0);
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
	a = pt_call(e, "POST", target, "content-type", "application/x-pki-message", req, req_len,
		    NULL, 0);
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

	assert_int_equal(pt_checkin(e, t, SIM_AUTHENTICATE), 200);
	assert_int_equal(pt_checkin(e, t, SIM_TOKEN_UPDATE), 200);
	t->d->enrolled = 1;
}

void pt_tablet_free(struct tablet *t)
{
	sim_device_free(t->d);
	X509_free(t->cert);
}

/* One session: Idle, then answer every command until the server sends an
 * empty body.  Returns the number of commands answered; *ret_last (may be
 * NULL) gets the last report sent (malloc'd). */
int pt_session(struct env *e, struct tablet *t, char **ret_last, size_t *ret_last_len)
{
	char *xml = NULL;
	size_t len = 0;
	int n = 0;

	assert_int_equal(sim_device_idle(t->d, &xml, &len), 0);
	struct answer a = pt_put(e, t, t->d->server_path, xml, len);
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
		a = pt_put(e, t, t->d->server_path, xml, len);
	}
	free(a.body);
	return n;
}

struct db_device pt_device_row(struct env *e, const char *udid)
{
	struct db_device d;
	assert_int_equal(db_mdm_by_udid(e->w.db, udid, &d), 0);
	return d;
}

int64_t pt_count_rows(struct env *e, const char *sql, int64_t id)
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

int pt_setup(void **state)
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

int pt_teardown(void **state)
{
	struct env *e = *state;
	db_close(e->w.db);
	keystore_free(e->srv.ks);
	nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}
