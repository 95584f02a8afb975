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
#include <sys/stat.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_reopen_and_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
