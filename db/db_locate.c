/* db_locate.c - the geolocation register. */
#include "db_int.h"
#include "db_locate.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>

int db_locate_incident_ok(struct db *db, int64_t device_id, int64_t incident_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT 1 FROM incident WHERE id = ? AND device_id = ?"
			 " AND status = 'open' AND kind IN ('loss','theft')",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, incident_id);
	sqlite3_bind_int64(st, 2, device_id);
	rc = db_step_row(db, st);
	db_done(st);
	return rc;
}

int db_locate_create(struct db *db, int64_t device_id, int64_t incident_id,
		     const char *authority_ref, const char *reason, const char *by, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO locate_request(device_id, incident_id, authority_ref,"
			 " reason, requested_by, requested_at) VALUES (?,?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	if (incident_id > 0)
		sqlite3_bind_int64(st, 2, incident_id);
	db_bind_text(st, 3, authority_ref ? authority_ref : "");
	db_bind_text(st, 4, reason);
	db_bind_text(st, 5, by);
	sqlite3_bind_int64(st, 6, db_now());
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

#define LOC_COLS                                                                          \
	"SELECT l.id, l.device_id, coalesce(d.serial,''), coalesce(d.school,''),"         \
	" coalesce(l.incident_id,0), l.authority_ref, l.reason, l.state, l.requested_by," \
	" l.requested_at, l.decided_by, coalesce(l.decided_at,0), l.deny_reason,"         \
	" coalesce(l.expires_at,0), coalesce(l.closed_at,0), l.outcome,"                  \
	" coalesce(l.purge_after,0), coalesce(l.purged_at,0), l.fixes, l.reads"           \
	" FROM locate_request l JOIN device d ON d.id = l.device_id "

static void fill(sqlite3_stmt *st, struct db_locate *l)
{
	memset(l, 0, sizeof(*l));
	l->id = sqlite3_column_int64(st, 0);
	l->device_id = sqlite3_column_int64(st, 1);
	db_col_copy(st, 2, l->serial, sizeof(l->serial));
	db_col_copy(st, 3, l->school, sizeof(l->school));
	l->incident_id = sqlite3_column_int64(st, 4);
	db_col_copy(st, 5, l->authority_ref, sizeof(l->authority_ref));
	db_col_copy(st, 6, l->reason, sizeof(l->reason));
	db_col_copy(st, 7, l->state, sizeof(l->state));
	db_col_copy(st, 8, l->requested_by, sizeof(l->requested_by));
	l->requested_at = sqlite3_column_int64(st, 9);
	db_col_copy(st, 10, l->decided_by, sizeof(l->decided_by));
	l->decided_at = sqlite3_column_int64(st, 11);
	db_col_copy(st, 12, l->deny_reason, sizeof(l->deny_reason));
	l->expires_at = sqlite3_column_int64(st, 13);
	l->closed_at = sqlite3_column_int64(st, 14);
	db_col_copy(st, 15, l->outcome, sizeof(l->outcome));
	l->purge_after = sqlite3_column_int64(st, 16);
	l->purged_at = sqlite3_column_int64(st, 17);
	l->fixes = sqlite3_column_int64(st, 18);
	l->reads = sqlite3_column_int64(st, 19);
}

static int one(struct db *db, const char *sql, int64_t key, int64_t now, struct db_locate *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, key);
	if (now)
		sqlite3_bind_int64(st, 2, now);
	if ((rc = db_step_row(db, st)) == 0)
		fill(st, ret);
	db_done(st);
	return rc;
}

int db_locate_get(struct db *db, int64_t id, struct db_locate *ret)
{
	return one(db, LOC_COLS "WHERE l.id = ?", id, 0, ret);
}

int db_locate_active(struct db *db, int64_t device_id, struct db_locate *ret)
{
	return one(db,
		   LOC_COLS "WHERE l.device_id = ? AND l.state = 'approved' AND l.expires_at > ?"
			    " ORDER BY l.id DESC LIMIT 1",
		   device_id, db_now(), ret);
}

int db_locate_decide(struct db *db, int64_t id, int approve, const char *by, const char *why,
		     int64_t expires_at)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE locate_request SET state = ?, decided_by = ?, decided_at = ?,"
			 " deny_reason = ?, expires_at = ? WHERE id = ? AND state = 'pending'",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, approve ? "approved" : "denied");
	db_bind_text(st, 2, by);
	sqlite3_bind_int64(st, 3, db_now());
	db_bind_text(st, 4, approve ? "" : why);
	if (approve)
		sqlite3_bind_int64(st, 5, expires_at);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ECONFLICT) : db_rc(db, rc);
	db_done(st);
	return rc;
}

static int close_request(struct db *db, int64_t id, const char *outcome, int64_t purge_after)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE locate_request SET state = 'closed', outcome = ?, closed_at = ?,"
			 " purge_after = ? WHERE id = ? AND state IN ('approved','expired')",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, outcome);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_int64(st, 3, purge_after);
	sqlite3_bind_int64(st, 4, id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(db->h) ? 0 : AP_ECONFLICT) : db_rc(db, rc);
	db_done(st);
	return rc;
}

int db_locate_close(struct db *db, int64_t id, const char *outcome, int64_t purge_after)
{
	sqlite3_stmt *st;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = close_request(db, id, outcome, purge_after);
	/* closed: no new location is asked (as past the time box) */
	if (rc == 0)
		rc = db_stmt(
		    db,
		    "UPDATE command SET status = 'canceled', done_at = ?2,"
		    " error = 'geolocation request closed'"
		    " WHERE type = 'DeviceLocation' AND status IN ('queued','sent','notnow')"
		    " AND device_id = (SELECT device_id FROM locate_request WHERE id = ?1)",
		    &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, db_now());
		rc = db_step_done(db, st, 0);
	}
	return db_end(db, rc);
}

int db_locate_expire(struct db *db, int64_t now, int64_t retention_s, int64_t *ret_n)
{
	sqlite3_stmt *st;
	/* past the time box no new location is asked: cancel what is queued */
	int rc = db_stmt(db,
			 "UPDATE command SET status = 'canceled', done_at = ?1,"
			 " error = 'geolocation request expired'"
			 " WHERE type = 'DeviceLocation' AND status IN ('queued','sent','notnow')"
			 " AND device_id IN (SELECT device_id FROM locate_request"
			 " WHERE state = 'approved' AND expires_at <= ?1)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = db_step_done(db, st, 0)) < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE locate_request SET state = 'expired',"
		     " purge_after = expires_at + ?2 WHERE state = 'approved' AND expires_at <= ?1",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, retention_s);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_n = sqlite3_changes(db->h);
	return rc;
}

int db_locate_purge(struct db *db, int64_t now, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_stmt(db,
		     "DELETE FROM locate_fix WHERE request_id IN (SELECT id FROM locate_request"
		     " WHERE purge_after <= ? AND purged_at IS NULL)",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = db_step_done(db, st, 0)) < 0)
		goto out;
	rc = db_stmt(db,
		     "UPDATE locate_request SET purged_at = ?1 WHERE purge_after <= ?1"
		     " AND purged_at IS NULL",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_n = sqlite3_changes(db->h);
out:
	return db_end(db, rc);
}

int db_locate_add_fix(struct db *db, int64_t request_id, const unsigned char *sealed, size_t len)
{
	sqlite3_stmt *st;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc =
	    db_stmt(db, "INSERT INTO locate_fix(request_id, taken_at, sealed) VALUES (?,?,?)", &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, request_id);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_blob(st, 3, sealed, (int)len, SQLITE_STATIC);
	if ((rc = db_step_done(db, st, 0)) < 0)
		goto out;
	rc = db_stmt(db, "UPDATE locate_request SET fixes = fixes + 1 WHERE id = ?", &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, request_id);
	rc = db_step_done(db, st, 0);
out:
	return db_end(db, rc);
}

int db_locate_fixes(struct db *db, int64_t request_id,
		    int (*fn)(int64_t taken_at, const unsigned char *sealed, size_t len, void *arg),
		    void *arg)
{
	sqlite3_stmt *st;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_stmt(db, "UPDATE locate_request SET reads = reads + 1 WHERE id = ?", &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, request_id);
	if ((rc = db_step_done(db, st, 0)) < 0)
		goto out;
	rc = db_stmt(db, "SELECT taken_at, sealed FROM locate_fix WHERE request_id = ? ORDER BY id",
		     &st);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, request_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		       (size_t)sqlite3_column_bytes(st, 1), arg))
			break;
	rc = db_rows_done(db, st, rc);
out:
	return db_end(db, rc);
}

int db_locate_list(struct db *db, int64_t since, int (*fn)(const struct db_locate *l, void *arg),
		   void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, LOC_COLS "WHERE l.requested_at >= ? ORDER BY l.id DESC", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_locate l;
		fill(st, &l);
		if (fn(&l, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}

int db_locate_of_incident(struct db *db, int64_t incident_id,
			  int (*fn)(const struct db_locate *l, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, LOC_COLS "WHERE l.incident_id = ? ORDER BY l.id", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, incident_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_locate l;
		fill(st, &l);
		if (fn(&l, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_locate_lost_mode(struct db *db, int64_t device_id, enum db_lost_mode *ret)
{
	sqlite3_stmt *st;
	/* the newest Lost Mode command pending, else acknowledged, decides;
	 * with none, what the tablet last reported */
	int rc = db_stmt(db,
			 "SELECT (SELECT type FROM command WHERE device_id = ?1"
			 "  AND type IN ('EnableLostMode','DisableLostMode')"
			 "  AND status IN ('queued','sent','notnow') ORDER BY id DESC LIMIT 1),"
			 " (SELECT type FROM command WHERE device_id = ?1"
			 "  AND type IN ('EnableLostMode','DisableLostMode')"
			 "  AND status = 'acknowledged' ORDER BY id DESC LIMIT 1),"
			 " (SELECT coalesce(lost_mode, 0) FROM device WHERE id = ?1)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	if ((rc = db_step_row(db, st)) == 0) {
		const char *pending = (const char *)sqlite3_column_text(st, 0);
		const char *acked = (const char *)sqlite3_column_text(st, 1);
		if (pending)
			*ret = strcmp(pending, "DisableLostMode") == 0 ? DB_LOST_MODE_ENDING
								       : DB_LOST_MODE_ON;
		else if (acked)
			*ret = strcmp(acked, "EnableLostMode") == 0 ? DB_LOST_MODE_ON
								    : DB_LOST_MODE_OFF;
		else
			*ret = sqlite3_column_int(st, 2) == 1 ? DB_LOST_MODE_ON : DB_LOST_MODE_OFF;
	}
	db_done(st);
	return rc;
}

int db_locate_school_name(struct db *db, const char *uai, char *out, size_t cap)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT name FROM school WHERE uai = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uai);
	if ((rc = db_step_row(db, st)) == 0)
		db_col_copy(st, 0, out, cap);
	db_done(st);
	return rc;
}
