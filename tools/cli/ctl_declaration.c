/* ctl_declaration.c - declarative device management: the declaration
 * catalogue and its assignments to scopes (technicians). */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECL_FILE_MAX (1024 * 1024) /* the API's largest JSON body */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "recomputed 12 tablets in 3 ms: 4 new tokens, 4 pushed" of a recompute
 * object, or of an array of them (one per scope). */
static void print_recompute(json_t *rec)
{
	json_t *e;
	size_t i;
	if (json_is_array(rec)) {
		json_array_foreach(rec, i, e)
		{
			printf("%s: ", str(e, "scope"));
			print_recompute(json_object_get(e, "result"));
		}
		return;
	}
	if (!json_is_object(rec))
		return;
	if (json_object_get(rec, "error")) {
		printf(_("recomputing the tablets' declarations failed: %s (it runs again at the "
			 "next change)\n"),
		       str(rec, "error"));
		return;
	}
	printf(_("recomputed %lld tablets in %lld ms: %lld new tokens, %lld pushed\n"),
	       num(rec, "devices"), num(rec, "ms"), num(rec, "changed"), num(rec, "pushed"));
}

static void print_scopes(json_t *d)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(d, "scopes"), i, v)
	    printf("%s%s", i ? ", " : "", json_string_value(v));
	if (json_array_size(json_object_get(d, "scopes")) == 0)
		printf("%s", _("(nothing)"));
}

/* The declaration's fields, then its Payload as JSON. */
static void print_declaration(json_t *d, const struct ctl_args *a)
{
	char t[32];
	json_t *models = json_object_get(d, "models"), *v;
	size_t i;
	(void)a;
	printf(_("identifier    %s\ntype          %s\nkind          %s\nserver token  %s\n"),
	       str(d, "Identifier"), str(d, "Type"), ctl_word(str(d, "kind")),
	       str(d, "ServerToken"));
	if (json_is_true(json_object_get(d, "generated")))
		printf("%s\n", _("generated     by Ardoise (not edited by hand)"));
	printf("%s", _("assigned to   "));
	print_scopes(d);
	putchar('\n');
	if (json_is_array(models)) {
		printf("%s", _("only models   "));
		json_array_foreach(models, i, v)
		    printf("%s%s", i ? ", " : "", json_string_value(v));
		putchar('\n');
	}
	printf(_("added         %s by %s\n"), ctl_when_of(d, "created_at", t, sizeof(t)),
	       str(d, "created_by"));
	if (json_is_string(json_object_get(d, "updated_at")))
		printf(_("updated       %s by %s\n"), ctl_when_of(d, "updated_at", t, sizeof(t)),
		       str(d, "updated_by"));
	if (json_object_get(d, "changed"))
		printf("%s\n", json_is_true(json_object_get(d, "changed"))
				   ? _("content changed")
				   : _("content unchanged: nothing to send"));
	json_t *p = json_object_get(d, "Payload");
	if (json_is_object(p)) {
		char *text = json_dumps(p, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", _("payload:"));
		if (text)
			ctl_put_json(text, stdout);
		putchar('\n');
		free(text);
	}
	print_recompute(json_object_get(d, "recompute"));
}

static void print_declarations(json_t *all, const struct ctl_args *a)
{
	static const char *const head[] = {N_("IDENTIFIER"), N_("KIND"), N_("TYPE"),
					   N_("ASSIGNED TO"), N_("UPDATED")};
	json_t *d, *v;
	size_t i, k;
	(void)a;
	if (json_array_size(all) == 0) {
		printf("%s\n", _("no declaration"));
		return;
	}
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(all, i, d)
	{
		char scopes[512] = "", when[32];
		size_t o = 0;
		json_array_foreach(json_object_get(d, "scopes"), k, v)
		{
			int n = snprintf(scopes + o, sizeof(scopes) - o, "%s%s", o ? ", " : "",
					 json_string_value(v));
			if (n < 0 || (size_t)n >= sizeof(scopes) - o)
				break;
			o += (size_t)n;
		}
		const char *row[] = {str(d, "Identifier"), ctl_word(str(d, "kind")), str(d, "Type"),
				     o ? scopes : "-",
				     ctl_when_of(d,
						 json_is_string(json_object_get(d, "updated_at"))
						     ? "updated_at"
						     : "created_at",
						 when, sizeof(when))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int decl_list(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_member(c, a, "/api/v1/declarations", "declarations", print_declarations);
}

static const struct ctl_opt id_opts[] = {
    CTL_OPT_ARG("ID", "one declaration identifier is required", "the declaration's Identifier"),
    CTL_OPT_END,
};

static int decl_show(struct ctl *c, const struct ctl_args *a)
{
	char path[400];
	ctl_path(path, sizeof(path), "/api/v1/declarations/", ctl_opt_get(a, "ID"), "");
	return ctl_send_print(c, a, "GET", path, NULL, print_declaration);
}

/* The file's JSON object {"Type", "Identifier", "Payload"} into *ret. */
static int read_decl(const char *file, json_t **ret)
{
	json_error_t je;
	FILE *f = fopen(file, "rb");
	if (f == NULL)
		return ctl_err("cannot open %s", file);
	char *buf = malloc(DECL_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, DECL_FILE_MAX + 1, f) : 0;
	int bad = buf == NULL || ferror(f);
	fclose(f);
	if (bad || n > DECL_FILE_MAX) {
		free(buf);
		return bad ? ctl_err("%s: cannot read", file)
			   : ctl_err("%s: larger than 1 MiB", file);
	}
	json_t *v = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (v == NULL)
		return ctl_err("%s:%d: not JSON: %s", file, je.line, je.text);
	if (!json_is_object(v) || !json_is_string(json_object_get(v, "Identifier"))) {
		json_decref(v);
		return ctl_err("%s: expected a JSON object {\"Type\", \"Identifier\", \"Payload\"}",
			       file);
	}
	/* what the server computes or shows is not sent back */
	static const char *const derived[] = {"ServerToken", "kind",	   "scopes",
					      "models",	     "generated",  "created_by",
					      "created_at",  "updated_by", "updated_at"};
	for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
		json_object_del(v, derived[i]);
	*ret = v;
	return CTL_OK;
}

static const struct ctl_opt file_opts[] = {
    CTL_OPT_ARG("FILE.json", "one FILE is required",
		"the declaration: {\"Type\", \"Identifier\", \"Payload\"} as Apple documents it"),
    CTL_OPT_END,
};

static int decl_add(struct ctl *c, const struct ctl_args *a)
{
	json_t *body;
	int rc = read_decl(ctl_opt_get(a, "FILE.json"), &body);
	if (rc != CTL_OK)
		return rc;
	return ctl_send_print(c, a, "POST", "/api/v1/declarations", body, print_declaration);
}

static int decl_update(struct ctl *c, const struct ctl_args *a)
{
	char path[400];
	json_t *body;
	int rc = read_decl(ctl_opt_get(a, "FILE.json"), &body);
	if (rc != CTL_OK)
		return rc;
	ctl_path(path, sizeof(path), "/api/v1/declarations/",
		 json_string_value(json_object_get(body, "Identifier")), "");
	return ctl_send_print(c, a, "PUT", path, body, print_declaration);
}

static void print_removed(json_t *o, const struct ctl_args *a)
{
	(void)a;
	printf(_("removed %s (%lld assignments dropped)\n"), str(o, "Identifier"),
	       num(o, "unassigned"));
	print_recompute(json_object_get(o, "recompute"));
}

static int decl_remove(struct ctl *c, const struct ctl_args *a)
{
	char path[400];
	ctl_path(path, sizeof(path), "/api/v1/declarations/", ctl_opt_get(a, "ID"), "");
	return ctl_send_print(c, a, "DELETE", path, NULL, print_removed);
}

static void print_assignment(json_t *o, const struct ctl_args *a)
{
	if (strcmp(a->verb->verb, "assign") == 0)
		printf(_("assigned %s to %s\n"), str(o, "Identifier"), str(o, "scope"));
	else
		printf(_("unassigned %s from %s\n"), str(o, "Identifier"), str(o, "scope"));
	print_recompute(json_object_get(o, "recompute"));
}

#define ASSIGN_NEED N_("ID and --scope are required")

static const struct ctl_opt assign_opts[] = {
    CTL_OPT_ARG("ID", ASSIGN_NEED, "the declaration's Identifier"),
    CTL_OPT_FIELD("--scope", "fleet|school:UAI|group:UAI/NAME|device:SERIAL", "scope", ASSIGN_NEED,
		  "the whole fleet, a collège, a group of a collège, or a tablet"),
    CTL_OPT_END,
};

static int assignment(struct ctl *c, const struct ctl_args *a, const char *method)
{
	char path[400];
	ctl_path(path, sizeof(path), "/api/v1/declarations/", ctl_opt_get(a, "ID"), "/assignments");
	return ctl_send_print(c, a, method, path, ctl_opt_body(a), print_assignment);
}

static int decl_assign(struct ctl *c, const struct ctl_args *a)
{
	return assignment(c, a, "POST");
}

static int decl_unassign(struct ctl *c, const struct ctl_args *a)
{
	return assignment(c, a, "DELETE");
}

const struct ctl_verb ctl_declaration_verbs[] = {
    {"declaration", "list", decl_list, NULL, 0,
     N_("The DDM declarations (declarative device management): identifier, kind, type, the "
	"scopes each is assigned to.  Those Ardoise generates (activations, update plans, "
	"status subscriptions) are listed too (technicians)")},
    {"declaration", "show", decl_show, id_opts, 0,
     N_("One declaration: its type, ServerToken, scopes, models filter and Payload "
	"(technicians)")},
    {"declaration", "add", decl_add, file_opts, 0,
     N_("Adds a declaration read from a JSON file {\"Type\": \"com.apple.configuration....\", "
	"\"Identifier\": \"fr.college.passcode\", \"Payload\": {...}}.  Refused: credential "
	"assets, Payload keys naming a password (Ardoise stores no secret), identifiers "
	"Ardoise generates (ardoise.*), activations (Ardoise makes one per scope), software "
	"update enforcement (use update plan).  It "
	"reaches no tablet until assigned (technicians)")},
    {"declaration", "update", decl_update, file_opts, 0,
     N_("Replaces the Type and Payload of the declaration the file names (by its "
	"Identifier); the tablets it is assigned to get it at their next synchronisation "
	"(they are pushed) (technicians)")},
    {"declaration", "remove", decl_remove, id_opts, 0,
     N_("Removes a declaration and its assignments; the tablets drop it at their next "
	"synchronisation (technicians)")},
    {"declaration", "assign", decl_assign, assign_opts, 0,
     N_("Assigns a declaration to a scope: the fleet, a collège, a group of a collège or one "
	"tablet.  The scope's activation is kept in step by Ardoise and the tablets concerned "
	"are pushed (technicians)")},
    {"declaration", "unassign", decl_unassign, assign_opts, 0,
     N_("Withdraws a declaration from a scope; the tablets concerned drop it (technicians)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
