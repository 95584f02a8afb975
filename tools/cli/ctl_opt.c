/* ctl_opt.c - the one parser of ardoisectl's option tables, and the
 * synopses, --help and usage errors written from them. */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELP_WIDTH 78
#define HELP_WORD  24 /* a wider option word has its help on the next line */

/* The row of v matching the option word a ("--name" or "-x"), or -1. */
static int find_option(const struct ctl_verb *v, const char *a)
{
	for (int k = 0; v->opts && v->opts[k].name; k++) {
		const struct ctl_opt *o = &v->opts[k];
		if (o->how & (CTL_OPT_POS | CTL_OPT_SHOWN))
			continue;
		if (strcmp(o->name, a) == 0 || (o->short_name && a[1] == o->short_name && !a[2]))
			return k;
	}
	return -1;
}

/* The row that takes the n-th positional argument (the repeatable
 * positional row takes all the rest), or -1. */
static int positional_row(const struct ctl_verb *v, size_t n)
{
	int last = -1;
	for (int k = 0; v->opts && v->opts[k].name; k++) {
		if (!(v->opts[k].how & CTL_OPT_POS))
			continue;
		if (n-- == 0)
			return k;
		last = k;
	}
	return last >= 0 && (v->opts[last].how & CTL_OPT_MULTI) ? last : -1;
}

/* Stores value into row k of ret. */
static int store(struct ctl_args *ret, int k, const char *value)
{
	const struct ctl_opt *o = &ret->verb->opts[k];
	if (o->how & CTL_OPT_MULTI) {
		if (ret->n_list == CTL_OPT_MAX_LIST)
			return ctl_opt_usage(ret->verb, "too many %s", o->name);
		ret->list[ret->n_list++] = value;
	}
	ret->val[k] = value;
	return CTL_OK;
}

/* Every required row given, then exactly one of the ONE_OF rows. */
static int check_needs(const struct ctl_args *a)
{
	const struct ctl_opt *opts = a->verb->opts;
	const char *one_of = NULL;
	int given = 0;
	for (int k = 0; opts && opts[k].name; k++) {
		if ((opts[k].how & CTL_OPT_ONE_OF) == 0 && opts[k].need && a->val[k] == NULL)
			return ctl_opt_usage(a->verb, "%s", ctl_tr(opts[k].need));
		if (opts[k].how & CTL_OPT_ONE_OF) {
			one_of = opts[k].need;
			given += a->val[k] != NULL;
		}
	}
	if (one_of && given != 1)
		return ctl_opt_usage(a->verb, "%s", ctl_tr(one_of));
	return CTL_OK;
}

int ctl_opt_parse(const struct ctl_verb *v, int argc, char **argv, struct ctl_args *ret)
{
	size_t n_pos = 0;
	int rc = CTL_OK;
	memset(ret, 0, sizeof(*ret));
	ret->verb = v;
	for (int i = 0; i < argc && rc == CTL_OK; i++) {
		const char *a = argv[i];
		int k = a[0] == '-' && a[1] ? find_option(v, a) : positional_row(v, n_pos++);
		if (k < 0 && a[0] == '-' && a[1])
			rc = ctl_opt_usage(v, "unknown option %s", a);
		else if (k < 0)
			rc = ctl_opt_usage(v, "unexpected argument '%s'", a);
		else if (v->opts[k].how & CTL_OPT_POS)
			rc = store(ret, k, a);
		else if (v->opts[k].arg == NULL)
			ret->val[k] = "1";
		else if (i + 1 >= argc)
			rc = ctl_opt_usage(v, "%s needs a value", a);
		else
			rc = store(ret, k, argv[++i]);
	}
	return rc == CTL_OK ? check_needs(ret) : rc;
}

const char *ctl_opt_get(const struct ctl_args *a, const char *name)
{
	for (int k = 0; a->verb->opts && a->verb->opts[k].name; k++)
		if (strcmp(a->verb->opts[k].name, name) == 0)
			return a->val[k];
	fprintf(stderr, "ardoisectl: bug: '%s %s' has no %s\n", a->verb->noun,
		a->verb->verb ? a->verb->verb : "", name);
	abort();
}

int ctl_opt_int(const struct ctl_args *a, const char *name, long long min, long long *ret)
{
	const char *s = ctl_opt_get(a, name);
	char *end;
	if (s == NULL)
		return 0;
	long long n = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end || n < min)
		return -1;
	*ret = n;
	return 0;
}

json_t *ctl_opt_body(const struct ctl_args *a)
{
	const struct ctl_opt *opts = a->verb->opts;
	json_t *body = json_object();
	for (int k = 0; body && opts && opts[k].name; k++) {
		const struct ctl_opt *o = &opts[k];
		json_t *v = NULL;
		if (!(o->how & CTL_OPT_BODY) || (a->val[k] == NULL && !(o->how & CTL_OPT_MULTI)))
			continue;
		if (o->how & CTL_OPT_MULTI) {
			v = json_array();
			for (size_t i = 0; v && i < a->n_list; i++)
				json_array_append_new(v, json_string(a->list[i]));
		} else if (o->arg == NULL && !(o->how & CTL_OPT_POS)) {
			v = o->set ? json_string(o->set) : json_true();
		} else {
			v = json_string(a->val[k]);
		}
		json_object_set_new(body, o->key, v);
	}
	return body;
}

void ctl_opt_query(const struct ctl_args *a, char *path, size_t cap)
{
	const struct ctl_opt *opts = a->verb->opts;
	for (int k = 0; opts && opts[k].name; k++) {
		if (!(opts[k].how & CTL_OPT_QUERY) || a->val[k] == NULL)
			continue;
		int flag = opts[k].arg == NULL && !(opts[k].how & CTL_OPT_POS);
		ctl_query_add(path, cap, opts[k].key,
			      flag ? (opts[k].set ? opts[k].set : "1") : a->val[k]);
	}
}

/* Appends printf text to out (cut at cap). */
static void add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;
	va_start(ap, fmt);
	if (n < cap)
		vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
}

/* "--name ARG" (with " ..." when repeatable), or a positional's word. */
static void row_word(const struct ctl_opt *o, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
		 (o->how & CTL_OPT_MULTI) && !(o->how & CTL_OPT_POS) ? " ..." : "");
}

void ctl_opt_synopsis(const struct ctl_verb *v, char *out, size_t cap)
{
	char word[160];
	snprintf(out, cap, "%s%s%s", v->noun, v->verb ? " " : "", v->verb ? v->verb : "");
	for (const struct ctl_opt *o = v->opts; o && o->name; o++) {
		row_word(o, word, sizeof(word));
		if (o->how & CTL_OPT_ONE_OF) {
			int first = o == v->opts || !(o[-1].how & CTL_OPT_ONE_OF);
			int last = !o[1].name || !(o[1].how & CTL_OPT_ONE_OF);
			add(out, cap, "%s%s%s", first ? " (" : " | ", word, last ? ")" : "");
		} else if (o->need || (o->how & CTL_OPT_SHOWN)) {
			add(out, cap, " %s", word);
		} else {
			add(out, cap, " [%s]", word);
		}
	}
	if (!v->raw)
		add(out, cap, " [--json]");
}

/* Characters (not bytes) of the first n bytes of a UTF-8 string. */
static size_t width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* The bytes of the word at s and of the words that must stay on its line:
 * French puts a space before ":", ";", "?", "!" and "»" and after "«"
 * ("défaut : texte"), and a line never starts with the one nor ends with
 * the other. */
static size_t word_len(const char *s)
{
	size_t n = strcspn(s, " ");
	for (;;) {
		size_t gap = strspn(s + n, " "), next = strcspn(s + n + gap, " ");
		int opens = n >= 2 && memcmp(s + n - 2, "\xC2\xAB", 2) == 0; /* « */
		const char *w = s + n + gap;
		int closes = next && (strchr(":;?!", w[0]) || memcmp(w, "\xC2\xBB", 2) == 0);
		if (gap == 0 || next == 0 || !(opens || closes))
			return n;
		n += gap + next;
	}
}

/* text on f from column col, its words wrapped at HELP_WIDTH onto lines
 * indented by indent; ends the line. */
static void wrap(FILE *f, const char *text, size_t indent, size_t col)
{
	int first = 1;
	while (*text) {
		size_t n = word_len(text), w = width(text, n);
		if (!first && col + 1 + w > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = 1;
		}
		if (!first)
			col += (size_t)(fputc(' ', f) != EOF);
		fwrite(text, 1, n, f);
		col += w;
		first = 0;
		text += n + strspn(text + n, " ");
	}
	fputc('\n', f);
}

/* "  WORD   help" with WORD padded to w columns (help on the next line
 * when WORD is wider). */
static void help_row(FILE *f, const char *word, const char *help, size_t w)
{
	size_t ww = width(word, strlen(word));
	if (ww > w)
		fprintf(f, "  %s\n%*s", word, (int)(w + 4), "");
	else
		fprintf(f, "  %s%*s", word, (int)(w + 2 - ww), "");
	wrap(f, help ? help : "", w + 4, w + 4);
}

void ctl_opt_help(const struct ctl_verb *v, FILE *f)
{
	const char *json_help = _("JSON on stdout for scripts (default: text for people)");
	const char *usage = _("Usage: ardoisectl ");
	char syn[1024], word[160];
	size_t w = v->raw ? 0 : strlen("--json");
	ctl_opt_synopsis(v, syn, sizeof(syn));
	fputs(usage, f);
	wrap(f, syn, 6, width(usage, strlen(usage)));
	fputc('\n', f);
	wrap(f, ctl_tr(v->help), 0, 0);
	fputc('\n', f);
	for (const struct ctl_opt *o = v->opts; o && o->name; o++) {
		row_word(o, word, sizeof(word));
		if (!(o->how & CTL_OPT_SHOWN) && width(word, strlen(word)) > w &&
		    width(word, strlen(word)) <= HELP_WORD)
			w = width(word, strlen(word));
	}
	for (const struct ctl_opt *o = v->opts; o && o->name; o++) {
		row_word(o, word, sizeof(word));
		if (!(o->how & CTL_OPT_SHOWN))
			help_row(f, word, ctl_tr(o->help), w);
	}
	if (!v->raw)
		help_row(f, "--json", json_help, w);
}

int ctl_opt_usage(const struct ctl_verb *v, const char *fmt, ...)
{
	char syn[1024];
	va_list ap;
	fputs("ardoisectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, _(fmt), ap);
	va_end(ap);
	ctl_opt_synopsis(v, syn, sizeof(syn));
	fprintf(stderr, _("\nusage: ardoisectl %s\n"), syn);
	return CTL_EUSAGE;
}

void ctl_urlenc(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

void ctl_query_add(char *path, size_t cap, const char *key, const char *value)
{
	char enc[512];
	size_t n = strlen(path);
	if (value == NULL)
		return;
	ctl_urlenc(value, enc, sizeof(enc));
	snprintf(path + n, cap - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, enc);
}

/* s as roff text: a backslash is \e, a hyphen \- (an option copies as
 * typed), a line never starts with a control character. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputs(*(s + 1) == '.' || *(s + 1) == '\'' ? "\n\\&" : "\n", f);
		else
			fputc(*s, f);
	}
}

void ctl_opt_roff(const char *s, FILE *f)
{
	roff(f, s);
}

void ctl_opt_man(const struct ctl_verb *v, FILE *f)
{
	char syn[1024], word[160];
	ctl_opt_synopsis(v, syn, sizeof(syn));
	fprintf(f, ".SS \"%s%s%s\"\n.B ardoisectl\n", v->noun, v->verb ? " " : "",
		v->verb ? v->verb : "");
	roff(f, syn);
	fputs("\n.PP\n", f);
	roff(f, v->help);
	fputc('\n', f);
	for (const struct ctl_opt *o = v->opts; o && o->name; o++) {
		if (o->how & CTL_OPT_SHOWN)
			continue;
		row_word(o, word, sizeof(word));
		fputs(".TP\n\\fB", f);
		roff(f, word);
		fputs("\\fR\n", f);
		roff(f, o->help);
		fputc('\n', f);
	}
}
