/*
 * sql_unit.h - what the db tests read straight from a database file with
 * SQLite (what a migration left, what is stored sealed).  Header-only,
 * like unit.h; include it after cmocka.h and sqlite3.h.
 */
#ifndef SQL_UNIT_H
#define SQL_UNIT_H

#include <stdint.h>

/* The integer in the first column of the one row sql answers on h; fails
 * the test when sql does not prepare or answers no row. */
static inline int64_t sql_unit_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
