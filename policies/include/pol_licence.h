/*
 * pol_licence.h - the Apps and Books licence plan (docs/apple-services.md
 * §3): which device licences to associate and disassociate, per location
 * and per app, in Apple's batch sizes.  A location is what one content
 * token covers (licences and counts are the token's): the fleet, or one
 * collège; the caller gives each tablet the location of the token that
 * covers it (daemon/fleet/licence.c: the collège's token, else the
 * fleet's).  Pure: the caller gives the tablets with the apps they should
 * have, the licences Ardoise knows are associated, and Apple's available
 * counts; no I/O.
 *
 * The rules (a location is the token's; a group, the collège):
 *  - a tablet wants an app when it is active (in the inventory, not
 *    retired: enrolled or not, its serial is what Apple licenses) and the
 *    app is among its apps;
 *  - a licence held (serial, app, location) is kept when that tablet is
 *    active, in that location, and wants the app; any other is freed
 *    (disassociated): a retired tablet, a tablet that left the scope or is
 *    unknown, an app withdrawn from it, a tablet moved to another location
 *    (its licence belongs to the old location's token);
 *  - all or nothing per collège and app: the tablets of one group (the
 *    caller's: their collège) that want an app and hold no licence for it
 *    are associated only when what is left of their location's available
 *    count covers them all; otherwise none of them is (never half a
 *    class), and the app is reported short for that group (wanted, what
 *    was left), so the buyer buys the difference in Apple School Manager.
 *    The groups of one location share its count and are served in group
 *    order (strcmp; tablets without a group first): under a fleet token,
 *    collège A's shortage does not hold back collège B when the count
 *    covers B.  Tablets that already hold a licence keep it;
 *  - licences freed by this plan are not counted as available: Apple's
 *    count shows them once the disassociation completes (the next plan);
 *  - an app with no count given has 0 available;
 *  - operations come per location (ascending), per app (strcmp order),
 *    disassociations first, serials in strcmp order, batches of at most
 *    max_serials (maxSerialNumbers).
 */
#ifndef POL_LICENCE_H
#define POL_LICENCE_H

#include <stddef.h>
#include <stdint.h>

struct pol_lic_tablet {
	const char *serial;
	int64_t location;
	const char *group;	 /* its collège: all or nothing per group; NULL = "" */
	int active;		 /* 0: retired, left the scope, not enrolled */
	const char *const *apps; /* adamIds it should have (repeats ignored) */
	size_t n_apps;
};

/* A licence Ardoise knows is associated. */
struct pol_lic_held {
	const char *serial;
	const char *adam_id;
	int64_t location; /* whose token associated it */
};

/* Apple's availableCount of an app in a location. */
struct pol_lic_stock {
	int64_t location;
	const char *adam_id;
	int64_t available;
};

enum pol_lic_kind { POL_LIC_DISASSOCIATE, POL_LIC_ASSOCIATE };

/* One request to Apple: one app, at most max_serials serials (pointers into
 * the input). */
struct pol_lic_op {
	enum pol_lic_kind kind;
	int64_t location;
	const char *adam_id;
	const char **serials;
	size_t n;
};

struct pol_lic_short {
	int64_t location;
	const char *group; /* the tablets' group ("" none; borrowed from the input) */
	const char *adam_id;
	size_t wanted;	   /* tablets of the group without a licence that want it */
	int64_t available; /* what the location had left for the group */
};

struct pol_lic_plan {
	struct pol_lic_op *ops;
	size_t n_ops;
	struct pol_lic_short *shorts; /* location, app, then group order */
	size_t n_shorts;
	size_t n_associate, n_disassociate, n_kept; /* licences */
	const char **pool_;			    /* the ops' serials */
};

/* Plans into *ret (pol_lic_plan_free()).  AP_EINVAL for a NULL or empty
 * serial or adamId, a serial given for two tablets, max_serials 0;
 * AP_ENOMEM. */
int pol_lic_plan(const struct pol_lic_tablet *tablets, size_t n_tablets,
		 const struct pol_lic_held *held, size_t n_held, const struct pol_lic_stock *stock,
		 size_t n_stock, size_t max_serials, struct pol_lic_plan *ret);
/* NULL ok. */
void pol_lic_plan_free(struct pol_lic_plan *p);

#endif
