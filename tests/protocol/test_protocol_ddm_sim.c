/*
 * Protocol scenarios of declarative device management in one process: the
 * simulator's device core and its DDM synchronisation (tools/sim/
 * sim_ddm_sync.h) against the daemon's router_dispatch(), no sockets; the
 * daemon's DDM hooks wired as main.c wires them.
 *
 * Covered: a tablet on iPadOS 17.5 gets DeclarativeManagement at
 * enrolment, answers it, and its sync (the command's tokens,
 * declaration-items, each declaration, a full status report) leaves the
 * daemon with DDM on, the tablet's token, its status items and its
 * declarations' state; an iPadOS 15.8 tablet gets no such command; a sync
 * with nothing new is the tokens alone; a declaration outside the tablet's
 * set is 404; a declaration the tablet holds that the manifest no longer
 * lists is dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ap_err.h"
#include "ap_http.h"
#include "ap_scep.h"
#include "ap_x509.h"
#include "cmdq.h"
#include "config.h"
#include "db_command.h"
#include "db_ddm.h"
#include "db_mdm.h"
#include "ddm.h"
#include "keystore.h"
#include "log.h"
#include "mdm.h"
#include "protocol_env.h"
#include "router.h"
#include "sim_cmd.h"
#include "sim_ddm_sync.h"
#include "sim_device.h"
#include "sim_profile.h"
#include "store.h"
#include "tu_pki.h"
#include "worker.h"

/* ---- DDM ---- */

/* What one sync did. */
struct synced {
	size_t checkins, fetched, reports;
};

/* One DDM synchronisation of t against the router, to the end. */
static struct synced sync_tablet(struct env *e, struct tablet *t)
{
	struct sim_ddm_sync s;
	struct sim_clock now;
	struct synced out = {0};
	char why[240];
	int done = 0;

	sim_clock_at(&now, time(NULL));
	assert_int_equal(sim_ddm_sync_start(&s, t->d, &now, 0, &done), 0);
	while (!done) {
		char *xml = NULL;
		size_t len = 0;
		assert_int_equal(sim_ddm_checkin(t->d, s.endpoint, s.data, s.len, &xml, &len), 0);
		struct answer a = pt_put(e, t, t->d->checkin_path, xml, len);
		free(xml);
		out.checkins++;
		int rc = sim_ddm_sync_answer(&s, t->d, &now, a.status, a.body, a.len, &done, why,
					     sizeof(why));
		free(a.body);
		if (rc < 0)
			fail_msg("sync: %s", why);
	}
	out.fetched = s.fetched;
	out.reports = s.reports;
	sim_ddm_sync_clear(&s);
	t->d->ddm.sync = 0;
	t->d->ddm.hint[0] = '\0';
	return out;
}

/* The status of one check-in to endpoint. */
static int ddm_status(struct env *e, struct tablet *t, const char *endpoint)
{
	char *xml = NULL;
	size_t len = 0;
	assert_int_equal(sim_ddm_checkin(t->d, endpoint, NULL, 0, &xml, &len), 0);
	struct answer a = pt_put(e, t, t->d->checkin_path, xml, len);
	free(xml);
	free(a.body);
	return a.status;
}

/* ---- setup ---- */

/* The environment, with what ardoised --init and main.c do for DDM. */
static int setup(void **state)
{
	pt_setup(state);
	struct env *e = *state;
	assert_int_equal(ddm_status_subscriptions_ensure(e->w.db, "system", NULL), 0);
	return 0;
}

/* ---- scenarios ---- */

static void test_enrolment_turns_ddm_on(void **state)
{
	struct env *e = *state;
	struct tablet t = {0}, old = {0};
	struct db_ddm_state st;
	int64_t pending = -1;

	pt_enrol(e, &t, "17.5");
	pt_enrol(e, &old, "15.8");
	struct db_device row = pt_device_row(e, t.d->udid), row15 = pt_device_row(e, old.d->udid);
	/* the inventory, and DeclarativeManagement for iPadOS 16 and later only */
	assert_int_equal(db_cmd_pending(e->w.db, row.id, &pending), 0);
	assert_int_equal(pending, 6);
	assert_int_equal(db_cmd_pending(e->w.db, row15.id, &pending), 0);
	assert_int_equal(pending, 5);
	assert_int_equal(pt_session(e, &old, NULL, NULL), 5);
	assert_false(old.d->ddm.enabled);
	assert_int_equal(pt_session(e, &t, NULL, NULL), 6);
	assert_true(t.d->ddm.enabled && t.d->ddm.sync);
	assert_int_not_equal(t.d->ddm.hint[0], '\0');

	/* the sync of that session: the command's tokens, the manifest, each
	 * declaration, a full report */
	struct synced s = sync_tablet(e, &t);
	assert_true(s.fetched >= 2); /* status subscriptions and their activation */
	assert_int_equal(s.checkins, 1 + s.fetched + 1);
	assert_int_equal(s.reports, 1);
	assert_int_equal(db_ddm_state_get(e->w.db, row.id, &st), 0);
	assert_true(st.enabled_at > 0);
	assert_string_equal(st.token, t.d->ddm.token);
	assert_true(pt_count_rows(e, "SELECT count(*) FROM device_ddm_item WHERE device_id = ?",
				  row.id) >= 8);
	assert_int_equal(pt_count_rows(e,
				       "SELECT count(*) FROM device_ddm_item WHERE device_id = ?"
				       " AND item = 'device.operating-system.version'"
				       " AND value = '\"17.5\"'",
				       row.id),
			 1);
	assert_int_equal(pt_count_rows(e,
				       "SELECT active FROM device_declaration WHERE device_id = ?"
				       " AND identifier = 'ardoise.status-subscriptions'",
				       row.id),
			 1);
	assert_int_equal(db_ddm_state_get(e->w.db, row15.id, &st), 0);
	assert_int_equal(st.enabled_at, 0);

	/* nothing new: the tokens alone, no report */
	s = sync_tablet(e, &t);
	assert_int_equal(s.checkins, 1);
	assert_int_equal(s.fetched + s.reports, 0);

	/* outside the tablet's set: 404 */
	assert_int_equal(ddm_status(e, &t, "declaration/configuration/not.assigned"), 404);
	assert_int_equal(
	    ddm_status(e, &t, "declaration/configuration/ardoise.status-subscriptions"), 200);

	/* a declaration the tablet holds (and reported) that the manifest does
	 * not list goes away at the next manifest, reported "_removed" */
	assert_int_equal(sim_ddm_store(&t.d->ddm, AP_DDM_CONFIGURATION, "stale.one",
				       "com.apple.configuration.passcode.settings", "t", "{}"),
			 0);
	s = sync_tablet(e, &t); /* same token: applied and reported */
	assert_int_equal(s.checkins, 2);
	assert_int_equal(s.reports, 1);
	const char *stale = "SELECT count(*) FROM device_declaration WHERE device_id = ?"
			    " AND identifier = 'stale.one'";
	assert_int_equal(pt_count_rows(e, stale, row.id), 1);
	t.d->ddm.token[0] = '\0'; /* the tablet asks for the manifest */
	s = sync_tablet(e, &t);
	assert_int_equal(s.fetched, 0);
	assert_int_equal(s.reports, 1);
	assert_null(sim_ddm_find(&t.d->ddm, "stale.one"));
	assert_int_equal(pt_count_rows(e, stale, row.id), 0);
	assert_int_equal(db_ddm_state_get(e->w.db, row.id, &st), 0);
	assert_string_equal(t.d->ddm.token, st.token); /* the set did not change */
	pt_tablet_free(&t);
	pt_tablet_free(&old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enrolment_turns_ddm_on, setup, pt_teardown),
	};
	/* the hooks of main.c's wire_hooks() this scenario needs */
	if (cmdq_on_result(AP_CMD_DECLARATIVE_MANAGEMENT, ddm_on_result) < 0)
		return 1;
	mdm_on_enrolled(ddm_enrolled);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
