/*
 * Unit tests for the simulated iPad's DDM side (tools/sim/sim_ddm.h): the
 * DeclarativeManagement command, the synchronisation steps fed with what
 * agent-protocol's server side builds, activations, the update enforcement
 * state machine, full and incremental status reports (read back with the
 * daemon's parser, ap_ddm_status_parse()) and the state's JSON form.
 * Every document the tablet sends is checked by tools/mdm-schema-check at
 * the end (status reports with --werror, except the ones carrying
 * "_removed" entries, which Apple's YAML does not describe).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"
#include "ap_ddm.h"
#include "ap_err.h"
#include "ap_msg.h"
#include "ap_plist.h"
#include "ap_uuid.h"
#include "sim_cmd.h"
#include "sim_ddm.h"
#include "sim_device.h"
#include "testutil.h"

#define MAX_DOCS 64

#define T_SU   "com.apple.configuration.softwareupdate.enforcement.specific"
#define T_SUBS "com.apple.configuration.management.status-subscriptions"
#define T_ACT  "com.apple.activation.simple"

/* Documents to check at the end: plists, strict reports, reports with
 * "_removed".  Owned. */
static struct tu_doc plists[MAX_DOCS], reports[MAX_DOCS], removed[MAX_DOCS];
static size_t n_plists, n_reports, n_removed;

static void keep(struct tu_doc *docs, size_t *n, const char *what, char *data, size_t len)
{
	char *name = malloc(64);
	assert_non_null(name);
	assert_true(*n < MAX_DOCS);
	snprintf(name, 64, "%02zu-%s", *n, what);
	docs[*n] = (struct tu_doc){name, data, len};
	(*n)++;
}

static struct sim_device *new_device(const char *version)
{
	struct sim_device *d = NULL;
	assert_int_equal(sim_device_new(&d), 0);
	snprintf(d->topic, sizeof(d->topic), "com.apple.mgmt.External.ardoise");
	d->enrolled = 1;
	if (version)
		assert_int_equal(sim_device_set_os(d, NULL, version), 0);
	return d;
}

/* A clock at a local time (Europe/Paris, set in main()). */
static struct sim_clock at(const char *local)
{
	struct sim_clock c;
	assert_int_equal(sim_clock_parse(&c, local), 0);
	return c;
}

/* ---- the server's side, as ardoised builds it ---- */

struct decl {
	const char *type, *identifier, *payload;
};

/* The declaration document and its ServerToken. */
static char *declaration(const struct decl *x, char token[AP_DDM_TOKEN_LEN + 1])
{
	char *json = NULL;
	size_t len = 0;
	assert_int_equal(ap_ddm_server_token(x->type, x->identifier, x->payload, strlen(x->payload),
					     token, NULL, 0),
			 0);
	assert_int_equal(ap_ddm_declaration_build(x->type, x->identifier, token, x->payload,
						  strlen(x->payload), &json, &len, NULL, 0),
			 0);
	return json;
}

/* A full synchronisation of d against the set: manifest, fetches (each
 * answered from set), token kept.  Returns how many were fetched. */
static size_t sync_set(struct sim_device *d, const struct decl *set, size_t n)
{
	struct ap_ddm_item items[16];
	char tokens[16][AP_DDM_TOKEN_LEN + 1], dtoken[AP_DDM_TOKEN_LEN + 1];
	char got[AP_DDM_DTOKEN_MAX + 1], *json = NULL;
	size_t len = 0, n_fetch = 0;
	struct sim_ddm_fetch *fetch = NULL;

	for (size_t i = 0; i < n; i++) {
		free(declaration(&set[i], tokens[i]));
		assert_int_equal(ap_ddm_kind_of_type(set[i].type, &items[i].kind), 0);
		items[i].identifier = set[i].identifier;
		items[i].server_token = tokens[i];
	}
	assert_int_equal(ap_ddm_declarations_token(items, n, dtoken, NULL, 0), 0);
	assert_int_equal(ap_ddm_items_build(items, n, dtoken, &json, &len, NULL, 0), 0);
	assert_int_equal(sim_ddm_manifest(d, json, len, &fetch, &n_fetch, got), 0);
	free(json);
	assert_string_equal(got, dtoken);
	for (size_t k = 0; k < n_fetch; k++) {
		size_t i = 0;
		while (i < n && strcmp(set[i].identifier, fetch[k].identifier) != 0)
			i++;
		assert_true(i < n);
		char want[AP_DDM_ID_MAX + 32];
		snprintf(want, sizeof(want), "declaration/%s/%s", ap_ddm_kind_name(items[i].kind),
			 set[i].identifier);
		assert_string_equal(fetch[k].endpoint, want);
		char tok[AP_DDM_TOKEN_LEN + 1];
		json = declaration(&set[i], tok);
		assert_int_equal(
		    sim_ddm_put(d, fetch[k].kind, fetch[k].identifier, json, strlen(json)), 0);
		free(json);
	}
	free(fetch);
	sim_ddm_synced(d, dtoken);
	return n_fetch;
}

static const char subs_payload[] =
    "{\"StatusItems\": [{\"Name\": \"device.operating-system.version\"},"
    " {\"Name\": \"device.operating-system.build-version\"},"
    " {\"Name\": \"device.model.identifier\"}, {\"Name\": \"softwareupdate.install-state\"},"
    " {\"Name\": \"softwareupdate.pending-version\"},"
    " {\"Name\": \"softwareupdate.failure-reason\"},"
    " {\"Name\": \"softwareupdate.install-reason\"}, {\"Name\": \"passcode.is-compliant\"},"
    " {\"Name\": \"device.power.battery-health\"}, {\"Name\": \"management.declarations\"},"
    " {\"Name\": \"something.unknown\"}]}";

/* The fleet's generated set: subscriptions and its activation. */
static const struct decl base_set[] = {
    {T_SUBS, "ardoise.status-subscriptions", subs_payload},
    {T_ACT, "ardoise.activation.fleet",
     "{\"StandardConfigurations\": [\"ardoise.status-subscriptions\"]}"},
};

/* ---- reports ---- */

/* The report to send now, parsed with the daemon's parser; kept for the
 * checker; taken by the server.  NULL when there is none. */
static struct ap_ddm_status *report(struct sim_device *d, const struct sim_clock *now,
				    const char *what)
{
	char *json = NULL, detail[200];
	size_t len = 0;
	struct ap_ddm_status *st = NULL;

	assert_int_equal(sim_ddm_report(d, now, 0, &json, &len), 0);
	if (json == NULL)
		return NULL;
	assert_int_equal(strlen(json), len);
	int rc = ap_ddm_status_parse(json, len, 0, &st, detail, sizeof(detail));
	if (rc != 0)
		fail_msg("%s: %s\n%s", what, detail, json);
	if (strstr(json, "\"_removed\""))
		keep(removed, &n_removed, what, json, len);
	else
		keep(reports, &n_reports, what, json, len);
	sim_ddm_report_taken(d, now);
	return st;
}

static const char *item(const struct ap_ddm_status *st, const char *name)
{
	const struct ap_ddm_status_item *it = ap_ddm_status_find(st, name);
	return it ? it->value : NULL;
}

/* ---- the command ---- */

/* A DeclarativeManagement command whose Data is data as given (ap_cmd
 * would refuse a bad one). */
static char *dm_command(const char *data)
{
	plist_t root = plist_new_dict(), c = plist_new_dict();
	char uuid[37], *xml = NULL;
	size_t len = 0;

	ap_uuid_random(uuid);
	plist_dict_set_item(c, "RequestType", plist_new_string("DeclarativeManagement"));
	plist_dict_set_item(c, "Data", plist_new_data(data, strlen(data)));
	plist_dict_set_item(root, "Command", c);
	plist_dict_set_item(root, "CommandUUID", plist_new_string(uuid));
	assert_int_equal(ap_plist_to_xml(root, &xml, &len), 0);
	plist_free(root);
	return xml;
}

static void test_command(void **state)
{
	struct sim_device *d = new_device(NULL), *old = new_device("14.8");
	char *tokens = NULL, *cmd = NULL, *rep = NULL, uuid[37];
	size_t tlen = 0, clen = 0, rlen = 0;
	plist_t params = NULL;
	struct ap_msg *m = NULL;

	assert_false(d->ddm.enabled);
	assert_int_equal(ap_ddm_tokens_build("0123456789abcdef0123456789abcdef", 1790000000,
					     &tokens, &tlen, NULL, 0),
			 0);
	assert_int_equal(ap_cmd_params_declarative_management(tokens, tlen, &params), 0);
	ap_uuid_random(uuid);
	assert_int_equal(
	    ap_cmd_build(AP_CMD_DECLARATIVE_MANAGEMENT, uuid, params, &cmd, &clen, NULL, 0), 0);
	plist_free(params);
	assert_int_equal(sim_cmd_answer(d, cmd, clen, &rep, &rlen), 0);
	assert_int_equal(d->last_status, AP_STATUS_ACKNOWLEDGED);
	assert_true(d->ddm.enabled);
	assert_true(d->ddm.sync);
	assert_string_equal(d->ddm.hint, "0123456789abcdef0123456789abcdef");
	assert_int_equal(ap_msg_parse(rep, rlen, 0, &m, NULL, 0), 0);
	assert_int_equal(m->u.report.status, AP_STATUS_ACKNOWLEDGED);
	ap_msg_free(m);
	keep(plists, &n_plists, "dm-ack", rep, rlen);

	/* an iPadOS 14 tablet does not know the command */
	assert_int_equal(sim_cmd_answer(old, cmd, clen, &rep, &rlen), 0);
	assert_int_equal(old->last_status, AP_STATUS_FORMAT_ERROR);
	assert_false(old->ddm.enabled);
	free(rep);
	free(cmd);

	/* Data that is not a tokens document: Error, DDM stays off */
	static const char *const bad[] = {"{", "[]", "{\"SyncTokens\": {}}",
					  "{\"SyncTokens\": {\"DeclarationsToken\": 5}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim_device *e = new_device(NULL);
		cmd = dm_command(bad[i]);
		clen = strlen(cmd);
		assert_int_equal(sim_cmd_answer(e, cmd, clen, &rep, &rlen), 0);
		assert_true(e->last_status == AP_STATUS_ERROR ||
			    e->last_status == AP_STATUS_FORMAT_ERROR);
		assert_false(e->ddm.enabled);
		free(cmd);
		free(rep);
		sim_device_free(e);
	}

	/* the check-ins it sends */
	char *xml = NULL;
	size_t len = 0;
	assert_int_equal(sim_ddm_checkin(d, "tokens", NULL, 0, &xml, &len), 0);
	assert_int_equal(ap_msg_parse_flags(xml, len, 0, AP_MSG_DDM, &m, NULL, 0), 0);
	ap_msg_free(m);
	keep(plists, &n_plists, "checkin-tokens", xml, len);
	struct sim_clock now = at("2026-09-01T10:00");
	char *rep_json = NULL;
	size_t rep_len = 0;
	assert_int_equal(sim_ddm_apply(d, &now, NULL), 0);
	assert_int_equal(sim_ddm_report(d, &now, 0, &rep_json, &rep_len), 0);
	assert_non_null(rep_json);
	assert_int_equal(sim_ddm_checkin(d, "status", rep_json, rep_len, &xml, &len), 0);
	free(rep_json);
	keep(plists, &n_plists, "checkin-status", xml, len);
	free(tokens);
	sim_device_free(d);
	sim_device_free(old);
}

/* ---- the synchronisation ---- */

static const struct sim_decl *find(const struct sim_device *d, const char *id)
{
	for (size_t i = 0; i < d->ddm.n_decls; i++)
		if (strcmp(d->ddm.decls[i].identifier, id) == 0)
			return &d->ddm.decls[i];
	fail_msg("no declaration %s", id);
	return NULL;
}

static void test_sync(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct decl set[4] = {
	    base_set[0],
	    base_set[1],
	    {"com.apple.configuration.passcode.settings", "ardoise.passcode",
	     "{\"MinimumLength\": 6}"},
	    {"com.apple.management.organization-info", "ardoise.org",
	     "{\"OrganizationName\": \"Conseil d\xc3\xa9partemental\"}"},
	};

	assert_int_equal(sync_set(d, set, 4), 4);
	assert_int_equal(d->ddm.n_decls, 4);
	assert_true(d->ddm.enabled);
	/* the same set again: nothing to fetch */
	assert_int_equal(sync_set(d, set, 4), 0);
	/* one changed, one removed: only the changed one is fetched */
	set[2].payload = "{\"MinimumLength\": 8}";
	assert_int_equal(sync_set(d, set, 3), 1);
	assert_int_equal(d->ddm.n_decls, 3);
	for (size_t i = 0; i < d->ddm.n_decls; i++)
		assert_string_not_equal(d->ddm.decls[i].identifier, "ardoise.org");
	assert_non_null(strstr(find(d, "ardoise.passcode")->payload, "8"));
	sim_device_free(d);
}

static void test_sync_hostile(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct sim_ddm_fetch *f = NULL;
	size_t n = 0;
	char tok[AP_DDM_DTOKEN_MAX + 1], big[300];
	static const struct {
		const char *json;
		int rc;
	} bad[] = {
	    {"{\"Declarations\": {", AP_EPARSE},
	    {"[]", AP_ETYPE},
	    {"{\"DeclarationsToken\": \"x\"}", AP_EMISSING},
	    {"{\"Declarations\": [], \"DeclarationsToken\": \"x\"}", AP_ETYPE},
	    {"{\"Declarations\": {\"Activations\": {}}, \"DeclarationsToken\": \"x\"}", AP_ETYPE},
	    {"{\"Declarations\": {\"Activations\": [{\"Identifier\": \"a\"}]},"
	     " \"DeclarationsToken\": \"x\"}",
	     AP_EMISSING},
	    {"{\"Declarations\": {\"Activations\": [{\"Identifier\": \"a/b\", \"ServerToken\": "
	     "\"t\"}]}, \"DeclarationsToken\": \"x\"}",
	     AP_EINVAL},
	    {"{\"Declarations\": {\"Activations\": [{\"Identifier\": \"a\", \"ServerToken\": "
	     "\"t\"}], \"Configurations\": [{\"Identifier\": \"a\", \"ServerToken\": \"t\"}]},"
	     " \"DeclarationsToken\": \"x\"}",
	     AP_EINVAL},
	    {"{\"Declarations\": {}, \"DeclarationsToken\": \"\"}", AP_EINVAL},
	    {"{\"Declarations\": {}, \"DeclarationsToken\": \"x\", \"DeclarationsToken\": \"y\"}",
	     AP_EPARSE},
	};

	assert_int_equal(sync_set(d, base_set, 2), 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sim_ddm_manifest(d, bad[i].json, strlen(bad[i].json), &f, &n, tok);
		if (rc != bad[i].rc)
			fail_msg("manifest %zu: %d, want %d", i, rc, bad[i].rc);
		assert_int_equal(d->ddm.n_decls, 2); /* nothing lost */
	}
	/* a token over 256 octets */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *json = NULL;
	assert_true(asprintf(&json, "{\"Declarations\": {}, \"DeclarationsToken\": \"%s\"}", big) >
		    0);
	assert_int_equal(sim_ddm_manifest(d, json, strlen(json), &f, &n, tok), AP_EINVAL);
	free(json);
	/* more declarations than a tablet keeps */
	size_t cap = 64 * (SIM_DDM_MAX_DECLS + 2);
	json = malloc(cap);
	size_t o = (size_t)snprintf(json, cap, "{\"Declarations\": {\"Configurations\": [");
	for (int i = 0; i <= SIM_DDM_MAX_DECLS; i++)
		o += (size_t)snprintf(json + o, cap - o,
				      "%s{\"Identifier\": \"c%d\", \"ServerToken\": \"t\"}",
				      i ? "," : "", i);
	snprintf(json + o, cap - o, "]}, \"DeclarationsToken\": \"x\"}");
	assert_int_equal(sim_ddm_manifest(d, json, strlen(json), &f, &n, tok), AP_ELIMIT);
	free(json);
	assert_int_equal(d->ddm.n_decls, 2);

	/* declarations that are not what was asked for */
	static const struct {
		const char *id, *json;
		int rc;
	} decls[] = {
	    {"x",
	     "{\"Type\": \"" T_ACT "\", \"Identifier\": \"y\", \"ServerToken\": \"t\","
	     " \"Payload\": {}}",
	     AP_EINVAL},
	    {"x",
	     "{\"Type\": \"com.example.thing\", \"Identifier\": \"x\", \"ServerToken\": \"t\","
	     " \"Payload\": {}}",
	     AP_EINVAL},
	    {"x",
	     "{\"Type\": \"" T_ACT "\", \"Identifier\": \"x\", \"ServerToken\": \"t\","
	     " \"Payload\": []}",
	     AP_ETYPE},
	    {"x", "{\"Type\": \"" T_ACT "\", \"Identifier\": \"x\", \"ServerToken\": \"t\"}",
	     AP_EMISSING},
	    {"x",
	     "{\"Type\": \"" T_ACT "\", \"Identifier\": \"x\", \"ServerToken\": \"t\","
	     " \"Payload\": {\"StandardConfigurations\": [",
	     AP_EPARSE},
	    {"x", "\"just a string\"", AP_EPARSE},
	    /* a configuration where the manifest listed an activation */
	    {"x",
	     "{\"Type\": \"" T_SUBS "\", \"Identifier\": \"x\", \"ServerToken\": \"t\","
	     " \"Payload\": {}}",
	     AP_EINVAL},
	};
	for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		int rc = sim_ddm_put(d, AP_DDM_ACTIVATION, decls[i].id, decls[i].json,
				     strlen(decls[i].json));
		if (rc != decls[i].rc)
			fail_msg("declaration %zu: %d, want %d", i, rc, decls[i].rc);
	}
	assert_int_equal(d->ddm.n_decls, 2);
	/* over the size cap, whatever it holds */
	size_t huge_len = AP_DDM_MAX_BYTES + 1;
	char *huge = malloc(huge_len + 1);
	assert_non_null(huge);
	memset(huge, ' ', huge_len);
	huge[huge_len] = '\0';
	assert_int_equal(sim_ddm_put(d, AP_DDM_ACTIVATION, "x", huge, huge_len), AP_ETOOBIG);
	assert_int_equal(sim_ddm_manifest(d, huge, huge_len, &f, &n, tok), AP_ETOOBIG);
	free(huge);
	assert_int_equal(d->ddm.n_decls, 2);
	sim_ddm_drop(d, "not-there");
	assert_int_equal(d->ddm.n_decls, 2);
	sim_device_free(d);
}

/* ---- what applies ---- */

static void test_activation(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct sim_clock now = at("2026-09-01T10:00");
	const struct decl set[] = {
	    base_set[0],
	    {T_ACT, "ardoise.activation.fleet",
	     "{\"StandardConfigurations\": [\"ardoise.status-subscriptions\", \"missing\"]}"},
	    {"com.apple.configuration.passcode.settings", "ardoise.passcode", "{}"},
	    {"com.apple.activation.other", "ardoise.other", "{}"},
	    {T_ACT, "ardoise.broken", "{\"StandardConfigurations\": 3}"},
	};

	sync_set(d, set, 5);
	assert_int_equal(sim_ddm_apply(d, &now, NULL), 0);
	const struct sim_decl *x = find(d, "ardoise.status-subscriptions");
	assert_true(x->active && x->valid);
	assert_null(x->reasons);
	x = find(d, "ardoise.activation.fleet");
	assert_true(x->active && x->valid);
	assert_non_null(strstr(x->reasons, "Error.MissingConfigurations"));
	assert_non_null(strstr(x->reasons, "\"missing\""));
	x = find(d, "ardoise.passcode");
	assert_false(x->active);
	assert_true(x->valid);
	assert_non_null(strstr(x->reasons, "Info.NotReferencedByActivation"));
	x = find(d, "ardoise.other");
	assert_false(x->valid);
	assert_non_null(strstr(x->reasons, "Error.ConfigurationNotSupported"));
	x = find(d, "ardoise.broken");
	assert_false(x->valid || x->active);

	/* the report says so, as Apple's management.declarations */
	struct ap_ddm_status *st = report(d, &now, "activation-full");
	assert_non_null(st);
	assert_true(st->full_report);
	const char *decls = item(st, "management.declarations");
	assert_non_null(decls);
	assert_non_null(strstr(decls, "\"identifier\":\"ardoise.passcode\""));
	assert_non_null(strstr(decls, "Info.NotReferencedByActivation"));
	/* subscribed and known; an unknown subscription is left out */
	assert_string_equal(item(st, "device.operating-system.version"), "\"17.5\"");
	assert_string_equal(item(st, "device.operating-system.build-version"), "\"21F79\"");
	assert_string_equal(item(st, "device.model.identifier"), "\"iPad13,18\"");
	assert_string_equal(item(st, "device.power.battery-health"), "\"unsupported\"");
	assert_string_equal(item(st, "passcode.is-compliant"), "true");
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_null(item(st, "something.unknown"));
	assert_null(item(st, "passcode.is-present")); /* not subscribed */
	ap_ddm_status_free(st);
	sim_device_free(d);
}

/* Without subscriptions only management.declarations goes. */
static void test_no_subscription(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct sim_clock now = at("2026-09-01T10:00");
	const struct decl set[] = {base_set[0]}; /* not activated */

	sync_set(d, set, 1);
	sim_ddm_apply(d, &now, NULL);
	struct ap_ddm_status *st = report(d, &now, "unsubscribed");
	assert_int_equal(st->n_items, 1);
	assert_non_null(item(st, "management.declarations"));
	ap_ddm_status_free(st);
	sim_device_free(d);
}

/* ---- full and incremental reports ---- */

static void test_reports(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct sim_clock now = at("2026-09-01T10:00");
	struct decl set[3] = {
	    base_set[0],
	    {T_ACT, "ardoise.activation.fleet",
	     "{\"StandardConfigurations\": [\"ardoise.status-subscriptions\", \"ardoise.pc\"]}"},
	    {"com.apple.configuration.passcode.settings", "ardoise.pc", "{}"},
	};

	sync_set(d, set, 3);
	sim_ddm_apply(d, &now, NULL);
	struct ap_ddm_status *st = report(d, &now, "full");
	assert_true(st->full_report);
	size_t n_full = st->n_items;
	assert_true(n_full >= 9);
	ap_ddm_status_free(st);

	/* nothing changed: no report */
	sim_ddm_apply(d, &now, NULL);
	assert_null(report(d, &now, "none"));

	/* a report the server did not take is not the base of the next */
	char *json = NULL;
	d->passcode_present = 0;
	assert_int_equal(sim_ddm_report(d, &now, 0, &json, NULL), 0);
	free(json);
	/* the passcode goes: only that item */
	st = report(d, &now, "incremental-passcode");
	assert_false(st->full_report);
	assert_int_equal(st->n_items, 1);
	assert_string_equal(item(st, "passcode.is-compliant"), "false");
	ap_ddm_status_free(st);

	/* a declaration goes: management.declarations with it "_removed" */
	struct decl less[2] = {base_set[0], base_set[1]};
	sync_set(d, less, 2);
	sim_ddm_apply(d, &now, NULL);
	st = report(d, &now, "incremental-removed");
	assert_false(st->full_report);
	assert_int_equal(st->n_items, 1);
	const char *v = item(st, "management.declarations");
	assert_non_null(strstr(v, "\"_removed\":true"));
	assert_non_null(strstr(v, "\"identifier\":\"ardoise.pc\""));
	/* the activation changed too (its token); the subscriptions did not */
	assert_non_null(strstr(v, "ardoise.activation.fleet"));
	assert_null(strstr(v, "ardoise.status-subscriptions"));
	ap_ddm_status_free(st);

	/* after a reset, and a day later: full again */
	sim_ddm_reset(&d->ddm);
	st = report(d, &now, "full-after-reset");
	assert_true(st->full_report);
	assert_null(strstr(item(st, "management.declarations"), "_removed"));
	ap_ddm_status_free(st);
	assert_null(report(d, &now, "none-2"));
	struct sim_clock later = at("2026-09-02T10:00");
	st = report(d, &later, "full-safety-sync");
	assert_true(st->full_report);
	ap_ddm_status_free(st);
	assert_null(report(d, &later, "none-3"));
	sim_device_free(d);
}

/* ---- the update enforcement ---- */

static const struct decl plan_set[] = {
    base_set[0],
    {T_ACT, "ardoise.activation.fleet",
     "{\"StandardConfigurations\": [\"ardoise.status-subscriptions\"]}"},
    {T_SU, "ardoise.update.fleet",
     "{\"TargetOSVersion\": \"17.6.1\", \"TargetLocalDateTime\": \"2026-10-14T18:00:00\"}"},
    {T_ACT, "ardoise.update.fleet.act", "{\"StandardConfigurations\": [\"ardoise.update.fleet\"]}"},
};

/* apply, then the report (the install when one starts: its report, then
 * the outcome's) */
static int step(struct sim_device *d, const char *local, const char *what,
		struct ap_ddm_status **ret)
{
	struct sim_clock now = at(local);
	int install = 0;
	char name[64];

	assert_int_equal(sim_ddm_apply(d, &now, &install), 0);
	struct ap_ddm_status *st = report(d, &now, what);
	if (install) {
		assert_non_null(st);
		assert_string_equal(item(st, "softwareupdate.install-state"), "\"installing\"");
		ap_ddm_status_free(st);
		assert_int_equal(sim_ddm_install(d, &now), 0);
		snprintf(name, sizeof(name), "%s-after", what);
		st = report(d, &now, name);
	}
	*ret = st;
	return install;
}

static void test_enforcement(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct ap_ddm_status *st = NULL;

	sync_set(d, plan_set, 4);
	/* applied: downloading, pending, reason */
	assert_false(step(d, "2026-10-01T09:00", "su-downloading", &st));
	assert_true(st->full_report);
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"downloading\"");
	assert_string_equal(item(st, "softwareupdate.pending-version"),
			    "{\"build-version\":\"21G90\",\"os-version\":\"17.6.1\"}");
	assert_string_equal(
	    item(st, "softwareupdate.install-reason"),
	    "{\"declaration-id\":\"ardoise.update.fleet\",\"reason\":[\"declaration\"]}");
	assert_true(find(d, "ardoise.update.fleet")->active);
	ap_ddm_status_free(st);
	/* next sync: prepared, and only that changed */
	assert_false(step(d, "2026-10-01T12:00", "su-prepared", &st));
	assert_int_equal(st->n_items, 1);
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"prepared\"");
	ap_ddm_status_free(st);
	/* before the deadline nothing moves */
	assert_false(step(d, "2026-10-01T18:00", "su-waiting", &st));
	assert_null(st);
	/* a day later: a full report (safety sync), still prepared */
	assert_false(step(d, "2026-10-14T17:59", "su-waiting-full", &st));
	assert_true(st->full_report);
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"prepared\"");
	ap_ddm_status_free(st);
	/* at the deadline: installing, then the new version */
	assert_true(step(d, "2026-10-14T18:00", "su-installed", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_string_equal(item(st, "device.operating-system.version"), "\"17.6.1\"");
	assert_string_equal(item(st, "device.operating-system.build-version"), "\"21G90\"");
	assert_string_equal(item(st, "softwareupdate.pending-version"),
			    "{\"build-version\":\"\",\"os-version\":\"\"}");
	assert_string_equal(item(st, "softwareupdate.install-reason"), "{\"reason\":[]}");
	ap_ddm_status_free(st);
	assert_string_equal(d->os_version, "17.6.1");
	assert_string_equal(d->build_version, "21G90");
	/* Authenticate and DeviceInformation say so afterwards */
	char *xml = NULL;
	size_t len = 0;
	struct ap_msg *m = NULL;
	assert_int_equal(sim_device_checkin(d, SIM_AUTHENTICATE, &xml, &len), 0);
	assert_int_equal(ap_msg_parse(xml, len, 0, &m, NULL, 0), 0);
	assert_string_equal(m->u.checkin.os_version, "17.6.1");
	assert_string_equal(m->u.checkin.build_version, "21G90");
	ap_msg_free(m);
	free(xml);
	/* the target is now what it runs: nothing to do */
	assert_false(step(d, "2026-10-14T19:00", "su-done", &st));
	assert_null(st);
	assert_int_equal(d->ddm.install, SIM_INSTALL_NONE);
	sim_device_free(d);
}

static void test_enforcement_failure(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct ap_ddm_status *st = NULL;

	d->update_fail_on = 1;
	snprintf(d->update_fail, sizeof(d->update_fail), "Espace de stockage insuffisant");
	sync_set(d, plan_set, 4);
	step(d, "2026-10-01T09:00", "fail-downloading", &st);
	ap_ddm_status_free(st);
	/* prepared and past the deadline in the same sync: installs, fails */
	assert_true(step(d, "2026-10-15T08:00", "fail-1", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"failed\"");
	assert_string_equal(item(st, "softwareupdate.failure-reason"),
			    "{\"count\":1,\"reason\":\"Espace de stockage insuffisant\","
			    "\"timestamp\":\"2026-10-15T06:00:00Z\"}");
	assert_null(item(st, "device.operating-system.version")); /* unchanged */
	ap_ddm_status_free(st);
	assert_string_equal(d->os_version, "17.5");
	/* retried at the next sync: fails again */
	assert_true(step(d, "2026-10-15T09:00", "fail-2", &st));
	assert_non_null(strstr(item(st, "softwareupdate.failure-reason"), "\"count\":2"));
	ap_ddm_status_free(st);
	/* update-ok: the next one succeeds, the failure count goes back to 0;
	 * a session lost while installing goes on installing */
	d->update_fail_on = 0;
	struct sim_clock t2 = at("2026-10-15T09:30");
	int install = 0;
	assert_int_equal(sim_ddm_apply(d, &t2, &install), 0);
	assert_int_equal(install, 1);
	assert_int_equal(d->ddm.install, SIM_INSTALL_INSTALLING);
	assert_true(step(d, "2026-10-15T10:00", "fail-then-ok", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_string_equal(item(st, "softwareupdate.failure-reason"), "{\"count\":0}");
	assert_string_equal(item(st, "device.operating-system.version"), "\"17.6.1\"");
	ap_ddm_status_free(st);
	sim_device_free(d);
}

static void test_enforcement_other(void **state)
{
	struct sim_device *d = new_device("17.6.1"), *e = new_device("16.7"), *f = new_device(NULL);
	struct ap_ddm_status *st = NULL;

	/* already there: nothing to do */
	sync_set(d, plan_set, 4);
	assert_false(step(d, "2026-10-15T09:00", "at-target", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_true(find(d, "ardoise.update.fleet")->active);
	ap_ddm_status_free(st);
	/* iPadOS 16: not supported there, and no softwareupdate items */
	sync_set(e, plan_set, 4);
	assert_false(step(e, "2026-10-15T09:00", "ipados16", &st));
	assert_null(item(st, "softwareupdate.install-state"));
	const struct sim_decl *x = find(e, "ardoise.update.fleet");
	assert_false(x->valid || x->active);
	assert_non_null(strstr(x->reasons, "Error.ConfigurationNotSupported"));
	ap_ddm_status_free(st);
	/* removed while downloading: back to none; a bad payload is invalid */
	sync_set(f, plan_set, 4);
	step(f, "2026-10-01T09:00", "rm-downloading", &st);
	ap_ddm_status_free(st);
	struct decl bad[4] = {plan_set[0], plan_set[1], plan_set[2], plan_set[3]};
	bad[2].payload = "{\"TargetOSVersion\": \"dix-sept\","
			 " \"TargetLocalDateTime\": \"2026-10-14T18:00:00\"}";
	sync_set(f, bad, 4);
	assert_false(step(f, "2026-10-02T09:00", "rm-invalid", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_false(find(f, "ardoise.update.fleet")->valid);
	ap_ddm_status_free(st);
	sync_set(f, plan_set, 4);
	step(f, "2026-10-03T09:00", "rm-again", &st);
	ap_ddm_status_free(st);
	assert_int_equal(f->ddm.install, SIM_INSTALL_DOWNLOADING);
	sync_set(f, plan_set, 2);
	assert_false(step(f, "2026-10-04T09:00", "rm-removed", &st));
	assert_string_equal(item(st, "softwareupdate.install-state"), "\"none\"");
	assert_string_equal(f->ddm.pending_os, "");
	ap_ddm_status_free(st);
	/* of two targets, the earliest deadline goes first */
	struct sim_device *g = new_device(NULL);
	struct decl two[6] = {
	    plan_set[0],
	    plan_set[1],
	    plan_set[2],
	    plan_set[3],
	    {T_SU, "ardoise.update.school-0130001a",
	     "{\"TargetOSVersion\": \"18.1\", \"TargetLocalDateTime\": \"2026-10-10T18:00:00\","
	     " \"TargetBuildVersion\": \"22B83\"}"},
	    {T_ACT, "ardoise.update.school-0130001a.act",
	     "{\"StandardConfigurations\": [\"ardoise.update.school-0130001a\"]}"},
	};
	sync_set(g, two, 6);
	step(g, "2026-10-01T09:00", "two-targets", &st);
	assert_string_equal(item(st, "softwareupdate.pending-version"),
			    "{\"build-version\":\"22B83\",\"os-version\":\"18.1\"}");
	ap_ddm_status_free(st);
	sim_device_free(d);
	sim_device_free(e);
	sim_device_free(f);
	sim_device_free(g);
}

/* ---- versions, clock, product, state ---- */

static void test_versions(void **state)
{
	char b[16];
	struct sim_clock c;
	struct sim_device *d = new_device(NULL);

	sim_ddm_build_of("17.5", b, sizeof(b));
	assert_string_equal(b, "21F79");
	sim_ddm_build_of("17.5.1", b, sizeof(b));
	assert_string_equal(b, "21F90");
	sim_ddm_build_of("18.1", b, sizeof(b));
	assert_string_equal(b, "22B79");
	sim_ddm_build_of("26.0", b, sizeof(b));
	assert_string_equal(b, "23A79");
	assert_true(sim_ddm_version_cmp("17.10", "17.9") > 0);
	assert_true(sim_ddm_version_cmp("17.5", "17.5.0") == 0);
	assert_true(sim_ddm_version_cmp("17.5", "17.5.1") < 0);
	assert_true(sim_ddm_version_ok("15.8") && sim_ddm_version_ok("17.6.1"));
	static const char *const bad_v[] = {"17",     "17.", "x.1",   "17.5.1.2", "0.1",
					    "1000.1", "",    "17.5 ", "-1.2"};
	for (size_t i = 0; i < sizeof(bad_v) / sizeof(bad_v[0]); i++)
		assert_false(sim_ddm_version_ok(bad_v[i]));
	assert_false(sim_ddm_version_ok(NULL));
	static const char *const bad_p[] = {"iPad",	 "iPad13",     "iPad13,",    "iPad123,1",
					    "ipad13,18", "iPhone15,2", "iPad13,18x", "iPad,1"};
	for (size_t i = 0; i < sizeof(bad_p) / sizeof(bad_p[0]); i++)
		assert_int_equal(sim_device_set_os(d, bad_p[i], NULL), AP_EINVAL);
	assert_int_equal(sim_device_set_os(d, NULL, "17"), AP_EINVAL);
	assert_string_equal(d->model, "iPad13,18");
	assert_int_equal(sim_device_set_os(d, "iPad7,11", "15.8"), 0);
	assert_string_equal(d->model, "iPad7,11");
	assert_string_equal(d->build_version, "19I79");
	/* DeviceInformation answers with them */
	plist_t q = plist_new_array();
	plist_array_append_item(q, plist_new_string("OSVersion"));
	plist_array_append_item(q, plist_new_string("ProductName"));
	plist_array_append_item(q, plist_new_string("BuildVersion"));
	plist_t params = plist_new_dict();
	plist_dict_set_item(params, "Queries", q);
	char uuid[37], *cmd = NULL, *rep = NULL;
	size_t clen = 0, rlen = 0;
	ap_uuid_random(uuid);
	assert_int_equal(
	    ap_cmd_build(AP_CMD_DEVICE_INFORMATION, uuid, params, &cmd, &clen, NULL, 0), 0);
	plist_free(params);
	assert_int_equal(sim_cmd_answer(d, cmd, clen, &rep, &rlen), 0);
	assert_non_null(strstr(rep, "<string>15.8</string>"));
	assert_non_null(strstr(rep, "<string>iPad7,11</string>"));
	assert_non_null(strstr(rep, "<string>19I79</string>"));
	keep(plists, &n_plists, "devinfo-15.8", rep, rlen);
	free(cmd);

	/* the clock: Paris time, both clock changes */
	assert_int_equal(sim_clock_parse(&c, "2026-10-14T18:00"), 0);
	assert_string_equal(c.local, "2026-10-14T18:00:00");
	assert_string_equal(c.utc, "2026-10-14T16:00:00Z");
	assert_int_equal(sim_clock_parse(&c, "2026-12-01 18:00:30"), 0);
	assert_string_equal(c.utc, "2026-12-01T17:00:30Z");
	static const char *const bad_t[] = {
	    "2026-02-30T10:00",	 "2026-03-29T02:30", "2026-10-14",	    "2026-10-14T24:00",
	    "2026-10-14T18:00Z", "26-10-14T18:00",   "2026-10-14T18:00:60", ""};
	for (size_t i = 0; i < sizeof(bad_t) / sizeof(bad_t[0]); i++)
		assert_int_equal(sim_clock_parse(&c, bad_t[i]), AP_EINVAL);
	sim_device_free(d);
}

static void test_state_json(void **state)
{
	struct sim_device *d = new_device(NULL);
	struct ap_ddm_status *st = NULL;
	char *json = NULL;
	struct sim_ddm back = {0};

	sync_set(d, plan_set, 4);
	step(d, "2026-10-01T09:00", "state", &st);
	ap_ddm_status_free(st);
	d->ddm.fail_count = 2;
	snprintf(d->ddm.fail_reason, sizeof(d->ddm.fail_reason), "r\xc3\xa9seau");
	assert_int_equal(sim_ddm_state_dump(&d->ddm, &json), 0);
	assert_int_equal(sim_ddm_state_load(&back, json), 0);
	free(json);
	assert_true(back.enabled);
	assert_string_equal(back.token, d->ddm.token);
	assert_int_equal(back.install, SIM_INSTALL_DOWNLOADING);
	assert_string_equal(back.pending_os, "17.6.1");
	assert_string_equal(back.update_id, "ardoise.update.fleet");
	assert_string_equal(back.deadline, "2026-10-14T18:00:00");
	assert_int_equal(back.fail_count, 2);
	assert_string_equal(back.fail_reason, "r\xc3\xa9seau");
	assert_string_equal(back.reported, d->ddm.reported);
	assert_int_equal(back.full_at, d->ddm.full_at);
	assert_int_equal(sim_ddm_state_load(&back, "{"), AP_EPARSE);
	assert_int_equal(sim_ddm_state_put(&back, "configuration", "c", T_SUBS, "t", "{}"), 0);
	assert_int_equal(sim_ddm_state_put(&back, "thing", "c", T_SUBS, "t", "{}"), AP_EINVAL);
	assert_int_equal(back.n_decls, 1);
	sim_ddm_clear(&back);
	/* the wipe of an erase or an unenrolment forgets it all */
	sim_device_wipe(d);
	assert_false(d->ddm.enabled);
	assert_int_equal(d->ddm.n_decls, 0);
	sim_device_free(d);
}

/* ---- every document through the checker ---- */

static void free_docs(struct tu_doc *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)docs[i].name);
		free((char *)docs[i].data);
	}
}

static void test_schema(void **state)
{
	static const char *const strict[] = {"--werror",     "--kind", "status-report",
					     "--os-version", "17.5",   NULL};
	static const char *const lenient[] = {"--kind", "status-report", NULL};
	static const char *const plist_args[] = {"--os-version", "17.5", NULL};

	assert_true(n_reports > 10 && n_removed > 0 && n_plists >= 4);
	assert_int_equal(tu_schema_check(reports, n_reports, strict), 0);
	assert_int_equal(tu_schema_check(removed, n_removed, lenient), 0);
	assert_int_equal(tu_schema_check(plists, n_plists, plist_args), 0);
	free_docs(reports, n_reports);
	free_docs(removed, n_removed);
	free_docs(plists, n_plists);
}

int main(void)
{
	setenv("TZ", "Europe/Paris", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_sync),
	    cmocka_unit_test(test_sync_hostile),
	    cmocka_unit_test(test_activation),
	    cmocka_unit_test(test_no_subscription),
	    cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_enforcement),
	    cmocka_unit_test(test_enforcement_failure),
	    cmocka_unit_test(test_enforcement_other),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_state_json),
	    cmocka_unit_test(test_schema), /* last: the documents of the others */
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
