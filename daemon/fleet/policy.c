/* policy.c - validate, sign, store profiles; load the baseline. */
#include "policy.h"
#include "ap_err.h"
#include "db_command.h"
#include "db_policy.h"
#include "keystore.h"
#include "pol_profile.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SUFFIX ".mobileconfig"

int policy_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > POLICY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The catalogue row for a checked profile whose signed bytes are blob. */
static void row_of(const struct pol_profile *p, const char *name, const char *blob,
		   const char *actor, struct db_profile *dp)
{
	size_t o = 0;
	memset(dp, 0, sizeof(*dp));
	snprintf(dp->name, sizeof(dp->name), "%s", name);
	snprintf(dp->identifier, sizeof(dp->identifier), "%s", p->identifier);
	snprintf(dp->display_name, sizeof(dp->display_name), "%s", p->display_name);
	for (size_t i = 0; i < p->n_payloads && o < sizeof(dp->payload_types); i++)
		o += (size_t)snprintf(dp->payload_types + o, sizeof(dp->payload_types) - o, "%s%s",
				      i ? "," : "", p->payload_types[i]);
	snprintf(dp->payload_hash, sizeof(dp->payload_hash), "%s", p->hash);
	snprintf(dp->payload_uuid, sizeof(dp->payload_uuid), "%s", p->uuid);
	snprintf(dp->blob, sizeof(dp->blob), "%s", blob);
	snprintf(dp->created_by, sizeof(dp->created_by), "%s", actor);
}

/* Signs and stores the bytes to send; blob gets their key. */
static int sign_and_put(struct db *db, struct keystore *ks, const struct pol_profile *p,
			char blob[65])
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = keystore_sign(ks, p->xml, p->xml_len, &der, &der_len);
	if (rc == 0)
		rc = db_blob_put(db, der, der_len, blob);
	free(der);
	return rc;
}

int policy_profile_store(struct db *db, struct keystore *ks, const char *name, const void *data,
			 size_t len, const char *actor, int update, struct db_profile *ret,
			 char *detail, size_t detail_cap)
{
	struct pol_profile *p = NULL;
	struct db_profile dp;
	char blob[65];
	int64_t id = 0;
	int rc = pol_profile_parse(data, len, &p, detail, detail_cap);
	if (rc < 0)
		return rc;
	if ((rc = db_begin(db)) < 0)
		goto out;
	if ((rc = sign_and_put(db, ks, p, blob)) == 0) {
		row_of(p, name, blob, actor, &dp);
		rc = update ? db_policy_profile_update(db, name, &dp, actor)
			    : db_policy_profile_add(db, &dp, &id);
	}
	if (rc == 0 && ret)
		rc = db_policy_profile_get(db, name, ret);
	if (rc < 0) {
		db_rollback(db);
		goto out;
	}
	rc = db_commit(db);
out:
	pol_profile_free(p);
	return rc;
}

/* Reads a whole profile file (at most POL_PROFILE_MAX_BYTES). */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	int rc = AP_EIO;
	char *buf = NULL;
	if (f == NULL)
		return AP_EIO;
	if (fstat(fileno(f), &sb) < 0)
		goto out;
	if (sb.st_size > (off_t)POL_PROFILE_MAX_BYTES) {
		rc = AP_ETOOBIG;
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		free(buf);
		goto out;
	}
	*ret = buf;
	*ret_len = (size_t)sb.st_size;
	rc = 0;
out:
	fclose(f);
	return rc;
}

static int is_profile_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name), s = strlen(SUFFIX);
	return n > s && e->d_name[0] != '.' && strcmp(e->d_name + n - s, SUFFIX) == 0;
}

/* One baseline file: stored and assigned to the fleet. */
static int load_one(struct db *db, struct keystore *ks, const char *dir, const char *file,
		    const char *actor, char *err, size_t errcap)
{
	char path[4200], name[POLICY_NAME_MAX + 1], detail[240] = "";
	struct db_profile dp;
	char *data = NULL;
	size_t len = 0, n = strlen(file) - strlen(SUFFIX);
	snprintf(name, sizeof(name), "%.*s", (int)n, file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int rc = policy_name_ok(name) ? read_file(path, &data, &len) : AP_EINVAL;
	if (rc == 0)
		rc = policy_profile_store(db, ks, name, data, len, actor, 0, &dp, detail,
					  sizeof(detail));
	if (rc == 0)
		rc = db_policy_assign(db, "profile", dp.id, "fleet", actor);
	if (rc < 0)
		snprintf(err, errcap, "%s: %s%s%s", path, ap_strerror(rc), detail[0] ? ": " : "",
			 detail);
	free(data);
	return rc;
}

int policy_baseline_load(struct db *db, struct keystore *ks, const char *dir, const char *actor,
			 size_t *ret_n, char *err, size_t errcap)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_profile_file, alphasort);
	int rc;
	if (n < 0) {
		snprintf(err, errcap, "%s: %s", dir, strerror(errno));
		return AP_EIO;
	}
	if ((rc = db_begin(db)) == 0) {
		for (int i = 0; i < n && rc == 0; i++)
			rc = load_one(db, ks, dir, list[i]->d_name, actor, err, errcap);
		if (rc < 0)
			db_rollback(db);
		else
			rc = db_commit(db);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (rc == 0)
		*ret_n = (size_t)n;
	return rc;
}
