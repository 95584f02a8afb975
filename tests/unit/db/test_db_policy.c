/* Unit tests for db_policy on :memory:: catalogue, assignments, owned
 * items, the bulk loaders (groups against the fleet records' shape),
 * pending/failed commands, the daily refresh selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "db_command.h"
#include "db_int.h"
#include "db_mdm.h"
#include "db_policy.h"
#include "store.h"

static struct db *db;

static int64_t enrolled(const char *udid, const char *serial, const char *school)
{
	struct db_mdm_auth a = {udid, serial, "topic", "17.5", "21F79", "iPad", udid};
	int64_t id = 0;
	int first = 0;
	char sql[256];
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(db, &a, &b), 0);
	id = b.id;
	assert_int_equal(db_mdm_token_update(db, id, (const unsigned char *)"t", 1, "magic",
					     "topic", NULL, 0, 0, &first),
			 0);
	if (school) {
		snprintf(sql, sizeof(sql), "UPDATE device SET school = '%s' WHERE id = %lld",
			 school, (long long)id);
		assert_int_equal(db_exec(db, sql), 0);
	}
	return id;
}

static int setup(void **state)
{
	if (db_open(":memory:", &db) < 0)
		return -1;
	return db_exec(db, "INSERT INTO school(uai, name, created_at) VALUES"
			   " ('0131266F', 'A', 0), ('0750001U', 'B', 0)");
}

static int teardown(void **state)
{
	db_close(db);
	db = NULL;
	return 0;
}

static struct db_profile profile(const char *name, const char *identifier, const char *blob)
{
	struct db_profile p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.identifier, sizeof(p.identifier), "%s", identifier);
	snprintf(p.payload_types, sizeof(p.payload_types), "com.apple.applicationaccess");
	snprintf(p.payload_hash, sizeof(p.payload_hash), "h-%s", blob);
	snprintf(p.payload_uuid, sizeof(p.payload_uuid), "uuid-%s", blob);
	/* the signed bytes, here just the tag */
	assert_int_equal(db_blob_put(db, blob, strlen(blob), p.blob), 0);
	snprintf(p.created_by, sizeof(p.created_by), "admin");
	return p;
}

static int count_profile(const struct db_profile *p, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_profiles(void **state)
{
	struct db_profile p = profile("restr", "fr.t.restr", "b1"), got;
	int64_t id = 0, n = 0;
	char uuid[37];
	int count = 0;
	assert_int_equal(db_policy_profile_add(db, &p, &id), 0);
	assert_true(id > 0);
	assert_int_equal(db_policy_profile_add(db, &p, &id), AP_EEXIST);
	struct db_profile other = profile("other", "fr.t.restr", "b2");
	assert_int_equal(db_policy_profile_add(db, &other, NULL), AP_ECONFLICT);
	assert_int_equal(db_policy_profile_get(db, "restr", &got), 0);
	assert_string_equal(got.identifier, "fr.t.restr");
	assert_int_equal(got.updated_at, 0);
	/* a new version keeps the id; both versions stay known */
	struct db_profile v2 = profile("restr", "fr.t.restr", "b3");
	assert_int_equal(db_policy_profile_update(db, "restr", &v2, "tech"), 0);
	assert_int_equal(db_policy_profile_get(db, "restr", &got), 0);
	assert_int_equal(got.id, id);
	assert_string_equal(got.blob, v2.blob);
	assert_string_equal(got.updated_by, "tech");
	assert_int_equal(db_policy_version_uuid(db, p.blob, uuid), 0);
	assert_string_equal(uuid, "uuid-b1");
	assert_int_equal(db_policy_version_uuid(db, v2.blob, uuid), 0);
	assert_string_equal(uuid, "uuid-b3");
	assert_int_equal(db_policy_version_uuid(db, "nope", uuid), AP_ENOTFOUND);
	assert_int_equal(db_policy_profile_update(db, "nope", &v2, "tech"), AP_ENOTFOUND);
	/* removal frees the name and the identifier */
	assert_int_equal(db_policy_assign(db, "profile", id, "fleet", "tech"), 0);
	assert_int_equal(db_policy_profile_remove(db, "restr", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_policy_profile_get(db, "restr", &got), AP_ENOTFOUND);
	assert_int_equal(db_policy_profile_remove(db, "restr", &n), AP_ENOTFOUND);
	assert_int_equal(db_policy_profile_add(db, &p, &id), 0);
	assert_int_equal(db_policy_profile_list(db, count_profile, &count), 0);
	assert_int_equal(count, 1);
}

static int count_assignment(const struct db_assignment *a, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

struct assigned_seen {
	int n;
	char last[512];
};

static int on_assigned(const struct db_policy_assigned *a, void *arg)
{
	struct assigned_seen *s = arg;
	snprintf(s->last + strlen(s->last), sizeof(s->last) - strlen(s->last), "%s:%s@%s[%s];",
		 a->kind, a->identifier, a->scope, a->version);
	s->n++;
	return 0;
}

static void test_apps_and_assignments(void **state)
{
	struct db_app a, got;
	struct db_profile p = profile("pass", "fr.t.pass", "bp");
	int64_t app_id = 0, prof_id = 0, n = 0;
	int count = 0;
	memset(&a, 0, sizeof(a));
	snprintf(a.bundle_id, sizeof(a.bundle_id), "org.example.app");
	snprintf(a.name, sizeof(a.name), "App");
	snprintf(a.created_by, sizeof(a.created_by), "ati");
	a.store_id = 42;
	assert_int_equal(db_policy_app_add(db, &a, &app_id), 0);
	assert_int_equal(db_policy_app_add(db, &a, NULL), AP_EEXIST);
	assert_int_equal(db_policy_app_get(db, "org.example.app", &got), 0);
	assert_int_equal(got.store_id, 42);
	assert_int_equal(db_policy_profile_add(db, &p, &prof_id), 0);
	assert_int_equal(db_policy_assign(db, "app", app_id, "school:0131266F", "ati"), 0);
	assert_int_equal(db_policy_assign(db, "app", app_id, "school:0131266F", "ati"), AP_EEXIST);
	assert_int_equal(db_policy_assign(db, "profile", prof_id, "fleet", "tech"), 0);
	assert_int_equal(db_policy_assignment_list(db, NULL, NULL, 0, count_assignment, &count), 0);
	assert_int_equal(count, 2);
	count = 0;
	assert_int_equal(db_policy_assignment_list(db, "fleet", NULL, 0, count_assignment, &count),
			 0);
	assert_int_equal(count, 1);
	count = 0;
	assert_int_equal(
	    db_policy_assignment_list(db, NULL, "app", app_id, count_assignment, &count), 0);
	assert_int_equal(count, 1);
	struct assigned_seen s = {0, ""};
	assert_int_equal(db_policy_each_assigned(db, on_assigned, &s), 0);
	assert_int_equal(s.n, 2);
	assert_non_null(strstr(s.last, "app:org.example.app@school:0131266F[];"));
	assert_non_null(strstr(s.last, "profile:fr.t.pass@fleet[uuid-bp];"));
	assert_int_equal(db_policy_unassign(db, "app", app_id, "school:0131266F"), 0);
	assert_int_equal(db_policy_unassign(db, "app", app_id, "school:0131266F"), AP_ENOTFOUND);
	assert_int_equal(db_policy_assign(db, "app", app_id, "fleet", "tech"), 0);
	assert_int_equal(db_policy_app_remove(db, "org.example.app", &n), 0);
	assert_int_equal(n, 1);
	s.n = 0;
	s.last[0] = '\0';
	assert_int_equal(db_policy_each_assigned(db, on_assigned, &s), 0);
	assert_int_equal(s.n, 1); /* removed items are not desired anywhere */
}

static int collect(int64_t device_id, const char *group, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%lld:%s;", (long long)device_id, group);
	return 0;
}

static int collect_dev(int64_t id, const char *serial, const char *school, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s@%s;", serial, school);
	return 0;
}

static void test_devices_and_groups(void **state)
{
	char out[256] = "", sql[512];
	int64_t d1 = enrolled("U1", "S1", "0131266F");
	int64_t d2 = enrolled("U2", "S2", "0750001U");
	int64_t d3 = enrolled("U3", "S3", "0131266F");
	struct db_mdm_auth a = {"U4", "S4", "topic", "17.5", "", "", "fp"};
	struct db_mdm_bound b4;
	assert_int_equal(db_mdm_authenticate(db, &a, &b4), 0); /* pending: not enrolled */
	int64_t d4 = b4.id;
	assert_int_equal(db_policy_each_device(db, NULL, 0, INT64_MAX, 0, 0, collect_dev, out), 0);
	assert_string_equal(out, "S1@0131266F;S2@0750001U;S3@0131266F;");
	out[0] = '\0';
	assert_int_equal(
	    db_policy_each_device(db, "0131266F", 0, INT64_MAX, 0, 0, collect_dev, out), 0);
	assert_string_equal(out, "S1@0131266F;S3@0131266F;");
	out[0] = '\0';
	assert_int_equal(db_policy_each_device(db, NULL, d4, d4, 1, 0, collect_dev, out), 0);
	assert_string_equal(out, "S4@;");
	/* before any loan: nobody is in a group */
	out[0] = '\0';
	assert_int_equal(db_policy_device_groups(db, 0, INT64_MAX, collect, out), 0);
	assert_string_equal(out, "");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO person(id, ext_id, kind, name, class, school, created_at, updated_at)"
		 " VALUES (1, 'p1', 'pupil', 'Léa', '5B', '0131266F', 0, 0),"
		 " (2, 't1', 'teacher', 'M. X', '', '0131266F', 0, 0),"
		 " (3, 'p3', 'pupil', 'Zoé', '4A', '0131266F', 0, 0);"
		 "INSERT INTO loan(device_id, person_id, school, state, started_at, created_by)"
		 " VALUES (%lld, 1, '0131266F', 'open', 0, 'ati'),"
		 " (%lld, 3, '0131266F', 'open', 0, 'ati')," /* tablet of another collège */
		 " (%lld, 2, '0131266F', 'closed', 0, 'ati');",
		 (long long)d1, (long long)d2, (long long)d3);
	assert_int_equal(db_exec(db, sql), 0);
	out[0] = '\0';
	assert_int_equal(db_policy_device_groups(db, 0, INT64_MAX, collect, out), 0);
	char want[128];
	snprintf(want, sizeof(want), "%lld:pupils;%lld:5B;", (long long)d1, (long long)d1);
	assert_string_equal(out, want);
	out[0] = '\0';
	assert_int_equal(db_policy_device_groups(db, d3, d3, collect, out), 0);
	assert_string_equal(out, ""); /* loan closed */
}

static int on_owned(int64_t device_id, const char *kind, const char *identifier,
		    const char *version, int64_t acked_cmd, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s:%s=%s@%lld;", kind, identifier, version,
		 (long long)acked_cmd);
	return 0;
}

static int on_profile(int64_t device_id, const char *identifier, const char *uuid, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s=%s;", identifier, uuid);
	return 0;
}

static int on_app(int64_t device_id, const char *identifier, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s;", identifier);
	return 0;
}

static int on_lists(int64_t device_id, int64_t p, int64_t a, void *arg)
{
	int64_t *v = arg;
	v[0] = p;
	v[1] = a;
	return 0;
}

static void test_owned_and_reported(void **state)
{
	int64_t d = enrolled("U1", "S1", NULL), lists[2] = {-1, -1};
	struct ap_profile_info rp[] = {{"fr.t.a", "UA", "A", 1}, {"fr.other", "UO", "O", 1}};
	struct ap_app ra[] = {{"org.a", "A", "1", "1"}, {"org.game", "G", "1", "1"}};
	struct db_profile p = profile("a", "fr.t.a", "ba");
	struct db_app app;
	char out[256] = "";
	memset(&app, 0, sizeof(app));
	snprintf(app.bundle_id, sizeof(app.bundle_id), "org.a");
	snprintf(app.name, sizeof(app.name), "A");
	assert_int_equal(db_policy_profile_add(db, &p, NULL), 0);
	assert_int_equal(db_policy_app_add(db, &app, NULL), 0);
	assert_int_equal(db_mdm_set_profiles(db, d, rp, 2), 0);
	assert_int_equal(db_mdm_set_apps(db, d, ra, 2), 0);
	/* for the fleet, only catalogue identifiers are read */
	assert_int_equal(db_policy_each_reported_profile(db, 0, INT64_MAX, on_profile, out), 0);
	assert_string_equal(out, "fr.t.a=UA;");
	out[0] = '\0';
	assert_int_equal(db_policy_each_reported_profile(db, d, d, on_profile, out), 0);
	assert_string_equal(out, "fr.other=UO;fr.t.a=UA;");
	out[0] = '\0';
	assert_int_equal(db_policy_each_reported_app(db, 0, INT64_MAX, on_app, out), 0);
	assert_string_equal(out, "org.a;");
	/* acknowledged install: owned, and the profile counts as reported */
	assert_int_equal(db_policy_installed(db, d, "profile", "fr.t.b", "UB", "B", 41), 0);
	assert_int_equal(db_policy_installed(db, d, "app", "org.a", "", "", 42), 0);
	out[0] = '\0';
	assert_int_equal(db_policy_each_owned(db, 0, INT64_MAX, on_owned, out), 0);
	assert_string_equal(out, "app:org.a=@42;profile:fr.t.b=UB@41;");
	/* a range reads its ids only, both ends included */
	out[0] = '\0';
	assert_int_equal(db_policy_each_owned(db, d - 1, d, on_owned, out), 0);
	assert_int_equal(db_policy_each_reported_profile(db, d, d + 1, on_profile, out), 0);
	assert_int_equal(db_policy_each_reported_app(db, d - 1, d, on_app, out), 0);
	assert_string_equal(out, "app:org.a=@42;profile:fr.t.b=UB@41;fr.t.a=UA;org.a;");
	out[0] = '\0';
	assert_int_equal(db_policy_each_owned(db, d + 1, INT64_MAX, on_owned, out), 0);
	assert_int_equal(db_policy_each_reported_profile(db, 0, d - 1, on_profile, out), 0);
	assert_int_equal(db_policy_each_reported_app(db, d + 1, d + 9, on_app, out), 0);
	assert_string_equal(out, "");
	out[0] = '\0';
	assert_int_equal(db_policy_each_reported_profile(db, d, d, on_profile, out), 0);
	assert_string_equal(out, "fr.other=UO;fr.t.a=UA;fr.t.b=UB;");
	assert_int_equal(db_policy_removed(db, d, "app", "org.a"), 0);
	out[0] = '\0';
	assert_int_equal(db_policy_each_reported_app(db, d, d, on_app, out), 0);
	assert_string_equal(out, "org.game;");
	/* lists: the id of the command that brought them */
	assert_int_equal(db_policy_lists_stamp(db, d, 1, 43), 0);
	assert_int_equal(db_policy_each_lists(db, d, d, on_lists, lists), 0);
	assert_int_equal(lists[0], 43);
	assert_int_equal(lists[1], 0);
	assert_int_equal(db_policy_lists_stamp(db, d, 0, 44), 0);
	assert_int_equal(db_policy_each_lists(db, d, d, on_lists, lists), 0);
	assert_int_equal(lists[0], 43);
	assert_int_equal(lists[1], 44);
	/* a new enrolment forgets all of it */
	assert_int_equal(db_policy_forget_device(db, d), 0);
	out[0] = '\0';
	assert_int_equal(db_policy_each_owned(db, d, d, on_owned, out), 0);
	assert_int_equal(db_policy_each_reported_profile(db, d, d, on_profile, out), 0);
	assert_int_equal(db_policy_each_reported_app(db, d, d, on_app, out), 0);
	assert_string_equal(out, "");
	lists[0] = -1;
	assert_int_equal(db_policy_each_lists(db, d, d, on_lists, lists), 0);
	assert_int_equal(lists[0], -1);
}

static int on_pending(int64_t device_id, int64_t id, const char *type, const char *dedupe,
		      const char *blob_ref, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s:%s:%s;", type, dedupe, blob_ref);
	return 0;
}

static int on_failed(int64_t device_id, const char *type, const char *dedupe, const char *status,
		     const char *error, int64_t done_at, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%s:%s:%s:%s;", type, dedupe, status, error);
	return 0;
}

static int64_t queue(int64_t d, const char *type, const char *dedupe, const char *origin,
		     const char *uuid)
{
	int64_t id = 0;
	assert_int_equal(db_cmd_enqueue(db, d, type, dedupe, uuid, "<plist/>", 8, origin, "t",
					db_now() + 3600, 100, &id),
			 0);
	return id;
}

static void test_pending_and_failed(void **state)
{
	int64_t d = enrolled("U1", "S1", NULL);
	char out[256] = "", dedupe[256], blob[65];
	int64_t c1 = queue(d, "InstallApplication", "org.a", "policy", "C1");
	queue(d, "DeviceLock", "", "staff", "C2");
	assert_int_equal(db_cmd_enqueue_ref(db, d, "InstallProfile", "fr.t.a", "C3", "blobhash",
					    "policy", "t", db_now() + 3600, 100, NULL),
			 0);
	assert_int_equal(db_policy_each_pending(db, 0, INT64_MAX, on_pending, out), 0);
	assert_string_equal(
	    out, "InstallApplication:org.a:;DeviceLock::;InstallProfile:fr.t.a:blobhash;");
	assert_int_equal(db_policy_command_ref(db, "C3", dedupe, blob), 0);
	assert_string_equal(dedupe, "fr.t.a");
	assert_string_equal(blob, "blobhash");
	assert_int_equal(db_policy_cancel(db, c1), 0);
	assert_int_equal(db_policy_cancel(db, c1), 0); /* no longer pending: nothing */
	out[0] = '\0';
	assert_int_equal(db_policy_each_pending(db, d, d, on_pending, out), 0);
	assert_null(strstr(out, "InstallApplication"));
	/* failures: only the latest command of a (type, dedupe), only policy ones */
	queue(d, "RemoveApplication", "org.x", "policy", "F1");
	assert_int_equal(
	    db_cmd_report(db, d, "F1", "error", NULL, 0, "MDMErrorDomain 12021: nope", NULL, NULL),
	    0);
	queue(d, "RemoveApplication", "org.y", "policy", "F2");
	assert_int_equal(db_cmd_report(db, d, "F2", "error", NULL, 0, "old", NULL, NULL), 0);
	queue(d, "RemoveApplication", "org.y", "policy", "F3");
	assert_int_equal(db_cmd_report(db, d, "F3", "acknowledged", NULL, 0, "", NULL, NULL), 0);
	out[0] = '\0';
	assert_int_equal(db_policy_each_failed(db, 0, INT64_MAX, on_failed, out), 0);
	assert_string_equal(out, "RemoveApplication:org.x:error:MDMErrorDomain 12021: nope;");
}

static int collect_ids(int64_t device_id, void *arg)
{
	char *out = arg;
	snprintf(out + strlen(out), 256 - strlen(out), "%lld;", (long long)device_id);
	return 0;
}

static void test_refresh_due(void **state)
{
	int64_t d1 = enrolled("U1", "S1", NULL), d2 = enrolled("U2", "S2", NULL);
	int64_t d3 = enrolled("U3", "S3", NULL), n = 0;
	char out[256] = "", want[64];
	assert_int_equal(db_policy_count_enrolled(db, &n), 0);
	assert_int_equal(n, 3);
	/* d1 fresh, d2 never reported, d3 has a list pending */
	assert_int_equal(db_policy_lists_stamp(db, d1, 1, 1), 0);
	assert_int_equal(db_policy_lists_stamp(db, d1, 0, 2), 0);
	queue(d3, "ProfileList", "refresh", "refresh", "R3");
	assert_int_equal(db_policy_refresh_due(db, db_now() - 60, 10, collect_ids, out), 0);
	snprintf(want, sizeof(want), "%lld;", (long long)d2);
	assert_string_equal(out, want);
	/* a day later d1 is due too, after d2 (older first) */
	out[0] = '\0';
	assert_int_equal(db_policy_refresh_due(db, db_now() + 86400, 10, collect_ids, out), 0);
	snprintf(want, sizeof(want), "%lld;%lld;", (long long)d2, (long long)d1);
	assert_string_equal(out, want);
	out[0] = '\0';
	assert_int_equal(db_policy_refresh_due(db, db_now() + 86400, 1, collect_ids, out), 0);
	snprintf(want, sizeof(want), "%lld;", (long long)d2);
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apps_and_assignments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices_and_groups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owned_and_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_and_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_due, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
