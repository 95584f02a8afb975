/* db_privacy.c - leavers' pseudonymisation, one person's record, the
 * académie's indicators. */
#include "db_int.h"
#include "db_audit.h"
#include "db_privacy.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* "anon-" and 16 hexadecimal digits of the OS random source. */
static int anon_id(char out[32])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[8];
	if (getentropy(b, sizeof(b)) != 0)
		return AP_ECRYPTO;
	int n = snprintf(out, 32, "%s", DB_PRIVACY_ANON_PREFIX);
	for (size_t i = 0; i < sizeof(b); i++) {
		out[n++] = hex[b[i] >> 4];
		out[n++] = hex[b[i] & 15];
	}
	out[n] = '\0';
	return 0;
}

/* The person's row without what names them; AP_ECONFLICT when the random
 * id is taken already (the caller draws another). */
static int blank_person(struct db *db, int64_t id, const char *kind, int64_t now)
{
	char label[64], ext[32];
	sqlite3_stmt *st;
	int rc = anon_id(ext);
	if (rc < 0)
		return rc;
	snprintf(label, sizeof(label), "%s n° %lld",
		 strcmp(kind, "teacher") == 0 ? DB_PRIVACY_TEACHER_LABEL : DB_PRIVACY_PUPIL_LABEL,
		 (long long)id);
	rc = db_stmt(db,
		     "UPDATE person SET ext_id = ?2, name = ?3, class = '', pseudonymised_at = ?4,"
		     " updated_at = ?4 WHERE id = ?1",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, ext);
	db_bind_text(st, 3, label);
	sqlite3_bind_int64(st, 4, now);
	return db_step_done(db, st, AP_ENOTFOUND);
}

/* One person: the row, then the notes of the incidents of their loans. */
static int pseudonymise_one(struct db *db, int64_t id, const char *kind, int64_t now)
{
	int rc = blank_person(db, id, kind, now);
	for (int tries = 0; rc == AP_ECONFLICT && tries < 3; tries++)
		rc = blank_person(db, id, kind, now); /* 2^-64: never, but not a failure */
	if (rc < 0)
		return rc;
	return db_run_int64(db,
			    "UPDATE incident SET note = '', close_note = ''"
			    " WHERE loan_id IN (SELECT id FROM loan WHERE person_id = ?1)"
			    " AND (note != '' OR close_note != '')",
			    id, 0);
}

#define LEAVERS_DUE                                                            \
	" FROM person p WHERE p.left_at IS NOT NULL AND p.left_at < ?1"        \
	" AND p.pseudonymised_at IS NULL AND NOT EXISTS (SELECT 1 FROM loan l" \
	" WHERE l.person_id = p.id AND l.state IN ('open','returning'))"

int db_privacy_pseudonymise(struct db *db, int64_t left_before, size_t limit, int64_t *ret_count)
{
	struct {
		int64_t id;
		char kind[8];
	} *batch = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int64_t now = db_now();
	if (limit == 0) {
		*ret_count = 0;
		return 0;
	}
	if ((batch = calloc(limit, sizeof(*batch))) == NULL)
		return AP_ENOMEM;
	int rc = db_begin(db);
	if (rc < 0)
		goto out;
	rc = db_stmt(db, "SELECT p.id, p.kind" LEAVERS_DUE " ORDER BY p.id LIMIT ?2", &st);
	if (rc < 0)
		goto end;
	sqlite3_bind_int64(st, 1, left_before);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
		batch[n].id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, batch[n].kind, sizeof(batch[n].kind));
		n++;
	}
	rc = db_rows_done(db, st, rc);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = pseudonymise_one(db, batch[i].id, batch[i].kind, now);
end:
	rc = db_end(db, rc);
	if (rc == 0)
		*ret_count = (int64_t)n;
out:
	free(batch);
	return rc;
}

int db_privacy_held_back(struct db *db, int64_t left_before, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT count(*) FROM person p WHERE p.left_at IS NOT NULL"
		    " AND p.left_at < ?1 AND p.pseudonymised_at IS NULL AND EXISTS (SELECT 1"
		    " FROM loan l WHERE l.person_id = p.id AND l.state IN ('open','returning'))",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, left_before);
	return db_step_int64(db, st, ret);
}

int db_privacy_person(struct db *db, const char *ext_id, struct db_privacy_person *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT id, created_at, updated_at, coalesce(pseudonymised_at, 0)"
			 " FROM person WHERE ext_id = ?1",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, ext_id);
	if ((rc = db_step_row(db, st)) == 0) {
		ret->id = sqlite3_column_int64(st, 0);
		ret->created_at = sqlite3_column_int64(st, 1);
		ret->updated_at = sqlite3_column_int64(st, 2);
		ret->pseudonymised_at = sqlite3_column_int64(st, 3);
	}
	db_done(st);
	return rc;
}

int db_privacy_pseudonymised_at(struct db *db, const char *ext_id, int64_t *ret)
{
	struct db_privacy_person p;
	int rc = db_privacy_person(db, ext_id, &p);
	if (rc == 0)
		*ret = p.pseudonymised_at;
	return rc;
}

int db_privacy_agreements(struct db *db, int64_t person_id,
			  int (*fn)(const struct db_privacy_agreement *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT school_year, signed_at, coalesce(withdrawn_at, 0), recorded_by,"
			 " recorded_at FROM agreement WHERE person_id = ?1 ORDER BY school_year",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, person_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_privacy_agreement a;
		a.school_year = sqlite3_column_int64(st, 0);
		a.signed_at = sqlite3_column_int64(st, 1);
		a.withdrawn_at = sqlite3_column_int64(st, 2);
		db_col_copy(st, 3, a.recorded_by, sizeof(a.recorded_by));
		a.recorded_at = sqlite3_column_int64(st, 4);
		if (fn(&a, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_privacy_incident_ids(struct db *db, int64_t person_id, const char *const *only,
			    size_t n_only, int (*fn)(int64_t id, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt_scoped(db,
				"SELECT i.id FROM incident i JOIN loan l ON l.id = i.loan_id"
				" WHERE l.person_id = ?2 AND (?1 IS NULL OR"
				" l.school IN (SELECT value FROM json_each(?1))) ORDER BY i.id",
				only, n_only, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 2, person_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), arg))
			break;
	return db_rows_done(db, st, rc);
}

int db_privacy_audit(struct db *db, const char *ext_id, int64_t limit,
		     int (*fn)(const struct db_audit_row *r, void *arg), void *arg)
{
	sqlite3_stmt *st;
	/* the detail test reads only the rows that name a person at all */
	int rc = db_stmt(db,
			 "SELECT id, ts, actor, action, target, reason, detail, hash FROM audit"
			 " WHERE target = ?1 OR (detail LIKE '%\"person\":%' AND CASE WHEN"
			 " json_valid(detail) THEN json_extract(detail, '$.person') END = ?1)"
			 " ORDER BY id LIMIT ?2",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, ext_id);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_audit_row r = {
		    sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5),
		    (const char *)sqlite3_column_text(st, 6),
		    (const char *)sqlite3_column_text(st, 7),
		};
		if (fn(&r, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

/* ---- indicators -------------------------------------------------------- */

static const char *const measure_names[DB_IND__COUNT] = {
    "loans_started",   "home_use_loans",   "returns",		"incidents_loss",
    "incidents_theft", "incidents_damage", "incidents_failure",
};

static const char *const level_names[DB_IND_NLEVELS] = {"6e",	 "5e",	    "4e",  "3e",
							"other", "teacher", "none"};

const char *db_ind_measure_name(enum db_ind_measure m)
{
	return (unsigned)m < DB_IND__COUNT ? measure_names[m] : "?";
}

const char *db_ind_level_name(enum db_ind_level l)
{
	return (unsigned)l < DB_IND_NLEVELS ? level_names[l] : "?";
}

/* 1 when word appears in s, ASCII case aside. */
static int has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

enum db_ind_level db_ind_level_of(const char *kind, const char *class_name)
{
	if (kind == NULL)
		return DB_IND_NONE;
	if (strcmp(kind, "teacher") == 0)
		return DB_IND_TEACHER;
	if (class_name == NULL || has_word(class_name, "ULIS") || has_word(class_name, "SEGPA"))
		return DB_IND_OTHER;
	const char *c = class_name + strspn(class_name, " \t");
	switch (c[0]) {
	case '6':
		return DB_IND_6E;
	case '5':
		return DB_IND_5E;
	case '4':
		return DB_IND_4E;
	case '3':
		return DB_IND_3E;
	default:
		return DB_IND_OTHER;
	}
}

/* One grouped count: collège, kind (NULL: no person), class, measure. */
static const char indicators_sql[] =
    "SELECT l.school, p.kind, p.class, 0, count(*) FROM loan l JOIN person p"
    " ON p.id = l.person_id WHERE l.started_at >= ?1 AND l.started_at < ?2"
    " GROUP BY 1, 2, 3"
    " UNION ALL SELECT l.school, p.kind, p.class, 1, count(*) FROM loan l JOIN person p"
    " ON p.id = l.person_id WHERE l.home_use = 1 AND l.started_at >= ?1"
    " AND l.started_at < ?2 GROUP BY 1, 2, 3"
    " UNION ALL SELECT l.school, p.kind, p.class, 2, count(*) FROM loan l JOIN person p"
    " ON p.id = l.person_id WHERE l.returned_at >= ?1 AND l.returned_at < ?2"
    " GROUP BY 1, 2, 3"
    " UNION ALL SELECT i.school, p.kind, p.class,"
    " CASE i.kind WHEN 'loss' THEN 3 WHEN 'theft' THEN 4 WHEN 'damage' THEN 5 ELSE 6 END,"
    " count(*) FROM incident i LEFT JOIN loan l ON l.id = i.loan_id"
    " LEFT JOIN person p ON p.id = l.person_id WHERE i.school IS NOT NULL"
    " AND i.declared_at >= ?1 AND i.declared_at < ?2 GROUP BY 1, 2, 3, 4"
    " ORDER BY 1";

/* The row of uai in rows (appended when new, its name read later). */
static struct db_ind_row *row_of(struct db_ind_row **rows, size_t *n, size_t *cap, const char *uai)
{
	if (*n > 0 && strcmp((*rows)[*n - 1].uai, uai) == 0)
		return &(*rows)[*n - 1]; /* ordered by collège */
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct db_ind_row *g = realloc(*rows, c * sizeof(**rows));
		if (g == NULL)
			return NULL;
		*rows = g;
		*cap = c;
	}
	struct db_ind_row *r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->uai, sizeof(r->uai), "%s", uai);
	return r;
}

static int names_of(struct db *db, struct db_ind_row *rows, size_t n)
{
	sqlite3_stmt *st;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = db_stmt(db, "SELECT name FROM school WHERE uai = ?1", &st)) < 0)
			break;
		db_bind_text(st, 1, rows[i].uai);
		rc = db_step_row(db, st);
		if (rc == 0)
			db_col_copy(st, 0, rows[i].name, sizeof(rows[i].name));
		db_done(st);
		if (rc == AP_ENOTFOUND)
			rc = 0;
	}
	return rc;
}

int db_privacy_indicators(struct db *db, int64_t from, int64_t to, struct db_ind_row **ret,
			  size_t *ret_n)
{
	struct db_ind_row *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc = db_read_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_stmt(db, indicators_sql, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ind_row *r =
		    row_of(&rows, &n, &cap, (const char *)sqlite3_column_text(st, 0));
		int m = sqlite3_column_int(st, 3);
		if (r == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		enum db_ind_level l = db_ind_level_of((const char *)sqlite3_column_text(st, 1),
						      (const char *)sqlite3_column_text(st, 2));
		if (m >= 0 && m < DB_IND__COUNT)
			r->n[m][l] += sqlite3_column_int64(st, 4);
	}
	rc = rc == SQLITE_NOMEM ? (db_done(st), AP_ENOMEM) : db_rows_done(db, st, rc);
	if (rc == 0)
		rc = names_of(db, rows, n);
out:
	db_read_end(db);
	if (rc < 0) {
		free(rows);
		return rc;
	}
	*ret = rows;
	*ret_n = n;
	return 0;
}
