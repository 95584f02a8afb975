/* db_dashboard.c - per-collège dashboard figures, in a few grouped queries. */
#include "db_int.h"
#include "db_dashboard.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each query exists twice: over the whole fleet, and over the collèges of
 * json_each(?1) (an IN list an index can use, where "?1 IS NULL OR" could
 * not).  SQL texts are literals: db_stmt() caches them by address. */
struct scoped_sql {
	const char *all, *some;
};

#define IN_SCOPE(col) col " IN (SELECT value FROM json_each(?1))"
#define SCOPED(macro, col)                                      \
	{                                                       \
		macro(col " IS NOT NULL"), macro(IN_SCOPE(col)) \
	}

#define PENDING "('queued','sent','notnow')"

/* ?2, ?3: seen before these times (7 and 30 days ago) */
#define DEVICES_SQL(scope)                                                         \
	"SELECT school, state, count(*), sum(enrollment = 'enrolled'),"            \
	" sum(state != 'retired' AND enrollment != 'enrolled'),"                   \
	" sum(enrollment = 'enrolled' AND (last_seen IS NULL OR last_seen < ?2))," \
	" sum(enrollment = 'enrolled' AND (last_seen IS NULL OR last_seen < ?3))"  \
	" FROM device WHERE " scope " GROUP BY school, state"
/* ?2: the start of today */
#define LOANS_SQL(scope)                                                      \
	"SELECT school, count(*), sum(due_at < ?2 AND deposited_at IS NULL)," \
	" sum(home_use != 0) FROM loan"                                       \
	" WHERE state = 'open' AND " scope " GROUP BY school"
#define INCIDENTS_SQL(scope)                    \
	"SELECT school, count(*) FROM incident" \
	" WHERE status = 'open' AND " scope " GROUP BY school"
/* ?2, ?3: the middle of yesterday and of the day 30 days later (the days
 * stored are midnights, local or, written before, UTC: half a day either
 * way covers both and a change of hour between) */
#define LEAVERS_SQL(scope)                                                                     \
	"SELECT school, count(*) FROM person WHERE left_at >= ?2 AND left_at <= ?3 AND " scope \
	" GROUP BY school"
/* enrolled tablets with a pending policy command */
#define POLICY_PENDING_SQL(scope)                                                   \
	"SELECT d.school, count(DISTINCT c.device_id) FROM command c JOIN device d" \
	" ON d.id = c.device_id WHERE c.origin = 'policy' AND c.status IN " PENDING \
	" AND d.enrollment = 'enrolled' AND " scope " GROUP BY d.school"

/* Item c.dedupe (an identifier of kind K in catalogue table T, column ID)
 * is assigned to a scope of tablet d: the fleet, its collège, the tablet,
 * or a group of its holder (db_policy_device_groups()'s rule: the open
 * loan of a person of the tablet's collège). */
#define WANTED(K, T, ID)                                                                           \
	"EXISTS (SELECT 1 FROM " T " i JOIN assignment a ON a.kind = '" K "' AND a.item_id = i.id" \
	" WHERE i." ID " = c.dedupe AND i.removed_at IS NULL AND (a.scope = 'fleet'"               \
	" OR a.scope = 'school:' || d.school OR a.scope = 'device:' || d.serial"                   \
	" OR EXISTS (SELECT 1 FROM loan gl JOIN person gp ON gp.id = gl.person_id"                 \
	" WHERE gl.device_id = d.id AND gl.state = 'open' AND gp.school = d.school"                \
	" AND a.scope IN ('group:' || d.school || '/' || CASE gp.kind WHEN 'pupil'"                \
	" THEN 'pupils' ELSE 'teachers' END, 'group:' || d.school || '/' || gp.class))))"
#define OWNED(K)                                                               \
	"EXISTS (SELECT 1 FROM device_owned o WHERE o.device_id = c.device_id" \
	" AND o.kind = '" K "' AND o.identifier = c.dedupe)"
#define WANTED_PROFILE WANTED("profile", "profile", "identifier")
#define WANTED_APP     WANTED("app", "app", "bundle_id")
#define OWNED_PROFILE  OWNED("profile")
#define OWNED_APP      OWNED("app")
/* on the tablet in the catalogue's current version */
#define REPORTED_PROFILE                                               \
	"EXISTS (SELECT 1 FROM device_profile r JOIN profile i"        \
	" ON i.identifier = r.identifier AND i.removed_at IS NULL"     \
	" WHERE r.device_id = c.device_id AND r.identifier = c.dedupe" \
	" AND r.uuid = i.payload_uuid)"
#define REPORTED_APP                                                         \
	"EXISTS (SELECT 1 FROM device_app r WHERE r.device_id = c.device_id" \
	" AND r.identifier = c.dedupe)"
/* the failed command's item still needs what it tried */
#define STILL_NEEDED                                                                           \
	" CASE c.type WHEN 'InstallProfile' THEN " WANTED_PROFILE " AND NOT " REPORTED_PROFILE \
	" WHEN 'InstallApplication' THEN " WANTED_APP " AND NOT " REPORTED_APP                 \
	" WHEN 'RemoveProfile' THEN " OWNED_PROFILE " AND NOT " WANTED_PROFILE                 \
	" WHEN 'RemoveApplication' THEN " OWNED_APP " AND NOT " WANTED_APP " ELSE 0 END"

/* The failing (tablet, item) pairs of enrolled tablets (db_dashboard.h),
 * by collège and item, each with 1 when the tablet also has a pending
 * policy command (of another item).  The unary + keeps the planner off
 * device_enrollment: it would read every enrolled tablet (a million: 3.5 s)
 * where the few failed commands (command_policy_failed), or the
 * collège's tablets (device_school), lead. */
#define FAILING_SQL(scope)                                                                      \
	"SELECT DISTINCT d.school, c.dedupe, c.device_id, EXISTS (SELECT 1 FROM command p"      \
	" WHERE p.device_id = c.device_id AND p.origin = 'policy' AND p.status IN " PENDING ")" \
	" FROM command c JOIN device d ON d.id = c.device_id"                                   \
	" WHERE c.origin = 'policy' AND c.status IN ('error','format_error','expired')"         \
	" AND c.dedupe != '' AND +d.enrollment = 'enrolled' AND " scope                         \
	" AND NOT EXISTS (SELECT 1 FROM command n WHERE n.device_id = c.device_id"              \
	" AND n.type = c.type AND n.dedupe = c.dedupe AND n.id > c.id)"                         \
	" AND NOT EXISTS (SELECT 1 FROM command n WHERE n.device_id = c.device_id"              \
	" AND n.status IN " PENDING " AND n.dedupe = c.dedupe) AND" STILL_NEEDED                \
	" ORDER BY d.school, c.dedupe"

static const struct scoped_sql devices_sql = SCOPED(DEVICES_SQL, "school");
static const struct scoped_sql loans_sql = SCOPED(LOANS_SQL, "school");
static const struct scoped_sql incidents_sql = SCOPED(INCIDENTS_SQL, "school");
static const struct scoped_sql leavers_sql = SCOPED(LEAVERS_SQL, "school");
static const struct scoped_sql pending_sql = SCOPED(POLICY_PENDING_SQL, "d.school");
static const struct scoped_sql failing_sql = SCOPED(FAILING_SQL, "d.school");

struct rows {
	struct db_dashboard_row *v; /* by UAI while the queries run */
	size_t n, cap;
	const char *const *only;
	size_t n_only;
	int64_t now, today;
	int rc; /* add_school() out of memory */
};

static int add_school(const struct db_school *s, void *arg)
{
	struct rows *r = arg;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *p = realloc(r->v, cap * sizeof(*r->v));
		if (p == NULL) {
			r->rc = AP_ENOMEM;
			return 1;
		}
		r->v = p;
		r->cap = cap;
	}
	struct db_dashboard_row *row = &r->v[r->n++];
	memset(row, 0, sizeof(*row));
	snprintf(row->uai, sizeof(row->uai), "%s", s->uai);
	snprintf(row->name, sizeof(row->name), "%s", s->name);
	snprintf(row->commune, sizeof(row->commune), "%s", s->commune);
	return 0;
}

static int cmp_uai(const void *a, const void *b)
{
	return strcmp(((const struct db_dashboard_row *)a)->uai,
		      ((const struct db_dashboard_row *)b)->uai);
}

/* By name as people read it (case and accents aside: "Clg les Matagots"
 * before "Clg N. Sarraute"), then as written, then by UAI. */
static int cmp_name(const void *a, const void *b)
{
	const struct db_dashboard_row *x = a, *y = b;
	char fx[DB_SCHOOL_NAME_MAX + 1], fy[DB_SCHOOL_NAME_MAX + 1];
	db_fold(x->name, fx, sizeof(fx));
	db_fold(y->name, fy, sizeof(fy));
	int c = strcmp(fx, fy);
	if (c == 0)
		c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->uai, y->uai);
}

/* The row of the collège in column 0, or NULL (none, or not asked for). */
static struct db_dashboard_row *row_of(struct rows *r, sqlite3_stmt *st)
{
	struct db_dashboard_row key;
	const unsigned char *t = sqlite3_column_text(st, 0);
	if (t == NULL || r->n == 0)
		return NULL;
	snprintf(key.uai, sizeof(key.uai), "%s", (const char *)t);
	return bsearch(&key, r->v, r->n, sizeof(*r->v), cmp_uai);
}

static int prepare(struct db *db, const struct rows *r, const struct scoped_sql *q,
		   sqlite3_stmt **ret)
{
	return r->only ? db_stmt_scoped(db, q->some, r->only, r->n_only, ret)
		       : db_stmt(db, q->all, ret);
}

/* Runs one grouped statement whose ?2 and ?3 are a and b (when not 0)
 * and lets fold() add its columns to each collège's row. */
static int fold_query(struct db *db, struct rows *r, const struct scoped_sql *q, int64_t a,
		      int64_t b, void (*fold)(struct db_dashboard_row *row, sqlite3_stmt *st))
{
	sqlite3_stmt *st;
	int rc = prepare(db, r, q, &st);
	if (rc < 0)
		return rc;
	if (a)
		sqlite3_bind_int64(st, 2, a);
	if (b)
		sqlite3_bind_int64(st, 3, b);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_dashboard_row *row = row_of(r, st);
		if (row)
			fold(row, st);
	}
	return db_rows_done(db, st, rc);
}

static void fold_devices(struct db_dashboard_row *row, sqlite3_stmt *st)
{
	enum db_device_state s;
	int64_t n = sqlite3_column_int64(st, 2);
	if (db_device_state_from_name((const char *)sqlite3_column_text(st, 1), &s) == 0)
		row->by_state[s] += n;
	row->total += n;
	row->enrolled += sqlite3_column_int64(st, 3);
	row->not_enrolled += sqlite3_column_int64(st, 4);
	row->not_seen_7d += sqlite3_column_int64(st, 5);
	row->not_seen_30d += sqlite3_column_int64(st, 6);
}

static void fold_loans(struct db_dashboard_row *row, sqlite3_stmt *st)
{
	row->loans_open = sqlite3_column_int64(st, 1);
	row->loans_overdue = sqlite3_column_int64(st, 2);
	row->loans_home_use = sqlite3_column_int64(st, 3);
}

static void fold_incidents(struct db_dashboard_row *row, sqlite3_stmt *st)
{
	row->incidents_open = sqlite3_column_int64(st, 1);
}

static void fold_leavers(struct db_dashboard_row *row, sqlite3_stmt *st)
{
	row->leavers_soon = sqlite3_column_int64(st, 1);
}

static void fold_pending(struct db_dashboard_row *row, sqlite3_stmt *st)
{
	row->pending = sqlite3_column_int64(st, 1); /* failing ones taken out later */
}

/* ---- failing items ------------------------------------------------------ */

/* The failing pairs of one collège, as they come (by item). */
struct failing {
	struct db_dashboard_row *row;
	int64_t *devs; /* device id * 2 + (1 when it also has a pending command) */
	size_t n, cap;
	char item[256]; /* the item being counted */
	int64_t count;
	int rc;
};

/* Keeps the collège's DB_DASHBOARD_ITEMS most frequent items (by count,
 * then name: they come by name). */
static void keep_item(struct db_dashboard_row *row, const char *item, int64_t count)
{
	size_t k = row->n_items;
	if (k == DB_DASHBOARD_ITEMS) {
		if (row->items[k - 1].count >= count)
			return;
		k--;
	} else {
		row->n_items++;
	}
	while (k > 0 && row->items[k - 1].count < count) {
		row->items[k] = row->items[k - 1];
		k--;
	}
	snprintf(row->items[k].item, sizeof(row->items[k].item), "%s", item);
	row->items[k].count = count;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The collège's pairs are all in: its item counted, its tablets too. */
static void failing_close(struct failing *f)
{
	struct db_dashboard_row *row = f->row;
	if (row == NULL)
		return;
	if (f->count)
		keep_item(row, f->item, f->count);
	if (f->n > 1)
		qsort(f->devs, f->n, sizeof(*f->devs), cmp_i64);
	for (size_t i = 0; i < f->n; i++) {
		if (i && f->devs[i] >> 1 == f->devs[i - 1] >> 1)
			continue;
		row->failing++;
		row->pending -= f->devs[i] & 1;
	}
	f->row = NULL;
	f->n = 0;
	f->count = 0;
}

static void failing_pair(struct failing *f, struct db_dashboard_row *row, sqlite3_stmt *st)
{
	const char *item = (const char *)sqlite3_column_text(st, 1);
	if (row != f->row) {
		failing_close(f);
		f->row = row;
	}
	if (f->count && strcmp(f->item, item ? item : "") != 0) {
		keep_item(row, f->item, f->count);
		f->count = 0;
	}
	if (f->count == 0)
		snprintf(f->item, sizeof(f->item), "%s", item ? item : "");
	f->count++;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		int64_t *p = realloc(f->devs, cap * sizeof(*p));
		if (p == NULL) {
			f->rc = AP_ENOMEM;
			return;
		}
		f->devs = p;
		f->cap = cap;
	}
	f->devs[f->n++] = sqlite3_column_int64(st, 2) * 2 + (sqlite3_column_int(st, 3) != 0);
}

static int failing_query(struct db *db, struct rows *r)
{
	struct failing f = {0};
	sqlite3_stmt *st;
	int rc = prepare(db, r, &failing_sql, &st);
	if (rc < 0)
		return rc;
	while (f.rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_dashboard_row *row = row_of(r, st);
		if (row)
			failing_pair(&f, row, st);
	}
	rc = db_rows_done(db, st, rc);
	if (rc == 0)
		rc = f.rc;
	if (rc == 0)
		failing_close(&f);
	free(f.devs);
	return rc;
}

/* ---- the whole ---------------------------------------------------------- */

static int run_queries(struct db *db, struct rows *r)
{
	int rc =
	    fold_query(db, r, &devices_sql, r->now - 7 * 86400, r->now - 30 * 86400, fold_devices);
	if (rc == 0)
		rc = fold_query(db, r, &loans_sql, r->today, 0, fold_loans);
	if (rc == 0)
		rc = fold_query(db, r, &incidents_sql, 0, 0, fold_incidents);
	if (rc == 0)
		rc = fold_query(db, r, &leavers_sql, r->today - 43200,
				r->today + 30 * 86400 + 43200, fold_leavers);
	if (rc == 0)
		rc = fold_query(db, r, &pending_sql, 0, 0, fold_pending);
	if (rc == 0)
		rc = failing_query(db, r);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		struct db_dashboard_row *row = &r->v[i];
		row->converged = row->enrolled - row->pending - row->failing;
	}
	return rc;
}

int db_dashboard(struct db *db, const char *const *only, size_t n_only, int64_t now, int64_t today,
		 struct db_dashboard_row **ret, size_t *ret_n)
{
	struct rows r = {NULL, 0, 0, only, n_only, now, today, 0};
	int snapshot = db_read_begin(db) == 0; /* one snapshot: the figures add up */
	int rc = db_school_list(db, only, n_only, add_school, &r);
	if (rc == 0)
		rc = r.rc;
	if (rc == 0)
		rc = run_queries(db, &r);
	if (snapshot)
		db_read_end(db);
	if (rc < 0) {
		free(r.v);
		return rc;
	}
	if (r.n > 1) /* none: r.v is NULL, which qsort() may not take */
		qsort(r.v, r.n, sizeof(*r.v), cmp_name);
	*ret = r.v;
	*ret_n = r.n;
	return 0;
}
