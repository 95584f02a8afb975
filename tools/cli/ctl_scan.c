/*
 * ctl_scan.c - the CLI's JSON scanner for long lists: pages and flat rows
 * read straight from the answer's text, without building JSON objects
 * (jansson's allocations were most of the time of a long table).  No I/O:
 * fuzzed by tests/fuzz/fuzz_scan.c.
 */
#include "ctl_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_scan_page(const char *body, size_t len, const char *key, const char **items,
		  size_t *n_items, char *next, size_t next_cap)
{
	static const char lead[] = "{\"next\":", tail[] = "\n]}\n";
	char head[80];
	const char *p = body, *end = body + len;
	if (len < sizeof(lead) - 1 || strncmp(p, lead, sizeof(lead) - 1) != 0)
		return 0;
	p += sizeof(lead) - 1;
	size_t k = strspn(p, "0123456789");
	if (k == 0 && strncmp(p, "null", 4) == 0)
		k = 4;
	if (k == 0 || k >= next_cap)
		return 0;
	snprintf(next, next_cap, "%.*s", (int)k, p[0] == 'n' ? "" : p);
	p += k;
	p += strspn(p, " "); /* the server pads the cursor */
	snprintf(head, sizeof(head), ",\"%s\":[\n", key);
	if ((size_t)(end - p) < strlen(head) + sizeof(tail) - 1 ||
	    strncmp(p, head, strlen(head)) != 0 ||
	    memcmp(end - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		return 0;
	p += strlen(head);
	*items = p;
	*n_items = (size_t)(end - (sizeof(tail) - 1) - p);
	return 1;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* Appends code point cp as UTF-8 to out[*o..cap). */
static void put_utf8(char *out, size_t *o, size_t cap, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	}
	if (*o + n < cap) {
		memcpy(out + *o, b, n);
		*o += n;
	}
}

/* The 4 hex digits at p as a number, or -1. */
static long hex4(const char *p, const char *end)
{
	char tmp[5], *e;
	if (end - p < 4)
		return -1;
	memcpy(tmp, p, 4);
	tmp[4] = '\0';
	long v = strtol(tmp, &e, 16);
	return *e ? -1 : v;
}

/* Decodes the JSON string whose opening quote is at p into out (cut at
 * cap - 1 bytes); returns the position after its closing quote, or NULL. */
static const char *jstring(const char *p, const char *end, char *out, size_t cap)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t o = 0;
	for (p++; p < end && *p != '"'; p++) {
		if (*p != '\\') {
			if (o + 1 < cap)
				out[o++] = *p;
			continue;
		}
		if (++p >= end)
			return NULL;
		const char *e = *p ? strchr(esc, *p) : NULL;
		if (e && (e - esc) % 2 == 0) {
			if (o + 1 < cap)
				out[o++] = e[1];
			continue;
		}
		long cp = *p == 'u' ? hex4(p + 1, end) : -1;
		if (cp < 0)
			return NULL;
		p += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
			long lo = hex4(p + 3, end);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
		}
		put_utf8(out, &o, cap, (unsigned)cp);
	}
	if (p >= end)
		return NULL;
	out[o] = '\0';
	return p + 1;
}

/* The members of the object at p (its '{'): vals[k] gets the value of
 * keys[k] (numbers and booleans as written), a member named prefix + its
 * name; when nested is 0, a member that is an object is read too, its
 * members named "outer.inner".  NULL when it is not such an object. */
static const char *object(const char *p, const char *end, const char *const *keys, size_t nkeys,
			  char (*vals)[CTL_SCAN_VAL], const char *prefix, int nested)
{
	char key[64], full[136], skip[CTL_SCAN_VAL];
	if (p >= end || *p++ != '{')
		return NULL;
	for (p = skip_ws(p, end); p < end && *p != '}';) {
		size_t k = 0;
		if (*p != '"' || (p = jstring(p, end, key, sizeof(key))) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return NULL;
		p = skip_ws(p, end);
		snprintf(full, sizeof(full), "%s%s", prefix, key);
		while (k < nkeys && strcmp(keys[k], full) != 0)
			k++;
		char *v = k < nkeys ? vals[k] : skip;
		if (p < end && *p == '"') {
			p = jstring(p, end, v, CTL_SCAN_VAL);
		} else if (p < end && *p == '{' && !nested) {
			char inner[sizeof(full) + 1];
			snprintf(inner, sizeof(inner), "%s.", full);
			p = object(p, end, keys, nkeys, vals, inner, 1);
		} else {
			size_t n = strspn(p, "-+.0123456789eEnulltrfas");
			if (n == 0 || n >= CTL_SCAN_VAL || (size_t)(end - p) < n)
				return NULL;
			snprintf(v, CTL_SCAN_VAL, "%.*s", (int)n,
				 strncmp(p, "null", 4) == 0 ? "" : p);
			p += n;
		}
		if (p == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p >= end || *p != '}')
			return NULL;
	}
	return p < end ? p + 1 : NULL;
}

/* One flat object at p (or with flat objects as members, see object()):
 * vals[k] gets the value of keys[k] ("" when null or absent).  NULL when
 * it is not one. */
static const char *flat_object(const char *p, const char *end, const char *const *keys,
			       size_t nkeys, char (*vals)[CTL_SCAN_VAL])
{
	for (size_t k = 0; k < nkeys; k++)
		vals[k][0] = '\0';
	return object(skip_ws(p, end), end, keys, nkeys, vals, "", 0);
}

int ctl_scan_rows(const char *text, size_t len, const char *const *keys, size_t nkeys,
		  void (*fn)(const char *const *vals, void *arg), void *arg)
{
	char(*vals)[CTL_SCAN_VAL] = calloc(nkeys ? nkeys : 1, CTL_SCAN_VAL);
	const char *ptrs[CTL_SCAN_MAX_KEYS];
	const char *end = text + len;
	int rc = vals && nkeys <= CTL_SCAN_MAX_KEYS ? 0 : -1;
	for (size_t k = 0; rc == 0 && k < nkeys; k++)
		ptrs[k] = vals[k];
	for (int pass = 0; rc == 0 && pass < 2; pass++) { /* check all, then call */
		for (const char *p = skip_ws(text, end); rc == 0 && p < end;) {
			if ((p = flat_object(p, end, keys, nkeys, vals)) == NULL) {
				rc = -1;
				break;
			}
			if (pass == 1)
				fn(ptrs, arg);
			p = skip_ws(p, end);
			if (p < end && *p == ',')
				p = skip_ws(p + 1, end);
		}
	}
	free(vals);
	return rc;
}
