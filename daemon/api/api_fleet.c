/* api_fleet.c - helpers shared by the fleet handlers. */
#include "api_fleet.h"
#include "ap_err.h"
#include "api.h"
#include "ap_text.h"
#include "db_device.h"
#include "db_school.h"
#include "isodate.h"
#include "log.h"
#include "worker.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_fleet_uai_why(const char *in, int rc, char *buf, size_t cap)
{
	char shown[24];
	snprintf(shown, sizeof(shown), "%s", in ? in : "");
	if (rc == AP_EINVAL) /* 7 digits and a letter, upper-cased as stored */
		shown[7] = (char)toupper((unsigned char)shown[7]);
	if (rc == AP_EINVAL)
		snprintf(buf, cap, "bad UAI '%s': the check letter of %.7s is %c, not %c", shown,
			 shown, db_school_uai_letter(shown), shown[7]);
	else
		snprintf(buf, cap,
			 "bad UAI '%s': 7 digits and a check letter expected (e.g. 0131266F)",
			 shown);
}

int api_fleet_uai(struct req *r, const char *in, char out[9])
{
	char why[160];
	int rc = db_school_uai_norm(in, out);
	if (rc < 0) {
		api_fleet_uai_why(in, rc, why, sizeof(why));
		api_fail(r, AP_EINVAL, 400, "%s", why);
	}
	return rc;
}

int api_fleet_scope(struct req *r, enum authz_action action, struct api_scope *sc)
{
	char q[64];
	int rc;
	memset(sc, 0, sizeof(*sc));
	if (api_query(r, "school", q, sizeof(q)) == 0 && q[0]) {
		if ((rc = api_fleet_uai(r, q, sc->uai)) < 0)
			return rc;
		if ((rc = api_allow(r, action, sc->uai)) < 0)
			return rc;
		sc->list[0] = sc->uai;
		sc->only = sc->list;
		sc->n_only = 1;
		return 0;
	}
	if ((rc = api_allow(r, action, AUTHZ_OWN_SCOPE)) < 0)
		return rc;
	api_fleet_view(r, sc);
	return 0;
}

void api_fleet_view(const struct req *r, struct api_scope *sc)
{
	memset(sc, 0, sizeof(*sc));
	if (authz_fleet_wide(r))
		return;
	for (size_t i = 0; i < r->acct.n_schools; i++)
		sc->list[i] = r->acct.schools[i];
	sc->only = sc->list;
	sc->n_only = r->acct.n_schools;
}

const char *api_device_name(const struct db_device *d)
{
	return d->serial[0] ? d->serial : d->udid;
}

int api_device_find(struct req *r, int action, const char *name, struct db_device *ret)
{
	char serial[65];
	int rc = name[0] ? db_device_get(r->w->db, name, ret) : AP_ENOTFOUND;
	if (rc == AP_ENOTFOUND && name[0]) { /* not a serial: an asset tag? */
		rc = api_device_resolve(r, action, name, serial, sizeof(serial));
		if (rc == AP_ECONFLICT)
			return rc; /* answered */
		if (rc == 0)
			rc = db_device_get(r->w->db, serial, ret);
	}
	return api_allow_object(r, action, rc, rc == 0 ? ret->school : NULL,
				"tablet with serial or UDID '%s'", name);
}

/* Query parameter as a non-negative integer (*ret untouched when absent). */
static int query_num(struct req *r, const char *name, int64_t max, int64_t *ret)
{
	char q[32], *end;
	if (api_query(r, name, q, sizeof(q)) < 0 || q[0] == '\0')
		return 0;
	errno = 0;
	long long v = strtoll(q, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return api_refuse(r, AP_EINVAL, 400, "%s must be a whole number from 0 to %lld",
				  name, (long long)max);
	*ret = v;
	return 0;
}

int api_fleet_page(struct req *r, size_t def, size_t max, int64_t *ret_after, size_t *ret_limit)
{
	int64_t after = 0, limit = (int64_t)def;
	int rc = query_num(r, "after", INT64_MAX, &after);
	if (rc == 0)
		rc = query_num(r, "limit", (int64_t)max, &limit);
	if (rc < 0)
		return rc;
	*ret_after = after;
	*ret_limit = limit > 0 ? (size_t)limit : def;
	return 0;
}

int api_fleet_flag(const struct req *r, const char *name)
{
	char q[8];
	if (api_query(r, name, q, sizeof(q)) < 0)
		return 0;
	return strcmp(q, "1") == 0 || strcmp(q, "true") == 0 || strcmp(q, "yes") == 0;
}

int api_fleet_query_day(struct req *r, const char *name, int64_t *ret)
{
	char q[32];
	if (api_query(r, name, q, sizeof(q)) < 0 || q[0] == '\0') {
		*ret = 0;
		return 0;
	}
	if (isodate_parse_day(q, ret) < 0)
		return api_refuse(r, AP_EINVAL, 400,
				  "%s: '%s' is not a date DD/MM/YYYY or YYYY-MM-DD", name, q);
	return 0;
}

int api_fleet_jstr(struct ap_buf *b, const char *s, int empty_null)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc;
	if (s == NULL || (empty_null && s[0] == '\0'))
		return ap_buf_append(b, "null", 4);
	if ((rc = ap_buf_append(b, "\"", 1)) < 0)
		return rc;
	while (*p) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && (rc = ap_buf_append(b, run, (size_t)(p - run))) < 0)
			return rc;
		if (*p == '\0')
			break;
		unsigned cp = *p;
		size_t k = ap_utf8_char((const char *)p, &cp);
		if (k && ap_text_control(cp)) /* C0, DEL, C1: none raw in an answer */
			rc = ap_buf_printf(b, "\\u%04x", cp);
		else if (k && cp >= 0x80)
			rc = ap_buf_append(b, p, k);
		else if (*p == '"' || *p == '\\')
			rc = ap_buf_printf(b, "\\%c", *p);
		else
			rc = ap_buf_append(b, "\\ufffd", 6);
		if (rc < 0)
			return rc;
		p += k ? k : 1;
	}
	return ap_buf_append(b, "\"", 1);
}

int api_fleet_jtime(struct ap_buf *b, int64_t t)
{
	char s[ISODATE_TIME_LEN + 1];
	if (t == 0)
		return ap_buf_append(b, "null", 4);
	isodate_format_time(t, s);
	return ap_buf_printf(b, "\"%s\"", s);
}

/* {"next": then room for the cursor, overwritten when the list is done */
#define LIST_NEXT_AT  8
#define LIST_NEXT_PAD 20

int api_fleet_list_begin(struct req *r, const char *key)
{
	struct ap_buf *out = &r->resp->body;
	ap_buf_reset(out);
	if (ap_buf_printf(out, "{\"next\":%*s,\"%s\":[\n", LIST_NEXT_PAD, "", key) < 0)
		return AP_ETOOBIG;
	return 0;
}

void api_fleet_list_end(struct req *r, int64_t next)
{
	struct ap_buf *out = &r->resp->body;
	char cur[LIST_NEXT_PAD + 1];
	int n = next ? snprintf(cur, sizeof(cur), "%lld", (long long)next)
		     : snprintf(cur, sizeof(cur), "null");
	if (out->len < LIST_NEXT_AT + LIST_NEXT_PAD || ap_buf_appends(out, "\n]}\n") < 0) {
		api_fail(r, AP_ETOOBIG, 500, "the answer is too large: ask for a smaller page");
		return;
	}
	memcpy(out->data + LIST_NEXT_AT, cur, (size_t)n);
	r->resp->status = 200;
	r->resp->content_type = "application/json";
}

json_t *api_fleet_day(int64_t t)
{
	char s[ISODATE_DAY_LEN + 1];
	if (t == 0)
		return json_null();
	isodate_format_day(t, s);
	return json_string(s);
}

json_t *api_fleet_time(int64_t t)
{
	char s[ISODATE_TIME_LEN + 1];
	if (t == 0)
		return json_null();
	isodate_format_time(t, s);
	return json_string(s);
}

static int csv_body(struct req *r)
{
	const char *ct = ap_http_header(r->http, "content-type");
	if (ct == NULL || strncasecmp(ct, "text/csv", 8) != 0)
		return api_refuse(r, AP_EUNSUPPORTED, 415, "send the file as text/csv (got %s)",
				  ct ? ct : "no Content-Type");
	return 0;
}

static void import_answer(struct req *r, struct import *im, struct api_import *spec, int dry_run,
			  int written)
{
	json_t *rep = import_report(im);
	json_object_set_new(rep, "added", json_integer((json_int_t)spec->added));
	json_object_set_new(rep, "updated", json_integer((json_int_t)spec->updated));
	json_object_set_new(rep, "unchanged", json_integer((json_int_t)spec->unchanged));
	json_object_set_new(rep, "dry_run", json_boolean(dry_run));
	json_object_set_new(rep, "written", json_boolean(written));
	if (dry_run) { /* the preview: what would change, every bad line */
		json_object_set_new(rep, "would_create", json_integer((json_int_t)spec->added));
		json_object_set_new(rep, "would_update", json_integer((json_int_t)spec->updated));
		log_info("import_preview", "id=%s action=%s rows=%zu bad_rows=%zu", r->id,
			 spec->action, im->rows, im->n_errors);
	}
	if (im->n_errors == 0 || dry_run) {
		api_json(r, 200, rep);
		return;
	}
	json_object_set_new(rep, "error",
			    json_pack("{s:s,s:s}", "code", "invalid", "message",
				      im->n_errors == 1 ? "1 bad row: nothing was written"
							: "bad rows: nothing was written"));
	log_info("import_refused", "id=%s action=%s rows=%zu bad_rows=%zu", r->id, spec->action,
		 im->rows, im->n_errors);
	api_json(r, 422, rep);
}

int api_import_counted(struct api_import *spec, int rc, int what)
{
	if (rc < 0)
		return rc;
	if (what == DB_PUT_CREATED)
		spec->added++;
	else if (what == DB_PUT_UNCHANGED)
		spec->unchanged++;
	else
		spec->updated++;
	return 0;
}

void api_fleet_import(struct req *r, struct api_import *spec)
{
	struct import im;
	const char *vals[IMPORT_MAX_COLS];
	char reason[API_REASON_MAX + 2] = ""; /* one byte more: a longer one is refused */
	size_t line;
	int dry_run = api_fleet_flag(r, "dry_run"), rc, written = 0;
	if (csv_body(r) < 0)
		return;
	if (api_query(r, "reason", reason, sizeof(reason)) == 0 &&
	    !ap_text_ok(reason, API_REASON_MAX, 0)) {
		api_fail(r, AP_EINVAL, 400,
			 "reason must be one line of text of at most %d bytes, without control "
			 "characters",
			 API_REASON_MAX);
		return;
	}
	rc = import_begin(&im, r->http->body.data ? r->http->body.data : "", r->http->body.len,
			  spec->cols, spec->n_cols);
	if (rc < 0) {
		api_fail(r, rc, 0, "cannot read the file: %s", ap_strerror(rc));
		goto out;
	}
	if ((rc = api_begin(r)) < 0)
		goto out;
	while (import_next(&im, vals, &line) == 1)
		if ((rc = spec->row(r, &im, vals, line, spec->ctx)) < 0)
			break;
	if (rc < 0) {
		api_rollback(r);
		api_dberr(r, rc, "importing");
		goto out;
	}
	if (im.n_errors || dry_run) {
		api_rollback(r);
	} else {
		json_t *d =
		    json_pack("{s:I,s:I,s:I}", "added", (json_int_t)spec->added, "updated",
			      (json_int_t)spec->updated, "unchanged", (json_int_t)spec->unchanged);
		rc = api_commit(r, spec->action, "", reason, d);
		json_decref(d);
		if (rc < 0)
			goto out;
		written = 1;
	}
	import_answer(r, &im, spec, dry_run, written);
out:
	import_end(&im);
}
