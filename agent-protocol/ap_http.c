/* ap_http.c - http-parser glue with limits, both directions. */
#include "ap_http.h"
#include "ap_err.h"

#include <http_parser.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ap_http_in {
	http_parser p;
	http_parser_settings s;
	enum ap_http_kind kind;
	struct ap_http_limits lim;
	enum ap_http_in_state state;
	size_t head_bytes;
	int error; /* status to answer, 0 when none */
	struct ap_buf url;
	struct ap_buf field; /* header name being read */
	struct ap_buf value; /* header value being read */
	int in_value;
	struct ap_http_msg req;
};

static void clear_req(struct ap_http_msg *r)
{
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	ap_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

static struct ap_http_in *IN(http_parser *p)
{
	return p->data;
}

static int count_head(struct ap_http_in *h, size_t len)
{
	h->head_bytes += len;
	if (h->head_bytes > h->lim.max_header_bytes) {
		h->error = 431;
		return -1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	IN(p)->state = AP_HTTP_IN_HEAD;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct ap_http_in *h = IN(p);
	if (count_head(h, len) < 0)
		return -1;
	return ap_buf_append(&h->url, at, len) < 0 ? (h->error = 431, -1) : 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	(void)at;
	return count_head(IN(p), len);
}

static int finish_header(struct ap_http_in *h)
{
	struct ap_http_msg *r = &h->req;
	if (h->field.len == 0)
		return 0;
	if (r->n_headers == AP_HTTP_MAX_HEADERS) {
		h->error = 431;
		return -1;
	}
	for (size_t i = 0; i < h->field.len; i++)
		h->field.data[i] = (char)tolower((unsigned char)h->field.data[i]);
	struct ap_http_field *hd = &r->headers[r->n_headers];
	hd->name = strdup(h->field.data);
	hd->value = strdup(h->value.data ? h->value.data : "");
	if (hd->name == NULL || hd->value == NULL) {
		free(hd->name);
		free(hd->value);
		h->error = 503;
		return -1;
	}
	r->n_headers++;
	ap_buf_reset(&h->field);
	ap_buf_reset(&h->value);
	h->in_value = 0;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct ap_http_in *h = IN(p);
	if (count_head(h, len) < 0)
		return -1;
	if (h->in_value && finish_header(h) < 0)
		return -1;
	return ap_buf_append(&h->field, at, len) < 0 ? (h->error = 431, -1) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct ap_http_in *h = IN(p);
	if (count_head(h, len) < 0)
		return -1;
	h->in_value = 1;
	if (h->value.data == NULL && ap_buf_append(&h->value, "", 0) < 0)
		return -1;
	return ap_buf_append(&h->value, at, len) < 0 ? (h->error = 431, -1) : 0;
}

/* A request's target split into path and query, and its method. */
static int take_target(struct ap_http_in *h)
{
	struct ap_http_msg *r = &h->req;
	const char *url = h->url.data ? h->url.data : "";
	const char *q = strchr(url, '?');
	size_t plen = q ? (size_t)(q - url) : strlen(url);
	r->path = strndup(url, plen);
	r->query = strdup(q ? q + 1 : "");
	if (r->path == NULL || r->query == NULL) {
		h->error = 503;
		return -1;
	}
	if (r->path[0] != '/') {
		h->error = 400;
		return -1;
	}
	r->method = http_method_str((enum http_method)h->p.method);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct ap_http_in *h = IN(p);
	if (finish_header(h) < 0)
		return -1;
	if (p->content_length != ULLONG_MAX && p->content_length > h->lim.max_body_bytes) {
		h->error = 413;
		return -1;
	}
	if (h->kind == AP_HTTP_RESPONSE)
		h->req.status = (int)p->status_code;
	else if (take_target(h) < 0)
		return -1;
	h->state = AP_HTTP_IN_BODY;
	if (h->lim.admit_bodies && ap_http_in_body_length(h) > 0) {
		h->state = AP_HTTP_IN_ADMIT;
		http_parser_pause(p, 1); /* ap_http_in_admit() resumes */
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct ap_http_in *h = IN(p);
	if (ap_buf_append(&h->req.body, at, len) < 0) {
		h->error = 413;
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct ap_http_in *h = IN(p);
	h->req.keep_alive = http_should_keep_alive(p);
	h->state = AP_HTTP_IN_DONE;
	http_parser_pause(p, 1);
	return 0;
}

struct ap_http_in *ap_http_in_new(enum ap_http_kind kind, const struct ap_http_limits *lim)
{
	struct ap_http_in *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->kind = kind;
	h->lim = *lim;
	http_parser_settings_init(&h->s);
	h->s.on_message_begin = on_message_begin;
	h->s.on_url = on_url;
	h->s.on_status = on_status;
	h->s.on_header_field = on_header_field;
	h->s.on_header_value = on_header_value;
	h->s.on_headers_complete = on_headers_complete;
	h->s.on_body = on_body;
	h->s.on_message_complete = on_message_complete;
	http_parser_init(&h->p, kind == AP_HTTP_RESPONSE ? HTTP_RESPONSE : HTTP_REQUEST);
	h->p.data = h;
	ap_buf_init(&h->url, lim->max_header_bytes);
	ap_buf_init(&h->field, lim->max_header_bytes);
	ap_buf_init(&h->value, lim->max_header_bytes);
	ap_buf_init(&h->req.body, lim->max_body_bytes);
	return h;
}

void ap_http_in_free(struct ap_http_in *h)
{
	if (h == NULL)
		return;
	clear_req(&h->req);
	ap_buf_free(&h->url);
	ap_buf_free(&h->field);
	ap_buf_free(&h->value);
	free(h);
}

int ap_http_in_feed(struct ap_http_in *h, const char *data, size_t len, size_t *consumed)
{
	*consumed = 0;
	if (h->error)
		return h->error;
	if (h->state == AP_HTTP_IN_DONE || h->state == AP_HTTP_IN_ADMIT || len == 0)
		return 0;
	size_t n = http_parser_execute(&h->p, &h->s, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&h->p);
	*consumed = n;
	if (e == HPE_PAUSED)
		return 0; /* paused by on_message_complete (the request is whole)
			   * or on_headers_complete (AP_HTTP_IN_ADMIT) */
	if (e != HPE_OK) {
		if (h->error == 0)
			h->error = e == HPE_HEADER_OVERFLOW ? 431 : 400;
		return h->error;
	}
	return 0;
}

enum ap_http_in_state ap_http_in_state(const struct ap_http_in *h)
{
	return h->state;
}

struct ap_http_msg *ap_http_in_message(struct ap_http_in *h)
{
	return &h->req;
}

uint64_t ap_http_in_body_length(const struct ap_http_in *h)
{
	if (h->p.flags & F_CHUNKED)
		return AP_HTTP_LENGTH_CHUNKED;
	return h->p.content_length == ULLONG_MAX ? 0 : (uint64_t)h->p.content_length;
}

int ap_http_in_admit(struct ap_http_in *h, size_t limit)
{
	if (h->state != AP_HTTP_IN_ADMIT)
		return 0;
	if (limit > h->lim.max_body_bytes)
		limit = h->lim.max_body_bytes;
	uint64_t n = ap_http_in_body_length(h);
	if (n != AP_HTTP_LENGTH_CHUNKED && n > limit) {
		h->error = 413;
		return h->error;
	}
	h->req.body.limit = limit; /* the body is still empty */
	h->state = AP_HTTP_IN_BODY;
	http_parser_pause(&h->p, 0);
	return 0;
}

void ap_http_in_next(struct ap_http_in *h)
{
	clear_req(&h->req);
	ap_buf_init(&h->req.body, h->lim.max_body_bytes);
	ap_buf_reset(&h->url);
	ap_buf_reset(&h->field);
	ap_buf_reset(&h->value);
	h->in_value = 0;
	h->head_bytes = 0;
	h->state = AP_HTTP_IN_IDLE;
	http_parser_pause(&h->p, 0);
}

const char *ap_http_header(const struct ap_http_msg *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ap_http_query(const struct ap_http_msg *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = r->query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len >= nl && strncmp(p, name, nl) == 0 && (len == nl || p[nl] == '=')) {
			const char *v = len == nl ? p + nl : p + nl + 1;
			const char *end = p + len;
			size_t o = 0;
			while (v < end && o + 1 < cap) {
				if (*v == '%' && end - v >= 3 && hexval(v[1]) >= 0 &&
				    hexval(v[2]) >= 0) {
					out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 3;
				} else {
					out[o++] = *v == '+' ? ' ' : *v;
					v++;
				}
			}
			out[o] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return AP_ENOTFOUND;
}

void ap_http_resp_init(struct ap_http_resp *r, size_t body_limit)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	ap_buf_init(&r->body, body_limit);
}

void ap_http_resp_free(struct ap_http_resp *r)
{
	if (r)
		ap_buf_free(&r->body);
}

void ap_http_resp_add_header(struct ap_http_resp *r, const char *name, const char *value)
{
	size_t n = strlen(r->extra);
	snprintf(r->extra + n, sizeof(r->extra) - n, "%s: %s\r\n", name, value);
}

static const struct {
	int status;
	const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *ap_http_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

int ap_http_resp_serialize(const struct ap_http_resp *r, int keep_alive, struct ap_buf *out)
{
	int rc = ap_buf_printf(out, "HTTP/1.1 %d %s\r\n", r->status, ap_http_reason(r->status));
	if (rc == 0 && r->status != 304)
		rc = ap_buf_printf(out, "Content-Length: %zu\r\n", r->body.len);
	if (rc == 0)
		rc = ap_buf_printf(out, "%s%s%s%s%s\r\n", r->content_type ? "Content-Type: " : "",
				   r->content_type ? r->content_type : "",
				   r->content_type ? "\r\n" : "", r->fixed ? r->fixed : "",
				   keep_alive && !r->close ? "" : "Connection: close\r\n");
	if (rc == 0 && r->extra[0]) {
		/* extra headers go before the blank line: rebuild the tail */
		out->len -= 2;
		rc = ap_buf_printf(out, "%s\r\n", r->extra);
	}
	if (rc == 0 && r->body.len && !r->head && r->status != 304)
		rc = ap_buf_append(out, r->body.data, r->body.len);
	return rc;
}

int ap_http_req_serialize(const struct ap_http_out_req *r, struct ap_buf *out)
{
	int rc = ap_buf_printf(out,
			       "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			       "Accept: */*\r\nContent-Length: %zu\r\n",
			       r->method, r->path, r->host, r->user_agent, r->len);
	if (rc == 0 && r->content_type)
		rc = ap_buf_printf(out, "Content-Type: %s\r\n", r->content_type);
	if (rc == 0 && r->headers)
		rc = ap_buf_appends(out, r->headers);
	if (rc == 0)
		rc = ap_buf_append(out, "\r\n", 2);
	if (rc == 0 && r->len)
		rc = ap_buf_append(out, r->body, r->len);
	return rc;
}
