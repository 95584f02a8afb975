/* db_blob.c - content-addressed payloads shared by many commands. */
#include "db_int.h"
#include "db_command.h"
#include "ap_err.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_blob_put(struct db *db, const void *data, size_t len, char ret_hash[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	char hash[65];
	sqlite3_stmt *st;
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1)
		return AP_ECRYPTO;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	int rc =
	    db_stmt(db, "INSERT OR IGNORE INTO blob(hash, data, created_at) VALUES (?,?,?)", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, db_now());
	rc = db_step_done(db, st, 0);
	if (rc == 0)
		memcpy(ret_hash, hash, sizeof(hash));
	return rc;
}

int db_blob_get(struct db *db, const char *hash, unsigned char **ret, size_t *ret_len)
{
	sqlite3_stmt *st;
	int rc = db_stmt(db, "SELECT data FROM blob WHERE hash = ?", &st);
	if (rc < 0)
		return rc;
	db_bind_text(st, 1, hash);
	if ((rc = db_step_row(db, st)) == 0 && (*ret = db_col_blob_dup(st, 0, ret_len)) == NULL)
		rc = AP_ENOMEM;
	db_done(st);
	return rc;
}
