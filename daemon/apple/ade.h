/*
 * ade.h - Automated Device Enrolment's API bodies and answers
 * (docs/apple-services.md §2.4-2.5): a fetch or sync page parsed, the
 * request bodies built (fetch/sync, profile definition, assignment), the
 * define and assign answers parsed.  No I/O, no logging, no clock: a pure
 * codec like vpp.h; the client (ade_sync.h) sends and stores.
 *
 * Every parser takes len bytes (need not be NUL-terminated), at most its
 * cap; unknown members are skipped; a member read with the wrong type is
 * AP_ETYPE, a required one absent AP_EMISSING, a value out of its bounds
 * AP_ETOOBIG or AP_EPARSE, each with its path ("devices[3].serial_number")
 * in err.  Free texts (model, description, colour, asset tag, assigned by)
 * are cut to their buffers at a UTF-8 boundary; names that identify (the
 * serial, the profile uuid, op_type, the cursor) are refused when too long.
 */
#ifndef ADE_H
#define ADE_H

#include <stddef.h>
#include <stdint.h>

#define ADE_PAGE_MAX_BYTES (16u << 20) /* a fetch/sync answer (1000 devices: ~0.5 MB) */
#define ADE_PAGE_MAX_DEVS  1000	       /* devices in one page: Apple's maximum limit */
#define ADE_ANSWER_MAX	   (1u << 20)  /* a define or assign answer */
#define ADE_CURSOR_MAX	   1000	       /* §2.4: up to 1000 characters */
#define ADE_SERIAL_MAX	   64
#define ADE_UUID_MAX	   63
#define ADE_ASSIGN_MAX	   1000 /* serials in one POST /profile/devices */
#define ADE_RETRY_MAX_S	   86400

/* One device of a page (Device.json); dates are Unix seconds, 0 when
 * absent. */
struct ade_device {
	char serial[ADE_SERIAL_MAX + 1]; /* letters and digits */
	char model[128], description[128], color[64], asset_tag[64];
	char os[32], device_family[32];
	char assigned_by[128];
	char profile_status[16]; /* empty, assigned, pushed, removed ("" when absent) */
	char profile_uuid[ADE_UUID_MAX + 1];
	char op_type[16]; /* sync only: added, modified, deleted; "" on fetch */
	int64_t op_date, assigned_at, profile_assign_time, profile_push_time;
};

struct ade_page {
	char cursor[ADE_CURSOR_MAX + 1];
	int64_t fetched_until; /* 0 when absent */
	int more_to_follow;
	size_t n;
	struct ade_device *devices; /* n of them, malloc'd (ade_page_clear) */
};

/* A fetch or sync answer {cursor, devices[], fetched_until,
 * more_to_follow} into *ret (ade_page_clear after, also on error).  A
 * device without a serial (or with one that is not 1..64 letters and
 * digits) refuses the page with its index; more than ADE_PAGE_MAX_DEVS
 * devices: AP_ETOOBIG. */
int ade_page_parse(const char *text, size_t len, struct ade_page *ret, char *err, size_t cap);
void ade_page_clear(struct ade_page *p);

/* The body of POST /server/devices or /devices/sync: {"limit": limit} and
 * the cursor when cursor is not NULL nor "".  *ret malloc'd.  AP_EINVAL
 * (a cursor past ADE_CURSOR_MAX, a limit outside 1..1000), AP_ENOMEM. */
int ade_cursor_body(const char *cursor, int limit, char **ret);

/* ---- enrolment profiles (§2.5) ------------------------------------------------------------ */

/* The skip keys of §2.5 an iPad knows, NULL-terminated. */
extern const char *const ade_skip_panes[];
/* 1 when pane is one of ade_skip_panes (case-sensitive). */
int ade_skip_ok(const char *pane);
/* The pupil skip list of §2.5's example, NULL-terminated. */
extern const char *const ade_skip_default[];

/* Checks the settings Ardoise keeps for a profile (ade_profile.settings):
 * a JSON object of Profile members but url, anchor_certs and devices:
 * profile_name (1..64 bytes) required; the strings department,
 * support_phone_number, support_email_address (with an "@"), language,
 * region at most 255 bytes; the booleans is_mdm_removable,
 * await_device_configured, is_return_to_service; skip_setup_items an array
 * of ade_skip_ok() names.  Another member is refused (AP_EPARSE), so that
 * what we define is what we checked. */
int ade_settings_check(const char *text, size_t len, char *err, size_t cap);

/* The body of POST /profile: the settings (checked as above) with url
 * (https://...) and anchor_certs (n base64 DER certificates; none: the
 * member is left out).  *ret malloc'd, members sorted. */
int ade_profile_body(const char *settings, size_t len, const char *url, const char *const *anchors,
		     size_t n, char **ret, char *err, size_t cap);

/* The answer of POST /profile: {profile_uuid, devices: {serial: status}}:
 * the uuid (1..ADE_UUID_MAX printable ASCII) into uuid. */
int ade_define_parse(const char *text, size_t len, char uuid[ADE_UUID_MAX + 1], char *err,
		     size_t cap);

/* The body of POST /profile/devices: {profile_uuid, devices: [serial...]},
 * 1..ADE_ASSIGN_MAX serials.  AP_EINVAL, AP_ENOMEM. */
int ade_assign_body(const char *uuid, const char *const *serials, size_t n, char **ret);

enum ade_assign_status {
	ADE_ASSIGN_SUCCESS,
	ADE_ASSIGN_NOT_ACCESSIBLE, /* not on this MDM server */
	ADE_ASSIGN_FAILED,	   /* retried later (hourly) */
	ADE_ASSIGN_THROTTLED,	   /* after retry_after_seconds */
	ADE_ASSIGN_UNKNOWN,	   /* a status this code does not know: as FAILED */
};

struct ade_assign_item {
	char serial[ADE_SERIAL_MAX + 1];
	enum ade_assign_status status;
};

struct ade_assign {
	char profile_uuid[ADE_UUID_MAX + 1];
	int64_t retry_after; /* retry_after_seconds, 0..ADE_RETRY_MAX_S; 0 when absent */
	size_t n;
	struct ade_assign_item *items; /* malloc'd (ade_assign_clear) */
};

/* The answer of POST /profile/devices {profile_uuid, devices: {serial:
 * status}, retry_after_seconds?} into *ret.  At most ADE_ASSIGN_MAX
 * serials; a serial that is not letters and digits: AP_EPARSE. */
int ade_assign_parse(const char *text, size_t len, struct ade_assign *ret, char *err, size_t cap);
void ade_assign_clear(struct ade_assign *a);
const char *ade_assign_status_name(enum ade_assign_status s);

/* 1 when s is 1..ADE_SERIAL_MAX ASCII letters and digits. */
int ade_serial_ok(const char *s);

#endif
