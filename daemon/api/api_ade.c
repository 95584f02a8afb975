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
 *   GET  /api/v1/ade/status    the token (consumer key, expiry, warnings), the
 *                              device sync (ade_sync.h), the profiles and
 *                              the assignment counts
 *   POST /api/v1/ade/sync      {"full": bool}: a run now (or the running one
 *                              joined): 202 {"run": id}; ardoisectl polls
 *                              the status until that run has ended
 *   GET  /api/v1/ade/devices   the tablets ASM gave (?school=UAI&removed=1,
 *                              paged: after, limit)
 *   GET|POST /api/v1/ade/profiles, GET|PUT|DELETE /api/v1/ade/profiles/:name
 *                              the enrolment profiles (defined at Apple and
 *                              assigned by the next run)
 */
#include "ade.h"
#include "ade_oauth.h"
#include "ade_sync.h"
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

static json_t *run_json(const struct ade_sync_run *x)
{
	if (x->id == 0)
		return json_null();
	const char *colon = strchr(x->error, ':');
	json_t *err = json_null();
	if (x->error[0])
		err = json_pack("{s:s%,s:s,s:I}", "kind", x->error,
				(size_t)(colon ? colon - x->error : 0), "detail",
				colon ? colon + 1 + (colon[1] == ' ') : x->error, "status",
				(json_int_t)x->status);
	return json_pack("{s:I,s:b,s:b,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
			 "id", (json_int_t)x->id, "running", x->running, "full", x->full, "phase",
			 x->phase, "started_at", api_fleet_time(x->started_at), "ended_at",
			 api_fleet_time(x->ended_at), "duration_ms", (json_int_t)x->duration_ms,
			 "pages", (json_int_t)x->pages, "devices", (json_int_t)x->seen, "new",
			 (json_int_t)x->added, "modified", (json_int_t)x->modified, "removed",
			 (json_int_t)x->removed, "defined", (json_int_t)x->defined, "assigned",
			 (json_int_t)x->assigned, "throttled", (json_int_t)x->throttled, "failed",
			 (json_int_t)x->failed, "error", err);
}

/* When the periodic job runs next: sync_minutes after the last run, not
 * before a Retry-After; soon (its next look, within a minute) when none
 * ran yet; null without a token. */
static json_t *next_run(struct req *r, const struct db_ade_sync *s, int token)
{
	int64_t at = s->run_at ? s->run_at + r->w->srv->cfg.ade_sync_minutes * 60 : db_now();
	if (!token)
		return json_null();
	return api_fleet_time(s->next_at > at ? s->next_at : at);
}

static json_t *sync_json(struct req *r, const struct db_ade_sync *s, const struct db_ade_counts *c,
			 int token)
{
	const char *colon = strchr(s->error, ':');
	json_t *err = json_null();
	if (s->error_at)
		err = json_pack("{s:s%,s:s,s:I,s:o}", "kind", s->error,
				(size_t)(colon ? colon - s->error : 0), "detail",
				colon ? colon + 1 + (colon[1] == ' ') : s->error, "status",
				(json_int_t)s->error_status, "at", api_fleet_time(s->error_at));
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:o}", "phase", s->phase, "cursor_at",
			 api_fleet_time(s->cursor_at), "run_at", api_fleet_time(s->run_at), "ok_at",
			 api_fleet_time(s->ok_at), "next_at", api_fleet_time(s->next_at),
			 "next_run_at", next_run(r, s, token), "devices", (json_int_t)c->known,
			 "removed", (json_int_t)c->removed, "error", err);
}

static json_t *profile_json(const struct db_ade_profile *p)
{
	json_t *settings = json_loads(p->settings, 0, NULL);
	return json_pack("{s:s,s:s?,s:o,s:s?,s:o,s:I,s:s,s:o,s:o}", "name", p->name, "school",
			 p->school[0] ? p->school : NULL, "settings",
			 settings ? settings : json_object(), "profile_uuid",
			 p->profile_uuid[0] ? p->profile_uuid : NULL, "defined_at",
			 api_fleet_time(p->defined_at), "devices", (json_int_t)p->devices,
			 "created_by", p->created_by, "created_at", api_fleet_time(p->created_at),
			 "updated_at", api_fleet_time(p->updated_at));
}

static int add_profile(const struct db_ade_profile *p, void *arg)
{
	return json_array_append_new(arg, profile_json(p));
}

static void status(struct req *r)
{
	struct db_ade_token row;
	struct db_ade_sync s;
	struct db_ade_counts c;
	struct ade_sync_run run;
	char warning[400];
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	int rc = db_ade_token_get(r->w->db, &row);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		api_dberr(r, rc, "reading the ADE token");
		return;
	}
	db_ade_token_clear(&row);
	int rs = db_ade_sync_get(r->w->db, &s);
	if (rs == 0)
		rs = db_ade_counts(r->w->db, &c);
	json_t *profiles = json_array();
	if (rs == 0)
		rs = db_ade_profile_list(r->w->db, add_profile, profiles);
	if (rs < 0) {
		json_decref(profiles);
		api_dberr(r, rs, "reading the ADE sync");
		return;
	}
	ade_sync_last(&run);
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
		 json_pack("{s:s,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:o}", "url",
			   r->w->srv->cfg.ade_url, "token", tok, "sync",
			   sync_json(r, &s, &c, rc == 0), "run", run_json(&run), "profiles",
			   profiles, "assignment", "assigned", (json_int_t)c.assigned, "pending",
			   (json_int_t)(c.pending + c.none), "failed", (json_int_t)c.failed,
			   "throttled", (json_int_t)c.throttled, "removed", (json_int_t)c.removed,
			   "warnings", warnings));
}

static void sync_now(struct req *r)
{
	int full = 0;
	uint64_t id = 0;
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	json_t *body = api_body(r);
	if (body == NULL)
		return;
	int rc = api_field_bool(r, body, "full", &full);
	json_decref(body);
	if (rc < 0)
		return;
	if (api_record(r, "ade.sync", "ade", NULL, json_pack("{s:b}", "full", full)) < 0)
		return;
	rc = ade_sync_start(r->w, full, &id);
	if (rc == AP_EMISSING) {
		api_fail(r, rc, 409, "no ADE server token yet: run ardoisectl ade token first");
		return;
	}
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot start the ADE sync: %s", ap_strerror(rc));
		return;
	}
	api_json(r, 202, json_pack("{s:I}", "run", (json_int_t)id));
}

struct dev_list {
	json_t *arr;
};

static int add_device(const struct db_ade_device *d, const char *school, const char *profile,
		      void *arg)
{
	struct dev_list *l = arg;
	return json_array_append_new(
	    l->arr,
	    json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s,s:s,s:o,s:o,s:o}", "serial", d->serial,
		      "model", d->model, "description", d->description, "color", d->color, "school",
		      school[0] ? school : NULL, "profile", profile[0] ? profile : NULL,
		      "assign_state", d->assign_state, "assign_error", d->assign_error,
		      "profile_status", d->profile_status, "assign_after",
		      api_fleet_time(d->assign_after), "removed_at", api_fleet_time(d->removed_at),
		      "seen_at", api_fleet_time(d->seen_at)));
}

static void devices(struct req *r)
{
	char uai[9] = "", q[32];
	int64_t after = 0, next = 0;
	size_t limit = 0;
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	if (api_query(r, "school", q, sizeof(q)) == 0 && q[0] && api_fleet_uai(r, q, uai) < 0)
		return;
	if (api_fleet_page(r, 100, 1000, &after, &limit) < 0)
		return;
	struct dev_list l = {json_array()};
	int rc = db_ade_device_list(r->w->db, uai[0] ? uai : NULL, api_fleet_flag(r, "removed"),
				    after, limit, add_device, &l, &next);
	if (rc < 0) {
		json_decref(l.arr);
		api_dberr(r, rc, "listing the ADE tablets");
		return;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "devices", l.arr, "next",
			   next ? json_integer((json_int_t)next) : json_null()));
}

/* ---- enrolment profiles ---------------------------------------------------------------------- */

/* The profile's settings from the body (over cur's when updating) into p;
 * its collège into p->school.  The defaults a département wants: not
 * removable, await configuration, French, Return to Service, the pupils'
 * skip list (ade.h). */
static int profile_from(struct req *r, json_t *body, const char *name, const char *cur,
			struct db_ade_profile *p)
{
	static const struct {
		const char *body, *key;
	} strs[] = {{"department", "department"},
		    {"support_phone", "support_phone_number"},
		    {"support_email", "support_email_address"}};
	static const struct {
		const char *body, *key;
	} bools[] = {{"removable", "is_mdm_removable"},
		     {"await", "await_device_configured"},
		     {"return_to_service", "is_return_to_service"}};
	char err[300];
	json_t *set = cur ? json_loads(cur, 0, NULL) : NULL;
	if (set == NULL) {
		json_t *skip = json_array();
		for (size_t i = 0; ade_skip_default[i]; i++)
			json_array_append_new(skip, json_string(ade_skip_default[i]));
		set = json_pack("{s:b,s:b,s:b,s:s,s:s,s:o}", "is_mdm_removable", 0,
				"await_device_configured", 1, "is_return_to_service", 1, "language",
				"fr", "region", "FR", "skip_setup_items", skip);
	}
	json_object_set_new(set, "profile_name", json_string(name));
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *v = NULL;
		if (api_field_str(r, body, strs[i].body, 255, 0, &v) < 0)
			goto fail;
		if (v)
			json_object_set_new(set, strs[i].key, json_string(v));
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		int v = 0;
		json_t *j = json_object_get(body, bools[i].body);
		if (j == NULL)
			continue;
		if (api_field_bool(r, body, bools[i].body, &v) < 0)
			goto fail;
		json_object_set_new(set, bools[i].key, json_boolean(v));
	}
	json_t *skip = json_object_get(body, "skip");
	if (skip) {
		if (!json_is_array(skip) || json_array_size(skip) > 64) {
			api_fail(r, AP_ETYPE, 400, "skip: a list of Setup Assistant panes");
			goto fail;
		}
		size_t i;
		json_t *v;
		json_array_foreach(skip, i, v)
		{
			if (!ade_skip_ok(json_string_value(v))) {
				char valid[1200] = "";
				for (size_t k = 0; ade_skip_panes[k]; k++)
					snprintf(valid + strlen(valid),
						 sizeof(valid) - strlen(valid), "%s%s",
						 k ? ", " : "", ade_skip_panes[k]);
				api_fail(
				    r, AP_EINVAL, 400,
				    "skip: %.64s is not a pane of Setup Assistant; valid ones: %s",
				    json_string_value(v) ? json_string_value(v) : "?", valid);
				goto fail;
			}
		}
		json_object_set(set, "skip_setup_items", skip);
	}
	char *text = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(set);
	set = NULL;
	if (text == NULL || strlen(text) > DB_ADE_SETTINGS_MAX) {
		free(text);
		api_fail(r, AP_ETOOBIG, 400, "the profile's settings are too long");
		return -1;
	}
	if (ade_settings_check(text, strlen(text), err, sizeof(err)) < 0) {
		free(text);
		api_fail(r, AP_EINVAL, 400, "the profile: %s", err);
		return -1;
	}
	snprintf(p->settings, sizeof(p->settings), "%s", text);
	free(text);
	return 0;
fail:
	json_decref(set);
	return -1;
}

/* The collège of the body (school: UAI, or null/"" for the fleet's),
 * kept from p when absent. */
static int school_from(struct req *r, json_t *body, struct db_ade_profile *p)
{
	json_t *j = json_object_get(body, "school");
	char uai[9];
	if (j == NULL)
		return 0;
	if (json_is_null(j) || (json_is_string(j) && json_string_value(j)[0] == '\0')) {
		p->school[0] = '\0';
		return 0;
	}
	if (!json_is_string(j)) {
		api_fail(r, AP_ETYPE, 400, "school: not a string");
		return -1;
	}
	if (api_fleet_uai(r, json_string_value(j), uai) < 0)
		return -1;
	snprintf(p->school, sizeof(p->school), "%s", uai);
	return 0;
}

static int profile_db_err(struct req *r, int rc, const char *name)
{
	api_rollback(r);
	if (rc == AP_ECONFLICT || rc == AP_EEXIST)
		api_fail(r, AP_ECONFLICT, 409,
			 "profile %s: the name is taken, or the fleet or that collège has a "
			 "profile already",
			 name);
	else if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "profile %s or its collège: not found", name);
	else
		api_dberr(r, rc, "storing the ADE profile");
	return -1;
}

static void profile_add(struct req *r)
{
	const char *name = NULL;
	struct db_ade_profile *p = calloc(1, sizeof(*p));
	int64_t id = 0;
	if (p == NULL || api_allow(r, AZ_ADE, NULL) < 0) {
		if (p == NULL)
			api_fail(r, AP_ENOMEM, 500, "out of memory");
		free(p);
		return;
	}
	json_t *body = api_body(r);
	if (body == NULL)
		goto out;
	if (api_field_str(r, body, "name", 64, 1, &name) < 0 || school_from(r, body, p) < 0 ||
	    profile_from(r, body, name, NULL, p) < 0)
		goto out;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->created_by, sizeof(p->created_by), "%s", r->acct.name);
	if (api_begin(r) < 0)
		goto out;
	int rc = db_ade_profile_add(r->w->db, p, db_now(), &id);
	if (rc < 0) {
		profile_db_err(r, rc, name);
		goto out;
	}
	if (db_ade_profile_get(r->w->db, name, p) < 0) {
		api_rollback(r);
		api_fail(r, AP_EDB, 500, "reading the new profile");
		goto out;
	}
	if (api_commit_new(r, "ade.profile.add", name, NULL,
			   json_pack("{s:s?}", "school", p->school[0] ? p->school : NULL)) < 0)
		goto out;
	api_json(r, 201, profile_json(p));
out:
	json_decref(body);
	free(p);
}

static void profile_update(struct req *r)
{
	const char *name = api_param(r, 0);
	struct db_ade_profile *p = calloc(1, sizeof(*p));
	json_t *body = NULL;
	if (p == NULL || api_allow(r, AZ_ADE, NULL) < 0) {
		if (p == NULL)
			api_fail(r, AP_ENOMEM, 500, "out of memory");
		free(p);
		return;
	}
	int rc = db_ade_profile_get(r->w->db, name, p);
	if (rc < 0) {
		if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "profile %.64s: not found", name);
		else
			api_dberr(r, rc, "reading the ADE profile");
		goto out;
	}
	if ((body = api_body(r)) == NULL)
		goto out;
	char cur[DB_ADE_SETTINGS_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", p->settings);
	if (school_from(r, body, p) < 0 || profile_from(r, body, p->name, cur, p) < 0)
		goto out;
	if (api_begin(r) < 0)
		goto out;
	if ((rc = db_ade_profile_update(r->w->db, p, db_now())) < 0) {
		profile_db_err(r, rc, p->name);
		goto out;
	}
	db_ade_profile_get(r->w->db, p->name, p);
	if (api_commit_new(r, "ade.profile.update", p->name, NULL,
			   json_pack("{s:s?}", "school", p->school[0] ? p->school : NULL)) < 0)
		goto out;
	api_json(r, 200, profile_json(p));
out:
	json_decref(body);
	free(p);
}

static void profile_remove(struct req *r)
{
	const char *name = api_param(r, 0);
	if (api_allow(r, AZ_ADE, NULL) < 0 || api_begin(r) < 0)
		return;
	int rc = db_ade_profile_remove(r->w->db, name);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "profile %.64s: not found", name);
		else
			api_dberr(r, rc, "removing the ADE profile");
		return;
	}
	if (api_commit(r, "ade.profile.remove", name, NULL, NULL) < 0)
		return;
	api_json(r, 200, json_pack("{s:s}", "removed", name));
}

static void profile_show(struct req *r)
{
	struct db_ade_profile *p = calloc(1, sizeof(*p));
	if (p == NULL || api_allow(r, AZ_ADE, NULL) < 0) {
		if (p == NULL)
			api_fail(r, AP_ENOMEM, 500, "out of memory");
		free(p);
		return;
	}
	int rc = db_ade_profile_get(r->w->db, api_param(r, 0), p);
	if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "profile %.64s: not found", api_param(r, 0));
	else if (rc < 0)
		api_dberr(r, rc, "reading the ADE profile");
	else
		api_json(r, 200, profile_json(p));
	free(p);
}

static void profile_list(struct req *r)
{
	if (api_allow(r, AZ_ADE, NULL) < 0)
		return;
	json_t *arr = json_array();
	int rc = db_ade_profile_list(r->w->db, add_profile, arr);
	if (rc < 0) {
		json_decref(arr);
		api_dberr(r, rc, "listing the ADE profiles");
		return;
	}
	api_json(r, 200, json_pack("{s:o}", "profiles", arr));
}

const struct route api_ade_routes[] = {
    {"POST", "/api/v1/ade/keypair", AUTH_STAFF, keypair},
    {"POST", "/api/v1/ade/token", AUTH_STAFF, token},
    {"GET", "/api/v1/ade/status", AUTH_STAFF, status},
    {"POST", "/api/v1/ade/sync", AUTH_STAFF, sync_now},
    {"GET", "/api/v1/ade/devices", AUTH_STAFF, devices},
    {"GET", "/api/v1/ade/profiles", AUTH_STAFF, profile_list},
    {"POST", "/api/v1/ade/profiles", AUTH_STAFF, profile_add},
    {"GET", "/api/v1/ade/profiles/:name", AUTH_STAFF, profile_show},
    {"PUT", "/api/v1/ade/profiles/:name", AUTH_STAFF, profile_update},
    {"DELETE", "/api/v1/ade/profiles/:name", AUTH_STAFF, profile_remove},
    {NULL, NULL, AUTH_NONE, NULL},
};
