/*
 * bench_ddm.c - the recompute of every tablet's declaration set and
 * DeclarationsToken after a change of the fleet's update declaration
 * (issue 15: under 5 s for 100,000 tablets).
 *
 * A file database (WAL, as the daemon's) gets the collèges of the CSV
 * given, N enrolled tablets with DDM enabled spread over them, each lent
 * to a pupil (a class of six) or, one in twenty, to a teacher; then,
 * through db_ddm (audited, as staff would): an activation, a status
 * subscription, an asset and the update enforcement assigned to the
 * fleet, one configuration per collège, one per collège's pupils and
 * teachers, one for the 6e A of ten collèges.  Measured, as the daemon
 * will do it: the sets loaded (db_ddm_sets_load, before any write lock),
 * then in one transaction committed every 10,000 tablets each tablet's
 * token computed with OpenSSL's SHA-256 (the contract: hex SHA-256 of
 * "kind NUL identifier NUL server_token NUL" in order, 32 characters)
 * and stored when it changed (db_ddm_token_store).  Runs: the first
 * tokens, a no-op, then R times the fleet's update declaration replaced
 * (a new one assigned to the fleet, the old one unassigned: every tablet
 * changes), and a collège's configuration edited.  Wall and CPU times,
 * median and range.  Then every tablet sends a status report (each in
 * its own transaction, as a check-in would), and the fleet's and one
 * collège's counts of the install state are read.  Each run has the reconciliation's 32 MiB page cache
 * (db_policy_bulk), as the daemon's runs of many tablets; --no-bulk:
 * SQLite's default.
 *
 *   bench_ddm --colleges CSV [--devices N] [--runs R] [--keep] [--no-bulk]
 */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ap_err.h"
#include "db_ddm.h"
#include "db_policy.h"
#include "store.h"

#define MAX_SCHOOLS 64
#define PART	    10000

static char uais[MAX_SCHOOLS][9];
static size_t n_uais;

static double ms_of(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_ddm: %s: %s\n", what, rc < 0 ? ap_strerror(rc) : "failed");
	exit(1);
}

static void read_colleges(const char *csv)
{
	char line[1024];
	FILE *f = fopen(csv, "r");
	if (f == NULL) {
		perror(csv);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) && n_uais < MAX_SCHOOLS)
		if (strlen(line) > 9 && line[8] == ',' && line[0] >= '0' && line[0] <= '9') {
			memcpy(uais[n_uais], line, 8);
			uais[n_uais++][8] = '\0';
		}
	fclose(f);
	if (n_uais == 0)
		die("no collège in the CSV", 0);
}

static void raw_exec(sqlite3 *h, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench_ddm: %s\n", err);
		exit(1);
	}
}

/* The fleet records, straight into the file (as tools/bench-* do). */
static void seed(const char *path, long devices)
{
	sqlite3 *h;
	char sql[512];
	if (sqlite3_open(path, &h) != SQLITE_OK)
		die("sqlite3_open", 0);
	raw_exec(h, "BEGIN; CREATE TEMP TABLE u(i INTEGER PRIMARY KEY, uai TEXT);");
	for (size_t i = 0; i < n_uais; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO school(uai, name, created_at) VALUES ('%.8s', 'Clg %zu', 1);"
			 "INSERT INTO u VALUES (%zu, '%.8s');",
			 uais[i], i, i, uais[i]);
		raw_exec(h, sql);
	}
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
		 " INSERT INTO device(id, serial, school, state, enrollment, created_at,"
		 " updated_at, product_name) SELECT i, printf('BNCH%%07d', i), (SELECT uai"
		 " FROM u WHERE u.i = n.i %% %zu), 'loaned', 'enrolled', 1, 1,"
		 " printf('iPad%%d,%%d', 7 + i %% 10, 1 + i %% 4) FROM n",
		 devices, n_uais);
	raw_exec(h, sql);
	raw_exec(h, "INSERT INTO person(id, ext_id, kind, name, class, school, created_at,"
		    " updated_at) SELECT id, 'P' || id, CASE WHEN id % 20 = 0 THEN 'teacher'"
		    " ELSE 'pupil' END, 'x', CASE WHEN id % 20 = 0 THEN '' ELSE"
		    " (CASE id % 6 WHEN 0 THEN '6e A' WHEN 1 THEN '6e B' WHEN 2 THEN '5e A'"
		    " WHEN 3 THEN '5e B' WHEN 4 THEN '4e A' ELSE '3e A' END) END, school, 1, 1"
		    " FROM device;"
		    "INSERT INTO loan(device_id, person_id, school, started_at, created_by)"
		    " SELECT id, id, school, 1, 'bench' FROM device;"
		    "INSERT INTO device_ddm(device_id, enabled_at) SELECT id, 1 FROM device;"
		    "COMMIT;");
	sqlite3_close(h);
}

/* Lowercase hex SHA-256 of data, its first 32 characters. */
static void token32(EVP_MD_CTX *ctx, const void *const *parts, const size_t *lens, size_t n,
		    char out[33])
{
	unsigned char md[32];
	unsigned int len = 0;
	static const char hex[] = "0123456789abcdef";
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		die("SHA-256", 0);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, parts[i], lens[i]);
	EVP_DigestFinal_ex(ctx, md, &len);
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
}

static EVP_MD_CTX *md;
static struct db *bench_db;
static int bulk = 1; /* the page cache of a many-tablet run (db_policy_bulk) */

/* A declaration with its server token from its content (a stand-in for
 * ap_ddm_server_token(): the hash of type, identifier and payload). */
static void declare(enum db_ddm_kind kind, const char *type, const char *identifier,
		    const char *payload)
{
	struct db_declaration d;
	memset(&d, 0, sizeof(d));
	d.kind = kind;
	snprintf(d.type, sizeof(d.type), "%s", type);
	snprintf(d.identifier, sizeof(d.identifier), "%s", identifier);
	const void *parts[] = {type, identifier, payload};
	size_t lens[] = {strlen(type) + 1, strlen(identifier) + 1, strlen(payload)};
	token32(md, parts, lens, 3, d.server_token);
	int rc = db_ddm_declaration_add(bench_db, &d, payload, strlen(payload), "bench", NULL);
	if (rc < 0)
		die(identifier, rc);
}

static void assign(const char *identifier, const char *scope)
{
	int rc = db_ddm_assign(bench_db, identifier, scope, "bench");
	if (rc < 0)
		die(scope, rc);
}

#define SU "com.apple.configuration.softwareupdate.enforcement.specific"

static void su_declare(int k)
{
	char id[64], payload[160];
	snprintf(id, sizeof(id), "ardoise.su.26.%d", k);
	snprintf(payload, sizeof(payload),
		 "{\"TargetOSVersion\":\"26.%d\",\"TargetLocalDateTime\":\"2026-12-16T18:00:00\"}",
		 k);
	declare(DB_DDM_CONFIGURATION, SU, id, payload);
}

/* An update plan with a models filter (migration 18): the fleet's 40
 * models, half of them listed (k: the target's minor version). */
static void su_filtered(int k)
{
	char id[64], payload[160], models[1024];
	size_t o = 0;
	struct db_declaration d;
	memset(&d, 0, sizeof(d));
	snprintf(id, sizeof(id), "ardoise.su.f.%d", k);
	snprintf(payload, sizeof(payload),
		 "{\"TargetOSVersion\":\"26.%d\",\"TargetLocalDateTime\":\"2026-12-16T18:00:00\"}",
		 k);
	o += (size_t)snprintf(models, sizeof(models), "[");
	for (int m = 0; m < 20; m++)
		o += (size_t)snprintf(models + o, sizeof(models) - o, "%s\"iPad%d,%d\"",
				      m ? "," : "", 7 + m / 4 + 5, 1 + m % 4);
	snprintf(models + o, sizeof(models) - o, "]");
	d.kind = DB_DDM_CONFIGURATION;
	snprintf(d.type, sizeof(d.type), "%s", SU);
	snprintf(d.identifier, sizeof(d.identifier), "%s", id);
	snprintf(d.models, sizeof(d.models), "%s", models);
	const void *parts[] = {SU, id, payload};
	size_t lens[] = {strlen(SU) + 1, strlen(id) + 1, strlen(payload)};
	token32(md, parts, lens, 3, d.server_token);
	int rc = db_ddm_declaration_add(bench_db, &d, payload, strlen(payload), "bench", NULL);
	if (rc < 0)
		die(id, rc);
}

static void catalogue(void)
{
	char id[64], scope[64];
	declare(DB_DDM_ACTIVATION, "com.apple.activation.simple", "ardoise.act",
		"{\"StandardConfigurations\":[\"ardoise.status\",\"ardoise.su.26.1\"]}");
	declare(DB_DDM_CONFIGURATION, "com.apple.configuration.management.status-subscriptions",
		"ardoise.status",
		"{\"StatusItems\":[{\"Name\":\"softwareupdate.install-state\"},"
		"{\"Name\":\"device.operating-system.version\"}]}");
	declare(DB_DDM_ASSET, "com.apple.asset.data", "ardoise.asset",
		"{\"Reference\":{\"DataURL\":\"https://ardoise.example/a\"}}");
	su_declare(1);
	declare(DB_DDM_CONFIGURATION, "com.apple.configuration.passcode.settings", "ardoise.pupils",
		"{\"MinimumLength\":4}");
	declare(DB_DDM_CONFIGURATION, "com.apple.configuration.passcode.settings",
		"ardoise.teachers", "{\"MinimumLength\":6}");
	declare(DB_DDM_CONFIGURATION, "com.apple.configuration.passcode.settings", "ardoise.6e",
		"{\"MinimumLength\":4,\"RequireAlphanumericPasscode\":false}");
	const char *fleet[] = {"ardoise.act", "ardoise.status", "ardoise.asset", "ardoise.su.26.1"};
	for (size_t i = 0; i < 4; i++)
		assign(fleet[i], "fleet");
	for (size_t i = 0; i < n_uais; i++) {
		snprintf(id, sizeof(id), "ardoise.school.%.8s", uais[i]);
		declare(DB_DDM_CONFIGURATION, "com.apple.configuration.passcode.settings", id,
			"{\"MaximumFailedAttempts\":10}");
		snprintf(scope, sizeof(scope), "school:%.8s", uais[i]);
		assign(id, scope);
		snprintf(scope, sizeof(scope), "group:%.8s/pupils", uais[i]);
		assign("ardoise.pupils", scope);
		snprintf(scope, sizeof(scope), "group:%.8s/teachers", uais[i]);
		assign("ardoise.teachers", scope);
		if (i < 10) {
			snprintf(scope, sizeof(scope), "group:%.8s/6e A", uais[i]);
			assign("ardoise.6e", scope);
		}
	}
}

/* ---- the recompute, as the daemon will run it ------------------------------------ */

struct run {
	long tablets, changed, refs;
	long since_split;
	int rc;
};

static int on_set(const struct db_ddm_set *s, void *arg)
{
	struct run *r = arg;
	const void *parts[3 * 512];
	size_t lens[3 * 512], n = 0;
	char token[33];
	int changed = 0;
	for (size_t i = 0; i < s->n && n + 3 <= 3 * 512; i++) {
		const char *kind = db_ddm_kind_name(s->refs[i].kind);
		parts[n] = kind;
		lens[n++] = strlen(kind) + 1;
		parts[n] = s->refs[i].identifier;
		lens[n++] = strlen(s->refs[i].identifier) + 1;
		parts[n] = s->refs[i].server_token;
		lens[n++] = strlen(s->refs[i].server_token) + 1;
	}
	token32(md, parts, lens, n, token);
	r->tablets++;
	r->refs += (long)s->n;
	if (strcmp(token, s->token) != 0) {
		if ((r->rc = db_ddm_token_store(bench_db, s->device_id, token, &changed)) < 0)
			return 1;
		r->changed += changed;
	}
	if (++r->since_split == PART) {
		r->since_split = 0;
		if ((r->rc = db_split(bench_db)) < 0)
			return 1;
	}
	return 0;
}

struct timing {
	double load, walk, total, cpu;
	long tablets, changed, refs;
};

static struct timing recompute(const char *school)
{
	struct db_ddm_filter f = {school, 0, 1};
	struct db_ddm_sets *s = NULL;
	struct run r = {0};
	struct timing t;
	double t0 = ms_of(CLOCK_MONOTONIC), c0 = ms_of(CLOCK_PROCESS_CPUTIME_ID);
	int rc = bulk ? db_policy_bulk(bench_db, 1) : 0;
	if (rc == 0)
		rc = db_ddm_sets_load(bench_db, &f, &s);
	if (rc < 0)
		die("db_ddm_sets_load", rc);
	double t1 = ms_of(CLOCK_MONOTONIC);
	if ((rc = db_begin(bench_db)) < 0)
		die("db_begin", rc);
	rc = db_ddm_sets_each(s, on_set, &r);
	if (rc == 0)
		rc = r.rc;
	if (rc < 0)
		db_rollback(bench_db);
	else
		rc = db_commit(bench_db);
	if (rc < 0)
		die("recompute", rc);
	db_ddm_sets_free(s);
	if (bulk)
		db_policy_bulk(bench_db, 0);
	t.load = t1 - t0;
	t.total = ms_of(CLOCK_MONOTONIC) - t0;
	t.walk = t.total - t.load;
	t.cpu = ms_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
	t.tablets = r.tablets;
	t.changed = r.changed;
	t.refs = r.refs;
	return t;
}

static void print(const char *what, struct timing t)
{
	printf("%-34s %7ld tablets %7ld changed  %5.1f decl/tablet  load %7.1f ms  tokens+store "
	       "%7.1f ms  total %7.1f ms  CPU %7.1f ms\n",
	       what, t.tablets, t.changed, t.tablets ? (double)t.refs / (double)t.tablets : 0.0,
	       t.load, t.walk, t.total, t.cpu);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void fleet_changes(int runs)
{
	double *total = calloc((size_t)runs, sizeof(double)),
	       *cpu = calloc((size_t)runs, sizeof(double));
	char old[64], now[64];
	for (int k = 0; k < runs; k++) {
		/* the update plan changes: a new target for the whole fleet */
		snprintf(old, sizeof(old), "ardoise.su.26.%d", k + 1);
		snprintf(now, sizeof(now), "ardoise.su.26.%d", k + 2);
		su_declare(k + 2);
		assign(now, "fleet");
		int rc = db_ddm_unassign(bench_db, old, "fleet", "bench");
		if (rc < 0)
			die("unassign", rc);
		struct timing t = recompute(NULL);
		print("fleet update declaration replaced", t);
		total[k] = t.total;
		cpu[k] = t.cpu;
	}
	qsort(total, (size_t)runs, sizeof(double), cmp_double);
	qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
	printf("fleet change, %d runs: total median %.0f ms (%.0f-%.0f), CPU median %.0f ms "
	       "(%.0f-%.0f); target < 5000 ms\n",
	       runs, total[runs / 2], total[0], total[runs - 1], cpu[runs / 2], cpu[0],
	       cpu[runs - 1]);
	free(total);
	free(cpu);
}

/* The fleet's plan replaced by one with a models filter, then that one
 * replaced by another (both for half the models). */
static void fleet_filtered(int runs)
{
	char old[64], now[64];
	snprintf(old, sizeof(old), "ardoise.su.26.%d", runs + 1);
	for (int k = 0; k < 2; k++) {
		snprintf(now, sizeof(now), "ardoise.su.f.%d", k);
		su_filtered(k);
		assign(now, "fleet");
		int rc = db_ddm_unassign(bench_db, old, "fleet", "bench");
		if (rc < 0)
			die("unassign", rc);
		print(k ? "filtered plan replaced" : "plan with models filter", recompute(NULL));
		snprintf(old, sizeof(old), "%s", now);
	}
}

/* ---- status reports and their counts ------------------------------------------ */

static int on_count(const char *school, enum db_ddm_reporting reporting, const char *value,
		    int64_t count, void *arg)
{
	(*(long *)arg)++;
	return 0;
}

/* Every tablet reports (its own transaction each, as a check-in), one
 * in four a full report; then the fleet's counts of the install state
 * and of the failures by reason. */
static void statuses(long devices)
{
	static const char *const states[] = {"\"downloading\"", "\"installing\"", "\"none\"",
					     "\"failed\""};
	char version[32];
	double t0 = ms_of(CLOCK_MONOTONIC), c0 = ms_of(CLOCK_PROCESS_CPUTIME_ID);
	for (long id = 1; id <= devices; id++) {
		snprintf(version, sizeof(version), "\"26.%ld\"", id % 3);
		struct db_ddm_item items[] = {
		    {"softwareupdate.install-state", states[id % 4]},
		    {"device.operating-system.version", version},
		    {"softwareupdate.failure-reason",
		     id % 4 == 3 ? "{\"count\":1,\"reason\":\"no space\"}" : "{\"count\":0}"},
		};
		struct db_ddm_decl_state decl = {DB_DDM_CONFIGURATION,
						 "ardoise.su.26.2",
						 "t",
						 1,
						 id % 4 == 3 ? "invalid" : "valid",
						 NULL,
						 0};
		struct db_ddm_report r = {id % 4 == 0, items, 3, &decl, 1};
		int rc = db_ddm_status_apply(bench_db, id, &r);
		if (rc < 0)
			die("db_ddm_status_apply", rc);
	}
	double wall = ms_of(CLOCK_MONOTONIC) - t0, cpu = ms_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("status reports (3 items + 1 declaration, each its own transaction): %ld in %.0f ms,"
	       " %.1f us wall, %.1f us CPU each\n",
	       devices, wall, wall * 1e3 / (double)devices, cpu * 1e3 / (double)devices);
	const char *what[][2] = {{"softwareupdate.install-state", NULL},
				 {"softwareupdate.failure-reason", "$.reason"}};
	for (size_t i = 0; i < 2; i++) {
		long rows = 0;
		t0 = ms_of(CLOCK_MONOTONIC);
		int rc =
		    db_ddm_item_counts(bench_db, what[i][0], what[i][1], NULL, 0, on_count, &rows);
		if (rc < 0)
			die("db_ddm_item_counts", rc);
		printf("counts of %s%s%s over the fleet: %ld rows in %.1f ms\n", what[i][0],
		       what[i][1] ? " " : "", what[i][1] ? what[i][1] : "", rows,
		       ms_of(CLOCK_MONOTONIC) - t0);
	}
	const char *one[] = {uais[0]};
	long rows = 0;
	t0 = ms_of(CLOCK_MONOTONIC);
	if (db_ddm_item_counts(bench_db, "softwareupdate.install-state", NULL, one, 1, on_count,
			       &rows) < 0)
		die("db_ddm_item_counts", 0);
	printf("counts of softwareupdate.install-state in one collège: %ld rows in %.1f ms\n", rows,
	       ms_of(CLOCK_MONOTONIC) - t0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *csv = NULL;
	long devices = 100000;
	int runs = 5, keep = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--colleges") == 0 && i + 1 < argc)
			csv = argv[++i];
		else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
			devices = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else if (strcmp(argv[i], "--no-bulk") == 0)
			bulk = 0;
		else {
			fprintf(stderr, "usage: bench_ddm --colleges CSV [--devices N] [--runs R] "
					"[--keep] [--no-bulk]\n");
			return 2;
		}
	}
	if (csv == NULL || devices < 1 || devices > 10000000 || runs < 1 || runs > 100) {
		fprintf(stderr, "usage: bench_ddm --colleges CSV [--devices N] [--runs R] [--keep] "
				"[--no-bulk]\n");
		return 2;
	}
	read_colleges(csv);
	char dir[] = "/tmp/bench-ddm-XXXXXX", path[64];
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", 0);
	snprintf(path, sizeof(path), "%s/ardoise.db", dir);
	int rc = db_open(path, &bench_db);
	if (rc < 0)
		die("db_open", rc);
	db_close(bench_db);
	double t0 = ms_of(CLOCK_MONOTONIC);
	seed(path, devices);
	if ((rc = db_open(path, &bench_db)) < 0)
		die("db_open", rc);
	if ((md = EVP_MD_CTX_new()) == NULL)
		die("EVP_MD_CTX_new", 0);
	catalogue();
	printf("seeded %ld tablets over %zu collèges in %.0f ms (%s)\n", devices, n_uais,
	       ms_of(CLOCK_MONOTONIC) - t0, path);
	print("first tokens", recompute(NULL));
	print("no change (nothing stored)", recompute(NULL));
	fleet_changes(runs);
	fleet_filtered(runs);
	/* one collège's own configuration edited */
	struct db_declaration d;
	char id[64];
	snprintf(id, sizeof(id), "ardoise.school.%.8s", uais[0]);
	if ((rc = db_ddm_declaration_get(bench_db, NULL, id, &d)) < 0)
		die(id, rc);
	snprintf(d.server_token, sizeof(d.server_token), "edited");
	const char *p = "{\"MaximumFailedAttempts\":8}";
	if ((rc = db_ddm_declaration_update(bench_db, id, &d, p, strlen(p), "bench", NULL)) < 0)
		die("update", rc);
	print("one collège's declaration edited", recompute(uais[0]));
	statuses(devices);
	EVP_MD_CTX_free(md);
	db_close(bench_db);
	if (!keep) {
		char f[96];
		const char *suffix[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
			unlink(f);
		}
		rmdir(dir);
	}
	return 0;
}
