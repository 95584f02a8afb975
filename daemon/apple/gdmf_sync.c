/* gdmf_sync.c - the software update catalogue fetched (libcurl, a work
 * thread) and its last good copy kept. */
#include "gdmf_sync.h"
#include "ap_err.h"
#include "httpsreq.h"
#include "log.h"
#include "store.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FETCH_TIMEOUT_S 60L
#define RETRY_GAP_S	3600 /* the job tries again at most this often after a failure */

static struct {
	uv_once_t once;
	uv_mutex_t lock;
	struct gdmf *cat; /* the last good copy, owned; v.cat shows it */
	struct gdmf_sync_view v;
	char path[4200]; /* DATA_DIR/gdmf.json; "" before gdmf_sync_start() */
	atomic_int stop;
} st = {UV_ONCE_INIT};

static void state_init(void)
{
	uv_mutex_init(&st.lock);
}

/* ---- the copy on disk ----------------------------------------------------------------------- */

/* Reads the whole file (at most GDMF_MAX_BYTES) into *ret (malloc'd). */
static int read_file(const char *path, char **ret, size_t *ret_len, int64_t *ret_mtime)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? AP_ENOTFOUND : AP_EIO;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return AP_EIO;
	}
	if (sb.st_size > (off_t)GDMF_MAX_BYTES) {
		close(fd);
		return AP_ETOOBIG;
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	ssize_t n = 1;
	while (buf && got < (size_t)sb.st_size &&
	       (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (buf == NULL)
		return AP_ENOMEM;
	if (n < 0 || got != (size_t)sb.st_size) {
		free(buf);
		return AP_EIO;
	}
	*ret = buf;
	*ret_len = got;
	*ret_mtime = (int64_t)sb.st_mtime;
	return 0;
}

/* Writes data to path atomically (a temporary file renamed over it, both
 * flushed), its modification time set to `at`. */
static int write_file(const char *path, const char *data, size_t len, int64_t at, char *err,
		      size_t cap)
{
	char tmp[4300];
	struct timespec times[2] = {{(time_t)at, 0}, {(time_t)at, 0}};
	size_t off = 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail_fd;
		off += (size_t)n;
	}
	if (futimens(fd, times) < 0 || fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, path) < 0)
		goto fail;
	char dir[4300];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
fail_fd:
	if (fd >= 0)
		close(fd);
fail:
	snprintf(err, cap, "cannot write %.200s: %s", tmp, strerror(errno));
	unlink(tmp);
	return AP_EIO;
}

void gdmf_sync_start(const struct server *srv)
{
	char *text = NULL, err[300], esc[400];
	size_t len = 0;
	int64_t mtime = 0;
	struct gdmf *cat = NULL;
	uv_once(&st.once, state_init);
	snprintf(st.path, sizeof(st.path), "%s/%s", srv->data_dir, GDMF_SYNC_FILE);
	int rc = read_file(st.path, &text, &len, &mtime);
	if (rc == AP_ENOTFOUND) {
		log_info("gdmf_no_copy", "file=%s", st.path);
		return;
	}
	if (rc == 0)
		rc = gdmf_parse(text, len, &cat, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", ap_strerror(rc));
	free(text);
	if (rc < 0) {
		log_warn("gdmf_copy_unusable", "file=%s error=%s", st.path,
			 log_esc(err, esc, sizeof(esc)));
		return;
	}
	uv_mutex_lock(&st.lock);
	gdmf_free(st.cat);
	st.v.cat = st.cat = cat;
	st.v.fetched_at = mtime;
	st.v.bytes = len;
	uv_mutex_unlock(&st.lock);
	log_info("gdmf_loaded", "file=%s releases=%zu bytes=%zu", st.path, gdmf_count(cat), len);
}

/* ---- one fetch, on a work thread --------------------------------------------------------- */

struct fetch {
	uv_work_t work;
	char url[CONFIG_STR];
	char ca[CONFIG_STR];
	char path[sizeof(st.path)];
	int tries;   /* requests sent */
	long status; /* the last answer's HTTP status, 0: none */
	char error[300];
	struct gdmf *cat; /* the new copy, NULL when this fetch failed */
	size_t bytes;
	int64_t at;
};

/* Waits s seconds, or less when the daemon stops. */
static void pause_s(long s)
{
	for (long i = 0; i < s * 10 && !atomic_load(&st.stop); i++) {
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

/* One answer judged: 1 to ask again (a 429 with a short Retry-After),
 * else 0 with the outcome in f. */
static int judge(struct fetch *f, const struct httpsreq_res *res)
{
	char err[256];
	f->status = res->status;
	if (res->status == 429 && res->retry_after > 0 &&
	    res->retry_after <= GDMF_SYNC_WAIT_MAX_S && f->tries <= GDMF_SYNC_RETRIES &&
	    !atomic_load(&st.stop))
		return 1;
	if (res->status != 200) {
		snprintf(f->error, sizeof(f->error), "HTTP status %ld%s", res->status,
			 res->status == 429 ? " (too many requests)" : "");
		return 0;
	}
	if (gdmf_parse(res->body, res->len, &f->cat, err, sizeof(err)) < 0) {
		snprintf(f->error, sizeof(f->error), "the catalogue is refused: %s", err);
		return 0;
	}
	f->bytes = res->len;
	f->at = db_now();
	if (write_file(f->path, res->body, res->len, f->at, err, sizeof(err)) < 0)
		snprintf(f->error, sizeof(f->error), "fetched but not kept: %s", err);
	return 0;
}

static void fetch_work(uv_work_t *req)
{
	struct fetch *f = req->data;
	struct httpsreq_req q = {f->url,	  f->ca,	 GDMF_MAX_BYTES,
				 FETCH_TIMEOUT_S, "ardoise/0.1", &st.stop};
	for (;;) {
		struct httpsreq_res res;
		f->tries++;
		uv_mutex_lock(&st.lock);
		st.v.attempts++;
		uv_mutex_unlock(&st.lock);
		if (httpsreq(&q, &res, f->error, sizeof(f->error)) < 0) {
			f->status = 0; /* no answer */
			break;
		}
		int again = judge(f, &res);
		free(res.body);
		if (!again)
			break;
		pause_s(res.retry_after);
	}
	if (f->at == 0)
		f->at = db_now();
}

static void fetch_done(uv_work_t *req, int status)
{
	struct fetch *f = req->data;
	char esc[400];
	if (status == UV_ECANCELED && f->error[0] == '\0' && f->cat == NULL)
		snprintf(f->error, sizeof(f->error), "canceled");
	uv_mutex_lock(&st.lock);
	if (f->cat) {
		gdmf_free(st.cat);
		st.v.cat = st.cat = f->cat;
		st.v.fetched_at = f->at;
		st.v.bytes = f->bytes;
	}
	st.v.checked_at = f->at;
	st.v.error_at = f->error[0] ? f->at : 0;
	st.v.error_status = f->error[0] ? f->status : 0;
	snprintf(st.v.error, sizeof(st.v.error), "%s", f->error);
	st.v.fetching = 0;
	uv_mutex_unlock(&st.lock);
	if (f->cat && f->error[0] == '\0')
		log_info("gdmf_fetched", "releases=%zu bytes=%zu tries=%d", gdmf_count(f->cat),
			 f->bytes, f->tries);
	else
		log_warn("gdmf_fetch_failed", "status=%ld tries=%d kept=%s error=%s", f->status,
			 f->tries, f->cat ? "new" : "previous",
			 log_esc(f->error, esc, sizeof(esc)));
	free(f);
}

/* Starts a fetch unless one is in flight. */
static int start(struct worker *w)
{
	const struct config *c = &w->srv->cfg;
	uv_once(&st.once, state_init);
	struct fetch *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return AP_ENOMEM;
	uv_mutex_lock(&st.lock);
	int busy = st.v.fetching;
	st.v.fetching = 1;
	uv_mutex_unlock(&st.lock);
	if (busy) {
		free(f);
		return 0;
	}
	snprintf(f->url, sizeof(f->url), "%s", c->updates_catalogue_url);
	snprintf(f->ca, sizeof(f->ca), "%s", c->updates_catalogue_ca);
	if (st.path[0])
		snprintf(f->path, sizeof(f->path), "%s", st.path);
	else
		snprintf(f->path, sizeof(f->path), "%s/%s", w->srv->data_dir, GDMF_SYNC_FILE);
	f->work.data = f;
	int rc = uv_queue_work(&w->loop, &f->work, fetch_work, fetch_done);
	if (rc < 0) {
		uv_mutex_lock(&st.lock);
		st.v.fetching = 0;
		uv_mutex_unlock(&st.lock);
		free(f);
		return AP_EIO;
	}
	return 0;
}

int gdmf_sync_job(struct worker *w)
{
	int64_t hours = w->srv->cfg.updates_refresh_hours, now = db_now();
	if (hours == 0 || atomic_load(&st.stop))
		return 0;
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	int due = !st.v.fetching &&
		  (st.v.fetched_at == 0 || now - st.v.fetched_at >= hours * 3600) &&
		  (st.v.checked_at == 0 || now - st.v.checked_at >= RETRY_GAP_S);
	uv_mutex_unlock(&st.lock);
	return due ? start(w) : 0;
}

int gdmf_sync_now(struct worker *w)
{
	return atomic_load(&st.stop) ? 0 : start(w);
}

void gdmf_sync_stop(void)
{
	atomic_store(&st.stop, 1);
}

void gdmf_sync_read(void (*fn)(const struct gdmf_sync_view *v, void *arg), void *arg)
{
	uv_once(&st.once, state_init);
	uv_mutex_lock(&st.lock);
	fn(&st.v, arg);
	uv_mutex_unlock(&st.lock);
}
