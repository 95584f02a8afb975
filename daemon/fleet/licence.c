/* licence.c - Apps and Books licences: the run on a work thread, the gate
 * reconcile.c asks. */
#include "licence.h"
#include "ap_buf.h"
#include "ap_err.h"
#include "db_vpp.h"
#include "keystore.h"
#include "log.h"
#include "pol_licence.h"
#include "pol_plan.h"
#include "reconcile_facts.h"
#include "store.h"
#include "vpp_client.h"
#include "worker.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REQ_TIMEOUT_S	  60L
#define WAIT_CAP_S	  30L
#define EVENTS_TIMEOUT_MS (10 * 60 * 1000) /* events still pending after this stay in flight */

static struct {
	uv_once_t once;
	uv_mutex_t lock;
	int running, again;
	int64_t last_start;
	atomic_int stop;
} st = {UV_ONCE_INIT};

static int (*licensed_fn)(struct worker *w, const int64_t *ids, size_t n);

void licence_on_licensed(int (*fn)(struct worker *w, const int64_t *ids, size_t n))
{
	licensed_fn = fn;
}

static void state_init(void)
{
	uv_mutex_init(&st.lock);
}

int licence_mdm_id(struct worker *w, char *out, size_t cap)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	size_t len = 0;
	unsigned int mdlen = 0;
	int rc = keystore_scep_cacert(w->srv->ks, &der, &len);
	if (rc < 0)
		return rc;
	rc = EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) == 1 ? 0 : AP_ECRYPTO;
	free(der);
	if (rc < 0 || cap < 33)
		return rc < 0 ? rc : AP_EINVAL;
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- the gate ---------------------------------------------------------------------------- */

struct held_key {
	int64_t device_id, store_id;
};

struct licence_held {
	int fleet;	/* a fleet token exists */
	char **schools; /* collèges with their own token */
	size_t n_schools;
	struct held_key *keys; /* sorted */
	size_t n, cap;
	int rc;
};

static int key_cmp(const void *a, const void *b)
{
	const struct held_key *x = a, *y = b;
	if (x->device_id != y->device_id)
		return x->device_id < y->device_id ? -1 : 1;
	return x->store_id < y->store_id ? -1 : x->store_id > y->store_id;
}

static int on_held(int64_t device_id, const char *adam_id, void *arg)
{
	struct licence_held *h = arg;
	if (ap_grow(&h->keys, &h->cap, h->n, sizeof(*h->keys), 64) < 0) {
		h->rc = AP_ENOMEM;
		return 1;
	}
	h->keys[h->n++] = (struct held_key){device_id, strtoll(adam_id, NULL, 10)};
	return 0;
}

int licence_held_load(struct db *db, int64_t device_id, struct licence_held **ret)
{
	struct db_vpp_token *toks = NULL;
	size_t n = 0;
	struct licence_held *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return AP_ENOMEM;
	int rc = db_vpp_token_list(db, &toks, &n);
	if (rc == 0 && n && (h->schools = calloc(n, sizeof(char *))) == NULL)
		rc = AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (toks[i].school[0] == '\0')
			h->fleet = 1;
		else if ((h->schools[h->n_schools++] = strdup(toks[i].school)) == NULL)
			rc = AP_ENOMEM;
	}
	free(toks);
	if (rc == 0 && n)
		rc = db_vpp_held_each(db, device_id, on_held, h);
	if (rc == 0)
		rc = h->rc;
	if (rc < 0) {
		licence_held_free(h);
		return rc;
	}
	if (h->n)
		qsort(h->keys, h->n, sizeof(*h->keys), key_cmp);
	*ret = h;
	return 0;
}

void licence_held_free(struct licence_held *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n_schools; i++)
		free(h->schools[i]);
	free(h->schools);
	free(h->keys);
	free(h);
}

enum licence_gate licence_gate(const struct licence_held *h, int64_t device_id, const char *school,
			       int64_t store_id)
{
	int covered = h->fleet;
	for (size_t i = 0; i < h->n_schools && !covered && school; i++)
		covered = strcmp(h->schools[i], school) == 0;
	if (!covered || store_id <= 0)
		return LICENCE_NONE;
	struct held_key k = {device_id, store_id};
	return h->n && bsearch(&k, h->keys, h->n, sizeof(k), key_cmp) ? LICENCE_HELD
								      : LICENCE_WITHOUT;
}

int licence_waiting(struct worker *w, int64_t device_id)
{
	return db_vpp_waiting(w->db, device_id);
}

/* ---- a run ------------------------------------------------------------------------------- */

struct tok {
	struct db_vpp_token row; /* without its sToken */
	struct vpp_client *c;	 /* NULL: not usable this run */
};

struct tablet {
	int64_t id;
	char serial[32];
	char school[32];
	int64_t location; /* the covering token's id, 0 none */
	const char **apps;
	size_t n_apps;
};

/* An event posted by this run. */
struct posted {
	size_t tok; /* index in toks */
	size_t op;  /* index in the plan's ops */
	char event_id[VPP_TEXT_MAX + 1];
	int done;
};

struct run {
	uv_work_t work;
	struct worker *w;
	char mdm_id[40];
	char reason[32];
	struct db *db;
	struct tok *toks;
	size_t n_toks;
	struct tablet *tabs;
	size_t n_tabs, cap_tabs;
	struct tablet **by_serial;   /* tabs sorted by serial */
	struct db_vpp_licence *held; /* associated, of usable tokens */
	size_t n_held, cap_held;
	struct db_vpp_asset *assets;
	size_t n_assets, cap_assets;
	char (*adam)[VPP_ADAMID_MAX + 1]; /* per facts item */
	const char **app_pool;
	char (*adopted)[32]; /* serials whose licence the run found at Apple */
	size_t n_adopted, cap_adopted;
	int64_t *changed; /* tablets that got a licence */
	size_t n_changed, cap_changed;
	int64_t associated, disassociated, shorts, requests;
	int64_t ms, cpu_ms;
	char error[DB_VPP_TEXT + 1];
	int rc;
};

static int held_cmp(const void *a, const void *b)
{
	const struct db_vpp_licence *x = a, *y = b;
	if (x->token_id != y->token_id)
		return x->token_id < y->token_id ? -1 : 1;
	int c = strcmp(x->serial, y->serial);
	return c ? c : strcmp(x->adam_id, y->adam_id);
}

static int serial_cmp(const void *a, const void *b)
{
	const struct tablet *const *x = a, *const *y = b;
	return strcmp((*x)->serial, (*y)->serial);
}

/* The run's first error: "what: why". */
static void run_error(struct run *r, const char *what, const char *why)
{
	if (r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "%.60s: %.190s", what, why);
}

/* Commits when rc is 0, else rolls back; rc or the commit's error. */
static int tx_end(struct db *db, int rc)
{
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

static struct tok *tok_by_id(struct run *r, int64_t id)
{
	for (size_t i = 0; i < r->n_toks; i++)
		if (r->toks[i].row.id == id)
			return &r->toks[i];
	return NULL;
}

/* Records what a failed call says of the token, and stops using it. */
static void token_failed(struct run *r, struct tok *t, const struct vpp_error *e)
{
	char why[DB_VPP_TEXT + 1];
	if (atomic_load(&st.stop)) { /* the daemon stops: not the token's fault */
		vpp_client_close(t->c);
		t->c = NULL;
		return;
	}
	snprintf(why, sizeof(why), "%d: %.200s", e->number ? e->number : e->code,
		 e->reason ? e->reason : ap_strerror(e->code));
	db_vpp_token_note(r->db, t->row.id, "", "", why, e->action == VPP_NEW_TOKEN ? 1 : -1, 0);
	char esc[400];
	log_warn("vpp_token_failed", "token=%lld scope=%s number=%d http=%d action=%d error=%s",
		 (long long)t->row.id, t->row.scope, e->number, e->http, (int)e->action,
		 log_esc(e->message, esc, sizeof(esc)));
	run_error(r, t->row.scope, why);
	vpp_client_close(t->c);
	t->c = NULL;
}

/* ---- the token's sync -------------------------------------------------------------------- */

static int open_client(struct run *r, struct tok *t)
{
	struct db_vpp_token full;
	unsigned char *plain = NULL;
	size_t plen = 0;
	const struct config *cfg = &r->w->srv->cfg;
	struct vpp_client_opts o = {cfg->vpp_url, cfg->vpp_ca, r->mdm_id, REQ_TIMEOUT_S,
				    WAIT_CAP_S,	  0,	       &st.stop};
	int rc = db_vpp_token_get(r->db, t->row.id, &full);
	if (rc < 0)
		return rc;
	rc = keystore_unseal(r->w->srv->ks, KEYSTORE_VPP_TOKEN, full.scope, full.stoken,
			     full.stoken_len, &plain, &plen);
	db_vpp_token_clear(&full);
	if (rc < 0)
		return rc;
	rc = vpp_client_open(&o, (const char *)plain, plen, &t->c);
	OPENSSL_cleanse(plain, plen);
	free(plain);
	return rc;
}

struct asset_acc {
	struct run *r;
	int64_t token_id;
	struct db_vpp_asset *v;
	size_t n, cap;
};

static int on_asset(const struct vpp_asset *a, void *arg)
{
	struct asset_acc *x = arg;
	if (a->product != VPP_APP)
		return 0;
	if (ap_grow(&x->v, &x->cap, x->n, sizeof(*x->v), 32) < 0)
		return AP_ENOMEM;
	struct db_vpp_asset *d = &x->v[x->n++];
	memset(d, 0, sizeof(*d));
	d->token_id = x->token_id;
	snprintf(d->adam_id, sizeof(d->adam_id), "%s", a->adam_id);
	snprintf(d->pricing, sizeof(d->pricing), "%s", a->pricing);
	snprintf(d->product, sizeof(d->product), "App");
	d->total = a->total;
	d->assigned = a->assigned;
	d->available = a->device_assignable ? a->available : 0;
	d->device_assignable = a->device_assignable;
	d->synced_at = db_now();
	return 0;
}

/* Apple's assignments of one token, sorted by (serial, adamId). */
struct assign_acc {
	struct vpp_assignment *v;
	size_t n, cap;
};

static int on_assignment(const struct vpp_assignment *a, void *arg)
{
	struct assign_acc *x = arg;
	if (ap_grow(&x->v, &x->cap, x->n, sizeof(*x->v), 256) < 0)
		return AP_ENOMEM;
	x->v[x->n++] = *a;
	return 0;
}

static int assign_cmp(const void *a, const void *b)
{
	const struct vpp_assignment *x = a, *y = b;
	int c = strcmp(x->serial, y->serial);
	return c ? c : strcmp(x->adam_id, y->adam_id);
}

struct compare_ctx {
	struct run *r;
	struct assign_acc *apple;
	unsigned char *seen; /* per Apple assignment: Ardoise knows it */
	struct db_vpp_licence *fix;
	size_t n_fix, cap_fix;
	int rc;
};

static int fix_add(struct compare_ctx *x, const struct db_vpp_licence *l)
{
	if (ap_grow(&x->fix, &x->cap_fix, x->n_fix, sizeof(*x->fix), 64) < 0)
		return AP_ENOMEM;
	x->fix[x->n_fix++] = *l;
	return 0;
}

/* A licence Ardoise knows against Apple's: state "" to drop, else set. */
static int on_known(const struct db_vpp_licence *l, void *arg)
{
	struct compare_ctx *x = arg;
	struct vpp_assignment k;
	memset(&k, 0, sizeof(k));
	snprintf(k.serial, sizeof(k.serial), "%s", l->serial);
	snprintf(k.adam_id, sizeof(k.adam_id), "%s", l->adam_id);
	struct vpp_assignment *f =
	    x->apple->n ? bsearch(&k, x->apple->v, x->apple->n, sizeof(k), assign_cmp) : NULL;
	struct db_vpp_licence n = *l;
	if (f)
		x->seen[f - x->apple->v] = 1;
	if (f && strcmp(l->state, "associated") == 0)
		return 0;
	/* Apple lacks it (dropped), or an event left in flight by a run
	 * that stopped: Apple's assignments say how it ended */
	snprintf(n.state, sizeof(n.state), "%s", f ? "associated" : "");
	n.event_id[0] = '\0';
	n.since = db_now();
	return (x->rc = fix_add(x, &n)) < 0;
}

/* A licence now known held: its tablet is reconciled at the end. */
static int adopted_add(struct run *r, const char *serial)
{
	if (ap_grow(&r->adopted, &r->cap_adopted, r->n_adopted, sizeof(*r->adopted), 64) < 0)
		return AP_ENOMEM;
	snprintf(r->adopted[r->n_adopted++], 32, "%s", serial);
	return 0;
}

/* Apple's assignments against Ardoise's licences of token t. */
static int compare(struct run *r, struct tok *t, struct assign_acc *apple)
{
	struct compare_ctx x = {r, apple, calloc(apple->n + 1, 1), NULL, 0, 0, 0};
	if (x.seen == NULL)
		return AP_ENOMEM;
	if (apple->n)
		qsort(apple->v, apple->n, sizeof(*apple->v), assign_cmp);
	int rc = db_vpp_licence_each(r->db, t->row.id, on_known, &x);
	if (rc == 0)
		rc = x.rc;
	for (size_t i = 0; i < apple->n && rc == 0; i++) {
		if (x.seen[i] || (i && assign_cmp(&apple->v[i - 1], &apple->v[i]) == 0))
			continue;
		struct db_vpp_licence l;
		memset(&l, 0, sizeof(l));
		l.token_id = t->row.id;
		snprintf(l.serial, sizeof(l.serial), "%s", apple->v[i].serial);
		snprintf(l.adam_id, sizeof(l.adam_id), "%s", apple->v[i].adam_id);
		snprintf(l.pricing, sizeof(l.pricing), "%s", apple->v[i].pricing);
		snprintf(l.state, sizeof(l.state), "associated");
		l.since = db_now();
		rc = fix_add(&x, &l); /* adopted: the plan keeps or frees it */
	}
	for (size_t i = 0; i < x.n_fix && rc == 0; i++)
		if (x.fix[i].state[0])
			rc = adopted_add(r, x.fix[i].serial);
	if (rc == 0 && x.n_fix && (rc = db_begin(r->db)) == 0) {
		for (size_t i = 0; i < x.n_fix && rc == 0; i++)
			rc = x.fix[i].state[0]
				 ? db_vpp_licence_set(r->db, &x.fix[i])
				 : db_vpp_licence_drop(r->db, t->row.id, x.fix[i].serial,
						       x.fix[i].adam_id);
		rc = tx_end(r->db, rc);
	}
	if (x.n_fix)
		log_info("vpp_licences_corrected", "token=%lld corrections=%zu",
			 (long long)t->row.id, x.n_fix);
	free(x.seen);
	free(x.fix);
	return rc;
}

/* Assets and assignments of token t; the token set aside on failure. */
static void sync_token(struct run *r, struct tok *t)
{
	struct vpp_error e;
	struct vpp_client_config cc;
	struct asset_acc a = {r, t->row.id, NULL, 0, 0};
	struct assign_acc g = {NULL, 0, 0};
	int rc = open_client(r, t);
	if (rc < 0) {
		memset(&e, 0, sizeof(e));
		e.code = rc;
		e.reason = "jeton illisible (scellement)";
		token_failed(r, t, &e);
		return;
	}
	if ((rc = vpp_client_config_get(t->c, &cc, &e)) < 0 ||
	    (rc = vpp_client_assets(t->c, on_asset, &a, &e)) < 0 ||
	    (rc = vpp_client_assignments(t->c, on_assignment, &g, &e)) < 0) {
		if (rc == AP_ENOMEM || e.code == 0)
			e.code = rc;
		token_failed(r, t, &e);
		goto out;
	}
	if (cc.meta.mdm_id[0] && strcmp(cc.meta.mdm_id, r->mdm_id) != 0) {
		memset(&e, 0, sizeof(e));
		e.code = AP_ECONFLICT;
		e.reason = "l'emplacement est géré par un autre MDM";
		token_failed(r, t, &e);
		goto out;
	}
	if ((rc = db_vpp_assets_replace(r->db, t->row.id, a.v, a.n)) == 0)
		rc = compare(r, t, &g);
	if (rc == 0)
		rc = db_vpp_token_note(r->db, t->row.id, cc.location, cc.meta.uid, "", 0, db_now());
	if (rc < 0) {
		r->rc = rc;
		run_error(r, t->row.scope, ap_strerror(rc));
	}
out:
	free(a.v);
	free(g.v);
}

/* ---- the facts of the plan --------------------------------------------------------------- */

static int on_tablet(int64_t id, const char *serial, const char *school, void *arg)
{
	struct run *r = arg;
	if (ap_grow(&r->tabs, &r->cap_tabs, r->n_tabs, sizeof(*r->tabs), 1024) < 0) {
		r->rc = AP_ENOMEM;
		return 1;
	}
	struct tablet *t = &r->tabs[r->n_tabs++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	snprintf(t->school, sizeof(t->school), "%s", school);
	return 0;
}

static int on_licence(const struct db_vpp_licence *l, void *arg)
{
	struct run *r = arg;
	struct tok *t = tok_by_id(r, l->token_id);
	if (t == NULL || t->c == NULL || strcmp(l->state, "associated") != 0)
		return 0;
	if (ap_grow(&r->held, &r->cap_held, r->n_held, sizeof(*r->held), 1024) < 0) {
		r->rc = AP_ENOMEM;
		return 1;
	}
	r->held[r->n_held++] = *l;
	return 0;
}

static int on_stock(const struct db_vpp_asset *a, void *arg)
{
	struct run *r = arg;
	if (ap_grow(&r->assets, &r->cap_assets, r->n_assets, sizeof(*r->assets), 64) < 0) {
		r->rc = AP_ENOMEM;
		return 1;
	}
	r->assets[r->n_assets++] = *a;
	return 0;
}

/* The covering token of each tablet. */
static void locate_tablets(struct run *r)
{
	int64_t fleet = 0;
	for (size_t i = 0; i < r->n_toks; i++)
		if (r->toks[i].row.school[0] == '\0')
			fleet = r->toks[i].row.id;
	for (size_t i = 0; i < r->n_tabs; i++) {
		struct tablet *t = &r->tabs[i];
		t->location = fleet;
		for (size_t k = 0; k < r->n_toks; k++)
			if (r->toks[k].row.school[0] &&
			    strcmp(r->toks[k].row.school, t->school) == 0)
				t->location = r->toks[k].row.id;
	}
}

/* The App Store apps each tablet should have, from the policy's facts. */
static int desired_apps(struct run *r, struct reconcile_facts *f)
{
	struct pol_plan p;
	size_t n_pool = 0, cap_pool = 0;
	int rc = 0;
	r->adam = calloc(f->n_items + 1, sizeof(*r->adam));
	if (r->adam == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < f->n_items; i++)
		if (f->items[i].kind == POL_APP && f->items[i].store_id > 0)
			snprintf(r->adam[i], sizeof(r->adam[i]), "%" PRId64, f->items[i].store_id);
	size_t *start = calloc(r->n_tabs + 1, sizeof(*start));
	if (start == NULL)
		return AP_ENOMEM;
	pol_plan_init(&p);
	for (size_t i = 0; i < r->n_tabs && rc == 0; i++) {
		struct pol_device_state s;
		long k = reconcile_facts_find(f, r->tabs[i].id);
		start[i] = n_pool;
		if (k < 0 || r->tabs[i].location == 0)
			continue;
		reconcile_facts_state(f, (size_t)k, 0, &s);
		if ((rc = pol_plan_desired(f->assignments, f->n_assignments, &s.facts, &p)) < 0)
			break;
		for (size_t d = 0; d < p.n_desired && rc == 0; d++) {
			size_t it = (size_t)(p.desired[d] - f->items);
			if (r->adam[it][0] == '\0')
				continue;
			if (ap_grow(&r->app_pool, &cap_pool, n_pool, sizeof(*r->app_pool), 4096) <
			    0) {
				rc = AP_ENOMEM;
				break;
			}
			r->app_pool[n_pool++] = r->adam[it];
		}
	}
	start[r->n_tabs] = n_pool;
	for (size_t i = 0; i < r->n_tabs && rc == 0; i++) {
		r->tabs[i].apps = r->app_pool ? r->app_pool + start[i] : NULL;
		r->tabs[i].n_apps = start[i + 1] - start[i];
	}
	pol_plan_free(&p);
	free(start);
	return rc;
}

static const struct tablet *tablet_of(const struct run *r, const char *serial)
{
	struct tablet k, *kp = &k;
	snprintf(k.serial, sizeof(k.serial), "%s", serial);
	struct tablet **f =
	    r->n_tabs ? bsearch(&kp, r->by_serial, r->n_tabs, sizeof(kp), serial_cmp) : NULL;
	return f ? *f : NULL;
}

static int changed_add(struct run *r, int64_t id)
{
	if (ap_grow(&r->changed, &r->cap_changed, r->n_changed, sizeof(*r->changed), 256) < 0)
		return AP_ENOMEM;
	r->changed[r->n_changed++] = id;
	return 0;
}

static int load_facts(struct run *r)
{
	/* every tablet of the inventory, enrolled or not: a collège's licences
	 * go to all its tablets together (Apple's are by serial), not to those
	 * that happened to enrol first */
	struct reconcile_filter flt = {NULL, 0, 1, 0, 0};
	struct reconcile_facts f;
	int rc = db_vpp_tablet_each(r->db, on_tablet, r);
	if (rc == 0)
		rc = r->rc;
	if (rc == 0)
		locate_tablets(r);
	if (rc == 0 && (rc = reconcile_facts_load(r->db, &flt, &f)) == 0) {
		rc = desired_apps(r, &f);
		reconcile_facts_free(&f);
	}
	if (rc == 0 && (rc = db_vpp_licence_each(r->db, 0, on_licence, r)) == 0)
		rc = r->rc;
	if (rc == 0 && (rc = db_vpp_asset_each(r->db, 0, on_stock, r)) == 0)
		rc = r->rc;
	if (rc == 0 && (r->by_serial = calloc(r->n_tabs + 1, sizeof(*r->by_serial))) == NULL)
		rc = AP_ENOMEM;
	for (size_t i = 0; i < r->n_tabs && rc == 0; i++)
		r->by_serial[i] = &r->tabs[i];
	if (rc == 0) {
		if (r->n_tabs)
			qsort(r->by_serial, r->n_tabs, sizeof(*r->by_serial), serial_cmp);
		if (r->n_held)
			qsort(r->held, r->n_held, sizeof(*r->held), held_cmp);
	}
	for (size_t i = 0; i < r->n_adopted && rc == 0; i++) {
		const struct tablet *tb = tablet_of(r, r->adopted[i]);
		if (tb)
			rc = changed_add(r, tb->id);
	}
	return rc;
}

/* ---- shortages per collège --------------------------------------------------------------- */

/* The shortages of the plan, one per location, collège and app. */
static int store_shorts(struct run *r, const struct pol_lic_plan *p)
{
	struct db_vpp_short *v = calloc(p->n_shorts + 1, sizeof(*v));
	int rc;
	if (v == NULL)
		return AP_ENOMEM;
	for (size_t s = 0; s < p->n_shorts; s++) {
		const struct pol_lic_short *sh = &p->shorts[s];
		v[s] = (struct db_vpp_short){sh->location,
					     "",
					     "",
					     (int64_t)sh->wanted,
					     sh->available > 0 ? sh->available : 0,
					     db_now()};
		snprintf(v[s].school, sizeof(v[s].school), "%s", sh->group);
		snprintf(v[s].adam_id, sizeof(v[s].adam_id), "%s", sh->adam_id);
	}
	rc = db_vpp_short_replace(r->db, v, p->n_shorts);
	r->shorts = (int64_t)p->n_shorts;
	free(v);
	return rc;
}

/* ---- executing the plan ------------------------------------------------------------------ */

static const char *pricing_of(const struct run *r, int64_t token_id, const char *adam)
{
	for (size_t i = 0; i < r->n_assets; i++)
		if (r->assets[i].token_id == token_id && strcmp(r->assets[i].adam_id, adam) == 0)
			return r->assets[i].pricing;
	return "STDQ";
}

/* Stores the licence of serial for op's app in op's location, in state
 * (event_id "" when none is in flight), since now. */
static int licence_put(struct run *r, const struct pol_lic_op *op, const char *serial,
		       const char *pricing, const char *state, const char *event_id)
{
	struct db_vpp_licence l;
	memset(&l, 0, sizeof(l));
	l.token_id = op->location;
	snprintf(l.serial, sizeof(l.serial), "%s", serial);
	snprintf(l.adam_id, sizeof(l.adam_id), "%s", op->adam_id);
	snprintf(l.pricing, sizeof(l.pricing), "%s", pricing);
	snprintf(l.state, sizeof(l.state), "%s", state);
	snprintf(l.event_id, sizeof(l.event_id), "%s", event_id);
	l.since = db_now();
	return db_vpp_licence_set(r->db, &l);
}

/* Marks op's licences as in flight under event_id. */
static int mark_posted(struct run *r, const struct pol_lic_op *op, const char *event_id)
{
	int assoc = op->kind == POL_LIC_ASSOCIATE;
	int rc = db_begin(r->db);
	if (rc < 0)
		return rc;
	const char *pricing = pricing_of(r, op->location, op->adam_id);
	rc = db_vpp_event_add(r->db, event_id, op->location, assoc ? "associate" : "disassociate",
			      op->adam_id, (int64_t)op->n);
	for (size_t i = 0; i < op->n && rc == 0; i++)
		rc = licence_put(r, op, op->serials[i], pricing,
				 assoc ? "associating" : "disassociating", event_id);
	return tx_end(r->db, rc);
}

static int failed_serial(const struct vpp_status *s, const char *serial, int *ret_number)
{
	for (size_t f = 0; f < s->n_failures; f++)
		for (size_t k = 0; k < s->failures[f].n_serials; k++)
			if (strcmp(s->failures[f].serials[k], serial) == 0) {
				*ret_number = s->failures[f].error.number;
				return 1;
			}
	/* a FAILED event that names no serial failed for all of them */
	*ret_number = 0;
	return s->state == VPP_FAILED && s->n_failures == 0;
}

/* An event's outcome stored: licences associated or dropped. */
static int apply_status(struct run *r, const struct pol_lic_op *op, const char *event_id,
			const struct vpp_status *s)
{
	int assoc = op->kind == POL_LIC_ASSOCIATE, number = 0;
	size_t n_failed = 0;
	const char *pricing = pricing_of(r, op->location, op->adam_id);
	int rc = db_begin(r->db);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < op->n && rc == 0; i++) {
		int failed = failed_serial(s, op->serials[i], &number);
		n_failed += failed;
		if (assoc == failed) {
			rc = db_vpp_licence_drop(r->db, op->location, op->serials[i], op->adam_id);
			r->disassociated += !assoc;
			continue;
		}
		rc = licence_put(r, op, op->serials[i], pricing, "associated", "");
		const struct tablet *tb = tablet_of(r, op->serials[i]);
		if (rc == 0 && assoc && tb) {
			r->associated++;
			rc = changed_add(r, tb->id);
		}
	}
	if (rc == 0)
		rc = db_vpp_event_drop(r->db, event_id);
	if (n_failed)
		log_warn("vpp_event_failures", "event=%s kind=%s app=%s failed=%zu number=%d",
			 event_id, assoc ? "associate" : "disassociate", op->adam_id, n_failed,
			 number);
	return tx_end(r->db, rc);
}

/* Posts every op of a usable token: events into *ret. */
static int post_all(struct run *r, const struct pol_lic_plan *p, struct posted *ev, size_t *ret_n)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_ops && !atomic_load(&st.stop); i++) {
		const struct pol_lic_op *op = &p->ops[i];
		struct tok *t = tok_by_id(r, op->location);
		struct vpp_error e;
		if (t == NULL || t->c == NULL)
			continue;
		size_t ti = (size_t)(t - r->toks);
		int rc =
		    vpp_client_post(t->c, op->kind == POL_LIC_DISASSOCIATE, op->adam_id,
				    pricing_of(r, op->location, op->adam_id),
				    (const char *const *)op->serials, op->n, ev[n].event_id, &e);
		if (rc < 0) {
			token_failed(r, t, &e);
			continue;
		}
		if ((rc = mark_posted(r, op, ev[n].event_id)) < 0)
			return rc;
		ev[n].tok = ti;
		ev[n].op = i;
		ev[n].done = 0;
		n++;
	}
	*ret_n = n;
	return 0;
}

/* Apple's counts of token t read again (after its events completed). */
static void refresh_assets(struct run *r, struct tok *t)
{
	struct asset_acc a = {r, t->row.id, NULL, 0, 0};
	struct vpp_error e;
	int rc = vpp_client_assets(t->c, on_asset, &a, &e);
	if (rc < 0)
		token_failed(r, t, &e);
	else if ((rc = db_vpp_assets_replace(r->db, t->row.id, a.v, a.n)) < 0)
		run_error(r, t->row.scope, ap_strerror(rc));
	free(a.v);
}

/* Polls the events round after round until each is COMPLETE or FAILED. */
static int poll_all(struct run *r, const struct pol_lic_plan *p, struct posted *ev, size_t n)
{
	int64_t pause = 50, waited = 0;
	size_t left = n;
	while (left && waited < EVENTS_TIMEOUT_MS && !atomic_load(&st.stop)) {
		for (size_t i = 0; i < n; i++) {
			struct tok *t = &r->toks[ev[i].tok];
			struct vpp_status s;
			struct vpp_error e;
			if (ev[i].done || t->c == NULL)
				continue;
			int rc = vpp_client_poll(t->c, ev[i].event_id, &s, &e);
			if (rc < 0) {
				token_failed(r, t, &e);
				continue;
			}
			if (s.state != VPP_PENDING) {
				rc = apply_status(r, &p->ops[ev[i].op], ev[i].event_id, &s);
				ev[i].done = 1;
				left--;
			}
			vpp_status_free(&s);
			if (rc < 0)
				return rc;
		}
		if (left == 0)
			break;
		struct timespec ts = {0, (long)pause * 1000000L};
		nanosleep(&ts, NULL);
		waited += pause;
		pause = pause * 2 > 2000 ? 2000 : pause * 2;
	}
	if (left)
		log_warn("vpp_events_in_flight", "events=%zu", left);
	return 0;
}

static int plan_and_execute(struct run *r)
{
	struct pol_lic_tablet *t = calloc(r->n_tabs + 1, sizeof(*t));
	struct pol_lic_held *h = calloc(r->n_held + 1, sizeof(*h));
	struct pol_lic_stock *s = calloc(r->n_assets + 1, sizeof(*s));
	struct pol_lic_plan p;
	struct vpp_limits lim;
	struct posted *ev = NULL;
	size_t nt = 0, n_ev = 0;
	int rc = AP_ENOMEM;
	memset(&p, 0, sizeof(p));
	if (!t || !h || !s)
		goto out;
	for (size_t i = 0; i < r->n_tabs; i++)
		if (r->tabs[i].location)
			t[nt++] = (struct pol_lic_tablet){r->tabs[i].serial, r->tabs[i].location,
							  r->tabs[i].school, 1,
							  r->tabs[i].apps,   r->tabs[i].n_apps};
	for (size_t i = 0; i < r->n_held; i++)
		h[i] = (struct pol_lic_held){r->held[i].serial, r->held[i].adam_id,
					     r->held[i].token_id};
	for (size_t i = 0; i < r->n_assets; i++)
		s[i] = (struct pol_lic_stock){r->assets[i].token_id, r->assets[i].adam_id,
					      r->assets[i].available};
	vpp_limits_default(&lim);
	for (size_t i = 0; i < r->n_toks; i++)
		if (r->toks[i].c) {
			vpp_client_limits(r->toks[i].c, &lim);
			break;
		}
	if ((rc = pol_lic_plan(t, nt, h, r->n_held, s, r->n_assets, (size_t)lim.max_serials, &p)) <
	    0)
		goto out;
	if ((rc = store_shorts(r, &p)) < 0)
		goto out;
	if ((ev = calloc(p.n_ops + 1, sizeof(*ev))) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if ((rc = post_all(r, &p, ev, &n_ev)) == 0)
		rc = poll_all(r, &p, ev, n_ev);
	for (size_t i = 0; i < r->n_toks && rc == 0; i++) {
		int posted = 0;
		for (size_t k = 0; k < n_ev && !posted; k++)
			posted = ev[k].tok == i;
		if (posted && r->toks[i].c)
			refresh_assets(r, &r->toks[i]);
	}
	log_info("vpp_plan",
		 "tablets=%zu held=%zu associate=%zu disassociate=%zu kept=%zu"
		 " shorts=%zu events=%zu",
		 nt, r->n_held, p.n_associate, p.n_disassociate, p.n_kept, p.n_shorts, n_ev);
out:
	pol_lic_plan_free(&p);
	free(ev);
	free(t);
	free(h);
	free(s);
	return rc;
}

static void run_work(uv_work_t *req)
{
	struct run *r = req->data;
	uint64_t t0 = uv_hrtime();
	int64_t c0 = worker_cpu_ms();
	struct db_vpp_token *rows = NULL;
	size_t n = 0;
	int rc = worker_db_open(r->w->srv, &r->db);
	if (rc == 0 && (rc = db_vpp_token_list(r->db, &rows, &n)) == 0 && n &&
	    (r->toks = calloc(n, sizeof(*r->toks))) == NULL)
		rc = AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		r->toks[r->n_toks++].row = rows[i];
	free(rows);
	for (size_t i = 0; i < r->n_toks && rc == 0 && !atomic_load(&st.stop); i++)
		if (!r->toks[i].row.stopped)
			sync_token(r, &r->toks[i]);
	if (rc == 0 && r->rc == 0 && r->n_toks)
		rc = load_facts(r);
	if (rc == 0 && r->rc == 0 && r->n_toks)
		rc = plan_and_execute(r);
	if (rc == 0)
		rc = r->rc;
	if (rc < 0)
		run_error(r, "run", ap_strerror(rc));
	for (size_t i = 0; i < r->n_toks; i++) {
		if (r->toks[i].c)
			r->requests += (int64_t)vpp_client_requests(r->toks[i].c);
		vpp_client_close(r->toks[i].c);
		r->toks[i].c = NULL;
	}
	r->ms = worker_ms_since(t0);
	r->cpu_ms = worker_cpu_ms() - c0;
	if (r->db) {
		struct db_vpp_run run = {
		    db_now() - r->ms / 1000, 0, r->associated, r->disassociated, r->ms, 0, ""};
		snprintf(run.error, sizeof(run.error), "%s", r->error);
		db_vpp_run_put(r->db, &run);
		db_close(r->db);
		r->db = NULL;
	}
	r->rc = rc;
}

static void run_free(struct run *r)
{
	free(r->toks);
	free(r->tabs);
	free(r->by_serial);
	free(r->held);
	free(r->assets);
	free(r->adam);
	free(r->app_pool);
	free(r->changed);
	free(r->adopted);
	free(r);
}

static int start(struct worker *w, const char *reason);

static void run_done(uv_work_t *req, int status)
{
	struct run *r = req->data;
	struct worker *w = r->w;
	char esc[400];
	(void)status;
	log_info("vpp_run",
		 "reason=%s tokens=%zu tablets=%zu associated=%lld disassociated=%lld shorts=%lld"
		 " requests=%lld ms=%lld cpu_ms=%lld error=%s",
		 r->reason, r->n_toks, r->n_tabs, (long long)r->associated,
		 (long long)r->disassociated, (long long)r->shorts, (long long)r->requests,
		 (long long)r->ms, (long long)r->cpu_ms, log_esc(r->error, esc, sizeof(esc)));
	/* the licensed tablets get their InstallApplication now */
	if (r->n_changed && licensed_fn)
		licensed_fn(w, r->changed, r->n_changed);
	run_free(r);
	uv_mutex_lock(&st.lock);
	int again = st.again && !atomic_load(&st.stop);
	st.running = 0;
	st.again = 0;
	uv_mutex_unlock(&st.lock);
	if (again)
		start(w, "again");
}

static int start(struct worker *w, const char *reason)
{
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	int busy = st.running;
	if (busy)
		st.again = 1;
	else {
		st.running = 1;
		st.last_start = db_now();
	}
	uv_mutex_unlock(&st.lock);
	if (busy)
		return 0;
	struct run *r = calloc(1, sizeof(*r));
	int rc = r ? licence_mdm_id(w, r->mdm_id, sizeof(r->mdm_id)) : AP_ENOMEM;
	if (rc == 0) {
		r->w = w;
		r->work.data = r;
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
		rc = uv_queue_work(&w->loop, &r->work, run_work, run_done) < 0 ? AP_EIO : 0;
	}
	if (rc < 0) {
		free(r);
		uv_mutex_lock(&st.lock);
		st.running = 0;
		uv_mutex_unlock(&st.lock);
	}
	return rc;
}

/* 1 when there is a token (a run has something to do). */
static int has_token(struct worker *w)
{
	struct db_vpp_token *v = NULL;
	size_t n = 0;
	if (db_vpp_token_list(w->db, &v, &n) < 0)
		return 0;
	free(v);
	return n > 0;
}

int licence_sync_now(struct worker *w, const char *reason)
{
	if (atomic_load(&st.stop) || !has_token(w))
		return 0;
	return start(w, reason);
}

int licence_sync_asked(struct worker *w)
{
	return licence_sync_now(w, "asked");
}

int licence_job(struct worker *w)
{
	int64_t every = w->srv->cfg.vpp_sync_minutes * 60;
	if (every == 0 || atomic_load(&st.stop))
		return 0;
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	int due = !st.running && db_now() - st.last_start >= every;
	uv_mutex_unlock(&st.lock);
	return due ? licence_sync_now(w, "schedule") : 0;
}

void licence_stop(void)
{
	atomic_store(&st.stop, 1);
}

int licence_running(void)
{
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	int r = st.running;
	uv_mutex_unlock(&st.lock);
	return r;
}
