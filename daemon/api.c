/* api.c - answering helpers shared by every JSON handler. */
#include "api.h"
#include "ap_err.h"
#include "authz.h"
#include "db_audit.h"
#include "db_mdm.h"
#include "jobs.h"
#include "log.h"
#include "push.h"
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void api_json(struct req *r, int status, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(v);
	r->resp->status = status;
	r->resp->content_type = "application/json";
	ap_buf_reset(&r->resp->body);
	if (text == NULL || ap_buf_appends(&r->resp->body, text) < 0 ||
	    ap_buf_appends(&r->resp->body, "\n") < 0) {
		r->resp->status = 500;
		ap_buf_reset(&r->resp->body);
	}
	free(text);
}

void api_fail(struct req *r, int err, int status, const char *fmt, ...)
{
	char msg[512], esc[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status <= 0)
		status = ap_errstatus(err);
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", ap_errname(err), "message", msg);
	log_info("api_error", "id=%s status=%d code=%s message=%s", r->id, status, ap_errname(err),
		 log_esc(msg, esc, sizeof(esc)));
	if (status == 401)
		ap_http_resp_add_header(r->resp, "WWW-Authenticate", "Bearer realm=\"ardoise\"");
	api_json(r, status, o);
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
	api_fail(r, AP_ENOTFOUND, 404, "no %s%s", what,
		 authz_fleet_wide(r) ? "" : " in your collèges");
	return AP_ENOTFOUND;
}

int api_audit(struct req *r, const char *action, const char *target, const char *reason,
	      json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(detail);
	int rc = db_audit_append(r->w->db, r->has_acct ? r->acct.name : "system", action, target,
				 reason, d);
	free(d);
	if (rc < 0)
		log_error("audit_failed", "id=%s action=%s error=\"%s\"", r->id, action,
			  ap_strerror(rc));
	return rc;
}

int api_tablet_serial(struct req *r, int action, const char *serial, struct db_mdm_device *d)
{
	int rc = db_mdm_by_serial(r->w->db, serial, d);
	return api_allow_object(r, action, rc, rc == 0 ? d->school : NULL, "tablet with serial %s",
				serial);
}

int api_tablet(struct req *r, int action, struct db_mdm_device *d)
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

/* Always 200 while serving; "warnings" lists what needs an operator. */
void api_healthz(struct req *r)
{
	char push[400];
	json_t *warnings = json_array();
	if (push_warning(r->w->srv, push, sizeof(push)))
		json_array_append_new(warnings, json_string(push));
	if (r->w->srv->audit_warning[0])
		json_array_append_new(warnings, json_string(r->w->srv->audit_warning));
	api_json(r, 200, json_pack("{s:s,s:o}", "status", "ok", "warnings", warnings));
}

void api_whoami(struct req *r)
{
	json_t *schools = json_array();
	for (size_t i = 0; i < r->acct.n_schools; i++)
		json_array_append_new(schools, json_string(r->acct.schools[i]));
	api_json(r, 200,
		 json_pack("{s:s,s:s,s:o,s:b}", "name", r->acct.name, "role",
			   db_role_name(r->acct.role), "schools", schools, "fleet_wide",
			   authz_fleet_wide(r)));
}

/* POST /api/v1/jobs/:name/run - a periodic job now (technicians):
 * purges and expiries on demand, and tests with a shifted clock. */
static void api_job_run(struct req *r)
{
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (!jobs_exists(api_param(r, 0))) {
		api_fail(r, AP_ENOTFOUND, 404, "no job named %s", api_param(r, 0));
		return;
	}
	/* a job commits on its own (in parts): the request's row comes
	 * first, and no job runs without it */
	int rc = api_audit(r, "job.run", api_param(r, 0), NULL, NULL);
	if (rc < 0) {
		api_fail(r, rc, 500, "cannot write the audit row: %s", ap_strerror(rc));
		return;
	}
	if ((rc = jobs_run(r->w, api_param(r, 0))) < 0) {
		api_fail(r, rc, 500, "job %s failed: %s", api_param(r, 0), ap_strerror(rc));
		return;
	}
	api_json(r, 200, json_pack("{s:s,s:s}", "job", api_param(r, 0), "status", "done"));
}

const struct route api_core_routes[] = {
    {"POST", "/api/v1/jobs/:name/run", AUTH_STAFF, api_job_run},
    {"GET", "/healthz", AUTH_NONE, api_healthz},
    {"GET", "/api/v1/whoami", AUTH_STAFF, api_whoami},
    {NULL, NULL, AUTH_NONE, NULL},
};
