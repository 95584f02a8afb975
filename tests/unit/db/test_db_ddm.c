/*
 * Unit tests for db_ddm on :memory:: the declaration catalogue and its
 * refusals, assignments by each kind of scope and the sets they give each
 * tablet (a tablet moved to another collège, a declaration removed), the
 * DeclarationsToken stored only when it changes, status reports (full
 * ones replace, incremental ones upsert, bad ones change nothing), the
 * per-collège counts of an item, the audit rows of staff changes, and the
 * step that adds the tables, applied to a file of the schema before it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_audit.h"
#include "db_ddm.h"
#include "db_int.h"
#include "migrations.h"
#include "sql_unit.h"
#include "store.h"
#include "unit.h"

#define UAI_A "0131266F"
#define UAI_B "0750001U"

static struct db *db;

static void exec(const char *sql)
{
	int rc = db_exec(db, sql);
	if (rc != 0)
		fail_msg("%s: %s", sql, db_errmsg(db));
}

/* Tablets: 1 (A, serial S1), 2 (A, lent to a pupil of 5B), 3 (B, S3),
 * 4 (no collège), 5 (A, not enrolled), 6 (A, lent to a teacher). */
static int setup(void **state)
{
	if (db_open(":memory:", &db) < 0)
		return -1;
	exec("INSERT INTO school(uai, name, created_at) VALUES ('" UAI_A "', 'A', 0),"
	     " ('" UAI_B "', 'B', 0);"
	     "INSERT INTO device(id, serial, school, enrollment, created_at, updated_at) VALUES"
	     " (1, 'S1', '" UAI_A "', 'enrolled', 0, 0), (2, 'S2', '" UAI_A "', 'enrolled', 0, 0),"
	     " (3, 'S3', '" UAI_B "', 'enrolled', 0, 0), (4, 'S4', NULL, 'enrolled', 0, 0),"
	     " (5, 'S5', '" UAI_A "', 'pending', 0, 0), (6, 'S6', '" UAI_A "', 'enrolled', 0, 0);"
	     "INSERT INTO person(id, ext_id, kind, name, class, school, created_at, updated_at)"
	     " VALUES (1, 'p1', 'pupil', 'Pupil', '5B', '" UAI_A "', 0, 0),"
	     " (2, 't1', 'teacher', 'Teacher', '', '" UAI_A "', 0, 0);"
	     "INSERT INTO loan(device_id, person_id, school, started_at, created_by) VALUES"
	     " (2, 1, '" UAI_A "', 0, 't'), (6, 2, '" UAI_A "', 0, 't');");
	return 0;
}

static int teardown(void **state)
{
	db_close(db);
	db = NULL;
	return 0;
}

static struct db_declaration decl(enum db_ddm_kind kind, const char *type, const char *identifier,
				  const char *token)
{
	struct db_declaration d;
	memset(&d, 0, sizeof(d));
	d.kind = kind;
	snprintf(d.type, sizeof(d.type), "%s", type);
	snprintf(d.identifier, sizeof(d.identifier), "%s", identifier);
	snprintf(d.server_token, sizeof(d.server_token), "%s", token);
	return d;
}

#define CFG  "com.apple.configuration.passcode.settings"
#define ACT  "com.apple.activation.simple"
#define AST  "com.apple.asset.data"
#define BODY "{\"MinimumLength\": 6}"

static int add(enum db_ddm_kind kind, const char *type, const char *identifier, const char *token)
{
	struct db_declaration d = decl(kind, type, identifier, token);
	return db_ddm_declaration_add(db, &d, BODY, strlen(BODY), "tech", NULL);
}

/* ---- audit rows ------------------------------------------------------------------- */

struct audit_seen {
	char text[2048];
	int n;
};

static int on_audit(const struct db_audit_row *r, void *arg)
{
	struct audit_seen *a = arg;
	size_t l = strlen(a->text);
	snprintf(a->text + l, sizeof(a->text) - l, "%s %s %s %s|", r->actor, r->action, r->target,
		 r->detail);
	a->n++;
	return 0;
}

static struct audit_seen audit_rows(void)
{
	struct audit_seen a = {"", 0};
	assert_int_equal(db_audit_list(db, 0, 0, on_audit, &a), 0);
	return a;
}

/* ---- the catalogue ---------------------------------------------------------------- */

static int on_declaration(const struct db_declaration *d, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 512 - l, "%s/%s;", db_ddm_kind_name(d->kind), d->identifier);
	return 0;
}

static void test_catalogue(void **state)
{
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, "fr.ardoise.pass", "t1"), got;
	int64_t id = 0;
	char *payload = NULL, list[512] = "";
	size_t len = 0;
	int changed = -1;
	assert_int_equal(db_ddm_declaration_add(db, &d, BODY, strlen(BODY), "tech", &id), 0);
	assert_true(id > 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ardoise.pass", &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(got.kind, DB_DDM_CONFIGURATION);
	assert_string_equal(got.type, CFG);
	assert_string_equal(got.server_token, "t1");
	assert_string_equal(got.created_by, "tech");
	assert_int_equal(got.updated_at, 0);
	/* by the kind the check-in names, or not at all */
	assert_int_equal(db_ddm_declaration_get(db, "configuration", "fr.ardoise.pass", &got), 0);
	assert_int_equal(db_ddm_declaration_get(db, "activation", "fr.ardoise.pass", &got),
			 AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_payload(db, "fr.ardoise.pass", &payload, &len), 0);
	assert_int_equal(len, strlen(BODY));
	assert_string_equal(payload, BODY);
	free(payload);
	assert_int_equal(db_ddm_declaration_payload(db, "nope", &payload, &len), AP_ENOTFOUND);

	/* the same server token: nothing written */
	assert_int_equal(db_ddm_declaration_update(db, "fr.ardoise.pass", &d, BODY, strlen(BODY),
						   "ati", &changed),
			 0);
	assert_int_equal(changed, 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ardoise.pass", &got), 0);
	assert_int_equal(got.updated_at, 0);
	/* new content, new token: the same id */
	struct db_declaration v2 = decl(DB_DDM_CONFIGURATION, CFG, "ignored", "t2");
	const char *body2 = "{\"MinimumLength\": 8}";
	assert_int_equal(db_ddm_declaration_update(db, "fr.ardoise.pass", &v2, body2, strlen(body2),
						   "ati", &changed),
			 0);
	assert_int_equal(changed, 1);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ardoise.pass", &got), 0);
	assert_int_equal(got.id, id);
	assert_string_equal(got.server_token, "t2");
	assert_string_equal(got.updated_by, "ati");
	assert_true(got.updated_at > 0);
	assert_int_equal(db_ddm_declaration_payload(db, "fr.ardoise.pass", &payload, &len), 0);
	assert_string_equal(payload, body2);
	free(payload);
	/* the kind stays */
	struct db_declaration other = decl(DB_DDM_ACTIVATION, ACT, "x", "t3");
	assert_int_equal(db_ddm_declaration_update(db, "fr.ardoise.pass", &other, BODY,
						   strlen(BODY), "ati", NULL),
			 AP_ECONFLICT);
	assert_int_equal(
	    db_ddm_declaration_update(db, "nope", &v2, BODY, strlen(BODY), "ati", NULL),
	    AP_ENOTFOUND);

	assert_int_equal(add(DB_DDM_ACTIVATION, ACT, "fr.ardoise.act", "a1"), 0);
	assert_int_equal(db_ddm_declaration_list(db, on_declaration, list), 0);
	assert_string_equal(list, "activation/fr.ardoise.act;configuration/fr.ardoise.pass;");

	/* removal frees the identifier */
	int64_t n = -1;
	assert_int_equal(db_ddm_assign(db, "fr.ardoise.pass", "fleet", "tech"), 0);
	assert_int_equal(db_ddm_declaration_remove(db, "fr.ardoise.pass", "tech", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ardoise.pass", &got), AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_remove(db, "fr.ardoise.pass", "tech", &n),
			 AP_ENOTFOUND);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "fr.ardoise.pass", "t9"), 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.ardoise.pass", &got), 0);
	assert_true(got.id != id);
}

static void test_catalogue_refusals(void **state)
{
	char id64[65], id65[66], tok65[66];
	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'a', 65);
	id65[65] = '\0';
	memset(tok65, 'f', 65);
	tok65[65] = '\0';
	enum db_ddm_kind k;
	assert_int_equal(db_ddm_kind_parse("configuration", &k), 0);
	assert_int_equal(k, DB_DDM_CONFIGURATION);
	assert_int_equal(db_ddm_kind_parse("profile", &k), AP_EINVAL);
	assert_int_equal(db_ddm_kind_parse("Configuration", &k), AP_EINVAL);
	assert_int_equal(db_ddm_kind_parse(NULL, &k), AP_EINVAL);
	assert_null(db_ddm_kind_name((enum db_ddm_kind)4));

	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, id64, "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, id64, "t"), AP_EEXIST);
	/* a duplicate identifier is refused whatever its kind */
	assert_int_equal(add(DB_DDM_ACTIVATION, ACT, id64, "t"), AP_EEXIST);
	/* 65 octets: the field full, without its NUL */
	struct db_declaration d65 = decl(DB_DDM_CONFIGURATION, CFG, "", "t");
	memcpy(d65.identifier, id65, sizeof(d65.identifier));
	assert_int_equal(db_ddm_declaration_add(db, &d65, BODY, strlen(BODY), "t", NULL),
			 AP_EINVAL);
	d65 = decl(DB_DDM_CONFIGURATION, CFG, "x", "t");
	memcpy(d65.server_token, tok65, sizeof(d65.server_token));
	assert_int_equal(db_ddm_declaration_add(db, &d65, BODY, strlen(BODY), "t", NULL),
			 AP_EINVAL);
	d65 = decl(DB_DDM_CONFIGURATION, CFG, "x", "t");
	memset(d65.type, 'a', sizeof(d65.type));
	assert_int_equal(db_ddm_declaration_add(db, &d65, BODY, strlen(BODY), "t", NULL),
			 AP_EINVAL);
	assert_int_equal(db_ddm_declaration_update(db, id64, &d65, BODY, strlen(BODY), "t", NULL),
			 AP_EINVAL);
	/* named by a string of 65 octets: no such declaration */
	struct db_declaration got;
	assert_int_equal(db_ddm_declaration_get(db, NULL, id65, &got), AP_ENOTFOUND);
	assert_int_equal(db_ddm_assign(db, id65, "fleet", "t"), AP_ENOTFOUND);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "", "t"), AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "a/b", "t"), AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "a b", "t"), AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "x", ""), AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "x", "a b"), AP_EINVAL);
	/* a kind out of the four, a type of another kind or none */
	assert_int_equal(add((enum db_ddm_kind)9, CFG, "x", "t"), AP_EINVAL);
	assert_int_equal(add((enum db_ddm_kind) - 1, CFG, "x", "t"), AP_EINVAL);
	assert_int_equal(add(DB_DDM_ACTIVATION, CFG, "x", "t"), AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, "com.apple.configuration.", "x", "t"),
			 AP_EINVAL);
	assert_int_equal(add(DB_DDM_CONFIGURATION, "fr.ardoise.configuration.x", "x", "t"),
			 AP_EINVAL);
	/* payloads: not JSON, truncated, not an object, a NUL inside, too big */
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, "x", "t");
	const char *bad[] = {"", "nope", "{\"a\": 1", "[1, 2]", "\"text\"", "{} {}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(db_ddm_declaration_add(db, &d, bad[i], strlen(bad[i]), "t", NULL),
				 AP_EINVAL);
	assert_int_equal(db_ddm_declaration_add(db, &d, "{}\0{}", 5, "t", NULL), AP_EINVAL);
	assert_int_equal(db_ddm_declaration_add(db, &d, NULL, 0, "t", NULL), AP_EINVAL);
	/* "{", spaces, "}": one octet over the limit, then at it */
	size_t big = DB_DDM_PAYLOAD_MAX + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	assert_int_equal(db_ddm_declaration_add(db, &d, huge, big, "t", NULL), AP_ETOOBIG);
	huge[1] = '{';
	assert_int_equal(db_ddm_declaration_add(db, &d, huge + 1, big - 1, "t", NULL), 0);
	free(huge);
	/* no actor */
	struct db_declaration e = decl(DB_DDM_CONFIGURATION, CFG, "y", "t");
	assert_int_equal(db_ddm_declaration_add(db, &e, BODY, strlen(BODY), "", NULL), AP_EINVAL);
	assert_int_equal(db_ddm_declaration_add(db, &e, BODY, strlen(BODY), NULL, NULL), AP_EINVAL);
	/* unknown declarations */
	assert_int_equal(db_ddm_assign(db, "nope", "fleet", "t"), AP_ENOTFOUND);
	assert_int_equal(db_ddm_unassign(db, "nope", "fleet", "t"), AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_remove(db, "nope", "t", NULL), AP_ENOTFOUND);
	/* only the two that went in are there */
	char list[512] = "";
	assert_int_equal(db_ddm_declaration_list(db, on_declaration, list), 0);
	char want[512];
	snprintf(want, sizeof(want), "configuration/%s;configuration/x;", id64);
	assert_string_equal(list, want);
}

static void test_audit(void **state)
{
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, "fr.a", "t1");
	assert_int_equal(db_ddm_declaration_add(db, &d, BODY, strlen(BODY), "tech", NULL), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "fr.a", "t1"), AP_EEXIST);
	assert_int_equal(db_ddm_declaration_update(db, "fr.a", &d, BODY, strlen(BODY), "ati", NULL),
			 0); /* unchanged: no row */
	d = decl(DB_DDM_CONFIGURATION, CFG, "fr.a", "t2");
	assert_int_equal(db_ddm_declaration_update(db, "fr.a", &d, BODY, strlen(BODY), "ati", NULL),
			 0);
	assert_int_equal(db_ddm_assign(db, "fr.a", "school:" UAI_A, "ati"), 0);
	assert_int_equal(db_ddm_assign(db, "fr.a", "school:" UAI_A, "ati"), AP_EEXIST);
	assert_int_equal(db_ddm_unassign(db, "fr.a", "school:" UAI_A, "ati"), 0);
	assert_int_equal(db_ddm_unassign(db, "fr.a", "school:" UAI_A, "ati"), AP_ENOTFOUND);
	assert_int_equal(db_ddm_assign(db, "fr.a", "fleet", "tech"), 0);
	assert_int_equal(db_ddm_declaration_remove(db, "fr.a", "tech", NULL), 0);
	struct audit_seen a = audit_rows();
	assert_int_equal(a.n, 6);
	assert_string_equal(
	    a.text, "tech ddm.declaration.add fr.a"
		    " {\"kind\":\"configuration\",\"type\":\"" CFG "\",\"server_token\":\"t1\"}|"
		    "ati ddm.declaration.update fr.a {\"kind\":\"configuration\",\"type\":\"" CFG
		    "\",\"server_token\":\"t2\",\"previous\":\"t1\"}|"
		    "ati ddm.assign school:" UAI_A " {\"declaration\":\"fr.a\"}|"
		    "ati ddm.unassign school:" UAI_A " {\"declaration\":\"fr.a\"}|"
		    "tech ddm.assign fleet {\"declaration\":\"fr.a\"}|"
		    "tech ddm.declaration.remove fr.a {\"kind\":\"configuration\",\"type\":\"" CFG
		    "\",\"server_token\":\"t2\",\"unassigned\":1}|");
	int64_t rows = 0, bad = 0;
	assert_int_equal(db_audit_verify(db, &rows, &bad), 0);
	assert_int_equal(rows, 6);
	/* in the caller's transaction: rolled back with it, row and change */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "fr.b", "t1"), 0);
	db_rollback(db);
	struct db_declaration got;
	assert_int_equal(db_ddm_declaration_get(db, NULL, "fr.b", &got), AP_ENOTFOUND);
	assert_int_equal(audit_rows().n, 6);
}

/* ---- sets ---------------------------------------------------------------------------- */

static const char *const letter = "aXcm"; /* activation, asset, configuration, management */

struct sets_seen {
	char text[1024];
	int n;
};

static int on_set(const struct db_ddm_set *s, void *arg)
{
	struct sets_seen *w = arg;
	size_t l = strlen(w->text);
	l += (size_t)snprintf(w->text + l, sizeof(w->text) - l, "%lld%s[", (long long)s->device_id,
			      s->enabled ? "*" : "");
	for (size_t i = 0; i < s->n; i++)
		l += (size_t)snprintf(w->text + l, sizeof(w->text) - l, "%s%c:%s", i ? "," : "",
				      letter[s->refs[i].kind], s->refs[i].identifier);
	snprintf(w->text + l, sizeof(w->text) - l, "]");
	w->n++;
	return 0;
}

static const char *fleet_sets(struct sets_seen *w, const char *school, int enabled_only)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(db_ddm_sets_recompute(db, school, enabled_only, on_set, w), 0);
	return w->text;
}

static const char *device_set(struct sets_seen *w, int64_t id)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(db_ddm_sets_device(db, id, on_set, w), 0);
	assert_int_equal(w->n, 1);
	return w->text;
}

static void assign(const char *identifier, const char *scope)
{
	assert_int_equal(db_ddm_assign(db, identifier, scope, "tech"), 0);
}

static void test_sets_by_scope(void **state)
{
	struct sets_seen w;
	/* nothing assigned: every enrolled tablet, each with an empty set */
	assert_string_equal(fleet_sets(&w, NULL, 0), "1[]2[]3[]4[]6[]");
	assert_int_equal(add(DB_DDM_ACTIVATION, ACT, "act.fleet", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.5b", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.pupils", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.teachers", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.dev", "t"), 0);
	assert_int_equal(add(DB_DDM_ASSET, AST, "asset.b", "t"), 0);
	assert_int_equal(
	    add(DB_DDM_MANAGEMENT, "com.apple.management.properties", "mgmt.unused", "t"), 0);
	assign("act.fleet", "fleet");
	assign("cfg.a", "school:" UAI_A);
	assign("cfg.a", "device:S4"); /* one declaration by two scopes */
	/* the class typed in another case than the borrower's: the same group */
	assign("cfg.5b", "group:" UAI_A "/5b");
	assign("cfg.pupils", "group:" UAI_A "/pupils");
	assign("cfg.teachers", "group:" UAI_A "/teachers");
	assign("cfg.dev", "device:S3");
	assign("asset.b", "school:" UAI_B);
	/* a group of B named like A's class reaches nobody in A */
	assign("asset.b", "group:" UAI_B "/5B");
	assert_string_equal(fleet_sets(&w, NULL, 0), "1[a:act.fleet,c:cfg.a]"
						     "2[a:act.fleet,c:cfg.5b,c:cfg.a,c:cfg.pupils]"
						     "3[a:act.fleet,X:asset.b,c:cfg.dev]"
						     "4[a:act.fleet,c:cfg.a]"
						     "6[a:act.fleet,c:cfg.a,c:cfg.teachers]");
	/* a collège's enrolled tablets; one tablet, enrolled or not */
	assert_string_equal(fleet_sets(&w, UAI_A, 0), "1[a:act.fleet,c:cfg.a]"
						      "2[a:act.fleet,c:cfg.5b,c:cfg.a,c:cfg.pupils]"
						      "6[a:act.fleet,c:cfg.a,c:cfg.teachers]");
	assert_string_equal(fleet_sets(&w, "0000000Z", 0), "");
	assert_string_equal(device_set(&w, 5), "5[a:act.fleet,c:cfg.a]");
	assert_string_equal(device_set(&w, 2), "2[a:act.fleet,c:cfg.5b,c:cfg.a,c:cfg.pupils]");
	assert_int_equal(db_ddm_sets_device(db, 99, on_set, &w), AP_ENOTFOUND);
	assert_int_equal(db_ddm_sets_device(db, 0, on_set, &w), AP_ENOTFOUND);
	/* only the tablets with DDM enabled */
	assert_int_equal(db_ddm_enable(db, 3), 0);
	assert_string_equal(fleet_sets(&w, NULL, 1), "3*[a:act.fleet,X:asset.b,c:cfg.dev]");

	/* a tablet moved to the other collège gets the other set (its loan's
	 * person stays in A: no group of B either) */
	exec("UPDATE device SET school = '" UAI_B "' WHERE id = 2");
	assert_string_equal(device_set(&w, 2), "2[a:act.fleet,X:asset.b]");
	exec("UPDATE device SET school = '" UAI_A "' WHERE id = 2");
	/* a loan that ends takes the tablet out of its groups */
	exec("UPDATE loan SET state = 'closed' WHERE device_id = 6");
	assert_string_equal(device_set(&w, 6), "6[a:act.fleet,c:cfg.a]");

	/* a declaration removed disappears from every set */
	assert_int_equal(db_ddm_declaration_remove(db, "cfg.a", "tech", NULL), 0);
	assert_string_equal(fleet_sets(&w, NULL, 0), "1[a:act.fleet]"
						     "2[a:act.fleet,c:cfg.5b,c:cfg.pupils]"
						     "3*[a:act.fleet,X:asset.b,c:cfg.dev]"
						     "4[a:act.fleet]"
						     "6[a:act.fleet]");
	/* unassigned: gone from that scope only */
	assert_int_equal(db_ddm_unassign(db, "act.fleet", "fleet", "tech"), 0);
	assert_int_equal(db_ddm_unassign(db, "act.fleet", "fleet", "tech"), AP_ENOTFOUND);
	assert_string_equal(device_set(&w, 4), "4[]");
	/* a callback that stops the walk */
	memset(&w, 0, sizeof(w));
	assert_int_equal(db_ddm_sets_recompute(db, NULL, 0, on_set, &w), 0);
	assert_int_equal(w.n, 5);
}

static int add_models(const char *identifier, const char *token, const char *models)
{
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, identifier, token);
	snprintf(d.models, sizeof(d.models), "%s", models);
	return db_ddm_declaration_add(db, &d, BODY, strlen(BODY), "tech", NULL);
}

/* The models filter (migration 18): a filtered declaration reaches only the
 * tablets whose product_name it lists. */
static void test_models_filter(void **state)
{
	struct sets_seen w;
	struct db_declaration got;
	exec("UPDATE device SET product_name = CASE id WHEN 1 THEN 'iPad13,18' WHEN 2 THEN"
	     " 'iPad7,11' WHEN 3 THEN 'IPAD13,18' WHEN 4 THEN '' ELSE 'iPad8,1' END");
	assert_int_equal(add(DB_DDM_ACTIVATION, ACT, "act.fleet", "t"), 0);
	assert_int_equal(add_models("plan.new", "t", "[\"iPad13,18\", \"iPad8,1\"]"), 0);
	assert_int_equal(add_models("plan.none", "t", "[]"), 0);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "plan.new", &got), 0);
	assert_string_equal(got.models, "[\"iPad13,18\", \"iPad8,1\"]");
	assert_int_equal(db_ddm_declaration_get(db, NULL, "act.fleet", &got), 0);
	assert_string_equal(got.models, "");
	/* not assigned: reaches nobody */
	assign("act.fleet", "fleet");
	assert_string_equal(
	    fleet_sets(&w, NULL, 0),
	    "1[a:act.fleet]2[a:act.fleet]3[a:act.fleet]4[a:act.fleet]6[a:act.fleet]");
	assign("plan.new", "fleet");
	assign("plan.none", "school:" UAI_A);
	/* 1 and 6 listed, 3 listed in another case, 2 not listed, 4 model unknown */
	assert_string_equal(fleet_sets(&w, NULL, 0), "1[a:act.fleet,c:plan.new]"
						     "2[a:act.fleet]"
						     "3[a:act.fleet,c:plan.new]"
						     "4[a:act.fleet]"
						     "6[a:act.fleet,c:plan.new]");
	assert_string_equal(fleet_sets(&w, UAI_A, 0), "1[a:act.fleet,c:plan.new]"
						      "2[a:act.fleet]"
						      "6[a:act.fleet,c:plan.new]");
	assert_string_equal(device_set(&w, 5), "5[a:act.fleet,c:plan.new]");
	assert_string_equal(device_set(&w, 2), "2[a:act.fleet]");
	/* a new product_name (DeviceInformation) moves the tablet in or out */
	exec("UPDATE device SET product_name = 'iPad8,1' WHERE id = 2");
	assert_string_equal(device_set(&w, 2), "2[a:act.fleet,c:plan.new]");
	/* the filter changed alone: an update that counts, then removed */
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, "", "t");
	int changed = -1;
	snprintf(d.models, sizeof(d.models), "[\"iPad7,11\"]");
	assert_int_equal(
	    db_ddm_declaration_update(db, "plan.new", &d, BODY, strlen(BODY), "tech", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(
	    db_ddm_declaration_update(db, "plan.new", &d, BODY, strlen(BODY), "tech", &changed), 0);
	assert_int_equal(changed, 0);
	assert_string_equal(fleet_sets(&w, NULL, 0), "1[a:act.fleet]"
						     "2[a:act.fleet]"
						     "3[a:act.fleet]"
						     "4[a:act.fleet]"
						     "6[a:act.fleet]");
	exec("UPDATE device SET product_name = 'iPad7,11' WHERE id = 4");
	assert_string_equal(device_set(&w, 4), "4[a:act.fleet,c:plan.new]");
	d.models[0] = '\0'; /* no filter any more: every tablet */
	assert_int_equal(
	    db_ddm_declaration_update(db, "plan.new", &d, BODY, strlen(BODY), "tech", &changed), 0);
	assert_int_equal(changed, 1);
	assert_string_equal(fleet_sets(&w, UAI_B, 0), "3[a:act.fleet,c:plan.new]");
	/* bad filters are refused, nothing stored */
	const char *bad[] = {"{}",     "\"iPad8,1\"",	  "[1]",
			     "[\"\"]", "[\"iPad 8\"]",	  "[\"a\",",
			     "[null]", "[[\"iPad8,1\"]]", "[\"\u00e9\"]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(d.models, sizeof(d.models), "%s", bad[i]);
		assert_int_equal(db_ddm_declaration_update(db, "plan.new", &d, BODY, strlen(BODY),
							   "tech", &changed),
				 AP_EINVAL);
		assert_int_equal(add_models("plan.bad", "t", bad[i]), AP_EINVAL);
	}
	char big[DB_DDM_MODELS_MAX + 64] = "[";
	for (int i = 0; i < DB_DDM_MODELS_N + 1; i++) /* one too many */
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"i%d\"", i ? "," : "",
			 i);
	snprintf(big + strlen(big), sizeof(big) - strlen(big), "]");
	assert_int_equal(add_models("plan.bad", "t", big), AP_EINVAL);
	memset(d.models, 'x', sizeof(d.models)); /* no NUL: too long */
	assert_int_equal(
	    db_ddm_declaration_update(db, "plan.new", &d, BODY, strlen(BODY), "tech", &changed),
	    AP_EINVAL);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "plan.bad", &got), AP_ENOTFOUND);
	assert_int_equal(db_ddm_declaration_get(db, NULL, "plan.new", &got), 0);
	assert_string_equal(got.models, "");
}

static int stop_first(const struct db_ddm_set *s, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static int on_assignment(const struct db_ddm_assignment *a, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 512 - l, "%s@%s;", a->identifier, a->scope);
	return 0;
}

static void test_assignments(void **state)
{
	char scope128[129], list[512] = "";
	memset(scope128, 'x', 128);
	scope128[128] = '\0';
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.b", "t"), 0);
	assert_int_equal(db_ddm_assign(db, "cfg.a", "", "t"), AP_EINVAL);
	assert_int_equal(db_ddm_assign(db, "cfg.a", NULL, "t"), AP_EINVAL);
	assert_int_equal(db_ddm_assign(db, "cfg.a", scope128, "t"), AP_EINVAL);
	assert_int_equal(db_ddm_assign(db, "cfg.a", "school:\n" UAI_A, "t"), AP_EINVAL);
	assert_int_equal(db_ddm_assign(db, "cfg.a", "fleet", ""), AP_EINVAL);
	scope128[127] = '\0';
	assert_int_equal(db_ddm_assign(db, "cfg.a", scope128, "t"), 0);
	assign("cfg.a", "fleet");
	assign("cfg.b", "fleet");
	assign("cfg.b", "device:S1");
	assert_int_equal(db_ddm_assignment_list(db, "fleet", NULL, on_assignment, list), 0);
	assert_string_equal(list, "cfg.a@fleet;cfg.b@fleet;");
	list[0] = '\0';
	assert_int_equal(db_ddm_assignment_list(db, NULL, "cfg.b", on_assignment, list), 0);
	assert_string_equal(list, "cfg.b@device:S1;cfg.b@fleet;");
	list[0] = '\0';
	assert_int_equal(db_ddm_declaration_remove(db, "cfg.b", "t", NULL), 0);
	assert_int_equal(db_ddm_assignment_list(db, "fleet", NULL, on_assignment, list), 0);
	assert_string_equal(list, "cfg.a@fleet;");
	int n = 0;
	assert_int_equal(db_ddm_sets_recompute(db, NULL, 0, stop_first, &n), 0);
	assert_int_equal(n, 1);
	/* more scopes than the first hash table holds (it grows; each scope
	 * keeps its declarations), more declarations than a 64-bit word */
	char scope[32], id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(scope, sizeof(scope), "device:X%d", i);
		assign("cfg.a", scope);
		snprintf(id, sizeof(id), "cfg.n%03d", i);
		assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, id, "t"), 0);
		assign(id, i == 70 ? "device:S1" : scope);
	}
	assign("cfg.n099", "device:S1");
	struct sets_seen w;
	assert_string_equal(device_set(&w, 1), "1[c:cfg.a,c:cfg.n070,c:cfg.n099]");
	assert_string_equal(device_set(&w, 2), "2[c:cfg.a]");
}

/* ---- tokens --------------------------------------------------------------------------- */

/* What the daemon will do with ap_ddm_declarations_token(): a digest of
 * the set (here FNV-1a, not cryptographic), stored, the changed ones
 * counted. */
struct recompute {
	int changed;
	int64_t changed_ids[16];
};

static int store_token(const struct db_ddm_set *s, void *arg)
{
	struct recompute *r = arg;
	uint64_t h = 1469598103934665603ull;
	char token[17];
	for (size_t i = 0; i < s->n; i++) {
		const char *parts[] = {db_ddm_kind_name(s->refs[i].kind), s->refs[i].identifier,
				       s->refs[i].server_token};
		for (size_t p = 0; p < 3; p++)
			for (const char *c = parts[p];; c++) {
				h = (h ^ (unsigned char)*c) * 1099511628211ull;
				if (*c == '\0')
					break;
			}
	}
	snprintf(token, sizeof(token), "%016llx", (unsigned long long)h);
	int changed = -1;
	assert_int_equal(db_ddm_token_store(db, s->device_id, token, &changed), 0);
	/* the stored token came with the set: equal exactly when unchanged */
	assert_int_equal(changed, strcmp(s->token, token) != 0);
	if (changed)
		r->changed_ids[r->changed++] = s->device_id;
	return 0;
}

static int recompute(void)
{
	struct recompute r = {0};
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_ddm_sets_recompute(db, NULL, 0, store_token, &r), 0);
	assert_int_equal(db_commit(db), 0);
	return r.changed;
}

static void test_token_changes_with_the_set(void **state)
{
	struct db_ddm_state st;
	int changed = -1;
	assert_int_equal(db_ddm_state_get(db, 1, &st), AP_ENOTFOUND);
	assert_int_equal(db_ddm_token_store(db, 1, "abc", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_string_equal(st.token, "abc");
	assert_int_equal(st.token_version, 1);
	assert_true(st.token_at > 0);
	assert_int_equal(st.enabled_at, 0);
	assert_int_equal(db_ddm_token_store(db, 1, "abc", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_int_equal(st.token_version, 1);
	assert_int_equal(db_ddm_token_store(db, 1, "abd", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_int_equal(st.token_version, 2);
	/* refusals: nothing stored */
	char t256[257], t257[258];
	memset(t256, 'a', 256);
	t256[256] = '\0';
	memset(t257, 'a', 257);
	t257[257] = '\0';
	assert_int_equal(db_ddm_token_store(db, 1, "", &changed), AP_EINVAL);
	assert_int_equal(db_ddm_token_store(db, 1, NULL, &changed), AP_EINVAL);
	assert_int_equal(db_ddm_token_store(db, 1, t257, &changed), AP_EINVAL);
	assert_int_equal(db_ddm_token_store(db, 99, "abc", &changed), AP_ENOTFOUND);
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_string_equal(st.token, "abd");
	assert_int_equal(db_ddm_token_store(db, 1, t256, NULL), 0);
	assert_int_equal(db_ddm_enable(db, 99), AP_ENOTFOUND);
	assert_int_equal(db_ddm_synced(db, 99), AP_ENOTFOUND);
	exec("DELETE FROM device_ddm");

	/* the whole fleet: first tokens, then only what a change touches */
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t1"), 0);
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.b", "t1"), 0);
	assign("cfg.a", "school:" UAI_A);
	assign("cfg.b", "fleet");
	assert_int_equal(recompute(), 5);
	assert_int_equal(recompute(), 0);
	/* an update that keeps the server token changes no set */
	struct db_declaration d = decl(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t1");
	assert_int_equal(db_ddm_declaration_update(db, "cfg.a", &d, BODY, strlen(BODY), "t", NULL),
			 0);
	assert_int_equal(recompute(), 0);
	/* a new server token: A's three tablets */
	d = decl(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t2");
	assert_int_equal(db_ddm_declaration_update(db, "cfg.a", &d, BODY, strlen(BODY), "t", NULL),
			 0);
	struct recompute r = {0};
	assert_int_equal(db_ddm_sets_recompute(db, NULL, 0, store_token, &r), 0);
	assert_int_equal(r.changed, 3);
	assert_int_equal(r.changed_ids[0], 1);
	assert_int_equal(r.changed_ids[1], 2);
	assert_int_equal(r.changed_ids[2], 6);
	/* assigned to a group: its one tablet; to a scope already covering
	 * every tablet that has it: none */
	assign("cfg.a", "group:" UAI_A "/5B");
	assert_int_equal(recompute(), 0);
	assign("cfg.b", "group:" UAI_A "/pupils");
	assert_int_equal(recompute(), 0);
	assert_int_equal(add(DB_DDM_ACTIVATION, ACT, "act", "t1"), 0);
	assign("act", "group:" UAI_A "/pupils");
	memset(&r, 0, sizeof(r));
	assert_int_equal(db_ddm_sets_recompute(db, NULL, 0, store_token, &r), 0);
	assert_int_equal(r.changed, 1);
	assert_int_equal(r.changed_ids[0], 2);
	assert_int_equal(db_ddm_state_get(db, 2, &st), 0);
	assert_int_equal(st.token_version, 3);
	assert_int_equal(db_ddm_state_get(db, 4, &st), 0);
	assert_int_equal(st.token_version, 1);
}

/* ---- status ---------------------------------------------------------------------------- */

static int on_item(const char *name, const char *value, int64_t reported_at, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s=%s;", name, value);
	return 0;
}

static int on_decl_state(const struct db_ddm_decl_state *d, int64_t reported_at, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%c:%s/%s/%d/%s/%s;", letter[d->kind], d->identifier,
		 d->server_token, d->active, d->valid, d->reasons);
	return 0;
}

static const char *items_of(int64_t dev, char out[1024])
{
	out[0] = '\0';
	assert_int_equal(db_ddm_items(db, dev, on_item, out), 0);
	return out;
}

static const char *decls_of(int64_t dev, char out[1024])
{
	out[0] = '\0';
	assert_int_equal(db_ddm_decl_states(db, dev, on_decl_state, out), 0);
	return out;
}

static void test_status_reports(void **state)
{
	char buf[1024];
	struct db_ddm_state st;
	struct db_ddm_item full_items[] = {
	    {"device.operating-system.version", "\"17.5\""},
	    {"softwareupdate.install-state", "\"downloading\""},
	    {"softwareupdate.pending-version",
	     "{\"os-version\":\"17.6.1\",\"build-version\":\"21G93\"}"},
	};
	struct db_ddm_decl_state full_decls[] = {
	    {DB_DDM_CONFIGURATION, "ardoise.su", "tok1", 1, "valid", NULL, 0},
	    {DB_DDM_ACTIVATION, "ardoise.act", "tok2", 0, "invalid",
	     "[{\"code\":\"Error.ConfigurationCannotBeApplied\"}]", 0},
	};
	struct db_ddm_report full = {1, full_items, 3, full_decls, 2};
	assert_int_equal(db_ddm_status_apply(db, 1, &full), 0);
	assert_string_equal(items_of(1, buf),
			    "device.operating-system.version=\"17.5\";"
			    "softwareupdate.install-state=\"downloading\";"
			    "softwareupdate.pending-version={\"os-version\":\"17.6.1\","
			    "\"build-version\":\"21G93\"};");
	assert_string_equal(decls_of(1, buf), "a:ardoise.act/tok2/0/invalid/"
					      "[{\"code\":\"Error.ConfigurationCannotBeApplied\"}];"
					      "c:ardoise.su/tok1/1/valid/[];");
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_true(st.status_at > 0);
	assert_int_equal(st.enabled_at, 0);

	/* incremental: upserts, a declaration removed, the rest stays */
	struct db_ddm_item inc_items[] = {
	    {"softwareupdate.install-state", "\"installing\""},
	    {"passcode.is-compliant", "true"},
	};
	struct db_ddm_decl_state inc_decls[] = {
	    {DB_DDM_ACTIVATION, "ardoise.act", NULL, 0, NULL, NULL, 1},
	    {DB_DDM_CONFIGURATION, "ardoise.su", "tok3", 0, "unknown", "[]", 0},
	};
	struct db_ddm_report inc = {0, inc_items, 2, inc_decls, 2};
	assert_int_equal(db_ddm_status_apply(db, 1, &inc), 0);
	assert_string_equal(items_of(1, buf),
			    "device.operating-system.version=\"17.5\";"
			    "passcode.is-compliant=true;"
			    "softwareupdate.install-state=\"installing\";"
			    "softwareupdate.pending-version={\"os-version\":\"17.6.1\","
			    "\"build-version\":\"21G93\"};");
	assert_string_equal(decls_of(1, buf), "c:ardoise.su/tok3/0/unknown/[];");

	/* a full report replaces everything, declarations included */
	struct db_ddm_item one[] = {{"device.operating-system.version", "\"17.6.1\""}};
	struct db_ddm_report full2 = {1, one, 1, NULL, 0};
	assert_int_equal(db_ddm_status_apply(db, 1, &full2), 0);
	assert_string_equal(items_of(1, buf), "device.operating-system.version=\"17.6.1\";");
	assert_string_equal(decls_of(1, buf), "");
	/* an empty full report empties it */
	struct db_ddm_report empty = {1, NULL, 0, NULL, 0};
	assert_int_equal(db_ddm_status_apply(db, 1, &empty), 0);
	assert_string_equal(items_of(1, buf), "");
	/* other tablets untouched */
	assert_int_equal(db_ddm_status_apply(db, 2, &full), 0);
	assert_int_equal(db_ddm_status_apply(db, 1, &full2), 0);
	assert_string_equal(decls_of(2, buf), "a:ardoise.act/tok2/0/invalid/"
					      "[{\"code\":\"Error.ConfigurationCannotBeApplied\"}];"
					      "c:ardoise.su/tok1/1/valid/[];");

	/* forgetting a tablet (a new enrolment) */
	assert_int_equal(db_ddm_enable(db, 2), 0);
	assert_int_equal(db_ddm_forget_device(db, 2), 0);
	assert_string_equal(items_of(2, buf), "");
	assert_string_equal(decls_of(2, buf), "");
	assert_int_equal(db_ddm_state_get(db, 2, &st), AP_ENOTFOUND);
	assert_string_equal(items_of(1, buf), "device.operating-system.version=\"17.6.1\";");
}

/* The reported_at of an item or a declaration's state (0 when absent). */
static int on_item_at(const char *name, const char *value, int64_t at, void *arg)
{
	const char **want = arg;
	if (strcmp(name, want[0]) == 0)
		*(int64_t *)(void *)want[1] = at;
	return 0;
}

static int64_t item_at(int64_t dev, const char *name)
{
	int64_t at = 0;
	const char *want[2] = {name, (const char *)(void *)&at};
	assert_int_equal(db_ddm_items(db, dev, on_item_at, want), 0);
	return at;
}

static int on_decl_at(const struct db_ddm_decl_state *d, int64_t at, void *arg)
{
	*(int64_t *)arg = at;
	return 1;
}

/* A full report that says again what is stored rewrites nothing: each
 * value keeps the time it was first reported as it is; a changed value
 * gets the report's time; what the report does not name goes. */
static void test_full_report_keeps_unchanged(void **state)
{
	char buf[1024];
	struct db_ddm_state st;
	struct db_ddm_item a[] = {
	    {"device.operating-system.version", "\"18.6.2\""},
	    {"softwareupdate.install-state", "\"downloading\""},
	    {"passcode.is-compliant", "true"},
	};
	struct db_ddm_decl_state d[] = {
	    {DB_DDM_CONFIGURATION, "ardoise.su", "tok1", 1, "valid", NULL, 0},
	};
	struct db_ddm_report r1 = {1, a, 3, d, 1};
	db_clock_freeze(1000000);
	assert_int_equal(db_ddm_status_apply(db, 1, &r1), 0);
	/* the same report later, but the install state moved and the
	 * passcode item is not named any more */
	struct db_ddm_item b[] = {
	    {"device.operating-system.version", "\"18.6.2\""},
	    {"softwareupdate.install-state", "\"prepared\""},
	};
	struct db_ddm_report r2 = {1, b, 2, d, 1};
	db_clock_freeze(1000600);
	assert_int_equal(db_ddm_status_apply(db, 1, &r2), 0);
	db_clock_freeze(0);
	assert_int_equal(item_at(1, "device.operating-system.version"), 1000000);
	assert_int_equal(item_at(1, "softwareupdate.install-state"), 1000600);
	assert_int_equal(item_at(1, "passcode.is-compliant"), 0);
	assert_string_equal(items_of(1, buf), "device.operating-system.version=\"18.6.2\";"
					      "softwareupdate.install-state=\"prepared\";");
	int64_t at = 0;
	assert_int_equal(db_ddm_decl_states(db, 1, on_decl_at, &at), 0);
	assert_int_equal(at, 1000000);
	assert_int_equal(db_ddm_state_get(db, 1, &st), 0);
	assert_int_equal(st.status_at, 1000600); /* the tablet did report */
}

/* The tablets that should have DDM and do not: enrolled, iPadOS 16 or
 * later, DDM off, no DeclarativeManagement pending. */
static void test_not_enabled(void **state)
{
	int64_t *ids = NULL;
	size_t n = 0;
	exec("UPDATE device SET os_version = '17.5' WHERE id IN (1, 2, 3, 5);"
	     "UPDATE device SET os_version = '15.8' WHERE id = 4;"
	     "UPDATE device SET os_version = '16' WHERE id = 6;");
	assert_int_equal(db_ddm_not_enabled(db, 100, &ids, &n), 0);
	/* 5 is not enrolled, 4 runs iPadOS 15 */
	assert_int_equal(n, 4);
	assert_true(ids[0] == 1 && ids[1] == 2 && ids[2] == 3 && ids[3] == 6);
	free(ids);
	/* DDM on (1), a command pending (2), one that expired (3) */
	assert_int_equal(db_ddm_enable(db, 1), 0);
	exec("INSERT INTO command(uuid, device_id, type, status, payload, dedupe, created_at,"
	     " expires_at) VALUES ('u2', 2, 'DeclarativeManagement', 'sent', '', 'ddm', 0, 9),"
	     " ('u3', 3, 'DeclarativeManagement', 'expired', '', 'ddm', 0, 9),"
	     " ('u6', 6, 'DeviceInformation', 'queued', '', '', 0, 9);");
	assert_int_equal(db_ddm_not_enabled(db, 100, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_true(ids[0] == 3 && ids[1] == 6);
	free(ids);
	/* at most limit, by id */
	assert_int_equal(db_ddm_not_enabled(db, 1, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 3);
	free(ids);
	assert_int_equal(db_ddm_not_enabled(db, 0, &ids, &n), AP_EINVAL);
	/* none */
	exec("UPDATE device SET os_version = '15.8';");
	assert_int_equal(db_ddm_not_enabled(db, 100, &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ids);
}

/* Each bad report is refused whole: tablet 1 keeps what it had. */
static void refused(const struct db_ddm_report *r, int want)
{
	char buf[1024];
	assert_int_equal(db_ddm_status_apply(db, 1, r), want);
	assert_string_equal(items_of(1, buf), "passcode.is-present=true;");
	assert_string_equal(decls_of(1, buf), "c:ok/t/1/valid/[];");
}

static void test_status_refusals(void **state)
{
	struct db_ddm_item keep[] = {{"passcode.is-present", "true"}};
	struct db_ddm_decl_state ok = {DB_DDM_CONFIGURATION, "ok", "t", 1, "valid", NULL, 0};
	struct db_ddm_report base = {1, keep, 1, &ok, 1};
	assert_int_equal(db_ddm_status_apply(db, 1, &base), 0);

	char name129[130], id65[66], *bigval = malloc(DB_DDM_VALUE_MAX + 2);
	memset(id65, 'a', 65);
	id65[65] = '\0';
	memset(name129, 'a', 129);
	name129[129] = '\0';
	memset(bigval, ' ', DB_DDM_VALUE_MAX + 1);
	bigval[0] = '1';
	bigval[DB_DDM_VALUE_MAX + 1] = '\0';
	struct {
		const char *name, *value;
		int rc;
	} bad_items[] = {
	    {"", "1", AP_EINVAL},
	    {"a b", "1", AP_EINVAL},
	    {"a/b", "1", AP_EINVAL},
	    {name129, "1", AP_EINVAL},
	    {DB_DDM_DECLARATIONS_ITEM, "{}", AP_EINVAL},
	    {"x.y", "{\"a\":", AP_EINVAL}, /* truncated */
	    {"x.y", "downloading", AP_EINVAL},
	    {"x.y", "", AP_EINVAL},
	    {"x.y", NULL, AP_EINVAL},
	    {NULL, "1", AP_EINVAL},
	    {"x.y", bigval, AP_ETOOBIG},
	};
	for (size_t i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		/* a good item first: it must not stay either */
		struct db_ddm_item two[] = {{"good.item", "1"},
					    {bad_items[i].name, bad_items[i].value}};
		struct db_ddm_report r = {0, two, 2, NULL, 0};
		refused(&r, bad_items[i].rc);
		r.full = 1;
		refused(&r, bad_items[i].rc);
	}
	free(bigval);
	char *bigreasons = malloc(DB_DDM_REASONS_MAX + 2);
	memset(bigreasons, ' ', DB_DDM_REASONS_MAX + 1);
	bigreasons[0] = '[';
	bigreasons[DB_DDM_REASONS_MAX] = ']';
	bigreasons[DB_DDM_REASONS_MAX + 1] = '\0';
	struct db_ddm_decl_state bad_decls[] = {
	    {(enum db_ddm_kind)7, "x", "t", 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "", "t", 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x/y", "t", 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, id65, "t", 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", id65, 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", "", 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", NULL, 1, "valid", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", "t", 1, "maybe", NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", "t", 1, NULL, NULL, 0},
	    {DB_DDM_CONFIGURATION, "x", "t", 1, "valid", "{}", 0},
	    {DB_DDM_CONFIGURATION, "x", "t", 1, "valid", "[{\"code\":", 0},
	    {DB_DDM_CONFIGURATION, NULL, "t", 1, "valid", NULL, 1},
	};
	for (size_t i = 0; i < sizeof(bad_decls) / sizeof(bad_decls[0]); i++) {
		struct db_ddm_decl_state two[] = {ok, bad_decls[i]};
		struct db_ddm_report r = {1, keep, 1, two, 2};
		refused(&r, AP_EINVAL);
	}
	struct db_ddm_decl_state big = {DB_DDM_CONFIGURATION, "x", "t", 1, "valid", bigreasons, 0};
	struct db_ddm_report rb = {0, NULL, 0, &big, 1};
	refused(&rb, AP_ETOOBIG);
	bigreasons[DB_DDM_REASONS_MAX] = ' ';
	bigreasons[DB_DDM_REASONS_MAX - 1] = ']';
	bigreasons[DB_DDM_REASONS_MAX] = '\0';
	rb.full = 1;
	big.identifier = "ok";
	assert_int_equal(db_ddm_status_apply(db, 1, &rb), 0); /* at the limit */
	free(bigreasons);
	assert_int_equal(db_ddm_status_apply(db, 1, &base), 0);

	/* too many items, a missing array, no report, no such tablet */
	struct db_ddm_item *many = calloc(DB_DDM_REPORT_MAX + 1, sizeof(*many));
	for (size_t i = 0; i <= DB_DDM_REPORT_MAX; i++)
		many[i] = (struct db_ddm_item){"a.b", "1"};
	struct db_ddm_report rm = {1, many, DB_DDM_REPORT_MAX + 1, NULL, 0};
	refused(&rm, AP_ELIMIT);
	rm.n_items = DB_DDM_REPORT_MAX; /* the same item each time: one row */
	rm.full = 0;
	assert_int_equal(db_ddm_status_apply(db, 1, &rm), 0);
	free(many);
	assert_int_equal(db_ddm_status_apply(db, 1, &base), 0);
	struct db_ddm_report rn = {0, NULL, 2, NULL, 0};
	refused(&rn, AP_EINVAL);
	refused(NULL, AP_EINVAL);
	assert_int_equal(db_ddm_status_apply(db, 99, &base), AP_ENOTFOUND);
	char buf[1024];
	assert_string_equal(items_of(99, buf), "");
}

/* ---- counts ------------------------------------------------------------------------------ */

static int on_count(const char *school, enum db_ddm_reporting reporting, const char *value,
		    int64_t count, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s:%d:%s:%lld;", school[0] ? school : "-", (int)reporting,
		 value ? value : "-", (long long)count);
	return 0;
}

static void report_state(int64_t dev, const char *value)
{
	struct db_ddm_item it[] = {{"softwareupdate.install-state", value},
				   {"device.operating-system.version", "\"17.5\""}};
	struct db_ddm_report r = {0, it, 2, NULL, 0};
	assert_int_equal(db_ddm_status_apply(db, dev, &r), 0);
}

static void test_counts(void **state)
{
	char out[1024] = "";
	const char *only_a[] = {UAI_A};
	const char *bad[] = {"nope"};
	/* 1, 2, 6 in A; 3 in B; 4 nowhere; 5 (A) not enrolled */
	for (int64_t d = 1; d <= 5; d++)
		if (d != 2)
			assert_int_equal(db_ddm_enable(db, d), 0);
	report_state(1, "\"downloading\"");
	report_state(3, "\"downloading\"");
	report_state(4, "\"failed\"");
	report_state(5, "\"installing\"");
	/* tablet 2 reported once without DDM on record: still "no DDM" */
	report_state(2, "\"installing\"");
	assert_int_equal(
	    db_ddm_item_counts(db, "softwareupdate.install-state", NULL, NULL, 0, on_count, out),
	    0);
	assert_string_equal(out, "-:2:\"failed\":1;"
				 "0131266F:0:-:2;"
				 "0131266F:2:\"downloading\":1;"
				 "0750001U:2:\"downloading\":1;");
	/* enabled, silent: 6 enabled and reporting nothing */
	assert_int_equal(db_ddm_enable(db, 6), 0);
	out[0] = '\0';
	assert_int_equal(
	    db_ddm_item_counts(db, "softwareupdate.install-state", NULL, only_a, 1, on_count, out),
	    0);
	assert_string_equal(out, "0131266F:0:-:1;0131266F:1:-:1;0131266F:2:\"downloading\":1;");
	out[0] = '\0';
	assert_int_equal(db_ddm_item_counts(db, "never.reported", NULL, only_a, 1, on_count, out),
			 0);
	assert_string_equal(out, "0131266F:0:-:1;0131266F:1:-:2;");
	assert_int_equal(db_ddm_item_counts(db, "bad item", NULL, NULL, 0, on_count, out),
			 AP_EINVAL);
	assert_int_equal(db_ddm_item_counts(db, NULL, NULL, NULL, 0, on_count, out), AP_EINVAL);
	assert_int_equal(db_ddm_item_counts(db, "a.b", NULL, bad, 1, on_count, out), AP_EINVAL);

	/* one member of an object value: the failures by reason */
	const char *reasons[] = {"{\"count\":1,\"reason\":\"no space\",\"timestamp\":\"x\"}",
				 "{\"count\":3,\"reason\":\"no space\",\"timestamp\":\"y\"}",
				 "{\"count\":1,\"reason\":\"network\"}", "{\"count\":2}"};
	for (int64_t d = 1; d <= 4; d++) {
		struct db_ddm_item it[] = {{"softwareupdate.failure-reason", reasons[d - 1]}};
		struct db_ddm_report r = {0, it, 1, NULL, 0};
		assert_int_equal(db_ddm_status_apply(db, d, &r), 0);
	}
	out[0] = '\0';
	assert_int_equal(db_ddm_item_counts(db, "softwareupdate.failure-reason", "$.reason", NULL,
					    0, on_count, out),
			 0);
	/* 1 (A: no space), 3 (B: network), 4 (reported, no reason); 2 (no
	 * DDM) and 6 (silent) */
	assert_string_equal(out, "-:2:-:1;"
				 "0131266F:0:-:1;0131266F:1:-:1;0131266F:2:\"no space\":1;"
				 "0750001U:2:\"network\":1;");
	out[0] = '\0';
	assert_int_equal(db_ddm_item_counts(db, "softwareupdate.failure-reason", "$.count", only_a,
					    1, on_count, out),
			 0);
	assert_string_equal(out, "0131266F:0:-:1;0131266F:1:-:1;0131266F:2:1:1;");
	/* paths refused: not from "$", empty parts, not an index, too long */
	const char *bad_paths[] = {
	    "",	       "reason",
	    "$.",      "$..a",
	    "$[",      "$[a]",
	    "$[1",     "$.a b",
	    "$.a\"",   "$]",
	    "$.a[0]]", "$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
		assert_int_equal(
		    db_ddm_item_counts(db, "a.b", bad_paths[i], NULL, 0, on_count, out), AP_EINVAL);
	assert_int_equal(db_ddm_item_counts(db, "a.b", "$.a[0].b_c-d", NULL, 0, on_count, out), 0);
	assert_int_equal(db_ddm_item_counts(db, "a.b", "$", NULL, 0, on_count, out), 0);
}

static int on_decl_count(const char *school, enum db_ddm_reporting reporting, const char *valid,
			 int active, const char *reasons, int64_t count, void *arg)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s:%d:%s:%d:%s:%lld;", school[0] ? school : "-",
		 (int)reporting, valid ? valid : "-", active, reasons ? reasons : "-",
		 (long long)count);
	return 0;
}

static void test_decl_counts(void **state)
{
	char out[1024] = "";
	const char *only_b[] = {UAI_B};
	const char *fail = "[{\"code\":\"Error.ConfigurationCannotBeApplied\"}]";
	struct db_ddm_decl_state ok = {DB_DDM_CONFIGURATION, "su", "t", 1, "valid", NULL, 0};
	struct db_ddm_decl_state bad = {DB_DDM_CONFIGURATION, "su", "t", 0, "invalid", fail, 0};
	struct db_ddm_decl_state other = {DB_DDM_CONFIGURATION, "other", "t", 1, "valid", NULL, 0};
	for (int64_t d = 1; d <= 6; d++)
		if (d != 2)
			assert_int_equal(db_ddm_enable(db, d), 0);
	/* 1, 3: valid; 4: invalid; 6: reports only another declaration */
	struct db_ddm_report r1 = {1, NULL, 0, &ok, 1}, r4 = {1, NULL, 0, &bad, 1},
			     r6 = {1, NULL, 0, &other, 1};
	assert_int_equal(db_ddm_status_apply(db, 1, &r1), 0);
	assert_int_equal(db_ddm_status_apply(db, 3, &r1), 0);
	assert_int_equal(db_ddm_status_apply(db, 4, &r4), 0);
	assert_int_equal(db_ddm_status_apply(db, 6, &r6), 0);
	assert_int_equal(db_ddm_decl_counts(db, "su", NULL, 0, on_decl_count, out), 0);
	assert_string_equal(out,
			    "-:2:invalid:0:[{\"code\":\"Error.ConfigurationCannotBeApplied\"}]:1;"
			    "0131266F:0:-:0:-:1;0131266F:1:-:0:-:1;"
			    "0131266F:2:valid:1:[]:1;"
			    "0750001U:2:valid:1:[]:1;");
	out[0] = '\0';
	assert_int_equal(db_ddm_decl_counts(db, "su", only_b, 1, on_decl_count, out), 0);
	assert_string_equal(out, "0750001U:2:valid:1:[]:1;");
	assert_int_equal(db_ddm_decl_counts(db, "a/b", NULL, 0, on_decl_count, out), AP_EINVAL);
	assert_int_equal(db_ddm_decl_counts(db, NULL, NULL, 0, on_decl_count, out), AP_EINVAL);
}

/* ---- the migration ------------------------------------------------------------------------ */

/* The version whose step creates the declaration table. */
static int ddm_step(void)
{
	for (int v = 1; v <= migrations_count(); v++)
		if (strstr(migrations_step(v), "CREATE TABLE declaration (") != NULL)
			return v;
	fail_msg("no step creates the declaration table");
	return 0;
}

static void test_migration(void **state)
{
	char dir[4096], path[4200];
	struct db *old;
	sqlite3 *h;
	int v = 0;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ardoise.db", dir);
	assert_int_equal(db_open_raw(path, &old), 0);
	assert_int_equal(db_migrate(old, ddm_step() - 1), 0);
	db_close(old);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		h,
		"INSERT INTO school(uai, name, created_at) VALUES ('" UAI_A "', 'A', 1);"
		"INSERT INTO device(id, serial, school, enrollment, created_at, updated_at)"
		" VALUES (7, 'M7', '" UAI_A "', 'enrolled', 1, 1);"
		"INSERT INTO blob(hash, data, created_at) VALUES ('h', x'00', 1);"
		"INSERT INTO profile(id, name, identifier, payload_hash, payload_uuid, blob,"
		" created_by, created_at) VALUES (1, 'p', 'fr.p', 'ph', 'u', 'h', 't', 1);"
		"INSERT INTO assignment(kind, item_id, scope, created_by, created_at)"
		" VALUES ('profile', 1, 'school:" UAI_A "', 't', 1);",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);

	struct db *mig;
	assert_int_equal(db_open(path, &mig), 0);
	assert_int_equal(db_version(mig, &v), 0);
	assert_int_equal(v, db_schema_version());
	/* the store works on the migrated file */
	struct db *keep = db;
	db = mig;
	struct sets_seen w;
	assert_int_equal(add(DB_DDM_CONFIGURATION, CFG, "cfg.a", "t"), 0);
	assign("cfg.a", "school:" UAI_A);
	assert_string_equal(fleet_sets(&w, NULL, 0), "7[c:cfg.a]");
	int changed = 0;
	assert_int_equal(db_ddm_token_store(db, 7, "tok", &changed), 0);
	assert_int_equal(changed, 1);
	report_state(7, "\"none\"");
	db = keep;
	db_close(mig);

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	/* the rows of before are all there */
	assert_int_equal(sql_unit_int(h, "SELECT count(*) FROM assignment WHERE kind = 'profile'"
					 " AND item_id = 1 AND scope = 'school:" UAI_A "'"),
			 1);
	assert_int_equal(
	    sql_unit_int(h, "SELECT count(*) FROM device WHERE id = 7 AND serial = 'M7'"), 1);
	assert_int_equal(
	    sql_unit_int(h, "SELECT count(*) FROM device_ddm_item WHERE device_id = 7"), 2);
	/* the CHECKs hold: a bad kind, a 65-octet identifier, a value not JSON */
	assert_int_not_equal(
	    sqlite3_exec(h,
			 "INSERT INTO declaration(kind, type, identifier, server_token, blob,"
			 " created_by, created_at) VALUES ('profile', 'x', 'y', 't', 'h', 't', 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(h,
			 "INSERT INTO declaration(kind, type, identifier, server_token, blob,"
			 " created_by, created_at) VALUES ('asset', 'x', printf('%065d', 1), 't',"
			 " 'h', 't', 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(h, "INSERT INTO device_ddm_item VALUES (7, 'x', '{', 1)",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	/* step 18: the declaration of before has no models filter; a filter
	 * that is not a JSON array is refused */
	assert_int_equal(sql_unit_int(h, "SELECT count(*) FROM declaration WHERE models IS NULL"),
			 1);
	assert_int_not_equal(
	    sqlite3_exec(h, "UPDATE declaration SET models = '{\"a\":1}'", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(h, "UPDATE declaration SET models = '[\"iPad8,1\"]'", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sql_unit_int(h, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	assert_int_equal(sql_unit_int(h, "SELECT count(*) FROM pragma_integrity_check"
					 " WHERE integrity_check != 'ok'"),
			 0);
	sqlite3_close(h);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_catalogue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catalogue_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sets_by_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assignments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_models_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_changes_with_the_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_report_keeps_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_enabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_reports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decl_counts, setup, teardown),
	    cmocka_unit_test(test_migration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
