/* db_loan.c - loans, returns, and the erase that closes them. */
#include "db_int.h"
#include "db_loan.h"
#include "db_audit.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
    [DB_LOAN_OPEN] = "open",
    [DB_LOAN_RETURNING] = "returning",
    [DB_LOAN_CLOSED] = "closed",
};

const char *db_loan_state_name(enum db_loan_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

static int loan_state_from_name(const char *name, enum db_loan_state *ret)
{
	for (int i = 0; i < 3; i++) {
		if (name && strcmp(name, state_names[i]) == 0) {
			*ret = (enum db_loan_state)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

struct create_args {
	int64_t device_id, person_id, due_at, id;
	const char *school, *actor;
	int home_use;
};

static int create_tx(struct db *db, void *arg)
{
	struct create_args *a = arg;
	sqlite3_stmt *st;
	int rc = db_device_set_state(db, a->device_id, DB_DEV_STOCK, DB_DEV_LOANED);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "INSERT INTO loan(device_id, person_id, school, home_use, started_at,"
		     " due_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->device_id);
	sqlite3_bind_int64(st, 2, a->person_id);
	db_bind_text(st, 3, a->school);
	sqlite3_bind_int(st, 4, a->home_use != 0);
	sqlite3_bind_int64(st, 5, db_now());
	if (a->due_at > 0)
		sqlite3_bind_int64(st, 6, a->due_at);
	db_bind_text(st, 7, a->actor);
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		a->id = sqlite3_last_insert_rowid(db->h);
	return rc == AP_EEXIST ? AP_ECONFLICT : rc;
}

int db_loan_create(struct db *db, int64_t device_id, int64_t person_id, const char *school,
		   int home_use, int64_t due_at, const char *actor, int64_t *ret_id)
{
	struct create_args a = {device_id, person_id, due_at, 0, school, actor, home_use};
	int rc = db_in_tx(db, create_tx, &a);
	if (rc == 0)
		*ret_id = a.id;
	return rc;
}

#define LOAN_COLS                                                                         \
	"SELECT l.id, l.device_id, d.serial, d.asset_tag, l.person_id, p.ext_id, p.name," \
	" p.kind, p.class, l.school, l.state, l.home_use, l.started_at, l.due_at,"        \
	" l.returned_at, l.closed_at, l.condition, l.end_reason, l.erase_command,"        \
	" l.created_by, l.returned_by, l.deposited_at, l.overdue_at, l.flag"              \
	" FROM loan l JOIN device d ON d.id = l.device_id"                                \
	" JOIN person p ON p.id = l.person_id "

static void row_to_loan(sqlite3_stmt *st, struct db_loan *l)
{
	l->id = sqlite3_column_int64(st, 0);
	l->device_id = sqlite3_column_int64(st, 1);
	db_col_copy(st, 2, l->serial, sizeof(l->serial));
	db_col_copy(st, 3, l->asset_tag, sizeof(l->asset_tag));
	l->person_id = sqlite3_column_int64(st, 4);
	db_col_copy(st, 5, l->person, sizeof(l->person));
	db_col_copy(st, 6, l->person_name, sizeof(l->person_name));
	if (db_person_kind_from_name((const char *)sqlite3_column_text(st, 7), &l->kind) < 0)
		l->kind = DB_PERSON_PUPIL; /* CHECK constraint: unreachable */
	db_col_copy(st, 8, l->class_name, sizeof(l->class_name));
	db_col_copy(st, 9, l->school, sizeof(l->school));
	if (loan_state_from_name((const char *)sqlite3_column_text(st, 10), &l->state) < 0)
		l->state = DB_LOAN_CLOSED;
	l->home_use = sqlite3_column_int(st, 11);
	l->started_at = sqlite3_column_int64(st, 12);
	l->due_at = sqlite3_column_int64(st, 13);
	l->returned_at = sqlite3_column_int64(st, 14);
	l->closed_at = sqlite3_column_int64(st, 15);
	db_col_copy(st, 16, l->condition, sizeof(l->condition));
	db_col_copy(st, 17, l->end_reason, sizeof(l->end_reason));
	db_col_copy(st, 18, l->erase_command, sizeof(l->erase_command));
	db_col_copy(st, 19, l->created_by, sizeof(l->created_by));
	db_col_copy(st, 20, l->returned_by, sizeof(l->returned_by));
	l->deposited_at = sqlite3_column_int64(st, 21);
	l->overdue_at = sqlite3_column_int64(st, 22);
	db_col_copy(st, 23, l->flag, sizeof(l->flag));
}

static int one_loan(struct db *db, sqlite3_stmt *st, struct db_loan *ret)
{
	int rc = db_step_row(db, st);
	if (rc == 0)
		row_to_loan(st, ret);
	db_done(st);
	return rc;
}

int db_loan_active(struct db *db, int64_t device_id, struct db_loan *ret)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, LOAN_COLS "WHERE l.device_id = ? AND l.state IN ('open','returning')", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	return one_loan(db, st, ret);
}

int db_loan_get(struct db *db, int64_t id, struct db_loan *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, LOAN_COLS "WHERE l.id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	return one_loan(db, st, ret);
}

struct return_args {
	int64_t loan_id;
	const char *condition, *actor;
};

static int return_tx(struct db *db, void *arg)
{
	struct return_args *a = arg;
	struct db_loan l;
	sqlite3_stmt *st;
	int rc = db_loan_get(db, a->loan_id, &l);
	if (rc < 0)
		return rc;
	if (l.state != DB_LOAN_OPEN)
		return AP_ECONFLICT;
	rc = db_device_set_state(db, l.device_id, DB_DEV_LOANED, DB_DEV_RETURNING);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE loan SET state = 'returning', returned_at = ?2, condition = ?3,"
		     " returned_by = ?4 WHERE id = ?1 AND state = 'open'",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->loan_id);
	sqlite3_bind_int64(st, 2, db_now());
	db_bind_text(st, 3, a->condition);
	db_bind_text(st, 4, a->actor);
	return db_step_done(db, st, AP_ECONFLICT);
}

int db_loan_return(struct db *db, int64_t loan_id, const char *condition, const char *actor)
{
	struct return_args a = {loan_id, condition, actor};
	if (condition == NULL ||
	    (strcmp(condition, "ok") != 0 && strcmp(condition, "damaged") != 0))
		return AP_EINVAL;
	return db_in_tx(db, return_tx, &a);
}

int db_loan_set_erase_command(struct db *db, int64_t loan_id, const char *uuid)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "UPDATE loan SET erase_command = ?2 WHERE id = ?1 AND state = 'returning'", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, loan_id);
	db_bind_text(st, 2, uuid);
	return db_step_done(db, st, AP_ECONFLICT);
}

/* Closes loan id (which must be in `from`) with end_reason. */
static int close_loan(struct db *db, int64_t id, const char *from, const char *end_reason)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE loan SET state = 'closed', closed_at = ?2, end_reason = ?3"
			 " WHERE id = ?1 AND state = ?4",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, db_now());
	db_bind_text(st, 3, end_reason);
	db_bind_text(st, 4, from);
	return db_step_done(db, st, AP_ECONFLICT);
}

/* The device of loan l, erased: from returning to stock, or to repair
 * when it came back damaged; left where an incident put it.  *ret_to: its
 * state after. */
static int device_after_erase(struct db *db, const struct db_loan *l, enum db_device_state *ret_to)
{
	struct db_device d;
	int rc = db_device_get_id(db, l->device_id, &d);
	if (rc < 0)
		return rc;
	enum db_device_state to = d.state;
	if (d.state == DB_DEV_RETURNING) {
		to = strcmp(l->condition, "damaged") == 0 ? DB_DEV_REPAIR : DB_DEV_STOCK;
		rc = db_device_set_state(db, l->device_id, DB_DEV_RETURNING, to);
		if (rc < 0)
			return rc;
	}
	*ret_to = to;
	return 0;
}

static int erased_tx(struct db *db, void *arg)
{
	int64_t device_id = *(int64_t *)arg;
	enum db_device_state to;
	struct db_loan l;
	char detail[64];
	int rc = db_loan_active(db, device_id, &l);
	if (rc == 0 && l.state != DB_LOAN_RETURNING)
		rc = AP_ENOTFOUND;
	if (rc < 0)
		return rc;
	rc = close_loan(db, l.id, "returning", "erased");
	if (rc < 0)
		return rc;
	rc = device_after_erase(db, &l, &to);
	if (rc < 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"loan\":%lld,\"state\":\"%s\"}", (long long)l.id,
		 db_device_state_name(to));
	return db_audit_append(db, "system", "loan.erased", l.serial, "", detail);
}

int db_loan_erase_acknowledged(struct db *db, int64_t device_id)
{
	struct db_loan l;
	/* decided before any transaction: a nested rollback would doom the
	 * caller's (the device report's) transaction for a mere "no loan" */
	int rc = db_loan_active(db, device_id, &l);
	if (rc == 0 && l.state != DB_LOAN_RETURNING)
		rc = AP_ENOTFOUND;
	if (rc < 0)
		return rc;
	return db_in_tx(db, erased_tx, &device_id);
}

struct mark_args {
	int64_t device_id;
	struct db_loan l;
};

static int mark_erased_tx(struct db *db, void *arg)
{
	struct mark_args *a = arg;
	enum db_device_state to;
	int rc = db_loan_active(db, a->device_id, &a->l);
	if (rc == 0 && a->l.state != DB_LOAN_RETURNING)
		rc = AP_ECONFLICT;
	if (rc == 0)
		rc = close_loan(db, a->l.id, "returning", "erased");
	if (rc == 0)
		rc = device_after_erase(db, &a->l, &to);
	return rc;
}

int db_loan_mark_erased(struct db *db, int64_t device_id, struct db_loan *ret_loan)
{
	struct mark_args a = {.device_id = device_id};
	int rc = db_in_tx(db, mark_erased_tx, &a);
	if (rc == 0)
		*ret_loan = a.l;
	return rc;
}

int db_loan_deposit(struct db *db, int64_t loan_id, int deposit)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE loan SET deposited_at = CASE WHEN ?2 THEN ?3 END"
			 " WHERE id = ?1 AND state = 'open' AND (deposited_at IS NULL) = ?2",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, loan_id);
	sqlite3_bind_int(st, 2, deposit != 0);
	sqlite3_bind_int64(st, 3, db_now());
	return db_step_done(db, st, AP_ECONFLICT);
}

int db_loan_update(struct db *db, int64_t loan_id, int home_use, int64_t due_at)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE loan SET home_use = CASE WHEN ?2 < 0 THEN home_use ELSE ?2 END,"
			 " due_at = CASE WHEN ?3 < 0 THEN due_at WHEN ?3 = 0 THEN NULL ELSE ?3 END,"
			 " overdue_at = CASE WHEN ?3 < 0 THEN overdue_at END, flag = ''"
			 " WHERE id = ?1 AND state = 'open'",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, loan_id);
	sqlite3_bind_int(st, 2, home_use < 0 ? -1 : home_use != 0);
	sqlite3_bind_int64(st, 3, due_at);
	return db_step_done(db, st, AP_ECONFLICT);
}

int db_loan_open_count(struct db *db, int64_t person_id, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "SELECT count(*) FROM loan WHERE person_id = ? AND state = 'open'", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, person_id);
	return db_step_int64(db, st, ret);
}

#define OVERDUE_BATCH 64

/* Marks up to OVERDUE_BATCH loans overdue before today; *ret_n: how many. */
static int overdue_batch(struct db *db, int64_t today, int64_t *ret_n)
{
	struct {
		int64_t id;
		char serial[DB_SERIAL_MAX + 1];
	} batch[OVERDUE_BATCH];
	char detail[48];
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_stmt(db,
			 "SELECT l.id, d.serial FROM loan l JOIN device d ON d.id = l.device_id"
			 " WHERE l.state = 'open' AND l.overdue_at IS NULL"
			 " AND l.deposited_at IS NULL AND l.due_at < ?1 ORDER BY l.id LIMIT ?2",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, today);
	sqlite3_bind_int(st, 2, OVERDUE_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < OVERDUE_BATCH) {
		batch[n].id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, batch[n].serial, sizeof(batch[n].serial));
		n++;
	}
	rc = db_rows_done(db, st, rc);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		rc = db_stamp(db, "UPDATE loan SET overdue_at = ?1 WHERE id = ?2", batch[i].id);
		snprintf(detail, sizeof(detail), "{\"loan\":%lld}", (long long)batch[i].id);
		if (rc == 0)
			rc = db_audit_append(db, "system", "loan.overdue", batch[i].serial, "",
					     detail);
	}
	if (rc == 0)
		*ret_n = n;
	return rc;
}

static int overdue_tx(struct db *db, void *arg)
{
	int64_t *io = arg; /* in: today; out: how many */
	int64_t total = 0, n;
	int rc;
	do {
		rc = overdue_batch(db, *io, &n);
		total += rc == 0 ? n : 0;
	} while (rc == 0 && n == OVERDUE_BATCH);
	if (rc == 0)
		*io = total;
	return rc;
}

int db_loan_mark_overdue(struct db *db, int64_t today, int64_t *ret_n)
{
	int64_t io = today;
	int rc = db_in_tx(db, overdue_tx, &io);
	if (rc == 0)
		*ret_n = io;
	return rc;
}

int db_loan_close_written_off(struct db *db, int64_t loan_id)
{
	struct db_loan l;
	int rc = db_loan_get(db, loan_id, &l);
	if (rc < 0)
		return rc;
	if (l.state == DB_LOAN_CLOSED)
		return AP_ECONFLICT;
	return close_loan(db, loan_id, db_loan_state_name(l.state), "written_off");
}

int db_loan_list(struct db *db, const struct db_loan_filter *f,
		 int (*fn)(const struct db_loan *l, void *arg), void *arg, int64_t *ret_next)
{
	sqlite3_stmt *st;
	struct db_page pg = {.limit = f->limit};
	int rc = db_stmt_scoped(
	    db,
	    LOAN_COLS "WHERE (?1 IS NULL OR l.school IN (SELECT value FROM json_each(?1)))"
		      " AND (CASE ?2 WHEN -2 THEN 1 WHEN -1 THEN l.state IN ('open','returning')"
		      " ELSE l.state = ?3 END)"
		      " AND (?4 IS NULL OR (l.state = 'open' AND l.due_at < ?4"
		      " AND l.deposited_at IS NULL))"
		      " AND (?5 IS NULL OR l.device_id = ?5) AND (?6 IS NULL OR l.person_id = ?6)"
		      " AND l.id > ?7 ORDER BY l.id LIMIT ?8",
	    f->only, f->n_only, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st, 2, f->state < 0 ? f->state : 0);
	db_bind_text(st, 3, f->state >= 0 ? db_loan_state_name((enum db_loan_state)f->state) : "");
	if (f->overdue_before > 0)
		sqlite3_bind_int64(st, 4, f->overdue_before);
	if (f->device_id > 0)
		sqlite3_bind_int64(st, 5, f->device_id);
	if (f->person_id > 0)
		sqlite3_bind_int64(st, 6, f->person_id);
	sqlite3_bind_int64(st, 7, f->after_id);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)f->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_loan l;
		row_to_loan(st, &l);
		if (!db_page_take(&pg, l.id) || fn(&l, arg))
			break;
	}
	return db_page_done(db, st, rc, &pg, ret_next);
}

int db_loan_campaign(struct db *db, const char *school, const char *class_name, int64_t by,
		     int (*fn)(const struct db_loan *l, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 LOAN_COLS "WHERE l.school = ?1 AND p.kind = 'pupil' AND l.state = 'open'"
				   " AND d.state = 'loaned' AND l.started_at < ?2"
				   " AND (?3 IS NULL OR p.class = ?3)"
				   " ORDER BY p.class, p.name, l.id",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school);
	sqlite3_bind_int64(st, 2, by);
	db_bind_text(st, 3, class_name);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_loan l;
		row_to_loan(st, &l);
		if (fn(&l, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}
