/* api_school.c - collèges: list, show, add, CSV import. */
#include "api.h"
#include "isodate.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "ap_text.h"
#include "db_report.h"
#include "db_school.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* An equipment target: null when unknown. */
static json_t *target_json(int64_t n)
{
	return n > 0 ? json_integer((json_int_t)n) : json_null();
}

static json_t *school_json(const struct db_school *s)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "uai", s->uai, "name", s->name, "address",
			 s->address, "commune", s->commune, "sector", s->sector, "pupils_equipped",
			 target_json(s->pupils_equipped), "teachers_equipped",
			 target_json(s->teachers_equipped));
}

static int add_json(const struct db_school *s, void *arg)
{
	return json_array_append_new(arg, school_json(s)) < 0;
}

static void list_schools(struct req *r)
{
	struct api_scope sc;
	json_t *a = json_array();
	if (api_fleet_scope(r, AZ_READ, &sc) < 0)
		goto out;
	int rc = db_school_list(r->w->db, sc.only, sc.n_only, add_json, a);
	if (rc < 0) {
		api_dberr(r, rc, "listing collèges");
		goto out;
	}
	api_json(r, 200, json_pack("{s:o}", "schools", a));
	return;
out:
	json_decref(a);
}

/* The counts of the fleet report for one collège. */
static json_t *school_counts(struct req *r, const char *uai, int64_t now)
{
	struct db_report_row *rows = NULL;
	size_t n = 0;
	json_t *o = NULL;
	const char *only[] = {uai};
	if (db_report_fleet(r->w->db, only, 1, now, isodate_day_start(now), &rows, &n) < 0 ||
	    n != 1)
		goto out;
	json_t *states = json_object();
	for (int s = 0; s < DB_DEV_NSTATES; s++)
		json_object_set_new(states, db_device_state_name(s),
				    json_integer(rows[0].by_state[s]));
	o = json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "devices", (json_int_t)rows[0].devices,
		      "by_state", states, "loans_open", (json_int_t)rows[0].loans_open, "overdue",
		      (json_int_t)rows[0].overdue, "incidents_open",
		      (json_int_t)rows[0].incidents_open, "held",
		      (json_int_t)db_report_held(&rows[0]), "loaned_pupils",
		      (json_int_t)rows[0].loans_pupils, "loaned_teachers",
		      (json_int_t)rows[0].loans_teachers);
out:
	free(rows);
	return o;
}

static void show_school(struct req *r)
{
	struct db_school s;
	char uai[9];
	if (api_fleet_uai(r, api_param(r, 0), uai) < 0)
		return;
	int rc = db_school_get(r->w->db, uai, &s);
	if (api_allow_object(r, AZ_READ, rc, uai, "collège %s", uai) < 0)
		return;
	json_t *o = school_json(&s);
	json_t *counts = school_counts(r, uai, db_now());
	if (counts)
		json_object_update_new(o, counts);
	api_json(r, 200, o);
}

/* Fills s from text fields; message for the first bad one into why. */
static int school_fields(struct db_school *s, const char *uai, const char *name,
			 const char *address, const char *commune, const char *sector, char *why,
			 size_t cap)
{
	int rc = db_school_uai_norm(uai, s->uai);
	if (rc < 0) {
		api_fleet_uai_why(uai, rc, why, cap);
		return rc;
	}
	if (name == NULL || name[0] == '\0' || !ap_text_ok(name, DB_SCHOOL_NAME_MAX, 0)) {
		snprintf(why, cap, "name must be 1 to %d bytes of text", DB_SCHOOL_NAME_MAX);
		return AP_EINVAL;
	}
	if (!ap_text_ok(address ? address : "", DB_SCHOOL_TEXT_MAX, 0) ||
	    !ap_text_ok(commune ? commune : "", DB_SCHOOL_TEXT_MAX, 0) ||
	    !ap_text_ok(sector ? sector : "", DB_SCHOOL_SECTOR_MAX, 0)) {
		snprintf(why, cap, "address and commune: at most %d bytes, sector %d",
			 DB_SCHOOL_TEXT_MAX, DB_SCHOOL_SECTOR_MAX);
		return AP_EINVAL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->address, sizeof(s->address), "%s", address ? address : "");
	snprintf(s->commune, sizeof(s->commune), "%s", commune ? commune : "");
	snprintf(s->sector, sizeof(s->sector), "%s", sector ? sector : "");
	return 0;
}

static void add_school(struct req *r)
{
	const char *uai = NULL, *name = NULL, *address = NULL, *commune = NULL, *sector = NULL,
		   *reason = NULL;
	struct db_school s;
	char why[200];
	json_t *b;
	int rc;
	if (api_allow(r, AZ_ADMIN, NULL) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "uai", 32, 1, &uai) < 0 ||
	    api_field_str(r, b, "name", 1024, 1, &name) < 0 ||
	    api_field_str(r, b, "address", 1024, 0, &address) < 0 ||
	    api_field_str(r, b, "commune", 1024, 0, &commune) < 0 ||
	    api_field_str(r, b, "sector", 1024, 0, &sector) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	memset(&s, 0, sizeof(s));
	if (school_fields(&s, uai, name, address, commune, sector, why, sizeof(why)) < 0) {
		api_fail(r, AP_EINVAL, 400, "%s", why);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	rc = db_school_add(r->w->db, &s);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_EEXIST)
			api_fail(r, rc, 409, "collège %s already exists", s.uai);
		else
			api_dberr(r, rc, "adding the collège");
		goto out;
	}
	json_t *o = school_json(&s);
	if (api_commit(r, "school.add", s.uai, reason, o) == 0)
		api_json(r, 201, o);
	else
		json_decref(o);
out:
	json_decref(b);
}

static const struct import_col school_cols[] = {
    {"uai", "UAI|RNE|Code UAI|Code RNE|N° UAI|uai|school", 1},
    {"name",
     "Nom Établissement|Établissement|Collège|Nom du collège|Nom|Libellé|Dénomination|"
     "Appellation officielle|Appellation|name",
     1},
    {"address", "Adresse|address", 0},
    {"commune", "Commune|Ville|city", 0},
    {"sector", "Secteur|Statut|sector", 0},
    {"pupils_equipped", "Élèves équipés|Nb élèves équipés|Objectif élèves|pupils_equipped", 0},
    {"teachers_equipped",
     "Enseignants équipés|Nb enseignants équipés|Objectif enseignants|teachers_equipped", 0},
};

/* An equipment target of the file: a whole number, 0 when the cell is
 * empty (the stored target is kept). */
static int target_from_text(const char *s, int64_t *ret)
{
	size_t n = strlen(s);
	*ret = 0;
	if (n == 0)
		return 0;
	if (n > 6 || strspn(s, "0123456789") != n)
		return AP_EINVAL;
	*ret = strtoll(s, NULL, 10);
	return 0;
}

static int school_row(struct req *r, struct import *im, const char **v, size_t line, void *ctx)
{
	struct db_school s;
	struct api_import *spec = ctx;
	char why[200];
	size_t first;
	int created, rc;
	memset(&s, 0, sizeof(s));
	if (school_fields(&s, v[0], v[1], v[2], v[3], v[4], why, sizeof(why)) < 0) {
		import_error(im, line, "%s", why);
		return 0;
	}
	if (target_from_text(v[5], &s.pupils_equipped) < 0 ||
	    target_from_text(v[6], &s.teachers_equipped) < 0) {
		import_error(im, line,
			     "bad equipment target '%.20s' / '%.20s': a whole number of tablets "
			     "(at most 999999)",
			     v[5], v[6]);
		return 0;
	}
	rc = import_seen(im, s.uai, line, &first);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		import_error(im, line, "UAI %s is already on line %zu", s.uai, first);
		return 0;
	}
	rc = db_school_put(r->w->db, &s, &created);
	return api_import_counted(spec, rc, created);
}

static void import_schools(struct req *r)
{
	struct api_import spec = {"school.import", school_cols,
				  sizeof(school_cols) / sizeof(school_cols[0]), school_row, NULL};
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	spec.ctx = &spec;
	api_fleet_import(r, &spec);
}

const struct route api_school_routes[] = {
    {"GET", "/api/v1/schools", AUTH_STAFF, list_schools},
    {"POST", "/api/v1/schools", AUTH_STAFF, add_school},
    {"POST", "/api/v1/schools/import", AUTH_STAFF, import_schools},
    {"GET", "/api/v1/schools/:uai", AUTH_STAFF, show_school},
    {NULL, NULL, AUTH_NONE, NULL},
};
