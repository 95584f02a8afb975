/*
 * api_core.c - the daemon's own routes: health, who am I, a periodic job
 * run now.  Kept out of api.c so that the handler helpers include no
 * module above them (jobs, push).
 *
 *   GET  /healthz                 always 200 while serving, with warnings
 *   GET  /api/v1/whoami           the caller's account
 *   GET  /api/v1/notice           what the families' notice states (public)
 *   POST /api/v1/jobs/:name/run   a periodic job now (technicians)
 */
#include "ap_err.h"
#include "api.h"
#include "api_ade.h"
#include "api_routes.h"
#include "api_vpp.h"
#include "authz.h"
#include "jobs.h"
#include "push.h"
#include "worker.h"

/* Always 200 while serving; "warnings" lists what needs an operator. */
static void healthz(struct req *r)
{
	char push[400];
	json_t *warnings = json_array();
	if (push_warning(r->w->srv, push, sizeof(push)))
		json_array_append_new(warnings, json_string(push));
	if (api_ade_warning(r, push, sizeof(push)))
		json_array_append_new(warnings, json_string(push));
	if (api_vpp_warning(r, push, sizeof(push)))
		json_array_append_new(warnings, json_string(push));
	if (r->w->srv->audit_warning[0])
		json_array_append_new(warnings, json_string(r->w->srv->audit_warning));
	api_json(r, 200, json_pack("{s:s,s:o}", "status", "ok", "warnings", warnings));
}

static void whoami(struct req *r)
{
	json_t *schools = json_array();
	for (size_t i = 0; i < r->acct.n_schools; i++)
		json_array_append_new(schools, json_string(r->acct.schools[i]));
	api_json(r, 200,
		 json_pack("{s:s,s:s,s:o,s:b}", "name", r->acct.name, "role",
			   db_role_name(r->acct.role), "schools", schools, "fleet_wide",
			   authz_fleet_wide(r)));
}

/* GET /api/v1/notice - the configured values the information notice on
 * personal data states (the page /documents/notice): the organisation and
 * the durations the daemon applies, so a département that changes them
 * hands out a true notice.  Public (AUTH_NONE) because the notice is
 * handed to families, who have no account; it carries only these values
 * of the configuration, nothing personal or secret. */
static void notice(struct req *r)
{
	const struct config *c = &r->w->srv->cfg;
	api_json(r, 200,
		 json_pack("{s:s,s:I,s:I,s:I,s:s,s:I}", "organization", c->organization,
			   "geolocation_retention_days", (json_int_t)c->geo_retention_days,
			   "command_retention_days", (json_int_t)c->command_retention_days,
			   "command_expiry_days", (json_int_t)c->command_expiry_days,
			   "geolocation_approval", c->geo_approval, "leaver_retention_days",
			   (json_int_t)c->leaver_retention_days));
}

/* POST /api/v1/jobs/:name/run - a periodic job now (technicians):
 * purges and expiries on demand, and tests with a shifted clock. */
static void job_run(struct req *r)
{
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (!jobs_exists(api_param(r, 0))) {
		api_fail(r, AP_ENOTFOUND, 404, "no job named %s", api_param(r, 0));
		return;
	}
	/* a job commits on its own (in parts): the request's row comes
	 * first, and no job runs without it */
	int rc = api_record(r, "job.run", api_param(r, 0), NULL, NULL);
	if (rc < 0)
		return;
	if ((rc = jobs_run(r->w, api_param(r, 0))) < 0) {
		api_fail(r, rc, 500, "job %s failed: %s", api_param(r, 0), ap_strerror(rc));
		return;
	}
	api_json(r, 200, json_pack("{s:s,s:s}", "job", api_param(r, 0), "status", "done"));
}

const struct route api_core_routes[] = {
    {"POST", "/api/v1/jobs/:name/run", AUTH_STAFF, job_run},
    {"GET", "/healthz", AUTH_NONE, healthz},
    {"GET", "/api/v1/whoami", AUTH_STAFF, whoami},
    {"GET", "/api/v1/notice", AUTH_NONE, notice},
    {NULL, NULL, AUTH_NONE, NULL},
};
