/* api_loan.c - loans: create, return (with the EraseDevice it queues),
 * lists, the summer collection campaign. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "cmdq.h"
#include "db_device.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_mdm.h"
#include "db_person.h"
#include "isodate.h"
#include "log.h"
#include "mdm.h"
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
	int overdue = l->state == DB_LOAN_OPEN && l->due_at && l->due_at < today;
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:b,s:s,s:s,"
			 "s:o,s:s,s:s}",
			 "id", (json_int_t)l->id, "device", l->serial, "asset_tag", l->asset_tag,
			 "person", l->person, "name", l->person_name, "kind",
			 db_person_kind_name(l->kind), "class", l->class_name, "school", l->school,
			 "state", db_loan_state_name(l->state), "home_use", l->home_use, "started",
			 api_fleet_time(l->started_at), "due", api_fleet_day(l->due_at), "returned",
			 api_fleet_time(l->returned_at), "closed", api_fleet_time(l->closed_at),
			 "overdue", overdue, "condition", l->condition, "end_reason", l->end_reason,
			 "erase_command", str_or_null(l->erase_command), "created_by",
			 l->created_by, "returned_by", l->returned_by);
}

/* The person of id, authorised for action (api_allow_object()). */
static int find_person(struct req *r, int action, const char *id, struct db_person *ret)
{
	int rc = db_person_get(r->w->db, id, ret);
	return api_allow_object(r, action, rc, rc == 0 ? ret->school : NULL, "person with id '%s'",
				id);
}

/* Why this loan may not be made (409), or 0.  *due may be brought
 * forward to the person's last day. */
static int loan_rules(struct req *r, const struct db_device *d, const struct db_person *p,
		      int home_use, int64_t *due)
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
	if (home_use && p->kind == DB_PERSON_PUPIL && p->agreement_at == 0)
		return api_refuse(
		    r, AP_ECONFLICT, 409,
		    "home use needs the guardians' signed agreement, not recorded for "
		    "%s (person agreement %s --date D)",
		    p->ext_id, p->ext_id);
	if (*due && *due < today)
		return api_refuse(r, AP_EINVAL, 400, "the due date is in the past");
	if (p->left_at && (*due == 0 || *due > p->left_at))
		*due = p->left_at;
	return 0;
}

static void create_loan(struct req *r)
{
	const char *dev = NULL, *pid = NULL, *reason = NULL;
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
	    api_device_find(r, AZ_LOAN, dev, &d) < 0 || find_person(r, AZ_LOAN, pid, &p) < 0 ||
	    loan_rules(r, &d, &p, home, &due) < 0 || api_begin(r) < 0)
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
	rc = api_commit(r, "loan.create", api_device_name(&d), reason, det);
	json_decref(det);
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

static int do_return(struct req *r, const struct db_device *d, const struct db_loan *l,
		     const char *cond, const char *reason)
{
	char uuid[37], detail[200];
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
	json_t *det =
	    json_pack("{s:I,s:s,s:s,s:s,s:b}", "loan", (json_int_t)l->id, "person", l->person,
		      "condition", cond, "erase_command", uuid, "return_to_service", rts);
	rc = api_commit(r, "loan.return", api_device_name(d), reason, det);
	json_decref(det);
	if (rc < 0)
		return rc;
	struct db_loan done;
	json_t *o = db_loan_get(r->w->db, l->id, &done) == 0 ? api_loan_json(&done) : json_object();
	json_object_set_new(o, "erase",
			    json_pack("{s:s,s:b,s:s}", "command", uuid, "return_to_service", rts,
				      "enrollment", d->enrollment));
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
	size_t pupils;
};

static int add_to_campaign(const struct db_loan *l, void *arg)
{
	struct campaign *c = arg;
	const char *cur = c->cur ? json_string_value(json_object_get(c->cur, "class")) : NULL;
	if (cur == NULL || strcmp(cur, l->class_name) != 0) {
		c->cur = json_pack("{s:s,s:i,s:[]}", "class", l->class_name, "count", 0, "loans");
		json_array_append_new(c->classes, c->cur);
	}
	json_t *items = json_object_get(c->cur, "loans");
	json_array_append_new(items,
			      json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "person", l->person,
					"name", l->person_name, "device", l->serial, "asset_tag",
					l->asset_tag, "started", api_fleet_time(l->started_at),
					"due", api_fleet_day(l->due_at), "home_use", l->home_use));
	json_object_set_new(c->cur, "count", json_integer((json_int_t)json_array_size(items)));
	c->pupils++;
	return 0;
}

static void campaign(struct req *r)
{
	struct campaign c = {json_array(), NULL, 0};
	char q[32], uai[9];
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
	int rc = db_loan_campaign(r->w->db, uai, isodate_day_add(by, 1), add_to_campaign, &c);
	if (rc < 0) {
		api_dberr(r, rc, "listing the campaign");
		goto fail;
	}
	api_json(r, 200,
		 json_pack("{s:s,s:o,s:I,s:o}", "school", uai, "by", api_fleet_day(by), "tablets",
			   (json_int_t)c.pupils, "classes", c.classes));
	return;
fail:
	json_decref(c.classes);
}

const struct route api_loan_routes[] = {
    {"GET", "/api/v1/loans", AUTH_STAFF, list_loans},
    {"POST", "/api/v1/loans", AUTH_STAFF, create_loan},
    {"POST", "/api/v1/loans/return", AUTH_STAFF, return_loan},
    {"GET", "/api/v1/loans/campaign", AUTH_STAFF, campaign},
    {"GET", "/api/v1/loans/:id", AUTH_STAFF, show_loan},
    {NULL, NULL, AUTH_NONE, NULL},
};
