/* ade_configure.c - DeviceConfigured for a tablet enrolled through ADE. */
#include "ade_configure.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "cmdq.h"
#include "db_ade_enrol.h"
#include "db_audit.h"
#include "db_command.h"
#include "db_mdm.h"
#include "log.h"
#include "reconcile.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define ORIGIN	     "ade"
#define DEDUPE	     "ade-configured"
#define JOB_BATCH    1000 /* tablets awaiting looked at per run */
#define WHY_SETTLED  "its configuration is installed"
#define WHY_RELEASED "released unconfigured: nothing moved for [ade] await_release_minutes"

/* Queues DeviceConfigured for device_id; why goes to the log. */
static int queue_configured(struct worker *w, int64_t device_id, const char *why)
{
	char uuid[37], detail[160];
	struct cmd_order o = {.device_id = device_id,
			      .type = AP_CMD_DEVICE_CONFIGURED,
			      .dedupe = DEDUPE,
			      .origin = ORIGIN,
			      .requested_by = "system"};
	int rc = cmdq_queue(w, &o, uuid, detail, sizeof(detail));
	if (rc == AP_ECONFLICT)
		return 0; /* already pending */
	if (rc < 0) {
		log_warn("ade_configured_not_queued", "device=%lld error=\"%s\"",
			 (long long)device_id, ap_strerror(rc));
		return rc == AP_ELIMIT ? 0 : rc;
	}
	log_info("ade_configured_queued", "device=%lld command=%s why=\"%s\"", (long long)device_id,
		 uuid, why);
	return 0;
}

/* 1 when the tablet has nothing left before DeviceConfigured. */
static int ready(struct worker *w, int64_t device_id)
{
	int64_t pending = 0;
	int rc = db_ade_enrol_pending(w->db, device_id, &pending);
	if (rc < 0)
		return rc;
	return pending > 0 ? 0 : reconcile_settled(w, device_id);
}

/* The acknowledgement: configured, released, audited. */
static int configured(struct worker *w, const struct cmdq_result *res)
{
	const struct db_device *d = res->device;
	int rc = db_ade_enrol_configured(w->db, d->id);
	if (rc == 0)
		rc = db_audit_append(w->db, "system", "device.configured",
				     d->serial[0] ? d->serial : d->udid,
				     "DeviceConfigured acknowledged: Setup Assistant goes on", "");
	return rc;
}

/* A tablet released without its plan settled: the audit row says why. */
static int released(struct worker *w, int64_t device_id, int64_t idle_s)
{
	struct db_device d;
	char detail[80];
	int rc = db_mdm_by_id(w->db, device_id, &d);
	if (rc < 0)
		return rc;
	log_warn("ade_configure_stuck", "device=%lld idle_s=%lld", (long long)device_id,
		 (long long)idle_s);
	snprintf(detail, sizeof(detail), "{\"idle_seconds\":%lld}", (long long)idle_s);
	rc = db_audit_append(w->db, "system", "device.configure_released",
			     d.serial[0] ? d.serial : d.udid, WHY_RELEASED, detail);
	return rc < 0 ? rc : queue_configured(w, device_id, WHY_RELEASED);
}

int ade_configure_on_result(struct worker *w, const struct cmdq_result *res)
{
	int awaiting = 0, configuring = 0;
	if (strcmp(res->cmd->type, "DeviceConfigured") == 0)
		return configured(w, res);
	int rc = db_ade_enrol_state(w->db, res->device->id, &awaiting, &configuring);
	if (rc < 0 || !awaiting || configuring)
		return rc == AP_ENOTFOUND ? 0 : rc;
	if ((rc = ready(w, res->device->id)) <= 0)
		return rc;
	return queue_configured(w, res->device->id, WHY_SETTLED);
}

struct sweep {
	struct worker *w;
	int64_t now, limit_s;
	int rc;
};

static int sweep_one(const struct db_ade_awaiting *a, void *arg)
{
	struct sweep *s = arg;
	if (a->configuring)
		return 0;
	int rc = ready(s->w, a->device_id);
	if (rc == 1)
		rc = queue_configured(s->w, a->device_id, WHY_SETTLED);
	else if (rc == 0 && s->now - a->moved_at >= s->limit_s)
		rc = released(s->w, a->device_id, s->now - a->moved_at);
	if (rc < 0 && rc != AP_ENOTFOUND) {
		s->rc = rc;
		return 1;
	}
	return 0;
}

int ade_configure_job(struct worker *w)
{
	struct sweep s = {w, db_now(), w->srv->cfg.ade_await_release_minutes * 60, 0};
	int rc = db_begin(w->db);
	if (rc < 0)
		return rc;
	rc = db_ade_enrol_awaiting(w->db, JOB_BATCH, sweep_one, &s);
	if (rc >= 0 && s.rc < 0)
		rc = s.rc;
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	return db_commit(w->db);
}
