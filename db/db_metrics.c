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

int db_metrics_tablets(struct db *db, int64_t now, struct db_metrics_tablets *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT count(*),"
			 " coalesce(sum(last_seen IS NULL OR last_seen < ?1), 0),"
			 " coalesce(sum(last_seen IS NULL OR last_seen < ?2), 0)"
			 " FROM device WHERE enrollment = 'enrolled'",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now - 7 * DAY);
	sqlite3_bind_int64(st, 2, now - 30 * DAY);
	if ((rc = db_step_row(db, st)) < 0)
		return rc;
	ret->enrolled = sqlite3_column_int64(st, 0);
	ret->not_seen_7d = sqlite3_column_int64(st, 1);
	ret->not_seen_30d = sqlite3_column_int64(st, 2);
	db_done(st);
	return 0;
}
