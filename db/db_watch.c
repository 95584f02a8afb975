/*
 * db_watch.c - which rows of device and device_identity each commit
 * changed, for the session index (db_mdm_cache.c; declared in db_int.h).
 *
 * Every connection on the index's file collects, in SQLite's update hook,
 * the rows its transaction changes; once the commit is visible (the WAL
 * hook, after every commit) it counts one more commit (seq) and stamps
 * each row's slot (dirty[table][hash of the rowid]) with it.  A reader
 * takes seq before its database read and keeps it with what it read (a
 * tag): that stays fresh while no slot of its rows is stamped after the
 * tag.  A commit racing with the load leaves it stale, never trusted;
 * rows sharing a slot only cost reads.  A rollback stamps nothing: nobody
 * else saw its rows, and its own connection never serves nor keeps a row
 * its transaction changed (db_watch_pending()).
 *
 * What the update hook does not report is not done on these tables: they
 * are rowid tables, nothing deletes from them without a WHERE (truncate),
 * nothing writes them with REPLACE, and a backup is copied into a new
 * file, never into the live one.  Changes from another process (the
 * sqlite3 shell while the daemon runs) are not seen: not supported.
 */
#include "db_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DIRTY_BITS 18
#define DIRTY_N	   (1u << DIRTY_BITS)
#define PEND_MAX   4096

static struct {
	pthread_mutex_t mu;
	_Atomic uint64_t seq;
	uint64_t floor;		    /* tags before it are stale (forgotten) */
	uint64_t dirty[2][DIRTY_N]; /* never cleared: forgetting raises floor */
	char *path;		    /* the file watched, and its connections */
	unsigned users;
	void (*seen)(const struct db_pend *p);
	void (*gone)(void);
} w = {.mu = PTHREAD_MUTEX_INITIALIZER};

void db_watch_lock(void)
{
	pthread_mutex_lock(&w.mu);
}

void db_watch_unlock(void)
{
	pthread_mutex_unlock(&w.mu);
}

uint64_t db_cache_seq(void)
{
	return atomic_load(&w.seq);
}

void db_watch_on(void (*seen)(const struct db_pend *p), void (*gone)(void))
{
	pthread_mutex_lock(&w.mu);
	w.seen = seen;
	w.gone = gone;
	pthread_mutex_unlock(&w.mu);
}

static uint32_t slot(int64_t rowid)
{
	uint64_t h = (uint64_t)rowid * 0x9e3779b97f4a7c15u;
	return (uint32_t)(h >> (64 - DIRTY_BITS));
}

int db_watch_fresh(int table, int64_t rowid, uint64_t tag)
{
	return tag >= w.floor && w.dirty[table][slot(rowid)] <= tag;
}

void db_watch_forget(void)
{
	w.floor = atomic_load(&w.seq) + 1;
	atomic_store(&w.seq, w.floor);
}

static void pend_add(struct db *db, int table, int64_t rowid, int64_t seen, const unsigned char *fp)
{
	if (db->pend_all)
		return;
	if (db->n_pend == db->cap_pend) {
		size_t ncap = db->cap_pend ? db->cap_pend * 2 : 16;
		struct db_pend *p = ncap <= PEND_MAX ? realloc(db->pend, ncap * sizeof(*p)) : NULL;
		if (p == NULL) {
			db->pend_all = 1; /* the commit forgets everything */
			return;
		}
		db->pend = p;
		db->cap_pend = ncap;
	}
	struct db_pend *p = &db->pend[db->n_pend++];
	p->table = table;
	p->rowid = rowid;
	p->seen = seen;
	if (fp)
		memcpy(p->fp, fp, sizeof(p->fp));
}

int db_watch_pending(const struct db *db, int table, int64_t rowid)
{
	if (db->pend_all)
		return 1;
	for (size_t i = 0; i < db->n_pend; i++)
		if (db->pend[i].table == table && db->pend[i].rowid == rowid &&
		    db->pend[i].seen == 0)
			return 1;
	return 0;
}

void db_watch_seen(struct db *db, int64_t rowid, int64_t seen, const unsigned char fp[32])
{
	pend_add(db, 1, rowid, seen, fp);
}

static void on_update(void *arg, int op, const char *dbname, const char *table, sqlite3_int64 rowid)
{
	struct db *db = arg;
	(void)op;
	if (db->cache_quiet || strcmp(dbname, "main") != 0)
		return;
	if (strcmp(table, "device") == 0)
		pend_add(db, 1, rowid, 0, NULL);
	else if (strcmp(table, "device_identity") == 0)
		pend_add(db, 0, rowid, 0, NULL);
}

/* The commit of db's transaction is visible: its rows are stamped. */
static void publish(struct db *db)
{
	if (db->n_pend == 0 && !db->pend_all)
		return;
	pthread_mutex_lock(&w.mu);
	uint64_t s = atomic_load(&w.seq) + 1;
	if (db->pend_all)
		w.floor = s;
	for (size_t i = 0; i < db->n_pend; i++) {
		const struct db_pend *p = &db->pend[i];
		if (p->seen == 0)
			w.dirty[p->table][slot(p->rowid)] = s;
		else if (w.seen)
			w.seen(p);
	}
	atomic_store(&w.seq, s);
	pthread_mutex_unlock(&w.mu);
	db->n_pend = 0;
	db->pend_all = 0;
}

/* After every commit in WAL mode.  It replaces SQLite's own hook, which
 * checkpoints passively at 1000 pages in the WAL: so does this one. */
static int on_wal(void *arg, sqlite3 *h, const char *dbname, int frames)
{
	publish(arg);
	if (frames >= 1000)
		sqlite3_wal_checkpoint(h, dbname);
	return SQLITE_OK;
}

static void on_rollback(void *arg)
{
	struct db *db = arg;
	db->n_pend = 0;
	db->pend_all = 0;
}

void db_cache_attach(struct db *db)
{
	const char *path = sqlite3_db_filename(db->h, "main");
	sqlite3_stmt *st;
	int wal = 0;
	if (path == NULL || path[0] == '\0')
		return; /* :memory: or a temporary file */
	if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
		const unsigned char *m =
		    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
		wal = m && strcmp((const char *)m, "wal") == 0;
		sqlite3_finalize(st);
	}
	if (!wal)
		return;
	pthread_mutex_lock(&w.mu);
	if (w.users == 0) {
		free(w.path);
		w.path = strdup(path);
	}
	if (w.path && strcmp(w.path, path) == 0) {
		w.users++;
		db->cache_ok = 1;
	}
	pthread_mutex_unlock(&w.mu);
	if (!db->cache_ok)
		return;
	sqlite3_update_hook(db->h, on_update, db);
	sqlite3_wal_hook(db->h, on_wal, db);
	sqlite3_rollback_hook(db->h, on_rollback, db);
}

void db_cache_detach(struct db *db)
{
	if (db->cache_ok) {
		sqlite3_update_hook(db->h, NULL, NULL);
		sqlite3_wal_hook(db->h, NULL, NULL);
		sqlite3_rollback_hook(db->h, NULL, NULL);
		pthread_mutex_lock(&w.mu);
		if (--w.users == 0) { /* the next file opened may be another one */
			if (w.gone)
				w.gone();
			db_watch_forget();
		}
		pthread_mutex_unlock(&w.mu);
		db->cache_ok = 0;
	}
	free(db->pend);
	db->pend = NULL;
	db->n_pend = db->cap_pend = 0;
}
