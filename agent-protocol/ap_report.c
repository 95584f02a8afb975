/* ap_report.c - command reports (Status, UDID, CommandUUID, ErrorChain). */
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_msg_impl.h"
#include "ap_plist.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [AP_STATUS_IDLE] = "Idle",	   [AP_STATUS_ACKNOWLEDGED] = "Acknowledged",
    [AP_STATUS_ERROR] = "Error",   [AP_STATUS_FORMAT_ERROR] = "CommandFormatError",
    [AP_STATUS_NOTNOW] = "NotNow",
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *ap_status_name(enum ap_status s)
{
	return (unsigned)s < N_STATUS ? status_names[s] : "?";
}

int ap_status_from_name(const char *name, enum ap_status *ret)
{
	if (name == NULL || ret == NULL)
		return AP_EINVAL;
	for (size_t i = 0; i < N_STATUS; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*ret = (enum ap_status)i;
			return 0;
		}
	}
	return AP_EINVAL;
}

static int read_status(plist_t dict, enum ap_status *ret, char *detail, size_t cap)
{
	char *s = NULL;
	int rc = ap_dict_get_string(dict, "Status", &s);

	if (rc == AP_ETYPE)
		return ap_detail_set(detail, cap, rc, "report: Status must be a string");
	if (rc < 0)
		return ap_detail_set(detail, cap, rc, "report: Status: %s", ap_strerror(rc));
	rc = ap_status_from_name(s, ret);
	if (rc < 0)
		ap_detail_set(detail, cap, rc, "report: unknown Status \"%.40s\"", s);
	free(s);
	return rc;
}

/* A string key of the report; AP_EMISSING only if required. */
static int read_string(plist_t dict, const char *key, int required, char **ret, char *detail,
		       size_t cap)
{
	int rc = ap_dict_get_string(dict, key, ret);

	if (rc == AP_EMISSING && !required)
		return 0;
	if (rc == AP_EMISSING)
		return ap_detail_set(detail, cap, rc, "report: %s missing", key);
	if (rc == AP_ETYPE)
		return ap_detail_set(detail, cap, rc, "report: %s must be a string", key);
	if (rc < 0)
		return ap_detail_set(detail, cap, rc, "report: %s: %s", key, ap_strerror(rc));
	return 0;
}

static void error_item_clear(struct ap_error_item *e)
{
	free(e->domain);
	free(e->description);
	memset(e, 0, sizeof(*e));
}

static int opt(int rc)
{
	return rc == AP_EMISSING ? 0 : rc;
}

/* One ErrorChain dictionary; every key is optional, types are checked. */
static int read_error_item(plist_t item, size_t i, struct ap_error_item *e, char *detail,
			   size_t cap)
{
	char *loc = NULL, *en = NULL;
	int rc;

	if (plist_get_node_type(item) != PLIST_DICT)
		return ap_detail_set(detail, cap, AP_ETYPE,
				     "report: ErrorChain[%zu] must be a dictionary", i);
	if ((rc = opt(ap_dict_get_int(item, "ErrorCode", &e->code))) < 0 ||
	    (rc = opt(ap_dict_get_string(item, "ErrorDomain", &e->domain))) < 0 ||
	    (rc = opt(ap_dict_get_string(item, "LocalizedDescription", &loc))) < 0 ||
	    (rc = opt(ap_dict_get_string(item, "USEnglishDescription", &en))) < 0) {
		ap_detail_set(detail, cap, rc, "report: ErrorChain[%zu]: %s", i, ap_strerror(rc));
		goto out;
	}
	e->description = loc ? loc : en;
	if (loc)
		loc = NULL;
	else
		en = NULL;
out:
	free(loc);
	free(en);
	return rc;
}

static int read_error_chain(plist_t dict, struct ap_report *r, char *detail, size_t cap)
{
	plist_t chain;
	int rc = ap_dict_get_node(dict, "ErrorChain", PLIST_ARRAY, &chain);

	if (rc == AP_EMISSING)
		return 0;
	if (rc < 0)
		return ap_detail_set(detail, cap, rc, "report: ErrorChain must be an array");
	size_t n = plist_array_get_size(chain);
	if (n > AP_MSG_MAX_ERRORS)
		n = AP_MSG_MAX_ERRORS;
	if (n == 0)
		return 0;
	r->errors = calloc(n, sizeof(*r->errors));
	if (r->errors == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rc = read_error_item(plist_array_get_item(chain, (uint32_t)i), i, &r->errors[i],
				     detail, cap);
		r->n_errors = i + 1;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ap_report_parse(plist_t dict, struct ap_report *ret, char *detail, size_t cap)
{
	struct ap_report r = {0};
	int rc;

	if ((rc = read_status(dict, &r.status, detail, cap)) < 0 ||
	    (rc = read_string(dict, "UDID", 1, &r.udid, detail, cap)) < 0 ||
	    (rc = read_string(dict, "UserID", 0, &r.user_id, detail, cap)) < 0 ||
	    (rc = read_string(dict, "UserShortName", 0, &r.user_short_name, detail, cap)) < 0 ||
	    (rc = read_string(dict, "CommandUUID", r.status != AP_STATUS_IDLE, &r.command_uuid,
			      detail, cap)) < 0 ||
	    (rc = read_error_chain(dict, &r, detail, cap)) < 0)
		goto out;
	r.dict = dict;
	*ret = r;
out:
	if (rc < 0)
		ap_report_clear(&r);
	return rc;
}

void ap_report_clear(struct ap_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_errors; i++)
		error_item_clear(&r->errors[i]);
	free(r->errors);
	free(r->udid);
	free(r->user_id);
	free(r->user_short_name);
	free(r->command_uuid);
	plist_free(r->dict);
	memset(r, 0, sizeof(*r));
}
