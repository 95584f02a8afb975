/* api.c - the staff-handler helpers: answers, body fields, authorisation,
 * the change's transaction with its audit row (api.h).  A leaf: no handler
 * module is included here. */
#include "api.h"
#include "db_device.h"
#include "ap_err.h"
#include "ap_text.h"
#include "authz.h"
#include "cmdq.h"
#include "db_audit.h"
#include "db_mdm.h"
#include "db_session.h"
#include "isodate.h"
#include "log.h"
#include "worker.h"
#include "store.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int api_dberr(struct req *r, int rc, const char *what)
{
	log_error("db_error", "id=%s what=\"%s\" error=\"%s\" sqlite=\"%s\"", r->id, what,
		  ap_strerror(rc), db_errmsg(r->w->db));
	api_fail(r, rc, rc == AP_EBUSY ? 503 : 500, "storage error while %s: %s", what,
		 ap_strerror(rc));
	return rc;
}

int api_refuse(struct req *r, int err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	api_vfail(r, err, status, fmt, ap);
	va_end(ap);
	return err;
}

json_t *api_body(struct req *r)
{
	json_error_t je;
	struct ap_buf *b = &r->http->body;
	if (b->len > API_MAX_JSON) {
		api_fail(r, AP_ETOOBIG, 413, "JSON body larger than %u bytes", API_MAX_JSON);
		return NULL;
	}
	json_t *v = json_loadb(b->data ? b->data : "", b->len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		api_fail(r, AP_EPARSE, 400, "body is not valid JSON: %s (line %d)", je.text,
			 je.line);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_fail(r, AP_ETYPE, 400, "body must be a JSON object");
		return NULL;
	}
	return v;
}

/* v (the value of member key) as text of at most max bytes, on one line
 * unless lines; answers 400 when it is not. */
static int text_value(struct req *r, const char *key, json_t *v, size_t max, int lines,
		      const char **ret)
{
	if (!json_is_string(v))
		return api_refuse(r, AP_ETYPE, 400, "'%s' must be a string", key);
	const char *s = json_string_value(v);
	if (!ap_text_ok(s, max, lines) || strlen(s) != json_string_length(v))
		return api_refuse(r, AP_EINVAL, 400, "'%s' must be text of at most %zu bytes%s",
				  key, max,
				  lines ? ", without control characters other than line breaks"
					: ", on one line, without control characters");
	*ret = s;
	return 0;
}

/* Member key of body, NULL when absent or null; answers 400 when it is
 * required then. */
static int member(struct req *r, json_t *body, const char *key, int required, json_t **ret)
{
	json_t *v = json_object_get(body, key);
	if (json_is_null(v))
		v = NULL;
	if (v == NULL && required)
		return api_refuse(r, AP_EMISSING, 400, "'%s' is required", key);
	*ret = v;
	return 0;
}

/* String member key of body as text (see api_field_str()); lines: line
 * feeds allowed. */
static int text_member(struct req *r, json_t *body, const char *key, size_t max, int required,
		       int lines, const char **ret)
{
	const char *s = NULL;
	json_t *v;
	int rc = member(r, body, key, required, &v);
	if (rc == 0 && v)
		rc = text_value(r, key, v, max, lines, &s);
	if (rc < 0)
		return rc;
	if (required && s[0] == '\0')
		return api_refuse(r, AP_EMISSING, 400, "'%s' must not be empty", key);
	*ret = s;
	return 0;
}

int api_field_str(struct req *r, json_t *body, const char *key, size_t max, int required,
		  const char **ret)
{
	return text_member(r, body, key, max, required, 0, ret);
}

int api_field_lines(struct req *r, json_t *body, const char *key, size_t max, int required,
		    const char **ret)
{
	return text_member(r, body, key, max, required, 1, ret);
}

int api_field_day(struct req *r, json_t *body, const char *key, int required, int64_t *ret)
{
	const char *s;
	int rc = api_field_str(r, body, key, 32, required, &s);
	if (rc < 0)
		return rc;
	if (s == NULL || s[0] == '\0') {
		*ret = 0;
		return 0;
	}
	if (isodate_parse_day(s, ret) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "'%s': '%s' is not a date DD/MM/YYYY or YYYY-MM-DD", key, s);
	return 0;
}

int api_field_strs(struct req *r, json_t *body, const char *key, size_t max_n, size_t max,
		   int lines, const char **ret, size_t *ret_n)
{
	json_t *a, *v;
	size_t i;
	int rc = member(r, body, key, 0, &a);
	if (rc < 0)
		return rc;
	if (a && (!json_is_array(a) || json_array_size(a) > max_n))
		return api_refuse(r, AP_EINVAL, 400, "'%s' must be an array of at most %zu strings",
				  key, max_n);
	json_array_foreach(a, i, v)
	{
		if ((rc = text_value(r, key, v, max, lines, &ret[i])) < 0)
			return rc;
	}
	*ret_n = a ? json_array_size(a) : 0;
	return 0;
}

int api_field_int(struct req *r, json_t *body, const char *key, int64_t min, int64_t max,
		  int required, int64_t *ret)
{
	json_t *v;
	int rc = member(r, body, key, required, &v);
	if (rc < 0 || v == NULL)
		return rc;
	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
		*ret = json_integer_value(v);
		return 0;
	}
	if (max == INT64_MAX)
		return api_refuse(r, AP_EINVAL, 400, "%s must be a whole number, %lld or more", key,
				  (long long)min);
	return api_refuse(r, AP_EINVAL, 400, "%s must be a whole number from %lld to %lld", key,
			  (long long)min, (long long)max);
}

int api_field_bool(struct req *r, json_t *body, const char *key, int *ret)
{
	json_t *v;
	int rc = member(r, body, key, 0, &v);
	if (rc < 0)
		return rc;
	if (v && !json_is_boolean(v))
		return api_refuse(r, AP_ETYPE, 400, "'%s' must be true or false", key);
	*ret = json_is_true(v);
	return 0;
}

int api_field_enum(struct req *r, json_t *body, const char *key, const char *const *names,
		   int required, int *ret)
{
	char choices[256] = "";
	size_t n;
	json_t *v;
	int rc = member(r, body, key, required, &v);
	if (rc < 0 || v == NULL)
		return rc;
	for (n = 0; names[n]; n++)
		if (json_is_string(v) && strcmp(json_string_value(v), names[n]) == 0) {
			*ret = (int)n;
			return 0;
		}
	for (size_t i = 0; i < n; i++) /* "a", "b" or "c" */
		snprintf(choices + strlen(choices), sizeof(choices) - strlen(choices), "%s\"%s\"",
			 i == 0	     ? ""
			 : i + 1 < n ? ", "
				     : " or ",
			 names[i]);
	return api_refuse(r, AP_EINVAL, 400, "%s must be %s", key, choices);
}

int api_allow(struct req *r, int action, const char *school)
{
	int rc = authz_check(r, (enum authz_action)action, school);
	/* the collège is not named: an object's would tell where it is */
	if (rc == AP_EAUTH)
		api_fail(r, rc, 401, "a valid bearer token is required");
	else if (rc < 0 && school && strcmp(school, AUTHZ_OWN_SCOPE) != 0 &&
		 authz_check(r, (enum authz_action)action, AUTHZ_OWN_SCOPE) == 0)
		api_fail(r, rc, 403, "that collège is outside the scope of account %s (%s)",
			 r->acct.name, db_role_name(r->acct.role));
	else if (rc < 0)
		api_fail(r, rc, 403, "role %s may not %s", db_role_name(r->acct.role),
			 authz_action_text((enum authz_action)action));
	return rc;
}

int api_allow_object(struct req *r, int action, int found, const char *school, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (found < 0 && found != AP_ENOTFOUND) {
		api_fail(r, found, 503, "cannot read the %s: %s", what, ap_strerror(found));
		return found;
	}
	/* a role that may not do this anywhere hears so, found or not */
	int rc = api_allow(r, action, AUTHZ_OWN_SCOPE);
	if (rc < 0)
		return rc;
	if (found == 0 &&
	    authz_check(r, (enum authz_action)action, school && school[0] ? school : NULL) == 0)
		return 0;
	return api_refuse(r, AP_ENOTFOUND, 404, "no %s%s", what,
			  authz_fleet_wide(r) ? "" : " in your collèges");
}

#define TAG_SHOWN 10 /* tablets an ambiguous asset tag lists */

struct by_tag {
	struct req *r;
	int action;
	size_t n;
	char names[TAG_SHOWN][65];
};

static int tag_hit(const char *name, const char *school, void *arg)
{
	struct by_tag *t = arg;
	/* the caller's collèges only: another collège's tag is not theirs */
	if (authz_check(t->r, (enum authz_action)t->action, school && school[0] ? school : NULL) <
	    0)
		return 0;
	if (t->n < TAG_SHOWN)
		snprintf(t->names[t->n], sizeof(t->names[t->n]), "%s", name ? name : "");
	t->n++;
	return 0;
}

int api_device_resolve(struct req *r, int action, const char *name, char *out, size_t cap)
{
	struct by_tag t = {r, action, 0, {{0}}};
	char list[TAG_SHOWN * 66];
	size_t o = 0;
	int rc = name[0] ? db_device_by_tag(r->w->db, name, 1000, tag_hit, &t) : 0;
	if (rc < 0)
		return rc;
	if (t.n == 0)
		return AP_ENOTFOUND;
	if (t.n == 1) {
		snprintf(out, cap, "%s", t.names[0]);
		return 0;
	}
	list[0] = '\0';
	for (size_t i = 0; i < t.n && i < TAG_SHOWN; i++)
		o +=
		    (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", t.names[i]);
	return api_refuse(r, AP_ECONFLICT, 409,
			  "asset tag '%s' is on %zu tablets (%s%s): name one by its serial", name,
			  t.n, list, t.n > TAG_SHOWN ? ", ..." : "");
}

int api_tablet_serial(struct req *r, int action, const char *serial, struct db_device *d)
{
	char found[65];
	int rc = db_mdm_by_serial(r->w->db, serial, d);
	if (rc == AP_ENOTFOUND && serial[0]) { /* not a serial: an asset tag? */
		rc = api_device_resolve(r, action, serial, found, sizeof(found));
		if (rc == AP_ECONFLICT)
			return rc; /* answered */
		if (rc == 0)
			rc = db_mdm_by_serial(r->w->db, found, d);
	}
	return api_allow_object(r, action, rc, rc == 0 ? d->school : NULL, "tablet with serial %s",
				serial);
}

int api_tablet(struct req *r, int action, struct db_device *d)
{
	return api_tablet_serial(r, action, api_param(r, 0), d);
}

const char *api_param(const struct req *r, size_t i)
{
	return i < r->n_params ? r->params[i] : "";
}

int api_query(const struct req *r, const char *name, char *out, size_t cap)
{
	return ap_http_query(r->http, name, out, cap);
}

/* Appends this request's audit row in the open transaction (detail may be
 * NULL, borrowed).  Only api_commit() writes rows: a staff action's row is
 * always in its change's transaction. */
static int audit_row(struct req *r, const char *action, const char *target, const char *reason,
		     json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (detail && d == NULL)
		return AP_ENOMEM;
	int rc = db_audit_append(r->w->db, r->has_acct ? r->acct.name : "system", action, target,
				 reason, d);
	free(d);
	if (rc < 0)
		log_error("audit_failed", "id=%s action=%s error=\"%s\"", r->id, action,
			  ap_strerror(rc));
	return rc;
}

int api_begin(struct req *r)
{
	int rc = db_begin(r->w->db);
	if (rc < 0)
		api_dberr(r, rc, "starting a transaction");
	return rc;
}

void api_rollback(struct req *r)
{
	db_rollback(r->w->db);
}

int api_commit(struct req *r, const char *action, const char *target, const char *reason,
	       json_t *detail)
{
	int rc = audit_row(r, action, target, reason, detail);
	if (rc < 0) {
		db_rollback(r->w->db);
		return api_dberr(r, rc, "writing the audit row");
	}
	rc = db_commit(r->w->db);
	if (rc < 0)
		api_dberr(r, rc, "committing");
	return rc;
}

int api_commit_plain(struct req *r)
{
	int rc = db_commit(r->w->db);
	if (rc < 0)
		api_dberr(r, rc, "committing");
	return rc;
}

int api_commit_new(struct req *r, const char *action, const char *target, const char *reason,
		   json_t *detail)
{
	int rc = api_commit(r, action, target, reason, detail);
	json_decref(detail);
	return rc;
}

int api_record(struct req *r, const char *action, const char *target, const char *reason,
	       json_t *detail)
{
	int rc = api_begin(r);
	if (rc < 0) {
		json_decref(detail);
		return rc;
	}
	return api_commit_new(r, action, target, reason, detail);
}

/* The value of cookie name in the request's Cookie header into out (cap
 * bytes): 0; AP_ENOTFOUND when absent, AP_EINVAL when longer than cap - 1
 * (the first cookie of that name counts). */
static int cookie_value(const struct req *r, const char *name, char *out, size_t cap)
{
	const char *p = ap_http_header(r->http, "cookie");
	size_t nl = strlen(name);
	while (p && *p) {
		p += strspn(p, " \t;");
		size_t n = strcspn(p, ";");
		if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t vl = n - nl - 1;
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= cap)
				return AP_EINVAL;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p += n;
	}
	return AP_ENOTFOUND;
}

/* Ends session id in its own transaction (gone already is no error). */
static int end_session(struct db *db, int64_t id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_session_end(db, id);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

int api_session_of(struct req *r, struct db_session *ret, char *ret_sid)
{
	const struct config *cfg = &r->w->srv->cfg;
	char sid[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	int rc = AP_EAUTH;
	if (ap_http_header(r->http, "authorization") == NULL &&
	    cookie_value(r, API_SESSION_COOKIE, sid, sizeof(sid)) == 0)
		rc = db_session_get(r->w->db, sid, &s);
	if (rc == AP_ENOTFOUND)
		rc = AP_EAUTH;
	if (rc == 0 && (db_now() - s.last_seen >= cfg->session_idle_s ||
			db_now() - s.created_at >= cfg->session_max_s)) {
		rc = end_session(r->w->db, s.id);
		if (rc == 0)
			rc = AP_EAUTH;
	}
	if (rc == 0) {
		*ret = s;
		memcpy(ret_sid, sid, sizeof(sid));
	}
	OPENSSL_cleanse(sid, sizeof(sid));
	return rc;
}

void api_session_cookie(struct req *r, const char *sid)
{
	char v[160];
	snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; Secure; SameSite=Strict%s",
		 API_SESSION_COOKIE, sid ? sid : "", sid ? "" : "; Max-Age=0");
	ap_http_resp_add_header(r->resp, "Set-Cookie", v);
}

/* The session was used now (at most one write a second; a failure to
 * write is logged, the request goes on). */
static void touch_session(struct req *r, const struct db_session *s)
{
	if (s->last_seen == db_now())
		return;
	int rc = db_begin(r->w->db);
	if (rc == 0 && (rc = db_session_touch(r->w->db, s->id)) < 0)
		db_rollback(r->w->db);
	else if (rc == 0)
		rc = db_commit(r->w->db);
	if (rc < 0)
		log_warn("session_touch_failed", "id=%s error=\"%s\"", r->id, ap_strerror(rc));
}

/* api_authenticate() by the session cookie: the session, its account
 * (enabled), the CSRF token of a change. */
static int cookie_authenticate(struct req *r)
{
	char sid[DB_SESSION_ID_LEN + 1];
	struct db_session s;
	struct db_account a;
	int rc = api_session_of(r, &s, sid);
	OPENSSL_cleanse(sid, sizeof(sid));
	if (rc == 0)
		rc = db_account_by_id(r->w->db, s.account_id, &a);
	if (rc == AP_ENOTFOUND || (rc == 0 && a.disabled))
		rc = AP_EAUTH;
	if (rc == AP_EAUTH) {
		api_session_cookie(r, NULL);
		return api_refuse(r, rc, 401, "no valid session: sign in again");
	}
	if (rc < 0) {
		api_fail(r, rc, 503, "could not check the session: %s", ap_strerror(rc));
		return rc;
	}
	if (strcmp(r->http->method, "GET") != 0 && strcmp(r->http->method, "HEAD") != 0 &&
	    !db_session_csrf_ok(&s, ap_http_header(r->http, "x-csrf-token")))
		return api_refuse(r, AP_EFORBIDDEN, 403,
				  "missing or wrong CSRF token: a change made from a page carries "
				  "the session's token in X-CSRF-Token");
	touch_session(r, &s);
	r->acct = a;
	r->has_acct = 1;
	return 0;
}

int api_authenticate(struct req *r)
{
	const char *h = ap_http_header(r->http, "authorization");
	if (h == NULL && ap_http_header(r->http, "cookie"))
		return cookie_authenticate(r);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return api_refuse(r, AP_EAUTH, 401,
				  "missing bearer token (Authorization: Bearer TOKEN) or session "
				  "cookie");
	int rc = db_account_by_token(r->w->db, h + 7, &r->acct);
	if (rc == AP_EAUTH) {
		api_fail(r, rc, 401, "unknown, rotated or disabled token");
		return rc;
	}
	if (rc < 0) {
		api_fail(r, rc, 503, "could not check the token: %s", ap_strerror(rc));
		return rc;
	}
	r->has_acct = 1;
	return 0;
}

int api_queue(struct req *r, const struct cmd_order *o, const char *what, char uuid[37])
{
	char detail[256] = "";
	int rc = cmdq_queue(r->w, o, uuid, detail, sizeof(detail));
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 0, "%s%s%s", what ? what : "", what ? ": " : "",
			 detail[0] ? detail : ap_strerror(rc));
	}
	return rc;
}
