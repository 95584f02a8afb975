/* backup.c - backups taken while serving, the daily job, the restore. */
#include "backup.h"
#include "ap_err.h"
#include "audit_head.h"
#include "backup_cms.h"
#include "db_audit.h"
#include "isodate.h"
#include "keystore.h"
#include "log.h"
#include "store.h"
#include "worker.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int backup_check_config(const struct config *cfg, char *err, size_t cap)
{
	X509 *x = NULL;
	if (cfg->backup_recipient[0] == '\0')
		return 0;
	int rc = backup_cms_recipient(cfg->backup_recipient, &x, err, cap);
	X509_free(x);
	return rc;
}

int backup_tmpfile(const struct server *srv, int *ret_fd)
{
	int fd = open(srv->data_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* a file system without O_TMPFILE: a name, unlinked at once */
		char path[4300];
		snprintf(path, sizeof(path), "%s/.backup-XXXXXX", srv->data_dir);
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return AP_EIO;
	*ret_fd = fd;
	return 0;
}

int backup_remove_leftovers(const char *data_dir)
{
	char path[4400];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(data_dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, ".backup-", 8) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", data_dir, e->d_name);
		if (unlink(path) == 0) {
			log_warn("backup_leftover_removed", "file=%s", e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* The SHA-256 of the len bytes of fd from offset start, in hex. */
static int file_sha256(int fd, off_t start, uint64_t len, char ret[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[65536], md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (uint64_t off = 0; ok && off < len;) {
		size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, start + (off_t)off);
		ok = n > 0 && EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n > 0 ? (uint64_t)n : 0;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return AP_EIO;
	for (size_t i = 0; i < 32; i++) {
		ret[2 * i] = hex[md[i] >> 4];
		ret[2 * i + 1] = hex[md[i] & 15];
	}
	ret[64] = '\0';
	return 0;
}

int backup_take(const struct server *srv, int out_fd, struct backup_result *ret, char *err,
		size_t cap)
{
	X509 *to = NULL;
	struct backup_result res = {0};
	char plain[4300];
	if (srv->cfg.backup_recipient[0] == '\0') {
		snprintf(err, cap,
			 "no [backup] recipient is configured: backups are encrypted to "
			 "the operator's certificate, never taken in clear");
		return AP_ECONFIG;
	}
	int rc = backup_cms_recipient(srv->cfg.backup_recipient, &to, err, cap);
	if (rc < 0)
		return rc;
	/* the plaintext copy: 0600, in the data directory, removed below on
	 * every path (db_backup_copy() removes it itself when it fails) */
	snprintf(plain, sizeof(plain), "%s/.backup-%d-%p.db", srv->data_dir, (int)getpid(),
		 (void *)&res);
	off_t start = lseek(out_fd, 0, SEEK_CUR);
	rc = db_backup_copy(srv->db_path, plain, &res.info);
	if (rc < 0)
		snprintf(err, cap, "copying the database: %s", ap_strerror(rc));
	else
		rc = backup_cms_encrypt(to, plain, out_fd, &res.bytes, err, cap);
	if (rc == 0 && start >= 0) {
		res.bytes -= (uint64_t)start;
		if ((rc = file_sha256(out_fd, start, res.bytes, res.sha256)) < 0)
			snprintf(err, cap, "reading the encrypted backup back");
	}
	unlink(plain);
	X509_free(to);
	if (rc == 0)
		*ret = res;
	return rc;
}

/* ---- the daily job ------------------------------------------------------------------------ */

struct job_run {
	uv_work_t work;
	const struct server *srv;
	char dir[CONFIG_STR];
	char name[BACKUP_NAME_LEN + 1];
	int keep;
	int rc, pruned;
	struct backup_result res;
	char err[400];
};

static int running;	 /* a run in flight (worker 0's loop only) */
static char done_day[9]; /* AAAAMMJJ of the last day the schedule ran */

/* Whether name is one of the schedule's files. */
static int scheduled_name(const char *name)
{
	static const char shape[] = "ardoise-DDDDDDDD-DDDD.cms";
	if (strlen(name) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'D' ? (name[i] < '0' || name[i] > '9') : name[i] != shape[i])
			return 0;
	return 1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int backup_prune(const char *dir, int keep, int *ret_n)
{
	DIR *d = opendir(dir);
	char **names = NULL, path[CONFIG_STR + 64];
	size_t n = 0, cap = 0;
	int rc = 0, removed = 0;
	if (d == NULL)
		return AP_EIO;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (!scheduled_name(e->d_name))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*v));
			if (v == NULL) {
				rc = AP_ENOMEM;
				break;
			}
			names = v;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			rc = AP_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == 0 && n > 0)
		qsort(names, n, sizeof(*names), cmp_names); /* the names sort by time */
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && i + (size_t)keep < n && unlink(path) == 0)
			removed++;
		free(names[i]);
	}
	free(names);
	if (rc == 0)
		*ret_n = removed;
	return rc;
}

/* Writes the backup to dir/.name.part (0600), renamed to dir/name. */
static void job_work(uv_work_t *req)
{
	struct job_run *j = req->data;
	char part[CONFIG_STR + 64], path[CONFIG_STR + 64];
	snprintf(part, sizeof(part), "%s/.%s.part", j->dir, j->name);
	snprintf(path, sizeof(path), "%s/%s", j->dir, j->name);
	int fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", part, strerror(errno));
		j->rc = AP_EIO;
		return;
	}
	j->rc = backup_take(j->srv, fd, &j->res, j->err, sizeof(j->err));
	if (j->rc == 0 && fsync(fd) < 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", part, strerror(errno));
		j->rc = AP_EIO;
	}
	close(fd);
	if (j->rc == 0 && rename(part, path) < 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", path, strerror(errno));
		j->rc = AP_EIO;
	}
	if (j->rc < 0) {
		unlink(part);
		return;
	}
	if (backup_prune(j->dir, j->keep, &j->pruned) < 0)
		snprintf(j->err, sizeof(j->err), "the older backups could not be listed");
}

static void job_done(uv_work_t *req, int status)
{
	struct job_run *j = req->data;
	char esc[500];
	running = 0;
	if (status < 0 || j->rc < 0)
		log_error("backup_failed", "dir=%s error=%s", j->dir,
			  log_esc(status < 0 ? uv_strerror(status) : j->err, esc, sizeof(esc)));
	else
		log_info("backup_written", "file=%s/%s bytes=%llu audit_last_id=%lld pruned=%d%s%s",
			 j->dir, j->name, (unsigned long long)j->res.bytes,
			 (long long)j->res.info.audit_last_id, j->pruned,
			 j->err[0] ? " warning=" : "",
			 j->err[0] ? log_esc(j->err, esc, sizeof(esc)) : "");
	free(j);
}

/* AAAAMMJJ and HHMM of t in the server's zone. */
static void local_stamp(int64_t t, char day[9], char hm[5], int *ret_hour)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	if (strftime(day, 9, "%Y%m%d", &tm) != 8)
		memcpy(day, "00000000", 9);
	if (strftime(hm, 5, "%H%M", &tm) != 4)
		memcpy(hm, "0000", 5);
	*ret_hour = tm.tm_hour;
}

static int start_run(struct worker *w, const char *day, const char *hm)
{
	const struct config *cfg = &w->srv->cfg;
	if (running)
		return AP_EBUSY;
	struct job_run *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return AP_ENOMEM;
	j->work.data = j;
	j->srv = w->srv;
	j->keep = (int)cfg->backup_keep;
	snprintf(j->dir, sizeof(j->dir), "%s", cfg->backup_dir);
	snprintf(j->name, sizeof(j->name), "ardoise-%.8s-%.4s.cms", day, hm);
	int rc = uv_queue_work(&w->loop, &j->work, job_work, job_done);
	if (rc < 0) {
		free(j);
		return AP_EIO;
	}
	running = 1;
	return 0;
}

/* Whether dir holds a scheduled backup of day. */
static int has_day(const char *dir, const char *day)
{
	DIR *d = opendir(dir);
	int found = 0;
	if (d == NULL)
		return 0;
	for (struct dirent *e; !found && (e = readdir(d)) != NULL;)
		found = scheduled_name(e->d_name) && strncmp(e->d_name + 8, day, 8) == 0;
	closedir(d);
	return found;
}

int backup_job(struct worker *w)
{
	const struct config *cfg = &w->srv->cfg;
	char day[9], hm[5];
	int hour;
	if (cfg->backup_dir[0] == '\0')
		return 0;
	local_stamp(db_now(), day, hm, &hour);
	if (hour < cfg->backup_hour || strcmp(day, done_day) == 0)
		return 0;
	memcpy(done_day, day, sizeof(done_day)); /* once a day, failed or not */
	if (has_day(cfg->backup_dir, day))
		return 0;
	return start_run(w, day, hm);
}

int backup_job_now(struct worker *w)
{
	char day[9], hm[5];
	int hour;
	if (w->srv->cfg.backup_dir[0] == '\0')
		return AP_ECONFIG;
	local_stamp(db_now(), day, hm, &hour);
	return start_run(w, day, hm);
}
