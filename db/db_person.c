/* db_person.c - pupils and teachers. */
#include "db_int.h"
#include "db_person.h"
#include "ap_err.h"

#include <string.h>

static const char *const kind_names[] = {
    [DB_PERSON_PUPIL] = "pupil",
    [DB_PERSON_TEACHER] = "teacher",
};

const char *db_person_kind_name(enum db_person_kind k)
{
	return (unsigned)k < 2 ? kind_names[k] : "?";
}

int db_person_kind_from_name(const char *name, enum db_person_kind *ret)
{
	for (int i = 0; i < 2; i++) {
		if (name && strcmp(name, kind_names[i]) == 0) {
			*ret = (enum db_person_kind)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

static void bind_opt_time(sqlite3_stmt *st, int idx, int64_t t)
{
	if (t > 0)
		sqlite3_bind_int64(st, idx, t);
	else
		sqlite3_bind_null(st, idx);
}

/* Binds ?2..?7 (kind, name, class, school, agreement, now), which an
 * insert and an update share, then steps st. */
static int step_fields(struct db *db, sqlite3_stmt *st, const struct db_person *p)
{
	db_bind_text(st, 2, db_person_kind_name(p->kind));
	db_bind_text(st, 3, p->name);
	db_bind_text(st, 4, p->class_name);
	db_bind_text(st, 5, p->school);
	bind_opt_time(st, 6, p->agreement_at);
	sqlite3_bind_int64(st, 7, db_now());
	return db_step_done(db, st, 0);
}

static int has_active_loan(struct db *db, int64_t person_id, int *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT 1 FROM loan WHERE person_id = ? AND state IN ('open','returning')"
			 " LIMIT 1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, person_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*ret = rc == SQLITE_ROW;
		rc = 0;
	} else {
		rc = db_rc(db, rc);
	}
	db_done(st);
	return rc;
}

static int update_person(struct db *db, const struct db_person *old, const struct db_person *p)
{
	sqlite3_stmt *st;
	int busy = 0, rc;
	if (strcmp(old->school, p->school) != 0) {
		rc = has_active_loan(db, old->id, &busy);
		if (rc < 0)
			return rc;
		if (busy)
			return AP_ECONFLICT;
	}
	rc = db_stmt(db,
		     "UPDATE person SET kind = ?2, name = ?3, class = ?4, school = ?5,"
		     " agreement_at = coalesce(?6, agreement_at), updated_at = ?7 WHERE id = ?1",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, old->id);
	return step_fields(db, st, p);
}

static int insert_person(struct db *db, const struct db_person *p)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO person(ext_id, kind, name, class, school, agreement_at,"
			 " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, p->ext_id);
	return step_fields(db, st, p);
}

/* 1 when putting p over old would change nothing. */
static int same_person(const struct db_person *old, const struct db_person *p)
{
	return old->kind == p->kind && strcmp(old->name, p->name) == 0 &&
	       strcmp(old->class_name, p->class_name) == 0 && strcmp(old->school, p->school) == 0 &&
	       (p->agreement_at <= 0 || p->agreement_at == old->agreement_at);
}

int db_person_put(struct db *db, const struct db_person *p, int *ret_created)
{
	struct db_person old;
	int rc = db_person_get(db, p->ext_id, &old);
	if (rc == AP_ENOTFOUND) {
		rc = insert_person(db, p);
		if (rc == 0)
			*ret_created = DB_PUT_CREATED;
		return rc;
	}
	if (rc == 0 && same_person(&old, p)) {
		*ret_created = DB_PUT_UNCHANGED;
		return 0;
	}
	if (rc == 0)
		rc = update_person(db, &old, p);
	if (rc == 0)
		*ret_created = DB_PUT_UPDATED;
	return rc;
}

#define PERSON_COLS \
	"SELECT id, ext_id, kind, name, class, school, agreement_at, left_at FROM person "

static void row_to_person(sqlite3_stmt *st, struct db_person *p)
{
	p->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, p->ext_id, sizeof(p->ext_id));
	if (db_person_kind_from_name((const char *)sqlite3_column_text(st, 2), &p->kind) < 0)
		p->kind = DB_PERSON_PUPIL; /* CHECK constraint: unreachable */
	db_col_copy(st, 3, p->name, sizeof(p->name));
	db_col_copy(st, 4, p->class_name, sizeof(p->class_name));
	db_col_copy(st, 5, p->school, sizeof(p->school));
	p->agreement_at = sqlite3_column_int64(st, 6);
	p->left_at = sqlite3_column_int64(st, 7);
}

int db_person_get(struct db *db, const char *ext_id, struct db_person *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, PERSON_COLS "WHERE ext_id = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, ext_id);
	if ((rc = db_step_row(db, st)) == 0)
		row_to_person(st, ret);
	db_done(st);
	return rc;
}

/* db_person_list() and db_person_find(): q folded (db_fold()) or NULL. */
static int list(struct db *db, const char *const *only, size_t n_only, const char *class_name,
		const char *q, int64_t offset, size_t limit,
		int (*fn)(const struct db_person *p, void *arg), void *arg, int64_t *ret_next)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int64_t next = 0;
	int rc = db_stmt_scoped(db,
				PERSON_COLS
				"WHERE (?1 IS NULL OR school IN (SELECT value FROM json_each(?1)))"
				" AND (?2 IS NULL OR class = ?2)"
				" AND (?5 IS NULL OR ard_has(?5, name, ext_id))"
				" ORDER BY school, class, name, id LIMIT ?3 OFFSET ?4",
				only, n_only, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 2, class_name);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
	sqlite3_bind_int64(st, 4, offset);
	db_bind_text(st, 5, q);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_person p;
		if (n == limit) {
			next = offset + (int64_t)n; /* one more row exists */
			break;
		}
		row_to_person(st, &p);
		n++;
		if (fn(&p, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	if (rc == 0)
		*ret_next = next;
	return rc;
}

int db_person_list(struct db *db, const char *const *only, size_t n_only, const char *class_name,
		   int64_t offset, size_t limit, int (*fn)(const struct db_person *p, void *arg),
		   void *arg, int64_t *ret_next)
{
	return list(db, only, n_only, class_name, NULL, offset, limit, fn, arg, ret_next);
}

int db_person_find(struct db *db, const char *const *only, size_t n_only, const char *class_name,
		   const char *text, int64_t offset, size_t limit,
		   int (*fn)(const struct db_person *p, void *arg), void *arg, int64_t *ret_next)
{
	char q[DB_PERSON_Q_MAX * 2 + 1];
	if (strlen(text) > DB_PERSON_Q_MAX)
		return AP_EINVAL;
	db_fold(text, q, sizeof(q));
	return list(db, only, n_only, class_name, q, offset, limit, fn, arg, ret_next);
}

int db_person_leave(struct db *db, int64_t id, int64_t day, int *ret_loans)
{
	sqlite3_stmt *st;
	int loans = 0, rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_stmt(db, "UPDATE person SET left_at = ?2, updated_at = ?3 WHERE id = ?1", &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, day);
	sqlite3_bind_int64(st, 3, db_now());
	rc = db_step_done(db, st, AP_ENOTFOUND);
	if (rc < 0)
		goto out;
	rc = db_stmt(db,
		     "UPDATE loan SET due_at = ?2 WHERE person_id = ?1 AND state = 'open'"
		     " AND (due_at IS NULL OR due_at > ?2)",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, day);
	rc = db_step_done(db, st, 0);
	loans = sqlite3_changes(db->h);
out:
	rc = db_end(db, rc);
	if (rc == 0)
		*ret_loans = loans;
	return rc;
}

int db_person_set_agreement(struct db *db, int64_t id, int64_t day)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "UPDATE person SET agreement_at = ?2, updated_at = ?3 WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	bind_opt_time(st, 2, day);
	sqlite3_bind_int64(st, 3, db_now());
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_agreement_get(struct db *db, int64_t person_id, int year, struct db_agreement *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT signed_at, withdrawn_at, recorded_by, recorded_at FROM agreement"
			 " WHERE person_id = ? AND school_year = ?",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, person_id);
	sqlite3_bind_int(st, 2, year);
	if ((rc = db_step_row(db, st)) == 0) {
		ret->signed_at = sqlite3_column_int64(st, 0);
		ret->withdrawn_at = sqlite3_column_int64(st, 1);
		db_col_copy(st, 2, ret->recorded_by, sizeof(ret->recorded_by));
		ret->recorded_at = sqlite3_column_int64(st, 3);
	}
	db_done(st);
	return rc;
}

struct agreement_args {
	int64_t person_id, signed_at;
	int year, current, loans;
	const char *actor;
};

static int sign_tx(struct db *db, void *arg)
{
	struct agreement_args *a = arg;
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO agreement(person_id, school_year, signed_at, recorded_by,"
			 " recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)"
			 " ON CONFLICT(person_id, school_year) DO UPDATE SET signed_at = ?3,"
			 " withdrawn_at = NULL, recorded_by = ?4, recorded_at = ?5",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->person_id);
	sqlite3_bind_int(st, 2, a->year);
	sqlite3_bind_int64(st, 3, a->signed_at);
	db_bind_text(st, 4, a->actor);
	sqlite3_bind_int64(st, 5, db_now());
	rc = db_step_done(db, st, 0);
	if (rc == 0 && a->current)
		rc = db_person_set_agreement(db, a->person_id, a->signed_at);
	return rc;
}

int db_agreement_sign(struct db *db, int64_t person_id, int year, int64_t signed_at,
		      const char *actor, int current)
{
	struct agreement_args a = {person_id, signed_at, year, current, 0, actor};
	if (signed_at <= 0)
		return AP_EINVAL;
	return db_in_tx(db, sign_tx, &a);
}

static int withdraw_tx(struct db *db, void *arg)
{
	struct agreement_args *a = arg;
	struct db_agreement ag;
	sqlite3_stmt *st;
	int rc = db_agreement_get(db, a->person_id, a->year, &ag);
	if (rc == 0 && ag.withdrawn_at)
		rc = AP_ECONFLICT;
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE agreement SET withdrawn_at = ?3 WHERE person_id = ?1"
		     " AND school_year = ?2",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->person_id);
	sqlite3_bind_int(st, 2, a->year);
	sqlite3_bind_int64(st, 3, db_now());
	rc = db_step_done(db, st, AP_ENOTFOUND);
	if (rc < 0 || !a->current)
		return rc;
	rc = db_person_set_agreement(db, a->person_id, 0);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE loan SET home_use = 0, flag = 'agreement_withdrawn'"
		     " WHERE person_id = ?1 AND state = 'open' AND home_use = 1",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->person_id);
	rc = db_step_done(db, st, 0);
	a->loans = sqlite3_changes(db->h);
	return rc;
}

int db_agreement_withdraw(struct db *db, int64_t person_id, int year, int current, int *ret_loans)
{
	struct agreement_args a = {person_id, 0, year, current, 0, NULL};
	int rc = db_in_tx(db, withdraw_tx, &a);
	if (rc == 0)
		*ret_loans = a.loans;
	return rc;
}

int db_agreement_refresh(struct db *db, int year, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE person SET agreement_at = (SELECT signed_at FROM agreement a"
			 "  WHERE a.person_id = person.id AND a.school_year = ?1"
			 "  AND a.withdrawn_at IS NULL)"
			 " WHERE agreement_at IS NOT (SELECT signed_at FROM agreement a"
			 "  WHERE a.person_id = person.id AND a.school_year = ?1"
			 "  AND a.withdrawn_at IS NULL)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st, 1, year);
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}
