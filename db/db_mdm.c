/* db_mdm.c - identity binding, check-in state, inventory, enrolment codes. */
#include "db_int.h"
#include "db_mdm.h"
#include "ap_err.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDM_COLS                                                                           \
	"SELECT id, coalesce(udid,''), coalesce(serial,''), coalesce(school,''), state,"   \
	" enrollment, coalesce(cert_fp,''), coalesce(topic,''), coalesce(push_magic,''),"  \
	" push_token, push_state, os_version, unlock_token IS NOT NULL,"                   \
	" coalesce(last_seen,0), coalesce(last_push,0), coalesce(supervised,-1), trust_id" \
	" FROM device "

static void fill(sqlite3_stmt *st, struct db_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, d->udid, sizeof(d->udid));
	db_col_copy(st, 2, d->serial, sizeof(d->serial));
	db_col_copy(st, 3, d->school, sizeof(d->school));
	if (db_device_state_from_name((const char *)sqlite3_column_text(st, 4), &d->state) < 0)
		d->state = DB_DEV_STOCK; /* the CHECK constraint makes this unreachable */
	db_col_copy(st, 5, d->enrollment, sizeof(d->enrollment));
	db_col_copy(st, 6, d->cert_fp, sizeof(d->cert_fp));
	db_col_copy(st, 7, d->topic, sizeof(d->topic));
	db_col_copy(st, 8, d->push_magic, sizeof(d->push_magic));
	size_t n = (size_t)sqlite3_column_bytes(st, 9);
	if (n <= sizeof(d->push_token) && sqlite3_column_type(st, 9) == SQLITE_BLOB) {
		memcpy(d->push_token, sqlite3_column_blob(st, 9), n);
		d->push_token_len = n;
	}
	db_col_copy(st, 10, d->push_state, sizeof(d->push_state));
	db_col_copy(st, 11, d->os_version, sizeof(d->os_version));
	d->has_unlock_token = sqlite3_column_int(st, 12);
	d->last_seen = sqlite3_column_int64(st, 13);
	d->last_push = sqlite3_column_int64(st, 14);
	d->supervised = sqlite3_column_int(st, 15);
	db_col_copy(st, 16, d->trust_id, sizeof(d->trust_id));
}

static int one(struct db *db, const char *sql, const char *key, int64_t id, struct db_device *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, sql, &st);
	if (rc < 0)
		return rc;
	if (key)
		db_bind_text(st, 1, key);
	else
		sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0)
		fill(st, ret);
	db_done(st);
	return rc;
}

int db_mdm_by_udid(struct db *db, const char *udid, struct db_device *ret)
{
	return one(db, MDM_COLS "WHERE udid = ?", udid, 0, ret);
}

int db_mdm_by_serial(struct db *db, const char *serial, struct db_device *ret)
{
	return one(db, MDM_COLS "WHERE serial = ?", serial, 0, ret);
}

int db_mdm_by_id(struct db *db, int64_t id, struct db_device *ret)
{
	return one(db, MDM_COLS "WHERE id = ?", NULL, id, ret);
}

static int bind_auth_update(struct db *db, int64_t id, const struct db_mdm_auth *a)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE device SET udid = ?1, serial = coalesce(?2, serial),"
			 " cert_fp = ?3, topic = ?4, os_version = coalesce(?5, os_version),"
			 " build_version = coalesce(?6, build_version),"
			 " product_name = coalesce(?7, product_name),"
			 " enrollment = 'pending', last_seen = ?8, updated_at = ?8, trust_id = ?10"
			 " WHERE id = ?9",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, a->udid);
	db_bind_text(st, 2, a->serial);
	db_bind_text(st, 3, a->cert_fp);
	db_bind_text(st, 4, a->topic);
	db_bind_text(st, 5, a->os_version);
	db_bind_text(st, 6, a->build_version);
	db_bind_text(st, 7, a->product_name);
	sqlite3_bind_int64(st, 8, db_now());
	sqlite3_bind_int64(st, 9, id);
	db_bind_text(st, 10, a->trust_id ? a->trust_id : "");
	return db_step_done(db, st, 0);
}

int db_mdm_set_trust(struct db *db, int64_t id, const char *trust_id)
{
	sqlite3_stmt *st;
	int rc = db_begin(db); /* the loops' write lock, also outside a transaction */
	if (rc < 0)
		return rc;
	if ((rc = db_stmt(db, "UPDATE device SET trust_id = ? WHERE id = ?", &st)) == 0) {
		db_bind_text(st, 1, trust_id);
		sqlite3_bind_int64(st, 2, id);
		rc = db_step_done(db, st, AP_ENOTFOUND);
	}
	return db_end(db, rc);
}

static void fill_identity(sqlite3_stmt *st, struct db_mdm_identity *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = sqlite3_column_int64(st, 0);
	db_col_copy(st, 1, ret->udid, sizeof(ret->udid));
	ret->issued = sqlite3_column_type(st, 2) != SQLITE_NULL;
	ret->ended = sqlite3_column_type(st, 3) != SQLITE_NULL;
	ret->bind_seq = sqlite3_column_int64(st, 4);
}

int db_mdm_identity_get(struct db *db, const char *fp, struct db_mdm_identity *ret)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT id, coalesce(udid,''), issued_at, ended_at, bind_seq"
			 " FROM device_identity WHERE fp = ?",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, fp);
	if ((rc = db_step_row(db, st)) == 0)
		fill_identity(st, ret);
	db_done(st);
	return rc;
}

static void code_hash(const char *code, char out[65]);

int db_mdm_identity_issued(struct db *db, const char *fp, const char *code, const char *scep_tx)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "INSERT INTO device_identity(fp, issued_at, code_hash, scep_tx)"
			 " VALUES (?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	code_hash(code ? code : "", hash);
	db_bind_text(st, 1, fp);
	sqlite3_bind_int64(st, 2, db_now());
	db_bind_text(st, 3, hash);
	db_bind_text(st, 4, scep_tx);
	return db_step_done(db, st, 0);
}

/* Binds fp to udid for ever (a certificate of another CA gets its row
 * now); bind_seq = the newest identity row at this moment. */
static int identity_bind(struct db *db, const char *fp, const char *udid)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "INSERT OR IGNORE INTO device_identity(fp) VALUES (?)", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, fp);
	if ((rc = db_step_done(db, st, 0)) < 0)
		return rc;
	rc = db_stmt(db,
		     "UPDATE device_identity SET udid = ?2, bound_at = ?3,"
		     " bind_seq = (SELECT max(id) FROM device_identity) WHERE fp = ?1",
		     &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, fp);
	db_bind_text(st, 2, udid);
	sqlite3_bind_int64(st, 3, db_now());
	return db_step_done(db, st, AP_ENOTFOUND);
}

/* Ends the certificate fp (refused from now on); none or already ended
 * is not an error. */
static int identity_end(struct db *db, const char *fp, const char *why)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE device_identity SET ended_at = ?, ended_why = ?"
			 " WHERE fp = ? AND ended_at IS NULL",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, why);
	db_bind_text(st, 3, fp);
	return db_step_done(db, st, 0);
}

/* The device an Authenticate is about: by UDID, else by serial (an
 * imported tablet not enrolled yet).  *ret_how a refusal when the serial
 * belongs to another UDID, or the UDID is recorded with another serial. */
static int auth_device(struct db *db, const struct db_mdm_auth *a, struct db_device *d,
		       enum db_mdm_bind *ret_how)
{
	int has_serial = a->serial && a->serial[0];
	int rc = db_mdm_by_udid(db, a->udid, d);
	if (rc == 0 && has_serial && d->serial[0] && strcmp(d->serial, a->serial) != 0)
		*ret_how = DB_MDM_BIND_SERIAL_DIFFERS;
	if (rc != AP_ENOTFOUND || !has_serial)
		return rc;
	rc = db_mdm_by_serial(db, a->serial, d);
	if (rc == 0 && d->udid[0] && strcmp(d->udid, a->udid) != 0)
		*ret_how = DB_MDM_BIND_SERIAL_TAKEN;
	return rc;
}

/* Whether the certificate n (row id; 0 when unknown) may bind to device
 * d found for the Authenticate. */
static int auth_decide(struct db *db, const struct db_device *d, const char *fp,
		       const struct db_mdm_identity *n, enum db_mdm_bind *ret_how)
{
	struct db_mdm_identity cur = {0};
	if (strcmp(d->cert_fp, fp) == 0) {
		*ret_how = DB_MDM_BIND_SAME;
		return 0;
	}
	/* no live binding: never bound, released, checked out or erased */
	int live = strcmp(d->enrollment, "pending") == 0 || strcmp(d->enrollment, "enrolled") == 0;
	if (d->cert_fp[0] == '\0' || !live) {
		*ret_how = DB_MDM_BIND_NEW;
		return 0;
	}
	int rc = db_mdm_identity_get(db, d->cert_fp, &cur);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	/* a tablet wiped without CheckOut comes back with a certificate that
	 * Ardoise's SCEP issued after the current binding */
	*ret_how =
	    n->issued && n->id > cur.bind_seq ? DB_MDM_BIND_REPLACED : DB_MDM_BIND_UDID_TAKEN;
	return 0;
}

static int insert_device(struct db *db, const char *udid, int64_t *ret_id)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db, "INSERT INTO device(udid, created_at, updated_at) VALUES (?, ?, ?)", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, udid);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_int64(st, 3, db_now());
	if ((rc = db_step_done(db, st, 0)) == 0)
		*ret_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

/* Writes the binding decided by db_mdm_authenticate(). */
static int auth_bind(struct db *db, const struct db_mdm_auth *a, struct db_device *d, int found,
		     struct db_mdm_bound *b)
{
	int rc = 0;
	if (!found)
		rc = insert_device(db, a->udid, &d->id);
	if (rc == 0 && b->how != DB_MDM_BIND_SAME && d->cert_fp[0])
		rc = identity_end(db, d->cert_fp, "replaced");
	if (rc == 0 && b->how != DB_MDM_BIND_SAME)
		rc = identity_bind(db, a->cert_fp, a->udid);
	if (rc == 0)
		rc = bind_auth_update(db, d->id, a);
	b->id = d->id;
	return rc;
}

/* What an Authenticate does (*ret_how); *ret_found = 1 when d is the
 * existing device it names. */
static int auth_outcome(struct db *db, const struct db_mdm_auth *a, struct db_device *d,
			int *ret_found, enum db_mdm_bind *ret_how)
{
	struct db_mdm_identity n = {0};
	int rc = db_mdm_identity_get(db, a->cert_fp, &n);
	if (rc < 0 && rc != AP_ENOTFOUND)
		return rc;
	*ret_how = DB_MDM_BIND_NEW;
	if (n.udid[0] && strcmp(n.udid, a->udid) != 0) {
		*ret_how = DB_MDM_BIND_CERT_ELSEWHERE; /* one certificate, one tablet */
		return 0;
	}
	if (n.ended) {
		*ret_how = DB_MDM_BIND_CERT_ENDED;
		return 0;
	}
	rc = auth_device(db, a, d, ret_how);
	if (rc == AP_ENOTFOUND)
		return 0; /* a new device */
	if (rc < 0 || *ret_how != DB_MDM_BIND_NEW)
		return rc;
	*ret_found = 1;
	return auth_decide(db, d, a->cert_fp, &n, ret_how);
}

int db_mdm_authenticate(struct db *db, const struct db_mdm_auth *a, struct db_mdm_bound *ret)
{
	struct db_device d;
	struct db_mdm_bound b = {0};
	int found = 0, rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = auth_outcome(db, a, &d, &found, &b.how)) < 0)
		goto out;
	if (!found)
		memset(&d, 0, sizeof(d));
	memcpy(b.old_fp, d.cert_fp, sizeof(b.old_fp));
	b.id = d.id;
	if (b.how < DB_MDM_BIND_REFUSED)
		rc = auth_bind(db, a, &d, found, &b);
out:
	rc = db_end(db, rc);
	if (rc == 0)
		*ret = b;
	return rc;
}

int db_mdm_release(struct db *db, int64_t id)
{
	struct db_device d;
	int rc = db_mdm_by_id(db, id, &d);
	if (rc == 0 && d.cert_fp[0] == '\0')
		rc = AP_ECONFLICT;
	if (rc < 0 || (rc = identity_end(db, d.cert_fp, "released")) < 0 ||
	    (rc = db_mdm_unenroll(db, id)) < 0)
		return rc;
	return db_run_int64(db, "UPDATE device SET cert_fp = NULL WHERE id = ?", id, AP_ENOTFOUND);
}

int db_mdm_token_update(struct db *db, int64_t id, const unsigned char *token, size_t token_len,
			const char *push_magic, const char *topic,
			const unsigned char *sealed_unlock, size_t sealed_len, int awaiting_config,
			int *ret_first)
{
	struct db_device d;
	sqlite3_stmt *st;
	int rc = db_mdm_by_id(db, id, &d);
	if (rc < 0)
		return rc;
	rc =
	    db_stmt(db,
		    "UPDATE device SET push_token = ?1, push_magic = ?2, topic = ?3,"
		    " unlock_token = coalesce(?4, unlock_token), awaiting_config = ?5,"
		    " push_state = '', enrollment = 'enrolled',"
		    " enrolled_at = CASE WHEN enrollment = 'enrolled' THEN enrolled_at ELSE ?6 END,"
		    " last_seen = ?6, updated_at = ?6 WHERE id = ?7",
		    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, token, (int)token_len, SQLITE_STATIC);
	db_bind_text(st, 2, push_magic);
	db_bind_text(st, 3, topic);
	if (sealed_unlock)
		sqlite3_bind_blob(st, 4, sealed_unlock, (int)sealed_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int(st, 5, awaiting_config);
	sqlite3_bind_int64(st, 6, db_now());
	sqlite3_bind_int64(st, 7, id);
	rc = db_step_done(db, st, 0);
	if (rc == 0 && ret_first)
		*ret_first = strcmp(d.enrollment, "enrolled") != 0;
	return rc;
}

int db_mdm_unenroll(struct db *db, int64_t id)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE device SET enrollment = 'unenrolled', push_token = NULL,"
			 " push_magic = NULL, unlock_token = NULL, updated_at = ? WHERE id = ?",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

/* Reads the first column of every row as an id (at most limit), then calls
 * fn on each once the statement is reset. */
static int ids_then_call(struct db *db, sqlite3_stmt *st, int64_t limit,
			 int (*fn)(int64_t id, void *arg), void *arg)
{
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while (n < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			int64_t *p = realloc(ids, ncap * sizeof(*ids));
			if (p == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			ids = p;
			cap = ncap;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	rc = n == (size_t)limit || rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_rc(db, rc);
	db_done(st);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (fn(ids[i], arg))
			break;
	free(ids);
	return rc;
}

int db_mdm_each_enrolled(struct db *db, const char *school, int (*fn)(int64_t device_id, void *arg),
			 void *arg)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "SELECT id FROM device WHERE enrollment = 'enrolled'"
			 " AND (?1 IS NULL OR school = ?1) ORDER BY id",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, school);
	/* ids first, so fn may write to the same tables */
	return ids_then_call(db, st, INT64_MAX, fn, arg);
}

int db_mdm_seen(struct db *db, int64_t id)
{
	sqlite3_stmt *st;
	/* a session's second request in the same second writes nothing (the
	 * row and the device_seen index entry would be rewritten as is) */
	int rc = db_stmt(
	    db, "UPDATE device SET last_seen = ?1 WHERE id = ?2 AND last_seen IS NOT ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

int db_mdm_secret(struct db *db, int64_t id, int bypass, unsigned char **ret, size_t *ret_len)
{
	sqlite3_stmt *st;
	int rc = bypass ? db_stmt(db, "SELECT bypass_code FROM device WHERE id = ?", &st)
			: db_stmt(db, "SELECT unlock_token FROM device WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
		*ret = db_col_blob_dup(st, 0, ret_len);
		rc = *ret != NULL ? 0 : AP_ENOMEM;
	} else {
		rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? AP_ENOTFOUND : db_rc(db, rc);
	}
	db_done(st);
	return rc;
}

int db_mdm_set_bypass(struct db *db, int64_t id, const unsigned char *sealed, size_t len)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "UPDATE device SET bypass_code = ? WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, 1, sealed, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

int db_mdm_set_push_state(struct db *db, int64_t id, const char *state)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "UPDATE device SET push_state = ? WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, state ? state : "");
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

static void bind_real(sqlite3_stmt *st, int idx, int has, double v)
{
	if (has)
		sqlite3_bind_double(st, idx, v);
	else
		sqlite3_bind_null(st, idx);
}

int db_mdm_set_device_info(struct db *db, int64_t id, const struct ap_device_info *di)
{
	sqlite3_stmt *st;
	int rc =
	    db_stmt(db,
		    "UPDATE device SET serial = coalesce(serial, ?1),"
		    " device_name = coalesce(?2, device_name), model = coalesce(?3, model),"
		    " product_name = coalesce(?4, product_name),"
		    " os_version = coalesce(?5, os_version),"
		    " build_version = coalesce(?6, build_version),"
		    " wifi_mac = coalesce(?7, wifi_mac), capacity_gb = coalesce(?8, capacity_gb),"
		    " available_gb = coalesce(?9, available_gb), battery = coalesce(?10, battery),"
		    " supervised = coalesce(?11, supervised), lost_mode = coalesce(?12, lost_mode),"
		    " inventory_at = ?13, updated_at = ?13 WHERE id = ?14",
		    &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, di->serial);
	db_bind_text(st, 2, di->device_name);
	db_bind_text(st, 3, di->model_name ? di->model_name : di->model);
	db_bind_text(st, 4, di->product_name);
	db_bind_text(st, 5, di->os_version);
	db_bind_text(st, 6, di->build_version);
	db_bind_text(st, 7, di->wifi_mac);
	bind_real(st, 8, di->has_capacity, di->capacity_gb);
	bind_real(st, 9, di->has_available, di->available_gb);
	bind_real(st, 10, di->has_battery, di->battery_level);
	if (di->has_supervised)
		sqlite3_bind_int(st, 11, di->supervised);
	if (di->has_lost_mode)
		sqlite3_bind_int(st, 12, di->lost_mode);
	sqlite3_bind_int64(st, 13, db_now());
	sqlite3_bind_int64(st, 14, id);
	return db_step_done(db, st, 0);
}

int db_mdm_set_security(struct db *db, int64_t id, const struct ap_security_info *si)
{
	sqlite3_stmt *st;
	if (!si->has_passcode_present)
		return 0;
	int rc = db_stmt(db, "UPDATE device SET passcode_present = ? WHERE id = ?", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st, 1, si->passcode_present);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st, 0);
}

/* Replaces the rows of a per-device table inside one transaction. */
static int replace_rows(struct db *db, int64_t id, const char *del_sql, const char *ins_sql,
			size_t n, void (*bind)(sqlite3_stmt *st, size_t i, const void *items),
			const void *items)
{
	sqlite3_stmt *st;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_stmt(db, del_sql, &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_done(db, st, 0)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = db_stmt(db, ins_sql, &st)) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		bind(st, i, items);
		rc = db_step_done(db, st, 0);
		if (rc == AP_EEXIST) /* duplicate identifier in one report: keep the first */
			rc = 0;
	}
out:
	return db_end(db, rc);
}

/* Binds ?2.. to the n texts of a reported item, "" for one it left out. */
static void bind_texts(sqlite3_stmt *st, const char *const *cols, int n)
{
	for (int k = 0; k < n; k++)
		db_bind_text(st, k + 2, cols[k] ? cols[k] : "");
}

static void bind_app(sqlite3_stmt *st, size_t i, const void *items)
{
	const struct ap_app *a = (const struct ap_app *)items + i;
	const char *cols[] = {a->identifier, a->name, a->version, a->short_version};
	bind_texts(st, cols, 4);
}

int db_mdm_set_apps(struct db *db, int64_t id, const struct ap_app *apps, size_t n)
{
	return replace_rows(db, id, "DELETE FROM device_app WHERE device_id = ?",
			    "INSERT INTO device_app(device_id, identifier, name, version,"
			    " short_version) VALUES (?,?,?,?,?)",
			    n, bind_app, apps);
}

static void bind_profile(sqlite3_stmt *st, size_t i, const void *items)
{
	const struct ap_profile_info *p = (const struct ap_profile_info *)items + i;
	const char *cols[] = {p->identifier, p->uuid, p->display_name};
	bind_texts(st, cols, 3);
}

int db_mdm_set_profiles(struct db *db, int64_t id, const struct ap_profile_info *p, size_t n)
{
	return replace_rows(db, id, "DELETE FROM device_profile WHERE device_id = ?",
			    "INSERT INTO device_profile(device_id, identifier, uuid, display_name)"
			    " VALUES (?,?,?,?)",
			    n, bind_profile, p);
}

static void code_hash(const char *code, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(code, strlen(code), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The statement sql about a code a device or user gave, its code_hash()
 * in hash: AP_EAUTH when the code is missing or longer than any code
 * Ardoise makes. */
static int code_stmt(struct db *db, const char *code, const char *sql, char hash[65],
		     sqlite3_stmt **ret)
{
	if (code == NULL || strlen(code) > 64)
		return AP_EAUTH;
	code_hash(code, hash);
	return db_stmt(db, sql, ret);
}

static int code_new(struct db *db, const char *school, const char *serial, const char *created_by,
		    int64_t ttl_seconds, int64_t max_uses, char ret_code[33])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char raw[20];
	char code[33], hash[65];
	sqlite3_stmt *st;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return AP_ECRYPTO;
	/* 20 characters of 5 bits: 100 bits, grouped XXXXX-XXXXX-XXXXX-XXXXX */
	size_t o = 0;
	for (size_t i = 0; i < 20; i++) {
		if (i && i % 5 == 0)
			code[o++] = '-';
		code[o++] = alphabet[raw[i] & 31];
	}
	code[o] = '\0';
	code_hash(code, hash);
	if (max_uses < 1 || max_uses > 100000)
		return AP_EINVAL;
	int rc = db_stmt(db,
			 "INSERT INTO enroll_code(code_hash, school, created_by, created_at,"
			 " expires_at, max_uses, serial) VALUES (?,?,?,?,?,?,?)",
			 &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	db_bind_text(st, 2, school && school[0] ? school : NULL);
	db_bind_text(st, 3, created_by);
	sqlite3_bind_int64(st, 4, db_now());
	sqlite3_bind_int64(st, 5, db_now() + ttl_seconds);
	sqlite3_bind_int64(st, 6, max_uses);
	db_bind_text(st, 7, serial);
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		memcpy(ret_code, code, o + 1);
	return rc;
}

int db_enroll_code_new(struct db *db, const char *school, const char *created_by,
		       int64_t ttl_seconds, int64_t max_uses, char ret_code[33])
{
	return code_new(db, school, NULL, created_by, ttl_seconds, max_uses, ret_code);
}

int db_enroll_code_for_serial(struct db *db, const char *school, const char *serial,
			      const char *created_by, int64_t ttl_seconds, char ret_code[33])
{
	if (serial == NULL || serial[0] == '\0')
		return AP_EINVAL;
	return code_new(db, school, serial, created_by, ttl_seconds, 1, ret_code);
}

int db_enroll_code_check(struct db *db, const char *code)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc = code_stmt(db, code,
			   "SELECT 1 FROM enroll_code WHERE code_hash = ? AND uses < max_uses"
			   " AND expires_at > ?",
			   hash, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	sqlite3_bind_int64(st, 2, db_now());
	rc = db_step_row(db, st);
	db_done(st);
	return rc == AP_ENOTFOUND ? AP_EAUTH : rc;
}

int db_enroll_code_use(struct db *db, const char *code, const char *used_by)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc =
	    code_stmt(db, code,
		      "UPDATE enroll_code SET uses = uses + (serial IS NULL), used_at = ?1,"
		      " used_by = ?2 WHERE code_hash = ?3 AND uses < max_uses AND expires_at > ?1",
		      hash, &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, used_by);
	db_bind_text(st, 3, hash);
	return db_step_done(db, st, AP_EAUTH);
}

int db_enroll_code_cert(struct db *db, const char *code, const char *cert_fp)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc = code_stmt(db, code,
			   "INSERT OR REPLACE INTO enroll_code_cert(cert_fp, code_hash, serial,"
			   " issued_at) SELECT ?1, code_hash, serial, ?2 FROM enroll_code"
			   " WHERE code_hash = ?3 AND serial IS NOT NULL",
			   hash, &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, cert_fp);
	sqlite3_bind_int64(st, 2, db_now());
	db_bind_text(st, 3, hash);
	return db_step_done(db, st, 0);
}

int db_enroll_cert_serial(struct db *db, const char *cert_fp, char ret_serial[65])
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT serial FROM enroll_code_cert WHERE cert_fp = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, cert_fp);
	if ((rc = db_step_row(db, st)) == 0)
		db_col_copy(st, 0, ret_serial, 65);
	db_done(st);
	return rc;
}

int db_enroll_cert_used(struct db *db, const char *cert_fp)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE enroll_code SET uses = max_uses, used_at = ?1 WHERE code_hash ="
			 " (SELECT code_hash FROM enroll_code_cert WHERE cert_fp = ?2)",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, cert_fp);
	return db_step_done(db, st, 0);
}

int db_mdm_push_result(struct db *db, int64_t id, int64_t at, const unsigned char *token,
		       size_t token_len, const char *state)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db,
			 "UPDATE device SET last_push = ?1,"
			 " push_state = CASE WHEN ?2 IS NOT NULL AND push_token = ?3"
			 " THEN ?2 ELSE push_state END WHERE id = ?4",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, at);
	db_bind_text(st, 2, state);
	if (token && token_len)
		sqlite3_bind_blob(st, 3, token, (int)token_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	return db_step_done(db, st, 0);
}

int db_mdm_push_due(struct db *db, const struct db_repush *p, int64_t limit,
		    int (*fn)(int64_t device_id, void *arg), void *arg)
{
	sqlite3_stmt *st;
	if (limit <= 0)
		return 0;
	int rc = db_stmt(
	    db,
	    "WITH p AS (SELECT device_id, min(created_at) AS oldest, max(created_at) AS newest"
	    "  FROM command WHERE status IN ('queued','sent','notnow') AND expires_at > ?1"
	    "  GROUP BY device_id)"
	    " SELECT d.id FROM p JOIN device d ON d.id = p.device_id"
	    " WHERE d.enrollment = 'enrolled' AND d.push_token IS NOT NULL AND d.push_state = ''"
	    " AND ((coalesce(d.last_push, 0) < p.newest AND p.newest <= ?1 - ?2)"
	    "  OR (coalesce(d.last_seen, 0) < d.last_push AND ?1 >= d.last_push +"
	    "      min(?4, max(?3, d.last_push - max(coalesce(d.last_seen, 0), p.oldest))))"
	    "  OR (coalesce(d.last_seen, 0) >= coalesce(d.last_push, 0)"
	    "      AND d.last_seen <= ?1 - ?2 AND EXISTS ("
	    "      SELECT 1 FROM command c WHERE c.device_id = d.id AND c.status = 'queued'"
	    "      AND c.expires_at > ?1 AND c.created_at < d.last_seen)))"
	    " ORDER BY d.id LIMIT ?5",
	    &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, p->now);
	sqlite3_bind_int64(st, 2, p->grace_s);
	sqlite3_bind_int64(st, 3, p->min_s);
	sqlite3_bind_int64(st, 4, p->max_s);
	sqlite3_bind_int64(st, 5, limit);
	return ids_then_call(db, st, limit, fn, arg);
}

int db_mdm_push_invalid(struct db *db, int64_t limit,
			int (*fn)(const char *serial, const char *state, int64_t last_push,
				  void *arg),
			void *arg, int64_t *ret_count)
{
	sqlite3_stmt *st;
	int64_t count = 0;
	int rc = db_stmt(db, "SELECT count(*) FROM device WHERE push_state LIKE 'invalid%'", &st);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW ? 0 : db_rc(db, rc);
	db_done(st);
	if (rc < 0 || limit <= 0 || fn == NULL)
		goto out;
	rc = db_stmt(db,
		     "SELECT coalesce(serial, udid, ''), push_state, coalesce(last_push, 0)"
		     " FROM device WHERE push_state LIKE 'invalid%' ORDER BY serial LIMIT ?",
		     &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2), arg))
			break;
	rc = db_rows_done(db, st, rc);
out:
	if (rc == 0)
		*ret_count = count;
	return rc;
}
