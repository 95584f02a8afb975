/* pol_update.c - a tablet against its iPadOS update plan (pol_update.h). */
#include "pol_update.h"
#include "ap_err.h"

#include <string.h>

#define PARTS	 4
#define PART_MAX 999999UL

static const char *const names[POL_UPDATE__COUNT] = {
    [POL_UPDATE_WITHOUT_DDM] = "without_ddm",
    [POL_UPDATE_UNSUPPORTED] = "unsupported",
    [POL_UPDATE_UNKNOWN_MODEL] = "unknown_model",
    [POL_UPDATE_NOT_REPORTING] = "not_reporting",
    [POL_UPDATE_NO_PLAN] = "no_plan",
    [POL_UPDATE_ON_TARGET] = "on_target",
    [POL_UPDATE_FAILED] = "failed",
    [POL_UPDATE_INSTALLING] = "installing",
    [POL_UPDATE_PREPARED] = "prepared",
    [POL_UPDATE_DOWNLOADING] = "downloading",
    [POL_UPDATE_PENDING] = "pending",
};

const char *pol_update_class_name(enum pol_update_class c)
{
	return (unsigned)c < POL_UPDATE__COUNT ? names[c] : NULL;
}

/* "X[.Y[.Z[.W]]]", each 0..999999 without sign or blank, into part[]. */
static int parse(const char *s, unsigned long part[PARTS])
{
	int n = 0;
	memset(part, 0, PARTS * sizeof(part[0]));
	if (s == NULL || *s == '\0')
		return AP_EPARSE;
	for (;;) {
		int digits = 0;
		if (n == PARTS)
			return AP_EPARSE;
		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			part[n] = part[n] * 10 + (unsigned long)(*s - '0');
			if (part[n] > PART_MAX)
				return AP_EPARSE;
		}
		if (digits == 0)
			return AP_EPARSE;
		n++;
		if (*s == '\0')
			return 0;
		if (*s++ != '.')
			return AP_EPARSE;
	}
}

int pol_update_version_cmp(const char *a, const char *b, int *ret)
{
	unsigned long x[PARTS], y[PARTS];
	if (parse(a, x) < 0 || parse(b, y) < 0)
		return AP_EPARSE;
	*ret = 0;
	for (int i = 0; i < PARTS && *ret == 0; i++)
		*ret = x[i] < y[i] ? -1 : x[i] > y[i] ? 1 : 0;
	return 0;
}

static int is(const char *s, const char *word)
{
	return s && strcmp(s, word) == 0;
}

enum pol_update_class pol_update_classify(const struct pol_update_tablet *t)
{
	int cmp;
	if (!t->ddm_enabled)
		return POL_UPDATE_WITHOUT_DDM;
	if (t->target && (t->product_name == NULL || t->product_name[0] == '\0'))
		return POL_UPDATE_UNKNOWN_MODEL;
	if (t->target && !t->supported)
		return POL_UPDATE_UNSUPPORTED;
	if (!t->reporting)
		return POL_UPDATE_NOT_REPORTING;
	if (t->target == NULL)
		return POL_UPDATE_NO_PLAN;
	const char *v = t->version && t->version[0] ? t->version : t->inventory;
	if (pol_update_version_cmp(v, t->target, &cmp) == 0 && cmp >= 0)
		return POL_UPDATE_ON_TARGET;
	if (is(t->install_state, "failed"))
		return POL_UPDATE_FAILED;
	if (is(t->install_state, "installing"))
		return POL_UPDATE_INSTALLING;
	if (is(t->install_state, "prepared"))
		return POL_UPDATE_PREPARED;
	if (is(t->install_state, "downloading"))
		return POL_UPDATE_DOWNLOADING;
	if (t->failures > 0)
		return POL_UPDATE_FAILED;
	return POL_UPDATE_PENDING;
}
