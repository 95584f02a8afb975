/* db_ddm.c - declarations, their assignments, each tablet's DDM state and
 * status.  The sets of many tablets are db_ddm_sets.c. */
#include "db_int.h"
#include "db_audit.h"
#include "db_command.h"
#include "db_ddm.h"
#include "ap_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"activation", "asset", "configuration", "management"};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const char *db_ddm_kind_name(enum db_ddm_kind k)
{
	return (unsigned)k < N_KINDS ? kinds[k] : NULL;
}

int db_ddm_kind_parse(const char *text, enum db_ddm_kind *ret)
{
	for (size_t i = 0; text && i < N_KINDS; i++)
		if (strcmp(text, kinds[i]) == 0) {
			*ret = (enum db_ddm_kind)i;
			return 0;
		}
	return AP_EINVAL;
}

/* ---- checks ---------------------------------------------------------------- */

/* 1 for A-Z a-z 0-9 _ - */
static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* 1 when s is 1-max octets of A-Z a-z 0-9 . _ - */
static int plain(const char *s, size_t max)
{
	size_t n = 0;
	for (; s && s[n]; n++)
		if (!name_char(s[n]) && s[n] != '.')
			return 0;
	return n >= 1 && n <= max;
}

/* 1 when s is 1-max printable ASCII octets (no space). */
static int printable(const char *s, size_t max)
{
	size_t n = 0;
	for (; s && s[n]; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n >= 1 && n <= max;
}

/* 1 when type is "com.apple.<kind>." and more, within DB_DDM_TYPE_MAX. */
static int type_ok(enum db_ddm_kind k, const char *type)
{
	char prefix[40];
	const char *name = db_ddm_kind_name(k);
	if (name == NULL || !plain(type, DB_DDM_TYPE_MAX))
		return 0;
	snprintf(prefix, sizeof(prefix), "com.apple.%s.", name);
	return strncmp(type, prefix, strlen(prefix)) == 0 && type[strlen(prefix)] != '\0';
}

/* JSON type of text[0..len) ("object", "array", "text", ...) into out;
 * "" when it is not JSON. */
static int json_type_of(struct db *db, const char *text, size_t len, char out[16])
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (memchr(text, '\0', len) != NULL)
		return 0;
	int rc = db_stmt(db, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) ELSE '' END", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0)
		db_col_copy(st, 0, out, 16);
	db_done(st);
	return rc;
}

/* A Payload: a JSON object of at most DB_DDM_PAYLOAD_MAX octets. */
static int payload_check(struct db *db, const char *payload, size_t len)
{
	char type[16];
	if (len > DB_DDM_PAYLOAD_MAX)
		return AP_ETOOBIG;
	if (payload == NULL || len == 0)
		return AP_EINVAL;
	int rc = json_type_of(db, payload, len, type);
	return rc < 0 ? rc : strcmp(type, "object") == 0 ? 0 : AP_EINVAL;
}

/* A models filter: "" (none), or a JSON array of at most DB_DDM_MODELS_N
 * strings of 1-DB_DDM_MODEL_MAX printable ASCII octets. */
static int models_check(struct db *db, const char *models)
{
	sqlite3_stmt *st;
	if (memchr(models, '\0', DB_DDM_MODELS_MAX + 1) == NULL)
		return AP_EINVAL;
	if (models[0] == '\0')
		return 0;
	int rc = db_stmt(db,
			 "SELECT CASE WHEN NOT json_valid(?1) THEN 0"
			 " WHEN json_type(?1) <> 'array' THEN 0"
			 " ELSE json_array_length(?1) <= ?2 AND NOT EXISTS (SELECT 1"
			 " FROM json_each(?1) WHERE type <> 'text'"
			 " OR length(CAST(value AS BLOB)) NOT BETWEEN 1 AND ?3"
			 " OR value GLOB '*[^!-~]*') END",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, models);
	sqlite3_bind_int(st, 2, DB_DDM_MODELS_N);
	sqlite3_bind_int(st, 3, DB_DDM_MODEL_MAX);
	if ((rc = db_step_row(db, st)) == 0)
		rc = sqlite3_column_int(st, 0) ? 0 : AP_EINVAL;
	db_done(st);
	return rc;
}

static int declaration_check(struct db *db, const struct db_declaration *d, const char *payload,
			     size_t len, const char *actor)
{
	int rc;
	/* fields filled to the brim without their NUL: too long */
	if (memchr(d->identifier, '\0', sizeof(d->identifier)) == NULL ||
	    memchr(d->server_token, '\0', sizeof(d->server_token)) == NULL ||
	    memchr(d->type, '\0', sizeof(d->type)) == NULL)
		return AP_EINVAL;
	if (!plain(d->identifier, DB_DDM_IDENTIFIER_MAX) ||
	    !printable(d->server_token, DB_DDM_IDENTIFIER_MAX) || !type_ok(d->kind, d->type) ||
	    actor == NULL || actor[0] == '\0')
		return AP_EINVAL;
	if ((rc = models_check(db, d->models)) < 0)
		return rc;
	return payload_check(db, payload, len);
}

static int device_exists(struct db *db, int64_t device_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT 1 FROM device WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	rc = db_step_row(db, st);
	db_done(st);
	return rc;
}

/* ---- audit rows -------------------------------------------------------------- */

/* Appends an audit row whose detail is the one text column of st (a
 * json_object() SELECT, bound by the caller). */
static int audit_with(struct db *db, sqlite3_stmt *st, const char *actor, const char *action,
		      const char *target)
{
	char detail[512] = "";
	int rc = db_step_row(db, st);
	if (rc == 0)
		db_col_copy(st, 0, detail, sizeof(detail));
	db_done(st);
	return rc < 0 ? rc : db_audit_append(db, actor, action, target, NULL, detail);
}

/* {"kind", "type", "server_token"}, with "previous" (the token replaced)
 * when previous is not NULL, else with "unassigned" (how many assignments
 * went) when unassigned >= 0. */
static int audit_declaration(struct db *db, const char *actor, const char *action,
			     const struct db_declaration *d, const char *previous,
			     int64_t unassigned)
{
	sqlite3_stmt *st;
	const char *sql =
	    previous	      ? "SELECT json_object('kind', ?1, 'type', ?2, 'server_token', ?3,"
				" 'previous', ?4)"
	    : unassigned >= 0 ? "SELECT json_object('kind', ?1, 'type', ?2, 'server_token', ?3,"
				" 'unassigned', ?4)"
			      : "SELECT json_object('kind', ?1, 'type', ?2, 'server_token', ?3)";
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, db_ddm_kind_name(d->kind));
	db_bind_text(st, 2, d->type);
	db_bind_text(st, 3, d->server_token);
	if (previous)
		db_bind_text(st, 4, previous);
	else if (unassigned >= 0)
		sqlite3_bind_int64(st, 4, unassigned);
	return audit_with(db, st, actor, action, d->identifier);
}

static int audit_assignment(struct db *db, const char *actor, const char *action,
			    const char *identifier, const char *scope)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT json_object('declaration', ?1)", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, identifier);
	return audit_with(db, st, actor, action, scope);
}

/* ---- the catalogue -------------------------------------------------------------- */

#define DECLARATION_COLS                                                         \
	"SELECT id, kind, type, identifier, server_token, blob, created_by,"     \
	" created_at, updated_by, coalesce(updated_at, 0), coalesce(models, '')" \
	" FROM declaration "

static void declaration_fill(sqlite3_stmt *st, struct db_declaration *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	db_ddm_kind_parse((const char *)sqlite3_column_text(st, 1), &d->kind);
	db_col_copy(st, 2, d->type, sizeof(d->type));
	db_col_copy(st, 3, d->identifier, sizeof(d->identifier));
	db_col_copy(st, 4, d->server_token, sizeof(d->server_token));
	db_col_copy(st, 5, d->blob, sizeof(d->blob));
	db_col_copy(st, 6, d->created_by, sizeof(d->created_by));
	d->created_at = sqlite3_column_int64(st, 7);
	db_col_copy(st, 8, d->updated_by, sizeof(d->updated_by));
	d->updated_at = sqlite3_column_int64(st, 9);
	db_col_copy(st, 10, d->models, sizeof(d->models));
}

int db_ddm_declaration_get(struct db *db, const char *kind, const char *identifier,
			   struct db_declaration *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 DECLARATION_COLS "WHERE identifier = ?1 AND removed_at IS NULL"
					  " AND (?2 IS NULL OR kind = ?2)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, identifier);
	db_bind_text(st, 2, kind);
	if ((rc = db_step_row(db, st)) == 0)
		declaration_fill(st, ret);
	db_done(st);
	return rc;
}

static int declaration_insert(struct db *db, const struct db_declaration *d, const char *blob,
			      const char *actor, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO declaration(kind, type, identifier, server_token, blob,"
			 " created_by, created_at, models) VALUES (?,?,?,?,?,?,?,nullif(?8, ''))",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, db_ddm_kind_name(d->kind));
	db_bind_text(st, 2, d->type);
	db_bind_text(st, 3, d->identifier);
	db_bind_text(st, 4, d->server_token);
	db_bind_text(st, 5, blob);
	db_bind_text(st, 6, actor);
	sqlite3_bind_int64(st, 7, db_now());
	db_bind_text(st, 8, d->models);
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int db_ddm_declaration_add(struct db *db, const struct db_declaration *d, const char *payload,
			   size_t len, const char *actor, int64_t *ret_id)
{
	struct db_declaration old;
	char blob[65];
	int64_t id = 0;
	int rc = declaration_check(db, d, payload, len, actor);
	if (rc < 0)
		return rc;
	if ((rc = db_begin(db)) < 0)
		return rc;
	rc = db_ddm_declaration_get(db, NULL, d->identifier, &old);
	if (rc == 0)
		rc = AP_EEXIST;
	else if (rc == AP_ENOTFOUND && (rc = db_blob_put(db, payload, len, blob)) == 0 &&
		 (rc = declaration_insert(db, d, blob, actor, &id)) == 0)
		rc = audit_declaration(db, actor, "ddm.declaration.add", d, NULL, -1);
	if ((rc = db_end(db, rc)) == 0 && ret_id)
		*ret_id = id;
	return rc;
}

static int declaration_set(struct db *db, int64_t id, const struct db_declaration *d,
			   const char *blob, const char *actor)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE declaration SET type = ?, server_token = ?, blob = ?,"
			 " updated_by = ?, updated_at = ?, models = nullif(?7, '') WHERE id = ?6",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, d->type);
	db_bind_text(st, 2, d->server_token);
	db_bind_text(st, 3, blob);
	db_bind_text(st, 4, actor);
	sqlite3_bind_int64(st, 5, db_now());
	sqlite3_bind_int64(st, 6, id);
	db_bind_text(st, 7, d->models);
	return db_step_done(db, st, 0);
}

int db_ddm_declaration_update(struct db *db, const char *identifier, const struct db_declaration *d,
			      const char *payload, size_t len, const char *actor, int *ret_changed)
{
	struct db_declaration old, now = *d;
	char blob[65];
	int changed = 0;
	/* the identifier is the one named: d->identifier is not read */
	snprintf(now.identifier, sizeof(now.identifier), "%s", identifier ? identifier : "");
	int rc = declaration_check(db, &now, payload, len, actor);
	if (rc < 0)
		return rc;
	if ((rc = db_begin(db)) < 0)
		return rc;
	if ((rc = db_ddm_declaration_get(db, NULL, identifier, &old)) < 0)
		goto out;
	if (old.kind != now.kind) {
		rc = AP_ECONFLICT;
		goto out;
	}
	if (strcmp(old.server_token, now.server_token) == 0 && strcmp(old.models, now.models) == 0)
		goto out;
	changed = 1;
	if ((rc = db_blob_put(db, payload, len, blob)) == 0 &&
	    (rc = declaration_set(db, old.id, &now, blob, actor)) == 0)
		rc = audit_declaration(db, actor, "ddm.declaration.update", &now, old.server_token,
				       -1);
out:
	if ((rc = db_end(db, rc)) == 0 && ret_changed)
		*ret_changed = changed;
	return rc;
}

int db_ddm_declaration_payload(struct db *db, const char *identifier, char **ret, size_t *ret_len)
{
	struct db_declaration d;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc = db_ddm_declaration_get(db, NULL, identifier, &d);
	if (rc == 0 && (rc = db_blob_get(db, d.blob, &data, &len)) == 0) {
		*ret = (char *)data;
		*ret_len = len;
	}
	return rc;
}

int db_ddm_declaration_list(struct db *db, int (*fn)(const struct db_declaration *d, void *arg),
			    void *arg)
{
	struct db_declaration d;
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, DECLARATION_COLS "WHERE removed_at IS NULL ORDER BY kind, identifier", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		declaration_fill(st, &d);
		if (fn(&d, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

int db_ddm_declaration_remove(struct db *db, const char *identifier, const char *actor,
			      int64_t *ret_unassigned)
{
	struct db_declaration d;
	int64_t n = 0;
	if (actor == NULL || actor[0] == '\0')
		return AP_EINVAL;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_ddm_declaration_get(db, NULL, identifier, &d)) < 0 ||
	    (rc = db_stamp(db, "UPDATE declaration SET removed_at = ?1 WHERE id = ?2", d.id)) < 0 ||
	    (rc = db_run_int64(db, "DELETE FROM declaration_assignment WHERE declaration_id = ?",
			       d.id, 0)) < 0)
		goto out;
	n = sqlite3_changes(db->h);
	rc = audit_declaration(db, actor, "ddm.declaration.remove", &d, NULL, n);
out:
	if ((rc = db_end(db, rc)) == 0 && ret_unassigned)
		*ret_unassigned = n;
	return rc;
}

/* ---- assignments ------------------------------------------------------------------ */

/* 1-DB_DDM_SCOPE_MAX octets, no control character. */
static int scope_ok(const char *scope)
{
	size_t n = 0;
	for (; scope && scope[n]; n++)
		if ((unsigned char)scope[n] < 0x20 || scope[n] == 0x7f)
			return 0;
	return n >= 1 && n <= DB_DDM_SCOPE_MAX;
}

static int assign_row(struct db *db, int64_t id, const char *scope, const char *actor)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO declaration_assignment(declaration_id, scope, created_by,"
			 " created_at) VALUES (?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, scope);
	db_bind_text(st, 3, actor);
	sqlite3_bind_int64(st, 4, db_now());
	return db_step_done(db, st, 0); /* the primary key: AP_EEXIST */
}

static int unassign_row(struct db *db, int64_t id, const char *scope)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "DELETE FROM declaration_assignment WHERE declaration_id = ? AND scope = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, scope);
	return db_step_done(db, st, AP_ENOTFOUND);
}

/* assign (add 1) or unassign, with its audit row, in one transaction. */
static int assignment_change(struct db *db, const char *identifier, const char *scope,
			     const char *actor, int add)
{
	struct db_declaration d;
	if (!scope_ok(scope) || actor == NULL || actor[0] == '\0')
		return AP_EINVAL;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_ddm_declaration_get(db, NULL, identifier, &d)) == 0)
		rc = add ? assign_row(db, d.id, scope, actor) : unassign_row(db, d.id, scope);
	if (rc == 0)
		rc = audit_assignment(db, actor, add ? "ddm.assign" : "ddm.unassign", d.identifier,
				      scope);
	return db_end(db, rc);
}

int db_ddm_assign(struct db *db, const char *identifier, const char *scope, const char *actor)
{
	return assignment_change(db, identifier, scope, actor, 1);
}

int db_ddm_unassign(struct db *db, const char *identifier, const char *scope, const char *actor)
{
	return assignment_change(db, identifier, scope, actor, 0);
}

int db_ddm_assignment_list(struct db *db, const char *scope, const char *identifier,
			   int (*fn)(const struct db_ddm_assignment *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT d.identifier, d.kind, a.scope, a.created_by, a.created_at"
			 " FROM declaration_assignment a JOIN declaration d"
			 " ON d.id = a.declaration_id AND d.removed_at IS NULL"
			 " WHERE (?1 IS NULL OR a.scope = ?1) AND (?2 IS NULL OR d.identifier = ?2)"
			 " ORDER BY d.identifier, a.scope",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, scope);
	db_bind_text(st, 2, identifier);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ddm_assignment a = {
		    (const char *)sqlite3_column_text(st, 0), DB_DDM_ACTIVATION,
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4)};
		db_ddm_kind_parse((const char *)sqlite3_column_text(st, 1), &a.kind);
		if (fn(&a, arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

/* ---- each tablet's DDM state --------------------------------------------------------- */

int db_ddm_state_get(struct db *db, int64_t device_id, struct db_ddm_state *ret)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT coalesce(enabled_at, 0), token, token_version, coalesce(token_at, 0),"
		    " coalesce(synced_at, 0), coalesce(status_at, 0) FROM device_ddm"
		    " WHERE device_id = ?",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	if ((rc = db_step_row(db, st)) == 0) {
		memset(ret, 0, sizeof(*ret));
		ret->enabled_at = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, ret->token, sizeof(ret->token));
		ret->token_version = sqlite3_column_int64(st, 2);
		ret->token_at = sqlite3_column_int64(st, 3);
		ret->synced_at = sqlite3_column_int64(st, 4);
		ret->status_at = sqlite3_column_int64(st, 5);
	}
	db_done(st);
	return rc;
}

/* Runs sql, an upsert of device_ddm whose ?1 is the tablet and ?2 now.
 * The only constraint such a row can break is its foreign key (the
 * tablet does not exist): AP_ENOTFOUND. */
static int state_upsert(struct db *db, const char *sql, int64_t device_id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, db_now());
	rc = db_step_done(db, st, 0);
	return rc == AP_EEXIST ? AP_ENOTFOUND : rc;
}

int db_ddm_enable(struct db *db, int64_t device_id)
{
	return state_upsert(db,
			    "INSERT INTO device_ddm(device_id, enabled_at) VALUES (?1, ?2)"
			    " ON CONFLICT(device_id) DO UPDATE"
			    " SET enabled_at = excluded.enabled_at WHERE enabled_at IS NULL",
			    device_id);
}

int db_ddm_synced(struct db *db, int64_t device_id)
{
	return state_upsert(db,
			    "INSERT INTO device_ddm(device_id, synced_at) VALUES (?1, ?2)"
			    " ON CONFLICT(device_id) DO UPDATE SET synced_at = excluded.synced_at"
			    " WHERE synced_at IS NOT excluded.synced_at",
			    device_id);
}

static int status_stamp(struct db *db, int64_t device_id)
{
	return state_upsert(db,
			    "INSERT INTO device_ddm(device_id, status_at) VALUES (?1, ?2)"
			    " ON CONFLICT(device_id) DO UPDATE SET status_at = excluded.status_at",
			    device_id);
}

int db_ddm_token_store(struct db *db, int64_t device_id, const char *token, int *ret_changed)
{
	sqlite3_stmt *st;
	if (token == NULL || token[0] == '\0' || strlen(token) > DB_DDM_TOKEN_MAX)
		return AP_EINVAL;
	/* one statement: no write at all when the token is the same */
	int rc = db_stmt(db,
			 "INSERT INTO device_ddm(device_id, token, token_version, token_at)"
			 " VALUES (?1, ?2, 1, ?3) ON CONFLICT(device_id) DO UPDATE"
			 " SET token = excluded.token, token_version = token_version + 1,"
			 " token_at = excluded.token_at WHERE token != excluded.token",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, token);
	sqlite3_bind_int64(st, 3, db_now());
	if ((rc = db_step_done(db, st, 0)) == AP_EEXIST)
		return AP_ENOTFOUND; /* the foreign key: no such tablet */
	if (rc == 0 && ret_changed)
		*ret_changed = sqlite3_changes(db->h) > 0;
	return rc;
}

static int forget_items(struct db *db, int64_t device_id)
{
	int rc = db_run_int64(db, "DELETE FROM device_ddm_item WHERE device_id = ?", device_id, 0);
	if (rc == 0)
		rc = db_run_int64(db, "DELETE FROM device_declaration WHERE device_id = ?",
				  device_id, 0);
	return rc;
}

int db_ddm_not_enabled(struct db *db, int64_t limit, int64_t **ret, size_t *ret_n)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	*ret = NULL;
	*ret_n = 0;
	if (limit <= 0)
		return AP_EINVAL;
	/* CAST('17.5' AS INTEGER) is 17: the major version */
	int rc = db_stmt(db,
			 "SELECT d.id FROM device d LEFT JOIN device_ddm s ON s.device_id = d.id"
			 " WHERE d.enrollment = 'enrolled' AND CAST(d.os_version AS INTEGER) >= 16"
			 " AND s.enabled_at IS NULL AND NOT EXISTS (SELECT 1 FROM command c"
			 " WHERE c.device_id = d.id AND c.type = 'DeclarativeManagement'"
			 " AND c.status IN ('queued','sent','notnow'))"
			 " ORDER BY d.id LIMIT ?",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			int64_t *m = realloc(ids, c * sizeof(*ids));
			if (m == NULL) {
				free(ids);
				db_done(st);
				return AP_ENOMEM;
			}
			ids = m;
			cap = c;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if ((rc = db_rows_done(db, st, rc)) < 0) {
		free(ids);
		return rc;
	}
	*ret = ids;
	*ret_n = n;
	return 0;
}

int db_ddm_forget_device(struct db *db, int64_t device_id)
{
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = forget_items(db, device_id)) == 0)
		rc = db_run_int64(db, "DELETE FROM device_ddm WHERE device_id = ?", device_id, 0);
	return db_end(db, rc);
}

/* ---- status reports ------------------------------------------------------------------- */

static int item_check(struct db *db, const struct db_ddm_item *it)
{
	char type[16];
	if (!plain(it->name, DB_DDM_ITEM_MAX) || strcmp(it->name, DB_DDM_DECLARATIONS_ITEM) == 0 ||
	    it->value == NULL)
		return AP_EINVAL;
	size_t len = strlen(it->value);
	if (len > DB_DDM_VALUE_MAX)
		return AP_ETOOBIG;
	int rc = json_type_of(db, it->value, len, type);
	return rc < 0 ? rc : type[0] ? 0 : AP_EINVAL;
}

static int decl_check(struct db *db, const struct db_ddm_decl_state *d)
{
	char type[16];
	if (db_ddm_kind_name(d->kind) == NULL || !plain(d->identifier, DB_DDM_IDENTIFIER_MAX))
		return AP_EINVAL;
	if (d->removed)
		return 0;
	if (!printable(d->server_token, DB_DDM_IDENTIFIER_MAX) || d->valid == NULL ||
	    (strcmp(d->valid, "valid") != 0 && strcmp(d->valid, "invalid") != 0 &&
	     strcmp(d->valid, "unknown") != 0))
		return AP_EINVAL;
	if (d->reasons == NULL || d->reasons[0] == '\0')
		return 0;
	size_t len = strlen(d->reasons);
	if (len > DB_DDM_REASONS_MAX)
		return AP_ETOOBIG;
	int rc = json_type_of(db, d->reasons, len, type);
	return rc < 0 ? rc : strcmp(type, "array") == 0 ? 0 : AP_EINVAL;
}

static int report_check(struct db *db, const struct db_ddm_report *r)
{
	int rc = 0;
	if (r->n_items > DB_DDM_REPORT_MAX || r->n_decls > DB_DDM_REPORT_MAX)
		return AP_ELIMIT;
	if ((r->n_items && r->items == NULL) || (r->n_decls && r->decls == NULL))
		return AP_EINVAL;
	for (size_t i = 0; i < r->n_items && rc == 0; i++)
		rc = item_check(db, &r->items[i]);
	for (size_t i = 0; i < r->n_decls && rc == 0; i++)
		rc = decl_check(db, &r->decls[i]);
	return rc;
}

static int item_put(struct db *db, int64_t device_id, const struct db_ddm_item *it, int64_t now)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO device_ddm_item(device_id, item, value, reported_at)"
			 " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(device_id, item) DO UPDATE"
			 " SET value = excluded.value, reported_at = excluded.reported_at"
			 " WHERE value IS NOT excluded.value",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, it->name);
	db_bind_text(st, 3, it->value);
	sqlite3_bind_int64(st, 4, now);
	return db_step_done(db, st, 0);
}

static int decl_put(struct db *db, int64_t device_id, const struct db_ddm_decl_state *d,
		    int64_t now)
{
	sqlite3_stmt *st;
	int rc = d->removed
		     ? db_stmt(db,
			       "DELETE FROM device_declaration WHERE device_id = ?1"
			       " AND kind = ?2 AND identifier = ?3",
			       &st)
		     : db_stmt(db,
			       "INSERT INTO device_declaration(device_id, kind, identifier,"
			       " server_token, active, valid, reasons, reported_at)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			       " ON CONFLICT(device_id, kind, identifier) DO UPDATE"
			       " SET server_token = excluded.server_token,"
			       " active = excluded.active, valid = excluded.valid,"
			       " reasons = excluded.reasons, reported_at = excluded.reported_at"
			       " WHERE (server_token, active, valid, reasons) IS NOT"
			       " (excluded.server_token, excluded.active, excluded.valid,"
			       " excluded.reasons)",
			       &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, db_ddm_kind_name(d->kind));
	db_bind_text(st, 3, d->identifier);
	if (!d->removed) {
		db_bind_text(st, 4, d->server_token);
		sqlite3_bind_int(st, 5, d->active ? 1 : 0);
		db_bind_text(st, 6, d->valid);
		db_bind_text(st, 7, d->reasons && d->reasons[0] ? d->reasons : "[]");
		sqlite3_bind_int64(st, 8, now);
	}
	return db_step_done(db, st, 0);
}

/* A full report: what was stored and the report does not name goes (the
 * names and identifiers are plain text, checked by report_check(), so
 * they go into a JSON array as they are). */
static int forget_unreported(struct db *db, int64_t device_id, const struct db_ddm_report *r)
{
	sqlite3_str *items = sqlite3_str_new(db->h), *decls = sqlite3_str_new(db->h);
	char *ti = NULL, *td = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;
	sqlite3_str_appendchar(items, 1, '[');
	for (size_t i = 0; i < r->n_items; i++)
		sqlite3_str_appendf(items, "%s\"%s\"", i ? "," : "", r->items[i].name);
	sqlite3_str_appendchar(items, 1, ']');
	sqlite3_str_appendchar(decls, 1, '[');
	for (size_t i = 0; i < r->n_decls; i++)
		if (!r->decls[i].removed)
			sqlite3_str_appendf(decls, "%s\"%s/%s\"", n++ ? "," : "",
					    db_ddm_kind_name(r->decls[i].kind),
					    r->decls[i].identifier);
	sqlite3_str_appendchar(decls, 1, ']');
	ti = sqlite3_str_finish(items);
	td = sqlite3_str_finish(decls);
	if (ti == NULL || td == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if ((rc = db_stmt(db,
			  "DELETE FROM device_ddm_item WHERE device_id = ?1"
			  " AND item NOT IN (SELECT value FROM json_each(?2))",
			  &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, ti);
	if ((rc = db_step_done(db, st, 0)) < 0)
		goto out;
	if ((rc = db_stmt(db,
			  "DELETE FROM device_declaration WHERE device_id = ?1"
			  " AND kind || '/' || identifier NOT IN (SELECT value FROM json_each(?2))",
			  &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, device_id);
	db_bind_text(st, 2, td);
	rc = db_step_done(db, st, 0);
out:
	sqlite3_free(ti);
	sqlite3_free(td);
	return rc;
}

int db_ddm_status_apply(struct db *db, int64_t device_id, const struct db_ddm_report *r)
{
	int64_t now = db_now();
	if (r == NULL)
		return AP_EINVAL;
	int rc = report_check(db, r);
	if (rc < 0)
		return rc;
	if ((rc = db_begin(db)) < 0)
		return rc;
	if ((rc = device_exists(db, device_id)) < 0)
		goto out;
	for (size_t i = 0; i < r->n_items && rc == 0; i++)
		rc = item_put(db, device_id, &r->items[i], now);
	for (size_t i = 0; i < r->n_decls && rc == 0; i++)
		rc = decl_put(db, device_id, &r->decls[i], now);
	if (rc == 0 && r->full)
		rc = forget_unreported(db, device_id, r);
	if (rc == 0)
		rc = status_stamp(db, device_id);
out:
	return db_end(db, rc);
}

int db_ddm_items(struct db *db, int64_t device_id,
		 int (*fn)(const char *name, const char *value, int64_t reported_at, void *arg),
		 void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT item, value, reported_at FROM device_ddm_item WHERE device_id = ?"
			 " ORDER BY item",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2), arg))
			break;
	return db_rows_done(db, st, rc);
}

int db_ddm_decl_states(struct db *db, int64_t device_id,
		       int (*fn)(const struct db_ddm_decl_state *d, int64_t reported_at, void *arg),
		       void *arg)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT kind, identifier, server_token, active, valid, reasons, reported_at"
		    " FROM device_declaration WHERE device_id = ? ORDER BY kind, identifier",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ddm_decl_state d = {DB_DDM_ACTIVATION,
					      (const char *)sqlite3_column_text(st, 1),
					      (const char *)sqlite3_column_text(st, 2),
					      sqlite3_column_int(st, 3),
					      (const char *)sqlite3_column_text(st, 4),
					      (const char *)sqlite3_column_text(st, 5),
					      0};
		db_ddm_kind_parse((const char *)sqlite3_column_text(st, 0), &d.kind);
		if (fn(&d, sqlite3_column_int64(st, 6), arg))
			break;
	}
	return db_rows_done(db, st, rc);
}

/* The counts over every collège (?1 NULL), or over the collèges of
 * json_each(?1): an IN list that device's index on school can use, where
 * "?1 IS NULL OR" could not.  SQL texts stay literals (db_stmt). */
#define ALL  "?1 IS NULL"
#define SOME "d.school IN (SELECT value FROM json_each(?1))"

#define ITEM_COUNTS_SQL(where)                                                                \
	"SELECT coalesce(d.school, '') AS sc,"                                                \
	" CASE WHEN s.enabled_at IS NULL THEN 0 WHEN i.value IS NULL THEN 1 ELSE 2 END AS r," \
	" CASE WHEN s.enabled_at IS NULL THEN NULL WHEN ?3 IS NULL THEN i.value"              \
	" ELSE i.value -> ?3 END AS v, count(*)"                                              \
	" FROM device d LEFT JOIN device_ddm s ON s.device_id = d.id"                         \
	" LEFT JOIN device_ddm_item i ON i.device_id = d.id AND i.item = ?2"                  \
	" WHERE d.enrollment = 'enrolled' AND " where " GROUP BY sc, r, v ORDER BY sc, r, v"

#define DECL_COUNTS_SQL(where)                                                                \
	"SELECT coalesce(d.school, '') AS sc,"                                                \
	" CASE WHEN s.enabled_at IS NULL THEN 0 WHEN x.valid IS NULL THEN 1 ELSE 2 END AS r," \
	" CASE WHEN s.enabled_at IS NOT NULL THEN x.valid END AS va,"                         \
	" CASE WHEN s.enabled_at IS NOT NULL THEN x.active ELSE 0 END AS ac,"                 \
	" CASE WHEN s.enabled_at IS NOT NULL THEN x.reasons END AS re, count(*)"              \
	" FROM device d LEFT JOIN device_ddm s ON s.device_id = d.id"                         \
	" LEFT JOIN device_declaration x ON x.device_id = d.id AND x.identifier = ?2"         \
	" WHERE d.enrollment = 'enrolled' AND " where                                         \
	" GROUP BY sc, r, va, ac, re ORDER BY sc, r, va, ac, re"

/* 1 when path is "$" then ".name" or "[digits]" parts, at most 64 octets. */
static int path_ok(const char *path)
{
	size_t i = 1;
	if (path == NULL || path[0] != '$' || strlen(path) > 64)
		return 0;
	while (path[i]) {
		char open = path[i++];
		size_t n = 0;
		for (; path[i] && path[i] != '.' && path[i] != '[' && path[i] != ']'; i++, n++)
			if (open == '[' ? !(path[i] >= '0' && path[i] <= '9') : !name_char(path[i]))
				return 0;
		if (n == 0 || (open != '.' && open != '[') || (open == '[' && path[i++] != ']'))
			return 0;
	}
	return 1;
}

int db_ddm_item_counts(struct db *db, const char *item, const char *path, const char *const *only,
		       size_t n_only,
		       int (*fn)(const char *school, enum db_ddm_reporting reporting,
				 const char *value, int64_t count, void *arg),
		       void *arg)
{
	sqlite3_stmt *st;
	if (!plain(item, DB_DDM_ITEM_MAX) || (path && !path_ok(path)))
		return AP_EINVAL;
	int rc = db_stmt_scoped(db, only ? ITEM_COUNTS_SQL(SOME) : ITEM_COUNTS_SQL(ALL), only,
				n_only, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 2, item);
	db_bind_text(st, 3, path);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0),
		       (enum db_ddm_reporting)sqlite3_column_int(st, 1),
		       (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3), arg))
			break;
	return db_rows_done(db, st, rc);
}

int db_ddm_decl_counts(struct db *db, const char *identifier, const char *const *only,
		       size_t n_only,
		       int (*fn)(const char *school, enum db_ddm_reporting reporting,
				 const char *valid, int active, const char *reasons, int64_t count,
				 void *arg),
		       void *arg)
{
	sqlite3_stmt *st;
	if (!plain(identifier, DB_DDM_IDENTIFIER_MAX))
		return AP_EINVAL;
	int rc = db_stmt_scoped(db, only ? DECL_COUNTS_SQL(SOME) : DECL_COUNTS_SQL(ALL), only,
				n_only, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 2, identifier);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0),
		       (enum db_ddm_reporting)sqlite3_column_int(st, 1),
		       (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
		       (const char *)sqlite3_column_text(st, 4), sqlite3_column_int64(st, 5), arg))
			break;
	return db_rows_done(db, st, rc);
}
