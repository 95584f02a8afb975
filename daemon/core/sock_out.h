/*
 * sock_out.h - writing what a TLS filter holds onto a libuv stream, for
 * the daemon's two kinds of connection (tablets and staff, server/conn.c;
 * APNs, apple/apns.c).
 */
#ifndef SOCK_OUT_H
#define SOCK_OUT_H

#include <stddef.h>
#include <uv.h>

struct ap_tls;

/* One write in flight: its callback casts the uv_write_t back to this. */
struct sock_out {
	uv_write_t req; /* first: the callback's pointer is this struct's */
	char *data;
	size_t len;
	void *owner; /* the connection that wrote it */
};

/* Takes the ciphertext tls holds and writes it to s; done is called once
 * it is written (or failed), and must sock_out_free() it.  0 with
 * *ret_len the bytes queued (0: there was nothing), or an AP_E* code. */
int sock_out_tls(uv_stream_t *s, struct ap_tls *tls, void *owner, uv_write_cb done,
		 size_t *ret_len);
/* Frees a write and its bytes. */
void sock_out_free(struct sock_out *o);

#endif
