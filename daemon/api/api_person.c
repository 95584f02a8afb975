/* api_person.c - pupils and teachers: CSV import, list, show, leaving,
 * the guardians' home-use agreement. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "ap_text.h"
#include "db_audit.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_person.h"
#include "db_privacy.h"
#include "db_school.h"
#include "isodate.h"
#include "privacy.h"
#include "schoolyear.h"
#include "worker.h"
#include "store.h"

#include <string.h>
#include <strings.h>

#define PEOPLE_PAGE_DEFAULT 5000
#define PEOPLE_PAGE_MAX	    10000

static json_t *person_json(const struct db_person *p)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", p->ext_id, "kind",
			 db_person_kind_name(p->kind), "name", p->name, "class", p->class_name,
			 "school", p->school, "agreement", api_fleet_day(p->agreement_at), "left",
			 api_fleet_day(p->left_at));
}

/* External ids: 1 to 64 of [A-Za-z0-9._@-] (they appear in URLs). */
static int ext_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DB_PERSON_ID_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

static int kind_from_text(const char *s, enum db_person_kind *ret)
{
	static const struct {
		const char *word; /* as import_norm() writes it */
		enum db_person_kind kind;
	} words[] = {{"pupil", DB_PERSON_PUPIL},	{"eleve", DB_PERSON_PUPIL},
		     {"student", DB_PERSON_PUPIL},	{"teacher", DB_PERSON_TEACHER},
		     {"enseignant", DB_PERSON_TEACHER}, {"enseignante", DB_PERSON_TEACHER},
		     {"professeur", DB_PERSON_TEACHER}, {"prof", DB_PERSON_TEACHER},
		     {"staff", DB_PERSON_TEACHER}};
	char w[24];
	import_norm(s, w, sizeof(w)); /* "Élève", "ELEVE", "élève" */
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(w, words[i].word) == 0) {
			*ret = words[i].kind;
			return 0;
		}
	}
	return AP_EINVAL;
}

/* The agreement column: a signing date, yes/oui (today), or empty/no. */
static int agreement_from_text(const char *s, int64_t *ret)
{
	if (s[0] == '\0' || strcasecmp(s, "no") == 0 || strcasecmp(s, "non") == 0 ||
	    strcmp(s, "0") == 0) {
		*ret = 0;
		return 0;
	}
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "oui") == 0 || strcmp(s, "1") == 0) {
		*ret = isodate_day_start(db_now());
		return 0;
	}
	return isodate_parse_day(s, ret);
}

/* The columns, in the order of the values a row gets (PC_*). */
enum { PC_ID, PC_KIND, PC_NAME, PC_FIRST, PC_CLASS, PC_UAI, PC_AGREEMENT, PC_LEFT };
static const struct import_col person_cols[] = {
    {"external_id", "Identifiant|INE|Identifiant ENT|Identifiant élève|external_id|id|ext_id|ident",
     1},
    {"kind", "Type|Statut|Rôle|Catégorie|Profil|kind|role", 1},
    {"name", "Nom|Nom Prénom|Prénom Nom|Nom et prénom|Nom complet|name|full name", 1},
    {"first_name", "Prénom|first name|given name", 0},
    {"class", "Classe|Division|class", 0},
    {"uai", IMPORT_UAI_NAMES, 1},
    {"agreement",
     "Accord parents|Date accord|Accord parental|Date accord parents|Accord|"
     "Autorisation|agreement|agreement date|home use",
     0},
    {"left", "Date de sortie|Sortie|Date sortie|left|leaving date", 0},
};

/* Checks one row into p (and its leaving day into *ret_left, 0: none);
 * reports the first problem. */
static int person_fields(struct req *r, struct import *im, const char **v, size_t line,
			 struct db_person *p, int64_t *ret_left)
{
	char why[200];
	int rc;
	memset(p, 0, sizeof(*p));
	if (!ext_id_ok(v[PC_ID]))
		return import_error(im, line, "bad id '%.40s': 1 to %d of A-Z a-z 0-9 . _ @ -",
				    v[PC_ID], DB_PERSON_ID_MAX);
	if (kind_from_text(v[PC_KIND], &p->kind) < 0)
		return import_error(
		    im, line, "bad kind '%.20s': pupil or teacher (élève, enseignant)", v[PC_KIND]);
	/* "Prénom" and "Nom" make one name: "Marie Dupont" */
	int n = snprintf(p->name, sizeof(p->name), "%s%s%s", v[PC_FIRST],
			 v[PC_FIRST][0] && v[PC_NAME][0] ? " " : "", v[PC_NAME]);
	if (v[PC_NAME][0] == '\0' || n < 0 || (size_t)n >= sizeof(p->name) ||
	    !ap_text_ok(p->name, DB_PERSON_NAME_MAX, 0) ||
	    !ap_text_ok(v[PC_CLASS], DB_PERSON_CLASS_MAX, 0))
		return import_error(im, line,
				    "name (1 to %d bytes) and class (at most %d) expected",
				    DB_PERSON_NAME_MAX, DB_PERSON_CLASS_MAX);
	if ((rc = db_school_uai_norm(v[PC_UAI], p->school)) < 0) {
		api_fleet_uai_why(v[PC_UAI], rc, why, sizeof(why));
		return import_error(im, line, "%s", why);
	}
	if (agreement_from_text(v[PC_AGREEMENT], &p->agreement_at) < 0)
		return import_error(im, line,
				    "bad agreement '%.20s': a date DD/MM/YYYY or YYYY-MM-DD, yes "
				    "or no",
				    v[PC_AGREEMENT]);
	if (p->agreement_at > isodate_day_start(db_now()))
		return import_error(im, line, "agreement '%.20s' is in the future",
				    v[PC_AGREEMENT]);
	if (p->agreement_at && p->kind != DB_PERSON_PUPIL)
		p->agreement_at = 0; /* teachers sign none */
	*ret_left = 0;
	if (v[PC_LEFT][0] && isodate_parse_day(v[PC_LEFT], ret_left) < 0)
		return import_error(im, line,
				    "bad leaving date '%.20s': a date DD/MM/YYYY or YYYY-MM-DD",
				    v[PC_LEFT]);
	if (authz_check(r, AZ_LOAN, p->school) < 0)
		return import_error(im, line, "collège %s is outside the scope of account %s",
				    p->school, r->acct.name);
	snprintf(p->ext_id, sizeof(p->ext_id), "%s", v[PC_ID]);
	snprintf(p->class_name, sizeof(p->class_name), "%s", v[PC_CLASS]);
	return 0;
}

/* 1 (the row reported) when the id is a person of a collège outside the
 * caller's scope: an import never moves or renames someone it could not
 * see.  The message does not say which collège holds them. */
static int outside_scope(struct req *r, struct import *im, const struct db_person *p, size_t line)
{
	struct db_person old;
	int rc = db_person_get(r->w->db, p->ext_id, &old);
	if (rc == AP_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (authz_check(r, AZ_LOAN, old.school) == 0)
		return 0;
	import_error(im, line,
		     "id %s is a person of a collège outside your scope: it cannot be imported "
		     "into yours (a technician moves people between collèges)",
		     p->ext_id);
	return 1;
}

/* A leaving date in the file: recorded as `person leave` does (open loans
 * due that day) when it is not the one stored already. */
static int import_left(struct req *r, const struct db_person *p, int64_t left, int *created)
{
	struct db_person cur;
	int loans, rc = db_person_get(r->w->db, p->ext_id, &cur);
	if (rc < 0 || cur.left_at == left)
		return rc;
	rc = db_person_leave(r->w->db, cur.id, left, &loans);
	if (rc == 0 && *created == DB_PUT_UNCHANGED)
		*created = DB_PUT_UPDATED;
	return rc;
}

/* 1 (the row reported) when the id is a pseudonymised leaver's: an import
 * never puts a name back on them. */
static int pseudonymised(struct req *r, struct import *im, const struct db_person *p, size_t line)
{
	int64_t at = 0;
	int rc = db_privacy_pseudonymised_at(r->w->db, p->ext_id, &at);
	if (rc == AP_ENOTFOUND || (rc == 0 && at == 0))
		return 0;
	if (rc < 0)
		return rc;
	import_error(im, line, "id %s is a pseudonymised leaver's: it cannot be imported again",
		     p->ext_id);
	return 1;
}

/* Records the agreement column of an imported pupil (unless the same
 * signature is recorded already for that year: *created then unchanged). */
static int import_agreement(struct req *r, const struct db_person *p, int year, int64_t signed_at,
			    int current, int *created)
{
	struct db_person now;
	struct db_agreement ag;
	int rc = db_person_get(r->w->db, p->ext_id, &now);
	if (rc < 0)
		return rc;
	rc = db_agreement_get(r->w->db, now.id, year, &ag);
	if (rc == 0 && ag.signed_at == signed_at && ag.withdrawn_at == 0)
		return 0;
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	if (*created == DB_PUT_UNCHANGED)
		*created = DB_PUT_UPDATED;
	return db_agreement_sign(r->w->db, now.id, year, signed_at, r->acct.name, current);
}

/* Writes one checked row; 0 also when the row is refused (reported). */
static int person_row(struct req *r, struct import *im, const char **v, size_t line, void *ctx)
{
	struct api_import *spec = ctx;
	struct db_person p;
	struct db_school s;
	size_t first;
	int64_t left;
	int created, rc;
	if (person_fields(r, im, v, line, &p, &left) < 0)
		return 0;
	if ((rc = import_seen(im, p.ext_id, line, &first)) < 0)
		return rc;
	if (rc == 1) {
		import_error(im, line, "id %s is already on line %zu", p.ext_id, first);
		return 0;
	}
	rc = db_school_get(r->w->db, p.school, &s);
	if (rc == AP_ENOTFOUND) {
		import_error(im, line, "unknown collège %s", p.school);
		return 0;
	}
	if (rc < 0 || (rc = outside_scope(r, im, &p, line)) != 0 ||
	    (rc = pseudonymised(r, im, &p, line)) != 0)
		return rc < 0 ? rc : 0;
	/* the agreement column goes to the agreement of the school year of
	 * its date; person.agreement_at only mirrors the current year's */
	int64_t signed_at = p.agreement_at;
	int year = schoolyear_of(signed_at), current = year == schoolyear_of(db_now());
	if (!current)
		p.agreement_at = 0;
	rc = db_person_put(r->w->db, &p, &created);
	if (rc == AP_ECONFLICT) {
		import_error(im, line,
			     "%s has a tablet on loan at another collège: return it before moving "
			     "them to %s",
			     p.ext_id, p.school);
		return 0;
	}
	if (rc == 0 && signed_at)
		rc = import_agreement(r, &p, year, signed_at, current, &created);
	if (rc == 0 && left)
		rc = import_left(r, &p, left, &created);
	return api_import_counted(spec, rc, created);
}

static void import_people(struct req *r)
{
	struct api_import spec = {"person.import", person_cols,
				  sizeof(person_cols) / sizeof(person_cols[0]), person_row, NULL};
	/* each row's collège is checked against the scope too */
	if (api_allow(r, AZ_LOAN, AUTHZ_OWN_SCOPE) < 0)
		return;
	spec.ctx = &spec;
	api_fleet_import(r, &spec);
}

static int add_person(const struct db_person *p, void *arg)
{
	return json_array_append_new(arg, person_json(p)) < 0;
}

static void list_people(struct req *r)
{
	struct api_scope sc;
	char cls[DB_PERSON_CLASS_MAX + 1], q[DB_PERSON_Q_MAX * 4];
	int64_t offset = 0, next = 0;
	size_t limit;
	json_t *a = json_array();
	int has_class = api_query(r, "class", cls, sizeof(cls)) == 0 && cls[0];
	int has_q = api_query(r, "q", q, sizeof(q)) == 0 && q[0];
	/* the cursor of this list is an offset (people are listed by class) */
	if (api_fleet_scope(r, AZ_READ, &sc) < 0 ||
	    api_fleet_page(r, PEOPLE_PAGE_DEFAULT, PEOPLE_PAGE_MAX, &offset, &limit) < 0)
		goto fail;
	if (has_q && !ap_text_ok(q, DB_PERSON_Q_MAX, 0)) {
		api_fail(
		    r, AP_EINVAL, 400,
		    "q must be one line of text of at most %d bytes, without control characters",
		    DB_PERSON_Q_MAX);
		goto fail;
	}
	int rc = has_q ? db_person_find(r->w->db, sc.only, sc.n_only, has_class ? cls : NULL, q,
					offset, limit, add_person, a, &next)
		       : db_person_list(r->w->db, sc.only, sc.n_only, has_class ? cls : NULL,
					offset, limit, add_person, a, &next);
	if (rc < 0) {
		api_dberr(r, rc, "listing people");
		goto fail;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "people", a, "next",
			   next ? json_integer((json_int_t)next) : json_null()));
	return;
fail:
	json_decref(a);
}

/* Finds :id and checks `action` on its collège. */
static int person_param(struct req *r, enum authz_action action, struct db_person *p)
{
	const char *id = api_param(r, 0);
	int rc = db_person_get(r->w->db, id, p);
	return api_allow_object(r, action, rc, rc == 0 ? p->school : NULL, "person with id '%s'",
				id);
}

static int add_loan(const struct db_loan *l, void *arg)
{
	return json_array_append_new(arg, api_loan_json(l)) < 0;
}

static void show_person(struct req *r)
{
	struct db_person p;
	int64_t next;
	if (person_param(r, AZ_READ, &p) < 0)
		return;
	struct api_scope sc;
	api_fleet_view(r, &sc); /* someone who moved here keeps their past elsewhere */
	struct db_loan_filter f = {sc.only, sc.n_only, -2, 0, 0, p.id, 0, 100};
	json_t *o = person_json(&p), *loans = json_array();
	json_object_set_new(o, "loans", loans);
	int rc = db_loan_list(r->w->db, &f, add_loan, loans, &next);
	if (rc < 0) {
		json_decref(o);
		api_dberr(r, rc, "reading the person's loans");
		return;
	}
	api_json(r, 200, o);
}

static int add_to_collect(const struct db_loan *l, void *arg)
{
	json_t *o =
	    json_pack("{s:I,s:s,s:s,s:o}", "loan", (json_int_t)l->id, "device", l->serial,
		      "asset_tag", l->asset_tag, "deposited", api_fleet_time(l->deposited_at));
	return json_array_append_new(arg, o) < 0;
}

/* POST /api/v1/people/:id/leave {date}: the last day; the person's open
 * loans end that day (due then, overdue from the next day); the answer
 * lists the tablets the collège must collect ("collect"). */
static void leave(struct req *r)
{
	struct db_person p;
	const char *reason = NULL;
	int64_t day = 0, next;
	int changed = 0, rc;
	json_t *b = NULL, *collect = NULL;
	if (person_param(r, AZ_LOAN, &p) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_day(r, b, "date", 1, &day) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 || api_begin(r) < 0)
		goto out;
	struct db_loan_filter f = {NULL, 0, DB_LOAN_OPEN, 0, 0, 0, 0, 100};
	collect = json_array();
	rc = db_person_leave(r->w->db, p.id, day, &changed);
	f.person_id = p.id;
	if (rc == 0)
		rc = db_loan_list(r->w->db, &f, add_to_collect, collect, &next);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "recording the departure");
		goto out;
	}
	json_t *det = json_pack("{s:o,s:i,s:I}", "date", api_fleet_day(day), "loans_due", changed,
				"to_collect", (json_int_t)json_array_size(collect));
	rc = api_commit(r, "person.leave", p.ext_id, reason, det);
	json_decref(det);
	if (rc < 0)
		goto out;
	p.left_at = day;
	json_t *o = person_json(&p);
	json_object_set_new(o, "loans_now_due", json_integer(changed));
	json_object_set_new(o, "collect", collect);
	collect = NULL;
	api_json(r, 200, o);
out:
	json_decref(collect);
	json_decref(b);
}

/* The agreement's body: the school year (default the current one; from
 * ten years back to the next), the signing day (not in the future) or
 * withdrawn. */
static int agreement_body(struct req *r, json_t *b, int *withdrawn, int64_t *day, int *year)
{
	int cur = schoolyear_of(db_now());
	int64_t y = cur;
	if (api_field_bool(r, b, "withdrawn", withdrawn) < 0 ||
	    api_field_day(r, b, "date", !*withdrawn, day) < 0 ||
	    api_field_int(r, b, "year", cur - 10, cur + 1, 0, &y) < 0)
		return -1;
	if (*withdrawn && *day)
		return api_refuse(r, AP_EINVAL, 400, "give a signing date or withdrawn, not both");
	if (*day > isodate_day_start(db_now()))
		return api_refuse(r, AP_EINVAL, 400,
				  "the signing date is in the future: record it once signed");
	*year = (int)y;
	return 0;
}

static int record_agreement(struct req *r, const struct db_person *p, int withdrawn, int64_t day,
			    int year, int *ret_loans)
{
	int current = year == schoolyear_of(db_now());
	int rc = withdrawn ? db_agreement_withdraw(r->w->db, p->id, year, current, ret_loans)
			   : db_agreement_sign(r->w->db, p->id, year, day, r->acct.name, current);
	if (rc == AP_ENOTFOUND)
		return api_refuse(r, rc, 409,
				  "no agreement of school year %d-%d is recorded for %s: "
				  "nothing to withdraw",
				  year, year + 1, p->ext_id);
	if (rc == AP_ECONFLICT)
		return api_refuse(r, rc, 409,
				  "the agreement of school year %d-%d of %s is withdrawn already",
				  year, year + 1, p->ext_id);
	return rc < 0 ? api_dberr(r, rc, "recording the agreement") : 0;
}

/* POST /api/v1/people/:id/agreement {date | withdrawn, year}: the
 * guardians' agreement of one school year; withdrawing the current one
 * turns the pupil's home-use loans school-only, flagged. */
static void agreement(struct req *r)
{
	struct db_person p;
	const char *reason = NULL;
	int64_t day = 0;
	int withdrawn = 0, year = 0, loans = 0, rc;
	json_t *b = NULL;
	if (person_param(r, AZ_LOAN, &p) < 0 || (b = api_body(r)) == NULL)
		return;
	if (agreement_body(r, b, &withdrawn, &day, &year) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (p.kind != DB_PERSON_PUPIL) {
		api_fail(r, AP_ECONFLICT, 409, "%s is a teacher: no guardians' agreement applies",
			 p.ext_id);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	if (record_agreement(r, &p, withdrawn, day, year, &loans) < 0) {
		api_rollback(r);
		goto out;
	}
	json_t *det = json_pack("{s:i,s:o,s:b,s:i}", "year", year, "agreement", api_fleet_day(day),
				"withdrawn", withdrawn, "loans_school_only", loans);
	rc = api_commit(r, "person.agreement", p.ext_id, reason, det);
	json_decref(det);
	if (rc < 0)
		goto out;
	if ((rc = db_person_get(r->w->db, p.ext_id, &p)) < 0) {
		api_dberr(r, rc, "reading the person");
		goto out;
	}
	json_t *o = person_json(&p);
	json_object_set_new(o, "year", json_integer(year));
	json_object_set_new(o, "signed", api_fleet_day(day));
	json_object_set_new(o, "withdrawn", json_boolean(withdrawn));
	json_object_set_new(o, "loans_school_only", json_integer(loans));
	api_json(r, 200, o);
out:
	json_decref(b);
}

/* ---- the right of access: everything held on one person --------------- */

#define EXPORT_AUDIT_MAX 10000
#define EXPORT_LOANS_MAX 1000

struct export_ctx {
	struct req *r;
	json_t *a;
	int rc;
};

static int add_agreement(const struct db_privacy_agreement *g, void *arg)
{
	return json_array_append_new(
		   arg, json_pack("{s:I,s:o,s:o,s:s,s:o}", "school_year",
				  (json_int_t)g->school_year, "signed", api_fleet_day(g->signed_at),
				  "withdrawn", api_fleet_day(g->withdrawn_at), "recorded_by",
				  g->recorded_by, "recorded", api_fleet_time(g->recorded_at))) < 0;
}

static int add_incident(int64_t id, void *arg)
{
	struct export_ctx *x = arg;
	struct db_incident in;
	if ((x->rc = db_incident_get(x->r->w->db, id, &in)) < 0)
		return 1;
	return json_array_append_new(x->a, api_incident_json(&in)) < 0;
}

static int add_audit(const struct db_audit_row *row, void *arg)
{
	json_t *detail = row->detail && row->detail[0] ? json_loads(row->detail, 0, NULL) : NULL;
	if (row->detail && row->detail[0] && detail == NULL)
		detail = json_string(row->detail);
	return json_array_append_new(
		   arg, json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)row->id, "at",
				  api_fleet_time(row->ts), "actor", row->actor, "action",
				  row->action, "target", row->target, "reason", row->reason,
				  "detail", detail ? detail : json_null())) < 0;
}

/* The person's row as kept, with its dates. */
static json_t *export_person(const struct db_person *p, const struct db_privacy_person *k)
{
	json_t *o = person_json(p);
	json_object_set_new(o, "created", api_fleet_time(k->created_at));
	json_object_set_new(o, "updated", api_fleet_time(k->updated_at));
	json_object_set_new(o, "pseudonymised", api_fleet_time(k->pseudonymised_at));
	return o;
}

/* Loans, their incidents, agreements and audit rows into o. */
static int export_records(struct req *r, const struct db_person *p, const struct api_scope *sc,
			  json_t *o)
{
	struct db_loan_filter f = {sc->only, sc->n_only, -2, 0, 0, p->id, 0, EXPORT_LOANS_MAX};
	struct export_ctx x = {r, json_array(), 0};
	json_t *loans = json_array(), *agreements = json_array(), *audit = json_array();
	int64_t next;
	json_object_set_new(o, "agreements", agreements);
	json_object_set_new(o, "loans", loans);
	json_object_set_new(o, "incidents", x.a);
	json_object_set_new(o, "audit", audit);
	int rc = db_privacy_agreements(r->w->db, p->id, add_agreement, agreements);
	if (rc == 0)
		rc = db_loan_list(r->w->db, &f, add_loan, loans, &next);
	if (rc == 0)
		rc = db_privacy_incident_ids(r->w->db, p->id, sc->only, sc->n_only, add_incident,
					     &x);
	if (rc == 0)
		rc = x.rc;
	if (rc == 0)
		rc = db_privacy_audit(r->w->db, p->ext_id, EXPORT_AUDIT_MAX, add_audit, audit);
	return rc;
}

/* GET /api/v1/people/:id/export - everything held on one person (the
 * right of access): technicians, and ATIs for the people of their
 * collèges (the loans and incidents recorded there: "records_of" names
 * them; null is every collège).  Audited before anything is shown. */
static void export_person_records(struct req *r)
{
	struct db_person p;
	struct db_privacy_person k;
	struct api_scope sc;
	if (person_param(r, AZ_LOAN, &p) < 0)
		return;
	int rc = db_privacy_person(r->w->db, p.ext_id, &k);
	if (rc < 0) {
		api_dberr(r, rc, "reading the person");
		return;
	}
	if (api_record(r, "person.export", p.ext_id, NULL, NULL) < 0)
		return;
	api_fleet_view(r, &sc);
	json_t *of = json_null();
	if (sc.only) {
		of = json_array();
		for (size_t i = 0; i < sc.n_only; i++)
			json_array_append_new(of, json_string(sc.only[i]));
	}
	json_t *o = json_pack("{s:o,s:o,s:o}", "generated", api_fleet_time(db_now()), "records_of",
			      of, "person", export_person(&p, &k));
	if ((rc = export_records(r, &p, &sc, o)) < 0) {
		json_decref(o);
		api_dberr(r, rc, "reading the person's records");
		return;
	}
	api_json(r, 200, o);
}

/* POST /api/v1/privacy/pseudonymise - the leavers due, now (technicians):
 * what the daily job does (privacy.c), audited as the caller. */
static void pseudonymise_now(struct req *r)
{
	struct privacy_stats st;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	int rc = privacy_run(r->w, r->acct.name, &st);
	if (rc < 0) {
		api_dberr(r, rc, "pseudonymising leavers");
		return;
	}
	api_json(r, 200,
		 json_pack("{s:I,s:I,s:o,s:I}", "pseudonymised", (json_int_t)st.done, "held_back",
			   (json_int_t)st.held_back, "left_before", api_fleet_day(st.left_before),
			   "retention_days", (json_int_t)r->w->srv->cfg.leaver_retention_days));
}

const struct route api_person_routes[] = {
    {"GET", "/api/v1/people", AUTH_STAFF, list_people},
    {"POST", "/api/v1/people/import", AUTH_STAFF, import_people},
    {"GET", "/api/v1/people/:id", AUTH_STAFF, show_person},
    {"POST", "/api/v1/people/:id/leave", AUTH_STAFF, leave},
    {"POST", "/api/v1/people/:id/agreement", AUTH_STAFF, agreement},
    {"GET", "/api/v1/people/:id/export", AUTH_STAFF, export_person_records},
    {"POST", "/api/v1/privacy/pseudonymise", AUTH_STAFF, pseudonymise_now},
    {NULL, NULL, AUTH_NONE, NULL},
};
