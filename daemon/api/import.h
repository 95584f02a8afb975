/*
 * import.h - all-or-nothing CSV imports: header mapping and the report.
 *
 * An import maps the header's column names to the columns a handler
 * expects, hands each data row over with its line number, and collects
 * every bad row (line, reason).  The handler writes rows in one
 * transaction and commits only when the report has no error.
 *
 * Header names are compared after lower-casing and dropping accents and
 * everything but letters and digits (import_norm()), so "Asset tag",
 * "asset_tag" and "ASSET-TAG" are one name, and "N° de série" is
 * "ndeserie".  Every header column no handler column takes is listed in
 * the report ("ignored_columns"): an import never drops one silently.  A
 * file that is not UTF-8 (Windows-1252 from Excel's plain "CSV") is one
 * error, on the line of its first bad byte, and no row is read.
 */
#ifndef IMPORT_H
#define IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "ap_buf.h"
#include "csv.h"

struct import_key;

#define IMPORT_MAX_COLS	  16
#define IMPORT_MAX_ERRORS 1000 /* listed in the report; more are counted */

struct import_col {
	const char *name;    /* as reported: "serial" */
	const char *aliases; /* header names that match, '|'-separated, as people
				write them ("N° de série|serial"): listed when the
				column is missing, compared through import_norm() */
	int required;	     /* the header must have it */
};

/* The names of a tablet's or a person's collège column: its UAI (a column
 * of names, "Collège" in the schools file, is the collège's name there). */
#define IMPORT_UAI_NAMES "UAI|RNE|Code UAI|school|Collège|college"

struct import {
	struct csv *csv;
	const struct import_col *cols;
	size_t n_cols;
	int idx[IMPORT_MAX_COLS]; /* CSV column of each col, -1 when absent */
	size_t header_fields;
	char sep;
	size_t rows;	 /* data rows read (blank ones excluded) */
	size_t n_errors; /* bad rows (a row counts once) */
	size_t last_error_line;
	json_t *errors;	 /* [{"line":N,"message":"..."}], at most IMPORT_MAX_ERRORS */
	json_t *ignored; /* the header's names no column took: ["wave", ...] */
	struct csv_record rec;
	/* keys seen (import_seen): open addressing over an arena of keys */
	struct import_key *keys;
	size_t keys_cap, keys_n;
	struct ap_buf arena;
};

/* Opens data and reads the header.  0 when rows can be read (the header
 * may still have produced errors: a missing required column); a negative
 * AP_E* code when the import cannot start at all (no memory).  An empty
 * file, UTF-16 and a bad header are reported as errors of line 1, and then
 * no row is read. */
int import_begin(struct import *im, const char *data, size_t len, const struct import_col *cols,
		 size_t n_cols);
/* The next data row: vals[i] is the value of cols[i], blanks around it
 * removed ("" when the column is absent or the row is short).  Returns 1
 * with a row, 0 at the end.  Bad CSV records and rows with more fields
 * than the header are reported and skipped; blank rows are skipped. */
int import_next(struct import *im, const char *vals[], size_t *ret_line);
/* Reports row `line` as bad; returns AP_EINVAL (the row is refused). */
int import_error(struct import *im, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Remembers that key (a serial, a UAI, an id) is on `line`: 0 when it is
 * new, 1 when an earlier row had it (*ret_line says which), or AP_ENOMEM /
 * AP_ELIMIT (more keys than rows can make). */
int import_seen(struct import *im, const char *key, size_t line, size_t *ret_line);
/* The report: {"rows":N,"errors":[...],"bad_rows":N,"separator":",",
 * "ignored_columns":[...]}; the caller adds its counts.  New reference. */
json_t *import_report(const struct import *im);
void import_end(struct import *im);
/* s lower-cased into out, accents of Latin letters dropped (é -> e,
 * œ -> oe) and every character but ASCII letters and digits left out:
 * "N° d'inventaire" -> "ndinventaire".  Header names and words of a
 * column's values ("Élève") compare so. */
void import_norm(const char *s, char *out, size_t cap);

#endif
