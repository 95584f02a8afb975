/*
 * ctl_main.c - ardoisectl: global options and the one table of verbs; a
 * verb's own words go through its option table (ctl_opt_parse()).
 */
#include "ctl.h"

#include <curl/curl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ARDOISE_VERSION
#define ARDOISE_VERSION "0.1.0"
#endif

static const struct ctl_verb *const tables[] = {
    ctl_account_verbs, ctl_command_verbs,   ctl_school_verbs,	   ctl_device_verbs,
    ctl_person_verbs,  ctl_loan_verbs,	    ctl_incident_verbs,	   ctl_audit_verbs,
    ctl_report_verbs,  ctl_lock_verbs,	    ctl_locate_verbs,	   ctl_policy_verbs,
    ctl_push_verbs,    ctl_dashboard_verbs, ctl_notice_verbs,	   ctl_update_verbs,
    ctl_ade_verbs,     ctl_vpp_verbs,	    ctl_declaration_verbs, ctl_backup_verbs,
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Calls fn for every verb of every table; stops when fn returns non-zero. */
static const struct ctl_verb *each_verb(int (*fn)(const struct ctl_verb *v, const void *arg),
					const void *arg)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_verb *v = tables[t]; v->noun; v++)
			if (fn(v, arg))
				return v;
	return NULL;
}

struct find {
	const char *noun, *verb;
	int *n;
};

static int print_line(const struct ctl_verb *v, const void *arg)
{
	char syn[1024];
	ctl_opt_synopsis(v, syn, sizeof(syn));
	fprintf((FILE *)arg, "  %-44s %s\n", syn, ctl_tr(v->help));
	return 0;
}

static int print_noun(const struct ctl_verb *v, const void *arg)
{
	char syn[1024];
	ctl_opt_synopsis(v, syn, sizeof(syn));
	if (strcmp(v->noun, arg) == 0)
		printf("  ardoisectl %s\n      %s\n", syn, ctl_tr(v->help));
	return 0;
}

static int count_noun(const struct ctl_verb *v, const void *arg)
{
	const struct find *f = arg;
	*f->n += strcmp(v->noun, f->noun) == 0;
	return 0;
}

static int has_noun(const struct ctl_verb *v, const void *arg)
{
	return strcmp(v->noun, arg) == 0;
}

static int is_verb(const struct ctl_verb *v, const void *arg)
{
	const struct find *f = arg;
	return strcmp(v->noun, f->noun) == 0 &&
	       (v->verb == NULL || (f->verb && strcmp(v->verb, f->verb) == 0));
}

/* The global options and the exit status: --help prints them translated,
 * ardoisectl(1) in English. */
static const char help_usage[] =
    N_("Usage: ardoisectl [--url URL] [--token TOKEN] [--ca FILE] [--json] NOUN [VERB] "
       "[ARGS]\n\n"
       "ardoisectl drives an Ardoise server (ardoised) through its JSON API.\n\n");
static const char help_connection[] =
    N_("Connection (flags win over the environment):\n"
       "  --url URL      server, e.g. https://127.0.0.1:8443   (ARDOISE_URL)\n"
       "  --token TOKEN  bearer token of your account          (ARDOISE_TOKEN)\n"
       "  --ca FILE      CA certificate to trust (the data dir's ca.pem) (ARDOISE_CA)\n");
static const char help_output[] =
    N_("Output:\n"
       "  --json         JSON on stdout for scripts (default: text for people)\n"
       "  -h, --help     this text; 'ardoisectl NOUN --help' for one noun\n\n");
static const char help_exit[] =
    N_("\nExit status: 0 success, 1 refused or failed (one line on stderr says why),\n"
       "2 usage error, 3 server unreachable.\n");

static void help(FILE *f)
{
	fputs(_(help_usage), f);
	fputs(_(help_connection), f);
	fputs(_(help_output), f);
	fputs(_("Commands:\n"), f);
	each_verb(print_line, f);
	fputs(_(help_exit), f);
}

static int man_verb(const struct ctl_verb *v, const void *arg)
{
	ctl_opt_man(v, (FILE *)arg);
	return 0;
}

/* The lines of a help block as roff: "  WORD   text" an option's
 * paragraph, any other line a paragraph of its own. */
static void man_options(const char *block, FILE *f)
{
	char line[512];
	for (const char *p = block; *p;) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		char *gap = line[0] == ' ' ? strstr(line + 2, "  ") : NULL;
		if (line[0] == '\0')
			continue;
		if (gap == NULL) {
			fputs(".PP\n", f);
			ctl_opt_roff(line, f);
			fputc('\n', f);
			continue;
		}
		*gap = '\0';
		fputs(".TP\n\\fB", f);
		ctl_opt_roff(line + 2, f);
		fputs("\\fR\n", f);
		ctl_opt_roff(gap + 2 + strspn(gap + 2, " "), f);
		fputc('\n', f);
	}
}

/* ardoisectl(1) in roff, written from the verb tables at build time. */
static int man(FILE *f)
{
	fputs(".TH ARDOISECTL 1 \"\" \"Ardoise " ARDOISE_VERSION
	      "\" \"User commands\"\n.nh\n.ad l\n"
	      ".SH NAME\nardoisectl \\- drive an Ardoise server from the command line\n"
	      ".SH SYNOPSIS\n.B ardoisectl\n[\\fB\\-\\-url\\fR \\fIURL\\fR] "
	      "[\\fB\\-\\-token\\fR \\fITOKEN\\fR] [\\fB\\-\\-ca\\fR \\fIFILE\\fR] "
	      "[\\fB\\-\\-json\\fR] \\fINOUN\\fR [\\fIVERB\\fR] [\\fIARGS\\fR]\n"
	      ".SH DESCRIPTION\n"
	      "ardoisectl drives an Ardoise server (\\fBardoised\\fR(8)) through its JSON API. "
	      "Its messages are in French under a French locale (LANG=fr_FR.UTF\\-8).\n"
	      ".SH OPTIONS\n",
	      f);
	man_options(help_connection, f);
	man_options(help_output, f);
	fputs(".SH COMMANDS\n", f);
	each_verb(man_verb, f);
	fputs(".SH \"EXIT STATUS\"\n", f);
	ctl_opt_roff(help_exit + 1, f);
	fputs(".SH \"SEE ALSO\"\n\\fBardoised\\fR(8), \\fBardoised.conf\\fR(5)\n", f);
	return fflush(f) == 0 && !ferror(f) ? 0 : 1;
}

/* --help after NOUN [VERB]: the verb's own help when VERB names one (or
 * the noun has one verb-less row only), else the noun's verbs. */
static int noun_help(const char *noun, const char *verb)
{
	int n = 0;
	struct find f = {noun, verb, &n};
	const struct ctl_verb *v = each_verb(is_verb, &f);
	each_verb(count_noun, &f);
	if (v && (v->verb || n == 1)) {
		ctl_opt_help(v, stdout);
		return CTL_OK;
	}
	if (n == 0)
		return CTL_EUSAGE;
	printf("%s", _("Usage:\n"));
	each_verb(print_noun, noun);
	return CTL_OK;
}

/* Parses the verb's words (--json removed) and runs it. */
static int run(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	struct ctl_args a;
	int n = 0, rc;
	if (args == NULL)
		return ctl_err("out of memory");
	for (int k = 0; k < argc; k++)
		if (strcmp(argv[k], "--json") != 0)
			args[n++] = argv[k];
	rc = ctl_opt_parse(v, n, args, &a);
	if (rc == CTL_OK)
		rc = v->run(c, &a);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	struct ctl c = {getenv("ARDOISE_URL"), getenv("ARDOISE_TOKEN"), getenv("ARDOISE_CA"), 0, 0};
	int i = 1;

	/* build time: the manual page, in English whatever the locale */
	if (argc == 2 && strcmp(argv[1], "--man") == 0)
		return man(stdout);
	/* French under a French locale; numbers stay "C" (the JSON sent and
	 * the figures scripts parse) */
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	bindtextdomain("ardoise", getenv("ARDOISE_LOCALEDIR") ? getenv("ARDOISE_LOCALEDIR")
							      : ARDOISE_LOCALEDIR);
	textdomain("ardoise");

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			c.json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			return 0;
		} else if ((strcmp(a, "--url") == 0 || strcmp(a, "--token") == 0 ||
			    strcmp(a, "--ca") == 0) &&
			   i + 1 < argc) {
			const char **dst = a[2] == 'u' ? &c.url : a[2] == 't' ? &c.token : &c.ca;
			*dst = argv[++i];
		} else {
			ctl_err("unknown option %s (see --help)", a);
			return CTL_EUSAGE;
		}
	}
	if (i >= argc) {
		help(stderr);
		return CTL_EUSAGE;
	}
	const char *noun = argv[i++];
	const char *verb = i < argc && argv[i][0] != '-' ? argv[i] : NULL;
	for (int k = i; k < argc; k++) {
		if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0)
			return noun_help(noun, verb) == CTL_OK ? 0 : (help(stderr), CTL_EUSAGE);
		if (strcmp(argv[k], "--json") == 0)
			c.json = 1;
	}
	struct find f = {noun, verb, NULL};
	const struct ctl_verb *v = each_verb(is_verb, &f);
	if (v == NULL) {
		if (each_verb(has_noun, noun) != NULL)
			ctl_err("unknown or missing verb for '%s'", noun);
		else
			ctl_err("unknown command '%s' (see --help)", noun);
		return CTL_EUSAGE;
	}
	if (v->verb)
		i++;
	if (c.url == NULL)
		return ctl_opt_usage(v, "no server: set ARDOISE_URL or pass --url");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = run(&c, v, argc - i, argv + i);
	curl_global_cleanup();
	return rc;
}
