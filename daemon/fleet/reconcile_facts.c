/* reconcile_facts.c - bulk-loaded facts of many tablets, interned. */
#include "reconcile_facts.h"
#include "ap_err.h"
#include "db_policy.h"

#include <stdlib.h>
#include <string.h>

/* ---- interned strings: open addressing, FNV-1a ------------------------ */

struct reconcile_intern {
	char **slots;
	size_t cap, n; /* cap is a power of two */
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int intern_grow(struct reconcile_intern *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	char **ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i] == NULL)
			continue;
		size_t k = fnv(t->slots[i]) & (ncap - 1);
		while (ns[k])
			k = (k + 1) & (ncap - 1);
		ns[k] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

/* The one copy of s; NULL when out of memory. */
static const char *intern(struct reconcile_intern *t, const char *s)
{
	if ((t->n + 1) * 2 > t->cap && intern_grow(t) < 0)
		return NULL;
	size_t k = fnv(s) & (t->cap - 1);
	while (t->slots[k]) {
		if (strcmp(t->slots[k], s) == 0)
			return t->slots[k];
		k = (k + 1) & (t->cap - 1);
	}
	if ((t->slots[k] = strdup(s)) == NULL)
		return NULL;
	t->n++;
	return t->slots[k];
}

static void intern_free(struct reconcile_intern *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i]);
	free(t->slots);
	free(t);
}

/* ---- per-tablet rows ---------------------------------------------------- */

static void rows_init(struct reconcile_rows *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->size = size;
}

static void rows_free(struct reconcile_rows *r)
{
	free(r->dev);
	free(r->data);
	free(r->start);
}

static int rows_push(struct reconcile_rows *r, size_t dev, const void *elem)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		uint32_t *d = realloc(r->dev, ncap * sizeof(*d));
		if (d == NULL)
			return AP_ENOMEM;
		r->dev = d;
		unsigned char *x = realloc(r->data, ncap * r->size);
		if (x == NULL)
			return AP_ENOMEM;
		r->data = x;
		r->cap = ncap;
	}
	r->dev[r->n] = (uint32_t)dev;
	memcpy(r->data + r->n * r->size, elem, r->size);
	r->n++;
	return 0;
}

/* Groups the elements by tablet (a counting sort, stable). */
static int rows_index(struct reconcile_rows *r, size_t n_devs)
{
	size_t *start = calloc(n_devs + 1, sizeof(*start));
	size_t *pos = malloc((n_devs + 1) * sizeof(*pos));
	unsigned char *out = malloc(r->n ? r->n * r->size : 1);
	if (start == NULL || pos == NULL || out == NULL) {
		free(start);
		free(pos);
		free(out);
		return AP_ENOMEM;
	}
	for (size_t e = 0; e < r->n; e++)
		start[r->dev[e] + 1]++;
	for (size_t i = 0; i < n_devs; i++)
		start[i + 1] += start[i];
	memcpy(pos, start, (n_devs + 1) * sizeof(*pos));
	for (size_t e = 0; e < r->n; e++)
		memcpy(out + pos[r->dev[e]]++ * r->size, r->data + e * r->size, r->size);
	free(pos);
	free(r->data);
	free(r->dev);
	r->dev = NULL;
	r->data = out;
	r->start = start;
	return 0;
}

static const void *rows_of(const struct reconcile_rows *r, size_t i, size_t *ret_n)
{
	*ret_n = r->start[i + 1] - r->start[i];
	return r->data + r->start[i] * r->size;
}

/* ---- loading ------------------------------------------------------------ */

long reconcile_facts_find(const struct reconcile_facts *f, int64_t device_id)
{
	size_t lo = 0, hi = f->n_devs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->devs[mid].id < device_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_devs && f->devs[lo].id == device_id ? (long)lo : -1;
}

/* Loader context: the facts and the first error met in a callback. */
struct load {
	struct reconcile_facts *f;
	int rc;
};

/* Stops a scan with AP_ENOMEM. */
static int oom(struct load *l)
{
	l->rc = AP_ENOMEM;
	return 1;
}

static int on_device(int64_t id, const char *serial, const char *school, void *arg)
{
	struct load *l = arg;
	struct reconcile_facts *f = l->f;
	if (f->n_devs == f->cap_devs) {
		size_t ncap = f->cap_devs ? f->cap_devs * 2 : 1024;
		struct reconcile_device *d = realloc(f->devs, ncap * sizeof(*d));
		if (d == NULL)
			return oom(l);
		f->devs = d;
		f->cap_devs = ncap;
	}
	struct reconcile_device *d = &f->devs[f->n_devs];
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->serial = intern(f->tstrs, serial);
	d->school = intern(f->tstrs, school);
	if (d->serial == NULL || d->school == NULL)
		return oom(l);
	f->n_devs++;
	return 0;
}

static int on_lists(int64_t device_id, int64_t profiles_cmd, int64_t apps_cmd, void *arg)
{
	struct load *l = arg;
	long i = reconcile_facts_find(l->f, device_id);
	if (i >= 0) {
		l->f->devs[i].profiles_cmd = profiles_cmd;
		l->f->devs[i].apps_cmd = apps_cmd;
	}
	return 0;
}

static int on_group(int64_t device_id, const char *group, void *arg)
{
	struct load *l = arg;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0)
		return 0;
	const char *g = intern(l->f->tstrs, group);
	return g == NULL || rows_push(&l->f->groups, (size_t)i, &g) < 0 ? oom(l) : 0;
}

static int on_profile(int64_t device_id, const char *identifier, const char *uuid, void *arg)
{
	struct load *l = arg;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0)
		return 0;
	struct pol_reported r = {intern(l->f->tstrs, identifier), intern(l->f->tstrs, uuid)};
	if (r.identifier == NULL || r.version == NULL)
		return oom(l);
	return rows_push(&l->f->profiles, (size_t)i, &r) < 0 ? oom(l) : 0;
}

static int on_app(int64_t device_id, const char *identifier, void *arg)
{
	struct load *l = arg;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0)
		return 0;
	struct pol_reported r = {intern(l->f->tstrs, identifier), NULL};
	if (r.identifier == NULL)
		return oom(l);
	return rows_push(&l->f->apps, (size_t)i, &r) < 0 ? oom(l) : 0;
}

static int on_owned(int64_t device_id, const char *kind, const char *identifier,
		    const char *version, int64_t acked_cmd, void *arg)
{
	struct load *l = arg;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0)
		return 0;
	struct pol_owned o = {strcmp(kind, "profile") == 0 ? POL_PROFILE : POL_APP,
			      intern(l->f->tstrs, identifier), intern(l->f->tstrs, version),
			      acked_cmd};
	if (o.identifier == NULL || o.version == NULL)
		return oom(l);
	return rows_push(&l->f->owned, (size_t)i, &o) < 0 ? oom(l) : 0;
}

static int on_pending(int64_t device_id, int64_t command_id, const char *type, const char *dedupe,
		      const char *blob_ref, void *arg)
{
	struct load *l = arg;
	enum pol_action_type t;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0)
		return 0;
	l->f->devs[i].pending_all++;
	if (dedupe[0] == '\0' || pol_action_from_command(type, &t) < 0)
		return 0; /* not a policy command */
	struct pol_pending p = {t, intern(l->f->tstrs, dedupe),
				blob_ref[0] ? intern(l->f->tstrs, blob_ref) : NULL, command_id};
	if (p.identifier == NULL || (blob_ref[0] && p.ref == NULL))
		return oom(l);
	return rows_push(&l->f->pending, (size_t)i, &p) < 0 ? oom(l) : 0;
}

static int on_failed(int64_t device_id, const char *type, const char *dedupe, const char *status,
		     const char *error, int64_t done_at, void *arg)
{
	struct load *l = arg;
	enum pol_action_type t;
	long i = reconcile_facts_find(l->f, device_id);
	if (i < 0 || pol_action_from_command(type, &t) < 0)
		return 0;
	struct reconcile_failure x = {t, intern(l->f->tstrs, dedupe),
				      intern(l->f->tstrs, error[0] ? error : status)};
	if (x.identifier == NULL || x.error == NULL)
		return oom(l);
	return rows_push(&l->f->failures, (size_t)i, &x) < 0 ? oom(l) : 0;
}

/* The item (kind, id) of the catalogue, added on first sight; -1 on OOM. */
static long item_index(struct load *l, const struct db_policy_assigned *a)
{
	struct reconcile_facts *f = l->f;
	enum pol_kind k = strcmp(a->kind, "profile") == 0 ? POL_PROFILE : POL_APP;
	for (size_t i = 0; i < f->n_items; i++)
		if (f->items[i].kind == k && f->items[i].id == a->item_id)
			return (long)i;
	if (f->n_items == f->cap_items) {
		size_t ncap = f->cap_items ? f->cap_items * 2 : 16;
		struct pol_item *n = realloc(f->items, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		f->items = n;
		f->cap_items = ncap;
	}
	struct pol_item it = {k,
			      intern(f->strs, a->identifier),
			      intern(f->strs, a->version),
			      k == POL_PROFILE ? intern(f->strs, a->blob) : NULL,
			      a->store_id,
			      a->item_id,
			      intern(f->strs, a->name)};
	if (it.identifier == NULL || it.version == NULL || it.name == NULL ||
	    (k == POL_PROFILE && it.ref == NULL))
		return -1;
	f->items[f->n_items] = it;
	return (long)f->n_items++;
}

static int grow_assignments(struct reconcile_facts *f)
{
	if (f->n_assignments < f->cap_assignments)
		return 0;
	size_t ncap = f->cap_assignments ? f->cap_assignments * 2 : 16;
	struct pol_assignment *a = realloc(f->assignments, ncap * sizeof(*a));
	if (a == NULL)
		return AP_ENOMEM;
	f->assignments = a;
	const char **s = realloc(f->assignment_scopes, ncap * sizeof(*s));
	if (s == NULL)
		return AP_ENOMEM;
	f->assignment_scopes = s;
	f->cap_assignments = ncap;
	return 0;
}

static int on_assigned(const struct db_policy_assigned *a, void *arg)
{
	struct load *l = arg;
	struct reconcile_facts *f = l->f;
	struct pol_scope sc;
	if (pol_scope_parse(a->scope, &sc) < 0)
		return 0; /* not written by Ardoise: ignored (api_policy refuses such scopes) */
	long k = item_index(l, a);
	if (k < 0 || grow_assignments(f) < 0)
		return oom(l);
	/* items may move while loading: the index goes in item, fixed after */
	f->assignments[f->n_assignments].item = (const struct pol_item *)(uintptr_t)k;
	f->assignments[f->n_assignments].scope = sc;
	if ((f->assignment_scopes[f->n_assignments] = intern(f->strs, a->scope)) == NULL)
		return oom(l);
	f->n_assignments++;
	return 0;
}

/* The tablets of flt with an id above after (at most flt->limit of them
 * when set), then the rows of the ids they span, each table read in its
 * key order over that range only. */
static int load_tablets(struct db *db, const struct reconcile_filter *flt, int64_t after,
			struct load *l)
{
	struct reconcile_facts *f = l->f;
	int64_t lo = flt->device_id ? flt->device_id : after + 1;
	int64_t hi = flt->device_id ? flt->device_id : INT64_MAX;
	int rc = db_policy_each_device(db, flt->school, lo, hi, flt->all_states,
				       flt->device_id ? 0 : flt->limit, on_device, l);
	if (rc < 0 || l->rc < 0 || f->n_devs == 0)
		return rc < 0 ? rc : l->rc;
	if (flt->limit > 0 && !flt->device_id)
		hi = f->devs[f->n_devs - 1].id; /* the range the next one starts after */
	f->last = hi;
	if (lo == hi && !flt->device_id)
		lo = hi - 1; /* a range of one tablet reads as a range (db_policy.h) */
	rc = db_policy_each_lists(db, lo, hi, on_lists, l);
	if (rc == 0 && l->rc == 0)
		rc = db_policy_device_groups(db, lo, hi, on_group, l);
	if (rc == 0 && l->rc == 0)
		rc = db_policy_each_reported_profile(db, lo, hi, on_profile, l);
	if (rc == 0 && l->rc == 0)
		rc = db_policy_each_reported_app(db, lo, hi, on_app, l);
	if (rc == 0 && l->rc == 0)
		rc = db_policy_each_owned(db, lo, hi, on_owned, l);
	if (rc == 0 && l->rc == 0)
		rc = db_policy_each_pending(db, lo, hi, on_pending, l);
	if (rc == 0 && l->rc == 0 && flt->with_failures)
		rc = db_policy_each_failed(db, lo, hi, on_failed, l);
	return rc < 0 ? rc : l->rc;
}

static int index_tablets(struct reconcile_facts *f)
{
	struct reconcile_rows *all[] = {&f->groups, &f->profiles, &f->apps,
					&f->owned,  &f->pending,  &f->failures};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (rows_index(all[i], f->n_devs) < 0)
			return AP_ENOMEM;
	return 0;
}

/* Empties the tablets' part of f (kept: the catalogue). */
static int tablets_reset(struct reconcile_facts *f)
{
	struct reconcile_rows *all[] = {&f->groups, &f->profiles, &f->apps,
					&f->owned,  &f->pending,  &f->failures};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t size = all[i]->size;
		rows_free(all[i]);
		rows_init(all[i], size);
	}
	free(f->devs);
	f->devs = NULL;
	f->n_devs = f->cap_devs = 0;
	intern_free(f->tstrs);
	return (f->tstrs = calloc(1, sizeof(*f->tstrs))) == NULL ? AP_ENOMEM : 0;
}

int reconcile_facts_load(struct db *db, const struct reconcile_filter *flt,
			 struct reconcile_facts *ret)
{
	struct reconcile_facts f;
	struct load l = {&f, 0};
	int rc;
	memset(&f, 0, sizeof(f));
	rows_init(&f.groups, sizeof(const char *));
	rows_init(&f.profiles, sizeof(struct pol_reported));
	rows_init(&f.apps, sizeof(struct pol_reported));
	rows_init(&f.owned, sizeof(struct pol_owned));
	rows_init(&f.pending, sizeof(struct pol_pending));
	rows_init(&f.failures, sizeof(struct reconcile_failure));
	if ((f.strs = calloc(1, sizeof(*f.strs))) == NULL ||
	    (f.tstrs = calloc(1, sizeof(*f.tstrs))) == NULL) {
		reconcile_facts_free(&f);
		return AP_ENOMEM;
	}
	if ((rc = load_tablets(db, flt, 0, &l)) == 0 &&
	    (rc = db_policy_each_assigned(db, on_assigned, &l)) == 0 && (rc = l.rc) == 0)
		rc = index_tablets(&f);
	for (size_t i = 0; rc == 0 && i < f.n_assignments; i++)
		f.assignments[i].item = &f.items[(uintptr_t)f.assignments[i].item];
	if (rc < 0) {
		reconcile_facts_free(&f);
		return rc;
	}
	*ret = f;
	return 0;
}

int reconcile_facts_next(struct db *db, const struct reconcile_filter *flt,
			 struct reconcile_facts *f)
{
	struct load l = {f, 0};
	int64_t after = f->last;
	int rc = tablets_reset(f);
	if (rc < 0 || flt->limit <= 0 || flt->device_id || after == INT64_MAX)
		return rc; /* one load held them all: no tablet left */
	if ((rc = load_tablets(db, flt, after, &l)) == 0)
		rc = index_tablets(f);
	if (rc < 0)
		tablets_reset(f);
	return rc;
}

void reconcile_facts_free(struct reconcile_facts *f)
{
	if (f == NULL)
		return;
	rows_free(&f->groups);
	rows_free(&f->profiles);
	rows_free(&f->apps);
	rows_free(&f->owned);
	rows_free(&f->pending);
	rows_free(&f->failures);
	free(f->devs);
	free(f->items);
	free(f->assignments);
	free(f->assignment_scopes);
	intern_free(f->strs);
	intern_free(f->tstrs);
	memset(f, 0, sizeof(*f));
}

void reconcile_facts_state(const struct reconcile_facts *f, size_t i, int64_t queue_max,
			   struct pol_device_state *ret)
{
	const struct reconcile_device *d = &f->devs[i];
	memset(ret, 0, sizeof(*ret));
	ret->facts.serial = d->serial;
	ret->facts.school = d->school;
	ret->facts.groups = rows_of(&f->groups, i, &ret->facts.n_groups);
	ret->profiles = rows_of(&f->profiles, i, &ret->n_profiles);
	ret->profiles_cmd = d->profiles_cmd;
	ret->apps = rows_of(&f->apps, i, &ret->n_apps);
	ret->apps_cmd = d->apps_cmd;
	ret->owned = rows_of(&f->owned, i, &ret->n_owned);
	ret->pending = rows_of(&f->pending, i, &ret->n_pending);
	ret->room = d->pending_all < queue_max ? (size_t)(queue_max - d->pending_all) : 0;
}

const struct reconcile_failure *reconcile_facts_failures(const struct reconcile_facts *f, size_t i,
							 size_t *ret_n)
{
	return rows_of(&f->failures, i, ret_n);
}
