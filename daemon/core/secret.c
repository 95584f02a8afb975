/* secret.c - commands' secrets sealed apart, reports redacted, and the
 * re-sealing of the rows migration 8 listed. */
#include "secret.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "ap_plist.h"
#include "ap_result.h"
#include "db_seal.h"
#include "keystore.h"
#include "log.h"
#include "store.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPGRADE_BATCH 1000

static void command_owner(int64_t device_id, const char *uuid, char out[120])
{
	snprintf(out, 120, "%lld/%s", (long long)device_id, uuid);
}

static void free_secret(char *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
	free(p);
}

int secret_split(struct keystore *ks, int64_t device_id, const char *uuid, const char *type,
		 const char *xml, size_t len, char **ret_public, size_t *ret_plen,
		 unsigned char **ret_sealed, size_t *ret_slen)
{
	enum ap_cmd_type t;
	char owner[120], *pub = NULL, *sec = NULL;
	size_t plen = 0, slen = 0;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	*ret_public = NULL;
	*ret_sealed = NULL;
	if (ap_cmd_from_name(type, &t) < 0 || !ap_cmd_has_secrets(t))
		return 0;
	int rc = ap_cmd_split_secrets(xml, len, &pub, &plen, &sec, &slen);
	if (rc < 0 || sec == NULL) {
		free(pub);
		return rc;
	}
	command_owner(device_id, uuid, owner);
	rc = keystore_seal(ks, KEYSTORE_COMMAND, owner, sec, slen, &sealed, &sealed_len);
	free_secret(sec, slen);
	if (rc < 0) {
		free(pub);
		return rc;
	}
	*ret_public = pub;
	*ret_plen = plen;
	*ret_sealed = sealed;
	*ret_slen = sealed_len;
	return 0;
}

int secret_join(struct keystore *ks, int64_t device_id, const char *uuid,
		const unsigned char *sealed, size_t slen, char **payload, size_t *len)
{
	char owner[120], *full = NULL;
	unsigned char *sec = NULL;
	size_t n = 0, full_len = 0;
	command_owner(device_id, uuid, owner);
	int rc = keystore_unseal(ks, KEYSTORE_COMMAND, owner, sealed, slen, &sec, &n);
	if (rc < 0)
		return rc;
	rc = ap_cmd_join_secrets(*payload, *len, (const char *)sec, n, &full, &full_len);
	free_secret((char *)sec, n);
	if (rc < 0)
		return rc;
	free(*payload);
	*payload = full;
	*len = full_len;
	return 0;
}

int secret_result_xml(plist_t report, char **ret, size_t *ret_len)
{
	if (!ap_result_has_secrets(report))
		return ap_plist_to_xml(report, ret, ret_len);
	plist_t copy = plist_copy(report);
	if (copy == NULL)
		return AP_ENOMEM;
	ap_result_redact(copy);
	int rc = ap_plist_to_xml(copy, ret, ret_len);
	plist_free(copy);
	return rc;
}

/* A stored report with its secrets replaced (rows from before). */
static int masked_result(const char *xml, size_t len, char **ret, size_t *ret_len)
{
	plist_t p = NULL;
	int rc = ap_plist_parse(xml, len, len, &p);
	if (rc == 0 && ap_result_redact(p) == 0) {
		plist_free(p);
		return AP_ENOTFOUND; /* nothing to mask */
	}
	if (rc == 0)
		rc = ap_plist_to_xml(p, ret, ret_len);
	plist_free(p);
	return rc;
}

int secret_masked(const char *xml, size_t len, int result, char **ret, size_t *ret_len)
{
	char *pub = NULL, *sec = NULL;
	size_t plen = 0, slen = 0;
	int rc = result ? masked_result(xml, len, &pub, &plen)
			: ap_cmd_split_secrets(xml, len, &pub, &plen, &sec, &slen);
	free_secret(sec, slen);
	if (rc == 0) {
		*ret = pub;
		*ret_len = plen;
		return 0;
	}
	/* nothing to mask (AP_ENOTFOUND), or not a command plist we read:
	 * shown as stored (the secrets we know are in commands we read) */
	*ret = malloc(len + 1);
	if (*ret == NULL)
		return AP_ENOMEM;
	memcpy(*ret, xml, len);
	(*ret)[len] = '\0';
	*ret_len = len;
	return 0;
}

/* ---- the start-up step ---- */

static const enum keystore_purpose purpose_of[] = {
    [DB_SEAL_UNLOCK_TOKEN] = KEYSTORE_UNLOCK_TOKEN,
    [DB_SEAL_BYPASS_CODE] = KEYSTORE_BYPASS_CODE,
    [DB_SEAL_LOCATE_FIX] = KEYSTORE_LOCATION,
};

static int reseal(struct db *db, struct keystore *ks, const struct db_seal_row *row)
{
	unsigned char *plain = NULL, *sealed = NULL;
	size_t n = 0, len = 0;
	int rc = keystore_unseal_legacy(ks, row->old, row->old_len, row->owner, &plain, &n);
	if (rc < 0) {
		log_warn("secret_dropped", "what=%d id=%lld reason=\"does not open\"", row->what,
			 (long long)row->id);
		return db_seal_legacy_done(db, row, NULL, 0);
	}
	rc = keystore_seal(ks, purpose_of[row->what], row->owner, plain, n, &sealed, &len);
	free_secret((char *)plain, n);
	if (rc == 0)
		rc = db_seal_legacy_done(db, row, sealed, len);
	free(sealed);
	return rc;
}

/* A command stored with its secrets in clear: a pending one keeps them
 * sealed apart, a finished one loses them; its result is redacted. */
static int redact_command(struct db *db, struct keystore *ks, const struct db_seal_row *row)
{
	char *pub = NULL, *sec = NULL, *res = NULL, owner[120];
	size_t plen = 0, slen = 0, rlen = 0, sealed_len = 0;
	unsigned char *sealed = NULL;
	int rc =
	    ap_cmd_split_secrets((const char *)row->old, row->old_len, &pub, &plen, &sec, &slen);
	if (rc < 0) { /* not a command we read: nothing of ours to take out */
		pub = (char *)row->old;
		plen = row->old_len;
	}
	command_owner(row->device_id, row->uuid, owner);
	if (sec && row->pending)
		rc = keystore_seal(ks, KEYSTORE_COMMAND, owner, sec, slen, &sealed, &sealed_len);
	else
		rc = 0;
	if (rc == 0 && row->result &&
	    masked_result(row->result, row->result_len, &res, &rlen) == AP_ENOTFOUND) {
		res = NULL;
	}
	if (rc == 0)
		rc = db_seal_legacy_command(db, row, pub, plen, res ? res : row->result,
					    res ? rlen : row->result_len, sealed, sealed_len);
	if (pub != (char *)row->old)
		free(pub);
	free_secret(sec, slen);
	free(res);
	free(sealed);
	return rc;
}

static int upgrade_one(struct db *db, struct keystore *ks)
{
	struct db_seal_row row;
	int rc = db_seal_legacy_first(db, &row);
	if (rc < 0)
		return rc;
	rc = row.what == DB_SEAL_COMMAND ? redact_command(db, ks, &row) : reseal(db, ks, &row);
	if (row.old)
		OPENSSL_cleanse(row.old, row.old_len);
	db_seal_row_clear(&row);
	return rc;
}

int secret_upgrade(struct db *db, struct keystore *ks)
{
	int64_t n = 0, done = 0;
	int rc = db_seal_legacy_count(db, &n);
	if (rc < 0 || n == 0)
		return rc;
	while (rc == 0) {
		if ((rc = db_begin(db)) < 0)
			break;
		for (int i = 0; i < UPGRADE_BATCH && rc == 0; i++, done++)
			rc = upgrade_one(db, ks);
		if (rc < 0 && rc != AP_ENOTFOUND) {
			db_rollback(db);
			return rc;
		}
		int crc = db_commit(db);
		if (crc < 0)
			return crc;
	}
	if (rc == AP_ENOTFOUND)
		done--;
	log_info("secrets_resealed", "rows=%lld", (long long)done);
	return db_seal_legacy_flush(db);
}
