/* router.c - the route table: method, pattern, who may call, handler. */
#include "router.h"
#include "ap_err.h"
#include "api.h"
#include "api_routes.h"
#include "authz.h"
#include "db_account.h"
#include "mdm.h"
#include "quota.h"
#include "web.h"
#include "worker.h"

#include <string.h>

/* every module's table; order matters only for overlapping patterns */
static const struct route *const tables[] = {
    api_core_routes,	api_backup_routes,	mdm_routes,
    mdm_enroll_routes,	mdm_ade_routes,		api_command_routes,
    api_school_routes,	api_device_routes,	api_person_routes,
    api_loan_routes,	api_incident_routes,	api_account_routes,
    api_audit_routes,	api_report_routes,	api_lock_routes,
    api_locate_routes,	api_policy_routes,	api_push_routes,
    api_session_routes, api_dashboard_routes,	api_notice_routes,
    api_update_routes,	api_update_plan_routes, api_ade_routes,
    api_vpp_routes,	api_ddm_routes,		api_metrics_routes,
    web_routes, /* last: its page route takes any path the others leave */
};

/* Matches path against pattern, capturing ":x" and "*" into r->params. */
static int match(const char *pattern, const char *path, struct req *r)
{
	size_t used = 0;
	r->n_params = 0;
	while (*pattern == '/' && *path == '/') {
		pattern++;
		path++;
		size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");
		if (pattern[0] == '*') {
			sl = strlen(path);
		} else if (pattern[0] != ':') {
			if (pl != sl || strncmp(pattern, path, pl) != 0)
				return 0;
			pattern += pl;
			path += sl;
			continue;
		}
		if (sl == 0 || r->n_params == sizeof(r->params) / sizeof(r->params[0]) ||
		    used + sl + 1 > sizeof(r->param_buf))
			return 0;
		memcpy(r->param_buf + used, path, sl);
		r->param_buf[used + sl] = '\0';
		r->params[r->n_params++] = r->param_buf + used;
		used += sl + 1;
		pattern += pl;
		path += sl;
	}
	return *pattern == '\0' && (*path == '\0' || (path[0] == '/' && path[1] == '\0'));
}

/* 1 when the route takes the request's path. */
static int takes(const struct route *rt, struct req *r)
{
	return match(rt->pattern, r->http->path, r) && (!rt->takes || rt->takes(r->http->path));
}

/* 405's Allow header: every method some route takes on this path. */
static void allow_header(struct req *r)
{
	char allow[128] = "";
	size_t n = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct route *rt = tables[t]; rt->method; rt++) {
			char m[16];
			if (!takes(rt, r))
				continue;
			snprintf(m, sizeof(m), "%s%s", rt->method,
				 strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
			if (strstr(allow, rt->method) == NULL && n + strlen(m) + 3 < sizeof(allow))
				n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s",
						      n ? ", " : "", m);
		}
	}
	ap_http_resp_add_header(r->resp, "Allow", allow);
}

/* The route for the request's method and path; NULL when none, with
 * *ret_path_matched set when some route takes the path with another
 * method. */
static const struct route *find_route(struct req *r, int *ret_path_matched)
{
	*ret_path_matched = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct route *rt = tables[t]; rt->method; rt++) {
			if (!takes(rt, r))
				continue;
			*ret_path_matched = 1;
			r->route = rt->pattern;
			if (strcmp(rt->method, r->http->method) == 0 ||
			    (strcmp(rt->method, "GET") == 0 &&
			     strcmp(r->http->method, "HEAD") == 0))
				return rt;
		}
	}
	return NULL;
}

/* 0 when the caller of a staff route may use the staff routes at all
 * (authz_staff_route()); otherwise answered 403. */
static int staff_admitted(struct req *r)
{
	if (authz_staff_route(r) == 0)
		return 0;
	return api_refuse(r, AP_EFORBIDDEN, 403,
			  "a monitoring account reads GET /metrics and nothing else");
}

int router_dispatch(struct req *r)
{
	int path_matched;
	const struct route *rt = find_route(r, &path_matched);
	if (r->enter && r->enter(r, rt && (rt->flags & ROUTE_GROUPED)) == AP_EBUSY)
		return AP_EBUSY;
	if (rt) {
		if (rt->auth == AUTH_STAFF && !r->has_acct && api_authenticate(r) < 0)
			return 0;
		if (rt->auth == AUTH_STAFF && staff_admitted(r) < 0)
			return 0;
		r->resp->status = 0;
		rt->fn(r);
		if (r->resp->status == 0)
			api_fail(r, AP_EINTERNAL, 500, "handler gave no answer");
		r->resp->head = strcmp(r->http->method, "HEAD") == 0;
	} else if (path_matched) {
		api_fail(r, AP_EUNSUPPORTED, 405, "method %s not allowed on %s", r->http->method,
			 r->http->path);
		allow_header(r);
	} else {
		api_fail(r, AP_ENOTFOUND, 404, "no such route: %s", r->http->path);
	}
	return 0;
}

/* The largest body the request may send, from its route and head. */
static int body_limit(struct req *r, const struct route *rt, struct router_admission *a)
{
	const struct config *cfg = &r->w->srv->cfg;
	size_t anon = (size_t)cfg->max_anon_body_bytes;
	a->limit = anon;
	a->anonymous = 1;
	if (rt && rt->auth == AUTH_STAFF) {
		if (api_authenticate(r) < 0)
			return AP_EAUTH;
		if (staff_admitted(r) < 0) /* before its body, not after */
			return AP_EFORBIDDEN;
		a->limit = (size_t)cfg->max_body_bytes;
		a->anonymous = 0;
	} else if (rt && rt->auth == AUTH_DEVICE) {
		mdm_body_limit(r, anon, &a->limit, &a->anonymous);
	}
	if (a->limit > (size_t)cfg->max_body_bytes)
		a->limit = (size_t)cfg->max_body_bytes;
	return 0;
}

int router_admit(struct req *r, uint64_t announced, struct router_admission *ret)
{
	struct router_admission a;
	int path_matched;
	int rc = body_limit(r, find_route(r, &path_matched), &a);
	if (rc < 0)
		return rc;
	if (announced != AP_HTTP_LENGTH_CHUNKED && announced > a.limit)
		return api_refuse(
		    r, AP_ETOOBIG, 413,
		    "a body of %llu bytes is over the %zu bytes this request may send%s",
		    (unsigned long long)announced, a.limit, a.anonymous ? " unauthenticated" : "");
	a.reserved = announced == AP_HTTP_LENGTH_CHUNKED ? a.limit : (size_t)announced;
	if (quota_body_take(r->w->srv->quota, a.reserved, a.anonymous) < 0) {
		api_fail(r, AP_EBUSY, 503, "too many request bodies in flight: retry in a moment");
		ap_http_resp_add_header(r->resp, "Retry-After", "2");
		return AP_EBUSY;
	}
	*ret = a;
	return 0;
}
