/* backup_restore.c - ardoised --restore: a backup file checked against
 * the data directory's keys, then installed as its database. */
#include "ap_err.h"
#include "audit_head.h"
#include "backup.h"
#include "backup_cms.h"
#include "db_audit.h"
#include "keystore.h"
#include "store.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the restore needs in the data directory, and what must not be
 * there. */
static const char *const needed[] = {"ca.pem",	   "ca.key",	 "server.pem",
				     "server.key", "secret.key", "audit.key"};
static const char *const absent[] = {"ardoise.db", "ardoise.db-wal", "ardoise.db-shm",
				     "ardoise.db.restore"};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ardoised: restore: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Names every key file missing and every database file present. */
static int check_dir(const char *dir)
{
	char path[4200], missing[512] = "", present[512] = "";
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, needed[i]);
		if (access(path, F_OK) != 0)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? ", " : "", needed[i]);
	}
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, absent[i]);
		if (access(path, F_OK) == 0)
			snprintf(present + strlen(present), sizeof(present) - strlen(present),
				 "%s%s", present[0] ? ", " : "", absent[i]);
	}
	if (missing[0])
		return fail("%s lacks the key files %s: copy them back from the copy kept with "
			    "the backups first",
			    dir, missing);
	if (present[0])
		return fail("%s already holds %s: the restore goes into a data directory with "
			    "no database (move it away first)",
			    dir, present);
	return 0;
}

/* The keys match the data: the audit chain verifies with audit.key, and a
 * sealed value opens with secret.key. */
static int check_keys(struct keystore *ks, struct db *db, const char *dir)
{
	int64_t rows = 0, bad = 0;
	int what = 0;
	char owner[80];
	unsigned char *blob = NULL, *plain = NULL;
	size_t len = 0, plen = 0;
	db_audit_set_key(db, keystore_audit_key(ks), DB_AUDIT_KEY_LEN);
	int rc = db_audit_verify(db, &rows, &bad);
	if (rc < 0 || bad)
		return fail("the audit chain does not verify with %s/audit.key (row %lld): the key "
			    "files are not this backup's",
			    dir, (long long)bad);
	rc = db_backup_sealed_sample(db, &what, owner, &blob, &len);
	if (rc == AP_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = keystore_unseal(ks, what ? KEYSTORE_BYPASS_CODE : KEYSTORE_UNLOCK_TOKEN, owner,
				     blob, len, &plain, &plen);
	free(blob);
	if (plain) {
		OPENSSL_cleanse(plain, plen);
		free(plain);
	}
	if (rc < 0)
		return fail("a sealed secret of the backup does not open with %s/secret.key: the "
			    "key files are not this backup's",
			    dir);
	return 0;
}

/* Opens the decrypted copy and checks it against the keys. */
static int check_copy(const char *dir, const char *tmp, struct db_backup_info *info)
{
	char err[600];
	struct keystore *ks = NULL;
	struct db *db = NULL;
	int rc = db_backup_check(tmp, info, err, sizeof(err));
	if (rc < 0)
		return fail("%s", err);
	if (keystore_open(dir, NULL, &ks, err, sizeof(err)) < 0)
		return fail("%s", err);
	if ((rc = db_open_raw(tmp, &db)) < 0) {
		keystore_free(ks);
		return fail("%s: %s", tmp, ap_strerror(rc));
	}
	rc = check_keys(ks, db, dir);
	db_close(db);
	keystore_free(ks);
	return rc;
}

/* The restored chain's head as the saved one (the copy kept elsewhere is
 * ahead of it: the rows after the backup are not in it). */
static int write_head(const struct config *cfg, const char *dir, const char *db_path)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct keystore *ks = NULL;
	struct db *db = NULL;
	char err[600];
	int rc = srv ? 0 : AP_ENOMEM;
	if (rc == 0) {
		srv->cfg = *cfg;
		snprintf(srv->data_dir, sizeof(srv->data_dir), "%s", dir);
		rc = keystore_open(dir, NULL, &ks, err, sizeof(err));
	}
	if (rc == 0)
		rc = db_open_raw(db_path, &db);
	if (rc == 0) {
		db_audit_set_key(db, keystore_audit_key(ks), DB_AUDIT_KEY_LEN);
		rc = audit_head_save(srv, db);
	}
	db_close(db);
	keystore_free(ks);
	free(srv);
	return rc;
}

static void print_restored(const char *db_path, const struct db_backup_info *in)
{
	char when[32] = "-";
	time_t t = (time_t)in->audit_ts;
	struct tm tm;
	if (in->audit_ts && localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%d/%m/%Y %H:%M:%S %Z", &tm);
	printf("restored %s\n", db_path);
	printf("tablets: %lld\n", (long long)in->devices);
	printf("people: %lld\n", (long long)in->people);
	printf("audit rows: %lld\n", (long long)in->audit_rows);
	printf("snapshot: audit row %lld of %s\n", (long long)in->audit_last_id, when);
	printf("schema: %d\n", in->schema);
}

int backup_restore(const struct config *cfg, const char *dir, const char *file, const char *key,
		   const char *cert)
{
	char tmp[4200], db_path[4200], err[600];
	struct db_backup_info info;
	if (check_dir(dir) != 0)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/ardoise.db.restore", dir);
	snprintf(db_path, sizeof(db_path), "%s/ardoise.db", dir);
	if (backup_cms_decrypt(file, key, cert, tmp, err, sizeof(err)) < 0)
		return fail("%s", err);
	int rc = check_copy(dir, tmp, &info);
	if (rc == 0 && link(tmp, db_path) < 0) /* never over a database made meanwhile */
		rc = fail("%s: %s", db_path, strerror(errno));
	unlink(tmp);
	if (rc != 0)
		return 1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if ((rc = write_head(cfg, dir, db_path)) < 0)
		fprintf(stderr,
			"ardoised: restore: the audit head could not be saved (%s): the "
			"daemon saves it at its start\n",
			ap_strerror(rc));
	print_restored(db_path, &info);
	return 0;
}
