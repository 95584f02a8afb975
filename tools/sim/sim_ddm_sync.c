/* sim_ddm_sync.c - one DDM synchronisation as a state machine (sim_ddm_sync.h). */
#include "sim_ddm_sync.h"
#include "ap_err.h"
#include "sim_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNIPPET 80 /* bytes of an error answer quoted */

static void ask(struct sim_ddm_sync *s, enum sim_ddm_step step, const char *endpoint)
{
	s->step = step;
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
}

/* The report to send, if any; else the install in wait, else done. */
static int report(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now)
{
	for (;;) {
		char *json = NULL;
		size_t len = 0;
		int rc = sim_ddm_report(d, now, s->full, &json, &len);
		if (rc < 0)
			return rc;
		free(s->data);
		s->data = json;
		s->len = len;
		if (json) {
			ask(s, SIM_SYNC_STATUS, "status");
			return 0;
		}
		if (!s->installing) {
			s->step = SIM_SYNC_DONE;
			return 0;
		}
		s->installing = 0; /* nothing new to say: install all the same */
		if ((rc = sim_ddm_install(d, now)) < 0)
			return rc;
	}
}

static int apply(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now)
{
	int rc = sim_ddm_apply(d, now, &s->installing);
	return rc < 0 ? rc : report(s, d, now);
}

/* With the server's DeclarationsToken: the manifest when it moved. */
static int token(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now)
{
	if (strcmp(s->token, d->ddm.token) == 0)
		return apply(s, d, now);
	ask(s, SIM_SYNC_ITEMS, "declaration-items");
	return 0;
}

static int next_fetch(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now)
{
	if (s->i_fetch < s->n_fetch) {
		ask(s, SIM_SYNC_DECLARATION, s->fetch[s->i_fetch].endpoint);
		return 0;
	}
	sim_ddm_synced(d, s->token);
	return apply(s, d, now);
}

int sim_ddm_sync_start(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now,
		       int full, int *ret_done)
{
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->full = full;
	if (d->ddm.sync && d->ddm.hint[0]) {
		snprintf(s->token, sizeof(s->token), "%s", d->ddm.hint);
		rc = token(s, d, now);
	} else {
		ask(s, SIM_SYNC_TOKENS, "tokens");
	}
	if (rc == 0)
		*ret_done = s->step == SIM_SYNC_DONE;
	return rc;
}

/* The answer's document, by step. */
static int take(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now,
		int status, const char *body, size_t len, char *detail, size_t cap)
{
	struct sim_ddm_fetch *f;
	int rc;

	switch (s->step) {
	case SIM_SYNC_TOKENS:
		rc = ap_ddm_tokens_parse(body, len, s->token, detail, cap);
		return rc < 0 ? rc : token(s, d, now);
	case SIM_SYNC_ITEMS:
		rc = sim_ddm_manifest(d, body, len, &s->fetch, &s->n_fetch, s->token);
		return rc < 0 ? rc : next_fetch(s, d, now);
	case SIM_SYNC_DECLARATION:
		f = &s->fetch[s->i_fetch];
		if (status == 404) {
			sim_ddm_drop(d, f->identifier); /* gone since the manifest */
		} else if ((rc = sim_ddm_put(d, f->kind, f->identifier, body, len)) < 0) {
			return rc;
		} else {
			s->fetched++;
		}
		s->i_fetch++;
		return next_fetch(s, d, now);
	case SIM_SYNC_STATUS:
		sim_ddm_report_taken(d, now);
		s->reports++;
		if (!s->installing) {
			s->step = SIM_SYNC_DONE;
			return 0;
		}
		/* `installing` reported: it installs, reboots (or fails), reports */
		s->installing = 0;
		return (rc = sim_ddm_install(d, now)) < 0 ? rc : report(s, d, now);
	default:
		return AP_EINVAL;
	}
}

int sim_ddm_sync_answer(struct sim_ddm_sync *s, struct sim_device *d, const struct sim_clock *now,
			int status, const char *body, size_t len, int *ret_done, char *why,
			size_t cap)
{
	char detail[160] = "", endpoint[sizeof(s->endpoint)];
	int ok = status == 200 || (status == 404 && s->step == SIM_SYNC_DECLARATION);

	snprintf(endpoint, sizeof(endpoint), "%s", s->endpoint);
	if (!ok) {
		char snippet[SNIPPET + 1];
		size_t n = len < SNIPPET ? len : SNIPPET;
		for (size_t i = 0; i < n; i++)
			snippet[i] = body[i] >= ' ' && body[i] < 127 ? body[i] : ' ';
		snippet[n] = '\0';
		snprintf(why, cap, "DDM %s: HTTP %d %s", endpoint, status, snippet);
		return status == 401 || status == 403 ? AP_EAUTH : AP_EIO;
	}
	int rc = take(s, d, now, status, body, len, detail, sizeof(detail));
	if (rc < 0) {
		snprintf(why, cap, "DDM %s: %s", endpoint, detail[0] ? detail : ap_strerror(rc));
		return rc;
	}
	*ret_done = s->step == SIM_SYNC_DONE;
	return 0;
}

void sim_ddm_sync_clear(struct sim_ddm_sync *s)
{
	free(s->data);
	free(s->fetch);
	memset(s, 0, sizeof(*s));
}
