/* api_audit.c - the audit log: list, chain verification, saved heads. */
#include "api.h"
#include "api_routes.h"
#include "api_fleet.h"
#include "ap_err.h"
#include "audit_head.h"
#include "db_audit.h"
#include "worker.h"

#define AUDIT_PAGE_DEFAULT 1000
#define AUDIT_PAGE_MAX	   10000

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
	if (row->id <= p->after)
		return 0;
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

static void list(struct req *r)
{
	struct page p = {json_array(), 0, 0, 0, r->resp->body.limit / 2, 0, 0, 0};
	int64_t since = 0;
	if (api_allow(r, AZ_AUDIT, NULL) < 0 || api_fleet_query_day(r, "since", &since) < 0 ||
	    api_fleet_page(r, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &p.after, &p.limit) < 0)
		goto fail;
	int rc = db_audit_list(r->w->db, since, 0, add_row, &p);
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
