/*
 * policy.h - storing policy profiles: the steps the API and
 * `ardoised --init` share (validate with policies/, sign with the server
 * identity, keep the signed bytes once as a blob, record the profile),
 * and loading the shipped baseline.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

struct db;
struct keystore;
struct db_profile;

#define POLICY_NAME_MAX 64

/* 1 if name is 1-POLICY_NAME_MAX characters of A-Z a-z 0-9 . _ - */
int policy_name_ok(const char *name);

/*
 * Validates the .mobileconfig bytes (pol_profile_parse), signs the bytes
 * to send with the server identity (keystore_sign), stores them
 * (db_blob_put) and adds profile `name`, or replaces its content when
 * update is 1.  In one transaction (nested in the caller's, if any).
 * On success *ret (may be NULL) is the stored row.  Errors: those of
 * pol_profile_parse() with a reason in detail; AP_EEXIST (name taken),
 * AP_ECONFLICT (identifier of another profile), AP_ENOTFOUND (update of
 * an unknown name), storage and crypto errors.
 */
int policy_profile_store(struct db *db, struct keystore *ks, const char *name, const void *data,
			 size_t len, const char *actor, int update, struct db_profile *ret,
			 char *detail, size_t detail_cap);

/* Adds every .mobileconfig file of dir (in name order; profile name = the file
 * name without .mobileconfig) and assigns it to the fleet, all in one
 * transaction.  *ret_n: profiles loaded.  err gets "file: reason". */
int policy_baseline_load(struct db *db, struct keystore *ks, const char *dir, const char *actor,
			 size_t *ret_n, char *err, size_t errcap);

#endif
