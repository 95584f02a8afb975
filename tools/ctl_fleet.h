/*
 * ctl_fleet.h - what the fleet verbs of ardoisectl share: option parsing,
 * aligned tables, CSV output, paged lists, CSV imports.
 */
#ifndef CTL_FLEET_H
#define CTL_FLEET_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "ctl.h"

/* One option of a verb: "--name VALUE" (val), "--name" (flag), or a
 * repeatable "--name VALUE" collected into multi (at most max_multi). */
struct ctl_fleet_opt {
	const char *name;
	const char **val;
	int *flag;
	const char **multi;
	size_t *n_multi;
	size_t max_multi;
};

/* Parses argv against opts (terminated by a NULL name); positional
 * arguments go to pos (between min_pos and max_pos of them).  Returns
 * CTL_OK or prints the usage error and returns CTL_EUSAGE. */
int ctl_fleet_args(const char *usage, int argc, char **argv, const struct ctl_fleet_opt *opts,
		   const char **pos, size_t min_pos, size_t max_pos);

/* An aligned text table: columns sized to their widest cell (in
 * characters, UTF-8 aware).  Cells are copied. */
struct ctl_table;
struct ctl_table *ctl_fleet_table(size_t ncols, const char *const *headers);
void ctl_fleet_row(struct ctl_table *t, const char *const *cells);
/* Prints and frees. */
void ctl_fleet_table_print(struct ctl_table *t, FILE *f);
/* Frees without printing.  NULL ok. */
void ctl_fleet_table_free(struct ctl_table *t);

/* Writes one CSV line (RFC 4180 quoting, ',' separated, ended by CRLF).
 * Every CSV ardoisectl writes goes through here: a cell starting with
 * = + - @ TAB or CR is written with a leading ' so that no spreadsheet
 * runs it as a formula. */
void ctl_fleet_csv_line(FILE *f, const char *const *cells, size_t n);

/* The string member key of o, or "-" when NULL/empty (times: ctl_when()). */
const char *ctl_fleet_str(json_t *o, const char *key);

/* Appends "&key=value" (URL-encoded) to a path under construction when
 * value is not NULL; the first one gets '?'. */
void ctl_fleet_query(char *path, size_t cap, const char *key, const char *value);

/* GETs path page after page (following "next") and gathers the arrays
 * under `key` into *ret (new reference), strings shown safe without
 * --json (ctl_safe_json()). */
int ctl_fleet_get_all(struct ctl *c, const char *path, const char *key, json_t **ret);

/* The same list printed as a JSON array (one element a line) without
 * parsing it: what --json prints for long lists. */
int ctl_fleet_print_all(struct ctl *c, const char *path, const char *key);

/* GETs every page of a list and calls fn for each element with vals[k]
 * the value of keys[k] as text ("" for null or absent), strings decoded
 * and shown safe (ctl_safe(): for people, not for --json);
 * at most CTL_FLEET_MAX_KEYS keys.  Elements the server writes flat (the
 * long lists) are read without building JSON objects. */
#define CTL_FLEET_MAX_KEYS 16
int ctl_fleet_get_rows(struct ctl *c, const char *path, const char *key, const char *const *keys,
		       size_t nkeys, void (*fn)(const char *const *vals, void *arg), void *arg);

/* POST a JSON body to path; prints the error or stores the answer. */
int ctl_fleet_post(struct ctl *c, const char *path, json_t *body, json_t **ret);

/* `NOUN import FILE [--dry-run] [--reason R]`: POSTs the file as text/csv to path and
 * prints the report (each bad row as FILE:LINE: reason). */
int ctl_fleet_import(struct ctl *c, const char *usage, const char *path, int argc, char **argv);

#endif
