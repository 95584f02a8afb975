/*
 * db_ddm.h - declarative device management in the store: the declaration
 * catalogue, assignments of declarations to scopes, the set of
 * declarations that applies to each tablet, each tablet's DDM state (its
 * DeclarationsToken) and what it reports (status items, and its
 * declarations' state from the item management.declarations).
 *
 * Nothing here is cryptographic: ServerTokens and DeclarationsTokens are
 * computed by the caller (ap_ddm_server_token(), ap_ddm_declarations_token())
 * and stored as given.  Payloads are JSON text the caller built; the store
 * checks only that they are JSON (SQLite's json_valid()).
 *
 * Scopes are the canonical text of pol_scope_format(), as for profiles
 * (db_policy.h).  A tablet is covered by exactly the scopes whose text is
 * one of its keys: "fleet", "school:<its collège>", "group:<its
 * collège>/<G>" for each of its groups G (db_policy_device_groups(), the
 * one place that knows how groups are stored) and "device:<its serial>",
 * compared without regard to ASCII case -- pol_scope_applies() restated
 * on the canonical text, so that a declaration and a profile assigned to
 * the same scope reach the same tablets.
 *
 * Staff changes (declaration add, update, remove; assign, unassign)
 * append their audit row (db_audit_append(), actor as given) in the same
 * transaction as the change, nested in the caller's when there is one:
 * the caller must not append another.  Actions: "ddm.declaration.add",
 * "ddm.declaration.update", "ddm.declaration.remove" (target: the
 * identifier), "ddm.assign", "ddm.unassign" (target: the scope, detail
 * {"declaration": identifier}, as "policy.assign").
 *
 * Callbacks get strings valid only during the call; fn returning non-zero
 * stops the walk (the function then returns 0).
 */
#ifndef DB_DDM_H
#define DB_DDM_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_DDM_IDENTIFIER_MAX 64	   /* octets: Identifier, ServerToken */
#define DB_DDM_TYPE_MAX	      128	   /* octets of a declaration Type */
#define DB_DDM_TOKEN_MAX      256	   /* octets of a DeclarationsToken */
#define DB_DDM_PAYLOAD_MAX    (256 * 1024) /* octets of a Payload's JSON text */
#define DB_DDM_SCOPE_MAX      127	   /* octets of a scope's text */
#define DB_DDM_ITEM_MAX	      128	   /* octets of a status item's name */
#define DB_DDM_VALUE_MAX      (64 * 1024)  /* octets of a status item's JSON value */
#define DB_DDM_REASONS_MAX    (8 * 1024)   /* octets of a declaration's reasons */
#define DB_DDM_REPORT_MAX     1024	   /* items, or declarations, in one report */
#define DB_DDM_MODELS_MAX     8192	   /* octets of a models filter's JSON text */
#define DB_DDM_MODEL_MAX      64	   /* octets of one product type in it */
#define DB_DDM_MODELS_N	      512	   /* product types in one filter */

/* The item management.declarations: its content goes to decls (below),
 * never to the items. */
#define DB_DDM_DECLARATIONS_ITEM "management.declarations"

/* Apple's four kinds, in their text order. */
enum db_ddm_kind {
	DB_DDM_ACTIVATION,
	DB_DDM_ASSET,
	DB_DDM_CONFIGURATION,
	DB_DDM_MANAGEMENT,
};
/* "activation", "asset", "configuration", "management"; NULL out of range. */
const char *db_ddm_kind_name(enum db_ddm_kind k);
/* AP_EINVAL for any other text. */
int db_ddm_kind_parse(const char *text, enum db_ddm_kind *ret);

/* ---- the catalogue ------------------------------------------------------ */

struct db_declaration {
	int64_t id;
	enum db_ddm_kind kind;
	char type[DB_DDM_TYPE_MAX + 1];
	char identifier[DB_DDM_IDENTIFIER_MAX + 1];
	char server_token[DB_DDM_IDENTIFIER_MAX + 1];
	char blob[65]; /* the Payload's JSON text: db_blob_get(blob) */
	char created_by[65];
	int64_t created_at;
	char updated_by[65]; /* "" when never updated */
	int64_t updated_at;  /* 0 when never updated */
	/* the models filter (migration 18): "" for every tablet, else a JSON
	 * array of product types ("[\"iPad13,18\"]"): only tablets whose
	 * product_name is one of them (ASCII case aside) get the declaration;
	 * a tablet whose product_name is not known yet gets none of the
	 * filtered ones */
	char models[DB_DDM_MODELS_MAX + 1];
};

/*
 * Adds a declaration: d->kind, type, identifier, server_token, models are
 * used (the rest ignored); payload is the Payload, a JSON object of len octets
 * (not NUL-terminated), kept in a blob.  AP_EINVAL: identifier not 1-64
 * octets of A-Z a-z 0-9 . _ -, server token not 1-64 printable ASCII
 * octets, type not "com.apple.<kind>." followed by A-Z a-z 0-9 . _ -
 * (128 octets at most), payload not a JSON object, models neither "" nor
 * a JSON array of at most DB_DDM_MODELS_N strings of 1-DB_DDM_MODEL_MAX
 * printable ASCII octets, actor empty; AP_ETOOBIG: payload over
 * DB_DDM_PAYLOAD_MAX; AP_EEXIST: a declaration
 * not removed has the identifier.  *ret_id (may be NULL) its id.
 */
int db_ddm_declaration_add(struct db *db, const struct db_declaration *d, const char *payload,
			   size_t len, const char *actor, int64_t *ret_id);
/*
 * Replaces the type, server token, payload and models filter of
 * declaration identifier (d->identifier is not read; its id, hence its
 * assignments, stay).  The kind cannot change (AP_ECONFLICT).  The server
 * token stands for the content: the same one as stored, with the same
 * models text, means nothing to write, no audit row, *ret_changed 0; else
 * 1 (ret_changed may be NULL).
 * AP_ENOTFOUND, and add's AP_EINVAL / AP_ETOOBIG.
 */
int db_ddm_declaration_update(struct db *db, const char *identifier, const struct db_declaration *d,
			      const char *payload, size_t len, const char *actor, int *ret_changed);
/* A declaration not removed; kind NULL: any, else only of that kind
 * ("configuration", ...: the check-in's declaration/<kind>/<identifier>).
 * AP_ENOTFOUND. */
int db_ddm_declaration_get(struct db *db, const char *kind, const char *identifier,
			   struct db_declaration *ret);
/* The Payload of a declaration not removed: malloc'd JSON text,
 * NUL-terminated, its length in *ret_len.  AP_ENOTFOUND. */
int db_ddm_declaration_payload(struct db *db, const char *identifier, char **ret, size_t *ret_len);
/* Declarations not removed, by kind then identifier. */
int db_ddm_declaration_list(struct db *db, int (*fn)(const struct db_declaration *d, void *arg),
			    void *arg);
/* Marks it removed and deletes its assignments (*ret_unassigned how many;
 * may be NULL); its identifier is free again.  AP_ENOTFOUND. */
int db_ddm_declaration_remove(struct db *db, const char *identifier, const char *actor,
			      int64_t *ret_unassigned);

/* ---- assignments --------------------------------------------------------- */

struct db_ddm_assignment {
	const char *identifier;
	enum db_ddm_kind kind;
	const char *scope;
	const char *created_by;
	int64_t created_at;
};

/* scope: canonical pol_scope text (1-127 octets, not interpreted here).
 * assign: AP_ENOTFOUND (no such declaration), AP_EEXIST (already
 * assigned to that scope), AP_EINVAL.  unassign: AP_ENOTFOUND when the
 * declaration or that assignment does not exist. */
int db_ddm_assign(struct db *db, const char *identifier, const char *scope, const char *actor);
int db_ddm_unassign(struct db *db, const char *identifier, const char *scope, const char *actor);
/* Assignments of declarations not removed, by identifier then scope;
 * scope / identifier NULL for any. */
int db_ddm_assignment_list(struct db *db, const char *scope, const char *identifier,
			   int (*fn)(const struct db_ddm_assignment *a, void *arg), void *arg);

/* ---- each tablet's set ---------------------------------------------------- */

/* One declaration of a tablet's set. */
struct db_ddm_ref {
	enum db_ddm_kind kind;
	const char *identifier;
	const char *server_token;
};

/* A tablet and the declarations that apply to it (the union over the
 * scopes that cover it, less the declarations whose models filter does not
 * list its product_name), in (kind, identifier) order: kind by its text
 * ("activation" < "asset" < "configuration" < "management"), identifier
 * by its octets (strcmp) -- the order of the DeclarationsToken. */
struct db_ddm_set {
	int64_t device_id;
	const char *school; /* "" for a tablet no collège holds */
	int enabled;	    /* DDM enabled on it (db_ddm_enable) */
	const char *token;  /* the DeclarationsToken stored, "" for none */
	const struct db_ddm_ref *refs;
	size_t n;
};

/* Which tablets a load walks: one tablet (device_id != 0, enrolled or
 * not), else the enrolled tablets of a collège (school) or of the fleet
 * (school NULL); enabled_only: only those with DDM enabled. */
struct db_ddm_filter {
	const char *school;
	int64_t device_id;
	int enabled_only;
};

/*
 * The sets of many tablets, read in one pass over the assignments, one
 * over the tablets and (when a group scope is assigned) one over the
 * tablets' groups, then held in memory: the walk (db_ddm_sets_each)
 * reads nothing, so its callback may write (db_ddm_token_store) and
 * commit in parts (db_split) without a statement open.  Outside a
 * transaction the load reads one snapshot (db_read_begin).  A tablet
 * costs about 100 octets (its stored token included), an assignment its
 * scope and the declarations' strings.  A run over many tablets reads
 * faster with the reconciliation's page cache (db_policy_bulk()).  AP_ENOTFOUND for a device_id that does not exist (or, with
 * enabled_only, has DDM off).
 */
struct db_ddm_sets;
int db_ddm_sets_load(struct db *db, const struct db_ddm_filter *f, struct db_ddm_sets **ret);
/* How many tablets the load holds. */
size_t db_ddm_sets_count(const struct db_ddm_sets *s);
/* Calls fn for each tablet, in id order; the set is valid during the
 * call.  AP_ENOMEM. */
int db_ddm_sets_each(const struct db_ddm_sets *s,
		     int (*fn)(const struct db_ddm_set *set, void *arg), void *arg);
void db_ddm_sets_free(struct db_ddm_sets *s);
/* load, each, free: the recompute of the enrolled tablets of a collège
 * (school) or of the fleet (NULL); the caller computes each tablet's
 * DeclarationsToken from set->refs and stores it (db_ddm_token_store),
 * pushing the tablets whose token changed. */
int db_ddm_sets_recompute(struct db *db, const char *school, int enabled_only,
			  int (*fn)(const struct db_ddm_set *set, void *arg), void *arg);
/* The set of one tablet (enrolled or not): fn called once.  AP_ENOTFOUND
 * (no such tablet). */
int db_ddm_sets_device(struct db *db, int64_t device_id,
		       int (*fn)(const struct db_ddm_set *set, void *arg), void *arg);

/* ---- each tablet's DDM state ---------------------------------------------- */

struct db_ddm_state {
	int64_t enabled_at; /* 0: DDM not enabled */
	char token[DB_DDM_TOKEN_MAX + 1];
	int64_t token_version; /* times the stored token changed (0: never stored) */
	int64_t token_at, synced_at, status_at; /* 0: never */
};

/* AP_ENOTFOUND when the tablet has no DDM state yet (nothing stored). */
int db_ddm_state_get(struct db *db, int64_t device_id, struct db_ddm_state *ret);
/* DDM was enabled on the tablet (its DeclarativeManagement command
 * acknowledged): enabled_at = now, kept when already set.  AP_ENOTFOUND
 * (no such tablet). */
int db_ddm_enable(struct db *db, int64_t device_id);
/* Stores the DeclarationsToken computed for the tablet's set: *ret_changed
 * 1 when it differs from the one stored (then token_version + 1,
 * token_at = now: the caller pushes the tablet), 0 when it is the same
 * (nothing written).  AP_EINVAL: empty or over DB_DDM_TOKEN_MAX octets;
 * AP_ENOTFOUND (no such tablet). */
int db_ddm_token_store(struct db *db, int64_t device_id, const char *token, int *ret_changed);
/* The tablet fetched its tokens or declaration items: synced_at = now. */
int db_ddm_synced(struct db *db, int64_t device_id);
/* Enrolled tablets whose inventory says iPadOS 16 or later, with DDM not
 * enabled and no DeclarativeManagement command pending (enrolled before
 * Ardoise served DDM, or their command expired or failed): their ids, by
 * id, at most limit (> 0) of them, in *ret (malloc'd, the caller frees;
 * NULL when none), *ret_n how many. */
int db_ddm_not_enabled(struct db *db, int64_t limit, int64_t **ret, size_t *ret_n);
/* A new enrolment: the tablet's DDM state, items and declarations' state
 * are forgotten (unenrolment wipes DDM on the tablet). */
int db_ddm_forget_device(struct db *db, int64_t device_id);

/* ---- status reports -------------------------------------------------------- */

/* One status item: its dotted name and its value as JSON text. */
struct db_ddm_item {
	const char *name;
	const char *value;
};

/* One declaration's state, from management.declarations. */
struct db_ddm_decl_state {
	enum db_ddm_kind kind;
	const char *identifier;
	const char *server_token;
	int active;
	const char *valid;   /* "valid", "invalid" or "unknown" */
	const char *reasons; /* JSON array text, NULL or "" for [] */
	int removed;	     /* "_removed": true in an incremental report */
};

/* A status report, parsed by the caller.  Incremental (full 0): each item
 * is upserted, each declaration upserted (or deleted when removed), the
 * rest stays.  Full (FullReport true): what is stored for the tablet
 * becomes the report's items and declarations (those it does not name are
 * forgotten).  A value reported as it is stored is not rewritten: an
 * item's or a declaration's reported_at is when it was first reported
 * with its present value ("installing since"), the tablet's status_at
 * when it last reported anything. */
struct db_ddm_report {
	int full;
	const struct db_ddm_item *items;
	size_t n_items;
	const struct db_ddm_decl_state *decls;
	size_t n_decls;
};

/*
 * Applies a report in one transaction (all or nothing), status_at = now.
 * AP_EINVAL: an item name not 1-128 octets of A-Z a-z 0-9 . _ - or
 * DB_DDM_DECLARATIONS_ITEM, a value not JSON, a declaration's identifier
 * or server token as in the catalogue, valid not one of the three,
 * reasons not a JSON array; AP_ETOOBIG: a value over DB_DDM_VALUE_MAX,
 * reasons over DB_DDM_REASONS_MAX; AP_ELIMIT: more than
 * DB_DDM_REPORT_MAX items or declarations; AP_ENOTFOUND (no such tablet).
 */
int db_ddm_status_apply(struct db *db, int64_t device_id, const struct db_ddm_report *r);
/* The tablet's items, by name. */
int db_ddm_items(struct db *db, int64_t device_id,
		 int (*fn)(const char *name, const char *value, int64_t reported_at, void *arg),
		 void *arg);
/* The tablet's declarations' state, by kind then identifier (removed 0). */
int db_ddm_decl_states(struct db *db, int64_t device_id,
		       int (*fn)(const struct db_ddm_decl_state *d, int64_t reported_at, void *arg),
		       void *arg);

/* Where an enrolled tablet stands for one item (db_ddm_item_counts). */
enum db_ddm_reporting {
	DB_DDM_NO_DDM,	 /* DDM not enabled on it */
	DB_DDM_SILENT,	 /* enabled, the item never reported */
	DB_DDM_REPORTED, /* the item's value is known */
};
/*
 * Per collège, how many enrolled tablets stand where for item (e.g.
 * "softwareupdate.install-state"): fn(school, reporting, value, count)
 * once per (collège, reporting, value), by collège, reporting, value;
 * value is the JSON text ("\"downloading\"") for DB_DDM_REPORTED, NULL
 * otherwise; school "" for tablets no collège holds.  path (NULL: the
 * whole value) counts one member of the value instead, as JSON text
 * (e.g. "$.reason" of "softwareupdate.failure-reason"; NULL when the
 * value has no such member): "$", then ".name" (A-Z a-z 0-9 _ -) or
 * "[index]" parts, 64 octets at most, else AP_EINVAL.  only (n_only UAIs)
 * limits it to those collèges, NULL: every collège (db_scope.h's errors).
 */
int db_ddm_item_counts(struct db *db, const char *item, const char *path, const char *const *only,
		       size_t n_only,
		       int (*fn)(const char *school, enum db_ddm_reporting reporting,
				 const char *value, int64_t count, void *arg),
		       void *arg);
/*
 * Per collège, how many enrolled tablets report which state for the
 * declaration identifier (from management.declarations): fn(school,
 * reporting, valid, active, reasons, count) once per (collège,
 * reporting, valid, active, reasons), in that order; valid, reasons NULL
 * and active 0 unless DB_DDM_REPORTED (DB_DDM_SILENT: DDM on, the
 * declaration not in its reports).  AP_EINVAL for an identifier that is
 * not one; only as above.
 */
int db_ddm_decl_counts(struct db *db, const char *identifier, const char *const *only,
		       size_t n_only,
		       int (*fn)(const char *school, enum db_ddm_reporting reporting,
				 const char *valid, int active, const char *reasons, int64_t count,
				 void *arg),
		       void *arg);

#endif
