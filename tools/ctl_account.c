/* ctl_account.c - whoami and the account verbs. */
#include "ctl.h"

#include <stdio.h>

static int whoami(struct ctl *c, int argc, char **argv)
{
	json_t *v = NULL;
	if (argc > 0)
		return ctl_usage("whoami [--json]", "unexpected argument '%s'", argv[0]);
	int rc = ctl_call(c, "GET", "/api/v1/whoami", NULL, &v);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(v);
	} else {
		const char *name = "?", *role = "?";
		json_t *schools = NULL;
		json_unpack(v, "{s:s,s:s,s:o}", "name", &name, "role", &role, "schools", &schools);
		printf("%s (%s)", name, role);
		if (json_array_size(schools)) {
			size_t k;
			json_t *s;
			printf(" — collèges:");
			json_array_foreach(schools, k, s) printf(" %s", json_string_value(s));
		} else {
			printf(" — whole fleet");
		}
		putchar('\n');
	}
	json_decref(v);
	return CTL_OK;
}

const struct ctl_verb ctl_account_verbs[] = {
    {"whoami", NULL, whoami, "whoami [--json]",
     "show the account the token belongs to: name, role, collèges"},
    {NULL, NULL, NULL, NULL, NULL},
};
