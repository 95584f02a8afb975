/* pol_licence.c - the Apps and Books licence plan (rules in pol_licence.h). */
#include "pol_licence.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <stdlib.h>
#include <string.h>

/* A (location, app, serial) triple: a want or a licence held; a want
 * carries its tablet's group. */
struct key {
	int64_t location;
	const char *adam_id;
	const char *serial;
	const char *group; /* wants only; never NULL */
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;
	if (a->location != b->location)
		return a->location < b->location ? -1 : 1;
	int c = strcmp(a->adam_id, b->adam_id);
	return c ? c : strcmp(a->serial, b->serial);
}

/* Same location and app. */
static int same_group(const struct key *a, const struct key *b)
{
	return a->location == b->location && strcmp(a->adam_id, b->adam_id) == 0;
}

/* Wants of one location and app by group, then serial. */
static int group_cmp(const void *pa, const void *pb)
{
	const struct key *a = *(const struct key *const *)pa, *b = *(const struct key *const *)pb;
	int c = strcmp(a->group, b->group);
	return c ? c : strcmp(a->serial, b->serial);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int stock_cmp(const void *pa, const void *pb)
{
	const struct pol_lic_stock *a = pa, *b = pb;
	if (a->location != b->location)
		return a->location < b->location ? -1 : 1;
	return strcmp(a->adam_id, b->adam_id);
}

/* Sorts and removes repeats; returns the new count. */
static size_t sort_unique(struct key *k, size_t n)
{
	size_t m = 0;
	if (n > 1)
		qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || key_cmp(&k[m - 1], &k[i]) != 0)
			k[m++] = k[i];
	return m;
}

static int text_ok(const char *s)
{
	return s != NULL && s[0] != '\0';
}

struct build {
	struct pol_lic_plan *p;
	size_t cap_ops, cap_shorts, pool_used;
	size_t max;
	const struct key **need; /* scratch: one group's wants without a licence */
};

/* Adds the ops of kind for serials (already in pool order) in batches. */
static int add_ops(struct build *b, enum pol_lic_kind kind, int64_t location, const char *adam_id,
		   const char **serials, size_t n)
{
	for (size_t first = 0; first < n; first += b->max) {
		struct pol_lic_plan *p = b->p;
		if (ap_grow(&p->ops, &b->cap_ops, p->n_ops, sizeof(*p->ops), 64) < 0)
			return AP_ENOMEM;
		p->ops[p->n_ops++] = (struct pol_lic_op){kind, location, adam_id, serials + first,
							 n - first < b->max ? n - first : b->max};
	}
	return 0;
}

static int add_short(struct build *b, int64_t location, const char *group, const char *adam_id,
		     size_t wanted, int64_t available)
{
	struct pol_lic_plan *p = b->p;
	if (ap_grow(&p->shorts, &b->cap_shorts, p->n_shorts, sizeof(*p->shorts), 16) < 0)
		return AP_ENOMEM;
	p->shorts[p->n_shorts++] =
	    (struct pol_lic_short){location, group, adam_id, wanted, available};
	return 0;
}

static int64_t available_of(const struct pol_lic_stock *stock, size_t n, int64_t location,
			    const char *adam_id)
{
	struct pol_lic_stock k = {location, adam_id, 0};
	const struct pol_lic_stock *s = n ? bsearch(&k, stock, n, sizeof(*stock), stock_cmp) : NULL;
	return s && s->available > 0 ? s->available : 0;
}

/* One location and app: wants w[0..nw), held h[0..nh) (both sorted). */
static int plan_group(struct build *b, const struct key *w, size_t nw, const struct key *h,
		      size_t nh, const struct pol_lic_stock *stock, size_t n_stock)
{
	const struct key *g = nw ? w : h;
	const char **drop = b->p->pool_ + b->pool_used;
	size_t nd = 0, i = 0, j = 0;
	/* licences held by no want: freed; the serials stay in order */
	while (j < nh) {
		int c = i < nw ? strcmp(w[i].serial, h[j].serial) : 1;
		if (c < 0)
			i++;
		else if (c == 0) {
			i++;
			j++;
			b->p->n_kept++;
		} else
			drop[nd++] = h[j++].serial;
	}
	b->pool_used += nd;
	const struct key **need = b->need;
	size_t nn = 0;
	for (i = 0, j = 0; i < nw; i++) {
		while (j < nh && strcmp(h[j].serial, w[i].serial) < 0)
			j++;
		if (j < nh && strcmp(h[j].serial, w[i].serial) == 0)
			continue;
		need[nn++] = &w[i];
	}
	int rc = add_ops(b, POL_LIC_DISASSOCIATE, g->location, g->adam_id, drop, nd);
	b->p->n_disassociate += nd;
	if (rc < 0 || nn == 0)
		return rc;
	/* each group whole or not at all, from what the location has left */
	int64_t avail = available_of(stock, n_stock, g->location, g->adam_id);
	if (nn > 1)
		qsort(need, nn, sizeof(*need), group_cmp);
	const char **take = b->p->pool_ + b->pool_used;
	size_t nt = 0;
	for (size_t k = 0; k < nn;) {
		size_t e = k;
		while (e < nn && strcmp(need[e]->group, need[k]->group) == 0)
			e++;
		if ((int64_t)(e - k) > avail) {
			if ((rc = add_short(b, g->location, need[k]->group, g->adam_id, e - k,
					    avail)) < 0)
				return rc;
		} else {
			avail -= (int64_t)(e - k);
			for (size_t x = k; x < e; x++)
				take[nt++] = need[x]->serial;
		}
		k = e;
	}
	if (nt > 1)
		qsort(take, nt, sizeof(*take), str_cmp);
	b->pool_used += nt;
	b->p->n_associate += nt;
	return add_ops(b, POL_LIC_ASSOCIATE, g->location, g->adam_id, take, nt);
}

int pol_lic_plan(const struct pol_lic_tablet *tablets, size_t n_tablets,
		 const struct pol_lic_held *held, size_t n_held, const struct pol_lic_stock *stock,
		 size_t n_stock, size_t max_serials, struct pol_lic_plan *ret)
{
	struct pol_lic_plan p;
	struct build b = {&p, 0, 0, 0, max_serials};
	struct key *w = NULL, *h = NULL;
	const char **serials = NULL;
	struct pol_lic_stock *st = NULL;
	size_t nw = 0, nh = 0;
	int rc = AP_ENOMEM;
	memset(&p, 0, sizeof(p));
	if (ret == NULL || max_serials == 0 || (n_tablets && tablets == NULL) ||
	    (n_held && held == NULL) || (n_stock && stock == NULL))
		return AP_EINVAL;
	/* every serial once */
	if ((serials = malloc((n_tablets + 1) * sizeof(*serials))) == NULL)
		goto out;
	size_t n_wants = 0;
	for (size_t i = 0; i < n_tablets; i++) {
		if (!text_ok(tablets[i].serial) || (tablets[i].n_apps && !tablets[i].apps)) {
			rc = AP_EINVAL;
			goto out;
		}
		serials[i] = tablets[i].serial;
		if (tablets[i].active)
			n_wants += tablets[i].n_apps;
	}
	if (n_tablets > 1)
		qsort(serials, n_tablets, sizeof(*serials), str_cmp);
	for (size_t i = 1; i < n_tablets; i++)
		if (strcmp(serials[i - 1], serials[i]) == 0) {
			rc = AP_EINVAL;
			goto out;
		}
	if ((w = malloc((n_wants + 1) * sizeof(*w))) == NULL ||
	    (h = malloc((n_held + 1) * sizeof(*h))) == NULL ||
	    (st = malloc((n_stock + 1) * sizeof(*st))) == NULL ||
	    (p.pool_ = malloc((n_wants + n_held + 1) * sizeof(*p.pool_))) == NULL ||
	    (b.need = malloc((n_wants + 1) * sizeof(*b.need))) == NULL)
		goto out;
	for (size_t i = 0; i < n_tablets; i++)
		for (size_t k = 0; tablets[i].active && k < tablets[i].n_apps; k++) {
			if (!text_ok(tablets[i].apps[k])) {
				rc = AP_EINVAL;
				goto out;
			}
			w[nw++] =
			    (struct key){tablets[i].location, tablets[i].apps[k], tablets[i].serial,
					 tablets[i].group ? tablets[i].group : ""};
		}
	for (size_t i = 0; i < n_held; i++) {
		if (!text_ok(held[i].serial) || !text_ok(held[i].adam_id)) {
			rc = AP_EINVAL;
			goto out;
		}
		h[nh++] = (struct key){held[i].location, held[i].adam_id, held[i].serial, ""};
	}
	for (size_t i = 0; i < n_stock; i++) {
		if (!text_ok(stock[i].adam_id)) {
			rc = AP_EINVAL;
			goto out;
		}
		st[i] = stock[i];
	}
	if (n_stock > 1)
		qsort(st, n_stock, sizeof(*st), stock_cmp);
	nw = sort_unique(w, nw);
	nh = sort_unique(h, nh);
	/* walk the groups (location, app) of both lists together */
	size_t i = 0, j = 0;
	while (i < nw || j < nh) {
		const struct key *g;
		if (j >= nh || (i < nw && key_cmp(&w[i], &h[j]) <= 0))
			g = &w[i];
		else
			g = &h[j];
		/* g is the smallest key: its group is the next one */
		size_t ie = i, je = j;
		while (ie < nw && same_group(&w[ie], g))
			ie++;
		while (je < nh && same_group(&h[je], g))
			je++;
		if ((rc = plan_group(&b, w + i, ie - i, h + j, je - j, st, n_stock)) < 0)
			goto out;
		i = ie;
		j = je;
	}
	*ret = p;
	memset(&p, 0, sizeof(p));
	rc = 0;
out:
	pol_lic_plan_free(&p);
	free(b.need);
	free(serials);
	free(w);
	free(h);
	free(st);
	return rc;
}

void pol_lic_plan_free(struct pol_lic_plan *p)
{
	if (p == NULL)
		return;
	free(p->ops);
	free(p->shorts);
	free(p->pool_);
	memset(p, 0, sizeof(*p));
}
