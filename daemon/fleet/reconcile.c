/* reconcile.c - plan every tablet concerned, queue the difference. */
#include "reconcile.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "cmdq.h"
#include "db_command.h"
#include "db_mdm.h"
#include "db_policy.h"
#include "db_vpp.h"
#include "licence.h"
#include "log.h"
#include "metrics.h"
#include "pol_plan.h"
#include "reconcile_facts.h"
#include "worker.h"
#include "store.h"
#include "vpp.h"

#include <plist/plist.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define ORIGIN "policy"
#define ACTOR  "system"

/* Errors that end a run (anything else fails one command: a refused
 * enqueue, AP_ECONFLICT or AP_ELIMIT, leaves the transaction usable). */
static int storage_error(int rc)
{
	return rc == AP_EDB || rc == AP_EIO || rc == AP_EBUSY || rc == AP_ENOMEM;
}

/* A command plist built once per (type, identifier) for the whole run. */
struct template
{
	enum pol_action_type type;
	char *identifier; /* a copy: a removal's outlives its range's facts */
	int licensed;	  /* InstallApplication with a device licence (PurchaseMethod 1) */
	struct cmdq_template cmd;
};

/* A fleet or collège run commits every RUN_PART tablets: the write lock
 * is shared by the loops, and the other loop's tablets are served in
 * between (a whole-fleet change can be half a million commands: 3-5 s in
 * one transaction).  Parts of 1,000 made the runs 60% slower. */
#define RUN_PART 10000
/* ... or, when a loop waits for the write lock (a group of tablet
 * sessions), once the part held it RUN_PART_MS (checked every RUN_CHECK
 * tablets): a run on its work thread keeps a loop's writes waiting about
 * that long, and splits no more than needed when nobody waits (each commit
 * costs the run: parts of 1,000 made it 60% slower). */
#define RUN_PART_MS 10
#define RUN_CHECK   64
/* A fleet run reads and plans its tablets in ranges of RUN_RANGE ids
 * (reconcile_facts_next()): its memory is one range's facts, not the
 * fleet's (~650 bytes a tablet: 670 MB for a million read at once), and
 * each table is read in key order over the range. */
#define RUN_RANGE 50000

/* The runs of many tablets on a work thread (reconcile_start()): one at a
 * time in the process; a change arriving during a run asks for another
 * (again), whose scope widens to the fleet when two differ, and whose
 * waiters are called after it. */
struct waiter {
	uv_async_t async; /* on the loop that called reconcile_start() */
	reconcile_done_fn fn;
	void *arg;
	int rc;
	struct reconcile_stats st;
	struct waiter *next;
};

static struct {
	uv_once_t once;
	uv_mutex_t lock;
	int running, again;
	char school[16], reason[32]; /* the next run's; school "": the fleet */
	struct waiter *next;	     /* waiting for the next run */
	atomic_int stop;
	atomic_uint slow_ms; /* tests: a pause after the facts are read */
	atomic_int range;    /* tests: tablets a range, 0 RUN_RANGE */
} bg = {UV_ONCE_INIT};

/* One run's queueing state. */
struct run {
	struct worker *w;
	const struct reconcile_facts *f;
	struct template *tpl;
	size_t n_tpl, cap_tpl;
	struct reconcile_stats *st;
	struct licence_held *held; /* the Apps and Books licences (licence.h) */
};

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->n_tpl; i++) {
		free(r->tpl[i].cmd.xml);
		free(r->tpl[i].identifier);
	}
	free(r->tpl);
}

static enum ap_cmd_type command_of(enum pol_action_type t)
{
	return t == POL_INSTALL_APP	 ? AP_CMD_INSTALL_APPLICATION
	       : t == POL_REMOVE_PROFILE ? AP_CMD_REMOVE_PROFILE
					 : AP_CMD_REMOVE_APPLICATION;
}

/* InstallApplication from the catalogue item (removed with the MDM
 * profile, ap_cmd_params_install_app; with its device licence,
 * vpp_install_params()), or {Identifier} for removals. */
static int params_of(const struct pol_action *a, int licensed, plist_t *ret)
{
	char adam[24];
	if (a->type == POL_INSTALL_APP && licensed) {
		snprintf(adam, sizeof(adam), "%lld", (long long)a->item->store_id);
		return vpp_install_params(adam, ret);
	}
	if (a->type == POL_INSTALL_APP)
		return ap_cmd_params_install_app(a->item->store_id, a->identifier, ret);
	plist_t d = plist_new_dict();
	if (d == NULL)
		return AP_ENOMEM;
	plist_dict_set_item(d, "Identifier", plist_new_string(a->identifier));
	*ret = d;
	return 0;
}

static int template_build(const struct pol_action *a, int licensed, struct template *t)
{
	plist_t params = NULL;
	int rc = params_of(a, licensed, &params);
	if (rc == 0)
		rc = cmdq_template_build(command_of(a->type), params, &t->cmd);
	if (params)
		plist_free(params);
	if (rc == 0 && (t->identifier = strdup(a->identifier)) == NULL) {
		free(t->cmd.xml);
		rc = AP_ENOMEM;
	}
	if (rc < 0)
		return rc;
	t->type = a->type;
	t->licensed = licensed;
	return 0;
}

static int template_for(struct run *r, const struct pol_action *a, int licensed,
			const struct template **ret)
{
	for (size_t i = 0; i < r->n_tpl; i++)
		if (r->tpl[i].type == a->type && r->tpl[i].licensed == licensed &&
		    strcmp(r->tpl[i].identifier, a->identifier) == 0) {
			*ret = &r->tpl[i];
			return 0;
		}
	if (r->n_tpl == r->cap_tpl) {
		size_t ncap = r->cap_tpl ? r->cap_tpl * 2 : 8;
		struct template *n = realloc(r->tpl, ncap * sizeof(*n));
		if (n == NULL)
			return AP_ENOMEM;
		r->tpl = n;
		r->cap_tpl = ncap;
	}
	int rc = template_build(a, licensed, &r->tpl[r->n_tpl]);
	if (rc == 0)
		*ret = &r->tpl[r->n_tpl++];
	return rc;
}

/* Queues one action for tablet dev (licensed: an App Store app whose
 * device licence the tablet holds). */
static int queue_one(struct run *r, int64_t dev, const struct pol_action *a, int licensed)
{
	struct cmd_order o = {.device_id = dev,
			      .type = command_of(a->type),
			      .dedupe = a->identifier,
			      .origin = ORIGIN,
			      .requested_by = ACTOR};
	const struct template *t;
	char uuid[37];
	int rc;
	switch (a->type) {
	case POL_CANCEL:
		return db_policy_cancel(r->w->db, a->pending_id);
	case POL_INSTALL_PROFILE:
		o.blob_hash = a->item->ref;
		return cmdq_queue(r->w, &o, uuid, NULL, 0);
	default:
		if ((rc = template_for(r, a, licensed, &t)) < 0)
			return rc;
		o.tpl = &t->cmd;
		return cmdq_queue(r->w, &o, uuid, NULL, 0);
	}
}

/* Queues a tablet's plan; only storage errors stop the run. */
static int queue_plan(struct run *r, size_t i, const struct pol_plan *p)
{
	const struct reconcile_device *d = &r->f->devs[i];
	for (size_t k = 0; k < p->n; k++) {
		const struct pol_action *a = &p->actions[k];
		enum licence_gate g = LICENCE_NONE;
		if (a->type == POL_INSTALL_APP)
			g = licence_gate(r->held, d->id, d->school, a->item->store_id);
		if (g == LICENCE_WITHOUT) {
			r->st->licence_wait++; /* after its association (licence.c) */
			continue;
		}
		int rc = queue_one(r, d->id, a, g == LICENCE_HELD);
		if (rc < 0 && storage_error(rc))
			return rc;
		if (rc < 0) {
			r->st->failed++;
			snprintf(r->st->last_error, sizeof(r->st->last_error), "%s %s on %s: %s",
				 pol_action_name(a->type), a->identifier, d->serial,
				 ap_strerror(rc));
		} else if (a->type == POL_CANCEL) {
			r->st->canceled++;
		} else {
			r->st->queued++;
		}
	}
	r->st->capped += (int64_t)p->capped;
	return 0;
}

static int plan_all(struct run *r)
{
	const struct reconcile_facts *f = r->f;
	struct pol_plan p;
	int rc = 0;
	uint64_t part_t0 = uv_hrtime();
	pol_plan_init(&p);
	for (size_t i = 0; i < f->n_devs && rc == 0; i++) {
		if (i > 0 && (i % RUN_PART == 0 ||
			      (i % RUN_CHECK == 0 &&
			       uv_hrtime() - part_t0 > (uint64_t)RUN_PART_MS * 1000000u &&
			       db_write_waited()))) {
			if ((rc = db_split(r->w->db)) < 0)
				break;
			part_t0 = uv_hrtime();
			if (atomic_load(&bg.stop)) {
				rc = AP_EBUSY; /* the parts done stay queued; the rest waits */
				break;
			}
		}
		struct pol_device_state s;
		reconcile_facts_state(f, i, r->w->srv->cfg.queue_max, &s);
		if ((rc = pol_plan_device(f->assignments, f->n_assignments, &s, &p)) < 0)
			break;
		if (p.n == 0 && p.capped == 0)
			r->st->converged++;
		else
			rc = queue_plan(r, i, &p);
	}
	pol_plan_free(&p);
	return rc;
}

static void log_run(const char *reason, const char *school, int64_t device_id,
		    const struct reconcile_stats *st, int rc)
{
	char where[64];
	if (device_id)
		snprintf(where, sizeof(where), "device:%lld", (long long)device_id);
	else
		snprintf(where, sizeof(where), "%s%s", school ? "school:" : "fleet",
			 school ? school : "");
	if (rc < 0) {
		log_error("reconcile_failed", "reason=%s scope=%s error=\"%s\"", reason, where,
			  ap_strerror(rc));
		return;
	}
	if (device_id && st->queued == 0 && st->canceled == 0 && st->failed == 0) {
		log_debug("reconcile", "reason=%s scope=%s converged=%lld", reason, where,
			  (long long)st->converged);
		return;
	}
	log_info("reconcile",
		 "reason=%s scope=%s devices=%lld converged=%lld queued=%lld canceled=%lld"
		 " capped=%lld failed=%lld load_ms=%lld ms=%lld cpu_ms=%lld",
		 reason, where, (long long)st->devices, (long long)st->converged,
		 (long long)st->queued, (long long)st->canceled, (long long)st->capped,
		 (long long)st->failed, (long long)st->load_ms, (long long)st->total_ms,
		 (long long)st->cpu_ms);
	if (st->failed)
		log_warn("reconcile_command_failed", "reason=%s last_error=\"%s\"", reason,
			 st->last_error);
}

/* Reads the facts (flt->limit: the next range of them, f holding the
 * last) before the write lock is taken: the other loop writes on.  *ms
 * grows by the time spent. */
static int read_facts(struct worker *w, const struct reconcile_filter *flt, int first,
		      struct reconcile_facts *f, int64_t *ms)
{
	uint64_t t0 = uv_hrtime();
	int rc = db_read_begin(w->db);
	if (rc < 0)
		return rc;
	rc = first ? reconcile_facts_load(w->db, flt, f) : reconcile_facts_next(w->db, flt, f);
	db_read_end(w->db);
	*ms += worker_ms_since(t0);
	return rc;
}

/* A run of many tablets: the catalogue, its templates and the licences
 * held once, the tablets range after range, each planned and queued in
 * its own transaction(s) (split as plan_all() says). */
static int run_many(struct worker *w, const char *school, struct reconcile_stats *st)
{
	int range = atomic_load(&bg.range);
	struct reconcile_filter flt = {school, 0, 0, 0, school ? 0 : range > 0 ? range : RUN_RANGE};
	struct reconcile_facts f;
	int rc;
	if ((rc = read_facts(w, &flt, 1, &f, &st->load_ms)) < 0)
		return rc;
	unsigned slow = atomic_load(&bg.slow_ms);
	if (slow)
		uv_sleep(slow);
	struct run r = {w, &f, NULL, 0, 0, st, NULL};
	int open = (rc = db_begin(w->db)) == 0; /* a write transaction to end */
	if (rc == 0)
		rc = licence_held_load(w->db, 0, &r.held);
	while (rc == 0 && f.n_devs > 0) {
		st->devices += (int64_t)f.n_devs;
		if ((rc = plan_all(&r)) < 0)
			break;
		open = 0;
		if ((rc = db_commit(w->db)) < 0)
			break;
		if (atomic_load(&bg.stop)) {
			rc = AP_EBUSY; /* the ranges done stay queued; the rest waits */
			break;
		}
		if ((rc = read_facts(w, &flt, 0, &f, &st->load_ms)) == 0)
			open = (rc = db_begin(w->db)) == 0;
	}
	if (open && rc < 0)
		db_rollback(w->db);
	else if (open)
		rc = db_commit(w->db);
	licence_held_free(r.held);
	run_free(&r);
	reconcile_facts_free(&f);
	return rc;
}

/* Loads, plans and queues (w: its srv and db only, so that a work thread
 * may run it with a connection of its own); *st filled, the wall clock
 * and CPU time of the calling thread included. */
static int run_core(struct worker *w, const char *school, int64_t device_id,
		    struct reconcile_stats *st)
{
	struct reconcile_filter flt = {school, device_id, 0, 0, 0};
	struct reconcile_facts f;
	uint64_t t0 = uv_hrtime();
	int64_t c0 = worker_cpu_ms();
	int rc;
	memset(st, 0, sizeof(*st));
	if (device_id == 0) {
		if ((rc = db_policy_bulk(w->db, 1)) == 0)
			rc = run_many(w, school, st);
		db_policy_bulk(w->db, 0);
		goto out;
	}
	if ((rc = db_begin(w->db)) < 0)
		goto out;
	if ((rc = reconcile_facts_load(w->db, &flt, &f)) < 0) {
		db_rollback(w->db);
		goto out;
	}
	st->load_ms = worker_ms_since(t0);
	st->devices = (int64_t)f.n_devs;
	struct run r = {w, &f, NULL, 0, 0, st, NULL};
	if ((rc = licence_held_load(w->db, device_id, &r.held)) == 0)
		rc = plan_all(&r);
	licence_held_free(r.held);
	run_free(&r);
	reconcile_facts_free(&f);
	if (rc < 0)
		db_rollback(w->db);
	else
		rc = db_commit(w->db);
out:
	st->total_ms = worker_ms_since(t0);
	st->cpu_ms = worker_cpu_ms() - c0;
	return rc;
}

/* What follows a run, on w's loop: metrics, the log, the licences. */
static void run_after(struct worker *w, const char *school, int64_t device_id, const char *reason,
		      const struct reconcile_stats *st, int rc)
{
	metrics_reconcile(device_id ? METRICS_REC_TABLET
			  : school  ? METRICS_REC_SCHOOL
				    : METRICS_REC_FLEET,
			  rc == 0, (uint64_t)st->total_ms * 1000000u);
	log_run(reason, school, device_id, st, rc);
	/* a change of policy, a tablet enrolled or moved may need licences */
	if (rc == 0 && strcmp(reason, "licence") != 0 &&
	    (device_id == 0 || strcmp(reason, "enrolment") == 0 || strcmp(reason, "move") == 0))
		licence_sync_now(w, reason);
}

int reconcile_run(struct worker *w, const char *school, int64_t device_id, const char *reason,
		  struct reconcile_stats *ret)
{
	struct reconcile_stats st;
	int rc = run_core(w, school, device_id, &st);
	run_after(w, school, device_id, reason, &st, rc);
	if (rc == 0 && ret)
		*ret = st;
	return rc;
}

/* ---- runs of many tablets on a work thread ------------------------------ */

struct job {
	uv_work_t work;
	struct worker *w;  /* the loop that queued it: the after-work runs there */
	struct worker *tw; /* the thread's: w's srv and a connection of its own */
	char school[16];   /* "": the fleet */
	char reason[32];
	int rc;
	struct reconcile_stats st;
	struct waiter *waiters; /* called once this run is done */
};

static void bg_init(void)
{
	uv_mutex_init(&bg.lock);
}

static void waiter_closed(uv_handle_t *h)
{
	free(h->data);
}

/* On the waiter's loop. */
static void waiter_fire(uv_async_t *a)
{
	struct waiter *x = a->data;
	x->fn(x->rc, &x->st, x->arg);
	uv_close((uv_handle_t *)&x->async, waiter_closed);
}

/* Hands each waiter of list its outcome (st NULL: none); a waiter is not
 * touched after its send (its loop frees it). */
static void waiters_finish(struct waiter *list, int rc, const struct reconcile_stats *st)
{
	while (list) {
		struct waiter *next = list->next;
		list->rc = rc;
		if (st)
			list->st = *st;
		uv_async_send(&list->async);
		list = next;
	}
}

static void job_work(uv_work_t *q)
{
	struct job *j = q->data;
	int rc = worker_db_open(j->w->srv, &j->tw->db);
	if (rc == 0)
		rc = run_core(j->tw, j->school[0] ? j->school : NULL, 0, &j->st);
	if (j->tw->db)
		db_close(j->tw->db);
	j->tw->db = NULL;
	j->rc = rc;
#ifdef __GLIBC__
	/* this thread's malloc arena keeps the freed facts and page cache
	 * (tens of MB) otherwise: each thread of the pool would hold its own */
	malloc_trim(0);
#endif
}

static int job_queue(struct worker *w, const char *school, const char *reason,
		     struct waiter *waiters);

static void job_done(uv_work_t *q, int status)
{
	struct job *j = q->data;
	struct worker *w = j->w;
	const char *school = j->school[0] ? j->school : NULL;
	int rc = status < 0 ? AP_EINTERNAL : j->rc;
	char next_school[16], next_reason[32];
	if (rc == AP_EBUSY && atomic_load(&bg.stop))
		log_warn("reconcile_stopped",
			 "reason=%s scope=%s%s queued=%lld: the next change converges the rest",
			 j->reason, school ? "school:" : "fleet", school ? school : "",
			 (long long)j->st.queued);
	else
		run_after(w, school, 0, j->reason, &j->st, rc);
	waiters_finish(j->waiters, rc, &j->st);
	free(j->tw);
	free(j);
	uv_mutex_lock(&bg.lock);
	int again = bg.again;
	struct waiter *next = bg.next;
	memcpy(next_school, bg.school, sizeof(next_school));
	memcpy(next_reason, bg.reason, sizeof(next_reason));
	bg.again = 0;
	bg.next = NULL;
	if (!again || atomic_load(&bg.stop))
		bg.running = 0;
	uv_mutex_unlock(&bg.lock);
	if (!again)
		return;
	if (atomic_load(&bg.stop)) {
		log_warn("reconcile_deferred", "reason=%s scope=%s%s: stopping", next_reason,
			 next_school[0] ? "school:" : "fleet", next_school);
		waiters_finish(next, AP_EBUSY, NULL);
		return;
	}
	if ((rc = job_queue(w, next_school, next_reason, next)) < 0) {
		uv_mutex_lock(&bg.lock);
		next = bg.next; /* arrived meanwhile: they fail with it */
		bg.next = NULL;
		bg.again = 0;
		bg.running = 0;
		uv_mutex_unlock(&bg.lock);
		waiters_finish(next, rc, NULL);
	}
}

/* Queues a run (bg.running is set); on failure the waiters are told. */
static int job_queue(struct worker *w, const char *school, const char *reason,
		     struct waiter *waiters)
{
	struct job *j = calloc(1, sizeof(*j));
	int rc = AP_ENOMEM;
	if (j && (j->tw = calloc(1, sizeof(*j->tw))) != NULL) {
		j->work.data = j;
		j->w = w;
		j->tw->srv = w->srv;
		j->tw->id = w->id;
		snprintf(j->school, sizeof(j->school), "%s", school ? school : "");
		snprintf(j->reason, sizeof(j->reason), "%s", reason);
		j->waiters = waiters;
		rc = uv_queue_work(&w->loop, &j->work, job_work, job_done) < 0 ? AP_EIO : 0;
	}
	if (rc < 0) {
		if (j)
			free(j->tw);
		free(j);
		waiters_finish(waiters, rc, NULL);
	}
	return rc;
}

int reconcile_start(struct worker *w, const char *school, const char *reason,
		    reconcile_done_fn done, void *arg)
{
	struct waiter *x = NULL;
	uv_once(&bg.once, bg_init);
	if (atomic_load(&bg.stop))
		return AP_EBUSY;
	if (done) {
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return AP_ENOMEM;
		if (uv_async_init(&w->loop, &x->async, waiter_fire) < 0) {
			free(x);
			return AP_EIO;
		}
		x->async.data = x;
		x->fn = done;
		x->arg = arg;
	}
	uv_mutex_lock(&bg.lock);
	int busy = bg.running;
	if (busy && !bg.again) {
		snprintf(bg.school, sizeof(bg.school), "%s", school ? school : "");
		snprintf(bg.reason, sizeof(bg.reason), "%s", reason);
	} else if (busy) { /* two changes wait: one run covers both */
		if (strcmp(bg.school, school ? school : "") != 0)
			bg.school[0] = '\0';
		if (strcmp(bg.reason, reason) != 0)
			snprintf(bg.reason, sizeof(bg.reason), "%s", "again");
	}
	if (busy) {
		bg.again = 1;
		if (x) {
			x->next = bg.next;
			bg.next = x;
		}
	}
	bg.running = 1;
	uv_mutex_unlock(&bg.lock);
	if (busy)
		return 0;
	int rc = job_queue(w, school, reason, x);
	if (rc < 0) {
		uv_mutex_lock(&bg.lock);
		struct waiter *next = bg.next; /* arrived meanwhile: they fail with it */
		bg.next = NULL;
		bg.again = 0;
		bg.running = 0;
		uv_mutex_unlock(&bg.lock);
		waiters_finish(next, rc, NULL);
	}
	return x ? 0 : rc;
}

void reconcile_stop(void)
{
	atomic_store(&bg.stop, 1);
}

void reconcile_test_slow(unsigned ms)
{
	atomic_store(&bg.slow_ms, ms);
}

void reconcile_test_range(int n)
{
	atomic_store(&bg.range, n);
}

int reconcile_fleet(struct worker *w, const char *reason)
{
	return reconcile_start(w, NULL, reason, NULL, NULL);
}

int reconcile_school(struct worker *w, const char *uai, const char *reason)
{
	return reconcile_start(w, uai, reason, NULL, NULL);
}

int reconcile_device(struct worker *w, int64_t device_id, const char *reason)
{
	return reconcile_run(w, NULL, device_id, reason, NULL);
}

int reconcile_licensed(struct worker *w, const int64_t *ids, size_t n)
{
	int rc = 0;
	if (n > RECONCILE_LICENSED_EACH)
		return reconcile_fleet(w, "licence");
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = reconcile_device(w, ids[i], "licence");
	return rc;
}

int reconcile_enrolled(struct worker *w, int64_t device_id)
{
	int rc = db_policy_forget_device(w->db, device_id);
	return rc < 0 ? rc : reconcile_device(w, device_id, "enrolment");
}

/* An acknowledged policy command: what the tablet now holds. */
static int record_ack(struct worker *w, int64_t device_id, const struct db_cmd *c,
		      enum pol_action_type t)
{
	char dedupe[256], blob[65], uuid[37] = "";
	int rc = db_policy_command_ref(w->db, c->uuid, dedupe, blob);
	if (rc < 0 || dedupe[0] == '\0')
		return rc;
	switch (t) {
	case POL_INSTALL_PROFILE:
		rc = db_policy_version_uuid(w->db, blob, uuid);
		if (rc == AP_ENOTFOUND)
			return 0; /* not a catalogue version: nothing to record */
		return rc < 0 ? rc
			      : db_policy_installed(w->db, device_id, "profile", dedupe, uuid, "",
						    c->id);
	case POL_INSTALL_APP:
		return db_policy_installed(w->db, device_id, "app", dedupe, "", "", c->id);
	case POL_REMOVE_PROFILE:
		return db_policy_removed(w->db, device_id, "profile", dedupe);
	case POL_REMOVE_APP:
		return db_policy_removed(w->db, device_id, "app", dedupe);
	default:
		return 0;
	}
}

int reconcile_on_result(struct worker *w, const struct cmdq_result *res)
{
	const struct db_cmd *c = res->cmd;
	int64_t device_id = res->device->id;
	enum pol_action_type t;
	int profiles = strcmp(c->type, "ProfileList") == 0;
	if (profiles || strcmp(c->type, "InstalledApplicationList") == 0) {
		int rc = db_policy_lists_stamp(w->db, device_id, profiles, c->id);
		return rc < 0 ? rc : reconcile_device(w, device_id, "inventory");
	}
	if (strcmp(c->origin, ORIGIN) != 0 || pol_action_from_command(c->type, &t) < 0)
		return 0;
	return record_ack(w, device_id, c, t);
}

/* ---- read-only views ---------------------------------------------------- */

static int load_view(struct worker *w, const char *school, int64_t device_id, int all,
		     struct reconcile_facts *f)
{
	struct reconcile_filter flt = {school, device_id, all, 1, 0};
	return reconcile_facts_load(w->db, &flt, f);
}

/* What tablet i still needs, pending commands not counted, into p. */
static int needed(const struct reconcile_facts *f, size_t i, struct pol_plan *p)
{
	struct pol_device_state s;
	reconcile_facts_state(f, i, 0, &s);
	s.n_pending = 0;
	s.room = (size_t)-1;
	return pol_plan_device(f->assignments, f->n_assignments, &s, p);
}

static const struct reconcile_failure *failure_of(const struct reconcile_facts *f, size_t i,
						  const struct pol_action *a)
{
	size_t n;
	const struct reconcile_failure *x = reconcile_facts_failures(f, i, &n);
	for (size_t k = 0; k < n; k++)
		if (x[k].type == a->type && strcmp(x[k].identifier, a->identifier) == 0)
			return &x[k];
	return NULL;
}

static int is_pending(const struct pol_device_state *s, const struct pol_action *a)
{
	for (size_t k = 0; k < s->n_pending; k++)
		if (s->pending[k].type == a->type &&
		    strcmp(s->pending[k].identifier, a->identifier) == 0)
			return 1;
	return 0;
}

struct status_ctx {
	int (*fn)(const char *serial, const char *type, const char *identifier, const char *error,
		  void *arg);
	void *arg;
};

/* Classifies tablet i: 0 converged, 1 pending, 2 failing. */
static int classify(const struct reconcile_facts *f, size_t i, const struct pol_plan *needed,
		    const struct status_ctx *c)
{
	struct pol_device_state s;
	int failing = 0;
	if (needed->n == 0)
		return 0;
	reconcile_facts_state(f, i, 0, &s);
	for (size_t k = 0; k < needed->n; k++) {
		const struct pol_action *a = &needed->actions[k];
		const struct reconcile_failure *x = failure_of(f, i, a);
		if (x == NULL || is_pending(&s, a))
			continue;
		failing = 1;
		if (c->fn)
			c->fn(f->devs[i].serial, pol_action_name(a->type), a->identifier, x->error,
			      c->arg);
	}
	return failing ? 2 : 1;
}

int reconcile_status(struct worker *w, const char *school, struct reconcile_status *ret,
		     int (*failing_fn)(const char *serial, const char *type, const char *identifier,
				       const char *error, void *arg),
		     void *arg)
{
	struct reconcile_facts f;
	struct reconcile_status out = {0, 0, 0, 0};
	struct status_ctx c = {failing_fn, arg};
	struct pol_plan p;
	int range = atomic_load(&bg.range);
	/* the fleet's in ranges, as its runs (run_many()) */
	struct reconcile_filter flt = {school, 0, 0, 1, school ? 0 : range > 0 ? range : RUN_RANGE};
	int rc = reconcile_facts_load(w->db, &flt, &f);
	if (rc < 0)
		return rc;
	pol_plan_init(&p);
	while (rc == 0 && f.n_devs > 0) {
		out.devices += (int64_t)f.n_devs;
		for (size_t i = 0; i < f.n_devs && rc == 0; i++) {
			if ((rc = needed(&f, i, &p)) < 0)
				break;
			int k = classify(&f, i, &p, &c);
			out.converged += k == 0;
			out.pending += k == 1;
			out.failing += k == 2;
		}
		if (rc == 0)
			rc = reconcile_facts_next(w->db, &flt, &f);
	}
	pol_plan_free(&p);
	reconcile_facts_free(&f);
	if (rc == 0)
		*ret = out;
	return rc;
}

/* The state word of a desired item of tablet i ("waiting_licence": an
 * App Store app whose device licence the tablet does not hold yet). */
static const char *item_state(const struct reconcile_facts *f, size_t i,
			      const struct pol_plan *needed, const struct pol_item *it,
			      const struct licence_held *held, const char **error)
{
	struct pol_device_state s;
	reconcile_facts_state(f, i, 0, &s);
	*error = "";
	for (size_t k = 0; k < needed->n; k++) {
		const struct pol_action *a = &needed->actions[k];
		if (a->item != it)
			continue;
		if (is_pending(&s, a))
			return "pending";
		const struct reconcile_failure *x = failure_of(f, i, a);
		if (x) {
			*error = x->error;
			return "failed";
		}
		if (a->type == POL_INSTALL_APP &&
		    licence_gate(held, f->devs[i].id, f->devs[i].school, it->store_id) ==
			LICENCE_WITHOUT)
			return "waiting_licence";
		return "missing";
	}
	return "installed";
}

static void explain_items(const struct reconcile_facts *f, const struct pol_plan *needed,
			  const struct licence_held *held,
			  void (*item_fn)(const struct reconcile_item_view *it, void *arg),
			  void *arg)
{
	const char *scopes[64];
	struct pol_device_state s;
	reconcile_facts_state(f, 0, 0, &s);
	for (size_t d = 0; d < needed->n_desired; d++) {
		const struct pol_item *it = needed->desired[d];
		struct reconcile_item_view v = {it->kind == POL_PROFILE ? "profile" : "app",
						it->name,
						it->identifier,
						scopes,
						0,
						NULL,
						NULL,
						it->store_id};
		for (size_t k = 0; k < f->n_assignments && v.n_scopes < 64; k++)
			if (f->assignments[k].item == it &&
			    pol_scope_applies(&f->assignments[k].scope, &s.facts))
				scopes[v.n_scopes++] = f->assignment_scopes[k];
		v.state = item_state(f, 0, needed, it, held, &v.error);
		item_fn(&v, arg);
	}
	for (size_t k = 0; k < needed->n; k++) {
		const struct pol_action *a = &needed->actions[k];
		if (a->type != POL_REMOVE_PROFILE && a->type != POL_REMOVE_APP)
			continue;
		struct reconcile_item_view v = {a->type == POL_REMOVE_PROFILE ? "profile" : "app",
						a->identifier,
						a->identifier,
						NULL,
						0,
						is_pending(&s, a) ? "removing" : "to_remove",
						"",
						0};
		item_fn(&v, arg);
	}
}

int reconcile_explain(struct worker *w, int64_t device_id,
		      void (*device_fn)(const struct reconcile_device_view *d, void *arg),
		      void (*item_fn)(const struct reconcile_item_view *it, void *arg), void *arg)
{
	struct reconcile_facts f;
	struct pol_plan p;
	struct pol_device_state s;
	int rc = load_view(w, NULL, device_id, 1, &f);
	if (rc < 0)
		return rc;
	if (f.n_devs != 1) {
		reconcile_facts_free(&f);
		return AP_ENOTFOUND;
	}
	struct licence_held *held = NULL;
	pol_plan_init(&p);
	if ((rc = licence_held_load(w->db, device_id, &held)) == 0 &&
	    (rc = needed(&f, 0, &p)) == 0) {
		reconcile_facts_state(&f, 0, 0, &s);
		struct reconcile_device_view d = {f.devs[0].id, f.devs[0].serial, f.devs[0].school,
						  s.facts.groups, s.facts.n_groups};
		device_fn(&d, arg);
		explain_items(&f, &p, held, item_fn, arg);
	}
	licence_held_free(held);
	pol_plan_free(&p);
	reconcile_facts_free(&f);
	return rc;
}

/* What reconcile_settled() counts: items not yet settled; the App Store
 * apps waiting for their licence are kept apart. */
struct settled {
	int64_t unsettled;
	int64_t waiting[64];
	size_t n_waiting;
};

static void settled_device(const struct reconcile_device_view *d, void *arg)
{
	(void)d;
	(void)arg;
}

static void settled_item(const struct reconcile_item_view *it, void *arg)
{
	struct settled *st = arg;
	if (strcmp(it->state, "waiting_licence") == 0 && st->n_waiting < 64)
		st->waiting[st->n_waiting++] = it->store_id;
	else if (strcmp(it->state, "installed") != 0 && strcmp(it->state, "failed") != 0)
		st->unsettled++;
}

/* An app waiting for its licence is settled only when the last licence run
 * found its collège short of it (reported, never half-installed) and no
 * association for the tablet is in flight; otherwise its licence (then its
 * install) is on its way. */
int reconcile_settled(struct worker *w, int64_t device_id)
{
	struct settled st;
	memset(&st, 0, sizeof(st));
	int rc = reconcile_explain(w, device_id, settled_device, settled_item, &st);
	if (rc < 0 || st.unsettled)
		return rc < 0 ? rc : 0;
	if (st.n_waiting && (rc = licence_waiting(w, device_id)) != 0)
		return rc < 0 ? rc : 0;
	for (size_t i = 0; i < st.n_waiting; i++) {
		char adam[24];
		snprintf(adam, sizeof(adam), "%lld", (long long)st.waiting[i]);
		if ((rc = db_vpp_short_for(w->db, device_id, adam)) <= 0)
			return rc;
	}
	return 1;
}

/* ---- unapproved apps ---------------------------------------------------- */

/* Apple's own apps ship with iPadOS: not worth a line in the report. */
#define APPLE_PREFIX "com.apple."

struct unapproved {
	struct reconcile_facts f;
	struct pol_plan p;
	long cur; /* tablet whose desired state is in p, -1 none */
	int (*fn)(const char *serial, const char *school, const char *identifier, const char *name,
		  const char *version, void *arg);
	void *arg;
	int rc;
};

static int desired_app(const struct pol_plan *p, const char *identifier)
{
	for (size_t i = 0; i < p->n_desired; i++)
		if (p->desired[i]->kind == POL_APP &&
		    strcmp(p->desired[i]->identifier, identifier) == 0)
			return 1;
	return 0;
}

static int on_installed(int64_t device_id, const char *serial, const char *school,
			const char *identifier, const char *name, const char *version, void *arg)
{
	struct unapproved *u = arg;
	long i = reconcile_facts_find(&u->f, device_id);
	if (i < 0 || strncmp(identifier, APPLE_PREFIX, strlen(APPLE_PREFIX)) == 0)
		return 0;
	if (i != u->cur) {
		struct pol_device_state s;
		reconcile_facts_state(&u->f, (size_t)i, 0, &s);
		if ((u->rc = pol_plan_desired(u->f.assignments, u->f.n_assignments, &s.facts,
					      &u->p)) < 0)
			return 1;
		u->cur = i;
	}
	return desired_app(&u->p, identifier)
		   ? 0
		   : u->fn(serial, school, identifier, name, version, u->arg);
}

int reconcile_unapproved(struct worker *w, const char *school,
			 int (*fn)(const char *serial, const char *school, const char *identifier,
				   const char *name, const char *version, void *arg),
			 void *arg)
{
	struct unapproved u;
	memset(&u, 0, sizeof(u));
	u.cur = -1;
	u.fn = fn;
	u.arg = arg;
	int rc = load_view(w, school, 0, 0, &u.f);
	if (rc < 0)
		return rc;
	pol_plan_init(&u.p);
	rc = db_policy_each_installed_app(w->db, school, on_installed, &u);
	if (rc == 0)
		rc = u.rc;
	pol_plan_free(&u.p);
	reconcile_facts_free(&u.f);
	return rc;
}

/* ---- daily refresh ------------------------------------------------------ */

struct ids {
	int64_t *v;
	size_t n, cap;
	int rc;
};

static int collect_id(int64_t device_id, void *arg)
{
	struct ids *x = arg;
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 256;
		int64_t *v = realloc(x->v, ncap * sizeof(*v));
		if (v == NULL) {
			x->rc = AP_ENOMEM;
			return 1;
		}
		x->v = v;
		x->cap = ncap;
	}
	x->v[x->n++] = device_id;
	return 0;
}

static int refresh_one(struct worker *w, int64_t device_id)
{
	static const enum ap_cmd_type lists[] = {AP_CMD_PROFILE_LIST,
						 AP_CMD_INSTALLED_APPLICATION_LIST};
	char uuid[37];
	for (size_t i = 0; i < 2; i++) {
		struct cmd_order o = {.device_id = device_id,
				      .type = lists[i],
				      .dedupe = "refresh",
				      .origin = "refresh",
				      .requested_by = ACTOR};
		int rc = cmdq_queue(w, &o, uuid, NULL, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int reconcile_refresh(struct worker *w, int64_t *ret_n)
{
	struct ids due = {NULL, 0, 0, 0};
	int64_t enrolled = 0;
	int rc = db_policy_count_enrolled(w->db, &enrolled);
	if (rc < 0)
		return rc;
	if ((rc = db_begin(w->db)) < 0)
		return rc;
	/* ids first, then the queue is written */
	rc = db_policy_refresh_due(w->db, db_now() - 86400, (enrolled + 23) / 24, collect_id, &due);
	if (rc == 0)
		rc = due.rc;
	for (size_t i = 0; i < due.n && rc == 0; i++)
		rc = refresh_one(w, due.v[i]);
	free(due.v);
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	if ((rc = db_commit(w->db)) == 0)
		*ret_n = (int64_t)due.n;
	return rc;
}
