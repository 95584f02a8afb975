/* log.c - key=value lines on stderr, written with one write() each. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level l)
{
	min_level = l;
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
	return l >= min_level;
}

void log_msg(enum log_level l, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	if (l < min_level)
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
	ssize_t w = write(STDERR_FILENO, line, n);
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
