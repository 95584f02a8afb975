/* ddm.c - declarations (with Ardoise's refusals), the generated
 * activations and status subscriptions, and the recompute of the tablets'
 * DeclarationsTokens (then their push).  See ddm.h. */
#include "ddm.h"
#include "ap_cmd.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "cmdq.h"
#include "db_command.h"
#include "db_ddm.h"
#include "db_mdm.h"
#include "db_policy.h"
#include "log.h"
#include "push.h"
#include "store.h"
#include "worker.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#define RUN_PART  10000 /* tablets between two commits of a long run */
#define ACT_TYPE  "com.apple.activation.simple"
#define SUBS_TYPE "com.apple.configuration.management.status-subscriptions"

/* ---- deferred pushes ------------------------------------------------------ */

/* The tablets whose token changed, waiting for their transaction's commit:
 * one list per worker thread (a worker's database connection is its
 * thread's alone). */
static _Thread_local struct {
	int64_t *ids;
	size_t n, cap;
} pending;

static void pending_add(int64_t id)
{
	if (pending.n == pending.cap) {
		size_t ncap = pending.cap ? pending.cap * 2 : 64;
		int64_t *n = realloc(pending.ids, ncap * sizeof(*n));
		if (n == NULL)
			return; /* the tablet reads its token at its next check-in anyway */
		pending.ids = n;
		pending.cap = ncap;
	}
	pending.ids[pending.n++] = id;
}

void ddm_flush_pushes(struct worker *w)
{
	for (size_t i = 0; i < pending.n; i++)
		if (w->srv->push)
			push_notify(w, pending.ids[i]);
	ddm_drop_pushes();
}

void ddm_drop_pushes(void)
{
	free(pending.ids);
	pending.ids = NULL;
	pending.n = pending.cap = 0;
}

/* ---- tokens ---------------------------------------------------------------- */

/* The ap_ddm kind of a store kind (they are numbered differently). */
static enum ap_ddm_kind ap_kind(enum db_ddm_kind k)
{
	enum ap_ddm_kind a = AP_DDM_ACTIVATION;
	ap_ddm_kind_from_name(db_ddm_kind_name(k), &a);
	return a;
}

int ddm_set_token(const struct db_ddm_set *set, char token[AP_DDM_TOKEN_LEN + 1])
{
	struct ap_ddm_item one[16] = {{0}};
	struct ap_ddm_item *items = set->n <= 16 ? one : calloc(set->n, sizeof(*items));
	if (items == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < set->n; i++)
		items[i] = (struct ap_ddm_item){ap_kind(set->refs[i].kind), set->refs[i].identifier,
						set->refs[i].server_token};
	int rc = ap_ddm_declarations_token(items, set->n, token, NULL, 0);
	if (items != one)
		free(items);
	return rc;
}

struct run {
	struct worker *w;
	struct ddm_stats *st;
	int nested, rc;
	int64_t since_split;
};

static int on_set(const struct db_ddm_set *set, void *arg)
{
	struct run *r = arg;
	char token[AP_DDM_TOKEN_LEN + 1];
	int changed = 0;
	if (r->since_split++ >= RUN_PART) {
		r->since_split = 1;
		if ((r->rc = db_split(r->w->db)) < 0)
			return 1;
		if (!r->nested) /* committed: the part's tablets may fetch now */
			ddm_flush_pushes(r->w);
	}
	r->st->devices++;
	if ((r->rc = ddm_set_token(set, token)) < 0 ||
	    (r->rc = db_ddm_token_store(r->w->db, set->device_id, token, &changed)) < 0)
		return 1;
	if (changed) {
		r->st->changed++;
		if (set->enabled) { /* a tablet without DDM is not told */
			r->st->pushed++;
			pending_add(set->device_id);
		}
	}
	return 0;
}

static void log_run(const char *reason, const char *school, int64_t device_id,
		    const struct ddm_stats *st, int rc)
{
	char where[64];
	if (device_id)
		snprintf(where, sizeof(where), "device:%lld", (long long)device_id);
	else
		snprintf(where, sizeof(where), "%s%s", school ? "school:" : "fleet",
			 school ? school : "");
	if (rc < 0)
		log_error("ddm_recompute_failed", "reason=%s scope=%s error=\"%s\"", reason, where,
			  ap_strerror(rc));
	else if (device_id && st->changed == 0)
		log_debug("ddm_recompute", "reason=%s scope=%s devices=%lld changed=0", reason,
			  where, (long long)st->devices);
	else
		log_info("ddm_recompute",
			 "reason=%s scope=%s devices=%lld changed=%lld pushed=%lld ms=%lld"
			 " cpu_ms=%lld",
			 reason, where, (long long)st->devices, (long long)st->changed,
			 (long long)st->pushed, (long long)st->total_ms, (long long)st->cpu_ms);
}

int ddm_recompute(struct worker *w, const char *school, int64_t device_id, const char *reason,
		  struct ddm_stats *ret)
{
	struct ddm_stats st;
	struct db_ddm_sets *sets = NULL;
	struct db_ddm_filter f = {school, device_id, device_id == 0};
	uint64_t t0 = uv_hrtime();
	int64_t c0 = worker_cpu_ms();
	int nested = db_tx_depth(w->db) > 0, rc = 0;
	memset(&st, 0, sizeof(st));
	if (!nested && device_id == 0 && (rc = db_policy_bulk(w->db, 1)) < 0)
		goto out;
	/* outside a transaction the load reads its own snapshot, before the
	 * write lock is taken: the other loop writes on meanwhile */
	if ((rc = db_ddm_sets_load(w->db, &f, &sets)) < 0)
		goto out;
	if ((rc = db_begin(w->db)) < 0)
		goto out;
	struct run r = {w, &st, nested, 0, 0};
	if ((rc = db_ddm_sets_each(sets, on_set, &r)) == 0)
		rc = r.rc;
	if (rc < 0) {
		db_rollback(w->db);
		if (!nested)
			ddm_drop_pushes();
	} else if ((rc = db_commit(w->db)) == 0 && !nested) {
		ddm_flush_pushes(w);
	}
out:
	db_ddm_sets_free(sets);
	if (!nested && device_id == 0)
		db_policy_bulk(w->db, 0);
	if (rc == AP_ENOTFOUND && device_id) /* DDM off on it, or no such tablet */
		rc = 0;
	st.total_ms = worker_ms_since(t0);
	st.cpu_ms = worker_cpu_ms() - c0;
	log_run(reason ? reason : "", school, device_id, &st, rc);
	if (rc == 0 && ret)
		*ret = st;
	return rc;
}

/* ---- declarations ------------------------------------------------------------ */

static int detailf(char *detail, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int detailf(char *detail, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	if (detail && cap) {
		va_start(ap, fmt);
		vsnprintf(detail, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Commits (rc 0) or rolls back (rc < 0) a transaction begun here. */
static int db_end(struct db *db, int rc)
{
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

/* The first key whose name contains "password" (any case), at any depth. */
static const char *password_key(json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;
	if (depth > AP_DDM_MAX_DEPTH)
		return NULL;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
		{
			for (const char *p = k; *p; p++)
				if (strncasecmp(p, "password", 8) == 0)
					return k;
			const char *in = password_key(x, depth + 1);
			if (in)
				return in;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			const char *in = password_key(x, depth + 1);
			if (in)
				return in;
		}
	}
	return NULL;
}

int ddm_refused(const char *type, const char *payload, size_t len, char *detail, size_t detail_cap)
{
	static const char credential[] = "com.apple.asset.credential.";
	if (type && strncmp(type, credential, strlen(credential)) == 0)
		return detailf(detail, detail_cap, AP_EINVAL,
			       "%s: Ardoise stores no credential assets (secrets are never kept"
			       " in clear)",
			       type);
	json_error_t e;
	json_t *p = json_loadb(payload ? payload : "", len, JSON_REJECT_DUPLICATES, &e);
	if (p == NULL)
		return detailf(detail, detail_cap, AP_EPARSE, "Payload is not JSON: %s", e.text);
	const char *k = password_key(p, 0);
	int rc =
	    k ? detailf(detail, detail_cap, AP_EINVAL,
			"Payload key \"%.60s\": Ardoise stores no passwords in declarations", k)
	      : 0;
	json_decref(p);
	return rc;
}

/* The store's record of a declaration; AP_EINVAL for a type of no kind. */
static int record(const char *type, const char *identifier, const char *models,
		  struct db_declaration *d, char *detail, size_t detail_cap)
{
	enum ap_ddm_kind ak;
	memset(d, 0, sizeof(*d));
	if (ap_ddm_kind_of_type(type, &ak) < 0 || db_ddm_kind_parse(ap_ddm_kind_name(ak), &d->kind))
		return detailf(detail, detail_cap, AP_EINVAL,
			       "Type \"%.60s\": not com.apple.<activation|configuration|asset|"
			       "management>.<name>",
			       type ? type : "");
	if (strlen(type) > DB_DDM_TYPE_MAX)
		return detailf(detail, detail_cap, AP_EINVAL, "Type over %s octets", "128");
	if (models && strlen(models) > DB_DDM_MODELS_MAX)
		return detailf(detail, detail_cap, AP_EINVAL, "models filter over %s octets",
			       "8192");
	snprintf(d->type, sizeof(d->type), "%s", type);
	snprintf(d->identifier, sizeof(d->identifier), "%s", identifier);
	snprintf(d->models, sizeof(d->models), "%s", models ? models : "");
	return 0;
}

/* Stores a declaration (no refusal of content, no sync): the step shared by
 * staff declarations and the generated ones.  update -1: add or update,
 * whichever applies. */
static int store(struct db *db, const char *type, const char *identifier, const char *payload,
		 size_t len, const char *models, const char *actor, int update, int *ret_changed,
		 char *detail, size_t detail_cap)
{
	struct db_declaration d, old;
	int changed = 0;
	int rc = record(type, identifier, models, &d, detail, detail_cap);
	if (rc < 0)
		return rc;
	if (!ap_ddm_identifier_ok(identifier) || strlen(identifier) > DB_DDM_IDENTIFIER_MAX)
		return detailf(detail, detail_cap, AP_EINVAL,
			       "Identifier \"%.64s\": 1-64 octets of A-Z a-z 0-9 . _ -",
			       identifier ? identifier : "");
	if ((rc = ap_ddm_server_token(type, identifier, payload, len, d.server_token, detail,
				      detail_cap)) < 0)
		return rc;
	if (update < 0) {
		rc = db_ddm_declaration_get(db, NULL, identifier, &old);
		if (rc < 0 && rc != AP_ENOTFOUND)
			return rc;
		update = rc == 0;
	}
	if (update) {
		rc = db_ddm_declaration_update(db, identifier, &d, payload, len, actor, &changed);
	} else {
		rc = db_ddm_declaration_add(db, &d, payload, len, actor, NULL);
		changed = rc == 0;
	}
	if (rc == AP_EINVAL)
		return detailf(detail, detail_cap, rc,
			       "Identifier \"%.64s\", Payload or models filter refused by the store"
			       " (identifier: A-Z a-z 0-9 . _ -; models: a JSON array of product"
			       " types)",
			       identifier);
	if (rc == AP_EEXIST)
		return detailf(detail, detail_cap, rc, "declaration %.64s exists", identifier);
	if (rc == AP_ENOTFOUND)
		return detailf(detail, detail_cap, rc, "no declaration %.64s", identifier);
	if (rc == AP_ECONFLICT)
		return detailf(detail, detail_cap, rc, "declaration %.64s is of another kind",
			       identifier);
	if (rc == 0 && ret_changed)
		*ret_changed = changed;
	return rc;
}

/* The scopes identifier is assigned to (malloc'd texts, *ret_n). */
struct scopes {
	char **v;
	size_t n;
	int rc;
};

static int on_scope(const struct db_ddm_assignment *a, void *arg)
{
	struct scopes *s = arg;
	char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (v == NULL || (v[s->n] = strdup(a->scope)) == NULL) {
		if (v)
			s->v = v;
		s->rc = AP_ENOMEM;
		return 1;
	}
	s->v = v;
	s->n++;
	return 0;
}

static void scopes_free(struct scopes *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int scopes_of(struct db *db, const char *identifier, struct scopes *s)
{
	memset(s, 0, sizeof(*s));
	int rc = db_ddm_assignment_list(db, NULL, identifier, on_scope, s);
	return rc < 0 ? rc : s->rc;
}

/* "<identifier>.act" into out; AP_EINVAL when over 64 octets. */
static int act_of(const char *identifier, char out[DB_DDM_IDENTIFIER_MAX + 1])
{
	int n = snprintf(out, DB_DDM_IDENTIFIER_MAX + 1, "%s" DDM_PLAN_ACT_SUFFIX, identifier);
	return n < 0 || n > DB_DDM_IDENTIFIER_MAX ? AP_EINVAL : 0;
}

/* The ".act" activation of a filtered configuration: made (or replaced)
 * with its models filter, removed when the configuration has none. */
static int plan_activation(struct db *db, const struct db_declaration *c, const char *actor)
{
	char act[DB_DDM_IDENTIFIER_MAX + 1];
	struct db_declaration old;
	if (c->kind != DB_DDM_CONFIGURATION || act_of(c->identifier, act) < 0)
		return 0;
	if (c->models[0] == '\0') {
		int rc = db_ddm_declaration_get(db, "activation", act, &old);
		if (rc == AP_ENOTFOUND)
			return 0;
		return rc < 0 ? rc : db_ddm_declaration_remove(db, act, actor, NULL);
	}
	const char *ids[] = {c->identifier};
	char *payload = ddm_activation_payload(ids, 1);
	if (payload == NULL)
		return AP_ENOMEM;
	int rc =
	    store(db, ACT_TYPE, act, payload, strlen(payload), c->models, actor, -1, NULL, NULL, 0);
	free(payload);
	return rc;
}

int ddm_declaration_put(struct db *db, const char *type, const char *identifier,
			const char *payload, size_t len, const char *models, const char *actor,
			int update, int *ret_changed, char *detail, size_t detail_cap)
{
	struct db_declaration d;
	struct scopes sc = {0};
	char act[DB_DDM_IDENTIFIER_MAX + 1];
	int changed = 0;
	if (detail && detail_cap)
		detail[0] = '\0';
	int rc = ddm_refused(type, payload, len, detail, detail_cap);
	if (rc < 0)
		return rc;
	if (models && models[0] && strncmp(type, "com.apple.configuration.", 24) == 0 &&
	    act_of(identifier ? identifier : "", act) < 0)
		return detailf(detail, detail_cap, AP_EINVAL,
			       "Identifier \"%.64s\": at most 60 octets with a models filter (its"
			       " activation adds \".act\")",
			       identifier ? identifier : "");
	if ((rc = db_begin(db)) < 0)
		return rc;
	rc = store(db, type, identifier, payload, len, models, actor, update, &changed, detail,
		   detail_cap);
	if (rc == 0 && changed && (rc = db_ddm_declaration_get(db, NULL, identifier, &d)) == 0 &&
	    (rc = plan_activation(db, &d, actor)) == 0 &&
	    (rc = scopes_of(db, identifier, &sc)) == 0)
		for (size_t i = 0; i < sc.n && rc == 0; i++)
			rc = ddm_scope_sync(db, sc.v[i], actor);
	scopes_free(&sc);
	if ((rc = db_end(db, rc)) == 0 && ret_changed)
		*ret_changed = changed;
	return rc;
}

int ddm_declaration_remove(struct db *db, const char *identifier, const char *actor)
{
	struct db_declaration d;
	struct scopes sc = {0};
	char act[DB_DDM_IDENTIFIER_MAX + 1];
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_ddm_declaration_get(db, NULL, identifier, &d)) == 0 &&
	    (rc = scopes_of(db, identifier, &sc)) == 0 &&
	    (rc = db_ddm_declaration_remove(db, identifier, actor, NULL)) == 0 &&
	    d.kind == DB_DDM_CONFIGURATION && act_of(identifier, act) == 0) {
		struct db_declaration a;
		rc = db_ddm_declaration_get(db, "activation", act, &a);
		if (rc == 0)
			rc = db_ddm_declaration_remove(db, act, actor, NULL);
		else if (rc == AP_ENOTFOUND)
			rc = 0;
	}
	for (size_t i = 0; i < sc.n && rc == 0; i++)
		rc = ddm_scope_sync(db, sc.v[i], actor);
	scopes_free(&sc);
	return db_end(db, rc);
}

/* ---- generated activations ------------------------------------------------------ */

void ddm_scope_slug(const char *scope, char out[DDM_SLUG_MAX + 1])
{
	size_t n = strlen(scope);
	if (n > DDM_SLUG_MAX) {
		unsigned char md[32];
		unsigned int mdlen = 0;
		EVP_Digest(scope, n, md, &mdlen, EVP_sha256(), NULL);
		for (int i = 0; i < 8; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)scope[i];
		if (c == ':' || c == '/')
			c = '-';
		else if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			   c == '_' || c == '-'))
			c = '_';
		out[i] = (char)c;
	}
	out[n] = '\0';
}

void ddm_scope_activation(const char *scope, char out[DB_DDM_IDENTIFIER_MAX + 1])
{
	char slug[DDM_SLUG_MAX + 1];
	ddm_scope_slug(scope, slug);
	if (strlen(DDM_ACTIVATION_PREFIX) + strlen(slug) > DB_DDM_IDENTIFIER_MAX) {
		/* no room for the slug in a 64-octet identifier: the scope's
		 * hash, as for a scope over DDM_SLUG_MAX octets */
		unsigned char md[32];
		unsigned int mdlen = 0;
		EVP_Digest(scope, strlen(scope), md, &mdlen, EVP_sha256(), NULL);
		for (int i = 0; i < 8; i++)
			snprintf(slug + 2 * i, 3, "%02x", md[i]);
	}
	snprintf(out, DB_DDM_IDENTIFIER_MAX + 1, DDM_ACTIVATION_PREFIX "%s", slug);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *ddm_activation_payload(const char *const *ids, size_t n)
{
	json_t *a = json_array(), *o = json_object();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(ids[i]));
	if (o == NULL || a == NULL || json_object_set_new(o, "StandardConfigurations", a) < 0) {
		json_decref(o);
		return NULL;
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* What is assigned to one scope: the configurations without filter (for
 * its activation), the filtered ones, and the ".act" activations. */
struct scope_view {
	struct db *db;
	struct scopes plain, filtered, acts;
	int rc;
};

static int push_to(struct scopes *s, const char *identifier)
{
	struct db_ddm_assignment a = {identifier, DB_DDM_ACTIVATION, identifier, "", 0};
	on_scope(&a, s);
	return s->rc;
}

static int on_scope_item(const struct db_ddm_assignment *a, void *arg)
{
	struct scope_view *v = arg;
	struct db_declaration d;
	size_t n = strlen(a->identifier), k = strlen(DDM_PLAN_ACT_SUFFIX);
	if (a->kind == DB_DDM_ACTIVATION && n > k &&
	    strcmp(a->identifier + n - k, DDM_PLAN_ACT_SUFFIX) == 0)
		v->rc = push_to(&v->acts, a->identifier);
	if (a->kind != DB_DDM_CONFIGURATION || v->rc < 0)
		return v->rc < 0;
	if ((v->rc = db_ddm_declaration_get(v->db, NULL, a->identifier, &d)) < 0)
		return 1;
	v->rc = push_to(d.models[0] ? &v->filtered : &v->plain, a->identifier);
	return v->rc < 0;
}

/* Whether identifier is in s. */
static int has(const struct scopes *s, const char *identifier)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], identifier) == 0)
			return 1;
	return 0;
}

static int on_any(const struct db_ddm_assignment *a, void *arg)
{
	*(int *)arg = 1;
	return 1;
}

/* Assigns unless assigned already (asked first: a refused change rolls
 * back the caller's whole transaction, store.h). */
static int assign_once(struct db *db, const char *identifier, const char *scope, const char *actor)
{
	int found = 0;
	int rc = db_ddm_assignment_list(db, scope, identifier, on_any, &found);
	return rc < 0 ? rc : found ? 0 : db_ddm_assign(db, identifier, scope, actor);
}

/* The scope's own activation: made, replaced or removed. */
static int scope_activation(struct db *db, const char *scope, struct scopes *plain,
			    const char *actor)
{
	char id[DB_DDM_IDENTIFIER_MAX + 1];
	struct db_declaration old;
	ddm_scope_activation(scope, id);
	if (plain->n == 0) {
		int rc = db_ddm_declaration_get(db, NULL, id, &old);
		if (rc == AP_ENOTFOUND)
			return 0;
		return rc < 0 ? rc : db_ddm_declaration_remove(db, id, actor, NULL);
	}
	qsort(plain->v, plain->n, sizeof(char *), cmp_str);
	char *payload = ddm_activation_payload((const char *const *)plain->v, plain->n);
	if (payload == NULL)
		return AP_ENOMEM;
	int rc = store(db, ACT_TYPE, id, payload, strlen(payload), NULL, actor, -1, NULL, NULL, 0);
	free(payload);
	return rc < 0 ? rc : assign_once(db, id, scope, actor);
}

int ddm_scope_sync(struct db *db, const char *scope, const char *actor)
{
	struct scope_view v;
	char act[DB_DDM_IDENTIFIER_MAX + 1];
	struct db_declaration d;
	memset(&v, 0, sizeof(v));
	v.db = db;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_ddm_assignment_list(db, scope, NULL, on_scope_item, &v)) == 0)
		rc = v.rc;
	if (rc == 0)
		rc = scope_activation(db, scope, &v.plain, actor);
	/* each filtered configuration's activation, on the same scope */
	for (size_t i = 0; i < v.filtered.n && rc == 0; i++) {
		if (act_of(v.filtered.v[i], act) < 0)
			continue;
		if ((rc = db_ddm_declaration_get(db, NULL, v.filtered.v[i], &d)) == 0 &&
		    (rc = plan_activation(db, &d, actor)) == 0)
			rc = assign_once(db, act, scope, actor);
	}
	/* and no ".act" left where its configuration is not (any more) */
	for (size_t i = 0; i < v.acts.n && rc == 0; i++) {
		size_t n = strlen(v.acts.v[i]) - strlen(DDM_PLAN_ACT_SUFFIX);
		char base[DB_DDM_IDENTIFIER_MAX + 1];
		snprintf(base, sizeof(base), "%.*s", (int)n, v.acts.v[i]);
		if (has(&v.filtered, base))
			continue;
		rc = db_ddm_declaration_get(db, "configuration", base, &d);
		if (rc == AP_ENOTFOUND) /* its configuration is gone */
			rc = db_ddm_declaration_remove(db, v.acts.v[i], actor, NULL);
		else if (rc == 0 && d.models[0])
			rc = db_ddm_unassign(db, v.acts.v[i], scope, actor);
		else
			rc = rc < 0 ? rc : 0; /* not one of ours: a staff activation */
	}
	scopes_free(&v.plain);
	scopes_free(&v.filtered);
	scopes_free(&v.acts);
	return db_end(db, rc);
}

int ddm_generated(struct db *db, const char *identifier)
{
	struct db_declaration d;
	char base[DB_DDM_IDENTIFIER_MAX + 1];
	if (identifier == NULL)
		return 0;
	if (strncmp(identifier, DDM_ACTIVATION_PREFIX, strlen(DDM_ACTIVATION_PREFIX)) == 0 ||
	    strncmp(identifier, DDM_UPDATE_PREFIX, strlen(DDM_UPDATE_PREFIX)) == 0 ||
	    strcmp(identifier, DDM_STATUS_SUBS_ID) == 0)
		return 1;
	size_t n = strlen(identifier), k = strlen(DDM_PLAN_ACT_SUFFIX);
	if (db == NULL || n <= k || n > DB_DDM_IDENTIFIER_MAX ||
	    strcmp(identifier + n - k, DDM_PLAN_ACT_SUFFIX) != 0)
		return 0;
	snprintf(base, sizeof(base), "%.*s", (int)(n - k), identifier);
	return db_ddm_declaration_get(db, "configuration", base, &d) == 0 && d.models[0];
}

/* ---- status subscriptions ---------------------------------------------------------- */

/* The items of the contract; each one is in Apple's status schema
 * (declarative/status/<item>.yaml), which tests/unit/daemon's test_ddm
 * checks against the spec copy. */
static const char *const subscribed[] = {
    "device.operating-system.version", "device.operating-system.build-version",
    "device.model.identifier",	       "softwareupdate.install-state",
    "softwareupdate.pending-version",  "softwareupdate.failure-reason",
    "softwareupdate.install-reason",   "passcode.is-compliant",
    "device.power.battery-health",     "management.declarations",
};

size_t ddm_status_items(const char *const **ret)
{
	*ret = subscribed;
	return sizeof(subscribed) / sizeof(subscribed[0]);
}

char *ddm_status_subscriptions_payload(void)
{
	json_t *a = json_array(), *o = json_object();
	for (size_t i = 0; a && i < sizeof(subscribed) / sizeof(subscribed[0]); i++)
		json_array_append_new(a, json_pack("{s:s}", "Name", subscribed[i]));
	if (o == NULL || a == NULL || json_object_set_new(o, "StatusItems", a) < 0) {
		json_decref(o);
		return NULL;
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

int ddm_status_subscriptions_ensure(struct db *db, const char *actor, int *ret_created)
{
	struct db_declaration old;
	int created = 0;
	char *payload = ddm_status_subscriptions_payload();
	if (payload == NULL)
		return AP_ENOMEM;
	int rc = db_begin(db);
	if (rc < 0) {
		free(payload);
		return rc;
	}
	rc = db_ddm_declaration_get(db, NULL, DDM_STATUS_SUBS_ID, &old);
	if (rc == AP_ENOTFOUND) {
		created = 1;
		rc = store(db, SUBS_TYPE, DDM_STATUS_SUBS_ID, payload, strlen(payload), NULL, actor,
			   0, NULL, NULL, 0);
	}
	if (rc == 0)
		rc = assign_once(db, DDM_STATUS_SUBS_ID, "fleet", actor);
	if (rc == 0)
		rc = ddm_scope_sync(db, "fleet", actor);
	free(payload);
	if ((rc = db_end(db, rc)) == 0 && ret_created)
		*ret_created = created;
	return rc;
}

/* ---- the device side ------------------------------------------------------------------ */

/* The tablet's current tokens document, from its set (stored as its
 * token when it changed). */
struct one {
	struct db *db;
	char token[AP_DDM_TOKEN_LEN + 1];
	int changed, rc;
};

static int on_one(const struct db_ddm_set *set, void *arg)
{
	struct one *o = arg;
	if ((o->rc = ddm_set_token(set, o->token)) == 0)
		o->rc = db_ddm_token_store(o->db, set->device_id, o->token, &o->changed);
	return 1;
}

int ddm_device_token(struct db *db, int64_t device_id, char token[AP_DDM_TOKEN_LEN + 1])
{
	struct one o = {db, "", 0, 0};
	int rc = db_ddm_sets_device(db, device_id, on_one, &o);
	if (rc == 0)
		rc = o.rc;
	if (rc == 0)
		memcpy(token, o.token, sizeof(o.token));
	return rc;
}

/* 1 when "X[.Y[.Z]]" names major version 16 or later. */
static int ddm_capable(const char *os_version)
{
	char *end;
	if (os_version == NULL || *os_version < '0' || *os_version > '9')
		return 0;
	long major = strtol(os_version, &end, 10);
	return (*end == '\0' || *end == '.') && major >= 16;
}

/* Queues the DeclarativeManagement command with the tablet's current
 * token in its Data (one pending at a time: dedupe "ddm").  A full queue
 * is logged, not an error: the tablet gets DDM at a later chance. */
static int queue_command(struct worker *w, int64_t device_id, const char *origin)
{
	char token[AP_DDM_TOKEN_LEN + 1], uuid[37], detail[120] = "";
	char *json = NULL;
	size_t len = 0;
	plist_t params = NULL;
	int rc = ddm_device_token(w->db, device_id, token);
	if (rc == 0)
		rc = ap_ddm_tokens_build(token, time(NULL), &json, &len, detail, sizeof(detail));
	if (rc == 0)
		rc = ap_cmd_params_declarative_management(json, len, &params);
	if (rc == 0) {
		struct cmd_order o = {.device_id = device_id,
				      .type = AP_CMD_DECLARATIVE_MANAGEMENT,
				      .params = params,
				      .dedupe = "ddm",
				      .origin = origin,
				      .requested_by = "system"};
		rc = cmdq_queue(w, &o, uuid, detail, sizeof(detail));
	}
	if (rc == AP_ECONFLICT) /* one pending already */
		rc = 0;
	if (rc == AP_ELIMIT) {
		log_warn("ddm_command_not_queued", "device=%lld reason=\"%s\"",
			 (long long)device_id, detail);
		rc = 0;
	}
	if (rc < 0)
		log_warn("ddm_command_failed", "device=%lld error=\"%s\" detail=\"%s\"",
			 (long long)device_id, ap_strerror(rc), detail);
	if (params)
		plist_free(params);
	free(json);
	return rc;
}

int ddm_enrolled(struct worker *w, int64_t device_id)
{
	struct db_device d;
	char token[AP_DDM_TOKEN_LEN + 1];
	int rc = db_begin(w->db);
	if (rc < 0)
		return rc;
	if ((rc = db_mdm_by_id(w->db, device_id, &d)) == 0 &&
	    (rc = db_ddm_forget_device(w->db, device_id)) == 0) {
		if (ddm_capable(d.os_version))
			rc = queue_command(w, device_id, "enrolment");
		else /* iPadOS 15 and older: no DDM, MDM commands only; its token kept */
			rc = ddm_device_token(w->db, device_id, token);
	}
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	return db_commit(w->db);
}

int ddm_on_result(struct worker *w, const struct cmdq_result *res)
{
	struct db_ddm_state s;
	struct db_device d;
	int64_t id = res->device->id;
	if (strcmp(res->cmd->type, "DeclarativeManagement") == 0) {
		int rc = db_ddm_enable(w->db, id);
		return rc < 0 ? rc : ddm_recompute(w, NULL, id, "enabled", NULL);
	}
	if (strcmp(res->cmd->type, "DeviceInformation") != 0)
		return 0;
	/* the inventory just stored: a tablet now on iPadOS 16+ without DDM
	 * (updated from 15, enrolled before Ardoise served DDM, its command
	 * lost) gets the command */
	int rc = db_ddm_state_get(w->db, id, &s);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	if ((rc != 0 || s.enabled_at == 0) && db_mdm_by_id(w->db, id, &d) == 0 &&
	    ddm_capable(d.os_version) && strcmp(d.enrollment, "enrolled") == 0) {
		if ((rc = queue_command(w, id, "inventory")) < 0)
			return rc;
		rc = db_ddm_state_get(w->db, id, &s);
	}
	if (rc == AP_ENOTFOUND)
		return 0;
	/* a new product_name may take the tablet in or out of a plan's models */
	return rc < 0 ? rc : ddm_recompute(w, NULL, id, "inventory", NULL);
}

int ddm_enable_missing(struct worker *w, int64_t limit, int64_t *ret_n)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	if (ret_n)
		*ret_n = 0;
	int rc = db_ddm_not_enabled(w->db, limit, &ids, &n);
	if (rc < 0 || n == 0)
		return rc;
	if ((rc = db_begin(w->db)) < 0) {
		free(ids);
		return rc;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = queue_command(w, ids[i], "upgrade");
	free(ids);
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	if ((rc = db_commit(w->db)) < 0)
		return rc;
	log_info("ddm_enable_missing", "queued=%zu", n);
	if (ret_n)
		*ret_n = (int64_t)n;
	return 0;
}
