/* db_ddm_update.c - the tablets as the iPadOS update views read them. */
#include "db_int.h"
#include "db_ddm_update.h"
#include "ap_err.h"

#include <string.h>

/* Over some collèges the tablets are found by collège (device_school):
 * the unary + keeps the planner off device_enrollment, which it otherwise
 * prefers (an equality against an IN list) and which at a million
 * enrolled tablets read them all to keep one collège's (6 s instead of a
 * few ms; tools/bench-million). */
#define ALL  "d.enrollment = 'enrolled' AND ?1 IS NULL"
#define SOME "+d.enrollment = 'enrolled' AND d.school IN (SELECT value FROM json_each(?1))"

#define ITEM(alias, name)                                                               \
	" LEFT JOIN device_ddm_item " alias " ON " alias ".device_id = d.id AND " alias \
	".item = '" name "'"

#define ITEMS                                 \
	ITEM("v", DB_DDM_UPDATE_VERSION_ITEM) \
	ITEM("st", DB_DDM_UPDATE_STATE_ITEM)  \
	ITEM("p", DB_DDM_UPDATE_PENDING_ITEM) ITEM("f", DB_DDM_UPDATE_FAILURE_ITEM)

/* the items' values as text: a string's content, a member of an object */
#define TABLETS_SQL(where)                                                                  \
	"SELECT d.id, coalesce(d.school, ''), coalesce(d.serial, ''),"                      \
	" coalesce(d.product_name, ''), coalesce(d.os_version, ''),"                        \
	" s.enabled_at IS NOT NULL, coalesce(s.status_at, 0),"                              \
	" v.value ->> '$', st.value ->> '$', p.value ->> '$.os-version',"                   \
	" coalesce(f.value ->> '$.count', 0), f.value ->> '$.reason'"                       \
	" FROM device d LEFT JOIN device_ddm s ON s.device_id = d.id" ITEMS " WHERE " where \
	" ORDER BY coalesce(d.school, ''), coalesce(d.serial, ''), d.id"

static const char *text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return s ? s : "";
}

int db_ddm_update_tablets(struct db *db, const char *const *only, size_t n_only,
			  int (*fn)(const struct db_ddm_update_tablet *t, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt_scoped(db, only ? TABLETS_SQL(SOME) : TABLETS_SQL(ALL), only, n_only, &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ddm_update_tablet t = {
		    .device_id = sqlite3_column_int64(st, 0),
		    .school = text(st, 1),
		    .serial = text(st, 2),
		    .product_name = text(st, 3),
		    .os_version = text(st, 4),
		    .enabled = sqlite3_column_int(st, 5),
		    .status_at = sqlite3_column_int64(st, 6),
		    .version = (const char *)sqlite3_column_text(st, 7),
		    .install_state = (const char *)sqlite3_column_text(st, 8),
		    .pending_version = (const char *)sqlite3_column_text(st, 9),
		    .failures = sqlite3_column_int64(st, 10),
		    .failure_reason = (const char *)sqlite3_column_text(st, 11),
		};
		if (fn(&t, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}
