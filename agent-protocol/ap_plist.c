/*
 * ap_plist.c - a pre-scan that keeps hostile XML away from libplist, and
 * typed dictionary getters.
 *
 * The pre-scan is not an XML parser: it checks characters (UTF-8, no NUL or
 * forbidden controls), markup declarations (no internal DTD subset, no
 * entity definitions), character and entity references, and the balance
 * and depth of elements.  libplist then parses what passed.
 */
#include "ap_plist.h"
#include "ap_err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ELEMS (AP_PLIST_MAX_DEPTH + 2)

struct elem {
	const char *name;
	size_t len;
};

struct scan {
	const char *p;
	size_t len;
	size_t i;
	struct elem stack[MAX_ELEMS];
	size_t depth;
	size_t containers;
};

/* XML 1.0 "Char" production. */
static int xml_char_ok(unsigned long c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned long *ret_cp)
{
	unsigned long cp;
	size_t need;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3F);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	*ret_cp = cp;
	return need;
}

static int check_chars(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned long cp;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i, &cp);
		if (n == 0 || !xml_char_ok(cp))
			return AP_EPARSE;
		i += n;
	}
	return 0;
}

int ap_plist_text_ok(const char *s, size_t len)
{
	return s != NULL && check_chars(s, len) == 0;
}

static int check_tree(plist_t p, unsigned depth)
{
	uint64_t len = 0;
	int rc = 0;

	switch (plist_get_node_type(p)) {
	case PLIST_STRING: {
		const char *s = plist_get_string_ptr(p, &len);
		return ap_plist_text_ok(s ? s : "", len) ? 0 : AP_EINVAL;
	}
	case PLIST_ARRAY:
	case PLIST_DICT:
		break;
	default:
		return 0;
	}
	if (depth >= AP_PLIST_MAX_DEPTH)
		return AP_ETOODEEP;
	if (plist_get_node_type(p) == PLIST_ARRAY) {
		uint32_t n = plist_array_get_size(p);
		for (uint32_t i = 0; i < n && rc == 0; i++)
			rc = check_tree(plist_array_get_item(p, i), depth + 1);
		return rc;
	}
	plist_dict_iter it = NULL;
	plist_dict_new_iter(p, &it);
	if (it == NULL)
		return AP_ENOMEM;
	while (rc == 0) {
		char *key = NULL;
		plist_t v = NULL;
		plist_dict_next_item(p, it, &key, &v);
		if (v == NULL) {
			free(key);
			break;
		}
		if (key == NULL || !ap_plist_text_ok(key, strlen(key)))
			rc = AP_EINVAL;
		else
			rc = check_tree(v, depth + 1);
		free(key);
	}
	free(it);
	return rc;
}

int ap_plist_check_tree(plist_t p)
{
	if (p == NULL)
		return AP_EINVAL;
	return check_tree(p, 0);
}

static int starts(const struct scan *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len - s->i >= n && memcmp(s->p + s->i, lit, n) == 0;
}

/* Moves past the first `end` at or after from; AP_EPARSE if there is none. */
static int skip_past(struct scan *s, size_t from, const char *end)
{
	size_t n = strlen(end);
	const char *hit = from <= s->len ? memmem(s->p + from, s->len - from, end, n) : NULL;
	if (hit == NULL)
		return AP_EPARSE;
	s->i = (size_t)(hit - s->p) + n;
	return 0;
}

/* The index of the first byte of s->p[from..len) outside '...' and "..."
 * quotes that is one of stops; s->len when there is none. */
static size_t unquoted(const struct scan *s, size_t from, const char *stops)
{
	char quote = 0;

	for (size_t j = from; j < s->len; j++) {
		char c = s->p[j];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c != '\0' && strchr(stops, c) != NULL) {
			return j;
		}
	}
	return s->len;
}

/* <!DOCTYPE ...>: an internal subset ('[' outside quotes) is refused. */
static int scan_doctype(struct scan *s)
{
	size_t j = unquoted(s, s->i + 9, "[>");

	if (j >= s->len)
		return AP_EPARSE;
	if (s->p[j] == '[')
		return AP_EUNSUPPORTED;
	s->i = j + 1;
	return 0;
}

static int is_name_char(char c)
{
	return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/' && c != '>' &&
	       c != '<' && c != '=' && c != '"' && c != '\'';
}

static int is_container(const struct elem *e)
{
	return (e->len == 4 && memcmp(e->name, "dict", 4) == 0) ||
	       (e->len == 5 && memcmp(e->name, "array", 5) == 0);
}

/* </name>: must close the innermost open element. */
static int scan_close(struct scan *s)
{
	size_t j = s->i + 2, start = j;

	while (j < s->len && is_name_char(s->p[j]))
		j++;
	struct elem e = {s->p + start, j - start};
	while (j < s->len &&
	       (s->p[j] == ' ' || s->p[j] == '\t' || s->p[j] == '\r' || s->p[j] == '\n'))
		j++;
	if (j >= s->len || s->p[j] != '>' || s->depth == 0)
		return AP_EPARSE;
	struct elem *top = &s->stack[s->depth - 1];
	if (top->len != e.len || memcmp(top->name, e.name, e.len) != 0)
		return AP_EPARSE;
	if (is_container(top))
		s->containers--;
	s->depth--;
	s->i = j + 1;
	return 0;
}

/* <name attr="..." ...> or <name/>: opens an element unless self-closed. */
static int scan_open(struct scan *s)
{
	size_t j = s->i + 1, start = j;

	while (j < s->len && is_name_char(s->p[j]))
		j++;
	struct elem e = {s->p + start, j - start};
	if (e.len == 0)
		return AP_EPARSE;
	j = unquoted(s, j, "<>");
	if (j >= s->len || s->p[j] == '<')
		return AP_EPARSE;
	s->i = j + 1;
	if (s->p[j - 1] == '/')
		return 0;
	if (s->depth == MAX_ELEMS)
		return AP_ETOODEEP;
	if (is_container(&e) && ++s->containers > AP_PLIST_MAX_DEPTH)
		return AP_ETOODEEP;
	s->stack[s->depth++] = e;
	return 0;
}

static int scan_tag(struct scan *s)
{
	if (starts(s, "<!--"))
		return skip_past(s, s->i + 4, "-->");
	if (starts(s, "<![CDATA["))
		return skip_past(s, s->i + 9, "]]>");
	if (starts(s, "<!DOCTYPE"))
		return scan_doctype(s);
	if (starts(s, "<!"))
		return AP_EUNSUPPORTED; /* <!ENTITY, <!ELEMENT, <!ATTLIST ... */
	if (starts(s, "<?"))
		return skip_past(s, s->i + 2, "?>");
	if (starts(s, "</"))
		return scan_close(s);
	return scan_open(s);
}

/* &name; or &#N; / &#xH; : the five predefined entities or an XML Char. */
static int scan_ref(struct scan *s)
{
	static const char *const names[] = {"amp", "lt", "gt", "quot", "apos"};
	const char *r = s->p + s->i + 1;
	size_t max = s->len - s->i - 1;
	const char *semi = memchr(r, ';', max < 12 ? max : 12);

	if (semi == NULL)
		return AP_EPARSE;
	size_t n = (size_t)(semi - r);
	s->i += n + 2;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == n && memcmp(r, names[k], n) == 0)
			return 0;
	if (n < 2 || r[0] != '#')
		return AP_EPARSE;
	int hex = r[1] == 'x';
	unsigned long cp = 0;
	size_t k = hex ? 2 : 1;
	if (k == n || n - k > 8)
		return AP_EPARSE;
	for (; k < n; k++) {
		char c = r[k];
		int d = c >= '0' && c <= '9'	      ? c - '0'
			: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
						      : -1;
		if (d < 0)
			return AP_EPARSE;
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
	}
	return xml_char_ok(cp) ? 0 : AP_EPARSE;
}

static int prescan(const char *p, size_t len)
{
	struct scan s = {.p = p, .len = len};
	int rc = check_chars(p, len);

	while (rc == 0 && s.i < len) {
		char c = p[s.i];
		if (c == '<')
			rc = scan_tag(&s);
		else if (c == '&')
			rc = scan_ref(&s);
		else
			s.i++;
	}
	if (rc == 0 && s.depth != 0)
		rc = AP_EPARSE;
	return rc;
}

int ap_plist_parse(const char *data, size_t len, size_t max_bytes, plist_t *ret)
{
	plist_t p = NULL;
	int rc;

	if (ret == NULL || (data == NULL && len > 0))
		return AP_EINVAL;
	if (max_bytes == 0)
		max_bytes = AP_PLIST_MAX_BYTES;
	if (len > max_bytes || len > UINT32_MAX)
		return AP_ETOOBIG;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (len >= 6 && memcmp(data, "bplist", 6) == 0)
		return AP_EUNSUPPORTED;
	if (len == 0)
		return AP_EPARSE;
	rc = prescan(data, len);
	if (rc < 0)
		return rc;
	plist_from_xml(data, (uint32_t)len, &p);
	if (p == NULL)
		return AP_EPARSE;
	*ret = p;
	return 0;
}

int ap_plist_to_xml(plist_t p, char **ret_xml, size_t *ret_len)
{
	char *xml = NULL;
	uint32_t len = 0;

	if (p == NULL || ret_xml == NULL)
		return AP_EINVAL;
	plist_to_xml(p, &xml, &len);
	if (xml == NULL)
		return AP_ENOMEM;
	/* copied so the caller can use free() whatever libplist's allocator */
	char *out = malloc((size_t)len + 1);
	if (out == NULL) {
		plist_to_xml_free(xml);
		return AP_ENOMEM;
	}
	memcpy(out, xml, len);
	out[len] = '\0';
	plist_to_xml_free(xml);
	*ret_xml = out;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int ap_dict_get_node(plist_t dict, const char *key, plist_type type, plist_t *ret)
{
	if (dict == NULL || key == NULL || ret == NULL || plist_get_node_type(dict) != PLIST_DICT)
		return AP_EINVAL;
	plist_t v = plist_dict_get_item(dict, key);
	if (v == NULL)
		return AP_EMISSING;
	if (plist_get_node_type(v) != type)
		return AP_ETYPE;
	*ret = v;
	return 0;
}

int ap_dict_get_string(plist_t dict, const char *key, char **ret)
{
	plist_t v;
	uint64_t len = 0;
	int rc = ap_dict_get_node(dict, key, PLIST_STRING, &v);

	if (rc < 0)
		return rc;
	const char *s = plist_get_string_ptr(v, &len);
	if (s == NULL)
		s = "";
	if (memchr(s, '\0', len) != NULL)
		return AP_EINVAL;
	char *out = malloc(len + 1);
	if (out == NULL)
		return AP_ENOMEM;
	memcpy(out, s, len);
	out[len] = '\0';
	*ret = out;
	return 0;
}

int ap_dict_get_data(plist_t dict, const char *key, unsigned char **ret, size_t *ret_len)
{
	plist_t v;
	uint64_t len = 0;
	int rc = ap_dict_get_node(dict, key, PLIST_DATA, &v);

	if (rc < 0)
		return rc;
	if (ret_len == NULL)
		return AP_EINVAL;
	const char *d = plist_get_data_ptr(v, &len);
	unsigned char *out = malloc(len + 1);
	if (out == NULL)
		return AP_ENOMEM;
	if (len)
		memcpy(out, d, len);
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	return 0;
}

/* A scalar as libplist hands it out: boolean, unsigned integer or real. */
union scalar {
	uint8_t b;
	uint64_t u;
	double d;
};

/* dict[key] when it is a scalar of `type` (PLIST_BOOLEAN, PLIST_UINT or
 * PLIST_REAL), read into the matching member of *out (all zero first);
 * errors as ap_dict_get_node(). */
static int dict_get_scalar(plist_t dict, const char *key, plist_type type, union scalar *out)
{
	plist_t v;
	int rc = ap_dict_get_node(dict, key, type, &v);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (type == PLIST_BOOLEAN)
		plist_get_bool_val(v, &out->b);
	else if (type == PLIST_UINT)
		plist_get_uint_val(v, &out->u);
	else
		plist_get_real_val(v, &out->d);
	return 0;
}

int ap_dict_get_bool(plist_t dict, const char *key, int *ret)
{
	union scalar v;
	int rc = dict_get_scalar(dict, key, PLIST_BOOLEAN, &v);

	if (rc == 0)
		*ret = v.b != 0;
	return rc;
}

int ap_dict_get_int(plist_t dict, const char *key, int64_t *ret)
{
	union scalar v;
	int rc = dict_get_scalar(dict, key, PLIST_UINT, &v);

	if (rc == 0)
		*ret = (int64_t)v.u;
	return rc;
}

int ap_dict_get_real(plist_t dict, const char *key, double *ret)
{
	int64_t i;
	union scalar v;
	int rc = ap_dict_get_int(dict, key, &i);

	if (rc == 0) {
		*ret = (double)i;
		return 0;
	}
	if (rc != AP_ETYPE)
		return rc;
	rc = dict_get_scalar(dict, key, PLIST_REAL, &v);
	if (rc < 0)
		return rc;
	if (!isfinite(v.d))
		return AP_EINVAL;
	*ret = v.d;
	return 0;
}

const char *ap_plist_type_name(plist_type t)
{
	static const char *const names[] = {
	    [PLIST_BOOLEAN] = "boolean", [PLIST_UINT] = "integer", [PLIST_REAL] = "real",
	    [PLIST_STRING] = "string",	 [PLIST_ARRAY] = "array",  [PLIST_DICT] = "dictionary",
	    [PLIST_DATE] = "date",	 [PLIST_DATA] = "data",	   [PLIST_KEY] = "key",
	    [PLIST_UID] = "uid",	 [PLIST_NONE] = "none",
	};
	if ((unsigned)t < sizeof(names) / sizeof(names[0]) && names[t] != NULL)
		return names[t];
	return "unknown";
}
