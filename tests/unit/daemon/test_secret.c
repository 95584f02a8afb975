/* Unit tests for daemon/core/secret.c: commands' secrets sealed apart and put
 * back, and the start-up step over a database upgraded from version 7
 * (blobs sealed before the version byte, commands with secrets in clear). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "ap_cmd.h"
#include "ap_err.h"
#include "db_command.h"
#include "db_mdm.h"
#include "keystore.h"
#include "secret.h"
#include "store.h"
#include "testutil.h"
#include "unit.h"

#define TOKEN	"0123456789abcdef0123456789ABCDEF" /* 32 bytes */
#define TOKEN64 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY="
#define BYPASS	"K7Q2M-XR4TP-9WZ3D-LF6HN-BC8VJ"
#define ENROL	"ZZENR-OLCOD-EINCL-EARXX" /* an enrolment code in an RTS profile */
#define LAT	"43.29651234"

struct fixture {
	char dir[4096], path[4200];
	struct keystore *ks;
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	const char *names[] = {"localhost"};
	unit_tmpdir(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/ardoise.db", f->dir);
	if (keystore_create(f->dir, names, 1, err, sizeof(err)) < 0 ||
	    keystore_open(f->dir, NULL, &f->ks, err, sizeof(err)) < 0) {
		fprintf(stderr, "keystore: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	keystore_free(f->ks);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	char *err = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static void put_blob(const char *path, const char *sql, const void *blob, size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void put_legacy(struct fixture *f, const char *sql, const char *aad, const char *plain)
{
	unsigned char *old = NULL;
	size_t n = 0;
	assert_int_equal(tu_legacy_seal(f->dir, aad, plain, strlen(plain), &old, &n), 0);
	put_blob(f->path, sql, old, n);
	free(old);
}

static char *built(enum ap_cmd_type t, const char *uuid, plist_t params, size_t *len)
{
	char *xml = NULL;
	assert_int_equal(ap_cmd_build(t, uuid, params, &xml, len, NULL, 0), 0);
	plist_free(params);
	return xml;
}

/* What version 7 held for one tablet. */
static void legacy_rows(struct fixture *f)
{
	plist_t p = NULL;
	size_t n = 0;
	struct db *db = NULL;
	assert_int_equal(db_open_raw(f->path, &db), 0);
	assert_int_equal(db_migrate(db, 7), 0);
	db_close(db);
	exec_sql(
	    f->path,
	    "INSERT INTO device(id, serial, udid, created_at, updated_at)"
	    " VALUES (1, 'DMP1', 'udid-1', 1, 1);"
	    "INSERT INTO locate_request(id, device_id, authority_ref, reason, requested_by,"
	    " requested_at) VALUES (1, 1, 'PV-1', 'vol', 'admin', 1);"
	    "INSERT INTO command(uuid, device_id, type, status, payload, created_at, expires_at,"
	    " result) VALUES ('C-BYPASS', 1, 'ActivationLockBypassCode', 'acknowledged',"
	    " '<plist/>', 1, 9, '<plist version=\"1.0\"><dict><key>Status</key>"
	    "<string>Acknowledged</string><key>ActivationLockBypassCode</key><string>" BYPASS
	    "</string></dict></plist>'),"
	    " ('C-LOC', 1, 'DeviceLocation', 'acknowledged', '<plist/>', 1, 9,"
	    " '<plist version=\"1.0\"><dict><key>Status</key><string>Acknowledged</string>"
	    "<key>Latitude</key><real>" LAT "</real></dict></plist>');");
	put_legacy(f, "UPDATE device SET unlock_token = ? WHERE id = 1", "udid-1", TOKEN);
	put_legacy(f, "UPDATE device SET bypass_code = ? WHERE id = 1", "udid-1", BYPASS);
	put_legacy(f, "INSERT INTO locate_fix(request_id, taken_at, sealed) VALUES (1, 1, ?)",
		   "locate:1", "{\"latitude\":" LAT "}");
	/* a pending ClearPasscode and a finished Return-to-Service erase, in clear */
	assert_int_equal(ap_cmd_params_clear_passcode((const unsigned char *)TOKEN, 32, &p), 0);
	char *xml = built(AP_CMD_CLEAR_PASSCODE, "C-CLEAR", p, &n);
	put_blob(f->path,
		 "INSERT INTO command(uuid, device_id, type, status, payload, created_at,"
		 " expires_at) VALUES ('C-CLEAR', 1, 'ClearPasscode', 'queued', ?, 1, 4000000000)",
		 xml, n);
	free(xml);
	assert_int_equal(ap_cmd_params_erase(1, "<profile>" ENROL "</profile>", 33, &p), 0);
	xml = built(AP_CMD_ERASE_DEVICE, "C-ERASE", p, &n);
	put_blob(f->path,
		 "INSERT INTO command(uuid, device_id, type, status, payload, created_at,"
		 " expires_at, done_at) VALUES ('C-ERASE', 1, 'EraseDevice', 'acknowledged', ?,"
		 " 1, 9, 2)",
		 xml, n);
	free(xml);
}

static void assert_opens(struct fixture *f, int bypass, enum keystore_purpose p, const char *want)
{
	unsigned char *sealed = NULL, *plain = NULL;
	size_t n = 0, plen = 0;
	assert_int_equal(db_mdm_secret(f->db, 1, bypass, &sealed, &n), 0);
	assert_int_equal(keystore_unseal(f->ks, p, "udid-1", sealed, n, &plain, &plen), 0);
	assert_int_equal(plen, strlen(want));
	assert_memory_equal(plain, want, plen);
	free(plain);
	/* and for no other purpose */
	enum keystore_purpose other =
	    p == KEYSTORE_UNLOCK_TOKEN ? KEYSTORE_BYPASS_CODE : KEYSTORE_UNLOCK_TOKEN;
	assert_int_equal(keystore_unseal(f->ks, other, "udid-1", sealed, n, &plain, &plen),
			 AP_ECRYPTO);
	free(sealed);
}

static char *part(struct fixture *f, const char *uuid, enum db_cmd_part which, size_t *n)
{
	char *p = NULL;
	assert_int_equal(db_cmd_blob(f->db, uuid, which, &p, n), 0);
	return p;
}

static int64_t legacy_left(struct fixture *f)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM seal_legacy", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void assert_not_in_file(const char *path, const char *what)
{
	size_t n = 0;
	char *data = tu_read_file(path, &n);
	assert_non_null(data);
	if (memmem(data, n, what, strlen(what)))
		fail_msg("%s still holds %s", path, what);
	free(data);
}

static void test_upgrade_reseals_and_redacts(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	legacy_rows(f);
	assert_int_equal(db_open(f->path, &f->db), 0); /* migration 8 lists the rows */
	assert_int_equal(legacy_left(f), 7);	       /* 3 sealed, 4 commands */
	assert_int_equal(secret_upgrade(f->db, f->ks), 0);
	assert_int_equal(legacy_left(f), 0);

	assert_opens(f, 0, KEYSTORE_UNLOCK_TOKEN, TOKEN);
	assert_opens(f, 1, KEYSTORE_BYPASS_CODE, BYPASS);
	/* the pending ClearPasscode: stored without its token, sealed apart */
	char *payload = part(f, "C-CLEAR", DB_CMD_PAYLOAD, &n);
	assert_non_null(strstr(payload, AP_CMD_SEALED));
	assert_null(strstr(payload, TOKEN64));
	char *sealed = part(f, "C-CLEAR", DB_CMD_SEALED, &n);
	assert_non_null(sealed);
	size_t plen = strlen(payload);
	assert_int_equal(
	    secret_join(f->ks, 1, "C-CLEAR", (unsigned char *)sealed, n, &payload, &plen), 0);
	assert_non_null(strstr(payload, TOKEN64)); /* what the tablet gets */
	assert_int_equal(
	    secret_join(f->ks, 2, "C-CLEAR", (unsigned char *)sealed, n, &payload, &plen),
	    AP_ECRYPTO); /* not another device's */
	free(payload);
	free(sealed);
	/* the finished erase: its enrolment profile gone, nothing sealed kept */
	payload = part(f, "C-ERASE", DB_CMD_PAYLOAD, &n);
	assert_non_null(strstr(payload, "MDMProfileData"));
	assert_non_null(strstr(payload, AP_CMD_SEALED));
	free(payload);
	assert_null(part(f, "C-ERASE", DB_CMD_SEALED, &n));
	/* results redacted */
	char *result = part(f, "C-BYPASS", DB_CMD_RESULT, &n);
	assert_null(strstr(result, BYPASS));
	assert_non_null(strstr(result, "(not stored)"));
	free(result);
	result = part(f, "C-LOC", DB_CMD_RESULT, &n);
	assert_null(strstr(result, "43.2965"));
	free(result);
	/* a second start has nothing to do */
	assert_int_equal(secret_upgrade(f->db, f->ks), 0);
	assert_opens(f, 0, KEYSTORE_UNLOCK_TOKEN, TOKEN);
	/* and the file keeps nothing of what was overwritten */
	db_close(f->db);
	f->db = NULL;
	assert_not_in_file(f->path, BYPASS);
	assert_not_in_file(f->path, TOKEN64);
	assert_not_in_file(f->path, LAT);
}

/* A legacy blob that does not open (another key, tampered) is dropped,
 * not carried over. */
static void test_upgrade_drops_what_does_not_open(void **state)
{
	struct fixture *f = *state;
	unsigned char *sealed = NULL;
	size_t n = 0;
	legacy_rows(f);
	put_legacy(f, "UPDATE device SET bypass_code = ? WHERE id = 1", "udid-2", BYPASS);
	assert_int_equal(db_open(f->path, &f->db), 0);
	assert_int_equal(secret_upgrade(f->db, f->ks), 0);
	assert_int_equal(db_mdm_secret(f->db, 1, 1, &sealed, &n), AP_ENOTFOUND);
	assert_opens(f, 0, KEYSTORE_UNLOCK_TOKEN, TOKEN);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_upgrade_reseals_and_redacts),
	    T(test_upgrade_drops_what_does_not_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
