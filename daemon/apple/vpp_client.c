/* vpp_client.c - Apps and Books API calls over one kept HTTPS connection. */
#include "vpp_client.h"
#include "ap_err.h"
#include "httpsreq.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define PATH_MAX_LEN 2048

struct vpp_client {
	struct httpsreq_conn *conn;
	struct vpp_client_opts o;
	char *auth; /* "Authorization: Bearer <sToken>", wiped by close */
	size_t auth_len;
	uint64_t requests;
};

/* The limits, shared by the process's clients. */
static struct {
	uv_once_t once;
	uv_mutex_t lock;
	struct vpp_limits limits;
	int64_t read_at; /* monotonic seconds, 0 never */
} svc = {UV_ONCE_INIT};

static void svc_init(void)
{
	uv_mutex_init(&svc.lock);
	vpp_limits_default(&svc.limits);
}

static int64_t mono_s(void)
{
	return (int64_t)(uv_hrtime() / 1000000000u) + 1;
}

int vpp_client_open(const struct vpp_client_opts *o, const char *stoken, size_t len,
		    struct vpp_client **ret)
{
	while (len && (stoken[len - 1] == '\n' || stoken[len - 1] == '\r' ||
		       stoken[len - 1] == ' ' || stoken[len - 1] == '\t'))
		len--;
	while (len && (*stoken == ' ' || *stoken == '\t' || *stoken == '\n' || *stoken == '\r')) {
		stoken++;
		len--;
	}
	if (len == 0 || len > VPP_TOKEN_MAX)
		return AP_EINVAL;
	struct vpp_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return AP_ENOMEM;
	c->o = *o;
	c->auth_len = len + sizeof("Authorization: Bearer ");
	c->auth = malloc(c->auth_len);
	c->conn = httpsreq_conn_new();
	if (c->auth == NULL || c->conn == NULL) {
		vpp_client_close(c);
		return AP_ENOMEM;
	}
	snprintf(c->auth, c->auth_len, "Authorization: Bearer %.*s", (int)len, stoken);
	*ret = c;
	return 0;
}

void vpp_client_close(struct vpp_client *c)
{
	if (c == NULL)
		return;
	if (c->auth)
		OPENSSL_cleanse(c->auth, c->auth_len);
	free(c->auth);
	httpsreq_conn_free(c->conn);
	free(c);
}

uint64_t vpp_client_requests(const struct vpp_client *c)
{
	return c->requests;
}

static int stopped(const struct vpp_client *c)
{
	return c->o.stop && atomic_load(c->o.stop);
}

/* Waits ms milliseconds in steps, or less when asked to stop. */
static void pause_ms(const struct vpp_client *c, int64_t ms)
{
	while (ms > 0 && !stopped(c)) {
		int64_t step = ms < 100 ? ms : 100;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void no_answer(struct vpp_error *e, int rc, const char *why)
{
	memset(e, 0, sizeof(*e));
	e->code = rc;
	e->action = VPP_RETRY;
	snprintf(e->message, sizeof(e->message), "%.200s", why);
	e->reason = "le service Apps and Books ne répond pas : nouvel essai plus tard";
}

/* One call with its retries: the answer's body (malloc'd) into *ret on
 * success.  auth 0 for GET /service/config. */
static int call(struct vpp_client *c, const char *method, const char *path, const char *body,
		int auth, struct httpsreq_res *ret, struct vpp_error *e)
{
	char url[PATH_MAX_LEN + 1100], err[300];
	const char *hdrs[4] = {NULL, NULL, NULL, NULL};
	size_t h = 0;
	if (auth)
		hdrs[h++] = c->auth;
	hdrs[h++] = "Accept: application/json";
	if (body)
		hdrs[h++] = "Content-Type: application/json";
	snprintf(url, sizeof(url), "%s%s", c->o.url, path);
	struct httpsreq_req q = {
	    url,    c->o.ca, VPP_MAX_BYTES, c->o.timeout_s,	     "ardoise/0.1", c->o.stop,
	    method, hdrs,    body,	    body ? strlen(body) : 0, NULL,	    c->conn};
	for (int attempt = 0;; attempt++) {
		struct httpsreq_res res;
		char ra[32] = "";
		c->requests++;
		int rc = httpsreq(&q, &res, err, sizeof(err));
		if (rc < 0) {
			no_answer(e, rc, err);
			return rc;
		}
		if (res.retry_after > 0)
			snprintf(ra, sizeof(ra), "%ld", res.retry_after);
		rc = vpp_answer_check((int)res.status, ra[0] ? ra : NULL, res.body, res.len, e);
		if (rc == 0) {
			*ret = res;
			return 0;
		}
		free(res.body);
		if ((e->action != VPP_BACKOFF && e->action != VPP_RETRY) ||
		    attempt >= VPP_CLIENT_RETRIES || stopped(c))
			return rc;
		int64_t wait = e->retry_after > 0 ? e->retry_after : ((int64_t)1 << attempt);
		if (wait > c->o.wait_cap_s)
			wait = c->o.wait_cap_s;
		pause_ms(c, wait * 1000);
	}
}

/* A parse failure of a 2xx answer as an error. */
static int refused(struct vpp_error *e, int rc, const char *why)
{
	memset(e, 0, sizeof(*e));
	e->code = rc;
	e->action = VPP_FIX;
	snprintf(e->message, sizeof(e->message), "%.200s", why);
	e->reason = "réponse illisible du service Apps and Books";
	return rc;
}

/* The location claimed by another MDM. */
static int not_ours(const struct vpp_client *c, const struct vpp_meta *m, struct vpp_error *e)
{
	if (c->o.mdm_id == NULL || c->o.mdm_id[0] == '\0' || m->mdm_id[0] == '\0' ||
	    strcmp(c->o.mdm_id, m->mdm_id) == 0)
		return 0;
	memset(e, 0, sizeof(*e));
	e->code = AP_ECONFLICT;
	e->action = VPP_STOP;
	snprintf(e->message, sizeof(e->message), "mdmInfo.id %.200s", m->mdm_id);
	e->reason = "l'emplacement est géré par un autre MDM";
	return AP_ECONFLICT;
}

void vpp_client_limits(struct vpp_client *c, struct vpp_limits *ret)
{
	struct httpsreq_res res;
	struct vpp_error e;
	struct vpp_service_config sc;
	char err[256];
	uv_once(&svc.once, svc_init);
	uv_mutex_lock(&svc.lock);
	int fresh = svc.read_at && mono_s() - svc.read_at < VPP_CLIENT_SERVICE_S;
	*ret = svc.limits;
	uv_mutex_unlock(&svc.lock);
	if (fresh || call(c, "GET", "/service/config", NULL, 0, &res, &e) < 0)
		return;
	int rc = vpp_service_config_parse(res.body, res.len, &sc, err, sizeof(err));
	free(res.body);
	if (rc < 0)
		return;
	uv_mutex_lock(&svc.lock);
	svc.limits = *ret = sc.limits;
	svc.read_at = mono_s();
	uv_mutex_unlock(&svc.lock);
	vpp_service_config_free(&sc);
}

static int config_answer(struct vpp_client *c, const struct httpsreq_res *res,
			 struct vpp_client_config *ret, struct vpp_error *e)
{
	char err[256];
	struct vpp_client_config cc;
	int rc = vpp_client_config_parse(res->body, res->len, &cc, err, sizeof(err));
	if (rc < 0)
		return refused(e, rc, err);
	(void)c;
	*ret = cc;
	return 0;
}

int vpp_client_config_get(struct vpp_client *c, struct vpp_client_config *ret, struct vpp_error *e)
{
	struct httpsreq_res res;
	int rc = call(c, "GET", "/client/config", NULL, 1, &res, e);
	if (rc < 0)
		return rc;
	rc = config_answer(c, &res, ret, e);
	free(res.body);
	return rc;
}

int vpp_client_claim(struct vpp_client *c, const char *id, const char *name,
		     struct vpp_client_config *ret, struct vpp_error *e)
{
	struct httpsreq_res res;
	char body[600];
	/* id and name are ours: hex and a fixed word, nothing to escape */
	snprintf(body, sizeof(body),
		 "{\"mdmInfo\":{\"id\":\"%s\",\"name\":\"%s\",\"metadata\":\"\"}}", id, name);
	int rc = call(c, "POST", "/client/config", body, 1, &res, e);
	if (rc < 0)
		return rc;
	rc = config_answer(c, &res, ret, e);
	free(res.body);
	return rc;
}

/* The pages of path, each parsed by page_fn (which calls the caller's
 * function on its items and says the next page, -1 none). */
static int pages(struct vpp_client *c, const char *path,
		 int (*page_fn)(struct vpp_client *c, const struct httpsreq_res *res, void *ctx,
				int64_t *next, struct vpp_error *e),
		 void *ctx, struct vpp_error *e)
{
	int64_t next = 0;
	for (int first = 1; next >= 0; first = 0) {
		char p[PATH_MAX_LEN];
		struct httpsreq_res res;
		if (first)
			snprintf(p, sizeof(p), "%s", path);
		else
			snprintf(p, sizeof(p), "%s?pageIndex=%lld", path, (long long)next);
		int rc = call(c, "GET", p, NULL, 1, &res, e);
		if (rc < 0)
			return rc;
		rc = page_fn(c, &res, ctx, &next, e);
		free(res.body);
		if (rc != 0)
			return rc;
		if (stopped(c))
			return refused(e, AP_EIO, "stopped");
	}
	return 0;
}

struct each_ctx {
	int (*asset_fn)(const struct vpp_asset *a, void *arg);
	int (*assign_fn)(const struct vpp_assignment *a, void *arg);
	void *arg;
};

static int assets_page(struct vpp_client *c, const struct httpsreq_res *res, void *ctx,
		       int64_t *next, struct vpp_error *e)
{
	struct each_ctx *x = ctx;
	struct vpp_assets_page p;
	char err[256];
	int rc = vpp_assets_parse(res->body, res->len, &p, err, sizeof(err));
	if (rc < 0)
		return refused(e, rc, err);
	if ((rc = not_ours(c, &p.page.meta, e)) == 0)
		for (size_t i = 0; i < p.n && rc == 0; i++)
			rc = x->asset_fn(&p.assets[i], x->arg);
	*next = p.page.next;
	vpp_assets_free(&p);
	return rc;
}

int vpp_client_assets(struct vpp_client *c, int (*fn)(const struct vpp_asset *a, void *arg),
		      void *arg, struct vpp_error *e)
{
	struct each_ctx x = {fn, NULL, arg};
	return pages(c, "/assets", assets_page, &x, e);
}

static int assignments_page(struct vpp_client *c, const struct httpsreq_res *res, void *ctx,
			    int64_t *next, struct vpp_error *e)
{
	struct each_ctx *x = ctx;
	struct vpp_assignments_page p;
	char err[256];
	int rc = vpp_assignments_parse(res->body, res->len, &p, err, sizeof(err));
	if (rc < 0)
		return refused(e, rc, err);
	if ((rc = not_ours(c, &p.page.meta, e)) == 0)
		for (size_t i = 0; i < p.n && rc == 0; i++)
			if (p.items[i].serial[0])
				rc = x->assign_fn(&p.items[i], x->arg);
	*next = p.page.next;
	vpp_assignments_free(&p);
	return rc;
}

int vpp_client_assignments(struct vpp_client *c,
			   int (*fn)(const struct vpp_assignment *a, void *arg), void *arg,
			   struct vpp_error *e)
{
	struct each_ctx x = {NULL, fn, arg};
	return pages(c, "/assignments", assignments_page, &x, e);
}

int vpp_client_post(struct vpp_client *c, int disassociate, const char *adam_id,
		    const char *pricing, const char *const *serials, size_t n, char *event_id,
		    struct vpp_error *e)
{
	struct vpp_limits l;
	struct httpsreq_res res;
	struct vpp_event ev;
	char *body = NULL, err[256];
	vpp_client_limits(c, &l);
	int rc = vpp_body_assets(&adam_id, &pricing, 1, serials, n, (size_t)l.max_assets,
				 (size_t)l.max_serials, &body, err, sizeof(err));
	if (rc < 0)
		return refused(e, rc, err);
	rc = call(c, "POST", disassociate ? "/assets/disassociate" : "/assets/associate", body, 1,
		  &res, e);
	free(body);
	if (rc < 0)
		return rc;
	rc = vpp_event_parse(res.body, res.len, &ev, err, sizeof(err));
	free(res.body);
	if (rc < 0)
		return refused(e, rc, err);
	if ((rc = not_ours(c, &ev.meta, e)) < 0)
		return rc;
	snprintf(event_id, VPP_TEXT_MAX + 1, "%s", ev.event_id);
	return 0;
}

int vpp_client_poll(struct vpp_client *c, const char *event_id, struct vpp_status *ret,
		    struct vpp_error *e)
{
	char path[VPP_TEXT_MAX * 3 + 32], esc[VPP_TEXT_MAX * 3 + 1], err[256];
	int64_t pause = 100, waited = 0;
	size_t o = 0;
	for (const char *s = event_id; *s && o + 4 < sizeof(esc); s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '_' || ch == '.')
			esc[o++] = (char)ch;
		else
			o += (size_t)snprintf(esc + o, sizeof(esc) - o, "%%%02X", ch);
	}
	esc[o] = '\0';
	snprintf(path, sizeof(path), "/status?eventId=%s", esc);
	for (;;) {
		struct httpsreq_res res;
		struct vpp_status st;
		int rc = call(c, "GET", path, NULL, 1, &res, e);
		if (rc < 0)
			return rc;
		rc = vpp_status_parse(res.body, res.len, &st, err, sizeof(err));
		free(res.body);
		if (rc < 0)
			return refused(e, rc, err);
		if (st.state != VPP_PENDING || waited >= c->o.poll_timeout_s * 1000 || stopped(c)) {
			*ret = st;
			return 0;
		}
		vpp_status_free(&st);
		pause_ms(c, pause);
		waited += pause;
		pause = pause * 2 > VPP_CLIENT_POLL_MAX_S * 1000 ? VPP_CLIENT_POLL_MAX_S * 1000
								 : pause * 2;
	}
}
