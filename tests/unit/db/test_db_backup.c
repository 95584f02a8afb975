/*
 * Unit tests for db/db_backup.c: the copy holds the source's rows and
 * point, survives a writer mid-way, never replaces a file; the check
 * refuses what is no database, a damaged one and one from a newer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "ap_err.h"
#include "db_audit.h"
#include "db_backup.h"
#include "store.h"
#include "unit.h"

struct fx {
	char dir[4096];
	char src[4200], dst[4200];
	struct db *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unit_tmpdir(f->dir);
	snprintf(f->src, sizeof(f->src), "%s/ardoise.db", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/copy.db", f->dir);
	assert_int_equal(db_open(f->src, &f->db), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(db_audit_append(f->db, "system", "t.seed", "x", NULL, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	db_close(f->db);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static void sql(const char *path, const char *text)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void test_copy_holds_the_point(void **state)
{
	struct fx *f = *state;
	struct db_backup_info in, chk;
	struct db_audit_head head;
	char err[300];
	struct stat sb;
	assert_int_equal(db_audit_last(f->db, &head), 0);
	assert_int_equal(db_backup_copy(f->src, f->dst, &in), 0);
	assert_int_equal(in.audit_rows, 5);
	assert_int_equal(in.audit_last_id, head.last_id);
	assert_string_equal(in.audit_hash, head.hash);
	assert_int_equal(in.schema, db_schema_version());
	assert_int_equal(stat(f->dst, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* a row written after the copy is not in it */
	assert_int_equal(db_audit_append(f->db, "system", "t.after", "x", NULL, NULL), 0);
	assert_int_equal(db_backup_check(f->dst, &chk, err, sizeof(err)), 0);
	assert_int_equal(chk.audit_rows, 5);
	assert_int_equal(chk.audit_last_id, head.last_id);
	/* never over a file */
	assert_int_equal(db_backup_copy(f->src, f->dst, &in), AP_EEXIST);
	assert_int_equal(db_backup_check(f->dst, &chk, err, sizeof(err)), 0);
}

static void test_check_refuses(void **state)
{
	struct fx *f = *state;
	struct db_backup_info in;
	char err[300];
	unit_write(f->dir, "junk.db", "this is not a database, not even close to one.....");
	char junk[4200];
	snprintf(junk, sizeof(junk), "%s/junk.db", f->dir);
	assert_int_equal(db_backup_check(junk, &in, err, sizeof(err)), AP_EPARSE);
	assert_non_null(strstr(err, "not an SQLite database"));
	/* an SQLite file that is not Ardoise's */
	char other[4200];
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	sql(other, "CREATE TABLE t(x)");
	assert_int_equal(db_backup_check(other, &in, err, sizeof(err)), AP_EPARSE);
	/* from a newer build */
	assert_int_equal(db_backup_copy(f->src, f->dst, &in), 0);
	sql(f->dst, "PRAGMA user_version = 9999");
	assert_int_equal(db_backup_check(f->dst, &in, err, sizeof(err)), AP_EUNSUPPORTED);
	assert_non_null(strstr(err, "newer than this build"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_copy_holds_the_point, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
