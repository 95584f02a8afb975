/* db_device.c - tablets: import, lists, moves, the state transition table. */
#include "db_int.h"
#include "db_device.h"
#include "db_scope.h"
#include "ap_err.h"

#include <string.h>

static const char *const state_names[DB_DEV_NSTATES] = {
    [DB_DEV_STOCK] = "stock",	  [DB_DEV_LOANED] = "loaned", [DB_DEV_RETURNING] = "returning",
    [DB_DEV_REPAIR] = "repair",	  [DB_DEV_LOST] = "lost",     [DB_DEV_STOLEN] = "stolen",
    [DB_DEV_RETIRED] = "retired",
};

/* Every state change a tablet may go through, and what causes it. */
static const struct {
	enum db_device_state from, to;
	const char *cause;
} transitions[] = {
    {DB_DEV_STOCK, DB_DEV_LOANED, "loan created"},
    {DB_DEV_LOANED, DB_DEV_RETURNING, "handed back, EraseDevice queued"},
    {DB_DEV_RETURNING, DB_DEV_STOCK, "EraseDevice acknowledged"},
    {DB_DEV_STOCK, DB_DEV_REPAIR, "damage or failure declared"},
    {DB_DEV_LOANED, DB_DEV_REPAIR, "damage or failure declared"},
    {DB_DEV_RETURNING, DB_DEV_REPAIR, "damage or failure declared"},
    {DB_DEV_STOCK, DB_DEV_LOST, "loss declared"},
    {DB_DEV_LOANED, DB_DEV_LOST, "loss declared"},
    {DB_DEV_RETURNING, DB_DEV_LOST, "loss declared"},
    {DB_DEV_STOCK, DB_DEV_STOLEN, "theft declared"},
    {DB_DEV_LOANED, DB_DEV_STOLEN, "theft declared"},
    {DB_DEV_RETURNING, DB_DEV_STOLEN, "theft declared"},
    /* incident closed: back where its loan (if any) left it */
    {DB_DEV_REPAIR, DB_DEV_STOCK, "repaired"},
    {DB_DEV_REPAIR, DB_DEV_LOANED, "repaired, loan still open"},
    {DB_DEV_REPAIR, DB_DEV_RETURNING, "repaired, erase still pending"},
    {DB_DEV_LOST, DB_DEV_STOCK, "found"},
    {DB_DEV_LOST, DB_DEV_LOANED, "found, loan still open"},
    {DB_DEV_LOST, DB_DEV_RETURNING, "found, erase still pending"},
    {DB_DEV_STOLEN, DB_DEV_STOCK, "found"},
    {DB_DEV_STOLEN, DB_DEV_LOANED, "found, loan still open"},
    {DB_DEV_STOLEN, DB_DEV_RETURNING, "found, erase still pending"},
    {DB_DEV_REPAIR, DB_DEV_RETIRED, "written off"},
    {DB_DEV_LOST, DB_DEV_RETIRED, "written off"},
    {DB_DEV_STOLEN, DB_DEV_RETIRED, "written off"},
    {DB_DEV_STOCK, DB_DEV_RETIRED, "retired"},
};

const char *db_device_state_name(enum db_device_state s)
{
	return (unsigned)s < DB_DEV_NSTATES ? state_names[s] : "?";
}

int db_device_state_from_name(const char *name, enum db_device_state *ret)
{
	for (int i = 0; i < DB_DEV_NSTATES; i++) {
		if (name && strcmp(name, state_names[i]) == 0) {
			*ret = (enum db_device_state)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

int db_device_can(enum db_device_state from, enum db_device_state to)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return 1;
	return 0;
}

int db_device_set_state(struct db *db, int64_t id, enum db_device_state from,
			enum db_device_state to)
{
	sqlite3_stmt *st;
	int rc;
	if (!db_device_can(from, to))
		return AP_ECONFLICT;
	rc = db_stmt(
	    db, "UPDATE device SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, state_names[from]);
	db_bind_text(st, 3, state_names[to]);
	sqlite3_bind_int64(st, 4, db_now());
	return db_step_done(db, st, AP_ECONFLICT);
}

/* Reads the number at *p and moves past it (0 when there is none). */
static unsigned long long ver_part(const char **p)
{
	unsigned long long n = 0;
	while (**p >= '0' && **p <= '9') {
		if (n < 1000000000ULL)
			n = n * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	while (**p && **p != '.')
		(*p)++; /* "4b2": ignore what follows the number */
	if (**p == '.')
		(*p)++;
	return n;
}

int db_device_vercmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long long x = ver_part(&a), y = ver_part(&b);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* What an import row may change of a device: its id (0 when the serial is
 * unknown), collège ("" when none), declared model and asset tag (the
 * model the tablet reports, device.model, is the inventory's). */
struct imported {
	int64_t id;
	char school[9];
	char model[DB_MODEL_MAX + 1];
	char asset_tag[DB_ASSET_TAG_MAX + 1];
};

static int by_serial(struct db *db, const char *serial, struct imported *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(
	    db, "SELECT id, school, model_declared, asset_tag FROM device WHERE serial = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, serial);
	memset(ret, 0, sizeof(*ret));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->id = sqlite3_column_int64(st, 0);
		db_col_copy(st, 1, ret->school, sizeof(ret->school));
		db_col_copy(st, 2, ret->model, sizeof(ret->model));
		db_col_copy(st, 3, ret->asset_tag, sizeof(ret->asset_tag));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_rc(db, rc);
	}
	db_done(st);
	return rc;
}

/* 1 when the row would leave the device as it is ("" keeps a field). */
static int same_import(const struct imported *cur, const char *model, const char *school,
		       const char *asset_tag)
{
	return strcmp(cur->school, school ? school : "") == 0 &&
	       (model == NULL || model[0] == '\0' || strcmp(cur->model, model) == 0) &&
	       (asset_tag == NULL || asset_tag[0] == '\0' ||
		strcmp(cur->asset_tag, asset_tag) == 0);
}

int db_device_import(struct db *db, const char *serial, const char *model, const char *school,
		     const char *asset_tag, int *ret_created)
{
	sqlite3_stmt *st;
	struct imported cur;
	int rc = by_serial(db, serial, &cur);
	int64_t id = cur.id;
	if (rc < 0)
		return rc;
	if (id && cur.school[0] && (school == NULL || strcmp(cur.school, school) != 0))
		return AP_ECONFLICT;
	if (id && same_import(&cur, model, school, asset_tag)) {
		*ret_created = DB_PUT_UNCHANGED;
		return 0;
	}
	if (id)
		rc = db_stmt(db,
			     "UPDATE device SET school = ?2,"
			     " model_declared = CASE WHEN ?3 = '' THEN model_declared ELSE ?3 END,"
			     " asset_tag = CASE WHEN ?4 = '' THEN asset_tag ELSE ?4 END,"
			     " updated_at = ?5 WHERE id = ?1",
			     &st);
	else
		rc = db_stmt(
		    db,
		    "INSERT INTO device(serial, school, model_declared, asset_tag, created_at,"
		    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
		    &st);
	if (rc < 0)
		return rc;
	if (id)
		sqlite3_bind_int64(st, 1, id);
	else
		db_bind_text(st, 1, serial);
	db_bind_text(st, 2, school);
	db_bind_text(st, 3, model ? model : "");
	db_bind_text(st, 4, asset_tag ? asset_tag : "");
	sqlite3_bind_int64(st, 5, db_now());
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		*ret_created = id == 0 ? DB_PUT_CREATED : DB_PUT_UPDATED;
	return rc;
}

#define DEVICE_COLS                                                                   \
	"SELECT d.id, d.serial, d.udid, d.school, d.state, d.model, d.asset_tag,"     \
	" d.os_version, d.product_name, d.device_name, d.enrollment, d.last_seen,"    \
	" d.created_at, p.ext_id, p.name, p.class, d.model_declared FROM device d"    \
	" LEFT JOIN loan l ON l.device_id = d.id AND l.state IN ('open','returning')" \
	" LEFT JOIN person p ON p.id = l.person_id "

static void row_to_device(sqlite3_stmt *st, struct db_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, d->serial, sizeof(d->serial));
	db_col_copy(st, 2, d->udid, sizeof(d->udid));
	db_col_copy(st, 3, d->school, sizeof(d->school));
	if (db_device_state_from_name((const char *)sqlite3_column_text(st, 4), &d->state) < 0)
		d->state = DB_DEV_STOCK; /* the CHECK constraint makes this unreachable */
	db_col_copy(st, 5, d->model, sizeof(d->model));
	db_col_copy(st, 6, d->asset_tag, sizeof(d->asset_tag));
	db_col_copy(st, 7, d->os_version, sizeof(d->os_version));
	db_col_copy(st, 8, d->product_name, sizeof(d->product_name));
	db_col_copy(st, 9, d->device_name, sizeof(d->device_name));
	db_col_copy(st, 10, d->enrollment, sizeof(d->enrollment));
	d->last_seen = sqlite3_column_int64(st, 11);
	d->created_at = sqlite3_column_int64(st, 12);
	db_col_copy(st, 13, d->holder, sizeof(d->holder));
	db_col_copy(st, 14, d->holder_name, sizeof(d->holder_name));
	db_col_copy(st, 15, d->holder_class, sizeof(d->holder_class));
	db_col_copy(st, 16, d->model_declared, sizeof(d->model_declared));
}

static int one_device(struct db *db, sqlite3_stmt *st, struct db_device *ret)
{
	int rc = db_step_row(db, st);
	if (rc == 0)
		row_to_device(st, ret);
	db_done(st);
	return rc;
}

int db_device_get(struct db *db, const char *serial_or_udid, struct db_device *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, DEVICE_COLS "WHERE d.serial = ?1 OR d.udid = ?1", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, serial_or_udid);
	return one_device(db, st, ret);
}

int db_device_by_tag(struct db *db, const char *tag, size_t max,
		     int (*fn)(const char *name, const char *school, void *arg), void *arg)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc = db_stmt(db,
			 "SELECT CASE WHEN serial != '' THEN serial ELSE udid END, school"
			 " FROM device WHERE asset_tag = ?1 COLLATE NOCASE AND ?1 != ''"
			 " ORDER BY id",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, tag);
	rc = SQLITE_DONE;
	while (n++ < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), arg))
			break;
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return db_rows_done(db, st, rc);
}

int db_device_get_id(struct db *db, int64_t id, struct db_device *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, DEVICE_COLS "WHERE d.id = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	return one_device(db, st, ret);
}

/* The tablets whose loan in progress is that of a person (of the
 * collèges of ?1 with PERSON_IN_SCOPE, else of any) matching `cond`.  The
 * people are read first (CROSS JOIN keeps that order): their collège and
 * class are indexed, and a text search reads them in order. */
#define HELD_BY(scope, cond)                                              \
	" d.id IN (SELECT hl.device_id FROM person hp CROSS JOIN loan hl" \
	" ON hl.person_id = hp.id AND hl.state IN ('open','returning') WHERE " scope cond ")"
#define PERSON_IN_SCOPE	  "hp.school IN (SELECT value FROM json_each(?1)) AND "
#define CLASS_IS	  "hp.class = ?5 COLLATE NOCASE"
#define NAME_HAS	  "ard_has(?6, hp.name, hp.ext_id)"
#define HELD_CLASS_ALL	  HELD_BY("", CLASS_IS)
#define HELD_CLASS_SCOPED HELD_BY(PERSON_IN_SCOPE, CLASS_IS)
#define HELD_NAME_ALL	  HELD_BY("", NAME_HAS)
#define HELD_NAME_SCOPED  HELD_BY(PERSON_IN_SCOPE, NAME_HAS)

/* The filters every list statement shares, on ?2..?6: state, not seen
 * since, page, class, text (folded by db_fold(), found by ard_has()). */
#define DEVICE_FILTERS(held_class, held_name)                                     \
	" (?2 IS NULL OR d.state = ?2)"                                           \
	" AND (?3 IS NULL OR d.last_seen IS NULL OR d.last_seen < ?3)"            \
	" AND (?5 IS NULL OR" held_class ")"                                      \
	" AND (?6 IS NULL OR ard_has(?6, d.serial, d.asset_tag) OR" held_name ")" \
	" AND d.id > ?4 ORDER BY d.id"
#define LIST_ALL_SQL DEVICE_COLS "WHERE" DEVICE_FILTERS(HELD_CLASS_ALL, HELD_NAME_ALL)
#define LIST_SCOPED_SQL                                                                       \
	DEVICE_COLS "WHERE d.school IN (SELECT value FROM json_each(?1)) AND" DEVICE_FILTERS( \
	    HELD_CLASS_SCOPED, HELD_NAME_SCOPED)

static int list_stmt(struct db *db, const struct db_device_filter *f, sqlite3_stmt **ret)
{
	char scope[DB_SCOPE_JSON_CAP], q[DB_DEVICE_Q_MAX + 1];
	sqlite3_stmt *st;
	int rc;
	const char *text = f->q && f->q[0] ? f->q : NULL; /* "" filters nothing */
	if (text && strlen(text) > DB_DEVICE_Q_MAX)
		return AP_EINVAL;
	if (text)
		db_fold(text, q, sizeof(q));
	if (f->only) {
		rc = db_scope_json(f->only, f->n_only, scope);
		if (rc < 0)
			return rc;
		rc = db_stmt(db, LIST_SCOPED_SQL, &st);
	} else {
		rc = db_stmt(db, LIST_ALL_SQL, &st);
	}
	if (rc < 0)
		return rc;
	if (f->only)
		db_bind_text(st, 1, scope);
	if (f->state >= 0)
		db_bind_text(st, 2, db_device_state_name((enum db_device_state)f->state));
	if (f->not_seen_since > 0)
		sqlite3_bind_int64(st, 3, f->not_seen_since);
	sqlite3_bind_int64(st, 4, f->after_id);
	db_bind_text(st, 5, f->class_name);
	db_bind_text(st, 6, text ? q : NULL);
	*ret = st;
	return 0;
}

int db_device_list(struct db *db, const struct db_device_filter *f,
		   int (*fn)(const struct db_device *d, void *arg), void *arg, int64_t *ret_next)
{
	sqlite3_stmt *st;
	struct db_device d;
	struct db_page pg = {.limit = f->limit};
	int rc = list_stmt(db, f, &st);
	if (rc < 0)
		return rc;
	/* the OS filter is applied here, so the page counts matches only */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_device(st, &d);
		if (f->os_below &&
		    (d.os_version[0] == '\0' || db_device_vercmp(d.os_version, f->os_below) >= 0))
			continue;
		if (!db_page_take(&pg, d.id) || fn(&d, arg))
			break;
	}
	return db_page_done(db, st, rc, &pg, ret_next);
}

int db_device_inventory(struct db *db, int64_t id, struct db_device_inventory *ret)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "SELECT coalesce(battery, -1), coalesce(capacity_gb, -1),"
		    " coalesce(available_gb, -1), coalesce(supervised, -1),"
		    " coalesce(lost_mode, -1), coalesce(passcode_present, -1), build_version,"
		    " coalesce(enrolled_at, 0), coalesce(inventory_at, 0) FROM device WHERE id = ?",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0) {
		ret->battery = sqlite3_column_double(st, 0);
		ret->capacity_gb = sqlite3_column_double(st, 1);
		ret->available_gb = sqlite3_column_double(st, 2);
		ret->supervised = sqlite3_column_int(st, 3);
		ret->lost_mode = sqlite3_column_int(st, 4);
		ret->passcode_present = sqlite3_column_int(st, 5);
		db_col_copy(st, 6, ret->build_version, sizeof(ret->build_version));
		ret->enrolled_at = sqlite3_column_int64(st, 7);
		ret->inventory_at = sqlite3_column_int64(st, 8);
	}
	db_done(st);
	return rc;
}

int db_device_move(struct db *db, int64_t id, const char *school)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "UPDATE device SET school = ?2, updated_at = ?3 WHERE id = ?1"
		    " AND state NOT IN ('loaned','returning','retired') AND NOT EXISTS"
		    " (SELECT 1 FROM loan WHERE device_id = ?1 AND state IN ('open','returning'))",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, school);
	sqlite3_bind_int64(st, 3, db_now());
	return db_step_done(db, st, AP_ECONFLICT);
}
