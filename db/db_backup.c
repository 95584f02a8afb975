/* db_backup.c - the online backup copy, and the checks of a copy. */
#include "db_backup.h"
#include "ap_err.h"
#include "db_int.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One integer a query answers into *ret (0 when it answers no row). */
static int one_int(sqlite3 *h, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return AP_EDB;
	int rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : AP_EDB;
}

/* The point and counts as the connection h sees them (in its
 * transaction, when one is open). */
static int read_info(sqlite3 *h, struct db_backup_info *ret)
{
	struct db_backup_info in = {0};
	int64_t schema = 0;
	sqlite3_stmt *st = NULL;
	int rc = one_int(h, "PRAGMA user_version", &schema);
	if (rc == 0)
		rc = one_int(h, "SELECT count(*) FROM audit", &in.audit_rows);
	if (rc == 0)
		rc = one_int(h, "SELECT count(*) FROM device", &in.devices);
	if (rc == 0)
		rc = one_int(h, "SELECT count(*) FROM person", &in.people);
	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(h, "SELECT id, hash, ts FROM audit ORDER BY id DESC LIMIT 1", -1,
			       &st, NULL) != SQLITE_OK)
		return AP_EDB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *hash = sqlite3_column_text(st, 1);
		in.audit_last_id = sqlite3_column_int64(st, 0);
		in.audit_ts = sqlite3_column_int64(st, 2);
		snprintf(in.audit_hash, sizeof(in.audit_hash), "%s",
			 hash ? (const char *)hash : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return AP_EDB;
	in.schema = (int)schema;
	*ret = in;
	return 0;
}

/* Copies src into dst in one step: src's read transaction (open) is the
 * snapshot. */
static int copy_pages(sqlite3 *src, sqlite3 *dst)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL)
		return AP_EDB;
	int step = sqlite3_backup_step(b, -1);
	int fin = sqlite3_backup_finish(b);
	if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
		return AP_EBUSY;
	return step == SQLITE_DONE && fin == SQLITE_OK ? 0 : AP_EDB;
}

int db_backup_copy(const char *src_path, const char *dst_path, struct db_backup_info *ret)
{
	sqlite3 *src = NULL, *dst = NULL;
	struct db_backup_info info;
	int rc, fd = open(dst_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? AP_EEXIST : AP_EIO;
	close(fd);
	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK) {
		rc = AP_EIO;
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* the snapshot: the counts read and the pages copied in one read
	 * transaction of src */
	rc = sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : AP_EDB;
	if (rc == 0)
		rc = read_info(src, &info);
	if (rc == 0)
		rc = copy_pages(src, dst);
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	/* the copy is one file: out of WAL, so that nothing of it stays beside */
	if (rc == 0 &&
	    sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
		rc = AP_EDB;
out:
	sqlite3_close_v2(src);
	if (sqlite3_close_v2(dst) != SQLITE_OK && rc == 0)
		rc = AP_EIO;
	if (rc < 0) {
		unlink(dst_path);
		return rc;
	}
	info.at = db_now();
	*ret = info;
	return 0;
}

/* "ok" from PRAGMA integrity_check, else its first complaint into err. */
static int integrity(sqlite3 *h, char *err, size_t cap)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, cap, "not an SQLite database (%s)", sqlite3_errmsg(h));
		return AP_EPARSE;
	}
	int rc = sqlite3_step(st);
	const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (rc != SQLITE_ROW)
		snprintf(err, cap, "not an SQLite database (%s)", sqlite3_errmsg(h));
	else if (t == NULL || strcmp((const char *)t, "ok") != 0)
		snprintf(err, cap, "the database is damaged: %.200s", t ? (const char *)t : "?");
	int ok = rc == SQLITE_ROW && t && strcmp((const char *)t, "ok") == 0;
	sqlite3_finalize(st);
	return ok ? 0 : rc == SQLITE_ROW ? AP_ECONFLICT : AP_EPARSE;
}

int db_backup_check(const char *path, struct db_backup_info *ret, char *err, size_t cap)
{
	sqlite3 *h = NULL;
	struct db_backup_info info;
	int rc;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, cap, "cannot open %s as a database", path);
		rc = AP_EPARSE;
		goto out;
	}
	if ((rc = integrity(h, err, cap)) < 0)
		goto out;
	if ((rc = read_info(h, &info)) < 0) {
		snprintf(err, cap, "not an Ardoise database (%s)", sqlite3_errmsg(h));
		rc = AP_EPARSE;
		goto out;
	}
	if (info.schema > db_schema_version() || info.schema <= 0) {
		snprintf(err, cap,
			 info.schema > 0
			     ? "the database's schema version %d is newer than this "
			       "build's (%d): restore it with a newer ardoised"
			     : "not an Ardoise database (schema version %d; this build: %d)",
			 info.schema, db_schema_version());
		rc = info.schema > 0 ? AP_EUNSUPPORTED : AP_EPARSE;
		goto out;
	}
	*ret = info;
out:
	sqlite3_close_v2(h);
	return rc;
}

int db_backup_sealed_sample(struct db *db, int *ret_what, char *owner, unsigned char **ret,
			    size_t *ret_len)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT unlock_token IS NULL, udid, coalesce(unlock_token, bypass_code) "
			 "FROM device WHERE udid IS NOT NULL AND (unlock_token IS NOT NULL OR "
			 "bypass_code IS NOT NULL) LIMIT 1",
			 &st);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return db_rows_done(db, st, rc) < 0 ? AP_EDB : AP_ENOTFOUND;
	int n = sqlite3_column_bytes(st, 2);
	unsigned char *blob = malloc(n > 0 ? (size_t)n : 1);
	if (blob == NULL) {
		db_done(st);
		return AP_ENOMEM;
	}
	memcpy(blob, sqlite3_column_blob(st, 2), (size_t)n);
	*ret_what = sqlite3_column_int(st, 0);
	db_col_copy(st, 1, owner, 80);
	*ret = blob;
	*ret_len = (size_t)n;
	db_done(st);
	return 0;
}
