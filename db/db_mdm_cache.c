/*
 * db_mdm_cache.c - the session index (db_mdm_cache.h).
 *
 * One entry a certificate, keyed by its SHA-256 (raw), holding its
 * identity row and, once read, the device bound to it, each part with the
 * tag (db_cache_seq()) taken before it was read: db_watch.c says whether
 * a commit changed its row since.  The connection's own uncommitted
 * changes are never served from, nor stored into, the index.
 */
#include "db_int.h"
#include "db_mdm_cache.h"
#include "ap_err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRTY_BITS 18
#define DIRTY_N	   (1u << DIRTY_BITS)
#define TRUST_N	   16
#define PEND_MAX   4096

enum { F_IDENT = 1, F_ISSUED = 2, F_ENDED = 4, F_DEV = 8 };
enum { T_IDENT = 0, T_DEV = 1 };

static const char *const enrollments[] = {"none", "pending", "enrolled", "unenrolled"};

struct ent {
	unsigned char fp[32];
	uint64_t tag, tag_d; /* the seq before its identity row, its device row were read */
	uint32_t next;	     /* the next entry of its bucket, index + 1 (0: none) */
	uint32_t ident_id, bind_seq, dev_id, seen, push;
	uint8_t flags;	/* F_* */
	uint8_t enroll; /* enrollments[] */
	uint8_t trust;	/* trusts[] */
	char *strs;	/* udid '\0' serial '\0' ("" udid: not bound) */
};

/* under db_watch_lock() */
static struct {
	struct ent *ents;
	uint32_t n_ents, cap_ents;
	uint32_t *buckets; /* index + 1 of the first entry (0: none) */
	uint32_t n_buckets;
	char trusts[TRUST_N][17];
	unsigned n_trusts;
	uint64_t hits, misses, str_bytes;
} c;

static uint32_t bucket(const unsigned char fp[32])
{
	uint32_t h;
	memcpy(&h, fp, sizeof(h)); /* a SHA-256 already */
	return h & (c.n_buckets - 1);
}

/* The raw bytes of fp, 64 lower-case hex digits; -1 for anything else. */
static int fp_key(const char *fp, unsigned char out[32])
{
	for (int i = 0; i < 64; i++) {
		char ch = fp[i];
		int v = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
						 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return fp[64] == '\0' ? 0 : -1;
}

static void free_entries(void);

void db_mdm_cache_clear(void)
{
	db_watch_lock();
	free_entries();
	db_watch_forget();
	db_watch_unlock();
}

void db_mdm_cache_stats(struct db_mdm_cache_stats *ret)
{
	db_watch_lock();
	ret->hits = c.hits;
	ret->misses = c.misses;
	ret->entries = c.n_ents;
	ret->bytes = (uint64_t)c.cap_ents * sizeof(struct ent) +
		     (uint64_t)c.n_buckets * sizeof(uint32_t) + c.str_bytes;
	db_watch_unlock();
}

static struct ent *find(const unsigned char fp[32]);

/* A committed last_seen (db_watch.c, under the lock). */
static void seen_committed(const struct db_pend *p)
{
	struct ent *e = find(p->fp);
	if (e && (e->flags & F_DEV) && e->dev_id == p->rowid)
		e->seen = (uint32_t)p->seen;
}

static void free_entries(void)
{
	for (uint32_t i = 0; i < c.n_ents; i++)
		free(c.ents[i].strs);
	free(c.ents);
	free(c.buckets);
	c.ents = NULL;
	c.buckets = NULL;
	c.n_ents = c.cap_ents = c.n_buckets = 0;
	c.n_trusts = 0;
	c.str_bytes = 0;
}

static pthread_once_t hooked = PTHREAD_ONCE_INIT;

static void hook(void)
{
	db_watch_on(seen_committed, free_entries);
}

static struct ent *find(const unsigned char fp[32])
{
	if (c.n_buckets == 0)
		return NULL;
	for (uint32_t i = c.buckets[bucket(fp)]; i; i = c.ents[i - 1].next)
		if (memcmp(c.ents[i - 1].fp, fp, 32) == 0)
			return &c.ents[i - 1];
	return NULL;
}

/* ---- the index ---- */

/* Whether the identity part of e (and its device part, with dev) may be
 * trusted: no commit changed their rows since they were read. */
static int fresh(const struct ent *e, int dev)
{
	if (!db_watch_fresh(T_IDENT, e->ident_id, e->tag))
		return 0;
	return !dev || db_watch_fresh(T_DEV, e->dev_id, e->tag_d);
}

/* The seq a read made now is tagged with: 0 when it cannot be told (a
 * statement of this connection still holds an older snapshot). */
static int read_tag(struct db *db, uint64_t *ret)
{
	if (!sqlite3_get_autocommit(db->h)) {
		*ret = db->snap_seq; /* taken before the transaction began */
		return 1;
	}
	if (sqlite3_txn_state(db->h, "main") != SQLITE_TXN_NONE)
		return 0;
	*ret = db_cache_seq();
	return 1;
}

static int grow(void)
{
	if (c.n_ents == c.cap_ents) {
		uint32_t ncap = c.cap_ents ? c.cap_ents * 2 : 1024;
		if (ncap > DB_MDM_CACHE_MAX)
			ncap = DB_MDM_CACHE_MAX;
		struct ent *p = ncap > c.cap_ents ? realloc(c.ents, ncap * sizeof(*p)) : NULL;
		if (p == NULL)
			return AP_ELIMIT;
		c.ents = p;
		c.cap_ents = ncap;
	}
	if (c.n_ents < c.n_buckets)
		return 0;
	uint32_t nb = c.n_buckets ? c.n_buckets * 2 : 1024;
	uint32_t *b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return AP_ENOMEM;
	free(c.buckets);
	c.buckets = b;
	c.n_buckets = nb;
	for (uint32_t i = 0; i < c.n_ents; i++) {
		uint32_t k = bucket(c.ents[i].fp);
		c.ents[i].next = b[k];
		b[k] = i + 1;
	}
	return 0;
}

/* The entry of fp, new (zero) when there was none; NULL when full. */
static struct ent *take(const unsigned char fp[32])
{
	struct ent *e = find(fp);
	if (e || grow() < 0)
		return e;
	e = &c.ents[c.n_ents];
	memset(e, 0, sizeof(*e));
	memcpy(e->fp, fp, 32);
	uint32_t k = bucket(fp);
	e->next = c.buckets[k];
	c.buckets[k] = ++c.n_ents;
	return e;
}

static void set_strs(struct ent *e, char *s, size_t n)
{
	if (e->strs)
		c.str_bytes -= strlen(e->strs) + strlen(e->strs + strlen(e->strs) + 1) + 2;
	free(e->strs);
	e->strs = s;
	c.str_bytes += s ? n : 0;
}

static void store_ident(const unsigned char fp[32], const struct db_mdm_identity *id, uint64_t tag)
{
	if (id->id <= 0 || id->id > UINT32_MAX || id->bind_seq < 0 || id->bind_seq > UINT32_MAX)
		return;
	size_t n = strlen(id->udid) + 2;
	char *s = malloc(n);
	if (s == NULL)
		return;
	memcpy(s, id->udid, n - 1);
	s[n - 1] = '\0'; /* no serial yet */
	db_watch_lock();
	struct ent *e = take(fp);
	if (e) {
		e->tag = tag;
		e->ident_id = (uint32_t)id->id;
		e->bind_seq = (uint32_t)id->bind_seq;
		e->flags = F_IDENT | (id->issued ? F_ISSUED : 0) |
			   (id->ended ? F_ENDED : 0); /* no device */
		set_strs(e, s, n);
		s = NULL;
	}
	db_watch_unlock();
	free(s);
}

int db_mdm_identity_known(struct db *db, const char *fp, struct db_mdm_identity *ret)
{
	unsigned char key[32];
	uint64_t tag = 0;
	if (!db->cache_ok || fp_key(fp, key) < 0)
		return db_mdm_identity_get(db, fp, ret);
	pthread_once(&hooked, hook);
	db_watch_lock();
	const struct ent *e = find(key);
	if (e && fresh(e, 0) && !db_watch_pending(db, T_IDENT, e->ident_id)) {
		memset(ret, 0, sizeof(*ret));
		ret->id = e->ident_id;
		snprintf(ret->udid, sizeof(ret->udid), "%s", e->strs);
		ret->issued = !!(e->flags & F_ISSUED);
		ret->ended = !!(e->flags & F_ENDED);
		ret->bind_seq = e->bind_seq;
		c.hits++;
		db_watch_unlock();
		return 0;
	}
	c.misses++;
	db_watch_unlock();
	int can = read_tag(db, &tag);
	int rc = db_mdm_identity_get(db, fp, ret);
	if (rc == 0 && can && !db_watch_pending(db, T_IDENT, ret->id))
		store_ident(key, ret, tag);
	return rc;
}

/* The index of trust_id in trusts[], added when new; -1 when full. */
static int trust_index(const char *trust_id)
{
	for (unsigned i = 0; i < c.n_trusts; i++)
		if (strcmp(c.trusts[i], trust_id) == 0)
			return (int)i;
	if (c.n_trusts == TRUST_N || strlen(trust_id) >= sizeof(c.trusts[0]))
		return -1;
	snprintf(c.trusts[c.n_trusts], sizeof(c.trusts[0]), "%s", trust_id);
	return (int)c.n_trusts++;
}

static int enroll_index(const char *enrollment)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(enrollments[i], enrollment) == 0)
			return i;
	return -1;
}

/* Adds the device d bound to fp to its entry, read at tag. */
static void store_dev(const unsigned char fp[32], const struct db_device *d, uint64_t tag)
{
	int en = enroll_index(d->enrollment);
	if (en < 0 || d->id <= 0 || d->id > UINT32_MAX || d->last_seen < 0 ||
	    d->last_seen > UINT32_MAX || d->last_push < 0 || d->last_push > UINT32_MAX)
		return;
	size_t nu = strlen(d->udid), n = nu + strlen(d->serial) + 2;
	char *s = malloc(n);
	if (s == NULL)
		return;
	memcpy(s, d->udid, nu + 1);
	memcpy(s + nu + 1, d->serial, n - nu - 1);
	db_watch_lock();
	struct ent *e = find(fp);
	int tr = e ? trust_index(d->trust_id) : -1;
	/* only on its identity's entry, bound to this very udid */
	if (e && tr >= 0 && (e->flags & F_IDENT) && strcmp(e->strs, d->udid) == 0) {
		e->tag_d = tag;
		e->dev_id = (uint32_t)d->id;
		e->seen = (uint32_t)d->last_seen;
		e->push = (uint32_t)d->last_push;
		e->enroll = (uint8_t)en;
		e->trust = (uint8_t)tr;
		e->flags |= F_DEV;
		set_strs(e, s, n);
		s = NULL;
	}
	db_watch_unlock();
	free(s);
}

int db_mdm_session_device(struct db *db, const char *udid, const char *fp, struct db_device *ret)
{
	unsigned char key[32];
	uint64_t tag = 0;
	if (!db->cache_ok || fp_key(fp, key) < 0)
		return db_mdm_by_udid(db, udid, ret);
	pthread_once(&hooked, hook);
	db_watch_lock();
	const struct ent *e = find(key);
	if (e && (e->flags & F_DEV) && fresh(e, 1) && strcmp(e->strs, udid) == 0 &&
	    !db_watch_pending(db, T_DEV, e->dev_id)) {
		memset(ret, 0, sizeof(*ret));
		ret->id = e->dev_id;
		snprintf(ret->udid, sizeof(ret->udid), "%s", e->strs);
		snprintf(ret->serial, sizeof(ret->serial), "%s", e->strs + strlen(e->strs) + 1);
		snprintf(ret->enrollment, sizeof(ret->enrollment), "%s", enrollments[e->enroll]);
		snprintf(ret->cert_fp, sizeof(ret->cert_fp), "%s", fp);
		snprintf(ret->trust_id, sizeof(ret->trust_id), "%s", c.trusts[e->trust]);
		ret->last_seen = e->seen;
		ret->last_push = e->push;
		ret->supervised = -1;
		c.hits++;
		db_watch_unlock();
		return 0;
	}
	c.misses++;
	db_watch_unlock();
	int can = read_tag(db, &tag);
	int rc = db_mdm_by_udid(db, udid, ret);
	if (rc == 0 && can && strcmp(ret->cert_fp, fp) == 0 &&
	    !db_watch_pending(db, T_DEV, ret->id))
		store_dev(key, ret, tag);
	return rc;
}

int db_mdm_seen_session(struct db *db, const struct db_device *d, int result)
{
	unsigned char key[32];
	int64_t now = db_now();
	if (!result && d->last_seen >= d->last_push && now >= d->last_seen &&
	    now - d->last_seen < DB_MDM_SEEN_INTERVAL)
		return 0;
	if (!db->cache_ok || fp_key(d->cert_fp, key) < 0)
		return db_mdm_seen(db, d->id);
	pthread_once(&hooked, hook);
	db->cache_quiet = 1; /* last_seen only: the entry is updated, not dropped */
	int rc = db_mdm_seen(db, d->id);
	db->cache_quiet = 0;
	if (rc == 0 && sqlite3_changes(db->h) > 0)
		db_watch_seen(db, d->id, now, key);
	return rc;
}
