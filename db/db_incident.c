/* db_incident.c - incidents and the device states they imply. */
#include "db_int.h"
#include "db_incident.h"
#include "db_loan.h"
#include "ap_err.h"

#include <string.h>

static const char *const kind_names[] = {
    [DB_INC_LOSS] = "loss",
    [DB_INC_THEFT] = "theft",
    [DB_INC_DAMAGE] = "damage",
    [DB_INC_FAILURE] = "failure",
};

static const char *const outcome_names[] = {
    [DB_INC_FOUND] = "found",
    [DB_INC_REPAIRED] = "repaired",
    [DB_INC_WRITTEN_OFF] = "written_off",
};

#define NKINDS	  (sizeof(kind_names) / sizeof(kind_names[0]))
#define NOUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

const char *db_incident_kind_name(enum db_incident_kind k)
{
	return (unsigned)k < NKINDS ? kind_names[k] : "?";
}

int db_incident_kind_from_name(const char *name, enum db_incident_kind *ret)
{
	for (size_t i = 0; i < NKINDS; i++) {
		if (name && strcmp(name, kind_names[i]) == 0) {
			*ret = (enum db_incident_kind)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

const char *db_incident_outcome_name(enum db_incident_outcome o)
{
	return (unsigned)o < NOUTCOMES ? outcome_names[o] : "?";
}

int db_incident_outcome_from_name(const char *name, enum db_incident_outcome *ret)
{
	for (size_t i = 0; i < NOUTCOMES; i++) {
		if (name && strcmp(name, outcome_names[i]) == 0) {
			*ret = (enum db_incident_outcome)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

enum db_device_state db_incident_state(enum db_incident_kind k)
{
	switch (k) {
	case DB_INC_LOSS:
		return DB_DEV_LOST;
	case DB_INC_THEFT:
		return DB_DEV_STOLEN;
	default:
		return DB_DEV_REPAIR;
	}
}

int db_incident_outcome_fits(enum db_incident_kind k, enum db_incident_outcome o)
{
	if (o == DB_INC_WRITTEN_OFF)
		return 1;
	if (o == DB_INC_FOUND)
		return k == DB_INC_LOSS || k == DB_INC_THEFT;
	return k == DB_INC_DAMAGE || k == DB_INC_FAILURE;
}

#define STR(x)	 #x
#define XSTR(x)	 STR(x)
#define LATE_SQL XSTR(DB_INCIDENT_LATE_SECONDS)

static int cost_ok(int has_cost, int64_t cents)
{
	return !has_cost || (cents >= 0 && cents <= DB_INCIDENT_COST_MAX);
}

static int late(int64_t occurred_at, int64_t reported_at)
{
	return reported_at - occurred_at > DB_INCIDENT_LATE_SECONDS;
}

struct declare_args {
	const struct db_incident_decl *d;
	int64_t reported_at, id;
};

static int insert_incident(struct db *db, struct declare_args *a, const struct db_device *dev,
			   int64_t loan_id)
{
	const struct db_incident_decl *d = a->d;
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO incident(device_id, school, loan_id, kind, occurred_at,"
			 " declared_at, late, police_ref, note, prev_state, declared_by,"
			 " reported_at, complaint_at, cost_cents, reimburse)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, d->device_id);
	db_bind_text(st, 2, dev->school[0] ? dev->school : NULL);
	if (loan_id)
		sqlite3_bind_int64(st, 3, loan_id);
	db_bind_text(st, 4, kind_names[d->kind]);
	sqlite3_bind_int64(st, 5, d->occurred_at);
	sqlite3_bind_int64(st, 6, db_now());
	sqlite3_bind_int(st, 7, late(d->occurred_at, a->reported_at));
	db_bind_text(st, 8, d->police_ref ? d->police_ref : "");
	db_bind_text(st, 9, d->note ? d->note : "");
	db_bind_text(st, 10, db_device_state_name(dev->state));
	db_bind_text(st, 11, d->actor);
	sqlite3_bind_int64(st, 12, a->reported_at);
	if (d->complaint_at)
		sqlite3_bind_int64(st, 13, d->complaint_at);
	if (d->has_cost)
		sqlite3_bind_int64(st, 14, d->cost_cents);
	sqlite3_bind_int(st, 15, d->reimburse != 0);
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		a->id = sqlite3_last_insert_rowid(db->h);
	return rc == AP_EEXIST ? AP_ECONFLICT : rc; /* unique index: one open */
}

static int declare_tx(struct db *db, void *arg)
{
	struct declare_args *a = arg;
	struct db_device d;
	struct db_loan l;
	int64_t loan_id = 0;
	int rc = db_device_get_id(db, a->d->device_id, &d);
	if (rc < 0)
		return rc;
	rc = db_loan_active(db, a->d->device_id, &l);
	if (rc == 0)
		loan_id = l.id;
	else if (rc != AP_ENOTFOUND)
		return rc;
	rc = insert_incident(db, a, &d, loan_id);
	if (rc < 0)
		return rc;
	return db_device_set_state(db, a->d->device_id, d.state, db_incident_state(a->d->kind));
}

int db_incident_declare_with(struct db *db, const struct db_incident_decl *d, int64_t *ret_id)
{
	struct declare_args a = {d, d->reported_at ? d->reported_at : db_now(), 0};
	if ((unsigned)d->kind >= NKINDS || a.reported_at < d->occurred_at ||
	    !cost_ok(d->has_cost, d->cost_cents))
		return AP_EINVAL;
	int rc = db_in_tx(db, declare_tx, &a);
	if (rc == 0)
		*ret_id = a.id;
	return rc;
}

int db_incident_declare(struct db *db, int64_t device_id, enum db_incident_kind kind,
			int64_t occurred_at, const char *police_ref, const char *note,
			const char *actor, int64_t *ret_id)
{
	struct db_incident_decl d = {.device_id = device_id,
				     .kind = kind,
				     .occurred_at = occurred_at,
				     .reported_at = db_now(),
				     .police_ref = police_ref,
				     .note = note,
				     .actor = actor};
	if (d.reported_at < occurred_at) /* an event a little ahead of the clock */
		d.reported_at = occurred_at;
	return db_incident_declare_with(db, &d, ret_id);
}

/* Each part of a change is one statement over the columns it names, with
 * ?1 the incident and ?2 the value. */
static int set_column(struct db *db, const char *sql, int64_t id, int64_t v, const char *text,
		      int null)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (text)
		db_bind_text(st, 2, text);
	else if (!null)
		sqlite3_bind_int64(st, 2, v);
	return db_step_done(db, st, 0);
}

struct update_args {
	int64_t id;
	const struct db_incident_change *c;
};

static int update_tx(struct db *db, void *arg)
{
	struct update_args *a = arg;
	const struct db_incident_change *c = a->c;
	struct db_incident in;
	int rc = db_incident_get(db, a->id, &in);
	if (rc < 0)
		return rc;
	if (c->set_reported_at && c->reported_at < in.occurred_at)
		return AP_EINVAL;
	if (rc == 0 && c->set_police_ref)
		rc = set_column(db, "UPDATE incident SET police_ref = ?2 WHERE id = ?1", a->id, 0,
				c->police_ref, 0);
	if (rc == 0 && c->set_complaint_at)
		rc = set_column(db, "UPDATE incident SET complaint_at = ?2 WHERE id = ?1", a->id,
				c->complaint_at, NULL, c->complaint_at == 0);
	if (rc == 0 && c->set_reported_at)
		rc = set_column(db,
				"UPDATE incident SET reported_at = ?2,"
				" late = ?2 - occurred_at > " LATE_SQL " WHERE id = ?1",
				a->id, c->reported_at, NULL, 0);
	if (rc == 0 && c->set_cost)
		rc = set_column(db, "UPDATE incident SET cost_cents = ?2 WHERE id = ?1", a->id,
				c->cost_cents, NULL, !c->has_cost);
	if (rc == 0 && c->set_reimburse)
		rc = set_column(db, "UPDATE incident SET reimburse = ?2 WHERE id = ?1", a->id,
				c->reimburse != 0, NULL, 0);
	return rc;
}

int db_incident_update(struct db *db, int64_t id, const struct db_incident_change *c)
{
	struct update_args a = {id, c};
	if ((c->set_police_ref && (c->police_ref == NULL || c->police_ref[0] == '\0')) ||
	    (c->set_cost && !cost_ok(c->has_cost, c->cost_cents)))
		return AP_EINVAL;
	return db_in_tx(db, update_tx, &a);
}

struct close_args {
	int64_t id;
	enum db_incident_outcome outcome;
	const char *note, *actor;
};

/* Where the device goes when the incident ends. */
static int device_after(struct db *db, const struct db_incident *in,
			enum db_incident_outcome outcome, enum db_device_state *ret)
{
	struct db_loan l;
	int rc = db_loan_active(db, in->device_id, &l);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	if (outcome == DB_INC_WRITTEN_OFF) {
		if (rc == 0 && (rc = db_loan_close_written_off(db, l.id)) < 0)
			return rc;
		*ret = DB_DEV_RETIRED;
	} else if (rc == AP_ENOTFOUND) {
		*ret = DB_DEV_STOCK;
	} else {
		*ret = l.state == DB_LOAN_OPEN ? DB_DEV_LOANED : DB_DEV_RETURNING;
	}
	return 0;
}

static int close_tx(struct db *db, void *arg)
{
	struct close_args *a = arg;
	struct db_incident in;
	enum db_device_state to;
	sqlite3_stmt *st;
	int rc = db_incident_get(db, a->id, &in);
	if (rc < 0)
		return rc;
	if (!in.open)
		return AP_ECONFLICT;
	if (!db_incident_outcome_fits(in.kind, a->outcome))
		return AP_EINVAL;
	rc = device_after(db, &in, a->outcome, &to);
	if (rc < 0)
		return rc;
	rc = db_device_set_state(db, in.device_id, db_incident_state(in.kind), to);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE incident SET status = 'closed', outcome = ?2, close_note = ?3,"
		     " closed_at = ?4, closed_by = ?5 WHERE id = ?1 AND status = 'open'",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->id);
	db_bind_text(st, 2, outcome_names[a->outcome]);
	db_bind_text(st, 3, a->note ? a->note : "");
	sqlite3_bind_int64(st, 4, db_now());
	db_bind_text(st, 5, a->actor);
	return db_step_done(db, st, AP_ECONFLICT);
}

int db_incident_close(struct db *db, int64_t id, enum db_incident_outcome outcome, const char *note,
		      const char *actor)
{
	struct close_args a = {id, outcome, note, actor};
	if ((unsigned)outcome >= NOUTCOMES)
		return AP_EINVAL;
	return db_in_tx(db, close_tx, &a);
}

/* A theft whose complaint (reference and day) is not recorded; one
 * declared before reported_at existed had its reference by rule. */
#define COMPLAINT_MISSING                                                     \
	"(i.kind = 'theft' AND (i.police_ref = '' OR (i.complaint_at IS NULL" \
	" AND i.reported_at IS NOT NULL)))"

#define INCIDENT_COLS                                                                    \
	"SELECT i.id, i.device_id, coalesce(d.serial, d.udid), i.school, i.loan_id,"     \
	" p.ext_id, i.kind, i.occurred_at, i.declared_at, i.late, i.police_ref, i.note," \
	" i.prev_state, i.status, i.outcome, i.close_note, i.closed_at, i.declared_by,"  \
	" i.closed_by, coalesce(i.reported_at, 0), coalesce(i.complaint_at, 0),"         \
	" i.cost_cents IS NOT NULL, coalesce(i.cost_cents, 0), i.reimburse,"             \
	" " COMPLAINT_MISSING ", coalesce(i.reported_at, i.declared_at)"                 \
	" FROM incident i JOIN device d ON d.id = i.device_id"                           \
	" LEFT JOIN loan l ON l.id = i.loan_id LEFT JOIN person p ON p.id = l.person_id "

static void row_to_incident(sqlite3_stmt *st, struct db_incident *in)
{
	in->id = sqlite3_column_int64(st, 0);
	in->device_id = sqlite3_column_int64(st, 1);
	db_col_copy(st, 2, in->serial, sizeof(in->serial));
	db_col_copy(st, 3, in->school, sizeof(in->school));
	in->loan_id = sqlite3_column_int64(st, 4);
	db_col_copy(st, 5, in->holder, sizeof(in->holder));
	if (db_incident_kind_from_name((const char *)sqlite3_column_text(st, 6), &in->kind) < 0)
		in->kind = DB_INC_FAILURE; /* CHECK constraint: unreachable */
	in->occurred_at = sqlite3_column_int64(st, 7);
	in->declared_at = sqlite3_column_int64(st, 8);
	in->late = sqlite3_column_int(st, 9);
	db_col_copy(st, 10, in->police_ref, sizeof(in->police_ref));
	db_col_copy(st, 11, in->note, sizeof(in->note));
	db_col_copy(st, 12, in->prev_state, sizeof(in->prev_state));
	in->open = strcmp((const char *)sqlite3_column_text(st, 13), "open") == 0;
	db_col_copy(st, 14, in->outcome, sizeof(in->outcome));
	db_col_copy(st, 15, in->close_note, sizeof(in->close_note));
	in->closed_at = sqlite3_column_int64(st, 16);
	db_col_copy(st, 17, in->declared_by, sizeof(in->declared_by));
	db_col_copy(st, 18, in->closed_by, sizeof(in->closed_by));
	in->reported_at = sqlite3_column_int64(st, 19);
	in->complaint_at = sqlite3_column_int64(st, 20);
	in->has_cost = sqlite3_column_int(st, 21);
	in->cost_cents = sqlite3_column_int64(st, 22);
	in->reimburse = sqlite3_column_int(st, 23);
	in->complaint_missing = sqlite3_column_int(st, 24);
	in->complaint_overdue = in->complaint_missing &&
				db_now() - sqlite3_column_int64(st, 25) > DB_INCIDENT_LATE_SECONDS;
}

int db_incident_get(struct db *db, int64_t id, struct db_incident *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, INCIDENT_COLS "WHERE i.id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0)
		row_to_incident(st, ret);
	db_done(st);
	return rc;
}

int db_incident_list(struct db *db, const struct db_incident_filter *f,
		     int (*fn)(const struct db_incident *in, void *arg), void *arg,
		     int64_t *ret_next)
{
	sqlite3_stmt *st;
	struct db_page pg = {.limit = f->limit};
	int rc = db_stmt_scoped(
	    db,
	    INCIDENT_COLS "WHERE (?1 IS NULL OR i.school IN (SELECT value FROM json_each(?1)))"
			  " AND (?2 = 0 OR i.status = 'open') AND (?3 IS NULL OR i.device_id = ?3)"
			  " AND (?6 = 0 OR " COMPLAINT_MISSING ")"
			  " AND i.id > ?4 ORDER BY i.id LIMIT ?5",
	    f->only, f->n_only, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st, 2, f->open_only != 0);
	if (f->device_id > 0)
		sqlite3_bind_int64(st, 3, f->device_id);
	sqlite3_bind_int64(st, 4, f->after_id);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)f->limit + 1);
	sqlite3_bind_int(st, 6, f->complaint_missing != 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_incident in;
		row_to_incident(st, &in);
		if (!db_page_take(&pg, in.id) || fn(&in, arg))
			break;
	}
	return db_page_done(db, st, rc, &pg, ret_next);
}
