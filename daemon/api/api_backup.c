/*
 * api_backup.c - GET /api/v1/backup (technicians): the database copied
 * and encrypted to [backup] recipient on a work thread (backup.h), then
 * streamed from an unnamed file of the data directory as the client reads
 * it (req.h's struct req_later), never held whole in memory.  Its audit row
 * (backup.take: size and the snapshot's point) is written before a byte
 * is sent.
 */
#include "ap_err.h"
#include "api.h"
#include "api_routes.h"
#include "authz.h"
#include "backup.h"
#include "log.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct take {
	uv_work_t work;
	struct req_later *later;
	struct worker *w;
	struct db_account acct;
	int has_acct;
	char rid[40];
	char peer[64];
	int fd;
	int rc;
	char err[400];
	struct backup_result res;
};

static void take_work(uv_work_t *q)
{
	struct take *t = q->data;
	t->rc = backup_take(t->w->srv, t->fd, &t->res, t->err, sizeof(t->err));
}

/* The audit row, then the file; or the error. */
static void take_done(uv_work_t *q, int status)
{
	struct take *t = q->data;
	struct ap_http_resp resp;
	struct req r;
	char esc[500], point[200];
	if (t->later == NULL) { /* answered already (out of memory) */
		close(t->fd);
		free(t);
		return;
	}
	memset(&r, 0, sizeof(r));
	ap_http_resp_init(&resp, 1u << 16);
	r.w = t->w;
	r.resp = &resp;
	r.id = t->rid;
	r.peer = t->peer;
	r.route = "/api/v1/backup";
	r.acct = t->acct;
	r.has_acct = t->has_acct;
	if (status < 0 || t->rc < 0) {
		log_error("backup_failed", "id=%s error=%s", t->rid,
			  log_esc(status < 0 ? uv_strerror(status) : t->err, esc, sizeof(esc)));
		api_fail(&r, t->rc < 0 ? t->rc : AP_EINTERNAL, 500, "the backup failed: %s",
			 status < 0 ? uv_strerror(status) : t->err);
	} else if (api_record(&r, "backup.take", "database", NULL,
			      json_pack("{s:I,s:s,s:I,s:s,s:I,s:I}", "bytes",
					(json_int_t)t->res.bytes, "sha256", t->res.sha256,
					"audit_last_id", (json_int_t)t->res.info.audit_last_id,
					"audit_hash", t->res.info.audit_hash, "at",
					(json_int_t)t->res.info.at, "tablets",
					(json_int_t)t->res.info.devices)) == 0) {
		resp.status = 200;
		resp.content_type = "application/pkcs7-mime";
		snprintf(point, sizeof(point), "audit_last_id=%lld; at=%lld; hash=%s",
			 (long long)t->res.info.audit_last_id, (long long)t->res.info.at,
			 t->res.info.audit_hash);
		ap_http_resp_add_header(&resp, "X-Ardoise-Backup-Point", point);
		ap_http_resp_add_header(&resp, "X-Ardoise-Backup-Sha256", t->res.sha256);
		log_info("backup_taken", "id=%s bytes=%llu audit_last_id=%lld", t->rid,
			 (unsigned long long)t->res.bytes, (long long)t->res.info.audit_last_id);
		t->later->answer(t->later, &resp, t->fd, t->res.bytes);
		t->fd = -1;
	}
	if (t->fd >= 0) {
		close(t->fd);
		t->later->answer(t->later, &resp, -1, 0);
	}
	ap_http_resp_free(&resp);
	free(t);
}

/* GET /api/v1/backup */
static void backup_get(struct req *r)
{
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (strcmp(r->http->method, "HEAD") == 0) {
		api_refuse(r, AP_EUNSUPPORTED, 405, "HEAD takes no backup: send GET");
		return;
	}
	if (r->w->srv->cfg.backup_recipient[0] == '\0') {
		api_refuse(r, AP_ECONFIG, 409,
			   "no [backup] recipient is configured: backups are encrypted to the "
			   "operator's certificate, never taken in clear");
		return;
	}
	struct take *t = calloc(1, sizeof(*t));
	if (t == NULL || backup_tmpfile(r->w->srv, &t->fd) < 0) {
		free(t);
		api_fail(r, AP_EIO, 500, "cannot make the backup's temporary file");
		return;
	}
	t->work.data = t;
	t->w = r->w;
	t->acct = r->acct;
	t->has_acct = r->has_acct;
	snprintf(t->rid, sizeof(t->rid), "%s", r->id);
	snprintf(t->peer, sizeof(t->peer), "%s", r->peer);
	/* the after-callback runs on this loop, after this handler: the
	 * later is taken in time */
	if (uv_queue_work(&r->w->loop, &t->work, take_work, take_done) < 0) {
		close(t->fd);
		free(t);
		api_fail(r, AP_EIO, 503, "no work thread for the backup");
		return;
	}
	if ((t->later = r->later(r)) == NULL)
		api_fail(r, AP_ENOMEM, 503, "out of memory"); /* the copy is then thrown away */
}

const struct route api_backup_routes[] = {
    {"GET", "/api/v1/backup", AUTH_STAFF, backup_get},
    {NULL, NULL, AUTH_NONE, NULL},
};
