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

static const struct import_col fr_cols[] = {
    {"serial", "N° de série|Numéro de série|Série|serial", 1},
    {"asset_tag", "N° d'inventaire|Étiquette|asset tag", 0},
    {"uai", "UAI|RNE|Collège", 1},
};

/* French headers as spreadsheets write them, every column no field takes
 * named in the report, the names accepted when one is missing. */
static void test_import_french(void **state)
{
	struct import im;
	const char *v[3];
	size_t line;
	char out[32];
	import_norm("N° d'inventaire", out, sizeof(out));
	assert_string_equal(out, "ndinventaire");
	import_norm("  ÉLÈVE  Œuvre-1 ", out, sizeof(out));
	assert_string_equal(out, "eleveoeuvre1");
	static const char text[] = "\xEF\xBB\xBF"
				   "N° DE SÉRIE;Remarque;n° d’inventaire;rne;;Étiquette;;\r\n"
				   "S1;r;x;U1;;E1;;\r\n";
	assert_int_equal(import_begin(&im, text, sizeof(text) - 1, fr_cols, 3), 0);
	assert_int_equal(im.n_errors, 0);
	/* the curly apostrophe is punctuation too: "n° d’inventaire" is taken;
	 * the later "Étiquette" of the same field is not, and is said so */
	json_t *ign = im.ignored;
	assert_int_equal(json_array_size(ign), 3);
	assert_string_equal(json_string_value(json_array_get(ign, 0)), "Remarque");
	assert_string_equal(json_string_value(json_array_get(ign, 1)), "(column 5, no name)");
	assert_string_equal(json_string_value(json_array_get(ign, 2)), "Étiquette");
	assert_int_equal(import_next(&im, v, &line), 1);
	assert_string_equal(v[0], "S1");
	assert_string_equal(v[1], "x");
	assert_string_equal(v[2], "U1");
	json_t *rep = import_report(&im);
	assert_int_equal(json_array_size(json_object_get(rep, "ignored_columns")), 3);
	json_decref(rep);
	import_end(&im);

	static const char missing[] = "Série;Modèle\nS1;m\n";
	assert_int_equal(import_begin(&im, missing, sizeof(missing) - 1, fr_cols, 3), 0);
	assert_int_equal(im.n_errors, 1);
	const char *msg =
	    json_string_value(json_object_get(json_array_get(im.errors, 0), "message"));
	assert_non_null(
	    strstr(msg, "no column 'uai' (accepted names: \"UAI\", \"RNE\", \"Collège\")"));
	import_end(&im);

	/* the first alias first, wherever the columns stand: a "Collège" of
	 * names before the "UAI" is left for what it is */
	static const char order[] = "Collège;Série;UAI\nClg X;S1;U1\n";
	assert_int_equal(import_begin(&im, order, sizeof(order) - 1, fr_cols, 3), 0);
	assert_int_equal(im.n_errors, 0);
	assert_int_equal(import_next(&im, v, &line), 1);
	assert_string_equal(v[2], "U1");
	assert_string_equal(json_string_value(json_array_get(im.ignored, 0)), "Collège");
	import_end(&im);
}

/* A Windows-1252 file: one error, on the line of the first bad byte, and
 * no row read, however many lines have accents. */
static void test_import_not_utf8(void **state)
{
	struct import im;
	const char *v[3];
	size_t line;
	static const char text[] = "serial;uai\r\nS1;U1\r\nS\xe9"
				   "2;U\xe9\r\nS\xe9"
				   "3;U3\r\n";
	assert_int_equal(import_begin(&im, text, sizeof(text) - 1, cols, 2), 0);
	assert_int_equal(im.n_errors, 1);
	assert_int_equal(json_array_size(im.errors), 1);
	json_t *e = json_array_get(im.errors, 0);
	assert_int_equal(json_integer_value(json_object_get(e, "line")), 3);
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "CSV UTF-8"));
	assert_int_equal(import_next(&im, v, &line), 0);
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
	    cmocka_unit_test(test_import_french),
	    cmocka_unit_test(test_import_not_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
