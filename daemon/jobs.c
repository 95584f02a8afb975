/* jobs.c - the table of periodic jobs. */
#include "jobs.h"
#include "ap_err.h"
#include "log.h"
#include "server.h"
#include "store.h"

#include <stdlib.h>

struct job {
	const char *name;
	uint64_t period_ms;
	int (*run)(struct worker *w);
};

static int job_checkpoint(struct worker *w)
{
	return db_checkpoint(w->db);
}

static const struct job jobs[] = {
    {"checkpoint", 60 * 1000, job_checkpoint},
};

#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

struct jobs {
	uv_timer_t timers[NJOBS];
	int stopped;
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

int jobs_start(struct worker *w)
{
	struct jobs *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return AP_ENOMEM;
	w->jobs = s;
	for (size_t i = 0; i < NJOBS; i++) {
		uv_timer_init(&w->loop, &s->timers[i]);
		s->timers[i].data = w;
		uv_timer_start(&s->timers[i], on_tick, jobs[i].period_ms, jobs[i].period_ms);
	}
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct worker *w = h->data;
	struct jobs *s = w->jobs;
	if (h == (uv_handle_t *)&s->timers[NJOBS - 1]) {
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
	for (size_t i = 0; i < NJOBS; i++)
		uv_close((uv_handle_t *)&s->timers[i], on_closed);
}
