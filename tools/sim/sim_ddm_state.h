/*
 * sim_ddm_state.h - what a simulated iPad keeps for declarative device
 * management (DDM), without the device around it: the simulator's clock,
 * iPadOS versions, the declarations held, the software update under way,
 * what was last reported, and the state file's form of it all.  A leaf:
 * struct sim_device (sim_device.h) holds a struct sim_ddm; what a
 * synchronisation does with a device is sim_ddm.h.
 *
 * Ownership: struct sim_ddm owns its strings; sim_ddm_clear() frees them.
 * Functions return 0 or a negative AP_E* code and write ret* outputs only
 * on success.
 */
#ifndef SIM_DDM_STATE_H
#define SIM_DDM_STATE_H

#include "ap_ddm.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIM_DDM_MAX_DECLS 128 /* declarations a tablet keeps; more: AP_ELIMIT */

/* The simulator's clock: real time, or --now.  local is the tablet's
 * local time (the process's TZ, Europe/Paris), utc an RFC 3339 time. */
struct sim_clock {
	time_t t;
	char local[20]; /* "YYYY-MM-DDTHH:MM:SS" */
	char utc[24];	/* "YYYY-MM-DDTHH:MM:SSZ" */
};

/* From a Unix time. */
void sim_clock_at(struct sim_clock *c, time_t t);
/* From the local time "YYYY-MM-DDTHH:MM[:SS]" (also with a space); AP_EINVAL
 * for anything else or a date that does not exist. */
int sim_clock_parse(struct sim_clock *c, const char *local);

struct sim_decl {
	enum ap_ddm_kind kind;
	char *identifier, *type, *server_token; /* never NULL */
	char *payload;				/* the Payload object as compact JSON text */
	/* from the last sim_ddm_apply() */
	int active;
	int valid;     /* 1 valid, 0 invalid */
	char *reasons; /* JSON array text of {code, description, details}, NULL: none */
};

enum sim_install {
	SIM_INSTALL_NONE,
	SIM_INSTALL_DOWNLOADING,
	SIM_INSTALL_PREPARED,
	SIM_INSTALL_INSTALLING,
	SIM_INSTALL_FAILED,
};

struct sim_ddm {
	int enabled;			   /* DeclarativeManagement received (or a sync made) */
	char token[AP_DDM_DTOKEN_MAX + 1]; /* of the last synchronisation, "" none */
	struct sim_decl *decls;		   /* in the order received */
	size_t n_decls;
	enum sim_install install;
	char pending_os[16], pending_build[16]; /* "" when nothing is pending */
	char update_id[AP_DDM_ID_MAX + 1];	/* the enforcing declaration, "" none */
	char deadline[20];			/* its TargetLocalDateTime */
	int64_t fail_count;
	char fail_reason[200], fail_at[24]; /* the last failure, "" none */
	char *reported;	 /* JSON object {item: value} the server last took, NULL: none */
	int64_t full_at; /* sim clock of the last full report, 0 never */
	/* not saved: this session's */
	int sync;			  /* a DeclarativeManagement command asks for a sync */
	char hint[AP_DDM_DTOKEN_MAX + 1]; /* the token of its Data, "" none */
	char *next;			  /* the report in flight's snapshot (JSON) */
	int next_full;
};

/* Frees what d owns and zeroes it (DDM off: unenrolment wipes it). */
void sim_ddm_clear(struct sim_ddm *d);
/* The next report is a full one (the server's copy is not trusted). */
void sim_ddm_reset(struct sim_ddm *d);
const char *sim_install_name(enum sim_install s);
/* "none" ... -> state; AP_EINVAL otherwise. */
int sim_install_from_name(const char *s, enum sim_install *ret);

/* 1 when s is a local time "YYYY-MM-DDTHH:MM[:SS]" (fields in range). */
int sim_clock_local_ok(const char *s);

/* The declaration with that identifier, or NULL. */
struct sim_decl *sim_ddm_find(struct sim_ddm *d, const char *identifier);
/* Removes a declaration; 1 when there was one. */
int sim_ddm_remove(struct sim_ddm *d, const char *identifier);
/* Adds or replaces (same identifier) a declaration, valid until the next
 * evaluation; AP_ELIMIT past SIM_DDM_MAX_DECLS. */
int sim_ddm_store(struct sim_ddm *d, enum ap_ddm_kind kind, const char *identifier,
		  const char *type, const char *server_token, const char *payload);

/* The build version of an iPadOS version, stable and plausible: "17.5" ->
 * "21F79" (the real one), "18.1" -> "22B79", "17.5.1" -> "21F90".  out of
 * cap >= 16. */
void sim_ddm_build_of(const char *version, char *out, size_t cap);
/* 1 when s is "X.Y" or "X.Y.Z" (numbers of 1 to 3 digits, X >= 1). */
int sim_ddm_version_ok(const char *s);
/* <0, 0, >0 as a is older than, the same as, newer than b. */
int sim_ddm_version_cmp(const char *a, const char *b);

/* The DDM state of d as the JSON object the state file keeps (not the
 * declarations, which have a table); and back.  *ret malloc'd. */
int sim_ddm_state_dump(const struct sim_ddm *s, char **ret);
int sim_ddm_state_load(struct sim_ddm *s, const char *json);
/* Adds a declaration read from the state file (validity recomputed at the
 * next apply). */
int sim_ddm_state_put(struct sim_ddm *s, const char *kind, const char *identifier, const char *type,
		      const char *server_token, const char *payload);

#endif
