/*
 * db_seal.h - rows written before migration 8 whose secrets must be
 * re-sealed (format version 1, keystore.h) or taken out of clear: the list
 * seal_legacy that migration 8 made, worked through once at start
 * (daemon/core/secret.c).
 */
#ifndef DB_SEAL_H
#define DB_SEAL_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum db_seal_what {
	DB_SEAL_UNLOCK_TOKEN, /* device.unlock_token, sealed with the UDID */
	DB_SEAL_BYPASS_CODE,  /* device.bypass_code, sealed with the UDID */
	DB_SEAL_LOCATE_FIX,   /* locate_fix.sealed, sealed with "locate:<request id>" */
	DB_SEAL_COMMAND,      /* a command stored with its secrets in clear */
};

/* One listed row.  Strings and buffers are owned by the row
 * (db_seal_row_clear() frees them). */
struct db_seal_row {
	enum db_seal_what what;
	int64_t id;
	char owner[80];	    /* the legacy associated data; commands: "" */
	unsigned char *old; /* the sealed blob; commands: the payload */
	size_t old_len;
	/* commands only */
	int64_t device_id;
	char uuid[37];
	int pending;
	char *result; /* NULL when none */
	size_t result_len;
};

/* How many rows are listed.  Turns SQLite's secure_delete on for this
 * connection: what is overwritten or deleted from now on is zeroed. */
int db_seal_legacy_count(struct db *db, int64_t *ret_n);
/* The first listed row; AP_ENOTFOUND when none is left.  A listed row
 * whose record is gone is unlisted and skipped. */
int db_seal_legacy_first(struct db *db, struct db_seal_row *ret);
void db_seal_row_clear(struct db_seal_row *row);
/* Stores the re-sealed blob (NULL: the secret is dropped) and unlists the
 * row.  For a command: blob is the payload to store (NULL: unchanged),
 * result the result (NULL: unchanged), sealed its sealed secrets (may be
 * NULL). */
int db_seal_legacy_done(struct db *db, const struct db_seal_row *row, const void *blob, size_t len);
int db_seal_legacy_command(struct db *db, const struct db_seal_row *row, const char *payload,
			   size_t plen, const char *result, size_t rlen, const void *sealed,
			   size_t slen);
/* Rewrites the WAL into the database file and truncates it, so that no
 * old page keeps a secret that was overwritten. */
int db_seal_legacy_flush(struct db *db);

#endif
