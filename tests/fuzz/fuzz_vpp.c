/*
 * fuzz_vpp.c - libFuzzer target for the Apps and Books API codec
 * (daemon/apple/vpp.c).  The first byte picks the parser (its value modulo
 * 8: content token, HTTP answer check, service config, client config,
 * assets page, assignments page, event, event status), the rest is the
 * input.  Checks the promises on what is accepted: adamIds and serials are
 * what vpp_adam_id_ok() / vpp_serial_ok() accept, counts and limits within
 * their bounds, pages in order; on a refusal the reason is written.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "vpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_page(const struct vpp_page *p)
{
	if (p->current < 0 || (p->next != -1 && p->next <= p->current) || p->total_pages < 0)
		abort();
}

static int parse(unsigned kind, const char *s, size_t n, char *err, size_t cap)
{
	switch (kind) {
	case 0: {
		struct vpp_token t;
		return vpp_token_parse(s, n, &t, err, cap);
	}
	case 1: {
		struct vpp_error e;
		char retry[24]; /* the header as a C string: the input's first bytes */
		size_t rn = n < sizeof(retry) - 1 ? n : sizeof(retry) - 1;
		memcpy(retry, s, rn);
		retry[rn] = '\0';
		int rc = vpp_answer_check(200 + (int)(n % 400), n > 3 ? retry : NULL, s, n, &e);
		if (rc < 0 &&
		    (e.reason == NULL || e.retry_after < 0 || e.retry_after > VPP_RETRY_MAX_S))
			abort();
		err[0] = 'x';
		return rc < 0 ? rc : 0;
	}
	case 2: {
		struct vpp_service_config c;
		int rc = vpp_service_config_parse(s, n, &c, err, cap);
		if (rc == 0) {
			if (c.limits.max_serials < 1 || c.limits.max_serials > VPP_LIMIT_CAP ||
			    c.limits.max_assets < 1 || c.limits.max_assets > VPP_LIMIT_CAP)
				abort();
			for (size_t i = 0; i < c.n_urls; i++)
				if (vpp_service_url(&c, c.urls[i].name) == NULL)
					abort();
			vpp_service_config_free(&c);
		}
		return rc;
	}
	case 3: {
		struct vpp_client_config c;
		return vpp_client_config_parse(s, n, &c, err, cap);
	}
	case 4: {
		struct vpp_assets_page p;
		int rc = vpp_assets_parse(s, n, &p, err, cap);
		if (rc == 0) {
			check_page(&p.page);
			for (size_t i = 0; i < p.n; i++)
				if (!vpp_adam_id_ok(p.assets[i].adam_id) ||
				    p.assets[i].available < 0 || p.assets[i].total > INT32_MAX)
					abort();
			vpp_assets_free(&p);
		}
		return rc;
	}
	case 5: {
		struct vpp_assignments_page p;
		int rc = vpp_assignments_parse(s, n, &p, err, cap);
		if (rc == 0) {
			check_page(&p.page);
			for (size_t i = 0; i < p.n; i++)
				if (!vpp_adam_id_ok(p.items[i].adam_id) ||
				    !vpp_serial_ok(p.items[i].serial))
					abort();
			vpp_assignments_free(&p);
		}
		return rc;
	}
	case 6: {
		struct vpp_event e;
		int rc = vpp_event_parse(s, n, &e, err, cap);
		if (rc == 0 && e.event_id[0] == '\0')
			abort();
		return rc;
	}
	default: {
		struct vpp_status st;
		int rc = vpp_status_parse(s, n, &st, err, cap);
		if (rc == 0) {
			for (size_t i = 0; i < st.n_failures; i++) {
				if (st.failures[i].error.reason == NULL)
					abort();
				for (size_t k = 0; k < st.failures[i].n_serials; k++)
					if (!vpp_serial_ok(st.failures[i].serials[k]))
						abort();
			}
			vpp_status_free(&st);
		}
		return rc;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300] = "";
	if (size == 0)
		return 0;
	if (parse(data[0] % 8, (const char *)data + 1, size - 1, err, sizeof(err)) < 0 &&
	    err[0] == '\0')
		abort();
	return 0;
}
