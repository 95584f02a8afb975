/* db_report_year.c - a collège's annual figures, in five statements. */
#include "db_int.h"
#include "db_report_year.h"
#include "ap_err.h"

#include <string.h>

/* ?1 the collège, ?2 and ?3 the period [from, to) (bound to each
 * statement, read where it needs them). */
static const char loans_sql[] =
    "SELECT count(*), count(DISTINCT l.device_id),"
    " count(DISTINCT CASE WHEN p.kind = 'pupil' THEN p.id END),"
    " count(DISTINCT CASE WHEN p.kind = 'teacher' THEN p.id END), coalesce(sum(l.home_use != 0), 0)"
    " FROM loan l JOIN person p ON p.id = l.person_id"
    " WHERE l.school = ?1 AND l.started_at >= ?2 AND l.started_at < ?3";
static const char returns_sql[] =
    "SELECT count(*), coalesce(sum(condition = 'ok'), 0), coalesce(sum(condition = 'damaged'), 0)"
    " FROM loan WHERE school = ?1 AND returned_at >= ?2 AND returned_at < ?3";
static const char incidents_sql[] =
    "SELECT count(*), coalesce(sum(kind = 'loss'), 0), coalesce(sum(kind = 'theft'), 0),"
    " coalesce(sum(kind = 'damage'), 0), coalesce(sum(kind = 'failure'), 0),"
    " coalesce(sum(late != 0), 0), coalesce(sum(kind = 'theft' AND police_ref != ''), 0),"
    " coalesce(sum(kind = 'theft' AND police_ref = ''), 0), coalesce(sum(cost_cents), 0),"
    " coalesce(sum(reimburse != 0), 0),"
    " coalesce(sum(CASE WHEN reimburse != 0 THEN cost_cents END), 0)"
    " FROM incident WHERE school = ?1 AND occurred_at >= ?2 AND occurred_at < ?3";
static const char repairs_sql[] =
    "SELECT count(*) FROM incident WHERE school = ?1 AND outcome = 'repaired'"
    " AND closed_at >= ?2 AND closed_at < ?3";
static const char fleet_sql[] =
    "SELECT coalesce(s.pupils_equipped, -1), coalesce(s.teachers_equipped, -1),"
    " (SELECT count(*) FROM device WHERE school = s.uai AND state != 'retired'),"
    " (SELECT count(DISTINCT l.person_id) FROM loan l JOIN person p ON p.id = l.person_id"
    "  WHERE l.school = s.uai AND l.state = 'open' AND p.kind = 'pupil'),"
    " (SELECT count(DISTINCT l.person_id) FROM loan l JOIN person p ON p.id = l.person_id"
    "  WHERE l.school = s.uai AND l.state = 'open' AND p.kind = 'teacher')"
    " FROM school s WHERE s.uai = ?1";

/* Runs one statement of one row into the fields at out[0..n). */
static int one_row(struct db *db, const char *sql, const char *uai, int64_t from, int64_t to,
		   int64_t *const *out, int n)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uai);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	if ((rc = db_step_row(db, st)) < 0)
		return rc;
	for (int i = 0; i < n; i++)
		*out[i] = sqlite3_column_int64(st, i);
	db_done(st);
	return 0;
}

int db_report_year(struct db *db, const char *uai, int64_t from, int64_t to,
		   struct db_report_year *ret)
{
	struct db_report_year y;
	memset(&y, 0, sizeof(y));
	int64_t *const fleet[] = {&y.pupils_target, &y.teachers_target, &y.fleet_tablets,
				  &y.equipped_pupils, &y.equipped_teachers};
	int64_t *const loans[] = {&y.loans, &y.tablets, &y.pupils, &y.teachers, &y.home_use};
	int64_t *const returns[] = {&y.returns, &y.returns_ok, &y.returns_damaged};
	int64_t *const incidents[] = {
	    &y.incidents,  &y.loss,	 &y.theft,	     &y.damage,
	    &y.failure,	   &y.late,	 &y.theft_complaint, &y.theft_no_complaint,
	    &y.cost_cents, &y.reimburse, &y.reimburse_cents};
	int64_t *const repairs[] = {&y.repairs};
	int rc = one_row(db, fleet_sql, uai, from, to, fleet, 5);
	if (rc == 0)
		rc = one_row(db, loans_sql, uai, from, to, loans, 5);
	if (rc == 0)
		rc = one_row(db, returns_sql, uai, from, to, returns, 3);
	if (rc == 0)
		rc = one_row(db, incidents_sql, uai, from, to, incidents, 11);
	if (rc == 0)
		rc = one_row(db, repairs_sql, uai, from, to, repairs, 1);
	if (rc < 0)
		return rc;
	*ret = y;
	return 0;
}
