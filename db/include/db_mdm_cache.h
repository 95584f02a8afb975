/*
 * db_mdm_cache.h - what a tablet's session reads about its certificate
 * and its device, kept in memory between its requests (one index for the
 * process, both loops and every thread share it).
 *
 * The index serves the reads of the session path only; every other
 * reader keeps calling db_mdm_identity_get() / db_mdm_by_udid().  It is
 * never trusted after a change: every connection collects, in SQLite's
 * update hook, the rows of device and device_identity its transaction
 * changes, and marks them changed once the transaction is committed
 * (the WAL hook); an entry read before such a mark is read again from
 * the database.  Rows changed by another process (the sqlite3 shell on
 * the file while the daemon runs) are not seen: that is not supported.
 * A connection not in WAL mode (":memory:") or on another file than the
 * first one opened reads the database every time.
 */
#ifndef DB_MDM_CACHE_H
#define DB_MDM_CACHE_H

#include <stdint.h>

#include "db_mdm.h"

struct db;

/* Entries at most (certificates): beyond, the database answers. */
#define DB_MDM_CACHE_MAX 1200000
/* A session that reports no result (Idle) writes last_seen only when the
 * value in the database is older than this (seconds), or older than the
 * last push (the re-push rules of db_mdm_push_due() need to know the
 * tablet answered it). */
#define DB_MDM_SEEN_INTERVAL 60

/* db_mdm_identity_get(), from the index when it knows fp. */
int db_mdm_identity_known(struct db *db, const char *fp, struct db_mdm_identity *ret);
/* db_mdm_by_udid() for a request made with the certificate fp: from the
 * index when its device is the one bound to fp, then with id, udid,
 * serial, enrollment, cert_fp, trust_id, last_seen and last_push only
 * (the other fields zero); from the database otherwise (all of them). */
int db_mdm_session_device(struct db *db, const char *udid, const char *fp, struct db_device *ret);
/* Records that the tablet d (read by db_mdm_session_device()) talked to
 * us now: always when result (its report carries one), else only as
 * DB_MDM_SEEN_INTERVAL says.  Inside the caller's transaction. */
int db_mdm_seen_session(struct db *db, const struct db_device *d, int result);

/* Forgets everything (tests; a restore of the file under a live daemon). */
void db_mdm_cache_clear(void);
struct db_mdm_cache_stats {
	uint64_t hits, misses, entries, bytes; /* bytes: the index's own allocations */
};
void db_mdm_cache_stats(struct db_mdm_cache_stats *ret);

#endif
