/* Unit tests for daemon/api/csv.c: the CSV reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "csv.h"

/* Reads every record of text; returns how many were good. */
static int read_all(const char *text, size_t len, const struct csv_limits *lim,
		    struct csv_record *last_good, struct csv_record *last_bad, int *n_bad)
{
	struct csv *c;
	struct csv_record rec;
	int good = 0, rc;
	*n_bad = 0;
	assert_int_equal(csv_open(text, len, lim, &c), 0);
	while ((rc = csv_next(c, &rec)) != 0) {
		if (rc < 0) {
			(*n_bad)++;
			if (last_bad)
				*last_bad = rec;
			if (rc == AP_ELIMIT)
				break;
			continue;
		}
		good++;
		if (last_good)
			*last_good = rec; /* fields point into c: only n, line, len kept */
	}
	csv_free(c);
	return good;
}

static void test_quoted_fields(void **state)
{
	static const char text[] = "\xEF\xBB\xBF"
				   "a;b;c\r\n"
				   "1;\"x;y\";\"say \"\"hi\"\"\"\r\n"
				   "\r\n"
				   "2;\"two\r\nlines\";\r\n"
				   "3;;last";
	struct csv *c;
	struct csv_record r;
	assert_int_equal(csv_open(text, sizeof(text) - 1, NULL, &c), 0);
	assert_int_equal(csv_separator(c), ';');
	assert_int_equal(csv_next(c, &r), 1);
	assert_int_equal(r.line, 1);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.f[0], "a"); /* the BOM is gone */
	assert_int_equal(csv_next(c, &r), 1);
	assert_int_equal(r.line, 2);
	assert_string_equal(r.f[1], "x;y");
	assert_string_equal(r.f[2], "say \"hi\"");
	assert_int_equal(csv_next(c, &r), 1);
	assert_int_equal(r.line, 4); /* the empty line is skipped, still counted */
	assert_string_equal(r.f[1], "two\r\nlines");
	assert_int_equal(r.n, 3); /* trailing separator: an empty last field */
	assert_string_equal(r.f[2], "");
	assert_int_equal(csv_next(c, &r), 1);
	assert_int_equal(r.line, 6); /* the quoted line break counted */
	assert_string_equal(r.f[2], "last");
	assert_int_equal(csv_next(c, &r), 0);
	assert_int_equal(csv_next(c, &r), 0);
	csv_free(c);
}

static void test_separator_detection(void **state)
{
	struct csv *c;
	/* the semicolons inside quotes do not count */
	static const char commas[] = "\"a;b;c\",d\n1,2\n";
	assert_int_equal(csv_open(commas, sizeof(commas) - 1, NULL, &c), 0);
	assert_int_equal(csv_separator(c), ',');
	csv_free(c);
	static const char semis[] = "nom;adresse, ville;uai\n";
	assert_int_equal(csv_open(semis, sizeof(semis) - 1, NULL, &c), 0);
	assert_int_equal(csv_separator(c), ';');
	csv_free(c);
	static const char utf16[] = "\xFF\xFE"
				    "a\0,\0b\0";
	assert_int_equal(csv_open(utf16, sizeof(utf16) - 1, NULL, &c), AP_EUNSUPPORTED);
}

static void test_bad_records_and_recovery(void **state)
{
	struct csv *c;
	struct csv_record r;
	static const char text[] = "a,b\n"
				   "x\"y,1\n"	/* quote in an unquoted field */
				   "\"x\"y,2\n" /* text after the closing quote */
				   "ok,3\n"
				   "\xC3\x28,4\n"  /* invalid UTF-8 */
				   "\xE9t\xE9,5\n" /* Latin-1 */
				   "fine,6\n"
				   "\"open,7\n"
				   "never,8\n";
	assert_int_equal(csv_open(text, sizeof(text) - 1, NULL, &c), 0);
	assert_int_equal(csv_next(c, &r), 1);
	assert_int_equal(csv_next(c, &r), AP_EPARSE);
	assert_int_equal(r.line, 2);
	assert_non_null(strstr(r.error, "quote inside unquoted field 1"));
	assert_int_equal(csv_next(c, &r), AP_EPARSE);
	assert_int_equal(r.line, 3);
	assert_non_null(strstr(r.error, "after the closing quote"));
	assert_int_equal(csv_next(c, &r), 1);
	assert_string_equal(r.f[0], "ok");
	assert_int_equal(r.line, 4);
	assert_int_equal(csv_next(c, &r), AP_EPARSE);
	assert_non_null(strstr(r.error, "not UTF-8"));
	assert_int_equal(csv_next(c, &r), AP_EPARSE);
	assert_int_equal(r.line, 6);
	assert_int_equal(csv_next(c, &r), 1);
	assert_string_equal(r.f[0], "fine");
	assert_int_equal(csv_next(c, &r), AP_EPARSE);
	assert_int_equal(r.line, 8);
	assert_non_null(strstr(r.error, "opened on line 8 is never closed"));
	assert_int_equal(csv_next(c, &r), 0); /* the rest belonged to the open quote */
	csv_free(c);
}

static void test_limits(void **state)
{
	struct csv_limits lim = {8, 3, 3};
	struct csv_record bad;
	int n_bad;
	/* field of 9 bytes, 4 fields, then too many records */
	static const char text[] = "12345678,b\n123456789,b\na,b,c,d\nok\nmore\nand more\n";
	assert_int_equal(read_all(text, sizeof(text) - 1, &lim, NULL, &bad, &n_bad), 1);
	assert_int_equal(n_bad, 3);
	assert_non_null(strstr(bad.error, "more than 2 rows"));
	/* an 8-byte quoted field with a doubled quote is 8 bytes */
	static const char q[] = "\"1234\"\"678\"\n";
	struct csv_record good;
	assert_int_equal(read_all(q, sizeof(q) - 1, &lim, &good, NULL, &n_bad), 1);
	assert_int_equal(good.len[0], 8);
	assert_int_equal(n_bad, 0);
	static const char many[] = "a,b,c,d\n";
	assert_int_equal(read_all(many, sizeof(many) - 1, &lim, NULL, &bad, &n_bad), 0);
	assert_non_null(strstr(bad.error, "more than 3 fields"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quoted_fields),
	    cmocka_unit_test(test_separator_detection),
	    cmocka_unit_test(test_bad_records_and_recovery),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
