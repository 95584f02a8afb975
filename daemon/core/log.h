/*
 * log.h - key=value log lines, one event a line, on stderr or [log] file.
 *
 *   ts=2026-11-24T03:00:00.123Z level=info event=listening addr=127.0.0.1:8443
 *
 * The format string supplies the key=value pairs after "event=NAME".  Any
 * string that came from a peer must go through log_esc() (quotes it when it
 * holds spaces, escapes quotes, backslashes and control bytes, truncates to
 * 200 bytes).  Secrets are never passed here.
 *
 * A thread that runs an event loop buffers its info and debug lines
 * (log_buffer_begin()) and writes them with one write() at its flush
 * point, once per loop iteration (log_flush()), or sooner when the buffer
 * would overflow.  A warning or an error is written at once, after the
 * lines buffered before it.  Every other thread writes each line at once.
 * Lines are never split nor interleaved: every write of the process takes
 * one lock.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Any thread, at any time (SIGHUP): lines below l are dropped from now. */
void log_set_level(enum log_level l);
/* Sends the lines to path from now (appended, created 0600), or to
 * standard error for NULL or "".  Called again (SIGHUP, after logrotate
 * moved the file) it opens path anew: lines after it go to the new file.
 * The first call must come before any other thread logs.  AP_EIO with
 * "path: reason" in err when path cannot be opened: lines keep going where
 * they went. */
int log_set_file(const char *path, char *err, size_t errcap);
int log_level_from_name(const char *name, enum log_level *ret);
int log_enabled(enum log_level l);
void log_msg(enum log_level l, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The calling thread's buffer, in bytes. */
#define LOG_BUFFER_SIZE 65536
/* From now the calling thread's lines below LOG_WARN wait in its buffer
 * until log_flush() (or an overflow, or a warning).  The thread must call
 * log_buffer_end() before it ends.  AP_ENOMEM: lines keep being written
 * at once. */
int log_buffer_begin(void);
/* Writes what the calling thread has buffered; nothing when it buffers
 * nothing.  Any thread, for its own buffer. */
void log_flush(void);
/* log_flush(), then lines are written at once again; the buffer is freed. */
void log_buffer_end(void);

/* Escapes s into out (cap bytes, at least 8) and returns out. NULL -> "-". */
const char *log_esc(const char *s, char *out, size_t cap);

/* At most one line a second for an event a peer can repeat at will
 * (refused connections, accept errors).  The caller owns the state; it is
 * not shared between threads. */
struct log_rate {
	uint64_t next_ms;
	uint64_t dropped;
};
/* 1 when a line may be written at now_ms (a monotonic clock), with
 * *ret_dropped the lines held back since the last one; 0 otherwise (the
 * line is counted as dropped). */
int log_rate_pass(struct log_rate *r, uint64_t now_ms, uint64_t *ret_dropped);

#define log_debug(ev, ...)                                   \
	do {                                                 \
		if (log_enabled(LOG_DEBUG))                  \
			log_msg(LOG_DEBUG, ev, __VA_ARGS__); \
	} while (0)
#define log_info(ev, ...)  log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(LOG_ERROR, ev, __VA_ARGS__)

#endif
