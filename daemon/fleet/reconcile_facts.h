/*
 * reconcile_facts.h - the facts of many tablets in memory, loaded in a
 * few bulk scans (db_policy_each_*), shaped for pol_plan_device().
 *
 * Strings are interned: one copy per distinct value, owned by the facts,
 * valid until reconcile_facts_free().  Per-tablet lists are kept as
 * contiguous slices (offsets per tablet), so a fleet of 100,000 tablets is
 * a handful of arrays.
 */
#ifndef RECONCILE_FACTS_H
#define RECONCILE_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "pol_plan.h"

struct db;

/* Rows of one kind, grouped by tablet after reconcile_facts_load(). */
struct reconcile_rows {
	size_t size;	     /* bytes per element */
	uint32_t *dev;	     /* tablet index of each element, while loading */
	unsigned char *data; /* elements, grouped by tablet once indexed */
	size_t n, cap;
	size_t *start; /* n_devs + 1 offsets */
};

/* A failed policy command (latest of its type and identifier). */
struct reconcile_failure {
	enum pol_action_type type;
	const char *identifier, *error;
};

struct reconcile_device {
	int64_t id;
	const char *serial, *school;
	int64_t profiles_cmd, apps_cmd;
	int64_t pending_all; /* every pending command, policy or not */
};

struct reconcile_intern;

struct reconcile_facts {
	struct reconcile_intern *strs;	/* the catalogue's strings, for the whole load */
	struct reconcile_intern *tstrs; /* the tablets', freed by reconcile_facts_next() */
	int64_t last;			/* the range loaded ends at this id */
	struct reconcile_device *devs;	/* by id */
	size_t n_devs, cap_devs;
	struct reconcile_rows groups;	/* const char * */
	struct reconcile_rows profiles; /* struct pol_reported */
	struct reconcile_rows apps;	/* struct pol_reported */
	struct reconcile_rows owned;	/* struct pol_owned */
	struct reconcile_rows pending;	/* struct pol_pending */
	struct reconcile_rows failures; /* struct reconcile_failure (with_failures only) */
	struct pol_item *items;		/* assigned catalogue items */
	size_t n_items, cap_items;
	struct pol_assignment *assignments;
	const char **assignment_scopes; /* canonical text of each assignment's scope */
	size_t n_assignments, cap_assignments;
};

struct reconcile_filter {
	const char *school; /* NULL: any */
	int64_t device_id;  /* 0: any */
	int all_states;	    /* also tablets not enrolled */
	int with_failures;  /* load the failed policy commands too */
	int64_t limit;	    /* > 0: tablets in ranges of that many (device_id 0) */
};

/* Loads the facts matching f into *ret (zeroed by the call): the
 * catalogue and its assignments, and the tablets (with f->limit, the
 * first range of them).  On error *ret holds nothing to free.  log-free;
 * errors are AP_E* codes. */
int reconcile_facts_load(struct db *db, const struct reconcile_filter *f,
			 struct reconcile_facts *ret);
/* Frees the tablets of *facts and loads the next range's (ids above the
 * last range's, in order; the catalogue stays as loaded): n_devs 0 when
 * none is left.  On error the tablets are empty, the rest freed by
 * reconcile_facts_free(). */
int reconcile_facts_next(struct db *db, const struct reconcile_filter *f,
			 struct reconcile_facts *facts);
void reconcile_facts_free(struct reconcile_facts *f);

/* The state of tablet i for the planner; room from queue_max. */
void reconcile_facts_state(const struct reconcile_facts *f, size_t i, int64_t queue_max,
			   struct pol_device_state *ret);
/* Index of the tablet with that id, or -1. */
long reconcile_facts_find(const struct reconcile_facts *f, int64_t device_id);
/* Tablet i's failures. */
const struct reconcile_failure *reconcile_facts_failures(const struct reconcile_facts *f, size_t i,
							 size_t *ret_n);

#endif
