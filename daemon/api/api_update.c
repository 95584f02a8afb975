/*
 * api_update.c - iPadOS updates, as staff see them.
 *
 *   GET /api/v1/updates/catalogue[?model=iPad13,18]
 *	the catalogue's copy (gdmf_sync.h): when it was fetched, the latest
 *	attempt's failure, and per model (the one asked, else every iPad the
 *	catalogue names) the latest release offered to the public and every
 *	release still offered, highest first; the windows outside class
 *	hours ([updates] allowed_windows) with whether now is in one and the
 *	next allowed time.  Technicians and ATIs (AZ_UPDATES).
 */
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "classhours.h"
#include "gdmf_sync.h"
#include "store.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define OFFERED_MAX 64 /* releases listed per model */

static json_t *release_json(const struct gdmf_release *rel)
{
	return json_pack("{s:s,s:s,s:o,s:o}", "version", rel->version, "build", rel->build,
			 "posted", api_fleet_day(rel->posted), "expires",
			 rel->expires ? api_fleet_day(rel->expires) : json_null());
}

static json_t *model_json(const struct gdmf *g, const char *model, int64_t now)
{
	const struct gdmf_release *rel[OFFERED_MAX];
	size_t n = gdmf_offered(g, GDMF_PUBLIC, model, now, rel, OFFERED_MAX);
	json_t *offered = json_array();
	for (size_t i = 0; i < n && i < OFFERED_MAX; i++)
		json_array_append_new(offered, release_json(rel[i]));
	return json_pack("{s:s,s:o,s:o}", "model", model, "latest",
			 n ? release_json(rel[0]) : json_null(), "offered", offered);
}

struct ask {
	const char *model; /* NULL: every iPad */
	int64_t now;
	json_t *out;
	int rc;
};

static void read_state(const struct gdmf_sync_view *v, void *arg)
{
	struct ask *a = arg;
	json_t *models = json_array(), *err = json_null();
	if (v->cat && a->model)
		json_array_append_new(models, model_json(v->cat, a->model, a->now));
	else if (v->cat) {
		const char **names = NULL;
		size_t n = 0;
		if ((a->rc = gdmf_models(v->cat, GDMF_PUBLIC, "iPad", &names, &n)) < 0) {
			json_decref(models);
			return;
		}
		for (size_t i = 0; i < n; i++)
			json_array_append_new(models, model_json(v->cat, names[i], a->now));
		free(names);
	}
	if (v->error[0])
		err = json_pack("{s:o,s:o,s:s}", "at", api_fleet_time(v->error_at), "status",
				v->error_status ? json_integer(v->error_status) : json_null(),
				"message", v->error);
	a->out =
	    json_pack("{s:o,s:o,s:b,s:I,s:I,s:I,s:o,s:s,s:o}", "fetched_at",
		      api_fleet_time(v->fetched_at), "checked_at", api_fleet_time(v->checked_at),
		      "fetching", v->fetching, "attempts", (json_int_t)v->attempts, "releases",
		      (json_int_t)gdmf_count(v->cat), "bytes", (json_int_t)v->bytes, "last_error",
		      err, "set", gdmf_set_name(GDMF_PUBLIC), "models", models);
}

/* The windows outside class hours (checked at load: parsed again here). */
static json_t *windows_json(const struct config *c, int64_t now)
{
	struct classhours w;
	char why[200];
	int64_t next = 0;
	if (classhours_parse(c->updates_allowed_windows, &w, why, sizeof(why)) < 0)
		return json_null();
	int found = classhours_next(&w, now, &next) == 0;
	return json_pack("{s:s,s:b,s:o}", "allowed_windows", c->updates_allowed_windows,
			 "allowed_now", classhours_allowed(&w, now), "next_allowed",
			 found ? api_fleet_time(next) : json_null());
}

static void catalogue(struct req *r)
{
	char model[GDMF_MODEL_MAX + 2];
	struct ask a = {NULL, db_now(), NULL, 0};
	if (api_allow(r, AZ_UPDATES, NULL) < 0)
		return;
	if (api_query(r, "model", model, sizeof(model)) == 0) {
		if (!gdmf_model_ok(model)) {
			api_fail(
			    r, AP_EINVAL, 400,
			    "model: not a product type like iPad13,18 (letters, digits and , . "
			    "_ -; at most %d)",
			    GDMF_MODEL_MAX);
			return;
		}
		a.model = model;
	}
	gdmf_sync_read(read_state, &a);
	if (a.rc < 0 || a.out == NULL) {
		api_fail(r, a.rc < 0 ? a.rc : AP_ENOMEM, 503, "out of memory");
		return;
	}
	json_object_set_new(a.out, "url", json_string(r->w->srv->cfg.updates_catalogue_url));
	json_object_set_new(a.out, "windows", windows_json(&r->w->srv->cfg, a.now));
	api_json(r, 200, a.out);
}

const struct route api_update_routes[] = {
    {"GET", "/api/v1/updates/catalogue", AUTH_STAFF, catalogue},
    {NULL, NULL, AUTH_NONE, NULL},
};
