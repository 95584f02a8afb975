/* api_reply.c - a request's JSON answer, and its error answer. */
#include "api_reply.h"
#include "ap_err.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/* The log line shows fmt, the message's pattern, not the message: its
 * values may be a person's id, name or class ("no person with id '%s'"). */
void api_failv(struct req *r, int err, int status, const char *fmt, va_list ap)
{
	char msg[512], esc[600];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (status <= 0)
		status = ap_errstatus(err);
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", ap_errname(err), "message", msg);
	log_info("api_error", "id=%s status=%d code=%s message=%s", r->id, status, ap_errname(err),
		 log_esc(fmt, esc, sizeof(esc)));
	if (status == 401)
		ap_http_resp_add_header(r->resp, "WWW-Authenticate", "Bearer realm=\"ardoise\"");
	api_json(r, status, o);
}

void api_fail(struct req *r, int err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	api_failv(r, err, status, fmt, ap);
	va_end(ap);
}
