/* sock_out.c - TLS ciphertext onto a libuv stream, one malloc'd write. */
#include "sock_out.h"
#include "ap_err.h"
#include "ap_tls.h"

#include <stdlib.h>

int sock_out_tls(uv_stream_t *s, struct ap_tls *tls, void *owner, uv_write_cb done, size_t *ret_len)
{
	char *data;
	size_t len;
	*ret_len = 0;
	int rc = ap_tls_take(tls, &data, &len);
	if (rc < 0 || data == NULL)
		return rc;
	struct sock_out *o = malloc(sizeof(*o));
	if (o == NULL) {
		free(data);
		return AP_ENOMEM;
	}
	o->data = data;
	o->len = len;
	o->owner = owner;
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	if (uv_write(&o->req, s, &b, 1, done) < 0) {
		sock_out_free(o);
		return AP_EIO;
	}
	*ret_len = len;
	return 0;
}

void sock_out_free(struct sock_out *o)
{
	free(o->data);
	free(o);
}
