/* ap_checkin.c - check-in messages (Authenticate, TokenUpdate, CheckOut,
 * and DeclarativeManagement when the caller accepts it). */
#include "ap_detail.h"
#include "ap_err.h"
#include "ap_msg_impl.h"
#include "ap_plist.h"

#include <openssl/crypto.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum ftype { F_STRING, F_DATA, F_BOOL };

#define BIT(t) (1u << (t))
#define MDM    (BIT(AP_CHECKIN_AUTHENTICATE) | BIT(AP_CHECKIN_TOKENUPDATE) | BIT(AP_CHECKIN_CHECKOUT))
#define DM     BIT(AP_CHECKIN_DECLARATIVE_MANAGEMENT)
#define ALL    (MDM | DM)
#define TU     BIT(AP_CHECKIN_TOKENUPDATE)
#define OFF(f) offsetof(struct ap_checkin, f)

/* One row per key we read.  `used`: message types that carry it;
 * `required`: message types that must carry it.  Keys of other message
 * types and unknown keys are ignored. */
struct field {
	const char *key;
	enum ftype type;
	size_t off;	/* char *, unsigned char * or int member */
	size_t len_off; /* F_DATA: the size_t length member */
	unsigned used;
	unsigned required;
};

static const struct field fields[] = {
    {"UDID", F_STRING, OFF(udid), 0, ALL, ALL},
    {"Topic", F_STRING, OFF(topic), 0, MDM, MDM},
    {"Token", F_DATA, OFF(token), OFF(token_len), TU, TU},
    {"PushMagic", F_STRING, OFF(push_magic), 0, TU, TU},
    {"UnlockToken", F_DATA, OFF(unlock_token), OFF(unlock_token_len), TU, 0},
    {"AwaitingConfiguration", F_BOOL, OFF(awaiting_configuration), 0, TU, 0},
    {"SerialNumber", F_STRING, OFF(serial), 0, MDM, 0},
    {"OSVersion", F_STRING, OFF(os_version), 0, MDM, 0},
    {"BuildVersion", F_STRING, OFF(build_version), 0, MDM, 0},
    {"ProductName", F_STRING, OFF(product_name), 0, MDM, 0},
    {"IMEI", F_STRING, OFF(imei), 0, MDM, 0},
    {"MEID", F_STRING, OFF(meid), 0, MDM, 0},
    {"Model", F_STRING, OFF(model), 0, MDM, 0},
    {"DeviceName", F_STRING, OFF(device_name), 0, MDM, 0},
    {"UserID", F_STRING, OFF(user_id), 0, ALL, 0},
    {"UserShortName", F_STRING, OFF(user_short_name), 0, ALL, 0},
    {"Endpoint", F_STRING, OFF(endpoint), 0, DM, DM},
    {"Data", F_DATA, OFF(data), OFF(data_len), DM, 0},
};

static const char *const type_names[] = {
    [AP_CHECKIN_AUTHENTICATE] = "Authenticate",
    [AP_CHECKIN_TOKENUPDATE] = "TokenUpdate",
    [AP_CHECKIN_CHECKOUT] = "CheckOut",
    [AP_CHECKIN_DECLARATIVE_MANAGEMENT] = "DeclarativeManagement",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *ap_checkin_type_name(enum ap_checkin_type t)
{
	return (unsigned)t < N_TYPES ? type_names[t] : "?";
}

static const char *const ftype_names[] = {
    [F_STRING] = "a string", [F_DATA] = "data", [F_BOOL] = "a boolean"};

static int read_field(plist_t dict, const struct field *f, struct ap_checkin *c)
{
	char *base = (char *)c;

	switch (f->type) {
	case F_STRING:
		return ap_dict_get_string(dict, f->key, (char **)(base + f->off));
	case F_DATA:
		return ap_dict_get_data(dict, f->key, (unsigned char **)(base + f->off),
					(size_t *)(base + f->len_off));
	case F_BOOL:
		return ap_dict_get_bool(dict, f->key, (int *)(base + f->off));
	}
	return AP_EINTERNAL;
}

static int field_error(const struct field *f, const char *mt, int rc, char *detail, size_t cap)
{
	if (rc == AP_EMISSING && strcmp(f->key, "UDID") == 0)
		return ap_detail_set(detail, cap, rc,
				     "%s: UDID missing (User Enrollment is not supported)", mt);
	if (rc == AP_EMISSING)
		return ap_detail_set(detail, cap, rc, "%s: %s missing", mt, f->key);
	if (rc == AP_ETYPE)
		return ap_detail_set(detail, cap, rc, "%s: %s must be %s", mt, f->key,
				     ftype_names[f->type]);
	return ap_detail_set(detail, cap, rc, "%s: %s: %s", mt, f->key, ap_strerror(rc));
}

static int message_type(plist_t dict, unsigned flags, enum ap_checkin_type *ret, char *detail,
			size_t cap)
{
	char *mt = NULL;
	int rc = ap_dict_get_string(dict, "MessageType", &mt);

	if (rc == AP_ETYPE)
		return ap_detail_set(detail, cap, rc, "MessageType must be a string");
	if (rc < 0)
		return ap_detail_set(detail, cap, rc, "MessageType: %s", ap_strerror(rc));
	rc = ap_detail_set(detail, cap, AP_EUNSUPPORTED, "unsupported MessageType \"%.40s\"", mt);
	for (size_t i = 0; i < N_TYPES; i++) {
		if (i == AP_CHECKIN_DECLARATIVE_MANAGEMENT && !(flags & AP_MSG_DDM))
			continue; /* the caller does not handle it: unsupported */
		if (strcmp(mt, type_names[i]) == 0) {
			*ret = (enum ap_checkin_type)i;
			ap_detail_clear(detail, cap);
			rc = 0;
			break;
		}
	}
	free(mt);
	return rc;
}

/* The Endpoint of a DeclarativeManagement check-in, and its Data when it
 * is a status report. */
static int ddm_endpoint(struct ap_checkin *c, char *detail, size_t cap)
{
	static const char mt[] = "DeclarativeManagement";
	char why[160];

	if (ap_ddm_endpoint_parse(c->endpoint, strlen(c->endpoint), &c->ddm, why, sizeof(why)) < 0)
		return ap_detail_set(detail, cap, AP_EINVAL, "%s: %s", mt, why);
	if (c->ddm.type == AP_DDM_EP_STATUS && c->data == NULL)
		return ap_detail_set(detail, cap, AP_EMISSING,
				     "%s: Endpoint status without Data (the status report)", mt);
	return 0;
}

int ap_checkin_parse(plist_t dict, unsigned flags, struct ap_checkin *ret, char *detail, size_t cap)
{
	struct ap_checkin c = {0};
	int rc = message_type(dict, flags, &c.type, detail, cap);

	if (rc < 0)
		goto out;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		if (!(f->used & BIT(c.type)))
			continue;
		rc = read_field(dict, f, &c);
		if (rc == AP_EMISSING && !(f->required & BIT(c.type)))
			rc = 0;
		if (rc < 0) {
			field_error(f, type_names[c.type], rc, detail, cap);
			goto out;
		}
	}
	if (c.type == AP_CHECKIN_DECLARATIVE_MANAGEMENT && (rc = ddm_endpoint(&c, detail, cap)) < 0)
		goto out;
	*ret = c;
	rc = 0;
out:
	if (rc < 0)
		ap_checkin_clear(&c);
	return rc;
}

void ap_checkin_clear(struct ap_checkin *c)
{
	if (c == NULL)
		return;
	if (c->unlock_token) /* a secret: wiped before the memory is released */
		OPENSSL_cleanse(c->unlock_token, c->unlock_token_len);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].type == F_BOOL)
			continue;
		void **p = (void **)((char *)c + fields[i].off);
		free(*p);
	}
	memset(c, 0, sizeof(*c));
}
