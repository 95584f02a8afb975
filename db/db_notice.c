/* db_notice.c - the rows of the daily notice, one statement a list. */
#include "db_int.h"
#include "db_notice.h"
#include "ap_err.h"

#include <string.h>

/* Every list has the same columns: id, collège, serial, asset tag, tablet
 * state, holder's name, class and kind, at, at2, requester.  ?1 is the
 * start of today, ?2 the end of the leavers' week (a list
 * binds both, whether or not its statement reads them). */
#define ITEM_COLS(at, at2, who)                                                \
	" coalesce(d.serial, ''), d.asset_tag, d.state, coalesce(p.name, '')," \
	" coalesce(p.class, ''), coalesce(p.kind, ''), " at ", " at2 ", " who

static const char *const sql[DB_NOTICE_NKINDS] = {
    [DB_NOTICE_OVERDUE] = "SELECT l.id, l.school," ITEM_COLS(
	"l.due_at", "0",
	"''") " FROM loan l JOIN device d ON d.id = l.device_id JOIN person p ON p.id = l.person_id"
	      " WHERE l.state = 'open' AND l.due_at < ?1 AND l.deposited_at IS NULL"
	      " ORDER BY l.school, l.due_at, l.id",
    [DB_NOTICE_LEAVER] = "SELECT l.id, l.school," ITEM_COLS(
	"p.left_at", "coalesce(l.due_at, 0)",
	"''") " FROM person p JOIN loan l ON l.person_id = p.id AND l.state = 'open'"
	      " JOIN device d ON d.id = l.device_id"
	      " WHERE p.left_at IS NOT NULL AND p.left_at < ?2"
	      " ORDER BY l.school, p.left_at, l.id",
    [DB_NOTICE_NO_COMPLAINT] = "SELECT i.id, coalesce(i.school, '')," ITEM_COLS(
	"i.occurred_at", "i.declared_at",
	"''") " FROM incident i JOIN device d ON d.id = i.device_id"
	      " LEFT JOIN loan l ON l.id = i.loan_id LEFT JOIN person p ON p.id = l.person_id"
	      " WHERE i.kind = 'theft' AND i.status = 'open' AND i.police_ref = ''"
	      " ORDER BY i.school, i.occurred_at, i.id",
    [DB_NOTICE_LOST_MODE] = "SELECT d.id, coalesce(d.school, '')," ITEM_COLS(
	"0", "0", "''") " FROM device d LEFT JOIN person p ON 0"
			" WHERE d.lost_mode = 1 AND d.state != 'retired'"
			" ORDER BY d.school, d.serial",
    [DB_NOTICE_LOCATE_PENDING] = "SELECT r.id, coalesce(d.school, '')," ITEM_COLS(
	"r.requested_at", "0",
	"r.requested_by") " FROM locate_request r JOIN device d ON d.id = r.device_id LEFT JOIN "
			  "person p ON 0"
			  " WHERE r.state = 'pending' ORDER BY r.requested_at, r.id",
};

static void read_item(sqlite3_stmt *st, enum db_notice_kind kind, struct db_notice_item *it)
{
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, it->school, sizeof(it->school));
	db_col_copy(st, 2, it->serial, sizeof(it->serial));
	db_col_copy(st, 3, it->asset_tag, sizeof(it->asset_tag));
	db_col_copy(st, 4, it->device_state, sizeof(it->device_state));
	db_col_copy(st, 5, it->name, sizeof(it->name));
	db_col_copy(st, 6, it->class_name, sizeof(it->class_name));
	db_col_copy(st, 7, it->person_kind, sizeof(it->person_kind));
	it->at = sqlite3_column_int64(st, 8);
	it->at2 = sqlite3_column_int64(st, 9);
	db_col_copy(st, 10, it->requested_by, sizeof(it->requested_by));
}

int db_notice_items(struct db *db, enum db_notice_kind kind, int64_t today, int64_t soon,
		    int (*fn)(const struct db_notice_item *it, void *arg), void *arg)
{
	struct db_notice_item it;
	sqlite3_stmt *st;
	if ((unsigned)kind >= DB_NOTICE_NKINDS)
		return AP_EINVAL;
	int rc = db_stmt(db, sql[kind], &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, today);
	sqlite3_bind_int64(st, 2, soon);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_item(st, kind, &it);
		if (fn(&it, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_notice_waiting(struct db *db, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT count(DISTINCT device_id) FROM command"
			 " WHERE status IN ('queued','sent','notnow')",
			 &st);
	return rc < 0 ? rc : db_step_int64(db, st, ret);
}

int db_notice_done_since(struct db *db, const char *action, const char *actor, int64_t since,
			 int *ret)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = db_stmt(
	    db, "SELECT count(*) FROM audit WHERE ts >= ?1 AND action = ?2 AND actor = ?3", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, since);
	db_bind_text(st, 2, action);
	db_bind_text(st, 3, actor);
	if ((rc = db_step_int64(db, st, &n)) < 0)
		return rc;
	*ret = n > 0;
	return 0;
}
