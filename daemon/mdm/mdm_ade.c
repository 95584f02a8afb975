/*
 * mdm_ade.c - POST /mdm/ade/enroll: an iPad that Apple School Manager
 * assigned to Ardoise asks for its enrolment profile during Setup
 * Assistant (docs/apple-services.md §2.7).
 *
 * The body is Apple's signed MachineInfo (DER CMS SignedData over an XML
 * plist; the same blob base64 in the x-apple-aspen-deviceinfo header of a
 * GET, the web-view flow), checked against [ade] machineinfo_anchor
 * (Apple Inc. Root CA in production) by ap_machineinfo.  Then, in order:
 * - the SERIAL must be a tablet ASM assigned (ade_device, not removed):
 *   else 403, the refusal recorded on its row when there is one;
 * - below [ade] min_os, a tablet that says MDM_CAN_REQUEST_SOFTWARE_UPDATE
 *   gets Apple's 403 com.apple.softwareupdate.required with the version
 *   to install (the newest the update catalogue offers its PRODUCT, when
 *   a catalogue is loaded, else min_os); one that cannot is refused;
 * - else 200 with the signed enrolment profile (mdm_enroll_profile())
 *   holding a fresh one-use code bound to that serial (created by "ade"):
 *   the identity SCEP issues with it enrols only that tablet (mdm.c).
 * The tablet's own request writes no audit row; a refusal is logged.
 * Nothing is stored for a request whose MachineInfo does not verify.
 */
#include "ap_err.h"
#include "ap_machineinfo.h"
#include "api.h"
#include "db_ade.h"
#include "db_ade_enrol.h"
#include "db_device.h"
#include "db_mdm.h"
#include "gdmf_sync.h"
#include "log.h"
#include "mdm.h"
#include "worker.h"
#include "store.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADE_CODE_TTL  (24 * 3600) /* the profile's code: SCEP follows within minutes */
#define ANCHORS_MAX   16	  /* certificates read from machineinfo_anchor */
#define FIRST_UPDATER "17.0"	  /* MachineInfo has OS_VERSION from iPadOS 17 */

/* The certificates of the PEM file path as a store (*ret, the caller
 * X509_STORE_free()s it).  Read at each request: the file may change. */
static int anchors_load(const char *path, X509_STORE **ret)
{
	FILE *f = fopen(path, "r");
	X509_STORE *s = X509_STORE_new();
	X509 *x;
	int n = 0;
	if (f == NULL || s == NULL) {
		if (f)
			fclose(f);
		X509_STORE_free(s);
		return AP_EIO;
	}
	while (n < ANCHORS_MAX && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(s, x) == 1)
			n++;
		X509_free(x);
	}
	fclose(f);
	if (n == 0) {
		X509_STORE_free(s);
		return AP_ECONFIG;
	}
	*ret = s;
	return 0;
}

/* The signed blob: the POST body, or the header's base64 on GET (*ret
 * malloc'd then). */
static int blob_of(struct req *r, const unsigned char **ret, size_t *ret_len, unsigned char **own)
{
	if (strcmp(r->http->method, "POST") == 0) {
		*ret = (const unsigned char *)r->http->body.data;
		*ret_len = r->http->body.len;
		return *ret_len > AP_MACHINEINFO_MAX ? AP_ETOOBIG : 0;
	}
	const char *h = ap_http_header(r->http, "x-apple-aspen-deviceinfo");
	size_t l = h ? strlen(h) : 0;
	if (l == 0 || l % 4 != 0)
		return AP_EPARSE;
	if (l > AP_MACHINEINFO_MAX * 4 / 3 + 4)
		return AP_ETOOBIG;
	unsigned char *out = malloc(l / 4 * 3 + 1);
	int n = out ? EVP_DecodeBlock(out, (const unsigned char *)h, (int)l) : -1;
	if (n < 0) {
		free(out);
		return out ? AP_EPARSE : AP_ENOMEM;
	}
	for (size_t k = l; k > 0 && h[k - 1] == '='; k--)
		n--; /* EVP_DecodeBlock counts padding as zero bytes */
	*ret = *own = out;
	*ret_len = (size_t)n;
	return 0;
}

/* The verified MachineInfo into *mi; answers itself on failure. */
static int machine_info(struct req *r, struct ap_machineinfo *mi)
{
	const char *path = r->w->srv->cfg.ade_machineinfo_anchor;
	X509_STORE *anchors = NULL;
	const unsigned char *blob = NULL;
	unsigned char *own = NULL;
	size_t len = 0;
	if (path[0] == '\0') {
		log_warn("ade_enrol_refused",
			 "id=%s peer=%s reason=no_anchor"
			 " hint=\"set [ade] machineinfo_anchor\"",
			 r->id, r->peer);
		return api_refuse(r, AP_ECONFIG, 503,
				  "enrolment through ADE is not set up on this server");
	}
	int rc = anchors_load(path, &anchors);
	if (rc < 0) {
		log_error("ade_anchor_unreadable", "id=%s error=\"%s\"", r->id, ap_strerror(rc));
		return api_refuse(r, rc, 503, "enrolment through ADE is not set up on this server");
	}
	if ((rc = blob_of(r, &blob, &len, &own)) == 0)
		rc = ap_machineinfo_open(blob, len, anchors, mi);
	free(own);
	X509_STORE_free(anchors);
	if (rc < 0) {
		log_warn("ade_enrol_refused", "id=%s peer=%s reason=machineinfo error=%s", r->id,
			 r->peer, ap_errname(rc));
		return api_refuse(r, rc, rc == AP_ETOOBIG ? 413 : 400,
				  "the machine information is not signed by Apple or unreadable");
	}
	return 0;
}

/* Logs and records a refusal of an assigned tablet (its ade_device row). */
static void refused(struct req *r, const struct db_ade_device *ad, const char *why)
{
	char s[140];
	log_warn("ade_enrol_refused", "id=%s peer=%s serial=%s reason=\"%s\"", r->id, r->peer,
		 log_esc(ad->serial, s, sizeof(s)), why);
	int rc = db_ade_enrol_refused(r->w->db, ad->device_id, why);
	if (rc < 0)
		log_warn("ade_refusal_unrecorded", "id=%s error=\"%s\"", r->id, ap_strerror(rc));
}

/* The tablet's ASM row into *ad when it is assigned to Ardoise. */
static int assigned(struct req *r, const struct ap_machineinfo *mi, struct db_ade_device *ad)
{
	int rc = db_ade_device_get(r->w->db, mi->serial, ad);
	if (rc == AP_ENOTFOUND) {
		log_warn("ade_enrol_refused", "id=%s peer=%s serial=%s reason=not_assigned", r->id,
			 r->peer, mi->serial); /* letters and digits only (ap_machineinfo) */
		return api_refuse(r, AP_EFORBIDDEN, 403,
				  "this tablet is not assigned to Ardoise in Apple School Manager");
	}
	if (rc < 0)
		return api_refuse(r, rc, 503, "cannot read the tablet: %s", ap_strerror(rc));
	if (ad->removed_at != 0) {
		refused(r, ad, "no longer assigned to Ardoise in Apple School Manager");
		return api_refuse(r, AP_EFORBIDDEN, 403,
				  "this tablet is no longer assigned to Ardoise in Apple School "
				  "Manager");
	}
	return 0;
}

struct target {
	const char *product, *min;
	char version[64];
};

static void newest_offered(const struct gdmf_sync_view *v, void *arg)
{
	struct target *t = arg;
	const struct gdmf_release *rel =
	    v->cat ? gdmf_latest(v->cat, GDMF_PUBLIC, t->product, db_now(), 0) : NULL;
	if (rel && db_device_vercmp(rel->version, t->min) >= 0)
		snprintf(t->version, sizeof(t->version), "%.32s", rel->version);
}

/* Apple's 403: the version to install, as JSON (softwareupdate.required). */
static void update_required(struct req *r, const struct ap_machineinfo *mi, const char *min)
{
	struct target t = {mi->product, min, ""};
	snprintf(t.version, sizeof(t.version), "%.32s", min);
	gdmf_sync_read(newest_offered, &t);
	char desc[200], msg[300];
	snprintf(desc, sizeof(desc),
		 "iPadOS %.32s or later is required before enrolment (this is %s)", min,
		 mi->os_version);
	/* shown on the tablet in Setup Assistant, whose language the
	 * département's enrolment profile sets to French */
	snprintf(msg, sizeof(msg),
		 "Cette tablette doit être mise à jour vers iPadOS %s avant son inscription.",
		 t.version);
	json_t *o =
	    json_pack("{s:s,s:{s:s},s:s,s:s}", "code", "com.apple.softwareupdate.required",
		      "details", "OSVersion", t.version, "description", desc, "message", msg);
	if (o == NULL) {
		api_fail(r, AP_ENOMEM, 503, "out of memory");
		return;
	}
	api_json(r, 403, o);
}

/* The minimum iPadOS: 0 when the tablet may enrol, else answered. */
static int os_gate(struct req *r, const struct ap_machineinfo *mi, const struct db_ade_device *ad)
{
	const char *min = r->w->srv->cfg.ade_min_os;
	char why[200];
	if (min[0] == '\0')
		return 0;
	if (mi->os_version[0] ? db_device_vercmp(mi->os_version, min) >= 0
			      : db_device_vercmp(FIRST_UPDATER, min) > 0)
		return 0; /* no OS_VERSION: before iPadOS 17, below a min_os of 17 or more */
	if (mi->can_request_update && mi->os_version[0]) {
		snprintf(why, sizeof(why), "update required to iPadOS %.32s (has %s)", min,
			 mi->os_version);
		refused(r, ad, why);
		update_required(r, mi, min);
		return AP_EFORBIDDEN;
	}
	snprintf(why, sizeof(why), "iPadOS %s below the minimum %.32s, and it cannot update itself",
		 mi->os_version[0] ? mi->os_version : "before 17", min);
	refused(r, ad, why);
	return api_refuse(r, AP_EFORBIDDEN, 403,
			  "this tablet's iPadOS is below the minimum %s: update it with Apple "
			  "Configurator, then start it again",
			  min);
}

/* The code bound to the serial (the serial's earlier unused ones
 * forgotten) and enrolled_at, in one transaction. */
static int enrolment_code(struct req *r, const struct db_ade_device *ad, char code[33])
{
	struct db_device d;
	struct db *db = r->w->db;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	if ((rc = db_device_get_id(db, ad->device_id, &d)) == 0 &&
	    (rc = db_ade_enrol_prune_codes(db, ad->serial)) == 0 &&
	    (rc = db_enroll_code_for_serial(db, d.school[0] ? d.school : NULL, ad->serial, "ade",
					    ADE_CODE_TTL, code)) == 0)
		rc = db_ade_enrol_accepted(db, ad->device_id);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}

static void enrol(struct req *r, const struct ap_machineinfo *mi, const struct db_ade_device *ad)
{
	char code[33];
	unsigned char *profile = NULL;
	size_t len = 0;
	int rc = enrolment_code(r, ad, code);
	if (rc == 0)
		rc = mdm_enroll_profile(r->w, code, 1, &profile, &len);
	if (rc < 0) {
		api_fail(r, rc, 503, "cannot build the enrolment profile: %s", ap_strerror(rc));
		return;
	}
	if (mdm_answer_profile(r, profile, len) == 0)
		log_info("ade_enrolment", "id=%s device=%lld serial=%s os=%s", r->id,
			 (long long)ad->device_id, ad->serial, mi->os_version);
	free(profile);
}

static void ade_enroll(struct req *r)
{
	struct ap_machineinfo mi;
	struct db_ade_device ad;
	if (machine_info(r, &mi) < 0 || assigned(r, &mi, &ad) < 0 || os_gate(r, &mi, &ad) < 0)
		return;
	enrol(r, &mi, &ad);
}

const struct route mdm_ade_routes[] = {
    {"POST", "/mdm/ade/enroll", AUTH_NONE, ade_enroll},
    {"GET", "/mdm/ade/enroll", AUTH_NONE, ade_enroll},
    {NULL, NULL, AUTH_NONE, NULL},
};
