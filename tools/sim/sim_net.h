/*
 * sim_net.h - the simulator's network engine: libuv loops (one per
 * thread), TLS over memory BIOs (OpenSSL), HTTP/1.1 requests written by
 * hand and responses parsed with http-parser.
 *
 * A run starts n tasks (device sessions, enrolments) with at most
 * `concurrency` in flight, optionally paced at `rate` starts per second,
 * spread over `threads` event loops.  Each task opens connections
 * (sim_conn_open), sends requests one at a time on them, and ends with
 * sim_task_done(); the run measures each task's latency and counts its
 * errors.  Errors are never fatal to the run.
 *
 * Threads: a task and its connections live on one loop; everything a task
 * touches (its device) must not be shared with another task of the same
 * run.  Callbacks run on the loop's thread.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* The groups an iPad's ClientHello offers, X25519 first with its key
 * share (Apple's TLS stack is BoringSSL: X25519, P-256, P-384).  iPadOS 26
 * puts the hybrid X25519MLKEM768 first with a second key share (Apple,
 * support.apple.com/122756), which OpenSSL 3.0 cannot offer and the
 * daemon's OpenSSL 3.0 ignores: it takes the X25519 share, no retry. */
#define SIM_IPAD_GROUPS "X25519:P-256:P-384"

/* What every connection of a run shares; filled by sim_net_cfg_init(). */
struct sim_net_cfg {
	char host[256]; /* from the URL: TLS name check and Host header */
	int port;
	struct sockaddr_storage addr; /* resolved once */
	SSL_CTX *ctx;		      /* client context: server verified against the CA */
	char ca_file[4096];	      /* for the contexts of the other threads */
	unsigned timeout_ms;	      /* per request, connection set-up included */
	size_t max_body;	      /* response bodies larger than this are errors */
	int resume;    /* offer and keep TLS sessions (struct sim_identity.session) */
	int keepalive; /* connections without identity are pooled across tasks */
	/* what the client offers and says (sim_net_cfg_client()): TLS groups
	 * in order (the first gets the key share), "" for OpenSSL's default;
	 * the User-Agent */
	char groups[128];
	const char *user_agent;
};

/* url: https://HOST[:PORT] (a path is ignored); ca_file: PEM of the CA
 * that issued the server certificate.  err receives a one-line reason. */
int sim_net_cfg_init(struct sim_net_cfg *c, const char *url, const char *ca_file, char *err,
		     size_t cap);
void sim_net_cfg_clear(struct sim_net_cfg *c);
/* The TLS groups offered (OpenSSL's list syntax, "X25519:P-256:P-384";
 * NULL: OpenSSL's default) and the User-Agent (NULL: "ardoise-sim"), for
 * every connection of the runs that follow.  AP_EINVAL for a group list
 * OpenSSL refuses. */
int sim_net_cfg_client(struct sim_net_cfg *c, const char *groups, const char *user_agent);

struct sim_loop;

/* One task of a run.  The engine owns it; `user` is the task's own state,
 * which the task must free before calling sim_task_done(). */
struct sim_task {
	struct sim_loop *loop;
	size_t index; /* 0 .. n-1 */
	void *arg;    /* the run's argument */
	void *user;
	uint64_t t0; /* start (scheduled start when paced), uv_hrtime() ns */
};

typedef void (*sim_task_fn)(struct sim_task *t);

struct sim_run_opts {
	size_t n;
	unsigned concurrency; /* >= 1 */
	unsigned threads;     /* >= 1 */
	double rate;	      /* task starts per second; 0: as fast as concurrency allows */
};

/* What a run measured.  lat_ms: one latency per task (milliseconds, from
 * the scheduled start when paced), malloc'd; free with sim_stats_clear(). */
struct sim_stats {
	size_t tasks, errors;
	/* requests answered, TLS handshakes completed and how many of them
	 * resumed a session: per session, what other tools' figures compare on */
	size_t requests, handshakes, resumed;
	double seconds;
	double *lat_ms;
	size_t n_lat;
	char first_error[240];
};

/* Runs the tasks; start(t) is called on t's loop thread.  Returns 0 when
 * the run took place (whatever the tasks' errors), else an AP_E* code. */
int sim_net_run(const struct sim_net_cfg *cfg, const struct sim_run_opts *o, sim_task_fn start,
		void *arg, struct sim_stats *ret);
void sim_stats_clear(struct sim_stats *s);
/* p in [0, 100]; sorts s->lat_ms.  0 when there is none. */
double sim_stats_percentile(struct sim_stats *s, double p);

/* Ends the task.  err 0 for success, else an AP_E* code and why (may be
 * NULL) a one-line reason kept if it is the run's first error. */
void sim_task_done(struct sim_task *t, int err, const char *why);

/* ---- connections ---- */

/* The client identity of a connection; all borrowed for the connection's
 * life.  session (may be NULL): a TLS session to resume (when resume is on)
 * and where the newest session received is stored (SSL_SESSION_free the
 * old one). */
struct sim_identity {
	X509 *cert; /* NULL: no client certificate */
	EVP_PKEY *key;
	SSL_SESSION **session;
};

struct sim_conn;

/* A connection for task t: a new TCP+TLS connection presenting id (NULL:
 * no client certificate), or with cfg->keepalive and id NULL an idle pooled
 * one when there is.  Connecting happens with the first request.  NULL only
 * when out of memory. */
struct sim_conn *sim_conn_open(struct sim_task *t, const struct sim_identity *id);

struct sim_http_req {
	const char *method, *path; /* path with its query string */
	const char *content_type;  /* NULL: no Content-Type */
	const char *headers;	   /* extra header lines, each ending in \r\n; NULL: none */
	const void *body;
	size_t len;
};

struct sim_http_resp {
	int status;
	const char *body; /* valid during the callback only; NUL-terminated */
	size_t len;
};

/*
 * Called once per request.  err 0: resp is the answer (any HTTP status);
 * the connection can carry the next request or be released.  err < 0
 * (AP_EIO, AP_ETIMEOUT, AP_ECRYPTO, AP_ETOOBIG): resp is NULL, why says
 * what happened, and the connection is already gone: forget it.
 */
typedef void (*sim_resp_fn)(struct sim_conn *c, struct sim_task *t, int err,
			    const struct sim_http_resp *resp, const char *why);

/* Sends req (copied) and calls cb with the answer.  One request at a time
 * per connection: AP_EBUSY otherwise. */
int sim_conn_request(struct sim_conn *c, const struct sim_http_req *req, sim_resp_fn cb);
/* The task is done with c: it goes back to the pool (keepalive, no
 * identity, still usable) or is closed (TLS close_notify first). */
void sim_conn_release(struct sim_conn *c);
/* Whether the handshake resumed a session (valid after a first answer). */
int sim_conn_resumed(const struct sim_conn *c);

#endif
