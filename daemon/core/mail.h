/*
 * mail.h - e-mail by SMTP through libcurl: the message as sent (headers,
 * RFC 2047 subject, base64 UTF-8 text) and its sending.
 *
 * Sending blocks (connection, TLS, the SMTP dialogue): call mail_send()
 * off the event loops (a libuv work thread, see daemon/api/notice.c).
 * Nothing here logs; the errors written into err name neither addresses
 * nor contents, so that the caller may log them.
 */
#ifndef MAIL_H
#define MAIL_H

#include <stddef.h>
#include <stdint.h>

#define MAIL_ADDRESS_MAX 254	    /* RFC 5321's path limit */
#define MAIL_MAX	 (4u << 20) /* a composed message, bytes */

/* The relay and how to sign in to it.  Strings are borrowed. */
struct mail_server {
	const char *url;      /* smtp://host[:port] (STARTTLS when offered, required
			       * with a username) or smtps://host[:port] */
	const char *username; /* "" for none */
	const char *password; /* secret, never written anywhere */
	long timeout_s;	      /* the longest one message may take */
};

/* 0 when url is "" (mail off) or smtp[s]://host[:port][/] with a host
 * of letters, digits, '.', '-' (or an IPv6 literal in brackets) and a port
 * of 1-65535; else AP_EINVAL with why into err (cap bytes). */
int mail_url_check(const char *url, char *err, size_t cap);
/* 1 when addr is local@domain that can go as it is into a header and an
 * SMTP command: at most MAIL_ADDRESS_MAX bytes of printable ASCII, no
 * space nor any of <>()[],;:"\ (so no CR, LF or other control character),
 * one '@' with text on both sides. */
int mail_address_ok(const char *addr);

/* One message.  Strings are borrowed, UTF-8; names may be "" (none). */
struct mail_msg {
	const char *from, *from_name;
	const char *to, *to_name;
	const char *subject;
	const char *body;	  /* lines ended by '\n' */
	const char *msgid_domain; /* the right side of the Message-ID */
	int64_t date;		  /* seconds since the epoch */
};

/* The message as sent: headers (From, To, Subject RFC 2047 encoded, Date,
 * Message-ID, MIME-Version, Content-Type text/plain; charset=UTF-8,
 * Content-Transfer-Encoding: base64) and the body, lines ended by CRLF,
 * into *ret (malloc'd, NUL-terminated, the caller frees) and *ret_len.
 * AP_EINVAL when an address is not mail_address_ok(), AP_ETOOBIG past
 * MAIL_MAX, AP_ENOMEM. */
int mail_compose(const struct mail_msg *m, char **ret, size_t *ret_len);

/* A connection to the relay, kept across the messages sent through it. */
struct mail_session;
int mail_session_new(const struct mail_server *s, struct mail_session **ret);
/* Sends data (from mail_compose()) from `from` to `to`.  0, or AP_EIO
 * with why into err; *ret_unreachable is set to 1 when the relay could not
 * be reached or refused the session (no later message can go either), 0
 * when only this message was refused. */
int mail_send(struct mail_session *ms, const char *from, const char *to, const char *data,
	      size_t len, char *err, size_t cap, int *ret_unreachable);
/* NULL ok. */
void mail_session_free(struct mail_session *ms);

#endif
