/*
 * sim_session.h - what a simulated iPad does over the network, as tasks
 * of a sim_net run: enrolment (profile, SCEP, Authenticate, TokenUpdate),
 * the command loop of one MDM session, CheckOut; and one-off staff API
 * calls (bearer token) for the commands that drive the daemon.
 *
 * The run's argument is a struct sim_ctx; task i works on devs[i] alone.
 */
#ifndef SIM_SESSION_H
#define SIM_SESSION_H

#include "sim_ade.h"
#include "sim_device.h"
#include "sim_net.h"
#include "sim_state.h"

#include <openssl/x509.h>

#include <stdatomic.h>
#include <stddef.h>

/* Counters of what the devices answered, shared by the run's threads. */
struct sim_counts {
	atomic_size_t sessions, commands, acknowledged, errors, format_errors, notnow, resumed;
	/* DDM: synchronisations, declarations fetched, status reports sent */
	atomic_size_t ddm_syncs, ddm_fetched, ddm_reports;
	/* ADE enrolment: told to update first (not enrolled), other refusals */
	atomic_size_t ade_update_required, ade_refused;
};

struct sim_ctx {
	const struct sim_net_cfg *cfg;
	struct sim_device **devs; /* task i: devs[i] */
	/* enrolment */
	const char *code;	  /* one-time code (?code=), or */
	const char *enroll_token; /* staff token: a profile (and code) per device, or */
	/* ADE: the device POSTs its signed MachineInfo to ade->path */
	const struct sim_ade_signer *ade;
	int signed_profile; /* fetch the CMS-signed profile and check it against ca */
	X509 *ca;	    /* the server's CA (--ca), borrowed */
	X509_STORE *trust;  /* holding ca, for the profile signature */
	const struct sim_pool *pool;
	enum sim_key_kind key_kind; /* identities are made with keys of this pool */
	size_t index_base;	    /* task i is device number index_base + i (picks its key) */
	/* sessions */
	int sign;	     /* add Mdm-Signature */
	int sig_only;	     /* no TLS client certificate: identity by Mdm-Signature alone */
	size_t max_commands; /* per session, a guard against a loop; 0: 10000 */
	/* DDM */
	const struct sim_clock *clock; /* the tablets' time (deadlines, timestamps) */
	int ddm_full;		       /* every status report is a full one (bench) */
	int no_ddm;		       /* sessions end without the DDM sync (bench) */
	struct sim_counts counts;
};

/* Task start functions for sim_net_run(). */
/* Enrolment: the profile (GET /mdm/enroll with the code or token, or,
 * with x->ade, the POST of the signed MachineInfo: a 403
 * softwareupdate.required leaves the device unenrolled with
 * d->ade->refusal "update required to V", counted, and is not a
 * failure; another refusal is one, recorded there too), SCEP,
 * Authenticate, TokenUpdate (an ADE device: supervised, awaiting
 * configuration until DeviceConfigured). */
void sim_session_enrol(struct sim_task *t);
/* One session: Idle, the commands, then, for a tablet with DDM on (or
 * turned on by a DeclarativeManagement command in it), a DDM
 * synchronisation (sim_ddm.h): tokens, declaration-items and the changed
 * declarations when the token moved, then status; an install started by
 * the sync is reported, done, and reported again. */
void sim_session_connect(struct sim_task *t);
/* A DDM synchronisation alone on a new connection (bench --ddm). */
void sim_session_ddm(struct sim_task *t);
void sim_session_checkout(struct sim_task *t);

/* One staff API request with a bearer token (no device identity), with a
 * timeout of at least 10 minutes (bulk queueing for a whole fleet):
 * *ret_status and *ret_body (malloc'd, NUL-terminated; may be NULL to
 * discard) on success.  err receives the transport failure. */
int sim_session_call(const struct sim_net_cfg *cfg, const char *method, const char *path,
		     const char *token, const char *json, int *ret_status, char **ret_body,
		     char *err, size_t cap);

#endif
