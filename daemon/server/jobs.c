/* jobs.c - the table of periodic jobs. */
#include "jobs.h"
#include "ap_err.h"
#include "audit_head.h"
#include "backup.h"
#include "locate.h"
#include "log.h"
#include "privacy.h"
#include "notice.h"
#include "ddm.h"
#include "ade_configure.h"
#include "reconcile.h"
#include "worker.h"
#include "db_command.h"
#include "ade_sync.h"
#include "gdmf_sync.h"
#include "licence.h"
#include "db_loan.h"
#include "db_person.h"
#include "isodate.h"
#include "schoolyear.h"
#include "push.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

struct job {
	const char *name;
	uint64_t period_ms;
	int (*run)(struct worker *w);
	uint64_t (*period_from)(const struct config *c); /* when set, overrides period_ms */
	int soon; /* first run 10 s after start (catching up after downtime), else after a period */
	/* when set, what POST /api/v1/jobs/:name/run runs instead of run (a
	 * job whose timer only acts when something is due) */
	int (*run_now)(struct worker *w);
};

static int job_checkpoint(struct worker *w)
{
	return db_checkpoint(w->db);
}

/* Pending commands past their expiry become visible as expired. */
static int job_expire_commands(struct worker *w)
{
	int64_t n = 0;
	int rc = db_cmd_expire(w->db, db_now(), &n);
	if (rc == 0 && n > 0)
		log_info("commands_expired", "count=%lld", (long long)n);
	return rc;
}

/* Finished commands older than the retention are deleted, in batches so
 * the loop is never held long: peers melted their database by never
 * pruning. */
static int job_prune_commands(struct worker *w)
{
	int64_t n = 0, total = 0;
	int64_t before = db_now() - w->srv->cfg.command_retention_days * 86400;
	int rc;
	do {
		rc = db_cmd_prune(w->db, before, 5000, &n);
		total += n;
	} while (rc == 0 && n == 5000 && total < 200000);
	if (rc == 0 && total > 0)
		log_info("commands_pruned", "count=%lld", (long long)total);
	return rc;
}

/* Daily inventory refresh spread over the day: each hour, ProfileList and
 * InstalledApplicationList for the 1/24 of tablets whose lists are the
 * oldest; their results reconcile each tablet (reconcile_on_result). */
static int job_refresh_lists(struct worker *w)
{
	int64_t n = 0;
	int rc = reconcile_refresh(w, &n);
	if (rc == 0 && n > 0)
		log_info("lists_refresh_queued", "devices=%lld", (long long)n);
	return rc;
}

/* Daily: open loans past their due day (not deposited for the summer) are
 * marked overdue once, each with an audit row by "system"; the log line
 * carries a count only (no person, no tablet).  The guardians' agreements
 * shown on people follow the school year (person.agreement_at mirrors the
 * current year's, which changes on September 1st). */
static int job_loans_overdue(struct worker *w)
{
	int64_t n = 0, m = 0;
	int rc = db_loan_mark_overdue(w->db, isodate_day_start(db_now()), &n);
	if (rc == 0 && n > 0)
		log_info("loans_overdue", "count=%lld", (long long)n);
	if (rc == 0)
		rc = db_agreement_refresh(w->db, schoolyear_of(db_now()), &m);
	if (rc == 0 && m > 0)
		log_info("agreements_refreshed", "count=%lld", (long long)m);
	return rc;
}

/* Hourly: the DeclarationsTokens of the tablets with DDM on, for the set
 * changes no handler follows at once (a class changed by an import, a
 * leaver's loans closed: their groups), after DDM turned on where it is
 * missing (ddm_enable_missing); a converged fleet costs the
 * load and no write (~0.5 s of CPU for 100,000 tablets, tools/bench-ddm). */
static int job_ddm_recompute(struct worker *w)
{
	/* first the tablets on iPadOS 16+ that have no DDM yet (enrolled
	 * before Ardoise served it, or their command lost), 10,000 an hour */
	int rc = ddm_enable_missing(w, 10000, NULL);
	if (rc < 0)
		return rc;
	return ddm_recompute(w, NULL, 0, "hourly", NULL);
}

static uint64_t repush_period(const struct config *c)
{
	return (uint64_t)c->push_repush_check_s * 1000;
}

static const struct job jobs[] = {
    {"locate_expire", 60 * 1000, locate_job_expire, NULL, 1},
    {"locate_purge", 3600 * 1000, locate_job_purge, NULL, 1},
    {"expire_commands", 60 * 1000, job_expire_commands, NULL, 1},
    {"prune_commands", 3600 * 1000, job_prune_commands, NULL, 1},
    {"checkpoint", 60 * 1000, job_checkpoint, NULL, 0},
    {"refresh_lists", 3600 * 1000, job_refresh_lists, NULL, 0},
    {"push_repush", 0, push_repush, repush_period, 0},
    {"push_certificate", 86400 * 1000, push_cert_check, NULL, 1},
    {"audit_head", 1000, audit_head_job, NULL, 0},
    {"pseudonymise_leavers", 3600 * 1000, privacy_job, NULL, 0},
    {"notice", 60 * 1000, notice_job, NULL, 1},
    {"loans_overdue", 86400 * 1000, job_loans_overdue, NULL, 1},
    {"ddm_recompute", 3600 * 1000, job_ddm_recompute, NULL, 0},
    {"ade_configure", 60 * 1000, ade_configure_job, NULL, 1},
    /* looks every 10 minutes whether the catalogue is catalogue_refresh_hours old;
     * the first look 10 minutes after start, not 10 s: a daemon started for a
     * moment (a test, -n) does not go to Apple */
    {"updates_catalogue", 600 * 1000, gdmf_sync_job, NULL, 0, gdmf_sync_now},
    /* looks every minute whether [ade] sync_minutes passed since the last run
     * (only with a server token; not before a Retry-After) */
    {"ade_sync", 60 * 1000, ade_sync_job, NULL, 0, ade_sync_now},
    /* Apps and Books licences: looks every minute whether [vpp] sync_minutes
     * have passed since the last run (licence.h) */
    {"vpp_sync", 60 * 1000, licence_job, NULL, 0, licence_sync_asked},
    /* looks every minute whether the day's backup is due ([backup] hour,
     * dir); run now, one backup at once */
    {"backup", 60 * 1000, backup_job, NULL, 0, backup_job_now},
};

#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

struct jobs {
	uv_timer_t timers[NJOBS];
	int stopped;
	size_t open; /* timers not yet closed */
};

static void on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct jobs *s = w->jobs;
	size_t i = (size_t)(t - s->timers);
	uint64_t t0 = uv_hrtime();
	int rc = jobs[i].run(w);
	if (rc < 0)
		log_warn("job_failed", "job=%s error=\"%s\"", jobs[i].name, ap_strerror(rc));
	else
		log_debug("job_done", "job=%s us=%llu", jobs[i].name,
			  (unsigned long long)((uv_hrtime() - t0) / 1000));
}

int jobs_exists(const char *name)
{
	for (size_t i = 0; i < NJOBS; i++)
		if (strcmp(jobs[i].name, name) == 0)
			return 1;
	return 0;
}

int jobs_run(struct worker *w, const char *name)
{
	for (size_t i = 0; i < NJOBS; i++)
		if (strcmp(jobs[i].name, name) == 0)
			return jobs[i].run_now ? jobs[i].run_now(w) : jobs[i].run(w);
	return AP_ENOTFOUND;
}

int jobs_start(struct worker *w)
{
	struct jobs *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return AP_ENOMEM;
	w->jobs = s;
	for (size_t i = 0; i < NJOBS; i++) {
		uv_timer_init(&w->loop, &s->timers[i]);
		s->timers[i].data = w;
		uint64_t period =
		    jobs[i].period_from ? jobs[i].period_from(&w->srv->cfg) : jobs[i].period_ms;
		uint64_t first = jobs[i].soon && period > 10000 ? 10000 : period;
		uv_timer_start(&s->timers[i], on_tick, first, period);
	}
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct worker *w = h->data;
	struct jobs *s = w->jobs;
	/* libuv runs close callbacks in no promised order: count them */
	if (--s->open == 0) {
		free(s);
		w->jobs = NULL;
	}
}

void jobs_stop(struct worker *w)
{
	struct jobs *s = w->jobs;
	if (s == NULL || s->stopped)
		return;
	s->stopped = 1;
	notice_stop();	  /* a notice run in flight sends nothing more */
	gdmf_sync_stop(); /* a catalogue fetch in flight gives up */
	ade_sync_stop();  /* an ADE run in flight gives up at its next step */
	licence_stop();	  /* a licence run in flight gives up */
	reconcile_stop(); /* a fleet run in flight ends after its part */
	s->open = NJOBS;
	for (size_t i = 0; i < NJOBS; i++)
		uv_close((uv_handle_t *)&s->timers[i], on_closed);
}
