/* db_metrics.c - the fleet figures of GET /metrics. */
#include "db_int.h"
#include "db_metrics.h"
#include "ap_err.h"

#include <string.h>

#define DAY 86400

int db_metrics_pending(struct db *db, int64_t ret[3])
{
	static const char *const statuses[3] = {"queued", "sent", "notnow"};
	int64_t n[3] = {0, 0, 0};
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT status, count(*) FROM command"
			 " WHERE status IN ('queued','sent','notnow') GROUP BY status",
			 &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		for (size_t i = 0; s && i < 3; i++)
			if (strcmp(s, statuses[i]) == 0)
				n[i] = sqlite3_column_int64(st, 1);
	}
	if ((rc = db_rows_done(db, st, rc)) < 0)
		return rc;
	for (size_t i = 0; i < 3; i++)
		ret[i] = n[i];
	return 0;
}

/* count(*) of a literal statement; its ?1, if it has one, is v. */
static int count_of(struct db *db, const char *sql, int64_t v, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, v);
	return db_step_int64(db, st, ret);
}

/* Three index lookups, never a scan of the device rows: the enrolled from
 * device_enrollment, the unseen from device_seen's range (the unary + keeps
 * the planner off device_enrollment there: the rows looked up are only the
 * unseen ones). */
int db_metrics_tablets(struct db *db, int64_t now, struct db_metrics_tablets *ret)
{
	int64_t enrolled, never, before7, before30;
	int rc =
	    count_of(db, "SELECT count(*) FROM device WHERE enrollment = 'enrolled'", 0, &enrolled);
	if (rc == 0)
		rc = count_of(db,
			      "SELECT count(*) FROM device WHERE last_seen IS NULL"
			      " AND +enrollment = 'enrolled'",
			      0, &never);
	if (rc == 0)
		rc = count_of(db,
			      "SELECT count(*) FROM device WHERE last_seen < ?1"
			      " AND +enrollment = 'enrolled'",
			      now - 7 * DAY, &before7);
	if (rc == 0)
		rc = count_of(db,
			      "SELECT count(*) FROM device WHERE last_seen < ?1"
			      " AND +enrollment = 'enrolled'",
			      now - 30 * DAY, &before30);
	if (rc < 0)
		return rc;
	ret->enrolled = enrolled;
	ret->not_seen_7d = never + before7;
	ret->not_seen_30d = never + before30;
	return 0;
}
