/* ade_oauth.c - ADE's server token parsed, GET /session signed (OAuth 1.0a). */
#include "ade_oauth.h"
#include "ap_err.h"
#include "isodate.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
	if (err && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- the server token ---------------------------------------------------------------------- */

static int line_is(const char *p, size_t n, const char *what)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n == strlen(what) && memcmp(p, what, n) == 0;
}

/* The JSON of a decrypted token: the MIME headers skipped (when the text
 * starts with a header line), BEGIN/END lines dropped, the lines joined. */
static char *token_json(const char *text, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	/* headers: lines up to the first blank one, when the first line is
	 * "Name: value" (no brace before the colon) */
	const char *nl = memchr(text, '\n', len);
	size_t first = nl ? (size_t)(nl - text) : len;
	const char *colon = memchr(text, ':', first);
	if (colon && !memchr(text, '{', (size_t)(colon - text)) &&
	    !memchr(text, '"', (size_t)(colon - text))) {
		while (i < len) {
			const char *e = memchr(text + i, '\n', len - i);
			size_t n = e ? (size_t)(e - text) - i : len - i;
			size_t m = n;
			if (m && text[i + m - 1] == '\r')
				m--;
			i += n + (e ? 1 : 0);
			if (m == 0)
				break;
		}
	}
	while (i < len) {
		const char *e = memchr(text + i, '\n', len - i);
		size_t n = e ? (size_t)(e - text) - i : len - i;
		size_t m = n;
		if (m && text[i + m - 1] == '\r')
			m--;
		if (!line_is(text + i, m, "-----BEGIN MESSAGE-----") &&
		    !line_is(text + i, m, "-----END MESSAGE-----")) {
			memcpy(out + o, text + i, m);
			o += m;
		}
		i += n + (e ? 1 : 0);
	}
	out[o] = '\0';
	return out;
}

static int token_field(json_t *root, const char *name, char *out, size_t cap, char *err,
		       size_t ecap)
{
	json_t *v = json_object_get(root, name);
	if (!v)
		return fail(err, ecap, AP_EMISSING, "%s: missing", name);
	if (!json_is_string(v))
		return fail(err, ecap, AP_ETYPE, "%s: not a string", name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0)
		return fail(err, ecap, AP_EMISSING, "%s: empty", name);
	if (n >= cap)
		return fail(err, ecap, AP_ETOOBIG, "%s: longer than %zu bytes", name, cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return fail(err, ecap, AP_EPARSE, "%s: a byte outside printable ASCII",
				    name);
	memcpy(out, s, n + 1);
	return 0;
}

int ade_token_parse(const char *text, size_t len, struct ade_token *ret, char *err, size_t cap)
{
	memset(ret, 0, sizeof(*ret));
	if (err && cap)
		err[0] = '\0';
	if (len > ADE_TOKEN_MAX_BYTES)
		return fail(err, cap, AP_ETOOBIG, "token: larger than %u bytes",
			    ADE_TOKEN_MAX_BYTES);
	char *js = token_json(text, len);
	if (!js)
		return fail(err, cap, AP_ENOMEM, "token: out of memory");
	json_error_t je;
	json_t *root = json_loads(js, JSON_REJECT_DUPLICATES, &je);
	OPENSSL_cleanse(js, strlen(js));
	free(js);
	if (!root)
		return fail(err, cap, AP_EPARSE, "token: not JSON (line %d: %s)", je.line, je.text);
	int rc = 0;
	struct ade_token t;
	memset(&t, 0, sizeof(t));
	if (!json_is_object(root))
		rc = fail(err, cap, AP_EPARSE, "token: not a JSON object");
	if (rc == 0)
		rc = token_field(root, "consumer_key", t.consumer_key, sizeof(t.consumer_key), err,
				 cap);
	if (rc == 0)
		rc = token_field(root, "consumer_secret", t.consumer_secret,
				 sizeof(t.consumer_secret), err, cap);
	if (rc == 0)
		rc = token_field(root, "access_token", t.access_token, sizeof(t.access_token), err,
				 cap);
	if (rc == 0)
		rc = token_field(root, "access_secret", t.access_secret, sizeof(t.access_secret),
				 err, cap);
	if (rc == 0)
		rc = token_field(root, "access_token_expiry", t.expiry_text, sizeof(t.expiry_text),
				 err, cap);
	if (rc == 0 &&
	    (!strchr(t.expiry_text, 'T') || isodate_parse_time(t.expiry_text, &t.expiry) < 0))
		rc = fail(err, cap, AP_EPARSE, "access_token_expiry: not an ISO 8601 time");
	json_decref(root); /* jansson does not wipe: the secrets stay in freed memory */
	if (rc == 0)
		*ret = t;
	ade_token_wipe(&t);
	return rc;
}

void ade_token_wipe(struct ade_token *t)
{
	OPENSSL_cleanse(t->consumer_secret, sizeof(t->consumer_secret));
	OPENSSL_cleanse(t->access_secret, sizeof(t->access_secret));
}

/* ---- OAuth 1.0a ---------------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int ade_pct_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		size_t need = unreserved(*p) ? 1 : 3;
		if (o + need >= cap)
			return AP_ETOOBIG;
		if (need == 1) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= cap)
		return AP_ETOOBIG;
	out[o] = '\0';
	return 0;
}

static char *enc_dup(const char *s)
{
	size_t cap = strlen(s) * 3 + 1;
	char *out = malloc(cap);
	if (out && ade_pct_encode(s, out, cap) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

struct pair {
	char *name, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

int ade_oauth_base_string(const char *method, const char *url, const struct ade_param *params,
			  size_t n, char **ret)
{
	*ret = NULL;
	if (!method || !url)
		return AP_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!params[i].name || !params[i].value)
			return AP_EINVAL;
	struct pair *p = calloc(n ? n : 1, sizeof(*p));
	if (!p)
		return AP_ENOMEM;
	int rc = 0;
	size_t plen = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		p[i].name = enc_dup(params[i].name);
		p[i].value = enc_dup(params[i].value);
		if (!p[i].name || !p[i].value)
			rc = AP_ENOMEM;
		else
			plen += strlen(p[i].name) + strlen(p[i].value) + 2;
	}
	char *norm = NULL, *eurl = NULL, *enorm = NULL;
	if (rc == 0) {
		qsort(p, n, sizeof(*p), pair_cmp);
		norm = malloc(plen + 1);
		if (!norm)
			rc = AP_ENOMEM;
	}
	if (rc == 0) {
		size_t o = 0;
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(norm + o, plen + 1 - o, "%s%s=%s", i ? "&" : "",
					      p[i].name, p[i].value);
		norm[o] = '\0';
		eurl = enc_dup(url);
		enorm = enc_dup(norm);
		if (!eurl || !enorm)
			rc = AP_ENOMEM;
	}
	if (rc == 0) {
		size_t cap = strlen(method) + strlen(eurl) + strlen(enorm) + 3;
		*ret = malloc(cap);
		if (!*ret)
			rc = AP_ENOMEM;
		else
			snprintf(*ret, cap, "%s&%s&%s", method, eurl, enorm);
	}
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
	free(norm);
	free(eurl);
	free(enorm);
	return rc;
}

int ade_oauth_hmac_sha1(const char *base, const char *consumer_secret, const char *token_secret,
			char *out, size_t cap)
{
	char *ck = enc_dup(consumer_secret), *tk = enc_dup(token_secret);
	char *key = NULL;
	int rc = 0;
	if (!ck || !tk)
		rc = AP_ENOMEM;
	if (rc == 0) {
		size_t kl = strlen(ck) + strlen(tk) + 2;
		key = malloc(kl);
		if (!key)
			rc = AP_ENOMEM;
		else
			snprintf(key, kl, "%s&%s", ck, tk);
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	if (rc == 0 && !HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)base,
			     strlen(base), mac, &ml))
		rc = AP_ECRYPTO;
	if (rc == 0 && cap < 4 * ((ml + 2) / 3) + 1)
		rc = AP_ETOOBIG;
	if (rc == 0)
		EVP_EncodeBlock((unsigned char *)out, mac, (int)ml);
	if (ck)
		OPENSSL_cleanse(ck, strlen(ck));
	if (tk)
		OPENSSL_cleanse(tk, strlen(tk));
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(ck);
	free(tk);
	free(key);
	return rc;
}

int ade_oauth_header(const struct ade_token *t, const char *url, int64_t timestamp,
		     const char *nonce, char *out, size_t cap)
{
	size_t nl = strlen(nonce);
	if (nl == 0 || nl > ADE_NONCE_MAX || timestamp < 0 || !t->consumer_key[0] ||
	    !t->access_token[0])
		return AP_EINVAL;
	for (size_t i = 0; i < nl; i++)
		if (!unreserved((unsigned char)nonce[i]))
			return AP_EINVAL;
	char ts[24];
	snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
	const struct ade_param params[] = {
	    {"oauth_consumer_key", t->consumer_key},
	    {"oauth_token", t->access_token},
	    {"oauth_signature_method", "HMAC-SHA1"},
	    {"oauth_timestamp", ts},
	    {"oauth_nonce", nonce},
	    {"oauth_version", "1.0"},
	};
	char *base = NULL;
	int rc =
	    ade_oauth_base_string("GET", url, params, sizeof(params) / sizeof(params[0]), &base);
	if (rc < 0)
		return rc;
	char sig[64], esig[200], eck[3 * ADE_FIELD_MAX + 1], etok[3 * ADE_FIELD_MAX + 1];
	rc = ade_oauth_hmac_sha1(base, t->consumer_secret, t->access_secret, sig, sizeof(sig));
	free(base);
	if (rc < 0)
		return rc;
	if (ade_pct_encode(sig, esig, sizeof(esig)) < 0 ||
	    ade_pct_encode(t->consumer_key, eck, sizeof(eck)) < 0 ||
	    ade_pct_encode(t->access_token, etok, sizeof(etok)) < 0)
		return AP_ETOOBIG;
	int n = snprintf(out, cap,
			 "OAuth realm=\"ADM\", oauth_consumer_key=\"%s\", oauth_token=\"%s\", "
			 "oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\"%s\", "
			 "oauth_timestamp=\"%s\", oauth_nonce=\"%s\", oauth_version=\"1.0\"",
			 eck, etok, esig, ts, nonce);
	if (n < 0 || (size_t)n >= cap)
		return AP_ETOOBIG;
	return 0;
}

/* ---- the session ---------------------------------------------------------------------------- */

int ade_session_parse(const char *text, size_t len, char *out, size_t cap, char *err, size_t errcap)
{
	if (cap)
		out[0] = '\0';
	if (err && errcap)
		err[0] = '\0';
	if (len > ADE_SESSION_MAX_BYTES)
		return fail(err, errcap, AP_ETOOBIG, "session: answer larger than %u bytes",
			    ADE_SESSION_MAX_BYTES);
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, errcap, AP_EPARSE, "session: not JSON (line %d: %s)", je.line,
			    je.text);
	int rc = 0;
	json_t *v = json_is_object(root) ? json_object_get(root, "auth_session_token") : NULL;
	if (!json_is_object(root))
		rc = fail(err, errcap, AP_EPARSE, "session: not a JSON object");
	else if (!v)
		rc = fail(err, errcap, AP_EMISSING, "auth_session_token: missing");
	else if (!json_is_string(v))
		rc = fail(err, errcap, AP_ETYPE, "auth_session_token: not a string");
	else if (json_string_length(v) == 0)
		rc = fail(err, errcap, AP_EMISSING, "auth_session_token: empty");
	else if (json_string_length(v) > ADE_SESSION_MAX || json_string_length(v) >= cap)
		rc = fail(err, errcap, AP_ETOOBIG, "auth_session_token: too long");
	else {
		const char *s = json_string_value(v);
		for (size_t i = 0; s[i] && rc == 0; i++)
			if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
				rc = fail(err, errcap, AP_EPARSE,
					  "auth_session_token: a byte outside printable ASCII");
		if (rc == 0 && strlen(s) != json_string_length(v))
			rc = fail(err, errcap, AP_EPARSE, "auth_session_token: a NUL byte");
		if (rc == 0)
			memcpy(out, s, strlen(s) + 1);
	}
	json_decref(root);
	return rc;
}

/* ---- answers -------------------------------------------------------------------------------- */

static int has(const char *body, size_t len, const char *what)
{
	return body && len && memmem(body, len, what, strlen(what)) != NULL;
}

enum ade_verdict ade_classify(long status, const char *body, size_t len)
{
	if (status >= 200 && status < 300)
		return ADE_OK;
	if (status == 401)
		return ADE_REAUTH;
	if (status == 403) {
		if (has(body, len, "T_C_NOT_SIGNED"))
			return ADE_TERMS;
		if (has(body, len, "ACCESS_DENIED"))
			return ADE_DENIED;
		if (has(body, len, "FORBIDDEN"))
			return ADE_REAUTH;
		return ADE_DENIED;
	}
	if (status == 400) {
		if (has(body, len, "EXHAUSTED_CURSOR"))
			return ADE_CURSOR_EXHAUSTED;
		if (has(body, len, "EXPIRED_CURSOR") || has(body, len, "INVALID_CURSOR"))
			return ADE_CURSOR_RESET;
		return ADE_MALFORMED;
	}
	if (status == 429 || status == 503)
		return ADE_LATER;
	return ADE_FAILED;
}

const char *ade_verdict_name(enum ade_verdict v)
{
	static const char *const names[] = {
	    [ADE_OK] = "ok",
	    [ADE_REAUTH] = "reauth",
	    [ADE_DENIED] = "access_denied",
	    [ADE_TERMS] = "terms_not_signed",
	    [ADE_CURSOR_EXHAUSTED] = "cursor_exhausted",
	    [ADE_CURSOR_RESET] = "cursor_reset",
	    [ADE_MALFORMED] = "malformed_request",
	    [ADE_LATER] = "later",
	    [ADE_FAILED] = "failed",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

int64_t ade_retry_after(const char *value, int64_t now, int64_t cap_s)
{
	size_t d = strspn(value, "0123456789");
	if (d > 0 && value[d] == '\0') {
		if (d > 9)
			return cap_s;
		int64_t s = strtoll(value, NULL, 10);
		return s < cap_s ? s : cap_s;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	int64_t at = (int64_t)timegm(&tm);
	if (at <= now)
		return 0;
	return at - now < cap_s ? at - now : cap_s;
}
