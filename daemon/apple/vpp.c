/* vpp.c - Apple's Apps and Books API v2: token, bodies, answers, errors. */
#include "vpp.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "isodate.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t cap, int rc, const char *path, const char *why)
{
	if (err && cap)
		snprintf(err, cap, "%s: %s", path, why);
	return rc;
}

/* ---- names ---------------------------------------------------------------------------------- */

int vpp_adam_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > VPP_ADAMID_MAX || strspn(s, "0123456789") != n || s[0] == '0')
		return 0;
	/* INT64_MAX is 9223372036854775807: 19 digits */
	return n < 19 || strcmp(s, "9223372036854775807") <= 0;
}

int vpp_serial_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= VPP_SERIAL_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static int pricing_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 8 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

/* ---- content token -------------------------------------------------------------------------- */

static int json_load(const char *text, size_t len, json_t **ret, char *err, size_t cap)
{
	json_error_t je;
	if (len > VPP_MAX_BYTES)
		return fail(err, cap, AP_ETOOBIG, "answer", "larger than 8 MiB");
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return fail(err, cap, AP_EPARSE, "answer", "not JSON");
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(err, cap, AP_EPARSE, "answer", "not a JSON object");
	}
	*ret = j;
	return 0;
}

/* Member key of o as a string into out (cap bytes with its NUL): 0; 1
 * when absent (or null) and optional; else the error. */
static int get_str(json_t *o, const char *key, int required, char *out, size_t outcap, char *err,
		   size_t cap)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v)) {
		out[0] = '\0';
		return required ? fail(err, cap, AP_EMISSING, key, "missing") : 1;
	}
	if (!json_is_string(v))
		return fail(err, cap, AP_ETYPE, key, "not a string");
	if (json_string_length(v) >= outcap)
		return fail(err, cap, AP_ETOOBIG, key, "too long");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, cap, AP_EPARSE, key, "holds a NUL");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Member key as an integer in lo..hi: 0; 1 when absent and optional. */
static int get_int(json_t *o, const char *key, int required, int64_t lo, int64_t hi, int64_t *out,
		   char *err, size_t cap)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return required ? fail(err, cap, AP_EMISSING, key, "missing") : 1;
	if (!json_is_integer(v))
		return fail(err, cap, AP_ETYPE, key, "not an integer");
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(err, cap, AP_ETOOBIG, key, "out of range");
	*out = (int64_t)x;
	return 0;
}

static int get_bool(json_t *o, const char *key, int *out, char *err, size_t cap)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_boolean(v))
		return fail(err, cap, AP_ETYPE, key, "not a boolean");
	*out = json_is_true(v);
	return 0;
}

/* A date member ("2030-11-08T22:33:22+0000") into *out; 1 when absent. */
static int get_time(json_t *o, const char *key, int required, int64_t *out, char *err, size_t cap)
{
	char s[64];
	int rc = get_str(o, key, required, s, sizeof(s), err, cap);
	if (rc)
		return rc;
	if (isodate_parse_time(s, out) < 0 || strlen(s) <= ISODATE_DAY_LEN)
		return fail(err, cap, AP_EPARSE, key, "not an ISO 8601 time");
	return 0;
}

int vpp_token_parse(const char *stoken, size_t len, struct vpp_token *ret, char *err, size_t cap)
{
	if (len > VPP_TOKEN_MAX)
		return fail(err, cap, AP_ETOOBIG, "sToken", "longer than 8192 bytes");
	char *b = malloc(len + 1);
	unsigned char *raw = malloc(len + 1);
	size_t n = 0;
	int rc;
	if (b == NULL || raw == NULL) {
		rc = fail(err, cap, AP_ENOMEM, "sToken", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (stoken[i] != ' ' && stoken[i] != '\n' && stoken[i] != '\r' && stoken[i] != '\t')
			b[n++] = stoken[i];
	b[n] = '\0';
	if (n == 0 || n % 4 ||
	    strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789+/=") != n) {
		rc = fail(err, cap, AP_EPARSE, "sToken", "not base64");
		goto out;
	}
	size_t pad = b[n - 1] == '=' ? (b[n - 2] == '=' ? 2 : 1) : 0;
	if (memchr(b, '=', n - pad)) {
		rc = fail(err, cap, AP_EPARSE, "sToken", "not base64");
		goto out;
	}
	int m = EVP_DecodeBlock(raw, (const unsigned char *)b, (int)n);
	if (m < 0 || (size_t)m < pad) {
		rc = fail(err, cap, AP_EPARSE, "sToken", "not base64");
		goto out;
	}
	json_t *j = NULL;
	if ((rc = json_load((const char *)raw, (size_t)m - pad, &j, err, cap)) < 0) {
		fail(err, cap, rc, "sToken", "not a content token (base64 of a JSON object)");
		goto out;
	}
	struct vpp_token t = {{0}, 0};
	/* the token text itself is only checked for presence and type */
	json_t *tv = json_object_get(j, "token");
	if (tv == NULL)
		rc = fail(err, cap, AP_EMISSING, "sToken.token", "missing");
	else if (!json_is_string(tv) || json_string_length(tv) == 0)
		rc = fail(err, cap, json_is_string(tv) ? AP_EMISSING : AP_ETYPE, "sToken.token",
			  "not a string, or empty");
	else if ((rc = get_str(j, "orgName", 1, t.org, sizeof(t.org), err, cap)) == 0)
		rc = get_time(j, "expDate", 1, &t.expires, err, cap);
	json_decref(j);
	if (rc == 0)
		*ret = t;
out:
	free(b);
	free(raw);
	return rc < 0 ? rc : 0;
}

int64_t vpp_token_days_left(const struct vpp_token *t, int64_t now)
{
	int64_t d = t->expires - now;
	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

/* ---- errors --------------------------------------------------------------------------------- */

static const struct {
	int lo, hi, code;
	enum vpp_action action;
	const char *reason;
} known[] = {
    {9601, 9601, AP_EAUTH, VPP_FIX, "connexion requise : le jeton de contenu manque"},
    {9722, 9722, AP_EAUTH, VPP_FIX, "en-tête d'autorisation mal formé"},
    {9621, 9621, AP_EAUTH, VPP_NEW_TOKEN,
     "jeton de contenu expiré : en télécharger un nouveau dans Apple School Manager"},
    {9625, 9625, AP_EAUTH, VPP_NEW_TOKEN,
     "jeton de contenu révoqué : en télécharger un nouveau dans Apple School Manager"},
    {9603, 9603, AP_EBUSY, VPP_RETRY, "erreur interne chez Apple : nouvel essai plus tard"},
    {9644, 9644, AP_EBUSY, VPP_RETRY, "service Apple en maintenance : nouvel essai plus tard"},
    {9634, 9634, AP_EUNSUPPORTED, VPP_STOP, "service retiré par Apple"},
    {9646, 9646, AP_ELIMIT, VPP_BACKOFF, "trop de requêtes pour l'organisation : attendre"},
    {9632, 9632, AP_ELIMIT, VPP_BACKOFF, "même demande de licence répétée trop souvent"},
    {9602, 9602, AP_EINVAL, VPP_FIX, "argument refusé par Apple"},
    {9650, 9650, AP_EINVAL, VPP_FIX, "numéro de page refusé"},
    {9708, 9708, AP_ENOTFOUND, VPP_FIX, "événement inconnu d'Apple"},
    {9721, 9721, AP_EINVAL, VPP_FIX, "version de synchronisation refusée"},
    {9700, 9700, AP_ETOOBIG, VPP_SPLIT, "trop d'apps dans une requête : la découper"},
    {9701, 9701, AP_ETOOBIG, VPP_SPLIT, "trop d'utilisateurs dans une requête : la découper"},
    {9702, 9702, AP_ETOOBIG, VPP_SPLIT, "trop de numéros de série dans une requête : la découper"},
    {9703, 9705, AP_EINVAL, VPP_FIX, "doublons dans la requête"},
    {9706, 9706, AP_EINVAL, VPP_FIX, "licence non révocable"},
    {9707, 9707, AP_EINVAL, VPP_FIX, "app non attribuable à un appareil"},
    {9718, 9718, AP_EMISSING, VPP_FIX, "aucune app dans la requête"},
    {9719, 9719, AP_EMISSING, VPP_FIX, "ni numéro de série ni utilisateur dans la requête"},
    {9710, 9713, AP_EINVAL, VPP_FIX, "adresse ou jeton de notification refusé"},
    {9723, 9725, AP_EINVAL, VPP_FIX, "informations MDM (mdmInfo) refusées"},
    {9728, 9728, AP_EINVAL, VPP_FIX, "adresse de notification injoignable"},
    {9726, 9727, AP_EINVAL, VPP_FIX, "méthode ou type de contenu refusé"},
    {9709, 9709, AP_ELIMIT, VPP_BUY,
     "pas assez de licences : en acheter dans Apple School Manager"},
    {9610, 9610, AP_ENOTFOUND, VPP_RETRY, "licence introuvable"},
    {9616, 9616, 0, VPP_OK, "licence déjà attribuée"},
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

void vpp_error_of(int number, int http, struct vpp_error *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->number = number;
	ret->http = http;
	for (size_t i = 0; i < NKNOWN; i++)
		if (number >= known[i].lo && number <= known[i].hi) {
			ret->code = known[i].code;
			ret->action = known[i].action;
			ret->reason = known[i].reason;
			return;
		}
	if (http == 401 || http == 403) {
		ret->code = AP_EAUTH;
		ret->action = VPP_FIX;
		ret->reason = "accès refusé par Apple (erreur inconnue)";
	} else if (http == 429) {
		ret->code = AP_ELIMIT;
		ret->action = VPP_BACKOFF;
		ret->reason = "trop de requêtes : attendre (erreur inconnue)";
	} else if (http >= 400 && http < 500) {
		ret->code = AP_EINVAL;
		ret->action = VPP_FIX;
		ret->reason = "requête refusée par Apple (erreur inconnue)";
	} else {
		ret->code = http >= 500 ? AP_EBUSY : AP_EINTERNAL;
		ret->action = VPP_RETRY;
		ret->reason = "erreur inconnue d'Apple : nouvel essai plus tard";
	}
}

static int64_t retry_after_of(const char *s)
{
	if (s == NULL)
		return 0;
	while (*s == ' ' || *s == '\t')
		s++;
	int64_t v = 0;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v <= VPP_RETRY_MAX_S)
			v = v * 10 + (*s - '0');
	while (*s == ' ' || *s == '\t')
		s++;
	if (digits == 0 || *s != '\0')
		return 0;
	return v > VPP_RETRY_MAX_S ? VPP_RETRY_MAX_S : v;
}

/* errorNumber in the object j: 1 with *e filled, 0 when none. */
static int body_error(json_t *j, int http, struct vpp_error *e)
{
	json_t *n = json_object_get(j, "errorNumber");
	if (n == NULL)
		return 0;
	int number =
	    json_is_integer(n) && json_integer_value(n) > 0 && json_integer_value(n) <= INT32_MAX
		? (int)json_integer_value(n)
		: 0;
	vpp_error_of(number, http, e);
	json_t *m = json_object_get(j, "errorMessage");
	if (json_is_string(m))
		snprintf(e->message, sizeof(e->message), "%s", json_string_value(m));
	if (number == 0 && e->code == 0) {
		e->code = AP_EINTERNAL;
		e->action = VPP_RETRY;
	}
	if (number == 0)
		e->reason = "réponse d'erreur d'Apple illisible";
	return 1;
}

int vpp_answer_check(int http, const char *retry_after, const char *body, size_t len,
		     struct vpp_error *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->http = http;
	json_t *j = NULL;
	json_error_t je;
	if (body && len && len <= VPP_MAX_BYTES)
		j = json_loadb(body, len, 0, &je);
	int has = json_is_object(j) && body_error(j, http, ret);
	json_decref(j);
	if (!has && http >= 200 && http < 300)
		return 0;
	if (!has)
		vpp_error_of(0, http, ret);
	ret->http = http;
	ret->retry_after = retry_after_of(retry_after);
	if (ret->code == 0) /* 9616: already assigned is a success */
		return 0;
	return ret->code;
}

/* The parsers' first step: an ErrorResponse body is Apple's error. */
static int check_error_body(json_t *j, char *err, size_t cap)
{
	struct vpp_error e;
	if (!body_error(j, 200, &e) || e.code == 0)
		return 0;
	if (err && cap)
		snprintf(err, cap, "Apple error %d: %s (%.100s)", e.number, e.reason, e.message);
	return e.code;
}

/* ---- requests ------------------------------------------------------------------------------- */

size_t vpp_batches(size_t n, size_t max, struct vpp_batch *out, size_t cap)
{
	if (max == 0)
		max = 1;
	size_t k = 0;
	for (size_t first = 0; first < n; first += max, k++)
		if (k < cap)
			out[k] = (struct vpp_batch){first, n - first < max ? n - first : max};
	return k;
}

static int serials_array(const char *const *serials, size_t n, size_t max, json_t **ret, char *err,
			 size_t cap)
{
	if (n == 0)
		return fail(err, cap, AP_EINVAL, "serialNumbers", "empty");
	if (n > max)
		return fail(err, cap, AP_ETOOBIG, "serialNumbers", "more than the limit: split it");
	json_t *a = json_array();
	if (a == NULL)
		return fail(err, cap, AP_ENOMEM, "serialNumbers", "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!vpp_serial_ok(serials[i])) {
			json_decref(a);
			return fail(err, cap, AP_EINVAL, "serialNumbers", "not a serial number");
		}
		if (json_array_append_new(a, json_string(serials[i])) < 0) {
			json_decref(a);
			return fail(err, cap, AP_ENOMEM, "serialNumbers", "out of memory");
		}
	}
	*ret = a;
	return 0;
}

static int dump(json_t *o, char **ret, char *err, size_t cap)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return fail(err, cap, AP_ENOMEM, "body", "out of memory");
	*ret = s;
	if (err && cap)
		err[0] = '\0';
	return 0;
}

int vpp_body_assets(const char *const *adam_ids, const char *const *pricing, size_t n_assets,
		    const char *const *serials, size_t n_serials, size_t max_assets,
		    size_t max_serials, char **ret, char *err, size_t cap)
{
	if (ret == NULL || n_assets == 0)
		return fail(err, cap, AP_EINVAL, "assets", "empty");
	if (n_assets > max_assets)
		return fail(err, cap, AP_ETOOBIG, "assets", "more than the limit: split it");
	json_t *o = json_object(), *assets = json_array(), *sn = NULL;
	if (o == NULL || assets == NULL) {
		json_decref(o);
		json_decref(assets);
		return fail(err, cap, AP_ENOMEM, "assets", "out of memory");
	}
	json_object_set_new(o, "assets", assets);
	for (size_t i = 0; i < n_assets; i++) {
		const char *p = pricing ? pricing[i] : NULL;
		if (!vpp_adam_id_ok(adam_ids[i]) || (p && !pricing_ok(p))) {
			json_decref(o);
			return fail(err, cap, AP_EINVAL, "assets", "not an adamId or pricingParam");
		}
		json_t *a = json_pack("{ss}", "adamId", adam_ids[i]);
		if (a && p)
			json_object_set_new(a, "pricingParam", json_string(p));
		if (a == NULL || json_array_append_new(assets, a) < 0) {
			json_decref(o);
			return fail(err, cap, AP_ENOMEM, "assets", "out of memory");
		}
	}
	int rc = serials_array(serials, n_serials, max_serials, &sn, err, cap);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	json_object_set_new(o, "serialNumbers", sn);
	return dump(o, ret, err, cap);
}

int vpp_body_revoke(const char *const *serials, size_t n, size_t max, char **ret, char *err,
		    size_t cap)
{
	json_t *sn = NULL, *o;
	if (ret == NULL)
		return AP_EINVAL;
	int rc = serials_array(serials, n, max, &sn, err, cap);
	if (rc < 0)
		return rc;
	if ((o = json_object()) == NULL) {
		json_decref(sn);
		return fail(err, cap, AP_ENOMEM, "body", "out of memory");
	}
	json_object_set_new(o, "serialNumbers", sn);
	return dump(o, ret, err, cap);
}

/* ---- answers -------------------------------------------------------------------------------- */

void vpp_limits_default(struct vpp_limits *l)
{
	l->max_assets = VPP_DEFAULT_MAX_ASSETS;
	l->max_serials = VPP_DEFAULT_MAX_SERIALS;
	l->max_revoke_serials = VPP_DEFAULT_MAX_REVOKE_SERIALS;
	l->max_client_user_ids = VPP_DEFAULT_MAX_CLIENT_USER_IDS;
}

/* Opens an answer: JSON object, not an ErrorResponse. */
static int open_answer(const char *text, size_t len, json_t **ret, char *err, size_t cap)
{
	int rc = json_load(text, len, ret, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = check_error_body(*ret, err, cap)) < 0) {
		json_decref(*ret);
		*ret = NULL;
	}
	return rc;
}

static int parse_meta(json_t *j, struct vpp_meta *m, char *err, size_t cap)
{
	int rc;
	memset(m, 0, sizeof(*m));
	if ((rc = get_time(j, "tokenExpirationDate", 0, &m->token_expires, err, cap)) < 0 ||
	    (rc = get_str(j, "uId", 0, m->uid, sizeof(m->uid), err, cap)) < 0)
		return rc;
	json_t *mi = json_object_get(j, "mdmInfo");
	if (mi == NULL || json_is_null(mi))
		return 0;
	if (!json_is_object(mi))
		return fail(err, cap, AP_ETYPE, "mdmInfo", "not an object");
	rc = get_str(mi, "id", 0, m->mdm_id, sizeof(m->mdm_id), err, cap);
	return rc < 0 ? fail(err, cap, rc, "mdmInfo.id", "not a string of at most 255 bytes") : 0;
}

int vpp_service_config_parse(const char *text, size_t len, struct vpp_service_config *ret,
			     char *err, size_t cap)
{
	json_t *j = NULL, *v;
	const char *k;
	int rc = open_answer(text, len, &j, err, cap);
	struct vpp_service_config c = {{0}, NULL, 0};
	if (rc < 0)
		return rc;
	vpp_limits_default(&c.limits);
	json_t *lim = json_object_get(j, "limits"), *urls = json_object_get(j, "urls");
	if (lim && !json_is_object(lim)) {
		rc = fail(err, cap, AP_ETYPE, "limits", "not an object");
		goto out;
	}
	static const struct {
		const char *key;
		size_t off;
	} lk[] = {
	    {"maxAssets", offsetof(struct vpp_limits, max_assets)},
	    {"maxSerialNumbers", offsetof(struct vpp_limits, max_serials)},
	    {"maxRevokeSerialNumbers", offsetof(struct vpp_limits, max_revoke_serials)},
	    {"maxClientUserIds", offsetof(struct vpp_limits, max_client_user_ids)},
	};
	for (size_t i = 0; lim && i < sizeof(lk) / sizeof(lk[0]); i++) {
		json_t *x = json_object_get(lim, lk[i].key);
		int64_t *dst = (int64_t *)((char *)&c.limits + lk[i].off);
		if (x == NULL)
			continue;
		if (!json_is_integer(x)) {
			rc = fail(err, cap, AP_ETYPE, lk[i].key, "not an integer");
			goto out;
		}
		if (json_integer_value(x) < 1) {
			rc = fail(err, cap, AP_EPARSE, lk[i].key, "below 1");
			goto out;
		}
		*dst = json_integer_value(x) > VPP_LIMIT_CAP ? VPP_LIMIT_CAP
							     : (int64_t)json_integer_value(x);
	}
	if (urls == NULL) {
		rc = fail(err, cap, AP_EMISSING, "urls", "missing");
		goto out;
	}
	if (!json_is_object(urls)) {
		rc = fail(err, cap, AP_ETYPE, "urls", "not an object");
		goto out;
	}
	if (json_object_size(urls) > VPP_MAX_ITEMS) {
		rc = fail(err, cap, AP_ETOOBIG, "urls", "too many");
		goto out;
	}
	if (json_object_size(urls) &&
	    (c.urls = calloc(json_object_size(urls), sizeof(*c.urls))) == NULL) {
		rc = fail(err, cap, AP_ENOMEM, "urls", "out of memory");
		goto out;
	}
	json_object_foreach(urls, k, v)
	{
		struct vpp_url *u = &c.urls[c.n_urls];
		if (!json_is_string(v)) {
			rc = fail(err, cap, AP_ETYPE, "urls", "a member is not a string");
			goto out;
		}
		if (strlen(k) >= sizeof(u->name) || json_string_length(v) > VPP_URL_MAX) {
			rc = fail(err, cap, AP_ETOOBIG, "urls", "a name or URL is too long");
			goto out;
		}
		snprintf(u->name, sizeof(u->name), "%s", k);
		snprintf(u->url, sizeof(u->url), "%s", json_string_value(v));
		c.n_urls++;
	}
	*ret = c;
	c.urls = NULL;
	rc = 0;
out:
	free(c.urls);
	json_decref(j);
	return rc;
}

void vpp_service_config_free(struct vpp_service_config *c)
{
	if (c == NULL)
		return;
	free(c->urls);
	c->urls = NULL;
	c->n_urls = 0;
}

const char *vpp_service_url(const struct vpp_service_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_urls; i++)
		if (strcmp(c->urls[i].name, name) == 0)
			return c->urls[i].url;
	return NULL;
}

int vpp_client_config_parse(const char *text, size_t len, struct vpp_client_config *ret, char *err,
			    size_t cap)
{
	json_t *j = NULL;
	struct vpp_client_config c;
	int rc = open_answer(text, len, &j, err, cap);
	if (rc < 0)
		return rc;
	memset(&c, 0, sizeof(c));
	if ((rc = parse_meta(j, &c.meta, err, cap)) < 0 ||
	    (rc = get_str(j, "locationName", 1, c.location, sizeof(c.location), err, cap)) < 0 ||
	    (rc = get_str(j, "countryISO2ACode", 0, c.country, sizeof(c.country), err, cap)) < 0)
		goto out;
	json_t *mi = json_object_get(j, "mdmInfo");
	if (json_is_object(mi) &&
	    ((rc = get_str(mi, "name", 0, c.mdm_name, sizeof(c.mdm_name), err, cap)) < 0 ||
	     (rc = get_str(mi, "metadata", 0, c.mdm_metadata, sizeof(c.mdm_metadata), err, cap)) <
		 0))
		goto out;
	*ret = c;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int parse_page(json_t *j, struct vpp_page *p, char *err, size_t cap)
{
	int rc;
	memset(p, 0, sizeof(*p));
	p->next = -1;
	if ((rc = parse_meta(j, &p->meta, err, cap)) < 0 ||
	    (rc = get_int(j, "currentPageIndex", 1, 0, INT32_MAX, &p->current, err, cap)) < 0 ||
	    (rc = get_int(j, "nextPageIndex", 0, 1, INT32_MAX, &p->next, err, cap)) < 0 ||
	    (rc = get_int(j, "totalPages", 1, 0, INT32_MAX, &p->total_pages, err, cap)) < 0 ||
	    (rc = get_int(j, "size", 0, 0, INT32_MAX, &p->size, err, cap)) < 0 ||
	    (rc = get_str(j, "versionId", 0, p->version_id, sizeof(p->version_id), err, cap)) < 0)
		return rc;
	if (p->next != -1 && p->next <= p->current)
		return fail(err, cap, AP_EPARSE, "nextPageIndex", "not after currentPageIndex");
	return 0;
}

/* The array member key of j, at most VPP_MAX_ITEMS, calloc'd *ret of n elements. */
static int items(json_t *j, const char *key, size_t elem, json_t **arr, void **ret, char *err,
		 size_t cap)
{
	json_t *a = json_object_get(j, key);
	*ret = NULL;
	if (a == NULL)
		return fail(err, cap, AP_EMISSING, key, "missing");
	if (!json_is_array(a))
		return fail(err, cap, AP_ETYPE, key, "not an array");
	if (json_array_size(a) > VPP_MAX_ITEMS)
		return fail(err, cap, AP_ETOOBIG, key, "too many");
	if (json_array_size(a) && (*ret = calloc(json_array_size(a), elem)) == NULL)
		return fail(err, cap, AP_ENOMEM, key, "out of memory");
	*arr = a;
	return 0;
}

/* An item's failure: err gets "key[i].<member>: why". */
static int at(char *err, size_t cap, int rc, const char *key, size_t i)
{
	char tmp[200];
	if (err && cap) {
		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, cap, "%s[%zu].%s", key, i, tmp);
	}
	return rc;
}

static int asset_of(json_t *o, struct vpp_asset *a, char *err, size_t cap)
{
	char prod[16];
	int rc;
	if (!json_is_object(o))
		return fail(err, cap, AP_ETYPE, "", "not an object");
	if ((rc = get_str(o, "adamId", 1, a->adam_id, sizeof(a->adam_id), err, cap)) < 0)
		return rc;
	if (!vpp_adam_id_ok(a->adam_id))
		return fail(err, cap, AP_EPARSE, "adamId", "not an adamId (digits)");
	if ((rc = get_str(o, "pricingParam", 1, a->pricing, sizeof(a->pricing), err, cap)) < 0)
		return rc;
	if (!pricing_ok(a->pricing))
		return fail(err, cap, AP_EPARSE, "pricingParam", "not capital letters");
	if ((rc = get_str(o, "productType", 0, prod, sizeof(prod), err, cap)) < 0)
		return rc;
	a->product = strcmp(prod, "App") == 0	 ? VPP_APP
		     : strcmp(prod, "Book") == 0 ? VPP_BOOK
						 : VPP_OTHER;
	if ((rc = get_int(o, "assignedCount", 1, 0, INT32_MAX, &a->assigned, err, cap)) < 0 ||
	    (rc = get_int(o, "availableCount", 1, 0, INT32_MAX, &a->available, err, cap)) < 0 ||
	    (rc = get_int(o, "retiredCount", 0, 0, INT32_MAX, &a->retired, err, cap)) < 0 ||
	    (rc = get_int(o, "totalCount", 1, 0, INT32_MAX, &a->total, err, cap)) < 0 ||
	    (rc = get_bool(o, "deviceAssignable", &a->device_assignable, err, cap)) < 0 ||
	    (rc = get_bool(o, "revocable", &a->revocable, err, cap)) < 0)
		return rc;
	return 0;
}

int vpp_assets_parse(const char *text, size_t len, struct vpp_assets_page *ret, char *err,
		     size_t cap)
{
	json_t *j = NULL, *arr = NULL, *o;
	size_t i;
	void *mem = NULL;
	struct vpp_assets_page p;
	memset(&p, 0, sizeof(p));
	int rc = open_answer(text, len, &j, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = parse_page(j, &p.page, err, cap)) < 0 ||
	    (rc = items(j, "assets", sizeof(struct vpp_asset), &arr, &mem, err, cap)) < 0)
		goto out;
	p.assets = mem;
	json_array_foreach(arr, i, o)
	{
		if ((rc = asset_of(o, &p.assets[i], err, cap)) < 0) {
			at(err, cap, rc, "assets", i);
			goto out;
		}
		p.n++;
	}
	*ret = p;
	p.assets = NULL;
	rc = 0;
out:
	free(p.assets);
	json_decref(j);
	return rc;
}

void vpp_assets_free(struct vpp_assets_page *p)
{
	if (p) {
		free(p->assets);
		p->assets = NULL;
		p->n = 0;
	}
}

static int assignment_of(json_t *o, struct vpp_assignment *a, int *user, char *err, size_t cap)
{
	int rc;
	*user = 0;
	if (!json_is_object(o))
		return fail(err, cap, AP_ETYPE, "", "not an object");
	if ((rc = get_str(o, "adamId", 1, a->adam_id, sizeof(a->adam_id), err, cap)) < 0)
		return rc;
	if (!vpp_adam_id_ok(a->adam_id))
		return fail(err, cap, AP_EPARSE, "adamId", "not an adamId (digits)");
	if ((rc = get_str(o, "pricingParam", 0, a->pricing, sizeof(a->pricing), err, cap)) < 0)
		return rc;
	if (rc == 0 && !pricing_ok(a->pricing))
		return fail(err, cap, AP_EPARSE, "pricingParam", "not capital letters");
	if ((rc = get_str(o, "serialNumber", 0, a->serial, sizeof(a->serial), err, cap)) < 0)
		return rc;
	if (rc == 1) {
		json_t *u = json_object_get(o, "clientUserId");
		if (!json_is_string(u))
			return fail(err, cap, AP_EMISSING, "serialNumber",
				    "missing (and no clientUserId)");
		*user = 1;
		return 0;
	}
	if (!vpp_serial_ok(a->serial))
		return fail(err, cap, AP_EPARSE, "serialNumber", "not a serial number");
	return 0;
}

int vpp_assignments_parse(const char *text, size_t len, struct vpp_assignments_page *ret, char *err,
			  size_t cap)
{
	json_t *j = NULL, *arr = NULL, *o;
	size_t i;
	void *mem = NULL;
	struct vpp_assignments_page p;
	memset(&p, 0, sizeof(p));
	int rc = open_answer(text, len, &j, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = parse_page(j, &p.page, err, cap)) < 0 ||
	    (rc = items(j, "assignments", sizeof(struct vpp_assignment), &arr, &mem, err, cap)) < 0)
		goto out;
	p.items = mem;
	json_array_foreach(arr, i, o)
	{
		int user;
		if ((rc = assignment_of(o, &p.items[p.n], &user, err, cap)) < 0) {
			at(err, cap, rc, "assignments", i);
			goto out;
		}
		if (user)
			p.n_user++;
		else
			p.n++;
	}
	*ret = p;
	p.items = NULL;
	rc = 0;
out:
	free(p.items);
	json_decref(j);
	return rc;
}

void vpp_assignments_free(struct vpp_assignments_page *p)
{
	if (p) {
		free(p->items);
		p->items = NULL;
		p->n = 0;
	}
}

int vpp_event_parse(const char *text, size_t len, struct vpp_event *ret, char *err, size_t cap)
{
	json_t *j = NULL;
	struct vpp_event e;
	int rc = open_answer(text, len, &j, err, cap);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	if ((rc = parse_meta(j, &e.meta, err, cap)) == 0 &&
	    (rc = get_str(j, "eventId", 1, e.event_id, sizeof(e.event_id), err, cap)) == 0 &&
	    e.event_id[0] == '\0')
		rc = fail(err, cap, AP_EMISSING, "eventId", "empty");
	json_decref(j);
	if (rc == 0)
		*ret = e;
	return rc;
}

static void strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* errorInfo.<key>: serials (strings) or assets (objects with adamId). */
static int info_list(json_t *info, const char *key, int assets, char ***ret, size_t *n, char *err,
		     size_t cap)
{
	json_t *a = json_object_get(info, key), *x;
	size_t i;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return fail(err, cap, AP_ETYPE, key, "not an array");
	if (json_array_size(a) > VPP_MAX_ITEMS)
		return fail(err, cap, AP_ETOOBIG, key, "too many");
	if (json_array_size(a) && (*ret = calloc(json_array_size(a), sizeof(char *))) == NULL)
		return fail(err, cap, AP_ENOMEM, key, "out of memory");
	json_array_foreach(a, i, x)
	{
		const char *s = NULL;
		if (assets && json_is_object(x))
			x = json_object_get(x, "adamId");
		if (json_is_string(x))
			s = json_string_value(x);
		if (s == NULL)
			return fail(err, cap, AP_ETYPE, key, "an item is not a string");
		if (assets ? !vpp_adam_id_ok(s) : !vpp_serial_ok(s))
			return fail(err, cap, AP_EPARSE, key, "not an adamId or serial number");
		if (((*ret)[*n] = strdup(s)) == NULL)
			return fail(err, cap, AP_ENOMEM, key, "out of memory");
		(*n)++;
	}
	return 0;
}

static int failure_of(json_t *o, struct vpp_failure *f, char *err, size_t cap)
{
	int64_t number = 0;
	int rc;
	if (!json_is_object(o))
		return fail(err, cap, AP_ETYPE, "", "not an object");
	if ((rc = get_int(o, "errorNumber", 1, 1, INT32_MAX, &number, err, cap)) < 0)
		return rc;
	vpp_error_of((int)number, 200, &f->error);
	if ((rc = get_str(o, "errorMessage", 0, f->error.message, sizeof(f->error.message), err,
			  cap)) < 0)
		return rc;
	json_t *info = json_object_get(o, "errorInfo");
	if (info == NULL || json_is_null(info))
		return 0;
	if (!json_is_object(info))
		return fail(err, cap, AP_ETYPE, "errorInfo", "not an object");
	if ((rc = info_list(info, "serialNumbers", 0, &f->serials, &f->n_serials, err, cap)) < 0 ||
	    (rc = info_list(info, "assets", 1, &f->adam_ids, &f->n_adam_ids, err, cap)) < 0)
		return rc;
	return 0;
}

int vpp_status_parse(const char *text, size_t len, struct vpp_status *ret, char *err, size_t cap)
{
	json_t *j = NULL, *arr, *o;
	size_t i;
	char state[16];
	struct vpp_status s;
	memset(&s, 0, sizeof(s));
	int rc = open_answer(text, len, &j, err, cap);
	if (rc < 0)
		return rc;
	if ((rc = parse_meta(j, &s.meta, err, cap)) < 0 ||
	    (rc = get_str(j, "eventStatus", 1, state, sizeof(state), err, cap)) < 0)
		goto out;
	if (strcmp(state, "PENDING") == 0)
		s.state = VPP_PENDING;
	else if (strcmp(state, "COMPLETE") == 0)
		s.state = VPP_COMPLETE;
	else if (strcmp(state, "FAILED") == 0)
		s.state = VPP_FAILED;
	else {
		rc = fail(err, cap, AP_EPARSE, "eventStatus", "not PENDING, COMPLETE or FAILED");
		goto out;
	}
	if ((rc = get_str(j, "eventType", 0, s.type, sizeof(s.type), err, cap)) < 0 ||
	    (rc = get_int(j, "numRequested", 0, 0, INT32_MAX, &s.requested, err, cap)) < 0 ||
	    (rc = get_int(j, "numCompleted", 0, 0, INT32_MAX, &s.completed, err, cap)) < 0)
		goto out;
	rc = 0;
	arr = json_object_get(j, "failures");
	if (arr == NULL || json_is_null(arr)) {
		*ret = s;
		goto out;
	}
	void *mem = NULL;
	if ((rc = items(j, "failures", sizeof(struct vpp_failure), &arr, &mem, err, cap)) < 0)
		goto out;
	s.failures = mem;
	json_array_foreach(arr, i, o)
	{
		s.n_failures++;
		if ((rc = failure_of(o, &s.failures[i], err, cap)) < 0) {
			at(err, cap, rc, "failures", i);
			vpp_status_free(&s);
			goto out;
		}
	}
	*ret = s;
out:
	json_decref(j);
	return rc;
}

void vpp_status_free(struct vpp_status *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_failures; i++) {
		strs_free(s->failures[i].serials, s->failures[i].n_serials);
		strs_free(s->failures[i].adam_ids, s->failures[i].n_adam_ids);
	}
	free(s->failures);
	s->failures = NULL;
	s->n_failures = 0;
}

/* ---- installing ----------------------------------------------------------------------------- */

int vpp_install_params(const char *adam_id, plist_t *ret)
{
	if (ret == NULL || !vpp_adam_id_ok(adam_id))
		return AP_EINVAL;
	return ap_cmd_params_install_app((int64_t)strtoll(adam_id, NULL, 10), NULL, ret);
}
