/*
 * bench_session_index.c - what the session index (db_mdm_cache.c) costs in
 * memory with N tablets, and a lookup from memory against one from SQLite
 * (not a test).  Writes N bound certificates and their enrolled tablets
 * straight into a new WAL file (udid 25 characters, serial 12, as iPads
 * have), reads each one through the index (loads it), then reads them all
 * again (from memory), and prints the index's own bytes, the process's RSS
 * growth and the thread CPU time a lookup took each way.
 *
 *     build/tests/bench/bench_session_index [N]   (default 1,000,000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db_mdm.h"
#include "db_mdm_cache.h"
#include "store.h"

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU: the machine is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void names(long i, char fp[65], char udid[32])
{
	snprintf(fp, 65, "%016lx%048x", (unsigned long)i * 0x9e3779b97f4a7c15ul, 0);
	snprintf(udid, 32, "00008101-%016lX", (unsigned long)i);
}

/* N identities and tablets, with SQL of their own (faster than the API). */
static int populate(const char *path, long n)
{
	sqlite3 *h;
	char fp[65], udid[32], serial[24];
	sqlite3_stmt *a, *b;
	if (sqlite3_open(path, &h) != SQLITE_OK)
		return -1;
	sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(h, "INSERT INTO device_identity(fp, udid, bound_at) VALUES (?,?,1)", -1,
			   &a, NULL);
	sqlite3_prepare_v2(h,
			   "INSERT INTO device(serial, udid, cert_fp, enrollment, trust_id,"
			   " last_seen, created_at, updated_at)"
			   " VALUES (?,?,?,'enrolled','0123456789abcdef',1,1,1)",
			   -1, &b, NULL);
	for (long i = 1; i <= n; i++) {
		names(i, fp, udid);
		snprintf(serial, sizeof(serial), "F9X%09ld", i);
		sqlite3_bind_text(a, 1, fp, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(a, 2, udid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(b, 1, serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(b, 2, udid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(b, 3, fp, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(a) != SQLITE_DONE || sqlite3_step(b) != SQLITE_DONE)
			return -1;
		sqlite3_reset(a);
		sqlite3_reset(b);
	}
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(h);
	return 0;
}

/* Every tablet's two session reads; the seconds they took. */
static double pass(struct db *db, long n)
{
	char fp[65], udid[32];
	struct db_mdm_identity id;
	struct db_device d;
	double t0 = cpu_s();
	for (long i = 1; i <= n; i++) {
		names(i, fp, udid);
		if (db_mdm_identity_known(db, fp, &id) < 0 ||
		    db_mdm_session_device(db, udid, fp, &d) < 0 || d.id != i) {
			fprintf(stderr, "tablet %ld not read\n", i);
			exit(1);
		}
	}
	return cpu_s() - t0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	char dir[] = "/tmp/bench-session-index-XXXXXX", path[80];
	struct db *db;
	struct db_mdm_cache_stats st;
	if (n < 1 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/ardoise.db", dir);
	if (db_open(path, &db) < 0)
		return 1;
	db_close(db);
	if (populate(path, n) < 0 || db_open(path, &db) < 0)
		return 1;
	pass(db, n < 1000 ? n : 1000); /* SQLite's page cache warm for both */
	db_mdm_cache_clear();
	long rss0 = rss_kb();
	double load = pass(db, n);
	long rss1 = rss_kb();
	double hit = pass(db, n);
	db_mdm_cache_stats(&st);
	printf("{\"tablets\": %ld, \"index_bytes\": %llu, \"bytes_per_tablet\": %.1f,"
	       " \"rss_growth_mb\": %.1f, \"rss_mb\": %.1f, \"us_per_session_from_sqlite\": %.2f,"
	       " \"us_per_session_from_memory\": %.2f, \"hits\": %llu, \"misses\": %llu}\n",
	       n, (unsigned long long)st.bytes, (double)st.bytes / (double)n,
	       (double)(rss1 - rss0) / 1024.0, (double)rss1 / 1024.0, load * 1e6 / (double)n,
	       hit * 1e6 / (double)n, (unsigned long long)st.hits, (unsigned long long)st.misses);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	return system(path) == 0 ? 0 : 1;
}
