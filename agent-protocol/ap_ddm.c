/*
 * ap_ddm.c - declarative device management documents: Endpoint, tokens,
 * answers, status reports.  JSON through jansson, SHA-256 through OpenSSL;
 * nothing else, no I/O.
 */
#include "ap_ddm.h"
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_text.h"

#include <jansson.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define DUMP	(JSON_COMPACT | JSON_SORT_KEYS)
#define DUMPANY (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

/* ---- names ---- */

static const char *const kind_names[AP_DDM_KIND__COUNT] = {
    [AP_DDM_ACTIVATION] = "activation",
    [AP_DDM_CONFIGURATION] = "configuration",
    [AP_DDM_ASSET] = "asset",
    [AP_DDM_MANAGEMENT] = "management",
};

/* The groups of a declaration-items answer, by kind. */
static const char *const group_names[AP_DDM_KIND__COUNT] = {
    [AP_DDM_ACTIVATION] = "Activations",
    [AP_DDM_CONFIGURATION] = "Configurations",
    [AP_DDM_ASSET] = "Assets",
    [AP_DDM_MANAGEMENT] = "Management",
};

const char *ap_ddm_kind_name(enum ap_ddm_kind k)
{
	return (unsigned)k < AP_DDM_KIND__COUNT ? kind_names[k] : NULL;
}

int ap_ddm_kind_from_name(const char *name, enum ap_ddm_kind *ret)
{
	for (size_t i = 0; name != NULL && i < AP_DDM_KIND__COUNT; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*ret = (enum ap_ddm_kind)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

int ap_ddm_kind_of_type(const char *type, enum ap_ddm_kind *ret)
{
	static const char prefix[] = "com.apple.";

	if (type == NULL || strncmp(type, prefix, sizeof(prefix) - 1) != 0)
		return AP_EINVAL;
	const char *k = type + sizeof(prefix) - 1;
	for (size_t i = 0; i < AP_DDM_KIND__COUNT; i++) {
		size_t n = strlen(kind_names[i]);
		if (strncmp(k, kind_names[i], n) == 0 && k[n] == '.' && k[n + 1] != '\0') {
			*ret = (enum ap_ddm_kind)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

/* 1..max octets of UTF-8 text without control characters. */
static int text_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && ap_text_ok(s, max, 0);
}

int ap_ddm_identifier_ok(const char *s)
{
	return text_ok(s, AP_DDM_ID_MAX) && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

static int check_type(const char *type, char *detail, size_t cap)
{
	enum ap_ddm_kind k;

	if (!text_ok(type, AP_DDM_TYPE_MAX) || ap_ddm_kind_of_type(type, &k) < 0)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "declaration Type \"%.60s\": com.apple.<activation|"
				     "configuration|asset|management>.<name> expected, at most %d "
				     "octets",
				     type ? type : "(null)", AP_DDM_TYPE_MAX);
	return 0;
}

static int check_identifier(const char *id, char *detail, size_t cap)
{
	if (!ap_ddm_identifier_ok(id))
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "declaration Identifier \"%.60s\": 1 to %d octets of text, "
				     "no '/', not . or ..",
				     id ? id : "(null)", AP_DDM_ID_MAX);
	return 0;
}

static int check_server_token(const char *t, char *detail, size_t cap)
{
	if (!text_ok(t, AP_DDM_ID_MAX))
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "ServerToken \"%.60s\": 1 to %d octets of text expected",
				     t ? t : "(null)", AP_DDM_ID_MAX);
	return 0;
}

static int check_dtoken(const char *t, char *detail, size_t cap)
{
	if (!text_ok(t, AP_DDM_DTOKEN_MAX))
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "DeclarationsToken: 1 to %d octets of text expected",
				     AP_DDM_DTOKEN_MAX);
	return 0;
}

/* ---- JSON in ---- */

/* Depth of nested objects and arrays, found before jansson builds a tree:
 * 1 when it stays within max, 0 otherwise.  Brackets inside strings do not
 * count; the JSON itself is checked by jansson afterwards. */
static int depth_ok(const char *s, size_t len, int max)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return 0;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

/* Parses untrusted JSON text named `what` in messages; max 0 =
 * AP_DDM_MAX_BYTES.  *ret is a new reference. */
static int load(const void *json, size_t len, size_t max, const char *what, json_t **ret,
		char *detail, size_t cap)
{
	json_error_t e;

	if (max == 0)
		max = AP_DDM_MAX_BYTES;
	if (json == NULL && len > 0)
		return ap_detail_set(detail, cap, AP_EINVAL, "%s: no data", what);
	if (len > max)
		return ap_detail_set(detail, cap, AP_ETOOBIG, "%s: %zu bytes, more than %zu", what,
				     len, max);
	if (len == 0)
		return ap_detail_set(detail, cap, AP_EPARSE, "%s: empty", what);
	if (!depth_ok(json, len, AP_DDM_MAX_DEPTH))
		return ap_detail_set(detail, cap, AP_ETOODEEP,
				     "%s: objects and arrays nested more than %d deep", what,
				     AP_DDM_MAX_DEPTH);
	json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (v == NULL)
		return ap_detail_set(detail, cap, AP_EPARSE,
				     "%s: invalid JSON at line %d column %d: %s", what, e.line,
				     e.column, e.text);
	*ret = v;
	return 0;
}

static int load_object(const void *json, size_t len, const char *what, json_t **ret, char *detail,
		       size_t cap)
{
	json_t *v = NULL;
	int rc = load(json, len, 0, what, &v, detail, cap);

	if (rc == 0 && !json_is_object(v)) {
		json_decref(v);
		return ap_detail_set(detail, cap, AP_EINVAL, "%s must be a JSON object", what);
	}
	if (rc == 0)
		*ret = v;
	return rc;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* ---- JSON out ---- */

/* Serialises v (a reference the caller keeps) into *ret_json and *ret_len. */
static int dump(json_t *v, size_t flags, char **ret_json, size_t *ret_len)
{
	char *s = v ? json_dumps(v, flags) : NULL;

	if (s == NULL)
		return AP_ENOMEM;
	*ret_json = s;
	if (ret_len)
		*ret_len = strlen(s);
	return 0;
}

/* ---- the check-in Endpoint ---- */

#define EP_MAX (AP_DDM_ID_MAX + 32)

static int declaration_endpoint(char *rest, struct ap_ddm_endpoint *ep, char *detail, size_t cap)
{
	char *slash = strchr(rest, '/');

	if (slash == NULL)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "Endpoint \"declaration/%.40s\": declaration/<kind>/"
				     "<identifier> expected",
				     rest);
	*slash = '\0';
	if (ap_ddm_kind_from_name(rest, &ep->kind) < 0)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "Endpoint: unknown declaration kind \"%.40s\" (activation, "
				     "configuration, asset or management)",
				     rest);
	const char *id = slash + 1;
	if (id[0] == '\0')
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "Endpoint: declaration/%s/ without an identifier", rest);
	if (strlen(id) > AP_DDM_ID_MAX)
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "Endpoint: identifier of %zu octets, more than %d", strlen(id),
				     AP_DDM_ID_MAX);
	if (!ap_ddm_identifier_ok(id))
		return ap_detail_set(detail, cap, AP_EINVAL,
				     "Endpoint: identifier \"%.40s\" refused (a '/', . or ..)", id);
	memcpy(ep->identifier, id, strlen(id) + 1);
	ep->type = AP_DDM_EP_DECLARATION;
	return 0;
}

int ap_ddm_endpoint_parse(const char *s, size_t len, struct ap_ddm_endpoint *ret, char *detail,
			  size_t detail_cap)
{
	static const char decl[] = "declaration/";
	struct ap_ddm_endpoint ep = {0};
	char buf[EP_MAX + 1];
	int rc = 0;

	ap_detail_clear(detail, detail_cap);
	if (s == NULL || ret == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "Endpoint: missing");
	if (len > EP_MAX)
		return ap_detail_set(detail, detail_cap, AP_EINVAL,
				     "Endpoint: %zu octets, more than %d", len, EP_MAX);
	if (memchr(s, '\0', len) != NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "Endpoint: holds a NUL byte");
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!ap_text_ok(buf, EP_MAX, 0))
		return ap_detail_set(detail, detail_cap, AP_EINVAL,
				     "Endpoint: not UTF-8 text without control characters");
	if (strcmp(buf, "tokens") == 0)
		ep.type = AP_DDM_EP_TOKENS;
	else if (strcmp(buf, "declaration-items") == 0)
		ep.type = AP_DDM_EP_DECLARATION_ITEMS;
	else if (strcmp(buf, "status") == 0)
		ep.type = AP_DDM_EP_STATUS;
	else if (strncmp(buf, decl, sizeof(decl) - 1) == 0)
		rc = declaration_endpoint(buf + sizeof(decl) - 1, &ep, detail, detail_cap);
	else
		rc = ap_detail_set(detail, detail_cap, AP_EINVAL,
				   "unknown Endpoint \"%.40s\" (tokens, declaration-items, "
				   "declaration/<kind>/<identifier> or status)",
				   buf);
	if (rc == 0)
		*ret = ep;
	return rc;
}

/* ---- tokens ---- */

/* Lowercase hex of the first AP_DDM_TOKEN_LEN / 2 bytes of md. */
static void hex32(const unsigned char *md, char out[AP_DDM_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < AP_DDM_TOKEN_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[AP_DDM_TOKEN_LEN] = '\0';
}

/* The declaration {Type, Identifier, Payload[, ServerToken]} with payload
 * parsed from text; checks type and identifier. */
static int declaration_object(const char *type, const char *identifier, const char *server_token,
			      const char *payload_json, size_t payload_len, json_t **ret,
			      char *detail, size_t cap)
{
	json_t *payload = NULL, *o = NULL;
	int rc = check_type(type, detail, cap);

	if (rc == 0)
		rc = check_identifier(identifier, detail, cap);
	if (rc == 0 && server_token)
		rc = check_server_token(server_token, detail, cap);
	if (rc == 0)
		rc = load_object(payload_json, payload_len, "Payload", &payload, detail, cap);
	if (rc < 0)
		return rc;
	o = json_pack("{s:s,s:s,s:o}", "Type", type, "Identifier", identifier, "Payload", payload);
	if (o != NULL && server_token &&
	    json_object_set_new(o, "ServerToken", json_string(server_token)) < 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		return AP_ENOMEM;
	*ret = o;
	return 0;
}

int ap_ddm_server_token(const char *type, const char *identifier, const char *payload_json,
			size_t payload_len, char ret[AP_DDM_TOKEN_LEN + 1], char *detail,
			size_t detail_cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	json_t *o = NULL;
	char *text = NULL;
	size_t len = 0;

	ap_detail_clear(detail, detail_cap);
	if (ret == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result buffer");
	int rc = declaration_object(type, identifier, NULL, payload_json, payload_len, &o, detail,
				    detail_cap);
	if (rc == 0)
		rc = dump(o, DUMP, &text, &len);
	if (rc == 0 && EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		rc = AP_ECRYPTO;
	if (rc == 0)
		hex32(md, ret);
	free(text);
	json_decref(o);
	return rc;
}

static int by_identifier(const void *a, const void *b)
{
	const struct ap_ddm_item *x = *(const struct ap_ddm_item *const *)a;
	const struct ap_ddm_item *y = *(const struct ap_ddm_item *const *)b;
	return strcmp(x->identifier, y->identifier);
}

static int by_kind_identifier(const void *a, const void *b)
{
	const struct ap_ddm_item *x = *(const struct ap_ddm_item *const *)a;
	const struct ap_ddm_item *y = *(const struct ap_ddm_item *const *)b;
	int c = strcmp(kind_names[x->kind], kind_names[y->kind]);
	return c ? c : strcmp(x->identifier, y->identifier);
}

/* Checks a set of declarations and returns pointers to its items sorted by
 * (kind name, identifier) in *ret (malloc'd; NULL when n is 0). */
static int sorted_set(const struct ap_ddm_item *items, size_t n, const struct ap_ddm_item ***ret,
		      char *detail, size_t cap)
{
	const struct ap_ddm_item **v = NULL;
	int rc = 0;

	*ret = NULL;
	if (n == 0)
		return 0;
	if (items == NULL || n > SIZE_MAX / sizeof(*v))
		return ap_detail_set(detail, cap, AP_EINVAL, "no declarations");
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		v[i] = &items[i];
		if ((unsigned)items[i].kind >= AP_DDM_KIND__COUNT)
			rc = ap_detail_set(detail, cap, AP_EINVAL, "declaration %zu: bad kind %d",
					   i, (int)items[i].kind);
		if (rc == 0)
			rc = check_identifier(items[i].identifier, detail, cap);
		if (rc == 0)
			rc = check_server_token(items[i].server_token, detail, cap);
	}
	if (rc == 0) {
		qsort(v, n, sizeof(*v), by_identifier);
		for (size_t i = 1; i < n && rc == 0; i++)
			if (strcmp(v[i - 1]->identifier, v[i]->identifier) == 0)
				rc = ap_detail_set(detail, cap, AP_EINVAL,
						   "declaration Identifier \"%.60s\" given twice",
						   v[i]->identifier);
	}
	if (rc < 0) {
		free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), by_kind_identifier);
	*ret = v;
	return 0;
}

int ap_ddm_declarations_token(const struct ap_ddm_item *items, size_t n,
			      char ret[AP_DDM_TOKEN_LEN + 1], char *detail, size_t detail_cap)
{
	const struct ap_ddm_item **v = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = NULL;

	ap_detail_clear(detail, detail_cap);
	if (ret == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result buffer");
	int rc = sorted_set(items, n, &v, detail, detail_cap);
	if (rc < 0)
		return rc;
	rc = AP_ECRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *k = kind_names[v[i]->kind];
		if (EVP_DigestUpdate(ctx, k, strlen(k) + 1) != 1 ||
		    EVP_DigestUpdate(ctx, v[i]->identifier, strlen(v[i]->identifier) + 1) != 1 ||
		    EVP_DigestUpdate(ctx, v[i]->server_token, strlen(v[i]->server_token) + 1) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	hex32(md, ret);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(v);
	return rc;
}

/* ---- answers ---- */

#define MAX_TIME ((time_t)253402300799) /* 9999-12-31T23:59:59Z */

int ap_ddm_tokens_build(const char *declarations_token, time_t now, char **ret_json,
			size_t *ret_len, char *detail, size_t detail_cap)
{
	char ts[32];
	struct tm tm;

	ap_detail_clear(detail, detail_cap);
	if (ret_json == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	int rc = check_dtoken(declarations_token, detail, detail_cap);
	if (rc < 0)
		return rc;
	if (now < 0 || now > MAX_TIME || gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		return ap_detail_set(detail, detail_cap, AP_EINVAL,
				     "Timestamp: time %lld out of range", (long long)now);
	json_t *o = json_pack("{s:{s:s,s:s}}", "SyncTokens", "DeclarationsToken",
			      declarations_token, "Timestamp", ts);
	rc = dump(o, DUMP, ret_json, ret_len);
	json_decref(o);
	return rc;
}

int ap_ddm_tokens_parse(const void *json, size_t len, char ret_token[AP_DDM_DTOKEN_MAX + 1],
			char *detail, size_t detail_cap)
{
	json_t *o = NULL;

	ap_detail_clear(detail, detail_cap);
	if (ret_token == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result buffer");
	int rc = load_object(json, len, "tokens", &o, detail, detail_cap);
	if (rc < 0)
		return rc;
	json_t *st = json_object_get(o, "SyncTokens");
	json_t *tok = json_object_get(st, "DeclarationsToken");
	json_t *ts = json_object_get(st, "Timestamp");
	if (st == NULL)
		rc = ap_detail_set(detail, detail_cap, AP_EMISSING, "tokens: SyncTokens missing");
	else if (!json_is_object(st))
		rc = ap_detail_set(detail, detail_cap, AP_ETYPE,
				   "tokens: SyncTokens must be an object, not %s",
				   json_type_name(st));
	else if (tok == NULL || ts == NULL)
		rc = ap_detail_set(detail, detail_cap, AP_EMISSING, "tokens: SyncTokens.%s missing",
				   tok == NULL ? "DeclarationsToken" : "Timestamp");
	else if (!json_is_string(tok) || !json_is_string(ts))
		rc = ap_detail_set(detail, detail_cap, AP_ETYPE,
				   "tokens: SyncTokens.%s must be a string",
				   json_is_string(tok) ? "Timestamp" : "DeclarationsToken");
	else
		rc = check_dtoken(json_string_value(tok), detail, detail_cap);
	if (rc == 0)
		memcpy(ret_token, json_string_value(tok), strlen(json_string_value(tok)) + 1);
	json_decref(o);
	return rc;
}

/* {"Identifier", "ServerToken"} appended to a. */
static int append_item(json_t *a, const struct ap_ddm_item *it)
{
	json_t *o =
	    json_pack("{s:s,s:s}", "Identifier", it->identifier, "ServerToken", it->server_token);
	return o != NULL && json_array_append_new(a, o) == 0 ? 0 : AP_ENOMEM;
}

static json_t *items_object(const struct ap_ddm_item **v, size_t n, const char *token)
{
	json_t *groups[AP_DDM_KIND__COUNT] = {NULL};
	json_t *decls = json_object(), *o = NULL;
	int ok = decls != NULL;

	for (size_t k = 0; ok && k < AP_DDM_KIND__COUNT; k++)
		ok = (groups[k] = json_array()) != NULL &&
		     json_object_set_new(decls, group_names[k], groups[k]) == 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = append_item(groups[v[i]->kind], v[i]) == 0;
	if (ok)
		o = json_pack("{s:O,s:s}", "Declarations", decls, "DeclarationsToken", token);
	json_decref(decls);
	return o;
}

int ap_ddm_items_build(const struct ap_ddm_item *items, size_t n, const char *declarations_token,
		       char **ret_json, size_t *ret_len, char *detail, size_t detail_cap)
{
	const struct ap_ddm_item **v = NULL;

	ap_detail_clear(detail, detail_cap);
	if (ret_json == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	int rc = check_dtoken(declarations_token, detail, detail_cap);
	if (rc == 0)
		rc = sorted_set(items, n, &v, detail, detail_cap);
	if (rc < 0)
		return rc;
	/* sorted by kind name: within one kind, by identifier */
	json_t *o = items_object(v, n, declarations_token);
	rc = dump(o, DUMP, ret_json, ret_len);
	json_decref(o);
	free(v);
	return rc;
}

int ap_ddm_declaration_build(const char *type, const char *identifier, const char *server_token,
			     const char *payload_json, size_t payload_len, char **ret_json,
			     size_t *ret_len, char *detail, size_t detail_cap)
{
	json_t *o = NULL;

	ap_detail_clear(detail, detail_cap);
	if (ret_json == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	if (server_token == NULL)
		return check_server_token(NULL, detail, detail_cap);
	int rc = declaration_object(type, identifier, server_token, payload_json, payload_len, &o,
				    detail, detail_cap);
	if (rc == 0)
		rc = dump(o, DUMP, ret_json, ret_len);
	json_decref(o);
	return rc;
}

/* ---- status reports ---- */

enum jt { J_STRING, J_BOOL, J_INT, J_REAL, J_OBJECT, J_ARRAY };

static const char *const jt_names[] = {
    [J_STRING] = "a string", [J_BOOL] = "a boolean",   [J_INT] = "an integer",
    [J_REAL] = "a number",   [J_OBJECT] = "an object", [J_ARRAY] = "an array",
};

/* Apple's status items and the JSON type of their values, written from
 * the `statusitemtype` and the top `payloadkeys` type of each file of
 * apple/device-management declarative/status/<name>.yaml (the copy in
 * ../shared/spec/apple-device-management).  The walk of StatusItems stops
 * at these names; keep the table sorted. */
static const struct known {
	const char *name;
	enum jt type;
} known_items[] = {
    {"account.list.caldav", J_ARRAY},
    {"account.list.carddav", J_ARRAY},
    {"account.list.exchange", J_ARRAY},
    {"account.list.google", J_ARRAY},
    {"account.list.ldap", J_ARRAY},
    {"account.list.mail.incoming", J_ARRAY},
    {"account.list.mail.outgoing", J_ARRAY},
    {"account.list.subscribed-calendar", J_ARRAY},
    {"app.managed.list", J_ARRAY},
    {"device.identifier.serial-number", J_STRING},
    {"device.identifier.udid", J_STRING},
    {"device.model.family", J_STRING},
    {"device.model.identifier", J_STRING},
    {"device.model.marketing-name", J_STRING},
    {"device.model.number", J_STRING},
    {"device.operating-system.build-version", J_STRING},
    {"device.operating-system.family", J_STRING},
    {"device.operating-system.marketing-name", J_STRING},
    {"device.operating-system.supplemental.build-version", J_STRING},
    {"device.operating-system.supplemental.extra-version", J_STRING},
    {"device.operating-system.version", J_STRING},
    {"device.power.battery-health", J_STRING},
    {"diskmanagement.filevault.enabled", J_BOOL},
    {"management.client-capabilities", J_OBJECT},
    {"management.declarations", J_OBJECT},
    {"mdm.app", J_ARRAY},
    {"passcode.is-compliant", J_BOOL},
    {"passcode.is-present", J_BOOL},
    {"screensharing.connection.group.unresolved-connection", J_ARRAY},
    {"security.certificate.list", J_ARRAY},
    {"services.background-task", J_ARRAY},
    {"softwareupdate.beta-enrollment", J_STRING},
    {"softwareupdate.device-id", J_STRING},
    {"softwareupdate.failure-reason", J_OBJECT},
    {"softwareupdate.install-reason", J_OBJECT},
    {"softwareupdate.install-state", J_STRING},
    {"softwareupdate.pending-version", J_OBJECT},
    {"test.array-value", J_ARRAY},
    {"test.boolean-value", J_BOOL},
    {"test.dictionary-value", J_OBJECT},
    {"test.error-value", J_STRING},
    {"test.integer-value", J_INT},
    {"test.real-value", J_REAL},
    {"test.string-value", J_STRING},
};

static const struct known *known_item(const char *name)
{
	for (size_t i = 0; i < N(known_items); i++)
		if (strcmp(known_items[i].name, name) == 0)
			return &known_items[i];
	return NULL;
}

/* 1 when some known item is named "<name>.<more>". */
static int known_prefix(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < N(known_items); i++)
		if (strncmp(known_items[i].name, name, n) == 0 && known_items[i].name[n] == '.')
			return 1;
	return 0;
}

static int type_ok(enum jt t, const json_t *v)
{
	switch (t) {
	case J_STRING:
		return json_is_string(v);
	case J_BOOL:
		return json_is_boolean(v);
	case J_INT:
		return json_is_integer(v);
	case J_REAL:
		return json_is_number(v);
	case J_OBJECT:
		return json_is_object(v);
	case J_ARRAY:
		return json_is_array(v);
	}
	return 0;
}

struct walk {
	struct ap_ddm_status *st;
	char *detail;
	size_t cap;
};

static int emit(struct walk *w, const char *name, json_t *v)
{
	struct ap_ddm_status *st = w->st;

	if (st->n_items == AP_DDM_MAX_ITEMS)
		return ap_detail_set(w->detail, w->cap, AP_ELIMIT,
				     "status report: more than %d status items (at \"%.60s\")",
				     AP_DDM_MAX_ITEMS, name);
	struct ap_ddm_status_item *it = &st->items[st->n_items];
	it->name = strdup(name);
	it->value = json_dumps(v, DUMPANY);
	st->n_items++; /* freed with the report, even half made */
	return it->name && it->value ? 0 : AP_ENOMEM;
}

/* name = prefix.key (or key) into buf[AP_DDM_NAME_MAX + 1], checked. */
static int item_name(struct walk *w, const char *prefix, const char *key, char *buf)
{
	int n = prefix ? snprintf(buf, AP_DDM_NAME_MAX + 1, "%s.%s", prefix, key)
		       : snprintf(buf, AP_DDM_NAME_MAX + 1, "%s", key);

	if (key[0] == '\0')
		return ap_detail_set(w->detail, w->cap, AP_EINVAL,
				     "status report: empty key in StatusItems%s%s",
				     prefix ? " under " : "", prefix ? prefix : "");
	if (n < 0 || n > AP_DDM_NAME_MAX)
		return ap_detail_set(w->detail, w->cap, AP_EINVAL,
				     "status report: status item name \"%.40s...\" longer than %d "
				     "octets",
				     buf, AP_DDM_NAME_MAX);
	if (!ap_text_ok(buf, AP_DDM_NAME_MAX, 0))
		return ap_detail_set(w->detail, w->cap, AP_EINVAL,
				     "status report: status item name \"%.40s\" holds control "
				     "characters",
				     buf);
	return 0;
}

/* Walks the object under StatusItems (prefix NULL) or under a known
 * prefix; recursion is bounded by the depth checked at load time. */
static int walk(struct walk *w, json_t *obj, const char *prefix)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		char name[AP_DDM_NAME_MAX + 1];
		int rc = item_name(w, prefix, key, name);
		if (rc < 0)
			return rc;
		const struct known *k = known_item(name);
		if (k != NULL && !type_ok(k->type, v))
			return ap_detail_set(w->detail, w->cap, AP_ETYPE,
					     "status report: %s must be %s, not %s", name,
					     jt_names[k->type], json_type_name(v));
		if (k == NULL && known_prefix(name)) {
			if (!json_is_object(v))
				return ap_detail_set(w->detail, w->cap, AP_ETYPE,
						     "status report: StatusItems.%s must be an "
						     "object (the items under %s), not %s",
						     name, name, json_type_name(v));
			rc = walk(w, v, name);
		} else {
			rc = emit(w, name, v); /* known, or an unknown subtree kept whole */
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ap_ddm_status_item *)a)->name,
		      ((const struct ap_ddm_status_item *)b)->name);
}

static int status_items(struct walk *w, json_t *root)
{
	struct ap_ddm_status *st = w->st;
	json_t *items = json_object_get(root, "StatusItems");

	if (items == NULL)
		return ap_detail_set(w->detail, w->cap, AP_EMISSING,
				     "status report: StatusItems missing");
	if (!json_is_object(items))
		return ap_detail_set(w->detail, w->cap, AP_ETYPE,
				     "status report: StatusItems must be an object, not %s",
				     json_type_name(items));
	if ((st->items = calloc(AP_DDM_MAX_ITEMS, sizeof(*st->items))) == NULL)
		return AP_ENOMEM;
	int rc = walk(w, items, NULL);
	if (rc < 0)
		return rc;
	qsort(st->items, st->n_items, sizeof(*st->items), by_name);
	for (size_t i = 1; i < st->n_items; i++)
		if (strcmp(st->items[i - 1].name, st->items[i].name) == 0)
			return ap_detail_set(w->detail, w->cap, AP_EINVAL,
					     "status report: status item %s given twice",
					     st->items[i].name);
	return 0;
}

/* A string member of o that is 1..AP_DDM_NAME_MAX octets of text. */
static int name_member(struct walk *w, json_t *o, const char *key, const char *where, size_t i,
		       char **ret)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return ap_detail_set(w->detail, w->cap, AP_EMISSING,
				     "status report: %s[%zu].%s missing", where, i, key);
	if (!json_is_string(v))
		return ap_detail_set(w->detail, w->cap, AP_ETYPE,
				     "status report: %s[%zu].%s must be a string, not %s", where, i,
				     key, json_type_name(v));
	if (!text_ok(json_string_value(v), AP_DDM_NAME_MAX))
		return ap_detail_set(w->detail, w->cap, AP_EINVAL,
				     "status report: %s[%zu].%s: 1 to %d octets of text expected",
				     where, i, key, AP_DDM_NAME_MAX);
	return (*ret = strdup(json_string_value(v))) ? 0 : AP_ENOMEM;
}

static int error_reasons(struct walk *w, json_t *e, size_t i, struct ap_ddm_status_error *out)
{
	json_t *rs = json_object_get(e, "Reasons");

	if (rs == NULL)
		return 0;
	if (!json_is_array(rs))
		return ap_detail_set(w->detail, w->cap, AP_ETYPE,
				     "status report: Errors[%zu].Reasons must be an array, not %s",
				     i, json_type_name(rs));
	size_t n = json_array_size(rs);
	if (n > AP_DDM_MAX_REASONS)
		return ap_detail_set(w->detail, w->cap, AP_ELIMIT,
				     "status report: Errors[%zu] has %zu Reasons, more than %d", i,
				     n, AP_DDM_MAX_REASONS);
	if (n > 0 && (out->reasons = calloc(n, sizeof(char *))) == NULL)
		return AP_ENOMEM;
	for (size_t j = 0; j < n; j++) {
		json_t *r = json_array_get(rs, j);
		if (!json_is_object(r))
			return ap_detail_set(w->detail, w->cap, AP_ETYPE,
					     "status report: Errors[%zu].Reasons[%zu] must be an "
					     "object, not %s",
					     i, j, json_type_name(r));
		int rc = name_member(w, r, "Code", "Errors.Reasons", j, &out->reasons[j]);
		if (rc < 0)
			return rc;
		out->n_reasons++;
	}
	return 0;
}

static int status_errors(struct walk *w, json_t *root)
{
	struct ap_ddm_status *st = w->st;
	json_t *errs = json_object_get(root, "Errors");

	if (errs == NULL)
		return 0;
	if (!json_is_array(errs))
		return ap_detail_set(w->detail, w->cap, AP_ETYPE,
				     "status report: Errors must be an array, not %s",
				     json_type_name(errs));
	size_t n = json_array_size(errs);
	if (n > AP_DDM_MAX_ERRORS)
		return ap_detail_set(w->detail, w->cap, AP_ELIMIT,
				     "status report: %zu Errors, more than %d", n,
				     AP_DDM_MAX_ERRORS);
	if (n > 0 && (st->errors = calloc(n, sizeof(*st->errors))) == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(errs, i);
		struct ap_ddm_status_error *out = &st->errors[i];
		if (!json_is_object(e))
			return ap_detail_set(w->detail, w->cap, AP_ETYPE,
					     "status report: Errors[%zu] must be an object, not %s",
					     i, json_type_name(e));
		st->n_errors++; /* freed with the report, even half made */
		int rc = name_member(w, e, "StatusItem", "Errors", i, &out->item);
		if (rc == 0)
			rc = error_reasons(w, e, i, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ap_ddm_status_parse(const void *json, size_t len, size_t max_bytes, struct ap_ddm_status **ret,
			char *detail, size_t detail_cap)
{
	json_t *root = NULL;
	struct ap_ddm_status *st = NULL;

	ap_detail_clear(detail, detail_cap);
	if (ret == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	int rc = load(json, len, max_bytes, "status report", &root, detail, detail_cap);
	if (rc < 0)
		return rc;
	if (!json_is_object(root)) {
		rc = ap_detail_set(detail, detail_cap, AP_ETYPE,
				   "status report must be a JSON object, not %s",
				   json_type_name(root));
		goto out;
	}
	json_t *full = json_object_get(root, "FullReport");
	if (full != NULL && !json_is_boolean(full)) {
		rc = ap_detail_set(detail, detail_cap, AP_ETYPE,
				   "status report: FullReport must be a boolean, not %s",
				   json_type_name(full));
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	st->full_report = json_is_true(full);
	struct walk w = {st, detail, detail_cap};
	if ((rc = status_items(&w, root)) < 0 || (rc = status_errors(&w, root)) < 0)
		goto out;
	*ret = st;
	st = NULL;
out:
	ap_ddm_status_free(st);
	json_decref(root);
	return rc;
}

void ap_ddm_status_free(struct ap_ddm_status *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_items; i++) {
		free(s->items[i].name);
		free(s->items[i].value);
	}
	for (size_t i = 0; i < s->n_errors; i++) {
		free(s->errors[i].item);
		for (size_t j = 0; j < s->errors[i].n_reasons; j++)
			free(s->errors[i].reasons[j]);
		free(s->errors[i].reasons);
	}
	free(s->items);
	free(s->errors);
	free(s);
}

const struct ap_ddm_status_item *ap_ddm_status_find(const struct ap_ddm_status *s, const char *name)
{
	if (s == NULL || name == NULL || s->n_items == 0)
		return NULL;
	struct ap_ddm_status_item key = {(char *)name, NULL};
	return bsearch(&key, s->items, s->n_items, sizeof(key), by_name);
}

/* ---- incremental arrays ---- */

/* An array of at most AP_DDM_ARRAY_MAX objects, each with a string
 * "identifier" and, if any, a boolean "_removed". */
static int check_entries(json_t *a, const char *what, char *detail, size_t cap)
{
	if (!json_is_array(a))
		return ap_detail_set(detail, cap, AP_ETYPE, "%s must be an array, not %s", what,
				     json_type_name(a));
	if (json_array_size(a) > AP_DDM_ARRAY_MAX)
		return ap_detail_set(detail, cap, AP_ELIMIT, "%s: %zu entries, more than %d", what,
				     json_array_size(a), AP_DDM_ARRAY_MAX);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		if (!json_is_object(e))
			return ap_detail_set(detail, cap, AP_ETYPE,
					     "%s[%zu] must be an object, not %s", what, i,
					     json_type_name(e));
		if (!json_is_string(json_object_get(e, "identifier")))
			return ap_detail_set(detail, cap, AP_ETYPE,
					     "%s[%zu] has no string \"identifier\"", what, i);
		json_t *rm = json_object_get(e, "_removed");
		if (rm != NULL && !json_is_boolean(rm))
			return ap_detail_set(detail, cap, AP_ETYPE,
					     "%s[%zu]: _removed must be a boolean, not %s", what, i,
					     json_type_name(rm));
	}
	return 0;
}

/* Index of the entry of a whose identifier is id, or -1. */
static long find_entry(json_t *a, const char *id)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "identifier")), id) == 0)
			return (long)i;
	}
	return -1;
}

static int apply_entry(json_t *cur, json_t *e, char *detail, size_t cap)
{
	long at = find_entry(cur, json_string_value(json_object_get(e, "identifier")));

	if (json_is_true(json_object_get(e, "_removed")))
		return at < 0 || json_array_remove(cur, (size_t)at) == 0 ? 0 : AP_ENOMEM;
	json_t *copy = json_deep_copy(e);
	if (copy == NULL)
		return AP_ENOMEM;
	json_object_del(copy, "_removed");
	if (at >= 0)
		return json_array_set_new(cur, (size_t)at, copy) == 0 ? 0 : AP_ENOMEM;
	if (json_array_size(cur) >= AP_DDM_ARRAY_MAX) {
		json_decref(copy);
		return ap_detail_set(detail, cap, AP_ELIMIT, "array: more than %d entries",
				     AP_DDM_ARRAY_MAX);
	}
	return json_array_append_new(cur, copy) == 0 ? 0 : AP_ENOMEM;
}

int ap_ddm_status_array_apply(const char *stored, size_t stored_len, const char *report,
			      size_t report_len, char **ret_json, size_t *ret_len, char *detail,
			      size_t detail_cap)
{
	json_t *cur = NULL, *inc = NULL;
	int rc = 0;

	ap_detail_clear(detail, detail_cap);
	if (ret_json == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	if (stored == NULL || stored_len == 0)
		rc = (cur = json_array()) ? 0 : AP_ENOMEM;
	else if ((rc = load(stored, stored_len, 0, "stored array", &cur, detail, detail_cap)) == 0)
		rc = check_entries(cur, "stored array", detail, detail_cap);
	if (rc == 0 &&
	    (rc = load(report, report_len, 0, "reported array", &inc, detail, detail_cap)) == 0)
		rc = check_entries(inc, "reported array", detail, detail_cap);
	size_t i;
	json_t *e;
	json_array_foreach(inc, i, e)
	{
		if (rc < 0)
			break;
		rc = apply_entry(cur, e, detail, detail_cap);
	}
	if (rc == 0)
		rc = dump(cur, DUMP, ret_json, ret_len);
	json_decref(cur);
	json_decref(inc);
	return rc;
}
