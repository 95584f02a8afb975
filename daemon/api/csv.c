/* csv.c - RFC 4180 reader with separator detection and hard limits. */
#include "csv.h"
#include "ap_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct csv_limits csv_default_limits = {4096, CSV_MAX_FIELDS, 250001};

struct csv {
	const char *p, *end;
	size_t line; /* line of *p */
	size_t records;
	struct csv_limits lim;
	char sep;
	int too_many;
	char *buf; /* the current record's fields, each NUL-terminated */
	size_t buf_cap, buf_len;
};

/* The separator the first line uses more (outside quotes). */
static char detect_sep(const char *p, const char *end)
{
	size_t commas = 0, semis = 0;
	int quoted = 0;
	for (; p < end; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == '\n' || *p == '\r'))
			break;
		else if (!quoted && *p == ',')
			commas++;
		else if (!quoted && *p == ';')
			semis++;
	}
	return semis > commas ? ';' : ',';
}

int csv_open(const char *data, size_t len, const struct csv_limits *lim, struct csv **ret)
{
	struct csv *c;
	if (len >= 2 && (((unsigned char)data[0] == 0xff && (unsigned char)data[1] == 0xfe) ||
			 ((unsigned char)data[0] == 0xfe && (unsigned char)data[1] == 0xff)))
		return AP_EUNSUPPORTED;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return AP_ENOMEM;
	c->lim = lim ? *lim : csv_default_limits;
	if (c->lim.max_fields > CSV_MAX_FIELDS)
		c->lim.max_fields = CSV_MAX_FIELDS;
	c->buf_cap = c->lim.max_fields * (c->lim.max_field + 1);
	c->buf = malloc(c->buf_cap);
	if (c->buf == NULL) {
		free(c);
		return AP_ENOMEM;
	}
	c->p = data;
	c->end = data + len;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		c->p += 3;
	c->line = 1;
	c->sep = detect_sep(c->p, c->end);
	*ret = c;
	return 0;
}

void csv_free(struct csv *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c);
}

char csv_separator(const struct csv *c)
{
	return c->sep;
}

static int fail(struct csv_record *rec, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct csv_record *rec, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rec->error, sizeof(rec->error), fmt, ap);
	va_end(ap);
	return code;
}

/* Consumes one line break at c->p if there is one; 1 when it did. */
static int eat_eol(struct csv *c)
{
	if (c->p < c->end && *c->p == '\r') {
		c->p++;
		if (c->p < c->end && *c->p == '\n')
			c->p++;
		c->line++;
		return 1;
	}
	if (c->p < c->end && *c->p == '\n') {
		c->p++;
		c->line++;
		return 1;
	}
	return 0;
}

/* After a bad record: skip what is left of the physical line. */
static void skip_line(struct csv *c)
{
	while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
		c->p++;
	eat_eol(c);
}

/* The bytes of the UTF-8 character at s[i] (at most n - i), 0 when it is
 * not one: NUL, a bad or truncated sequence, an overlong form, a
 * surrogate, or past U+10FFFF. */
static size_t utf8_char(const unsigned char *s, size_t i, size_t n)
{
	unsigned char b = s[i];
	size_t k;
	unsigned cp;
	if (b == 0)
		return 0;
	if (b < 0x80)
		return 1;
	if ((b & 0xe0) == 0xc0)
		k = 1, cp = b & 0x1f;
	else if ((b & 0xf0) == 0xe0)
		k = 2, cp = b & 0x0f;
	else if ((b & 0xf8) == 0xf0)
		k = 3, cp = b & 0x07;
	else
		return 0;
	if (i + k >= n)
		return 0; /* truncated sequence */
	for (size_t j = 1; j <= k; j++) {
		if ((s[i + j] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i + j] & 0x3f);
	}
	if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k + 1;
}

size_t csv_utf8_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	while (i < n && (k = utf8_char(u, i, n)) != 0)
		i += k;
	return i;
}

/* Valid UTF-8 without NUL or overlong forms. */
static int utf8_ok(const unsigned char *s, size_t n)
{
	return csv_utf8_prefix((const char *)s, n) == n;
}

/* Appends byte ch to the field being built. */
static int put(struct csv *c, struct csv_record *rec, char ch, size_t start)
{
	if (c->buf_len - start >= c->lim.max_field)
		return fail(rec, AP_ETOOBIG, "field %zu is longer than %zu bytes", rec->n + 1,
			    c->lim.max_field);
	c->buf[c->buf_len++] = ch;
	return 0;
}

/* Reads a quoted field (c->p just after the opening quote). */
static int quoted_field(struct csv *c, struct csv_record *rec, size_t start)
{
	size_t opened = c->line;
	int rc;
	for (;;) {
		if (c->p >= c->end) /* the rest of the input belonged to the field */
			return fail(rec, AP_EPARSE,
				    "quoted field opened on line %zu is never closed", opened);
		char ch = *c->p++;
		if (ch == '"') {
			if (c->p < c->end && *c->p == '"') {
				c->p++;
			} else {
				break;
			}
		} else if (ch == '\n' || (ch == '\r' && !(c->p < c->end && *c->p == '\n'))) {
			c->line++;
		}
		if ((rc = put(c, rec, ch, start)) < 0)
			return rc;
	}
	if (c->p < c->end && *c->p != c->sep && *c->p != '\n' && *c->p != '\r')
		return fail(rec, AP_EPARSE, "text after the closing quote of field %zu",
			    rec->n + 1);
	return 0;
}

static int plain_field(struct csv *c, struct csv_record *rec, size_t start)
{
	int rc;
	while (c->p < c->end && *c->p != c->sep && *c->p != '\n' && *c->p != '\r') {
		if (*c->p == '"')
			return fail(rec, AP_EPARSE,
				    "quote inside unquoted field %zu (quote the whole field "
				    "and double the quote)",
				    rec->n + 1);
		if ((rc = put(c, rec, *c->p++, start)) < 0)
			return rc;
	}
	return 0;
}

/* Reads one field and the separator or line break after it; *ret_last is
 * set when the record ends with it. */
static int field(struct csv *c, struct csv_record *rec, int *ret_last)
{
	size_t start = c->buf_len;
	int rc;
	if (rec->n == c->lim.max_fields)
		return fail(rec, AP_ETOOBIG, "more than %zu fields", c->lim.max_fields);
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		rc = quoted_field(c, rec, start);
	} else {
		rc = plain_field(c, rec, start);
	}
	if (rc < 0)
		return rc;
	if (!utf8_ok((const unsigned char *)c->buf + start, c->buf_len - start))
		return fail(rec, AP_EPARSE,
			    "field %zu is not UTF-8 text (save the file as \"CSV UTF-8\")",
			    rec->n + 1);
	rec->f[rec->n] = c->buf + start;
	rec->len[rec->n] = c->buf_len - start;
	rec->n++;
	c->buf[c->buf_len++] = '\0';
	if (c->p < c->end && *c->p == c->sep) {
		c->p++;
		*ret_last = 0;
	} else {
		eat_eol(c);
		*ret_last = 1;
	}
	return 0;
}

int csv_next(struct csv *c, struct csv_record *rec)
{
	int last = 0, rc;
	rec->n = 0;
	rec->error[0] = '\0';
	if (c->too_many)
		return fail(rec, AP_ELIMIT, "more than %zu rows", c->lim.max_records - 1);
	while (eat_eol(c))
		; /* empty lines */
	rec->line = c->line;
	if (c->p >= c->end)
		return 0;
	if (++c->records > c->lim.max_records) {
		c->too_many = 1;
		return fail(rec, AP_ELIMIT, "more than %zu rows", c->lim.max_records - 1);
	}
	c->buf_len = 0;
	while (!last) {
		rc = field(c, rec, &last);
		if (rc < 0) {
			skip_line(c);
			rec->n = 0;
			return rc;
		}
	}
	return 1;
}
