/* Unit tests for db_dashboard: every figure on a small fleet of two
 * collèges, the policy rules (failing, pending, an item no longer wanted
 * or installed after all), the scope and the order; and the device list's
 * class and text filters (db_device.c) over the same fleet. */
#include "fleet_fixture.h"
#include "db_command.h"
#include "db_dashboard.h"
#include "db_incident.h"
#include "db_int.h"
#include "db_loan.h"
#include "db_policy.h"

#include <stdlib.h>

#define DAY 86400

static int64_t now, today, app_id;
static int64_t dev[4]; /* A: 1 enrolled lent, 2 enrolled lent, 3 not enrolled; B: 4 enrolled */

static void exec(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec(struct db *db, const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(db_exec(db, sql), 0);
}

/* A policy command for item fr.example.app on tablet id, left queued or
 * ended with status (the tablet's report). */
static void policy_cmd(struct db *db, int64_t id, const char *type, const char *status)
{
	static int n;
	char uuid[37];
	struct db_cmd c;
	int dup;
	snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", ++n);
	assert_int_equal(db_cmd_enqueue(db, id, type, "fr.example.app", uuid, "<plist/>", 8,
					"policy", "policy", now + 30 * DAY, 200, NULL),
			 0);
	if (strcmp(status, "queued") == 0)
		return;
	char *payload = NULL;
	size_t len;
	assert_int_equal(db_cmd_next(db, id, &c, &payload, &len), 0);
	free(payload);
	assert_string_equal(c.uuid, uuid);
	assert_int_equal(db_cmd_report(db, id, uuid, status, NULL, 0, "boom", NULL, &dup), 0);
}

static int setup(void **state)
{
	struct db_app a = {0};
	struct db *db;
	int64_t loan, inc, p[5];
	if (fixture_setup(state) < 0)
		return -1;
	db = *state;
	now = db_now();
	today = now - now % DAY;
	const char *serials[4] = {"DMPA00000001", "DMPA00000002", "DMPA00000003", "DMPB00000004"};
	for (int i = 0; i < 4; i++)
		dev[i] = fixture_device(db, serials[i], i < 3 ? UAI_A : UAI_B);
	fixture_mdm_enrol(db, "UDID-1", serials[0], "fp1");
	fixture_mdm_enrol(db, "UDID-2", serials[1], "fp2");
	fixture_mdm_enrol(db, "UDID-4", serials[3], "fp4");
	/* seen: 1 ten days ago, 2 just now, 4 forty days ago */
	exec(db, "UPDATE device SET last_seen = %lld WHERE id = %lld", (long long)(now - 10 * DAY),
	     (long long)dev[0]);
	exec(db, "UPDATE device SET last_seen = %lld WHERE id = %lld", (long long)(now - 60),
	     (long long)dev[1]);
	exec(db, "UPDATE device SET last_seen = %lld WHERE id = %lld", (long long)(now - 40 * DAY),
	     (long long)dev[3]);
	exec(db, "UPDATE device SET asset_tag = 'Tag-7%%' WHERE id = %lld", (long long)dev[2]);
	p[0] = fixture_person(db, "E-A1", DB_PERSON_PUPIL, "3A", UAI_A);
	p[1] = fixture_person(db, "E-A2", DB_PERSON_PUPIL, "3B", UAI_A);
	p[2] = fixture_person(db, "E-A3", DB_PERSON_PUPIL, "3A", UAI_A);
	p[3] = fixture_person(db, "E-A4", DB_PERSON_PUPIL, "3A", UAI_A);
	p[4] = fixture_person(db, "E-B1", DB_PERSON_PUPIL, "4C", UAI_B);
	exec(db, "UPDATE person SET name = 'Éléonore Lefèvre' WHERE id = %lld", (long long)p[0]);
	/* lent: 1 for home use, due yesterday (overdue); 2 due in 10 days */
	assert_int_equal(db_loan_create(db, dev[0], p[0], UAI_A, 1, today - DAY, "t", &loan), 0);
	assert_int_equal(db_loan_create(db, dev[1], p[1], UAI_A, 0, today + 10 * DAY, "t", &loan),
			 0);
	assert_int_equal(
	    db_incident_declare(db, dev[2], DB_INC_DAMAGE, now - 60, "", "", "t", &inc), 0);
	/* leaving: E-A3 in 10 days (counted), E-A4 yesterday, E-B1 in 40 days */
	exec(db, "UPDATE person SET left_at = %lld WHERE id = %lld", (long long)(today + 10 * DAY),
	     (long long)p[2]);
	exec(db, "UPDATE person SET left_at = %lld WHERE id = %lld", (long long)(today - DAY),
	     (long long)p[3]);
	exec(db, "UPDATE person SET left_at = %lld WHERE id = %lld", (long long)(today + 40 * DAY),
	     (long long)p[4]);
	/* policy: an app for the fleet; 1 failed to install it, 2 waits for it,
	 * 4 failed and then reported it installed after all */
	snprintf(a.bundle_id, sizeof(a.bundle_id), "fr.example.app");
	snprintf(a.name, sizeof(a.name), "App");
	snprintf(a.created_by, sizeof(a.created_by), "t");
	assert_int_equal(db_policy_app_add(db, &a, &app_id), 0);
	assert_int_equal(db_policy_assign(db, "app", app_id, "fleet", "t"), 0);
	policy_cmd(db, dev[0], "InstallApplication", "error");
	policy_cmd(db, dev[1], "InstallApplication", "queued");
	policy_cmd(db, dev[3], "InstallApplication", "error");
	exec(db, "INSERT INTO device_app(device_id, identifier) VALUES (%lld, 'fr.example.app')",
	     (long long)dev[3]);
	return 0;
}

static const struct db_dashboard_row *row_of(const struct db_dashboard_row *rows, size_t n,
					     const char *uai)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].uai, uai) == 0)
			return &rows[i];
	fail_msg("no row for %s", uai);
	return NULL;
}

static void test_figures(void **state)
{
	struct db *db = *state;
	struct db_dashboard_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(db_dashboard(db, NULL, 0, now, today, &rows, &n), 0);
	assert_int_equal(n, 2);
	/* by name: "Clg Elie Coutarel" (B) before "Clg N. Sarraute" (A) */
	assert_string_equal(rows[0].uai, UAI_B);
	const struct db_dashboard_row *a = row_of(rows, n, UAI_A), *b = row_of(rows, n, UAI_B);
	assert_int_equal(a->total, 3);
	assert_int_equal(a->by_state[DB_DEV_LOANED], 2);
	assert_int_equal(a->by_state[DB_DEV_REPAIR], 1);
	assert_int_equal(a->enrolled, 2);
	assert_int_equal(a->not_enrolled, 1);
	assert_int_equal(a->not_seen_7d, 1); /* 1 (ten days); 3 is not enrolled */
	assert_int_equal(a->not_seen_30d, 0);
	assert_int_equal(a->failing, 1);
	assert_int_equal(a->pending, 1);
	assert_int_equal(a->converged, 0);
	assert_int_equal(a->n_items, 1);
	assert_string_equal(a->items[0].item, "fr.example.app");
	assert_int_equal(a->items[0].count, 1);
	assert_int_equal(a->loans_open, 2);
	assert_int_equal(a->loans_overdue, 1);
	assert_int_equal(a->loans_home_use, 1);
	assert_int_equal(a->incidents_open, 1);
	assert_int_equal(a->leavers_soon, 1);
	assert_int_equal(b->total, 1);
	assert_int_equal(b->enrolled, 1);
	assert_int_equal(b->not_seen_7d, 1);
	assert_int_equal(b->not_seen_30d, 1);
	assert_int_equal(b->failing, 0); /* installed after all */
	assert_int_equal(b->converged, 1);
	assert_int_equal(b->leavers_soon, 0);
	assert_string_equal(a->commune, "");
	free(rows);
}

static void test_policy_rules(void **state)
{
	struct db *db = *state;
	struct db_dashboard_row *rows = NULL;
	const char *only[] = {UAI_A};
	size_t n = 0;
	/* a retry queued after the failure: pending, not failing */
	policy_cmd(db, dev[0], "InstallApplication", "queued");
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].failing, 0);
	assert_int_equal(rows[0].pending, 2);
	free(rows);
	/* it fails again, then the app is unassigned: no longer wanted */
	char *payload = NULL;
	size_t len;
	struct db_cmd c;
	int dup;
	assert_int_equal(db_cmd_next(db, dev[0], &c, &payload, &len), 0);
	free(payload);
	assert_int_equal(db_cmd_report(db, dev[0], c.uuid, "error", NULL, 0, "x", NULL, &dup), 0);
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(rows[0].failing, 1);
	free(rows);
	assert_int_equal(db_policy_unassign(db, "app", app_id, "fleet"), 0);
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(rows[0].failing, 0);
	assert_int_equal(rows[0].n_items, 0);
	assert_int_equal(rows[0].converged + rows[0].pending, 2);
	free(rows);
	/* assigned to the other collège only: still not wanted here; to class
	 * 3A of A (the holder's): wanted again */
	assert_int_equal(db_policy_assign(db, "app", app_id, "school:" UAI_B, "t"), 0);
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(rows[0].failing, 0);
	free(rows);
	assert_int_equal(db_policy_assign(db, "app", app_id, "group:" UAI_A "/3A", "t"), 0);
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(rows[0].failing, 1);
	free(rows);
}

static void test_scope(void **state)
{
	struct db *db = *state;
	struct db_dashboard_row *rows = NULL;
	const char *unknown[] = {"0000000A"}, *bad[] = {"0131266F' OR 1=1 --"};
	size_t n = 7;
	assert_int_equal(db_dashboard(db, unknown, 1, now, today, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
	rows = NULL;
	assert_int_equal(db_dashboard(db, bad, 1, now, today, &rows, &n), AP_EINVAL);
	assert_null(rows);
}

struct seen {
	int n;
	char serials[8][65];
	char holder_name[129];
};

static int collect(const struct db_device *d, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8)
		snprintf(s->serials[s->n], sizeof(s->serials[0]), "%s", d->serial);
	if (d->holder_name[0])
		snprintf(s->holder_name, sizeof(s->holder_name), "%s", d->holder_name);
	s->n++;
	return 0;
}

static int list(struct db *db, const char *const *only, const char *class_name, const char *q,
		struct seen *s)
{
	struct db_device_filter f = {only, only ? 1 : 0, -1, 0, NULL, 0, 100, class_name, q};
	int64_t next;
	memset(s, 0, sizeof(*s));
	return db_device_list(db, &f, collect, s, &next);
}

static void test_list_class_and_text(void **state)
{
	struct db *db = *state;
	struct seen s;
	const char *only_a[] = {UAI_A}, *only_b[] = {UAI_B};
	char longer[DB_DEVICE_Q_MAX + 2];
	fixture_device(db, "DMPA0000X5", UAI_A);
	/* the holder's class, any case */
	assert_int_equal(list(db, NULL, "3a", NULL, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "DMPA00000001");
	assert_string_equal(s.holder_name, "Éléonore Lefèvre");
	assert_int_equal(list(db, only_b, "3A", NULL, &s), 0);
	assert_int_equal(s.n, 0);
	/* the text: serial, asset tag, holder's name (accents and case ignored)
	 * or id; wildcards are plain characters */
	assert_int_equal(list(db, NULL, NULL, "dmpa0000000", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(list(db, only_a, NULL, "ELEONORE lefe", &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "DMPA00000001");
	assert_int_equal(list(db, NULL, NULL, "léonore", &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(list(db, NULL, NULL, "e-a2", &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "DMPA00000002");
	assert_int_equal(list(db, NULL, NULL, "tag-7%", &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "DMPA00000003");
	assert_int_equal(list(db, NULL, NULL, "%", &s), 0);
	assert_int_equal(s.n, 1); /* only the asset tag holding a '%' */
	assert_int_equal(list(db, NULL, NULL, "_", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(list(db, NULL, NULL, "DMPA0000_5", &s), 0);
	assert_int_equal(s.n, 0); /* '_' is not "any character": X5 is not found */
	assert_int_equal(list(db, only_b, NULL, "dmpa", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(list(db, NULL, "3A", "dmpa00000002", &s), 0);
	assert_int_equal(s.n, 0); /* both filters */
	assert_int_equal(list(db, NULL, NULL, "", &s), 0);
	assert_int_equal(s.n, 5); /* an empty text filters nothing */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(list(db, NULL, NULL, longer, &s), AP_EINVAL);
}

/* The failing pairs of one collège are found through its tablets or the
 * failed commands, not by reading every enrolled tablet of the fleet. */
static void test_one_college_of_many(void **state)
{
	struct db *db = *state;
	struct db_dashboard_row *rows = NULL;
	const char *only[] = {UAI_A};
	size_t n = 0;
	exec(db,
	     "WITH RECURSIVE k(i) AS (SELECT 5000 UNION ALL SELECT i + 1 FROM k WHERE i < 6999)"
	     " INSERT INTO device(id, serial, school, enrollment, created_at, updated_at)"
	     " SELECT i, 'M' || i, '%s', 'enrolled', 0, 0 FROM k",
	     UAI_B);
	assert_int_equal(db_dashboard(db, only, 1, now, today, &rows, &n), 0);
	assert_int_equal(n, 1);
	free(rows);
	for (sqlite3_stmt *st = sqlite3_next_stmt(db->h, NULL); st;
	     st = sqlite3_next_stmt(db->h, st)) {
		const char *sql = sqlite3_sql(st);
		if (strstr(sql, "format_error") && strstr(sql, "json_each")) {
			int steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
			if (steps > 1000)
				fail_msg(
				    "%d VM steps for one collège's failures: the fleet was read",
				    steps);
			return;
		}
	}
	fail_msg("no failing-pairs statement");
}

static void test_fold(void **state)
{
	char out[64];
	(void)state;
	db_fold("Éléonore ŒUVRE Ægir ß × Ça", out, sizeof(out));
	assert_string_equal(out, "eleonore oeuvre aegir s × ca");
	db_fold("ÉÉÉ", out, 3); /* cut: never half a letter */
	assert_string_equal(out, "ee");
	db_fold("Œ", out, 2);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_figures, setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_rules, setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_scope, setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_one_college_of_many, setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_list_class_and_text, setup, fixture_teardown),
	    cmocka_unit_test(test_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
