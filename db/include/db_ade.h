/*
 * db_ade.h - the Automated Device Enrolment server token (issue 16;
 * docs/apple-services.md §2.1): one row, replaced by each import.  The
 * consumer secret and the access secret are stored sealed
 * (keystore_seal(KEYSTORE_ADE_TOKEN)), never in clear: this module only
 * stores and returns the blobs.
 */
#ifndef DB_ADE_H
#define DB_ADE_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_ADE_FIELD_MAX 255

struct db_ade_token {
	char consumer_key[DB_ADE_FIELD_MAX + 1];
	char access_token[DB_ADE_FIELD_MAX + 1];
	unsigned char *consumer_secret; /* sealed, malloc'd (db_ade_token_clear) */
	size_t consumer_secret_len;
	unsigned char *access_secret; /* sealed, malloc'd */
	size_t access_secret_len;
	int64_t expiry;	     /* access_token_expiry, Unix seconds */
	int64_t imported_at; /* when it was imported */
	char imported_by[65];
};

/* Stores t (its blobs borrowed) in place of the token before.  AP_EDB. */
int db_ade_token_put(struct db *db, const struct db_ade_token *t);
/* The stored token into *ret (db_ade_token_clear); AP_ENOTFOUND when none. */
int db_ade_token_get(struct db *db, struct db_ade_token *ret);
/* Frees the blobs of t. */
void db_ade_token_clear(struct db_ade_token *t);

#endif
