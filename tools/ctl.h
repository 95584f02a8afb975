/*
 * ctl.h - ardoisectl's shared pieces: the HTTP client, output, the verb
 * table type.  Each noun's verbs live in their own ctl_<noun>.c.
 */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

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

/* The API's times ("YYYY-MM-DDTHH:MM:SSZ", ISO 8601 in UTC) as people
 * read them: "YYYY-MM-DD HH:MM" in the local time zone (TZ).  "-" for
 * NULL or ""; any other text is shown as it is.  Into buf; returns buf or
 * a constant. */
const char *ctl_when(const char *iso, char *buf, size_t cap);
/* ctl_when() of the string member key of o. */
const char *ctl_when_of(json_t *o, const char *key, char *buf, size_t cap);

/* Writes JSON text to f with DEL and C1 characters escaped (\u00XX) as C0
 * already are: JSON output carries no raw control character either. */
void ctl_put_json(const char *text, FILE *f);
/* Prints v as JSON (pretty) on stdout, through ctl_put_json(). */
void ctl_print_json(json_t *v);
/* One-line error on stderr: "ardoisectl: ...". Returns CTL_EFAIL. */
int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: prints the line and the verb's usage; returns CTL_EUSAGE. */
int ctl_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* URL-encodes s into out. */
void ctl_urlenc(const char *s, char *out, size_t cap);
/* out = prefix + arg URL-encoded + suffix: the path of a verb that names
 * one thing ("/api/v1/devices/", serial, "/commands"). */
void ctl_path(char *out, size_t cap, const char *prefix, const char *arg, const char *suffix);

struct ctl_verb {
	const char *noun;
	const char *verb;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage;
	const char *help;
};

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

#endif
