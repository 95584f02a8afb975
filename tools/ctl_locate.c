/* ctl_locate.c - the geolocation procedure's verbs. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_request(json_t *o)
{
	char t1[32], t2[32], t3[32];
	ctl_when_of(o, "requested_at", t1, sizeof(t1));
	ctl_when_of(o, "expires_at", t2, sizeof(t2));
	ctl_when_of(o, "purged_at", t3, sizeof(t3));
	json_t *inc = json_object_get(o, "incident");
	printf("request %lld  tablet %s  state %s\n",
	       (long long)json_integer_value(json_object_get(o, "id")),
	       json_string_value(json_object_get(o, "serial")),
	       json_string_value(json_object_get(o, "state")));
	printf("  basis      %s%s\n", json_is_integer(inc) ? "incident " : "authority request ",
	       json_is_integer(inc) ? "" : json_string_value(json_object_get(o, "authority_ref")));
	if (json_is_integer(inc))
		printf("  incident   %lld\n", (long long)json_integer_value(inc));
	printf("  reason     %s\n", json_string_value(json_object_get(o, "reason")));
	printf("  asked      %s by %s\n", t1,
	       json_string_value(json_object_get(o, "requested_by")));
	printf("  decided by %s\n", json_string_value(json_object_get(o, "decided_by")));
	printf("  expires    %s\n", t2);
	printf("  locations  %lld taken, read %lld times, purged %s\n",
	       (long long)json_integer_value(json_object_get(o, "fixes")),
	       (long long)json_integer_value(json_object_get(o, "reads")), t3);
}

static int call(struct ctl *c, const char *method, const char *path, json_t *body)
{
	json_t *ret = NULL;
	int rc = ctl_call(c, method, path, body, &ret);
	json_decref(body);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		ctl_print_json(ret);
	} else if (json_is_array(ret)) {
		size_t i;
		json_t *v;
		if (json_array_size(ret) == 0)
			printf("the register is empty\n");
		json_array_foreach(ret, i, v) print_request(v);
	} else {
		print_request(ret);
		json_t *locs = json_object_get(ret, "locations");
		size_t i;
		json_t *v;
		json_array_foreach(locs, i, v)
		    printf("  location   %.6f, %.6f (±%.0f m) at %s\n",
			   json_real_value(json_object_get(v, "latitude")),
			   json_real_value(json_object_get(v, "longitude")),
			   json_real_value(json_object_get(v, "horizontal_accuracy")),
			   json_string_value(json_object_get(v, "timestamp")));
	}
	json_decref(ret);
	return CTL_OK;
}

static const char request_usage[] =
    "locate request SERIAL (--incident ID | --authority-ref REF) --reason TEXT [--json]";

static int request(struct ctl *c, int argc, char **argv)
{
	const char *serial = NULL, *reason = NULL, *ref = NULL;
	long long incident = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--incident") == 0 && i + 1 < argc) {
			char *end;
			incident = strtoll(argv[++i], &end, 10);
			if (*end || incident <= 0)
				return ctl_usage(request_usage,
						 "--incident takes an incident number");
		} else if (strcmp(argv[i], "--authority-ref") == 0 && i + 1 < argc) {
			ref = argv[++i];
		} else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
			reason = argv[++i];
		} else if (serial == NULL && argv[i][0] != '-') {
			serial = argv[i];
		} else {
			return ctl_usage(request_usage, "unexpected argument '%s'", argv[i]);
		}
	}
	if (serial == NULL || reason == NULL)
		return ctl_usage(request_usage, "SERIAL and --reason are required");
	if (!incident == !ref)
		return ctl_usage(request_usage,
				 "give exactly one of --incident and --authority-ref");
	json_t *body = json_pack("{s:s,s:s}", "serial", serial, "reason", reason);
	if (incident)
		json_object_set_new(body, "incident", json_integer(incident));
	else
		json_object_set_new(body, "authority_ref", json_string(ref));
	return call(c, "POST", "/api/v1/locate", body);
}

/* verbs taking one request ID and an optional body built from flags */
static int by_id(struct ctl *c, int argc, char **argv, const char *usage, const char *method,
		 const char *action, const char *flag, const char *key, int flag_required)
{
	const char *id = NULL, *value = NULL;
	char path[128];
	for (int i = 0; i < argc; i++) {
		if (flag && strcmp(argv[i], flag) == 0 && i + 1 < argc)
			value = argv[++i];
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else
			return ctl_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	if (id == NULL || strspn(id, "0123456789") != strlen(id))
		return ctl_usage(usage, "a request number is required");
	if (flag_required && value == NULL)
		return ctl_usage(usage, "%s is required", flag);
	snprintf(path, sizeof(path), "/api/v1/locate/%s%s%s", id, action[0] ? "/" : "", action);
	json_t *body = NULL;
	if (strcmp(method, "POST") == 0) {
		body = json_object();
		if (value)
			json_object_set_new(body, key, json_string(value));
	}
	return call(c, method, path, body);
}

static int approve(struct ctl *c, int argc, char **argv)
{
	return by_id(c, argc, argv, "locate approve ID [--json]", "POST", "approve", NULL, NULL, 0);
}

static int deny(struct ctl *c, int argc, char **argv)
{
	return by_id(c, argc, argv, "locate deny ID --reason TEXT [--json]", "POST", "deny",
		     "--reason", "reason", 1);
}

static int refresh(struct ctl *c, int argc, char **argv)
{
	return by_id(c, argc, argv, "locate refresh ID [--json]", "POST", "refresh", NULL, NULL, 0);
}

static int show(struct ctl *c, int argc, char **argv)
{
	return by_id(c, argc, argv, "locate show ID [--json]", "GET", "", NULL, NULL, 0);
}

static int close_request(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "locate close ID (--found | --not-found) [--json]";
	const char *outcome = NULL, *id = NULL;
	char path[128];
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--found") == 0)
			outcome = "found";
		else if (strcmp(argv[i], "--not-found") == 0)
			outcome = "not_found";
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else
			return ctl_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	if (id == NULL || outcome == NULL || strspn(id, "0123456789") != strlen(id))
		return ctl_usage(usage, "a request number and --found or --not-found are required");
	snprintf(path, sizeof(path), "/api/v1/locate/%s/close", id);
	return call(c, "POST", path, json_pack("{s:s}", "outcome", outcome));
}

static int reg(struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "locate register [--since YYYY-MM-DD] [--json]";
	char path[128] = "/api/v1/locate";
	for (int i = 0; i < argc; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
		    strptime(argv[i + 1], "%Y-%m-%d", &tm) != NULL) {
			snprintf(path, sizeof(path), "/api/v1/locate?since=%lld",
				 (long long)timegm(&tm));
			i++;
		} else {
			return ctl_usage(usage, "unexpected argument '%s'", argv[i]);
		}
	}
	return call(c, "GET", path, NULL);
}

const struct ctl_verb ctl_locate_verbs[] = {
    {"locate", "request", request, request_usage,
     "ask to locate a lost or stolen tablet (technicians; exceptional, recorded)"},
    {"locate", "approve", approve, "locate approve ID [--json]",
     "approve a request (a second technician): Lost Mode, then a location"},
    {"locate", "deny", deny, "locate deny ID --reason TEXT [--json]", "deny a pending request"},
    {"locate", "refresh", refresh, "locate refresh ID [--json]",
     "ask for a new location while the request is open"},
    {"locate", "close", close_request, "locate close ID (--found | --not-found) [--json]",
     "end the procedure; --found also ends Lost Mode"},
    {"locate", "show", show, "locate show ID [--json]",
     "a request with its locations (this read is recorded)"},
    {"locate", "register", reg, "locate register [--since YYYY-MM-DD] [--json]",
     "every request: who asked, who approved, why, state, locations taken/read, purge"},
    {NULL, NULL, NULL, NULL, NULL},
};
