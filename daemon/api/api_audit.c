/* api_audit.c - the audit log: list, chain verification, saved heads. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "ap_text.h"
#include "audit_head.h"
#include "db_audit.h"
#include "isodate.h"
#include "worker.h"

#include <string.h>

#define AUDIT_PAGE_DEFAULT 1000
#define AUDIT_PAGE_MAX	   10000
/* the longest filter texts: account names and "device:<udid>", actions,
 * targets (serials, accounts, policy scopes) */
#define AUDIT_ACTOR_MAX	 128
#define AUDIT_ACTION_MAX 64
#define AUDIT_TARGET_MAX 256

/* A page ends at `limit` rows or when its JSON would pass `bytes` (half
 * the answer's cap, at least one row): rows written before reasons were
 * bounded may hold up to 1 MiB each, six times that escaped. */
struct page {
	json_t *rows;
	int64_t after;
	size_t limit, n;
	size_t bytes, used;
	int64_t last, next;
};

static int add_row(const struct db_audit_row *row, void *arg)
{
	struct page *p = arg;
	if (p->n == p->limit) {
		p->next = p->last; /* one more row exists */
		return 1;
	}
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)row->id, "ts",
			      api_fleet_time(row->ts), "actor", row->actor, "action", row->action,
			      "target", row->target, "reason", row->reason, "hash", row->hash);
	json_t *detail = row->detail[0] ? json_loads(row->detail, 0, NULL) : NULL;
	json_object_set_new(o, "detail", detail ? detail : json_null());
	size_t size = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_ENSURE_ASCII) + 1;
	if (p->n && p->used + size > p->bytes) {
		json_decref(o);
		p->next = p->last;
		return 1;
	}
	p->used += size;
	json_array_append_new(p->rows, o);
	p->n++;
	p->last = row->id;
	return 0;
}

/* ?name=TEXT into out (cap: the longest accepted plus two, so that a
 * longer one is seen and refused rather than cut); "" when absent. */
/* 1 when the raw value of ?name= holds %00, which decodes to a NUL that
 * would end the text early (a filter silently cut). */
static int nul_in_query(const struct req *r, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = r->http->query; p && *p;) {
		size_t len = strcspn(p, "&");
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			for (const char *v = p + nl + 1; v + 2 < p + len; v++)
				if (v[0] == '%' && v[1] == '0' && v[2] == '0')
					return 1;
		p += len;
		p += *p == '&';
	}
	return 0;
}

static int query_text(struct req *r, const char *name, char *out, size_t cap)
{
	if (api_query(r, name, out, cap) < 0) {
		out[0] = '\0';
		return 0;
	}
	if (!ap_text_ok(out, cap - 2, 0) || nul_in_query(r, name))
		return api_refuse(r, AP_EINVAL, 400,
				  "%s must be one line of text of at most %zu bytes, without "
				  "control characters",
				  name, cap - 2);
	return 0;
}

/* ?name=a day or a time (isodate_parse_time()) into *ret (unchanged
 * when absent); a day given as `to` ends at its last second. */
static int query_when(struct req *r, const char *name, int end_of_day, int64_t *ret)
{
	char q[32];
	int64_t t;
	if (api_query(r, name, q, sizeof(q)) < 0 || q[0] == '\0')
		return 0;
	if (isodate_parse_time(q, &t) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "%s: '%.32s' is not a date DD/MM/YYYY or YYYY-MM-DD nor a "
				  "time YYYY-MM-DDTHH:MM:SS (local, or with Z or +01:00)",
				  name, q);
	/* a day ends at the next local midnight: not always 86400 s later */
	*ret = end_of_day && isodate_parse_day(q, &t) == 0 ? isodate_day_add(t, 1) - 1 : t;
	return 0;
}

/* The filters of GET /api/v1/audit (the texts go in the buffers). */
struct filters {
	char actor[AUDIT_ACTOR_MAX + 2], action[AUDIT_ACTION_MAX + 2];
	char target[AUDIT_TARGET_MAX + 2], school[32], uai[9], order[8];
};

static int read_filters(struct req *r, struct filters *q, struct db_audit_filter *f)
{
	int64_t since = 0;
	if (api_fleet_query_day(r, "since", &since) < 0 || query_when(r, "from", 0, &since) < 0 ||
	    query_when(r, "to", 1, &f->to) < 0 ||
	    query_text(r, "actor", q->actor, sizeof(q->actor)) < 0 ||
	    query_text(r, "action", q->action, sizeof(q->action)) < 0 ||
	    query_text(r, "target", q->target, sizeof(q->target)) < 0 ||
	    query_text(r, "school", q->school, sizeof(q->school)) < 0 ||
	    query_text(r, "order", q->order, sizeof(q->order)) < 0)
		return -1;
	f->from = since;
	if (f->to && f->from > f->to)
		return api_refuse(r, AP_EINVAL, 400, "from is after to: no row can match");
	if (q->school[0] && api_fleet_uai(r, q->school, q->uai) < 0)
		return -1;
	if (q->order[0] && strcmp(q->order, "asc") != 0 && strcmp(q->order, "desc") != 0)
		return api_refuse(r, AP_EINVAL, 400, "order must be asc or desc");
	f->newest_first = strcmp(q->order, "desc") == 0;
	f->actor = q->actor;
	f->action = q->action;
	f->target = q->target;
	f->school = q->school[0] ? q->uai : NULL;
	return 0;
}

/* GET /api/v1/audit: a keyset page (?after=ID&limit=N, "next"), oldest
 * first or ?order=desc; narrowed by ?from= ?to= (days or times) ?actor=
 * ?action= ?target= ?school= (db_audit_filter says how each matches). */
static void list(struct req *r)
{
	struct page p = {json_array(), 0, 0, 0, r->resp->body.limit / 2, 0, 0, 0};
	struct db_audit_filter f = {0};
	struct filters q;
	if (api_allow(r, AZ_AUDIT, NULL) < 0 || read_filters(r, &q, &f) < 0 ||
	    api_fleet_page(r, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &p.after, &p.limit) < 0)
		goto fail;
	f.after = p.after;
	f.limit = (int64_t)p.limit + 1;
	int rc = db_audit_find(r->w->db, &f, add_row, &p);
	if (rc < 0) {
		api_dberr(r, rc, "reading the audit log");
		goto fail;
	}
	api_json(r, 200,
		 json_pack("{s:o,s:o}", "rows", p.rows, "next",
			   p.next ? json_integer((json_int_t)p.next) : json_null()));
	return;
fail:
	json_decref(p.rows);
}

/* ?head=TEXT: a saved head (the head file's line, or a logged one);
 * *ret_given 0 when absent.  Answers 400 itself when malformed. */
static int saved_head(struct req *r, struct audit_head *ret, int *ret_given)
{
	char text[1024];
	*ret_given = api_query(r, "head", text, sizeof(text)) == 0 && text[0];
	if (*ret_given && audit_head_parse(text, ret) < 0)
		return api_refuse(
		    r, AP_EPARSE, 400,
		    "not an audit head: expected the line 'audit_head count=N last_id=N "
		    "hash=HEX at=TIME' of the head file or of the daemon's log");
	return 0;
}

/* GET /api/v1/audit/verify[?head=TEXT]: the chain (keyed from its
 * anchor), and the saved head when given. */
static void verify(struct req *r)
{
	int64_t rows = 0, bad = 0;
	struct audit_head saved;
	struct db_audit_head now;
	char why[400] = "";
	int given = 0, head_rc = 0;
	if (api_allow(r, AZ_AUDIT, NULL) < 0 || saved_head(r, &saved, &given) < 0)
		return;
	int rc = db_audit_verify(r->w->db, &rows, &bad);
	if ((rc < 0 && rc != AP_ECONFLICT) || (head_rc = db_audit_last(r->w->db, &now)) < 0 ||
	    (given && (head_rc = audit_head_check(r->w->db, &saved, why, sizeof(why))) < 0 &&
	     head_rc != AP_ECONFLICT)) {
		api_dberr(r, rc < 0 && rc != AP_ECONFLICT ? rc : head_rc,
			  "verifying the audit log");
		return;
	}
	json_t *o =
	    json_pack("{s:b,s:I,s:o,s:I,s:s,s:o}", "intact", rc == 0, "rows", (json_int_t)rows,
		      "first_bad_id", rc == 0 ? json_null() : json_integer((json_int_t)bad),
		      "last_id", (json_int_t)now.last_id, "last_hash", now.hash, "keyed_from",
		      now.keyed_from ? json_integer((json_int_t)now.keyed_from) : json_null());
	if (given)
		json_object_set_new(o, "head",
				    json_pack("{s:b,s:I,s:I,s:s,s:s,s:s?}", "ok", head_rc == 0,
					      "count", (json_int_t)saved.count, "last_id",
					      (json_int_t)saved.last_id, "hash", saved.hash, "at",
					      saved.at, "problem", head_rc == 0 ? NULL : why));
	api_json(r, 200, o);
}

const struct route api_audit_routes[] = {
    {"GET", "/api/v1/audit", AUTH_STAFF, list},
    {"GET", "/api/v1/audit/verify", AUTH_STAFF, verify},
    {NULL, NULL, AUTH_NONE, NULL},
};
