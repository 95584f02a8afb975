/*
 * sim_ddm.c - the simulated iPad's DDM side: the DeclarativeManagement
 * command, the synchronisation steps, what it applies and the software
 * update.  The status reports are in sim_ddm_report.c, what it keeps (and
 * the clock, versions) in sim_ddm_state.c.
 */
#include "sim_ddm.h"
#include "ap_err.h"
#include "sim_device.h"
#include "sim_plist.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_ENFORCEMENT	"com.apple.configuration.softwareupdate.enforcement.specific"
#define T_SUBSCRIPTIONS "com.apple.configuration.management.status-subscriptions"
#define T_SIMPLE	"com.apple.activation.simple"

void sim_ddm_drop(struct sim_device *dev, const char *identifier)
{
	dev->dirty |= sim_ddm_remove(&dev->ddm, identifier);
}

/* ---- the synchronisation ---- */

int sim_ddm_command(struct sim_device *dev, const void *data, size_t len)
{
	char token[AP_DDM_DTOKEN_MAX + 1] = "";

	if (data && len) {
		int rc = ap_ddm_tokens_parse(data, len, token, NULL, 0);
		if (rc < 0)
			return rc;
	}
	dev->dirty |= !dev->ddm.enabled;
	dev->ddm.enabled = 1;
	dev->ddm.sync = 1;
	snprintf(dev->ddm.hint, sizeof(dev->ddm.hint), "%s", token);
	return 0;
}

int sim_ddm_checkin(const struct sim_device *d, const char *endpoint, const void *data, size_t len,
		    char **ret_xml, size_t *ret_len)
{
	plist_t m = plist_new_dict();

	if (m == NULL)
		return AP_ENOMEM;
	sim_plist_set_str(m, "MessageType", "DeclarativeManagement");
	sim_plist_set_str(m, "Endpoint", endpoint);
	sim_plist_set_str(m, "UDID", d->udid);
	if (data)
		sim_plist_set_data(m, "Data", data, len);
	return sim_plist_to_xml(m, ret_xml, ret_len);
}

static int token_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return 0;
	return n >= 1 && n <= max;
}

/* One manifest entry. */
struct entry {
	enum ap_ddm_kind kind;
	const char *identifier, *server_token; /* borrowed from the JSON */
};

static const char *const groups[AP_DDM_KIND__COUNT] = {
    [AP_DDM_ACTIVATION] = "Activations",
    [AP_DDM_CONFIGURATION] = "Configurations",
    [AP_DDM_ASSET] = "Assets",
    [AP_DDM_MANAGEMENT] = "Management",
};

/* The entries of the manifest's Declarations object (each checked). */
static int manifest_entries(json_t *decls, struct entry *out, size_t *ret_n)
{
	size_t n = 0;

	for (int k = 0; k < AP_DDM_KIND__COUNT; k++) {
		json_t *a = json_object_get(decls, groups[k]), *it;
		size_t i;
		if (a == NULL)
			continue;
		if (!json_is_array(a))
			return AP_ETYPE;
		json_array_foreach(a, i, it)
		{
			const char *id = json_string_value(json_object_get(it, "Identifier"));
			const char *tok = json_string_value(json_object_get(it, "ServerToken"));
			if (!json_is_object(it) || id == NULL || tok == NULL)
				return AP_EMISSING;
			if (!ap_ddm_identifier_ok(id) || !token_ok(tok, AP_DDM_ID_MAX))
				return AP_EINVAL;
			if (n == SIM_DDM_MAX_DECLS)
				return AP_ELIMIT;
			for (size_t j = 0; j < n; j++)
				if (strcmp(out[j].identifier, id) == 0)
					return AP_EINVAL;
			out[n++] = (struct entry){(enum ap_ddm_kind)k, id, tok};
		}
	}
	*ret_n = n;
	return 0;
}

/* What to fetch: entries new or changed. */
static int fetch_list(struct sim_ddm *d, const struct entry *e, size_t n,
		      struct sim_ddm_fetch **ret, size_t *ret_n)
{
	struct sim_ddm_fetch *f = calloc(n ? n : 1, sizeof(*f));
	size_t k = 0;

	if (f == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sim_decl *x = sim_ddm_find(d, e[i].identifier);
		if (x && x->kind == e[i].kind && strcmp(x->server_token, e[i].server_token) == 0)
			continue;
		f[k].kind = e[i].kind;
		snprintf(f[k].endpoint, sizeof(f[k].endpoint), "declaration/%s/%s",
			 ap_ddm_kind_name(e[i].kind), e[i].identifier);
		snprintf(f[k].identifier, sizeof(f[k].identifier), "%s", e[i].identifier);
		k++;
	}
	if (k == 0) {
		free(f);
		f = NULL;
	}
	*ret = f;
	*ret_n = k;
	return 0;
}

int sim_ddm_manifest(struct sim_device *dev, const char *json, size_t len,
		     struct sim_ddm_fetch **ret, size_t *ret_n,
		     char ret_token[AP_DDM_DTOKEN_MAX + 1])
{
	struct entry *e = calloc(SIM_DDM_MAX_DECLS, sizeof(*e));
	size_t n = 0;
	int rc = e ? 0 : AP_ENOMEM;
	json_t *root = NULL;

	if (rc == 0 && len > AP_DDM_MAX_BYTES)
		rc = AP_ETOOBIG;
	if (rc == 0 && (root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		rc = AP_EPARSE;
	json_t *decls = root ? json_object_get(root, "Declarations") : NULL;
	const char *token =
	    root ? json_string_value(json_object_get(root, "DeclarationsToken")) : NULL;
	if (rc == 0 && (decls == NULL || token == NULL))
		rc = json_is_object(root) ? AP_EMISSING : AP_ETYPE;
	if (rc == 0 && !json_is_object(decls))
		rc = AP_ETYPE;
	if (rc == 0 && !token_ok(token, AP_DDM_DTOKEN_MAX))
		rc = AP_EINVAL;
	if (rc == 0)
		rc = manifest_entries(decls, e, &n);
	if (rc == 0)
		rc = fetch_list(&dev->ddm, e, n, ret, ret_n);
	if (rc == 0) {
		snprintf(ret_token, AP_DDM_DTOKEN_MAX + 1, "%s", token);
		/* what the manifest no longer lists goes away */
		for (size_t i = dev->ddm.n_decls; i-- > 0;) {
			size_t j = 0;
			while (j < n && strcmp(e[j].identifier, dev->ddm.decls[i].identifier) != 0)
				j++;
			if (j == n)
				sim_ddm_drop(dev, dev->ddm.decls[i].identifier);
		}
	}
	json_decref(root);
	free(e);
	return rc;
}

int sim_ddm_put(struct sim_device *dev, enum ap_ddm_kind want, const char *identifier,
		const char *json, size_t len)
{
	json_t *root = NULL;
	enum ap_ddm_kind kind;
	char *payload = NULL;
	int rc = 0;

	if (len > AP_DDM_MAX_BYTES)
		return AP_ETOOBIG;
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return AP_EPARSE;
	const char *type = json_string_value(json_object_get(root, "Type"));
	const char *id = json_string_value(json_object_get(root, "Identifier"));
	const char *tok = json_string_value(json_object_get(root, "ServerToken"));
	json_t *p = json_object_get(root, "Payload");
	if (!json_is_object(root))
		rc = AP_ETYPE;
	else if (!type || !id || !tok || !p)
		rc = AP_EMISSING;
	else if (!json_is_object(p))
		rc = AP_ETYPE;
	else if (strcmp(id, identifier) != 0 || ap_ddm_kind_of_type(type, &kind) < 0 ||
		 kind != want || !token_ok(tok, AP_DDM_ID_MAX) || strlen(type) > AP_DDM_TYPE_MAX)
		rc = AP_EINVAL;
	else if ((payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		rc = AP_ENOMEM;
	if (rc == 0 && (rc = sim_ddm_store(&dev->ddm, kind, id, type, tok, payload)) == 0)
		dev->dirty = 1;
	free(payload);
	json_decref(root);
	return rc;
}

void sim_ddm_synced(struct sim_device *dev, const char *token)
{
	dev->dirty |= strcmp(dev->ddm.token, token) != 0;
	snprintf(dev->ddm.token, sizeof(dev->ddm.token), "%s", token);
	dev->ddm.enabled = 1;
}

/* ---- applying ---- */

/* Sets x's reasons to [{code, details: {Identifier, ServerToken, extra}}]. */
static void set_reason(struct sim_decl *x, const char *code, const char *key, json_t *value)
{
	json_t *details =
	    json_pack("{s:s,s:s}", "Identifier", x->identifier, "ServerToken", x->server_token);
	if (key)
		json_object_set_new(details, key, value);
	json_t *a = json_pack("[{s:s,s:o}]", "code", code, "details", details);
	free(x->reasons);
	x->reasons = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(a);
}

static void invalid(struct sim_decl *x, const char *code)
{
	x->valid = 0;
	x->active = 0;
	set_reason(x, code, NULL, NULL);
}

/* Whether the payload of an enforcement has what the tablet needs. */
static int enforcement_ok(json_t *p)
{
	const char *v = json_string_value(json_object_get(p, "TargetOSVersion"));
	const char *at = json_string_value(json_object_get(p, "TargetLocalDateTime"));
	json_t *b = json_object_get(p, "TargetBuildVersion");

	return sim_ddm_version_ok(v) && at && strlen(at) == 19 && sim_clock_local_ok(at) &&
	       (b == NULL || (json_is_string(b) && json_string_length(b) < 16));
}

static int subscriptions_ok(json_t *p)
{
	json_t *a = json_object_get(p, "StatusItems"), *it;
	size_t i;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, it) if (!json_is_string(json_object_get(it, "Name"))) return 0;
	return 1;
}

static int activation_ok(json_t *p)
{
	json_t *a = json_object_get(p, "StandardConfigurations"), *it;
	size_t i;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, it) if (!json_is_string(it)) return 0;
	return 1;
}

/* Validity of one declaration from its Type and Payload. */
static void validate(const struct sim_device *dev, struct sim_decl *x)
{
	json_t *p = json_loads(x->payload, 0, NULL);

	free(x->reasons);
	x->reasons = NULL;
	x->valid = 1;
	x->active = x->kind == AP_DDM_MANAGEMENT; /* management needs no activation */
	/* the other configurations, assets and management declarations are
	 * taken as applied: the simulator has nothing behind them */
	if (x->kind == AP_DDM_ACTIVATION && strcmp(x->type, T_SIMPLE) != 0)
		invalid(x, "Error.ConfigurationNotSupported");
	else if (x->kind == AP_DDM_ACTIVATION && !activation_ok(p))
		invalid(x, "Error.InvalidPayload");
	else if (strcmp(x->type, T_ENFORCEMENT) == 0 &&
		 sim_ddm_version_cmp(dev->os_version, "17.0") < 0)
		invalid(x, "Error.ConfigurationNotSupported");
	else if (strcmp(x->type, T_ENFORCEMENT) == 0 && !enforcement_ok(p))
		invalid(x, "Error.ConfigurationCannotBeDeserialized");
	else if (strcmp(x->type, T_SUBSCRIPTIONS) == 0 && !subscriptions_ok(p))
		invalid(x, "Error.ConfigurationCannotBeDeserialized");
	json_decref(p);
}

/* An active activation: its configurations become active; those it names
 * that the tablet does not have are its reason. */
static void activate(struct sim_ddm *d, struct sim_decl *act)
{
	json_t *p = json_loads(act->payload, 0, NULL), *it, *missing = json_array();
	size_t i;

	act->active = 1;
	json_array_foreach(json_object_get(p, "StandardConfigurations"), i, it)
	{
		struct sim_decl *c = sim_ddm_find(d, json_string_value(it));
		if (c == NULL || c->kind != AP_DDM_CONFIGURATION)
			json_array_append(missing, it);
		else if (c->valid)
			c->active = 1;
	}
	if (json_array_size(missing))
		set_reason(act, "Error.MissingConfigurations", "ConfigurationIdentifiers",
			   json_incref(missing));
	json_decref(missing);
	json_decref(p);
}

/* Assets are active when an active configuration names them. */
static int asset_referenced(const struct sim_ddm *d, const char *identifier)
{
	char quoted[AP_DDM_ID_MAX + 3];

	snprintf(quoted, sizeof(quoted), "\"%s\"", identifier);
	for (size_t i = 0; i < d->n_decls; i++)
		if (d->decls[i].kind == AP_DDM_CONFIGURATION && d->decls[i].active &&
		    strstr(d->decls[i].payload, quoted))
			return 1;
	return 0;
}

static void activation_pass(struct sim_ddm *d)
{
	for (size_t i = 0; i < d->n_decls; i++)
		if (d->decls[i].kind == AP_DDM_ACTIVATION && d->decls[i].valid)
			activate(d, &d->decls[i]);
	for (size_t i = 0; i < d->n_decls; i++) {
		struct sim_decl *x = &d->decls[i];
		if (!x->valid || x->active)
			continue;
		if (x->kind == AP_DDM_CONFIGURATION)
			set_reason(x, "Info.NotReferencedByActivation", NULL, NULL);
		else if (x->kind == AP_DDM_ASSET &&
			 !(x->active = asset_referenced(d, x->identifier)))
			set_reason(x, "Info.NotReferencedByConfiguration", NULL, NULL);
	}
}

/* ---- the software update ---- */

struct target {
	const char *id;
	char version[16], build[16], deadline[20];
};

/* The active enforcement with the earliest deadline among those newer
 * than what the tablet runs; 0 when there is none. */
static int pick_target(const struct sim_device *dev, struct target *ret)
{
	int found = 0;

	for (size_t i = 0; i < dev->ddm.n_decls; i++) {
		const struct sim_decl *x = &dev->ddm.decls[i];
		if (!x->active || strcmp(x->type, T_ENFORCEMENT) != 0)
			continue;
		json_t *p = json_loads(x->payload, 0, NULL);
		const char *v = json_string_value(json_object_get(p, "TargetOSVersion"));
		const char *at = json_string_value(json_object_get(p, "TargetLocalDateTime"));
		const char *b = json_string_value(json_object_get(p, "TargetBuildVersion"));
		if (v && at && sim_ddm_version_cmp(v, dev->os_version) > 0 &&
		    (!found || strcmp(at, ret->deadline) < 0)) {
			found = 1;
			ret->id = x->identifier;
			snprintf(ret->version, sizeof(ret->version), "%s", v);
			snprintf(ret->deadline, sizeof(ret->deadline), "%s", at);
			if (b)
				snprintf(ret->build, sizeof(ret->build), "%s", b);
			else
				sim_ddm_build_of(v, ret->build, sizeof(ret->build));
		}
		json_decref(p);
	}
	return found;
}

static void no_update(struct sim_ddm *d)
{
	d->install = SIM_INSTALL_NONE;
	d->pending_os[0] = d->pending_build[0] = d->update_id[0] = d->deadline[0] = '\0';
	d->fail_count = 0;
	d->fail_reason[0] = d->fail_at[0] = '\0';
}

/* One step of the update; 1 when an install starts. */
static int update_step(struct sim_device *dev, const struct sim_clock *now)
{
	struct sim_ddm *d = &dev->ddm;
	struct target t = {0};

	if (!pick_target(dev, &t)) {
		dev->dirty |= d->install != SIM_INSTALL_NONE || d->pending_os[0];
		no_update(d);
		return 0;
	}
	if (strcmp(t.id, d->update_id) != 0 || strcmp(t.version, d->pending_os) != 0) {
		no_update(d);
		d->install = SIM_INSTALL_DOWNLOADING;
		snprintf(d->update_id, sizeof(d->update_id), "%s", t.id);
		snprintf(d->pending_os, sizeof(d->pending_os), "%s", t.version);
		snprintf(d->pending_build, sizeof(d->pending_build), "%s", t.build);
		snprintf(d->deadline, sizeof(d->deadline), "%s", t.deadline);
		dev->dirty = 1;
		return 0;
	}
	snprintf(d->deadline, sizeof(d->deadline), "%s", t.deadline); /* may have moved */
	if (d->install == SIM_INSTALL_INSTALLING)
		return 1; /* the session was lost while installing: it goes on */
	if (d->install == SIM_INSTALL_DOWNLOADING) {
		d->install = SIM_INSTALL_PREPARED;
		dev->dirty = 1;
	}
	if ((d->install == SIM_INSTALL_PREPARED || d->install == SIM_INSTALL_FAILED) &&
	    strcmp(now->local, d->deadline) >= 0) {
		d->install = SIM_INSTALL_INSTALLING;
		dev->dirty = 1;
		return 1;
	}
	return 0;
}

void sim_ddm_evaluate(struct sim_device *dev)
{
	struct sim_ddm *d = &dev->ddm;

	for (size_t i = 0; i < d->n_decls; i++)
		validate(dev, &d->decls[i]);
	activation_pass(d);
}

int sim_ddm_apply(struct sim_device *dev, const struct sim_clock *now, int *ret_install)
{
	sim_ddm_evaluate(dev);
	int install = update_step(dev, now);
	if (ret_install)
		*ret_install = install;
	return 0;
}

int sim_ddm_install(struct sim_device *dev, const struct sim_clock *now)
{
	struct sim_ddm *d = &dev->ddm;

	if (d->install != SIM_INSTALL_INSTALLING)
		return AP_EINVAL;
	dev->dirty = 1;
	if (dev->update_fail_on) {
		d->install = SIM_INSTALL_FAILED;
		d->fail_count++;
		snprintf(d->fail_reason, sizeof(d->fail_reason), "%s", dev->update_fail);
		snprintf(d->fail_at, sizeof(d->fail_at), "%s", now->utc);
		return 0;
	}
	/* the reboot into the new version */
	snprintf(dev->os_version, sizeof(dev->os_version), "%s", d->pending_os);
	snprintf(dev->build_version, sizeof(dev->build_version), "%s", d->pending_build);
	no_update(d);
	return 0;
}
