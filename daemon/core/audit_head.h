/*
 * audit_head.h - the audit chain's head, kept outside the database.
 *
 * Deleting the newest audit rows, or all of them, leaves a chain that
 * verifies: only a head saved elsewhere shows it.  The daemon writes the
 * head as one line
 *
 *   audit_head count=N last_id=N hash=HEX at=YYYY-MM-DDTHH:MM:SSZ
 *
 * to its log (event=audit_head) and to a file ([audit] head_file, default
 * DATA_DIR/audit.head, replaced atomically, 0600) whenever the log grew, at
 * most once a second, and at shutdown.  At start it checks the database
 * against that file; `ardoisectl audit verify --head` checks it against a
 * copy kept elsewhere (the file, or a logged line).
 */
#ifndef AUDIT_HEAD_H
#define AUDIT_HEAD_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct server;
struct worker;

struct audit_head {
	int64_t count;	 /* rows in the log */
	int64_t last_id; /* the newest row */
	char hash[65];	 /* its hash ("" for an empty log) */
	char at[32];	 /* when the head was taken (may be "") */
};

/* Reads the last "audit_head ..." in text (a head file, a pasted log line
 * or a log); AP_EPARSE when there is none or it is malformed. */
int audit_head_parse(const char *text, struct audit_head *ret);
/* 0 when the database holds the saved head: row last_id with that hash,
 * and at least count rows.  AP_ECONFLICT when not, with why (one line,
 * "truncated: ..." or "rewritten: ..."); other codes: storage errors. */
int audit_head_check(struct db *db, const struct audit_head *saved, char *why, size_t cap);

/* At start (before the workers): checks the database against the head
 * file (a mismatch is logged as an error, kept as FILE.behind and shown in
 * /healthz until that file is removed), anchors the keyed chain when it
 * is not yet (key_created: audit.key was made just now), saves the head. */
int audit_head_start(struct server *srv, struct db *db, int key_created);
/* Saves the head when it changed since the last save (log + file). */
int audit_head_save(struct server *srv, struct db *db);
/* The periodic job (worker 0, every second). */
int audit_head_job(struct worker *w);
/* At shutdown, once the workers are joined: the last head. */
void audit_head_final(struct server *srv);

#endif
