/* pol_scope.c - parsing, formatting and matching scopes. */
#include "pol_scope.h"
#include "ap_err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char uai_letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";

int pol_scope_uai_valid(const char *uai)
{
	unsigned long n = 0;
	if (uai == NULL || strlen(uai) != 8)
		return 0;
	for (int i = 0; i < 7; i++) {
		if (uai[i] < '0' || uai[i] > '9')
			return 0;
		n = n * 10 + (unsigned long)(uai[i] - '0');
	}
	return uai[7] == uai_letters[n % 23];
}

/* Copies an 8-character UAI upper-cased into out; 0 if valid. */
static int take_uai(const char *s, size_t len, char out[9])
{
	if (len != 8)
		return AP_EINVAL;
	for (size_t i = 0; i < 8; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	out[8] = '\0';
	return pol_scope_uai_valid(out) ? 0 : AP_EINVAL;
}

static int group_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > POL_GROUP_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return 1;
}

static int take_group(const char *s, struct pol_scope *sc)
{
	if (!group_ok(s))
		return AP_EINVAL;
	if (strcasecmp(s, POL_GROUP_PUPILS) == 0)
		s = POL_GROUP_PUPILS;
	else if (strcasecmp(s, POL_GROUP_TEACHERS) == 0)
		s = POL_GROUP_TEACHERS;
	snprintf(sc->name, sizeof(sc->name), "%s", s);
	return 0;
}

static int take_serial(const char *s, struct pol_scope *sc)
{
	size_t n = strlen(s);
	if (n == 0 || n > POL_SERIAL_MAX)
		return AP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return AP_EINVAL;
		sc->name[i] = c;
	}
	sc->name[n] = '\0';
	return 0;
}

int pol_scope_parse(const char *text, struct pol_scope *ret)
{
	struct pol_scope sc;
	int rc = AP_EINVAL;
	if (text == NULL || ret == NULL)
		return AP_EINVAL;
	memset(&sc, 0, sizeof(sc));
	if (strcmp(text, "fleet") == 0) {
		sc.kind = POL_SCOPE_FLEET;
		rc = 0;
	} else if (strncmp(text, "school:", 7) == 0) {
		sc.kind = POL_SCOPE_SCHOOL;
		rc = take_uai(text + 7, strlen(text + 7), sc.school);
	} else if (strncmp(text, "group:", 6) == 0) {
		const char *slash = strchr(text + 6, '/');
		sc.kind = POL_SCOPE_GROUP;
		if (slash && (rc = take_uai(text + 6, (size_t)(slash - text - 6), sc.school)) == 0)
			rc = take_group(slash + 1, &sc);
	} else if (strncmp(text, "device:", 7) == 0) {
		sc.kind = POL_SCOPE_DEVICE;
		rc = take_serial(text + 7, &sc);
	}
	if (rc == 0)
		*ret = sc;
	return rc;
}

void pol_scope_format(const struct pol_scope *s, char out[POL_SCOPE_TEXT])
{
	switch (s->kind) {
	case POL_SCOPE_SCHOOL:
		snprintf(out, POL_SCOPE_TEXT, "school:%s", s->school);
		break;
	case POL_SCOPE_GROUP:
		snprintf(out, POL_SCOPE_TEXT, "group:%s/%s", s->school, s->name);
		break;
	case POL_SCOPE_DEVICE:
		snprintf(out, POL_SCOPE_TEXT, "device:%s", s->name);
		break;
	default:
		snprintf(out, POL_SCOPE_TEXT, "fleet");
		break;
	}
}

static int in_group(const struct pol_device_facts *d, const char *name)
{
	for (size_t i = 0; i < d->n_groups; i++)
		if (d->groups[i] && strcasecmp(d->groups[i], name) == 0)
			return 1;
	return 0;
}

int pol_scope_applies(const struct pol_scope *s, const struct pol_device_facts *d)
{
	const char *school = d->school ? d->school : "";
	switch (s->kind) {
	case POL_SCOPE_FLEET:
		return 1;
	case POL_SCOPE_SCHOOL:
		return strcmp(school, s->school) == 0;
	case POL_SCOPE_GROUP:
		return strcmp(school, s->school) == 0 && in_group(d, s->name);
	case POL_SCOPE_DEVICE:
		return d->serial != NULL && strcasecmp(d->serial, s->name) == 0;
	}
	return 0;
}

const char *pol_scope_school(const struct pol_scope *s)
{
	return s->kind == POL_SCOPE_SCHOOL || s->kind == POL_SCOPE_GROUP ? s->school : NULL;
}
