/* db_ade.c - the ADE server token (secrets sealed by the caller), the
 * tablets ASM assigned, the enrolment profiles, the sync's state. */
#include "db_int.h"
#include "db_ade.h"
#include "ap_err.h"

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
