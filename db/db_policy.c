/* db_policy.c - catalogue, assignments, owned items, bulk loaders. */
#include "db_int.h"
#include "db_policy.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING "('queued','sent','notnow')"

/* Steps a bound statement, calling row() for each row until it returns
 * non-zero; resets the statement. */
static int rows(struct db *db, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, ctx))
			break;
	rc = db_rows_done(db, st, rc);
	return rc;
}

/* 1 when the query bound to st yields a row, 0 when not, or an error. */
static int exists(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_rc(db, rc);
	db_done(st);
	return rc;
}

static const char *text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

/* ---- profiles ---------------------------------------------------------- */

#define PROFILE_COLS                                                                       \
	"SELECT id, name, identifier, display_name, payload_types, payload_hash,"          \
	" payload_uuid, blob, created_by, created_at, updated_by, coalesce(updated_at, 0)" \
	" FROM profile "

static void profile_fill(sqlite3_stmt *st, struct db_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, p->name, sizeof(p->name));
	db_col_copy(st, 2, p->identifier, sizeof(p->identifier));
	db_col_copy(st, 3, p->display_name, sizeof(p->display_name));
	db_col_copy(st, 4, p->payload_types, sizeof(p->payload_types));
	db_col_copy(st, 5, p->payload_hash, sizeof(p->payload_hash));
	db_col_copy(st, 6, p->payload_uuid, sizeof(p->payload_uuid));
	db_col_copy(st, 7, p->blob, sizeof(p->blob));
	db_col_copy(st, 8, p->created_by, sizeof(p->created_by));
	p->created_at = sqlite3_column_int64(st, 9);
	db_col_copy(st, 10, p->updated_by, sizeof(p->updated_by));
	p->updated_at = sqlite3_column_int64(st, 11);
}

/* 1 when an active profile other than `except` has the identifier. */
static int identifier_taken(struct db *db, const char *identifier, int64_t except)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT 1 FROM profile WHERE identifier = ? AND removed_at IS NULL"
			 " AND id != ?",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, identifier);
	sqlite3_bind_int64(st, 2, except);
	return exists(db, st);
}

static int version_add(struct db *db, int64_t profile_id, const struct db_profile *p)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR IGNORE INTO profile_version(blob, profile_id, payload_uuid,"
			 " payload_hash, created_at) VALUES (?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, p->blob);
	sqlite3_bind_int64(st, 2, profile_id);
	db_bind_text(st, 3, p->payload_uuid);
	db_bind_text(st, 4, p->payload_hash);
	sqlite3_bind_int64(st, 5, db_now());
	return db_step_done(db, st, 0);
}

static int profile_insert(struct db *db, const struct db_profile *p, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO profile(name, identifier, display_name, payload_types,"
			 " payload_hash, payload_uuid, blob, created_by, created_at)"
			 " VALUES (?,?,?,?,?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, p->name);
	db_bind_text(st, 2, p->identifier);
	db_bind_text(st, 3, p->display_name);
	db_bind_text(st, 4, p->payload_types);
	db_bind_text(st, 5, p->payload_hash);
	db_bind_text(st, 6, p->payload_uuid);
	db_bind_text(st, 7, p->blob);
	db_bind_text(st, 8, p->created_by);
	sqlite3_bind_int64(st, 9, db_now());
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int db_policy_profile_add(struct db *db, const struct db_profile *p, int64_t *ret_id)
{
	struct db_profile old;
	int64_t id = 0;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_policy_profile_get(db, p->name, &old);
	if (rc == 0)
		rc = AP_EEXIST;
	else if (rc == AP_ENOTFOUND)
		rc = identifier_taken(db, p->identifier, 0);
	if (rc > 0)
		rc = AP_ECONFLICT;
	if (rc == 0 && (rc = profile_insert(db, p, &id)) == 0)
		rc = version_add(db, id, p);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	if ((rc = db_commit(db)) == 0 && ret_id)
		*ret_id = id;
	return rc;
}

static int profile_set(struct db *db, int64_t id, const struct db_profile *p, const char *actor)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE profile SET identifier = ?, display_name = ?, payload_types = ?,"
			 " payload_hash = ?, payload_uuid = ?, blob = ?, updated_by = ?,"
			 " updated_at = ? WHERE id = ?",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, p->identifier);
	db_bind_text(st, 2, p->display_name);
	db_bind_text(st, 3, p->payload_types);
	db_bind_text(st, 4, p->payload_hash);
	db_bind_text(st, 5, p->payload_uuid);
	db_bind_text(st, 6, p->blob);
	db_bind_text(st, 7, actor);
	sqlite3_bind_int64(st, 8, db_now());
	sqlite3_bind_int64(st, 9, id);
	return db_step_done(db, st, 0);
}

int db_policy_profile_update(struct db *db, const char *name, const struct db_profile *p,
			     const char *actor)
{
	struct db_profile old;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_policy_profile_get(db, name, &old)) < 0)
		goto out;
	if ((rc = identifier_taken(db, p->identifier, old.id)) != 0) {
		rc = rc > 0 ? AP_ECONFLICT : rc;
		goto out;
	}
	if ((rc = profile_set(db, old.id, p, actor)) == 0)
		rc = version_add(db, old.id, p);
out:
	return db_end(db, rc);
}

int db_policy_profile_get(struct db *db, const char *name, struct db_profile *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, PROFILE_COLS "WHERE name = ? AND removed_at IS NULL", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, name);
	if ((rc = db_step_row(db, st)) == 0)
		profile_fill(st, ret);
	db_done(st);
	return rc;
}

struct profile_cb {
	int (*fn)(const struct db_profile *p, void *arg);
	void *arg;
};

static int profile_row(sqlite3_stmt *st, void *ctx)
{
	struct profile_cb *c = ctx;
	struct db_profile p;
	profile_fill(st, &p);
	return c->fn(&p, c->arg);
}

int db_policy_profile_list(struct db *db, int (*fn)(const struct db_profile *p, void *arg),
			   void *arg)
{
	struct profile_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db, PROFILE_COLS "WHERE removed_at IS NULL ORDER BY name", &st);
	return rc < 0 ? rc : rows(db, st, profile_row, &c);
}

/* Deletes the assignments of one item; *ret_n how many. */
static int unassign_all(struct db *db, const char *kind, int64_t item_id, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "DELETE FROM assignment WHERE kind = ? AND item_id = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, item_id);
	if ((rc = db_step_done(db, st, 0)) == 0 && ret_n)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}

/* Marks an item removed (sql: UPDATE ... removed_at = ?1 WHERE id = ?2)
 * and drops its assignments. */
static int remove_item(struct db *db, const char *sql, const char *kind, int64_t id,
		       int64_t *ret_unassigned)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, id);
	if ((rc = db_step_done(db, st, 0)) == 0)
		rc = unassign_all(db, kind, id, &n);
	if (rc == 0 && ret_unassigned)
		*ret_unassigned = n;
	return rc;
}

int db_policy_profile_remove(struct db *db, const char *name, int64_t *ret_unassigned)
{
	struct db_profile p;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_policy_profile_get(db, name, &p)) == 0)
		rc = remove_item(db, "UPDATE profile SET removed_at = ?1 WHERE id = ?2", "profile",
				 p.id, ret_unassigned);
	return db_end(db, rc);
}

/* ---- apps -------------------------------------------------------------- */

#define APP_COLS "SELECT id, bundle_id, store_id, name, licence, created_by, created_at FROM app "

static void app_fill(sqlite3_stmt *st, struct db_app *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, a->bundle_id, sizeof(a->bundle_id));
	a->store_id = sqlite3_column_int64(st, 2);
	db_col_copy(st, 3, a->name, sizeof(a->name));
	db_col_copy(st, 4, a->licence, sizeof(a->licence));
	db_col_copy(st, 5, a->created_by, sizeof(a->created_by));
	a->created_at = sqlite3_column_int64(st, 6);
}

int db_policy_app_add(struct db *db, const struct db_app *a, int64_t *ret_id)
{
	struct db_app old;
	sqlite3_stmt *st;
	int rc = db_policy_app_get(db, a->bundle_id, &old);
	if (rc == 0)
		return AP_EEXIST;
	if (rc != AP_ENOTFOUND)
		return rc;
	rc = db_stmt(db,
		     "INSERT INTO app(bundle_id, store_id, name, licence, created_by, created_at)"
		     " VALUES (?,?,?,?,?,?)",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, a->bundle_id);
	sqlite3_bind_int64(st, 2, a->store_id);
	db_bind_text(st, 3, a->name);
	db_bind_text(st, 4, a->licence);
	db_bind_text(st, 5, a->created_by);
	sqlite3_bind_int64(st, 6, db_now());
	if ((rc = db_step_done(db, st, 0)) == 0 && ret_id)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int db_policy_app_get(struct db *db, const char *bundle_id, struct db_app *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, APP_COLS "WHERE bundle_id = ? AND removed_at IS NULL", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, bundle_id);
	if ((rc = db_step_row(db, st)) == 0)
		app_fill(st, ret);
	db_done(st);
	return rc;
}

struct app_cb {
	int (*fn)(const struct db_app *a, void *arg);
	void *arg;
};

static int app_row(sqlite3_stmt *st, void *ctx)
{
	struct app_cb *c = ctx;
	struct db_app a;
	app_fill(st, &a);
	return c->fn(&a, c->arg);
}

int db_policy_app_list(struct db *db, int (*fn)(const struct db_app *a, void *arg), void *arg)
{
	struct app_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db, APP_COLS "WHERE removed_at IS NULL ORDER BY bundle_id", &st);
	return rc < 0 ? rc : rows(db, st, app_row, &c);
}

int db_policy_app_remove(struct db *db, const char *bundle_id, int64_t *ret_unassigned)
{
	struct db_app a;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_policy_app_get(db, bundle_id, &a)) == 0)
		rc = remove_item(db, "UPDATE app SET removed_at = ?1 WHERE id = ?2", "app", a.id,
				 ret_unassigned);
	return db_end(db, rc);
}

/* ---- assignments ------------------------------------------------------- */

int db_policy_assign(struct db *db, const char *kind, int64_t item_id, const char *scope,
		     const char *actor)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO assignment(kind, item_id, scope, created_by, created_at)"
			 " VALUES (?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, item_id);
	db_bind_text(st, 3, scope);
	db_bind_text(st, 4, actor);
	sqlite3_bind_int64(st, 5, db_now());
	return db_step_done(db, st, 0); /* UNIQUE -> AP_EEXIST */
}

int db_policy_unassign(struct db *db, const char *kind, int64_t item_id, const char *scope)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "DELETE FROM assignment WHERE kind = ? AND item_id = ? AND scope = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, item_id);
	db_bind_text(st, 3, scope);
	if ((rc = db_step_done(db, st, 0)) == 0 && sqlite3_changes(db->h) == 0)
		rc = AP_ENOTFOUND;
	return rc;
}

/* Assignments joined with their (active) item, in one column order. */
#define ASSIGNED_SQL(extra)                                                                   \
	"SELECT a.id, a.kind, a.item_id, a.scope, a.created_by, a.created_at,"                \
	" p.identifier, p.payload_uuid, p.blob, 0, p.name FROM assignment a"                  \
	" JOIN profile p ON a.kind = 'profile' AND p.id = a.item_id AND p.removed_at IS NULL" \
	" WHERE " extra " UNION ALL"                                                          \
	" SELECT a.id, a.kind, a.item_id, a.scope, a.created_by, a.created_at,"               \
	" s.bundle_id, '', '', s.store_id, s.bundle_id FROM assignment a"                     \
	" JOIN app s ON a.kind = 'app' AND s.id = a.item_id AND s.removed_at IS NULL"         \
	" WHERE " extra " ORDER BY 1"

struct assignment_cb {
	int (*fn)(const struct db_assignment *a, void *arg);
	void *arg;
};

static int assignment_row(sqlite3_stmt *st, void *ctx)
{
	struct assignment_cb *c = ctx;
	struct db_assignment a;
	memset(&a, 0, sizeof(a));
	a.id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, a.kind, sizeof(a.kind));
	a.item_id = sqlite3_column_int64(st, 2);
	db_col_copy(st, 3, a.scope, sizeof(a.scope));
	db_col_copy(st, 4, a.created_by, sizeof(a.created_by));
	a.created_at = sqlite3_column_int64(st, 5);
	db_col_copy(st, 6, a.identifier, sizeof(a.identifier));
	db_col_copy(st, 10, a.item, sizeof(a.item));
	return c->fn(&a, c->arg);
}

int db_policy_assignment_list(struct db *db, const char *scope, const char *kind, int64_t item_id,
			      int (*fn)(const struct db_assignment *a, void *arg), void *arg)
{
	struct assignment_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 ASSIGNED_SQL("(?1 IS NULL OR a.scope = ?1) AND (?2 IS NULL OR a.kind = ?2)"
				      " AND (?3 = 0 OR a.item_id = ?3)"),
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, scope);
	db_bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, item_id);
	return rows(db, st, assignment_row, &c);
}

struct assigned_cb {
	int (*fn)(const struct db_policy_assigned *a, void *arg);
	void *arg;
};

static int assigned_row(sqlite3_stmt *st, void *ctx)
{
	struct assigned_cb *c = ctx;
	struct db_policy_assigned a = {
	    text(st, 1), sqlite3_column_int64(st, 2), text(st, 3), text(st, 6), text(st, 7),
	    text(st, 8), sqlite3_column_int64(st, 9), text(st, 10)};
	return c->fn(&a, c->arg);
}

int db_policy_each_assigned(struct db *db, int (*fn)(const struct db_policy_assigned *a, void *arg),
			    void *arg)
{
	struct assigned_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db, ASSIGNED_SQL("1"), &st);
	return rc < 0 ? rc : rows(db, st, assigned_row, &c);
}

/* ---- bulk loaders ------------------------------------------------------ */

struct device_cb {
	int (*fn)(int64_t id, const char *serial, const char *school, void *arg);
	void *arg;
};

static int device_row(sqlite3_stmt *st, void *ctx)
{
	struct device_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), text(st, 1), text(st, 2), c->arg);
}

int db_policy_each_device(struct db *db, const char *school, int64_t lo, int64_t hi, int all,
			  int64_t limit,
			  int (*fn)(int64_t id, const char *serial, const char *school, void *arg),
			  void *arg)
{
	struct device_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc;
	/* the rowid's range in key order: no sort, LIMIT stops the scan */
	if (school)
		rc = db_stmt(db,
			     "SELECT id, coalesce(serial,''), coalesce(school,'') FROM device"
			     " WHERE school = ?3 AND id BETWEEN ?1 AND ?4"
			     " AND (?2 OR enrollment = 'enrolled') ORDER BY id LIMIT ?5",
			     &st);
	else
		rc = db_stmt(db,
			     "SELECT id, coalesce(serial,''), coalesce(school,'') FROM device"
			     " WHERE id BETWEEN ?1 AND ?4 AND (?2 OR enrollment = 'enrolled')"
			     " ORDER BY id LIMIT ?5",
			     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int(st, 2, all ? 1 : 0);
	if (school)
		db_bind_text(st, 3, school);
	sqlite3_bind_int64(st, 4, hi);
	sqlite3_bind_int64(st, 5, limit > 0 ? limit : -1);
	return rows(db, st, device_row, &c);
}

struct group_cb {
	int (*fn)(int64_t device_id, const char *group, void *arg);
	void *arg;
};

static int group_row(sqlite3_stmt *st, void *ctx)
{
	struct group_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), text(st, 1), c->arg);
}

/* person(id, kind 'pupil'|'teacher', class, school), loan(device_id,
 * person_id, state 'open'|'returning'|'closed'): the fleet records. */
#define GROUPS_SQL(where)                                                                      \
	"SELECT l.device_id, CASE p.kind WHEN 'pupil' THEN 'pupils' ELSE 'teachers' END"       \
	" FROM loan l JOIN person p ON p.id = l.person_id JOIN device d ON d.id = l.device_id" \
	" WHERE l.state = 'open' AND p.school = d.school" where                                \
	" UNION ALL SELECT l.device_id, p.class"                                               \
	" FROM loan l JOIN person p ON p.id = l.person_id JOIN device d ON d.id = l.device_id" \
	" WHERE l.state = 'open' AND p.school = d.school AND p.class != ''" where

int db_policy_device_groups(struct db *db, int64_t lo, int64_t hi,
			    int (*fn)(int64_t device_id, const char *group, void *arg), void *arg)
{
	struct group_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db, GROUPS_SQL(" AND l.device_id BETWEEN ?1 AND ?2"), &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, group_row, &c);
}

struct reported_cb {
	int (*profile)(int64_t device_id, const char *identifier, const char *uuid, void *arg);
	int (*app)(int64_t device_id, const char *identifier, void *arg);
	void *arg;
};

static int reported_profile_row(sqlite3_stmt *st, void *ctx)
{
	struct reported_cb *c = ctx;
	return c->profile(sqlite3_column_int64(st, 0), text(st, 1), text(st, 2), c->arg);
}

int db_policy_each_reported_profile(struct db *db, int64_t lo, int64_t hi,
				    int (*fn)(int64_t device_id, const char *identifier,
					      const char *uuid, void *arg),
				    void *arg)
{
	struct reported_cb c = {fn, NULL, arg};
	sqlite3_stmt *st;
	/* a range: the primary key's, in key order (a tablet reports a few
	 * profiles); "+identifier" keeps SQLite off the index on identifier,
	 * which would read every tablet's rows of each catalogue profile */
	int rc = lo == hi ? db_stmt(db,
				    "SELECT device_id, identifier, uuid FROM device_profile"
				    " WHERE device_id = ?1 AND ?2 = ?1",
				    &st)
			  : db_stmt(db,
				    "SELECT device_id, identifier, uuid FROM device_profile"
				    " WHERE device_id BETWEEN ?1 AND ?2"
				    " AND +identifier IN (SELECT identifier FROM profile)",
				    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, reported_profile_row, &c);
}

static int reported_app_row(sqlite3_stmt *st, void *ctx)
{
	struct reported_cb *c = ctx;
	return c->app(sqlite3_column_int64(st, 0), text(st, 1), c->arg);
}

int db_policy_each_reported_app(struct db *db, int64_t lo, int64_t hi,
				int (*fn)(int64_t device_id, const char *identifier, void *arg),
				void *arg)
{
	struct reported_cb c = {NULL, fn, arg};
	sqlite3_stmt *st;
	/* a range: device_app_identifier, whose entries end with the primary
	 * key's device_id, for each catalogue bundle id (a tablet reports
	 * dozens of apps, few of them Ardoise's) */
	int rc = lo == hi ? db_stmt(db,
				    "SELECT device_id, identifier FROM device_app"
				    " WHERE device_id = ?1 AND ?2 = ?1",
				    &st)
			  : db_stmt(db,
				    "SELECT da.device_id, da.identifier"
				    " FROM (SELECT DISTINCT bundle_id FROM app) k"
				    " JOIN device_app da ON da.identifier = k.bundle_id"
				    " AND da.device_id BETWEEN ?1 AND ?2",
				    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, reported_app_row, &c);
}

struct owned_cb {
	int (*fn)(int64_t device_id, const char *kind, const char *identifier, const char *version,
		  int64_t acked_cmd, void *arg);
	void *arg;
};

static int owned_row(sqlite3_stmt *st, void *ctx)
{
	struct owned_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), text(st, 1), text(st, 2), text(st, 3),
		     sqlite3_column_int64(st, 4), c->arg);
}

int db_policy_each_owned(struct db *db, int64_t lo, int64_t hi,
			 int (*fn)(int64_t device_id, const char *kind, const char *identifier,
				   const char *version, int64_t acked_cmd, void *arg),
			 void *arg)
{
	struct owned_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT device_id, kind, identifier, version, acked_cmd"
			 " FROM device_owned WHERE device_id BETWEEN ?1 AND ?2",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, owned_row, &c);
}

struct pending_cb {
	int (*fn)(int64_t device_id, int64_t command_id, const char *type, const char *dedupe,
		  const char *blob_ref, void *arg);
	void *arg;
};

static int pending_row(sqlite3_stmt *st, void *ctx)
{
	struct pending_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), text(st, 2),
		     text(st, 3), text(st, 4), c->arg);
}

int db_policy_each_pending(struct db *db, int64_t lo, int64_t hi,
			   int (*fn)(int64_t device_id, int64_t command_id, const char *type,
				     const char *dedupe, const char *blob_ref, void *arg),
			   void *arg)
{
	struct pending_cb c = {fn, arg};
	sqlite3_stmt *st;
	/* command_queue, the partial index of exactly these rows */
	int rc = db_stmt(db,
			 "SELECT device_id, id, type, dedupe, coalesce(blob_ref,'')"
			 " FROM command WHERE device_id BETWEEN ?1 AND ?2 AND status IN " PENDING,
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, pending_row, &c);
}

struct lists_cb {
	int (*fn)(int64_t device_id, int64_t profiles_cmd, int64_t apps_cmd, void *arg);
	void *arg;
};

static int lists_row(sqlite3_stmt *st, void *ctx)
{
	struct lists_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		     sqlite3_column_int64(st, 2), c->arg);
}

int db_policy_each_lists(struct db *db, int64_t lo, int64_t hi,
			 int (*fn)(int64_t device_id, int64_t profiles_cmd, int64_t apps_cmd,
				   void *arg),
			 void *arg)
{
	struct lists_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT device_id, profiles_cmd, apps_cmd FROM device_lists"
			 " WHERE device_id BETWEEN ?1 AND ?2",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, lists_row, &c);
}

struct failed_cb {
	int (*fn)(int64_t device_id, const char *type, const char *dedupe, const char *status,
		  const char *error, int64_t done_at, void *arg);
	void *arg;
};

static int failed_row(sqlite3_stmt *st, void *ctx)
{
	struct failed_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), text(st, 1), text(st, 2), text(st, 3),
		     text(st, 4), sqlite3_column_int64(st, 5), c->arg);
}

#define FAILED_SQL(where)                                                                 \
	"SELECT c.device_id, c.type, c.dedupe, c.status, c.error, coalesce(c.done_at, 0)" \
	" FROM command c WHERE c.origin = 'policy' AND c.dedupe != ''"                    \
	" AND c.status IN ('error','format_error','expired')" where                       \
	" AND NOT EXISTS (SELECT 1 FROM command n WHERE n.device_id = c.device_id"        \
	" AND n.type = c.type AND n.dedupe = c.dedupe AND n.id > c.id)"

int db_policy_each_failed(struct db *db, int64_t lo, int64_t hi,
			  int (*fn)(int64_t device_id, const char *type, const char *dedupe,
				    const char *status, const char *error, int64_t done_at,
				    void *arg),
			  void *arg)
{
	struct failed_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db, FAILED_SQL(" AND c.device_id BETWEEN ?1 AND ?2"), &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	return rows(db, st, failed_row, &c);
}

int db_policy_bulk(struct db *db, int on)
{
	return db_exec(db, on ? "PRAGMA cache_size = -32768" : "PRAGMA cache_size = -2000");
}

/* ---- results of policy commands ---------------------------------------- */

int db_policy_command_ref(struct db *db, const char *uuid, char ret_dedupe[256], char ret_blob[65])
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "SELECT dedupe, coalesce(blob_ref,'') FROM command WHERE uuid = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uuid);
	if ((rc = db_step_row(db, st)) == 0) {
		db_col_copy(st, 0, ret_dedupe, 256);
		db_col_copy(st, 1, ret_blob, 65);
	}
	db_done(st);
	return rc;
}

int db_policy_version_uuid(struct db *db, const char *blob, char ret_uuid[37])
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT payload_uuid FROM profile_version WHERE blob = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, blob);
	if ((rc = db_step_row(db, st)) == 0)
		db_col_copy(st, 0, ret_uuid, 37);
	db_done(st);
	return rc;
}

static int reported_profile_set(struct db *db, int64_t device_id, const char *identifier,
				const char *uuid, const char *display_name)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO device_profile(device_id, identifier, uuid,"
			 " display_name) VALUES (?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, identifier);
	db_bind_text(st, 3, uuid);
	db_bind_text(st, 4, display_name ? display_name : "");
	return db_step_done(db, st, 0);
}

int db_policy_installed(struct db *db, int64_t device_id, const char *kind, const char *identifier,
			const char *version, const char *display_name, int64_t command_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO device_owned(device_id, kind, identifier, version,"
			 " acked_at, acked_cmd) VALUES (?,?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, kind);
	db_bind_text(st, 3, identifier);
	db_bind_text(st, 4, version ? version : "");
	sqlite3_bind_int64(st, 5, db_now());
	sqlite3_bind_int64(st, 6, command_id);
	if ((rc = db_step_done(db, st, 0)) == 0 && strcmp(kind, "profile") == 0)
		rc = reported_profile_set(db, device_id, identifier, version, display_name);
	return rc;
}

/* Runs a two-parameter DELETE (device_id, identifier). */
static int delete2(struct db *db, const char *sql, int64_t device_id, const char *identifier)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, identifier);
	return db_step_done(db, st, 0);
}

int db_policy_removed(struct db *db, int64_t device_id, const char *kind, const char *identifier)
{
	int profile = strcmp(kind, "profile") == 0;
	int rc = profile ? delete2(db,
				   "DELETE FROM device_owned WHERE device_id = ? AND identifier = ?"
				   " AND kind = 'profile'",
				   device_id, identifier)
			 : delete2(db,
				   "DELETE FROM device_owned WHERE device_id = ? AND identifier = ?"
				   " AND kind = 'app'",
				   device_id, identifier);
	if (rc < 0)
		return rc;
	return profile
		   ? delete2(db,
			     "DELETE FROM device_profile WHERE device_id = ? AND identifier = ?",
			     device_id, identifier)
		   : delete2(db, "DELETE FROM device_app WHERE device_id = ? AND identifier = ?",
			     device_id, identifier);
}

int db_policy_lists_stamp(struct db *db, int64_t device_id, int profiles, int64_t command_id)
{
	sqlite3_stmt *st;
	int rc = profiles ? db_stmt(db,
				    "INSERT INTO device_lists(device_id, profiles_at, profiles_cmd)"
				    " VALUES (?1, ?2, ?3) ON CONFLICT(device_id) DO UPDATE"
				    " SET profiles_at = ?2, profiles_cmd = ?3",
				    &st)
			  : db_stmt(db,
				    "INSERT INTO device_lists(device_id, apps_at, apps_cmd)"
				    " VALUES (?1, ?2, ?3) ON CONFLICT(device_id) DO UPDATE"
				    " SET apps_at = ?2, apps_cmd = ?3",
				    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_int64(st, 3, command_id);
	return db_step_done(db, st, 0);
}

int db_policy_forget_device(struct db *db, int64_t device_id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_run_int64(db, "DELETE FROM device_owned WHERE device_id = ?", device_id, 0)) ==
		0 &&
	    (rc = db_run_int64(db, "DELETE FROM device_lists WHERE device_id = ?", device_id, 0)) ==
		0 &&
	    (rc = db_run_int64(db, "DELETE FROM device_profile WHERE device_id = ?", device_id,
			       0)) == 0)
		rc = db_run_int64(db, "DELETE FROM device_app WHERE device_id = ?", device_id, 0);
	return db_end(db, rc);
}

int db_policy_cancel(struct db *db, int64_t command_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE command SET status = 'canceled', done_at = ?,"
			 " error = 'superseded: the policy changed' WHERE id = ?"
			 " AND status IN " PENDING,
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, command_id);
	return db_step_done(db, st, 0);
}

struct id_cb {
	int (*fn)(int64_t device_id, void *arg);
	void *arg;
};

static int id_row(sqlite3_stmt *st, void *ctx)
{
	struct id_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), c->arg);
}

int db_policy_refresh_due(struct db *db, int64_t before, int64_t limit,
			  int (*fn)(int64_t device_id, void *arg), void *arg)
{
	struct id_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db,
	    "SELECT d.id FROM device d LEFT JOIN device_lists l ON l.device_id = d.id"
	    " WHERE d.enrollment = 'enrolled'"
	    " AND min(coalesce(l.profiles_at, 0), coalesce(l.apps_at, 0)) < ?1"
	    " AND NOT EXISTS (SELECT 1 FROM command c WHERE c.device_id = d.id"
	    " AND c.status IN " PENDING " AND c.type IN ('ProfileList','InstalledApplicationList'))"
	    " ORDER BY min(coalesce(l.profiles_at, 0), coalesce(l.apps_at, 0)), d.id LIMIT ?2",
	    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, limit);
	return rows(db, st, id_row, &c);
}

int db_policy_count_enrolled(struct db *db, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT count(*) FROM device WHERE enrollment = 'enrolled'", &st);
	if (rc < 0)
		return rc;
	return db_step_int64(db, st, ret);
}

struct installed_cb {
	int (*fn)(int64_t device_id, const char *serial, const char *school, const char *identifier,
		  const char *name, const char *version, void *arg);
	void *arg;
};

static int installed_row(sqlite3_stmt *st, void *ctx)
{
	struct installed_cb *c = ctx;
	return c->fn(sqlite3_column_int64(st, 0), text(st, 1), text(st, 2), text(st, 3),
		     text(st, 4), text(st, 5), c->arg);
}

int db_policy_each_installed_app(struct db *db, const char *school,
				 int (*fn)(int64_t device_id, const char *serial,
					   const char *school, const char *identifier,
					   const char *name, const char *version, void *arg),
				 void *arg)
{
	struct installed_cb c = {fn, arg};
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT d.id, coalesce(d.serial,''), coalesce(d.school,''),"
			 " a.identifier, a.name, a.short_version FROM device d"
			 " JOIN device_app a ON a.device_id = d.id"
			 " WHERE d.enrollment = 'enrolled' AND (?1 IS NULL OR d.school = ?1)"
			 " ORDER BY d.id",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school);
	return rows(db, st, installed_row, &c);
}
