/*
 * jobs.h - periodic jobs, run on worker 0's loop.
 *
 * One table of jobs (name, period, function).  A job runs on the loop
 * thread with worker 0's database connection; jobs are short, or do their
 * work in bounded batches.
 */
#ifndef JOBS_H
#define JOBS_H

struct worker;

int jobs_start(struct worker *w);
/* Runs job `name` now on w's loop and connection (AP_ENOTFOUND if none). */
int jobs_run(struct worker *w, const char *name);
/* 1 when a job is named name. */
int jobs_exists(const char *name);
/* Stops the timers (drain); safe to call twice. */
void jobs_stop(struct worker *w);

#endif
