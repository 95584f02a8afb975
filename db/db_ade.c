/* db_ade.c - the ADE server token's one row (secrets sealed by the caller). */
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
