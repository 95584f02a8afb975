/* Unit tests for daemon/core/log.c: [log] file, reopened as logrotate
 * needs, and the level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ap_err.h"
#include "log.h"
#include "testutil.h"
#include "unit.h"

static char *slurp(const char *path)
{
	size_t len = 0;
	char *s = tu_read_file(path, &len);
	return s ? s : strdup("");
}

static int holds(const char *path, const char *needle)
{
	char *s = slurp(path);
	int found = strstr(s, needle) != NULL;
	free(s);
	return found;
}

static void test_file_reopen_and_level(void **state)
{
	char dir[4096], path[4200], moved[4200], bad[4200], err[600];
	struct stat st;
	(void)state;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ardoised.log", dir);
	snprintf(moved, sizeof(moved), "%s/ardoised.log.1", dir);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/ardoised.log", dir);

	assert_int_equal(log_set_file(path, err, sizeof(err)), 0);
	log_set_level(LOG_INFO);
	log_info("first", "n=%d", 1);
	log_debug("hidden", "n=%d", 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(holds(path, "level=info event=first n=1\n"));
	assert_false(holds(path, "event=hidden"));

	/* logrotate moves the file; the next line still goes there until the
	 * reopen, then to a new file */
	assert_int_equal(rename(path, moved), 0);
	log_info("before_reopen", "n=%d", 3);
	assert_int_equal(log_set_file(path, err, sizeof(err)), 0);
	log_set_level(LOG_DEBUG);
	log_debug("after_reopen", "n=%d", 4);
	assert_true(holds(moved, "event=before_reopen"));
	assert_false(holds(moved, "event=after_reopen"));
	assert_true(holds(path, "level=debug event=after_reopen n=4\n"));
	assert_false(holds(path, "event=first"));

	/* a file that cannot be opened: an error, the lines keep their file */
	assert_int_equal(log_set_file(bad, err, sizeof(err)), AP_EIO);
	assert_non_null(strstr(err, bad));
	log_warn("still_here", "n=%d", 5);
	assert_true(holds(path, "level=warn event=still_here n=5\n"));

	/* appended, never truncated */
	assert_int_equal(log_set_file(path, err, sizeof(err)), 0);
	log_error("appended", "n=%d", 6);
	assert_true(holds(path, "event=after_reopen"));
	assert_true(holds(path, "event=appended"));
	/* back to standard error: the file gets no more lines */
	assert_int_equal(log_set_file("", err, sizeof(err)), 0);
	log_error("to_stderr", "n=%d", 7);
	assert_false(holds(path, "event=to_stderr"));
	unit_rmtree(dir);
}

/* A thread's info lines wait for log_flush(); a warning writes what waits
 * before it, then itself; an overflow writes the buffer, never half a
 * line; log_buffer_end() writes the rest. */
static void test_buffer_order_warn_overflow(void **state)
{
	char dir[4096], path[4200], err[600], pad[1001];
	(void)state;
	unit_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ardoised.log", dir);
	assert_int_equal(log_set_file(path, err, sizeof(err)), 0);
	log_set_level(LOG_INFO);

	assert_int_equal(log_buffer_begin(), 0);
	log_info("one", "n=%d", 1);
	log_info("two", "n=%d", 2);
	assert_false(holds(path, "event=one"));
	log_flush();
	assert_true(holds(path, "event=one n=1\n"));
	assert_true(holds(path, "event=two n=2\n"));
	log_flush(); /* nothing waits: nothing written twice */
	char *s = slurp(path);
	assert_ptr_equal(strstr(strstr(s, "event=one") + 1, "event=one"), NULL);
	free(s);

	/* a warning: the lines before it first, then it, at once */
	log_info("three", "n=%d", 3);
	log_warn("careful", "n=%d", 4);
	s = slurp(path);
	assert_non_null(strstr(s, "event=three n=3\nts="));
	assert_non_null(strstr(s, "level=warn event=careful n=4\n"));
	assert_true(strstr(s, "event=three") < strstr(s, "event=careful"));
	free(s);
	log_info("four", "n=%d", 5);
	assert_false(holds(path, "event=four"));
	log_error("bad", "n=%d", 6);
	assert_true(holds(path, "event=four n=5\nts="));

	/* an overflow writes the earlier lines whole, keeps the last */
	memset(pad, 'p', 1000);
	pad[1000] = '\0';
	int lines = LOG_BUFFER_SIZE / 1000 + 1;
	for (int i = 0; i < lines; i++)
		log_info("big", "i=%d pad=%s", i, pad);
	assert_true(holds(path, "event=big i=0 pad="));
	assert_false(holds(path, "event=big i=64 pad="));
	s = slurp(path);
	size_t len = strlen(s);
	assert_true(len > 0 && s[len - 1] == '\n');
	free(s);
	log_buffer_end();
	assert_true(holds(path, "event=big i=64 pad="));

	/* without a buffer, each line at once */
	log_info("plain", "n=%d", 7);
	assert_true(holds(path, "event=plain n=7\n"));
	log_flush(); /* a thread with no buffer: harmless */
	assert_int_equal(log_set_file("", err, sizeof(err)), 0);
	unit_rmtree(dir);
}

#define PIPE_LINES 300
#define PIPE_PAD   1500

struct writer {
	int id;
};

static void *buffered_writer(void *arg)
{
	struct writer *wr = arg;
	char pad[PIPE_PAD + 1];
	memset(pad, 'a' + wr->id, PIPE_PAD);
	pad[PIPE_PAD] = '\0';
	assert_int_equal(log_buffer_begin(), 0);
	for (int i = 0; i < PIPE_LINES; i++) {
		if (i % 37 == 36)
			log_warn("t", "w=%d i=%d pad=%s", wr->id, i, pad);
		else
			log_info("t", "w=%d i=%d pad=%s", wr->id, i, pad);
		if (i % 11 == 10)
			log_flush(); /* ~16 KiB a write: more than PIPE_BUF */
	}
	log_buffer_end();
	return NULL;
}

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Reads until every line of both writers has come, slowly (a page at a
 * time): the pipe fills, and a writer's write() waits half-done, when
 * another writer could slip in. */
static void *pipe_reader(void *arg)
{
	struct reader *rd = arg;
	size_t newlines = 0;
	while (newlines < 2 * PIPE_LINES && rd->len < rd->cap) {
		size_t room = rd->cap - rd->len < 4096 ? rd->cap - rd->len : 4096;
		ssize_t n = read(rd->fd, rd->buf + rd->len, room);
		if (n <= 0)
			break;
		usleep(100);
		for (ssize_t i = 0; i < n; i++)
			newlines += rd->buf[rd->len + (size_t)i] == '\n';
		rd->len += (size_t)n;
	}
	return NULL;
}

/* Checks one line: "ts=... level=L event=t w=W i=I pad=<PIPE_PAD x W>";
 * I must follow the writer's previous line. */
static void check_line(const char *line, size_t n, int next[2])
{
	int w = -1, i = -1, off = 0;
	const char *p = strstr(line, " event=t w=");
	assert_non_null(p);
	assert_true(p < line + n);
	assert_true(strncmp(line, "ts=", 3) == 0);
	assert_int_equal(sscanf(p, " event=t w=%d i=%d pad=%n", &w, &i, &off), 2);
	assert_true(w == 0 || w == 1);
	assert_int_equal(i, next[w]);
	next[w]++;
	p += off;
	assert_int_equal((size_t)(line + n - p), PIPE_PAD);
	for (size_t k = 0; k < PIPE_PAD; k++)
		assert_int_equal(p[k], 'a' + w);
}

/* Two threads buffering and writing to the log, read from rfd: every
 * line comes whole, none inside another, each thread's in its order. */
static void two_writers(int rfd)
{
	pthread_t t[2], rt;
	struct writer wr[2] = {{0}, {1}};
	struct reader rd = {.fd = rfd, .cap = 2 * PIPE_LINES * (PIPE_PAD + 200)};
	int next[2] = {0, 0};
	rd.buf = malloc(rd.cap);
	assert_non_null(rd.buf);
	log_set_level(LOG_INFO);
	assert_int_equal(pthread_create(&rt, NULL, pipe_reader, &rd), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&t[k], NULL, buffered_writer, &wr[k]), 0);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	pthread_join(rt, NULL);

	size_t start = 0, lines = 0;
	for (size_t k = 0; k < rd.len; k++) {
		if (rd.buf[k] != '\n')
			continue;
		check_line(rd.buf + start, k - start, next);
		start = k + 1;
		lines++;
	}
	assert_int_equal(start, rd.len); /* nothing after the last newline */
	assert_int_equal(lines, 2 * PIPE_LINES);
	assert_int_equal(next[0], PIPE_LINES);
	assert_int_equal(next[1], PIPE_LINES);
	free(rd.buf);
}

/* [log] file a named pipe. */
static void test_two_threads_one_pipe(void **state)
{
	char dir[4096], fifo[4200], err[600];
	(void)state;
	unit_tmpdir(dir);
	snprintf(fifo, sizeof(fifo), "%s/log.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	assert_int_equal(log_set_file(fifo, err, sizeof(err)), 0);
	assert_int_equal(fcntl(rfd, F_SETFL, 0), 0); /* the reader blocks from now */
	two_writers(rfd);
	assert_int_equal(log_set_file("", err, sizeof(err)), 0);
	close(rfd);
	unit_rmtree(dir);
}

/* Standard error a stream socket, as systemd's journal gives it: a long
 * write() goes out in pieces, between which another thread's could land. */
static void test_two_threads_one_socket(void **state)
{
	char err[600];
	int sv[2], small = 4096;
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(sv[1], STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(log_set_file("", err, sizeof(err)), 0); /* the socket */
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(sv[1]);
	two_writers(sv[0]);
	assert_int_equal(log_set_file("", err, sizeof(err)), 0); /* standard error again */
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_reopen_and_level),
	    cmocka_unit_test(test_buffer_order_warn_overflow),
	    cmocka_unit_test(test_two_threads_one_pipe),
	    cmocka_unit_test(test_two_threads_one_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
