/*
 * csv.h - a small RFC 4180 reader for the CSV files staff import.
 *
 * Input is the whole file in memory, UTF-8 with or without a BOM (UTF-16
 * is refused), records separated by LF, CRLF or CR, fields by ',' or ';'
 * (whichever the first line uses more, outside quotes: French spreadsheets
 * write ';').  Fields may be quoted; a quoted field may hold separators,
 * doubled quotes and line breaks.  No I/O, no allocation after csv_open().
 *
 * Every limit is hard: a field longer than max_field bytes, a record with
 * more than max_fields fields, or more than max_records records is an
 * error, never a reallocation.
 */
#ifndef CSV_H
#define CSV_H

#include <stddef.h>

#define CSV_MAX_FIELDS 64

struct csv_limits {
	size_t max_field;   /* bytes in one field */
	size_t max_fields;  /* fields in one record, <= CSV_MAX_FIELDS */
	size_t max_records; /* records in the file, header included */
};

/* max_field 4096, max_fields 64, max_records 250001. */
extern const struct csv_limits csv_default_limits;

struct csv_record {
	size_t line;		 /* physical line (1-based) where the record starts */
	size_t n;		 /* fields */
	char *f[CSV_MAX_FIELDS]; /* NUL-terminated, unquoted; valid until the next call */
	size_t len[CSV_MAX_FIELDS];
	char error[160]; /* why the record is bad, when csv_next() says so */
};

struct csv;

/* Prepares to read data[0..len) (borrowed: it must outlive the reader).
 * lim NULL: csv_default_limits.  AP_EUNSUPPORTED for UTF-16 input,
 * AP_ENOMEM. */
int csv_open(const char *data, size_t len, const struct csv_limits *lim, struct csv **ret);
void csv_free(struct csv *c); /* NULL ok */
/* The length of the longest prefix of s[0..n) that is UTF-8 text without
 * NUL: n when all of it is.  What an import checks once for the whole
 * file (a Windows-1252 file is one problem, not one a line). */
size_t csv_utf8_prefix(const char *s, size_t n);
/* ',' or ';', as detected. */
char csv_separator(const struct csv *c);
/* Reads the next non-empty record into rec.  Returns 1 for a record, 0 at
 * the end, or a negative AP_E* code for a bad record (rec->line and
 * rec->error say where and why).  After a bad record reading continues on
 * the next line, except after an unterminated quote (the rest of the input
 * belongs to it: the next call returns 0) and after AP_ELIMIT for too many
 * records (every later call returns it again). */
int csv_next(struct csv *c, struct csv_record *rec);

#endif
