/* db_vpp.c - Apps and Books: content tokens (sealed by the caller),
 * assets, licences, events in flight, shortages, runs. */
#include "db_int.h"
#include "db_vpp.h"
#include "ap_err.h"

#include <stdlib.h>
#include <string.h>

/* ---- tokens ---------------------------------------------------------------------------- */

int db_vpp_token_add(struct db *db, const struct db_vpp_token *t, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "INSERT INTO vpp_token (scope, school, stoken, org, location, uid, expires,"
		    " imported_by, imported_at) VALUES (?1, nullif(?2, ''), ?3, ?4, ?5, ?6, ?7,"
		    " ?8, ?9)",
		    &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, t->scope);
	db_bind_text(st, 2, t->school);
	sqlite3_bind_blob(st, 3, t->stoken, (int)t->stoken_len, SQLITE_STATIC);
	db_bind_text(st, 4, t->org);
	db_bind_text(st, 5, t->location);
	db_bind_text(st, 6, t->uid);
	sqlite3_bind_int64(st, 7, t->expires);
	db_bind_text(st, 8, t->imported_by);
	sqlite3_bind_int64(st, 9, t->imported_at);
	if ((rc = db_step_done(db, st, 0)) < 0)
		return rc;
	*ret_id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

#define TOKEN_COLS                                                                   \
	"id, scope, coalesce(school, ''), org, location, uid, expires, imported_by," \
	" imported_at, coalesce(synced_at, 0), coalesce(error_at, 0), error, stopped"

static void token_row(sqlite3_stmt *st, struct db_vpp_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, t->scope, sizeof(t->scope));
	db_col_copy(st, 2, t->school, sizeof(t->school));
	db_col_copy(st, 3, t->org, sizeof(t->org));
	db_col_copy(st, 4, t->location, sizeof(t->location));
	db_col_copy(st, 5, t->uid, sizeof(t->uid));
	t->expires = sqlite3_column_int64(st, 6);
	db_col_copy(st, 7, t->imported_by, sizeof(t->imported_by));
	t->imported_at = sqlite3_column_int64(st, 8);
	t->synced_at = sqlite3_column_int64(st, 9);
	t->error_at = sqlite3_column_int64(st, 10);
	db_col_copy(st, 11, t->error, sizeof(t->error));
	t->stopped = sqlite3_column_int(st, 12);
}

int db_vpp_token_get(struct db *db, int64_t id, struct db_vpp_token *ret)
{
	sqlite3_stmt *st;
	struct db_vpp_token t;
	int rc = db_stmt(db, "SELECT " TOKEN_COLS ", stoken FROM vpp_token WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) < 0) {
		db_done(st);
		return rc;
	}
	token_row(st, &t);
	t.stoken = db_col_blob_dup(st, 13, &t.stoken_len);
	db_done(st);
	if (t.stoken == NULL)
		return AP_ENOMEM;
	*ret = t;
	return 0;
}

int db_vpp_token_list(struct db *db, struct db_vpp_token **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	struct db_vpp_token *v = NULL;
	size_t n = 0, cap = 0;
	int rc = db_stmt(db, "SELECT " TOKEN_COLS " FROM vpp_token ORDER BY id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct db_vpp_token *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				free(v);
				db_done(st);
				return AP_ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		token_row(st, &v[n++]);
	}
	if ((rc = db_rows_done(db, st, rc)) < 0) {
		free(v);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void db_vpp_token_clear(struct db_vpp_token *t)
{
	free(t->stoken);
	t->stoken = NULL;
	t->stoken_len = 0;
}

int db_vpp_token_remove(struct db *db, int64_t id)
{
	return db_run_int64(db, "DELETE FROM vpp_token WHERE id = ?1", id, AP_ENOTFOUND);
}

int db_vpp_token_note(struct db *db, int64_t id, const char *location, const char *uid,
		      const char *error, int stopped, int64_t synced)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "UPDATE vpp_token SET location = CASE ?2 WHEN '' THEN location ELSE ?2 END,"
		    " uid = CASE ?3 WHEN '' THEN uid ELSE ?3 END, error = ?4,"
		    " error_at = CASE ?4 WHEN '' THEN NULL ELSE ?7 END,"
		    " stopped = CASE ?5 WHEN -1 THEN stopped ELSE ?5 END,"
		    " synced_at = CASE ?6 WHEN 0 THEN synced_at ELSE ?6 END WHERE id = ?1",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, location ? location : "");
	db_bind_text(st, 3, uid ? uid : "");
	db_bind_text(st, 4, error ? error : "");
	sqlite3_bind_int(st, 5, stopped);
	sqlite3_bind_int64(st, 6, synced);
	sqlite3_bind_int64(st, 7, db_now());
	return db_step_done(db, st, AP_ENOTFOUND);
}

/* ---- assets ---------------------------------------------------------------------------- */

static int assets_put(struct db *db, int64_t token_id, const struct db_vpp_asset *a, size_t n)
{
	int rc = db_run_int64(db, "DELETE FROM vpp_asset WHERE token_id = ?1", token_id, 0);
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_stmt *st;
		if ((rc = db_stmt(db,
				  "INSERT OR REPLACE INTO vpp_asset (token_id, adam_id, pricing,"
				  " product, total, assigned, available, device_assignable,"
				  " synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				  &st)) < 0)
			break;
		sqlite3_bind_int64(st, 1, token_id);
		db_bind_text(st, 2, a[i].adam_id);
		db_bind_text(st, 3, a[i].pricing);
		db_bind_text(st, 4, a[i].product);
		sqlite3_bind_int64(st, 5, a[i].total);
		sqlite3_bind_int64(st, 6, a[i].assigned);
		sqlite3_bind_int64(st, 7, a[i].available);
		sqlite3_bind_int(st, 8, a[i].device_assignable);
		sqlite3_bind_int64(st, 9, a[i].synced_at);
		rc = db_step_done(db, st, 0);
	}
	return rc;
}

int db_vpp_assets_replace(struct db *db, int64_t token_id, const struct db_vpp_asset *a, size_t n)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	return db_end(db, assets_put(db, token_id, a, n));
}

int db_vpp_asset_each(struct db *db, int64_t token_id,
		      int (*fn)(const struct db_vpp_asset *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT token_id, adam_id, pricing, product, total, assigned, available,"
		    " device_assignable, synced_at FROM vpp_asset WHERE ?1 = 0 OR token_id = ?1"
		    " ORDER BY token_id, adam_id, pricing",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_vpp_asset a;
		memset(&a, 0, sizeof(a));
		a.token_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, a.adam_id, sizeof(a.adam_id));
		db_col_copy(st, 2, a.pricing, sizeof(a.pricing));
		db_col_copy(st, 3, a.product, sizeof(a.product));
		a.total = sqlite3_column_int64(st, 4);
		a.assigned = sqlite3_column_int64(st, 5);
		a.available = sqlite3_column_int64(st, 6);
		a.device_assignable = sqlite3_column_int(st, 7);
		a.synced_at = sqlite3_column_int64(st, 8);
		if (fn(&a, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

/* ---- licences -------------------------------------------------------------------------- */

int db_vpp_licence_set(struct db *db, const struct db_vpp_licence *l)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO vpp_licence (token_id, serial, adam_id, pricing,"
			 " state, event_id, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, l->token_id);
	db_bind_text(st, 2, l->serial);
	db_bind_text(st, 3, l->adam_id);
	db_bind_text(st, 4, l->pricing[0] ? l->pricing : "STDQ");
	db_bind_text(st, 5, l->state);
	db_bind_text(st, 6, l->event_id);
	sqlite3_bind_int64(st, 7, l->since);
	return db_step_done(db, st, 0);
}

int db_vpp_licence_drop(struct db *db, int64_t token_id, const char *serial, const char *adam_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "DELETE FROM vpp_licence WHERE token_id = ?1 AND serial = ?2"
			 " AND adam_id = ?3",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	db_bind_text(st, 2, serial);
	db_bind_text(st, 3, adam_id);
	return db_step_done(db, st, 0);
}

int db_vpp_licence_each(struct db *db, int64_t token_id,
			int (*fn)(const struct db_vpp_licence *l, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT token_id, serial, adam_id, pricing, state, event_id, since"
			 " FROM vpp_licence WHERE ?1 = 0 OR token_id = ?1"
			 " ORDER BY token_id, adam_id, serial",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_vpp_licence l;
		memset(&l, 0, sizeof(l));
		l.token_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, l.serial, sizeof(l.serial));
		db_col_copy(st, 2, l.adam_id, sizeof(l.adam_id));
		db_col_copy(st, 3, l.pricing, sizeof(l.pricing));
		db_col_copy(st, 4, l.state, sizeof(l.state));
		db_col_copy(st, 5, l.event_id, sizeof(l.event_id));
		l.since = sqlite3_column_int64(st, 6);
		if (fn(&l, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_vpp_held_each(struct db *db, int64_t device_id,
		     int (*fn)(int64_t device_id, const char *adam_id, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT d.id, l.adam_id FROM vpp_licence l JOIN device d ON d.serial ="
			 " l.serial WHERE l.state = 'associated' AND d.enrollment = 'enrolled'"
			 " AND (?1 = 0 OR d.id = ?1)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), arg))
			break;
	return db_rows_done(db, st, rc);
}

int db_vpp_waiting(struct db *db, int64_t device_id)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_stmt(db,
			 "SELECT count(*) FROM vpp_licence l JOIN device d ON d.serial = l.serial"
			 " WHERE d.id = ?1 AND l.state = 'associating'",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	rc = db_step_int64(db, st, &n);
	return rc < 0 ? rc : n > 0;
}

int db_vpp_token_for(struct db *db, const char *school, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc = db_stmt(db,
			 "SELECT coalesce((SELECT id FROM vpp_token WHERE school = ?1),"
			 " (SELECT id FROM vpp_token WHERE scope = 'fleet'), 0)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school ? school : "");
	if ((rc = db_step_int64(db, st, &id)) < 0)
		return rc;
	*ret_id = id;
	return 0;
}

int db_vpp_tablet_each(struct db *db,
		       int (*fn)(int64_t id, const char *serial, const char *school, void *arg),
		       void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT id, serial, coalesce(school, '') FROM device"
			 " WHERE state <> 'retired'"
			 " AND serial IS NOT NULL AND serial <> '' ORDER BY id",
			 &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2), arg))
			break;
	return db_rows_done(db, st, rc);
}

/* ---- events, shortages, runs ----------------------------------------------------------- */

int db_vpp_event_add(struct db *db, const char *event_id, int64_t token_id, const char *kind,
		     const char *adam_id, int64_t serials)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO vpp_event (event_id, token_id, kind, adam_id,"
			 " serials, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, event_id);
	sqlite3_bind_int64(st, 2, token_id);
	db_bind_text(st, 3, kind);
	db_bind_text(st, 4, adam_id);
	sqlite3_bind_int64(st, 5, serials);
	sqlite3_bind_int64(st, 6, db_now());
	return db_step_done(db, st, 0);
}

int db_vpp_event_drop(struct db *db, const char *event_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "DELETE FROM vpp_event WHERE event_id = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, event_id);
	return db_step_done(db, st, 0);
}

static int shorts_put(struct db *db, const struct db_vpp_short *s, size_t n)
{
	int rc = db_exec(db, "DELETE FROM vpp_short");
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_stmt *st;
		if ((rc = db_stmt(db,
				  "INSERT OR REPLACE INTO vpp_short (token_id, school, adam_id,"
				  " wanted, available, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				  &st)) < 0)
			break;
		sqlite3_bind_int64(st, 1, s[i].token_id);
		db_bind_text(st, 2, s[i].school);
		db_bind_text(st, 3, s[i].adam_id);
		sqlite3_bind_int64(st, 4, s[i].wanted);
		sqlite3_bind_int64(st, 5, s[i].available);
		sqlite3_bind_int64(st, 6, s[i].at);
		rc = db_step_done(db, st, 0);
	}
	return rc;
}

int db_vpp_short_replace(struct db *db, const struct db_vpp_short *s, size_t n)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	return db_end(db, shorts_put(db, s, n));
}

int db_vpp_short_each(struct db *db, const char *school,
		      int (*fn)(const struct db_vpp_short *s, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT token_id, school, adam_id, wanted, available, at FROM vpp_short"
			 " WHERE ?1 IS NULL OR school = ?1 ORDER BY school, adam_id",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_vpp_short s;
		memset(&s, 0, sizeof(s));
		s.token_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, s.school, sizeof(s.school));
		db_col_copy(st, 2, s.adam_id, sizeof(s.adam_id));
		s.wanted = sqlite3_column_int64(st, 3);
		s.available = sqlite3_column_int64(st, 4);
		s.at = sqlite3_column_int64(st, 5);
		if (fn(&s, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_vpp_short_for(struct db *db, int64_t device_id, const char *adam_id)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_stmt(db,
			 "SELECT count(*) FROM vpp_short s JOIN device d ON coalesce(d.school, '')"
			 " = s.school WHERE d.id = ?1 AND s.adam_id = ?2",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, adam_id);
	rc = db_step_int64(db, st, &n);
	return rc < 0 ? rc : n > 0;
}

int db_vpp_run_put(struct db *db, const struct db_vpp_run *r)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "INSERT INTO vpp_run (id, runs, run_at, ok_at, associated, disassociated, ms,"
		    " error_at, error) VALUES (1, 1, ?1, CASE ?6 WHEN '' THEN ?1 END, ?2, ?3, ?4,"
		    " CASE ?6 WHEN '' THEN NULL ELSE ?5 END, ?6) ON CONFLICT(id) DO UPDATE SET"
		    " runs = runs + 1, run_at = ?1, ok_at = CASE ?6 WHEN '' THEN ?1 ELSE ok_at END,"
		    " associated = ?2, disassociated = ?3, ms = ?4,"
		    " error_at = CASE ?6 WHEN '' THEN NULL ELSE ?5 END, error = ?6",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->run_at);
	sqlite3_bind_int64(st, 2, r->associated);
	sqlite3_bind_int64(st, 3, r->disassociated);
	sqlite3_bind_int64(st, 4, r->ms);
	sqlite3_bind_int64(st, 5, r->error_at ? r->error_at : db_now());
	db_bind_text(st, 6, r->error);
	return db_step_done(db, st, 0);
}

int db_vpp_run_get(struct db *db, struct db_vpp_run *ret)
{
	sqlite3_stmt *st;
	memset(ret, 0, sizeof(*ret));
	int rc = db_stmt(db,
			 "SELECT coalesce(run_at, 0), coalesce(ok_at, 0), associated,"
			 " disassociated, ms, coalesce(error_at, 0), error, runs FROM vpp_run"
			 " WHERE id = 1",
			 &st);
	if (rc < 0)
		return rc;
	if ((rc = db_step_row(db, st)) < 0) {
		db_done(st);
		return rc == AP_ENOTFOUND ? 0 : rc;
	}
	ret->run_at = sqlite3_column_int64(st, 0);
	ret->ok_at = sqlite3_column_int64(st, 1);
	ret->associated = sqlite3_column_int64(st, 2);
	ret->disassociated = sqlite3_column_int64(st, 3);
	ret->ms = sqlite3_column_int64(st, 4);
	ret->error_at = sqlite3_column_int64(st, 5);
	db_col_copy(st, 6, ret->error, sizeof(ret->error));
	ret->runs = sqlite3_column_int64(st, 7);
	db_done(st);
	return 0;
}
