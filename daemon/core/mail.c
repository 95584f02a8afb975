/* mail.c - a message composed and sent by SMTP (libcurl). */
#include "mail.h"
#include "ap_buf.h"
#include "ap_err.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

struct mail_session {
	CURL *h;
	struct mail_server s;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- the rules ---------------------------------------------------------------------------------- */

static int host_port_ok(const char *p, char *err, size_t cap)
{
	if (strchr(p, '@')) {
		snprintf(err, cap,
			 "no user name in the URL: the user name and password are "
			 "keys of their own ([mail] username, password)");
		return AP_EINVAL;
	}
	size_t n = p[0] == '[' ? strcspn(p, "]") + 1
			       : strspn(p, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789.-");
	if (p[0] == '[' &&
	    (p[n - 1] != ']' || n < 3 || strspn(p + 1, "0123456789abcdefABCDEF:.") != n - 2))
		n = 0;
	if (n == 0) {
		snprintf(err, cap, "no host name after the scheme");
		return AP_EINVAL;
	}
	p += n;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 ||
		    strspn(p + 1, "0123456789") != (size_t)(end - p - 1)) {
			snprintf(err, cap, "the port is not a number from 1 to 65535");
			return AP_EINVAL;
		}
		p = end;
	}
	if (*p != '\0' && strcmp(p, "/") != 0) {
		snprintf(err, cap,
			 "only smtp://host[:port] or smtps://host[:port] (the user name "
			 "and password are keys of their own)");
		return AP_EINVAL;
	}
	return 0;
}

int mail_url_check(const char *url, char *err, size_t cap)
{
	if (url[0] == '\0')
		return 0;
	if (strncmp(url, "smtp://", 7) == 0)
		return host_port_ok(url + 7, err, cap);
	if (strncmp(url, "smtps://", 8) == 0)
		return host_port_ok(url + 8, err, cap);
	snprintf(err, cap, "not smtp://host[:port] or smtps://host[:port]");
	return AP_EINVAL;
}

int mail_address_ok(const char *addr)
{
	size_t n = strlen(addr);
	const char *at = strchr(addr, '@');
	if (n == 0 || n > MAIL_ADDRESS_MAX || at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[],;:\"\\", *p))
			return 0;
	return 1;
}

/* ---- composing ---------------------------------------------------------------------------------- */

/* The message under construction: a capped buffer and its first error
 * (appends after one are skipped). */
struct out {
	struct ap_buf b;
	int rc;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->rc == 0)
		o->rc = ap_buf_append(&o->b, s, n);
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_b64(struct out *o, const unsigned char *s, size_t n)
{
	unsigned char buf[4 * 57 / 3 + 4];
	for (size_t i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;
		int m = EVP_EncodeBlock(buf, s + i, (int)k);
		put(o, (const char *)buf, (size_t)m);
		if (i + 57 < n)
			puts_(o, "\r\n");
	}
}

static int ascii_plain(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

/* s as RFC 2047 encoded words (B, UTF-8) of at most 45 bytes of text
 * each, never cutting a character, folded onto lines of their own; plain
 * printable ASCII as it is (a display name: only when of letters, digits
 * and spaces). */
static void put_words(struct out *o, const char *s, int phrase)
{
	size_t n = strlen(s), i = 0;
	if (ascii_plain(s) && (!phrase || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
						    "QRSTUVWXYZ0123456789 .-") == n)) {
		puts_(o, s);
		return;
	}
	while (i < n) {
		size_t k = n - i < 45 ? n - i : 45;
		while (k < n - i && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--; /* the next byte continues a character: end before it */
		if (i > 0)
			puts_(o, "\r\n ");
		puts_(o, "=?UTF-8?B?");
		put_b64(o, (const unsigned char *)s + i, k);
		puts_(o, "?=");
		i += k;
	}
}

static void put_address(struct out *o, const char *header, const char *name, const char *addr)
{
	puts_(o, header);
	if (name && name[0]) {
		put_words(o, name, 1);
		puts_(o, " ");
	}
	puts_(o, "<");
	puts_(o, addr);
	puts_(o, ">\r\n");
}

/* RFC 5322's date, in UTC (the header's own format, for mail programs). */
static void put_date(struct out *o, int64_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char buf[64];
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, sizeof(buf), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	puts_(o, buf);
}

static void put_msgid(struct out *o, const char *domain, int64_t t)
{
	unsigned char rnd[12];
	char buf[128];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(buf, sizeof(buf), "Message-ID: <%lld.", (long long)t);
	puts_(o, buf);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		snprintf(buf, sizeof(buf), "%02x", rnd[i]);
		puts_(o, buf);
	}
	puts_(o, "@");
	puts_(o, domain);
	puts_(o, ">\r\n");
}

/* The text with its line ends as CRLF, then base64 in lines of 76. */
static int put_body(struct out *o, const char *body)
{
	struct out crlf = {{0}, 0};
	ap_buf_init(&crlf.b, MAIL_MAX);
	for (const char *p = body; *p;) {
		size_t n = strcspn(p, "\r\n");
		put(&crlf, p, n);
		puts_(&crlf, "\r\n");
		p += n;
		p += *p == '\r' && p[1] == '\n' ? 2 : *p != '\0';
	}
	if (crlf.rc == 0)
		put_b64(o, (const unsigned char *)(crlf.b.data ? crlf.b.data : ""), crlf.b.len);
	puts_(o, "\r\n");
	ap_buf_free(&crlf.b);
	return crlf.rc < 0 ? crlf.rc : o->rc;
}

int mail_compose(const struct mail_msg *m, char **ret, size_t *ret_len)
{
	struct out o = {{0}, 0};
	const char *domain = strchr(m->from, '@');
	if (!mail_address_ok(m->from) || !mail_address_ok(m->to))
		return AP_EINVAL;
	ap_buf_init(&o.b, MAIL_MAX);
	put_address(&o, "From: ", m->from_name, m->from);
	put_address(&o, "To: ", m->to_name, m->to);
	puts_(&o, "Subject: ");
	put_words(&o, m->subject, 0);
	puts_(&o, "\r\n");
	put_date(&o, m->date);
	put_msgid(&o, m->msgid_domain && m->msgid_domain[0] ? m->msgid_domain : domain + 1,
		  m->date);
	puts_(&o, "MIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=UTF-8\r\n"
		  "Content-Transfer-Encoding: base64\r\n"
		  "Auto-Submitted: auto-generated\r\n\r\n");
	int rc = put_body(&o, m->body);
	if (rc < 0) {
		ap_buf_free(&o.b);
		return rc;
	}
	*ret = ap_buf_steal(&o.b, ret_len);
	return 0;
}

/* ---- sending ------------------------------------------------------------------------------------ */

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mail_session_new(const struct mail_server *s, struct mail_session **ret)
{
	static uv_once_t once = UV_ONCE_INIT;
	uv_once(&once, global_init);
	struct mail_session *ms = calloc(1, sizeof(*ms));
	if (ms == NULL)
		return AP_ENOMEM;
	if ((ms->h = curl_easy_init()) == NULL) {
		free(ms);
		return AP_ENOMEM;
	}
	ms->s = *s;
	*ret = ms;
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems < u->left ? size * nitems : u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* The failures after which no other message can go either: the relay
 * not reached, not speaking SMTP, or refusing the session itself. */
static int session_failed(CURLcode c, long smtp_code)
{
	return c != CURLE_SEND_ERROR || smtp_code == 0;
}

int mail_send(struct mail_session *ms, const char *from, const char *to, const char *data,
	      size_t len, char *err, size_t cap, int *ret_unreachable)
{
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	struct upload u = {data, len};
	CURL *h = ms->h;
	long code = 0;
	if (rcpt == NULL)
		return AP_ENOMEM;
	ms->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, ms->s.url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ms->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, ms->s.timeout_s > 0 ? ms->s.timeout_s : 60L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (ms->s.username[0]) {
		curl_easy_setopt(h, CURLOPT_USERNAME, ms->s.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, ms->s.password);
	}
	/* a password never crosses the network in clear: STARTTLS is then
	 * required; without one, taken when the relay offers it */
	curl_easy_setopt(h, CURLOPT_USE_SSL, ms->s.username[0] ? CURLUSESSL_ALL : CURLUSESSL_TRY);
	CURLcode c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(rcpt);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	if (c == CURLE_OK) {
		*ret_unreachable = 0;
		return 0;
	}
	snprintf(err, cap, "%s", ms->errbuf[0] ? ms->errbuf : curl_easy_strerror(c));
	*ret_unreachable = session_failed(c, code);
	return AP_EIO;
}

void mail_session_free(struct mail_session *ms)
{
	if (ms == NULL)
		return;
	curl_easy_cleanup(ms->h);
	free(ms);
}
