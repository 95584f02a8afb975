/* api.c - the staff-handler helpers: answers, body fields, authorisation,
 * the change's transaction with its audit row (api.h).  A leaf: no handler
 * module is included here. */
#include "api.h"
#include "ap_err.h"
#include "ap_text.h"
#include "authz.h"
#include "cmdq.h"
#include "db_audit.h"
#include "db_mdm.h"
#include "isodate.h"
#include "log.h"
#include "worker.h"
#include "store.h"

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
	char msg[512]; /* as api_fail()'s own */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_fail(r, err, status, "%s", msg);
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
		return api_refuse(r, AP_EINVAL, 400, "'%s': '%s' is not a date YYYY-MM-DD", key, s);
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

int api_tablet_serial(struct req *r, int action, const char *serial, struct db_device *d)
{
	int rc = db_mdm_by_serial(r->w->db, serial, d);
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

int api_authenticate(struct req *r)
{
	const char *h = ap_http_header(r->http, "authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return api_refuse(r, AP_EAUTH, 401,
				  "missing bearer token (Authorization: Bearer TOKEN)");
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
