/* db_report.c - per-collège counts, in a few grouped queries. */
#include "db_int.h"
#include "db_report.h"
#include "db_scope.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rows {
	struct db_report_row *v;
	size_t n, cap;
	const char *const *only;
	size_t n_only;
};

static struct db_report_row *add_row(struct rows *r, const char *uai, const char *name)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *p = realloc(r->v, cap * sizeof(*r->v));
		if (p == NULL)
			return NULL;
		r->v = p;
		r->cap = cap;
	}
	struct db_report_row *row = &r->v[r->n++];
	memset(row, 0, sizeof(*row));
	snprintf(row->uai, sizeof(row->uai), "%s", uai);
	snprintf(row->name, sizeof(row->name), "%s", name);
	return row;
}

static int add_school(const struct db_school *s, void *arg)
{
	struct db_report_row *row = add_row(arg, s->uai, s->name);
	if (row == NULL)
		return 1;
	row->pupils_equipped = s->pupils_equipped;
	row->teachers_equipped = s->teachers_equipped;
	return 0;
}

int64_t db_report_held(const struct db_report_row *row)
{
	return row->devices - row->by_state[DB_DEV_RETIRED] - row->by_state[DB_DEV_LOST] -
	       row->by_state[DB_DEV_STOLEN];
}

static int cmp_uai(const void *a, const void *b)
{
	return strcmp(((const struct db_report_row *)a)->uai,
		      ((const struct db_report_row *)b)->uai);
}

/* The row for uai; for the whole fleet, a row "" is made on demand; NULL
 * when uai is out of the report's collèges. */
static struct db_report_row *row_of(struct rows *r, const char *uai)
{
	struct db_report_row key;
	snprintf(key.uai, sizeof(key.uai), "%s", uai ? uai : "");
	struct db_report_row *row = r->n ? bsearch(&key, r->v, r->n, sizeof(*r->v), cmp_uai) : NULL;
	if (row || r->only || key.uai[0])
		return row;
	row = add_row(r, "", "(no collège)");
	if (row)
		qsort(r->v, r->n, sizeof(*r->v), cmp_uai); /* "" sorts first */
	return row ? &r->v[0] : NULL;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Runs one grouped statement (column 0 = collège) and lets fold() add its
 * columns to the collège's row. */
static int fold_query(struct db *db, sqlite3_stmt *st, struct rows *r,
		      void (*fold)(struct db_report_row *row, sqlite3_stmt *st))
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_report_row *row = row_of(r, col_text(st, 0));
		if (row)
			fold(row, st);
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}

static void fold_states(struct db_report_row *row, sqlite3_stmt *st)
{
	enum db_device_state s;
	int64_t n = sqlite3_column_int64(st, 2);
	if (db_device_state_from_name(col_text(st, 1), &s) == 0)
		row->by_state[s] += n;
	row->devices += n;
}

static void fold_seen(struct db_report_row *row, sqlite3_stmt *st)
{
	row->not_seen_7d = sqlite3_column_int64(st, 1);
	row->not_seen_30d = sqlite3_column_int64(st, 2);
	row->never_seen = sqlite3_column_int64(st, 3);
}

static void fold_loans(struct db_report_row *row, sqlite3_stmt *st)
{
	row->loans_open = sqlite3_column_int64(st, 1);
	row->loans_returning = sqlite3_column_int64(st, 2);
	row->overdue = sqlite3_column_int64(st, 3);
	row->loans_pupils = sqlite3_column_int64(st, 4);
	row->loans_teachers = sqlite3_column_int64(st, 5);
}

static void fold_incidents(struct db_report_row *row, sqlite3_stmt *st)
{
	row->incidents_open = sqlite3_column_int64(st, 1);
}

static void fold_damage(struct db_report_row *row, sqlite3_stmt *st)
{
	row->damages = sqlite3_column_int64(st, 1);
	row->damage_cost_cents = sqlite3_column_int64(st, 2);
	row->reimbursements = sqlite3_column_int64(st, 3);
}

static int run_queries(struct db *db, struct rows *r, int64_t now, int64_t today)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "SELECT school, state, count(*) FROM device GROUP BY school, state", &st);
	if (rc == 0)
		rc = fold_query(db, st, r, fold_states);
	if (rc == 0)
		rc = db_stmt(db,
			     "SELECT school, sum(last_seen IS NULL OR last_seen < ?1),"
			     " sum(last_seen IS NULL OR last_seen < ?2), sum(last_seen IS NULL)"
			     " FROM device WHERE state != 'retired' GROUP BY school",
			     &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, now - 7 * 86400);
		sqlite3_bind_int64(st, 2, now - 30 * 86400);
		rc = fold_query(db, st, r, fold_seen);
	}
	if (rc == 0)
		rc = db_stmt(db,
			     "SELECT l.school, sum(l.state = 'open'), sum(l.state = 'returning'),"
			     " sum(l.state = 'open' AND l.due_at < ?1 AND l.deposited_at IS NULL),"
			     " sum(l.state = 'open' AND p.kind = 'pupil'),"
			     " sum(l.state = 'open' AND p.kind = 'teacher') FROM loan l"
			     " JOIN person p ON p.id = l.person_id"
			     " WHERE l.state IN ('open','returning') GROUP BY l.school",
			     &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, today);
		rc = fold_query(db, st, r, fold_loans);
	}
	if (rc == 0)
		rc = db_stmt(db,
			     "SELECT school, count(*) FROM incident WHERE status = 'open'"
			     " GROUP BY school",
			     &st);
	if (rc == 0)
		rc = fold_query(db, st, r, fold_incidents);
	if (rc == 0)
		rc = db_stmt(
		    db,
		    "SELECT school, count(*), coalesce(sum(cost_cents), 0), sum(reimburse != 0)"
		    " FROM incident WHERE kind = 'damage' GROUP BY school",
		    &st);
	if (rc == 0)
		rc = fold_query(db, st, r, fold_damage);
	return rc;
}

int db_report_fleet(struct db *db, const char *const *only, size_t n_only, int64_t now,
		    int64_t today, struct db_report_row **ret, size_t *ret_n)
{
	struct rows r = {NULL, 0, 0, only, n_only};
	int rc = db_school_list(db, only, n_only, add_school, &r);
	if (rc == 0)
		rc = run_queries(db, &r, now, today); /* r.v is in UAI order already */
	if (rc < 0) {
		free(r.v);
		return rc;
	}
	*ret = r.v;
	*ret_n = r.n;
	return 0;
}
