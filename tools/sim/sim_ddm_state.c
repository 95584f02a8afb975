/*
 * sim_ddm_state.c - what the simulated iPad keeps for DDM, without the
 * device around it: the clock, iPadOS versions, the declarations it holds
 * and the form its DDM state takes in the state file.  sim_ddm.c (the
 * synchronisation, what applies, the update) and sim_ddm_report.c (status
 * reports) work on a whole device.
 */
#include "sim_ddm_state.h"
#include "ap_err.h"

#include <jansson.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- clock ---- */

void sim_clock_at(struct sim_clock *c, time_t t)
{
	struct tm lt, ut;

	c->t = t;
	localtime_r(&t, &lt);
	gmtime_r(&t, &ut);
	strftime(c->local, sizeof(c->local), "%Y-%m-%dT%H:%M:%S", &lt);
	strftime(c->utc, sizeof(c->utc), "%Y-%m-%dT%H:%M:%SZ", &ut);
}

/* n digits at s; -1 otherwise. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int local_fields(const char *s, struct tm *tm)
{
	size_t n = s ? strlen(s) : 0;

	if ((n != 16 && n != 19) || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || (n == 19 && s[16] != ':'))
		return AP_EINVAL;
	memset(tm, 0, sizeof(*tm));
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2),
	    mi = digits(s + 14, 2), se = n == 19 ? digits(s + 17, 2) : 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || se < 0 || se > 59)
		return AP_EINVAL;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = se;
	tm->tm_isdst = -1;
	return 0;
}

int sim_clock_local_ok(const char *s)
{
	struct tm tm;
	return local_fields(s, &tm) == 0;
}

int sim_clock_parse(struct sim_clock *c, const char *local)
{
	struct tm tm, back;

	if (local_fields(local, &tm) < 0)
		return AP_EINVAL;
	struct tm want = tm;
	time_t t = mktime(&tm);
	/* 30 February, or a time the spring clock change skips */
	if (t == (time_t)-1 || localtime_r(&t, &back) == NULL || back.tm_mday != want.tm_mday ||
	    back.tm_hour != want.tm_hour || back.tm_min != want.tm_min)
		return AP_EINVAL;
	sim_clock_at(c, t);
	return 0;
}

/* ---- versions ---- */

/* Up to 3 numbers of 1-3 digits separated by dots; their count, or -1. */
static int version_parts(const char *s, int v[3])
{
	int n = 0;

	v[0] = v[1] = v[2] = 0;
	if (s == NULL)
		return -1;
	while (n < 3) {
		int len = 0, x = 0;
		while (isdigit((unsigned char)s[len]) && len < 4)
			x = x * 10 + (s[len++] - '0');
		if (len == 0 || len > 3)
			return -1;
		v[n++] = x;
		s += len;
		if (*s == '\0')
			return n;
		if (*s++ != '.')
			return -1;
	}
	return -1;
}

int sim_ddm_version_ok(const char *s)
{
	int v[3], n = version_parts(s, v);
	return (n == 2 || n == 3) && v[0] >= 1;
}

int sim_ddm_version_cmp(const char *a, const char *b)
{
	int x[3], y[3];

	version_parts(a, x);
	version_parts(b, y);
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void sim_ddm_build_of(const char *version, char *out, size_t cap)
{
	int v[3];

	version_parts(version, v);
	/* iOS 17 builds are 21x, 18 are 22x; iOS 26 went back to 23x */
	int major = v[0] >= 26 ? v[0] - 3 : v[0] + 4;
	char letter = (char)('A' + (v[1] < 25 ? v[1] : 25));
	snprintf(out, cap, "%d%c%d", major, letter, 79 + 11 * v[2]);
}

/* ---- state ---- */

static void decl_free(struct sim_decl *x)
{
	free(x->identifier);
	free(x->type);
	free(x->server_token);
	free(x->payload);
	free(x->reasons);
	memset(x, 0, sizeof(*x));
}

void sim_ddm_clear(struct sim_ddm *d)
{
	for (size_t i = 0; i < d->n_decls; i++)
		decl_free(&d->decls[i]);
	free(d->decls);
	free(d->reported);
	free(d->next);
	memset(d, 0, sizeof(*d));
}

void sim_ddm_reset(struct sim_ddm *d)
{
	free(d->reported);
	d->reported = NULL;
}

static const char *const install_names[] = {
    [SIM_INSTALL_NONE] = "none",	 [SIM_INSTALL_DOWNLOADING] = "downloading",
    [SIM_INSTALL_PREPARED] = "prepared", [SIM_INSTALL_INSTALLING] = "installing",
    [SIM_INSTALL_FAILED] = "failed",
};

const char *sim_install_name(enum sim_install s)
{
	return (unsigned)s <= SIM_INSTALL_FAILED ? install_names[s] : "none";
}

int sim_install_from_name(const char *s, enum sim_install *ret)
{
	for (int i = 0; s && i <= SIM_INSTALL_FAILED; i++) {
		if (strcmp(s, install_names[i]) == 0) {
			*ret = (enum sim_install)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

struct sim_decl *sim_ddm_find(struct sim_ddm *d, const char *identifier)
{
	for (size_t i = 0; i < d->n_decls; i++)
		if (strcmp(d->decls[i].identifier, identifier) == 0)
			return &d->decls[i];
	return NULL;
}

int sim_ddm_remove(struct sim_ddm *d, const char *identifier)
{
	struct sim_decl *x = sim_ddm_find(d, identifier);

	if (x == NULL)
		return 0;
	size_t i = (size_t)(x - d->decls);
	decl_free(x);
	memmove(x, x + 1, (d->n_decls - i - 1) * sizeof(*x));
	d->n_decls--;
	return 1;
}

int sim_ddm_store(struct sim_ddm *d, enum ap_ddm_kind kind, const char *identifier,
		  const char *type, const char *server_token, const char *payload)
{
	struct sim_decl fresh = {kind};

	fresh.identifier = strdup(identifier);
	fresh.type = strdup(type);
	fresh.server_token = strdup(server_token);
	fresh.payload = strdup(payload);
	fresh.valid = 1;
	if (!fresh.identifier || !fresh.type || !fresh.server_token || !fresh.payload) {
		decl_free(&fresh);
		return AP_ENOMEM;
	}
	struct sim_decl *old = sim_ddm_find(d, identifier);
	if (old) {
		decl_free(old);
		*old = fresh;
		return 0;
	}
	if (d->n_decls == SIM_DDM_MAX_DECLS) {
		decl_free(&fresh);
		return AP_ELIMIT;
	}
	struct sim_decl *v = realloc(d->decls, (d->n_decls + 1) * sizeof(*v));
	if (v == NULL) {
		decl_free(&fresh);
		return AP_ENOMEM;
	}
	v[d->n_decls++] = fresh;
	d->decls = v;
	return 0;
}

int sim_ddm_state_put(struct sim_ddm *s, const char *kind, const char *identifier, const char *type,
		      const char *server_token, const char *payload)
{
	enum ap_ddm_kind k;

	if (ap_ddm_kind_from_name(kind, &k) < 0 || !ap_ddm_identifier_ok(identifier) || !type ||
	    !server_token || !payload)
		return AP_EINVAL;
	return sim_ddm_store(s, k, identifier, type, server_token, payload);
}

/* ---- the state file's form ---- */

int sim_ddm_state_dump(const struct sim_ddm *s, char **ret)
{
	json_t *rep = s->reported ? json_loads(s->reported, 0, NULL) : json_null();
	json_t *o = json_pack(
	    "{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:I}", "enabled", s->enabled, "token",
	    s->token, "install", sim_install_name(s->install), "pending_os", s->pending_os,
	    "pending_build", s->pending_build, "update_id", s->update_id, "deadline", s->deadline,
	    "fail_count", (json_int_t)s->fail_count, "fail_reason", s->fail_reason, "fail_at",
	    s->fail_at, "reported", rep ? rep : json_null(), "full_at", (json_int_t)s->full_at);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return AP_ENOMEM;
	*ret = text;
	return 0;
}

static void copy_str(json_t *o, const char *key, char *out, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, key));
	snprintf(out, cap, "%s", v ? v : "");
}

int sim_ddm_state_load(struct sim_ddm *s, const char *json)
{
	json_t *o = json ? json_loads(json, 0, NULL) : NULL;

	if (o == NULL)
		return json ? AP_EPARSE : 0; /* NULL: a device from before DDM */
	s->enabled = json_is_true(json_object_get(o, "enabled"));
	copy_str(o, "token", s->token, sizeof(s->token));
	if (sim_install_from_name(json_string_value(json_object_get(o, "install")), &s->install) <
	    0)
		s->install = SIM_INSTALL_NONE;
	copy_str(o, "pending_os", s->pending_os, sizeof(s->pending_os));
	copy_str(o, "pending_build", s->pending_build, sizeof(s->pending_build));
	copy_str(o, "update_id", s->update_id, sizeof(s->update_id));
	copy_str(o, "deadline", s->deadline, sizeof(s->deadline));
	s->fail_count = json_integer_value(json_object_get(o, "fail_count"));
	copy_str(o, "fail_reason", s->fail_reason, sizeof(s->fail_reason));
	copy_str(o, "fail_at", s->fail_at, sizeof(s->fail_at));
	s->full_at = json_integer_value(json_object_get(o, "full_at"));
	json_t *rep = json_object_get(o, "reported");
	free(s->reported);
	s->reported = json_is_object(rep) ? json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return 0;
}
