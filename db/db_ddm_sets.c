/*
 * db_ddm_sets.c - the declarations that apply to many tablets, in one
 * pass over each table.
 *
 * The assignments are few (a catalogue's worth): each scope text, folded
 * to lower case, becomes a key of a small hash table whose value is the
 * bit set of the declarations assigned to it (declarations numbered in
 * (kind, identifier) order).  Each tablet keeps the keys it hits (its
 * collège, its serial, its groups; "fleet" hits all), found while the
 * rows are read, so that the walk only ORs a few bit sets per tablet and
 * reads the bits out in order.  100,000 tablets: one scan of device (with
 * device_ddm), one of the open loans when a group scope is assigned (a
 * collège: its tablets' loans one by one, through loan's index, rather
 * than every loan of the fleet).
 *
 * A declaration with a models filter (migration 18) is marked in the
 * filtered bit set, and each product type of its list becomes a key
 * "#model:<type>" (folded; no scope text starts with '#') whose bit set
 * holds the filtered declarations that list it: the lists are read once
 * per load, in one query, and each tablet finds its model's key once,
 * while its row is read.  The walk then keeps a filtered declaration only
 * when the tablet's model key has it.
 */
#include "db_int.h"
#include "db_ddm.h"
#include "db_policy.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct decl {
	enum db_ddm_kind kind;
	char *identifier, *server_token;
};

struct key {
	char *text;	/* the scope, folded; NULL: a free slot */
	uint64_t *bits; /* n_words words */
};

struct dev {
	int64_t id;
	char school[9];
	unsigned char enabled;
	int32_t school_key, device_key; /* -1: none */
	int32_t model_key;		/* "#model:<product_name>", -1: none */
	size_t token;			/* offset in the token arena */
	size_t g_start, g_n;		/* its group keys in group_keys[] */
};

/* (tablet, key) for a group of the tablet that some scope names. */
struct hit {
	size_t dev;
	int32_t key;
};

struct db_ddm_sets {
	struct decl *decls;
	size_t n_decls, n_words;
	struct key *keys; /* n_keys of them, room for cap_slots / 2 */
	size_t n_keys;
	int32_t *slots; /* open addressing: a key's index or -1; a power of two */
	size_t cap_slots;
	int32_t fleet_key;  /* -1: nothing assigned to the fleet */
	uint64_t *filtered; /* n_words: the declarations with a models filter; NULL: none */
	int has_groups;	    /* some scope is a group's */
	struct dev *devs;
	size_t n_devs, cap_devs;
	char *tokens; /* the stored tokens, NUL-terminated, one after another */
	size_t tokens_len, tokens_cap;
	struct hit *hits;
	size_t n_hits, cap_hits;
	int32_t *group_keys; /* hits' keys, grouped by tablet */
};

/* ---- keys --------------------------------------------------------------------- */

static void fold(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[i] = '\0';
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of folded text: the one holding its key, or the free one
 * where it would go. */
static size_t key_slot(const struct db_ddm_sets *s, const char *text)
{
	size_t k = fnv(text) & (s->cap_slots - 1);
	while (s->slots[k] >= 0 && strcmp(s->keys[s->slots[k]].text, text) != 0)
		k = (k + 1) & (s->cap_slots - 1);
	return k;
}

/* The key of a scope text (folded here), -1 when no scope has it. */
static int32_t key_find(const struct db_ddm_sets *s, const char *scope)
{
	char text[DB_DDM_SCOPE_MAX + 2];
	if (s->cap_slots == 0 || strlen(scope) > DB_DDM_SCOPE_MAX)
		return -1;
	fold(scope, text, sizeof(text));
	return s->slots[key_slot(s, text)];
}

/* Doubles the slots (and the keys' room): keys keep their index. */
static int keys_grow(struct db_ddm_sets *s)
{
	size_t ncap = s->cap_slots ? s->cap_slots * 2 : 64;
	struct key *keys = realloc(s->keys, ncap / 2 * sizeof(*keys));
	if (keys == NULL)
		return AP_ENOMEM;
	s->keys = keys;
	int32_t *slots = malloc(ncap * sizeof(*slots));
	if (slots == NULL)
		return AP_ENOMEM;
	free(s->slots);
	s->slots = slots;
	s->cap_slots = ncap;
	for (size_t k = 0; k < ncap; k++)
		slots[k] = -1;
	for (size_t i = 0; i < s->n_keys; i++)
		slots[key_slot(s, s->keys[i].text)] = (int32_t)i;
	return 0;
}

/* The key of a scope text, added when new (its bit set comes later). */
static int key_add(struct db_ddm_sets *s, const char *scope, size_t *ret)
{
	char text[DB_DDM_SCOPE_MAX + 2];
	if ((s->n_keys + 1) * 2 > s->cap_slots && keys_grow(s) < 0)
		return AP_ENOMEM;
	fold(scope, text, sizeof(text));
	size_t k = key_slot(s, text);
	if (s->slots[k] < 0) {
		struct key *n = &s->keys[s->n_keys];
		if ((n->text = strdup(text)) == NULL)
			return AP_ENOMEM;
		n->bits = NULL;
		s->slots[k] = (int32_t)s->n_keys++;
		if (strncmp(text, "group:", 6) == 0)
			s->has_groups = 1;
	}
	*ret = (size_t)s->slots[k];
	return 0;
}

/* ---- loading the assignments ----------------------------------------------------- */

/* (declaration, key) pairs, until the bit sets can be sized. */
struct pairs {
	size_t *decl, *key;
	size_t n, cap;
};

static int pair_push(struct pairs *p, size_t decl, size_t key)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		size_t *d = realloc(p->decl, ncap * sizeof(*d));
		if (d == NULL)
			return AP_ENOMEM;
		p->decl = d;
		size_t *k = realloc(p->key, ncap * sizeof(*k));
		if (k == NULL)
			return AP_ENOMEM;
		p->key = k;
		p->cap = ncap;
	}
	p->decl[p->n] = decl;
	p->key[p->n++] = key;
	return 0;
}

/* A declaration row; rows come by (kind, identifier), one per scope, so
 * a new one differs from the last. */
static int decl_take(struct db_ddm_sets *s, sqlite3_stmt *st, size_t *ret, struct pairs *filt)
{
	const char *identifier = (const char *)sqlite3_column_text(st, 1);
	if (s->n_decls && strcmp(s->decls[s->n_decls - 1].identifier, identifier) == 0) {
		*ret = s->n_decls - 1;
		return 0;
	}
	if ((s->n_decls & (s->n_decls - 1)) == 0) { /* 0, 1, 2, 4...: double */
		struct decl *n = realloc(s->decls, (s->n_decls ? s->n_decls * 2 : 1) * sizeof(*n));
		if (n == NULL)
			return AP_ENOMEM;
		s->decls = n;
	}
	struct decl *d = &s->decls[s->n_decls];
	memset(d, 0, sizeof(*d));
	db_ddm_kind_parse((const char *)sqlite3_column_text(st, 0), &d->kind);
	d->identifier = strdup(identifier);
	d->server_token = strdup((const char *)sqlite3_column_text(st, 2));
	s->n_decls++;
	if (d->identifier == NULL || d->server_token == NULL)
		return AP_ENOMEM;
	*ret = s->n_decls - 1;
	/* filtered: remembered as (declaration, 0) until the bits are sized */
	return sqlite3_column_int(st, 4) ? pair_push(filt, s->n_decls - 1, 0) : 0;
}

static int bits_fill(struct db_ddm_sets *s, const struct pairs *p, const struct pairs *filt)
{
	s->n_words = (s->n_decls + 63) / 64;
	for (size_t k = 0; k < s->n_keys; k++)
		if ((s->keys[k].bits = calloc(s->n_words ? s->n_words : 1, sizeof(uint64_t))) ==
		    NULL)
			return AP_ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		s->keys[p->key[i]].bits[p->decl[i] / 64] |= 1ull << (p->decl[i] % 64);
	s->fleet_key = key_find(s, "fleet");
	if (filt->n == 0)
		return 0;
	if ((s->filtered = calloc(s->n_words, sizeof(uint64_t))) == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < filt->n; i++)
		s->filtered[filt->decl[i] / 64] |= 1ull << (filt->decl[i] % 64);
	return 0;
}

/* The index of the declaration (kind, identifier) among those loaded
 * (sorted the same way), -1 when not loaded. */
static long decl_find(const struct db_ddm_sets *s, const char *kind, const char *identifier)
{
	size_t lo = 0, hi = s->n_decls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct decl *d = &s->decls[mid];
		int c = strcmp(db_ddm_kind_name(d->kind), kind);
		if (c == 0)
			c = strcmp(d->identifier, identifier);
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

/* The product types of the filtered declarations assigned somewhere: one
 * (declaration, "#model:<type>") pair each. */
static int load_models(struct db *db, struct db_ddm_sets *s, struct pairs *p)
{
	char text[DB_DDM_SCOPE_MAX + 2];
	sqlite3_stmt *st;
	size_t key;
	int rc =
	    db_stmt(db,
		    "SELECT d.kind, d.identifier, j.value FROM declaration d, json_each(d.models) j"
		    " WHERE d.removed_at IS NULL AND d.models IS NOT NULL AND j.type = 'text'"
		    " AND EXISTS (SELECT 1 FROM declaration_assignment a"
		    " WHERE a.declaration_id = d.id)",
		    &st);
	if (rc < 0)
		return rc;
	int e = 0;
	while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *model = (const char *)sqlite3_column_text(st, 2);
		long decl = decl_find(s, (const char *)sqlite3_column_text(st, 0),
				      (const char *)sqlite3_column_text(st, 1));
		if (decl < 0 || strlen(model) > DB_DDM_MODEL_MAX)
			continue;
		snprintf(text, sizeof(text), "#model:%s", model);
		if ((e = key_add(s, text, &key)) == 0)
			e = pair_push(p, (size_t)decl, key);
	}
	rc = db_rows_done(db, st, rc);
	return rc < 0 ? rc : e;
}

static int load_assignments(struct db *db, struct db_ddm_sets *s)
{
	struct pairs p = {0}, filt = {0};
	sqlite3_stmt *st;
	size_t decl, key;
	int rc =
	    db_stmt(db,
		    "SELECT d.kind, d.identifier, d.server_token, a.scope, d.models IS NOT NULL"
		    " FROM declaration_assignment a JOIN declaration d"
		    " ON d.id = a.declaration_id AND d.removed_at IS NULL"
		    " ORDER BY d.kind, d.identifier",
		    &st);
	if (rc < 0)
		return rc;
	int e = 0;
	while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *scope = (const char *)sqlite3_column_text(st, 3);
		if (strlen(scope) > DB_DDM_SCOPE_MAX)
			continue; /* not written by db_ddm_assign */
		if ((e = decl_take(s, st, &decl, &filt)) == 0 && (e = key_add(s, scope, &key)) == 0)
			e = pair_push(&p, decl, key);
	}
	rc = db_rows_done(db, st, rc);
	if (rc == 0)
		rc = e;
	if (rc == 0 && filt.n)
		rc = load_models(db, s, &p);
	if (rc == 0)
		rc = bits_fill(s, &p, &filt);
	free(p.decl);
	free(p.key);
	free(filt.decl);
	free(filt.key);
	return rc;
}

/* ---- loading the tablets -------------------------------------------------------- */

static int token_keep(struct db_ddm_sets *s, const char *token, size_t *ret)
{
	size_t n = strlen(token) + 1;
	if (s->tokens_len + n > s->tokens_cap) {
		size_t ncap = s->tokens_cap ? s->tokens_cap * 2 : 4096;
		while (ncap < s->tokens_len + n)
			ncap *= 2;
		char *t = realloc(s->tokens, ncap);
		if (t == NULL)
			return AP_ENOMEM;
		s->tokens = t;
		s->tokens_cap = ncap;
	}
	memcpy(s->tokens + s->tokens_len, token, n);
	*ret = s->tokens_len;
	s->tokens_len += n;
	return 0;
}

/* A tablet row: id, serial, school, enabled, token, product_name. */
static int dev_take(struct db_ddm_sets *s, sqlite3_stmt *st)
{
	char scope[DB_DDM_SCOPE_MAX + 2]; /* longer: cut, then found by no key */
	if (s->n_devs == s->cap_devs) {
		size_t ncap = s->cap_devs ? s->cap_devs * 2 : 1024;
		struct dev *n = realloc(s->devs, ncap * sizeof(*n));
		if (n == NULL)
			return AP_ENOMEM;
		s->devs = n;
		s->cap_devs = ncap;
	}
	struct dev *d = &s->devs[s->n_devs];
	const char *serial = (const char *)sqlite3_column_text(st, 1);
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 2, d->school, sizeof(d->school));
	d->enabled = (unsigned char)sqlite3_column_int(st, 3);
	snprintf(scope, sizeof(scope), "school:%s", d->school);
	d->school_key = d->school[0] ? key_find(s, scope) : -1;
	snprintf(scope, sizeof(scope), "device:%s", serial);
	d->device_key = serial[0] ? key_find(s, scope) : -1;
	d->model_key = -1;
	if (s->filtered) {
		const char *model = (const char *)sqlite3_column_text(st, 5);
		snprintf(scope, sizeof(scope), "#model:%s", model);
		d->model_key = model[0] ? key_find(s, scope) : -1;
	}
	int rc = token_keep(s, (const char *)sqlite3_column_text(st, 4), &d->token);
	if (rc == 0)
		s->n_devs++;
	return rc;
}

#define DEVICE_SQL(where)                                              \
	"SELECT d.id, coalesce(d.serial, ''), coalesce(d.school, '')," \
	" s.enabled_at IS NOT NULL, coalesce(s.token, ''),"            \
	" coalesce(d.product_name, '') FROM device d"                  \
	" LEFT JOIN device_ddm s ON s.device_id = d.id WHERE " where   \
	" AND (?2 = 0 OR s.enabled_at IS NOT NULL) ORDER BY d.id"

static int load_devices(struct db *db, struct db_ddm_sets *s, const struct db_ddm_filter *f)
{
	sqlite3_stmt *st;
	int rc = f->device_id ? db_stmt(db, DEVICE_SQL("d.id = ?1"), &st)
		 : f->school
		     ? db_stmt(db, DEVICE_SQL("d.school = ?1 AND d.enrollment = 'enrolled'"), &st)
		     : db_stmt(db, DEVICE_SQL("?1 IS NULL AND d.enrollment = 'enrolled'"), &st);
	if (rc < 0)
		return rc;
	if (f->device_id)
		sqlite3_bind_int64(st, 1, f->device_id);
	else
		db_bind_text(st, 1, f->school);
	sqlite3_bind_int(st, 2, f->enabled_only ? 1 : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int e = dev_take(s, st);
		if (e < 0) {
			db_done(st);
			return e;
		}
	}
	return db_rows_done(db, st, rc);
}

/* ---- loading the groups --------------------------------------------------------- */

static long dev_find(const struct db_ddm_sets *s, int64_t id)
{
	size_t lo = 0, hi = s->n_devs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->devs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_devs && s->devs[lo].id == id ? (long)lo : -1;
}

struct group_load {
	struct db_ddm_sets *s;
	int rc;
};

static int on_group(int64_t device_id, const char *group, void *arg)
{
	struct group_load *g = arg;
	struct db_ddm_sets *s = g->s;
	char scope[DB_DDM_SCOPE_MAX + 2];
	long i = dev_find(s, device_id);
	if (i < 0 || s->devs[i].school[0] == '\0')
		return 0;
	snprintf(scope, sizeof(scope), "group:%s/%s", s->devs[i].school, group);
	int32_t k = key_find(s, scope);
	if (k < 0)
		return 0;
	if (s->n_hits == s->cap_hits) {
		size_t ncap = s->cap_hits ? s->cap_hits * 2 : 1024;
		struct hit *n = realloc(s->hits, ncap * sizeof(*n));
		if (n == NULL) {
			g->rc = AP_ENOMEM;
			return 1;
		}
		s->hits = n;
		s->cap_hits = ncap;
	}
	s->hits[s->n_hits++] = (struct hit){(size_t)i, k};
	s->devs[i].g_n++;
	return 0;
}

/* Groups the hits by tablet (a counting sort). */
static int hits_index(struct db_ddm_sets *s)
{
	size_t at = 0;
	if ((s->group_keys = malloc((s->n_hits ? s->n_hits : 1) * sizeof(int32_t))) == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < s->n_devs; i++) {
		s->devs[i].g_start = at;
		at += s->devs[i].g_n;
		s->devs[i].g_n = 0;
	}
	for (size_t h = 0; h < s->n_hits; h++) {
		struct dev *d = &s->devs[s->hits[h].dev];
		s->group_keys[d->g_start + d->g_n++] = s->hits[h].key;
	}
	free(s->hits);
	s->hits = NULL;
	return 0;
}

static int load_groups(struct db *db, struct db_ddm_sets *s, const struct db_ddm_filter *f)
{
	struct group_load g = {s, 0};
	if (!s->has_groups || s->n_devs == 0)
		return hits_index(s);
	int rc = 0;
	if (f->school && !f->device_id) /* a collège: its tablets' loans, by index */
		for (size_t i = 0; i < s->n_devs && rc == 0 && g.rc == 0; i++)
			rc =
			    db_policy_device_groups(db, s->devs[i].id, s->devs[i].id, on_group, &g);
	else /* one tablet, or the fleet in one scan */
		rc = f->device_id
			 ? db_policy_device_groups(db, f->device_id, f->device_id, on_group, &g)
			 : db_policy_device_groups(db, 0, INT64_MAX, on_group, &g);
	if (rc == 0)
		rc = g.rc;
	return rc < 0 ? rc : hits_index(s);
}

/* ---- the API ------------------------------------------------------------------------ */

static int load_all(struct db *db, struct db_ddm_sets *s, const struct db_ddm_filter *f)
{
	int rc = load_assignments(db, s);
	if (rc == 0)
		rc = load_devices(db, s, f);
	if (rc == 0)
		rc = load_groups(db, s, f);
	return rc;
}

int db_ddm_sets_load(struct db *db, const struct db_ddm_filter *f, struct db_ddm_sets **ret)
{
	struct db_ddm_sets *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return AP_ENOMEM;
	s->fleet_key = -1;
	/* one snapshot for the three scans, when the caller has none */
	int own = sqlite3_get_autocommit(db->h) != 0;
	int rc = own ? db_read_begin(db) : 0;
	if (rc == 0)
		rc = load_all(db, s, f);
	if (own)
		db_read_end(db);
	if (rc == 0 && f->device_id && s->n_devs == 0)
		rc = AP_ENOTFOUND;
	if (rc < 0) {
		db_ddm_sets_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

size_t db_ddm_sets_count(const struct db_ddm_sets *s)
{
	return s ? s->n_devs : 0;
}

static void bits_or(uint64_t *acc, const struct db_ddm_sets *s, int32_t key)
{
	if (key < 0)
		return;
	const uint64_t *b = s->keys[key].bits;
	for (size_t w = 0; w < s->n_words; w++)
		acc[w] |= b[w];
}

/* The set of tablet i into refs (n_decls room): its count. */
static size_t set_of(const struct db_ddm_sets *s, size_t i, uint64_t *acc, struct db_ddm_ref *refs)
{
	const struct dev *d = &s->devs[i];
	size_t n = 0;
	memset(acc, 0, s->n_words * sizeof(*acc));
	bits_or(acc, s, s->fleet_key);
	bits_or(acc, s, d->school_key);
	bits_or(acc, s, d->device_key);
	for (size_t g = 0; g < d->g_n; g++)
		bits_or(acc, s, s->group_keys[d->g_start + g]);
	if (s->filtered) { /* a filtered declaration only for the models it lists */
		const uint64_t *m = d->model_key >= 0 ? s->keys[d->model_key].bits : NULL;
		for (size_t w = 0; w < s->n_words; w++)
			acc[w] &= ~s->filtered[w] | (m ? m[w] : 0);
	}
	for (size_t w = 0; w < s->n_words; w++)
		for (uint64_t b = acc[w]; b; b &= b - 1) {
			const struct decl *x = &s->decls[w * 64 + (size_t)__builtin_ctzll(b)];
			refs[n++] = (struct db_ddm_ref){x->kind, x->identifier, x->server_token};
		}
	return n;
}

int db_ddm_sets_each(const struct db_ddm_sets *s,
		     int (*fn)(const struct db_ddm_set *set, void *arg), void *arg)
{
	uint64_t *acc = calloc(s->n_words ? s->n_words : 1, sizeof(*acc));
	struct db_ddm_ref *refs = calloc(s->n_decls ? s->n_decls : 1, sizeof(*refs));
	int rc = acc && refs ? 0 : AP_ENOMEM;
	for (size_t i = 0; i < s->n_devs && rc == 0; i++) {
		const struct dev *d = &s->devs[i];
		struct db_ddm_set set = {d->id,	     d->school,
					 d->enabled, s->tokens + d->token,
					 refs,	     set_of(s, i, acc, refs)};
		if (fn(&set, arg))
			break;
	}
	free(acc);
	free(refs);
	return rc;
}

void db_ddm_sets_free(struct db_ddm_sets *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_decls; i++) {
		free(s->decls[i].identifier);
		free(s->decls[i].server_token);
	}
	for (size_t k = 0; k < s->n_keys; k++) {
		free(s->keys[k].text);
		free(s->keys[k].bits);
	}
	free(s->slots);
	free(s->filtered);
	free(s->decls);
	free(s->keys);
	free(s->devs);
	free(s->tokens);
	free(s->hits);
	free(s->group_keys);
	free(s);
}

static int walk(struct db *db, const struct db_ddm_filter *f,
		int (*fn)(const struct db_ddm_set *set, void *arg), void *arg)
{
	struct db_ddm_sets *s = NULL;
	int rc = db_ddm_sets_load(db, f, &s);
	if (rc == 0)
		rc = db_ddm_sets_each(s, fn, arg);
	db_ddm_sets_free(s);
	return rc;
}

int db_ddm_sets_recompute(struct db *db, const char *school, int enabled_only,
			  int (*fn)(const struct db_ddm_set *set, void *arg), void *arg)
{
	struct db_ddm_filter f = {school, 0, enabled_only};
	return walk(db, &f, fn, arg);
}

int db_ddm_sets_device(struct db *db, int64_t device_id,
		       int (*fn)(const struct db_ddm_set *set, void *arg), void *arg)
{
	struct db_ddm_filter f = {NULL, device_id, 0};
	if (device_id <= 0)
		return AP_ENOTFOUND;
	return walk(db, &f, fn, arg);
}
