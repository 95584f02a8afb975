/*
 * api_lock.c - lock-code reset, remote lock, and Activation Lock escrow.
 *
 *   POST /api/v1/devices/:serial/clear-passcode  {"reason": T}
 *   POST /api/v1/devices/:serial/lock            {"message": T?, "phone": P?, "reason": T}
 *   GET  /api/v1/devices/:serial/activation-lock (?reveal=1: the escrowed code,
 *                                                 technicians only, audited)
 *
 * Nobody can read a lock code and none is stored: ClearPasscode removes it
 * with the UnlockToken the tablet gave at enrolment (sealed at rest).
 */
#include "ap_cmd.h"
#include "ap_err.h"
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "authz.h"
#include "db_mdm.h"
#include "keystore.h"
#include "cmdq.h"
#include "worker.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_MESSAGE_MAX API_REASON_MAX
#define LOCK_PHONE_MAX	 64

/* Queues t with params for d and its audit row in one transaction;
 * answers 201 with the command. */
static void queue_and_answer(struct req *r, const struct db_device *d, enum ap_cmd_type t,
			     plist_t params, const char *action, const char *reason)
{
	char uuid[37];
	if (api_begin(r) < 0)
		return;
	struct cmd_order o = {.device_id = d->id,
			      .type = t,
			      .params = params,
			      .origin = "staff",
			      .requested_by = r->acct.name};
	int rc = api_queue(r, &o, NULL, uuid);
	if (rc < 0)
		return;
	json_t *det = json_pack("{s:s,s:s}", "command", uuid, "type", ap_cmd_name(t));
	rc = api_commit(r, action, d->serial, reason, det);
	json_decref(det);
	if (rc < 0)
		return;
	api_json(r, 201,
		 json_pack("{s:s,s:s,s:s,s:s}", "uuid", uuid, "type", ap_cmd_name(t), "status",
			   "queued", "serial", d->serial));
}

static void clear_passcode(struct req *r)
{
	struct db_device d;
	const char *reason = NULL;
	unsigned char *sealed = NULL, *token = NULL;
	size_t sealed_len = 0, token_len = 0;
	plist_t params = NULL;
	json_t *body;
	if (api_tablet(r, AZ_DEVICE_ACTION, &d) < 0 || (body = api_body(r)) == NULL)
		return;
	if (api_field_str(r, body, "reason", API_REASON_MAX, 1, &reason) < 0)
		goto out;
	int rc = db_mdm_secret(r->w->db, d.id, 0, &sealed, &sealed_len);
	if (rc == AP_ENOTFOUND) {
		api_fail(r, AP_ECONFLICT, 409,
			 "tablet %s has no UnlockToken: it has not completed enrolment, or is not "
			 "supervised; its lock code cannot be reset remotely",
			 d.serial);
		goto out;
	}
	if (rc == 0)
		rc = keystore_unseal(r->w->srv->ks, KEYSTORE_UNLOCK_TOKEN, d.udid, sealed,
				     sealed_len, &token, &token_len);
	if (rc == 0)
		rc = ap_cmd_params_clear_passcode(token, token_len, &params);
	if (rc == AP_ECRYPTO || rc == AP_EPARSE) {
		api_fail(r, rc, 500,
			 "the sealed UnlockToken of tablet %s does not open as its UnlockToken "
			 "(altered in the database?): ClearPasscode not queued",
			 d.serial);
		goto out;
	}
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot prepare ClearPasscode: %s", ap_strerror(rc));
		goto out;
	}
	queue_and_answer(r, &d, AP_CMD_CLEAR_PASSCODE, params, "device.clear_passcode", reason);
out:
	if (token)
		OPENSSL_cleanse(token, token_len);
	free(token);
	free(sealed);
	if (params)
		plist_free(params);
	json_decref(body);
}

static void lock(struct req *r)
{
	struct db_device d;
	const char *msg = NULL, *phone = NULL, *reason = NULL;
	json_t *body;
	if (api_tablet(r, AZ_DEVICE_ACTION, &d) < 0 || (body = api_body(r)) == NULL)
		return;
	/* the Lock screen shows the message on several lines */
	if (api_field_lines(r, body, "message", LOCK_MESSAGE_MAX, 0, &msg) < 0 ||
	    api_field_str(r, body, "phone", LOCK_PHONE_MAX, 0, &phone) < 0 ||
	    api_field_str(r, body, "reason", API_REASON_MAX, 1, &reason) < 0) {
		json_decref(body);
		return;
	}
	plist_t params = plist_new_dict();
	if (msg && msg[0])
		plist_dict_set_item(params, "Message", plist_new_string(msg));
	if (phone && phone[0])
		plist_dict_set_item(params, "PhoneNumber", plist_new_string(phone));
	queue_and_answer(r, &d, AP_CMD_DEVICE_LOCK, params, "device.lock", reason);
	plist_free(params);
	json_decref(body);
}

/* The escrowed bypass code of d into o, with its audit row written first
 * (no code shown without its row); answers itself on failure. */
static int reveal_code(struct req *r, const struct db_device *d, const unsigned char *sealed,
		       size_t sealed_len, json_t *o)
{
	unsigned char *code = NULL;
	size_t code_len = 0;
	int rc = keystore_unseal(r->w->srv->ks, KEYSTORE_BYPASS_CODE, d->udid, sealed, sealed_len,
				 &code, &code_len);
	if (rc < 0)
		return api_refuse(r, rc, 500,
				  "the escrowed code of tablet %s does not open as its bypass code "
				  "(altered in the database?)",
				  d->serial);
	rc = api_record(r, "device.activation_lock_code_read", d->serial, NULL, NULL);
	if (rc == 0)
		json_object_set_new(o, "bypass_code", json_stringn((const char *)code, code_len));
	OPENSSL_cleanse(code, code_len);
	free(code);
	return rc;
}

static void activation_lock(struct req *r)
{
	struct db_device d;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	char reveal[4];
	if (api_tablet(r, AZ_READ, &d) < 0)
		return;
	int want = api_query(r, "reveal", reveal, sizeof(reveal)) == 0 && strcmp(reveal, "0") != 0;
	if (want && api_allow(r, AZ_LOCATE, NULL) < 0) /* technicians only */
		return;
	int rc = db_mdm_secret(r->w->db, d.id, 1, &sealed, &sealed_len);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		api_fail(r, rc, 503, "cannot read the escrow");
		return;
	}
	/* iPadOS 16+ no longer reports whether Activation Lock is on
	 * (IsActivationLockEnabled is deprecated): what matters is whether
	 * the bypass code is escrowed, so a returned tablet can be reset */
	json_t *o = json_pack("{s:s,s:o,s:b}", "serial", d.serial, "supervised",
			      d.supervised < 0 ? json_null() : json_boolean(d.supervised),
			      "bypass_code_escrowed", rc == 0);
	if (want && rc == 0 && reveal_code(r, &d, sealed, sealed_len, o) < 0)
		json_decref(o);
	else
		api_json(r, 200, o);
	free(sealed);
}

const struct route api_lock_routes[] = {
    {"POST", "/api/v1/devices/:serial/clear-passcode", AUTH_STAFF, clear_passcode},
    {"POST", "/api/v1/devices/:serial/lock", AUTH_STAFF, lock},
    {"GET", "/api/v1/devices/:serial/activation-lock", AUTH_STAFF, activation_lock},
    {NULL, NULL, AUTH_NONE, NULL},
};
