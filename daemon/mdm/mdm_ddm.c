/* mdm_ddm.c - the DeclarativeManagement check-in: tokens,
 * declaration-items, one declaration, status.  See mdm_ddm.h. */
#include "mdm_ddm.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "ap_msg.h"
#include "api_reply.h"
#include "db_command.h"
#include "db_ddm.h"
#include "db_mdm.h"
#include "ddm.h"
#include "log.h"
#include "store.h"
#include "worker.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 200 with a JSON document (json: len octets, taken). */
static void answer_json(struct req *r, char *json, size_t len)
{
	r->resp->status = 200;
	r->resp->content_type = "application/json";
	ap_buf_reset(&r->resp->body);
	int rc = ap_buf_append(&r->resp->body, json, len);
	free(json);
	if (rc < 0)
		api_fail(r, rc, 500, "answer too large to send");
}

/* The tablet's set, copied out of the load (strings owned). */
struct set {
	struct ap_ddm_item *items;
	size_t n;
	char token[AP_DDM_TOKEN_LEN + 1];
	int rc;
};

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free((char *)s->items[i].identifier);
		free((char *)s->items[i].server_token);
	}
	free(s->items);
}

static int on_set(const struct db_ddm_set *set, void *arg)
{
	struct set *s = arg;
	if ((s->rc = ddm_set_token(set, s->token)) < 0)
		return 1;
	if ((s->items = calloc(set->n ? set->n : 1, sizeof(*s->items))) == NULL) {
		s->rc = AP_ENOMEM;
		return 1;
	}
	for (size_t i = 0; i < set->n; i++) {
		struct ap_ddm_item *it = &s->items[s->n++];
		ap_ddm_kind_from_name(db_ddm_kind_name(set->refs[i].kind), &it->kind);
		it->identifier = strdup(set->refs[i].identifier);
		it->server_token = strdup(set->refs[i].server_token);
		if (it->identifier == NULL || it->server_token == NULL) {
			s->rc = AP_ENOMEM;
			return 1;
		}
	}
	return 1;
}

static int load_set(struct db *db, int64_t id, struct set *s)
{
	memset(s, 0, sizeof(*s));
	int rc = db_ddm_sets_device(db, id, on_set, s);
	return rc < 0 ? rc : s->rc;
}

/* tokens and declaration-items: from the set as it is now; the token
 * stored when it changed, the sync stamped. */
static int answer_sync(struct req *r, const struct db_device *d, int items, char **json,
		       size_t *len, char *detail, size_t cap)
{
	struct set s;
	int changed = 0;
	int rc = load_set(r->w->db, d->id, &s);
	if (rc == 0)
		rc = db_ddm_token_store(r->w->db, d->id, s.token, &changed);
	if (rc == 0)
		rc = db_ddm_synced(r->w->db, d->id);
	if (rc == 0)
		rc = items ? ap_ddm_items_build(s.items, s.n, s.token, json, len, detail, cap)
			   : ap_ddm_tokens_build(s.token, time(NULL), json, len, detail, cap);
	set_free(&s);
	return rc;
}

/* One declaration, only when it is in the tablet's set: AP_ENOTFOUND
 * otherwise. */
static int answer_declaration(struct req *r, const struct db_device *d,
			      const struct ap_ddm_endpoint *ep, char **json, size_t *len,
			      char *detail, size_t cap)
{
	struct set s;
	struct db_declaration decl;
	unsigned char *payload = NULL;
	size_t plen = 0, i;
	int rc = load_set(r->w->db, d->id, &s);
	for (i = 0; rc == 0 && i < s.n; i++)
		if (s.items[i].kind == ep->kind &&
		    strcmp(s.items[i].identifier, ep->identifier) == 0)
			break;
	if (rc == 0 && i == s.n)
		rc = AP_ENOTFOUND;
	if (rc == 0)
		rc = db_ddm_declaration_get(r->w->db, ap_ddm_kind_name(ep->kind), ep->identifier,
					    &decl);
	if (rc == 0)
		rc = db_blob_get(r->w->db, decl.blob, &payload, &plen);
	if (rc == 0)
		rc = ap_ddm_declaration_build(decl.type, decl.identifier, decl.server_token,
					      (const char *)payload, plen, json, len, detail, cap);
	free(payload);
	set_free(&s);
	return rc;
}

/* ---- status ------------------------------------------------------------------ */

struct report {
	struct db_ddm_item *items;
	size_t n_items;
	struct db_ddm_decl_state *decls;
	size_t n_decls;
	char **owned; /* texts made here (merged arrays, reasons) */
	size_t n_owned;
	json_t *declarations; /* the parsed management.declarations */
};

static void report_free(struct report *p)
{
	for (size_t i = 0; i < p->n_owned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->items);
	free(p->decls);
	json_decref(p->declarations);
}

static char *own(struct report *p, char *s)
{
	char **o = s ? realloc(p->owned, (p->n_owned + 1) * sizeof(*o)) : NULL;
	if (o == NULL) {
		free(s);
		return NULL;
	}
	p->owned = o;
	return o[p->n_owned++] = s;
}

/* management.declarations {"activations": [...], "configurations": [...],
 * "assets": [...], "management": [...]} into p->decls. */
static int declarations_take(struct report *p, const char *value, char *detail, size_t cap)
{
	static const struct {
		const char *key;
		enum db_ddm_kind kind;
	} groups[] = {{"activations", DB_DDM_ACTIVATION},
		      {"configurations", DB_DDM_CONFIGURATION},
		      {"assets", DB_DDM_ASSET},
		      {"management", DB_DDM_MANAGEMENT}};
	json_error_t e;
	json_t *o = p->declarations = json_loads(value, 0, &e);
	size_t total = 0;
	if (!json_is_object(o)) {
		snprintf(detail, cap, "management.declarations: not an object");
		return AP_ETYPE;
	}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		total += json_array_size(json_object_get(o, groups[g].key));
	if (total > DB_DDM_REPORT_MAX) {
		snprintf(detail, cap, "management.declarations: over %d declarations",
			 DB_DDM_REPORT_MAX);
		return AP_ELIMIT;
	}
	if ((p->decls = calloc(total ? total : 1, sizeof(*p->decls))) == NULL)
		return AP_ENOMEM;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		json_t *a = json_object_get(o, groups[g].key), *x;
		size_t i;
		if (a && !json_is_array(a)) {
			snprintf(detail, cap, "management.declarations.%s: not an array",
				 groups[g].key);
			return AP_ETYPE;
		}
		json_array_foreach(a, i, x)
		{
			struct db_ddm_decl_state *d = &p->decls[p->n_decls];
			json_t *reasons = json_object_get(x, "reasons");
			const char *id = json_string_value(json_object_get(x, "identifier"));
			const char *tok = json_string_value(json_object_get(x, "server-token"));
			const char *valid = json_string_value(json_object_get(x, "valid"));
			json_t *active = json_object_get(x, "active");
			int removed = json_is_true(json_object_get(x, "_removed"));
			if (id == NULL ||
			    (!removed &&
			     (tok == NULL || valid == NULL || !json_is_boolean(active))) ||
			    (reasons && !json_is_array(reasons))) {
				snprintf(
				    detail, cap,
				    "management.declarations.%s[%zu]: identifier, server-token,"
				    " active and valid required, reasons an array",
				    groups[g].key, i);
				return AP_ETYPE;
			}
			d->kind = groups[g].kind;
			d->identifier = id;
			d->server_token = tok ? tok : "";
			d->valid = valid ? valid : "unknown";
			d->active = json_is_true(active);
			d->removed = removed;
			if (reasons &&
			    (d->reasons = own(
				 p, json_dumps(reasons, JSON_COMPACT | JSON_SORT_KEYS))) == NULL)
				return AP_ENOMEM;
			p->n_decls++;
		}
	}
	return 0;
}

struct stored {
	const char *name;
	char *value;
};

static int on_item(const char *name, const char *value, int64_t at, void *arg)
{
	struct stored *s = arg;
	if (strcmp(name, s->name) != 0)
		return 0;
	s->value = strdup(value);
	return 1;
}

/* An incremental report's array item merged with the one stored. */
static int array_merge(struct req *r, int64_t id, struct report *p, struct db_ddm_item *it,
		       char *detail, size_t cap)
{
	struct stored s = {it->name, NULL};
	char *merged = NULL;
	size_t len = 0;
	int rc = db_ddm_items(r->w->db, id, on_item, &s);
	if (rc == 0)
		rc = ap_ddm_status_array_apply(s.value, s.value ? strlen(s.value) : 0, it->value,
					       strlen(it->value), &merged, &len, detail, cap);
	free(s.value);
	if (rc == 0 && (it->value = own(p, merged)) == NULL)
		rc = AP_ENOMEM;
	return rc;
}

static int apply_status(struct req *r, const struct db_device *d, const struct ap_checkin *ci,
			char *detail, size_t cap)
{
	struct ap_ddm_status *st = NULL;
	struct report p;
	memset(&p, 0, sizeof(p));
	int rc = ap_ddm_status_parse(ci->data, ci->data_len, 0, &st, detail, cap);
	if (rc < 0)
		return rc;
	if ((p.items = calloc(st->n_items ? st->n_items : 1, sizeof(*p.items))) == NULL)
		rc = AP_ENOMEM;
	for (size_t i = 0; rc == 0 && i < st->n_items; i++) {
		const struct ap_ddm_status_item *it = &st->items[i];
		if (strcmp(it->name, DB_DDM_DECLARATIONS_ITEM) == 0) {
			rc = declarations_take(&p, it->value, detail, cap);
			continue;
		}
		struct db_ddm_item *x = &p.items[p.n_items++];
		x->name = it->name;
		x->value = it->value;
		if (!st->full_report && it->value[0] == '[')
			rc = array_merge(r, d->id, &p, x, detail, cap);
	}
	struct db_ddm_report rep = {st->full_report, p.items, p.n_items, p.decls, p.n_decls};
	if (rc == 0 && (rc = db_ddm_status_apply(r->w->db, d->id, &rep)) == AP_EINVAL)
		snprintf(detail, cap, "a status item or declaration state the store refuses");
	report_free(&p);
	ap_ddm_status_free(st);
	return rc;
}

/* ---- the check-in ------------------------------------------------------------ */

static int http_status(int rc)
{
	switch (rc) {
	case AP_ENOTFOUND:
		return 404;
	case AP_ETOOBIG:
		return 413;
	case AP_ENOMEM:
	case AP_EDB:
	case AP_EIO:
	case AP_EBUSY:
		return 503;
	default:
		return 400;
	}
}

void mdm_ddm_checkin(struct req *r, const struct ap_checkin *ci, const struct db_device *d)
{
	const struct ap_ddm_endpoint *ep = &ci->ddm;
	char detail[200] = "", *json = NULL;
	size_t len = 0;
	struct db *db = r->w->db;
	int rc = db_begin(db);
	if (rc == 0 && (rc = db_mdm_seen(db, d->id)) == 0 && (rc = db_ddm_enable(db, d->id)) == 0) {
		switch (ep->type) {
		case AP_DDM_EP_TOKENS:
			rc = answer_sync(r, d, 0, &json, &len, detail, sizeof(detail));
			break;
		case AP_DDM_EP_DECLARATION_ITEMS:
			rc = answer_sync(r, d, 1, &json, &len, detail, sizeof(detail));
			break;
		case AP_DDM_EP_DECLARATION:
			rc = answer_declaration(r, d, ep, &json, &len, detail, sizeof(detail));
			break;
		case AP_DDM_EP_STATUS:
			rc = apply_status(r, d, ci, detail, sizeof(detail));
			break;
		}
	}
	if (rc < 0 || (rc = db_commit(db)) < 0) {
		if (db_tx_depth(db))
			db_rollback(db);
		free(json);
		char e[80], dt[240];
		log_info("ddm_checkin_refused", "id=%s device=%lld endpoint=%s error=%s detail=%s",
			 r->id, (long long)d->id, log_esc(ci->endpoint, e, sizeof(e)),
			 ap_errname(rc), log_esc(detail, dt, sizeof(dt)));
		if (rc == AP_ENOTFOUND)
			api_fail(r, rc, 404, "no such declaration for this tablet");
		else if (http_status(rc) == 503)
			api_fail(r, rc, 503, "cannot answer the check-in: %s", ap_strerror(rc));
		else
			api_fail(r, rc, http_status(rc), "%s: %s", ap_strerror(rc), detail);
		return;
	}
	log_debug("ddm_checkin", "id=%s device=%lld type=%d", r->id, (long long)d->id,
		  (int)ep->type);
	if (json) {
		answer_json(r, json, len);
		return;
	}
	r->resp->status = 200;
	r->resp->content_type = NULL;
	ap_buf_reset(&r->resp->body);
}
