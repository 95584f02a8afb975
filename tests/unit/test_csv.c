/* Unit tests for the CSV reader, the import helper and ISO dates. */
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
#include "import.h"
#include "isodate.h"

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

static const struct import_col cols[] = {
    {"serial", "serial|serialnumber|numerodeserie", 1},
    {"uai", "uai|college", 1},
    {"model", "model|modele", 0},
};

static void test_import_header(void **state)
{
	struct import im;
	const char *v[3];
	size_t line;
	static const char text[] = "Numéro de série ; MODÈLE;Collège;extra\n"
				   " S1 ;m1;U1\n"
				   ";;;\n"
				   "S2;m2;U2;x\n"
				   "S1;m3;U3\n";
	assert_int_equal(import_begin(&im, text, sizeof(text) - 1, cols, 3), 0);
	assert_int_equal(im.n_errors, 0);
	assert_int_equal(import_next(&im, v, &line), 1);
	assert_string_equal(v[0], "S1"); /* blanks trimmed */
	assert_string_equal(v[1], "U1");
	assert_string_equal(v[2], "m1");
	assert_int_equal(line, 2);
	size_t first;
	assert_int_equal(import_seen(&im, v[0], line, &first), 0);
	/* the blank row is skipped; extra columns are ignored (the header has 4) */
	assert_int_equal(import_next(&im, v, &line), 1);
	assert_int_equal(line, 4);
	assert_int_equal(import_next(&im, v, &line), 1);
	assert_int_equal(import_seen(&im, v[0], line, &first), 1);
	assert_int_equal(first, 2);
	assert_int_equal(import_next(&im, v, &line), 0);
	assert_int_equal(im.rows, 3);
	import_end(&im);

	static const char nohead[] = "model\nm\n";
	assert_int_equal(import_begin(&im, nohead, sizeof(nohead) - 1, cols, 3), 0);
	assert_int_equal(json_array_size(im.errors), 2); /* serial and uai ... */
	assert_int_equal(im.n_errors, 1);		 /* ... both on line 1 */
	assert_int_equal(import_next(&im, v, &line), 0); /* ... and no row is read */
	import_end(&im);
}

static void test_import_seen_many(void **state)
{
	struct import im;
	char key[16];
	size_t first;
	assert_int_equal(import_begin(&im, "serial,uai\n", 11, cols, 2), 0);
	for (int i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "K%d", i);
		assert_int_equal(import_seen(&im, key, (size_t)i + 2, &first), 0);
	}
	assert_int_equal(import_seen(&im, "K31337", 9, &first), 1);
	assert_int_equal(first, 31339);
	import_end(&im);
}

static void test_isodate(void **state)
{
	int64_t t;
	char day[ISODATE_DAY_LEN + 1], tm[ISODATE_TIME_LEN + 1];
	assert_int_equal(isodate_parse_day("2025-07-04", &t), 0);
	assert_int_equal(t, 1751587200);
	isodate_format_day(t + 86399, day);
	assert_string_equal(day, "2025-07-04");
	assert_int_equal(isodate_day_start(t + 86399), t);
	assert_int_equal(isodate_parse_day("2024-02-29", &t), 0); /* leap year */
	assert_int_equal(isodate_parse_day("2025-02-29", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-04-31", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-7-4", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("2025-07-04x", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day("1969-12-31", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_day(NULL, &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10:30", &t), 0);
	assert_int_equal(t, 1751587200 + 10 * 3600 + 30 * 60);
	assert_int_equal(isodate_parse_time("2025-07-04T10:30:15Z", &t), 0);
	isodate_format_time(t, tm);
	assert_string_equal(tm, "2025-07-04T10:30:15Z");
	assert_int_equal(isodate_parse_time("2025-07-04", &t), 0);
	assert_int_equal(isodate_parse_time("2025-07-04T24:00", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10:61", &t), AP_EPARSE);
	assert_int_equal(isodate_parse_time("2025-07-04T10", &t), AP_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quoted_fields),
	    cmocka_unit_test(test_separator_detection),
	    cmocka_unit_test(test_bad_records_and_recovery),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_import_header),
	    cmocka_unit_test(test_import_seen_many),
	    cmocka_unit_test(test_isodate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
