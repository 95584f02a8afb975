/* privacy.c - leavers' pseudonymisation: the daily job, and what a
 * technician's run now (api_person.c) calls. */
#include "privacy.h"
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "db_audit.h"
#include "db_privacy.h"
#include "isodate.h"
#include "log.h"
#include "worker.h"
#include "store.h"

#include <stdlib.h>

/* One batch and its audit row, in one transaction. */
static int batch(struct worker *w, const char *actor, const struct privacy_stats *st,
		 int64_t *ret_n)
{
	int64_t n = 0;
	char *detail = NULL;
	int rc = db_begin(w->db);
	if (rc < 0)
		return rc;
	rc = db_privacy_pseudonymise(w->db, st->left_before, PRIVACY_BATCH, &n);
	if (rc == 0 && n > 0) {
		json_t *d = json_pack("{s:I,s:I,s:o,s:I}", "count", (json_int_t)n, "held_back",
				      (json_int_t)st->held_back, "left_before",
				      api_fleet_day(st->left_before), "retention_days",
				      (json_int_t)w->srv->cfg.leaver_retention_days);
		detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(d);
		rc = detail ? db_audit_append(w->db, actor, "person.pseudonymise", "",
					      "retention period over", detail)
			    : AP_ENOMEM;
		free(detail);
	}
	if (rc < 0) {
		db_rollback(w->db);
		return rc;
	}
	if ((rc = db_commit(w->db)) == 0)
		*ret_n = n;
	return rc;
}

int privacy_run(struct worker *w, const char *actor, struct privacy_stats *ret)
{
	struct privacy_stats st = {0};
	int64_t days = w->srv->cfg.leaver_retention_days, n = 0;
	/* the day `days` days before today (at most 36500: config.c) */
	st.left_before = isodate_day_add(db_now(), -(int)days);
	int rc = db_privacy_held_back(w->db, st.left_before, &st.held_back);
	for (int b = 0; rc == 0 && b < PRIVACY_MAX_BATCHES; b++) {
		rc = batch(w, actor, &st, &n);
		if (rc == 0)
			st.done += n;
		if (n < PRIVACY_BATCH)
			break;
	}
	if (st.done > 0) /* not every hour for those held back */
		log_info("leavers_pseudonymised", "count=%lld held_back=%lld", (long long)st.done,
			 (long long)st.held_back);
	if (ret)
		*ret = st;
	return rc;
}

int privacy_job(struct worker *w)
{
	return privacy_run(w, "system", NULL);
}
