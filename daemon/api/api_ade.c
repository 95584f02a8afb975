/*
 * api_ade.c - the Automated Device Enrolment server token (Apple School
 * Manager; docs/apple-services.md §2.1), technicians only (AZ_ADE).  Not
 * used yet: the ADE client that signs GET /session with it comes next.
 *
 *   POST /api/v1/ade/keypair   makes the key pair once (keystore.h), answers
 *                              {"certificate": PEM, "created": bool}
 *   POST /api/v1/ade/token     {"p7m": base64 of the .p7m file}: decrypted
 *                              with the key, parsed (ade_oauth.h), stored
 *                              with its two secrets sealed (db_ade.h)
 *   GET  /api/v1/ade/status    consumer key, expiry, warnings
 */
#include "ade_oauth.h"
#include "ap_err.h"
#include "api.h"
#include "api_ade.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "db_ade.h"
#include "isodate.h"
#include "keystore.h"
#include "store.h"
#include "worker.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY	    86400
#define P7M_MAX_B64 (1400u * 1024) /* the body's base64: a .p7m of about 1 MiB */

static void keypair(struct req *r)
{
	char err[300] = "", *pem = NULL;
	int created = 0;
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	int rc = keystore_ade_keypair(r->w->srv->ks, &pem, &created, err, sizeof(err));
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot make the ADE key pair: %s", err);
		return;
	}
	if (api_record(r, "ade.keypair", "ade", NULL, json_pack("{s:b}", "created", created)) < 0) {
		free(pem);
		return;
	}
	api_json(r, created ? 201 : 200,
		 json_pack("{s:s,s:b}", "certificate", pem, "created", created));
	free(pem);
}

/* base64 text (line breaks allowed) into a malloc'd buffer. */
static unsigned char *unbase64(const char *s, size_t *ret_len)
{
	size_t n = strlen(s), o = 0;
	char *clean = malloc(n + 1);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	if (!clean || !out)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r')
			clean[o++] = s[i];
	if (o == 0 || o % 4)
		goto fail;
	int len = EVP_DecodeBlock(out, (unsigned char *)clean, (int)o);
	if (len < 0)
		goto fail;
	len -= (clean[o - 1] == '=') + (clean[o - 2] == '=');
	free(clean);
	*ret_len = (size_t)len;
	return out;
fail:
	free(clean);
	free(out);
	return NULL;
}

static int seal(struct req *r, const char *ck, const char *what, const char *plain,
		unsigned char **ret, size_t *ret_len)
{
	char owner[DB_ADE_FIELD_MAX + 32];
	snprintf(owner, sizeof(owner), "%s/%s", ck, what);
	return keystore_seal(r->w->srv->ks, KEYSTORE_ADE_TOKEN, owner, plain, strlen(plain), ret,
			     ret_len);
}

static void token(struct req *r)
{
	const char *b64 = NULL;
	char err[300] = "", *plain = NULL;
	size_t der_len = 0, plain_len = 0;
	unsigned char *der = NULL;
	struct ade_token t;
	struct db_ade_token row;
	memset(&t, 0, sizeof(t));
	memset(&row, 0, sizeof(row));
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	if (api_field_str(r, body, "p7m", P7M_MAX_B64, 1, &b64) < 0)
		goto out;
	if ((der = unbase64(b64, &der_len)) == NULL) {
		api_fail(r, AP_EPARSE, 400, "p7m: not base64");
		goto out;
	}
	int rc =
	    keystore_ade_decrypt(r->w->srv->ks, der, der_len, &plain, &plain_len, err, sizeof(err));
	if (rc == AP_EMISSING) {
		api_fail(r, rc, 409, "no ADE key pair yet: run ardoisectl ade keypair first");
		goto out;
	}
	if (rc < 0) {
		api_fail(r, rc, 400, "the token file: %s", err);
		goto out;
	}
	rc = ade_token_parse(plain, plain_len, &t, err, sizeof(err));
	OPENSSL_cleanse(plain, plain_len);
	if (rc < 0) {
		api_fail(r, rc, 400, "the decrypted token: %s", err);
		goto out;
	}
	snprintf(row.consumer_key, sizeof(row.consumer_key), "%s", t.consumer_key);
	snprintf(row.access_token, sizeof(row.access_token), "%s", t.access_token);
	snprintf(row.imported_by, sizeof(row.imported_by), "%s", r->acct.name);
	row.expiry = t.expiry;
	row.imported_at = db_now();
	if ((rc = seal(r, t.consumer_key, "consumer_secret", t.consumer_secret,
		       &row.consumer_secret, &row.consumer_secret_len)) < 0 ||
	    (rc = seal(r, t.consumer_key, "access_secret", t.access_secret, &row.access_secret,
		       &row.access_secret_len)) < 0) {
		api_fail(r, rc, 500, "cannot seal the token's secrets: %s", ap_strerror(rc));
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	if ((rc = db_ade_token_put(r->w->db, &row)) < 0) {
		api_rollback(r);
		api_dberr(r, rc, "storing the ADE token");
		goto out;
	}
	if (api_commit_new(r, "ade.token", t.consumer_key, NULL,
			   json_pack("{s:s}", "expiry", t.expiry_text)) < 0)
		goto out;
	api_json(r, 200,
		 json_pack("{s:s,s:o}", "consumer_key", t.consumer_key, "expiry",
			   api_fleet_time(t.expiry)));
out:
	ade_token_wipe(&t);
	free(plain);
	free(der);
	db_ade_token_clear(&row);
	json_decref(body);
}

int api_ade_warning(struct req *r, char *out, size_t cap)
{
	struct db_ade_token row;
	char day[ISODATE_DAY_LEN + 1];
	out[0] = '\0';
	if (db_ade_token_get(r->w->db, &row) < 0)
		return 0;
	db_ade_token_clear(&row);
	int64_t left = row.expiry - db_now();
	isodate_format_day(row.expiry, day);
	if (left <= 0)
		snprintf(out, cap,
			 "ade: the Apple School Manager server token expired on %s: download a "
			 "new one (ardoisectl ade token)",
			 day);
	else if (left < ADE_WARN_DAYS * DAY)
		snprintf(out, cap,
			 "ade: the Apple School Manager server token expires in %lld days (%s): "
			 "download a new one (ardoisectl ade token)",
			 (long long)(left / DAY), day);
	return out[0] != '\0';
}

static void status(struct req *r)
{
	struct db_ade_token row;
	char warning[400];
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	int rc = db_ade_token_get(r->w->db, &row);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		api_dberr(r, rc, "reading the ADE token");
		return;
	}
	db_ade_token_clear(&row);
	json_t *warnings = json_array();
	if (rc == 0 && api_ade_warning(r, warning, sizeof(warning)))
		json_array_append_new(warnings, json_string(warning));
	json_t *tok = json_null();
	if (rc == 0) {
		int64_t left = row.expiry - db_now();
		tok = json_pack("{s:s,s:o,s:I,s:o,s:s}", "consumer_key", row.consumer_key, "expiry",
				api_fleet_time(row.expiry), "expires_in_days",
				(json_int_t)(left >= 0 ? left / DAY : -((-left + DAY - 1) / DAY)),
				"imported_at", api_fleet_time(row.imported_at), "imported_by",
				row.imported_by);
	}
	api_json(r, 200,
		 json_pack("{s:s,s:o,s:o}", "url", r->w->srv->cfg.ade_url, "token", tok, "warnings",
			   warnings));
}

const struct route api_ade_routes[] = {
    {"POST", "/api/v1/ade/keypair", AUTH_STAFF, keypair},
    {"POST", "/api/v1/ade/token", AUTH_STAFF, token},
    {"GET", "/api/v1/ade/status", AUTH_STAFF, status},
    {NULL, NULL, AUTH_NONE, NULL},
};
