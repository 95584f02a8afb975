/*
 * backup.h - a backup of the database taken while the daemon serves, the
 * daily one of [backup] dir, and the restore of ardoised --restore.
 *
 * A backup is the database copied with SQLite's online backup API
 * (db_backup_copy(), one snapshot) into a 0600 temporary file of the data
 * directory, encrypted to [backup] recipient (backup_cms.h) and removed on
 * every path.  It holds nothing else: the key files of the data directory
 * (ca.*, server.*, secret.key, audit.key, ade.*) are kept apart by the
 * operator (README, "Backup and restore").
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "db_backup.h"

struct config;
struct server;
struct worker;

/* The name of a scheduled backup: "ardoise-AAAAMMJJ-HHMM.cms". */
#define BACKUP_NAME_LEN 25

struct backup_result {
	struct db_backup_info info; /* the snapshot's point and counts */
	uint64_t bytes;		    /* of the encrypted file */
	char sha256[65];	    /* its SHA-256, hex */
};

/* Checks [backup] recipient: "" (no backup may be taken) or a usable
 * certificate; why not into err. */
int backup_check_config(const struct config *cfg, char *err, size_t cap);

/* A backup of srv's database encrypted to [backup] recipient, written to
 * out_fd from its current offset.  Blocks (seconds for a big database):
 * call it on a work thread.  AP_ECONFIG without a recipient; why into
 * err. */
int backup_take(const struct server *srv, int out_fd, struct backup_result *ret, char *err,
		size_t cap);

/* Removes the plaintext copies (".backup-*") a backup killed half-way left
 * in the data directory: at start, before serving.  Returns how many. */
int backup_remove_leftovers(const char *data_dir);

/* A file of the data directory with no name (unlinked at once): where an
 * encrypted backup waits to be sent.  *ret_fd to close. */
int backup_tmpfile(const struct server *srv, int *ret_fd);

/* The daily job (worker 0, every minute): from [backup] hour, once a day,
 * a backup into [backup] dir on a work thread, then the older ones beyond
 * [backup] keep removed.  backup_job_now: one now (POST
 * /api/v1/jobs/backup/run); AP_ECONFIG when [backup] dir is "". */
int backup_job(struct worker *w);
int backup_job_now(struct worker *w);
/* Removes the scheduled backups of dir beyond the newest keep (only files
 * named as BACKUP_NAME_LEN says); the count removed into *ret_n. */
int backup_prune(const char *dir, int keep, int *ret_n);

/* ardoised --restore: file decrypted with key (and cert, may be NULL)
 * into dir/ardoise.db after the checks (README); what was restored is
 * printed on stdout, what is wrong on stderr.  0, or 1 with nothing
 * written. */
int backup_restore(const struct config *cfg, const char *dir, const char *file, const char *key,
		   const char *cert);

#endif
