/*
 * reconcile.h - keeping every tablet converged to its desired policy.
 *
 * A run loads the facts of the tablets concerned in a few bulk scans
 * (db_policy), asks policies/ for each tablet's plan (pol_plan_device),
 * and queues the commands in ONE transaction (cmdq.h): InstallProfile by
 * blob reference, InstallApplication, RemoveProfile and RemoveApplication
 * from a template built once per item, with dedupe = the identifier, and
 * cancels pending policy commands the plan supersedes.  Commands carry
 * origin "policy".  A converged tablet costs a few comparisons and
 * writes nothing.
 *
 * Triggers: policy or assignment changes (api_policy.c, after commit),
 * a first TokenUpdate and fresh ProfileList / InstalledApplicationList
 * results (hooks registered by main.c, run by mdm.c), a tablet moved to
 * another collège (the fleet handlers call reconcile_device), the daily
 * list refresh (jobs.c).
 *
 * What runs where.  A run of many tablets (the fleet, a collège:
 * reconcile_start(), reconcile_fleet(), reconcile_school(), the fleet case
 * of reconcile_licensed()) runs on a work thread with a connection of its
 * own (uv_queue_work): the loop that asked serves its tablets meanwhile.
 * The thread sees a struct worker of its own holding only srv and that
 * connection: it reads the facts, plans (policies/, pure), queues through
 * cmdq_queue() (w->srv, w->db; the push hand-off push_notify() takes the
 * push thread's lock) and cancels (db_policy, its connection's bulk
 * mode).  The metrics, the log line, licence_sync_now() and the callers'
 * callbacks run after it, on the loop that queued the run (the callbacks
 * on each caller's own loop).  One such run at a time in the process: a
 * change arriving during one asks for another after it (two such changes
 * make one run, widened to the fleet when their collèges differ), so a
 * change committed after the run read its facts is reconciled by the next.
 *
 * Every other function runs on a worker's loop with its connection and
 * nests inside a caller's transaction (one tablet: an enrolment, a move, a
 * result).  Outside one, a run of many tablets reads its facts before
 * taking the write lock and commits every 10,000 tablets, so that the
 * loops' writers are not held for the whole run: a storage error then
 * leaves the earlier parts queued, and the next run converges the rest.
 * Stopping (reconcile_stop(), the drain) ends a thread's run after its
 * current part, committed.
 */
#ifndef RECONCILE_H
#define RECONCILE_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct cmdq_result;

struct reconcile_stats {
	int64_t devices;	   /* tablets looked at */
	int64_t converged;	   /* of which nothing to do */
	int64_t queued;		   /* commands queued */
	int64_t canceled;	   /* pending commands canceled */
	int64_t capped;		   /* actions left for later: queue full */
	int64_t failed;		   /* commands that could not be built */
	int64_t licence_wait;	   /* App Store installs held until the licence (licence.h) */
	int64_t load_ms, total_ms; /* wall clock: loading the facts, the whole run */
	int64_t cpu_ms;		   /* CPU time of the run (this thread) */
	char last_error[160];
};

/* The outcome of a run of many tablets, on the loop that asked: rc 0 and
 * the run's figures, or an error (st then zero, or the figures of a run
 * that failed).  AP_EBUSY: stopped by the drain. */
typedef void (*reconcile_done_fn)(int rc, const struct reconcile_stats *st, void *arg);

/* Reconciles the fleet (school NULL) or one collège on a work thread, at
 * the latest in the run that starts after this call (a change committed
 * before it is covered).  reason is logged ("assign", "staff", ...).  done
 * (may be NULL) is called once on w's loop, after this call returned.
 * Errors (done then never called): AP_ENOMEM, AP_EIO, AP_EBUSY when the
 * daemon is stopping. */
int reconcile_start(struct worker *w, const char *school, const char *reason,
		    reconcile_done_fn done, void *arg);
/* The drain: a thread's run stops after its current part; no run starts. */
void reconcile_stop(void);
/* Tests only: a thread's run pauses ms after it read its facts, before it
 * takes the write lock (ARDOISE_TEST_RECONCILE_SLOW_MS). */
void reconcile_test_slow(unsigned ms);
/* Tests only: a fleet run reads its tablets in ranges of n, not of
 * thousands (ARDOISE_TEST_RECONCILE_RANGE). */
void reconcile_test_range(int n);

/* reconcile_start() without a callback. */
int reconcile_fleet(struct worker *w, const char *reason);
int reconcile_school(struct worker *w, const char *uai, const char *reason);
/* One tablet, on the calling loop.  Errors are storage errors (nothing was
 * queued) or AP_ENOMEM. */
int reconcile_device(struct worker *w, int64_t device_id, const char *reason);
/* The tablets ids[0..n) got device licences (licence.h's hook): each
 * reconciled, or the fleet at once past RECONCILE_LICENSED_EACH. */
#define RECONCILE_LICENSED_EACH 200
int reconcile_licensed(struct worker *w, const int64_t *ids, size_t n);
/* On the calling loop, whatever the scope (school NULL: the fleet); ret may
 * be NULL.  The daemon's runs of many tablets go through reconcile_start(). */
int reconcile_run(struct worker *w, const char *school, int64_t device_id, const char *reason,
		  struct reconcile_stats *ret);

/* A first TokenUpdate: forgets what was known of the tablet's previous
 * enrolment, then reconciles it. */
int reconcile_enrolled(struct worker *w, int64_t device_id);
/* A cmdq_on_result() hook, inside the report's transaction, when a device
 * acknowledges ProfileList, InstalledApplicationList (stamps the list,
 * reconciles the tablet) or a policy InstallProfile, InstallApplication,
 * RemoveProfile, RemoveApplication (records what Ardoise installed). */
int reconcile_on_result(struct worker *w, const struct cmdq_result *res);

/* Convergence of the fleet or a collège.  failing_fn (may be NULL) is
 * called for each failing item: the tablet, the command type, the item
 * identifier, the device's error. */
struct reconcile_status {
	int64_t devices, converged, pending, failing;
};
int reconcile_status(struct worker *w, const char *school, struct reconcile_status *ret,
		     int (*failing_fn)(const char *serial, const char *type, const char *identifier,
				       const char *error, void *arg),
		     void *arg);

/* The effective policy of one tablet (enrolled or not). */
struct reconcile_device_view {
	int64_t id;
	const char *serial, *school;
	const char *const *groups;
	size_t n_groups;
};
struct reconcile_item_view {
	const char *kind; /* "profile" or "app" */
	const char *name; /* profile name or bundle id */
	const char *identifier;
	const char *const *scopes; /* the assignments it comes from; none when removed */
	size_t n_scopes;
	/* installed | pending (a command is queued) | failed | missing (will
	 * be queued) | waiting_licence (an App Store app whose device licence
	 * the tablet does not hold yet) | removing (its removal is queued) |
	 * to_remove */
	const char *state;
	const char *error; /* failed: the device's error; else "" */
	int64_t store_id;  /* apps: the App Store id, 0 when none */
};
/* AP_ENOTFOUND when no such tablet.  Both callbacks are called once per
 * object; the views are valid during the call. */
int reconcile_explain(struct worker *w, int64_t device_id,
		      void (*device_fn)(const struct reconcile_device_view *d, void *arg),
		      void (*item_fn)(const struct reconcile_item_view *it, void *arg), void *arg);

/* 1 when the plan of the tablet has nothing left to do: every desired
 * item installed or failed, nothing missing, pending, removing or to
 * remove (reconcile_explain()'s states); 0 when something is; AP_ENOTFOUND
 * when no such tablet, or a storage error.  What a tablet awaiting
 * configuration waits for before DeviceConfigured (ade_configure.h). */
int reconcile_settled(struct worker *w, int64_t device_id);

/* Apps reported by the enrolled tablets of school (NULL: the fleet) that
 * are not in the tablet's desired state, Apple's own (com.apple.*) left
 * out. */
int reconcile_unapproved(struct worker *w, const char *school,
			 int (*fn)(const char *serial, const char *school, const char *identifier,
				   const char *name, const char *version, void *arg),
			 void *arg);

/* The daily refresh: ProfileList and InstalledApplicationList for the
 * 1/24 of enrolled tablets whose lists are the oldest (older than a day);
 * *ret_n tablets asked. */
int reconcile_refresh(struct worker *w, int64_t *ret_n);

#endif
