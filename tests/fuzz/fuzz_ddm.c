/*
 * fuzz_ddm.c - libFuzzer target for what a tablet sends for declarative
 * management: the bytes as a status report (ap_ddm_status_parse(), then
 * each array item applied to itself as an incremental report), as a
 * check-in plist (ap_msg_parse_flags() with AP_MSG_DDM, then the status
 * report in its Data), as an Endpoint and as a tokens answer.  Built as a
 * real fuzzer with clang -fsanitize=fuzzer (see meson.build), and always
 * with replay.c so the committed corpus runs in `meson test`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_ddm.h"
#include "ap_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void status(const void *data, size_t size)
{
	struct ap_ddm_status *s = NULL;
	char detail[96];

	if (ap_ddm_status_parse(data, size, 0, &s, detail, sizeof(detail)) < 0)
		return;
	for (size_t i = 0; i < s->n_items; i++) {
		const char *v = s->items[i].value;
		char *out = NULL;
		if (v[0] == '[' && ap_ddm_status_array_apply(v, strlen(v), v, strlen(v), &out, NULL,
							     detail, sizeof(detail)) == 0)
			free(out);
		(void)ap_ddm_status_find(s, s->items[i].name);
	}
	ap_ddm_status_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_msg *m = NULL;
	struct ap_ddm_endpoint ep;
	char detail[96], token[AP_DDM_DTOKEN_MAX + 1], st[AP_DDM_TOKEN_LEN + 1];

	status(data, size);
	if (ap_msg_parse_flags((const char *)data, size, 0, AP_MSG_DDM, &m, detail,
			       sizeof(detail)) == 0) {
		const struct ap_checkin *c = &m->u.checkin;
		if (m->kind == AP_MSG_CHECKIN && c->type == AP_CHECKIN_DECLARATIVE_MANAGEMENT &&
		    c->data != NULL)
			status(c->data, c->data_len);
		ap_msg_free(m);
	}
	(void)ap_ddm_endpoint_parse((const char *)data, size, &ep, detail, sizeof(detail));
	(void)ap_ddm_tokens_parse(data, size, token, detail, sizeof(detail));
	/* the server's own input path, for its limits */
	(void)ap_ddm_server_token("com.apple.configuration.management.test", "fuzz",
				  (const char *)data, size, st, detail, sizeof(detail));
	return 0;
}
