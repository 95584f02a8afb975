/* audit_head.c - the audit chain's head in the log and in a file. */
#include "audit_head.h"
#include "ap_err.h"
#include "db_audit.h"
#include "isodate.h"
#include "log.h"
#include "worker.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD_WORD     "audit_head"
#define HEAD_FILE_MAX 4096
#define BEHIND_SUFFIX ".behind"

static void head_path(const struct server *srv, char *out, size_t cap)
{
	if (srv->cfg.audit_head_file[0])
		snprintf(out, cap, "%s", srv->cfg.audit_head_file);
	else
		snprintf(out, cap, "%s/audit.head", srv->data_dir);
}

static int is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* One "key=value" of a head line into h; 1 for a known key. */
static int head_field(struct audit_head *h, const char *key, size_t klen, const char *val)
{
	char *end;
	if (klen == 5 && strncmp(key, "count", 5) == 0) {
		h->count = strtoll(val, &end, 10);
		return *end == '\0' && h->count >= 0 ? 1 : -1;
	}
	if (klen == 7 && strncmp(key, "last_id", 7) == 0) {
		h->last_id = strtoll(val, &end, 10);
		return *end == '\0' && h->last_id >= 0 ? 1 : -1;
	}
	if (klen == 4 && strncmp(key, "hash", 4) == 0) {
		if (!is_hex64(val) && val[0] != '\0')
			return -1;
		snprintf(h->hash, sizeof(h->hash), "%.64s", val);
		return 1;
	}
	if (klen == 2 && strncmp(key, "at", 2) == 0)
		snprintf(h->at, sizeof(h->at), "%.31s", val);
	return 0;
}

/* The last "audit_head " in text, not part of a longer word. */
static const char *last_head(const char *text)
{
	const char *found = NULL;
	for (const char *p = text; (p = strstr(p, HEAD_WORD " ")) != NULL; p++)
		if (p == text || p[-1] == ' ' || p[-1] == '=' || p[-1] == '\n')
			found = p;
	return found;
}

int audit_head_parse(const char *text, struct audit_head *ret)
{
	struct audit_head h = {-1, -1, "", ""};
	const char *p = last_head(text);
	char val[128];
	if (p == NULL)
		return AP_EPARSE;
	for (p += strlen(HEAD_WORD); *p && *p != '\n' && *p != '\r';) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t\r\n"), klen = strcspn(p, "=");
		if (n == 0)
			break;
		if (klen < n && n - klen - 1 < sizeof(val)) {
			memcpy(val, p + klen + 1, n - klen - 1);
			val[n - klen - 1] = '\0';
			if (head_field(&h, p, klen, val) < 0)
				return AP_EPARSE;
		}
		p += n;
	}
	if (h.count < 0 || h.last_id < 0 || (h.last_id > 0 && !is_hex64(h.hash)))
		return AP_EPARSE;
	*ret = h;
	return 0;
}

int audit_head_check(struct db *db, const struct audit_head *saved, char *why, size_t cap)
{
	struct db_audit_head now;
	char hash[65];
	int rc = db_audit_last(db, &now);
	if (rc < 0)
		return rc;
	if (saved->last_id > 0) {
		rc = db_audit_row_hash(db, saved->last_id, hash);
		if (rc == AP_ENOTFOUND) {
			snprintf(why, cap,
				 "truncated: the saved head %lld (%lld rows, hash %.16s..., at %s) "
				 "is missing: the log ends at row %lld",
				 (long long)saved->last_id, (long long)saved->count, saved->hash,
				 saved->at[0] ? saved->at : "?", (long long)now.last_id);
			return AP_ECONFLICT;
		}
		if (rc < 0)
			return rc;
		if (strcmp(hash, saved->hash) != 0) {
			snprintf(why, cap,
				 "rewritten: row %lld has hash %.16s..., the saved head (at %s) "
				 "says %.16s...",
				 (long long)saved->last_id, hash, saved->at[0] ? saved->at : "?",
				 saved->hash);
			return AP_ECONFLICT;
		}
	}
	if (now.last_id < saved->count) {
		snprintf(why, cap, "truncated: the saved head counts %lld rows, the log holds %lld",
			 (long long)saved->count, (long long)now.last_id);
		return AP_ECONFLICT;
	}
	return 0;
}

/* Writes path through path.tmp and rename(): a reader sees the old head
 * or the new one, never half of one. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[CONFIG_STR + 4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return AP_EIO;
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return AP_EIO;
	}
	return 0;
}

int audit_head_save(struct server *srv, struct db *db)
{
	struct db_audit_head h;
	char path[CONFIG_STR + 4200], line[256], at[ISODATE_TIME_LEN + 1];
	int rc = db_audit_last(db, &h);
	if (rc < 0)
		return rc;
	if (h.last_id == srv->audit_saved_id && strcmp(h.hash, srv->audit_saved_hash) == 0)
		return 0;
	isodate_format_time(db_now(), at);
	snprintf(line, sizeof(line), "count=%lld last_id=%lld hash=%s at=%s", (long long)h.last_id,
		 (long long)h.last_id, h.hash, at);
	log_info(HEAD_WORD, "%s", line);
	srv->audit_saved_id = h.last_id;
	memcpy(srv->audit_saved_hash, h.hash, sizeof(h.hash));
	head_path(srv, path, sizeof(path));
	char text[300];
	snprintf(text, sizeof(text), HEAD_WORD " %s\n", line);
	if ((rc = write_atomic(path, text)) < 0)
		log_error("audit_head_write_failed", "file=%s error=\"%s\"", path, strerror(errno));
	return rc;
}

int audit_head_job(struct worker *w)
{
	return audit_head_save(w->srv, w->db);
}

void audit_head_final(struct server *srv)
{
	struct db *db = NULL;
	int rc = worker_db_open(srv, &db);
	srv->audit_saved_id = -1; /* logged at shutdown even when unchanged */
	if (rc == 0)
		rc = audit_head_save(srv, db);
	if (rc < 0)
		log_error("audit_head_final_failed", "error=\"%s\"", ap_strerror(rc));
	db_close(db);
}

/* The head file's text into buf; AP_ENOTFOUND when there is none. */
static int read_head_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? AP_ENOTFOUND : AP_EIO;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

static void warn_behind(struct server *srv, const char *path, const char *why)
{
	char behind[CONFIG_STR + 4300];
	snprintf(behind, sizeof(behind), "%s" BEHIND_SUFFIX, path);
	if (rename(path, behind) != 0)
		snprintf(behind, sizeof(behind), "%s", path);
	log_error("audit_behind", "head_file=%s kept=%s problem=\"%s\"", path, behind, why);
	snprintf(srv->audit_warning, sizeof(srv->audit_warning),
		 "audit log behind its saved head (%.300s): kept in %.120s", why, behind);
}

/* Compares the database with the head file (and an earlier .behind). */
static int check_saved(struct server *srv, struct db *db)
{
	char path[CONFIG_STR + 4200], behind[CONFIG_STR + 4300], text[HEAD_FILE_MAX], why[400];
	struct audit_head saved;
	head_path(srv, path, sizeof(path));
	snprintf(behind, sizeof(behind), "%s" BEHIND_SUFFIX, path);
	int rc = read_head_file(path, text, sizeof(text));
	if (rc == 0 && audit_head_parse(text, &saved) < 0) {
		snprintf(why, sizeof(why), "the head file %.200s is unreadable", path);
		warn_behind(srv, path, why);
	} else if (rc == 0 && (rc = audit_head_check(db, &saved, why, sizeof(why))) < 0) {
		if (rc != AP_ECONFLICT)
			return rc;
		warn_behind(srv, path, why);
	}
	if (srv->audit_warning[0] == '\0' && access(behind, F_OK) == 0)
		snprintf(srv->audit_warning, sizeof(srv->audit_warning),
			 "the audit log was found behind its saved head at an earlier start: see "
			 "%.300s (remove it once investigated)",
			 behind);
	return 0;
}

int audit_head_start(struct server *srv, struct db *db, int key_created)
{
	int64_t anchor = 0;
	int rc = check_saved(srv, db);
	if (rc == 0)
		rc = db_audit_anchor(db, &anchor);
	if (rc < 0)
		return rc;
	if (anchor && key_created)
		log_warn("audit_rekeyed",
			 "anchor=%lld unkeyed_rows=%lld msg=\"audit.key made: the "
			 "chain is keyed from this row on\"",
			 (long long)anchor, (long long)anchor - 1);
	else if (anchor) {
		log_error(
		    "audit_unanchored",
		    "anchor=%lld msg=\"the audit chain had no keyed anchor although audit.key "
		    "existed: rewritten with unkeyed hashes?\"",
		    (long long)anchor);
		if (srv->audit_warning[0] == '\0')
			snprintf(srv->audit_warning, sizeof(srv->audit_warning),
				 "the audit chain had no keyed anchor although audit.key existed: "
				 "rows before %lld may have been rewritten",
				 (long long)anchor);
	}
	return audit_head_save(srv, db);
}
