/*
 * ctl.h - ardoisectl's one helper header: the verb and option tables and
 * their parser (ctl_opt.c), the HTTP client and output (ctl_http.c),
 * tables, CSV, paged lists and imports (ctl_fleet.c).  Each noun's verbs
 * live in their own ctl_<noun>.c; the JSON scanner is ctl_scan.h's.
 */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <libintl.h>
#include <stddef.h>
#include <stdio.h>

/* What people read goes through gettext (domain "ardoise"): _() at the
 * point of use, N_() marks a string of a static table that is translated
 * where it is printed.  English is the msgid and the default. */
#define _(s)  gettext(s)
#define N_(s) (s)
/* N_() with a context: "ctx\004s", gettext's key of s in that context. */
#define NC_(ctx, s) ctx "\004" s

/* A table's string (N_()) in the reader's language where it is printed:
 * gettext(s), except NULL and "" (gettext("") is the catalogue's header)
 * are returned as they are. */
const char *ctl_tr(const char *s);

/* A value of the API (a state, a kind, a role: "open", "theft",
 * "technician") as people read it: its word in the reader's language
 * when it is one the CLI knows ("ouvert" under a French locale), else the
 * value itself.  For human output only: --json and CSV keep the value.
 * NULL stays NULL. */
const char *ctl_word(const char *value);

struct ctl {
	const char *url; /* https://127.0.0.1:8443 */
	const char *token;
	const char *ca; /* CA file to trust; NULL: system store */
	int json;	/* --json */
	int verbose;
};

/* Exit statuses. */
enum { CTL_OK = 0, CTL_EFAIL = 1, CTL_EUSAGE = 2, CTL_ECONNECT = 3 };

/* Sends method path with an optional JSON body (not consumed).  On HTTP
 * 2xx stores the parsed JSON answer in *ret (NULL when empty) and returns
 * CTL_OK; otherwise prints the one-line error and returns CTL_EFAIL (or
 * CTL_ECONNECT when the server could not be reached). */
int ctl_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **ret);
/* Same, but returns the raw body (malloc'd) and its content type. */
int ctl_call_raw(struct ctl *c, const char *method, const char *path, const void *body,
		 size_t body_len, const char *content_type, char **ret, size_t *ret_len);

/* Sends without judging the answer: on CTL_OK *ret_status is the HTTP
 * status and *ret the answer parsed as JSON (NULL when empty or not
 * JSON).  Only a failure to reach the server is printed. */
int ctl_call_any(struct ctl *c, const char *method, const char *path, const void *body,
		 size_t body_len, const char *content_type, long *ret_status, json_t **ret);

/* What ctl_download() received: its size, and the X-Ardoise-Backup-Point
 * and -Sha256 headers ("" when absent). */
struct ctl_download {
	unsigned long long bytes;
	char point[256];
	char sha256[65];
};
/* GETs path into fd as it arrives (never whole in memory), with a
 * progress line on stderr when progress is set.  CTL_OK only on a 200
 * received whole; otherwise the error is printed (what was written to fd
 * is then the caller's to throw away). */
int ctl_download(struct ctl *c, const char *path, int fd, int progress, struct ctl_download *ret);

struct ctl_args;

/* Prints a verb's answer ret: as JSON with --json, else through
 * human(ret, a) for people; frees ret.  Returns CTL_OK. */
int ctl_print(struct ctl *c, const struct ctl_args *a, json_t *ret,
	      void (*human)(json_t *ret, const struct ctl_args *a));
/* ctl_call() of method path with body (consumed; NULL: none), then
 * ctl_print() of the answer: the whole of most verbs.  Returns
 * ctl_call()'s error, else CTL_OK. */
int ctl_send_print(struct ctl *c, const struct ctl_args *a, const char *method, const char *path,
		   json_t *body, void (*human)(json_t *ret, const struct ctl_args *a));

/* ctl_send_print() of a GET of path with a's query (ctl_opt_query();
 * the whole cut at 1023 bytes). */
int ctl_get_print(struct ctl *c, const struct ctl_args *a, const char *path,
		  void (*human)(json_t *ret, const struct ctl_args *a));

/* GETs path and ctl_print()s the member key of its answer (a list the
 * server does not page): the array itself with --json. */
int ctl_get_member(struct ctl *c, const struct ctl_args *a, const char *path, const char *key,
		   void (*human)(json_t *member, const struct ctl_args *a));

/* Server text as the CLI shows it to people: every control character
 * (C0 with tab and line breaks, DEL, C1) written \xHH or \u00HH and every
 * byte of invalid UTF-8 \xHH, so that no terminal acts on it; line feeds
 * and tabs are kept when lines is non-zero (a block of text shown on its
 * own lines, such as a plist).  Into out, cut at cap - 1 bytes (a
 * character is cut whole).  Returns out. */
const char *ctl_safe(const char *s, int lines, char *out, size_t cap);
/* ctl_safe() applied to every string of v, recursively, in place.  The
 * answers ctl_call() and ctl_call_any() hand over are already so, except
 * with --json (JSON escapes control characters itself). */
void ctl_safe_json(json_t *v);

/* The API's times (ISO 8601 with an offset, "2026-12-02T15:05:00+01:00",
 * or "Z") as people read them, in the local time zone (TZ, else the
 * system's): "JJ/MM/AAAA HH:MM" when the locale is French (LC_ALL, LC_TIME
 * or LANG fr*), else "YYYY-MM-DD HH:MM".  "-" for NULL or ""; any other
 * text is shown as it is.  Into buf; returns buf, iso or a constant. */
const char *ctl_when(const char *iso, char *buf, size_t cap);
/* ctl_when() of the string member key of o. */
const char *ctl_when_of(json_t *o, const char *key, char *buf, size_t cap);

/* Writes JSON text to f with DEL and C1 characters escaped (\u00XX) as C0
 * already are: JSON output carries no raw control character either. */
void ctl_put_json(const char *text, FILE *f);
/* Prints v as JSON (pretty) on stdout, through ctl_put_json(). */
void ctl_print_json(json_t *v);
/* One-line error on stderr: "ardoisectl: ...", fmt translated (gettext):
 * pass the English literal.  Returns CTL_EFAIL. */
int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* URL-encodes s into out. */
void ctl_urlenc(const char *s, char *out, size_t cap);
/* out = prefix + arg URL-encoded + suffix: the path of a verb that names
 * one thing ("/api/v1/devices/", serial, "/commands"). */
void ctl_path(char *out, size_t cap, const char *prefix, const char *arg, const char *suffix);

/* One row of a verb's option table: an option ("--school UAI", a flag
 * "--dry-run") or a positional argument ("SERIAL").  Rows are listed in
 * the order the synopsis shows them; ctl_opt_parse() reads argv against
 * them, ctl_opt_help() writes the verb's --help from them. */
struct ctl_opt {
	const char *name; /* "--school"; a positional: its word, "SERIAL" */
	char short_name;  /* 'x' for "-x"; 0: none */
	const char *arg;  /* the value's word ("UAI"); NULL: a flag (or a positional) */
	unsigned how;	  /* CTL_OPT_* */
	const char *key;  /* with CTL_OPT_BODY/QUERY: the field or parameter */
	const char *set;  /* a flag's value there; NULL: true (body), "1" (query) */
	const char *need; /* NULL: optional; else required, and the usage error */
	const char *help; /* one line for --help */
};

enum {
	CTL_OPT_POS = 1u << 0,	  /* a positional argument */
	CTL_OPT_MULTI = 1u << 1,  /* repeatable (at most CTL_OPT_MAX_LIST): a JSON array */
	CTL_OPT_BODY = 1u << 2,	  /* goes to the JSON body (ctl_opt_body()) */
	CTL_OPT_QUERY = 1u << 3,  /* goes to the query (ctl_opt_query()) */
	CTL_OPT_ONE_OF = 1u << 4, /* exactly one of the verb's ONE_OF rows; need: the error */
	CTL_OPT_SHOWN = 1u << 5,  /* in the synopsis only ("> enroll.mobileconfig") */
};

/* The kinds of row, each written one way: a positional argument (its
 * word, the usage error when it is missing, its help); "--opt WORD" whose
 * value goes to the body's field (need: NULL when optional, else the
 * usage error); "--opt WORD", a filter, to the query's parameter; a flag
 * "--opt" to the query (key=1) or the body (key: true), by how_to. */
#define CTL_OPT_ARG(word, need_text, help_text)                                              \
	{                                                                                    \
		.name = (word), .how = CTL_OPT_POS, .need = (need_text), .help = (help_text) \
	}
#define CTL_OPT_FIELD(opt, word, field, need_text, help_text)                      \
	{                                                                          \
		.name = (opt), .arg = (word), .how = CTL_OPT_BODY, .key = (field), \
		.need = (need_text), .help = (help_text)                           \
	}
#define CTL_OPT_FILTER(opt, word, param, help_text)                                 \
	{                                                                           \
		.name = (opt), .arg = (word), .how = CTL_OPT_QUERY, .key = (param), \
		.help = (help_text)                                                 \
	}
#define CTL_OPT_FLAG(opt, how_to, k, help_text)                                 \
	{                                                                       \
		.name = (opt), .how = (how_to), .key = (k), .help = (help_text) \
	}

/* Rows many verbs share: the tablet named by its serial, the reason that
 * goes to the audit log (word: "R" or "TEXT"; how: CTL_OPT_BODY or
 * CTL_OPT_QUERY), a collège filter, the two rows "--school UAI | --all"
 * of a verb on many tablets (body: "school" or "all": true), the end of a
 * table. */
#define CTL_OPT_SERIAL(need_text) CTL_OPT_ARG("SERIAL", (need_text), N_("the tablet"))
#define CTL_OPT_REASON(word, how_to, need_text)                                      \
	{                                                                            \
		.name = "--reason", .arg = (word), .how = (how_to), .key = "reason", \
		.need = (need_text), .help = N_("why, for the audit log")            \
	}
#define CTL_OPT_SCHOOL(help_text) CTL_OPT_FILTER("--school", "UAI", "school", (help_text))
#define CTL_OPT_SCHOOL_OR_ALL                                                        \
	{.name = "--school",                                                         \
	 .arg = "UAI",                                                               \
	 .how = CTL_OPT_BODY | CTL_OPT_ONE_OF,                                       \
	 .key = "school",                                                            \
	 .need = N_("give exactly one of --school UAI and --all"),                   \
	 .help = N_("every enrolled tablet of this collège")},                       \
	{                                                                            \
		.name = "--all", .how = CTL_OPT_BODY | CTL_OPT_ONE_OF, .key = "all", \
		.need = N_("give exactly one of --school UAI and --all"),            \
		.help = N_("every enrolled tablet of the fleet")                     \
	}
/* The two rows of every list verb's CSV export (ctl_fleet_csv()). */
#define CTL_OPT_CSV                                                                       \
	{.name = "--csv",                                                                 \
	 .help = N_("CSV on stdout, for a spreadsheet: ';'-separated, UTF-8 with a BOM "  \
		    "(opens as it is in French Excel)")},                                 \
	{                                                                                 \
		.name = "--csv-sep", .arg = "SEP",                                        \
		.help = N_("the CSV's separator: ';' (the default), ',' or tab (implies " \
			   "--csv)")                                                      \
	}
#define CTL_OPT_END  \
	{            \
		NULL \
	}

#define CTL_OPT_MAX	 16 /* rows of one verb */
#define CTL_OPT_MAX_LIST 64 /* values of its one repeatable row */

struct ctl_verb;

/* A verb's arguments once parsed: pointers into argv. */
struct ctl_args {
	const struct ctl_verb *verb;
	const char *val[CTL_OPT_MAX];	    /* per row: its value, a flag's "1"; NULL: absent */
	const char *list[CTL_OPT_MAX_LIST]; /* the repeatable row's values */
	size_t n_list;
};

struct ctl_verb {
	const char *noun;
	const char *verb; /* NULL: the noun alone ("whoami") */
	int (*run)(struct ctl *c, const struct ctl_args *a);
	const struct ctl_opt *opts; /* terminated by a NULL name; NULL: none */
	unsigned raw;		    /* writes the server's bytes: no --json */
	const char *help;
};

/* Reads argv (the verb's own words, --json removed) against v's table
 * into *ret: "--name VALUE" (last one wins; a repeatable row keeps all),
 * flags, positionals in row order.  Then every required row, then the
 * ONE_OF group, in table order.  CTL_OK, or prints the usage error and
 * returns CTL_EUSAGE (*ret then unspecified). */
int ctl_opt_parse(const struct ctl_verb *v, int argc, char **argv, struct ctl_args *ret);
/* The value of the row named name ("--reason", "SERIAL"); NULL when
 * absent.  name must be a row of the verb's table (aborts otherwise). */
const char *ctl_opt_get(const struct ctl_args *a, const char *name);
/* A new JSON object with the CTL_OPT_BODY rows given, in table order:
 * strings, flags (true or their set value), repeatable rows as arrays
 * (always written, [] when none given).  NULL only out of memory. */
json_t *ctl_opt_body(const struct ctl_args *a);
/* Appends the CTL_OPT_QUERY rows given to path ("?k=v&...", URL-encoded). */
void ctl_opt_query(const struct ctl_args *a, char *path, size_t cap);
/* The synopsis "NOUN [VERB] ARGS... [--json]" into out. */
void ctl_opt_synopsis(const struct ctl_verb *v, char *out, size_t cap);
/* The verb's --help on f: synopsis, what it does, each row's help. */
void ctl_opt_help(const struct ctl_verb *v, FILE *f);
/* The verb's part of ardoisectl(1) in roff on f: its synopsis, what it
 * does and each row's help, in English (msgids, untranslated). */
void ctl_opt_man(const struct ctl_verb *v, FILE *f);
/* s as roff text on f (backslashes, hyphens, leading dots escaped). */
void ctl_opt_roff(const char *s, FILE *f);
/* Usage error: "ardoisectl: ..." (fmt translated, as ctl_err()'s) and
 * the verb's synopsis on stderr; returns CTL_EUSAGE. */
int ctl_opt_usage(const struct ctl_verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The row name as a whole number >= min into *ret (untouched when
 * absent): 0, or -1 when it is given and is not one. */
int ctl_opt_int(const struct ctl_args *a, const char *name, long long min, long long *ret);

/* ---- ctl_fleet.c: what the fleet verbs share ---- */

/* An aligned text table: columns sized to their widest cell (in
 * characters, UTF-8 aware).  Cells are copied. */
struct ctl_table;
struct ctl_table *ctl_fleet_table(size_t ncols, const char *const *headers);
void ctl_fleet_row(struct ctl_table *t, const char *const *cells);
/* Prints and frees. */
void ctl_fleet_table_print(struct ctl_table *t, FILE *f);
/* Frees without printing.  NULL ok. */
void ctl_fleet_table_free(struct ctl_table *t);

/* Writes one CSV line (RFC 4180 quoting, ended by CRLF), separated by
 * ';' unless ctl_fleet_csv() chose another, the UTF-8 BOM before the
 * first line of an export ctl_fleet_csv() started.  Every CSV ardoisectl
 * writes goes through here: a cell starting with = + - @ TAB or CR is
 * written with a leading ' so that no spreadsheet runs it as a formula. */
void ctl_fleet_csv_line(FILE *f, const char *const *cells, size_t n);
/* 1 when the verb was asked for CSV (its rows CTL_OPT_CSV: --csv, or
 * --csv-sep SEP); then the separator is set and the BOM armed for
 * ctl_fleet_csv_line().  0 otherwise.  A bad SEP is a usage error (exits). */
int ctl_fleet_csv(const struct ctl_args *a);
/* A list as CSV on f: a header line of the elements' members (an object
 * member's members as "holder.id"), then a line per element. */
void ctl_fleet_csv_json(json_t *all, FILE *f);

/* The string member key of o, or "-" when NULL/empty (times: ctl_when()). */
const char *ctl_fleet_str(json_t *o, const char *key);
/* The count v as text into buf, or none when v is not an integer (null: a
 * target not known, a cell suppressed). */
const char *ctl_fleet_int(json_t *v, const char *none, char *buf, size_t cap);

/* Appends "&key=value" (URL-encoded) to a path under construction when
 * value is not NULL; the first one gets '?'. */
void ctl_query_add(char *path, size_t cap, const char *key, const char *value);

/* GETs path page after page (following "next") and gathers the arrays
 * under `key` into *ret (new reference), strings shown safe without
 * --json (ctl_safe_json()). */
int ctl_fleet_get_all(struct ctl *c, const char *path, const char *key, json_t **ret);

/* The same list printed as a JSON array (one element a line) without
 * parsing it: what --json prints for long lists. */
int ctl_fleet_print_all(struct ctl *c, const char *path, const char *key);

/* A list verb: path with a's query (cut at 1023 bytes); with --json
 * ctl_fleet_print_all(), with --csv (ctl_fleet_csv()) ctl_fleet_csv_json(),
 * else ctl_fleet_get_all() and human(all, a) for people.  CTL_OK, or the
 * error of the call. */
int ctl_fleet_list(struct ctl *c, const struct ctl_args *a, const char *path, const char *key,
		   void (*human)(json_t *all, const struct ctl_args *a));

/* GETs every page of a list and calls fn for each element with vals[k]
 * the value of keys[k] ("a.b": member b of member a) as text ("" for
 * null or absent), strings decoded
 * and shown safe (ctl_safe(): for people, not for --json);
 * at most CTL_FLEET_MAX_KEYS keys.  Elements the server writes flat (the
 * long lists) are read without building JSON objects. */
#define CTL_FLEET_MAX_KEYS 16
int ctl_fleet_get_rows(struct ctl *c, const char *path, const char *key, const char *const *keys,
		       size_t nkeys, void (*fn)(const char *const *vals, void *arg), void *arg);

/* The option table of `NOUN import FILE.csv [--dry-run] [--reason R]`. */
extern const struct ctl_opt ctl_fleet_import_opts[];
/* That verb: POSTs the file as text/csv to path and prints the report
 * (each bad row as FILE:LINE: reason). */
int ctl_fleet_import(struct ctl *c, const struct ctl_args *a, const char *path);

/* POST /api/v1/devices/SERIAL/what (SERIAL: the verb's row of that
 * name) with the body of a's options; ctl_print()s the answer through
 * human().  In ctl_device.c. */
int ctl_device_post(struct ctl *c, const struct ctl_args *a, const char *what,
		    void (*human)(json_t *ret, const struct ctl_args *a));

/* Each ctl_<noun>.c exports one table of verbs, terminated by a row whose
 * noun is NULL, and is listed once in ctl_main.c. */
extern const struct ctl_verb ctl_account_verbs[];
extern const struct ctl_verb ctl_command_verbs[];
extern const struct ctl_verb ctl_school_verbs[];
extern const struct ctl_verb ctl_device_verbs[];
extern const struct ctl_verb ctl_person_verbs[];
extern const struct ctl_verb ctl_loan_verbs[];
extern const struct ctl_verb ctl_incident_verbs[];
extern const struct ctl_verb ctl_audit_verbs[];
extern const struct ctl_verb ctl_report_verbs[];
extern const struct ctl_verb ctl_lock_verbs[];
extern const struct ctl_verb ctl_locate_verbs[];
extern const struct ctl_verb ctl_policy_verbs[];
extern const struct ctl_verb ctl_push_verbs[];
extern const struct ctl_verb ctl_dashboard_verbs[];
extern const struct ctl_verb ctl_notice_verbs[];
extern const struct ctl_verb ctl_update_verbs[];
extern const struct ctl_verb ctl_ade_verbs[];
extern const struct ctl_verb ctl_vpp_verbs[];
extern const struct ctl_verb ctl_backup_verbs[];
extern const struct ctl_verb ctl_declaration_verbs[];

#endif
