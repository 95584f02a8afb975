/* ctl_update.c - iPadOS updates: Apple's catalogue as the daemon keeps it. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_opt catalogue_opts[] = {
    CTL_OPT_FILTER("--model", "MODEL", "model",
		   N_("one product type (iPad13,18) instead of every iPad")),
    CTL_OPT_END,
};

/* "18.2 (22C152)" of a release object; "-" for null. */
static const char *release_text(json_t *rel, char *buf, size_t cap)
{
	if (!json_is_object(rel))
		return "-";
	snprintf(buf, cap, "%s (%s)", ctl_fleet_str(rel, "version"), ctl_fleet_str(rel, "build"));
	return buf;
}

/* The versions offered, "18.2, 18.1.1, 17.7.2", each once. */
static const char *offered_text(json_t *offered, char *buf, size_t cap)
{
	json_t *rel;
	size_t i, o = 0;
	const char *prev = NULL;
	buf[0] = '\0';
	json_array_foreach(offered, i, rel)
	{
		const char *v = ctl_fleet_str(rel, "version");
		if (prev && strcmp(prev, v) == 0)
			continue;
		int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", v);
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
		prev = v;
	}
	return o ? buf : "-";
}

/* A label of the state's lines, padded to LABEL_COLS characters (UTF-8:
 * the French labels are longer in bytes than on screen). */
#define LABEL_COLS 26
static void label(const char *s)
{
	size_t cols = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	printf("%s%*s", s, cols < LABEL_COLS ? (int)(LABEL_COLS - cols) : 1, "");
}

static void print_state(json_t *ret)
{
	char t[64];
	json_t *err = json_object_get(ret, "last_error");
	json_t *win = json_object_get(ret, "windows");
	label(_("catalogue:"));
	printf("%s\n", ctl_fleet_str(ret, "url"));
	label(_("fetched:"));
	if (json_is_string(json_object_get(ret, "fetched_at")))
		printf(_("%s (%lld releases)\n"), ctl_when_of(ret, "fetched_at", t, sizeof(t)),
		       (long long)json_integer_value(json_object_get(ret, "releases")));
	else
		printf("%s\n", _("never (no copy kept)"));
	if (json_is_true(json_object_get(ret, "fetching"))) {
		label(_("now:"));
		printf("%s\n", _("fetching"));
	}
	if (json_is_object(err)) {
		json_t *st = json_object_get(err, "status");
		label(_("last attempt failed:"));
		printf("%s: ", ctl_when_of(err, "at", t, sizeof(t)));
		if (json_is_integer(st))
			printf(_("HTTP %lld: "), (long long)json_integer_value(st));
		printf("%s\n", ctl_fleet_str(err, "message"));
	}
	if (json_is_object(win)) {
		label(_("update windows:"));
		printf("%s\n", ctl_fleet_str(win, "allowed_windows"));
		label(_("next allowed:"));
		printf("%s\n", json_is_true(json_object_get(win, "allowed_now"))
				   ? _("now")
				   : ctl_when_of(win, "next_allowed", t, sizeof(t)));
	}
}

static void print_catalogue(json_t *ret, const struct ctl_args *a)
{
	static const char *const head[] = {N_("MODEL"), N_("LATEST"), N_("POSTED"), N_("EXPIRES"),
					   N_("OFFERED")};
	json_t *m, *models = json_object_get(ret, "models");
	size_t i;
	(void)a;
	print_state(ret);
	if (json_array_size(models) == 0) {
		printf("%s\n", _("no model in the catalogue"));
		return;
	}
	putchar('\n');
	struct ctl_table *t = ctl_fleet_table(5, head);
	json_array_foreach(models, i, m)
	{
		char latest[96], offered[1024], posted[32], expires[32];
		json_t *l = json_object_get(m, "latest");
		const char *row[] = {
		    ctl_fleet_str(m, "model"), release_text(l, latest, sizeof(latest)),
		    json_is_object(l) ? ctl_when_of(l, "posted", posted, sizeof(posted)) : "-",
		    json_is_object(l) ? ctl_when_of(l, "expires", expires, sizeof(expires)) : "-",
		    offered_text(json_object_get(m, "offered"), offered, sizeof(offered))};
		ctl_fleet_row(t, row);
	}
	ctl_fleet_table_print(t, stdout);
}

static int update_catalogue(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/updates/catalogue", print_catalogue);
}

const struct ctl_verb ctl_update_verbs[] = {
    {"update", "catalogue", update_catalogue, catalogue_opts, 0,
     N_("Apple's software update catalogue as the daemon keeps it: per iPad model the "
	"latest iPadOS and the versions offered (technicians, ATIs)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
