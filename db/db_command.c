/* db_command.c - the command queue. */
#include "db_int.h"
#include "db_command.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING "('queued','sent','notnow')"

int db_cmd_pending(struct db *db, int64_t device_id, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "SELECT count(*) FROM command WHERE device_id = ? AND status IN " PENDING, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	return db_step_int64(db, st, ret_n);
}

static int has_twin(struct db *db, int64_t device_id, const char *type, const char *dedupe)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT 1 FROM command WHERE device_id = ? AND type = ? AND dedupe = ?"
			 " AND status IN " PENDING " LIMIT 1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, type);
	db_bind_text(st, 3, dedupe);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_rc(db, rc);
	db_done(st);
	return rc;
}

static int enqueue(struct db *db, int64_t device_id, const char *type, const char *dedupe,
		   const char *uuid, const char *payload, size_t len, const char *blob_ref,
		   const char *origin, const char *created_by, int64_t expires_at,
		   int64_t queue_max, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = has_twin(db, device_id, type, dedupe ? dedupe : "")) != 0) {
		rc = rc > 0 ? AP_ECONFLICT : rc;
		goto out;
	}
	if ((rc = db_cmd_pending(db, device_id, &n)) < 0)
		goto out;
	if (n >= queue_max) {
		rc = AP_ELIMIT;
		goto out;
	}
	rc = db_stmt(db,
		     "INSERT INTO command(uuid, device_id, type, status, payload, dedupe, origin,"
		     " created_by, created_at, expires_at, blob_ref)"
		     " VALUES (?,?,?,'queued',?,?,?,?,?,?,?)",
		     &st);
	if (rc < 0)
		goto out;
	db_bind_text(st, 1, uuid);
	sqlite3_bind_int64(st, 2, device_id);
	db_bind_text(st, 3, type);
	sqlite3_bind_blob(st, 4, payload, (int)len, SQLITE_STATIC);
	db_bind_text(st, 5, dedupe ? dedupe : "");
	db_bind_text(st, 6, origin ? origin : "staff");
	db_bind_text(st, 7, created_by ? created_by : "");
	sqlite3_bind_int64(st, 8, db_now());
	sqlite3_bind_int64(st, 9, expires_at);
	db_bind_text(st, 10, blob_ref);
	rc = db_step_done(db, st, 0);
	if (rc == 0 && ret_id)
		*ret_id = sqlite3_last_insert_rowid(db->h);
out:
	if (rc == AP_ECONFLICT || rc == AP_ELIMIT) {
		/* a refusal, nothing written: must not doom an enclosing
		 * transaction (bulk queueing skips such devices) */
		db_commit(db);
		return rc;
	}
	return db_end(db, rc);
}

int db_cmd_enqueue(struct db *db, int64_t device_id, const char *type, const char *dedupe,
		   const char *uuid, const char *payload, size_t len, const char *origin,
		   const char *created_by, int64_t expires_at, int64_t queue_max, int64_t *ret_id)
{
	return enqueue(db, device_id, type, dedupe, uuid, payload, len, NULL, origin, created_by,
		       expires_at, queue_max, ret_id);
}

int db_cmd_enqueue_ref(struct db *db, int64_t device_id, const char *type, const char *dedupe,
		       const char *uuid, const char *blob_ref, const char *origin,
		       const char *created_by, int64_t expires_at, int64_t queue_max,
		       int64_t *ret_id)
{
	return enqueue(db, device_id, type, dedupe, uuid, "", 0, blob_ref, origin, created_by,
		       expires_at, queue_max, ret_id);
}

#define CMD_SEL                                                                     \
	"SELECT id, uuid, device_id, type, status, origin, created_by, created_at," \
	" coalesce(sent_at,0), coalesce(done_at,0), expires_at, error"
#define CMD_COLS CMD_SEL " FROM command "

static void fill(sqlite3_stmt *st, struct db_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, c->uuid, sizeof(c->uuid));
	c->device_id = sqlite3_column_int64(st, 2);
	db_col_copy(st, 3, c->type, sizeof(c->type));
	db_col_copy(st, 4, c->status, sizeof(c->status));
	db_col_copy(st, 5, c->origin, sizeof(c->origin));
	db_col_copy(st, 6, c->created_by, sizeof(c->created_by));
	c->created_at = sqlite3_column_int64(st, 7);
	c->sent_at = sqlite3_column_int64(st, 8);
	c->done_at = sqlite3_column_int64(st, 9);
	c->expires_at = sqlite3_column_int64(st, 10);
	db_col_copy(st, 11, c->error, sizeof(c->error));
}

int db_cmd_next(struct db *db, int64_t device_id, struct db_cmd *ret, char **ret_payload,
		size_t *ret_len)
{
	sqlite3_stmt *st;
	struct db_cmd c;
	char *payload = NULL;
	size_t len = 0;
	int64_t now = db_now();
	int rc =
	    db_stmt(db,
		    CMD_SEL ", payload, coalesce(blob_ref,'') FROM command WHERE device_id = ? AND "
			    "status IN " PENDING " AND expires_at > ? ORDER BY id LIMIT 1",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = db_step_row(db, st)) < 0) {
		db_done(st);
		return rc;
	}
	fill(st, &c);
	/* '' for commands built from a blob: SQLite gives NULL */
	if ((payload = (char *)db_col_blob_dup(st, 12, &len)) == NULL) {
		db_done(st);
		return AP_ENOMEM;
	}
	db_col_copy(st, 13, c.blob_ref, sizeof(c.blob_ref));
	db_done(st);
	rc = db_stmt(db, "UPDATE command SET status = 'sent', sent_at = ? WHERE id = ?", &st);
	if (rc < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, c.id);
	rc = db_step_done(db, st, 0);
	if (rc < 0)
		goto fail;
	snprintf(c.status, sizeof(c.status), "sent");
	c.sent_at = now;
	*ret = c;
	*ret_payload = payload;
	*ret_len = len;
	return 0;
fail:
	free(payload);
	return rc;
}

static int find(struct db *db, const char *sql, int64_t device_id, const char *uuid,
		struct db_cmd *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uuid);
	if (device_id)
		sqlite3_bind_int64(st, 2, device_id);
	if ((rc = db_step_row(db, st)) == 0)
		fill(st, ret);
	db_done(st);
	return rc;
}

int db_cmd_get(struct db *db, const char *uuid, struct db_cmd *ret)
{
	return find(db, CMD_COLS "WHERE uuid = ?", 0, uuid, ret);
}

static int is_pending(const char *status)
{
	return strcmp(status, "queued") == 0 || strcmp(status, "sent") == 0 ||
	       strcmp(status, "notnow") == 0;
}

int db_cmd_report(struct db *db, int64_t device_id, const char *uuid, const char *status,
		  const void *result, size_t result_len, const char *error, struct db_cmd *ret,
		  int *ret_dup)
{
	struct db_cmd c;
	sqlite3_stmt *st;
	int notnow = strcmp(status, "notnow") == 0;
	int rc = find(db, CMD_COLS "WHERE uuid = ? AND device_id = ?", device_id, uuid, &c);
	if (rc < 0)
		return rc;
	if (!is_pending(c.status)) {
		if (ret)
			*ret = c;
		if (ret_dup)
			*ret_dup = 1;
		return 0;
	}
	rc = db_stmt(db,
		     "UPDATE command SET status = ?1, done_at = ?2, result = ?3, error = ?4,"
		     " sealed = CASE WHEN ?1 = 'notnow' THEN sealed END WHERE id = ?5",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, status);
	if (notnow)
		sqlite3_bind_null(st, 2);
	else
		sqlite3_bind_int64(st, 2, db_now());
	if (result && !notnow)
		sqlite3_bind_blob(st, 3, result, (int)result_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	db_bind_text(st, 4, error ? error : "");
	sqlite3_bind_int64(st, 5, c.id);
	rc = db_step_done(db, st, 0);
	if (rc < 0)
		return rc;
	snprintf(c.status, sizeof(c.status), "%s", status);
	snprintf(c.error, sizeof(c.error), "%s", error ? error : "");
	if (!notnow)
		c.done_at = db_now();
	if (ret)
		*ret = c;
	if (ret_dup)
		*ret_dup = 0;
	return 0;
}

int db_cmd_blob(struct db *db, const char *uuid, enum db_cmd_part part, char **ret, size_t *ret_len)
{
	static const char *const sql[] = {
	    [DB_CMD_PAYLOAD] = "SELECT payload FROM command WHERE uuid = ?",
	    [DB_CMD_RESULT] = "SELECT result FROM command WHERE uuid = ?",
	    [DB_CMD_SEALED] = "SELECT sealed FROM command WHERE uuid = ?",
	};
	sqlite3_stmt *st;
	if ((unsigned)part > DB_CMD_SEALED)
		return AP_EINVAL;
	int rc = db_stmt(db, sql[part], &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uuid);
	if ((rc = db_step_row(db, st)) == 0) {
		*ret = NULL;
		*ret_len = 0;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
		    (*ret = (char *)db_col_blob_dup(st, 0, ret_len)) == NULL)
			rc = AP_ENOMEM;
	}
	db_done(st);
	return rc;
}

int db_cmd_set_sealed(struct db *db, const char *uuid, const void *sealed, size_t len)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "UPDATE command SET sealed = ? WHERE uuid = ? AND status IN " PENDING, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, sealed, (int)len, SQLITE_STATIC);
	db_bind_text(st, 2, uuid);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_cmd_list(struct db *db, int64_t device_id, int64_t limit,
		int (*fn)(const struct db_cmd *c, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, CMD_COLS "WHERE device_id = ? ORDER BY id DESC LIMIT ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : 1000);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_cmd c;
		fill(st, &c);
		if (fn(&c, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}

int db_cmd_cancel(struct db *db, const char *uuid)
{
	sqlite3_stmt *st;
	struct db_cmd c;
	int rc = db_cmd_get(db, uuid, &c);
	if (rc < 0)
		return rc;
	if (!is_pending(c.status))
		return AP_ECONFLICT;
	rc = db_stmt(
	    db,
	    "UPDATE command SET status = 'canceled', done_at = ?, sealed = NULL WHERE id = ?"
	    " AND status IN " PENDING,
	    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, c.id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ECONFLICT) : db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_cmd_expire(struct db *db, int64_t now, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE command SET status = 'expired', done_at = ?1, sealed = NULL"
			 " WHERE status IN " PENDING " AND expires_at <= ?1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}

int db_cmd_prune(struct db *db, int64_t before, int64_t batch, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "DELETE FROM command WHERE id IN (SELECT id FROM command"
			 " WHERE done_at IS NOT NULL AND done_at < ? LIMIT ?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, batch);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}
