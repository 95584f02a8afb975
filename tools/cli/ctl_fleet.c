/* ctl_fleet.c - tables, CSV, pages and imports for fleet verbs. */
#include "ctl.h"
#include "ctl_scan.h"
#include "ap_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CTL_MAX_FILE ((size_t)256 << 20)

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row 0 = headers */
};

static char *dup_cell(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d == NULL) {
		fputs("ardoisectl: out of memory\n", stderr);
		exit(CTL_EFAIL);
	}
	return d;
}

struct ctl_table *ctl_fleet_table(size_t ncols, const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	const char **shown = calloc(ncols ? ncols : 1, sizeof(*shown));
	if (t == NULL || shown == NULL) {
		free(t);
		free(shown);
		return NULL;
	}
	/* the headers (N_() in the tables) in the reader's language */
	for (size_t i = 0; i < ncols; i++)
		shown[i] = ctl_tr(headers[i]);
	t->ncols = ncols;
	ctl_fleet_row(t, shown);
	free(shown);
	return t;
}

void ctl_fleet_row(struct ctl_table *t, const char *const *cells)
{
	if (t == NULL)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));
		if (p == NULL)
			return;
		t->cells = p;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = dup_cell(cells[i]);
	t->nrows++;
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void ctl_fleet_table_print(struct ctl_table *t, FILE *f)
{
	size_t *w;
	if (t == NULL)
		return;
	w = calloc(t->ncols, sizeof(*w));
	for (size_t r = 0; w && r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (width(t->cells[r * t->ncols + c]) > w[c])
				w[c] = width(t->cells[r * t->ncols + c]);
	for (size_t r = 0; w && r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int last = c + 1 == t->ncols;
			fputs(s, f);
			for (size_t k = width(s); !last && k < w[c] + 2; k++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
	free(w);
	ctl_fleet_table_free(t);
}

void ctl_fleet_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* The separator of the CSV ardoisectl writes (ctl_fleet_csv()) and
 * whether the UTF-8 BOM is still to write, before the first line. */
static char csv_sep = ';';
static int csv_bom;

void ctl_fleet_csv_line(FILE *f, const char *const *cells, size_t n)
{
	char specials[] = {csv_sep, '"', '\r', '\n', ',', ';', '\0'};
	if (csv_bom) /* Excel reads the file as UTF-8 only with it */
		fputs("\xEF\xBB\xBF", f);
	csv_bom = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = cells[i] ? cells[i] : "";
		/* a spreadsheet reads a cell starting with one of these as a
		 * formula (=HYPERLINK(...), +cmd|...): a leading ' keeps it text */
		const char *guard = s[0] && strchr("=+-@\t\r", s[0]) ? "'" : "";
		if (i)
			fputc(csv_sep, f);
		if (strpbrk(s, specials) == NULL) {
			fprintf(f, "%s%s", guard, s);
			continue;
		}
		fprintf(f, "\"%s", guard);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	}
	fputs("\r\n", f);
}

/* The value of the verb's row name, or NULL when it is absent or the verb
 * has no such row. */
static const char *opt_val(const struct ctl_args *a, const char *name)
{
	for (int k = 0; a->verb->opts && a->verb->opts[k].name; k++)
		if (strcmp(a->verb->opts[k].name, name) == 0)
			return a->val[k];
	return NULL;
}

int ctl_fleet_csv(const struct ctl_args *a)
{
	const char *sep = opt_val(a, "--csv-sep");
	if (opt_val(a, "--csv") == NULL && sep == NULL)
		return 0;
	if (sep == NULL || strcmp(sep, ";") == 0)
		csv_sep = ';';
	else if (strcmp(sep, ",") == 0)
		csv_sep = ',';
	else if (strcmp(sep, "tab") == 0 || strcmp(sep, "\t") == 0)
		csv_sep = '\t';
	else
		exit(ctl_opt_usage(a->verb, _("--csv-sep: ';', ',' or tab, not '%s'"), sep));
	csv_bom = 1;
	return 1;
}

/* The columns of a list: its elements' members in the order first met;
 * a member that is an object in some element, its own members as
 * "key.member" (an element where it is null leaves them empty). */
static void csv_columns(json_t *all, json_t *cols)
{
	json_t *objects = json_object(), *e, *v, *w;
	const char *k, *k2;
	size_t i;
	char name[160];
	json_array_foreach(all, i, e)
	{
		json_object_foreach(e, k, v) if (json_is_object(v))
		    json_object_set_new(objects, k, json_null());
	}
	json_array_foreach(all, i, e)
	{
		json_object_foreach(e, k, v)
		{
			if (json_object_get(objects, k) == NULL) {
				json_object_set_new(cols, k, json_null());
				continue;
			}
			json_object_foreach(v, k2, w)
			{
				snprintf(name, sizeof(name), "%s.%s", k, k2);
				json_object_set_new(cols, name, json_null());
			}
		}
	}
	json_decref(objects);
}

/* A value as a cell: text as it is, numbers, yes/no, "" for null; an
 * array or a deeper object as compact JSON. */
static char *csv_cell(json_t *v)
{
	char buf[64];
	if (v == NULL || json_is_null(v))
		return strdup("");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "yes" : "no");
	else
		return json_dumps(v, JSON_COMPACT);
	return strdup(buf);
}

void ctl_fleet_csv_json(json_t *all, FILE *f)
{
	json_t *cols = json_object(), *e, *v;
	const char *k;
	size_t i, n = 0;
	csv_columns(all, cols);
	size_t ncols = json_object_size(cols);
	const char **head = calloc(ncols ? ncols : 1, sizeof(*head));
	char **cells = calloc(ncols ? ncols : 1, sizeof(*cells));
	if (cols == NULL || head == NULL || cells == NULL || ncols == 0)
		goto out;
	json_object_foreach(cols, k, v) head[n++] = k;
	ctl_fleet_csv_line(f, head, ncols);
	json_array_foreach(all, i, e)
	{
		for (size_t c = 0; c < ncols; c++) {
			const char *dot = strchr(head[c], '.');
			json_t *cell = json_object_get(e, head[c]);
			if (cell == NULL && dot) {
				char outer[160];
				snprintf(outer, sizeof(outer), "%.*s", (int)(dot - head[c]),
					 head[c]);
				cell = json_object_get(json_object_get(e, outer), dot + 1);
			}
			cells[c] = csv_cell(cell);
		}
		ctl_fleet_csv_line(f, (const char *const *)cells, ncols);
		for (size_t c = 0; c < ncols; c++)
			free(cells[c]);
	}
out:
	free(head);
	free(cells);
	json_decref(cols);
}

const char *ctl_fleet_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && s[0] ? s : "-";
}

const char *ctl_fleet_int(json_t *v, const char *none, char *buf, size_t cap)
{
	if (!json_is_integer(v))
		return none;
	snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	return buf;
}

/* Appends one page's elements to all (",\n"-separated); the cursor of the
 * next page into next ("" when it was the last). */
static int add_page(struct ctl *c, const char *body, size_t len, const char *key,
		    struct ap_buf *all, char *next, size_t next_cap)
{
	const char *items;
	size_t n;
	if (ctl_scan_page(body, len, key, &items, &n, next, next_cap)) {
		if (n && ((all->len && ap_buf_append(all, ",\n", 2) < 0) ||
			  ap_buf_append(all, items, n) < 0))
			return ctl_err("the answer is too large");
		return CTL_OK;
	}
	json_t *v = json_loadb(body, len, 0, NULL), *e, *nx;
	size_t i;
	if (!json_is_array(json_object_get(v, key))) {
		json_decref(v);
		return ctl_err("the server's answer has no '%s' list", key);
	}
	json_array_foreach(json_object_get(v, key), i, e)
	{
		char *t = json_dumps(e, JSON_COMPACT);
		if (t == NULL || (all->len && ap_buf_append(all, ",\n", 2) < 0) ||
		    ap_buf_appends(all, t) < 0) {
			free(t);
			json_decref(v);
			return ctl_err("the answer is too large");
		}
		free(t);
	}
	nx = json_object_get(v, "next");
	if (json_is_integer(nx))
		snprintf(next, next_cap, "%lld", (long long)json_integer_value(nx));
	else
		next[0] = '\0';
	json_decref(v);
	return CTL_OK;
}

/* GETs every page of a list into all: the elements' JSON text. */
static int get_pages(struct ctl *c, const char *path, const char *key, struct ap_buf *all)
{
	char page[4200], next[32] = "";
	int rc;
	do {
		char *body = NULL;
		size_t len = 0;
		snprintf(page, sizeof(page), "%s", path);
		ctl_query_add(page, sizeof(page), "after", next[0] ? next : NULL);
		rc = ctl_call_raw(c, "GET", page, NULL, 0, NULL, &body, &len);
		if (rc == CTL_OK)
			rc = add_page(c, body ? body : "", len, key, all, next, sizeof(next));
		free(body);
	} while (rc == CTL_OK && next[0]);
	return rc;
}

int ctl_fleet_get_all(struct ctl *c, const char *path, const char *key, json_t **ret)
{
	struct ap_buf items, all;
	json_error_t je;
	ap_buf_init(&items, (size_t)1 << 31);
	ap_buf_init(&all, (size_t)1 << 31);
	int rc = get_pages(c, path, key, &items);
	if (rc == CTL_OK && (ap_buf_appends(&all, "[") < 0 ||
			     (items.len && ap_buf_append(&all, items.data, items.len) < 0) ||
			     ap_buf_appends(&all, "]") < 0))
		rc = ctl_err("out of memory");
	if (rc == CTL_OK) {
		*ret = json_loadb(all.data, all.len, 0, &je);
		if (*ret == NULL)
			rc = ctl_err("the server's answer is not JSON: %s", je.text);
		else if (!c->json)
			ctl_safe_json(*ret);
	}
	ap_buf_free(&items);
	ap_buf_free(&all);
	return rc;
}

int ctl_fleet_print_all(struct ctl *c, const char *path, const char *key)
{
	struct ap_buf all;
	ap_buf_init(&all, (size_t)1 << 31);
	int rc = get_pages(c, path, key, &all);
	if (rc == CTL_OK) {
		fputs(all.len ? "[\n" : "[", stdout);
		ctl_put_json(all.data, stdout);
		fputs(all.len ? "\n]\n" : "]\n", stdout);
	}
	ap_buf_free(&all);
	return rc;
}

int ctl_fleet_list(struct ctl *c, const struct ctl_args *a, const char *path, const char *key,
		   void (*human)(json_t *all, const struct ctl_args *a))
{
	char url[1024];
	json_t *all = NULL;
	int rc;
	int csv = ctl_fleet_csv(a);
	snprintf(url, sizeof(url), "%s", path);
	ctl_opt_query(a, url, sizeof(url));
	if (c->json)
		return ctl_fleet_print_all(c, url, key);
	if ((rc = ctl_fleet_get_all(c, url, key, &all)) != CTL_OK)
		return rc;
	if (csv)
		ctl_fleet_csv_json(all, stdout);
	else
		human(all, a);
	json_decref(all);
	return CTL_OK;
}

/* The scanner's raw values, escaped for people (ctl_safe()), to fn. */
struct shown_rows {
	size_t nkeys;
	void (*fn)(const char *const *vals, void *arg);
	void *arg;
	char shown[CTL_FLEET_MAX_KEYS][CTL_SCAN_VAL];
};

static void show_row(const char *const *vals, void *arg)
{
	struct shown_rows *sr = arg;
	const char *ptrs[CTL_FLEET_MAX_KEYS];
	for (size_t k = 0; k < sr->nkeys; k++)
		ptrs[k] = ctl_safe(vals[k], 0, sr->shown[k], CTL_SCAN_VAL);
	sr->fn(ptrs, sr->arg);
}

/* Member key of o; "a.b" names member b of member a. */
static json_t *member(json_t *o, const char *key)
{
	const char *dot = strchr(key, '.');
	char outer[64];
	if (dot == NULL || (size_t)(dot - key) >= sizeof(outer))
		return json_object_get(o, key);
	memcpy(outer, key, (size_t)(dot - key));
	outer[dot - key] = '\0';
	return json_object_get(json_object_get(o, outer), dot + 1);
}

/* The same from parsed JSON (an answer of another shape, or keys naming
 * members of members: "holder.id"). */
static void json_rows(json_t *all, const char *const *keys, size_t nkeys,
		      void (*fn)(const char *const *vals, void *arg), void *arg)
{
	const char *ptrs[CTL_FLEET_MAX_KEYS];
	char num[CTL_FLEET_MAX_KEYS][32];
	json_t *e;
	size_t i;
	json_array_foreach(all, i, e)
	{
		for (size_t k = 0; k < nkeys && k < CTL_FLEET_MAX_KEYS; k++) {
			json_t *v = member(e, keys[k]);
			if (json_is_string(v)) {
				ptrs[k] = json_string_value(v);
				continue;
			}
			if (json_is_integer(v))
				snprintf(num[k], sizeof(num[k]), "%lld",
					 (long long)json_integer_value(v));
			else if (json_is_boolean(v))
				snprintf(num[k], sizeof(num[k]), "%s",
					 json_is_true(v) ? "true" : "false");
			else
				num[k][0] = '\0';
			ptrs[k] = num[k];
		}
		fn(ptrs, arg);
	}
}

int ctl_fleet_get_rows(struct ctl *c, const char *path, const char *key, const char *const *keys,
		       size_t nkeys, void (*fn)(const char *const *vals, void *arg), void *arg)
{
	struct ap_buf items;
	json_t *all = NULL;
	ap_buf_init(&items, (size_t)1 << 31);
	struct shown_rows sr = {.nkeys = nkeys, .fn = fn, .arg = arg};
	int rc = nkeys <= CTL_FLEET_MAX_KEYS ? get_pages(c, path, key, &items) : CTL_EFAIL;
	if (rc == CTL_OK && ctl_scan_rows(items.data ? items.data : "", items.len, keys, nkeys,
					  show_row, &sr) < 0) {
		ap_buf_free(&items);
		rc = ctl_fleet_get_all(c, path, key, &all);
		if (rc == CTL_OK)
			json_rows(all, keys, nkeys, fn, arg);
		json_decref(all);
	}
	ap_buf_free(&items);
	return rc;
}

/* Reads a whole file (at most CTL_MAX_FILE bytes). */
static int read_file(const char *name, char **ret, size_t *ret_len)
{
	FILE *f = fopen(name, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (f == NULL)
		return ctl_err("cannot open %s: %s", name, strerror(errno));
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_MAX_FILE) {
				fclose(f);
				free(buf);
				return ctl_err("%s is larger than %zu MiB", name,
					       CTL_MAX_FILE >> 20);
			}
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				fclose(f);
				free(buf);
				return ctl_err("out of memory reading %s", name);
			}
			buf = p;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return ctl_err("cannot read %s", name);
	}
	*ret = buf;
	*ret_len = len;
	return CTL_OK;
}

static void print_report(const char *file, json_t *rep, int ok)
{
	json_int_t rows = 0, added = 0, updated = 0, same = 0, bad = 0;
	json_t *errors = json_object_get(rep, "errors"), *e;
	size_t i;
	int dry = json_is_true(json_object_get(rep, "dry_run"));
	json_unpack(rep, "{s?I,s?I,s?I,s?I,s?I}", "rows", &rows, "added", &added, "updated",
		    &updated, "unchanged", &same, "bad_rows", &bad);
	json_t *ignored = json_object_get(rep, "ignored_columns");
	if (json_array_size(ignored)) { /* never silent about a column */
		printf(_("%s: columns ignored (no such field): "), file);
		json_array_foreach(ignored, i, e)
		    printf("%s%s", i ? ", " : "", json_string_value(e) ? json_string_value(e) : "");
		printf("\n");
	}
	json_array_foreach(errors, i, e)
	{
		printf("%s:%lld: %s\n", file,
		       (long long)json_integer_value(json_object_get(e, "line")),
		       ctl_fleet_str(e, "message"));
	}
	if (bad > (json_int_t)json_array_size(errors))
		printf(_("... and %lld more bad rows\n"),
		       (long long)(bad - (json_int_t)json_array_size(errors)));
	if (ok && bad == 0)
		printf(_("%s: %lld rows: %lld to add, %lld to update, %lld unchanged%s\n"), file,
		       (long long)rows, (long long)added, (long long)updated, (long long)same,
		       dry ? _(" (dry run: nothing written)") : _(" — written"));
}

const struct ctl_opt ctl_fleet_import_opts[] = {
    CTL_OPT_ARG("FILE.csv", "missing argument",
		N_("the CSV file to import: UTF-8 (\"CSV UTF-8\"), ';' or ',', its header line "
		   "naming the columns in French or English; columns it does not know are listed")),
    CTL_OPT_FLAG("--dry-run", CTL_OPT_QUERY, "dry_run",
		 N_("check every row and report, write nothing")),

    CTL_OPT_REASON("R", CTL_OPT_QUERY, NULL),
    CTL_OPT_END,
};

int ctl_fleet_import(struct ctl *c, const struct ctl_args *a, const char *path)
{
	const char *file = ctl_opt_get(a, "FILE.csv");
	char *data = NULL, url[1024];
	size_t len = 0;
	long status = 0;
	json_t *rep = NULL;
	int rc = read_file(file, &data, &len);
	if (rc != CTL_OK)
		return rc;
	snprintf(url, sizeof(url), "%s", path);
	ctl_opt_query(a, url, sizeof(url));
	rc = ctl_call_any(c, "POST", url, data ? data : "", len, "text/csv", &status, &rep);
	free(data);
	if (rc != CTL_OK)
		return rc;
	int ok = status >= 200 && status < 300;
	if (rep && json_object_get(rep, "rows")) {
		if (c->json)
			ctl_print_json(rep);
		else
			print_report(file, rep, ok);
	}
	json_t *err = json_object_get(rep, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	char shown[600];
	if (msg) /* on stderr, also with --json */
		msg = ctl_safe(msg, 0, shown, sizeof(shown));
	const char *code = json_string_value(json_object_get(err, "code"));
	json_int_t bad = json_integer_value(json_object_get(rep, "bad_rows"));
	/* a preview with bad rows is answered 200: it fails all the same */
	if (bad > 0)
		rc = ctl_err("%s: %lld bad row%s: nothing was written", file, (long long)bad,
			     bad == 1 ? "" : "s");
	else if (!ok)
		rc = ctl_err("%s (HTTP %ld, %s)", msg ? msg : "the server refused the import",
			     status, code ? code : "error");
	json_decref(rep);
	return rc;
}
