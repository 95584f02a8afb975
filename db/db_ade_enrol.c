/* db_ade_enrol.c - the ADE enrolment of a tablet and its configuration. */
#include "db_int.h"
#include "db_ade_enrol.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>

int db_ade_enrol_accepted(struct db *db, int64_t device_id)
{
	return db_stamp(db,
			"UPDATE ade_device SET enrolled_at = ?1, configured_at = NULL"
			" WHERE device_id = ?2",
			device_id);
}

int db_ade_enrol_prune_codes(struct db *db, const char *serial)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "DELETE FROM enroll_code WHERE serial = ?1 AND created_by = 'ade'"
			 " AND code_hash NOT IN (SELECT code_hash FROM enroll_code_cert)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, serial);
	return db_step_done(db, st, 0);
}

int db_ade_enrol_refused(struct db *db, int64_t device_id, const char *why)
{
	sqlite3_stmt *st;
	char cut[256];
	snprintf(cut, sizeof(cut), "%s", why ? why : "");
	int rc = db_stmt(
	    db, "UPDATE ade_device SET refused_at = ?1, refusal = ?2 WHERE device_id = ?3", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, cut);
	sqlite3_bind_int64(st, 3, device_id);
	return db_step_done(db, st, AP_ENOTFOUND);
}

int db_ade_enrol_configured(struct db *db, int64_t device_id)
{
	int rc = db_stamp(db, "UPDATE ade_device SET configured_at = ?1 WHERE device_id = ?2",
			  device_id);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	return db_run_int64(db, "UPDATE device SET awaiting_config = 0 WHERE id = ?1", device_id,
			    0);
}

int db_ade_enrol_pending(struct db *db, int64_t device_id, int64_t *ret_n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT count(*) FROM command WHERE device_id = ?1"
			 " AND status IN ('queued','sent','notnow')"
			 " AND origin IN ('policy','enrolment')",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	return db_step_int64(db, st, ret_n);
}

#define CONFIGURING                                                \
	"EXISTS (SELECT 1 FROM command c WHERE c.device_id = d.id" \
	"   AND c.type = 'DeviceConfigured' AND c.status IN ('queued','sent','notnow'))"

int db_ade_enrol_state(struct db *db, int64_t device_id, int *ret_awaiting, int *ret_configuring)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT d.awaiting_config = 1 AND d.enrollment = 'enrolled', " CONFIGURING
			 " FROM device d WHERE d.id = ?1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	if ((rc = db_step_row(db, st)) == 0) {
		*ret_awaiting = sqlite3_column_int(st, 0);
		*ret_configuring = sqlite3_column_int(st, 1);
		db_done(st);
	}
	return rc;
}

int db_ade_enrol_awaiting(struct db *db, int64_t limit,
			  int (*fn)(const struct db_ade_awaiting *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT d.id, coalesce(d.enrolled_at, 0),"
		    " max(coalesce(d.enrolled_at, 0), coalesce((SELECT max(max(c.created_at,"
		    "   coalesce(c.done_at, 0))) FROM command c WHERE c.device_id = d.id), 0)),"
		    " " CONFIGURING
		    " FROM device d WHERE d.awaiting_config = 1 AND d.enrollment = 'enrolled'"
		    " ORDER BY d.id LIMIT ?1",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, limit);
	int stop = 0;
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ade_awaiting a = {sqlite3_column_int64(st, 0),
					    sqlite3_column_int64(st, 1),
					    sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3)};
		stop = fn(&a, arg);
	}
	rc = db_rows_done(db, st, rc);
	return rc < 0 ? rc : stop;
}
