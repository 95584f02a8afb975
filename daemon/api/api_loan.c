/* api_loan.c - loans: create, return (with the EraseDevice it queues),
 * lists, the summer collection campaign. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "cmdq.h"
#include "db_audit.h"
#include "db_device.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_mdm.h"
#include "db_person.h"
#include "ddm.h"
#include "isodate.h"
#include "log.h"
#include "mdm.h"
#include "schoolyear.h"
#include "worker.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOAN_PAGE_DEFAULT 1000
#define LOAN_PAGE_MAX	  10000
/* iPadOS version from which EraseDevice can Return to Service */
#define RTS_MIN_OS "17.0"

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *api_loan_json(const struct db_loan *l)
{
	int64_t today = isodate_day_start(db_now());
	int overdue =
	    l->state == DB_LOAN_OPEN && l->due_at && l->due_at < today && l->deposited_at == 0;
	json_t *o = json_pack(
	    "{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:b,s:s,s:s,"
	    "s:o,s:s,s:s}",
	    "id", (json_int_t)l->id, "device", l->serial, "asset_tag", l->asset_tag, "person",
	    l->person, "name", l->person_name, "kind", db_person_kind_name(l->kind), "class",
	    l->class_name, "school", l->school, "state", db_loan_state_name(l->state), "home_use",
	    l->home_use, "started", api_fleet_time(l->started_at), "due", api_fleet_day(l->due_at),
	    "returned", api_fleet_time(l->returned_at), "closed", api_fleet_time(l->closed_at),
	    "overdue", overdue, "condition", l->condition, "end_reason", l->end_reason,
	    "erase_command", str_or_null(l->erase_command), "created_by", l->created_by,
	    "returned_by", l->returned_by);
	/* deposited: kept at the collège for the summer since (null: with the
	 * person); overdue_since: when the daily job first found it overdue */
	json_object_set_new(o, "deposited", api_fleet_time(l->deposited_at));
	json_object_set_new(o, "overdue_since", api_fleet_time(l->overdue_at));
	json_object_set_new(o, "flag", json_string(l->flag));
	return o;
}

/* The person of id, authorised for action (api_allow_object()). */
static int find_person(struct req *r, int action, const char *id, struct db_person *ret)
{
	int rc = db_person_get(r->w->db, id, ret);
	return api_allow_object(r, action, rc, rc == 0 ? ret->school : NULL, "person with id '%s'",
				id);
}

/* Why home use may not start now for p with tablet d (409), or 0: the
 * summer deposit period, the guardians' agreement of the current school
 * year, a tablet without management (unless a technician gives
 * override, the reason that goes to the audit log). */
static int home_use_rules(struct req *r, const struct db_device *d, const struct db_person *p,
			  const char *override)
{
	const struct config *c = &r->w->srv->cfg;
	int64_t now = db_now();
	int year = schoolyear_of(now);
	struct db_agreement ag;
	const char *dn = api_device_name(d);
	if (schoolyear_in_span(c->loans_summer, now))
		return api_refuse(r, AP_ECONFLICT, 409,
				  "no home-use loan starts in the summer deposit period (%s): "
				  "lend it for school only, or after the summer",
				  c->loans_summer);
	if (p->kind == DB_PERSON_PUPIL) {
		int rc = db_agreement_get(r->w->db, p->id, year, &ag);
		if (rc < 0 && rc != AP_ENOTFOUND)
			return api_dberr(r, rc, "reading the agreement");
		/* two sentences, each translated whole (daemon/po) */
		if (rc == AP_ENOTFOUND)
			return api_refuse(r, AP_ECONFLICT, 409,
					  "home use needs the guardians' signed agreement of "
					  "school year %d-%d, not recorded for %s (person "
					  "agreement %s --signed DATE)",
					  year, year + 1, p->ext_id, p->ext_id);
		if (ag.withdrawn_at)
			return api_refuse(r, AP_ECONFLICT, 409,
					  "home use needs the guardians' signed agreement of "
					  "school year %d-%d, withdrawn for %s (person agreement "
					  "%s --signed DATE)",
					  year, year + 1, p->ext_id, p->ext_id);
	}
	if (strcmp(d->enrollment, "enrolled") != 0) {
		if (override == NULL)
			return api_refuse(
			    r, AP_ECONFLICT, 409,
			    "tablet %s is not enrolled: unmanaged, it has no filter nor "
			    "restrictions at home; enrol it first, or a technician gives "
			    "--override-reason",
			    dn);
		if (r->acct.role != DB_ROLE_TECHNICIAN)
			return api_refuse(r, AP_EFORBIDDEN, 403,
					  "only a technician may lend an unenrolled tablet for "
					  "home use (--override-reason)");
	}
	return 0;
}

/* One tablet per pupil at a time; teachers up to [loans] teacher_max. */
static int holder_rules(struct req *r, const struct db_person *p)
{
	int64_t max = p->kind == DB_PERSON_PUPIL ? 1 : r->w->srv->cfg.loans_teacher_max, n = 0;
	int rc = max > 0 ? db_loan_open_count(r->w->db, p->id, &n) : 0;
	if (rc < 0)
		return api_dberr(r, rc, "counting the person's loans");
	if (max > 0 && n >= max) {
		if (p->kind == DB_PERSON_PUPIL)
			return api_refuse(r, AP_ECONFLICT, 409,
					  "%s already has a tablet on loan: one tablet per pupil "
					  "at a time (return it first)",
					  p->ext_id);
		return api_refuse(r, AP_ECONFLICT, 409,
				  "%s already has %lld tablet(s) on loan, the most a teacher may "
				  "hold ([loans] teacher_max)",
				  p->ext_id, (long long)n);
	}
	return 0;
}

/* Why this loan may not be made (409), or 0.  *due may be brought
 * forward to the person's last day. */
static int loan_rules(struct req *r, const struct db_device *d, const struct db_person *p,
		      int home_use, const char *override, int64_t *due)
{
	char day[ISODATE_DAY_LEN + 1];
	int64_t today = isodate_day_start(db_now());
	const char *dn = api_device_name(d);
	if (d->school[0] == '\0')
		return api_refuse(r, AP_ECONFLICT, 409, "tablet %s belongs to no collège", dn);
	if (strcmp(d->school, p->school) != 0)
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "tablet %s is at collège %s but %s is at collège %s: a loan needs "
		    "both in the same collège",
		    dn, d->school, p->ext_id, p->school);
	if (d->state == DB_DEV_LOANED)
		return api_refuse(r, AP_ECONFLICT, 409, "tablet %s is already on loan to %s", dn,
				  d->holder);
	if (d->state != DB_DEV_STOCK)
		return api_refuse(r, AP_ECONFLICT, 409, "tablet %s is %s, not in stock", dn,
				  db_device_state_name(d->state));
	if (p->left_at && p->left_at < today) {
		isodate_format_day(p->left_at, day);
		return api_refuse(r, AP_ECONFLICT, 409, "%s left the collège on %s", p->ext_id,
				  day);
	}
	if (holder_rules(r, p) < 0 || (home_use && home_use_rules(r, d, p, override) < 0))
		return -1;
	if (*due && *due < today)
		return api_refuse(r, AP_EINVAL, 400, "the due date is in the past");
	if (p->left_at && (*due == 0 || *due > p->left_at))
		*due = p->left_at;
	return 0;
}

static void create_loan(struct req *r)
{
	const char *dev = NULL, *pid = NULL, *reason = NULL, *override = NULL;
	struct db_device d;
	struct db_person p;
	struct db_loan l;
	int64_t due = 0, id;
	int home = 0, rc;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (api_field_str(r, b, "device", 64, 1, &dev) < 0 ||
	    api_field_str(r, b, "person", 64, 1, &pid) < 0 ||
	    api_field_bool(r, b, "home_use", &home) < 0 ||
	    api_field_day(r, b, "due", 0, &due) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    api_field_str(r, b, "override_reason", API_REASON_MAX, 0, &override) < 0 ||
	    api_device_find(r, AZ_LOAN, dev, &d) < 0 || find_person(r, AZ_LOAN, pid, &p) < 0 ||
	    loan_rules(r, &d, &p, home, override, &due) < 0 || api_begin(r) < 0)
		goto out;
	rc = db_loan_create(r->w->db, d.id, p.id, d.school, home, due, r->acct.name, &id);
	if (rc == 0)
		rc = db_loan_get(r->w->db, id, &l);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			api_fail(r, rc, 409, "tablet %s is already on loan", api_device_name(&d));
		else
			api_dberr(r, rc, "creating the loan");
		goto out;
	}
	/* the audit log cannot be purged: ids only, no names */
	json_t *det = json_pack("{s:I,s:s,s:b,s:o}", "loan", (json_int_t)l.id, "person", l.person,
				"home_use", l.home_use, "due", api_fleet_day(l.due_at));
	/* a technician's override of the enrolment rule is the row's reason */
	if (home && override && strcmp(d.enrollment, "enrolled") != 0) {
		json_object_set_new(det, "override_reason", json_string(override));
		reason = override;
	}
	rc = api_commit(r, "loan.create", api_device_name(&d), reason, det);
	json_decref(det);
	/* the borrower's groups (pupils / teachers, the class) are the tablet's now */
	if (rc == 0 && ddm_recompute(r->w, NULL, d.id, "loan", NULL) < 0)
		log_warn("ddm_recompute_failed", "id=%s device=%lld reason=loan", r->id,
			 (long long)d.id);
	if (rc == 0)
		api_json(r, 201, api_loan_json(&l));
out:
	json_decref(b);
}

int api_queue_erase(struct req *r, const struct db_device *d, const char *origin, char uuid[37],
		    int *ret_rts, char *detail, size_t cap)
{
	const struct config *c = &r->w->srv->cfg;
	int rts = d->os_version[0] && db_device_vercmp(d->os_version, RTS_MIN_OS) >= 0;
	unsigned char *profile = NULL;
	size_t len = 0;
	plist_t params = NULL;
	char code[33];
	int rc = 0;
	if (rts)
		rc = db_enroll_code_for_serial(r->w->db, d->school[0] ? d->school : NULL, d->serial,
					       r->acct.name,
					       (int64_t)(c->command_expiry_days + 7) * 86400, code);
	if (rts && rc == 0)
		rc = mdm_enroll_profile(r->w, code, 1, &profile, &len);
	if (rc == 0)
		rc = ap_cmd_params_erase(rts, profile, len, &params);
	struct cmd_order o = {.device_id = d->id,
			      .type = AP_CMD_ERASE_DEVICE,
			      .params = params,
			      .origin = origin,
			      .requested_by = r->acct.name};
	if (rc == 0)
		rc = cmdq_queue(r->w, &o, uuid, detail, cap);
	plist_free(params);
	free(profile);
	if (rc == 0)
		*ret_rts = rts;
	return rc;
}

int api_loan_on_erase(struct worker *w, const struct cmdq_result *res)
{
	int rc = db_loan_erase_acknowledged(w->db, res->device->id);
	return rc == AP_ENOTFOUND ? 0 : rc;
}

/* Why this tablet cannot be handed back now (409), or 0. */
static int return_rules(struct req *r, const struct db_device *d, const struct db_loan *l, int rc)
{
	char day[ISODATE_DAY_LEN + 1];
	const char *dn = api_device_name(d);
	if (rc == AP_ENOTFOUND)
		return api_refuse(r, rc, 409, "tablet %s is not on loan (it is %s)", dn,
				  db_device_state_name(d->state));
	if (rc < 0)
		return api_dberr(r, rc, "reading the loan");
	if (l->state == DB_LOAN_RETURNING) {
		isodate_format_day(l->returned_at, day);
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "tablet %s was handed back on %s; its erase is not acknowledged yet", dn, day);
	}
	if (d->state != DB_DEV_LOANED)
		return api_refuse(r, AP_ECONFLICT, 409,
				  "tablet %s is %s: close its incident before the return", dn,
				  db_device_state_name(d->state));
	return 0;
}

/* A tablet handed back damaged: the damage incident, in the return's
 * transaction; the tablet goes to repair (it stays there once its erase is
 * acknowledged).  The one call of db_incident_declare() outside
 * api_incident.c.  *ret_id: the incident. */
static int declare_damage(struct req *r, const struct db_device *d, const struct db_loan *l,
			  int64_t *ret_id)
{
	char detail[96];
	int64_t id;
	int rc = db_incident_declare(r->w->db, d->id, DB_INC_DAMAGE, db_now(), NULL,
				     "handed back damaged (loan return)", r->acct.name, &id);
	if (rc < 0)
		return api_refuse(r, rc, rc == AP_ECONFLICT ? 409 : 0,
				  "cannot open the damage incident of tablet %s: %s",
				  api_device_name(d), ap_strerror(rc));
	snprintf(detail, sizeof(detail), "{\"incident\":%lld,\"kind\":\"damage\",\"loan\":%lld}",
		 (long long)id, (long long)l->id);
	rc = db_audit_append(r->w->db, r->acct.name, "incident.declare", api_device_name(d), "",
			     detail);
	if (rc < 0)
		return api_dberr(r, rc, "auditing the incident");
	*ret_id = id;
	return 0;
}

static int do_return(struct req *r, const struct db_device *d, const struct db_loan *l,
		     const char *cond, const char *reason)
{
	char uuid[37], detail[200];
	int64_t incident = 0;
	int rts = 0;
	int rc = db_loan_return(r->w->db, l->id, cond, r->acct.name);
	if (rc < 0)
		return api_dberr(r, rc, "recording the return");
	rc = api_queue_erase(r, d, "loan", uuid, &rts, detail, sizeof(detail));
	if (rc < 0)
		return api_refuse(r, rc, 0, "cannot queue EraseDevice for %s: %s",
				  api_device_name(d), detail[0] ? detail : ap_strerror(rc));
	rc = db_loan_set_erase_command(r->w->db, l->id, uuid);
	if (rc < 0)
		return api_dberr(r, rc, "recording the erase command");
	if (strcmp(cond, "damaged") == 0 && declare_damage(r, d, l, &incident) < 0)
		return -1;
	json_t *det =
	    json_pack("{s:I,s:s,s:s,s:s,s:b}", "loan", (json_int_t)l->id, "person", l->person,
		      "condition", cond, "erase_command", uuid, "return_to_service", rts);
	if (incident)
		json_object_set_new(det, "incident", json_integer((json_int_t)incident));
	rc = api_commit(r, "loan.return", api_device_name(d), reason, det);
	json_decref(det);
	if (rc < 0)
		return rc;
	/* out of the borrower's groups */
	if (ddm_recompute(r->w, NULL, d->id, "loan", NULL) < 0)
		log_warn("ddm_recompute_failed", "id=%s device=%lld reason=loan", r->id,
			 (long long)d->id);
	struct db_loan done;
	json_t *o = db_loan_get(r->w->db, l->id, &done) == 0 ? api_loan_json(&done) : json_object();
	json_object_set_new(o, "erase",
			    json_pack("{s:s,s:b,s:s}", "command", uuid, "return_to_service", rts,
				      "enrollment", d->enrollment));
	json_object_set_new(o, "incident",
			    incident ? json_integer((json_int_t)incident) : json_null());
	api_json(r, 200, o);
	return 0;
}

static void return_loan(struct req *r)
{
	const char *dev = NULL, *cond = NULL, *reason = NULL;
	struct db_device d;
	struct db_loan l;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (api_field_str(r, b, "device", 64, 1, &dev) < 0 ||
	    api_field_str(r, b, "condition", 16, 0, &cond) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    api_device_find(r, AZ_LOAN, dev, &d) < 0)
		goto out;
	if (cond == NULL)
		cond = "ok";
	if (strcmp(cond, "ok") != 0 && strcmp(cond, "damaged") != 0) {
		api_fail(r, AP_EINVAL, 400, "condition must be ok or damaged");
		goto out;
	}
	if (return_rules(r, &d, &l, db_loan_active(r->w->db, d.id, &l)) < 0 || api_begin(r) < 0)
		goto out;
	if (do_return(r, &d, &l, cond, reason) < 0)
		api_rollback(r);
out:
	json_decref(b);
}

/* The open loan of the body's "device", authorised for AZ_LOAN: 0, or
 * answered (404 unknown or out of scope, 409 not on loan). */
static int open_loan_of(struct req *r, json_t *b, struct db_device *d, struct db_loan *l)
{
	const char *dev = NULL;
	if (api_field_str(r, b, "device", 64, 1, &dev) < 0 ||
	    api_device_find(r, AZ_LOAN, dev, d) < 0)
		return -1;
	int rc = db_loan_active(r->w->db, d->id, l);
	if (rc == AP_ENOTFOUND || (rc == 0 && l->state != DB_LOAN_OPEN))
		return api_refuse(r, AP_ECONFLICT, 409, "tablet %s is not on loan (it is %s)",
				  api_device_name(d), db_device_state_name(d->state));
	return rc < 0 ? api_dberr(r, rc, "reading the loan") : 0;
}

/* Writes the audit row and answers the loan as it is now. */
static void commit_loan(struct req *r, const char *action, const struct db_device *d,
			int64_t loan_id, const char *reason, json_t *det)
{
	struct db_loan now;
	int rc = db_loan_get(r->w->db, loan_id, &now);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "reading the loan");
		return;
	}
	if (api_commit(r, action, api_device_name(d), reason, det) == 0)
		api_json(r, 200, api_loan_json(&now));
}

/* POST /api/v1/loans/deposit and /resume: the summer deposit, without
 * erase: the tablet stays on loan (device loaned), kept at the collège. */
static void deposit_or_resume(struct req *r, int deposit)
{
	const char *reason = NULL;
	struct db_device d;
	struct db_loan l;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (open_loan_of(r, b, &d, &l) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	if (deposit && l.deposited_at) {
		api_refuse(r, AP_ECONFLICT, 409, "tablet %s is deposited already",
			   api_device_name(&d));
		goto out;
	}
	if (!deposit && l.deposited_at == 0) {
		api_refuse(r, AP_ECONFLICT, 409, "tablet %s is not deposited: nothing to resume",
			   api_device_name(&d));
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	int rc = db_loan_deposit(r->w->db, l.id, deposit);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "recording the deposit");
		goto out;
	}
	json_t *det = json_pack("{s:I,s:s}", "loan", (json_int_t)l.id, "person", l.person);
	commit_loan(r, deposit ? "loan.deposit" : "loan.resume", &d, l.id, reason, det);
	json_decref(det);
out:
	json_decref(b);
}

static void deposit_loan(struct req *r)
{
	deposit_or_resume(r, 1);
}

static void resume_loan(struct req *r)
{
	deposit_or_resume(r, 0);
}

/* The body of an update: home_use -1 (absent) or 0/1, due -1 (absent) or
 * a day; 400 when neither is given. */
static int update_body(struct req *r, json_t *b, int *home, int64_t *due)
{
	json_t *h = json_object_get(b, "home_use");
	int64_t day = 0;
	*home = -1;
	*due = -1;
	if (h && !json_is_null(h) && api_field_bool(r, b, "home_use", home) < 0)
		return -1;
	if (api_field_day(r, b, "due", 0, &day) < 0)
		return -1;
	if (day)
		*due = day;
	if (*home < 0 && *due < 0)
		return api_refuse(r, AP_EMISSING, 400, "give home_use, due or both");
	if (day && day < isodate_day_start(db_now()))
		return api_refuse(r, AP_EINVAL, 400, "the due date is in the past");
	return 0;
}

/* POST /api/v1/loans/update: school-only <-> home use (home use checked as
 * at the loan's start), the due date (not after the person's last day);
 * the loan's flag is cleared. */
static void update_loan(struct req *r)
{
	const char *reason = NULL, *override = NULL;
	struct db_device d;
	struct db_person p;
	struct db_loan l;
	int64_t due;
	int home, rc;
	json_t *b = api_body(r);
	if (b == NULL)
		return;
	if (open_loan_of(r, b, &d, &l) < 0 || update_body(r, b, &home, &due) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    api_field_str(r, b, "override_reason", API_REASON_MAX, 0, &override) < 0)
		goto out;
	if ((rc = db_person_get(r->w->db, l.person, &p)) < 0) {
		api_dberr(r, rc, "reading the person");
		goto out;
	}
	if (home == 1 && !l.home_use && home_use_rules(r, &d, &p, override) < 0)
		goto out;
	if (due > 0 && p.left_at && due > p.left_at) {
		api_refuse(r, AP_ECONFLICT, 409, "%s leaves the collège before that day", p.ext_id);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	if ((rc = db_loan_update(r->w->db, l.id, home, due)) < 0) {
		api_rollback(r);
		api_dberr(r, rc, "changing the loan");
		goto out;
	}
	json_t *det = json_pack("{s:I,s:s,s:b,s:o,s:s}", "loan", (json_int_t)l.id, "person",
				l.person, "home_use", home < 0 ? l.home_use : home, "due",
				api_fleet_day(due < 0 ? l.due_at : due), "flag_cleared", l.flag);
	if (home == 1 && !l.home_use && override && strcmp(d.enrollment, "enrolled") != 0) {
		json_object_set_new(det, "override_reason", json_string(override));
		reason = override;
	}
	commit_loan(r, "loan.update", &d, l.id, reason, det);
	json_decref(det);
out:
	json_decref(b);
}

static int add_loan(const struct db_loan *l, void *arg)
{
	return json_array_append_new(arg, api_loan_json(l)) < 0;
}

/* ?state=open|returning|closed|active|all (default active). */
static int state_filter(struct req *r, int *ret)
{
	static const struct {
		const char *name;
		int state;
	} names[] = {{"open", DB_LOAN_OPEN},
		     {"returning", DB_LOAN_RETURNING},
		     {"closed", DB_LOAN_CLOSED},
		     {"active", -1},
		     {"all", -2}};
	char q[16];
	*ret = -1;
	if (api_query(r, "state", q, sizeof(q)) < 0 || q[0] == '\0')
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(q, names[i].name) == 0) {
			*ret = names[i].state;
			return 0;
		}
	}
	return api_refuse(r, AP_EINVAL, 400,
			  "state must be open, returning, closed, active or all");
}

/* ?person=ID and ?device=SERIAL narrow the list. */
static int who_filter(struct req *r, struct db_loan_filter *f)
{
	char q[80];
	if (api_query(r, "person", q, sizeof(q)) == 0 && q[0]) {
		struct db_person p;
		if (find_person(r, AZ_READ, q, &p) < 0)
			return -1;
		f->person_id = p.id;
	}
	if (api_query(r, "device", q, sizeof(q)) == 0 && q[0]) {
		struct db_device d;
		if (api_device_find(r, AZ_READ, q, &d) < 0)
			return -1;
		f->device_id = d.id;
	}
	return 0;
}

static void list_loans(struct req *r)
{
	struct db_loan_filter f = {NULL, 0, -1, 0, 0, 0, 0, LOAN_PAGE_DEFAULT};
	struct api_scope sc;
	int64_t next = 0;
	json_t *a = json_array();
	if (api_fleet_scope(r, AZ_READ, &sc) < 0 || state_filter(r, &f.state) < 0 ||
	    who_filter(r, &f) < 0 ||
	    api_fleet_page(r, LOAN_PAGE_DEFAULT, LOAN_PAGE_MAX, &f.after_id, &f.limit) < 0)
		goto fail;
	f.only = sc.only;
	f.n_only = sc.n_only;
	if (api_fleet_flag(r, "overdue")) {
		f.state = DB_LOAN_OPEN;
		f.overdue_before = isodate_day_start(db_now());
	}
	int rc = db_loan_list(r->w->db, &f, add_loan, a, &next);
	if (rc < 0) {
		api_dberr(r, rc, "listing loans");
		goto fail;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "loans", a, "next",
			   next ? json_integer((json_int_t)next) : json_null()));
	return;
fail:
	json_decref(a);
}

/* GET /api/v1/loans/:id: one loan, for whoever may read its collège's
 * loans (an unknown id and one outside the caller's collèges answer
 * alike). */
static void show_loan(struct req *r)
{
	struct db_loan l;
	const char *text = api_param(r, 0);
	char *end;
	errno = 0;
	long long id = strtoll(text, &end, 10);
	int rc = (errno || *end || id <= 0 || !isdigit((unsigned char)text[0]))
		     ? AP_ENOTFOUND
		     : db_loan_get(r->w->db, id, &l);
	if (api_allow_object(r, AZ_READ, rc, rc == 0 ? l.school : NULL, "loan %.24s", text) < 0)
		return;
	api_json(r, 200, api_loan_json(&l));
}

struct campaign {
	json_t *classes;
	json_t *cur; /* the current class's object */
	size_t pupils, deposited;
};

/* Counts of one class (or the whole campaign): tablets, deposited, to
 * collect. */
static void set_counts(json_t *o, size_t n, size_t deposited)
{
	json_object_set_new(o, "count", json_integer((json_int_t)n));
	json_object_set_new(o, "deposited", json_integer((json_int_t)deposited));
	json_object_set_new(o, "to_collect", json_integer((json_int_t)(n - deposited)));
}

static int add_to_campaign(const struct db_loan *l, void *arg)
{
	struct campaign *c = arg;
	const char *cur = c->cur ? json_string_value(json_object_get(c->cur, "class")) : NULL;
	if (cur == NULL || strcmp(cur, l->class_name) != 0) {
		c->cur = json_pack("{s:s,s:i,s:i,s:i,s:[]}", "class", l->class_name, "count", 0,
				   "deposited", 0, "to_collect", 0, "loans");
		json_array_append_new(c->classes, c->cur);
	}
	json_t *items = json_object_get(c->cur, "loans");
	json_array_append_new(
	    items, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:o,s:s}", "id", (json_int_t)l->id,
			     "person", l->person, "name", l->person_name, "device", l->serial,
			     "asset_tag", l->asset_tag, "started", api_fleet_time(l->started_at),
			     "due", api_fleet_day(l->due_at), "home_use", l->home_use, "deposited",
			     api_fleet_time(l->deposited_at), "flag", l->flag));
	size_t dep = (size_t)json_integer_value(json_object_get(c->cur, "deposited")) +
		     (l->deposited_at != 0);
	set_counts(c->cur, json_array_size(items), dep);
	c->pupils++;
	c->deposited += l->deposited_at != 0;
	return 0;
}

/* GET /api/v1/loans/campaign?school=UAI&by=DAY[&class=C]: the summer
 * checklist, per class: each pupil's loan, deposited or not (when), and
 * the counts to collect / deposited. */
static void campaign(struct req *r)
{
	struct campaign c = {json_array(), NULL, 0, 0};
	char q[32], uai[9], cls[DB_PERSON_CLASS_MAX + 2];
	int64_t by = 0;
	if (api_query(r, "school", q, sizeof(q)) < 0 || q[0] == '\0') {
		api_fail(r, AP_EMISSING, 400, "school (a UAI) is required");
		goto fail;
	}
	if (api_fleet_uai(r, q, uai) < 0 || api_allow(r, AZ_READ, uai) < 0 ||
	    api_fleet_query_day(r, "by", &by) < 0)
		goto fail;
	if (by == 0) {
		api_fail(r, AP_EMISSING, 400, "by (the collection date, YYYY-MM-DD) is required");
		goto fail;
	}
	int has_class = api_query(r, "class", cls, sizeof(cls)) == 0 && cls[0];
	if (has_class && strlen(cls) > DB_PERSON_CLASS_MAX) {
		api_fail(r, AP_EINVAL, 400, "class is at most %d bytes", DB_PERSON_CLASS_MAX);
		goto fail;
	}
	int rc = db_loan_campaign(r->w->db, uai, has_class ? cls : NULL, isodate_day_add(by, 1),
				  add_to_campaign, &c);
	if (rc < 0) {
		api_dberr(r, rc, "listing the campaign");
		goto fail;
	}
	json_t *o = json_pack("{s:s,s:o,s:o,s:I,s:o}", "school", uai, "by", api_fleet_day(by),
			      "class", has_class ? json_string(cls) : json_null(), "tablets",
			      (json_int_t)c.pupils, "classes", c.classes);
	set_counts(o, c.pupils, c.deposited);
	json_object_del(o, "count");
	api_json(r, 200, o);
	return;
fail:
	json_decref(c.classes);
}

const struct route api_loan_routes[] = {
    {"GET", "/api/v1/loans", AUTH_STAFF, list_loans},
    {"POST", "/api/v1/loans", AUTH_STAFF, create_loan},
    {"POST", "/api/v1/loans/return", AUTH_STAFF, return_loan},
    {"POST", "/api/v1/loans/deposit", AUTH_STAFF, deposit_loan},
    {"POST", "/api/v1/loans/resume", AUTH_STAFF, resume_loan},
    {"POST", "/api/v1/loans/update", AUTH_STAFF, update_loan},
    {"GET", "/api/v1/loans/campaign", AUTH_STAFF, campaign},
    {"GET", "/api/v1/loans/:id", AUTH_STAFF, show_loan},
    {NULL, NULL, AUTH_NONE, NULL},
};
