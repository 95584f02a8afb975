/*
 * db_dashboard.h - a collège's dashboard: its tablets by state, enrolled
 * or not, not seen lately, their policy convergence (and the items that
 * fail), loans in progress and overdue, open incidents, people leaving
 * soon.  One row per collège, each figure from one grouped query over the
 * collèges asked for (never a query per tablet).
 *
 * Policy convergence is read from the tables the reconciliation leaves
 * (db_policy.h), for enrolled tablets:
 *   failing   the tablet has an item whose latest policy command (same
 *             type and identifier) ended in error, format_error or
 *             expired, none of that item's commands is pending, and the
 *             item is still wanted: for an install, the item is in the
 *             catalogue, assigned to a scope of the tablet (fleet, its
 *             collège, its holder's group, the tablet) and not reported
 *             installed in its current version; for a removal, the item
 *             is still owned and assigned to none of its scopes;
 *   pending   not failing, and a policy command is pending (queued, sent,
 *             notnow);
 *   converged the other enrolled tablets.
 * reconcile_status() (`policy status`) runs the planner over every
 * tablet's facts instead (200 ms for a collège of a 100,000-tablet fleet,
 * too slow for a home page); the two differ while an item is wanted but
 * has no command yet (the tablet's queue full, or the moment between a
 * change and its reconciliation): converged here, pending there.
 */
#ifndef DB_DASHBOARD_H
#define DB_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "db_device.h"
#include "db_school.h"

struct db;

/* Failing items kept per collège: the most frequent. */
#define DB_DASHBOARD_ITEMS 16

struct db_dashboard_item {
	char item[256]; /* profile PayloadIdentifier or app bundle id */
	int64_t count;	/* tablets of the collège it fails on */
};

struct db_dashboard_row {
	char uai[DB_UAI_LEN + 1];
	char name[DB_SCHOOL_NAME_MAX + 1];
	char commune[DB_SCHOOL_TEXT_MAX + 1];
	/* tablets: every state (retired included) */
	int64_t total;
	int64_t by_state[DB_DEV_NSTATES];
	int64_t enrolled;     /* enrollment 'enrolled' */
	int64_t not_enrolled; /* not retired, and not enrolled */
	/* enrolled tablets last seen before now - 7 / 30 days, or never */
	int64_t not_seen_7d, not_seen_30d;
	/* policy, enrolled tablets (above): converged + pending + failing ==
	 * enrolled */
	int64_t converged, pending, failing;
	struct db_dashboard_item items[DB_DASHBOARD_ITEMS]; /* by count, then name */
	size_t n_items;
	/* loans in state open; overdue: due before `today`; home_use: taken home */
	int64_t loans_open, loans_overdue, loans_home_use;
	int64_t incidents_open;
	/* people of the collège whose last day (person.left_at) falls from
	 * `today` to `today` + 30 days */
	int64_t leavers_soon;
};

/* One row per collège of `only` (NULL: every collège), ordered by name
 * (case and accents aside, then UAI); tablets of no collège are in none.  `now`: the time the
 * not-seen windows count from; `today`: the start of the day.  *ret is
 * malloc'd, the caller frees it; *ret_n may be 0.  AP_ELIMIT / AP_EINVAL
 * from the scope (db_scope_json()). */
int db_dashboard(struct db *db, const char *const *only, size_t n_only, int64_t now, int64_t today,
		 struct db_dashboard_row **ret, size_t *ret_n);

#endif
