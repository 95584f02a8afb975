/* ctl_http.c - ardoisectl's libcurl client and output helpers. */
#include "ctl.h"
#include "ap_buf.h"
#include "ap_text.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>

#define CTL_MAX_ANSWER (256u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct ap_buf *b = user;
	return ap_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

int ctl_err(const char *fmt, ...)
{
	va_list ap;
	fputs("ardoisectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, _(fmt), ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EFAIL;
}

void ctl_path(char *out, size_t cap, const char *prefix, const char *arg, const char *suffix)
{
	char enc[1024];
	ctl_urlenc(arg, enc, sizeof(enc));
	snprintf(out, cap, "%s%s%s", prefix, enc, suffix);
}

/* The offset from UTC (seconds) that ends an API time at p: an optional
 * fraction of a second, then "Z" or "+HH:MM" / "-HHMM". */
static int when_offset(const char *p, long *ret)
{
	int h, m;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if (p[0] == 'Z' && p[1] == '\0') {
		*ret = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') ||
	    (sscanf(p + 1, "%2d:%2d", &h, &m) != 2 && sscanf(p + 1, "%2d%2d", &h, &m) != 2) ||
	    strlen(p) != (p[3] == ':' ? 6u : 5u) || h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*ret = (*p == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
	return 0;
}

/* Whether times are written the French way: LC_ALL, else LC_TIME, else
 * LANG names a French locale (fr, fr_FR.UTF-8, fr_BE...). */
static int when_french(void)
{
	static const char *const vars[] = {"LC_ALL", "LC_TIME", "LANG"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && v[0])
			return strncmp(v, "fr", 2) == 0;
	}
	return 0;
}

const char *ctl_when(const char *iso, char *buf, size_t cap)
{
	struct tm tm;
	long off;
	if (iso == NULL || iso[0] == '\0')
		return "-";
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(iso, "%Y-%m-%d", &tm);
	if (end && *end == '\0') /* a day: no zone, shown as people write it */
		return when_french() && strftime(buf, cap, "%d/%m/%Y", &tm) ? buf : iso;
	memset(&tm, 0, sizeof(tm));
	end = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || when_offset(end, &off) < 0)
		return iso;
	time_t t = timegm(&tm) - off;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, when_french() ? "%d/%m/%Y %H:%M" : "%Y-%m-%d %H:%M", &tm) == 0)
		return iso;
	return buf;
}

const char *ctl_when_of(json_t *o, const char *key, char *buf, size_t cap)
{
	return ctl_when(json_string_value(json_object_get(o, key)), buf, cap);
}

const char *ctl_safe(const char *s, int lines, char *out, size_t cap)
{
	size_t o = 0, k;
	unsigned cp;
	for (; *s && o + 7 < cap; s += k ? k : 1) {
		k = ap_utf8_char(s, &cp);
		if (k && (!ap_text_control(cp) || (lines && (cp == '\n' || cp == '\t')))) {
			memcpy(out + o, s, k);
			o += k;
		} else if (k) {
			o += (size_t)snprintf(out + o, cap - o, cp < 0x80 ? "\\x%02x" : "\\u%04x",
					      cp);
		} else {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", (unsigned char)*s);
		}
	}
	if (cap)
		out[o] = '\0';
	return out;
}

void ctl_safe_json(json_t *v)
{
	const char *key;
	json_t *e;
	size_t i;
	if (json_is_string(v) && !ap_text_ok(json_string_value(v), json_string_length(v), 0)) {
		size_t cap = json_string_length(v) * 6 + 1;
		char *shown = malloc(cap);
		if (shown)
			json_string_set(v, ctl_safe(json_string_value(v), 0, shown, cap));
		free(shown);
	}
	json_object_foreach(v, key, e) ctl_safe_json(e);
	json_array_foreach(v, i, e) ctl_safe_json(e);
}

void ctl_put_json(const char *text, FILE *f)
{
	size_t k;
	unsigned cp;
	/* jansson escapes C0 but writes DEL and C1 as they are: they can only
	 * be inside strings, where \u00XX means the same */
	for (const char *p = text; p && *p; p += k ? k : 1) {
		k = ap_utf8_char(p, &cp);
		if (k && ap_text_control(cp) && cp >= 0x7f)
			fprintf(f, "\\u%04x", cp);
		else
			fwrite(p, 1, k ? k : 1, f);
	}
}

void ctl_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s) {
		ctl_put_json(s, stdout);
		putchar('\n');
	}
	free(s);
}

/* A download in progress (ctl_download()): a 200's body goes to fd, any
 * other answer to err (an error object). */
struct download {
	CURL *h;
	int fd;
	int progress;
	uint64_t bytes;
	struct ap_buf *err;
	struct ctl_download *info;
};

static size_t on_file(char *p, size_t size, size_t n, void *user)
{
	struct download *d = user;
	long status = 0;
	curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return ap_buf_append(d->err, p, size * n) == 0 ? size * n : 0;
	for (size_t off = 0; off < size * n;) {
		ssize_t w = write(d->fd, p + off, size * n - off);
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	d->bytes += size * n;
	if (d->progress) {
		fputc('\r', stderr);
		fprintf(stderr, _("%llu KiB received"), (unsigned long long)(d->bytes >> 10));
	}
	return size * n;
}

/* The X-Ardoise-Backup-* headers of a download into its info. */
static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	struct download *d = user;
	size_t len = size * n;
	static const char point[] = "x-ardoise-backup-point:", sha[] = "x-ardoise-backup-sha256:";
	char *into = NULL;
	size_t cap = 0, skip = 0;
	if (len > sizeof(point) - 1 && strncasecmp(p, point, sizeof(point) - 1) == 0) {
		into = d->info->point, cap = sizeof(d->info->point), skip = sizeof(point) - 1;
	} else if (len > sizeof(sha) - 1 && strncasecmp(p, sha, sizeof(sha) - 1) == 0) {
		into = d->info->sha256, cap = sizeof(d->info->sha256), skip = sizeof(sha) - 1;
	}
	if (into) {
		while (skip < len && p[skip] == ' ')
			skip++;
		size_t end = len;
		while (end > skip && (p[end - 1] == '\r' || p[end - 1] == '\n'))
			end--;
		snprintf(into, cap, "%.*s", (int)(end - skip), p + skip);
	}
	return len;
}

/* One transfer; *ret_status is the HTTP status (0 when none).  With dl,
 * the answer goes through it (ctl_download()). */
static int transfer_to(struct ctl *c, const char *method, const char *path, const void *body,
		       size_t body_len, const char *ctype, struct ap_buf *out, long *ret_status,
		       char *ret_ctype, size_t ctype_cap, struct download *dl)
{
	char url[4096], auth[512], ct[160], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURL *h = curl_easy_init();
	int rc = CTL_ECONNECT;
	if (h == NULL)
		return ctl_err("cannot initialise libcurl");
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl ? on_file : on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, dl ? (void *)dl : (void *)out);
	if (dl) {
		dl->h = h;
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, dl);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L); /* a big database takes its time */
	}
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (c->ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	/* the server's refusals in the reader's language: the catalogue's
	 * (English when there is none) */
	/* TRANSLATORS: the HTTP header asking the server for messages in
	 * your language: its code in place of "en" */
	hdrs = curl_slist_append(hdrs, _("Accept-Language: en"));
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
		/* no "Expect: 100-continue": libcurl would wait a second for the
		 * interim answer before sending a body over 1 MiB (an import) */
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	CURLcode cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		ctl_err("cannot reach %s: %s", c->url, errbuf[0] ? errbuf : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	char *got_ct = NULL;
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &got_ct);
	if (ret_ctype)
		snprintf(ret_ctype, ctype_cap, "%s", got_ct ? got_ct : "");
	rc = CTL_OK;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

static int transfer(struct ctl *c, const char *method, const char *path, const void *body,
		    size_t body_len, const char *ctype, struct ap_buf *out, long *ret_status,
		    char *ret_ctype, size_t ctype_cap)
{
	return transfer_to(c, method, path, body, body_len, ctype, out, ret_status, ret_ctype,
			   ctype_cap, NULL);
}

/* Prints the server's error object as one line. */
static int report_error(long status, const struct ap_buf *b)
{
	json_t *v = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
	const char *msg = NULL, *code = NULL;
	ctl_safe_json(v);
	json_unpack(v, "{s:{s?s,s?s}}", "error", "message", &msg, "code", &code);
	if (msg)
		ctl_err("%s (HTTP %ld, %s)", msg, status, code ? code : "error");
	else
		ctl_err("the server answered HTTP %ld", status);
	json_decref(v);
	return CTL_EFAIL;
}

int ctl_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **ret)
{
	struct ap_buf out;
	char *text = NULL;
	long status = 0;
	int rc;
	ap_buf_init(&out, CTL_MAX_ANSWER);
	if (body)
		text = json_dumps(body, JSON_COMPACT);
	rc = transfer(c, method, path, text, text ? strlen(text) : 0, NULL, &out, &status, NULL, 0);
	free(text);
	if (rc != CTL_OK)
		goto out;
	if (status < 200 || status > 299) {
		rc = report_error(status, &out);
		goto out;
	}
	if (ret) {
		json_error_t je;
		*ret = out.len ? json_loadb(out.data, out.len, 0, &je) : NULL;
		if (out.len && *ret == NULL)
			rc = ctl_err("the server's answer is not JSON: %s", je.text);
		else if (!c->json)
			ctl_safe_json(*ret);
	}
out:
	ap_buf_free(&out);
	return rc;
}

int ctl_call_raw(struct ctl *c, const char *method, const char *path, const void *body,
		 size_t body_len, const char *content_type, char **ret, size_t *ret_len)
{
	struct ap_buf out;
	long status = 0;
	ap_buf_init(&out, CTL_MAX_ANSWER);
	int rc = transfer(c, method, path, body, body_len, content_type, &out, &status, NULL, 0);
	if (rc == CTL_OK && (status < 200 || status > 299))
		rc = report_error(status, &out);
	if (rc == CTL_OK)
		*ret = ap_buf_steal(&out, ret_len);
	ap_buf_free(&out);
	return rc;
}

int ctl_call_any(struct ctl *c, const char *method, const char *path, const void *body,
		 size_t body_len, const char *content_type, long *ret_status, json_t **ret)
{
	struct ap_buf out;
	long status = 0;
	ap_buf_init(&out, CTL_MAX_ANSWER);
	int rc = transfer(c, method, path, body, body_len, content_type, &out, &status, NULL, 0);
	if (rc == CTL_OK) {
		*ret_status = status;
		*ret = out.len ? json_loadb(out.data, out.len, 0, NULL) : NULL;
		if (!c->json)
			ctl_safe_json(*ret);
	}
	ap_buf_free(&out);
	return rc;
}

int ctl_print(struct ctl *c, const struct ctl_args *a, json_t *ret,
	      void (*human)(json_t *ret, const struct ctl_args *a))
{
	if (c->json)
		ctl_print_json(ret);
	else
		human(ret, a);
	json_decref(ret);
	return CTL_OK;
}

int ctl_send_print(struct ctl *c, const struct ctl_args *a, const char *method, const char *path,
		   json_t *body, void (*human)(json_t *ret, const struct ctl_args *a))
{
	json_t *ret = NULL;
	int rc = ctl_call(c, method, path, body, &ret);
	json_decref(body);
	return rc != CTL_OK ? rc : ctl_print(c, a, ret, human);
}

int ctl_get_print(struct ctl *c, const struct ctl_args *a, const char *path,
		  void (*human)(json_t *ret, const struct ctl_args *a))
{
	char url[1024];
	snprintf(url, sizeof(url), "%s", path);
	ctl_opt_query(a, url, sizeof(url));
	return ctl_send_print(c, a, "GET", url, NULL, human);
}

int ctl_get_member(struct ctl *c, const struct ctl_args *a, const char *path, const char *key,
		   void (*human)(json_t *member, const struct ctl_args *a))
{
	json_t *ret = NULL;
	int rc = ctl_call(c, "GET", path, NULL, &ret);
	if (rc != CTL_OK)
		return rc;
	ctl_print(c, a, json_incref(json_object_get(ret, key)), human);
	json_decref(ret);
	return CTL_OK;
}

int ctl_download(struct ctl *c, const char *path, int fd, int progress, struct ctl_download *ret)
{
	struct ap_buf err;
	struct ctl_download info = {0};
	struct download d = {.fd = fd, .progress = progress, .err = &err, .info = &info};
	long status = 0;
	ap_buf_init(&err, CTL_MAX_ANSWER);
	int rc = transfer_to(c, "GET", path, NULL, 0, NULL, NULL, &status, NULL, 0, &d);
	if (progress)
		fputc('\n', stderr);
	if (rc == CTL_OK && status != 200)
		rc = report_error(status, &err);
	ap_buf_free(&err);
	if (rc == CTL_OK) {
		info.bytes = d.bytes;
		*ret = info;
	}
	return rc;
}
