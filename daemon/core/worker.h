/*
 * worker.h - the process and its event loops, as every module sees them.
 *
 * One struct server for the process; one struct worker per event loop,
 * each on its own thread with its own listening socket (SO_REUSEPORT, the
 * kernel spreads connections), its own database connection and its own
 * connections.  Nothing mutable is shared between workers except through
 * the database.
 */
#ifndef WORKER_H
#define WORKER_H

#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "log.h"

struct db;
struct keystore;
struct conn;
struct conn_held;
struct push;
struct ap_tls_sessions;

struct worker {
	int id;
	struct server *srv;
	uv_loop_t loop;
	/* the listening socket is polled and accepted here rather than by
	 * uv_listen(): out of descriptors, accepting pauses (accept_timer,
	 * backing off up to a second) instead of spinning */
	uv_poll_t listener;
	uv_timer_t accept_timer;
	uint64_t accept_backoff_ms; /* 0 while accepting normally */
	struct log_rate accept_log; /* accept errors, refused connections */
	uv_async_t wake;	    /* asks the loop to drain and stop */
	uv_async_t reload;	    /* SIGHUP: take the new trust anchors (server.c) */
	uv_timer_t drain_timer;
	/* before the loop waits for I/O: writes the log lines this thread
	 * buffered during the iteration (log_flush(); unreferenced, it keeps
	 * no loop alive) */
	uv_prepare_t log_flush;
	uv_thread_t thread;
	int listen_fd;
	int draining;
	struct db *db; /* this loop's own connection */
	/* this loop's own OpenSSL library context (the thread's default, so
	 * every OpenSSL call on it) and TLS context: OpenSSL 3.0 guards its
	 * algorithm and decoder stores with locks per library context, and
	 * one context shared by the cores spent more time in them than in
	 * the cryptography */
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *provider; /* "default" */
	SSL_CTX *ssl_ctx;
	/* group commit (conn.c): answers held until this loop's group of
	 * writes commits, in order; the check handle commits after each poll,
	 * the idle one keeps the poll from blocking while answers are held */
	struct conn_held *held, **held_last;
	uv_check_t group_check;
	uv_idle_t group_idle;
	/* tablet requests put off, unstarted, while another writer has the
	 * write lock (in order of arrival; conn.c): group_wake is signalled
	 * when this loop's turn comes, and dispatches them into its group */
	struct conn *deferred, *deferred_last;
	struct conn *dispatching; /* the one being dispatched, NULL otherwise */
	uv_async_t group_wake;
	struct conn *conns; /* doubly linked list of live connections */
	size_t n_conns;
	uint64_t next_id;
	char rbuf[65536]; /* read buffer: libuv reads are synchronous per loop */
	void *jobs;	  /* scheduler state (worker 0 only), NULL elsewhere */
};

struct server {
	struct config cfg;
	char data_dir[4096];
	char db_path[4200];
	struct keystore *ks;
	struct ap_tls_sessions *tls_sessions; /* resumption, shared by the workers */
	int port;			      /* bound port (useful when listen asked for 0) */
	int n_workers;
	struct worker *workers;
	struct push *push;   /* the APNs push thread, NULL when push is off */
	struct quota *quota; /* body bytes in flight, connections per address */
	/* SIGHUP: reads the configuration again as at start (main.c: the
	 * --config file and the command line's overrides) into ret; on
	 * failure "file:line: reason" in err.  NULL: nothing to read again. */
	int (*reread)(struct config *ret, char *err, size_t cap);
	uv_sem_t reloaded; /* each worker posts once it took the new anchors */
	/* the audit log was found behind its saved head at start (a /healthz
	 * warning), "" otherwise; written before the workers start */
	char audit_warning[512];
	/* the audit head last saved (audit_head.c): worker 0's job, then the
	 * main thread once the workers are joined */
	int64_t audit_saved_id;
	char audit_saved_hash[65];
};

/* Opens a connection to the database with the audit chain's key and the
 * configured synchronous mode set (each loop, and the push thread, has
 * its own). */
int worker_db_open(struct server *srv, struct db **ret);

/* What a long run on a worker's loop logs: milliseconds of wall clock since
 * t0 (uv_hrtime()), and the CPU time of the calling thread in ms (the wall
 * clock lies on a busy machine; 0 if the clock cannot be read). */
int64_t worker_ms_since(uint64_t t0);
int64_t worker_cpu_ms(void);

#endif
