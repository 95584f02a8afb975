/* ctl_backup.c - ardoisectl backup FILE: the daemon's encrypted backup
 * (GET /api/v1/backup, technicians) written to FILE. */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct ctl_opt backup_opts[] = {
    CTL_OPT_ARG("FILE", N_("FILE is required (where the backup goes)"),
		N_("where the encrypted backup is written (0600)")),
    {.name = "--force", .help = N_("replace FILE when it exists")},
    CTL_OPT_END,
};

/* One value "name=VALUE" of the point header into out. */
static void point_value(const char *point, const char *name, char *out, size_t cap)
{
	const char *p = strstr(point, name);
	size_t n = p ? strcspn(p + strlen(name), ";") : 0;
	snprintf(out, cap, "%.*s", (int)n, p ? p + strlen(name) : "");
}

static int print_summary(struct ctl *c, const char *file, const struct ctl_download *d)
{
	char last[32], at[32], hash[80];
	point_value(d->point, "audit_last_id=", last, sizeof(last));
	point_value(d->point, "at=", at, sizeof(at));
	point_value(d->point, "hash=", hash, sizeof(hash));
	if (c->json) {
		json_t *v = json_pack("{s:s,s:I,s:s,s:{s:I,s:s,s:I}}", "file", file, "bytes",
				      (json_int_t)d->bytes, "sha256", d->sha256, "point",
				      "audit_last_id", (json_int_t)strtoll(last, NULL, 10),
				      "audit_hash", hash, "at", (json_int_t)strtoll(at, NULL, 10));
		ctl_print_json(v);
		json_decref(v);
		return CTL_OK;
	}
	printf(_("backup written to %s: %llu bytes, sha256 %s, up to audit row %s\n"), file,
	       d->bytes, d->sha256, last);
	return CTL_OK;
}

static int backup(struct ctl *c, const struct ctl_args *a)
{
	const char *file = ctl_opt_get(a, "FILE");
	int force = ctl_opt_get(a, "--force") != NULL;
	char part[4200];
	struct ctl_download d;
	struct stat sb;
	if (!force && stat(file, &sb) == 0)
		return ctl_err("%s exists: give --force to replace it", file);
	snprintf(part, sizeof(part), "%s.part", file);
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ctl_err("cannot write %s: %s", part, strerror(errno));
	int rc = ctl_download(c, "/api/v1/backup", fd, isatty(2), &d);
	if (rc == CTL_OK && (fsync(fd) < 0 || close(fd) < 0)) {
		fd = -1;
		rc = ctl_err("cannot write %s: %s", part, strerror(errno));
	} else if (rc == CTL_OK) {
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	if (rc == CTL_OK && rename(part, file) < 0)
		rc = ctl_err("cannot write %s: %s", file, strerror(errno));
	if (rc != CTL_OK) {
		unlink(part);
		return rc;
	}
	return print_summary(c, file, &d);
}

const struct ctl_verb ctl_backup_verbs[] = {
    {"backup", NULL, backup, backup_opts, 0,
     N_("the database's backup, encrypted to [backup] recipient, into FILE (technicians)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
