/*
 * db_policy.h - policies in the store: the profile and app catalogue,
 * assignments of items to scopes, what Ardoise installed on each tablet
 * ("owned"), and bulk loaders that read every tablet's facts for the
 * reconciliation in a few scans (never one query per tablet).
 *
 * Scopes are stored as the canonical text of pol_scope_format(); this
 * layer does not interpret them.  Loaders call fn once per row; the
 * strings they pass are valid only during the call; fn returning
 * non-zero stops the scan (the loader then returns 0).
 */
#ifndef DB_POLICY_H
#define DB_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_POLICY_SCOPE_MAX 128

struct db_profile {
	int64_t id;
	char name[65];
	char identifier[256];
	char display_name[256];
	char payload_types[1024]; /* comma-separated PayloadType values */
	char payload_hash[65];	  /* content hash */
	char payload_uuid[37];	  /* top-level PayloadUUID of the bytes sent */
	char blob[65];		  /* blob (db_blob_put) of the signed bytes */
	char created_by[65];
	int64_t created_at;
	char updated_by[65]; /* "" when never updated */
	int64_t updated_at;  /* 0 when never updated */
};

struct db_app {
	int64_t id;
	char bundle_id[256];
	int64_t store_id; /* 0 when unknown */
	char name[256];
	char licence[256]; /* reserved for Volume Purchase, "" for now */
	char created_by[65];
	int64_t created_at;
};

struct db_assignment {
	int64_t id;
	char kind[8];	      /* "profile" or "app" */
	int64_t item_id;      /* profile.id or app.id */
	char item[300];	      /* the profile's name or the app's bundle id */
	char identifier[256]; /* PayloadIdentifier or bundle id */
	char scope[DB_POLICY_SCOPE_MAX];
	char created_by[65];
	int64_t created_at;
};

/* Profiles.  Names and identifiers are unique among profiles not removed.
 * add: p->id, created_at, updated_* are ignored; writes the profile and
 * its version (blob -> PayloadUUID).  AP_EEXIST when the name is taken,
 * AP_ECONFLICT when another profile has the identifier. */
int db_policy_profile_add(struct db *db, const struct db_profile *p, int64_t *ret_id);
/* Replaces the content of profile `name` (identifier, display name,
 * payload types, hash, uuid, blob) and records the new version; the id,
 * hence the assignments, stay.  AP_ENOTFOUND, AP_ECONFLICT (identifier of
 * another profile). */
int db_policy_profile_update(struct db *db, const char *name, const struct db_profile *p,
			     const char *actor);
int db_policy_profile_get(struct db *db, const char *name, struct db_profile *ret);
/* Profiles not removed, by name. */
int db_policy_profile_list(struct db *db, int (*fn)(const struct db_profile *p, void *arg),
			   void *arg);
/* Marks it removed and deletes its assignments (*ret_unassigned how many;
 * may be NULL).  AP_ENOTFOUND. */
int db_policy_profile_remove(struct db *db, const char *name, int64_t *ret_unassigned);

/* Apps.  AP_EEXIST when the bundle id is in the catalogue. */
int db_policy_app_add(struct db *db, const struct db_app *a, int64_t *ret_id);
int db_policy_app_get(struct db *db, const char *bundle_id, struct db_app *ret);
int db_policy_app_list(struct db *db, int (*fn)(const struct db_app *a, void *arg), void *arg);
int db_policy_app_remove(struct db *db, const char *bundle_id, int64_t *ret_unassigned);

/* Assignments.  kind "profile" or "app".  assign: AP_EEXIST when that item
 * already has that scope.  unassign: AP_ENOTFOUND when it has not. */
int db_policy_assign(struct db *db, const char *kind, int64_t item_id, const char *scope,
		     const char *actor);
int db_policy_unassign(struct db *db, const char *kind, int64_t item_id, const char *scope);
/* Assignments of items not removed; scope NULL for all, else that scope
 * only; kind/item_id (NULL/0 for any) for one item's. */
int db_policy_assignment_list(struct db *db, const char *scope, const char *kind, int64_t item_id,
			      int (*fn)(const struct db_assignment *a, void *arg), void *arg);

/* One assigned item, joined with its catalogue row (reconciliation). */
struct db_policy_assigned {
	const char *kind; /* "profile" or "app" */
	int64_t item_id;
	const char *scope;
	const char *identifier;
	const char *version; /* profiles: payload_uuid; apps: "" */
	const char *blob;    /* profiles: the signed bytes; apps: "" */
	int64_t store_id;    /* apps */
	const char *name;    /* profile name or app bundle id */
};
int db_policy_each_assigned(struct db *db, int (*fn)(const struct db_policy_assigned *a, void *arg),
			    void *arg);

/* Bulk loaders: the rows of tablets lo..hi (ids, both included), each
 * query in its index's key order; lo == hi: that one tablet (every fleet
 * run reads 0..INT64_MAX or ranges of it, reconcile_facts.h). */
/* Tablets in id order (the first limit ones; limit 0: all): enrolled
 * ones, or every tablet when all is 1; of school only, when given.
 * school "" in the callback for a tablet no collège holds. */
int db_policy_each_device(struct db *db, const char *school, int64_t lo, int64_t hi, int all,
			  int64_t limit,
			  int (*fn)(int64_t id, const char *serial, const char *school, void *arg),
			  void *arg);
/*
 * The groups of tablets within their collège, from the person holding
 * each tablet's open loan: "pupils" or "teachers" (person.kind) and the
 * class (person.class) when set.  Only loans whose person belongs to the
 * tablet's current collège count.  Before the fleet records (tables
 * person and loan) exist, no tablet is in any group.  The one place that
 * knows how groups are stored.
 */
int db_policy_device_groups(struct db *db, int64_t lo, int64_t hi,
			    int (*fn)(int64_t device_id, const char *group, void *arg), void *arg);
/* Reported profiles (last ProfileList).  For a range (lo < hi), only
 * those whose identifier is or was in the catalogue. */
int db_policy_each_reported_profile(struct db *db, int64_t lo, int64_t hi,
				    int (*fn)(int64_t device_id, const char *identifier,
					      const char *uuid, void *arg),
				    void *arg);
/* Reported apps (last InstalledApplicationList); for a range (lo < hi),
 * only bundle ids that are or were in the catalogue. */
int db_policy_each_reported_app(struct db *db, int64_t lo, int64_t hi,
				int (*fn)(int64_t device_id, const char *identifier, void *arg),
				void *arg);
/* What Ardoise installed: kind "profile" or "app". */
int db_policy_each_owned(struct db *db, int64_t lo, int64_t hi,
			 int (*fn)(int64_t device_id, const char *kind, const char *identifier,
				   const char *version, int64_t acked_cmd, void *arg),
			 void *arg);
/* Every pending command (queued, sent, notnow), any type; blob_ref "" for
 * commands that carry their own payload. */
int db_policy_each_pending(struct db *db, int64_t lo, int64_t hi,
			   int (*fn)(int64_t device_id, int64_t command_id, const char *type,
				     const char *dedupe, const char *blob_ref, void *arg),
			   void *arg);
/* The command whose result was each tablet's last lists (0: never). */
int db_policy_each_lists(struct db *db, int64_t lo, int64_t hi,
			 int (*fn)(int64_t device_id, int64_t profiles_cmd, int64_t apps_cmd,
				   void *arg),
			 void *arg);
/* Policy commands (origin 'policy') that are the latest of their
 * (tablet, type, dedupe) and ended in error, format_error or expired. */
int db_policy_each_failed(struct db *db, int64_t lo, int64_t hi,
			  int (*fn)(int64_t device_id, const char *type, const char *dedupe,
				    const char *status, const char *error, int64_t done_at,
				    void *arg),
			  void *arg);

/* A reconciliation of many tablets reads and writes a lot in one
 * transaction: on 1 gives this connection a 32 MiB page cache (so the
 * indexes it touches stay in memory instead of spilling to the WAL), on 0
 * goes back to SQLite's default (pages beyond it are released). */
int db_policy_bulk(struct db *db, int on);

/* Results of policy commands. */
/* dedupe and blob_ref of a command.  AP_ENOTFOUND. */
int db_policy_command_ref(struct db *db, const char *uuid, char ret_dedupe[256], char ret_blob[65]);
/* The PayloadUUID a profile blob carries.  AP_ENOTFOUND. */
int db_policy_version_uuid(struct db *db, const char *blob, char ret_uuid[37]);
/* An acknowledged install (command command_id): owned (kind, identifier,
 * version); a profile is also recorded as reported (installing it is
 * synchronous). */
int db_policy_installed(struct db *db, int64_t device_id, const char *kind, const char *identifier,
			const char *version, const char *display_name, int64_t command_id);
/* An acknowledged removal: no longer owned nor reported. */
int db_policy_removed(struct db *db, int64_t device_id, const char *kind, const char *identifier);
/* A fresh list arrived, the result of command command_id: profiles 1 for
 * ProfileList, 0 for InstalledApplicationList. */
int db_policy_lists_stamp(struct db *db, int64_t device_id, int profiles, int64_t command_id);
/* A new enrolment: what was known of the tablet's previous installation
 * (owned items, reported lists) no longer holds. */
int db_policy_forget_device(struct db *db, int64_t device_id);
/* Cancels a pending command (superseded by the policy); 0 also when it
 * was no longer pending. */
int db_policy_cancel(struct db *db, int64_t command_id);

/* Daily refresh: up to limit enrolled tablets whose lists are older than
 * `before` (or never came) and that have neither list pending, oldest
 * first. */
int db_policy_refresh_due(struct db *db, int64_t before, int64_t limit,
			  int (*fn)(int64_t device_id, void *arg), void *arg);
int db_policy_count_enrolled(struct db *db, int64_t *ret);

/* Every app reported by enrolled tablets (of school, NULL for all), by
 * tablet id. */
int db_policy_each_installed_app(struct db *db, const char *school,
				 int (*fn)(int64_t device_id, const char *serial,
					   const char *school, const char *identifier,
					   const char *name, const char *version, void *arg),
				 void *arg);

#endif
