/* worker.c - what the event loops share: their database connections. */
#include "worker.h"
#include "db_audit.h"
#include "keystore.h"
#include "store.h"

#include <string.h>
#include <time.h>
#include <uv.h>

int worker_db_open(struct server *srv, struct db **ret)
{
	struct db *db = NULL;
	const unsigned char *key = keystore_audit_key(srv->ks);
	int rc = db_open(srv->db_path, &db);
	if (rc == 0 && key)
		rc = db_audit_set_key(db, key, DB_AUDIT_KEY_LEN);
	if (rc == 0)
		rc = db_set_synchronous(db, strcmp(srv->cfg.db_synchronous, "full") == 0);
	if (rc < 0) {
		db_close(db);
		return rc;
	}
	*ret = db;
	return 0;
}

int64_t worker_ms_since(uint64_t t0)
{
	return (int64_t)((uv_hrtime() - t0) / 1000000);
}

int64_t worker_cpu_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
