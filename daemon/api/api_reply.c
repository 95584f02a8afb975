/* api_reply.c - a request's JSON answer, and its error answer. */
#include "api_reply.h"
#include "ap_err.h"
#include "log.h"

#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_json(struct req *r, int status, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(v);
	r->resp->status = status;
	r->resp->content_type = "application/json";
	ap_buf_reset(&r->resp->body);
	if (text == NULL || ap_buf_appends(&r->resp->body, text) < 0 ||
	    ap_buf_appends(&r->resp->body, "\n") < 0) {
		r->resp->status = 500;
		ap_buf_reset(&r->resp->body);
	}
	free(text);
}

/* French, for the requests that ask it: the fr_FR.UTF-8 locale of the
 * thread that translates (uselocale()), NULL when it is not installed
 * (the refusals then stay English). */
static pthread_once_t french_once = PTHREAD_ONCE_INIT;
static locale_t french;

static void french_open(void)
{
	french = newlocale(LC_MESSAGES_MASK | LC_CTYPE_MASK, "fr_FR.UTF-8", (locale_t)0);
}

/* 1 when the request's first language is French ("fr", "fr-FR",
 * "fr;q=0.9, en"). */
static int asks_french(struct req *r)
{
	const char *v = r->http ? ap_http_header(r->http, "Accept-Language") : NULL;
	if (v == NULL)
		return 0;
	v += strspn(v, " \t");
	return strncasecmp(v, "fr", 2) == 0 && strchr("-_;, \t", v[2] ? v[2] : ' ') != NULL;
}

/* fmt in French (domain API_DOMAIN) when the request asks it and the
 * catalogue has it; else fmt. */
static const char *translated(struct req *r, const char *fmt) __attribute__((format_arg(2)));

static const char *translated(struct req *r, const char *fmt)
{
	if (!asks_french(r))
		return fmt;
	pthread_once(&french_once, french_open);
	if (french == (locale_t)0)
		return fmt;
	locale_t was = uselocale(french);
	const char *t = dgettext(API_DOMAIN, fmt);
	uselocale(was);
	return t;
}

/* s cut by vsnprintf() at its last byte: a character cut in the middle is
 * dropped, so that the text stays UTF-8 (json_pack() refuses less). */
static void whole_chars(char *s, size_t cap)
{
	size_t n = strlen(s), k = n;
	if (n + 1 < cap)
		return;
	while (k > 0 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
		k--;
	if (k == 0 || (unsigned char)s[k - 1] < 0xc0)
		return;
	unsigned char lead = (unsigned char)s[k - 1];
	size_t len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	if (n - (k - 1) < len)
		s[k - 1] = '\0';
}

void api_fail(struct req *r, int err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	api_vfail(r, err, status, fmt, ap);
	va_end(ap);
}

void api_vfail(struct req *r, int err, int status, const char *fmt, va_list ap)
{
	char msg[512], shown[512], esc[600];
	va_list again;
	if (fmt == NULL) /* never; said so for the sanitizer build's flow analysis */
		fmt = "error";
	va_copy(again, ap);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* the log keeps English; the answer is in the request's language */
	vsnprintf(shown, sizeof(shown), translated(r, fmt), again);
	va_end(again);
	whole_chars(msg, sizeof(msg));
	whole_chars(shown, sizeof(shown));
	if (status <= 0)
		status = ap_errstatus(err);
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", ap_errname(err), "message", shown);
	/* a translated message keeps its English beside it: what scripts and
	 * the pages' rules match */
	if (strcmp(shown, msg) != 0)
		json_object_set_new(json_object_get(o, "error"), "message_en", json_string(msg));
	log_info("api_error", "id=%s status=%d code=%s message=%s", r->id, status, ap_errname(err),
		 log_esc(fmt, esc, sizeof(esc)));
	if (status == 401)
		ap_http_resp_add_header(r->resp, "WWW-Authenticate", "Bearer realm=\"ardoise\"");
	api_json(r, status, o);
}
