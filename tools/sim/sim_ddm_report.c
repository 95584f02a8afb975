/*
 * sim_ddm_report.c - the status reports of the simulated iPad: full and
 * incremental, on its subscriptions.
 */
#include "sim_ddm.h"
#include "ap_err.h"
#include "sim_device.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_SUBSCRIPTIONS "com.apple.configuration.management.status-subscriptions"
#define DECLS_ITEM	"management.declarations"
#define SAFETY_SYNC_S	(24 * 3600) /* a full report at least this often */

/* ---- the items this tablet knows ---- */

static json_t *i_serial(const struct sim_device *d)
{
	return json_string(d->serial);
}
static json_t *i_udid(const struct sim_device *d)
{
	return json_string(d->udid);
}
static json_t *i_model_family(const struct sim_device *d)
{
	return json_string("iPad");
}
static json_t *i_model(const struct sim_device *d)
{
	return json_string(d->model);
}
static json_t *i_os_family(const struct sim_device *d)
{
	return json_string("iPadOS");
}
static json_t *i_os_version(const struct sim_device *d)
{
	return json_string(d->os_version);
}
static json_t *i_build(const struct sim_device *d)
{
	return json_string(d->build_version);
}
/* iPads answer "unsupported" (Apple's device.power.battery-health.yaml) */
static json_t *i_battery(const struct sim_device *d)
{
	return json_string("unsupported");
}
/* no passcode policy is simulated: compliant when a passcode is set */
static json_t *i_compliant(const struct sim_device *d)
{
	return json_boolean(d->passcode_present);
}
static json_t *i_present(const struct sim_device *d)
{
	return json_boolean(d->passcode_present);
}
static json_t *i_install_state(const struct sim_device *d)
{
	return json_string(sim_install_name(d->ddm.install));
}
static json_t *i_pending(const struct sim_device *d)
{
	return json_pack("{s:s,s:s}", "os-version", d->ddm.pending_os, "build-version",
			 d->ddm.pending_build);
}
static json_t *i_failure(const struct sim_device *d)
{
	if (d->ddm.fail_count == 0)
		return json_pack("{s:I}", "count", (json_int_t)0);
	return json_pack("{s:I,s:s,s:s}", "count", (json_int_t)d->ddm.fail_count, "reason",
			 d->ddm.fail_reason, "timestamp", d->ddm.fail_at);
}
static json_t *i_install_reason(const struct sim_device *d)
{
	if (d->ddm.update_id[0] == '\0')
		return json_pack("{s:[]}", "reason");
	return json_pack("{s:[s],s:s}", "reason", "declaration", "declaration-id",
			 d->ddm.update_id);
}

/* Items by name, with the iOS version that brought them
 * (declarative/status/<name>.yaml). */
static const struct item {
	const char *name, *since;
	json_t *(*value)(const struct sim_device *d);
} items[] = {
    {"device.identifier.serial-number", "15.0", i_serial},
    {"device.identifier.udid", "15.0", i_udid},
    {"device.model.family", "15.0", i_model_family},
    {"device.model.identifier", "15.0", i_model},
    {"device.operating-system.build-version", "15.0", i_build},
    {"device.operating-system.family", "15.0", i_os_family},
    {"device.operating-system.version", "15.0", i_os_version},
    {"device.power.battery-health", "17.0", i_battery},
    {"passcode.is-compliant", "16.0", i_compliant},
    {"passcode.is-present", "16.0", i_present},
    {"softwareupdate.failure-reason", "17.0", i_failure},
    {"softwareupdate.install-reason", "17.0", i_install_reason},
    {"softwareupdate.install-state", "17.0", i_install_state},
    {"softwareupdate.pending-version", "17.0", i_pending},
};

/* management.declarations: {activations, configurations, assets,
 * management}, each an array of {identifier, server-token, active, valid,
 * reasons?} (declarative/status/management.declarations.yaml). */
static json_t *declarations_value(const struct sim_device *d)
{
	static const char *const keys[AP_DDM_KIND__COUNT] = {
	    [AP_DDM_ACTIVATION] = "activations",
	    [AP_DDM_CONFIGURATION] = "configurations",
	    [AP_DDM_ASSET] = "assets",
	    [AP_DDM_MANAGEMENT] = "management",
	};
	json_t *o = json_object();

	for (int k = 0; k < AP_DDM_KIND__COUNT; k++)
		json_object_set_new(o, keys[k], json_array());
	for (size_t i = 0; i < d->ddm.n_decls; i++) {
		const struct sim_decl *x = &d->ddm.decls[i];
		json_t *e = json_pack("{s:s,s:s,s:b,s:s}", "identifier", x->identifier,
				      "server-token", x->server_token, "active", x->active, "valid",
				      x->valid ? "valid" : "invalid");
		json_t *r = x->reasons ? json_loads(x->reasons, 0, NULL) : NULL;
		if (r)
			json_object_set_new(e, "reasons", r);
		json_array_append_new(json_object_get(o, keys[x->kind]), e);
	}
	return o;
}

/* The names the active status-subscriptions configurations list. */
static int subscribed(const struct sim_device *d, const char *name)
{
	for (size_t i = 0; i < d->ddm.n_decls; i++) {
		const struct sim_decl *x = &d->ddm.decls[i];
		if (!x->active || strcmp(x->type, T_SUBSCRIPTIONS) != 0)
			continue;
		json_t *p = json_loads(x->payload, 0, NULL), *it;
		size_t k;
		int found = 0;
		json_array_foreach(json_object_get(p, "StatusItems"), k, it)
		{
			const char *n = json_string_value(json_object_get(it, "Name"));
			found |= n && strcmp(n, name) == 0;
		}
		json_decref(p);
		if (found)
			return 1;
	}
	return 0;
}

/* {name: value} of everything the tablet reports now. */
static json_t *current_items(const struct sim_device *d)
{
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (sim_ddm_version_cmp(d->os_version, items[i].since) >= 0 &&
		    subscribed(d, items[i].name))
			json_object_set_new(o, items[i].name, items[i].value(d));
	json_object_set_new(o, DECLS_ITEM, declarations_value(d));
	return o;
}

/* ---- incremental reports ---- */

static json_t *by_identifier(json_t *a, const char *identifier)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "identifier"));
		if (id && strcmp(id, identifier) == 0)
			return e;
	}
	return NULL;
}

/* The entries of now that differ from before's, then before's that are
 * gone, marked "_removed". */
static json_t *array_delta(json_t *before, json_t *now, int *ret_changed)
{
	json_t *out = json_array(), *e;
	size_t i;

	json_array_foreach(now, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "identifier"));
		json_t *old = id ? by_identifier(before, id) : NULL;
		if (old == NULL || !json_equal(old, e))
			json_array_append(out, e);
	}
	json_array_foreach(before, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "identifier"));
		if (id && by_identifier(now, id) == NULL) {
			json_t *gone = json_deep_copy(e);
			json_object_set_new(gone, "_removed", json_true());
			json_array_append_new(out, gone);
		}
	}
	*ret_changed |= json_array_size(out) > 0;
	return out;
}

static json_t *declarations_delta(json_t *before, json_t *now)
{
	json_t *out = json_object(), *a;
	const char *key;
	int changed = 0;

	json_object_foreach(now, key, a)
	    json_object_set_new(out, key, array_delta(json_object_get(before, key), a, &changed));
	if (!changed) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* {name: value} of what changed since before. */
static json_t *delta(json_t *before, json_t *now)
{
	json_t *out = json_object(), *v;
	const char *name;

	json_object_foreach(now, name, v)
	{
		json_t *old = json_object_get(before, name);
		if (strcmp(name, DECLS_ITEM) == 0) {
			json_t *d = declarations_delta(old, v);
			if (d)
				json_object_set_new(out, name, d);
		} else if (old == NULL || !json_equal(old, v)) {
			json_object_set(out, name, v);
		}
	}
	return out;
}

/* {"a.b.c": v} -> {"a": {"b": {"c": v}}}. */
static json_t *nest(json_t *flat)
{
	json_t *root = json_object(), *v;
	const char *name;

	json_object_foreach(flat, name, v)
	{
		json_t *at = root;
		char part[AP_DDM_NAME_MAX + 1];
		const char *p = name;
		for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
			snprintf(part, sizeof(part), "%.*s", (int)(dot - p), p);
			json_t *next = json_object_get(at, part);
			if (next == NULL) {
				next = json_object();
				json_object_set_new(at, part, next);
			}
			at = next;
		}
		json_object_set(at, p, v);
	}
	return root;
}

int sim_ddm_report(struct sim_device *d, const struct sim_clock *now, int force_full,
		   char **ret_json, size_t *ret_len)
{
	json_t *before = d->ddm.reported ? json_loads(d->ddm.reported, 0, NULL) : NULL;
	json_t *cur = current_items(d);
	int full = force_full || before == NULL || now->t - d->ddm.full_at >= SAFETY_SYNC_S;
	json_t *send = full ? json_incref(cur) : delta(before, cur);
	char *text = NULL, *snap = NULL;
	int rc = 0;

	json_decref(before);
	if (json_object_size(send) > 0) {
		json_t *doc = json_pack("{s:o,s:[]}", "StatusItems", nest(send), "Errors");
		/* FullReport came with iOS 17 */
		if (sim_ddm_version_cmp(d->os_version, "17.0") >= 0)
			json_object_set_new(doc, "FullReport", json_boolean(full));
		text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(doc);
		snap = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
		rc = text && snap ? 0 : AP_ENOMEM;
	}
	json_decref(send);
	json_decref(cur);
	if (rc < 0) {
		free(text);
		free(snap);
		return rc;
	}
	free(d->ddm.next);
	d->ddm.next = snap;
	d->ddm.next_full = full;
	*ret_json = text;
	if (ret_len)
		*ret_len = text ? strlen(text) : 0;
	return 0;
}

void sim_ddm_report_taken(struct sim_device *d, const struct sim_clock *now)
{
	if (d->ddm.next == NULL)
		return;
	free(d->ddm.reported);
	d->ddm.reported = d->ddm.next;
	d->ddm.next = NULL;
	if (d->ddm.next_full)
		d->ddm.full_at = now->t;
	d->dirty = 1;
}
