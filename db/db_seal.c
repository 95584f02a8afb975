/* db_seal.c - the rows listed for re-sealing by migration 8. */
#include "db_int.h"
#include "db_seal.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const what_names[] = {
    [DB_SEAL_UNLOCK_TOKEN] = "unlock_token",
    [DB_SEAL_BYPASS_CODE] = "bypass_code",
    [DB_SEAL_LOCATE_FIX] = "locate_fix",
    [DB_SEAL_COMMAND] = "command",
};

/* The record of each kind: its owner (or device id), then the blob(s). */
static const char *const read_sql[] = {
    [DB_SEAL_UNLOCK_TOKEN] = "SELECT udid, unlock_token FROM device WHERE id = ?",
    [DB_SEAL_BYPASS_CODE] = "SELECT udid, bypass_code FROM device WHERE id = ?",
    [DB_SEAL_LOCATE_FIX] = "SELECT 'locate:' || request_id, sealed FROM locate_fix WHERE id = ?",
    [DB_SEAL_COMMAND] = "SELECT device_id, payload, uuid, status IN ('queued','sent','notnow'),"
			" result FROM command WHERE id = ?",
};

static const char *const write_sql[] = {
    [DB_SEAL_UNLOCK_TOKEN] = "UPDATE device SET unlock_token = ? WHERE id = ?",
    [DB_SEAL_BYPASS_CODE] = "UPDATE device SET bypass_code = ? WHERE id = ?",
    [DB_SEAL_LOCATE_FIX] = "UPDATE locate_fix SET sealed = ? WHERE id = ?",
    [DB_SEAL_COMMAND] = "UPDATE command SET payload = ?, result = ?, sealed = ? WHERE id = ?",
};

int db_seal_legacy_count(struct db *db, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_exec(db, "PRAGMA secure_delete = ON");
	if (rc == 0)
		rc = db_stmt(db, "SELECT count(*) FROM seal_legacy", &st);
	if (rc < 0)
		return rc;
	return db_step_int64(db, st, ret_n);
}

static int unlist(struct db *db, enum db_seal_what what, int64_t id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "DELETE FROM seal_legacy WHERE what = ? AND id = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, what_names[what]);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

/* Reads the record of (what, id) into row: AP_ENOTFOUND when it is gone
 * or holds nothing. */
static int read_row(struct db *db, enum db_seal_what what, int64_t id, struct db_seal_row *row)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, read_sql[what], &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) < 0)
		goto out;
	if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
		rc = AP_ENOTFOUND;
		goto out;
	}
	memset(row, 0, sizeof(*row));
	row->what = what;
	row->id = id;
	if (what == DB_SEAL_COMMAND) {
		row->device_id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 2, row->uuid, sizeof(row->uuid));
		row->pending = sqlite3_column_int(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL &&
		    (row->result = (char *)db_col_blob_dup(st, 4, &row->result_len)) == NULL)
			rc = AP_ENOMEM;
	} else {
		db_col_copy(st, 0, row->owner, sizeof(row->owner));
	}
	if (rc == 0 && (row->old = db_col_blob_dup(st, 1, &row->old_len)) == NULL)
		rc = AP_ENOMEM;
	if (rc < 0)
		db_seal_row_clear(row);
out:
	db_done(st);
	return rc;
}

static int what_from(const char *name, enum db_seal_what *ret)
{
	for (size_t i = 0; i < sizeof(what_names) / sizeof(what_names[0]); i++)
		if (strcmp(name, what_names[i]) == 0) {
			*ret = (enum db_seal_what)i;
			return 0;
		}
	return AP_EINVAL;
}

int db_seal_legacy_first(struct db *db, struct db_seal_row *ret)
{
	for (;;) {
		sqlite3_stmt *st;
		char name[16];
		enum db_seal_what what;
		int rc =
		    db_stmt(db, "SELECT what, id FROM seal_legacy ORDER BY what, id LIMIT 1", &st);
		if (rc < 0 || (rc = db_step_row(db, st)) < 0) {
			db_done(st);
			return rc;
		}
		db_col_copy(st, 0, name, sizeof(name));
		int64_t id = sqlite3_column_int64(st, 1);
		db_done(st);
		if (what_from(name, &what) < 0)
			return AP_EDB;
		rc = read_row(db, what, id, ret);
		if (rc != AP_ENOTFOUND)
			return rc;
		if ((rc = unlist(db, what, id)) < 0)
			return rc;
	}
}

void db_seal_row_clear(struct db_seal_row *row)
{
	free(row->old);
	free(row->result);
	row->old = NULL;
	row->result = NULL;
}

int db_seal_legacy_done(struct db *db, const struct db_seal_row *row, const void *blob, size_t len)
{
	sqlite3_stmt *st;
	if (row->what == DB_SEAL_COMMAND)
		return AP_EINVAL;
	int rc = db_stmt(db, write_sql[row->what], &st);
	if (rc < 0)
		return rc;
	if (blob)
		sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row->id);
	rc = db_step_done(db, st, 0);
	return rc < 0 ? rc : unlist(db, row->what, row->id);
}

int db_seal_legacy_command(struct db *db, const struct db_seal_row *row, const char *payload,
			   size_t plen, const char *result, size_t rlen, const void *sealed,
			   size_t slen)
{
	sqlite3_stmt *st;
	if (row->what != DB_SEAL_COMMAND || payload == NULL)
		return AP_EINVAL;
	int rc = db_stmt(db, write_sql[DB_SEAL_COMMAND], &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, payload, (int)plen, SQLITE_STATIC);
	if (result)
		sqlite3_bind_blob(st, 2, result, (int)rlen, SQLITE_STATIC);
	if (sealed)
		sqlite3_bind_blob(st, 3, sealed, (int)slen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, row->id);
	rc = db_step_done(db, st, 0);
	return rc < 0 ? rc : unlist(db, row->what, row->id);
}

int db_seal_legacy_flush(struct db *db)
{
	return db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
}
