/* Unit tests for daemon/api/import.c: the import helper over the CSV reader
 * (header matching, rows, duplicates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "import.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_import_header),
	    cmocka_unit_test(test_import_seen_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
