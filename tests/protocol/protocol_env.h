/*
 * protocol_env.h - what the protocol scenarios share: a struct server and a
 * struct worker put together by hand on a keystore and a database in a
 * temporary directory, requests handed to router_dispatch() as
 * daemon/server/conn.c builds them (no sockets), and a tablet (the
 * simulator's device core) enrolled through the real path.
 */
#ifndef PROTOCOL_ENV_H
#define PROTOCOL_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "db_mdm.h"
#include "server.h"
#include "sim_device.h"
#include "worker.h"

struct ap_cms_signer_cache;

struct env {
	char dir[64];
	char db_path[128];
	struct server srv;
	struct worker w;
	char code[33]; /* enrolment code good for 10 devices */
	/* the Mdm-Signature cache pt_call() hands over as one connection's
	 * (conn.c), NULL: none; the test that sets it frees it */
	struct ap_cms_signer_cache *sig_cache;
};

/* One answer from the router: status and a copy of the body. */
struct answer {
	int status;
	char *body;
	size_t len;
};

/* A tablet of the test: the device core and its certificate. */
struct tablet {
	struct sim_device *d;
	X509 *cert;
};

/* One request through router_dispatch(), as conn.c hands it over: method,
 * target (path?query), one header (may be NULL), a body; peer the TLS
 * client certificate (NULL: none), verified its chain check (-1: not done
 * yet, as on a new connection).  The answer's body is malloc'd. */
struct answer pt_call(struct env *e, const char *method, const char *target, const char *header,
		      const char *value, const void *body, size_t len, X509 *peer, int verified);

/* PUT a message of the device to path; returns the answer.  The chain of
 * its certificate is checked when the server asks, as on a connection. */
struct answer pt_put(struct env *e, struct tablet *t, const char *path, const char *xml,
		     size_t len);

/* One check-in of type from the tablet; its HTTP status. */
int pt_checkin(struct env *e, struct tablet *t, enum sim_checkin type);

/* A tablet through the real enrolment (profile, SCEP, Authenticate,
 * TokenUpdate): a new one when t->d is NULL, on iPadOS version (NULL: the
 * simulator's default), else the erased one again. */
void pt_enrol(struct env *e, struct tablet *t, const char *version);

/* Frees the device core and the certificate (not t). */
void pt_tablet_free(struct tablet *t);

/* One session: Idle, then answer every command until the server sends an
 * empty body.  Returns the number of commands answered; *ret_last (may be
 * NULL) gets the last report sent (malloc'd). */
int pt_session(struct env *e, struct tablet *t, char **ret_last, size_t *ret_last_len);

/* The daemon's record of the tablet with that UDID (fails the test if none). */
struct db_device pt_device_row(struct env *e, const char *udid);

/* The first column of the first row of sql (one ?1 = id) read through a
 * connection of its own; -1 for no row. */
int64_t pt_count_rows(struct env *e, const char *sql, int64_t id);

/* cmocka setup and teardown: *state is a struct env on a fresh keystore
 * and database in /tmp/ardoise-proto-XXXXXX, with an enrolment code good
 * for 10 tablets; teardown removes the directory. */
int pt_setup(void **state);
int pt_teardown(void **state);

#endif
