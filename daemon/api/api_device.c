/* api_device.c - tablets: list with filters, show with history, import,
 * move, retire, erase, release of the certificate binding. */
#include "api.h"
#include "api_routes.h"
#include "log.h"
#include "licence.h"
#include "reconcile.h"
#include "ddm.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "ap_text.h"
#include "db_ade.h"
#include "db_command.h"
#include "db_ddm.h"
#include "db_device.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_mdm.h"
#include "db_person.h"
#include "db_school.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_PAGE_DEFAULT 5000
#define DEVICE_PAGE_MAX	    10000
#define HISTORY_MAX	    100
#define RECENT_COMMANDS	    10

/* The holder of d's loan in progress, or null (none, or not shown). */
static int holder_write(struct ap_buf *b, const struct db_device *d, int shown)
{
	int rc = 0;
	if (!shown || d->holder[0] == '\0')
		return ap_buf_appends(b, "null");
	rc |= ap_buf_appends(b, "{\"id\":");
	rc |= api_fleet_jstr(b, d->holder, 0);
	rc |= ap_buf_appends(b, ",\"name\":");
	rc |= api_fleet_jstr(b, d->holder_name, 0);
	rc |= ap_buf_appends(b, ",\"class\":");
	rc |= api_fleet_jstr(b, d->holder_class, 1);
	rc |= ap_buf_appends(b, "}");
	return rc;
}

/* The one description of a tablet in JSON, written into b; its holder
 * (the person) only when holder is not 0. */
static int device_write(struct ap_buf *b, const struct db_device *d, int holder)
{
	int rc = 0;
	rc |= ap_buf_appends(b, "{\"serial\":");
	rc |= api_fleet_jstr(b, d->serial, 1);
	rc |= ap_buf_appends(b, ",\"udid\":");
	rc |= api_fleet_jstr(b, d->udid, 1);
	rc |= ap_buf_appends(b, ",\"school\":");
	rc |= api_fleet_jstr(b, d->school, 1);
	rc |= ap_buf_printf(
	    b, ",\"state\":\"%s\",\"model_declared\":", db_device_state_name(d->state));
	rc |= api_fleet_jstr(b, d->model_declared, 0);
	rc |= ap_buf_appends(b, ",\"model\":");
	rc |= api_fleet_jstr(b, d->model, 0);
	rc |= ap_buf_appends(b, ",\"asset_tag\":");
	rc |= api_fleet_jstr(b, d->asset_tag, 0);
	rc |= ap_buf_appends(b, ",\"os_version\":");
	rc |= api_fleet_jstr(b, d->os_version, 0);
	rc |= ap_buf_appends(b, ",\"last_seen\":");
	rc |= api_fleet_jtime(b, d->last_seen);
	rc |= ap_buf_appends(b, ",\"holder\":");
	rc |= holder_write(b, d, holder);
	rc |= ap_buf_appends(b, ",\"enrollment\":");
	rc |= api_fleet_jstr(b, d->enrollment, 0);
	rc |= ap_buf_appends(b, "}");
	return rc ? AP_ETOOBIG : 0;
}

json_t *api_device_json(const struct db_device *d)
{
	struct ap_buf b;
	json_t *v = NULL;
	ap_buf_init(&b, 1 << 16);
	if (device_write(&b, d, 1) == 0)
		v = json_loadb(b.data, b.len, 0, NULL);
	ap_buf_free(&b);
	return v ? v : json_object();
}

/* The text of the list's ?class= and ?q= (db_device_filter). */
struct list_text {
	char os[32];
	char class_name[64];
	char q[DB_DEVICE_Q_MAX * 4]; /* a longer one is cut, still too long */
};

/* Query parameter name as one line of text of at most max bytes, blanks
 * around it dropped: *ret NULL when absent or blank; 400 otherwise. */
static int query_text(struct req *r, const char *name, char *buf, size_t cap, size_t max,
		      const char **ret)
{
	size_t n;
	char *s = buf;
	*ret = NULL;
	if (api_query(r, name, buf, cap) < 0)
		return 0;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n == 0)
		return 0;
	if (!ap_text_ok(s, max, 0))
		return api_refuse(r, AP_EINVAL, 400,
				  "%s must be one line of text of at most %zu bytes, without "
				  "control characters",
				  name, max);
	*ret = s;
	return 0;
}

/* Reads the filters of a list (?state=, ?not_seen_days=, ?os_below=,
 * ?class=, ?q=). */
static int list_filter(struct req *r, struct db_device_filter *f, struct list_text *t)
{
	char q[32], *end, *os = t->os;
	size_t os_cap = sizeof(t->os);
	enum db_device_state st;
	if (api_query(r, "state", q, sizeof(q)) == 0 && q[0]) {
		if (db_device_state_from_name(q, &st) < 0)
			return api_refuse(
			    r, AP_EINVAL, 400,
			    "unknown state '%s' (stock, loaned, returning, repair, lost, "
			    "stolen, retired)",
			    q);
		f->state = (int)st;
	}
	if (api_query(r, "not_seen_days", q, sizeof(q)) == 0 && q[0]) {
		long days = strtol(q, &end, 10);
		if (*end || days < 0 || days > 36500)
			return api_refuse(r, AP_EINVAL, 400,
					  "not_seen_days must be a number of days");
		f->not_seen_since = db_now() - days * 86400;
	}
	if (api_query(r, "os_below", os, os_cap) == 0 && os[0]) {
		if (strspn(os, "0123456789.") != strlen(os) || os[0] == '.')
			return api_refuse(r, AP_EINVAL, 400,
					  "os_below must be a version like 17.5");
		f->os_below = os;
	}
	if (query_text(r, "class", t->class_name, sizeof(t->class_name), DB_PERSON_CLASS_MAX,
		       &f->class_name) < 0)
		return AP_EINVAL;
	return query_text(r, "q", t->q, sizeof(t->q), DB_DEVICE_Q_MAX, &f->q);
}

struct device_page {
	struct req *r;
	struct ap_buf *out;
	size_t n;
	int full; /* the answer's cap was reached: the page is not complete */
};

static int add_device(const struct db_device *d, void *arg)
{
	struct device_page *p = arg;
	/* the holder is a loan's person: shown to who may read that collège's loans */
	int holder = authz_check(p->r, AZ_READ, d->school[0] ? d->school : NULL) == 0;
	if ((p->n++ && ap_buf_append(p->out, ",\n", 2) < 0) || device_write(p->out, d, holder) < 0)
		p->full = 1;
	return p->full;
}

static void list_devices(struct req *r)
{
	struct db_device_filter f = {NULL, 0, -1, 0, NULL, 0, DEVICE_PAGE_DEFAULT, NULL, NULL};
	struct device_page page = {r, &r->resp->body, 0, 0};
	struct api_scope sc;
	struct list_text text;
	int64_t next = 0;
	if (api_fleet_scope(r, AZ_READ, &sc) < 0 || list_filter(r, &f, &text) < 0 ||
	    api_fleet_page(r, DEVICE_PAGE_DEFAULT, DEVICE_PAGE_MAX, &f.after_id, &f.limit) < 0)
		return;
	f.only = sc.only;
	f.n_only = sc.n_only;
	int rc = api_fleet_list_begin(r, "devices");
	if (rc == 0)
		rc = db_device_list(r->w->db, &f, add_device, &page, &next);
	if (rc < 0)
		api_dberr(r, rc, "listing tablets");
	else if (page.full)
		api_fail(r, AP_ETOOBIG, 500, "the page is too large: ask for a smaller limit");
	else
		api_fleet_list_end(r, next);
}

static int add_loan(const struct db_loan *l, void *arg)
{
	return json_array_append_new(arg, api_loan_json(l)) < 0;
}

static int add_incident(const struct db_incident *in, void *arg)
{
	return json_array_append_new(arg, api_incident_json(in)) < 0;
}

static int add_command(const struct db_cmd *c, void *arg)
{
	json_t *o = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:o,s:o,s:s?}", "uuid", c->uuid, "type",
			      c->type, "status", c->status, "origin", c->origin, "created_by",
			      c->created_by, "created_at", api_fleet_time(c->created_at), "done_at",
			      api_fleet_time(c->done_at), "error", c->error);
	return json_array_append_new(arg, o) < 0;
}

/* The device's loans and incidents recorded in the caller's collèges,
 * newest last, and its commands, newest first. */
static int history(struct req *r, const struct db_device *d, json_t *o)
{
	struct api_scope sc;
	api_fleet_view(r, &sc); /* a tablet moved here keeps its past elsewhere */
	struct db_loan_filter lf = {sc.only, sc.n_only, -2, 0, d->id, 0, 0, HISTORY_MAX};
	struct db_incident_filter inf = {sc.only, sc.n_only, 0, d->id, 0, HISTORY_MAX};
	json_t *loans = json_array(), *incidents = json_array(), *commands = json_array();
	int64_t next;
	int rc = db_loan_list(r->w->db, &lf, add_loan, loans, &next);
	if (rc == 0)
		rc = db_incident_list(r->w->db, &inf, add_incident, incidents, &next);
	if (rc == 0)
		rc = db_cmd_list(r->w->db, d->id, HISTORY_MAX, add_command, commands);
	json_object_set_new(o, "loans", loans);
	json_object_set_new(o, "incidents", incidents);
	json_object_set_new(o, "commands", commands);
	return rc;
}

/* The newest RECENT_COMMANDS of commands (newest first): what a page
 * shows. */
static json_t *recent_commands(json_t *commands)
{
	json_t *a = json_array(), *c;
	size_t i;
	json_array_foreach(commands, i, c)
	{
		if (i == RECENT_COMMANDS)
			break;
		json_t *done = json_object_get(c, "done_at");
		json_array_append_new(
		    a, json_pack("{s:O,s:O,s:O,s:O}", "uuid", json_object_get(c, "uuid"), "type",
				 json_object_get(c, "type"), "status", json_object_get(c, "status"),
				 "when",
				 json_is_null(done) ? json_object_get(c, "created_at") : done));
	}
	return a;
}

/* null for what the tablet never reported */
static json_t *flag(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *amount(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

/* What the tablet last said of itself, for its page. */
static int inventory(struct req *r, const struct db_device *d, json_t *o)
{
	struct db_device_inventory in;
	int rc = db_device_inventory(r->w->db, d->id, &in);
	if (rc < 0)
		return rc;
	json_object_set_new(
	    o, "inventory",
	    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:s?,s:o,s:o}", "battery", amount(in.battery),
		      "capacity_gb", amount(in.capacity_gb), "available_gb",
		      amount(in.available_gb), "supervised", flag(in.supervised), "lost_mode",
		      flag(in.lost_mode), "passcode_present", flag(in.passcode_present),
		      "build_version", in.build_version[0] ? in.build_version : NULL, "enrolled_at",
		      api_fleet_time(in.enrolled_at), "inventory_at",
		      api_fleet_time(in.inventory_at)));
	return 0;
}

static void on_policy_device(const struct reconcile_device_view *d, void *arg)
{
	(void)d;
	(void)arg;
}

static void on_policy_item(const struct reconcile_item_view *it, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:s,s:s?}", "kind", it->kind, "name",
					     it->name, "identifier", it->identifier, "state",
					     it->state, "error", it->error[0] ? it->error : NULL));
}

/* ---- the tablet's DDM part ------------------------------------------------- */

static int ddm_item(const char *name, const char *value, int64_t at, void *arg)
{
	json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
	(void)at;
	json_object_set_new(arg, name, v ? v : json_string(value));
	return 0;
}

static int ddm_decl(const struct db_ddm_decl_state *d, int64_t at, void *arg)
{
	json_t *reasons = d->reasons && d->reasons[0] ? json_loads(d->reasons, 0, NULL) : NULL;
	json_array_append_new(
	    arg, json_pack("{s:s,s:s,s:s,s:b,s:s,s:o,s:o}", "kind", db_ddm_kind_name(d->kind),
			   "identifier", d->identifier, "server_token", d->server_token, "active",
			   d->active, "valid", d->valid, "reasons",
			   reasons ? reasons : json_array(), "reported_at", api_fleet_time(at)));
	return 0;
}

static int ddm_set(const struct db_ddm_set *set, void *arg)
{
	for (size_t i = 0; i < set->n; i++)
		json_array_append_new(arg, json_pack("{s:s,s:s,s:s}", "kind",
						     db_ddm_kind_name(set->refs[i].kind),
						     "identifier", set->refs[i].identifier,
						     "server_token", set->refs[i].server_token));
	return 0;
}

/* "ddm": whether DDM is on, its token and times, the status items the
 * tablet reported, its declarations' state as it reported them, and the
 * set of declarations Ardoise gives it. */
static int ddm_part(struct req *r, const struct db_device *d, json_t *o)
{
	struct db_ddm_state st;
	int rc = db_ddm_state_get(r->w->db, d->id, &st);
	if (rc == AP_ENOTFOUND) {
		memset(&st, 0, sizeof(st));
		rc = 0;
	}
	json_t *items = json_object(), *decls = json_array(), *set = json_array();
	if (rc == 0)
		rc = db_ddm_items(r->w->db, d->id, ddm_item, items);
	if (rc == 0)
		rc = db_ddm_decl_states(r->w->db, d->id, ddm_decl, decls);
	if (rc == 0)
		rc = db_ddm_sets_device(r->w->db, d->id, ddm_set, set);
	json_object_set_new(
	    o, "ddm",
	    json_pack("{s:b,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "enabled", st.enabled_at != 0,
		      "enabled_at", api_fleet_time(st.enabled_at), "token",
		      st.token[0] ? json_string(st.token) : json_null(), "token_version",
		      (json_int_t)st.token_version, "token_at", api_fleet_time(st.token_at),
		      "synced_at", api_fleet_time(st.synced_at), "status_at",
		      api_fleet_time(st.status_at), "items", items, "declarations", decls, "set",
		      set));
	return rc;
}

struct prof_name {
	int64_t id;
	char name[65];
};

static int prof_name(const struct db_ade_profile *p, void *arg)
{
	struct prof_name *n = arg;
	if (p->id != n->id)
		return 0;
	snprintf(n->name, sizeof(n->name), "%s", p->name);
	return 1;
}

/* What Apple School Manager says of the tablet (ade_device), the profile
 * Ardoise assigned and its state, and its enrolments through ADE; null
 * when ASM never gave this serial. */
static int ade_part(struct req *r, const struct db_device *d, json_t *o)
{
	struct db_ade_device a;
	struct prof_name pn = {0, ""};
	int rc = d->serial[0] ? db_ade_device_get(r->w->db, d->serial, &a) : AP_ENOTFOUND;
	if (rc == AP_ENOTFOUND) {
		json_object_set_new(o, "ade", json_null());
		return 0;
	}
	if (rc == 0 && (pn.id = a.profile_id) != 0)
		rc = db_ade_profile_list(r->w->db, prof_name, &pn);
	if (rc < 0)
		return rc;
	json_object_set_new(
	    o, "ade",
	    json_pack(
		"{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s?,s:s,s:s,s:o,s:o,s:o,s:o,s:o,"
		"s:o,s:s,s:o}",
		"assigned", a.removed_at == 0, "model", a.model, "description", a.description,
		"color", a.color, "asset_tag", a.asset_tag, "os", a.os, "device_family",
		a.device_family, "assigned_at", api_fleet_time(a.assigned_at), "assigned_by",
		a.assigned_by, "profile_status", a.profile_status, "profile_uuid", a.profile_uuid,
		"profile", pn.name[0] ? pn.name : NULL, "assign_state", a.assign_state,
		"assign_error", a.assign_error, "assign_after", api_fleet_time(a.assign_after),
		"removed_at", api_fleet_time(a.removed_at), "seen_at", api_fleet_time(a.seen_at),
		"enrolled_at", api_fleet_time(a.enrolled_at), "configured_at",
		api_fleet_time(a.configured_at), "refused_at", api_fleet_time(a.refused_at),
		"refusal", a.refusal, "op_date", api_fleet_time(a.op_date)));
	return 0;
}

static void show_device(struct req *r)
{
	struct db_device d;
	if (api_device_find(r, AZ_READ, api_param(r, 0), &d) < 0)
		return;
	json_t *o = api_device_json(&d);
	json_object_set_new(o, "product_name", json_string(d.product_name));
	json_object_set_new(o, "device_name", json_string(d.device_name));
	json_object_set_new(o, "created_at", api_fleet_time(d.created_at));
	json_t *policies = json_array();
	int rc = history(r, &d, o);
	if (rc == 0)
		rc = inventory(r, &d, o);
	if (rc == 0)
		rc = ddm_part(r, &d, o);
	if (rc == 0)
		rc = ade_part(r, &d, o);
	if (rc == 0)
		rc = reconcile_explain(r->w, d.id, on_policy_device, on_policy_item, policies);
	json_object_set_new(o, "policies", policies);
	json_object_set_new(o, "recent_commands", recent_commands(json_object_get(o, "commands")));
	if (rc < 0) {
		json_decref(o);
		api_dberr(r, rc, "reading the tablet's history");
		return;
	}
	api_json(r, 200, o);
}

static int school_exists(struct req *r, const char *uai)
{
	struct db_school s;
	int rc = db_school_get(r->w->db, uai, &s);
	if (rc == AP_ENOTFOUND)
		api_fail(r, rc, 404, "no collège %s (add it with 'school add' first)", uai);
	else if (rc < 0)
		api_dberr(r, rc, "reading the collège");
	return rc;
}

/* Why a device cannot be moved or retired now, or NULL. */
static const char *busy(const struct db_device *d)
{
	switch (d->state) {
	case DB_DEV_LOANED:
		return "is on loan: return it first";
	case DB_DEV_RETURNING:
		return "is being returned: its erase is not acknowledged yet";
	case DB_DEV_RETIRED:
		return "is retired";
	default:
		return NULL;
	}
}

static void move_device(struct req *r)
{
	struct db_device d;
	const char *to = NULL, *reason = NULL, *why;
	char uai[9];
	json_t *b = NULL;
	int rc;
	if (api_device_find(r, AZ_ADMIN, api_param(r, 0), &d) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "school", 32, 1, &to) < 0 ||
	    api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0 ||
	    api_fleet_uai(r, to, uai) < 0 || school_exists(r, uai) < 0)
		goto out;
	if ((why = busy(&d)) != NULL) {
		api_fail(r, AP_ECONFLICT, 409, "tablet %s %s", api_device_name(&d), why);
		goto out;
	}
	if (strcmp(d.school, uai) == 0) {
		api_fail(r, AP_ECONFLICT, 409, "tablet %s is already at collège %s",
			 api_device_name(&d), uai);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	rc = db_device_move(r->w->db, d.id, uai);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			api_fail(r, rc, 409, "tablet %s has a loan in progress",
				 api_device_name(&d));
		else
			api_dberr(r, rc, "moving the tablet");
		goto out;
	}
	json_t *det = json_pack("{s:s,s:s}", "from", d.school, "to", uai);
	rc = api_commit(r, "device.move", api_device_name(&d), reason, det);
	json_decref(det);
	/* the tablet now follows its new collège's apps and profiles */
	if (rc == 0 && reconcile_device(r->w, d.id, "move") < 0)
		log_warn("reconcile_failed", "id=%s device=%lld reason=move", r->id,
			 (long long)d.id);
	/* and its new collège's declarations (a new DeclarationsToken, pushed) */
	if (rc == 0 && ddm_recompute(r->w, NULL, d.id, "move", NULL) < 0)
		log_warn("ddm_recompute_failed", "id=%s device=%lld reason=move", r->id,
			 (long long)d.id);
	if (rc == 0 && db_device_get_id(r->w->db, d.id, &d) == 0)
		api_json(r, 200, api_device_json(&d));
	else if (rc == 0)
		api_json(r, 200, json_pack("{s:s}", "school", uai));
out:
	json_decref(b);
}

static void retire_device(struct req *r)
{
	struct db_device d;
	const char *reason = NULL, *why;
	json_t *b = NULL;
	int rc;
	if (api_device_find(r, AZ_ADMIN, api_param(r, 0), &d) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 0, &reason) < 0)
		goto out;
	why = busy(&d);
	if (why == NULL && d.state != DB_DEV_STOCK)
		why = "has an open incident: close it with the outcome written_off";
	if (why) {
		api_fail(r, AP_ECONFLICT, 409, "tablet %s %s", api_device_name(&d), why);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	rc = db_device_set_state(r->w->db, d.id, DB_DEV_STOCK, DB_DEV_RETIRED);
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "retiring the tablet");
		goto out;
	}
	if (api_commit(r, "device.retire", api_device_name(&d), reason, NULL) == 0) {
		d.state = DB_DEV_RETIRED;
		api_json(r, 200, api_device_json(&d));
		licence_sync_now(r->w, "retire"); /* its App Store licences go back to the pool */
	}
out:
	json_decref(b);
}

/* A technician's erase outside a loan return (a tablet found wiped of its
 * restrictions, a write-off before disposal...): audited with its reason,
 * the one way to send EraseDevice besides the return. */
static void erase_device(struct req *r)
{
	struct db_device d;
	const char *reason = NULL, *why;
	char uuid[37], detail[200] = "";
	int rts = 0;
	json_t *b = NULL;
	if (api_device_find(r, AZ_ERASE, api_param(r, 0), &d) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 1, &reason) < 0)
		goto out;
	why = strcmp(d.enrollment, "enrolled") != 0 ? "is not enrolled: nothing can reach it"
						    : busy(&d);
	if (why) {
		api_fail(r, AP_ECONFLICT, 409, "tablet %s %s", api_device_name(&d), why);
		goto out;
	}
	if (api_begin(r) < 0)
		goto out;
	int rc = api_queue_erase(r, &d, "staff", uuid, &rts, detail, sizeof(detail));
	if (rc < 0) {
		api_rollback(r);
		api_fail(r, rc, 0, "cannot queue EraseDevice for %s: %s", api_device_name(&d),
			 detail[0] ? detail : ap_strerror(rc));
		goto out;
	}
	json_t *det = json_pack("{s:s,s:b}", "command", uuid, "return_to_service", rts);
	if (api_commit(r, "device.erase", api_device_name(&d), reason, det) == 0)
		api_json(r, 201,
			 json_pack("{s:s,s:s,s:s,s:s,s:b}", "uuid", uuid, "type", "EraseDevice",
				   "status", "queued", "serial", api_device_name(&d),
				   "return_to_service", rts));
	json_decref(det);
out:
	json_decref(b);
}

/* POST /api/v1/devices/:serial/mark-erased: a return stuck "returning"
 * (its erase never acknowledged: never enrolled, lost, broken) closed by a
 * technician as erased, the tablet to stock (repair when it came back
 * damaged); audited with the reason. */
static void mark_erased(struct req *r)
{
	struct db_device d, now;
	struct db_loan l;
	const char *reason = NULL;
	json_t *b = NULL;
	int rc;
	if (api_device_find(r, AZ_ERASE, api_param(r, 0), &d) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 1, &reason) < 0 || api_begin(r) < 0)
		goto out;
	rc = db_loan_mark_erased(r->w->db, d.id, &l);
	if (rc == 0)
		rc = db_device_get_id(r->w->db, d.id, &now);
	if (rc < 0) {
		api_rollback(r);
		if (rc == AP_ENOTFOUND || rc == AP_ECONFLICT)
			api_refuse(r, AP_ECONFLICT, 409,
				   "tablet %s has no return waiting for its erase (it is %s): "
				   "nothing to mark erased",
				   api_device_name(&d), db_device_state_name(d.state));
		else
			api_dberr(r, rc, "closing the return");
		goto out;
	}
	json_t *det =
	    json_pack("{s:I,s:s,s:s,s:o}", "loan", (json_int_t)l.id, "state",
		      db_device_state_name(now.state), "condition", l.condition, "erase_command",
		      l.erase_command[0] ? json_string(l.erase_command) : json_null());
	if (api_commit(r, "device.mark_erased", api_device_name(&d), reason, det) == 0)
		api_json(r, 200, api_device_json(&now));
	json_decref(det);
out:
	json_decref(b);
}

/* "model" of the file is the model declared (device.model_declared): the
 * export writes model_declared before the tablet's own model, and the
 * first column a name matches is taken, so an export imports as it is. */
static const struct import_col device_cols[] = {
    {"serial",
     "N° de série|Numéro de série|N° série|Numéro série|No de série|Série|serial|serial number|"
     "SN",
     1},
    {"model", "Modèle|Modèle déclaré|model_declared|model|product name", 0},
    {"uai", IMPORT_UAI_NAMES, 1},
    {"asset_tag",
     "N° d'inventaire|Numéro d'inventaire|N° inventaire|Inventaire|Étiquette|asset tag|asset|"
     "tag",
     0},
};

struct device_import {
	struct api_import spec;
	char last_uai[9]; /* the last collège found, to look each up once */
};

/* Serial numbers: 4 to 32 letters and digits, stored in upper case. */
static int serial_norm(const char *in, char out[DB_SERIAL_MAX + 1])
{
	size_t n = strlen(in);
	if (n < 4 || n > DB_SERIAL_MAX)
		return AP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return AP_EINVAL;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Checks one row's fields; reports the first problem. */
static int device_fields(struct import *im, const char **v, size_t line, char *serial, char *uai)
{
	char why[200];
	int rc;
	if (serial_norm(v[0], serial) < 0) {
		import_error(im, line, "bad serial '%.40s': 4 to %d letters and digits", v[0],
			     DB_SERIAL_MAX);
		return AP_EINVAL;
	}
	if ((rc = db_school_uai_norm(v[2], uai)) < 0) {
		api_fleet_uai_why(v[2], rc, why, sizeof(why));
		import_error(im, line, "%s", why);
		return rc;
	}
	if (!ap_text_ok(v[1], DB_MODEL_MAX, 0) || !ap_text_ok(v[3], DB_ASSET_TAG_MAX, 0)) {
		import_error(im, line,
			     "model and asset tag: at most %d bytes of text each, on one line",
			     DB_MODEL_MAX);
		return AP_EINVAL;
	}
	return 0;
}

static int device_row(struct req *r, struct import *im, const char **v, size_t line, void *ctx)
{
	struct device_import *di = ctx;
	struct db_school s;
	char serial[DB_SERIAL_MAX + 1], uai[9];
	size_t first;
	int created, rc;
	if (device_fields(im, v, line, serial, uai) < 0)
		return 0;
	if ((rc = import_seen(im, serial, line, &first)) < 0)
		return rc;
	if (rc == 1) {
		import_error(im, line, "serial %s is already on line %zu", serial, first);
		return 0;
	}
	if (strcmp(uai, di->last_uai) != 0) {
		rc = db_school_get(r->w->db, uai, &s);
		if (rc == AP_ENOTFOUND) {
			import_error(im, line, "unknown collège %s (import the collèges first)",
				     uai);
			return 0;
		}
		if (rc < 0)
			return rc;
		memcpy(di->last_uai, uai, sizeof(uai));
	}
	rc = db_device_import(r->w->db, serial, v[1], uai, v[3], &created);
	if (rc == AP_ECONFLICT) {
		struct db_device d;
		rc = db_device_get(r->w->db, serial, &d);
		if (rc < 0)
			return rc;
		import_error(im, line, "serial %s is at collège %s, not %s (use 'device move')",
			     serial, d.school, uai);
		return 0;
	}
	return api_import_counted(&di->spec, rc, created);
}

static void import_devices(struct req *r)
{
	struct device_import di = {{"device.import", device_cols,
				    sizeof(device_cols) / sizeof(device_cols[0]), device_row, NULL},
				   ""};
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	di.spec.ctx = &di;
	api_fleet_import(r, &di.spec);
}

/* Ends the tablet's certificate binding (db_mdm_release): a tablet that
 * cannot re-bind by itself (a certificate of another device CA, an
 * identity lost otherwise) enrols afresh.  Technicians, with a reason. */
static void release_device(struct req *r)
{
	struct db_device d;
	const char *reason = NULL;
	json_t *b = NULL;
	int rc;
	if (api_device_find(r, AZ_ADMIN, api_param(r, 0), &d) < 0 || (b = api_body(r)) == NULL)
		return;
	if (api_field_str(r, b, "reason", API_REASON_MAX, 1, &reason) < 0 || api_begin(r) < 0)
		goto out;
	if ((rc = db_mdm_release(r->w->db, d.id)) < 0) {
		api_rollback(r);
		if (rc == AP_ECONFLICT)
			api_fail(r, rc, 409,
				 "tablet %s has no certificate bound (never enrolled, or released)",
				 api_device_name(&d));
		else
			api_dberr(r, rc, "releasing the tablet's certificate");
		goto out;
	}
	json_t *det = json_pack("{s:s}", "enrollment", d.enrollment);
	rc = api_commit(r, "device.release", api_device_name(&d), reason, det);
	json_decref(det);
	if (rc == 0 && db_device_get_id(r->w->db, d.id, &d) == 0)
		api_json(r, 200, api_device_json(&d));
	else if (rc == 0)
		api_json(r, 200, json_pack("{s:s}", "enrollment", "unenrolled"));
out:
	json_decref(b);
}

const struct route api_device_routes[] = {
    {"GET", "/api/v1/devices", AUTH_STAFF, list_devices},
    {"POST", "/api/v1/devices/import", AUTH_STAFF, import_devices},
    {"GET", "/api/v1/devices/:serial", AUTH_STAFF, show_device},
    {"POST", "/api/v1/devices/:serial/move", AUTH_STAFF, move_device},
    {"POST", "/api/v1/devices/:serial/retire", AUTH_STAFF, retire_device},
    {"POST", "/api/v1/devices/:serial/erase", AUTH_STAFF, erase_device},
    {"POST", "/api/v1/devices/:serial/release", AUTH_STAFF, release_device},
    {"POST", "/api/v1/devices/:serial/mark-erased", AUTH_STAFF, mark_erased},
    {NULL, NULL, AUTH_NONE, NULL},
};
