/*
 * conn.h - one client connection: TCP (libuv) -> TLS filter -> HTTP.
 *
 * An explicit state machine; conn_set_state() is the one place the state
 * changes.  A connection is freed only from its libuv close callbacks,
 * after both of its handles (tcp, timer) have closed.
 */
#ifndef CONN_H
#define CONN_H

#include <uv.h>

struct worker;

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake in progress */
	CONN_IDLE,	/* between requests (keep-alive) */
	CONN_HEAD,	/* receiving request line and headers */
	CONN_BODY,	/* receiving the body */
	CONN_CLOSING,	/* uv_close issued, waiting for the callbacks */
};

/* Serves a connection the worker's listener accepted (fd: non-blocking,
 * owned from now on), or closes it at once when the worker is draining or
 * full, or its address holds [server] max_connections_per_ip. */
void conn_accept(struct worker *w, int fd);
/* Drain: idle connections close now, busy ones after their answer. */
void conn_drain_all(struct worker *w);
/* Closes every connection now (drain timeout). */
void conn_close_all(struct worker *w);

/* Group commit (conn.c): the worker's check and idle handles, started
 * once its loop is initialised; conn_group_commit() commits the loop's
 * group and sends the answers held for it (503s when it failed), which
 * the check handle does after every poll; conn_group_close() does it a
 * last time and closes the handles (the drain's end). */
void conn_group_init(struct worker *w);
void conn_group_commit(struct worker *w);
void conn_group_close(struct worker *w);

#endif
