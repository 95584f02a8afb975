/* ap_msg.c - request bodies from devices: check-in or report. */
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_msg_impl.h"
#include "ap_plist.h"

#include <stdlib.h>

int ap_msg_parse(const char *body, size_t len, size_t max_bytes, struct ap_msg **ret, char *detail,
		 size_t detail_cap)
{
	return ap_msg_parse_flags(body, len, max_bytes, 0, ret, detail, detail_cap);
}

int ap_msg_parse_flags(const char *body, size_t len, size_t max_bytes, unsigned flags,
		       struct ap_msg **ret, char *detail, size_t detail_cap)
{
	plist_t root = NULL;
	struct ap_msg *m = NULL;
	int rc;

	ap_detail_clear(detail, detail_cap);
	if (ret == NULL)
		return ap_detail_set(detail, detail_cap, AP_EINVAL, "no result pointer");
	rc = ap_plist_parse(body, len, max_bytes, &root);
	if (rc < 0) {
		ap_detail_set(detail, detail_cap, rc, "body: %s", ap_strerror(rc));
		goto out;
	}
	if (plist_get_node_type(root) != PLIST_DICT) {
		rc = ap_detail_set(detail, detail_cap, AP_ETYPE,
				   "top level must be a dictionary, not %s",
				   ap_plist_type_name(plist_get_node_type(root)));
		goto out;
	}
	int has_mt = plist_dict_get_item(root, "MessageType") != NULL;
	int has_status = plist_dict_get_item(root, "Status") != NULL;
	if (has_mt && has_status) {
		rc = ap_detail_set(detail, detail_cap, AP_EINVAL,
				   "both MessageType and Status: check-in or report?");
		goto out;
	}
	if (!has_mt && !has_status) {
		rc = ap_detail_set(detail, detail_cap, AP_EMISSING,
				   "neither MessageType (check-in) nor Status (report)");
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		rc = ap_detail_set(detail, detail_cap, AP_ENOMEM, "out of memory");
		goto out;
	}
	if (has_mt) {
		m->kind = AP_MSG_CHECKIN;
		rc = ap_checkin_parse(root, flags, &m->u.checkin, detail, detail_cap);
	} else {
		m->kind = AP_MSG_REPORT;
		rc = ap_report_parse(root, &m->u.report, detail, detail_cap);
		if (rc == 0)
			root = NULL; /* owned by the report now */
	}
	if (rc < 0)
		goto out;
	*ret = m;
	m = NULL;
out:
	plist_free(root);
	free(m);
	return rc;
}

void ap_msg_free(struct ap_msg *m)
{
	if (m == NULL)
		return;
	if (m->kind == AP_MSG_CHECKIN)
		ap_checkin_clear(&m->u.checkin);
	else
		ap_report_clear(&m->u.report);
	free(m);
}
