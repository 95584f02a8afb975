/* sim_state.c - the simulator's SQLite state file. */
#include "sim_state.h"
#include "ap_err.h"
#include "ap_x509.h"
#include "sim_ade.h"
#include "sim_ddm.h"

#include <sqlite3.h>

#include <pthread.h>
#include <stdatomic.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 3

/* Statements used once per device or per list item are prepared once. */
enum cached {
	C_INSERT_DEVICE,
	C_UPDATE_DEVICE,
	C_DELETE_PROFILES,
	C_DELETE_APPS,
	C_INSERT_PROFILE,
	C_INSERT_APP,
	C_DELETE_DECLS,
	C_INSERT_DECL,
	C_UPDATE_DDM,
	C__COUNT
};

struct sim_state {
	sqlite3 *h;
	sqlite3_stmt *cache[C__COUNT];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS key_pool ("
    "  kind TEXT NOT NULL, slot INTEGER NOT NULL, pem TEXT NOT NULL,"
    "  PRIMARY KEY (kind, slot)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS device ("
    "  id INTEGER PRIMARY KEY,"
    "  udid TEXT NOT NULL UNIQUE, serial TEXT NOT NULL UNIQUE,"
    "  model TEXT NOT NULL, os_version TEXT NOT NULL, build_version TEXT NOT NULL,"
    "  device_name TEXT NOT NULL, time_zone TEXT NOT NULL, organization TEXT NOT NULL,"
    "  key_kind TEXT, key_slot INTEGER, cert BLOB," /* identity: DER certificate */
    "  topic TEXT NOT NULL, checkin_path TEXT NOT NULL, server_path TEXT NOT NULL,"
    "  push_token BLOB, push_magic TEXT NOT NULL, unlock_token BLOB,"
    "  enrolled INTEGER NOT NULL, erased INTEGER NOT NULL,"
    "  passcode_present INTEGER NOT NULL, supervised INTEGER NOT NULL,"
    "  lost_mode INTEGER NOT NULL, awaiting_config INTEGER NOT NULL,"
    "  locked INTEGER NOT NULL, latitude REAL NOT NULL, longitude REAL NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS profile ("
    "  device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
    "  identifier TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL,"
    "  managed INTEGER NOT NULL, PRIMARY KEY (device_id, identifier));"
    "CREATE TABLE IF NOT EXISTS app ("
    "  device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
    "  identifier TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,"
    "  short_version TEXT NOT NULL, managed INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, identifier));";

/* Version 2: declarative device management.  ddm is the device's DDM
 * state as JSON (sim_ddm_state_dump()), update_fail the reason its next
 * software update fails with (NULL: it succeeds); its declarations. */
static const char migrate_2[] =
    "ALTER TABLE device ADD COLUMN ddm TEXT;"
    "ALTER TABLE device ADD COLUMN update_fail TEXT;"
    "CREATE TABLE declaration ("
    "  device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, identifier TEXT NOT NULL, type TEXT NOT NULL,"
    "  server_token TEXT NOT NULL, payload TEXT NOT NULL,"
    "  PRIMARY KEY (device_id, identifier));";

/* Version 3: Automated Device Enrolment (sim_ade.h): the devices that
 * came through ADE, where they enrol again after an erase and with which
 * signer files, and their last refusal. */
static const char migrate_3[] =
    "CREATE TABLE ade ("
    "  device_id INTEGER PRIMARY KEY REFERENCES device(id) ON DELETE CASCADE,"
    "  url TEXT NOT NULL, signer_cert TEXT NOT NULL, signer_key TEXT NOT NULL,"
    "  signer_chain TEXT NOT NULL, refusal TEXT NOT NULL);";

static int db_err(sqlite3 *h, int rc, char *err, size_t cap)
{
	if (err && cap)
		snprintf(err, cap, "%s", h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
	if (rc == SQLITE_NOMEM)
		return AP_ENOMEM;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return AP_EBUSY;
	if (rc == SQLITE_CONSTRAINT)
		return AP_EEXIST;
	return AP_EDB;
}

/* Creates the file 0600 before SQLite does (it would use the umask). */
static void create_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/* From version to SCHEMA_VERSION in one transaction: version 0 is a new
 * file, version 1 a file of an ardoise-sim from before DDM, version 2 one
 * from before ADE. */
static int migrate(sqlite3 *h, int version)
{
	int rc = SQLITE_OK;

	if (version == SCHEMA_VERSION)
		return rc;
	if ((rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return rc;
	if (version < 1)
		rc = sqlite3_exec(h, schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK && version < 2)
		rc = sqlite3_exec(h, migrate_2, NULL, NULL, NULL);
	if (rc == SQLITE_OK && version < 3)
		rc = sqlite3_exec(h, migrate_3, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, "PRAGMA user_version = 3; COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int sim_state_open(const char *path, struct sim_state **ret, char *err, size_t cap)
{
	struct sim_state *st = calloc(1, sizeof(*st));
	int version = 0, rc;
	sqlite3_stmt *s = NULL;

	if (st == NULL)
		return AP_ENOMEM;
	create_private(path);
	rc = sqlite3_open_v2(path, &st->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->h, 5000);
	rc = sqlite3_exec(st->h,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  " PRAGMA foreign_keys=ON;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->h, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		goto fail;
	if (version > SCHEMA_VERSION) {
		if (err)
			snprintf(err, cap, "%s: made by a newer ardoise-sim (schema %d)", path,
				 version);
		sim_state_close(st);
		return AP_EUNSUPPORTED;
	}
	if ((rc = migrate(st->h, version)) != SQLITE_OK)
		goto fail;
	*ret = st;
	return 0;
fail:
	rc = db_err(st->h, rc, err, cap);
	sim_state_close(st);
	return rc;
}

void sim_state_close(struct sim_state *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < C__COUNT; i++)
		sqlite3_finalize(st->cache[i]);
	sqlite3_close(st->h);
	free(st);
}

static int exec(struct sim_state *st, const char *sql)
{
	int rc = sqlite3_exec(st->h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_err(st->h, rc, NULL, 0);
}

int sim_state_begin(struct sim_state *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

int sim_state_commit(struct sim_state *st)
{
	return exec(st, "COMMIT");
}

void sim_state_rollback(struct sim_state *st)
{
	exec(st, "ROLLBACK");
}

static int prepare(struct sim_state *st, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(st->h, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : db_err(st->h, rc, NULL, 0);
}

/* sqlite3_step() of a statement that returns no row, then finalize. */
static int step_done(struct sim_state *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st->h, rc, NULL, 0);
}

static const char *const cached_sql[C__COUNT] = {
    [C_INSERT_DEVICE] =
	"INSERT INTO device(udid, serial, model, os_version, build_version, device_name,"
	" time_zone, organization, key_kind, key_slot, cert, topic, checkin_path,"
	" server_path, push_token, push_magic, unlock_token, enrolled, erased,"
	" passcode_present, supervised, lost_mode, awaiting_config, locked, latitude,"
	" longitude, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
	"?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27)",
    [C_UPDATE_DEVICE] =
	"UPDATE device SET udid=?1, serial=?2, model=?3, os_version=?4, build_version=?5,"
	" device_name=?6, time_zone=?7, organization=?8, key_kind=?9, key_slot=?10,"
	" cert=?11, topic=?12, checkin_path=?13, server_path=?14, push_token=?15,"
	" push_magic=?16, unlock_token=?17, enrolled=?18, erased=?19, passcode_present=?20,"
	" supervised=?21, lost_mode=?22, awaiting_config=?23, locked=?24, latitude=?25,"
	" longitude=?26, updated_at=?27 WHERE id=?28",
    [C_DELETE_PROFILES] = "DELETE FROM profile WHERE device_id = ?",
    [C_DELETE_APPS] = "DELETE FROM app WHERE device_id = ?",
    [C_INSERT_PROFILE] = "INSERT INTO profile VALUES (?,?,?,?,?)",
    [C_INSERT_APP] = "INSERT INTO app VALUES (?,?,?,?,?,?)",
    [C_DELETE_DECLS] = "DELETE FROM declaration WHERE device_id = ?",
    [C_INSERT_DECL] = "INSERT INTO declaration VALUES (?,?,?,?,?,?)",
    [C_UPDATE_DDM] = "UPDATE device SET ddm = ?2, update_fail = ?3 WHERE id = ?1",
};

/* The cached statement c, reset and unbound, owned by st. */
static int cached(struct sim_state *st, enum cached c, sqlite3_stmt **ret)
{
	if (st->cache[c] == NULL) {
		int rc = sqlite3_prepare_v3(st->h, cached_sql[c], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->cache[c], NULL);
		if (rc != SQLITE_OK)
			return db_err(st->h, rc, NULL, 0);
	}
	sqlite3_reset(st->cache[c]);
	sqlite3_clear_bindings(st->cache[c]);
	*ret = st->cache[c];
	return 0;
}

/* Runs a cached statement that returns no row. */
static int run_cached(struct sim_state *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_err(st->h, rc, NULL, 0);
}

/* ---- key pool ---- */

static const char *const kind_names[SIM_KEY__COUNT] = {"rsa", "ec"};

const char *sim_key_kind_name(enum sim_key_kind k)
{
	return (unsigned)k < SIM_KEY__COUNT ? kind_names[k] : "?";
}

int sim_key_kind_from_name(const char *s, enum sim_key_kind *ret)
{
	for (int k = 0; k < SIM_KEY__COUNT; k++) {
		if (s && strcmp(s, kind_names[k]) == 0) {
			*ret = (enum sim_key_kind)k;
			return 0;
		}
	}
	return AP_EINVAL;
}

enum sim_key_kind sim_key_kind_of(EVP_PKEY *key)
{
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? SIM_KEY_RSA : SIM_KEY_EC;
}

void sim_pool_clear(struct sim_pool *pool)
{
	for (int k = 0; k < SIM_KEY__COUNT; k++) {
		for (size_t i = 0; i < pool->n[k]; i++)
			EVP_PKEY_free(pool->keys[k][i]);
		free(pool->keys[k]);
		pool->keys[k] = NULL;
		pool->n[k] = 0;
	}
}

EVP_PKEY *sim_pool_key(const struct sim_pool *pool, enum sim_key_kind kind, int slot)
{
	if ((unsigned)kind >= SIM_KEY__COUNT || slot < 0 || (size_t)slot >= pool->n[kind])
		return NULL;
	return pool->keys[kind][slot];
}

static int pool_push(struct sim_pool *pool, enum sim_key_kind k, EVP_PKEY *key)
{
	EVP_PKEY **keys = realloc(pool->keys[k], (pool->n[k] + 1) * sizeof(*keys));
	if (keys == NULL)
		return AP_ENOMEM;
	keys[pool->n[k]++] = key;
	pool->keys[k] = keys;
	return 0;
}

/* Loads the stored keys; slots are dense from 0. */
static int pool_load(struct sim_state *st, struct sim_pool *pool)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st, "SELECT kind, pem FROM key_pool ORDER BY kind, slot", &s);

	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		enum sim_key_kind k;
		EVP_PKEY *key = NULL;
		const char *pem = (const char *)sqlite3_column_text(s, 1);
		if (sim_key_kind_from_name((const char *)sqlite3_column_text(s, 0), &k) < 0)
			continue;
		rc = ap_pkey_from_pem(pem, (size_t)sqlite3_column_bytes(s, 1), &key);
		if (rc == 0 && (rc = pool_push(pool, k, key)) < 0)
			EVP_PKEY_free(key);
	}
	sqlite3_finalize(s);
	return rc;
}

static int pool_store(struct sim_state *st, enum sim_key_kind k, size_t slot, EVP_PKEY *key)
{
	sqlite3_stmt *s = NULL;
	char *pem = NULL;
	size_t len = 0;
	int rc = ap_pkey_to_pem(key, &pem, &len);

	if (rc == 0)
		rc = prepare(st, "INSERT INTO key_pool(kind, slot, pem) VALUES (?,?,?)", &s);
	if (rc == 0) {
		sqlite3_bind_text(s, 1, kind_names[k], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)slot);
		sqlite3_bind_text(s, 3, pem, (int)len, SQLITE_STATIC);
		rc = step_done(st, s);
	}
	if (pem)
		OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

/* Key generation shared by a few threads (RSA-2048 takes ~100 ms each). */
struct keygen {
	enum sim_key_kind kind;
	EVP_PKEY **out;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
};

static void *keygen_main(void *arg)
{
	struct keygen *g = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&g->next, 1);
		if (i >= g->n || atomic_load(&g->failed))
			break;
		int rc = g->kind == SIM_KEY_RSA ? ap_x509_new_rsa_key(2048, &g->out[i])
						: ap_x509_new_ec_key(&g->out[i]);
		if (rc < 0)
			atomic_store(&g->failed, rc);
	}
	return NULL;
}

static int keygen(enum sim_key_kind kind, EVP_PKEY **out, size_t n)
{
	struct keygen g = {kind, out, n, 0, 0};
	pthread_t th[8];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cpus > 1 ? (size_t)(cpus > 8 ? 8 : cpus) : 1, started = 0;

	for (; started + 1 < k; started++)
		if (pthread_create(&th[started], NULL, keygen_main, &g) != 0)
			break;
	keygen_main(&g);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&g.failed);
}

int sim_state_pool(struct sim_state *st, struct sim_pool *pool, enum sim_key_kind kind, size_t want,
		   void (*announce)(size_t total))
{
	int rc = pool_load(st, pool);
	size_t have = pool->n[kind], todo = want > have ? want - have : 0;

	if (rc < 0 || todo == 0)
		return rc;
	EVP_PKEY **fresh = calloc(todo, sizeof(*fresh));
	if (fresh == NULL)
		return AP_ENOMEM;
	if (announce)
		announce(todo);
	int in_tx = 0;
	if ((rc = keygen(kind, fresh, todo)) == 0 && (rc = sim_state_begin(st)) == 0)
		in_tx = 1;
	for (size_t i = 0; rc == 0 && i < todo; i++) {
		if ((rc = pool_store(st, kind, pool->n[kind], fresh[i])) == 0 &&
		    (rc = pool_push(pool, kind, fresh[i])) == 0)
			fresh[i] = NULL;
	}
	if (in_tx && rc == 0)
		rc = sim_state_commit(st);
	else if (in_tx)
		sim_state_rollback(st);
	for (size_t i = 0; i < todo; i++)
		EVP_PKEY_free(fresh[i]);
	free(fresh);
	return rc;
}

/* ---- devices ---- */

#define DEVICE_COLS                                                                   \
	"id, udid, serial, model, os_version, build_version, device_name, time_zone," \
	" organization, key_kind, key_slot, cert, topic, checkin_path, server_path,"  \
	" push_token, push_magic, unlock_token, enrolled, erased, passcode_present,"  \
	" supervised, lost_mode, awaiting_config, locked, latitude, longitude, ddm,"  \
	" update_fail"

static void col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void col_blob(sqlite3_stmt *s, int i, unsigned char *out, size_t n)
{
	const void *b = sqlite3_column_blob(s, i);
	if (b && (size_t)sqlite3_column_bytes(s, i) == n)
		memcpy(out, b, n);
}

static int row_identity(sqlite3_stmt *s, const struct sim_pool *pool, struct sim_device *d)
{
	enum sim_key_kind k;
	const char *kind = (const char *)sqlite3_column_text(s, 9);
	const unsigned char *cert = sqlite3_column_blob(s, 11);
	int len = sqlite3_column_bytes(s, 11);

	if (kind == NULL || cert == NULL || len <= 0 || sim_key_kind_from_name(kind, &k) < 0)
		return 0;
	EVP_PKEY *key = sim_pool_key(pool, k, sqlite3_column_int(s, 10));
	if (key == NULL)
		return 0; /* the pool lost it: the device must enrol again */
	return sim_device_set_identity(d, key, sqlite3_column_int(s, 10), cert, (size_t)len);
}

static int row_device(sqlite3_stmt *s, const struct sim_pool *pool, struct sim_device **ret)
{
	struct sim_device *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return AP_ENOMEM;
	d->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, d->udid, sizeof(d->udid));
	col_text(s, 2, d->serial, sizeof(d->serial));
	col_text(s, 3, d->model, sizeof(d->model));
	col_text(s, 4, d->os_version, sizeof(d->os_version));
	col_text(s, 5, d->build_version, sizeof(d->build_version));
	col_text(s, 6, d->device_name, sizeof(d->device_name));
	col_text(s, 7, d->time_zone, sizeof(d->time_zone));
	col_text(s, 8, d->organization, sizeof(d->organization));
	d->key_slot = -1;
	col_text(s, 12, d->topic, sizeof(d->topic));
	col_text(s, 13, d->checkin_path, sizeof(d->checkin_path));
	col_text(s, 14, d->server_path, sizeof(d->server_path));
	col_blob(s, 15, d->push_token, sizeof(d->push_token));
	col_text(s, 16, d->push_magic, sizeof(d->push_magic));
	col_blob(s, 17, d->unlock_token, sizeof(d->unlock_token));
	d->enrolled = sqlite3_column_int(s, 18);
	d->erased = sqlite3_column_int(s, 19);
	d->passcode_present = sqlite3_column_int(s, 20);
	d->supervised = sqlite3_column_int(s, 21);
	d->lost_mode = sqlite3_column_int(s, 22);
	d->awaiting_configuration = sqlite3_column_int(s, 23);
	d->locked = sqlite3_column_int(s, 24);
	d->latitude = sqlite3_column_double(s, 25);
	d->longitude = sqlite3_column_double(s, 26);
	d->update_fail_on = sqlite3_column_type(s, 28) != SQLITE_NULL;
	col_text(s, 28, d->update_fail, sizeof(d->update_fail));
	int rc = sim_ddm_state_load(&d->ddm, (const char *)sqlite3_column_text(s, 27));
	if (rc == 0)
		rc = row_identity(s, pool, d);
	if (rc < 0) {
		sim_device_free(d);
		return rc;
	}
	if (d->key == NULL)
		d->enrolled = 0;
	*ret = d;
	return 0;
}

static const char *filter_sql(enum sim_filter f)
{
	switch (f) {
	case SIM_ENROLLED:
		return " WHERE enrolled = 1 AND erased = 0";
	case SIM_ERASED:
		return " WHERE erased = 1 AND id NOT IN (SELECT device_id FROM ade)";
	case SIM_ERASED_ADE:
		return " WHERE erased = 1 AND id IN (SELECT device_id FROM ade)";
	default:
		return "";
	}
}

static struct sim_device *by_id(struct sim_device **devs, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (devs[mid]->id == id)
			return devs[mid];
		if (devs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The ADE origin of devs (sorted by id). */
static int load_ade(struct sim_state *st, struct sim_device **devs, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st,
			 "SELECT device_id, url, signer_cert, signer_key, signer_chain, refusal"
			 " FROM ade ORDER BY device_id",
			 &s);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct sim_device *d = by_id(devs, n, sqlite3_column_int64(s, 0));
		if (d == NULL)
			continue;
		if (d->ade == NULL && (d->ade = calloc(1, sizeof(*d->ade))) == NULL) {
			rc = AP_ENOMEM;
			break;
		}
		col_text(s, 1, d->ade->url, sizeof(d->ade->url));
		col_text(s, 2, d->ade->cert, sizeof(d->ade->cert));
		col_text(s, 3, d->ade->key, sizeof(d->ade->key));
		col_text(s, 4, d->ade->chain, sizeof(d->ade->chain));
		col_text(s, 5, d->ade->refusal, sizeof(d->ade->refusal));
	}
	sqlite3_finalize(s);
	return rc;
}

/* Fills the profile and app lists of devs (sorted by id). */
static int load_lists(struct sim_state *st, struct sim_device **devs, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st,
			 "SELECT device_id, identifier, uuid, name, managed FROM profile"
			 " ORDER BY device_id, rowid",
			 &s);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct sim_device *d = by_id(devs, n, sqlite3_column_int64(s, 0));
		if (d)
			rc = sim_device_put_profile(d, (const char *)sqlite3_column_text(s, 1),
						    (const char *)sqlite3_column_text(s, 2),
						    (const char *)sqlite3_column_text(s, 3),
						    sqlite3_column_int(s, 4));
	}
	sqlite3_finalize(s);
	if (rc == 0)
		rc = prepare(st,
			     "SELECT device_id, identifier, name, version, short_version, managed"
			     " FROM app ORDER BY device_id, rowid",
			     &s);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct sim_device *d = by_id(devs, n, sqlite3_column_int64(s, 0));
		if (d)
			rc = sim_device_put_app(d, (const char *)sqlite3_column_text(s, 1),
						(const char *)sqlite3_column_text(s, 2),
						(const char *)sqlite3_column_text(s, 3),
						(const char *)sqlite3_column_text(s, 4),
						sqlite3_column_int(s, 5));
	}
	sqlite3_finalize(s);
	if (rc == 0)
		rc = prepare(st,
			     "SELECT device_id, kind, identifier, type, server_token, payload"
			     " FROM declaration ORDER BY device_id, rowid",
			     &s);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct sim_device *d = by_id(devs, n, sqlite3_column_int64(s, 0));
		const char *t[5];
		for (int i = 0; i < 5; i++)
			t[i] = (const char *)sqlite3_column_text(s, i + 1);
		if (d)
			rc = sim_ddm_state_put(&d->ddm, t[0], t[1], t[2], t[3], t[4]);
	}
	sqlite3_finalize(s);
	if (rc == 0)
		rc = load_ade(st, devs, n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		sim_ddm_evaluate(devs[i]);
	return rc;
}

void sim_state_free_devices(struct sim_device **devs, size_t n)
{
	for (size_t i = 0; devs && i < n; i++)
		sim_device_free(devs[i]);
	free(devs);
}

/* Runs a device SELECT; where is appended to the column list. */
static int load_where(struct sim_state *st, const struct sim_pool *pool, const char *where,
		      const char *udid, size_t limit, struct sim_device ***ret, size_t *ret_n)
{
	char sql[512];
	sqlite3_stmt *s = NULL;
	struct sim_device **devs = NULL;
	size_t n = 0, cap = 0;

	snprintf(sql, sizeof(sql), "SELECT " DEVICE_COLS " FROM device%s ORDER BY id LIMIT ?1",
		 where);
	int rc = prepare(st, sql, &s);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, limit ? (sqlite3_int64)limit : -1);
	if (udid)
		sqlite3_bind_text(s, 2, udid, -1, SQLITE_STATIC);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct sim_device **bigger = realloc(devs, cap * sizeof(*devs));
			if (bigger == NULL) {
				rc = AP_ENOMEM;
				break;
			}
			devs = bigger;
		}
		if ((rc = row_device(s, pool, &devs[n])) == 0)
			n++;
	}
	sqlite3_finalize(s);
	if (rc == 0)
		rc = load_lists(st, devs, n);
	if (rc < 0) {
		sim_state_free_devices(devs, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		devs[i]->dirty = 0;
	*ret = devs;
	*ret_n = n;
	return 0;
}

int sim_state_load(struct sim_state *st, const struct sim_pool *pool, enum sim_filter filter,
		   size_t limit, struct sim_device ***ret, size_t *ret_n)
{
	return load_where(st, pool, filter_sql(filter), NULL, limit, ret, ret_n);
}

int sim_state_load_one(struct sim_state *st, const struct sim_pool *pool, const char *udid,
		       struct sim_device **ret)
{
	struct sim_device **devs = NULL;
	size_t n = 0;
	int rc = load_where(st, pool, " WHERE udid = ?2", udid, 1, &devs, &n);

	if (rc == 0 && n == 0)
		rc = AP_ENOTFOUND;
	if (rc == 0) {
		*ret = devs[0];
		free(devs);
		return 0;
	}
	sim_state_free_devices(devs, n);
	return rc;
}

/* ---- saving ---- */

static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
	sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

static void bind_device(sqlite3_stmt *s, const struct sim_device *d)
{
	bind_text(s, 1, d->udid);
	bind_text(s, 2, d->serial);
	bind_text(s, 3, d->model);
	bind_text(s, 4, d->os_version);
	bind_text(s, 5, d->build_version);
	bind_text(s, 6, d->device_name);
	bind_text(s, 7, d->time_zone);
	bind_text(s, 8, d->organization);
	if (d->key) {
		bind_text(s, 9, sim_key_kind_name(sim_key_kind_of(d->key)));
		sqlite3_bind_int(s, 10, d->key_slot);
		sqlite3_bind_blob(s, 11, d->cert_der, (int)d->cert_len, SQLITE_STATIC);
	}
	bind_text(s, 12, d->topic);
	bind_text(s, 13, d->checkin_path);
	bind_text(s, 14, d->server_path);
	sqlite3_bind_blob(s, 15, d->push_token, sizeof(d->push_token), SQLITE_STATIC);
	bind_text(s, 16, d->push_magic);
	sqlite3_bind_blob(s, 17, d->unlock_token, sizeof(d->unlock_token), SQLITE_STATIC);
	sqlite3_bind_int(s, 18, d->enrolled);
	sqlite3_bind_int(s, 19, d->erased);
	sqlite3_bind_int(s, 20, d->passcode_present);
	sqlite3_bind_int(s, 21, d->supervised);
	sqlite3_bind_int(s, 22, d->lost_mode);
	sqlite3_bind_int(s, 23, d->awaiting_configuration);
	sqlite3_bind_int(s, 24, d->locked);
	sqlite3_bind_double(s, 25, d->latitude);
	sqlite3_bind_double(s, 26, d->longitude);
	sqlite3_bind_int64(s, 27, (sqlite3_int64)time(NULL));
}

static int save_row(struct sim_state *st, struct sim_device *d)
{
	sqlite3_stmt *s = NULL;
	int rc = cached(st, d->id ? C_UPDATE_DEVICE : C_INSERT_DEVICE, &s);

	if (rc < 0)
		return rc;
	bind_device(s, d);
	if (d->id)
		sqlite3_bind_int64(s, 28, d->id);
	rc = run_cached(st, s);
	if (rc == 0 && d->id == 0)
		d->id = sqlite3_last_insert_rowid(st->h);
	return rc;
}

static int delete_list(struct sim_state *st, enum cached c, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc = cached(st, c, &s);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	return run_cached(st, s);
}

static int save_profile(struct sim_state *st, int64_t id, const struct sim_profile *p)
{
	sqlite3_stmt *s = NULL;
	int rc = cached(st, C_INSERT_PROFILE, &s);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, p->identifier);
	bind_text(s, 3, p->uuid);
	bind_text(s, 4, p->name);
	sqlite3_bind_int(s, 5, p->managed);
	return run_cached(st, s);
}

static int save_app(struct sim_state *st, int64_t id, const struct sim_app *a)
{
	sqlite3_stmt *s = NULL;
	int rc = cached(st, C_INSERT_APP, &s);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, a->identifier);
	bind_text(s, 3, a->name);
	bind_text(s, 4, a->version);
	bind_text(s, 5, a->short_version);
	sqlite3_bind_int(s, 6, a->managed);
	return run_cached(st, s);
}

static int save_decl(struct sim_state *st, int64_t id, const struct sim_decl *x)
{
	sqlite3_stmt *s = NULL;
	int rc = cached(st, C_INSERT_DECL, &s);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, ap_ddm_kind_name(x->kind));
	bind_text(s, 3, x->identifier);
	bind_text(s, 4, x->type);
	bind_text(s, 5, x->server_token);
	bind_text(s, 6, x->payload);
	return run_cached(st, s);
}

/* The DDM columns and the declarations. */
static int save_ddm(struct sim_state *st, const struct sim_device *d)
{
	sqlite3_stmt *s = NULL;
	char *json = NULL;
	int rc = sim_ddm_state_dump(&d->ddm, &json);

	if (rc == 0)
		rc = cached(st, C_UPDATE_DDM, &s);
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, d->id);
		bind_text(s, 2, json);
		if (d->update_fail_on)
			bind_text(s, 3, d->update_fail);
		rc = run_cached(st, s);
	}
	free(json);
	if (rc == 0)
		rc = delete_list(st, C_DELETE_DECLS, d->id);
	for (size_t i = 0; rc == 0 && i < d->ddm.n_decls; i++)
		rc = save_decl(st, d->id, &d->ddm.decls[i]);
	return rc;
}

static int save_ade(struct sim_state *st, const struct sim_device *d)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st,
			 "INSERT OR REPLACE INTO ade (device_id, url, signer_cert, signer_key,"
			 " signer_chain, refusal) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			 &s);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, d->id);
	bind_text(s, 2, d->ade->url);
	bind_text(s, 3, d->ade->cert);
	bind_text(s, 4, d->ade->key);
	bind_text(s, 5, d->ade->chain);
	bind_text(s, 6, d->ade->refusal);
	return step_done(st, s);
}

static int save_lists(struct sim_state *st, const struct sim_device *d)
{
	int rc = delete_list(st, C_DELETE_PROFILES, d->id);

	if (rc == 0)
		rc = delete_list(st, C_DELETE_APPS, d->id);
	if (rc == 0)
		rc = save_ddm(st, d);
	for (size_t i = 0; rc == 0 && i < d->n_profiles; i++)
		rc = save_profile(st, d->id, &d->profiles[i]);
	for (size_t i = 0; rc == 0 && i < d->n_apps; i++)
		rc = save_app(st, d->id, &d->apps[i]);
	if (rc == 0 && d->ade)
		rc = save_ade(st, d);
	return rc;
}

int sim_state_save(struct sim_state *st, struct sim_device *d)
{
	int64_t old_id = d->id;
	int rc = exec(st, "SAVEPOINT save_device");

	if (rc < 0)
		return rc;
	if ((rc = save_row(st, d)) == 0)
		rc = save_lists(st, d);
	if (rc < 0) {
		exec(st, "ROLLBACK TO save_device");
		d->id = old_id;
	}
	exec(st, "RELEASE save_device");
	if (rc == 0)
		d->dirty = 0;
	return rc;
}

int sim_state_save_all(struct sim_state *st, struct sim_device **devs, size_t n)
{
	int rc = sim_state_begin(st);

	for (size_t i = 0; rc == 0 && i < n; i++)
		if (devs[i] && (devs[i]->dirty || devs[i]->id == 0))
			rc = sim_state_save(st, devs[i]);
	if (rc < 0) {
		sim_state_rollback(st);
		return rc;
	}
	return sim_state_commit(st);
}

int sim_state_set_locked(struct sim_state *st, const char *udid, int locked)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st, "UPDATE device SET locked = ? WHERE udid = ?", &s);

	if (rc < 0)
		return rc;
	sqlite3_bind_int(s, 1, locked ? 1 : 0);
	bind_text(s, 2, udid);
	rc = step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->h) == 0)
		rc = AP_ENOTFOUND;
	return rc;
}

int sim_state_set_update_fail(struct sim_state *st, const char *udid, const char *reason)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st, "UPDATE device SET update_fail = ? WHERE udid = ?", &s);

	if (rc < 0)
		return rc;
	if (reason)
		bind_text(s, 1, reason);
	bind_text(s, 2, udid);
	rc = step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->h) == 0)
		rc = AP_ENOTFOUND;
	return rc;
}

int sim_state_count(struct sim_state *st, enum sim_filter filter, size_t *ret)
{
	char sql[160];
	sqlite3_stmt *s = NULL;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM device%s", filter_sql(filter));
	int rc = prepare(st, sql, &s);
	if (rc < 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		*ret = (size_t)sqlite3_column_int64(s, 0);
	else
		rc = db_err(st->h, sqlite3_errcode(st->h), NULL, 0);
	sqlite3_finalize(s);
	return rc;
}
