/* log.c - key=value lines on stderr or a file: written with one write()
 * each, or buffered per loop iteration by the threads that ask. */
#include "log.h"
#include "ap_err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* Where lines go: -1 (standard error) until log_set_file() gives the log
 * a descriptor of its own.  Its number never changes afterwards: a later
 * log_set_file() dup2()s the new file onto it, so a thread writing a line
 * meanwhile writes it whole to the old file or the new one, never to a
 * descriptor closed (or reused by a socket) under it. */
static _Atomic int log_fd = -1;
/* Taken around every write(): a buffer longer than PIPE_BUF written to a
 * pipe is not atomic, and a line of another thread must not land inside
 * it. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
/* The calling thread's buffer (LOG_BUFFER_SIZE bytes), NULL when its
 * lines are written at once. */
static _Thread_local char *tl_buf;
static _Thread_local size_t tl_len;

/* Writes p whole, under write_mu. */
static void write_all(const char *p, size_t n)
{
	int fd = atomic_load(&log_fd);
	if (fd < 0)
		fd = STDERR_FILENO;
	pthread_mutex_lock(&write_mu);
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to write: the lines are lost, as before */
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&write_mu);
}

int log_buffer_begin(void)
{
	if (tl_buf == NULL && (tl_buf = malloc(LOG_BUFFER_SIZE)) == NULL)
		return AP_ENOMEM;
	tl_len = 0;
	return 0;
}

void log_flush(void)
{
	if (tl_len > 0)
		write_all(tl_buf, tl_len);
	tl_len = 0;
}

void log_buffer_end(void)
{
	log_flush();
	free(tl_buf);
	tl_buf = NULL;
}

/* Buffers the line, or writes it (with what waits before it). */
static void emit(enum log_level l, const char *line, size_t n)
{
	if (tl_buf == NULL) {
		write_all(line, n);
		return;
	}
	if (tl_len + n > LOG_BUFFER_SIZE)
		log_flush();
	memcpy(tl_buf + tl_len, line, n); /* n < 2048 < LOG_BUFFER_SIZE */
	tl_len += n;
	if (l >= LOG_WARN)
		log_flush();
}

void log_set_level(enum log_level l)
{
	atomic_store(&min_level, (int)l);
}

int log_set_file(const char *path, char *err, size_t errcap)
{
	int fd = path && path[0]
		     ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600)
		     : fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 && !(path && path[0]))
		return 0; /* standard error is closed: nothing to send lines to instead */
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return AP_EIO;
	}
	int cur = atomic_load(&log_fd);
	if (cur < 0) {
		atomic_store(&log_fd, fd);
		return 0;
	}
	int rc = dup2(fd, cur) < 0 ? AP_EIO : 0;
	if (rc < 0)
		snprintf(err, errcap, "%s: %s", path && path[0] ? path : "standard error",
			 strerror(errno));
	close(fd);
	return rc;
}

int log_level_from_name(const char *name, enum log_level *ret)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level l)
{
	return (int)l >= atomic_load(&min_level);
}

void log_msg(enum log_level l, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	if (!log_enabled(l))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s event=%s ",
			      (long)(tv.tv_usec / 1000), level_names[l], event);
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += (size_t)m;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	emit(l, line, n);
}

int log_rate_pass(struct log_rate *r, uint64_t now_ms, uint64_t *ret_dropped)
{
	if (now_ms < r->next_ms) {
		r->dropped++;
		return 0;
	}
	*ret_dropped = r->dropped;
	r->dropped = 0;
	r->next_ms = now_ms + 1000;
	return 1;
}

const char *log_esc(const char *s, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	int quote = 0;
	if (s == NULL)
		return "-";
	if (*s == '\0')
		return "\"\"";
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
			quote = 1;
	if (quote)
		out[o++] = '"';
	for (; s[i] && i < 200 && o + 6 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (s[i] && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}
