/*
 * db_metrics.h - the fleet figures GET /metrics shows: commands waiting,
 * tablets enrolled and not seen lately.  One grouped query each (never a
 * query per tablet); the daemon caches them (15 s, 60 s).
 */
#ifndef DB_METRICS_H
#define DB_METRICS_H

#include <stdint.h>

struct db;

/* Commands waiting for a tablet by status: ret[0] queued, ret[1] sent,
 * ret[2] notnow (the partial index command_queue). */
int db_metrics_pending(struct db *db, int64_t ret[3]);

struct db_metrics_tablets {
	int64_t enrolled;
	/* enrolled and last seen before now - 7 / 30 days, or never */
	int64_t not_seen_7d, not_seen_30d;
};
int db_metrics_tablets(struct db *db, int64_t now, struct db_metrics_tablets *ret);

#endif
