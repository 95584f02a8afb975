/* log.c - key=value lines on stderr or a file, written with one write() each. */
#include "log.h"
#include "ap_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
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
	int fd = atomic_load(&log_fd);
	ssize_t w = write(fd < 0 ? STDERR_FILENO : fd, line, n);
	(void)w;
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
