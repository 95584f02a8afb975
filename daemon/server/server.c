/* server.c - listeners, worker threads, signals (stop, reload), readiness
 * for systemd and the drain. */
#include "server.h"
#include "ap_err.h"
#include "audit_head.h"
#include "conn.h"
#include "db_audit.h"
#include "log.h"
#include "jobs.h"
#include "push.h"
#include "store.h"
#include "keystore.h"
#include "quota.h"
#include "ap_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

/* Connections accepted per wake-up of the listener: the rest wait for the
 * next loop iteration, so a flood of new connections cannot starve the
 * open ones. */
#define ACCEPT_BATCH 64
/* Out of descriptors, accepting pauses 10 ms, doubled up to this. */
#define ACCEPT_PAUSE_MAX_MS 1000
/* Descriptors kept out of max_connections: per worker (its listener, its
 * database, WAL and shared memory, libuv's own), and for the process
 * (standard streams, the push connection, files opened at run time). */
#define FD_RESERVE_WORKER  8
#define FD_RESERVE_PROCESS 64

/* "127.0.0.1:8443", "[::1]:8443", ":8443" -> sockaddr. */
static int parse_listen(const char *s, int port_override, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return AP_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return AP_EINVAL;
	if (port_override >= 0)
		port = port_override;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']')
			return AP_EINVAL;
		host[n - 1] = '\0';
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : AP_EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (host[0] == '\0')
		return 0;
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : AP_EINVAL;
}

static int bind_one(const struct sockaddr_storage *ss, int *ret_fd, int *ret_port)
{
	int one = 1;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return AP_EIO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss,
		 ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in)) < 0) {
		close(fd);
		return AP_EIO;
	}
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	getsockname(fd, (struct sockaddr *)&got, &len);
	*ret_port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
						    : ((struct sockaddr_in *)&got)->sin_port);
	*ret_fd = fd;
	return 0;
}

static void on_listener(uv_poll_t *p, int status, int events);

static void accept_resume(uv_timer_t *t)
{
	struct worker *w = t->data;
	if (!w->draining)
		uv_poll_start(&w->listener, UV_READABLE, on_listener);
}

/* Stops accepting for a while (the pause doubles while the error lasts):
 * out of descriptors, accept() would fail at once forever.  Connections
 * keep their deadlines meanwhile, and each one closed gives a descriptor
 * back. */
static void accept_pause(struct worker *w, int err)
{
	uint64_t dropped = 0;
	w->accept_backoff_ms = w->accept_backoff_ms ? w->accept_backoff_ms * 2 : 10;
	if (w->accept_backoff_ms > ACCEPT_PAUSE_MAX_MS)
		w->accept_backoff_ms = ACCEPT_PAUSE_MAX_MS;
	uv_poll_stop(&w->listener);
	uv_timer_start(&w->accept_timer, accept_resume, w->accept_backoff_ms, 0);
	if (log_rate_pass(&w->accept_log, uv_now(&w->loop), &dropped))
		log_warn(
		    "accept_paused",
		    "worker=%d error=\"%s\" open_connections=%zu pause_ms=%llu not_logged=%llu",
		    w->id, strerror(err), w->n_conns, (unsigned long long)w->accept_backoff_ms,
		    (unsigned long long)dropped);
}

static void on_listener(uv_poll_t *p, int status, int events)
{
	struct worker *w = p->data;
	(void)events;
	if (status < 0) {
		accept_pause(w, -status);
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && !w->draining; i++) {
		int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			w->accept_backoff_ms = 0;
			conn_accept(w, fd);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno != EINTR && errno != ECONNABORTED) {
			accept_pause(w, errno); /* EMFILE, ENFILE, ENOBUFS, ENOMEM... */
			return;
		}
	}
}

static void finish_if_drained(struct worker *w)
{
	if (w->n_conns > 0)
		return;
	if (!uv_is_closing((uv_handle_t *)&w->drain_timer))
		uv_close((uv_handle_t *)&w->drain_timer, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->accept_timer))
		uv_close((uv_handle_t *)&w->accept_timer, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->wake))
		uv_close((uv_handle_t *)&w->wake, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->reload))
		uv_close((uv_handle_t *)&w->reload, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->log_flush))
		uv_close((uv_handle_t *)&w->log_flush, NULL); /* worker_main flushes the rest */
	conn_group_close(w); /* the last answers held were sent or dropped */
	jobs_stop(w);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct worker *w = t->data;
	log_warn("drain_timeout", "worker=%d open_connections=%zu", w->id, w->n_conns);
	conn_close_all(w);
}

static void on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	if (!w->draining) {
		w->draining = 1;
		uv_close((uv_handle_t *)&w->listener, NULL); /* stops polling the fd */
		close(w->listen_fd);
		uv_timer_stop(&w->accept_timer);
		conn_drain_all(w);
		uv_timer_start(&w->drain_timer, on_drain_timeout,
			       (uint64_t)w->srv->cfg.drain_timeout_ms, 0);
	}
	finish_if_drained(w);
}

/* SIGHUP, on the worker's own loop between two callbacks (no request is
 * half-handled): this thread takes the current device trust anchors, and
 * connections accepted from now get a TLS context with them.  Open
 * connections keep the context they were made with (their SSL holds a
 * reference to it); a request already read is checked with the anchors its
 * thread holds, the new ones. */
static void on_reload(uv_async_t *a)
{
	struct worker *w = a->data;
	SSL_CTX *ctx = NULL;
	keystore_trust_adopt(w->srv->ks);
	int rc = keystore_tls_ctx(w->srv->ks, w->libctx, w->srv->tls_sessions, &ctx);
	if (rc < 0) {
		log_error("reload_tls_failed", "worker=%d error=\"%s\"", w->id, ap_strerror(rc));
	} else {
		SSL_CTX_free(w->ssl_ctx);
		w->ssl_ctx = ctx;
	}
	uv_sem_post(&w->srv->reloaded);
}

static void on_log_flush(uv_prepare_t *p)
{
	(void)p;
	log_flush();
}

/* The loop's info lines are buffered and written once an iteration, before
 * it waits (on_log_flush); what is left when it ends (the drain) is
 * written here. */
static void worker_main(void *arg)
{
	struct worker *w = arg;
	OSSL_LIB_CTX_set0_default(w->libctx);
	log_buffer_begin(); /* out of memory: lines written at once */
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	db_close(w->db);
	w->db = NULL;
	keystore_trust_leave();
	log_buffer_end();
}

/* The worker's library context, with the default provider alone: each
 * provider more lengthens every certificate parse (OpenSSL 3.0 walks them
 * all to find a decoder).  SCEP, which may need the legacy provider for
 * single DES, switches to the global context itself (ap_scep.c). */
static int worker_crypto(struct server *srv, struct worker *w)
{
	if ((w->libctx = OSSL_LIB_CTX_new()) == NULL ||
	    (w->provider = OSSL_PROVIDER_load(w->libctx, "default")) == NULL)
		return AP_ECRYPTO;
	return keystore_tls_ctx(srv->ks, w->libctx, srv->tls_sessions, &w->ssl_ctx);
}

static void worker_crypto_free(struct worker *w)
{
	SSL_CTX_free(w->ssl_ctx);
	w->ssl_ctx = NULL;
	if (w->provider)
		OSSL_PROVIDER_unload(w->provider);
	OSSL_LIB_CTX_free(w->libctx);
	w->libctx = NULL;
}

static int worker_start(struct server *srv, struct worker *w)
{
	int rc;
	w->srv = srv;
	if ((rc = worker_crypto(srv, w)) < 0)
		return rc;
	if ((rc = worker_db_open(srv, &w->db)) < 0)
		return rc;
	uv_loop_init(&w->loop);
	uv_async_init(&w->loop, &w->wake, on_wake);
	uv_async_init(&w->loop, &w->reload, on_reload);
	uv_timer_init(&w->loop, &w->drain_timer);
	uv_timer_init(&w->loop, &w->accept_timer);
	w->wake.data = w->reload.data = w->drain_timer.data = w->accept_timer.data = w;
	uv_prepare_init(&w->loop, &w->log_flush);
	uv_prepare_start(&w->log_flush, on_log_flush);
	uv_unref((uv_handle_t *)&w->log_flush);
	conn_group_init(w);
	if (listen(w->listen_fd, 4096) < 0 ||
	    uv_poll_init_socket(&w->loop, &w->listener, w->listen_fd) < 0)
		return AP_EIO;
	w->listener.data = w;
	if (uv_poll_start(&w->listener, UV_READABLE, on_listener) < 0)
		return AP_EIO;
	if (w->id == 0 && (rc = jobs_start(w)) < 0)
		return rc;
	if (uv_thread_create(&w->thread, worker_main, w) != 0)
		return AP_ENOMEM;
	return 0;
}

/* The signals the main thread waits for (blocked in every thread). */
static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;
	signal_set(&set);
	sigwait(&set, &sig);
	return sig;
}

/* ---- reload (SIGHUP) ------------------------------------------------------ */

/* Tells systemd (Type=notify) where the daemon is: a no-op without
 * NOTIFY_SOCKET.  RELOADING=1 carries the monotonic clock systemd wants
 * with it (Type=notify-reload). */
static void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
		       (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* "127.0.0.1" of listen "127.0.0.1:0" (the bound port is srv->port). */
static void listen_host(const struct server *srv, char *out, size_t cap)
{
	snprintf(out, cap, "%s", srv->cfg.listen);
	char *colon = strrchr(out, ':');
	if (colon)
		*colon = '\0';
}

static void notify_ready(struct server *srv)
{
	char addr[CONFIG_STR];
	listen_host(srv, addr, sizeof(addr));
	sd_notifyf(0, "READY=1\nMAINPID=%lu\nSTATUS=listening on %s:%d, %d workers",
		   (unsigned long)getpid(), addr, srv->port, srv->n_workers);
}

static void note_ignored(void *arg, const char *key)
{
	(void)arg;
	log_warn("reload_ignored",
		 "key=%s msg=\"changed in the file, kept as it was: a restart "
		 "applies it\"",
		 key);
}

/* Applies next's [log] level and file: the file is opened again even when
 * its name did not change (logrotate moved it). */
static int reload_log(const struct config *next)
{
	char err[600], esc[700];
	enum log_level lvl;
	if (log_level_from_name(next->log_level, &lvl) == 0)
		log_set_level(lvl);
	if (log_set_file(next->log_file, err, sizeof(err)) < 0) {
		log_error("reload_log_file_failed", "error=%s kept=previous_destination",
			  log_esc(err, esc, sizeof(esc)));
		return AP_EIO;
	}
	return 0;
}

/* [mdm] device_ca, read again even when its name did not change (the
 * file's content may have): every worker takes the new set before this
 * returns.  *ret_changed: the set of anchors changed. */
static int reload_anchors(struct server *srv, const struct config *next, int *ret_changed)
{
	char err[600], esc[700];
	int rc = keystore_trust_reload(srv->ks, next->device_ca, ret_changed, err, sizeof(err));
	if (rc < 0) {
		log_error("reload_anchors_failed", "error=%s kept=anchors_in_use",
			  log_esc(err, esc, sizeof(esc)));
		return rc;
	}
	if (!*ret_changed)
		return 0;
	for (int i = 0; i < srv->n_workers; i++)
		uv_async_send(&srv->workers[i].reload);
	for (int i = 0; i < srv->n_workers; i++)
		uv_sem_wait(&srv->reloaded);
	return 0;
}

/* Whether one of next's [push] identity keys differs from cur's. */
static int push_keys_changed(const struct config *cur, const struct config *next)
{
	return strcmp(cur->push_cert, next->push_cert) || strcmp(cur->push_key, next->push_key) ||
	       strcmp(cur->push_passphrase, next->push_passphrase) ||
	       strcmp(cur->push_ca, next->push_ca);
}

/* SIGHUP: reads the configuration again and applies what may change while
 * serving ([log], the push identity, the device anchors); any other key
 * changed keeps its running value (reload_ignored).  A file that does not
 * parse changes nothing.  The connections stay open.  file_cfg: the
 * configuration as last read (srv->cfg may differ: max_connections fitted
 * to the descriptors). */
static void reload(struct server *srv, struct config *file_cfg)
{
	char err[600], esc[700], changed[400];
	struct config *next = malloc(sizeof(*next));
	int anchors = 0, failed = 0;
	notify_reloading();
	if (next == NULL || srv->reread == NULL) {
		log_error("reload_failed", "error=\"%s\"",
			  next ? "no configuration to read again" : "out of memory");
		goto out;
	}
	if (srv->reread(next, err, sizeof(err)) < 0) {
		log_error("reload_failed", "error=%s kept=every_value",
			  log_esc(err, esc, sizeof(esc)));
		goto out;
	}
	failed |= reload_log(next) < 0; /* first: what follows goes to the new file */
	config_reload_merge(file_cfg, next, note_ignored, NULL, changed, sizeof(changed));
	failed |= reload_anchors(srv, next, &anchors) < 0;
	int pushed = push_reload(srv, next, push_keys_changed(file_cfg, next));
	if (pushed == AP_EUNSUPPORTED)
		log_warn("reload_ignored", "key=push.cert msg=\"push was off or its certificate "
					   "unusable at start (or is turned off now): a restart "
					   "applies it\"");
	failed |= pushed < 0 && pushed != AP_EUNSUPPORTED;
	/* what the running daemon now uses: only the main thread reads these */
	snprintf(srv->cfg.log_level, CONFIG_STR, "%s", next->log_level);
	snprintf(srv->cfg.log_file, CONFIG_STR, "%s", next->log_file);
	snprintf(srv->cfg.device_ca, CONFIG_STR, "%s", next->device_ca);
	if (pushed != AP_EUNSUPPORTED) {
		snprintf(srv->cfg.push_cert, CONFIG_STR, "%s", next->push_cert);
		snprintf(srv->cfg.push_key, CONFIG_STR, "%s", next->push_key);
		snprintf(srv->cfg.push_passphrase, CONFIG_STR, "%s", next->push_passphrase);
		snprintf(srv->cfg.push_ca, CONFIG_STR, "%s", next->push_ca);
	} else { /* kept as they were (a restart applies them) */
		memcpy(next->push_cert, file_cfg->push_cert, CONFIG_STR);
		memcpy(next->push_key, file_cfg->push_key, CONFIG_STR);
		memcpy(next->push_passphrase, file_cfg->push_passphrase, CONFIG_STR);
		memcpy(next->push_ca, file_cfg->push_ca, CONFIG_STR);
	}
	*file_cfg = *next;
	log_info("reloaded", "changed=%s anchors=%s push_identity=%s log_file=reopened%s",
		 changed[0] ? changed : "none", anchors ? "new" : "same",
		 pushed == 1 ? "new" : "same", failed ? " partial=1" : "");
out:
	free(next);
	notify_ready(srv);
}

/* Raises the soft RLIMIT_NOFILE (up to the hard one) to what
 * max_connections needs, or lowers max_connections to what fits, with a
 * warning: past the limit, accept() fails and connections are refused. */
static void fit_descriptors(struct server *srv)
{
	struct rlimit rl;
	uint64_t n = (uint64_t)srv->n_workers;
	uint64_t reserve = FD_RESERVE_PROCESS + FD_RESERVE_WORKER * n;
	uint64_t want = (uint64_t)srv->cfg.max_connections * n + reserve;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= want)
		return;
	struct rlimit up = {rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max,
			    rl.rlim_max};
	if (setrlimit(RLIMIT_NOFILE, &up) == 0)
		rl = up;
	if (rl.rlim_cur >= want)
		return;
	int64_t fit = rl.rlim_cur > reserve + n ? (int64_t)((rl.rlim_cur - reserve) / n) : 1;
	log_warn("max_connections_lowered",
		 "configured=%lld now=%lld workers=%d nofile=%llu msg=\"the descriptor limit "
		 "(ulimit -n, systemd LimitNOFILE=) is too low for max_connections\"",
		 (long long)srv->cfg.max_connections, (long long)fit, srv->n_workers,
		 (unsigned long long)rl.rlim_cur);
	srv->cfg.max_connections = fit;
}

int server_run(struct server *srv)
{
	struct sockaddr_storage ss;
	int rc, started = 0;
	sigset_t set;

	if (parse_listen(srv->cfg.listen, -1, &ss) < 0) {
		log_error("bad_listen", "listen=%s", srv->cfg.listen);
		return AP_ECONFIG;
	}
	srv->n_workers =
	    srv->cfg.workers > 0 ? (int)srv->cfg.workers : (int)uv_available_parallelism();
	/* the configuration as read, before fit_descriptors() adjusts it: what
	 * a reload compares the file with */
	struct config *file_cfg = malloc(sizeof(*file_cfg));
	if (file_cfg == NULL)
		return AP_ENOMEM;
	*file_cfg = srv->cfg;
	if (uv_sem_init(&srv->reloaded, 0) < 0) {
		free(file_cfg);
		return AP_ENOMEM;
	}
	srv->workers = calloc((size_t)srv->n_workers, sizeof(*srv->workers));
	fit_descriptors(srv);
	uint64_t total = (uint64_t)srv->cfg.max_connections * (uint64_t)srv->n_workers;
	if (srv->workers == NULL ||
	    ap_tls_sessions_new((size_t)srv->cfg.tls_session_cache, &srv->tls_sessions) < 0 ||
	    quota_new((uint64_t)srv->cfg.body_budget_bytes,
		      (uint64_t)srv->cfg.max_connections_per_ip,
		      total / 4 > 65536 ? 65536 : (size_t)total / 4, &srv->quota) < 0) {
		ap_tls_sessions_free(srv->tls_sessions);
		free(srv->workers);
		free(file_cfg);
		uv_sem_destroy(&srv->reloaded);
		return AP_ENOMEM;
	}

	/* the first bind fixes the port (listen may ask for 0); the others
	 * join it with SO_REUSEPORT */
	for (int i = 0; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		w->id = i;
		if (i > 0)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)srv->port);
		if ((rc = bind_one(&ss, &w->listen_fd, &srv->port)) < 0) {
			log_error("bind_failed", "listen=%s error=\"%s\"", srv->cfg.listen,
				  strerror(errno));
			goto out;
		}
	}

	/* only the main thread takes SIGTERM/SIGINT/SIGHUP, through sigwait() */
	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the push thread first: workers may queue commands at once */
	if ((rc = push_start(srv)) < 0) {
		log_error("push_failed", "error=\"%s\"", ap_strerror(rc));
		goto out;
	}
	for (; started < srv->n_workers; started++) {
		if ((rc = worker_start(srv, &srv->workers[started])) < 0) {
			log_error("worker_failed", "worker=%d error=\"%s\"", started,
				  ap_strerror(rc));
			goto stop;
		}
	}
	char addr[CONFIG_STR];
	listen_host(srv, addr, sizeof(addr));
	log_info("listening", "addr=%s:%d workers=%d", addr, srv->port, srv->n_workers);
	notify_ready(srv);

	int sig;
	while ((sig = wait_for_signal()) == SIGHUP)
		reload(srv, file_cfg);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
	log_info("shutdown", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
stop:
	for (int i = 0; i < started; i++)
		uv_async_send(&srv->workers[i].wake);
	for (int i = 0; i < started; i++)
		uv_thread_join(&srv->workers[i].thread);
	push_stop(srv); /* after the workers: nothing more can be queued */
	audit_head_final(srv);
	log_info("stopped", "workers=%d", started);
out:
	/* the cached sessions hold certificates of the workers' contexts */
	ap_tls_sessions_free(srv->tls_sessions);
	srv->tls_sessions = NULL;
	quota_free(srv->quota);
	srv->quota = NULL;
	for (int i = 0; i < srv->n_workers; i++)
		worker_crypto_free(&srv->workers[i]);
	free(srv->workers);
	srv->workers = NULL;
	free(file_cfg);
	uv_sem_destroy(&srv->reloaded);
	return rc;
}
