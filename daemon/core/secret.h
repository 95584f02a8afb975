/*
 * secret.h - no secret in clear in the database.
 *
 * A command's secret parameters (ap_cmd.h: UnlockToken, the Return-to-
 * Service profile that holds a one-time enrolment code) are sealed apart
 * from the stored command (KEYSTORE_COMMAND, owner "<device id>/<uuid>")
 * and put back only in the answer that hands the command to its tablet.
 * Reports are stored redacted (ap_result.h: bypass code, location fix):
 * the secrets they carry are kept sealed in their own place by their
 * handlers.  At start, what was sealed in the format before version 1 is
 * re-sealed, and commands stored before with secrets in clear are split or
 * redacted (the rows migration 8 listed).
 */
#ifndef SECRET_H
#define SECRET_H

#include <plist/plist.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct keystore;

/* For the command xml (as ap_cmd_build() makes it) of type `type` queued
 * with uuid for device_id: *ret_public is what to store (malloc'd) and
 * *ret_sealed its sealed secrets (malloc'd), or both NULL when the command
 * holds no secret (store xml as it is). */
int secret_split(struct keystore *ks, int64_t device_id, const char *uuid, const char *type,
		 const char *xml, size_t len, char **ret_public, size_t *ret_plen,
		 unsigned char **ret_sealed, size_t *ret_slen);
/* The command to send: *payload (stored, from db_cmd_next) with the
 * secrets of sealed put back; replaces *payload and *len.  AP_ECRYPTO /
 * AP_EPARSE when sealed does not open as this command's secrets. */
int secret_join(struct keystore *ks, int64_t device_id, const char *uuid,
		const unsigned char *sealed, size_t slen, char **payload, size_t *len);
/* The report dict as XML to store: redacted when it carries a secret
 * (the dict itself is not modified); *ret malloc'd. */
int secret_result_xml(plist_t report, char **ret, size_t *ret_len);
/* A stored payload or result, as shown to staff: any secret value still
 * in it (rows from before migration 8) replaced; *ret malloc'd. */
int secret_masked(const char *xml, size_t len, int result, char **ret, size_t *ret_len);
/* The start-up step: re-seals and redacts the rows listed in seal_legacy.
 * A row that does not open is logged and its secret dropped. */
int secret_upgrade(struct db *db, struct keystore *ks);

#endif
