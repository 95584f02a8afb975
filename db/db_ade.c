/* db_ade.c - the ADE server token (secrets sealed by the caller), the
 * tablets ASM assigned, the enrolment profiles, the sync's state. */
#include "db_int.h"
#include "db_ade.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_ade_token_put(struct db *db, const struct db_ade_token *t)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT OR REPLACE INTO ade_token (id, consumer_key, access_token,"
			 " consumer_secret, access_secret, expiry, imported_at, imported_by)"
			 " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, t->consumer_key);
	db_bind_text(st, 2, t->access_token);
	sqlite3_bind_blob(st, 3, t->consumer_secret, (int)t->consumer_secret_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, t->access_secret, (int)t->access_secret_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t->expiry);
	sqlite3_bind_int64(st, 6, t->imported_at);
	db_bind_text(st, 7, t->imported_by);
	return db_step_done(db, st, 0);
}

int db_ade_token_get(struct db *db, struct db_ade_token *ret)
{
	sqlite3_stmt *st;
	memset(ret, 0, sizeof(*ret));
	int rc =
	    db_stmt(db,
		    "SELECT consumer_key, access_token, consumer_secret, access_secret, expiry,"
		    " imported_at, imported_by FROM ade_token WHERE id = 1",
		    &st);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_copy(st, 0, ret->consumer_key, sizeof(ret->consumer_key));
		db_col_copy(st, 1, ret->access_token, sizeof(ret->access_token));
		ret->consumer_secret = db_col_blob_dup(st, 2, &ret->consumer_secret_len);
		ret->access_secret = db_col_blob_dup(st, 3, &ret->access_secret_len);
		ret->expiry = sqlite3_column_int64(st, 4);
		ret->imported_at = sqlite3_column_int64(st, 5);
		db_col_copy(st, 6, ret->imported_by, sizeof(ret->imported_by));
		rc = SQLITE_DONE;
		if (!ret->consumer_secret || !ret->access_secret) {
			db_ade_token_clear(ret);
			db_done(st);
			return AP_ENOMEM;
		}
		return db_rows_done(db, st, rc);
	}
	rc = db_rows_done(db, st, rc);
	return rc < 0 ? rc : AP_ENOTFOUND;
}

void db_ade_token_clear(struct db_ade_token *t)
{
	free(t->consumer_secret);
	free(t->access_secret);
	t->consumer_secret = t->access_secret = NULL;
	t->consumer_secret_len = t->access_secret_len = 0;
}

#define ADE_DEVICE_COLS                                                                        \
	"device_id, serial, model, description, color, asset_tag, os, device_family,"          \
	" order_number, op_type, coalesce(op_date, 0), coalesce(assigned_at, 0), assigned_by," \
	" profile_status, profile_uuid, coalesce(profile_id, 0), assign_state, assign_error,"  \
	" coalesce(assign_after, 0), coalesce(removed_at, 0), seen_at, created_at,"            \
	" coalesce(enrolled_at, 0), coalesce(refused_at, 0), refusal, coalesce(configured_at, 0)"

static void ade_device_row(sqlite3_stmt *st, struct db_ade_device *d)
{
	d->device_id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, d->serial, sizeof(d->serial));
	db_col_copy(st, 2, d->model, sizeof(d->model));
	db_col_copy(st, 3, d->description, sizeof(d->description));
	db_col_copy(st, 4, d->color, sizeof(d->color));
	db_col_copy(st, 5, d->asset_tag, sizeof(d->asset_tag));
	db_col_copy(st, 6, d->os, sizeof(d->os));
	db_col_copy(st, 7, d->device_family, sizeof(d->device_family));
	db_col_copy(st, 8, d->order_number, sizeof(d->order_number));
	db_col_copy(st, 9, d->op_type, sizeof(d->op_type));
	d->op_date = sqlite3_column_int64(st, 10);
	d->assigned_at = sqlite3_column_int64(st, 11);
	db_col_copy(st, 12, d->assigned_by, sizeof(d->assigned_by));
	db_col_copy(st, 13, d->profile_status, sizeof(d->profile_status));
	db_col_copy(st, 14, d->profile_uuid, sizeof(d->profile_uuid));
	d->profile_id = sqlite3_column_int64(st, 15);
	db_col_copy(st, 16, d->assign_state, sizeof(d->assign_state));
	db_col_copy(st, 17, d->assign_error, sizeof(d->assign_error));
	d->assign_after = sqlite3_column_int64(st, 18);
	d->removed_at = sqlite3_column_int64(st, 19);
	d->seen_at = sqlite3_column_int64(st, 20);
	d->created_at = sqlite3_column_int64(st, 21);
	d->enrolled_at = sqlite3_column_int64(st, 22);
	d->refused_at = sqlite3_column_int64(st, 23);
	db_col_copy(st, 24, d->refusal, sizeof(d->refusal));
	d->configured_at = sqlite3_column_int64(st, 25);
}

int db_ade_device_get(struct db *db, const char *serial, struct db_ade_device *ret)
{
	sqlite3_stmt *st;
	memset(ret, 0, sizeof(*ret));
	int rc = db_stmt(db, "SELECT " ADE_DEVICE_COLS " FROM ade_device WHERE serial = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, serial);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ade_device_row(st, ret);
		return db_rows_done(db, st, SQLITE_DONE);
	}
	rc = db_rows_done(db, st, rc);
	return rc < 0 ? rc : AP_ENOTFOUND;
}

/* ---- the tablets ASM gives ------------------------------------------------------------------- */

/* The inventory's row for serial, made when missing (stock, no collège). */
static int inventory_id(struct db *db, const struct db_ade_device *d, int64_t now, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT id FROM device WHERE serial = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, d->serial);
	rc = db_step_row(db, st);
	if (rc == 0)
		*ret = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc == 0) {
		rc = db_stmt(db,
			     "UPDATE device SET"
			     " model_declared = CASE WHEN model_declared = '' THEN ?2"
			     "   ELSE model_declared END,"
			     " asset_tag = CASE WHEN asset_tag = '' THEN ?3 ELSE asset_tag END"
			     " WHERE id = ?1 AND ((model_declared = '' AND ?2 <> '')"
			     "   OR (asset_tag = '' AND ?3 <> ''))",
			     &st);
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, *ret);
		db_bind_text(st, 2, d->model);
		db_bind_text(st, 3, d->asset_tag);
		return db_step_done(db, st, 0);
	}
	if (rc != AP_ENOTFOUND)
		return rc;
	rc = db_stmt(db,
		     "INSERT INTO device(serial, model_declared, asset_tag, created_at, updated_at)"
		     " VALUES (?1, ?2, ?3, ?4, ?4)",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, d->serial);
	db_bind_text(st, 2, d->model);
	db_bind_text(st, 3, d->asset_tag);
	sqlite3_bind_int64(st, 4, now);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret = sqlite3_last_insert_rowid(db->h);
	return rc;
}

static void bind_null0(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int db_ade_device_put(struct db *db, const struct db_ade_device *d, int64_t now,
		      enum db_ade_put *ret)
{
	sqlite3_stmt *st;
	int64_t id = 0, op_date = 0;
	int deleted = strcmp(d->op_type, "deleted") == 0;
	*ret = DB_ADE_UNCHANGED;
	int rc = db_stmt(
	    db, "SELECT device_id, coalesce(op_date, 0) FROM ade_device WHERE serial = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, d->serial);
	if ((rc = db_step_row(db, st)) == 0) {
		id = sqlite3_column_int64(st, 0);
		op_date = sqlite3_column_int64(st, 1);
	}
	db_done(st);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	if (id && d->op_date && op_date > d->op_date)
		return 0; /* a sync may repeat a serial: the latest op_date wins */
	if (id && deleted) {
		rc = db_stmt(
		    db,
		    "UPDATE ade_device SET op_type = 'deleted', op_date = ?2,"
		    " removed_at = coalesce(removed_at, ?3), seen_at = ?4 WHERE device_id = ?1",
		    &st);
		if (rc < 0)
			return rc;
		sqlite3_bind_int64(st, 1, id);
		bind_null0(st, 2, d->op_date);
		sqlite3_bind_int64(st, 3, d->op_date ? d->op_date : now);
		sqlite3_bind_int64(st, 4, now);
		if ((rc = db_step_done(db, st, 0)) == 0)
			*ret = DB_ADE_REMOVED;
		return rc;
	}
	if (deleted)
		return 0; /* never ours: nothing to keep */
	int isnew = id == 0;
	if (isnew && (rc = inventory_id(db, d, now, &id)) < 0)
		return rc;
	rc = db_stmt(
	    db,
	    "INSERT INTO ade_device(device_id, serial, model, description, color, asset_tag,"
	    " os, device_family, op_type, op_date, assigned_at, assigned_by, profile_status,"
	    " profile_uuid, seen_at, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)"
	    " ON CONFLICT(device_id) DO UPDATE SET model = ?3, description = ?4, color = ?5,"
	    " asset_tag = ?6, os = ?7, device_family = ?8, op_type = ?9, op_date = ?10,"
	    " assigned_at = ?11, assigned_by = ?12, profile_status = ?13,"
	    " profile_uuid = ?14, seen_at = ?15,"
	    " removed_at = CASE WHEN ?9 IN ('', 'added') THEN NULL ELSE removed_at END",
	    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, d->serial);
	db_bind_text(st, 3, d->model);
	db_bind_text(st, 4, d->description);
	db_bind_text(st, 5, d->color);
	db_bind_text(st, 6, d->asset_tag);
	db_bind_text(st, 7, d->os);
	db_bind_text(st, 8, d->device_family);
	db_bind_text(st, 9, d->op_type);
	bind_null0(st, 10, d->op_date);
	bind_null0(st, 11, d->assigned_at);
	db_bind_text(st, 12, d->assigned_by);
	db_bind_text(st, 13, d->profile_status);
	db_bind_text(st, 14, d->profile_uuid);
	sqlite3_bind_int64(st, 15, now);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret = isnew ? DB_ADE_NEW : DB_ADE_MODIFIED;
	return rc;
}

/* ---- the sync's state ------------------------------------------------------------------------ */

int db_ade_sync_get(struct db *db, struct db_ade_sync *ret)
{
	sqlite3_stmt *st;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->phase, sizeof(ret->phase), "fetch");
	int rc = db_stmt(db,
			 "SELECT cursor, phase, coalesce(cursor_at, 0), coalesce(run_at, 0),"
			 " coalesce(ok_at, 0), devices, coalesce(error_at, 0), error_status, error,"
			 " coalesce(next_at, 0) FROM ade_sync WHERE id = 1",
			 &st);
	if (rc < 0)
		return rc;
	if ((rc = db_step_row(db, st)) < 0) {
		db_done(st);
		return rc == AP_ENOTFOUND ? 0 : rc;
	}
	db_col_copy(st, 0, ret->cursor, sizeof(ret->cursor));
	db_col_copy(st, 1, ret->phase, sizeof(ret->phase));
	ret->cursor_at = sqlite3_column_int64(st, 2);
	ret->run_at = sqlite3_column_int64(st, 3);
	ret->ok_at = sqlite3_column_int64(st, 4);
	ret->devices = sqlite3_column_int64(st, 5);
	ret->error_at = sqlite3_column_int64(st, 6);
	ret->error_status = (long)sqlite3_column_int64(st, 7);
	db_col_copy(st, 8, ret->error, sizeof(ret->error));
	ret->next_at = sqlite3_column_int64(st, 9);
	db_done(st);
	return 0;
}

int db_ade_sync_cursor(struct db *db, const char *cursor, const char *phase, int64_t now)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO ade_sync(id, cursor, phase, cursor_at) VALUES (1, ?1, ?2, ?3)"
			 " ON CONFLICT(id) DO UPDATE SET cursor = ?1, phase = ?2, cursor_at = ?3",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, cursor);
	db_bind_text(st, 2, phase);
	bind_null0(st, 3, cursor[0] ? now : 0);
	return db_step_done(db, st, 0);
}

int db_ade_sync_ran(struct db *db, const struct db_ade_sync *s)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "INSERT INTO ade_sync(id, run_at, ok_at, devices, error_at, error_status,"
		    " error, next_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		    " ON CONFLICT(id) DO UPDATE SET run_at = ?1, ok_at = coalesce(?2, ok_at),"
		    " devices = ?3, error_at = ?4, error_status = ?5, error = ?6, next_at = ?7",
		    &st);
	if (rc < 0)
		return rc;
	bind_null0(st, 1, s->run_at);
	bind_null0(st, 2, s->ok_at);
	sqlite3_bind_int64(st, 3, s->devices);
	bind_null0(st, 4, s->error_at);
	sqlite3_bind_int64(st, 5, s->error_status);
	db_bind_text(st, 6, s->error);
	bind_null0(st, 7, s->next_at);
	return db_step_done(db, st, 0);
}

/* ---- enrolment profiles ---------------------------------------------------------------------- */

#define PROFILE_COLS                                                                        \
	"SELECT p.id, p.name, coalesce(p.school, ''), p.settings, p.profile_uuid,"          \
	" coalesce(p.defined_at, 0), p.created_by, p.created_at, p.updated_at,"             \
	" (SELECT count(*) FROM ade_device a WHERE a.profile_id = p.id AND a.removed_at IS" \
	" NULL) FROM ade_profile p "

static void profile_row(sqlite3_stmt *st, struct db_ade_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, p->name, sizeof(p->name));
	db_col_copy(st, 2, p->school, sizeof(p->school));
	db_col_copy(st, 3, p->settings, sizeof(p->settings));
	db_col_copy(st, 4, p->profile_uuid, sizeof(p->profile_uuid));
	p->defined_at = sqlite3_column_int64(st, 5);
	db_col_copy(st, 6, p->created_by, sizeof(p->created_by));
	p->created_at = sqlite3_column_int64(st, 7);
	p->updated_at = sqlite3_column_int64(st, 8);
	p->devices = sqlite3_column_int64(st, 9);
}

static int school_known(struct db *db, const char *school)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	if (school == NULL || school[0] == '\0')
		return 0;
	int rc = db_stmt(db, "SELECT count(*) FROM school WHERE uai = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school);
	if ((rc = db_step_int64(db, st, &n)) < 0)
		return rc;
	return n ? 0 : AP_ENOTFOUND;
}

int db_ade_profile_add(struct db *db, const struct db_ade_profile *p, int64_t now, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc = school_known(db, p->school);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "INSERT INTO ade_profile(name, school, settings, created_by, created_at,"
		     " updated_at) VALUES (?1, nullif(?2, ''), ?3, ?4, ?5, ?5)",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, p->name);
	db_bind_text(st, 2, p->school);
	db_bind_text(st, 3, p->settings);
	db_bind_text(st, 4, p->created_by);
	sqlite3_bind_int64(st, 5, now);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int db_ade_profile_update(struct db *db, const struct db_ade_profile *p, int64_t now)
{
	sqlite3_stmt *st;
	struct db_ade_profile cur;
	int rc = db_ade_profile_get(db, p->name, &cur);
	if (rc < 0 || (rc = school_known(db, p->school)) < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE ade_profile SET school = nullif(?2, ''), settings = ?3,"
		     " profile_uuid = '', defined_at = NULL, updated_at = ?4 WHERE id = ?1",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, cur.id);
	db_bind_text(st, 2, p->school);
	db_bind_text(st, 3, p->settings);
	sqlite3_bind_int64(st, 4, now);
	if ((rc = db_step_done(db, st, AP_ENOTFOUND)) < 0)
		return rc;
	return db_run_int64(db,
			    "UPDATE ade_device SET assign_state = 'pending', assign_after = NULL"
			    " WHERE profile_id = ?1",
			    cur.id, 0);
}

int db_ade_profile_remove(struct db *db, const char *name)
{
	struct db_ade_profile cur;
	int rc = db_ade_profile_get(db, name, &cur);
	if (rc < 0)
		return rc;
	rc = db_run_int64(db,
			  "UPDATE ade_device SET profile_id = NULL, assign_state = '',"
			  " assign_error = '', assign_after = NULL WHERE profile_id = ?1",
			  cur.id, 0);
	if (rc < 0)
		return rc;
	return db_run_int64(db, "DELETE FROM ade_profile WHERE id = ?1", cur.id, AP_ENOTFOUND);
}

int db_ade_profile_get(struct db *db, const char *name, struct db_ade_profile *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, PROFILE_COLS "WHERE p.name = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, name);
	if ((rc = db_step_row(db, st)) == 0)
		profile_row(st, ret);
	db_done(st);
	return rc;
}

int db_ade_profile_list(struct db *db, int (*fn)(const struct db_ade_profile *p, void *arg),
			void *arg)
{
	sqlite3_stmt *st;
	struct db_ade_profile *p = malloc(sizeof(*p));
	if (p == NULL)
		return AP_ENOMEM;
	int rc = db_stmt(db, PROFILE_COLS "ORDER BY p.school IS NOT NULL, p.school, p.name", &st);
	if (rc < 0) {
		free(p);
		return rc;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		profile_row(st, p);
		if (fn(p, arg))
			break;
	}
	free(p);
	return db_rows_done(db, st, rc);
}

int db_ade_profile_defined(struct db *db, int64_t id, const char *uuid, int64_t at)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "UPDATE ade_profile SET profile_uuid = ?2, defined_at = ?3 WHERE id = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, uuid);
	sqlite3_bind_int64(st, 3, at);
	return db_step_done(db, st, AP_ENOTFOUND);
}

/* ---- assignment ------------------------------------------------------------------------------ */

int db_ade_assign_todo(struct db *db, int64_t now, int64_t profile_id, int64_t after,
		       struct db_ade_todo *ret, size_t max, size_t *ret_n)
{
	sqlite3_stmt *st;
	*ret_n = 0;
	/* ade_device walked in its rowid order from after: no sort, the
	 * profile found per row through device(id) and ade_profile's school
	 * index */
	int rc = db_stmt(db,
			 "SELECT a.device_id, a.serial, p.profile_uuid FROM ade_device a"
			 " JOIN device d ON d.id = a.device_id"
			 " JOIN ade_profile p ON p.id = ?2 AND p.profile_uuid <> ''"
			 " WHERE a.device_id > ?3 AND a.removed_at IS NULL"
			 " AND coalesce((SELECT s.id FROM ade_profile s WHERE s.school = d.school),"
			 "  (SELECT f.id FROM ade_profile f WHERE f.school IS NULL)) = ?2"
			 " AND (a.profile_id IS NOT ?2 OR a.assign_state IN ('', 'pending')"
			 "  OR (a.assign_state IN ('failed', 'throttled') AND "
			 "coalesce(a.assign_after, 0) <= ?1))"
			 " ORDER BY a.device_id LIMIT ?4",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, profile_id);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ade_todo *t = &ret[(*ret_n)++];
		t->device_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, t->serial, sizeof(t->serial));
		t->profile_id = profile_id;
		db_col_copy(st, 2, t->profile_uuid, sizeof(t->profile_uuid));
	}
	return db_rows_done(db, st, rc);
}

int db_ade_assign_set(struct db *db, const char *serial, int64_t profile_id, const char *state,
		      const char *error, int64_t after)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE ade_device SET profile_id = ?2, assign_state = ?3,"
			 " assign_error = ?4, assign_after = ?5 WHERE serial = ?1",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, serial);
	bind_null0(st, 2, profile_id);
	db_bind_text(st, 3, state);
	db_bind_text(st, 4, error ? error : "");
	bind_null0(st, 5, after);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_ade_counts(struct db *db, struct db_ade_counts *ret)
{
	sqlite3_stmt *st;
	memset(ret, 0, sizeof(*ret));
	int rc = db_stmt(db,
			 "SELECT count(*), count(removed_at),"
			 " sum(removed_at IS NULL AND assign_state = 'assigned'),"
			 " sum(removed_at IS NULL AND assign_state = 'pending'),"
			 " sum(removed_at IS NULL AND assign_state = 'failed'),"
			 " sum(removed_at IS NULL AND assign_state = 'throttled'),"
			 " sum(removed_at IS NULL AND assign_state = '') FROM ade_device",
			 &st);
	if (rc < 0)
		return rc;
	if ((rc = db_step_row(db, st)) < 0) {
		db_done(st);
		return rc;
	}
	int64_t *out[] = {&ret->known,	&ret->removed,	 &ret->assigned, &ret->pending,
			  &ret->failed, &ret->throttled, &ret->none};
	for (int i = 0; i < 7; i++)
		*out[i] = sqlite3_column_int64(st, i);
	db_done(st);
	return 0;
}

int db_ade_device_list(struct db *db, const char *school, int removed, int64_t after, size_t limit,
		       int (*fn)(const struct db_ade_device *d, const char *school,
				 const char *profile, void *arg),
		       void *arg, int64_t *ret_next)
{
	sqlite3_stmt *st;
	struct db_ade_device d;
	char uai[16], prof[65];
	struct db_page pg = {.limit = limit};
	int rc = db_stmt(db,
			 "SELECT " ADE_DEVICE_COLS ", coalesce(school, ''), coalesce(pname, '')"
			 " FROM (SELECT ade_device.*, (SELECT school FROM device"
			 "  WHERE device.id = ade_device.device_id) AS school,"
			 "  (SELECT name FROM ade_profile WHERE ade_profile.id ="
			 "  ade_device.profile_id) AS pname FROM ade_device"
			 "  WHERE device_id > ?1 AND (removed_at IS NOT NULL) = ?3)"
			 " WHERE (?2 IS NULL OR school = ?2) ORDER BY device_id LIMIT ?4",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, after);
	db_bind_text(st, 2, school);
	sqlite3_bind_int(st, 3, removed ? 1 : 0);
	sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ade_device_row(st, &d);
		db_col_copy(st, 26, uai, sizeof(uai));
		db_col_copy(st, 27, prof, sizeof(prof));
		if (!db_page_take(&pg, d.device_id) || fn(&d, uai, prof, arg))
			break;
	}
	return db_page_done(db, st, rc, &pg, ret_next);
}
