/* gdmf.c - Apple's software update catalogue parsed and questioned. */
#include "gdmf.h"
#include "ap_err.h"
#include "isodate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gdmf {
	struct gdmf_release *rel;
	size_t n, cap;
};

/* The sets by their JSON names; older names map to the same set. */
static const struct {
	const char *name;
	enum gdmf_set set;
} set_names[] = {
    {"PublicAssetSets", GDMF_PUBLIC},
    {"AssetSets", GDMF_MDM},
    {"PublicBackgroundSecurityImprovements", GDMF_BSI},
    {"PublicRapidSecurityResponses", GDMF_BSI},
};

#define NSET_NAMES (sizeof(set_names) / sizeof(set_names[0]))

const char *gdmf_set_name(enum gdmf_set set)
{
	for (size_t i = 0; i < NSET_NAMES; i++)
		if (set_names[i].set == set)
			return set_names[i].name;
	return "?";
}

/* ---- versions and names -------------------------------------------------------------------- */

int gdmf_version_parse(const char *s, struct gdmf_version *ret)
{
	struct gdmf_version v = {{0}, 0};
	const char *p = s;
	for (;;) {
		unsigned n = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 7) {
			n = n * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 6 || v.n == GDMF_PARTS)
			return AP_EPARSE;
		v.part[v.n++] = n;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return AP_EPARSE;
	}
	*ret = v;
	return 0;
}

int gdmf_version_cmp(const struct gdmf_version *a, const struct gdmf_version *b)
{
	for (int i = 0; i < GDMF_PARTS; i++)
		if (a->part[i] != b->part[i])
			return a->part[i] < b->part[i] ? -1 : 1;
	return 0;
}

int gdmf_model_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= GDMF_MODEL_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,._-") == n;
}

/* A build: letters and digits, 1..GDMF_BUILD_MAX. */
static int build_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= GDMF_BUILD_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

int gdmf_model_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *ea = a, *eb = b;
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			for (ea = a; *ea >= '0' && *ea <= '9'; ea++)
				;
			for (eb = b; *eb >= '0' && *eb <= '9'; eb++)
				;
			if (ea - a != eb - b)
				return ea - a < eb - b ? -1 : 1;
			int c = memcmp(a, b, (size_t)(ea - a));
			if (c)
				return c;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* ---- parsing -------------------------------------------------------------------------------- */

struct parse {
	struct gdmf *g;
	char *err;
	size_t cap;
	size_t devices; /* all releases' devices, for the cap */
};

static int fail(struct parse *ps, int rc, const char *path, const char *why)
{
	snprintf(ps->err, ps->cap, "%s: %s", path, why);
	return rc;
}

/* "YYYY-MM-DD" only (isodate_parse_day() reads other forms too). */
static int day_of(const char *s, int64_t *ret)
{
	if (strlen(s) != ISODATE_DAY_LEN || s[4] != '-' || s[7] != '-')
		return AP_EPARSE;
	return isodate_parse_day(s, ret);
}

/* Member key of o as a string into out (cap bytes with its NUL): 0; 1
 * when absent and optional; else the error. */
static int member_str(struct parse *ps, json_t *o, const char *path, const char *key, int required,
		      char *out, size_t cap)
{
	char where[160];
	json_t *v = json_object_get(o, key);
	snprintf(where, sizeof(where), "%s.%s", path, key);
	if (v == NULL || (json_is_null(v) && !required))
		return required ? fail(ps, AP_EMISSING, where, "missing") : 1;
	if (!json_is_string(v))
		return fail(ps, AP_ETYPE, where, "not a string");
	if (json_string_length(v) >= cap)
		return fail(ps, AP_ETOOBIG, where, "too long");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static void release_clear(struct gdmf_release *r)
{
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i]);
	free(r->devices);
	r->devices = NULL;
	r->n_devices = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_devices(struct parse *ps, json_t *a, const char *path, struct gdmf_release *r)
{
	char where[200];
	size_t i;
	json_t *d;
	snprintf(where, sizeof(where), "%s.SupportedDevices", path);
	if (a == NULL)
		return fail(ps, AP_EMISSING, where, "missing");
	if (!json_is_array(a))
		return fail(ps, AP_ETYPE, where, "not an array");
	if (json_array_size(a) > GDMF_MAX_DEVICES ||
	    ps->devices + json_array_size(a) > (size_t)GDMF_MAX_RELEASES * 64)
		return fail(ps, AP_ETOOBIG, where, "too many devices");
	if (json_array_size(a) && (r->devices = calloc(json_array_size(a), sizeof(char *))) == NULL)
		return fail(ps, AP_ENOMEM, where, "out of memory");
	json_array_foreach(a, i, d)
	{
		snprintf(where, sizeof(where), "%s.SupportedDevices[%zu]", path, i);
		if (!json_is_string(d))
			return fail(ps, AP_ETYPE, where, "not a string");
		if (!gdmf_model_ok(json_string_value(d)))
			return fail(ps, AP_EPARSE, where,
				    "not a product type (letters, digits and , . _ -; at most 63)");
		if ((r->devices[r->n_devices] = strdup(json_string_value(d))) == NULL)
			return fail(ps, AP_ENOMEM, where, "out of memory");
		r->n_devices++;
	}
	ps->devices += r->n_devices;
	/* sorted for gdmf_release_offers()'s binary search */
	if (r->n_devices > 1)
		qsort(r->devices, r->n_devices, sizeof(*r->devices), cmp_str);
	return 0;
}

/* One release at path into r (cleared by the caller on error). */
static int parse_release(struct parse *ps, json_t *o, const char *path, struct gdmf_release *r)
{
	char day[16], where[200];
	int rc;
	if (!json_is_object(o))
		return fail(ps, AP_ETYPE, path, "not an object");
	if ((rc = member_str(ps, o, path, "ProductVersion", 1, r->version, sizeof(r->version))) < 0)
		return rc;
	snprintf(where, sizeof(where), "%s.ProductVersion", path);
	if (gdmf_version_parse(r->version, &r->v) < 0)
		return fail(ps, AP_EPARSE, where, "not a version X.Y[.Z]");
	if ((rc = member_str(ps, o, path, "Build", 1, r->build, sizeof(r->build))) < 0)
		return rc;
	snprintf(where, sizeof(where), "%s.Build", path);
	if (!build_ok(r->build))
		return fail(ps, AP_EPARSE, where, "not a build (letters and digits)");
	if ((rc = member_str(ps, o, path, "PostingDate", 1, day, sizeof(day))) < 0)
		return rc;
	snprintf(where, sizeof(where), "%s.PostingDate", path);
	if (day_of(day, &r->posted) < 0)
		return fail(ps, AP_EPARSE, where, "not a day YYYY-MM-DD");
	if ((rc = member_str(ps, o, path, "ExpirationDate", 0, day, sizeof(day))) < 0)
		return rc;
	snprintf(where, sizeof(where), "%s.ExpirationDate", path);
	if (rc == 0 && day_of(day, &r->expires) < 0)
		return fail(ps, AP_EPARSE, where, "not a day YYYY-MM-DD");
	return parse_devices(ps, json_object_get(o, "SupportedDevices"), path, r);
}

static int grow(struct gdmf *g)
{
	if (g->n < g->cap)
		return 0;
	size_t cap = g->cap ? g->cap * 2 : 64;
	void *p = realloc(g->rel, cap * sizeof(*g->rel));
	if (p == NULL)
		return AP_ENOMEM;
	g->rel = p;
	g->cap = cap;
	return 0;
}

static int parse_platform(struct parse *ps, enum gdmf_set set, const char *sname, const char *pname,
			  json_t *a)
{
	char path[120], where[160];
	size_t i;
	json_t *o;
	snprintf(path, sizeof(path), "%s.%.*s", sname, 40, pname);
	if (!json_is_array(a))
		return fail(ps, AP_ETYPE, path, "not an array");
	if (strlen(pname) > GDMF_PLATFORM_MAX)
		return 0; /* a platform we know nothing of, under a name we cannot keep */
	json_array_foreach(a, i, o)
	{
		if (ps->g->n >= GDMF_MAX_RELEASES)
			return fail(ps, AP_ETOOBIG, path, "too many releases");
		if (grow(ps->g) < 0)
			return fail(ps, AP_ENOMEM, path, "out of memory");
		struct gdmf_release *r = &ps->g->rel[ps->g->n];
		memset(r, 0, sizeof(*r));
		r->set = set;
		snprintf(r->platform, sizeof(r->platform), "%s",
			 strcmp(pname, "xrOS") == 0 ? "visionOS" : pname);
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		int rc = parse_release(ps, o, where, r);
		if (rc < 0) {
			release_clear(r);
			return rc;
		}
		ps->g->n++;
	}
	return 0;
}

static int parse_set(struct parse *ps, enum gdmf_set set, const char *sname, json_t *o)
{
	const char *pname;
	json_t *a;
	if (!json_is_object(o))
		return fail(ps, AP_ETYPE, sname, "not an object");
	json_object_foreach(o, pname, a)
	{
		int rc = parse_platform(ps, set, sname, pname, a);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_root(struct parse *ps, json_t *root)
{
	int seen = 0;
	if (!json_is_object(root))
		return fail(ps, AP_ETYPE, "(top)", "not an object");
	for (size_t i = 0; i < NSET_NAMES; i++) {
		json_t *o = json_object_get(root, set_names[i].name);
		if (o == NULL)
			continue;
		seen = 1;
		int rc = parse_set(ps, set_names[i].set, set_names[i].name, o);
		if (rc < 0)
			return rc;
	}
	return seen ? 0 : fail(ps, AP_EMISSING, "(top)", "no PublicAssetSets nor AssetSets");
}

int gdmf_parse(const char *text, size_t len, struct gdmf **ret, char *err, size_t cap)
{
	json_error_t je;
	struct parse ps = {NULL, err, cap, 0};
	int rc;
	if (len > GDMF_MAX_BYTES) {
		snprintf(err, cap, "(top): larger than %u bytes", GDMF_MAX_BYTES);
		return AP_ETOOBIG;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, cap, "not JSON: %s (line %d, column %d)", je.text, je.line,
			 je.column);
		return AP_EPARSE;
	}
	if ((ps.g = calloc(1, sizeof(*ps.g))) == NULL) {
		json_decref(root);
		snprintf(err, cap, "out of memory");
		return AP_ENOMEM;
	}
	rc = parse_root(&ps, root);
	json_decref(root);
	if (rc < 0) {
		gdmf_free(ps.g);
		return rc;
	}
	*ret = ps.g;
	return 0;
}

void gdmf_free(struct gdmf *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		release_clear(&g->rel[i]);
	free(g->rel);
	free(g);
}

size_t gdmf_count(const struct gdmf *g)
{
	return g ? g->n : 0;
}

const struct gdmf_release *gdmf_release_at(const struct gdmf *g, size_t i)
{
	return g && i < g->n ? &g->rel[i] : NULL;
}

/* ---- questions ------------------------------------------------------------------------------ */

int gdmf_release_offers(const struct gdmf_release *r, const char *model, int64_t now)
{
	if (r->expires && now >= r->expires)
		return 0;
	return r->n_devices &&
	       bsearch(&model, r->devices, r->n_devices, sizeof(*r->devices), cmp_str) != NULL;
}

/* Highest first; the same version: the later posting, then the build. */
static int rel_order(const struct gdmf_release *a, const struct gdmf_release *b)
{
	int c = gdmf_version_cmp(&b->v, &a->v);
	if (c)
		return c;
	if (a->posted != b->posted)
		return a->posted > b->posted ? -1 : 1;
	return strcmp(a->build, b->build);
}

size_t gdmf_offered(const struct gdmf *g, enum gdmf_set set, const char *model, int64_t now,
		    const struct gdmf_release **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; g && i < g->n; i++) {
		const struct gdmf_release *r = &g->rel[i];
		if (r->set != set || !gdmf_release_offers(r, model, now))
			continue;
		if (n < cap) { /* insertion: the lists are short */
			size_t k = n;
			while (k > 0 && rel_order(r, out[k - 1]) < 0) {
				out[k] = out[k - 1];
				k--;
			}
			out[k] = r;
		} else if (cap > 0 && rel_order(r, out[cap - 1]) < 0) {
			size_t k = cap - 1;
			while (k > 0 && rel_order(r, out[k - 1]) < 0) {
				out[k] = out[k - 1];
				k--;
			}
			out[k] = r;
		}
		n++;
	}
	return n;
}

const struct gdmf_release *gdmf_latest(const struct gdmf *g, enum gdmf_set set, const char *model,
				       int64_t now, unsigned major)
{
	const struct gdmf_release *best = NULL;
	for (size_t i = 0; g && i < g->n; i++) {
		const struct gdmf_release *r = &g->rel[i];
		if (r->set != set || (major && r->v.part[0] != major) ||
		    !gdmf_release_offers(r, model, now))
			continue;
		if (best == NULL || rel_order(r, best) < 0)
			best = r;
	}
	return best;
}

int gdmf_is_offered(const struct gdmf *g, enum gdmf_set set, const char *model, int64_t now,
		    const char *version)
{
	struct gdmf_version v;
	if (gdmf_version_parse(version, &v) < 0)
		return AP_EPARSE;
	for (size_t i = 0; g && i < g->n; i++) {
		const struct gdmf_release *r = &g->rel[i];
		if (r->set == set && gdmf_version_cmp(&r->v, &v) == 0 &&
		    gdmf_release_offers(r, model, now))
			return 1;
	}
	return 0;
}

static int cmp_model(const void *a, const void *b)
{
	return gdmf_model_cmp(*(const char *const *)a, *(const char *const *)b);
}

int gdmf_models(const struct gdmf *g, enum gdmf_set set, const char *prefix, const char ***ret,
		size_t *ret_n)
{
	size_t total = 0, n = 0, plen = strlen(prefix);
	for (size_t i = 0; g && i < g->n; i++)
		total += g->rel[i].n_devices;
	const char **all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; g && i < g->n; i++)
		for (size_t k = 0; g->rel[i].set == set && k < g->rel[i].n_devices; k++)
			if (strncmp(g->rel[i].devices[k], prefix, plen) == 0)
				all[n++] = g->rel[i].devices[k];
	qsort(all, n, sizeof(*all), cmp_model);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(all[u - 1], all[i]) != 0)
			all[u++] = all[i];
	*ret = all;
	*ret_n = u;
	return 0;
}
