/* import.c - header mapping and error report of CSV imports. */
#include "import.h"
#include "ap_err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct import_key {
	uint64_t hash;
	size_t off; /* in the arena; 0 = empty slot (the arena starts with a NUL) */
	size_t line;
};

#define IMPORT_ARENA_MAX ((size_t)64 << 20)

int import_error(struct import *im, size_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line != im->last_error_line || im->n_errors == 0)
		im->n_errors++;
	im->last_error_line = line;
	if (im->errors && json_array_size(im->errors) < IMPORT_MAX_ERRORS)
		json_array_append_new(
		    im->errors, json_pack("{s:I,s:s}", "line", (json_int_t)line, "message", msg));
	return AP_EINVAL;
}

/* The letter without its accent for the Latin-1 letters U+00C0..U+00FF
 * (second byte of their UTF-8 form, 0x80..0xBF after a 0xC3), or 0. */
static char unaccent(unsigned char second)
{
	static const char base[] = "aaaaaaaceeeeiiiidnooooo ouuuuyts"  /* C3 80..9F */
				   "aaaaaaaceeeeiiiidnooooo ouuuuyty"; /* C3 A0..BF */
	if (second < 0x80 || second > 0xbf)
		return 0;
	char c = base[second - 0x80];
	return c == ' ' ? 0 : c;
}

void import_norm(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return;
	for (; *s && o + 1 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		char plain;
		if (ch == 0xc3 && (plain = unaccent((unsigned char)s[1])) != 0) {
			out[o++] = plain;
			s++;
			continue;
		}
		if (ch == 0xc5 && ((unsigned char)s[1] == 0x92 || (unsigned char)s[1] == 0x93)) {
			out[o++] = 'o'; /* œ, Œ */
			if (o + 1 < cap)
				out[o++] = 'e';
			s++;
			continue;
		}
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z'))
			out[o++] = (char)ch;
		else if (ch >= 'A' && ch <= 'Z')
			out[o++] = (char)(ch - 'A' + 'a');
	}
	out[o] = '\0';
}

/* The header field (not taken yet) that col's aliases name, the first
 * alias first: "UAI" wins over a "Collège" column holding names, and
 * "model_declared" over "model", wherever they stand.  -1 when none. */
static int find_field(const struct import_col *col, char (*names)[64], const int *taken, size_t n)
{
	char one[64], normed[64];
	for (const char *p = col->aliases; *p;) {
		size_t k = strcspn(p, "|");
		snprintf(one, sizeof(one), "%.*s", (int)(k < sizeof(one) ? k : sizeof(one) - 1), p);
		import_norm(one, normed, sizeof(normed));
		for (size_t f = 0; normed[0] && f < n; f++)
			if (!taken[f] && strcmp(names[f], normed) == 0)
				return (int)f;
		p += k;
		if (*p == '|')
			p++;
	}
	return -1;
}

/* A required column is missing: the error names the header names accepted. */
static void missing(struct import *im, const struct import_col *col)
{
	char names[400];
	size_t o = 0;
	for (const char *p = col->aliases; *p && o + 8 < sizeof(names);) {
		size_t k = strcspn(p, "|");
		int n =
		    snprintf(names + o, sizeof(names) - o, "%s\"%.*s\"", o ? ", " : "", (int)k, p);
		if (n < 0 || (size_t)n >= sizeof(names) - o)
			break;
		o += (size_t)n;
		p += k;
		if (*p == '|')
			p++;
	}
	import_error(im, im->rec.line, "the header has no column '%s' (accepted names: %s)",
		     col->name, names);
}

static void map_header(struct import *im)
{
	char names[CSV_MAX_FIELDS][64], shown[80];
	int taken[CSV_MAX_FIELDS] = {0};
	size_t named = 0; /* fields up to the last one with a name */
	im->header_fields = im->rec.n;
	for (size_t f = 0; f < im->rec.n; f++) {
		import_norm(im->rec.f[f], names[f], sizeof(names[f]));
		if (strspn(im->rec.f[f], " \t") < im->rec.len[f])
			named = f + 1;
	}
	for (size_t c = 0; c < im->n_cols; c++) {
		int f = find_field(&im->cols[c], names, taken, im->rec.n);
		if (f >= 0) {
			im->idx[c] = f;
			taken[f] = 1;
		}
	}
	for (size_t f = 0; f < named; f++) { /* trailing separators: no column at all */
		if (taken[f])
			continue;
		/* blanks around the name dropped; an unnamed column by its place */
		const char *s = im->rec.f[f];
		size_t n = strlen(s);
		while (*s == ' ' || *s == '\t')
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0)
			snprintf(shown, sizeof(shown), "(column %zu, no name)", f + 1);
		else
			snprintf(shown, sizeof(shown), "%.*s", (int)(n < 64 ? n : 64), s);
		json_array_append_new(im->ignored, json_string(shown));
	}
	for (size_t c = 0; c < im->n_cols; c++)
		if (im->idx[c] < 0 && im->cols[c].required)
			missing(im, &im->cols[c]);
}

/* The line (1-based) of byte off of data. */
static size_t line_of(const char *data, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off; i++)
		if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= off || data[i + 1] != '\n')))
			line++;
	return line;
}

int import_begin(struct import *im, const char *data, size_t len, const struct import_col *cols,
		 size_t n_cols)
{
	int rc;
	memset(im, 0, sizeof(*im));
	ap_buf_init(&im->arena, IMPORT_ARENA_MAX);
	im->cols = cols;
	im->n_cols = n_cols < IMPORT_MAX_COLS ? n_cols : IMPORT_MAX_COLS;
	for (size_t c = 0; c < IMPORT_MAX_COLS; c++)
		im->idx[c] = -1;
	im->errors = json_array();
	im->ignored = json_array();
	if (im->errors == NULL || im->ignored == NULL)
		return AP_ENOMEM;
	rc = csv_open(data, len, NULL, &im->csv);
	if (rc == AP_EUNSUPPORTED) {
		import_error(im, 1, "the file is UTF-16: save it as \"CSV UTF-8\"");
		return 0;
	}
	size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	size_t good = rc == 0 ? bom + csv_utf8_prefix(data + bom, len - bom) : len;
	if (good < len) { /* one error for the file, not one a line */
		import_error(im, line_of(data, good),
			     "the file is not UTF-8 text (Windows-1252, Excel's plain \"CSV\"?): "
			     "save it as \"CSV UTF-8\" (Excel: Save As, \"CSV UTF-8 (délimité par "
			     "des virgules)\"; LibreOffice: character set Unicode (UTF-8))");
		csv_free(im->csv);
		im->csv = NULL;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = csv_next(im->csv, &im->rec);
	if (rc == 0)
		import_error(im, 1, "the file is empty: a header line is expected");
	else if (rc < 0)
		import_error(im, im->rec.line, "header: %s", im->rec.error);
	else
		map_header(im);
	im->sep = csv_separator(im->csv);
	if (rc <= 0 || im->n_errors) { /* no row can be read against a bad header */
		csv_free(im->csv);
		im->csv = NULL;
	}
	return 0;
}

static char *trim(char *s)
{
	size_t n;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* 1 when every field of the record is blank. */
static int blank(const struct csv_record *rec)
{
	for (size_t f = 0; f < rec->n; f++)
		if (trim(rec->f[f])[0])
			return 0;
	return 1;
}

/* Any non-blank field past the header's last column is an error. */
static int extra_fields(const struct import *im)
{
	for (size_t f = im->header_fields; f < im->rec.n; f++)
		if (trim(im->rec.f[f])[0])
			return 1;
	return 0;
}

int import_next(struct import *im, const char *vals[], size_t *ret_line)
{
	int rc;
	if (im->csv == NULL)
		return 0;
	while ((rc = csv_next(im->csv, &im->rec)) != 0) {
		if (rc < 0) {
			im->rows++;
			import_error(im, im->rec.line, "%s", im->rec.error);
			if (rc == AP_ELIMIT)
				return 0;
			continue;
		}
		if (blank(&im->rec))
			continue;
		im->rows++;
		if (extra_fields(im)) {
			import_error(im, im->rec.line, "%zu fields, but the header names %zu",
				     im->rec.n, im->header_fields);
			continue;
		}
		for (size_t c = 0; c < im->n_cols; c++)
			vals[c] = im->idx[c] >= 0 && (size_t)im->idx[c] < im->rec.n
				      ? trim(im->rec.f[im->idx[c]])
				      : "";
		*ret_line = im->rec.line;
		return 1;
	}
	return 0;
}

json_t *import_report(const struct import *im)
{
	char sep[2] = {im->sep ? im->sep : ',', '\0'};
	return json_pack("{s:I,s:I,s:O,s:s,s:O}", "rows", (json_int_t)im->rows, "bad_rows",
			 (json_int_t)im->n_errors, "errors", im->errors, "separator", sep,
			 "ignored_columns", im->ignored);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Doubles the table (rehashing every key). */
static int grow(struct import *im)
{
	size_t cap = im->keys_cap ? im->keys_cap * 2 : 1024;
	struct import_key *k = calloc(cap, sizeof(*k));
	if (k == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < im->keys_cap; i++) {
		if (im->keys[i].off == 0)
			continue;
		size_t j = im->keys[i].hash & (cap - 1);
		while (k[j].off)
			j = (j + 1) & (cap - 1);
		k[j] = im->keys[i];
	}
	free(im->keys);
	im->keys = k;
	im->keys_cap = cap;
	return 0;
}

int import_seen(struct import *im, const char *key, size_t line, size_t *ret_line)
{
	uint64_t h = fnv1a(key);
	int rc;
	if (im->arena.len == 0 && (rc = ap_buf_append(&im->arena, "", 1)) < 0)
		return rc;
	if (2 * (im->keys_n + 1) > im->keys_cap && (rc = grow(im)) < 0)
		return rc;
	size_t j = h & (im->keys_cap - 1);
	for (; im->keys[j].off; j = (j + 1) & (im->keys_cap - 1)) {
		if (im->keys[j].hash == h && strcmp(im->arena.data + im->keys[j].off, key) == 0) {
			*ret_line = im->keys[j].line;
			return 1;
		}
	}
	size_t off = im->arena.len;
	if ((rc = ap_buf_append(&im->arena, key, strlen(key) + 1)) < 0)
		return rc == AP_ETOOBIG ? AP_ELIMIT : rc;
	im->keys[j] = (struct import_key){h, off, line};
	im->keys_n++;
	return 0;
}

void import_end(struct import *im)
{
	free(im->keys);
	im->keys = NULL;
	ap_buf_free(&im->arena);
	csv_free(im->csv);
	im->csv = NULL;
	json_decref(im->errors);
	im->errors = NULL;
	json_decref(im->ignored);
	im->ignored = NULL;
}
