/* cmdq.c - build, seal, store and push a tablet's command; result hooks. */
#include "cmdq.h"
#include "metrics.h"
#include "ap_err.h"
#include "ap_uuid.h"
#include "db_command.h"
#include "push.h"
#include "secret.h"
#include "worker.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY	  86400
#define HOOKS_MAX 32

static struct hook {
	enum ap_cmd_type type;
	cmdq_hook_fn fn;
} hooks[HOOKS_MAX];
static size_t n_hooks;

/* After an enqueue: hands out the uuid and wakes the tablet.  Every way of
 * queueing a command ends here, so none forgets the push. */
static int queued(struct worker *w, int64_t device_id, int rc, const char uuid[37],
		  char ret_uuid[37])
{
	if (rc < 0)
		return rc;
	memcpy(ret_uuid, uuid, 37);
	if (w->srv->push)
		push_notify(w, device_id); /* never waits: a hand-off to the push thread */
	return 0;
}

/* When a command queued now expires ([mdm] command_expiry_days). */
static int64_t expiry(const struct worker *w)
{
	return db_now() + w->srv->cfg.command_expiry_days * DAY;
}

/* Stores command xml (uuid) of the order: its secret parameters sealed
 * apart (secret.h), in one transaction with the command. */
static int enqueue(struct worker *w, const struct cmd_order *o, const char *uuid, const char *xml,
		   size_t len)
{
	const struct config *c = &w->srv->cfg;
	int64_t expires = expiry(w);
	const char *type = ap_cmd_name(o->type), *dedupe = o->dedupe ? o->dedupe : "";
	char *pub = NULL;
	unsigned char *sealed = NULL;
	size_t plen = 0, slen = 0;
	int rc = secret_split(w->srv->ks, o->device_id, uuid, type, xml, len, &pub, &plen, &sealed,
			      &slen);
	if (rc < 0)
		return rc;
	if (sealed == NULL) /* nothing secret: the command as it is */
		return db_cmd_enqueue(w->db, o->device_id, type, dedupe, uuid, xml, len, o->origin,
				      o->requested_by, expires, c->queue_max, NULL);
	if ((rc = db_begin(w->db)) == 0) {
		rc = db_cmd_enqueue(w->db, o->device_id, type, dedupe, uuid, pub, plen, o->origin,
				    o->requested_by, expires, c->queue_max, NULL);
		if (rc == 0)
			rc = db_cmd_set_sealed(w->db, uuid, sealed, slen);
		if (rc == 0)
			rc = db_commit(w->db);
		else if (rc == AP_ECONFLICT || rc == AP_ELIMIT)
			db_commit(
			    w->db); /* a refusal wrote nothing: keep an enclosing transaction */
		else
			db_rollback(w->db);
	}
	free(pub);
	free(sealed);
	return rc;
}

/* The command of a type-and-params order, built and stored. */
static int queue_built(struct worker *w, const struct cmd_order *o, const char *uuid, char *detail,
		       size_t detail_cap)
{
	char *xml = NULL;
	size_t len = 0;
	int rc = ap_cmd_build(o->type, uuid, o->params, &xml, &len, detail, detail_cap);
	if (rc < 0)
		return rc;
	rc = enqueue(w, o, uuid, xml, len);
	free(xml);
	return rc;
}

/* The command of a template order: a copy with uuid in place, stored. */
static int queue_template(struct worker *w, const struct cmd_order *o, const char *uuid)
{
	const struct cmdq_template *t = o->tpl;
	if (t->uuid_at + AP_UUID_LEN > t->len ||
	    memcmp(t->xml + t->uuid_at, CMDQ_TEMPLATE_UUID, AP_UUID_LEN) != 0)
		return AP_EINVAL;
	char *copy = malloc(t->len + 1);
	if (copy == NULL)
		return AP_ENOMEM;
	memcpy(copy, t->xml, t->len);
	copy[t->len] = '\0';
	memcpy(copy + t->uuid_at, uuid, AP_UUID_LEN);
	int rc = enqueue(w, o, uuid, copy, t->len);
	free(copy);
	return rc;
}

/* An InstallProfile by reference to its blob: stored as the reference. */
static int queue_blob(struct worker *w, const struct cmd_order *o, const char *uuid)
{
	const struct config *c = &w->srv->cfg;
	return db_cmd_enqueue_ref(w->db, o->device_id, ap_cmd_name(AP_CMD_INSTALL_PROFILE),
				  o->dedupe ? o->dedupe : "", uuid, o->blob_hash, o->origin,
				  o->requested_by, expiry(w), c->queue_max, NULL);
}

int cmdq_queue(struct worker *w, const struct cmd_order *o, char ret_uuid[37], char *detail,
	       size_t detail_cap)
{
	const struct config *c = &w->srv->cfg;
	char uuid[37], local[160];
	int rc;
	if (detail == NULL) {
		detail = local;
		detail_cap = sizeof(local);
	}
	detail[0] = '\0';
	ap_uuid_random(uuid);
	if (o->blob_hash) {
		rc = queue_blob(w, o, uuid);
		if (rc == 0)
			metrics_command_type(METRICS_CMD_QUEUED, AP_CMD_INSTALL_PROFILE);
		return queued(w, o->device_id, rc, uuid, ret_uuid);
	}
	if (o->tpl) {
		rc = queue_template(w, o, uuid);
		if (rc == 0)
			metrics_command_type(METRICS_CMD_QUEUED, o->type);
		return queued(w, o->device_id, rc, uuid, ret_uuid);
	}
	rc = queue_built(w, o, uuid, detail, detail_cap);
	if (rc == 0)
		metrics_command_type(METRICS_CMD_QUEUED, o->type);
	if (rc == AP_ECONFLICT)
		snprintf(detail, detail_cap, "a %s is already pending for this device",
			 ap_cmd_name(o->type));
	else if (rc == AP_ELIMIT)
		snprintf(detail, detail_cap, "the device's queue is full (%lld commands pending)",
			 (long long)c->queue_max);
	return queued(w, o->device_id, rc, uuid, ret_uuid);
}

int cmdq_template_build(enum ap_cmd_type t, plist_t params, struct cmdq_template *ret)
{
	char *xml = NULL;
	size_t len = 0;
	int rc = ap_cmd_build(t, CMDQ_TEMPLATE_UUID, params, &xml, &len, NULL, 0);
	if (rc < 0)
		return rc;
	const char *at = memmem(xml, len, CMDQ_TEMPLATE_UUID, AP_UUID_LEN);
	if (at == NULL) {
		free(xml);
		return AP_EINTERNAL;
	}
	ret->xml = xml;
	ret->len = len;
	ret->uuid_at = (size_t)(at - xml);
	return 0;
}

int cmdq_on_result(enum ap_cmd_type t, cmdq_hook_fn fn)
{
	for (size_t i = 0; i < n_hooks; i++)
		if (hooks[i].type == t && hooks[i].fn == fn)
			return 0;
	if (n_hooks == HOOKS_MAX)
		return AP_ELIMIT;
	hooks[n_hooks++] = (struct hook){t, fn};
	return 0;
}

int cmdq_result(struct worker *w, const struct cmdq_result *res)
{
	enum ap_cmd_type t;
	if (ap_cmd_from_name(res->cmd->type, &t) < 0)
		return 0;
	for (size_t i = 0; i < n_hooks; i++) {
		if (hooks[i].type != t)
			continue;
		int rc = hooks[i].fn(w, res);
		if (rc < 0)
			return rc;
	}
	return 0;
}
