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
/* Stops the timers (drain); safe to call twice. */
void jobs_stop(struct worker *w);

#endif
