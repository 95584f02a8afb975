/*
 * db_backup.h - a consistent copy of the database (SQLite's online backup
 * API) and the checks a copy passes before it is restored.
 */
#ifndef DB_BACKUP_H
#define DB_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* What a copy holds: its point (the newest audit row in it, and when the
 * snapshot was taken) and a few counts shown to the operator. */
struct db_backup_info {
	int64_t at;	       /* db_now() when the snapshot was taken (copy only) */
	int64_t audit_last_id; /* the newest audit row (0: none) */
	int64_t audit_ts;      /* its time */
	char audit_hash[65];   /* its hash ("" for none) */
	int64_t audit_rows;
	int64_t devices; /* tablets (rows of device) */
	int64_t people;
	int schema; /* user_version */
};

/* Copies the database at src_path into dst_path, which must not exist
 * (created 0600; AP_EEXIST otherwise), from a connection of its own in one
 * read transaction: one consistent snapshot, while the other connections
 * go on writing (WAL).  The point and counts of that snapshot into *ret.
 * On failure dst_path is removed. */
int db_backup_copy(const char *src_path, const char *dst_path, struct db_backup_info *ret);

/* Checks that path is an SQLite database Ardoise may open: integrity_check
 * passes and its schema is not newer than this build's.  AP_EPARSE (not a
 * database), AP_ECONFLICT (damaged), AP_EUNSUPPORTED (newer), with why in
 * err; its counts into *ret (at is 0). */
int db_backup_check(const char *path, struct db_backup_info *ret, char *err, size_t cap);

struct db;
/* One sealed value of db (a tablet's UnlockToken or Activation Lock bypass
 * code, sealed with its UDID as owner): *ret_what 0 for an UnlockToken, 1
 * for a bypass code, the owner into owner (80 bytes), the blob malloc'd
 * into *ret.  AP_ENOTFOUND when the database holds none. */
int db_backup_sealed_sample(struct db *db, int *ret_what, char *owner, unsigned char **ret,
			    size_t *ret_len);

#endif
