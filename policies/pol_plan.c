/* pol_plan.c - desired state, reported state, and the diff between them. */
#include "pol_plan.h"
#include "ap_err.h"
#include "pol_profile.h"

#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {
    [POL_CANCEL] = "cancel",
    [POL_REMOVE_PROFILE] = "RemoveProfile",
    [POL_REMOVE_APP] = "RemoveApplication",
    [POL_INSTALL_PROFILE] = "InstallProfile",
    [POL_INSTALL_APP] = "InstallApplication",
};

const char *pol_action_name(enum pol_action_type t)
{
	return (unsigned)t < sizeof(action_names) / sizeof(action_names[0]) ? action_names[t] : "?";
}

int pol_action_from_command(const char *request_type, enum pol_action_type *ret)
{
	for (int t = POL_REMOVE_PROFILE; t <= POL_INSTALL_APP; t++)
		if (request_type && strcmp(request_type, action_names[t]) == 0) {
			*ret = (enum pol_action_type)t;
			return 0;
		}
	return AP_EINVAL;
}

void pol_plan_init(struct pol_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void pol_plan_free(struct pol_plan *p)
{
	if (p == NULL)
		return;
	free(p->actions);
	free(p->desired);
	pol_plan_init(p);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * size);
	if (n == NULL)
		return AP_ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static int is_desired(const struct pol_plan *p, const struct pol_item *it)
{
	for (size_t i = 0; i < p->n_desired; i++)
		if (p->desired[i] == it)
			return 1;
	return 0;
}

int pol_plan_desired(const struct pol_assignment *a, size_t n, const struct pol_device_facts *d,
		     struct pol_plan *p)
{
	p->n_desired = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pol_scope_applies(&a[i].scope, d) || is_desired(p, a[i].item))
			continue;
		if (grow((void **)&p->desired, &p->cap_desired, p->n_desired + 1,
			 sizeof(*p->desired)) < 0)
			return AP_ENOMEM;
		p->desired[p->n_desired++] = a[i].item;
	}
	return 0;
}

/* The desired item of that kind and identifier, or NULL. */
static const struct pol_item *wanted(const struct pol_plan *p, enum pol_kind k, const char *id)
{
	for (size_t i = 0; i < p->n_desired; i++)
		if (p->desired[i]->kind == k && strcmp(p->desired[i]->identifier, id) == 0)
			return p->desired[i];
	return NULL;
}

static int same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether a pending command goes against the desired state. */
static int contradicts(const struct pol_plan *p, const struct pol_pending *c)
{
	const struct pol_item *it;
	switch (c->type) {
	case POL_INSTALL_PROFILE:
		it = wanted(p, POL_PROFILE, c->identifier);
		return it == NULL || !same(it->ref, c->ref);
	case POL_INSTALL_APP:
		return wanted(p, POL_APP, c->identifier) == NULL;
	case POL_REMOVE_PROFILE:
		return wanted(p, POL_PROFILE, c->identifier) != NULL;
	case POL_REMOVE_APP:
		return wanted(p, POL_APP, c->identifier) != NULL;
	default:
		return 0;
	}
}

/* Per-call view: the state, and which pending commands the plan cancels. */
struct ctx {
	const struct pol_device_state *s;
	struct pol_plan *p;
	unsigned char *canceled; /* per pending command; NULL when none */
	size_t room;
};

static int is_pending(const struct ctx *c, enum pol_action_type t, const char *id)
{
	for (size_t i = 0; i < c->s->n_pending; i++)
		if (c->s->pending[i].type == t && !(c->canceled && c->canceled[i]) &&
		    strcmp(c->s->pending[i].identifier, id) == 0)
			return 1;
	return 0;
}

static const struct pol_reported *reported(const struct ctx *c, enum pol_kind k, const char *id)
{
	const struct pol_reported *r = k == POL_PROFILE ? c->s->profiles : c->s->apps;
	size_t n = k == POL_PROFILE ? c->s->n_profiles : c->s->n_apps;
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].identifier, id) == 0)
			return &r[i];
	return NULL;
}

/* The owned record of an item if its install was acknowledged after the
 * command whose result is the last list (so the list cannot show it). */
static const struct pol_owned *owned_fresh(const struct ctx *c, enum pol_kind k, const char *id)
{
	int64_t listed = k == POL_PROFILE ? c->s->profiles_cmd : c->s->apps_cmd;
	for (size_t i = 0; i < c->s->n_owned; i++) {
		const struct pol_owned *o = &c->s->owned[i];
		if (o->kind == k && strcmp(o->identifier, id) == 0)
			return o->acked_cmd > listed ? o : NULL;
	}
	return NULL;
}

static int add(struct ctx *c, enum pol_action_type t, const char *id, const struct pol_item *it,
	       int64_t pending_id)
{
	struct pol_plan *p = c->p;
	if (t != POL_CANCEL) {
		if (c->room == 0) {
			p->capped++;
			return 0;
		}
		c->room--;
	}
	if (grow((void **)&p->actions, &p->cap, p->n + 1, sizeof(*p->actions)) < 0)
		return AP_ENOMEM;
	p->actions[p->n++] = (struct pol_action){t, id, it, pending_id};
	return 0;
}

static int plan_cancels(struct ctx *c)
{
	for (size_t i = 0; i < c->s->n_pending; i++) {
		const struct pol_pending *pc = &c->s->pending[i];
		if (!contradicts(c->p, pc))
			continue;
		if (c->canceled == NULL && (c->canceled = calloc(c->s->n_pending, 1)) == NULL)
			return AP_ENOMEM;
		c->canceled[i] = 1;
		c->room++;
		if (add(c, POL_CANCEL, pc->identifier, NULL, pc->id) < 0)
			return AP_ENOMEM;
	}
	return 0;
}

/* Still on the tablet, as far as we know. */
static int present(const struct ctx *c, enum pol_kind k, const char *id)
{
	return reported(c, k, id) != NULL || owned_fresh(c, k, id) != NULL;
}

static int plan_removals(struct ctx *c, enum pol_kind k)
{
	enum pol_action_type t = k == POL_PROFILE ? POL_REMOVE_PROFILE : POL_REMOVE_APP;
	for (size_t i = 0; i < c->s->n_owned; i++) {
		const struct pol_owned *o = &c->s->owned[i];
		if (o->kind != k || wanted(c->p, k, o->identifier) ||
		    (k == POL_PROFILE && strcmp(o->identifier, POL_ENROLL_IDENTIFIER) == 0) ||
		    is_pending(c, t, o->identifier) || !present(c, k, o->identifier))
			continue;
		if (add(c, t, o->identifier, NULL, 0) < 0)
			return AP_ENOMEM;
	}
	return 0;
}

/* The desired item is on the tablet in the desired version. */
static int converged(const struct ctx *c, const struct pol_item *it)
{
	const struct pol_reported *r = reported(c, it->kind, it->identifier);
	if (it->kind == POL_APP)
		return r != NULL || owned_fresh(c, POL_APP, it->identifier) != NULL;
	if (r && same(r->version, it->version))
		return 1;
	const struct pol_owned *o = owned_fresh(c, POL_PROFILE, it->identifier);
	return o != NULL && same(o->version, it->version);
}

static int plan_installs(struct ctx *c, enum pol_kind k)
{
	enum pol_action_type t = k == POL_PROFILE ? POL_INSTALL_PROFILE : POL_INSTALL_APP;
	for (size_t i = 0; i < c->p->n_desired; i++) {
		const struct pol_item *it = c->p->desired[i];
		if (it->kind != k || is_pending(c, t, it->identifier) || converged(c, it))
			continue;
		if (k == POL_PROFILE && strcmp(it->identifier, POL_ENROLL_IDENTIFIER) == 0)
			continue;
		if (add(c, t, it->identifier, it, 0) < 0)
			return AP_ENOMEM;
	}
	return 0;
}

int pol_plan_device(const struct pol_assignment *a, size_t n, const struct pol_device_state *s,
		    struct pol_plan *p)
{
	struct ctx c = {s, p, NULL, s->room};
	int rc;
	p->n = 0;
	p->capped = 0;
	if ((rc = pol_plan_desired(a, n, &s->facts, p)) < 0)
		return rc;
	if ((rc = plan_cancels(&c)) == 0 && (rc = plan_removals(&c, POL_PROFILE)) == 0 &&
	    (rc = plan_removals(&c, POL_APP)) == 0 && (rc = plan_installs(&c, POL_PROFILE)) == 0)
		rc = plan_installs(&c, POL_APP);
	free(c.canceled);
	return rc;
}
