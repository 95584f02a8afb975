/* db_school.c - collèges and the UAI check letter. */
#include "db_int.h"
#include "db_school.h"
#include "db_scope.h"
#include "ap_err.h"

#include <ctype.h>
#include <string.h>

static const char uai_letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";

char db_school_uai_letter(const char *digits)
{
	unsigned long n = 0;
	for (int i = 0; i < 7; i++)
		n = n * 10 + (unsigned long)(digits[i] - '0');
	return uai_letters[n % 23];
}

int db_school_uai_norm(const char *in, char ret[DB_UAI_LEN + 1])
{
	char u[DB_UAI_LEN + 1];
	size_t n;
	if (in == NULL)
		return AP_EPARSE;
	while (*in == ' ' || *in == '\t')
		in++;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n != DB_UAI_LEN)
		return AP_EPARSE;
	for (int i = 0; i < 7; i++)
		if (in[i] < '0' || in[i] > '9')
			return AP_EPARSE;
	if (!isalpha((unsigned char)in[7]))
		return AP_EPARSE;
	memcpy(u, in, 7);
	u[7] = (char)toupper((unsigned char)in[7]);
	u[8] = '\0';
	if (u[7] != db_school_uai_letter(u))
		return AP_EINVAL;
	memcpy(ret, u, sizeof(u));
	return 0;
}

/* A target as stored: NULL when unknown (0). */
static void bind_target(sqlite3_stmt *st, int i, int64_t n)
{
	if (n <= 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, n);
}

/* Binds ?1..?7 (uai, name, address, commune, sector, the two targets). */
static void bind_school(sqlite3_stmt *st, const struct db_school *s)
{
	db_bind_text(st, 1, s->uai);
	db_bind_text(st, 2, s->name);
	db_bind_text(st, 3, s->address);
	db_bind_text(st, 4, s->commune);
	db_bind_text(st, 5, s->sector);
	bind_target(st, 6, s->pupils_equipped);
	bind_target(st, 7, s->teachers_equipped);
}

int db_school_add(struct db *db, const struct db_school *s)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO school(uai, name, address, commune, sector, pupils_equipped,"
			 " teachers_equipped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 &st);
	if (rc < 0)
		return rc;
	bind_school(st, s);
	sqlite3_bind_int64(st, 8, db_now());
	return db_step_done(db, st, 0);
}

int db_school_put(struct db *db, const struct db_school *s, int *ret_created)
{
	struct db_school old;
	sqlite3_stmt *st;
	int rc = db_school_get(db, s->uai, &old);
	if (rc == AP_ENOTFOUND) {
		rc = db_school_add(db, s);
		if (rc == 0)
			*ret_created = DB_PUT_CREATED;
		return rc;
	}
	if (rc < 0)
		return rc;
	if (strcmp(old.name, s->name) == 0 && strcmp(old.address, s->address) == 0 &&
	    strcmp(old.commune, s->commune) == 0 && strcmp(old.sector, s->sector) == 0 &&
	    (s->pupils_equipped <= 0 || s->pupils_equipped == old.pupils_equipped) &&
	    (s->teachers_equipped <= 0 || s->teachers_equipped == old.teachers_equipped)) {
		*ret_created = DB_PUT_UNCHANGED;
		return 0;
	}
	rc = db_stmt(db,
		     "UPDATE school SET name = ?2, address = ?3, commune = ?4, sector = ?5,"
		     " pupils_equipped = coalesce(?6, pupils_equipped),"
		     " teachers_equipped = coalesce(?7, teachers_equipped) WHERE uai = ?1",
		     &st);
	if (rc < 0)
		return rc;
	bind_school(st, s);
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		*ret_created = DB_PUT_UPDATED;
	return rc;
}

#define SCHOOL_COLS                                                                \
	"SELECT uai, name, address, commune, sector, created_at, pupils_equipped," \
	" teachers_equipped FROM school "

static void row_to_school(sqlite3_stmt *st, struct db_school *s)
{
	db_col_copy(st, 0, s->uai, sizeof(s->uai));
	db_col_copy(st, 1, s->name, sizeof(s->name));
	db_col_copy(st, 2, s->address, sizeof(s->address));
	db_col_copy(st, 3, s->commune, sizeof(s->commune));
	db_col_copy(st, 4, s->sector, sizeof(s->sector));
	s->created_at = sqlite3_column_int64(st, 5);
	s->pupils_equipped = sqlite3_column_int64(st, 6); /* NULL: 0 */
	s->teachers_equipped = sqlite3_column_int64(st, 7);
}

int db_school_get(struct db *db, const char *uai, struct db_school *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, SCHOOL_COLS "WHERE uai = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, uai);
	if ((rc = db_step_row(db, st)) == 0)
		row_to_school(st, ret);
	db_done(st);
	return rc;
}

int db_school_list(struct db *db, const char *const *only, size_t n_only,
		   int (*fn)(const struct db_school *s, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, SCHOOL_COLS "ORDER BY uai", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_school s;
		row_to_school(st, &s);
		if (only && !db_scope_has(only, n_only, s.uai))
			continue;
		if (fn(&s, arg))
			break;
	}
	rc = db_rows_done(db, st, rc);
	return rc;
}
